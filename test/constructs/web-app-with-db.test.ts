import { Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-34';
import { newChart } from './support';
import { AzurePostgres, AzurePostgresRole, ConnectionSecretKey, WebAppWithDb, WebAppWithDbProps } from '../../src';

const LIBPQ_ENV: Record<string, string> = {
  PGHOST: 'host',
  PGPORT: 'port',
  PGDATABASE: 'dbname',
  PGUSER: 'username',
  PGPASSWORD: 'password',
  PGSSLMODE: 'sslmode',
  DATABASE_URL: 'uri',
};

function setup(serverNamespace = 'shop'): { chart: Chart; role: AzurePostgresRole } {
  const { chart } = newChart();
  const server = new AzurePostgres(chart, 'db', { resourceGroup: { name: 'rg' }, location: 'westeurope', metadata: { namespace: serverNamespace } });
  const role = server.addRole('catalog_app', { database: server.addDatabase('catalog') });
  return { chart, role };
}

function synthWebApp(props: Partial<WebAppWithDbProps> = {}) {
  const { chart, role } = setup();
  new WebAppWithDb(chart, 'api', { image: 'ghcr.io/acme/catalog-api:1.0.0', role, ...props });
  const manifests = Testing.synth(chart);
  const deployment = manifests.find((m: any) => m.kind === 'Deployment');
  const service = manifests.find((m: any) => m.kind === 'Service');
  const pod = deployment.spec.template.spec;
  const app = pod.containers.find((c: any) => c.name === 'app');
  return { role, manifests, deployment, service, pod, app };
}

const envByName = (container: any) => Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e]));

describe('WebAppWithDb', () => {
  test('reads PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE and DATABASE_URL from the role\'s Secret', () => {
    const { role, app } = synthWebApp();
    const env = envByName(app);
    for (const [name, key] of Object.entries(LIBPQ_ENV)) {
      expect(env[name]).toEqual({ name, valueFrom: { secretKeyRef: { name: role.secretName, key } } });
    }
  });

  test('the variable names can be changed', () => {
    const { app } = synthWebApp({ envNames: { uri: 'SPRING_DATASOURCE_URL', password: 'DB_PASSWORD' } });
    const env = envByName(app);
    expect(env.SPRING_DATASOURCE_URL.valueFrom.secretKeyRef.key).toBe('uri');
    expect(env.DB_PASSWORD.valueFrom.secretKeyRef.key).toBe('password');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.PGPASSWORD).toBeUndefined();
    expect(env.PGHOST.valueFrom.secretKeyRef.key).toBe('host');
  });

  test('extra environment variables are added', () => {
    const { app } = synthWebApp({ env: { LOG_LEVEL: kplus.EnvValue.fromValue('debug') } });
    expect(envByName(app).LOG_LEVEL).toEqual({ name: 'LOG_LEVEL', value: 'debug' });
  });

  test('Deployment and Service are in the role\'s namespace by default', () => {
    const { deployment, service } = synthWebApp();
    expect(deployment.metadata.namespace).toBe('shop');
    expect(service.metadata.namespace).toBe('shop');
  });

  test('the Service selects the Deployment\'s Pods and forwards servicePort to port', () => {
    const { deployment, service, app } = synthWebApp({ port: 3000, servicePort: 8080 });
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8080, targetPort: 3000 }]);
    expect(app.ports).toEqual([{ containerPort: 3000, name: 'http' }]);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.type).toBe('ClusterIP');
  });

  test('defaults: 2 replicas, port 8080 behind port 80, a TCP readiness probe, modest resources', () => {
    const { deployment, service, app } = synthWebApp();
    expect(deployment.spec.replicas).toBe(2);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 8080 }]);
    expect(app.readinessProbe.tcpSocket).toEqual({ port: 8080 });
    expect(app.livenessProbe).toBeUndefined();
    expect(app.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } });
  });

  test('replicas, probes, resources, command and args are configurable', () => {
    const { deployment, app } = synthWebApp({
      replicas: 4,
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080 }),
      readiness: kplus.Probe.fromHttpGet('/readyz', { port: 8080 }),
      resources: { memory: { request: Size.mebibytes(256), limit: Size.mebibytes(256) } },
      command: ['node'],
      args: ['server.js'],
    });
    expect(deployment.spec.replicas).toBe(4);
    expect(app.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 8080 });
    expect(app.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 8080 });
    expect(app.resources).toEqual({ requests: { memory: '256Mi' }, limits: { memory: '256Mi' } });
    expect(app.command).toEqual(['node']);
    expect(app.args).toEqual(['server.js']);
  });

  test('non-root and locked down by default, with a writable /tmp', () => {
    const { pod, app } = synthWebApp();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(app.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const tmp = app.volumeMounts.find((m: any) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: any) => v.name === tmp.name).emptyDir).toEqual({});
  });

  test('a writable root filesystem needs no /tmp volume', () => {
    const { app, pod } = synthWebApp({ securityContext: { readOnlyRootFilesystem: false } });
    expect(app.securityContext.readOnlyRootFilesystem).toBe(false);
    expect(app.securityContext.runAsNonRoot).toBe(true);
    // Only the CA bundle, read-only.
    expect(app.volumeMounts).toEqual([{ mountPath: '/etc/cdk8s-azure/postgres', name: expect.any(String), readOnly: true }]);
    expect(pod.volumes.map((v: any) => v.secret?.items)).toEqual([[{ key: 'ca.crt', path: 'ca.crt' }]]);
  });

  test('extra containers run beside the app', () => {
    const { pod } = synthWebApp({ containers: [{ name: 'proxy', image: 'envoyproxy/envoy:v1.31', portNumber: 9901 }] });
    expect(pod.containers.map((c: any) => c.name).sort()).toEqual(['app', 'proxy']);
  });
});

