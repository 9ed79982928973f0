/**
 * PostgresDatabase, PostgresFirewallRule and PostgresRole controllers against the real ARM emulator and the real
 * PostgreSQL behind it, with the in-memory Kube test double.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { connectWithUri, credentialFor, startHarness, type Harness } from './helpers/harness';
import { createArmClients, PostgresArm } from '../../src/reconciler/azure';
import { ADOPT_ANNOTATION, type AnyObject, type PostgresServerObject } from '../../src/reconciler/contracts';
import { connectionSecretData } from '../../src/reconciler/secret-contract';

let h: Harness;
let arm: PostgresArm;
let fqdn: string;
let admin: Client;
const NS = 'apps';
const RG = 'rg-children';
const SRV = 'srv-children';

const ready = (kind: Parameters<Harness['ready']>[0], name: string) => () => h.ready(kind, { namespace: NS, name })?.status === 'True';
const k = (name: string) => ({ namespace: NS, name });

async function expectPgError(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, `${what}: expected SQLSTATE ${code}, got ${e.code} ${e.message}`);
    return true;
  }, what);
}

function createDatabase(name: string, azureName: string, extra: Record<string, unknown> = {}) {
  return h.kube.create('PostgresDatabase', NS, name, { serverRef: { name: 'server' }, azureName, ...extra });
}
function role(name: string, db: string, roleName: string, extra: Record<string, unknown> = {}, annotations?: Record<string, string>) {
  return h.kube.create('PostgresRole', NS, name, { serverRef: { name: 'server' }, databaseRef: { name: db }, roleName, writeConnectionSecretToRef: { name: `${name}-pg` }, ...extra }, annotations);
}
async function connectAs(secretName: string, database?: string): Promise<Client> {
  const data = h.kube.secretData(NS, secretName)!;
  const uri = database ? data.uri.replace(/\/[^/?]+\?/, `/${database}?`) : data.uri;
  return connectWithUri(uri, h.emu.caCertPem);
}
async function adminOn(db: string): Promise<Client> {
  return connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri.replace('/postgres?', `/${db}?`), h.emu.caCertPem);
}

before(async () => {
  h = await startHarness();
  arm = new PostgresArm(createArmClients({ subscriptionId: h.emu.subscriptionId, endpoint: h.emu.armEndpoint, scope: `${h.emu.armEndpoint}/.default`, credential: credentialFor(h.emu) }));
  const key = h.kube.create('PostgresServer', NS, 'server', { azureName: SRV, resourceGroup: { name: RG, create: true }, location: 'eastus', writeConnectionSecretToRef: { name: 'server-admin' } });
  await h.until('PostgresServer', key, () => h.ready('PostgresServer', key)?.status === 'True', 'server Ready');
  fqdn = h.kube.get<PostgresServerObject>('PostgresServer', key)!.status!.fullyQualifiedDomainName!;
  admin = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri, h.emu.caCertPem);
});
after(async () => {
  await admin?.end().catch(() => undefined);
  await h?.stop();
});
afterEach(() => {
  h.emu.admin.clearFaults();
  const everything = h.kube.everythingButSecrets() + h.log.lines.join('\n');
  for (const pw of h.kube.secretValues('password')) assert.ok(!everything.includes(pw), 'a password appears outside its Secret');
});

describe('children wait for their parents quietly', () => {
  it('WaitingForServer: Ready=False, requeued, one Normal Event, no Warning', async () => {
    const key = h.kube.create('PostgresDatabase', 'lonely', 'db', { serverRef: { name: 'missing' }, azureName: 'lonely' });
    const fw = h.kube.create('PostgresFirewallRule', 'lonely', 'fw', { serverRef: { name: 'missing' }, azureName: 'office', startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.9' });
    const r = h.kube.create('PostgresRole', 'lonely', 'r', { serverRef: { name: 'missing' }, databaseRef: { name: 'db' }, roleName: 'lonely', writeConnectionSecretToRef: { name: 'r-pg' } });
    for (let i = 0; i < 5; i++) {
      for (const [kind, key_] of [['PostgresDatabase', key], ['PostgresFirewallRule', fw], ['PostgresRole', r]] as const) {
        const requeue = await h.reconcile(kind, key_);
        assert.ok(requeue && requeue > 0, 'requeued');
      }
    }
    for (const [kind, key_] of [['PostgresDatabase', key], ['PostgresFirewallRule', fw], ['PostgresRole', r]] as const) {
      const c = h.ready(kind, key_)!;
      assert.equal(c.status, 'False');
      assert.equal(c.reason, 'WaitingForServer');
      assert.match(c.message, /PostgresServer missing/);
    }
    const events = h.kube.events.filter((e) => ['db', 'fw', 'r'].includes(e.name) && e.message.includes('missing'));
    assert.equal(events.length, 3, JSON.stringify(events));
    assert.ok(events.every((e) => e.type === 'Normal'));
  });

  it('dependsOn maps a server to its children', () => {
    const db = h.kube.get<AnyObject>('PostgresServer', k('server'))!;
    const keys = h.controllers.PostgresDatabase.dependsOn!.flatMap((d) => (d.kind === 'PostgresServer' ? d.mapToKeys(db) : []));
    const count = keys.length;
    createDatabase('dep-check', 'dep_check');
    const after_ = h.controllers.PostgresDatabase.dependsOn!.flatMap((d) => (d.kind === 'PostgresServer' ? d.mapToKeys(db) : []));
    assert.equal(after_.length, count + 1);
    assert.ok(after_.some((x) => x.name === 'dep-check'));
    h.kube.delete('PostgresDatabase', k('dep-check'));
  });
});

describe('databases and roles', () => {
  it('databases are created in Azure, owned by the administrator and closed to PUBLIC', async () => {
    createDatabase('shop', 'shop');
    createDatabase('blog', 'blog');
    await h.until('PostgresDatabase', k('shop'), ready('PostgresDatabase', 'shop'), 'shop Ready');
    await h.until('PostgresDatabase', k('blog'), ready('PostgresDatabase', 'blog'), 'blog Ready');
    const az = await arm.getDatabase(RG, SRV, 'shop');
    assert.equal(az?.charset?.toUpperCase(), 'UTF8');
    assert.match(h.kube.get<AnyObject & { status: { azureResourceId: string } }>('PostgresDatabase', k('shop'))!.status.azureResourceId, /databases\/shop$/);
    const r = await admin.query("SELECT datname, pg_get_userbyid(datdba) AS owner, has_database_privilege('public', datname, 'CONNECT') AS public_connect FROM pg_database WHERE datname IN ('shop','blog') ORDER BY 1");
    assert.deepEqual(r.rows, [{ datname: 'blog', owner: 'pgadmin', public_connect: false }, { datname: 'shop', owner: 'pgadmin', public_connect: false }]);
  });

  it('each app role reaches its own database and nothing of the other app\'s', async () => {
    role('shop-app', 'shop', 'shop_app');
    role('blog-app', 'blog', 'blog_app');
    await h.until('PostgresRole', k('shop-app'), ready('PostgresRole', 'shop-app'), 'shop role Ready');
    await h.until('PostgresRole', k('blog-app'), ready('PostgresRole', 'blog-app'), 'blog role Ready');

    const data = h.kube.secretData(NS, 'shop-app-pg')!;
    assert.deepEqual(data, connectionSecretData({ host: fqdn, dbname: 'shop', username: 'shop_app', password: data.password, ca: h.emu.caCertPem }));

    const shop = await connectAs('shop-app-pg');
    const blog = await connectAs('blog-app-pg');
    try {
      await shop.query('CREATE TABLE orders (id serial PRIMARY KEY, item text)');
      await shop.query("INSERT INTO orders (item) VALUES ('book')");
      assert.equal((await shop.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 1);
      await shop.query('CREATE TEMP TABLE scratch (x int)');
      await blog.query('CREATE TABLE posts (id serial PRIMARY KEY, body text)');
      await blog.query("INSERT INTO posts (body) VALUES ('secret draft')");

      // Neither can connect to the other's database.
      await expectPgError(connectAs('shop-app-pg', 'blog'), '42501', 'shop_app -> blog');
      await expectPgError(connectAs('blog-app-pg', 'shop'), '42501', 'blog_app -> shop');
      // And no attribute beyond LOGIN.
      const attrs = await admin.query("SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname IN ('shop_app','blog_app') ORDER BY 1");
      const loginOnly = { rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false, rolcanlogin: true };
      for (const { rolname: _name, ...row } of attrs.rows) assert.deepEqual(row, loginOnly);
      // Not a member of anything.
      const members = await admin.query("SELECT count(*)::int AS n FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname IN ('shop_app','blog_app')");
      assert.equal(members.rows[0].n, 0);
    } finally {
      await shop.end();
      await blog.end();
    }
  });

  it('privileges: exactly what is asked (SELECT), present and future tables of the administrator', async () => {
    const a = await adminOn('shop');
    try {
      await a.query('CREATE TABLE catalog (id serial PRIMARY KEY, name text)');
      await a.query("INSERT INTO catalog (name) VALUES ('pen')");
    } finally {
      await a.end();
    }
    role('shop-reader', 'shop', 'shop_reader', { privileges: ['SELECT'] });
    await h.until('PostgresRole', k('shop-reader'), ready('PostgresRole', 'shop-reader'), 'reader Ready');
    const a2 = await adminOn('shop');
    await a2.query('CREATE TABLE prices (id int, amount int)');
    await a2.query('INSERT INTO prices VALUES (1, 100)');
    await a2.end();
    const r = await connectAs('shop-reader-pg');
    try {
      assert.equal((await r.query('SELECT name FROM catalog')).rows[0].name, 'pen');
      assert.equal((await r.query('SELECT amount FROM prices')).rows[0].amount, 100, 'future table (default privileges)');
      await expectPgError(r.query("INSERT INTO catalog (name) VALUES ('x')"), '42501', 'INSERT not granted');
      await expectPgError(r.query('CREATE TABLE mine (x int)'), '42501', 'CREATE not granted');
      await expectPgError(r.query('CREATE TEMP TABLE t (x int)'), '42501', 'TEMPORARY not granted');
      await expectPgError(r.query('SELECT * FROM orders'), '42501', 'another role\'s own table is the owner\'s to grant');
    } finally {
      await r.end();
    }
    // Narrowing the shop app from ALL to SELECT takes away what it had on the administrator's tables.
    const whileAll = await connectAs('shop-app-pg');
    await whileAll.query("INSERT INTO catalog (name) VALUES ('while ALL')");
    await whileAll.end();
    h.kube.updateSpec('PostgresRole', k('shop-app'), (s: any) => ({ ...s, privileges: ['SELECT'] }));
    await h.until('PostgresRole', k('shop-app'), () => ready('PostgresRole', 'shop-app')() && h.kube.get<AnyObject>('PostgresRole', k('shop-app'))!.status!.observedGeneration === 2, 'narrowed');
    const after_ = await connectAs('shop-app-pg');
    try {
      await expectPgError(after_.query("INSERT INTO catalog (name) VALUES ('after SELECT')"), '42501', 'INSERT revoked');
      assert.ok((await after_.query('SELECT count(*) FROM catalog')).rowCount === 1);
    } finally {
      await after_.end();
    }
    h.kube.updateSpec('PostgresRole', k('shop-app'), (s: any) => ({ ...s, privileges: ['ALL'] }));
    await h.until('PostgresRole', k('shop-app'), () => ready('PostgresRole', 'shop-app')() && h.kube.get<AnyObject>('PostgresRole', k('shop-app'))!.status!.observedGeneration === 3, 'widened again');
  });

  it('the password in the role Secret wins: reused after a crash, rotated when edited', async () => {
    // A previous process wrote the Secret and crashed before CREATE ROLE.
    const key = role('crash', 'blog', 'crash_app');
    const obj = h.kube.get<AnyObject>('PostgresRole', key)!;
    await h.kube.applySecret(obj, 'crash-pg', { password: 'Pr3vious-Run!pw:with@odd/chars' });
    await h.until('PostgresRole', key, ready('PostgresRole', 'crash'), 'Ready');
    assert.equal(h.kube.secretData(NS, 'crash-pg')!.password, 'Pr3vious-Run!pw:with@odd/chars');
    (await connectAs('crash-pg')).end();

    h.kube.editSecret(NS, 'crash-pg', { password: 'R0tated-by-hand!' });
    await h.reconcile('PostgresRole', key);
    const data = h.kube.secretData(NS, 'crash-pg')!;
    assert.equal(data.password, 'R0tated-by-hand!');
    assert.match(data.uri, /R0tated-by-hand/);
    (await connectAs('crash-pg')).end();
  });

  it('AlreadyExists: a role we did not create is left alone until annotated for adoption', async () => {
    await admin.query("CREATE ROLE legacy_app LOGIN PASSWORD 'Legacy-Passw0rd!'");
    const key = role('legacy', 'blog', 'legacy_app');
    await h.until('PostgresRole', key, () => h.ready('PostgresRole', key)?.reason === 'AlreadyExists', 'AlreadyExists');
    assert.match(h.ready('PostgresRole', key)!.message, /cdk8s-azure\.dev\/adopt: "true"/);
    // Untouched: its own password still works.
    const own = await connectWithUri(`postgresql://legacy_app:Legacy-Passw0rd%21@${fqdn}:5432/postgres?sslmode=require`, h.emu.caCertPem);
    await own.end();
    h.kube.setAnnotation('PostgresRole', key, ADOPT_ANNOTATION, 'true');
    await h.until('PostgresRole', key, ready('PostgresRole', 'legacy'), 'adopted');
    (await connectAs('legacy-pg')).end();
    assert.ok(h.kube.events.some((e) => e.name === 'legacy' && e.reason === 'Adopted'));
  });

  it('deleting a role terminates its sessions, keeps its data (reassigned to the administrator) and drops it', async () => {
    const key = role('temp', 'blog', 'temp_app');
    await h.until('PostgresRole', key, ready('PostgresRole', 'temp'), 'Ready');
    const t = await connectAs('temp-pg');
    await t.query('CREATE TABLE temp_data (x int)');
    await t.query('INSERT INTO temp_data VALUES (42)');
    t.on('error', () => undefined);
    h.kube.delete('PostgresRole', key);
    await h.until('PostgresRole', key, () => !h.kube.exists('PostgresRole', key), 'gone');
    assert.equal((await admin.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'temp_app'")).rows[0].n, 0);
    await assert.rejects(t.query('SELECT 1'), 'its open session was terminated');
    await t.end().catch(() => undefined);
    const a = await adminOn('blog');
    try {
      const r = await a.query("SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'temp_data'");
      assert.equal(r.rows[0].owner, 'pgadmin');
      assert.equal((await a.query('SELECT x FROM temp_data')).rows[0].x, 42);
    } finally {
      await a.end();
    }
    assert.equal(h.kube.secretData(NS, 'temp-pg'), undefined);
  });

  it('deletionPolicy Retain keeps the role', async () => {
    const key = role('kept', 'blog', 'kept_app', { deletionPolicy: 'Retain' });
    await h.until('PostgresRole', key, ready('PostgresRole', 'kept'), 'Ready');
    h.kube.delete('PostgresRole', key);
    await h.reconcile('PostgresRole', key);
    assert.ok(!h.kube.exists('PostgresRole', key));
    assert.equal((await admin.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'kept_app'")).rows[0].n, 1);
  });

  it('databases: UnsupportedChange on collation, Delete and Retain', async () => {
    const del = createDatabase('gone', 'gone_db');
    const keep = createDatabase('kept-db', 'kept_db', { deletionPolicy: 'Retain' });
    await h.until('PostgresDatabase', del, ready('PostgresDatabase', 'gone'), 'Ready');
    await h.until('PostgresDatabase', keep, ready('PostgresDatabase', 'kept-db'), 'Ready');
    h.kube.updateSpec('PostgresDatabase', del, (s: any) => ({ ...s, collation: 'C' }));
    await h.reconcile('PostgresDatabase', del);
    assert.equal(h.ready('PostgresDatabase', del)?.reason, 'UnsupportedChange');
    assert.match(h.ready('PostgresDatabase', del)!.message, /spec\.collation/);

    h.kube.delete('PostgresDatabase', del);
    await h.until('PostgresDatabase', del, () => !h.kube.exists('PostgresDatabase', del), 'gone');
    assert.equal(await arm.getDatabase(RG, SRV, 'gone_db'), undefined);
    h.kube.delete('PostgresDatabase', keep);
    await h.reconcile('PostgresDatabase', keep);
    assert.ok(!h.kube.exists('PostgresDatabase', keep));
    assert.ok(await arm.getDatabase(RG, SRV, 'kept_db'));
  });

  it('a failed database operation shows Azure\'s code and message', async () => {
    h.emu.admin.addFault({ kind: 'failOperation', match: 'PUT .*/databases/broken_db$', count: 1, code: 'InternalServerError', message: 'Database creation failed on the node.' });
    const key = createDatabase('broken', 'broken_db');
    await h.until('PostgresDatabase', key, () => h.ready('PostgresDatabase', key)?.reason === 'InternalServerError', 'failure');
    assert.match(h.ready('PostgresDatabase', key)!.message, /InternalServerError: Database creation failed on the node\./);
    assert.ok(h.kube.events.some((e) => e.name === 'broken' && e.type === 'Warning'));
    await h.until('PostgresDatabase', key, ready('PostgresDatabase', 'broken'), 'Ready after retry');
  });
});

