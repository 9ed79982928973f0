/**
 * PostgresServer: one Azure Database for PostgreSQL flexible server, as a descriptor of the one Azure lifecycle
 * (lifecycle/engine.ts). Its extras are steps: the private DNS zone's suffix, the resource group, the administrator
 * credentials and connection Secret, Microsoft Entra sign-in (tenant, administrators), and server parameters. See docs/reconciler-behaviour.md.
 */
import { Reason, type Timing } from './common';
import type { ArmKindDescriptor, AzureState } from './lifecycle/descriptor';
import { ArmLifecycleController } from './lifecycle/engine';
import { SERVER_ARM_TYPE } from './parents';
import { AdministratorCredentials } from './server-credentials';
import { EntraSignIn } from './server-entra';
import { ownerOf, PrivateDnsZoneSuffix, ResourceGroup, serverOfDatabases, ServerParameters } from './server-extras';
import { ServerPower } from './server-power';
import { replicasOf, ServerSource } from './server-source';
import type { PostgresServerSpec } from '../../../imports/cdk8s-azure.dev';
import { normalizeServerSpec, subscriptionOutOfScope, validateServerSpec, type NormalizedServerSpec } from '../../api';
import type { Server, ServerForPatch } from '../azure/postgres-arm';
import { diffServer, toArmServer } from '../azure/server-mapping';
import type { AzureTenancy } from '../azure/tenancy';
import type { AnyObject, ControllerEnvironment, Dependency } from '../contracts';

export { PASSWORD_SYNCED } from './server-credentials';

const BUSY_STATES = new Set(['provisioning', 'updating', 'starting', 'restarting', 'dropping', 'stopping']);

/**
 * Azure busy with something the reconciler did not start (wait), or in a state it cannot act on (Disabled,
 * Inaccessible). A Stopped server is the ServerPower step's: it stays stopped or is started, as the spec says.
 */
function serverState(server: Server): AzureState | undefined {
  const state = (server.state ?? '').toLowerCase();
  if (state === 'ready') return undefined;
  if (BUSY_STATES.has(state)) return { reason: Reason.Provisioning, message: `Azure reports the server ${server.state}; waiting` };
  return {
    reason: Reason.ServerNotRunning,
    message: `Azure reports the server ${server.state ?? 'in an unknown state'}; the reconciler cannot act on a server in this state`,
    failure: 'userError',
  };
}

export const SERVER: ArmKindDescriptor<NormalizedServerSpec, Server, Server, ServerForPatch> = {
  kind: 'PostgresServer',
  noun: 'server',
  armType: SERVER_ARM_TYPE,
  ownership: 'tags',
  ownsSecrets: true,
  normalize: (obj) => normalizeServerSpec(obj.spec as PostgresServerSpec),
  validate: validateServerSpec,
  azureName: (spec) => spec.azureName,
  place: (_env, _obj, spec) => ({ kind: 'placed', at: { resourceGroup: spec.resourceGroup.name, parents: [], name: spec.azureName } }),
  placeForDeletion: (_env, _obj, spec) =>
    (spec.resourceGroup.name && spec.azureName ? { resourceGroup: spec.resourceGroup.name, parents: [], name: spec.azureName } : undefined),
  deletionPolicy: (_env, _obj, spec) => ({ policy: spec.deletionPolicy === 'Retain' ? 'Retain' : 'Delete' }),
  outOfSubscription: (obj, spec, subscriptionId, scope) => {
    const { delegatedSubnetResourceId: subnet, privateDnsZoneResourceId: zone } = spec.network;
    const outside = (field: string, id: string | undefined) =>
      (id ? subscriptionOutOfScope(scope, obj.metadata.namespace, subscriptionId, field, id) : undefined);
    return outside('spec.network.delegatedSubnetResourceId', subnet) ?? outside('spec.network.privateDnsZoneResourceId', zone);
  },
  operations: (client, at) => ({
    get: () => client.servers.get(at.resourceGroup, at.name),
    beginCreate: (body, options) => client.servers.beginCreateOrUpdate(at.resourceGroup, at.name, body, options),
    beginUpdate: (patch, options) => client.servers.beginUpdate(at.resourceGroup, at.name, patch, options),
    beginDelete: (options) => client.servers.beginDelete(at.resourceGroup, at.name, options),
  }),
  createBody: (ctx) => toArmServer(ctx.spec, ownerOf(ctx)),
  compare: (ctx, server) => diffServer(ctx.spec, server, ownerOf(ctx)),
  azureState: serverState,
  statusOf: (server) => ({ fullyQualifiedDomainName: server.fullyQualifiedDomainName, state: server.state, version: server.version }),
  availableMessage: (ctx, server) => `Server ${ctx.at.name} is ready at ${server.fullyQualifiedDomainName}`,
  steps: (ctx) => [
    // ServerSource first: a replica's Secret gets its source's password before the credentials step reads it.
    new ServerSource(ctx),
    new PrivateDnsZoneSuffix(ctx),
    new ResourceGroup(ctx),
    new AdministratorCredentials(ctx),
    new EntraSignIn(ctx),
    new ServerParameters(ctx),
    // Last: a server is stopped only once everything else matches (Azure takes no change while it is stopped).
    new ServerPower(ctx),
  ],
  dependsOn: (env) => [serverOfDatabases(), sourceOfReplicas(env)],
  deletionWaitsFor(env, obj) {
    const replicas = replicasOf(env, obj);
    return replicas.length > 0 ? `its read replicas (PostgresServer ${replicas.map((r) => r.metadata.name).join(', ')}) are deleted` : undefined;
  },
};

/** A server's replicas and restores wait for it; its deletion waits for its replicas: either's change requeues the other. */
function sourceOfReplicas(env: ControllerEnvironment): Dependency {
  return {
    kind: 'PostgresServer',
    mapToKeys: (changed) => {
      const source = normalizeServerSpec(changed.spec as PostgresServerSpec).source;
      const keys = source ? [{ namespace: changed.metadata.namespace, name: source.serverName }] : [];
      const made = env.kube.list<AnyObject>('PostgresServer', changed.metadata.namespace)
        .filter((o) => normalizeServerSpec(o.spec as PostgresServerSpec).source?.serverName === changed.metadata.name)
        .map((o) => ({ namespace: o.metadata.namespace, name: o.metadata.name }));
      return [...keys, ...made];
    },
  };
}

export class PostgresServerController extends ArmLifecycleController {
  constructor(env: ControllerEnvironment, tenancy: AzureTenancy, timing: Timing) {
    super(env, tenancy, timing, SERVER);
  }
}
