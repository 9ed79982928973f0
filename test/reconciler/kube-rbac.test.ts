/**
 * The install's RBAC against a real kube-apiserver (test/cluster), in both modes: the `Reconciler` construct is
 * synthesized (names made unique per run), its ServiceAccount, Roles and bindings are applied, and every runtime
 * operation runs as that ServiceAccount with a TokenRequest token and no client certificate, so RBAC applies as in a
 * real cluster: informers (CRs + labelled Secrets), finalizers, claims, status, annotations, owned Secrets, Events, the
 * Lease, another install's Lease. If the install forgets a verb, this fails; if it grants one the reconciler does not use, or lets a namespaced
 * install read a Secret outside its namespaces, this fails too. It also checks that the `kubectl auth can-i --list`
 * output shown in docs/install.md and docs/reconciler.md is what the API server says (RBAC_DOCS_UPDATE=1 rewrites it).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Chart, Testing } from 'cdk8s';
import { waitFor } from './helpers/kube-testing';
import { RECONCILED_BY_ANNOTATION, type InstallIdentity } from '../../src/api';
import { FINALIZER, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/reconciler/contracts';
import { KubeClient, isKubeError, loadKubeConfig } from '../../src/reconciler/kube/client';
import { KubeModule } from '../../src/reconciler/kube/index';
import { InstallLeases } from '../../src/reconciler/kube/installs';
import { silentLogger } from '../../src/reconciler/log';
import { resolveClusterId } from '../../src/reconciler/runtime/cluster-identity';
import { LeaderElector } from '../../src/reconciler/runtime/leader';
import { Reconciler, type ReconcilerProps } from '../../src/reconciler-install';
import { ensureCluster, kubectl, serviceAccountKubeconfig } from '../cluster/cluster';

const ROOT = path.resolve(__dirname, '..', '..');
const RUN = Date.now().toString(36);
const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
/** Namespaces of this run: the reconciler's of each mode, two watched, one not. */
const NS = { cluster: `rbac-c-${RUN}`, namespaced: `rbac-n-${RUN}`, shop: `rbac-shop-${RUN}`, billing: `rbac-billing-${RUN}`, other: `rbac-other-${RUN}` };
const KUBE_SYSTEM_SECRET = `rbac-probe-${RUN}`;
const applied: string[] = [];
const modules: KubeModule[] = [];

/** The install's ServiceAccount and RBAC, as the construct synthesizes them, with names unique to this run. */
function installRbac(props: Partial<ReconcilerProps> & { namespace: string }): { manifests: string; serviceAccount: string } {
  const chart = new Chart(Testing.app(), 'install');
  new Reconciler(chart, 'reconciler', { subscriptionId: SUBSCRIPTION, installCrds: false, ...props });
  const kinds = ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];
  const objects = Testing.synth(chart).filter((m) => kinds.includes(m.kind));
  // ClusterRole(Binding)s are cluster-wide and other runs may use the same cluster.
  const name = `cdk8s-azure-reconciler-${props.namespace}`;
  const manifests = objects.map((o) => JSON.stringify(o).replaceAll('"cdk8s-azure-reconciler', `"${name}`)).join('\n');
  kubectl(['apply', '-f', '-'], { input: manifests, check: true });
  applied.push(manifests);
  return { manifests, serviceAccount: name };
}

