/**
 * The reconciler's footprint on the real stack (control plane + ARM emulator with real PostgreSQL + the bundle with
 * workload identity): RSS at idle after start, with N servers Ready (each with databases, roles and a firewall
 * rule), and peak; the time until all are Ready; the ARM requests it took, by type.
 *
 *   tsx bench/reconciler-footprint.ts                     # 10 servers x (2 databases, 2 roles, 1 firewall rule)
 *   tsx bench/reconciler-footprint.ts --servers 2         # small first
 *   tsx bench/reconciler-footprint.ts --cpu-prof          # also write a CPU profile of the reconciler
 *
 * Targets: idle RSS < 100 MiB, peak < 150 MiB (ASO's controller requests 256Mi); also compared with the memory
 * request and limit the Reconciler construct sets by default.
 */
import './isolate';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import { AzurePostgres, Reconciler } from '../src';
import { environment, loadAverage, mib, parseFlags, report, ROOT, seconds, sleep } from './common';
import { apply, armRequestSummary, cpuSeconds, kubectl, memoryNow, metricSum, readyCounts, remaining, startStack, Stack, waitReady } from './stack';

const HELP = `
Usage: tsx bench/reconciler-footprint.ts [flags]
  --servers N               PostgresServers (default 10; each is a real PostgreSQL: keep it <= 10)
  --databases N             databases per server (default 2)
  --roles N                 roles per server, spread over its databases (default 2)
  --firewall-rules N        firewall rules per server (default 1)
  --idle-seconds N          idle time after /readyz before the idle measurement (default 30)
  --settle-seconds N        time after all Ready before the steady measurement (default 30)
  --provisioning-delay MS   emulator: minimum duration of each long-running operation (default 5000)
  --timeout-minutes N       give up waiting for Ready after this long and report what completed (default 15)
  --delete BOOL             delete everything at the end and time it (default true)
  --cpu-prof                write a CPU profile of the reconciler to bench/out/ (adds overhead: not for the numbers)
  --source-maps             run with NODE_OPTIONS=--enable-source-maps (how the image is debugged; it runs without)
  --node-options STRING     more NODE_OPTIONS for the reconciler (diagnosis, e.g. "--max-semi-space-size=2")
  --heap-snapshot           write heap snapshots of the reconciler at idle and at all-Ready (inflates RSS after them)
  --no-build                do not rebuild bundle/reconciler.js
  --shared-cluster          use the repository's control plane (.cluster/) instead of a benchmark-only one
`;

const argv = process.argv.slice(2).filter((a) => a !== '--shared-cluster').map((a) => (a === '--no-build' ? '--build=false' : a));
const flags = parseFlags(argv, {
  servers: 10, databases: 2, roles: 2, firewallRules: 1, idleSeconds: 30, settleSeconds: 30, provisioningDelay: 5000,
  timeoutMinutes: 15, delete: true, cpuProf: false, heapSnapshot: false, sourceMaps: false, nodeOptions: '', build: true,
}, HELP);

const NS = 'bench-footprint';
const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function appYaml(): string {
  const app = new App();
  const chart = new Chart(app, 'footprint', { namespace: NS });
  for (let s = 0; s < flags.servers; s++) {
    const server = new AzurePostgres(chart, `srv${s}`, {
      metadata: { namespace: NS },
      resourceGroup: { name: 'bench-footprint-rg', create: true },
      location: 'westeurope',
      parameters: { log_min_duration_statement: '500' },
    });
    for (let f = 0; f < flags.firewallRules; f++) {
      server.addFirewallRule(`egress-${f}`, { startIpAddress: `198.51.100.${10 + f}`, endIpAddress: `198.51.100.${10 + f}` });
    }
    const dbs = Array.from({ length: flags.databases }, (_, d) => server.addDatabase(`app${d}`));
    for (let r = 0; r < flags.roles; r++) server.addRole(`app${r}_user`, { database: dbs[r % dbs.length] });
  }
  return app.synthYaml();
}

/** The V8 heap and external memory as the reconciler reports them on /metrics (prom-client's nodejs_* metrics). */
function heapOf(metrics: string) {
  return {
    heapUsedMiB: mib(metricSum(metrics, 'nodejs_heap_size_used_bytes')),
    heapTotalMiB: mib(metricSum(metrics, 'nodejs_heap_size_total_bytes')),
    externalMiB: mib(metricSum(metrics, 'nodejs_external_memory_bytes')),
  };
}

/** The memory request and limit the Reconciler construct gives the Deployment by default, in MiB. */
function installMemory(): { requestMiB?: number; limitMiB?: number } {
  const app = new App();
  new Reconciler(new Chart(app, 'install'), 'reconciler', { subscriptionId: '00000000-0000-0000-0000-000000000000' });
  const deployment = app.charts[0].toJson().find((o: any) => o.kind === 'Deployment');
  const resources = deployment?.spec?.template?.spec?.containers?.[0]?.resources ?? {};
  const toMiB = (q: unknown) => {
    const m = /^(\d+)(Mi|Gi)$/.exec(String(q ?? ''));
    return m ? Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1) : undefined;
  };
  return { requestMiB: toMiB(resources.requests?.memory), limitMiB: toMiB(resources.limits?.memory) };
}

