import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { loadCrds, newChart, REPO_ROOT } from './support';
import { Reconciler, ReconcilerProps } from '../../src';

const SUBSCRIPTION = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';
const RECONCILER_SA = 'cdk8s-azure-reconciler';
const DEFAULT_NAMESPACE = 'cdk8s-azure-system';

function install(props: Partial<ReconcilerProps> = {}, chartNamespace?: string): any[] {
  const { chart } = newChart(chartNamespace);
  new Reconciler(chart, 'reconciler', { subscriptionId: SUBSCRIPTION, ...props });
  return Testing.synth(chart);
}

const ofKind = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind);
const deploymentOf = (manifests: any[]) => ofKind(manifests, 'Deployment')[0];
const containerOf = (manifests: any[]) => deploymentOf(manifests).spec.template.spec.containers[0];
const envOf = (manifests: any[]) => Object.fromEntries(containerOf(manifests).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

/**
 * Everything the reconciler may do, from the design: our four kinds (get/list/watch/update/patch), their status
 * (get/update/patch) and finalizers (update), Secrets, Events (core and events.k8s.io), and Leases in its namespace.
 */
function allowedClusterGrants(): Set<string> {
  const grants = new Set<string>();
  for (const crd of loadCrds()) {
    for (const verb of ['get', 'list', 'watch', 'update', 'patch']) grants.add(`${crd.group}|${crd.plural}|${verb}`);
    for (const verb of ['get', 'update', 'patch']) grants.add(`${crd.group}|${crd.plural}/status|${verb}`);
    grants.add(`${crd.group}|${crd.plural}/finalizers|update`);
  }
  for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) grants.add(`|secrets|${verb}`);
  for (const group of ['', 'events.k8s.io']) for (const verb of ['create', 'patch']) grants.add(`${group}|events|${verb}`);
  return grants;
}
const ALLOWED_NAMESPACED_GRANTS = new Set(['coordination.k8s.io|leases|get', 'coordination.k8s.io|leases|create', 'coordination.k8s.io|leases|update']);

/** "group|resource|verb" for every combination a role's rules grant. */
function grantsOf(role: any): Set<string> {
  const grants = new Set<string>();
  for (const rule of role.rules ?? []) {
    expect(rule.resourceNames ?? []).toEqual([]);
    expect(rule.nonResourceURLs ?? []).toEqual([]);
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs ?? []) {
          grants.add(`${group}|${resource}|${verb}`);
        }
      }
    }
  }
  return grants;
}

describe('Reconciler RBAC', () => {
  test('grants exactly the reconciler\'s needs, nothing beyond', () => {
    const manifests = install();
    const rbacKinds = manifests.map(m => m.kind).filter(k => /Role|Binding/.test(k)).sort();
    expect(rbacKinds).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

    const [clusterRole] = ofKind(manifests, 'ClusterRole');
    expect(clusterRole.aggregationRule).toBeUndefined();
    expect([...grantsOf(clusterRole)].sort()).toEqual([...allowedClusterGrants()].sort());

    const [role] = ofKind(manifests, 'Role');
    expect(role.metadata.namespace).toBe(DEFAULT_NAMESPACE);
    expect([...grantsOf(role)].sort()).toEqual([...ALLOWED_NAMESPACED_GRANTS].sort());
  });

  test('no wildcard anywhere', () => {
    const rules = install().filter(m => m.rules).flatMap(m => m.rules);
    for (const value of rules.flatMap((r: any) => [...r.apiGroups, ...r.resources, ...r.verbs])) {
      expect(value).not.toContain('*');
    }
  });

  test('the bindings give those roles to the reconciler\'s ServiceAccount only', () => {
    const manifests = install();
    const [clusterRole] = ofKind(manifests, 'ClusterRole');
    const [role] = ofKind(manifests, 'Role');
    const [clusterBinding] = ofKind(manifests, 'ClusterRoleBinding');
    const [binding] = ofKind(manifests, 'RoleBinding');
    const subject = { kind: 'ServiceAccount', name: RECONCILER_SA, namespace: DEFAULT_NAMESPACE };
    expect(clusterBinding.subjects).toEqual([subject]);
    expect(clusterBinding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.metadata.name });
    expect(binding.subjects).toEqual([subject]);
    expect(binding.metadata.namespace).toBe(DEFAULT_NAMESPACE);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
    expect(ofKind(manifests, 'ServiceAccount').map(sa => sa.metadata.name)).toEqual([RECONCILER_SA]);
  });

  test('with watchNamespace, the rights hold in that namespace only (a RoleBinding, no ClusterRoleBinding)', () => {
    const manifests = install({ watchNamespace: 'shop' });
    expect(ofKind(manifests, 'ClusterRoleBinding')).toEqual([]);
    const bindings = ofKind(manifests, 'RoleBinding');
    const watch = bindings.find(b => b.roleRef.kind === 'ClusterRole');
    expect(watch.metadata.namespace).toBe('shop');
    expect(watch.subjects).toEqual([{ kind: 'ServiceAccount', name: RECONCILER_SA, namespace: DEFAULT_NAMESPACE }]);
    expect(envOf(manifests).WATCH_NAMESPACE).toBe('shop');
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

  test('environment: the subscription always, sovereign-cloud endpoints and WATCH_NAMESPACE only when set', () => {
    const defaults = envOf(install());
    expect(defaults.AZURE_SUBSCRIPTION_ID).toBe(SUBSCRIPTION);
    for (const name of ['AZURE_RESOURCE_MANAGER_ENDPOINT', 'AZURE_AUTHORITY_HOST', 'ARM_SCOPE', 'WATCH_NAMESPACE']) {
      expect({ name, value: defaults[name] }).toEqual({ name, value: undefined });
    }
    const china = envOf(install({
      resourceManagerEndpoint: 'https://management.chinacloudapi.cn',
      authorityHost: 'https://login.chinacloudapi.cn',
      armScope: 'https://management.chinacloudapi.cn/.default',
      env: { LOG_LEVEL: 'debug' },
    }));
    expect(china).toMatchObject({
      AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://management.chinacloudapi.cn',
      AZURE_AUTHORITY_HOST: 'https://login.chinacloudapi.cn',
      ARM_SCOPE: 'https://management.chinacloudapi.cn/.default',
      LOG_LEVEL: 'debug',
    });
  });

  test('resources: requests 50m/128Mi and a 256Mi memory limit by default', () => {
    expect(containerOf(install()).resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
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
