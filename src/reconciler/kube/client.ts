/**
 * A small Kubernetes REST client on node:https. kubeconfig.ts says where the API server is and supplies TLS options
 * and the Authorization header for every request; this module owns the HTTP layer, so that watches are long-lived
 * streams we control (timeouts, cut connections, 410 Gone).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { inClusterKubeConfig, KubeConfig, kubeConfigFromFiles } from './kubeconfig';

export { KubeConfig } from './kubeconfig';

export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

/** A non-2xx answer of the API server, with its metav1.Status reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${reason}: ${message}`);
    this.name = 'KubeApiError';
  }
}

export function isKubeError(err: unknown, ...codes: number[]): err is KubeApiError {
  return err instanceof KubeApiError && (codes.length === 0 || codes.includes(err.statusCode));
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** Default application/json; patches pass application/json-patch+json or application/merge-patch+json. */
  readonly contentType?: string;
  /** Socket inactivity limit (default 30 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface KubeClientOptions {
  /** Called once per response (or transport error, code '<error>'), for rest_client_requests_total. */
  readonly onResponse?: (method: string, code: string) => void;
  readonly userAgent?: string;
}

/** What a watch request returns: the response stream and a way to cut it. */
export interface WatchStream {
  readonly response: http.IncomingMessage;
  abort(): void;
}

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly server: URL;
  private readonly onResponse?: (method: string, code: string) => void;
  private readonly userAgent: string;
  private agent?: https.Agent;
  private agentTls?: Pick<https.RequestOptions, 'ca' | 'cert' | 'key' | 'servername' | 'rejectUnauthorized'>;

  constructor(kc: KubeConfig, opts: KubeClientOptions = {}) {
    this.kubeConfig = kc;
    this.server = new URL(kc.server);
    this.onResponse = opts.onResponse;
    this.userAgent = opts.userAgent ?? `cdk8s-azure-reconciler/${os.hostname()}`;
  }

  /** The namespace of the kubeconfig's current context (in-cluster: the ServiceAccount's), if any. */
  get contextNamespace(): string | undefined {
    return this.kubeConfig.namespace;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const { responded } = await this.send(method, path, opts);
    const res = await responded;
    const body = await readBody(res);
    const code = res.statusCode ?? 0;
    this.onResponse?.(method, String(code));
    if (code < 200 || code > 299) throw toApiError(code, body, method, path);
    return (body.length ? JSON.parse(body) : undefined) as T;
  }

  /**
   * Starts a watch (or any streaming GET). Resolves once the server answered 200 with the response stream;
   * rejects with KubeApiError on another status. `idleTimeoutMs` cuts a connection on which nothing arrived for
   * that long (a half-open TCP connection otherwise hangs forever).
   */
  async stream(path: string, query: Query, idleTimeoutMs: number): Promise<WatchStream> {
    const { req, responded } = await this.send('GET', path, { query, timeoutMs: idleTimeoutMs });
    const res = await responded;
    const code = res.statusCode ?? 0;
    if (code !== 200) {
      const body = await readBody(res);
      this.onResponse?.('WATCH', String(code));
      throw toApiError(code, body, 'GET', path);
    }
    this.onResponse?.('WATCH', '200');
    return {
      response: res,
      abort: () => req.destroy(),
    };
  }

  private async send(
    method: string,
    path: string,
    opts: RequestOptions,
  ): Promise<{ req: http.ClientRequest; responded: Promise<http.IncomingMessage> }> {
    const url = new URL(this.server.toString().replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { 'Accept': 'application/json', 'User-Agent': this.userAgent };
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const reqOpts: https.RequestOptions = { method, headers };
    // TLS material and a fresh Authorization header (rotating in-cluster tokens, exec plugins).
    await this.kubeConfig.apply(reqOpts);
    const mod = url.protocol === 'http:' ? http : https;
    if (mod === https) reqOpts.agent = this.keepAliveAgent(reqOpts);
    const req = mod.request(url, reqOpts);
    const responded = new Promise<http.IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      let failed = false;
      // `on`, not `once`: a request destroyed after its response began emits 'error' again, and an 'error' event
      // without a listener would crash the process. The response stream reports those to its reader.
      req.on('error', (err) => {
        if (failed) return;
        failed = true;
        this.onResponse?.(method, '<error>');
        reject(err);
      });
    });
    req.setTimeout(opts.timeoutMs ?? 30_000, () => {
      req.destroy(new Error(`${method} ${path}: no data for ${opts.timeoutMs ?? 30_000} ms`));
    });
    if (opts.signal) {
      if (opts.signal.aborted) req.destroy(new Error(`${method} ${path}: aborted`));
      opts.signal.addEventListener('abort', () => req.destroy(new Error(`${method} ${path}: aborted`)), { once: true });
    }
    req.end(payload);
    return { req, responded };
  }

  /**
   * Keeps connections alive (a TLS handshake per request would cost more than the request), rebuilt when the TLS
   * material changes (e.g. an exec plugin returns a new client certificate). The material moves from the request's
   * options to the agent: left on the request, Node would fold the certificates into the agent's pool key, a string of
   * several kB built for every request.
   */
  private keepAliveAgent(o: https.RequestOptions): https.Agent {
    const tls = { ca: o.ca, cert: o.cert, key: o.key, servername: o.servername, rejectUnauthorized: o.rejectUnauthorized };
    delete o.ca;
    delete o.cert;
    delete o.key;
    delete o.servername;
    delete o.rejectUnauthorized;
    const last = this.agentTls;
    const same = last !== undefined && (Object.keys(tls) as Array<keyof typeof tls>).every((k) => sameMaterial(last[k], tls[k]));
    if (!this.agent || !same) {
      this.agent?.destroy();
      this.agent = new https.Agent({ keepAlive: true, maxSockets: 32, ...tls });
      this.agentTls = tls;
    }
    return this.agent;
  }

  /** Closes idle keep-alive connections (graceful shutdown). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

function sameMaterial(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.once('error', reject);
    res.once('aborted', () => reject(new Error('response aborted')));
  });
}

function toApiError(code: number, body: string, method: string, path: string): KubeApiError {
  let status: KubeStatus = {};
  try {
    status = JSON.parse(body) as KubeStatus;
  } catch {
    // Not a Status (e.g. a proxy's HTML error page): keep the start of it as the message.
  }
  const reason = status.reason || http.STATUS_CODES[code] || 'Unknown';
  const message = status.message || body.slice(0, 200) || 'no message';
  return new KubeApiError(code, reason, message, method, path);
}

/**
 * Loads the kubeconfig the way the flags document: an explicit file (flag or KUBECONFIG), else in-cluster, else
 * ~/.kube/config.
 */
export function loadKubeConfig(file?: string): KubeConfig {
  if (file) {
    const files = file.split(nodePath.delimiter).filter((f) => f);
    for (const f of files) {
      if (!fs.existsSync(f)) throw new Error(`kubeconfig file ${f} does not exist`);
    }
    // A KUBECONFIG list merges as kubectl does: the first file's current context wins.
    return kubeConfigFromFiles(files);
  }
  if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) return inClusterKubeConfig();
  const home = os.homedir();
  const fallback = nodePath.join(home, '.kube', 'config');
  if (!fs.existsSync(fallback)) {
    throw new Error(
      `no kubeconfig: not running in a cluster (KUBERNETES_SERVICE_HOST is unset) and ${fallback} does not exist; pass --kubeconfig or set KUBECONFIG`,
    );
  }
  return kubeConfigFromFiles([fallback]);
}
