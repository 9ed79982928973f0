/**
 * The one lifecycle of an Azure resource, for every kind (a descriptor says what differs between kinds). Named
 * phases, in order:
 *
 *  1. observe     the cached object, seen with this controller's own last status write (status-memory.ts); the
 *                 install's claim and the finalizer (claims.ts: another running install's is left alone); validation (InvalidSpec: no Azure call, no retry until the spec changes)
 *  2. place       where it lives in Azure; a child waits until its server exists there and can be reached; a
 *                 resource group or subscription outside the namespace's scope (--namespace-scopes) is OutOfScope: no
 *                 Azure call; then the namespace's subscription and identity (azure/tenancy.ts)
 *  3. conflict    a child that another object already manages is Conflict (ownership.ts)
 *  4. poll        the operation in flight, polled once; its request is never sent again (operations.ts)
 *  5. read        the resource in Azure; a child whose server is gone waits for it. Skipped for a kind that writes
 *                 without reading (descriptor.ts) while its status has never seen the resource: it is created
 *  6. create      absent: the steps' preparations, then the create request
 *  7. ownership   present: ours, adopted (owner-checked, adoption.ts) or refused
 *  8. compare     the steps' findings, Azure's state, then only what differs is sent; what cannot change is
 *                 UnsupportedChange
 *  9. complete    the steps' further work, then Available
 *
 * Deletion by policy is deletion.ts. Results say what happened (contracts.ts ReconcileResult); the runtime retries.
 */
import { formatProblems } from '../../../api';
import { Claims } from '../claims';
import { guard, isBeingDeleted, namespaceEnv, Reason, StatusBuilder, type Timing } from '../common';
import { judgeOwnership } from './adoption';
import { Deletion } from './deletion';
import type {
  AnyArmKindDescriptor,
  ArmKind,
  ArmObject,
  ArmStatus,
  LifecycleContext,
  LifecycleServices,
  LifecycleStep,
} from './descriptor';
import { afterStart, describeOperation, followRecordedOperation } from './operations';
import { available, failed, invalidSpec, progress, userProblem, waiting } from './outcome';
import { managedByAnother } from './ownership';
import { PollSchedule } from './poll-schedule';
import { outsideScope } from './scope';
import { StatusMemory } from './status-memory';
import { ArmResource, type ReadResult } from '../../azure/resource';
import { resourceIdOf } from '../../azure/resource-id';
import type { AzureTenancy } from '../../azure/tenancy';
import {
  keyString,
  type Controller,
  type ControllerEnvironment,
  type Dependency,
  type ObjectKey,
  type ReconcileResult,
} from '../../contracts';
import { classifyAzureError } from '../../errors/classify';

type Resource = { id?: string; tags?: Record<string, string> };
type Step = LifecycleStep<Resource, unknown, unknown>;
type Context = LifecycleContext<unknown>;
type AzureResource = ArmResource<Resource, unknown, unknown>;

export class ArmLifecycleController implements Controller {
  readonly kind: ArmKind;
  readonly dependsOn?: Dependency[];
  readonly ownsSecrets?: boolean;
  private readonly services: LifecycleServices;
  private readonly deletion: Deletion;
  private readonly claims: Claims;

