/**
 * Deletion by policy. The finalizer holds the object until Azure is done with it, and a delete is reported done only
 * when it is: the resource (or its whole server) is gone from Azure. While Azure cannot be asked (the server stopped,
 * busy, unreachable), the finalizer stays and the Ready condition says why.
 *
 *  - A resource group outside the namespace's scope (--namespace-scopes): nothing is asked of Azure and nothing
 *    is deleted there; the finalizer goes with a Warning Event that says so (the namespace cannot change the scope, and
 *    a finalizer kept would hold the object, and its namespace, until the cluster admin does).
 *  - An operation in flight is followed to its end first.
 *  - `Retain` (a child without a policy inherits its server's): left in Azure; steps run before the finalizer goes
 *    (a retained server's admin Secret is released, so that Kubernetes does not delete the only copy of its password).
 *  - A child another object manages (ownership.ts), or a server whose owner tags are not this object's: left in Azure.
 *  - Otherwise the resource is deleted in Azure (an operation, polled) and the finalizer goes when Azure reports it
 *    gone (the delete operation succeeded, or a read finds nothing), or reports its parent gone and the parent is
 *    indeed gone. A kind that writes without reading (descriptor.ts) is not read before its DELETE.
 */
import { ArmResource } from '../../azure/resource';
import { resourceIdOf } from '../../azure/resource-id';
import { FINALIZER, keyString, type ReconcileResult } from '../../contracts';
import { classifyAzureError } from '../../errors/classify';
import { hasFinalizer, namespaceEnv, Reason, StatusBuilder } from '../common';
import { isOwnedBy } from './adoption';
import type { AnyArmKindDescriptor, ArmObject, ArmStatus, DeletionEnding, LifecycleContext, LifecycleServices } from './descriptor';
import { describeOperation, followRecordedOperation, recordRunning } from './operations';
import { failed, progress } from './outcome';
import { managedByAnother } from './ownership';
import { outsideScope } from './scope';

type Ending = DeletionEnding;

export class Deletion {
  constructor(private readonly services: LifecycleServices, private readonly descriptor: AnyArmKindDescriptor) {}

  async run(obj: ArmObject): Promise<ReconcileResult> {
    if (!hasFinalizer(obj, FINALIZER)) return {};
    const { env, tenancy, log, timing, memory, polls } = this.services;
    const azure = tenancy.forNamespace(obj.metadata.namespace);
    const d = this.descriptor;
    const spec = d.normalize(obj);
    const status = new StatusBuilder<ArmStatus>(env, obj, memory);
    const at = d.placeForDeletion(env, obj, spec);
    const { policy, inheritedFrom } = d.deletionPolicy(env, obj, spec);
    const ctx: LifecycleContext<unknown> = {
      env: namespaceEnv(env, azure),
      arm: azure.arm,
      log,
      timing,
      object: obj,
      spec,
      status,
      at: at ?? { resourceGroup: '', parents: [], name: d.azureName(spec) ?? '' },
      resourceId: at ? resourceIdOf(azure.subscriptionId, d.armType, at) : '',
      adopting: false,
      secrets: [],
      polls,
    };
    const end = (ending: Ending, message: string) => this.end(ctx, ending, message);
    const name = `${d.noun} ${ctx.at.name}`;
    if (!at) return end('Deleted', 'nothing was created in Azure');
    const outside = outsideScope(env, d, obj, spec, at, azure.subscriptionId, true);
    if (outside) {
      await status.commit();
      return this.end(ctx, 'NotDeleted', `nothing was deleted in Azure (${name} is left there, if it exists): ${outside}`, 'Warning');
    }

    const resource = new ArmResource(d.operations(ctx.arm.clients.postgres, at), at.parents.length > 0);
    const followed = await followRecordedOperation(ctx, resource, d.noun, (op) =>
      op.type === 'Delete'
        ? `${describeOperation('Delete', d.noun, at.name)} (Azure operation in progress)`
        : `waiting for the ${op.type.toLowerCase()} of ${name} to end before deleting it`);
    if (followed.ended === 'running') return followed.result;
    if (followed.ended === 'failed' && followed.operation.type === 'Delete') {
      return failed(status, classifyAzureError(followed.error), `deleting ${name} failed`);
    }
    if (followed.ended === 'succeeded' && followed.operation.type === 'Delete') {
      await status.commit();
      return end('Deleted', `${name} is gone from Azure`);
    }

    if (policy === 'Retain') {
      await status.commit();
      const inherited = inheritedFrom ? ` (inherited from ${inheritedFrom})` : '';
      return end('Retained', `deletionPolicy Retain${inherited}: ${name} is left in Azure`);
    }
    if (d.ownership === 'one-per-name') {
      const manager = managedByAnother(env, d, obj, at);
      if (manager) {
        await status.commit();
        return end('NotDeleted', `${name} is managed by ${d.kind} ${manager.metadata.namespace}/${manager.metadata.name}; left in Azure`);
      }
    }
    const waitFor = d.deletionWaitsFor?.(env, obj);
    if (waitFor) return progress(status, Reason.Deleting, `${name} is deleted after ${waitFor}`, timing);
    return this.deleteInAzure(ctx, resource, name, end);
  }

