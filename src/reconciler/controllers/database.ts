/**
 * PostgresDatabase: a database on a PostgresServer, created through ARM (so it is owned by the server administrator),
 * then locked against PUBLIC (REVOKE ALL ON DATABASE ... FROM PUBLIC) so that only roles granted CONNECT reach it.
 */
import { isUserError, reasonFromCode, toAzureError, type AzureError } from '../azure/errors';
import type { PostgresArm } from '../azure/postgres-arm';
import {
  FINALIZER,
  keyString,
  type AzureChildStatus,
  type Controller,
  type ControllerEnvironment,
  type Dependency,
  type Logger,
  type ObjectKey,
  type OperationStatus,
  type PostgresDatabaseObject,
  type ReconcileResult,
} from '../contracts';
import {
  guard,
  hasFinalizer,
  isBeingDeleted,
  jitter,
  OperationMemory,
  pollDelay,
  Reason,
  rethrowThrottling,
  StatusBuilder,
  type Timing,
} from './common';
import { adminTarget, childrenOf, lookupServer, parseChildId } from './parents';
import { isConnectionError, toPgError, withClient } from '../postgres/connect';
import { lockDownDatabase } from '../postgres/roles';

type Builder = StatusBuilder<AzureChildStatus>;

const RESERVED = ['postgres', 'azure_maintenance', 'azure_sys', 'template0', 'template1'];

export function normalizeDatabaseSpec(spec: PostgresDatabaseObject['spec']) {
  return {
    serverName: spec?.serverRef?.name,
    azureName: spec?.azureName,
    charset: spec?.charset ?? 'UTF8',
    collation: spec?.collation ?? 'en_US.utf8',
    deletionPolicy: spec?.deletionPolicy === 'Retain' ? 'Retain' : 'Delete',
  };
}

export function validateDatabaseSpec(d: ReturnType<typeof normalizeDatabaseSpec>): string[] {
  const p: string[] = [];
  if (!d.serverName) p.push('spec.serverRef.name is required');
  if (!d.azureName || !/^[a-z_][a-z0-9_]{0,62}$/.test(d.azureName)) {
    p.push('spec.azureName must be 1-63 lowercase letters, digits and underscores, starting with a letter or underscore');
  } else if (RESERVED.includes(d.azureName)) {
    p.push(`spec.azureName ${d.azureName} is reserved; choose another name`);
  }
  if (String(d.charset).toUpperCase() !== 'UTF8') p.push('spec.charset must be UTF8');
  if (!/^[A-Za-z0-9_.@-]{1,128}$/.test(d.collation)) p.push('spec.collation must be a collation name such as en_US.utf8');
  return p;
}

const sameName = (a: string | undefined, b: string): boolean => (a ?? '').toLowerCase().replace(/[-_]/g, '') === b.toLowerCase().replace(/[-_]/g, '');

export class PostgresDatabaseController implements Controller {
  readonly kind = 'PostgresDatabase' as const;
  readonly dependsOn: Dependency[];
  private readonly memory = new OperationMemory();
  private readonly log: Logger;

  constructor(private readonly env: ControllerEnvironment, private readonly arm: PostgresArm, private readonly timing: Timing) {
    this.log = env.log.child({ controller: this.kind });
    this.dependsOn = [childrenOf(env, 'PostgresServer', this.kind, 'serverRef')];
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return guard(this.env, this.log, this.kind, key, () => this.run(key));
  }

  private async run(key: ObjectKey): Promise<ReconcileResult> {
    const { kube } = this.env;
    let obj = kube.get<PostgresDatabaseObject>(this.kind, key);
    if (!obj) {
      this.memory.forget(key);
      return {};
    }
    if (isBeingDeleted(obj)) return this.finalize(obj);
    if (!hasFinalizer(obj, FINALIZER)) obj = await kube.addFinalizer(obj, FINALIZER);
    const d = normalizeDatabaseSpec(obj.spec);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const problems = validateDatabaseSpec(d);
    if (problems.length > 0) {
      sb.ready('False', Reason.InvalidSpec, problems.join('; '));
      await sb.commit();
      return {};
    }
    const server = lookupServer(this.env, obj.metadata.namespace, d.serverName);
    if (!server || !server.ready) {
      sb.ready('False', Reason.WaitingForServer, `waiting for PostgresServer ${d.serverName} to be Ready (${server ? server.state : 'not found'})`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }
    const rg = server.spec.resourceGroup.name;
    const srv = server.spec.azureName;

    const op = this.memory.current(obj);
    if (op) {
      const step = await this.arm.resumeDatabaseOperation(rg, srv, d.azureName, op);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
      this.memory.remember(obj, undefined);
      sb.setOperation(undefined);
      if (step.status === 'failed') return this.azureFailure(sb, step.error, `creating database ${d.azureName} failed`);
    }

    let db;
    try {
      db = await this.arm.getDatabase(rg, srv, d.azureName);
    } catch (e) {
      rethrowThrottling(e);
      return this.azureFailure(sb, toAzureError(e), `reading database ${d.azureName} failed`);
    }
    if (!db) {
      this.log.info({ key: keyString(key), database: d.azureName, server: srv }, 'creating database');
      const step = await this.arm.startCreateDatabase(rg, srv, d.azureName, { charset: d.charset, collation: d.collation }, obj.metadata.generation);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
      if (step.status !== 'succeeded') return this.azureFailure(sb, step.error, `creating database ${d.azureName} failed`);
      db = await this.arm.getDatabase(rg, srv, d.azureName);
      if (!db) {
        sb.ready('False', Reason.Creating, `database ${d.azureName} created; reading it`);
        await sb.commit();
        return { requeueAfterMs: this.timing.minPollMs };
      }
    }
    sb.set('azureResourceId', db.id);

    const unsupported: string[] = [];
    if (db.charset && !sameName(db.charset, d.charset)) unsupported.push(`spec.charset: Azure has ${db.charset}, spec asks ${d.charset}`);
    if (db.collation && !sameName(db.collation, d.collation)) unsupported.push(`spec.collation: Azure has ${db.collation}, spec asks ${d.collation}`);
    if (unsupported.length > 0) {
      sb.ready('False', Reason.UnsupportedChange, `${unsupported.join('; ')}; the character set and collation are fixed when a database is created. Revert the field or create a new database.`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.resyncMs) };
    }

    // Lock the database against PUBLIC: only roles granted CONNECT (PostgresRole) get in.
    const target = await adminTarget(this.env, server, d.azureName);
    if ('missing' in target) {
      sb.ready('False', Reason.WaitingForServer, target.missing);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }
    try {
      await withClient(target, (c) => lockDownDatabase(c, d.azureName));
    } catch (e) {
      const err = toPgError(e);
      sb.ready('False', isConnectionError(e) ? Reason.PostgresUnreachable : Reason.PostgresError,
        `locking database ${d.azureName} against PUBLIC failed: ${err.code}: ${err.message}`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.transientErrorMs) };
    }

