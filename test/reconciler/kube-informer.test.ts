/**
 * The informer against a real kube-apiserver (test/cluster): list, watch, server-side watch timeouts, 410 Gone,
 * cut connections, label-selected Secrets. Each test works in its own namespace.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TcpProxy, kubeConfigVia, serverOf, waitFor } from './helpers/kube-testing';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/reconciler/contracts';
import { KubeClient, loadKubeConfig } from '../../src/reconciler/kube/client';
import { Informer } from '../../src/reconciler/kube/informer';
import { CUSTOM_RESOURCES, SECRETS } from '../../src/reconciler/kube/resources';
import { silentLogger } from '../../src/reconciler/log';
import { ensureCluster, kubectl } from '../cluster/cluster';

let kubeconfig: string;
const log = silentLogger();
const FW = CUSTOM_RESOURCES.PostgresFirewallRule;

function newNamespace(prefix: string): string {
  const ns = `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
  kubectl(['create', 'namespace', ns], { check: true });
  return ns;
}

function firewallRule(name: string, start = '10.0.0.1'): string {
  return JSON.stringify({
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresFirewallRule',
    metadata: { name },
    spec: { serverRef: { name: 'server' }, azureName: name, startIpAddress: start, endIpAddress: start },
  });
}

function createRule(ns: string, name: string): void {
  kubectl(['apply', '-n', ns, '-f', '-'], { input: firewallRule(name), check: true });
}

interface Recorded {
  adds: string[];
  updates: string[];
  deletes: string[];
}

function record(inf: Informer<any>): Recorded {
  const r: Recorded = { adds: [], updates: [], deletes: [] };
  inf.on({
    add: (o) => r.adds.push(o.metadata.name),
    update: (_old, o) => r.updates.push(o.metadata.name),
    delete: (o) => r.deletes.push(o.metadata.name),
  });
  return r;
}

const namespaces: string[] = [];
const informers: Informer<any>[] = [];
function track<T extends Informer<any>>(inf: T): T {
  informers.push(inf);
  return inf;
}

before(async () => {
  ({ kubeconfig } = await ensureCluster());
  kubectl(['apply', '-f', 'crds/'], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/'], { check: true });
});

after(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  for (const ns of namespaces) kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('Informer (real API server)', () => {
  it('lists, then delivers add, update and delete events; get/list from the cache', async () => {
    const ns = newNamespace('inf-events');
    namespaces.push(ns);
    createRule(ns, 'a');
    createRule(ns, 'b');
    const client = new KubeClient(loadKubeConfig(kubeconfig));
    const inf = track(new Informer<any>({ client, resource: FW, namespace: ns, log }));
    const r = record(inf);
    inf.start();
    await inf.waitForSync(20_000);
    assert.deepEqual(r.adds.sort(), ['a', 'b'], 'the initial list emits an add per object');
    assert.equal(inf.store.size, 2);
    assert.equal(inf.store.get(ns, 'a')?.kind, 'PostgresFirewallRule', 'listed objects carry kind');
    assert.equal(inf.store.get(ns, 'a')?.apiVersion, 'cdk8s-azure.dev/v1alpha1');
    assert.equal(inf.store.get(ns, 'a')?.metadata.managedFields, undefined, 'managedFields are dropped');

    createRule(ns, 'c');
    await waitFor('add of c', () => r.adds.includes('c'));
    assert.ok(inf.store.get(ns, 'c'));

    kubectl(['label', '-n', ns, 'postgresfirewallrule', 'a', 'x=y'], { check: true });
    await waitFor('update of a', () => r.updates.includes('a'));
    assert.equal(inf.store.get(ns, 'a')?.metadata.labels?.x, 'y');

    kubectl(['delete', '-n', ns, 'postgresfirewallrule', 'b'], { check: true });
    await waitFor('delete of b', () => r.deletes.includes('b'));
    assert.equal(inf.store.get(ns, 'b'), undefined);
    assert.deepEqual(inf.store.list(ns).map((o) => o.metadata.name).sort(), ['a', 'c']);
    assert.equal(inf.stats.lists.initial, 1);
    assert.equal(inf.stats.failures, 0);

    await inf.stop();
    createRule(ns, 'd');
    await sleep(500);
    assert.ok(!r.adds.includes('d'), 'no events after stop()');
  });

  it('survives server-side watch timeouts and resumes from the resourceVersion without listing again', async () => {
    const ns = newNamespace('inf-timeout');
    namespaces.push(ns);
    const client = new KubeClient(loadKubeConfig(kubeconfig));
    const inf = track(new Informer<any>({ client, resource: FW, namespace: ns, log, watchTimeoutSeconds: 1 }));
    const r = record(inf);
    inf.start();
    await inf.waitForSync(20_000);
    const rvAfterList = inf.lastResourceVersion;
    await waitFor('two watch timeouts', () => inf.stats.watchEnds.timeout >= 2, 15_000);
    createRule(ns, 'after-timeouts');
    await waitFor('add after timeouts', () => r.adds.includes('after-timeouts'));
    await waitFor('another watch timeout', () => inf.stats.watchEnds.timeout >= 3, 15_000);
    assert.equal(inf.stats.lists.initial, 1);
    assert.equal(inf.stats.lists.gone + inf.stats.lists.error, 0, 'a watch timeout must not cause a LIST');
    assert.deepEqual(r.adds, ['after-timeouts'], 'each object is added exactly once across watch restarts');
    assert.notEqual(inf.lastResourceVersion, rvAfterList, 'the resourceVersion advances with events');
    assert.equal(inf.stats.failures, 0);
  });

  it('lists again after 410 Gone and reconciles what changed meanwhile (a delete it did not see)', async () => {
    const ns = newNamespace('inf-gone');
    namespaces.push(ns);
    createRule(ns, 'keep');
    createRule(ns, 'lost');
    const proxy = new TcpProxy(serverOf(kubeconfig));
    const port = await proxy.start();
    try {
      const client = new KubeClient(kubeConfigVia(kubeconfig, port));
      const inf = track(new Informer<any>({ client, resource: FW, namespace: ns, log, backoff: { initialMs: 100, maxMs: 500 } }));
      const r = record(inf);
      inf.start();
      await inf.waitForSync(20_000);
      // Partition the informer, delete behind its back, and make it resume from a resourceVersion the API server
      // no longer has (the watch cache starts after the CRD was created, long after revision 1).
      proxy.refuse(true);
      proxy.cut();
      kubectl(['delete', '-n', ns, 'postgresfirewallrule', 'lost'], { check: true });
      createRule(ns, 'new');
      inf.resumeFrom('1');
      await sleep(300);
      proxy.refuse(false);
      await waitFor('relist after 410', () => inf.stats.lists.gone >= 1, 20_000);
      await waitFor('delete of lost', () => r.deletes.includes('lost'));
      await waitFor('add of new', () => r.adds.includes('new'));
      assert.equal(inf.store.get(ns, 'lost'), undefined);
      assert.deepEqual(inf.store.list(ns).map((o) => o.metadata.name).sort(), ['keep', 'new']);
      assert.ok(inf.stats.watchEnds.gone >= 1);
      // And it keeps watching after the relist.
      createRule(ns, 'later');
      await waitFor('add of later', () => r.adds.includes('later'));
    } finally {
      await proxy.stop();
    }
  });

  it('reconnects with backoff after the connection is cut and resumes from its resourceVersion', async () => {
    const ns = newNamespace('inf-cut');
    namespaces.push(ns);
    const proxy = new TcpProxy(serverOf(kubeconfig));
    const port = await proxy.start();
    try {
      const client = new KubeClient(kubeConfigVia(kubeconfig, port));
      const inf = track(new Informer<any>({ client, resource: FW, namespace: ns, log, backoff: { initialMs: 100, maxMs: 400 } }));
      const r = record(inf);
      inf.start();
      await inf.waitForSync(20_000);
      proxy.refuse(true);
      proxy.cut();
      createRule(ns, 'during-outage');
      await waitFor('failed reconnect attempts', () => inf.stats.failures >= 3, 10_000);
      assert.ok(!r.adds.includes('during-outage'));
      proxy.refuse(false);
      await waitFor('add made during the outage', () => r.adds.includes('during-outage'), 10_000);
      assert.equal(inf.stats.lists.initial, 1);
      assert.equal(inf.stats.lists.gone + inf.stats.lists.error, 0, 'a short outage resumes the watch, no LIST');
      // A cut of an established watch (not just refused connections) is survived too.
      proxy.cut();
      createRule(ns, 'after-cut');
      await waitFor('add after a cut', () => r.adds.includes('after-cut'), 10_000);
      assert.deepEqual(r.adds.sort(), ['after-cut', 'during-outage']);
    } finally {
      await proxy.stop();
    }
  });

  it('keeps retrying while the API server is unreachable at start, and syncs when it comes back', async () => {
    const ns = newNamespace('inf-down');
    namespaces.push(ns);
    createRule(ns, 'x');
    const proxy = new TcpProxy(serverOf(kubeconfig));
    const port = await proxy.start();
    try {
      proxy.refuse(true);
      const client = new KubeClient(kubeConfigVia(kubeconfig, port));
      const inf = track(new Informer<any>({ client, resource: FW, namespace: ns, log, backoff: { initialMs: 100, maxMs: 300 } }));
      inf.start();
      await waitFor('failed lists', () => inf.stats.failures >= 3, 10_000);
      assert.equal(inf.hasSynced(), false);
      proxy.refuse(false);
      await inf.waitForSync(10_000);
      assert.ok(inf.store.get(ns, 'x'));
    } finally {
      await proxy.stop();
    }
  });

  it('watches only Secrets with the managed-by label', async () => {
    const ns = newNamespace('inf-secrets');
    namespaces.push(ns);
    kubectl(['create', 'secret', 'generic', 'ours', '-n', ns, '--from-literal=k=v'], { check: true });
    kubectl(['label', 'secret', 'ours', '-n', ns, `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`], { check: true });
    kubectl(['create', 'secret', 'generic', 'theirs', '-n', ns, '--from-literal=k=v'], { check: true });
    const client = new KubeClient(loadKubeConfig(kubeconfig));
    const inf = track(new Informer<any>({
      client,
      resource: SECRETS,
      namespace: ns,
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
      log,
    }));
    const r = record(inf);
    inf.start();
    await inf.waitForSync(20_000);
    assert.deepEqual(inf.store.list(ns).map((s) => s.metadata.name), ['ours']);
    kubectl(['create', 'secret', 'generic', 'theirs-2', '-n', ns, '--from-literal=k=v'], { check: true });
    kubectl(['label', 'secret', 'theirs', '-n', ns, `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`], { check: true });
    await waitFor('labelled secret appears', () => r.adds.includes('theirs'));
    kubectl(['label', 'secret', 'ours', '-n', ns, `${MANAGED_BY_LABEL}-`], { check: true });
    await waitFor('unlabelled secret leaves the cache', () => r.deletes.includes('ours'));
    await sleep(300);
    assert.ok(!r.adds.includes('theirs-2'), 'an unlabelled Secret is never seen');
    assert.deepEqual(inf.store.list(ns).map((s) => s.metadata.name), ['theirs']);
  });

  it('watches all namespaces by default', async () => {
    const ns1 = newNamespace('inf-all-a');
    const ns2 = newNamespace('inf-all-b');
    namespaces.push(ns1, ns2);
    createRule(ns1, 'one');
    const client = new KubeClient(loadKubeConfig(kubeconfig));
    const inf = track(new Informer<any>({ client, resource: FW, log }));
    inf.start();
    await inf.waitForSync(20_000);
    createRule(ns2, 'two');
    await waitFor('object in the second namespace', () => inf.store.get(ns2, 'two'));
    assert.ok(inf.store.get(ns1, 'one'));
    assert.deepEqual(inf.store.list(ns2).map((o) => o.metadata.name), ['two']);
  });
});