  private async deleteInAzure(
    ctx: LifecycleContext<unknown>,
    resource: ArmResource<{ tags?: Record<string, string> }, unknown, unknown>,
    name: string,
    end: (ending: Ending, message: string) => Promise<ReconcileResult>,
  ): Promise<ReconcileResult> {
    const d = this.descriptor;
    const { status } = ctx;
    if (!d.writesWithoutReading) {
      let read;
      try {
        read = await resource.read();
      } catch (e) {
        return failed(status, classifyAzureError(e), `${name} is not deleted yet: reading it failed`);
      }
      if (read.status === 'absent') {
        await status.commit();
        return end('Deleted', `${name} is gone from Azure`);
      }
      if (read.status === 'parentGone') return this.parentGone(ctx, name, end);
      if (d.ownership === 'tags' && !isOwnedBy(ctx.env, ctx.object, read.resource.tags)) {
        await status.commit();
        return end('NotDeleted', `${name} was not created (or adopted) by this ${d.kind}; left in Azure`);
      }
    }
    ctx.log.info({ key: keyString(ctx.object.metadata), resource: ctx.resourceId }, `deleting ${d.noun}`);
    const step = await resource.startDelete({ generation: ctx.object.metadata.generation });
    if (step.status === 'running') return recordRunning(ctx, step.operation, `${describeOperation('Delete', d.noun, ctx.at.name)} (Azure operation in progress)`, step.retryAfterMs);
    if (step.status === 'failed') {
      if (step.error.statusCode === 404) return this.parentGone(ctx, name, end);
      return failed(status, classifyAzureError(step.error), `deleting ${name} failed`);
    }
    if (step.status === 'succeeded') {
      await status.commit();
      return end('Deleted', `${name} is gone from Azure`);
    }
    // Accepted without an operation to follow: confirm by reading it next time.
    return progress(status, Reason.Deleting, `${describeOperation('Delete', d.noun, ctx.at.name)}: confirming that it is gone`, ctx.timing);
  }

  /** Azure says the resource (or its parent) is not there: done, once the parent is confirmed gone too. */
  private async parentGone(
    ctx: LifecycleContext<unknown>,
    name: string,
    end: (ending: Ending, message: string) => Promise<ReconcileResult>,
  ): Promise<ReconcileResult> {
    const d = this.descriptor;
    const parent = ctx.at.parents[ctx.at.parents.length - 1];
    if (!d.parentExists || !parent) {
      await ctx.status.commit();
      return end('Deleted', `${name} is gone from Azure`);
    }
    let exists: boolean;
    try {
      exists = await d.parentExists(ctx.arm, ctx.at);
    } catch (e) {
      return failed(ctx.status, classifyAzureError(e), `${name} is not deleted yet: reading its server ${parent} failed`);
    }
    if (exists) {
      return failed(ctx.status, { class: 'transient', source: 'azure', code: 'ParentResourceNotFound', reason: 'ParentResourceNotFound', message: `Azure answered that server ${parent} is gone, but it is there; trying again` },
        `${name} is not deleted yet`);
    }
    await ctx.status.commit();
    return end('Deleted', `server ${parent} is gone from Azure, and ${name} with it`);
  }

  private async end(ctx: LifecycleContext<unknown>, ending: Ending, message: string, type: 'Normal' | 'Warning' = 'Normal'): Promise<ReconcileResult> {
    const { env, memory } = this.services;
    for (const step of this.descriptor.steps?.(ctx) ?? []) await step.beforeFinalizerRemoved?.(ending);
    env.kube.event(ctx.object, type, ending, message);
    await env.kube.removeFinalizer(ctx.object, FINALIZER);
    memory.forget(ctx.object.metadata);
    this.services.polls.forget(ctx.object.metadata.uid);
    return {};
  }
}
