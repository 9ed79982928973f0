/**
 * Names Azure or PostgreSQL keep for themselves: administrator logins, role names and database names. Compared
 * case-insensitively (PostgreSQL folds unquoted names, Azure compares logins without case).
 */

/**
 * Administrator logins Azure refuses (`InvalidUserName` / `BlockedUserName`), besides any name starting with pg_.
 * postgres and azuresu are Azure's own superuser accounts on every flexible server.
 */
export const RESERVED_ADMINISTRATOR_LOGINS: readonly string[] = [
  'azure_superuser', 'azure_pg_admin', 'admin', 'administrator', 'root', 'guest', 'public', 'postgres', 'azuresu',
];

/** Whether Azure refuses `login` as the administrator login (case-insensitive; pg_* included). */
export function isReservedAdministratorLogin(login: string): boolean {
  const lower = login.toLowerCase();
  return RESERVED_ADMINISTRATOR_LOGINS.includes(lower) || lower.startsWith('pg_');
}

/**
 * Role names a PostgresRole may not take, besides pg_*: the reserved logins, and the names PostgreSQL refuses as role
 * names or reads as something else in GRANT and ALTER ROLE (`public`, `none`, `current_user`, ...).
 */
export const RESERVED_ROLE_NAMES: readonly string[] = [
  ...RESERVED_ADMINISTRATOR_LOGINS, 'none', 'current_user', 'session_user', 'current_role', 'user',
];

/** Whether a PostgresRole may not take `name` (case-insensitive; pg_* included). */
export function isReservedRoleName(name: string): boolean {
  const lower = name.toLowerCase();
  return RESERVED_ROLE_NAMES.includes(lower) || lower.startsWith('pg_');
}

/** Databases Azure keeps for itself on every flexible server. */
export const RESERVED_DATABASE_NAMES: readonly string[] = ['postgres', 'azure_maintenance', 'azure_sys', 'template0', 'template1'];

/** Whether `name` is one of Azure's own databases (case-insensitive: ARM names are). */
export function isReservedDatabaseName(name: string): boolean {
  return RESERVED_DATABASE_NAMES.includes(name.toLowerCase());
}

/** What a PostgresRole may be granted in its database; ALL is the default. */
export const ROLE_PRIVILEGES: readonly string[] = [
  'ALL', 'CONNECT', 'TEMPORARY', 'CREATE', 'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER',
];
