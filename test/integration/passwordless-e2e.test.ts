/**
 * Passwordless, end to end: a cdk8s program (AzurePostgres with Microsoft Entra sign-in, a passwordless role and a
 * password role, WebAppWithDb) applied to the real control plane; the reconciler bundle running with workload
 * identity against the ARM emulator. The app's ServiceAccount token, from the TokenRequest API, is exchanged for an
 * Entra token (@azure/identity's WorkloadIdentityCredential, as an app on AKS does) that signs in to real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WorkloadIdentityCredential } from '@azure/identity';
import { CLUSTER_DIR } from '../cluster/cluster';
import { Emulator } from '../emulator';
import {
  apply, cleanNamespace, connect, CR_KINDS, expectRefused, getJson, kubectl, readyCondition, RunningReconciler, secretData, startReconciler,
  sql, startStack, stopReconciler, synthWithTsx, tryGetJson, waitFor, waitReady,
} from './harness';
import { OSSRDBMS_RESOURCE } from '../emulator/entra';

const NS = 'orders-e2e';
const APP_CLIENT_ID = '0c7e5d3a-9b8f-4e21-a6d4-3f2e1d0c9b8a';

let emulator: Emulator;
let reconciler: RunningReconciler;
let appOid: string;
let docs: any[];

const nameOf = (kind: string, match: (d: any) => boolean) => docs.find((d) => d.kind === kind && match(d)).metadata.name;

/** The object id of a client's service principal, as its tokens carry it. */
function oidOf(clientId: string): string {
  const token = emulator.admin.issueToken({ clientId, resource: OSSRDBMS_RESOURCE });
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).oid;
}

/** The app's Entra token for PostgreSQL, as an app on AKS gets it: its projected ServiceAccount token, exchanged. */
async function appToken(): Promise<string> {
  const saToken = kubectl(['create', 'token', 'orders-app', '-n', NS, '--audience', 'api://AzureADTokenExchange', '--duration', '1h'], { check: true }).stdout.trim();
  const tokenFile = path.join(CLUSTER_DIR, 'tokens', 'orders-app.azure-identity-token');
  mkdirSync(path.dirname(tokenFile), { recursive: true });
  writeFileSync(tokenFile, saToken, { mode: 0o600 });
  const credential = new WorkloadIdentityCredential({
    tenantId: emulator.tenantId,
    clientId: APP_CLIENT_ID,
    tokenFilePath: tokenFile,
    authorityHost: emulator.authorityHost,
    disableInstanceDiscovery: true,
  });
  const secret = secretData(NS, roleSecret());
  return (await credential.getToken(secret['token-scope']))!.token;
}

function roleSecret(): string {
  return docs.find((d) => d.kind === 'PostgresRole' && d.spec.roleName === 'orders_app').spec.writeConnectionSecretToRef.name;
}

/** Signs in as an app does from its Secret: host, port, dbname, username, ca.crt; the password is the token. */
const signIn = (secret: Record<string, string>, password: string, database?: string) => connect(secret, { password, database });

