/**
 * Tenancy against the real ARM emulator with two subscriptions and two identities, each holding a role on its own
 * subscription only (the cluster admin's --namespace-scopes): a namespace's servers are created in its subscription
 * with its identity's tokens, that identity is the server's Entra administrator and signs in to PostgreSQL with its
 * own token; an identity cannot touch another's subscription, nor a resource group outside its role's scope (Azure's
 * 403 AuthorizationFailed becomes the condition);
 * ARM pacing is per subscription (a throttled subscription does not hold the other back).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientSecretCredential } from '@azure/identity';
import { Client } from 'pg';
import { FAST_TIMING, startHarness, type Harness } from './helpers/harness';
import type { NamespaceScopes } from '../../src/api';
import { createArmClients, PostgresArm } from '../../src/reconciler/azure';
import { identityFromToken } from '../../src/reconciler/azure/identity';
import type { AzureTenancy } from '../../src/reconciler/azure/tenancy';
import type { Condition, Controller, Kind, ObjectKey, PostgresServerObject } from '../../src/reconciler/contracts';
import { createControllersWith, tenancyOf } from '../../src/reconciler/controllers';
import { OSSRDBMS_RESOURCE } from '../emulator/entra';

const SUB_A = 'aaaaaaaa-1111-4000-8000-00000000000a';
const SUB_B = 'bbbbbbbb-1111-4000-8000-00000000000b';
const OBSERVER = { clientId: '00000000-2222-4000-8000-000000000000', clientSecret: 'observer-secret-0123456789' };
const A = { clientId: 'aaaaaaaa-2222-4000-8000-00000000000a', clientSecret: 'identity-a-secret-0123456789', subscriptions: [SUB_A] };
const B = { clientId: 'bbbbbbbb-2222-4000-8000-00000000000b', clientSecret: 'identity-b-secret-0123456789', subscriptions: [SUB_B] };
// A role on one resource group of subscription A only.
const GROUP_A = { clientId: 'dddddddd-2222-4000-8000-00000000000d', clientSecret: 'identity-d-secret-0123456789', scopes: [`/subscriptions/${SUB_A}/resourceGroups/rg-d`] };
// A role on its resource group and on a hub network's resource group of subscription B.
const HUB_USER = {
  clientId: 'eeeeeeee-2222-4000-8000-00000000000e',
  clientSecret: 'identity-e-secret-0123456789',
  scopes: [`/subscriptions/${SUB_A}/resourceGroups/rg-e`, `/subscriptions/${SUB_B}/resourceGroups/hub-net`],
};
const SCOPES: NamespaceScopes = {
  'team-a': { subscriptionId: SUB_A, resourceGroups: ['rg-a'], clientId: A.clientId },
  'team-b': { subscriptionId: SUB_B, resourceGroups: ['rg-b'], clientId: B.clientId },
  // The cluster admin's mistake: identity B has no role on subscription A.
  'team-c': { subscriptionId: SUB_A, resourceGroups: ['rg-c'], clientId: B.clientId },
  // The cluster admin's other mistake: the namespace may use rg-d-*, but its identity's role is on rg-d only.
  'team-d': { subscriptionId: SUB_A, resourceGroups: ['rg-d', 'rg-d-*'], clientId: GROUP_A.clientId },
  // A hub network in subscription B: team-e's servers may use its subnets and private DNS zones, and those of
  // dns-elsewhere, where the cluster admin forgot to give its identity a role.
  'team-e': {
    subscriptionId: SUB_A,
    resourceGroups: ['rg-e'],
    clientId: HUB_USER.clientId,
    networkScopes: [`/subscriptions/${SUB_B}/resourceGroups/Hub-Net`, `/subscriptions/${SUB_B}/resourceGroups/dns-elsewhere`],
  },
};

let h: Harness;
let tenancy: AzureTenancy;
let credentialFor: (identity: { clientId: string }) => ClientSecretCredential;
const oid: Record<string, string> = {};

const credential = (c: { clientId: string; clientSecret: string }) =>
  new ClientSecretCredential(h.emu.tenantId, c.clientId, c.clientSecret, { authorityHost: h.emu.authorityHost, disableInstanceDiscovery: true });
/** ARM of a subscription as the observer (a role on every subscription): to look at Azure from outside. */
const observe = (subscriptionId: string) => new PostgresArm(createArmClients({ subscriptionId, endpoint: h.emu.armEndpoint, scope: `${h.emu.armEndpoint}/.default`, credential: credential(OBSERVER) }));

