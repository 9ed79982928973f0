/**
 * Azure's validation, through the SDK: every refusal with its status, code and message.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PostgreSQLManagementFlexibleServerClient, Server } from '@azure/arm-postgresql-flexible';
import { expectError, PASSWORD, pgClient, raw, rejection, rmClient, serverPath, smallServer, waitForOperation } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

const SUB2 = '22222222-2222-4222-8222-222222222222';

interface Case {
  name: string;
  server?: string;
  body: Server;
  status: number;
  code: string;
  message: string | RegExp;
}

describe('validation errors', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  const rg = 'rg-validation';
  const existing = 'validation-existing';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 200, subscriptions: ['11111111-1111-4111-8111-111111111111', SUB2] });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await rmClient(emu).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
    await pg.servers.beginCreateOrUpdateAndWait(rg, existing, smallServer({ sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' }, storage: { storageSizeGB: 128 } }));
  });
  after(async () => {
    await emu?.stop();
  });

  const createCases: Case[] = [
    {
      name: 'server name with capitals',
      server: 'Bad-Name',
      body: smallServer(),
      status: 400,
      code: 'InvalidServerName',
      message: "Server name 'Bad-Name' is not valid. The name must be 3 to 63 characters long, contain only lowercase letters, numbers and hyphens, and must not start or end with a hyphen.",
    },
    { name: 'server name too short', server: 'ab', body: smallServer(), status: 400, code: 'InvalidServerName', message: /^Server name 'ab' is not valid/ },
    { name: 'server name ending with a hyphen', server: 'abc-', body: smallServer(), status: 400, code: 'InvalidServerName', message: /^Server name 'abc-' is not valid/ },
    { name: 'server name of 64 characters', server: 'a'.repeat(64), body: smallServer(), status: 400, code: 'InvalidServerName', message: /is not valid/ },
    {
      name: 'unknown SKU',
      body: smallServer({ sku: { name: 'Standard_X9', tier: 'Burstable' } }),
      status: 400,
      code: 'InvalidSkuName',
      message: "The SKU name 'Standard_X9' is not valid. Valid SKU names look like Standard_B1ms (Burstable), Standard_D2ds_v5 (GeneralPurpose) or Standard_E2ds_v5 (MemoryOptimized).",
    },
    {
      name: 'SKU of another tier',
      body: smallServer({ sku: { name: 'Standard_D2ds_v5', tier: 'Burstable' } }),
      status: 400,
      code: 'InvalidSkuTier',
      message: "The SKU 'Standard_D2ds_v5' is not available in the tier 'Burstable'. It belongs to the 'GeneralPurpose' tier.",
    },
    {
      name: 'version 13 (retired: no new servers)',
      body: smallServer({ version: '13' }),
      status: 400,
      code: 'InvalidServerVersion',
      message: "PostgreSQL version '13' is retired: servers cannot be created with it or upgraded to it. Supported versions are 14, 15, 16, 17, 18.",
    },
    { name: 'version 12 (retired)', body: smallServer({ version: '12' }), status: 400, code: 'InvalidServerVersion', message: /^PostgreSQL version '12' is retired/ },
    {
      name: 'version 19',
      body: smallServer({ version: '19' as never }),
      status: 400,
      code: 'InvalidServerVersion',
      message: "The version '19' is not supported. Supported versions are 14, 15, 16, 17, 18.",
    },
    {
      name: 'storage size not in the list (Azure: InvalidParameterValue StorageSizeGB)',
      body: smallServer({ storage: { storageSizeGB: 100 } }),
      status: 400,
      code: 'InvalidParameterValue',
      message: 'Invalid value given for parameter StorageSizeGB. Specify a valid parameter value.',
    },
    {
      name: 'storage tier below the default of the size (P2 on 32 GiB)',
      body: smallServer({ storage: { storageSizeGB: 32, tier: 'P2' } }),
      status: 400,
      code: 'InvalidParameterValue',
      message: 'Invalid value given for parameter Tier. Specify a valid parameter value.',
    },
    { name: 'storage tier below the default (P20 on 1024 GiB)', body: smallServer({ storage: { storageSizeGB: 1024, tier: 'P20' } }), status: 400, code: 'InvalidParameterValue', message: /parameter Tier\./ },
    { name: 'storage tier above P50 on a disk of 4 TiB or less', body: smallServer({ storage: { storageSizeGB: 4095, tier: 'P60' } }), status: 400, code: 'InvalidParameterValue', message: /parameter Tier\./ },
    { name: 'storage tier that does not exist', body: smallServer({ storage: { storageSizeGB: 32, tier: 'P5' as never } }), status: 400, code: 'InvalidParameterValue', message: /parameter Tier\./ },
    {
      name: 'backup retention 6 days',
      body: smallServer({ backup: { backupRetentionDays: 6 } }),
      status: 400,
      code: 'InvalidBackupRetentionDays',
      message: "The backup retention period '6' is not valid. It must be between 7 and 35 days.",
    },
    { name: 'backup retention 36 days', body: smallServer({ backup: { backupRetentionDays: 36 } }), status: 400, code: 'InvalidBackupRetentionDays', message: /'36' is not valid/ },
    {
      name: 'high availability on Burstable',
      body: smallServer({ highAvailability: { mode: 'ZoneRedundant' } }),
      status: 400,
      code: 'HighAvailabilityNotSupportedForBurstable',
      message: "High availability (mode 'ZoneRedundant') is not supported for the Burstable tier. Choose a General Purpose or Memory Optimized SKU, or disable high availability.",
    },
    {
      name: 'reserved admin login (BlockedUserName)',
      body: smallServer({ administratorLogin: 'admin' }),
      status: 400,
      code: 'BlockedUserName',
      message: "The user name 'admin' is not allowed. It cannot be azure_superuser, azure_pg_admin, admin, administrator, root, guest or public, and cannot start with pg_.",
    },
    ...['azure_superuser', 'azure_pg_admin', 'Administrator', 'root', 'guest', 'PUBLIC', 'pg_owner'].map((login) => (
      { name: `admin login ${login} (BlockedUserName)`, body: smallServer({ administratorLogin: login }), status: 400, code: 'BlockedUserName', message: new RegExp(`^The user name '${login}' is not allowed`) })),
    {
      name: 'admin login with a hyphen (InvalidUserName)',
      body: smallServer({ administratorLogin: 'app-admin' }),
      status: 400,
      code: 'InvalidUserName',
      message: "The user name 'app-admin' is not valid. It must be 1 to 63 letters, digits or underscores, and must not start with a digit.",
    },
    { name: 'admin login of 64 characters (InvalidUserName)', body: smallServer({ administratorLogin: 'a'.repeat(64) }), status: 400, code: 'InvalidUserName', message: /is not valid/ },
    {
      name: 'password of 7 characters (PasswordTooShort)',
      body: smallServer({ administratorLoginPassword: 'Ab1!xyz' }),
      status: 400,
      code: 'PasswordTooShort',
      message: 'The password is too short. It must be at least 8 characters long.',
    },
    {
      name: 'password of two character classes (PasswordNotComplex)',
      body: smallServer({ administratorLoginPassword: 'alllowercase123' }),
      status: 400,
      code: 'PasswordNotComplex',
      message: 'Password validation failed. The password does not meet policy requirements because it is not complex enough. It must contain characters from three of these categories: English uppercase letters, English lowercase letters, numbers (0-9), non-alphanumeric characters, and must not contain the login name.',
    },
    {
      name: 'password of 129 characters (PasswordTooLong)',
      body: smallServer({ administratorLoginPassword: `Aa1!${'x'.repeat(125)}` }),
      status: 400,
      code: 'PasswordTooLong',
      message: 'The password is too long. It must be at most 128 characters long.',
    },
    { name: 'password containing the login', body: smallServer({ administratorLoginPassword: 'Appadmin!2024' }), status: 400, code: 'PasswordNotComplex', message: /^Password validation failed/ },
    {
      name: 'no password',
      body: smallServer({ administratorLoginPassword: undefined }),
      status: 400,
      code: 'InvalidParameterValue',
      message: 'Invalid value given for parameter administratorLoginPassword. Specify a valid parameter value.',
    },
    {
      name: 'unknown region',
      body: smallServer({ location: 'moon-north' }),
      status: 400,
      code: 'LocationNotAvailableForResourceType',
      message: /^The provided location 'moon-north' is not available for resource type 'Microsoft.DBforPostgreSQL\/flexibleServers'. List of available regions for the resource type is 'eastus,eastus2,/,
    },
    {
      name: 'unsupported createMode',
      body: smallServer({ createMode: 'GeoRestore' }),
      status: 400,
      code: 'UnsupportedCreateMode',
      message: "The emulator does not support createMode 'GeoRestore'.",
    },
  ];

  for (const c of createCases) {
    test(`create refused: ${c.name}`, async () => {
      await expectError(() => pg.servers.beginCreateOrUpdate(rg, c.server ?? 'validation-new', c.body), c.status, c.code, c.message);
    });
  }

  test('a refused create leaves nothing behind and counts no create', async () => {
    await expectError(() => pg.servers.get(rg, 'validation-new'), 404, 'ResourceNotFound', /was not found/);
    assert.equal(emu.admin.requests().serverCreates['validation-new'], undefined);
  });

  test('location missing (raw body)', async () => {
    const r = await raw(emu, 'PUT', `${serverPath(emu, rg, 'validation-new')}?api-version=2025-08-01`, { properties: { administratorLogin: 'x1' } });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { error: { code: 'LocationRequired', message: 'The location property is required for this definition.' } });
  });

  test('body that is not JSON', async () => {
    const res = await fetch(`${emu.armEndpoint}${serverPath(emu, rg, 'validation-new')}?api-version=2025-08-01`, {
      method: 'PUT',
      headers: { 'authorization': `Bearer ${emu.admin.issueToken()}`, 'content-type': 'application/json' },
      body: '{"location": ',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'InvalidRequestContent');
  });

  test('resource group missing: ResourceGroupNotFound', async () => {
    await expectError(() => pg.servers.beginCreateOrUpdate('rg-nope', 'validation-new', smallServer()), 404, 'ResourceGroupNotFound',
      "Resource group 'rg-nope' could not be found.");
    await expectError(() => pg.servers.get('rg-nope', existing), 404, 'ResourceGroupNotFound', "Resource group 'rg-nope' could not be found.");
  });

  test('server names are unique across subscriptions: ServerNameAlreadyExists', async () => {
    const other = pgClient(emu, undefined, SUB2);
    await rmClient(emu, undefined, SUB2).resourceGroups.createOrUpdate('rg-other', { location: 'eastus' });
    await expectError(() => other.servers.beginCreateOrUpdate('rg-other', existing, smallServer()), 409, 'ServerNameAlreadyExists', 'Specified server name is already used.');
    // ... and across resource groups of one subscription.
    await rmClient(emu).resourceGroups.createOrUpdate('rg-second', { location: 'eastus' });
    await expectError(() => pg.servers.beginCreateOrUpdate('rg-second', existing, smallServer()), 409, 'ServerNameAlreadyExists', 'Specified server name is already used.');
  });

  test('unknown subscription: SubscriptionNotFound', async () => {
    const ghost = pgClient(emu, undefined, '99999999-9999-4999-8999-999999999999');
    await expectError(() => ghost.servers.get(rg, existing), 404, 'SubscriptionNotFound', "The subscription '99999999-9999-4999-8999-999999999999' could not be found.");
  });

  const updateCases: { name: string; patch?: object; put?: Partial<Server>; status: number; code: string; message: string | RegExp }[] = [
    {
      name: 'administratorLogin changed',
      put: { administratorLogin: 'otheradmin' },
      status: 400,
      code: 'PropertyChangeNotAllowed',
      message: "The property 'administratorLogin' cannot be changed after the server is created (current value 'appadmin').",
    },
    {
      name: 'location changed',
      put: { location: 'westeurope' },
      status: 400,
      code: 'InvalidResourceLocation',
      message: `The resource '${existing}' already exists in location 'eastus' in resource group '${rg}'. A resource with the same name cannot be created in location 'westeurope'. Please select a new resource name.`,
    },
    {
      name: 'geo-redundant backup changed',
      patch: { backup: { geoRedundantBackup: 'Enabled' } },
      status: 400,
      code: 'PropertyChangeNotAllowed',
      message: "The property 'backup.geoRedundantBackup' cannot be changed after the server is created.",
    },
    {
      name: 'network mode changed (public to private access)',
      put: { network: { delegatedSubnetResourceId: '/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/s' } },
      status: 400,
      code: 'PropertyChangeNotAllowed',
      message: /^The network mode .* cannot be changed after the server is created\.$/,
    },
    {
      name: 'private DNS zone on a public server',
      patch: { network: { privateDnsZoneArmResourceId: '/subscriptions/x/resourceGroups/net/providers/Microsoft.Network/privateDnsZones/z.private.postgres.database.azure.com' } },
      status: 400,
      code: 'PropertyChangeNotAllowed',
      message: /^The network mode .* cannot be changed after the server is created\.$/,
    },
    { name: 'storage tier lowered below the size default', patch: { storage: { tier: 'P6' } }, status: 400, code: 'InvalidParameterValue', message: 'Invalid value given for parameter Tier. Specify a valid parameter value.' },
    {
      name: 'storage shrunk',
      patch: { storage: { storageSizeGB: 64 } },
      status: 400,
      code: 'StorageSizeDecreaseNotAllowed',
      message: 'The storage size cannot be decreased from 128 GB to 64 GB.',
    },
    {
      name: 'version downgraded',
      patch: { version: '15' },
      status: 400,
      code: 'VersionDowngradeNotAllowed',
      message: 'The major version cannot be downgraded from 16 to 15.',
    },
    {
      name: 'HA on a server scaled to Burstable',
      patch: { sku: { name: 'Standard_B2s', tier: 'Burstable' }, highAvailability: { mode: 'SameZone' } },
      status: 400,
      code: 'HighAvailabilityNotSupportedForBurstable',
      message: /not supported for the Burstable tier/,
    },
    { name: 'password too short', patch: { administratorLoginPassword: 'short' }, status: 400, code: 'PasswordTooShort', message: /^The password is too short/ },
    { name: 'password not complex', patch: { administratorLoginPassword: 'nocapitals-or-digits' }, status: 400, code: 'PasswordNotComplex', message: /^Password validation failed/ },
    {
      name: 'maintenance window hour 24',
      patch: { maintenanceWindow: { customWindow: 'Enabled', startHour: 24 } },
      status: 400,
      code: 'InvalidParameterValue',
      message: 'Invalid value given for parameter maintenanceWindow.startHour. Specify a valid parameter value.',
    },
  ];
  for (const c of updateCases) {
    test(`update refused: ${c.name}`, async () => {
      if (c.patch) await expectError(() => pg.servers.beginUpdate(rg, existing, c.patch as never), c.status, c.code, c.message);
      else await expectError(() => pg.servers.beginCreateOrUpdate(rg, existing, smallServer({ sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' }, storage: { storageSizeGB: 128 }, ...c.put })), c.status, c.code, c.message);
    });
  }

  test('allowed changes: version upgrade, storage growth, HA on General Purpose', async () => {
    const s = await pg.servers.beginUpdateAndWait(rg, existing, { version: '17', storage: { storageSizeGB: 256 }, highAvailability: { mode: 'ZoneRedundant' } });
    assert.deepEqual([s.version, s.storage?.storageSizeGB, s.highAvailability?.mode, s.highAvailability?.state], ['17', 256, 'ZoneRedundant', 'Healthy']);
    assert.equal((await pg.servers.get(rg, existing)).administratorLogin, 'appadmin');
  });

  test('a write to a busy server is accepted (202) and its operation fails with ServerIsBusy; nothing changes', async () => {
    emu.admin.setTiming({ provisioningDelayMs: 4000 });
    const poller = await pg.servers.beginUpdate(rg, existing, { backup: { backupRetentionDays: 10 } });
    emu.admin.setTiming({ provisioningDelayMs: 200 });
    const r = await raw(emu, 'PATCH', `${serverPath(emu, rg, existing)}?api-version=2025-08-01`, { properties: { backup: { backupRetentionDays: 11 } } });
    assert.equal(r.status, 202, 'Azure does not answer 409 here');
    const fw = await raw(emu, 'PUT', `${serverPath(emu, rg, existing)}/firewallRules/r1?api-version=2025-08-01`, { properties: { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' } });
    assert.equal(fw.status, 202);
    for (const accepted of [r, fw]) {
      const op = await waitForOperation(emu, accepted.headers.get('azure-asyncoperation')!);
      assert.equal(op.body.status, 'Failed');
      assert.deepEqual(op.body.error, {
        code: 'ServerIsBusy',
        message: "Cannot complete operation while server 'validation-existing' is busy processing another operation. Try again later.",
      });
    }
    // Through the SDK: the poller rejects with the code.
    const sdk = await rejection(() => pg.databases.beginCreateAndWait(rg, existing, 'busydb', {}));
    assert.equal(sdk.message, "The long-running operation has failed. ServerIsBusy. Cannot complete operation while server 'validation-existing' is busy processing another operation. Try again later.");
    assert.equal(emu.admin.requests().busyOperations, 3);
    await poller.pollUntilDone();
    const afterBusy = await pg.servers.get(rg, existing);
    assert.equal(afterBusy.backup?.backupRetentionDays, 10, 'the busy write changed nothing');
    assert.equal((await rejection(() => pg.firewallRules.get(rg, existing, 'r1'))).statusCode, 404);
  });

  test('firewall rule names: at most 80 characters, letters, digits, - and _, not starting with - or _, not ending with -', async () => {
    for (const bad of ['-office', '_office', 'office-', 'office.main', 'a'.repeat(81), 'bad name!']) {
      await expectError(() => pg.firewallRules.beginCreateOrUpdate(rg, existing, bad, { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }), 400,
        'InvalidFirewallRuleName', `The firewall rule name '${bad}' is not valid. It must be 1 to 80 letters, digits, hyphens or underscores, start with a letter or digit and not end with a hyphen.`);
    }
    for (const good of ['a', 'office_', 'Office-1_b', 'a'.repeat(80)]) {
      const r = await pg.firewallRules.beginCreateOrUpdateAndWait(rg, existing, good, { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' });
      assert.equal(r.name, good);
      await pg.firewallRules.beginDeleteAndWait(rg, existing, good);
    }
  });

  test('database names: letters, digits, _ and -, starting with a letter or _ (no $); collations by the spec pattern', async () => {
    for (const bad of ['1db', 'db$1', '-db', 'a'.repeat(64)]) {
      await expectError(() => pg.databases.beginCreate(rg, existing, bad, {}), 400, 'InvalidDatabaseName',
        `The database name '${bad}' is not valid. It must be 1 to 63 characters: letters, digits, underscores or hyphens, starting with a letter or underscore.`);
    }
    for (const bad of ['C.UTF-8', '1en', 'en_US.utf8;drop', '']) {
      await expectError(() => pg.databases.beginCreate(rg, existing, 'db_coll', { collation: bad }), 400, 'InvalidParameterValue',
        'Invalid value given for parameter collation. Specify a valid parameter value.');
    }
    const db = await pg.databases.beginCreateAndWait(rg, existing, 'asotest-db-ylwxua', { charset: 'UTF8', collation: 'English_United States.1252' });
    assert.deepEqual([db.name, db.collation], ['asotest-db-ylwxua', 'English_United States.1252']);
    await pg.databases.beginDeleteAndWait(rg, existing, 'asotest-db-ylwxua');
  });

  test('firewall rules: start after end, bad address, bad name', async () => {
    await expectError(() => pg.firewallRules.beginCreateOrUpdate(rg, existing, 'r1', { startIpAddress: '10.0.0.9', endIpAddress: '10.0.0.1' }), 400,
      'InvalidFirewallRuleIpRange', "The start IP address '10.0.0.9' of the firewall rule cannot exceed its end IP address '10.0.0.1'.");
    await expectError(() => pg.firewallRules.beginCreateOrUpdate(rg, existing, 'r1', { startIpAddress: '10.0.0.300', endIpAddress: '10.0.0.1' }), 400,
      'InvalidParameterValue', 'Invalid value given for parameter startIpAddress. Specify a valid parameter value.');
    await expectError(() => pg.firewallRules.beginCreateOrUpdate(rg, existing, 'bad name!', { startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }), 400,
      'InvalidFirewallRuleName', /^The firewall rule name 'bad name!' is not valid/);
  });

  test('configurations: unknown name, bad values, read-only', async () => {
    await expectError(() => pg.configurations.beginPut(rg, existing, 'no_such_parameter', { value: '1' }), 400, 'ConfigurationNotExists',
      `The configuration 'no_such_parameter' does not exist for server '${existing}'.`);
    await expectError(() => pg.configurations.get(rg, existing, 'no_such_parameter'), 404, 'ResourceNotFound', /was not found/);
    await expectError(() => pg.configurations.beginPut(rg, existing, 'max_connections', { value: 'lots' }), 400, 'InvalidConfigurationValue',
      "The value 'lots' for configuration 'max_connections' is not valid. The allowed values are '25-5000'.");
    await expectError(() => pg.configurations.beginPut(rg, existing, 'max_connections', { value: '10' }), 400, 'InvalidConfigurationValue', /'10'/);
    await expectError(() => pg.configurations.beginPut(rg, existing, 'log_min_duration_statement', { value: '-2' }), 400, 'InvalidConfigurationValue', /'-2'/);
    await expectError(() => pg.configurations.beginPut(rg, existing, 'pgaudit.log', { value: 'read,everything' }), 400, 'InvalidConfigurationValue',
      "The value 'read,everything' for configuration 'pgaudit.log' is not valid. The allowed values are 'none,read,write,function,role,ddl,misc,all'.");
    await expectError(() => pg.configurations.beginPut(rg, existing, 'log_statement', { value: 'some' }), 400, 'InvalidConfigurationValue', /'some'/);
    await expectError(() => pg.configurations.beginPut(rg, existing, 'azure.extensions', { value: 'pgcrypto,not_an_extension' }), 400, 'InvalidConfigurationValue', /not_an_extension/);
    await expectError(() => pg.configurations.beginPut(rg, existing, 'block_size', { value: '8192' }), 400, 'ConfigurationIsReadOnly',
      "The configuration 'block_size' is read-only and cannot be changed.");
  });

  test('databases: bad name, system databases', async () => {
    await expectError(() => pg.databases.beginCreate(rg, existing, '1db', {}), 400, 'InvalidDatabaseName', /^The database name '1db' is not valid/);
    await expectError(() => pg.databases.beginCreate(rg, existing, 'db1', { charset: 'KLINGON' }), 400, 'InvalidParameterValue', /parameter charset/);
    await expectError(() => pg.databases.beginDelete(rg, existing, 'postgres'), 400, 'CannotDropSystemDatabase',
      "The database 'postgres' is a system database and cannot be dropped.");
    await expectError(() => pg.databases.get(rg, existing, 'nodb'), 404, 'ResourceNotFound',
      "The requested resource of type 'Microsoft.DBforPostgreSQL/flexibleServers/databases' with name 'nodb' was not found.");
  });

  test('children of a missing server: ParentResourceNotFound on writes, ResourceNotFound (gateway) on reads', async () => {
    await expectError(() => pg.databases.beginCreate(rg, 'no-such-server', 'db1', {}), 404, 'ParentResourceNotFound',
      "Can not perform requested operation on nested resource. Parent resource 'no-such-server' not found.");
    await expectError(() => pg.firewallRules.beginCreateOrUpdate(rg, 'no-such-server', 'r', { startIpAddress: '1.1.1.1', endIpAddress: '1.1.1.1' }), 404,
      'ParentResourceNotFound', /Parent resource 'no-such-server' not found/);
    await expectError(() => pg.configurations.beginPut(rg, 'no-such-server', 'work_mem', { value: '8192' }), 404, 'ParentResourceNotFound', /Parent resource/);
    await expectError(() => pg.firewallRules.get(rg, 'no-such-server', 'r'), 404, 'ResourceNotFound',
      `The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/no-such-server' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
  });

  test('unknown resource type and method', async () => {
    const r = await raw(emu, 'GET', `${serverPath(emu, rg, existing)}/backups/b1?api-version=2025-08-01`);
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'InvalidResourceType');
    const ns = await raw(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Nope/things/x?api-version=2025-08-01`);
    assert.equal(ns.status, 400);
    assert.equal(ns.body.error.code, 'InvalidResourceNamespace');
  });

  test('the admin endpoint saw every refusal by status', () => {
    const counts = emu.admin.requests();
    assert.ok(counts.byStatus['400'] >= createCases.length);
    assert.ok((counts.byKey['PUT Microsoft.DBforPostgreSQL/flexibleServers 400'] ?? 0) >= createCases.length);
    assert.ok(counts.byKey['PUT Microsoft.DBforPostgreSQL/flexibleServers 409'] >= 2);
  });

  test('PASSWORD fixture is complex enough', () => {
    assert.ok(PASSWORD.length >= 8);
  });
});
