/**
 * Azure long-running operations in the lifecycle: the one recorded in status is polled once per reconcile and its
 * request is never sent again; an operation just started is recorded (status.operation) before the reconcile ends.
 */
import type { AzureError } from '../../azure/errors';
import type { LroStep } from '../../azure/lro';
import type { ArmResource } from '../../azure/resource';
import type { OperationStatus, ReconcileResult } from '../../contracts';
import { classifyAzureError } from '../../errors/classify';
import { pollDelay, Reason } from '../common';
import type { LifecycleContext } from './descriptor';
import { failed, progress } from './outcome';

const VERB: Record<OperationStatus['type'], string> = { Create: 'creating', Update: 'updating', Delete: 'deleting' };
const REASON: Record<OperationStatus['type'], string> = { Create: Reason.Creating, Update: Reason.Updating, Delete: Reason.Deleting };

/** "creating database shop", "updating server srv-1". */
export function describeOperation(type: OperationStatus['type'], noun: string, name: string): string {
  return `${VERB[type]} ${noun} ${name}`;
}

/** How the recorded operation ended, when it did. */
export type FollowedOperation =
  | { readonly ended: 'nothing' }
  | { readonly ended: 'running'; readonly result: ReconcileResult }
  | { readonly ended: 'succeeded'; readonly operation: OperationStatus }
  | { readonly ended: 'failed'; readonly operation: OperationStatus; readonly error: AzureError }
  /** Azure no longer knows it: read the resource afresh. */
  | { readonly ended: 'lost'; readonly operation: OperationStatus };

/**
 * Polls the operation recorded in status once. While it runs the reconcile ends here (`message` says what waits for
 * it); once it ended it is removed from status and the caller decides what its end means.
 */
export async function followRecordedOperation(
  ctx: LifecycleContext<unknown>,
  resource: ArmResource<unknown, unknown, unknown>,
  noun: string,
  message?: (operation: OperationStatus) => string,
): Promise<FollowedOperation> {
  const operation = ctx.status.status.operation;
  if (!operation) return { ended: 'nothing' };
  const wait = ctx.polls?.wait(ctx.object.metadata.uid) ?? 0;
  if (wait > 0) {
    // Asked again before its answer can have changed: look then, without a read.
    await ctx.status.commit();
    return { ended: 'running', result: { requeueAfterMs: wait } };
  }
  const step = await resource.resume(operation);
  if (step.status === 'running') {
    const what = message?.(step.operation) ?? `${describeOperation(step.operation.type, noun, ctx.at.name)} (Azure operation in progress)`;
    return { ended: 'running', result: await recordRunning(ctx, step.operation, what, step.retryAfterMs) };
  }
  ctx.status.setOperation(undefined);
  if (step.status === 'succeeded') {
    ctx.log.info({ resource: ctx.resourceId, operation: operation.type }, 'Azure operation succeeded');
    return { ended: 'succeeded', operation };
  }
  if (step.status === 'failed') return { ended: 'failed', operation, error: step.error };
  return { ended: 'lost', operation };
}

/** Records an operation in flight in status and says when to poll it. */
export function recordRunning(
  ctx: LifecycleContext<unknown>,
  operation: OperationStatus,
  message: string,
  retryAfterMs?: number,
): Promise<ReconcileResult> {
  ctx.status.setOperation(operation);
  ctx.polls?.set(ctx.object.metadata.uid, pollDelay(ctx.timing, retryAfterMs));
  return progress(ctx.status, REASON[operation.type], message, ctx.timing, retryAfterMs);
}

/**
 * After a request was sent: a result that ends the reconcile (the operation runs, or Azure refused it), or undefined
 * when Azure finished it at once.
 */
export async function afterStart(ctx: LifecycleContext<unknown>, step: LroStep<unknown>, what: string): Promise<ReconcileResult | undefined> {
  switch (step.status) {
    case 'running':
      return recordRunning(ctx, step.operation, `${what} (Azure operation in progress)`, step.retryAfterMs);
    case 'failed':
    case 'lost':
      return failed(ctx.status, classifyAzureError(step.error), `${what} failed`);
    default:
      return undefined;
  }
}
