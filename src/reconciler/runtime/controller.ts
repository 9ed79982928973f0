/**
 * Runs one Controller as controller-runtime does: informer events -> keys in a rate-limited work queue -> N workers
 * calling reconcile(key). What reconcile does with a key is its business; this loop guarantees:
 *  - every object of the controller's kind is reconciled at start, on every change, and again every resync period
 *    (jittered) to repair drift in Azure that no Kubernetes event reports;
 *  - changes of dependencies (`dependsOn`) and of owned Secrets (`ownsSecrets`) enqueue the affected keys;
 *  - one key is never reconciled twice at once;
 *  - retries follow what the reconcile reported (runtime/retry.ts): polls after their delay, failures by class with
 *    per-key exponential backoff that grows across consecutive failures (reset by a success or a poll), throttling
 *    after Retry-After;
 *  - polls (a reconcile that reported progress to look at again) go to the queue's poll lane, served first and by
 *    workers of their own, so that a poll never waits behind creates held for ARM's write tokens;
 *  - nothing a reconcile throws (or rejects with) escapes: it is logged, counted, and retried.
 */
import type { V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { API_GROUP, type AnyObject, type Controller, type Kind, type ObjectKey, keyString } from '../contracts';
import type { InformerHandlers } from '../kube/informer';
import { type IgnoreKey, jsonEqual } from '../kube/json-equal';
import { type ReconcilerLogger, errorFields } from '../log';
import type { Metrics } from '../metrics';
import { WorkQueue } from './queue';
import type { BackoffOptions, TokenBucketOptions } from './ratelimit';
import { RetryPolicy, type RetryOptions } from './retry';

/** Default of --resync-period. */
export const DEFAULT_RESYNC_PERIOD_MS = 10 * 60_000;

/** What the runner needs of an informer (tests pass fakes). */
export interface EventSource<T> {
  readonly store: { list(namespace?: string): T[]; get(namespace: string | undefined, name: string): T | undefined };
  on(handlers: InformerHandlers<T>): () => void;
}

export interface ControllerRunnerOptions {
  readonly controller: Controller;
  readonly sources: Record<Kind, EventSource<AnyObject>>;
  readonly secrets?: EventSource<V1Secret>;
  readonly log: ReconcilerLogger;
  readonly metrics?: Metrics;
  /** Concurrent reconciles (of different keys). Default 4. */
  readonly workers?: number;
  /** Workers that take only polls (the poll lane), besides `workers`. Default: as many as `workers`. */
  readonly pollWorkers?: number;
  /** Reconcile every object this long after its last successful reconcile, jittered +-10%. 0 disables. Default 10 min. */
  readonly resyncPeriodMs?: number;
  /** The work queue's limiter, for reconciles that throw. */
  readonly rateLimiter?: BackoffOptions & TokenBucketOptions;
  /** Retries of reported failures (transient backoff, user-error period). */
  readonly retry?: RetryOptions;
  /**
   * Whether a Secret event is the echo of the reconciler's own write (kube.ts remembers what it wrote): the reconcile
   * that wrote it is still running or has just said when to look again, so the echo must not requeue its owner.
   */
  readonly isOwnSecretWrite?: (secret: V1Secret) => boolean;
}

export function parseKey(key: string): ObjectKey {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class ControllerRunner {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly controller: Controller;
  readonly retry: RetryPolicy;
  private readonly opts: ControllerRunnerOptions;
  private readonly log: ReconcilerLogger;
  private readonly unsubscribe: Array<() => void> = [];
  private workers: Promise<void>[] = [];
  private started = false;

  constructor(opts: ControllerRunnerOptions) {
    this.opts = opts;
    this.controller = opts.controller;
    // controller-runtime names a controller after its kind, lower case.
    this.name = opts.controller.kind.toLowerCase();
    this.log = opts.log.child({ controller: this.name });
    this.queue = new WorkQueue({
      name: this.name,
      rateLimiter: opts.rateLimiter,
      metrics: opts.metrics?.queueSink(this.name),
    });
    opts.metrics?.registerQueue(this.queue);
    this.retry = new RetryPolicy(opts.retry);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { controller, sources, secrets } = this.opts;
    const own = sources[controller.kind];
    const enqueueObj = (o: AnyObject | V1Secret) => this.queue.add(keyString({ namespace: o.metadata!.namespace!, name: o.metadata!.name! }));
    this.unsubscribe.push(own.on({
      add: enqueueObj,
      update: (old, o) => {
        if (!onlyStatusChanged(old, o)) enqueueObj(o);
      },
      delete: enqueueObj,
    }));

    for (const dep of controller.dependsOn ?? []) {
      const map = (o: AnyObject) => {
        try {
          for (const k of dep.mapToKeys(o)) this.queue.add(keyString(k));
        } catch (err) {
          this.log.error({ err: errorFields(err), dependency: dep.kind, name: o.metadata?.name }, 'dependency mapping threw');
        }
      };
      this.unsubscribe.push(sources[dep.kind].on({ add: map, update: (old, o) => { map(old); map(o); }, delete: map }));
    }

    if (controller.ownsSecrets && secrets) {
      const ownerKeys = (s: V1Secret): string[] =>
        (s.metadata?.ownerReferences ?? [])
          .filter((ref) => ref.controller && ref.kind === controller.kind && ref.apiVersion.startsWith(`${API_GROUP}/`))
          .map((ref) => keyString({ namespace: s.metadata!.namespace!, name: ref.name }));
      const enqueue = (keys: string[]) => {
        for (const k of new Set(keys)) this.queue.add(k);
      };
      this.unsubscribe.push(secrets.on({
        // An echo of our own write says nothing new; someone else's change (even of an old owner's Secret) does.
        add: (s) => {
          if (!this.opts.isOwnSecretWrite?.(s)) enqueue(ownerKeys(s));
        },
        update: (old, s) => {
          if (!this.opts.isOwnSecretWrite?.(s)) enqueue([...ownerKeys(old), ...ownerKeys(s)]);
        },
        delete: (s) => enqueue(ownerKeys(s)),
      }));
    }

    // Handlers only see changes from now on; everything already cached is reconciled once at start.
    for (const o of own.store.list()) enqueueObj(o);

    const n = Math.max(1, this.opts.workers ?? 4);
    const polls = Math.max(0, this.opts.pollWorkers ?? n);
    this.opts.metrics?.maxConcurrentReconciles.set({ controller: this.name }, n + polls);
    this.opts.metrics?.activeWorkers.set({ controller: this.name }, 0);
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      this.opts.metrics?.reconcileTotal.inc({ controller: this.name, result }, 0);
    }
    this.opts.metrics?.reconcileErrors.inc({ controller: this.name }, 0);
    this.workers = [...Array.from({ length: n }, () => this.worker('any')), ...Array.from({ length: polls }, () => this.worker('poll'))];
    this.log.info({ workers: n, pollWorkers: polls, queued: this.queue.length }, 'controller started');
  }

  /**
   * Stops taking work and waits up to graceMs for reconciles in flight. Resolves true when they all finished.
   * Reconciles still running after the grace period are abandoned (the process is about to exit; reconcile is
   * idempotent and the next leader repeats it).
   */
  async stop(graceMs: number): Promise<boolean> {
    for (const u of this.unsubscribe.splice(0)) u();
    const drained = await this.queue.shutDownWithDrain(graceMs);
    if (drained) await Promise.all(this.workers);
    else this.log.warn({ inFlight: this.queue.inFlight, graceMs }, 'reconciles still running after the shutdown grace period');
    return drained;
  }

  /** Seconds the oldest running reconcile has been running (0 when idle): the liveness probe's wedge detector. */
  longestRunningSeconds(): number {
    return this.queue.longestRunningProcessorSeconds();
  }

  private async worker(lane: 'any' | 'poll'): Promise<void> {
    for (;;) {
      const key = await this.queue.get(lane);
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const m = this.opts.metrics;
    const labels = { controller: this.name };
    m?.activeWorkers.inc(labels);
    const started = process.hrtime.bigint();
    let result: 'success' | 'error' | 'requeue' | 'requeue_after';
    try {
      const objKey = parseKey(key);
      // A controller that returns undefined instead of {} is treated as success, not as a crash of the loop.
      const r = (await this.controller.reconcile(objKey)) ?? {};
      const next = this.retry.next(key, r);
      result = next.result;
      if (next.result === 'error') {
        m?.reconcileErrors.inc(labels);
        this.log.debug({ key, failure: r.failure, retries: this.retry.failures(key) }, 'reconcile reported a failure');
      }
      switch (next.action) {
        case 'rateLimited':
          this.queue.addRateLimited(key);
          break;
        case 'after':
          this.queue.forget(key);
          // Progress to look at again (no failure): a poll.
          this.queue.addAfter(key, next.delayMs, r.failure === undefined ? 'poll' : 'normal');
          break;
        case 'onChange':
          this.queue.forget(key);
          break;
        case 'resync':
          this.queue.forget(key);
          this.scheduleResync(key, objKey);
          break;
      }
    } catch (err) {
      result = 'error';
      m?.reconcileErrors.inc(labels);
      const retries = this.queue.numRequeues(key);
      this.log.error({ err: errorFields(err), key, retries }, 'reconcile failed; retrying with backoff');
      this.queue.addRateLimited(key);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      m?.reconcileTime.observe(labels, seconds);
      m?.activeWorkers.dec(labels);
      this.queue.done(key);
    }
    m?.reconcileTotal.inc({ ...labels, result });
    this.log.debug({ key, result }, 'reconciled');
  }

  private scheduleResync(key: string, objKey: ObjectKey): void {
    const period = this.opts.resyncPeriodMs ?? DEFAULT_RESYNC_PERIOD_MS;
    if (!(period > 0)) return;
    // Only objects that still exist: a deleted object's last reconcile must not keep a timer alive.
    if (!this.opts.sources[this.controller.kind].store.get(objKey.namespace, objKey.name)) return;
    // +-10% so that objects created together (e.g. one kubectl apply) do not all resync in the same second.
    this.queue.addAfter(key, period * (0.9 + 0.2 * Math.random()));
  }
}

/**
 * Whether an update of an object changed nothing but its status (and resourceVersion): the reconciler's own status
 * writes. Such an update is no reason to reconcile again, because the reconcile that wrote the status already said
 * when to look again; reacting to it re-ran a reconcile at once after every status write, so after a failed Azure
 * operation the reconciler retried immediately, in a loop, instead of after its backoff. (controller-runtime users
 * get this from GenerationChangedPredicate; this one also reacts to metadata changes such as finalizers, annotations
 * and deletionTimestamp.)
 */
export function onlyStatusChanged(old: AnyObject, updated: AnyObject): boolean {
  return jsonEqual(old, updated, statusOrVersion);
}

const statusOrVersion: IgnoreKey = (key, parent) =>
  (parent.length === 0 && key === 'status')
  || (parent.length === 1 && parent[0] === 'metadata' && (key === 'resourceVersion' || key === 'managedFields'));
