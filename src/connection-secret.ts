/**
 * The connection Secret contract: the keys the reconciler writes into every connection Secret (the ones CloudNativePG
 * writes, so apps and tools that read those work unchanged), and the environment variables apps get from them.
 */

/** A key of a connection Secret. */
export enum ConnectionSecretKey {
  /** Host name of the server, e.g. myserver.postgres.database.azure.com. */
  HOST = 'host',
  /** Port, 5432. */
  PORT = 'port',
  /** Database name. */
  DBNAME = 'dbname',
  /** Login name. */
  USERNAME = 'username',
  /** Password. */
  PASSWORD = 'password',
  /** A postgresql:// connection URI (host, port, database, login, password and sslmode in one value). */
  URI = 'uri',
  /** jdbc:postgresql:// URI for Java clients. */
  JDBC_URI = 'jdbc-uri',
  /** A line for a ~/.pgpass file. */
  PGPASS = 'pgpass',
  /** The libpq sslmode clients should use: verify-full (TLS, the certificate chains to ca.crt and names the host). */
  SSLMODE = 'sslmode',
  /** PEM bundle of the roots the server's certificate chains to. */
  CA_CERT = 'ca.crt',
  /** A passwordless role's: the OAuth scope of the Entra token to use as the password. */
  TOKEN_SCOPE = 'token-scope',
  /** A passwordless role's: the client ID of its workload identity. */
  CLIENT_ID = 'client-id',
}

/**
 * Names of the environment variables an app gets from a connection Secret. The defaults are the libpq variables,
 * which most PostgreSQL clients read without configuration, plus DATABASE_URL.
 */
export interface ConnectionEnvNames {
  /**
   * Variable for the host.
   *
   * @default 'PGHOST'
   */
  readonly host?: string;

  /**
   * Variable for the port.
   *
   * @default 'PGPORT'
   */
  readonly port?: string;

  /**
   * Variable for the database name.
   *
   * @default 'PGDATABASE'
   */
  readonly database?: string;

  /**
   * Variable for the login name.
   *
   * @default 'PGUSER'
   */
  readonly username?: string;

  /**
   * Variable for the password (a passwordless role has none).
   *
   * @default 'PGPASSWORD'
   */
  readonly password?: string;

  /**
   * Variable for the sslmode.
   *
   * @default 'PGSSLMODE'
   */
  readonly sslMode?: string;

  /**
   * Variable for the postgresql:// URI.
   *
   * @default 'DATABASE_URL'
   */
  readonly uri?: string;
}
