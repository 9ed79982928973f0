/**
 * Sign-in: how a PostgresServer lets clients in (password, Microsoft Entra, or both) with its Entra administrators,
 * and the workload identity a passwordless PostgresRole signs in as. crds/ states the same rules (the agreement test).
 */
import { isPlainObject, problemsOf, showValue, type Problem } from './problem';
import { checkBoolean, checkOneOf, checkStringRule, GUID, type StringRule } from './rules';

/** The OAuth scope of Microsoft Entra tokens that Azure Database for PostgreSQL accepts as passwords. */
export const POSTGRES_ENTRA_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** The reconciler's principal name as an Entra administrator, unless its --entra-principal-name says otherwise. */
export const DEFAULT_ENTRA_PRINCIPAL_NAME = 'cdk8s-azure-reconciler';

/** Azure's principal types of an Entra administrator of a flexible server. */
export const ENTRA_PRINCIPAL_TYPES: readonly string[] = ['User', 'Group', 'ServicePrincipal'];

/** Most Entra administrators a server may declare. */
export const MAX_ENTRA_ADMINISTRATORS = 20;

/** The name an Entra administrator signs in to PostgreSQL with (a user's UPN, a group's or an app's display name). */
export const ENTRA_PRINCIPAL_NAME: StringRule = {
  minLength: 1,
  maxLength: 128,
  pattern: /^[^\s"'\\][^"'\\]*$/,
  description: '1-128 characters, not starting with a space and without quotes or backslashes: the user\'s UPN, or the group\'s or app\'s display name',
};

/** The defaults of spec.authentication, written once: crds/postgresservers.yaml has the same. */
export const AUTHENTICATION_DEFAULTS = { password: true, microsoftEntra: false } as const;

export interface EntraAdministrator {
  objectId: string;
  principalName: string;
  principalType: string;
}

export interface NormalizedAuthentication {
  /** Password sign-in (the administratorLogin and password roles). */
  password: boolean;
  /** Microsoft Entra sign-in (Entra administrators and passwordless roles). */
  microsoftEntra: boolean;
  /** undefined: the tenant of the reconciler's own identity. */
  tenantId?: string;
  administrators: EntraAdministrator[];
}

interface AuthenticationInput {
  password?: unknown;
  microsoftEntra?: unknown;
  tenantId?: unknown;
  administrators?: unknown;
}

export function normalizeAuthentication(input: AuthenticationInput | undefined): NormalizedAuthentication {
  const a = input ?? {};
  const administrators = a.administrators ?? [];
  return {
    password: (a.password ?? AUTHENTICATION_DEFAULTS.password) as boolean,
    microsoftEntra: (a.microsoftEntra ?? AUTHENTICATION_DEFAULTS.microsoftEntra) as boolean,
    ...(a.tenantId !== undefined && a.tenantId !== null && a.tenantId !== '' ? { tenantId: a.tenantId as string } : {}),
    // Kept as given when not a list, so that authenticationProblems names the mistake.
    administrators: (Array.isArray(administrators) ? administrators.map(x => ({ ...x })) : administrators) as EntraAdministrator[],
  };
}

export function authenticationProblems(a: NormalizedAuthentication): Problem[] {
  const types = [checkBoolean('authentication.password', a.password), checkBoolean('authentication.microsoftEntra', a.microsoftEntra)];
  return problemsOf(
    ...types,
    !types.some(Boolean) && !a.password && !a.microsoftEntra
      ? { field: 'authentication', value: { password: false, microsoftEntra: false }, expected: 'turn on password sign-in, Microsoft Entra sign-in or both: nobody could sign in' }
      : undefined,
    a.tenantId === undefined ? undefined : checkStringRule('authentication.tenantId', a.tenantId, GUID),
    administratorsProblems(a),
  );
}

function administratorsProblems(a: NormalizedAuthentication): Problem[] {
  const list: unknown = a.administrators;
  const field = 'authentication.administrators';
  if (!Array.isArray(list)) {
    return [{ field, value: list, expected: 'must be a list of { objectId, principalName, principalType }' }];
  }
  const problems: Problem[] = [];
  if (list.length > 0 && a.microsoftEntra !== true) {
    problems.push({ field, value: list.map(x => x?.principalName), expected: 'Entra administrators need Microsoft Entra sign-in: set authentication.microsoftEntra to true, or remove them' });
  }
  if (list.length > MAX_ENTRA_ADMINISTRATORS) {
    problems.push({ field, value: `${list.length} administrators`, expected: `at most ${MAX_ENTRA_ADMINISTRATORS}` });
  }
  list.forEach((admin: unknown, i) => {
    const at = `${field}[${i}]`;
    if (!isPlainObject(admin)) {
      problems.push({ field: at, value: admin, expected: 'must be { objectId, principalName, principalType }' });
      return;
    }
    problems.push(...problemsOf(
      checkStringRule(`${at}.objectId`, admin.objectId, GUID),
      checkStringRule(`${at}.principalName`, admin.principalName, ENTRA_PRINCIPAL_NAME),
      checkOneOf(`${at}.principalType`, admin.principalType, ENTRA_PRINCIPAL_TYPES),
    ));
    const sameObject = (other: { objectId?: unknown } | undefined) => String(other?.objectId).toLowerCase() === String(admin.objectId).toLowerCase();
    const first = list.findIndex(sameObject);
    if (first !== i) {
      problems.push({ field: `${at}.objectId`, value: admin.objectId, expected: `is also administrators[${first}]; list each administrator once` });
    }
  });
  return problems;
}

/** The workload identity a passwordless role signs in as: its Entra token is the password. */
export interface RoleIdentity {
  /** Client ID of the managed identity or app registration (what the app's ServiceAccount is annotated with). */
  clientId: string;
  /** Object ID of its service principal: Azure maps the PostgreSQL role to it. */
  objectId: string;
}

export function normalizeRoleIdentity(identity: { clientId?: unknown; objectId?: unknown } | undefined): RoleIdentity | undefined {
  if (identity === undefined || identity === null) return undefined;
  return { clientId: identity.clientId as string, objectId: identity.objectId as string };
}

export function roleIdentityProblems(identity: RoleIdentity | undefined): Problem[] {
  if (identity === undefined) return [];
  if (!isPlainObject(identity)) return [{ field: 'identity', value: identity, expected: 'must be { clientId, objectId }' }];
  return problemsOf(
    checkStringRule('identity.clientId', identity.clientId, GUID),
    checkStringRule('identity.objectId', identity.objectId, GUID),
  );
}

/**
 * A problem when a passwordless role (`identity`) is on a server without Microsoft Entra sign-in: Azure would refuse
 * its token. `serverField` names where the server's setting is.
 */
export function entraRequiredProblem(identity: RoleIdentity | undefined, serverEntra: unknown, serverField: string): Problem | undefined {
  if (identity === undefined || serverEntra === true) return undefined;
  return {
    field: 'identity',
    value: identity,
    expected: `a passwordless role needs a server with Microsoft Entra sign-in, but ${serverField} is ${showValue(serverEntra)}: turn it on, or remove the identity to use a password`,
  };
}
