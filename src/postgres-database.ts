import { Construct } from 'constructs';
import { isKind } from './kinds';
import { DeletionPolicy } from './postgres-options';
import { AzurePostgresChild, AzurePostgresChildOptions, AzurePostgresChildProps } from './server-child';
import { checkOneOf, checkString, COLLATION, DATABASE_NAME, enumValues, RESERVED_DATABASE_NAMES } from './validation';
import {
  PostgresDatabase,
  PostgresDatabaseSpecCharset,
  PostgresDatabaseSpecDeletionPolicy,
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
}

/** Properties of an `AzurePostgresDatabase`. */
export interface AzurePostgresDatabaseProps extends AzurePostgresDatabaseOptions, AzurePostgresChildProps {
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
    problems.throwIfAny();

    this.apiObject = new PostgresDatabase(this, 'Resource', {
      metadata: this._metadata(props),
      spec: {
        serverRef: { name: props.server.name },
        azureName: props.databaseName,
        charset: (props.charset ?? DatabaseCharset.UTF8) as string as PostgresDatabaseSpecCharset,
        collation: props.collation ?? 'en_US.utf8',
        deletionPolicy: (props.deletionPolicy ?? DeletionPolicy.DELETE) as string as PostgresDatabaseSpecDeletionPolicy,
      },
    });
    this._setResource(this.apiObject, props);
  }
}
