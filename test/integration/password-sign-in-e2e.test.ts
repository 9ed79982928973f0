/**
 * Password sign-in off from the start, then turned on, end to end: a cdk8s program (AzurePostgres with Microsoft Entra
 * sign-in only, a database and a passwordless role) applied to the real control plane, the reconciler bundle running
 * with workload identity against the ARM emulator; then the program again with password sign-in on and a password
 * role. Every effect is proven by signing in to real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Emulator } from '../emulator';
import {
  apply, cleanNamespace, connect, expectRefused, kubectl, type RunningReconciler, secretData, startReconciler, startStack, stopReconciler,
  synthWithTsx, waitFor, waitReady,
} from './harness';
import { OSSRDBMS_RESOURCE } from '../emulator/entra';

const NS = 'entra-only-e2e';
const APP_CLIENT_ID = '7d2c4b1a-3e5f-4a6b-8c9d-0e1f2a3b4c5d';

let emulator: Emulator;
let reconciler: RunningReconciler;
let appOid: string;

/** The chart: the server with password sign-in as told, a database, a passwordless role, and a password role if told. */
async function synth(password: boolean, passwordRole: boolean): Promise<any[]> {
  const yaml = synthWithTsx(`
    const { App, Chart } = require('cdk8s');
    const { AzurePostgres } = require('./src');
    const app = new App();
    const chart = new Chart(app, 'shop', { namespace: ${JSON.stringify(NS)} });
    const db = new AzurePostgres(chart, 'db', {
      resourceGroup: { name: 'rg-entra-only-e2e', create: true }, location: 'eastus',
      authentication: { password: ${password}, microsoftEntra: true },
    });
    db.addFirewallRule('everyone', { startIpAddress: '0.0.0.0', endIpAddress: '255.255.255.255' });
    const orders = db.addDatabase('orders');
    db.addRole('orders_app', { database: orders, identity: { clientId: ${JSON.stringify(APP_CLIENT_ID)}, objectId: ${JSON.stringify(appOid)} } });
    if (${passwordRole}) db.addRole('reports_app', { database: orders });
    process.stdout.write(app.synthYaml());
  `);
  apply(yaml);
  return (await import('yaml')).parseAllDocuments(yaml).map((d) => d.toJSON()).filter(Boolean);
}

const crs = (docs: any[]) => docs.filter((d) => d.apiVersion === 'cdk8s-azure.dev/v1alpha1');
const secretOf = (docs: any[], kind: string, match: (d: any) => boolean = () => true) =>
  docs.find((d) => d.kind === kind && match(d)).spec.writeConnectionSecretToRef.name;

describe('password sign-in off from the start, then turned on', { timeout: 15 * 60_000 }, () => {
  let docs: any[];

  before(async () => {
    const stack = await startStack({ provisioningDelayMs: 1000, operationPollIntervalSeconds: 1 });
    emulator = stack.emulator;
    cleanNamespace(NS);
    reconciler = startReconciler(emulator, stack.clientId, { name: 'password-sign-in-e2e' });
    emulator.admin.addClient({ clientId: APP_CLIENT_ID, clientSecret: 'orders-app-secret-1234567890' });
    const token = emulator.admin.issueToken({ clientId: APP_CLIENT_ID, resource: OSSRDBMS_RESOURCE });
    appOid = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).oid;
    kubectl(['create', 'namespace', NS], { check: true });
    docs = await synth(false, false);
  });

  after(async () => {
    if (process.env.E2E_LOG_DIR) writeFileSync(path.join(process.env.E2E_LOG_DIR, 'password-sign-in-e2e.log'), reconciler?.logs() ?? '');
    await stopReconciler(reconciler);
    cleanNamespace(NS);
    await emulator?.stop();
  });

  test('everything is Ready; the admin Secret has no username, password nor pgpass; a password is refused', async () => {
    for (const doc of crs(docs)) await waitReady(doc.kind, NS, doc.metadata.name, reconciler);
    const admin = secretData(NS, secretOf(docs, 'PostgresServer'));
    assert.deepEqual(Object.keys(admin).sort(), ['ca.crt', 'dbname', 'host', 'jdbc-uri', 'port', 'sslmode', 'token-scope', 'uri']);
    await expectRefused(connect({ ...admin, username: 'pgadmin' }, { password: 'Some-Password-123' }), '28P01', 'a password');
  });

  test('the passwordless role signs in with its token and uses its database', async () => {
    const secret = secretData(NS, secretOf(docs, 'PostgresRole', (d) => d.spec.roleName === 'orders_app'));
    const c = await connect(secret, { password: emulator.admin.issueToken({ clientId: APP_CLIENT_ID, resource: OSSRDBMS_RESOURCE }) });
    try {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, item text)');
      await c.query("INSERT INTO orders VALUES (1, 'tea')");
      assert.deepEqual((await c.query('SELECT current_user AS u, item FROM orders')).rows, [{ u: 'orders_app', item: 'tea' }]);
    } finally {
      await c.end();
    }
  });

  test('turned on: the admin Secret\'s new password signs in, and a password role created with it works', async () => {
    docs = await synth(true, true);
    const server = docs.find((d) => d.kind === 'PostgresServer').metadata.name;
    const adminSecret = secretOf(docs, 'PostgresServer');
    await waitFor('the admin Secret with a password', () => secretData(NS, adminSecret).password !== undefined, 240_000, 1000);
    await waitReady('PostgresServer', NS, server, reconciler);
    const admin = secretData(NS, adminSecret);
    for (const key of ['username', 'password', 'pgpass']) assert.ok(admin[key], key);
    const c = await connect(admin);
    try {
      assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, admin.username);
    } finally {
      await c.end();
    }
    for (const doc of crs(docs)) await waitReady(doc.kind, NS, doc.metadata.name, reconciler);
    const reports = secretData(NS, secretOf(docs, 'PostgresRole', (d) => d.spec.roleName === 'reports_app'));
    const r = await connect(reports);
    try {
      await r.query('CREATE TABLE reports (id int PRIMARY KEY)');
      assert.deepEqual((await r.query('SELECT current_user AS u')).rows, [{ u: 'reports_app' }]);
    } finally {
      await r.end();
    }
  });
});
