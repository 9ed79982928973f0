/**
 * Two installs of the reconciler watching the same namespace, against the real API server (test/cluster) and the ARM
 * emulator with real PostgreSQL: two in-process managers with the real controllers, each its own leader-election
 * Lease (its install identity, short lease durations) and its own Azure identity, so that every ARM request says
 * which install sent it. Each resource is claimed by exactly one install (annotation cdk8s-azure.dev/reconciled-by,
 * in the patch that adds the finalizer); the other makes no Azure call and no write for it, and says so once with a
 * Warning Event; Azure sees one create per resource; the role's password never changes; when the owner is gone the
 * other takes over (a Normal Event) and the resources stay Ready; a resource made before claims is claimed in one patch.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientSecretCredential } from '@azure/identity';
import { FAST_TIMING, connectWithUri } from './helpers/harness';
import { formatInstall, RECONCILED_BY_ANNOTATION, type InstallIdentity } from '../../src/api';
import { identityFromToken } from '../../src/reconciler/azure/identity';
import { FINALIZER } from '../../src/reconciler/contracts';
import { createControllersWith } from '../../src/reconciler/controllers';
import { KubeClient, loadKubeConfig } from '../../src/reconciler/kube/client';
import { createLogger, silentLogger } from '../../src/reconciler/log';
import { Metrics } from '../../src/reconciler/metrics';
import { Manager } from '../../src/reconciler/runtime/manager';
import { ensureCluster, kubectl } from '../cluster/cluster';
import { startEmulator, trustEmulatorCa, type Emulator } from '../emulator/index';

const RUN = Date.now().toString(36);
/** The apps' namespace, which both installs watch, and the namespace of the installs' Leases. */
const APP = `installs-app-${RUN}`;
const SYS = `installs-sys-${RUN}`;
const CLIENTS = {
  a: { clientId: 'aaaaaaaa-5555-4000-8000-00000000000a', clientSecret: 'install-a-secret-0123456789' },
  b: { clientId: 'bbbbbbbb-5555-4000-8000-00000000000b', clientSecret: 'install-b-secret-0123456789' },
};
type Name = keyof typeof CLIENTS;
const SRV = `srv-installs-${RUN}`;
/** The emulator's ARM resource paths of the server and of its children, to tell whose request was whose. */
const PATHS: Record<string, RegExp> = {
  PostgresServer: new RegExp(`/flexibleServers/${SRV}(/(?!databases/|firewallRules/)|$)`, 'i'),
  PostgresDatabase: new RegExp(`/flexibleServers/${SRV}/databases/`, 'i'),
  PostgresFirewallRule: new RegExp(`/flexibleServers/${SRV}/firewallRules/`, 'i'),
};
const PLURAL: Record<string, string> = {
  PostgresServer: 'postgresservers', PostgresDatabase: 'postgresdatabases', PostgresFirewallRule: 'postgresfirewallrules', PostgresRole: 'postgresroles',
};

let kubeconfig: string;
let emu: Emulator;
const oid: Record<Name, string> = { a: '', b: '' };
const running: Partial<Record<Name, Manager>> = {};
/** Installs that lost their Lease: the test's timings are short, and a lost Lease stops an install for good. */
const lost: Name[] = [];
const identity = (name: Name): InstallIdentity => ({ namespace: SYS, name: `install-${name}` });

const credentialOf = (name: Name) => new ClientSecretCredential(emu.tenantId, CLIENTS[name].clientId, CLIENTS[name].clientSecret, {
  authorityHost: emu.authorityHost, disableInstanceDiscovery: true,
});

function start(name: Name): Manager {
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  // INSTALLS_TEST_LOG=<file>: both installs' logs, for when this fails.
  const file = process.env.INSTALLS_TEST_LOG;
  const log = file ? createLogger({ level: 'debug', destination: createWriteStream(file, { flags: 'a' }), base: { install: name } }) : silentLogger();
  const credential = credentialOf(name);
  const manager = new Manager({
    client,
    log,
    metrics: new Metrics({ defaultMetrics: false }),
    namespace: APP,
    // Short, so that the other install looks again (and takes over) within the test.
    resyncPeriodMs: 3_000,
    shutdownGraceMs: 5_000,
    controllers: (kube, installs) => createControllersWith({
      kube,
      installs,
      log,
      clusterId: 'installs-test',
      subscriptionId: emu.subscriptionId,
      armEndpoint: emu.armEndpoint,
      armScope: `${emu.armEndpoint}/.default`,
      credential,
      postgresCa: emu.caCertPem,
      watchNamespaces: [APP],
    }, { timing: FAST_TIMING }),
    leaderElection: { ...identity(name), identity: `${name}-0`, leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 },
    onLeadershipLost: () => lost.push(name),
  });
  manager.start();
  running[name] = manager;
  return manager;
}

