/**
 * Generates the Helm chart (charts/cdk8s-azure/) from the install construct, so the chart and the construct never
 * drift: every template is the construct's own output, in which the places a value sets are marked and then turned
 * into Helm expressions; the defaults of values.yaml are what the construct does when the prop is not set. Run by
 * `npx projen helm:chart` (every build: CI fails when the committed chart is stale).
 *
 * Markers: a scalar `helm-value-<name>` becomes `{{ <expression> }}`; a map key or list item `helm-block-<name>`
 * becomes the YAML of a value at that place (`{{- with ... }}{{- toYaml . | nindent N }}{{- end }}`); an env var
 * whose value is an optional marker is left out when its value is empty.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart, Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { Reconciler, ReconcilerProps } from '../src';
import { namespaceScopesJsonSchema } from '../src/api';
import { RECONCILER_IMAGE_REPOSITORY } from '../src/image';
import { packageVersion } from '../src/package-info';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'charts', 'cdk8s-azure');

/** One value of the chart: its path in values.yaml, its default, what it does, and the expression that reads it. */
interface Value {
  readonly path: string;
  readonly default: unknown;
  readonly description: string;
}

const GUID_MARKERS = {
  subscriptionId: '00000000-0000-0000-0000-00000000a001',
  clientId: '00000000-0000-0000-0000-00000000a002',
  tenantId: '00000000-0000-0000-0000-00000000a003',
};
const value = (name: string) => `helm-value-${name}`;
const block = (name: string) => `helm-block-${name}`;
const WATCHED = value('watched-namespace');
const SCOPES = value('namespace-scopes');

/** Scalars: marker -> Helm expression. */
const SCALARS: Record<string, string> = {
  [GUID_MARKERS.subscriptionId]: '{{ required "azure.subscriptionId is required: the Azure subscription (a GUID) to manage" $.Values.azure.subscriptionId | quote }}',
  [GUID_MARKERS.clientId]: '{{ $.Values.azure.clientId | quote }}',
  [GUID_MARKERS.tenantId]: '{{ $.Values.azure.tenantId | quote }}',
  [value('namespace')]: '{{ $.Values.namespace | default $.Release.Namespace }}',
  [`${value('image-repository')}:${value('image-tag')}`]: '"{{ $.Values.image.repository }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}"',
  [value('image-tag')]: '{{ $.Values.image.tag | default $.Chart.AppVersion | quote }}',
  [value('pull-policy')]: '{{ $.Values.image.pullPolicy }}',
  [value('replicas')]: '{{ $.Values.replicas }}',
  [`https://${value('arm-endpoint')}`]: '{{ $.Values.azure.resourceManagerEndpoint | quote }}',
  [`https://${value('authority-host')}`]: '{{ $.Values.azure.authorityHost | quote }}',
  [value('log-level')]: '{{ $.Values.logLevel | quote }}',
  [value('min-available')]: '{{ $.Values.podDisruptionBudget.minAvailable }}',
  [WATCHED]: '{{ join "," $.Values.watchNamespaces | quote }}',
  [SCOPES]: '{{ toJson $.Values.namespaceScopes | quote }}',
};
/** Lines (or env entries) present only when a value is set. */
const OPTIONAL: Record<string, string> = {
  [GUID_MARKERS.clientId]: '$.Values.azure.clientId',
  [GUID_MARKERS.tenantId]: '$.Values.azure.tenantId',
  [`https://${value('arm-endpoint')}`]: '$.Values.azure.resourceManagerEndpoint',
  [`https://${value('authority-host')}`]: '$.Values.azure.authorityHost',
  [WATCHED]: '$.Values.watchNamespaces',
  [value('log-level')]: '$.Values.logLevel',
  [SCOPES]: '$.Values.namespaceScopes',
  'azure.workload.identity/use': '$.Values.azure.clientId',
};
/** Blocks: marker -> the value whose YAML goes there. */
const BLOCKS: Record<string, string> = {
  [block('resources')]: '$.Values.resources',
  [block('node-selector')]: '$.Values.nodeSelector',
  [block('tolerations')]: '$.Values.tolerations',
  [block('affinity')]: '$.Values.affinity',
  [block('pod-annotations')]: '$.Values.podAnnotations',
  [block('pod-labels')]: '$.Values.podLabels',
  [block('image-pull-secrets')]: '$.Values.imagePullSecrets',
  [block('service-monitor-labels')]: '$.Values.metrics.serviceMonitor.labels',
};
/** Whole objects present only when a value says so. */
const CONDITIONS: Record<string, string> = {
  'Service/cdk8s-azure-reconciler-metrics': '$.Values.metrics.service.enabled',
  'ServiceMonitor/cdk8s-azure-reconciler': '$.Values.metrics.serviceMonitor.enabled',
  'PodDisruptionBudget/cdk8s-azure-reconciler': '$.Values.podDisruptionBudget.enabled',
};

