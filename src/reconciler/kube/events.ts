/**
 * Kubernetes Events (core/v1), aggregated as client-go's EventRecorder does: the same (object, type, reason, message)
 * seen again within the window bumps count and lastTimestamp of the existing Event instead of creating a new one, so
 * a reconcile that fails every few seconds does not flood etcd. Recording never throws and never blocks a reconcile.
 */
import * as os from 'node:os';
import type { AnyObject } from '../contracts';
import type { ReconcilerLogger } from '../log';
import { type KubeClient, isKubeError } from './client';
import { EVENTS, collectionPath, objectPath } from './resources';

export const EVENT_SOURCE_COMPONENT = 'cdk8s-azure-reconciler';
/** core/v1 Event message limit enforced by the API server for events.k8s.io; we keep messages within it. */
const MAX_MESSAGE = 1024;

export interface EventRecorderOptions {
  readonly client: KubeClient;
  readonly log: ReconcilerLogger;
  /** Aggregation window (default 10 min, as client-go's correlator). */
  readonly windowMs?: number;
  /** Distinct events remembered for aggregation (default 4096, LRU). */
  readonly maxEntries?: number;
  readonly instance?: string;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  first: string;
  lastAt: number;
  /** Serializes writes of one aggregated Event: a bump waits for the create. */
  chain: Promise<void>;
}

export class EventRecorder {
  private readonly seen = new Map<string, Seen>();
  private readonly client: KubeClient;
  private readonly log: ReconcilerLogger;
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly instance: string;
  private readonly pending = new Set<Promise<void>>();

  constructor(opts: EventRecorderOptions) {
    this.client = opts.client;
    this.log = opts.log.child({ component: 'events' });
    this.windowMs = opts.windowMs ?? 10 * 60_000;
    this.maxEntries = opts.maxEntries ?? 4096;
    this.instance = opts.instance ?? os.hostname();
  }

  record(obj: AnyObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    try {
      const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
      const key = [obj.metadata.uid, type, reason, msg].join('\u0000');
      const now = Date.now();
      const prev = this.seen.get(key);
      if (prev && now - prev.lastAt < this.windowMs) {
        prev.count++;
        prev.lastAt = now;
        // Re-insert: Map order is the LRU order.
        this.seen.delete(key);
        this.seen.set(key, prev);
        const count = prev.count;
        prev.chain = this.track(prev.chain.then(() => this.bump(obj, type, reason, msg, prev, count)));
        return;
      }
      const entry: Seen = {
        name: `${obj.metadata.name}.${(now * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`,
        namespace: obj.metadata.namespace,
        count: 1,
        first: new Date(now).toISOString(),
        lastAt: now,
        chain: Promise.resolve(),
      };
      this.seen.delete(key);
      this.seen.set(key, entry);
      while (this.seen.size > this.maxEntries) this.seen.delete(this.seen.keys().next().value!);
      entry.chain = this.track(this.create(obj, type, reason, msg, entry));
    } catch (err) {
      this.log.debug({ err: String(err) }, 'could not record event');
    }
  }

  /** Waits for the Event writes in flight (graceful shutdown, tests). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private track(p: Promise<void>): Promise<void> {
    const safe = p.catch((err) => {
      // Events are best effort (e.g. RBAC without events/create, namespace terminating): never fail a reconcile.
      this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'could not record event');
    });
    this.pending.add(safe);
    void safe.finally(() => this.pending.delete(safe));
    return safe;
  }

  private async create(obj: AnyObject, type: string, reason: string, message: string, entry: Seen): Promise<void> {
    const now = new Date().toISOString();
    await this.client.request('POST', collectionPath(EVENTS, entry.namespace), {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: entry.name, namespace: entry.namespace },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace: obj.metadata.namespace,
          uid: obj.metadata.uid,
          resourceVersion: obj.metadata.resourceVersion,
        },
        reason,
        message,
        type,
        count: entry.count,
        firstTimestamp: entry.first,
        lastTimestamp: now,
        source: { component: EVENT_SOURCE_COMPONENT },
        reportingComponent: 'cdk8s-azure.dev/reconciler',
        reportingInstance: this.instance,
      },
    });
  }

  private async bump(obj: AnyObject, type: string, reason: string, message: string, entry: Seen, count: number): Promise<void> {
    try {
      await this.client.request('PATCH', objectPath(EVENTS, entry.namespace, entry.name), {
        contentType: 'application/merge-patch+json',
        body: { count, lastTimestamp: new Date().toISOString() },
      });
    } catch (err) {
      // The Event expired (the API server keeps them 1 h by default) or its create failed: start a new one.
      if (!isKubeError(err, 404)) throw err;
      entry.name = `${obj.metadata.name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`;
      entry.first = new Date().toISOString();
      entry.count = 1;
      await this.create(obj, type, reason, message, entry);
    }
  }
}
