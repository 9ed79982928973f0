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
    azureName: SRV,
    resourceGroup: { name: RG, create: true },
    location: 'eastus',
    version: '16',
    writeConnectionSecretToRef: { name: 'server-admin' },
    parameters: { 'azure.extensions': 'pgcrypto' },
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

describe('stop and start', () => {
  const stoppedAsAsked = () => h.ready('PostgresServer', k('server'))?.reason === 'Stopped';

  it('stopped: true stops the server through ARM; status shows Stopped and the server refuses connections', async () => {
    updateSpec('PostgresServer', 'server', (s) => {
      s.stopped = true;
    });
    await h.until('PostgresServer', k('server'), stoppedAsAsked, 'server Stopped');
    assert.equal(h.ready('PostgresServer', k('server'))!.status, 'True');
    assert.equal(statusOf('PostgresServer', 'server').state, 'Stopped');
    assert.equal((await arm.getServer(RG, SRV))?.state, 'Stopped');
    await assert.rejects(adminOn('postgres'), (e: any) => {
      assert.equal(e.code, 'ECONNREFUSED', e.message);
      return true;
    });
    assert.ok(h.kube.events.some((e) => e.name === 'server' && e.reason === 'Stopping'));
  });

  it('children wait while it is stopped, with a clear condition and no error', async () => {
    h.kube.create('PostgresDatabase', NS, 'later', { serverRef: { name: 'server' }, azureName: 'later', extensions: ['citext'] });
    h.kube.create('PostgresRole', NS, 'reader', { serverRef: { name: 'server' }, databaseRef: { name: 'search' }, roleName: 'reader', writeConnectionSecretToRef: { name: 'reader-pg' } });
    for (const [kind, name] of [['PostgresDatabase', 'later'], ['PostgresDatabase', 'search'], ['PostgresRole', 'reader']] as const) {
      const requeue = await h.reconcile(kind, k(name));
      assert.ok(requeue && requeue > 0, `${name} requeued`);
      const c = h.ready(kind, k(name))!;
      assert.equal(c.reason, 'WaitingForServer', `${name}: ${c.message}`);
      assert.match(c.message, /Stopped in Azure; waiting until it is started/);
    }
    const warnings = h.kube.events.filter((e) => ['later', 'reader'].includes(e.name) && e.type === 'Warning');
    assert.deepEqual(warnings, []);
  });

  it('Azure starting it by itself (after 7 days) is reported and the server is stopped again', async () => {
    await h.emu.admin.autoStart(SRV);
    assert.equal((await arm.getServer(RG, SRV))?.state, 'Ready');
    await h.reconcile('PostgresServer', k('server'));
    const drift = h.kube.events.find((e) => e.name === 'server' && e.reason === 'StartedOutsideSpec');
    assert.ok(drift, 'a StartedOutsideSpec Event');
    assert.equal(drift!.type, 'Warning');
    assert.match(drift!.message, /Azure reports server srv-day2 Ready although spec.stopped is true/);
    await h.until('PostgresServer', k('server'), stoppedAsAsked, 'server Stopped again');
    assert.equal((await arm.getServer(RG, SRV))?.state, 'Stopped');
  });

  it('stopped: false starts it; the children that waited go on', async () => {
    updateSpec('PostgresServer', 'server', (s) => {
      s.stopped = false;
    });
    await h.until('PostgresServer', k('server'), ready('PostgresServer', 'server'), 'server started');
    assert.equal(h.ready('PostgresServer', k('server'))!.reason, 'Available');
    assert.equal((await arm.getServer(RG, SRV))?.state, 'Ready');
    await h.until('PostgresDatabase', k('later'), ready('PostgresDatabase', 'later'), 'later Ready');
    await h.until('PostgresRole', k('reader'), ready('PostgresRole', 'reader'), 'reader Ready');
    assert.deepEqual(await extensionsIn('later'), ['citext']);
  });
});

