/**
 * Where the API server is and how to authenticate to it, as kubectl reads it: a kubeconfig file (or a KUBECONFIG
 * list), or the in-cluster ServiceAccount. Covers what the reconciler meets: CA and client certificates (inline or as
 * files), bearer tokens and token files (re-read, as they rotate), exec credential plugins (kubelogin on AKS), basic
 * auth. Not covered: proxy-url and the legacy auth-provider plugins (a clear error at load).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import type * as https from 'node:https';
import * as nodePath from 'node:path';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** client-go re-reads a token file at most once a minute: rotated tokens are picked up without a read per request. */
const TOKEN_FILE_TTL_MS = 60_000;

export interface ExecConfig {
  readonly command: string;
  readonly args?: readonly string[];
  readonly env?: ReadonlyArray<{ name: string; value: string }>;
  readonly apiVersion?: string;
}

export interface ClusterConfig {
  readonly server: string;
  readonly ca?: Buffer;
  readonly insecureSkipTlsVerify?: boolean;
  readonly tlsServerName?: string;
}

export interface UserConfig {
  readonly token?: string;
  readonly tokenFile?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly username?: string;
  readonly password?: string;
  readonly exec?: ExecConfig;
}

interface ExecResult {
  readonly token?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly expiresAt?: number;
}

export class KubeConfig {
  private tokenFromFile?: { value: string; readAt: number };
  private execResult?: ExecResult;

  constructor(readonly cluster: ClusterConfig, readonly user: UserConfig, readonly namespace?: string) {
    if (!cluster.server) throw new Error('kubeconfig: the current cluster has no server');
  }

  get server(): string {
    return this.cluster.server;
  }

  /** The same credentials against another server address (e.g. through a local proxy). */
  withServer(server: string): KubeConfig {
    return new KubeConfig({ ...this.cluster, server }, this.user, this.namespace);
  }

  /** Sets TLS material and the Authorization header of a request (a fresh token when a file or plugin rotates it). */
  async apply(opts: https.RequestOptions): Promise<void> {
    const { cluster, user } = this;
    if (cluster.ca) opts.ca = cluster.ca;
    if (cluster.tlsServerName) opts.servername = cluster.tlsServerName;
    if (cluster.insecureSkipTlsVerify) opts.rejectUnauthorized = false;
    let { cert, key } = user;
    let token = user.token;
    if (user.tokenFile) token = this.readTokenFile(user.tokenFile);
    if (user.exec) {
      const r = await this.runExec(user.exec);
      token = r.token ?? token;
      cert = r.cert ?? cert;
      key = r.key ?? key;
    }
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (user.username !== undefined) opts.auth = `${user.username}:${user.password ?? ''}`;
  }

  private readTokenFile(file: string): string {
    const now = Date.now();
    if (!this.tokenFromFile || now - this.tokenFromFile.readAt > TOKEN_FILE_TTL_MS) {
      this.tokenFromFile = { value: fs.readFileSync(file, 'utf8').trim(), readAt: now };
    }
    return this.tokenFromFile.value;
  }

  private async runExec(exec: ExecConfig): Promise<ExecResult> {
    const cached = this.execResult;
    // Renewed a little before it expires, so that a request never leaves with a token about to lapse.
    if (cached && (cached.expiresAt === undefined || cached.expiresAt - Date.now() > 10_000)) return cached;
    const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } }),
    };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(exec.command, [...(exec.args ?? [])], { env, maxBuffer: 1024 * 1024, timeout: 60_000 }, (err, out, stderr) => {
        if (err) {
          const why = String(stderr).trim().slice(0, 500) || err.message;
          reject(new Error(`kubeconfig exec plugin ${exec.command} failed (exit ${String(err.code ?? err.signal ?? '?')}): ${why}`));
        } else {resolve(String(out));}
      });
    });
    let status: { token?: string; clientCertificateData?: string; clientKeyData?: string; expirationTimestamp?: string };
    try {
      status = (JSON.parse(stdout) as { status?: typeof status }).status ?? {};
    } catch {
      throw new Error(`kubeconfig exec plugin ${exec.command} did not print an ExecCredential`);
    }
    const result: ExecResult = {
      token: status.token,
      cert: status.clientCertificateData ? Buffer.from(status.clientCertificateData) : undefined,
      key: status.clientKeyData ? Buffer.from(status.clientKeyData) : undefined,
      expiresAt: status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : undefined,
    };
    this.execResult = result;
    return result;
  }
}

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  'clusters'?: Array<Named<{ cluster?: Record<string, any> }>>;
  'users'?: Array<Named<{ user?: Record<string, any> }>>;
  'contexts'?: Array<Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>>;
  'current-context'?: string;
}

