/**
 * A resilient informer, as client-go's reflector + shared informer, for one resource type:
 *
 *   LIST (paginated) -> replace the cache, emitting add/update/delete for the differences
 *   WATCH from the list's resourceVersion, allowWatchBookmarks=true, timeoutSeconds=N (server-side end)
 *     - each event updates the cache and the resourceVersion (bookmarks only the resourceVersion)
 *     - the server ends the watch after N s: watch again from the last resourceVersion (no LIST)
 *     - 410 Gone (HTTP status or an ERROR event with code 410): the resourceVersion is too old: LIST again
 *     - any other failure (connection refused or cut, 5xx, 403, malformed data): wait with exponential backoff and
 *       jitter, then watch again from the last resourceVersion (or LIST again if the LIST is what failed)
 *
 * It never stops by itself: only stop() ends the loop. Every failure is logged and counted.
 */
import type { ReconcilerLogger } from '../log';
import type { Metrics } from '../metrics';
import { type ObjectLike, Store } from './cache';
import { type KubeClient, KubeApiError, isKubeError } from './client';
import { type ResourceType, apiVersionOf, collectionPath } from './resources';

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T extends ObjectLike> {
  readonly client: KubeClient;
  readonly resource: ResourceType;
  /** Watch one namespace only; default all namespaces. */
  readonly namespace?: string;
  /**
   * Watch these namespaces only (wins over `namespace`): one LIST and WATCH per namespace, one cache and one set of
   * handlers for all of them, so the rights can be granted per namespace (a Role in each) rather than cluster-wide.
   */
  readonly namespaces?: readonly string[];
  readonly labelSelector?: string;
  readonly log: ReconcilerLogger;
  readonly metrics?: Metrics;
  /** Server-side watch timeout in seconds; default random in [300, 600), as client-go, so watches do not end together. */
  readonly watchTimeoutSeconds?: number;
  /** Reconnect backoff: initial delay (default 800 ms, as client-go's reflector), doubling with jitter up to maxMs (default 30 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** LIST page size (default 500). */
  readonly pageSize?: number;
  /** Applied to every object before it is cached; default drops metadata.managedFields (memory; nobody reads them). */
  readonly transform?: (obj: T) => T;
}

/** Counters for tests and debugging; metrics.ts has the same as Prometheus counters. */
export interface InformerStats {
  lists: { initial: number; gone: number; error: number };
  watches: number;
  watchEnds: { timeout: number; gone: number; error: number };
  events: number;
  bookmarks: number;
  failures: number;
}

/** restart: resumeFrom() cut the watch on purpose; watch again at once. */
type WatchOutcome = 'timeout' | 'gone' | 'stopped' | 'restart';

class GoneError extends Error {}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, any>;
}

export class Informer<T extends ObjectLike> {
  readonly store: Store<T>;
  readonly resource: ResourceType;
  /** Counters; with several namespaces, the sums over them. */
  readonly stats: InformerStats;
  private readonly opts: InformerOptions<T>;
  private readonly handlers: Set<InformerHandlers<T>>;
  /** With several `namespaces`: one informer per namespace, sharing this one's cache, handlers and counters. */
  private readonly members: Array<Informer<T>> = [];
  private readonly log: ReconcilerLogger;
  private readonly apiVersion: string;
  private resourceVersion = '';
  private synced = false;
  private readonly syncWaiters: Array<() => void> = [];
  private stopped = true;
  private loop?: Promise<void>;
  private abortWatch?: () => void;
  private wakeSleep?: () => void;
  private consecutiveFailures = 0;

