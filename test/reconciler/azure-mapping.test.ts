/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PostgresServerSpec } from '../../imports/cdk8s-azure.dev';
import { formatProblem, normalizeServerSpec, TAG_CLUSTER, TAG_UID, validateServerSpec as serverProblems } from '../../src/api';
import { diffServer, parameterDrift, toArmServer, type Server } from '../../src/reconciler/azure';

const validateServerSpec = (n: ReturnType<typeof normalizeServerSpec>): string[] => serverProblems(n).map((p) => formatProblem(p));

const owner = { namespace: 'shop', name: 'db', uid: 'uid-1' };
// As read from Kubernetes: JSON keys (sizeGB), not the generated TypeScript names.
const spec = {
  azureName: 'shop-db',
  resourceGroup: { name: 'rg-shop', create: true },
  location: 'eastus',
  version: '16',
  sku: { tier: 'GeneralPurpose', name: 'Standard_D2ds_v5' },
  storage: { sizeGB: 64, autoGrow: true },
  backup: { retentionDays: 14, geoRedundant: false },
  highAvailability: { mode: 'ZoneRedundant', standbyAvailabilityZone: '2' },
  availabilityZone: '1',
  maintenanceWindow: { dayOfWeek: 0, startHour: 3 },
  parameters: { log_min_duration_statement: '500' },
  tags: { team: 'shop' },
  writeConnectionSecretToRef: { name: 'shop-db-admin' },
} as unknown as PostgresServerSpec;

function azureFrom(body: Server, extra: Partial<Server> = {}): Server {
  const { administratorLoginPassword: _pw, ...rest } = body;
  return { ...rest, location: 'East US', state: 'Ready', fullyQualifiedDomainName: 'shop-db.postgres.database.azure.com', ...extra } as Server;
}

