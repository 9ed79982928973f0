/**
 * PostgresRole against the real ARM emulator and the real PostgreSQL 15 behind it (the administrator is not a
 * superuser, as on Azure), with the in-memory Kube test double: no takeover, deletes that are done only when done,
 * Retain that keeps credentials, roles that proceed while their server is not Ready, and what a role can reach.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { connectWithUri, credentialFor, startHarness, type Harness } from './helpers/harness';
import { createArmClients, PostgresArm } from '../../src/reconciler/azure';
import { ADOPT_ANNOTATION, type AnyObject, type Kind, type ObjectKey } from '../../src/reconciler/contracts';
import { ISOLATED, SERVER_ANNOTATION } from '../../src/reconciler/controllers/role';
import { postgresFailure } from '../../src/reconciler/controllers/role/context';
import { administratorConflict } from '../../src/reconciler/controllers/role/ownership';
import { RoleConflictError } from '../../src/reconciler/postgres';

let h: Harness;
let arm: PostgresArm;
let admin: Client;
const NS = 'roles';
const RG = 'rg-roles';
const SRV = 'srv-roles';

const k = (name: string, namespace = NS): ObjectKey => ({ namespace, name });
const isReady = (kind: Kind, name: string) => () => h.ready(kind, k(name))?.status === 'True';

async function expectPgError(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (e: any) => {
    assert.equal(e.code, code, `${what}: expected SQLSTATE ${code}, got ${e.code} ${e.message}`);
    return true;
  }, what);
}

function role(name: string, roleName: string, extra: Record<string, unknown> = {}, annotations?: Record<string, string>, serverName = 'server', db = 'shop'): ObjectKey {
  return h.kube.create('PostgresRole', NS, name, {
    serverRef: { name: serverName }, databaseRef: { name: db }, roleName, writeConnectionSecretToRef: { name: `${name}-pg` }, ...extra,
  }, annotations);
}
async function connectAs(secretName: string, dbname?: string): Promise<Client> {
  const data = h.kube.secretData(NS, secretName);
  assert.ok(data, `Secret ${secretName}`);
  return connectWithUri(dbname ? data.uri.replace(/\/[^/?]+\?/, `/${dbname}?`) : data.uri, h.emu.caCertPem);
}
/** Logs in with a Secret's password (kept by the test) and ends the session. */
async function loginWith(uri: string): Promise<void> {
  (await connectWithUri(uri, h.emu.caCertPem)).end();
}
async function roleCount(name: string): Promise<number> {
  return (await admin.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [name])).rows[0].n;
}
async function server(name: string, azureName: string, extra: Record<string, unknown> = {}): Promise<void> {
  const key = h.kube.create('PostgresServer', NS, name, { azureName, resourceGroup: { name: RG, create: true }, location: 'eastus', writeConnectionSecretToRef: { name: `${name}-admin` }, ...extra });
  await h.until('PostgresServer', key, isReady('PostgresServer', name), `${name} Ready`);
}
async function database(name: string, azureName: string, serverName = 'server'): Promise<void> {
  const key = h.kube.create('PostgresDatabase', NS, name, { serverRef: { name: serverName }, azureName });
  await h.until('PostgresDatabase', key, isReady('PostgresDatabase', name), `${name} Ready`);
}
function warnings(name: string, reason: string) {
  return h.kube.events.filter((e) => e.kind === 'PostgresRole' && e.name === name && e.type === 'Warning' && e.reason === reason);
}

before(async () => {
  h = await startHarness({ adoptionNamespaces: [NS] });
  arm = new PostgresArm(createArmClients({ subscriptionId: h.emu.subscriptionId, endpoint: h.emu.armEndpoint, scope: `${h.emu.armEndpoint}/.default`, credential: credentialFor(h.emu) }));
  await server('server', SRV);
  await database('shop', 'shop');
  await database('blog', 'blog');
  admin = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri, h.emu.caCertPem);
});
after(async () => {
  await admin?.end().catch(() => undefined);
  await h?.stop();
});
afterEach(() => {
  const everything = h.kube.everythingButSecrets() + h.log.lines.join('\n');
  for (const pw of h.kube.secretValues('password')) assert.ok(!everything.includes(pw), 'a password appears outside its Secret');
});

