// Test helper for the local control plane built by test/cluster (real etcd +
// kube-apiserver + kube-controller-manager from k8s.io/kubernetes v1.34.4).
// Only node: builtins; works under jest (ts-jest) and node --test (tsx).
//
//   const { kubeconfig } = await ensureCluster();   // starts it if needed (idempotent)
//   kubectl(['get', 'ns'], { check: true });
//   const saKubeconfig = serviceAccountKubeconfig('ns', 'reconciler');
//   kubectl(['auth', 'can-i', 'list', 'configmaps'], { kubeconfig: saKubeconfig });
//   await stopCluster();
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Repository root (this file is <root>/test/cluster/cluster.ts). */
const ROOT = path.resolve(__dirname, '..', '..');
/** Cluster state dir; same default and override as start.sh / stop.sh. */
export const CLUSTER_DIR = path.resolve(process.env.TESTCLUSTER_DIR ?? path.join(ROOT, '.cluster'));
const BIN = path.join(CLUSTER_DIR, 'bin', 'testcluster');
const KUBECTL = path.join(CLUSTER_DIR, 'bin', 'kubectl');
const KUBECONFIG = path.join(CLUSTER_DIR, 'kubeconfig');
const CA_FILE = path.join(CLUSTER_DIR, 'pki', 'ca.crt');

export interface ClusterInfo {
  /** Admin kubeconfig (client cert in group system:masters). */
  readonly kubeconfig: string;
  /** kube-apiserver URL, https://127.0.0.1:<port>. */
  readonly server: string;
  /** CA that signed the apiserver serving certificate. */
  readonly caFile: string;
  /** The embedded kubectl (multi-call binary symlink). */
  readonly kubectlPath: string;
}

export interface KubectlOptions {
  /** stdin, e.g. a manifest for `apply -f -`. */
  readonly input?: string;
  /** Kubeconfig to use instead of the admin one (see serviceAccountKubeconfig). */
  readonly kubeconfig?: string;
  readonly timeoutMs?: number;
  /** Throw if kubectl exits non-zero. */
  readonly check?: boolean;
}

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; -1 if kubectl was killed (e.g. timeout). */
  readonly status: number;
}

let starting: Promise<ClusterInfo> | undefined;

function env(): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.KUBECONFIG; // never talk to whatever cluster the developer has configured
  return e;
}

