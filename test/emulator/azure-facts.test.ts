/**
 * Azure's facts the emulator reproduces (checked against Microsoft's documentation and the 2025-08-01 REST spec):
 * high-availability mode switches, the private DNS zone of a VNet-integrated server, versions and minors, storage
 * 4095 GiB and performance tiers, the v6 SKUs, administrator logins, the extension allow-list.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { admitTestClient, expectError, PASSWORD, pgClient, query, raw, rejection, rmClient, serverPath, smallServer } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

const GP = { sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' as const } };
const SUBNET = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pg';
const ZONE_A = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/a.private.postgres.database.azure.com';
const ZONE_B = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/dns/providers/Microsoft.Network/privateDnsZones/b.private.postgres.database.azure.com';

describe("Azure's facts", () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  const rg = 'rg-facts';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 150 });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
  });
  after(async () => {
    await emu?.stop();
  });

  test('high availability: Disabled -> X and X -> Disabled work; SameZone <-> ZoneRedundant directly is refused', async () => {
    await pg.servers.beginCreateOrUpdateAndWait(rg, 'facts-ha', smallServer({ ...GP, storage: { storageSizeGB: 128 } }));
    const same = await pg.servers.beginUpdateAndWait(rg, 'facts-ha', { highAvailability: { mode: 'SameZone' } });
    assert.deepEqual([same.highAvailability?.mode, same.highAvailability?.state], ['SameZone', 'Healthy']);
    // Documented by Microsoft ("Configure high availability"): code and message as the CLI prints them.
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-ha', { highAvailability: { mode: 'ZoneRedundant' } }), 400, 'InvalidParameterValue',
      'Invalid value given for parameter Cannot switch Properties.HighAvailability.Mode directly from SameZone to ZoneRedundant. Please disable HA and then enable HA.. Specify a valid parameter value.');
    const off = await pg.servers.beginUpdateAndWait(rg, 'facts-ha', { highAvailability: { mode: 'Disabled' } });
    assert.deepEqual([off.highAvailability?.mode, off.highAvailability?.state], ['Disabled', 'NotEnabled']);
    const zr = await pg.servers.beginUpdateAndWait(rg, 'facts-ha', { highAvailability: { mode: 'ZoneRedundant' } });
    assert.equal(zr.highAvailability?.mode, 'ZoneRedundant');
    // A full PUT is refused the same way.
    await expectError(() => pg.servers.beginCreateOrUpdate(rg, 'facts-ha', smallServer({ ...GP, storage: { storageSizeGB: 128 }, highAvailability: { mode: 'SameZone' } })),
      400, 'InvalidParameterValue', /directly from ZoneRedundant to SameZone\. Please disable HA and then enable HA\./);
    assert.equal((await pg.servers.get(rg, 'facts-ha')).highAvailability?.mode, 'ZoneRedundant');
  });

  test('Azure changes a server by itself (admin.azureChange): SameZone moved to ZoneRedundant, storage grown by autogrow', async () => {
    await pg.servers.beginUpdateAndWait(rg, 'facts-ha', { highAvailability: { mode: 'Disabled' } });
    await pg.servers.beginUpdateAndWait(rg, 'facts-ha', { highAvailability: { mode: 'SameZone' } });
    emu.admin.azureChange('facts-ha', { highAvailabilityMode: 'ZoneRedundant', storageSizeGB: 256 });
    const moved = await pg.servers.get(rg, 'facts-ha');
    assert.deepEqual([moved.highAvailability?.mode, moved.storage?.storageSizeGB, moved.storage?.tier], ['ZoneRedundant', 256, 'P15']);
    // A client that "corrects" the drift back to SameZone is refused, as on Azure.
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-ha', { highAvailability: { mode: 'SameZone' } }), 400, 'InvalidParameterValue', /directly from ZoneRedundant to SameZone/);
    const http = await fetch(`${emu.armEndpoint}/admin/servers/facts-ha/azure-change`, { method: 'POST', body: JSON.stringify({ storageSizeGB: 512 }) });
    assert.equal(((await http.json()) as { properties: { storage: { storageSizeGB: number } } }).properties.storage.storageSizeGB, 512);
    assert.equal((await fetch(`${emu.armEndpoint}/admin/servers/facts-ha/azure-change`, { method: 'POST', body: '{"storageSizeGB":64}' })).status, 400);
    emu.admin.azureChange('facts-ha', { storageSizeGB: 4095 });
    assert.throws(() => emu.admin.azureChange('facts-ha', { storageSizeGB: 4096 }), /autogrow does not cross 4095 GiB/);
  });

  test('private DNS zone: changeable on a VNet-integrated server, except with HA on; the subnet is fixed', async () => {
    const created = await pg.servers.beginCreateOrUpdateAndWait(rg, 'facts-vnet', smallServer({
      ...GP, storage: { storageSizeGB: 128 }, network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneArmResourceId: ZONE_A },
    }));
    assert.deepEqual([created.network?.publicNetworkAccess, created.network?.privateDnsZoneArmResourceId], ['Disabled', ZONE_A]);
    const moved = await pg.servers.beginUpdateAndWait(rg, 'facts-vnet', { network: { privateDnsZoneArmResourceId: ZONE_B } });
    assert.equal(moved.network?.privateDnsZoneArmResourceId, ZONE_B);
    assert.equal((await pg.servers.get(rg, 'facts-vnet')).network?.privateDnsZoneArmResourceId, ZONE_B);
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-vnet', { network: { delegatedSubnetResourceId: `${SUBNET}2` } } as never), 400, 'PropertyChangeNotAllowed',
      /^The network mode .* cannot be changed after the server is created\.$/);
    await pg.servers.beginUpdateAndWait(rg, 'facts-vnet', { highAvailability: { mode: 'ZoneRedundant' } });
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-vnet', { network: { privateDnsZoneArmResourceId: ZONE_A } }), 400, 'InvalidParameterValue',
      'Invalid value given for parameter Network.PrivateDnsZoneArmResourceId. Specify a valid parameter value. The private DNS zone cannot be changed while high availability is enabled. Disable high availability first.');
    // Enabling HA and changing the zone in one request is refused too.
    await pg.servers.beginUpdateAndWait(rg, 'facts-vnet', { highAvailability: { mode: 'Disabled' } });
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-vnet', { highAvailability: { mode: 'SameZone' }, network: { privateDnsZoneArmResourceId: ZONE_A } }),
      400, 'InvalidParameterValue', /Network\.PrivateDnsZoneArmResourceId/);
    assert.equal((await pg.servers.get(rg, 'facts-vnet')).network?.privateDnsZoneArmResourceId, ZONE_B);
  });

  test('private DNS zone suffix: getPrivateDnsZoneSuffix answers the cloud\'s; a zone of another suffix, or named after a server, is refused', async () => {
    assert.equal((await pg.privateDnsZoneSuffix.get()).body, 'postgres.database.azure.com');
    const zone = (name: string) => ZONE_A.replace('a.private.postgres.database.azure.com', name);
    const vnet = (z: string) => smallServer({
      ...GP, storage: { storageSizeGB: 128 }, network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneArmResourceId: z },
    });
    await expectError(() => pg.servers.beginCreateOrUpdate(rg, 'facts-suffix', vnet(zone('a.private.postgres.database.usgovcloudapi.net'))), 400, 'InvalidParameterValue',
      /Network\.PrivateDnsZoneArmResourceId.*must end with '\.postgres\.database\.azure\.com'/);
    await expectError(() => pg.servers.beginCreateOrUpdate(rg, 'facts-suffix', vnet(zone('facts-suffix.postgres.database.azure.com'))), 400, 'InvalidParameterValue',
      /has the name of a server \('facts-suffix'\)/);
    // Named after another server (facts-vnet exists): refused on update too.
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-vnet', { network: { privateDnsZoneArmResourceId: zone('Facts-Vnet.postgres.database.azure.com') } }), 400, 'InvalidParameterValue',
      /has the name of a server \('facts-vnet'\)/);
    assert.equal(await pg.servers.get(rg, 'facts-suffix').catch(() => undefined), undefined);

    const gov = await startEmulator({ provisioningDelayMs: 150, privateDnsZoneSuffix: 'postgres.database.usgovcloudapi.net' });
    trustEmulatorCa(gov);
    try {
      const govPg = pgClient(gov);
      assert.equal((await govPg.privateDnsZoneSuffix.get()).body, 'postgres.database.usgovcloudapi.net');
      await rmClient(gov).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
      await expectError(() => govPg.servers.beginCreateOrUpdate(rg, 'facts-gov', vnet(ZONE_A)), 400, 'InvalidParameterValue', /must end with '\.postgres\.database\.usgovcloudapi\.net'/);
    } finally {
      await gov.stop();
    }
  });

  test('versions: 16 -> 16.11, upgrade to 17 (17.8) and 18 (18.3); 18 for new servers; 13 refused as an upgrade target too', async () => {
    const v16 = await pg.servers.beginCreateOrUpdateAndWait(rg, 'facts-version', smallServer({ version: '16' }));
    assert.deepEqual([v16.version, v16.minorVersion], ['16', '11']);
    const v17 = await pg.servers.beginUpdateAndWait(rg, 'facts-version', { version: '17' });
    assert.deepEqual([v17.version, v17.minorVersion], ['17', '8']);
    const v18 = await pg.servers.beginUpdateAndWait(rg, 'facts-version', { version: '18' });
    assert.deepEqual([v18.version, v18.minorVersion], ['18', '3']);
    const raw18 = await raw(emu, 'GET', `${serverPath(emu, rg, 'facts-version')}?api-version=2025-08-01`);
    assert.deepEqual([raw18.body.properties.version, raw18.body.properties.minorVersion], ['18', '3']);
  });

  test('storage: 4095 GiB (P50 by default), the v6 series and E20ads_v5; a new server on version 18', async () => {
    const s = await pg.servers.beginCreateOrUpdateAndWait(rg, 'facts-v6', smallServer({
      version: '18', sku: { name: 'Standard_D2ds_v6', tier: 'GeneralPurpose' }, storage: { storageSizeGB: 4095 },
    }));
    assert.deepEqual([s.version, s.sku?.name, s.storage?.storageSizeGB, s.storage?.tier, s.storage?.iops], ['18', 'Standard_D2ds_v6', 4095, 'P50', 7500]);
    for (const sku of [
      { name: 'Standard_D4ads_v6', tier: 'GeneralPurpose' }, { name: 'Standard_E2ds_v6', tier: 'MemoryOptimized' },
      { name: 'Standard_E4ads_v6', tier: 'MemoryOptimized' }, { name: 'Standard_E20ads_v5', tier: 'MemoryOptimized' },
      { name: 'Standard_D192ds_v6', tier: 'GeneralPurpose' },
    ] as const) {
      const scaled = await pg.servers.beginUpdateAndWait(rg, 'facts-v6', { sku });
      assert.equal(scaled.sku?.name, sku.name);
    }
    const grown = await pg.servers.beginUpdateAndWait(rg, 'facts-v6', { storage: { storageSizeGB: 4096 } });
    assert.deepEqual([grown.storage?.storageSizeGB, grown.storage?.tier], [4096, 'P50']);
  });

  test('storage performance tier: given on create, changed in place, never below the size default, followed by GET', async () => {
    const s = await pg.servers.beginCreateOrUpdateAndWait(rg, 'facts-tier', smallServer({ storage: { storageSizeGB: 512, tier: 'P30' } }));
    assert.deepEqual([s.storage?.storageSizeGB, s.storage?.tier, s.storage?.iops], [512, 'P30', 5000]);
    const up = await pg.servers.beginUpdateAndWait(rg, 'facts-tier', { storage: { tier: 'P40' } });
    assert.deepEqual([up.storage?.tier, up.storage?.iops], ['P40', 7500]);
    const down = await pg.servers.beginUpdateAndWait(rg, 'facts-tier', { storage: { tier: 'P20' } });
    assert.equal(down.storage?.tier, 'P20', 'back to the default of 512 GiB');
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-tier', { storage: { tier: 'P15' } }), 400, 'InvalidParameterValue',
      'Invalid value given for parameter Tier. Specify a valid parameter value.');
    // A bigger disk without a tier: the tier follows the size up to its default.
    const grown = await pg.servers.beginUpdateAndWait(rg, 'facts-tier', { storage: { storageSizeGB: 1024 } });
    assert.deepEqual([grown.storage?.tier, grown.storage?.iops], ['P30', 5000]);
    // ... but an explicit tier below the new size's default is refused (what a client repeating its old tier sends).
    await expectError(() => pg.servers.beginUpdate(rg, 'facts-tier', { storage: { storageSizeGB: 2048, tier: 'P30' } }), 400, 'InvalidParameterValue', /parameter Tier\./);
    const got = await pg.servers.get(rg, 'facts-tier');
    assert.deepEqual([got.storage?.storageSizeGB, got.storage?.tier], [1024, 'P30']);
    // The default tier of each size, on create.
    const defaults: [number, string][] = [[32, 'P4'], [64, 'P6'], [128, 'P10'], [256, 'P15']];
    for (const [size, tier] of defaults) {
      const r = await raw(emu, 'PUT', `${serverPath(emu, rg, `facts-tier-${size}`)}?api-version=2025-08-01`, {
        location: 'eastus',
        sku: { name: 'Standard_B1ms', tier: 'Burstable' },
        properties: { administratorLogin: 'appadmin', administratorLoginPassword: PASSWORD, storage: { storageSizeGB: size } },
      });
      assert.equal(r.status, 202);
      assert.equal((await raw(emu, 'GET', `${serverPath(emu, rg, `facts-tier-${size}`)}?api-version=2025-08-01`)).body.properties.storage.tier, tier, `${size} GiB`);
    }
  });

  test('administrator logins: postgres is not reserved by Azure; the server is created and its admin connects', async () => {
    const s = await pg.servers.beginCreateOrUpdateAndWait(rg, 'facts-login', smallServer({ administratorLogin: 'postgres' }));
    assert.equal(s.administratorLogin, 'postgres');
    await admitTestClient(pg, rg, 'facts-login');
    assert.deepEqual(await query(emu, s.fullyQualifiedDomainName!, 'postgres', PASSWORD, 'SELECT current_user AS u'), [{ u: 'postgres' }]);
    // azuresu is the name of the hidden superuser (Azure's too): validation passes, the create fails and leaves nothing.
    const err = await rejection(() => pg.servers.beginCreateOrUpdateAndWait(rg, 'facts-azuresu', smallServer({ administratorLogin: 'azuresu' })));
    assert.match(err.message, /^The long-running operation has failed\. InternalServerError\. An unexpected error occured/);
    assert.equal((await rejection(() => pg.servers.get(rg, 'facts-azuresu'))).statusCode, 404);
  });

  test('extensions: the azure.extensions allow-list has what Azure supports (age, anon, pg_diskann, pg_duckdb, ip4r, pgrouting, ...)', async () => {
    const list = (await pg.configurations.get(rg, 'facts-login', 'azure.extensions')).allowedValues!.split(',');
    for (const ext of ['age', 'anon', 'pg_diskann', 'pg_duckdb', 'ip4r', 'pgrouting', 'credcheck', 'tdigest', 'topn', 'postgres_protobuf', 'vector', 'postgis']) {
      assert.ok(list.includes(ext), ext);
    }
    const set = await pg.configurations.beginPutAndWait(rg, 'facts-login', 'azure.extensions', { value: 'age,anon,pg_diskann,pg_duckdb,ip4r,pgrouting', source: 'user-override' });
    assert.equal(set.value, 'age,anon,pg_diskann,pg_duckdb,ip4r,pgrouting');
    const preload = (await pg.configurations.get(rg, 'facts-login', 'shared_preload_libraries')).allowedValues!.split(',');
    for (const lib of ['age', 'anon', 'pg_duckdb']) assert.ok(preload.includes(lib), lib);
  });
});
