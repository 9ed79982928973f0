/**
 * Read replicas and point-in-time restore, real in PostgreSQL: a row written on the primary is read on its streaming
 * replica; a row deleted on a server is back on a restore of it to a time before the delete. One source server for
 * both, to keep the suite short.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { admitTestClient, expectError, PASSWORD, pgClient, query, rmClient, smallServer } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

describe('read replicas and point-in-time restore', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  let primaryHost: string;
  let primaryId: string;
  const rg = 'rg-day2-emu';

  const sql = (host: string, text: string) => query(emu, host, 'appadmin', PASSWORD, text, 'app');

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 50 });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
    const primary = await pg.servers.beginCreateOrUpdateAndWait(rg, 'day2-primary', smallServer());
    primaryHost = primary.fullyQualifiedDomainName!;
    primaryId = primary.id!;
    await admitTestClient(pg, rg, 'day2-primary');
    await pg.databases.beginCreateAndWait(rg, 'day2-primary', 'app', { charset: 'UTF8', collation: 'en_US.utf8' });
    await sql(primaryHost, 'CREATE TABLE orders (id int PRIMARY KEY, item text)');
  });
  after(async () => {
    await emu?.stop();
  });

  test('a replica (createMode Replica) streams from its primary: the primary\'s row is read there, and the replica refuses writes', async () => {
    const replica = await pg.servers.beginCreateOrUpdateAndWait(rg, 'day2-replica', { location: 'westus2', createMode: 'Replica', sourceServerResourceId: primaryId });
    assert.equal(replica.state, 'Ready');
    assert.equal(replica.replicationRole, 'AsyncReplica');
    await admitTestClient(pg, rg, 'day2-replica');
    assert.equal(replica.replica?.role, 'AsyncReplica');
    assert.equal(replica.sourceServerResourceId, primaryId);
    assert.equal(replica.administratorLogin, 'appadmin');
    assert.equal(replica.location, 'West US 2');
    await sql(primaryHost, "INSERT INTO orders VALUES (1, 'written on the primary')");
    let rows: any[] = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      rows = await sql(replica.fullyQualifiedDomainName!, 'SELECT item FROM orders WHERE id = 1');
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(rows, [{ item: 'written on the primary' }]);
    await assert.rejects(sql(replica.fullyQualifiedDomainName!, "INSERT INTO orders VALUES (2, 'x')"), /read-only transaction/);
  });

  test('promoting the replica (replica.promoteMode standalone) makes it a read-write server of its own', async () => {
    const promoted = await pg.servers.beginUpdateAndWait(rg, 'day2-replica', { replica: { promoteMode: 'standalone', promoteOption: 'planned' } });
    assert.equal(promoted.replicationRole, 'Primary');
    assert.equal(promoted.sourceServerResourceId, undefined);
    await sql(promoted.fullyQualifiedDomainName!, "INSERT INTO orders VALUES (2, 'written on the promoted replica')");
    assert.deepEqual(await sql(primaryHost, 'SELECT count(*)::int AS n FROM orders'), [{ n: 1 }], 'the primary does not see it');
    await pg.servers.beginDeleteAndWait(rg, 'day2-replica');
  });

  test('a restore (createMode PointInTimeRestore) to a time before a delete has the deleted row back', async () => {
    await sql(primaryHost, "INSERT INTO orders VALUES (3, 'deleted by a bad migration')");
    await new Promise((r) => setTimeout(r, 1100));
    const beforeDelete = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    await sql(primaryHost, 'DELETE FROM orders WHERE id = 3');
    assert.deepEqual(await sql(primaryHost, 'SELECT item FROM orders WHERE id = 3'), []);
    const restored = await pg.servers.beginCreateOrUpdateAndWait(rg, 'day2-restored', {
      location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: primaryId, pointInTimeUTC: new Date(beforeDelete),
    });
    assert.equal(restored.state, 'Ready');
    assert.equal(restored.sourceServerResourceId, primaryId);
    await admitTestClient(pg, rg, 'day2-restored');
    assert.deepEqual(await sql(restored.fullyQualifiedDomainName!, 'SELECT item FROM orders WHERE id = 3'), [{ item: 'deleted by a bad migration' }]);
    await sql(restored.fullyQualifiedDomainName!, "INSERT INTO orders VALUES (4, 'the restore takes writes')");
    assert.deepEqual(await sql(primaryHost, 'SELECT item FROM orders WHERE id = 3'), [], 'the source is unchanged');
  });

  test('a restore outside the source\'s backups, or of a server that does not exist, is refused', async () => {
    await expectError(() => pg.servers.beginCreateOrUpdate(rg, 'day2-too-early', {
      location: 'eastus', createMode: 'PointInTimeRestore', sourceServerResourceId: primaryId, pointInTimeUTC: new Date(Date.now() - 86400_000),
    }), 400, 'InvalidParameterValue', /outside the restore window/);
    await expectError(() => pg.servers.beginCreateOrUpdate(rg, 'day2-orphan', {
      location: 'eastus', createMode: 'Replica', sourceServerResourceId: primaryId.replace('day2-primary', 'day2-missing'),
    }), 404, 'ResourceNotFound', /was not found/);
  });
});
