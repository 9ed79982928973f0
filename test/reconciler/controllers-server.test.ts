/**
 * PostgresServer controller against the real ARM emulator (real PostgreSQL 15 per server) with the in-memory Kube
 * test double.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { armFor, connectWithUri, startHarness, type Harness } from './helpers/harness';
import { TAG_UID } from '../../src/api';
import type { PostgresArm } from '../../src/reconciler/azure';
import { ADOPT_ANNOTATION, type PostgresServerObject } from '../../src/reconciler/contracts';
import { connectionSecretData } from '../../src/reconciler/secret-contract';

let h: Harness;
let arm: PostgresArm;
const RG = 'rg-srv-tests';

function spec(name: string, extra: Record<string, unknown> = {}) {
  return { azureName: name, resourceGroup: { name: RG, create: true }, location: 'eastus', writeConnectionSecretToRef: { name: `${name}-admin` }, ...extra };
}
const server = (name: string) => arm.getServer(RG, name);
const serverId = (name: string) => `/subscriptions/${h.emu.subscriptionId}/resourcegroups/${RG}/providers/microsoft.dbforpostgresql/flexibleservers/${name}`;
const writes = (name: string) => h.emu.admin.requests().writesByResource[serverId(name)] ?? {};
const isReady = (key: { namespace: string; name: string }) => () => h.ready('PostgresServer', key)?.status === 'True';

function assertNoLeaks(): void {
  const everything = h.kube.everythingButSecrets() + h.log.lines.join('\n');
  for (const pw of h.kube.secretValues('password')) {
    assert.ok(!everything.includes(pw), 'a password appears outside its Secret (status, events, annotations or logs)');
  }
  assert.doesNotMatch(everything, /administratorLoginPassword|Bearer /);
}

before(async () => {
  // Operations long enough that the first poll always finds them running, even on a loaded machine.
  h = await startHarness({ emulator: { provisioningDelayMs: 1000 } });
  arm = armFor(h.emu);
});
after(async () => {
  await h?.stop();
});
afterEach(() => {
  h.emu.admin.clearFaults();
  assertNoLeaks();
});

describe('PostgresServer', () => {
  it('creates the server; Ready; the Secret has the full contract and connects over verified TLS', async () => {
    const key = h.kube.create('PostgresServer', 'create', 'db', spec('srv-create', { tags: { team: 'shop' }, parameters: { log_min_duration_statement: '500' } }));
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    const obj = h.kube.get<PostgresServerObject>('PostgresServer', key)!;
    const s = obj.status!;
    assert.equal(s.observedGeneration, 1);
    assert.equal(s.state, 'Ready');
    assert.equal(s.version, '16');
    assert.ok(s.fullyQualifiedDomainName);
    assert.match(s.azureResourceId!, /flexibleServers\/srv-create$/);
    assert.equal(s.operation, undefined);
    assert.deepEqual(obj.metadata.finalizers, ['cdk8s-azure.dev/finalizer']);
    assert.equal(h.kube.condition('PostgresServer', key, 'PasswordSynced')?.status, 'True');

    const data = h.kube.secretData('create', 'srv-create-admin')!;
    assert.deepEqual(data, connectionSecretData({ host: s.fullyQualifiedDomainName!, dbname: 'postgres', username: 'pgadmin', password: data.password, ca: h.emu.caCertPem }));
    const c = await connectWithUri(data.uri, h.emu.caCertPem);
    try {
      const r = await c.query("SELECT current_user AS u, current_setting('log_min_duration_statement') AS l, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl");
      assert.deepEqual(r.rows[0], { u: 'pgadmin', l: '500ms', ssl: true });
    } finally {
      await c.end();
    }
    // A wrong CA must fail: the certificate really is verified.
    await assert.rejects(connectWithUri(data.uri, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'));

    const az = (await server('srv-create'))!;
    assert.equal(az.tags?.team, 'shop');
    assert.equal(az.tags?.[TAG_UID], obj.metadata.uid);
    assert.equal(az.tags?.['cdk8s-azure.dev-namespace'], 'create');
    assert.equal(az.tags?.['cdk8s-azure.dev-name'], 'db');
    assert.equal(h.emu.admin.requests().serverCreates['srv-create'], 1);
    assert.deepEqual(h.kube.events.filter((e) => e.name === 'db' && e.kind === 'PostgresServer').map((e) => `${e.type} ${e.reason}`),
      ['Normal ResourceGroupCreated', 'Normal Creating', 'Normal Updating', 'Normal Available']); // Updating: the parameter

    // Steady state: another reconcile writes nothing (no status, no Secret, no Azure write).
    const writesBefore = [...h.kube.writes];
    const w = JSON.stringify(writes('srv-create'));
    await h.reconcile('PostgresServer', key);
    assert.deepEqual(h.kube.writes, writesBefore);
    assert.equal(JSON.stringify(writes('srv-create')), w);
  });

  it('writes the password to the Secret before the create request; a failed create request keeps it', async () => {
    h.emu.admin.addFault({ kind: 'error', status: 500, match: 'PUT .*/flexibleServers/srv-early$', count: 50 });
    const key = h.kube.create('PostgresServer', 'early', 'db', spec('srv-early'));
    await h.reconcile('PostgresServer', key);
    const pending = h.kube.secretData('early', 'srv-early-admin');
    assert.ok(pending?.password, 'password in the Secret although Azure failed');
    assert.equal(h.ready('PostgresServer', key)?.reason, 'InternalServerError');
    assert.equal(await server('srv-early'), undefined);
    h.emu.admin.clearFaults();
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    const data = h.kube.secretData('early', 'srv-early-admin')!;
    assert.equal(data.password, pending.password, 'the same password was used for the create');
    const c = await connectWithUri(data.uri, h.emu.caCertPem);
    await c.end();
  });

  it('a restart mid-provisioning resumes the recorded operation: never a second create', async () => {
    const key = h.kube.create('PostgresServer', 'restart', 'db', spec('srv-restart'));
    await h.reconcile('PostgresServer', key);
    const op = h.kube.get<PostgresServerObject>('PostgresServer', key)!.status?.operation;
    assert.ok(op, 'operation recorded in status');
    assert.equal(op.type, 'Create');
    assert.ok(op.resumeToken && op.pollUrl);
    assert.ok(!op.resumeToken.includes(h.kube.secretData('restart', 'srv-restart-admin')!.password));
    assert.equal(h.ready('PostgresServer', key)?.reason, 'Creating');

    h.restart(); // new controllers, new ARM clients: only the status survives
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    assert.equal(h.emu.admin.requests().serverCreates['srv-restart'], 1);
    assert.equal(writes('srv-restart').PUT, 1);
    const c = await connectWithUri(h.kube.secretData('restart', 'srv-restart-admin')!.uri, h.emu.caCertPem);
    await c.end();
  });

  it('a restart that lost the operation from status (stale cache) still never creates twice', async () => {
    const key = h.kube.create('PostgresServer', 'stale', 'db', spec('srv-stale'));
    await h.reconcile('PostgresServer', key);
    assert.ok(h.kube.get<PostgresServerObject>('PostgresServer', key)!.status?.operation);
    h.kube.setStatus('PostgresServer', key, {});
    h.restart();
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    assert.equal(h.emu.admin.requests().serverCreates['srv-stale'], 1);
    assert.equal(writes('srv-stale').PUT, 1);
  });

  it('drift: what changed in Azure is PATCHed back (one PATCH), the rest left alone', async () => {
    const key = h.kube.create('PostgresServer', 'drift', 'db', spec('srv-drift', { tags: { team: 'a' }, backup: { retentionDays: 14 } }));
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    const az0 = (await server('srv-drift'))!;
    // Someone changes the server in the portal.
    await arm.clients.postgres.servers.beginUpdateAndWait(RG, 'srv-drift', { backup: { backupRetentionDays: 30 }, tags: { ...az0.tags, team: 'b', extra: 'x' } });
    const patchesBefore = writes('srv-drift').PATCH ?? 0;
    await h.until('PostgresServer', key, () => isReady(key)() && (writes('srv-drift').PATCH ?? 0) > patchesBefore, 'drift repaired');
    const az = (await server('srv-drift'))!;
    assert.equal(az.backup?.backupRetentionDays, 14);
    assert.deepEqual(az.tags, { ...az0.tags, team: 'a' });
    assert.equal(az.sku?.name, az0.sku?.name);
    assert.equal(az.storage?.storageSizeGB, az0.storage?.storageSizeGB);
    assert.equal((writes('srv-drift').PATCH ?? 0) - patchesBefore, 1,
      JSON.stringify(h.emu.admin.requests().log.filter((l) => l.path.includes('srv-drift')).map((l) => `${l.time} ${l.method} ${l.path} ${l.status}`)));
    assert.equal(writes('srv-drift').PUT, 1);
  });

  it('spec changes: storage grows and sku changes by PATCH; parameters by configurations', async () => {
    const key = h.kube.create('PostgresServer', 'grow', 'db', spec('srv-grow'));
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, storage: { sizeGB: 64 }, sku: { tier: 'GeneralPurpose', name: 'Standard_D2ds_v5' }, parameters: { work_mem: '8192' } }));
    await h.until('PostgresServer', key, () => isReady(key)() && h.kube.get<PostgresServerObject>('PostgresServer', key)!.status!.observedGeneration === 2, 'Ready at generation 2');
    const az = (await server('srv-grow'))!;
    assert.equal(az.storage?.storageSizeGB, 64);
    assert.equal(az.sku?.name, 'Standard_D2ds_v5');
    assert.equal((await arm.getConfiguration(RG, 'srv-grow', 'work_mem'))?.value, '8192');
    assert.ok(h.kube.events.some((e) => e.name === 'db' && e.reason === 'Updating'));
  });

  it('a resync of a server in sync reads it once and its parameters in one list call, not one GET each', async () => {
    const key = h.kube.create('PostgresServer', 'params', 'db', spec('srv-params', { parameters: { work_mem: '8192', max_connections: '60', log_min_duration_statement: '500' } }));
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    h.emu.admin.resetRequests();
    await h.reconcile('PostgresServer', key);
    assert.equal(h.ready('PostgresServer', key)?.status, 'True');
    const reads = h.emu.admin.requests().log
      .filter((l) => l.method === 'GET' && l.path.toLowerCase().includes('/flexibleservers/srv-params'))
      .map((l) => l.path.split('?')[0].replace(/^.*\/flexibleServers\//i, ''));
    assert.deepEqual(reads, ['srv-params', 'srv-params/configurations'], 'the server, then every parameter in one list');
  });

  it('UnsupportedChange: shrinking storage is refused once, by name, without touching Azure', async () => {
    const key = h.kube.create('PostgresServer', 'shrink', 'db', spec('srv-shrink', { storage: { sizeGB: 64 } }));
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    const w = JSON.stringify(writes('srv-shrink'));
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, storage: { sizeGB: 32 }, version: '15' }));
    for (let i = 0; i < 3; i++) await h.reconcile('PostgresServer', key);
    const ready = h.ready('PostgresServer', key)!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'UnsupportedChange');
    assert.match(ready.message, /spec\.storage\.sizeGB/);
    assert.match(ready.message, /spec\.version/);
    assert.equal(JSON.stringify(writes('srv-shrink')), w, 'no write to Azure');
    assert.equal(h.kube.events.filter((e) => e.name === 'db' && e.reason === 'UnsupportedChange' && e.type === 'Warning').length, 1, 'one Warning, not one per reconcile');
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, storage: { sizeGB: 64 }, version: '16' }));
    await h.until('PostgresServer', key, isReady(key), 'Ready again');
  });

  it('AlreadyExists: a server we did not create is not taken over until annotated for adoption', async () => {
    await arm.createResourceGroup(RG, 'eastus', {});
    await arm.clients.postgres.servers.beginCreateOrUpdateAndWait(RG, 'srv-foreign', {
      location: 'eastus',
      administratorLogin: 'pgadmin',
      administratorLoginPassword: 'Th31r-0wn-Passw0rd!',
      version: '16',
      sku: { name: 'Standard_B1ms', tier: 'Burstable' },
      storage: { storageSizeGB: 32 },
      tags: { owner: 'someone-else' },
    });
    const w = JSON.stringify(writes('srv-foreign'));
    const key = h.kube.create('PostgresServer', 'adopt', 'db', spec('srv-foreign'));
    await h.until('PostgresServer', key, () => h.ready('PostgresServer', key)?.reason === 'AlreadyExists', 'AlreadyExists');
    const ready = h.ready('PostgresServer', key)!;
    assert.match(ready.message, new RegExp(ADOPT_ANNOTATION.replace('.', '\\.')));
    assert.match(ready.message, /"true"/);
    await h.reconcile('PostgresServer', key);
    assert.equal(JSON.stringify(writes('srv-foreign')), w, 'nothing written to the foreign server');
    assert.equal(h.kube.secretData('adopt', 'srv-foreign-admin'), undefined, 'no Secret for a server we do not manage');
    assert.equal((await server('srv-foreign'))!.tags?.[TAG_UID], undefined);

    h.kube.setAnnotation('PostgresServer', key, ADOPT_ANNOTATION, 'true');
    await h.until('PostgresServer', key, isReady(key), 'adopted and Ready');
    const obj = h.kube.get<PostgresServerObject>('PostgresServer', key)!;
    assert.equal(obj.status?.adopted, true);
    const az = (await server('srv-foreign'))!;
    assert.equal(az.tags?.[TAG_UID], obj.metadata.uid);
    assert.equal(az.tags?.owner, undefined, 'tags are the spec\'s');
    const data = h.kube.secretData('adopt', 'srv-foreign-admin')!;
    const c = await connectWithUri(data.uri, h.emu.caCertPem); // the password was reset to the Secret's
    await c.end();
    assert.equal(h.emu.admin.requests().serverCreates['srv-foreign'], 1);
  });

  it('a failed Azure operation shows Azure\'s code and message, with one Warning Event', async () => {
    h.emu.admin.addFault({ kind: 'failOperation', match: 'PUT .*/flexibleServers/srv-fail$', count: 1, code: 'ServerQuotaExceeded', message: 'The subscription has reached its quota of flexible servers in eastus.' });
    const key = h.kube.create('PostgresServer', 'fail', 'db', spec('srv-fail'));
    await h.until('PostgresServer', key, () => h.ready('PostgresServer', key)?.reason === 'ServerQuotaExceeded', 'failure');
    const ready = h.ready('PostgresServer', key)!;
    assert.equal(ready.status, 'False');
    assert.match(ready.message, /ServerQuotaExceeded: The subscription has reached its quota of flexible servers in eastus\./);
    assert.equal(h.kube.get<PostgresServerObject>('PostgresServer', key)!.status?.operation, undefined);
    const warnings = h.kube.events.filter((e) => e.name === 'db' && e.type === 'Warning' && e.reason === 'ServerQuotaExceeded');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].message, /quota/);
    // The fault was spent: the next attempt succeeds.
    await h.until('PostgresServer', key, isReady(key), 'Ready after the failure');
  });

  it('429: retried after Retry-After inside the reconcile; a long Retry-After requeues instead of blocking', async () => {
    h.emu.admin.addFault({ kind: 'error', status: 429, match: 'GET .*/flexibleServers/srv-throttle$', count: 2, retryAfterSeconds: 1 });
    const key = h.kube.create('PostgresServer', 'throttle', 'db', spec('srv-throttle'));
    const t0 = Date.now();
    await h.reconcile('PostgresServer', key);
    assert.ok(Date.now() - t0 >= 1900, 'waited Retry-After twice');
    assert.equal(h.armResponses.filter((r) => r === 'GET flexibleServers 429').length, 2);
    assert.equal(h.ready('PostgresServer', key)?.reason, 'Creating');
    await h.until('PostgresServer', key, isReady(key), 'Ready');

    h.emu.admin.addFault({ kind: 'error', status: 429, match: 'GET .*/flexibleServers/srv-throttle$', count: 1, retryAfterSeconds: 90 });
    const statusBefore = JSON.stringify(h.kube.get<PostgresServerObject>('PostgresServer', key)!.status);
    const t1 = Date.now();
    const requeue = await h.reconcile('PostgresServer', key);
    assert.ok(Date.now() - t1 < 5000, 'the worker was not blocked');
    assert.ok(requeue! >= 70_000, `requeue after Retry-After, got ${requeue}`);
    assert.equal(JSON.stringify(h.kube.get<PostgresServerObject>('PostgresServer', key)!.status), statusBefore, 'throttling is not an error condition');
    h.restart(); // forget the 90 s gate for the next tests
  });

  it('InvalidSpec: named field and fix, no Azure call', async () => {
    const n = h.armResponses.length;
    const key = h.kube.create('PostgresServer', 'invalid', 'db', spec('srv-invalid', { sku: { tier: 'Burstable', name: 'Standard_D2ds_v5' }, highAvailability: { mode: 'ZoneRedundant' } }));
    await h.reconcile('PostgresServer', key);
    const ready = h.ready('PostgresServer', key)!;
    assert.equal(ready.reason, 'InvalidSpec');
    assert.match(ready.message, /spec\.sku\.name = "Standard_D2ds_v5": is a GeneralPurpose SKU, not Burstable: set sku\.tier to GeneralPurpose/);
    assert.match(ready.message, /spec\.highAvailability\.mode/);
    assert.equal(h.armResponses.length, n);
    assert.equal(h.kube.events.filter((e) => e.name === 'db' && e.reason === 'InvalidSpec').length, 1);
  });

  it('a password edited in the Secret is pushed to Azure (the Secret is the source of truth)', async () => {
    const key = h.kube.create('PostgresServer', 'rotate', 'db', spec('srv-rotate'));
    await h.until('PostgresServer', key, isReady(key), 'Ready');
    const newPassword = 'N3w:P@ss/w0rd%+ "quoted"';
    h.kube.editSecret('rotate', 'srv-rotate-admin', { password: newPassword });
    await h.until('PostgresServer', key, () => isReady(key)() && h.kube.secretData('rotate', 'srv-rotate-admin')!.uri.includes('N3w%3AP%40ss'), 'rotated');
    const data = h.kube.secretData('rotate', 'srv-rotate-admin')!;
    assert.equal(data.password, newPassword);
    const c = await connectWithUri(data.uri, h.emu.caCertPem);
    await c.end();
    // The Secret deleted: a new password is generated and pushed.
    h.kube.deleteSecret('rotate', 'srv-rotate-admin');
    await h.until('PostgresServer', key, () => isReady(key)() && !!h.kube.secretData('rotate', 'srv-rotate-admin')?.uri, 'regenerated');
    const again = h.kube.secretData('rotate', 'srv-rotate-admin')!;
    assert.notEqual(again.password, newPassword);
    const c2 = await connectWithUri(again.uri, h.emu.caCertPem);
    await c2.end();
  });

  it('deletion: Delete removes the server in Azure (an LRO) before the finalizer goes; Retain leaves it', async () => {
    const del = h.kube.create('PostgresServer', 'delete', 'del', spec('srv-del'));
    const keep = h.kube.create('PostgresServer', 'delete', 'keep', spec('srv-keep', { deletionPolicy: 'Retain' }));
    await h.until('PostgresServer', del, isReady(del), 'Ready');
    await h.until('PostgresServer', keep, isReady(keep), 'Ready');

    h.kube.delete('PostgresServer', del);
    await h.reconcile('PostgresServer', del);
    assert.ok(h.kube.exists('PostgresServer', del), 'finalizer holds while Azure deletes');
    assert.equal(h.ready('PostgresServer', del)?.reason, 'Deleting');
    await h.until('PostgresServer', del, () => !h.kube.exists('PostgresServer', del), 'gone');
    assert.equal(await server('srv-del'), undefined);
    assert.equal(h.kube.secretData('delete', 'srv-del-admin'), undefined, 'owned Secret collected');

    h.kube.delete('PostgresServer', keep);
    await h.reconcile('PostgresServer', keep);
    assert.ok(!h.kube.exists('PostgresServer', keep));
    assert.equal((await server('srv-keep'))?.state, 'Ready');
    assert.equal(writes('srv-keep').DELETE, undefined);
  });
});
