/**
 * The chaos suite's stack: the real control plane (test/cluster), the ARM emulator with real PostgreSQL, and the
 * reconciler bundle run as the image runs it (test/integration/harness.ts), plus what chaos needs on top: a TCP relay
 * in front of kube-apiserver whose connections can be cut, a supervisor that SIGKILLs and restarts the reconciler,
 * and a complete copy of the emulator's request log (its own keeps the last 5000).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import { CLUSTER_DIR, serviceAccountKubeconfig } from '../cluster/cluster';
import type { Emulator, RequestLogEntry } from '../emulator';
import {
  cleanNamespace, createNamespace, CR_KINDS, kubectl, metricSum, releaseFinalizers, RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT,
  RunningReconciler, sleep, startReconciler,
} from '../integration/harness';

export const KINDS = CR_KINDS;

/** One failed expectation; the run goes on and reports them all. */
export class Checks {
  readonly failures: string[] = [];
  readonly passed: string[] = [];

  check(ok: boolean, what: string): boolean {
    (ok ? this.passed : this.failures).push(what);
    process.stderr.write(`${ok ? '  ok  ' : '  FAIL'} ${what}\n`);
    return ok;
  }
}

export function log(line: string): void {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export const random = (min: number, max: number) => min + Math.random() * (max - min);

/** A TCP relay to kube-apiserver: the reconciler talks through it, so that its connections (watches) can be cut. */
export class ApiserverRelay {
  private readonly sockets = new Set<net.Socket>();
  private server!: net.Server;
  port = 0;
  cuts = 0;

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.upstreamPort, '127.0.0.1');
      for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
        this.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Destroys every open connection, watches included, as a network partition or a load-balancer reset would. */
  cut(): number {
    const n = this.sockets.size / 2;
    for (const s of this.sockets) s.destroy();
    this.cuts++;
    return n;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** A copy of a kubeconfig whose server is this relay (the apiserver's certificate is for 127.0.0.1, any port). */
  kubeconfig(original: string): string {
    const config = JSON.parse(readFileSync(original, 'utf8'));
    for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${this.port}`;
    const file = path.join(CLUSTER_DIR, 'tokens', `relay-${this.port}.kubeconfig`);
    writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
    return file;
  }
}

export function apiserverPort(): number {
  const state = JSON.parse(readFileSync(path.join(CLUSTER_DIR, 'state.json'), 'utf8'));
  return Number(new URL(state.server).port);
}

/**
 * Keeps one reconciler running and kills it with SIGKILL at random moments while a phase is under way; every
 * instance's output is kept for the Secret scan.
 */
export class ReconcilerSupervisor {
  /** Every supervisor of the run, to stop them all when the run is interrupted. */
  static readonly all = new Set<ReconcilerSupervisor>();

  current: RunningReconciler | undefined;
  kills = 0;
  starts = 0;
  /** Output of every instance, current one last. */
  readonly outputs: (() => string)[] = [];
  private killing = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly emulator: Emulator,
    private readonly clientId: string,
    private readonly label: string,
    private readonly args: string[],
    private readonly env: Record<string, string> = {},
  ) {}

  start(): RunningReconciler {
    ReconcilerSupervisor.all.add(this);
    const r = startReconciler(this.emulator, this.clientId, { name: `${this.label}-${++this.starts}`, args: this.args, env: this.env });
    this.current = r;
    this.outputs.push(() => r.logs());
    return r;
  }

  /** SIGKILL now (the moment is the caller's), then start a new instance. */
  async killAndRestart(): Promise<void> {
    await this.current?.stop('SIGKILL');
    this.kills++;
    this.start();
  }

  /**
   * Kills at random intervals (uniform within the range) until stopKilling(); the first one soon (within 0.3-2 s), so
   * that even a short phase gets one.
   */
  startKilling(minMs: number, maxMs: number, maxKills = Infinity): void {
    this.killing = true;
    this.loop = (async () => {
      let n = 0;
      while (this.killing && n < maxKills) {
        await sleep(n === 0 ? random(300, 2000) : random(minMs, maxMs));
        if (!this.killing) break;
        await this.killAndRestart();
        n++;
      }
    })();
  }

  async stopKilling(): Promise<void> {
    this.killing = false;
    await this.loop;
  }

  /** Whether an instance died by itself (not killed by us): a crash. */
  crashed(): boolean {
    const r = this.current;
    return !!r && (r.process.exitCode !== null || (r.process.signalCode !== null && r.process.signalCode !== 'SIGKILL'));
  }

  logs(): string {
    return this.outputs.map((o) => o()).join('\n');
  }

  async stop(): Promise<void> {
    await this.stopKilling();
    await this.current?.stop();
  }
}

/** Every request the emulator answered, read from its bounded log often enough to miss none. */
export class RequestRecorder {
  readonly entries: RequestLogEntry[] = [];
  private seen: number;
  private timer: NodeJS.Timeout;

  constructor(private readonly emulator: Emulator) {
    this.seen = emulator.admin.requests().total;
    this.timer = setInterval(() => this.poll(), 500);
  }

  poll(): void {
    const r = this.emulator.admin.requests();
    const fresh = r.total - this.seen;
    if (fresh > r.log.length) throw new Error(`the emulator's request log overflowed (${fresh} new entries, ${r.log.length} kept)`);
    if (fresh > 0) this.entries.push(...r.log.slice(r.log.length - fresh));
    this.seen = r.total;
  }

  stop(): void {
    this.poll();
    clearInterval(this.timer);
  }
}

/** Connects with a connection Secret's own fields (its password), runs `select current_user`, and returns it. */
export async function connectWithSecret(secret: Record<string, string>, caPem: string): Promise<string> {
  const client = new Client({
    host: secret.host,
    port: Number(secret.port),
    user: secret.username,
    password: secret.password,
    database: secret.dbname,
    ssl: { ca: caPem },
    connectionTimeoutMillis: 15_000,
  });
  await client.connect();
  try {
    return (await client.query('select current_user')).rows[0].current_user;
  } finally {
    await client.end();
  }
}

export function listJson(kind: string, namespace?: string): any[] {
  const r = kubectl(['get', kind, ...(namespace ? ['-n', namespace] : ['-A']), '-o', 'json'], { check: true });
  return JSON.parse(r.stdout).items ?? [];
}

/** Removes what is left in a namespace (finalizers included) and the namespace. */
export function wipeNamespace(namespace: string): void {
  cleanNamespace(namespace, { wait: false });
}

/** The reconciler's ServiceAccount kubeconfig through the relay. */
export function relayedKubeconfig(relay: ApiserverRelay): string {
  return relay.kubeconfig(serviceAccountKubeconfig(RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT, { duration: '2h' }));
}

/** Requests to kube-apiserver, full LISTs after the first ones, and ended WATCHes, from the reconciler's own metrics. */
export async function apiserverTraffic(r: RunningReconciler): Promise<{ requests: number; relists: number; watchesEnded: number }> {
  const text = await r.metrics();
  return {
    requests: metricSum(text, 'rest_client_requests_total'),
    relists: metricSum(text, 'cdk8s_azure_informer_lists_total') - metricSum(text, 'cdk8s_azure_informer_lists_total', { reason: 'initial' }),
    watchesEnded: metricSum(text, 'cdk8s_azure_informer_watches_total'),
  };
}

/** The servers in the emulated Azure, as ARM answers them (name, tags, ...). */
export function azureServers(emulator: Emulator): { name: string; id: string; tags?: Record<string, string> }[] {
  return ((emulator.admin.resources() as any).servers ?? []) as { name: string; id: string; tags?: Record<string, string> }[];
}

/** An empty namespace: what a previous, interrupted run left in it is released (finalizers) and deleted first. */
export function freshNamespace(namespace: string): string {
  releaseFinalizers(namespace);
  return createNamespace(namespace);
}
