/**
 * Day two, end to end: a cdk8s program with extensions per database, a read replica read through a role's replica
 * env, a point-in-time restore and a stopped server, applied to the real control plane; the reconciler bundle running
 * with workload identity against the ARM emulator; every effect proven by connecting to real PostgreSQL. One primary
 * serves the extensions, the replica and the restore, to keep the suite short.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { parseAllDocuments } from 'yaml';
import { Emulator } from '../emulator';
import {
  apply, cleanNamespace, connect, CR_KINDS, expectRefused, getJson, kubectl, readyCondition, RunningReconciler, secretData, sleep,
  sql, startReconciler, startStack, stopReconciler, synthWithTsx, tryGetJson, waitFor, waitReady,
} from './harness';

const NS = 'day-two-e2e';
const RG = 'rg-day-two-e2e';

let emulator: Emulator;
let arm: PostgreSQLManagementFlexibleServerClient;
let reconciler: RunningReconciler;
let docs: any[];

/**
 * The program: a primary with three databases' extensions (and `vector` allow-listed directly), a replica read by a
 * Deployment through the role's replicaEnv, a server kept stopped and, once `restoreAt` is known, a restore of the
 * primary with the role declared again. Each server admits the test client (127.0.0.1), as a user's rules would.
 */
function synth(restoreAt?: string): any[] {
  const yaml = synthWithTsx(`
    const { App, Chart } = require('cdk8s');
    const kplus = require('cdk8s-plus-34');
    const { AzurePostgres } = require('./src');
    const app = new App();
    const chart = new Chart(app, 'reports', { namespace: ${JSON.stringify(NS)} });
    const common = { resourceGroup: { name: ${JSON.stringify(RG)}, create: true }, location: 'eastus' };
    const server = (id, props) => {
      const s = new AzurePostgres(chart, id, { ...common, ...props });
      s.addFirewallRule('tests', { startIpAddress: '127.0.0.1', endIpAddress: '127.0.0.1' });
      return s;
    };
    const db = server('db', { parameters: { 'azure.extensions': 'vector' } });
    const search = db.addDatabase('search', { extensions: ['pg_trgm', 'citext'] });
    db.addDatabase('net', { extensions: ['ip4r'] });
    const reports = db.addRole('reports_app', { database: search });
    const replica = server('replica', { location: 'westus2', readReplicaOf: db });
    new kplus.Deployment(chart, 'reports', {
      containers: [{ image: 'ghcr.io/acme/reports:1.0.0', envVariables: reports.replicaEnv(replica), securityContext: { ensureNonRoot: false } }],
    });
    server('nightly', { stopped: true });
    const restoreAt = ${JSON.stringify(restoreAt ?? null)};
    if (restoreAt) {
      const restored = server('restored', { restoreOf: db, restorePointInTime: restoreAt });
      restored.addRole('reports_app', { database: restored.addDatabase('search') });
    }
    process.stdout.write(app.synthYaml());
  `);
  apply(yaml);
  return parseAllDocuments(yaml).map((d) => d.toJSON()).filter(Boolean);
}

const crs = () => docs.filter((d) => d.apiVersion === 'cdk8s-azure.dev/v1alpha1');
/** The custom resources that become Ready while the nightly server is stopped: all but its children, which wait for it. */
const readyWhileStopped = () => crs().filter((d) => d.spec.serverRef?.name !== serverDoc('nightly').metadata.name);
/** The synthesized object of a kind whose spec matches. */
const find = (kind: string, match: (spec: any) => boolean) => docs.find((d) => d.kind === kind && match(d.spec));
const serverDoc = (id: string) => find('PostgresServer', (s) => s.writeConnectionSecretToRef.name.startsWith(`reports-${id}-`));
const adminSecret = (id: string) => secretData(NS, serverDoc(id).spec.writeConnectionSecretToRef.name);
const roleSecret = (id: string) => secretData(NS, find('PostgresRole', (s) => s.serverRef.name === serverDoc(id).metadata.name).spec.writeConnectionSecretToRef.name);

