/**
 * The rules of src/api, one behaviour each: what Azure accepts passes, what it refuses fails with the field, the value
 * and the fix.
 */
import {
  azureParameterName,
  checkServerParameter,
  closestName,
  defaultStorageTier,
  formatInstall,
  formatProblem,
  formatProblems,
  formatWatchedNamespaces,
  isOwnerTagName,
  isReservedAdministratorLogin,
  isReservedRoleName,
  normalizeDatabaseSpec,
  normalizeFirewallRuleSpec,
  normalizeRoleSpec,
  normalizeServerSpec,
  OWNER_TAGS,
  parseInstall,
  POSTGRES_VERSIONS,
  Problem,
  serverParameters,
  skuTier,
  TAG_UID,
  validateDatabaseSpec,
  validateFirewallRuleSpec,
  validateRoleSpec,
  validateServerSpec,
  validateTags,
  watchesNamespace,
} from '../../src/api';

const ROLE = { serverRef: { name: 's' }, databaseRef: { name: 'd' }, roleName: 'app', writeConnectionSecretToRef: { name: 'app-pg' } };

describe('PostgresRole identity', () => {
  test('a passwordless role names its identity; a bad GUID is refused', () => {
    const identity = { clientId: '11111111-2222-3333-4444-555555555555', objectId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' };
    const r = normalizeRoleSpec({ ...ROLE, identity } as any);
    expect(r.identity).toEqual(identity);
    expect(validateRoleSpec(r)).toEqual([]);
    expect(normalizeRoleSpec(ROLE as any).identity).toBeUndefined();
    expect(validateRoleSpec(normalizeRoleSpec({ ...ROLE, identity: { ...identity, objectId: 'x' } } as any)).map(p => p.field)).toEqual(['identity.objectId']);
  });
});

const MINIMAL_SERVER = { azureName: 'shop-db', resourceGroup: { name: 'rg' }, location: 'westeurope', writeConnectionSecretToRef: { name: 'shop-db-admin' } };

/** The problems of a server spec: the minimal valid one with `spec` on top. */
function serverProblems(spec: object): Problem[] {
  return validateServerSpec(normalizeServerSpec({ ...MINIMAL_SERVER, ...spec } as any));
}

/** The fields a list of problems names. */
const fields = (problems: readonly Problem[]): string[] => problems.map(p => p.field);

describe('messages', () => {
  test('one problem: spec.field = value as JSON: expected', () => {
    expect(formatProblem({ field: 'storage.sizeGB', value: 16, expected: 'must be one of 32, 64' })).toBe('spec.storage.sizeGB = 16: must be one of 32, 64');
    expect(formatProblem({ field: 'azureName', value: 'A b', expected: 'lowercase' }, '')).toBe('azureName = "A b": lowercase');
  });

  test('several problems are joined with "; "', () => {
    expect(formatProblems([{ field: 'a', value: 1, expected: 'x' }, { field: 'b', value: undefined, expected: 'y' }])).toBe('spec.a = 1: x; spec.b = undefined: y');
  });
});

describe('PostgresServer', () => {
  test('the minimal spec with every default is valid', () => {
    expect(serverProblems({})).toEqual([]);
  });

  test('authentication: password only by default; Entra with administrators is valid', () => {
    expect(normalizeServerSpec(MINIMAL_SERVER as any).authentication).toEqual({ password: true, microsoftEntra: false, administrators: [] });
    const admin = { objectId: '99999999-8888-7777-6666-555555555555', principalName: 'DBA group', principalType: 'Group' };
    expect(serverProblems({ authentication: { password: false, microsoftEntra: true, administrators: [admin] } })).toEqual([]);
  });

  test('authentication: nobody locked out, administrators only with Entra, each once, of a known type', () => {
    expect(fields(serverProblems({ authentication: { password: false } }))).toEqual(['authentication']);
    const admin = { objectId: '99999999-8888-7777-6666-555555555555', principalName: 'dba', principalType: 'User' };
    expect(fields(serverProblems({ authentication: { administrators: [admin] } }))).toEqual(['authentication.administrators']);
    const twice = [admin, { ...admin, objectId: admin.objectId.toUpperCase() }];
    expect(fields(serverProblems({ authentication: { microsoftEntra: true, administrators: twice } })))
      .toEqual(['authentication.administrators[1].objectId']);
    const odd = [{ ...admin, principalType: 'Robot', principalName: 'a"b' }];
    expect(fields(serverProblems({ authentication: { microsoftEntra: true, administrators: odd } })))
      .toEqual(['authentication.administrators[0].principalName', 'authentication.administrators[0].principalType']);
    expect(fields(serverProblems({ authentication: { microsoftEntra: 'yes' } }))).toEqual(['authentication.microsoftEntra']);
  });

  test('the storage size is read from sizeGB (Kubernetes) and sizeGb (the generated type)', () => {
    expect(normalizeServerSpec({ ...MINIMAL_SERVER, storage: { sizeGB: 128 } } as any).storage.sizeGB).toBe(128);
    expect(normalizeServerSpec({ ...MINIMAL_SERVER, storage: { sizeGb: 256 } } as any).storage.sizeGB).toBe(256);
  });

  test('4095 GiB, the largest size that grows online, is accepted', () => {
    expect(serverProblems({ storage: { sizeGB: 4095 } })).toEqual([]);
    expect(defaultStorageTier(4095)).toBe('P50');
  });

  test('a size Azure does not offer is refused', () => {
    expect(fields(serverProblems({ storage: { sizeGB: 100 } }))).toEqual(['storage.sizeGB']);
  });

  test('a storage tier at or above the size\'s default is accepted; below it is refused, naming the minimum', () => {
    expect(serverProblems({ storage: { sizeGB: 128, tier: 'P10' } })).toEqual([]);
    expect(serverProblems({ storage: { sizeGB: 128, tier: 'P30' } })).toEqual([]);
    const [problem] = serverProblems({ storage: { sizeGB: 128, tier: 'P6' } });
    expect(problem.field).toBe('storage.tier');
    expect(problem.expected).toContain('P10');
  });

  test('an unknown storage tier is refused', () => {
    expect(fields(serverProblems({ storage: { sizeGB: 32, tier: 'P5' } }))).toEqual(['storage.tier']);
  });

  test('version 18 is accepted; 13 is refused as retired, suggesting 17 or 18', () => {
    expect(serverProblems({ version: '18' })).toEqual([]);
    const [problem] = serverProblems({ version: '13' });
    expect(problem.field).toBe('version');
    expect(problem.expected).toMatch(/retired.*17 or 18/);
  });

  test('the v6 series and E20ads_v5 fit their tiers', () => {
    for (const name of ['Standard_D2ds_v6', 'Standard_D4ads_v6']) {
      expect(serverProblems({ sku: { tier: 'GeneralPurpose', name } })).toEqual([]);
    }
    for (const name of ['Standard_E2ds_v6', 'Standard_E8ads_v6', 'Standard_E20ads_v5']) {
      expect(serverProblems({ sku: { tier: 'MemoryOptimized', name } })).toEqual([]);
    }
    expect(skuTier('Standard_B2s')).toBe('Burstable');
  });

  test('a SKU of another tier is refused, naming the tier it belongs to', () => {
    const [problem] = serverProblems({ sku: { tier: 'Burstable', name: 'Standard_D2ds_v5' } });
    expect(problem.field).toBe('sku.name');
    expect(problem.expected).toContain('set sku.tier to GeneralPurpose');
  });

  test('a SKU of no series Azure sells is refused', () => {
    expect(fields(serverProblems({ sku: { tier: 'GeneralPurpose', name: 'Standard_D2s_v9' } }))).toEqual(['sku.name']);
  });

  test('high availability is refused on Burstable', () => {
    expect(fields(serverProblems({ highAvailability: { mode: 'ZoneRedundant' } }))).toEqual(['highAvailability.mode']);
    expect(serverProblems({ sku: { tier: 'GeneralPurpose', name: 'Standard_D2ds_v5' }, highAvailability: { mode: 'ZoneRedundant' } })).toEqual([]);
  });

  test.each(['postgres', 'azuresu', 'AzureSU', 'azure_superuser', 'Admin', 'pg_owner'])('the administrator login %s is reserved', login => {
    expect(isReservedAdministratorLogin(login)).toBe(true);
    expect(fields(serverProblems({ administratorLogin: login }))).toEqual(['administratorLogin']);
  });

  test('numbers out of range are refused', () => {
    expect(fields(serverProblems({ backup: { retentionDays: 36 } }))).toEqual(['backup.retentionDays']);
    expect(fields(serverProblems({ maintenanceWindow: { dayOfWeek: 7, startHour: 24, startMinute: 60 } })))
      .toEqual(['maintenanceWindow.dayOfWeek', 'maintenanceWindow.startHour', 'maintenanceWindow.startMinute']);
  });

  test('private access needs both IDs and no public access', () => {
    const subnet = '/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/n';
    expect(fields(serverProblems({ network: { delegatedSubnetResourceId: subnet } }))).toEqual(['network.privateDnsZoneResourceId']);
    expect(fields(serverProblems({ network: { delegatedSubnetResourceId: subnet, publicNetworkAccess: true } })))
      .toEqual(['network.publicNetworkAccess', 'network.privateDnsZoneResourceId']);
  });

  test('parameters and tags of the wrong type are problems, not crashes', () => {
    expect(fields(serverProblems({ parameters: ['work_mem'], tags: 'team=a' }))).toEqual(['parameters', 'tags']);
  });

  test('parameters are checked against the version\'s list', () => {
    expect(serverProblems({ parameters: { 'work_mem': '65536', 'pgbouncer.enabled': 'true' } })).toEqual([]);
    expect(fields(serverProblems({ parameters: { work_mem: '65536', wrok_mem: '1' } }))).toEqual(['parameters.wrok_mem']);
  });

  test('an invalid deletionPolicy is refused', () => {
    expect(fields(serverProblems({ deletionPolicy: 'Orphan' }))).toEqual(['deletionPolicy']);
  });
});

describe('server parameters', () => {
  test('an unknown name names the closest match', () => {
    expect(checkServerParameter('16', 'shared_bufers', '128MB')?.expected).toContain('did you mean shared_buffers?');
    expect(checkServerParameter('16', 'pgbouncer.pool_mod', 'transaction')?.expected).toContain('did you mean pgbouncer.pool_mode?');
    expect(closestName('zzzzzzzzzz', ['work_mem'])).toBeUndefined();
  });

  test('a name with SQL or capitals is refused before any lookup', () => {
    for (const name of ['work_mem; DROP TABLE x', 'Work_Mem', 'work_mem\'']) {
      expect(checkServerParameter('16', name, '1')?.expected).toContain('only lowercase letters, digits, underscores and periods');
    }
  });

  test('names Azure spells with capitals are written in lowercase, and map back to Azure\'s spelling', () => {
    expect(checkServerParameter('16', 'timezone', 'Europe/Berlin')).toBeUndefined();
    expect(checkServerParameter('16', 'TimeZone', 'Europe/Berlin')?.expected).toContain('write it timezone');
    expect(azureParameterName('timezone')).toBe('TimeZone');
    expect(azureParameterName('work_mem')).toBe('work_mem');
  });

  test('Azure\'s extension parameters are known', () => {
    for (const name of ['credcheck.password_min_length', 'anon.salt', 'duckdb.max_memory', 'azure_cdc.max_fabric_mirrors', 'timescaledb.max_background_workers']) {
      expect([name, serverParameters('17').has(name)]).toEqual([name, true]);
    }
  });

  test('a name of another major version says which versions have it', () => {
    expect(checkServerParameter('16', 'force_parallel_mode', 'off')?.expected).toContain('exists in 14, 15');
    expect(checkServerParameter('15', 'debug_parallel_query', 'off')?.expected).toContain('exists in 16, 17, 18');
    expect(checkServerParameter('17', 'transaction_timeout', '10s')).toBeUndefined();
    expect(checkServerParameter('18', 'io_method', 'worker')).toBeUndefined();
    expect(checkServerParameter('14', 'stats_temp_directory', 'pg_stat_tmp')).toBeUndefined();
    expect(checkServerParameter('15', 'stats_temp_directory', 'pg_stat_tmp')?.expected).toContain('exists in 14');
  });

  test('every supported version has PostgreSQL\'s and Azure\'s parameters', () => {
    for (const version of POSTGRES_VERSIONS) {
      const names = serverParameters(version);
      for (const name of ['work_mem', 'shared_buffers', 'azure.extensions', 'pgbouncer.enabled', 'pg_qs.query_capture_mode', 'require_secure_transport']) {
        expect([version, names.has(name)]).toEqual([version, true]);
      }
    }
  });

  test('parameters Azure manages and compile-time constants are refused', () => {
    expect(checkServerParameter('16', 'port', '5433')?.expected).toContain('cannot be changed');
    expect(checkServerParameter('16', 'block_size', '8192')?.expected).toContain('cannot be changed');
  });

  test('integers are checked in the parameter\'s unit, with or without a unit', () => {
    expect(checkServerParameter('16', 'work_mem', '65536')).toBeUndefined();
    expect(checkServerParameter('16', 'work_mem', '64MB')).toBeUndefined();
    expect(checkServerParameter('16', 'work_mem', '32')?.expected).toContain('from 64 to');
    expect(checkServerParameter('16', 'shared_buffers', '16GB')).toBeUndefined();
    expect(checkServerParameter('16', 'log_min_duration_statement', '500')).toBeUndefined();
    expect(checkServerParameter('16', 'log_min_duration_statement', '2s')).toBeUndefined();
    expect(checkServerParameter('16', 'log_min_duration_statement', '2MB')?.expected).toContain('optionally with a unit');
    expect(checkServerParameter('16', 'max_connections', 'many')?.field).toBe('parameters.max_connections');
    expect(checkServerParameter('16', 'pgbouncer.default_pool_size', '5000')?.expected).toContain('from 1 to 4950');
  });

  test('booleans, enums and sets', () => {
    expect(checkServerParameter('16', 'log_checkpoints', 'on')).toBeUndefined();
    expect(checkServerParameter('16', 'log_checkpoints', 'maybe')?.expected).toContain('on or off');
    expect(checkServerParameter('16', 'pgbouncer.pool_mode', 'TRANSACTION')).toBeUndefined();
    expect(checkServerParameter('16', 'pgbouncer.pool_mode', 'bogus')?.expected).toContain('session, transaction, statement');
    expect(checkServerParameter('16', 'azure.accepted_password_auth_method', 'md5,scram-sha-256')).toBeUndefined();
    expect(checkServerParameter('16', 'azure.accepted_password_auth_method', 'md5,plain')?.expected).toContain('unknown: plain');
  });

  test('lists of names accept names only', () => {
    expect(checkServerParameter('16', 'azure.extensions', 'vector,pg_cron, postgis')).toBeUndefined();
    expect(checkServerParameter('16', 'azure.extensions', 'vector;drop')?.field).toBe('parameters.azure.extensions');
  });

  test('values must be strings', () => {
    expect(checkServerParameter('16', 'work_mem', 65536)?.expected).toContain('must be a string');
  });
});

describe('tags', () => {
  test(`at most ${50 - OWNER_TAGS.length} user tags, since the reconciler adds ${OWNER_TAGS.length}`, () => {
    const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`t${i}`, 'v']));
    expect(validateTags(tags(50 - OWNER_TAGS.length))).toEqual([]);
    expect(fields(validateTags(tags(51 - OWNER_TAGS.length)))).toEqual(['tags']);
  });

  test('an owner-tag look-alike in another letter case is refused', () => {
    expect(isOwnerTagName(TAG_UID.toUpperCase())).toBe(true);
    expect(fields(validateTags({ 'CDK8S-AZURE.DEV-UID': 'x' }))).toEqual(['tags.CDK8S-AZURE.DEV-UID']);
    expect(fields(validateTags({ 'Cdk8s-Azure.Dev-Anything': 'x' }))).toEqual(['tags.Cdk8s-Azure.Dev-Anything']);
  });

  test('Azure\'s name rules: length, characters, reserved prefixes', () => {
    const long = 'a'.repeat(513);
    expect(fields(validateTags({ [long]: 'x', 'a<b': 'x', 'a\\b': 'x', 'a?b': 'x', 'MicroSoft.x': 'x', 'azure-team': 'x', 'Windows': 'x', '': 'x' })))
      .toEqual([`tags.${long}`, 'tags.a<b', 'tags.a\\b', 'tags.a?b', 'tags.MicroSoft.x', 'tags.azure-team', 'tags.Windows', 'tags.']);
    expect(validateTags({ ['a'.repeat(512)]: 'x', 'team.name': 'x' })).toEqual([]);
  });

  test('values are strings of at most 256 characters', () => {
    expect(fields(validateTags({ cost: 12, owner: 'a'.repeat(257), ok: 'a'.repeat(256) }))).toEqual(['tags.cost', 'tags.owner']);
  });
});

