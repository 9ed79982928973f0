/**
 * The connection Secret contract: the keys every Secret the reconciler writes (server administrator and app roles)
 * carries, so that an app reads whichever form its driver wants.
 *
 *   host      server FQDN
 *   port      5432
 *   dbname    database name
 *   username  login name (Azure flexible servers take the plain name, no @server suffix)
 *   password  the password (the Secret is the source of truth for it)
 *   uri       postgresql://user:pass@host:5432/dbname?sslmode=verify-full, user, password and dbname percent-encoded
 *   jdbc-uri  jdbc:postgresql://host:5432/dbname?user=..&password=..&sslmode=verify-full, values percent-encoded
 *   pgpass    host:5432:dbname:user:pass, with `\` and `:` escaped by a backslash (libpq's .pgpass format)
 *   sslmode   verify-full: the certificate chains to ca.crt and names the host
 *   ca.crt    the PEM bundle the server's certificate chains to
 *
 * Passwordless (Microsoft Entra sign-in: the app's token is the password) has no password and no pgpass; its uri has
 * no password, its jdbc-uri names the Azure identity JDBC plugin, and it adds:
 *   token-scope  the OAuth scope of the token to use as the password
 *   client-id    the client ID of the workload identity the token is for
 */

import { POSTGRES_ENTRA_SCOPE } from '../api';
import { AZURE_POSTGRES_CA_BUNDLE } from './azure-ca-bundle';

export const POSTGRES_PORT = 5432;
export const SSLMODE = 'verify-full';
export const CA_KEY = 'ca.crt';
export const SECRET_KEYS = ['host', 'port', 'dbname', 'username', 'password', 'uri', 'jdbc-uri', 'pgpass', 'sslmode', CA_KEY] as const;
export const PASSWORDLESS_SECRET_KEYS = ['host', 'port', 'dbname', 'username', 'uri', 'jdbc-uri', 'sslmode', CA_KEY, 'token-scope', 'client-id'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number] | (typeof PASSWORDLESS_SECRET_KEYS)[number];
/** The Azure identity extension's pgjdbc plugin: it gets the Entra token for the connection (azure-identity-extensions). */
export const JDBC_ENTRA_PLUGIN = 'com.azure.identity.extensions.jdbc.postgresql.AzurePostgresqlAuthenticationPlugin';

export interface ConnectionInfo {
  readonly host: string;
  readonly port?: number;
  readonly dbname: string;
  readonly username: string;
  readonly password: string;
  /** PEM bundle for ca.crt. */
  readonly ca: string;
}

/** What goes into ca.crt: the reconciler's --postgres-ca-file, or the roots Azure's servers chain to. */
export function secretCaBundle(env: { readonly postgresCa?: string }): string {
  return env.postgresCa ?? AZURE_POSTGRES_CA_BUNDLE;
}

/** The OAuth scope of Entra tokens for PostgreSQL in the reconciler's cloud. */
export function postgresTokenScope(env: { readonly postgresTokenScope?: string }): string {
  return env.postgresTokenScope ?? POSTGRES_ENTRA_SCOPE;
}

export interface PasswordlessConnectionInfo {
  readonly host: string;
  readonly port?: number;
  readonly dbname: string;
  /** undefined: an administrator Secret with password sign-in off (each Entra administrator signs in as itself). */
  readonly username?: string;
  readonly ca: string;
  /** The OAuth scope of the token. */
  readonly tokenScope: string;
  /** The workload identity's client ID; undefined for an administrator's Secret (its sign-in is the user's). */
  readonly clientId?: string;
}

/**
 * Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~). Stricter than
 * encodeURIComponent, which leaves ! ' ( ) * alone, and safe for java.net.URLDecoder, which turns a raw `+` into a
 * space (pgjdbc decodes parameter values with it).
 */
export function strictEncode(value: string): string {
  return Array.from(new TextEncoder().encode(value))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** Escapes a field of a .pgpass line: backslash and colon are prefixed with a backslash. */
export function pgpassEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** An IPv6 literal host needs brackets in a URI. */
function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

interface Address {
  readonly host: string;
  readonly port?: number;
  readonly dbname: string;
  readonly username?: string;
  readonly password?: string;
}

/** A postgresql:// URI; without a password for passwordless sign-in. */
export function connectionUri(c: Address): string {
  const port = c.port ?? POSTGRES_PORT;
  const user = c.username === undefined ? undefined : strictEncode(c.username);
  const userinfo = user === undefined ? '' : c.password === undefined ? `${user}@` : `${user}:${strictEncode(c.password)}@`;
  return `postgresql://${userinfo}${uriHost(c.host)}:${port}/${strictEncode(c.dbname)}?sslmode=${SSLMODE}`;
}

/** A pgjdbc URL: with the password, or naming the Azure identity plugin that gets the token. */
export function jdbcUri(c: Address): string {
  const port = c.port ?? POSTGRES_PORT;
  const params = [
    ...(c.username === undefined ? [] : [`user=${strictEncode(c.username)}`]),
    c.password === undefined ? `authenticationPluginClassName=${JDBC_ENTRA_PLUGIN}` : `password=${strictEncode(c.password)}`,
    `sslmode=${SSLMODE}`,
  ];
  return `jdbc:postgresql://${uriHost(c.host)}:${port}/${strictEncode(c.dbname)}?${params.join('&')}`;
}

export function pgpassLine(c: ConnectionInfo): string {
  const port = c.port ?? POSTGRES_PORT;
  return [c.host, String(port), c.dbname, c.username, c.password].map(pgpassEscape).join(':');
}

/** The complete Secret data of the contract. */
export function connectionSecretData(c: ConnectionInfo): Record<(typeof SECRET_KEYS)[number], string> {
  return {
    'host': c.host,
    'port': String(c.port ?? POSTGRES_PORT),
    'dbname': c.dbname,
    'username': c.username,
    'password': c.password,
    'uri': connectionUri(c),
    'jdbc-uri': jdbcUri(c),
    'pgpass': pgpassLine(c),
    'sslmode': SSLMODE,
    [CA_KEY]: c.ca,
  };
}

/** The Secret data of a passwordless role (or of an administrator Secret with password sign-in off). */
export function passwordlessSecretData(c: PasswordlessConnectionInfo): Record<string, string> {
  return {
    'host': c.host,
    'port': String(c.port ?? POSTGRES_PORT),
    'dbname': c.dbname,
    ...(c.username !== undefined ? { username: c.username } : {}),
    'uri': connectionUri(c),
    'jdbc-uri': jdbcUri(c),
    'sslmode': SSLMODE,
    [CA_KEY]: c.ca,
    'token-scope': c.tokenScope,
    ...(c.clientId !== undefined ? { 'client-id': c.clientId } : {}),
  };
}

/**
 * The data written before the server (or role) exists, so that a crash between the create request and the final
 * Secret write can never lose the password: username and password only. The full contract follows when Ready.
 */
export function pendingSecretData(username: string, password: string): Record<string, string> {
  return { username, password };
}

/** Decodes a base64 Secret `data` map (as the Kubernetes API returns it) or takes `stringData`. */
export function decodeSecretData(secret: { data?: Record<string, string>; stringData?: Record<string, string> } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!secret) return out;
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

/** The password encoded in a contract `uri`, or undefined when absent or unparsable. */
export function passwordFromUri(uri: string | undefined): string | undefined {
  if (!uri) return undefined;
  const m = /^postgres(?:ql)?:\/\/[^:@/]*:([^@/]*)@/.exec(uri);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}