function create(kind: string, name: string, spec: object, metadata: object = {}): void {
  kubectl(['create', '-n', APP, '-f', '-'], { check: true, input: JSON.stringify({ apiVersion: 'cdk8s-azure.dev/v1alpha1', kind, metadata: { name, ...metadata }, spec }) });
}
function get(kind: string, name: string): any {
  const r = kubectl(['get', '-n', APP, PLURAL[kind], name, '-o', 'json', '--ignore-not-found']);
  return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
}
/** Every object of a kind, by name (one kubectl call for a whole poll). */
function all(kind: string): Record<string, any> {
  const items = JSON.parse(kubectl(['get', '-n', APP, PLURAL[kind], '-o', 'json'], { check: true }).stdout).items as any[];
  return Object.fromEntries(items.map((o) => [o.metadata.name, o]));
}
const claimOf = (kind: string, name: string): string | undefined => get(kind, name)?.metadata?.annotations?.[RECONCILED_BY_ANNOTATION];
const ready = (kind: string, name: string) => (get(kind, name)?.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
const ownerOf = (claim: string | undefined): Name | undefined => (['a', 'b'] as Name[]).find((n) => claim === formatInstall(identity(n)));
const other = (name: Name): Name => (name === 'a' ? 'b' : 'a');
function secretData(name: string): Record<string, string> {
  const s = JSON.parse(kubectl(['get', '-n', APP, 'secret', name, '-o', 'json'], { check: true }).stdout);
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')]));
}
/** The Events of an object with a reason. */
function events(name: string, reason: string): any[] {
  const out = kubectl(['get', 'events', '-n', APP, '--field-selector', `involvedObject.name=${name},reason=${reason}`, '-o', 'json'], { check: true }).stdout;
  return JSON.parse(out).items;
}
/** The ARM requests (of the emulator's log) for one of our resources, by the principal (install) that sent them. */
function armPrincipals(kind: string): Set<string | undefined> {
  return new Set(emu.admin.requests().log.filter((r) => PATHS[kind].test(r.path.split('?')[0])).map((r) => r.principal));
}
/** Polls `cond` (kubectl each time: every 500 ms, not faster) until it holds; throws with `what` after timeoutMs. */
async function waitFor<T>(what: string, cond: () => T | undefined | false | '', timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

function writesOf(name: Name) {
  return { ...running[name]!.cluster.kube.writes };
}

const APP_OBJECTS: Array<[string, string]> = [
  ['PostgresServer', 'server'], ['PostgresDatabase', 'shop'], ['PostgresFirewallRule', 'office'], ['PostgresRole', 'app'],
];

before(async () => {
  ({ kubeconfig } = await ensureCluster());
  kubectl(['apply', '-f', 'crds/'], { check: true });
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', 'crds/'], { check: true });
  for (const ns of [APP, SYS]) kubectl(['create', 'namespace', ns], { check: true });
  emu = await startEmulator({ provisioningDelayMs: 300, enforceFirewall: false, clients: [CLIENTS.a, CLIENTS.b] });
  trustEmulatorCa(emu);
  for (const name of ['a', 'b'] as Name[]) {
    oid[name] = identityFromToken((await credentialOf(name).getToken(`${emu.armEndpoint}/.default`))!.token)!.objectId;
  }
});

after(async () => {
  await Promise.all(Object.values(running).map((m) => m.stop()));
  for (const kind of Object.values(PLURAL)) {
    for (const o of JSON.parse(kubectl(['get', '-n', APP, kind, '-o', 'json']).stdout || '{"items":[]}').items) {
      kubectl(['patch', '-n', APP, kind, o.metadata.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    }
  }
  for (const ns of [APP, SYS]) kubectl(['delete', 'namespace', ns, '--wait=false']);
  await emu?.stop();
});

describe('two installs watching one namespace (real API server, ARM emulator)', () => {
  it('started together, each resource is claimed by exactly one install, in the patch that adds its finalizer; the other leaves it alone and says so once', async () => {
    start('a');
    start('b');
    // Rules of a server that does not exist: they wait (WaitingForServer), with no Azure call, and are claimed.
    const rules = Array.from({ length: 8 }, (_, i) => `race-${i}`);
    for (const r of rules) create('PostgresFirewallRule', r, { serverRef: { name: 'nosuch' }, azureName: r, startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' });
    await waitFor('every rule claimed and waiting', () => {
      const items = all('PostgresFirewallRule');
      return rules.every((r) => items[r]?.metadata.annotations?.[RECONCILED_BY_ANNOTATION] &&
        (items[r]?.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.reason === 'WaitingForServer'));
    }, 30_000);
    const owners = rules.map((r) => ownerOf(claimOf('PostgresFirewallRule', r)));
    assert.ok(owners.every((o) => o !== undefined), `claims: ${owners.join(', ')}`);
    for (const r of rules) assert.deepEqual(get('PostgresFirewallRule', r).metadata.finalizers, [FINALIZER]);
    // One claim patch per rule, the finalizer with it: no write of a finalizer alone.
    const [wa, wb] = [writesOf('a'), writesOf('b')];
    assert.equal(wa.claims + wb.claims, rules.length, `claims written: a ${wa.claims}, b ${wb.claims}`);
    assert.equal(wa.finalizers + wb.finalizers, 0);
    // The install that does not own a rule records one Warning Event for it that names the owner and the fix.
    const warned = () => JSON.parse(kubectl(['get', 'events', '-n', APP, '--field-selector', 'reason=ReconciledByAnotherInstall', '-o', 'json'], { check: true }).stdout).items as any[];
    await waitFor('a Warning Event from the other install for every rule', () => {
      const list = warned();
      return rules.every((r) => list.filter((e) => e.involvedObject.name === r).length === 1);
    }, 20_000);
    rules.forEach((r, i) => {
      const [event] = events(r, 'ReconciledByAnotherInstall');
      const owner = formatInstall(identity(owners[i]!));
      assert.equal(event.type, 'Warning');
      assert.match(event.message, new RegExp(`reconciled by the reconciler install ${owner}, which claimed it first`));
      assert.match(event.message, new RegExp(`this install \\(${formatInstall(identity(other(owners[i]!)))}\\) leaves it alone`));
      assert.match(event.message, /remove it from the watchNamespaces \(--namespaces\) of the install that should not reconcile it/);
    });
    await sleep(4_000); // a resync of both: the claims hold, the Event is not repeated
    assert.deepEqual(rules.map((r) => ownerOf(claimOf('PostgresFirewallRule', r))), owners);
    for (const r of rules) assert.equal(events(r, 'ReconciledByAnotherInstall')[0].count ?? 1, 1);

    // Deleted: each rule's owner, and only it, removes the finalizer.
    const removedBefore = { a: writesOf('a').finalizers, b: writesOf('b').finalizers };
    for (const r of rules) kubectl(['delete', '-n', APP, 'postgresfirewallrule', r, '--wait=false'], { check: true });
    await waitFor('every rule gone', () => rules.every((r) => !all('PostgresFirewallRule')[r]), 30_000);
    for (const n of ['a', 'b'] as Name[]) {
      assert.equal(writesOf(n).finalizers - removedBefore[n], owners.filter((o) => o === n).length, `finalizers removed by ${n}`);
    }
  });

  it('a server, its database, firewall rule and role: one create each in Azure, by the owner only; the role\'s password never changes; Ready stays', async () => {
    emu.admin.resetRequests();
    create('PostgresServer', 'server', { azureName: SRV, resourceGroup: { name: `rg-${SRV}`, create: true }, location: 'eastus', writeConnectionSecretToRef: { name: 'server-admin' } });
    create('PostgresDatabase', 'shop', { serverRef: { name: 'server' }, azureName: 'shop' });
    create('PostgresFirewallRule', 'office', { serverRef: { name: 'server' }, azureName: 'office', startIpAddress: '10.1.0.1', endIpAddress: '10.1.0.9' });
    create('PostgresRole', 'app', { serverRef: { name: 'server' }, databaseRef: { name: 'shop' }, roleName: 'app_user', writeConnectionSecretToRef: { name: 'app-pg' } });
    await waitFor('all Ready', () => APP_OBJECTS.every(([kind, name]) => ready(kind, name)?.status === 'True'), 120_000);
    const owners = Object.fromEntries(APP_OBJECTS.map(([kind, name]) => [kind, ownerOf(claimOf(kind, name))!]));
    const password = secretData('app-pg').password;
    const adminPassword = secretData('server-admin').password;
    const since = Object.fromEntries(APP_OBJECTS.map(([kind, name]) => [kind, ready(kind, name).lastTransitionTime]));

    // Both run: several resyncs of each.
    await sleep(10_000);
    assert.equal(secretData('app-pg').password, password, 'the role\'s password never changed');
    assert.equal(secretData('server-admin').password, adminPassword, 'the administrator\'s password never changed');
    await (await connectWithUri(secretData('app-pg').uri, emu.caCertPem)).end();
    for (const [kind, name] of APP_OBJECTS) {
      const owner = owners[kind];
      assert.ok(owner, `${kind} ${name} is claimed`);
      assert.equal(ready(kind, name).status, 'True', `${kind} ${name} stays Ready`);
      assert.equal(ready(kind, name).lastTransitionTime, since[kind], `${kind} ${name}: Ready did not flip`);
      const [event] = events(name, 'ReconciledByAnotherInstall');
      assert.ok(event, `${kind} ${name}: the other install says it leaves it alone`);
      assert.match(event.message, new RegExp(`this install \\(${formatInstall(identity(other(owner)))}\\)`));
      if (PATHS[kind]) assert.deepEqual([...armPrincipals(kind)], [oid[owner]], `${kind} ${name}: every ARM request is its owner's`);
    }
    const counts = emu.admin.requests();
    assert.equal(counts.serverCreates[SRV], 1, 'one create of the server');
    const puts = (pattern: RegExp) => Object.entries(counts.writesByResource).filter(([id]) => pattern.test(id)).map(([, w]) => w.PUT ?? 0);
    assert.deepEqual(puts(/\/databases\/shop$/), [1], 'one create of the database');
    assert.deepEqual(puts(/\/firewallrules\/office$/), [1], 'one create of the firewall rule');
  });

  it('when the owner stops and its Lease expires, the other takes everything over (a Normal Event), and it stays Ready', async () => {
    const owner = ownerOf(claimOf('PostgresServer', 'server'))!;
    const heir = other(owner);
    const password = secretData('app-pg').password;
    await running[owner]!.stop();
    delete running[owner];
    await waitFor('everything taken over', () => APP_OBJECTS.every(([kind, name]) => ownerOf(claimOf(kind, name)) === heir), 30_000);
    for (const [kind, name] of APP_OBJECTS) {
      const [event] = events(name, 'ClaimTakenOver');
      if (!event) continue; // the heir owned it already
      assert.equal(event.type, 'Normal');
      assert.match(event.message, new RegExp(`reconciled by the reconciler install ${formatInstall(identity(heir))}, which took over from the reconciler install ${formatInstall(identity(owner))}`));
      assert.equal(ready(kind, name).status, 'True', `${kind} ${name}: ${JSON.stringify(ready(kind, name))}`);
    }
    assert.ok(events('server', 'ClaimTakenOver').length === 1);
    await sleep(4_000); // a resync of the heir
    for (const [kind, name] of APP_OBJECTS) assert.equal(ready(kind, name).status, 'True', `${kind} ${name} stays Ready`);
    assert.equal(secretData('app-pg').password, password);
    assert.equal(emu.admin.requests().serverCreates[SRV], 1, 'not created again');
  });

  it('a resource made before claims (finalizer, no annotation) is claimed with one patch', async () => {
    const heir = (Object.keys(running) as Name[])[0];
    const first = writesOf(heir);
    create('PostgresFirewallRule', 'legacy', { serverRef: { name: 'nosuch' }, azureName: 'legacy', startIpAddress: '10.0.0.1', endIpAddress: '10.0.0.1' }, { finalizers: [FINALIZER] });
    await waitFor('claimed', () => claimOf('PostgresFirewallRule', 'legacy'), 20_000);
    await waitFor('reconciled', () => ready('PostgresFirewallRule', 'legacy'), 20_000);
    const then = writesOf(heir);
    assert.equal(claimOf('PostgresFirewallRule', 'legacy'), formatInstall(identity(heir)));
    assert.equal(then.claims - first.claims, 1, 'one patch');
    assert.equal(then.finalizers - first.finalizers, 0);
    assert.equal(then.annotations - first.annotations, 0);
    assert.deepEqual(get('PostgresFirewallRule', 'legacy').metadata.finalizers, [FINALIZER]);
  });
});
