/**
 * PostgresServer spec <-> Azure flexible server: the create body, and the comparison (which managed fields differ,
 * which of those Azure can change in place with a PATCH, and which it cannot). The spec's types, defaults and rules
 * are src/api's.
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import type { Comparison, FieldChange, UnsupportedChange } from './resource';
import { defaultStorageTier, STORAGE_TIERS, TAG_CLUSTER, TAG_NAME, TAG_NAMESPACE, TAG_UID, type NormalizedServerSpec } from '../../api';

/** The Kubernetes object (and cluster) that owns an Azure resource, as its owner tags say. */
export interface Owner {
  namespace: string;
  name: string;
  uid: string;
  /** The reconciler's cluster identity (--cluster-id). */
  cluster?: string;
}

export function ownerTags(owner: Owner): Record<string, string> {
  return {
    [TAG_NAMESPACE]: owner.namespace,
    [TAG_NAME]: owner.name,
    [TAG_UID]: owner.uid,
    ...(owner.cluster ? { [TAG_CLUSTER]: owner.cluster } : {}),
  };
}

export function desiredTags(n: NormalizedServerSpec, owner: Owner): Record<string, string> {
  return { ...n.tags, ...ownerTags(owner) };
}

export type ServerDiff = Comparison<ServerForPatch>;

const enabled = (b: boolean): string => (b ? 'Enabled' : 'Disabled');

/**
 * The create request body. The password (added by the server's credentials step) is only ever here, in the request,
 * never in a diff or a log.
 */
