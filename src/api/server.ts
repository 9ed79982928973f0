/**
 * PostgresServer: its normalized spec, its defaults (the CRD's defaults are the same: the agreement test checks) and
 * its rules. Objects read from Kubernetes arrive with the API server's defaults applied; objects the constructs build
 * or a test writes may lack them, so normalizeServerSpec applies them again.
 */
import { authenticationProblems, normalizeAuthentication, type NormalizedAuthentication } from './authentication';
import { checkServerParameter, MAX_SERVER_PARAMETERS } from './parameters';
import { isPlainObject, problemsOf, type Problem } from './problem';
import { isReservedAdministratorLogin, RESERVED_ADMINISTRATOR_LOGINS } from './reserved';
import {
  ADMINISTRATOR_LOGIN,
  AZURE_SERVER_NAME,
  checkBoolean,
  checkInteger,
  checkOneOf,
  checkStringRule,
  DELEGATED_SUBNET_ID,
  DELETION_POLICIES,
  DNS_SUBDOMAIN,
  LOCATION,
  PRIVATE_DNS_ZONE_ID,
  privateDnsZoneServerPart,
  RESOURCE_GROUP_NAME,
  type DeletionPolicyName,
} from './rules';
import { checkServerSource, normalizeServerSource, type NormalizedServerSource, type ServerSourceInput } from './server-source';
import { checkSku, tierSupportsHighAvailability } from './sku';
import { checkStorage } from './storage';
import { validateTags } from './tags';
import { checkPostgresVersion } from './version';
import type { PostgresServerSpec } from '../../imports/cdk8s-azure.dev';

export const HIGH_AVAILABILITY_MODES: readonly string[] = ['Disabled', 'ZoneRedundant', 'SameZone'];
export const AVAILABILITY_ZONES: readonly string[] = ['1', '2', '3'];
export const BACKUP_RETENTION_DAYS = { min: 7, max: 35 } as const;
/** Ranges of the maintenance window's fields (UTC; dayOfWeek 0 is Sunday). */
export const MAINTENANCE_WINDOW_RANGES = {
  dayOfWeek: { min: 0, max: 6 },
  startHour: { min: 0, max: 23 },
  startMinute: { min: 0, max: 59 },
} as const;

/** The spec with every default applied. */
export interface NormalizedServerSpec {
  azureName: string;
  resourceGroup: { name: string; create: boolean };
  location: string;
  version: string;
  sku: { tier: string; name: string };
  /** tier undefined: Azure's default tier of the size (defaultStorageTier). */
  storage: { sizeGB: number; autoGrow: boolean; tier?: string };
  backup: { retentionDays: number; geoRedundant: boolean };
  highAvailability: { mode: string; standbyAvailabilityZone?: string };
  availabilityZone?: string;
  network: { publicNetworkAccess: boolean; delegatedSubnetResourceId?: string; privateDnsZoneResourceId?: string };
  administratorLogin: string;
  /** Password and Microsoft Entra sign-in, and the Entra administrators. */
  authentication: NormalizedAuthentication;
  maintenanceWindow?: { dayOfWeek: number; startHour: number; startMinute: number };
  parameters: Record<string, string>;
  tags: Record<string, string>;
  deletionPolicy: DeletionPolicyName;
  secretName: string;
  /** The server is to be stopped (ARM stop); false: running (ARM start when Azure has it stopped). */
  stopped: boolean;
  /** Made from another PostgresServer: a read replica or a point-in-time restore (server-source.ts). */
  source?: NormalizedServerSource;
  /** The spec's replica/restore as given, for their checks. */
  sourceInput?: ServerSourceInput;
}

/** The defaults of a PostgresServer spec, written once: crds/postgresservers.yaml has the same. */
export const SERVER_DEFAULTS = {
  resourceGroup: { create: false },
  version: '16',
  sku: { tier: 'Burstable', name: 'Standard_B1ms' },
  storage: { sizeGB: 32, autoGrow: false },
  backup: { retentionDays: 7, geoRedundant: false },
  highAvailability: { mode: 'Disabled' },
  network: { publicNetworkAccess: true },
  administratorLogin: 'pgadmin',
  maintenanceWindow: { startMinute: 0 },
  deletionPolicy: 'Delete',
  stopped: false,
} as const;

/** What a spec may hold besides the generated type: the CRD's JSON key `sizeGB` (the generated type says `sizeGb`). */
type StorageInput = PostgresServerSpec['storage'] & { sizeGB?: number };

/**
 * The JSON key of the storage size is `sizeGB` (the CRD); the generated TypeScript type calls it `sizeGb`. Objects
 * read from Kubernetes carry `sizeGB`; both are accepted, here only.
 */
function storageSize(storage: StorageInput | undefined): unknown {
  return storage?.sizeGB ?? storage?.sizeGb;
}

/** A string field's value, or undefined when absent (other types are kept, for the checks to name). */
function optionalString(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : (typeof value === 'string' ? value : String(value));
}

