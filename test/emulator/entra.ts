/**
 * A small Microsoft Entra ID (Azure AD) token service: enough of the v2.0 endpoints for MSAL (and so @azure/identity's
 * ClientSecretCredential and WorkloadIdentityCredential) to get tokens, and token validation for the ARM side.
 *
 * Tokens are RS256 JWTs signed with a key made at start; claims follow Azure's v1 access tokens for ARM
 * (iss https://sts.windows.net/{tenant}/, tid, oid, appid, aud = the resource of the `.default` scope).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomUUID, sign, timingSafeEqual, verify } from 'node:crypto';
import { ROOT_SCOPE } from './authorization';

export interface EmulatorClient {
  clientId: string;
  /** Secret for client_credentials with client_secret. Without it the client can only use a client assertion. */
  clientSecret?: string;
  /**
   * Federated identity credentials accepted as client_assertion (workload identity). Undefined: any well-formed,
   * unexpired JWT whose audience is api://AzureADTokenExchange is accepted. Each field left out matches anything.
   */
  federatedCredentials?: { issuer?: string; subject?: string; audience?: string }[];
  /**
   * Subscriptions on which the client's service principal holds a role: each is an assignment at the scope
   * /subscriptions/<id> (see `scopes`).
   */
  subscriptions?: string[];
  /**
   * Scopes of the client's other role assignments: resource IDs of resource groups or resources (or subscriptions),
   * each covering itself and everything under it (authorization.ts). Both this and `subscriptions` undefined: a role
   * on every subscription of the emulator. Elsewhere ARM answers 403 AuthorizationFailed.
   */
  scopes?: string[];
}

export interface TokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  appid: string;
  appidacr: string;
  idtyp: string;
  ver: string;
  uti: string;
  [k: string]: unknown;
}

export interface OAuthError {
  status: number;
  body: Record<string, unknown>;
}

/** The resource (audience) of tokens for Azure Database for PostgreSQL: scope `${OSSRDBMS_RESOURCE}/.default`. */
export const OSSRDBMS_RESOURCE = 'https://ossrdbms-aad.database.windows.net';

/** Why a token presented to PostgreSQL is refused (each kind has its own error text, see pg-front.ts). */
export type DatabaseTokenRefusal = 'format' | 'invalid' | 'expired' | 'audience' | 'tenant';

const B64URL = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof header !== 'object' || typeof payload !== 'object' || !header || !payload) return undefined;
    return { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
  } catch {
    return undefined;
  }
}

/** A stable GUID-shaped id derived from a string (the service principal's object id for a client id). */
export function guidFrom(s: string): string {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function aadError(status: number, error: string, aadsts: number, description: string): OAuthError {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
    },
  };
}

export class EntraService {
  readonly keyId: string;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  private readonly clients = new Map<string, EmulatorClient>();

