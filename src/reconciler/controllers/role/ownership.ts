/**
 * Who may manage a PostgreSQL role: never the server's administrator login, never a role another live PostgresRole
 * manages (the uid in the role's COMMENT marker), and, with the adopt annotation, only a plain app role of nobody, from
 * a namespace the cluster admin lets adopt. The decision on the role itself is postgres/roles.ts judgeRole; this
 * gives it what only Kubernetes knows.
 */
import { normalizeRoleSpec, normalizeServerSpec } from '../../../api';
import type { AnyObject, ControllerEnvironment, PostgresRoleObject, PostgresServerObject } from '../../contracts';
import { ADOPT_ANNOTATION } from '../../contracts';
import type { RoleClaim, RoleOwner } from '../../postgres/roles';
import { adoptionAllowed } from '../lifecycle/adoption';

/** The message when `roleName` is the server's administrator login (compared as Azure does, without case). */
export function administratorConflict(roleName: string, administratorLogin: string, serverName: string): string | undefined {
  if (roleName.toLowerCase() !== administratorLogin.toLowerCase()) return undefined;
  return `spec.roleName ${roleName} is the administrator login of PostgresServer ${serverName}; a PostgresRole may never manage it. Choose another roleName`;
}

/**
 * Who still manages a role marked for `owner`: a PostgresRole in the cache with that uid, or one this reconciler
 * cannot see (another cluster, or a namespace it does not watch). Undefined: nobody, the marker is an orphan.
 */
export function liveOwner(env: ControllerEnvironment, owner: RoleOwner): string | undefined {
  if (owner.cluster && env.clusterId && owner.cluster.toLowerCase() !== env.clusterId.toLowerCase()) {
    return `a PostgresRole of another cluster (${owner.cluster})`;
  }
  const holder = env.kube.list<AnyObject>('PostgresRole').find((o) => o.metadata.uid === owner.uid);
  if (holder) return `PostgresRole ${holder.metadata.namespace}/${holder.metadata.name}`;
  if (env.watchNamespaces !== undefined && !env.watchNamespaces.includes(owner.namespace ?? '')) {
    return `PostgresRole ${owner.namespace ? `${owner.namespace}/${owner.name}` : `uid=${owner.uid}`}, in a namespace this reconciler does not watch`;
  }
  return undefined;
}

/** What this PostgresRole claims on its role. */
export function claimOf(env: ControllerEnvironment, obj: PostgresRoleObject): RoleClaim {
  const { namespace, name, uid } = obj.metadata;
  return {
    owner: { uid, namespace, name, ...(env.clusterId ? { cluster: env.clusterId } : {}) },
    adopt: obj.metadata.annotations?.[ADOPT_ANNOTATION] === 'true',
    mayAdopt: adoptionAllowed(env, namespace),
    liveOwner: (owner) => liveOwner(env, owner),
    restoredFrom: (owner) => restoredFromSource(env, obj, owner),
  };
}

/**
 * A point-in-time restore copies the source server's roles with their markers: a marker naming the PostgresRole of
 * this namespace that manages the same role name on the server this role's server was restored from belongs to the
 * copied data, not to a live claim on this server.
 */
export function restoredFromSource(env: ControllerEnvironment, obj: PostgresRoleObject, marker: RoleOwner): boolean {
  const namespace = obj.metadata.namespace;
  const role = normalizeRoleSpec(obj.spec);
  const server = env.kube.get<PostgresServerObject>('PostgresServer', { namespace, name: role.serverName });
  const source = server ? normalizeServerSpec(server.spec).source : undefined;
  if (source?.mode !== 'PointInTimeRestore') return false;
  const holder = env.kube.list<PostgresRoleObject>('PostgresRole', namespace).find((o) => o.metadata.uid === marker.uid);
  if (!holder || holder.metadata.uid === obj.metadata.uid) return false;
  const held = normalizeRoleSpec(holder.spec);
  return held.serverName === source.serverName && held.roleName === role.roleName;
}
