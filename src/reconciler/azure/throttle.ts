/**
 * Client-side pacing and throttling for Azure Resource Manager, as one SDK pipeline policy that replaces the SDK's
 * default retry policy.
 *
 * Why not the SDK default: core-rest-pipeline's defaultRetryPolicy honours Retry-After on 429/503, but per request
 * only (every other in-flight request keeps hitting the throttled subscription), it sleeps however long Retry-After
 * says (minutes, inside a reconcile worker), it does not retry a 429 without Retry-After at all, and it ignores the
 * x-ms-ratelimit-remaining-* headers, so a burst of 1000 new resources drains the bucket and then bounces off 429s
 * (cf. Azure/azure-service-operator#2591, #2643).
 *
 * This policy, shared by every ARM client of one subscription:
 *  - classifies each request into ARM's buckets (GET/HEAD: reads; DELETE: deletes; everything else: writes);
 *  - paces: reads x-ms-ratelimit-remaining-subscription-{reads,writes,deletes} (and the -global- variants) from every
 *    response and, when the remaining budget of a bucket falls below `lowWater`, spaces requests of that bucket out,
 *    the more the lower it gets (up to `maxIntervalMs` between two requests when it reaches 0);
 *  - on 429, closes the gate of that bucket for Retry-After (retry-after-ms / x-ms-retry-after-ms / Retry-After in
 *    seconds or an HTTP date; exponential from 1s when absent) so every request of that bucket waits, then retries;
 *  - on 503/500/502/504/408 and network errors, retries with Retry-After or exponential backoff;
 *  - never blocks a caller for longer than `maxInlineWaitMs`: a longer wait throws ArmThrottledError carrying the
 *    delay, which a controller turns into requeueAfter (the worker is freed, nothing is lost: nothing was sent);
 *  - reports every response (each attempt) through `onResponse` for the metrics.
 */
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';

export type ArmBucket = 'reads' | 'writes' | 'deletes';

export interface PacingOptions {
  /** Remaining budget below which requests of a bucket are spaced out. */
  lowWater: number;
  /** Interval between two requests of a bucket when its remaining budget is 0. */
  maxIntervalMs: number;
  /** Longest a request waits inline (pacing, gate or retry delay); longer waits throw ArmThrottledError. */
  maxInlineWaitMs: number;
  /** Retries after the first attempt (429, 5xx, 408, network errors). */
  maxRetries: number;
  /** First backoff when the server gives no Retry-After. */
  baseBackoffMs: number;
}

export const DEFAULT_PACING: PacingOptions = {
  lowWater: 50,
  maxIntervalMs: 2_000,
  maxInlineWaitMs: 15_000,
  maxRetries: 4,
  baseBackoffMs: 1_000,
};

/** ARM is throttling: try again after `retryAfterMs`. Nothing was sent for the attempt that raised this. */
export class ArmThrottledError extends Error {
  override readonly name = 'ArmThrottledError';
  constructor(readonly retryAfterMs: number, readonly statusCode?: number) {
    super(`Azure Resource Manager is throttling requests; retrying in ${Math.ceil(retryAfterMs / 1000)}s`);
  }
}

export function isArmThrottledError(e: unknown): e is ArmThrottledError {
  return e instanceof Error && e.name === 'ArmThrottledError' && typeof (e as ArmThrottledError).retryAfterMs === 'number';
}

export function bucketOf(method: string): ArmBucket {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'reads';
  if (m === 'DELETE') return 'deletes';
  return 'writes';
}

interface HeaderSource {
  get(name: string): string | undefined;
}

