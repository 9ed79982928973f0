import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { loadCrds, newChart, REPO_ROOT } from './support';
import { Reconciler, ReconcilerProps } from '../../src';

const SUBSCRIPTION = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';
const RECONCILER_SA = 'cdk8s-azure-reconciler';
const DEFAULT_NAMESPACE = 'cdk8s-azure-system';

const CLUSTER_ID = 'prod-westeurope-1';

/**
 * The install with a given cluster identity, so that the RBAC tests see only the reconciler's rights; the default
 * identity's one cluster-scoped read is tested on its own (installWithDefaultIdentity).
 */
function install(props: Partial<ReconcilerProps> = {}, chartNamespace?: string): any[] {
  return installWithDefaultIdentity({ clusterId: CLUSTER_ID, ...props }, chartNamespace);
}

function installWithDefaultIdentity(props: Partial<ReconcilerProps> = {}, chartNamespace?: string): any[] {
  const { chart } = newChart(chartNamespace);
  new Reconciler(chart, 'reconciler', { subscriptionId: SUBSCRIPTION, ...props });
  return Testing.synth(chart);
}

const ofKind = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind);
const deploymentOf = (manifests: any[]) => ofKind(manifests, 'Deployment')[0];
const containerOf = (manifests: any[]) => deploymentOf(manifests).spec.template.spec.containers[0];
const envOf = (manifests: any[]) => Object.fromEntries(containerOf(manifests).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

/**
 * Exactly the calls the reconciler makes (src/reconciler/kube/kube.ts, informer.ts, events.ts): its four kinds are
 * listed, watched, read again after a conflict and patched (finalizers, annotations), never updated; their status is
 * patched, never read or updated; finalizers/update for blockOwnerDeletion; Secrets are read, listed and watched
 * (the labelled ones), created and updated, never patched or deleted; core Events are created and patched.
 */
function expectedRules(): any[] {
  const crds = loadCrds();
  const groups = [...new Set(crds.map(c => c.group))];
  const plurals = crds.map(c => c.plural).sort();
  return [
    { apiGroups: groups, resources: plurals, verbs: ['get', 'list', 'watch', 'patch'] },
    { apiGroups: groups, resources: plurals.map(p => `${p}/status`), verbs: ['patch'] },
    { apiGroups: groups, resources: plurals.map(p => `${p}/finalizers`), verbs: ['update'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}
const LEADER_ELECTION_RULES = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];
/** Another install's Lease, wherever it is: whether the install that claimed a resource still runs. */
const INSTALLS_RULES = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] }];
const INSTALLS_ROLE = `cdk8s-azure-reconciler-installs-${DEFAULT_NAMESPACE}`;

/** A role's rules with their resources sorted (the order of the CRDs is not part of the contract). */
const rulesOf = (role: any) => role.rules.map((r: any) => ({ ...r, resources: [...r.resources].sort() }));
const SUBJECT = { kind: 'ServiceAccount', name: RECONCILER_SA, namespace: DEFAULT_NAMESPACE };
const roleRef = (kind: string, name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });
/** kind/namespace/name of every RBAC object. */
const rbacObjects = (manifests: any[]) => manifests
  .filter(m => /Role|Binding/.test(m.kind))
  .map(m => `${m.kind}/${m.metadata.namespace ?? '-'}/${m.metadata.name}`)
  .sort();

