/**
 * The chart renders what the Reconciler construct synthesizes for the same settings: with the defaults, and with every
 * value set (ci-values.yaml). Any drift between the two, or a value that does not reach the manifests, fails here.
 * Usage: check-chart.ts <helm template output with defaults> <helm template output with ci-values.yaml>
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import * as YAML from 'yaml';
import { Reconciler, ReconcilerProps } from '../../src';

const [defaultsFile, valuesFile] = process.argv.slice(2);
const values = YAML.parse(fs.readFileSync(path.join(__dirname, 'ci-values.yaml'), 'utf-8'));

/** Objects by kind/namespace/name, without the nulls an empty value leaves in a template. */
function byName(objects: any[]): Record<string, any> {
  const clean = (v: any): any => Array.isArray(v) ? v.map(clean)
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null && x !== undefined).map(([k, x]) => [k, clean(x)]))
      : v;
  return Object.fromEntries(objects.filter(o => o).map(o => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, clean(o)]));
}
const rendered = (file: string) => byName(YAML.parseAllDocuments(fs.readFileSync(file, 'utf-8')).map(d => d.toJS()));

function construct(props: ReconcilerProps): Record<string, any> {
  const app = new App();
  const chart = new Chart(app, 'install');
  // The chart leaves the namespace to Helm (--create-namespace) and the CRDs to its crds/ directory.
  new Reconciler(chart, 'reconciler', { createNamespace: false, installCrds: false, ...props });
  return byName(JSON.parse(JSON.stringify(Testing.synth(chart))));
}

function compare(name: string, helm: Record<string, any>, cdk8s: Record<string, any>): void {
  assert.deepStrictEqual(Object.keys(helm).sort(), Object.keys(cdk8s).sort(), `${name}: the chart and the construct make different objects`);
  for (const key of Object.keys(cdk8s)) {
    assert.deepStrictEqual(helm[key], cdk8s[key], `${name}: ${key} differs between the chart and the construct`);
  }
  console.log(`  ${name}: ${Object.keys(helm).length} objects, the same as the construct's`);
}

// The defaults: the construct with only the subscription and Helm's release namespace.
compare('defaults', rendered(defaultsFile), construct({ subscriptionId: '11111111-2222-3333-4444-555555555555', namespace: 'release-ns' }));

// Every value set: the construct with the same settings as props.
const withValues = construct({
  subscriptionId: values.azure.subscriptionId,
  clientId: values.azure.clientId,
  tenantId: values.azure.tenantId,
  resourceManagerEndpoint: values.azure.resourceManagerEndpoint,
  authorityHost: values.azure.authorityHost,
  namespace: values.namespace,
  image: `${values.image.repository}:${values.image.tag}`,
  imagePullPolicy: kplus.ImagePullPolicy.ALWAYS,
  imagePullSecrets: values.imagePullSecrets.map((s: any) => s.name),
  replicas: values.replicas,
  resources: {
    cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
    memory: { request: Size.mebibytes(200), limit: Size.mebibytes(400) },
  },
  watchNamespaces: values.watchNamespaces,
  namespaceScopes: values.namespaceScopes,
  logLevel: values.logLevel,
  nodeSelector: values.nodeSelector,
  tolerations: values.tolerations,
  affinity: values.affinity,
  podAnnotations: values.podAnnotations,
  podLabels: values.podLabels,
  serviceMonitor: true,
  serviceMonitorLabels: values.metrics.serviceMonitor.labels,
  podDisruptionBudget: true,
});
// The chart's one value the construct does not have: the budget's minAvailable (the construct's is 1).
withValues['PodDisruptionBudget/platform-operators/cdk8s-azure-reconciler'].spec.minAvailable = values.podDisruptionBudget.minAvailable;
compare('ci-values.yaml', rendered(valuesFile), withValues);
