/**
 * The manager, as controller-runtime's: starts the informers (every replica keeps a warm cache, so a standby takes
 * over without a cold start), campaigns for leadership when enabled, starts the controllers once leading and the
 * caches are synced, and shuts down in the safe order: stop reconciling (drain within the grace period) -> release
 * the Lease -> stop the informers.
 */
import { formatWatchedNamespaces, WATCH_NAMESPACES_ANNOTATION } from '../../api';
import type { Controller, Installs, Kube } from '../contracts';
import type { KubeClient } from '../kube/client';
import { KubeModule } from '../kube/index';
import { InstallLeases } from '../kube/installs';
import { type ReconcilerLogger, errorFields } from '../log';
import type { Metrics } from '../metrics';
import { ControllerRunner } from './controller';
import { DEFAULT_LEASE_DURATION_MS, LeaderElector } from './leader';
import type { BackoffOptions, TokenBucketOptions } from './ratelimit';
import type { RetryOptions } from './retry';

export interface ManagerOptions {
  readonly client: KubeClient;
  readonly log: ReconcilerLogger;
  readonly metrics: Metrics;
  /** Watch one namespace; default all. */
  readonly namespace?: string;
  /** Watch these namespaces (wins over `namespace`); default all. */
  readonly namespaces?: readonly string[];
  /** Workers per controller (default 4). */
  readonly workers?: number;
  readonly resyncPeriodMs?: number;
  readonly shutdownGraceMs?: number;
  /**
   * Builds the controllers once the Kube is available (main.ts: createControllers from ./controllers). `installs`:
   * this install (its leader-election Lease, when elected) and the others, for the claims on resources.
   */
  readonly controllers: (kube: Kube, installs: Installs) => Controller[];
  readonly leaderElection?: {
    readonly namespace: string;
    readonly name: string;
    readonly identity?: string;
    readonly leaseDurationMs?: number;
    readonly renewDeadlineMs?: number;
    readonly retryPeriodMs?: number;
  };
  /**
   * Called when leadership is lost, after reconciling stopped. main.ts exits the process (a fresh process is the only
   * safe state: reconciles that were abandoned mid-flight may still hold promises).
   */
  readonly onLeadershipLost?: () => void;
  /** A reconcile running longer than this makes /healthz fail (default 15 min). */
  readonly wedgedAfterMs?: number;
  readonly rateLimiter?: BackoffOptions & TokenBucketOptions;
  /** Retries of failures controllers report (runtime/retry.ts). */
  readonly retry?: RetryOptions;
  /** Informer tuning, for tests. */
  readonly watchTimeoutSeconds?: number;
  readonly informerBackoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

export interface Check {
  readonly ok: boolean;
  readonly detail: string;
}

export class Manager {
  /** The informers, the Kube implementation over them, and the Event recorder. */
  readonly cluster: KubeModule;
  readonly runners: ControllerRunner[];
  readonly elector?: LeaderElector;
  readonly installs: InstallLeases;
  private readonly opts: ManagerOptions;
  private readonly log: ReconcilerLogger;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private controllersStarted = false;
  private leadershipLost = false;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.cluster = new KubeModule({
      client: opts.client,
      log: opts.log,
      metrics: opts.metrics,
      namespace: opts.namespace,
      namespaces: opts.namespaces,
      watchTimeoutSeconds: opts.watchTimeoutSeconds,
      backoff: opts.informerBackoff,
    });
    const election = opts.leaderElection;
    const watched = opts.namespaces ?? (opts.namespace !== undefined ? [opts.namespace] : undefined);
    this.installs = new InstallLeases({
      client: opts.client,
      self: election ? { namespace: election.namespace, name: election.name } : undefined,
      minLeaseDurationMs: election?.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      log: opts.log.child({ component: 'installs' }),
    });
    const controllers = opts.controllers(this.cluster.kube, this.installs);
    const kinds = new Set<string>();
    for (const c of controllers) {
      // Two controllers of one kind would reconcile one key concurrently: the queue guarantee is per controller.
      if (kinds.has(c.kind)) throw new Error(`two controllers for kind ${c.kind}`);
      kinds.add(c.kind);
    }
    this.runners = controllers.map(
      (controller) =>
        new ControllerRunner({
          controller,
          sources: this.cluster.informers,
          secrets: this.cluster.secrets,
          isOwnSecretWrite: (secret) => this.cluster.kube.isOwnSecretWrite(secret),
          log: opts.log,
          metrics: opts.metrics,
          workers: opts.workers,
          resyncPeriodMs: opts.resyncPeriodMs,
          rateLimiter: opts.rateLimiter,
          retry: opts.retry,
        }),
    );
    if (opts.leaderElection) {
      this.elector = new LeaderElector({
        client: opts.client,
        ...opts.leaderElection,
        // Another install that finds a resource this one claimed asks the Lease whether this one still watches it.
        annotations: { [WATCH_NAMESPACES_ANNOTATION]: formatWatchedNamespaces(watched) },
        log: opts.log,
        metrics: opts.metrics,
        onStartedLeading: () => void this.startControllers(),
        onStoppedLeading: () => void this.lostLeadership(),
      });
    }
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : this.state === 'running';
  }

