/**
 * The one Azure lifecycle against the real ARM emulator (real PostgreSQL behind it): the defects of the resource-model
 * issue (a status one write behind, a busy server, children waiting on the server's condition) and the owner checks
 * of the tenancy issue (adoption, one owner per child, a delete done only when it is done, Retain keeps credentials).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { connectWithUri, armFor, startHarness, type Harness } from './helpers/harness';
import type { StatusLaggingKube } from './helpers/memory-kube';
import { TAG_CLUSTER, TAG_NAME, TAG_NAMESPACE, TAG_UID } from '../../src/api';
import type { PostgresArm } from '../../src/reconciler/azure';
import { ADOPT_ANNOTATION, type AnyObject, type ObjectKey, type ReconcileResult } from '../../src/reconciler/contracts';

let h: Harness;
let arm: PostgresArm;
const RG = 'rg-lifecycle';

function serverSpec(azureName: string, extra: Record<string, unknown> = {}) {
  return { azureName, resourceGroup: { name: RG, create: true }, location: 'eastus', writeConnectionSecretToRef: { name: `${azureName}-admin` }, ...extra };
}
const serverId = (name: string) => `/subscriptions/${h.emu.subscriptionId}/resourcegroups/${RG}/providers/microsoft.dbforpostgresql/flexibleservers/${name}`;
const writesOf = (id: string) => h.emu.admin.requests().writesByResource[id] ?? {};
const ready = (kind: Parameters<Harness['ready']>[0], key: ObjectKey) => () => h.ready(kind, key)?.status === 'True';
const reason = (kind: Parameters<Harness['ready']>[0], key: ObjectKey) => h.ready(kind, key)?.reason;

async function readyServer(namespace: string, azureName: string, extra: Record<string, unknown> = {}): Promise<ObjectKey> {
  const key = h.kube.create('PostgresServer', namespace, 'server', serverSpec(azureName, extra));
  await h.until('PostgresServer', key, ready('PostgresServer', key), `server ${azureName} Ready`);
  return key;
}

/** Reconciles `key` until `done` holds; returns the result of the reconcile after which it held. */
async function reconcileUntil(kind: Parameters<Harness['ready']>[0], key: ObjectKey, done: () => boolean, what: string): Promise<ReconcileResult> {
  for (let i = 0; i < 200; i++) {
    const result = await h.controllers[kind].reconcile(key);
    if (done()) return result;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}; status ${JSON.stringify(h.kube.get<AnyObject>(kind, key)?.status)}`);
}

before(async () => {
  h = await startHarness({ emulator: { provisioningDelayMs: 800 } });
  arm = armFor(h.emu);
});
after(async () => {
  await h?.stop();
});
afterEach(() => {
  h.emu.admin.clearFaults();
  h.configure({ adoptionNamespaces: ['*'], staleCache: false });
  const everything = h.kube.everythingButSecrets() + h.log.lines.join('\n');
  for (const pw of h.kube.secretValues('password')) assert.ok(!everything.includes(pw), 'a password appears outside its Secret');
});

describe('resource-model defects', () => {
  it('5.1: a reconcile that reads its status one write behind never follows a finished operation again nor sends a write twice', async () => {
    h.configure({ staleCache: true });
    const key = h.kube.create('PostgresServer', 'stale', 'server', {
      ...serverSpec('srv-stale-cache'), parameters: { log_min_duration_statement: '500', work_mem: '8192', max_connections: '60' },
    });
    await h.until('PostgresServer', key, ready('PostgresServer', key), 'Ready');
    assert.ok((h.env.kube as StatusLaggingKube).staleReads > 3, 'the reconciles did read a status one write behind');
    const stats = h.emu.admin.requests();
    const id = serverId('srv-stale-cache');
    assert.equal(stats.serverCreates['srv-stale-cache'], 1, 'one create');
    assert.equal(stats.writesByResource[id]?.PUT, 1, 'one server PUT');
    for (const p of ['log_min_duration_statement', 'work_mem', 'max_connections']) {
      assert.equal(stats.writesByResource[`${id}/configurations/${p}`]?.PUT, 1, `one PUT of parameter ${p}`);
    }
  });

  it('5.2: ServerIsBusy (the operation of an accepted write fails) is transient, retried with backoff, not a 5-minute user error', async () => {
    const key = await readyServer('busy', 'srv-busy');
    h.emu.admin.addFault({ kind: 'failOperation', match: 'PATCH .*/flexibleServers/srv-busy$', count: 1, code: 'ServerIsBusy', message: 'Try again later.' });
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, tags: { team: 'busy' } }));
    const result = await reconcileUntil('PostgresServer', key, () => reason('PostgresServer', key) === 'ServerIsBusy', 'ServerIsBusy reported');
    assert.equal(result.failure, 'transient');
    assert.match(h.ready('PostgresServer', key)!.message, /Azure ServerIsBusy: Try again later\./);
    await h.until('PostgresServer', key, ready('PostgresServer', key), 'Ready after the busy server');
    assert.equal((await arm.getServer(RG, 'srv-busy'))?.tags?.team, 'busy');

    h.emu.admin.addFault({ kind: 'failOperation', match: 'PATCH .*/flexibleServers/srv-busy$', count: 1, code: 'OperationCancelled', message: 'The operation was cancelled.' });
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, tags: { team: 'cancelled' } }));
    const cancelled = await reconcileUntil('PostgresServer', key, () => reason('PostgresServer', key) === 'OperationCancelled', 'OperationCancelled reported');
    assert.equal(cancelled.failure, 'transient');
    await h.until('PostgresServer', key, ready('PostgresServer', key), 'Ready after the cancelled operation');
  });

  it('a connection Azure drops is a PascalCase reason (AzureConnectionLost), with the errno in the message', async () => {
    const key = await readyServer('dropped', 'srv-dropped');
    // More drops than the ARM pipeline retries (4), so the reconcile itself sees the failure.
    h.emu.admin.addFault({ kind: 'drop', match: 'GET .*/flexibleServers/srv-dropped$', count: 5 });
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, tags: { team: 'dropped' } }));
    const result = await h.controllers.PostgresServer.reconcile(key);
    assert.equal(result.failure, 'transient');
    const condition = h.ready('PostgresServer', key)!;
    assert.equal(condition.reason, 'AzureConnectionLost');
    assert.match(condition.message, /^reading server srv-dropped failed: Azure ECONNRESET: /);
    await h.until('PostgresServer', key, ready('PostgresServer', key), 'Ready once Azure answers again');
  });

  it('5.3: databases and firewall rules proceed while their server is UnsupportedChange or InvalidSpec', async () => {
    const key = await readyServer('proceed', 'srv-proceed', { storage: { sizeGB: 64 } });
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, storage: { sizeGB: 32 } }));
    await h.reconcile('PostgresServer', key);
    assert.equal(reason('PostgresServer', key), 'UnsupportedChange');
    const db = h.kube.create('PostgresDatabase', 'proceed', 'orders', { serverRef: { name: 'server' }, azureName: 'orders' });
    const fw = h.kube.create('PostgresFirewallRule', 'proceed', 'office', { serverRef: { name: 'server' }, azureName: 'office', startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.1' });
    await h.until('PostgresDatabase', db, ready('PostgresDatabase', db), 'database Ready beside an UnsupportedChange server');
    await h.until('PostgresFirewallRule', fw, ready('PostgresFirewallRule', fw), 'rule Ready beside an UnsupportedChange server');
    assert.equal(reason('PostgresServer', key), 'UnsupportedChange');

    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, storage: { sizeGB: 64 }, sku: { tier: 'Burstable', name: 'Standard_D2ds_v5' } }));
    await h.reconcile('PostgresServer', key);
    assert.equal(reason('PostgresServer', key), 'InvalidSpec');
    h.kube.updateSpec('PostgresFirewallRule', fw, (s: any) => ({ ...s, endIpAddress: '203.0.113.9' }));
    await h.until('PostgresFirewallRule', fw, () => ready('PostgresFirewallRule', fw)() && h.kube.get<AnyObject>('PostgresFirewallRule', fw)!.status!.observedGeneration === 2, 'rule updated beside an InvalidSpec server');
    assert.equal((await arm.getFirewallRule(RG, 'srv-proceed', 'office'))?.endIpAddress, '203.0.113.9');
  });

  it('a reconciled server says it is done ({}); the runtime schedules the resync (--resync-period)', async () => {
    const key = await readyServer('resync', 'srv-resync');
    assert.deepEqual(await h.controllers.PostgresServer.reconcile(key), {});
  });
});

describe('adoption is owner-checked', () => {
  it('a server another live PostgresServer owns is never adopted: condition, Warning Event, nothing changed in Azure', async () => {
    const owner = await readyServer('tenant-a', 'srv-owned');
    const ownerSecret = h.kube.secretData('tenant-a', 'srv-owned-admin')!;
    const writesBefore = JSON.stringify(writesOf(serverId('srv-owned')));
    const attacker = h.kube.create('PostgresServer', 'tenant-b', 'server', serverSpec('srv-owned'), { [ADOPT_ANNOTATION]: 'true' });
    await h.until('PostgresServer', attacker, () => reason('PostgresServer', attacker) === 'AdoptionRefused', 'refused');
    assert.match(h.ready('PostgresServer', attacker)!.message, /managed by PostgresServer tenant-a\/server, which still exists/);
    assert.ok(h.kube.events.some((e) => e.name === 'server' && e.type === 'Warning' && e.reason === 'AdoptionRefused'));
    assert.equal(JSON.stringify(writesOf(serverId('srv-owned'))), writesBefore, 'nothing written to Azure');
    assert.equal(h.kube.secretData('tenant-b', 'srv-owned-admin'), undefined, 'no Secret for the attacker');
    assert.equal((await arm.getServer(RG, 'srv-owned'))!.tags?.[TAG_NAMESPACE], 'tenant-a');
    // The owner's password still works; the attacker's deletion deletes nothing.
    (await connectWithUri(ownerSecret.uri, h.emu.caCertPem)).end();
    h.kube.delete('PostgresServer', attacker);
    await h.until('PostgresServer', attacker, () => !h.kube.exists('PostgresServer', attacker), 'attacker gone');
    assert.equal((await arm.getServer(RG, 'srv-owned'))?.state, 'Ready');
    assert.ok(h.ready('PostgresServer', owner)?.status === 'True');
  });

  it('adoption is off unless the namespace is allowed; owner tags of another cluster are refused in any letter case', async () => {
    await arm.createResourceGroup(RG, 'eastus', {});
    const foreign = (name: string, tags: Record<string, string>) => arm.clients.postgres.servers.beginCreateOrUpdateAndWait(RG, name, {
      location: 'eastus',
      administratorLogin: 'pgadmin',
      administratorLoginPassword: 'Th31r-0wn-Passw0rd!',
      version: '16',
      sku: { name: 'Standard_B1ms', tier: 'Burstable' },
      storage: { storageSizeGB: 32 },
      tags,
    });
    await foreign('srv-lonely', { owner: 'someone' });
    h.configure({ adoptionNamespaces: ['allowed'] });
    const key = h.kube.create('PostgresServer', 'not-allowed', 'server', serverSpec('srv-lonely'), { [ADOPT_ANNOTATION]: 'true' });
    await h.until('PostgresServer', key, () => reason('PostgresServer', key) === 'AdoptionRefused', 'refused');
    assert.match(h.ready('PostgresServer', key)!.message, /adoption is not enabled for namespace not-allowed/);
    const plain = h.kube.create('PostgresServer', 'not-allowed', 'plain', serverSpec('srv-lonely'));
    await h.until('PostgresServer', plain, () => reason('PostgresServer', plain) === 'AlreadyExists', 'AlreadyExists');
    assert.match(h.ready('PostgresServer', plain)!.message, /not enabled for namespace not-allowed/);
    h.kube.delete('PostgresServer', plain);
    await h.until('PostgresServer', plain, () => !h.kube.exists('PostgresServer', plain), 'gone');

    await foreign('srv-elsewhere', {
      [TAG_CLUSTER.toUpperCase()]: 'another-cluster', [TAG_UID.toUpperCase()]: 'uid-of-another-cluster', [TAG_NAMESPACE]: 'allowed', [TAG_NAME]: 'server',
    });
    const cross = h.kube.create('PostgresServer', 'allowed', 'server', serverSpec('srv-elsewhere'), { [ADOPT_ANNOTATION]: 'true' });
    await h.until('PostgresServer', cross, () => reason('PostgresServer', cross) === 'AdoptionRefused', 'refused');
    assert.match(h.ready('PostgresServer', cross)!.message, /another Kubernetes cluster/);
    assert.equal(writesOf(serverId('srv-elsewhere')).PATCH, undefined);

    // Allowed, the server of no live owner: adopted, and tagged with this cluster.
    const adopter = h.kube.create('PostgresServer', 'allowed', 'adopter', serverSpec('srv-lonely'), { [ADOPT_ANNOTATION]: 'true' });
    await h.until('PostgresServer', adopter, ready('PostgresServer', adopter), 'adopted');
    const tags = (await arm.getServer(RG, 'srv-lonely'))!.tags!;
    assert.equal(tags[TAG_CLUSTER], 'test-cluster');
    assert.equal(tags[TAG_UID], h.kube.get<AnyObject>('PostgresServer', adopter)!.metadata.uid);
    assert.ok(h.kube.events.some((e) => e.name === 'adopter' && e.reason === 'Adopted'));
  });
});

describe('one owner per database and firewall rule', () => {
  it('a twin gets Conflict, changes nothing, and deleting it drops nothing', async () => {
    await readyServer('twins', 'srv-twins');
    const first = h.kube.create('PostgresDatabase', 'twins', 'appdb', { serverRef: { name: 'server' }, azureName: 'appdb' });
    await h.until('PostgresDatabase', first, ready('PostgresDatabase', first), 'first Ready');
    const admin = await connectWithUri(h.kube.secretData('twins', 'srv-twins-admin')!.uri.replace('/postgres?', '/appdb?'), h.emu.caCertPem);
    await admin.query('CREATE TABLE orders (id int)');
    await admin.query('INSERT INTO orders VALUES (42)');
    await admin.end();

    const twin = h.kube.create('PostgresDatabase', 'twins', 'appdb-again', { serverRef: { name: 'server' }, azureName: 'appdb' });
    const rule = h.kube.create('PostgresFirewallRule', 'twins', 'office', { serverRef: { name: 'server' }, azureName: 'office', startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.1' });
    await h.until('PostgresFirewallRule', rule, ready('PostgresFirewallRule', rule), 'rule Ready');
    const ruleTwin = h.kube.create('PostgresFirewallRule', 'twins', 'office-wide', { serverRef: { name: 'server' }, azureName: 'office', startIpAddress: '0.0.0.0', endIpAddress: '255.255.255.255' });
    await h.until('PostgresDatabase', twin, () => reason('PostgresDatabase', twin) === 'Conflict', 'database twin in Conflict');
    await h.until('PostgresFirewallRule', ruleTwin, () => reason('PostgresFirewallRule', ruleTwin) === 'Conflict', 'rule twin in Conflict');
    assert.match(h.ready('PostgresDatabase', twin)!.message, /already managed by PostgresDatabase twins\/appdb/);
    assert.ok(h.kube.events.some((e) => e.name === 'appdb-again' && e.type === 'Warning' && e.reason === 'Conflict'));
    assert.deepEqual([(await arm.getFirewallRule(RG, 'srv-twins', 'office'))?.startIpAddress], ['203.0.113.1'], 'the twin did not widen the rule');

    h.kube.delete('PostgresDatabase', twin);
    h.kube.delete('PostgresFirewallRule', ruleTwin);
    await h.until('PostgresDatabase', twin, () => !h.kube.exists('PostgresDatabase', twin), 'twin gone');
    await h.until('PostgresFirewallRule', ruleTwin, () => !h.kube.exists('PostgresFirewallRule', ruleTwin), 'rule twin gone');
    assert.ok(await arm.getDatabase(RG, 'srv-twins', 'appdb'), 'the database is still there');
    assert.ok(await arm.getFirewallRule(RG, 'srv-twins', 'office'), 'the rule is still there');
    const again = await connectWithUri(h.kube.secretData('twins', 'srv-twins-admin')!.uri.replace('/postgres?', '/appdb?'), h.emu.caCertPem);
    assert.equal((await again.query('SELECT id FROM orders')).rows[0].id, 42, 'the first app\'s data is intact');
    await again.end();
    assert.ok(h.ready('PostgresDatabase', first)?.status === 'True');
  });
});

describe('a delete is done only when it is done', () => {
  it('a database whose server is stopped keeps its finalizer and says why, until the server can be reached', async () => {
    const server = await readyServer('stopped', 'srv-stopped');
    const db = h.kube.create('PostgresDatabase', 'stopped', 'reports', { serverRef: { name: 'server' }, azureName: 'reports', deletionPolicy: 'Delete' });
    await h.until('PostgresDatabase', db, ready('PostgresDatabase', db), 'database Ready');
    h.kube.updateSpec<any>('PostgresServer', server, (spec) => {
      spec.stopped = true;
    });
    await h.until('PostgresServer', server, () => reason('PostgresServer', server) === 'Stopped', 'server Stopped');
    h.kube.delete('PostgresDatabase', db);
    for (let i = 0; i < 3; i++) await h.reconcile('PostgresDatabase', db);
    assert.ok(h.kube.exists('PostgresDatabase', db), 'not reported deleted');
    assert.equal(reason('PostgresDatabase', db), 'ServerStopped');
    assert.match(h.ready('PostgresDatabase', db)!.message, /deleting database reports failed: Azure ServerStopped/);
    assert.ok(await arm.getDatabase(RG, 'srv-stopped', 'reports'));
    h.kube.updateSpec<any>('PostgresServer', server, (spec) => {
      spec.stopped = false;
    });
    await h.until('PostgresDatabase', db, () => !h.kube.exists('PostgresDatabase', db), 'deleted once the server runs');
    assert.equal(await arm.getDatabase(RG, 'srv-stopped', 'reports'), undefined);
  });

  it('a database of a server gone from Azure is done: the gateway\'s 404 is confirmed by the server\'s own 404', async () => {
    await readyServer('gone', 'srv-gone');
    const db = h.kube.create('PostgresDatabase', 'gone', 'logs', { serverRef: { name: 'server' }, azureName: 'logs' });
    await h.until('PostgresDatabase', db, ready('PostgresDatabase', db), 'database Ready');
    await arm.clients.postgres.servers.beginDeleteAndWait(RG, 'srv-gone');
    h.kube.delete('PostgresDatabase', db);
    await h.until('PostgresDatabase', db, () => !h.kube.exists('PostgresDatabase', db), 'done');
    assert.ok(h.kube.events.some((e) => e.name === 'logs' && e.reason === 'Deleted' && /server srv-gone is gone from Azure/.test(e.message)));
  });
});

describe('Retain keeps the credentials and the data', () => {
  it('a retained server keeps its admin Secret (released, with an Event); its databases inherit Retain', async () => {
    const server = await readyServer('retain', 'srv-retain', { deletionPolicy: 'Retain' });
    const db = h.kube.create('PostgresDatabase', 'retain', 'ledger', { serverRef: { name: 'server' }, azureName: 'ledger' });
    const dropped = h.kube.create('PostgresDatabase', 'retain', 'scratch', { serverRef: { name: 'server' }, azureName: 'scratch', deletionPolicy: 'Delete' });
    await h.until('PostgresDatabase', db, ready('PostgresDatabase', db), 'ledger Ready');
    await h.until('PostgresDatabase', dropped, ready('PostgresDatabase', dropped), 'scratch Ready');
    const secret = h.kube.secretData('retain', 'srv-retain-admin')!;

    for (const key of [db, dropped]) h.kube.delete('PostgresDatabase', key);
    h.kube.delete('PostgresServer', server);
    await h.until('PostgresServer', server, () => !h.kube.exists('PostgresServer', server) && !h.kube.exists('PostgresDatabase', db) && !h.kube.exists('PostgresDatabase', dropped), 'all gone');

    assert.deepEqual(h.kube.secretData('retain', 'srv-retain-admin'), secret, 'the admin Secret survives its PostgresServer');
    assert.deepEqual(h.kube.secretOwners('retain', 'srv-retain-admin'), []);
    assert.ok(h.kube.events.some((e) => e.name === 'server' && e.reason === 'SecretReleased'));
    assert.ok(await arm.getServer(RG, 'srv-retain'), 'server retained');
    assert.ok(await arm.getDatabase(RG, 'srv-retain', 'ledger'), 'a database without a policy inherits Retain');
    assert.equal(await arm.getDatabase(RG, 'srv-retain', 'scratch'), undefined, 'deletionPolicy Delete of its own');
    (await connectWithUri(secret.uri, h.emu.caCertPem)).end();
  });
});