describe('PostgresDatabase', () => {
  const database = (spec: object) => validateDatabaseSpec(normalizeDatabaseSpec({ serverRef: { name: 'shop' }, azureName: 'catalog', ...spec } as any));

  test('names Azure accepts: hyphens and uppercase', () => {
    expect(database({ azureName: 'asotest-db-ylwxua' })).toEqual([]);
    expect(database({ azureName: 'Catalog_2' })).toEqual([]);
    expect(database({ azureName: '_x' })).toEqual([]);
  });

  test.each(['a$b', '-db', '1db', 'a'.repeat(64), 'a b'])('the name %s is refused', name => {
    expect(fields(database({ azureName: name }))).toEqual(['azureName']);
  });

  test('Azure\'s own databases are refused in any letter case', () => {
    expect(fields(database({ azureName: 'Postgres' }))).toEqual(['azureName']);
    expect(database({ azureName: 'azure_sys' })[0].expected).toContain('reserved');
  });

  test('collations as Azure has them', () => {
    expect(database({ collation: 'en_US.utf8' })).toEqual([]);
    expect(database({ collation: 'C' })).toEqual([]);
    expect(fields(database({ collation: 'en_US.UTF-8' }))).toEqual(['collation']);
  });

  test('the deletion policy is the server\'s unless set', () => {
    expect(normalizeDatabaseSpec({ serverRef: { name: 'shop' }, azureName: 'catalog' } as any).deletionPolicy).toBeUndefined();
    expect(normalizeDatabaseSpec({ serverRef: { name: 'shop' }, azureName: 'catalog', deletionPolicy: 'Retain' } as any).deletionPolicy).toBe('Retain');
    expect(fields(database({ deletionPolicy: 'Keep' }))).toEqual(['deletionPolicy']);
  });
});

