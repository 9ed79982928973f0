/**
 * ARM's authorization in the emulator: two subscriptions, two identities, each with a role on its own subscription
 * only. An identity without a role on a subscription is refused by ARM's front door with 403 AuthorizationFailed (the
 * body Azure sends: principal, action, scope), and nothing happens there; with a role it works as before.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { rbacAction } from './authorization';
import { pgClient, raw, rejection, rmClient } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

const SUB_A = 'aaaaaaaa-1111-4000-8000-00000000000a';
const SUB_B = 'bbbbbbbb-1111-4000-8000-00000000000b';
const A = { clientId: 'aaaaaaaa-2222-4000-8000-00000000000a', clientSecret: 'secret-a', subscriptions: [SUB_A] };
const B = { clientId: 'bbbbbbbb-2222-4000-8000-00000000000b', clientSecret: 'secret-b', subscriptions: [SUB_B] };

/** The object ID (oid claim) of the credential's service principal. */
async function oidOf(credential: TokenCredential): Promise<string> {
  const token = (await credential.getToken('https://management.azure.com/.default'))!.token;
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).oid;
}

describe('ARM authorization: role assignments per subscription', () => {
  let emu: Emulator;
  const credentialOf = (c: { clientId: string; clientSecret: string }) =>
    new ClientSecretCredential(emu.tenantId, c.clientId, c.clientSecret, { authorityHost: emu.authorityHost, disableInstanceDiscovery: true });

  before(async () => {
    emu = await startEmulator({ subscriptions: [SUB_A, SUB_B], clients: [{ clientId: '00000000-2222-4000-8000-000000000000', clientSecret: 'all' }, A, B], provisioningDelayMs: 100 });
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
