/**
 * Azure faults: 30 % of ARM requests answered 500 or 503, bursts of 429, operations that fail with ServerIsBusy (a
 * write while the server updates), end Canceled or take longer, connections dropped before and after the request
 * took effect. The run must converge; every Retry-After is waited out (from the emulator's timestamps); the
 * conditions seen on the way carry Azure's code and message.
 */
import type { Emulator, RequestLogEntry } from '../emulator';
import { app, App, applyAll, databaseCr, readyNames, serverCr } from './fixtures';
import { azureServers, Checks, freshNamespace, log, ReconcilerSupervisor, RequestRecorder, wipeNamespace } from './stack';
import { kubectl, sleep, waitFor } from '../integration/harness';

export interface AzureFaultOptions {
  readonly servers: number;
  readonly databasesPerServer: number;
  /** How long the faults last; then the run must converge without them within timeoutMs. */
  readonly faultWindowMs: number;
  readonly timeoutMs: number;
}

const NAMESPACE = 'chaos-azure-faults';
/** Messages of the emulator's injected faults, to find them again in conditions. */
const AZURE_CODES = ['InternalServerError', 'ServiceUnavailable', 'TooManyRequests', 'ServerIsBusy', 'OperationCancelled'];

/** Requests sent again before the Retry-After of the previous answer to the same request had passed. */
export function retryAfterViolations(entries: RequestLogEntry[], slackMs = 50): { checked: number; violations: string[] } {
  const violations: string[] = [];
  let checked = 0;
  const byRequest = new Map<string, RequestLogEntry[]>();
  for (const e of entries) {
    const key = `${e.principal ?? ''} ${e.method} ${e.path.toLowerCase()}`;
    (byRequest.get(key) ?? byRequest.set(key, []).get(key)!).push(e);
  }
  for (const list of byRequest.values()) {
    list.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    for (let i = 0; i + 1 < list.length; i++) {
      const e = list[i];
      if (!e.retryAfterSeconds || (e.status !== 429 && e.status !== 503)) continue;
      checked++;
      const answeredAt = Date.parse(e.time) + e.durationMs;
      const waited = Date.parse(list[i + 1].time) - answeredAt;
      if (waited + slackMs < e.retryAfterSeconds * 1000) violations.push(`${e.method} ${e.path} again ${waited} ms after ${e.status} with Retry-After: ${e.retryAfterSeconds}`);
    }
  }
  return { checked, violations };
}