describe('AzurePostgresRole wiring', () => {
  test('env() maps the libpq names to the Secret keys', () => {
    const { role } = setup();
    expect(Object.keys(role.env()).sort()).toEqual(Object.keys(LIBPQ_ENV).sort());
  });

  test('addConnectionEnv wires any cdk8s-plus container', () => {
    const { chart, role } = setup();
    const deployment = new kplus.Deployment(chart, 'worker', { metadata: { namespace: 'shop' } });
    const container = deployment.addContainer({ image: 'ghcr.io/acme/worker:1' });
    role.addConnectionEnv(container, { uri: 'POSTGRES_URL' });
    const manifest = Testing.synth(chart).find((m: any) => m.kind === 'Deployment');
    const env = envByName(manifest.spec.template.spec.containers[0]);
    expect(env.POSTGRES_URL.valueFrom.secretKeyRef).toEqual({ name: role.secretName, key: 'uri' });
    expect(Object.keys(env)).toHaveLength(8);
    expect(env.PGSSLROOTCERT.value).toBe('/etc/cdk8s-azure/postgres/ca.crt');
  });

  test('addConnectionEnv refuses to overwrite a variable the container has', () => {
    const { chart, role } = setup();
    const deployment = new kplus.Deployment(chart, 'worker');
    const container = deployment.addContainer({ image: 'ghcr.io/acme/worker:1', envVariables: { PGHOST: kplus.EnvValue.fromValue('localhost') } });
    expect(() => role.addConnectionEnv(container)).toThrow(/PGHOST.*already has these variables/s);
  });

  test('envValue reads any key of the contract, e.g. jdbc-uri', () => {
    const { chart, role } = setup();
    const deployment = new kplus.Deployment(chart, 'java', { metadata: { namespace: 'shop' } });
    deployment.addContainer({ image: 'ghcr.io/acme/java:1', envVariables: { JDBC_URL: role.envValue(ConnectionSecretKey.JDBC_URI) } });
    const manifest = Testing.synth(chart).find((m: any) => m.kind === 'Deployment');
    expect(envByName(manifest.spec.template.spec.containers[0]).JDBC_URL.valueFrom.secretKeyRef).toEqual({ name: role.secretName, key: 'jdbc-uri' });
  });
});
