/**
 * A server made from another PostgresServer, a step of the server's lifecycle (see src/api/server-source.ts):
 *
 *  - Replica (ARM createMode Replica): created once its source is in Azure; it has its source's data, administrator
 *    and password, so its connection Secret carries the source's password (copied, never sent to Azure) and its own
 *    host. `replica.promote` sends replica.promoteMode standalone once. Its source's deletion waits for it.
 *  - PointInTimeRestore: created once its source is in Azure and the time is within the source's backups (Azure's
 *    earliestRestoreDate; InvalidSpec otherwise). The restored data holds the source's administrator password, so the
 *    new server's own password (its Secret's) is marked pending before the create and sent right after it.
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import { formatProblem, normalizeServerSpec, pointInTimeProblem, type NormalizedServerSpec } from '../../api';
import type { ControllerEnvironment, PostgresServerObject, ReconcileResult } from '../contracts';
import { classifyAzureError } from '../errors/classify';
import { decodeSecretData, pendingSecretData } from '../secret-contract';
import { Reason } from './common';
import type { ArmObject, LifecycleContext, LifecycleStep, StepDecision } from './lifecycle/descriptor';
import { failed, invalidSpec, waiting } from './lifecycle/outcome';
import { lookupServer, type ServerRef } from './parents';
import { PASSWORD_SYNCED } from './server-credentials';

const isReplica = (server: Server): boolean => /replica/i.test(server.replicationRole ?? server.replica?.role ?? '');

export class ServerSource implements LifecycleStep<Server, Server, ServerForPatch> {
  readonly name = 'replica or restore';
  private source?: ServerRef;

  constructor(private readonly ctx: LifecycleContext<NormalizedServerSpec>) {}

  /** A replica's Secret has its source's password (the replica's administrator is the source's). */
  async beforeAzure(): Promise<ReconcileResult | undefined> {
    const { env, object, spec, status } = this.ctx;
    if (!spec.source) return undefined;
    this.source = lookupServer(env, object.metadata.namespace, spec.source.serverName);
    if (spec.source.mode !== 'Replica' || !this.source) return undefined;
    if (this.source.spec.administratorLogin !== spec.administratorLogin) {
      return invalidSpec(status, formatProblem({
        field: 'administratorLogin',
        value: spec.administratorLogin,
        expected: `a read replica has its source's administrator: set ${this.source.spec.administratorLogin} (PostgresServer ${spec.source.serverName}'s)`,
      }));
    }
    const sourcePassword = decodeSecretData(await env.kube.getSecret(object.metadata.namespace, this.source.spec.secretName)).password;
    const own = decodeSecretData(await env.kube.getSecret(object.metadata.namespace, spec.secretName));
    if (sourcePassword && own.password !== sourcePassword) {
      await env.kube.applySecret(object, spec.secretName, pendingSecretData(spec.administratorLogin, sourcePassword));
    }
    return undefined;
  }

  async beforeCreate(body: Server): Promise<ReconcileResult | undefined> {
    const { spec, status, timing, arm } = this.ctx;
    const source = spec.source;
    if (!source) return undefined;
    const id = this.source?.obj.status?.azureResourceId;
    if (!this.source?.azure || !id) {
      return waiting(status, Reason.WaitingForServer,
        `waiting for the source PostgresServer ${source.serverName} to exist in Azure (${this.source ? this.source.state : 'it does not exist'})`, timing);
    }
    body.createMode = source.mode;
    body.sourceServerResourceId = id;
    if (source.mode === 'PointInTimeRestore') {
      let earliest: Date | undefined;
      try {
        earliest = (await arm.getServer(this.source.azure.resourceGroup, this.source.azure.name))?.backup?.earliestRestoreDate;
      } catch (e) {
        return failed(status, classifyAzureError(e), `reading the source server ${this.source.azure.name} failed`);
      }
      const problem = pointInTimeProblem(source.pointInTimeUTC, undefined, earliest ? new Date(earliest) : undefined);
      if (problem) return invalidSpec(status, formatProblem(problem));
      body.pointInTimeUTC = new Date(source.pointInTimeUTC!);
      // Recorded with the create: the restored server has the source's password until the Secret's is sent.
      status.condition(PASSWORD_SYNCED, 'False', 'Pending', 'a restored server has its source\'s administrator password; the Secret\'s is sent once it exists');
    }
    return undefined;
  }

  /** The replica's role in status; promotion when the spec asks for it. */
  async whenFound(server: Server): Promise<StepDecision<ServerForPatch>> {
    const { spec, status } = this.ctx;
    status.set('replicationRole', server.replicationRole);
    if (spec.source?.mode !== 'Replica' || !spec.source.promote || !isReplica(server)) return undefined;
    return { patch: { replica: { promoteMode: 'standalone', promoteOption: 'planned' } } as Partial<ServerForPatch>, fields: ['replica.promote'] };
  }
}

/** The PostgresServers that are read replicas of `server` (not promoted), which must go before it. */
export function replicasOf(env: ControllerEnvironment, server: ArmObject): PostgresServerObject[] {
  return env.kube
    .list<PostgresServerObject>('PostgresServer', server.metadata.namespace)
    .filter((o) => {
      const source = normalizeServerSpec(o.spec).source;
      return source?.mode === 'Replica' && source.serverName === server.metadata.name && !(source.promote && o.status?.replicationRole === 'Primary');
    });
}