describe('no takeover', () => {
  it('adopt takes over a role nobody manages, and only from a namespace the cluster admin lets adopt', async () => {
    await admin.query("CREATE ROLE legacy_app LOGIN PASSWORD 'Legacy-Passw0rd!'");
    const legacyUri = h.kube.secretData(NS, 'server-admin')!.uri.replace(/\/\/[^@]+@/, '//legacy_app:Legacy-Passw0rd%21@');
    h.configure({ adoptionNamespaces: [] });
    try {
      const key = role('legacy', 'legacy_app', {}, { [ADOPT_ANNOTATION]: 'true' }, 'server', 'blog');
      await h.reconcile('PostgresRole', key);
      const c = h.ready('PostgresRole', key)!;
      assert.deepEqual([c.status, c.reason], ['False', 'AdoptionRefused']);
      assert.match(c.message, /namespace roles may not adopt/);
      assert.equal(h.kube.secretData(NS, 'legacy-pg'), undefined);
      await loginWith(legacyUri);
    } finally {
      h.configure({ adoptionNamespaces: [NS] });
    }
    await h.until('PostgresRole', k('legacy'), isReady('PostgresRole', 'legacy'), 'adopted');
    (await connectAs('legacy-pg')).end();
    await expectPgError(loginWith(legacyUri), '28P01', 'the password before adoption');
    assert.ok(h.kube.events.some((e) => e.name === 'legacy' && e.reason === 'Adopted'));
  });

  it('adopt does not take over a role another live PostgresRole manages: its Secret still connects', async () => {
    const victim = role('victim', 'victim_app');
    await h.until('PostgresRole', victim, isReady('PostgresRole', 'victim'), 'victim Ready');
    const victimUri = h.kube.secretData(NS, 'victim-pg')!.uri;
    const writes = h.kube.writes.length;

    const thief = h.kube.create('PostgresRole', NS, 'thief', {
      serverRef: { name: 'server' }, databaseRef: { name: 'shop' }, roleName: 'victim_app', writeConnectionSecretToRef: { name: 'thief-pg' },
    }, { [ADOPT_ANNOTATION]: 'true' });
    await h.reconcile('PostgresRole', thief);
    await h.reconcile('PostgresRole', thief);
    const c = h.ready('PostgresRole', thief)!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'Conflict');
    assert.match(c.message, /role victim_app is managed by PostgresRole roles\/victim/);
    assert.equal(warnings('thief', 'Conflict').length, 1, 'one Warning Event on the attacker');
    assert.equal(h.kube.secretData(NS, 'thief-pg'), undefined, 'no Secret for the attacker');
    assert.deepEqual(h.kube.writes.slice(writes).filter((w) => !/^(status|finalizer\+) PostgresRole\/thief$/.test(w)), [], 'nothing else written');
    await loginWith(victimUri);
    await h.reconcile('PostgresRole', victim);
    assert.equal(h.ready('PostgresRole', victim)?.status, 'True');

    // Deleting the attacker drops nothing.
    h.kube.delete('PostgresRole', thief);
    await h.until('PostgresRole', thief, () => !h.kube.exists('PostgresRole', thief), 'thief gone');
    assert.equal(await roleCount('victim_app'), 1);
    await loginWith(victimUri);
  });

  it('a PostgresRole named after the administrator login: Conflict, the admin keeps its password and rights', async () => {
    const adminUri = h.kube.secretData(NS, 'server-admin')!.uri;
    const before_ = (await admin.query("SELECT rolcreaterole, rolcreatedb, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = 'pgadmin'")).rows[0];
    const key = role('admin-grab', 'pgadmin', {}, { [ADOPT_ANNOTATION]: 'true' });
    await h.reconcile('PostgresRole', key);
    const c = h.ready('PostgresRole', key)!;
    assert.deepEqual([c.status, c.reason], ['False', 'Conflict']);
    assert.match(c.message, /administrator login of PostgresServer server/);
    assert.equal(warnings('admin-grab', 'Conflict').length, 1);
    assert.equal(h.kube.secretData(NS, 'admin-grab-pg'), undefined);
    assert.deepEqual((await admin.query("SELECT rolcreaterole, rolcreatedb, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = 'pgadmin'")).rows[0], before_);
    assert.deepEqual(before_, { rolcreaterole: true, rolcreatedb: true, comment: null });
    await loginWith(adminUri);
    await h.reconcile('PostgresServer', k('server'));
    assert.equal(h.ready('PostgresServer', k('server'))?.status, 'True');
    // Its deletion drops nothing either.
    h.kube.delete('PostgresRole', key);
    await h.until('PostgresRole', key, () => !h.kube.exists('PostgresRole', key), 'gone');
    await loginWith(adminUri);
  });

  it('the administrator login is compared without case; reserved names are invalid specs', async () => {
    assert.match(administratorConflict('pgadmin', 'PgAdmin', 's') ?? '', /administrator login/);
    assert.equal(administratorConflict('pgadmin_app', 'pgadmin', 's'), undefined);
    for (const [name, roleName] of [['su', 'azuresu'], ['cu', 'current_user'], ['apa', 'azure_pg_admin'], ['pgx', 'pg_monitor'], ['pub', 'public']]) {
      const key = role(`reserved-${name}`, roleName, {}, { [ADOPT_ANNOTATION]: 'true' });
      assert.deepEqual(await h.reconcile('PostgresRole', key), undefined);
      const c = h.ready('PostgresRole', key)!;
      assert.deepEqual([c.status, c.reason], ['False', 'InvalidSpec'], roleName);
      assert.match(c.message, /spec\.roleName = .*reserved/);
      h.kube.delete('PostgresRole', key);
      await h.reconcile('PostgresRole', key);
      assert.ok(!h.kube.exists('PostgresRole', key));
    }
    const attrs = await admin.query("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN ('azuresu', 'azure_pg_admin', 'pg_monitor') ORDER BY 1");
    assert.deepEqual(attrs.rows, [{ rolname: 'azure_pg_admin', rolcanlogin: false }, { rolname: 'azuresu', rolcanlogin: true }, { rolname: 'pg_monitor', rolcanlogin: false }]);
  });
});