  get controllersRunning(): boolean {
    return this.controllersStarted && this.state === 'running' && !this.leadershipLost;
  }

  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.log.info(
      { namespace: this.opts.namespaces?.join(',') ?? this.opts.namespace ?? '(all)', controllers: this.runners.map((r) => r.name), leaderElection: !!this.elector },
      'starting manager',
    );
    this.cluster.start();
    if (this.elector) this.elector.start();
    else void this.startControllers();
  }

  /** Ready: every informer has synced (a standby replica is ready too: it serves nothing but must be able to lead). */
  readiness(): Check {
    if (this.state !== 'running') return { ok: false, detail: `manager ${this.state}` };
    const unsynced = this.cluster.unsynced();
    return unsynced.length ? { ok: false, detail: `informers not synced: ${unsynced.join(', ')}` } : { ok: true, detail: 'informers synced' };
  }

  /** Alive: the event loop answers (this runs), informers run, and no reconcile is stuck beyond the threshold. */
  liveness(): Check {
    if (this.state === 'running') {
      const wedgedAfter = (this.opts.wedgedAfterMs ?? 15 * 60_000) / 1000;
      for (const r of this.runners) {
        const s = r.longestRunningSeconds();
        if (s > wedgedAfter) return { ok: false, detail: `controller ${r.name}: a reconcile has been running for ${Math.round(s)} s` };
      }
      const stoppedInformers = [...Object.values(this.cluster.informers), this.cluster.secrets].filter((i) => !i.running);
      if (stoppedInformers.length) {
        return { ok: false, detail: `informers stopped: ${stoppedInformers.map((i) => i.resource.plural).join(', ')}` };
      }
    }
    return { ok: true, detail: 'ok' };
  }

  /** Graceful stop. Resolves when everything stopped; true if in-flight reconciles finished within the grace period. */
  async stop(): Promise<boolean> {
    if (this.state === 'stopping' || this.state === 'stopped') return true;
    this.state = 'stopping';
    const grace = this.opts.shutdownGraceMs ?? 25_000;
    this.log.info({ graceMs: grace }, 'stopping: draining reconciles');
    const results = await Promise.all(this.runners.map((r) => r.stop(grace)));
    const drained = results.every((x) => x);
    // Release only after reconciling stopped: the next leader must not overlap with our last reconciles.
    await this.elector?.stop(true);
    await this.cluster.stop();
    this.opts.client.close();
    this.state = 'stopped';
    this.log.info({ drained }, 'stopped');
    return drained;
  }

  private async startControllers(): Promise<void> {
    if (this.controllersStarted || this.state !== 'running') return;
    this.controllersStarted = true;
    // As controller-runtime: workers start only once the caches are complete, or a reconcile could mistake
    // "not in the cache yet" for "deleted".
    await this.cluster.waitForSync();
    if (this.state !== 'running' || this.leadershipLost) return;
    this.log.info({}, 'caches synced; starting controllers');
    for (const r of this.runners) {
      try {
        r.start();
      } catch (err) {
        this.log.error({ err: errorFields(err), controller: r.name }, 'controller failed to start');
      }
    }
  }

  private async lostLeadership(): Promise<void> {
    this.leadershipLost = true;
    // Stop handing out work at once; do not wait for reconciles in flight (another replica may already lead).
    await Promise.all(this.runners.map((r) => r.stop(0)));
    this.opts.onLeadershipLost?.();
  }
}
