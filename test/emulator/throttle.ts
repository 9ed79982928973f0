/**
 * ARM's request throttling (the token-bucket algorithm ARM moved to in 2024): per subscription and principal, one
 * bucket each for reads, writes and deletes, refilled continuously; and per subscription, across all principals, a
 * global bucket 15 times as large (and as fast). Every answer carries
 * x-ms-ratelimit-remaining-subscription-{reads,writes,deletes} (the principal's bucket) and
 * x-ms-ratelimit-remaining-subscription-global-{reads,writes,deletes} (the global one), as real answers do (e.g. 249 and
 * 3749 for a first read); an empty bucket answers 429 with Retry-After.
 */

export interface BucketSpec {
  /** Bucket size: the requests allowed in a burst. */
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
}

export interface ThrottlingOptions {
  reads?: BucketSpec;
  writes?: BucketSpec;
  deletes?: BucketSpec;
}

export type RequestClass = 'reads' | 'writes' | 'deletes';

export const DEFAULT_THROTTLING: Required<ThrottlingOptions> = {
  reads: { burst: 250, perSecond: 25 },
  writes: { burst: 200, perSecond: 10 },
  deletes: { burst: 200, perSecond: 10 },
};

export function classOf(method: string): RequestClass {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD' || m === 'OPTIONS') return 'reads';
  if (m === 'DELETE') return 'deletes';
  return 'writes';
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The global (all principals) bucket of a subscription is this many times the principal's. */
export const GLOBAL_FACTOR = 15;

export interface ThrottleDecision {
  allowed: boolean;
  cls: RequestClass;
  /** Tokens left in the principal's bucket. */
  remaining: number;
  /** Tokens left in the subscription's global bucket. */
  globalRemaining: number;
  retryAfterSeconds: number;
}

export class Throttler {
  private spec: Required<ThrottlingOptions>;
  private enabled: boolean;
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: false | ThrottlingOptions | undefined) {
    this.enabled = opts !== false;
    this.spec = { ...DEFAULT_THROTTLING, ...(opts || {}) };
  }

  configure(opts: false | ThrottlingOptions | undefined): void {
    this.enabled = opts !== false;
    this.spec = { ...DEFAULT_THROTTLING, ...(opts || {}) };
    this.buckets.clear();
  }

  describe(): false | Required<ThrottlingOptions> {
    return this.enabled ? this.spec : false;
  }

  reset(): void {
    this.buckets.clear();
  }

  /** Takes one token for (subscription, principal, class) and one from the subscription's global bucket. With throttling off it never refuses. */
  take(subscriptionId: string, principal: string, method: string): ThrottleDecision {
    const cls = classOf(method);
    const spec = this.spec[cls];
    const global = { burst: spec.burst * GLOBAL_FACTOR, perSecond: spec.perSecond * GLOBAL_FACTOR };
    if (!this.enabled) return { allowed: true, cls, remaining: spec.burst - 1, globalRemaining: global.burst - 1, retryAfterSeconds: 0 };
    const sub = subscriptionId.toLowerCase();
    const now = Date.now();
    const mine = this.refill(`${sub}/${principal}/${cls}`, spec, now);
    const all = this.refill(`${sub}/*/${cls}`, global, now);
    if (mine.tokens >= 1 && all.tokens >= 1) {
      mine.tokens -= 1;
      all.tokens -= 1;
      return { allowed: true, cls, remaining: Math.floor(mine.tokens), globalRemaining: Math.floor(all.tokens), retryAfterSeconds: 0 };
    }
    const wait = (b: Bucket, sp: BucketSpec) => (b.tokens >= 1 ? 0 : Math.ceil((1 - b.tokens) / Math.max(sp.perSecond, 0.001)));
    const retryAfterSeconds = Math.max(1, wait(mine, spec), wait(all, global));
    return { allowed: false, cls, remaining: Math.floor(mine.tokens), globalRemaining: Math.floor(all.tokens), retryAfterSeconds };
  }

  private refill(key: string, spec: BucketSpec, now: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: spec.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(spec.burst, b.tokens + ((now - b.at) / 1000) * spec.perSecond);
    b.at = now;
    return b;
  }
}