describe('read replicas and point-in-time restore', () => {
  const uriOf = (secret: string, db: string) => h.kube.secretData(NS, secret)!.uri.replace('/postgres?', `/${db}?`);
  async function sqlOn(secret: string, db: string, text: string): Promise<any[]> {
    const c = await connectWithUri(uriOf(secret, db), h.emu.caCertPem);
    try {
      return (await c.query(text)).rows;
    } finally {
      await c.end();
    }
  }

  it('a replica (spec.replica) is created from its source, reports its own status, and serves the primary\'s row with the same credentials on its own host', async () => {
    await sqlOn('server-admin', 'search', 'CREATE TABLE orders (id int PRIMARY KEY, item text)');
    h.kube.create('PostgresServer', NS, 'replica', {
      azureName: `${SRV}-replica`,
      resourceGroup: { name: RG },
      location: 'westus2',
      version: '16',
      writeConnectionSecretToRef: { name: 'replica-admin' },
      replica: { sourceServerRef: { name: 'server' } },
    });
    await h.until('PostgresServer', k('replica'), ready('PostgresServer', 'replica'), 'replica Ready');
    assert.equal(statusOf('PostgresServer', 'replica').replicationRole, 'AsyncReplica');
    assert.equal(statusOf('PostgresServer', 'server').replicationRole, 'Primary');
    const az = await arm.getServer(RG, `${SRV}-replica`);
    assert.match(az?.sourceServerResourceId ?? '', /flexibleServers\/srv-day2$/);
    const primary = h.kube.secretData(NS, 'server-admin')!;
    const replica = h.kube.secretData(NS, 'replica-admin')!;
    assert.equal(replica.password, primary.password, 'same credentials');
    assert.notEqual(replica.host, primary.host, 'the replica\'s own host');
    await sqlOn('server-admin', 'search', "INSERT INTO orders VALUES (1, 'written on the primary')");
    let rows: any[] = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      rows = await sqlOn('replica-admin', 'search', 'SELECT item FROM orders WHERE id = 1');
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(rows, [{ item: 'written on the primary' }]);
  });

  it('a restore (spec.restore) to a time before a delete has the row back, with its own administrator password', async () => {
    await sqlOn('server-admin', 'search', "INSERT INTO orders VALUES (2, 'lost in a bad migration')");
    await new Promise((r) => setTimeout(r, 1100));
    const beforeDelete = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await new Promise((r) => setTimeout(r, 1100));
    await sqlOn('server-admin', 'search', 'DELETE FROM orders WHERE id = 2');
    h.kube.create('PostgresServer', NS, 'restored', {
      azureName: `${SRV}-restored`,
      resourceGroup: { name: RG },
      location: 'eastus',
      version: '16',
      writeConnectionSecretToRef: { name: 'restored-admin' },
      restore: { sourceServerRef: { name: 'server' }, pointInTimeUTC: beforeDelete },
    });
    await h.until('PostgresServer', k('restored'), () => ready('PostgresServer', 'restored')() &&
      h.kube.get<AnyObject & { status: any }>('PostgresServer', k('restored'))!.status.conditions.some((c: any) => c.type === 'PasswordSynced' && c.status === 'True'), 'restored Ready');
    assert.notEqual(h.kube.secretData(NS, 'restored-admin')!.password, h.kube.secretData(NS, 'server-admin')!.password, 'its own password');
    assert.deepEqual(await sqlOn('restored-admin', 'search', 'SELECT item FROM orders WHERE id = 2'), [{ item: 'lost in a bad migration' }]);
    assert.deepEqual(await sqlOn('server-admin', 'search', 'SELECT item FROM orders WHERE id = 2'), [], 'the source is unchanged');
  });

  it('a role declared on the restore takes over the role the restored data copied from the source, with a password of its own', async () => {
    h.kube.create('PostgresDatabase', NS, 'restored-search', { serverRef: { name: 'restored' }, azureName: 'search' });
    h.kube.create('PostgresRole', NS, 'restored-reader', {
      serverRef: { name: 'restored' }, databaseRef: { name: 'restored-search' }, roleName: 'reader', writeConnectionSecretToRef: { name: 'restored-reader-pg' },
    });
    await h.until('PostgresRole', k('restored-reader'), ready('PostgresRole', 'restored-reader'), 'restored-reader Ready');
    const restored = h.kube.secretData(NS, 'restored-reader-pg')!;
    assert.notEqual(restored.password, h.kube.secretData(NS, 'reader-pg')!.password, 'a password of its own');
    assert.notEqual(restored.host, h.kube.secretData(NS, 'reader-pg')!.host, 'on the restored server');
    assert.deepEqual(await sqlOn('restored-reader-pg', 'search', 'SELECT current_user AS u'), [{ u: 'reader' }]);
    assert.deepEqual(await sqlOn('reader-pg', 'search', 'SELECT current_user AS u'), [{ u: 'reader' }], 'the source\'s role and Secret are untouched');
    h.kube.delete('PostgresRole', k('restored-reader'));
    await h.until('PostgresRole', k('restored-reader'), () => !h.kube.get('PostgresRole', k('restored-reader')), 'restored-reader gone');
    h.kube.delete('PostgresDatabase', k('restored-search'));
    await h.until('PostgresDatabase', k('restored-search'), () => !h.kube.get('PostgresDatabase', k('restored-search')), 'restored-search gone');
  });

  it('a restore time outside the source\'s backups is InvalidSpec before anything is created', async () => {
    h.kube.create('PostgresServer', NS, 'too-early', {
      azureName: `${SRV}-early`,
      resourceGroup: { name: RG },
      location: 'eastus',
      writeConnectionSecretToRef: { name: 'early-admin' },
      restore: { sourceServerRef: { name: 'server' }, pointInTimeUTC: '2020-01-01T00:00:00Z' },
    });
    await h.until('PostgresServer', k('too-early'), () => h.ready('PostgresServer', k('too-early'))?.reason === 'InvalidSpec', 'InvalidSpec');
    assert.match(h.ready('PostgresServer', k('too-early'))!.message, /spec\.restore\.pointInTimeUTC = "2020-01-01T00:00:00Z": is before the source's earliest restore point/);
    assert.equal(await arm.getServer(RG, `${SRV}-early`), undefined);
    h.kube.delete('PostgresServer', k('too-early'));
    await h.until('PostgresServer', k('too-early'), () => !h.kube.get('PostgresServer', k('too-early')), 'gone');
  });

  it('the primary is deleted only after its replicas: it waits for the replica, which then is promoted and takes writes', async () => {
    h.kube.delete('PostgresServer', k('restored'));
    h.kube.delete('PostgresServer', k('server'));
    await h.reconcile('PostgresServer', k('server'));
    const waitingCondition = h.ready('PostgresServer', k('server'))!;
    assert.equal(waitingCondition.reason, 'Deleting');
    assert.match(waitingCondition.message, /is deleted after its read replicas \(PostgresServer replica\) are deleted/);
    assert.ok(await arm.getServer(RG, SRV), 'the primary is still in Azure');
    updateSpec('PostgresServer', 'replica', (s) => {
      s.replica.promote = true;
    });
    await h.until('PostgresServer', k('replica'), () => statusOf('PostgresServer', 'replica').replicationRole === 'Primary' && ready('PostgresServer', 'replica')(), 'promoted');
    await sqlOn('replica-admin', 'search', "INSERT INTO orders VALUES (3, 'written on the promoted replica')");
    await h.until('PostgresServer', k('server'), () => !h.kube.get('PostgresServer', k('server')), 'primary deleted', 180_000);
    assert.equal(await arm.getServer(RG, SRV), undefined);
    assert.deepEqual(await sqlOn('replica-admin', 'search', 'SELECT count(*)::int AS n FROM orders'), [{ n: 2 }]);
  });
});
