/**
 * src/api and crds/ state the same rules and defaults: every rule of the module with a CRD counterpart has the same
 * pattern, length bounds, enum, range and default there, and the CEL rules carry the module's lists. A rule changed on
 * one side only fails here.
 */
import { loadCrds } from './support';
import {
  ADMINISTRATOR_LOGIN,
  AUTHENTICATION_DEFAULTS,
  ENTRA_PRINCIPAL_NAME,
  ENTRA_PRINCIPAL_TYPES,
  GUID,
  MAX_ENTRA_ADMINISTRATORS,
  AVAILABILITY_ZONES,
  AZURE_EXTENSIONS,
  AZURE_SERVER_NAME,
  BACKUP_RETENTION_DAYS,
  COLLATION,
  COMPUTE_TIERS,
  CONNECTION_LIMIT,
  DATABASE_CHARSETS,
  DATABASE_DEFAULTS,
  DATABASE_NAME,
  defaultStorageTier,
  DELEGATED_SUBNET_ID,
  DELETION_POLICIES,
  DNS_SUBDOMAIN,
  EXTENSION_REMOVAL_POLICIES,
  FIREWALL_RULE_NAME,
  HIGH_AVAILABILITY_MODES,
  IPV4,
  LOCATION,
  MAINTENANCE_WINDOW_RANGES,
  MAX_DATABASE_EXTENSIONS,
  POINT_IN_TIME_UTC,
  MAX_PARAMETER_VALUE_LENGTH,
  MAX_SERVER_PARAMETERS,
  MAX_TAG_NAME_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  MAX_TAGS,
  OWNER_TAG_PREFIX,
  OWNER_TAGS,
  PARAMETER_NAME,
  POSTGRES_VERSIONS,
  PRIVATE_DNS_ZONE_ID,
  RESERVED_ADMINISTRATOR_LOGINS,
  RESERVED_DATABASE_NAMES,
  RESERVED_ROLE_NAMES,
  RESERVED_TAG_PREFIXES,
  RESOURCE_GROUP_NAME,
  ROLE_DEFAULTS,
  ROLE_NAME,
  ROLE_PRIVILEGES,
  SERVER_DEFAULTS,
  SERVER_SOURCE_DEFAULTS,
  SKU_NAME,
  SKU_PREFIX_BY_TIER,
  STORAGE_SIZES_GB,
  STORAGE_TIERS,
  StringRule,
} from '../../src/api';

/** The spec schema of a kind's only version. */
function specOf(kind: string): any {
  const crd = loadCrds().find(c => c.kind === kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd.versions[0].schema.openAPIV3Schema.properties.spec;
}

/** The schema at a dotted path below a spec schema (through `properties`). */
function at(spec: any, path: string): any {
  return path.split('.').reduce((schema, name) => {
    const next = schema?.properties?.[name];
    if (next === undefined) throw new Error(`no ${path} in the schema`);
    return next;
  }, spec);
}

/** The CEL rules of a schema, as text. */
function celRules(schema: any): string[] {
  return (schema['x-kubernetes-validations'] ?? []).map((v: { rule: string }) => v.rule);
}

/** The quoted strings of the first CEL list literal `[...]` in a rule that contains `marker`. */
function celList(schema: any, marker: string): string[] {
  const rule = celRules(schema).find(r => r.includes(marker));
  if (!rule) throw new Error(`no CEL rule with ${marker}`);
  const list = /\[([^\]]*)\]/.exec(rule)![1];
  return [...list.matchAll(/'([^']*)'/g)].map(m => m[1]);
}

/**
 * The CRD counterpart of a string rule: the same pattern (as written, but for the `\/` JavaScript's RegExp source
 * always writes for a slash), minLength and maxLength.
 */
