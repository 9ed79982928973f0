/** Internal: which environment variable reads which key of a connection Secret (not exported from index.ts). */
import { ConnectionEnvNames, ConnectionSecretKey } from './connection-secret';

/** Environment variable name -> the Secret key it reads, with `names` applied over the libpq defaults. */
export function connectionEnvKeys(names: ConnectionEnvNames = {}): Array<[string, ConnectionSecretKey]> {
  return [
    [names.host ?? 'PGHOST', ConnectionSecretKey.HOST],
    [names.port ?? 'PGPORT', ConnectionSecretKey.PORT],
    [names.database ?? 'PGDATABASE', ConnectionSecretKey.DBNAME],
    [names.username ?? 'PGUSER', ConnectionSecretKey.USERNAME],
    [names.password ?? 'PGPASSWORD', ConnectionSecretKey.PASSWORD],
    [names.sslMode ?? 'PGSSLMODE', ConnectionSecretKey.SSLMODE],
    [names.uri ?? 'DATABASE_URL', ConnectionSecretKey.URI],
  ];
}
