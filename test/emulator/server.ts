/**
 * The HTTPS front: one port serves the Entra ID token service, Azure Resource Manager and the admin endpoint.
 * Per request: admin bypass -> injected faults (drop, latency, error) -> Entra or ARM; for ARM: bearer token ->
 * throttling (token buckets) -> api-version and routing (arm.ts). Every ARM answer carries ARM's headers.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Arm, ArmResponse, RetryAfterProfile } from './arm';
import { Authorization, authorizationFailed, authorize, linkedAuthorizationFailed, rbacAction } from './authorization';
import { EmulatorClient, EntraService } from './entra';
import { ApiError } from './errors';
import { FaultOptions, FaultRule, Faults } from './faults';
import { RequestCounts, RequestStats, resourceTypeOf } from './stats';
import { classOf, Throttler, ThrottlingOptions } from './throttle';

export interface EmulatorAdmin {
  /** Resource groups, servers (with the address, PID and data directory of their PostgreSQL), operations. */
  resources(): Record<string, unknown>;
  /** Request counts since start or the last resetRequests(). */
  requests(): RequestCounts;
  resetRequests(): void;
  faults(): { options: FaultOptions; rules: (FaultRule & { hits: number })[] };
  /** Replaces all faults. */
  setFaults(f: FaultOptions | undefined): void;
  /** Adds one rule, e.g. { kind: 'failOperation', match: 'PUT .*\/databases\/', count: 1, code, message }. */
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  throttling(): false | Required<ThrottlingOptions>;
  /** Replaces the throttling configuration (false: off) and empties the buckets. */
  setThrottling(t: false | ThrottlingOptions): void;
  /** Deletes every server (stopping its PostgreSQL) and resource group, counts, buckets; restores start-up faults. */
  reset(): Promise<void>;
  /**
   * An access token as the token endpoint would issue it (default: the default client, the ARM endpoint). For
   * PostgreSQL sign-in use `resource: OSSRDBMS_RESOURCE`. A negative `lifetimeSeconds` gives an expired token;
   * `tenantId` a token of another tenant (same signing key); `objectId` a token for another identity (its `oid`).
   */
  issueToken(opts?: { clientId?: string; resource?: string; lifetimeSeconds?: number; tenantId?: string; objectId?: string }): string;
  /**
   * Changes the minimum duration of long-running operations and their Retry-After (seconds with the `fast` profile, or
   * the profile), for operations started after.
   */
  setTiming(t: { provisioningDelayMs?: number; operationPollIntervalSeconds?: number; retryAfterProfile?: RetryAfterProfile }): void;
  /**
   * A change Azure makes by itself (no ARM write): a SameZone server moved to ZoneRedundant, storage grown by autogrow.
   * Returns the server's new ARM body.
   */
  azureChange(serverName: string, change: { highAvailabilityMode?: 'SameZone' | 'ZoneRedundant' | 'Disabled'; storageSizeGB?: number }): Record<string, unknown>;
  /** Azure's start of a stopped server after 7 days, now. Returns the server's new ARM body. */
  autoStart(serverName: string): Promise<Record<string, unknown>>;
  /** Whether firewall rules decide which clients may connect to public servers' PostgreSQL. */
  firewallEnforcement(): boolean;
  /** Turns that on or off for every server (rewrites their pg_hba). */
  setFirewallEnforcement(on: boolean): Promise<void>;
  /** Registers another application (client) in the tenant. */
  addClient(c: EmulatorClient): void;
}

export interface FrontOptions {
  arm: Arm;
  entra: EntraService;
  faults: Faults;
  throttler: Throttler;
  stats: RequestStats;
  baseUrl: () => string;
  log: (msg: string) => void;
  admin: EmulatorAdmin;
  info: () => Record<string, unknown>;
  requestLog?: boolean;
}

const MAX_BODY = 4 * 1024 * 1024;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'The request content is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.'));
}

