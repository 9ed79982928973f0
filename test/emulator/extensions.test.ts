/**
 * Extensions as on Azure: the administrator (not a superuser) creates only what azure.extensions allow-lists, and what
 * it allow-lists really works (contrib and a packaged extension).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { admitTestClient, connect, PASSWORD, pgClient, rmClient, smallServer } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';
import { AZURE_EXTENSIONS } from '../../src/api';

describe('extensions and the azure.extensions allow-list', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  let host: string;
  const rg = 'rg-ext';
  const name = 'ext-server';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 50 });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
    host = (await pg.servers.beginCreateOrUpdateAndWait(rg, name, smallServer())).fullyQualifiedDomainName!;
    await admitTestClient(pg, rg, name);
    await pg.databases.beginCreateAndWait(rg, name, 'app', { charset: 'UTF8', collation: 'en_US.utf8' });
  });
  after(async () => {
    await emu?.stop();
  });

  test('the catalog of src/api (synth checks) is Azure\'s list of allowed values of azure.extensions', async () => {
    const allowed = (await pg.configurations.get(rg, name, 'azure.extensions')).allowedValues!.split(',');
    assert.deepEqual([...AZURE_EXTENSIONS].sort(), allowed.sort());
  });

  test('an extension not allow-listed fails with Azure\'s error, for a trusted (pg_trgm) and an untrusted one (ip4r)', async () => {
    const c = await connect(emu, host, 'appadmin', PASSWORD, 'app');
    try {
      for (const ext of ['pg_trgm', 'ip4r']) {
        await assert.rejects(c.query(`CREATE EXTENSION ${ext}`), (e: any) => {
          assert.equal(e.message, `extension "${ext}" is not allow-listed for "azure_pg_admin" users in Azure Database for PostgreSQL`);
          assert.equal(e.code, '0A000');
          assert.match(e.hint, /show azure.extensions/);
          return true;
        });
      }
      const { rows } = await c.query("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'");
      assert.deepEqual(rows, [], 'nothing is left behind');
    } finally {
      await c.end();
    }
  });

  test('a session cannot widen the allow-list with SET', async () => {
    const c = await connect(emu, host, 'appadmin', PASSWORD, 'app');
    try {
      await c.query("SET azure.extensions = 'citext'");
      await assert.rejects(c.query('CREATE EXTENSION citext'), /is not allow-listed/);
    } finally {
      await c.end();
    }
  });

  test('allow-listed, the administrator creates them and they work: pg_trgm, citext (contrib) and ip4r (packaged)', async () => {
    await pg.configurations.beginPutAndWait(rg, name, 'azure.extensions', { value: 'pg_trgm,citext,ip4r,vector', source: 'user-override' });
    const c = await connect(emu, host, 'appadmin', PASSWORD, 'app');
    try {
      assert.equal((await c.query('SHOW azure.extensions')).rows[0]['azure.extensions'], 'pg_trgm,citext,ip4r,vector');
      assert.equal((await c.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).rows[0].rolsuper, false);
      for (const ext of ['pg_trgm', 'citext', 'ip4r']) await c.query(`CREATE EXTENSION IF NOT EXISTS ${ext}`);
      assert.equal((await c.query("SELECT similarity('postgres', 'postgis') > 0.3 AS close")).rows[0].close, true);
      assert.equal((await c.query("SELECT 'Hello'::citext = 'hELLO'::citext AS same")).rows[0].same, true);
      assert.equal((await c.query("SELECT '10.1.2.3'::ip4 <<= '10.0.0.0/8'::ip4r AS inside")).rows[0].inside, true);
      // Allow-listed but not installed on this machine (Debian has no pgvector for PostgreSQL 15): PostgreSQL's own error.
      await assert.rejects(c.query('CREATE EXTENSION vector'), /extension "vector" is not available|could not open extension control file/);
      await c.query('DROP EXTENSION citext');
      assert.deepEqual((await c.query("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")).rows.map((r) => r.extname), ['ip4r', 'pg_trgm']);
    } finally {
      await c.end();
    }
  });

  test('a database created later (through ARM or SQL) has the same check', async () => {
    await pg.databases.beginCreateAndWait(rg, name, 'later', { charset: 'UTF8', collation: 'en_US.utf8' });
    const admin = await connect(emu, host, 'appadmin', PASSWORD);
    await admin.query('CREATE DATABASE bysql');
    await admin.end();
    for (const db of ['later', 'bysql']) {
      const c = await connect(emu, host, 'appadmin', PASSWORD, db);
      try {
        await assert.rejects(c.query('CREATE EXTENSION hstore'), /"hstore" is not allow-listed/);
        await c.query('CREATE EXTENSION citext');
      } finally {
        await c.end();
      }
    }
  });
});
