/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PostgresServerSpec } from '../../imports/cdk8s-azure.dev';
import { formatProblem, normalizeServerSpec, TAG_UID, validateServerSpec as serverProblems } from '../../src/api';
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
    ['smaller storage', { storage: { sizeGB: 32, autoGrow: true } }, 'spec.storage.sizeGB'],
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

  it('ignores Azure-chosen values the spec leaves unset', () => {
    const loose = normalizeServerSpec({ ...spec, availabilityZone: undefined, maintenanceWindow: undefined } as unknown as PostgresServerSpec);
    const d = diffServer(loose, { ...inSync, availabilityZone: '2', maintenanceWindow: { customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 } }, owner);
    assert.deepEqual(d.changes, []);
  });

  it('parameterDrift compares case-insensitively, sorted', () => {
    assert.deepEqual(parameterDrift({ b: 'on', a: '500', c: 'x' }, { a: '500', b: 'ON', c: 'y' }), ['c']);
    assert.deepEqual(parameterDrift({ b: '1', a: '2' }, {}), ['a', 'b']);
  });
});