function serverSpec(azureName: string, resourceGroup: string) {
  return {
    azureName,
    resourceGroup: { name: resourceGroup, create: true },
    location: 'eastus',
    // Entra sign-in: the reconciler's identity becomes an Entra administrator (and creates passwordless roles as it).
    authentication: { password: true, microsoftEntra: true },
    writeConnectionSecretToRef: { name: `${azureName}-admin` },
  };
}

function useControllers(): void {
  tenancy = tenancyOf(h.env);
  const list: Controller[] = createControllersWith(h.env, { tenancy, timing: FAST_TIMING });
  h.controllers = Object.fromEntries(list.map((c) => [c.kind, c])) as Record<Kind, Controller>;
}

async function app(namespace: string, server: string, resourceGroup: string): Promise<{ server: ObjectKey; role: ObjectKey }> {
  const s = h.kube.create('PostgresServer', namespace, server, serverSpec(`srv-${server}`, resourceGroup));
  h.kube.create('PostgresDatabase', namespace, `${server}-db`, { serverRef: { name: server }, azureName: 'app' });
  // Passwordless: the reconciler creates it signed in to PostgreSQL as its Entra administrator, with its token.
  const role = h.kube.create('PostgresRole', namespace, `${server}-app`, {
    serverRef: { name: server },
    databaseRef: { name: `${server}-db` },
    roleName: 'app_user',
    writeConnectionSecretToRef: { name: `${server}-app-pg` },
    identity: { clientId: OBSERVER.clientId, objectId: oid[OBSERVER.clientId] },
  });
  return { server: s, role };
}

/**
 * Reconciles a new server of `namespace` in `resourceGroup` of subscription A once, as `identity`, which Azure refuses:
 * Ready is False, every request got a 403 for that identity, no resource group was made. The server is deleted again.
 */
async function refusedServer(namespace: string, name: string, resourceGroup: string, identity: { clientId: string }): Promise<Condition> {
  h.emu.admin.resetRequests();
  const server = h.kube.create('PostgresServer', namespace, name, serverSpec(`srv-${name}`, resourceGroup));
  const result = await h.controllers.PostgresServer.reconcile(server);
  assert.notEqual(result.failure, undefined);
  const ready = h.ready('PostgresServer', server)!;
  assert.equal(ready.status, 'False');
  const log = h.emu.admin.requests().log.filter((r) => r.path.startsWith('/subscriptions/'));
  assert.ok(log.length > 0 && log.every((r) => r.status === 403 && r.principal === oid[identity.clientId]), JSON.stringify(log));
  assert.equal(await observe(SUB_A).resourceGroupExists(resourceGroup), false, `no resource group ${resourceGroup} was created in subscription A`);
  h.kube.delete('PostgresServer', server);
  await h.controllers.PostgresServer.reconcile(server);
  return ready;
}

before(async () => {
  h = await startHarness({ emulator: { subscriptions: [SUB_A, SUB_B], clients: [OBSERVER, A, B, GROUP_A, HUB_USER], provisioningDelayMs: 300 } });
  const secrets = Object.fromEntries([A, B, GROUP_A, HUB_USER].map((c) => [c.clientId, c.clientSecret]));
  credentialFor = (identity: { clientId: string }) => credential({ clientId: identity.clientId, clientSecret: secrets[identity.clientId] });
  h.configure({ namespaceScopes: SCOPES, credentialFor });
  useControllers();
  for (const c of [A, B, GROUP_A, HUB_USER, OBSERVER]) {
    oid[c.clientId] = identityFromToken((await credential(c).getToken(h.env.armScope))!.token)!.objectId;
  }
});
after(async () => {
  await h?.stop();
});

