/**
 * Crashes: the reconciler is SIGKILLed at random moments while servers with a database and a role each are created,
 * updated and deleted. Then: one create per server in Azure, every Secret's password connects, no role whose
 * password differs from its Secret, no orphan in Azure or PostgreSQL.
 */
import { Client } from 'pg';
import type { Emulator } from '../emulator';
import { app, App, applyAll, databaseCr, readyNames, roleCr, serverCr } from './fixtures';
import { azureServers, Checks, connectWithSecret, freshNamespace, log, ReconcilerSupervisor, wipeNamespace } from './stack';
import { kubectl, secretData, waitFor } from '../integration/harness';

export interface CrashOptions {
  readonly servers: number;
  /** Kills per phase: create, update, delete. */
  readonly kills: [number, number, number];
  /** Fewer kills than this (phases that converged before their kills) fail the run. */
  readonly minKills: number;
  /** Range of the random wait between a (re)start and the next kill, ms. */
  readonly killIntervalMs: [number, number];
  readonly timeoutMs: number;
}

export interface CrashFigures {
  servers: number;
  kills: { create: number; update: number; delete: number; total: number };
  phaseSeconds: { create: number; update: number; delete: number };
  serverCreates: { min: number; max: number };
  /** Servers whose create Azure failed (and rolled back), so that a second create was right. */
  createsFailedByAzure: string[];
  duplicateCreates: string[];
  secretsConnected: number;
  rolesChecked: number;
  orphansInAzure: string[];
  unexpectedRoles: string[];
  secrets: Record<string, string>[];
}

const NAMESPACE = 'chaos-crash';

interface CrashResult {
  readonly figures: CrashFigures;
  readonly logs: string;
}

type Phase = { kills: number; seconds: number };

async function phase(name: string, sup: ReconcilerSupervisor, kills: number, opts: CrashOptions, done: () => boolean): Promise<Phase> {
  const started = Date.now();
  const before = sup.kills;
  // The kills are spread over the phase: each waits a random time after the previous (re)start.
  sup.startKilling(opts.killIntervalMs[0], opts.killIntervalMs[1], kills);
  await waitFor(`${name}: every object converged`, () => done(), opts.timeoutMs, 1000).finally(() => sup.stopKilling());
  const n = sup.kills - before;
  const seconds = (Date.now() - started) / 1000;
  log(`crash ${name}: converged in ${seconds.toFixed(1)} s with ${n} SIGKILLs`);
  return { kills: n, seconds };
}