export function normalizeServerSpec(spec: PostgresServerSpec | undefined): NormalizedServerSpec {
  const s = spec ?? ({} as PostgresServerSpec);
  const storage = s.storage as StorageInput | undefined;
  const standbyZone = optionalString(s.highAvailability?.standbyAvailabilityZone);
  const zone = optionalString(s.availabilityZone);
  const subnet = s.network?.delegatedSubnetResourceId;
  const dnsZone = s.network?.privateDnsZoneResourceId;
  return {
    azureName: s.azureName,
    resourceGroup: { name: s.resourceGroup?.name, create: s.resourceGroup?.create ?? SERVER_DEFAULTS.resourceGroup.create },
    location: s.location,
    version: String(s.version ?? SERVER_DEFAULTS.version),
    sku: { tier: s.sku?.tier ?? SERVER_DEFAULTS.sku.tier, name: s.sku?.name ?? SERVER_DEFAULTS.sku.name },
    storage: {
      sizeGB: (storageSize(storage) ?? SERVER_DEFAULTS.storage.sizeGB) as number,
      autoGrow: storage?.autoGrow ?? SERVER_DEFAULTS.storage.autoGrow,
      ...(storage?.tier !== undefined ? { tier: storage.tier } : {}),
    },
    backup: {
      retentionDays: s.backup?.retentionDays ?? SERVER_DEFAULTS.backup.retentionDays,
      geoRedundant: s.backup?.geoRedundant ?? SERVER_DEFAULTS.backup.geoRedundant,
    },
    highAvailability: {
      mode: s.highAvailability?.mode ?? SERVER_DEFAULTS.highAvailability.mode,
      ...(standbyZone ? { standbyAvailabilityZone: standbyZone } : {}),
    },
    ...(zone ? { availabilityZone: zone } : {}),
    network: {
      // A delegated subnet alone means private access.
      publicNetworkAccess: s.network?.publicNetworkAccess ?? !subnet,
      ...(subnet ? { delegatedSubnetResourceId: subnet } : {}),
      ...(dnsZone ? { privateDnsZoneResourceId: dnsZone } : {}),
    },
    administratorLogin: s.administratorLogin ?? SERVER_DEFAULTS.administratorLogin,
    authentication: normalizeAuthentication(s.authentication),
    ...(s.maintenanceWindow
      ? {
        maintenanceWindow: {
          dayOfWeek: s.maintenanceWindow.dayOfWeek,
          startHour: s.maintenanceWindow.startHour,
          startMinute: s.maintenanceWindow.startMinute ?? SERVER_DEFAULTS.maintenanceWindow.startMinute,
        },
      }
      : {}),
    // Kept as given when not a map, so that validateServerSpec names the mistake instead of losing it.
    parameters: copyMap(s.parameters),
    tags: copyMap(s.tags),
    deletionPolicy: (s.deletionPolicy ?? SERVER_DEFAULTS.deletionPolicy) as DeletionPolicyName,
    secretName: s.writeConnectionSecretToRef?.name,
    stopped: s.stopped ?? SERVER_DEFAULTS.stopped,
    ...sourceOf(s as ServerSourceInput),
  };
}

function sourceOf(s: ServerSourceInput): Pick<NormalizedServerSpec, 'source' | 'sourceInput'> {
  const source = normalizeServerSource(s);
  return source ? { source, sourceInput: { replica: s.replica, restore: s.restore } } : {};
}

function copyMap(value: unknown): Record<string, string> {
  if (value === undefined || value === null) {
    return {};
  }
  return (isPlainObject(value) ? { ...value } : value) as Record<string, string>;
}

/**
 * Problems with a spec, each naming the field, the value and the fix. The API server enforces most of them through
 * the CRD's schema and CEL rules; they are checked again so that nothing invalid reaches Azure whatever the API
 * server, and at synth with the construct path.
 */
export function validateServerSpec(n: NormalizedServerSpec): Problem[] {
  return problemsOf(
    checkStringRule('azureName', n.azureName, AZURE_SERVER_NAME),
    checkStringRule('resourceGroup.name', n.resourceGroup.name, RESOURCE_GROUP_NAME),
    checkBoolean('resourceGroup.create', n.resourceGroup.create),
    checkStringRule('location', n.location, LOCATION),
    checkPostgresVersion(n.version),
    checkSku(n.sku.tier, n.sku.name),
    checkStorage(n.storage.sizeGB, n.storage.tier),
    checkBoolean('storage.autoGrow', n.storage.autoGrow),
    checkInteger('backup.retentionDays', n.backup.retentionDays, BACKUP_RETENTION_DAYS.min, BACKUP_RETENTION_DAYS.max),
    checkBoolean('backup.geoRedundant', n.backup.geoRedundant),
    highAvailabilityProblems(n),
    networkProblems(n),
    administratorLoginProblem(n.administratorLogin),
    authenticationProblems(n.authentication),
    maintenanceWindowProblems(n.maintenanceWindow),
    parameterProblems(n.version, n.parameters),
    validateTags(n.tags),
    checkOneOf('deletionPolicy', n.deletionPolicy, DELETION_POLICIES),
    checkStringRule('writeConnectionSecretToRef.name', n.secretName, DNS_SUBDOMAIN),
    checkBoolean('stopped', n.stopped),
    checkServerSource(n.sourceInput),
  );
}

