/**
 * The `Kube` implementation against a real kube-apiserver + garbage collector (test/cluster): finalizers under
 * conflicting writers, status written only on change, owned Secrets (and their garbage collection), Events.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './helpers/kube-testing';
import { type AnyObject, FINALIZER, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/reconciler/contracts';
import { KubeClient, loadKubeConfig } from '../../src/reconciler/kube/client';
import { KubeModule } from '../../src/reconciler/kube/index';
import { silentLogger } from '../../src/reconciler/log';
import { ensureCluster, kubectl } from '../cluster/cluster';

let kubeconfig: string;
let ns: string;
/**
 * Our test finalizer, not the real one: a reconciler watching all namespaces of the shared test cluster (e.g. an
 * end-to-end test) may add or remove cdk8s-azure.dev/finalizer on these objects; comparisons ignore that one.
 */
const TEST_FIN = 'test.cdk8s-azure.dev/finalizer';
const fins = (list: string[] | undefined) => (list ?? []).filter((f) => f !== FINALIZER);
let mod: KubeModule;
const log = silentLogger();

function getJson(args: string[]): any {
  return JSON.parse(kubectl(['get', '-n', ns, '-o', 'json', ...args], { check: true }).stdout);
}

function createRule(name: string, extra: Record<string, unknown> = {}): void {
  // create, not apply: apply would add its last-applied annotation.
  kubectl(['create', '-n', ns, '-f', '-'], {
    check: true,
    input: JSON.stringify({
      apiVersion: 'cdk8s-azure.dev/v1alpha1',
      kind: 'PostgresFirewallRule',
      metadata: { name, ...extra },
      spec: { serverRef: { name: 'server' }, azureName: name, startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' },
    }),
  });
}

async function cached(name: string, pred: (o: AnyObject) => boolean = () => true): Promise<AnyObject> {
  return waitFor(`cache has ${name}`, () => {
    const o = mod.kube.get('PostgresFirewallRule', { namespace: ns, name });
    return o && pred(o) ? o : undefined;
  });
}

function mergePatch(name: string, patch: object): void {
  kubectl(['patch', '-n', ns, 'postgresfirewallrule', name, '--type=merge', '-p', JSON.stringify(patch)], { check: true });
}

before(async () => {
  ({ kubeconfig } = await ensureCluster());
  kubectl(['apply', '-f', 'crds/'], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/'], { check: true });
  ns = `kube-writes-${Date.now().toString(36)}`;
  kubectl(['create', 'namespace', ns], { check: true });
  mod = new KubeModule({ client: new KubeClient(loadKubeConfig(kubeconfig)), log, namespace: ns });
  mod.start();
  await mod.waitForSync(30_000);
});

after(async () => {
  await mod?.stop();
  if (ns) {
    // Remove our finalizers so the namespace can go away.
    for (const o of JSON.parse(kubectl(['get', '-n', ns, 'postgresfirewallrules', '-o', 'json']).stdout || '{"items":[]}').items) {
      kubectl(['patch', '-n', ns, 'postgresfirewallrule', o.metadata.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  }
});

describe('Kube implementation (real API server)', () => {
  it('get/list read the cache', async () => {
    createRule('list-a');
    createRule('list-b');
    await cached('list-a');
    await cached('list-b');
    const names = mod.kube.list('PostgresFirewallRule', ns).map((o) => o.metadata.name);
    assert.ok(names.includes('list-a') && names.includes('list-b'));
    assert.equal(mod.kube.get('PostgresFirewallRule', { namespace: ns, name: 'nope' }), undefined);
    assert.deepEqual(mod.kube.list('PostgresServer', ns), []);
  });

  it('addFinalizer adds once, and keeps a finalizer another writer added meanwhile (conflict -> retry)', async () => {
    createRule('fin-add');
    const stale = await cached('fin-add');
    // Another writer adds a finalizer after we read: our copy has none, so the resourceVersion guard must fail.
    mergePatch('fin-add', { metadata: { finalizers: ['other.example/keep'] } });
    const prior = { ...mod.kube.writes };
    const updated = await mod.kube.addFinalizer(stale, TEST_FIN);
    assert.deepEqual(fins(updated.metadata.finalizers), ['other.example/keep', TEST_FIN]);
    assert.ok(mod.kube.writes.conflicts > prior.conflicts, 'the stale write conflicted and was retried');
    assert.deepEqual(fins(getJson(['postgresfirewallrule', 'fin-add']).metadata.finalizers), ['other.example/keep', TEST_FIN]);
    // Idempotent: already present, no write.
    const w = mod.kube.writes.finalizers;
    await mod.kube.addFinalizer(updated, TEST_FIN);
    assert.equal(mod.kube.writes.finalizers, w);

    // Conflict on a non-empty list: our copy has [a]; someone adds b; the test of the list fails (422); retry.
    createRule('fin-add2', { finalizers: ['a.example/a'] });
    const stale2 = await cached('fin-add2');
    mergePatch('fin-add2', { metadata: { finalizers: ['a.example/a', 'b.example/b'] } });
    const updated2 = await mod.kube.addFinalizer(stale2, TEST_FIN);
    assert.deepEqual(fins(updated2.metadata.finalizers), ['a.example/a', 'b.example/b', TEST_FIN]);
  });

  it('removeFinalizer removes only ours under concurrent changes, and lets a deleting object go', async () => {
    createRule('fin-rm', { finalizers: [TEST_FIN, 'other.example/x'] });
    const stale = await cached('fin-rm');
    mergePatch('fin-rm', { metadata: { finalizers: ['third.example/y', TEST_FIN, 'other.example/x'] } });
    await mod.kube.removeFinalizer(stale, TEST_FIN);
    assert.deepEqual(fins(getJson(['postgresfirewallrule', 'fin-rm']).metadata.finalizers), ['third.example/y', 'other.example/x']);

    createRule('fin-del', { finalizers: [TEST_FIN] });
    await cached('fin-del');
    kubectl(['delete', '-n', ns, 'postgresfirewallrule', 'fin-del', '--wait=false'], { check: true });
    const deleting = await cached('fin-del', (o) => !!o.metadata.deletionTimestamp);
    await mod.kube.removeFinalizer(deleting, TEST_FIN);
    await waitFor('object deleted', () => kubectl(['get', '-n', ns, 'postgresfirewallrule', 'fin-del']).status !== 0);
    // Removing from an object that is gone is a no-op, not an error.
    await mod.kube.removeFinalizer(deleting, TEST_FIN);
  });

  it('updateStatus writes through /status only when the status changed, keeping lastTransitionTime', async () => {
    createRule('status');
    const obj = await cached('status');
    const cond = (status: 'True' | 'False', message: string) => ({
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status, reason: status === 'True' ? 'Ready' : 'Pending', message, lastTransitionTime: '' }],
    });
    const w0 = mod.kube.writes.status;
    assert.equal(await mod.kube.updateStatus(obj, cond('False', 'creating') as any), true);
    const rv1 = getJson(['postgresfirewallrule', 'status']).metadata.resourceVersion;
    // Same status right away (the cache has not seen our write yet) and once the cache caught up: no writes.
    assert.equal(await mod.kube.updateStatus(obj, cond('False', 'creating') as any), false);
    const seen = await cached('status', (o) => !!o.status?.conditions);
    assert.equal(await mod.kube.updateStatus(seen, cond('False', 'creating') as any), false);
    assert.equal(mod.kube.writes.status - w0, 1, 'one write for three identical updates');
    assert.equal(getJson(['postgresfirewallrule', 'status']).metadata.resourceVersion, rv1, 'no write reached the server');
    const t1 = seen.status!.conditions![0].lastTransitionTime;
    assert.match(t1, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    await sleep(1100); // lastTransitionTime has second precision
    // Message changed, condition status did not: a write, same lastTransitionTime.
    assert.equal(await mod.kube.updateStatus(seen, cond('False', 'still creating') as any), true);
    let server = getJson(['postgresfirewallrule', 'status']);
    assert.equal(server.status.conditions[0].message, 'still creating');
    assert.equal(server.status.conditions[0].lastTransitionTime, t1);
    // Condition status changed: a new lastTransitionTime.
    const seen2 = await cached('status', (o) => o.status?.conditions?.[0]?.message === 'still creating');
    assert.equal(await mod.kube.updateStatus(seen2, cond('True', 'ready') as any), true);
    server = getJson(['postgresfirewallrule', 'status']);
    assert.notEqual(server.status.conditions[0].lastTransitionTime, t1);
    assert.equal(server.status.conditions[0].status, 'True');
    assert.equal(mod.kube.writes.status - w0, 3);
    // The spec was not touched by status writes (status subresource).
    assert.equal(server.spec.azureName, 'status');
  });

  it('patchAnnotations merges and removes annotations', async () => {
    createRule('annot', { annotations: { keep: 'me', drop: 'me' } });
    const obj = await cached('annot');
    const updated = await mod.kube.patchAnnotations(obj, { added: 'yes', drop: null });
    assert.deepEqual(updated.metadata.annotations, { keep: 'me', added: 'yes' });
    assert.equal(updated.kind, 'PostgresFirewallRule');
  });

  it('applySecret creates an owned, labelled Secret, writes only on change, and GC deletes it with the owner', async () => {
    createRule('owner');
    const owner = await cached('owner');
    const w0 = mod.kube.writes.secrets;
    assert.deepEqual(await mod.kube.applySecret(owner, 'owner-conn', { host: 'h', password: 'p1' }), { changed: true });
    const s = getJson(['secret', 'owner-conn']);
    assert.equal(s.metadata.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.deepEqual(s.metadata.ownerReferences, [{
      apiVersion: 'cdk8s-azure.dev/v1alpha1',
      kind: 'PostgresFirewallRule',
      name: 'owner',
      uid: owner.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    }]);
    assert.equal(Buffer.from(s.data.password, 'base64').toString(), 'p1');
    // Unchanged: no write (cache or API).
    assert.deepEqual(await mod.kube.applySecret(owner, 'owner-conn', { host: 'h', password: 'p1' }), { changed: false });
    await waitFor('secret cached', () => mod.secrets.store.get(ns, 'owner-conn'));
    assert.deepEqual(await mod.kube.applySecret(owner, 'owner-conn', { password: 'p1', host: 'h' }), { changed: false });
    assert.equal(mod.kube.writes.secrets - w0, 1);
    assert.equal(getJson(['secret', 'owner-conn']).metadata.resourceVersion, s.metadata.resourceVersion);
    // Changed data (a key removed, one changed): exactly these keys afterwards.
    assert.deepEqual(await mod.kube.applySecret(owner, 'owner-conn', { password: 'p2' }), { changed: true });
    const s2 = getJson(['secret', 'owner-conn']);
    assert.deepEqual(Object.keys(s2.data), ['password']);
    assert.equal(Buffer.from(s2.data.password, 'base64').toString(), 'p2');
    // A label someone removed is restored (drift repair).
    kubectl(['label', '-n', ns, 'secret', 'owner-conn', `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`, 'extra=1', '--overwrite'], { check: true });
    assert.deepEqual(await mod.kube.applySecret(owner, 'owner-conn', { password: 'p2' }), { changed: false });
    assert.equal(getJson(['secret', 'owner-conn']).metadata.labels.extra, '1', 'foreign labels are kept');

    // Someone removes our label: the Secret is still controlled by this owner, so it is ours: the label is restored.
    kubectl(['label', '-n', ns, 'secret', 'owner-conn', `${MANAGED_BY_LABEL}-`], { check: true });
    // The label-selected watch reports it as deleted (which is what re-triggers the owner's reconcile).
    await waitFor('unlabelled secret leaves the cache', () => !mod.secrets.store.get(ns, 'owner-conn'));
    assert.deepEqual(await mod.kube.applySecret(owner, 'owner-conn', { password: 'p2' }), { changed: true });
    assert.equal(getJson(['secret', 'owner-conn']).metadata.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);

    const sec = await mod.kube.getSecret(ns, 'owner-conn');
    assert.equal(sec?.metadata?.name, 'owner-conn');

    kubectl(['delete', '-n', ns, 'postgresfirewallrule', 'owner'], { check: true });
    await waitFor('garbage collector deletes the owned Secret', () => kubectl(['get', '-n', ns, 'secret', 'owner-conn']).status !== 0, 60_000);
  });

  it('applySecret refuses to take over a Secret that is not labelled as ours', async () => {
    createRule('taker');
    const owner = await cached('taker');
    kubectl(['create', 'secret', 'generic', 'foreign', '-n', ns, '--from-literal=password=theirs'], { check: true });
    await assert.rejects(
      mod.kube.applySecret(owner, 'foreign', { password: 'ours' }),
      /Secret .*\/foreign already exists and is not managed by cdk8s-azure/,
    );
    const s = getJson(['secret', 'foreign']);
    assert.equal(Buffer.from(s.data.password, 'base64').toString(), 'theirs');
    assert.equal(s.metadata.ownerReferences, undefined);
    // getSecret reads a Secret outside the labelled cache from the API, and returns undefined for a missing one.
    assert.equal((await mod.kube.getSecret(ns, 'foreign'))?.metadata?.name, 'foreign');
    assert.equal(await mod.kube.getSecret(ns, 'missing'), undefined);
  });

  it('applySecret refuses a Secret controlled by another resource', async () => {
    createRule('first');
    createRule('second');
    const first = await cached('first');
    const second = await cached('second');
    await mod.kube.applySecret(first, 'shared', { k: 'v' });
    await assert.rejects(mod.kube.applySecret(second, 'shared', { k: 'w' }), /already controlled by PostgresFirewallRule first/);
  });

  it('releaseSecret removes the owner reference and keeps the Secret through the owner\'s deletion', async () => {
    createRule('retained');
    const owner = await cached('retained');
    await mod.kube.applySecret(owner, 'retained-conn', { password: 'keep-me' });
    assert.equal(await mod.kube.releaseSecret(owner, 'retained-conn'), true);
    const s = getJson(['secret', 'retained-conn']);
    assert.deepEqual(s.metadata.ownerReferences ?? [], []);
    assert.equal(s.metadata.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE, 'still labelled: a later owner may take it over');
    assert.equal(Buffer.from(s.data.password, 'base64').toString(), 'keep-me');
    // Nothing left to release: no write.
    assert.equal(await mod.kube.releaseSecret(owner, 'retained-conn'), false);
    assert.equal(await mod.kube.releaseSecret(owner, 'missing-conn'), false);
    kubectl(['delete', '-n', ns, 'postgresfirewallrule', 'retained'], { check: true });
    await sleep(3000); // the garbage collector has had its chance
    assert.equal(Buffer.from(getJson(['secret', 'retained-conn']).data.password, 'base64').toString(), 'keep-me');
  });

  it('event() aggregates repeats into one Event with a count, and never throws', async () => {
    createRule('evented');
    const obj = await cached('evented');
    for (let i = 0; i < 3; i++) mod.kube.event(obj, 'Warning', 'ProvisioningFailed', 'quota exceeded');
    mod.kube.event(obj, 'Normal', 'Created', 'created in Azure');
    await mod.events.flush();
    const events = getJson(['events', '--field-selector', 'involvedObject.name=evented']).items;
    const failed = events.filter((e: any) => e.reason === 'ProvisioningFailed');
    assert.equal(failed.length, 1, 'repeats are aggregated');
    assert.equal(failed[0].count, 3);
    assert.equal(failed[0].type, 'Warning');
    assert.equal(failed[0].involvedObject.uid, obj.metadata.uid);
    assert.equal(failed[0].involvedObject.kind, 'PostgresFirewallRule');
    assert.equal(events.filter((e: any) => e.reason === 'Created').length, 1);
    // An Event for a namespace that does not exist fails on the server; event() swallows it.
    mod.kube.event({ ...obj, metadata: { ...obj.metadata, namespace: 'does-not-exist-ns', uid: 'x' } }, 'Normal', 'R', 'm');
    await mod.events.flush();
  });
});
