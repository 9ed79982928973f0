/**
 * Azure's validation rules for flexible servers and their children, with the error codes the emulator answers
 * (see docs/testing-emulator.md for the table). Everything here is pure: JSON in, model or ApiError out.
 */
import { ApiError, invalidParameter } from './errors';

/** Major versions a new server may be created with (Azure's supported versions; 18 is generally available). */
export const SUPPORTED_VERSIONS = ['14', '15', '16', '17', '18'];
/** Retired majors: Azure keeps existing servers on them, but new servers cannot be created with them. */
export const RETIRED_VERSIONS = ['11', '12', '13'];
/** Reported minor versions (Azure's current minors: 16.11, 17.8, 18.3). */
export const MINOR_VERSIONS: Record<string, string> = { 13: '23', 14: '20', 15: '15', 16: '11', 17: '8', 18: '3' };
/** Premium SSD sizes (GiB). 4095 is the largest that still scales online; autogrow does not cross it to 4096. */
export const STORAGE_SIZES_GB = [32, 64, 128, 256, 512, 1024, 2048, 4095, 4096, 8192, 16384, 32767];
/** Premium SSD performance tiers (the 2025-08-01 spec's AzureManagedDiskPerformanceTier) and their IOPS. */
export const STORAGE_TIER_IOPS: Record<string, number> = {
  P1: 120, P2: 120, P3: 120, P4: 120, P6: 240, P10: 500, P15: 1100, P20: 2300, P30: 5000, P40: 7500, P50: 7500, P60: 16000, P70: 18000, P80: 20000,
};
export const STORAGE_TIERS = Object.keys(STORAGE_TIER_IOPS);
/** The default performance tier of each size: a server cannot run below it. */
export const DEFAULT_STORAGE_TIER: Record<number, string> = {
  32: 'P4', 64: 'P6', 128: 'P10', 256: 'P15', 512: 'P20', 1024: 'P30', 2048: 'P40', 4095: 'P50', 4096: 'P50', 8192: 'P60', 16384: 'P70', 32767: 'P80',
};
/** Disks up to 4 TiB can be raised to P50 at most; larger ones to P80. */
export function maxStorageTier(sizeGB: number): string {
  return sizeGB <= 4096 ? 'P50' : 'P80';
}
const tierRank = (t: string) => STORAGE_TIERS.indexOf(t);
/** Azure's reserved administrator logins (and every name starting with pg_). */
export const RESERVED_LOGINS = ['azure_superuser', 'azure_pg_admin', 'admin', 'administrator', 'root', 'guest', 'public'];
export const SYSTEM_DATABASES = ['postgres', 'azure_maintenance', 'azure_sys', 'template0', 'template1'];

export interface SkuInfo {
  name: string;
  tier: 'Burstable' | 'GeneralPurpose' | 'MemoryOptimized';
  vCores: number;
  memGiB: number;
}

