/**
 * Namespace scopes: what the resources of each namespace may touch in Azure, set only by the cluster admin (the
 * reconciler's --namespace-scopes, the install's `namespaceScopes`, the Helm chart's `namespaceScopes`), never by a
 * namespace's user. For each namespace:
 *  - `subscriptionId`: the subscription its resources live in (default: the reconciler's --subscription-id);
 *  - `resourceGroups`: the resource groups they may use: names, or prefixes ending in `*` (`*` alone: any), compared
 *    ignoring case, as Azure compares them;
 *  - `clientId` (and `tenantId`): the Azure identity the reconciler signs in as for them (default: its own). On AKS
 *    each such identity has a federated credential that trusts the reconciler's one ServiceAccount;
 *  - `networkScopes`: Azure scopes of other subscriptions (a subscription, a resource group or a resource, as resource
 *    IDs) whose subnets and private DNS zones its servers may use, such as a hub network's private DNS zones.
 *
 * Once scopes are set, a namespace not listed may use nothing in Azure. Text form (the flag, the environment
 * variable): JSON, e.g. `{"shop":{"subscriptionId":"...","resourceGroups":["shop-rg","shop-*"],"clientId":"..."}}`.
 */
import { formatProblem, isPlainObject, showValue, type Problem } from './problem';
import { checkStringRule, DNS_LABEL, GUID, type StringRule } from './rules';

/** What one namespace's resources may touch in Azure, and as whom. */
export interface NamespaceScope {
  readonly subscriptionId?: string;
  readonly resourceGroups: readonly string[];
  readonly clientId?: string;
  readonly tenantId?: string;
  readonly networkScopes?: readonly string[];
}

/** Namespace -> its scope. */
export type NamespaceScopes = Readonly<Record<string, NamespaceScope>>;

/** The Azure identity the reconciler signs in as for a namespace (workload identity: a client ID, maybe a tenant). */
export interface AzureIdentity {
  readonly clientId: string;
  readonly tenantId?: string;
}

/** A resource-group name, or a prefix followed by `*`. */
export const RESOURCE_GROUP_PATTERN: StringRule = {
  minLength: 1,
  maxLength: 90,
  pattern: /^(?:[-\w.()]*[-\w()]|[-\w.()]*\*)$/,
  description: 'a resource-group name (1-90 letters, digits, _ - . ( ), not ending with a period), or a prefix of one followed by * (e.g. team-a-*; * alone for any)',
};

/** An Azure scope as a resource ID: a subscription, a resource group of it, or a resource in that group. */
export const AZURE_SCOPE_ID: StringRule = {
  pattern: /^\/subscriptions\/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?:\/resourceGroups\/[^/]+(?:\/providers\/[^/]+(?:\/[^/]+\/[^/]+)+)?)?$/,
  description: 'an Azure scope as a resource ID: /subscriptions/<guid>, /subscriptions/<guid>/resourceGroups/<group>, or a resource\'s ID '
    + '(e.g. /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/<zone>)',
};

const SCOPE_FIELDS = ['subscriptionId', 'resourceGroups', 'clientId', 'tenantId', 'networkScopes'] as const;
const SCOPE_EXAMPLE = '{ shop: { subscriptionId: \'<guid>\', resourceGroups: [\'shop-rg\', \'shop-*\'], clientId: \'<guid>\' } }';

/**
 * Every problem of a namespace-scopes value, each with its field (`<namespace>.resourceGroups[0]`), value and fix: the
 * one check behind the reconciler's flag, the install's synth validation and the Helm chart's values schema.
 */
export function namespaceScopesProblems(value: unknown, root = ''): Problem[] {
  const problems = scopesProblems(value);
  return root ? problems.map((p) => ({ ...p, field: p.field ? `${root}.${p.field}` : root })) : problems;
}

