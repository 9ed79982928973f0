/**
 * The reconciler's memory on the real stack (control plane + ARM emulator + the bundle run as the image runs it,
 * with workload identity), in three states:
 *   1. idle: started, caches synced, nothing to do;
 *   2. unrelated objects: N Secrets and N ConfigMaps that are not ours in a watched namespace. They must cost nothing:
 *      the Secret informer lists and watches only Secrets labelled as ours, and ConfigMaps are never watched. Proven by
 *      RSS before and after, and by the reconciler's own count of cached objects (cdk8s_azure_informer_cached_objects);
 *   3. our objects: M PostgresRoles, each with its connection Secret (labelled ours, owned by the role), all cached and
 *      reconciled once (they wait for a server that does not exist, so no Azure work muddies the figure).
 * The peak under load is bench/arm-burst.ts's (1000 firewall rules created at once).
 *
 *   tsx bench/reconciler-footprint.ts            # 10 000 unrelated Secrets + 10 000 ConfigMaps, 1000 roles + Secrets
 *   tsx bench/reconciler-footprint.ts --quick    # 1000 + 1000 unrelated, 200 roles + Secrets, short waits
 *
 * Targets (issue 10): idle <= 64 MiB; with 1000 CRs and their Secrets cached <= 80 MiB; unrelated objects cost 0.
 */
import './isolate';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import { Reconciler } from '../src';
import { environment, loadAverage, mib, parseFlags, report, ROOT, seconds, sleep } from './common';
import { goalTable, writeResult, type Goal } from './contract';
import { cpuSeconds, kubectl, memoryNow, metricSum, readyCounts, startStack, Stack, waitReady } from './stack';

const HELP = `
Usage: tsx bench/reconciler-footprint.ts [flags]
  --quick                   a bounded run: 1000 unrelated Secrets and ConfigMaps, 200 roles, short waits
  --unrelated N             unrelated Secrets, and as many ConfigMaps (default 10000; --quick 1000)
  --roles N                 PostgresRoles, each with its connection Secret (default 1000; --quick 200)
  --idle-seconds N          wait after /readyz before the idle figure (default 30; --quick 12)
  --settle-seconds N        wait after each step before its figure (default 20; --quick 5)
  --cpu-prof                write a CPU profile of the reconciler to bench/out/ (adds overhead: not for the numbers)
  --heap-snapshot           write heap snapshots at each figure (SIGUSR2; inflates RSS after the first one)
  --node-options STRING     more NODE_OPTIONS for the reconciler (diagnosis, e.g. "--max-semi-space-size=1")
  --no-build                do not rebuild bundle/reconciler.js
  --shared-cluster          use the repository's control plane (.cluster/) instead of a benchmark-only one
`;

const argv = process.argv.slice(2).filter((a) => a !== '--shared-cluster').map((a) => (a === '--no-build' ? '--build=false' : a));
const parsed = parseFlags(argv, {
  quick: false, unrelated: -1, roles: -1, idleSeconds: -1, settleSeconds: -1, cpuProf: false, heapSnapshot: false, nodeOptions: '', build: true,
}, HELP);
const given = (v: number, full: number, quick: number) => (v >= 0 ? v : parsed.quick ? quick : full);
const flags = {
  ...parsed,
  unrelated: given(parsed.unrelated, 10_000, 1000),
  roles: given(parsed.roles, 1000, 200),
  // V8's memory reducer returns the start-up garbage ~9 s after /readyz (71 -> 64 MiB): the idle figure waits past it.
  idleSeconds: given(parsed.idleSeconds, 30, 12),
  settleSeconds: given(parsed.settleSeconds, 20, 5),
};

