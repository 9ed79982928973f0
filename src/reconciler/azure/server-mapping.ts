/**
 * PostgresServer spec <-> Azure flexible server: defaults, validation the API server may not have done, the create
 * body, and the drift diff (which managed fields differ, which of those Azure can change in place with a PATCH, and
 * which it cannot).
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import type { PostgresServerSpec } from '../../../imports/cdk8s-azure.dev';

export const TAG_NAMESPACE = 'cdk8s-azure.dev-namespace';
export const TAG_NAME = 'cdk8s-azure.dev-name';
export const TAG_UID = 'cdk8s-azure.dev-uid';
export const OWNER_TAGS = [TAG_NAMESPACE, TAG_NAME, TAG_UID] as const;

export interface Owner {
  namespace: string;
  name: string;
  uid: string;
}

/** The spec with every default of the CRD applied (objects from a real API server already have them). */
export interface NormalizedServerSpec {
  azureName: string;
  resourceGroup: { name: string; create: boolean };
  location: string;
  version: string;
  sku: { tier: string; name: string };
  storage: { sizeGB: number; autoGrow: boolean };
  backup: { retentionDays: number; geoRedundant: boolean };
  highAvailability: { mode: string; standbyAvailabilityZone?: string };
  availabilityZone?: string;
  network: { publicNetworkAccess: boolean; delegatedSubnetResourceId?: string; privateDnsZoneResourceId?: string };
  administratorLogin: string;
  maintenanceWindow?: { dayOfWeek: number; startHour: number; startMinute: number };
  parameters: Record<string, string>;
  tags: Record<string, string>;
  deletionPolicy: 'Delete' | 'Retain';
  secretName: string;
}

/**
 * The JSON key of storage size is `sizeGB` (the CRD); the generated TypeScript type calls it `sizeGb`. Objects read
 * from Kubernetes carry `sizeGB`; both are accepted.
 */
function storageSize(storage: PostgresServerSpec['storage']): number | undefined {
  const s = storage as (PostgresServerSpec['storage'] & { sizeGB?: number }) | undefined;
  const v = s?.sizeGB ?? s?.sizeGb;
  return v === undefined ? undefined : Number(v);
}

export function normalizeServerSpec(spec: PostgresServerSpec): NormalizedServerSpec {
  const s = spec ?? ({} as PostgresServerSpec);
  return {
    azureName: s.azureName,
    resourceGroup: { name: s.resourceGroup?.name, create: s.resourceGroup?.create ?? false },
    location: s.location,
    version: String(s.version ?? '16'),
    sku: { tier: s.sku?.tier ?? 'Burstable', name: s.sku?.name ?? 'Standard_B1ms' },
    storage: { sizeGB: storageSize(s.storage) ?? 32, autoGrow: s.storage?.autoGrow ?? false },
    backup: { retentionDays: s.backup?.retentionDays ?? 7, geoRedundant: s.backup?.geoRedundant ?? false },
    highAvailability: {
      mode: s.highAvailability?.mode ?? 'Disabled',
      ...(s.highAvailability?.standbyAvailabilityZone ? { standbyAvailabilityZone: String(s.highAvailability.standbyAvailabilityZone) } : {}),
    },
    ...(s.availabilityZone ? { availabilityZone: String(s.availabilityZone) } : {}),
    network: {
      publicNetworkAccess: s.network?.publicNetworkAccess ?? !s.network?.delegatedSubnetResourceId,
      ...(s.network?.delegatedSubnetResourceId ? { delegatedSubnetResourceId: s.network.delegatedSubnetResourceId } : {}),
      ...(s.network?.privateDnsZoneResourceId ? { privateDnsZoneResourceId: s.network.privateDnsZoneResourceId } : {}),
    },
    administratorLogin: s.administratorLogin ?? 'pgadmin',
    ...(s.maintenanceWindow
      ? {
        maintenanceWindow: {
          dayOfWeek: s.maintenanceWindow.dayOfWeek,
          startHour: s.maintenanceWindow.startHour,
          startMinute: s.maintenanceWindow.startMinute ?? 0,
        },
      }
      : {}),
    parameters: { ...(s.parameters ?? {}) },
    tags: { ...(s.tags ?? {}) },
    deletionPolicy: s.deletionPolicy === 'Retain' ? 'Retain' : 'Delete',
    secretName: s.writeConnectionSecretToRef?.name,
  };
}

