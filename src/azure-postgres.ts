import { createHash } from 'crypto';
import { ApiObjectMetadata, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { Construct, IConstruct } from 'constructs';
import { addAppCheck, AppOfPass, declareWrittenSecret, DeclaredSecret } from './app-checks';
import { brand, isKind } from './kinds';
import { AzurePostgresDatabase, AzurePostgresDatabaseOptions } from './postgres-database';
import { AzurePostgresFirewallRule, AzurePostgresFirewallRuleOptions } from './postgres-firewall-rule';
import {
  AvailabilityZone,
  BackupOptions,
  ComputeSku,
  ComputeTier,
  DeletionPolicy,
  HighAvailabilityMode,
  HighAvailabilityOptions,
  MaintenanceWindow,
  NetworkOptions,
  PostgresVersion,
  ResourceGroup,
  StorageOptions,
  StorageSize,
} from './postgres-options';
import { AzurePostgresRole, AzurePostgresRoleOptions } from './postgres-role';
import { AzurePostgresChild } from './server-child';
import {
  ADMINISTRATOR_LOGIN,
  allConstructs,
  AZURE_SERVER_NAME,
  checkInteger,
  checkOneOf,
  checkString,
  childId,
  DELEGATED_SUBNET_ID,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  enumValues,
  isReservedLogin,
  LOCATION,
  PRIVATE_DNS_ZONE_ID,
  Problems,
  requireValidObjectName,
  RESERVED_LOGINS,
  RESOURCE_GROUP_NAME,
  show,
  SKU_NAME,
  throwFieldError,
} from './validation';
import {
  PostgresServer,
  PostgresServerSpecAvailabilityZone,
  PostgresServerSpecDeletionPolicy,
  PostgresServerSpecHighAvailabilityMode,
  PostgresServerSpecHighAvailabilityStandbyAvailabilityZone,
  PostgresServerSpecSkuTier,
  PostgresServerSpecStorageSizeGb,
  PostgresServerSpecVersion,
} from '../imports/cdk8s-azure.dev';

/** Azure's limits on server parameters and tags, as the CRD states them. */
const MAX_PARAMETERS = 200;
const MAX_PARAMETER_VALUE_LENGTH = 1024;
/** Azure allows 50 tags; the reconciler adds 3 of its own (cdk8s-azure.dev-namespace, -name, -uid). */
const MAX_TAGS = 47;
const MAX_TAG_VALUE_LENGTH = 256;
const MAX_TAG_NAME_LENGTH = 512;
const RECONCILER_TAG_PREFIX = 'cdk8s-azure.dev-';
/** Characters Azure does not allow in tag names. */
const TAG_NAME_FORBIDDEN = /[<>%&\\?/]/;
/** Server parameter names: PostgreSQL settings and Azure's (e.g. azure.extensions, pgbouncer.enabled). */
const PARAMETER_NAME = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;

/** The SKU name prefix each tier needs (CEL rules of crds/postgresservers.yaml). */
const SKU_PREFIX_OF_TIER: Record<ComputeTier, { prefix: string; example: string }> = {
  [ComputeTier.BURSTABLE]: { prefix: 'Standard_B', example: 'Standard_B1ms' },
  [ComputeTier.GENERAL_PURPOSE]: { prefix: 'Standard_D', example: 'Standard_D2ds_v5' },
  [ComputeTier.MEMORY_OPTIMIZED]: { prefix: 'Standard_E', example: 'Standard_E2ds_v5' },
};

/** The name Azure's own tools give the rule that admits Azure services. */
const ALLOW_AZURE_SERVICES_RULE = 'AllowAllAzureServicesAndResourcesWithinAzureIps';

/** Properties of an `AzurePostgres` server. */
export interface AzurePostgresProps {
  /** The Azure resource group that holds the server. */
  readonly resourceGroup: ResourceGroup;

  /** Azure region, for example westeurope or eastus2 (as `az account list-locations -o table` names it). */
  readonly location: string;

  /**
   * Name of the server in Azure. It becomes `<azureName>.postgres.database.azure.com` and must be unique across all
   * of Azure: 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen. Cannot be changed
   * after creation.
   *
   * @default - the server's default name: the construct path in lowercase with hyphens, plus a hash of the path
   * (stable across synths, different for every path); the PostgresServer object has the same name unless
   * metadata.name is set. Set it when another Azure customer could have the same construct path
   */
  readonly azureName?: string;

  /**
   * Metadata of the PostgresServer object (name, namespace, labels, annotations). Databases, roles, firewall rules
   * and the connection Secrets of the server are in its namespace.
   *
   * @default - the server's default name (the default azureName too), in the chart's namespace
   */
  readonly metadata?: ApiObjectMetadata;

  /**
   * PostgreSQL major version. It can be raised later (an in-place upgrade), never lowered.
   *
   * @default PostgresVersion.V16
   */
  readonly version?: PostgresVersion;

  /**
   * Compute tier and size.
   *
   * @default ComputeSku.STANDARD_B1MS (Burstable)
   */
  readonly sku?: ComputeSku;

  /**
   * Storage size and growth.
   *
   * @default - 32 GiB, no automatic growth
   */
  readonly storage?: StorageOptions;

  /**
   * Automated backups.
   *
   * @default - kept 7 days, not geo-redundant
   */
  readonly backup?: BackupOptions;

  /**
   * A standby server that takes over on failure (not on the Burstable tier).
   *
   * @default - disabled
   */
  readonly highAvailability?: HighAvailabilityOptions;

  /**
   * Availability zone of the primary server.
   *
   * @default - Azure picks one
   */
  readonly availabilityZone?: AvailabilityZone;

  /**
   * Public access (admit clients with firewall rules) or private access (a delegated subnet and a private DNS zone).
   * Cannot be switched after creation.
   *
   * @default - public access, no firewall rules (so no client can connect until you add one)
   */
  readonly network?: NetworkOptions;

  /**
   * Login of the server administrator; the reconciler generates its password and writes both to the connection
   * Secret. 1-63 letters, digits and underscores, starting with a letter; not a name Azure reserves (azure_superuser,
   * azure_pg_admin, admin, administrator, root, guest, public, pg_*; in any case). Cannot be changed after creation.
   *
   * @default 'pgadmin'
   */
  readonly administratorLogin?: string;

  /**
   * When Azure may apply planned maintenance (UTC).
   *
   * @default - Azure picks a window
   */
  readonly maintenanceWindow?: MaintenanceWindow;

  /**
   * Server parameters (Azure "server parameters"), name to value, e.g. `{ log_min_duration_statement: '500' }`.
   * More can be added with `addParameter`.
   *
   * @default - Azure's defaults
   */
  readonly parameters?: { [name: string]: string };

  /**
   * Azure tags on the server (at most 47; the reconciler adds three cdk8s-azure.dev-* tags of its own). More can be
   * added with `addTag`.
   *
   * @default - only the reconciler's tags
   */
  readonly tags?: { [name: string]: string };

  /**
   * What happens in Azure when the PostgresServer is deleted: DELETE removes the server with its data and
   * backups; RETAIN leaves it.
   *
   * @default DeletionPolicy.DELETE
   */
  readonly deletionPolicy?: DeletionPolicy;

  /**
   * Name of the Secret (in the server's namespace) the reconciler writes the administrator's connection details to.
   *
   * @default - `<name of the PostgresServer object>-admin`
   */
  readonly connectionSecretName?: string;
}

/**
 * An Azure Database for PostgreSQL flexible server: a PostgresServer resource, which the cdk8s-azure reconciler
 * provisions in Azure, plus the databases, roles and firewall rules added to it.
 *
 * @example
 * const db = new AzurePostgres(chart, 'db', {
 *   resourceGroup: { name: 'shop-rg', create: true },
 *   location: 'westeurope',
 * });
 * const catalog = db.addDatabase('catalog');
 * const app = db.addRole('catalog_app', { database: catalog });
 */
export class AzurePostgres extends Construct {
  /** Whether `x` is an AzurePostgres (also across copies of this library). */
  public static isAzurePostgres(x: any): x is AzurePostgres {
    return isKind(x, 'AzurePostgres');
  }

  /** Name of the server in Azure. */
  public readonly azureName: string;
  /** Login of the server administrator. */
  public readonly administratorLogin: string;
  /** Whether the server has a public endpoint (and so firewall rules apply). */
  public readonly publicNetworkAccess: boolean;
  /** Name of the Secret the reconciler writes the administrator's connection details to. */
  public readonly connectionSecretName: string;
  /** The administrator's connection Secret, for cdk8s-plus APIs that take a Secret (admin tooling, not apps). */
  public readonly connectionSecret: kplus.ISecret;
  /** The PostgresServer object. */
  public readonly apiObject: PostgresServer;

  private readonly parameters: { [name: string]: string } = {};
  private readonly tags: { [name: string]: string } = {};

  public constructor(scope: Construct, id: string, props: AzurePostgresProps) {
    super(scope, id);
    brand(this, 'AzurePostgres');

    // One name for the object and the server in Azure, unless the user sets either.
    const defaultName = defaultServerName(this);
    this.azureName = props.azureName ?? defaultName;
    this.administratorLogin = props.administratorLogin ?? 'pgadmin';
    const network = props.network ?? {};
    // Private access needs publicNetworkAccess=false; default to it so that a subnet alone means "private".
    this.publicNetworkAccess = network.publicNetworkAccess ?? (network.delegatedSubnetResourceId === undefined);

    validateServerProps(this, props, this.azureName, this.administratorLogin, this.publicNetworkAccess);

    const sku = props.sku ?? ComputeSku.STANDARD_B1MS;
    const storageSize = props.storage?.size ?? StorageSize.GIB_32;
    this.apiObject = new PostgresServer(this, 'Resource', {
      metadata: { ...props.metadata, name: props.metadata?.name ?? defaultName },
      spec: {
        azureName: this.azureName,
        resourceGroup: { name: props.resourceGroup.name, create: props.resourceGroup.create ?? false },
        location: props.location,
        version: (props.version ?? PostgresVersion.V16) as string as PostgresServerSpecVersion,
        sku: { tier: sku.tier as string as PostgresServerSpecSkuTier, name: sku.name },
        storage: { sizeGb: storageSize.gibibytes as PostgresServerSpecStorageSizeGb, autoGrow: props.storage?.autoGrow ?? false },
        backup: { retentionDays: props.backup?.retentionDays ?? 7, geoRedundant: props.backup?.geoRedundant ?? false },
        highAvailability: {
          mode: (props.highAvailability?.mode ?? HighAvailabilityMode.DISABLED) as string as PostgresServerSpecHighAvailabilityMode,
          standbyAvailabilityZone: props.highAvailability?.standbyAvailabilityZone as string | undefined as
            PostgresServerSpecHighAvailabilityStandbyAvailabilityZone | undefined,
        },
        availabilityZone: props.availabilityZone as string | undefined as PostgresServerSpecAvailabilityZone | undefined,
        network: {
          publicNetworkAccess: this.publicNetworkAccess,
          delegatedSubnetResourceId: network.delegatedSubnetResourceId,
          privateDnsZoneResourceId: network.privateDnsZoneResourceId,
        },
        administratorLogin: this.administratorLogin,
        maintenanceWindow: props.maintenanceWindow === undefined ? undefined : {
          dayOfWeek: props.maintenanceWindow.dayOfWeek,
          startHour: props.maintenanceWindow.startHour,
          startMinute: props.maintenanceWindow.startMinute ?? 0,
        },
        // Lazy: addParameter/addTag may add entries after construction; empty maps are left out.
        parameters: Lazy.any({ produce: () => nonEmpty(this.parameters) }),
        tags: Lazy.any({ produce: () => nonEmpty(this.tags) }),
        deletionPolicy: (props.deletionPolicy ?? DeletionPolicy.DELETE) as string as PostgresServerSpecDeletionPolicy,
        // Lazy: the default name derives from the object's generated name, known only once the object exists.
        writeConnectionSecretToRef: { name: Lazy.any({ produce: () => this.connectionSecretName }) },
      },
    });
    requireValidObjectName(this, 'AzurePostgres properties', this.apiObject.name, props.metadata?.name !== undefined);
    this.connectionSecretName = props.connectionSecretName ?? `${this.apiObject.name}-admin`;

    const secretProblems = new Problems(this, 'AzurePostgres properties');
    checkString(secretProblems, props.connectionSecretName === undefined ? 'connectionSecretName (default, from the object name)' : 'connectionSecretName',
      this.connectionSecretName, DNS_SUBDOMAIN);
    secretProblems.throwIfAny();
    this.connectionSecret = kplus.Secret.fromSecretName(this, 'ConnectionSecret', this.connectionSecretName);

    for (const [name, value] of Object.entries(props.parameters ?? {})) {
      this.addParameter(name, value);
    }
    for (const [name, value] of Object.entries(props.tags ?? {})) {
      this.addTag(name, value);
    }

    declareWrittenSecret(this, () => this.adminSecret());
    addAppCheck(this, SERVERS_OF_APP, checkServersOfApp);
  }

  /** Name of the PostgresServer object; children refer to the server by it. */
  public get name(): string {
    return this.apiObject.name;
  }

  /** Namespace of the server, its children and their Secrets. */
  public get namespace(): string | undefined {
    return this.apiObject.metadata.namespace;
  }

  /** The databases on this server, anywhere in the app. */
  public get databases(): AzurePostgresDatabase[] {
    return childrenOf(this, allConstructs(this)).filter(AzurePostgresDatabase.isAzurePostgresDatabase);
  }

  /** The roles on this server, anywhere in the app. */
  public get roles(): AzurePostgresRole[] {
    return childrenOf(this, allConstructs(this)).filter(AzurePostgresRole.isAzurePostgresRole);
  }

  /** The firewall rules of this server, anywhere in the app. */
  public get firewallRules(): AzurePostgresFirewallRule[] {
    return childrenOf(this, allConstructs(this)).filter(AzurePostgresFirewallRule.isAzurePostgresFirewallRule);
  }

  /**
   * Adds a database.
   *
   * @param databaseName name of the database in PostgreSQL (lowercase letters, digits, underscores)
   * @param options charset, collation, deletion policy, metadata
   */
  public addDatabase(databaseName: string, options: AzurePostgresDatabaseOptions = {}): AzurePostgresDatabase {
    const existing = this.databases.find(d => d.databaseName === databaseName);
    if (existing) {
      throwFieldError(this, 'argument of addDatabase', 'databaseName', databaseName,
        `this server already has a database with this name (at '${existing.node.path}'); use that one or choose another name`);
    }
    return new AzurePostgresDatabase(this, childId(this, 'Database', databaseName), { ...options, server: this, databaseName });
  }

  /**
   * Adds a firewall rule: clients with an IPv4 address in [startIpAddress, endIpAddress] may connect. Only for
   * servers with public access.
   *
   * @param ruleName name of the rule in Azure (letters, digits, hyphens, underscores)
   * @param options the address range
   */
  public addFirewallRule(ruleName: string, options: AzurePostgresFirewallRuleOptions): AzurePostgresFirewallRule {
    const existing = this.firewallRules.find(r => sameFirewallRuleName(r.ruleName, ruleName));
    if (existing) {
      throwFieldError(this, 'argument of addFirewallRule', 'ruleName', ruleName,
        `this server already has a firewall rule with this name (at '${existing.node.path}'; Azure compares rule names ignoring case); choose another name`);
    }
    return new AzurePostgresFirewallRule(this, childId(this, 'FirewallRule', ruleName), { ...options, server: this, ruleName });
  }

  /**
   * Admits connections from Azure services: the 0.0.0.0-0.0.0.0 rule, as the portal's "Allow public access from any
   * Azure service within Azure to this server" does.
   *
   * WARNING: this admits every Azure service of every tenant, not only yours: any Azure VM, function or container
   * of anyone can then reach the server (and try passwords). Prefer firewall rules with your egress addresses, or
   * private access.
   */
  public allowAzureServices(): AzurePostgresFirewallRule {
    return this.addFirewallRule(ALLOW_AZURE_SERVICES_RULE, { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' });
  }

  /**
   * Adds a login role for an app, with its own connection Secret.
   *
   * @param roleName login name in PostgreSQL (lowercase letters, digits, underscores)
   * @param options the database, privileges, connection limit, Secret name
   */
  public addRole(roleName: string, options: AzurePostgresRoleOptions): AzurePostgresRole {
    const existing = this.roles.find(r => r.roleName === roleName);
    if (existing) {
      throwFieldError(this, 'argument of addRole', 'roleName', roleName,
        `this server already has a role with this name (at '${existing.node.path}'); use that one or choose another name`);
    }
    return new AzurePostgresRole(this, childId(this, 'Role', roleName), { ...options, server: this, roleName });
  }

  /**
   * Sets a server parameter (an Azure "server parameter"; PostgreSQL's setting of the same name).
   *
   * @param name parameter name, e.g. log_min_duration_statement or azure.extensions
   * @param value its value, as Azure takes it (a string)
   */
  public addParameter(name: string, value: string): void {
    const problems = new Problems(this, 'server parameter');
    if (typeof name !== 'string' || !PARAMETER_NAME.test(name)) {
      problems.add('parameters name', name, 'must be a server parameter name: letters, digits, underscores and periods, e.g. log_min_duration_statement');
    } else if (name in this.parameters && this.parameters[name] !== value) {
      problems.add(`parameters.${name}`, value, `is already set to ${show(this.parameters[name])}; set each parameter once`);
    }
    if (typeof value !== 'string' || value.length > MAX_PARAMETER_VALUE_LENGTH) {
      problems.add(`parameters.${name}`, value, `must be a string of at most ${MAX_PARAMETER_VALUE_LENGTH} characters (Azure takes every value as a string, e.g. '500')`);
    }
    if (!(name in this.parameters) && Object.keys(this.parameters).length >= MAX_PARAMETERS) {
      problems.add('parameters', `${Object.keys(this.parameters).length + 1} parameters`, `at most ${MAX_PARAMETERS} parameters can be set`);
    }
    problems.throwIfAny();
    this.parameters[name] = value;
  }

  /**
   * Sets an Azure tag on the server.
   *
   * @param name tag name (at most 512 characters, none of < > % & \ ? /)
   * @param value tag value (at most 256 characters)
   */
  public addTag(name: string, value: string): void {
    const problems = new Problems(this, 'Azure tag');
    if (typeof name !== 'string' || name.length < 1 || name.length > MAX_TAG_NAME_LENGTH || TAG_NAME_FORBIDDEN.test(name)) {
      problems.add('tags name', name, `must be 1-${MAX_TAG_NAME_LENGTH} characters without < > % & \\ ? /`);
    } else if (name.toLowerCase().startsWith(RECONCILER_TAG_PREFIX)) {
      problems.add('tags name', name, `starts with ${RECONCILER_TAG_PREFIX}, which the reconciler's own tags use; choose another name`);
    } else if (name in this.tags && this.tags[name] !== value) {
      problems.add(`tags.${name}`, value, `is already set to ${show(this.tags[name])}; set each tag once`);
    }
    if (typeof value !== 'string' || value.length > MAX_TAG_VALUE_LENGTH) {
      problems.add(`tags.${name}`, value, `must be a string of at most ${MAX_TAG_VALUE_LENGTH} characters`);
    }
    if (!(name in this.tags) && Object.keys(this.tags).length >= MAX_TAGS) {
      problems.add('tags', `${Object.keys(this.tags).length + 1} tags`, `at most ${MAX_TAGS} tags can be set (Azure allows 50; the reconciler adds 3)`);
    }
    problems.throwIfAny();
    this.tags[name] = value;
  }

  private adminSecret(): DeclaredSecret {
    return {
      namespace: this.namespace,
      name: this.connectionSecretName,
      owner: this,
      description: `the administrator connection Secret of server "${this.azureName}"`,
    };
  }
}

const SERVERS_OF_APP = Symbol('the servers of the app');
const CHILDREN_BY_SERVER = Symbol('the children of each server');

/** The children of `server` among `constructs`. */
function childrenOf(server: AzurePostgres, constructs: readonly IConstruct[]): AzurePostgresChild[] {
  return constructs.filter((c): c is AzurePostgresChild => isChild(c) && c.server === server);
}

function isChild(c: unknown): c is AzurePostgresChild {
  return AzurePostgresDatabase.isAzurePostgresDatabase(c) || AzurePostgresRole.isAzurePostgresRole(c)
    || AzurePostgresFirewallRule.isAzurePostgresFirewallRule(c);
}

/**
 * The checks of every server that need the whole app: names unique per server (databases, roles, firewall rules, which
 * may be defined anywhere in the app) and azureNames unique in the app. The tables are built once per pass, so the
 * cost grows with the size of the app, not with its square.
 */
function checkServersOfApp(app: AppOfPass): void {
  const childrenByServer = app.memo(CHILDREN_BY_SERVER, () => {
    const result = new Map<AzurePostgres, AzurePostgresChild[]>();
    for (const child of app.constructs.filter(isChild)) {
      result.set(child.server, [...result.get(child.server) ?? [], child]);
    }
    return result;
  });
  const servers = app.constructs.filter(AzurePostgres.isAzurePostgres);
  for (const server of servers) {
    const problems = app.problemsOf(server, 'AzurePostgres in its app');
    const children = childrenByServer.get(server) ?? [];
    for (const [name, dbs] of duplicates(children.filter(AzurePostgresDatabase.isAzurePostgresDatabase), d => d.databaseName)) {
      problems.add('databaseName', name,
        `${dbs.length} databases on this server have this name (at ${paths(dbs)}); database names must be unique on a server: rename or remove one`);
    }
    for (const [name, roles] of duplicates(children.filter(AzurePostgresRole.isAzurePostgresRole), r => r.roleName)) {
      problems.add('roleName', name,
        `${roles.length} roles on this server have this name (at ${paths(roles)}); role names must be unique on a server: rename or remove one`);
    }
    for (const [, rules] of duplicates(children.filter(AzurePostgresFirewallRule.isAzurePostgresFirewallRule), r => r.ruleName.toLowerCase())) {
      problems.add('ruleName', rules[0].ruleName,
        `${rules.length} firewall rules of this server have this name (at ${paths(rules)}; Azure compares rule names ignoring case): rename or remove one`);
    }
  }
  for (const [azureName, group] of duplicates(servers, s => s.azureName)) {
    for (const server of group) {
      app.problemsOf(server, 'AzurePostgres in its app').add('azureName', azureName,
        `the server at ${paths(group.filter(s => s !== server))} has the same azureName; each server needs its own name in Azure: set a different azureName on one`);
    }
  }
}

/**
 * The default name of a server, both its azureName and the name of its PostgresServer object: the construct path,
 * lowercased with runs of other characters as single hyphens, shortened from the front (the end of a path says most)
 * to leave room for an 8-character hash of the full path. The hash makes it unique per path and keeps it the same on
 * every synth (it depends on nothing but the path: not on cdk8s's CDK8S_LEGACY_HASH). It is a valid Azure server name
 * and a valid Kubernetes object name.
 */
function defaultServerName(scope: IConstruct): string {
  const path = scope.node.path;
  const hash = createHash('sha256').update(path).digest('hex').slice(0, 8);
  const readableRoom = 63 - hash.length - 1;
  let readable = path.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  readable = readable.slice(Math.max(0, readable.length - readableRoom)).replace(/^-+|-+$/g, '');
  return readable ? `${readable}-${hash}` : hash;
}

function validateServerProps(
  scope: IConstruct, props: AzurePostgresProps, azureName: string, administratorLogin: string, publicNetworkAccess: boolean,
): void {
  const problems = new Problems(scope, 'AzurePostgres properties');
  checkString(problems, props.azureName === undefined ? 'azureName (default, from the construct path)' : 'azureName', azureName, AZURE_SERVER_NAME);

  if (props.resourceGroup === undefined || props.resourceGroup === null) {
    problems.add('resourceGroup', props.resourceGroup, 'is required: { name: \'my-resource-group\' }');
  } else {
    checkString(problems, 'resourceGroup.name', props.resourceGroup.name, RESOURCE_GROUP_NAME);
  }
  checkString(problems, 'location', props.location, LOCATION);
  if (props.version !== undefined) {
    checkOneOf(problems, 'version', props.version, enumValues(PostgresVersion));
  }

  const sku = props.sku ?? ComputeSku.STANDARD_B1MS;
  const tierOk = checkOneOf(problems, 'sku.tier', sku.tier, enumValues(ComputeTier));
  const nameOk = checkString(problems, 'sku.name', sku.name, SKU_NAME);
  if (tierOk && nameOk && !sku.name.startsWith(SKU_PREFIX_OF_TIER[sku.tier].prefix)) {
    const { prefix, example } = SKU_PREFIX_OF_TIER[sku.tier];
    problems.add('sku.name', sku.name, `does not belong to tier ${sku.tier}: a ${sku.tier} tier needs a ${prefix}* SKU name (for example ${example}); `
      + 'use ComputeSku.burstable/generalPurpose/memoryOptimized with a name of that tier');
  }

  if (props.storage?.size !== undefined) {
    const allowed = Object.values(StorageSize).filter((v): v is StorageSize => v instanceof StorageSize).map(s => s.gibibytes);
    checkOneOf(problems, 'storage.size (GiB)', props.storage.size?.gibibytes, allowed);
  }
  if (props.backup?.retentionDays !== undefined) {
    checkInteger(problems, 'backup.retentionDays', props.backup.retentionDays, 7, 35);
  }

  const ha = props.highAvailability ?? {};
  const zones = enumValues(AvailabilityZone);
  if (ha.mode !== undefined) {
    checkOneOf(problems, 'highAvailability.mode', ha.mode, enumValues(HighAvailabilityMode));
  }
  if (ha.mode !== undefined && ha.mode !== HighAvailabilityMode.DISABLED && sku.tier === ComputeTier.BURSTABLE) {
    problems.add('highAvailability.mode', ha.mode,
      'high availability is not available on the Burstable tier: use a GeneralPurpose or MemoryOptimized sku (e.g. ComputeSku.STANDARD_D2DS_V5), or HighAvailabilityMode.DISABLED');
  }
  if (ha.standbyAvailabilityZone !== undefined) {
    checkOneOf(problems, 'highAvailability.standbyAvailabilityZone', ha.standbyAvailabilityZone, zones);
    if (ha.mode !== HighAvailabilityMode.ZONE_REDUNDANT) {
      problems.add('highAvailability.standbyAvailabilityZone', ha.standbyAvailabilityZone,
        `applies only to mode ZoneRedundant (mode is ${show(ha.mode ?? HighAvailabilityMode.DISABLED)}): remove it or set mode HighAvailabilityMode.ZONE_REDUNDANT`);
    }
    if (props.availabilityZone !== undefined && ha.standbyAvailabilityZone === props.availabilityZone) {
      problems.add('highAvailability.standbyAvailabilityZone', ha.standbyAvailabilityZone,
        `must differ from availabilityZone ${show(props.availabilityZone)}: a zone-redundant standby lives in another zone`);
    }
  }
  if (props.availabilityZone !== undefined) {
    checkOneOf(problems, 'availabilityZone', props.availabilityZone, zones);
  }

  const network = props.network ?? {};
  if (network.delegatedSubnetResourceId !== undefined) {
    checkString(problems, 'network.delegatedSubnetResourceId', network.delegatedSubnetResourceId, DELEGATED_SUBNET_ID);
  }
  if (network.privateDnsZoneResourceId !== undefined) {
    checkString(problems, 'network.privateDnsZoneResourceId', network.privateDnsZoneResourceId, PRIVATE_DNS_ZONE_ID);
  }
  if ((network.delegatedSubnetResourceId === undefined) !== (network.privateDnsZoneResourceId === undefined)) {
    const [given, missing] = network.delegatedSubnetResourceId === undefined
      ? ['privateDnsZoneResourceId', 'delegatedSubnetResourceId'] : ['delegatedSubnetResourceId', 'privateDnsZoneResourceId'];
    problems.add(`network.${missing}`, undefined, `private access needs both delegatedSubnetResourceId and privateDnsZoneResourceId; ${given} is set, so set ${missing} too (or neither, for public access)`);
  }
  if (network.delegatedSubnetResourceId !== undefined && publicNetworkAccess) {
    problems.add('network.publicNetworkAccess', network.publicNetworkAccess,
      'must be false with a delegated subnet (private access): leave it unset or set it to false');
  }

  if (checkString(problems, 'administratorLogin', administratorLogin, ADMINISTRATOR_LOGIN) && isReservedLogin(administratorLogin)) {
    problems.add('administratorLogin', administratorLogin,
      `is reserved by Azure (${RESERVED_LOGINS.join(', ')}, pg_*; in any letter case): choose another name such as pgadmin`);
  }

  if (props.maintenanceWindow !== undefined) {
    checkInteger(problems, 'maintenanceWindow.dayOfWeek', props.maintenanceWindow.dayOfWeek, 0, 6);
    checkInteger(problems, 'maintenanceWindow.startHour', props.maintenanceWindow.startHour, 0, 23);
    if (props.maintenanceWindow.startMinute !== undefined) {
      checkInteger(problems, 'maintenanceWindow.startMinute', props.maintenanceWindow.startMinute, 0, 59);
    }
  }
  if (props.deletionPolicy !== undefined) {
    checkOneOf(problems, 'deletionPolicy', props.deletionPolicy, enumValues(DeletionPolicy));
  }
  if (props.metadata?.namespace !== undefined) {
    checkString(problems, 'metadata.namespace', props.metadata.namespace, DNS_LABEL);
  }
  problems.throwIfAny();
}

function nonEmpty(map: { [name: string]: string }): { [name: string]: string } | undefined {
  return Object.keys(map).length === 0 ? undefined : { ...map };
}

function sameFirewallRuleName(a: string, b: string): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
}

/** Groups of items sharing a key, for groups of two or more. */
function duplicates<T>(items: T[], key: (item: T) => string): Array<[string, T[]]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    groups.set(key(item), [...groups.get(key(item)) ?? [], item]);
  }
  return [...groups.entries()].filter(([, group]) => group.length > 1);
}

function paths(constructs: IConstruct[]): string {
  return constructs.map(c => `'${c.node.path}'`).join(', ');
}
