/**
 * The PostgreSQL wire-protocol front of an emulated flexible server: what clients reach on the server's address, port
 * 5432. The real PostgreSQL listens on the same address, another port; the front decides who signs in, as Azure's
 * gateway and pgaadauth do, then relays every byte.
 *
 * Per connection: SSLRequest -> TLS with the server's certificate (so clients verify the emulator CA and the host
 * name); the startup message goes to PostgreSQL over a connection from the client's own address (pg_hba, i.e. the
 * firewall, sees the real client) and with the client's choice of encryption (so require_secure_transport stays
 * PostgreSQL's decision, with its own errors). The front then asks the client for its password in clear text (over
 * TLS), as Azure does when Microsoft Entra sign-in may be used, and:
 * - a JWT, with Entra sign-in enabled: valid signature, lifetime, audience (OSS RDBMS), tenant (the server's) and an
 *   `oid` equal to the object id the role is mapped to; then the front signs in to PostgreSQL as that role with a
 *   credential only it knows;
 * - anything else: refused when password sign-in is disabled or the role is an Entra role; else PostgreSQL checks it
 *   (SCRAM, done by the front with the client's password).
 * Refusals are FATAL with Azure's texts where public issues quote them (TOKEN_ERRORS), else PostgreSQL's
 * "password authentication failed for user"; SQLSTATE 28P01 for all (Azure's codes are not public). The emulator's
 * log (EMULATOR_DEBUG=1) says why each refusal happened.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { DatabaseTokenRefusal } from './entra';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const HANDSHAKE_TIMEOUT_MS = 60_000;

/**
 * Azure's FATAL texts for refused tokens, as quoted in public issues: expired (darold/ora2pg#1851), audience
 * (microsoft/azuredatastudio-postgresql#505), format (Azure-Samples/rag-postgres-openai-python#161), a token that
 * does not validate (cyrilgdn/terraform-provider-postgresql#60). No text is public for another tenant, or for a
 * token of another identity: those get PostgreSQL's password failure.
 */
export const TOKEN_ERRORS: Record<Exclude<DatabaseTokenRefusal, 'tenant'>, string> = {
  expired: 'The access token has expired. Please acquire a new token and retry.',
  audience: 'The access token does not have a valid audience claim. Please acquire a new token for the resource "https://ossrdbms-aad.database.windows.net".',
  format: 'The access token has invalid format. Please ensure the token is passed exactly as returned by the authentication endpoint and retry.',
  invalid: 'An error occurred while validating the access token. Please acquire a new token and retry.',
};

export interface SignInPolicy {
  activeDirectoryAuth: boolean;
  passwordAuth: boolean;
  /** The tenant whose tokens the server accepts. */
  tenantId: string;
}

export interface PgFrontOptions {
  address: string;
  port: number;
  /** Where the real PostgreSQL listens (same address). */
  backendPort: number;
  certPem: string;
  keyPem: string;
  caPem: string;
  policy: () => SignInPolicy;
  validateToken: (token: string, tenantId: string) => { claims: { oid: string } } | { kind: DatabaseTokenRefusal; refusal: string };
  /** The Entra object id a role is mapped to; undefined for a role without one (a password role). */
  objectIdOf: (role: string) => Promise<string | undefined>;
  /** Makes `password` the role's password in PostgreSQL (the front's own credential for token sign-ins). */
  setInternalPassword: (role: string, password: string) => Promise<void>;
  log: (msg: string) => void;
}

/** Buffers a socket's bytes and hands out whole protocol messages, until detached. */
class Wire {
  private buf: Buffer = Buffer.alloc(0);
  private waiter?: () => void;
  private closed = false;
  private error?: Error;
  private readonly listeners: { data: (d: Buffer) => void; close: () => void; error: (e: Error) => void };