describe('children proceed on existence; revocations never wait', () => {
  it('with the server UnsupportedChange (Ready=False), narrowing privileges takes INSERT away', async () => {
    const key = role('writer', 'writer_app');
    await h.until('PostgresRole', key, isReady('PostgresRole', 'writer'), 'Ready');
    const a = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri.replace('/postgres?', '/shop?'), h.emu.caCertPem);
    await a.query('CREATE TABLE entries (id int)');
    await a.end();
    await h.reconcile('PostgresRole', key);
    const before_ = await connectAs('writer-pg');
    await before_.query('INSERT INTO entries VALUES (1)');
    await before_.end();

    h.kube.updateSpec('PostgresServer', k('server'), (s: any) => ({ ...s, location: 'westus' }));
    try {
      await h.reconcile('PostgresServer', k('server'));
      assert.equal(h.ready('PostgresServer', k('server'))?.reason, 'UnsupportedChange');
      h.kube.updateSpec('PostgresRole', key, (s: any) => ({ ...s, privileges: ['SELECT'] }));
      await h.reconcile('PostgresRole', key);
      assert.equal(h.ready('PostgresRole', key)?.status, 'True', JSON.stringify(h.ready('PostgresRole', key)));
      const after_ = await connectAs('writer-pg');
      try {
        await expectPgError(after_.query('INSERT INTO entries VALUES (2)'), '42501', 'INSERT revoked while the server is not Ready');
        assert.equal((await after_.query('SELECT count(*)::int AS n FROM entries')).rows[0].n, 1);
      } finally {
        await after_.end();
      }
    } finally {
      h.kube.updateSpec('PostgresServer', k('server'), (s: any) => ({ ...s, location: 'eastus' }));
      await h.until('PostgresServer', k('server'), isReady('PostgresServer', 'server'), 'server Ready again');
    }
  });
});