describe('PostgresFirewallRule', () => {
  const rule = (spec: object) => validateFirewallRuleSpec(normalizeFirewallRuleSpec({
    serverRef: { name: 'shop' }, azureName: 'office', startIpAddress: '203.0.113.1', endIpAddress: '203.0.113.9', ...spec,
  } as any));

  test('names of up to 80 characters, ending with an underscore or not', () => {
    expect(rule({ azureName: 'a'.repeat(80) })).toEqual([]);
    expect(rule({ azureName: 'a' })).toEqual([]);
    expect(rule({ azureName: 'office_' })).toEqual([]);
    expect(rule({ azureName: 'office-2' })).toEqual([]);
  });

  test.each(['a'.repeat(81), 'office-', '-office', '_office', 'office.net', ''])('the name %j is refused', name => {
    expect(fields(rule({ azureName: name }))).toEqual(['azureName']);
  });

  test('addresses that are not strings are problems, not crashes', () => {
    expect(fields(rule({ startIpAddress: ['203.0.113.1'], endIpAddress: 3405803777 }))).toEqual(['startIpAddress', 'endIpAddress']);
  });

  test('the end may not be below the start', () => {
    expect(fields(rule({ startIpAddress: '203.0.113.9', endIpAddress: '203.0.113.1' }))).toEqual(['endIpAddress']);
  });
});

