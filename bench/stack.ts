/**
 * The end-to-end stack the cluster benchmarks measure, from the lead's harness (test/integration/harness.ts): the
 * real control plane, the ARM emulator (real PostgreSQL behind each server, ARM's throttling) and the reconciler
 * bundle run as the image runs it, as its ServiceAccount with workload identity. Plus what a benchmark needs on top:
 * readiness counts, the reconciler's memory and CPU from /proc, cleanup that always runs.
 */
import './isolate';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MemorySampler, procMemory, ProcMemory, seconds, sleep } from './common';
import { Emulator, EmulatorOptions, startEmulator } from '../test/emulator';
import {
  apply, buildBundle, ensureCluster, installReconcilerManifests, kubectl, metricSum, registerWorkloadIdentity,
  RunningReconciler, startReconciler,
} from '../test/integration/harness';

export { apply, kubectl, metricSum };

/**
 * kubectl without blocking this process, for what runs while the stack is measured: the emulator and the watches live
 * in this process, and `kubectl` (a spawnSync) would hold every ARM answer and watch event until kubectl exits.
 * Resolves with the milliseconds kubectl took; rejects on a non-zero exit or after `timeoutMs`.
 */
export async function kubectlAsync(args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<number> {
  const cluster = await ensureCluster();
  const env = { ...process.env };
  delete env.KUBECONFIG;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfig, ...args], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Date.now() - started);
      else reject(new Error(`kubectl ${args.join(' ')} exited ${code ?? signal}:\n${stderr}`));
    });
    child.stdin.end(o.input ?? '');
  });
}

export const KINDS = ['postgresservers', 'postgresdatabases', 'postgresfirewallrules', 'postgresroles'] as const;

export interface Stack {
  emulator: Emulator;
  reconciler: RunningReconciler;
  memory: MemorySampler;
  pid: number;
  startedAt: number;
  namespace: string;
  /** The workload identity's client id (to start another reconciler against the same emulator). */
  clientId: string;
  /** Stops the reconciler (SIGTERM), cleans the namespace and stops the emulator; safe to call twice. */
  teardown(): Promise<{ exitCode: number | null }>;
}

export interface StackOptions {
  namespace: string;
  emulator: EmulatorOptions;
  /** Reconciler flags (after the harness's metrics and probe addresses). */
  args?: string[];
  /** Extra environment of the reconciler (e.g. NODE_OPTIONS for --cpu-prof). */
  env?: Record<string, string>;
  build: boolean;
  log: (line: string) => void;
}

/**
 * Removes what an earlier, interrupted run left (finalizers with no reconciler to honour them), then the namespace.
 * `wait: false` (a bench's own teardown) leaves the namespace controller to finish in the background: each bench has
 * a namespace of its own, and its next run waits here for the deletion before creating it again.
 */
