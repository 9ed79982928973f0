/**
 * End-to-end harness: the real control plane (test/cluster), the ARM emulator with real PostgreSQL (test/emulator),
 * and the reconciler run exactly as the image runs it (`node bundle/reconciler.js`), authenticated the way AKS
 * workload identity does it: a projected ServiceAccount token exchanged at the (emulated) Entra token endpoint.
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { ClientSecretCredential } from '@azure/identity';
import { Client } from 'pg';
import { ensureCluster, kubectl, serviceAccountKubeconfig, CLUSTER_DIR } from '../cluster/cluster';
import { Emulator, EmulatorOptions, startEmulator, trustEmulatorCa } from '../emulator';
import { connectOrClose } from '../reconciler/helpers/postgres-client';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BUNDLE = path.join(ROOT, 'bundle', 'reconciler.js');
export const RECONCILER_NAMESPACE = 'cdk8s-azure-system';
export const RECONCILER_SERVICE_ACCOUNT = 'cdk8s-azure-reconciler';
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');

/** The Node flags of the image's ENTRYPOINT (["node", ...flags, "/app/reconciler.js"]), so tests run it as the image does. */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  if (!entrypoint) throw new Error('Dockerfile has no exec-form ENTRYPOINT');
  const argv = JSON.parse(entrypoint[1]) as string[];
  return argv.slice(1, -1);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined/false, or fails with what it last saw. */
type Maybe<T> = T | undefined | false;

export async function waitFor<T>(what: string, check: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 120_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await sleep(intervalMs);
  }
}

/** Builds the bundle the image runs (esbuild, as `npm run bundle:reconciler`). */
export function buildBundle(): void {
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'esbuild'), [
    'src/reconciler/main.ts', '--bundle', '--platform=node', '--target=node22', '--sourcemap', '--legal-comments=none',
    '--minify-whitespace', '--charset=ascii', `--outfile=${BUNDLE}`, '--log-level=warning',
  ], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'ascii-bundle.mjs'), BUNDLE], { cwd: ROOT, stdio: 'ignore' });
}