  /** `parent` is internal: the informer of several namespaces whose cache, handlers and counters a member shares. */
  constructor(opts: InformerOptions<T>, parent?: Informer<T>) {
    const namespaces = opts.namespaces ? [...new Set(opts.namespaces)] : undefined;
    if (namespaces?.length === 0) throw new Error(`informer ${opts.resource.plural}: namespaces is empty (leave it undefined for all namespaces)`);
    if (namespaces) opts = { ...opts, namespace: namespaces.length === 1 ? namespaces[0] : undefined, namespaces: undefined };
    this.opts = opts;
    this.resource = opts.resource;
    this.store = parent?.store ?? new Store<T>();
    this.handlers = parent?.handlers ?? new Set<InformerHandlers<T>>();
    this.stats = parent?.stats ?? {
      lists: { initial: 0, gone: 0, error: 0 },
      watches: 0,
      watchEnds: { timeout: 0, gone: 0, error: 0 },
      events: 0,
      bookmarks: 0,
      failures: 0,
    };
    if (namespaces && namespaces.length > 1) {
      this.members = namespaces.map((namespace) => new Informer<T>({ ...opts, namespace }, this));
    }
    this.apiVersion = apiVersionOf(opts.resource);
    this.log = opts.log.child({
      informer: opts.resource.plural,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
    });
  }