describe('Reconciler RBAC, all namespaces (default)', () => {
  test('a ClusterRole with exactly the reconciler\'s calls, bound cluster-wide; Leases in its own namespace only', () => {
    const manifests = install();
    expect(rbacObjects(manifests)).toEqual([
      'ClusterRole/-/cdk8s-azure-reconciler',
      `ClusterRole/-/${INSTALLS_ROLE}`,
      'ClusterRoleBinding/-/cdk8s-azure-reconciler',
      `ClusterRoleBinding/-/${INSTALLS_ROLE}`,
      `Role/${DEFAULT_NAMESPACE}/cdk8s-azure-reconciler-leader-election`,
      `RoleBinding/${DEFAULT_NAMESPACE}/cdk8s-azure-reconciler-leader-election`,
    ]);
    const clusterRole = ofKind(manifests, 'ClusterRole').find(m => m.metadata.name === 'cdk8s-azure-reconciler');
    expect(clusterRole.aggregationRule).toBeUndefined();
    expect(rulesOf(clusterRole)).toEqual(expectedRules());
    const [role] = ofKind(manifests, 'Role');
    expect(role.rules).toEqual(LEADER_ELECTION_RULES);
  });

  test('no wildcard, no resourceNames or nonResourceURLs, anywhere', () => {
    for (const manifests of [install(), install({ watchNamespaces: ['a', 'b'] })]) {
      const rules = manifests.filter(m => m.rules).flatMap(m => m.rules);
      for (const rule of rules) {
        expect(Object.keys(rule).sort()).toEqual(['apiGroups', 'resources', 'verbs']);
        for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) expect(value).not.toContain('*');
      }
    }
  });

  test('the bindings give those roles to the reconciler\'s ServiceAccount only', () => {
    const manifests = install();
    const [clusterBinding] = ofKind(manifests, 'ClusterRoleBinding');
    const [binding] = ofKind(manifests, 'RoleBinding');
    expect(clusterBinding.subjects).toEqual([SUBJECT]);
    expect(clusterBinding.roleRef).toEqual(roleRef('ClusterRole', 'cdk8s-azure-reconciler'));
    expect(binding.subjects).toEqual([SUBJECT]);
    expect(binding.metadata.namespace).toBe(DEFAULT_NAMESPACE);
    expect(binding.roleRef).toEqual(roleRef('Role', 'cdk8s-azure-reconciler-leader-election'));
    expect(ofKind(manifests, 'ServiceAccount').map(sa => sa.metadata.name)).toEqual([RECONCILER_SA]);
    expect(envOf(manifests).WATCH_NAMESPACES).toBeUndefined();
  });
});

describe('Reconciler installs (annotation cdk8s-azure.dev/reconciled-by)', () => {
  test('in both modes, get on Leases in every namespace (another install\'s), bound to the ServiceAccount, named after the install\'s namespace', () => {
    const cases: Array<[Partial<ReconcilerProps>, string]> = [[{}, DEFAULT_NAMESPACE], [{ watchNamespaces: ['shop'], namespace: 'team-ops' }, 'team-ops']];
    for (const [props, namespace] of cases) {
      const manifests = install(props);
      const name = `cdk8s-azure-reconciler-installs-${namespace}`;
      const role = ofKind(manifests, 'ClusterRole').find(m => m.metadata.name === name);
      expect(role.rules).toEqual(INSTALLS_RULES);
      const binding = ofKind(manifests, 'ClusterRoleBinding').find(m => m.metadata.name === name);
      expect(binding.roleRef).toEqual(roleRef('ClusterRole', name));
      expect(binding.subjects).toEqual([{ ...SUBJECT, namespace }]);
    }
  });

  test('a cluster-wide install and a team\'s own share no ClusterRole or ClusterRoleBinding (with clusterId set)', () => {
    const names = (manifests: any[]) => manifests.filter(m => m.metadata.namespace === undefined && /Role/.test(m.kind)).map(m => `${m.kind}/${m.metadata.name}`);
    const team = names(install({ namespace: 'team-ops', watchNamespaces: ['shop'] }));
    expect(names(install()).filter(n => team.includes(n))).toEqual([]);
  });
});

