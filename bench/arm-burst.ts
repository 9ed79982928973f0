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
 * come from a kubectl watch (arrival at the API server, Ready or gone) and the emulator's request log (the rule's PUT
 * or DELETE, and ARM's buckets replayed from it). k is a rule's place in arrival order. Each late rule is listed with
 * its times and buckets and the causes they show: it arrived after its k/10 s slot, its write was held by the write
 * bucket, its poll by the read bucket, or none of these (the reconciler's own latency).
 */
import './isolate';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { App, Chart } from 'cdk8s';
import { AzurePostgres } from '../src';
import { environment, loadAverage, lowOctets, mib, parseFlags, report, ROOT, round, seconds, sleep } from './common';
import { type Goal, p50p99, writeResult } from './goals';
import { armRequestSummary, cpuSeconds, kubectl, kubectlAsync, memoryNow, metricSum, readyCounts, startStack, Stack, waitReady } from './stack';
import { ReadyWatch } from './watch';
import { DEFAULT_PACING } from '../src/reconciler/azure/throttle';
import type { RequestLogEntry } from '../test/emulator';

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
      startIpAddress: `10.${lowOctets(i).join('.')}.1`,
      endIpAddress: `10.${lowOctets(i).join('.')}.254`,
    },
  }));
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

type Cls = 'reads' | 'writes' | 'deletes';

/** ARM's throttling class of a request method. */
function classOf(method: string): Cls {
  return method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes';
}

/** Accepted (not 429) ARM requests per throttling class, from the emulator's "METHOD type status" counts. */
function acceptedByClass(byKey: Record<string, number>): Record<Cls, number> {
  const out: Record<Cls, number> = { reads: 0, writes: 0, deletes: 0 };
  for (const [key, n] of Object.entries(byKey)) {
    const [method, type, status] = key.split(' ');
    if (type.startsWith('entra/') || type === 'admin' || status === '429') continue;
    out[classOf(method)] += n;
  }
  return out;
}