interface Point {
  at: string;
  tSeconds: number;
  rssMiB: number;
  hwmMiB: number;
  cpuSeconds?: number;
  ready?: number;
}

async function main(): Promise<void> {
  const env = environment();
  const outDir = path.join(ROOT, 'bench', 'out');
  const nodeOptions: string[] = [];
  if (flags.cpuProf || flags.heapSnapshot) mkdirSync(outDir, { recursive: true });
  if (flags.cpuProf) nodeOptions.push('--cpu-prof', `--cpu-prof-dir=${outDir}`);
  if (flags.sourceMaps) nodeOptions.push('--enable-source-maps');
  if (flags.nodeOptions) nodeOptions.push(flags.nodeOptions);
  if (flags.heapSnapshot) nodeOptions.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${outDir}`);
  log(`footprint bench: ${flags.servers} servers; load ${env.loadAtStart}; commit ${env.commit}${env.dirtySrc.length ? ` (+ uncommitted: ${env.dirtySrc.join(', ')})` : ''}`);

  const yaml = appYaml();
  const install = installMemory();
  const objects = yaml.split(/^---$/m).filter((d) => d.trim()).length;

  const stack: Stack = await startStack({
    namespace: NS,
    emulator: { provisioningDelayMs: flags.provisioningDelay, operationPollIntervalSeconds: 1 },
    env: nodeOptions.length ? { NODE_OPTIONS: nodeOptions.join(' ') } : undefined,
    build: flags.build,
    log,
  });
  const onSignal = () => {
    log('interrupted: cleaning up');
    void stack.teardown().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const points: Point[] = [];
  const point = (at: string, ready?: number): Point => {
    const m = memoryNow(stack);
    const p: Point = {
      at, tSeconds: seconds(Date.now() - stack.startedAt), rssMiB: mib(m?.rss ?? NaN), hwmMiB: mib(m?.hwm ?? NaN),
      cpuSeconds: cpuSeconds(stack.pid), ready,
    };
    points.push(p);
    log(`${at}: RSS ${p.rssMiB} MiB, HWM ${p.hwmMiB} MiB, CPU ${p.cpuSeconds} s${ready !== undefined ? `, ${ready}/${objects} Ready` : ''}; load ${loadAverage()}`);
    return p;
  };

  let result: Record<string, unknown> = {};
  let failure: string | undefined;
  try {
    const readyMs = await waitReady(stack);
    log(`reconciler /readyz after ${readyMs} ms`);
    point('ready');
    await sleep(flags.idleSeconds * 1000);
    const idle = point('idle');
    const idleMetrics = await stack.reconciler.metrics();
    const idleHeap = heapOf(idleMetrics);
    if (flags.heapSnapshot) stack.reconciler.process.kill('SIGUSR2');
    const hwmBeforeWork = idle.hwmMiB;

    stack.emulator.admin.resetRequests();
    const applyStart = Date.now();
    apply(yaml);
    log(`applied ${objects} objects`);
    const deadline = applyStart + flags.timeoutMinutes * 60_000;
    let counts = readyCounts(NS);
    let firstServerReadyMs: number | undefined;
    let lastReport = 0;
    while (counts.ready < objects && Date.now() < deadline) {
      if (stack.reconciler.process.exitCode !== null) throw new Error(`reconciler exited ${stack.reconciler.process.exitCode}`);
      await sleep(1000);
      counts = readyCounts(NS);
      if (firstServerReadyMs === undefined && (counts.byKind.PostgresServer?.ready ?? 0) > 0) firstServerReadyMs = Date.now() - applyStart;
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        point(`+${seconds(Date.now() - applyStart)} s`, counts.ready);
        log(`  not Ready: ${JSON.stringify(counts.notReadyReasons)}`);
      }
    }
    const allReadyMs = Date.now() - applyStart;
    const allReady = counts.ready === objects;
    const atReady = point(allReady ? 'all Ready' : 'timed out', counts.ready);
    const peakDuringCreateMiB = Math.max(mib(stack.memory.maxRss), atReady.hwmMiB);
    const armAfterCreate = armRequestSummary(stack.emulator);
    const metricsAtReady = await stack.reconciler.metrics();
    if (flags.heapSnapshot) stack.reconciler.process.kill('SIGUSR2');

    await sleep(flags.settleSeconds * 1000);
    const steady = point('steady');
    const steadyMetrics = await stack.reconciler.metrics();

    let deletion: Record<string, unknown> | undefined;
    if (flags.delete) {
      const delStart = Date.now();
      kubectl(['delete', 'cdk8s-azure', '--all', '-n', NS, '--wait=false'], { check: true });
      let left = remaining(NS);
      while (left > 0 && Date.now() - delStart < flags.timeoutMinutes * 60_000) {
        await sleep(1000);
        left = remaining(NS);
      }
      const afterDelete = point('deleted');
      deletion = { seconds: seconds(Date.now() - delStart), left, rssMiB: afterDelete.rssMiB, hwmMiB: afterDelete.hwmMiB };
    }
    const armTotal = armRequestSummary(stack.emulator);
    const final = memoryNow(stack);

    const idleRss = idle.rssMiB;
    const peak = mib(Math.max(stack.memory.maxRss, final?.hwm ?? 0));
    result = {
      shape: { servers: flags.servers, databasesPerServer: flags.databases, rolesPerServer: flags.roles, firewallRulesPerServer: flags.firewallRules, objects },
      emulator: { provisioningDelayMs: flags.provisioningDelay, throttling: 'ARM defaults (reads 250+25/s, writes 200+10/s, deletes 200+10/s)' },
      startToReadyzMs: readyMs,
      idle: { rssMiB: idleRss, hwmMiB: idle.hwmMiB, ...idleHeap, afterSeconds: flags.idleSeconds },
      create: {
        allReady,
        ready: counts.ready,
        notReady: counts.notReadyReasons,
        allReadySeconds: seconds(allReadyMs),
        firstServerReadySeconds: firstServerReadyMs === undefined ? undefined : seconds(firstServerReadyMs),
        rssAtAllReadyMiB: atReady.rssMiB,
        peakRssMiB: peakDuringCreateMiB,
        armRequests: armAfterCreate,
        reconcilerArmResponses: metricSum(metricsAtReady, 'cdk8s_azure_arm_requests_total'),
        reconcilerArm429: metricSum(metricsAtReady, 'cdk8s_azure_arm_requests_total', { code: '429' }),
        kubeRequests: metricSum(metricsAtReady, 'rest_client_requests_total'),
        reconcileErrors: metricSum(metricsAtReady, 'controller_runtime_reconcile_errors_total'),
        reconciles: metricSum(metricsAtReady, 'controller_runtime_reconcile_total'),
      },
      steady: { rssMiB: steady.rssMiB, ...heapOf(steadyMetrics), afterSeconds: flags.settleSeconds },
      deletion,
      armRequestsTotal: armTotal,
      peakRssMiB: peak,
      hwmBeforeWorkMiB: hwmBeforeWork,
      reconcilerCpuSeconds: cpuSeconds(stack.pid),
      points,
      targets: { idleRssMiB: 100, peakRssMiB: 150 },
      install: { ...install, peakUnderRequest: install.requestMiB !== undefined ? peak < install.requestMiB : undefined, peakUnderLimit: install.limitMiB !== undefined ? peak < install.limitMiB : undefined },
      met: { idle: idleRss < 100, peak: peak < 150 },
      diagnostics: { nodeOptions: nodeOptions.join(' ') || undefined, cpuProf: flags.cpuProf, heapSnapshot: flags.heapSnapshot, outDir: flags.cpuProf || flags.heapSnapshot ? path.relative(ROOT, outDir) : undefined },
    };
  } catch (e) {
    failure = (e as Error).stack ?? String(e);
    log(`FAILED: ${failure}\nreconciler logs (tail):\n${stack.reconciler.logs().slice(-6000)}`);
  } finally {
    const { exitCode } = await stack.teardown();
    result.reconcilerExitCode = exitCode;
  }
  const r = result as any;
  const summary = { bench: 'reconciler-footprint', env, loadAtEnd: loadAverage(), failure, ...result };
  const row = r.create
    ? `| ${env.date.slice(0, 10)} | ${env.commit}${env.dirtySrc.length ? '+dirty' : ''} | ${env.loadAtStart} | ${flags.servers} × (${flags.databases} db, ${flags.roles} roles, ${flags.firewallRules} fw) = ${r.shape.objects} CRs | `
      + `${r.idle.rssMiB} MiB | ${r.create.rssAtAllReadyMiB} MiB | ${r.steady.rssMiB} MiB | ${r.peakRssMiB} MiB | `
      + `${r.create.allReady ? '' : `${r.create.ready}/${r.shape.objects} in `}${r.create.allReadySeconds} s | ${r.create.armRequests.arm} (${r.create.armRequests.throttled429} × 429) | `
      + `${r.deletion ? `${r.deletion.seconds} s` : 'n/a'} | ${r.reconcilerCpuSeconds} s |`
    : `| ${env.date.slice(0, 10)} | ${env.commit} | ${env.loadAtStart} | failed: ${String(failure).split('\n')[0]} |`;
  report('reconciler-footprint', summary, row);
  process.exitCode = failure ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
