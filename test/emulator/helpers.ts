/** Shared pieces of the emulator test suites (not a test file itself). */
import * as assert from 'node:assert/strict';
import { PostgreSQLManagementFlexibleServerClient, Server } from '@azure/arm-postgresql-flexible';
import { ResourceManagementClient } from '@azure/arm-resources';
import { ClientSecretCredential, TokenCredential } from '@azure/identity';
import { Client } from 'pg';
import { Emulator } from './index';

export const PASSWORD = 'Emul4tor!Passw0rd';

export function credential(emu: Emulator): ClientSecretCredential {
  return new ClientSecretCredential(emu.tenantId, emu.clientId, emu.clientSecret, {
    authorityHost: emu.authorityHost,
    // MSAL asks login.microsoftonline.com to vouch for authorities it does not know; the emulator is one of those.
    disableInstanceDiscovery: true,
  });
}

export function pgClient(emu: Emulator, cred: TokenCredential = credential(emu), subscriptionId = emu.subscriptionId):
PostgreSQLManagementFlexibleServerClient {
  return new PostgreSQLManagementFlexibleServerClient(cred, subscriptionId, { endpoint: emu.armEndpoint });
}

export function rmClient(emu: Emulator, cred: TokenCredential = credential(emu), subscriptionId = emu.subscriptionId): ResourceManagementClient {
  return new ResourceManagementClient(cred, subscriptionId, { endpoint: emu.armEndpoint, credentials: { scopes: [`${emu.armEndpoint}/.default`] } } as never);
}

export interface RawResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

/** A raw ARM request (fetch) with a token of the default client unless `token` is given (null: no Authorization). */
export async function raw(emu: Emulator, method: string, pathAndQuery: string, body?: unknown, token?: string | null): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  const t = token === undefined ? emu.admin.issueToken() : token;
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const url = pathAndQuery.startsWith('https://') ? pathAndQuery : `${emu.armEndpoint}${pathAndQuery}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export function serverPath(emu: Emulator, rg: string, name: string, sub = emu.subscriptionId): string {
  return `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${name}`;
}

export function smallServer(extra: Partial<Server> = {}): Server {
  return {
    location: 'eastus',
    administratorLogin: 'appadmin',
    administratorLoginPassword: PASSWORD,
    version: '16',
    sku: { name: 'Standard_B1ms', tier: 'Burstable' },
    storage: { storageSizeGB: 32 },
    ...extra,
  };
}

/** The address the test's own PostgreSQL clients connect from (they do not bind their socket). */
export const TEST_CLIENT_ADDRESS = '127.0.0.1';

/**
 * Adds the firewall rule `test-client` that admits the test's own address to a public server, as a user adds one for
 * theirs: the emulator enforces firewall rules, as Azure does, and a public server without rules admits nobody.
 */
export async function admitTestClient(pg: PostgreSQLManagementFlexibleServerClient, resourceGroup: string, server: string): Promise<void> {
  await pg.firewallRules.beginCreateOrUpdateAndWait(resourceGroup, server, 'test-client', { startIpAddress: TEST_CLIENT_ADDRESS, endIpAddress: TEST_CLIENT_ADDRESS });
}

/** Connects to a server's PostgreSQL over TLS, verifying the emulator CA (and the IP in the certificate). */
export async function connect(emu: Emulator, host: string, user: string, password: string, database = 'postgres'): Promise<Client> {
  const c = new Client({ host, port: 5432, user, password, database, ssl: { ca: emu.caCertPem }, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function query(emu: Emulator, host: string, user: string, password: string, sql: string, database = 'postgres'): Promise<any[]> {
  const c = await connect(emu, host, user, password, database);
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

/** Runs fn, expecting a rejection; returns the error. */
export async function rejection(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Expects an ARM refusal through the SDK: its status, code and message (exact, or a pattern). */
export async function expectError(fn: () => Promise<unknown>, status: number, code: string, message: string | RegExp): Promise<void> {
  const e = await rejection(fn);
  assert.equal(e.statusCode, status, `status of ${code}: ${e.message}`);
  assert.equal(e.code, code, e.message);
  if (typeof message === 'string') assert.equal(e.message, message);
  else assert.match(e.message, message);
}

/** Polls an Azure-AsyncOperation URL (raw, ignoring Retry-After) until the operation leaves InProgress; its last answer. */
export async function waitForOperation(emu: Emulator, asyncOperationUrl: string): Promise<RawResponse> {
  let op = await raw(emu, 'GET', asyncOperationUrl);
  while (op.body?.status === 'InProgress') {
    await new Promise((r) => setTimeout(r, 50));
    op = await raw(emu, 'GET', asyncOperationUrl);
  }
  return op;
}