export function toArmServer(n: NormalizedServerSpec, owner: Owner, administratorLoginPassword?: string): Server {
  const server: Server = {
    location: n.location,
    tags: desiredTags(n, owner),
    sku: { name: n.sku.name, tier: n.sku.tier },
    // Azure takes an administrator login only with password sign-in.
    ...(n.authentication.password ? { administratorLogin: n.administratorLogin } : {}),
    ...(administratorLoginPassword !== undefined ? { administratorLoginPassword } : {}),
    authConfig: authConfigOf(n),
    version: n.version,
    storage: { storageSizeGB: n.storage.sizeGB, autoGrow: enabled(n.storage.autoGrow), ...(n.storage.tier ? { tier: n.storage.tier } : {}) },
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

/** The server's authConfig; the tenant is the spec's or, once resolved, the reconciler's own (server-entra.ts). */
export function authConfigOf(n: NormalizedServerSpec): NonNullable<Server['authConfig']> {
  const { password, microsoftEntra, tenantId } = n.authentication;
  return {
    activeDirectoryAuth: enabled(microsoftEntra),
    passwordAuth: enabled(password),
    ...(microsoftEntra && tenantId ? { tenantId } : {}),
  };
}

const norm = (v: unknown): string => (v === undefined || v === null ? '' : String(v)).toLowerCase().replace(/\s+/g, '');
const isEnabled = (v: unknown): boolean => norm(v) === 'enabled' || v === true;

/** Azure reports password sign-in off (a server reported without authConfig has it on). */
export function passwordSignInOff(azure: Server): boolean {
  return norm(azure.authConfig?.passwordAuth ?? 'Enabled') === 'disabled';
}

/** Collects a comparison: the PATCH body, what it changes, and what Azure cannot change in place. */
class DiffBuilder {
  readonly changes: FieldChange[] = [];
  readonly unsupported: UnsupportedChange[] = [];
  readonly patch: ServerForPatch = {};

  change(field: string, azure: unknown, desired: unknown): void {
    this.changes.push({ field, azure: show(azure), desired: show(desired) });
  }

  cannot(field: string, azure: unknown, desired: unknown, why: string): void {
    this.unsupported.push({ field, azure: show(azure), desired: show(desired), why });
  }

  result(): ServerDiff {
    return { patch: Object.keys(this.patch).length > 0 ? this.patch : undefined, changes: this.changes, unsupported: this.unsupported };
  }
}

const show = (v: unknown): string => (v === undefined ? '(unset)' : String(v));

/**
 * Compares the managed fields of the spec with the server Azure reports. Fields that are not managed (or not set in
 * the spec where Azure picks: availabilityZone, maintenanceWindow, storage.tier) are ignored. Tags are compared
 * exactly (the user's tags plus the owner tags).
 */
export function diffServer(n: NormalizedServerSpec, azure: Server, owner: Owner): ServerDiff {
  const d = new DiffBuilder();
  fixedFields(d, n, azure);
  versionAndSku(d, n, azure);
  storage(d, n, azure);
  backup(d, n, azure);
  highAvailability(d, n, azure);
  network(d, n, azure);
  maintenanceWindow(d, n, azure);
  authentication(d, n, azure);
  if (d.patch.network?.privateDnsZoneArmResourceId && haOn(d.patch.highAvailability?.mode)) {
    // The zone changes only while HA is off: the zone now, HA in the next PATCH.
    delete d.patch.highAvailability;
  }
  const wantTags = desiredTags(n, owner);
  if (!sameTags(azure.tags, wantTags)) {
    d.change('spec.tags', JSON.stringify(azure.tags ?? {}), JSON.stringify(wantTags));
    d.patch.tags = wantTags;
  }
  return d.result();
}

function fixedFields(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  if (norm(azure.location) !== norm(n.location)) d.cannot('spec.location', azure.location, n.location, 'a server cannot move to another region');
  if (azure.administratorLogin !== undefined && azure.administratorLogin !== n.administratorLogin) {
    d.cannot('spec.administratorLogin', azure.administratorLogin, n.administratorLogin, 'the administrator login is fixed when the server is created');
  }
  if (n.availabilityZone && azure.availabilityZone && azure.availabilityZone !== n.availabilityZone) {
    d.cannot('spec.availabilityZone', azure.availabilityZone, n.availabilityZone, 'the primary availability zone is fixed when the server is created');
  }
}

function versionAndSku(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  const azVersion = Number(azure.version);
  const wantVersion = Number(n.version);
  if (azure.version !== undefined && azVersion !== wantVersion) {
    if (wantVersion < azVersion) {
      d.cannot('spec.version', azure.version, n.version, 'PostgreSQL major versions can only be upgraded, never downgraded');
    } else {
      d.change('spec.version', azure.version, n.version);
      d.patch.version = n.version;
    }
  }
  if (norm(azure.sku?.name) !== norm(n.sku.name) || norm(azure.sku?.tier) !== norm(n.sku.tier)) {
    d.change('spec.sku', `${azure.sku?.tier}/${azure.sku?.name}`, `${n.sku.tier}/${n.sku.name}`);
    d.patch.sku = { name: n.sku.name, tier: n.sku.tier };
  }
}

/**
 * Size grows (never shrinks), autoGrow, and the performance tier when the spec sets one (P4...P80, in place). With
 * autoGrow on, the spec's size is a floor: Azure growing the disk by itself (and its tier with it) is not drift.
 */
function storage(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  const azSize = azure.storage?.storageSizeGB;
  const grownByAzure = azSize !== undefined && n.storage.autoGrow && azSize > n.storage.sizeGB;
  if (azSize !== undefined && azSize !== n.storage.sizeGB && !grownByAzure) {
    if (n.storage.sizeGB < azSize) {
      d.cannot('spec.storage.sizeGB', azSize, n.storage.sizeGB, 'storage can grow but never shrink');
    } else {
      d.change('spec.storage.sizeGB', azSize, n.storage.sizeGB);
      d.patch.storage = { ...d.patch.storage, storageSizeGB: n.storage.sizeGB };
    }
  }
  if (azure.storage && isEnabled(azure.storage.autoGrow) !== n.storage.autoGrow) {
    d.change('spec.storage.autoGrow', azure.storage.autoGrow ?? 'Disabled', enabled(n.storage.autoGrow));
    d.patch.storage = { ...d.patch.storage, autoGrow: enabled(n.storage.autoGrow) };
  }
  const wantedTier = n.storage.tier === undefined ? undefined : atLeastTier(n.storage.tier, grownByAzure ? defaultStorageTier(azSize) : undefined);
  if (wantedTier !== undefined && norm(azure.storage?.tier) !== norm(wantedTier)) {
    d.change('spec.storage.tier', azure.storage?.tier, wantedTier);
    d.patch.storage = { ...d.patch.storage, tier: wantedTier };
  }
}

/** The higher of two tiers: Azure refuses a tier below the default of the disk's size, which autogrow may have raised. */
function atLeastTier(tier: string, floor: string | undefined): string {
  return floor !== undefined && STORAGE_TIERS.indexOf(floor) > STORAGE_TIERS.indexOf(tier) ? floor : tier;
}

function backup(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  if (azure.backup?.backupRetentionDays !== undefined && azure.backup.backupRetentionDays !== n.backup.retentionDays) {
    d.change('spec.backup.retentionDays', azure.backup.backupRetentionDays, n.backup.retentionDays);
    d.patch.backup = { backupRetentionDays: n.backup.retentionDays };
  }
  if (azure.backup?.geoRedundantBackup !== undefined && isEnabled(azure.backup.geoRedundantBackup) !== n.backup.geoRedundant) {
    d.cannot('spec.backup.geoRedundant', azure.backup.geoRedundantBackup, n.backup.geoRedundant, 'geo-redundant backup can only be chosen when the server is created');
  }
}

const haOn = (mode: string | undefined): boolean => !!mode && norm(mode) !== 'disabled';

/**
 * High availability. Azure refuses to switch directly between SameZone and ZoneRedundant ("Please disable HA and then
 * enable HA"): the reconciler disables it first, and enables the new mode in the next PATCH, once Azure reports it
 * Disabled. Azure may itself move a SameZone server to ZoneRedundant; a spec asking SameZone is satisfied by
 * ZoneRedundant (a standby in another zone), so drift correction never moves it back.
 */
function highAvailability(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  const want = n.highAvailability;
  const azMode = azure.highAvailability?.mode ?? 'Disabled';
  const azStandby = azure.highAvailability?.standbyAvailabilityZone;
  const describe = (mode: string, standby?: string) => `${mode}${standby ? `/${standby}` : ''}`;
  if (norm(want.mode) === 'samezone' && norm(azMode) === 'zoneredundant') return;
  const standbyDiffers = norm(want.mode) === 'zoneredundant' && !!want.standbyAvailabilityZone && azStandby !== want.standbyAvailabilityZone;
  if (norm(azMode) === norm(want.mode) && !standbyDiffers) return;
  d.change('spec.highAvailability', describe(azMode, azStandby), describe(want.mode, want.standbyAvailabilityZone));
  if (haOn(azMode) && haOn(want.mode)) {
    // Another mode (or another standby zone): disable first; the next PATCH enables what the spec asks.
    d.patch.highAvailability = { mode: 'Disabled' };
    return;
  }
  d.patch.highAvailability = {
    mode: want.mode,
    ...(want.standbyAvailabilityZone ? { standbyAvailabilityZone: want.standbyAvailabilityZone } : {}),
  };
}

/**
 * The network mode (public access, or a delegated subnet) is fixed at create. On a VNet-integrated server the private
 * DNS zone can change in place, except while high availability is on.
 */
function network(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  const azSubnet = azure.network?.delegatedSubnetResourceId ?? '';
  const azDns = azure.network?.privateDnsZoneArmResourceId ?? '';
  const wantSubnet = n.network.delegatedSubnetResourceId;
  const wantDns = n.network.privateDnsZoneResourceId;
  if (norm(azSubnet) !== norm(wantSubnet)) {
    d.cannot('spec.network', azSubnet ? `private (${azSubnet})` : 'public', wantSubnet ? `private (${wantSubnet})` : 'public',
      'the network mode (public access, or a delegated subnet) is fixed when the server is created');
    return;
  }
  if (azSubnet && wantDns && norm(azDns) !== norm(wantDns)) {
    const haStaysOn = haOn(azure.highAvailability?.mode);
    if (haStaysOn && haOn(n.highAvailability.mode)) {
      d.cannot('spec.network.privateDnsZoneResourceId', azDns, wantDns,
        'Azure changes the private DNS zone only while high availability is off: set spec.highAvailability.mode to Disabled first, then change the zone');
    } else if (!haStaysOn) {
      d.change('spec.network.privateDnsZoneResourceId', azDns, wantDns);
      // Azure wants the subnet with the zone in an update.
      d.patch.network = { delegatedSubnetResourceId: azure.network!.delegatedSubnetResourceId, privateDnsZoneArmResourceId: wantDns };
    }
    // HA on in Azure and off in the spec: this PATCH disables HA; the zone follows in the next one.
    return;
  }
  const azPublic = azure.network?.publicNetworkAccess;
  if (!azSubnet && azPublic !== undefined && isEnabled(azPublic) !== n.network.publicNetworkAccess) {
    d.change('spec.network.publicNetworkAccess', azPublic, enabled(n.network.publicNetworkAccess));
    d.patch.network = { publicNetworkAccess: enabled(n.network.publicNetworkAccess) };
  }
}

function maintenanceWindow(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  if (!n.maintenanceWindow) return;
  const mw = azure.maintenanceWindow;
  const want = n.maintenanceWindow;
  const same = !!mw && isEnabled(mw.customWindow) && mw.dayOfWeek === want.dayOfWeek && mw.startHour === want.startHour &&
    (mw.startMinute ?? 0) === want.startMinute;
  if (same) return;
  d.change('spec.maintenanceWindow', mw && isEnabled(mw.customWindow) ? `${mw.dayOfWeek} ${mw.startHour}:${mw.startMinute ?? 0}` : 'system-managed',
    `${want.dayOfWeek} ${want.startHour}:${want.startMinute}`);
  d.patch.maintenanceWindow = { customWindow: 'Enabled', ...want };
}

/** Sign-in methods and tenant. A server from before authConfig existed has password sign-in only. */
function authentication(d: DiffBuilder, n: NormalizedServerSpec, azure: Server): void {
  const want = authConfigOf(n);
  const az = azure.authConfig ?? {};
  const azEntra = az.activeDirectoryAuth ?? 'Disabled';
  const azPassword = az.passwordAuth ?? 'Enabled';
  const tenantDiffers = want.tenantId !== undefined && norm(az.tenantId) !== norm(want.tenantId);
  if (norm(azEntra) === norm(want.activeDirectoryAuth) && norm(azPassword) === norm(want.passwordAuth) && !tenantDiffers) return;
  const describe = (c: { activeDirectoryAuth?: string; passwordAuth?: string; tenantId?: string }, entra: string, pw: string) =>
    `password ${pw}, Microsoft Entra ${entra}${c.tenantId ? ` (tenant ${c.tenantId})` : ''}`;
  d.change('spec.authentication', describe(az, azEntra, azPassword), describe(want, want.activeDirectoryAuth!, want.passwordAuth!));
  d.patch.authConfig = want;
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