function synth(props: Partial<ReconcilerProps>): any[] {
  const app = new App();
  const chart = new Chart(app, 'chart');
  new Reconciler(chart, 'reconciler', { subscriptionId: GUID_MARKERS.subscriptionId, ...props });
  return Testing.synth(chart);
}

const kindName = (o: any) => `${o.kind}/${o.metadata.name}`;
const container = (deployment: any) => deployment.spec.template.spec.containers[0];

/** The install with nothing set: the defaults of values.yaml. */
function defaults() {
  const objects = synth({});
  const deployment = objects.find(o => o.kind === 'Deployment');
  const image: string = container(deployment).image;
  if (image !== `${RECONCILER_IMAGE_REPOSITORY}:${packageVersion()}`) {
    throw new Error(`the install's default image ${image} is not ${RECONCILER_IMAGE_REPOSITORY}:${packageVersion()}`);
  }
  return {
    repository: image.slice(0, image.lastIndexOf(':')),
    pullPolicy: container(deployment).imagePullPolicy,
    replicas: deployment.spec.replicas,
    resources: container(deployment).resources,
    metricsService: objects.some(o => kindName(o) === 'Service/cdk8s-azure-reconciler-metrics'),
  };
}

function templates(): Map<string, string> {
  // The namespaced install's objects (a Role and RoleBinding per watched namespace), with every value marked.
  const marked = synth({
    ...GUID_MARKERS,
    namespace: value('namespace'),
    createNamespace: false,
    installCrds: false,
    image: `${value('image-repository')}:${value('image-tag')}`,
    resourceManagerEndpoint: `https://${value('arm-endpoint')}`,
    authorityHost: `https://${value('authority-host')}`,
    watchNamespaces: [WATCHED],
    logLevel: 'info',
    namespaceScopes: { marked: { resourceGroups: ['*'] } },
    metricsService: true,
    serviceMonitor: true,
    serviceMonitorLabels: { [block('service-monitor-labels')]: 'x' },
    podDisruptionBudget: true,
    nodeSelector: { [block('node-selector')]: 'x' },
    podAnnotations: { [block('pod-annotations')]: 'x' },
    podLabels: { [block('pod-labels')]: 'x' },
    imagePullSecrets: [block('image-pull-secrets')],
  });
  // The cluster-wide install's ClusterRole and ClusterRoleBinding, for when no namespace is watched.
  const clusterWide = synth({ namespace: value('namespace'), createNamespace: false, installCrds: false })
    .filter(o => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')
    .filter(o => o.metadata.name === 'cdk8s-azure-reconciler');

  const files = new Map<string, string>();
  for (const o of marked) {
    const c = o.kind === 'Deployment' ? container(o) : undefined;
    if (c) {
      // Fields whose props are checked against fixed choices are marked here, on the construct's output.
      c.imagePullPolicy = value('pull-policy');
      c.resources = { [block('resources')]: 'x' };
      c.env.find((e: any) => e.name === 'LOG_LEVEL').value = value('log-level');
      c.env.find((e: any) => e.name === 'NAMESPACE_SCOPES').value = SCOPES;
      o.spec.replicas = value('replicas');
      o.spec.template.spec.tolerations = [block('tolerations')];
      o.spec.template.spec.affinity = { [block('affinity')]: 'x' };
      o.spec.template.spec.imagePullSecrets = [block('image-pull-secrets')];
    }
    if (o.kind === 'PodDisruptionBudget') {
      o.spec.minAvailable = value('min-available');
    }
    let text = render(YAML.stringify(o, { lineWidth: 0 }));
    const condition = CONDITIONS[kindName(o)];
    if (condition) {
      text = `{{- if ${condition} }}\n${text}{{- end }}\n`;
    }
    const inWatched = JSON.stringify(o.metadata).includes(WATCHED);
    if (inWatched) {
      text = `{{- range $watched := $.Values.watchNamespaces }}\n---\n${text.replaceAll(WATCHED, '{{ $watched }}')}{{- end }}\n`;
    }
    const name = `${o.kind.toLowerCase()}${inWatched ? '-watched' : ''}-${o.metadata.name.replace(value('namespace'), 'release-namespace')}.yaml`;
    files.set(name, text);
  }
  for (const o of clusterWide) {
    files.set(`${o.kind.toLowerCase()}-${o.metadata.name}.yaml`,
      `{{- if not $.Values.watchNamespaces }}\n${render(YAML.stringify(o, { lineWidth: 0 }))}{{- end }}\n`);
  }
  return files;
}

/** Markers to Helm: optional lines and env entries first, then blocks, then scalars. */
function render(yaml: string): string {
  const lines = yaml.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const indent = line.length - line.trimStart().length;
    const pad = ' '.repeat(indent);
    const blockMarker = Object.keys(BLOCKS).find(m => line.trim() === `${m}: x` || line.trim() === `- ${m}` || line.trim() === `- name: ${m}`);
    if (blockMarker) {
      out.push(`${pad}{{- with ${BLOCKS[blockMarker]} }}`, `${pad}{{- toYaml . | nindent ${indent} }}`, `${pad}{{- end }}`);
      continue;
    }
    const next = lines[i + 1] ?? '';
    const optionalEnv = line.trimStart().startsWith('- name: ') && Object.keys(OPTIONAL).find(m => next.trim() === `value: ${m}`);
    if (optionalEnv) {
      out.push(`${pad}{{- if ${OPTIONAL[optionalEnv]} }}`, scalars(line), scalars(next), `${pad}{{- end }}`);
      i++;
      continue;
    }
    const optionalLine = Object.keys(OPTIONAL).find(m => m !== WATCHED && line.includes(m) && !line.trimStart().startsWith('- name:'));
    if (optionalLine && /^\s*[^\s:]+: /.test(line)) {
      out.push(`${pad}{{- if ${OPTIONAL[optionalLine]} }}`, scalars(line), `${pad}{{- end }}`);
      continue;
    }
    out.push(scalars(line));
  }
  return out.join('\n');
}

