/**
 * docs/reconciler.md documents the RBAC the runtime needs. This test applies exactly that block (names made unique
 * per run) and performs every runtime operation as the ServiceAccount, with a TokenRequest token and no client
 * certificate, so RBAC applies as in a real cluster: informers (CRs + labelled Secrets), finalizers, status,
 * annotations, owned Secrets, Events, the Lease. If the docs forget a verb, this fails.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from './helpers/kube-testing';
import { FINALIZER, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/reconciler/contracts';
import { KubeClient, loadKubeConfig } from '../../src/reconciler/kube/client';
import { KubeModule } from '../../src/reconciler/kube/index';
import { silentLogger } from '../../src/reconciler/log';
import { resolveClusterId } from '../../src/reconciler/runtime/cluster-identity';
import { LeaderElector } from '../../src/reconciler/runtime/leader';
import { ensureCluster, kubectl, serviceAccountKubeconfig } from '../cluster/cluster';

const ROOT = path.resolve(__dirname, '..', '..');
let ns: string;
let rbac: string;
let mod: KubeModule | undefined;

function documentedRbac(): string {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'reconciler.md'), 'utf8');
  const m = /<!-- rbac:begin -->\s*```yaml\n([\s\S]*?)```\s*<!-- rbac:end -->/.exec(doc);
  assert.ok(m, 'docs/reconciler.md has the RBAC block');
  return m[1];
}

before(async () => {
  await ensureCluster();
  kubectl(['apply', '-f', path.join(ROOT, 'crds')], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(ROOT, 'crds')], { check: true });
  ns = `rbac-${Date.now().toString(36)}`;
  kubectl(['create', 'namespace', ns], { check: true });
  // Unique names: ClusterRole(Binding)s are cluster-wide and other runs may use the same cluster.
  rbac = documentedRbac().replaceAll('cdk8s-azure-system', ns).replaceAll('cdk8s-azure-reconciler', `cdk8s-azure-reconciler-${ns}`);
  kubectl(['apply', '-f', '-'], { input: rbac, check: true });
});

after(async () => {
  await mod?.stop();
  if (rbac) kubectl(['delete', '-f', '-', '--wait=false'], { input: rbac });
  if (ns) {
    for (const o of JSON.parse(kubectl(['get', '-n', ns, 'postgresfirewallrules', '-o', 'json']).stdout || '{"items":[]}').items) {
      kubectl(['patch', '-n', ns, 'postgresfirewallrule', o.metadata.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  }
});

describe('documented RBAC (real API server, ServiceAccount token)', () => {
  it('is enough for every runtime operation', async () => {
    const saKubeconfig = serviceAccountKubeconfig(ns, `cdk8s-azure-reconciler-${ns}`);
    // Sanity: the identity really is restricted (not an admin).
    assert.equal(kubectl(['auth', 'can-i', 'list', 'pods', '-A'], { kubeconfig: saKubeconfig }).stdout.trim(), 'no');
    assert.equal(kubectl(['auth', 'can-i', 'delete', 'secrets', '-n', ns], { kubeconfig: saKubeconfig }).stdout.trim(), 'no');

    kubectl(['create', '-n', ns, '-f', '-'], {
      check: true,
      input: JSON.stringify({
        apiVersion: 'cdk8s-azure.dev/v1alpha1',
        kind: 'PostgresFirewallRule',
        metadata: { name: 'rule' },
        spec: { serverRef: { name: 's' }, azureName: 'rule', startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' },
      }),
    });
    kubectl(['create', 'secret', 'generic', 'user-supplied', '-n', ns, '--from-literal=password=x'], { check: true });

    const client = new KubeClient(loadKubeConfig(saKubeconfig));
    // All namespaces, as the default install: cluster-wide list/watch of the CRs and the labelled Secrets.
    mod = new KubeModule({ client, log: silentLogger() });
    mod.start();
    await mod.waitForSync(20_000);
    const obj = await waitFor('cached', () => mod!.kube.get('PostgresFirewallRule', { namespace: ns, name: 'rule' }));

    const withFinalizer = await mod.kube.addFinalizer(obj, FINALIZER);
    assert.deepEqual(withFinalizer.metadata.finalizers, [FINALIZER]);
    const annotated = await mod.kube.patchAnnotations(withFinalizer, { 'cdk8s-azure.dev/note': 'x' });
    assert.equal(
      await mod.kube.updateStatus(annotated, {
        observedGeneration: 1,
        conditions: [{ type: 'Ready', status: 'False', reason: 'Creating', message: 'creating', lastTransitionTime: '' }],
      }),
      true,
    );
    assert.deepEqual(await mod.kube.applySecret(annotated, 'rule-conn', { password: 'secret' }), { changed: true });
    await waitFor('owned secret cached', () => mod!.secrets.store.get(ns, 'rule-conn'));
    kubectl(['label', '-n', ns, 'secret', 'rule-conn', 'x=1'], { check: true });
    await waitFor('label change seen', () => mod!.secrets.store.get(ns, 'rule-conn')?.metadata?.labels?.x === '1');
    assert.deepEqual(await mod.kube.applySecret(annotated, 'rule-conn', { password: 'rotated' }), { changed: true });
    assert.equal((await mod.kube.getSecret(ns, 'user-supplied'))?.metadata?.name, 'user-supplied');
    // Retain: the Secret is released from its owner (an update).
    assert.equal(await mod.kube.releaseSecret(annotated, 'rule-conn'), true);
    // The default cluster identity: the kube-system namespace's UID.
    const kubeSystemUid = JSON.parse(kubectl(['get', 'namespace', 'kube-system', '-o', 'json'], { check: true }).stdout).metadata.uid;
    assert.equal(await resolveClusterId(undefined, client), kubeSystemUid);
    mod.kube.event(annotated, 'Normal', 'Tested', 'rbac test');
    await mod.events.flush();
    const events = JSON.parse(kubectl(['get', 'events', '-n', ns, '--field-selector', 'reason=Tested', '-o', 'json'], { check: true }).stdout).items;
    assert.equal(events.length, 1, 'the Event was created with the documented rights');
    mod.kube.event(annotated, 'Normal', 'Tested', 'rbac test');
    await mod.events.flush();
    const bumped = JSON.parse(kubectl(['get', 'events', '-n', ns, '--field-selector', 'reason=Tested', '-o', 'json'], { check: true }).stdout).items;
    assert.equal(bumped[0].count, 2, 'and patched');

    const latest = await waitFor('status cached', () => {
      const o = mod!.kube.get('PostgresFirewallRule', { namespace: ns, name: 'rule' });
      return o?.status?.conditions ? o : undefined;
    });
    await mod.kube.removeFinalizer(latest, FINALIZER);
    const server = JSON.parse(kubectl(['get', '-n', ns, 'postgresfirewallrule', 'rule', '-o', 'json'], { check: true }).stdout);
    assert.equal(server.metadata.finalizers, undefined);
    assert.equal(server.status.conditions[0].reason, 'Creating');
    const secret = JSON.parse(kubectl(['get', '-n', ns, 'secret', 'rule-conn', '-o', 'json'], { check: true }).stdout);
    assert.equal(secret.metadata.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 'rotated');
    assert.equal(mod.secrets.stats.failures + Object.values(mod.informers).reduce((n, i) => n + i.stats.failures, 0), 0, 'no informer was refused');

    let led = false;
    const elector = new LeaderElector({
      client,
      namespace: ns,
      name: 'rbac-lease',
      log: silentLogger(),
      onStartedLeading: () => (led = true),
      onStoppedLeading: () => undefined,
    });
    elector.start();
    await waitFor('leads with the documented Role', () => led, 10_000);
    await elector.stop(true);
    assert.equal(
      kubectl(['get', 'lease', '-n', ns, 'rbac-lease', '-o', 'jsonpath={.spec.holderIdentity}'], { check: true }).stdout,
      '',
      'released with the documented Role',
    );
  });
});