  /** The resourceVersion the next watch starts from (an informer of one namespace, or of all). */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  /** True once the first LIST has been stored (and ever after: later failures serve the last known state). */
  hasSynced(): boolean {
    return this.members.length ? this.members.every((m) => m.hasSynced()) : this.synced;
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Registers handlers; returns a function that unregisters them. Handlers run synchronously and must not throw. */
  on(handlers: InformerHandlers<T>): () => void {
    this.handlers.add(handlers);
    return () => this.handlers.delete(handlers);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.members.length) for (const m of this.members) m.start();
    else this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.members.map((m) => m.stop()));
    this.abortWatch?.();
    this.wakeSleep?.();
    await this.loop;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Resolves when synced, or when stopped. Rejects after timeoutMs when given. */
  waitForSync(timeoutMs?: number): Promise<void> {
    if (this.members.length) return Promise.all(this.members.map((m) => m.waitForSync(timeoutMs))).then(() => undefined);
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      this.syncWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () => reject(new Error(`informer ${this.resource.plural}: not synced after ${timeoutMs} ms`)),
          timeoutMs,
        );
      }
    });
  }

  /**
   * Makes the next watch resume from `resourceVersion` and cuts the current watch. For tests and debugging: resuming
   * from an old resourceVersion is how a test provokes 410 Gone. An informer of one namespace, or of all.
   */
  resumeFrom(resourceVersion: string): void {
    this.resourceVersion = resourceVersion;
    this.abortWatch?.();
  }

  private async run(): Promise<void> {
    let listReason: keyof InformerStats['lists'] | undefined = 'initial';
    while (!this.stopped) {
      try {
        if (listReason) {
          await this.list(listReason);
          listReason = undefined;
        }
        const outcome = await this.watch();
        if (outcome === 'gone') {
          this.log.info({ resourceVersion: this.resourceVersion }, 'watch resourceVersion expired (410 Gone); listing again');
          listReason = 'gone';
        }
      } catch (err) {
        if (this.stopped) break;
        this.stats.failures++;
        if (listReason) listReason = this.synced ? 'error' : listReason;
        const delay = this.nextBackoff();
        this.log.warn(
          { err: describe(err), retryInMs: Math.round(delay), failures: this.consecutiveFailures, phase: listReason ? 'list' : 'watch' },
          `${listReason ? 'list' : 'watch'} of ${this.resource.plural} failed; retrying`,
        );
        await this.sleep(delay);
      }
    }
  }

  private nextBackoff(): number {
    const initial = this.opts.backoff?.initialMs ?? 800;
    const max = this.opts.backoff?.maxMs ?? 30_000;
    const d = Math.min(max, initial * Math.pow(2, this.consecutiveFailures));
    this.consecutiveFailures++;
    // Jitter in [d, 2d) (client-go's jitter factor 1.0), capped: replicas and resources do not reconnect in lockstep.
    return Math.min(max, d * (1 + Math.random()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private normalize(raw: Record<string, any>): T {
    // LIST items carry no apiVersion/kind; controllers need them (ownerReferences, Events).
    const obj = { ...raw, apiVersion: this.apiVersion, kind: this.resource.kind } as unknown as T;
    if (this.opts.transform) return this.opts.transform(obj);
    if (obj.metadata && 'managedFields' in obj.metadata) {
      const { managedFields: _drop, ...metadata } = obj.metadata;
      return { ...obj, metadata } as T;
    }
    return obj;
  }

  private async list(reason: keyof InformerStats['lists']): Promise<void> {
    this.stats.lists[reason]++;
    this.opts.metrics?.informerLists.inc({ resource: this.resource.plural, reason });
    const path = collectionPath(this.resource, this.opts.namespace);
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    do {
      let page: { metadata?: { resourceVersion?: string; continue?: string }; items?: Array<Record<string, any>> };
      try {
        page = await this.opts.client.request('GET', path, {
          query: { limit: this.opts.pageSize ?? 500, continue: cont, labelSelector: this.opts.labelSelector },
          timeoutMs: 60_000,
        });
      } catch (err) {
        // The continue token expired between pages (410): start over from the first page.
        if (cont && isKubeError(err, 410)) {
          this.log.info({}, 'list continue token expired; listing from the start');
          items.length = 0;
          cont = undefined;
          continue;
        }
        if (isKubeError(err, 404)) {
          throw new Error(
            `${err.message} (is the CustomResourceDefinition for ${this.resource.plural}.${this.resource.group || 'core'} installed? kubectl apply -f crds/)`,
          );
        }
        throw err;
      }
      for (const item of page.items ?? []) items.push(this.normalize(item));
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    if (this.stopped) return;
    this.replace(items);
    this.resourceVersion = rv;
    this.consecutiveFailures = 0;
    this.log.debug({ count: items.length, resourceVersion: rv, reason }, 'listed');
    if (!this.synced) {
      this.synced = true;
      this.log.info({ count: items.length }, 'cache synced');
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private countCached(): void {
    this.opts.metrics?.informerObjects.set({ resource: this.resource.plural }, this.store.size);
  }

  /** Replaces the cache with a full LIST, emitting the differences (objects deleted while we were away included). */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    const changes: Array<() => void> = [];
    for (const obj of items) {
      const ns = obj.metadata?.namespace;
      const name = obj.metadata!.name!;
      seen.add(`${ns ?? ''}/${name}`);
      const old = this.store.set(obj);
      if (!old) changes.push(() => this.emit('add', obj));
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) changes.push(() => this.emit('update', obj, old));
    }
    // Only this informer's namespace: the cache may be shared with the informers of other namespaces.
    for (const obj of this.store.list(this.opts.namespace)) {
      const ns = obj.metadata?.namespace;
      const name = obj.metadata!.name!;
      if (!seen.has(`${ns ?? ''}/${name}`)) {
        this.store.delete(ns, name);
        changes.push(() => this.emit('delete', obj));
      }
    }
    this.countCached();
    // Handlers run after the whole cache is consistent with the LIST.
    for (const c of changes) c();
  }

  private watchTimeout(): number {
    return this.opts.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
  }

  private async watch(): Promise<WatchOutcome> {
    const timeoutSeconds = this.watchTimeout();
    const path = collectionPath(this.resource, this.opts.namespace);
    const startedAt = Date.now();
    let stream;
    try {
      stream = await this.opts.client.stream(
        path,
        {
          watch: 1,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.opts.labelSelector,
        },
        // The server ends the watch after timeoutSeconds; silence well beyond that means a dead connection.
        (timeoutSeconds + 30) * 1000,
      );
    } catch (err) {
      if (isKubeError(err, 410)) {
        this.endWatch('gone');
        return 'gone';
      }
      this.endWatch('error');
      throw err;
    }
    this.stats.watches++;
    if (this.stopped) {
      stream.abort();
      return 'stopped';
    }
    let received = 0;
    const outcome = await new Promise<WatchOutcome>((resolve, reject) => {
      const res = stream.response;
      let buf = '';
      let settled = false;
      const finish = (err: Error | undefined, value?: WatchOutcome) => {
        if (settled) return;
        settled = true;
        this.abortWatch = undefined;
        if (err) reject(err);
        else resolve(value!);
        stream.abort();
      };
      this.abortWatch = () => finish(undefined, this.stopped ? 'stopped' : 'restart');
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while (!settled && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            received++;
            this.handle(JSON.parse(line) as WatchEvent);
          } catch (err) {
            if (err instanceof GoneError) finish(undefined, 'gone');
            else finish(err as Error);
          }
        }
      });
      res.once('end', () => finish(undefined, 'timeout'));
      res.once('error', (err) => finish(err));
      res.once('close', () => finish(new Error('watch connection closed before the response ended')));
    }).catch((err) => {
      this.endWatch('error');
      throw err;
    });
    if (outcome === 'stopped' || outcome === 'restart') return outcome;
    if (outcome === 'timeout') {
      // An end well before timeoutSeconds with no events is not the server-side timeout but something closing
      // connections (a proxy, a restarting API server): back off rather than spin.
      if (received === 0 && Date.now() - startedAt < Math.min(1000, timeoutSeconds * 500)) {
        this.endWatch('error');
        throw new Error(`watch ended after ${Date.now() - startedAt} ms without events`);
      }
      this.consecutiveFailures = 0;
    }
    this.endWatch(outcome);
    return outcome;
  }

  private endWatch(outcome: 'timeout' | 'gone' | 'error'): void {
    this.stats.watchEnds[outcome]++;
    this.opts.metrics?.informerWatches.inc({ resource: this.resource.plural, outcome });
  }

  private handle(ev: WatchEvent): void {
    const rv: string | undefined = ev.object?.metadata?.resourceVersion;
    switch (ev.type) {
      case 'BOOKMARK':
        this.stats.bookmarks++;
        if (rv) this.resourceVersion = rv;
        return;
      case 'ERROR': {
        const code = ev.object?.code;
        if (code === 410) throw new GoneError();
        throw new KubeApiError(code ?? 500, ev.object?.reason ?? 'WatchError', ev.object?.message ?? 'watch ERROR event', 'WATCH', this.resource.plural);
      }
      case 'ADDED':
      case 'MODIFIED': {
        this.stats.events++;
        const obj = this.normalize(ev.object);
        const old = this.store.set(obj);
        if (!old) this.countCached();
        if (rv) this.resourceVersion = rv;
        if (old) this.emit('update', obj, old);
        else this.emit('add', obj);
        return;
      }
      case 'DELETED': {
        this.stats.events++;
        const obj = this.normalize(ev.object);
        this.store.delete(obj.metadata?.namespace, obj.metadata!.name!);
        this.countCached();
        if (rv) this.resourceVersion = rv;
        this.emit('delete', obj);
        return;
      }
      default:
        throw new Error(`unexpected watch event type ${String((ev as { type?: unknown }).type)}`);
    }
  }

  private emit(type: 'add' | 'update' | 'delete', obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (type === 'add') h.add?.(obj);
        else if (type === 'update') h.update?.(old!, obj);
        else h.delete?.(obj);
      } catch (err) {
        // A faulty handler must not break the watch (or other handlers).
        this.log.error({ err: describe(err), event: type, name: obj.metadata?.name }, 'informer event handler threw');
      }
    }
  }
}

function describe(err: unknown): { message: string; code?: unknown; status?: number } {
  if (err instanceof KubeApiError) return { message: err.message, status: err.statusCode };
  if (err instanceof Error) return { message: err.message, code: (err as NodeJS.ErrnoException).code };
  return { message: String(err) };
}
