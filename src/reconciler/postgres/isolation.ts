/**
 * What a login can reach besides the database it is granted: every database whose CONNECT belongs to PUBLIC. On a
 * flexible server those are Azure's own databases, `postgres`, `template1` and `azure_sys` (`azure_maintenance` is
 * closed already). Only a database's owner (or a member of its owner) may take PUBLIC's default CONNECT and TEMPORARY
 * away; on Azure these databases belong to `azuresu`, and the administrator, not a superuser, cannot. A REVOKE by a
 * non-owner is not an error in PostgreSQL (a warning, "no privileges could be revoked"), so ownership is checked first
 * and nothing is sent where it would do nothing.
 */
import type { Client } from 'pg';
import { quoteIdent } from './connect';

/** The databases every flexible server has besides those created through ARM; template0 takes no connections. */
export const SYSTEM_DATABASES: readonly string[] = ['postgres', 'template1', 'azure_sys', 'azure_maintenance'];

export interface PublicDatabase {
  readonly database: string;
  /** Its owner, who alone can close it. */
  readonly owner: string;
}

export interface PublicAccess {
  /** Databases PUBLIC could connect to and no longer can. */
  readonly closed: string[];
  /** Databases PUBLIC can still connect to: the administrator does not own them. */
  readonly open: PublicDatabase[];
}

/**
 * Takes CONNECT and TEMPORARY away from PUBLIC on each of `databases` that PUBLIC can connect to, where the
 * administrator (the connection's user) owns it; reports the others. (TEMPORARY without CONNECT reaches nothing.)
 */
export async function closeToPublic(c: Client, databases: readonly string[] = SYSTEM_DATABASES): Promise<PublicAccess> {
  const r = await c.query<{ datname: string; owner: string; may: boolean }>(
    `SELECT d.datname, pg_catalog.pg_get_userbyid(d.datdba) AS owner, pg_catalog.pg_has_role(current_user, d.datdba, 'MEMBER') AS may
       FROM pg_catalog.pg_database d
      WHERE d.datname = ANY($1::text[]) AND d.datallowconn
        AND pg_catalog.has_database_privilege('public', d.oid, 'CONNECT')
      ORDER BY array_position($1::text[], d.datname::text)`,
    [databases],
  );
  const closed: string[] = [];
  const open: PublicDatabase[] = [];
  for (const row of r.rows) {
    if (row.may) {
      await c.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${quoteIdent(row.datname)} FROM PUBLIC`);
      closed.push(row.datname);
    } else {
      open.push({ database: row.datname, owner: row.owner });
    }
  }
  return { closed, open };
}

/** Every database `role` can connect to (its grants, its memberships' and PUBLIC's), by name. */
export async function reachableDatabases(c: Client, role: string): Promise<string[]> {
  const r = await c.query<{ datname: string }>(
    `SELECT d.datname FROM pg_catalog.pg_database d
      WHERE d.datallowconn AND pg_catalog.has_database_privilege($1, d.oid, 'CONNECT') ORDER BY 1`,
    [role],
  );
  return r.rows.map((row) => row.datname);
}
