import type { V1ObjectMeta } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };

/** The informer's cache: the last state seen of every watched object, indexed by namespace then name. */

export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

export class Store<T extends ObjectLike> {
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.byNamespace.get(namespace ?? '')?.get(name);
  }

  /** Every object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return [...(this.byNamespace.get(namespace)?.values() ?? [])];
    const out: T[] = [];
    for (const m of this.byNamespace.values()) out.push(...m.values());
    return out;
  }

  /** Stores `obj`; returns the object it replaced. */
  set(obj: T): T | undefined {
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata!.name!;
    let m = this.byNamespace.get(ns);
    if (!m) this.byNamespace.set(ns, (m = new Map()));
    const old = m.get(name);
    m.set(name, obj);
    if (!old) this.count++;
    return old;
  }

  delete(namespace: string | undefined, name: string): T | undefined {
    const ns = namespace ?? '';
    const m = this.byNamespace.get(ns);
    const old = m?.get(name);
    if (m && old) {
      m.delete(name);
      this.count--;
      if (m.size === 0) this.byNamespace.delete(ns);
    }
    return old;
  }
}

export function keyOf(obj: ObjectLike): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : `${obj.metadata?.name}`;
}

/**
 * `fn` computed once per object. Sound for what the informer caches: a change replaces the object, never edits it,
 * so a result kept for an object stays true of it. Scans over the whole cache (conflict checks, dependency mapping)
 * run once per reconcile or event; without this they re-derive every object each time, N² work in a burst.
 */
export function perObject<O extends object, R>(fn: (obj: O) => R): (obj: O) => R {
  const memo = new WeakMap<O, R>();
  return (obj) => {
    if (memo.has(obj)) return memo.get(obj)!;
    const r = fn(obj);
    memo.set(obj, r);
    return r;
  };
}
