/**
 * The lifecycle shared by ARM resources that are children of a PostgresServer (databases, firewall rules): the
 * finalizer, waiting for the server, create/update through an LRO whose operation is recorded in status, deletion
 * honouring deletionPolicy, and the Ready condition. Subclasses supply the spec, the ARM calls and the diff.
 */
import { isUserError, reasonFromCode, toAzureError, type AzureError } from '../azure/errors';
import type { LroStep } from '../azure/lro';
import type { PostgresArm } from '../azure/postgres-arm';
import {
  FINALIZER,
  type AzureChildStatus,
  type Controller,
  type ControllerEnvironment,
  type Dependency,
  type KubeObject,
  type Logger,
  type ObjectKey,
  type OperationStatus,
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
import { childrenOf, lookupServer, parseChildId, type ServerRef } from './parents';

export type Builder = StatusBuilder<AzureChildStatus>;

/** The fields every child spec normalizes to. */
export interface ChildSpec {
  serverName?: string;
  azureName: string;
  deletionPolicy: string;
}

/** Where the child lives in Azure. */
export interface ChildLocation {
  rg: string;
  srv: string;
}

export type WriteType = 'Create' | 'Update';

type ChildObject = KubeObject<{ azureName: string }, AzureChildStatus>;

export abstract class ArmChildController<O extends ChildObject, N extends ChildSpec, R extends { id?: string }> implements Controller {
  readonly dependsOn: Dependency[];
  protected readonly memory = new OperationMemory();
  protected readonly log: Logger;
  /** How messages name the resource: "database", "firewall rule". */
  protected abstract readonly noun: string;
  /** How the message after a write the cache does not show yet says it: "created", "written". */
  protected abstract readonly written: string;

  constructor(
    protected readonly env: ControllerEnvironment,
    protected readonly arm: PostgresArm,
    protected readonly timing: Timing,
    readonly kind: 'PostgresDatabase' | 'PostgresFirewallRule',
  ) {
    this.log = env.log.child({ controller: kind });
    this.dependsOn = [childrenOf(env, 'PostgresServer', kind, 'serverRef')];
  }

  protected abstract normalize(obj: O): N;
  protected abstract validate(n: N): string[];
  /** A reason the (Ready) server cannot hold this child; InvalidSpec. */
  protected serverProblem(_server: ServerRef, _n: N): string | undefined {
    return undefined;
  }
  protected abstract getResource(at: ChildLocation, n: N): Promise<R | undefined>;
  protected abstract resume(at: ChildLocation, n: N, op: OperationStatus): Promise<LroStep<unknown>>;
  /** Whether Azure's resource (absent or present) must be written. */
  protected abstract needsWrite(existing: R | undefined, n: N): WriteType | undefined;
  protected abstract startWrite(at: ChildLocation, n: N, type: WriteType, obj: O): Promise<LroStep<unknown>>;
  protected abstract startDelete(at: ChildLocation, n: N, obj: O): Promise<LroStep<unknown>>;
  /** The verb for a create/update operation in messages. */
  protected abstract writeVerb(type: OperationStatus['type']): string;
  /** After the resource exists: anything that keeps it from Ready (a result), or undefined. */
  protected async settle(_obj: O, _sb: Builder, _n: N, _resource: R, _server: ServerRef): Promise<ReconcileResult | undefined> {
    return undefined;
  }
  protected abstract availableMessage(n: N, at: ChildLocation): string;

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return guard(this.env, this.log, this.kind, key, () => this.run(key));
  }

  private async run(key: ObjectKey): Promise<ReconcileResult> {
    const { kube } = this.env;
    let obj = kube.get<O>(this.kind, key);
    if (!obj) {
      this.memory.forget(key);
      return {};
    }
    if (isBeingDeleted(obj)) return this.finalize(obj);
    if (!hasFinalizer(obj, FINALIZER)) obj = await kube.addFinalizer(obj, FINALIZER);
    const n = this.normalize(obj);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const problems = this.validate(n);
    if (problems.length > 0) return this.invalid(sb, problems.join('; '));
    const server = lookupServer(this.env, obj.metadata.namespace, n.serverName);
    if (!server || !server.ready) {
      sb.ready('False', Reason.WaitingForServer, `waiting for PostgresServer ${n.serverName} to be Ready (${server ? server.state : 'not found'})`);
      await sb.commit();
      return { requeueAfterMs: jitter(this.timing.waitMs) };
    }
    const problem = this.serverProblem(server, n);
    if (problem) return this.invalid(sb, problem);
    const at: ChildLocation = { rg: server.spec.resourceGroup.name, srv: server.spec.azureName };

    const followed = await this.follow(obj, sb, at, n, (op) => `${this.writeVerb(op.type)} ${this.noun} ${n.azureName} failed`);
    if (followed) return followed;

    const resource = await this.read(sb, at, n);
    if ('failure' in resource) return resource.failure;
    let existing = resource.value;
    const type = this.needsWrite(existing, n);
    if (type) {
      const step = await this.startWrite(at, n, type, obj);
      if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
      if (step.status !== 'succeeded') return this.azureFailure(sb, step.error, `${this.writeVerb(type)} ${this.noun} ${n.azureName} failed`);
      existing = await this.getResource(at, n);
      if (!existing) {
        sb.ready('False', Reason.Creating, `${this.noun} ${n.azureName} ${this.written}; reading it`);
        await sb.commit();
        return { requeueAfterMs: this.timing.minPollMs };
      }
    }
    // needsWrite() asks for a write whenever the resource is absent, so it is here.
    const found = existing as R;
    sb.set('azureResourceId', found.id);
    const blocked = await this.settle(obj, sb, n, found, server);
    if (blocked) return blocked;
    sb.ready('True', Reason.Available, this.availableMessage(n, at));
    await sb.commit();
    return { requeueAfterMs: jitter(this.timing.resyncMs) };
  }

  /**
   * An operation in flight (recorded in status or remembered): poll it once, never send its request again. A result
   * when the reconcile ends here; `failure` gives the message for a failed operation that should be reported.
   */
  private async follow(
    obj: O,
    sb: Builder,
    at: ChildLocation,
    n: N,
    failure: (op: OperationStatus) => string | undefined,
  ): Promise<ReconcileResult | undefined> {
    const op = this.memory.current(obj);
    if (!op) return undefined;
    const step = await this.resume(at, n, op);
    if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
    this.memory.remember(obj, undefined);
    sb.setOperation(undefined);
    if (step.status !== 'failed') return undefined;
    const context = failure(op);
    return context === undefined ? undefined : this.azureFailure(sb, step.error, context);
  }

  private async invalid(sb: Builder, message: string): Promise<ReconcileResult> {
    sb.ready('False', Reason.InvalidSpec, message);
    await sb.commit();
    return {};
  }

  private async read(sb: Builder, at: ChildLocation, n: N): Promise<{ value: R | undefined } | { failure: ReconcileResult }> {
    try {
      return { value: await this.getResource(at, n) };
    } catch (e) {
      rethrowThrottling(e);
      return { failure: await this.azureFailure(sb, toAzureError(e), `reading ${this.noun} ${n.azureName} failed`) };
    }
  }

  private async running(obj: O, sb: Builder, op: OperationStatus, retryAfterMs: number | undefined): Promise<ReconcileResult> {
    sb.setOperation(op);
    const reason = op.type === 'Delete' ? Reason.Deleting : this.writeVerb(op.type) === 'creating' ? Reason.Creating : Reason.Updating;
    sb.ready('False', reason, `${reason.toLowerCase()} ${this.noun} ${obj.spec.azureName} (Azure operation in progress)`);
    this.memory.remember(obj, op);
    await sb.commit();
    return { requeueAfterMs: pollDelay(this.timing, retryAfterMs) };
  }

  protected async azureFailure(sb: Builder, error: AzureError, context: string): Promise<ReconcileResult> {
    sb.ready('False', reasonFromCode(error.code), `${context}: Azure ${error.code}: ${error.message}`);
    await sb.commit();
    return { requeueAfterMs: jitter(error.statusCode !== undefined && isUserError(error) ? this.timing.userErrorMs : this.timing.transientErrorMs) };
  }

  private async finalize(obj: O): Promise<ReconcileResult> {
    const { kube } = this.env;
    if (!hasFinalizer(obj, FINALIZER)) return {};
    const n = this.normalize(obj);
    const sb: Builder = new StatusBuilder(this.env, obj);
    const done = async (reason: string, message: string): Promise<ReconcileResult> => {
      this.memory.forget(obj.metadata);
      kube.event(obj, 'Normal', reason, message);
      await kube.removeFinalizer(obj, FINALIZER);
      return {};
    };
    if (n.deletionPolicy === 'Retain') return done('Retained', `deletionPolicy Retain: ${this.noun} ${n.azureName} is left on the server`);
    // Where it lives: from the server object when it is still there, else from the recorded resource ID.
    const server = lookupServer(this.env, obj.metadata.namespace, n.serverName);
    const fromId = parseChildId(obj.status?.azureResourceId);
    const rg = server?.spec.resourceGroup.name ?? fromId?.resourceGroup;
    const srv = server?.spec.azureName ?? fromId?.server;
    if (!rg || !srv || !n.azureName) return done('Deleted', 'nothing was created in Azure');
    const at: ChildLocation = { rg, srv };

    const followed = await this.follow(obj, sb, at, n, (op) => (op.type === 'Delete' ? `deleting ${this.noun} ${n.azureName} failed` : undefined));
    if (followed) return followed;
    const resource = await this.read(sb, at, n);
    if ('failure' in resource) return resource.failure;
    if (!resource.value) return done('Deleted', `${this.noun} ${n.azureName} is gone`);
    const step = await this.startDelete(at, n, obj);
    if (step.status === 'running') return this.running(obj, sb, step.operation, step.retryAfterMs);
    if (step.status === 'failed') {
      if (step.error.statusCode === 404) return done('Deleted', `${this.noun} ${n.azureName} is gone`);
      return this.azureFailure(sb, step.error, `deleting ${this.noun} ${n.azureName} failed`);
    }
    await sb.commit();
    return { requeueAfterMs: this.timing.minPollMs };
  }
}
