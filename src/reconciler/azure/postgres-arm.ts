/**
 * The ARM calls the controllers make, over the SDK clients: reads return undefined for 404, writes are long-running
 * operations started or resumed through lro.ts (never waited for). Errors are reduced to AzureError by lro.ts;
 * reads rethrow the SDK error (use toAzureError) or ArmThrottledError.
 */
import type { Configuration, Database, FirewallRule, Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import type { OperationStatus } from '../contracts';
import type { ArmClients } from './clients';
import { isNotFound } from './errors';
import { resumeLro, startLro, type LroStep } from './lro';

export type { Configuration, Database, FirewallRule, Server, ServerForPatch };

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Resume arguments are placeholders: resumed pollers only follow the recorded operation URL (see lro.ts). */
const UNUSED = {} as never;

export class PostgresArm {
  constructor(readonly clients: ArmClients) {}

  private get pg() {
    return this.clients.postgres;
  }

  // ---- resource groups (synchronous in ARM) ----

  async resourceGroupExists(name: string): Promise<boolean> {
    return (await orUndefined(this.clients.resources.resourceGroups.get(name))) !== undefined;
  }

  async createResourceGroup(name: string, location: string, tags: Record<string, string>): Promise<void> {
    await this.clients.resources.resourceGroups.createOrUpdate(name, { location, tags });
  }

  // ---- servers ----

  getServer(rg: string, name: string): Promise<Server | undefined> {
    return orUndefined(this.pg.servers.get(rg, name));
  }

  startCreateServer(rg: string, name: string, body: Server, generation?: number): Promise<LroStep<Server>> {
    const secrets = body.administratorLoginPassword ? [body.administratorLoginPassword] : [];
    return startLro((o) => this.pg.servers.beginCreateOrUpdate(rg, name, body, o), { type: 'Create', generation, secrets });
  }

  startUpdateServer(rg: string, name: string, patch: ServerForPatch, generation?: number): Promise<LroStep<Server>> {
    const secrets = patch.administratorLoginPassword ? [patch.administratorLoginPassword] : [];
    return startLro((o) => this.pg.servers.beginUpdate(rg, name, patch, o), { type: 'Update', generation, secrets });
  }

  startDeleteServer(rg: string, name: string, generation?: number): Promise<LroStep<unknown>> {
    return startLro((o) => this.pg.servers.beginDelete(rg, name, o), { type: 'Delete', generation });
  }

  /** Polls a recorded server (or server configuration) operation once. */
  resumeServerOperation(rg: string, name: string, op: OperationStatus): Promise<LroStep<unknown>> {
    switch (op.type) {
      case 'Create':
        return resumeLro((o) => this.pg.servers.beginCreateOrUpdate(rg, name, UNUSED, o), op);
      case 'Update':
        return resumeLro((o) => this.pg.servers.beginUpdate(rg, name, UNUSED, o), op);
      case 'Delete':
      default:
        return resumeLro((o) => this.pg.servers.beginDelete(rg, name, o), op);
    }
  }

  // ---- server parameters (configurations) ----

  getConfiguration(rg: string, server: string, name: string): Promise<Configuration | undefined> {
    return orUndefined(this.pg.configurations.get(rg, server, name));
  }

  startPutConfiguration(rg: string, server: string, name: string, value: string, generation?: number): Promise<LroStep<Configuration>> {
    return startLro((o) => this.pg.configurations.beginPut(rg, server, name, { value, source: 'user-override' }, o), { type: 'Update', generation });
  }

  // ---- databases ----

  getDatabase(rg: string, server: string, name: string): Promise<Database | undefined> {
    return orUndefined(this.pg.databases.get(rg, server, name));
  }

  startCreateDatabase(rg: string, server: string, name: string, body: Database, generation?: number): Promise<LroStep<Database>> {
    return startLro((o) => this.pg.databases.beginCreate(rg, server, name, body, o), { type: 'Create', generation });
  }

  startDeleteDatabase(rg: string, server: string, name: string, generation?: number): Promise<LroStep<unknown>> {
    return startLro((o) => this.pg.databases.beginDelete(rg, server, name, o), { type: 'Delete', generation });
  }

  resumeDatabaseOperation(rg: string, server: string, name: string, op: OperationStatus): Promise<LroStep<unknown>> {
    return op.type === 'Delete'
      ? resumeLro((o) => this.pg.databases.beginDelete(rg, server, name, o), op)
      : resumeLro((o) => this.pg.databases.beginCreate(rg, server, name, UNUSED, o), op);
  }

  // ---- firewall rules ----

  getFirewallRule(rg: string, server: string, name: string): Promise<FirewallRule | undefined> {
    return orUndefined(this.pg.firewallRules.get(rg, server, name));
  }

  startPutFirewallRule(rg: string, server: string, name: string, body: FirewallRule, type: 'Create' | 'Update', generation?: number): Promise<LroStep<FirewallRule>> {
    return startLro((o) => this.pg.firewallRules.beginCreateOrUpdate(rg, server, name, body, o), { type, generation });
  }

  startDeleteFirewallRule(rg: string, server: string, name: string, generation?: number): Promise<LroStep<unknown>> {
    return startLro((o) => this.pg.firewallRules.beginDelete(rg, server, name, o), { type: 'Delete', generation });
  }

  resumeFirewallRuleOperation(rg: string, server: string, name: string, op: OperationStatus): Promise<LroStep<unknown>> {
    return op.type === 'Delete'
      ? resumeLro((o) => this.pg.firewallRules.beginDelete(rg, server, name, o), op)
      : resumeLro((o) => this.pg.firewallRules.beginCreateOrUpdate(rg, server, name, UNUSED, o), op);
  }
}