describe('PostgresRole', () => {
  const role = (spec: object) => validateRoleSpec(normalizeRoleSpec({
    serverRef: { name: 'shop' }, databaseRef: { name: 'catalog' }, roleName: 'catalog_app', writeConnectionSecretToRef: { name: 'catalog-app' }, ...spec,
  } as any));

  test('defaults: every privilege, no connection limit', () => {
    const normalized = normalizeRoleSpec({ serverRef: { name: 's' }, databaseRef: { name: 'd' }, roleName: 'r', writeConnectionSecretToRef: { name: 'x' } } as any);
    expect([normalized.privileges, normalized.connectionLimit, normalized.deletionPolicy]).toEqual([['ALL'], -1, undefined]);
    expect(role({})).toEqual([]);
  });

  test.each(['postgres', 'azuresu', 'azure_pg_admin', 'public', 'none', 'current_user', 'session_user', 'current_role', 'user', 'pg_monitor'])(
    'the role name %s is reserved', name => {
      expect(isReservedRoleName(name)).toBe(true);
      expect(fields(role({ roleName: name }))).toEqual(['roleName']);
    });

  test('the connection limit fits PostgreSQL\'s integer', () => {
    expect(role({ connectionLimit: 2147483647 })).toEqual([]);
    expect(fields(role({ connectionLimit: 2147483648 }))).toEqual(['connectionLimit']);
    expect(fields(role({ connectionLimit: -2 }))).toEqual(['connectionLimit']);
  });

  test('privileges must be known, in a list', () => {
    expect(role({ privileges: ['SELECT', 'INSERT'] })).toEqual([]);
    expect(fields(role({ privileges: ['SELECT', 'DROP'] }))).toEqual(['privileges']);
    expect(fields(role({ privileges: 'SELECT' }))).toEqual(['privileges']);
  });
});

