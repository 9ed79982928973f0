/**
 * Control plane: kube-apiserver and etcd are killed and restarted, and the reconciler's connections (its watches)
 * are cut, while servers are being created. The reconciler must recover by itself (same process), finish the work,
 * and take what comes after; its requests to the apiserver stay bounded: one re-list per watched resource and
 * disruption at most, and a quiet rate afterwards.
 */
import { restartComponent } from '../cluster/cluster';
import type { Emulator } from '../emulator';
import { app, applyAll, databaseCr, readyNames, serverCr } from './fixtures';
import { apiserverPort, ApiserverRelay, apiserverTraffic, Checks, freshNamespace, log, random, ReconcilerSupervisor, relayedKubeconfig, wipeNamespace } from './stack';
import { kubectl, sleep, waitFor } from '../integration/harness';

export interface ControlPlaneOptions {
  readonly servers: number;
  readonly apiserverRestarts: number;
  readonly etcdRestarts: number;
  readonly watchCuts: number;
}

const NAMESPACE = 'chaos-control-plane';
/** Resources the reconciler watches (its informers): 4 kinds and Secrets. */
const WATCHED = 5;
const QUIET_SECONDS = 30;

export async function controlPlane(emulator: Emulator, clientId: string, checks: Checks, opts: ControlPlaneOptions) {
  freshNamespace(NAMESPACE);
  const relay = new ApiserverRelay(apiserverPort());
  await relay.start();
  const sup = new ReconcilerSupervisor(emulator, clientId, 'control-plane', [`--namespace=${NAMESPACE}`], { KUBECONFIG: relayedKubeconfig(relay) });
  const r = sup.start();
  const apps = Array.from({ length: opts.servers }, (_, i) => app(NAMESPACE, 'cp', i, 'chaos-cp-rg'));
  const allReady = (n: number) => readyNames('postgresservers', NAMESPACE).size === n && readyNames('postgresdatabases', NAMESPACE).size === n;
  await waitFor('the reconciler serves metrics', () => r.metrics().then(() => true), 60_000);
  const before = await apiserverTraffic(r);

  applyAll(apps.flatMap((a) => [serverCr(a), databaseCr(a)]));
  const started = Date.now();
  const downtimes: { component: string; ms: number }[] = [];
  const disruptions: (() => Promise<void>)[] = [
    ...Array.from({ length: opts.apiserverRestarts }, () => async () => { downtimes.push({ component: 'kube-apiserver', ms: await restartComponent('kube-apiserver') }); }),
    ...Array.from({ length: opts.etcdRestarts }, () => async () => { downtimes.push({ component: 'etcd', ms: await restartComponent('etcd') }); }),
    ...Array.from({ length: opts.watchCuts }, () => async () => { relay.cut(); }),
  ].sort(() => Math.random() - 0.5);
  for (const disrupt of disruptions) {
    await sleep(random(1000, 5000));
    await disrupt();
  }
  log(`control plane: ${downtimes.length} restarts (${downtimes.map((d) => `${d.component} ${d.ms} ms`).join(', ')}), ${relay.cuts} connection cuts`);
  await waitFor('every server and database Ready after the disruptions', () => allReady(apps.length), 10 * 60_000, 1000);
  const convergedSeconds = (Date.now() - started) / 1000;

  // After the disruptions, new work is taken by the same process: its watches work again.
  const late = app(NAMESPACE, 'cp-late', 0, 'chaos-cp-rg');
  applyAll([serverCr(late), databaseCr(late)]);
  await waitFor('a server created after the disruptions is Ready', () => allReady(apps.length + 1), 5 * 60_000, 1000);
  const sameProcess = r.process.exitCode === null && r.process.signalCode === null && sup.starts === 1;
  checks.check(sameProcess, 'control plane: the reconciler recovered without a restart (one process throughout)');

  const afterWork = await apiserverTraffic(r);
  await sleep(QUIET_SECONDS * 1000);
  const quiet = await apiserverTraffic(r);
  const disruptionCount = downtimes.length + relay.cuts;
  const relists = afterWork.relists - before.relists;
  const watchesEnded = afterWork.watchesEnded - before.watchesEnded;
  const quietRate = (quiet.requests - afterWork.requests) / QUIET_SECONDS;
  const figures = {
    servers: apps.length + 1,
    apiserverRestarts: opts.apiserverRestarts,
    etcdRestarts: opts.etcdRestarts,
    watchCuts: relay.cuts,
    downtimesMs: downtimes,
    convergedSeconds,
    apiserverRequests: afterWork.requests - before.requests,
    relists,
    watchesEnded,
    relistsPerDisruptionAndResource: relists / (disruptionCount * WATCHED),
    quietRequestsPerSecond: quietRate,
  };
  log(`control plane: ${figures.apiserverRequests} apiserver requests, ${relists} re-LISTs, ${watchesEnded} WATCHes ended, ${quietRate.toFixed(2)} req/s when quiet`);
  // A re-list storm would list each resource again and again; recovery costs at most one LIST per watched resource and
  // disruption, plus one retry each.
  checks.check(relists <= 2 * disruptionCount * WATCHED, `control plane: ${relists} re-LISTs for ${disruptionCount} disruptions of ${WATCHED} watches (bound ${2 * disruptionCount * WATCHED})`);
  checks.check(quietRate < 1, `control plane: quiet afterwards, ${quietRate.toFixed(2)} requests/s to the apiserver over ${QUIET_SECONDS} s (bound 1)`);

  kubectlDeleteAll();
  await waitFor('control-plane objects deleted', () => readyNames('postgresservers', NAMESPACE).size === 0 && countAll() === 0, 5 * 60_000, 1000);
  const logs = sup.logs();
  await sup.stop();
  await relay.stop();
  wipeNamespace(NAMESPACE);
  return { figures, logs };
}

function kubectlDeleteAll(): void {
  kubectl(['delete', 'postgresdatabases,postgresservers', '--all', '-n', NAMESPACE, '--wait=false'], { check: true });
}

function countAll(): number {
  return JSON.parse(kubectl(['get', 'postgresdatabases,postgresservers', '-n', NAMESPACE, '-o', 'json']).stdout || '{"items":[]}').items.length;
}
