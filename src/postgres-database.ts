import { ApiObjectMetadata } from 'cdk8s';
import { Construct } from 'constructs';
import type { AzurePostgres } from './azure-postgres';
import { DeletionPolicy } from './postgres-options';
import { checkOneOf, checkString, COLLATION, DATABASE_NAME, enumValues, Problems, RESERVED_DATABASE_NAMES, requireServerNamespace, requireValidObjectName } from './validation';
import {
  PostgresDatabase,
  PostgresDatabaseSpecCharset,
  PostgresDatabaseSpecDeletionPolicy,
} from '../imports/cdk8s-azure.dev';

const IS_DATABASE = Symbol.for('cdk8s-azure.dev/AzurePostgresDatabase');

/** Character set of a database. */
export enum DatabaseCharset {
  /** UTF-8, the only character set the API offers. */
  UTF8 = 'UTF8',
}

/** Options of a database, for `AzurePostgres.addDatabase`. */
export interface AzurePostgresDatabaseOptions {
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
   * What happens to the database in Azure when the PostgresDatabase is deleted.
   *
   * @default DeletionPolicy.DELETE
   */
  readonly deletionPolicy?: DeletionPolicy;

  /**
   * Metadata of the PostgresDatabase object. Its namespace, when set, must be the server's.
   *
   * @default - a name generated from the construct path, in the server's namespace
   */
  readonly metadata?: ApiObjectMetadata;
}

/** Properties of an `AzurePostgresDatabase`. */
export interface AzurePostgresDatabaseProps extends AzurePostgresDatabaseOptions {
  /** The server the database is on. */
  readonly server: AzurePostgres;

  /**
   * Name of the database in PostgreSQL: 1-63 lowercase letters, digits and underscores, starting with a letter or
   * underscore; not postgres, azure_maintenance, azure_sys, template0 or template1. Cannot be changed after creation.
   */
  readonly databaseName: string;
}

/**
 * A database on an Azure Database for PostgreSQL flexible server (a PostgresDatabase resource).
 *
 * Usually made with `AzurePostgres.addDatabase`.
 */
export class AzurePostgresDatabase extends Construct {
  /** Whether `x` is an AzurePostgresDatabase (also across copies of this library). */
  public static isAzurePostgresDatabase(x: any): x is AzurePostgresDatabase {
    return x !== null && typeof x === 'object' && IS_DATABASE in x;
  }

  /** The server the database is on. */
  public readonly server: AzurePostgres;
  /** Name of the database in PostgreSQL. */
  public readonly databaseName: string;
  /** The PostgresDatabase object. */
  public readonly apiObject: PostgresDatabase;

  public constructor(scope: Construct, id: string, props: AzurePostgresDatabaseProps) {
    super(scope, id);
    Object.defineProperty(this, IS_DATABASE, { value: true });
    this.server = props.server;
    this.databaseName = props.databaseName;

    const problems = new Problems(this, 'AzurePostgresDatabase properties');
    checkString(problems, 'databaseName', props.databaseName, DATABASE_NAME);
    if (RESERVED_DATABASE_NAMES.includes(props.databaseName)) {
      problems.add('databaseName', props.databaseName, `is reserved by Azure (${RESERVED_DATABASE_NAMES.join(', ')}); choose another name`);
    }
    if (props.charset !== undefined) {
      checkOneOf(problems, 'charset', props.charset, enumValues(DatabaseCharset));
    }
    if (props.collation !== undefined) {
      checkString(problems, 'collation', props.collation, COLLATION);
    }
    if (props.deletionPolicy !== undefined) {
      checkOneOf(problems, 'deletionPolicy', props.deletionPolicy, enumValues(DeletionPolicy));
    }
    if (props.metadata?.namespace !== undefined && props.metadata.namespace !== props.server.namespace) {
      problems.add('metadata.namespace', props.metadata.namespace,
        `must be the namespace of its server ${props.server.namespace === undefined ? '(unset)' : `"${props.server.namespace}"`} at '${props.server.node.path}', `
        + 'because serverRef names a PostgresServer in the same namespace; leave it unset');
    }
    problems.throwIfAny();

    this.apiObject = new PostgresDatabase(this, 'Resource', {
      // The server's namespace, whatever this construct's chart says: serverRef is namespace-local.
      metadata: { ...props.metadata, namespace: props.server.namespace },
      spec: {
        serverRef: { name: props.server.name },
        azureName: props.databaseName,
        charset: (props.charset ?? DatabaseCharset.UTF8) as string as PostgresDatabaseSpecCharset,
        collation: props.collation ?? 'en_US.utf8',
        deletionPolicy: (props.deletionPolicy ?? DeletionPolicy.DELETE) as string as PostgresDatabaseSpecDeletionPolicy,
      },
    });
    requireValidObjectName(this, 'AzurePostgresDatabase properties', this.apiObject.name, props.metadata?.name !== undefined);
    requireServerNamespace(this, this.namespace, props.server, props.server.namespace);
  }

  /** Name of the PostgresDatabase object. */
  public get name(): string {
    return this.apiObject.name;
  }

  /** Namespace of the PostgresDatabase object (the server's). */
  public get namespace(): string | undefined {
    return this.apiObject.metadata.namespace;
  }
}
