/**
 * ARM's request throttling (the token-bucket algorithm ARM moved to in 2024): per subscription and principal, one
 * bucket each for reads, writes and deletes, refilled continuously. Every answer carries
 * x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}; an empty bucket answers 429 with Retry-After.
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

export interface ThrottleDecision {
  allowed: boolean;
  cls: RequestClass;
  remaining: number;
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

  /** Takes one token for (subscription, principal, class). With throttling off it never refuses. */
  take(subscriptionId: string, principal: string, method: string): ThrottleDecision {
    const cls = classOf(method);
    const spec = this.spec[cls];
    if (!this.enabled) return { allowed: true, cls, remaining: spec.burst - 1, retryAfterSeconds: 0 };
    const key = `${subscriptionId.toLowerCase()}/${principal}/${cls}`;
    const now = Date.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: spec.burst, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(spec.burst, b.tokens + ((now - b.at) / 1000) * spec.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { allowed: true, cls, remaining: Math.floor(b.tokens), retryAfterSeconds: 0 };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - b.tokens) / Math.max(spec.perSecond, 0.001)));
    return { allowed: false, cls, remaining: 0, retryAfterSeconds };
  }
}
