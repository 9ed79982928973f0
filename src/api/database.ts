/**
 * PostgresDatabase: a database on a PostgresServer.
 */
import { childDeletionPolicy, childProblems } from './children';
import { checkExtensionRemovalPolicy, checkExtensions, type ExtensionRemovalPolicy } from './extensions';
import { problemsOf, type Problem } from './problem';
import { isReservedDatabaseName, RESERVED_DATABASE_NAMES } from './reserved';
import { checkOneOf, checkStringRule, COLLATION, DATABASE_NAME, type DeletionPolicyName } from './rules';
import type { PostgresDatabaseSpec } from '../../imports/cdk8s-azure.dev';

export const DATABASE_CHARSETS: readonly string[] = ['UTF8'];

/** The defaults of a PostgresDatabase spec, written once: crds/postgresdatabases.yaml has the same. */
export const DATABASE_DEFAULTS = { charset: 'UTF8', collation: 'en_US.utf8', extensionRemovalPolicy: 'Retain' } as const;

export interface NormalizedDatabaseSpec {
  serverName: string;
  azureName: string;
  charset: string;
  collation: string;
  /** undefined: the server's policy. */
  deletionPolicy?: DeletionPolicyName;
  /** Extensions created in the database (CREATE EXTENSION IF NOT EXISTS), each allow-listed on the server first. */
  extensions: string[];
  /** What happens to an extension this database created once it leaves `extensions`. */
  extensionRemovalPolicy: ExtensionRemovalPolicy;
}

export function normalizeDatabaseSpec(spec: PostgresDatabaseSpec | undefined): NormalizedDatabaseSpec {
  const deletionPolicy = childDeletionPolicy(spec?.deletionPolicy);
  return {
    serverName: spec?.serverRef?.name as string,
    azureName: spec?.azureName as string,
    charset: spec?.charset ?? DATABASE_DEFAULTS.charset,
    collation: spec?.collation ?? DATABASE_DEFAULTS.collation,
    // Kept as given when not a list, so that validateDatabaseSpec names the mistake.
    extensions: (spec?.extensions ?? []) as string[],
    extensionRemovalPolicy: (spec?.extensionRemovalPolicy ?? DATABASE_DEFAULTS.extensionRemovalPolicy) as ExtensionRemovalPolicy,
    ...(deletionPolicy !== undefined ? { deletionPolicy } : {}),
  };
}

/** A problem when `name` is not a database name Azure accepts, or is one of Azure's own databases. */
export function checkDatabaseName(field: string, name: unknown): Problem | undefined {
  const shape = checkStringRule(field, name, DATABASE_NAME);
  if (shape || !isReservedDatabaseName(name as string)) {
    return shape;
  }
  return { field, value: name, expected: `is reserved by Azure (${RESERVED_DATABASE_NAMES.join(', ')}); choose another name` };
}

/**
 * Problems with a database spec. `serverVersion`, when known (the construct's server, the reconciler's PostgresServer),
 * also checks the extensions against what Azure offers on that major version.
 */
export function validateDatabaseSpec(d: NormalizedDatabaseSpec, serverVersion?: string): Problem[] {
  return problemsOf(
    childProblems(d),
    checkDatabaseName('azureName', d.azureName),
    checkOneOf('charset', d.charset, DATABASE_CHARSETS),
    checkStringRule('collation', d.collation, COLLATION),
    checkExtensions('extensions', d.extensions, serverVersion),
    checkExtensionRemovalPolicy(d.extensionRemovalPolicy),
  );
}
