/**
 * azure/tenancy.ts with a scripted transport: which subscription and credential serve each namespace, ARM clients
 * made once per (subscription, identity), one pacer per subscription, one credential per identity.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeArm, FakeCredential } from './helpers/fake-arm';
import type { AzureIdentity, NamespaceScopes } from '../../src/api';
import { isArmThrottledError } from '../../src/reconciler/azure';
import { AzureTenancy } from '../../src/reconciler/azure/tenancy';

const DEFAULT_SUB = '00000000-0000-0000-0000-000000000000';
const SUB_A = 'aaaaaaaa-0000-0000-0000-000000000000';
const SUB_B = 'bbbbbbbb-0000-0000-0000-000000000000';
const ID_A = 'aaaaaaaa-1111-0000-0000-000000000000';
const SCOPES: NamespaceScopes = {
  'a': { subscriptionId: SUB_A, resourceGroups: ['*'], clientId: ID_A },
  'a-too': { subscriptionId: SUB_A.toUpperCase(), resourceGroups: ['*'], clientId: ID_A.toUpperCase() },
  'a-own': { subscriptionId: SUB_A, resourceGroups: ['*'] },
  'b': { subscriptionId: SUB_B, resourceGroups: ['*'], clientId: 'bbbbbbbb-1111-0000-0000-000000000000', tenantId: 'cccccccc-0000-0000-0000-000000000000' },
  'default-sub': { resourceGroups: ['*'] },
};

function tenancy(fake = new FakeArm()) {
  const own = new FakeCredential();
  const made: Array<AzureIdentity & { credential: FakeCredential }> = [];
  const t = new AzureTenancy({
    scopes: SCOPES,
    subscriptionId: DEFAULT_SUB,
    credential: own,
    credentialFor: (identity) => {
      const credential = new FakeCredential();
      made.push({ ...identity, credential });
      return credential;
    },
    endpoint: 'https://arm.example.test',
    armScope: 'https://arm.example.test/.default',
    httpClient: fake,
  });
  return { t, own, made, fake };
}

describe('AzureTenancy', () => {
  it('a namespace gets its scope\'s subscription and identity; the defaults otherwise', () => {
    const { t, own, made } = tenancy();
    assert.equal(t.forNamespace('a').subscriptionId, SUB_A);
    assert.equal(t.forNamespace('a').clientId, ID_A);
    assert.equal(t.forNamespace('a-own').credential, own, 'no clientId: the reconciler\'s own identity');
    assert.equal(t.forNamespace('default-sub').subscriptionId, DEFAULT_SUB);
    assert.equal(t.forNamespace('unlisted').subscriptionId, DEFAULT_SUB);
    assert.equal(t.forNamespace('unlisted').credential, own);
    const b = t.forNamespace('b');
    assert.deepEqual(made.map(({ clientId, tenantId }) => ({ clientId, tenantId })), [
      { clientId: ID_A, tenantId: undefined },
      { clientId: 'bbbbbbbb-1111-0000-0000-000000000000', tenantId: 'cccccccc-0000-0000-0000-000000000000' },
    ]);
    assert.equal(b.credential, made[1].credential);
  });

  it('clients are made once per (subscription, identity), ignoring case; pacers once per subscription', () => {
    const { t, made } = tenancy();
    const a = t.forNamespace('a');
    assert.equal(t.forNamespace('a').arm, a.arm, 'reused');
    assert.equal(t.forNamespace('a-too').arm, a.arm, 'the same subscription and identity in another case');
    assert.equal(made.length, 1, 'one credential per identity');
    const own = t.forNamespace('a-own');
    assert.notEqual(own.arm, a.arm, 'another identity in the same subscription: other clients');
    assert.equal(own.arm.clients.pacer, a.arm.clients.pacer, '... sharing the subscription\'s pacer');
    assert.notEqual(t.forNamespace('b').arm.clients.pacer, a.arm.clients.pacer, 'another subscription: another pacer');
    assert.equal(a.arm.clients.subscriptionId, SUB_A);
  });

  it('a subscription throttled by ARM does not hold another back', async () => {
    const fake = new FakeArm()
      .on('GET', new RegExp(`/subscriptions/${SUB_A}/`), { status: 429, headers: { 'retry-after': '120' }, body: { error: { code: 'TooManyRequests', message: 'throttled' } } })
      .on('GET', new RegExp(`/subscriptions/${SUB_B}/`), { status: 200, body: { id: 'x', name: 'srv', location: 'eastus' } });
    const { t } = tenancy(fake);
    await assert.rejects(() => t.forNamespace('a').arm.clients.postgres.servers.get('rg', 'srv'), (e: unknown) => isArmThrottledError(e));
    assert.ok(t.pacerOf(SUB_A).waitFor('reads') > 60_000);
    // Subscription A's other identity waits at the same gate, without a request.
    const sent = fake.requests.length;
    await assert.rejects(() => t.forNamespace('a-own').arm.clients.postgres.servers.get('rg', 'srv'), (e: unknown) => isArmThrottledError(e));
    assert.equal(fake.requests.length, sent, 'nothing sent while the subscription\'s gate is closed');
    assert.equal((await t.forNamespace('b').arm.clients.postgres.servers.get('rg', 'srv')).name, 'srv');
    assert.equal(t.pacerOf(SUB_B).waitFor('reads'), 0);
  });
});