  constructor(readonly tenantId: string, clients: EmulatorClient[], private readonly baseUrl: () => string) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    this.publicKey = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
    this.keyId = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 27);
    for (const c of clients) this.clients.set(c.clientId.toLowerCase(), c);
  }

  get issuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }

  listClients(): EmulatorClient[] {
    return [...this.clients.values()];
  }

  addClient(c: EmulatorClient): void {
    this.clients.set(c.clientId.toLowerCase(), c);
  }

  /** The scopes of the role assignments of the client `appId` (an unknown client: none). */
  assignmentScopes(appId: string): string[] {
    const client = this.clients.get(appId.toLowerCase());
    if (!client) return [];
    if (client.subscriptions === undefined && client.scopes === undefined) return [ROOT_SCOPE];
    return [...(client.subscriptions ?? []).map((s) => `/subscriptions/${s}`), ...(client.scopes ?? [])];
  }

  isTenant(t: string): boolean {
    return t.toLowerCase() === this.tenantId.toLowerCase();
  }

  openIdConfiguration(tenant: string, v2: boolean): Record<string, unknown> {
    const base = this.baseUrl();
    const t = tenant;
    return {
      token_endpoint: v2 ? `${base}/${t}/oauth2/v2.0/token` : `${base}/${t}/oauth2/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: v2 ? `${base}/${t}/discovery/v2.0/keys` : `${base}/${t}/discovery/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: v2 ? `${base}/${t}/v2.0` : `https://sts.windows.net/${t}/`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${base}/oidc/userinfo`,
      authorization_endpoint: v2 ? `${base}/${t}/oauth2/v2.0/authorize` : `${base}/${t}/oauth2/authorize`,
      device_authorization_endpoint: `${base}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: v2 ? `${base}/${t}/oauth2/v2.0/logout` : `${base}/${t}/oauth2/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'appid'],
      tenant_region_scope: 'NA',
      cloud_instance_name: new URL(base).host,
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  instanceDiscovery(authorizationEndpoint: string | null): Record<string, unknown> {
    const host = new URL(this.baseUrl()).host;
    let tenant = this.tenantId;
    if (authorizationEndpoint) {
      try {
        tenant = new URL(authorizationEndpoint).pathname.split('/').filter(Boolean)[0] ?? tenant;
      } catch {
        // keep the default tenant
      }
    }
    return {
      'tenant_discovery_endpoint': `${this.baseUrl()}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      'metadata': [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  }

  jwks(): Record<string, unknown> {
    const jwk = this.publicKey.export({ format: 'jwk' }) as Record<string, string>;
    return { keys: [{ kty: 'RSA', use: 'sig', kid: this.keyId, x5t: this.keyId, n: jwk.n, e: jwk.e, issuer: this.issuer }] };
  }

  private signJwt(payload: Record<string, unknown>): string {
    const header = { typ: 'JWT', alg: 'RS256', x5t: this.keyId, kid: this.keyId };
    const input = `${B64URL(JSON.stringify(header))}.${B64URL(JSON.stringify(payload))}`;
    const sig = sign('RSA-SHA256', Buffer.from(input), this.privateKey);
    return `${input}.${B64URL(sig)}`;
  }

  /** The object id of a client's service principal in this tenant (the `oid` of its tokens). */
  objectIdOf(clientId: string): string {
    return guidFrom(`${this.tenantId}/${clientId.toLowerCase()}`);
  }

  /**
   * Issues an access token directly (for tests that need one without going through the token endpoint). `overrides`
   * makes tokens Azure would not issue to this client: another tenant (tid/iss), another object id, or one already
   * expired (a negative lifetime).
   */
  issueToken(clientId: string, resource: string, lifetimeSeconds = 3600, acr: '1' | '2' = '1', overrides: { tenantId?: string; objectId?: string } = {}):
  { token: string; claims: TokenClaims } {
    const now = Math.floor(Date.now() / 1000);
    const tenantId = overrides.tenantId ?? this.tenantId;
    const oid = overrides.objectId ?? guidFrom(`${tenantId}/${clientId.toLowerCase()}`);
    const iss = `https://sts.windows.net/${tenantId}/`;
    const claims: TokenClaims = {
      aud: resource,
      iss,
      iat: Math.min(now, now + lifetimeSeconds - 60),
      nbf: Math.min(now, now + lifetimeSeconds) - 5,
      exp: now + lifetimeSeconds,
      aio: B64URL(Buffer.from(randomUUID())),
      appid: clientId,
      appidacr: acr,
      azp: clientId,
      idp: iss,
      idtyp: 'app',
      oid,
      rh: '0.emulator.',
      sub: oid,
      tid: tenantId,
      uti: B64URL(Buffer.from(randomUUID().replace(/-/g, ''), 'hex')),
      ver: '1.0',
      xms_tcdt: 1_600_000_000,
    };
    return { token: this.signJwt(claims), claims };
  }

  /**
   * The token endpoint: `form` is the parsed application/x-www-form-urlencoded body. v1 uses `resource`, v2 `scope`.
   * Returns the JSON answer and its status.
   */
  token(tenant: string, form: URLSearchParams, v2: boolean, basicAuth?: { id: string; secret: string }):
  { status: number; body: Record<string, unknown> } {
    if (!this.isTenant(tenant)) {
      return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    const grantType = form.get('grant_type');
    if (grantType !== 'client_credentials') {
      return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType ?? ''}'. The emulator supports client_credentials only.`);
    }
    const clientId = form.get('client_id') ?? basicAuth?.id;
    if (!clientId) {
      return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    }
    const client = this.clients.get(clientId.toLowerCase());
    if (!client) {
      return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    let resource: string;
    if (v2) {
      const scope = (form.get('scope') ?? '').split(' ').filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
      if (scope.length !== 1 || !scope[0].endsWith('/.default')) {
        return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${form.get('scope') ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
      }
      resource = scope[0].slice(0, -'/.default'.length);
    } else {
      resource = form.get('resource') ?? '';
      if (!resource) return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'resource'.");
    }

    const secret = form.get('client_secret') ?? basicAuth?.secret;
    const assertion = form.get('client_assertion');
    let acr: '1' | '2';
    if (secret !== null && secret !== undefined) {
      if (!client.clientSecret || !safeEqual(secret, client.clientSecret)) {
        return aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.clientId}'.`);
      }
      acr = '1';
    } else if (assertion) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return aadError(400, 'invalid_request', 700023, 'Client assertion type is invalid. It must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.');
      }
      const err = this.checkFederatedAssertion(client, assertion);
      if (err) return err;
      acr = '2';
    } else {
      return aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const lifetime = 3599;
    const { token } = this.issueToken(client.clientId, resource, lifetime + 1, acr);
    const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token };
    if (!v2) {
      const now = Math.floor(Date.now() / 1000);
      Object.assign(body, {
        expires_in: String(lifetime), ext_expires_in: String(lifetime), expires_on: String(now + lifetime), not_before: String(now), resource,
      });
    }
    return { status: 200, body };
  }

  private checkFederatedAssertion(client: EmulatorClient, assertion: string): OAuthError | undefined {
    const jwt = decodeJwt(assertion);
    if (!jwt) return aadError(400, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    const p = jwt.payload;
    const now = Math.floor(Date.now() / 1000);
    if (typeof p.exp !== 'number' || p.exp + 300 < now || (typeof p.nbf === 'number' && p.nbf - 300 > now)) {
      return aadError(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    }
    const auds = Array.isArray(p.aud) ? p.aud.map(String) : [String(p.aud ?? '')];
    const iss = String(p.iss ?? '');
    const sub = String(p.sub ?? '');
    const creds = client.federatedCredentials ?? [{ audience: 'api://AzureADTokenExchange' }];
    const audOk = creds.filter((c) => auds.includes(c.audience ?? 'api://AzureADTokenExchange'));
    if (audOk.length === 0) {
      return aadError(400, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${auds.join(',')}'.`);
    }
    const issOk = audOk.filter((c) => c.issuer === undefined || c.issuer === iss);
    if (issOk.length === 0) {
      return aadError(400, 'invalid_client', 700211, `No matching federated identity record found for presented assertion issuer '${iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`);
    }
    if (!issOk.some((c) => c.subject === undefined || c.subject === sub)) {
      return aadError(400, 'invalid_client', 700213, `No matching federated identity record found for presented assertion subject '${sub}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.`);
    }
    return undefined;
  }

  /**
   * Validates an ARM bearer token. Returns the claims, or the ARM error (code/message) and WWW-Authenticate error
   * description when it is not acceptable.
   */
  validateArmToken(token: string, allowedAudiences: (aud: string) => boolean): { claims: TokenClaims } | { code: string; message: string } {
    const jwt = decodeJwt(token);
    if (!jwt || jwt.header.alg !== 'RS256') {
      return { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' };
    }
    if (!verify('RSA-SHA256', Buffer.from(jwt.signingInput), this.publicKey, jwt.signature)) {
      return { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' };
    }
    const c = jwt.payload as TokenClaims;
    const now = Math.floor(Date.now() / 1000);
    if (typeof c.exp !== 'number' || c.exp < now) {
      const fmt = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d+Z$/, '').replace('T', 'T');
      return {
        code: 'ExpiredAuthenticationToken',
        message: `The access token expiry UTC time '${fmt(Number(c.exp) || 0)}' is earlier than current UTC time '${fmt(now)}'.`,
      };
    }
    if (typeof c.nbf === 'number' && c.nbf - 300 > now) {
      return { code: 'InvalidAuthenticationToken', message: 'The access token is not yet valid.' };
    }
    if (String(c.tid ?? '').toLowerCase() !== this.tenantId.toLowerCase()) {
      return {
        code: 'InvalidAuthenticationTokenTenant',
        message: `The access token is from the wrong issuer '${String(c.iss)}'. It must match the tenant '${this.issuer}' associated with this subscription. Please use the authority (URL) '${this.baseUrl()}/${this.tenantId}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
      };
    }
    if (!allowedAudiences(String(c.aud ?? ''))) {
      return {
        code: 'InvalidAuthenticationTokenAudience',
        message: `The access token has been obtained for wrong audience or resource '${String(c.aud)}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com', or this emulator's endpoint '${this.baseUrl()}'.`,
      };
    }
    return { claims: c };
  }

  /**
   * Validates a token presented as a PostgreSQL password (Microsoft Entra sign-in to a flexible server): signed by
   * this service, within its lifetime, for the audience of Azure's OSS RDBMS resource, from `tenantId`. Returns the
   * claims, or why it is refused: `kind` picks the client's error, `refusal` is for the emulator's log.
   */
  validateDatabaseToken(token: string, tenantId: string): { claims: TokenClaims } | { kind: DatabaseTokenRefusal; refusal: string } {
    const jwt = decodeJwt(token);
    if (!jwt || jwt.header.alg !== 'RS256') return { kind: 'format', refusal: 'not a JWT signed with RS256' };
    if (!verify('RSA-SHA256', Buffer.from(jwt.signingInput), this.publicKey, jwt.signature)) return { kind: 'invalid', refusal: 'bad signature' };
    const c = jwt.payload as TokenClaims;
    const now = Math.floor(Date.now() / 1000);
    if (typeof c.exp !== 'number' || c.exp < now) return { kind: 'expired', refusal: `expired at ${new Date(Number(c.exp) * 1000 || 0).toISOString()}` };
    if (typeof c.nbf === 'number' && c.nbf - 300 > now) return { kind: 'invalid', refusal: 'not yet valid' };
    if (String(c.aud ?? '').replace(/\/+$/, '').toLowerCase() !== OSSRDBMS_RESOURCE) {
      return { kind: 'audience', refusal: `audience '${String(c.aud)}' is not ${OSSRDBMS_RESOURCE}` };
    }
    if (String(c.tid ?? '').toLowerCase() !== tenantId.toLowerCase()) {
      return { kind: 'tenant', refusal: `tenant '${String(c.tid)}' is not the server's tenant '${tenantId}'` };
    }
    if (typeof c.oid !== 'string' || !c.oid) return { kind: 'invalid', refusal: 'no oid claim' };
    return { claims: c };
  }
}
