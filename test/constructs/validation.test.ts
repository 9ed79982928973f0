/**
 * One test per validation rule: the mistake must fail synth with a message naming the construct path, the field and
 * the bad value (as `field = <value as JSON>`), and saying what is allowed or how to fix it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart, Cron } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { Node } from 'constructs';
import { errorOf, newChart, synthApp } from './support';
import {
  AvailabilityZone,
  AzurePostgres,
  AzurePostgresDatabase,
  AzurePostgresFirewallRule,
  AzurePostgresProps,
  AzurePostgresRole,
  ComputeSku,
  ComputeTier,
  ConnectionSecretKey,
  DayOfWeek,
  HighAvailabilityMode,
  PostgresVersion,
  Reconciler,
  ReconcilerProps,
  RolePrivilege,
  StorageSize,
  StorageTier,
  WebAppWithDb,
  WebAppWithDbProps,
} from '../../src';
import { addAppCheck } from '../../src/app-checks';

const SUBNET = '/subscriptions/sub/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/postgres';
const DNS_ZONE = '/subscriptions/sub/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/shop.postgres.database.azure.com';
const SUBSCRIPTION = '11111111-2222-3333-4444-555555555555';

/** A server at path test/db with valid required props and `props` on top. */
function server(props: Partial<AzurePostgresProps> = {}, chart: Chart = newChart().chart, id = 'db'): AzurePostgres {
  return new AzurePostgres(chart, id, { resourceGroup: { name: 'rg' }, location: 'westeurope', ...props });
}

/** A server with a database "catalog" and a role "catalog_app" on it. */
function serverWithRole(chart: Chart = newChart().chart) {
  const db = server({}, chart);
  const catalog = db.addDatabase('catalog');
  const role = db.addRole('catalog_app', { database: catalog });
  return { db, catalog, role };
}

function webApp(props: Partial<WebAppWithDbProps> = {}) {
  const { chart } = newChart();
  const { role } = serverWithRole(chart);
  return new WebAppWithDb(chart, 'app', { image: 'nginx', role, ...props });
}

function reconciler(props: Partial<ReconcilerProps> = {}) {
  const { chart } = newChart();
  return new Reconciler(chart, 'reconciler', { subscriptionId: SUBSCRIPTION, ...props });
}

/** Synthesizes the whole app the chart is in, running the whole-app validations as `cdk8s synth` does. */
function synthAppOf(chart: Chart) {
  return synthApp(chart.node.root as App);
}

interface Case {
  /** What is wrong. */
  readonly mistake: string;
  /** Builds the mistake (and synthesizes, for whole-app checks). */
  readonly act: () => unknown;
  /** The construct path the message must name. */
  readonly path: string;
  readonly field: string;
  readonly value: unknown;
  /** For generated values: a pattern the value (as JSON) must match instead of `value`. */
  readonly valuePattern?: RegExp;
  /** Part of the explanation: what is allowed, or the fix. */
  readonly hint: string | RegExp;
}

