/**
 * A rate-limited work queue with client-go's workqueue semantics, which is what makes reconcilers simple:
 *  - de-duplication: a key added while it waits in the queue is queued once;
 *  - no concurrency per key: a key added while a worker processes it is set aside ("dirty") and queued again only when
 *    that worker calls done(), so two reconciles of one key never overlap;
 *  - addAfter: delayed adds, de-duplicated to the earliest requested time;
 *  - addRateLimited: retries after max(per-key exponential backoff, global token bucket); forget() resets the backoff;
 *  - two lanes: keys added to the `poll` lane (an operation in flight to look at again) are handed out before the
 *    `normal` lane's, and get('poll') takes only them, so that workers kept for polls never wait behind creates that
 *    are held for ARM's write tokens.
 */
import { ControllerRateLimiter, type BackoffOptions, type Clock, type TokenBucketOptions, realClock } from './ratelimit';

/** What the queue reports; metrics.ts implements it with controller-runtime's workqueue_* metrics. */
export interface QueueMetricsSink {
  depth(n: number): void;
  added(): void;
  retried(): void;
  /** Seconds a key waited in the queue before a worker took it. */
  queued(seconds: number): void;
  /** Seconds a worker held a key. */
  worked(seconds: number): void;
}

export interface WorkQueueOptions {
  readonly name: string;
  readonly rateLimiter?: BackoffOptions & TokenBucketOptions;
  readonly metrics?: QueueMetricsSink;
  readonly clock?: Clock;
}

/** `poll`: a look at what is in progress, handed out first; `normal`: everything else. */
export type Lane = 'normal' | 'poll';

export class WorkQueue {
  readonly name: string;
  /** FIFOs of keys ready for a worker, per lane; each key at most once, and never a key that is being processed. */
  private readonly queue: string[] = [];
  private readonly pollQueue: string[] = [];
  /** Keys that need processing (queued, or added again while processing), with their lane. */
  private readonly dirty = new Map<string, Lane>();
  /** Keys held by a worker, with the time it took them. */
  private readonly processing = new Map<string, number>();
  /** When each dirty key was first added, for the queue-latency metric. */
  private readonly addedAt = new Map<string, number>();
  private readonly waiting = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly getters: Array<{ lane: 'poll' | 'any'; resolve: (key: string | undefined) => void }> = [];
  private readonly drainWaiters: Array<() => void> = [];
  private readonly limiter: ControllerRateLimiter;
  private readonly metrics?: QueueMetricsSink;
  private readonly clock: Clock;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.limiter = new ControllerRateLimiter(opts.rateLimiter);
    this.metrics = opts.metrics;
    this.clock = opts.clock ?? realClock;
  }

  /** Keys waiting for a worker (not counting delayed ones or those being processed). */
  get length(): number {
    return this.queue.length + this.pollQueue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string, lane: Lane = 'normal'): void {
    if (this.shuttingDown) return;
    const queuedIn = this.dirty.get(key);
    if (queuedIn !== undefined) {
      if (lane === 'poll' && queuedIn === 'normal') this.promote(key);
      return;
    }
    this.metrics?.added();
    this.dirty.set(key, lane);
    this.addedAt.set(key, this.clock.now());
    // Processing: done() queues it again; queuing it now would let a second worker take it concurrently.
    if (this.processing.has(key)) return;
    this.lane(lane).push(key);
    this.metrics?.depth(this.length);
    this.dispatch();
  }

  /** Adds `key` after `delayMs` (to `lane` then); when it is already waiting, the earlier time wins. */
  addAfter(key: string, delayMs: number, lane: Lane = 'normal'): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key, lane);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.waiting.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key, lane);
    }, delayMs);
    this.waiting.set(key, { at, timer });
  }

  /** Retry after the rate limiter's delay (a failure: grows the key's backoff). */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.retried();
    this.addAfter(key, this.limiter.when(key));
  }

  /** Success: reset the key's backoff. */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.numRequeues(key);
  }

  /** Milliseconds until `key`'s delayed add fires, or undefined when none is pending (for tests and debugging). */
  pendingDelay(key: string): number | undefined {
    const w = this.waiting.get(key);
    return w ? Math.max(0, w.at - this.clock.now()) : undefined;
  }

  /**
   * The next key for a worker, the poll lane's first; with `lane` 'poll', only the poll lane's. Undefined once the
   * queue shuts down. The caller must call done(key).
   */
  get(lane: 'poll' | 'any' = 'any'): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take(lane);
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push({ lane, resolve }));
  }

  done(key: string): void {
    const started = this.processing.get(key);
    if (started === undefined) return;
    this.processing.delete(key);
    this.metrics?.worked((this.clock.now() - started) / 1000);
    const lane = this.dirty.get(key);
    if (lane !== undefined && !this.shuttingDown) {
      this.lane(lane).push(key);
      this.metrics?.depth(this.length);
      this.dispatch();
    }
    if (this.processing.size === 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  /** Stops handing out work: pending get()s resolve undefined, delayed adds are cancelled, new adds are ignored. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g.resolve(undefined);
  }

  /**
   * shutDown(), then wait until every key taken by a worker is done(), at most `graceMs`.
   * Resolves true when drained, false when the grace period ran out first.
   */
  async shutDownWithDrain(graceMs: number): Promise<boolean> {
    this.shutDown();
    if (this.processing.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.drainWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    return drained;
  }

  /** Keys being processed right now (for tests, health and metrics). */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Sum of the running times of in-flight work, seconds (workqueue_unfinished_work_seconds). */
  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const t of this.processing.values()) total += now - t;
    return total / 1000;
  }

  /** Running time of the oldest in-flight work, seconds (workqueue_longest_running_processor_seconds). */
  longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let oldest = now;
    for (const t of this.processing.values()) oldest = Math.min(oldest, t);
    return (now - oldest) / 1000;
  }

  private lane(lane: Lane): string[] {
    return lane === 'poll' ? this.pollQueue : this.queue;
  }

  /** A key queued in the normal lane moves to the poll lane (not behind what is queued there). */
  private promote(key: string): void {
    this.dirty.set(key, 'poll');
    const i = this.queue.indexOf(key);
    if (i < 0) return; // being processed: done() queues it in its new lane
    this.queue.splice(i, 1);
    this.pollQueue.push(key);
    this.dispatch();
  }

  private take(lane: 'poll' | 'any'): string | undefined {
    const key = this.pollQueue.length > 0 || lane === 'poll' ? this.pollQueue.shift() : this.queue.shift();
    if (key === undefined) return undefined;
    const now = this.clock.now();
    this.processing.set(key, now);
    this.dirty.delete(key);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics?.queued((now - added) / 1000);
    this.metrics?.depth(this.length);
    return key;
  }

  /** Hands queued keys to waiting workers, in the order they asked; a poll-lane worker only gets poll-lane keys. */
  private dispatch(): void {
    while (this.getters.length > 0) {
      const i = this.pollQueue.length > 0 ? 0 : this.queue.length > 0 ? this.getters.findIndex((g) => g.lane === 'any') : -1;
      if (i < 0) return;
      const [getter] = this.getters.splice(i, 1);
      getter.resolve(this.take(getter.lane));
    }
  }
}