function skuCatalog(): Map<string, SkuInfo> {
  const m = new Map<string, SkuInfo>();
  const add = (name: string, tier: SkuInfo['tier'], vCores: number, memGiB: number) => m.set(name.toLowerCase(), { name, tier, vCores, memGiB });
  for (const [n, c, mem] of [['B1ms', 1, 2], ['B2s', 2, 4], ['B2ms', 2, 8], ['B4ms', 4, 16], ['B8ms', 8, 32], ['B12ms', 12, 48], ['B16ms', 16, 64], ['B20ms', 20, 80]] as const) {
    add(`Standard_${n}`, 'Burstable', c, mem);
  }
  for (const c of [2, 4, 8, 16, 32, 48, 64]) {
    add(`Standard_D${c}s_v3`, 'GeneralPurpose', c, c * 4);
    add(`Standard_D${c}ds_v4`, 'GeneralPurpose', c, c * 4);
    add(`Standard_E${c}s_v3`, 'MemoryOptimized', c, c * 8);
    add(`Standard_E${c}ds_v4`, 'MemoryOptimized', c, c * 8);
  }
  for (const c of [2, 4, 8, 16, 32, 48, 64, 96]) {
    add(`Standard_D${c}ds_v5`, 'GeneralPurpose', c, c * 4);
    add(`Standard_D${c}ads_v5`, 'GeneralPurpose', c, c * 4);
    add(`Standard_E${c}ds_v5`, 'MemoryOptimized', c, c * 8);
    add(`Standard_E${c}ads_v5`, 'MemoryOptimized', c, c * 8);
  }
  for (const c of [2, 4, 8, 16, 32, 48, 64, 96, 128, 192]) {
    add(`Standard_D${c}ds_v6`, 'GeneralPurpose', c, c * 4);
    add(`Standard_E${c}ds_v6`, 'MemoryOptimized', c, c * 8);
  }
  for (const c of [2, 4, 8, 16, 32, 48, 64, 96]) {
    add(`Standard_D${c}ads_v6`, 'GeneralPurpose', c, c * 4);
    add(`Standard_E${c}ads_v6`, 'MemoryOptimized', c, c * 8);
  }
  add('Standard_E20ds_v4', 'MemoryOptimized', 20, 160);
  add('Standard_E20ds_v5', 'MemoryOptimized', 20, 160);
  add('Standard_E20ads_v5', 'MemoryOptimized', 20, 160);
  return m;
}
export const SKUS = skuCatalog();

export const REGIONS: Record<string, string> = {
  eastus: 'East US',
  eastus2: 'East US 2',
  westus: 'West US',
  westus2: 'West US 2',
  westus3: 'West US 3',
  centralus: 'Central US',
  northcentralus: 'North Central US',
  southcentralus: 'South Central US',
  westcentralus: 'West Central US',
  canadacentral: 'Canada Central',
  canadaeast: 'Canada East',
  brazilsouth: 'Brazil South',
  mexicocentral: 'Mexico Central',
  northeurope: 'North Europe',
  westeurope: 'West Europe',
  uksouth: 'UK South',
  ukwest: 'UK West',
  francecentral: 'France Central',
  germanywestcentral: 'Germany West Central',
  swedencentral: 'Sweden Central',
  switzerlandnorth: 'Switzerland North',
  norwayeast: 'Norway East',
  polandcentral: 'Poland Central',
  italynorth: 'Italy North',
  spaincentral: 'Spain Central',
  eastasia: 'East Asia',
  southeastasia: 'Southeast Asia',
  japaneast: 'Japan East',
  japanwest: 'Japan West',
  koreacentral: 'Korea Central',
  australiaeast: 'Australia East',
  australiasoutheast: 'Australia Southeast',
  centralindia: 'Central India',
  southindia: 'South India',
  uaenorth: 'UAE North',
  southafricanorth: 'South Africa North',
  israelcentral: 'Israel Central',
  qatarcentral: 'Qatar Central',
  newzealandnorth: 'New Zealand North',
};

/** 'East US', 'eastus', 'EastUS' -> { short: 'eastus', display: 'East US' }; undefined for unknown regions. */
export function normalizeLocation(loc: unknown): { short: string; display: string } | undefined {
  if (typeof loc !== 'string') return undefined;
  const short = loc.replace(/\s+/g, '').toLowerCase();
  const display = REGIONS[short];
  return display ? { short, display } : undefined;
}

export function locationNotAvailable(loc: string, type: string): ApiError {
  return new ApiError(400, 'LocationNotAvailableForResourceType',
    `The provided location '${loc}' is not available for resource type '${type}'. List of available regions for the resource type is '${Object.keys(REGIONS).join(',')}'.`);
}

export function validateServerName(name: string): void {
  if (!/^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/.test(name)) {
    throw new ApiError(400, 'InvalidServerName',
      `Server name '${name}' is not valid. The name must be 3 to 63 characters long, contain only lowercase letters, numbers and hyphens, and must not start or end with a hyphen.`);
  }
}

