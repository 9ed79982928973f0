/**
 * A burst of new resources under ARM's real throttling: N PostgresFirewallRules created at once (spread over a few
 * servers: Azure allows 128 rules per server), the emulator's token buckets at ARM's limits (per subscription and
 * principal: reads 250 burst + 25/s, writes 200 + 10/s, deletes 200 + 10/s). Measures the time until all are Ready,
 * the 429s the emulator served, the ARM requests by type, the floor ARM's buckets put under that time for the
 * requests made, and the reconciler's peak RSS; then the same for deleting them.
 *
 *   tsx bench/arm-burst.ts --quick              # 300 rules on 3 servers
 *   tsx bench/arm-burst.ts                      # 1000 rules on 8 servers
 *
 * Goals (issue 10): all Ready within 1.15x the floor ARM's buckets allow for 1 write and at most 2 reads per rule (for
 * the quick run's 300 rules the read bucket's, and as that floor is short, within it + the operation + 2 s), 0 x 429,
 * at most 2 reads per rule;
 * the k-th rule Ready within k/10 s + the operation's time + 2 s, each rule Ready within the operation's time + 2 s
 * of its PUT (a poll never waits behind creates); p50/p99 time-to-Ready. The same for deleting them. Per-rule times
 * come from a kubectl watch (Ready) and the emulator's request log (the rule's PUT or DELETE).
 */
import './isolate';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import { AzurePostgres } from '../src';
import { DEFAULT_PACING } from '../src/reconciler/azure/throttle';
import { environment, loadAverage, mib, parseFlags, report, ROOT, round, seconds, sleep } from './common';
import { type Goal, p50p99, writeResult } from './goals';
import { armRequestSummary, cpuSeconds, kubectl, memoryNow, metricSum, readyCounts, startStack, Stack, waitReady } from './stack';
import { ReadyWatch } from './watch';

const HELP = `
Usage: tsx bench/arm-burst.ts [flags]
  --quick                   300 rules on 3 servers, 4 minutes at most per phase
  --namespace NAME          the namespace of the run (default bench-burst)
  --count N                 firewall rules created at once (default 1000)
  --servers N               servers they are spread over (default 8; at most 128 rules per server; each is a real PostgreSQL)
  --provisioning-delay MS   emulator: minimum duration of each long-running operation (default 2000, the emulator's default)
  --timeout-minutes N       stop waiting after this long (create, and again delete) and report what completed (default 15)
  --delete BOOL             delete the rules at once afterwards and time that too (default true)
  --cpu-prof                write a CPU profile of the reconciler to bench/out/ (adds overhead: not for the numbers)
  --no-build                do not rebuild bundle/reconciler.js
  --shared-cluster          use the repository's control plane (.cluster/) instead of a benchmark-only one
`;

const argv = process.argv.slice(2).filter((a) => a !== '--shared-cluster').map((a) => (a === '--no-build' ? '--build=false' : a));
const quick = argv.includes('--quick');
const flags = parseFlags(argv.filter((a) => a !== '--quick'), quick
  ? { count: 300, servers: 3, provisioningDelay: 2000, timeoutMinutes: 4, delete: true, cpuProf: false, build: true, namespace: 'bench-burst' }
  : { count: 1000, servers: 8, provisioningDelay: 2000, timeoutMinutes: 15, delete: true, cpuProf: false, build: true, namespace: 'bench-burst' }, HELP);

const NS = flags.namespace;
/** ARM's limits per subscription and principal (the emulator's defaults, set explicitly here). */
const ARM_LIMITS = {
  reads: { burst: 250, perSecond: 25 },
  writes: { burst: 200, perSecond: 10 },
  deletes: { burst: 200, perSecond: 10 },
};
const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

function serversYaml(): { yaml: string; servers: string[] } {
  const app = new App();
  const chart = new Chart(app, 'burst', { namespace: NS });
  const servers: string[] = [];
  for (let s = 0; s < flags.servers; s++) {
    const server = new AzurePostgres(chart, `srv${s}`, {
      metadata: { namespace: NS },
      resourceGroup: { name: 'bench-burst-rg', create: true },
      location: 'westeurope',
    });
    servers.push(server.name);
  }
  return { yaml: app.synthYaml(), servers };
}

