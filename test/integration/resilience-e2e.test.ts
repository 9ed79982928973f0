/**
 * End to end, when things go wrong: a reconciler killed mid-provisioning, ARM answering 429/5xx, a long-running
 * operation that fails in Azure, deletionPolicy Retain, and two replicas under leader election. Real control plane,
 * ARM emulator with real PostgreSQL, the reconciler bundle as the image runs it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { Emulator } from '../emulator';
import {
  apply, cleanNamespace, createNamespace, getJson, kubectl, metricSum, readyCondition, RunningReconciler, secretData, sql,
  startReconciler, startStack, tryGetJson, waitFor, waitReady,
} from './harness';

const RG = 'resilience-rg';

let emulator: Emulator;
let clientId: string;
let arm: PostgreSQLManagementFlexibleServerClient;
const running: RunningReconciler[] = [];
const namespaces: string[] = [];

function uniqueAzureName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

function serverCr(namespace: string, name: string, azureName: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresServer',
    metadata: { name, namespace },
    spec: {
      azureName,
      resourceGroup: { name: RG, create: true },
      location: 'westeurope',
      writeConnectionSecretToRef: { name: `${name}-admin` },
      ...spec,
    },
  };
}

/**
 * A server with the firewall rule its user must declare: the reconciler (and the test) connect from 127.0.0.1, which
 * stands for the cluster's egress address, and the emulator enforces firewall rules as Azure does.
 */
function serverWithEgressRule(namespace: string, name: string, azureName: string) {
  const rule = { serverRef: { name }, azureName: 'cluster-egress', startIpAddress: '127.0.0.1', endIpAddress: '127.0.0.1' };
  return { apiVersion: 'v1', kind: 'List', items: [serverCr(namespace, name, azureName), { apiVersion: 'cdk8s-azure.dev/v1alpha1', kind: 'PostgresFirewallRule', metadata: { name: `${name}-egress`, namespace }, spec: rule }] };
}

function databaseCr(namespace: string, name: string, server: string, azureName: string) {
  return {
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresDatabase',
    metadata: { name, namespace },
    spec: { serverRef: { name: server }, azureName },
  };
}

function ns(name: string): string {
  namespaces.push(name);
  return createNamespace(name);
}

/** Each test's reconciler watches only that test's namespace (the install's watchNamespaces mode), so leftovers elsewhere in the shared cluster cannot interfere. */
function start(name: string, namespace: string, args: string[] = []): RunningReconciler {
  const r = startReconciler(emulator, clientId, { name, args: [`--namespace=${namespace}`, ...args] });
  running.push(r);
  return r;
}

const ready = (kind: string, namespace: string, name: string, r: () => RunningReconciler | undefined, timeoutMs = 180_000) =>
  waitReady(kind, namespace, name, r(), timeoutMs);