describe('Reconciler cluster identity (owner tag cdk8s-azure.dev-cluster)', () => {
  test('by default the reconciler reads the kube-system namespace\'s UID: get on that one namespace, nothing else', () => {
    for (const props of [{}, { watchNamespaces: ['shop'] }]) {
      const manifests = installWithDefaultIdentity(props);
      const identityRole = ofKind(manifests, 'ClusterRole').find(m => m.metadata.name === 'cdk8s-azure-reconciler-cluster-identity');
      expect(identityRole.rules).toEqual([{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['kube-system'], verbs: ['get'] }]);
      const binding = ofKind(manifests, 'ClusterRoleBinding').find(m => m.metadata.name === 'cdk8s-azure-reconciler-cluster-identity');
      expect(binding.roleRef).toEqual(roleRef('ClusterRole', 'cdk8s-azure-reconciler-cluster-identity'));
      expect(binding.subjects).toEqual([SUBJECT]);
      expect(envOf(manifests).CLUSTER_ID).toBeUndefined();
    }
  });

  test('clusterId is passed as CLUSTER_ID and needs no read of kube-system', () => {
    const manifests = install({ watchNamespaces: ['shop'] });
    expect(envOf(manifests).CLUSTER_ID).toBe(CLUSTER_ID);
    expect(ofKind(manifests, 'ClusterRole').map(m => m.metadata.name)).toEqual([INSTALLS_ROLE]);
  });

  test('adoptionNamespaces is passed as ADOPTION_NAMESPACES; adoption is off by default', () => {
    expect(envOf(install()).ADOPTION_NAMESPACES).toBeUndefined();
    expect(envOf(install({ adoptionNamespaces: ['shop', 'billing'] })).ADOPTION_NAMESPACES).toBe('shop,billing');
  });

  test('namespaceScopes is passed as NAMESPACE_SCOPES (JSON); no restriction by default', () => {
    expect(envOf(install()).NAMESPACE_SCOPES).toBeUndefined();
    const scopes = {
      shop: { subscriptionId: 'aaaaaaaa-0000-0000-0000-000000000001', resourceGroups: ['shop-rg', 'Shop-*'], clientId: 'cccccccc-0000-0000-0000-000000000001' },
      audit: { resourceGroups: [] },
    };
    expect(JSON.parse(envOf(install({ clientId: 'cccccccc-0000-0000-0000-000000000000', namespaceScopes: scopes })).NAMESPACE_SCOPES)).toEqual(scopes);
  });

  test('synth fails on a bad namespace scope, naming the field, the value and the fix', () => {
    expect(() => install({ namespaceScopes: {} })).toThrow(/namespaceScopes = \{\}: must bind at least one namespace, e\.g\. .*; leave it unset for no restriction/);
    expect(() => install({ namespaceScopes: { Shop: { resourceGroups: ['rg'] } } })).toThrow(/namespaceScopes\.Shop = "Shop": the key must be a Kubernetes namespace name/);
    expect(() => install({ namespaceScopes: { shop: { resourceGroups: ['ok', 'bad/rg'] } } })).toThrow(/namespaceScopes\.shop\.resourceGroups\[1\] = "bad\/rg": a resource-group name .* or a prefix of one followed by \*/);
    expect(() => install({ namespaceScopes: { shop: { resourceGroups: ['a*b'] } } })).toThrow(/namespaceScopes\.shop\.resourceGroups\[0\] = "a\*b": /);
    expect(() => install({ namespaceScopes: { shop: { resourceGroups: 'shop-rg' as any } } })).toThrow(/namespaceScopes\.shop\.resourceGroups = "shop-rg": must be a list/);
    expect(() => install({ namespaceScopes: { shop: { resourceGroups: [], subscriptionId: 'sub-1' } } })).toThrow(/namespaceScopes\.shop\.subscriptionId = "sub-1": a GUID/);
    expect(() => install({ namespaceScopes: { shop: { resourceGroups: [], tenantId: 'aaaaaaaa-0000-0000-0000-000000000001' } } })).toThrow(/namespaceScopes\.shop\.tenantId = .*: needs clientId/);
    expect(() => install({ namespaceScopes: { shop: { resourceGroups: [], clientId: 'aaaaaaaa-0000-0000-0000-000000000001' } } }))
      .toThrow(/clientId = undefined: must be set when namespaceScopes names identities/);
    expect(() => install({ namespaceScopes: { shop: { resourceGroups: [], networkScopes: ['/subscriptions/hub/resourceGroups/net'] } } }))
      .toThrow(/namespaceScopes\.shop\.networkScopes\[0\] = "\/subscriptions\/hub\/resourceGroups\/net": an Azure scope as a resource ID: \/subscriptions\/<guid>/);
    expect(() => install({ env: { NAMESPACE_SCOPES: '{}' } })).toThrow(/env = "NAMESPACE_SCOPES": is set by the install .*namespaceScopes/);
  });

  test('synth fails on a bad clusterId or adoption namespace, naming the field, the value and the fix', () => {
    expect(() => install({ clusterId: '-bad id' })).toThrow(/clusterId = "-bad id": 1-128 letters, digits/);
    expect(() => install({ adoptionNamespaces: ['Shop'] })).toThrow(/adoptionNamespaces\[0\] = "Shop": /);
    expect(() => install({ env: { CLUSTER_ID: 'x' } })).toThrow(/env = "CLUSTER_ID": is set by the install .*clusterId/);
  });
});

