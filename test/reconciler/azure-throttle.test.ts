/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHttpHeaders, FakeArm, FakeCredential } from './helpers/fake-arm';
import {
  ArmPacer,
  ArmThrottledError,
  bucketOf,
  createArmClients,
  isArmThrottledError,
  parseRemaining,
  parseRetryAfterMs,
  resourceTypeOf,
} from '../../src/reconciler/azure';
import { isNotFound } from '../../src/reconciler/azure/errors';

const SUB = '00000000-0000-0000-0000-000000000001';
const SERVER_URL = /flexibleServers\/srv1\?/;
const serverBody = { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv1`, name: 'srv1', location: 'eastus', properties: { state: 'Ready' } };

function clients(fake: FakeArm, extra: Partial<Parameters<typeof createArmClients>[0]> = {}) {
  return createArmClients({ subscriptionId: SUB, endpoint: 'https://arm.example.test/', scope: 'https://arm.example.test/.default', credential: new FakeCredential(), httpClient: fake, ...extra });
}

describe('header parsing', () => {
  it('Retry-After in seconds, as an HTTP date, and the ms variants', () => {
    assert.equal(parseRetryAfterMs(createHttpHeaders({ 'retry-after': '7' })), 7000);
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(parseRetryAfterMs(createHttpHeaders({ 'retry-after': 'Tue, 01 Jan 2030 00:00:30 GMT' }), now), 30_000);
    assert.equal(parseRetryAfterMs(createHttpHeaders({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    assert.equal(parseRetryAfterMs(createHttpHeaders({ 'x-ms-retry-after-ms': '120' })), 120);
    assert.equal(parseRetryAfterMs(createHttpHeaders({})), undefined);
    assert.equal(parseRetryAfterMs(createHttpHeaders({ 'retry-after': 'garbage' })), undefined);
  });

  it('remaining budget per bucket, lowest of regional and global', () => {
    const h = createHttpHeaders({ 'x-ms-ratelimit-remaining-subscription-reads': '11999', 'x-ms-ratelimit-remaining-subscription-global-reads': '240', 'x-ms-ratelimit-remaining-subscription-writes': '7' });
    assert.equal(parseRemaining(h, 'reads'), 240);
    assert.equal(parseRemaining(h, 'writes'), 7);
    assert.equal(parseRemaining(h, 'deletes'), undefined);
  });

  it('buckets and resource types', () => {
    assert.equal(bucketOf('GET'), 'reads');
    assert.equal(bucketOf('PUT'), 'writes');
    assert.equal(bucketOf('PATCH'), 'writes');
    assert.equal(bucketOf('DELETE'), 'deletes');
    const base = `https://management.azure.com/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/s`;
    assert.equal(resourceTypeOf(`${base}?api-version=2025-08-01`), 'flexibleServers');
    assert.equal(resourceTypeOf(`${base}/databases/d?api-version=1`), 'flexibleServers/databases');
    assert.equal(resourceTypeOf(`${base}/configurations/work_mem`), 'flexibleServers/configurations');
    assert.equal(resourceTypeOf(`https://management.azure.com/subscriptions/${SUB}/resourceGroups/rg?api-version=1`), 'resourceGroups');
    assert.equal(resourceTypeOf(`https://management.azure.com/subscriptions/${SUB}/providers/Microsoft.DBforPostgreSQL/locations/UK%20South/azureAsyncOperation/x?a=1`), 'operations');
  });
});

describe('pacing', () => {
  it('spaces requests out more as the remaining budget falls', () => {
    const p = new ArmPacer({ lowWater: 50, maxIntervalMs: 2000 });
    assert.equal(p.intervalFor(undefined), 0);
    assert.equal(p.intervalFor(500), 0);
    assert.equal(p.intervalFor(50), 0);
    const i40 = p.intervalFor(40);
    const i10 = p.intervalFor(10);
    const i0 = p.intervalFor(0);
    assert.ok(i40 > 0 && i40 < i10 && i10 < i0, `${i40} ${i10} ${i0}`);
    assert.equal(i0, 2000);
  });

  it('throws ArmThrottledError instead of waiting longer than maxInlineWaitMs', async () => {
    const p = new ArmPacer({ maxInlineWaitMs: 100 });
    p.block('writes', 5000);
    await assert.rejects(p.acquire('writes'), (e: unknown) => isArmThrottledError(e) && e.retryAfterMs > 4000);
    await p.acquire('reads'); // other buckets are not blocked
  });

  it('a falling x-ms-ratelimit-remaining-subscription-reads slows the client down', async () => {
    const fake = new FakeArm();
    let remaining = 60;
    fake.on('GET', SERVER_URL, () => ({ status: 200, headers: { 'x-ms-ratelimit-remaining-subscription-reads': String(remaining--) }, body: serverBody }));
    // A virtual clock: the pacer's waits are recorded instead of slept, so the figures do not depend on the machine's load.
    let now = 0;
    const pacer = new ArmPacer({ lowWater: 50, maxIntervalMs: 1000 }, { now: () => now, sleep: async (ms) => { now += ms; } });
    const c = clients(fake, { pacer });
    const waits: number[] = [];
    for (let i = 0; i < 30; i++) {
      const before = pacer.stats.pacedMs;
      await c.postgres.servers.get('rg', 'srv1');
      waits.push(pacer.stats.pacedMs - before);
    }
    assert.deepEqual(waits.slice(0, 8), [0, 0, 0, 0, 0, 0, 0, 0], 'no wait while the budget is above the low-water mark');
    const late = waits.slice(-5).reduce((a, b) => a + b, 0) / 5;
    assert.ok(late > 60, `late waits should grow as remaining falls to ~31 (~100ms), were ${waits.slice(-5).join(', ')}`);
    assert.ok(waits.slice(-5).every((w, i, all) => i === 0 || w >= all[i - 1]), `waits should not shrink while remaining falls: ${waits.join(', ')}`);
  });
});