describe('the reconciler when things go wrong', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    // Long enough a provisioning delay that a crash can land while the create is in flight.
    ({ emulator, clientId, arm } = await startStack({ provisioningDelayMs: 5000, operationPollIntervalSeconds: 1 }));
  });

  after(async () => {
    for (const r of running) await r.stop();
    for (const n of namespaces) cleanNamespace(n, { wait: false });
    await emulator?.stop();
  });

  test('a reconciler killed while Azure provisions the server resumes without a second create', async () => {
    const namespace = ns('e2e-restart');
    const azureName = uniqueAzureName('restart');
    let r1: RunningReconciler | undefined = start('restart-1', namespace);
    apply(JSON.stringify(serverWithEgressRule(namespace, 'db', azureName)));
    // The create is in flight: Azure accepted it and the reconciler recorded the operation.
    await waitFor('create accepted and recorded in status.operation', () => {
      const o = tryGetJson('postgresserver', namespace, 'db');
      return (emulator.admin.requests().serverCreates[azureName] ?? 0) === 1 && o?.status?.operation?.type === 'Create';
    }, 60_000);
    const passwordBefore = secretData(namespace, 'db-admin').password;
    assert.ok(passwordBefore, 'the admin password is in its Secret before the server exists');
    await r1.stop('SIGKILL');
    r1 = undefined;

    const r2 = start('restart-2', namespace);
    await ready('postgresserver', namespace, 'db', () => r2);
    await ready('postgresfirewallrule', namespace, 'db-egress', () => r2);
    assert.equal(emulator.admin.requests().serverCreates[azureName], 1, 'exactly one create reached Azure');
    const secret = secretData(namespace, 'db-admin');
    assert.equal(secret.password, passwordBefore, 'the password written before the create is the one in use');
    assert.deepEqual(await sql(secret, 'SELECT current_user AS u'), [{ u: secret.username }]);
    await r2.stop();
  });

  test('429 and 5xx answers are retried, honouring Retry-After', async () => {
    const namespace = ns('e2e-throttle');
    const azureName = uniqueAzureName('throttle');
    const r = start('throttle', namespace);
    apply(JSON.stringify(serverWithEgressRule(namespace, 'db', azureName)));
    await ready('postgresserver', namespace, 'db', () => r);
    emulator.admin.resetRequests();
    // The first three ARM requests about this server's databases get 429 with a 2 s Retry-After, the next two 503:
    // counted, not random, so that every run serves both.
    const match = `/flexibleServers/${azureName}/databases`;
    emulator.admin.addFault({ kind: 'error', status: 429, count: 3, retryAfterSeconds: 2, match });
    emulator.admin.addFault({ kind: 'error', status: 503, count: 2, retryAfterSeconds: 1, match });
    for (const name of ['one', 'two', 'three']) apply(JSON.stringify(databaseCr(namespace, name, 'db', name)));
    for (const name of ['one', 'two', 'three']) await ready('postgresdatabase', namespace, name, () => r);
    emulator.admin.clearFaults();

    const log = emulator.admin.requests().log.filter((e) => e.path.toLowerCase().includes(`/flexibleservers/${azureName}/databases`));
    const throttled = log.filter((e) => e.status === 429);
    const unavailable = log.filter((e) => e.status === 503);
    assert.ok(throttled.length > 0 && unavailable.length > 0, `faults were served (429: ${throttled.length}, 503: ${unavailable.length})`);
    // After each 429, the next request for the same path waited out the Retry-After.
    for (const t of throttled) {
      const next = log.find((e) => e.path === t.path && Date.parse(e.time) > Date.parse(t.time));
      if (!next) continue;
      const waited = Date.parse(next.time) - Date.parse(t.time);
      assert.ok(waited >= 1900, `retried ${t.path} ${waited} ms after a 429 with Retry-After: 2`);
    }
    for (const name of ['one', 'two', 'three']) {
      assert.equal((await arm.databases.get(RG, azureName, name)).name, name);
    }
    await r.stop();
  });

  test('an operation that fails in Azure shows Ready=False with Azure\'s code and message, then recovers', async () => {
    const namespace = ns('e2e-failed-op');
    const azureName = uniqueAzureName('failop');
    const r = start('failed-op', namespace);
    apply(JSON.stringify(serverWithEgressRule(namespace, 'db', azureName)));
    await ready('postgresserver', namespace, 'db', () => r);
    const code = 'DatabaseCreationFailed';
    const message = 'The database could not be created because the server is being patched (emulated).';
    emulator.admin.addFault({ kind: 'failOperation', match: `PUT .*/flexibleServers/${azureName}/databases/doomed`, code, message });
    apply(JSON.stringify(databaseCr(namespace, 'doomed', 'db', 'doomed')));
    const failed = await waitFor('Ready=False naming the Azure failure', () => {
      const c = readyCondition(tryGetJson('postgresdatabase', namespace, 'doomed'));
      return c?.status === 'False' && c.message.includes(code) ? c : undefined;
    }, 120_000);
    assert.ok(failed.message.includes(message), `condition message carries Azure's text: ${failed.message}`);
    assert.match(failed.reason, /^[A-Z][A-Za-z]+$/);
    const events = getJson('events', namespace).items.filter((e: any) => e.involvedObject?.name === 'doomed' && e.type === 'Warning');
    assert.ok(events.some((e: any) => e.message.includes(code)), 'a Warning Event carries the Azure code');
    assert.equal(r.process.exitCode, null, 'the reconciler is still running');

    emulator.admin.clearFaults();
    await ready('postgresdatabase', namespace, 'doomed', () => r, 240_000);
    await r.stop();
  });

  test('deletionPolicy Retain leaves the server in Azure', async () => {
    const namespace = ns('e2e-retain');
    const azureName = uniqueAzureName('retain');
    const r = start('retain', namespace);
    apply(JSON.stringify(serverCr(namespace, 'db', azureName, { deletionPolicy: 'Retain' })));
    await ready('postgresserver', namespace, 'db', () => r);
    kubectl(['delete', 'postgresserver', 'db', '-n', namespace, '--wait=true', '--timeout=120s'], { check: true });
    assert.equal(tryGetJson('postgresserver', namespace, 'db'), undefined);
    const server = await arm.servers.get(RG, azureName);
    assert.equal(server.state, 'Ready', 'the Azure server is still there');
    assert.equal(emulator.admin.requests().byKey['DELETE Microsoft.DBforPostgreSQL/flexibleServers 202'] ?? 0, 0);
    await r.stop();
  });

  test('with two replicas only the leader reconciles, and the other takes over when it stops', async () => {
    const namespace = ns('e2e-leader');
    kubectl(['delete', 'lease', 'cdk8s-azure-reconciler', '-n', 'cdk8s-azure-system', '--ignore-not-found'], { check: true });
    const a = start('replica-a', namespace, ['--leader-elect']);
    const b = start('replica-b', namespace, ['--leader-elect']);
    const holder = await waitFor('a Lease holder', () => getJson('lease', 'cdk8s-azure-system', 'cdk8s-azure-reconciler')?.spec?.holderIdentity, 60_000);
    const [leader, follower] = String(holder).includes('replica-a') ? [a, b] : [b, a];
    assert.ok(String(holder).includes(leader.name), `holder ${holder}`);

    apply(JSON.stringify(serverCr(namespace, 'first', uniqueAzureName('leader'))));
    await ready('postgresserver', namespace, 'first', () => leader);
    const leaderMetrics = await leader.metrics();
    const followerMetrics = await follower.metrics();
    assert.ok(metricSum(leaderMetrics, 'controller_runtime_reconcile_total') > 0, 'the leader reconciled');
    assert.equal(metricSum(followerMetrics, 'controller_runtime_reconcile_total'), 0, 'the follower reconciled nothing');
    assert.equal(metricSum(leaderMetrics, 'leader_election_master_status'), 1);
    assert.equal(metricSum(followerMetrics, 'leader_election_master_status'), 0);

    const stoppedAt = Date.now();
    assert.equal(await leader.stop('SIGTERM'), 0, 'graceful shutdown exits 0');
    await waitFor('the follower holds the Lease', () => String(getJson('lease', 'cdk8s-azure-system', 'cdk8s-azure-reconciler').spec.holderIdentity ?? '').includes(follower.name), 30_000);
    // A released Lease is taken at the follower's next retry (2 s); the 30 s bound above only keeps a hang finite.
    process.stderr.write(`follower took over ${Date.now() - stoppedAt} ms after the leader got SIGTERM\n`);
    apply(JSON.stringify(serverCr(namespace, 'second', uniqueAzureName('leader'))));
    await ready('postgresserver', namespace, 'second', () => follower);
    await follower.stop();
  });
});
