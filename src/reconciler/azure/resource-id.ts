/**
 * ARM resource IDs from an ARM type and an address, and back:
 * `/subscriptions/<sub>/resourceGroups/<rg>/providers/<namespace>/<type>/<name>[/<child type>/<child name>...]`.
 */

/** Where a resource is: its resource group, the names of its parents (outermost first) and its own name. */
export interface ArmAddress {
  readonly resourceGroup: string;
  readonly parents: readonly string[];
  readonly name: string;
}

/** `Microsoft.DBforPostgreSQL/flexibleServers/databases` -> the provider namespace and the type segments. */
function splitType(armType: string): { namespace: string; types: string[] } {
  const [namespace, ...types] = armType.split('/');
  if (!namespace || types.length === 0) throw new Error(`not an ARM resource type: ${armType}`);
  return { namespace, types };
}

export function resourceIdOf(subscriptionId: string, armType: string, at: ArmAddress): string {
  const { namespace, types } = splitType(armType);
  const names = [...at.parents, at.name];
  if (names.length !== types.length) throw new Error(`${armType} needs ${types.length} names, got ${names.length}`);
  const path = types.map((t, i) => `${t}/${names[i]}`).join('/');
  return `/subscriptions/${subscriptionId}/resourceGroups/${at.resourceGroup}/providers/${namespace}/${path}`;
}

/** The address in a resource ID of `armType` (case-insensitive, as ARM IDs are), or undefined when it is not one. */
export function parseResourceId(armType: string, id: string | undefined): ArmAddress | undefined {
  if (!id) return undefined;
  const { namespace, types } = splitType(armType);
  const segments = id.split('/').filter((s) => s !== '');
  // subscriptions, <sub>, resourceGroups, <rg>, providers, <namespace>, then type/name pairs
  if (segments.length !== 6 + 2 * types.length) return undefined;
  const same = (a: string | undefined, b: string) => a?.toLowerCase() === b.toLowerCase();
  if (!same(segments[0], 'subscriptions') || !same(segments[2], 'resourceGroups') || !same(segments[4], 'providers') || !same(segments[5], namespace)) {
    return undefined;
  }
  const names: string[] = [];
  for (let i = 0; i < types.length; i++) {
    if (!same(segments[6 + 2 * i], types[i])) return undefined;
    names.push(segments[7 + 2 * i]);
  }
  return { resourceGroup: segments[3], parents: names.slice(0, -1), name: names[names.length - 1] };
}

/** Whether two addresses name the same resource (ARM names are case-insensitive). */
export function sameAddress(a: ArmAddress, b: ArmAddress): boolean {
  const key = (x: ArmAddress) => [x.resourceGroup, ...x.parents, x.name].join('/').toLowerCase();
  return key(a) === key(b);
}

/** The address of a resource's parent (for a child: its server). */
export function parentAddress(at: ArmAddress): ArmAddress | undefined {
  if (at.parents.length === 0) return undefined;
  return { resourceGroup: at.resourceGroup, parents: at.parents.slice(0, -1), name: at.parents[at.parents.length - 1] };
}
