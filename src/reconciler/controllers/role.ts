/**
 * PostgresRole: a least-privilege login role for one app on one database, with its own connection Secret.
 *
 * Order matters for crash safety: the Secret (with a new or the existing password) is written first, then the role is
 * created or altered to that password; a crash in between is repaired by the next reconcile, which reuses the password
 * from the Secret.
 */
import {
  ADOPT_ANNOTATION,
  FINALIZER,
  keyString,
  type CommonStatus,
  type Controller,
  type ControllerEnvironment,
  type Dependency,
  type Logger,
  type ObjectKey,
  type PostgresRoleObject,
  type ReconcileResult,
} from '../contracts';
import { generatePassword } from '../password';
import { isConnectionError, toPgError, withClient, type PgTarget } from '../postgres/connect';
import { applyGrants, dropRole, ensureRole, RoleConflictError } from '../postgres/roles';
import { connectionSecretData, decodeSecretData } from '../secret-contract';
import { guard, hasFinalizer, isBeingDeleted, jitter, Reason, secretConflict, StatusBuilder, type Timing } from './common';
import { adminTarget, childrenOf, lookupDatabase, lookupServer } from './parents';

type Builder = StatusBuilder<CommonStatus>;

const RESERVED = ['azure_superuser', 'azure_pg_admin', 'admin', 'administrator', 'root', 'guest', 'public', 'postgres'];
const PRIVILEGES = ['ALL', 'CONNECT', 'TEMPORARY', 'CREATE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];

export function normalizeRoleSpec(spec: PostgresRoleObject['spec']) {
  return {
    serverName: spec?.serverRef?.name,
    databaseName: spec?.databaseRef?.name,
    roleName: spec?.roleName,
    privileges: (spec?.privileges && spec.privileges.length > 0 ? spec.privileges : ['ALL']).map(String),
    connectionLimit: spec?.connectionLimit ?? -1,
    secretName: spec?.writeConnectionSecretToRef?.name,
    deletionPolicy: spec?.deletionPolicy === 'Retain' ? 'Retain' : 'Delete',
  };
}

export function validateRoleSpec(r: ReturnType<typeof normalizeRoleSpec>): string[] {
  const p: string[] = [];
  if (!r.serverName) p.push('spec.serverRef.name is required');
  if (!r.databaseName) p.push('spec.databaseRef.name is required');
  if (!r.roleName || !/^[a-z][a-z0-9_]{0,62}$/.test(r.roleName)) {
    p.push('spec.roleName must be 1-63 lowercase letters, digits and underscores, starting with a letter');
  } else if (RESERVED.includes(r.roleName) || r.roleName.startsWith('pg_')) {
    p.push(`spec.roleName ${r.roleName} is reserved; choose another name`);
  }
  const bad = r.privileges.filter((x) => !PRIVILEGES.includes(x));
  if (bad.length > 0) p.push(`spec.privileges: unknown ${bad.join(', ')}; use ${PRIVILEGES.join(', ')}`);
  if (!Number.isInteger(r.connectionLimit) || r.connectionLimit < -1) p.push('spec.connectionLimit must be -1 (no limit) or more');
  if (!r.secretName || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(r.secretName)) {
    p.push('spec.writeConnectionSecretToRef.name must be a valid Secret name (lowercase DNS subdomain)');
  }
  return p;
}

export class PostgresRoleController implements Controller {
  readonly kind = 'PostgresRole' as const;
  readonly ownsSecrets = true;
  readonly dependsOn: Dependency[];
  private readonly log: Logger;

  constructor(private readonly env: ControllerEnvironment, private readonly timing: Timing) {
    this.log = env.log.child({ controller: this.kind });
    this.dependsOn = [
      childrenOf(env, 'PostgresServer', this.kind, 'serverRef'),
      childrenOf(env, 'PostgresDatabase', this.kind, 'databaseRef'),
    ];
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return guard(this.env, this.log, this.kind, key, () => this.run(key));
  }

  private async run(key: ObjectKey): Promise<ReconcileResult> {
    const { kube } = this.env;
    let obj = kube.get<PostgresRoleObject>(this.kind, key);
    if (!obj) return {};
    if (isBeingDeleted(obj)) return this.finalize(obj);
    if (!hasFinalizer(obj, FINALIZER)) obj = await kube.addFinalizer(obj, FINALIZER);
    const r = normalizeRoleSpec(obj.spec);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const problems = validateRoleSpec(r);
    if (problems.length > 0) {
      sb.ready('False', Reason.InvalidSpec, problems.join('; '));
      await sb.commit();
      return {};
    }
    const ns = obj.metadata.namespace;
    const server = lookupServer(this.env, ns, r.serverName);
    if (!server || !server.ready) {
      sb.ready('False', Reason.WaitingForServer, `waiting for PostgresServer ${r.serverName} to be Ready (${server ? server.state : 'not found'})`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }
    const database = lookupDatabase(this.env, ns, r.databaseName);
    if (database && database.obj.spec.serverRef?.name !== r.serverName) {
      sb.ready('False', Reason.InvalidSpec, `spec.databaseRef: PostgresDatabase ${r.databaseName} is on server ${database.obj.spec.serverRef?.name}, not ${r.serverName}`);
      await sb.commit();
      return {};
    }
    if (!database || !database.ready) {
      sb.ready('False', Reason.WaitingForDatabase, `waiting for PostgresDatabase ${r.databaseName} to be Ready (${database ? database.state : 'not found'})`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }
    const dbname = database.obj.spec.azureName;
    const target = await adminTarget(this.env, server, dbname);
    if ('missing' in target) {
      sb.ready('False', Reason.WaitingForServer, target.missing);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }

    // 1. The Secret first: the password is reused when present, so repeating after a crash is safe.
    const secret = await kube.getSecret(ns, r.secretName);
    const conflict = secretConflict(secret, obj);
    if (conflict) {
      sb.ready('False', Reason.SecretConflict, conflict);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.userErrorMs) };
    }
    const password = decodeSecretData(secret).password || generatePassword(r.roleName);
    await kube.applySecret(obj, r.secretName, connectionSecretData({ host: target.host, dbname, username: r.roleName, password }));

    // 2. The role and exactly its privileges.
    try {
      await withClient(target, async (c) => {
        const res = await ensureRole(c, {
          roleName: r.roleName,
          password,
          connectionLimit: r.connectionLimit,
          ownerUid: obj!.metadata.uid,
          adopt: obj!.metadata.annotations?.[ADOPT_ANNOTATION] === 'true',
        });
        if (res.created) this.log.info({ key: keyString(key), role: r.roleName }, 'created role');
        if (res.adopted) kube.event(obj!, 'Normal', 'Adopted', `took over the existing role ${r.roleName}`);
        await applyGrants(c, { roleName: r.roleName, database: dbname, privileges: r.privileges });
      });
    } catch (e) {
      if (e instanceof RoleConflictError) {
        sb.ready('False', Reason.AlreadyExists, `${e.message}; to manage it from here (its password will be reset), add the annotation ${ADOPT_ANNOTATION}: "true"`);
        await sb.commit();
        return { requeueAfterMs: jitter(this.timing.resyncMs) };
      }
      return this.pgFailure(sb, e, `setting up role ${r.roleName} failed`);
    }
    sb.ready('True', Reason.Available, `Role ${r.roleName} can use database ${dbname} on ${target.host} (${r.privileges.join(', ')})`);
    await sb.commit();
    return { requeueAfterMs: jitter(this.timing.resyncMs) };
  }

  private async pgFailure(sb: Builder, e: unknown, context: string): Promise<ReconcileResult> {
    const err = toPgError(e);
    sb.ready('False', isConnectionError(e) ? Reason.PostgresUnreachable : Reason.PostgresError, `${context}: ${err.code}: ${err.message}`);
    await sb.commit();
    return { requeueAfterMs: jitter(this.timing.transientErrorMs) };
  }

  private async finalize(obj: PostgresRoleObject): Promise<ReconcileResult> {
    const { kube } = this.env;
    if (!hasFinalizer(obj, FINALIZER)) return {};
    const r = normalizeRoleSpec(obj.spec);
    const done = async (type: 'Normal' | 'Warning', reason: string, message: string): Promise<ReconcileResult> => {
      kube.event(obj, type, reason, message);
      await kube.removeFinalizer(obj, FINALIZER);
      return {};
    };
    if (r.deletionPolicy === 'Retain') return done('Normal', 'Retained', `deletionPolicy Retain: role ${r.roleName} is left on the server`);
    if (!r.roleName) return done('Normal', 'Deleted', 'no role was created');
    const ns = obj.metadata.namespace;
    const server = lookupServer(this.env, ns, r.serverName);
    if (!server) {
      return done('Warning', 'RoleNotDropped', `PostgresServer ${r.serverName} is gone (deleted, or retained in Azure); role ${r.roleName} is left on the server if it still exists`);
    }
    if (!server.obj.status?.fullyQualifiedDomainName) return done('Normal', 'Deleted', `PostgresServer ${r.serverName} was never created; nothing to drop`);
    const database = lookupDatabase(this.env, ns, r.databaseName);
    const dbname = database?.obj.spec.azureName ?? 'postgres';
    const target = await adminTarget(this.env, server, dbname);
    if ('missing' in target) {
      return done('Warning', 'RoleNotDropped', `cannot reach the server as its administrator (${target.missing}); role ${r.roleName} may remain on it`);
    }
    const sb: Builder = new StatusBuilder(this.env, obj);
    try {
      const outcome = await this.dropIn(target, dbname, r.roleName, obj.metadata.uid);
      if (outcome === 'notOwned') return await done('Normal', 'NotDropped', `role ${r.roleName} is not managed by this PostgresRole; left in place`);
      return await done('Normal', 'Deleted', outcome === 'dropped' ? `dropped role ${r.roleName}` : `role ${r.roleName} was already gone`);
    } catch (e) {
      // The server itself going away (being deleted, or gone from Azure) takes the role with it.
      if (isConnectionError(e) && (isBeingDeleted(server.obj) || !server.ready)) {
        return done('Normal', 'Deleted', `PostgresServer ${r.serverName} is ${server.state}; the role goes with it`);
      }
      sb.ready('False', Reason.Deleting, `dropping role ${r.roleName} failed: ${toPgError(e).code}: ${toPgError(e).message}`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.transientErrorMs) };
    }
  }

  /** Drops the role from its database; when that database is gone, from the postgres database. */
  private async dropIn(target: PgTarget, dbname: string, roleName: string, uid: string) {
    try {
      return await withClient(target, (c) => dropRole(c, roleName, uid));
    } catch (e) {
      if ((e as { code?: string }).code === '3D000' && dbname !== 'postgres') {
        return withClient({ ...target, database: 'postgres' }, (c) => dropRole(c, roleName, uid));
      }
      throw e;
    }
  }
}