describe('what a role can reach', () => {
  it('its database; Azure\'s postgres, template1 and azure_sys through PUBLIC, as documented; nothing else', async () => {
    const key = role('reach', 'reach_app', { privileges: ['SELECT'] });
    await h.until('PostgresRole', key, isReady('PostgresRole', 'reach'), 'Ready');
    const iso = h.kube.condition('PostgresRole', key, ISOLATED)!;
    assert.deepEqual([iso.status, iso.reason], ['False', 'PublicDatabases']);
    assert.match(iso.message, /can also connect to azure_sys, postgres, template1: PUBLIC has CONNECT there/);
    assert.equal(h.kube.get<AnyObject>('PostgresRole', key)!.metadata.annotations?.[SERVER_ANNOTATION],
      `/subscriptions/${h.emu.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${SRV}`);

    const a = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri.replace('/postgres?', '/shop?'), h.emu.caCertPem);
    await a.query('CREATE SCHEMA IF NOT EXISTS private');
    await a.query('CREATE TABLE IF NOT EXISTS private.salaries (amount int)');
    await a.end();

    // Databases: its own; not another app's, not azure_maintenance, not template0.
    const own = await connectAs('reach-pg');
    await expectPgError(connectAs('reach-pg', 'blog'), '42501', 'another PostgresDatabase');
    await expectPgError(connectAs('reach-pg', 'azure_maintenance'), '42501', 'azure_maintenance');
    await expectPgError(connectAs('reach-pg', 'template0'), '55000', 'template0');
    try {
      // In its own database: schema public as granted; other schemas not, though their names show in the catalogs.
      await expectPgError(own.query('SELECT * FROM private.salaries'), '42501', 'another schema');
      assert.equal((await own.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'private'")).rows[0].n, 1);
      await expectPgError(own.query('CREATE TEMP TABLE t (x int)'), '42501', 'TEMPORARY only when granted');
      // Catalogs: names of every role and database; no password hashes, no other session's query text.
      assert.ok((await own.query('SELECT count(*)::int AS n FROM pg_roles')).rows[0].n > 3);
      assert.ok((await own.query("SELECT count(*)::int AS n FROM pg_database WHERE datname = 'blog'")).rows[0].n === 1);
      await expectPgError(own.query('SELECT * FROM pg_authid'), '42501', 'pg_authid');
      const others = await own.query("SELECT DISTINCT query, client_addr FROM pg_stat_activity WHERE usename = 'pgadmin'");
      assert.ok(others.rows.length > 0 && others.rows.every((r) => r.query === '<insufficient privilege>' && r.client_addr === null), JSON.stringify(others.rows));
      // Settings, but not those kept for pg_read_all_settings; no files.
      assert.ok((await own.query('SELECT count(*)::int AS n FROM pg_settings')).rows[0].n > 100);
      await expectPgError(own.query('SHOW data_directory'), '42501', 'data_directory');
      await expectPgError(own.query("SELECT pg_read_file('postgresql.conf')"), '42501', 'files');
      // On the server: LOGIN, nothing else, a member of no role.
      const attrs = await admin.query(`SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin,
        (SELECT count(*)::int FROM pg_auth_members m WHERE m.member = r.oid) AS memberships FROM pg_roles r WHERE rolname = 'reach_app'`);
      assert.deepEqual(attrs.rows[0], {
        rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false, rolcanlogin: true, memberships: 0,
      });
    } finally {
      await own.end();
    }
    // Azure's databases, through PUBLIC: connect; temporary tables in postgres and azure_sys; nothing created.
    for (const db of ['postgres', 'azure_sys', 'template1']) {
      const c = await connectAs('reach-pg', db);
      try {
        await expectPgError(c.query('CREATE TABLE public.mine (x int)'), '42501', `CREATE in ${db}`);
        await expectPgError(c.query('CREATE SCHEMA mine'), '42501', `CREATE SCHEMA in ${db}`);
        if (db === 'template1') await expectPgError(c.query('CREATE TEMP TABLE t (x int)'), '42501', 'TEMPORARY in template1');
        else await c.query('CREATE TEMP TABLE t (x int)');
      } finally {
        await c.end();
      }
    }
  });
});

describe('a delete is done only when it is done', () => {
  it('a role deleted while its server is stopped keeps its finalizer until it is dropped; then the old password is refused', async () => {
    const key = role('sleeper', 'sleeper_app');
    await h.until('PostgresRole', key, isReady('PostgresRole', 'sleeper'), 'Ready');
    const uri = h.kube.secretData(NS, 'sleeper-pg')!.uri;
    await admin.end();
    h.kube.updateSpec<any>('PostgresServer', k('server'), (spec) => {
      spec.stopped = true;
    });
    await h.until('PostgresServer', k('server'), () => h.ready('PostgresServer', k('server'))?.reason === 'Stopped', 'server Stopped');
    assert.equal((await arm.getServer(RG, SRV))?.state, 'Stopped');

    h.kube.delete('PostgresRole', key);
    try {
      for (let i = 0; i < 3; i++) {
        const result = await h.controllers.PostgresRole.reconcile(key);
        assert.equal(result.failure, 'transient');
      }
      assert.ok(h.kube.exists('PostgresRole', key), 'not reported deleted');
      assert.deepEqual(h.kube.get<AnyObject>('PostgresRole', key)!.metadata.finalizers, ['cdk8s-azure.dev/finalizer']);
      const c = h.ready('PostgresRole', key)!;
      assert.deepEqual([c.status, c.reason], ['False', 'PostgresUnreachable']);
      assert.match(c.message, /role sleeper_app is not dropped yet: .*The finalizer stays until the server can be reached, or is gone from Azure/);
      assert.ok(!h.kube.events.some((e) => e.name === 'sleeper' && e.reason === 'Deleted'));
      assert.ok(h.kube.secretData(NS, 'sleeper-pg'), 'the Secret stays while the role may exist');
    } finally {
      h.kube.updateSpec<any>('PostgresServer', k('server'), (spec) => {
        spec.stopped = false;
      });
      await h.until('PostgresServer', k('server'), () => isReady('PostgresServer', 'server')() && h.ready('PostgresServer', k('server'))?.reason !== 'Stopped', 'server started');
      admin = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri, h.emu.caCertPem);
    }
    await h.until('PostgresRole', key, () => !h.kube.exists('PostgresRole', key), 'dropped');
    assert.equal(await roleCount('sleeper_app'), 0);
    await expectPgError(loginWith(uri), '28P01', 'the deleted role\'s password');
    assert.ok(h.kube.events.some((e) => e.name === 'sleeper' && e.reason === 'Deleted' && /dropped role sleeper_app/.test(e.message)));
  });

  it('a role that never reached a server is done on delete even when its Secret name is a foreign Secret, which is left as it was', async () => {
    h.kube.putForeignSecret(NS, 'someone-elses', { password: 'not ours' });
    const key = role('stray', 'stray_app', { writeConnectionSecretToRef: { name: 'someone-elses' } }, undefined, 'no-such-server');
    await h.reconcile('PostgresRole', key);
    assert.equal(h.ready('PostgresRole', key)?.reason, 'WaitingForServer');
    h.kube.delete('PostgresRole', key);
    await h.until('PostgresRole', key, () => !h.kube.exists('PostgresRole', key), 'deleted');
    assert.ok(h.kube.events.some((e) => e.name === 'stray' && e.reason === 'Deleted' && /never set up on a server/.test(e.message)));
    assert.deepEqual(h.kube.secretData(NS, 'someone-elses'), { password: 'not ours' });
  });

  it('the PostgresServer being deleted is not proof; the server gone from Azure is', async () => {
    await server('doomed', 'srv-doomed');
    await database('doomed-db', 'doomed_db', 'doomed');
    const key = role('doomed-role', 'doomed_app', {}, undefined, 'doomed', 'doomed-db');
    await h.until('PostgresRole', key, isReady('PostgresRole', 'doomed-role'), 'Ready');
    // The server resource goes first (its role is not deleted yet) ...
    h.kube.delete('PostgresDatabase', k('doomed-db'));
    h.kube.delete('PostgresServer', k('doomed'));
    await h.until('PostgresServer', k('doomed'), () => !h.kube.exists('PostgresServer', k('doomed')), 'server gone');
    assert.equal(await arm.getServer(RG, 'srv-doomed'), undefined);
    // ... then the role: no PostgresServer, no credentials; Azure says the server is gone, so the role went with it.
    h.kube.delete('PostgresRole', key);
    await h.reconcile('PostgresRole', key);
    assert.ok(!h.kube.exists('PostgresRole', key));
    assert.ok(h.kube.events.some((e) => e.name === 'doomed-role' && e.reason === 'Deleted' && /srv-doomed is gone from Azure/.test(e.message)));
  });
});