export function createHandler(o: FrontOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(o, req, res).catch((e) => {
      o.log(`request handling failed: ${(e as Error).stack ?? e}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code: 'InternalServerError', message: 'The emulator failed to process the request.' } }));
      } else {
        res.destroy();
      }
    });
  };
}

/** The Retry-After each answer carried (headers given to writeHead are not readable back from the response). */
const retryAfterSent = new WeakMap<ServerResponse, number>();

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}, method = 'GET'): void {
  const h: Record<string, string> = { ...headers };
  let payload: Buffer | undefined;
  if (body !== undefined && status !== 204 && status !== 304) {
    payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    h['Content-Type'] ??= 'application/json; charset=utf-8';
  }
  h['Content-Length'] = String(payload?.length ?? 0);
  if (h['Retry-After'] !== undefined) retryAfterSent.set(res, Number(h['Retry-After']));
  res.writeHead(status, h);
  res.end(method === 'HEAD' ? undefined : payload);
}

async function handle(o: FrontOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const url = new URL(req.url ?? '/', 'https://emulator.invalid');
  const path = url.pathname;
  const method = (req.method ?? 'GET').toUpperCase();

  if (path === '/admin' || path.startsWith('/admin/')) {
    await admin(o, req, res, url, method);
    return;
  }

  const entry = { principal: undefined as string | undefined, outcome: undefined as undefined | 'throttled' | 'fault' | 'dropped' };
  const resourceType = resourceTypeOf(path);
  res.on('finish', () => {
    if (o.requestLog) o.log(`${method} ${path} ${res.statusCode}${entry.outcome ? ` (${entry.outcome})` : ''} ${Date.now() - started}ms`);
    o.stats.record({
      time: new Date(started).toISOString(),
      method,
      path,
      resourceType,
      status: res.statusCode,
      outcome: entry.outcome,
      principal: entry.principal,
      durationMs: Date.now() - started,
      retryAfterSeconds: retryAfterSent.get(res),
    });
  });

  // Faults first: they model the network and ARM's front door, before anything is looked at.
  if (o.faults.fire('drop', method, path).length) {
    o.stats.record({ time: new Date(started).toISOString(), method, path, resourceType, status: 0, outcome: 'dropped', durationMs: 0 });
    req.socket.destroy();
    return;
  }
  const latency = o.faults.fire('latency', method, path);
  if (latency.length) {
    o.stats.delayed();
    await sleep(latency.reduce((a, r) => a + (r.ms ?? 1000), 0));
  }
  const error = o.faults.fire('error', method, path)[0];
  const armHeaders: Record<string, string> = {
    'Cache-Control': 'no-cache',
    'Pragma': 'no-cache',
    'Expires': '-1',
    'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
    'X-Content-Type-Options': 'nosniff',
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': String(req.headers['x-ms-correlation-request-id'] ?? randomUUID()),
  };
  if (req.headers['x-ms-client-request-id']) armHeaders['x-ms-client-request-id'] = String(req.headers['x-ms-client-request-id']);
  armHeaders['x-ms-routing-request-id'] = `EMULATOR:${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}Z:${armHeaders['x-ms-request-id']}`;
  if (error) {
    entry.outcome = 'fault';
    const status = error.status ?? 500;
    const defaults: Record<number, [string, string]> = {
      429: ['TooManyRequests', 'The request is being throttled (injected fault).'],
      500: ['InternalServerError', `Encountered internal server error. Diagnostic information: timestamp '${new Date().toISOString()}', tracking id '${randomUUID()}', request correlation id '${armHeaders['x-ms-correlation-request-id']}'.`],
      502: ['BadGateway', 'The gateway did not receive a response from the service (injected fault).'],
      503: ['ServiceUnavailable', 'The server (leader) is currently unable to receive requests. Please retry your request.'],
      504: ['GatewayTimeout', 'The gateway did not receive a response within the specified time period.'],
    };
    const [code, message] = defaults[status] ?? defaults[500];
    const h = { ...armHeaders };
    if (status === 429 || status === 503) h['Retry-After'] = String(error.retryAfterSeconds ?? 1);
    await readBody(req).catch(() => undefined);
    send(res, status, { error: { code: error.code ?? code, message: error.message ?? message } }, h, method);
    return;
  }

  const segments = path.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  const lower = segments.map((s) => s.toLowerCase());

  // ---- Entra ID
  const entra = entraRoute(o, lower, segments, method);
  if (entra) {
    const raw = await readBody(req);
    const r = entra(raw, req, url);
    send(res, r.status, r.body, { 'Cache-Control': 'no-store, no-cache', 'Pragma': 'no-cache', 'X-Content-Type-Options': 'nosniff' }, method);
    return;
  }

  // ARM: subscription-scoped requests, and tenant-level provider actions (getPrivateDnsZoneSuffix).
  if (lower[0] !== 'subscriptions' && lower[0] !== 'providers') {
    await readBody(req).catch(() => undefined);
    send(res, 404, { error: { code: 'NotFound', message: `No route for '${method} ${path}'.` } }, armHeaders, method);
    return;
  }

  // ---- ARM: authentication
  const base = o.baseUrl();
  const wwwAuth = (desc: string) => `Bearer authorization_uri="${base}/${o.entra.tenantId}", error="invalid_token", error_description="${desc}"`;
  const auth = req.headers.authorization;
  let claims;
  if (!auth) {
    await readBody(req).catch(() => undefined);
    send(res, 401, { error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." } },
      { ...armHeaders, 'WWW-Authenticate': wwwAuth("The authentication failed because of missing 'Authorization' header.") }, method);
    return;
  }
  const m = /^Bearer\s+(\S+)$/i.exec(auth);
  if (!m) {
    await readBody(req).catch(() => undefined);
    send(res, 401, { error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is provided in an invalid format." } },
      { ...armHeaders, 'WWW-Authenticate': wwwAuth("The authentication failed because of an invalid 'Authorization' header format.") }, method);
    return;
  }
  const v = o.entra.validateArmToken(m[1], (aud) => allowedAudience(aud, base));
  if ('code' in v) {
    await readBody(req).catch(() => undefined);
    send(res, 401, { error: { code: v.code, message: v.message } }, { ...armHeaders, 'WWW-Authenticate': wwwAuth(v.message.replace(/"/g, "'")) }, method);
    return;
  }
  claims = v.claims;
  entry.principal = claims.oid;

  // ---- ARM: authorization (role assignments at their scopes), at the front door: nothing is looked up or counted
  const access: Authorization = lower[0] === 'subscriptions' && segments.length >= 3
    ? authorize(o.entra.assignmentScopes(String(claims.appid ?? '')), method, path, segments)
    : { allowed: true };
  if (!access.allowed) {
    await readBody(req).catch(() => undefined);
    send(res, 403, authorizationFailed(claims.oid, rbacAction(method, segments), access.scope), { ...armHeaders, 'x-ms-failure-cause': 'gateway' }, method);
    return;
  }

  // ---- ARM: throttling
  const sub = segments[1] ?? 'tenant';
  const t = o.throttler.take(sub, claims.oid, method);
  const cls = classOf(method);
  armHeaders[`x-ms-ratelimit-remaining-subscription-${cls}`] = String(t.remaining);
  armHeaders[`x-ms-ratelimit-remaining-subscription-global-${cls}`] = String(t.globalRemaining);
  if (!t.allowed) {
    entry.outcome = 'throttled';
    await readBody(req).catch(() => undefined);
    const kind = cls === 'reads' ? 'read' : cls === 'writes' ? 'write' : 'delete';
    send(res, 429, {
      error: {
        code: 'TooManyRequests',
        message: `Number of '${kind}' requests for subscription '${sub}' actor '${claims.oid}' exceeded. Please try again after '${t.retryAfterSeconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling`,
      },
    }, { ...armHeaders, 'Retry-After': String(t.retryAfterSeconds) }, method);
    return;
  }

  // ---- ARM: body and dispatch
  let body: unknown;
  let result: ArmResponse;
  try {
    const raw = await readBody(req);
    if (raw.length && raw.toString('utf8').trim() !== '') {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch (e) {
        throw new ApiError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${(e as Error).message}'.`);
      }
    }
    const linked = lower[0] === 'subscriptions'
      ? linkedAuthorizationFailed(o.entra.assignmentScopes(String(claims.appid ?? '')), claims.oid, method, path, segments, body)
      : undefined;
    if (linked) throw new ApiError(403, linked.error.code, linked.error.message, { 'x-ms-failure-cause': 'gateway' });
    result = await o.arm.handle({ method, segments, path, query: url.searchParams, body, appId: String(claims.appid ?? claims.oid) });
    if (access.visible) result = { ...result, body: onlyVisible(result.body, access.visible) };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    result = { status: e.status, body: e.body(), headers: e.headers };
  }
  const headers: Record<string, string> = { ...armHeaders, ...(result.headers ?? {}) };
  // The resource provider's answers carry its Server header; the gateway's (x-ms-failure-cause: gateway) do not.
  if (/\/providers\/microsoft\.dbforpostgresql\//i.test(path) && !headers['x-ms-failure-cause']) headers.Server = 'Microsoft-HTTPAPI/2.0';
  if (o.faults.fire('drop', method, path, 'response').length) {
    // The request took effect; the client never learns how.
    o.stats.record({ time: new Date(started).toISOString(), method, path, resourceType, status: result.status, outcome: 'responseDropped', principal: entry.principal, durationMs: Date.now() - started });
    res.removeAllListeners('finish');
    req.socket.destroy();
    return;
  }
  send(res, result.status, result.body, headers, method);
}