export function validateAdministratorLogin(login: unknown): string {
  if (typeof login !== 'string' || login === '') throw invalidParameter('administratorLogin');
  const l = login.toLowerCase();
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(login)) {
    throw new ApiError(400, 'InvalidUserName',
      `The user name '${login}' is not valid. It must be 1 to 63 letters, digits or underscores, and must not start with a digit.`);
  }
  if (RESERVED_LOGINS.includes(l) || l.startsWith('pg_')) {
    throw new ApiError(400, 'BlockedUserName',
      `The user name '${login}' is not allowed. It cannot be azure_superuser, azure_pg_admin, admin, administrator, root, guest or public, and cannot start with pg_.`);
  }
  return login;
}

export function validatePassword(password: unknown, login: string | undefined): string {
  if (typeof password !== 'string' || password === '') throw invalidParameter('administratorLoginPassword');
  if (password.length < 8) {
    throw new ApiError(400, 'PasswordTooShort', 'The password is too short. It must be at least 8 characters long.');
  }
  if (password.length > 128) {
    throw new ApiError(400, 'PasswordTooLong', 'The password is too long. It must be at most 128 characters long.');
  }
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(password)).length;
  const containsLogin = !!login && login.length >= 3 && password.toLowerCase().includes(login.toLowerCase());
  if (classes < 3 || containsLogin) {
    throw new ApiError(400, 'PasswordNotComplex',
      'Password validation failed. The password does not meet policy requirements because it is not complex enough. It must contain characters from three of these categories: English uppercase letters, English lowercase letters, numbers (0-9), non-alphanumeric characters, and must not contain the login name.');
  }
  return password;
}

const ENABLED_DISABLED = ['Enabled', 'Disabled'];

/** Canonical casing of an enum value ('enabled' -> 'Enabled'), or an InvalidParameterValue error. */
export function enumValue(param: string, v: unknown, allowed: string[]): string {
  const hit = typeof v === 'string' ? allowed.find((a) => a.toLowerCase() === v.toLowerCase()) : undefined;
  if (!hit) throw invalidParameter(param, `Allowed values: ${allowed.join(', ')}.`);
  return hit;
}

function intIn(param: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw invalidParameter(param);
  return n;
}

export interface ServerModel {
  sku: { name: string; tier: string };
  administratorLogin?: string;
  version: string;
  storage: { storageSizeGB: number; autoGrow: string; tier: string; iops: number; type?: string; throughput?: number };
  authConfig: { activeDirectoryAuth: string; passwordAuth: string; tenantId?: string };
  dataEncryption: Record<string, unknown>;
  backup: { backupRetentionDays: number; geoRedundantBackup: string };
  network: { publicNetworkAccess: string; delegatedSubnetResourceId?: string; privateDnsZoneArmResourceId?: string };
  highAvailability: { mode: string; standbyAvailabilityZone?: string };
  maintenanceWindow: { customWindow: string; dayOfWeek: number; startHour: number; startMinute: number };
  availabilityZone: string;
  identity?: Record<string, unknown>;
  createMode?: string;
  /** Replica and PointInTimeRestore: the server whose data the new one starts from. */
  sourceServerResourceId?: string;
  /** PointInTimeRestore: the time (ISO 8601, UTC) to restore to. */
  pointInTimeUTC?: string;
}