function scalars(line: string): string {
  let result = line;
  // Longest first: the image marker contains the tag marker.
  for (const marker of Object.keys(SCALARS).sort((a, b) => b.length - a.length)) {
    if (marker === WATCHED && !/value: helm-value-watched-namespace$/.test(result)) {
      continue;
    }
    result = result.split(marker).join(SCALARS[marker]);
  }
  return result;
}

function values(d: ReturnType<typeof defaults>): Value[] {
  return [
    { path: 'image.repository', default: d.repository, description: 'The reconciler image; each release of cdk8s-azure publishes it here.' },
    { path: 'image.tag', default: '', description: "The image tag; empty: the chart's appVersion (the cdk8s-azure version the chart is made from)." },
    { path: 'image.pullPolicy', default: d.pullPolicy, description: 'When the kubelet pulls the image.' },
    { path: 'imagePullSecrets', default: [], description: 'Secrets (in the release namespace) for a private registry, as `[{name: regcred}]`.' },
    { path: 'azure.subscriptionId', default: '', description: '**Required.** The Azure subscription (a GUID) the reconciler creates servers in.' },
    { path: 'azure.clientId', default: '', description: 'Client ID of the managed identity the reconciler signs in as through AKS workload identity (ServiceAccount annotation and Pod label). Empty: no workload identity.' },
    { path: 'azure.tenantId', default: '', description: "Tenant of that identity, when it is not the cluster's." },
    { path: 'azure.resourceManagerEndpoint', default: '', description: 'Azure Resource Manager endpoint for sovereign clouds, e.g. `https://management.chinacloudapi.cn`. Empty: public cloud.' },
    { path: 'azure.authorityHost', default: '', description: 'Microsoft Entra authority host for sovereign clouds, e.g. `https://login.chinacloudapi.cn`. Empty: public cloud.' },
    { path: 'namespace', default: '', description: "Namespace of the reconciler (its ServiceAccount, Deployment, leader-election Role...). Empty: the release's namespace (`helm install --namespace ... --create-namespace`); the federated credential's subject names it." },
    { path: 'replicas', default: d.replicas, description: 'Reconciler Pods. Leader election (always on) keeps one active; 2 gives a warm standby.' },
    { path: 'resources', default: d.resources, description: 'CPU and memory requests and limits of the reconciler container.' },
    { path: 'watchNamespaces', default: [], description: 'A namespaced install: watch only these namespaces, with a Role and RoleBinding in each and no ClusterRole. Empty: all namespaces (ClusterRole).' },
    { path: 'namespaceScopes', default: {}, description: 'What each namespace may touch in Azure, and the identity used for it: `{<namespace>: {subscriptionId, resourceGroups, clientId, tenantId}}` (only resourceGroups required; names or prefixes ending in `*`). A namespace not listed may then use nothing (OutOfScope). Each clientId needs a federated credential for the reconciler\'s ServiceAccount, and azure.clientId must be set. Empty: no restriction. values.schema.json checks it.' },
    { path: 'logLevel', default: '', description: "Log level: trace, debug, info, warn, error, fatal or silent. Empty: the reconciler's default, info." },
    { path: 'nodeSelector', default: {}, description: 'Node labels the reconciler Pods must run on.' },
    { path: 'tolerations', default: [], description: 'Tolerations of the reconciler Pods.' },
    { path: 'affinity', default: {}, description: 'Affinity of the reconciler Pods (e.g. anti-affinity between replicas).' },
    { path: 'podAnnotations', default: {}, description: 'More annotations of the reconciler Pods.' },
    { path: 'podLabels', default: {}, description: "More labels of the reconciler Pods (the chart's own labels win)." },
    { path: 'metrics.service.enabled', default: d.metricsService, description: 'A Service `cdk8s-azure-reconciler-metrics` in front of `/metrics` (port `metrics`, 8080).' },
    { path: 'metrics.serviceMonitor.enabled', default: false, description: "A Prometheus Operator ServiceMonitor for that Service (needs the operator's CRDs and `metrics.service.enabled`)." },
    { path: 'metrics.serviceMonitor.labels', default: {}, description: "Labels of the ServiceMonitor, for your Prometheus's `serviceMonitorSelector`." },
    { path: 'podDisruptionBudget.enabled', default: false, description: 'A PodDisruptionBudget, so a drain never evicts the last reconciler Pod. Use it with 2 or more replicas (with 1 it blocks drains).' },
    { path: 'podDisruptionBudget.minAvailable', default: 1, description: 'Pods the budget keeps running.' },
  ];
}