export function cleanNamespace(ns: string, wait = true): void {
  for (const kind of KINDS) {
    const r = kubectl(['get', kind, '-n', ns, '-o', 'json']);
    const list = r.status === 0 && r.stdout.trim() ? JSON.parse(r.stdout) : { items: [] };
    const names: string[] = (list.items ?? []).filter((i: any) => i.metadata.finalizers?.length).map((i: any) => i.metadata.name);
    for (let i = 0; i < names.length; i += 200) {
      kubectl(['patch', kind, ...names.slice(i, i + 200), '-n', ns, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
  }
  kubectl(['delete', 'namespace', ns, '--ignore-not-found', `--wait=${wait}`, '--timeout=180s'], { timeoutMs: 200_000 });
}

export async function startStack(o: StackOptions): Promise<Stack> {
  o.log('control plane: ensureCluster()');
  await ensureCluster();
  // bench/run.ts builds the bundle once for all the benches it runs and says so.
  if (o.build && process.env.BENCH_BUNDLE_BUILT !== '1') {
    o.log('bundle: esbuild src/reconciler/main.ts -> bundle/reconciler.js');
    buildBundle();
  }
  // The benchmarks measure the reconciler, not network access: every loopback client may connect unless a bench says.
  const emulator = await startEmulator({ enforceFirewall: false, ...o.emulator });
  let reconciler: RunningReconciler | undefined;
  let memory: MemorySampler | undefined;
  let torn: Promise<{ exitCode: number | null }> | undefined;
  const teardown = () => {
    torn ??= (async () => {
      memory?.stop();
      const t0 = Date.now();
      const exitCode = reconciler ? await reconciler.stop('SIGTERM', 30_000) : null;
      const t1 = Date.now();
      try {
        cleanNamespace(o.namespace, false);
      } catch (e) {
        o.log(`cleanup of namespace ${o.namespace} failed: ${(e as Error).message}`);
      }
      const t2 = Date.now();
      await emulator.stop();
      o.log(`teardown: reconciler stopped in ${seconds(t1 - t0)} s, namespace cleaned in ${seconds(t2 - t1)} s, emulator stopped in ${seconds(Date.now() - t2)} s`);
      return { exitCode };
    })();
    return torn;
  };
  try {
    installReconcilerManifests(emulator.subscriptionId);
    const clientId = registerWorkloadIdentity(emulator);
    cleanNamespace(o.namespace);
    kubectl(['create', 'namespace', o.namespace], { check: true });
    const startedAt = Date.now();
    reconciler = startReconciler(emulator, clientId, { name: `bench-${o.namespace}`, args: o.args, env: o.env });
    const pid = reconciler.process.pid!;
    memory = new MemorySampler(pid, 200).start();
    return { emulator, reconciler, memory, pid, startedAt, namespace: o.namespace, clientId, teardown };
  } catch (e) {
    await teardown();
    throw e;
  }
}

/** Waits until /readyz answers 200; returns ms since `since`. */
export async function waitReady(stack: Stack, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (stack.reconciler.process.exitCode !== null) {
      throw new Error(`reconciler exited ${stack.reconciler.process.exitCode}:\n${stack.reconciler.logs().slice(-4000)}`);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${stack.reconciler.healthPort}/readyz`);
      if (r.status === 200) return Date.now() - stack.startedAt;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`reconciler not ready after ${timeoutMs} ms:\n${stack.reconciler.logs().slice(-4000)}`);
    await sleep(100);
  }
}

export interface ReadyCounts {
  total: number;
  ready: number;
  byKind: Record<string, { total: number; ready: number }>;
  /** Reasons of the resources not Ready yet, with counts. */
  notReadyReasons: Record<string, number>;
}

/** Ready counts of every cdk8s-azure resource in the namespace (one kubectl call over the category). */
export function readyCounts(ns: string): ReadyCounts {
  const r = kubectl(['get', 'cdk8s-azure', '-n', ns, '-o', 'json'], { timeoutMs: 60_000 });
  if (r.status !== 0) throw new Error(`kubectl get cdk8s-azure: ${r.stderr}`);
  const items = JSON.parse(r.stdout).items as any[];
  const out: ReadyCounts = { total: items.length, ready: 0, byKind: {}, notReadyReasons: {} };
  for (const item of items) {
    const k = (out.byKind[item.kind] ??= { total: 0, ready: 0 });
    k.total++;
    const c = (item.status?.conditions ?? []).find((x: any) => x.type === 'Ready');
    if (c?.status === 'True' && item.status?.observedGeneration === item.metadata.generation) {
      k.ready++;
      out.ready++;
    } else {
      const reason = `${item.kind}: ${c?.reason ?? 'no condition yet'}`;
      out.notReadyReasons[reason] = (out.notReadyReasons[reason] ?? 0) + 1;
    }
  }
  return out;
}

/** Counts of the cdk8s-azure resources left in the namespace (after a delete). */
export function remaining(ns: string): number {
  const r = kubectl(['get', 'cdk8s-azure', '-n', ns, '-o', 'name'], { timeoutMs: 60_000 });
  return r.stdout.split('\n').filter((l) => l.trim()).length;
}

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100;
  } catch {
    return undefined;
  }
}

export function memoryNow(stack: Stack): ProcMemory | undefined {
  return stack.memory.sample() ?? procMemory(stack.pid);
}

/** Requests the emulator served, by "METHOD resourceType status", without the admin and token endpoints' noise. */
export function armRequestSummary(emulator: Emulator) {
  const r = emulator.admin.requests();
  const byKey = Object.fromEntries(Object.entries(r.byKey).sort(([a], [b]) => a.localeCompare(b)));
  const arm = Object.entries(r.byResourceType).filter(([t]) => !t.startsWith('entra/') && t !== 'admin').reduce((n, [, v]) => n + v, 0);
  return {
    total: r.total,
    arm,
    throttled429: r.throttled,
    byMethod: r.byMethod,
    byStatus: r.byStatus,
    byResourceType: r.byResourceType,
    byKey,
    serverCreates: Object.keys(r.serverCreates).length,
  };
}