/** 429s per class. */
function throttledByClass(byKey: Record<string, number>): Record<Cls, number> {
  const out: Record<Cls, number> = { reads: 0, writes: 0, deletes: 0 };
  for (const [key, n] of Object.entries(byKey)) {
    const [method, , status] = key.split(' ');
    if (status !== '429') continue;
    out[classOf(method)] += n;
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
  /**
   * The longest this process's event loop stalled in the phase, ms. The emulator and the watch run in it: a stall
   * holds ARM's answers and the watch's timestamps alike.
   */
  benchEventLoopMaxMs: number;
}

/** Per-rule times of one phase, seconds: from the phase's start to done (Ready, or gone), and from its write to done. */
interface PerRule {
  /** Done, seconds after the phase started: p50, p99, max. */
  toDone: ReturnType<typeof p50p99>;
  /** Done, seconds after the rule's own PUT or DELETE reached Azure. */
  writeToDone: ReturnType<typeof p50p99>;
  /**
   * Rules done later than k/10 s + the operation's time + 2 s after the phase started: the issue's bound as written
   * (k: the rule's place in arrival order, from 1).
   */
  lateForK: number;
  /** The largest lateness (seconds) over that bound; <= 0 when none is late. */
  worstOverK: number;
  /** Rules done later than max(k/10 s, their arrival) + the operation's time + 2 s: no rule's clock runs before it exists. */
  lateFromArrival: number;
  /** The largest lateness (seconds) over that bound. */
  worstOverArrival: number;
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
  /** When the rules reached the API server (a created object, or a delete of one), from the kubectl watch. */
  arrival: {
    seen: number;
    /** First and last arrival, seconds after the phase started. */
    firstSeconds: number;
    lastSeconds: number;
    /** The fewest rules that, moved, would put the arrival order in name order (0: they arrived in name order). */
    outOfNameOrder: number;
  };
  /** Why the late rules were late, under each bound (one rule can have several causes). */
  lateCauses: { fromStart: LateCauses; fromArrival: LateCauses };
  /** The rules late under the issue's bound (a superset of those late from their arrival), latest first, at most 50. */
  lateRules: LateRule[];
  /** The emulator's request log (it keeps the last 5000) holds the whole phase, so the per-rule writes and replays are complete. */
  requestLogComplete: boolean;
}

/**
 * A late rule's cause. `arrivedAfterSlot`: it reached the API server after its k/10 s slot (never a cause under the
 * bound from its arrival). `writeHeldByBucket`: its write went out after its slot while the write (or delete) bucket,
 * replayed, held fewer than the reconciler's low-water mark: ARM's bucket, or the reserve the reconciler keeps in it,
 * spaced it. `pollHeldByReadBucket`: its operation ended while the read bucket held fewer than that mark, so its poll
 * waited for read tokens. `reconciler`: none of these, the reconciler's own latency (queue, Kubernetes writes, CPU).
 * A rule late from the phase start that arrived after its slot and is late from its arrival too has the causes of both.
 */
type LateCause = 'arrivedAfterSlot' | 'writeHeldByBucket' | 'pollHeldByReadBucket' | 'reconciler';
type LateCauses = Record<LateCause, number> & { late: number };

/** One late rule. Times are seconds after the phase started. */
interface LateRule {
  name: string;
  k: number;
  arrival?: number;
  /** Its PUT or DELETE, as the emulator received it. */
  write?: number;
  /** Its operation's end: the write + the emulator's provisioning delay (the emulator's operations take exactly that). */
  opEnd?: number;
  /** Creates: its GET after the operation (its poll had seen the operation end). */
  read?: number;
  done: number;
  /** Seconds over k/10 s + op + 2 s, and over max(k/10 s, arrival) + op + 2 s. */
  overFromStart: number;
  overFromArrival: number;
  /** Its causes under the bound from the phase start, and (when late under it) from its arrival. */
  causes: LateCause[];
  causesFromArrival?: LateCause[];
  /** ARM's read bucket, replayed: tokens left at its write and at its operation's end. */
  readTokensAtWrite?: number;
  readTokensAtOpEnd?: number;
  /** Writes (or deletes) ARM accepted in the phase before this one, and what their bucket held just before it. */
  writesBefore?: number;
  writeTokensAtWrite?: number;
  /** The earliest ARM's bucket allowed its write after the phase started: max(0, (writesBefore + 1 - burst) / rate). */
  writeFloor?: number;
}

const LATE_RULES_KEPT = 50;

function ruleName(i: number): string {
  return `burst-${String(i).padStart(4, '0')}`;
}

/**
 * One of ARM's buckets over the phase, replayed from the emulator's log of the requests of its class it accepted (full
 * at `t0`, refilled at ARM's rate): the tokens left, and the requests accepted, just before a given time.
 */
interface BucketReplay {
  tokensBefore(at: number): number;
  acceptedBefore(at: number): number;
}

function bucketReplay(entries: readonly RequestLogEntry[], t0: number, cls: Cls): BucketReplay {
  const times = entries
    .filter((e) => e.status !== 429 && !e.resourceType.startsWith('entra/') && e.resourceType !== 'admin' && classOf(e.method) === cls)
    .map((e) => Date.parse(e.time))
    .sort((a, b) => a - b);
  const { burst, perSecond } = ARM_LIMITS[cls];
  return {
    tokensBefore: (at) => {
      let tokens = burst;
      let last = t0;
      for (const t of times) {
        if (t >= at) break;
        tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSecond) - 1;
        last = t;
      }
      return Math.min(burst, tokens + ((at - last) / 1000) * perSecond);
    },
    acceptedBefore: (at) => times.filter((t) => t < at).length,
  };
}

/** The length of the longest increasing run (not necessarily contiguous) of `xs`. */
function longestIncreasing(xs: readonly number[]): number {
  const tails: number[] = [];
  for (const x of xs) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (tails[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    tails[lo] = x;
  }
  return tails.length;
}

/** Each rule's place in arrival order, from 1 (ties, and rules the watch did not see arrive, by name). */
function arrivalRanks(arrivedAt: ReadonlyMap<string, number>): Map<string, number> {
  const names = Array.from({ length: flags.count }, (_, i) => ruleName(i));
  const at = (n: string) => arrivedAt.get(n) ?? Infinity;
  const order = [...names].sort((a, b) => at(a) - at(b) || (a < b ? -1 : a > b ? 1 : 0));
  return new Map(order.map((n, i) => [n, i + 1]));
}

/** The first accepted request of `method` on each rule, at or after `after` of that rule when given. */
function firstRequestAt(entries: readonly RequestLogEntry[], method: string, after?: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of entries) {
    const m = /\/firewallrules\/(burst-\d{4})$/i.exec(e.path.split('?')[0]);
    if (!m || e.method !== method || e.status >= 300 || out.has(m[1])) continue;
    const t = Date.parse(e.time);
    const from = after?.get(m[1]);
    if (after && (from === undefined || t < from)) continue;
    out.set(m[1], t);
  }
  return out;
}