const NS = 'bench-footprint';
/** Targets from issue 10. */
const TARGET = { idleMiB: 64, cachedMiB: 80, unrelatedNoiseMiB: 2 };
const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** The memory request and limit the Reconciler construct gives the Deployment by default, in MiB. */
function installMemory(): { requestMiB?: number; limitMiB?: number } {
  const app = new App();
  new Reconciler(new Chart(app, 'install'), 'reconciler', { subscriptionId: '00000000-0000-0000-0000-000000000000' });
  const deployment = app.charts[0].toJson().find((o: any) => o.kind === 'Deployment');
  const resources = deployment?.spec?.template?.spec?.containers?.[0]?.resources ?? {};
  const toMiB = (q: unknown) => {
    const m = /^(\d+)(Mi|Gi)$/.exec(String(q ?? ''));
    return m ? Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1) : undefined;
  };
  return { requestMiB: toMiB(resources.requests?.memory), limitMiB: toMiB(resources.limits?.memory) };
}

/** Creates objects with `kubectl create` in batches (one POST each; apply would read each first). */
function create(items: object[], what: string): void {
  const batch = 1000;
  for (let i = 0; i < items.length; i += batch) {
    kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: items.slice(i, i + batch) }), check: true, timeoutMs: 300_000 });
  }
  log(`created ${items.length} ${what}`);
}

/** A Secret that is not ours: the size of a typical application credential. */
function unrelatedSecret(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `unrelated-${i}`, namespace: NS, labels: { app: 'someone-else' } },
    stringData: { username: `user${i}`, password: 'x'.repeat(32), config: 'k=v\n'.repeat(40) },
  };
}

function unrelatedConfigMap(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `unrelated-${i}`, namespace: NS, labels: { app: 'someone-else' } },
    data: { 'app.properties': 'key=value\n'.repeat(40) },
  };
}

function role(i: number) {
  return {
    apiVersion: 'cdk8s-azure.dev/v1alpha1',
    kind: 'PostgresRole',
    metadata: { name: `role-${i}`, namespace: NS },
    spec: {
      serverRef: { name: 'not-there' },
      databaseRef: { name: 'not-there' },
      roleName: `app_${i}`,
      writeConnectionSecretToRef: { name: `role-${i}-conn` },
    },
  };
}

/** The connection Secret a role owns, with the keys and sizes the reconciler writes (CloudNativePG's layout). */
function roleSecret(i: number, uid: string) {
  const host = `srv-${i % 10}.postgres.database.azure.com`;
  const password = 'p'.repeat(32);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: `role-${i}-conn`,
      namespace: NS,
      labels: { 'app.kubernetes.io/managed-by': 'cdk8s-azure' },
      ownerReferences: [{ apiVersion: 'cdk8s-azure.dev/v1alpha1', kind: 'PostgresRole', name: `role-${i}`, uid, controller: true, blockOwnerDeletion: true }],
    },
    stringData: {
      host,
      'port': '5432',
      'dbname': 'app',
      'username': `app_${i}`,
      password,
      'sslmode': 'require',
      'uri': `postgresql://app_${i}:${password}@${host}:5432/app?sslmode=require`,
      'jdbc-uri': `jdbc:postgresql://${host}:5432/app?user=app_${i}&password=${password}&sslmode=require`,
      'pgpass': `${host}:5432:app:app_${i}:${password}\n`,
    },
  };
}

interface Figure {
  at: string;
  tSeconds: number;
  rssMiB: number;
  hwmMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  cpuSeconds?: number;
  cachedSecrets: number;
  kubeRequests: number;
}

