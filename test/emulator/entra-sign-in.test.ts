/**
 * Microsoft Entra sign-in to emulated servers, as on Azure: tokens for the OSS RDBMS audience from the token endpoint
 * (client credentials and the workload-identity exchange), authConfig on the server, Entra administrators as ARM child
 * resources, pgaadauth_create_principal_with_oid, and the PostgreSQL front that accepts a valid token as the password
 * of the role mapped to its oid and refuses everything Azure refuses. Verified TLS by the server's FQDN.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { ClientSecretCredential } from '@azure/identity';
import { Client } from 'pg';
import { OSSRDBMS_RESOURCE } from './entra';
import { admitTestClient, PASSWORD, pgClient, raw, rejection, serverPath, smallServer, waitForOperation } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';
import { TOKEN_ERRORS } from './pg-front';

const run = promisify(execFile);
const SCOPE = `${OSSRDBMS_RESOURCE}/.default`;
const API = 'api-version=2024-08-01';

function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/** A projected ServiceAccount token's shape (the emulated Entra checks audience and lifetime of the assertion). */
function serviceAccountToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part({
    iss: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:shop:orders', aud: ['api://AzureADTokenExchange'], iat: now, nbf: now, exp: now + 600,
  })}.c2ln`;
}

describe('Microsoft Entra sign-in to emulated servers', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  let host: string;
  const rg = 'rg-entra';
  const name = 'entra-server-1';
  const adminName = 'cdk8s-azure-reconciler';
  const app = { clientId: randomUUID(), clientSecret: 'app-secret-value-1234567890' };
  let adminOid: string;
  let appOid: string;

  /** A token as the token endpoint issues it, for the OSS RDBMS audience unless told. */
  const token = (o: { clientId?: string; resource?: string; lifetimeSeconds?: number; tenantId?: string; objectId?: string } = {}) =>
    emu.admin.issueToken({ resource: OSSRDBMS_RESOURCE, ...o });

  /** The workload-identity exchange: a ServiceAccount token for an Entra token of the app, for the OSS RDBMS scope. */
  async function exchangedToken(): Promise<string> {
    const res = await fetch(`${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: app.clientId,
        scope: SCOPE,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: serviceAccountToken(),
      }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function signIn(user: string, password: string, database = 'postgres'): Promise<Client> {
    const c = new Client({ host, port: 5432, user, password, database, ssl: { ca: emu.caCertPem }, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  async function sql(user: string, password: string, text: string): Promise<any[]> {
    const c = await signIn(user, password);
    try {
      return (await c.query(text)).rows;
    } finally {
      await c.end();
    }
  }

  /** Expects the sign-in refused as Azure refuses it: FATAL 28P01 with `text` (default: password authentication failed). */
  async function refused(user: string, password: string, text = `password authentication failed for user "${user}"`): Promise<void> {
    const e = await rejection(() => signIn(user, password));
    assert.equal(e.code, '28P01', e.message);
    assert.equal(e.severity, 'FATAL');
    assert.equal(e.message, text);
  }

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 200 });
    trustEmulatorCa(emu);
    emu.admin.addClient(app);
    pg = pgClient(emu);
    adminOid = claimsOf(token()).oid;
    appOid = claimsOf(token({ clientId: app.clientId })).oid;
    await raw(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2020-06-01`, { location: 'eastus' });
    const server = await pg.servers.beginCreateOrUpdateAndWait(rg, name, smallServer());
    host = server.fullyQualifiedDomainName!;
    await admitTestClient(pg, rg, name);
  });
  after(async () => {
    await emu?.stop();
  });

  test('the token endpoint issues OSS RDBMS tokens by client credentials and by the workload-identity exchange', async () => {
    const cred = new ClientSecretCredential(emu.tenantId, app.clientId, app.clientSecret, {
      authorityHost: emu.authorityHost, disableInstanceDiscovery: true,
    });
    const byCredential = claimsOf((await cred.getToken(SCOPE)).token);
    assert.equal(byCredential.aud, OSSRDBMS_RESOURCE);
    assert.equal(byCredential.tid, emu.tenantId);
    assert.equal(byCredential.oid, appOid);
    assert.equal(byCredential.appid, app.clientId);
    assert.equal(byCredential.azp, app.clientId);
    for (const k of ['iat', 'nbf', 'exp']) assert.equal(typeof byCredential[k], 'number', k);
    assert.ok(byCredential.exp > Date.now() / 1000 + 3000);

    const exchanged = claimsOf(await exchangedToken());
    assert.equal(exchanged.aud, OSSRDBMS_RESOURCE);
    assert.equal(exchanged.oid, appOid);
    assert.equal(exchanged.appidacr, '2', 'signed in with a client assertion');
  });

  test('administrators are refused while Entra sign-in is off; turning it on is an update LRO', async () => {
    const created = await pg.servers.get(rg, name);
    assert.equal(created.authConfig?.activeDirectoryAuth, 'Disabled', "Azure's default");
    assert.equal(created.authConfig?.passwordAuth, 'Enabled', "Azure's default");
    const refusedPut = await raw(emu, 'PUT', `${serverPath(emu, rg, name)}/administrators/${adminOid}?${API}`,
      { properties: { principalType: 'ServicePrincipal', principalName: adminName } });
    assert.equal(refusedPut.status, 400);
    assert.equal(refusedPut.body.error.code, 'AadAuthOperationCannotBePerformedWhenAadAuthIsDisabled');

    const patch = await raw(emu, 'PATCH', `${serverPath(emu, rg, name)}?${API}`, { properties: { authConfig: { activeDirectoryAuth: 'Enabled' } } });
    assert.equal(patch.status, 202);
    assert.ok(patch.headers.get('azure-asyncoperation'));
    assert.equal((await waitForOperation(emu, patch.headers.get('azure-asyncoperation')!)).body.status, 'Succeeded');
    const updated = await pg.servers.get(rg, name);
    assert.equal(updated.authConfig?.activeDirectoryAuth, 'Enabled');
    assert.equal(updated.authConfig?.passwordAuth, 'Enabled');
    assert.equal(updated.authConfig?.tenantId, emu.tenantId);
  });

  test('administrators: PUT is an LRO (202, Azure-AsyncOperation, Location), then GET and list; the role exists as an admin', async () => {
    const path = `${serverPath(emu, rg, name)}/administrators/${adminOid}?${API}`;
    const put = await raw(emu, 'PUT', path, { properties: { principalType: 'ServicePrincipal', principalName: adminName, tenantId: emu.tenantId } });
    assert.equal(put.status, 202);
    assert.match(put.headers.get('azure-asyncoperation') ?? '', /\/azureAsyncOperation\//);
    assert.match(put.headers.get('location') ?? '', /\/operationResults\//);
    assert.ok(Number(put.headers.get('retry-after')) >= 0);
    const op = await waitForOperation(emu, put.headers.get('azure-asyncoperation')!);
    assert.equal(op.body.status, 'Succeeded');
    const result = await raw(emu, 'GET', put.headers.get('location')!);
    assert.equal(result.status, 200);
    assert.equal(result.body.properties.objectId, adminOid);

    const got = await raw(emu, 'GET', path);
    assert.equal(got.status, 200);
    assert.deepEqual({ ...got.body, systemData: undefined }, {
      properties: { principalType: 'ServicePrincipal', principalName: adminName, objectId: adminOid, tenantId: emu.tenantId },
      systemData: undefined,
      id: `${serverPath(emu, rg, name)}/administrators/${adminOid}`,
      name: adminOid,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers/administrators',
    });
    const viaSdk = await pg.administratorsMicrosoftEntra.get(rg, name, adminOid);
    assert.equal(viaSdk.principalName, adminName);
    const listed = [];
    for await (const a of pg.administratorsMicrosoftEntra.listByServer(rg, name)) listed.push(a.objectId);
    assert.deepEqual(listed, [adminOid]);

    const [role] = await sql('appadmin', PASSWORD, `SELECT rolcanlogin, rolcreaterole, rolcreatedb, rolsuper, pg_has_role(rolname, 'azure_pg_admin', 'member') AS admin
      FROM pg_roles WHERE rolname = '${adminName}'`);
    assert.deepEqual(role, { rolcanlogin: true, rolcreaterole: true, rolcreatedb: true, rolsuper: false, admin: true });

    const bad = await raw(emu, 'PUT', `${serverPath(emu, rg, name)}/administrators/not-a-guid?${API}`, { properties: { principalType: 'User', principalName: 'x' } });
    assert.equal(bad.status, 400);
    const badType = await raw(emu, 'PUT', path, { properties: { principalType: 'Robot', principalName: adminName } });
    assert.equal(badType.status, 400);
    assert.equal((await raw(emu, 'GET', `${serverPath(emu, rg, name)}/administrators/${randomUUID()}?${API}`)).status, 404);
  });

  test('the Entra admin signs in with its token and creates an app role with pgaadauth_create_principal_with_oid', async () => {
    const c = await signIn(adminName, token());
    try {
      const [who] = (await c.query('SELECT current_user AS u, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl')).rows;
      assert.deepEqual(who, { u: adminName, ssl: true });
      const [made] = (await c.query('SELECT pgaadauth_create_principal_with_oid($1, $2, $3, false, false) AS r', ['orders_app', appOid, 'service'])).rows;
      assert.equal(made.r, 'Created role for "orders_app"');
      // As any CREATEROLE role on PostgreSQL 15: member of the role it makes a database's owner.
      await c.query(`GRANT orders_app TO "${adminName}"`);
      await c.query('CREATE DATABASE orders OWNER orders_app');
      const listed = (await c.query('SELECT * FROM pgaadauth_list_principals(false)')).rows;
      assert.deepEqual(listed, [
        { rolname: adminName, principalType: 'service', objectId: adminOid, tenantId: emu.tenantId, isMfa: 0, isAdmin: 1 },
        { rolname: 'orders_app', principalType: 'service', objectId: appOid, tenantId: emu.tenantId, isMfa: 0, isAdmin: 0 },
      ]);
      assert.deepEqual((await c.query('SELECT rolname FROM pgaadauth_list_principals(true)')).rows, [{ rolname: adminName }]);
    } finally {
      await c.end();
    }
    // The password admin is not an Entra admin: it may not map roles.
    const e = await rejection(() => sql('appadmin', PASSWORD, `SELECT pgaadauth_create_principal_with_oid('other_app', '${randomUUID()}', 'service', false, false)`));
    assert.equal(e.code, '42501');
  });

  test('the app signs in with a token from the workload-identity exchange and reads and writes', async () => {
    const c = await signIn('orders_app', await exchangedToken(), 'orders');
    try {
      await c.query('CREATE TABLE orders (id int PRIMARY KEY)');
      await c.query('INSERT INTO orders VALUES (1), (2)');
      const [row] = (await c.query('SELECT count(*)::int AS n, current_user AS u FROM orders')).rows;
      assert.deepEqual(row, { n: 2, u: 'orders_app' });
    } finally {
      await c.end();
    }
  });

  test('refused: an expired token', async () => {
    await refused('orders_app', token({ clientId: app.clientId, lifetimeSeconds: -60 }), 'The access token has expired. Please acquire a new token and retry.');
  });

  test('refused: a token for another audience (ARM)', async () => {
    await refused('orders_app', token({ clientId: app.clientId, resource: 'https://management.azure.com' }),
      'The access token does not have a valid audience claim. Please acquire a new token for the resource "https://ossrdbms-aad.database.windows.net".');
  });

  test('refused: a token from another tenant', async () => {
    await refused('orders_app', token({ clientId: app.clientId, tenantId: randomUUID(), objectId: appOid }));
  });

  test("refused: another identity's token (oid is not the role's), either way", async () => {
    await refused('orders_app', token());
    await refused(adminName, token({ clientId: app.clientId }));
  });

  test('refused: a token whose signature does not verify, and a token for a role without an Entra mapping', async () => {
    const good = token({ clientId: app.clientId });
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
    await refused('orders_app', forged, TOKEN_ERRORS.invalid);
    await refused('appadmin', token());
  });

  test('refused: a password for an Entra role', async () => {
    // Azure reads an Entra role's password as a token.
    await refused('orders_app', 'any-password-at-all', TOKEN_ERRORS.format);
    await refused(adminName, PASSWORD, TOKEN_ERRORS.format);
  });

  test('verified TLS: verify-full by the FQDN with the emulator CA (node-postgres and libpq)', async () => {
    const server = await pg.servers.get(rg, name);
    const fqdn = server.fullyQualifiedDomainName!;
    const c = new Client({ connectionString: `postgresql://appadmin:${encodeURIComponent(PASSWORD)}@${fqdn}:5432/postgres?sslmode=verify-full&sslrootcert=${emu.caCertPath}` });
    c.on('error', () => undefined);
    await c.connect();
    assert.deepEqual((await c.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
    await c.end();

    // libpq: the Azure-style host name checked against the certificate, the address given apart (no hosts file needed).
    const psql = '/usr/lib/postgresql/15/bin/psql';
    const dnsName = `${name}.postgres.database.azure.com`;
    const conn = (h: string) => `host=${h} hostaddr=${fqdn} port=5432 user=${adminName} dbname=postgres sslmode=verify-full sslrootcert=${emu.caCertPath}`;
    const env = { ...process.env, PGPASSWORD: token(), PGCONNECT_TIMEOUT: '5' };
    const ok = await run(psql, ['-XAtc', 'SELECT current_user', conn(dnsName)], { env });
    assert.equal(ok.stdout.trim(), adminName);
    const wrongName = await rejection(() => run(psql, ['-XAtc', 'SELECT 1', conn('other-server.postgres.database.azure.com')], { env }));
    assert.match(String(wrongName.stderr), /does not match host name "other-server\.postgres\.database\.azure\.com"/);
  });

  test('password sign-in off: the admin password is refused, tokens still sign in', async () => {
    assert.deepEqual(await sql('appadmin', PASSWORD, 'SELECT 1 AS one'), [{ one: 1 }]);
    const server = await pg.servers.beginUpdateAndWait(rg, name, { authConfig: { passwordAuth: 'Disabled' } });
    assert.deepEqual(server.authConfig, { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId: emu.tenantId });
    await refused('appadmin', PASSWORD);
    assert.deepEqual(await sql('orders_app', token({ clientId: app.clientId }), 'SELECT current_user AS u'), [{ u: 'orders_app' }]);
  });

  test('DROP ROLE removes an Entra role; its token no longer signs in, and a new role of that name is not mapped', async () => {
    const c = await signIn(adminName, token());
    try {
      await c.query('DROP DATABASE orders');
      await c.query('DROP ROLE orders_app');
      await c.query('CREATE ROLE orders_app LOGIN');
    } finally {
      await c.end();
    }
    await refused('orders_app', token({ clientId: app.clientId }));
  });

  test('a server created with Entra sign-in only (no administratorLogin): its Entra admin signs in by token, nobody by password', async () => {
    const entraOnly = 'entra-only-server';
    const { administratorLogin: _login, administratorLoginPassword: _password, ...rest } = smallServer();
    const created = await pg.servers.beginCreateOrUpdateAndWait(rg, entraOnly, {
      ...rest, authConfig: { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId: emu.tenantId },
    });
    assert.equal(created.administratorLogin, undefined);
    await admitTestClient(pg, rg, entraOnly);
    assert.deepEqual(created.authConfig, { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId: emu.tenantId });
    await pg.administratorsMicrosoftEntra.beginCreateOrUpdateAndWait(rg, entraOnly, adminOid, { principalType: 'ServicePrincipal', principalName: adminName });
    const c = new Client({ host: created.fullyQualifiedDomainName, port: 5432, user: adminName, password: token(), database: 'postgres', ssl: { ca: emu.caCertPem } });
    c.on('error', () => undefined);
    await c.connect();
    try {
      assert.deepEqual((await c.query('SELECT current_user AS u')).rows, [{ u: adminName }]);
    } finally {
      await c.end();
    }
    const byPassword = new Client({ host: created.fullyQualifiedDomainName, port: 5432, user: adminName, password: PASSWORD, database: 'postgres', ssl: { ca: emu.caCertPem } });
    byPassword.on('error', () => undefined);
    const e = await rejection(() => byPassword.connect());
    assert.equal(e.code, '28P01');
    await pg.servers.beginDeleteAndWait(rg, entraOnly);
  });

  test('administrators DELETE is an LRO and drops the role', async () => {
    const path = `${serverPath(emu, rg, name)}/administrators/${adminOid}?${API}`;
    const del = await raw(emu, 'DELETE', path);
    assert.equal(del.status, 202);
    assert.equal((await waitForOperation(emu, del.headers.get('azure-asyncoperation')!)).body.status, 'Succeeded');
    assert.equal((await raw(emu, 'GET', path)).status, 404);
    assert.equal((await raw(emu, 'DELETE', path)).status, 204);
    await refused(adminName, token());
  });
});
