/**
 * Azure's facts (issue 7 §7) end to end: the real controllers against the ARM emulator, which knows them (HA mode
 * switch refused, private DNS zone changeable except with HA, storage performance tiers with defaults by size,
 * `admin.azureChange` for what Azure changes by itself).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { armFor, startHarness, type Harness } from './helpers/harness';
import { formatProblems, normalizeServerSpec, validateServerSpec } from '../../src/api';
import type { PostgresArm } from '../../src/reconciler/azure';
import type { ObjectKey, PostgresServerObject } from '../../src/reconciler/contracts';

let h: Harness;
let arm: PostgresArm;
const RG = 'rg-facts';
const SUB = '00000000-0000-0000-0000-000000000000';
const SUBNET = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/pg`;
const ZONE_A = `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/a.private.postgres.database.azure.com`;
const ZONE_B = `/subscriptions/${SUB}/resourceGroups/dns/providers/Microsoft.Network/privateDnsZones/b.private.postgres.database.azure.com`;
const GP = { sku: { tier: 'GeneralPurpose', name: 'Standard_D2ds_v5' } };

function spec(name: string, extra: Record<string, unknown> = {}) {
  return { azureName: name, resourceGroup: { name: RG, create: true }, location: 'eastus', writeConnectionSecretToRef: { name: `${name}-admin` }, ...extra };
}
const server = async (name: string) => (await arm.getServer(RG, name))!;
const serverId = (name: string) => `/subscriptions/${h.emu.subscriptionId}/resourcegroups/${RG}/providers/microsoft.dbforpostgresql/flexibleservers/${name}`;
const patches = (name: string) => h.emu.admin.requests().writesByResource[serverId(name)]?.PATCH ?? 0;
const object = (key: ObjectKey) => h.kube.get<PostgresServerObject>('PostgresServer', key)!;
const isReady = (key: ObjectKey) => () => h.ready('PostgresServer', key)?.status === 'True';
/** Ready, at the object's current generation. */
const readyNow = (key: ObjectKey) => () => isReady(key)() && object(key).status?.observedGeneration === object(key).metadata.generation;
/** The fields of each update the controller sent for `name`, oldest first (from its log). */
function updatesSent(name: string): string[][] {
  return h.log.lines.map((l) => JSON.parse(l) as { msg: string; resource?: string; fields?: string[] })
    .filter((l) => l.msg === 'updating server' && l.resource?.toLowerCase() === serverId(name))
    .map((l) => l.fields ?? []);
}
/** Reconciles a few times, as resyncs would. */
async function settle(key: ObjectKey, times = 3): Promise<void> {
  for (let i = 0; i < times; i++) await h.reconcile('PostgresServer', key);
}
function requestTrail(name: string): string {
  return JSON.stringify(h.emu.admin.requests().log.filter((l) => l.path.toLowerCase().includes(`/flexibleservers/${name}`) && l.method !== 'GET')
    .map((l) => `${l.method} ${l.status}`));
}

before(async () => {
  h = await startHarness({ emulator: { provisioningDelayMs: 300 } });
  arm = armFor(h.emu);
});
after(async () => {
  await h?.stop();
});