export async function crashes(emulator: Emulator, clientId: string, checks: Checks, opts: CrashOptions): Promise<CrashResult> {
  freshNamespace(NAMESPACE);
  const apps: App[] = Array.from({ length: opts.servers }, (_, i) => app(NAMESPACE, 'crash', i, `chaos-crash-rg-${i % 3}`));
  const sup = new ReconcilerSupervisor(emulator, clientId, 'crash', [`--namespace=${NAMESPACE}`]);
  sup.start();
  const all = (kind: string) => readyNames(kind, NAMESPACE).size === apps.length;

  // Create.
  applyAll(apps.flatMap((a) => [serverCr(a), databaseCr(a), roleCr(a)]));
  const create = await phase('create', sup, opts.kills[0], opts, () => all('postgresservers') && all('postgresdatabases') && all('postgresroles'));

  // Update: a tag on every server (an ARM PATCH) and a connection limit on every role (ALTER ROLE).
  applyAll(apps.flatMap((a) => [serverCr(a, { tags: { chaos: 'updated' } }), roleCr(a, { connectionLimit: 7 })]));
  // Kills a phase had no time for (it converged first) move on to the next phase.
  const update = await phase('update', sup, opts.kills[1] + opts.kills[0] - create.kills, opts, () => all('postgresservers') && all('postgresroles'));

  const figures: CrashFigures = {
    servers: apps.length,
    kills: { create: create.kills, update: update.kills, delete: 0, total: 0 },
    phaseSeconds: { create: create.seconds, update: update.seconds, delete: 0 },
    serverCreates: { min: Infinity, max: 0 },
    createsFailedByAzure: [],
    duplicateCreates: [],
    secretsConnected: 0,
    rolesChecked: 0,
    orphansInAzure: [],
    unexpectedRoles: [],
    secrets: [],
  };

  // Every Secret's password works; each server's roles are exactly what the CRs say, with the limit of the update.
  const creates = emulator.admin.requests().serverCreates;
  // A create whose operation Azure failed (and rolled back: the server is not there) must be sent again; any other
  // second create is a duplicate.
  const operations = ((emulator.admin.resources() as any).operations ?? []) as { resourceId: string; status: string }[];
  const failedCreates = (azureName: string) => operations.filter((o) =>
    o.resourceId.toLowerCase().endsWith(`/flexibleservers/${azureName}`) && (o.status === 'Failed' || o.status === 'Canceled')).length;
  for (const a of apps) {
    const n = creates[a.azureName] ?? 0;
    const failed = failedCreates(a.azureName);
    if (failed) figures.createsFailedByAzure.push(`${a.azureName}: ${n} creates, ${failed} failed in Azure`);
    if (n !== 1 + failed) figures.duplicateCreates.push(`${a.azureName}: ${n} creates, ${failed} failed in Azure`);
    figures.serverCreates.min = Math.min(figures.serverCreates.min, n);
    figures.serverCreates.max = Math.max(figures.serverCreates.max, n);
    const admin = secretData(NAMESPACE, `${a.name}-admin`);
    const role = secretData(NAMESPACE, `${a.name}-app`);
    figures.secrets.push(admin, role);
    try {
      await connectWithSecret(admin, emulator.caCertPem);
      figures.secretsConnected++;
      const user = await connectWithSecret(role, emulator.caCertPem);
      figures.secretsConnected++;
      figures.rolesChecked += user === 'app_user' ? 1 : 0;
      const client = new Client({
        host: admin.host, port: Number(admin.port), user: admin.username, password: admin.password, database: 'postgres', ssl: { ca: emulator.caCertPem },
      });
      await client.connect();
      const roles = (await client.query(
        "select rolname, rolconnlimit from pg_roles where rolcanlogin and rolname not like 'azure%' and rolname <> current_user and rolname <> 'postgres'",
      )).rows;
      await client.end();
      for (const r of roles) {
        if (r.rolname !== 'app_user' || r.rolconnlimit !== 7) figures.unexpectedRoles.push(`${a.azureName}: ${r.rolname} (limit ${r.rolconnlimit})`);
      }
      if (!roles.some((r) => r.rolname === 'app_user')) figures.unexpectedRoles.push(`${a.azureName}: app_user missing`);
    } catch (e) {
      checks.check(false, `crash: ${a.name}'s Secrets connect (${(e as Error).message})`);
    }
  }
  checks.check(figures.duplicateCreates.length === 0, `crash: exactly one create per server in Azure, plus one after each create Azure failed (${
    figures.duplicateCreates.join('; ') || `min ${figures.serverCreates.min}, max ${figures.serverCreates.max}`})`);
  checks.check(figures.secretsConnected === 2 * apps.length, `crash: every Secret's password connects (${figures.secretsConnected}/${2 * apps.length})`);
  checks.check(figures.rolesChecked === apps.length, `crash: every role Secret logs in as its role (${figures.rolesChecked}/${apps.length})`);
  checks.check(figures.unexpectedRoles.length === 0, `crash: no login role other than the CRs', with the updated limit (${figures.unexpectedRoles.join('; ') || 'none'})`);

  // Delete everything; the finalizers go only when Azure is clean.
  kubectl(['delete', 'postgresroles,postgresdatabases,postgresservers', '--all', '-n', NAMESPACE, '--wait=false'], { check: true });
  const gone = () => JSON.parse(kubectl(['get', 'postgresroles,postgresdatabases,postgresservers', '-n', NAMESPACE, '-o', 'json']).stdout).items.length === 0;
  const del = await phase('delete', sup, opts.kills[2] + opts.kills[0] + opts.kills[1] - create.kills - update.kills, opts, gone);
  figures.kills.delete = del.kills;
  figures.phaseSeconds.delete = del.seconds;
  figures.kills.total = sup.kills;

  const servers = new Set(azureServers(emulator).map((s) => s.name));
  figures.orphansInAzure = apps.map((a) => a.azureName).filter((n) => servers.has(n));
  checks.check(figures.orphansInAzure.length === 0, `crash: no orphan server in Azure (${figures.orphansInAzure.join(', ') || 'none'})`);
  checks.check(sup.kills >= opts.minKills, `crash: ${sup.kills} SIGKILLs (create ${create.kills}, update ${update.kills}, delete ${del.kills}; at least ${opts.minKills})`);
  checks.check(!sup.crashed(), 'crash: the reconciler never died by itself');
  const logs = sup.logs();
  await sup.stop();
  wipeNamespace(NAMESPACE);
  return { figures, logs };
}
