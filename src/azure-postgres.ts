import { createHash } from 'crypto';
import { ApiObjectMetadata, Chart, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { Construct, IConstruct } from 'constructs';
import {
  checkServerParameter,
  MAX_SERVER_PARAMETERS,
  normalizeServerSpec,
  pointInTimeProblem,
  validateServerSpec,
  validateTags,
  type NormalizedServerSpec,
  privateDnsZoneServerPart,
} from './api';
import { addAppCheck, AppOfPass, declareWrittenSecret, DeclaredSecret } from './app-checks';
import { brand, isKind } from './kinds';
import { AzurePostgresDatabase, AzurePostgresDatabaseOptions } from './postgres-database';
import { AzurePostgresFirewallRule, AzurePostgresFirewallRuleOptions } from './postgres-firewall-rule';
import {
  AuthenticationOptions,
  AvailabilityZone,
  BackupOptions,
  ComputeSku,
  DeletionPolicy,
  HighAvailabilityOptions,
  MaintenanceWindow,
  NetworkOptions,
  PostgresVersion,
  ResourceGroup,
  StorageOptions,
} from './postgres-options';
import { AzurePostgresRole, AzurePostgresRoleOptions } from './postgres-role';
import { AzurePostgresChild, childrenInTreeOf } from './server-child';
import {
  allConstructs,
  checkString,
  childId,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  Problems,
  show,
  throwFieldError,
} from './validation';
import {
  PostgresServer,
  PostgresServerSpec,
  PostgresServerSpecAvailabilityZone,
  PostgresServerSpecAuthenticationAdministratorsPrincipalType,
  PostgresServerSpecDeletionPolicy,
  PostgresServerSpecHighAvailabilityMode,
  PostgresServerSpecHighAvailabilityStandbyAvailabilityZone,
  PostgresServerSpecSkuTier,
  PostgresServerSpecStorageSizeGb,
  PostgresServerSpecStorageTier,
  PostgresServerSpecVersion,
} from '../imports/cdk8s-azure.dev';

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
   * Storage size, performance tier and growth.
   *
   * @default - 32 GiB at its default tier (P4), no automatic growth
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
   * azure_pg_admin, admin, administrator, root, guest, public, postgres, azuresu, pg_*; in any case). Cannot be
   * changed after creation.
   *
   * @default 'pgadmin'
   */
  readonly administratorLogin?: string;

  /**
   * How clients sign in: passwords, Microsoft Entra tokens, or both.
   *
   * @default - password sign-in only
   */
  readonly authentication?: AuthenticationOptions;

  /**
   * When Azure may apply planned maintenance (UTC).
   *
   * @default - Azure picks a window
   */
  readonly maintenanceWindow?: MaintenanceWindow;

  /**
   * Server parameters (Azure "server parameters"), name to value, e.g. `{ log_min_duration_statement: '500' }`.
   * Names and values are checked against the parameters of the server's PostgreSQL version on Azure (an unknown
   * name fails synth with the closest known one). More can be added with `addParameter`.
   *
   * @default - Azure's defaults
   */
  readonly parameters?: { [name: string]: string };

  /**
   * Azure tags on the server, by Azure's rules: at most 46 (Azure allows 50, and the reconciler adds four
   * cdk8s-azure.dev-* tags of its own), names of at most 512 characters without `< > % & \ ? /` and not starting
   * with microsoft, azure, windows or cdk8s-azure.dev (in any letter case), values of at most 256 characters. More
   * can be added with `addTag`.
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
   * Stop the server: compute is not billed while it is stopped (storage is), and it refuses connections. The
   * reconciler stops it, starts it again when this becomes false, and stops it again when Azure starts it by itself
   * (after 7 days). Databases, firewall rules and roles wait while it is stopped.
   *
   * @default false
   */
  readonly stopped?: boolean;

  /**
   * Make this server a read replica of another (ARM createMode Replica), in the same or another region. It has its
   * source's data, administrator and password (administratorLogin defaults to the source's), and serves reads until
   * promoted. The source must be in the same namespace; the reconciler deletes a source only after its replicas.
   *
   * @default - not a replica
   */
  readonly readReplicaOf?: AzurePostgres;

  /**
   * Promote this read replica to a standalone read-write server (ARM replica.promoteMode standalone). Only with
   * `readReplicaOf`.
   *
   * @default false
   */
  readonly promote?: boolean;

  /**
   * Create this server as a point-in-time restore of another (ARM createMode PointInTimeRestore), at
   * `restorePointInTime`. It gets its own administrator Secret (the restored administrator password is replaced).
   *
   * @default - not a restore
   */
  readonly restoreOf?: AzurePostgres;

  /**
   * The time to restore `restoreOf` to: UTC in ISO 8601, e.g. '2026-05-01T08:30:00Z'. It must have passed and be
   * within the source's backup retention (checked at synth against its backup.retentionDays, and by the reconciler
   * against Azure's earliest restore point).
   *
   * @default - required with `restoreOf`
   */
  readonly restorePointInTime?: string;

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
  /** Whether clients may sign in with a password. */
  public readonly passwordSignIn: boolean;
  /** Whether clients may sign in with Microsoft Entra tokens (passwordless roles need it). */
  public readonly microsoftEntraSignIn: boolean;
  /** Name of the Secret the reconciler writes the administrator's connection details to. */
  public readonly connectionSecretName: string;
  /** The administrator's connection Secret, for cdk8s-plus APIs that take a Secret (admin tooling, not apps). */
  public readonly connectionSecret: kplus.ISecret;
  /** The PostgresServer object. */
  public readonly apiObject: PostgresServer;

  /** The server this one is a read replica of, if it is one. */
  public readonly readReplicaOf?: AzurePostgres;
  /** Days of backups Azure keeps (the window a point-in-time restore of this server can reach). */
  public readonly backupRetentionDays: number;
  /** The PostgreSQL major version ("16"): the parameters addParameter accepts and the extensions databases may ask for follow it. */
  public readonly postgresVersion: string;
  private readonly parameters: { [name: string]: string } = {};
  private readonly tags: { [name: string]: string } = {};

  public constructor(scope: Construct, id: string, props: AzurePostgresProps) {
    super(scope, id);
    brand(this, 'AzurePostgres');

    // One name for the object and the server in Azure, unless the user sets either.
    const defaultName = defaultServerName(this);
    const objectName = props.metadata?.name ?? defaultName;
    this.azureName = props.azureName ?? defaultName;
    this.connectionSecretName = props.connectionSecretName ?? `${objectName}-admin`;

    // The spec as the props state it; src/api applies the defaults (SERVER_DEFAULTS) and the rules.
    const spec = normalizeServerSpec(specOfProps(props, this.azureName, this.connectionSecretName));
    validateServerProps(this, props, spec);
    validateSourceProps(this, props, spec);
    this.readReplicaOf = props.readReplicaOf;
    this.backupRetentionDays = spec.backup.retentionDays;
    this.postgresVersion = spec.version;
    this.administratorLogin = spec.administratorLogin;
    this.publicNetworkAccess = spec.network.publicNetworkAccess;
    this.passwordSignIn = spec.authentication.password;
    this.microsoftEntraSignIn = spec.authentication.microsoftEntra;
    Object.assign(this.parameters, spec.parameters);
    Object.assign(this.tags, spec.tags);
    if (spec.network.privateDnsZoneResourceId !== undefined) {
      PRIVATE_DNS_ZONES.set(this, spec.network.privateDnsZoneResourceId);
    }

    this.apiObject = new PostgresServer(this, 'Resource', {
      metadata: { ...props.metadata, name: objectName },
      spec: {
        azureName: spec.azureName,
        resourceGroup: spec.resourceGroup,
        location: spec.location,
        version: spec.version as PostgresServerSpecVersion,
        sku: { tier: spec.sku.tier as PostgresServerSpecSkuTier, name: spec.sku.name },
        storage: {
          sizeGb: spec.storage.sizeGB as PostgresServerSpecStorageSizeGb,
          autoGrow: spec.storage.autoGrow,
          tier: spec.storage.tier as PostgresServerSpecStorageTier | undefined,
        },
        backup: spec.backup,
        highAvailability: {
          mode: spec.highAvailability.mode as PostgresServerSpecHighAvailabilityMode,
          standbyAvailabilityZone: spec.highAvailability.standbyAvailabilityZone as
            PostgresServerSpecHighAvailabilityStandbyAvailabilityZone | undefined,
        },
        availabilityZone: spec.availabilityZone as PostgresServerSpecAvailabilityZone | undefined,
        network: spec.network,
        administratorLogin: spec.administratorLogin,
        authentication: props.authentication === undefined ? undefined : {
          password: spec.authentication.password,
          microsoftEntra: spec.authentication.microsoftEntra,
          tenantId: spec.authentication.tenantId,
          administrators: spec.authentication.administrators.length === 0 ? undefined
            : spec.authentication.administrators.map(a => ({
              ...a,
              principalType: a.principalType as PostgresServerSpecAuthenticationAdministratorsPrincipalType,
            })),
        },
        maintenanceWindow: spec.maintenanceWindow,
        // Lazy: addParameter/addTag may add entries after construction; empty maps are left out.
        parameters: Lazy.any({ produce: () => nonEmpty(this.parameters) }),
        tags: Lazy.any({ produce: () => nonEmpty(this.tags) }),
        deletionPolicy: spec.deletionPolicy as PostgresServerSpecDeletionPolicy,
        writeConnectionSecretToRef: { name: spec.secretName },
        stopped: spec.stopped,
        ...(props.readReplicaOf
          ? { replica: { sourceServerRef: { name: props.readReplicaOf.name }, ...(props.promote !== undefined ? { promote: props.promote } : {}) } }
          : {}),
        ...(props.restoreOf
          ? { restore: { sourceServerRef: { name: props.restoreOf.name }, pointInTimeUtc: props.restorePointInTime as string } }
          : {}),
      },
    });
    this.connectionSecret = kplus.Secret.fromSecretName(this, 'ConnectionSecret', this.connectionSecretName);

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
    const existing = this.findChild(AzurePostgresDatabase.isAzurePostgresDatabase, d => d.databaseName === databaseName);
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
    const existing = this.findChild(AzurePostgresFirewallRule.isAzurePostgresFirewallRule, r => sameFirewallRuleName(r.ruleName, ruleName));
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
    const existing = this.findChild(AzurePostgresRole.isAzurePostgresRole, r => r.roleName === roleName);
    if (existing) {
      throwFieldError(this, 'argument of addRole', 'roleName', roleName,
        `this server already has a role with this name (at '${existing.node.path}'); use that one or choose another name`);
    }
    return new AzurePostgresRole(this, childId(this, 'Role', roleName), { ...options, server: this, roleName });
  }

  /**
   * Sets a server parameter (an Azure "server parameter"; PostgreSQL's setting of the same name). The name must be a
   * parameter of the server's PostgreSQL version on Azure that users may set (an unknown name fails with the closest
   * known one), and the value one it accepts.
   *
   * @param name parameter name, e.g. log_min_duration_statement or azure.extensions
   * @param value its value, as Azure takes it (a string)
   */
  public addParameter(name: string, value: string): void {
    const problems = new Problems(this, 'server parameter');
    problems.addProblem(checkServerParameter(this.postgresVersion, name, value));
    if (name in this.parameters && this.parameters[name] !== value) {
      problems.add(`parameters.${name}`, value, `is already set to ${show(this.parameters[name])}; set each parameter once`);
    }
    const count = Object.keys({ ...this.parameters, [name]: value }).length;
    if (count > MAX_SERVER_PARAMETERS) {
      problems.add('parameters', `${count} parameters`, `at most ${MAX_SERVER_PARAMETERS} parameters can be set`);
    }
    problems.throwIfAny();
    this.parameters[name] = value;
  }

  /**
   * Sets an Azure tag on the server, by Azure's rules (see `tags`).
   *
   * @param name tag name (at most 512 characters, none of < > % & \ ? /)
   * @param value tag value (at most 256 characters)
   */
  public addTag(name: string, value: string): void {
    const problems = new Problems(this, 'Azure tag');
    const sameName = Object.keys(this.tags).find(other => typeof name === 'string' && other.toLowerCase() === name.toLowerCase());
    if (sameName !== undefined && this.tags[sameName] !== value) {
      problems.add(`tags.${name}`, value,
        `is already set${sameName === name ? '' : ` as ${show(sameName)} (Azure tag names ignore case)`} to ${show(this.tags[sameName])}; set each tag once`);
    } else {
      const { [sameName ?? name]: _replaced, ...others } = this.tags;
      problems.addSpecProblems(validateTags({ ...others, [name]: value })
        .filter(problem => problem.field === 'tags' || problem.field === `tags.${name}`));
    }
    problems.throwIfAny();
    this.tags[name] = value;
  }

  /**
   * The first child of this server in tree order that `matches`, as the `databases`, `roles` and `firewallRules`
   * getters would find it, walking the tree only when there is one: the children created for the server say whether.
   */
  private findChild<T extends AzurePostgresChild>(is: (c: unknown) => c is T, matches: (child: T) => boolean): T | undefined {
    if (!childrenInTreeOf(this).some(c => is(c) && matches(c))) {
      return undefined;
    }
    return childrenOf(this, allConstructs(this)).filter(is).find(matches);
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
/** The private DNS zone resource ID of each server that has one (private access). */
const PRIVATE_DNS_ZONES = new WeakMap<AzurePostgres, string>();

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
  // A zone named <name>.<suffix> after another server of the app (after itself: src/api's rule) is refused by Azure.
  const serversByName = new Map<string, AzurePostgres[]>();
  for (const server of servers) {
    serversByName.set(server.azureName.toLowerCase(), [...serversByName.get(server.azureName.toLowerCase()) ?? [], server]);
  }
  for (const server of servers) {
    const zone = PRIVATE_DNS_ZONES.get(server);
    const named = zone === undefined ? undefined : privateDnsZoneServerPart(zone);
    const others = (named === undefined ? [] : serversByName.get(named) ?? []).filter(s => s !== server);
    if (others.length > 0) {
      app.problemsOf(server, 'AzurePostgres in its app').add('network.privateDnsZoneResourceId', zone,
        `the zone is named after the server at ${paths(others)} (azureName ${others[0].azureName}); a private DNS zone <name>.<suffix> must not use the name of one of your servers: name the zone for example ${others[0].azureName}.private.<suffix>`);
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

/** The PostgresServer spec as the props state it: what they leave out is left out (src/api applies the defaults). */
function specOfProps(props: AzurePostgresProps, azureName: string, connectionSecretName: string): PostgresServerSpec {
  return {
    azureName,
    resourceGroup: props.resourceGroup,
    location: props.location,
    version: props.version,
    sku: props.sku === undefined ? undefined : { tier: props.sku.tier, name: props.sku.name },
    storage: props.storage === undefined ? undefined : {
      sizeGb: props.storage.size?.gibibytes,
      autoGrow: props.storage.autoGrow,
      tier: props.storage.tier,
    },
    backup: props.backup,
    highAvailability: props.highAvailability,
    availabilityZone: props.availabilityZone,
    network: props.network,
    // A replica's administrator is its source's.
    administratorLogin: props.administratorLogin ?? props.readReplicaOf?.administratorLogin,
    authentication: props.authentication,
    maintenanceWindow: props.maintenanceWindow,
    parameters: props.parameters,
    tags: props.tags,
    deletionPolicy: props.deletionPolicy,
    writeConnectionSecretToRef: { name: connectionSecretName },
    stopped: props.stopped,
    ...(props.readReplicaOf ? { replica: { sourceServerRef: { name: props.readReplicaOf.name }, promote: props.promote } } : {}),
    ...(props.restoreOf ? { restore: { sourceServerRef: { name: props.restoreOf.name }, pointInTimeUTC: props.restorePointInTime } } : {}),
  } as unknown as PostgresServerSpec;
}

/**
 * The problems of the props: src/api's rules of the spec they make (every rule of a PostgresServer, the same the
 * CRD and the reconciler apply), named as the props name them, and what only the construct knows.
 */
function validateServerProps(scope: IConstruct, props: AzurePostgresProps, spec: NormalizedServerSpec): void {
  const problems = new Problems(scope, 'AzurePostgres properties');
  if (props.resourceGroup === undefined || props.resourceGroup === null) {
    problems.add('resourceGroup', props.resourceGroup, 'is required: { name: \'my-resource-group\' }');
    problems.throwIfAny();
  }
  problems.addSpecProblems(validateServerSpec(spec), {
    ...(props.azureName === undefined ? { azureName: 'azureName (default, from the construct path)' } : {}),
    'writeConnectionSecretToRef.name': props.connectionSecretName === undefined
      ? 'connectionSecretName (default, from the object name)' : 'connectionSecretName',
    'storage.sizeGB': 'storage.size (GiB)',
    'restore.pointInTimeUTC': 'restorePointInTime',
    'restore.sourceServerRef.name': 'restoreOf',
    'replica.sourceServerRef.name': 'readReplicaOf',
    'replica.promote': 'promote',
    'restore': 'restoreOf',
  });
  if (props.metadata?.name !== undefined) {
    checkString(problems, 'metadata.name', props.metadata.name, DNS_SUBDOMAIN);
  }
  if (props.metadata?.namespace !== undefined) {
    checkString(problems, 'metadata.namespace', props.metadata.namespace, DNS_LABEL);
  }
  problems.throwIfAny();
}

/** A replica or a restore: its source (same namespace, same administrator for a replica) and the restore time. */
function validateSourceProps(scope: IConstruct, props: AzurePostgresProps, spec: NormalizedServerSpec): void {
  const problems = new Problems(scope, 'AzurePostgres properties');
  const source = props.readReplicaOf ?? props.restoreOf;
  if (props.promote !== undefined && !props.readReplicaOf) {
    problems.add('promote', props.promote, 'applies only to a read replica; set readReplicaOf or remove promote');
  }
  if (props.restorePointInTime !== undefined && !props.restoreOf) {
    problems.add('restorePointInTime', props.restorePointInTime, 'applies only to a restore; set restoreOf or remove restorePointInTime');
  }
  if (props.restoreOf) {
    const problem = pointInTimeProblem(props.restorePointInTime, { days: props.restoreOf.backupRetentionDays, now: new Date() });
    if (problem) problems.add('restorePointInTime', problem.value, problem.expected);
  }
  if (source && source.namespace !== (props.metadata?.namespace ?? Chart.of(scope).namespace)) {
    problems.add(props.readReplicaOf ? 'readReplicaOf' : 'restoreOf', source.node.path,
      `must be in this server's namespace (${source.namespace ?? 'none'}): the reconciler finds the source by name in the same namespace`);
  }
  if (props.readReplicaOf && spec.administratorLogin !== props.readReplicaOf.administratorLogin) {
    problems.add('administratorLogin', spec.administratorLogin, `a read replica has its source's administrator: remove it, or set ${props.readReplicaOf.administratorLogin}`);
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