const STORAGE_SIZES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767];
const RESERVED_LOGINS = ['azure_superuser', 'azure_pg_admin', 'admin', 'administrator', 'root', 'guest', 'public'];

/**
 * Problems with a spec, each naming the field and the fix. The API server enforces most of these through the CRD's
 * schema and CEL rules; they are checked again here so that nothing invalid reaches Azure whatever the API server.
 */
export function validateServerSpec(n: NormalizedServerSpec): string[] {
  const p: string[] = [];
  if (!n.azureName || !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(n.azureName)) {
    p.push('spec.azureName must be 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen');
  }
  if (!n.resourceGroup.name || n.resourceGroup.name.length > 90 || !/^[-\w.()]*[-\w()]$/.test(n.resourceGroup.name)) {
    p.push('spec.resourceGroup.name must be 1-90 letters, digits, underscores, hyphens, periods or parentheses, not ending with a period');
  }
  if (!n.location || !/^[a-z0-9]+$/.test(n.location)) p.push('spec.location must be an Azure region name such as westeurope (lowercase, no spaces)');
  if (!['13', '14', '15', '16', '17'].includes(n.version)) p.push(`spec.version must be one of 13, 14, 15, 16, 17 (got ${n.version})`);
  const tierPrefix: Record<string, string> = { Burstable: 'Standard_B', GeneralPurpose: 'Standard_D', MemoryOptimized: 'Standard_E' };
  if (!tierPrefix[n.sku.tier]) {
    p.push('spec.sku.tier must be Burstable, GeneralPurpose or MemoryOptimized');
  } else if (!n.sku.name.startsWith(tierPrefix[n.sku.tier])) {
    p.push(`spec.sku.name must be a ${tierPrefix[n.sku.tier]}* SKU for tier ${n.sku.tier} (got ${n.sku.name})`);
  }
  if (!STORAGE_SIZES.includes(n.storage.sizeGB)) p.push(`spec.storage.sizeGB must be one of ${STORAGE_SIZES.join(', ')}`);
  if (!Number.isInteger(n.backup.retentionDays) || n.backup.retentionDays < 7 || n.backup.retentionDays > 35) {
    p.push('spec.backup.retentionDays must be 7-35');
  }
  if (!['Disabled', 'ZoneRedundant', 'SameZone'].includes(n.highAvailability.mode)) p.push('spec.highAvailability.mode must be Disabled, ZoneRedundant or SameZone');
  if (n.highAvailability.mode !== 'Disabled' && n.sku.tier === 'Burstable') {
    p.push('spec.highAvailability.mode: high availability is not available on the Burstable tier; use GeneralPurpose or MemoryOptimized, or set mode Disabled');
  }
  if (n.highAvailability.standbyAvailabilityZone && n.highAvailability.mode !== 'ZoneRedundant') {
    p.push('spec.highAvailability.standbyAvailabilityZone applies only to mode ZoneRedundant; remove it or set mode ZoneRedundant');
  }
  if (n.highAvailability.standbyAvailabilityZone && n.availabilityZone && n.highAvailability.standbyAvailabilityZone === n.availabilityZone) {
    p.push('spec.highAvailability.standbyAvailabilityZone must differ from spec.availabilityZone');
  }
  if (n.network.delegatedSubnetResourceId && n.network.publicNetworkAccess) {
    p.push('spec.network.publicNetworkAccess must be false with spec.network.delegatedSubnetResourceId');
  }
  if (!!n.network.delegatedSubnetResourceId !== !!n.network.privateDnsZoneResourceId) {
    p.push('spec.network: private access needs both delegatedSubnetResourceId and privateDnsZoneResourceId');
  }
  const login = n.administratorLogin;
  if (!/^[a-zA-Z][a-zA-Z0-9_]{0,62}$/.test(login)) {
    p.push('spec.administratorLogin must be 1-63 letters, digits and underscores, starting with a letter');
  } else if (RESERVED_LOGINS.includes(login.toLowerCase()) || login.toLowerCase().startsWith('pg_')) {
    p.push(`spec.administratorLogin ${login} is reserved by Azure; choose another name such as pgadmin`);
  }
  const mw = n.maintenanceWindow;
  if (mw) {
    if (!inRange(mw.dayOfWeek, 0, 6)) p.push('spec.maintenanceWindow.dayOfWeek must be 0 (Sunday) to 6 (Saturday)');
    if (!inRange(mw.startHour, 0, 23)) p.push('spec.maintenanceWindow.startHour must be 0-23');
    if (!inRange(mw.startMinute, 0, 59)) p.push('spec.maintenanceWindow.startMinute must be 0-59');
  }
  for (const k of Object.keys(n.tags)) {
    if ((OWNER_TAGS as readonly string[]).includes(k)) p.push(`spec.tags.${k} is set by the reconciler; remove it`);
  }
  if (Object.keys(n.tags).length > 47) p.push('spec.tags may hold at most 47 tags (Azure allows 50; the reconciler adds 3)');
  for (const [k, v] of Object.entries(n.parameters)) {
    if (typeof v !== 'string') p.push(`spec.parameters.${k} must be a string (quote numbers, e.g. "500")`);
  }
  if (!n.secretName || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(n.secretName)) {
    p.push('spec.writeConnectionSecretToRef.name must be a valid Secret name (lowercase DNS subdomain)');
  }
  return p;
}