function canI(kubeconfig: string, ...args: string[]): boolean {
  const r = kubectl(['auth', 'can-i', ...args], { kubeconfig });
  assert.match(r.stdout.trim(), /^(yes|no)$/, `kubectl auth can-i ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim() === 'yes';
}

/** `kubectl auth can-i --list` as the ServiceAccount (trailing spaces dropped, as the docs keep them). */
function canIList(kubeconfig: string, namespace: string): string {
  const out = kubectl(['auth', 'can-i', '--list', '-n', namespace], { kubeconfig, check: true }).stdout;
  return out.replace(/[ \t]+$/gm, '');
}

/** Rows of `kubectl auth can-i --list` for our resources, Secrets, Events and Leases: resource -> verbs. */
function ourRows(list: string): Record<string, string> {
  const rows: Record<string, string> = {};
  for (const line of list.split('\n').slice(1)) {
    const m = /^(\S+)\s+(\[[^\]]*\])\s+(\[[^\]]*\])\s+(\[[^\]]*\])$/.exec(line.trim());
    if (m && /cdk8s-azure\.dev|^secrets$|^events|^leases/.test(m[1])) rows[m[1]] = m[4];
  }
  return rows;
}

const EXPECTED_ROWS: Record<string, string> = {
  events: '[create patch]',
  secrets: '[get list watch create update]',
  ...Object.fromEntries(
    ['postgresdatabases', 'postgresfirewallrules', 'postgresroles', 'postgresservers'].flatMap((p) => [
      [`${p}.cdk8s-azure.dev`, '[get list watch patch]'],
      [`${p}.cdk8s-azure.dev/finalizers`, '[update]'],
      [`${p}.cdk8s-azure.dev/status`, '[patch]'],
    ]),
  ),
};
const LEASE_ROW = { 'leases.coordination.k8s.io': '[get create update]' };
/** Any install's Lease, in every namespace: whether the install that claimed a resource still runs. */
const INSTALLS_ROW = { 'leases.coordination.k8s.io': '[get]' };

/** Verbs and kinds the reconciler never uses: refused in every namespace, in both modes (Leases: but its own). */
function assertNothingMore(kubeconfig: string, namespace: string, own = false): void {
  const refused: string[][] = [
    ['update', 'postgresservers.cdk8s-azure.dev'],
    ['create', 'postgresservers.cdk8s-azure.dev'],
    ['delete', 'postgresdatabases.cdk8s-azure.dev'],
    ['get', 'postgresservers.cdk8s-azure.dev', '--subresource=status'],
    ['update', 'postgresroles.cdk8s-azure.dev', '--subresource=status'],
    ['patch', 'secrets'],
    ['delete', 'secrets'],
    ['deletecollection', 'secrets'],
    ['create', 'events.events.k8s.io'],
    ['list', 'pods'],
    ['get', 'configmaps'],
    ...(own ? [['delete', 'leases.coordination.k8s.io'], ['list', 'leases.coordination.k8s.io']] : [['create', 'leases.coordination.k8s.io']]),
  ];
  for (const args of refused) assert.equal(canI(kubeconfig, ...args, '-n', namespace), false, `can-i ${args.join(' ')} -n ${namespace}`);
}

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

/**
 * Every write and read of the runtime on the PostgresFirewallRule `name` in `namespace` (each mode has its own, made in
 * before()), through the ServiceAccount's module.
 */
async function exerciseRuntime(mod: KubeModule, namespace: string, name: string): Promise<void> {
  const obj = await waitFor('cached', () => mod.kube.get('PostgresFirewallRule', { namespace, name }));
  const withFinalizer = await mod.kube.addFinalizer(obj, FINALIZER);
  assert.deepEqual(withFinalizer.metadata.finalizers, [FINALIZER]);
  const claimed = await mod.kube.claim(withFinalizer, FINALIZER, { [RECONCILED_BY_ANNOTATION]: 'ops/install' });
  assert.ok('claimed' in claimed, 'the claim patch is allowed');
  const annotated = await mod.kube.patchAnnotations(claimed.claimed, { 'cdk8s-azure.dev/note': 'x' });
  assert.equal(
    await mod.kube.updateStatus(annotated, {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'False', reason: 'Creating', message: 'creating', lastTransitionTime: '' }],
    }),
    true,
  );
  assert.deepEqual(await mod.kube.applySecret(annotated, `${name}-conn`, { password: 'secret' }), { changed: true });
  await waitFor('owned secret cached', () => mod.secrets.store.get(namespace, `${name}-conn`));
  kubectl(['label', '-n', namespace, 'secret', `${name}-conn`, 'x=1'], { check: true });
  await waitFor('label change seen', () => mod.secrets.store.get(namespace, `${name}-conn`)?.metadata?.labels?.x === '1');
  assert.deepEqual(await mod.kube.applySecret(annotated, `${name}-conn`, { password: 'rotated' }), { changed: true });
  assert.equal((await mod.kube.getSecret(namespace, 'user-supplied'))?.metadata?.name, 'user-supplied');
  const selector = `reason=Tested,involvedObject.name=${name}`;
  const events = () => JSON.parse(kubectl(['get', 'events', '-n', namespace, '--field-selector', selector, '-o', 'json'], { check: true }).stdout).items;
  mod.kube.event(annotated, 'Normal', 'Tested', 'rbac test');
  await mod.events.flush();
  assert.equal(events().length, 1, 'the Event was created');
  mod.kube.event(annotated, 'Normal', 'Tested', 'rbac test');
  await mod.events.flush();
  assert.equal(events()[0].count, 2, 'and patched');

  const latest = await waitFor('status cached', () => {
    const o = mod.kube.get('PostgresFirewallRule', { namespace, name });
    return o?.status?.conditions ? o : undefined;
  });
  await mod.kube.removeFinalizer(latest, FINALIZER);
  const rule = JSON.parse(kubectl(['get', '-n', namespace, 'postgresfirewallrule', name, '-o', 'json'], { check: true }).stdout);
  assert.equal(rule.metadata.finalizers, undefined);
  assert.equal(rule.metadata.annotations['cdk8s-azure.dev/note'], 'x');
  assert.equal(rule.metadata.annotations[RECONCILED_BY_ANNOTATION], 'ops/install');
  assert.equal(rule.status.conditions[0].reason, 'Creating');
  const secret = JSON.parse(kubectl(['get', '-n', namespace, 'secret', `${name}-conn`, '-o', 'json'], { check: true }).stdout);
  assert.equal(secret.metadata.labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
  assert.equal(secret.metadata.ownerReferences[0].blockOwnerDeletion, true);
  assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 'rotated');
}

async function leads(client: KubeClient, namespace: string): Promise<void> {
  let led = false;
  const elector = new LeaderElector({
    client,
    namespace,
    // The install's Lease name: the default --leader-election-id.
    name: 'cdk8s-azure-reconciler',
    log: silentLogger(),
    onStartedLeading: () => (led = true),
    onStoppedLeading: () => undefined,
  });
  elector.start();
  await waitFor('leads with the install\'s leader-election Role', () => led, 10_000);
  await elector.stop(true);
  assert.equal(
    kubectl(['get', 'lease', '-n', namespace, 'cdk8s-azure-reconciler', '-o', 'jsonpath={.spec.holderIdentity}'], { check: true }).stdout,
    '',
    'released',
  );
}

/** Reads another install's Lease as installs.ts does: whatever it says (here: gone, or released just now), never refused. */
async function readsAnotherInstallsLease(client: KubeClient, install: InstallIdentity, expected: RegExp): Promise<void> {
  const state = await new InstallLeases({ client, minLeaseDurationMs: 15_000, log: silentLogger() }).state(install, NS.shop);
  assert.match(state.detail, expected);
}

function informerFailures(mod: KubeModule): number {
  return mod.secrets.stats.failures + Object.values(mod.informers).reduce((n, i) => n + i.stats.failures, 0);
}

/** A GET with the ServiceAccount's token: the HTTP status (200, 403, 404). */
async function statusOf(client: KubeClient, apiPath: string): Promise<number> {
  try {
    await client.request('GET', apiPath);
    return 200;
  } catch (err) {
    if (isKubeError(err)) return err.statusCode;
    throw err;
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The can-i outputs captured by the tests, for the docs check at the end. */
const captured: Record<string, string> = {};

before(async () => {
  await ensureCluster();
  kubectl(['apply', '-f', path.join(ROOT, 'crds')], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(ROOT, 'crds')], { check: true });
  for (const ns of [NS.shop, NS.billing, NS.other]) {
    kubectl(['create', 'namespace', ns], { check: true });
    for (const name of ['all', 'namespaced']) createRule(ns, name);
    kubectl(['create', 'secret', 'generic', 'user-supplied', '-n', ns, '--from-literal=password=x'], { check: true });
  }
  kubectl(['create', 'secret', 'generic', KUBE_SYSTEM_SECRET, '-n', 'kube-system', '--from-literal=token=x'], { check: true });
});

after(async () => {
  await Promise.all(modules.map((m) => m.stop()));
  for (const manifests of applied) kubectl(['delete', '-f', '-', '--wait=false'], { input: manifests });
  kubectl(['delete', 'secret', '-n', 'kube-system', KUBE_SYSTEM_SECRET, '--wait=false']);
  for (const ns of [NS.shop, NS.billing, NS.other]) {
    for (const o of JSON.parse(kubectl(['get', '-n', ns, 'postgresfirewallrules', '-o', 'json']).stdout || '{"items":[]}').items) {
      kubectl(['patch', '-n', ns, 'postgresfirewallrule', o.metadata.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
    kubectl(['delete', 'namespace', ns, '--wait=false']);
  }
});

describe('install RBAC, all namespaces (real API server, ServiceAccount token)', () => {
  let kubeconfig: string;
  let client: KubeClient;

  let serviceAccount: string;

  before(() => {
    ({ serviceAccount } = installRbac({ namespace: NS.cluster }));
    kubeconfig = serviceAccountKubeconfig(NS.cluster, serviceAccount);
    client = new KubeClient(loadKubeConfig(kubeconfig));
  });

  it('grants exactly the reconciler\'s verbs in every namespace, reading Leases anywhere and writing its own only', () => {
    captured.clusterApp = canIList(kubeconfig, NS.shop);
    // The docs show the command an admin runs, with --as: the same answer as with the ServiceAccount's own token.
    const asAdmin = kubectl(['auth', 'can-i', '--list', '-n', NS.shop, `--as=system:serviceaccount:${NS.cluster}:${serviceAccount}`], { check: true });
    assert.equal(asAdmin.stdout.replace(/[ \t]+$/gm, ''), captured.clusterApp);
    captured.clusterOwn = canIList(kubeconfig, NS.cluster);
    assert.deepEqual(ourRows(captured.clusterApp), { ...EXPECTED_ROWS, ...INSTALLS_ROW });
    assert.deepEqual(ourRows(captured.clusterOwn), { ...EXPECTED_ROWS, ...LEASE_ROW });
    assert.deepEqual(ourRows(canIList(kubeconfig, 'kube-system')), { ...EXPECTED_ROWS, ...INSTALLS_ROW }, 'cluster-wide: kube-system too');
    for (const ns of [NS.shop, 'kube-system']) assertNothingMore(kubeconfig, ns);
    assertNothingMore(kubeconfig, NS.cluster, true);
  });

  it('is enough for every runtime operation, watching all namespaces', async () => {
    const mod = new KubeModule({ client, log: silentLogger() });
    modules.push(mod);
    mod.start();
    await mod.waitForSync(20_000);
    await exerciseRuntime(mod, NS.shop, 'all');
    assert.equal(informerFailures(mod), 0, 'no informer was refused');
    await leads(client, NS.cluster);
    await readsAnotherInstallsLease(client, { namespace: 'kube-system', name: 'cdk8s-azure-reconciler' }, /^its Lease kube-system\/cdk8s-azure-reconciler is gone$/);
  });

  it('reads the default cluster identity, the kube-system namespace\'s UID', async () => {
    const kubeSystemUid = JSON.parse(kubectl(['get', 'namespace', 'kube-system', '-o', 'json'], { check: true }).stdout).metadata.uid;
    assert.equal(await resolveClusterId(undefined, client), kubeSystemUid);
  });

  it('can read any Secret of the cluster, kube-system\'s included: that is what this mode grants', async () => {
    assert.equal(await statusOf(client, `/api/v1/namespaces/kube-system/secrets/${KUBE_SYSTEM_SECRET}`), 200);
    assert.equal(await statusOf(client, `/api/v1/namespaces/${NS.other}/secrets/user-supplied`), 200);
  });
});

describe('install RBAC, namespaced: watchNamespaces (real API server, ServiceAccount token)', () => {
  let kubeconfig: string;
  let client: KubeClient;

  before(() => {
    const { serviceAccount } = installRbac({ namespace: NS.namespaced, watchNamespaces: [NS.shop, NS.billing] });
    kubeconfig = serviceAccountKubeconfig(NS.namespaced, serviceAccount);
    client = new KubeClient(loadKubeConfig(kubeconfig));
  });

  it('grants exactly the reconciler\'s verbs in the watched namespaces and nothing elsewhere', () => {
    captured.namespacedApp = canIList(kubeconfig, NS.shop);
    captured.namespacedOwn = canIList(kubeconfig, NS.namespaced);
    captured.namespacedOther = canIList(kubeconfig, 'kube-system');
    assert.deepEqual(ourRows(captured.namespacedApp), { ...EXPECTED_ROWS, ...INSTALLS_ROW });
    assert.deepEqual(ourRows(canIList(kubeconfig, NS.billing)), { ...EXPECTED_ROWS, ...INSTALLS_ROW });
    assert.deepEqual(ourRows(captured.namespacedOwn), LEASE_ROW, 'its own namespace: the Lease only');
    assert.deepEqual(ourRows(captured.namespacedOther), INSTALLS_ROW, 'kube-system: reading a Lease only');
    assert.deepEqual(ourRows(canIList(kubeconfig, NS.other)), INSTALLS_ROW, 'another app\'s namespace: reading a Lease only');
    for (const ns of [NS.shop, NS.other, 'kube-system']) assertNothingMore(kubeconfig, ns);
    assertNothingMore(kubeconfig, NS.namespaced, true);
    for (const ns of [NS.other, 'kube-system']) {
      for (const verb of ['get', 'list', 'watch', 'create', 'update']) assert.equal(canI(kubeconfig, verb, 'secrets', '-n', ns), false, `${verb} secrets -n ${ns}`);
    }
    assert.equal(canI(kubeconfig, 'list', 'secrets', '--all-namespaces'), false);
  });

  it('is enough for every runtime operation, watching those namespaces', async () => {
    const mod = new KubeModule({ client, log: silentLogger(), namespaces: [NS.shop, NS.billing] });
    modules.push(mod);
    mod.start();
    await mod.waitForSync(20_000);
    assert.ok(mod.kube.get('PostgresFirewallRule', { namespace: NS.billing, name: 'namespaced' }), 'the second namespace is watched');
    assert.equal(mod.kube.get('PostgresFirewallRule', { namespace: NS.other, name: 'namespaced' }), undefined, 'an unwatched one is not');
    await exerciseRuntime(mod, NS.shop, 'namespaced');
    await exerciseRuntime(mod, NS.billing, 'namespaced');
    assert.equal(informerFailures(mod), 0, 'no informer was refused');
    await leads(client, NS.namespaced);
    // The other mode's install, whose Lease (released) is in its namespace.
    await readsAnotherInstallsLease(client, { namespace: NS.cluster, name: 'cdk8s-azure-reconciler' }, /^its Lease \S+ was (last )?renewed at /);
  });

  it('is enough for the reconciler process started with --namespaces: ready, leading, reconciling there and only there', async (t) => {
    for (const ns of [NS.shop, NS.billing, NS.other]) createRule(ns, 'process');
    const probePort = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'reconciler', 'main.ts'), '--leader-elect'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KUBECONFIG: kubeconfig,
        AZURE_SUBSCRIPTION_ID: SUBSCRIPTION,
        // As the install's Deployment passes them.
        WATCH_NAMESPACES: `${NS.shop},${NS.billing}`,
        POD_NAMESPACE: NS.namespaced,
        METRICS_BIND_ADDRESS: '0',
        HEALTH_PROBE_BIND_ADDRESS: `127.0.0.1:${probePort}`,
        SHUTDOWN_GRACE_PERIOD: '5s',
        LOG_LEVEL: 'debug',
      },
    });
    let logs = '';
    child.stdout.on('data', (d) => (logs += d));
    child.stderr.on('data', (d) => (logs += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.after(() => void child.kill('SIGKILL'));
    const withLogs = (err: Error) => new Error(`${err.message}\nreconciler logs:\n${logs.slice(-4000)}`);

    await waitFor('/readyz 200', async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200, 60_000).catch((e) => { throw withLogs(e); });
    await waitFor('lease held', () => kubectl(['get', 'lease', '-n', NS.namespaced, 'cdk8s-azure-reconciler', '-o', 'jsonpath={.spec.holderIdentity}']).stdout, 15_000)
      .catch((e) => { throw withLogs(e); });
    const conditions = (ns: string) => JSON.parse(kubectl(['get', '-n', ns, 'postgresfirewallrule', 'process', '-o', 'json'], { check: true }).stdout).status?.conditions;
    for (const ns of [NS.shop, NS.billing]) await waitFor(`PostgresFirewallRule ${ns}/process reconciled`, () => conditions(ns), 30_000).catch((e) => { throw withLogs(e); });
    assert.equal(conditions(NS.other), undefined, 'the rule of an unwatched namespace is left alone');
    assert.doesNotMatch(logs, /\b403\b|forbidden/i, 'no request was refused');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, `exit code after SIGTERM; logs:\n${logs.slice(-4000)}`);
  });

  it('reads the default cluster identity, the kube-system namespace\'s UID', async () => {
    const kubeSystemUid = JSON.parse(kubectl(['get', 'namespace', 'kube-system', '-o', 'json'], { check: true }).stdout).metadata.uid;
    assert.equal(await resolveClusterId(undefined, client), kubeSystemUid);
  });

  it('cannot read a Secret outside its namespaces (kube-system, another app\'s), nor list Secrets cluster-wide', async () => {
    assert.equal(await statusOf(client, `/api/v1/namespaces/kube-system/secrets/${KUBE_SYSTEM_SECRET}`), 403);
    assert.equal(await statusOf(client, `/api/v1/namespaces/${NS.other}/secrets/user-supplied`), 403);
    assert.equal(await statusOf(client, '/api/v1/secrets'), 403);
    assert.equal(await statusOf(client, `/api/v1/namespaces/${NS.other}/secrets`), 403);
    assert.equal(await statusOf(client, `/apis/cdk8s-azure.dev/v1alpha1/namespaces/${NS.other}/postgresfirewallrules`), 403);
    assert.equal(await statusOf(client, `/api/v1/namespaces/${NS.shop}/secrets/user-supplied`), 200, 'while it can in a watched one');
  });
});

describe('docs', () => {
  /** Blocks `<!-- can-i:<key> -->` + ```text ... ``` in the docs (the output names no namespace, so it is the same every run). */
  it('show the `kubectl auth can-i --list` output of the API server', () => {
    assert.equal(Object.keys(captured).length, 5, 'every can-i output was captured (run the whole file)');
    const shown: Record<string, string[]> = {
      'install.md': Object.keys(captured),
      'reconciler.md': ['clusterApp', 'namespacedApp', 'namespacedOther'],
    };
    for (const [doc, keys] of Object.entries(shown)) {
      const file = path.join(ROOT, 'docs', doc);
      let text = fs.readFileSync(file, 'utf8');
      for (const key of keys) {
        const re = new RegExp(`(<!-- can-i:${key} -->\\n\`\`\`text\\n)([\\s\\S]*?)(\`\`\`)`);
        assert.match(text, re, `docs/${doc} shows can-i:${key}`);
        if (process.env.RBAC_DOCS_UPDATE === '1') text = text.replace(re, (_m, a: string, _b: string, c: string) => a + captured[key] + c);
        else assert.equal(re.exec(text)![2], captured[key], `docs/${doc} can-i:${key} is the API server's answer (RBAC_DOCS_UPDATE=1 rewrites it)`);
      }
      if (process.env.RBAC_DOCS_UPDATE === '1') fs.writeFileSync(file, text);
    }
  });
});