export function defaultServerModel(): ServerModel {
  return {
    sku: { name: 'Standard_D2ds_v5', tier: 'GeneralPurpose' },
    version: '16',
    storage: { storageSizeGB: 128, autoGrow: 'Disabled', tier: 'P10', iops: 500, type: '' },
    authConfig: { activeDirectoryAuth: 'Disabled', passwordAuth: 'Enabled' },
    dataEncryption: { type: 'SystemManaged' },
    backup: { backupRetentionDays: 7, geoRedundantBackup: 'Disabled' },
    network: { publicNetworkAccess: 'Enabled' },
    highAvailability: { mode: 'Disabled' },
    maintenanceWindow: { customWindow: 'Disabled', dayOfWeek: 0, startHour: 0, startMinute: 0 },
    availabilityZone: '1',
  };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Applies the (PUT or PATCH) request's fields over `base` and validates the result. `props` is the body's
 * `properties`; `body` the whole body (sku, identity). Returns the new model and the new password, if one was given.
 */
export function applyServerRequest(base: ServerModel, body: Record<string, unknown>, existing: ServerModel | undefined):
{ model: ServerModel; password?: string } {
  const props = isObj(body.properties) ? body.properties : {};
  const m: ServerModel = JSON.parse(JSON.stringify(base));
  let storageTierGiven = false;

  if (body.sku !== undefined) {
    if (!isObj(body.sku)) throw invalidParameter('sku');
    const name = body.sku.name ?? m.sku.name;
    const info = typeof name === 'string' ? SKUS.get(name.toLowerCase()) : undefined;
    if (!info) {
      throw new ApiError(400, 'InvalidSkuName', `The SKU name '${String(name)}' is not valid. Valid SKU names look like Standard_B1ms (Burstable), Standard_D2ds_v5 (GeneralPurpose) or Standard_E2ds_v5 (MemoryOptimized).`);
    }
    const tier = body.sku.tier === undefined ? info.tier : body.sku.tier;
    const tierName = typeof tier === 'string' ? ['Burstable', 'GeneralPurpose', 'MemoryOptimized'].find((t) => t.toLowerCase() === tier.toLowerCase()) : undefined;
    if (!tierName || tierName !== info.tier) {
      throw new ApiError(400, 'InvalidSkuTier', `The SKU '${info.name}' is not available in the tier '${String(tier)}'. It belongs to the '${info.tier}' tier.`);
    }
    m.sku = { name: info.name, tier: info.tier };
  }
  if (props.administratorLogin !== undefined && props.administratorLogin !== null) {
    m.administratorLogin = validateAdministratorLogin(props.administratorLogin);
  }
  if (props.version !== undefined && props.version !== null) {
    const v = String(props.version);
    const kept = !!existing && existing.version === v;
    if (RETIRED_VERSIONS.includes(v) && !kept) {
      throw new ApiError(400, 'InvalidServerVersion',
        `PostgreSQL version '${v}' is retired: servers cannot be created with it or upgraded to it. Supported versions are ${SUPPORTED_VERSIONS.join(', ')}.`);
    }
    if (!SUPPORTED_VERSIONS.includes(v) && !kept) {
      throw new ApiError(400, 'InvalidServerVersion', `The version '${v}' is not supported. Supported versions are ${SUPPORTED_VERSIONS.join(', ')}.`);
    }
    m.version = v;
  }
  if (props.storage !== undefined) {
    if (!isObj(props.storage)) throw invalidParameter('storage');
    const s = props.storage;
    if (s.storageSizeGB !== undefined) {
      const size = s.storageSizeGB;
      if (typeof size !== 'number' || !STORAGE_SIZES_GB.includes(size)) throw invalidParameter('StorageSizeGB');
      m.storage.storageSizeGB = size;
    }
    if (s.autoGrow !== undefined) m.storage.autoGrow = enumValue('storage.autoGrow', s.autoGrow, ENABLED_DISABLED);
    if (s.tier !== undefined && s.tier !== null && s.tier !== '') {
      const tier = typeof s.tier === 'string' ? STORAGE_TIERS.find((t) => t.toLowerCase() === String(s.tier).toLowerCase()) : undefined;
      if (!tier) throw invalidParameter('Tier');
      m.storage.tier = tier;
      storageTierGiven = true;
    }
    if (s.type !== undefined && s.type !== '') m.storage.type = enumValue('storage.type', s.type, ['Premium_LRS', 'PremiumV2_LRS', 'UltraSSD_LRS']);
    if (s.iops !== undefined) m.storage.iops = intIn('storage.iops', s.iops, 0, 80000);
    if (s.throughput !== undefined) m.storage.throughput = intIn('storage.throughput', s.throughput, 0, 1200);
  }
  // The performance tier: never below the size's default (a tier left out follows the size up), at most P50 for
  // disks up to 4 TiB and P80 above; Premium SSD (v1) IOPS follow the tier.
  const defaultTier = DEFAULT_STORAGE_TIER[m.storage.storageSizeGB];
  if (!storageTierGiven && (!existing || tierRank(m.storage.tier) < tierRank(defaultTier))) m.storage.tier = defaultTier;
  if (m.storage.type !== 'PremiumV2_LRS' && m.storage.type !== 'UltraSSD_LRS') m.storage.iops = STORAGE_TIER_IOPS[m.storage.tier];
  if (props.backup !== undefined) {
    if (!isObj(props.backup)) throw invalidParameter('backup');
    const b = props.backup;
    if (b.backupRetentionDays !== undefined) {
      const d = b.backupRetentionDays;
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 7 || d > 35) {
        throw new ApiError(400, 'InvalidBackupRetentionDays', `The backup retention period '${String(d)}' is not valid. It must be between 7 and 35 days.`);
      }
      m.backup.backupRetentionDays = d;
    }
    if (b.geoRedundantBackup !== undefined) m.backup.geoRedundantBackup = enumValue('backup.geoRedundantBackup', b.geoRedundantBackup, ENABLED_DISABLED);
  }
  if (props.network !== undefined) {
    if (!isObj(props.network)) throw invalidParameter('network');
    const n = props.network;
    if (n.publicNetworkAccess !== undefined) m.network.publicNetworkAccess = enumValue('network.publicNetworkAccess', n.publicNetworkAccess, ENABLED_DISABLED);
    for (const k of ['delegatedSubnetResourceId', 'privateDnsZoneArmResourceId'] as const) {
      if (n[k] !== undefined && n[k] !== null && n[k] !== '') {
        if (typeof n[k] !== 'string' || !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\//i.test(n[k] as string)) throw invalidParameter(`network.${k}`);
        m.network[k] = n[k] as string;
      }
    }
    if (m.network.delegatedSubnetResourceId && n.publicNetworkAccess === undefined) m.network.publicNetworkAccess = 'Disabled';
  }
  if (props.highAvailability !== undefined) {
    if (!isObj(props.highAvailability)) throw invalidParameter('highAvailability');
    const h = props.highAvailability;
    if (h.mode !== undefined) m.highAvailability.mode = enumValue('highAvailability.mode', h.mode, ['Disabled', 'ZoneRedundant', 'SameZone']);
    if (h.standbyAvailabilityZone !== undefined) m.highAvailability.standbyAvailabilityZone = String(h.standbyAvailabilityZone);
  }
  if (props.maintenanceWindow !== undefined) {
    if (!isObj(props.maintenanceWindow)) throw invalidParameter('maintenanceWindow');
    const w = props.maintenanceWindow;
    if (w.customWindow !== undefined) m.maintenanceWindow.customWindow = enumValue('maintenanceWindow.customWindow', w.customWindow, ENABLED_DISABLED);
    if (w.dayOfWeek !== undefined) m.maintenanceWindow.dayOfWeek = intIn('maintenanceWindow.dayOfWeek', w.dayOfWeek, 0, 6);
    if (w.startHour !== undefined) m.maintenanceWindow.startHour = intIn('maintenanceWindow.startHour', w.startHour, 0, 23);
    if (w.startMinute !== undefined) m.maintenanceWindow.startMinute = intIn('maintenanceWindow.startMinute', w.startMinute, 0, 59);
  }
  if (props.authConfig !== undefined) {
    if (!isObj(props.authConfig)) throw invalidParameter('authConfig');
    const a = props.authConfig;
    if (a.activeDirectoryAuth !== undefined) m.authConfig.activeDirectoryAuth = enumValue('authConfig.activeDirectoryAuth', a.activeDirectoryAuth, ENABLED_DISABLED);
    if (a.passwordAuth !== undefined) m.authConfig.passwordAuth = enumValue('authConfig.passwordAuth', a.passwordAuth, ENABLED_DISABLED);
    if (typeof a.tenantId === 'string') m.authConfig.tenantId = a.tenantId;
  }
  if (props.availabilityZone !== undefined && props.availabilityZone !== null && props.availabilityZone !== '') {
    m.availabilityZone = enumValue('availabilityZone', String(props.availabilityZone), ['1', '2', '3']);
  }
  if (props.createMode !== undefined) {
    const mode = enumValue('createMode', props.createMode, ['Default', 'Create', 'Update', 'PointInTimeRestore', 'GeoRestore', 'Replica', 'ReviveDropped']);
    if (!['Default', 'Create', 'Update', 'Replica', 'PointInTimeRestore'].includes(mode)) {
      throw new ApiError(400, 'UnsupportedCreateMode', `The emulator does not support createMode '${mode}'.`);
    }
    m.createMode = mode;
    if (!existing && (mode === 'Replica' || mode === 'PointInTimeRestore')) {
      if (typeof props.sourceServerResourceId !== 'string' || !/\/flexibleServers\/[^/]+$/i.test(props.sourceServerResourceId)) {
        throw invalidParameter('sourceServerResourceId');
      }
      m.sourceServerResourceId = props.sourceServerResourceId;
      if (mode === 'PointInTimeRestore') {
        if (typeof props.pointInTimeUTC !== 'string' || Number.isNaN(Date.parse(props.pointInTimeUTC))) throw invalidParameter('pointInTimeUTC');
        m.pointInTimeUTC = new Date(props.pointInTimeUTC).toISOString();
      }
    }
  }
  const fromSource = !existing && !!m.sourceServerResourceId;
  if (body.identity !== undefined) {
    if (body.identity !== null && !isObj(body.identity)) throw invalidParameter('identity');
    m.identity = (body.identity ?? undefined) as Record<string, unknown> | undefined;
  }

  if (m.sku.tier === 'Burstable' && m.highAvailability.mode !== 'Disabled') {
    throw new ApiError(400, 'HighAvailabilityNotSupportedForBurstable',
      `High availability (mode '${m.highAvailability.mode}') is not supported for the Burstable tier. Choose a General Purpose or Memory Optimized SKU, or disable high availability.`);
  }

  let password: string | undefined;
  const passwordAuth = m.authConfig.passwordAuth === 'Enabled';
  if (!existing && fromSource) {
    // A replica or a restore has its source's administrator (and password); a password sent is ignored.
  } else if (!existing) {
    if (passwordAuth && !m.administratorLogin) throw invalidParameter('administratorLogin');
    if (passwordAuth || props.administratorLoginPassword !== undefined) {
      password = validatePassword(props.administratorLoginPassword, m.administratorLogin);
    }
  } else {
    if (m.administratorLogin && existing.administratorLogin && m.administratorLogin !== existing.administratorLogin) {
      throw new ApiError(400, 'PropertyChangeNotAllowed', `The property 'administratorLogin' cannot be changed after the server is created (current value '${existing.administratorLogin}').`);
    }
    if (props.administratorLoginPassword !== undefined && props.administratorLoginPassword !== null) {
      password = validatePassword(props.administratorLoginPassword, m.administratorLogin);
    }
    // A server without a password administrator (created with password sign-in off) gets one when password sign-in
    // is turned on, from the login and password of that request: without both, Azure refuses (azure-cli issue
    // #29346 and PR #30200; the ARM model: administratorLogin "must be specified the first time that you enable
    // password based authentication").
    const turnedOn = passwordAuth && existing.authConfig.passwordAuth !== 'Enabled';
    if (turnedOn && !existing.administratorLogin && (!m.administratorLogin || password === undefined)) {
      throw new ApiError(400, 'EngineCredentialsNotProvided',
        'The admin credentials are required for creating admin role while enabling Password Authentication and must be provided.');
    }
    if (m.backup.geoRedundantBackup !== existing.backup.geoRedundantBackup) {
      throw new ApiError(400, 'PropertyChangeNotAllowed', "The property 'backup.geoRedundantBackup' cannot be changed after the server is created.");
    }
    // The network mode is fixed at creation; on a VNet-integrated server the private DNS zone may change, except
    // while high availability is on.
    const subnetChanged = (m.network.delegatedSubnetResourceId ?? '') !== (existing.network.delegatedSubnetResourceId ?? '');
    const zoneChanged = (m.network.privateDnsZoneArmResourceId ?? '') !== (existing.network.privateDnsZoneArmResourceId ?? '');
    if (subnetChanged || (zoneChanged && !existing.network.delegatedSubnetResourceId)) {
      throw new ApiError(400, 'PropertyChangeNotAllowed', 'The network mode (private access through network.delegatedSubnetResourceId, or public access) cannot be changed after the server is created.');
    }
    if (zoneChanged && (existing.highAvailability.mode !== 'Disabled' || m.highAvailability.mode !== 'Disabled')) {
      throw invalidParameter('Network.PrivateDnsZoneArmResourceId',
        'The private DNS zone cannot be changed while high availability is enabled. Disable high availability first.');
    }
    const haBefore = existing.highAvailability.mode;
    const haAfter = m.highAvailability.mode;
    if (haBefore !== 'Disabled' && haAfter !== 'Disabled' && haBefore !== haAfter) {
      throw new ApiError(400, 'InvalidParameterValue',
        `Invalid value given for parameter Cannot switch Properties.HighAvailability.Mode directly from ${haBefore} to ${haAfter}. Please disable HA and then enable HA.. Specify a valid parameter value.`);
    }
    if (m.storage.storageSizeGB < existing.storage.storageSizeGB) {
      throw new ApiError(400, 'StorageSizeDecreaseNotAllowed', `The storage size cannot be decreased from ${existing.storage.storageSizeGB} GB to ${m.storage.storageSizeGB} GB.`);
    }
    if (Number(m.version) < Number(existing.version)) {
      throw new ApiError(400, 'VersionDowngradeNotAllowed', `The major version cannot be downgraded from ${existing.version} to ${m.version}.`);
    }
  }
  if (tierRank(m.storage.tier) < tierRank(defaultTier) || tierRank(m.storage.tier) > tierRank(maxStorageTier(m.storage.storageSizeGB))) {
    throw invalidParameter('Tier');
  }
  return { model: m, password };
}

export function validateDatabaseName(name: string): void {
  if (!/^[a-zA-Z_][\w-]{0,62}$/.test(name)) {
    throw new ApiError(400, 'InvalidDatabaseName', `The database name '${name}' is not valid. It must be 1 to 63 characters: letters, digits, underscores or hyphens, starting with a letter or underscore.`);
  }
}

/** The 2025-08-01 spec's collation pattern. */
export function validateCollation(collation: string): void {
  if (!/^[a-zA-Z-]+([. ]|\w)*$/.test(collation)) throw invalidParameter('collation');
}

export const CHARSETS = ['UTF8', 'SQL_ASCII', 'LATIN1', 'LATIN2', 'LATIN9', 'WIN1252', 'EUC_JP', 'EUC_KR', 'EUC_CN'];

export function validateFirewallRuleName(name: string): void {
  if (!/^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$/.test(name)) {
    throw new ApiError(400, 'InvalidFirewallRuleName', `The firewall rule name '${name}' is not valid. It must be 1 to 80 letters, digits, hyphens or underscores, start with a letter or digit and not end with a hyphen.`);
  }
}

export function ipv4ToNumber(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] * 256 + parts[1]) * 256 + parts[2]) * 256 + parts[3];
}

export function validateFirewallRule(props: Record<string, unknown>): { startIpAddress: string; endIpAddress: string } {
  const start = props.startIpAddress;
  const end = props.endIpAddress;
  if (typeof start !== 'string' || ipv4ToNumber(start) === undefined) throw invalidParameter('startIpAddress');
  if (typeof end !== 'string' || ipv4ToNumber(end) === undefined) throw invalidParameter('endIpAddress');
  if (ipv4ToNumber(start)! > ipv4ToNumber(end)!) {
    throw new ApiError(400, 'InvalidFirewallRuleIpRange', `The start IP address '${start}' of the firewall rule cannot exceed its end IP address '${end}'.`);
  }
  return { startIpAddress: start, endIpAddress: end };
}