describe('firewall rules', () => {
  it('created, range updated in place, invalid ranges refused, deleted', async () => {
    const key = h.kube.create('PostgresFirewallRule', NS, 'office', { serverRef: { name: 'server' }, azureName: 'office', startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.9' });
    await h.until('PostgresFirewallRule', key, ready('PostgresFirewallRule', 'office'), 'Ready');
    let az = await arm.getFirewallRule(RG, SRV, 'office');
    assert.deepEqual([az?.startIpAddress, az?.endIpAddress], ['203.0.113.1', '203.0.113.9']);

    h.kube.updateSpec('PostgresFirewallRule', key, (s: any) => ({ ...s, endIpAddress: '203.0.113.20' }));
    await h.until('PostgresFirewallRule', key, () => ready('PostgresFirewallRule', 'office')() && h.kube.get<AnyObject>('PostgresFirewallRule', key)!.status!.observedGeneration === 2, 'updated');
    az = await arm.getFirewallRule(RG, SRV, 'office');
    assert.equal(az?.endIpAddress, '203.0.113.20');

    // Drift: changed in Azure, put back.
    await arm.clients.postgres.firewallRules.beginCreateOrUpdateAndWait(RG, SRV, 'office', { startIpAddress: '0.0.0.0', endIpAddress: '255.255.255.255' });
    await h.until('PostgresFirewallRule', key, ready('PostgresFirewallRule', 'office'), 'Ready');
    az = await arm.getFirewallRule(RG, SRV, 'office');
    assert.deepEqual([az?.startIpAddress, az?.endIpAddress], ['203.0.113.1', '203.0.113.20']);

    const bad = h.kube.create('PostgresFirewallRule', NS, 'bad', { serverRef: { name: 'server' }, azureName: 'bad', startIpAddress: '10.0.0.9', endIpAddress: '10.0.0.1' });
    await h.reconcile('PostgresFirewallRule', bad);
    assert.equal(h.ready('PostgresFirewallRule', bad)?.reason, 'InvalidSpec');
    assert.match(h.ready('PostgresFirewallRule', bad)!.message, /spec\.endIpAddress/);

    h.kube.delete('PostgresFirewallRule', key);
    await h.until('PostgresFirewallRule', key, () => !h.kube.exists('PostgresFirewallRule', key), 'gone');
    assert.equal(await arm.getFirewallRule(RG, SRV, 'office'), undefined);
  });

  it('a rule its status has never seen: no GET before its PUT, one GET once the operation ended; deleted without a GET', async () => {
    const ruleRequests = () => h.emu.admin.requests().log.filter((l) => /\/firewallrules\/burst-rule(\?|$)/i.test(l.path)).map((l) => `${l.method} ${l.status}`);
    h.emu.admin.resetRequests();
    const key = h.kube.create('PostgresFirewallRule', NS, 'burst-rule', { serverRef: { name: 'server' }, azureName: 'burst-rule', startIpAddress: '198.51.100.1', endIpAddress: '198.51.100.2' });
    await h.until('PostgresFirewallRule', key, ready('PostgresFirewallRule', 'burst-rule'), 'Ready');
    assert.deepEqual(ruleRequests(), ['PUT 202', 'GET 200'], 'created without reading first; read once, after its operation succeeded');
    assert.match(h.kube.get<AnyObject & { status: { azureResourceId: string } }>('PostgresFirewallRule', key)!.status.azureResourceId, /firewallRules\/burst-rule$/);

    h.emu.admin.resetRequests();
    h.kube.delete('PostgresFirewallRule', key);
    await h.until('PostgresFirewallRule', key, () => !h.kube.exists('PostgresFirewallRule', key), 'gone');
    assert.deepEqual(ruleRequests(), ['DELETE 202'], 'deleted without reading first, done when the operation succeeded');
    assert.equal(await arm.getFirewallRule(RG, SRV, 'burst-rule'), undefined);
  });
});