async function main(): Promise<void> {
  const env = environment();
  const outDir = path.join(ROOT, 'bench', 'out');
  const nodeOptions: string[] = [];
  if (flags.cpuProf || flags.heapSnapshot) mkdirSync(outDir, { recursive: true });
  if (flags.cpuProf) nodeOptions.push('--cpu-prof', `--cpu-prof-dir=${outDir}`);
  if (flags.nodeOptions) nodeOptions.push(flags.nodeOptions);
  if (flags.heapSnapshot) nodeOptions.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${outDir}`);
  log(`footprint bench${flags.quick ? ' (quick)' : ''}: ${flags.unrelated} unrelated Secrets + ConfigMaps, ${flags.roles} roles + Secrets; load ${env.loadAtStart}; commit ${env.commit}`);
  const install = installMemory();

  const stack: Stack = await startStack({
    namespace: NS,
    emulator: {},
    // Only this bench's namespace, like the other benches: a reconciler watching every namespace takes the objects of
    // a bench running beside it (bench/run.ts --quick) and stalls it. The unrelated objects are created in this one.
    args: [`--namespaces=${NS}`],
    env: nodeOptions.length ? { NODE_OPTIONS: nodeOptions.join(' ') } : undefined,
    build: flags.build,
    log,
  });
  const onSignal = () => {
    log('interrupted: cleaning up');
    void stack.teardown().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const figures: Figure[] = [];
  const figure = async (at: string): Promise<Figure> => {
    const m = memoryNow(stack);
    const metrics = await stack.reconciler.metrics();
    const f: Figure = {
      at,
      tSeconds: seconds(Date.now() - stack.startedAt),
      rssMiB: mib(m?.rss ?? NaN),
      hwmMiB: mib(m?.hwm ?? NaN),
      heapUsedMiB: mib(metricSum(metrics, 'nodejs_heap_size_used_bytes')),
      heapTotalMiB: mib(metricSum(metrics, 'nodejs_heap_size_total_bytes')),
      externalMiB: mib(metricSum(metrics, 'nodejs_external_memory_bytes')),
      cpuSeconds: cpuSeconds(stack.pid),
      cachedSecrets: metricSum(metrics, 'cdk8s_azure_informer_cached_objects', { resource: 'secrets' }),
      kubeRequests: metricSum(metrics, 'rest_client_requests_total'),
    };
    figures.push(f);
    log(`${at}: RSS ${f.rssMiB} MiB (HWM ${f.hwmMiB}), heap ${f.heapUsedMiB}/${f.heapTotalMiB} MiB, external ${f.externalMiB} MiB, `
      + `cached Secrets ${f.cachedSecrets}, Kubernetes requests ${f.kubeRequests}; load ${loadAverage()}`);
    if (flags.heapSnapshot) stack.reconciler.process.kill('SIGUSR2');
    return f;
  };

  let failure: string | undefined;
  let readyMs: number | undefined;
  try {
    readyMs = await waitReady(stack);
    log(`reconciler /readyz after ${readyMs} ms`);
    await sleep(flags.idleSeconds * 1000);
    await figure('idle');

    create(Array.from({ length: flags.unrelated }, (_, i) => unrelatedSecret(i)), 'unrelated Secrets');
    create(Array.from({ length: flags.unrelated }, (_, i) => unrelatedConfigMap(i)), 'unrelated ConfigMaps');
    await sleep(flags.settleSeconds * 1000);
    await figure('unrelated');

    create(Array.from({ length: flags.roles }, (_, i) => role(i)), 'PostgresRoles');
    const uids = new Map<string, string>();
    const list = JSON.parse(kubectl(['get', 'postgresroles', '-n', NS, '-o', 'json'], { check: true, timeoutMs: 120_000 }).stdout);
    for (const item of list.items) uids.set(item.metadata.name, item.metadata.uid);
    create(Array.from({ length: flags.roles }, (_, i) => roleSecret(i, uids.get(`role-${i}`)!)), 'role connection Secrets');
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const c = readyCounts(NS);
      const unreconciled = c.notReadyReasons['PostgresRole: no condition yet'] ?? 0;
      if (unreconciled === 0 || Date.now() > deadline) {
        log(`roles reconciled: ${JSON.stringify(c.notReadyReasons)}`);
        break;
      }
      await sleep(2000);
    }
    await sleep(flags.settleSeconds * 1000);
    await figure('ours cached');
  } catch (e) {
    failure = (e as Error).stack ?? String(e);
    log(`FAILED: ${failure}\nreconciler logs (tail):\n${stack.reconciler.logs().slice(-6000)}`);
  } finally {
    // The roles keep their finalizer (their server never existed: the reconciler asks for a manual drop), and the
    // teardown would strip them with a kubectl call each: delete them, then drop every finalizer in one replace.
    log('deleting the roles');
    kubectl(['delete', 'postgresroles', '--all', '-n', NS, '--wait=false'], { timeoutMs: 300_000 });
    const left = JSON.parse(kubectl(['get', 'postgresroles', '-n', NS, '-o', 'json'], { timeoutMs: 120_000 }).stdout || '{"items":[]}');
    if (left.items?.length) {
      for (const item of left.items) item.metadata.finalizers = [];
      kubectl(['replace', '-f', '-'], { input: JSON.stringify(left), timeoutMs: 300_000 });
    }
    log('teardown (deleting the namespace and everything in it)');
    await stack.teardown();
  }

  const at = (name: string) => figures.find((f) => f.at === name);
  const idle = at('idle');
  const unrelated = at('unrelated');
  const ours = at('ours cached');
  const peak = Math.max(mib(stack.memory.maxRss), ...figures.map((f) => f.hwmMiB));
  const unrelatedDelta = idle && unrelated ? Math.round((unrelated.rssMiB - idle.rssMiB) * 10) / 10 : NaN;
  const goals: Goal[] = [
    {
      goal: 'idle RSS',
      target: `<= ${TARGET.idleMiB} MiB`,
      value: idle?.rssMiB ?? 'failed',
      unit: 'MiB',
      met: idle ? idle.rssMiB <= TARGET.idleMiB : null,
    },
    {
      goal: `RSS with ${flags.roles} of our CRs and their Secrets cached`,
      target: `<= ${TARGET.cachedMiB} MiB (1000 CRs)`,
      value: ours?.rssMiB ?? 'failed',
      unit: 'MiB',
      met: ours ? ours.rssMiB <= TARGET.cachedMiB : null,
      note: flags.roles === 1000 ? undefined : `${flags.roles} CRs (quick), not the target's 1000`,
    },
    {
      goal: `${flags.unrelated} unrelated Secrets + ${flags.unrelated} ConfigMaps: RSS change`,
      target: `0 (within ${TARGET.unrelatedNoiseMiB} MiB noise), none cached`,
      value: Number.isNaN(unrelatedDelta) ? 'failed' : unrelatedDelta,
      unit: 'MiB',
      met: unrelated && idle ? Math.abs(unrelatedDelta) <= TARGET.unrelatedNoiseMiB && unrelated.cachedSecrets === idle.cachedSecrets : null,
      note: unrelated && idle ? `Secrets cached: ${idle.cachedSecrets} before, ${unrelated.cachedSecrets} after; Kubernetes requests ${idle.kubeRequests} -> ${unrelated.kubeRequests}` : undefined,
    },
    {
      goal: 'peak RSS of this run vs the install\'s memory request and limit',
      target: `<= request (${install.requestMiB ?? '?'} Mi)`,
      value: peak,
      unit: 'MiB',
      met: install.requestMiB !== undefined ? peak <= install.requestMiB : null,
      note: `limit ${install.limitMiB ?? '?'} Mi; the burst peak is bench/arm-burst.ts's`,
    },
  ];
  const data = {
    shape: { unrelatedSecrets: flags.unrelated, unrelatedConfigMaps: flags.unrelated, roles: flags.roles, roleSecrets: flags.roles },
    startToReadyzMs: readyMs,
    figures,
    peakRssMiB: peak,
    install,
    failure,
    env,
    loadAtEnd: loadAverage(),
    diagnostics: { nodeOptions: nodeOptions.join(' ') || undefined },
  };
  const file = writeResult('reconciler-footprint', flags.quick, goals, data);
  process.stdout.write(`\n${goalTable(goals)}\n\nwritten: ${path.relative(ROOT, file)}\n`);
  const row = idle && unrelated && ours
    ? `| ${env.date.slice(0, 10)} | ${env.commit}${env.dirtySrc.length ? '+dirty' : ''} | ${env.loadAtStart} | ${idle.rssMiB} MiB | ${unrelatedDelta} MiB (${flags.unrelated} + ${flags.unrelated}) | ${ours.rssMiB} MiB (${flags.roles} roles + Secrets) | ${peak} MiB |`
    : `| ${env.date.slice(0, 10)} | ${env.commit} | ${env.loadAtStart} | failed: ${String(failure).split('\n')[0]} |`;
  report('reconciler-footprint', { bench: 'reconciler-footprint', quick: flags.quick, goals, ...data }, row);
  process.exitCode = failure ? 1 : 0;
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
