/**
 * What operators expect of the install besides RBAC: a metrics Service (and a ServiceMonitor on request), a
 * PodDisruptionBudget with more than one replica, scheduling, Pod metadata and the log level.
 */
import { Testing } from 'cdk8s';
import { newChart } from './support';
import { Reconciler, ReconcilerProps } from '../../src';

const SUBSCRIPTION = '11111111-2222-3333-4444-555555555555';

function install(props: Partial<ReconcilerProps> = {}): any[] {
  const { chart } = newChart();
  new Reconciler(chart, 'reconciler', { subscriptionId: SUBSCRIPTION, clusterId: 'c1', ...props });
  return Testing.synth(chart);
}
const find = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind);
const podOf = (manifests: any[]) => find(manifests, 'Deployment')[0].spec.template;

describe('metrics', () => {
  test('a Service selects the reconciler Pods on their metrics port, by default', () => {
    const manifests = install();
    const [service] = find(manifests, 'Service');
    const pod = podOf(manifests);
    expect(service.metadata).toMatchObject({ name: 'cdk8s-azure-reconciler-metrics', namespace: 'cdk8s-azure-system' });
    for (const [key, label] of Object.entries(service.spec.selector)) {
      expect(pod.metadata.labels[key]).toBe(label);
    }
    const containerPort = pod.spec.containers[0].ports.find((p: any) => p.name === 'metrics');
    expect(service.spec.ports).toEqual([{ name: 'metrics', port: containerPort.containerPort, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(find(manifests, 'ServiceMonitor')).toEqual([]);
    expect(find(install({ metricsService: false }), 'Service')).toEqual([]);
  });

  test('a ServiceMonitor on request scrapes that Service, with the labels a Prometheus selects', () => {
    const manifests = install({ serviceMonitor: true, serviceMonitorLabels: { release: 'prometheus' } });
    const [monitor] = find(manifests, 'ServiceMonitor');
    const [service] = find(manifests, 'Service');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.labels.release).toBe('prometheus');
    for (const [key, label] of Object.entries(monitor.spec.selector.matchLabels)) {
      expect(service.metadata.labels[key]).toBe(label);
    }
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['cdk8s-azure-system'] });
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics' }]);
  });

  test('a ServiceMonitor without the Service is refused at synth, with the fix', () => {
    expect(() => install({ serviceMonitor: true, metricsService: false })).toThrow(/serviceMonitor.*keep metricsService or drop serviceMonitor/s);
  });
});

describe('PodDisruptionBudget', () => {
  test('only with 2 or more replicas by default (with one it would block every drain)', () => {
    expect(find(install(), 'PodDisruptionBudget')).toEqual([]);
    const [pdb] = find(install({ replicas: 2 }), 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'cdk8s-azure-reconciler' } } });
    expect(find(install({ replicas: 3, podDisruptionBudget: false }), 'PodDisruptionBudget')).toEqual([]);
    expect(find(install({ podDisruptionBudget: true }), 'PodDisruptionBudget')).toHaveLength(1);
  });
});

describe('scheduling and Pod metadata', () => {
  test('nodeSelector, tolerations, affinity, annotations and labels reach the Pod; the install keeps its own labels', () => {
    const affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'cdk8s-azure-reconciler' } } } }] } };
    const pod = podOf(install({
      nodeSelector: { 'kubernetes.azure.com/mode': 'system' },
      tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
      affinity,
      podAnnotations: { 'example.com/team': 'data' },
      podLabels: { 'team': 'data', 'app.kubernetes.io/name': 'overridden' },
    }));
    expect(pod.spec.nodeSelector).toEqual({ 'kubernetes.azure.com/mode': 'system' });
    expect(pod.spec.tolerations).toEqual([{ key: 'CriticalAddonsOnly', operator: 'Exists' }]);
    expect(pod.spec.affinity).toEqual(affinity);
    expect(pod.metadata.annotations).toEqual({ 'example.com/team': 'data' });
    expect(pod.metadata.labels).toMatchObject({ 'team': 'data', 'app.kubernetes.io/name': 'cdk8s-azure-reconciler' });
  });

  test('none of them by default', () => {
    const pod = podOf(install());
    for (const field of ['nodeSelector', 'tolerations', 'affinity']) {
      expect(pod.spec[field]).toBeUndefined();
    }
    expect(pod.metadata.annotations).toBeUndefined();
  });
});

describe('log level', () => {
  test('reaches the reconciler as LOG_LEVEL; an unknown level fails the synth with the levels it accepts', () => {
    const env = podOf(install({ logLevel: 'debug' })).spec.containers[0].env;
    expect(env).toContainEqual({ name: 'LOG_LEVEL', value: 'debug' });
    expect(podOf(install()).spec.containers[0].env.find((e: any) => e.name === 'LOG_LEVEL')).toBeUndefined();
    expect(() => install({ logLevel: 'verbose' })).toThrow(/logLevel.*verbose.*trace.*debug.*info/s);
    expect(() => install({ env: { LOG_LEVEL: 'debug' } })).toThrow(/LOG_LEVEL.*logLevel/s);
  });
});
