/**
 * The cluster's identity for the owner tags (TAG_CLUSTER): --cluster-id, else the UID of the kube-system namespace,
 * which is stable for the life of the cluster and the same for every replica. Without either the reconciler cannot
 * tell its own Azure resources from another cluster's, so it does not start.
 */
import type { KubeClient } from '../kube/client';

export class ClusterIdentityError extends Error {
  constructor(cause: string) {
    super(
      `cannot read the kube-system namespace for the cluster identity (${cause}); pass --cluster-id=<a stable name for ` +
        'this cluster> (env CLUSTER_ID), or grant get on namespaces/kube-system',
    );
    this.name = 'ClusterIdentityError';
  }
}

export async function resolveClusterId(configured: string | undefined, client: KubeClient): Promise<string> {
  if (configured) return configured;
  let uid: string | undefined;
  try {
    uid = (await client.request<{ metadata?: { uid?: string } }>('GET', '/api/v1/namespaces/kube-system')).metadata?.uid;
  } catch (err) {
    throw new ClusterIdentityError(err instanceof Error ? err.message : String(err));
  }
  if (!uid) throw new ClusterIdentityError('the namespace has no UID');
  return uid;
}
