import * as kplus from 'cdk8s-plus-34';
import { Construct } from 'constructs';
import { entraRequiredProblem, normalizeRoleSpec, validateRoleSpec } from './api';
import { declareWrittenSecret } from './app-checks';
import type { AzurePostgres } from './azure-postgres';
import { CA_CERT_DIR, CA_CERT_ENV, CA_CERT_FILE, CA_CERT_PATH, connectionEnvKeys, connectionSecretKeys } from './connection-env';
import { markConnectionEnv } from './connection-env-check';
import { ConnectionEnvNames, ConnectionSecretKey } from './connection-secret';
import { isKind } from './kinds';
import type { AzurePostgresDatabase } from './postgres-database';
import { AzurePostgresChild, AzurePostgresChildOptions, AzurePostgresChildProps } from './server-child';
import { checkString, DNS_SUBDOMAIN, ENV_VAR_NAME, Problems, show, throwFieldError } from './validation';
import {
  PostgresRole,
  PostgresRoleSpec,
  PostgresRoleSpecDeletionPolicy,
  PostgresRoleSpecPrivileges,
} from '../imports/cdk8s-azure.dev';

/** What a role may do in its database (and nothing elsewhere). CONNECT is always granted. */
export enum RolePrivilege {
  /** Connect, create objects in the public schema, and every privilege on its tables and sequences. */
  ALL = 'ALL',
  /** CONNECT on the database. */
  CONNECT = 'CONNECT',
  /** TEMPORARY on the database: create temporary tables. */
  TEMPORARY = 'TEMPORARY',
  /** CREATE on the public schema. */
  CREATE = 'CREATE',
  /** SELECT on tables (present and future). */
  SELECT = 'SELECT',
  /** INSERT on tables (present and future). */
  INSERT = 'INSERT',
  /** UPDATE on tables (present and future). */
  UPDATE = 'UPDATE',
  /** DELETE on tables (present and future). */
  DELETE = 'DELETE',
  /** TRUNCATE on tables (present and future). */
  TRUNCATE = 'TRUNCATE',
  /** REFERENCES on tables (present and future). */
  REFERENCES = 'REFERENCES',
  /** TRIGGER on tables (present and future). */
  TRIGGER = 'TRIGGER',
}

/** Annotation of a ServiceAccount: the client ID of the Azure identity its Pods get tokens for (AKS workload identity). */
export const WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';
/** Pod label that has AKS's workload identity webhook give the Pod its identity's token and AZURE_* variables. */
export const WORKLOAD_IDENTITY_USE_LABEL = 'azure.workload.identity/use';

/**
 * The Microsoft Entra workload identity a passwordless role signs in as: a user-assigned managed identity (or app
 * registration) with a federated credential for the app's ServiceAccount.
 */
export interface WorkloadIdentity {
  /** Client ID (a GUID) of the identity: `az identity show --query clientId`. */
  readonly clientId: string;

  /** Object ID (a GUID) of its service principal: `az identity show --query principalId`. */
  readonly objectId: string;

  /**
   * Name of the ServiceAccount the role makes for its apps (annotated with the client ID); the identity's federated
   * credential must name `system:serviceaccount:<namespace>:<serviceAccountName>`.
   *
   * @default - the role name with `_` as `-`
   */
  readonly serviceAccountName?: string;
}

/** Options of a role, for `AzurePostgres.addRole`. */
export interface AzurePostgresRoleOptions extends AzurePostgresChildOptions {
  /** The database the role is for; it must be on the role's server. */
  readonly database: AzurePostgresDatabase;

  /**
   * What the role may do in its database: one or more distinct privileges.
   *
   * @default [RolePrivilege.ALL]
   */
  readonly privileges?: RolePrivilege[];

  /**
   * Most concurrent connections of the role, or -1 for no limit.
   *
   * @default - no limit (-1)
   */
  readonly connectionLimit?: number;

  /**
   * Name of the Secret (in the server's namespace) the reconciler writes the role's connection details to.
   *
   * @default - `<server object name>-<roleName with _ as ->`
   */
  readonly secretName?: string;

