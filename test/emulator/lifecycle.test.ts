/**
 * The emulator's own lifecycle: stop() leaves no PostgreSQL behind, even in the middle of an operation; stop/start
 * of a server; several servers get their own loopback addresses.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { admitTestClient, PASSWORD, pgClient, query, raw, rmClient, serverPath, smallServer } from './helpers';
import { startEmulator, trustEmulatorCa } from './index';

function postgresProcesses(dataDir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('postgres -D') && l.includes(dataDir));
}

describe('lifecycle', () => {
  test('stop() in the middle of provisioning stops PostgreSQL and removes the data', async () => {
    const emu = await startEmulator({ provisioningDelayMs: 120_000 });
    trustEmulatorCa(emu);
    await rmClient(emu).resourceGroups.createOrUpdate('rg-life', { location: 'eastus' });
    await pgClient(emu).servers.beginCreateOrUpdate('rg-life', 'life-early', smallServer());
    const put = await raw(emu, 'PUT', `${serverPath(emu, 'rg-life', 'life-late')}?api-version=2025-08-01`, {
      location: 'eastus', sku: { name: 'Standard_B1ms', tier: 'Burstable' }, properties: { administratorLogin: 'appadmin', administratorLoginPassword: PASSWORD, storage: { storageSizeGB: 32 } },
    });
    assert.equal(put.status, 202);
    // Wait until PostgreSQL of the first server runs (provisioning then waits out the delay).
    const deadline = Date.now() + 30_000;
    while (postgresProcesses(emu.dataDir).length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(postgresProcesses(emu.dataDir).length >= 1, 'PostgreSQL started');
    const started = Date.now();
    await emu.stop();
    assert.ok(Date.now() - started < 20_000, 'stop() does not wait for the provisioning delay');
    assert.deepEqual(postgresProcesses(emu.dataDir), []);
    assert.ok(!existsSync(emu.dataDir), 'the temporary data directory is removed');
  });

  test('servers get their own addresses; stop and start a server', async () => {
    const emu = await startEmulator({ provisioningDelayMs: 100 });
    trustEmulatorCa(emu);
    try {
      const pg = pgClient(emu);
      await rmClient(emu).resourceGroups.createOrUpdate('rg-life', { location: 'eastus' });
      const [a, b] = await Promise.all([
        pg.servers.beginCreateOrUpdateAndWait('rg-life', 'life-a', smallServer()),
        pg.servers.beginCreateOrUpdateAndWait('rg-life', 'life-b', smallServer({ administratorLogin: 'otheradmin', version: '15' })),
      ]);
      assert.notEqual(a.fullyQualifiedDomainName, b.fullyQualifiedDomainName);
      await Promise.all([admitTestClient(pg, 'rg-life', 'life-a'), admitTestClient(pg, 'rg-life', 'life-b')]);
      assert.deepEqual(await query(emu, a.fullyQualifiedDomainName!, 'appadmin', PASSWORD, 'SELECT current_user AS u'), [{ u: 'appadmin' }]);
      assert.deepEqual(await query(emu, b.fullyQualifiedDomainName!, 'otheradmin', PASSWORD, 'SELECT current_user AS u'), [{ u: 'otheradmin' }]);

      await pg.servers.beginStopAndWait('rg-life', 'life-a');
      assert.equal((await pg.servers.get('rg-life', 'life-a')).state, 'Stopped');
      await assert.rejects(() => query(emu, a.fullyQualifiedDomainName!, 'appadmin', PASSWORD, 'SELECT 1'));
      const busy = await raw(emu, 'PUT', `${serverPath(emu, 'rg-life', 'life-a')}/databases/x?api-version=2025-08-01`, { properties: {} });
      assert.equal(busy.status, 409);
      assert.equal(busy.body.error.code, 'ServerStopped');
      await pg.servers.beginStartAndWait('rg-life', 'life-a');
      assert.equal((await pg.servers.get('rg-life', 'life-a')).state, 'Ready');
      assert.deepEqual(await query(emu, a.fullyQualifiedDomainName!, 'appadmin', PASSWORD, 'SELECT 1 AS one'), [{ one: 1 }]);
    } finally {
      await emu.stop();
    }
    assert.deepEqual(postgresProcesses(emu.dataDir), []);
  });
});
