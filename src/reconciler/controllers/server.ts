/**
 * PostgresServer: one Azure Database for PostgreSQL flexible server. See docs/reconciler-behaviour.md.
 */
import type { ServerForPatch } from '@azure/arm-postgresql-flexible';
import {
  findCondition,
  guard,
  hasFinalizer,
  isBeingDeleted,
  jitter,
  OperationMemory,
  pollDelay,
  Reason,
  rethrowThrottling,
  secretConflict,
  StatusBuilder,
  type Timing,
} from './common';
import { isUserError, reasonFromCode, toAzureError, type AzureError } from '../azure/errors';
import type { LroStep } from '../azure/lro';
import type { PostgresArm } from '../azure/postgres-arm';
import {
  diffServer,
  isOwnedBy,
  normalizeServerSpec,
  ownerTags,
  parameterDrift,
  toArmServer,
  validateServerSpec,
  type NormalizedServerSpec,
  type Owner,
} from '../azure/server-mapping';
import {
  ADOPT_ANNOTATION,
  FINALIZER,
  keyString,
  type Controller,
  type ControllerEnvironment,
  type Logger,
  type ObjectKey,
  type OperationStatus,
  type PostgresServerObject,
  type PostgresServerStatus,
  type ReconcileResult,
} from '../contracts';
import { generatePassword } from '../password';
import { connectionSecretData, decodeSecretData, passwordFromUri, pendingSecretData } from '../secret-contract';

/** Secondary condition: False while a new administrator password (from the Secret) still has to reach Azure. */
export const PASSWORD_SYNCED = 'PasswordSynced';

const BUSY_STATES = new Set(['provisioning', 'updating', 'starting', 'restarting', 'dropping', 'stopping']);
const TRANSIENT_CODES = /^(InternalServerError|ServiceUnavailable|ServerBusy|OperationTimedOut|GatewayTimeout|Conflict|TooManyRequests|OperationLost|HTTP5\d\d)$/i;

type Builder = StatusBuilder<PostgresServerStatus>;
type Obj = PostgresServerObject;

export class PostgresServerController implements Controller {
  readonly kind = 'PostgresServer' as const;
  readonly ownsSecrets = true;
  private readonly memory = new OperationMemory();
  private readonly log: Logger;

  constructor(private readonly env: ControllerEnvironment, private readonly arm: PostgresArm, private readonly timing: Timing) {
    this.log = env.log.child({ controller: this.kind });
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return guard(this.env, this.log, this.kind, key, () => this.run(key));
  }

  private async run(key: ObjectKey): Promise<ReconcileResult> {
    const { kube } = this.env;
    let obj = kube.get<PostgresServerObject>(this.kind, key);
    if (!obj) {
      this.memory.forget(key);
      return {};
    }
    if (isBeingDeleted(obj)) return this.finalize(obj);
    if (!hasFinalizer(obj, FINALIZER)) obj = await kube.addFinalizer(obj, FINALIZER);

    const n = normalizeServerSpec(obj.spec);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const problems = validateServerSpec(n);
    if (problems.length > 0) {
      sb.ready('False', Reason.InvalidSpec, problems.join('; '));
      await sb.commit();
      return {};
    }
    const owner: Owner = { namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid };
    const rg = n.resourceGroup.name;
    const name = n.azureName;

    // 1. An operation in flight: poll it once, never send its request again.
    const op = this.memory.current(obj);
    let passwordPushed = false;
    if (op) {
      const step = await this.arm.resumeServerOperation(rg, name, op);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs, this.progressMessage(op.type, name));
      this.memory.remember(obj, undefined);
      sb.setOperation(undefined);
      if (step.status === 'failed') return this.azureFailure(sb, step.error, `${op.type} of server ${name} failed`);
      if (step.status === 'succeeded') {
        this.log.info({ key: keyString(key), operation: op.type }, 'Azure operation succeeded');
        if (op.type === 'Update' && findCondition(sb.status.conditions, PASSWORD_SYNCED)?.status === 'False') passwordPushed = true;
      }
    }