function inRange(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

export function ownerTags(owner: Owner): Record<string, string> {
  return { [TAG_NAMESPACE]: owner.namespace, [TAG_NAME]: owner.name, [TAG_UID]: owner.uid };
}

export function desiredTags(n: NormalizedServerSpec, owner: Owner): Record<string, string> {
  return { ...n.tags, ...ownerTags(owner) };
}

/** Whether an Azure resource carries this object's uid tag. */
export function isOwnedBy(tags: Record<string, string> | undefined, uid: string): boolean {
  return !!tags && tags[TAG_UID] === uid;
}

const enabled = (b: boolean): string => (b ? 'Enabled' : 'Disabled');

/** The create request body. The password is only ever here, in the request, never in a diff or a log. */
export function toArmServer(n: NormalizedServerSpec, owner: Owner, administratorLoginPassword: string): Server {
  const server: Server = {
    location: n.location,
    tags: desiredTags(n, owner),
    sku: { name: n.sku.name, tier: n.sku.tier },
    administratorLogin: n.administratorLogin,
    administratorLoginPassword,
    version: n.version,
    storage: { storageSizeGB: n.storage.sizeGB, autoGrow: enabled(n.storage.autoGrow) },
    backup: { backupRetentionDays: n.backup.retentionDays, geoRedundantBackup: enabled(n.backup.geoRedundant) },
    highAvailability: {
      mode: n.highAvailability.mode,
      ...(n.highAvailability.standbyAvailabilityZone ? { standbyAvailabilityZone: n.highAvailability.standbyAvailabilityZone } : {}),
    },
    network: {
      publicNetworkAccess: enabled(n.network.publicNetworkAccess),
      ...(n.network.delegatedSubnetResourceId ? { delegatedSubnetResourceId: n.network.delegatedSubnetResourceId } : {}),
      ...(n.network.privateDnsZoneResourceId ? { privateDnsZoneArmResourceId: n.network.privateDnsZoneResourceId } : {}),
    },
    createMode: 'Create',
  };
  if (n.availabilityZone) server.availabilityZone = n.availabilityZone;
  if (n.maintenanceWindow) server.maintenanceWindow = { customWindow: 'Enabled', ...n.maintenanceWindow };
  return server;
}

export interface FieldChange {
  /** Spec path, e.g. spec.storage.sizeGB */
  readonly field: string;
  readonly azure: string;
  readonly desired: string;
}

export interface UnsupportedChange extends FieldChange {
  readonly why: string;
}

export interface ServerDiff {
  /** The PATCH body with only the differing fields; undefined when nothing to patch. */
  readonly patch?: ServerForPatch;
  readonly changes: FieldChange[];
  readonly unsupported: UnsupportedChange[];
}

const norm = (v: unknown): string => (v === undefined || v === null ? '' : String(v)).toLowerCase().replace(/\s+/g, '');
const isEnabled = (v: unknown): boolean => norm(v) === 'enabled' || v === true;

/**
 * Compares the managed fields of the spec with the server Azure reports. Fields that are not managed (or not set in
 * the spec where Azure picks: availabilityZone, maintenanceWindow) are ignored. Tags are compared exactly (the
 * user's tags plus the owner tags).
 */
export function diffServer(n: NormalizedServerSpec, azure: Server, owner: Owner): ServerDiff {
  const changes: FieldChange[] = [];
  const unsupported: UnsupportedChange[] = [];
  const patch: ServerForPatch = {};
  const change = (field: string, az: unknown, desired: unknown): FieldChange => {
    const c = { field, azure: az === undefined ? '(unset)' : String(az), desired: String(desired) };
    changes.push(c);
    return c;
  };
  const cannot = (field: string, az: unknown, desired: unknown, why: string): void => {
    unsupported.push({ field, azure: az === undefined ? '(unset)' : String(az), desired: String(desired), why });
  };

  if (norm(azure.location) !== norm(n.location)) cannot('spec.location', azure.location, n.location, 'a server cannot move to another region');
  if (azure.administratorLogin !== undefined && azure.administratorLogin !== n.administratorLogin) {
    cannot('spec.administratorLogin', azure.administratorLogin, n.administratorLogin, 'the administrator login is fixed when the server is created');
  }

  const azVersion = Number(azure.version);
  const wantVersion = Number(n.version);
  if (azure.version !== undefined && azVersion !== wantVersion) {
    if (wantVersion < azVersion) {cannot('spec.version', azure.version, n.version, 'PostgreSQL major versions can only be upgraded, never downgraded');} else {
      change('spec.version', azure.version, n.version);
      patch.version = n.version;
    }
  }

  if (norm(azure.sku?.name) !== norm(n.sku.name) || norm(azure.sku?.tier) !== norm(n.sku.tier)) {
    change('spec.sku', `${azure.sku?.tier}/${azure.sku?.name}`, `${n.sku.tier}/${n.sku.name}`);
    patch.sku = { name: n.sku.name, tier: n.sku.tier };
  }

  const azSize = azure.storage?.storageSizeGB;
  if (azSize !== undefined && azSize !== n.storage.sizeGB) {
    if (n.storage.sizeGB < azSize) {cannot('spec.storage.sizeGB', azSize, n.storage.sizeGB, 'storage can grow but never shrink');} else {
      change('spec.storage.sizeGB', azSize, n.storage.sizeGB);
      patch.storage = { ...(patch.storage ?? {}), storageSizeGB: n.storage.sizeGB };
    }
  }
  if (azure.storage && isEnabled(azure.storage.autoGrow) !== n.storage.autoGrow) {
    change('spec.storage.autoGrow', azure.storage.autoGrow ?? 'Disabled', enabled(n.storage.autoGrow));
    patch.storage = { ...(patch.storage ?? {}), autoGrow: enabled(n.storage.autoGrow) };
  }

  if (azure.backup?.backupRetentionDays !== undefined && azure.backup.backupRetentionDays !== n.backup.retentionDays) {
    change('spec.backup.retentionDays', azure.backup.backupRetentionDays, n.backup.retentionDays);
    patch.backup = { backupRetentionDays: n.backup.retentionDays };
  }
  if (azure.backup?.geoRedundantBackup !== undefined && isEnabled(azure.backup.geoRedundantBackup) !== n.backup.geoRedundant) {
    cannot('spec.backup.geoRedundant', azure.backup.geoRedundantBackup, n.backup.geoRedundant, 'geo-redundant backup can only be chosen when the server is created');
  }

  const azHa = azure.highAvailability?.mode ?? 'Disabled';
  const haZoneDiffers = n.highAvailability.mode === 'ZoneRedundant' && !!n.highAvailability.standbyAvailabilityZone &&
    azure.highAvailability?.standbyAvailabilityZone !== n.highAvailability.standbyAvailabilityZone;
  if (norm(azHa) !== norm(n.highAvailability.mode) || haZoneDiffers) {
    change('spec.highAvailability', `${azHa}${azure.highAvailability?.standbyAvailabilityZone ? `/${azure.highAvailability.standbyAvailabilityZone}` : ''}`,
      `${n.highAvailability.mode}${n.highAvailability.standbyAvailabilityZone ? `/${n.highAvailability.standbyAvailabilityZone}` : ''}`);
    patch.highAvailability = {
      mode: n.highAvailability.mode,
      ...(n.highAvailability.standbyAvailabilityZone ? { standbyAvailabilityZone: n.highAvailability.standbyAvailabilityZone } : {}),
    };
  }

  if (n.availabilityZone && azure.availabilityZone && azure.availabilityZone !== n.availabilityZone) {
    cannot('spec.availabilityZone', azure.availabilityZone, n.availabilityZone, 'the primary availability zone is fixed when the server is created');
  }

  const azSubnet = azure.network?.delegatedSubnetResourceId ?? '';
  const azDns = azure.network?.privateDnsZoneArmResourceId ?? '';
  const wantSubnet = n.network.delegatedSubnetResourceId;
  const dnsDiffers = !!n.network.privateDnsZoneResourceId && norm(azDns) !== norm(n.network.privateDnsZoneResourceId);
  if (norm(azSubnet) !== norm(wantSubnet) || dnsDiffers) {
    cannot('spec.network', azSubnet ? `private (${azSubnet})` : 'public', wantSubnet ? `private (${wantSubnet})` : 'public',
      'the network mode (public access or a delegated subnet and private DNS zone) is fixed when the server is created');
  } else if (!azSubnet && azure.network?.publicNetworkAccess !== undefined &&
    isEnabled(azure.network.publicNetworkAccess) !== n.network.publicNetworkAccess) {
    change('spec.network.publicNetworkAccess', azure.network.publicNetworkAccess, enabled(n.network.publicNetworkAccess));
    patch.network = { publicNetworkAccess: enabled(n.network.publicNetworkAccess) };
  }

  if (n.maintenanceWindow) {
    const mw = azure.maintenanceWindow;
    const want = n.maintenanceWindow;
    const same = !!mw && isEnabled(mw.customWindow) && mw.dayOfWeek === want.dayOfWeek && mw.startHour === want.startHour &&
      (mw.startMinute ?? 0) === want.startMinute;
    if (!same) {
      change('spec.maintenanceWindow', mw && isEnabled(mw.customWindow) ? `${mw.dayOfWeek} ${mw.startHour}:${mw.startMinute ?? 0}` : 'system-managed',
        `${want.dayOfWeek} ${want.startHour}:${want.startMinute}`);
      patch.maintenanceWindow = { customWindow: 'Enabled', ...want };
    }
  }

  const wantTags = desiredTags(n, owner);
  if (!sameTags(azure.tags, wantTags)) {
    change('spec.tags', JSON.stringify(azure.tags ?? {}), JSON.stringify(wantTags));
    patch.tags = wantTags;
  }

  return { patch: Object.keys(patch).length > 0 ? patch : undefined, changes, unsupported };
}

export function sameTags(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ak = Object.keys(a ?? {}).sort();
  const bk = Object.keys(b).sort();
  return ak.length === bk.length && ak.every((k, i) => k === bk[i] && (a ?? {})[k] === b[k]);
}

/** Server parameters whose Azure value differs from the spec (Azure's values compared case-insensitively). */
export function parameterDrift(want: Record<string, string>, azure: Record<string, string | undefined>): string[] {
  return Object.keys(want)
    .sort()
    .filter((k) => norm(azure[k]) !== norm(want[k]));
}
