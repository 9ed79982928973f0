/**
 * Point-in-time restore as Azure does it: every server archives its WAL and has a base backup from its creation; a
 * restore (createMode PointInTimeRestore) copies the source's base backup, replays the archived WAL up to
 * pointInTimeUTC (recovery_target_time, then promote) and comes up as a new server with the source's data as of then,
 * including its roles and administrator password.
 */
import { join } from 'node:path';
import { quoteLiteral, type PgInstance } from './postgres';

const archiveDir = (pg: PgInstance) => join(pg.opts.dir, 'wal-archive');
const baseBackupDir = (pg: PgInstance) => join(pg.opts.dir, 'base-backup');

/** postgresql.conf settings that archive a server's WAL into its own directory. */
export function archiveSettings(dir: string): Record<string, string> {
  return {
    archive_mode: 'on',
    archive_command: quoteLiteral(`test ! -f ${join(dir, 'wal-archive')}/%f && cp %p ${join(dir, 'wal-archive')}/%f`),
    wal_level: 'replica',
  };
}

/**
 * The archive directory, before PostgreSQL first starts: an archive_command that fails makes the archiver back off
 * for a minute, and a base backup waits for the archiver.
 */
export async function prepareArchive(pg: PgInstance): Promise<void> {
  await pg.runTool('/bin/mkdir', ['-p', archiveDir(pg)]);
}

/** Right after a server is created: the base backup restores start from. */
export async function takeBaseBackup(pg: PgInstance): Promise<void> {
  await prepareArchive(pg);
  await pg.runTool('pg_basebackup', ['-d', `host=${pg.opts.address} port=${pg.opts.port} user=azuresu sslmode=require`, '-D', baseBackupDir(pg),
    '-X', 'stream', '--no-sync', '-c', 'fast'], { PGPASSWORD: pg.superuserPassword });
}

/**
 * Makes sure the source's WAL up to now is in its archive, with a commit at the end (recovery stops at the first commit
 * past the target time, and fails when it never finds one).
 */
export async function archiveUpTo(source: PgInstance): Promise<void> {
  await source.sql('SELECT txid_current()');
  const [{ closed }] = await source.sql('SELECT pg_walfile_name(pg_switch_wal()) AS closed');
  for (let i = 0; i < 400; i++) {
    const [{ last }] = await source.sql('SELECT last_archived_wal AS last FROM pg_stat_archiver');
    if (typeof last === 'string' && last >= String(closed)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the source\'s WAL was not archived in time');
}

/** The restored server's data directory: the source's base backup, replaying its WAL archive up to `time`. */
export async function initRestore(target: PgInstance, source: PgInstance, time: string): Promise<void> {
  await target.makeDir();
  await target.runTool('/bin/cp', ['-a', baseBackupDir(source), target.dataDir]);
  const settings = [
    '',
    '# --- point-in-time restore ---',
    `restore_command = ${quoteLiteral(`cp ${archiveDir(source)}/%f %p`)}`,
    `recovery_target_time = ${quoteLiteral(time.replace('T', ' ').replace('Z', '+00'))}`,
    "recovery_target_action = 'promote'",
    '',
  ].join('\n');
  await target.runTool('/bin/sh', ['-c', `printf '%s' ${shellQuote(settings)} >> ${target.dataDir}/postgresql.conf && touch ${target.dataDir}/recovery.signal`]);
  await target.configure();
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}
