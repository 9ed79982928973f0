/**
 * Rate limiters of the work queue, as client-go's workqueue.DefaultTypedControllerRateLimiter: the delay before a
 * failed key is retried is the larger of a per-key exponential backoff and a global token bucket's wait.
 */

export interface Clock {
  now(): number;
}

export const realClock: Clock = { now: () => Date.now() };

export interface BackoffOptions {
  /** First retry delay (default 5 ms, as controller-runtime). */
  readonly baseDelayMs?: number;
  /** Ceiling (default 5 min). */
  readonly maxDelayMs?: number;
  /**
   * Random spread as a fraction of the delay (default 0.1: the delay is in [d, d*1.1], capped at the ceiling), so that
   * many keys failing together (e.g. ARM throttling) do not retry in lockstep.
   */
  readonly jitter?: number;
  /** Injectable randomness for tests, returns [0, 1). */
  readonly random?: () => number;
}

/** Per-key exponential backoff: base * 2^failures, capped; reset by forget(). */
export class ItemExponentialBackoff {
  private readonly failures = new Map<string, number>();
  private readonly base: number;
  private readonly max: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.base = opts.baseDelayMs ?? 5;
    this.max = opts.maxDelayMs ?? 5 * 60_000;
    this.jitter = opts.jitter ?? 0.1;
    this.random = opts.random ?? Math.random;
  }

  /** Delay for the next retry of `key`; counts one more failure. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    // 2^n overflows to Infinity long after the cap is hit; Math.min keeps it finite.
    const raw = Math.min(this.max, this.base * Math.pow(2, n));
    return Math.min(this.max, raw * (1 + this.jitter * this.random()));
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

export interface TokenBucketOptions {
  /** Sustained rate (default 10 per second). */
  readonly qps?: number;
  /** Bucket size (default 100). */
  readonly burst?: number;
  readonly clock?: Clock;
}

/**
 * golang.org/x/time/rate's Reserve(): every call takes a token now or later, and returns how long the caller must wait
 * for it. Tokens may go negative, which is what spaces out a burst of retries at `qps`.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;

  constructor(opts: TokenBucketOptions = {}) {
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.clock = opts.clock ?? realClock;
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  /** Milliseconds until the token taken by this call is available (0: now). */
  reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
}

/** max(per-key backoff, global bucket), as workqueue.NewTypedMaxOfRateLimiter. */
export class ControllerRateLimiter {
  readonly backoff: ItemExponentialBackoff;
  readonly bucket: TokenBucket;

  constructor(opts: BackoffOptions & TokenBucketOptions = {}) {
    this.backoff = new ItemExponentialBackoff(opts);
    this.bucket = new TokenBucket(opts);
  }

  when(key: string): number {
    // Both are always consulted: the bucket must account for every retry, even when the backoff is longer.
    const a = this.backoff.when(key);
    const b = this.bucket.reserve();
    return Math.max(a, b);
  }

  numRequeues(key: string): number {
    return this.backoff.numRequeues(key);
  }

  forget(key: string): void {
    this.backoff.forget(key);
  }
}
