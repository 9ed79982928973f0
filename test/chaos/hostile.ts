/**
 * Hostile input: a tenant with rights in one namespace (chaos-hostile) sends the generated invalid or odd resources,
 * and attacks a victim's live server in another namespace (chaos-victim): adoption of the foreign server, Secrets the
 * reconciler does not own, references across namespaces. Each one is refused by the API server's schema or answered
 * with a clear condition; the reconciler never crashes, sends no Azure request for any of them (only reads of the
 * victim's server, to refuse the adoption), and nothing outside the hostile namespace changes.
 */
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { CLUSTER_DIR } from '../cluster/cluster';
import type { Emulator } from '../emulator';
import { app, applyAll, databaseCr, isReady, roleCr, RUN_ID, serverCr } from './fixtures';
import { generateHostileInputs, HostileInput } from './hostile-inputs';
import { azureServers, Checks, connectWithSecret, freshNamespace, listJson, log, ReconcilerSupervisor, RequestRecorder, wipeNamespace } from './stack';
import { kubectl, readyCondition, secretData, waitFor } from '../integration/harness';

const HOSTILE = 'chaos-hostile';
const VICTIM = 'chaos-victim';
const VICTIM_GROUP = 'chaos-victim-rg';
const HOSTILE_GROUP = 'chaos-hostile-rg';
const OUT_OF_SCOPE_GROUP = 'chaos-out-of-scope-rg';
/** Answers that say clearly why nothing happens. */
const CLEAR_REASONS = ['InvalidSpec', 'OutOfScope', 'WaitingForServer', 'WaitingForDatabase', 'AdoptionRefused', 'AlreadyExists', 'Conflict', 'SecretConflict'];