    // 2. The connection Secret: ours or absent, never someone else's.
    const secret = await kube.getSecret(obj.metadata.namespace, n.secretName);
    const conflict = secretConflict(secret, obj);
    if (conflict) {
      sb.ready('False', Reason.SecretConflict, conflict);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.userErrorMs) };
    }
    const data = decodeSecretData(secret);

    // 3. The server in Azure.
    let server;
    try {
      server = await this.arm.getServer(rg, name);
    } catch (e) {
      rethrowThrottling(e);
      return this.azureFailure(sb, toAzureError(e), `reading server ${name} failed`);
    }

    if (!server) return this.create(obj, sb, n, owner, data.password);

    // 4. Ours, adopted, or someone else's.
    let adopting = false;
    if (!isOwnedBy(server.tags, owner.uid)) {
      if (obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
        sb.set('azureResourceId', undefined);
        sb.ready('False', Reason.AlreadyExists,
          `Azure server ${name} in resource group ${rg} already exists and was not created by this PostgresServer; ` +
          `to manage it from here (its administrator password will be reset), add the annotation ${ADOPT_ANNOTATION}: "true"`);
        await sb.commit();
        return { requeueAfterMs: jitter(this.timing.resyncMs) };
      }
      sb.set('adopted', true);
      adopting = true;
    }

    // 5. The password: the Secret is the source of truth. A new one, or one edited in the Secret, goes to Azure.
    let password = data.password;
    let pushPassword = false;
    if (!password) {
      password = generatePassword(n.administratorLogin);
      pushPassword = true;
    } else if (adopting) {
      // Azure has the previous owner's password: ours goes with the adopting PATCH.
      pushPassword = true;
    } else if (!passwordPushed) {
      const edited = data.uri !== undefined && passwordFromUri(data.uri) !== password;
      const pending = findCondition(sb.status.conditions, PASSWORD_SYNCED)?.status === 'False';
      pushPassword = edited || pending;
    }
    if (pushPassword && findCondition(sb.status.conditions, PASSWORD_SYNCED)?.status !== 'False') {
      // Recorded before the Secret changes, so that a crash between the Secret write and the PATCH still pushes it.
      sb.condition(PASSWORD_SYNCED, 'False', 'Pending', 'the administrator password in the Secret has not reached Azure yet');
      await sb.commit();
    }
    if (passwordPushed) sb.condition(PASSWORD_SYNCED, 'True', 'Synced', 'Azure has the administrator password of the Secret');
    const fqdn = server.fullyQualifiedDomainName;
    await kube.applySecret(obj, n.secretName, fqdn
      ? connectionSecretData({ host: fqdn, dbname: 'postgres', username: n.administratorLogin, password })
      : pendingSecretData(n.administratorLogin, password));

    sb.set('azureResourceId', server.id);
    sb.set('fullyQualifiedDomainName', fqdn);
    sb.set('state', server.state);
    sb.set('version', server.version);

    // 6. Azure busy or stopped: wait, change nothing.
    const state = (server.state ?? '').toLowerCase();
    if (state !== 'ready') {
      if (BUSY_STATES.has(state)) {
        sb.ready('False', Reason.Provisioning, `Azure reports the server ${server.state}; waiting`);
        await sb.commit();
        return { requeueAfterMs: jitter(this.timing.waitMs) };
      }
      sb.ready('False', Reason.ServerNotRunning, `Azure reports the server ${server.state ?? 'in an unknown state'}; the reconciler does not start servers, start it in Azure`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.userErrorMs) };
    }

    // 7. Drift: PATCH only what differs; refuse what Azure cannot change in place.
    const diff = diffServer(n, server, owner);
    if (diff.unsupported.length > 0) {
      sb.ready('False', Reason.UnsupportedChange,
        diff.unsupported.map((u) => `${u.field}: Azure has ${u.azure}, spec asks ${u.desired}; ${u.why}`).join('; ') +
        '. Revert the field (or create a new PostgresServer); nothing is changed in Azure until then.');
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.resyncMs) };
    }
    const patch: ServerForPatch = { ...(diff.patch ?? {}) };
    if (pushPassword) patch.administratorLoginPassword = password;
    if (Object.keys(patch).length > 0) {
      const fields = diff.changes.map((c) => c.field);
      if (pushPassword) fields.push('administrator password');
      this.log.info({ key: keyString(key), fields }, 'updating server');
      const step = await this.arm.startUpdateServer(rg, name, patch, obj.metadata.generation);
      const r = await this.afterStart(obj, sb, step, `updating ${fields.join(', ')}`);
      if (r) return r;
      if (pushPassword) sb.condition(PASSWORD_SYNCED, 'True', 'Synced', 'Azure has the administrator password of the Secret');
    }

    // 8. Server parameters, one at a time.
    const azureValues: Record<string, string | undefined> = {};
    for (const p of Object.keys(n.parameters).sort()) {
      let cfg;
      try {
        cfg = await this.arm.getConfiguration(rg, name, p);
      } catch (e) {
        rethrowThrottling(e);
        return this.azureFailure(sb, toAzureError(e), `reading server parameter ${p} failed`);
      }
      if (!cfg) {
        sb.ready('False', Reason.InvalidSpec, `spec.parameters.${p}: Azure has no server parameter ${p} (see az postgres flexible-server parameter list)`);
        await sb.commit();
        return {};
      }
      azureValues[p] = cfg.value;
    }
    for (const p of parameterDrift(n.parameters, azureValues)) {
      const step = await this.arm.startPutConfiguration(rg, name, p, n.parameters[p], obj.metadata.generation);
      const r = await this.afterStart(obj, sb, step, `setting server parameter ${p}`);
      if (r) return r;
    }

    // 9. Ready.
    if (findCondition(sb.status.conditions, PASSWORD_SYNCED)?.status !== 'True') {
      sb.condition(PASSWORD_SYNCED, 'True', 'Synced', 'Azure has the administrator password of the Secret');
    }
    sb.ready('True', Reason.Available, `Server ${name} is ready at ${fqdn}`);
    await sb.commit();
    return { requeueAfterMs: jitter(this.timing.resyncMs) };
  }

  private async create(obj: Obj, sb: Builder, n: NormalizedServerSpec, owner: Owner, existingPassword?: string): Promise<ReconcileResult> {
    const { kube } = this.env;
    const rg = n.resourceGroup.name;
    if (n.resourceGroup.create) {
      try {
        if (!(await this.arm.resourceGroupExists(rg))) {
          await this.arm.createResourceGroup(rg, n.location, ownerTags(owner));
          kube.event(obj, 'Normal', 'ResourceGroupCreated', `Created resource group ${rg} in ${n.location}`);
        }
      } catch (e) {
        rethrowThrottling(e);
        return this.azureFailure(sb, toAzureError(e), `creating resource group ${rg} failed`);
      }
    }
    // The password exists in the Secret before Azure ever hears of it: a crash cannot lose it.
    const password = existingPassword ?? generatePassword(n.administratorLogin);
    await kube.applySecret(obj, n.secretName, pendingSecretData(n.administratorLogin, password));
    sb.set('adopted', undefined);
    this.log.info({ key: keyString(obj.metadata), server: n.azureName, resourceGroup: rg }, 'creating server');
    const step = await this.arm.startCreateServer(rg, n.azureName, toArmServer(n, owner, password), obj.metadata.generation);
    const r = await this.afterStart(obj, sb, step, `creating server ${n.azureName}`);
    if (r) return r;
    // Finished at once (rare): read it next time round.
    sb.ready('False', Reason.Creating, `server ${n.azureName} created; reading it`);
    await sb.commit();
    return { requeueAfterMs: this.timing.minPollMs };
  }

  /** After starting an operation: a result to return, or undefined when it already succeeded. */
  private async afterStart(obj: PostgresServerObject, sb: Builder, step: LroStep<unknown>, what: string): Promise<ReconcileResult | undefined> {
    switch (step.status) {
      case 'running':
        return this.running(obj, sb, step.operation, step.retryAfterMs, `${what} (Azure operation in progress)`);
      case 'failed':
      case 'lost':
        return this.azureFailure(sb, step.error, `${what} failed`);
      default:
        return undefined;
    }
  }

  private async running(obj: Obj, sb: Builder, op: OperationStatus, retryAfterMs: number | undefined, message: string): Promise<ReconcileResult> {
    sb.setOperation(op);
    const reason = op.type === 'Create' ? Reason.Creating : op.type === 'Delete' ? Reason.Deleting : Reason.Updating;
    sb.ready('False', reason, message);
    this.memory.remember(obj, op);
    await sb.commit();
    return { requeueAfterMs: pollDelay(this.timing, retryAfterMs) };
  }

  private progressMessage(type: OperationStatus['type'], name: string): string {
    return `${type === 'Create' ? 'creating' : type === 'Delete' ? 'deleting' : 'updating'} server ${name} (Azure operation in progress)`;
  }

  private async azureFailure(sb: Builder, error: AzureError, context: string): Promise<ReconcileResult> {
    sb.ready('False', reasonFromCode(error.code), `${context}: Azure ${error.code}: ${error.message}`);
    await sb.commit();
    const transient = TRANSIENT_CODES.test(error.code) || (error.statusCode !== undefined && !isUserError(error));
    return { requeueAfterMs: jitter(transient ? this.timing.transientErrorMs : this.timing.userErrorMs) };
  }

  private async finalize(obj: PostgresServerObject): Promise<ReconcileResult> {
    const { kube } = this.env;
    if (!hasFinalizer(obj, FINALIZER)) return {};
    const n = normalizeServerSpec(obj.spec);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const rg = n.resourceGroup.name;
    const name = n.azureName;
    const done = async (reason: string, message: string): Promise<ReconcileResult> => {
      this.memory.forget(obj.metadata);
      kube.event(obj, 'Normal', reason, message);
      await kube.removeFinalizer(obj, FINALIZER);
      return {};
    };
    if (!rg || !name) return done('Deleted', 'nothing was created in Azure');

    const op = this.memory.current(obj);
    if (op) {
      const step = await this.arm.resumeServerOperation(rg, name, op);
      if (step.status === 'running') {
        const msg = op.type === 'Delete' ? `deleting server ${name} (Azure operation in progress)` : `waiting for the ${op.type.toLowerCase()} operation on ${name} to end before deleting`;
        return this.running(obj, sb, step.operation, step.retryAfterMs, msg);
      }
      this.memory.remember(obj, undefined);
      sb.setOperation(undefined);
      if (step.status === 'failed' && op.type === 'Delete') return this.azureFailure(sb, step.error, `deleting server ${name} failed`);
    }

    if (n.deletionPolicy === 'Retain') {
      await sb.commit();
      return done('Retained', `deletionPolicy Retain: server ${name} is left in Azure`);
    }
    let server;
    try {
      server = await this.arm.getServer(rg, name);
    } catch (e) {
      rethrowThrottling(e);
      return this.azureFailure(sb, toAzureError(e), `reading server ${name} failed`);
    }
    if (!server) {
      await sb.commit();
      return done('Deleted', `server ${name} is gone from Azure`);
    }
    if (!isOwnedBy(server.tags, obj.metadata.uid)) {
      await sb.commit();
      return done('NotDeleted', `server ${name} was not created (or adopted) by this PostgresServer; left in Azure`);
    }
    this.log.info({ key: keyString(obj.metadata), server: name }, 'deleting server');
    const step = await this.arm.startDeleteServer(rg, name, obj.metadata.generation);
    if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs, `deleting server ${name} (Azure operation in progress)`);
    if (step.status === 'failed') {
      if (step.error.statusCode === 404) return done('Deleted', `server ${name} is gone from Azure`);
      return this.azureFailure(sb, step.error, `deleting server ${name} failed`);
    }
    // Succeeded at once, or lost: confirm by reading it next time.
    await sb.commit();
    return { requeueAfterMs: this.timing.minPollMs };
  }
}