describe('spec -> ARM', () => {
  it('applies CRD defaults to a minimal spec', () => {
    const n = normalizeServerSpec({ azureName: 'abc', resourceGroup: { name: 'rg' }, location: 'westeurope', writeConnectionSecretToRef: { name: 's' } } as PostgresServerSpec);
    assert.equal(n.version, '16');
    assert.deepEqual(n.sku, { tier: 'Burstable', name: 'Standard_B1ms' });
    assert.deepEqual(n.storage, { sizeGB: 32, autoGrow: false });
    assert.deepEqual(n.backup, { retentionDays: 7, geoRedundant: false });
    assert.equal(n.highAvailability.mode, 'Disabled');
    assert.equal(n.network.publicNetworkAccess, true);
    assert.equal(n.administratorLogin, 'pgadmin');
    assert.equal(n.deletionPolicy, 'Delete');
    assert.deepEqual(validateServerSpec(n), []);
  });

  it('reads storage size from sizeGB (JSON) and sizeGb (generated type)', () => {
    assert.equal(normalizeServerSpec({ ...spec, storage: { sizeGb: 128 } } as PostgresServerSpec).storage.sizeGB, 128);
    assert.equal(normalizeServerSpec(spec).storage.sizeGB, 64);
  });

  it('maps every managed field and the owner tags', () => {
    const body = toArmServer(normalizeServerSpec(spec), owner, 'pw');
    assert.deepEqual(body, {
      location: 'eastus',
      tags: { 'team': 'shop', 'cdk8s-azure.dev-namespace': 'shop', 'cdk8s-azure.dev-name': 'db', 'cdk8s-azure.dev-uid': 'uid-1' },
      sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' },
      administratorLogin: 'pgadmin',
      administratorLoginPassword: 'pw',
      authConfig: { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' },
      version: '16',
      storage: { storageSizeGB: 64, autoGrow: 'Enabled' },
      backup: { backupRetentionDays: 14, geoRedundantBackup: 'Disabled' },
      highAvailability: { mode: 'ZoneRedundant', standbyAvailabilityZone: '2' },
      network: { publicNetworkAccess: 'Enabled' },
      createMode: 'Create',
      availabilityZone: '1',
      maintenanceWindow: { customWindow: 'Enabled', dayOfWeek: 0, startHour: 3, startMinute: 0 },
    });
  });

  it('validation names the field and the fix', () => {
    const bad = normalizeServerSpec({
      ...spec,
      azureName: '-Bad-',
      sku: { tier: 'Burstable', name: 'Standard_D2ds_v5' },
      administratorLogin: 'azure_superuser',
      storage: { sizeGB: 100 },
      tags: { [TAG_UID]: 'x' },
    } as unknown as PostgresServerSpec);
    const problems = validateServerSpec(bad);
    for (const f of ['spec.azureName', 'spec.sku.name', 'spec.administratorLogin', 'spec.storage.sizeGB', 'spec.highAvailability.mode', `spec.tags.${TAG_UID}`]) {
      assert.ok(problems.some((p) => p.startsWith(f)), `${f} in ${JSON.stringify(problems)}`);
    }
  });
});

describe('drift diff', () => {
  const n = normalizeServerSpec(spec);
  const inSync = azureFrom(toArmServer(n, owner, 'pw'));

  it('nothing to do when Azure matches (Azure spells location and enums its own way)', () => {
    const d = diffServer(n, { ...inSync, location: 'East US', sku: { name: 'standard_d2ds_v5', tier: 'GeneralPurpose' } }, owner);
    assert.deepEqual(d, { patch: undefined, changes: [], unsupported: [] });
  });

  it('PATCHes only the fields that differ', () => {
    const drifted = azureFrom(toArmServer(n, owner, 'pw'), {
      sku: { name: 'Standard_D4ds_v5', tier: 'GeneralPurpose' },
      backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' },
      tags: { ...inSync.tags, team: 'other', extra: 'x' },
    });
    const d = diffServer(n, drifted, owner);
    assert.deepEqual(d.unsupported, []);
    assert.deepEqual(d.patch, {
      sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' },
      backup: { backupRetentionDays: 14 },
      tags: { 'team': 'shop', 'cdk8s-azure.dev-namespace': 'shop', 'cdk8s-azure.dev-name': 'db', 'cdk8s-azure.dev-uid': 'uid-1' },
    });
    assert.deepEqual(d.changes.map((c) => c.field), ['spec.sku', 'spec.backup.retentionDays', 'spec.tags']);
    assert.ok(!JSON.stringify(d).includes('administratorLoginPassword'));
  });

  it('growing storage and upgrading the version are PATCHes', () => {
    const d = diffServer(normalizeServerSpec({ ...spec, version: '17', storage: { sizeGB: 128, autoGrow: true } } as unknown as PostgresServerSpec), inSync, owner);
    assert.deepEqual(d.patch, { version: '17', storage: { storageSizeGB: 128 } });
    assert.deepEqual(d.unsupported, []);
  });

  for (const [name, specChange, field] of [
    ['smaller storage', { storage: { sizeGB: 32, autoGrow: false } }, 'spec.storage.sizeGB'],
    ['lower version', { version: '15' }, 'spec.version'],
    ['geo-redundant backup after create', { backup: { retentionDays: 14, geoRedundant: true } }, 'spec.backup.geoRedundant'],
    ['administratorLogin', { administratorLogin: 'other' }, 'spec.administratorLogin'],
    ['location', { location: 'westeurope' }, 'spec.location'],
    ['network mode', { network: { publicNetworkAccess: false, delegatedSubnetResourceId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/x', privateDnsZoneResourceId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateDnsZones/z.postgres.database.azure.com' } }, 'spec.network'],
    ['primary availability zone', { availabilityZone: '3' }, 'spec.availabilityZone'],
  ] as const) {
    it(`unsupported: ${name}`, () => {
      const d = diffServer(normalizeServerSpec({ ...spec, ...specChange } as unknown as PostgresServerSpec), inSync, owner);
      assert.deepEqual(d.unsupported.map((u) => u.field), [field]);
      assert.ok(d.unsupported[0].why.length > 10);
    });
  }

  it('autoGrow on: a size Azure grew beyond the spec (and the tier it raised) is not drift', () => {
    const floor = normalizeServerSpec({ ...spec, storage: { sizeGB: 32, autoGrow: true } } as unknown as PostgresServerSpec);
    const d = diffServer(floor, { ...inSync, storage: { ...inSync.storage, storageSizeGB: 64, tier: 'P6' } }, owner);
    assert.deepEqual([d.patch, d.changes, d.unsupported], [undefined, [], []]);
  });

  it('autoGrow on: a tier set in the spec that the grown disk\'s default overtook is not pushed back down (Azure refuses it)', () => {
    const p10 = normalizeServerSpec({ ...spec, storage: { sizeGB: 32, autoGrow: true, tier: 'P10' } } as unknown as PostgresServerSpec);
    const grownTo256 = { ...inSync, storage: { ...inSync.storage, storageSizeGB: 256, tier: 'P15' } };
    assert.deepEqual([diffServer(p10, grownTo256, owner).patch, diffServer(p10, grownTo256, owner).changes], [undefined, []]);
    const droppedBelowFloor = { ...grownTo256, storage: { ...grownTo256.storage, tier: 'P10' } };
    assert.deepEqual(diffServer(p10, droppedBelowFloor, owner).patch, { storage: { tier: 'P15' } }, 'the floor is the grown size\'s default');
    const grownTo64 = { ...inSync, storage: { ...inSync.storage, storageSizeGB: 64, tier: 'P6' } };
    assert.deepEqual(diffServer(p10, grownTo64, owner).patch, { storage: { tier: 'P10' } }, 'the spec\'s tier still holds above the default');
  });

  it('ignores Azure-chosen values the spec leaves unset', () => {
    const loose = normalizeServerSpec({ ...spec, availabilityZone: undefined, maintenanceWindow: undefined } as unknown as PostgresServerSpec);
    const d = diffServer(loose, { ...inSync, availabilityZone: '2', maintenanceWindow: { customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 } }, owner);
    assert.deepEqual(d.changes, []);
  });

  it('storage.tier: in the create body and the PATCH when set, not compared when unset, drift corrected', () => {
    const tiered = normalizeServerSpec({ ...spec, storage: { sizeGB: 64, autoGrow: true, tier: 'P15' } } as unknown as PostgresServerSpec);
    assert.equal(toArmServer(tiered, owner).storage?.tier, 'P15');
    assert.equal(toArmServer(n, owner).storage?.tier, undefined, 'unset: Azure picks the size\'s default');
    const azureP6 = { ...inSync, storage: { ...inSync.storage, tier: 'P6' } };
    assert.deepEqual(diffServer(tiered, azureP6, owner).patch, { storage: { tier: 'P15' } });
    assert.deepEqual(diffServer(tiered, { ...azureP6, storage: { ...azureP6.storage, tier: 'p15' } }, owner).patch, undefined);
    assert.deepEqual(diffServer(n, { ...inSync, storage: { ...inSync.storage, tier: 'P30' } }, owner).changes, [], 'unset: never compared');
    const grown = normalizeServerSpec({ ...spec, storage: { sizeGB: 128, autoGrow: true, tier: 'P20' } } as unknown as PostgresServerSpec);
    assert.deepEqual(diffServer(grown, azureP6, owner).patch, { storage: { storageSizeGB: 128, tier: 'P20' } }, 'size and tier in one PATCH');
  });

  it('high availability: SameZone <-> ZoneRedundant is disabled first, then enabled; ZoneRedundant satisfies SameZone', () => {
    const ha = (mode: string, standby?: string) => ({ mode, ...(standby ? { standbyAvailabilityZone: standby } : {}) });
    const withHa = (mode: string, standby?: string) =>
      normalizeServerSpec({ ...spec, highAvailability: ha(mode, standby) } as unknown as PostgresServerSpec);
    const azureHa = (mode: string, standby?: string) => ({ ...inSync, highAvailability: ha(mode, standby) }) as Server;
    // SameZone in Azure, ZoneRedundant asked: step 1 disables, step 2 (Azure Disabled) enables.
    assert.deepEqual(diffServer(withHa('ZoneRedundant', '2'), azureHa('SameZone'), owner).patch, { highAvailability: { mode: 'Disabled' } });
    assert.deepEqual(diffServer(withHa('ZoneRedundant', '2'), azureHa('Disabled'), owner).patch, { highAvailability: { mode: 'ZoneRedundant', standbyAvailabilityZone: '2' } });
    // Another standby zone: the same two steps.
    assert.deepEqual(diffServer(withHa('ZoneRedundant', '3'), azureHa('ZoneRedundant', '2'), owner).patch, { highAvailability: { mode: 'Disabled' } });
    // Azure moved a SameZone server to ZoneRedundant by itself: not fought.
    assert.deepEqual(diffServer(withHa('SameZone'), azureHa('ZoneRedundant', '2'), owner).changes, []);
    assert.deepEqual(diffServer(withHa('Disabled'), azureHa('ZoneRedundant', '2'), owner).patch, { highAvailability: { mode: 'Disabled' } });
  });

  it('private DNS zone: changed in place on a VNet-integrated server, except while high availability is on', () => {
    const subnet = '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/x';
    const zone = (z: string) => `/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateDnsZones/${z}.private.postgres.database.azure.com`;
    const privateSpec = (ha: string) => normalizeServerSpec({
      ...spec, highAvailability: { mode: ha }, network: { publicNetworkAccess: false, delegatedSubnetResourceId: subnet, privateDnsZoneResourceId: zone('new') },
    } as unknown as PostgresServerSpec);
    const privateAzure = (ha: string) => ({ ...inSync, highAvailability: { mode: ha }, network: { publicNetworkAccess: 'Disabled', delegatedSubnetResourceId: subnet, privateDnsZoneArmResourceId: zone('old') } }) as Server;
    const off = diffServer(privateSpec('Disabled'), privateAzure('Disabled'), owner);
    assert.deepEqual(off.unsupported, []);
    assert.deepEqual(off.patch, { network: { delegatedSubnetResourceId: subnet, privateDnsZoneArmResourceId: zone('new') } });
    const on = diffServer(privateSpec('ZoneRedundant'), privateAzure('ZoneRedundant'), owner);
    assert.deepEqual(on.unsupported.map((u) => u.field), ['spec.network.privateDnsZoneResourceId']);
    assert.match(on.unsupported[0].why, /high availability/);
    // HA switched off in the same change: HA first, the zone in the next PATCH.
    assert.deepEqual(diffServer(privateSpec('Disabled'), privateAzure('ZoneRedundant'), owner).patch, { highAvailability: { mode: 'Disabled' } });
    // HA switched on in the same change: the zone first, HA in the next PATCH.
    assert.deepEqual(diffServer(privateSpec('ZoneRedundant'), privateAzure('Disabled'), owner).patch, { network: { delegatedSubnetResourceId: subnet, privateDnsZoneArmResourceId: zone('new') } });
  });

  it('the owner tags name the cluster when the reconciler has an identity', () => {
    const tags = toArmServer(n, { ...owner, cluster: 'prod-1' }).tags!;
    assert.equal(tags[TAG_CLUSTER], 'prod-1');
    assert.deepEqual(diffServer(n, { ...inSync, tags }, { ...owner, cluster: 'prod-1' }).changes, []);
  });

  it('authentication: Entra and password sign-in with the tenant in the create body; no administrator login without password sign-in', () => {
    const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const entraOnly = normalizeServerSpec({ ...spec, authentication: { password: false, microsoftEntra: true, tenantId } } as unknown as
      PostgresServerSpec);
    const body = toArmServer(entraOnly, owner);
    assert.deepEqual(body.authConfig, { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId });
    assert.equal(body.administratorLogin, undefined);
    assert.equal(body.administratorLoginPassword, undefined);
    assert.deepEqual(diffServer(entraOnly, azureFrom(body), owner), { patch: undefined, changes: [], unsupported: [] });
  });

  it('authentication drift: sign-in methods and tenant are PATCHed back; a server without authConfig has password sign-in only', () => {
    const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    const both = normalizeServerSpec({ ...spec, authentication: { password: true, microsoftEntra: true, tenantId } } as unknown as
      PostgresServerSpec);
    const want = { activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled', tenantId };
    for (const authConfig of [undefined, { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' }, { ...want, passwordAuth: 'Disabled' }, { ...want, tenantId: '00000000-0000-0000-0000-000000000001' }]) {
      const d = diffServer(both, { ...inSync, authConfig } as Server, owner);
      assert.deepEqual(d.patch, { authConfig: want }, JSON.stringify(authConfig));
      assert.deepEqual(d.changes.map((c) => c.field), ['spec.authentication']);
    }
    // The default spec (password only) matches a server Azure reports without authConfig.
    assert.deepEqual(diffServer(n, { ...inSync, authConfig: undefined }, owner).patch, undefined);
    // Azure's spelling of the enums does not matter.
    assert.deepEqual(diffServer(both, { ...inSync, authConfig: { activeDirectoryAuth: 'enabled', passwordAuth: 'ENABLED', tenantId: tenantId.toUpperCase() } } as Server, owner).patch, undefined);
  });

  it('parameterDrift compares case-insensitively, sorted', () => {
    assert.deepEqual(parameterDrift({ b: 'on', a: '500', c: 'x' }, { a: '500', b: 'ON', c: 'y' }), ['c']);
    assert.deepEqual(parameterDrift({ b: '1', a: '2' }, {}), ['a', 'b']);
  });
});