/** One request to kube-apiserver as the cluster admin (client certificate). */
function kubeRequest(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: any }> {
  const state = JSON.parse(readFileSync(path.join(CLUSTER_DIR, 'state.json'), 'utf8'));
  const url = new URL(urlPath, state.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method,
      ca: readFileSync(path.join(CLUSTER_DIR, 'pki', 'ca.crt')),
      cert: readFileSync(path.join(CLUSTER_DIR, 'pki', 'admin.crt')),
      key: readFileSync(path.join(CLUSTER_DIR, 'pki', 'admin.key')),
      headers: { 'Content-Type': 'application/json', ...(payload ? { 'Content-Length': String(payload.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function post(inputs: HostileInput[], concurrency = 6): Promise<Map<number, { status: number; name?: string; message?: string }>> {
  const results = new Map<number, { status: number; name?: string; message?: string }>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < inputs.length) {
      const input = inputs[next++];
      const r = await kubeRequest('POST', `/apis/cdk8s-azure.dev/v1alpha1/namespaces/${HOSTILE}/${input.plural}`, input.body);
      results.set(input.id, { status: r.status, name: r.body?.metadata?.name, message: r.body?.message });
    }
  }));
  return results;
}

function fingerprint(namespace: string): string {
  const secrets = listJson('secrets', namespace).filter((s) => s.type !== 'kubernetes.io/service-account-token')
    .map((s) => `${s.metadata.name}=${JSON.stringify(s.data)}`).sort();
  const specs = ['postgresservers', 'postgresdatabases', 'postgresroles'].flatMap((k) => listJson(k, namespace).map((o) => `${k}/${o.metadata.name}@${o.metadata.generation}`)).sort();
  return JSON.stringify({ secrets, specs });
}

export async function hostileInput(emulator: Emulator, clientId: string, checks: Checks, recorder: RequestRecorder, opts: { stride: number }) {
  freshNamespace(VICTIM);
  freshNamespace(HOSTILE);
  const sup = new ReconcilerSupervisor(emulator, clientId, 'hostile', [
    `--namespaces=${VICTIM},${HOSTILE}`,
    `--adoption-namespaces=${HOSTILE}`,
    `--namespace-scopes=${JSON.stringify({ [VICTIM]: { resourceGroups: [VICTIM_GROUP] }, [HOSTILE]: { resourceGroups: [VICTIM_GROUP, HOSTILE_GROUP] } })}`,
  ]);
  sup.start();

  // The victim: a live server with a database and a role.
  const victim = { ...app(VICTIM, 'victim', 0, VICTIM_GROUP), name: 'victim' };
  applyAll([serverCr(victim), databaseCr(victim), roleCr(victim)]);
  await waitFor('the victim is Ready', () => isReady('postgresservers', VICTIM, 'victim') && isReady('postgresdatabases', VICTIM, 'victim-db')
    && isReady('postgresroles', VICTIM, 'victim-app'), 10 * 60_000, 1000);
  const victimAdmin = secretData(VICTIM, 'victim-admin');
  const victimRole = secretData(VICTIM, 'victim-app');
  const victimTags = JSON.stringify(azureServers(emulator).find((s) => s.name === victim.azureName)?.tags);
  const victimBefore = fingerprint(VICTIM);

  // A Secret of another app in the hostile namespace, not managed by cdk8s-azure.
  kubectl(['create', 'secret', 'generic', 'foreign', '-n', HOSTILE, '--from-literal=password=not-yours-to-touch'], { check: true });
  const foreignBefore = JSON.stringify(listJson('secrets', HOSTILE).find((s) => s.metadata.name === 'foreign')?.data);

  const firstEntry = recorder.entries.length;
  const inputs = generateHostileInputs({ namespace: HOSTILE, outOfScopeGroup: OUT_OF_SCOPE_GROUP, runId: RUN_ID }, opts.stride);
  // Attacks on the victim, in scope, so that only the reconciler's owner checks stand in the way.
  const attack = (probe: string, body: any) => inputs.push({ id: inputs.length, plural: `${body.kind.toLowerCase()}s`, name: body.metadata.name, probe, body });
  const thief = { ...victim, namespace: HOSTILE, name: 'thief' };
  attack('adopt the victim\'s server', { ...serverCr(thief), metadata: { name: 'thief', namespace: HOSTILE, annotations: { 'cdk8s-azure.dev/adopt': 'true' } } });
  attack('take the victim\'s server without adopting', { ...serverCr({ ...thief, name: 'thief-plain' }), metadata: { name: 'thief-plain', namespace: HOSTILE } });
  attack('twin of the victim\'s database on the adopting server', databaseCr(thief));
  attack('the victim\'s role on the adopting server', { ...roleCr(thief), metadata: { name: 'thief-app', namespace: HOSTILE, annotations: { 'cdk8s-azure.dev/adopt': 'true' } } });
  attack('the victim\'s admin login as a role', {
    ...roleCr(thief, { roleName: victimAdmin.username, writeConnectionSecretToRef: { name: 'thief-admin-role' } }),
    metadata: { name: 'thief-admin-role', namespace: HOSTILE, annotations: { 'cdk8s-azure.dev/adopt': 'true' } },
  });
  const squatter = app(HOSTILE, 'squatter', 0, HOSTILE_GROUP);
  attack('server writing its Secret into a foreign Secret', serverCr(squatter, { writeConnectionSecretToRef: { name: 'foreign' } }));
  attack('role writing its Secret into a foreign Secret', roleCr(thief, { writeConnectionSecretToRef: { name: 'foreign' } }));
  for (const i of inputs.slice(-2)) i.body.metadata.name = `${i.body.metadata.name}-foreign`;

  const t0 = Date.now();
  const results = await post(inputs);
  const accepted = inputs.filter((i) => { const s = results.get(i.id)!.status; return s === 201 || s === 200; });
  const rejected = inputs.filter((i) => { const s = results.get(i.id)!.status; return s >= 400 && s < 500; });
  const other = inputs.filter((i) => !accepted.includes(i) && !rejected.includes(i));
  log(`hostile: ${inputs.length} inputs in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${rejected.length} rejected by the API server, ${accepted.length} accepted`);
  for (const i of accepted) i.body.metadata.name = results.get(i.id)!.name ?? i.body.metadata.name;

  // Every accepted object gets an answer for its generation.
  const answer = (o: any) => {
    const c = readyCondition(o) as any;
    return c && c.observedGeneration === o.metadata.generation ? c : undefined;
  };
  const unanswered = (): string[] => {
    const byKey = new Map<string, any>();
    for (const k of ['postgresservers', 'postgresdatabases', 'postgresfirewallrules', 'postgresroles']) for (const o of listJson(k, HOSTILE)) byKey.set(`${k}/${o.metadata.name}`, o);
    return accepted.filter((i) => !answer(byKey.get(`${i.plural}/${i.body.metadata.name}`))).map((i) => `${i.plural}/${i.body.metadata.name}`);
  };
  await waitFor('an answer for every accepted object', () => unanswered().length === 0, 10 * 60_000, 2000).catch(() => undefined);
  const answeredSeconds = (Date.now() - t0) / 1000;
  const missing = unanswered();
  const reasons: Record<string, number> = {};
  const unclear: string[] = [];
  const probes: Record<string, string> = {};
  for (const k of ['postgresservers', 'postgresdatabases', 'postgresfirewallrules', 'postgresroles']) {
    for (const o of listJson(k, HOSTILE)) {
      const c = readyCondition(o);
      if (!c) continue;
      reasons[c.reason] = (reasons[c.reason] ?? 0) + 1;
      if (!CLEAR_REASONS.includes(c.reason) || c.status !== 'False' || (c.message ?? '').length < 20) unclear.push(`${k}/${o.metadata.name}: ${c.status} ${c.reason} ${c.message}`);
      const attackInput = inputs.slice(-7).find((i) => i.body.metadata.name === o.metadata.name && i.plural === k);
      if (attackInput) probes[attackInput.probe] = `${c.reason}: ${c.message}`.slice(0, 300);
    }
  }
  recorder.poll();
  const entries = recorder.entries.slice(firstEntry).filter((e) => e.path.toLowerCase().startsWith('/subscriptions'));
  const writes = entries.filter((e) => e.method !== 'GET');
  // A poll of an operation names the operation, not the resource: the emulator knows which resource it is about.
  const operations = ((emulator.admin.resources() as any).operations ?? []) as { id: string; name: string; resourceId: string }[];
  const resourceOf = (p: string) => {
    const op = /\/(?:azureasyncoperation|operationresults)\/([^/]+)$/i.exec(p)?.[1]?.toLowerCase();
    return (op && operations.find((o) => o.id.toLowerCase() === op)?.resourceId) || p;
  };
  const notAboutVictim = entries.filter((e) => !resourceOf(e.path).toLowerCase().includes(`/flexibleservers/${victim.azureName}`));

  const foreignAfter = JSON.stringify(listJson('secrets', HOSTILE).find((s) => s.metadata.name === 'foreign')?.data);
  const victimTagsAfter = JSON.stringify(azureServers(emulator).find((s) => s.name === victim.azureName)?.tags);
  let victimConnects = 0;
  for (const s of [victimAdmin, victimRole]) victimConnects += await connectWithSecret(s, emulator.caCertPem).then(() => 1, () => 0);

  const figures = {
    inputs: inputs.length,
    rejectedBySchema: rejected.length,
    accepted: accepted.length,
    otherStatus: other.map((i) => `${i.probe}: ${results.get(i.id)!.status}`).slice(0, 10),
    answeredSeconds,
    unanswered: missing.slice(0, 10),
    unansweredCount: missing.length,
    reasons,
    unclear: unclear.slice(0, 10),
    attacks: probes,
    armRequests: entries.length,
    armWrites: writes.map((e) => `${e.method} ${e.path} ${e.status}`).slice(0, 10),
    armRequestsNotAboutVictim: notAboutVictim.map((e) => `${e.method} ${e.path}`).slice(0, 10),
  };
  log(`hostile: reasons ${JSON.stringify(reasons)}; ${entries.length} ARM requests (${writes.length} writes)`);
  checks.check(inputs.length >= 1000, `hostile: at least 1000 inputs (${inputs.length})`);
  checks.check(other.length === 0, `hostile: every input accepted or refused by the API server, none failed it (${other.length} other)`);
  checks.check(missing.length === 0, `hostile: every accepted object answered with a condition for its generation (${accepted.length - missing.length}/${accepted.length})`);
  checks.check(unclear.length === 0, `hostile: every answer is Ready=False with a clear reason and message (${unclear.length} unclear${unclear.length ? `: ${unclear.slice(0, 3).join(' | ')}` : ''})`);
  checks.check(writes.length === 0, `hostile: no Azure write for any hostile input (${writes.length})`);
  checks.check(notAboutVictim.length === 0, `hostile: no Azure request at all except reads of the victim's server to refuse it (${notAboutVictim.length} others)`);
  checks.check(foreignAfter === foreignBefore, 'hostile: the foreign Secret is untouched');
  checks.check(fingerprint(VICTIM) === victimBefore, 'hostile: nothing changed in the victim\'s namespace (Secrets, specs)');
  checks.check(victimTagsAfter === victimTags, 'hostile: the victim\'s server keeps its owner tags in Azure');
  checks.check(victimConnects === 2 && isReady('postgresservers', VICTIM, 'victim'), 'hostile: the victim\'s admin and role Secrets still connect, its server is Ready');
  checks.check(!sup.crashed() && sup.starts === 1, 'hostile: the reconciler never crashed');

  const logs = sup.logs();
  // Clean up: the hostile namespace first (its objects have no Azure side), then the victim's (deleted in Azure).
  kubectl(['delete', 'postgresroles,postgresdatabases,postgresfirewallrules,postgresservers', '--all', '-n', HOSTILE, '--wait=false']);
  kubectl(['delete', 'postgresroles,postgresdatabases,postgresservers', '--all', '-n', VICTIM, '--wait=false']);
  const left = (n: string) => JSON.parse(kubectl(['get', 'postgresroles,postgresdatabases,postgresfirewallrules,postgresservers', '-n', n, '-o', 'json']).stdout).items as any[];
  await waitFor('the victim deleted', () => left(VICTIM).length === 0, 5 * 60_000, 2000);
  // A role whose server went first cannot know which server it was on: it keeps its finalizer and says so.
  await waitFor('the hostile objects deleted or saying why not', () => left(HOSTILE).every((o) => readyCondition(o)?.reason === 'Deleting'), 2 * 60_000, 2000)
    .catch(() => undefined);
  (figures as any).keptByFinalizer = left(HOSTILE).map((o) => `${o.kind}/${o.metadata.name}: ${readyCondition(o)?.message}`);
  await sup.stop();
  wipeNamespace(HOSTILE);
  wipeNamespace(VICTIM);
  return { figures, logs };
}