const cases: Case[] = [
  // ---- AzurePostgres properties ----
  { mistake: 'azureName with uppercase and underscore', act: () => server({ azureName: 'Shop_DB' }), path: 'test/db', field: 'azureName', value: 'Shop_DB', hint: 'lowercase letters, digits and hyphens' },
  { mistake: 'azureName too short', act: () => server({ azureName: 'db' }), path: 'test/db', field: 'azureName', value: 'db', hint: '3-63 characters' },
  { mistake: 'azureName ending with a hyphen', act: () => server({ azureName: 'shop-db-' }), path: 'test/db', field: 'azureName', value: 'shop-db-', hint: 'not starting or ending with a hyphen' },
  { mistake: 'resource group name ending with a period', act: () => server({ resourceGroup: { name: 'rg.' } }), path: 'test/db', field: 'resourceGroup.name', value: 'rg.', hint: 'not ending with a period' },
  { mistake: 'resource group name too long', act: () => server({ resourceGroup: { name: 'r'.repeat(91) } }), path: 'test/db', field: 'resourceGroup.name', value: 'r'.repeat(91), hint: '1-90 characters' },
  { mistake: 'location as a display name', act: () => server({ location: 'West Europe' }), path: 'test/db', field: 'location', value: 'West Europe', hint: 'westeurope' },
  { mistake: 'unsupported version', act: () => server({ version: '19' as PostgresVersion }), path: 'test/db', field: 'version', value: '19', hint: '"14", "15", "16", "17", "18"' },
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  { mistake: 'retired version 13', act: () => server({ version: PostgresVersion.V13 }), path: 'test/db', field: 'version', value: '13', hint: 'Azure creates no new server on it' },
  { mistake: 'unknown tier', act: () => server({ sku: ComputeSku.of('Premium' as ComputeTier, 'Standard_B1ms') }), path: 'test/db', field: 'sku.tier', value: 'Premium', hint: '"Burstable", "GeneralPurpose", "MemoryOptimized"' },
  { mistake: 'SKU name of another tier', act: () => server({ sku: ComputeSku.generalPurpose('Standard_B2s') }), path: 'test/db', field: 'sku.name', value: 'Standard_B2s', hint: 'is a Burstable SKU, not GeneralPurpose: set sku.tier to Burstable, or choose a GeneralPurpose SKU' },
  { mistake: 'Burstable with a D SKU', act: () => server({ sku: ComputeSku.burstable('Standard_D2ds_v5') }), path: 'test/db', field: 'sku.name', value: 'Standard_D2ds_v5', hint: 'is a GeneralPurpose SKU, not Burstable' },
  { mistake: 'MemoryOptimized with a D SKU', act: () => server({ sku: ComputeSku.memoryOptimized('Standard_D2ds_v5') }), path: 'test/db', field: 'sku.name', value: 'Standard_D2ds_v5', hint: 'choose a MemoryOptimized SKU: Esv3 (Standard_E2s_v3)' },
  { mistake: 'a SKU of a series Azure does not sell', act: () => server({ sku: ComputeSku.generalPurpose('Standard_D2ds_v9') }), path: 'test/db', field: 'sku.name', value: 'Standard_D2ds_v9', hint: 'is not a SKU of a series Azure sells for GeneralPurpose' },
  { mistake: 'SKU name without Standard_', act: () => server({ sku: ComputeSku.burstable('B1ms') }), path: 'test/db', field: 'sku.name', value: 'B1ms', hint: 'Standard_B1ms' },
  { mistake: 'storage size Azure does not offer', act: () => server({ storage: { size: StorageSize.ofGibibytes(100) } }), path: 'test/db', field: 'storage.size (GiB)', value: 100, hint: '2048, 4095, 4096' },
  {
    mistake: 'storage tier below the default tier of the size',
    act: () => server({ storage: { size: StorageSize.GIB_256, tier: StorageTier.P10 } }),
    path: 'test/db',
    field: 'storage.tier',
    value: 'P10',
    hint: 'may not be below P15, the default tier of 256 GiB',
  },
  { mistake: 'unknown storage tier', act: () => server({ storage: { tier: 'P3' as StorageTier } }), path: 'test/db', field: 'storage.tier', value: 'P3', hint: '"P4", "P6"' },
  { mistake: 'backup retention below 7 days', act: () => server({ backup: { retentionDays: 3 } }), path: 'test/db', field: 'backup.retentionDays', value: 3, hint: 'from 7 to 35' },
  { mistake: 'backup retention above 35 days', act: () => server({ backup: { retentionDays: 36 } }), path: 'test/db', field: 'backup.retentionDays', value: 36, hint: 'from 7 to 35' },
  { mistake: 'backup retention not a whole number', act: () => server({ backup: { retentionDays: 7.5 } }), path: 'test/db', field: 'backup.retentionDays', value: 7.5, hint: 'whole number' },
  { mistake: 'high availability on Burstable', act: () => server({ highAvailability: { mode: HighAvailabilityMode.ZONE_REDUNDANT } }), path: 'test/db', field: 'highAvailability.mode', value: 'ZoneRedundant', hint: 'not available on the Burstable tier' },
  { mistake: 'unknown high-availability mode', act: () => server({ sku: ComputeSku.STANDARD_D2DS_V5, highAvailability: { mode: 'Always' as HighAvailabilityMode } }), path: 'test/db', field: 'highAvailability.mode', value: 'Always', hint: '"Disabled", "ZoneRedundant", "SameZone"' },
  {
    mistake: 'standby zone without ZoneRedundant',
    act: () => server({
      sku: ComputeSku.STANDARD_D2DS_V5,
      highAvailability: { mode: HighAvailabilityMode.SAME_ZONE, standbyAvailabilityZone: AvailabilityZone.ZONE_2 },
    }),
    path: 'test/db',
    field: 'highAvailability.standbyAvailabilityZone',
    value: '2',
    hint: 'applies only to mode ZoneRedundant',
  },
  {
    mistake: 'standby zone equal to the primary zone',
    act: () => server({
      sku: ComputeSku.STANDARD_D2DS_V5,
      availabilityZone: AvailabilityZone.ZONE_1,
      highAvailability: { mode: HighAvailabilityMode.ZONE_REDUNDANT, standbyAvailabilityZone: AvailabilityZone.ZONE_1 },
    }),
    path: 'test/db',
    field: 'highAvailability.standbyAvailabilityZone',
    value: '1',
    hint: 'must differ from availabilityZone',
  },
  { mistake: 'unknown availability zone', act: () => server({ availabilityZone: '4' as AvailabilityZone }), path: 'test/db', field: 'availabilityZone', value: '4', hint: '"1", "2", "3"' },
  { mistake: 'delegated subnet without DNS zone', act: () => server({ network: { delegatedSubnetResourceId: SUBNET } }), path: 'test/db', field: 'network.privateDnsZoneResourceId', value: undefined, hint: 'private access needs both' },
  { mistake: 'DNS zone without delegated subnet', act: () => server({ network: { privateDnsZoneResourceId: DNS_ZONE } }), path: 'test/db', field: 'network.delegatedSubnetResourceId', value: undefined, hint: 'private access needs both' },
  {
    mistake: 'private access with publicNetworkAccess true',
    act: () => server({ network: { publicNetworkAccess: true, delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE } }),
    path: 'test/db',
    field: 'network.publicNetworkAccess',
    value: true,
    hint: 'must be false with network.delegatedSubnetResourceId',
  },
  {
    mistake: 'subnet ID of a virtual network, not a subnet',
    act: () => server({ network: { delegatedSubnetResourceId: SUBNET.replace('/subnets/postgres', ''), privateDnsZoneResourceId: DNS_ZONE } }),
    path: 'test/db',
    field: 'network.delegatedSubnetResourceId',
    value: SUBNET.replace('/subnets/postgres', ''),
    hint: 'a subnet resource ID',
  },
  {
    mistake: 'private DNS zone not under postgres.database.azure.com',
    act: () => server({ network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE.replace('.postgres.database.azure.com', '.example.com') } }),
    path: 'test/db',
    field: 'network.privateDnsZoneResourceId',
    value: DNS_ZONE.replace('.postgres.database.azure.com', '.example.com'),
    hint: 'ends with the PostgreSQL suffix of your Azure cloud (.postgres.database.azure.com, .postgres.database.usgovcloudapi.net, .postgres.database.chinacloudapi.cn)',
  },
  {
    mistake: 'private DNS zone named after the server itself',
    act: () => server({ azureName: 'shop-db', network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE.replace('/shop.', '/Shop-DB.') } }),
    path: 'test/db',
    field: 'network.privateDnsZoneResourceId',
    value: DNS_ZONE.replace('/shop.', '/Shop-DB.'),
    hint: 'must not be named after this server (shop-db)',
  },
  { mistake: 'reserved administrator login, other case', act: () => server({ administratorLogin: 'Admin' }), path: 'test/db', field: 'administratorLogin', value: 'Admin', hint: 'reserved by Azure' },
  { mistake: 'reserved administrator login azure_superuser', act: () => server({ administratorLogin: 'AZURE_SUPERUSER' }), path: 'test/db', field: 'administratorLogin', value: 'AZURE_SUPERUSER', hint: 'reserved by Azure' },
  { mistake: 'administrator login starting with pg_', act: () => server({ administratorLogin: 'PG_owner' }), path: 'test/db', field: 'administratorLogin', value: 'PG_owner', hint: 'pg_*' },
  { mistake: 'administrator login starting with a digit', act: () => server({ administratorLogin: '1admin' }), path: 'test/db', field: 'administratorLogin', value: '1admin', hint: 'starting with a letter' },
  { mistake: 'administrator login too long', act: () => server({ administratorLogin: 'a'.repeat(64) }), path: 'test/db', field: 'administratorLogin', value: 'a'.repeat(64), hint: '1-63 characters' },
  { mistake: 'maintenance day out of range', act: () => server({ maintenanceWindow: { dayOfWeek: 7 as DayOfWeek, startHour: 1 } }), path: 'test/db', field: 'maintenanceWindow.dayOfWeek', value: 7, hint: 'from 0 to 6' },
  { mistake: 'maintenance hour out of range', act: () => server({ maintenanceWindow: { dayOfWeek: DayOfWeek.MONDAY, startHour: 24 } }), path: 'test/db', field: 'maintenanceWindow.startHour', value: 24, hint: 'from 0 to 23' },
  { mistake: 'maintenance minute out of range', act: () => server({ maintenanceWindow: { dayOfWeek: DayOfWeek.MONDAY, startHour: 1, startMinute: 60 } }), path: 'test/db', field: 'maintenanceWindow.startMinute', value: 60, hint: 'from 0 to 59' },
  { mistake: 'unknown deletion policy', act: () => server({ deletionPolicy: 'Orphan' as any }), path: 'test/db', field: 'deletionPolicy', value: 'Orphan', hint: '"Delete", "Retain"' },
  { mistake: 'connection Secret name with uppercase', act: () => server({ connectionSecretName: 'DB_Admin' }), path: 'test/db', field: 'connectionSecretName', value: 'DB_Admin', hint: 'Kubernetes object name' },
  { mistake: 'namespace with uppercase', act: () => server({ metadata: { namespace: 'Shop' } }), path: 'test/db', field: 'metadata.namespace', value: 'Shop', hint: 'namespace name' },
  { mistake: 'explicit object name with underscore', act: () => server({ metadata: { name: 'shop_db' } }), path: 'test/db', field: 'metadata.name', value: 'shop_db', hint: 'Kubernetes object name' },
  {
    mistake: 'construct id that gives an invalid object name',
    act: () => { const { chart } = newChart(); new AzurePostgresDatabase(chart, 'orders_db', { server: server({}, chart), databaseName: 'orders' }); },
    path: 'test/orders_db',
    field: 'metadata.name (generated from the construct path)',
    value: undefined,
    valuePattern: /^"test-orders_db-c8[0-9a-f]{6}"$/,
    hint: 'set metadata.name',
  },
  { mistake: 'parameter value longer than 1024', act: () => server({ parameters: { work_mem: 'x'.repeat(1025) } }), path: 'test/db', field: 'parameters.work_mem', value: 'x'.repeat(1025), hint: 'at most 1024 characters' },
  { mistake: 'parameter value not a string', act: () => server({ parameters: { work_mem: 8192 as any } }), path: 'test/db', field: 'parameters.work_mem', value: 8192, hint: 'must be a string' },
  { mistake: 'parameter name with a space', act: () => server().addParameter('work mem', '1'), path: 'test/db', field: 'parameters.work mem', value: '1', hint: 'a parameter name has only lowercase letters' },
  {
    mistake: 'unknown parameter name (a typo)',
    act: () => server({ parameters: { log_min_duration_statment: '500' } }),
    path: 'test/db',
    field: 'parameters.log_min_duration_statment',
    value: '500',
    hint: 'is not a server parameter of PostgreSQL 16 on Azure; did you mean log_min_duration_statement?',
  },
  {
    mistake: 'unknown parameter name added later, on another version',
    act: () => server({ version: PostgresVersion.V18 }).addParameter('max_conections', '100'),
    path: 'test/db',
    field: 'parameters.max_conections',
    value: '100',
    hint: 'PostgreSQL 18 on Azure; did you mean max_connections?',
  },
  {
    mistake: 'parameter of another major version',
    act: () => server({ version: PostgresVersion.V17 }).addParameter('old_snapshot_threshold', '10'),
    path: 'test/db',
    field: 'parameters.old_snapshot_threshold',
    value: '10',
    hint: 'is not a parameter of PostgreSQL 17',
  },
  { mistake: 'parameter value of the wrong type', act: () => server({ parameters: { log_min_duration_statement: 'soon' } }), path: 'test/db', field: 'parameters.log_min_duration_statement', value: 'soon', hint: 'must be a whole number' },
  {
    mistake: 'a parameter set twice to different values',
    act: () => { const s = server({ parameters: { work_mem: '4096' } }); s.addParameter('work_mem', '8192'); },
    path: 'test/db',
    field: 'parameters.work_mem',
    value: '8192',
    hint: 'is already set to "4096"',
  },
  {
    mistake: 'more than 200 parameters',
    act: () => server({ parameters: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`p${i}`, '1'])) }),
    path: 'test/db',
    field: 'parameters',
    value: '201 parameters',
    hint: 'at most 200',
  },
  { mistake: 'tag name with a slash', act: () => server({ tags: { 'team/owner': 'shop' } }), path: 'test/db', field: 'tags.team/owner', value: 'shop', hint: 'may not contain any of < > % & \\ ? /' },
  { mistake: 'tag named like the reconciler\'s own', act: () => server({ tags: { 'cdk8s-azure.dev-name': 'x' } }), path: 'test/db', field: 'tags.cdk8s-azure.dev-name', value: 'x', hint: 'the reconciler\'s owner tags' },
  { mistake: 'owner tag in another letter case', act: () => server().addTag('CDK8S-AZURE.DEV-UID', 'x'), path: 'test/db', field: 'tags.CDK8S-AZURE.DEV-UID', value: 'x', hint: 'in any letter case' },
  { mistake: 'tag name with a prefix Azure keeps', act: () => server({ tags: { 'Microsoft.Owner': 'x' } }), path: 'test/db', field: 'tags.Microsoft.Owner', value: 'x', hint: 'reserved by Azure' },
  { mistake: 'tag name longer than 512', act: () => server().addTag('t'.repeat(513), 'x'), path: 'test/db', field: `tags.${'t'.repeat(513)}`, value: 'x', hint: 'at most 512 characters' },
  {
    mistake: 'a tag set twice in two letter cases (Azure tag names ignore case)',
    act: () => { const s = server({ tags: { team: 'shop' } }); s.addTag('Team', 'web'); },
    path: 'test/db',
    field: 'tags.Team',
    value: 'web',
    hint: 'is already set as "team" (Azure tag names ignore case) to "shop"',
  },
  { mistake: 'tag value longer than 256', act: () => server({ tags: { team: 't'.repeat(257) } }), path: 'test/db', field: 'tags.team', value: 't'.repeat(257), hint: 'at most 256 characters' },
  {
    mistake: 'more than 46 tags',
    act: () => server({ tags: Object.fromEntries(Array.from({ length: 47 }, (_, i) => [`t${i}`, '1'])) }),
    path: 'test/db',
    field: 'tags',
    value: '47 tags',
    hint: 'at most 46 tags',
  },
  {
    mistake: 'a 47th tag added later',
    act: () => { const s = server({ tags: Object.fromEntries(Array.from({ length: 46 }, (_, i) => [`t${i}`, '1'])) }); s.addTag('one-more', '1'); },
    path: 'test/db',
    field: 'tags',
    value: '47 tags',
    hint: 'at most 46 tags',
  },

  // ---- databases ----
  { mistake: 'database name starting with a digit', act: () => server().addDatabase('1catalog'), path: 'test/db/Database-1catalog', field: 'databaseName', value: '1catalog', hint: 'starting with a letter or underscore' },
  { mistake: 'database name with a period', act: () => server().addDatabase('shop.catalog'), path: 'test/db/Database-shop.catalog', field: 'databaseName', value: 'shop.catalog', hint: 'letters, digits, underscores and hyphens' },
  // Azure accepts uppercase letters and hyphens (it created asotest-db-ylwxua), not $.
  { mistake: 'database name with a dollar sign', act: () => server().addDatabase('catalog$'), path: 'test/db/Database-catalog$', field: 'databaseName', value: 'catalog$', hint: 'letters, digits, underscores and hyphens' },
  { mistake: 'database name Azure reserves', act: () => server().addDatabase('azure_sys'), path: 'test/db/Database-azure-sys', field: 'databaseName', value: 'azure_sys', hint: 'reserved by Azure' },
  { mistake: 'database name postgres', act: () => server().addDatabase('postgres'), path: 'test/db/Database-postgres', field: 'databaseName', value: 'postgres', hint: 'reserved by Azure' },
  { mistake: 'database name too long', act: () => server().addDatabase('d'.repeat(64)), path: `test/db/Database-${'d'.repeat(64)}`, field: 'databaseName', value: 'd'.repeat(64), hint: '1-63 characters' },
  // Azure's collation rule allows spaces and periods after the first letters, not other punctuation.
  { mistake: 'collation with a semicolon', act: () => server().addDatabase('catalog', { collation: 'en_US;utf8' }), path: 'test/db/Database-catalog', field: 'collation', value: 'en_US;utf8', hint: 'en_US.utf8' },
  { mistake: 'unknown charset', act: () => server().addDatabase('catalog', { charset: 'LATIN1' as any }), path: 'test/db/Database-catalog', field: 'charset', value: 'LATIN1', hint: '"UTF8"' },
  {
    mistake: 'database namespace other than the server\'s',
    act: () => server({ metadata: { namespace: 'shop' } }).addDatabase('catalog', { metadata: { namespace: 'other' } }),
    path: 'test/db/Database-catalog',
    field: 'metadata.namespace',
    value: 'other',
    hint: 'namespace of its server',
  },
  {
    mistake: 'the same database added twice',
    act: () => { const s = server(); s.addDatabase('catalog'); s.addDatabase('catalog'); },
    path: 'test/db',
    field: 'databaseName',
    value: 'catalog',
    hint: 'already has a database with this name',
  },

  // ---- firewall rules ----
  { mistake: 'start address not IPv4', act: () => server().addFirewallRule('office', { startIpAddress: '256.1.1.1', endIpAddress: '10.0.0.1' }), path: 'test/db/FirewallRule-office', field: 'startIpAddress', value: '256.1.1.1', hint: 'IPv4 address' },
  { mistake: 'end address with a leading zero', act: () => server().addFirewallRule('office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.01' }), path: 'test/db/FirewallRule-office', field: 'endIpAddress', value: '10.0.0.01', hint: 'without leading zeros' },
  { mistake: 'IPv6 address', act: () => server().addFirewallRule('office', { startIpAddress: '2001:db8::1', endIpAddress: '2001:db8::1' }), path: 'test/db/FirewallRule-office', field: 'startIpAddress', value: '2001:db8::1', hint: 'IPv4 address' },
  { mistake: 'start after end', act: () => server().addFirewallRule('office', { startIpAddress: '10.0.0.9', endIpAddress: '10.0.0.2' }), path: 'test/db/FirewallRule-office', field: 'endIpAddress', value: '10.0.0.2', hint: 'must not be below startIpAddress (10.0.0.9); swap them' },
  { mistake: 'rule name with a space', act: () => server().addFirewallRule('office rule', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }), path: 'test/db/FirewallRule-office rule', field: 'ruleName', value: 'office rule', hint: 'letters, digits, hyphens and underscores' },
  {
    mistake: 'firewall rule on a server with private access',
    act: () => server({ network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE } })
      .addFirewallRule('office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }),
    path: 'test/db/FirewallRule-office',
    field: 'server',
    value: 'test/db',
    hint: 'firewall rules do not apply',
  },
  {
    mistake: 'allowAzureServices on a server without public access',
    act: () => server({ network: { publicNetworkAccess: false } }).allowAzureServices(),
    path: 'test/db/FirewallRule-AllowAllAzureServicesAndResourcesWithinAzureIps',
    field: 'server',
    value: 'test/db',
    hint: 'has no public access',
  },
  {
    mistake: 'two rules whose names differ only in case',
    act: () => { const s = server(); s.addFirewallRule('office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }); s.addFirewallRule('Office', { startIpAddress: '10.0.0.2', endIpAddress: '10.0.0.2' }); },
    path: 'test/db',
    field: 'ruleName',
    value: 'Office',
    hint: 'ignoring case',
  },

  {
    mistake: 'unknown firewall rule deletion policy',
    act: () => server().addFirewallRule('office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1', deletionPolicy: 'Keep' as any }),
    path: 'test/db/FirewallRule-office',
    field: 'deletionPolicy',
    value: 'Keep',
    hint: '"Delete", "Retain"',
  },
  {
    mistake: 'firewall rule namespace other than the server\'s',
    act: () => server({ metadata: { namespace: 'shop' } }).addFirewallRule('office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1', metadata: { namespace: 'web' } }),
    path: 'test/db/FirewallRule-office',
    field: 'metadata.namespace',
    value: 'web',
    hint: 'namespace of its server',
  },
  {
    mistake: 'a child in a namespaced chart, of a server without namespace',
    act: () => { const { app, chart } = newChart(); const s = server({}, chart); new AzurePostgresDatabase(new Chart(app, 'shop', { namespace: 'shop' }), 'orders', { server: s, databaseName: 'orders' }); },
    path: 'shop/orders',
    field: 'namespace',
    value: 'shop',
    hint: 'no namespace (kubectl\'s current namespace)',
  },

  {
    mistake: 'a child without a server (from JavaScript)',
    act: () => new AzurePostgresFirewallRule(newChart().chart, 'office', { server: undefined as any, ruleName: 'office', startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }),
    path: 'test/office',
    field: 'server',
    value: undefined,
    hint: 'is required',
  },

  // ---- roles ----
  { mistake: 'role name with uppercase', act: () => { const s = server(); s.addRole('CatalogApp', { database: s.addDatabase('catalog') }); }, path: 'test/db/Role-CatalogApp', field: 'roleName', value: 'CatalogApp', hint: 'lowercase letters' },
  { mistake: 'role name postgres', act: () => { const s = server(); s.addRole('postgres', { database: s.addDatabase('catalog') }); }, path: 'test/db/Role-postgres', field: 'roleName', value: 'postgres', hint: 'is reserved' },
  ...['current_user', 'session_user', 'current_role', 'none', 'azuresu', 'azure_pg_admin', 'public'].map(name => ({
    mistake: `role name ${name} (reserved or built in)`,
    act: () => { const s = server(); s.addRole(name, { database: s.addDatabase('catalog') }); },
    path: `test/db/Role-${name.replace(/_/g, '-')}`,
    field: 'roleName',
    value: name,
    hint: 'is reserved',
  })),
  { mistake: 'role name starting with pg_', act: () => { const s = server(); s.addRole('pg_app', { database: s.addDatabase('catalog') }); }, path: 'test/db/Role-pg-app', field: 'roleName', value: 'pg_app', hint: 'pg_*' },
  {
    mistake: 'role for a database of another server',
    act: () => { const { chart } = newChart(); const a = server({}, chart, 'a'); const b = server({}, chart, 'b'); a.addRole('app', { database: b.addDatabase('catalog') }); },
    path: 'test/a/Role-app',
    field: 'database',
    value: 'catalog',
    hint: 'a role can only be granted a database on its own server',
  },
  { mistake: 'no privileges', act: () => { const s = server(); s.addRole('app', { database: s.addDatabase('catalog'), privileges: [] }); }, path: 'test/db/Role-app', field: 'privileges', value: [], hint: 'must list at least one privilege' },
  {
    mistake: 'a privilege listed twice',
    act: () => { const s = server(); s.addRole('app', { database: s.addDatabase('catalog'), privileges: [RolePrivilege.SELECT, RolePrivilege.SELECT] }); },
    path: 'test/db/Role-app',
    field: 'privileges',
    value: ['SELECT', 'SELECT'],
    hint: 'more than once',
  },
  {
    mistake: 'unknown privilege',
    act: () => { const s = server(); s.addRole('app', { database: s.addDatabase('catalog'), privileges: ['DROP' as RolePrivilege] }); },
    path: 'test/db/Role-app',
    field: 'privileges',
    value: ['DROP'],
    hint: '"DROP" is not a privilege; use ALL, CONNECT',
  },
  { mistake: 'connection limit below -1', act: () => { const s = server(); s.addRole('app', { database: s.addDatabase('catalog'), connectionLimit: -2 }); }, path: 'test/db/Role-app', field: 'connectionLimit', value: -2, hint: 'from -1 to 2147483647' },
  { mistake: 'connection limit above PostgreSQL\'s integer', act: () => { const s = server(); s.addRole('app', { database: s.addDatabase('catalog'), connectionLimit: 2147483648 }); }, path: 'test/db/Role-app', field: 'connectionLimit', value: 2147483648, hint: 'from -1 to 2147483647' },
  { mistake: 'Secret name with uppercase', act: () => { const s = server(); s.addRole('app', { database: s.addDatabase('catalog'), secretName: 'App_Secret' }); }, path: 'test/db/Role-app', field: 'secretName', value: 'App_Secret', hint: 'Kubernetes object name' },
  {
    mistake: 'unknown role deletion policy',
    act: () => { const s = server(); s.addRole('app', { database: s.addDatabase('catalog'), deletionPolicy: 'Drop' as any }); },
    path: 'test/db/Role-app',
    field: 'deletionPolicy',
    value: 'Drop',
    hint: '"Delete", "Retain"',
  },
  {
    mistake: 'role namespace other than the server\'s',
    act: () => { const s = server({ metadata: { namespace: 'shop' } }); s.addRole('app', { database: s.addDatabase('catalog'), metadata: { namespace: 'web' } }); },
    path: 'test/db/Role-app',
    field: 'metadata.namespace',
    value: 'web',
    hint: 'namespace of its server',
  },
  {
    mistake: 'the same role added twice',
    act: () => { const s = server(); const db = s.addDatabase('catalog'); s.addRole('app', { database: db }); s.addRole('app', { database: db }); },
    path: 'test/db',
    field: 'roleName',
    value: 'app',
    hint: 'already has a role with this name',
  },
  {
    mistake: 'two environment variables with one name',
    act: () => serverWithRole().role.env({ username: 'PGHOST' }),
    path: 'test/db/Role-catalog-app',
    field: 'name for username',
    value: 'PGHOST',
    hint: 'is also the name for host',
  },
  { mistake: 'invalid environment variable name', act: () => serverWithRole().role.env({ uri: '1URL' }), path: 'test/db/Role-catalog-app', field: 'name for uri', value: '1URL', hint: 'environment variable name' },
  { mistake: 'a key outside the Secret contract', act: () => serverWithRole().role.envValue('hostname' as ConnectionSecretKey), path: 'test/db/Role-catalog-app', field: 'key', value: 'hostname', hint: '"jdbc-uri"' },

  // ---- whole-app checks (at synth) ----
  {
    mistake: 'two databases with one name on a server (one defined elsewhere)',
    act: () => { const { chart } = newChart(); const s = server({}, chart); s.addDatabase('catalog'); new AzurePostgresDatabase(chart, 'again', { server: s, databaseName: 'catalog' }); synthAppOf(chart); },
    path: 'test/db',
    field: 'databaseName',
    value: 'catalog',
    hint: 'database names must be unique on a server',
  },
  {
    mistake: 'two roles with one name on a server (one defined elsewhere)',
    act: () => {
      const { chart } = newChart(); const s = server({}, chart); const db = s.addDatabase('catalog');
      s.addRole('app', { database: db }); new AzurePostgresRole(chart, 'again', { server: s, database: db, roleName: 'app', secretName: 'other' }); synthAppOf(chart);
    },
    path: 'test/db',
    field: 'roleName',
    value: 'app',
    hint: 'role names must be unique on a server',
  },
  {
    mistake: 'two firewall rules with one name on a server (one defined elsewhere)',
    act: () => {
      const { chart } = newChart(); const s = server({}, chart);
      s.addFirewallRule('office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' });
      new AzurePostgresFirewallRule(chart, 'again', { server: s, ruleName: 'OFFICE', startIpAddress: '10.0.0.2', endIpAddress: '10.0.0.2' });
      synthAppOf(chart);
    },
    path: 'test/db',
    field: 'ruleName',
    value: 'office',
    hint: 'ignoring case',
  },
  {
    mistake: 'a role named like the administrator',
    act: () => { const { chart } = newChart(); const s = server({ administratorLogin: 'owner' }, chart); s.addRole('owner', { database: s.addDatabase('catalog') }); synthAppOf(chart); },
    path: 'test/db/Role-owner',
    field: 'roleName',
    value: 'owner',
    hint: 'is the administratorLogin of the server at \'test/db\'',
  },
  {
    mistake: 'a role named like the administrator, in another letter case',
    act: () => { const s = server({ administratorLogin: 'Owner' }); s.addRole('owner', { database: s.addDatabase('catalog') }); },
    path: 'test/db/Role-owner',
    field: 'roleName',
    value: 'owner',
    hint: 'a role cannot be the administrator',
  },
  {
    mistake: 'two servers with one azureName in the app',
    act: () => { const { app, chart } = newChart(); server({ azureName: 'shop-db' }, chart, 'a'); server({ azureName: 'shop-db' }, new Chart(app, 'other'), 'b'); synthApp(app); },
    path: 'other/b',
    field: 'azureName',
    value: 'shop-db',
    hint: 'each server needs its own name in Azure',
  },
  {
    mistake: 'a private DNS zone named after another server of the app (sovereign cloud suffix)',
    act: () => {
      const { app, chart } = newChart();
      server({ azureName: 'ledger-db' }, chart, 'a');
      server({ network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE.replace('shop.postgres.database.azure.com', 'ledger-db.postgres.database.usgovcloudapi.net') } }, new Chart(app, 'other'), 'b');
      synthApp(app);
    },
    path: 'other/b',
    field: 'network.privateDnsZoneResourceId',
    value: DNS_ZONE.replace('shop.postgres.database.azure.com', 'ledger-db.postgres.database.usgovcloudapi.net'),
    hint: /the zone is named after the server at 'test\/a' \(azureName ledger-db\); a private DNS zone <name>\.<suffix> must not use the name of one of your servers/,
  },
  {
    mistake: 'a web app bound to a role in another namespace',
    act: () => {
      const { chart } = newChart(); const db = server({ metadata: { namespace: 'shop' } }, chart);
      const role = db.addRole('app', { database: db.addDatabase('catalog') });
      new WebAppWithDb(chart, 'web', { image: 'nginx', role, metadata: { namespace: 'web' } }); synthAppOf(chart);
    },
    path: 'test/web/Deployment',
    field: 'metadata.namespace',
    value: 'web',
    hint: /PGHOST of container "app", .* read the connection Secret "[^"]+" of role "app" \(at 'test\/db\/Role-app'\), which is in namespace "shop"; a Pod can read only Secrets of its own namespace: put the workload in namespace "shop"/,
  },
  {
    mistake: 'role.env() in a Deployment of another namespace',
    act: () => {
      const { app, chart } = newChart('shop'); const { role } = serverWithRole(chart);
      new kplus.Deployment(new Chart(app, 'web', { namespace: 'web' }), 'api', { containers: [{ image: 'api', envVariables: role.env() }] }); synthApp(app);
    },
    path: 'web/api',
    field: 'metadata.namespace',
    value: 'web',
    hint: 'the workload is in namespace "web", but PGHOST of container "main"',
  },
  {
    mistake: 'role.addConnectionEnv() on a CronJob container of another namespace',
    act: () => {
      const { app, chart } = newChart('shop'); const { role } = serverWithRole(chart);
      const job = new kplus.CronJob(new Chart(app, 'jobs', { namespace: 'jobs' }), 'report', { schedule: Cron.daily() });
      role.addConnectionEnv(job.addContainer({ name: 'report', image: 'report' })); synthApp(app);
    },
    path: 'jobs/report',
    field: 'metadata.namespace',
    value: 'jobs',
    hint: 'which is in namespace "shop"',
  },
  {
    mistake: 'role.envValue() in an init container of a Pod without a namespace',
    act: () => {
      const { app, chart } = newChart('shop'); const { role } = serverWithRole(chart);
      const pod = new kplus.Pod(new Chart(app, 'tools'), 'migrate', { containers: [{ image: 'app' }] });
      pod.addInitContainer({ name: 'migrate', image: 'migrate', envVariables: { URL: role.envValue(ConnectionSecretKey.URI) } }); synthApp(app);
    },
    path: 'tools/migrate',
    field: 'metadata.namespace',
    value: undefined,
    hint: 'the workload is in no namespace (kubectl\'s current namespace), but URL of container "migrate"',
  },
  {
    mistake: 'a role Secret named like the server\'s admin Secret',
    act: () => {
      const { chart } = newChart(); const s = server({ connectionSecretName: 'shop-db' }, chart);
      s.addRole('app', { database: s.addDatabase('catalog'), secretName: 'shop-db' }); synthAppOf(chart);
    },
    path: 'test/db/Role-app',
    field: 'secret name',
    value: 'shop-db',
    hint: 'two Secrets cannot share a name in one namespace',
  },
  {
    mistake: 'a role Secret named like a Secret object in the namespace',
    act: () => {
      const { chart } = newChart('shop'); const s = server({}, chart);
      s.addRole('app', { database: s.addDatabase('catalog'), secretName: 'app-db' });
      new kplus.Secret(chart, 'app-config', { metadata: { name: 'app-db' }, stringData: { key: 'value' } }); synthAppOf(chart);
    },
    path: 'test/db/Role-app',
    field: 'secret name',
    value: 'app-db',
    hint: 'as a Secret object (at \'test/app-config',
  },

  // ---- WebAppWithDb ----
  { mistake: 'extra env redefining a database variable', act: () => webApp({ env: { PGHOST: kplus.EnvValue.fromValue('localhost') } }), path: 'test/app', field: 'env', value: 'PGHOST', hint: 'envNames' },
  { mistake: 'port out of range', act: () => webApp({ port: 70000 }), path: 'test/app', field: 'port', value: 70000, hint: 'from 1 to 65535' },
  { mistake: 'negative replicas', act: () => webApp({ replicas: -1 }), path: 'test/app', field: 'replicas', value: -1, hint: 'at least 0' },
  { mistake: 'empty image', act: () => webApp({ image: '' }), path: 'test/app', field: 'image', value: '', hint: 'container image reference' },
  { mistake: 'a sidecar named like the app container', act: () => webApp({ containers: [{ name: 'app', image: 'envoy' }] }), path: 'test/app', field: 'containers[0].name', value: 'app', hint: 'not "app"' },

  // ---- Reconciler ----
  { mistake: 'subscription ID not a GUID', act: () => reconciler({ subscriptionId: 'my-subscription' }), path: 'test/reconciler', field: 'subscriptionId', value: 'my-subscription', hint: 'GUID' },
  { mistake: 'client ID not a GUID', act: () => reconciler({ clientId: 'reconciler-identity' }), path: 'test/reconciler', field: 'clientId', value: 'reconciler-identity', hint: 'GUID' },
  { mistake: 'namespace with an underscore', act: () => reconciler({ namespace: 'cdk8s_azure' }), path: 'test/reconciler', field: 'namespace', value: 'cdk8s_azure', hint: 'namespace name' },
  { mistake: 'plain-HTTP Resource Manager endpoint', act: () => reconciler({ resourceManagerEndpoint: 'http://management.example' }), path: 'test/reconciler', field: 'resourceManagerEndpoint', value: 'http://management.example', hint: 'https:// URL' },
  { mistake: 'env overriding the subscription', act: () => reconciler({ env: { AZURE_SUBSCRIPTION_ID: SUBSCRIPTION } }), path: 'test/reconciler', field: 'env', value: 'AZURE_SUBSCRIPTION_ID', hint: 'use those' },
  { mistake: 'replicas not a whole number', act: () => reconciler({ replicas: 1.5 }), path: 'test/reconciler', field: 'replicas', value: 1.5, hint: 'whole number' },
];