/** Synthesizes a cdk8s program with tsx from the repository root and returns its YAML. */
export function synthWithTsx(script: string): string {
  return execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['-e', script], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** The example app's YAML, exactly as the README's main-job command prints it. */
export function exampleYaml(): string {
  return execFileSync('npm', ['run', '-s', 'example'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
}

export function apply(yaml: string, namespace?: string): void {
  kubectl(['apply', ...(namespace ? ['-n', namespace] : []), '-f', '-'], { input: yaml, check: true });
}

export function getJson<T = any>(kind: string, namespace: string, name?: string): T {
  return JSON.parse(kubectl(['get', kind, ...(name ? [name] : []), '-n', namespace, '-o', 'json'], { check: true }).stdout) as T;
}

export function tryGetJson<T = any>(kind: string, namespace: string, name: string): T | undefined {
  const r = kubectl(['get', kind, name, '-n', namespace, '-o', 'json', '--ignore-not-found']);
  return r.status === 0 && r.stdout.trim() ? JSON.parse(r.stdout) as T : undefined;
}

export function readyCondition(obj: any): { status: string; reason: string; message: string } | undefined {
  return (obj?.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
}

export function secretData(namespace: string, name: string): Record<string, string> {
  const s = getJson('secret', namespace, name);
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
}

/** The plural names of the project's custom resource kinds (kubectl get <kind>). */
export const CR_KINDS = ['postgresservers', 'postgresdatabases', 'postgresfirewallrules', 'postgresroles'];

/** Removes the finalizers of the custom resources in a namespace, which no reconciler may be left to honour. */
export function releaseFinalizers(namespace: string): void {
  for (const kind of CR_KINDS) {
    const list = JSON.parse(kubectl(['get', kind, '-n', namespace, '-o', 'json']).stdout || '{"items":[]}');
    for (const item of list.items ?? []) {
      kubectl(['patch', kind, item.metadata.name, '-n', namespace, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
  }
}

/**
 * Deletes a namespace with what is in it, including custom resources whose finalizers no reconciler will honour (an
 * interrupted run's leftovers, or a suite's own once its reconciler is stopped).
 */
export function cleanNamespace(namespace: string, opts: { wait?: boolean } = {}): void {
  releaseFinalizers(namespace);
  kubectl(['delete', 'namespace', namespace, '--ignore-not-found', ...(opts.wait === false ? ['--wait=false'] : ['--wait=true', '--timeout=120s'])]);
}

export function createNamespace(name: string): string {
  kubectl(['delete', 'namespace', name, '--ignore-not-found', '--wait=true', '--timeout=60s']);
  kubectl(['create', 'namespace', name], { check: true });
  return name;
}

/**
 * Installs what the reconciler needs in the cluster from the install construct itself (CRDs, namespace,
 * ServiceAccount, ClusterRole and bindings), so the tests prove its RBAC is enough. The Deployment is applied
 * too; nothing runs it (no kubelet), the tests run the bundle in its place.
 */
export function installReconcilerManifests(subscriptionId: string): void {
  const yaml = synthWithTsx(`
    const { App, Chart, YamlOutputType } = require('cdk8s');
    const { Reconciler } = require('./src');
    const app = new App({ yamlOutputType: YamlOutputType.FILE_PER_APP });
    const chart = new Chart(app, 'install');
    new Reconciler(chart, 'reconciler', { subscriptionId: ${JSON.stringify(subscriptionId)}, clientId: '00000000-0000-0000-0000-000000000000' });
    process.stdout.write(app.synthYaml());
  `);
  apply(yaml);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=cdk8s-azure'], { check: true });
}

/** An end-to-end suite's Azure side, with the control plane it runs on ready for the reconciler. */
export interface Stack {
  readonly emulator: Emulator;
  /** The client id of the reconciler's workload identity. */
  readonly clientId: string;
  /** The test's own view of Azure. */
  readonly arm: PostgreSQLManagementFlexibleServerClient;
}

/**
 * Starts (or reuses) the control plane, builds the bundle, starts the ARM emulator, installs the reconciler's
 * manifests and registers its workload identity: everything an e2e suite needs before it starts the reconciler.
 */
export async function startStack(emulatorOptions: EmulatorOptions): Promise<Stack> {
  await ensureCluster();
  buildBundle();
  const emulator = await startEmulator(emulatorOptions);
  trustEmulatorCa(emulator);
  installReconcilerManifests(emulator.subscriptionId);
  return { emulator, clientId: registerWorkloadIdentity(emulator), arm: armClient(emulator) };
}

/** Registers a federated application in the emulator that trusts the reconciler's ServiceAccount, as on AKS. */
export function registerWorkloadIdentity(emulator: Emulator): string {
  const clientId = '5a1e6b9c-2f3d-4c8e-9a7b-1d2e3f4a5b6c';
  emulator.admin.addClient({
    clientId,
    federatedCredentials: [{ subject: `system:serviceaccount:${RECONCILER_NAMESPACE}:${RECONCILER_SERVICE_ACCOUNT}`, audience: 'api://AzureADTokenExchange' }],
  });
  return clientId;
}

export interface RunningReconciler {
  readonly process: ChildProcess;
  readonly name: string;
  readonly metricsPort: number;
  readonly healthPort: number;
  logs(): string;
  metrics(): Promise<string>;
  /** SIGTERM and wait for exit (SIGKILL after the timeout); returns the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

let nextPort = 19000 + Math.floor(Math.random() * 2000) * 2;

/** Starts `node bundle/reconciler.js` as the ServiceAccount, with workload identity against the emulator. */
export interface ReconcilerOptions {
  readonly name: string;
  readonly args?: string[];
  readonly env?: Record<string, string>;
}

export function startReconciler(emulator: Emulator, clientId: string, opts: ReconcilerOptions): RunningReconciler {
  const kubeconfig = serviceAccountKubeconfig(RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT, { duration: '2h' });
  // The projected token AKS mounts for workload identity: a ServiceAccount token for the Entra audience.
  const federatedToken = kubectl(['create', 'token', RECONCILER_SERVICE_ACCOUNT, '-n', RECONCILER_NAMESPACE, '--audience', 'api://AzureADTokenExchange', '--duration', '2h'], { check: true }).stdout.trim();
  const tokenFile = path.join(CLUSTER_DIR, 'tokens', `${opts.name}.azure-identity-token`);
  mkdirSync(path.dirname(tokenFile), { recursive: true });
  writeFileSync(tokenFile, federatedToken, { mode: 0o600 });

  const metricsPort = nextPort++;
  const healthPort = nextPort++;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    KUBECONFIG: kubeconfig,
    POD_NAMESPACE: RECONCILER_NAMESPACE,
    POD_NAME: opts.name,
    AZURE_SUBSCRIPTION_ID: emulator.subscriptionId,
    AZURE_RESOURCE_MANAGER_ENDPOINT: emulator.armEndpoint,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: clientId,
    AZURE_FEDERATED_TOKEN_FILE: tokenFile,
    NODE_EXTRA_CA_CERTS: emulator.caCertPath,
    POSTGRES_CA_FILE: emulator.caCertPath,
    // The install's ServiceAccount cannot read the kube-system namespace (the default cluster identity).
    CLUSTER_ID: 'integration-tests',
    ...opts.env,
  };
  const child = spawn(NODE, [...imageNodeFlags(), BUNDLE,
    `--metrics-bind-address=127.0.0.1:${metricsPort}`, `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    ...(opts.args ?? [])], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 4_000_000) output = output.slice(-2_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    process: child,
    name: opts.name,
    metricsPort,
    healthPort,
    logs: () => output,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    stop: async (signal = 'SIGTERM', timeoutMs = 30_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Stops a reconciler; when it did not exit cleanly, its last logs go to stderr. */
export async function stopReconciler(reconciler: RunningReconciler | undefined): Promise<void> {
  const code = await reconciler?.stop();
  if (code !== 0 && code !== null && code !== undefined) process.stderr.write(`reconciler ${reconciler!.name} exited ${code}; last logs:\n${reconciler!.logs().slice(-5000)}\n`);
}

/** Waits until a custom resource is Ready=True and returns it; on timeout the error carries the reconciler's last logs. */
export async function waitReady(kind: string, namespace: string, name: string, reconciler?: RunningReconciler, timeoutMs = 240_000): Promise<any> {
  return waitFor(`${kind} ${namespace}/${name} Ready`, () => {
    const obj = tryGetJson(kind, namespace, name);
    return readyCondition(obj)?.status === 'True' ? obj : undefined;
  }, timeoutMs, 1000).catch((e: Error) => {
    throw new Error(`${e.message}${reconciler ? `\nreconciler logs:\n${reconciler.logs().slice(-4000)}` : ''}`);
  });
}

/**
 * Connects to real PostgreSQL as an app does from its connection Secret: host, port, dbname and username, over TLS
 * verified against the Secret's ca.crt. The password is the Secret's unless given (a token, for passwordless roles).
 */
export function connect(secret: Record<string, string>, opts: { database?: string; password?: string } = {}): Promise<Client> {
  return connectOrClose({
    host: secret.host,
    port: Number(secret.port),
    user: secret.username,
    password: opts.password ?? secret.password,
    database: opts.database ?? secret.dbname,
    ca: secret['ca.crt'],
    connectionTimeoutMillis: 10_000,
  });
}

/** Runs one statement on a fresh connection and returns its rows. */
export async function sql(secret: Record<string, string>, text: string, opts: { database?: string; password?: string } = {}): Promise<any[]> {
  const client = await connect(secret, opts);
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

/** Asserts that a connection attempt fails with the given PostgreSQL (or socket) error code. */
export async function expectRefused(attempt: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(attempt, (e: { code?: string; message?: string }) => {
    assert.equal(e.code, code, `${what}: expected ${code}, got ${e.code} ${e.message}`);
    return true;
  }, what);
}

/** Sum of a Prometheus counter's samples whose labels include all of `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})?\s+([-+\d.eE]+|NaN|[+-]Inf)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => ls[k] === v)) sum += Number(m[4]);
  }
  return sum;
}

/** An Azure SDK client for the emulator, as the test's own principal: to look at Azure from the outside. */
export function armClient(emulator: Emulator): PostgreSQLManagementFlexibleServerClient {
  const credential = new ClientSecretCredential(emulator.tenantId, emulator.clientId, emulator.clientSecret, {
    authorityHost: emulator.authorityHost,
    disableInstanceDiscovery: true,
  });
  return new PostgreSQLManagementFlexibleServerClient(credential, emulator.subscriptionId, { endpoint: emulator.armEndpoint });
}

export { ensureCluster, kubectl };
