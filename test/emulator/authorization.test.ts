/**
 * ARM's authorization in the emulator: two subscriptions, two identities, each with a role on its own subscription
 * only, and identities with a role on one resource group or one server. A request no role assignment covers is refused
 * by ARM's front door with 403 AuthorizationFailed (the body Azure sends: principal, action, scope), and nothing
 * happens there; an assignment covers its scope and everything under it.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { rbacAction } from './authorization';
import { pgClient, raw, rejection, rmClient, serverPath, smallServer, waitForOperation } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

const SUB_A = 'aaaaaaaa-1111-4000-8000-00000000000a';
const SUB_B = 'bbbbbbbb-1111-4000-8000-00000000000b';
const A = { clientId: 'aaaaaaaa-2222-4000-8000-00000000000a', clientSecret: 'secret-a', subscriptions: [SUB_A] };
const B = { clientId: 'bbbbbbbb-2222-4000-8000-00000000000b', clientSecret: 'secret-b', subscriptions: [SUB_B] };
// A role on one resource group, and one on one server, of subscription A (written as `az role assignment` prints them;
// the SDKs send `resourcegroups` or `resourceGroups`: scopes compare ignoring case).
const GROUP_ONLY = { clientId: 'cccccccc-2222-4000-8000-00000000000c', clientSecret: 'secret-c', scopes: [`/subscriptions/${SUB_A}/resourceGroups/rg-scoped-a`] };
const SERVER_ONLY = {
  clientId: 'dddddddd-2222-4000-8000-00000000000d',
  clientSecret: 'secret-d',
  scopes: [`/subscriptions/${SUB_A}/resourceGroups/rg-scoped-a/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv-in-a`],
};

/** The object ID (oid claim) of the credential's service principal. */
async function oidOf(credential: TokenCredential): Promise<string> {
  const token = (await credential.getToken('https://management.azure.com/.default'))!.token;
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).oid;
}

