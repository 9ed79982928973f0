/**
 * Microsoft Entra sign-in and passwordless roles, through the controllers, against the ARM emulator (authConfig,
 * administrators) and the real PostgreSQL behind its sign-in front: every effect is proven by signing in.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { armFor, connectWithUri, startHarness, type Harness } from './helpers/harness';
import { connectOrClose } from './helpers/postgres-client';
import type { PostgresArm } from '../../src/reconciler/azure';
import { identityFromToken } from '../../src/reconciler/azure/identity';
import type { PostgresServerObject } from '../../src/reconciler/contracts';
import { PASSWORDLESS_SECRET_KEYS } from '../../src/reconciler/secret-contract';
import { OSSRDBMS_RESOURCE } from '../emulator/entra';

let h: Harness;
let arm: PostgresArm;
let host: string;
const NS = 'shop';
const RG = 'rg-entra';
const SRV = 'srv-entra';
const orders = { clientId: randomUUID(), clientSecret: 'orders-secret-value-1234567890' };
let ordersOid: string;

const k = (name: string) => ({ namespace: NS, name });
const ready = (kind: Parameters<Harness['ready']>[0], name: string) => () => h.ready(kind, k(name))?.status === 'True';

/** An Entra token of the orders app for PostgreSQL, as the token endpoint issues it (or expired, or another tenant's). */
const ordersToken = (o: { lifetimeSeconds?: number; tenantId?: string } = {}) =>
  h.emu.admin.issueToken({ clientId: orders.clientId, resource: OSSRDBMS_RESOURCE, ...o, ...(o.tenantId ? { objectId: ordersOid } : {}) });

function signIn(user: string, password: string, database: string): Promise<Client> {
  return connectOrClose({ host, port: 5432, user, password, database, ca: h.emu.caCertPem, connectionTimeoutMillis: 5000 });
}

async function refused(p: Promise<Client>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (e: { code?: string; message?: string }) => {
    assert.equal(e.code, code, `${what}: expected ${code}, got ${e.code} ${e.message}`);
    return true;
  }, what);
}