  constructor(readonly socket: net.Socket) {
    this.listeners = {
      data: (d) => {
        this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
        this.wake();
      },
      close: () => {
        this.closed = true;
        this.wake();
      },
      error: (e) => {
        this.error = e;
        this.listeners.close();
      },
    };
    socket.on('data', this.listeners.data);
    socket.on('end', this.listeners.close);
    socket.on('close', this.listeners.close);
    socket.on('error', this.listeners.error);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.closed) throw this.error ?? new Error('connection closed');
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** A startup-phase packet (length, then code and body): returns code and body. */
  async startupPacket(): Promise<{ code: number; body: Buffer; raw: Buffer }> {
    const head = await this.take(4);
    const len = head.readInt32BE(0);
    if (len < 8 || len > 10_000) throw new Error(`invalid startup packet length ${len}`);
    const rest = await this.take(len - 4);
    return { code: rest.readInt32BE(0), body: rest.subarray(4), raw: Buffer.concat([head, rest]) };
  }

  async message(): Promise<{ type: string; body: Buffer; raw: Buffer }> {
    const head = await this.take(5);
    const len = head.readInt32BE(1);
    if (len < 4 || len > 16_777_216) throw new Error(`invalid message length ${len}`);
    const body = await this.take(len - 4);
    return { type: String.fromCharCode(head[0]), body, raw: Buffer.concat([head, body]) };
  }

  /** Stops listening; returns the bytes read but not consumed. */
  detach(): Buffer {
    this.socket.off('data', this.listeners.data);
    this.socket.off('end', this.listeners.close);
    this.socket.off('close', this.listeners.close);
    this.socket.off('error', this.listeners.error);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
}

/** A FATAL ErrorResponse, as PostgreSQL sends it during authentication. */
export function fatal(code: string, text: string): Buffer {
  return message('E', Buffer.concat([cstr('SFATAL'), cstr('VFATAL'), cstr(`C${code}`), cstr(`M${text}`), Buffer.from([0])]));
}

function parseStartup(body: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  const parts = body.toString('utf8').split('\0');
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) params.set(parts[i], parts[i + 1]);
  return params;
}

