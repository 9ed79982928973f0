/** Internal: which environment variable reads which key of a connection Secret (not exported from index.ts). */
import { ConnectionEnvNames, ConnectionSecretKey } from './connection-secret';

/** Where `addConnectionEnv` and `WebAppWithDb` mount the Secret's ca.crt, and the variable libpq reads it from. */
export const CA_CERT_DIR = '/etc/cdk8s-azure/postgres';
export const CA_CERT_FILE = 'ca.crt';
export const CA_CERT_PATH = `${CA_CERT_DIR}/${CA_CERT_FILE}`;
export const CA_CERT_ENV = 'PGSSLROOTCERT';

/**
 * Environment variable name -> the Secret key it reads, with `names` applied over the libpq defaults. A passwordless
 * role's Secret has no password: no PGPASSWORD.
 */
export function connectionEnvKeys(names: ConnectionEnvNames = {}, passwordless = false): Array<[string, ConnectionSecretKey]> {
  return [
    [names.host ?? 'PGHOST', ConnectionSecretKey.HOST],
    [names.port ?? 'PGPORT', ConnectionSecretKey.PORT],
    [names.database ?? 'PGDATABASE', ConnectionSecretKey.DBNAME],
    [names.username ?? 'PGUSER', ConnectionSecretKey.USERNAME],
    ...(passwordless ? [] : [[names.password ?? 'PGPASSWORD', ConnectionSecretKey.PASSWORD] as [string, ConnectionSecretKey]]),
    [names.sslMode ?? 'PGSSLMODE', ConnectionSecretKey.SSLMODE],
    [names.uri ?? 'DATABASE_URL', ConnectionSecretKey.URI],
  ];
}

const PASSWORD_ONLY_KEYS: readonly ConnectionSecretKey[] = [ConnectionSecretKey.PASSWORD, ConnectionSecretKey.PGPASS];
const PASSWORDLESS_ONLY_KEYS: readonly ConnectionSecretKey[] = [ConnectionSecretKey.TOKEN_SCOPE, ConnectionSecretKey.CLIENT_ID];

/** The keys of a role's connection Secret (a passwordless role's has no password nor pgpass). */
export function connectionSecretKeys(passwordless: boolean): ConnectionSecretKey[] {
  const absent = passwordless ? PASSWORD_ONLY_KEYS : PASSWORDLESS_ONLY_KEYS;
  return Object.values(ConnectionSecretKey).filter(key => !absent.includes(key));
}
