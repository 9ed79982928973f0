/** Connecting a test's PostgreSQL client as an app does: over TLS, the server's certificate verified against `ca`. */
import { Client } from 'pg';

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  /** A password, or a Microsoft Entra token for a passwordless role. */
  password: string;
  database: string;
  /** PEM of the CA the server's certificate must chain to. */
  ca: string;
  connectionTimeoutMillis: number;
}

/**
 * A connected client; or the connect's error, with the client ended so that no socket outlives the refusal. The
 * client's 'error' events (the server going away under it) are ignored: a test sees them as its queries' failures.
 */
export async function connectOrClose(target: PostgresTarget): Promise<Client> {
  const { ca, ...options } = target;
  const client = new Client({ ...options, ssl: { ca, rejectUnauthorized: true } });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
  return client;
}