  /**
   * Passwordless: the role signs in with this workload identity's Microsoft Entra token instead of a password. Its
   * server needs `authentication.microsoftEntra`; its apps run as `serviceAccount` with the label
   * `azure.workload.identity/use: "true"` (WebAppWithDb does both).
   *
   * @default - a password role (the reconciler generates the password)
   */
  readonly identity?: WorkloadIdentity;
}

/** Properties of an `AzurePostgresRole`. */
export interface AzurePostgresRoleProps extends AzurePostgresRoleOptions, AzurePostgresChildProps {
  /**
   * Login name of the role in PostgreSQL: 1-63 lowercase letters, digits and underscores, starting with a letter;
   * not the server's administratorLogin, nor a name Azure or PostgreSQL keeps (azure_superuser, azure_pg_admin,
   * azuresu, admin, administrator, root, guest, public, postgres, none, user, current_user, session_user,
   * current_role, pg_*). Cannot be changed after creation.
   */
  readonly roleName: string;
}

/**
 * A least-privilege login role for one app on one database (a PostgresRole resource), with its own connection
 * Secret. Wire an app to it with `env()`, `envValue()` or `addConnectionEnv()`, or with `WebAppWithDb`.
 *
 * Usually made with `AzurePostgres.addRole`.
 */
export class AzurePostgresRole extends AzurePostgresChild {
  /** Whether `x` is an AzurePostgresRole (also across copies of this library). */
  public static isAzurePostgresRole(x: any): x is AzurePostgresRole {
    return isKind(x, 'AzurePostgresRole');
  }

  /** The database the role is for. */
  public readonly database: AzurePostgresDatabase;
  /** Login name of the role. */
  public readonly roleName: string;
  /** Name of the Secret the reconciler writes the role's connection details to. */
  public readonly secretName: string;
  /** The connection Secret, for cdk8s-plus APIs that take a Secret. */
  public readonly connectionSecret: kplus.ISecret;
  /** The PostgresRole object. */
  public readonly apiObject: PostgresRole;
  /** Whether the role signs in with a workload identity's token (no password anywhere). */
  public readonly passwordless: boolean;
  /** A passwordless role's ServiceAccount, annotated with its identity's client ID; its apps must run as it. */
  public readonly serviceAccount?: kplus.ServiceAccount;
  /** How many CA volumes addConnectionEnv made (one per container wired). */
  private caVolumes = 0;

