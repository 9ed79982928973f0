/**
 * The SDK clients, and the ARM calls that are not a kind's lifecycle (that is azure/resource.ts over each kind's
 * descriptor): resource groups, server parameters, and plain reads (undefined for 404). Reads rethrow the SDK error
 * (classify it with errors/classify.ts) or ArmThrottledError.
 */
import type { AdministratorMicrosoftEntra, AdministratorMicrosoftEntraAdd, Configuration, Database, FirewallRule, Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import type { ArmClients } from './clients';
import { isNotFound } from './errors';
import { startLro, type LroStep } from './lro';

export type { AdministratorMicrosoftEntra, Configuration, Database, FirewallRule, Server, ServerForPatch };

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
    return (await orUndefined(this.clients.resourceGroups.get(name))) !== undefined;
  }

  async createResourceGroup(name: string, location: string, tags: Record<string, string>): Promise<void> {
    await this.clients.resourceGroups.createOrUpdate(name, { location, tags });
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

  /** Every server parameter of a server, by lower-case name, in one list call (Azure returns them in one page or a few). */
  async listConfigurations(rg: string, server: string): Promise<Map<string, Configuration>> {
    const out = new Map<string, Configuration>();
    for await (const c of this.pg.configurations.listByServer(rg, server)) {
      if (c.name) out.set(c.name.toLowerCase(), c);
    }
    return out;
  }

  startPutConfiguration(rg: string, server: string, name: string, value: string, generation?: number): Promise<LroStep<Configuration>> {
    return startLro((o) => this.pg.configurations.beginPut(rg, server, name, { value, source: 'user-override' }, o), { type: 'Update', generation });
  }

  // ---- Microsoft Entra administrators ----

  async listAdministrators(rg: string, server: string): Promise<AdministratorMicrosoftEntra[]> {
    const all: AdministratorMicrosoftEntra[] = [];
    for await (const admin of this.pg.administratorsMicrosoftEntra.listByServer(rg, server)) all.push(admin);
    return all;
  }

  startPutAdministrator(
    rg: string, server: string, objectId: string, body: AdministratorMicrosoftEntraAdd, generation?: number,
  ): Promise<LroStep<AdministratorMicrosoftEntra>> {
    return startLro((o) => this.pg.administratorsMicrosoftEntra.beginCreateOrUpdate(rg, server, objectId, body, o), { type: 'Update', generation });
  }

  startDeleteAdministrator(rg: string, server: string, objectId: string, generation?: number): Promise<LroStep<unknown>> {
    return startLro((o) => this.pg.administratorsMicrosoftEntra.beginDelete(rg, server, objectId, o), { type: 'Update', generation });
  }

  // ---- server actions ----

  /** POST start or stop on a server: a long-running operation, recorded (and resumed) like an update. */
  startServerAction(rg: string, server: string, action: 'start' | 'stop', generation?: number): Promise<LroStep<unknown>> {
    return startLro<unknown>((o) => (action === 'start' ? this.pg.servers.beginStart(rg, server, o) : this.pg.servers.beginStop(rg, server, o)), { type: 'Update', generation });
  }
}