/**
 * Per-rule figures from the watch (`arrivedAt`, `doneAt`) and the emulator's log (each rule's `method` request).
 * The issue's bound starts every rule's clock at the phase start, which is what it says ("1000 new rules at once"), and
 * stays the goal's figure; kubectl sends the objects one by one over seconds, so the bound from each rule's arrival is
 * reported beside it, to tell a late rule the reconciler could not have started from one it held.
 */
function perRule(stack: Stack, t0: number, arrivedAt: ReadonlyMap<string, number>, doneAt: ReadonlyMap<string, number>, method: 'PUT' | 'DELETE', reads: number): PerRule {
  const requests = stack.emulator.admin.requests();
  const writeAt = firstRequestAt(requests.log, method);
  const readAt = method === 'PUT' ? firstRequestAt(requests.log, 'GET', writeAt) : new Map<string, number>();
  const opMs = flags.provisioningDelay;
  const opSeconds = opMs / 1000;
  const lowWater = DEFAULT_PACING.lowWater;
  const writeClass: Cls = method === 'PUT' ? 'writes' : 'deletes';
  const readBucket = bucketReplay(requests.log, t0, 'reads');
  const writeBucket = bucketReplay(requests.log, t0, writeClass);
  const rank = arrivalRanks(arrivedAt);
  const sinceT0 = (ms: number | undefined) => (ms === undefined ? undefined : round((ms - t0) / 1000, 2));
  const noCauses = (): LateCauses => ({ late: 0, arrivedAfterSlot: 0, writeHeldByBucket: 0, pollHeldByReadBucket: 0, reconciler: 0 });
  const count = (counts: LateCauses, causes: readonly LateCause[]) => {
    counts.late++;
    for (const c of causes) counts[c]++;
  };
  const fromStart = noCauses();
  const fromArrival = noCauses();
  const late: LateRule[] = [];
  const toDone: number[] = [];
  const writeToDone: number[] = [];
  let worstOverK = -Infinity;
  let worstOverArrival = -Infinity;
  let lateAfterWrite = 0;
  let lateAfterWriteReadPaced = 0;
  for (let i = 0; i < flags.count; i++) {
    const name = ruleName(i);
    const k = rank.get(name)!;
    const done = doneAt.get(name);
    if (done === undefined) continue;
    const t = (done - t0) / 1000;
    toDone.push(t);
    const slot = k / 10;
    const arrival = sinceT0(arrivedAt.get(name));
    const overFromStart = t - (slot + opSeconds + 2);
    const overFromArrival = t - (Math.max(slot, arrival ?? 0) + opSeconds + 2);
    worstOverK = Math.max(worstOverK, overFromStart);
    worstOverArrival = Math.max(worstOverArrival, overFromArrival);
    const w = writeAt.get(name);
    if (w !== undefined) {
      const d = (done - w) / 1000;
      writeToDone.push(d);
      if (d > opSeconds + 2) {
        lateAfterWrite++;
        if (readBucket.tokensBefore(w + opMs) < lowWater) lateAfterWriteReadPaced++;
      }
    }
    if (overFromStart <= 0) continue;
    const rule: LateRule = {
      name, k, arrival, done: round(t, 2), overFromStart: round(overFromStart, 2), overFromArrival: round(overFromArrival, 2), causes: [],
    };
    const held: LateCause[] = [];
    if (w !== undefined) {
      const writesBefore = writeBucket.acceptedBefore(w);
      Object.assign(rule, {
        write: sinceT0(w),
        opEnd: sinceT0(w + opMs),
        read: sinceT0(readAt.get(name)),
        readTokensAtWrite: round(readBucket.tokensBefore(w), 1),
        readTokensAtOpEnd: round(readBucket.tokensBefore(w + opMs), 1),
        writesBefore,
        writeTokensAtWrite: round(writeBucket.tokensBefore(w), 1),
        writeFloor: round(Math.max(0, (writesBefore + 1 - ARM_LIMITS[writeClass].burst) / ARM_LIMITS[writeClass].perSecond), 2),
      });
      if (rule.write! > slot && rule.writeTokensAtWrite! < lowWater) held.push('writeHeldByBucket');
      if (rule.readTokensAtOpEnd! < lowWater) held.push('pollHeldByReadBucket');
    }
    const arrivedLate: LateCause[] = arrival !== undefined && arrival > slot ? ['arrivedAfterSlot'] : [];
    if (overFromArrival > 0) {
      rule.causesFromArrival = held.length ? held : ['reconciler'];
      rule.causes = [...arrivedLate, ...rule.causesFromArrival];
      count(fromArrival, rule.causesFromArrival);
    } else {
      rule.causes = [...arrivedLate, ...held];
      if (rule.causes.length === 0) rule.causes.push('reconciler');
    }
    count(fromStart, rule.causes);
    late.push(rule);
  }
  const arrivals = [...arrivedAt.values()];
  return {
    toDone: p50p99(toDone),
    writeToDone: p50p99(writeToDone),
    lateForK: fromStart.late,
    worstOverK: round(worstOverK, 2),
    lateFromArrival: fromArrival.late,
    worstOverArrival: round(worstOverArrival, 2),
    lateAfterWrite,
    lateAfterWriteReadPaced,
    readsPerRule: round(reads / flags.count, 2),
    arrival: {
      seen: arrivals.length,
      firstSeconds: arrivals.length ? sinceT0(Math.min(...arrivals))! : NaN,
      lastSeconds: arrivals.length ? sinceT0(Math.max(...arrivals))! : NaN,
      outOfNameOrder: flags.count - longestIncreasing(Array.from({ length: flags.count }, (_, i) => rank.get(ruleName(i))!)),
    },
    lateCauses: { fromStart, fromArrival },
    lateRules: late.sort((a, b) => b.overFromStart - a.overFromStart).slice(0, LATE_RULES_KEPT),
    requestLogComplete: requests.log.length >= requests.total,
  };
}

