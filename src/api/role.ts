/**
 * PostgresRole: a least-privilege login role for one app on one database.
 */
import { normalizeRoleIdentity, roleIdentityProblems, type RoleIdentity } from './authentication';
import { childDeletionPolicy, childProblems } from './children';
import { problemsOf, showValue, type Problem } from './problem';
import { isReservedRoleName, RESERVED_ROLE_NAMES, ROLE_PRIVILEGES } from './reserved';
import { checkInteger, checkStringRule, DNS_SUBDOMAIN, ROLE_NAME, type DeletionPolicyName } from './rules';
import type { PostgresRoleSpec } from '../../imports/cdk8s-azure.dev';

/** PostgreSQL's connection limit is a 32-bit integer; -1 means no limit. */
export const CONNECTION_LIMIT = { min: -1, max: 2147483647 } as const;

/** The defaults of a PostgresRole spec, written once: crds/postgresroles.yaml has the same. */
export const ROLE_DEFAULTS = { privileges: ['ALL'], connectionLimit: -1 } as const;

export interface NormalizedRoleSpec {
  serverName: string;
  databaseName: string;
  roleName: string;
  privileges: string[];
  connectionLimit: number;
  secretName: string;
  /** undefined: the server's policy. */
  deletionPolicy?: DeletionPolicyName;
  /** Passwordless: the workload identity the role signs in as; undefined: a password role. */
  identity?: RoleIdentity;
}

export function normalizeRoleSpec(spec: PostgresRoleSpec | undefined): NormalizedRoleSpec {
  const deletionPolicy = childDeletionPolicy(spec?.deletionPolicy);
  const privileges: unknown = spec?.privileges;
  const identity = normalizeRoleIdentity(spec?.identity);
  return {
    serverName: spec?.serverRef?.name as string,
    databaseName: spec?.databaseRef?.name as string,
    roleName: spec?.roleName as string,
    // Kept as given when not a list, so that validateRoleSpec names the mistake.
    privileges: Array.isArray(privileges) && privileges.length > 0 ? privileges.map(String)
      : privileges === undefined || Array.isArray(privileges) ? [...ROLE_DEFAULTS.privileges] : privileges as string[],
    connectionLimit: spec?.connectionLimit ?? ROLE_DEFAULTS.connectionLimit,
    secretName: spec?.writeConnectionSecretToRef?.name as string,
    ...(deletionPolicy !== undefined ? { deletionPolicy } : {}),
    ...(identity !== undefined ? { identity } : {}),
  };
}

/** A problem when `name` is not a role name a PostgresRole may take. */
export function checkRoleName(field: string, name: unknown): Problem | undefined {
  const shape = checkStringRule(field, name, ROLE_NAME);
  if (shape || !isReservedRoleName(name as string)) {
    return shape;
  }
  return { field, value: name, expected: `is reserved (${RESERVED_ROLE_NAMES.join(', ')}, pg_*); choose another name` };
}

function privilegesProblem(privileges: unknown): Problem | undefined {
  if (!Array.isArray(privileges)) {
    return { field: 'privileges', value: privileges, expected: `must be a list of ${ROLE_PRIVILEGES.join(', ')}` };
  }
  const unknown = privileges.filter(p => !ROLE_PRIVILEGES.includes(p));
  return unknown.length === 0 ? undefined : {
    field: 'privileges',
    value: privileges,
    expected: `${unknown.map(showValue).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a privilege; use ${ROLE_PRIVILEGES.join(', ')}`,
  };
}

export function validateRoleSpec(r: NormalizedRoleSpec): Problem[] {
  return problemsOf(
    childProblems(r),
    checkStringRule('databaseRef.name', r.databaseName, DNS_SUBDOMAIN),
    checkRoleName('roleName', r.roleName),
    privilegesProblem(r.privileges),
    checkInteger('connectionLimit', r.connectionLimit, CONNECTION_LIMIT.min, CONNECTION_LIMIT.max),
    checkStringRule('writeConnectionSecretToRef.name', r.secretName, DNS_SUBDOMAIN),
    roleIdentityProblems(r.identity),
  );
}
