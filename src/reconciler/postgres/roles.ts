/**
 * App roles on a flexible server: create or alter a login role with a password, grant exactly the privileges a
 * PostgresRole asks for on its database (and nothing elsewhere), lock managed databases against PUBLIC, and drop a
 * role safely.
 *
 * Everything runs as the server administrator, which on Azure is not a superuser (CREATEROLE, CREATEDB, member of
 * azure_pg_admin) and owns the databases created through ARM (and so, from PostgreSQL 15, their public schema).
 *
 * Passwords never travel in clear text: the role's password is set as a SCRAM-SHA-256 verifier computed here, so
 * neither the server's statement log nor pg_stat_activity ever holds it. Identifiers are always quoted.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { quoteIdent, quoteLiteral } from './connect';
import { ADOPT_ANNOTATION as ADOPT } from '../contracts';

export type Privilege = 'ALL' | 'CONNECT' | 'TEMPORARY' | 'CREATE' | 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'TRUNCATE' | 'REFERENCES' | 'TRIGGER';

export const TABLE_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] as const;

/** What a privileges list means, object by object. */
export interface PrivilegePlan {
  database: string[];
  schema: string[];
  tables: string[];
  sequences: string[];
}

/**
 * ALL: CONNECT + TEMPORARY on the database, USAGE + CREATE on schema public, every table privilege and
 * USAGE/SELECT/UPDATE on sequences. Otherwise: CONNECT always; TEMPORARY on the database; CREATE on schema public;
 * table privileges as listed; sequences follow the table privileges (SELECT -> SELECT, INSERT -> USAGE so that
 * serial/identity columns work, UPDATE -> UPDATE). USAGE on schema public is always granted (nothing in it is
 * reachable otherwise).
 */
export function planPrivileges(privileges: readonly string[] | undefined): PrivilegePlan {
  const p = new Set((privileges && privileges.length > 0 ? privileges : ['ALL']).map((x) => x.toUpperCase()));
  if (p.has('ALL')) {
    return {
      database: ['CONNECT', 'TEMPORARY'],
      schema: ['USAGE', 'CREATE'],
      tables: [...TABLE_PRIVILEGES],
      sequences: ['USAGE', 'SELECT', 'UPDATE'],
    };
  }
  const sequences: string[] = [];
  if (p.has('INSERT')) sequences.push('USAGE');
  if (p.has('SELECT')) sequences.push('SELECT');
  if (p.has('UPDATE')) sequences.push('UPDATE');
  return {
    database: ['CONNECT', ...(p.has('TEMPORARY') ? ['TEMPORARY'] : [])],
    schema: ['USAGE', ...(p.has('CREATE') ? ['CREATE'] : [])],
    tables: TABLE_PRIVILEGES.filter((t) => p.has(t)),
    sequences,
  };
}