describe('ARM authorization: role assignments at a subscription, a resource group or a resource', () => {
  let emu: Emulator;
  const credentialOf = (c: { clientId: string; clientSecret: string }) =>
    new ClientSecretCredential(emu.tenantId, c.clientId, c.clientSecret, { authorityHost: emu.authorityHost, disableInstanceDiscovery: true });

  before(async () => {
    emu = await startEmulator({ subscriptions: [SUB_A, SUB_B], clients: [{ clientId: '00000000-2222-4000-8000-000000000000', clientSecret: 'all' }, A, B, GROUP_ONLY, SERVER_ONLY], provisioningDelayMs: 100 });
    trustEmulatorCa(emu);
  });
  after(async () => {
    await emu?.stop();
  });

  test('an identity without a role on a subscription gets 403 AuthorizationFailed, with Azure\'s message, and changes nothing', async () => {
    const asB = credentialOf(B);
    const e = await rejection(() => rmClient(emu, asB, SUB_A).resourceGroups.createOrUpdate('rg-a', { location: 'eastus' }));
    assert.equal(e.statusCode, 403);
    assert.equal(e.code, 'AuthorizationFailed');
    const oid = await oidOf(asB);
    assert.equal(e.message, `The client '${oid}' with object id '${oid}' does not have authorization to perform action ` +
      `'Microsoft.Resources/subscriptions/resourceGroups/write' over scope '/subscriptions/${SUB_A}/resourcegroups/rg-a' or the scope is invalid. ` +
      'If access was recently granted, please refresh your credentials.');
    assert.equal(e.response?.headers.get('x-ms-failure-cause'), 'gateway');

    const read = await rejection(() => pgClient(emu, asB, SUB_A).servers.get('rg-a', 'srv'));
    assert.equal(read.code, 'AuthorizationFailed');
    assert.match(read.message, /perform action 'Microsoft\.DBforPostgreSQL\/flexibleServers\/read' over scope '\/subscriptions\/aaaaaaaa-1111-4000-8000-00000000000a\/resourceGroups\/rg-a\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/srv'/);

    // With its own role, A works in A; B works in B; A's group was never created by B's attempt.
    const asA = credentialOf(A);
    const oidA = await oidOf(asA);
    await assert.rejects(() => rmClient(emu, asA, SUB_A).resourceGroups.get('rg-a'), (err: any) => err.statusCode === 404);
    assert.equal((await rmClient(emu, asA, SUB_A).resourceGroups.createOrUpdate('rg-a', { location: 'eastus' })).name, 'rg-a');
    assert.equal((await rmClient(emu, asB, SUB_B).resourceGroups.createOrUpdate('rg-b', { location: 'eastus' })).name, 'rg-b');
    assert.equal((await rejection(() => rmClient(emu, asA, SUB_B).resourceGroups.get('rg-b'))).code, 'AuthorizationFailed');

    // Refused requests are logged with their principal and never reach the resource provider's counters.
    const refused = emu.admin.requests().log.filter((r) => r.status === 403);
    assert.ok(refused.length >= 3 && refused.every((r) => r.principal === oid || r.principal === (oidA)), JSON.stringify(refused));
  });

  test('a client without subscriptions listed holds a role on every subscription (the default)', async () => {
    const r = await raw(emu, 'PUT', `/subscriptions/${SUB_B}/resourcegroups/rg-default?api-version=2025-04-01`, { location: 'eastus' });
    assert.equal(r.status, 201);
  });

  test('an assignment on a resource group covers it and its servers; another group of the same subscription is refused and untouched', async () => {
    // Identity A's role is on the whole subscription: it makes both groups, and a server in the second.
    const asA = credentialOf(A);
    for (const rg of ['rg-scoped-a', 'rg-scoped-b']) await rmClient(emu, asA, SUB_A).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
    await pgClient(emu, asA, SUB_A).servers.beginCreateOrUpdateAndWait('rg-scoped-b', 'srv-in-b', smallServer());

    const asGroup = credentialOf(GROUP_ONLY);
    const oid = await oidOf(asGroup);
    const pg = pgClient(emu, asGroup, SUB_A);
    const created = await pg.servers.beginCreateOrUpdateAndWait('rg-scoped-a', 'srv-in-a', smallServer());
    assert.equal(created.state, 'Ready');

    const write = await rejection(() => pg.servers.beginCreateOrUpdateAndWait('rg-scoped-b', 'srv-intruder', smallServer()));
    assert.equal(write.statusCode, 403);
    assert.equal(write.code, 'AuthorizationFailed');
    assert.equal(write.message, `The client '${oid}' with object id '${oid}' does not have authorization to perform action ` +
      `'Microsoft.DBforPostgreSQL/flexibleServers/write' over scope '${serverPath(emu, 'rg-scoped-b', 'srv-intruder', SUB_A)}' or the scope is invalid. ` +
      'If access was recently granted, please refresh your credentials.');
    assert.equal((await rejection(() => pg.servers.get('rg-scoped-b', 'srv-in-b'))).code, 'AuthorizationFailed', 'an existing server of the other group is not readable');
    assert.equal((await pgClient(emu, asA, SUB_A).servers.get('rg-scoped-a', 'srv-in-a')).name, 'srv-in-a', 'the subscription\'s role covers every group');

    // Lists: of a group without a role there, refused over the group's provider namespace; of the subscription,
    // answered with what the identity may read.
    const names = async <T extends { name?: string }>(items: AsyncIterable<T>) => {
      const all: string[] = [];
      for await (const i of items) all.push(i.name!);
      return all.sort();
    };
    const list = await rejection(() => names(pg.servers.listByResourceGroup('rg-scoped-b')));
    assert.equal(list.code, 'AuthorizationFailed');
    assert.match(list.message, new RegExp(`perform action 'Microsoft\\.DBforPostgreSQL/flexibleServers/read' over scope '/subscriptions/${SUB_A}/resourceGroups/rg-scoped-b/providers/Microsoft\\.DBforPostgreSQL' or`));
    assert.deepEqual(await names(pg.servers.listBySubscription()), ['srv-in-a']);
    assert.deepEqual(await names(rmClient(emu, asGroup, SUB_A).resourceGroups.list()), ['rg-scoped-a']);
    assert.deepEqual(await names(pgClient(emu, asA, SUB_A).servers.listBySubscription()), ['srv-in-a', 'srv-in-b']);
    assert.deepEqual(await names(pgClient(emu, asA, SUB_A).servers.listByResourceGroup('rg-scoped-b')), ['srv-in-b'], 'nothing was made in the other group');
    assert.equal((await rejection(() => rmClient(emu, asGroup, SUB_B).resourceGroups.get('rg-scoped-a'))).code, 'AuthorizationFailed', 'the same group name in another subscription is another scope');
  });

  test('a server naming a subnet or private DNS zone the caller has no role on is refused with 403 LinkedAuthorizationFailed; a role there lets it through', async () => {
    const hub = `/subscriptions/${SUB_B}/resourceGroups/hub-net/providers/Microsoft.Network`;
    const subnet = `${hub}/virtualNetworks/hub/subnets/pg`;
    const zone = `${hub}/privateDnsZones/linked.postgres.database.azure.com`;
    const privateServer = (z: string) => smallServer({ network: { delegatedSubnetResourceId: subnet, privateDnsZoneArmResourceId: z } });
    const asA = credentialOf(A);
    const oid = await oidOf(asA);
    await rmClient(emu, asA, SUB_A).resourceGroups.createOrUpdate('rg-linked', { location: 'eastus' });

    const e = await rejection(() => pgClient(emu, asA, SUB_A).servers.beginCreateOrUpdateAndWait('rg-linked', 'srv-linked', privateServer(zone)));
    assert.equal(e.statusCode, 403);
    assert.equal(e.code, 'LinkedAuthorizationFailed');
    assert.equal(e.message, `The client '${oid}' with object id '${oid}' has permission to perform action 'Microsoft.DBforPostgreSQL/flexibleServers/write' `
      + `on scope '${serverPath(emu, 'rg-linked', 'srv-linked', SUB_A)}'; however, it does not have permission to perform action 'write' `
      + `on the linked scope(s) '${subnet}' or the linked scope(s) are invalid.`);
    assert.equal(e.response?.headers.get('x-ms-failure-cause'), 'gateway');
    assert.equal(await pgClient(emu, credentialOf({ clientId: '00000000-2222-4000-8000-000000000000', clientSecret: 'all' }), SUB_A).servers.get('rg-linked', 'srv-linked')
      .then(() => 'exists', (err: any) => err.statusCode), 404, 'nothing was created');

    // A role on the hub's subnet only: now the zone is the linked scope refused, with its join action.
    const SUBNET_TOO = { clientId: 'eeeeeeee-2222-4000-8000-00000000000e', clientSecret: 'secret-e', scopes: [`/subscriptions/${SUB_A}`, subnet] };
    const HUB_TOO = { clientId: 'ffffffff-2222-4000-8000-00000000000f', clientSecret: 'secret-f', scopes: [`/subscriptions/${SUB_A}`, `/subscriptions/${SUB_B}/resourceGroups/Hub-Net`] };
    for (const client of [SUBNET_TOO, HUB_TOO]) emu.admin.addClient(client);
    const zoneRefused = await rejection(() => pgClient(emu, credentialOf(SUBNET_TOO), SUB_A).servers.beginCreateOrUpdateAndWait('rg-linked', 'srv-linked', privateServer(zone)));
    assert.equal(zoneRefused.code, 'LinkedAuthorizationFailed');
    assert.match(zoneRefused.message, new RegExp(`perform action 'Microsoft\\.Network/privateDnsZones/join/action' on the linked scope\\(s\\) '${zone.replace(/\./g, '\\.')}'`));

    // A role on the hub's resource group (its name in another case) covers both.
    const created = await pgClient(emu, credentialOf(HUB_TOO), SUB_A).servers.beginCreateOrUpdateAndWait('rg-linked', 'srv-linked', privateServer(zone));
    assert.deepEqual([created.network?.delegatedSubnetResourceId, created.network?.privateDnsZoneArmResourceId], [subnet, zone]);
  });

  test('an assignment on a server covers its databases and firewall rules (it starts their operations, but may not track them), not its group nor the group\'s other servers', async () => {
    const asServer = credentialOf(SERVER_ONLY);
    const oid = await oidOf(asServer);
    const token = emu.admin.issueToken({ clientId: SERVER_ONLY.clientId });
    const server = `${serverPath(emu, 'rg-scoped-a', 'srv-in-a', SUB_A)}`;
    const v = '?api-version=2025-08-01';
    for (const [child, properties] of [
      ['databases/app', { charset: 'UTF8', collation: 'en_US.utf8' }],
      ['firewallRules/office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }],
    ] as const) {
      const put = await raw(emu, 'PUT', `${server}/${child}${v}`, { properties }, token);
      assert.equal(put.status, 202, put.text);
      // Its status URL is above the server: Azure tracks it only for a role on the resource group.
      const statusUrl = put.headers.get('azure-asyncoperation')!;
      const status = await raw(emu, 'GET', statusUrl, undefined, token);
      assert.equal(status.status, 403, status.text);
      assert.equal(status.body.error.code, 'AuthorizationFailed');
      assert.match(status.body.error.message, new RegExp(`^The client '${oid}' with object id '${oid}' does not have authorization to perform action ` +
        `'Microsoft\\.DBforPostgreSQL/locations/azureAsyncOperation/read' over scope '/subscriptions/${SUB_A}/providers/Microsoft\\.DBforPostgreSQL/locations/[^/]+/azureAsyncOperation/[^/']+'`));
      assert.equal((await waitForOperation(emu, statusUrl)).body.status, 'Succeeded', `${child} (tracked by a role on the subscription)`);
      assert.equal((await raw(emu, 'GET', `${server}/${child}${v}`, undefined, token)).status, 200, `${child} is readable with the role on its server`);
    }
    const pg = pgClient(emu, asServer, SUB_A);
    const dbs: string[] = [];
    for await (const d of pg.databases.listByServer('rg-scoped-a', 'srv-in-a')) dbs.push(d.name!);
    assert.ok(dbs.includes('app'), dbs.join());

    const other = await rejection(() => pg.databases.beginCreateAndWait('rg-scoped-b', 'srv-in-b', 'app', {}));
    assert.equal(other.code, 'AuthorizationFailed');
    assert.equal(other.message, `The client '${oid}' with object id '${oid}' does not have authorization to perform action ` +
      `'Microsoft.DBforPostgreSQL/flexibleServers/databases/write' over scope '${serverPath(emu, 'rg-scoped-b', 'srv-in-b', SUB_A)}/databases/app' or the scope is invalid. ` +
      'If access was recently granted, please refresh your credentials.');
    const group = await rejection(() => rmClient(emu, asServer, SUB_A).resourceGroups.get('rg-scoped-a'));
    assert.equal(group.code, 'AuthorizationFailed', 'a role on a server does not cover its resource group');
    const inGroup: string[] = [];
    for await (const s of pg.servers.listByResourceGroup('rg-scoped-a')) inGroup.push(s.name!);
    assert.deepEqual(inGroup, ['srv-in-a']);
  });

  test('RBAC actions as Azure names them', () => {
    const seg = (p: string) => p.split('/').filter(Boolean);
    const server = `/subscriptions/${SUB_A}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv`;
    assert.equal(rbacAction('PUT', seg(server)), 'Microsoft.DBforPostgreSQL/flexibleServers/write');
    assert.equal(rbacAction('PATCH', seg(server)), 'Microsoft.DBforPostgreSQL/flexibleServers/write');
    assert.equal(rbacAction('DELETE', seg(`${server}/databases/app`)), 'Microsoft.DBforPostgreSQL/flexibleServers/databases/delete');
    assert.equal(rbacAction('POST', seg(`${server}/start`)), 'Microsoft.DBforPostgreSQL/flexibleServers/start/action');
    assert.equal(rbacAction('GET', seg(`/subscriptions/${SUB_A}/resourcegroups/rg`)), 'Microsoft.Resources/subscriptions/resourceGroups/read');
  });
});