/** The values Helm checks before it renders, with the rules of src/api (the other values are the construct's to check). */
function valuesSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    properties: { namespaceScopes: namespaceScopesJsonSchema() },
  };
}

function valuesYaml(list: Value[]): string {
  const root: any = {};
  const doc = new YAML.Document(root);
  for (const v of list) {
    doc.setIn(v.path.split('.'), v.default);
  }
  // Each value's description as a comment above it.
  for (const v of list) {
    const keys = v.path.split('.');
    const parent: any = keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true);
    const pair = parent.items.find((p: any) => p.key.value === keys[keys.length - 1] || p.key === keys[keys.length - 1]);
    const key = YAML.isScalar(pair.key) ? pair.key : (pair.key = doc.createNode(pair.key));
    key.commentBefore = ` ${v.description.replace(/\*\*/g, '').replace(/`/g, '')}`;
  }
  return `# Values of the cdk8s-azure chart (generated by scripts/helm-chart.ts from the Reconciler construct).\n${doc.toString({ lineWidth: 0 })}`;
}

function readme(list: Value[]): string {
  const rows = list.map(v => `| \`${v.path}\` | \`${JSON.stringify(v.default)}\` | ${v.description} |`);
  return `# cdk8s-azure Helm chart

The cdk8s-azure reconciler: it makes Azure Database for PostgreSQL flexible servers match the \`PostgresServer\`,
\`PostgresDatabase\`, \`PostgresFirewallRule\` and \`PostgresRole\` resources of your cluster. This chart is generated
from the \`Reconciler\` construct of the cdk8s-azure library (scripts/helm-chart.ts), so both install the same objects.
Its default image is \`${RECONCILER_IMAGE_REPOSITORY}:<the chart's appVersion>\`, which the release of that version
publishes.

\`\`\`sh
helm upgrade --install cdk8s-azure oci://ghcr.io/cdk8s-azure/charts/cdk8s-azure --version <version> \\
  --namespace cdk8s-azure-system --create-namespace \\
  --set azure.subscriptionId=$SUB --set azure.clientId=$CLIENT_ID
\`\`\`

The CRDs are in the chart's \`crds/\` directory: Helm installs them with the chart and never deletes them, so
\`helm uninstall\` leaves your resources (and, with \`deletionPolicy: Delete\`, your databases in Azure) alone. Helm
does not upgrade them either: after upgrading the chart, apply the new ones yourself
(\`helm pull\` the chart and \`kubectl apply -f cdk8s-azure/crds/\`).

The AKS workload identity's federated credential must name the reconciler's ServiceAccount:
\`system:serviceaccount:<namespace>:cdk8s-azure-reconciler\`. With \`namespaceScopes\` naming other identities, each
of them needs a federated credential for that same subject.

## Values

| Value | Default | Description |
| --- | --- | --- |
${rows.join('\n')}
`;
}