/** The problems, each field relative to the value (`''`: the value itself). */
function scopesProblems(value: unknown): Problem[] {
  if (!isPlainObject(value)) return [{ field: '', value, expected: `must map namespace names to their scope, e.g. ${SCOPE_EXAMPLE}` }];
  const entries = Object.entries(value);
  if (entries.length === 0) return [{ field: '', value, expected: `must bind at least one namespace, e.g. ${SCOPE_EXAMPLE}; leave it unset for no restriction` }];
  const problems: Problem[] = [];
  const add = (p: Problem | undefined) => p && problems.push(p);
  for (const [namespace, scope] of entries) {
    if (checkStringRule(namespace, namespace, DNS_LABEL)) {
      problems.push({ field: namespace, value: namespace, expected: `the key must be ${DNS_LABEL.description}` });
    }
    if (!isPlainObject(scope)) {
      problems.push({ field: namespace, value: scope, expected: 'must be an object with resourceGroups and, optionally, subscriptionId, clientId, tenantId and networkScopes' });
      continue;
    }
    for (const key of Object.keys(scope)) {
      if (!(SCOPE_FIELDS as readonly string[]).includes(key)) {
        problems.push({ field: `${namespace}.${key}`, value: scope[key], expected: `is not a field of a namespace scope; use ${SCOPE_FIELDS.join(', ')}` });
      }
    }
    for (const key of ['subscriptionId', 'clientId', 'tenantId'] as const) {
      if (scope[key] !== undefined) add(checkStringRule(`${namespace}.${key}`, scope[key], GUID));
    }
    if (scope.tenantId !== undefined && scope.clientId === undefined) {
      problems.push({ field: `${namespace}.tenantId`, value: scope.tenantId, expected: 'needs clientId: a tenant names where the namespace\'s identity is; set clientId too, or drop tenantId' });
    }
    const networkScopes = scope.networkScopes;
    if (networkScopes !== undefined) {
      if (Array.isArray(networkScopes)) {
        networkScopes.forEach((id, i) => add(checkStringRule(`${namespace}.networkScopes[${i}]`, id, AZURE_SCOPE_ID)));
      } else {
        problems.push({ field: `${namespace}.networkScopes`, value: networkScopes, expected: `must be a list of Azure scopes: ${AZURE_SCOPE_ID.description}` });
      }
    }
    const groups = scope.resourceGroups;
    if (!Array.isArray(groups)) {
      problems.push({ field: `${namespace}.resourceGroups`, value: groups, expected: 'must be a list of resource-group names or prefixes ending in * ([] for none, [\'*\'] for any)' });
      continue;
    }
    groups.forEach((g, i) => add(checkStringRule(`${namespace}.resourceGroups[${i}]`, g, RESOURCE_GROUP_PATTERN)));
  }
  return problems;
}

/** The problems in one line: `shop.resourceGroups[0] = "rg.": ...` (the value itself: `= value: ...`). */
export function formatScopeProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.field ? formatProblem(p, '') : `${showValue(p.value)}: ${p.expected}`)).join('; ');
}

/** Parses the text form (JSON); `problems` when it is not valid JSON or not valid scopes. */
export function parseNamespaceScopes(text: string): { scopes: NamespaceScopes } | { problems: Problem[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { problems: [{ field: '', value: text, expected: `must be JSON (${(e as Error).message}), e.g. ${JSON.stringify({ shop: { resourceGroups: ['shop-rg'] } })}` }] };
  }
  const problems = namespaceScopesProblems(value);
  return problems.length > 0 ? { problems } : { scopes: value as NamespaceScopes };
}

/** The text form of `scopes`: JSON with its keys sorted, as Helm's toJson writes it (the chart renders the same). */
export function formatNamespaceScopes(scopes: NamespaceScopes): string {
  const sorted = (v: unknown): unknown => Array.isArray(v) ? v.map(sorted)
    : isPlainObject(v) ? Object.fromEntries(Object.keys(v).sort().map(k => [k, sorted(v[k])])) : v;
  return JSON.stringify(sorted(scopes));
}

/**
 * JSON Schema (draft 7) of a namespace-scopes value, made from the same rules, for the Helm chart's
 * values.schema.json: Helm refuses bad values before it renders anything.
 */
export function namespaceScopesJsonSchema(): Record<string, unknown> {
  const string = (rule: StringRule) => ({
    type: 'string',
    ...(rule.minLength !== undefined ? { minLength: rule.minLength } : {}),
    ...(rule.maxLength !== undefined ? { maxLength: rule.maxLength } : {}),
    ...(rule.pattern ? { pattern: rule.pattern.source } : {}),
    description: rule.description,
  });
  return {
    type: 'object',
    description: 'Namespace -> what its resources may touch in Azure, and the identity used for them (src/api/scope.ts).',
    propertyNames: string(DNS_LABEL),
    additionalProperties: {
      type: 'object',
      additionalProperties: false,
      required: ['resourceGroups'],
      properties: {
        subscriptionId: string(GUID),
        resourceGroups: { type: 'array', items: string(RESOURCE_GROUP_PATTERN) },
        clientId: string(GUID),
        tenantId: string(GUID),
        networkScopes: { type: 'array', items: string(AZURE_SCOPE_ID) },
      },
      dependencies: { tenantId: ['clientId'] },
    },
  };
}