describe('Retain keeps credentials', () => {
  it('a role retained by its own policy or its server\'s keeps its Secret, which still connects', async () => {
    await server('keeper', 'srv-keeper', { deletionPolicy: 'Retain' });
    await database('keeper-db', 'keeper_db', 'keeper');
    const own = role('kept-own', 'kept_own', { deletionPolicy: 'Retain' });
    const inherited = role('kept-inherited', 'kept_inherited', {}, undefined, 'keeper', 'keeper-db');
    const late = role('kept-late', 'kept_late', {}, undefined, 'keeper', 'keeper-db');
    const explicit = role('dropped-explicit', 'dropped_explicit', { deletionPolicy: 'Delete' }, undefined, 'keeper', 'keeper-db');
    for (const key of [own, inherited, late, explicit]) await h.until('PostgresRole', key, isReady('PostgresRole', key.name), `${key.name} Ready`);

    for (const key of [own, inherited]) {
      const uri = h.kube.secretData(NS, `${key.name}-pg`)!.uri;
      h.kube.delete('PostgresRole', key);
      await h.reconcile('PostgresRole', key);
      assert.ok(!h.kube.exists('PostgresRole', key), `${key.name} deleted`);
      assert.deepEqual(h.kube.secretOwners(NS, `${key.name}-pg`), [], 'released, so garbage collection keeps it');
      assert.equal(h.kube.secretData(NS, `${key.name}-pg`)!.uri, uri);
      await loginWith(uri);
      assert.ok(h.kube.events.some((e) => e.name === key.name && e.reason === 'Retained' && /Secret kept-.*-pg is kept/.test(e.message)));
    }
    assert.ok(h.kube.events.some((e) => e.name === 'kept-inherited' && /PostgresServer keeper's/.test(e.message)));

    // The server resource goes first, retained: the server stays in Azure.
    h.kube.delete('PostgresServer', k('keeper'));
    await h.until('PostgresServer', k('keeper'), () => !h.kube.exists('PostgresServer', k('keeper')), 'server resource gone');
    assert.ok(await arm.getServer(RG, 'srv-keeper'));
    // A role that inherits: retained, its Secret kept.
    const lateUri = h.kube.secretData(NS, 'kept-late-pg')!.uri;
    h.kube.delete('PostgresRole', late);
    await h.reconcile('PostgresRole', late);
    assert.ok(!h.kube.exists('PostgresRole', late));
    assert.deepEqual(h.kube.secretOwners(NS, 'kept-late-pg'), []);
    await loginWith(lateUri);
    // A role that says Delete: not reported deleted, since without the administrator it cannot be dropped.
    h.kube.delete('PostgresRole', explicit);
    const result = await h.controllers.PostgresRole.reconcile(explicit);
    assert.equal(result.failure, 'userError');
    assert.ok(h.kube.exists('PostgresRole', explicit));
    assert.match(h.ready('PostgresRole', explicit)!.message, /role dropped_explicit is not dropped yet \(deletionPolicy Delete\)/);
    await h.kube.removeFinalizer(h.kube.get<AnyObject>('PostgresRole', explicit)!, 'cdk8s-azure.dev/finalizer');
  });
});

describe('a firewall that does not admit the reconciler', () => {
  it('database and role say PostgresUnreachable with PostgreSQL\'s refusal; a rule for the reconciler\'s address wakes them, and they become Ready', async () => {
    await h.emu.admin.setFirewallEnforcement(true);
    try {
      // Azure's management path is not behind the firewall: the server and the database are created.
      await server('fenced', 'srv-fenced');
      const db = h.kube.create('PostgresDatabase', NS, 'fenced-db', { serverRef: { name: 'fenced' }, azureName: 'fenced_db' });
      await h.until('PostgresDatabase', db, () => h.ready('PostgresDatabase', db)?.reason === 'PostgresUnreachable', 'the database refused');
      const refusal = /no pg_hba\.conf entry for host "127\.0\.0\.1", user "[^"]+", database "(fenced_db|postgres)", SSL encryption/;
      assert.match(h.ready('PostgresDatabase', db)!.message, refusal);
      assert.match(h.ready('PostgresDatabase', db)!.message, /do not admit 127\.0\.0\.1, the address the reconciler connects from: add a PostgresFirewallRule/);
      const key = role('fenced-app', 'fenced_app', {}, undefined, 'fenced', 'fenced-db');
      const result = await h.controllers.PostgresRole.reconcile(key);
      assert.deepEqual([result.failure, h.ready('PostgresRole', key)?.reason], ['userError', 'PostgresUnreachable']);
      assert.match(h.ready('PostgresRole', key)!.message, refusal);

      const rule = h.kube.create('PostgresFirewallRule', NS, 'fenced-reconciler', {
        serverRef: { name: 'fenced' }, azureName: 'reconciler', startIpAddress: '127.0.0.1', endIpAddress: '127.0.0.1',
      });
      // A change of the rule (created, Ready) enqueues what connects to its server, and nothing on other servers.
      for (const [kind, name] of [['PostgresRole', 'fenced-app'], ['PostgresDatabase', 'fenced-db']] as const) {
        const dependency = h.controllers[kind].dependsOn?.find((d) => d.kind === 'PostgresFirewallRule');
        assert.deepEqual(dependency?.mapToKeys(h.kube.get<AnyObject>('PostgresFirewallRule', rule)!), [k(name)], kind);
      }
      await h.until('PostgresFirewallRule', rule, isReady('PostgresFirewallRule', 'fenced-reconciler'), 'rule Ready');
      await h.until('PostgresDatabase', db, isReady('PostgresDatabase', 'fenced-db'), 'database Ready once admitted');
      await h.until('PostgresRole', key, isReady('PostgresRole', 'fenced-app'), 'role Ready once admitted');
      (await connectAs('fenced-app-pg')).end();
    } finally {
      await h.emu.admin.setFirewallEnforcement(false);
    }
  });
});

describe('PostgreSQL errors', () => {
  it('connection errors are transient; a refused login, permissions and conflicts are the user\'s', () => {
    const cases: Array<[unknown, string, string]> = [
      [Object.assign(new Error('connect ECONNREFUSED 127.0.10.1:5432'), { code: 'ECONNREFUSED' }), 'transient', 'PostgresUnreachable'],
      [Object.assign(new Error('connection failure'), { code: '08006' }), 'transient', 'PostgresUnreachable'],
      [Object.assign(new Error('the database system is starting up'), { code: '57P03' }), 'transient', 'PostgresUnreachable'],
      [Object.assign(new Error('sorry, too many clients already'), { code: '53300' }), 'transient', 'PostgresError'],
      [Object.assign(new Error('password authentication failed for user "pgadmin"'), { code: '28P01' }), 'userError', 'PostgresUnreachable'],
      [Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'userError', 'PostgresUnreachable'],
      [Object.assign(new Error('permission denied for database shop'), { code: '42501' }), 'userError', 'PostgresError'],
      [Object.assign(new Error('role "x" cannot be dropped because some objects depend on it'), { code: '2BP01' }), 'userError', 'PostgresError'],
      [new RoleConflictError('Conflict', 'role x is managed by PostgresRole a/b'), 'userError', 'Conflict'],
    ];
    for (const [error, failure, reason] of cases) {
      const f = postgresFailure(error, 'setting up role x');
      assert.deepEqual([f.failure, f.reason], [failure, reason], String(error));
    }
  });

  it('a database the administrator does not own: the role is never Ready, a user error that says why', async () => {
    await admin.query("CREATE ROLE squatter LOGIN CREATEDB PASSWORD 'Squ4tter-passw0rd!'");
    const squatterUri = h.kube.secretData(NS, 'server-admin')!.uri.replace(/\/\/[^@]+@/, '//squatter:Squ4tter-passw0rd%21@');
    const squatter = await connectWithUri(squatterUri, h.emu.caCertPem);
    await squatter.query('CREATE DATABASE squat_db');
    await squatter.end();
    const db = h.kube.create('PostgresDatabase', NS, 'squat', { serverRef: { name: 'server' }, azureName: 'squat_db' });
    await h.until('PostgresDatabase', db, () => !!h.kube.get<AnyObject & { status?: { azureResourceId?: string } }>('PostgresDatabase', db)?.status?.azureResourceId, 'in Azure');
    const key = role('squat-app', 'squat_app', {}, undefined, 'server', 'squat');
    const result = await h.controllers.PostgresRole.reconcile(key);
    assert.equal(result.failure, 'userError');
    const c = h.ready('PostgresRole', key)!;
    assert.deepEqual([c.status, c.reason], ['False', 'PostgresError']);
    assert.match(c.message, /42501: the administrator may not (revoke|grant) CONNECT on database squat_db.*belongs to squatter/);
    const d = h.ready('PostgresDatabase', db)!;
    assert.equal(d.status, 'False', 'nor is the database reported closed to PUBLIC');
  });
});