  constructor(env: ControllerEnvironment, tenancy: AzureTenancy, timing: Timing, private readonly descriptor: AnyArmKindDescriptor) {
    this.kind = descriptor.kind;
    this.dependsOn = descriptor.dependsOn?.(env);
    this.ownsSecrets = descriptor.ownsSecrets;
    const log = env.log.child({ controller: descriptor.kind });
    this.services = { env, tenancy, timing, log, memory: new StatusMemory(), polls: new PollSchedule() };
    this.deletion = new Deletion(this.services, descriptor);
    this.claims = new Claims(env, log);
  }

  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return guard(this.services.env, this.services.log, this.kind, key, () => this.run(key), this.services.memory);
  }

  private async run(key: ObjectKey): Promise<ReconcileResult> {
    const observed = this.observe(key);
    if (!observed) return {};
    const deleting = isBeingDeleted(observed);
    const held = await this.claims.hold(observed, deleting);
    if ('result' in held) return held.result;
    const obj = held.obj === observed ? observed : this.services.memory.view(held.obj);
    if (deleting) return this.deletion.run(obj);
    const d = this.descriptor;
    const { env, tenancy, log, timing, memory, polls } = this.services;
    const spec = d.normalize(obj);
    const status = new StatusBuilder<ArmStatus>(env, obj, memory);
    const problems = d.validate(spec);
    if (problems.length > 0) return invalidSpec(status, formatProblems(problems));

    const placement = d.place(env, obj, spec);
    if (placement.kind === 'waiting') return waiting(status, Reason.WaitingForServer, placement.message, timing);
    if (placement.kind === 'invalid') return invalidSpec(status, placement.message);
    const at = placement.at;
    const azure = tenancy.forNamespace(obj.metadata.namespace);
    const outside = outsideScope(env, d, obj, spec, at, azure.subscriptionId);
    if (outside) {
      log.warn({ key: keyString(obj.metadata), resourceGroup: at.resourceGroup }, 'out of its namespace\'s scope: no Azure call');
      return userProblem(status, Reason.OutOfScope, `${d.noun} ${at.name} is not read, created or changed in Azure: ${outside}`);
    }
    const resourceId = resourceIdOf(azure.subscriptionId, d.armType, at);
    const ctx: Context = {
      env: namespaceEnv(env, azure), arm: azure.arm, log, timing, object: obj, spec, status, at, resourceId, adopting: false, secrets: [], polls,
    };

    const conflict = await this.refuseIfAnotherManages(ctx);
    if (conflict) return conflict;
    const steps: Step[] = d.steps?.(ctx) ?? [];
    for (const step of steps) {
      const stop = await step.beforeAzure?.();
      if (stop) return stop;
    }
    const resource: AzureResource = new ArmResource(d.operations(ctx.arm.clients.postgres, at), at.parents.length > 0);
    const inFlight = await this.pollOperationInFlight(ctx, resource);
    if (inFlight) return inFlight;

    if (this.neverSeen(ctx)) return this.create(ctx, resource, steps);
    const read = await this.read(ctx, resource);
    if ('result' in read) return read.result;
    if (read.status === 'parentGone') return this.parentGone(ctx);
    if (read.status === 'absent') return this.create(ctx, resource, steps);
    return this.converge(ctx, resource, steps, read.resource);
  }

  /** A kind that writes without reading, whose status has never seen the resource and no operation just ended. */
  private neverSeen(ctx: Context): boolean {
    return this.descriptor.writesWithoutReading === true && !ctx.object.status?.azureResourceId && !ctx.completedOperation;
  }

  /** Phase 1: the cached object as this controller last wrote its status. */
  private observe(key: ObjectKey): ArmObject | undefined {
    const cached = this.services.env.kube.get<ArmObject>(this.kind, key);
    if (!cached) {
      this.services.memory.forget(key);
      return undefined;
    }
    return this.services.memory.view(cached);
  }

  /** Phase 3: a child that another live object already manages changes nothing. */
  private async refuseIfAnotherManages(ctx: Context): Promise<ReconcileResult | undefined> {
    if (this.descriptor.ownership !== 'one-per-name') return undefined;
    const manager = managedByAnother(ctx.env, this.descriptor, ctx.object, ctx.at);
    if (!manager) return undefined;
    ctx.status.set('azureResourceId', undefined);
    return userProblem(ctx.status, Reason.Conflict,
      `${this.descriptor.noun} ${ctx.at.name} on server ${ctx.at.parents.join('/')} is already managed by ${this.kind} ` +
      `${manager.metadata.namespace}/${manager.metadata.name}; this ${this.kind} changes and deletes nothing. Delete it, or give it another azureName.`);
  }

  /** Phase 4: the operation in flight. A result ends the reconcile; undefined goes on. */
  private async pollOperationInFlight(ctx: Context, resource: AzureResource): Promise<ReconcileResult | undefined> {
    const polled = await followRecordedOperation(ctx, resource, this.descriptor.noun);
    switch (polled.ended) {
      case 'running':
        return polled.result;
      case 'failed':
        return failed(ctx.status, classifyAzureError(polled.error), `${describeOperation(polled.operation.type, this.descriptor.noun, ctx.at.name)} failed`);
      case 'succeeded':
        ctx.completedOperation = polled.operation;
        return undefined;
      default:
        return undefined;
    }
  }

  /** Phase 5: the resource in Azure. */
  private async read(ctx: Context, resource: AzureResource): Promise<ReadResult<Resource> | { result: ReconcileResult }> {
    try {
      return await resource.read();
    } catch (e) {
      return { result: await failed(ctx.status, classifyAzureError(e), `reading ${this.descriptor.noun} ${ctx.at.name} failed`) };
    }
  }

  /** A child whose server Azure no longer has: it waits (the server's own controller creates it again). */
  private parentGone(ctx: Context): Promise<ReconcileResult> {
    ctx.status.set('azureResourceId', undefined);
    const server = ctx.at.parents[ctx.at.parents.length - 1];
    return waiting(ctx.status, Reason.WaitingForServer, `server ${server} is not in Azure (any more); waiting for it`, ctx.timing);
  }

  /** Phase 6: absent in Azure: the steps prepare, then the create request is sent (once: it is followed after). */
  private async create(ctx: Context, resource: AzureResource, steps: Step[]): Promise<ReconcileResult> {
    const d = this.descriptor;
    ctx.status.set('azureResourceId', undefined);
    const body = d.createBody(ctx);
    for (const step of steps) {
      const stop = await step.beforeCreate?.(body);
      if (stop) return stop;
    }
    const what = describeOperation('Create', d.noun, ctx.at.name);
    ctx.log.info({ key: keyString(ctx.object.metadata), resource: ctx.resourceId }, what);
    const started = await resource.startCreate(body, { generation: ctx.object.metadata.generation, secrets: ctx.secrets });
    if (started.status === 'failed' && resource.isParentGone(started.error)) return this.parentGone(ctx);
    const ended = await afterStart(ctx, started, what);
    if (ended) return ended;
    ctx.completedOperation = { type: 'Create', startedAt: new Date().toISOString(), generation: ctx.object.metadata.generation };
    return this.readBack(ctx, resource, steps, `${d.noun} ${ctx.at.name} created`);
  }

  /** After a write Azure finished at once: go on with what Azure now has. */
  private async readBack(ctx: Context, resource: AzureResource, steps: Step[], done: string): Promise<ReconcileResult> {
    const read = await this.read(ctx, resource);
    if ('result' in read) return read.result;
    if (read.status !== 'found') return progress(ctx.status, Reason.Creating, `${done}; reading it`, ctx.timing);
    return this.converge(ctx, resource, steps, read.resource, true);
  }

  /** Phases 7 to 9: present in Azure. */
  private async converge(ctx: Context, resource: AzureResource, steps: Step[], found: Resource, justWritten = false): Promise<ReconcileResult> {
    const d = this.descriptor;
    const { status } = ctx;
    const refused = this.checkOwnership(ctx, found);
    if (refused) return refused;
    status.set('azureResourceId', found.id);
    for (const [field, value] of Object.entries(d.statusOf?.(found) ?? {})) status.set(field as keyof ArmStatus, value as never);

    let patch: Record<string, unknown> = {};
    const fields: string[] = [];
    for (const step of steps) {
      const decision = await step.whenFound?.(found);
      if (decision && 'stop' in decision) return decision.stop;
      if (decision?.patch) patch = { ...patch, ...decision.patch };
      fields.push(...(decision?.fields ?? []));
    }
    const azureState = d.azureState?.(found);
    if (azureState) {
      if (azureState.failure) return userProblem(status, azureState.reason, azureState.message);
      return waiting(status, azureState.reason, azureState.message, ctx.timing);
    }
    const comparison = d.compare(ctx, found);
    if (comparison.unsupported.length > 0) {
      return userProblem(status, Reason.UnsupportedChange,
        comparison.unsupported.map((u) => `${u.field}: Azure has ${u.azure}, spec asks ${u.desired}; ${u.why}`).join('; ') +
        `. Revert the field (or create a new ${this.kind}); nothing is changed in Azure until then.`);
    }
    patch = { ...(comparison.patch ?? {}), ...patch };
    fields.unshift(...comparison.changes.map((c) => c.field));
    if (Object.keys(patch).length > 0) {
      if (!justWritten) return this.update(ctx, resource, steps, patch, fields);
      return progress(status, Reason.Updating, `${d.noun} ${ctx.at.name} written; Azure does not show all of it yet (${fields.join(', ')})`, ctx.timing);
    }

    for (const step of steps) {
      const stop = await step.whenInSync?.(found);
      if (stop) return stop;
    }
    return available(status, d.availableMessage(ctx, found));
  }

  /** Phase 7: ours, adopted, or refused (only kinds whose owner is in Azure's tags). */
  private checkOwnership(ctx: Context, found: Resource): Promise<ReconcileResult> | undefined {
    const d = this.descriptor;
    if (d.ownership !== 'tags') return undefined;
    const what = `Azure ${d.noun} ${ctx.at.name} in resource group ${ctx.at.resourceGroup}`;
    const verdict = judgeOwnership(ctx.env, this.kind, ctx.object, found.tags, what);
    if (verdict.verdict === 'refused') {
      ctx.status.set('azureResourceId', undefined);
      ctx.log.warn({ key: keyString(ctx.object.metadata), resource: ctx.resourceId, reason: verdict.reason }, 'not taking over an Azure resource');
      return userProblem(ctx.status, verdict.reason, verdict.message);
    }
    if (verdict.verdict === 'adopt') {
      ctx.adopting = true;
      ctx.status.set('adopted', true);
      ctx.env.kube.event(ctx.object, 'Normal', 'Adopted', `taking over ${what}`);
    }
    return undefined;
  }

  /** Phase 8: only what differs is sent, in one request. */
  private async update(
    ctx: Context,
    resource: AzureResource,
    steps: Step[],
    patch: Record<string, unknown>,
    fields: string[],
  ): Promise<ReconcileResult> {
    const d = this.descriptor;
    const what = `${describeOperation('Update', d.noun, ctx.at.name)} (${fields.join(', ')})`;
    ctx.log.info({ key: keyString(ctx.object.metadata), resource: ctx.resourceId, fields }, `updating ${d.noun}`);
    const started = await resource.startUpdate(patch, { generation: ctx.object.metadata.generation, secrets: ctx.secrets });
    const ended = await afterStart(ctx, started, what);
    if (ended) return ended;
    ctx.completedOperation = { type: 'Update', startedAt: new Date().toISOString(), generation: ctx.object.metadata.generation };
    return this.readBack(ctx, resource, steps, `${d.noun} ${ctx.at.name} updated`);
  }
}
