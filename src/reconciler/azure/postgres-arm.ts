/**
 * The SDK clients, and the ARM calls that are not a kind's lifecycle (that is azure/resource.ts over each kind's
 * descriptor): resource groups, server parameters, and plain reads (undefined for 404). Reads rethrow the SDK error
 * (classify it with errors/classify.ts) or ArmThrottledError.
 */
import type { Configuration, Database, FirewallRule, Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import type { ArmClients } from './clients';
import { isNotFound } from './errors';
import { startLro, type LroStep } from './lro';

export type { Configuration, Database, FirewallRule, Server, ServerForPatch };

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Azure's private DNS zone suffix, asked once per process and ARM endpoint (it is the cloud's: it never changes). */
const dnsZoneSuffixes = new Map<string, Promise<string>>();

export class PostgresArm {
  constructor(readonly clients: ArmClients) {}

  /**
   * The suffix of PostgreSQL server names in this Azure cloud (`postgres.database.azure.com` in the public cloud), as
   * Azure's getPrivateDnsZoneSuffix answers. A failed request is not remembered: the next call asks again.
   */
  privateDnsZoneSuffix(): Promise<string> {
    const endpoint = this.pg.$host;
    let suffix = dnsZoneSuffixes.get(endpoint);
    if (suffix === undefined) {
      suffix = this.pg.privateDnsZoneSuffix.get().then((answer) => String(answer.body).replace(/^\.+/, ''));
      suffix.catch(() => dnsZoneSuffixes.delete(endpoint));
      dnsZoneSuffixes.set(endpoint, suffix);
    }
    return suffix;
  }

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

  // ---- reads (undefined for 404) ----

  getServer(rg: string, name: string): Promise<Server | undefined> {
    return orUndefined(this.pg.servers.get(rg, name));
  }

  getDatabase(rg: string, server: string, name: string): Promise<Database | undefined> {
    return orUndefined(this.pg.databases.get(rg, server, name));
  }

  getFirewallRule(rg: string, server: string, name: string): Promise<FirewallRule | undefined> {
    return orUndefined(this.pg.firewallRules.get(rg, server, name));
  }

  // ---- server parameters (configurations) ----

  getConfiguration(rg: string, server: string, name: string): Promise<Configuration | undefined> {
    return orUndefined(this.pg.configurations.get(rg, server, name));
  }

  startPutConfiguration(rg: string, server: string, name: string, value: string, generation?: number): Promise<LroStep<Configuration>> {
    return startLro((o) => this.pg.configurations.beginPut(rg, server, name, { value, source: 'user-override' }, o), { type: 'Update', generation });
  }

  // ---- server actions ----

  /** POST start or stop on a server: a long-running operation, recorded (and resumed) like an update. */
  startServerAction(rg: string, server: string, action: 'start' | 'stop', generation?: number): Promise<LroStep<unknown>> {
    return startLro<unknown>((o) => (action === 'start' ? this.pg.servers.beginStart(rg, server, o) : this.pg.servers.beginStop(rg, server, o)), { type: 'Update', generation });
  }
}