function expectStringRule(schema: any, rule: StringRule): void {
  expect({ pattern: schema.pattern, minLength: schema.minLength, maxLength: schema.maxLength }).toEqual({
    pattern: rule.pattern?.source.replace(/\\\//g, '/'),
    minLength: rule.minLength,
    maxLength: rule.maxLength,
  });
}

const sorted = <T>(values: readonly T[]): T[] => [...values].sort();

describe('PostgresServer', () => {
  const spec = specOf('PostgresServer');

  test.each([
    ['azureName', AZURE_SERVER_NAME],
    ['resourceGroup.name', RESOURCE_GROUP_NAME],
    ['location', LOCATION],
    ['sku.name', SKU_NAME],
    ['administratorLogin', ADMINISTRATOR_LOGIN],
    ['network.delegatedSubnetResourceId', DELEGATED_SUBNET_ID],
    ['network.privateDnsZoneResourceId', PRIVATE_DNS_ZONE_ID],
    ['writeConnectionSecretToRef.name', DNS_SUBDOMAIN],
  ])('%s has the same string rule', (path, rule) => {
    expectStringRule(at(spec, path), rule);
  });

  test('enums are the same', () => {
    expect(at(spec, 'version').enum).toEqual(POSTGRES_VERSIONS);
    expect(at(spec, 'sku.tier').enum).toEqual(COMPUTE_TIERS);
    expect(at(spec, 'storage.sizeGB').enum).toEqual(STORAGE_SIZES_GB);
    expect(at(spec, 'storage.tier').enum).toEqual(STORAGE_TIERS);
    expect(at(spec, 'highAvailability.mode').enum).toEqual(HIGH_AVAILABILITY_MODES);
    expect(at(spec, 'highAvailability.standbyAvailabilityZone').enum).toEqual(AVAILABILITY_ZONES);
    expect(at(spec, 'availabilityZone').enum).toEqual(AVAILABILITY_ZONES);
    expect(at(spec, 'deletionPolicy').enum).toEqual(DELETION_POLICIES);
  });

  test('defaults are the same', () => {
    expect(at(spec, 'resourceGroup.create').default).toBe(SERVER_DEFAULTS.resourceGroup.create);
    expect(at(spec, 'version').default).toBe(SERVER_DEFAULTS.version);
    expect(at(spec, 'sku').default).toEqual(SERVER_DEFAULTS.sku);
    expect(at(spec, 'storage').default).toEqual(SERVER_DEFAULTS.storage);
    expect(at(spec, 'storage.sizeGB').default).toBe(SERVER_DEFAULTS.storage.sizeGB);
    expect(at(spec, 'storage.autoGrow').default).toBe(SERVER_DEFAULTS.storage.autoGrow);
    expect(at(spec, 'storage.tier').default).toBeUndefined();
    expect(at(spec, 'backup').default).toEqual(SERVER_DEFAULTS.backup);
    expect(at(spec, 'backup.retentionDays').default).toBe(SERVER_DEFAULTS.backup.retentionDays);
    expect(at(spec, 'backup.geoRedundant').default).toBe(SERVER_DEFAULTS.backup.geoRedundant);
    expect(at(spec, 'highAvailability').default).toEqual(SERVER_DEFAULTS.highAvailability);
    expect(at(spec, 'highAvailability.mode').default).toBe(SERVER_DEFAULTS.highAvailability.mode);
    expect(at(spec, 'network').default).toEqual(SERVER_DEFAULTS.network);
    expect(at(spec, 'network.publicNetworkAccess').default).toBe(SERVER_DEFAULTS.network.publicNetworkAccess);
    expect(at(spec, 'administratorLogin').default).toBe(SERVER_DEFAULTS.administratorLogin);
    expect(at(spec, 'maintenanceWindow.startMinute').default).toBe(SERVER_DEFAULTS.maintenanceWindow.startMinute);
    expect(at(spec, 'deletionPolicy').default).toBe(SERVER_DEFAULTS.deletionPolicy);
    expect(at(spec, 'stopped').type).toBe('boolean');
    expect(at(spec, 'stopped').default).toBe(SERVER_DEFAULTS.stopped);
    expect(at(spec, 'restore.pointInTimeUTC').pattern).toBe(POINT_IN_TIME_UTC.source);
    expect(at(spec, 'replica.promote').default).toBe(SERVER_SOURCE_DEFAULTS.promote);
    expectStringRule(at(spec, 'replica.sourceServerRef.name'), DNS_SUBDOMAIN);
    expectStringRule(at(spec, 'restore.sourceServerRef.name'), DNS_SUBDOMAIN);
  });

  test('ranges are the same', () => {
    const retention = at(spec, 'backup.retentionDays');
    expect([retention.minimum, retention.maximum]).toEqual([BACKUP_RETENTION_DAYS.min, BACKUP_RETENTION_DAYS.max]);
    for (const [name, range] of Object.entries(MAINTENANCE_WINDOW_RANGES)) {
      const schema = at(spec, `maintenanceWindow.${name}`);
      expect([name, schema.minimum, schema.maximum]).toEqual([name, range.min, range.max]);
    }
  });

  test('the SKU rules name each tier\'s prefix', () => {
    for (const tier of COMPUTE_TIERS) {
      expect(celRules(at(spec, 'sku'))).toContain(`self.tier != '${tier}' || self.name.startsWith('${SKU_PREFIX_BY_TIER[tier]}')`);
    }
  });

  test('the storage tier rule holds the default tier of every size', () => {
    const tierRank = STORAGE_TIERS.map((tier, rank) => `'${tier}': ${rank}`).join(', ');
    const sizeRank = STORAGE_SIZES_GB.map(size => `${size}: ${STORAGE_TIERS.indexOf(defaultStorageTier(size)!)}`).join(', ');
    expect(celRules(at(spec, 'storage'))).toContain(`!has(self.tier) || {${tierRank}}[self.tier] >= {${sizeRank}}[self.sizeGB]`);
  });

  test('storage can only grow', () => {
    expect(celRules(at(spec, 'storage.sizeGB'))).toContain('self >= oldSelf');
  });

  test('reserved administrator logins are the same, in the schema and the CEL rule', () => {
    const login = at(spec, 'administratorLogin');
    expect(sorted(login.allOf[0].not.enum)).toEqual(sorted(RESERVED_ADMINISTRATOR_LOGINS));
    expect(login.allOf[1].not.pattern).toBe('^[pP][gG]_');
    expect(sorted(celList(login, 'lowerAscii() in'))).toEqual(sorted(RESERVED_ADMINISTRATOR_LOGINS));
  });

  test('authentication: the same defaults, tenant and administrators rules, and CEL rules', () => {
    const auth = at(spec, 'authentication');
    expect(auth.default).toEqual(AUTHENTICATION_DEFAULTS);
    expect(at(spec, 'authentication.password').default).toBe(AUTHENTICATION_DEFAULTS.password);
    expect(at(spec, 'authentication.microsoftEntra').default).toBe(AUTHENTICATION_DEFAULTS.microsoftEntra);
    expectStringRule(at(spec, 'authentication.tenantId'), GUID);
    const admins = at(spec, 'authentication.administrators');
    expect(admins.maxItems).toBe(MAX_ENTRA_ADMINISTRATORS);
    expect(admins['x-kubernetes-list-map-keys']).toEqual(['objectId']);
    expectStringRule(admins.items.properties.objectId, GUID);
    expectStringRule(admins.items.properties.principalName, ENTRA_PRINCIPAL_NAME);
    expect(admins.items.properties.principalType.enum).toEqual(ENTRA_PRINCIPAL_TYPES);
    expect(celRules(auth)).toEqual([
      'self.password || self.microsoftEntra',
      '!has(self.administrators) || size(self.administrators) == 0 || self.microsoftEntra',
    ]);
  });

  test('parameters: the same count, value length and name pattern', () => {
    const parameters = at(spec, 'parameters');
    expect(parameters.maxProperties).toBe(MAX_SERVER_PARAMETERS);
    expect(parameters.additionalProperties.maxLength).toBe(MAX_PARAMETER_VALUE_LENGTH);
    expect(celRules(parameters)).toContain(`self.all(name, name.matches('${PARAMETER_NAME.source}'))`);
  });

  test('tags: the same count, lengths, characters and reserved prefixes', () => {
    const tags = at(spec, 'tags');
    expect(tags.maxProperties).toBe(MAX_TAGS - OWNER_TAGS.length);
    expect(tags.additionalProperties.maxLength).toBe(MAX_TAG_VALUE_LENGTH);
    const rules = celRules(tags);
    expect(rules).toContain(`self.all(name, size(name) >= 1 && size(name) <= ${MAX_TAG_NAME_LENGTH})`);
    // The CEL string '[<>%&\\\\?/]' is the regular expression [<>%&\\?/]: the same characters as the module's.
    expect(rules).toContain('self.all(name, !name.matches(\'[<>%&\\\\\\\\?/]\'))');
    expect(rules).toContain(`self.all(name, ${RESERVED_TAG_PREFIXES.map(p => `!name.lowerAscii().startsWith('${p}')`).join(' && ')})`);
    expect(rules).toContain(`self.all(name, !name.lowerAscii().startsWith('${OWNER_TAG_PREFIX}'))`);
  });
});

describe('child kinds', () => {
  test.each(['PostgresDatabase', 'PostgresFirewallRule', 'PostgresRole'])('%s: serverRef and deletionPolicy (no default: the server\'s)', kind => {
    const spec = specOf(kind);
    expectStringRule(at(spec, 'serverRef.name'), DNS_SUBDOMAIN);
    expect(at(spec, 'deletionPolicy').enum).toEqual(DELETION_POLICIES);
    expect(at(spec, 'deletionPolicy').default).toBeUndefined();
  });

  test('PostgresDatabase', () => {
    const spec = specOf('PostgresDatabase');
    expectStringRule(at(spec, 'azureName'), DATABASE_NAME);
    expect(sorted(celList(at(spec, 'azureName'), 'lowerAscii() in'))).toEqual(sorted(RESERVED_DATABASE_NAMES));
    expect(at(spec, 'charset').enum).toEqual(DATABASE_CHARSETS);
    expect(at(spec, 'charset').default).toBe(DATABASE_DEFAULTS.charset);
    expectStringRule(at(spec, 'collation'), COLLATION);
    expect(at(spec, 'collation').default).toBe(DATABASE_DEFAULTS.collation);
    expect(at(spec, 'extensions').items.enum).toEqual(AZURE_EXTENSIONS);
    expect(at(spec, 'extensions').maxItems).toBe(MAX_DATABASE_EXTENSIONS);
    expect(at(spec, 'extensions')['x-kubernetes-list-type']).toBe('set');
    expect(at(spec, 'extensionRemovalPolicy').enum).toEqual(EXTENSION_REMOVAL_POLICIES);
    expect(at(spec, 'extensionRemovalPolicy').default).toBe(DATABASE_DEFAULTS.extensionRemovalPolicy);
  });

  test('PostgresFirewallRule', () => {
    const spec = specOf('PostgresFirewallRule');
    expectStringRule(at(spec, 'azureName'), FIREWALL_RULE_NAME);
    expectStringRule(at(spec, 'startIpAddress'), IPV4);
    expectStringRule(at(spec, 'endIpAddress'), IPV4);
  });

  test('PostgresRole', () => {
    const spec = specOf('PostgresRole');
    expectStringRule(at(spec, 'databaseRef.name'), DNS_SUBDOMAIN);
    expectStringRule(at(spec, 'roleName'), ROLE_NAME);
    expect(sorted(at(spec, 'roleName').allOf[0].not.enum)).toEqual(sorted(RESERVED_ROLE_NAMES));
    expect(at(spec, 'roleName').allOf[1].not.pattern).toBe('^pg_');
    expect(at(spec, 'privileges').items.enum).toEqual(ROLE_PRIVILEGES);
    expect(at(spec, 'privileges').default).toEqual(ROLE_DEFAULTS.privileges);
    const limit = at(spec, 'connectionLimit');
    expect([limit.minimum, limit.maximum, limit.default]).toEqual([CONNECTION_LIMIT.min, CONNECTION_LIMIT.max, ROLE_DEFAULTS.connectionLimit]);
    expectStringRule(at(spec, 'writeConnectionSecretToRef.name'), DNS_SUBDOMAIN);
    expectStringRule(at(spec, 'identity.clientId'), GUID);
    expectStringRule(at(spec, 'identity.objectId'), GUID);
    expect(at(spec, 'identity').required).toEqual(['clientId', 'objectId']);
    expect(celRules(at(spec, 'identity'))).toContain('self.objectId == oldSelf.objectId');
    expect(celRules(spec)).toContain('has(self.identity) == has(oldSelf.identity)');
  });
});
