/**
 * PostgresServer spec <-> Azure flexible server: the create body, and the drift diff (which managed fields differ, which of those Azure can change in place with a PATCH, and
 * which it cannot).
 */
import type { Server, ServerForPatch } from '@azure/arm-postgresql-flexible';
import { formatProblem, TAG_NAME, TAG_NAMESPACE, TAG_UID, validateServerSpec as serverProblems, type NormalizedServerSpec } from '../../api';

// The spec's types, defaults and rules live in src/api; re-exported for the reconciler's files that import them here.
export { normalizeServerSpec, OWNER_TAGS, TAG_CLUSTER, TAG_NAME, TAG_NAMESPACE, TAG_UID } from '../../api';
export type { NormalizedServerSpec } from '../../api';

export interface Owner {
  namespace: string;
  name: string;
  uid: string;
}

/** The problems of a spec as messages (`spec.field = value: fix`), as the server controller reports them. */
export function validateServerSpec(n: NormalizedServerSpec): string[] {
  return serverProblems(n).map(problem => formatProblem(problem));
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