/** SCRAM-SHA-256 verifier (RFC 5802/7677, PostgreSQL's format) for a password. */
export function scramSha256Verifier(password: string, iterations = 4096, salt: Buffer = randomBytes(16)): string {
  // PostgreSQL SASLprep-normalizes passwords; NFKC is its core (and the identity for ASCII).
  const salted = pbkdf2Sync(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Who manages a role: the PostgresRole's uid (what decides), and where it is (for messages, and to tell whether it can
 * be seen from here): its namespace and name, and the cluster (`--cluster-id`) of the reconciler that marked it.
 */
export interface RoleOwner {
  readonly uid: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly cluster?: string;
}

const MARKER_PREFIX = 'managed by cdk8s-azure.dev PostgresRole';
const MARKER = /^managed by cdk8s-azure\.dev PostgresRole (?:(\S+)\/(\S+) )?uid=(\S+?)(?: cluster=(\S+))?$/;

/** The COMMENT ON ROLE that marks a role as managed by one PostgresRole. */
export function ownerMarker(owner: RoleOwner): string {
  const where = owner.namespace && owner.name ? `${owner.namespace}/${owner.name} ` : '';
  return `${MARKER_PREFIX} ${where}uid=${owner.uid}${owner.cluster ? ` cluster=${owner.cluster}` : ''}`;
}

/** The owner a role's comment names (this marker, or the earlier one with the uid only); undefined for any other comment. */
export function parseOwnerMarker(comment: string | undefined): RoleOwner | undefined {
  const m = comment ? MARKER.exec(comment) : null;
  if (!m) return undefined;
  return { uid: m[3], ...(m[1] ? { namespace: m[1], name: m[2] } : {}), ...(m[4] ? { cluster: m[4] } : {}) };
}

export interface RoleInfo {
  exists: boolean;
  comment?: string;
  /** The PostgresRole its comment names. */
  owner?: RoleOwner;
  /** It is the login this connection uses: the server administrator. */
  isCurrentUser?: boolean;
  /** What it has beyond an app role (LOGIN, a password, a connection limit): attributes and memberships. */
  beyondAppRole?: string[];
}

export async function roleInfo(c: Client, roleName: string): Promise<RoleInfo> {
  const r = await c.query<{
    comment: string | null;
    me: boolean;
    rolsuper: boolean;
    rolcreaterole: boolean;
    rolcreatedb: boolean;
    rolreplication: boolean;
    rolbypassrls: boolean;
    member_of: string[] | null;
  }>(
    `SELECT pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment, r.rolname = current_user AS me,
            r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolbypassrls,
            ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
                   WHERE m.member = r.oid ORDER BY 1) AS member_of
       FROM pg_catalog.pg_roles r WHERE r.rolname = $1`,
    [roleName],
  );
  if (r.rowCount === 0) return { exists: false };
  const row = r.rows[0];
  const attributes: Array<[boolean, string]> = [
    [row.rolsuper, 'SUPERUSER'],
    [row.rolcreaterole, 'CREATEROLE'],
    [row.rolcreatedb, 'CREATEDB'],
    [row.rolreplication, 'REPLICATION'],
    [row.rolbypassrls, 'BYPASSRLS'],
  ];
  const beyond = [...attributes.filter(([has]) => has).map(([, name]) => name), ...(row.member_of ?? []).map((g) => `member of ${g}`)];
  const owner = parseOwnerMarker(row.comment ?? undefined);
  return {
    exists: true,
    ...(row.comment !== null ? { comment: row.comment } : {}),
    ...(owner ? { owner } : {}),
    isCurrentUser: row.me,
    beyondAppRole: beyond,
  };
}

/** Why a role may not be managed by this PostgresRole; `reason` is the condition reason. */
export class RoleConflictError extends Error {
  override readonly name = 'RoleConflictError';
  constructor(readonly reason: 'AlreadyExists' | 'Conflict' | 'AdoptionRefused', message: string) {
    super(message);
  }
}

export interface RoleClaim {
  /** The PostgresRole that wants the role: recorded on it, checked before altering or dropping it. */
  owner: RoleOwner;
  /** The annotation cdk8s-azure.dev/adopt asks to take over a role that exists without this owner's marker. */
  adopt?: boolean;
  /** Whether this PostgresRole's namespace may adopt at all (the cluster admin's choice). */
  mayAdopt?: boolean;
  /**
   * Who else still manages a role marked for `owner`, or undefined when nobody does (that PostgresRole is gone).
   * Without it, any other owner counts as live.
   */
  liveOwner?: (owner: RoleOwner) => string | undefined;
  /**
   * Whether a marker came with the server's data from the server it was restored from, naming the PostgresRole that
   * manages the same role there: the role is this PostgresRole's to manage here (its password is set again).
   */
  restoredFrom?: (owner: RoleOwner) => boolean;
}

export type RoleVerdict = 'create' | 'update' | 'adopt';

/**
 * What may be done with a role for `claim`: create it, update it (ours), adopt it, or nothing (RoleConflictError).
 * Never: the administrator itself, a role another live PostgresRole manages, or a role with rights beyond an app role
 * (even with the adopt annotation).
 */
export function judgeRole(roleName: string, info: RoleInfo, claim: RoleClaim): RoleVerdict {
  if (!info.exists) return 'create';
  if (info.isCurrentUser) {
    throw new RoleConflictError('Conflict', `role ${roleName} is the server administrator; a PostgresRole may never manage it`);
  }
  const ours = info.owner?.uid === claim.owner.uid;
  const beyond = info.beyondAppRole ?? [];
  if (ours) {
    if (beyond.includes('SUPERUSER')) throw new RoleConflictError('Conflict', `role ${roleName} has been made a superuser; it cannot be managed as an app role`);
    return 'update';
  }
  if (info.owner && claim.restoredFrom?.(info.owner)) {
    if (beyond.includes('SUPERUSER')) throw new RoleConflictError('Conflict', `role ${roleName} has been made a superuser; it cannot be managed as an app role`);
    return 'update';
  }
  if (info.owner) {
    const holder = claim.liveOwner ? claim.liveOwner(info.owner) : `PostgresRole uid=${info.owner.uid}`;
    if (holder) throw new RoleConflictError('Conflict', `role ${roleName} is managed by ${holder}; it is never taken over, with or without ${ADOPT}`);
  }
  const exists = `role ${roleName} already exists on the server and is not managed by this PostgresRole`;
  if (!claim.adopt) {
    throw new RoleConflictError('AlreadyExists', `${exists}; to manage it from here (its password will be reset), add the annotation ${ADOPT}: "true"`);
  }
  if (beyond.length > 0) {
    throw new RoleConflictError('Conflict', `${exists}, and it has rights beyond an app role (${beyond.join(', ')}); it is never adopted`);
  }
  if (claim.mayAdopt === false) {
    throw new RoleConflictError('AdoptionRefused', `${exists}; namespace ${claim.owner.namespace ?? ''} may not adopt (the reconciler's --adoption-namespaces)`);
  }
  return 'adopt';
}

export interface EnsureRoleOptions extends RoleClaim {
  roleName: string;
  /** A password role: its SCRAM verifier is stored. */
  password?: string;
  /** A passwordless role: the object ID of the Entra identity Azure maps it to (no password). */
  entraObjectId?: string;
  connectionLimit: number;
}

/**
 * Creates the login role, or alters it to match (password, connection limit, no extra attributes), when judgeRole
 * allows. The judgement and the change are one transaction under an advisory lock on the role name, so that two
 * reconciles never both decide on a role that is changing. A passwordless role is created by Azure's
 * pgaadauth_create_principal_with_oid (mapped to the identity's object ID, as a service principal, not an admin,
 * without MFA), which only an Entra administrator may call; an existing role is never adopted as passwordless (it
 * would keep whatever sign-in it has).
 */
export async function ensureRole(c: Client, o: EnsureRoleOptions): Promise<{ created: boolean; adopted: boolean }> {
  const role = quoteIdent(o.roleName);
  const entra = o.entraObjectId !== undefined;
  if (entra === (o.password !== undefined)) throw new Error('ensureRole takes a password or an Entra object ID, not both');
  const password = o.password !== undefined ? ` PASSWORD ${quoteLiteral(scramSha256Verifier(o.password))}` : '';
  const limit = Math.trunc(o.connectionLimit);
  const marker = quoteLiteral(ownerMarker(o.owner));
  await c.query('BEGIN');
  try {
    await c.query("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('cdk8s-azure.dev role ' || $1))", [o.roleName]);
    const info = await roleInfo(c, o.roleName);
    const verdict = judgeRole(o.roleName, info, o);
    if (entra && verdict === 'adopt') {
      throw new RoleConflictError('Conflict', `role ${o.roleName} already exists; an existing role is never taken over as a passwordless role: drop it, or choose another roleName`);
    }
    if (verdict === 'create' && entra) {
      await c.query("SELECT pgaadauth_create_principal_with_oid($1, $2, 'service', false, false)", [o.roleName, o.entraObjectId]);
    } else if (verdict === 'create') {
      await c.query(`CREATE ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION CONNECTION LIMIT ${limit}${password}`);
    }
    if (verdict !== 'create' || entra) {
      // ALTER cannot name SUPERUSER/REPLICATION/BYPASSRLS without being superuser; judgeRole let through no role that has them.
      await c.query(`ALTER ROLE ${role} WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT ${limit}${password}`);
    }
    if (info.comment !== ownerMarker(o.owner)) await c.query(`COMMENT ON ROLE ${role} IS ${marker}`);
    await c.query('COMMIT');
    return { created: verdict === 'create', adopted: verdict === 'adopt' };
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * REVOKE ALL ON DATABASE ... FROM PUBLIC: only roles granted CONNECT explicitly can connect. Also revokes CREATE on
 * schema public from PUBLIC (already so from PostgreSQL 15; on 13/14 the schema belongs to Azure's superuser and the
 * administrator may not be allowed to: then it is left as is and `schemaLocked` is false).
 *
 * A REVOKE by a role that may not make it is a warning in PostgreSQL, not an error: what PUBLIC keeps is read back.
 * A database PUBLIC can still connect to (it belongs to someone else than the administrator) is a GrantRefusedError.
 */
export async function lockDownDatabase(c: Client, database: string): Promise<{ schemaLocked: boolean }> {
  await c.query(`REVOKE ALL ON DATABASE ${quoteIdent(database)} FROM PUBLIC`);
  const r = await c.query<{ cur: string; conn: boolean; owner: string }>(
    `SELECT pg_catalog.current_database() AS cur, pg_catalog.has_database_privilege('public', d.oid, 'CONNECT') AS conn,
            pg_catalog.pg_get_userbyid(d.datdba) AS owner
       FROM pg_catalog.pg_database d WHERE d.datname = $1`,
    [database],
  );
  const row = r.rows[0];
  if (row?.conn) {
    throw new GrantRefusedError(`the administrator may not revoke CONNECT on database ${database} from PUBLIC: it belongs to ${row.owner}, who must revoke it or give the database to the administrator`);
  }
  if (row?.cur !== database) return { schemaLocked: false };
  await c.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  const open = await c.query<{ create: boolean }>("SELECT pg_catalog.has_schema_privilege('public', 'public', 'CREATE') AS create");
  return { schemaLocked: !open.rows[0]?.create };
}

/**
 * lockDownDatabase in a transaction of its own, serialized with every other change of the database's privileges
 * (lockDatabasePrivileges): what the PostgresDatabase controller runs, while a PostgresRole's grants may run at once.
 */
export async function lockDownDatabaseSerialized(c: Client, database: string): Promise<{ schemaLocked: boolean }> {
  await c.query('BEGIN');
  try {
    await lockDatabasePrivileges(c, database);
    const locked = await lockDownDatabase(c, database);
    await c.query('COMMIT');
    return locked;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/**
 * Until the transaction ends, no other session of ours changes the privileges of `database` (the client's current
 * one: advisory locks are per database). Two GRANTs or REVOKEs on one database at once fail in PostgreSQL with XX000
 * "tuple concurrently updated" (both rewrite its pg_database row), as a database's lock-down and a role's grants did
 * when a server change requeued both.
 */
async function lockDatabasePrivileges(c: Client, database: string): Promise<void> {
  await c.query("SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('cdk8s-azure.dev database privileges ' || $1))", [database]);
}

/** A GRANT or REVOKE PostgreSQL answered with a warning only: the administrator may not make it there. SQLSTATE 42501. */
export class GrantRefusedError extends Error {
  override readonly name = 'GrantRefusedError';
  readonly code = '42501';
}

export interface GrantOptions {
  roleName: string;
  /** The database the role is for; `c` must be connected to it. */
  database: string;
  privileges?: readonly string[];
}

/**
 * Makes the role's privileges in its database exactly the plan: revokes everything from the role on the database,
 * schema public, the tables and sequences in it the administrator can grant on, and the administrator's default
 * privileges; then grants the plan. One transaction: the role never sees a moment with less (or more).
 * Objects the role owns itself keep their owner's privileges; objects owned by other roles the administrator has
 * no grant option on are left alone (their owners grant on them).
 */
export async function applyGrants(c: Client, o: GrantOptions): Promise<PrivilegePlan> {
  const plan = planPrivileges(o.privileges);
  const role = quoteIdent(o.roleName);
  const db = quoteIdent(o.database);
  const cur = await c.query<{ cur: string }>('SELECT pg_catalog.current_database() AS cur');
  if (cur.rows[0]?.cur !== o.database) throw new Error(`applyGrants must run connected to ${o.database}`);
  await c.query('BEGIN');
  try {
    await lockDatabasePrivileges(c, o.database);
    await lockDownDatabase(c, o.database);
    await c.query(`REVOKE ALL ON DATABASE ${db} FROM ${role}`);
    await c.query(`GRANT ${plan.database.join(', ')} ON DATABASE ${db} TO ${role}`);
    await c.query(`REVOKE ALL ON SCHEMA public FROM ${role}`);
    await c.query(`GRANT ${plan.schema.join(', ')} ON SCHEMA public TO ${role}`);

    // Tables, views, materialized views, foreign and partitioned tables; sequences. Only those the administrator
    // owns (directly or through membership), never those the role owns itself.
    const rels = await c.query<{ name: string; kind: string }>(
      `SELECT c.relname AS name, c.relkind AS kind
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r','v','m','f','p','S')
          AND pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
          AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
        ORDER BY c.relname`,
      [o.roleName],
    );
    for (const rel of rels.rows) {
      const name = `public.${quoteIdent(rel.name)}`;
      if (rel.kind === 'S') {
        await c.query(`REVOKE ALL ON SEQUENCE ${name} FROM ${role}`);
        if (plan.sequences.length > 0) await c.query(`GRANT ${plan.sequences.join(', ')} ON SEQUENCE ${name} TO ${role}`);
      } else {
        await c.query(`REVOKE ALL ON TABLE ${name} FROM ${role}`);
        if (plan.tables.length > 0) await c.query(`GRANT ${plan.tables.join(', ')} ON TABLE ${name} TO ${role}`);
      }
    }
    // Future tables and sequences the administrator creates (e.g. migrations run as the administrator).
    await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public REVOKE ALL ON TABLES FROM ${role}`);
    await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public REVOKE ALL ON SEQUENCES FROM ${role}`);
    if (plan.tables.length > 0) {
      await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT ${plan.tables.join(', ')} ON TABLES TO ${role}`);
    }
    if (plan.sequences.length > 0) {
      await c.query(`ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT ${plan.sequences.join(', ')} ON SEQUENCES TO ${role}`);
    }
    await checkGranted(c, o.roleName, o.database);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return plan;
}

/**
 * GRANT by a role without the grant option is a warning, not an error, in PostgreSQL: check that the role can reach
 * its database and schema public, so that a role is never reported usable when it is not (a database owned by
 * someone else than the administrator).
 */
async function checkGranted(c: Client, roleName: string, database: string): Promise<void> {
  const r = await c.query<{ conn: boolean; usage: boolean; db_owner: string; schema_owner: string }>(
    `SELECT pg_catalog.has_database_privilege($1, $2, 'CONNECT') AS conn, pg_catalog.has_schema_privilege($1, 'public', 'USAGE') AS usage,
            (SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $2) AS db_owner,
            (SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = 'public') AS schema_owner`,
    [roleName, database],
  );
  const row = r.rows[0];
  if (!row.conn) {
    throw new GrantRefusedError(`the administrator may not grant CONNECT on database ${database}: it belongs to ${row.db_owner}, who must grant it or give the database to the administrator`);
  }
  if (!row.usage) {
    throw new GrantRefusedError(`the administrator may not grant USAGE on schema public of database ${database}: it belongs to ${row.schema_owner}`);
  }
}

export type DropOutcome = 'dropped' | 'absent' | 'notOwned';

/**
 * Drops a role we manage: no new logins, its sessions terminated, what it owns in its database reassigned to the
 * administrator (data is kept), its remaining privileges and default privileges there dropped, then DROP ROLE.
 * `c` should be connected to the role's database (or any database when that one is gone). A role without our marker
 * is never dropped.
 */
export async function dropRole(c: Client, roleName: string, ownerUid: string): Promise<DropOutcome> {
  const info = await roleInfo(c, roleName);
  if (!info.exists) return 'absent';
  if (info.owner?.uid !== ownerUid || info.isCurrentUser) return 'notOwned';
  const role = quoteIdent(roleName);
  await c.query(`ALTER ROLE ${role} WITH NOLOGIN`);
  // Membership lets a non-superuser administrator terminate its sessions and REASSIGN/DROP OWNED.
  const member = await c.query<{ m: boolean }>("SELECT pg_catalog.pg_has_role(current_user, $1, 'USAGE') AS m", [roleName]);
  if (!member.rows[0]?.m) await c.query(`GRANT ${role} TO CURRENT_USER`);
  await c.query('SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()', [roleName]);
  await c.query(`REASSIGN OWNED BY ${role} TO CURRENT_USER`);
  await c.query(`DROP OWNED BY ${role}`);
  await c.query(`DROP ROLE ${role}`);
  return 'dropped';
}

/**
 * Makes `member` a member of `role` when it is not one (INHERIT): the reconciler's Entra administrator then holds
 * the rights of the password administrator on what it owns (databases Azure created as it, grants it made), which it
 * needs once password sign-in is off. Returns whether it granted.
 */
export async function ensureMembership(c: Client, role: string, member: string): Promise<boolean> {
  const r = await c.query<{ m: boolean | null }>(
    `SELECT pg_catalog.pg_has_role(m.oid, r.oid, 'MEMBER') AS m FROM pg_catalog.pg_roles r, pg_catalog.pg_roles m
      WHERE r.rolname = $1 AND m.rolname = $2`,
    [role, member],
  );
  if (r.rowCount === 0) throw new Error(`role ${member} or ${role} does not exist`);
  if (r.rows[0].m) return false;
  await c.query(`GRANT ${quoteIdent(role)} TO ${quoteIdent(member)}`);
  return true;
}

/** The databases `owner` owns (templates aside). */
export async function databasesOwnedBy(c: Client, owner: string): Promise<string[]> {
  const r = await c.query<{ datname: string }>(
    'SELECT d.datname FROM pg_catalog.pg_database d WHERE pg_catalog.pg_get_userbyid(d.datdba) = $1 AND NOT d.datistemplate ORDER BY 1',
    [owner],
  );
  return r.rows.map((row) => row.datname);
}

/** Gives `databases` to `owner` (ALTER DATABASE ... OWNER TO): `c` is signed in as their owner, a member of `owner`. */
export async function giveDatabases(c: Client, databases: readonly string[], owner: string): Promise<void> {
  for (const db of databases) await c.query(`ALTER DATABASE ${quoteIdent(db)} OWNER TO ${quoteIdent(owner)}`);
}
