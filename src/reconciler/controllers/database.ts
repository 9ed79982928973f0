/**
 * PostgresDatabase: a database on a PostgresServer, created through ARM (so it is owned by the server administrator),
 * then locked against PUBLIC (REVOKE ALL ON DATABASE ... FROM PUBLIC) so that only roles granted CONNECT reach it.
 * A descriptor of the one Azure lifecycle; the lock-down is its step.
 */
import { Reason, type Timing } from './common';
import { DatabaseExtensions } from './database-extensions';
import { adminTarget, lookupServer, onFirewallRuleChange } from './parents';
import { childOperations, serverChild } from './server-child';
import type { PostgresDatabaseSpec } from '../../../imports/cdk8s-azure.dev';
import { normalizeDatabaseSpec, validateDatabaseSpec, type NormalizedDatabaseSpec } from '../../api';
import type { Database } from '../azure/postgres-arm';
import type { AzureTenancy } from '../azure/tenancy';
import type { ControllerEnvironment, ReconcileResult } from '../contracts';
import { classifyPostgresError, postgresConditionMessage } from '../errors/classify';
import { perObject } from '../kube/cache';
import { withClient } from '../postgres/connect';
import { lockDownDatabaseSerialized } from '../postgres/roles';
import type { ArmKindDescriptor, ArmObject, LifecycleContext, LifecycleStep } from './lifecycle/descriptor';
import { ArmLifecycleController } from './lifecycle/engine';
import { waiting } from './lifecycle/outcome';

const sameName = (a: string | undefined, b: string): boolean => (a ?? '').toLowerCase().replace(/[-_]/g, '') === b.toLowerCase().replace(/[-_]/g, '');

const normalize = perObject((obj: ArmObject) => normalizeDatabaseSpec(obj.spec as PostgresDatabaseSpec));

/** Locks the database against PUBLIC: only roles granted CONNECT (PostgresRole) get in. */
class LockDown implements LifecycleStep<Database, Database, Database> {
  readonly name = 'lock-down';

  constructor(private readonly ctx: LifecycleContext<NormalizedDatabaseSpec>) {}

  /**
   * On a server without password sign-in, Azure gives a database it creates to a Microsoft Entra administrator, or
   * to azuresu while the server has none, and then no administrator can lock it down: the create waits until the
   * server is Ready, its Entra administrators in place.
   */
  async beforeCreate(): Promise<ReconcileResult | undefined> {
    const { env, object, spec, status, timing } = this.ctx;
    const server = lookupServer(env, object.metadata.namespace, spec.serverName);
    if (!server || server.spec.authentication.password || server.ready) return undefined;
    return waiting(status, Reason.WaitingForServer,
      `waiting for PostgresServer ${spec.serverName} to be Ready (${server.state}): with password sign-in off, a database created before its Microsoft Entra administrators exist would belong to azuresu`, timing);
  }

  async whenInSync(): Promise<ReconcileResult | undefined> {
    const { env, object, spec, status, timing } = this.ctx;
    const server = lookupServer(env, object.metadata.namespace, spec.serverName);
    const target = server ? await adminTarget(env, server, spec.azureName) : { missing: `PostgresServer ${spec.serverName} is gone` };
    if ('missing' in target) return waiting(status, Reason.WaitingForServer, target.missing, timing);
    try {
      await withClient(target, (c) => lockDownDatabaseSerialized(c, spec.azureName));
    } catch (e) {
      const error = classifyPostgresError(e);
      status.ready('False', error.reason,
        postgresConditionMessage(`locking database ${spec.azureName} against PUBLIC failed`, error));
      await status.commit();
      return { failure: error.class };
    }
    return undefined;
  }
}

const DATABASE_PARTS = serverChild('PostgresDatabase', 'databases', normalize);

export const DATABASE: ArmKindDescriptor<NormalizedDatabaseSpec, Database, Database, Database> = {
  ...DATABASE_PARTS,
  // It connects to lock the database down: a firewall rule that starts admitting the reconciler lets it.
  dependsOn: (env) => [...(DATABASE_PARTS.dependsOn?.(env) ?? []), onFirewallRuleChange(env, 'PostgresDatabase')],
  noun: 'database',
  normalize,
  validate: validateDatabaseSpec,
  operations: (client, at) => childOperations(client.databases, (...args) => client.databases.beginCreate(...args), at, false),
  createBody: (ctx) => ({ charset: ctx.spec.charset, collation: ctx.spec.collation }),
  /** Databases are only created: their character set and collation cannot change. */
  compare(ctx, db) {
    const unsupported = [];
    const why = 'the character set and collation are fixed when a database is created; revert the field or create a new database';
    if (db.charset && !sameName(db.charset, ctx.spec.charset)) unsupported.push({ field: 'spec.charset', azure: db.charset, desired: ctx.spec.charset, why });
    if (db.collation && !sameName(db.collation, ctx.spec.collation)) unsupported.push({ field: 'spec.collation', azure: db.collation, desired: ctx.spec.collation, why });
    return { changes: [], unsupported };
  },
  availableMessage: (ctx) => `Database ${ctx.at.name} is ready on server ${ctx.at.parents[0]}`,
  steps: (ctx) => [new LockDown(ctx), new DatabaseExtensions(ctx)],
};

export class PostgresDatabaseController extends ArmLifecycleController {
  constructor(env: ControllerEnvironment, tenancy: AzureTenancy, timing: Timing) {
    super(env, tenancy, timing, DATABASE);
  }
}