describe('installs (annotation cdk8s-azure.dev/reconciled-by)', () => {
  test('an install is its Lease, <namespace>/<name>; a value that names none is no claim', () => {
    expect(formatInstall({ namespace: 'cdk8s-azure-system', name: 'cdk8s-azure-reconciler' })).toBe('cdk8s-azure-system/cdk8s-azure-reconciler');
    expect(parseInstall('team-a/cdk8s-azure-reconciler')).toEqual({ namespace: 'team-a', name: 'cdk8s-azure-reconciler' });
    expect(parseInstall('ops/leader.v2')).toEqual({ namespace: 'ops', name: 'leader.v2' });
    for (const bad of [undefined, '', 'no-slash', '/name', 'ns/', 'Team/x', 'ns/a/b', 'ns/Name']) expect(parseInstall(bad)).toBeUndefined();
  });

  test('the namespaces on an install\'s Lease: all (*), or the list; a Lease without them watches everything', () => {
    expect(formatWatchedNamespaces(undefined)).toBe('*');
    expect(formatWatchedNamespaces(['shop', 'billing'])).toBe('billing,shop');
    expect(watchesNamespace('*', 'shop')).toBe(true);
    expect(watchesNamespace(undefined, 'shop')).toBe(true);
    expect(watchesNamespace('billing,shop', 'shop')).toBe(true);
    expect(watchesNamespace('billing,shop', 'shopping')).toBe(false);
    expect(watchesNamespace('billing', 'shop')).toBe(false);
  });
});
