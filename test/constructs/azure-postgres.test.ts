import { Chart, Testing } from 'cdk8s';
import { crdValidators, newChart, schemaErrors } from './support';
import * as library from '../../src';
import {
  AvailabilityZone,
  AzurePostgres,
  AzurePostgresChild,
  AzurePostgresDatabase,
  AzurePostgresFirewallRule,
  AzurePostgresRole,
  ComputeSku,
  DayOfWeek,
  DeletionPolicy,
  HighAvailabilityMode,
  PostgresVersion,
  RolePrivilege,
  StorageSize,
  StorageTier,
} from '../../src';
import { DATABASE_DEFAULTS, ROLE_DEFAULTS, SERVER_DEFAULTS } from '../../src/api';

const SUBNET = '/subscriptions/sub/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/postgres';
const DNS_ZONE = '/subscriptions/sub/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/shop.postgres.database.azure.com';
const AZURE_SERVER_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

function minimalServer(chart: Chart, id = 'db') {
  return new AzurePostgres(chart, id, { resourceGroup: { name: 'rg' }, location: 'westeurope' });
}

function manifestsOf(chart: Chart, kind: string): any[] {
  return Testing.synth(chart).filter((m: any) => m.kind === kind);
}

describe('AzurePostgres defaults', () => {
  test('a minimal server states every default explicitly', () => {
    const { chart } = newChart('shop');
    minimalServer(chart);
    const [server] = manifestsOf(chart, 'PostgresServer');
    expect(server.metadata.namespace).toBe('shop');
    expect(server.spec).toEqual({
      azureName: expect.stringMatching(AZURE_SERVER_NAME),
      resourceGroup: { name: 'rg', create: false },
      location: 'westeurope',
      version: '16',
      sku: { tier: 'Burstable', name: 'Standard_B1ms' },
      storage: { sizeGB: 32, autoGrow: false },
      backup: { retentionDays: 7, geoRedundant: false },
      highAvailability: { mode: 'Disabled' },
      network: { publicNetworkAccess: true },
      administratorLogin: 'pgadmin',
      deletionPolicy: 'Delete',
      writeConnectionSecretToRef: { name: `${server.metadata.name}-admin` },
      stopped: false,
    });
  });

  test('the defaults are src/api\'s, the ones the CRD and the reconciler apply', () => {
    const { chart } = newChart();
    const server = minimalServer(chart);
    const catalog = server.addDatabase('catalog');
    server.addRole('catalog_app', { database: catalog });
    const spec = (kind: string) => manifestsOf(chart, kind)[0].spec;
    const { maintenanceWindow: _onlyWithAWindow, ...serverDefaults } = SERVER_DEFAULTS;
    expect(spec('PostgresServer')).toMatchObject(serverDefaults);
    expect(spec('PostgresDatabase')).toMatchObject(DATABASE_DEFAULTS);
    expect(spec('PostgresRole')).toMatchObject(ROLE_DEFAULTS);
  });

  test('every property reaches the spec', () => {
    const { chart } = newChart();
    const server = new AzurePostgres(chart, 'db', {
      azureName: 'shop-prod-db',
      metadata: { name: 'shop-db', namespace: 'shop', labels: { team: 'shop' } },
      resourceGroup: { name: 'shop-rg', create: true },
      location: 'northeurope',
      version: PostgresVersion.V17,
      sku: ComputeSku.STANDARD_D4DS_V5,
      storage: { size: StorageSize.GIB_256, autoGrow: true, tier: StorageTier.P30 },
      backup: { retentionDays: 35, geoRedundant: true },
      highAvailability: { mode: HighAvailabilityMode.ZONE_REDUNDANT, standbyAvailabilityZone: AvailabilityZone.ZONE_2 },
      availabilityZone: AvailabilityZone.ZONE_1,
      network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE },
      administratorLogin: 'shopadmin',
      maintenanceWindow: { dayOfWeek: DayOfWeek.SUNDAY, startHour: 2, startMinute: 30 },
      parameters: { log_min_duration_statement: '500' },
      tags: { team: 'shop' },
      deletionPolicy: DeletionPolicy.RETAIN,
      connectionSecretName: 'shop-db-admin-credentials',
    });
    server.addParameter('azure.extensions', 'PG_TRGM');
    server.addTag('cost-center', '42');
    const [manifest] = manifestsOf(chart, 'PostgresServer');
    expect(manifest.metadata).toEqual({ name: 'shop-db', namespace: 'shop', labels: { team: 'shop' } });
    expect(manifest.spec).toEqual({
      azureName: 'shop-prod-db',
      resourceGroup: { name: 'shop-rg', create: true },
      location: 'northeurope',
      version: '17',
      sku: { tier: 'GeneralPurpose', name: 'Standard_D4ds_v5' },
      storage: { sizeGB: 256, autoGrow: true, tier: 'P30' },
      backup: { retentionDays: 35, geoRedundant: true },
      highAvailability: { mode: 'ZoneRedundant', standbyAvailabilityZone: '2' },
      availabilityZone: '1',
      network: { publicNetworkAccess: false, delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE },
      administratorLogin: 'shopadmin',
      maintenanceWindow: { dayOfWeek: 0, startHour: 2, startMinute: 30 },
      parameters: { 'log_min_duration_statement': '500', 'azure.extensions': 'PG_TRGM' },
      tags: { 'team': 'shop', 'cost-center': '42' },
      deletionPolicy: 'Retain',
      writeConnectionSecretToRef: { name: 'shop-db-admin-credentials' },
      stopped: false,
    });
    expect(server.name).toBe('shop-db');
    expect(server.namespace).toBe('shop');
    expect(server.publicNetworkAccess).toBe(false);
  });

  test('a maximal server and all its children validate against the CRD schemas', () => {
    const { chart } = newChart('shop');
    const server = new AzurePostgres(chart, 'db', {
      resourceGroup: { name: 'rg' },
      location: 'westeurope',
      sku: ComputeSku.memoryOptimized('Standard_E8ds_v5'),
      storage: { size: StorageSize.TIB_32 },
      highAvailability: { mode: HighAvailabilityMode.SAME_ZONE },
      maintenanceWindow: { dayOfWeek: DayOfWeek.SATURDAY, startHour: 23 },
      parameters: { work_mem: '8192' },
      tags: { env: 'prod' },
    });
    const orders = server.addDatabase('orders', { collation: 'C', deletionPolicy: DeletionPolicy.RETAIN });
    server.addRole('orders_reader', { database: orders, privileges: [RolePrivilege.SELECT], connectionLimit: 5, secretName: 'orders-reader' });
    server.addFirewallRule('office_v2', { startIpAddress: '203.0.113.0', endIpAddress: '203.0.113.255' });
    server.allowAzureServices();
    const validators = crdValidators();
    const crs = Testing.synth(chart);
    expect(crs.map((m: any) => m.kind).sort()).toEqual(['PostgresDatabase', 'PostgresFirewallRule', 'PostgresFirewallRule', 'PostgresRole', 'PostgresServer']);
    for (const cr of crs) {
      expect({ cr: cr.kind, errors: schemaErrors(validators, cr) }).toEqual({ cr: cr.kind, errors: [] });
    }
  });

  test('PostgreSQL 18, 4095 GiB and a storage tier above the size\'s default are offered, and pass the CRD schema', () => {
    const { chart } = newChart();
    new AzurePostgres(chart, 'db', {
      resourceGroup: { name: 'rg' },
      location: 'westeurope',
      version: PostgresVersion.V18,
      storage: { size: StorageSize.GIB_4095, tier: StorageTier.P60 },
      parameters: { io_method: 'worker' },
    });
    const [server] = manifestsOf(chart, 'PostgresServer');
    expect(server.spec).toMatchObject({ version: '18', storage: { sizeGB: 4095, tier: 'P60', autoGrow: false } });
    expect(schemaErrors(crdValidators(), server)).toEqual([]);
  });

  test('storage.tier is left to Azure (the size\'s default tier) unless set; the default tier itself is allowed', () => {
    const { chart } = newChart();
    minimalServer(chart);
    new AzurePostgres(chart, 'p50', { resourceGroup: { name: 'rg' }, location: 'westeurope', storage: { size: StorageSize.TIB_4, tier: StorageTier.P50 } });
    const [minimal, p50] = manifestsOf(chart, 'PostgresServer');
    expect(minimal.spec.storage).toEqual({ sizeGB: 32, autoGrow: false });
    expect(p50.spec.storage).toEqual({ sizeGB: 4096, autoGrow: false, tier: 'P50' });
  });

  test('the schema check rejects what the CRD rejects (it is not a no-op)', () => {
    const { chart } = newChart();
    minimalServer(chart);
    const [server] = manifestsOf(chart, 'PostgresServer');
    const validators = crdValidators();
    expect(schemaErrors(validators, { ...server, spec: { ...server.spec, azureName: 'Bad_Name' } })).not.toEqual([]);
    expect(schemaErrors(validators, { ...server, spec: { ...server.spec, storage: { sizeGB: 100 } } })).not.toEqual([]);
    expect(schemaErrors(validators, { ...server, spec: { ...server.spec, administratorLogin: 'root' } })).not.toEqual([]);
    expect(schemaErrors(validators, { ...server, status: { observedGeneration: 1.5 } })).not.toEqual([]);
    const { writeConnectionSecretToRef, ...withoutSecret } = server.spec;
    expect(writeConnectionSecretToRef).toBeDefined();
    expect(schemaErrors(validators, { ...server, spec: withoutSecret })).not.toEqual([]);
  });
});

