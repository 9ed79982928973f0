/**
 * Create, update and delete through the real SDKs (@azure/arm-postgresql-flexible, @azure/arm-resources,
 * @azure/identity) against the emulator, with the backing PostgreSQL checked over TLS.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { ResourceManagementClient } from '@azure/arm-resources';
import { admitTestClient, connect, credential, PASSWORD, pgClient, query, raw, rejection, rmClient, serverPath, smallServer } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

describe('flexible server CRUD through the SDK', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  let rm: ResourceManagementClient;
  let host: string;
  const rg = 'rg-crud';
  const name = 'crud-server-1';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 300 });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    rm = rmClient(emu);
  });
  after(async () => {
    await emu?.stop();
  });

  test('resource group: PUT 201 then 200, GET, list', async () => {
    const first = await raw(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2020-06-01`, { location: 'westus2', tags: { a: 'b' } });
    assert.equal(first.status, 201);
    assert.deepEqual(first.body, {
      id: `/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}`,
      name: rg,
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westus2',
      tags: { a: 'b' },
      properties: { provisioningState: 'Succeeded' },
    });
    const again = await rm.resourceGroups.createOrUpdate(rg, { location: 'westus2' });
    assert.equal(again.name, rg);
    assert.equal((await rm.resourceGroups.get(rg)).properties?.provisioningState, 'Succeeded');
    const names = [];
    for await (const g of rm.resourceGroups.list()) names.push(g.name);
    assert.deepEqual(names, [rg]);
  });

  test('server create: 202 + polling, then Ready with a connectable address', async () => {
    const server = await pg.servers.beginCreateOrUpdateAndWait(rg, name, smallServer({ tags: { env: 'test' } }));
    assert.equal(server.state, 'Ready');
    assert.equal(server.name, name);
    assert.equal(server.location, 'East US');
    assert.equal(server.version, '16');
    assert.equal(server.administratorLogin, 'appadmin');
    assert.equal(server.administratorLoginPassword, undefined, 'the password is never returned');
    assert.deepEqual(server.sku, { name: 'Standard_B1ms', tier: 'Burstable' });
    assert.equal(server.storage?.storageSizeGB, 32);
    assert.equal(server.storage?.tier, 'P4');
    assert.equal(server.highAvailability?.mode, 'Disabled');
    assert.equal(server.highAvailability?.state, 'NotEnabled');
    assert.equal(server.backup?.backupRetentionDays, 7);
    assert.equal(server.network?.publicNetworkAccess, 'Enabled');
    assert.deepEqual(server.tags, { env: 'test' });
    const [a, b, c] = emu.serverAddressBase.split('.');
    assert.match(server.fullyQualifiedDomainName!, new RegExp(`^${a}\\.${b}\\.${c}\\.\\d+$`), 'an address of this emulator\'s range');
    assert.doesNotMatch(emu.serverAddressBase, /^127\.0\./, 'a random range, clear of the clients\' 127.0.0.x');
    host = server.fullyQualifiedDomainName!;
    await admitTestClient(pg, rg, name);

    const byRg = [];
    for await (const s of pg.servers.listByResourceGroup(rg)) byRg.push(s.name);
    assert.deepEqual(byRg, [name]);
    const bySub = [];
    for await (const s of pg.servers.listBySubscription()) bySub.push(s.name);
    assert.deepEqual(bySub, [name]);
    assert.equal(emu.admin.requests().serverCreates[name], 1);
  });

  test('the admin password connects over TLS verified against the emulator CA; the admin is not a superuser', async () => {
    const c = await connect(emu, host, 'appadmin', PASSWORD);
    try {
      const [me] = (await c.query(`SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, pg_has_role('appadmin', 'azure_pg_admin', 'member') AS azure_pg_admin,
        (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl FROM pg_roles r WHERE r.rolname = current_user`)).rows;
      assert.deepEqual(me, { rolsuper: false, rolcreaterole: true, rolcreatedb: true, azure_pg_admin: true, ssl: true });
      const dbs = (await c.query('SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1')).rows.map((r) => r.datname);
      assert.deepEqual(dbs, ['azure_maintenance', 'azure_sys', 'postgres']);
    } finally {
      await c.end();
    }
    const wrong = await rejection(() => query(emu, host, 'appadmin', 'not-the-password', 'SELECT 1'));
    assert.match(wrong.message, /password authentication failed/);
    const { Client } = await import('pg');
    const plain = new Client({ host, port: 5432, user: 'appadmin', password: PASSWORD, database: 'postgres', ssl: false });
    plain.on('error', () => undefined);
    const noTls = await rejection(() => plain.connect());
    assert.match(noTls.message, /no pg_hba\.conf entry .* no encryption/);
    const badCa = new Client({ host, port: 5432, user: 'appadmin', password: PASSWORD, database: 'postgres', ssl: { rejectUnauthorized: true, ca: [] as never } });
    badCa.on('error', () => undefined);
    const tlsErr = await rejection(() => badCa.connect());
    assert.match(String(tlsErr.code ?? tlsErr.message), /SELF_SIGNED|UNABLE_TO|unable to|self-signed/i);
  });

  test('server update: PUT (maintenance window, tags), PATCH (password, storage, backup)', async () => {
    const put = await pg.servers.beginCreateOrUpdateAndWait(rg, name, smallServer({
      maintenanceWindow: { customWindow: 'enabled', dayOfWeek: 5, startHour: 2, startMinute: 30 }, tags: { env: 'prod' },
    }));
    assert.deepEqual(put.maintenanceWindow, { customWindow: 'Enabled', dayOfWeek: 5, startHour: 2, startMinute: 30 });
    assert.deepEqual(put.tags, { env: 'prod' });
    const newPassword = 'N3w!Passw0rd-for-admin';
    const patched = await pg.servers.beginUpdateAndWait(rg, name, {
      administratorLoginPassword: newPassword, storage: { storageSizeGB: 64 }, backup: { backupRetentionDays: 14 },
    });
    assert.equal(patched.storage?.storageSizeGB, 64);
    assert.equal(patched.storage?.tier, 'P6');
    assert.equal(patched.backup?.backupRetentionDays, 14);
    assert.equal(patched.state, 'Ready');
    assert.deepEqual(await query(emu, host, 'appadmin', newPassword, 'SELECT 1 AS one'), [{ one: 1 }]);
    const old = await rejection(() => query(emu, host, 'appadmin', PASSWORD, 'SELECT 1'));
    assert.match(old.message, /password authentication failed/);
    await pg.servers.beginUpdateAndWait(rg, name, { administratorLoginPassword: PASSWORD });
    const scaled = await pg.servers.beginUpdateAndWait(rg, name, { sku: { name: 'Standard_B2s', tier: 'Burstable' } });
    assert.equal(scaled.sku?.name, 'Standard_B2s');
    const [mc] = await query(emu, host, 'appadmin', PASSWORD, 'SHOW max_connections');
    assert.equal(mc.max_connections, '429', 'the memory-dependent default follows the SKU (server restarted)');
  });

  test('databases: create (owned by the admin), get, list, delete', async () => {
    const db = await pg.databases.beginCreateAndWait(rg, name, 'appdb', { charset: 'utf8', collation: 'en_US.utf8' });
    assert.equal(db.charset, 'UTF8');
    assert.equal(db.collation, 'en_US.utf8');
    assert.equal(db.type, 'Microsoft.DBforPostgreSQL/flexibleServers/databases');
    const got = await pg.databases.get(rg, name, 'appdb');
    assert.equal(got.name, 'appdb');
    const names = [];
    for await (const d of pg.databases.listByServer(rg, name)) names.push(d.name);
    assert.deepEqual(names, ['postgres', 'azure_maintenance', 'azure_sys', 'appdb']);
    const [owner] = await query(emu, host, 'appadmin', PASSWORD, "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = 'appdb'");
    assert.equal(owner.owner, 'appadmin');
    await query(emu, host, 'appadmin', PASSWORD, 'CREATE TABLE t (id int)', 'appdb');
    await pg.databases.beginDeleteAndWait(rg, name, 'appdb');
    const gone = await rejection(() => pg.databases.get(rg, name, 'appdb'));
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.code, 'ResourceNotFound');
    assert.deepEqual(await query(emu, host, 'appadmin', PASSWORD, "SELECT datname FROM pg_database WHERE datname = 'appdb'"), []);
  });

  test('firewall rules: create, update, get, list, delete', async () => {
    const r = await pg.firewallRules.beginCreateOrUpdateAndWait(rg, name, 'office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.9' });
    assert.deepEqual([r.name, r.startIpAddress, r.endIpAddress], ['office', '10.0.0.1', '10.0.0.9']);
    await pg.firewallRules.beginCreateOrUpdateAndWait(rg, name, 'office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.20' });
    assert.equal((await pg.firewallRules.get(rg, name, 'office')).endIpAddress, '10.0.0.20');
    const names = [];
    for await (const f of pg.firewallRules.listByServer(rg, name)) names.push(f.name);
    assert.deepEqual(names, ['office', 'test-client']);
    await pg.firewallRules.beginDeleteAndWait(rg, name, 'office');
    assert.equal((await rejection(() => pg.firewallRules.get(rg, name, 'office'))).statusCode, 404);
    // ARM answers 204 to a DELETE of something that is not there.
    const again = await raw(emu, 'DELETE', `${serverPath(emu, rg, name)}/firewallRules/office?api-version=2025-08-01`);
    assert.equal(again.status, 204);
  });

  test('configurations: dynamic (reload), static (pending restart until restart), Azure-only, reset to default', async () => {
    const list = [];
    for await (const c of pg.configurations.listByServer(rg, name)) list.push(c.name);
    for (const n of ['log_min_duration_statement', 'max_connections', 'pgaudit.log', 'azure.extensions', 'work_mem']) assert.ok(list.includes(n), n);

    const lmds = await pg.configurations.beginPutAndWait(rg, name, 'log_min_duration_statement', { value: '250', source: 'user-override' });
    assert.deepEqual([lmds.value, lmds.source, lmds.defaultValue, lmds.isDynamicConfig, lmds.isConfigPendingRestart], ['250', 'user-override', '-1', true, false]);
    assert.equal((await query(emu, host, 'appadmin', PASSWORD, 'SHOW log_min_duration_statement'))[0].log_min_duration_statement, '250ms');

    const wm = await pg.configurations.beginUpdateAndWait(rg, name, 'work_mem', { value: '8192', source: 'user-override' });
    assert.equal(wm.value, '8192');
    assert.equal((await query(emu, host, 'appadmin', PASSWORD, 'SHOW work_mem'))[0].work_mem, '8MB');

    const mc = await pg.configurations.beginPutAndWait(rg, name, 'max_connections', { value: '120', source: 'user-override' });
    assert.equal(mc.isConfigPendingRestart, true);
    assert.equal((await query(emu, host, 'appadmin', PASSWORD, 'SHOW max_connections'))[0].max_connections, '429');
    await pg.servers.beginRestartAndWait(rg, name);
    assert.equal((await pg.configurations.get(rg, name, 'max_connections')).isConfigPendingRestart, false);
    assert.equal((await query(emu, host, 'appadmin', PASSWORD, 'SHOW max_connections'))[0].max_connections, '120');

    const audit = await pg.configurations.beginPutAndWait(rg, name, 'pgaudit.log', { value: 'READ', source: 'user-override' });
    assert.equal(audit.value, 'READ');
    assert.equal(audit.dataType, 'Set');
    assert.equal(audit.allowedValues, 'none,read,write,function,role,ddl,misc,all');
    const ext = await pg.configurations.beginPutAndWait(rg, name, 'azure.extensions', { value: 'pgcrypto,uuid-ossp', source: 'user-override' });
    assert.equal(ext.value, 'pgcrypto,uuid-ossp');

    const reset = await pg.configurations.beginPutAndWait(rg, name, 'log_min_duration_statement', { source: 'system-default' });
    assert.deepEqual([reset.value, reset.source], ['-1', 'system-default']);
    assert.equal((await query(emu, host, 'appadmin', PASSWORD, 'SHOW log_min_duration_statement'))[0].log_min_duration_statement, '-1');
  });

  test('api-versions 2021-06-01 and 2024-08-01 are served (2021 in the recorded shape); others are refused', async () => {
    const v2021 = await raw(emu, 'GET', `${serverPath(emu, rg, name)}?api-version=2021-06-01`);
    assert.equal(v2021.status, 200);
    assert.deepEqual(Object.keys(v2021.body), ['sku', 'properties', 'location', 'tags', 'id', 'name', 'type']);
    assert.deepEqual(Object.keys(v2021.body.properties), ['fullyQualifiedDomainName', 'version', 'minorVersion', 'administratorLogin', 'state',
      'availabilityZone', 'storage', 'backup', 'network', 'highAvailability', 'maintenanceWindow', 'storageAutoGrowth']);
    assert.deepEqual(v2021.body.properties.storage, { storageSizeGB: 64 });
    const v2024 = await raw(emu, 'GET', `${serverPath(emu, rg, name)}?api-version=2024-08-01`);
    assert.equal(v2024.status, 200);
    assert.equal(v2024.body.properties.authConfig.passwordAuth, 'Enabled');
    const bad = await raw(emu, 'GET', `${serverPath(emu, rg, name)}?api-version=2020-01-01`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'InvalidApiVersionParameter');
    assert.equal(bad.body.error.message, "The api-version '2020-01-01' is invalid. The supported versions are '2025-08-01,2024-08-01,2021-06-01'.");
    const missing = await raw(emu, 'GET', serverPath(emu, rg, name));
    assert.equal(missing.body.error.code, 'MissingApiVersionParameter');
  });

  test('server delete: 202 + polling, then GET 404 ResourceNotFound (as recorded) and PostgreSQL gone', async () => {
    await pg.servers.beginDeleteAndWait(rg, name);
    const err = await rejection(() => pg.servers.get(rg, name));
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, 'ResourceNotFound');
    assert.equal(err.message, `The requested resource of type 'Microsoft.DBforPostgreSQL/flexibleServers' with name '${name}' was not found.`);
    const child = await raw(emu, 'DELETE', `${serverPath(emu, rg, name)}/configurations/pgaudit.log?api-version=2021-06-01`);
    assert.equal(child.status, 404);
    assert.equal(child.body.error.code, 'ResourceNotFound');
    assert.equal(child.headers.get('x-ms-failure-cause'), 'gateway');
    await assert.rejects(() => query(emu, host, 'appadmin', PASSWORD, 'SELECT 1'));
  });

  test('resource group delete: long-running with Location until 200; deletes its servers', async () => {
    await pg.servers.beginCreateOrUpdateAndWait(rg, 'crud-server-2', smallServer());
    const del = await raw(emu, 'DELETE', `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2020-06-01`);
    assert.equal(del.status, 202);
    assert.equal(del.text, '');
    assert.equal(del.headers.get('retry-after'), '1');
    const location = del.headers.get('location')!;
    assert.match(location, new RegExp(`^${emu.armEndpoint}/subscriptions/${emu.subscriptionId}/operationresults/[A-Za-z0-9_-]+\\?api-version=2020-06-01$`));
    let status = 202;
    let polls = 0;
    while (status === 202) {
      polls++;
      const r = await raw(emu, 'GET', location);
      status = r.status;
      if (status === 202) {
        assert.equal(r.headers.get('location'), location);
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    assert.equal(status, 200);
    assert.ok(polls >= 1);
    const gone = await rejection(() => rm.resourceGroups.get(rg));
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.code, 'ResourceGroupNotFound');
    assert.deepEqual((emu.admin.resources() as { servers: unknown[] }).servers, []);
  });
});

describe('the recorded protocol, raw', () => {
  let emu: Emulator;
  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 1500, operationPollIntervalSeconds: 7 });
    trustEmulatorCa(emu);
    await raw(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourcegroups/rg-raw?api-version=2020-06-01`, { location: 'eastus' });
  });
  after(async () => {
    await emu?.stop();
  });

  test('PUT server: 202, Azure-AsyncOperation/Location/Retry-After, body {operation,startTime}; status InProgress -> Succeeded', async () => {
    const path = serverPath(emu, 'rg-raw', 'raw-server');
    const put = await raw(emu, 'PUT', `${path}?api-version=2021-06-01`, {
      location: 'eastus',
      name: 'raw-server',
      // The recording (2021) created version 13; 13 is retired now and new servers cannot use it.
      properties: { administratorLogin: 'myadmin', administratorLoginPassword: PASSWORD, storage: { storageSizeGB: 128 }, version: '14' },
      sku: { name: 'Standard_D4s_v3', tier: 'GeneralPurpose' },
    });
    assert.equal(put.status, 202);
    assert.deepEqual(Object.keys(put.body), ['operation', 'startTime']);
    assert.equal(put.body.operation, 'UpsertServerManagementOperationV2');
    assert.equal(put.headers.get('retry-after'), '7');
    const asyncOp = put.headers.get('azure-asyncoperation')!;
    const location = put.headers.get('location')!;
    const prefix = `${emu.armEndpoint}/subscriptions/${emu.subscriptionId}/providers/Microsoft.DBforPostgreSQL/locations/eastus`;
    assert.ok(asyncOp.startsWith(`${prefix}/azureAsyncOperation/`), asyncOp);
    assert.ok(location.startsWith(`${prefix}/operationResults/`), location);
    assert.match(asyncOp, /\?api-version=2021-06-01&t=\d+&c=[\w-]+&s=[\w-]+&h=[\w-]+$/, 'signed query parameters: the URL is opaque');
    assert.ok(put.headers.get('x-ms-ratelimit-remaining-subscription-writes'));

    const during = await raw(emu, 'GET', `${path}?api-version=2021-06-01`);
    assert.equal(during.body.properties.state, 'Provisioning');
    const first = await raw(emu, 'GET', asyncOp);
    assert.equal(first.status, 200);
    assert.deepEqual(Object.keys(first.body), ['name', 'status', 'startTime']);
    assert.equal(first.body.status, 'InProgress');
    assert.equal(first.headers.get('retry-after'), '7');
    const result = await raw(emu, 'GET', location);
    assert.equal(result.status, 202);
    assert.equal(result.text, '');

    let op = first;
    while (op.body.status === 'InProgress') {
      await new Promise((r) => setTimeout(r, 200));
      op = await raw(emu, 'GET', asyncOp);
    }
    assert.equal(op.body.status, 'Succeeded');
    assert.deepEqual(Object.keys(op.body), ['name', 'status', 'startTime']);
    const done = await raw(emu, 'GET', location);
    assert.equal(done.status, 200);
    assert.equal(done.body.properties.state, 'Ready');
    const get = await raw(emu, 'GET', `${path}?api-version=2021-06-01`);
    assert.equal(get.body.location, 'East US');
    assert.equal(get.body.properties.version, '14');

    const del = await raw(emu, 'DELETE', `${path}?api-version=2021-06-01`);
    assert.equal(del.status, 202);
    assert.equal(del.body.operation, 'DropServerManagementOperation');
    assert.ok(del.headers.get('azure-asyncoperation')!.includes('/locations/East%20US/azureAsyncOperation/'), 'the delete operation URL carries the display name, encoded');
    assert.ok(del.headers.get('x-ms-ratelimit-remaining-subscription-deletes'));
    const dropping = await raw(emu, 'GET', `${path}?api-version=2021-06-01`);
    assert.equal(dropping.body.properties.state, 'Dropping');
    const again = await raw(emu, 'DELETE', `${path}?api-version=2021-06-01`);
    assert.equal(again.status, 202, 'a DELETE while dropping is accepted again');
    let st = 'InProgress';
    while (st === 'InProgress') {
      await new Promise((r) => setTimeout(r, 200));
      st = (await raw(emu, 'GET', again.headers.get('azure-asyncoperation')!)).body.status;
    }
    assert.equal(st, 'Succeeded');
    const notFound = await raw(emu, 'GET', `${path}?api-version=2021-06-01`);
    assert.equal(notFound.status, 404);
    assert.deepEqual(notFound.body, { error: { code: 'ResourceNotFound', message: "The requested resource of type 'Microsoft.DBforPostgreSQL/flexibleServers' with name 'raw-server' was not found." } });
  });

  test('common ARM headers on every answer', async () => {
    const r = await raw(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourcegroups/rg-raw?api-version=2020-06-01`);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.equal(r.headers.get('pragma'), 'no-cache');
    assert.equal(r.headers.get('expires'), '-1');
    assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.headers.get('x-ms-request-id')!, /^[0-9a-f-]{36}$/);
    assert.match(r.headers.get('x-ms-ratelimit-remaining-subscription-reads')!, /^\d+$/);
  });

  test('credential through the SDK pipeline is cached and reused', async () => {
    const cred = credential(emu);
    const a = await cred.getToken(`${emu.armEndpoint}/.default`);
    const b = await cred.getToken(`${emu.armEndpoint}/.default`);
    assert.equal(a?.token, b?.token);
  });
});
