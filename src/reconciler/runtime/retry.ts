/**
 * When a key is reconciled again, from what its reconcile reported (contracts.ts ReconcileResult). Controllers say what
 * happened; this decides when to look again, so that retry policy lives in one place:
 *
 * | Reported                              | Next reconcile                                                       |
 * |---------------------------------------|----------------------------------------------------------------------|
 * | `{}`                                  | on a change, or after the resync period; the key's backoff is reset |
 * | `{ requeueAfterMs }` (polling)        | after that delay; the key's backoff is reset                         |
 * | `{ requeueAfterMs: 0 }`               | at once, through the work queue's rate limiter                       |
 * | `failure: 'transient'`                | per-key exponential backoff (1 s doubling to 5 min), at least `requeueAfterMs` |
 * | `failure: 'throttled'`                | after `requeueAfterMs` (Retry-After); the backoff does not grow      |
 * | `failure: 'userError'`                | after the user-error period (5 min), at least the backoff; and on any change |
 * | `failure: 'invalidSpec'`              | only when the object changes (a new generation)                      |
 * | thrown                                | the work queue's rate limiter (5 ms doubling, as controller-runtime) |
 *
 * As controller-runtime (a reconcile returning RequeueAfter is Forget()-ten): the backoff of a key grows only across
 * consecutive failures. A poll that got an answer ("still running, look again in N s") is progress, so a transient
 * error on the next poll backs off from the base again; otherwise a few errors spread over a long operation add up,
 * and under a steady error rate the delay climbs to the ceiling although every request in between succeeded.
 * Throttling neither grows nor resets it.
 */
import type { ReconcileResult } from '../contracts';
import { ItemExponentialBackoff } from './ratelimit';

export interface RetryOptions {
  /** First retry after a transient failure (default 1 s). */
  readonly transientBaseMs?: number;
  /** Ceiling of the transient backoff (default 5 min). */
  readonly transientMaxMs?: number;
  /** Retry after a user error (default 5 min). */
  readonly userErrorMs?: number;
  /** Random spread of delays (default 0.1). */
  readonly jitter?: number;
  readonly random?: () => number;
}

export const DEFAULT_RETRY: Required<Omit<RetryOptions, 'random'>> = {
  transientBaseMs: 1_000,
  transientMaxMs: 5 * 60_000,
  userErrorMs: 5 * 60_000,
  jitter: 0.1,
};

/** What the runner does with a key after its reconcile, and the reconcile_total result label. */
export type NextReconcile =
  | { readonly action: 'resync'; readonly result: 'success' }
  | { readonly action: 'after'; readonly delayMs: number; readonly result: 'requeue_after' | 'error' }
  | { readonly action: 'rateLimited'; readonly result: 'requeue' }
  | { readonly action: 'onChange'; readonly result: 'error' };

export class RetryPolicy {
  private readonly backoff: ItemExponentialBackoff;
  private readonly userErrorMs: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(opts: RetryOptions = {}) {
    const o = { ...DEFAULT_RETRY, ...opts };
    this.backoff = new ItemExponentialBackoff({
      baseDelayMs: o.transientBaseMs,
      maxDelayMs: o.transientMaxMs,
      jitter: o.jitter,
      random: opts.random,
    });
    this.userErrorMs = o.userErrorMs;
    this.jitter = o.jitter;
    this.random = opts.random ?? Math.random;
  }

  next(key: string, result: ReconcileResult): NextReconcile {
    const atLeast = result.requeueAfterMs ?? 0;
    switch (result.failure) {
      case undefined:
        if (result.requeueAfterMs === undefined) {
          this.backoff.forget(key);
          return { action: 'resync', result: 'success' };
        }
        if (result.requeueAfterMs <= 0) return { action: 'rateLimited', result: 'requeue' };
        this.backoff.forget(key);
        return { action: 'after', delayMs: result.requeueAfterMs, result: 'requeue_after' };
      case 'transient':
        return { action: 'after', delayMs: Math.max(atLeast, this.backoff.when(key)), result: 'error' };
      case 'throttled':
        return { action: 'after', delayMs: result.requeueAfterMs ?? this.spread(1000), result: 'requeue_after' };
      case 'userError':
        return { action: 'after', delayMs: Math.max(atLeast, this.spread(this.userErrorMs), this.backoff.when(key)), result: 'error' };
      case 'invalidSpec':
        this.backoff.forget(key);
        return { action: 'onChange', result: 'error' };
    }
  }

  /** Consecutive failures of `key` since its last success. */
  failures(key: string): number {
    return this.backoff.numRequeues(key);
  }

  forget(key: string): void {
    this.backoff.forget(key);
  }

  private spread(ms: number): number {
    return ms * (1 + this.jitter * this.random());
  }
}