/** Retry-After in ms from retry-after-ms, x-ms-retry-after-ms or Retry-After (seconds or HTTP date); undefined when absent. */
export function parseRetryAfterMs(headers: HeaderSource, now = Date.now()): number | undefined {
  for (const h of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = headers.get(h);
    if (v !== undefined && v.trim() !== '' && Number.isFinite(Number(v))) return Math.max(0, Number(v));
  }
  const ra = headers.get('retry-after');
  if (ra === undefined || ra.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.max(0, Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** The lowest remaining budget the response reports for `bucket` (regional and global headers), if any. */
export function parseRemaining(headers: HeaderSource, bucket: ArmBucket): number | undefined {
  let min: number | undefined;
  for (const h of [`x-ms-ratelimit-remaining-subscription-${bucket}`, `x-ms-ratelimit-remaining-subscription-global-${bucket}`]) {
    const v = headers.get(h);
    if (v === undefined) continue;
    const n = Number(v);
    if (Number.isFinite(n)) min = min === undefined ? n : Math.min(min, n);
  }
  return min;
}

/** Shared pacing state of one subscription (all clients, all workers). */
export class ArmPacer {
  readonly options: PacingOptions;
  private readonly remaining: Record<ArmBucket, number | undefined> = { reads: undefined, writes: undefined, deletes: undefined };
  private readonly nextSlot: Record<ArmBucket, number> = { reads: 0, writes: 0, deletes: 0 };
  private readonly blockedUntil: Record<ArmBucket, number> = { reads: 0, writes: 0, deletes: 0 };
  /**
   * Request (method and path) -> when Azure said it may be sent again. A Retry-After on a 503 is about the resource
   * asked for, so it holds back every worker that asks for it (servers of one resource group all read that group),
   * not only the request that got it.
   */
  private readonly notBefore = new Map<string, number>();
  /** Counters for tests and diagnostics. */
  readonly stats = { throttled: 0, retries: 0, pacedMs: 0 };

  constructor(options: Partial<PacingOptions> = {}, private readonly clock: { now(): number; sleep(ms: number): Promise<void> } = realClock) {
    this.options = { ...DEFAULT_PACING, ...options };
  }

  /** Minimum spacing of requests for a remaining budget. */
  intervalFor(remaining: number | undefined): number {
    const { lowWater, maxIntervalMs } = this.options;
    if (remaining === undefined || remaining >= lowWater) return 0;
    const deficit = 1 - Math.max(0, remaining) / lowWater;
    return Math.round(maxIntervalMs * deficit * deficit);
  }

  /** How long a request of `bucket` would wait now (without reserving a slot). */
  waitFor(bucket: ArmBucket): number {
    const now = this.clock.now();
    return Math.max(0, Math.max(this.nextSlot[bucket], this.blockedUntil[bucket]) - now);
  }

  /** Waits for this request's slot; throws ArmThrottledError when that would take longer than maxInlineWaitMs. */
  async acquire(bucket: ArmBucket): Promise<void> {
    const now = this.clock.now();
    const slot = Math.max(now, this.nextSlot[bucket], this.blockedUntil[bucket]);
    const wait = slot - now;
    if (wait > this.options.maxInlineWaitMs) throw new ArmThrottledError(wait);
    this.nextSlot[bucket] = slot + this.intervalFor(this.remaining[bucket]);
    if (wait > 0) {
      this.stats.pacedMs += wait;
      await this.clock.sleep(wait);
    }
  }

  /** Waits until Azure's Retry-After for `request` has passed; throws ArmThrottledError when longer than maxInlineWaitMs. */
  async awaitRetryAfter(request: string): Promise<void> {
    const until = this.notBefore.get(request);
    if (until === undefined) return;
    const wait = until - this.clock.now();
    if (wait <= 0) {
      this.notBefore.delete(request);
      return;
    }
    if (wait > this.options.maxInlineWaitMs) throw new ArmThrottledError(wait);
    this.stats.pacedMs += wait;
    await this.clock.sleep(wait);
  }

  /** Holds `request` back for `ms` (Azure's Retry-After on a retryable answer). */
  holdRequest(request: string, ms: number): void {
    const now = this.clock.now();
    if (this.notBefore.size >= 1000) {
      for (const [key, until] of this.notBefore) if (until <= now) this.notBefore.delete(key);
    }
    this.notBefore.set(request, Math.max(this.notBefore.get(request) ?? 0, now + ms));
  }

  observe(bucket: ArmBucket, headers: HeaderSource): void {
    const r = parseRemaining(headers, bucket);
    if (r !== undefined) this.remaining[bucket] = r;
  }

  /** Closes the gate of `bucket` for `ms` (a 429). */
  block(bucket: ArmBucket, ms: number): void {
    this.stats.throttled++;
    this.blockedUntil[bucket] = Math.max(this.blockedUntil[bucket], this.clock.now() + ms);
    // Nothing is left in the bucket: pace what follows the gate.
    this.remaining[bucket] = 0;
  }

  remainingOf(bucket: ArmBucket): number | undefined {
    return this.remaining[bucket];
  }
}

const realClock = {
  now: () => Date.now(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRYABLE_ERRNO = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

export const ARM_THROTTLE_POLICY_NAME = 'cdk8sAzureArmThrottlePolicy';

/**
 * The resource type of an ARM URL for metrics: `flexibleServers`, `flexibleServers/databases`, `resourceGroups`,
 * `operations` (async-operation and operation-result polls), or `other`.
 */
export function resourceTypeOf(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split('?')[0];
  }
  const segs = path.split('/').filter(Boolean);
  const lower = segs.map((s) => s.toLowerCase());
  const p = lower.lastIndexOf('providers');
  if (p >= 0 && p + 2 < segs.length + 1) {
    const rest = segs.slice(p + 2);
    if (rest.length > 0 && rest[0].toLowerCase() === 'locations') return 'operations';
    const types: string[] = [];
    for (let i = 0; i < rest.length; i += 2) types.push(rest[i]);
    if (types.length > 0) return types.join('/');
  }
  const rg = lower.indexOf('resourcegroups');
  if (rg >= 0) return 'resourceGroups';
  if (lower.includes('operationresults')) return 'operations';
  return 'other';
}

export interface ThrottlePolicyOptions {
  pacer: ArmPacer;
  onResponse?: (method: string, resourceType: string, status: number) => void;
}

/** The pipeline policy (phase "Retry"); see the file comment. */
export function armThrottlePolicy(opts: ThrottlePolicyOptions): PipelinePolicy {
  const { pacer } = opts;
  const o = pacer.options;
  return {
    name: ARM_THROTTLE_POLICY_NAME,
    async sendRequest(request: PipelineRequest, next): Promise<PipelineResponse> {
      const bucket = bucketOf(request.method);
      const resourceType = resourceTypeOf(request.url);
      const requestKey = `${request.method} ${request.url.split('?')[0].toLowerCase()}`;
      for (let attempt = 0; ; attempt++) {
        // An aborted request takes no slot of the bucket (lro.ts aborts the SDK's immediate poll).
        if (request.abortSignal?.aborted) throw abortError();
        await pacer.awaitRetryAfter(requestKey);
        await pacer.acquire(bucket);
        let response: PipelineResponse;
        try {
          response = await next(request);
        } catch (e) {
          const err = e as { code?: string; response?: PipelineResponse; name?: string };
          if (err.response) {
            response = err.response;
          } else {
            if (request.abortSignal?.aborted || attempt >= o.maxRetries || !RETRYABLE_ERRNO.has(err.code ?? '')) throw e;
            const delay = backoff(attempt, o.baseBackoffMs);
            if (delay > o.maxInlineWaitMs) throw new ArmThrottledError(delay);
            pacer.stats.retries++;
            await sleep(delay);
            continue;
          }
        }
        opts.onResponse?.(request.method, resourceType, response.status);
        pacer.observe(bucket, response.headers);
        if (!RETRYABLE_STATUS.has(response.status)) return response;
        const retryAfter = parseRetryAfterMs(response.headers);
        if (retryAfter !== undefined && retryAfter > 0) pacer.holdRequest(requestKey, retryAfter);
        const delay = retryAfter ?? backoff(attempt, response.status === 429 ? o.baseBackoffMs : o.baseBackoffMs / 2);
        if (response.status === 429) pacer.block(bucket, delay);
        if (attempt >= o.maxRetries) {
          if (response.status === 429) throw new ArmThrottledError(Math.max(delay, pacer.waitFor(bucket)), 429);
          return response;
        }
        if (delay > o.maxInlineWaitMs) throw new ArmThrottledError(delay, response.status);
        pacer.stats.retries++;
        // A 429 waits at the gate in acquire(); others sleep here.
        if (response.status !== 429 && delay > 0) await sleep(delay);
      }
    },
  };
}

function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}

function backoff(attempt: number, base: number): number {
  const exp = base * 2 ** attempt;
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
