/**
 * Millisecond times at which objects of one kind became Ready (Ready=True for their generation) or were deleted, from a
 * kubectl watch of the test cluster (conditions carry whole seconds only). A time is when this process read the line:
 * right only while its event loop is free (a spawnSync of kubectl beside it stamps everything at its end).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ensureCluster } from '../test/cluster/cluster';

const SEP = '|';
const JSONPATH = `{.type}${SEP}{.object.metadata.name}${SEP}{.object.metadata.generation}${SEP}{.object.status.observedGeneration}${SEP}`
  + `{.object.status.conditions[?(@.type=="Ready")].status}${SEP}{.object.metadata.deletionTimestamp}${SEP}{.object.data.host}{"\\n"}`;

export class ReadyWatch {
  /** Name -> first time (Date.now()) seen Ready for its generation. */
  readonly readyAt = new Map<string, number>();
  /** Name -> time its DELETED event arrived. */
  readonly deletedAt = new Map<string, number>();
  /** Name -> first time seen (ADDED): when a created object reached the API server, as this watch saw it. */
  readonly addedAt = new Map<string, number>();
  /** Name -> first time seen with a deletionTimestamp: when its delete reached the API server (it has a finalizer). */
  readonly deletingAt = new Map<string, number>();
  /** Secrets: name -> first time it had a `host` key (a connection Secret written with the server's address). */
  readonly hostAt = new Map<string, number>();
  private child?: ChildProcess;
  private buffer = '';

  constructor(private readonly resource: string, private readonly namespace: string) {}

  async start(): Promise<this> {
    const cluster = await ensureCluster();
    const env = { ...process.env };
    delete env.KUBECONFIG;
    this.child = spawn(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfig, 'get', this.resource, '-n', this.namespace,
      '--watch', '--output-watch-events', '-o', `jsonpath=${JSONPATH}`], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (d: Buffer) => this.onData(d.toString()));
    // The watch is open once kubectl has listed (an empty namespace prints nothing): give it a moment.
    await new Promise((r) => setTimeout(r, 1500));
    return this;
  }

  stop(): void {
    this.child?.kill('SIGTERM');
  }

  private onData(text: string): void {
    const now = Date.now();
    this.buffer += text;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      const [type, name, generation, observed, ready, deletionTimestamp, host] = line.split(SEP);
      if (!name) continue;
      if (host && !this.hostAt.has(name)) this.hostAt.set(name, now);
      if (type === 'ADDED' && !this.addedAt.has(name)) this.addedAt.set(name, now);
      if (deletionTimestamp && !this.deletingAt.has(name)) this.deletingAt.set(name, now);
      if (type === 'DELETED') {
        this.deletedAt.set(name, now);
        continue;
      }
      if (ready === 'True' && generation === observed && !this.readyAt.has(name)) this.readyAt.set(name, now);
    }
  }
}