describe('429 and Retry-After', () => {
  it('retries a 429 after Retry-After and reports every response', async () => {
    const fake = new FakeArm();
    fake.on('GET', SERVER_URL, (_r, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'TooManyRequests', message: 'slow down' } } } : { status: 200, body: serverBody }));
    const seen: string[] = [];
    const c = clients(fake, { onArmResponse: (m, t, s) => seen.push(`${m} ${t} ${s}`) });
    const t0 = Date.now();
    const s = await c.postgres.servers.get('rg', 'srv1');
    assert.equal(s.name, 'srv1');
    assert.equal(fake.requests.length, 2);
    assert.ok(fake.requests[1].at - fake.requests[0].at >= 950, 'waited for Retry-After');
    assert.ok(Date.now() - t0 >= 950);
    assert.deepEqual(seen, ['GET flexibleServers 429', 'GET flexibleServers 200']);
  });

  it('one 429 holds back every request of that bucket (shared gate), not only its own', async () => {
    const fake = new FakeArm();
    let first = true;
    fake.on('GET', SERVER_URL, () => {
      if (first) {
        first = false;
        return { status: 429, headers: { 'retry-after': '1' } };
      }
      return { status: 200, body: serverBody };
    });
    const c = clients(fake);
    const t0 = Date.now();
    await c.postgres.servers.get('rg', 'srv1');
    // A second worker's request issued right after the 429 must also wait for the gate.
    await Promise.all([c.postgres.servers.get('rg', 'srv1'), c.postgres.servers.get('rg', 'srv1')]);
    const after429 = fake.requests.slice(1);
    assert.ok(after429.every((r) => r.at - t0 >= 950), 'no request went out before Retry-After elapsed');
  });

  it('a 503\'s Retry-After holds back the same request from every worker, not only the one that got it', async () => {
    const fake = new FakeArm();
    fake.on('GET', SERVER_URL, (_r, n) => (n === 0 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200, body: serverBody }));
    fake.on('GET', /flexibleServers\/other\?/, { status: 200, body: serverBody });
    const c = clients(fake);
    const first = c.postgres.servers.get('rg', 'srv1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const answered503 = fake.requests[0].at;
    // Another worker asks for the same server while the first waits out Retry-After; a different server is not held.
    await Promise.all([first, c.postgres.servers.get('rg', 'srv1'), c.postgres.servers.get('rg', 'other')]);
    const again = fake.requests.slice(1).filter((r) => SERVER_URL.test(r.url));
    assert.equal(again.length, 2);
    for (const r of again) assert.ok(r.at - answered503 >= 950, `GET srv1 again ${r.at - answered503} ms after the 503 with Retry-After: 1`);
    const other = fake.requests.find((r) => /other\?/.test(r.url))!;
    assert.ok(again.every((r) => other.at < r.at), 'a different request is not held back');
  });

  it('retries a 429 without Retry-After (the SDK default does not)', async () => {
    const fake = new FakeArm();
    fake.on('GET', SERVER_URL, (_r, n) => (n < 2 ? { status: 429 } : { status: 200, body: serverBody }));
    const c = clients(fake, { pacing: { baseBackoffMs: 50 } });
    await c.postgres.servers.get('rg', 'srv1');
    assert.equal(fake.requests.length, 3);
  });

  it('a long Retry-After frees the worker: ArmThrottledError with the delay, nothing else sent', async () => {
    const fake = new FakeArm();
    fake.on('PUT', SERVER_URL, { status: 429, headers: { 'retry-after': '120' } });
    fake.on('GET', SERVER_URL, { status: 200, body: serverBody });
    const c = clients(fake);
    const t0 = Date.now();
    await assert.rejects(c.postgres.servers.beginCreateOrUpdate('rg', 'srv1', { location: 'eastus' }), (e: unknown) => {
      assert.ok(e instanceof ArmThrottledError);
      assert.ok(e.retryAfterMs >= 119_000 && e.retryAfterMs <= 120_000);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, 'did not sleep in the worker');
    assert.equal(fake.count('PUT', SERVER_URL), 1);
    // Writes are gated now; reads are not.
    await assert.rejects(c.postgres.servers.beginCreateOrUpdate('rg', 'srv1', { location: 'eastus' }), ArmThrottledError);
    assert.equal(fake.count('PUT', SERVER_URL), 1);
    await c.postgres.servers.get('rg', 'srv1');
  });

  it('retries 503 with Retry-After, and 500 with backoff, then surfaces Azure\'s error', async () => {
    const fake = new FakeArm();
    fake.on('GET', SERVER_URL, (_r, n) => (n === 0 ? { status: 503, headers: { 'retry-after': '0' } } : { status: 200, body: serverBody }));
    const c = clients(fake, { pacing: { baseBackoffMs: 20, maxRetries: 2 } });
    await c.postgres.servers.get('rg', 'srv1');
    assert.equal(fake.requests.length, 2);

    const fake2 = new FakeArm();
    fake2.on('GET', SERVER_URL, { status: 500, body: { error: { code: 'InternalServerError', message: 'boom' } } });
    const c2 = clients(fake2, { pacing: { baseBackoffMs: 20, maxRetries: 2 } });
    await assert.rejects(c2.postgres.servers.get('rg', 'srv1'), (e: any) => e.statusCode === 500 && e.code === 'InternalServerError');
    assert.equal(fake2.requests.length, 3);
  });

  it('does not retry 4xx', async () => {
    const fake = new FakeArm();
    fake.on('GET', SERVER_URL, { status: 403, body: { error: { code: 'AuthorizationFailed', message: 'no' } } });
    const c = clients(fake);
    await assert.rejects(c.postgres.servers.get('rg', 'srv1'), (e: any) => e.code === 'AuthorizationFailed');
    assert.equal(fake.requests.length, 1);
  });

  it('uses the configured endpoint and scope for servers and resource groups', async () => {
    const fake = new FakeArm();
    fake.on('GET', SERVER_URL, { status: 200, body: serverBody });
    fake.on('GET', /resourcegroups\/rg1\?/i, { status: 200, body: { id: 'x', name: 'rg1', location: 'eastus' } });
    const scopes: string[] = [];
    const credential = { getToken: async (s: string | string[]) => { scopes.push(...[s].flat()); return { token: 't', expiresOnTimestamp: Date.now() + 3600_000 }; } };
    const c = createArmClients({ subscriptionId: SUB, endpoint: 'https://arm.sovereign.test', scope: 'https://arm.sovereign.test/.default', credential, httpClient: fake });
    await c.postgres.servers.get('rg', 'srv1');
    assert.equal((await c.resourceGroups.get('rg1')).location, 'eastus');
    assert.ok(fake.requests.every((r) => r.url.startsWith('https://arm.sovereign.test/subscriptions/')), JSON.stringify(fake.requests.map((r) => r.url)));
    assert.ok(scopes.length > 0 && scopes.every((s) => s === 'https://arm.sovereign.test/.default'), JSON.stringify(scopes));
    assert.match(fake.requests[0].url, /api-version=2025-08-01/);
    assert.match(fake.requests[1].url, /\/resourcegroups\/rg1\?api-version=2025-04-01$/);
  });

  it('resource groups: the Azure error as the SDK RestError (code, message, status), a PUT with the JSON body', async () => {
    const fake = new FakeArm();
    fake.on('GET', /resourcegroups\/gone\?/i, { status: 404, body: { error: { code: 'ResourceGroupNotFound', message: "Resource group 'gone' could not be found." } } });
    fake.on('PUT', /resourcegroups\/new\?/i, { status: 201, body: { id: 'x', name: 'new', location: 'westeurope', tags: { a: 'b' } } });
    const c = clients(fake);
    await assert.rejects(c.resourceGroups.get('gone'), (e: any) =>
      e.name === 'RestError' && e.statusCode === 404 && e.code === 'ResourceGroupNotFound' && /could not be found/.test(e.message) && isNotFound(e));
    const created = await c.resourceGroups.createOrUpdate('new', { location: 'westeurope', tags: { a: 'b' } });
    assert.equal(created.name, 'new');
    const put = fake.requests.find((r) => r.method === 'PUT')!;
    assert.deepEqual(JSON.parse(String(put.body)), { location: 'westeurope', tags: { a: 'b' } });
  });
});
