/**
 * Connections to a flexible server as its administrator (with a password, or an Entra token as the password): TLS, verifying the server certificate against `ca` (or
 * Node's default roots, which include the CAs Azure uses) and the host name.
 */
import { isIP } from 'node:net';
import { Client } from 'pg';

export interface PgTarget {
  readonly host: string;
  readonly port?: number;
  readonly user: string;
  /** A password, or a function that gives one per connection (a fresh Microsoft Entra token). */
  readonly password: string | (() => Promise<string>);
  readonly database: string;
  /** PEM bundle that verifies the server certificate; undefined: Node's default roots. */
  readonly ca?: string;
  readonly connectTimeoutMs?: number;
}

export interface PgError {
  /** SQLSTATE (e.g. 28P01, 3D000) or a Node error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT). */
  readonly code: string;
  readonly message: string;
}

export const APPLICATION_NAME = 'cdk8s-azure-reconciler';

export async function connect(t: PgTarget): Promise<Client> {
  const client = new Client({
    host: t.host,
    port: t.port ?? 5432,
    user: t.user,
    password: t.password,
    database: t.database,
    ssl: {
      rejectUnauthorized: true,
      ...(t.ca ? { ca: t.ca } : {}),
      // SNI must be a host name; for an IP the certificate is still checked against it (IP SAN).
      ...(isIP(t.host) ? {} : { servername: t.host }),
    },
    connectionTimeoutMillis: t.connectTimeoutMs ?? 15_000,
    statement_timeout: 60_000,
    query_timeout: 90_000,
    application_name: APPLICATION_NAME,
  });
  // An error event after connect (server restart) must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
  return client;
}

/** Runs `fn` on a connection and always closes it. */
export async function withClient<T>(t: PgTarget, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = await connect(t);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A pg/Node error reduced to {code, message}; the password is never part of either. */
export function toPgError(e: unknown): PgError {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' && err.code ? err.code : 'PostgresError';
  const message = typeof err?.message === 'string' && err.message ? err.message : String(e);
  return { code, message };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('NUL in literal');
  return `'${value.replace(/'/g, "''")}'`;
}