describe('storage.tier', () => {
  it('created with the spec\'s tier; a new tier is one PATCH in place; a tier changed in Azure is corrected', async () => {
    const key = h.kube.create('PostgresServer', 'tier', 'db', spec('facts-tier', { storage: { sizeGB: 32, tier: 'P10' } }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready');
    assert.deepEqual([(await server('facts-tier')).storage?.storageSizeGB, (await server('facts-tier')).storage?.tier], [32, 'P10']);
    assert.equal(patches('facts-tier'), 0);

    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, storage: { sizeGB: 32, tier: 'P15' } }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready at the new tier');
    assert.equal((await server('facts-tier')).storage?.tier, 'P15');
    assert.equal(patches('facts-tier'), 1, requestTrail('facts-tier'));
    assert.deepEqual(updatesSent('facts-tier'), [['spec.storage.tier']]);

    // Someone changes the tier in the portal: drift, PATCHed back.
    await arm.clients.postgres.servers.beginUpdateAndWait(RG, 'facts-tier', { storage: { tier: 'P20' } });
    const patchesBefore = patches('facts-tier');
    await h.until('PostgresServer', key, () => isReady(key)() && patches('facts-tier') > patchesBefore, 'drift corrected');
    assert.equal((await server('facts-tier')).storage?.tier, 'P15');
    assert.equal(patches('facts-tier') - patchesBefore, 1, requestTrail('facts-tier'));
    assert.deepEqual(updatesSent('facts-tier').at(-1), ['spec.storage.tier']);
  });

  it('a spec without a tier never PATCHes the tier Azure chose (autogrow raised size and tier)', async () => {
    const key = h.kube.create('PostgresServer', 'tierless', 'db', spec('facts-tierless', { storage: { sizeGB: 32, autoGrow: true } }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready');
    assert.equal((await server('facts-tierless')).storage?.tier, 'P4', 'the default tier of 32 GiB');
    const patchesBefore = patches('facts-tierless');
    h.emu.admin.azureChange('facts-tierless', { storageSizeGB: 64 });
    assert.deepEqual([(await server('facts-tierless')).storage?.storageSizeGB, (await server('facts-tierless')).storage?.tier], [64, 'P6']);
    await settle(key);
    assert.equal(h.ready('PostgresServer', key)?.status, 'True', JSON.stringify(h.ready('PostgresServer', key)));
    assert.equal(patches('facts-tierless'), patchesBefore, requestTrail('facts-tierless'));
    assert.deepEqual([(await server('facts-tierless')).storage?.storageSizeGB, (await server('facts-tierless')).storage?.tier], [64, 'P6']);
  });
});

describe('high availability', () => {
  it('spec SameZone on a server Azure moved to ZoneRedundant is left alone', async () => {
    const key = h.kube.create('PostgresServer', 'ha-moved', 'db', spec('facts-ha-moved', { ...GP, highAvailability: { mode: 'SameZone' } }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready');
    assert.equal((await server('facts-ha-moved')).highAvailability?.mode, 'SameZone');
    const patchesBefore = patches('facts-ha-moved');
    h.emu.admin.azureChange('facts-ha-moved', { highAvailabilityMode: 'ZoneRedundant' });
    await settle(key);
    assert.equal(h.ready('PostgresServer', key)?.status, 'True', JSON.stringify(h.ready('PostgresServer', key)));
    assert.equal(patches('facts-ha-moved'), patchesBefore, requestTrail('facts-ha-moved'));
    assert.equal((await server('facts-ha-moved')).highAvailability?.mode, 'ZoneRedundant');
  });

  it('spec ZoneRedundant on a SameZone server: Disabled first, then ZoneRedundant (Azure refuses a direct switch)', async () => {
    const key = h.kube.create('PostgresServer', 'ha-switch', 'switch', spec('facts-ha-switch', { ...GP, highAvailability: { mode: 'SameZone' } }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready');
    const patchesBefore = patches('facts-ha-switch');
    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, highAvailability: { mode: 'ZoneRedundant' } }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready as ZoneRedundant');
    assert.equal((await server('facts-ha-switch')).highAvailability?.mode, 'ZoneRedundant');
    assert.equal(patches('facts-ha-switch') - patchesBefore, 2, requestTrail('facts-ha-switch'));
    assert.deepEqual(updatesSent('facts-ha-switch'), [['spec.highAvailability'], ['spec.highAvailability']]);
    assert.ok(!h.kube.events.some((e) => e.name === 'switch' && e.type === 'Warning'), JSON.stringify(h.kube.events.filter((e) => e.name === 'switch')));
  });
});

describe('private DNS zone', () => {
  it('a VNet-integrated server\'s zone is PATCHed in place; with HA on it is UnsupportedChange and nothing is sent', async () => {
    const network = (zone: string) => ({ delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: zone });
    const key = h.kube.create('PostgresServer', 'dns', 'db', spec('facts-dns', { ...GP, network: network(ZONE_A) }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready');
    assert.equal((await server('facts-dns')).network?.privateDnsZoneArmResourceId, ZONE_A);

    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, network: network(ZONE_B) }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready in the new zone');
    const az = await server('facts-dns');
    assert.deepEqual([az.network?.privateDnsZoneArmResourceId, az.network?.delegatedSubnetResourceId], [ZONE_B, SUBNET]);
    assert.equal(patches('facts-dns'), 1, requestTrail('facts-dns'));
    assert.deepEqual(updatesSent('facts-dns'), [['spec.network.privateDnsZoneResourceId']]);

    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, highAvailability: { mode: 'SameZone' } }));
    await h.until('PostgresServer', key, readyNow(key), 'Ready with HA');
    assert.equal((await server('facts-dns')).highAvailability?.mode, 'SameZone');
    const patchesBefore = patches('facts-dns');

    h.kube.updateSpec('PostgresServer', key, (s: any) => ({ ...s, network: network(ZONE_A) }));
    await settle(key);
    const ready = h.ready('PostgresServer', key)!;
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'UnsupportedChange');
    assert.match(ready.message, /spec\.network\.privateDnsZoneResourceId/);
    assert.match(ready.message, /high availability/);
    assert.equal(patches('facts-dns'), patchesBefore, requestTrail('facts-dns'));
    assert.equal((await server('facts-dns')).network?.privateDnsZoneArmResourceId, ZONE_B);
  });
});

describe('private DNS zone suffix', () => {
  const suffixCalls = (harness: Harness) => harness.emu.admin.requests().log.filter((l) => /getPrivateDnsZoneSuffix/i.test(l.path)).length;
  const GOV_ZONE = ZONE_A.replace('.postgres.database.azure.com', '.postgres.database.usgovcloudapi.net');

  it('a zone of another cloud\'s suffix passes the API but is InvalidSpec against the suffix Azure returns; asked once per process', async () => {
    const govSpec = spec('facts-gov-zone', { ...GP, network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: GOV_ZONE } });
    assert.equal(formatProblems(validateServerSpec(normalizeServerSpec(govSpec as never))), '', 'the API accepts every Azure cloud\'s suffix');
    const key = h.kube.create('PostgresServer', 'gov-zone', 'db', govSpec);
    await settle(key);
    const ready = h.ready('PostgresServer', key)!;
    assert.equal(ready.reason, 'InvalidSpec');
    assert.match(ready.message, /spec\.network\.privateDnsZoneResourceId/);
    assert.match(ready.message, /must end with \.postgres\.database\.azure\.com/);
    assert.equal(await arm.getServer(RG, 'facts-gov-zone'), undefined);
    assert.equal(h.emu.admin.requests().serverCreates['facts-gov-zone'], undefined, 'no create sent');
    h.restart(); // new controllers and ARM clients in the same process: the suffix is still known
    await settle(key);
    assert.equal(h.ready('PostgresServer', key)?.reason, 'InvalidSpec');
    assert.equal(suffixCalls(h), 1, 'asked once per process and ARM endpoint, whatever the servers and reconciles');
  });

  it('in a sovereign cloud (the emulator answers usgovcloudapi.net) a zone of that suffix is created', async () => {
    const gov = await startHarness({ emulator: { provisioningDelayMs: 300, privateDnsZoneSuffix: 'postgres.database.usgovcloudapi.net' } });
    try {
      const key = gov.kube.create('PostgresServer', 'gov', 'db', spec('facts-gov', { network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: GOV_ZONE } }));
      await gov.until('PostgresServer', key, () => gov.ready('PostgresServer', key)?.status === 'True', 'Ready');
      assert.equal((await armFor(gov.emu).getServer(RG, 'facts-gov'))?.network?.privateDnsZoneArmResourceId, GOV_ZONE);
      assert.equal(suffixCalls(gov), 1);
    } finally {
      await gov.stop();
    }
  });
});