function info(): ClusterInfo {
  const state = JSON.parse(readFileSync(path.join(CLUSTER_DIR, 'state.json'), 'utf8')) as { server: string };
  return { kubeconfig: KUBECONFIG, server: state.server, caFile: CA_FILE, kubectlPath: KUBECTL };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (d: Buffer) => {
      output += d.toString();
      process.stderr.write(d); // progress (a cold Go build takes minutes)
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function healthy(): boolean {
  if (!existsSync(BIN)) return false;
  return spawnSync(BIN, ['status', '--dir', CLUSTER_DIR], { env: env(), stdio: 'ignore', timeout: 20_000 }).status === 0;
}

/**
 * Starts the test control plane unless a healthy one is already running
 * (test/cluster/start.sh: go build + `testcluster start`). Safe to call from
 * every test file and from parallel workers (start serializes on a lock file).
 */
export function ensureCluster(): Promise<ClusterInfo> {
  if (!starting) {
    starting = (async () => {
      if (!healthy()) {
        const timeout = Number(process.env.TESTCLUSTER_START_TIMEOUT_MS ?? 15 * 60_000);
        const { code, output } = await run('bash', [path.join(__dirname, 'start.sh')], timeout);
        if (code !== 0) {
          throw new Error(`test/cluster/start.sh failed (exit ${code}):\n${output.slice(-4000)}`);
        }
      }
      return info();
    })();
    starting.catch(() => { starting = undefined; });
  }
  return starting;
}

/** Stops the control plane and removes its state (test/cluster/stop.sh). */
export async function stopCluster(): Promise<void> {
  starting = undefined;
  const { code, output } = await run('bash', [path.join(__dirname, 'stop.sh')], 5 * 60_000);
  if (code !== 0) throw new Error(`test/cluster/stop.sh failed (exit ${code}):\n${output}`);
}

/** Runs the embedded kubectl against the test cluster (admin kubeconfig unless opts.kubeconfig). */
export function kubectl(args: string[], opts: KubectlOptions = {}): KubectlResult {
  const r = spawnSync(KUBECTL, ['--kubeconfig', opts.kubeconfig ?? KUBECONFIG, ...args], {
    cwd: ROOT,
    env: env(),
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const result: KubectlResult = {
    stdout: r.stdout ?? '',
    stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : ''),
    status: r.status ?? -1,
  };
  if (opts.check && result.status !== 0) {
    throw new Error(`kubectl ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  }
  return result;
}

/**
 * Writes a kubeconfig that authenticates as ServiceAccount namespace/name with
 * a TokenRequest token (`kubectl create token`) and no client certificate, so
 * RBAC applies exactly as for the reconciler in a real cluster. Returns its path.
 */
export function serviceAccountKubeconfig(namespace: string, name: string, opts: { duration?: string; audience?: string } = {}): string {
  const args = ['create', 'token', name, '-n', namespace, '--duration', opts.duration ?? '1h'];
  if (opts.audience) args.push('--audience', opts.audience);
  const token = kubectl(args, { check: true }).stdout.trim();
  const { server } = info();
  const file = path.join(CLUSTER_DIR, 'tokens', `${namespace}.${name}.kubeconfig`);
  mkdirSync(path.dirname(file), { recursive: true });
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'testcluster', cluster: { 'server': server, 'certificate-authority-data': readFileSync(CA_FILE).toString('base64') } }],
    users: [{ name: `${namespace}:${name}`, user: { token } }],
    contexts: [{ name: 'testcluster', context: { cluster: 'testcluster', user: `${namespace}:${name}`, namespace } }],
    ['current-context']: 'testcluster',
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return file;
}

/** A component of the control plane that restartComponent can restart. */
export type ClusterComponent = 'etcd' | 'kube-apiserver';

/**
 * Kills one component of the running control plane (SIGKILL: a crash, not a shutdown) and starts it again with the
 * same command line, log file and data, as a supervisor would; returns when `testcluster status` is healthy again.
 * State (state.json) follows the new PID, so cluster:stop and status keep working. Returns the downtime in ms.
 */
export async function restartComponent(component: ClusterComponent, timeoutMs = 120_000): Promise<number> {
  const stateFile = path.join(CLUSTER_DIR, 'state.json');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { pids: Record<string, number> };
  const pid = state.pids[component];
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  if (argv[1] !== component) throw new Error(`pid ${pid} is not ${component}: ${argv.join(' ')}`);
  const started = Date.now();
  process.kill(-pid, 'SIGKILL'); // its own process group (the supervisor starts each component with setsid)
  while (existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const deadline = Date.now() + timeoutMs;
  // Started again until it stays up, as the kubelet restarts a static pod: its port can be held for a moment (an
  // outgoing connection of another process took it as its ephemeral port), and the process exits.
  let child = startComponent(argv, state, stateFile);
  while (!healthy()) {
    if (Date.now() > deadline) throw new Error(`${component} not healthy ${timeoutMs} ms after its restart; see ${CLUSTER_DIR}/${component}.log`);
    await new Promise((r) => setTimeout(r, 200));
    if (child.exitCode !== null || child.signalCode !== null) {
      await new Promise((r) => setTimeout(r, 1000));
      child = startComponent(argv, state, stateFile);
    }
  }
  return Date.now() - started;
}

function startComponent(argv: string[], state: { pids: Record<string, number> }, stateFile: string): ChildProcess {
  const log = openSync(path.join(CLUSTER_DIR, `${argv[1]}.log`), 'a');
  const child = spawn(argv[0], argv.slice(1), { cwd: CLUSTER_DIR, env: env(), detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  state.pids[argv[1]] = child.pid!;
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  return child;
}