describe('passwordless: an app signs in with its workload identity, no password anywhere', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    const stack = await startStack({ provisioningDelayMs: 1000, operationPollIntervalSeconds: 1 });
    emulator = stack.emulator;
    cleanNamespace(NS);
    reconciler = startReconciler(emulator, stack.clientId, { name: 'passwordless-e2e' });
    // The app's identity, federated with the ServiceAccount the role makes (az identity federated-credential create).
    emulator.admin.addClient({
      clientId: APP_CLIENT_ID,
      federatedCredentials: [{ subject: `system:serviceaccount:${NS}:orders-app`, audience: 'api://AzureADTokenExchange' }],
    });
    appOid = oidOf(APP_CLIENT_ID);
    const yaml = synthWithTsx(`
      const { App, Chart } = require('cdk8s');
      const { AzurePostgres, WebAppWithDb } = require('./src');
      const app = new App();
      const chart = new Chart(app, 'orders', { namespace: ${JSON.stringify(NS)} });
      const db = new AzurePostgres(chart, 'db', {
        resourceGroup: { name: 'rg-passwordless', create: true }, location: 'eastus',
        authentication: { microsoftEntra: true },
      });
      db.addFirewallRule('everyone', { startIpAddress: '0.0.0.0', endIpAddress: '255.255.255.255' });
      const orders = db.addRole('orders_app', { database: db.addDatabase('orders'), identity: { clientId: ${JSON.stringify(APP_CLIENT_ID)}, objectId: ${JSON.stringify(appOid)} } });
      db.addRole('blog_app', { database: db.addDatabase('blog') });
      new WebAppWithDb(chart, 'api', { image: 'ghcr.io/acme/orders:1.0.0', role: orders });
      process.stdout.write(app.synthYaml());
    `);
    docs = (await import('yaml')).parseAllDocuments(yaml).map((d) => d.toJSON()).filter(Boolean);
    kubectl(['create', 'namespace', NS], { check: true });
    apply(yaml);
  });

  after(async () => {
    if (process.env.E2E_LOG_DIR) writeFileSync(path.join(process.env.E2E_LOG_DIR, 'passwordless-e2e.log'), reconciler?.logs() ?? '');
    await stopReconciler(reconciler);
    cleanNamespace(NS);
    await emulator?.stop();
  });

  test('every custom resource becomes Ready; the app runs as the annotated ServiceAccount', async () => {
    for (const doc of docs.filter((d) => d.apiVersion === 'cdk8s-azure.dev/v1alpha1')) await waitReady(doc.kind, NS, doc.metadata.name, reconciler);
    const sa = getJson('serviceaccount', NS, 'orders-app');
    assert.equal(sa.metadata.annotations['azure.workload.identity/client-id'], APP_CLIENT_ID);
    const pod = getJson('deployment', NS, nameOf('Deployment', () => true)).spec.template;
    assert.equal(pod.metadata.labels['azure.workload.identity/use'], 'true');
    assert.equal(pod.spec.serviceAccountName, 'orders-app');
  });

  test('no password anywhere: not in the role\'s Secret, not in the CRs, not in the reconciler\'s logs', () => {
    const secret = secretData(NS, roleSecret());
    assert.equal(secret.password, undefined);
    assert.equal(secret.pgpass, undefined);
    assert.doesNotMatch(secret.uri, /:[^/@]*@/);
    assert.equal(secret.sslmode, 'verify-full');
    assert.equal(secret['client-id'], APP_CLIENT_ID);
    const crs = CR_KINDS.map((k) => kubectl(['get', k, '-n', NS, '-o', 'json']).stdout).join('\n');
    assert.doesNotMatch(crs, /password"\s*:\s*"[^"]/i);
    const logs = reconciler.logs();
    assert.doesNotMatch(logs, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'a token in the logs');
    assert.ok(!logs.includes(secretData(NS, nameOf('PostgresServer', () => true) + '-admin').password), 'the admin password in the logs');
  });

  test('the exchanged token signs in as the passwordless role: its own database read and written, the other app\'s unreachable', async () => {
    const secret = secretData(NS, roleSecret());
    const token = await appToken();
    const c = await signIn(secret, token);
    try {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, item text)');
      await c.query("INSERT INTO orders VALUES (1, 'tea')");
      assert.deepEqual((await c.query('SELECT item FROM orders')).rows, [{ item: 'tea' }]);
      assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, 'orders_app');
    } finally {
      await c.end();
    }
    await expectRefused(signIn(secret, token, 'blog'), '42501', 'the blog database');
  });

  test('an expired token and a token of another tenant are refused', async () => {
    const secret = secretData(NS, roleSecret());
    const issue = (o: { lifetimeSeconds?: number; tenantId?: string }) =>
      emulator.admin.issueToken({ clientId: APP_CLIENT_ID, resource: OSSRDBMS_RESOURCE, objectId: appOid, ...o });
    await expectRefused(signIn(secret, issue({ lifetimeSeconds: -60 })), '28P01', 'expired token');
    await expectRefused(signIn(secret, issue({ tenantId: '3f0e9c2d-1b4a-4c8e-9d7f-6a5b4c3d2e1f' })), '28P01', 'another tenant\'s token');
  });

  test('deleting the role removes it from PostgreSQL', async () => {
    const roleName = nameOf('PostgresRole', (d) => d.spec.roleName === 'orders_app');
    const secret = secretData(NS, roleSecret());
    const token = await appToken();
    kubectl(['delete', 'postgresrole', roleName, '-n', NS, '--wait=false'], { check: true });
    await waitFor(`PostgresRole ${roleName} gone`, () => {
      const obj = tryGetJson('postgresrole', NS, roleName);
      if (obj) throw new Error(`still there: ${JSON.stringify(readyCondition(obj))}`);
      return true;
    }, 120_000, 1000);
    const admin = secretData(NS, `${nameOf('PostgresServer', () => true)}-admin`);
    assert.deepEqual(await sql(admin, "SELECT 1 FROM pg_roles WHERE rolname = 'orders_app'", { database: 'postgres' }), []);
    await expectRefused(signIn(secret, token), '28P01', 'a dropped role');
  });

  test('with password sign-in off, the admin Secret holds no password and its old password no longer works', async () => {
    const server = nameOf('PostgresServer', () => true);
    const old = secretData(NS, `${server}-admin`);
    assert.ok(old.password);
    kubectl(['patch', 'postgresserver', server, '-n', NS, '--type=merge', '-p', '{"spec":{"authentication":{"password":false,"microsoftEntra":true}}}'], { check: true });
    await waitFor('the admin Secret without password', () => secretData(NS, `${server}-admin`).password === undefined, 120_000, 1000);
    await waitFor('Azure refusing the old password', async () => {
      try {
        await (await signIn(old, old.password)).end();
        return false;
      } catch (e) {
        return (e as { code?: string }).code === '28P01';
      }
    }, 120_000, 1000);
  });
});