/** The causes of one bound's late rules, in a few words (a rule can have several). */
function causesText(c: LateCauses, writeClass: string): string {
  return `${c.arrivedAfterSlot} arrived after their k/10 s slot, ${c.writeHeldByBucket} had their write held by the ${writeClass} bucket, `
    + `${c.pollHeldByReadBucket} their poll held by the read bucket, ${c.reconciler} none of these (the reconciler's own latency)`;
}

/** One line per phase: how many rules were late under each bound, and why. */
function lateSummary(name: string, p: Phase): string {
  const r = p.perRule;
  const cls = name === 'create' ? 'write' : 'delete';
  return `${name}: k-th rule: ${r.lateForK} late from the phase start (worst ${r.worstOverK} s over; ${causesText(r.lateCauses.fromStart, cls)}); `
    + `${r.lateFromArrival} late from their arrival (worst ${r.worstOverArrival} s over; ${causesText(r.lateCauses.fromArrival, cls)}); `
    + `arrivals ${r.arrival.firstSeconds}-${r.arrival.lastSeconds} s (${r.arrival.seen} seen), ${r.arrival.outOfNameOrder} out of name order; `
    + `this process's event loop (the emulator's, the watch's) stalled at most ${p.benchEventLoopMaxMs} ms${r.requestLogComplete ? '' : '; the emulator\'s request log overflowed: per-rule writes incomplete'}`;
}

/**
 * One phase: `send` hands the objects (or their deletes) to the API server; the phase ends when every rule is done
 * (`doneAt`) or at the deadline. `send` must not block this process (kubectlAsync): the emulator and the watch run in it.
 */
