/**
 * Value types of the PostgresServer API (crds/postgresservers.yaml) as users write them: enums and enum-like classes
 * so that editors offer the allowed values, and structs for the nested objects.
 */

/** PostgreSQL major version. Azure upgrades major versions in place, and only upwards. */
export enum PostgresVersion {
  /**
   * PostgreSQL 13: retired, Azure creates no new server on it (synth fails).
   *
   * @deprecated Azure creates no new server on PostgreSQL 13; choose V17 or V18
   */
  V13 = '13',
  /** PostgreSQL 14 */
  V14 = '14',
  /** PostgreSQL 15 */
  V15 = '15',
  /** PostgreSQL 16 */
  V16 = '16',
  /** PostgreSQL 17 */
  V17 = '17',
  /** PostgreSQL 18 */
  V18 = '18',
}

/** Compute tier of a flexible server. */
export enum ComputeTier {
  /** Burstable (Standard_B* SKUs): cheap, for development and light load; no high availability. */
  BURSTABLE = 'Burstable',
  /** General purpose (Standard_D* SKUs). */
  GENERAL_PURPOSE = 'GeneralPurpose',
  /** Memory optimized (Standard_E* SKUs). */
  MEMORY_OPTIMIZED = 'MemoryOptimized',
}

/**
 * Compute size: a tier and a SKU name of that tier.
 *
 * Use the constants for common sizes, or the tier methods for any other SKU Azure offers in your region.
 */
export class ComputeSku {
  /** Burstable, 1 vCore, 2 GiB: the cheapest size. */
  public static readonly STANDARD_B1MS = ComputeSku.burstable('Standard_B1ms');
  /** Burstable, 2 vCores, 4 GiB. */
  public static readonly STANDARD_B2S = ComputeSku.burstable('Standard_B2s');
  /** General purpose, 2 vCores, 8 GiB. */
  public static readonly STANDARD_D2DS_V5 = ComputeSku.generalPurpose('Standard_D2ds_v5');
  /** General purpose, 4 vCores, 16 GiB. */
  public static readonly STANDARD_D4DS_V5 = ComputeSku.generalPurpose('Standard_D4ds_v5');
  /** Memory optimized, 2 vCores, 16 GiB. */
  public static readonly STANDARD_E2DS_V5 = ComputeSku.memoryOptimized('Standard_E2ds_v5');
  /** Memory optimized, 4 vCores, 32 GiB. */
  public static readonly STANDARD_E4DS_V5 = ComputeSku.memoryOptimized('Standard_E4ds_v5');

  /** A Burstable SKU, for example Standard_B1ms. */
  public static burstable(name: string): ComputeSku {
    return new ComputeSku(ComputeTier.BURSTABLE, name);
  }

  /** A GeneralPurpose SKU, for example Standard_D2ds_v5. */
  public static generalPurpose(name: string): ComputeSku {
    return new ComputeSku(ComputeTier.GENERAL_PURPOSE, name);
  }

  /** A MemoryOptimized SKU, for example Standard_E2ds_v5. */
  public static memoryOptimized(name: string): ComputeSku {
    return new ComputeSku(ComputeTier.MEMORY_OPTIMIZED, name);
  }

  /** Any tier and SKU name; the server checks that they belong together. */
  public static of(tier: ComputeTier, name: string): ComputeSku {
    return new ComputeSku(tier, name);
  }

  private constructor(
    /** The compute tier. */
    public readonly tier: ComputeTier,
    /** The SKU name, for example Standard_B1ms. */
    public readonly name: string,
  ) {}
}

/** Storage size of a server: one of the sizes Azure offers. Storage can grow but never shrink. */
export class StorageSize {
  /** 32 GiB */
  public static readonly GIB_32 = new StorageSize(32);
  /** 64 GiB */
  public static readonly GIB_64 = new StorageSize(64);
  /** 128 GiB */
  public static readonly GIB_128 = new StorageSize(128);
  /** 256 GiB */
  public static readonly GIB_256 = new StorageSize(256);
  /** 512 GiB */
  public static readonly GIB_512 = new StorageSize(512);
  /** 1 TiB */
  public static readonly TIB_1 = new StorageSize(1024);
  /** 2 TiB */
  public static readonly TIB_2 = new StorageSize(2048);
  /**
   * 4095 GiB: the largest size that still grows online. Growing past it restarts the server, and autogrow does not
   * cross from it to 4 TiB.
   */
  public static readonly GIB_4095 = new StorageSize(4095);
  /** 4 TiB */
  public static readonly TIB_4 = new StorageSize(4096);
  /** 8 TiB */
  public static readonly TIB_8 = new StorageSize(8192);
  /** 16 TiB */
  public static readonly TIB_16 = new StorageSize(16384);
  /** 32 TiB (Azure's largest size is 32767 GiB). */
  public static readonly TIB_32 = new StorageSize(32767);

