/**
 * Day two of a server, against the ARM emulator and the real PostgreSQL behind it: extensions per database (kept in
 * the server's azure.extensions, created in each database, dropped only when asked) and stop/start. One server for
 * all, to keep the suite short.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { connectWithUri, credentialFor, startHarness, type Harness } from './helpers/harness';
import { createArmClients, PostgresArm } from '../../src/reconciler/azure';
import type { AnyObject } from '../../src/reconciler/contracts';

let h: Harness;
let arm: PostgresArm;
const NS = 'day2';
const RG = 'rg-day2';
const SRV = 'srv-day2';
const k = (name: string) => ({ namespace: NS, name });
const ready = (kind: Parameters<Harness['ready']>[0], name: string) => () => h.ready(kind, k(name))?.status === 'True';
const statusOf = (kind: Parameters<Harness['ready']>[0], name: string) => h.kube.get<AnyObject & { status: Record<string, any> }>(kind, k(name))!.status;

async function adminOn(db: string): Promise<Client> {
  return connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri.replace('/postgres?', `/${db}?`), h.emu.caCertPem);
}
async function extensionsIn(db: string): Promise<string[]> {
  const c = await adminOn(db);
  try {
    return (await c.query("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")).rows.map((r) => r.extname);
  } finally {
    await c.end();
  }
}
function updateSpec(kind: Parameters<Harness['ready']>[0], name: string, change: (spec: any) => void): void {
  h.kube.updateSpec<any>(kind, k(name), (spec) => {
    change(spec);
  });
}

before(async () => {
  h = await startHarness({ emulator: { provisioningDelayMs: 50 } });
  arm = new PostgresArm(createArmClients({ subscriptionId: h.emu.subscriptionId, endpoint: h.emu.armEndpoint, scope: `${h.emu.armEndpoint}/.default`, credential: credentialFor(h.emu) }));
  h.kube.create('PostgresServer', NS, 'server', {
    azureName: SRV, resourceGroup: { name: RG, create: true }, location: 'eastus', version: '16',
    writeConnectionSecretToRef: { name: 'server-admin' }, parameters: { 'azure.extensions': 'pgcrypto' },
  });
  await h.until('PostgresServer', k('server'), ready('PostgresServer', 'server'), 'server Ready');
});
after(async () => {
  await h?.stop();
});

describe('extensions per database', () => {
  it('azure.extensions becomes the union of the server\'s own list and its databases\'; each database gets its extensions, and they work', async () => {
    h.kube.create('PostgresDatabase', NS, 'search', { serverRef: { name: 'server' }, azureName: 'search', extensions: ['pg_trgm', 'citext'] });
    h.kube.create('PostgresDatabase', NS, 'net', { serverRef: { name: 'server' }, azureName: 'net', extensions: ['ip4r'], extensionRemovalPolicy: 'Drop' });
    await h.until('PostgresDatabase', k('search'), ready('PostgresDatabase', 'search'), 'search Ready');
    await h.until('PostgresDatabase', k('net'), ready('PostgresDatabase', 'net'), 'net Ready');
    assert.equal((await arm.getConfiguration(RG, SRV, 'azure.extensions'))?.value, 'pgcrypto,citext,ip4r,pg_trgm');
    assert.deepEqual(await extensionsIn('search'), ['citext', 'pg_trgm']);
    assert.deepEqual(await extensionsIn('net'), ['ip4r']);
    assert.deepEqual(statusOf('PostgresDatabase', 'search').extensions, ['citext', 'pg_trgm']);
    const c = await adminOn('search');
    try {
      assert.equal((await c.query("SELECT 'A'::citext = 'a'::citext AS same, similarity('trigram', 'trigrams') > 0.5 AS close")).rows[0].same, true);
    } finally {
      await c.end();
    }
  });

  it('an extension dropped by hand comes back (drift); one allow-listing removed in Azure is put back by the server', async () => {
    const c = await adminOn('search');
    await c.query('DROP EXTENSION citext');
    await c.end();
    await arm.clients.postgres.configurations.beginPutAndWait(RG, SRV, 'azure.extensions', { value: 'pgcrypto', source: 'user-override' });
    // A resync of each, as the runtime's periodic one.
    await h.reconcile('PostgresServer', k('server'));
    await h.until('PostgresServer', k('server'), ready('PostgresServer', 'server'), 'server Ready');
    await h.reconcile('PostgresDatabase', k('search'));
    await h.until('PostgresDatabase', k('search'), ready('PostgresDatabase', 'search'), 'search Ready again');
    assert.equal((await arm.getConfiguration(RG, SRV, 'azure.extensions'))?.value, 'pgcrypto,citext,ip4r,pg_trgm');
    assert.deepEqual(await extensionsIn('search'), ['citext', 'pg_trgm']);
  });

  it('removed from the spec: kept under Retain (the default), dropped under Drop', async () => {
    updateSpec('PostgresDatabase', 'search', (s) => (s.extensions = ['pg_trgm']));
    updateSpec('PostgresDatabase', 'net', (s) => (s.extensions = []));
    await h.until('PostgresDatabase', k('search'), ready('PostgresDatabase', 'search'), 'search Ready');
    await h.until('PostgresDatabase', k('net'), () => statusOf('PostgresDatabase', 'net').extensions === undefined, 'ip4r dropped');
    assert.deepEqual(await extensionsIn('search'), ['citext', 'pg_trgm'], 'Retain keeps citext');
    assert.deepEqual(await extensionsIn('net'), [], 'Drop drops ip4r');
    assert.ok(h.ready('PostgresDatabase', k('net'))?.status === 'True');
  });

  it('vector is allow-listed for the database; creating it then fails with PostgreSQL\'s error (no pgvector for PostgreSQL 15 in Debian)', async () => {
    h.kube.create('PostgresDatabase', NS, 'ai', { serverRef: { name: 'server' }, azureName: 'ai', extensions: ['vector'] });
    await h.until('PostgresDatabase', k('ai'), () => h.ready('PostgresDatabase', k('ai'))?.reason === 'PostgresError', 'ai fails in PostgreSQL');
    const allow = (await arm.getConfiguration(RG, SRV, 'azure.extensions'))?.value ?? '';
    assert.ok(allow.split(',').includes('vector'), allow);
    assert.match(h.ready('PostgresDatabase', k('ai'))!.message, /creating extension vector in database ai failed: 0A000: extension "vector" is not available|58P01/);
    h.kube.delete('PostgresDatabase', k('ai'));
    await h.until('PostgresDatabase', k('ai'), () => !h.kube.get('PostgresDatabase', k('ai')), 'ai gone');
  });
});
