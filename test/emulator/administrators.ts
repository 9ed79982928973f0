/**
 * Microsoft Entra sign-in inside each emulated server: Azure's pgaadauth pieces made of plain SQL, and the
 * administrators child resource (`flexibleServers/{name}/administrators/{objectId}`).
 *
 * Azure keeps the role -> Entra object mapping in security labels of its pgaadauth extension; PostgreSQL needs a C
 * label provider for those, so here the mapping is a table, `pgaadauth.principals` in the `postgres` database, keyed
 * by the role's oid (a role dropped and made again under the same name is not mapped). Create Entra roles from the
 * `postgres` database, as Azure's documentation does.
 */
import { ApiError, invalidParameter } from './errors';
import { PgInstance, quoteIdent, quoteLiteral } from './postgres';

export type PrincipalType = 'User' | 'Group' | 'ServicePrincipal' | 'Unknown';

export interface EntraAdministrator {
  objectId: string;
  principalName: string;
  principalType: PrincipalType;
  tenantId: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** pgaadauth's objectType for an ARM principalType. */
function objectTypeOf(t: PrincipalType): string {
  return t === 'Group' ? 'group' : t === 'User' ? 'user' : 'service';
}

/** The SQL that gives a new server Azure's pgaadauth functions (run as the hidden superuser, in `postgres`). */
export const PGAADAUTH_SQL = [
  'CREATE SCHEMA pgaadauth',
  'REVOKE ALL ON SCHEMA pgaadauth FROM PUBLIC',
  `CREATE TABLE pgaadauth.principals (
    roleid oid PRIMARY KEY,
    objectid text NOT NULL,
    objecttype text NOT NULL CHECK (objecttype IN ('user', 'group', 'service')),
    isadmin boolean NOT NULL,
    ismfa boolean NOT NULL
  )`,
  // The tenant of the server's Entra sign-in (pgaadauth_list_principals answers it), kept by setPgaadauthTenant.
  'CREATE TABLE pgaadauth.tenant (tenantid text NOT NULL)',
  // SECURITY DEFINER (owned by the superuser): an Entra administrator has CREATEROLE but may not write the mapping.
  `CREATE FUNCTION public.pgaadauth_create_principal_with_oid(rolename text, objectid text, objecttype text, isadmin boolean, ismfa boolean)
  RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  DECLARE
    kind text := lower(objecttype);
  BEGIN
    IF NOT EXISTS (SELECT 1 FROM pgaadauth.principals p JOIN pg_authid a ON a.oid = p.roleid WHERE a.rolname = session_user AND p.isadmin) THEN
      RAISE EXCEPTION 'permission denied to create Microsoft Entra principal "%"', rolename USING ERRCODE = '42501',
        HINT = 'Only Microsoft Entra administrators of the server can create Microsoft Entra roles.';
    END IF;
    IF kind IS NULL OR kind NOT IN ('user', 'group', 'service') THEN
      RAISE EXCEPTION 'invalid objectType "%"', objecttype USING ERRCODE = '22023', HINT = 'objectType is one of user, group, service.';
    END IF;
    IF objectid IS NULL OR objectid !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
      RAISE EXCEPTION 'invalid objectId "%"', objectid USING ERRCODE = '22023', HINT = 'objectId is the GUID of the Microsoft Entra object.';
    END IF;
    EXECUTE format('CREATE ROLE %I WITH LOGIN', rolename);
    IF isadmin THEN
      EXECUTE format('ALTER ROLE %I WITH CREATEROLE CREATEDB', rolename);
      EXECUTE format('GRANT azure_pg_admin TO %I', rolename);
    END IF;
    INSERT INTO pgaadauth.principals VALUES ((SELECT a.oid FROM pg_authid a WHERE a.rolname = rolename), lower(objectid), kind, isadmin, coalesce(ismfa, false));
    RETURN format('Created role for "%s"', rolename);
  END
  $fn$`,
  `CREATE FUNCTION public.pgaadauth_list_principals(isadminvalue boolean)
  RETURNS TABLE (rolname name, "principalType" text, "objectId" text, "tenantId" text, "isMfa" integer, "isAdmin" integer)
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT a.rolname, p.objecttype, p.objectid, (SELECT t.tenantid FROM pgaadauth.tenant t), p.ismfa::integer, p.isadmin::integer
    FROM pgaadauth.principals p JOIN pg_authid a ON a.oid = p.roleid
    WHERE p.isadmin OR NOT isadminvalue
    ORDER BY a.rolname
  $fn$`,
  'REVOKE ALL ON FUNCTION public.pgaadauth_list_principals(boolean) FROM PUBLIC',
  'GRANT EXECUTE ON FUNCTION public.pgaadauth_list_principals(boolean) TO azure_pg_admin',
  'REVOKE ALL ON FUNCTION public.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean) FROM PUBLIC',
  'GRANT EXECUTE ON FUNCTION public.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean) TO azure_pg_admin',
];

/** Installs pgaadauth's functions (after the admin role layout exists), for Entra sign-in from `tenantId`. */
export async function installPgaadauth(pg: PgInstance, tenantId: string): Promise<void> {
  await pg.sql([...PGAADAUTH_SQL, `INSERT INTO pgaadauth.tenant VALUES (${quoteLiteral(tenantId)})`]);
}

/** Records the tenant the server's Entra sign-in uses (authConfig.tenantId, else the subscription's). */
export async function setPgaadauthTenant(pg: PgInstance, tenantId: string): Promise<void> {
  await pg.sql(`UPDATE pgaadauth.tenant SET tenantid = ${quoteLiteral(tenantId)}`);
}

/** The Entra object id a role is mapped to (undefined: none). */
export async function objectIdOfRole(pg: PgInstance, role: string): Promise<string | undefined> {
  const rows = await pg.sql(`SELECT p.objectid FROM pgaadauth.principals p JOIN pg_authid a ON a.oid = p.roleid WHERE a.rolname = ${quoteLiteral(role)}`);
  return rows.length ? String(rows[0].objectid) : undefined;
}

/**
 * What the administrators PUT does inside PostgreSQL: a login role named principalName, mapped to the object id, with
 * Azure's admin rights (member of azure_pg_admin, CREATEROLE, CREATEDB). A PUT for a known object id with another
 * principalName renames its role.
 */
export async function upsertAdministratorRole(pg: PgInstance, a: EntraAdministrator): Promise<void> {
  const rows = await pg.sql(`SELECT a.rolname FROM pgaadauth.principals p JOIN pg_authid a ON a.oid = p.roleid
    WHERE p.objectid = ${quoteLiteral(a.objectId.toLowerCase())} AND p.isadmin`);
  const role = quoteIdent(a.principalName);
  if (rows.length) {
    if (rows[0].rolname !== a.principalName) await pg.sql(`ALTER ROLE ${quoteIdent(String(rows[0].rolname))} RENAME TO ${role}`);
    return;
  }
  await pg.sql([
    'BEGIN',
    `CREATE ROLE ${role} WITH LOGIN CREATEROLE CREATEDB INHERIT NOREPLICATION`,
    `GRANT azure_pg_admin TO ${role}`,
    `INSERT INTO pgaadauth.principals SELECT oid, ${quoteLiteral(a.objectId.toLowerCase())}, ${quoteLiteral(objectTypeOf(a.principalType))}, true, false
      FROM pg_authid WHERE rolname = ${quoteLiteral(a.principalName)}`,
    'COMMIT',
  ]);
}

/**
 * What the administrators DELETE does inside PostgreSQL: the role is dropped; when it still owns objects (DROP ROLE
 * refuses), it loses its admin rights, its mapping and LOGIN instead. Azure's documentation does not say which it
 * does; dropping is what its portal's "remove administrator" appears to do.
 */
export async function removeAdministratorRole(pg: PgInstance, a: EntraAdministrator): Promise<void> {
  const rows = await pg.sql(`SELECT a.rolname FROM pgaadauth.principals p JOIN pg_authid a ON a.oid = p.roleid
    WHERE p.objectid = ${quoteLiteral(a.objectId.toLowerCase())} AND p.isadmin`);
  for (const r of rows) {
    const role = quoteIdent(String(r.rolname));
    try {
      await pg.sql(`DROP ROLE ${role}`);
    } catch {
      await pg.sql([
        `REVOKE azure_pg_admin FROM ${role}`,
        `ALTER ROLE ${role} WITH NOLOGIN NOCREATEROLE NOCREATEDB`,
        `DELETE FROM pgaadauth.principals WHERE roleid = (SELECT oid FROM pg_authid WHERE rolname = ${quoteLiteral(String(r.rolname))})`,
      ]);
    }
  }
}

/** The body of an administrators PUT, validated; `tenantId` defaults to the server's tenant. */
export function validateAdministrator(objectId: string, body: Record<string, unknown>, defaultTenant: string): EntraAdministrator {
  if (!GUID.test(objectId)) throw invalidParameter('objectId', `The object id '${objectId}' is not a GUID.`);
  const p = body.properties;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalidParameter('properties');
  const props = p as Record<string, unknown>;
  const types: PrincipalType[] = ['User', 'Group', 'ServicePrincipal', 'Unknown'];
  const principalType = types.find((t) => typeof props.principalType === 'string' && t.toLowerCase() === props.principalType.toLowerCase());
  if (!principalType) throw invalidParameter('principalType');
  if (typeof props.principalName !== 'string' || !props.principalName.trim()) throw invalidParameter('principalName');
  if (props.principalName.length > 63) throw invalidParameter('principalName', 'The principal name is longer than 63 characters (a PostgreSQL role name).');
  if (props.tenantId !== undefined && (typeof props.tenantId !== 'string' || !GUID.test(props.tenantId))) throw invalidParameter('tenantId');
  const tenantId = (props.tenantId as string | undefined) ?? defaultTenant;
  return { objectId: objectId.toLowerCase(), principalName: props.principalName, principalType, tenantId };
}

/**
 * Azure refuses administrators while Microsoft Entra sign-in is off (its documentation: enable Entra authentication,
 * then add administrators). The code and text are not in Azure's documentation nor in our recordings; these are the
 * emulator's, in Azure's style.
 */
export function entraDisabledError(serverName: string): ApiError {
  return new ApiError(400, 'AadAuthOperationCannotBePerformedWhenAadAuthIsDisabled',
    `Microsoft Entra authentication is disabled on server '${serverName}'. Enable it (properties.authConfig.activeDirectoryAuth) before adding Microsoft Entra administrators.`);
}

export function administratorJson(serverId: string, a: EntraAdministrator, systemData: unknown): Record<string, unknown> {
  return {
    properties: { principalType: a.principalType, principalName: a.principalName, objectId: a.objectId, tenantId: a.tenantId },
    systemData,
    id: `${serverId}/administrators/${a.objectId}`,
    name: a.objectId,
    type: 'Microsoft.DBforPostgreSQL/flexibleServers/administrators',
  };
}