/** Reconciles the server until Azure's administrators satisfy `done`. */
async function untilAdministrators(done: (names: string[]) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await h.reconcile('PostgresServer', k('server')).catch(() => undefined);
    const names = (await administrators()).map((a) => a.principalName ?? '').sort();
    if (done(names) && h.ready('PostgresServer', k('server'))?.status === 'True') return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: administrators ${names.join(', ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function administrators(): Promise<Array<{ objectId?: string; principalName?: string; principalType?: string }>> {
  return arm.listAdministrators(RG, SRV);
}

before(async () => {
  h = await startHarness();
  arm = armFor(h.emu);
  h.emu.admin.addClient(orders);
  ordersOid = identityFromToken(ordersToken())!.objectId;
  const key = h.kube.create('PostgresServer', NS, 'server', {
    azureName: SRV,
    resourceGroup: { name: RG, create: true },
    location: 'eastus',
    authentication: { password: true, microsoftEntra: true },
    writeConnectionSecretToRef: { name: 'server-admin' },
  });
  await h.until('PostgresServer', key, () => h.ready('PostgresServer', key)?.status === 'True', 'server Ready');
  host = h.kube.get<PostgresServerObject>('PostgresServer', key)!.status!.fullyQualifiedDomainName!;
  for (const db of ['orders', 'blog']) h.kube.create('PostgresDatabase', NS, db, { serverRef: { name: 'server' }, azureName: db });
  for (const db of ['orders', 'blog']) await h.until('PostgresDatabase', k(db), ready('PostgresDatabase', db), `database ${db} Ready`);
});
after(async () => {
  await h?.stop();
});
afterEach(() => {
  // No token and no password anywhere but in Secrets: status, Events, logs.
  const everything = h.kube.everythingButSecrets() + h.log.lines.join('\n');
  assert.doesNotMatch(everything, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, 'a token appears outside a Secret');
  for (const pw of h.kube.secretValues('password')) assert.ok(!everything.includes(pw), 'a password appears outside its Secret');
});

describe('Microsoft Entra sign-in on the server', () => {
  it('authConfig has Entra sign-in in the reconciler\'s tenant, and the reconciler is an Entra administrator', async () => {
    const server = await arm.getServer(RG, SRV);
    assert.deepEqual(server?.authConfig, { activeDirectoryAuth: 'Enabled', passwordAuth: 'Enabled', tenantId: h.emu.tenantId });
    const reconcilerOid = identityFromToken((await h.env.credential.getToken(h.env.armScope))!.token)!.objectId;
    assert.deepEqual((await administrators()).map((a) => [a.objectId, a.principalName, a.principalType]),
      [[reconcilerOid, 'cdk8s-azure-reconciler', 'ServicePrincipal']]);
  });

  it('administrators are exactly the spec\'s and the reconciler: one added, then removed, and drift corrected', async () => {
    const dba = { objectId: randomUUID(), principalName: 'dba@contoso.com', principalType: 'User' };
    h.kube.updateSpec('PostgresServer', k('server'), (s: any) => ({ ...s, authentication: { ...s.authentication, administrators: [dba] } }));
    await untilAdministrators((names) => names.includes('dba@contoso.com'), 'dba added');
    assert.ok((await administrators()).some((a) => a.objectId === dba.objectId && a.principalName === dba.principalName));
    assert.ok(h.kube.events.some((e) => e.reason === 'EntraAdministratorSet' && e.message.includes('dba@contoso.com')));

    // Someone adds an administrator in Azure: the next reconcile removes it.
    const stranger = randomUUID();
    await arm.clients.postgres.administratorsMicrosoftEntra.beginCreateOrUpdateAndWait(RG, SRV, stranger, { principalName: 'stranger', principalType: 'User' }, { updateIntervalInMs: 50 });
    h.kube.updateSpec('PostgresServer', k('server'), (s: any) => ({ ...s, authentication: { password: true, microsoftEntra: true } }));
    await untilAdministrators((names) => names.join() === 'cdk8s-azure-reconciler', 'both removed');
    assert.ok(h.kube.events.some((e) => e.reason === 'EntraAdministratorRemoved' && e.message.includes(stranger)));
  });
});

describe('a passwordless role', () => {
  before(async () => {
    h.kube.create('PostgresRole', NS, 'orders-app', {
      serverRef: { name: 'server' },
      databaseRef: { name: 'orders' },
      roleName: 'orders_app',
      identity: { clientId: orders.clientId, objectId: ordersOid },
      writeConnectionSecretToRef: { name: 'orders-app-pg' },
    });
    h.kube.create('PostgresRole', NS, 'blog-app', { serverRef: { name: 'server' }, databaseRef: { name: 'blog' }, roleName: 'blog_app', writeConnectionSecretToRef: { name: 'blog-app-pg' } });
    await h.until('PostgresRole', k('orders-app'), ready('PostgresRole', 'orders-app'), 'orders role Ready');
    await h.until('PostgresRole', k('blog-app'), ready('PostgresRole', 'blog-app'), 'blog role Ready');
  });

  it('has a Secret without password: host, port, dbname, username, uri, jdbc-uri, sslmode verify-full, ca.crt, token scope, client id', () => {
    const data = h.kube.secretData(NS, 'orders-app-pg')!;
    assert.deepEqual(Object.keys(data).sort(), [...PASSWORDLESS_SECRET_KEYS].sort());
    assert.equal(data.username, 'orders_app');
    assert.equal(data.uri, `postgresql://orders_app@${host}:5432/orders?sslmode=verify-full`);
    assert.equal(data.sslmode, 'verify-full');
    assert.equal(data['ca.crt'], h.emu.caCertPem);
    assert.equal(data['token-scope'], `${OSSRDBMS_RESOURCE}/.default`);
    assert.equal(data['client-id'], orders.clientId);
    // What it reaches besides is what a password role reaches (Azure's own databases are open to PUBLIC).
    const isolated = (name: string) => h.kube.condition('PostgresRole', k(name), 'Isolated')?.message.replace(/\w+_app/, 'ROLE');
    assert.equal(isolated('orders-app'), isolated('blog-app'));
  });

  it('signs in with its identity\'s token, reads and writes its own database, and cannot reach the other app\'s', async () => {
    const c = await signIn('orders_app', ordersToken(), 'orders');
    try {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY, item text)');
      await c.query("INSERT INTO orders VALUES (1, 'tea')");
      assert.deepEqual((await c.query('SELECT item FROM orders')).rows, [{ item: 'tea' }]);
    } finally {
      await c.end();
    }
    await refused(signIn('orders_app', ordersToken(), 'blog'), '42501', 'the other app\'s database');
  });

  it('an expired token, another tenant\'s token and a password are refused', async () => {
    await refused(signIn('orders_app', ordersToken({ lifetimeSeconds: -60 }), 'orders'), '28P01', 'expired');
    await refused(signIn('orders_app', ordersToken({ tenantId: randomUUID() }), 'orders'), '28P01', 'foreign tenant');
    await refused(signIn('orders_app', h.kube.secretData(NS, 'blog-app-pg')!.password, 'orders'), '28P01', 'a password');
  });

  it('privileges are applied as for password roles: read-only revokes writes', async () => {
    const admin = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri.replace('/postgres?', '/orders?'), h.emu.caCertPem);
    try {
      await admin.query("CREATE TABLE catalog (id int PRIMARY KEY, item text); INSERT INTO catalog VALUES (1, 'tea')");
    } finally {
      await admin.end();
    }
    h.kube.updateSpec('PostgresRole', k('orders-app'), (s: any) => ({ ...s, privileges: ['SELECT'] }));
    await h.until('PostgresRole', k('orders-app'), () => h.kube.condition('PostgresRole', k('orders-app'))?.message.includes('SELECT') === true, 'SELECT only');
    const c = await signIn('orders_app', ordersToken(), 'orders');
    try {
      assert.deepEqual((await c.query('SELECT item FROM catalog')).rows, [{ item: 'tea' }]);
      await assert.rejects(c.query("INSERT INTO catalog VALUES (2, 'milk')"), (e: { code?: string }) => e.code === '42501');
    } finally {
      await c.end();
    }
  });

  it('on a server without Entra sign-in it is EntraSignInOff, and nothing is created', async () => {
    const key = h.kube.create('PostgresServer', 'plain', 'server', { azureName: 'srv-plain', resourceGroup: { name: RG }, location: 'eastus', writeConnectionSecretToRef: { name: 'server-admin' } });
    await h.until('PostgresServer', key, () => h.ready('PostgresServer', key)?.status === 'True', 'plain server Ready');
    h.kube.create('PostgresDatabase', 'plain', 'db', { serverRef: { name: 'server' }, azureName: 'plain' });
    const role = h.kube.create('PostgresRole', 'plain', 'r', {
      serverRef: { name: 'server' },
      databaseRef: { name: 'db' },
      roleName: 'plain_app',
      identity: { clientId: orders.clientId, objectId: ordersOid },
      writeConnectionSecretToRef: { name: 'r-pg' },
    });
    await h.until('PostgresRole', role, () => h.ready('PostgresRole', role)?.reason === 'EntraSignInOff', 'EntraSignInOff');
    assert.match(h.ready('PostgresRole', role)!.message, /spec\.identity = .*a passwordless role needs a server with Microsoft Entra sign-in.*turn it on/);
    assert.equal(h.kube.secretData('plain', 'r-pg'), undefined);
  });

  it('deleting it drops the role from PostgreSQL', async () => {
    h.kube.delete('PostgresRole', k('orders-app'));
    await h.until('PostgresRole', k('orders-app'), () => !h.kube.exists('PostgresRole', k('orders-app')), 'orders role gone');
    const admin = await connectWithUri(h.kube.secretData(NS, 'server-admin')!.uri, h.emu.caCertPem);
    try {
      assert.equal((await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'orders_app'")).rowCount, 0);
    } finally {
      await admin.end();
    }
    await refused(signIn('orders_app', ordersToken(), 'orders'), '28P01', 'a dropped role');
  });
});

describe('password sign-in off', () => {
  it('Azure refuses every password, the administrator\'s old one included, and the Secret holds none', async () => {
    const oldAdmin = h.kube.secretData(NS, 'server-admin')!;
    assert.ok(oldAdmin.password);
    h.kube.updateSpec('PostgresServer', k('server'), (s: any) => ({ ...s, authentication: { password: false, microsoftEntra: true } }));
    await h.until('PostgresServer', k('server'), () => h.ready('PostgresServer', k('server'))?.status === 'True' &&
      h.kube.secretData(NS, 'server-admin')?.password === undefined, 'password sign-in off');
    assert.equal((await arm.getServer(RG, SRV))?.authConfig?.passwordAuth, 'Disabled');
    const data = h.kube.secretData(NS, 'server-admin')!;
    assert.equal(data.pgpass, undefined);
    assert.equal(data.uri, `postgresql://${host}:5432/postgres?sslmode=verify-full`);
    await refused(connectWithUri(oldAdmin.uri, h.emu.caCertPem), '28P01', 'the administrator\'s old password');
    await refused(signIn('blog_app', h.kube.secretData(NS, 'blog-app-pg')!.password, 'blog'), '28P01', 'an app role\'s password');
  });

  it('roles are still managed, by the reconciler as Entra administrator (a member of the password administrator)', async () => {
    assert.ok(h.kube.events.some((e) => e.reason === 'EntraAdministratorMember'), 'made a member while password sign-in was on');
    h.kube.updateSpec('PostgresRole', k('blog-app'), (s: any) => ({ ...s, privileges: ['SELECT'] }));
    await h.until('PostgresRole', k('blog-app'), () => h.kube.condition('PostgresRole', k('blog-app'))?.message.includes('SELECT') === true, 'blog SELECT only', 30_000);
  });

});