describe('Reconciler RBAC, namespaced (watchNamespaces)', () => {
  test('a Role and RoleBinding in each watched namespace, with the same rules; nothing cluster-wide', () => {
    const { chart } = newChart();
    const r = new Reconciler(chart, 'reconciler', { subscriptionId: SUBSCRIPTION, clusterId: CLUSTER_ID, watchNamespaces: ['shop', 'billing'] });
    const manifests = Testing.synth(chart);
    expect(rbacObjects(manifests)).toEqual([
      `ClusterRole/-/${INSTALLS_ROLE}`,
      `ClusterRoleBinding/-/${INSTALLS_ROLE}`,
      'Role/billing/cdk8s-azure-reconciler',
      `Role/${DEFAULT_NAMESPACE}/cdk8s-azure-reconciler-leader-election`,
      'Role/shop/cdk8s-azure-reconciler',
      'RoleBinding/billing/cdk8s-azure-reconciler',
      `RoleBinding/${DEFAULT_NAMESPACE}/cdk8s-azure-reconciler-leader-election`,
      'RoleBinding/shop/cdk8s-azure-reconciler',
    ]);
    for (const namespace of ['shop', 'billing']) {
      const role = ofKind(manifests, 'Role').find(m => m.metadata.namespace === namespace);
      expect(rulesOf(role)).toEqual(expectedRules());
      const binding = ofKind(manifests, 'RoleBinding').find(m => m.metadata.namespace === namespace);
      expect(binding.roleRef).toEqual(roleRef('Role', 'cdk8s-azure-reconciler'));
      expect(binding.subjects).toEqual([SUBJECT]);
    }
    // Cluster-scoped: the CRDs and the reconciler's own namespace, which the installer applies, and the read of Leases.
    const clusterScopedKinds = [...new Set(manifests.filter(m => m.metadata.namespace === undefined).map(m => m.kind))].sort();
    expect(clusterScopedKinds).toEqual(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'Namespace']);
    expect(ofKind(manifests, 'ClusterRole').map(m => m.metadata.name)).toEqual([INSTALLS_ROLE]);
    expect(r.clusterRole).toBeUndefined();
    expect(r.roles.map(role => role.metadata.namespace)).toEqual(['shop', 'billing']);
    expect(r.watchNamespaces).toEqual(['shop', 'billing']);
  });

  test('the reconciler is told the list (WATCH_NAMESPACES)', () => {
    expect(envOf(install({ watchNamespaces: ['shop', 'billing'] })).WATCH_NAMESPACES).toBe('shop,billing');
    expect(envOf(install({ watchNamespaces: ['shop'] })).WATCH_NAMESPACE).toBeUndefined();
  });

  test('watchNamespace (deprecated) is watchNamespaces with one name', () => {
    const manifests = install({ watchNamespace: 'shop' });
    expect(rbacObjects(manifests)).toEqual(rbacObjects(install({ watchNamespaces: ['shop'] })));
    expect(envOf(manifests).WATCH_NAMESPACES).toBe('shop');
  });

  test('the reconciler\'s own namespace may be watched too: its Role stays apart from the leader-election Role', () => {
    const manifests = install({ watchNamespaces: [DEFAULT_NAMESPACE] });
    const roles = ofKind(manifests, 'Role').filter(m => m.metadata.namespace === DEFAULT_NAMESPACE);
    expect(roles.map(m => m.metadata.name).sort()).toEqual(['cdk8s-azure-reconciler', 'cdk8s-azure-reconciler-leader-election']);
  });

  test('synth fails on a bad list, naming the field, the value and the fix', () => {
    const fails = (props: Partial<ReconcilerProps>) => () => install(props);
    expect(fails({ watchNamespaces: [] })).toThrow(/watchNamespaces = \[\]: must name at least one namespace; leave it unset to watch all namespaces/);
    expect(fails({ watchNamespaces: ['shop', 'Team_B'] })).toThrow(/watchNamespaces\[1\] = "Team_B": /);
    expect(fails({ watchNamespaces: ['shop', 'billing', 'shop'] })).toThrow(/watchNamespaces\[2\] = "shop": is already watchNamespaces\[0\]; list each namespace once/);
    expect(fails({ watchNamespace: 'shop', watchNamespaces: ['billing'] })).toThrow(/watchNamespace = "shop": is the deprecated form of watchNamespaces; set only watchNamespaces/);
    expect(fails({ env: { WATCH_NAMESPACES: 'x' } })).toThrow(/env = "WATCH_NAMESPACES": is set by the install .*watchNamespaces/);
  });
});

