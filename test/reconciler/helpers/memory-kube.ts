/**
 * TEST DOUBLE of the Kubernetes seam only (contracts.ts `Kube`): an in-memory object store with the semantics the
 * controllers rely on (finalizers and deletionTimestamp, generation bumps on spec changes, status written only on
 * change, owned Secrets labelled and garbage-collected with their owner, Events recorded). Azure (the ARM emulator)
 * and PostgreSQL stay real in the tests that use it. The real implementation is src/reconciler/kube.
 */
import { randomUUID } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import {
  API_GROUP,
  API_VERSION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  type AnyObject,
  type ClaimWrite,
  type Condition,
  type Kind,
  type Kube,
  type Logger,
  type ObjectKey,
} from '../../../src/reconciler/contracts';

export interface RecordedEvent {
  kind: Kind;
  name: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

function stripTransitionTimes(status: unknown): unknown {
  if (!status || typeof status !== 'object') return status;
  const s = clone(status) as { conditions?: Condition[] };
  if (Array.isArray(s.conditions)) s.conditions = s.conditions.map(({ lastTransitionTime: _t, ...c }) => c as Condition);
  return s;
}

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) => (val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => a.localeCompare(b))) : val));
}

export class MemoryKube implements Kube {
  private readonly objects = new Map<string, AnyObject>();
  private readonly secrets = new Map<string, V1Secret>();
  readonly events: RecordedEvent[] = [];
  /** Writes, in order: "status Kind/name", "secret ns/name", "finalizer+ Kind/name", ... */
  readonly writes: string[] = [];
  private rv = 1;

  private k(kind: string, key: ObjectKey): string {
    return `${kind}/${key.namespace}/${key.name}`;
  }

  // ---- test API ----