function main(): void {
  const version = packageVersion();
  const d = defaults();
  const list = values(d);
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(path.join(OUT, 'templates'), { recursive: true });
  fs.mkdirSync(path.join(OUT, 'crds'), { recursive: true });
  fs.writeFileSync(path.join(OUT, 'Chart.yaml'), YAML.stringify({
    apiVersion: 'v2',
    name: 'cdk8s-azure',
    description: 'The cdk8s-azure reconciler: Azure Database for PostgreSQL flexible servers from Kubernetes resources',
    type: 'application',
    version,
    appVersion: version,
    home: 'https://github.com/cdk8s-azure/cdk8s-azure',
    sources: ['https://github.com/cdk8s-azure/cdk8s-azure'],
    keywords: ['azure', 'postgresql', 'operator', 'cdk8s'],
  }));
  fs.writeFileSync(path.join(OUT, 'values.yaml'), valuesYaml(list));
  fs.writeFileSync(path.join(OUT, 'values.schema.json'), `${JSON.stringify(valuesSchema(), null, 2)}\n`);
  fs.writeFileSync(path.join(OUT, 'README.md'), readme(list));
  for (const [name, text] of templates()) {
    fs.writeFileSync(path.join(OUT, 'templates', name), `# Generated by scripts/helm-chart.ts from the Reconciler construct.\n${text}`);
  }
  for (const file of fs.readdirSync(path.join(ROOT, 'crds')).filter(f => f.endsWith('.yaml'))) {
    fs.copyFileSync(path.join(ROOT, 'crds', file), path.join(OUT, 'crds', file));
  }
}

main();
