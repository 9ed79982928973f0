/**
 * Latency of the reconciler's reactions, end to end against the real control plane and the ARM emulator:
 *  - a PostgresFirewallRule created (the API server's answer to the bench's POST) -> its PUT reaching the emulator,
 *    over N creates one after another (p50, p99);
 *  - a server Ready in ARM (its create operation's end in the emulator) -> its connection Secret seen by a watch;
 *  - process start -> /readyz 200, idle and with 1000 CRs to list (a fresh reconciler process each time).
 *
 *   tsx bench/latency.ts --quick      # 20 applies, 1 server, 300 CRs for the start
 *   tsx bench/latency.ts              # 100 applies, 3 servers, 1000 CRs for the start
 */
import './isolate';
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { environment, loadAverage, lowOctets, parseFlags, round, seconds, sleep } from './common';
import { type Goal, p50p99, writeResult } from './goals';
import { kubectl, startStack, waitReady, type Stack } from './stack';
import { ReadyWatch } from './watch';
import { CLUSTER_DIR, ensureCluster } from '../test/cluster/cluster';
import { startReconciler, type RunningReconciler } from '../test/integration/harness';

const HELP = `
Usage: tsx bench/latency.ts [flags]
  --quick              20 applies, 1 server, 300 CRs for the start
  --applies N          firewall rules created one after another (default 100)
  --servers N          servers whose Ready -> Secret is timed (default 3)
  --start-crs N        CRs in the cluster for the second start (default 1000)
  --no-build           do not rebuild bundle/reconciler.js
`;

const argv = process.argv.slice(2).map((a) => (a === '--no-build' ? '--build=false' : a));
const quick = argv.includes('--quick');
const flags = parseFlags(argv.filter((a) => a !== '--quick'), quick
  ? { applies: 20, servers: 1, startCrs: 300, build: true }
  : { applies: 100, servers: 3, startCrs: 1000, build: true }, HELP);

const NS = 'bench-latency';
const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** POSTs one object to the API server as the cluster admin; resolves at its answer (the object is stored). */
class Api {
  private readonly agent: https.Agent;
  constructor(private readonly apiServer: string) {
    const pki = path.join(CLUSTER_DIR, 'pki');
    this.agent = new https.Agent({
      keepAlive: true,
      ca: readFileSync(path.join(pki, 'ca.crt')),
      cert: readFileSync(path.join(pki, 'admin.crt')),
      key: readFileSync(path.join(pki, 'admin.key')),
    });
  }

