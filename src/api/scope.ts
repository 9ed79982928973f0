/**
 * Resource-group scopes: which Azure resource groups the resources of a namespace may touch, set by the cluster admin
 * (the reconciler's --resource-group-scopes, the install's `resourceGroupScopes`). Resource-group names are compared
 * case-insensitively, as Azure compares them; a pattern ending in `*` matches every name that starts with what
 * precedes it (`*` alone: any resource group).
 *
 * Text form (the flag, the environment variable): `namespace=group|group;namespace=prefix*`, e.g.
 * `shop=shop-rg|shop-rg-2;billing=billing-*`.
 */
import type { StringRule } from './rules';

/** Namespace -> the resource-group names and patterns its resources may use. */
export type ResourceGroupScopes = Readonly<Record<string, readonly string[]>>;

/** A resource-group name, or a prefix followed by `*`. */
export const RESOURCE_GROUP_PATTERN: StringRule = {
  minLength: 1,
  maxLength: 90,
  pattern: /^(?:[-\w.()]*[-\w()]|[-\w.()]*\*)$/,
  description: 'a resource-group name (1-90 letters, digits, _ - . ( ), not ending with a period), or a prefix of one followed by * (e.g. team-a-*; * alone for any)',
};

/** Whether `pattern` (a name, or a prefix followed by `*`) matches `resourceGroup`, ignoring case as Azure does. */
export function resourceGroupMatches(pattern: string, resourceGroup: string): boolean {
  const p = pattern.toLowerCase();
  const rg = resourceGroup.toLowerCase();
  return p.endsWith('*') ? rg.startsWith(p.slice(0, -1)) : rg === p;
}

/**
 * Why the resources of `namespace` may not use `resourceGroup`, or undefined when they may. `scopes` undefined: no
 * restriction (every namespace may use every resource group).
 */
export function outOfScope(scopes: ResourceGroupScopes | undefined, namespace: string, resourceGroup: string): string | undefined {
  if (scopes === undefined) return undefined;
  const allowed = Object.prototype.hasOwnProperty.call(scopes, namespace) ? scopes[namespace] : undefined;
  if (allowed?.some((p) => resourceGroupMatches(p, resourceGroup))) return undefined;
  const may = allowed && allowed.length > 0 ? `may use only ${allowed.join(', ')}` : 'may use no resource group (it is not listed)';
  return `resource group ${resourceGroup} is outside the scope of namespace ${namespace}, which ${may}. ` +
    'The cluster admin sets the scopes (the reconciler\'s --resource-group-scopes, env RESOURCE_GROUP_SCOPES); ' +
    'use a resource group of this namespace, or ask the cluster admin to add this one';
}

/** The text form of `scopes`: `ns=a|b;ns2=c*`. */
export function formatResourceGroupScopes(scopes: ResourceGroupScopes): string {
  return Object.entries(scopes).map(([ns, groups]) => `${ns}=${groups.join('|')}`).join(';');
}
