import * as kplus from 'cdk8s-plus-34';
import { crdValidators, errorOf, newChart, schemaErrors, synthApp } from './support';
import {
  AzurePostgres,
  AzurePostgresProps,
  ConnectionSecretKey,
  EntraPrincipalType,
  WebAppWithDb,
} from '../../src';

const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const OBJECT_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const ADMIN_ID = '99999999-8888-7777-6666-555555555555';

function server(props: Partial<AzurePostgresProps> = {}) {
  const { app, chart } = newChart();
  const db = new AzurePostgres(chart, 'db', {
    resourceGroup: { name: 'rg' },
    location: 'westeurope',
    metadata: { namespace: 'shop' },
    authentication: { microsoftEntra: true },
    ...props,
  });
  return { app, chart, db };
}

function passwordlessRole(props: Partial<AzurePostgresProps> = {}) {
  const s = server(props);
  const role = s.db.addRole('orders_app', { database: s.db.addDatabase('orders'), identity: { clientId: CLIENT_ID, objectId: OBJECT_ID } });
  return { ...s, role };
}

const envByName = (container: any) => Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e]));

describe('server authentication', () => {
  test('maps to spec.authentication; unset, the spec leaves it to the CRD default (password only)', () => {
    const { app } = server({
      authentication: {
        password: false,
        microsoftEntra: true,
        tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
        administrators: [{ objectId: ADMIN_ID, principalName: 'dba@contoso.com', principalType: EntraPrincipalType.USER }],
      },
    });
    const cr = synthApp(app).find(m => m.kind === 'PostgresServer');
    expect(cr.spec.authentication).toEqual({
      password: false,
      microsoftEntra: true,
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      administrators: [{ objectId: ADMIN_ID, principalName: 'dba@contoso.com', principalType: 'User' }],
    });
    expect(schemaErrors(crdValidators(), cr)).toEqual([]);

    const plain = newChart();
    const db = new AzurePostgres(plain.chart, 'db', { resourceGroup: { name: 'rg' }, location: 'westeurope' });
    expect(synthApp(plain.app).find(m => m.kind === 'PostgresServer').spec.authentication).toBeUndefined();
    expect([db.passwordSignIn, db.microsoftEntraSignIn]).toEqual([true, false]);
  });

  test.each([
    [{ password: false, microsoftEntra: false }, /authentication = \{"password":false,"microsoftEntra":false\}: turn on password sign-in, Microsoft Entra sign-in or both/],
    [{ administrators: [{ objectId: ADMIN_ID, principalName: 'dba', principalType: EntraPrincipalType.USER }] }, /authentication\.administrators = \["dba"\]: Entra administrators need Microsoft Entra sign-in/],
    [{ microsoftEntra: true, tenantId: 'contoso' }, /authentication\.tenantId = "contoso": a GUID/],
    [{ microsoftEntra: true, administrators: [{ objectId: 'x', principalName: 'dba', principalType: EntraPrincipalType.USER }] }, /authentication\.administrators\[0\]\.objectId = "x": a GUID/],
  ])('refuses %j, naming the field, the value and the fix', (authentication, message) => {
    expect(errorOf(() => server({ authentication }))).toMatch(message);
  });
});

