/**
 * The installs of the reconciler as their leader-election Leases show them (src/api/install.ts): whether the install
 * that claimed a resource still runs. Reads need `get` on Leases in the other install's namespace (the install
 * construct's `-installs` ClusterRole). A Lease is read at most once per `cacheMs` however many resources ask.
 */
import { type InstallIdentity, formatInstall, watchesNamespace, WATCH_NAMESPACES_ANNOTATION } from '../../api';
import type { Installs, InstallState } from '../contracts';
import type { ReconcilerLogger } from '../log';
import { type KubeClient, isKubeError } from './client';
import { LEASES, objectPath } from './resources';

export interface InstallLeasesOptions {
  readonly client: KubeClient;
  /** This install's Lease; undefined without leader election. */
  readonly self?: InstallIdentity;
  /**
   * The least time without renewal after which another install counts as gone, whatever its Lease says: this
   * install's own lease duration. A Lease released at a graceful stop says 1 s, and a rolling update is no uninstall.
   */
  readonly minLeaseDurationMs: number;
  readonly log: ReconcilerLogger;
  /** How long a Lease read is reused (default 2 s, client-go's retry period: a Lease changes no faster). */
  readonly cacheMs?: number;
}

interface Lease {
  metadata?: { annotations?: Record<string, string> };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

type LeaseRead = { lease?: Lease; error?: string };

export class InstallLeases implements Installs {
  readonly self?: InstallIdentity;
  private readonly reads = new Map<string, { at: number; read: Promise<LeaseRead> }>();
  private readonly cacheMs: number;

  constructor(private readonly opts: InstallLeasesOptions) {
    this.self = opts.self;
    this.cacheMs = opts.cacheMs ?? 2_000;
  }

  async state(install: InstallIdentity, namespace: string): Promise<InstallState> {
    const { lease, error } = await this.read(install);
    if (error) return { running: true, detail: `its Lease ${formatInstall(install)} cannot be read (${error}), so it is taken to run` };
    if (!lease) return { running: false, detail: `its Lease ${formatInstall(install)} is gone` };
    const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
    const durationMs = Math.max((lease.spec?.leaseDurationSeconds ?? 0) * 1000, this.opts.minLeaseDurationMs);
    const renewedAt = renewed ? Date.parse(renewed) : NaN;
    if (!Number.isFinite(renewedAt) || Date.now() - renewedAt > durationMs) {
      return { running: false, detail: `its Lease ${formatInstall(install)} was last renewed ${renewed ? `at ${renewed}` : 'never'}, more than ${Math.round(durationMs / 1000)} s ago` };
    }
    const watched = lease.metadata?.annotations?.[WATCH_NAMESPACES_ANNOTATION];
    if (!watchesNamespace(watched, namespace)) {
      return { running: false, detail: `it runs, but no longer watches namespace ${namespace} (its Lease ${formatInstall(install)} says ${watched})` };
    }
    return { running: true, detail: `its Lease ${formatInstall(install)} was renewed at ${renewed}` };
  }

  private read(install: InstallIdentity): Promise<LeaseRead> {
    const key = formatInstall(install);
    const now = Date.now();
    const cached = this.reads.get(key);
    if (cached && now - cached.at < this.cacheMs) return cached.read;
    const read = this.fetch(install);
    this.reads.set(key, { at: now, read });
    if (this.reads.size > 1000) this.reads.delete(this.reads.keys().next().value!);
    return read;
  }

  private async fetch(install: InstallIdentity): Promise<LeaseRead> {
    try {
      return { lease: await this.opts.client.request<Lease>('GET', objectPath(LEASES, install.namespace, install.name), { timeoutMs: 10_000 }) };
    } catch (err) {
      if (isKubeError(err, 404)) return {};
      const error = isKubeError(err, 403)
        ? 'HTTP 403: this install may not get Leases there; its cdk8s-azure-reconciler-installs-<namespace> ClusterRole grants it'
        : isKubeError(err) ? `HTTP ${err.statusCode}` : String((err as Error)?.message ?? err);
      this.opts.log.warn({ lease: formatInstall(install), error }, 'cannot read the Lease of the install that claimed a resource');
      return { error };
    }
  }
}
