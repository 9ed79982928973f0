/**
 * End to end, as a user would: the README's example app, synthesized by the main-job command, applied with kubectl
 * to a real control plane; the reconciler bundle (the image's entrypoint) running as its ServiceAccount with
 * workload identity against the ARM emulator; every connection Secret proven by connecting to real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { Client } from 'pg';
import { parseAllDocuments } from 'yaml';
import { Emulator } from '../emulator';
import {
  apply, cleanNamespace, connect, CR_KINDS as KINDS, exampleYaml, getJson, kubectl, readyCondition, RunningReconciler, secretData,
  startReconciler, startStack, stopReconciler, tryGetJson, waitFor, waitReady,
} from './harness';

const NS = 'shop';
const SECRET_KEYS = ['ca.crt', 'dbname', 'host', 'jdbc-uri', 'password', 'pgpass', 'port', 'sslmode', 'uri', 'username'];

let emulator: Emulator;
let reconciler: RunningReconciler;
let arm: PostgreSQLManagementFlexibleServerClient;
let docs: any[];

function ofKind(kind: string): any[] {
  return docs.filter((d) => d.kind === kind);
}

describe('the shop example on the test control plane and the Azure emulator', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    const stack = await startStack({ provisioningDelayMs: 1500, operationPollIntervalSeconds: 1 });
    ({ emulator, arm } = stack);
    cleanNamespace(NS);
    reconciler = startReconciler(emulator, stack.clientId, { name: 'shop-e2e' });
    const yaml = exampleYaml();
    docs = parseAllDocuments(yaml).map((d) => d.toJSON()).filter(Boolean);
    // The reconciler and the test connect from 127.0.0.1: the example's rule names its cluster's egress, this one ours.
    docs.push({ apiVersion: 'cdk8s-azure.dev/v1alpha1', kind: 'PostgresFirewallRule', metadata: { name: 'test-egress', namespace: NS }, spec: { serverRef: { name: docs.find((d) => d.kind === 'PostgresServer').metadata.name }, azureName: 'test-egress', startIpAddress: '127.0.0.1', endIpAddress: '127.0.0.1' } });
    apply(yaml);
    apply(JSON.stringify(docs[docs.length - 1]));
  });

  after(async () => {
    await stopReconciler(reconciler);
    cleanNamespace(NS);
    await emulator?.stop();
  });

  test('every custom resource becomes Ready', async () => {
    for (const doc of docs.filter((d) => d.apiVersion === 'cdk8s-azure.dev/v1alpha1')) {
      const obj = await waitReady(doc.kind, NS, doc.metadata.name, reconciler);
      assert.equal(obj.status.observedGeneration, obj.metadata.generation, `${doc.kind} status describes the current spec`);
    }
    const server = getJson('postgresserver', NS, ofKind('PostgresServer')[0].metadata.name);
    assert.ok(server.status.fullyQualifiedDomainName, 'status.fullyQualifiedDomainName');
    assert.match(server.status.azureResourceId, /\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\//i);
    assert.equal(server.status.state, 'Ready');
  });

  test('kubectl get pgserver shows READY, REASON, FQDN and AGE', () => {
    const out = kubectl(['get', 'pgserver', '-n', NS], { check: true }).stdout;
    assert.match(out.split('\n')[0], /NAME\s+READY\s+REASON\s+FQDN\s+AGE/);
    assert.match(out.split('\n')[1], /\sTrue\s/);
  });

  test('the admin and per-app Secrets exist with the full key contract, owned by their resource', () => {
    const owners = [...ofKind('PostgresServer'), ...ofKind('PostgresRole')];
    assert.equal(owners.length, 3);
    for (const owner of owners) {
      const name = owner.spec.writeConnectionSecretToRef.name;
      const secret = getJson('secret', NS, name);
      assert.deepEqual(Object.keys(secret.data).sort(), SECRET_KEYS, `keys of Secret ${name}`);
      const cr = getJson(owner.kind, NS, owner.metadata.name);
      const ref = secret.metadata.ownerReferences?.find((r: any) => r.uid === cr.metadata.uid);
      assert.ok(ref, `Secret ${name} is owned by ${owner.kind}/${owner.metadata.name}`);
      assert.equal(ref.controller, true);
    }
  });

  test('every Secret a Deployment reads connects to its database over verified TLS', async () => {
    for (const deployment of ofKind('Deployment')) {
      const refs = deployment.spec.template.spec.containers
        .flatMap((c: any) => (c.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef))
        .filter(Boolean);
      assert.ok(refs.length >= 6, `${deployment.metadata.name} reads its connection from a Secret`);
      const secretName = refs[0].name;
      const secret = secretData(NS, secretName);
      for (const ref of refs) assert.ok(ref.key in secret, `Secret ${secretName} has key ${ref.key}`);
      const client = await connect(secret);
      const { rows } = await client.query('select current_user as u, current_database() as d');
      await client.end();
      assert.equal(rows[0].u, secret.username);
      assert.equal(rows[0].d, secret.dbname);
      // The uri is usable as is (DATABASE_URL).
      const viaUri = new Client({ connectionString: secret.uri, ssl: { ca: emulator.caCertPem } });
      await viaUri.connect();
      await viaUri.end();
    }
  });

  test('each app role reaches only its own database, with only the privileges asked', async () => {
    const roles = ofKind('PostgresRole').map((r) => ({ cr: r, secret: secretData(NS, r.spec.writeConnectionSecretToRef.name) }));
    const orders = roles.find((r) => r.cr.spec.roleName === 'orders_app')!;
    const catalog = roles.find((r) => r.cr.spec.roleName === 'catalog_app')!;
    assert.ok(orders && catalog);

    // orders_app has ALL on its database: it can create and use its own tables.
    const o = await connect(orders.secret);
    await o.query('create table if not exists orders (id int primary key, total numeric)');
    await o.query('insert into orders values (1, 42) on conflict do nothing');
    assert.equal((await o.query('select count(*)::int as n from orders')).rows[0].n, 1);
    await o.end();

    // catalog_app asked for SELECT/INSERT/UPDATE/DELETE: no CREATE in its schema.
    const c = await connect(catalog.secret);
    await assert.rejects(c.query('create table sneaky (id int)'), /permission denied/);
    await c.end();

    // Neither can even connect to the other's database.
    await assert.rejects(connect(catalog.secret, { database: orders.secret.dbname }), /permission denied|not permitted|no pg_hba/);
    await assert.rejects(connect(orders.secret, { database: catalog.secret.dbname }), /permission denied|not permitted|no pg_hba/);
  });

  test('an update of storage, a parameter and a new firewall rule reaches Azure', async () => {
    const server = ofKind('PostgresServer')[0];
    const countsBefore = emulator.admin.requests();
    kubectl(['patch', 'postgresserver', server.metadata.name, '-n', NS, '--type=merge', '-p', JSON.stringify({
      spec: { storage: { sizeGB: 64 }, parameters: { ...server.spec.parameters, work_mem: '8192' } },
    })], { check: true });
    apply(JSON.stringify({
      apiVersion: 'cdk8s-azure.dev/v1alpha1',
      kind: 'PostgresFirewallRule',
      metadata: { name: 'office', namespace: NS },
      spec: { serverRef: { name: server.metadata.name }, azureName: 'office', startIpAddress: '203.0.113.0', endIpAddress: '203.0.113.255' },
    }));
    const resourceGroup = server.spec.resourceGroup.name;
    await waitFor('storage 64 GiB in Azure', async () => (await arm.servers.get(resourceGroup, server.spec.azureName)).storage?.storageSizeGB === 64, 120_000);
    await waitFor('work_mem=8192 in Azure', async () => (await arm.configurations.get(resourceGroup, server.spec.azureName, 'work_mem')).value === '8192', 120_000);
    await waitFor('firewall rule office in Azure', async () => (await arm.firewallRules.get(resourceGroup, server.spec.azureName, 'office')).startIpAddress === '203.0.113.0', 120_000);
    const countsAfter = emulator.admin.requests();
    const writes = (prefix: string) => Object.entries(countsAfter.byKey)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((n, [k, v]) => n + v - (countsBefore.byKey[k] ?? 0), 0);
    assert.ok(writes('PATCH Microsoft.DBforPostgreSQL/flexibleServers ') + writes('PUT Microsoft.DBforPostgreSQL/flexibleServers ') >= 1, 'the server was patched');
    assert.ok(writes('PUT Microsoft.DBforPostgreSQL/flexibleServers/configurations ') >= 1, 'the parameter was written');
    assert.ok(writes('PUT Microsoft.DBforPostgreSQL/flexibleServers/firewallRules ') >= 1, 'the rule was created');
    await waitFor('server Ready again at the new generation', () => {
      const o = getJson('postgresserver', NS, server.metadata.name);
      return readyCondition(o)?.status === 'True' && o.status.observedGeneration === o.metadata.generation;
    }, 120_000);
  });

  test('deleting the resources deletes them in Azure, removes the finalizers and garbage-collects the Secrets', async () => {
    const server = ofKind('PostgresServer')[0];
    const secretNames = [...ofKind('PostgresServer'), ...ofKind('PostgresRole')].map((o) => o.spec.writeConnectionSecretToRef.name);
    kubectl(['delete', KINDS.join(','), '--all', '-n', NS, '--wait=false'], { check: true });
    await waitFor('all custom resources gone (finalizers removed)', () => KINDS.every((k) => JSON.parse(kubectl(['get', k, '-n', NS, '-o', 'json'], { check: true }).stdout).items.length === 0), 240_000)
      .catch((e) => { throw new Error(`${e.message}\nreconciler logs:\n${reconciler.logs().slice(-4000)}`); });
    await assert.rejects(arm.servers.get(server.spec.resourceGroup.name, server.spec.azureName), (e: any) => e.statusCode === 404);
    await waitFor('connection Secrets garbage-collected', () => secretNames.every((n) => !tryGetJson('secret', NS, n)), 60_000);
  });
});
