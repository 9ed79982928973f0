/**
 * The connection Secret contract: the keys every Secret the reconciler writes (server administrator and app roles)
 * carries, so that an app reads whichever form its driver wants.
 *
 *   host      server FQDN
 *   port      5432
 *   dbname    database name
 *   username  login name (Azure flexible servers take the plain name, no @server suffix)
 *   password  the password (the Secret is the source of truth for it)
 *   uri       postgresql://user:pass@host:5432/dbname?sslmode=require, user, password and dbname percent-encoded
 *   jdbc-uri  jdbc:postgresql://host:5432/dbname?user=..&password=..&sslmode=require, values percent-encoded
 *   pgpass    host:5432:dbname:user:pass, with `\` and `:` escaped by a backslash (libpq's .pgpass format)
 *   sslmode   require
 */

export const POSTGRES_PORT = 5432;
export const SSLMODE = 'require';
export const SECRET_KEYS = ['host', 'port', 'dbname', 'username', 'password', 'uri', 'jdbc-uri', 'pgpass', 'sslmode'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export interface ConnectionInfo {
  readonly host: string;
  readonly port?: number;
  readonly dbname: string;
  readonly username: string;
  readonly password: string;
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

export function connectionUri(c: ConnectionInfo): string {
  const port = c.port ?? POSTGRES_PORT;
  return `postgresql://${strictEncode(c.username)}:${strictEncode(c.password)}@${uriHost(c.host)}:${port}/${strictEncode(c.dbname)}?sslmode=${SSLMODE}`;
}

export function jdbcUri(c: ConnectionInfo): string {
  const port = c.port ?? POSTGRES_PORT;
  return `jdbc:postgresql://${uriHost(c.host)}:${port}/${strictEncode(c.dbname)}?user=${strictEncode(c.username)}&password=${strictEncode(c.password)}&sslmode=${SSLMODE}`;
}

export function pgpassLine(c: ConnectionInfo): string {
  const port = c.port ?? POSTGRES_PORT;
  return [c.host, String(port), c.dbname, c.username, c.password].map(pgpassEscape).join(':');
}

/** The complete Secret data of the contract. */
export function connectionSecretData(c: ConnectionInfo): Record<SecretKey, string> {
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
