/**
 * Steady state: what the reconciler costs once everything has converged and nothing changes, resyncing every object
 * at a short period. Servers (with server parameters), a database each and firewall rules are created and left to
 * converge; then, over a window of several resync periods, the ARM requests (GETs per resource per resync; server
 * parameters read in one list call, not one GET each), the Kubernetes writes (there should be none) and the
 * reconciler's CPU per resync are measured.
 *
 *   tsx bench/steady-state.ts --quick      # 1 server, 20 rules, resync 10 s (the reconciler's shortest), 30 s window
 *   tsx bench/steady-state.ts              # 2 servers, 100 rules, resync 1 min, 10 min window
 */
import './isolate';
import { App, Chart } from 'cdk8s';
import { AzurePostgres } from '../src';
import { environment, loadAverage, parseFlags, round, seconds, sleep } from './common';
import { type Goal, writeResult } from './goals';
import { cpuSeconds, kubectl, metricSum, readyCounts, startStack, waitReady } from './stack';

const HELP = `
Usage: tsx bench/steady-state.ts [flags]
  --quick                  1 server, 20 rules, resync 10 s (the shortest the reconciler takes), a 30 s window: 3 resyncs
  --servers N              servers (default 2), each with 3 server parameters and one database
  --rules N                firewall rules in all (default 100)
  --resync-seconds N       the reconciler's --resync-period (default 60)
  --window-seconds N       the measured window after convergence (default 600)
  --no-build               do not rebuild bundle/reconciler.js
`;

const argv = process.argv.slice(2).map((a) => (a === '--no-build' ? '--build=false' : a));
const quick = argv.includes('--quick');
const flags = parseFlags(argv.filter((a) => a !== '--quick'), quick
  ? { servers: 1, rules: 20, resyncSeconds: 10, windowSeconds: 30, build: true }
  : { servers: 2, rules: 100, resyncSeconds: 60, windowSeconds: 600, build: true }, HELP);

const NS = 'bench-steady';
const PARAMETERS = { work_mem: '8192', max_connections: '60', log_min_duration_statement: '500' };
const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function manifests(): string {
  const app = new App();
  const chart = new Chart(app, 'steady', { namespace: NS });
  for (let s = 0; s < flags.servers; s++) {
    const server = new AzurePostgres(chart, `srv${s}`, {
      metadata: { namespace: NS },
      resourceGroup: { name: 'bench-steady-rg', create: true },
      location: 'westeurope',
      parameters: PARAMETERS,
    });
    server.addDatabase('app');
    for (let r = s; r < flags.rules; r += flags.servers) {
      server.addFirewallRule(`rule-${r}`, { startIpAddress: `10.1.${r % 256}.1`, endIpAddress: `10.1.${r % 256}.9` });
    }
  }
  return app.synthYaml();
}

/** Kubernetes requests that change something (every method but GET), from the reconciler's metrics. */
function kubeWrites(metrics: string): number {
  return ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((n, method) => n + metricSum(metrics, 'rest_client_requests_total', { method }), 0);
}

