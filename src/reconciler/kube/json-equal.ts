/**
 * Equality of JSON documents (Kubernetes objects, statuses) as their JSON says, without rendering them: key order
 * does not matter, properties set to undefined are absent, values with toJSON (Date) compare by it. Comparing by
 * JSON.stringify built two copies of every object on every informer update and every view of a status.
 */
export type IgnoreKey = (key: string, parent: readonly string[]) => boolean;

export function jsonEqual(a: unknown, b: unknown, ignore?: IgnoreKey): boolean {
  return equal(a, b, ignore, []);
}

function equal(a: unknown, b: unknown, ignore: IgnoreKey | undefined, path: string[]): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (hasToJson(a) || hasToJson(b)) return JSON.stringify(a) === JSON.stringify(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i], ignore, path)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k of Object.keys(x)) {
    if (absent(x[k]) || ignore?.(k, path)) continue;
    keys++;
    path.push(k);
    const same = equal(x[k], y[k], ignore, path);
    path.pop();
    if (!same) return false;
  }
  for (const k of Object.keys(y)) {
    if (!absent(y[k]) && !ignore?.(k, path)) keys--;
  }
  return keys === 0;
}

function absent(v: unknown): boolean {
  return v === undefined || typeof v === 'function' || typeof v === 'symbol';
}

function hasToJson(v: object): boolean {
  return typeof (v as { toJSON?: unknown }).toJSON === 'function';
}
