/**
 * ARM's authorization (Azure RBAC) as the emulator models it: a client's service principal holds a role on the
 * subscriptions its role assignments name (EmulatorClient.subscriptions). A request under any other subscription is
 * refused by ARM's front door before the resource provider sees it: 403 with x-ms-failure-cause: gateway and error
 * code AuthorizationFailed, whose message names the principal, the action and the scope, as Azure's does:
 *
 *   The client '<oid>' with object id '<oid>' does not have authorization to perform action
 *   'Microsoft.DBforPostgreSQL/flexibleServers/write' over scope '/subscriptions/.../flexibleServers/x' or the scope is
 *   invalid. If access was recently granted, please refresh your credentials.
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
