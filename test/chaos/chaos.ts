/**
 * The chaos suite (docs/reliability.md): crashes, control-plane restarts, Azure faults, hostile input and Secret
 * hygiene, against the real control plane, the ARM emulator with real PostgreSQL and the reconciler bundle.
 *
 *   npm run chaos                  the full run (see docs/reliability.md for its size and duration)
 *   npm run chaos -- --quick       a bounded run (CI)
 *   npm run chaos -- --only=crashes,hostile   some scenarios only
 *   npm run chaos -- --crash-servers=20 --crash-kills=30   another size of crash run
 *
 * Prints every check, writes the figures as JSON (test/chaos/results/ for a full run, .cluster/chaos/ for --quick)
 * and exits 1 when a check failed. Starts the test cluster if needed and leaves it running, as the integration tests
 * do (npm run cluster:stop).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLUSTER_DIR } from '../cluster/cluster';
import { Emulator, startEmulator, trustEmulatorCa } from '../emulator';
import { azureFaults } from './azure-faults';
import { controlPlane } from './control-plane';
import { crashes } from './crashes';
import { hostileInput } from './hostile';
import { secretHygiene } from './hygiene';
import { Checks, log, ReconcilerSupervisor, RequestRecorder } from './stack';
import { buildBundle, ensureCluster, installReconcilerManifests, registerWorkloadIdentity, ROOT } from '../integration/harness';

const SCENARIOS = ['crashes', 'control-plane', 'azure-faults', 'hostile', 'hygiene'] as const;

const FULL = {
  crashes: {
    servers: 50,
    // One kill every 1-3 s: on a quiet machine the 50 servers converge in under 90 s, and kills spaced wider were
    // not all spent before their phase ended.
    kills: [16, 8, 12] as [number, number, number],
    minKills: 30,
    killIntervalMs: [1000, 3000] as [number, number],
    timeoutMs: 40 * 60_000,
  },
  controlPlane: { servers: 6, apiserverRestarts: 3, etcdRestarts: 3, watchCuts: 10 },
  azureFaults: { servers: 10, databasesPerServer: 3, faultWindowMs: 5 * 60_000, timeoutMs: 15 * 60_000 },
  hostile: { stride: 1 },
};
const QUICK = {
  crashes: {
    servers: 5, kills: [2, 1, 2] as [number, number, number], minKills: 4, killIntervalMs: [1500, 5000] as [number, number], timeoutMs: 8 * 60_000,
  },
  controlPlane: { servers: 2, apiserverRestarts: 1, etcdRestarts: 1, watchCuts: 3 },
  azureFaults: { servers: 2, databasesPerServer: 2, faultWindowMs: 40_000, timeoutMs: 8 * 60_000 },
  hostile: { stride: 2 },
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const unknown = only?.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown?.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  const run = (s: typeof SCENARIOS[number]) => !only || only.includes(s);
  const base = quick ? QUICK : FULL;
  // --crash-servers=N --crash-kills=N: a smaller (or larger) crash run than the full one, kills spread 45/25/30 %.
  const flag = (name: string) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? NaN);
  const crashServers = flag('crash-servers');
  const crashKills = flag('crash-kills');
  const size = {
    ...base,
    crashes: {
      ...base.crashes,
      ...(crashServers > 0 ? { servers: crashServers } : {}),
      ...(crashKills > 0 ? {
        kills: [Math.ceil(crashKills * 0.45), Math.ceil(crashKills * 0.25), Math.ceil(crashKills * 0.3)] as [number, number, number],
        minKills: crashKills,
      } : {}),
    },
  };
  const started = Date.now();
  const checks = new Checks();
  const figures: Record<string, unknown> = {};
  const logs: string[] = [];

  log(`chaos ${quick ? 'quick' : 'full'} run: ${(only ?? SCENARIOS).join(', ')}`);
  await ensureCluster();
  buildBundle();
  // Each emulated server's operations take a little while, so that kills and restarts land while they are in flight.
  // Faults, crashes and hostile input, not network access: every loopback client may connect (no firewall rules).
  const emulator: Emulator = await startEmulator({ provisioningDelayMs: 3000, operationPollIntervalSeconds: 1, enforceFirewall: false });
  const recorder = new RequestRecorder(emulator);
  // Interrupted: no reconciler or PostgreSQL of the run may outlive it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping the reconcilers and the emulator`);
      void Promise.all([...ReconcilerSupervisor.all].map((s) => s.current?.stop('SIGKILL')))
        .then(() => emulator.stop())
        .finally(() => process.exit(130));
    });
  }
  try {
    trustEmulatorCa(emulator);
    installReconcilerManifests(emulator.subscriptionId);
    const clientId = registerWorkloadIdentity(emulator);

    if (run('crashes')) {
      const r = await crashes(emulator, clientId, checks, size.crashes);
      figures.crashes = { ...r.figures, secrets: undefined };
      logs.push(r.logs);
      figures.secretsIssued = r.figures.secrets;
    }
    if (run('control-plane')) {
      const r = await controlPlane(emulator, clientId, checks, size.controlPlane);
      figures.controlPlane = r.figures;
      logs.push(r.logs);
    }
    if (run('azure-faults')) {
      const r = await azureFaults(emulator, clientId, checks, recorder, size.azureFaults);
      figures.azureFaults = r.figures;
      logs.push(r.logs);
    }
    if (run('hostile')) {
      const r = await hostileInput(emulator, clientId, checks, recorder, size.hostile);
      figures.hostile = r.figures;
      logs.push(r.logs);
    }
    if (run('hygiene')) {
      figures.hygiene = await secretHygiene(emulator, checks, logs, (figures.secretsIssued ?? []) as Record<string, string>[]);
    }
  } catch (e) {
    checks.check(false, `the run finished (${(e as Error).stack ?? e})`);
  } finally {
    recorder.stop();
    for (const s of ReconcilerSupervisor.all) await s.stop();
    await emulator.stop();
  }
  delete figures.secretsIssued;

  const seconds = Math.round((Date.now() - started) / 1000);
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const date = new Date().toISOString().slice(0, 10);
  const result = {
    suite: 'chaos',
    quick,
    commit,
    argv,
    sizes: size,
    date,
    seconds,
    scenarios: only ?? SCENARIOS,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), loadavg: os.loadavg() },
    passed: checks.passed,
    failures: checks.failures,
    figures,
  };
  const dir = quick ? path.join(CLUSTER_DIR, 'chaos') : path.join(ROOT, 'test', 'chaos', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `chaos${quick ? '-quick' : ''}-${commit}-${date}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  log(`${checks.passed.length} checks passed, ${checks.failures.length} failed, in ${seconds} s; figures in ${path.relative(ROOT, file)}`);
  for (const f of checks.failures) log(`FAILED: ${f}`);
  process.exitCode = checks.failures.length ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
}).finally(() => {
  // pg pools, timers of the harness: nothing else must keep the run alive once it reported.
  setTimeout(() => process.exit(), 2000).unref();
});
