/**
 * An informer of several namespaces (--namespaces) against a real kube-apiserver (test/cluster): one LIST and WATCH
 * per namespace, one cache and one set of handlers, nothing from the other namespaces; and a LIST of one namespace
 * never drops another namespace's objects from the shared cache.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from './helpers/kube-testing';
import { KubeClient, loadKubeConfig } from '../../src/reconciler/kube/client';
import { Informer } from '../../src/reconciler/kube/informer';
import { CUSTOM_RESOURCES } from '../../src/reconciler/kube/resources';
import { silentLogger } from '../../src/reconciler/log';
import { ensureCluster, kubectl } from '../cluster/cluster';

const FW = CUSTOM_RESOURCES.PostgresFirewallRule;
const RUN = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
const [A, B, C] = ['a', 'b', 'c'].map((x) => `nss-${x}-${RUN}`);
const log = silentLogger();
let client: KubeClient;
const informers: Array<Informer<any>> = [];

function createRule(namespace: string, name: string): void {
  kubectl(['create', '-n', namespace, '-f', '-'], {
    check: true,
    input: JSON.stringify({
      apiVersion: 'cdk8s-azure.dev/v1alpha1',
      kind: 'PostgresFirewallRule',
      metadata: { name },
      spec: { serverRef: { name: 's' }, azureName: name, startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' },
    }),
  });
}

const names = (inf: Informer<any>) => inf.store.list().map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();

before(async () => {
  const { kubeconfig } = await ensureCluster();
  kubectl(['apply', '-f', 'crds/'], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/'], { check: true });
  for (const ns of [A, B, C]) {
    kubectl(['create', 'namespace', ns], { check: true });
    createRule(ns, 'r1');
  }
  client = new KubeClient(loadKubeConfig(kubeconfig));
});

after(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  for (const ns of [A, B, C]) kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('Informer of several namespaces (real API server)', () => {
  it('lists and watches each namespace, into one cache, and nothing of the others', async () => {
    const inf = new Informer<any>({ client, resource: FW, namespaces: [A, B], log });
    informers.push(inf);
    const seen: string[] = [];
    inf.on({ add: (o) => seen.push(`add ${o.metadata.namespace}/${o.metadata.name}`), delete: (o) => seen.push(`delete ${o.metadata.namespace}/${o.metadata.name}`) });
    inf.start();
    await inf.waitForSync(20_000);
    assert.equal(inf.hasSynced(), true);
    assert.deepEqual(names(inf), [`${A}/r1`, `${B}/r1`]);
    assert.equal(inf.stats.lists.initial, 2, 'one LIST per namespace');

    createRule(B, 'r2');
    createRule(C, 'r2');
    kubectl(['delete', '-n', A, 'postgresfirewallrule', 'r1'], { check: true });
    await waitFor('watch events of both namespaces', () => names(inf).join() === [`${B}/r1`, `${B}/r2`].join());
    assert.equal(inf.store.get(C, 'r2'), undefined, 'an unwatched namespace stays out');
    assert.deepEqual(seen.sort(), [`add ${A}/r1`, `add ${B}/r1`, `add ${B}/r2`, `delete ${A}/r1`].sort());

    await inf.stop();
    assert.equal(inf.running, false);
  });

  it('a LIST of one namespace leaves the objects of other namespaces in the cache', async () => {
    const inf = new Informer<any>({ client, resource: FW, namespace: C, log });
    informers.push(inf);
    // As when the cache is shared with the informer of another namespace, which already stored its objects.
    inf.store.set({ apiVersion: 'cdk8s-azure.dev/v1alpha1', kind: 'PostgresFirewallRule', metadata: { namespace: A, name: 'elsewhere', resourceVersion: '1' } });
    const deleted: string[] = [];
    inf.on({ delete: (o) => deleted.push(o.metadata.name) });
    inf.start();
    await inf.waitForSync(20_000);
    assert.deepEqual(names(inf), [`${A}/elsewhere`, `${C}/r1`, `${C}/r2`]);
    assert.deepEqual(deleted, []);
  });

  it('a single namespace in `namespaces` is a plain informer of that namespace', async () => {
    const inf = new Informer<any>({ client, resource: FW, namespaces: [C], log });
    informers.push(inf);
    inf.start();
    await inf.waitForSync(20_000);
    assert.deepEqual(names(inf), [`${C}/r1`, `${C}/r2`]);
    assert.equal(inf.stats.lists.initial, 1);
    assert.throws(() => new Informer<any>({ client, resource: FW, namespaces: [], log }), /namespaces is empty/);
  });
});
