/**
 * ARM's authorization (Azure RBAC) as the emulator models it. A client's service principal holds role assignments,
 * each at a scope: a resource ID (a subscription, a resource group or a resource; `/` is every subscription). An
 * assignment covers its scope and everything under it, compared ignoring case as ARM compares resource IDs
 * (learn.microsoft.com/azure/role-based-access-control/scope-overview: "Lower levels inherit role permissions from
 * higher levels"). Every assignment is a role that may do everything (Contributor-like); role definitions and actions
 * are not modelled.
 *
 * A request no assignment covers is refused by ARM's front door before the resource provider sees it: 403 with
 * x-ms-failure-cause: gateway and error code AuthorizationFailed, whose message names the principal, the action and
 * the scope, as Azure's does:
 *
 *   The client '<oid>' with object id '<oid>' does not have authorization to perform action
 *   'Microsoft.DBforPostgreSQL/flexibleServers/write' over scope '/subscriptions/.../flexibleServers/x' or the scope is
 *   invalid. If access was recently granted, please refresh your credentials.
 *
 * The scope of a refused request is its path; for the GET of a collection it is the path without the collection's
 * type (Azure/CloudShell#561: a list of network security groups in a resource group without a role there is refused
 * "over scope '/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Network'").
 *
 * Partial access:
 * - The GET of a collection by an identity with an assignment inside the collection's container (a role on rg-a
 *   listing the resource groups or the servers of the subscription, a role on one server listing its resource group's
 *   servers) is answered, with only the items an assignment covers. Confirmed for a subscription's resource list (a
 *   Microsoft engineer on Azure/aci-connector-k8s#19: with Contributor on a resource group, listing the subscription's
 *   resources "will loop through all resources it has permission to under the subscription"). Not confirmed: the
 *   same for the resource groups list, for a resource provider's collections, and for a role on one resource listing
 *   its group. A collection under a resource group the identity has no assignment in is refused (CloudShell#561).
 * - The status of a long-running operation (subscription-level `operationresults`, and the resource provider's
 *   `locations/<l>/azureAsyncOperation|operationResults`, URLs above the resource) may be read with an assignment on a
 *   resource group (or the subscription) there; with one on a resource only, the operation starts but its status is
 *   refused (learn.microsoft.com/azure/azure-resource-manager/management/async-operations, "Permission for tracking
 *   async status"). That only the operation's caller may read it is not modelled.
 *
 * Linked scopes: a server's create or update naming a subnet (`network.delegatedSubnetResourceId`) or a private DNS
 * zone (`network.privateDnsZoneArmResourceId`) also needs the caller's permission there (ARM's linked access check,
 * at the front door, before the resource provider): without an assignment covering it, 403 LinkedAuthorizationFailed,
 * worded as Azure's. The subnet's action is 'write' as quoted in Azure/azure-cli#17883 (a flexible server create,
 * 2021); the zone's is 'Microsoft.Network/privateDnsZones/join/action' as quoted in Azure/data-landing-zone#203 (a
 * private endpoint's zone group naming a zone of another subscription). Not confirmed: how Azure words a request
 * missing both (the subnet is reported here, first).
 */

/** The RBAC action of a request: the resource type of its path, and read, write, delete or <name>/action. */
export function rbacAction(method: string, segments: readonly string[]): string {
  const lower = segments.map((s) => s.toLowerCase());
  let type: string[];
  let action = false;
  const p = lower.indexOf('providers');
  if (p >= 0 && segments.length > p + 1) {
    // providers/<Namespace>/<type>/<name>/<type>/<name>...: the types, then an odd trailing segment is an action.
    const rest = segments.slice(p + 2);
    type = [segments[p + 1], ...rest.filter((_, i) => i % 2 === 0)];
    action = method === 'POST' && rest.length % 2 === 1;
    if (action) type[type.length - 1] = `${type[type.length - 1]}/action`;
  } else {
    type = ['Microsoft.Resources', 'subscriptions', ...(lower[2] === 'resourcegroups' ? ['resourceGroups'] : [])];
  }
  if (action) return type.join('/');
  const verb = method === 'GET' || method === 'HEAD' ? 'read' : method === 'DELETE' ? 'delete' : method === 'POST' ? 'action' : 'write';
  return `${type.join('/')}/${verb}`;
}