export async function azureFaults(emulator: Emulator, clientId: string, checks: Checks, recorder: RequestRecorder, opts: AzureFaultOptions) {
  freshNamespace(NAMESPACE);
  const sup = new ReconcilerSupervisor(emulator, clientId, 'azure-faults', [`--namespace=${NAMESPACE}`]);
  sup.start();
  const apps: App[] = Array.from({ length: opts.servers }, (_, i) => app(NAMESPACE, 'fault', i, 'chaos-faults-rg'));
  const firstEntry = recorder.entries.length;
  const counts0 = emulator.admin.requests();
  emulator.admin.setFaults({
    errorRate: 0.3,
    errorStatuses: [500, 503],
    dropRate: 0.03,
    dropResponseRate: 0.03,
    operationCancelRate: 0.15,
    slowOperationRate: 0.2,
    slowOperationMs: 8000,
    // The rates above, and at least one of each whatever the dice say.
    rules: [
      { kind: 'cancelOperation', count: 1, match: 'PUT .*/flexibleServers/[^/]+$' },
      { kind: 'slowOperation', count: 1, ms: 8000 },
      { kind: 'drop', count: 1, match: 'GET .*/flexibleServers/[^/]+$' },
      // A create that took effect although its answer was lost.
      { kind: 'drop', phase: 'response', count: 1, match: 'PUT .*/flexibleServers/[^/]+$' },
    ],
  });
  const conditions = new Map<string, string>();
  const watchConditions = setInterval(() => {
    const items = JSON.parse(kubectl(['get', 'postgresservers,postgresdatabases', '-n', NAMESPACE, '-o', 'json']).stdout || '{"items":[]}').items ?? [];
    for (const o of items) {
      for (const c of o.status?.conditions ?? []) if (c.status === 'False') conditions.set(`${c.reason}: ${c.message}`, o.metadata.name);
    }
  }, 1000);
  let bursts = 0;
  const burstTimer = setInterval(() => {
    // A burst of 429s: the next 8 ARM requests, whatever they are.
    emulator.admin.addFault({ kind: 'error', status: 429, count: 8, retryAfterSeconds: 3 });
    bursts++;
  }, 15_000);
  const started = Date.now();
  const converged = () => readyNames('postgresservers', NAMESPACE).size === apps.length
    && readyNames('postgresdatabases', NAMESPACE).size === apps.length * opts.databasesPerServer;
  let convergedUnderFaults = false;
  let faultsEndedAt = 0;
  try {
    applyAll(apps.map((a) => serverCr(a)));
    await waitFor('servers Ready under faults', () => readyNames('postgresservers', NAMESPACE).size === apps.length, opts.faultWindowMs / 2, 1000)
      .catch(() => undefined);
    // A tag change (the server is Updating for a while) and databases at the same time: their writes reach a busy
    // server and their operations fail with ServerIsBusy, as in Azure.
    applyAll(apps.flatMap((a) => [
      serverCr(a, { tags: { chaos: 'faults' } }),
      ...Array.from({ length: opts.databasesPerServer }, (_, d) => databaseCr(a, `db${d}`)),
    ]));
    convergedUnderFaults = await waitFor('servers and databases Ready under faults', converged, Math.max(1000, started + opts.faultWindowMs - Date.now()), 1000)
      .then(() => true, () => false);
  } finally {
    clearInterval(burstTimer);
    emulator.admin.clearFaults();
    faultsEndedAt = Date.now();
  }
  // What the faults left behind (backoffs, operations to poll) drains without them.
  await waitFor('servers and databases Ready after the faults', converged, opts.timeoutMs, 1000).finally(() => clearInterval(watchConditions));
  const convergedSeconds = (Date.now() - started) / 1000;
  const drainSeconds = convergedUnderFaults ? 0 : (Date.now() - faultsEndedAt) / 1000;
  recorder.poll();
  const entries = recorder.entries.slice(firstEntry);
  const counts = emulator.admin.requests();
  const tagged = azureServers(emulator).filter((s) => apps.some((a) => a.azureName === s.name) && s.tags?.chaos === 'faults').length;
  const retry = retryAfterViolations(entries);
  // Conditions are sampled every second; Warning Events keep every report.
  for (const e of JSON.parse(kubectl(['get', 'events', '-n', NAMESPACE, '-o', 'json']).stdout || '{"items":[]}').items ?? []) {
    if (e.type === 'Warning') conditions.set(`${e.reason}: ${e.message}`, `event of ${e.involvedObject?.name}`);
  }
  const withAzureCode = [...conditions.keys()].filter((c) => AZURE_CODES.some((code) => c.includes(code)));
  const figures = {
    servers: apps.length,
    databases: apps.length * opts.databasesPerServer,
    faultWindowSeconds: opts.faultWindowMs / 1000,
    convergedUnderFaults,
    convergedSeconds,
    drainSeconds,
    armRequests: entries.length,
    injected: {
      errors500: entries.filter((e) => e.outcome === 'fault' && e.status === 500).length,
      errors503: entries.filter((e) => e.outcome === 'fault' && e.status === 503).length,
      errors429: entries.filter((e) => e.outcome === 'fault' && e.status === 429).length,
      throttled429: counts.throttled - counts0.throttled,
      bursts429: bursts,
      dropped: counts.faults.drops - counts0.faults.drops,
      droppedResponses: counts.faults.droppedResponses - counts0.faults.droppedResponses,
      cancelledOperations: counts.faults.cancelledOperations - counts0.faults.cancelledOperations,
      slowedOperations: counts.faults.slowedOperations - counts0.faults.slowedOperations,
      busyOperations: counts.busyOperations - counts0.busyOperations,
    },
    retryAfterChecked: retry.checked,
    retryAfterViolations: retry.violations.slice(0, 20),
    distinctFalseConditions: conditions.size,
    conditionsWithAzureCode: withAzureCode.slice(0, 20),
  };
  log(`azure faults: converged in ${convergedSeconds.toFixed(1)} s (${convergedUnderFaults ? 'under the faults' : `${drainSeconds.toFixed(1)} s after they ended`}); injected ${JSON.stringify(figures.injected)}; ${conditions.size} distinct Ready=False conditions and Warning Events`);
  checks.check(tagged === apps.length, `azure faults: every server's update reached Azure (${tagged}/${apps.length})`);
  checks.check(figures.injected.errors500 > 0 && figures.injected.errors503 > 0 && figures.injected.errors429 > 0
    && figures.injected.cancelledOperations > 0 && figures.injected.slowedOperations > 0
    && figures.injected.dropped > 0 && figures.injected.droppedResponses > 0,
  'azure faults: 500, 503, 429, cancelled and slow operations, connections dropped before and after the request were all served');
  checks.check(retry.checked > 0 && retry.violations.length === 0,
    `azure faults: every Retry-After waited out (${retry.checked} retried answers checked, ${retry.violations.length} too early${retry.violations.length ? `: ${retry.violations.slice(0, 3).join('; ')}` : ''})`);
  checks.check(withAzureCode.length > 0 && withAzureCode.every((c) => /: .*\w{3,}.*\w{3,}/.test(c)),
    `azure faults: conditions carried Azure's code and message (${withAzureCode.length} distinct, e.g. ${withAzureCode[0] ?? 'none'})`);
  checks.check(!sup.crashed(), 'azure faults: the reconciler never died');

  kubectl(['delete', 'postgresdatabases,postgresservers', '--all', '-n', NAMESPACE, '--wait=false'], { check: true });
  await waitFor('fault objects deleted', () => JSON.parse(kubectl(['get', 'postgresdatabases,postgresservers', '-n', NAMESPACE, '-o', 'json']).stdout).items.length === 0, 5 * 60_000, 1000);
  await sleep(100);
  const logs = sup.logs();
  await sup.stop();
  wipeNamespace(NAMESPACE);
  return { figures, logs };
}