    sb.ready('True', Reason.Available, `Database ${d.azureName} is ready on server ${srv}`);
    await sb.commit();
    return { requeueAfterMs: jitter(this.timing.resyncMs) };
  }

  private async running(obj: PostgresDatabaseObject, sb: Builder, op: OperationStatus, retryAfterMs: number | undefined): Promise<ReconcileResult> {
    sb.setOperation(op);
    const verb = op.type === 'Delete' ? 'deleting' : 'creating';
    sb.ready('False', op.type === 'Delete' ? Reason.Deleting : Reason.Creating, `${verb} database ${obj.spec.azureName} (Azure operation in progress)`);
    this.memory.remember(obj, op);
    await sb.commit();
    return { requeueAfterMs: pollDelay(this.timing, retryAfterMs) };
  }

  private async azureFailure(sb: Builder, error: AzureError, context: string): Promise<ReconcileResult> {
    sb.ready('False', reasonFromCode(error.code), `${context}: Azure ${error.code}: ${error.message}`);
    await sb.commit();
    return { requeueAfterMs: jitter(error.statusCode !== undefined && isUserError(error) ? this.timing.userErrorMs : this.timing.transientErrorMs) };
  }

  private async finalize(obj: PostgresDatabaseObject): Promise<ReconcileResult> {
    const { kube } = this.env;
    if (!hasFinalizer(obj, FINALIZER)) return {};
    const d = normalizeDatabaseSpec(obj.spec);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const done = async (reason: string, message: string): Promise<ReconcileResult> => {
      this.memory.forget(obj.metadata);
      kube.event(obj, 'Normal', reason, message);
      await kube.removeFinalizer(obj, FINALIZER);
      return {};
    };
    if (d.deletionPolicy === 'Retain') return done('Retained', `deletionPolicy Retain: database ${d.azureName} is left on the server`);
    // Where it lives: from the server object when it is still there, else from the recorded resource ID.
    const server = lookupServer(this.env, obj.metadata.namespace, d.serverName);
    const fromId = parseChildId(obj.status?.azureResourceId);
    const rg = server?.spec.resourceGroup.name ?? fromId?.resourceGroup;
    const srv = server?.spec.azureName ?? fromId?.server;
    if (!rg || !srv || !d.azureName) return done('Deleted', 'nothing was created in Azure');

    const op = this.memory.current(obj);
    if (op) {
      const step = await this.arm.resumeDatabaseOperation(rg, srv, d.azureName, op);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
      this.memory.remember(obj, undefined);
      sb.setOperation(undefined);
      if (step.status === 'failed' && op.type === 'Delete') return this.azureFailure(sb, step.error, `deleting database ${d.azureName} failed`);
    }
    let db;
    try {
      db = await this.arm.getDatabase(rg, srv, d.azureName);
    } catch (e) {
      rethrowThrottling(e);
      return this.azureFailure(sb, toAzureError(e), `reading database ${d.azureName} failed`);
    }
    if (!db) return done('Deleted', `database ${d.azureName} is gone`);
    this.log.info({ key: keyString(obj.metadata), database: d.azureName }, 'deleting database');
    const step = await this.arm.startDeleteDatabase(rg, srv, d.azureName, obj.metadata.generation);
    if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
    if (step.status === 'failed') {
      if (step.error.statusCode === 404) return done('Deleted', `database ${d.azureName} is gone`);
      return this.azureFailure(sb, step.error, `deleting database ${d.azureName} failed`);
    }
    await sb.commit();
    return { requeueAfterMs: this.timing.minPollMs };
  }
}
