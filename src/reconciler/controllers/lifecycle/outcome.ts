/**
 * How a reconcile ends: the Ready condition that says why, committed, and the result the runtime retries by. Every
 * phase of the lifecycle ends through one of these, so that a failure of one class always looks and retries the same.
 */
import type { ReconcileResult } from '../../contracts';
import type { ClassifiedError } from '../../errors/classify';
import { jitter, pollDelay, Reason, type StatusBuilder, type Timing } from '../common';
import type { ArmStatus } from './descriptor';

type Status = StatusBuilder<ArmStatus>;

/** Done and Ready: the next look is on a change or at the resync period. */
export async function available(status: Status, message: string): Promise<ReconcileResult> {
  status.ready('True', Reason.Available, message);
  await status.commit();
  return {};
}

/** The spec is invalid: not retried until it changes. */
export async function invalidSpec(status: Status, message: string): Promise<ReconcileResult> {
  status.ready('False', Reason.InvalidSpec, message);
  await status.commit();
  return { failure: 'invalidSpec' };
}

/** Something to wait for (a parent, Azure busy with something else): looked at again soon, not a failure. */
export async function waiting(status: Status, reason: string, message: string, timing: Timing): Promise<ReconcileResult> {
  status.ready('False', reason, message);
  await status.commit();
  return { requeueAfterMs: jitter(timing.waitMs) };
}

/** Progress to poll: an operation in flight, or a write Azure finished at once that is to be read back. */
export async function progress(status: Status, reason: string, message: string, timing: Timing, retryAfterMs?: number): Promise<ReconcileResult> {
  status.ready('False', reason, message);
  await status.commit();
  return { requeueAfterMs: pollDelay(timing, retryAfterMs) };
}

/** A problem the user must fix (UnsupportedChange, AlreadyExists, Conflict...): retried slowly and on any change. */
export async function userProblem(status: Status, reason: string, message: string): Promise<ReconcileResult> {
  status.ready('False', reason, message);
  await status.commit();
  return { failure: 'userError' };
}

/**
 * A classified failure. Throttling changes nothing in status (it is no error) and waits for Retry-After; anything
 * else shows the service's code as the reason and `<context>: <service> <code>: <message>`.
 */
export async function failed(status: Status, error: ClassifiedError, context: string): Promise<ReconcileResult> {
  if (error.class === 'throttled') {
    // What this reconcile learned (an operation that ended) is kept; the Ready condition is not touched.
    await status.commit();
    return { requeueAfterMs: jitter(Math.max(error.retryAfterMs ?? 1000, 1000), 0.2), failure: 'throttled' };
  }
  const service = error.source === 'azure' ? 'Azure' : error.source === 'postgres' ? 'PostgreSQL' : error.source === 'kubernetes' ? 'Kubernetes' : 'reconciler';
  status.ready('False', error.reason, `${context}: ${service} ${error.code}: ${error.message}`);
  await status.commit();
  return { failure: error.class, ...(error.retryAfterMs !== undefined ? { requeueAfterMs: error.retryAfterMs } : {}) };
}
