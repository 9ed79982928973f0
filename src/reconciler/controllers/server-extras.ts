/**
 * Steps of the server's lifecycle besides its credentials: the private DNS zone checked against Azure's suffix, the
 * resource group (created before the server when the spec asks, never deleted), and server parameters (Azure
 * configurations, set one at a time once the server matches).
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import {
  azureParameterName,
  formatProblem,
  normalizeDatabaseSpec,
  parametersWithExtensions,
  privateDnsZoneName,
  privateDnsZonePrefix,
  type NormalizedServerSpec,
} from '../../api';
import { parameterDrift, ownerTags } from '../azure/server-mapping';
import type { ControllerEnvironment, Dependency, PostgresDatabaseObject, ReconcileResult } from '../contracts';
import { isBeingDeleted } from './common';
import { classifyAzureError } from '../errors/classify';
import type { LifecycleContext, LifecycleStep } from './lifecycle/descriptor';
import { afterStart } from './lifecycle/operations';
import { failed, invalidSpec } from './lifecycle/outcome';

/** The Kubernetes owner (and cluster) of what the server's lifecycle creates, for its owner tags. */
export function ownerOf(ctx: LifecycleContext<unknown>): { namespace: string; name: string; uid: string; cluster?: string } {
  const { namespace, name, uid } = ctx.object.metadata;
  return { namespace, name, uid, ...(ctx.env.clusterId ? { cluster: ctx.env.clusterId } : {}) };
}

/**
 * A private DNS zone must end with the PostgreSQL suffix of the cloud the reconciler works in, which Azure gives
 * (getPrivateDnsZoneSuffix: sovereign clouds differ; the API accepts any of them). A zone of another cloud is
 * InvalidSpec before anything is sent. When the suffix cannot be had, the check is skipped (Azure refuses such a zone
 * itself): it only makes the mistake clearer, and must not block a server.
 */
export class PrivateDnsZoneSuffix implements LifecycleStep<Server, Server, ServerForPatch> {
  readonly name = 'private DNS zone suffix';

  constructor(private readonly ctx: LifecycleContext<NormalizedServerSpec>) {}

  async beforeAzure(): Promise<ReconcileResult | undefined> {
    const { arm, spec, status, log } = this.ctx;
    const zone = spec.network.privateDnsZoneResourceId;
    if (zone === undefined) return undefined;
    let suffix: string;
    try {
      suffix = await arm.privateDnsZoneSuffix();
    } catch (e) {
      log.warn({ error: classifyAzureError(e).message }, 'could not get Azure\'s private DNS zone suffix; the zone is left for Azure to check');
      return undefined;
    }
    if (privateDnsZonePrefix(privateDnsZoneName(zone), suffix) !== undefined) return undefined;
    return invalidSpec(status, formatProblem({
      field: 'network.privateDnsZoneResourceId',
      value: zone,
      expected: `the zone name must end with .${suffix}, the PostgreSQL private DNS zone suffix of this Azure cloud (Azure's getPrivateDnsZoneSuffix)`,
    }));
  }
}

export class ResourceGroup implements LifecycleStep<Server, Server, ServerForPatch> {
  readonly name = 'resource group';

  constructor(private readonly ctx: LifecycleContext<NormalizedServerSpec>) {}

  async beforeCreate(): Promise<ReconcileResult | undefined> {
    const { arm, spec, status, env, object } = this.ctx;
    const group = spec.resourceGroup.name;
    if (!spec.resourceGroup.create) return undefined;
    try {
      if (await arm.resourceGroupExists(group)) return undefined;
      await arm.createResourceGroup(group, spec.location, ownerTags(ownerOf(this.ctx)));
    } catch (e) {
      return failed(status, classifyAzureError(e), `creating resource group ${group} failed`);
    }
    env.kube.event(object, 'Normal', 'ResourceGroupCreated', `Created resource group ${group} in ${spec.location}`);
    return undefined;
  }
}

/** The databases of a server (not being deleted), from the cache. */
function databasesOf(env: ControllerEnvironment, namespace: string, serverName: string): PostgresDatabaseObject[] {
  return env.kube
    .list<PostgresDatabaseObject>('PostgresDatabase', namespace)
    .filter((d) => d.spec?.serverRef?.name === serverName && !isBeingDeleted(d));
}

/** A change of a database's extensions requeues its server, which keeps azure.extensions. */
export function serverOfDatabases(): Dependency {
  return {
    kind: 'PostgresDatabase',
    mapToKeys: (db) => {
      const server = (db.spec as { serverRef?: { name?: string } } | undefined)?.serverRef?.name;
      return server ? [{ namespace: db.metadata.namespace, name: server }] : [];
    },
  };
}

export class ServerParameters implements LifecycleStep<Server, Server, ServerForPatch> {
  readonly name = 'server parameters';

  constructor(private readonly ctx: LifecycleContext<NormalizedServerSpec>) {}

  /**
   * Parameters not in the spec keep Azure's values; those in it are compared (all read in one list call: a resync
   * costs one read, not one per parameter) and set one at a time. azure.extensions is the spec's list plus every
   * extension the server's databases ask for.
   */
  async whenInSync(): Promise<ReconcileResult | undefined> {
    const { arm, at, status, env, object } = this.ctx;
    const asked = databasesOf(env, object.metadata.namespace, object.metadata.name).flatMap((d) => normalizeDatabaseSpec(d.spec).extensions);
    const spec = { ...this.ctx.spec, parameters: parametersWithExtensions(this.ctx.spec.parameters, asked) };
    const names = Object.keys(spec.parameters).sort();
    if (names.length === 0) return undefined;
    let listed;
    try {
      listed = await arm.listConfigurations(at.resourceGroup, at.name);
    } catch (e) {
      return failed(status, classifyAzureError(e), 'reading the server parameters failed');
    }
    const inAzure: Record<string, string | undefined> = {};
    for (const name of names) {
      const configuration = listed.get(azureParameterName(name).toLowerCase());
      if (!configuration) {
        return invalidSpec(status, formatProblem({ field: `parameters.${name}`, value: spec.parameters[name], expected: `Azure has no server parameter ${name} on this server (see az postgres flexible-server parameter list)` }));
      }
      inAzure[name] = configuration.value;
    }
    for (const name of parameterDrift(spec.parameters, inAzure)) {
      const generation = this.ctx.object.metadata.generation;
      const step = await arm.startPutConfiguration(at.resourceGroup, at.name, azureParameterName(name), spec.parameters[name], generation);
      const ended = await afterStart(this.ctx, step, `setting server parameter ${name}`);
      if (ended) return ended;
    }
    return undefined;
  }
}