describe('synth fails with the path, the field, the value and the fix', () => {
  test.each(cases.map(c => [c.mistake, c] as const))('%s', (_mistake, c) => {
    const message = errorOf(c.act);
    // One format for every synth error, whole-app checks included: Invalid <what> at '<path>':\n  - <field> = <value>: <fix>
    expect(message).toMatch(/^Invalid [^\n]+ at '[^'\n]*':\n {2}- [^\n]+ = [^\n]+: /);
    expect(message).not.toContain('Validation failed');
    expect(message).toContain(`at '${c.path}':`);
    if (c.valuePattern) {
      const shown = message.split(`${c.field} = `)[1]?.split(':')[0];
      expect(shown).toMatch(c.valuePattern);
    } else {
      expect(message).toContain(`${c.field} = ${c.value === undefined ? 'undefined' : JSON.stringify(c.value)}`);
    }
    if (typeof c.hint === 'string') {
      expect(message).toContain(c.hint);
    } else {
      expect(message).toMatch(c.hint);
    }
  });
});

describe('valid configurations pass (the cases above fail for their mistake only)', () => {
  test('a server with every option valid, children, a web app and an install synthesize', () => {
    const { app, chart } = newChart('shop');
    const { db, role } = serverWithRole(chart);
    db.addFirewallRule('office', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.255' });
    db.addParameter('work_mem', '4096');
    db.addParameter('work_mem', '4096'); // the same value again is harmless
    db.addTag('team', 'shop');
    new WebAppWithDb(chart, 'app', { image: 'nginx', role, env: { LOG_LEVEL: kplus.EnvValue.fromValue('info') } });
    new Reconciler(new Chart(app, 'install'), 'reconciler', { subscriptionId: SUBSCRIPTION, clientId: SUBSCRIPTION });
    expect(synthApp(app).length).toBeGreaterThan(10);
  });

  test('a workload in the role\'s namespace may read its Secret, whichever chart defines it', () => {
    const { app, chart } = newChart('shop');
    const { role } = serverWithRole(chart);
    new kplus.Deployment(new Chart(app, 'web', { namespace: 'shop' }), 'api', { containers: [{ image: 'api', envVariables: role.env() }] });
    new kplus.Deployment(chart, 'worker', { containers: [{ image: 'worker', envVariables: { PGHOST: role.envValue(ConnectionSecretKey.HOST) } }] });
    expect(() => synthApp(app)).not.toThrow();
  });

  test('every whole-app problem is reported in one error, each under its construct', () => {
    const { app, chart } = newChart('shop');
    const s = server({}, chart);
    const catalog = s.addDatabase('catalog');
    new AzurePostgresDatabase(chart, 'again', { server: s, databaseName: 'catalog' });
    const role = s.addRole('app', { database: catalog, secretName: 'app-db' });
    new kplus.Secret(chart, 'app-config', { metadata: { name: 'app-db' }, stringData: { key: 'value' } });
    new kplus.Deployment(new Chart(app, 'web', { namespace: 'web' }), 'api', { containers: [{ image: 'api', envVariables: role.env() }] });
    const message = errorOf(() => synthApp(app));
    expect(message.split('\n').filter(line => line.startsWith('Invalid '))).toEqual([
      'Invalid AzurePostgres in its app at \'test/db\':',
      'Invalid connection Secret name at \'test/db/Role-app\':',
      'Invalid workload environment at \'web/api\':',
    ]);
  });

  test('private DNS zones of every Azure cloud, named after no server of the app, pass', () => {
    const { app, chart } = newChart();
    server({ azureName: 'ledger-db' }, chart, 'a');
    for (const [id, zone] of [['gov', 'ledger-db.private.postgres.database.usgovcloudapi.net'], ['cn', 'shop.postgres.database.chinacloudapi.cn'], ['pub', 'ledger.postgres.database.azure.com']]) {
      server({ network: { delegatedSubnetResourceId: SUBNET, privateDnsZoneResourceId: DNS_ZONE.replace('shop.postgres.database.azure.com', zone) } }, chart, id);
    }
    expect(() => synthApp(app)).not.toThrow();
  });

  test('a Secret name used in two namespaces is no collision', () => {
    const { app, chart } = newChart();
    const s = server({ metadata: { namespace: 'shop' } }, chart);
    s.addRole('app', { database: s.addDatabase('catalog'), secretName: 'app-db' });
    new kplus.Secret(new Chart(app, 'other', { namespace: 'other' }), 'app-config', { metadata: { name: 'app-db' }, stringData: { key: 'value' } });
    expect(() => synthApp(app)).not.toThrow();
  });
});

describe('whole-app checks see the tree as it is at each synth', () => {
  test('a Secret added after a first, valid synth collides at the next synth', () => {
    const { chart } = newChart('shop');
    const s = server({}, chart);
    s.addRole('app', { database: s.addDatabase('catalog'), secretName: 'app-db' });
    expect(() => synthAppOf(chart)).not.toThrow();
    new kplus.Secret(chart, 'app-config', { metadata: { name: 'app-db' }, stringData: { key: 'value' } });
    expect(() => synthAppOf(chart)).toThrow(/test\/db\/Role-app[\s\S]*secret name = "app-db"[\s\S]*two Secrets cannot share a name/);
  });
});

describe('whole-app validation walks the tree once per pass, whatever the number of servers', () => {
  /**
   * How many times a synth walks the whole tree (Node.findAll on the app's root) for one chart of `servers` servers, each
   * with a database, a role and a web app. (cdk8s itself validates the whole app once per chart, so the charts are
   * kept to one: the walks counted are those of one pass.)
   */
  function rootWalksOfSynth(servers: number): number {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'walks-')) });
    const chart = new Chart(app, 'chart');
    for (let i = 0; i < servers; i++) {
      const db = server({ metadata: { namespace: `ns${i}` } }, chart, `db${i}`);
      const role = db.addRole('app', { database: db.addDatabase('catalog') });
      new WebAppWithDb(chart, `app${i}`, { image: 'nginx', role });
    }
    return rootWalksOfSynthApp(app);
  }

  test('as many walks of the tree for 20 servers as for 2', () => {
    expect(rootWalksOfSynth(20)).toBe(rootWalksOfSynth(2));
  });

  /** An app of `charts` charts, each with a server, a database, a role and a web app on it. */
  function appOfCharts(charts: number): App {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'walks-')) });
    for (let i = 0; i < charts; i++) {
      const chart = new Chart(app, `team${i}`, { namespace: `team${i}` });
      const db = server({}, chart);
      new WebAppWithDb(chart, 'api', { image: 'nginx', role: db.addRole('app', { database: db.addDatabase('catalog') }) });
    }
    return app;
  }

  /** Runs the validations of the app's root (the whole-app checks) as one pass of cdk8s does; counts the root's walks. */
  function rootWalksOfPass(app: App): number {
    const findAll = jest.spyOn(Node.prototype, 'findAll');
    try {
      expect(app.node.validate()).toEqual([]);
      return findAll.mock.contexts.filter(node => node === app.node).length;
    } finally {
      findAll.mockRestore();
    }
  }

  test('one pass of the whole-app checks walks the tree once, for 1 chart or 10', () => {
    expect(rootWalksOfPass(appOfCharts(1))).toBe(1);
    expect(rootWalksOfPass(appOfCharts(10))).toBe(1);
  });

  test('a synth of N charts (cdk8s validates N + 1 times) walks the tree once per pass more than cdk8s alone', () => {
    for (const charts of [1, 5]) {
      const plain = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'walks-')) });
      for (let i = 0; i < charts; i++) {
        new kplus.ConfigMap(new Chart(plain, `team${i}`), 'settings', { data: { key: 'value' } });
      }
      expect(rootWalksOfSynthApp(appOfCharts(charts)) - rootWalksOfSynthApp(plain)).toBe(charts + 1);
    }
  });

  function rootWalksOfSynthApp(app: App): number {
    const findAll = jest.spyOn(Node.prototype, 'findAll');
    try {
      app.synthYaml();
      return findAll.mock.contexts.filter(node => node === app.node).length;
    } finally {
      findAll.mockRestore();
    }
  }

  test('adding databases, roles and firewall rules to a server does not walk the app', () => {
    const { app, chart } = newChart();
    const s = server({}, chart);
    const findAll = jest.spyOn(Node.prototype, 'findAll');
    try {
      for (let i = 0; i < 5; i++) {
        s.addRole(`app${i}`, { database: s.addDatabase(`db${i}`) });
        s.addFirewallRule(`rule${i}`, { startIpAddress: `10.0.0.${i}`, endIpAddress: `10.0.0.${i}` });
      }
      expect(findAll.mock.contexts.filter(node => node === app.node)).toHaveLength(0);
    } finally {
      findAll.mockRestore();
    }
  });

  test('a database removed from the tree no longer holds its name on the server', () => {
    const { chart } = newChart();
    const s = server({}, chart);
    const first = s.addDatabase('catalog');
    expect(() => s.addDatabase('catalog')).toThrow(/databaseName = "catalog"[\s\S]*already has a database with this name/);
    expect(s.node.tryRemoveChild(first.node.id)).toBe(true);
    expect(s.addDatabase('catalog').databaseName).toBe('catalog');
    expect(s.databases).toHaveLength(1);
  });
});