function highAvailabilityProblems(n: NormalizedServerSpec): Problem[] {
  const { mode, standbyAvailabilityZone: standby } = n.highAvailability;
  const modeProblem = checkOneOf('highAvailability.mode', mode, HIGH_AVAILABILITY_MODES);
  return problemsOf(
    modeProblem,
    !modeProblem && mode !== 'Disabled' && !tierSupportsHighAvailability(n.sku.tier)
      ? { field: 'highAvailability.mode', value: mode, expected: `high availability is not available on the ${n.sku.tier} tier; use GeneralPurpose or MemoryOptimized, or set mode Disabled` }
      : undefined,
    standby === undefined ? undefined : checkOneOf('highAvailability.standbyAvailabilityZone', standby, AVAILABILITY_ZONES),
    standby !== undefined && mode !== 'ZoneRedundant'
      ? { field: 'highAvailability.standbyAvailabilityZone', value: standby, expected: 'applies only to mode ZoneRedundant; remove it or set mode ZoneRedundant' }
      : undefined,
    n.availabilityZone === undefined ? undefined : checkOneOf('availabilityZone', n.availabilityZone, AVAILABILITY_ZONES),
    standby !== undefined && standby === n.availabilityZone
      ? { field: 'highAvailability.standbyAvailabilityZone', value: standby, expected: 'must differ from availabilityZone (the primary\'s zone)' }
      : undefined,
  );
}

function networkProblems(n: NormalizedServerSpec): Problem[] {
  const { publicNetworkAccess, delegatedSubnetResourceId: subnet, privateDnsZoneResourceId: dnsZone } = n.network;
  const zoneShape = dnsZone === undefined ? undefined : checkStringRule('network.privateDnsZoneResourceId', dnsZone, PRIVATE_DNS_ZONE_ID);
  return problemsOf(
    checkBoolean('network.publicNetworkAccess', publicNetworkAccess),
    subnet === undefined ? undefined : checkStringRule('network.delegatedSubnetResourceId', subnet, DELEGATED_SUBNET_ID),
    zoneShape,
    !zoneShape && dnsZone !== undefined && typeof n.azureName === 'string' && privateDnsZoneServerPart(dnsZone) === n.azureName.toLowerCase()
      ? { field: 'network.privateDnsZoneResourceId', value: dnsZone, expected: `must not be named after this server (${n.azureName}): the zone <name>.<suffix> must not use a server's name; use for example ${n.azureName}.private.<suffix>` }
      : undefined,
    subnet !== undefined && publicNetworkAccess === true
      ? { field: 'network.publicNetworkAccess', value: true, expected: 'must be false with network.delegatedSubnetResourceId (private access)' }
      : undefined,
    (subnet === undefined) !== (dnsZone === undefined)
      ? { field: subnet === undefined ? 'network.delegatedSubnetResourceId' : 'network.privateDnsZoneResourceId', value: undefined, expected: 'private access needs both delegatedSubnetResourceId and privateDnsZoneResourceId' }
      : undefined,
  );
}

function administratorLoginProblem(login: unknown): Problem | undefined {
  const shape = checkStringRule('administratorLogin', login, ADMINISTRATOR_LOGIN);
  if (shape || !isReservedAdministratorLogin(login as string)) {
    return shape;
  }
  return {
    field: 'administratorLogin',
    value: login,
    expected: `is reserved by Azure (${RESERVED_ADMINISTRATOR_LOGINS.join(', ')}, pg_*; in any letter case): choose another name such as pgadmin`,
  };
}

function maintenanceWindowProblems(window: NormalizedServerSpec['maintenanceWindow']): Problem[] {
  if (window === undefined) {
    return [];
  }
  return problemsOf(...(['dayOfWeek', 'startHour', 'startMinute'] as const).map(name =>
    checkInteger(`maintenanceWindow.${name}`, window[name], MAINTENANCE_WINDOW_RANGES[name].min, MAINTENANCE_WINDOW_RANGES[name].max)));
}

function parameterProblems(version: string, parameters: unknown): Problem[] {
  if (!isPlainObject(parameters)) {
    return [{ field: 'parameters', value: parameters, expected: 'must be a map of parameter names to string values' }];
  }
  const names = Object.keys(parameters);
  return problemsOf(
    names.length > MAX_SERVER_PARAMETERS
      ? { field: 'parameters', value: `${names.length} parameters`, expected: `at most ${MAX_SERVER_PARAMETERS} parameters` }
      : undefined,
    ...names.map(name => checkServerParameter(version, name, parameters[name])),
  );
}
