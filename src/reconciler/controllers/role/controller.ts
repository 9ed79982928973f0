/**
 * PostgresRole: a least-privilege login role for one app on one database, with its own connection Secret.
 *
 * Phases: the install's claim and the finalizer (claims.ts: a role another running install claimed is left alone, its
 * Secret and password untouched); the spec; the parents (the server and the database need only exist and answer: a
 * role, and a revocation above all, never waits for a server's Ready condition); ownership (postgres/roles.ts
 * judgeRole, nothing is written when refused); the Secret, then the role and its privileges; PUBLIC's access to
 * Azure's databases. Deletion is deletion.ts.
 *
 * Order matters for crash safety: the Secret (with a new or the existing password) is written first, then the role is
 * created or altered to that password; a crash in between is repaired by the next reconcile, which reuses the password
 * from the Secret.
 */
import type { V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { notReady, postgresFailure, SERVER_ANNOTATION, serverAddressOf, type RoleContext, type RoleStatus } from './context';
import { finalizeRole } from './deletion';
import { administratorConflict, claimOf } from './ownership';
import { entraRequiredProblem, formatProblem, formatProblems, normalizeRoleSpec, validateRoleSpec, type NormalizedRoleSpec } from '../../../api';
import { resourceIdOf } from '../../azure/resource-id';
import type { AzureTenancy } from '../../azure/tenancy';
import {
  keyString,
  type Controller,
  type ControllerEnvironment,
  type Dependency,
  type Logger,
  type ObjectKey,
  type PostgresRoleObject,
  type ReconcileResult,
} from '../../contracts';
import { classifyError } from '../../errors/classify';
import { generatePassword } from '../../password';
import { withClient, type PgTarget } from '../../postgres/connect';
import { closeToPublic, reachableDatabases } from '../../postgres/isolation';
import { applyGrants, ensureRole, judgeRole, roleInfo } from '../../postgres/roles';
import { connectionSecretData, decodeSecretData, passwordlessSecretData, postgresTokenScope, secretCaBundle } from '../../secret-contract';
import { Claims } from '../claims';
import { guard, isBeingDeleted, jitter, namespaceEnv, Reason, secretConflict, StatusBuilder, type Timing } from '../common';
import { adminTarget, childrenOf, lookupDatabase, lookupServer, onFirewallRuleChange, SERVER_ARM_TYPE } from '../parents';

interface Parents {
  readonly target: PgTarget;
  /** A passwordless role's: the reconciler as an Entra administrator, in database postgres (where Azure's pgaadauth is). */
  readonly entraTarget?: PgTarget;
  readonly dbname: string;
  readonly serverId: string;
}

/** Second condition: True when the role can connect to its own database only; False names the others it can reach. */
export const ISOLATED = 'Isolated';

export class PostgresRoleController implements Controller {
  readonly kind = 'PostgresRole' as const;
  readonly ownsSecrets = true;
  readonly dependsOn: Dependency[];
  private readonly ctx: RoleContext;
  private readonly claims: Claims;

  /** `tenancy`: shared with the other controllers (one pacer per subscription). */
  constructor(private readonly env: ControllerEnvironment, timing: Timing, tenancy: AzureTenancy) {
    const log: Logger = env.log.child({ controller: this.kind });
    this.ctx = { env, log, timing, azure: (namespace) => tenancy.forNamespace(namespace) };
    this.claims = new Claims(env, log);
    this.dependsOn = [
      childrenOf(env, 'PostgresServer', this.kind, 'serverRef'),
      childrenOf(env, 'PostgresDatabase', this.kind, 'databaseRef'),
      onFirewallRuleChange(env, this.kind),
    ];
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return guard(this.env, this.ctx.log, this.kind, key, () => this.run(key));
  }

  private async run(key: ObjectKey): Promise<ReconcileResult> {
    const { kube } = this.env;
    const observed = kube.get<PostgresRoleObject>(this.kind, key);
    if (!observed) return {};
    const deleting = isBeingDeleted(observed);
    const held = await this.claims.hold(observed, deleting);
    if ('result' in held) return held.result;
    let obj = held.obj;
    if (deleting) return finalizeRole(this.ctx, obj);
    const r = normalizeRoleSpec(obj.spec);
    const sb: RoleStatus = new StatusBuilder(this.env, obj);
    const problems = validateRoleSpec(r);
    if (problems.length > 0) return notReady(sb, Reason.InvalidSpec, formatProblems(problems), { failure: 'invalidSpec' });

    const parents = await this.parents(obj, r, sb);
    if ('result' in parents) return parents.result;
    const { target, entraTarget, dbname, serverId } = parents;

    const secret = await kube.getSecret(obj.metadata.namespace, r.secretName);
    const conflict = secretConflict(secret, obj);
    if (conflict) return notReady(sb, Reason.SecretConflict, conflict, { failure: 'userError' });
    if (obj.metadata.annotations?.[SERVER_ANNOTATION] !== serverId) obj = await kube.patchAnnotations(obj, { [SERVER_ANNOTATION]: serverId });

    const owner = obj;
    const claim = claimOf(this.env, owner);
    let reachable: string[];
    try {
      reachable = await withClient(target, async (c) => {
        // Nothing is written, not even the Secret, for a role this PostgresRole may not manage.
        judgeRole(r.roleName, await roleInfo(c, r.roleName), claim);
        // 1. The Secret first: the password is reused when present, so repeating after a crash is safe.
        const login = await this.writeSecret(owner, r, secret, target.host, dbname);
        // 2. The role (judged again, under a lock, in the same transaction as the change) and exactly its privileges.
        const ensure = { ...claim, roleName: r.roleName, ...login, connectionLimit: r.connectionLimit };
        const res = entraTarget ? await withClient(entraTarget, (e) => ensureRole(e, ensure)) : await ensureRole(c, ensure);
        if (res.created) this.ctx.log.info({ key: keyString(key), role: r.roleName }, 'created role');
        if (res.adopted) kube.event(owner, 'Normal', 'Adopted', `took over the existing role ${r.roleName}`);
        await applyGrants(c, { roleName: r.roleName, database: dbname, privileges: r.privileges });
        // 3. What PUBLIC reaches besides: closed where the administrator owns it, reported where Azure does.
        await closeToPublic(c);
        return reachableDatabases(c, r.roleName);
      });
    } catch (e) {
      // A failed Secret write is the runtime's to retry (guard records it), not a PostgreSQL failure.
      if (classifyError(e).source === 'kubernetes') throw e;
      if ((e as { code?: string }).code === '3D000') {
        return notReady(sb, Reason.WaitingForDatabase, `waiting for database ${dbname} to exist on the server`, { requeueAfterMs: jitter(this.ctx.timing.waitMs) });
      }
      const f = postgresFailure(e, `setting up role ${r.roleName}`);
      return notReady(sb, f.reason, f.message, { failure: f.failure });
    }
    const others = reachable.filter((d) => d !== dbname);
    if (others.length === 0) {
      sb.condition(ISOLATED, 'True', 'OwnDatabaseOnly', `role ${r.roleName} can connect to database ${dbname} only`);
    } else {
      sb.condition(ISOLATED, 'False', 'PublicDatabases',
        `role ${r.roleName} can also connect to ${others.join(', ')}: PUBLIC has CONNECT there and the administrator does not own ` +
        'them, so cannot revoke it (what a role can do there: docs/reconciler-behaviour.md, "What a role can reach")');
    }
    sb.ready('True', Reason.Available, `Role ${r.roleName} can use database ${dbname} on ${target.host} (${r.privileges.join(', ')})`);
    await sb.commit();
    return {};
  }

  /**
   * The connection Secret, and how the role signs in: a password (the Secret's, or a new one), or, passwordless, the
   * identity's object ID (the Secret then says which token to get, and holds no password).
   */
  private async writeSecret(owner: PostgresRoleObject, r: NormalizedRoleSpec, secret: V1Secret | undefined, host: string, dbname: string)
    : Promise<{ password: string } | { entraObjectId: string }> {
    const ca = secretCaBundle(this.env);
    if (r.identity) {
      await this.env.kube.applySecret(owner, r.secretName, passwordlessSecretData({
        host, dbname, username: r.roleName, ca, tokenScope: postgresTokenScope(this.env), clientId: r.identity.clientId,
      }));
      return { entraObjectId: r.identity.objectId };
    }
    const password = decodeSecretData(secret).password || generatePassword(r.roleName);
    await this.env.kube.applySecret(owner, r.secretName, connectionSecretData({ host, dbname, username: r.roleName, password, ca }));
    return { password };
  }

  /**
   * The server and the database: they must exist (in Azure, with an FQDN and the administrator's password) and be on
   * the same server; whether they are Ready does not matter. The role's name may not be the administrator's.
   */
  private async parents(obj: PostgresRoleObject, r: NormalizedRoleSpec, sb: RoleStatus): Promise<{ result: ReconcileResult } | Parents> {
    const ns = obj.metadata.namespace;
    const waiting = { requeueAfterMs: jitter(this.ctx.timing.waitMs) };
    const wait = async (reason: string, message: string) => ({ result: await notReady(sb, reason, message, waiting) });
    const server = lookupServer(this.env, ns, r.serverName);
    if (!server) return wait(Reason.WaitingForServer, `waiting for PostgresServer ${r.serverName} (not found)`);
    const admin = administratorConflict(r.roleName, server.spec.administratorLogin, r.serverName);
    if (admin) return { result: await notReady(sb, Reason.Conflict, admin, { failure: 'userError' }) };
    const entraOff = entraRequiredProblem(r.identity, server.spec.authentication.microsoftEntra, `PostgresServer ${r.serverName}'s spec.authentication.microsoftEntra`);
    if (entraOff) return { result: await notReady(sb, Reason.EntraSignInOff, formatProblem(entraOff), { failure: 'userError' }) };
    const database = lookupDatabase(this.env, ns, r.databaseName);
    if (database && database.obj.spec.serverRef?.name !== r.serverName) {
      const message = `spec.databaseRef: PostgresDatabase ${r.databaseName} is on server ${database.obj.spec.serverRef?.name}, not ${r.serverName}`;
      return { result: await notReady(sb, Reason.InvalidSpec, message, { failure: 'invalidSpec' }) };
    }
    if (!server.reachable || !server.obj.status?.fullyQualifiedDomainName) {
      const why = server.unreachableBecause ?? 'no FQDN yet';
      return wait(Reason.WaitingForServer, `waiting for PostgresServer ${r.serverName} to exist in Azure and be reachable (${why})`);
    }
    if (!database || !(database.ready || database.obj.status?.azureResourceId)) {
      return wait(Reason.WaitingForDatabase, `waiting for PostgresDatabase ${r.databaseName} to exist (${database ? database.state : 'not found'})`);
    }
    const dbname = database.obj.spec.azureName;
    // As the identity of the namespace, which its server made an Entra administrator (server-entra.ts).
    const env = namespaceEnv(this.env, this.ctx.azure(ns));
    const target = await adminTarget(env, server, dbname);
    if ('missing' in target) return wait(Reason.WaitingForServer, target.missing);
    const entraTarget = r.identity ? await adminTarget(env, server, 'postgres', { entra: true }) : undefined;
    if (entraTarget && 'missing' in entraTarget) return wait(Reason.WaitingForServer, entraTarget.missing);
    const serverId = resourceIdOf(env.subscriptionId, SERVER_ARM_TYPE, serverAddressOf(server));
    return { target, ...(entraTarget ? { entraTarget } : {}), dbname, serverId };
  }
}
