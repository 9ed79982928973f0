/**
 * A server created with password sign-in off (Microsoft Entra sign-in only), then with password sign-in turned on,
 * through the controllers against the ARM emulator and the real PostgreSQL behind its sign-in front: every effect
 * is proven by signing in. (The suite controllers-passwordless.test.ts turns password sign-in off on a server created
 * with it on.)
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { armFor, connectWithUri, startHarness, type Harness } from './helpers/harness';
import { connectOrClose } from './helpers/postgres-client';
import type { PostgresArm } from '../../src/reconciler/azure';
import { identityFromToken } from '../../src/reconciler/azure/identity';
import type { PostgresServerObject } from '../../src/reconciler/contracts';
import { SECRET_KEYS } from '../../src/reconciler/secret-contract';
import { OSSRDBMS_RESOURCE } from '../emulator/entra';

let h: Harness;
let arm: PostgresArm;
let host: string;
const emulatorLog: string[] = [];
const NS = 'entra-only';
const RG = 'rg-entra-only';
const SRV = 'srv-entra-only';
const LOGIN = 'pgadmin';
const orders = { clientId: randomUUID(), clientSecret: 'orders-secret-value-1234567890' };
let ordersOid: string;

const k = (name: string) => ({ namespace: NS, name });
const ready = (kind: Parameters<Harness['ready']>[0], name: string) => () => h.ready(kind, k(name))?.status === 'True';
const ordersToken = () => h.emu.admin.issueToken({ clientId: orders.clientId, resource: OSSRDBMS_RESOURCE });

/** Signs in to the server as an app would (TLS verified against the emulator CA); copied from controllers-passwordless. */
function signIn(user: string, password: string, database: string): Promise<Client> {
  return connectOrClose({ host, port: 5432, user, password, database, ca: h.emu.caCertPem, connectionTimeoutMillis: 5000 });
}

/** PostgreSQL's refusal of a password: FATAL 28P01 "password authentication failed for user ...". */
async function passwordRefused(p: Promise<Client>, user: string, what: string): Promise<void> {
  await assert.rejects(p, (e: { code?: string; message?: string }) => {
    assert.equal(e.code, '28P01', `${what}: ${e.code} ${e.message}`);
    assert.equal(e.message, `password authentication failed for user "${user}"`, what);
    return true;
  }, what);
}

before(async () => {
  h = await startHarness({ emulator: { logger: (line) => emulatorLog.push(line) } });
  arm = armFor(h.emu);
  h.emu.admin.addClient(orders);
  ordersOid = identityFromToken(ordersToken())!.objectId;
  // Everything at once, as `kubectl apply` of a synthesized chart does.
  h.kube.create('PostgresServer', NS, 'server', {
    azureName: SRV,
    resourceGroup: { name: RG, create: true },
    location: 'eastus',
    authentication: { password: false, microsoftEntra: true },
    writeConnectionSecretToRef: { name: 'server-admin' },
  });
  h.kube.create('PostgresDatabase', NS, 'orders', { serverRef: { name: 'server' }, azureName: 'orders' });
  h.kube.create('PostgresRole', NS, 'orders-app', {
    serverRef: { name: 'server' },
    databaseRef: { name: 'orders' },
    roleName: 'orders_app',
    identity: { clientId: orders.clientId, objectId: ordersOid },
    writeConnectionSecretToRef: { name: 'orders-app-pg' },
  });
  await h.until('PostgresServer', k('server'), ready('PostgresServer', 'server'), 'server Ready');
  host = h.kube.get<PostgresServerObject>('PostgresServer', k('server'))!.status!.fullyQualifiedDomainName!;
  await h.until('PostgresDatabase', k('orders'), ready('PostgresDatabase', 'orders'), 'database Ready');
  await h.until('PostgresRole', k('orders-app'), ready('PostgresRole', 'orders-app'), 'passwordless role Ready');
});
after(async () => {
  await h?.stop();
});
afterEach(() => {
  // No token and no password anywhere but in Secrets: status, Events, the reconciler's log, the emulator's log.
  const everything = h.kube.everythingButSecrets() + h.log.lines.join('\n') + emulatorLog.join('\n');
  assert.doesNotMatch(everything, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'a token appears outside a Secret');
  for (const pw of h.kube.secretValues('password')) assert.ok(!everything.includes(pw), 'a password appears outside its Secret');
});