  public constructor(scope: Construct, id: string, props: AzurePostgresRoleProps) {
    super(scope, id, 'AzurePostgresRole', props);
    const problems = this._propertyProblems(props);
    this.database = props.database;
    this.roleName = props.roleName;
    this.secretName = props.secretName ?? defaultSecretName(props.server.name, props.roleName);

    // src/api applies the defaults (ROLE_DEFAULTS) and the rules of a PostgresRole.
    const spec = normalizeRoleSpec({
      serverRef: { name: props.server.name },
      databaseRef: { name: props.database?.name },
      roleName: props.roleName,
      privileges: props.privileges,
      connectionLimit: props.connectionLimit,
      writeConnectionSecretToRef: { name: this.secretName },
      deletionPolicy: props.deletionPolicy,
      identity: props.identity === undefined ? undefined : { clientId: props.identity.clientId, objectId: props.identity.objectId },
    } as PostgresRoleSpec);
    problems.addSpecProblems(validateRoleSpec(spec), {
      'writeConnectionSecretToRef.name': props.secretName === undefined ? 'secretName (default, from the server name and roleName)' : 'secretName',
    });
    if (typeof props.roleName === 'string' && props.roleName.toLowerCase() === props.server.administratorLogin.toLowerCase()) {
      problems.add('roleName', props.roleName,
        `is the administratorLogin of the server at '${props.server.node.path}'; a role cannot be the administrator: choose another role name`);
    }
    if (props.database === undefined || props.database === null) {
      problems.add('database', props.database, 'is required: the AzurePostgresDatabase the role is for');
    } else if (props.database.server !== props.server) {
      problems.add('database', props.database.databaseName,
        `is a database of the server at '${props.database.server.node.path}', not of this role's server at '${props.server.node.path}'; `
        + `a role can only be granted a database on its own server: add the database to '${props.server.node.path}' (addDatabase) and use that`);
    }
    if (props.privileges !== undefined) {
      checkPrivilegeList(problems, props.privileges);
    }
    problems.addProblem(entraRequiredProblem(spec.identity, props.server.microsoftEntraSignIn, `authentication.microsoftEntra of the server at '${props.server.node.path}'`));
    const serviceAccountName = props.identity?.serviceAccountName ?? String(props.roleName).replace(/_/g, '-');
    if (props.identity !== undefined) {
      checkString(problems, 'identity.serviceAccountName', serviceAccountName, DNS_SUBDOMAIN);
    }
    problems.throwIfAny();
    this.passwordless = spec.identity !== undefined;

    this.apiObject = new PostgresRole(this, 'Resource', {
      metadata: this._metadata(props),
      spec: {
        serverRef: { name: spec.serverName },
        databaseRef: { name: spec.databaseName },
        roleName: spec.roleName,
        privileges: spec.privileges.map(p => p as PostgresRoleSpecPrivileges),
        connectionLimit: spec.connectionLimit,
        writeConnectionSecretToRef: { name: spec.secretName },
        deletionPolicy: spec.deletionPolicy as PostgresRoleSpecDeletionPolicy | undefined,
        identity: spec.identity,
      },
    });
    this._setResource(this.apiObject, props);
    if (spec.identity !== undefined) {
      this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
        metadata: {
          name: serviceAccountName,
          namespace: this.namespace,
          annotations: { [WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION]: spec.identity.clientId },
        },
        // The workload identity webhook mounts the token it federates; no Kubernetes API token is needed.
        automountToken: false,
      });
    }
    this.connectionSecret = kplus.Secret.fromSecretName(this, 'ConnectionSecret', this.secretName);

    declareWrittenSecret(this, () => ({
      namespace: this.namespace,
      name: this.secretName,
      owner: this,
      description: `the connection Secret of role "${this.roleName}"`,
    }));
  }

  /**
   * An environment value read from one key of the role's connection Secret (a secretKeyRef). A Pod can read only
   * Secrets of its own namespace: synth fails when a cdk8s-plus workload of another namespace uses the value.
   */
  public envValue(key: ConnectionSecretKey): kplus.EnvValue {
    const keys = connectionSecretKeys(this.passwordless);
    if (!keys.includes(key)) {
      throwFieldError(this, 'argument of envValue', 'key', key, this.passwordless && Object.values(ConnectionSecretKey).includes(key)
        ? `is not in the Secret of a passwordless role: role "${this.roleName}" signs in with its workload identity's token, not a password; use one of ${keys.map(show).join(', ')}`
        : `must be a key of the connection Secret: ${keys.map(show).join(', ')}`);
    }
    return markConnectionEnv(this, kplus.EnvValue.fromSecretValue({ secret: this.connectionSecret, key }));
  }

  /**
   * The environment an app needs to connect as this role: PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE
   * and DATABASE_URL (names overridable), each read from the connection Secret. A passwordless role has no
   * PGPASSWORD: its Pods must run as `serviceAccount` with the label `azure.workload.identity/use: "true"` (synth
   * checks it). PGSSLMODE is verify-full: mount the Secret's ca.crt and point PGSSLROOTCERT at it, as
   * `addConnectionEnv` does.
   *
   * @param names variable names to use instead of the defaults
   * @returns environment variable name -> value
   */
  public env(names?: ConnectionEnvNames): { [name: string]: kplus.EnvValue } {
    const problems = new Problems(this, 'environment variable names (ConnectionEnvNames)');
    const seen = new Map<string, ConnectionSecretKey>();
    if (this.passwordless && names?.password !== undefined) {
      problems.add('password', names.password, `role "${this.roleName}" is passwordless (it signs in with its workload identity's token): it has no password variable; remove names.password`);
    }
    for (const [name, key] of connectionEnvKeys(names, this.passwordless)) {
      if (checkString(problems, `name for ${key}`, name, ENV_VAR_NAME) && seen.has(name)) {
        problems.add(`name for ${key}`, name, `is also the name for ${seen.get(name)}; give each variable its own name`);
      }
      seen.set(name, key);
    }
    problems.throwIfAny();
    const result: { [name: string]: kplus.EnvValue } = {};
    for (const [name, key] of connectionEnvKeys(names, this.passwordless)) {
      result[name] = this.envValue(key);
    }
    return result;
  }

  /**
   * Adds the environment of `env(names)` to a cdk8s-plus container, mounts the Secret's ca.crt and sets
   * PGSSLROOTCERT to it (libpq verifies the server with it). The container's Pod must be in this role's namespace: a
   * Pod can read only Secrets of its own namespace.
   *
   * @param container the container to add the variables to
   * @param names variable names to use instead of the defaults
   */
  public addConnectionEnv(container: kplus.Container, names?: ConnectionEnvNames): void {
    const env = { ...this.env(names), [CA_CERT_ENV]: kplus.EnvValue.fromValue(CA_CERT_PATH) };
    const existing = new Set(Object.keys(container.env.variables));
    const clashes = Object.keys(env).filter(n => existing.has(n));
    if (clashes.length > 0) {
      throwFieldError(this, 'arguments of addConnectionEnv', `env of container "${container.name}"`, clashes,
        'already has these variables; remove them from the container or choose other names with `names`');
    }
    for (const [name, value] of Object.entries(env)) {
      container.env.addVariable(name, value);
    }
    const ca = kplus.Volume.fromSecret(this, `CaCert${++this.caVolumes}`, this.connectionSecret, {
      name: `${this.secretName}-ca`.slice(0, 63).replace(/[^a-z0-9-]/g, '-').replace(/-+$/, ''),
      items: { [ConnectionSecretKey.CA_CERT]: { path: CA_CERT_FILE } },
    });
    container.mount(CA_CERT_DIR, ca, { readOnly: true });
  }

  /**
   * The environment of `env(names)` for reading from a read replica of this role's server: the same credentials
   * (the replica has the primary's roles), with the host read from the replica's connection Secret. DATABASE_URL is
   * left out (it names the primary's host). The Pod must be in this role's namespace.
   *
   * @param replica a read replica (`readReplicaOf`) of this role's server
   * @param names variable names to use instead of the defaults
   * @returns environment variable name -> value
   */
  public replicaEnv(replica: AzurePostgres, names?: ConnectionEnvNames): { [name: string]: kplus.EnvValue } {
    if (replica.readReplicaOf !== this.server) {
      throwFieldError(this, 'argument of replicaEnv', 'replica', replica.node.path,
        `is not a read replica of this role's server (${this.server.node.path}); pass an AzurePostgres made with readReplicaOf: the role's server`);
    }
    const env = this.env(names);
    const hostName = names?.host ?? 'PGHOST';
    delete env[names?.uri ?? 'DATABASE_URL'];
    env[hostName] = markConnectionEnv(this, kplus.EnvValue.fromSecretValue({ secret: replica.connectionSecret, key: ConnectionSecretKey.HOST }));
    return env;
  }
}

/** `<server object name>-<role name>`, with the underscores of the role name (not allowed in Secret names) as hyphens. */
function defaultSecretName(serverName: string, roleName: string): string {
  const rolePart = String(roleName).replace(/_/g, '-').replace(/-+$/, '');
  return `${serverName}-${rolePart}`;
}

/**
 * What the spec's normalization would hide: an empty list (which it reads as the default, ALL) and a privilege listed
 * twice (the CRD's list is a set). Unknown privileges are src/api's to name.
 */
function checkPrivilegeList(problems: Problems, privileges: RolePrivilege[]): void {
  if (!Array.isArray(privileges)) {
    return;
  }
  if (privileges.length === 0) {
    problems.add('privileges', privileges, 'must list at least one privilege, for example [RolePrivilege.ALL] (or leave it unset for ALL)');
  }
  const duplicates = privileges.filter((p, i) => privileges.indexOf(p) !== i);
  if (duplicates.length > 0) {
    problems.add('privileges', privileges, `lists ${duplicates.map(show).join(', ')} more than once; list each privilege once`);
  }
}
