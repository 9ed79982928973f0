/**
 * The `Kube` of contracts.ts: reads from the informer caches, writes to the API server.
 *
 * Writes are safe against concurrent writers (kubectl, other controllers, a stale cache):
 *  - finalizers: JSON patch guarded by a `test` of metadata.finalizers (or of resourceVersion when there are none), so a
 *    finalizer someone else added or removed meanwhile is never lost; 409/422 -> fresh GET and retry;
 *  - status: replaced through the /status subresource only when it differs, guarded by a `test` of the uid (a
 *    re-created object is not written with the old one's status);
 *  - Secrets: PUT with resourceVersion (optimistic concurrency), 409 -> fresh GET and retry.
 */
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import {
  API_GROUP,
  API_VERSION,
  type AnyObject,
  type ClaimWrite,
  type Condition,
  type Kind,
  type Kube,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  type ObjectKey,
} from '../contracts';
import type { ReconcilerLogger } from '../log';
import { type KubeClient, isKubeError } from './client';
import type { EventRecorder } from './events';
import type { Informer } from './informer';
import { CUSTOM_RESOURCES, SECRETS, collectionPath, objectPath } from './resources';

export interface KubeImplOptions {
  readonly client: KubeClient;
  readonly informers: Record<Kind, Informer<AnyObject>>;
  readonly secrets: Informer<V1Secret>;
  readonly events: EventRecorder;
  readonly log: ReconcilerLogger;
  /** Attempts of a write that keeps conflicting (default 5). */
  readonly maxAttempts?: number;
}

/** Write counters, for tests and debugging. */
export interface KubeWriteStats {
  finalizers: number;
  annotations: number;
  /** Claims of an install (kube.claim: annotations, with the finalizer when absent, in one patch). */
  claims: number;
  status: number;
  secrets: number;
  conflicts: number;
}

type JsonPatchOp = { op: 'add' | 'remove' | 'replace' | 'test'; path: string; value?: unknown };

export class KubeImpl implements Kube {
  readonly writes: KubeWriteStats = { finalizers: 0, annotations: 0, claims: 0, status: 0, secrets: 0, conflicts: 0 };
  private readonly client: KubeClient;
  private readonly informers: Record<Kind, Informer<AnyObject>>;
  private readonly secrets: Informer<V1Secret>;
  private readonly recorder: EventRecorder;
  private readonly log: ReconcilerLogger;
  private readonly maxAttempts: number;
  /**
   * The status we last wrote per object uid, with the cached resourceVersion at that time: until the watch delivers
   * our own write, the cache is older than what we know, and comparing with it would write the same status again.
   */
  private readonly lastStatus = new Map<string, { cachedRv: string | undefined; status: Record<string, unknown> }>();
  /** The resourceVersion of each Secret as our own last write left it, to tell the echo of a write from a change. */
  private readonly ownSecretVersions = new Map<string, string>();

  constructor(opts: KubeImplOptions) {
    this.client = opts.client;
    this.informers = opts.informers;
    this.secrets = opts.secrets;
    this.recorder = opts.events;
    this.log = opts.log;
    this.maxAttempts = opts.maxAttempts ?? 5;
  }

  get<T extends AnyObject>(kind: Kind, key: ObjectKey): T | undefined {
    return this.informers[kind].store.get(key.namespace, key.name) as T | undefined;
  }

  list<T extends AnyObject>(kind: Kind, namespace?: string): T[] {
    return this.informers[kind].store.list(namespace) as T[];
  }

