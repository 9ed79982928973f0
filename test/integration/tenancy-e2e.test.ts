/**
 * Tenancy, end to end: the install construct with `namespaceScopes` (two namespaces, two subscriptions, two managed
 * identities) and `watchNamespaces`, applied to the real control plane; the reconciler bundle run with exactly the
 * environment the construct's Deployment gives it, signing in through workload identity with its one ServiceAccount,
 * whose projected token each identity's federated credential trusts. Each namespace's servers land in its own
 * subscription, made with its own identity (which has a role on that subscription only), and the roles the
 * reconciler creates there work; a watched namespace without a scope makes no Azure call.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { ClientSecretCredential } from '@azure/identity';
import { Client } from 'pg';
import * as YAML from 'yaml';
import { Emulator, startEmulator, trustEmulatorCa } from '../emulator';
import {
  apply, buildBundle, createNamespace, ensureCluster, kubectl, readyCondition, RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT,
  registerWorkloadIdentity, RunningReconciler, secretData, startReconciler, synthWithTsx, tryGetJson, waitFor,
} from './harness';
import { OSSRDBMS_RESOURCE } from '../emulator/entra';

const SUB_A = 'aaaaaaaa-3333-4000-8000-00000000000a';
const SUB_B = 'bbbbbbbb-3333-4000-8000-00000000000b';
const ID_A = 'aaaaaaaa-4444-4000-8000-00000000000a';
const ID_B = 'bbbbbbbb-4444-4000-8000-00000000000b';
const TEAMS = [
  { ns: 'tenancy-a', subscriptionId: SUB_A, clientId: ID_A, resourceGroup: 'rg-tenancy-a' },
  { ns: 'tenancy-b', subscriptionId: SUB_B, clientId: ID_B, resourceGroup: 'rg-tenancy-b' },
];
/** Watched, but given no scope by the cluster admin. */
const UNSCOPED = 'tenancy-none';
const KINDS = ['postgresservers', 'postgresdatabases', 'postgresfirewallrules', 'postgresroles'];

let emulator: Emulator;
let reconciler: RunningReconciler;
let docs: Record<string, any[]>;

function oidOf(clientId: string): string {
  const token = emulator.admin.issueToken({ clientId, resource: OSSRDBMS_RESOURCE });
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).oid;
}

/** ARM of a subscription as the emulator's first client (a role on every subscription): Azure seen from outside. */
function observe(subscriptionId: string): PostgreSQLManagementFlexibleServerClient {
  const credential = new ClientSecretCredential(emulator.tenantId, emulator.clientId, emulator.clientSecret,
    { authorityHost: emulator.authorityHost, disableInstanceDiscovery: true });
  return new PostgreSQLManagementFlexibleServerClient(credential, subscriptionId, { endpoint: emulator.armEndpoint });
}

