/**
 * Ownership of Azure resources that carry owner tags (servers), and adoption of those that do not carry this object's.
 *
 * Adoption is owner-checked and opt-in per namespace. A resource is never adopted when:
 *  - the object's namespace is not one the cluster admin allows to adopt (`--adoption-namespaces`, off by default);
 *  - its owner tags name another cluster (TAG_CLUSTER, the reconciler's `--cluster-id`);
 *  - its owner tags name a Kubernetes object that still exists (by uid), or one in a namespace this reconciler does not
 *    watch (it cannot tell whether that one exists).
 * Tag names are compared case-insensitively (Azure's are). A refused attempt is a condition and a Warning Event on the
 * object that tried, and nothing changes in Azure.
 */
import { TAG_CLUSTER, TAG_NAME, TAG_NAMESPACE, TAG_UID } from '../../../api';
import { ADOPT_ANNOTATION, type AnyObject, type ControllerEnvironment, type Kind } from '../../contracts';
import { Reason } from '../common';

/** What an Azure resource's owner tags say, whatever the letter case of their names. */
export interface OwnerTagValues {
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly cluster?: string;
}

export function readOwnerTags(tags: Record<string, string> | undefined): OwnerTagValues {
  const byLowerName = new Map(Object.entries(tags ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const get = (name: string) => byLowerName.get(name.toLowerCase());
  return { namespace: get(TAG_NAMESPACE), name: get(TAG_NAME), uid: get(TAG_UID), cluster: get(TAG_CLUSTER) };
}

/** Whether the namespace may adopt what exists in Azure. */
export function adoptionAllowed(env: ControllerEnvironment, namespace: string): boolean {
  const allowed = env.adoptionNamespaces ?? [];
  return allowed.includes('*') || allowed.includes(namespace);
}

function sameCluster(env: ControllerEnvironment, cluster: string | undefined): boolean {
  return cluster === undefined || (env.clusterId !== undefined && cluster.toLowerCase() === env.clusterId.toLowerCase());
}

/** The resource's owner tags name this very object (and this cluster, or none). */
export function isOwnedBy(env: ControllerEnvironment, obj: AnyObject, tags: Record<string, string> | undefined): boolean {
  const owner = readOwnerTags(tags);
  return owner.uid === obj.metadata.uid && sameCluster(env, owner.cluster);
}

export type OwnershipVerdict =
  | { readonly verdict: 'ours' }
  | { readonly verdict: 'adopt' }
  | { readonly verdict: 'refused'; readonly reason: string; readonly message: string };

/**
 * Whether `obj` may act on an Azure resource with these tags. `what` names the resource in messages ("Azure server
 * srv-1 in resource group rg").
 */
export function judgeOwnership(
  env: ControllerEnvironment,
  kind: Kind,
  obj: AnyObject,
  tags: Record<string, string> | undefined,
  what: string,
): OwnershipVerdict {
  if (isOwnedBy(env, obj, tags)) return { verdict: 'ours' };
  const namespace = obj.metadata.namespace;
  const mayAdopt = adoptionAllowed(env, namespace);
  if (obj.metadata.annotations?.[ADOPT_ANNOTATION] !== 'true') {
    return {
      verdict: 'refused',
      reason: Reason.AlreadyExists,
      message: `${what} already exists and was not created by this ${kind}; ` + (mayAdopt
        ? `to manage it from here (its administrator password will be reset), add the annotation ${ADOPT_ANNOTATION}: "true"`
        : `adoption (the annotation ${ADOPT_ANNOTATION}: "true") is not enabled for namespace ${namespace}: the reconciler's --adoption-namespaces decides`),
    };
  }
  const refused = (why: string): OwnershipVerdict => ({
    verdict: 'refused',
    reason: Reason.AdoptionRefused,
    message: `${what} is not adopted: ${why}. Nothing was changed in Azure.`,
  });
  if (!mayAdopt) return refused(`adoption is not enabled for namespace ${namespace} (the reconciler's --adoption-namespaces)`);
  const owner = readOwnerTags(tags);
  if (!sameCluster(env, owner.cluster)) return refused(`its owner tags name another Kubernetes cluster (${TAG_CLUSTER}: ${owner.cluster})`);
  const liveOwner = findLiveOwner(env, kind, obj, owner);
  if (liveOwner) return refused(`it is managed by ${kind} ${liveOwner.metadata.namespace}/${liveOwner.metadata.name}, which still exists`);
  if (owner.uid && owner.namespace && env.watchNamespace !== undefined && owner.namespace !== env.watchNamespace) {
    return refused(`its owner tags name ${kind} ${owner.namespace}/${owner.name ?? '?'}, in a namespace this reconciler does not watch`);
  }
  return { verdict: 'adopt' };
}

/** The object the owner tags name, when it still exists (by uid; by namespace and name when the uid tag is missing). */
function findLiveOwner(env: ControllerEnvironment, kind: Kind, obj: AnyObject, owner: OwnerTagValues): AnyObject | undefined {
  if (owner.uid) return env.kube.list<AnyObject>(kind).find((o) => o.metadata.uid === owner.uid && o.metadata.uid !== obj.metadata.uid);
  if (!owner.namespace || !owner.name) return undefined;
  if (owner.namespace === obj.metadata.namespace && owner.name === obj.metadata.name) return undefined;
  return env.kube.get<AnyObject>(kind, { namespace: owner.namespace, name: owner.name });
}