  async addFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<T> {
    let cur = obj;
    for (let attempt = 1; ; attempt++) {
      const finalizers = cur.metadata.finalizers;
      if (finalizers?.includes(finalizer)) return cur;
      const ops: JsonPatchOp[] = finalizers?.length
        ? [
          { op: 'test', path: '/metadata/finalizers', value: finalizers },
          { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
        ]
        : [
          // No list to test: guard on the resourceVersion instead (someone may be adding one right now).
          { op: 'test', path: '/metadata/resourceVersion', value: cur.metadata.resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
        ];
      try {
        const updated = await this.jsonPatch<T>(cur, ops);
        this.writes.finalizers++;
        return updated;
      } catch (err) {
        const fresh = await this.retryableConflict(cur, err, attempt);
        if (!fresh) throw err;
        cur = fresh as T;
      }
    }
  }

  async removeFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<void> {
    let cur: T | undefined = obj;
    for (let attempt = 1; ; attempt++) {
      const finalizers: string[] = cur.metadata.finalizers ?? [];
      const i = finalizers.indexOf(finalizer);
      if (i < 0) return;
      try {
        await this.jsonPatch<T>(cur, [
          { op: 'test', path: '/metadata/finalizers', value: finalizers },
          { op: 'remove', path: `/metadata/finalizers/${i}` },
        ]);
        this.writes.finalizers++;
        return;
      } catch (err) {
        if (isKubeError(err, 404)) return; // already gone
        const fresh = await this.retryableConflict(cur, err, attempt);
        if (fresh === null) return; // deleted meanwhile
        if (!fresh) throw err;
        cur = fresh as T;
      }
    }
  }

  async claim<T extends AnyObject>(obj: T, finalizer: string | undefined, annotations: Record<string, string>): Promise<ClaimWrite<T>> {
    const { finalizers, annotations: current } = obj.metadata;
    // Guarded by the resourceVersion: another install's claim written meanwhile fails the test, and is read again.
    const ops: JsonPatchOp[] = [{ op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion }];
    if (finalizer !== undefined && !finalizers?.includes(finalizer)) {
      ops.push(finalizers?.length ? { op: 'add', path: '/metadata/finalizers/-', value: finalizer } : { op: 'add', path: '/metadata/finalizers', value: [finalizer] });
    }
    if (!current) ops.push({ op: 'add', path: '/metadata/annotations', value: annotations });
    else for (const [k, v] of Object.entries(annotations)) ops.push({ op: 'add', path: `/metadata/annotations/${jsonPointerToken(k)}`, value: v });
    try {
      const claimed = await this.jsonPatch<T>(obj, ops);
      this.writes.claims++;
      return { claimed };
    } catch (err) {
      if (!isKubeError(err, 404, 409, 422)) throw err;
      this.writes.conflicts++;
      try {
        const fresh = await this.client.request<T>('GET', objectPath(this.resourceOf(obj), obj.metadata.namespace, obj.metadata.name));
        if (fresh.metadata.uid !== obj.metadata.uid) return { changed: undefined };
        // A 422 on the same version is a real refusal, not a race: retrying cannot help.
        if (isKubeError(err, 422) && fresh.metadata.resourceVersion === obj.metadata.resourceVersion) throw err;
        return { changed: this.normalize(fresh, obj) };
      } catch (e) {
        if (isKubeError(e, 404)) return { changed: undefined };
        throw e;
      }
    }
  }

  async patchAnnotations<T extends AnyObject>(obj: T, annotations: Record<string, string | null>): Promise<T> {
    const rt = this.resourceOf(obj);
    const updated = await this.client.request<T>('PATCH', objectPath(rt, obj.metadata.namespace, obj.metadata.name), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations } },
    });
    this.writes.annotations++;
    return this.normalize(updated, obj);
  }

  async updateStatus<T extends AnyObject>(obj: T, status: NonNullable<T['status']>): Promise<boolean> {
    const kind = obj.kind;
    const cached = this.get<T>(kind, obj.metadata);
    const uid = obj.metadata.uid;
    const remembered = this.lastStatus.get(uid);
    // The cache has not yet seen our last write: that write is the current state.
    const current: Record<string, unknown> | undefined =
      remembered && cached && cached.metadata.resourceVersion === remembered.cachedRv
        ? remembered.status
        : ((cached ?? obj).status as Record<string, unknown> | undefined);
    const next = withTransitionTimes(status as Record<string, unknown>, current);
    if (canonical(next) === canonical(current ?? {})) return false;
    try {
      await this.jsonPatch(obj, [
        { op: 'test', path: '/metadata/uid', value: uid },
        { op: 'add', path: '/status', value: next },
      ], 'status');
    } catch (err) {
      if (isKubeError(err, 404)) return false; // deleted: nothing to report on
      throw err;
    }
    this.writes.status++;
    this.lastStatus.set(uid, { cachedRv: cached?.metadata.resourceVersion, status: next });
    if (this.lastStatus.size > 10_000) this.lastStatus.delete(this.lastStatus.keys().next().value!);
    return true;
  }

  async getSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    const cached = this.secrets.store.get(namespace, name);
    if (cached) return cached;
    return this.fetchSecret(namespace, name);
  }

  async applySecret(owner: AnyObject, name: string, data: Record<string, string>): Promise<{ changed: boolean }> {
    const namespace = owner.metadata.namespace;
    const ref: V1OwnerReference = {
      apiVersion: owner.apiVersion || `${API_GROUP}/${API_VERSION}`,
      kind: owner.kind,
      name: owner.metadata.name,
      uid: owner.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const wanted: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) wanted[k] = Buffer.from(v, 'utf8').toString('base64');
    for (let attempt = 1; ; attempt++) {
      const existing = await this.secretToWrite(namespace, name, attempt);
      if (!existing) {
        try {
          const created = await this.client.request<V1Secret>('POST', collectionPath(SECRETS, namespace), {
            body: {
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences: [ref] },
              type: 'Opaque',
              data: wanted,
            },
          });
          this.rememberSecretWrite(created);
          this.writes.secrets++;
          return { changed: true };
        } catch (err) {
          if (isKubeError(err, 409) && attempt < this.maxAttempts) {
            this.writes.conflicts++;
            continue; // created meanwhile: read it and update
          }
          throw err;
        }
      }
      const refs = existing.metadata?.ownerReferences ?? [];
      // Ours: labelled, or (label removed by someone) still controlled by this very owner; the label is restored below.
      const ownedByUs = refs.some((r) => r.controller && r.uid === ref.uid);
      if (existing.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE && !ownedByUs) {
        throw new Error(
          `Secret ${namespace}/${name} already exists and is not managed by cdk8s-azure (it lacks the label ` +
            `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}); refusing to overwrite it. Choose another Secret name for ` +
            `${owner.kind} ${owner.metadata.name}, delete the existing Secret, or label it to hand it over.`,
        );
      }
      const otherController = refs.find((r) => r.controller && r.uid !== ref.uid);
      if (otherController && !(otherController.kind === ref.kind && otherController.name === ref.name)) {
        throw new Error(
          `Secret ${namespace}/${name} is already controlled by ${otherController.kind} ${otherController.name}; ` +
            `${owner.kind} ${owner.metadata.name} cannot write it too. Give each resource its own Secret name.`,
        );
      }
      // Drop a controller reference to an earlier incarnation of the same owner (deleted and re-created: new uid).
      const keptRefs = refs.filter((r) => r.uid !== ref.uid && !(r.controller && r.kind === ref.kind && r.name === ref.name));
      const current = refs.find((r) => r.uid === ref.uid);
      const sameOwner =
        current !== undefined &&
        current.controller === true &&
        current.blockOwnerDeletion === true &&
        current.apiVersion === ref.apiVersion &&
        current.kind === ref.kind &&
        current.name === ref.name &&
        keptRefs.length === refs.length - 1;
      const labelled = existing.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
      if (sameOwner && labelled && sameData(existing.data ?? {}, wanted)) return { changed: false };
      const body: V1Secret = {
        ...existing,
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          ...existing.metadata!,
          labels: { ...existing.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          ownerReferences: [...keptRefs, ref],
        },
        data: wanted,
      };
      delete body.stringData;
      try {
        this.rememberSecretWrite(await this.client.request<V1Secret>('PUT', objectPath(SECRETS, namespace, name), { body }));
        this.writes.secrets++;
        return { changed: true };
      } catch (err) {
        if ((isKubeError(err, 409) || isKubeError(err, 404)) && attempt < this.maxAttempts) {
          this.writes.conflicts++;
          continue;
        }
        throw err;
      }
    }
  }

  async releaseSecret(owner: AnyObject, name: string): Promise<boolean> {
    const namespace = owner.metadata.namespace;
    for (let attempt = 1; ; attempt++) {
      const existing = await this.secretToWrite(namespace, name, attempt);
      const refs = existing?.metadata?.ownerReferences ?? [];
      if (!existing || !refs.some((r) => r.uid === owner.metadata.uid)) return false;
      const body: V1Secret = {
        ...existing,
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { ...existing.metadata!, ownerReferences: refs.filter((r) => r.uid !== owner.metadata.uid) },
      };
      try {
        // resourceVersion in the body: a concurrent change conflicts (409) instead of being overwritten.
        this.rememberSecretWrite(await this.client.request<V1Secret>('PUT', objectPath(SECRETS, namespace, name), { body }));
        this.writes.secrets++;
        return true;
      } catch (err) {
        if (isKubeError(err, 404)) return false;
        if (isKubeError(err, 409) && attempt < this.maxAttempts) {
          this.writes.conflicts++;
          continue;
        }
        throw err;
      }
    }
  }

  event(obj: AnyObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.record(obj, type, reason, message);
  }

  /** Whether this version of a Secret is the one our own last write of it produced (its watch event is an echo). */
  isOwnSecretWrite(secret: V1Secret): boolean {
    const key = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
    const rv = secret.metadata?.resourceVersion;
    return rv !== undefined && this.ownSecretVersions.get(key) === rv;
  }

  private rememberSecretWrite(written: V1Secret | undefined): void {
    const rv = written?.metadata?.resourceVersion;
    if (!written?.metadata?.name || !rv) return;
    const key = `${written.metadata.namespace}/${written.metadata.name}`;
    this.ownSecretVersions.delete(key); // re-insert: the map keeps the most recent writes when trimmed
    this.ownSecretVersions.set(key, rv);
    if (this.ownSecretVersions.size > 10_000) this.ownSecretVersions.delete(this.ownSecretVersions.keys().next().value!);
  }

  /** The Secret a write starts from: the cached copy first, a fresh one from the API after a conflict. */
  private async secretToWrite(namespace: string, name: string, attempt: number): Promise<V1Secret | undefined> {
    const cached = attempt === 1 ? this.secrets.store.get(namespace, name) : undefined;
    return cached ?? this.fetchSecret(namespace, name);
  }

  private async fetchSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.client.request<V1Secret>('GET', objectPath(SECRETS, namespace, name));
    } catch (err) {
      if (isKubeError(err, 404)) return undefined;
      throw err;
    }
  }

  private resourceOf(obj: AnyObject) {
    const rt = CUSTOM_RESOURCES[obj.kind];
    if (!rt) throw new Error(`unknown kind ${String(obj.kind)}`);
    return rt;
  }

  private async jsonPatch<T extends AnyObject>(obj: T, ops: JsonPatchOp[], subresource?: string): Promise<T> {
    const rt = this.resourceOf(obj);
    const updated = await this.client.request<T>(
      'PATCH',
      objectPath(rt, obj.metadata.namespace, obj.metadata.name, subresource),
      { contentType: 'application/json-patch+json', body: ops },
    );
    return this.normalize(updated, obj);
  }

  private normalize<T extends AnyObject>(updated: T, like: AnyObject): T {
    const { managedFields: _drop, ...metadata } = updated.metadata;
    return { ...updated, apiVersion: updated.apiVersion ?? like.apiVersion, kind: updated.kind ?? like.kind, metadata } as T;
  }

  /**
   * After a failed guarded write: a fresh copy to retry with, `null` when the object is gone, or undefined when the
   * error is not a conflict (or attempts ran out). 409 is a conflict; 422 is one only when the object changed since
   * the copy the patch tested (a failed `test`), otherwise it is a real validation error, and retrying cannot help.
   */
  private async retryableConflict(cur: AnyObject, err: unknown, attempt: number): Promise<AnyObject | null | undefined> {
    if (!isKubeError(err, 409, 422) || attempt >= this.maxAttempts) return undefined;
    let fresh: AnyObject;
    try {
      fresh = this.normalize(
        await this.client.request<AnyObject>('GET', objectPath(this.resourceOf(cur), cur.metadata.namespace, cur.metadata.name)),
        cur,
      );
    } catch (e) {
      if (isKubeError(e, 404)) return null;
      throw e;
    }
    if (err.statusCode === 422 && fresh.metadata.resourceVersion === cur.metadata.resourceVersion) return undefined;
    this.writes.conflicts++;
    this.log.debug({ kind: cur.kind, name: cur.metadata.name, namespace: cur.metadata.namespace, attempt }, 'write conflicted; retrying on a fresh copy');
    return fresh;
  }
}

/** A key as one token of a JSON pointer (RFC 6901): `~` and `/` escaped. */
function jsonPointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * metav1.Condition semantics: lastTransitionTime changes only when a condition's status changes. Kept from the
 * current status when the status is the same, set to now when it changed or is new.
 */
export function withTransitionTimes(
  status: Record<string, unknown>,
  current: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const next = JSON.parse(JSON.stringify(status)) as Record<string, unknown>;
  const conditions = next.conditions as Condition[] | undefined;
  if (!Array.isArray(conditions)) return next;
  const before = (current?.conditions as Condition[] | undefined) ?? [];
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const c of conditions) {
    const old = before.find((o) => o.type === c.type);
    c.lastTransitionTime = old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now;
  }
  return next;
}

/** JSON with sorted keys (and undefined dropped): equal for equal content regardless of key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) => {
    if (val && typeof val === 'object' && !Array.isArray(val)) {
      return Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return val;
  });
}

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}