describe('the raw generated classes', () => {
  test('are under the crd namespace, not beside the checked constructs', () => {
    expect(Object.keys(library).filter(name => /^Postgres(Server|Database|FirewallRule|Role)/.test(name))).toEqual([]);
    expect([library.crd.PostgresServer, library.crd.PostgresDatabase, library.crd.PostgresFirewallRule, library.crd.PostgresRole]
      .map(kind => kind.GVK.kind)).toEqual(['PostgresServer', 'PostgresDatabase', 'PostgresFirewallRule', 'PostgresRole']);
  });
});

describe('default azureName', () => {
  const azureNameAt = (chartId: string, serverId: string): string => {
    const app = Testing.app();
    // An explicit object name: odd construct ids would otherwise give an invalid generated one (tested elsewhere).
    const metadata = { name: 'server' };
    return new AzurePostgres(new Chart(app, chartId), serverId, { resourceGroup: { name: 'rg' }, location: 'westeurope', metadata }).azureName;
  };

  test('is a valid Azure server name', () => {
    for (const [chartId, serverId] of [['shop', 'db'], ['My_Chart', 'Orders.DB'], ['x', 'y'], ['9lives', '--db--'], ['a'.repeat(80), 'b'.repeat(80)]]) {
      const name = azureNameAt(chartId, serverId);
      expect({ path: `${chartId}/${serverId}`, name, valid: AZURE_SERVER_NAME.test(name) && name.length <= 63 })
        .toEqual({ path: `${chartId}/${serverId}`, name, valid: true });
    }
  });

  test('is the same on every synth of the same path, whatever CDK8S_LEGACY_HASH says', () => {
    const first = azureNameAt('shop', 'db');
    expect(azureNameAt('shop', 'db')).toBe(first);
    const previous = process.env.CDK8S_LEGACY_HASH;
    process.env.CDK8S_LEGACY_HASH = 'true';
    try {
      expect(azureNameAt('shop', 'db')).toBe(first);
    } finally {
      if (previous === undefined) delete process.env.CDK8S_LEGACY_HASH; else process.env.CDK8S_LEGACY_HASH = previous;
    }
  });

  test('differs between paths, also paths that read the same once normalized', () => {
    const names = [
      azureNameAt('shop', 'db'),
      azureNameAt('shop', 'db2'),
      azureNameAt('store', 'db'),
      azureNameAt('shop-db', 'x'),
      azureNameAt('Shop', 'db'),
      azureNameAt('shop_', 'db'),
      azureNameAt('a'.repeat(80), 'db'),
      azureNameAt('a'.repeat(81), 'db'),
    ];
    expect(new Set(names).size).toBe(names.length);
  });

  test('is the name of the PostgresServer object too: one name, one hash, in Kubernetes and in Azure', () => {
    const { chart } = newChart();
    const server = new AzurePostgres(chart, 'ledger_core', { resourceGroup: { name: 'rg' }, location: 'westeurope' });
    expect(server.azureName).toMatch(/^test-ledger-core-[0-9a-f]{8}$/);
    expect(server.name).toBe(server.azureName);
    expect(manifestsOf(chart, 'PostgresServer')[0].metadata.name).toBe(server.azureName);
  });

  test('an explicit azureName or object name leaves the other at the default name', () => {
    const { chart } = newChart();
    const named = new AzurePostgres(chart, 'a', { resourceGroup: { name: 'rg' }, location: 'westeurope', azureName: 'ledger-prod' });
    const objectNamed = new AzurePostgres(chart, 'b', { resourceGroup: { name: 'rg' }, location: 'westeurope', metadata: { name: 'ledger' } });
    expect(named.name).toMatch(/^test-a-[0-9a-f]{8}$/);
    expect(objectNamed.name).toBe('ledger');
    expect(objectNamed.azureName).toMatch(/^test-b-[0-9a-f]{8}$/);
  });

  test('tells where it comes from: it starts with the readable path', () => {
    expect(azureNameAt('shop', 'orders-db')).toMatch(/^shop-orders-db-[0-9a-f]{8}$/);
  });
});