describe('passwordless role', () => {
  test('spec.identity, and a ServiceAccount annotated with the client ID, named after the role', () => {
    const { app, role } = passwordlessRole();
    const manifests = synthApp(app);
    const cr = manifests.find(m => m.kind === 'PostgresRole');
    expect(cr.spec.identity).toEqual({ clientId: CLIENT_ID, objectId: OBJECT_ID });
    expect(schemaErrors(crdValidators(), cr)).toEqual([]);
    const sa = manifests.find(m => m.kind === 'ServiceAccount');
    expect(sa.metadata).toMatchObject({ name: 'orders-app', namespace: 'shop', annotations: { 'azure.workload.identity/client-id': CLIENT_ID } });
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(role.passwordless).toBe(true);
    expect(role.serviceAccount?.name).toBe('orders-app');
  });

  test('needs a server with Microsoft Entra sign-in', () => {
    expect(errorOf(() => passwordlessRole({ authentication: undefined })))
      .toMatch(/identity = .*: a passwordless role needs a server with Microsoft Entra sign-in, but authentication\.microsoftEntra of the server at 'test\/db' is false: turn it on, or remove the identity/);
  });

  test('a bad identity names its field', () => {
    const s = server();
    expect(errorOf(() => s.db.addRole('orders_app', { database: s.db.addDatabase('orders'), identity: { clientId: 'nope', objectId: OBJECT_ID } })))
      .toMatch(/identity\.clientId = "nope": a GUID/);
  });

  test('has no password: envValue(PASSWORD) and names.password are refused (not both a password and an identity)', () => {
    const { role } = passwordlessRole();
    expect(errorOf(() => role.envValue(ConnectionSecretKey.PASSWORD))).toMatch(/key = "password": is not in the Secret of a passwordless role/);
    expect(errorOf(() => role.envValue(ConnectionSecretKey.PGPASS))).toMatch(/key = "pgpass"/);
    expect(errorOf(() => role.env({ password: 'DB_PASSWORD' }))).toMatch(/password = "DB_PASSWORD": role "orders_app" is passwordless/);
    expect(Object.keys(role.env())).toEqual(['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGSSLMODE', 'DATABASE_URL']);
    expect(() => role.envValue(ConnectionSecretKey.TOKEN_SCOPE)).not.toThrow();
  });

  test('a password role has no token scope nor client id', () => {
    const s = server();
    const role = s.db.addRole('blog_app', { database: s.db.addDatabase('blog') });
    expect(role.passwordless).toBe(false);
    expect(role.serviceAccount).toBeUndefined();
    expect(errorOf(() => role.envValue(ConnectionSecretKey.CLIENT_ID))).toMatch(/key = "client-id"/);
  });
});

describe('wiring a passwordless role', () => {
  test('WebAppWithDb runs as the role\'s ServiceAccount with the workload identity label, and has no PGPASSWORD', () => {
    const { app, chart, role } = passwordlessRole();
    new WebAppWithDb(chart, 'api', { image: 'ghcr.io/acme/orders:1.0.0', role });
    const manifests = synthApp(app);
    const deployment = manifests.find(m => m.kind === 'Deployment');
    const pod = deployment.spec.template;
    expect(pod.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(pod.spec.serviceAccountName).toBe('orders-app');
    const env = envByName(pod.spec.containers[0]);
    expect(Object.keys(env).sort()).toEqual(['DATABASE_URL', 'PGDATABASE', 'PGHOST', 'PGPORT', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGUSER']);
    expect(env.PGUSER.valueFrom.secretKeyRef).toEqual({ name: role.secretName, key: 'username' });
    expect(env.PGSSLROOTCERT.value).toBe('/etc/cdk8s-azure/postgres/ca.crt');
    expect(JSON.stringify(deployment)).not.toMatch(/PGPASSWORD|"key":"password"/);
  });

  test('any workload using role.env() must run as the ServiceAccount with the label: synth names both fixes', () => {
    const { app, chart, role } = passwordlessRole();
    const deployment = new kplus.Deployment(chart, 'worker', { metadata: { namespace: 'shop' } });
    deployment.addContainer({ name: 'worker', image: 'ghcr.io/acme/worker:1', envVariables: role.env() });
    const message = errorOf(() => synthApp(app));
    expect(message).toMatch(/test\/worker.*serviceAccount = undefined: .*connect as passwordless role "orders_app".*federated with ServiceAccount "orders-app": set serviceAccount: role\.serviceAccount/s);
    expect(message).toMatch(/podMetadata\.labels\["azure\.workload\.identity\/use"\] = undefined: .*add it with podMetadata\.addLabel/s);
  });

  test('a workload running as the ServiceAccount with the label passes', () => {
    const { app, chart, role } = passwordlessRole();
    const deployment = new kplus.Deployment(chart, 'worker', { metadata: { namespace: 'shop' }, serviceAccount: role.serviceAccount });
    deployment.podMetadata.addLabel('azure.workload.identity/use', 'true');
    deployment.addContainer({ name: 'worker', image: 'ghcr.io/acme/worker:1', envVariables: role.env() });
    expect(() => synthApp(app)).not.toThrow();
  });
});
