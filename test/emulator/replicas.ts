/**
 * Read replicas as Azure makes them (createMode Replica): a real PostgreSQL streaming replica of its source. The
 * replica's data directory is a pg_basebackup of the source (-R: standby.signal and primary_conninfo), replicating
 * over TLS as the hidden superuser; then this server's own certificate and address are applied. Its roles,
 * databases and the administrator's password are the source's. Promotion (replica.promoteMode standalone) makes it a
 * standalone read-write server.
 */
import type { PgInstance } from './postgres';
import { SUPERUSER } from './postgres';

/** The replication part of a server's ARM body (properties.replicationRole and properties.replica). */
export function replicationJson(source: string | undefined, promoted: boolean): Record<string, unknown> {
  if (!source || promoted) return { replicationRole: 'Primary', replicaCapacity: 5, replica: { role: 'Primary', capacity: 5 } };
  return {
    replicationRole: 'AsyncReplica',
    replicaCapacity: 0,
    sourceServerResourceId: source,
    replica: { role: 'AsyncReplica', capacity: 0, replicationState: 'Active' },
  };
}

/** Makes `replica`'s data directory a streaming standby of `source` (running), then configures it as its own server. */
export async function initReplica(replica: PgInstance, source: PgInstance): Promise<void> {
  await replica.makeDir();
  // The password goes in the connection string so that -R writes it into primary_conninfo (the standby's own login);
  // no client certificate (libpq would look in the home directory of whoever runs the emulator).
  const conninfo = `host=${source.opts.address} port=${source.opts.port} user=${SUPERUSER} password=${source.superuserPassword} ` +
    `sslmode=require sslcert=${replica.dataDir}/no-client.crt sslkey=${replica.dataDir}/no-client.key application_name=azure_replica`;
  await replica.runTool('pg_basebackup', ['-d', conninfo, '-D', replica.dataDir, '-X', 'stream', '-R', '--no-sync', '-c', 'fast']);
  await replica.configure();
}

/** Whether the instance is still a standby. */
export async function inRecovery(pg: PgInstance): Promise<boolean> {
  const [{ standby }] = await pg.sql('SELECT pg_is_in_recovery() AS standby');
  return standby === true;
}

/** Promotes a standby and waits until it takes writes. */
export async function promote(pg: PgInstance): Promise<void> {
  if (!(await inRecovery(pg))) return;
  await pg.sql('SELECT pg_promote(true, 60)');
}