describe('children', () => {
  test('databases, roles and firewall rules refer to the server by object name, in its namespace', () => {
    const { chart } = newChart();
    const server = new AzurePostgres(chart, 'db', { resourceGroup: { name: 'rg' }, location: 'westeurope', metadata: { namespace: 'shop' } });
    const catalog = server.addDatabase('catalog');
    server.addRole('catalog_app', { database: catalog });
    server.addFirewallRule('office', { startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.1' });
    const manifests = Testing.synth(chart);
    const children = manifests.filter((m: any) => m.kind !== 'PostgresServer');
    expect(children).toHaveLength(3);
    for (const child of children) {
      expect({ kind: child.kind, serverRef: child.spec.serverRef, namespace: child.metadata.namespace })
        .toEqual({ kind: child.kind, serverRef: { name: server.name }, namespace: 'shop' });
    }
    const role = children.find((m: any) => m.kind === 'PostgresRole');
    expect(role.spec.databaseRef).toEqual({ name: catalog.name });
  });

  test('database defaults', () => {
    const { chart } = newChart();
    minimalServer(chart).addDatabase('catalog');
    const [db] = manifestsOf(chart, 'PostgresDatabase');
    expect(db.spec).toEqual({ serverRef: { name: expect.any(String) }, azureName: 'catalog', charset: 'UTF8', collation: 'en_US.utf8', extensionRemovalPolicy: 'Retain' });
  });

  test('role defaults: ALL privileges, no connection limit, Secret named after the server and the role', () => {
    const { chart } = newChart();
    const server = minimalServer(chart);
    const role = server.addRole('catalog_app', { database: server.addDatabase('catalog') });
    const [manifest] = manifestsOf(chart, 'PostgresRole');
    expect(manifest.spec).toMatchObject({
      roleName: 'catalog_app',
      privileges: ['ALL'],
      connectionLimit: -1,
      writeConnectionSecretToRef: { name: `${server.name}-catalog-app` },
    });
    expect(manifest.spec.deletionPolicy).toBeUndefined();
    expect(role.secretName).toBe(`${server.name}-catalog-app`);
  });

  test('database names Azure accepts pass: hyphens and capitals (the reconciler quotes them)', () => {
    const { chart } = newChart();
    const server = minimalServer(chart);
    server.addDatabase('asotest-db-ylwxua');
    server.addDatabase('Catalog');
    expect(manifestsOf(chart, 'PostgresDatabase').map(d => d.spec.azureName)).toEqual(['asotest-db-ylwxua', 'Catalog']);
  });

  test('children inherit the server\'s deletionPolicy unless they set their own', () => {
    const { chart } = newChart();
    const server = new AzurePostgres(chart, 'db', { resourceGroup: { name: 'rg' }, location: 'westeurope', deletionPolicy: DeletionPolicy.RETAIN });
    const catalog = server.addDatabase('catalog');
    const scratch = server.addDatabase('scratch', { deletionPolicy: DeletionPolicy.DELETE });
    server.addRole('catalog_app', { database: catalog });
    server.addFirewallRule('office', { startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.1', deletionPolicy: DeletionPolicy.RETAIN });
    const policies = Testing.synth(chart).map((m: any) => [m.kind, m.spec.azureName ?? m.spec.roleName, m.spec.deletionPolicy]);
    expect(policies).toEqual([
      ['PostgresServer', server.azureName, 'Retain'],
      ['PostgresDatabase', 'catalog', undefined],
      ['PostgresDatabase', 'scratch', 'Delete'],
      ['PostgresRole', 'catalog_app', undefined],
      ['PostgresFirewallRule', 'office', 'Retain'],
    ]);
    expect(scratch.apiObject.toJson().spec.deletionPolicy).toBe('Delete');
  });

  test('allowAzureServices is the 0.0.0.0-0.0.0.0 rule, and only on request', () => {
    const { chart } = newChart();
    const server = minimalServer(chart);
    expect(manifestsOf(chart, 'PostgresFirewallRule')).toEqual([]);
    server.allowAzureServices();
    const [rule] = manifestsOf(chart, 'PostgresFirewallRule');
    expect(rule.spec).toMatchObject({ startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' });
  });

  test('names with underscores still give valid object names', () => {
    const { chart } = newChart();
    const server = minimalServer(chart);
    const db = server.addDatabase('order_items');
    server.addRole('order_items_app', { database: db });
    server.addFirewallRule('office_1', { startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.2' });
    for (const m of Testing.synth(chart)) {
      expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
    }
  });

  test('the server lists its children, also ones defined elsewhere in the app', () => {
    const { app, chart } = newChart();
    const server = minimalServer(chart);
    const catalog = server.addDatabase('catalog');
    const other = new Chart(app, 'other');
    const orders = new AzurePostgresDatabase(other, 'orders', { server, databaseName: 'orders' });
    expect(server.databases).toEqual([catalog, orders]);
    expect(server.roles).toEqual([]);
  });

  test('databases, firewall rules and roles share one base: server, object name and namespace, brand', () => {
    const { chart } = newChart();
    const server = new AzurePostgres(chart, 'db', { resourceGroup: { name: 'rg' }, location: 'westeurope', metadata: { namespace: 'shop' } });
    const catalog = server.addDatabase('catalog');
    const children: AzurePostgresChild[] = [
      catalog,
      server.addFirewallRule('office', { startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.1' }),
      server.addRole('catalog_app', { database: catalog }),
    ];
    const manifests = Testing.synth(chart);
    for (const child of children) {
      expect(child).toBeInstanceOf(AzurePostgresChild);
      expect(child.server).toBe(server);
      expect(child.namespace).toBe('shop');
      expect(manifests.map((m: any) => m.metadata.name)).toContain(child.name);
    }
    const brands = children.map(c => [
      AzurePostgresDatabase.isAzurePostgresDatabase(c),
      AzurePostgresFirewallRule.isAzurePostgresFirewallRule(c),
      AzurePostgresRole.isAzurePostgresRole(c),
    ]);
    expect(brands).toEqual([[true, false, false], [false, true, false], [false, false, true]]);
    expect(AzurePostgres.isAzurePostgres(catalog)).toBe(false);
    expect(AzurePostgres.isAzurePostgres(server)).toBe(true);
  });
});