function startupMessage(params: Map<string, string>): Buffer {
  const body = Buffer.concat([int32(PROTOCOL_3), ...[...params].flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** Three base64url parts whose first is a JSON header: what a token looks like (a password rarely does). */
function looksLikeJwt(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return false;
  try {
    return typeof JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) === 'object';
  } catch {
    return false;
  }
}

class Refusal extends Error {}

export class PgFront {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly secret = randomBytes(32);
  private readonly secureContext: tls.SecureContext;

  constructor(private readonly o: PgFrontOptions) {
    this.secureContext = tls.createSecureContext({ cert: o.certPem, key: o.keyPem, minVersion: 'TLSv1.2' });
  }

  get listening(): boolean {
    return !!this.server?.listening;
  }

  async start(): Promise<void> {
    if (this.server) return;
    // No Nagle: the handshake is many small messages each waiting for an answer.
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.o.address, port: this.o.port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => this.o.log(`PostgreSQL front on ${this.o.address}:${this.o.port}: ${e.message}`));
    this.server = server;
  }

  /** Stops listening and drops every session (as a PostgreSQL shutdown does). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  private accept(socket: net.Socket): void {
    this.track(socket);
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), HANDSHAKE_TIMEOUT_MS);
    this.session(socket).catch((e) => {
      // A refusal is on its way to the client (end() flushes it, then closes).
      if (e instanceof Refusal) return;
      this.o.log(`PostgreSQL front on ${this.o.address}: ${(e as Error).message}`);
      socket.destroy();
    }).finally(() => clearTimeout(timer));
  }

  /** The credential the front signs in with for a role (derived, so never stored). */
  private internalPassword(role: string): string {
    return createHmac('sha256', this.secret).update(role).digest('base64url');
  }

  private async session(raw: net.Socket): Promise<void> {
    const clientAddress = (raw.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    let client: net.Socket = raw;
    let wire = new Wire(raw);
    let encrypted = false;
    let packet = await wire.startupPacket();
    for (;;) {
      if (packet.code === SSL_REQUEST && !encrypted) {
        wire.detach();
        raw.write('S');
        const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.secureContext });
        secure.on('error', () => undefined);
        this.track(secure);
        await new Promise<void>((resolve, reject) => {
          secure.once('secure', resolve);
          secure.once('error', reject);
          secure.once('close', () => reject(new Error('TLS handshake did not complete')));
        });
        client = secure;
        wire = new Wire(secure);
        encrypted = true;
      } else if (packet.code === GSSENC_REQUEST) {
        client.write('N');
      } else if (packet.code === CANCEL_REQUEST) {
        // The key is the backend's (BackendKeyData is relayed), so PostgreSQL can act on it as is.
        const be = net.connect({ host: this.o.address, port: this.o.backendPort });
        be.on('error', () => undefined);
        be.end(packet.raw);
        client.destroy();
        return;
      } else if (packet.code === PROTOCOL_3) {
        break;
      } else {
        client.end(fatal('0A000', `unsupported frontend protocol ${Math.floor(packet.code / 65536)}.${packet.code % 65536}: server supports 3.0 to 3.0`));
        return;
      }
      packet = await wire.startupPacket();
    }
    const params = parseStartup(packet.body);
    const user = params.get('user') ?? '';
    if (!user) {
      client.end(fatal('28000', 'no PostgreSQL user name specified in startup packet'));
      return;
    }

    let backend = await this.connectBackend(encrypted, clientAddress);
    const closeBoth = () => {
      client.destroy();
      backend.destroy();
    };
    try {
      let be = new Wire(backend);
      backend.write(startupMessage(params));
      let msg = await be.message();
      if (msg.type === 'E') {
        // Refused before authentication (pg_hba: the firewall, or TLS required): PostgreSQL's own answer.
        client.end(msg.raw);
        backend.destroy();
        return;
      }
      client.write(message('R', int32(3)));
      const reply = await wire.message();
      if (reply.type !== 'p') throw new Error(`expected a password message, got '${reply.type}'`);
      const presented = reply.body.subarray(0, Math.max(0, reply.body.indexOf(0))).toString('utf8');
      const { password, viaToken } = await this.decide(user, presented, client);
      if (viaToken) {
        // PostgreSQL read the role's verifier when it asked for SCRAM, before the front set its credential: sign in
        // again on a new connection.
        be.detach();
        backend.destroy();
        backend = await this.connectBackend(encrypted, clientAddress);
        be = new Wire(backend);
        backend.write(startupMessage(params));
        msg = await be.message();
      }

      // Authenticate to PostgreSQL as the client would have.
      const nonce = randomBytes(18).toString('base64');
      let scram: { clientFirstBare: string; serverSignature?: Buffer } | undefined;
      for (;;) {
        if (msg.type === 'E') {
          client.end(msg.raw);
          backend.destroy();
          return;
        }
        if (msg.type !== 'R') throw new Error(`unexpected message '${msg.type}' during authentication`);
        const code = msg.body.readInt32BE(0);
        if (code === 0) break;
        if (code === 3) {
          backend.write(message('p', cstr(password)));
        } else if (code === 5) {
          const inner = createHash('md5').update(password + user).digest('hex');
          backend.write(message('p', cstr(`md5${createHash('md5').update(inner).update(msg.body.subarray(4, 8)).digest('hex')}`)));
        } else if (code === 10) {
          const mechanisms = msg.body.subarray(4).toString('utf8').split('\0');
          if (!mechanisms.includes('SCRAM-SHA-256')) throw new Error(`no supported SASL mechanism in ${mechanisms.join(',')}`);
          scram = { clientFirstBare: `n=,r=${nonce}` };
          const first = Buffer.from(`n,,${scram.clientFirstBare}`);
          backend.write(message('p', Buffer.concat([cstr('SCRAM-SHA-256'), int32(first.length), first])));
        } else if (code === 11 && scram) {
          const serverFirst = msg.body.subarray(4).toString('utf8');
          const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as [string, string]));
          const serverNonce = attrs.get('r') ?? '';
          if (!serverNonce.startsWith(nonce)) throw new Error('SCRAM: server nonce does not extend ours');
          const salted = pbkdf2Sync(password.normalize('NFKC'), Buffer.from(attrs.get('s') ?? '', 'base64'), Number(attrs.get('i')), 32, 'sha256');
          const clientKey = createHmac('sha256', salted).update('Client Key').digest();
          const storedKey = createHash('sha256').update(clientKey).digest();
          const withoutProof = `c=biws,r=${serverNonce}`;
          const authMessage = `${scram.clientFirstBare},${serverFirst},${withoutProof}`;
          const signature = createHmac('sha256', storedKey).update(authMessage).digest();
          // eslint-disable-next-line no-bitwise -- SCRAM's ClientProof is ClientKey XOR ClientSignature
          const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
          const serverKey = createHmac('sha256', salted).update('Server Key').digest();
          scram.serverSignature = createHmac('sha256', serverKey).update(authMessage).digest();
          backend.write(message('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`)));
        } else if (code === 12 && scram?.serverSignature) {
          const v = Buffer.from(msg.body.subarray(4).toString('utf8').replace(/^v=/, ''), 'base64');
          if (v.length !== scram.serverSignature.length || !timingSafeEqual(v, scram.serverSignature)) throw new Error('SCRAM: bad server signature');
        } else {
          throw new Error(`unsupported authentication request ${code}`);
        }
        msg = await be.message();
      }
      client.write(message('R', int32(0)));
      const fromClient = wire.detach();
      const fromBackend = be.detach();
      if (fromBackend.length) client.write(fromBackend);
      if (fromClient.length) backend.write(fromClient);
      client.on('error', closeBoth).on('close', closeBoth);
      backend.on('error', closeBoth).on('close', closeBoth);
      client.pipe(backend);
      backend.pipe(client);
    } catch (e) {
      if (e instanceof Refusal) backend.destroy();
      else closeBoth();
      throw e;
    }
  }

  /** Whether the presented password may sign in as `user`; the password to give PostgreSQL. Refuses otherwise. */
  private async decide(user: string, presented: string, client: net.Socket): Promise<{ password: string; viaToken: boolean }> {
    const policy = this.o.policy();
    const refuse = (why: string, text = `password authentication failed for user "${user}"`): never => {
      this.o.log(`sign-in as "${user}" to ${this.o.address} refused: ${why}`);
      client.end(fatal('28P01', text));
      throw new Refusal(why);
    };
    // With Entra sign-in off no Entra role may sign in, and none can by password (only the front knows their
    // credential): the mapping need not be looked up.
    const objectId = policy.activeDirectoryAuth ? await this.o.objectIdOf(user) : undefined;
    if (policy.activeDirectoryAuth && looksLikeJwt(presented)) {
      const v = this.o.validateToken(presented, policy.tenantId);
      if ('refusal' in v) return refuse(`token: ${v.refusal}`, v.kind === 'tenant' ? undefined : TOKEN_ERRORS[v.kind]);
      if (!objectId) return refuse('the role is not mapped to a Microsoft Entra principal');
      if (objectId.toLowerCase() !== v.claims.oid.toLowerCase()) return refuse(`the token's oid ${v.claims.oid} is not the role's (${objectId})`);
      const password = this.internalPassword(user);
      await this.o.setInternalPassword(user, password);
      return { password, viaToken: true };
    }
    if (!policy.passwordAuth) return refuse('password sign-in is disabled on this server');
    // Azure reads an Entra role's password as a token.
    if (objectId) return refuse('a Microsoft Entra role signs in with a token only', TOKEN_ERRORS.format);
    return { password: presented, viaToken: false };
  }

  private async connectBackend(encrypted: boolean, clientAddress: string): Promise<net.Socket> {
    // From the client's own address, so pg_hba (the firewall rules) judges the real client.
    const local = net.isIPv4(clientAddress) ? clientAddress : undefined;
    const plain = net.connect({ host: this.o.address, port: this.o.backendPort, localAddress: local, noDelay: true });
    plain.on('error', () => undefined);
    this.track(plain);
    await new Promise<void>((resolve, reject) => {
      plain.once('connect', resolve);
      plain.once('error', reject);
    });
    if (!encrypted) return plain;
    const wire = new Wire(plain);
    plain.write(Buffer.concat([int32(8), int32(SSL_REQUEST)]));
    const answer = (await wire.take(1)).toString('latin1');
    wire.detach();
    if (answer !== 'S') throw new Error(`PostgreSQL refused TLS (answered '${answer}')`);
    const secure = tls.connect({ socket: plain, ca: this.o.caPem, checkServerIdentity: () => undefined });
    secure.on('error', () => undefined);
    this.track(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    return secure;
  }
}