/** One kubeconfig file, with relative file references resolved against its directory. */
function readKubeconfigFile(file: string): KubeconfigFile {
  const text = fs.readFileSync(file, 'utf8');
  // js-yaml is only needed for a file; in a cluster (the image) it is never loaded.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require('js-yaml') as { load(s: string): unknown };
  const doc = (yaml.load(text) ?? {}) as KubeconfigFile;
  const dir = nodePath.dirname(nodePath.resolve(file));
  const resolve = (o: Record<string, any> | undefined, keys: string[]) => {
    for (const k of keys) if (o && typeof o[k] === 'string' && o[k] && !nodePath.isAbsolute(o[k])) o[k] = nodePath.join(dir, o[k]);
  };
  for (const c of doc.clusters ?? []) resolve(c.cluster, ['certificate-authority']);
  for (const u of doc.users ?? []) resolve(u.user, ['client-certificate', 'client-key', 'tokenFile']);
  return doc;
}

/** kubectl's merge of a KUBECONFIG list: the first file that sets a name (or the current context) wins. */
function merge(docs: KubeconfigFile[]): KubeconfigFile {
  const firstByName = <T extends { name: string }>(lists: Array<T[] | undefined>): T[] => {
    const seen = new Map<string, T>();
    for (const list of lists) for (const item of list ?? []) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  return {
    'clusters': firstByName(docs.map((d) => d.clusters)),
    'users': firstByName(docs.map((d) => d.users)),
    'contexts': firstByName(docs.map((d) => d.contexts)),
    'current-context': docs.map((d) => d['current-context']).find((c) => !!c),
  };
}

function bytes(data: unknown, file: unknown, what: string): Buffer | undefined {
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  if (typeof file === 'string' && file) {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`kubeconfig: cannot read ${what} ${file}: ${(e as Error).message}`);
    }
  }
  return undefined;
}

/** The current context of a parsed kubeconfig as a KubeConfig. */
export function fromKubeconfig(doc: KubeconfigFile, source: string): KubeConfig {
  const current = doc['current-context'];
  if (!current) throw new Error(`kubeconfig ${source}: no current-context`);
  const context = doc.contexts?.find((c) => c.name === current)?.context;
  if (!context) throw new Error(`kubeconfig ${source}: current context "${current}" is not defined`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster;
  if (!cluster) throw new Error(`kubeconfig: current context "${current}" has no cluster`);
  if (cluster['proxy-url']) throw new Error(`kubeconfig ${source}: cluster "${context.cluster}" sets proxy-url, which the reconciler does not support`);
  const user = (context.user ? doc.users?.find((u) => u.name === context.user)?.user : undefined) ?? {};
  if (user['auth-provider']) {
    throw new Error(`kubeconfig ${source}: user "${context.user}" uses an auth-provider plugin, which the reconciler does not support; use an exec plugin (e.g. kubelogin)`);
  }
  return new KubeConfig(
    {
      server: String(cluster.server ?? ''),
      ca: bytes(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate-authority'),
      insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
      tlsServerName: cluster['tls-server-name'] || undefined,
    },
    {
      token: user.token || undefined,
      tokenFile: user.tokenFile || undefined,
      cert: bytes(user['client-certificate-data'], user['client-certificate'], 'client-certificate'),
      key: bytes(user['client-key-data'], user['client-key'], 'client-key'),
      username: user.username,
      password: user.password,
      exec: user.exec ? {
        command: user.exec.command,
        args: user.exec.args ?? undefined,
        env: user.exec.env ?? undefined,
        apiVersion: user.exec.apiVersion,
      } : undefined,
    },
    context.namespace || undefined,
  );
}

/** A KUBECONFIG-style list of files (merged as kubectl merges them). */
export function kubeConfigFromFiles(files: readonly string[]): KubeConfig {
  return fromKubeconfig(merge(files.map(readKubeconfigFile)), files.join(nodePath.delimiter));
}

/** The Pod's ServiceAccount: the API server from the service environment, its CA, a rotating token, its namespace. */
export function inClusterKubeConfig(dir = SERVICE_ACCOUNT_DIR): KubeConfig {
  const host = process.env.KUBERNETES_SERVICE_HOST!;
  const port = process.env.KUBERNETES_SERVICE_PORT!;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let namespace: string | undefined;
  try {
    namespace = fs.readFileSync(nodePath.join(dir, 'namespace'), 'utf8').trim() || undefined;
  } catch {
    namespace = undefined;
  }
  return new KubeConfig(
    { server: `https://${hostPart}:${port}`, ca: fs.readFileSync(nodePath.join(dir, 'ca.crt')) },
    { tokenFile: nodePath.join(dir, 'token') },
    namespace,
  );
}
