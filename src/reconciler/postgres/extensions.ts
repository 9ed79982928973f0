/**
 * Extensions in one database, as the server administrator: created with CREATE EXTENSION IF NOT EXISTS (Azure runs
 * them with elevated rights once azure.extensions allow-lists them), dropped without CASCADE (objects that depend on an
 * extension keep it, and the error says which).
 */
import type { Client } from 'pg';
import { quoteIdent } from './connect';

/** The extensions installed in the connected database. */
export async function installedExtensions(c: Client): Promise<string[]> {
  const { rows } = await c.query<{ extname: string }>('SELECT extname FROM pg_extension ORDER BY extname');
  return rows.map((r) => r.extname);
}

export async function createExtension(c: Client, name: string): Promise<void> {
  await c.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(name)}`);
}

export async function dropExtension(c: Client, name: string): Promise<void> {
  await c.query(`DROP EXTENSION IF EXISTS ${quoteIdent(name)}`);
}