  /**
   * A size in GiB. The server accepts only the sizes Azure offers (those of the constants); this exists for code
   * that computes the size.
   */
  public static ofGibibytes(gibibytes: number): StorageSize {
    return new StorageSize(gibibytes);
  }

  private constructor(
    /** The size in GiB. */
    public readonly gibibytes: number,
  ) {}
}

/**
 * Performance tier (IOPS) of a server's Premium SSD disk. Each storage size has a default tier (32 GiB: P4, 64: P6,
 * 128: P10, 256: P15, 512: P20, 1 TiB: P30, 2 TiB: P40, 4095 GiB and 4 TiB: P50, 8 TiB: P60, 16 TiB: P70, 32 TiB:
 * P80); a higher tier buys more IOPS, a lower one is not allowed. The tier can be changed in place.
 */
export enum StorageTier {
  /** P4: 120 IOPS */
  P4 = 'P4',
  /** P6: 240 IOPS */
  P6 = 'P6',
  /** P10: 500 IOPS */
  P10 = 'P10',
  /** P15: 1100 IOPS */
  P15 = 'P15',
  /** P20: 2300 IOPS */
  P20 = 'P20',
  /** P30: 5000 IOPS */
  P30 = 'P30',
  /** P40: 7500 IOPS */
  P40 = 'P40',
  /** P50: 7500 IOPS */
  P50 = 'P50',
  /** P60: 16000 IOPS */
  P60 = 'P60',
  /** P70: 18000 IOPS */
  P70 = 'P70',
  /** P80: 20000 IOPS */
  P80 = 'P80',
}

/** High-availability mode: a standby server that takes over when the primary fails. */
export enum HighAvailabilityMode {
  /** No standby. */
  DISABLED = 'Disabled',
  /** A standby in another availability zone of the region. */
  ZONE_REDUNDANT = 'ZoneRedundant',
  /** A standby in the same availability zone as the primary. */
  SAME_ZONE = 'SameZone',
}

/** Availability zone of an Azure region. */
export enum AvailabilityZone {
  /** Zone 1 */
  ZONE_1 = '1',
  /** Zone 2 */
  ZONE_2 = '2',
  /** Zone 3 */
  ZONE_3 = '3',
}

/** What the reconciler does in Azure when the Kubernetes resource is deleted. */
export enum DeletionPolicy {
  /** Delete the Azure resource (for a server: with all its data and backups). */
  DELETE = 'Delete',
  /** Leave the Azure resource as it is. */
  RETAIN = 'Retain',
}

/** Day of the week of a maintenance window (UTC). */
export enum DayOfWeek {
  /** Sunday */
  SUNDAY = 0,
  /** Monday */
  MONDAY = 1,
  /** Tuesday */
  TUESDAY = 2,
  /** Wednesday */
  WEDNESDAY = 3,
  /** Thursday */
  THURSDAY = 4,
  /** Friday */
  FRIDAY = 5,
  /** Saturday */
  SATURDAY = 6,
}

/** The Azure resource group that holds a server. */
export interface ResourceGroup {
  /** Resource group name: 1-90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period. */
  readonly name: string;

  /**
   * Whether the reconciler creates the resource group when it does not exist (in the server's location). It never
   * deletes a resource group.
   *
   * @default false
   */
  readonly create?: boolean;
}

/** Storage of a server. */
export interface StorageOptions {
  /**
   * Storage size. It can grow later but never shrink.
   *
   * @default StorageSize.GIB_32
   */
  readonly size?: StorageSize;

  /**
   * Performance tier of the disk; not below the default tier of the size (a higher tier gives more IOPS). It can be
   * changed in place.
   *
   * @default - the default tier of the storage size
   */
  readonly tier?: StorageTier;

  /**
   * Let Azure grow storage when it is nearly full.
   *
   * @default false
   */
  readonly autoGrow?: boolean;
}

