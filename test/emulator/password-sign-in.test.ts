/**
 * A server created with password sign-in off, as Azure has it: no password administrator; databases belong to
 * azuresu until an Entra administrator exists, then to it; password sign-in turned on only with the administrator's
 * login and password (EngineCredentialsNotProvided otherwise), from which Azure makes the administrator.
 * Sources: docs/reconciler-behaviour.md (Microsoft Entra sign-in: what is confirmed about Azure).
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import { OSSRDBMS_RESOURCE } from './entra';
import { admitTestClient, PASSWORD, pgClient, query, raw, rejection, smallServer } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

describe('password sign-in off at create, then turned on', () => {
  let emu: Emulator;
  let pg: PostgreSQLManagementFlexibleServerClient;
  let host: string;
  const rg = 'rg-pw';
  const name = 'entra-only-1';
  const adminName = 'cdk8s-azure-reconciler';
  const token = () => emu.admin.issueToken({ resource: OSSRDBMS_RESOURCE });
  const asAdmin = (sql: string) => query(emu, host, adminName, token(), sql);
  const ownerOf = async (db: string) =>
    (await asAdmin(`SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname = '${db}'`))[0]?.owner;

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 200 });
    trustEmulatorCa(emu);
    pg = pgClient(emu);
    await raw(emu, 'PUT', `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2020-06-01`, { location: 'eastus' });
    const { administratorLogin: _login, administratorLoginPassword: _password, ...rest } = smallServer();
    const created = await pg.servers.beginCreateOrUpdateAndWait(rg, name, {
      ...rest, authConfig: { activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled', tenantId: emu.tenantId },
    });
    host = created.fullyQualifiedDomainName!;
    await admitTestClient(pg, rg, name);
  });
  after(async () => {
    await emu?.stop();
  });

  test('a database made before any Entra administrator belongs to azuresu; one made after, to the administrator', async () => {
    await pg.databases.beginCreateAndWait(rg, name, 'early', {});
    const adminOid = JSON.parse(Buffer.from(token().split('.')[1], 'base64url').toString('utf8')).oid;
    await pg.administratorsMicrosoftEntra.beginCreateOrUpdateAndWait(rg, name, adminOid, { principalType: 'ServicePrincipal', principalName: adminName });
    await pg.databases.beginCreateAndWait(rg, name, 'late', {});
    assert.equal(await ownerOf('early'), 'azuresu');
    assert.equal(await ownerOf('late'), adminName);
    assert.deepEqual(await asAdmin("SELECT rolname FROM pg_catalog.pg_roles WHERE rolcanlogin AND rolname NOT IN ('azuresu') ORDER BY 1"), [{ rolname: adminName }],
      'no password administrator');
  });

  test('turning password sign-in on without the login and the password is refused, and changes nothing', async () => {
    for (const patch of [{}, { administratorLogin: 'appadmin' }, { administratorLoginPassword: PASSWORD }]) {
      const e = await rejection(() => pg.servers.beginUpdateAndWait(rg, name, { ...patch, authConfig: { passwordAuth: 'Enabled' } }, { updateIntervalInMs: 50 }));
      assert.equal(e.statusCode, 400, JSON.stringify(patch));
      assert.equal(e.code, 'EngineCredentialsNotProvided');
      assert.equal(e.message, 'The admin credentials are required for creating admin role while enabling Password Authentication and must be provided.');
    }
    const server = await pg.servers.get(rg, name);
    assert.equal(server.authConfig?.passwordAuth, 'Disabled');
    assert.equal(server.administratorLogin, undefined);
  });

  test('with both, Azure makes the password administrator: it signs in with the password', async () => {
    const server = await pg.servers.beginUpdateAndWait(rg, name,
      { administratorLogin: 'appadmin', administratorLoginPassword: PASSWORD, authConfig: { passwordAuth: 'Enabled' } }, { updateIntervalInMs: 50 });
    assert.equal(server.administratorLogin, 'appadmin');
    assert.equal(server.authConfig?.passwordAuth, 'Enabled');
    assert.deepEqual(await query(emu, host, 'appadmin', PASSWORD, "SELECT current_user AS u, pg_catalog.pg_has_role('azure_pg_admin', 'MEMBER') AS admin"),
      [{ u: 'appadmin', admin: true }]);
  });
});