describe('a validation pass over an unchanged tree reuses the last outcome; a changed tree is checked again', () => {
  /** The app's whole-app checks plus one that counts its runs (the same runner: added with addAppCheck). */
  function countedApp() {
    const { app, chart } = newChart('shop');
    const { db, role } = serverWithRole(chart);
    const counted = { runs: 0 };
    addAppCheck(app, Symbol('counted'), () => {
      counted.runs++;
    });
    return { app, chart, db, role, counted };
  }

  test('the checks run once for two passes over the same tree, and once more after a construct is added', () => {
    const { app, chart, counted } = countedApp();
    app.node.validate();
    app.node.validate();
    expect(counted.runs).toBe(1);
    new kplus.ConfigMap(chart, 'settings', { data: { key: 'value' } });
    app.node.validate();
    expect(counted.runs).toBe(2);
    app.node.validate();
    expect(counted.runs).toBe(2);
  });

  test('a synth of an app of many charts runs the checks once, not once per chart', () => {
    const { app, counted } = countedApp();
    for (let i = 0; i < 4; i++) {
      new kplus.ConfigMap(new Chart(app, `more${i}`), 'settings', { data: { key: 'value' } });
    }
    app.synthYaml();
    expect(counted.runs).toBe(1);
  });

  test('removing a construct, or changing a workload\'s environment, runs the checks again', () => {
    const { app, chart, role, counted } = countedApp();
    const worker = new kplus.Deployment(chart, 'worker', { containers: [{ image: 'worker' }] });
    app.node.validate();
    expect(counted.runs).toBe(1);
    worker.containers[0].env.addVariable('PGHOST', role.envValue(ConnectionSecretKey.HOST));
    app.node.validate();
    expect(counted.runs).toBe(2);
    // The same variable, another value: the same tree and the same number of variables, still a change.
    worker.containers[0].env.addVariable('PGHOST', role.envValue(ConnectionSecretKey.PORT));
    app.node.validate();
    expect(counted.runs).toBe(3);
    worker.addContainer({ name: 'sidecar', image: 'sidecar' });
    app.node.validate();
    expect(counted.runs).toBe(4);
    expect(chart.node.tryRemoveChild('worker')).toBe(true);
    app.node.validate();
    expect(counted.runs).toBe(5);
  });

  test('an unchanged tree that failed fails again, with the same message', () => {
    const { app, chart, role } = countedApp();
    new kplus.Secret(chart, 'clash', { metadata: { name: role.secretName }, stringData: { key: 'value' } });
    const first = errorOf(() => synthApp(app));
    expect(first).toContain(`secret name = "${role.secretName}"`);
    expect(first).toContain('two Secrets cannot share a name');
    expect(errorOf(() => synthApp(app))).toBe(first);
  });

  test('a collision removed after a failed synth passes at the next synth', () => {
    const { app, chart, role } = countedApp();
    new kplus.Secret(chart, 'clash', { metadata: { name: role.secretName }, stringData: { key: 'value' } });
    expect(() => synthApp(app)).toThrow(/two Secrets cannot share a name/);
    expect(chart.node.tryRemoveChild('clash')).toBe(true);
    expect(() => synthApp(app)).not.toThrow();
  });

  test('a workload given another namespace\'s connection Secret after a valid synth fails the next synth', () => {
    const { app, role } = countedApp();
    const web = new kplus.Deployment(new Chart(app, 'web', { namespace: 'web' }), 'api', { containers: [{ image: 'api' }] });
    expect(() => synthApp(app)).not.toThrow();
    web.containers[0].env.addVariable('PGHOST', role.envValue(ConnectionSecretKey.HOST));
    expect(() => synthApp(app)).toThrow(/Invalid workload environment at 'web\/api'[\s\S]*PGHOST of container/);
  });
});