/** Automated backups of a server. */
export interface BackupOptions {
  /**
   * Days backups are kept, 7-35.
   *
   * @default 7
   */
  readonly retentionDays?: number;

  /**
   * Also keep backups in the paired region. Azure sets this only when it creates the server.
   *
   * @default false
   */
  readonly geoRedundant?: boolean;
}

/** High availability of a server. Not available on the Burstable tier. */
export interface HighAvailabilityOptions {
  /**
   * Whether there is a standby, and where.
   *
   * @default HighAvailabilityMode.DISABLED
   */
  readonly mode?: HighAvailabilityMode;

  /**
   * Availability zone of the standby; only with HighAvailabilityMode.ZONE_REDUNDANT, and not the primary's zone.
   *
   * @default - Azure picks a zone
   */
  readonly standbyAvailabilityZone?: AvailabilityZone;
}

/**
 * Network access of a server: public (the default; clients are admitted by firewall rules) or private, through a
 * subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers and a private DNS zone. It cannot be switched after
 * the server is created.
 */
export interface NetworkOptions {
  /**
   * Whether the server has a public endpoint. Must be false with private access.
   *
   * @default - true, or false when delegatedSubnetResourceId is set
   */
  readonly publicNetworkAccess?: boolean;

  /**
   * Resource ID of a subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers (private access). Needs
   * privateDnsZoneResourceId too.
   *
   * @default - public access
   */
  readonly delegatedSubnetResourceId?: string;

  /**
   * Resource ID of a private DNS zone whose name ends with the PostgreSQL suffix of your Azure cloud
   * (.postgres.database.azure.com; .postgres.database.usgovcloudapi.net or .postgres.database.chinacloudapi.cn in
   * sovereign clouds) for private access. Needs delegatedSubnetResourceId too. A zone named `<name>.<suffix>` must not
   * use the name of one of your servers. It can change on an existing server while high availability is off.
   *
   * @default - public access
   */
  readonly privateDnsZoneResourceId?: string;
}

/** When Azure may apply planned maintenance, in UTC. */
export interface MaintenanceWindow {
  /** Day of the week. */
  readonly dayOfWeek: DayOfWeek;

  /** Hour the window starts, 0-23. */
  readonly startHour: number;

  /**
   * Minute the window starts, 0-59.
   *
   * @default 0
   */
  readonly startMinute?: number;
}

/** The kind of a Microsoft Entra principal. */
export enum EntraPrincipalType {
  /** A user (principalName: the user principal name, e.g. ada@contoso.com). */
  USER = 'User',
  /** A group (principalName: the group's display name); its members sign in as the group's name. */
  GROUP = 'Group',
  /** A service principal or managed identity (principalName: its display name). */
  SERVICE_PRINCIPAL = 'ServicePrincipal',
}

/** A Microsoft Entra administrator of a server. */
export interface EntraAdministrator {
  /** Object ID (a GUID) of the user, group or service principal. */
  readonly objectId: string;
  /** The name it signs in to PostgreSQL with: a user's UPN, a group's or an app's display name. */
  readonly principalName: string;
  /** What kind of principal it is. */
  readonly principalType: EntraPrincipalType;
}

/** How clients sign in to a server. */
export interface AuthenticationOptions {
  /**
   * Password sign-in: the administrator login and password roles. With it off, the administrator's connection
   * Secret holds no password and Azure refuses every password.
   *
   * @default true
   */
  readonly password?: boolean;

  /**
   * Microsoft Entra sign-in: Entra administrators and passwordless roles (`addRole(..., { identity })`) sign in
   * with Entra tokens. The reconciler's own identity becomes an Entra administrator.
   *
   * @default false
   */
  readonly microsoftEntra?: boolean;

  /**
   * Microsoft Entra tenant (a GUID) whose tokens the server accepts.
   *
   * @default - the tenant of the reconciler's identity
   */
  readonly tenantId?: string;

  /**
   * Entra administrators besides the reconciler: exactly these (others are removed). Needs `microsoftEntra`.
   *
   * @default - none
   */
  readonly administrators?: EntraAdministrator[];
}

/** What happens to an extension a database created once it is removed from the database's `extensions`. */
export enum ExtensionRemovalPolicy {
  /** The extension stays in the database (objects may depend on it). */
  RETAIN = 'Retain',
  /** DROP EXTENSION (without CASCADE: it fails, and says so in the status, while objects depend on it). */
  DROP = 'Drop',
}