/** The body Azure answers with when `principal` may not perform `action` at `scope` (the request's path). */
export function authorizationFailed(principal: string, action: string, scope: string): { error: { code: string; message: string } } {
  return {
    error: {
      code: 'AuthorizationFailed',
      message: `The client '${principal}' with object id '${principal}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    },
  };
}

/** What the front door decides for a request: refused (with the scope its message names), or let through, with a
 * filter of the items of a collection answered to an identity that holds only part of it. */
export type Authorization =
  | { allowed: true; visible?: (resourceId: string) => boolean }
  | { allowed: false; scope: string };

/** The root scope: every subscription of the emulator. */
export const ROOT_SCOPE = '/';

const normalize = (id: string) => id.toLowerCase().replace(/\/+$/, '');

/** Whether an assignment at `scope` covers `resourceId`: the scope is the resource itself or one of its ancestors. */
export function scopeCovers(scope: string, resourceId: string): boolean {
  const s = normalize(scope);
  const r = normalize(resourceId);
  return s === '' || r === s || r.startsWith(`${s}/`);
}

/** Whether the GET of these segments reads a collection: a resource type without a name. */
function isCollection(lower: readonly string[]): boolean {
  const p = lower.indexOf('providers');
  if (p >= 0) return lower.length > p + 2 && (lower.length - p - 2) % 2 === 1;
  return lower.length === 3 && lower[2] === 'resourcegroups';
}

/** The resource (or subscription) a collection's items live under. */
function containerOf(segments: readonly string[]): string {
  const p = segments.findIndex((s) => s.toLowerCase() === 'providers');
  const end = p >= 0 && segments.length - p - 2 === 1 ? p : segments.length - 1;
  return `/${segments.slice(0, end).join('/')}`;
}

function isOperationStatus(method: string, lower: readonly string[]): boolean {
  if (method !== 'GET') return false;
  if (lower.length === 4 && lower[2] === 'operationresults') return true;
  return lower.length === 8 && lower[2] === 'providers' && lower[4] === 'locations' && (lower[6] === 'azureasyncoperation' || lower[6] === 'operationresults');
}

/**
 * Whether an identity holding assignments at `scopes` may make the request `method path` (segments: its path's,
 * /subscriptions/<s>/...). See the top of this file.
 */
export function authorize(scopes: readonly string[], method: string, path: string, segments: readonly string[]): Authorization {
  const id = `/${segments.join('/')}`;
  if (scopes.some((s) => scopeCovers(s, id))) return { allowed: true };
  const lower = segments.map((s) => s.toLowerCase());
  const inside = (container: string) => scopes.some((s) => !scopeCovers(s, container) && scopeCovers(container, s));
  const subscription = `/${segments.slice(0, 2).join('/')}`;
  const onGroup = (s: string) => scopeCovers(subscription, s) && normalize(s).split('/').length <= 5;
  if (isOperationStatus(method, lower) && scopes.some(onGroup)) return { allowed: true };
  if ((method === 'GET' || method === 'HEAD') && isCollection(lower)) {
    if (inside(containerOf(segments))) return { allowed: true, visible: (resourceId) => scopes.some((s) => scopeCovers(s, resourceId)) };
    return { allowed: false, scope: path.replace(/\/+$/, '').replace(/\/[^/]*$/, '') };
  }
  return { allowed: false, scope: path };
}

/** The linked scopes of a request body: a flexible server's subnet and private DNS zone, with the action each needs. */
function linkedScopesOf(segments: readonly string[], body: unknown): Array<{ scope: string; action: string }> {
  const lower = segments.map((x) => x.toLowerCase());
  const p = lower.indexOf('providers');
  if (p < 0 || lower[p + 1] !== 'microsoft.dbforpostgresql' || lower[p + 2] !== 'flexibleservers' || lower.length !== p + 4) return [];
  const network = (body as { properties?: { network?: { delegatedSubnetResourceId?: unknown; privateDnsZoneArmResourceId?: unknown } } } | undefined)
    ?.properties?.network;
  const linked: Array<{ scope: string; action: string }> = [];
  if (typeof network?.delegatedSubnetResourceId === 'string') linked.push({ scope: network.delegatedSubnetResourceId, action: 'write' });
  if (typeof network?.privateDnsZoneArmResourceId === 'string') {
    linked.push({ scope: network.privateDnsZoneArmResourceId, action: 'Microsoft.Network/privateDnsZones/join/action' });
  }
  return linked;
}

/**
 * ARM's linked access check of a write (see the top of this file): the body Azure answers with when the caller, which
 * may write at `path`, may not use a resource the body names; undefined when it may.
 */
export function linkedAuthorizationFailed(
  scopes: readonly string[],
  principal: string,
  method: string,
  path: string,
  segments: readonly string[],
  body: unknown,
): { error: { code: string; message: string } } | undefined {
  if (method !== 'PUT' && method !== 'PATCH') return undefined;
  const refused = linkedScopesOf(segments, body).find((linked) => !scopes.some((s) => scopeCovers(s, linked.scope)));
  if (refused === undefined) return undefined;
  return {
    error: {
      code: 'LinkedAuthorizationFailed',
      message: `The client '${principal}' with object id '${principal}' has permission to perform action '${rbacAction(method, segments)}' on scope '${path}'; `
        + `however, it does not have permission to perform action '${refused.action}' on the linked scope(s) '${refused.scope}' or the linked scope(s) are invalid.`,
    },
  };
}