/** N raw PostgresFirewallRules, round-robin over the servers, as one kubectl List. */
function rulesJson(servers: string[]): string {
  const items = Array.from({ length: flags.count }, (_, i) => ({
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresFirewallRule',
    metadata: { name: `burst-${String(i).padStart(4, '0')}`, namespace: NS },
    spec: {
      serverRef: { name: servers[i % servers.length] },
      azureName: `burst-${String(i).padStart(4, '0')}`,
      startIpAddress: `10.${(i >> 8) & 255}.${i & 255}.1`,
      endIpAddress: `10.${(i >> 8) & 255}.${i & 255}.254`,
    },
  }));
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

type Cls = 'reads' | 'writes' | 'deletes';

/** Accepted (not 429) ARM requests per throttling class, from the emulator's "METHOD type status" counts. */
function acceptedByClass(byKey: Record<string, number>): Record<Cls, number> {
  const out: Record<Cls, number> = { reads: 0, writes: 0, deletes: 0 };
  for (const [key, n] of Object.entries(byKey)) {
    const [method, type, status] = key.split(' ');
    if (type.startsWith('entra/') || type === 'admin' || status === '429') continue;
    const cls: Cls = method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes';
    out[cls] += n;
  }
  return out;
}

/** 429s per class. */
function throttledByClass(byKey: Record<string, number>): Record<Cls, number> {
  const out: Record<Cls, number> = { reads: 0, writes: 0, deletes: 0 };
  for (const [key, n] of Object.entries(byKey)) {
    const [method, , status] = key.split(' ');
    if (status !== '429') continue;
    out[method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes'] += n;
  }
  return out;
}

/** The shortest time ARM's buckets allow for these accepted requests, starting from full buckets. */
function armFloorSeconds(accepted: Record<Cls, number>): { seconds: number; bindingClass: Cls } {
  let best: { seconds: number; bindingClass: Cls } = { seconds: 0, bindingClass: 'writes' };
  for (const cls of ['reads', 'writes', 'deletes'] as Cls[]) {
    const s = Math.max(0, (accepted[cls] - ARM_LIMITS[cls].burst) / ARM_LIMITS[cls].perSecond);
    if (s > best.seconds) best = { seconds: round(s, 1), bindingClass: cls };
  }
  return best;
}

interface Phase {
  done: number;
  of: number;
  complete: boolean;
  seconds: number;
  kubectlSeconds?: number;
  throttled429: number;
  throttledByClass: Record<Cls, number>;
  acceptedByClass: Record<Cls, number>;
  armFloor: { seconds: number; bindingClass: Cls };
  armRequests: ReturnType<typeof armRequestSummary>;
  timeline: { t: number; done: number; throttled: number; arm: number; rssMiB: number }[];
  peakRssMiB: number;
  notReady?: Record<string, number>;
  perRule: PerRule;
}

/** Per-rule times of one phase, seconds: from the phase's start to done (Ready, or gone), and from its write to done. */
interface PerRule {
  /** Done, seconds after the phase started: p50, p99, max. */
  toDone: ReturnType<typeof p50p99>;
  /** Done, seconds after the rule's own PUT or DELETE reached Azure. */
  writeToDone: ReturnType<typeof p50p99>;
  /** Rules done later than k/10 s + the operation's time + 2 s (k: its place in the burst, from 1). */
  lateForK: number;
  /** The largest lateness (seconds) over that bound; <= 0 when none is late. */
  worstOverK: number;
  /** Rules done later than the operation's time + 2 s after their write. */
  lateAfterWrite: number;
  /**
   * Of those, the rules whose operation ended (write + operation) while ARM's read bucket, replayed from the
   * emulator's log, held fewer than the reconciler's low-water mark of reads: their poll waited for ARM's read
   * tokens, not behind other work.
   */
  lateAfterWriteReadPaced: number;
  /** ARM reads per rule in the phase. */
  readsPerRule: number;
}

function ruleName(i: number): string {
  return `burst-${String(i).padStart(4, '0')}`;
}

/**
 * ARM's read bucket over the phase, replayed from the emulator's log of the reads it accepted (full at `t0`, refilled
 * at ARM's rate): the reads left at a given time.
 */
function readBucketReplay(stack: Stack, t0: number): (at: number) => number {
  const reads = stack.emulator.admin.requests().log
    .filter((e) => (e.method === 'GET' || e.method === 'HEAD') && e.status !== 429 && !e.resourceType.startsWith('entra/') && e.resourceType !== 'admin')
    .map((e) => Date.parse(e.time))
    .sort((a, b) => a - b);
  const { burst, perSecond } = ARM_LIMITS.reads;
  return (at: number) => {
    let tokens = burst;
    let last = t0;
    for (const t of reads) {
      if (t > at) break;
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond) - 1;
      last = t;
    }
    return Math.min(burst, tokens + ((at - last) / 1000) * perSecond);
  };
}

/** Per-rule figures from the watch (`doneAt`) and the emulator's log (each rule's `method` request). */
function perRule(stack: Stack, t0: number, doneAt: Map<string, number>, method: 'PUT' | 'DELETE', reads: number): PerRule {
  const writeAt = new Map<string, number>();
  for (const e of stack.emulator.admin.requests().log) {
    const m = /\/firewallrules\/(burst-\d{4})$/i.exec(e.path.split('?')[0]);
    if (m && e.method === method && e.status < 300 && !writeAt.has(m[1])) writeAt.set(m[1], Date.parse(e.time));
  }
  const opSeconds = flags.provisioningDelay / 1000;
  const readTokens = readBucketReplay(stack, t0);
  const toDone: number[] = [];
  const writeToDone: number[] = [];
  let lateForK = 0;
  let worstOverK = -Infinity;
  let lateAfterWrite = 0;
  let lateAfterWriteReadPaced = 0;
  for (let i = 0; i < flags.count; i++) {
    const done = doneAt.get(ruleName(i));
    if (done === undefined) continue;
    const t = (done - t0) / 1000;
    toDone.push(t);
    const over = t - ((i + 1) / 10 + opSeconds + 2);
    worstOverK = Math.max(worstOverK, over);
    if (over > 0) lateForK++;
    const w = writeAt.get(ruleName(i));
    if (w !== undefined) {
      const d = (done - w) / 1000;
      writeToDone.push(d);
      if (d > opSeconds + 2) {
        lateAfterWrite++;
        if (readTokens(w + opSeconds * 1000) < DEFAULT_PACING.lowWater) lateAfterWriteReadPaced++;
      }
    }
  }
  return {
    toDone: p50p99(toDone),
    writeToDone: p50p99(writeToDone),
    lateForK,
    worstOverK: round(worstOverK, 2),
    lateAfterWrite,
    lateAfterWriteReadPaced,
    readsPerRule: round(reads / flags.count, 2),
  };
}

async function phase(stack: Stack, name: string, start: () => number, doneAt: Map<string, number>, of: number): Promise<Phase> {
  const progress = () => ({ done: doneAt.size, notReady: undefined as Record<string, number> | undefined });
  stack.emulator.admin.resetRequests();
  // Full buckets at the start of the phase, ARM's limits (explicit: the point of this bench).
  stack.emulator.admin.setThrottling(ARM_LIMITS);
  const maxBefore = stack.memory.maxRss;
  stack.memory.maxRss = 0;
  const t0 = Date.now();
  const kubectlMs = start();
  log(`${name}: kubectl took ${kubectlMs} ms for ${of} objects`);
  const deadline = t0 + flags.timeoutMinutes * 60_000;
  const timeline: Phase['timeline'] = [];
  let p = progress();
  let lastLog = 0;
  while (p.done < of && Date.now() < deadline) {
    if (stack.reconciler.process.exitCode !== null) throw new Error(`reconciler exited ${stack.reconciler.process.exitCode}`);
    await sleep(500);
    p = progress();
    if (p.done >= of) break;
    const r = stack.emulator.admin.requests();
    const m = memoryNow(stack);
    timeline.push({ t: seconds(Date.now() - t0), done: p.done, throttled: r.throttled, arm: r.total, rssMiB: mib(m?.rss ?? NaN) });
    if (Date.now() - lastLog > 15_000) {
      lastLog = Date.now();
      log(`${name}: +${seconds(Date.now() - t0)} s: ${p.done}/${of}; ARM requests ${r.total}, 429s ${r.throttled}; RSS ${mib(m?.rss ?? NaN)} MiB; load ${loadAverage()}`);
    }
  }
  const elapsed = Date.now() - t0;
  const r = stack.emulator.admin.requests();
  const accepted = acceptedByClass(r.byKey);
  const peak = Math.max(stack.memory.maxRss, maxBefore);
  stack.memory.maxRss = peak;
  const m = memoryNow(stack);
  return {
    done: p.done,
    of,
    complete: p.done >= of,
    seconds: seconds(elapsed),
    kubectlSeconds: seconds(kubectlMs),
    throttled429: r.throttled,
    throttledByClass: throttledByClass(r.byKey),
    acceptedByClass: accepted,
    armFloor: armFloorSeconds(accepted),
    armRequests: armRequestSummary(stack.emulator),
    timeline,
    peakRssMiB: mib(Math.max(stack.memory.maxRss, m?.hwm ?? 0)),
    notReady: p.done < of ? notDone(stack) : undefined,
    perRule: perRule(stack, t0, doneAt, name === 'create' ? 'PUT' : 'DELETE', accepted.reads),
  };
}

/** Why the rules not done are not (one kubectl get of the namespace). */
function notDone(stack: Stack): Record<string, number> {
  return readyCounts(stack.namespace).notReadyReasons;
}

async function main(): Promise<void> {
  const env = environment();
  const perServer = Math.ceil(flags.count / Math.max(1, flags.servers));
  if (perServer > 128) throw new Error(`--count ${flags.count} over --servers ${flags.servers} is ${perServer} rules per server; Azure allows 128: add servers`);
  const outDir = path.join(ROOT, 'bench', 'out');
  if (flags.cpuProf) mkdirSync(outDir, { recursive: true });
  log(`ARM burst bench: ${flags.count} firewall rules on ${flags.servers} servers; load ${env.loadAtStart}; commit ${env.commit}${env.dirtySrc.length ? ` (+ uncommitted: ${env.dirtySrc.join(', ')})` : ''}`);

  const stack = await startStack({
    namespace: NS,
    emulator: { provisioningDelayMs: flags.provisioningDelay, operationPollIntervalSeconds: 1, throttling: ARM_LIMITS },
    env: flags.cpuProf ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${outDir}` } : undefined,
    // Only this bench's namespace: another bench's reconciler on the same control plane must not take its objects.
    args: [`--namespaces=${NS}`],
    build: flags.build,
    log,
  });
  const onSignal = () => {
    log('interrupted: cleaning up');
    void stack.teardown().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let result: Record<string, unknown> = {};
  let failure: string | undefined;
  try {
    await waitReady(stack);
    const { yaml, servers } = serversYaml();
    kubectl(['apply', '-f', '-'], { input: yaml, check: true });
    const serversStart = Date.now();
    let c = readyCounts(NS);
    while (c.ready < servers.length) {
      if (Date.now() - serversStart > 10 * 60_000) throw new Error(`servers not Ready after 10 min: ${JSON.stringify(c.notReadyReasons)}`);
      await sleep(1000);
      c = readyCounts(NS);
    }
    const serversSeconds = seconds(Date.now() - serversStart);
    const beforeBurst = memoryNow(stack);
    const cpuBefore = cpuSeconds(stack.pid);
    log(`${servers.length} servers Ready in ${serversSeconds} s; RSS ${mib(beforeBurst?.rss ?? NaN)} MiB`);

    const rules = rulesJson(servers);
    const createWatch = await new ReadyWatch('postgresfirewallrules', NS).start();
    const create = await phase(stack, 'create', () => {
      const a = Date.now();
      kubectl(['create', '-f', '-'], { input: rules, check: true, timeoutMs: 600_000 });
      return Date.now() - a;
    }, createWatch.readyAt, flags.count);
    createWatch.stop();
    const cpuAfterCreate = cpuSeconds(stack.pid);
    const metricsAfterCreate = await stack.reconciler.metrics();
    log(`create: ${create.done}/${flags.count} Ready in ${create.seconds} s; 429s ${create.throttled429}; ARM floor ${create.armFloor.seconds} s (${create.armFloor.bindingClass})`);

    let del: Phase | undefined;
    if (flags.delete) {
      const deleteWatch = await new ReadyWatch('postgresfirewallrules', NS).start();
      del = await phase(stack, 'delete', () => {
        const a = Date.now();
        kubectl(['delete', 'postgresfirewallrules', '--all', '-n', NS, '--wait=false'], { check: true, timeoutMs: 600_000 });
        return Date.now() - a;
      }, deleteWatch.deletedAt, flags.count);
      deleteWatch.stop();
      log(`delete: ${del.done}/${flags.count} gone in ${del.seconds} s; 429s ${del.throttled429}`);
    }
    const final = memoryNow(stack);
    result = {
      shape: { count: flags.count, servers: flags.servers, rulesPerServer: perServer },
      emulator: { provisioningDelayMs: flags.provisioningDelay, throttling: ARM_LIMITS },
      serversReadySeconds: serversSeconds,
      rssBeforeBurstMiB: mib(beforeBurst?.rss ?? NaN),
      create,
      createCpuSeconds: cpuBefore !== undefined && cpuAfterCreate !== undefined ? round(cpuAfterCreate - cpuBefore, 2) : undefined,
      reconcilerPacing: {
        armResponses: metricSum(metricsAfterCreate, 'cdk8s_azure_arm_requests_total'),
        arm429Seen: metricSum(metricsAfterCreate, 'cdk8s_azure_arm_requests_total', { code: '429' }),
        reconcileErrors: metricSum(metricsAfterCreate, 'controller_runtime_reconcile_errors_total'),
        reconciles: metricSum(metricsAfterCreate, 'controller_runtime_reconcile_total'),
        kubeRequests: metricSum(metricsAfterCreate, 'rest_client_requests_total'),
      },
      delete: del,
      peakRssMiB: mib(Math.max(stack.memory.maxRss, final?.hwm ?? 0)),
      reconcilerCpuSeconds: cpuSeconds(stack.pid),
    };
  } catch (e) {
    failure = (e as Error).stack ?? String(e);
    log(`FAILED: ${failure}\nreconciler logs (tail):\n${stack.reconciler.logs().slice(-6000)}`);
  } finally {
    const { exitCode } = await stack.teardown();
    result.reconcilerExitCode = exitCode;
  }
  const r = result as any;
  const summary = { bench: 'arm-burst', env, loadAtEnd: loadAverage(), failure, ...result };
  const cell = (p: Phase | undefined) => p
    ? `${p.complete ? '' : `${p.done}/${p.of} in `}${p.seconds} s (ARM floor ${p.armFloor.seconds} s) | ${p.throttled429} | ${p.armRequests.arm}`
    : 'n/a | n/a | n/a';
  const row = r.create
    ? `| ${env.date.slice(0, 10)} | ${env.commit}${env.dirtySrc.length ? '+dirty' : ''} | ${env.loadAtStart} | ${flags.count} rules / ${flags.servers} servers | ${cell(r.create)} | ${cell(r.delete)} | ${r.peakRssMiB} MiB |`
    : `| ${env.date.slice(0, 10)} | ${env.commit} | ${env.loadAtStart} | failed: ${String(failure).split('\n')[0]} |`;
  // The timelines are long: keep them in the JSON, out of the way at the end.
  report('arm-burst', summary, row);
  writeResult('arm-burst', quick, env, [...phaseGoals('create', r.create), ...phaseGoals('delete', r.delete)], summary);
  process.exitCode = failure ? 1 : 0;
}

/** The issue's goals for one phase (create or delete) beside its figures. */
function phaseGoals(name: 'create' | 'delete', p: Phase | undefined): Goal[] {
  const what = `${flags.count} rules ${name === 'create' ? 'created' : 'deleted'}`;
  if (!p) return [{ goal: `${what}: all done`, target: 'a run', value: 'failed', unit: '', met: false }];
  const bucket = name === 'create' ? ARM_LIMITS.writes : ARM_LIMITS.deletes;
  const writeFloor = Math.max(0, (flags.count - bucket.burst) / bucket.perSecond);
  // The reads the goal allows (2 per rule) or fewer, as made: below ~500 rules (the quick run's 300) ARM's read
  // bucket, not its write bucket, sets the floor; at 1000 rules the writes' 80 s bind (reads 70 s).
  const allowedReads = Math.min(p.acceptedByClass.reads, 2 * flags.count);
  const readFloor = Math.max(0, (allowedReads - ARM_LIMITS.reads.burst) / ARM_LIMITS.reads.perSecond);
  const floor = Math.max(writeFloor, readFloor);
  const floorName = readFloor > writeFloor ? `read floor ${floor} s (${allowedReads} reads)` : `${name === 'create' ? 'write' : 'delete'} floor ${floor} s`;
  const opSeconds = flags.provisioningDelay / 1000;
  // When the bucket's floor is shorter than an operation (the quick run), the last write's operation bounds it.
  const bound = round(Math.max(1.15 * floor, floor + opSeconds + 2), 1);
  const verb = name === 'create' ? 'Ready' : 'gone';
  return [
    {
      goal: `${what}: all ${verb}`,
      target: `<= ${bound} s (${1.15 * floor >= floor + opSeconds + 2 ? `1.15 x the ${floorName}` : `${floorName} + operation ${opSeconds} s + 2 s`})`,
      value: p.complete ? p.seconds : `${p.done}/${p.of} in ${p.seconds}`,
      unit: p.complete ? 's' : 's',
      met: p.complete && p.seconds <= bound,
    },
    { goal: `${what}: 429s received`, target: '0', value: p.throttled429, unit: '', met: p.throttled429 === 0 },
    { goal: `${what}: ARM reads per rule`, target: '<= 2', value: p.perRule.readsPerRule, unit: 'reads', met: p.perRule.readsPerRule <= 2 },
    {
      goal: `${what}: k-th rule ${verb} within k/10 s + operation + 2 s`,
      target: '0 late',
      value: p.perRule.lateForK,
      unit: 'late',
      met: p.complete && p.perRule.lateForK === 0,
      note: `worst ${p.perRule.worstOverK} s over its bound`,
    },
    {
      goal: `${what}: each ${verb} within operation + 2 s of its ${name === 'create' ? 'PUT' : 'DELETE'} (polls never wait behind held writes)`,
      target: '0 late',
      value: p.perRule.lateAfterWrite,
      unit: 'late',
      met: p.complete && p.perRule.lateAfterWrite === 0,
      note: `write -> ${verb}: p50 ${p.perRule.writeToDone.p50} s, p99 ${p.perRule.writeToDone.p99} s, max ${p.perRule.writeToDone.max} s; `
        + `${p.perRule.lateAfterWriteReadPaced} of the late ones were due while ARM's read bucket held < ${DEFAULT_PACING.lowWater} reads (their poll waited for ARM's tokens)`,
    },
    { goal: `${what}: time to ${verb}, p50`, target: 'reported', value: p.perRule.toDone.p50, unit: 's', met: null },
    { goal: `${what}: time to ${verb}, p99`, target: 'reported', value: p.perRule.toDone.p99, unit: 's', met: null },
  ];
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
