/**
 * Secret hygiene: no password or token the run issued appears in the reconciler's logs, in Events, in any custom
 * resource (spec or status) or in Azure (tags, whole resources); the reconciler's rights (`kubectl auth can-i --list`)
 * are printed for docs/reliability.md; the install's pod runs as non-root with a read-only root filesystem.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLUSTER_DIR } from '../cluster/cluster';
import type { Emulator } from '../emulator';
import { Checks, KINDS, log } from './stack';
import { kubectl, RECONCILER_NAMESPACE, RECONCILER_SERVICE_ACCOUNT, synthWithTsx } from '../integration/harness';

/** A JWT (access or ServiceAccount token) anywhere in a text. */
const JWT = /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g;

export function installPodSpec(): any {
  const yaml = synthWithTsx(`
    const { App, Chart } = require('cdk8s');
    const { Reconciler } = require('./src');
    const app = new App();
    const chart = new Chart(app, 'install');
    new Reconciler(chart, 'reconciler', { subscriptionId: '00000000-0000-0000-0000-000000000000', clientId: '00000000-0000-0000-0000-000000000000' });
    process.stdout.write(JSON.stringify(chart.toJson()));
  `);
  const deployment = (JSON.parse(yaml) as any[]).find((o) => o.kind === 'Deployment');
  return deployment.spec.template.spec;
}

export async function secretHygiene(emulator: Emulator, checks: Checks, reconcilerLogs: string[], issued: Record<string, string>[]) {
  // What was issued: every password of the connection Secrets the run read, and every token the run handed out.
  const secrets = new Set<string>();
  for (const s of issued) {
    if (s.password) secrets.add(s.password);
  }
  for (const file of readdirSync(path.join(CLUSTER_DIR, 'tokens'))) {
    const text = readFileSync(path.join(CLUSTER_DIR, 'tokens', file), 'utf8');
    for (const t of text.match(JWT) ?? []) secrets.add(t);
  }
  const corpora: Record<string, string> = {
    'reconciler logs': reconcilerLogs.join('\n'),
    'Events': kubectl(['get', 'events', '-A', '-o', 'json'], { check: true }).stdout,
    'custom resources (spec and status)': KINDS.map((k) => kubectl(['get', k, '-A', '-o', 'json'], { check: true }).stdout).join('\n'),
    'Azure resources (tags and all)': JSON.stringify(emulator.admin.resources()),
  };
  const hits: string[] = [];
  for (const [where, text] of Object.entries(corpora)) {
    for (const s of secrets) if (text.includes(s)) hits.push(`${where}: a ${s.startsWith('eyJ') ? 'token' : 'password'} (${s.length} chars)`);
    for (const t of text.match(JWT) ?? []) hits.push(`${where}: a JWT-shaped string (${t.length} chars)`);
  }
  const passwords = issued.filter((s) => s.password).length;
  log(`hygiene: ${passwords} passwords and ${secrets.size - new Set(issued.map((s) => s.password)).size} tokens searched in ${Object.keys(corpora).length} places`);
  checks.check(secrets.size > 0 && hits.length === 0, `hygiene: no password or token in logs, Events, CRs or Azure (${secrets.size} searched, ${hits.length} found${hits.length ? `: ${hits.slice(0, 3).join('; ')}` : ''})`);

  const sa = `system:serviceaccount:${RECONCILER_NAMESPACE}:${RECONCILER_SERVICE_ACCOUNT}`;
  const canI = (ns: string) => kubectl(['auth', 'can-i', '--list', `--as=${sa}`, '-n', ns], { check: true }).stdout;
  const rights = { 'default': canI('default'), 'kube-system': canI('kube-system'), [RECONCILER_NAMESPACE]: canI(RECONCILER_NAMESPACE) };
  for (const [ns, text] of Object.entries(rights)) process.stderr.write(`kubectl auth can-i --list --as=${sa} -n ${ns}\n${text}\n`);

  const pod = installPodSpec();
  const container = pod.containers[0];
  const podSc = pod.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const nonRoot = (sc.runAsNonRoot ?? podSc.runAsNonRoot) === true && (sc.runAsUser ?? podSc.runAsUser ?? 1) !== 0;
  checks.check(nonRoot, `hygiene: the pod runs as non-root (runAsNonRoot ${sc.runAsNonRoot ?? podSc.runAsNonRoot}, runAsUser ${sc.runAsUser ?? podSc.runAsUser})`);
  checks.check(sc.readOnlyRootFilesystem === true, 'hygiene: the container\'s root filesystem is read-only');
  checks.check(sc.allowPrivilegeEscalation === false && (sc.capabilities?.drop ?? []).includes('ALL'), 'hygiene: no privilege escalation, every capability dropped');
  return {
    passwordsSearched: passwords,
    secretsSearched: secrets.size,
    places: Object.keys(corpora),
    bytesScanned: Object.values(corpora).reduce((a, t) => a + t.length, 0),
    hits,
    canIList: rights,
    podSecurityContext: podSc,
    containerSecurityContext: sc,
  };
}