async function phase(
  stack: Stack, name: string, send: () => Promise<number>, watch: { arrivedAt: Map<string, number>; doneAt: Map<string, number> }, of: number,
): Promise<Phase> {
  const { arrivedAt, doneAt } = watch;
  const progress = () => ({ done: doneAt.size, notReady: undefined as Record<string, number> | undefined });
  stack.emulator.admin.resetRequests();
  // Full buckets at the start of the phase, ARM's limits (explicit: the point of this bench).
  stack.emulator.admin.setThrottling(ARM_LIMITS);
  const maxBefore = stack.memory.maxRss;
  stack.memory.maxRss = 0;
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const t0 = Date.now();
  const sending: { ms?: number; failure?: Error } = {};
  const sent = send().then((ms) => {
    sending.ms = ms;
    log(`${name}: kubectl took ${ms} ms for ${of} objects`);
  }, (e: unknown) => {
    sending.failure = e instanceof Error ? e : new Error(String(e));
  });
  const deadline = t0 + flags.timeoutMinutes * 60_000;
  const timeline: Phase['timeline'] = [];
  let p = progress();
  let lastLog = 0;
  while (p.done < of && Date.now() < deadline) {
    if (sending.failure) throw sending.failure;
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
  await sent;
  if (sending.failure) throw sending.failure;
  loopDelay.disable();
  const r = stack.emulator.admin.requests();
  const accepted = acceptedByClass(r.byKey);
  const peak = Math.max(stack.memory.maxRss, maxBefore);
  stack.memory.maxRss = peak;
  const m = memoryNow(stack);
  const result: Phase = {
    done: p.done,
    of,
    complete: p.done >= of,
    seconds: seconds(elapsed),
    kubectlSeconds: sending.ms === undefined ? undefined : seconds(sending.ms),
    throttled429: r.throttled,
    throttledByClass: throttledByClass(r.byKey),
    acceptedByClass: accepted,
    armFloor: armFloorSeconds(accepted),
    armRequests: armRequestSummary(stack.emulator),
    timeline,
    peakRssMiB: mib(Math.max(stack.memory.maxRss, m?.hwm ?? 0)),
    notReady: p.done < of ? notDone(stack) : undefined,
    perRule: perRule(stack, t0, arrivedAt, doneAt, name === 'create' ? 'PUT' : 'DELETE', accepted.reads),
    benchEventLoopMaxMs: Math.round(loopDelay.max / 1e6),
  };
  log(lateSummary(name, result));
  return result;
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
    const create = await phase(stack, 'create', () => kubectlAsync(['create', '-f', '-'], { input: rules, timeoutMs: 600_000 }),
      { arrivedAt: createWatch.addedAt, doneAt: createWatch.readyAt }, flags.count);
    createWatch.stop();
    const cpuAfterCreate = cpuSeconds(stack.pid);
    const metricsAfterCreate = await stack.reconciler.metrics();
    log(`create: ${create.done}/${flags.count} Ready in ${create.seconds} s; 429s ${create.throttled429}; ARM floor ${create.armFloor.seconds} s (${create.armFloor.bindingClass})`);

    let del: Phase | undefined;
    if (flags.delete) {
      const deleteWatch = await new ReadyWatch('postgresfirewallrules', NS).start();
      del = await phase(stack, 'delete', () => kubectlAsync(['delete', 'postgresfirewallrules', '--all', '-n', NS, '--wait=false'], { timeoutMs: 600_000 }),
        { arrivedAt: deleteWatch.deletingAt, doneAt: deleteWatch.deletedAt }, flags.count);
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
    // (a) is the issue's bound and the goal; (b), each rule's clock from its arrival, tells the rules the reconciler
    // could not have started in time (kubectl sends the objects over seconds) from those it held: a diagnosis, not met/missed.
    {
      goal: `${what}: k-th rule ${verb} within k/10 s + operation + 2 s (a: from the phase start, k in arrival order)`,
      target: '0 late',
      value: p.perRule.lateForK,
      unit: 'late',
      met: p.complete && p.perRule.lateForK === 0,
      note: `worst ${p.perRule.worstOverK} s over its bound; of the late: ${causesText(p.perRule.lateCauses.fromStart, name === 'create' ? 'write' : 'delete')}`,
    },
    {
      goal: `${what}: k-th rule ${verb} within max(k/10 s, its arrival) + operation + 2 s (b: each rule's clock from its arrival)`,
      target: 'reported (0 late)',
      value: p.perRule.lateFromArrival,
      unit: 'late',
      met: null,
      note: `worst ${p.perRule.worstOverArrival} s over its bound; arrivals ${p.perRule.arrival.firstSeconds}-${p.perRule.arrival.lastSeconds} s after the phase start (${p.perRule.arrival.seen} of ${p.of} seen)`,
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