describe('tenancy: a subscription and an identity per namespace', () => {
  it('team-a\'s server is in subscription A, made with identity A, which is its Entra administrator and signs in; team-b\'s likewise in B', async () => {
    h.emu.admin.resetRequests();
    const a = await app('team-a', 'shop', 'rg-a');
    const b = await app('team-b', 'blog', 'rg-b');
    const ready = (key: ObjectKey) => () => h.ready('PostgresRole', key)?.status === 'True';
    await h.until('PostgresRole', a.role, ready(a.role), 'team-a role Ready');
    await h.until('PostgresRole', b.role, ready(b.role), 'team-b role Ready');

    // Every request for a subscription was made with that namespace's identity's token.
    const log = h.emu.admin.requests().log.filter((r) => r.path.startsWith('/subscriptions/'));
    const underA = log.filter((r) => r.path.toLowerCase().startsWith(`/subscriptions/${SUB_A}/`));
    const underB = log.filter((r) => r.path.toLowerCase().startsWith(`/subscriptions/${SUB_B}/`));
    assert.ok(underA.some((r) => r.method === 'PUT' && /flexibleServers\/srv-shop$/i.test(r.path)), 'server shop is created in subscription A');
    assert.ok(underB.some((r) => r.method === 'PUT' && /flexibleServers\/srv-blog$/i.test(r.path)), 'server blog is created in subscription B');
    assert.deepEqual([...new Set(underA.map((r) => r.principal))], [oid[A.clientId]], 'subscription A sees identity A only');
    assert.deepEqual([...new Set(underB.map((r) => r.principal))], [oid[B.clientId]], 'subscription B sees identity B only');
    assert.equal(log.filter((r) => r.status === 403).length, 0);

    // Azure, seen from outside: each server in its own subscription, its Entra administrator its namespace's identity.
    assert.ok(await observe(SUB_A).getServer('rg-a', 'srv-shop'));
    assert.equal(await observe(SUB_B).getServer('rg-a', 'srv-shop'), undefined);
    assert.ok(await observe(SUB_B).getServer('rg-b', 'srv-blog'));
    assert.deepEqual((await observe(SUB_A).listAdministrators('rg-a', 'srv-shop')).map((x) => x.objectId), [oid[A.clientId]]);
    assert.deepEqual((await observe(SUB_B).listAdministrators('rg-b', 'srv-blog')).map((x) => x.objectId), [oid[B.clientId]]);
    const status = h.kube.get<PostgresServerObject>('PostgresServer', a.server)!.status!;
    assert.match(status.azureResourceId!, new RegExp(`^/subscriptions/${SUB_A}/resourceGroups/rg-a/`, 'i'));

    // The passwordless roles the reconciler created (signed in with each namespace's identity) work.
    const appToken = h.emu.admin.issueToken({ clientId: OBSERVER.clientId, resource: OSSRDBMS_RESOURCE });
    for (const [ns, name] of [['team-a', 'shop-app-pg'], ['team-b', 'blog-app-pg']]) {
      const data = h.kube.secretData(ns, name)!;
      const ssl = { ca: h.emu.caCertPem, rejectUnauthorized: true };
      const c = new Client({ host: data.host, port: 5432, user: data.username, password: appToken, database: data.dbname, ssl });
      await c.connect();
      assert.equal((await c.query('select current_user as u')).rows[0].u, 'app_user');
      await c.end();
    }
  });

  it('a namespace moved to another subscription leaves its server where it was: OutOfScope, not made again, not deleted', async () => {
    h.configure({ namespaceScopes: { ...SCOPES, 'team-a': { subscriptionId: SUB_B, resourceGroups: ['rg-a'], clientId: B.clientId } }, credentialFor });
    useControllers();
    h.emu.admin.resetRequests();
    const key = { namespace: 'team-a', name: 'shop' };
    assert.equal((await h.controllers.PostgresServer.reconcile(key)).failure, 'userError');
    const ready = h.ready('PostgresServer', key)!;
    assert.equal(ready.reason, 'OutOfScope', ready.message);
    assert.match(ready.message, new RegExp(`it is in subscription ${SUB_A} \\(status\\.azureResourceId\\), but the resources of namespace team-a now live in subscription ${SUB_B}`));
    h.kube.delete('PostgresServer', key);
    await h.controllers.PostgresServer.reconcile(key);
    assert.ok(!h.kube.exists('PostgresServer', key), 'the finalizer is removed');
    assert.ok(h.kube.events.some((e) => e.name === 'shop' && e.reason === 'NotDeleted' && e.type === 'Warning'));
    assert.deepEqual(h.emu.admin.requests().log.filter((r) => r.path.startsWith('/subscriptions/')), [], 'no Azure call in either subscription');
    assert.ok(await observe(SUB_A).getServer('rg-a', 'srv-shop'), 'the server is still in subscription A');
    h.configure({ namespaceScopes: SCOPES, credentialFor });
    useControllers();
  });

  it('identity B cannot touch subscription A: Azure\'s AuthorizationFailed is the condition, and nothing is created there', async () => {
    const ready = await refusedServer('team-c', 'intruder', 'rg-c', B);
    assert.match(ready.message, /AuthorizationFailed/);
    assert.match(ready.message, new RegExp(`The client '${oid[B.clientId]}' .* does not have authorization to perform action`));
  });

  it('an identity with a role on one resource group cannot use another the namespace\'s scope allows: AuthorizationFailed over that group', async () => {
    const ready = await refusedServer('team-d', 'beside', 'rg-d-extra', GROUP_A);
    assert.equal(ready.reason, 'AuthorizationFailed', ready.message);
    assert.match(ready.message, new RegExp(`The client '${oid[GROUP_A.clientId]}' with object id '${oid[GROUP_A.clientId]}' does not have authorization to perform action '[^']+' over scope '/subscriptions/${SUB_A}/resourcegroups/rg-d-extra[/']`, 'i'));
  });

  it('a server naming a subnet of another subscription is OutOfScope and makes no Azure call', async () => {
    h.emu.admin.resetRequests();
    const subnet = `/subscriptions/${SUB_B}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pg`;
    const zone = `/subscriptions/${SUB_A}/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/private.postgres.database.azure.com`;
    const key = h.kube.create('PostgresServer', 'team-a', 'private', {
      ...serverSpec('srv-private', 'rg-a'), network: { publicNetworkAccess: false, delegatedSubnetResourceId: subnet, privateDnsZoneResourceId: zone },
    });
    assert.equal((await h.controllers.PostgresServer.reconcile(key)).failure, 'userError');
    const ready = h.ready('PostgresServer', key)!;
    assert.equal(ready.reason, 'OutOfScope', ready.message);
    assert.match(ready.message, new RegExp(`spec\\.network\\.delegatedSubnetResourceId names subscription ${SUB_B}, but the resources of namespace team-a live in subscription ${SUB_A}`));
    assert.deepEqual(h.emu.admin.requests().log.filter((r) => r.path.startsWith('/subscriptions/')), []);
    h.kube.delete('PostgresServer', key);
    await h.controllers.PostgresServer.reconcile(key);
  });

  it('a subnet and DNS zone under the namespace\'s networkScopes are used; one outside them is OutOfScope, naming them; one without a role is Azure\'s LinkedAuthorizationFailed', async () => {
    const hub = `/subscriptions/${SUB_B}/resourceGroups/hub-net/providers/Microsoft.Network`;
    const subnet = `${hub}/virtualNetworks/hub/subnets/pg`;
    const zone = `${hub}/privateDnsZones/private.postgres.database.azure.com`;
    const elsewhere = `/subscriptions/${SUB_B}/resourceGroups/other-net/providers/Microsoft.Network/privateDnsZones/private.postgres.database.azure.com`;
    const network = (z: string) => ({ publicNetworkAccess: false, delegatedSubnetResourceId: subnet, privateDnsZoneResourceId: z });

    h.emu.admin.resetRequests();
    const outside = h.kube.create('PostgresServer', 'team-e', 'outside', { ...serverSpec('srv-outside', 'rg-e'), network: network(elsewhere) });
    assert.equal((await h.controllers.PostgresServer.reconcile(outside)).failure, 'userError');
    const refused = h.ready('PostgresServer', outside)!;
    assert.equal(refused.reason, 'OutOfScope', refused.message);
    assert.match(refused.message, new RegExp(`spec\\.network\\.privateDnsZoneResourceId names subscription ${SUB_B}, .* or under its networkScopes \\(/subscriptions/${SUB_B}/resourceGroups/Hub-Net, `));
    assert.deepEqual(h.emu.admin.requests().log.filter((r) => r.path.startsWith('/subscriptions/')), [], 'no Azure call');
    h.kube.delete('PostgresServer', outside);
    await h.controllers.PostgresServer.reconcile(outside);

    // In the scope, but the identity has no role on that zone: Azure's linked access check refuses the create.
    const noRole = `/subscriptions/${SUB_B}/resourceGroups/dns-elsewhere/providers/Microsoft.Network/privateDnsZones/private.postgres.database.azure.com`;
    const unlinked = h.kube.create('PostgresServer', 'team-e', 'unlinked', { ...serverSpec('srv-unlinked', 'rg-e'), network: network(noRole) });
    assert.notEqual((await h.controllers.PostgresServer.reconcile(unlinked)).failure, undefined);
    const linked = h.ready('PostgresServer', unlinked)!;
    assert.equal(linked.reason, 'LinkedAuthorizationFailed', linked.message);
    assert.match(linked.message, new RegExp(`does not have permission to perform action 'Microsoft\\.Network/privateDnsZones/join/action' on the linked scope\\(s\\) '${noRole}'`));
    assert.equal(await observe(SUB_A).getServer('rg-e', 'srv-unlinked'), undefined, 'nothing was created');
    h.kube.delete('PostgresServer', unlinked);
    await h.controllers.PostgresServer.reconcile(unlinked);

    const inside = h.kube.create('PostgresServer', 'team-e', 'inside', { ...serverSpec('srv-inside', 'rg-e'), network: network(zone) });
    await h.until('PostgresServer', inside, () => h.ready('PostgresServer', inside)?.status === 'True', 'team-e server Ready');
    const created = (await observe(SUB_A).getServer('rg-e', 'srv-inside'))!;
    assert.deepEqual([created.network?.delegatedSubnetResourceId, created.network?.privateDnsZoneArmResourceId], [subnet, zone],
      'created in the namespace\'s subscription with the hub\'s subnet and zone (resource IDs compared ignoring case: Hub-Net)');
    h.kube.delete('PostgresServer', inside);
    await h.until('PostgresServer', inside, () => h.kube.get('PostgresServer', inside) === undefined, 'team-e server deleted');
  });

  it('pacing is per subscription: subscription A throttled for minutes does not hold subscription B back', async () => {
    useControllers();
    // Subscription A answers its next request with 429 and a long Retry-After: its pacer closes that bucket.
    h.emu.admin.addFault({ kind: 'error', status: 429, retryAfterSeconds: 600, count: 1, match: `^GET /subscriptions/${SUB_A}/` });
    const a = h.kube.create('PostgresServer', 'team-a', 'later', serverSpec('srv-later', 'rg-a'));
    const b = h.kube.create('PostgresServer', 'team-b', 'now', serverSpec('srv-now', 'rg-b'));
    const throttled = await h.controllers.PostgresServer.reconcile(a);
    assert.equal(throttled.failure, 'throttled');
    assert.ok(tenancy.pacerOf(SUB_A).waitFor('reads') > 60_000, 'subscription A\'s reads wait for Retry-After');

    await h.until('PostgresServer', b, () => h.ready('PostgresServer', b)?.status === 'True', 'team-b server Ready');
    assert.equal(tenancy.pacerOf(SUB_B).stats.throttled, 0);
    assert.ok(tenancy.pacerOf(SUB_A).waitFor('reads') > 0, 'subscription A is still closed while B went on');
    assert.equal(h.emu.admin.requests().serverCreates['srv-later'] ?? 0, 0, 'nothing was sent for A while it waits');
  });
});