function cleanNamespace(ns: string): void {
  for (const kind of KINDS) {
    const list = JSON.parse(kubectl(['get', kind, '-n', ns, '-o', 'json']).stdout || '{"items":[]}');
    for (const item of list.items ?? []) {
      kubectl(['patch', kind, item.metadata.name, '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
  }
  kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=120s']);
}

/** The install, as the cluster admin writes it: the reconciler's own identity, and a scope per team. */
function installYaml(reconcilerClientId: string): any[] {
  const scopes = Object.fromEntries(TEAMS.map((t) =>
    [t.ns, { subscriptionId: t.subscriptionId, resourceGroups: [t.resourceGroup], clientId: t.clientId }]));
  const yaml = synthWithTsx(`
    const { App, Chart, YamlOutputType } = require('cdk8s');
    const { Reconciler } = require('./src');
    const app = new App({ yamlOutputType: YamlOutputType.FILE_PER_APP });
    const chart = new Chart(app, 'install');
    new Reconciler(chart, 'reconciler', {
      subscriptionId: ${JSON.stringify(emulator.subscriptionId)},
      clientId: ${JSON.stringify(reconcilerClientId)},
      clusterId: 'tenancy-e2e',
      watchNamespaces: ${JSON.stringify([...TEAMS.map((t) => t.ns), UNSCOPED])},
      namespaceScopes: ${JSON.stringify(scopes)},
    });
    process.stdout.write(app.synthYaml());
  `);
  apply(yaml);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=cdk8s-azure'], { check: true });
  return yaml.split(/^---$/m).map((d) => d.trim()).filter(Boolean).map((d) => YAML.parse(d));
}

function appYaml(ns: string, resourceGroup: string): string {
  return synthWithTsx(`
    const { App, Chart } = require('cdk8s');
    const { AzurePostgres } = require('./src');
    const app = new App();
    const chart = new Chart(app, 'app', { namespace: ${JSON.stringify(ns)} });
    const db = new AzurePostgres(chart, 'db', {
      azureName: ${JSON.stringify(`srv-${ns}`)},
      resourceGroup: { name: ${JSON.stringify(resourceGroup)}, create: true }, location: 'eastus',
      authentication: { password: true, microsoftEntra: true },
    });
    db.addFirewallRule('everyone', { startIpAddress: '0.0.0.0', endIpAddress: '255.255.255.255' });
    db.addRole('app_user', { database: db.addDatabase('orders') });
    process.stdout.write(app.synthYaml());
  `);
}

describe('tenancy: two namespaces, two subscriptions, two identities, one ServiceAccount', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    await ensureCluster();
    buildBundle();
    emulator = await startEmulator({ subscriptions: [SUB_A, SUB_B], provisioningDelayMs: 1000, operationPollIntervalSeconds: 1 });
    trustEmulatorCa(emulator);
    for (const ns of [...TEAMS.map((t) => t.ns), UNSCOPED]) {
      cleanNamespace(ns);
      createNamespace(ns);
    }
    // One federated credential per identity, all for the reconciler's ServiceAccount; each identity has a role on its
    // team's subscription only.
    const subject = `system:serviceaccount:${RECONCILER_NAMESPACE}:${RECONCILER_SERVICE_ACCOUNT}`;
    for (const t of TEAMS) {
      emulator.admin.addClient({ clientId: t.clientId, federatedCredentials: [{ subject, audience: 'api://AzureADTokenExchange' }], subscriptions: [t.subscriptionId] });
    }
    const reconcilerClientId = registerWorkloadIdentity(emulator);
    const objects = installYaml(reconcilerClientId);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    const env = Object.fromEntries((deployment.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>)
      .filter((e) => e.value !== undefined && ['NAMESPACE_SCOPES', 'WATCH_NAMESPACES', 'CLUSTER_ID'].includes(e.name)).map((e) => [e.name, e.value!]));
    assert.deepEqual(Object.keys(env).sort(), ['CLUSTER_ID', 'NAMESPACE_SCOPES', 'WATCH_NAMESPACES']);
    reconciler = startReconciler(emulator, reconcilerClientId, { name: 'tenancy-e2e', env });
    docs = {};
    for (const t of TEAMS) {
      const yaml = appYaml(t.ns, t.resourceGroup);
      docs[t.ns] = YAML.parseAllDocuments(yaml).map((d) => d.toJSON()).filter(Boolean);
      apply(yaml);
    }
    apply(appYaml(UNSCOPED, 'rg-tenancy-a'));
  });

  after(async () => {
    if (process.env.E2E_LOG_DIR) writeFileSync(path.join(process.env.E2E_LOG_DIR, 'tenancy-e2e.log'), reconciler?.logs() ?? '');
    const code = await reconciler?.stop();
    if (code !== 0 && code !== null) process.stderr.write(`reconciler exited ${code}; last logs:\n${reconciler.logs().slice(-5000)}\n`);
    for (const ns of [...TEAMS.map((t) => t.ns), UNSCOPED]) cleanNamespace(ns);
    await emulator?.stop();
  });

  test('each team\'s resources become Ready in its own subscription, made with its own identity', async () => {
    for (const t of TEAMS) {
      for (const doc of docs[t.ns].filter((d) => d.apiVersion === 'cdk8s-azure.dev/v1alpha1')) {
        await waitFor(`${t.ns} ${doc.kind} ${doc.metadata.name} Ready`, () => {
          const obj = tryGetJson(doc.kind, t.ns, doc.metadata.name);
          return readyCondition(obj)?.status === 'True' && obj;
        }, 240_000, 1000);
      }
    }
    const log = emulator.admin.requests().log.filter((r) => r.path.startsWith('/subscriptions/'));
    for (const t of TEAMS) {
      const server = docs[t.ns].find((d) => d.kind === 'PostgresServer');
      const status = tryGetJson('postgresserver', t.ns, server.metadata.name).status;
      assert.match(status.azureResourceId, new RegExp(`^/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroup}/`, 'i'));
      const mine = log.filter((r) => r.path.toLowerCase().startsWith(`/subscriptions/${t.subscriptionId}/`));
      assert.ok(mine.some((r) => r.method === 'PUT' && r.path.endsWith(`/flexibleServers/${server.spec.azureName}`)));
      assert.deepEqual([...new Set(mine.map((r) => r.principal))], [oidOf(t.clientId)], `every request in ${t.subscriptionId} is made as ${t.clientId}`);
      const other = TEAMS.find((o) => o !== t)!;
      await assert.rejects(() => observe(other.subscriptionId).servers.get(t.resourceGroup, server.spec.azureName), (e: any) => e.statusCode === 404);
      const admins = [];
      const listed = observe(t.subscriptionId).administratorsMicrosoftEntra.listByServer(t.resourceGroup, server.spec.azureName);
      for await (const a of listed) admins.push(a.objectId);
      assert.deepEqual(admins, [oidOf(t.clientId)], 'the namespace\'s identity is the server\'s Entra administrator');
    }
    assert.equal(log.filter((r) => r.status === 403).length, 0, 'no identity was refused');
  });

  test('the role each team got signs in to its own server', async () => {
    for (const t of TEAMS) {
      const role = docs[t.ns].find((d) => d.kind === 'PostgresRole');
      const s = secretData(t.ns, role.spec.writeConnectionSecretToRef.name);
      const client = new Client({ host: s.host, port: Number(s.port), user: s.username, password: s.password, database: s.dbname, ssl: { ca: s['ca.crt'], rejectUnauthorized: true } });
      await client.connect();
      assert.equal((await client.query('select current_user as u')).rows[0].u, 'app_user');
      await client.end();
    }
  });

  test('a watched namespace without a scope is OutOfScope and makes no Azure call', async () => {
    const server = await waitFor('the unscoped server has a condition', () => {
      const list = JSON.parse(kubectl(['get', 'postgresservers', '-n', UNSCOPED, '-o', 'json'], { check: true }).stdout).items;
      return list.length === 1 && readyCondition(list[0]) && list[0];
    });
    const ready = readyCondition(server)!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'OutOfScope');
    assert.match(ready.message, new RegExp(`namespace ${UNSCOPED} has no scope`));
    const named = emulator.admin.requests().log.filter((r) => r.path.toLowerCase().includes(`/flexibleservers/${server.spec.azureName.toLowerCase()}`));
    assert.deepEqual(named, []);
  });
});
