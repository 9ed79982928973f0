/** The API resources the reconciler talks to, and their REST paths. */
import { API_GROUP, API_VERSION, KIND_PLURALS, type Kind } from '../contracts';

export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** Collection path, across all namespaces when `namespace` is undefined. */
export function collectionPath(rt: ResourceType, namespace?: string): string {
  const prefix = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  const ns = rt.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${rt.plural}`;
}

export function objectPath(rt: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  const p = `${collectionPath(rt, namespace)}/${encodeURIComponent(name)}`;
  return subresource ? `${p}/${subresource}` : p;
}

export const CUSTOM_RESOURCES: Record<Kind, ResourceType> = Object.fromEntries(
  (Object.keys(KIND_PLURALS) as Kind[]).map((kind) => [
    kind,
    { group: API_GROUP, version: API_VERSION, plural: KIND_PLURALS[kind], kind, namespaced: true },
  ]),
) as Record<Kind, ResourceType>;

export const KINDS = Object.keys(KIND_PLURALS) as Kind[];

export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const EVENTS: ResourceType = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };
export const LEASES: ResourceType = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
};