describe('day two on the test control plane and the Azure emulator: extensions, a read replica, a restore, stop and start', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    const stack = await startStack({ provisioningDelayMs: 500, operationPollIntervalSeconds: 1 });
    ({ emulator, arm } = stack);
    cleanNamespace(NS);
    kubectl(['create', 'namespace', NS], { check: true });
    reconciler = startReconciler(emulator, stack.clientId, { name: 'day-two-e2e' });
    docs = synth();
  });

  after(async () => {
    await stopReconciler(reconciler);
    cleanNamespace(NS);
    await emulator?.stop();
  });

  test('every resource becomes Ready; the replica and the primary report their roles, the stopped server Stopped and its rule waits', async () => {
    for (const doc of readyWhileStopped()) await waitReady(doc.kind, NS, doc.metadata.name, reconciler);
    assert.equal(getJson('postgresserver', NS, serverDoc('db').metadata.name).status.replicationRole, 'Primary');
    assert.equal(getJson('postgresserver', NS, serverDoc('replica').metadata.name).status.replicationRole, 'AsyncReplica');
    const nightly = getJson('postgresserver', NS, serverDoc('nightly').metadata.name);
    assert.equal(readyCondition(nightly)?.reason, 'Stopped');
    assert.equal(nightly.status.state, 'Stopped');
    const rule = find('PostgresFirewallRule', (s) => s.serverRef.name === nightly.metadata.name).metadata.name;
    const waiting = readyCondition(getJson('postgresfirewallrule', NS, rule));
    assert.equal(waiting?.reason, 'WaitingForServer', `${rule}: ${waiting?.message}`);
  });

  test('the extensions exist and work in each database; azure.extensions lists them and vector; one not listed fails as on Azure', async () => {
    const primary = serverDoc('db').spec.azureName;
    const allowList = (await arm.configurations.get(RG, primary, 'azure.extensions')).value!.split(',');
    for (const name of ['vector', 'pg_trgm', 'citext', 'ip4r']) assert.ok(allowList.includes(name), `azure.extensions (${allowList}) lists ${name}`);
    const admin = adminSecret('db');
    const installed = (database: string) => sql(admin, "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1", { database });
    assert.deepEqual((await installed('search')).map((r) => r.extname), ['citext', 'pg_trgm']);
    assert.deepEqual((await installed('net')).map((r) => r.extname), ['ip4r']);
    assert.deepEqual(await sql(admin, "SELECT 'Tea'::citext = 'TEA'::citext AS same, similarity('trigram', 'trigrams') > 0.5 AS close", { database: 'search' }),
      [{ same: true, close: true }]);
    assert.deepEqual(await sql(admin, "SELECT '10.1.2.3'::ip4 <<= '10.0.0.0/8'::ip4r AS inside", { database: 'net' }), [{ inside: true }]);
    await assert.rejects(sql(admin, 'CREATE EXTENSION hstore', { database: 'search' }), (e: { code?: string; message?: string }) => {
      assert.equal(e.message, 'extension "hstore" is not allow-listed for "azure_pg_admin" users in Azure Database for PostgreSQL');
      assert.equal(e.code, '0A000');
      return true;
    });
  });

  test('a row written on the primary is read on the replica, through the env the role gives the Deployment for it', async () => {
    const role = roleSecret('db');
    await sql(role, 'CREATE TABLE orders (id int PRIMARY KEY, item text)');
    await sql(role, "INSERT INTO orders VALUES (1, 'written on the primary')");
    // The container's env, resolved from the Secrets it names, as the kubelet would.
    const container = getJson('deployment', NS, find('Deployment', () => true).metadata.name).spec.template.spec.containers[0];
    const env: Record<string, string> = Object.fromEntries(container.env.map((e: any) =>
      [e.name, e.value ?? secretData(NS, e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key]]));
    assert.equal(env.PGHOST, adminSecret('replica').host, 'PGHOST is the replica\'s host');
    assert.notEqual(env.PGHOST, role.host);
    assert.equal(env.DATABASE_URL, undefined, 'no URL naming the primary');
    const viaEnv = { 'host': env.PGHOST, 'port': env.PGPORT, 'username': env.PGUSER, 'password': env.PGPASSWORD, 'dbname': env.PGDATABASE, 'ca.crt': role['ca.crt'] };
    const rows = await waitFor('the row on the replica', async () => {
      const r = await sql(viaEnv, 'SELECT current_user AS u, item FROM orders WHERE id = 1');
      return r.length > 0 && r;
    }, 30_000, 200);
    assert.deepEqual(rows, [{ u: 'reports_app', item: 'written on the primary' }]);
    await assert.rejects(sql(viaEnv, "INSERT INTO orders VALUES (2, 'x')"), /read-only transaction/);
  });

  test('a restore to a time before a delete has the row back; its admin and role sign in with passwords of their own', async () => {
    const role = roleSecret('db');
    await sql(role, "INSERT INTO orders VALUES (3, 'lost in a bad migration')");
    await sleep(1100);
    const beforeDelete = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await sleep(1100);
    await sql(role, 'DELETE FROM orders WHERE id = 3');
    docs = synth(beforeDelete);
    for (const doc of readyWhileStopped()) await waitReady(doc.kind, NS, doc.metadata.name, reconciler);
    const restoredRole = roleSecret('restored');
    assert.equal(restoredRole.username, 'reports_app');
    assert.notEqual(restoredRole.host, role.host);
    assert.notEqual(restoredRole.password, role.password, 'the role\'s password is set again on the restore');
    assert.notEqual(adminSecret('restored').password, adminSecret('db').password, 'the restore has its own admin password');
    assert.deepEqual(await sql(restoredRole, 'SELECT item FROM orders WHERE id = 3'), [{ item: 'lost in a bad migration' }]);
    assert.deepEqual(await sql(adminSecret('restored'), 'SELECT current_user AS u', { database: 'postgres' }), [{ u: adminSecret('restored').username }]);
    await expectRefused(connect({ ...restoredRole, password: role.password }), '28P01', 'the source\'s role password on the restore');
    assert.deepEqual(await sql(role, 'SELECT item FROM orders WHERE id = 3'), [], 'the source is unchanged');
  });

  test('a stopped server refuses connections, and serves again when stopped is removed', async () => {
    const nightly = serverDoc('nightly');
    const admin = adminSecret('nightly');
    assert.equal((await arm.servers.get(RG, nightly.spec.azureName)).state, 'Stopped');
    await expectRefused(connect(admin), 'ECONNREFUSED', 'the stopped server');
    kubectl(['patch', 'postgresserver', nightly.metadata.name, '-n', NS, '--type=json', '-p', '[{"op":"remove","path":"/spec/stopped"}]'], { check: true });
    await waitFor('nightly Available', () => readyCondition(tryGetJson('postgresserver', NS, nightly.metadata.name))?.reason === 'Available', 120_000, 500);
    assert.equal((await arm.servers.get(RG, nightly.spec.azureName)).state, 'Ready');
    for (const doc of crs()) await waitReady(doc.kind, NS, doc.metadata.name, reconciler);
    assert.deepEqual(await sql(admin, 'SELECT 1 AS one'), [{ one: 1 }]);
  });

  test('deleting everything deletes the replica in Azure before its primary', async () => {
    kubectl(['delete', CR_KINDS.join(','), '--all', '-n', NS, '--wait=false'], { check: true });
    await waitFor('every custom resource gone', () => CR_KINDS.every((k) => JSON.parse(kubectl(['get', k, '-n', NS, '-o', 'json'], { check: true }).stdout).items.length === 0), 240_000, 1000)
      .catch((e) => { throw new Error(`${e.message}\nreconciler logs:\n${reconciler.logs().slice(-4000)}`); });
    const deletedAt = (azureName: string) => {
      const entry = emulator.admin.requests().log.find((e) => e.method === 'DELETE' && e.status < 300 &&
        new RegExp(`/flexibleServers/${azureName}$`, 'i').test(e.path.split('?')[0]));
      assert.ok(entry, `a DELETE of ${azureName} reached Azure`);
      return Date.parse(entry.time);
    };
    assert.ok(deletedAt(serverDoc('replica').spec.azureName) < deletedAt(serverDoc('db').spec.azureName), 'the replica was deleted first');
    for (const id of ['db', 'replica', 'restored', 'nightly']) {
      await assert.rejects(arm.servers.get(RG, serverDoc(id).spec.azureName), (e: any) => e.statusCode === 404, `${id} is gone from Azure`);
    }
  });
});
