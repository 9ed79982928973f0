/**
 * Extensions as Azure has them: the server administrator (not a superuser, a member of azure_pg_admin) may create an
 * extension only when the server parameter azure.extensions lists it, and then it is created as if by a superuser.
 *
 * - pgextwlist (Debian's postgresql-15-pgextwlist), preloaded in every session, runs CREATE/DROP EXTENSION of the
 *   extensions it lists with superuser rights; it lists every extension installed on this machine.
 * - An event trigger in every database (ddl_command_end, so the extension's name is known) fails the command with
 *   Azure's error when azure.extensions does not list the extension; the transaction rolls back with it. It reads the
 *   value from the configuration files (pg_file_settings), so a session's own SET cannot widen it.
 * - azure.extensions is written with ALTER SYSTEM, so `SHOW azure.extensions` answers as on Azure.
 *
 * A name not installed on this machine at all gets pgextwlist's own error ("is not whitelisted").
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PgInstance } from './postgres';

const SCHEMA = 'azure_allowlist';

/** The server parameter that holds the allow-list. */
export const EXTENSIONS_PARAMETER = 'azure.extensions';

/** postgresql.conf settings of every emulated server: pgextwlist and the extensions installed here. */
export async function extensionSettings(binDir: string): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)(join(binDir, 'pg_config'), ['--sharedir']);
  const controls = await readdir(join(stdout.trim(), 'extension')).catch(() => [] as string[]);
  const installed = controls.filter((f) => f.endsWith('.control')).map((f) => f.slice(0, -'.control'.length)).sort();
  return {
    'session_preload_libraries': "'pgextwlist'",
    'extwlist.extensions': `'${installed.join(',')}'`,
    'azure.extensions': "''",
  };
}

/** The allow-list check in one database (run as the superuser; idempotent). */
export function allowListTriggerSql(): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`,
    `REVOKE ALL ON SCHEMA ${SCHEMA} FROM PUBLIC`,
    `CREATE OR REPLACE FUNCTION ${SCHEMA}.check_extension() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
       SET search_path = pg_catalog AS $fn$
     DECLARE
       allowed text[];
       created record;
     BEGIN
       IF (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN RETURN; END IF;
       SELECT coalesce(string_to_array(replace(lower(setting), ' ', ''), ','), '{}') INTO allowed
         FROM pg_file_settings WHERE name = 'azure.extensions' AND error IS NULL ORDER BY seqno DESC LIMIT 1;
       FOR created IN SELECT object_identity FROM pg_event_trigger_ddl_commands() WHERE object_type = 'extension' LOOP
         IF NOT (lower(created.object_identity) = ANY (coalesce(allowed, '{}'))) THEN
           RAISE EXCEPTION 'extension "%" is not allow-listed for "azure_pg_admin" users in Azure Database for PostgreSQL', created.object_identity
             USING ERRCODE = '0A000', HINT = 'to see the full allow list of extensions, please run: "show azure.extensions;"';
         END IF;
       END LOOP;
     END
     $fn$`,
    `REVOKE ALL ON FUNCTION ${SCHEMA}.check_extension() FROM PUBLIC`,
    `DO $do$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'azure_extension_allowlist') THEN
         CREATE EVENT TRIGGER azure_extension_allowlist ON ddl_command_end WHEN TAG IN ('CREATE EXTENSION', 'ALTER EXTENSION')
           EXECUTE FUNCTION ${SCHEMA}.check_extension();
       END IF;
     END $do$`,
  ];
}

/** Installs the check in the databases that exist at server creation (template1 passes it to CREATE DATABASE's copies). */
export async function installAllowList(pg: PgInstance, databases: readonly string[]): Promise<void> {
  for (const database of databases) await pg.sql(allowListTriggerSql(), database);
}

/** Writes azure.extensions (undefined: back to Azure's default, none). */
export async function setAllowList(pg: PgInstance, value: string | undefined): Promise<void> {
  await pg.alterSystem('azure.extensions', value ?? '');
  await pg.reload();
}