async function main(): Promise<void> {
  const env = environment();
  log(`steady-state bench: ${flags.servers} servers, ${flags.rules} rules, resync ${flags.resyncSeconds} s, window ${flags.windowSeconds} s; load ${env.loadAtStart}`);
  const stack = await startStack({
    namespace: NS,
    emulator: { provisioningDelayMs: 500, operationPollIntervalSeconds: 1 },
    // Only this bench's namespace: another bench's reconciler on the same control plane must not take its objects.
    args: [`--resync-period=${flags.resyncSeconds}s`, `--namespaces=${NS}`],
    build: flags.build,
    log,
  });
  let goals: Goal[] = [];
  let data: Record<string, unknown> = {};
  let failure: string | undefined;
  try {
    await waitReady(stack);
    kubectl(['apply', '-f', '-'], { input: manifests(), check: true });
    const t0 = Date.now();
    let c = readyCounts(NS);
    while (c.ready < c.total || c.total === 0) {
      if (Date.now() - t0 > 10 * 60_000) throw new Error(`not converged after 10 min: ${JSON.stringify(c.notReadyReasons)}`);
      await sleep(2000);
      c = readyCounts(NS);
    }
    const resources = c.byKind;
    const armResources = (['PostgresServer', 'PostgresDatabase', 'PostgresFirewallRule'] as const)
      .reduce((sum, kind) => sum + (resources[kind]?.total ?? 0), 0);
    log(`converged in ${seconds(Date.now() - t0)} s: ${JSON.stringify(resources)}; settling one resync period`);
    // Whatever followed convergence (the last polls, the first resyncs) settles before the window.
    await sleep(flags.resyncSeconds * 1000);

    stack.emulator.admin.resetRequests();
    const metricsBefore = await stack.reconciler.metrics();
    const cpuBefore = cpuSeconds(stack.pid)!;
    const w0 = Date.now();
    await sleep(flags.windowSeconds * 1000);
    const windowSeconds = (Date.now() - w0) / 1000;
    const cpuAfter = cpuSeconds(stack.pid)!;
    const metricsAfter = await stack.reconciler.metrics();
    const requests = stack.emulator.admin.requests();

    const armLog = requests.log.filter((l) => !l.resourceType.startsWith('entra/') && l.resourceType !== 'admin');
    const gets = armLog.filter((l) => l.method === 'GET');
    const byType: Record<string, number> = {};
    for (const l of armLog) byType[`${l.method} ${l.resourceType}`] = (byType[`${l.method} ${l.resourceType}`] ?? 0) + 1;
    const parameterGets = gets.filter((l) => /\/configurations\/[^/?]+$/i.test(l.path.split('?')[0])).length;
    const parameterLists = gets.filter((l) => /\/configurations$/i.test(l.path.split('?')[0])).length;
    const reconciles = metricSum(metricsAfter, 'controller_runtime_reconcile_total') - metricSum(metricsBefore, 'controller_runtime_reconcile_total');
    const resyncRounds = windowSeconds / flags.resyncSeconds;
    // The server's parameters are one list call besides its own GET (the allowance): counted apart.
    const getsPerResourcePerResync = round((gets.length - parameterLists) / (armResources * resyncRounds), 2);
    const writes = kubeWrites(metricsAfter) - kubeWrites(metricsBefore);
    const cpu = cpuAfter - cpuBefore;
    const cpuPerResyncMs = round((cpu / resyncRounds) * 1000, 1);
    data = {
      shape: { servers: flags.servers, rules: flags.rules, parameters: Object.keys(PARAMETERS).length, resources },
      resyncSeconds: flags.resyncSeconds,
      windowSeconds: round(windowSeconds, 1),
      resyncRounds: round(resyncRounds, 2),
      reconciles,
      armRequests: armLog.length,
      armRequestsByType: byType,
      armNon200: armLog.filter((l) => l.status >= 300).length,
      parameterGets,
      parameterLists,
      kubeWrites: writes,
      cpuSeconds: round(cpu, 2),
      cpuPerResyncMs,
      cpuPerReconcileMs: reconciles > 0 ? round((cpu / reconciles) * 1000, 2) : undefined,
    };
    goals = [
      {
        goal: 'ARM GETs per resource per resync',
        target: '<= 1',
        value: getsPerResourcePerResync,
        unit: 'GETs',
        met: getsPerResourcePerResync <= 1,
        note: `${gets.length - parameterLists} GETs of ${armResources} ARM resources over ${round(resyncRounds, 2)} resync periods (resync jittered +-10%), besides ${parameterLists} parameter list calls`,
      },
      {
        goal: 'server parameters read in one list call, not one GET each',
        target: '0 per-parameter GETs',
        value: parameterGets,
        unit: 'GETs',
        met: parameterGets === 0,
        note: `${parameterLists} list calls, ${round(parameterLists / (flags.servers * resyncRounds), 2)} per server per resync`,
      },
      { goal: 'Kubernetes writes in steady state', target: '0', value: writes, unit: 'writes', met: writes === 0 },
      { goal: 'reconciler CPU per resync (all resources)', target: 'reported', value: cpuPerResyncMs, unit: 'ms', met: null, note: `${armResources} ARM resources` },
    ];
    if (quick) goals.push({ goal: 'window', target: 'quick run', value: round(windowSeconds, 0), unit: 's', met: null, note: `resync ${flags.resyncSeconds} s instead of 60 s, window ${flags.windowSeconds} s instead of 10 min` });
  } catch (e) {
    failure = (e as Error).stack ?? String(e);
    log(`FAILED: ${failure}\nreconciler logs (tail):\n${stack.reconciler.logs().slice(-4000)}`);
    goals = [{ goal: 'steady state', target: 'a run', value: 'failed', unit: '', met: false, note: String(failure).split('\n')[0] }];
  } finally {
    await stack.teardown();
  }
  writeResult('steady-state', quick, env, goals, { ...data, loadAtEnd: loadAverage(), failure });
  process.exitCode = failure ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