  create(plural: string, namespace: string, body: unknown): Promise<number> {
    const url = new URL(`/apis/cdk8s-azure.dev/v1alpha1/namespaces/${namespace}/${plural}`, this.apiServer);
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 201 ? resolve(Date.now()) : reject(new Error(`POST ${plural}: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  /** One request; resolves with the status and the parsed body. */
  request(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
    const url = new URL(urlPath, this.apiServer);
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = data === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(data) };
      const req = https.request(url, { method, agent: this.agent, headers }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  /**
   * Deletes every object of `plural` in `namespace` matching `selector` with no reconciler running: one delete-collection
   * call, then each finalizer removed by a merge patch over the kept-alive connection (a kubectl process per object
   * costs seconds for hundreds; releasing them through the reconciler took a minute for 300 on the loaded machine).
   */
  async deleteAll(plural: string, namespace: string, selector: string): Promise<void> {
    const base = `/apis/cdk8s-azure.dev/v1alpha1/namespaces/${namespace}/${plural}`;
    const q = `labelSelector=${encodeURIComponent(selector)}`;
    const del = await this.request('DELETE', `${base}?${q}`);
    if (del.status >= 300) throw new Error(`DELETE ${plural}: ${del.status}`);
    const list = await this.request('GET', `${base}?${q}`);
    const names: string[] = (list.body?.items ?? []).map((o: { metadata: { name: string } }) => o.metadata.name);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map(async (n) => {
        const r = await this.request('PATCH', `${base}/${n}`, { metadata: { finalizers: null } }, 'application/merge-patch+json');
        if (r.status >= 300 && r.status !== 404) throw new Error(`PATCH ${plural}/${n}: ${r.status}`);
      }));
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

function rule(name: string, serverName: string, i: number) {
  return {
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresFirewallRule',
    metadata: { name, namespace: NS },
    spec: { serverRef: { name: serverName }, azureName: name, startIpAddress: `10.2.${lowOctets(i).join('.')}`, endIpAddress: `10.2.${lowOctets(i).join('.')}` },
  };
}

function server(name: string) {
  return {
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresServer',
    metadata: { name, namespace: NS },
    spec: { azureName: name, resourceGroup: { name: 'bench-latency-rg', create: true }, location: 'westeurope', writeConnectionSecretToRef: { name: `${name}-admin` }, deletionPolicy: 'Delete' },
  };
}

/** Time from the emulator's first accepted PUT of a path ending in `suffix` after `since`; polls the request log. */
async function firstPut(stack: Stack, suffix: string, since: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = stack.emulator.admin.requests().log.find((l) => l.method === 'PUT' && l.path.split('?')[0].toLowerCase().endsWith(suffix) && Date.parse(l.time) >= since - 5);
    if (hit) return Date.parse(hit.time);
    if (Date.now() > deadline) throw new Error(`no PUT of ${suffix} within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** A new reconciler process; ms from its spawn to /readyz 200. */
async function timedStart(stack: Stack, name: string): Promise<{ ms: number; reconciler: RunningReconciler }> {
  const t0 = Date.now();
  const reconciler = startReconciler(stack.emulator, stack.clientId, { name, args: [`--namespaces=${NS}`] });
  for (;;) {
    if (reconciler.process.exitCode !== null) throw new Error(`reconciler exited ${reconciler.process.exitCode}:\n${reconciler.logs().slice(-3000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${reconciler.healthPort}/readyz`);
      if (r.status === 200) return { ms: Date.now() - t0, reconciler };
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 120_000) throw new Error('not ready after 120 s');
    await sleep(10);
  }
}

async function main(): Promise<void> {
  const env = environment();
  log(`latency bench: ${flags.applies} applies, ${flags.servers} servers, start with ${flags.startCrs} CRs; load ${env.loadAtStart}`);
  // Only this bench's namespace: another bench's reconciler on the same control plane must not take its objects.
  const args = [`--namespaces=${NS}`];
  const emulator = { provisioningDelayMs: 1000, operationPollIntervalSeconds: 1 };
  const stack = await startStack({ namespace: NS, emulator, args, build: flags.build, log });
  const cluster = await ensureCluster();
  const api = new Api(cluster.server);
  const goals: Goal[] = [];
  const data: Record<string, unknown> = {};
  let failure: string | undefined;
  let extra: RunningReconciler | undefined;
  try {
    await waitReady(stack);
    // Ready in ARM -> connection Secret: the servers' create operations end in the emulator; a watch sees the Secrets.
    const secrets = await new ReadyWatch('secrets', NS).start();
    const names = Array.from({ length: flags.servers }, (_, i) => `lat-srv-${i}`);
    for (const n of names) await api.create('postgresservers', NS, server(n));
    // When each server is Ready in ARM: sampled from the emulator (in this process) every 20 ms.
    const readyInArm = new Map<string, number>();
    const deadline = Date.now() + 5 * 60_000;
    // The Secret holds the password from before the create; it gets the server's host once the server is there.
    while (names.some((n) => !secrets.hostAt.has(`${n}-admin`)) && Date.now() < deadline) {
      const servers = (stack.emulator.admin.resources() as { servers: Array<{ name: string; properties?: { state?: string } }> }).servers;
      for (const s of servers) if (s.properties?.state === 'Ready' && !readyInArm.has(s.name)) readyInArm.set(s.name, Date.now());
      await sleep(20);
    }
    const readyToSecret: number[] = [];
    for (const n of names) {
      const ready = readyInArm.get(n);
      const secretAt = secrets.hostAt.get(`${n}-admin`);
      if (ready && secretAt) readyToSecret.push((secretAt - ready) / 1000);
    }
    secrets.stop();
    const rts = p50p99(readyToSecret);
    data.serverReadyToSecretSeconds = readyToSecret.map((x) => round(x, 3));
    goals.push({
      goal: 'server Ready in ARM -> connection Secret written',
      target: 'reported',
      value: rts.n ? rts.p50 : 'none',
      unit: 's (p50)',
      met: rts.n === flags.servers ? null : false,
      note: `max ${rts.max} s over ${rts.n} servers`,
    });
    log(`Ready -> Secret: ${JSON.stringify(rts)}`);

    // CR applied -> first ARM write, one create after another on a server whose object is Ready.
    const serverReady = await new ReadyWatch('postgresservers', NS).start();
    while (!serverReady.readyAt.has(names[0]) && Date.now() < deadline) await sleep(100);
    serverReady.stop();
    const latencies: number[] = [];
    for (let i = 0; i < flags.applies; i++) {
      const name = `lat-${String(i).padStart(4, '0')}`;
      const applied = await api.create('postgresfirewallrules', NS, rule(name, names[0], i));
      const put = await firstPut(stack, `/firewallrules/${name}`, applied - 2000);
      latencies.push(put - applied);
      await sleep(50);
    }
    const lat = p50p99(latencies, 1);
    data.applyToWriteMs = latencies;
    goals.push({ goal: `CR applied -> first ARM write (p50, ${flags.applies} applies)`, target: '< 100 ms', value: lat.p50, unit: 'ms', met: lat.p50 < 100 });
    goals.push({ goal: `CR applied -> first ARM write (p99, ${flags.applies} applies)`, target: 'reported', value: lat.p99, unit: 'ms', met: null, note: `max ${lat.max} ms` });
    log(`apply -> write: ${JSON.stringify(lat)}`);

    // Process start -> /readyz: idle (this namespace's few objects), then with many CRs to list.
    await stack.reconciler.stop('SIGTERM', 30_000);
    const idle = await timedStart(stack, 'bench-latency-idle');
    extra = idle.reconciler;
    await extra.stop('SIGTERM', 30_000);
    extra = undefined;
    // CRs that wait for a server that does not exist: listed at start, never sent to Azure.
    const items = Array.from({ length: flags.startCrs }, (_, i) => {
      const r = rule(`start-${String(i).padStart(4, '0')}`, 'no-such-server', i);
      return { ...r, metadata: { ...r.metadata, labels: { 'bench-latency': 'start' } } };
    });
    kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), check: true, timeoutMs: 600_000 });
    const loaded = await timedStart(stack, 'bench-latency-loaded');
    extra = loaded.reconciler;
    data.startMs = { idle: idle.ms, withCrs: loaded.ms, crs: flags.startCrs + flags.applies + flags.servers };
    goals.push({ goal: 'process start -> /readyz 200, idle', target: '< 1 s', value: round(idle.ms / 1000, 2), unit: 's', met: idle.ms < 1000 });
    goals.push({ goal: `process start -> /readyz 200, ${flags.startCrs + flags.applies + flags.servers} CRs to list`, target: '< 1 s', value: round(loaded.ms / 1000, 2), unit: 's', met: loaded.ms < 1000 });
    log(`start -> readyz: idle ${idle.ms} ms, with CRs ${loaded.ms} ms`);
    // Nothing of them is in Azure: with the reconciler stopped, their finalizers are simply removed.
    const released = Date.now();
    await extra.stop('SIGTERM', 30_000);
    extra = undefined;
    await api.deleteAll('postgresfirewallrules', NS, 'bench-latency=start');
    log(`the ${flags.startCrs} CRs of the start deleted in ${seconds(Date.now() - released)} s`);
  } catch (e) {
    failure = (e as Error).stack ?? String(e);
    log(`FAILED: ${failure}\nreconciler logs (tail):\n${stack.reconciler.logs().slice(-4000)}`);
    goals.push({ goal: 'latency', target: 'a run', value: 'failed', unit: '', met: false, note: String(failure).split('\n')[0] });
  } finally {
    api.close();
    await extra?.stop('SIGTERM', 30_000);
    await stack.teardown();
  }
  writeResult('latency', quick, env, goals, { ...data, loadAtEnd: loadAverage(), failure });
  process.exitCode = failure ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