  /** Creates an object as `kubectl apply` would (uid, generation 1). Returns its key. */
  create<TSpec>(kind: Kind, namespace: string, name: string, spec: TSpec, annotations?: Record<string, string>): ObjectKey {
    const obj: AnyObject = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind,
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        generation: 1,
        resourceVersion: String(this.rv++),
        creationTimestamp: new Date(),
        ...(annotations ? { annotations } : {}),
      },
      spec,
    };
    this.objects.set(this.k(kind, { namespace, name }), obj);
    return { namespace, name };
  }

  /** Changes the spec (generation + 1). */
  updateSpec<TSpec>(kind: Kind, key: ObjectKey, mutate: (spec: TSpec) => TSpec | void): void {
    const obj = this.must(kind, key);
    const next = mutate(obj.spec as TSpec);
    if (next !== undefined) obj.spec = next;
    obj.metadata.generation = (obj.metadata.generation ?? 1) + 1;
    obj.metadata.resourceVersion = String(this.rv++);
  }

  setAnnotation(kind: Kind, key: ObjectKey, name: string, value: string | null): void {
    const obj = this.must(kind, key);
    const a = { ...(obj.metadata.annotations ?? {}) };
    if (value === null) delete a[name];
    else a[name] = value;
    obj.metadata.annotations = a;
  }

  /** kubectl delete: sets deletionTimestamp while finalizers remain, else removes (and collects owned Secrets). */
  delete(kind: Kind, key: ObjectKey): void {
    const obj = this.objects.get(this.k(kind, key));
    if (!obj) return;
    if ((obj.metadata.finalizers ?? []).length > 0) {
      obj.metadata.deletionTimestamp ??= new Date();
      return;
    }
    this.remove(kind, key);
  }

  /** Replaces the status as if a previous process had written it (restarts). */
  setStatus(kind: Kind, key: ObjectKey, status: unknown): void {
    this.must(kind, key).status = clone(status) as AnyObject['status'];
  }

  exists(kind: Kind, key: ObjectKey): boolean {
    return this.objects.has(this.k(kind, key));
  }

  secretData(namespace: string, name: string): Record<string, string> | undefined {
    const s = this.secrets.get(`${namespace}/${name}`);
    if (!s) return undefined;
    return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  }

  /** Puts a Secret as a user would (not labelled as ours unless `labels` say so). */
  putForeignSecret(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string> = {}): void {
    this.secrets.set(`${namespace}/${name}`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels },
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
  }

  /** Edits data keys of a Secret in place (a user's `kubectl edit`). */
  editSecret(namespace: string, name: string, data: Record<string, string | null>): void {
    const s = this.secrets.get(`${namespace}/${name}`);
    if (!s) throw new Error(`no Secret ${namespace}/${name}`);
    const d = { ...(s.data ?? {}) };
    for (const [k, v] of Object.entries(data)) {
      if (v === null) delete d[k];
      else d[k] = Buffer.from(v).toString('base64');
    }
    s.data = d;
  }

  /** Every value of `key` in every Secret (to look for leaks elsewhere). */
  secretValues(key = 'password'): string[] {
    return [...this.secrets.values()].map((s) => s.data?.[key]).filter((v): v is string => !!v).map((v) => Buffer.from(v, 'base64').toString('utf8'));
  }

  deleteSecret(namespace: string, name: string): void {
    this.secrets.delete(`${namespace}/${name}`);
  }

  condition(kind: Kind, key: ObjectKey, type = 'Ready'): Condition | undefined {
    return this.get<AnyObject>(kind, key)?.status?.conditions?.find((c) => c.type === type);
  }

  private must(kind: Kind, key: ObjectKey): AnyObject {
    const obj = this.objects.get(this.k(kind, key));
    if (!obj) throw new Error(`no ${kind} ${key.namespace}/${key.name}`);
    return obj;
  }

  private remove(kind: Kind, key: ObjectKey): void {
    const obj = this.objects.get(this.k(kind, key));
    if (!obj) return;
    this.objects.delete(this.k(kind, key));
    // Garbage collection of owned Secrets.
    for (const [sk, s] of this.secrets) {
      if ((s.metadata?.ownerReferences ?? []).some((r) => r.uid === obj.metadata.uid)) this.secrets.delete(sk);
    }
  }

  // ---- Kube ----

  get<T extends AnyObject>(kind: Kind, key: ObjectKey): T | undefined {
    return clone(this.objects.get(this.k(kind, key))) as T | undefined;
  }

  list<T extends AnyObject>(kind: Kind, namespace?: string): T[] {
    return [...this.objects.values()]
      .filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace))
      .map((o) => clone(o) as T);
  }

  async addFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<T> {
    const cur = this.must(obj.kind, obj.metadata);
    if (cur.metadata.uid !== obj.metadata.uid) throw new Error('conflict: uid changed');
    const f = cur.metadata.finalizers ?? [];
    if (!f.includes(finalizer)) {
      cur.metadata.finalizers = [...f, finalizer];
      this.writes.push(`finalizer+ ${obj.kind}/${obj.metadata.name}`);
    }
    return clone(cur) as T;
  }

  async claim<T extends AnyObject>(obj: T, finalizer: string | undefined, annotations: Record<string, string>): Promise<ClaimWrite<T>> {
    const cur = this.objects.get(this.k(obj.kind, obj.metadata));
    if (!cur || cur.metadata.uid !== obj.metadata.uid) return { changed: undefined };
    if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) return { changed: clone(cur) as T };
    const finalizers = cur.metadata.finalizers ?? [];
    if (finalizer !== undefined && !finalizers.includes(finalizer)) cur.metadata.finalizers = [...finalizers, finalizer];
    cur.metadata.annotations = { ...(cur.metadata.annotations ?? {}), ...annotations };
    cur.metadata.resourceVersion = String(this.rv++);
    this.writes.push(`claim ${obj.kind}/${obj.metadata.name}`);
    return { claimed: clone(cur) as T };
  }

  async removeFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<void> {
    const cur = this.objects.get(this.k(obj.kind, obj.metadata));
    if (!cur || cur.metadata.uid !== obj.metadata.uid) return;
    cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    this.writes.push(`finalizer- ${obj.kind}/${obj.metadata.name}`);
    if (cur.metadata.deletionTimestamp && cur.metadata.finalizers.length === 0) this.remove(obj.kind, obj.metadata);
  }

  async patchAnnotations<T extends AnyObject>(obj: T, annotations: Record<string, string | null>): Promise<T> {
    for (const [k, v] of Object.entries(annotations)) this.setAnnotation(obj.kind, obj.metadata, k, v);
    return this.get<T>(obj.kind, obj.metadata)!;
  }

  async updateStatus<T extends AnyObject>(obj: T, status: NonNullable<T['status']>): Promise<boolean> {
    const cur = this.objects.get(this.k(obj.kind, obj.metadata));
    if (!cur || cur.metadata.uid !== obj.metadata.uid) throw new Error(`not found: ${obj.kind} ${obj.metadata.name}`);
    if (stableJson(stripTransitionTimes(cur.status)) === stableJson(stripTransitionTimes(status))) return false;
    const next = clone(status) as { conditions?: Condition[] };
    // Preserve lastTransitionTime of conditions whose status did not change.
    for (const c of next.conditions ?? []) {
      const prev = cur.status?.conditions?.find((p) => p.type === c.type);
      if (prev && prev.status === c.status) c.lastTransitionTime = prev.lastTransitionTime;
    }
    cur.status = next as AnyObject['status'];
    cur.metadata.resourceVersion = String(this.rv++);
    this.writes.push(`status ${obj.kind}/${obj.metadata.name}`);
    return true;
  }

  async getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return clone(this.secrets.get(`${namespace}/${name}`));
  }

  async applySecret(owner: AnyObject, name: string, data: Record<string, string>): Promise<{ changed: boolean }> {
    const ns = owner.metadata.namespace;
    const existing = this.secrets.get(`${ns}/${name}`);
    if (existing && existing.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
      throw new Error(`Secret ${ns}/${name} exists and is not managed by ${MANAGED_BY_VALUE}`);
    }
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
    const ownerRef = {
      apiVersion: owner.apiVersion,
      kind: owner.kind,
      name: owner.metadata.name,
      uid: owner.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const next: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name, namespace: ns, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences: [ownerRef] },
      data: encoded,
    };
    const sameOwner = stableJson(existing?.metadata?.ownerReferences) === stableJson(next.metadata?.ownerReferences);
    if (existing && stableJson(existing.data) === stableJson(next.data) && sameOwner) {
      return { changed: false };
    }
    this.secrets.set(`${ns}/${name}`, next);
    this.writes.push(`secret ${ns}/${name}`);
    return { changed: true };
  }

  async releaseSecret(owner: AnyObject, name: string): Promise<boolean> {
    const s = this.secrets.get(`${owner.metadata.namespace}/${name}`);
    const refs = s?.metadata?.ownerReferences ?? [];
    if (!s || !refs.some((r) => r.uid === owner.metadata.uid)) return false;
    s.metadata = { ...s.metadata, ownerReferences: refs.filter((r) => r.uid !== owner.metadata.uid) };
    this.writes.push(`release ${owner.metadata.namespace}/${name}`);
    return true;
  }

  /** The ownerReferences of a Secret (to check what garbage collection would do). */
  secretOwners(namespace: string, name: string): string[] | undefined {
    const s = this.secrets.get(`${namespace}/${name}`);
    return s ? (s.metadata?.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`) : undefined;
  }

  event(obj: AnyObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.events.push({ kind: obj.kind, name: obj.metadata.name, type, reason, message });
  }

  /** Everything the reconciler stored outside Secrets or said: status, events, annotations (to look for leaks). */
  everythingButSecrets(): string {
    return JSON.stringify({ objects: [...this.objects.values()], events: this.events });
  }
}

/** A Logger that keeps every line (to assert nothing secret is logged). */
export class MemoryLogger implements Logger {
  constructor(readonly lines: string[] = [], private readonly bindings: object = {}) {}
  private push(level: string, obj: object, msg: string): void {
    this.lines.push(JSON.stringify({ level, ...this.bindings, ...obj, msg }));
    if (process.env.TEST_LOG) console.log(level, msg, JSON.stringify(obj));
  }
  debug(obj: object, msg: string): void {
    this.push('debug', obj, msg);
  }
  info(obj: object, msg: string): void {
    this.push('info', obj, msg);
  }
  warn(obj: object, msg: string): void {
    this.push('warn', obj, msg);
  }
  error(obj: object, msg: string): void {
    this.push('error', obj, msg);
  }
  child(bindings: object): Logger {
    return new MemoryLogger(this.lines, { ...this.bindings, ...bindings });
  }
}

/**
 * A Kube whose cache is one status write behind, once: the first read of an object after a status write of it shows
 * the status before that write (as a reconcile requeued at once by its own Secret write sees it, before the watch
 * delivers the status write). Everything else is the MemoryKube's.
 */
export class StatusLaggingKube implements Kube {
  /** Objects whose next read shows this earlier version. */
  private readonly behind = new Map<string, AnyObject>();
  /** Reads that showed an earlier status (for the tests to check that the lag happened). */
  staleReads = 0;

  constructor(private readonly inner: MemoryKube) {}

  private key(kind: Kind, key: ObjectKey): string {
    return `${kind}/${key.namespace}/${key.name}`;
  }

  get<T extends AnyObject>(kind: Kind, key: ObjectKey): T | undefined {
    const earlier = this.behind.get(this.key(kind, key));
    this.behind.delete(this.key(kind, key));
    const current = this.inner.get<T>(kind, key);
    if (!earlier || !current || earlier.metadata.uid !== current.metadata.uid) return current;
    this.staleReads++;
    return { ...current, status: clone(earlier.status), metadata: { ...current.metadata, resourceVersion: earlier.metadata.resourceVersion } } as T;
  }

  list<T extends AnyObject>(kind: Kind, namespace?: string): T[] {
    return this.inner.list<T>(kind, namespace);
  }

  addFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<T> {
    return this.inner.addFinalizer(obj, finalizer);
  }

  removeFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<void> {
    return this.inner.removeFinalizer(obj, finalizer);
  }

  claim<T extends AnyObject>(obj: T, finalizer: string | undefined, annotations: Record<string, string>): Promise<ClaimWrite<T>> {
    return this.inner.claim(obj, finalizer, annotations);
  }

  patchAnnotations<T extends AnyObject>(obj: T, annotations: Record<string, string | null>): Promise<T> {
    return this.inner.patchAnnotations(obj, annotations);
  }

  async updateStatus<T extends AnyObject>(obj: T, status: NonNullable<T['status']>): Promise<boolean> {
    const before = this.inner.get<AnyObject>(obj.kind, obj.metadata);
    const written = await this.inner.updateStatus(obj, status);
    if (written && before) this.behind.set(this.key(obj.kind, obj.metadata), before);
    return written;
  }

  getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    return this.inner.getSecret(namespace, name);
  }

  applySecret(owner: AnyObject, name: string, data: Record<string, string>): Promise<{ changed: boolean }> {
    return this.inner.applySecret(owner, name, data);
  }

  releaseSecret(owner: AnyObject, name: string): Promise<boolean> {
    return this.inner.releaseSecret(owner, name);
  }

  event(obj: AnyObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.inner.event(obj, type, reason, message);
  }
}
