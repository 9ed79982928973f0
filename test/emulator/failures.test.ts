/**
 * The emulator fails as Azure does: cancelled operations, Azure's Retry-After per operation, signed ~3.7 kB poll URLs,
 * the rate-limit headers (per principal and global), the gateway's 404 for children of a deleted server, state
 * Updating during an update, dropped answers and slow operations, and firewall rules enforced on connections.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { Client } from 'pg';
import { rangeToCidrs } from './arm';
import { PASSWORD, pgClient, raw, rejection, rmClient, serverPath, smallServer, waitForOperation } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

const V = 'api-version=2025-08-01';

describe('failures as Azure fails', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  const rg = 'rg-failures';
  const server = 'failures-server';
  let path: string;

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 150, throttling: false });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
    await pg.servers.beginCreateOrUpdateAndWait(rg, server, smallServer());
    path = serverPath(emu, rg, server);
  });
  after(async () => {
    await emu?.stop();
  });

  test('a cancelled operation: status Canceled with OperationCancelled; nothing changes; the SDK reports the cancellation', async () => {
    emu.admin.addFault({ kind: 'cancelOperation', match: 'PUT .*/databases/canceldb$', count: 2 });
    const put = await raw(emu, 'PUT', `${path}/databases/canceldb?${V}`, { properties: {} });
    assert.equal(put.status, 202);
    const op = await waitForOperation(emu, put.headers.get('azure-asyncoperation')!);
    assert.equal(op.body.status, 'Canceled');
    assert.deepEqual(op.body.error, { code: 'OperationCancelled', message: 'The operation was cancelled.' });
    const result = await raw(emu, 'GET', put.headers.get('location')!);
    assert.equal(result.body.error.code, 'OperationCancelled');
    const sdk = await rejection(() => pg.databases.beginCreateAndWait(rg, server, 'canceldb', {}));
    assert.equal(sdk.message, 'Operation was canceled');
    assert.equal((await rejection(() => pg.databases.get(rg, server, 'canceldb'))).statusCode, 404);
    assert.equal(emu.admin.requests().faults.cancelledOperations, 2);
  });

  test('GETs during an update show state Updating (Restarting during a restart), then Ready', async () => {
    emu.admin.setTiming({ provisioningDelayMs: 1500 });
    const patch = await raw(emu, 'PATCH', `${path}?${V}`, { properties: { backup: { backupRetentionDays: 9 } } });
    emu.admin.setTiming({ provisioningDelayMs: 150 });
    assert.equal(patch.status, 202);
    assert.equal((await pg.servers.get(rg, server)).state, 'Updating');
    const during = await raw(emu, 'GET', `${path}?api-version=2021-06-01`);
    assert.equal(during.body.properties.state, 'Updating');
    assert.equal((await waitForOperation(emu, patch.headers.get('azure-asyncoperation')!)).body.status, 'Succeeded');
    const done = await pg.servers.get(rg, server);
    assert.deepEqual([done.state, done.backup?.backupRetentionDays], ['Ready', 9]);
    const restart = await raw(emu, 'POST', `${path}/restart?${V}`);
    assert.equal((await pg.servers.get(rg, server)).state, 'Restarting');
    await waitForOperation(emu, restart.headers.get('azure-asyncoperation')!);
    assert.equal((await pg.servers.get(rg, server)).state, 'Ready');
  });

  test('poll URLs carry signed query parameters t, c, s, h and are about 3.7 kB long, as on Azure', async () => {
    const put = await raw(emu, 'PUT', `${path}/firewallRules/poll?${V}`, { properties: { startIpAddress: '1.2.3.4', endIpAddress: '1.2.3.4' } });
    for (const header of ['azure-asyncoperation', 'location']) {
      const url = new URL(put.headers.get(header)!);
      assert.ok(url.href.length >= 3500 && url.href.length <= 4000, `${header}: ${url.href.length} characters`);
      assert.deepEqual([...url.searchParams.keys()], ['api-version', 't', 'c', 's', 'h']);
      assert.match(url.searchParams.get('t')!, /^\d{18}$/, '.NET ticks');
      assert.match(url.searchParams.get('c')!, /^MII[A-Za-z0-9_-]{2900,}$/, 'a base64url certificate');
      assert.match(url.searchParams.get('s')!, /^[A-Za-z0-9_-]{342}$/, 'a 2048-bit signature');
      assert.match(url.searchParams.get('h')!, /^[A-Za-z0-9_-]{43}$/, 'a SHA-256 hash');
    }
    assert.equal((await waitForOperation(emu, put.headers.get('azure-asyncoperation')!)).body.status, 'Succeeded');
    assert.equal((await raw(emu, 'GET', put.headers.get('location')!)).status, 200);
  });

  test('a dropped answer: the write took effect, the client saw a broken connection; the SDK retries and succeeds', async () => {
    emu.admin.resetRequests();
    emu.admin.addFault({ kind: 'drop', phase: 'response', count: 1, match: 'PUT .*/firewallRules/dropped$' });
    await assert.rejects(() => raw(emu, 'PUT', `${path}/firewallRules/dropped?${V}`, { properties: { startIpAddress: '5.6.7.8', endIpAddress: '5.6.7.8' } }));
    let rule;
    // The rule appears when its operation completes: allow for a loaded machine (the bound is not what is tested).
    for (const until = Date.now() + 30_000; !rule && Date.now() < until;) {
      rule = await pg.firewallRules.get(rg, server, 'dropped').catch(() => undefined);
      if (!rule) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(rule?.startIpAddress, '5.6.7.8', 'the request was carried out');
    const counts = emu.admin.requests();
    assert.equal(counts.faults.droppedResponses, 1);
    assert.ok(counts.log.some((e) => e.outcome === 'responseDropped' && e.status === 202 && e.method === 'PUT'));

    emu.admin.addFault({ kind: 'drop', phase: 'response', count: 1, match: 'PUT .*/databases/dropdb$' });
    const db = await pg.databases.beginCreateAndWait(rg, server, 'dropdb', {});
    assert.equal(db.name, 'dropdb');
    const id = `${path}/databases/dropdb`.toLowerCase();
    assert.equal(emu.admin.requests().writesByResource[id].PUT, 2, 'the SDK sent the PUT again after the broken connection');
  });

  test('a slow operation: the fault adds its duration; the operation then succeeds', async () => {
    emu.admin.addFault({ kind: 'slowOperation', ms: 1200, count: 1, match: 'PUT .*/configurations/work_mem$' });
    const started = Date.now();
    const put = await raw(emu, 'PUT', `${path}/configurations/work_mem?${V}`, { properties: { value: '8192', source: 'user-override' } });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await raw(emu, 'GET', put.headers.get('azure-asyncoperation')!)).body.status, 'InProgress');
    assert.equal((await waitForOperation(emu, put.headers.get('azure-asyncoperation')!)).body.status, 'Succeeded');
    assert.ok(Date.now() - started >= 1350);
    assert.equal(emu.admin.requests().faults.slowedOperations, 1);
    // Also as a rate at start-up (FaultOptions.slowOperationRate / --slow-operation-rate).
    emu.admin.setFaults({ slowOperationRate: 1, slowOperationMs: 10, operationCancelRate: 0 });
    assert.deepEqual(emu.admin.faults().rules.map((r) => [r.kind, r.ms]), [['slowOperation', 10]]);
    emu.admin.clearFaults();
  });

  test('gateway 404: after the server is deleted, a child GET gets 404 from the gateway (x-ms-failure-cause, type flexibleServers)', async () => {
    await pg.databases.beginCreateAndWait(rg, server, 'gone', {});
    await pg.servers.beginDeleteAndWait(rg, server);
    const expected = {
      error: {
        code: 'ResourceNotFound',
        message: `The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/${server}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      },
    };
    for (const child of ['databases/gone', 'databases', 'firewallRules/poll', 'configurations/work_mem']) {
      const r = await raw(emu, 'GET', `${path}/${child}?${V}`);
      assert.equal(r.status, 404, child);
      assert.deepEqual(r.body, expected, child);
      assert.equal(r.headers.get('x-ms-failure-cause'), 'gateway', child);
      assert.equal(r.headers.get('server'), null, `${child}: the gateway answers, not the resource provider`);
    }
    const sdk = await rejection(() => pg.databases.get(rg, server, 'gone'));
    assert.deepEqual([sdk.statusCode, sdk.code], [404, 'ResourceNotFound']);
    // The server itself: the resource provider's 404 (as recorded), with its Server header and no failure cause.
    const own = await raw(emu, 'GET', `${path}?${V}`);
    assert.equal(own.status, 404);
    assert.equal(own.headers.get('server'), 'Microsoft-HTTPAPI/2.0');
    assert.equal(own.headers.get('x-ms-failure-cause'), null);
  });
});

describe('Retry-After profiles', () => {
  let emu: Emulator;
  const rg = 'rg-retry';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 100, throttling: false, retryAfterProfile: 'azure' });
    trustEmulatorCa(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
  });
  after(async () => {
    await emu?.stop();
  });

  /** Sends a write, checks the Retry-After of its 202 and of its operation status, waits for it (ignoring Retry-After). */
  async function write(method: string, p: string, body: unknown, retryAfter: string): Promise<void> {
    const r = await raw(emu, method, `${p}?${V}`, body);
    assert.equal(r.status, 202, `${method} ${p}: ${r.text}`);
    assert.equal(r.headers.get('retry-after'), retryAfter, `${method} ${p}`);
    const url = r.headers.get('azure-asyncoperation');
    if (!url) return;
    assert.equal((await raw(emu, 'GET', url)).headers.get('retry-after'), retryAfter, `operation of ${method} ${p}`);
    assert.equal((await waitForOperation(emu, url)).body.status, 'Succeeded');
  }

  test("azure: Azure's Retry-After per operation (as recorded); fast: the poll interval everywhere", async () => {
    const p = serverPath(emu, rg, 'retry-server');
    const create = { location: 'eastus', sku: { name: 'Standard_B1ms', tier: 'Burstable' }, properties: { administratorLogin: 'appadmin', administratorLoginPassword: PASSWORD, storage: { storageSizeGB: 32 } } };
    await write('PUT', p, create, '60');
    await write('PUT', `${p}/configurations/work_mem`, { properties: { value: '8192', source: 'user-override' } }, '10');
    await write('PUT', `${p}/databases/appdb`, { properties: {} }, '10');
    await write('PUT', `${p}/firewallRules/office`, { properties: { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' } }, '60');
    await write('DELETE', `${p}/databases/appdb`, undefined, '10');
    await write('DELETE', `${p}/firewallRules/office`, undefined, '60');
    await write('POST', `${p}/restart`, undefined, '60');
    emu.admin.setTiming({ retryAfterProfile: 'fast', operationPollIntervalSeconds: 2 });
    await write('PATCH', p, { properties: { backup: { backupRetentionDays: 8 } } }, '2');
    emu.admin.setTiming({ retryAfterProfile: 'azure' });
    await write('DELETE', p, undefined, '15');
    const rgDelete = await raw(emu, 'DELETE', `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2020-06-01`);
    assert.deepEqual([rgDelete.status, rgDelete.headers.get('retry-after')], [202, '15']);
  });
});

describe('rate-limit headers', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ throttling: { reads: { burst: 2, perSecond: 0.01 } } });
    trustEmulatorCa(emu);
  });
  after(async () => {
    await emu?.stop();
  });

  test('each answer has the principal\'s remaining and the subscription\'s global remaining (15 times the bucket), as Azure sends', async () => {
    const rgPath = `/subscriptions/${emu.subscriptionId}/resourcegroups/rg-limits?api-version=2021-04-01`;
    const put = await raw(emu, 'PUT', rgPath, { location: 'eastus' });
    assert.equal(put.headers.get('x-ms-ratelimit-remaining-subscription-writes'), '199');
    assert.equal(put.headers.get('x-ms-ratelimit-remaining-subscription-global-writes'), '2999');
    const get = await raw(emu, 'GET', rgPath);
    assert.equal(get.headers.get('x-ms-ratelimit-remaining-subscription-reads'), '1');
    assert.equal(get.headers.get('x-ms-ratelimit-remaining-subscription-global-reads'), '29');
    // The global bucket is shared by every principal of the subscription: 15 principals empty it.
    const tokens: string[] = [];
    for (let i = 1; i <= 14; i++) {
      const clientId = `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, '0')}`;
      emu.admin.addClient({ clientId, clientSecret: 'secret' });
      tokens.push(emu.admin.issueToken({ clientId }));
      const r = await raw(emu, 'GET', rgPath, undefined, tokens[i - 1]);
      assert.equal(r.headers.get('x-ms-ratelimit-remaining-subscription-reads'), '1');
      assert.equal(r.headers.get('x-ms-ratelimit-remaining-subscription-global-reads'), String(29 - i));
    }
    for (const t of tokens) assert.equal((await raw(emu, 'GET', rgPath, undefined, t)).status, 200);
    const mine = await raw(emu, 'GET', rgPath);
    assert.deepEqual([mine.status, mine.headers.get('x-ms-ratelimit-remaining-subscription-global-reads')], [200, '0']);
    const fresh = 'cccccccc-0000-4000-8000-000000000001';
    emu.admin.addClient({ clientId: fresh, clientSecret: 'secret' });
    const throttled = await raw(emu, 'GET', rgPath, undefined, emu.admin.issueToken({ clientId: fresh }));
    assert.equal(throttled.status, 429, 'a principal with tokens left is throttled when the global bucket is empty');
    assert.equal(throttled.body.error.code, 'TooManyRequests');
    assert.equal(throttled.headers.get('x-ms-ratelimit-remaining-subscription-reads'), '2');
    const del = await raw(emu, 'DELETE', rgPath);
    assert.equal(del.headers.get('x-ms-ratelimit-remaining-subscription-deletes'), '199');
    assert.equal(del.headers.get('x-ms-ratelimit-remaining-subscription-global-deletes'), '2999');
  });
});

/** A pg client whose socket is bound to `localAddress` (any 127.x.y.z works on loopback): a client "from" that address. */
function clientFrom(emu: Emulator, host: string, localAddress: string, user = 'appadmin'): Client {
  const c = new Client({
    host,
    port: 5432,
    user,
    password: PASSWORD,
    database: 'postgres',
    ssl: { ca: emu.caCertPem },
    connectionTimeoutMillis: 5000,
    stream: () => {
      const socket = new net.Socket();
      const connect = socket.connect.bind(socket) as (o: net.TcpSocketConnectOpts) => net.Socket;
      (socket as unknown as { connect: (port: number, h: string) => net.Socket }).connect = (port, h) => connect({ port, host: h, localAddress });
      return socket;
    },
  });
  c.on('error', () => undefined);
  return c;
}

async function canConnect(emu: Emulator, host: string, from: string): Promise<true | string> {
  const c = clientFrom(emu, host, from);
  try {
    await c.connect();
    const [row] = (await c.query('SELECT host(inet_client_addr()) AS addr')).rows;
    assert.equal(row.addr, from);
    return true;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('firewall rules enforced (by default, as on Azure)', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  const rg = 'rg-firewall';
  let host: string;

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 100, throttling: false });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
    host = (await pg.servers.beginCreateOrUpdateAndWait(rg, 'fw-public', smallServer())).fullyQualifiedDomainName!;
  });
  after(async () => {
    await emu?.stop();
  });

  test('ranges become CIDR blocks', () => {
    assert.deepEqual(rangeToCidrs('127.0.0.10', '127.0.0.20'), ['127.0.0.10/31', '127.0.0.12/30', '127.0.0.16/30', '127.0.0.20/32']);
    assert.deepEqual(rangeToCidrs('0.0.0.0', '255.255.255.255'), ['0.0.0.0/0']);
    assert.deepEqual(rangeToCidrs('10.1.2.3', '10.1.2.3'), ['10.1.2.3/32']);
  });

  test('a public server without rules refuses every client, with the error Azure gives (no pg_hba.conf entry)', async () => {
    assert.equal(await canConnect(emu, host, '127.0.0.1'),
      'no pg_hba.conf entry for host "127.0.0.1", user "appadmin", database "postgres", SSL encryption');
    // Azure's own management path is not behind the firewall: databases are still created.
    assert.equal((await pg.databases.beginCreateAndWait(rg, 'fw-public', 'appdb', {})).name, 'appdb');
  });

  test('a rule admits exactly its range; deleting it closes the door again; 0.0.0.0 ("Azure services") admits no one here', async () => {
    await pg.firewallRules.beginCreateOrUpdateAndWait(rg, 'fw-public', 'me', { startIpAddress: '127.0.0.5', endIpAddress: '127.0.0.5' });
    await pg.firewallRules.beginCreateOrUpdateAndWait(rg, 'fw-public', 'range', { startIpAddress: '127.0.0.10', endIpAddress: '127.0.0.20' });
    await pg.firewallRules.beginCreateOrUpdateAndWait(rg, 'fw-public', 'AllowAllAzureServicesAndResourcesWithinAzureIps', { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' });
    assert.equal(await canConnect(emu, host, '127.0.0.5'), true);
    assert.equal(await canConnect(emu, host, '127.0.0.17'), true);
    assert.match(String(await canConnect(emu, host, '127.0.0.6')), /no pg_hba\.conf entry for host "127\.0\.0\.6"/);
    assert.match(String(await canConnect(emu, host, '127.0.0.21')), /no pg_hba\.conf entry for host "127\.0\.0\.21"/);
    assert.match(String(await canConnect(emu, host, '127.0.0.1')), /no pg_hba\.conf entry/);
    await pg.firewallRules.beginDeleteAndWait(rg, 'fw-public', 'me');
    assert.match(String(await canConnect(emu, host, '127.0.0.5')), /no pg_hba\.conf entry for host "127\.0\.0\.5"/);
    // Widening a rule in place takes effect too.
    await pg.firewallRules.beginCreateOrUpdateAndWait(rg, 'fw-public', 'range', { startIpAddress: '127.0.0.1', endIpAddress: '127.0.0.20' });
    assert.equal(await canConnect(emu, host, '127.0.0.1'), true);
  });

  test('enforcement can be switched at runtime; a server with private access admits its (loopback) network', async () => {
    await emu.admin.setFirewallEnforcement(false);
    assert.equal(await canConnect(emu, host, '127.0.0.99'), true);
    await emu.admin.setFirewallEnforcement(true);
    assert.match(String(await canConnect(emu, host, '127.0.0.99')), /no pg_hba\.conf entry/);
    const privateHost = (await pg.servers.beginCreateOrUpdateAndWait(rg, 'fw-private', smallServer({
      network: {
        delegatedSubnetResourceId: '/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/s',
        privateDnsZoneArmResourceId: '/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/p.private.postgres.database.azure.com',
      },
    }))).fullyQualifiedDomainName!;
    assert.equal(await canConnect(emu, privateHost, '127.0.0.99'), true);
    const http = await fetch(`${emu.armEndpoint}/admin/firewall`, { method: 'PUT', body: JSON.stringify({ enforce: false }) });
    assert.deepEqual(await http.json(), { enforce: false });
    assert.equal(await canConnect(emu, host, '127.0.0.99'), true);
  });

  test('"allow Azure services" (0.0.0.0) admits the clients that count as inside Azure (azureClientNetworks), as an AKS cluster\'s egress, and no other', async () => {
    // A second emulator beside the first, its servers' addresses pinned (outside the random defaults' 127.20-219.x.x).
    const pinned = `127.250.${randomInt(250)}.0`;
    const inAzure = await startEmulator({ provisioningDelayMs: 100, throttling: false, azureClientNetworks: ['127.0.0.7/32'], serverAddressBase: pinned });
    trustEmulatorCa(inAzure);
    try {
      const client = pgClient(inAzure);
      await rmClient(inAzure).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
      const aksHost = (await client.servers.beginCreateOrUpdateAndWait(rg, 'fw-azure', smallServer())).fullyQualifiedDomainName!;
      assert.equal(inAzure.serverAddressBase, pinned);
      assert.ok(aksHost.startsWith(pinned.replace(/0$/, '')), `${aksHost} is in the pinned range ${pinned}`);
      assert.notEqual(aksHost, host, 'the two emulators\' servers have addresses of their own');
      assert.match(String(await canConnect(inAzure, aksHost, '127.0.0.7')), /no pg_hba\.conf entry for host "127\.0\.0\.7"/, 'no rule yet');
      await client.firewallRules.beginCreateOrUpdateAndWait(rg, 'fw-azure', 'AllowAllAzureServicesAndResourcesWithinAzureIps', { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' });
      assert.equal(await canConnect(inAzure, aksHost, '127.0.0.7'), true);
      assert.match(String(await canConnect(inAzure, aksHost, '127.0.0.8')), /no pg_hba\.conf entry for host "127\.0\.0\.8"/);
    } finally {
      await inAzure.stop();
    }
  });
});