/** A collection's answer with only the items `visible` lets through (the rest of the body as it is). */
function onlyVisible(body: unknown, visible: (resourceId: string) => boolean): unknown {
  const value = (body as { value?: unknown } | undefined)?.value;
  if (!Array.isArray(value)) return body;
  return { ...(body as object), value: value.filter((item: { id?: unknown }) => typeof item?.id === 'string' && visible(item.id)) };
}

/** Audiences ARM accepts: Azure's public-cloud ARM audiences, and this emulator's own endpoint (any loopback name). */
function allowedAudience(aud: string, base: string): boolean {
  const a = aud.replace(/\/+$/, '').toLowerCase();
  if (['https://management.azure.com', 'https://management.core.windows.net'].includes(a)) return true;
  const port = new URL(base).port;
  return [base.toLowerCase(), `https://localhost:${port}`, `https://127.0.0.1:${port}`].includes(a);
}

type EntraHandler = (raw: Buffer, req: IncomingMessage, url: URL) => { status: number; body: unknown };

function entraRoute(o: FrontOptions, lower: string[], seg: string[], method: string): EntraHandler | undefined {
  const e = o.entra;
  const tenantError = (t: string) => ({
    status: 400,
    body: {
      error: 'invalid_tenant',
      error_description: `AADSTS90002: Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      error_codes: [90002],
    },
  });
  const tenantOk = (t: string) => e.isTenant(t) || ['common', 'organizations'].includes(t.toLowerCase());
  const key = lower.join('/');
  if (method === 'GET') {
    if (/^[^/]+\/v2\.0\/\.well-known\/openid-configuration$/.test(key) || /^[^/]+\/\.well-known\/openid-configuration$/.test(key)) {
      const v2 = lower[1] === 'v2.0';
      const tenant = e.isTenant(seg[0]) ? e.tenantId : seg[0];
      return () => (tenantOk(seg[0]) ? { status: 200, body: e.openIdConfiguration(tenant, v2) } : tenantError(seg[0]));
    }
    if (/^[^/]+\/discovery\/instance$/.test(key)) {
      return (_raw, _req, url) => ({ status: 200, body: e.instanceDiscovery(url.searchParams.get('authorization_endpoint')) });
    }
    if (/^[^/]+\/discovery\/(v2\.0\/)?keys$/.test(key)) {
      return () => (tenantOk(seg[0]) ? { status: 200, body: e.jwks() } : tenantError(seg[0]));
    }
  }
  if (method === 'POST' && (/^[^/]+\/oauth2\/v2\.0\/token$/.test(key) || /^[^/]+\/oauth2\/token$/.test(key))) {
    const v2 = lower[2] === 'v2.0';
    return (raw, req) => {
      const form = new URLSearchParams(raw.toString('utf8'));
      let basic: { id: string; secret: string } | undefined;
      const auth = req.headers.authorization;
      if (auth && /^Basic /i.test(auth)) {
        const [id, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
        basic = { id: decodeURIComponent(id), secret: decodeURIComponent(rest.join(':')) };
      }
      return e.token(seg[0], form, v2, basic);
    };
  }
  return undefined;
}

async function admin(o: FrontOptions, req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
  const headers = { 'Cache-Control': 'no-store' };
  if (!isLoopback(req.socket.remoteAddress)) {
    send(res, 403, { error: { code: 'Forbidden', message: 'The admin endpoint answers loopback clients only.' } }, headers, method);
    return;
  }
  let body: unknown;
  const raw = await readBody(req);
  if (raw.length) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      send(res, 400, { error: { code: 'InvalidRequestContent', message: 'The body must be JSON.' } }, headers, method);
      return;
    }
  }
  const a = o.admin;
  const route = `${method} ${url.pathname.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /admin':
        send(res, 200, {
          endpoints: [
            'GET /admin/info', 'GET /admin/resources', 'GET /admin/requests', 'DELETE /admin/requests', 'GET /admin/faults',
            'PUT /admin/faults (FaultOptions)', 'POST /admin/faults (FaultRule)', 'DELETE /admin/faults', 'GET /admin/throttling',
            'PUT /admin/throttling (false | {reads,writes,deletes})', 'PUT /admin/timing ({provisioningDelayMs,operationPollIntervalSeconds,retryAfterProfile})',
            'GET /admin/firewall', 'PUT /admin/firewall ({enforce})', 'POST /admin/servers/{name}/azure-change ({highAvailabilityMode,storageSizeGB})', 'POST /admin/servers/{name}/auto-start', 'POST /admin/reset', 'POST /admin/token ({clientId,resource,lifetimeSeconds})',
            'POST /admin/clients ({clientId,clientSecret,federatedCredentials,subscriptions,scopes})',
          ],
        }, headers, method);
        return;
      case 'GET /admin/info':
        send(res, 200, o.info(), headers, method);
        return;
      case 'GET /admin/resources':
        send(res, 200, a.resources(), headers, method);
        return;
      case 'GET /admin/requests': {
        const counts = a.requests();
        if (url.searchParams.get('log') === 'false') counts.log = [];
        send(res, 200, counts, headers, method);
        return;
      }
      case 'DELETE /admin/requests':
        a.resetRequests();
        send(res, 204, undefined, headers, method);
        return;
      case 'GET /admin/faults':
        send(res, 200, a.faults(), headers, method);
        return;
      case 'PUT /admin/faults':
        a.setFaults((body ?? {}) as FaultOptions);
        send(res, 200, a.faults(), headers, method);
        return;
      case 'POST /admin/faults':
        a.addFault(body as FaultRule);
        send(res, 200, a.faults(), headers, method);
        return;
      case 'DELETE /admin/faults':
        a.clearFaults();
        send(res, 204, undefined, headers, method);
        return;
      case 'GET /admin/throttling':
        send(res, 200, { throttling: a.throttling() }, headers, method);
        return;
      case 'PUT /admin/throttling': {
        const t = body as false | ThrottlingOptions | { enabled?: boolean };
        a.setThrottling(t === false || (typeof t === 'object' && t && 'enabled' in t && t.enabled === false) ? false : (t as ThrottlingOptions));
        send(res, 200, { throttling: a.throttling() }, headers, method);
        return;
      }
      case 'PUT /admin/timing':
        a.setTiming((body ?? {}) as { provisioningDelayMs?: number; operationPollIntervalSeconds?: number; retryAfterProfile?: RetryAfterProfile });
        send(res, 200, o.info(), headers, method);
        return;
      case 'GET /admin/firewall':
        send(res, 200, { enforce: a.firewallEnforcement() }, headers, method);
        return;
      case 'PUT /admin/firewall': {
        const enforce = (body as { enforce?: unknown } | undefined)?.enforce;
        if (typeof enforce !== 'boolean') throw new Error('body must be {"enforce": true|false}');
        await a.setFirewallEnforcement(enforce);
        send(res, 200, { enforce: a.firewallEnforcement() }, headers, method);
        return;
      }
      case 'POST /admin/reset':
        await a.reset();
        send(res, 204, undefined, headers, method);
        return;
      case 'POST /admin/token': {
        const b = (body ?? {}) as { clientId?: string; resource?: string; lifetimeSeconds?: number; tenantId?: string; objectId?: string };
        send(res, 200, { access_token: a.issueToken(b) }, headers, method);
        return;
      }
      case 'POST /admin/clients':
        a.addClient(body as { clientId: string; clientSecret?: string });
        send(res, 204, undefined, headers, method);
        return;
      default: {
        const started = /^POST \/admin\/servers\/([^/]+)\/auto-start$/.exec(route);
        if (started) {
          send(res, 200, await a.autoStart(decodeURIComponent(started[1])), headers, method);
          return;
        }
        const change = /^POST \/admin\/servers\/([^/]+)\/azure-change$/.exec(route);
        if (change) {
          send(res, 200, a.azureChange(decodeURIComponent(change[1]), (body ?? {}) as Parameters<EmulatorAdmin['azureChange']>[1]), headers, method);
          return;
        }
        send(res, 404, { error: { code: 'NotFound', message: `No admin route '${route}'. GET /admin lists them.` } }, headers, method);
      }
    }
  } catch (e) {
    send(res, 400, { error: { code: 'BadRequest', message: (e as Error).message } }, headers, method);
  }
}
