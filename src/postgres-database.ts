import { Construct } from 'constructs';
import { normalizeDatabaseSpec, validateDatabaseSpec } from './api';
import { isKind } from './kinds';
import { ExtensionRemovalPolicy } from './postgres-options';
import { AzurePostgresChild, AzurePostgresChildOptions, AzurePostgresChildProps } from './server-child';
import {
  PostgresDatabase,
  PostgresDatabaseSpec,
  PostgresDatabaseSpecCharset,
  PostgresDatabaseSpecDeletionPolicy,
  PostgresDatabaseSpecExtensionRemovalPolicy,
  PostgresDatabaseSpecExtensions,
} from '../imports/cdk8s-azure.dev';

/** Character set of a database. */
export enum DatabaseCharset {
  /** UTF-8, the only character set the API offers. */
  UTF8 = 'UTF8',
}

/** Options of a database, for `AzurePostgres.addDatabase`. */
export interface AzurePostgresDatabaseOptions extends AzurePostgresChildOptions {
  /**
   * Character set. Cannot be changed after creation.
   *
   * @default DatabaseCharset.UTF8
   */
  readonly charset?: DatabaseCharset;

  /**
   * Collation, for example en_US.utf8 or C. Cannot be changed after creation.
   *
   * @default 'en_US.utf8'
   */
  readonly collation?: string;

  /**
   * PostgreSQL extensions to create in the database, such as 'pg_trgm', 'citext' or 'vector'. The reconciler adds
   * each to the server parameter azure.extensions (Azure's allow-list) and runs CREATE EXTENSION IF NOT EXISTS. Names
   * must be extensions Azure supports on the server's PostgreSQL version.
   *
   * @default - none
   */
  readonly extensions?: string[];

  /**
   * What happens to an extension this database created once it is removed from `extensions`.
   *
   * @default ExtensionRemovalPolicy.RETAIN
   */
  readonly extensionRemovalPolicy?: ExtensionRemovalPolicy;
}

/** Properties of an `AzurePostgresDatabase`. */
export interface AzurePostgresDatabaseProps extends AzurePostgresDatabaseOptions, AzurePostgresChildProps {
  /**
   * Name of the database in PostgreSQL (and Azure): 1-63 letters, digits, underscores and hyphens, starting with a
   * letter or underscore; not postgres, azure_maintenance, azure_sys, template0 or template1. Cannot be changed after
   * creation.
   */
  readonly databaseName: string;
}

/**
 * A database on an Azure Database for PostgreSQL flexible server (a PostgresDatabase resource).
 *
 * Usually made with `AzurePostgres.addDatabase`.
 */
export class AzurePostgresDatabase extends AzurePostgresChild {
  /** Whether `x` is an AzurePostgresDatabase (also across copies of this library). */
  public static isAzurePostgresDatabase(x: any): x is AzurePostgresDatabase {
    return isKind(x, 'AzurePostgresDatabase');
  }

  /** Name of the database in PostgreSQL. */
  public readonly databaseName: string;
  /** The PostgresDatabase object. */
  public readonly apiObject: PostgresDatabase;

  public constructor(scope: Construct, id: string, props: AzurePostgresDatabaseProps) {
    super(scope, id, 'AzurePostgresDatabase', props);
    this.databaseName = props.databaseName;

    const problems = this._propertyProblems(props);
    // src/api applies the defaults (DATABASE_DEFAULTS) and the rules of a PostgresDatabase.
    const spec = normalizeDatabaseSpec({
      serverRef: { name: props.server.name },
      azureName: props.databaseName,
      charset: props.charset,
      collation: props.collation,
      extensions: props.extensions,
      extensionRemovalPolicy: props.extensionRemovalPolicy,
      deletionPolicy: props.deletionPolicy,
    } as PostgresDatabaseSpec);
    problems.addSpecProblems(validateDatabaseSpec(spec, props.server.postgresVersion), { azureName: 'databaseName' });
    problems.throwIfAny();

    this.apiObject = new PostgresDatabase(this, 'Resource', {
      metadata: this._metadata(props),
      spec: {
        serverRef: { name: spec.serverName },
        azureName: spec.azureName,
        charset: spec.charset as PostgresDatabaseSpecCharset,
        collation: spec.collation,
        ...(spec.extensions.length > 0 ? { extensions: spec.extensions as PostgresDatabaseSpecExtensions[] } : {}),
        extensionRemovalPolicy: spec.extensionRemovalPolicy as PostgresDatabaseSpecExtensionRemovalPolicy,
        deletionPolicy: spec.deletionPolicy as PostgresDatabaseSpecDeletionPolicy | undefined,
      },
    });
    this._setResource(this.apiObject, props);
  }
}
