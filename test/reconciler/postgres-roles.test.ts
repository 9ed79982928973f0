/**
 * The PostgreSQL module against a real PostgreSQL 15 behind the ARM emulator (admin not a superuser, as on Azure).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import type { Client } from 'pg';
import { credentialFor } from './helpers/harness';
import { createArmClients, PostgresArm } from '../../src/reconciler/azure';
import {
  applyGrants, closeToPublic, connect, dropRole, ensureRole, lockDownDatabase, lockDownDatabaseSerialized, ownerMarker, parseOwnerMarker,
  planPrivileges, reachableDatabases, RoleConflictError, scramSha256Verifier, withClient, type PgTarget,
} from '../../src/reconciler/postgres';
import { admitTestClient } from '../emulator/helpers';
import { startEmulator, trustEmulatorCa, type Emulator } from '../emulator/index';

const ADMIN_PW = 'Adm1n-Passw0rd!x';
let emu: Emulator;
let host: string;
let admin: PgTarget;

before(async () => {
  emu = await startEmulator({ provisioningDelayMs: 100 });
  const roots = tls.getCACertificates('default');
  trustEmulatorCa(emu);
  const arm = new PostgresArm(createArmClients({ subscriptionId: emu.subscriptionId, endpoint: emu.armEndpoint, scope: `${emu.armEndpoint}/.default`, credential: credentialFor(emu) }));
  await arm.createResourceGroup('rg-pg', 'eastus', {});
  const s = await arm.clients.postgres.servers.beginCreateOrUpdateAndWait('rg-pg', 'pg-module', {
    location: 'eastus',
    administratorLogin: 'pgadmin',
    administratorLoginPassword: ADMIN_PW,
    version: '15',
    sku: { name: 'Standard_B1ms', tier: 'Burstable' },
    storage: { storageSizeGB: 32 },
  });
  await arm.clients.postgres.databases.beginCreateAndWait('rg-pg', 'pg-module', 'app', { charset: 'UTF8', collation: 'en_US.utf8' });
  // The firewall admits the test's (and the reconciler module's) address, as a user's rule would.
  await admitTestClient(arm.clients.postgres, 'rg-pg', 'pg-module');
  host = s.fullyQualifiedDomainName!;
  admin = { host, user: 'pgadmin', password: ADMIN_PW, database: 'app', ca: emu.caCertPem };
  // From here on the process trusts only Node's roots again: PostgreSQL TLS is verified against `ca` alone.
  tls.setDefaultCACertificates(roots);
});
after(async () => {
  await emu?.stop();
});

async function loginAs(user: string, password: string, database = 'app'): Promise<Client> {
  return connect({ host, user, password, database, ca: emu.caCertPem });
}

describe('connect', () => {
  it('verifies the server certificate against the given CA (Node roots do not know the emulator CA)', async () => {
    await withClient({ ...admin, database: 'postgres' }, async (c) => {
      const r = await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      assert.equal(r.rows[0].ssl, true);
    });
    await assert.rejects(connect({ ...admin, ca: undefined }), /self[- ]signed|unable to verify|certificate/i, 'Node roots do not know the emulator CA');
    await assert.rejects(connect({ ...admin, password: 'wrong' }), (e: any) => e.code === '28P01');
  });
});

describe('roles', () => {
  it('SCRAM verifier: the role logs in with the password, never sent in clear; wrong passwords fail', async () => {
    const pw = 'Cl3ar-never:sent@all/"\'\\';
    await withClient(admin, (c) => ensureRole(c, { roleName: 'scram_app', password: pw, connectionLimit: 3, owner: { uid: 'u1' } }));
    const c = await loginAs('scram_app', pw, 'postgres');
    await c.end();
    await assert.rejects(loginAs('scram_app', `${pw}x`, 'postgres'), (e: any) => e.code === '28P01');
    await withClient(admin, async (a) => {
      const r = await a.query("SELECT rolconnlimit, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = 'scram_app'");
      assert.deepEqual(r.rows[0], { rolconnlimit: 3, comment: ownerMarker({ uid: 'u1' }) });
    });
    assert.match(scramSha256Verifier('x'), /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    assert.notEqual(scramSha256Verifier('x'), scramSha256Verifier('x'), 'salted');
  });

  it('alters an existing role of ours; refuses a role that is not ours unless adopting', async () => {
    await withClient(admin, async (c) => {
      assert.deepEqual(await ensureRole(c, { roleName: 'scram_app', password: 'N3w-passw0rd!', connectionLimit: -1, owner: { uid: 'u1' } }), { created: false, adopted: false });
      await assert.rejects(ensureRole(c, { roleName: 'scram_app', password: 'x', connectionLimit: -1, owner: { uid: 'u2' } }), RoleConflictError);
      await c.query("CREATE ROLE foreign_app LOGIN PASSWORD 'F0reign-pw!'");
      await assert.rejects(ensureRole(c, { roleName: 'foreign_app', password: 'x', connectionLimit: -1, owner: { uid: 'u3' } }), RoleConflictError);
      assert.deepEqual(await ensureRole(c, { roleName: 'foreign_app', password: 'Ad0pted-pw!', connectionLimit: -1, owner: { uid: 'u3' }, adopt: true }), { created: false, adopted: true });
    });
    (await loginAs('scram_app', 'N3w-passw0rd!', 'postgres')).end();
    (await loginAs('foreign_app', 'Ad0pted-pw!', 'postgres')).end();
  });

  it('identifiers are quoted: a role name with quotes and spaces works and injects nothing', async () => {
    const name = 'odd "name"; DROP ROLE pgadmin; --';
    await withClient(admin, async (c) => {
      await ensureRole(c, { roleName: name, password: 'Odd-passw0rd!', connectionLimit: -1, owner: { uid: 'odd' } });
      await applyGrants(c, { roleName: name, database: 'app', privileges: ['SELECT'] });
      assert.equal((await c.query("SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'pgadmin'")).rows[0].n, 1);
      assert.equal(await dropRole(c, name, 'odd'), 'dropped');
    });
  });

  it('grants exactly the plan, and change of plan revokes the rest', async () => {
    await withClient(admin, async (c) => {
      await c.query('CREATE TABLE IF NOT EXISTS t1 (id serial PRIMARY KEY, v text)');
      await ensureRole(c, { roleName: 'exact_app', password: 'Ex4ct-passw0rd!', connectionLimit: -1, owner: { uid: 'ex' } });
      await applyGrants(c, { roleName: 'exact_app', database: 'app', privileges: ['ALL'] });
      const all = await c.query(`SELECT has_database_privilege('exact_app','app','CONNECT') AS conn, has_database_privilege('exact_app','app','TEMPORARY') AS temp,
        has_schema_privilege('exact_app','public','CREATE') AS create, has_table_privilege('exact_app','t1','INSERT,DELETE,TRUNCATE,REFERENCES,TRIGGER') AS t,
        has_sequence_privilege('exact_app','t1_id_seq','USAGE') AS seq, has_database_privilege('public','app','CONNECT') AS public_conn`);
      assert.deepEqual(all.rows[0], { conn: true, temp: true, create: true, t: true, seq: true, public_conn: false });
      await applyGrants(c, { roleName: 'exact_app', database: 'app', privileges: ['SELECT', 'INSERT'] });
      const narrow = await c.query(`SELECT has_database_privilege('exact_app','app','TEMPORARY') AS temp, has_schema_privilege('exact_app','public','CREATE') AS create,
        has_table_privilege('exact_app','t1','SELECT') AS sel, has_table_privilege('exact_app','t1','INSERT') AS ins, has_table_privilege('exact_app','t1','DELETE') AS del,
        has_sequence_privilege('exact_app','t1_id_seq','USAGE') AS seq_usage, has_sequence_privilege('exact_app','t1_id_seq','UPDATE') AS seq_update`);
      assert.deepEqual(narrow.rows[0], { temp: false, create: false, sel: true, ins: true, del: false, seq_usage: true, seq_update: false });
      // Idempotent: again, same result, no error.
      await applyGrants(c, { roleName: 'exact_app', database: 'app', privileges: ['SELECT', 'INSERT'] });
      // Default privileges hold for the administrator's future tables.
      await c.query('CREATE TABLE t2 (x int)');
      const fut = await c.query("SELECT has_table_privilege('exact_app','t2','SELECT') AS sel, has_table_privilege('exact_app','t2','UPDATE') AS upd");
      assert.deepEqual(fut.rows[0], { sel: true, upd: false });
      // Nothing on the postgres database beyond what PUBLIC has.
      const pgdb = await c.query("SELECT has_database_privilege('exact_app','postgres','CREATE') AS c");
      assert.equal(pgdb.rows[0].c, false);
      await lockDownDatabase(c, 'app');
    });
  });

  it('drop: refuses roles that are not ours; reassigns what the role owns', async () => {
    await withClient(admin, async (c) => {
      assert.equal(await dropRole(c, 'foreign_never_marked', 'x'), 'absent');
      await c.query("CREATE ROLE not_ours LOGIN PASSWORD 'N0t-ours-pw!'");
      assert.equal(await dropRole(c, 'not_ours', 'x'), 'notOwned');
      await ensureRole(c, { roleName: 'owner_app', password: '0wner-passw0rd!', connectionLimit: -1, owner: { uid: 'ow' } });
      await applyGrants(c, { roleName: 'owner_app', database: 'app', privileges: ['ALL'] });
    });
    const o = await loginAs('owner_app', '0wner-passw0rd!');
    await o.query('CREATE TABLE owned_by_app (x int)');
    await o.query('INSERT INTO owned_by_app VALUES (7)');
    await o.end();
    await withClient(admin, async (c) => {
      assert.equal(await dropRole(c, 'owner_app', 'ow'), 'dropped');
      const r = await c.query("SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = 'owned_by_app'");
      assert.equal(r.rows[0].owner, 'pgadmin');
      assert.equal((await c.query('SELECT x FROM owned_by_app')).rows[0].x, 7);
    });
  });
});

describe('no takeover', () => {
  const reasonOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof RoleConflictError, String(e));
      return `${e.reason}: ${e.message}`;
    }
    return 'allowed';
  };
  const pwOf = async (user: string, password: string) => (await loginAs(user, password, 'postgres')).end();

  it('the marker names the PostgresRole; the earlier uid-only marker still reads', () => {
    const owner = { uid: '3f1c', namespace: 'shop', name: 'app', cluster: 'c-1' };
    assert.equal(ownerMarker(owner), 'managed by cdk8s-azure.dev PostgresRole shop/app uid=3f1c cluster=c-1');
    assert.deepEqual(parseOwnerMarker(ownerMarker(owner)), owner);
    assert.deepEqual(parseOwnerMarker('managed by cdk8s-azure.dev PostgresRole uid=u1'), { uid: 'u1' });
    assert.equal(parseOwnerMarker('a comment someone wrote'), undefined);
  });

  it('never the administrator, never a live owner\'s role, never a role with rights: even with adopt, and nothing changes', async () => {
    await withClient(admin, async (c) => {
      await ensureRole(c, { roleName: 'victim_app', password: 'V1ctim-passw0rd!', connectionLimit: 5, owner: { uid: 'victim', namespace: 'a', name: 'victim' } });
      await c.query('CREATE ROLE power_app LOGIN CREATEDB PASSWORD \'P0wer-passw0rd!\'');
      await c.query('CREATE ROLE member_app LOGIN PASSWORD \'M3mber-passw0rd!\'');
      await c.query('GRANT pgadmin TO member_app');
      await c.query('CREATE ROLE plain_app LOGIN PASSWORD \'Pl4in-passw0rd!\'');
      const attacker = { uid: 'attacker', namespace: 'b', name: 'attacker' };
      const claim = { owner: attacker, adopt: true, mayAdopt: true, liveOwner: () => 'PostgresRole a/victim' };
      const attempt = (roleName: string) => ensureRole(c, { ...claim, roleName, password: 'Att4cker-passw0rd!', connectionLimit: -1 });
      assert.match(await reasonOf(attempt('pgadmin')), /^Conflict: role pgadmin is the server administrator/);
      assert.match(await reasonOf(attempt('victim_app')), /^Conflict: role victim_app is managed by PostgresRole a\/victim/);
      assert.match(await reasonOf(attempt('power_app')), /^Conflict: .*rights beyond an app role \(CREATEDB\)/);
      assert.match(await reasonOf(attempt('member_app')), /^Conflict: .*rights beyond an app role \(member of pgadmin\)/);
      assert.match(await reasonOf(ensureRole(c, { ...claim, mayAdopt: false, roleName: 'plain_app', password: 'x', connectionLimit: -1 })), /^AdoptionRefused: /);
      assert.match(await reasonOf(ensureRole(c, { ...claim, adopt: false, roleName: 'plain_app', password: 'x', connectionLimit: -1 })), /^AlreadyExists: .*cdk8s-azure\.dev\/adopt/);
      // Untouched: passwords, attributes, markers.
      const rows = await c.query(`SELECT rolname, rolcreaterole, rolcreatedb, rolconnlimit, shobj_description(oid, 'pg_authid') AS comment FROM pg_roles
        WHERE rolname IN ('pgadmin', 'victim_app', 'power_app') ORDER BY 1`);
      assert.deepEqual(rows.rows, [
        { rolname: 'pgadmin', rolcreaterole: true, rolcreatedb: true, rolconnlimit: -1, comment: null },
        { rolname: 'power_app', rolcreaterole: false, rolcreatedb: true, rolconnlimit: -1, comment: null },
        { rolname: 'victim_app', rolcreaterole: false, rolcreatedb: false, rolconnlimit: 5, comment: ownerMarker({ uid: 'victim', namespace: 'a', name: 'victim' }) },
      ]);
      // A role whose PostgresRole is gone (deleted with Retain) may be adopted.
      const orphan = await ensureRole(c, { ...claim, liveOwner: () => undefined, roleName: 'victim_app', password: 'N3w-owner-pw!', connectionLimit: -1 });
      assert.deepEqual(orphan, { created: false, adopted: true });
      assert.equal(await dropRole(c, 'victim_app', 'victim'), 'notOwned', 'the previous owner no longer drops it');
      assert.equal(await dropRole(c, 'pgadmin', 'attacker'), 'notOwned');
    });
    await pwOf('pgadmin', ADMIN_PW);
    await pwOf('power_app', 'P0wer-passw0rd!');
    await pwOf('member_app', 'M3mber-passw0rd!');
    await pwOf('victim_app', 'N3w-owner-pw!');
  });
});

describe('isolation', () => {
  it('lock-down reads back what PUBLIC keeps: outside a transaction too, and a database of someone else is refused', async () => {
    await withClient(admin, async (c) => {
      assert.deepEqual(await lockDownDatabase(c, 'app'), { schemaLocked: true });
    });
    await withClient({ ...admin, database: 'postgres' }, async (c) => {
      await assert.rejects(lockDownDatabase(c, 'postgres'), (e: any) => {
        assert.equal(e.code, '42501');
        assert.match(e.message, /may not revoke CONNECT on database postgres from PUBLIC: it belongs to azuresu/);
        return true;
      });
    });
  });

  it('a database\'s lock-down and a role\'s grants at once are serialized: never XX000 "tuple concurrently updated"', async () => {
    await withClient(admin, (c) => ensureRole(c, { roleName: 'race_app', password: 'R4ce-passw0rd!x', connectionLimit: -1, owner: { uid: 'race' } }));
    for (let round = 0; round < 15; round++) {
      await Promise.all([
        withClient(admin, (c) => lockDownDatabaseSerialized(c, 'app')),
        withClient(admin, (c) => applyGrants(c, { roleName: 'race_app', database: 'app', privileges: ['SELECT'] })),
        withClient(admin, (c) => applyGrants(c, { roleName: 'race_app', database: 'app', privileges: ['SELECT'] })),
      ]);
    }
    await withClient(admin, async (c) => {
      const r = await c.query("SELECT has_database_privilege('race_app','app','CONNECT') AS conn, has_database_privilege('public','app','CONNECT') AS public_conn");
      assert.deepEqual(r.rows[0], { conn: true, public_conn: false });
    });
  });

  it('PUBLIC\'s CONNECT is revoked where the administrator owns the database, and reported where Azure owns it', async () => {
    await withClient({ ...admin, database: 'postgres' }, async (c) => {
      await c.query('CREATE DATABASE by_hand');
      await c.query("CREATE ROLE iso_app LOGIN PASSWORD 'Is0-passw0rd!'");
      const aclBefore = await c.query("SELECT datname, datacl::text AS acl FROM pg_database WHERE datname IN ('postgres', 'template1', 'azure_sys') ORDER BY 1");
      assert.deepEqual(await reachableDatabases(c, 'iso_app'), ['azure_sys', 'by_hand', 'postgres', 'template1']);
      const access = await closeToPublic(c, ['by_hand', 'postgres', 'template1', 'azure_sys', 'azure_maintenance', 'template0']);
      assert.deepEqual(access, {
        closed: ['by_hand'],
        open: [{ database: 'postgres', owner: 'azuresu' }, { database: 'template1', owner: 'azuresu' }, { database: 'azure_sys', owner: 'azuresu' }],
      });
      assert.deepEqual(await reachableDatabases(c, 'iso_app'), ['azure_sys', 'postgres', 'template1']);
      // Nothing was sent where it could do nothing: Azure's databases are as they were.
      const after_ = await c.query("SELECT datname, datacl::text AS acl FROM pg_database WHERE datname IN ('postgres', 'template1', 'azure_sys') ORDER BY 1");
      assert.deepEqual(after_.rows, aclBefore.rows);
      assert.deepEqual(await closeToPublic(c, ['by_hand']), { closed: [], open: [] }, 'idempotent');
      await c.query('DROP DATABASE by_hand');
      await c.query('DROP ROLE iso_app');
    });
  });
});

describe('privilege plans', () => {
  it('ALL and a subset', () => {
    assert.deepEqual(planPrivileges(undefined), planPrivileges(['ALL']));
    assert.deepEqual(planPrivileges(['ALL']), { database: ['CONNECT', 'TEMPORARY'], schema: ['USAGE', 'CREATE'], tables: ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'], sequences: ['USAGE', 'SELECT', 'UPDATE'] });
    assert.deepEqual(planPrivileges(['CONNECT']), { database: ['CONNECT'], schema: ['USAGE'], tables: [], sequences: [] });
    assert.deepEqual(planPrivileges(['SELECT', 'TEMPORARY', 'CREATE']), { database: ['CONNECT', 'TEMPORARY'], schema: ['USAGE', 'CREATE'], tables: ['SELECT'], sequences: ['SELECT'] });
  });
});
