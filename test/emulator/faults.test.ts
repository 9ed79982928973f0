/**
 * Throttling (ARM's token buckets, the SDK's retries on 429 + Retry-After) and injected faults: error answers,
 * dropped connections, latency, long-running operations that end Failed.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { credential, pgClient, raw, rejection, rmClient, serverPath, smallServer } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

describe('throttling', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  const rg = 'rg-throttle';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 100, throttling: { reads: { burst: 3, perSecond: 2 }, writes: { burst: 5, perSecond: 1 } } });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
  });
  after(async () => {
    await emu?.stop();
  });

  test('reads beyond the bucket get 429 + Retry-After; the SDK waits and succeeds', async () => {
    emu.admin.resetRequests();
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 6 }, async () => {
      const names = [];
      for await (const s of pg.servers.listByResourceGroup(rg)) names.push(s.name);
      return names;
    }));
    assert.deepEqual(results, Array.from({ length: 6 }, () => []));
    const counts = emu.admin.requests();
    assert.ok(counts.throttled >= 3, `throttled ${counts.throttled}`);
    assert.equal(counts.byKey['GET Microsoft.DBforPostgreSQL/flexibleServers 429'], counts.throttled);
    assert.equal(counts.byKey['GET Microsoft.DBforPostgreSQL/flexibleServers 200'], 6);
    assert.ok(Date.now() - started >= 1000, 'the SDK honoured Retry-After');
    const throttled = counts.log.filter((e) => e.outcome === 'throttled');
    assert.ok(throttled.every((e) => e.status === 429 && e.principal));
  });

  test('a 429 carries Retry-After, x-ms-ratelimit-remaining-subscription-reads: 0 and ARM\'s message', async () => {
    const token = emu.admin.issueToken();
    const path = `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2021-04-01`;
    let r = await raw(emu, 'GET', path, undefined, token);
    while (r.status !== 429) r = await raw(emu, 'GET', path, undefined, token);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal(r.headers.get('x-ms-ratelimit-remaining-subscription-reads'), '0');
    assert.equal(r.body.error.code, 'TooManyRequests');
    assert.match(r.body.error.message, new RegExp(`^Number of 'read' requests for subscription '${emu.subscriptionId}' actor '[0-9a-f-]+' exceeded\\. Please try again after '1' seconds`));
    // Writes have their own bucket.
    const w = await raw(emu, 'PUT', path, { location: 'eastus' }, token);
    assert.equal(w.status, 200);
    assert.match(w.headers.get('x-ms-ratelimit-remaining-subscription-writes')!, /^\d+$/);
    assert.equal(w.headers.get('x-ms-ratelimit-remaining-subscription-reads'), null);
  });

  test('buckets are per principal', async () => {
    emu.admin.addClient({ clientId: 'aaaaaaaa-0000-4000-8000-000000000001', clientSecret: 'second-client-secret' });
    const other = emu.admin.issueToken({ clientId: 'aaaaaaaa-0000-4000-8000-000000000001' });
    const path = `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2021-04-01`;
    const mine = emu.admin.issueToken();
    while ((await raw(emu, 'GET', path, undefined, mine)).status !== 429);
    assert.equal((await raw(emu, 'GET', path, undefined, other)).status, 200);
  });

  test('throttling can be turned off at runtime (the headers stay)', async () => {
    emu.admin.setThrottling(false);
    emu.admin.resetRequests();
    const token = emu.admin.issueToken();
    const path = `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2021-04-01`;
    const rs = await Promise.all(Array.from({ length: 20 }, () => raw(emu, 'GET', path, undefined, token)));
    assert.ok(rs.every((r) => r.status === 200));
    assert.ok(rs.every((r) => r.headers.get('x-ms-ratelimit-remaining-subscription-reads') === '249'));
    assert.equal(emu.admin.requests().throttled, 0);
    emu.admin.setThrottling({ reads: { burst: 3, perSecond: 2 } });
    assert.deepEqual(emu.admin.throttling(), {
      reads: { burst: 3, perSecond: 2 }, writes: { burst: 200, perSecond: 10 }, deletes: { burst: 200, perSecond: 10 },
    });
  });
});

describe('injected faults', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  const rg = 'rg-faults';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 200, throttling: false });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
  });
  after(async () => {
    await emu?.stop();
  });

  test('a long-running operation that ends Failed: the SDK surfaces its code and message; the server is not created', async () => {
    emu.admin.addFault({ kind: 'failOperation', match: 'PUT .*/flexibleServers/fault-server$', count: 1, code: 'ProvisioningFailed', message: 'Injected: the server could not be provisioned.' });
    const err = await rejection(() => pg.servers.beginCreateOrUpdateAndWait(rg, 'fault-server', smallServer()));
    assert.equal(err.message, 'The long-running operation has failed. ProvisioningFailed. Injected: the server could not be provisioned.');
    assert.equal((await rejection(() => pg.servers.get(rg, 'fault-server'))).code, 'ResourceNotFound');
    const ops = (emu.admin.resources() as { operations: { status: string; error?: { code: string; message: string } }[] }).operations;
    assert.deepEqual(ops.filter((o) => o.status === 'Failed').map((o) => o.error), [{ code: 'ProvisioningFailed', message: 'Injected: the server could not be provisioned.' }]);
    // The rule is spent: the retry succeeds, and the create count shows both attempts.
    const s = await pg.servers.beginCreateOrUpdateAndWait(rg, 'fault-server', smallServer());
    assert.equal(s.state, 'Ready');
    assert.equal(emu.admin.requests().serverCreates['fault-server'], 2);
    assert.equal(emu.admin.requests().faults.failedOperations, 1);
  });

  test('raw: the operation status says Failed with error {code,message}; operationResults answers the error', async () => {
    emu.admin.addFault({ kind: 'failOperation', match: 'PUT .*/databases/faultdb$', count: 1 });
    const put = await raw(emu, 'PUT', `${serverPath(emu, rg, 'fault-server')}/databases/faultdb?api-version=2025-08-01`, { properties: {} });
    assert.equal(put.status, 202);
    let op = await raw(emu, 'GET', put.headers.get('azure-asyncoperation')!);
    while (op.body.status === 'InProgress') {
      await new Promise((r) => setTimeout(r, 100));
      op = await raw(emu, 'GET', put.headers.get('azure-asyncoperation')!);
    }
    assert.equal(op.body.status, 'Failed');
    assert.equal(op.body.error.code, 'InternalServerError');
    assert.match(op.body.error.message, /^An unexpected error occured while processing the request\. Tracking ID: '[0-9a-f-]{36}'$/);
    const result = await raw(emu, 'GET', put.headers.get('location')!);
    assert.equal(result.status, 500);
    assert.equal(result.body.error.code, 'InternalServerError');
    assert.equal((await rejection(() => pg.databases.get(rg, 'fault-server', 'faultdb'))).statusCode, 404);
  });

  test('a failed delete leaves the resource in place', async () => {
    await pg.firewallRules.beginCreateOrUpdateAndWait(rg, 'fault-server', 'keep', { startIpAddress: '1.2.3.4', endIpAddress: '1.2.3.4' });
    emu.admin.addFault({ kind: 'failOperation', match: 'DELETE .*/firewallRules/keep$', count: 1, code: 'Conflict', message: 'Injected delete failure.' });
    const err = await rejection(() => pg.firewallRules.beginDeleteAndWait(rg, 'fault-server', 'keep'));
    assert.match(err.message, /Conflict\. Injected delete failure\./);
    assert.equal((await pg.firewallRules.get(rg, 'fault-server', 'keep')).startIpAddress, '1.2.3.4');
  });

  test('error answers (503, 500, 429): the SDK retries them and succeeds', async () => {
    emu.admin.resetRequests();
    // The SDK retries 3 times by default.
    for (const [status, count] of [[503, 1], [500, 1], [429, 1]] as const) {
      emu.admin.addFault({ kind: 'error', status, count, match: 'GET .*/flexibleServers/fault-server$' });
    }
    const s = await pg.servers.get(rg, 'fault-server');
    assert.equal(s.name, 'fault-server');
    const counts = emu.admin.requests();
    assert.equal(counts.faults.errors, 3);
    assert.equal(counts.byKey['GET Microsoft.DBforPostgreSQL/flexibleServers 503'], 1);
    assert.equal(counts.byKey['GET Microsoft.DBforPostgreSQL/flexibleServers 500'], 1);
    assert.equal(counts.byKey['GET Microsoft.DBforPostgreSQL/flexibleServers 429'], 1);
    assert.equal(counts.byKey['GET Microsoft.DBforPostgreSQL/flexibleServers 200'], 1);
  });

  test('an error rate of 1 exhausts the retries: the SDK reports the error', async () => {
    emu.admin.setFaults({ errorRate: 1, errorStatuses: [500], match: 'GET .*/flexibleServers/fault-server$' });
    const err = await rejection(() => pg.servers.get(rg, 'fault-server'));
    assert.equal(err.statusCode, 500);
    assert.equal(err.code, 'InternalServerError');
    const raw503 = emu.admin.faults();
    assert.equal(raw503.rules.length, 1);
    emu.admin.clearFaults();
    assert.equal((await pg.servers.get(rg, 'fault-server')).state, 'Ready');
  });

  test('a dropped connection: the SDK retries and succeeds', async () => {
    emu.admin.resetRequests();
    emu.admin.addFault({ kind: 'drop', count: 1, match: 'GET .*/firewallRules/keep$' });
    assert.equal((await pg.firewallRules.get(rg, 'fault-server', 'keep')).name, 'keep');
    const counts = emu.admin.requests();
    assert.equal(counts.faults.drops, 1);
    assert.ok(counts.log.some((e) => e.outcome === 'dropped' && e.status === 0));
  });

  test('added latency', async () => {
    emu.admin.addFault({ kind: 'latency', ms: 600, count: 1, match: 'GET .*/firewallRules/keep$' });
    const started = Date.now();
    await pg.firewallRules.get(rg, 'fault-server', 'keep');
    assert.ok(Date.now() - started >= 600);
    assert.equal(emu.admin.requests().faults.delayed, 1);
  });

  test('the token endpoint can fail too (explicit match), and the credential reports it', async () => {
    emu.admin.addFault({ kind: 'error', status: 500, count: 10, match: 'POST /[^/]+/oauth2/v2\\.0/token$' });
    const cred = credential(emu);
    await assert.rejects(() => cred.getToken(`${emu.armEndpoint}/.default`));
    emu.admin.clearFaults();
    // MSAL remembers a 5xx from the token endpoint for a while (its own throttling): a new credential asks again.
    const fresh = credential(emu);
    assert.ok(await fresh.getToken(`${emu.armEndpoint}/.default`));
  });

  test('the admin HTTP endpoint: faults, requests, resources, reset', async () => {
    const put = await fetch(`${emu.armEndpoint}/admin/faults`, { method: 'PUT', body: JSON.stringify({ rules: [{ kind: 'error', status: 503, count: 1 }] }) });
    assert.equal(put.status, 200);
    const r = await raw(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2021-04-01`);
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'ServiceUnavailable');
    assert.equal(r.headers.get('retry-after'), '1');
    const counts = await (await fetch(`${emu.armEndpoint}/admin/requests`)).json() as { byKey: Record<string, number> };
    assert.ok(counts.byKey['GET Microsoft.Resources/resourceGroups 503'] >= 1);
    const resources = await (await fetch(`${emu.armEndpoint}/admin/resources`)).json() as { servers: { name: string; emulator: { postgresRunning: boolean } }[] };
    assert.deepEqual(resources.servers.map((s) => [s.name, s.emulator.postgresRunning]), [['fault-server', true]]);
    assert.equal((await fetch(`${emu.armEndpoint}/admin/reset`, { method: 'POST' })).status, 204);
    const emptied = await (await fetch(`${emu.armEndpoint}/admin/resources`)).json() as { servers: unknown[]; resourceGroups: unknown[] };
    assert.deepEqual([emptied.servers, emptied.resourceGroups], [[], []]);
    assert.equal((await fetch(`${emu.armEndpoint}/admin/faults`, { method: 'PUT', body: '{"rules":[{"kind":"nope"}]}' })).status, 400);
  });
});
