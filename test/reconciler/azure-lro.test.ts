/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeArm, FakeCredential } from './helpers/fake-arm';
import { ArmResource, assertSafeResumeToken, createArmClients, type Server } from '../../src/reconciler/azure';
import { FIREWALL_RULE } from '../../src/reconciler/controllers/firewall-rule';
import { SERVER as SERVER_KIND } from '../../src/reconciler/controllers/server';

const SUB = '00000000-0000-0000-0000-000000000002';
const EP = 'https://arm.example.test';
const SERVER = /\/flexibleServers\/srv1\?/;
const OP = /azureAsyncOperation\/op-1/;
const PASSWORD = 'S3cret-Pa55w0rd!xyz';
const opUrl = `${EP}/subscriptions/${SUB}/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/op-1?api-version=2025-08-01&t=1&c=abc&s=sig&h=hh`;
const resultUrl = `${EP}/subscriptions/${SUB}/providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/op-1?api-version=2025-08-01`;
const server = { id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/srv1`, name: 'srv1', location: 'East US', properties: { state: 'Ready', fullyQualifiedDomainName: 'srv1.postgres.database.azure.com', version: '16' } };

function client(fake: FakeArm) {
  return createArmClients({ subscriptionId: SUB, endpoint: EP, scope: `${EP}/.default`, credential: new FakeCredential(), httpClient: fake, pacing: { baseBackoffMs: 10 } }).postgres;
}

/** Server srv1 in rg, through the server descriptor's operations (what the lifecycle uses). */
function srv1(fake: FakeArm) {
  return new ArmResource(SERVER_KIND.operations(client(fake), { resourceGroup: 'rg', parents: [], name: 'srv1' }), false);
}

const withPassword = { secrets: [PASSWORD] };

function accepted() {
  return { status: 202, headers: { 'azure-asyncoperation': opUrl, 'location': resultUrl, 'retry-after': '60' }, body: { operation: 'UpsertServerManagementOperationV2', startTime: '2025-01-01T00:00:00Z' } };
}

const body: Server = { location: 'eastus', administratorLogin: 'pgadmin', administratorLoginPassword: PASSWORD, version: '16', sku: { name: 'Standard_B1ms', tier: 'Burstable' } };

describe('long-running operations', () => {
  it('start sends the request and no poll (Azure\'s Retry-After says when); a new process resumes without a second PUT', async () => {
    const fake = new FakeArm();
    let polls = 0;
    fake.on('PUT', SERVER, accepted());
    fake.on('GET', OP, () => ({ status: 200, headers: { 'retry-after': '15' }, body: { name: 'op-1', status: ++polls < 2 ? 'InProgress' : 'Succeeded' } }));
    fake.on('GET', SERVER, { status: 200, body: server });

    const step = await srv1(fake).startCreate(body, { generation: 4, ...withPassword });
    assert.equal(step.status, 'running');
    if (step.status !== 'running') return;
    assert.equal(fake.count('PUT', SERVER), 1);
    assert.equal(fake.count('GET', OP), 0, 'the SDK\'s immediate poll is not sent: it would spend a read for nothing');
    assert.equal(fake.requests.length, 1, 'one request in all');
    assert.equal(step.operation.type, 'Create');
    assert.equal(step.operation.generation, 4);
    assert.equal(step.operation.pollUrl, opUrl);
    assert.equal((step.operation as any).locationUrl, resultUrl);
    assert.equal(step.retryAfterMs, 60_000, 'the initial answer\'s Retry-After');
    const token = step.operation.resumeToken!;
    assert.ok(!token.includes(PASSWORD), 'no password in the token');
    assert.ok(!token.includes('fake-access-token'), 'no access token in the token');
    assert.doesNotMatch(token, /administratorLogin|sku|Standard_B1ms/, 'no request body in the token');
    assertSafeResumeToken(token, [PASSWORD]);

    // A restart: a new client set, only the recorded status.
    const again = await srv1(fake).resume(step.operation);
    assert.equal(again.status, 'running');
    assert.equal(fake.count('GET', OP), 1, 'one poll per resume');
    if (again.status === 'running') assert.equal(again.retryAfterMs, 15_000);
    const done = await srv1(fake).resume(again.status === 'running' ? again.operation : step.operation);
    assert.equal(done.status, 'succeeded');
    assert.equal(fake.count('GET', OP), 2);
    assert.equal(fake.count('GET', SERVER), 0, 'no read of the resource by the poll');
    assert.equal(fake.count('PUT', SERVER), 1, 'never a second create');
    assert.ok(fake.requests.every((r) => r.method !== 'PUT' || r.body?.includes('administratorLoginPassword')));
  });

  it('a failed operation yields Azure\'s code and message', async () => {
    const fake = new FakeArm();
    fake.on('PUT', SERVER, accepted());
    fake.on('GET', OP, (_r, n) => (n === 0
      ? { status: 200, body: { status: 'InProgress' } }
      : { status: 200, body: { name: 'op-1', status: 'Failed', error: { code: 'ServerQuotaExceeded', message: 'The subscription has reached its quota of servers in eastus.' } } }));
    const a = srv1(fake);
    const step = await a.startCreate(body, withPassword);
    assert.equal(step.status, 'running');
    const polled = await a.resume((step as any).operation);
    assert.equal(polled.status, 'running');
    const end = await a.resume((polled as any).operation);
    assert.deepEqual(end, { status: 'failed', error: { code: 'ServerQuotaExceeded', message: 'The subscription has reached its quota of servers in eastus.' } });
  });

  it('a failure found by the first poll is reported, not thrown', async () => {
    const fake = new FakeArm();
    fake.on('PUT', SERVER, accepted());
    fake.on('GET', OP, { status: 200, body: { status: 'Failed', error: { code: 'InternalServerError', message: 'An unexpected error occured' } } });
    const a = srv1(fake);
    const step = await a.startCreate(body, withPassword);
    assert.equal(step.status, 'running');
    const end = await a.resume((step as any).operation);
    assert.deepEqual(end, { status: 'failed', error: { code: 'InternalServerError', message: 'An unexpected error occured' } });
  });

  it('an initial request Azure rejects yields its code and message', async () => {
    const fake = new FakeArm();
    fake.on('PUT', SERVER, { status: 400, body: { error: { code: 'InvalidParameterValue', message: 'Invalid value given for parameter storageSizeGB.', details: [{ code: 'X', message: 'Specify 32-32767.' }] } } });
    const step = await srv1(fake).startCreate(body, withPassword);
    assert.equal(step.status, 'failed');
    if (step.status !== 'failed') return;
    assert.equal(step.error.code, 'InvalidParameterValue');
    assert.match(step.error.message, /storageSizeGB/);
    assert.match(step.error.message, /Specify 32-32767/);
    assert.equal(step.error.statusCode, 400);
    assert.ok(!JSON.stringify(step).includes(PASSWORD));
  });

  it('a poll that fails transiently keeps the operation (token from the initial response)', async () => {
    const fake = new FakeArm();
    fake.on('PUT', SERVER, accepted());
    fake.on('GET', OP, (_r, n) => (n < 5 ? { status: 500, body: { error: { code: 'InternalServerError', message: 'x' } } } : { status: 200, body: { status: 'Succeeded' } }));
    const a = srv1(fake);
    const step = await a.startCreate(body, withPassword);
    assert.equal(step.status, 'running', JSON.stringify(step));
    if (step.status !== 'running') return;
    assert.equal(step.operation.pollUrl, opUrl);
    assertSafeResumeToken(step.operation.resumeToken!, [PASSWORD]);
    const kept = await a.resume(step.operation);
    assert.equal(kept.status, 'running', 'five 500s (first attempt and its retries): still followed');
    const end = await a.resume(step.operation);
    assert.equal(end.status, 'succeeded');
    assert.equal(fake.count('PUT', SERVER), 1);
  });

  it('an operation URL that is gone is reported as lost', async () => {
    const fake = new FakeArm();
    fake.on('GET', OP, { status: 404, body: { error: { code: 'ResourceNotFound', message: 'gone' } } });
    const token = JSON.stringify({ state: { status: 'running', config: { metadata: { mode: 'OperationLocation' }, operationLocation: opUrl } } });
    const step = await srv1(fake).resume({ type: 'Create', resumeToken: token, startedAt: 'x' });
    assert.equal(step.status, 'lost');
    const junk = await srv1(fake).resume({ type: 'Create', resumeToken: 'not json', startedAt: 'x' });
    assert.equal(junk.status, 'lost');
  });

  it('delete: 202 with Location only, polled until 200', async () => {
    const fake = new FakeArm();
    fake.on('DELETE', SERVER, { status: 202, headers: { location: resultUrl } });
    fake.on('GET', /operationResults\/op-1/, (_r, n) => (n < 2 ? { status: 202, headers: { location: resultUrl } } : { status: 200 }));
    const a = srv1(fake);
    const s1 = await a.startDelete();
    assert.equal(s1.status, 'running');
    assert.equal(fake.count('GET', /operationResults\/op-1/), 0, 'no poll when the delete is accepted');
    const s2 = await a.resume((s1 as any).operation);
    assert.equal(s2.status, 'running');
    const s3 = await a.resume((s2 as any).operation);
    assert.equal(s3.status, 'running');
    const s4 = await a.resume((s3 as any).operation);
    assert.equal(s4.status, 'succeeded');
    assert.equal(fake.count('DELETE', SERVER), 1);
  });

  it('synchronous completion (200 on PUT) is succeeded at once', async () => {
    const fake = new FakeArm();
    fake.on('PUT', /firewallRules\/fw1\?/, { status: 200, body: { name: 'fw1', properties: { startIpAddress: '1.2.3.4', endIpAddress: '1.2.3.4' } } });
    const fw1 = new ArmResource(FIREWALL_RULE.operations(client(fake), { resourceGroup: 'rg', parents: ['srv1'], name: 'fw1' }), true);
    const step = await fw1.startCreate({ startIpAddress: '1.2.3.4', endIpAddress: '1.2.3.4' });
    assert.equal(step.status, 'succeeded');
  });

  it('assertSafeResumeToken refuses unexpected content', () => {
    assert.throws(() => assertSafeResumeToken('{"state":{"status":"running","result":{"x":1}}}'));
    assert.throws(() => assertSafeResumeToken('{"state":{"status":"running","config":{"operationLocation":"https://x/?password=1"}}}'));
    assert.throws(() => assertSafeResumeToken('{"state":{"status":"running","config":{"operationLocation":"https://x/abc"}}}', ['abc']));
    assertSafeResumeToken('{"state":{"status":"running","config":{"operationLocation":"https://x/abc"}}}');
  });
});