/** Whether `pattern` (a name, or a prefix followed by `*`) matches `resourceGroup`, ignoring case as Azure does. */
export function resourceGroupMatches(pattern: string, resourceGroup: string): boolean {
  const p = pattern.toLowerCase();
  const rg = resourceGroup.toLowerCase();
  return p.endsWith('*') ? rg.startsWith(p.slice(0, -1)) : rg === p;
}

/** The scope of `namespace`, or undefined when it has none (or scopes are not set). */
export function scopeOf(scopes: NamespaceScopes | undefined, namespace: string): NamespaceScope | undefined {
  return scopes !== undefined && Object.prototype.hasOwnProperty.call(scopes, namespace) ? scopes[namespace] : undefined;
}

/** The identity of a namespace's scope, or undefined for the reconciler's own. */
export function identityOf(scope: NamespaceScope | undefined): AzureIdentity | undefined {
  return scope?.clientId === undefined ? undefined : { clientId: scope.clientId, ...(scope.tenantId ? { tenantId: scope.tenantId } : {}) };
}

const WHO_SETS = 'The cluster admin sets the scopes (the reconciler\'s --namespace-scopes, env NAMESPACE_SCOPES; the install\'s namespaceScopes)';

/**
 * Why the resources of `namespace` may not use `resourceGroup` (in its subscription), or undefined when they may.
 * `scopes` undefined: no restriction.
 */
export function outOfScope(scopes: NamespaceScopes | undefined, namespace: string, resourceGroup: string): string | undefined {
  if (scopes === undefined) return undefined;
  const scope = scopeOf(scopes, namespace);
  if (!scope) {
    return `namespace ${namespace} has no scope: it may use no subscription or resource group. ${WHO_SETS}; ask the cluster admin to add this namespace`;
  }
  if (scope.resourceGroups.some((p) => resourceGroupMatches(p, resourceGroup))) return undefined;
  const where = scope.subscriptionId ? ` of subscription ${scope.subscriptionId}` : '';
  const may = scope.resourceGroups.length > 0 ? `may use only ${scope.resourceGroups.join(', ')}${where}` : `may use no resource group${where}`;
  return `resource group ${resourceGroup} is outside the scope of namespace ${namespace}, which ${may}. ` +
    `${WHO_SETS}; use a resource group of this namespace, or ask the cluster admin to add this one`;
}

/** The subscription a resource ID names, when it is not `subscriptionId` (ignoring case). */
function otherSubscription(resourceId: string, subscriptionId: string): string | undefined {
  const named = /^\/subscriptions\/([^/]+)\//i.exec(resourceId)?.[1];
  return named === undefined || named.toLowerCase() === subscriptionId.toLowerCase() ? undefined : named;
}

/**
 * Why a resource that was made in another subscription than its namespace's (its status's resource ID) is not looked
 * for in the namespace's: the cluster admin moved the namespace; it is left where it is, not created a second time.
 */
export function movedOutOfScope(namespace: string, subscriptionId: string, resourceId: string): string | undefined {
  const named = otherSubscription(resourceId, subscriptionId);
  if (named === undefined) return undefined;
  return `it is in subscription ${named} (status.azureResourceId), but the resources of namespace ${namespace} now live in subscription ` +
    `${subscriptionId}: it is left there and not made again in ${subscriptionId}. ${WHO_SETS}; to go on managing it, ask the cluster admin ` +
    `to give namespace ${namespace} subscription ${named} again`;
}

/** Whether `resourceId` is `scope` or under it: a prefix ending at a segment, ignoring case as Azure does. */
export function withinAzureScope(scope: string, resourceId: string): boolean {
  const s = scope.toLowerCase().replace(/\/+$/, '');
  const id = resourceId.toLowerCase();
  return id === s || id.startsWith(`${s}/`);
}

/**
 * Why a resource ID a spec names (a subnet, a private DNS zone) is outside the scope of its namespace, or undefined
 * when it is in the namespace's subscription (or names none), or under one of the scope's `networkScopes`.
 */
export function subscriptionOutOfScope(
  scope: NamespaceScope | undefined,
  namespace: string,
  subscriptionId: string,
  field: string,
  resourceId: string,
): string | undefined {
  const named = otherSubscription(resourceId, subscriptionId);
  if (named === undefined) return undefined;
  const shared = scope?.networkScopes ?? [];
  if (shared.some((s) => withinAzureScope(s, resourceId))) return undefined;
  const allowed = shared.length > 0 ? ` or under its networkScopes (${shared.join(', ')})` : '';
  return `${field} names subscription ${named}, but the resources of namespace ${namespace} live in subscription ${subscriptionId}${allowed}. ` +
    `${WHO_SETS}; name a resource of subscription ${subscriptionId}, or ask the cluster admin to add its scope (for example its resource group) to the namespace's networkScopes`;
}