describe('docs/reconciler.md states the exact RBAC of each mode', () => {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'reconciler.md'), 'utf-8');
  const byKindAndName = (objects: any[]) => objects
    .map(o => ({ ...o, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } }))
    .sort((a, b) => `${a.kind}/${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.namespace}/${b.metadata.name}`));
  test.each([
    ['all-namespaces', {}],
    ['namespaced', { watchNamespaces: ['shop'] }],
  ])('the rbac:%s block is what the install synthesizes (labels aside)', (marker, props) => {
    const block = new RegExp(`<!-- rbac:${marker} -->\\s*\`\`\`yaml\\n([\\s\\S]*?)\`\`\``).exec(doc);
    expect(block).not.toBeNull();
    const documented = YAML.parseAllDocuments(block![1]).map(d => d.toJS());
    const synthesized = installWithDefaultIdentity(props).filter(m => /Role|Binding|ServiceAccount/.test(m.kind));
    expect(byKindAndName(documented)).toEqual(byKindAndName(synthesized));
  });
});

describe('Reconciler install', () => {
  test('installs the CRDs exactly as crds/ defines them', () => {
    const synthesized = ofKind(install(), 'CustomResourceDefinition');
    const expected = loadCrds().map(c => c.document);
    expect(synthesized.length).toBe(expected.length);
    for (const crd of expected) {
      expect(synthesized.find(s => s.metadata.name === crd.metadata.name)).toEqual(crd);
    }
  });

  test('installCrds: false leaves the CRDs out', () => {
    expect(ofKind(install({ installCrds: false }), 'CustomResourceDefinition')).toEqual([]);
  });

  test('creates its namespace, and everything namespaced is in it', () => {
    const manifests = install();
    expect(ofKind(manifests, 'Namespace').map(n => n.metadata.name)).toEqual([DEFAULT_NAMESPACE]);
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding', 'Deployment']) {
      expect({ kind, namespace: ofKind(manifests, kind)[0].metadata.namespace }).toEqual({ kind, namespace: DEFAULT_NAMESPACE });
    }
    expect(ofKind(install({ createNamespace: false, namespace: 'ops' }), 'Namespace')).toEqual([]);
  });

  test('a chart namespace does not end up on cluster-scoped objects', () => {
    const manifests = install({}, 'apps');
    for (const kind of ['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding']) {
      for (const m of ofKind(manifests, kind)) {
        expect({ kind, namespace: m.metadata.namespace }).toEqual({ kind, namespace: undefined });
      }
    }
    expect(deploymentOf(manifests).metadata.namespace).toBe(DEFAULT_NAMESPACE);
  });

  test('AKS workload identity: client-id annotation on the ServiceAccount, use label on the Pods', () => {
    const manifests = install({ clientId: CLIENT, tenantId: SUBSCRIPTION });
    const [sa] = ofKind(manifests, 'ServiceAccount');
    expect(sa.metadata.annotations).toEqual({ 'azure.workload.identity/client-id': CLIENT, 'azure.workload.identity/tenant-id': SUBSCRIPTION });
    const pod = deploymentOf(manifests).spec.template;
    expect(pod.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(pod.spec.serviceAccountName).toBe(RECONCILER_SA);
    expect(pod.spec.automountServiceAccountToken).toBe(true);

    const without = install();
    expect(ofKind(without, 'ServiceAccount')[0].metadata.annotations).toBeUndefined();
    expect(deploymentOf(without).spec.template.metadata.labels['azure.workload.identity/use']).toBeUndefined();
  });

  test('the image defaults to this package\'s version', () => {
    const version = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf-8')).version;
    expect(containerOf(install()).image).toBe(`ghcr.io/cdk8s-azure/reconciler:${version}`);
    expect(containerOf(install({ image: 'registry.example/reconciler:dev' })).image).toBe('registry.example/reconciler:dev');
  });

  test('replicas, args, ports and probes', () => {
    const manifests = install();
    expect(deploymentOf(manifests).spec.replicas).toBe(1);
    expect(deploymentOf(install({ replicas: 2 })).spec.replicas).toBe(2);
    const container = containerOf(manifests);
    expect(container.args).toEqual(['--leader-elect', '--metrics-bind-address=:8080', '--health-probe-bind-address=:8081']);
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 8080, protocol: 'TCP' });
    const healthPort = container.ports.find((p: any) => p.name === container.livenessProbe.httpGet.port)?.containerPort;
    expect(healthPort).toBe(8081);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: container.livenessProbe.httpGet.port });
  });

  test('environment: the subscription always, sovereign-cloud endpoints and WATCH_NAMESPACES only when set', () => {
    const defaults = envOf(install());
    expect(defaults.AZURE_SUBSCRIPTION_ID).toBe(SUBSCRIPTION);
    for (const name of ['AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_AUTHORITY_HOST', 'ARM_SCOPE', 'WATCH_NAMESPACES']) {
      expect({ name, value: defaults[name] }).toEqual({ name, value: undefined });
    }
    const china = envOf(install({
      resourceManagerEndpoint: 'https://management.chinacloudapi.cn',
      authorityHost: 'https://login.chinacloudapi.cn',
      armScope: 'https://management.chinacloudapi.cn/.default',
      logLevel: 'debug',
      env: { WORKERS: '8' },
    }));
    expect(china).toMatchObject({
      AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://management.chinacloudapi.cn',
      AZURE_AUTHORITY_HOST: 'https://login.chinacloudapi.cn',
      ARM_SCOPE: 'https://management.chinacloudapi.cn/.default',
      LOG_LEVEL: 'debug',
      WORKERS: '8',
    });
  });

  test('resources: requests 50m/96Mi and a 192Mi memory limit by default', () => {
    expect(containerOf(install()).resources).toEqual({ requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '192Mi' } });
  });

  test('hardened: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp, /tmp emptyDir', () => {
    const manifests = install();
    const pod = deploymentOf(manifests).spec.template.spec;
    const container = containerOf(manifests);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const tmp = container.volumeMounts.find((m: any) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: any) => v.name === tmp.name)).toEqual({ name: tmp.name, emptyDir: {} });
  });
});

describe('Reconciler from the compiled library (lib/), as users load it', () => {
  const compiled = path.join(REPO_ROOT, 'lib', 'src', 'index.js');
  // lib/ exists after `npx projen compile` (the build compiles before it tests).
  (fs.existsSync(compiled) ? test : test.skip)('finds crds/ and package.json from lib/src', () => {
    const script = `
      const { Testing, Chart } = require('cdk8s');
      const { Reconciler } = require(${JSON.stringify(compiled)});
      const chart = new Chart(Testing.app(), 'c');
      new Reconciler(chart, 'r', { subscriptionId: '${SUBSCRIPTION}' });
      const out = Testing.synth(chart);
      console.log(JSON.stringify({ crds: out.filter(m => m.kind === 'CustomResourceDefinition').length,
        image: out.find(m => m.kind === 'Deployment').spec.template.spec.containers[0].image }));`;
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf-8' }));
    const version = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf-8')).version;
    expect(result).toEqual({ crds: loadCrds().length, image: `ghcr.io/cdk8s-azure/reconciler:${version}` });
  });
});
