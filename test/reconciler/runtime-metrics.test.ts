/**
 * Operability of a running manager against the real API server: /metrics with controller-runtime's metric names,
 * /healthz (including the wedged-reconcile detector), /readyz (informers synced), and log redaction.
 */
import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { waitFor } from './helpers/kube-testing';
import type { Controller, ObjectKey, ReconcileResult } from '../../src/reconciler/contracts';
import { type RunningServer, probeRoutes, serve } from '../../src/reconciler/health';
import { KubeClient, loadKubeConfig } from '../../src/reconciler/kube/client';
import { createLogger, silentLogger } from '../../src/reconciler/log';
import { Metrics } from '../../src/reconciler/metrics';
import { Manager } from '../../src/reconciler/runtime/manager';
import { ensureCluster, kubectl } from '../cluster/cluster';

const REQUIRED_METRICS = [
  'controller_runtime_reconcile_total',
  'controller_runtime_reconcile_errors_total',
  'controller_runtime_reconcile_time_seconds',
  'controller_runtime_active_workers',
  'workqueue_depth',
  'workqueue_adds_total',
  'workqueue_queue_duration_seconds',
  'workqueue_work_duration_seconds',
  'workqueue_retries_total',
  'workqueue_unfinished_work_seconds',
  'workqueue_longest_running_processor_seconds',
  'cdk8s_azure_arm_requests_total',
  'leader_election_master_status',
];

let kubeconfig: string;
let ns: string;
const servers: RunningServer[] = [];
const managers: Manager[] = [];

before(async () => {
  ({ kubeconfig } = await ensureCluster());
  kubectl(['apply', '-f', 'crds/'], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/'], { check: true });
  ns = `metrics-${Date.now().toString(36)}`;
  kubectl(['create', 'namespace', ns], { check: true });
});

after(async () => {
  for (const m of managers) await m.stop();
  for (const s of servers) await s.close();
  kubectl(['delete', 'namespace', ns, '--wait=false']);
});

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

describe('metrics and probes (real API server)', () => {
  it('serves controller-runtime metrics, /healthz, /readyz; a wedged reconcile fails /healthz', async () => {
    kubectl(['create', '-n', ns, '-f', '-'], {
      check: true,
      input: JSON.stringify({
        apiVersion: 'cdk8s-azure.dev/v1alpha1',
        kind: 'PostgresFirewallRule',
        metadata: { name: 'ok' },
        spec: { serverRef: { name: 's' }, azureName: 'ok', startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' },
      }),
    });
    let release: () => void = () => undefined;
    const controller: Controller = {
      kind: 'PostgresFirewallRule',
      reconcile: async (key: ObjectKey): Promise<ReconcileResult> => {
        if (key.name === 'hang') await new Promise<void>((r) => (release = r));
        if (key.name === 'ok') throw new Error('first reconcile fails');
        return {};
      },
    };
    const metrics = new Metrics();
    const m = new Manager({
      client: new KubeClient(loadKubeConfig(kubeconfig)),
      log: silentLogger(),
      metrics,
      namespace: ns,
      controllers: () => [controller],
      leaderElection: { namespace: ns, name: 'metrics-test', identity: 'me' },
      wedgedAfterMs: 500,
      shutdownGraceMs: 100,
    });
    managers.push(m);
    const probes = await serve({ host: '127.0.0.1', port: 0 }, probeRoutes(() => m.liveness(), () => m.readiness()), silentLogger());
    const metricsServer = await serve({ host: '127.0.0.1', port: 0 }, {
      '/metrics': async (_req, res) => {
        const r = await metrics.render();
        res.writeHead(200, { 'Content-Type': r.contentType }).end(r.body);
      },
    }, silentLogger());
    servers.push(probes, metricsServer);

    assert.equal((await get(probes.port, '/readyz')).status, 503, 'not ready before the informers synced');
    m.start();
    await waitFor('ready', async () => (await get(probes.port, '/readyz')).status === 200, 20_000);
    assert.deepEqual(await get(probes.port, '/healthz'), { status: 200, body: 'ok\n' });
    assert.equal((await get(probes.port, '/nope')).status, 404);

    await waitFor('leader and reconciled with an error', async () =>
      /controller_runtime_reconcile_errors_total\{controller="postgresfirewallrule"\} [1-9]/.test((await get(metricsServer.port, '/metrics')).body), 20_000);
    metrics.onArmResponse('put', 'flexibleServers', 201);
    const { status, body } = await get(metricsServer.port, '/metrics');
    assert.equal(status, 200);
    for (const name of REQUIRED_METRICS) assert.match(body, new RegExp(`^# TYPE ${name} `, 'm'), `exposes ${name}`);
    assert.match(body, /leader_election_master_status\{name="metrics-test"\} 1/);
    assert.match(body, /cdk8s_azure_arm_requests_total\{method="PUT",resource_type="flexibleServers",code="201"\} 1/);
    assert.match(body, /workqueue_adds_total\{name="postgresfirewallrule"\} [1-9]/);
    assert.match(body, /workqueue_retries_total\{name="postgresfirewallrule"\} [1-9]/);
    assert.match(body, /rest_client_requests_total|process_resident_memory_bytes/);
    assert.match(body, /^process_resident_memory_bytes \d+/m);

    // A reconcile that never returns: the liveness probe reports it once it exceeds the threshold.
    kubectl(['create', '-n', ns, '-f', '-'], {
      check: true,
      input: JSON.stringify({
        apiVersion: 'cdk8s-azure.dev/v1alpha1',
        kind: 'PostgresFirewallRule',
        metadata: { name: 'hang' },
        spec: { serverRef: { name: 's' }, azureName: 'hang', startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' },
      }),
    });
    const wedged = await waitFor('healthz fails', async () => {
      const r = await get(probes.port, '/healthz');
      return r.status === 503 ? r : undefined;
    }, 10_000);
    assert.match(wedged.body, /controller postgresfirewallrule: a reconcile has been running for \d+ s/);
    assert.match((await get(metricsServer.port, '/metrics')).body, /workqueue_longest_running_processor_seconds\{name="postgresfirewallrule"\} (0\.[5-9]|[1-9])/);
    release();
    await waitFor('healthz recovers', async () => (await get(probes.port, '/healthz')).status === 200, 5000);
  });

  it('redacts password, token and authorization fields in logs', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    log.info({ password: 'hunter2', cfg: { clientSecret: 'cs-1', token: 'tok-1' }, req: { headers: { authorization: 'Bearer abc' } } }, 'x');
    log.child({ accessToken: 'at-1' }).warn({ a: { b: { adminPassword: 'pw-2' } } }, 'y');
    const out = lines.join('');
    for (const secret of ['hunter2', 'cs-1', 'tok-1', 'Bearer abc', 'at-1', 'pw-2']) assert.ok(!out.includes(secret), `leaked ${secret}: ${out}`);
    assert.match(out, /"password":"\[REDACTED\]"/);
    assert.match(out, /"level":"info"/);
  });
});
