/**
 * The Entra ID side (real @azure/identity credentials against the emulator's authority host) and ARM's refusals of
 * requests without a valid token.
 */
/* eslint-disable @typescript-eslint/no-floating-promises -- node:test's describe/test return promises the runner awaits */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AccessToken, ClientSecretCredential, TokenCredential, WorkloadIdentityCredential } from '@azure/identity';
import { pgClient, raw, rejection, rmClient } from './helpers';
import { Emulator, startEmulator, trustEmulatorCa } from './index';

/** A token as Kubernetes would project it for workload identity (the emulator does not check its signature). */
function serviceAccountToken(opts: { iss?: string; sub?: string; aud?: string[]; expiresIn?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = b64({ alg: 'RS256', kid: 'k8s-test' });
  const payload = b64({
    aud: opts.aud ?? ['api://AzureADTokenExchange'],
    exp: now + (opts.expiresIn ?? 3600),
    iat: now,
    nbf: now,
    iss: opts.iss ?? 'https://kubernetes.default.svc.cluster.local',
    sub: opts.sub ?? 'system:serviceaccount:cdk8s-azure-system:reconciler',
    kubernetes: { namespace: 'cdk8s-azure-system', serviceaccount: { name: 'reconciler' } },
  });
  return `${header}.${payload}.${Buffer.from('not-verified').toString('base64url')}`;
}

function workloadIdentity(emu: Emulator, clientId: string, tokenFilePath: string): WorkloadIdentityCredential {
  return new WorkloadIdentityCredential({
    tenantId: emu.tenantId, clientId, tokenFilePath, authorityHost: emu.authorityHost, disableInstanceDiscovery: true,
  });
}

describe('Entra ID token service and ARM authentication', () => {
  let emu: Emulator;
  let dir: string;
  const rg = 'rg-auth';

  before(async () => {
    emu = await startEmulator({ provisioningDelayMs: 100 });
    trustEmulatorCa(emu);
    dir = mkdtempSync(join(tmpdir(), 'emulator-auth-'));
  });
  after(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('OpenID configuration, instance discovery and keys', async () => {
    const oidc = await (await fetch(`${emu.authorityHost}/${emu.tenantId}/v2.0/.well-known/openid-configuration`)).json() as Record<string, string>;
    assert.equal(oidc.token_endpoint, `${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`);
    assert.equal(oidc.issuer, `${emu.authorityHost}/${emu.tenantId}/v2.0`);
    assert.ok(oidc.authorization_endpoint && oidc.jwks_uri);
    const inst = await (await fetch(`${emu.authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/authorize`)}`)).json() as Record<string, unknown>;
    assert.equal(inst.tenant_discovery_endpoint, `${emu.authorityHost}/${emu.tenantId}/v2.0/.well-known/openid-configuration`);
    const keys = await (await fetch(oidc.jwks_uri)).json() as { keys: { kty: string }[] };
    assert.equal(keys.keys[0].kty, 'RSA');
    const unknown = await fetch(`${emu.authorityHost}/00000000-0000-0000-0000-00000000dead/v2.0/.well-known/openid-configuration`);
    assert.equal(unknown.status, 400);
  });

  test('ClientSecretCredential gets a JWT for the ARM endpoint and the SDK uses it', async () => {
    const cred = new ClientSecretCredential(emu.tenantId, emu.clientId, emu.clientSecret, {
      authorityHost: emu.authorityHost, disableInstanceDiscovery: true,
    });
    const token = await cred.getToken(`${emu.armEndpoint}/.default`);
    const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString());
    assert.equal(claims.aud, emu.armEndpoint);
    assert.equal(claims.tid, emu.tenantId);
    assert.equal(claims.appid, emu.clientId);
    assert.equal(claims.iss, `https://sts.windows.net/${emu.tenantId}/`);
    assert.ok(token.expiresOnTimestamp > Date.now() + 3000_000);
    await rmClient(emu, cred).resourceGroups.createOrUpdate(rg, { location: 'eastus' });
    const servers = [];
    for await (const s of pgClient(emu, cred).servers.listByResourceGroup(rg)) servers.push(s);
    assert.deepEqual(servers, []);
  });

  test('a wrong secret, an unknown client, an unknown tenant are refused with AADSTS codes', async () => {
    const wrong = new ClientSecretCredential(emu.tenantId, emu.clientId, 'not-the-secret', { authorityHost: emu.authorityHost, disableInstanceDiscovery: true });
    assert.match((await rejection(() => wrong.getToken(`${emu.armEndpoint}/.default`))).message, /AADSTS7000215: Invalid client secret provided/);
    const unknown = new ClientSecretCredential(emu.tenantId, '12345678-0000-4000-8000-000000000000', 'x', { authorityHost: emu.authorityHost, disableInstanceDiscovery: true });
    assert.match((await rejection(() => unknown.getToken(`${emu.armEndpoint}/.default`))).message, /AADSTS700016: Application with identifier '12345678-0000-4000-8000-000000000000' was not found/);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: `${emu.armEndpoint}/.default` });
    const r = await fetch(`${emu.authorityHost}/00000000-0000-0000-0000-00000000dead/oauth2/v2.0/token`, { method: 'POST', body: form });
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error_description: string }).error_description, /^AADSTS90002: Tenant '00000000-0000-0000-0000-00000000dead' not found/);
    const noDefault = await fetch(`${emu.authorityHost}/${emu.tenantId}/oauth2/v2.0/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: 'https://x/read' }),
    });
    assert.equal(((await noDefault.json()) as { error: string }).error, 'invalid_scope');
  });

  test('WorkloadIdentityCredential with a federated token file (a ServiceAccount JWT)', async () => {
    const clientId = '7d2c9a51-3e4f-4b6a-8c1d-2e3f4a5b6c7d';
    emu.admin.addClient({
      clientId,
      federatedCredentials: [{ issuer: 'https://kubernetes.default.svc.cluster.local', subject: 'system:serviceaccount:cdk8s-azure-system:reconciler', audience: 'api://AzureADTokenExchange' }],
    });
    const tokenFilePath = join(dir, 'azure-identity-token');
    writeFileSync(tokenFilePath, serviceAccountToken());
    const cred = workloadIdentity(emu, clientId, tokenFilePath);
    const token = await cred.getToken(`${emu.armEndpoint}/.default`);
    const claims = JSON.parse(Buffer.from(token.token.split('.')[1], 'base64url').toString());
    assert.equal(claims.appid, clientId);
    assert.equal(claims.appidacr, '2');
    const servers = [];
    for await (const s of pgClient(emu, cred).servers.listBySubscription()) servers.push(s);
    assert.deepEqual(servers, []);

    const otherSubject = join(dir, 'other-token');
    writeFileSync(otherSubject, serviceAccountToken({ sub: 'system:serviceaccount:default:default' }));
    const refused = workloadIdentity(emu, clientId, otherSubject);
    assert.match((await rejection(() => refused.getToken(`${emu.armEndpoint}/.default`))).message,
      /AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:default'/);

    const expired = join(dir, 'expired-token');
    writeFileSync(expired, serviceAccountToken({ expiresIn: -3600 }));
    const late = workloadIdentity(emu, clientId, expired);
    assert.match((await rejection(() => late.getToken(`${emu.armEndpoint}/.default`))).message, /AADSTS700024: Client assertion is not within its valid time range/);

    const wrongAudience = join(dir, 'aud-token');
    writeFileSync(wrongAudience, serviceAccountToken({ aud: ['https://kubernetes.default.svc'] }));
    const aud = workloadIdentity(emu, clientId, wrongAudience);
    assert.match((await rejection(() => aud.getToken(`${emu.armEndpoint}/.default`))).message, /AADSTS700212/);
  });

  test('ARM without a token: 401 AuthenticationFailed with WWW-Authenticate', async () => {
    const r = await raw(emu, 'GET', `/subscriptions/${emu.subscriptionId}/resourcegroups/${rg}?api-version=2021-04-01`, undefined, null);
    assert.equal(r.status, 401);
    assert.deepEqual(r.body, { error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." } });
    assert.equal(r.headers.get('www-authenticate'),
      `Bearer authorization_uri="${emu.authorityHost}/${emu.tenantId}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`);
    assert.equal(emu.admin.requests().byKey['GET Microsoft.Resources/resourceGroups 401'], 1);
  });

  test('ARM with a bad, forged, expired or wrong-audience token: 401 with the matching code', async () => {
    const path = `/subscriptions/${emu.subscriptionId}/providers/Microsoft.DBforPostgreSQL/flexibleServers?api-version=2025-08-01`;
    const garbage = await raw(emu, 'GET', path, undefined, 'not-a-jwt');
    assert.deepEqual([garbage.status, garbage.body.error.code, garbage.body.error.message], [401, 'InvalidAuthenticationToken', 'The access token is invalid.']);
    assert.match(garbage.headers.get('www-authenticate')!, /error_description="The access token is invalid\."/);

    const valid = emu.admin.issueToken();
    const [h, p, sig] = valid.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, appid: 'someone-else' })).toString('base64url')}.${sig}`;
    assert.equal((await raw(emu, 'GET', path, undefined, forged)).body.error.code, 'InvalidAuthenticationToken');

    const expired = await raw(emu, 'GET', path, undefined, emu.admin.issueToken({ lifetimeSeconds: -60 }));
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error.code, 'ExpiredAuthenticationToken');
    assert.match(expired.body.error.message, /^The access token expiry UTC time '.*' is earlier than current UTC time '.*'\.$/);

    const storage = await raw(emu, 'GET', path, undefined, emu.admin.issueToken({ resource: 'https://storage.azure.com' }));
    assert.equal(storage.body.error.code, 'InvalidAuthenticationTokenAudience');
    const publicArm = await raw(emu, 'GET', path, undefined, emu.admin.issueToken({ resource: 'https://management.azure.com/' }));
    assert.equal(publicArm.status, 200, "Azure's own ARM audience is accepted too");

    const basic = await fetch(`${emu.armEndpoint}${path}`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(basic.status, 401);
    assert.equal(((await basic.json()) as { error: { code: string } }).error.code, 'AuthenticationFailed');
  });

  test('the SDK surfaces a 401 from a credential with a bad token', async () => {
    const bogus: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: 'bogus', expiresOnTimestamp: Date.now() + 3600_000 }) };
    const err = await rejection(() => pgClient(emu, bogus).servers.get(rg, 'anything'));
    assert.equal(err.statusCode, 401);
    assert.equal(err.code, 'InvalidAuthenticationToken');
  });
});
