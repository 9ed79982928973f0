/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go's leaderelection package:
 *  - acquire: every retryPeriod (jittered), take the Lease when it is free, released, or not renewed for
 *    leaseDuration as measured on OUR clock since we last saw it change (clock skew between nodes does not matter);
 *  - renew every retryPeriod; when no renewal succeeded for renewDeadline, leadership is lost: onStoppedLeading runs
 *    (the manager stops reconciling at once, main.ts exits, as controller-runtime does);
 *  - release on graceful shutdown (holder cleared, duration 1 s) so a standby takes over at once, not after 15 s.
 * Writes are optimistic (PUT with resourceVersion): two candidates can never both win one round.
 */
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import { type KubeClient, isKubeError } from '../kube/client';
import { LEASES, collectionPath, objectPath } from '../kube/resources';
import { type ReconcilerLogger, errorFields } from '../log';
import type { Metrics } from '../metrics';

export interface LeaderElectionOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  /** Lease name (--leader-election-id). */
  readonly name: string;
  /** Unique per process; default hostname_<random>, as client-go. */
  readonly identity?: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** Annotations kept on the Lease by every write of it (what the install watches: api/install.ts). */
  readonly annotations?: Record<string, string>;
  readonly log: ReconcilerLogger;
  readonly metrics?: Metrics;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: LeaseSpec;
}

/** client-go's lease duration. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly identity: string;
  private readonly opts: LeaderElectionOptions;
  private readonly log: ReconcilerLogger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private leading = false;
  private stopped = true;
  private loop?: Promise<void>;
  private wake?: () => void;
  private observedSpec = '';
  private observedTime = 0;
  private observedHolder = '';
  private lease?: Lease;

  constructor(opts: LeaderElectionOptions) {
    this.opts = opts;
    this.identity = opts.identity ?? `${os.hostname()}_${crypto.randomUUID()}`;
    this.leaseDurationMs = opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election: leaseDuration must exceed renewDeadline, which must exceed retryPeriod');
    }
    this.log = opts.log.child({ component: 'leader-election', lease: `${opts.namespace}/${opts.name}`, identity: this.identity });
    opts.metrics?.leaderStatus.set({ name: opts.name }, 0);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** Stops campaigning/renewing; with release, hands the Lease back when we hold it. */
  async stop(release: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading && release) await this.release();
    this.setLeading(false);
  }

  private async run(): Promise<void> {
    this.log.info({}, 'attempting to acquire leader lease');
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew(this.renewDeadlineMs)) break;
      // client-go: wait.JitterUntil(retryPeriod, JitterFactor 1.2)
      await this.sleep(this.retryPeriodMs * (1 + 1.2 * Math.random()));
    }
    if (this.stopped) return;
    this.setLeading(true);
    this.log.info({}, 'successfully acquired lease; starting to lead');
    try {
      this.opts.onStartedLeading();
    } catch (err) {
      this.log.error({ err: errorFields(err) }, 'onStartedLeading threw');
    }
    let lastRenew = Date.now();
    while (!this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) return;
      const left = this.renewDeadlineMs - (Date.now() - lastRenew);
      if (left > 0 && (await this.tryAcquireOrRenew(Math.max(500, left)))) {
        lastRenew = Date.now();
        continue;
      }
      if (this.stopped) return;
      if (Date.now() - lastRenew >= this.renewDeadlineMs) {
        this.setLeading(false);
        this.log.error({ renewDeadlineMs: this.renewDeadlineMs }, 'leader election lost: could not renew the lease within the renew deadline');
        try {
          this.opts.onStoppedLeading();
        } catch (err) {
          this.log.error({ err: errorFields(err) }, 'onStoppedLeading threw');
        }
        return;
      }
    }
  }

  private setLeading(v: boolean): void {
    this.leading = v;
    this.opts.metrics?.leaderStatus.set({ name: this.opts.name }, v ? 1 : 0);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const signal = AbortSignal.timeout(timeoutMs);
    const { client, namespace, name } = this.opts;
    const now = Date.now();
    const mine: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      let lease: Lease;
      try {
        lease = await client.request<Lease>('GET', objectPath(LEASES, namespace, name), { signal, timeoutMs });
      } catch (err) {
        if (!isKubeError(err, 404)) throw err;
        const created = await client.request<Lease>('POST', collectionPath(LEASES, namespace), {
          signal,
          timeoutMs,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, ...this.annotated() }, spec: mine },
        });
        this.observe(created);
        return true;
      }
      this.observe(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
      if (holder && holder !== this.identity && this.observedTime + durationMs > now) {
        return false; // held by someone else, still valid
      }
      const next: LeaseSpec =
        holder === this.identity
          ? { ...mine, acquireTime: spec.acquireTime ?? mine.acquireTime, leaseTransitions: spec.leaseTransitions ?? 0 }
          : { ...mine, leaseTransitions: (spec.leaseTransitions ?? 0) + (holder ? 1 : 0) };
      const updated = await client.request<Lease>('PUT', objectPath(LEASES, namespace, name), {
        signal,
        timeoutMs,
        body: { ...lease, metadata: { ...lease.metadata, ...this.annotated(lease) }, spec: next },
      });
      this.observe(updated);
      return true;
    } catch (err) {
      // 409: someone else wrote first this round. Anything else: the API server is unreachable or refusing us.
      if (!isKubeError(err, 409)) {
        this.log.warn({ err: errorFields(err), leading: this.leading }, 'error acquiring or renewing the lease');
      }
      return false;
    }
  }

  private observe(lease: Lease): void {
    this.lease = lease;
    const spec = JSON.stringify(lease.spec ?? {});
    if (spec !== this.observedSpec) {
      this.observedSpec = spec;
      this.observedTime = Date.now();
    }
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder && holder !== this.identity) this.log.info({ leader: holder }, 'new leader observed');
    }
  }

  /** The Lease's annotations with ours (an empty object when there are none to keep). */
  private annotated(lease?: Lease): { annotations?: Record<string, string> } {
    const ours = this.opts.annotations;
    if (!ours) return {};
    return { annotations: { ...lease?.metadata.annotations, ...ours } };
  }

  /** Hands the Lease back: holder cleared and a 1 s duration, as client-go's ReleaseOnCancel. */
  private async release(): Promise<void> {
    const lease = this.lease;
    if (!lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = Date.now();
    try {
      await this.opts.client.request('PUT', objectPath(LEASES, this.opts.namespace, this.opts.name), {
        timeoutMs: 5000,
        body: {
          ...lease,
          spec: {
            leaseDurationSeconds: 1,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: lease.spec?.leaseTransitions ?? 0,
          },
        },
      });
      this.log.info({}, 'released the leader lease');
    } catch (err) {
      this.log.warn({ err: errorFields(err) }, 'could not release the leader lease; a standby takes over when it expires');
    }
  }
}
