/**
 * What every ARM child of a flexible server (databases, firewall rules) has in its descriptor: it lives under the
 * server its serverRef names, proceeds whenever that server exists in Azure and can be reached (not on the server's
 * Ready condition), has one manager per Azure name, inherits the server's deletion policy when it has none, and is
 * woken when its server (or a twin) changes.
 */
import type { OperationState, SimplePollerLike } from '@azure/core-lro';
import type { BeginOptions } from '../azure/lro';
import type { PostgresArm } from '../azure/postgres-arm';
import type { SdkOperations } from '../azure/resource';
import { parseResourceId, type ArmAddress } from '../azure/resource-id';
import type { AnyObject, ControllerEnvironment, Dependency } from '../contracts';
import { perObject } from '../kube/cache';
import type { ArmKind, ArmKindDescriptor, ArmObject, DeletionPolicy, Placement } from './lifecycle/descriptor';
import { azureNameOf } from './lifecycle/ownership';
import { childrenOf, lookupServer, SERVER_ARM_TYPE } from './parents';

/** The fields every child spec normalizes to (src/api). */
export interface ServerChildSpec {
  readonly serverName: string;
  readonly azureName: string;
  /** undefined: the server's. */
  readonly deletionPolicy?: DeletionPolicy;
}

type SharedParts<Spec extends ServerChildSpec> = Pick<
  ArmKindDescriptor<Spec, never, never, never>,
  'kind' | 'armType' | 'ownership' | 'azureName' | 'place' | 'placeForDeletion' | 'deletionPolicy' | 'parentExists' | 'dependsOn'
>;

/**
 * The shared parts of a child's descriptor. `armChildType` is the child's type under flexibleServers, e.g. `databases`;
 * `placeable` may refuse a server the child cannot live on (InvalidSpec).
 */
export function serverChild<Spec extends ServerChildSpec>(
  kind: ArmKind,
  armChildType: string,
  normalize: (obj: ArmObject) => Spec,
  placeable?: (server: NonNullable<ReturnType<typeof lookupServer>>, spec: Spec) => string | undefined,
): SharedParts<Spec> {
  const armType = `${SERVER_ARM_TYPE}/${armChildType}`;
  const recordedAt = perObject((obj: ArmObject) => parseResourceId(armType, obj.status?.azureResourceId));
  return {
    kind,
    armType,
    ownership: 'one-per-name',
    azureName: (spec) => spec.azureName,
    place(env: ControllerEnvironment, obj: ArmObject, spec: Spec): Placement {
      const server = lookupServer(env, obj.metadata.namespace, spec.serverName);
      if (!server) return { kind: 'waiting', message: `waiting for PostgresServer ${spec.serverName} (not found)` };
      if (!server.reachable || !server.azure) {
        return { kind: 'waiting', message: `waiting for PostgresServer ${spec.serverName} to exist in Azure and be reachable (${server.unreachableBecause})` };
      }
      const refused = placeable?.(server, spec);
      if (refused) return { kind: 'invalid', message: refused };
      return { kind: 'placed', at: underServer(server.azure, spec.azureName) };
    },
    placeForDeletion(env: ControllerEnvironment, obj: ArmObject, spec: Spec): ArmAddress | undefined {
      const recorded = recordedAt(obj);
      if (recorded) return recorded;
      const server = lookupServer(env, obj.metadata.namespace, spec.serverName);
      return server?.azure && spec.azureName ? underServer(server.azure, spec.azureName) : undefined;
    },
    deletionPolicy(env: ControllerEnvironment, obj: ArmObject, spec: Spec) {
      if (spec.deletionPolicy) return { policy: spec.deletionPolicy };
      const server = lookupServer(env, obj.metadata.namespace, spec.serverName);
      // No server object any more: it was deleted with Retain (or its server is gone from Azure, and this child with it).
      const policy: DeletionPolicy = server?.spec.deletionPolicy === 'Delete' ? 'Delete' : 'Retain';
      return { policy, inheritedFrom: `PostgresServer ${spec.serverName}${server ? '' : ', which is gone'}` };
    },
    async parentExists(arm: PostgresArm, at: ArmAddress): Promise<boolean> {
      return (await arm.getServer(at.resourceGroup, at.parents[0])) !== undefined;
    },
    dependsOn(env: ControllerEnvironment): Dependency[] {
      return [childrenOf(env, 'PostgresServer', kind, 'serverRef'), twinsOf(env, kind, normalize)];
    },
  };
}

type Poller<T> = SimplePollerLike<OperationState<T>, T>;

/** The SDK's operation group of a child type (databases, firewallRules): resource group, server, name. */
interface ChildOperationGroup<Resource> {
  get(resourceGroup: string, server: string, name: string): Promise<Resource>;
  beginDelete(resourceGroup: string, server: string, name: string, options: BeginOptions): Promise<Poller<unknown>>;
}

type BeginWrite<Resource> = (
  resourceGroup: string,
  server: string,
  name: string,
  body: Resource,
  options: BeginOptions,
) => Promise<Poller<Resource>>;

/**
 * A child's SDK operations at `at`. `write` creates it (and, when `updatable`, changes it by writing it whole again:
 * firewall rules); without it a difference is UnsupportedChange (databases).
 */
export function childOperations<Resource>(
  group: ChildOperationGroup<Resource>,
  write: BeginWrite<Resource>,
  at: ArmAddress,
  updatable: boolean,
): SdkOperations<Resource, Resource, Resource> {
  const [resourceGroup, server, name] = [at.resourceGroup, at.parents[0], at.name];
  return {
    get: () => group.get(resourceGroup, server, name),
    beginCreate: (body, options) => write(resourceGroup, server, name, body, options),
    ...(updatable ? { beginUpdate: (body: Resource, options: BeginOptions) => write(resourceGroup, server, name, body, options) } : {}),
    beginDelete: (options) => group.beginDelete(resourceGroup, server, name, options),
  };
}

function underServer(server: ArmAddress, name: string): ArmAddress {
  return { resourceGroup: server.resourceGroup, parents: [server.name], name };
}

/** When one object of a kind changes (or goes), the others that name the same Azure child look again (Conflict). */
function twinsOf<Spec extends ServerChildSpec>(env: ControllerEnvironment, kind: ArmKind, normalize: (obj: ArmObject) => Spec): Dependency {
  return {
    kind,
    mapToKeys(changed: AnyObject) {
      const azureName = (o: ArmObject) => normalize(o).azureName;
      const name = azureNameOf(changed as ArmObject, azureName);
      if (!name) return [];
      return env.kube
        .list<ArmObject>(kind)
        .filter((o) => o.metadata.uid !== changed.metadata.uid && azureNameOf(o, azureName) === name)
        .map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name }));
    },
  };
}
