/**
 * The image runs exactly `node /app/reconciler.js` with nothing but the bundle (and its source
 * map) in /app. This test builds the bundle with the project's bundle:reconciler command, copies it alone into an
 * empty directory (no node_modules anywhere up the tree), and runs it the same way: --help, bad flags, and against
 * the real control plane until it is ready and serves /metrics; then SIGTERM must exit 0 and release the Lease.
 */
import * as assert from 'node:assert/strict';
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './helpers/kube-testing';
import { ensureCluster, kubectl } from '../cluster/cluster';

const ROOT = path.resolve(__dirname, '..', '..');
const SUB = '00000000-0000-0000-0000-000000000000';
let appDir: string;
const children: ChildProcess[] = [];

/** The exact command of the bundle:reconciler task (.projen/tasks.json), so this test bundles as CI and the image do. */
function bundleCommand(): string {
  const tasks = JSON.parse(fs.readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8'));
  const step = tasks.tasks['bundle:reconciler'].steps.find((s: { exec?: string }) => s.exec);
  return step.exec;
}

/**
 * The Dockerfile's ENTRYPOINT (exec form), with /app/ mapped to the test's app directory: the test runs what the
 * image runs, and fails if the two drift apart.
 */
function entrypoint(): string[] {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const m = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
  assert.ok(m, 'Dockerfile has an exec-form ENTRYPOINT');
  const argv = JSON.parse(m[1]) as string[];
  assert.equal(argv[0], 'node');
  return argv.slice(1).map((a) => (a.startsWith('/app/') ? path.join(appDir, a.slice('/app/'.length)) : a));
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...entrypoint(), ...args], {
      cwd: appDir,
      env: { PATH: '/usr/bin:/bin', HOME: appDir, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function rssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
}

before(() => {
  execSync(bundleCommand(), { cwd: ROOT, stdio: 'pipe', env: { ...process.env, PATH: `${ROOT}/node_modules/.bin:${process.env.PATH}` } });
  appDir = fs.mkdtempSync(path.join(os.tmpdir(), 'reconciler-image-'));
  // Exactly what the Dockerfile copies into /app.
  const copy = /^COPY\s+(?:--\S+\s+)*(.+?)\s+\/app\/\s*$/m.exec(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  assert.ok(copy, 'Dockerfile copies into /app/');
  for (const src of copy[1].split(/\s+/)) fs.copyFileSync(path.join(ROOT, src), path.join(appDir, path.basename(src)));
  assert.deepEqual(fs.readdirSync(appDir).sort(), ['reconciler.js', 'reconciler.js.map']);
});

after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (appDir) fs.rmSync(appDir, { recursive: true, force: true });
});

describe('bundle/reconciler.js run as the image entrypoint', () => {
  it('is pure ASCII, so V8 holds its source at one byte per character (one other character doubles it)', () => {
    const source = fs.readFileSync(path.join(appDir, 'reconciler.js'), 'latin1');
    const offending = /[^\x00-\x7f]/.exec(source);
    assert.equal(offending, null, `non-ASCII byte at offset ${offending?.index}: ${source.slice((offending?.index ?? 0) - 60, (offending?.index ?? 0) + 20)}`);
  });

  it('--help exits 0 and documents every flag', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const flag of ['--kubeconfig', '--subscription-id', '--arm-endpoint', '--arm-scope', '--authority-host', '--postgres-ca-file',
      '--namespace', '--workers', '--resync-period', '--leader-elect', '--leader-election-namespace', '--leader-election-id',
      '--metrics-bind-address', '--health-probe-bind-address', '--log-level', '--shutdown-grace-period', '--help']) {
      assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    }
  });

  it('exits 2 with a clear message on a bad flag', async () => {
    const bad = await run([`--subscription-id=${SUB}`, '--workers=many']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid value "many" for --workers: must be a whole number from 1 to 100; e\.g\. --workers=4/);
    const missing = await run([]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing --subscription-id/);
    const unknown = await run(['--nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown flag --nope/);
  });

  it('against the real control plane: becomes ready, leads, serves /metrics, and shuts down cleanly on SIGTERM', async (t) => {
    const { kubeconfig } = await ensureCluster();
    kubectl(['apply', '-f', path.join(ROOT, 'crds')], { check: true });
    kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(ROOT, 'crds')], { check: true });
    const ns = `bundle-${Date.now().toString(36)}`;
    kubectl(['create', 'namespace', ns], { check: true });
    t.after(() => void kubectl(['delete', 'namespace', ns, '--wait=false']));
    const [metricsPort, probePort] = [await freePort(), await freePort()];

    const child = spawn(process.execPath, [...entrypoint(), '--leader-elect', `--leader-election-namespace=${ns}`], {
      cwd: appDir,
      env: {
        PATH: '/usr/bin:/bin',
        HOME: appDir,
        KUBECONFIG: kubeconfig,
        AZURE_SUBSCRIPTION_ID: SUB,
        WATCH_NAMESPACE: ns,
        METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`,
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${probePort}`,
        SHUTDOWN_GRACE_PERIOD: '5s',
      },
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const t0 = Date.now();
    await waitFor('/readyz 200', async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200, 30_000)
      .catch((err) => { throw new Error(`${err.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`); });
    const readyMs = Date.now() - t0;
    assert.equal((await fetch(`http://127.0.0.1:${probePort}/healthz`)).status, 200);
    await waitFor('lease held', () => {
      const r = kubectl(['get', 'lease', '-n', ns, 'cdk8s-azure-reconciler', '-o', 'jsonpath={.spec.holderIdentity}']);
      return r.status === 0 && r.stdout.length > 0;
    }, 15_000);

    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(res.status, 200);
    const body = await res.text();
    for (const name of ['controller_runtime_reconcile_total', 'controller_runtime_reconcile_errors_total', 'controller_runtime_reconcile_time_seconds',
      'controller_runtime_active_workers', 'workqueue_depth', 'workqueue_adds_total', 'workqueue_queue_duration_seconds',
      'workqueue_work_duration_seconds', 'workqueue_retries_total', 'workqueue_unfinished_work_seconds',
      'workqueue_longest_running_processor_seconds', 'cdk8s_azure_arm_requests_total', 'leader_election_master_status']) {
      assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'), `exposes ${name}`);
    }
    assert.match(body, /leader_election_master_status\{name="cdk8s-azure-reconciler"\} 1/);
    for (const kind of ['postgresserver', 'postgresdatabase', 'postgresfirewallrule', 'postgresrole']) {
      assert.match(body, new RegExp(`workqueue_depth\\{name="${kind}"\\} 0`), `controller ${kind} runs`);
    }

    // Every stdout line is a JSON log record.
    for (const line of stdout.trim().split('\n')) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);

    // Idle footprint: let startup garbage be collected, then sample.
    await sleep(Number(process.env.RECONCILER_IDLE_SECONDS ?? 10) * 1000);
    const rss = rssKiB(child.pid!);
    t.diagnostic(`ready after ${readyMs} ms; idle RSS ${(rss / 1024).toFixed(1)} MiB`);

    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    assert.equal(code, 0, `exit code after SIGTERM (stderr: ${stderr})`);
    assert.match(stdout, /"msg":"shutdown complete"/);
    const holder = kubectl(['get', 'lease', '-n', ns, 'cdk8s-azure-reconciler', '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.equal(holder.stdout, '', 'the Lease was released');
  });
});
