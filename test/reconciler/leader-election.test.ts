/**
 * Lease leader election against the real API server, with client-go's timings (lease 15 s, renew deadline 10 s,
 * retry 2 s): one leader; takeover after a crash (~15 s) or a release (~2 s); a partitioned leader gives up within the
 * renew deadline; a manager runs its controllers only while it leads.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TcpProxy, kubeConfigVia, serverOf, waitFor } from './helpers/kube-testing';
import type { Controller, ObjectKey, ReconcileResult } from '../../src/reconciler/contracts';
import { KubeClient, loadKubeConfig } from '../../src/reconciler/kube/client';
import { silentLogger } from '../../src/reconciler/log';
import { Metrics } from '../../src/reconciler/metrics';
import { LeaderElector } from '../../src/reconciler/runtime/leader';
import { Manager } from '../../src/reconciler/runtime/manager';
import { ensureCluster, kubectl } from '../cluster/cluster';

let kubeconfig: string;
const log = silentLogger();
const namespaces: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

function newNamespace(prefix: string): string {
  const ns = `${prefix}-${Date.now().toString(36)}`;
  kubectl(['create', 'namespace', ns], { check: true });
  namespaces.push(ns);
  return ns;
}

function lease(ns: string, name: string): any {
  return JSON.parse(kubectl(['get', 'lease', '-n', ns, name, '-o', 'json'], { check: true }).stdout);
}

function elector(ns: string, identity: string, client = new KubeClient(loadKubeConfig(kubeconfig)), events: string[] = []) {
  const metrics = new Metrics({ defaultMetrics: false });
  const e = new LeaderElector({
    client,
    namespace: ns,
    name: 'reconciler',
    identity,
    log,
    metrics,
    onStartedLeading: () => events.push(`${identity}:started`),
    onStoppedLeading: () => events.push(`${identity}:stopped`),
  });
  cleanups.push(() => e.stop(false));
  return { e, metrics, events };
}

before(async () => {
  ({ kubeconfig } = await ensureCluster());
  kubectl(['apply', '-f', 'crds/'], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/'], { check: true });
});

after(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
  for (const ns of namespaces) kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('leader election (real API server)', () => {
  it('elects one leader; a standby takes over ~15 s after the leader stops renewing (crash, no release)', async () => {
    const ns = newNamespace('le-crash');
    const a = elector(ns, 'a');
    const b = elector(ns, 'b');
    a.e.start();
    await waitFor('a leads', () => a.e.isLeader, 10_000);
    b.e.start();
    await sleep(5000);
    assert.equal(b.e.isLeader, false, 'only one leader');
    assert.equal(lease(ns, 'reconciler').spec.holderIdentity, 'a');
    assert.match(await a.metrics.registry.metrics(), /leader_election_master_status\{name="reconciler"\} 1/);
    assert.match(await b.metrics.registry.metrics(), /leader_election_master_status\{name="reconciler"\} 0/);

    await a.e.stop(false); // crash: stop renewing, keep the lease
    const t0 = Date.now();
    await waitFor('b takes over', () => b.e.isLeader, 30_000);
    const took = (Date.now() - t0) / 1000;
    // b must wait out the 15 s lease (minus the up to ~2 s since a's last renewal), plus up to one jittered retry.
    assert.ok(took >= 11 && took <= 22, `takeover after ${took.toFixed(1)} s`);
    const l = lease(ns, 'reconciler');
    assert.equal(l.spec.holderIdentity, 'b');
    assert.equal(l.spec.leaseTransitions, 1);
    assert.equal(l.spec.leaseDurationSeconds, 15);
    assert.match(l.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.deepEqual(b.events, ['b:started']);
  });

  it('releases the lease on graceful stop, and the standby takes over within a few seconds', async () => {
    const ns = newNamespace('le-release');
    const a = elector(ns, 'a');
    const b = elector(ns, 'b');
    a.e.start();
    await waitFor('a leads', () => a.e.isLeader, 10_000);
    b.e.start();
    await sleep(2500);
    await a.e.stop(true);
    const t0 = Date.now();
    assert.equal(lease(ns, 'reconciler').spec.holderIdentity, undefined, 'released: no holder');
    await waitFor('b takes over', () => b.e.isLeader, 10_000);
    const took = (Date.now() - t0) / 1000;
    assert.ok(took <= 6, `takeover after a release took ${took.toFixed(1)} s`);
    assert.match(await a.metrics.registry.metrics(), /leader_election_master_status\{name="reconciler"\} 0/);
  });

  it('a leader that cannot renew (partitioned) gives up within the renew deadline', async () => {
    const ns = newNamespace('le-partition');
    const proxy = new TcpProxy(serverOf(kubeconfig));
    const port = await proxy.start();
    cleanups.push(() => proxy.stop());
    const a = elector(ns, 'a', new KubeClient(kubeConfigVia(kubeconfig, port)));
    a.e.start();
    await waitFor('a leads', () => a.e.isLeader, 10_000);
    await sleep(1000);
    proxy.refuse(true);
    proxy.cut();
    const t0 = Date.now();
    await waitFor('a stops leading', () => a.events.includes('a:stopped'), 20_000);
    const took = (Date.now() - t0) / 1000;
    // The deadline counts from the last successful renewal (up to ~2 s before the partition).
    assert.ok(took >= 7 && took <= 12, `gave up after ${took.toFixed(1)} s`);
    assert.equal(a.e.isLeader, false);
    assert.match(await a.metrics.registry.metrics(), /leader_election_master_status\{name="reconciler"\} 0/);
  });

  it('a leader whose lease was taken over by someone else gives up, and does not overwrite it', async () => {
    const ns = newNamespace('le-taken');
    const a = elector(ns, 'a');
    a.e.start();
    await waitFor('a leads', () => a.e.isLeader, 10_000);
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    kubectl(['patch', 'lease', '-n', ns, 'reconciler', '--type=merge', '-p',
      JSON.stringify({ spec: { holderIdentity: 'intruder', renewTime: now, acquireTime: now, leaseDurationSeconds: 3600 } })], { check: true });
    const t0 = Date.now();
    await waitFor('a stops leading', () => a.events.includes('a:stopped'), 20_000);
    assert.ok((Date.now() - t0) / 1000 <= 12);
    assert.equal(lease(ns, 'reconciler').spec.holderIdentity, 'intruder', 'a valid foreign lease is never overwritten');
  });

  it('a manager runs controllers only while it leads; the standby reconciles after a graceful handover', async () => {
    const ns = newNamespace('le-manager');
    for (const name of ['one', 'two']) {
      kubectl(['create', '-n', ns, '-f', '-'], {
        check: true,
        input: JSON.stringify({
          apiVersion: 'cdk8s-azure.dev/v1alpha1',
          kind: 'PostgresFirewallRule',
          metadata: { name },
          spec: { serverRef: { name: 's' }, azureName: name, startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' },
        }),
      });
    }
    const reconciled: Record<string, string[]> = { a: [], b: [] };
    const lost: string[] = [];
    const manager = (id: 'a' | 'b') => {
      const controller: Controller = {
        kind: 'PostgresFirewallRule',
        reconcile: async (key: ObjectKey): Promise<ReconcileResult> => {
          reconciled[id].push(key.name);
          return {};
        },
      };
      const m = new Manager({
        client: new KubeClient(loadKubeConfig(kubeconfig)),
        log,
        metrics: new Metrics({ defaultMetrics: false }),
        namespace: ns,
        controllers: () => [controller],
        leaderElection: { namespace: ns, name: 'reconciler', identity: id },
        onLeadershipLost: () => lost.push(id),
        shutdownGraceMs: 2000,
      });
      cleanups.push(async () => void (await m.stop()));
      return m;
    };
    const a = manager('a');
    a.start();
    await waitFor('a reconciles both', () => reconciled.a.length >= 2, 15_000);
    const b = manager('b');
    b.start();
    await waitFor('b is ready (synced) as a standby', () => b.readiness().ok, 15_000);
    await sleep(3000);
    assert.deepEqual(reconciled.b, [], 'a standby never reconciles');
    assert.equal(b.controllersRunning, false);
    assert.equal(a.isLeader, true);

    assert.equal(await a.stop(), true);
    await waitFor('b takes over and reconciles everything', () => reconciled.b.length >= 2, 15_000);
    assert.deepEqual([...reconciled.b].sort(), ['one', 'two']);
    assert.equal(b.isLeader, true);
    assert.equal(lost.length, 0, 'a graceful stop is not a lost leadership');

    // Losing the lease stops reconciling at once (main.ts then exits the process).
    const now = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    kubectl(['patch', 'lease', '-n', ns, 'reconciler', '--type=merge', '-p',
      JSON.stringify({ spec: { holderIdentity: 'intruder', renewTime: now, leaseDurationSeconds: 3600 } })], { check: true });
    await waitFor('b loses leadership', () => lost.includes('b'), 20_000);
    assert.equal(b.controllersRunning, false);
    const countBefore = reconciled.b.length;
    kubectl(['label', '-n', ns, 'postgresfirewallrule', 'one', 'changed=yes'], { check: true });
    await sleep(1000);
    assert.equal(reconciled.b.length, countBefore, 'no reconcile after leadership was lost');
  });
});