describe('password sign-in off from the start', () => {
  it('the create carries no administrator login nor password, and Azure has no password administrator', async () => {
    assert.ok(emulatorLog.includes(`creating server ${SRV}: administratorLogin (none), administratorLoginPassword (none), passwordAuth Disabled, activeDirectoryAuth Enabled`),
      emulatorLog.filter((l) => l.startsWith('creating server')).join('\n'));
    const server = await arm.getServer(RG, SRV);
    assert.equal(server?.administratorLogin, undefined);
    assert.deepEqual(server?.authConfig, { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId: h.emu.tenantId });
  });

  it('the admin Secret has no username, password nor pgpass: how to come in with a token', () => {
    const data = h.kube.secretData(NS, 'server-admin')!;
    assert.deepEqual(Object.keys(data).sort(), ['ca.crt', 'dbname', 'host', 'jdbc-uri', 'port', 'sslmode', 'token-scope', 'uri']);
    assert.equal(data.uri, `postgresql://${host}:5432/postgres?sslmode=verify-full`);
    assert.equal(data['token-scope'], `${OSSRDBMS_RESOURCE}/.default`);
  });

  it('the database belongs to the reconciler\'s Entra administrator and is locked against PUBLIC; the passwordless role uses it', async () => {
    const c = await signIn('orders_app', ordersToken(), 'orders');
    try {
      const [db] = (await c.query(`SELECT pg_catalog.pg_get_userbyid(datdba) AS owner, has_database_privilege('public', oid, 'CONNECT') AS public
                                     FROM pg_catalog.pg_database WHERE datname = 'orders'`)).rows;
      assert.deepEqual(db, { owner: 'cdk8s-azure-reconciler', public: false });
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, item text)');
      await c.query("INSERT INTO orders VALUES (1, 'tea')");
      assert.deepEqual((await c.query('SELECT item FROM orders')).rows, [{ item: 'tea' }]);
      // No password administrator exists: the role was made by the reconciler signed in as its Entra administrator.
      assert.equal((await c.query('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [LOGIN])).rowCount, 0);
    } finally {
      await c.end();
    }
    const data = h.kube.secretData(NS, 'orders-app-pg')!;
    assert.equal(data.password, undefined);
    assert.equal(data.username, 'orders_app');
  });

  it('a password is refused with PostgreSQL\'s error, whoever signs in', async () => {
    await passwordRefused(signIn(LOGIN, 'Some-Password-123', 'postgres'), LOGIN, 'the administrator login');
    await passwordRefused(signIn('orders_app', 'Some-Password-123', 'orders'), 'orders_app', 'an Entra role');
  });

  it('Azure refuses to turn password sign-in on without the administrator\'s login and password', async () => {
    await assert.rejects(
      arm.clients.postgres.servers.beginUpdateAndWait(RG, SRV, { authConfig: { passwordAuth: 'Enabled' } }, { updateIntervalInMs: 50 }),
      (e: { code?: string; message?: string }) => {
        assert.equal(e.code, 'EngineCredentialsNotProvided', e.message);
        return true;
      });
    assert.equal((await arm.getServer(RG, SRV))?.authConfig?.passwordAuth, 'Disabled');
  });
});

describe('password sign-in turned on', () => {
  before(async () => {
    h.kube.updateSpec('PostgresServer', k('server'), (s: any) => ({ ...s, authentication: { password: true, microsoftEntra: true } }));
    await h.until('PostgresServer', k('server'), () => h.ready('PostgresServer', k('server'))?.status === 'True' &&
      h.kube.secretData(NS, 'server-admin')?.password !== undefined, 'password sign-in on');
  });

  it('the update carries the administrator login and a new password; Azure reports password sign-in on', async () => {
    assert.ok(emulatorLog.includes(`updating server ${SRV}: administratorLogin ${LOGIN}, administratorLoginPassword (given), passwordAuth Enabled, activeDirectoryAuth Enabled`),
      emulatorLog.filter((l) => l.startsWith('updating server')).join('\n'));
    const server = await arm.getServer(RG, SRV);
    assert.equal(server?.administratorLogin, LOGIN);
    assert.deepEqual(server?.authConfig, { activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled', tenantId: h.emu.tenantId });
    assert.equal(h.kube.condition('PostgresServer', k('server'), 'PasswordSynced')?.status, 'True');
  });

  it('the admin Secret has the full contract with credentials, and its password signs in', async () => {
    const data = h.kube.secretData(NS, 'server-admin')!;
    assert.deepEqual(Object.keys(data).sort(), [...SECRET_KEYS].sort());
    assert.equal(data.username, LOGIN);
    const uri = new URL(data.uri);
    assert.deepEqual([uri.hostname, decodeURIComponent(uri.username), decodeURIComponent(uri.password), uri.pathname],
      [host, LOGIN, data.password, '/postgres']);
    assert.ok(data.pgpass.startsWith(`${host}:5432:postgres:${LOGIN}:`), 'pgpass names the administrator');
    const c = await connectWithUri(data.uri, h.emu.caCertPem);
    try {
      assert.deepEqual((await c.query('SELECT current_user AS who')).rows, [{ who: LOGIN }]);
    } finally {
      await c.end();
    }
  });

  it('the databases made while it was off are given to the password administrator, still locked against PUBLIC', async () => {
    assert.ok(h.kube.events.some((e) => e.reason === 'DatabaseOwnerChanged' && e.message.includes('orders')));
    const c = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri, h.emu.caCertPem);
    try {
      const [db] = (await c.query(`SELECT pg_catalog.pg_get_userbyid(datdba) AS owner, has_database_privilege('public', oid, 'CONNECT') AS public
                                     FROM pg_catalog.pg_database WHERE datname = 'orders'`)).rows;
      assert.deepEqual(db, { owner: LOGIN, public: false });
    } finally {
      await c.end();
    }
  });

  it('a password role created afterwards signs in with its Secret and uses its database', async () => {
    h.kube.create('PostgresRole', NS, 'reports', { serverRef: { name: 'server' }, databaseRef: { name: 'orders' }, roleName: 'reports_app', writeConnectionSecretToRef: { name: 'reports-pg' } });
    await h.until('PostgresRole', k('reports'), ready('PostgresRole', 'reports'), 'password role Ready');
    const c = await connectWithUri(h.kube.secretData(NS, 'reports-pg')!.uri, h.emu.caCertPem);
    try {
      await c.query('CREATE TABLE reports (id int PRIMARY KEY)');
      await c.query('INSERT INTO reports VALUES (1)');
      assert.deepEqual((await c.query('SELECT id FROM reports')).rows, [{ id: 1 }]);
    } finally {
      await c.end();
    }
  });

  it('the passwordless role still signs in with its token', async () => {
    const c = await signIn('orders_app', ordersToken(), 'orders');
    try {
      assert.deepEqual((await c.query('SELECT item FROM orders')).rows, [{ item: 'tea' }]);
    } finally {
      await c.end();
    }
  });
});
