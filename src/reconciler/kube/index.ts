/**
 * The Kubernetes module: one informer per watched kind (our four CRs, and only the Secrets labelled as ours), the
 * `Kube` implementation on top of their caches, and the Event recorder.
 */
import type { V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import { type AnyObject, type Kind, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../contracts';
import type { ReconcilerLogger } from '../log';
import type { Metrics } from '../metrics';
import type { KubeClient } from './client';
import { EventRecorder } from './events';
import { Informer } from './informer';
import { KubeImpl } from './kube';
import { CUSTOM_RESOURCES, KINDS, SECRETS } from './resources';

export { KubeClient, KubeApiError, isKubeError, loadKubeConfig } from './client';
export { Informer } from './informer';
export { KubeImpl } from './kube';
export { EventRecorder } from './events';

export interface KubeModuleOptions {
  readonly client: KubeClient;
  readonly log: ReconcilerLogger;
  readonly metrics?: Metrics;
  /** Watch one namespace only (WATCH_NAMESPACE); default all namespaces. */
  readonly namespace?: string;
  /** Watch these namespaces only (--namespaces, WATCH_NAMESPACES; wins over `namespace`); default all namespaces. */
  readonly namespaces?: readonly string[];
  /** For tests: shorter server-side watch timeouts. */
  readonly watchTimeoutSeconds?: number;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
}

export class KubeModule {
  readonly informers: Record<Kind, Informer<AnyObject>>;
  readonly secrets: Informer<V1Secret>;
  readonly events: EventRecorder;
  readonly kube: KubeImpl;
  private readonly all: Array<Informer<any>>;

  constructor(opts: KubeModuleOptions) {
    const common = {
      client: opts.client,
      log: opts.log,
      metrics: opts.metrics,
      // One LIST and WATCH per namespace when there are several (RBAC then needs Roles in those namespaces only).
      namespaces: opts.namespaces ?? (opts.namespace !== undefined ? [opts.namespace] : undefined),
      watchTimeoutSeconds: opts.watchTimeoutSeconds,
      backoff: opts.backoff,
    };
    this.informers = Object.fromEntries(
      KINDS.map((kind) => [kind, new Informer<AnyObject>({ ...common, resource: CUSTOM_RESOURCES[kind] })]),
    ) as Record<Kind, Informer<AnyObject>>;
    // Only our Secrets: watching all Secrets would cache every credential in the cluster and need cluster-wide read.
    this.secrets = new Informer<V1Secret>({
      ...common,
      resource: SECRETS,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    });
    this.all = [...Object.values(this.informers), this.secrets];
    this.events = new EventRecorder({ client: opts.client, log: opts.log });
    this.kube = new KubeImpl({
      client: opts.client,
      informers: this.informers,
      secrets: this.secrets,
      events: this.events,
      log: opts.log.child({ component: 'kube' }),
    });
  }

  start(): void {
    for (const i of this.all) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
    await this.events.flush();
  }

  hasSynced(): boolean {
    return this.all.every((i) => i.hasSynced());
  }

  /** Informers not yet synced (for /readyz and logs). */
  unsynced(): string[] {
    return this.all.filter((i) => !i.hasSynced()).map((i) => i.resource.plural);
  }

  async waitForSync(timeoutMs?: number): Promise<void> {
    await Promise.all(this.all.map((i) => i.waitForSync(timeoutMs)));
  }
}
