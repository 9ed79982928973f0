/**
 * Azure Resource Manager emulator for Azure Database for PostgreSQL flexible servers (api-version 2025-08-01; also
 * 2024-08-01 and 2021-06-01), with an Entra ID token service and real PostgreSQL 15 instances behind the servers.
 * See docs/testing-emulator.md.
 *
 *   const emu = await startEmulator({ provisioningDelayMs: 200 });
 *   const credential = new ClientSecretCredential(emu.tenantId, emu.clientId, emu.clientSecret,
 *     { authorityHost: emu.authorityHost, disableInstanceDiscovery: true });
 *   const client = new PostgreSQLManagementFlexibleServerClient(credential, emu.subscriptionId, { endpoint: emu.armEndpoint });
 *   ...
 *   await emu.stop();
 *
 * The process must trust emu.caCertPem: NODE_EXTRA_CA_CERTS=emu.caCertPath for a child process, or
 * trustEmulatorCa(emu) in this one.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tls from 'node:tls';
import { Arm, RetryAfterProfile } from './arm';
import { EmulatorClient, EntraService } from './entra';
import { FaultOptions, Faults } from './faults';
import { issueServerCertificate, loadOrCreateCa } from './pki';
import { resolveRunAs } from './postgres';
import { createHandler, EmulatorAdmin } from './server';
import { RequestStats } from './stats';
import { Throttler, ThrottlingOptions } from './throttle';

export type { EmulatorAdmin } from './server';
export type { FaultOptions, FaultRule, FaultKind } from './faults';
export type { ThrottlingOptions, BucketSpec } from './throttle';
export type { RequestCounts, RequestLogEntry } from './stats';
export type { RetryAfterProfile } from './arm';
export type { EmulatorClient } from './entra';
export { CONFIG_SPECS } from './configurations';
export { OSSRDBMS_RESOURCE } from './entra';

export interface EmulatorOptions {
  /** Address to listen on (default 127.0.0.1; loopback only is the intended use). */
  host?: string;
  /** Port (default 0: a free port). */
  port?: number;
  /**
   * Where the CA, the identities and the PostgreSQL data go. Default: a temporary directory removed by stop().
   * A given directory is kept (and its CA and identities reused on the next start); server data in it is removed
   * by stop().
   */
  dataDir?: string;
  /** Subscription ids (default: one random id, or the one saved in dataDir). */
  subscriptions?: string[];
  /** Tenant id (default: random, or saved in dataDir). */
  tenantId?: string;
  /** Applications of the tenant (default: one with a random id and secret, or saved in dataDir). */
  clients?: EmulatorClient[];
  /** Minimum duration of each long-running operation, in ms (default 2000). */
  provisioningDelayMs?: number;
  /** Retry-After of long-running operations, in seconds (default 1), with the `fast` Retry-After profile. */
  operationPollIntervalSeconds?: number;
  /**
   * Retry-After of long-running operations: `fast` (default) answers operationPollIntervalSeconds; `azure` answers
   * Azure's per operation (60 s server upserts and firewall rules, 10 s databases and parameters, 15 s deletes of
   * servers and resource groups).
   */
  retryAfterProfile?: RetryAfterProfile;
  /**
   * Enforce firewall rules on PostgreSQL connections (default true, as Azure: a public server admits only clients whose
   * address a rule covers, and nobody while it has no rule). Bind the client socket to a loopback address (127.x.y.z)
   * to connect "from" that address; a client that does not bind connects from 127.0.0.1. False lets every loopback
   * client in, for a suite that is not about network access and says so.
   */
  enforceFirewall?: boolean;
  /**
   * Client networks (CIDR, e.g. `127.0.0.1/32`) that count as inside Azure, as an AKS cluster's egress address is: the
   * firewall rule 0.0.0.0 ("allow Azure services") admits them. Default none: loopback clients are outside Azure.
   */
  azureClientNetworks?: string[];
  /** ARM throttling: token buckets per subscription and principal (default: ARM's); false turns it off. */
  throttling?: false | ThrottlingOptions;
  /** Faults injected from the start (change them at runtime with admin.setFaults). */
  faults?: FaultOptions;
  /** PostgreSQL 15 binaries (default /usr/lib/postgresql/15/bin). */
  postgresBinDir?: string;
  /**
   * What getPrivateDnsZoneSuffix answers, the suffix of PostgreSQL host names in the emulated cloud (default
   * postgres.database.azure.com; a sovereign cloud's is postgres.database.usgovcloudapi.net or ...chinacloudapi.cn).
   */
  privateDnsZoneSuffix?: string;
  /**
   * Server N listens on this address + N, port 5432 (default: a random range per emulator, 127.A.B.0 with A in
   * 20-219, so that two emulators on one machine do not answer for each other's servers). Set it to pin the addresses.
   */
  serverAddressBase?: string;
  /** Log lines (default: none, or stderr when EMULATOR_DEBUG is set). Never receives passwords or tokens. */
  logger?: (line: string) => void;
  /** Also log one line per request to `logger`: method, path, status, duration (never bodies or headers). */
  requestLog?: boolean;
}

export interface Emulator {
  /** https://127.0.0.1:PORT: the ARM endpoint (AZURE_RESOURCE_MANAGER_ENDPOINT, the SDK's `endpoint`). */
  armEndpoint: string;
  /** The same origin: the Entra authority host (AZURE_AUTHORITY_HOST, the credential's `authorityHost`). */
  authorityHost: string;
  tenantId: string;
  /** The first subscription. */
  subscriptionId: string;
  subscriptions: string[];
  /** The first client (application) and its secret. */
  clientId: string;
  clientSecret: string;
  /** Server N listens on this address + N, port 5432 (the option, or the random range chosen at start). */
  serverAddressBase: string;
  /** PEM of the CA that signed the HTTPS and PostgreSQL certificates. */
  caCertPem: string;
  caCertPath: string;
  dataDir: string;
  admin: EmulatorAdmin;
  /** Stops every PostgreSQL and the HTTPS server; removes server data (and a temporary dataDir). */
  stop(): Promise<void>;
}

interface SavedIdentity {
  tenantId: string;
  subscriptions: string[];
  clients: EmulatorClient[];
}

const running = new Set<Arm>();

/**
 * A loopback range for one emulator's servers, unlikely to be another's: with one fixed default, a server's address
 * freed by one emulator (a stopped server) could be taken by another on the machine, which would then answer in its
 * place. Each address is also checked free before a PostgreSQL binds it (arm.ts). Clear of 127.0.0.0/16, where test
 * clients bind 127.0.0.x to connect "from" an address and Debian names its host 127.0.1.1.
 */
function randomLoopbackRange(): string {
  return `127.${20 + randomInt(200)}.${randomInt(250)}.0`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const arm of running) arm.killAll();
  });
}

/**
 * Makes this process trust the emulator CA for TLS clients that do not pass `ca` themselves (the Azure SDK, MSAL,
 * fetch): the in-process equivalent of NODE_EXTRA_CA_CERTS.
 */
export function trustEmulatorCa(emu: Pick<Emulator, 'caCertPem'>): void {
  const current = tls.getCACertificates('default');
  if (!current.includes(emu.caCertPem)) tls.setDefaultCACertificates([...current, emu.caCertPem]);
}

/** The environment for a process that should use the emulator (the reconciler, the az CLI-free SDK samples). */
export function emulatorEnv(emu: Emulator): Record<string, string> {
  return {
    AZURE_RESOURCE_MANAGER_ENDPOINT: emu.armEndpoint,
    AZURE_AUTHORITY_HOST: emu.authorityHost,
    AZURE_TENANT_ID: emu.tenantId,
    AZURE_CLIENT_ID: emu.clientId,
    AZURE_CLIENT_SECRET: emu.clientSecret,
    AZURE_SUBSCRIPTION_ID: emu.subscriptionId,
    NODE_EXTRA_CA_CERTS: emu.caCertPath,
  };
}

/** A detached shell that stops the PostgreSQL instances if this process dies without cleaning up (SIGKILL). */
function startWatchdog(dataDir: string, removeDir: boolean): ChildProcess | undefined {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'for f in "$2"/servers/*/data/postmaster.pid; do [ -f "$f" ] && kill -QUIT "$(head -n 1 "$f")" 2>/dev/null; done',
    'sleep 2',
    '[ "$3" = 1 ] && rm -rf "$2"',
    'exit 0',
  ].join('\n');
  try {
    const child = spawn('sh', ['-c', script, 'emulator-watchdog', String(process.pid), dataDir, removeDir ? '1' : '0'], {
      detached: true, stdio: 'ignore',
    });
    child.on('error', () => undefined);
    child.unref();
    return child;
  } catch {
    return undefined;
  }
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  // EMULATOR_DEBUG=1 logs to stderr when no logger is given (handy when a suite fails); EMULATOR_DEBUG=requests also
  // logs every request.
  const log = opts.logger ?? (process.env.EMULATOR_DEBUG ? (l: string) => process.stderr.write(`[emulator] ${l}\n`) : () => undefined);
  const tempDir = !opts.dataDir;
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : await mkdtemp(join(tmpdir(), 'cdk8s-azure-emulator-'));
  await mkdir(dataDir, { recursive: true });
  const runAs = await resolveRunAs();
  // PostgreSQL runs as another user: it must be able to reach its data directory.
  await chmod(dataDir, 0o755);
  // One emulator per data directory: a second one would remove the first one's PostgreSQL data.
  const pidFile = join(dataDir, 'emulator.pid');
  if (!tempDir && existsSync(pidFile)) {
    const other = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (other && other !== process.pid && processAlive(other)) {
      throw new Error(`another emulator (pid ${other}) uses the data directory ${dataDir}; stop it or choose another --data-dir`);
    }
  }
  await writeFile(pidFile, String(process.pid));
  const serversDir = join(dataDir, 'servers');
  await rm(serversDir, { recursive: true, force: true });
  await mkdir(serversDir, { recursive: true });
  await chmod(serversDir, 0o755);

  const postgresBinDir = opts.postgresBinDir ?? '/usr/lib/postgresql/15/bin';
  if (!existsSync(join(postgresBinDir, 'initdb')) || !existsSync(join(postgresBinDir, 'postgres'))) {
    throw new Error(`PostgreSQL binaries not found in ${postgresBinDir} (install postgresql-15, or set postgresBinDir)`);
  }

  // Identities: given, else saved in a kept dataDir, else new.
  const identityPath = join(dataDir, 'identity.json');
  let saved: SavedIdentity | undefined;
  if (!tempDir && existsSync(identityPath)) {
    try {
      saved = JSON.parse(await readFile(identityPath, 'utf8')) as SavedIdentity;
    } catch {
      saved = undefined;
    }
  }
  const tenantId = opts.tenantId ?? saved?.tenantId ?? randomUUID();
  const subscriptions = opts.subscriptions?.length ? opts.subscriptions : saved?.subscriptions?.length ? saved.subscriptions : [randomUUID()];
  const clients = opts.clients?.length ? opts.clients : saved?.clients?.length ? saved.clients : [{ clientId: randomUUID(), clientSecret: randomBytes(30).toString('base64url') }];
  if (!tempDir) {
    await writeFile(identityPath, JSON.stringify({ tenantId, subscriptions, clients }, null, 2), { mode: 0o600 });
    await chmod(identityPath, 0o600);
  }
  const defaultClient = clients[0];

  const ca = await loadOrCreateCa(join(dataDir, 'pki'));
  const host = opts.host ?? '127.0.0.1';
  const ips = ['127.0.0.1', ...(/^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== '127.0.0.1' && host !== '0.0.0.0' ? [host] : [])];
  const leaf = await issueServerCertificate(ca, 'cdk8s-azure ARM emulator', ips, ['localhost', ...(/[a-z]/i.test(host) && host !== 'localhost' ? [host] : [])]);

  let baseUrl = '';
  const base = () => baseUrl;
  const stats = new RequestStats();
  const faults = new Faults(opts.faults);
  const throttler = new Throttler(opts.throttling);
  const entra = new EntraService(tenantId, clients, base);
  const serverAddressBase = opts.serverAddressBase ?? randomLoopbackRange();
  const arm = new Arm({
    subscriptions,
    tenantId,
    provisioningDelayMs: opts.provisioningDelayMs ?? 2000,
    operationPollIntervalSeconds: opts.operationPollIntervalSeconds ?? 1,
    retryAfterProfile: opts.retryAfterProfile ?? 'fast',
    enforceFirewall: opts.enforceFirewall ?? true,
    azureClientNetworks: opts.azureClientNetworks ?? [],
    postgresBinDir,
    serverAddressBase,
    privateDnsZoneSuffix: opts.privateDnsZoneSuffix ?? 'postgres.database.azure.com',
    dataDir,
    runAs,
    ca,
    baseUrl: base,
    faults,
    stats,
    log,
    validateDatabaseToken: (token, tenant) => entra.validateDatabaseToken(token, tenant),
  });

  const admin: EmulatorAdmin = {
    resources: () => arm.describe(),
    requests: () => stats.snapshot(),
    resetRequests: () => stats.reset(),
    faults: () => faults.describe(),
    setFaults: (f) => faults.set(f),
    addFault: (r) => faults.add(r),
    clearFaults: () => faults.clear(),
    throttling: () => throttler.describe(),
    setThrottling: (t) => throttler.configure(t),
    azureChange: (name, change) => arm.azureChange(name, change),
    autoStart: (name) => arm.autoStart(name),
    firewallEnforcement: () => arm.firewallEnforcement,
    setFirewallEnforcement: (on) => arm.setFirewallEnforcement(on),
    reset: async () => {
      await arm.reset();
      await arm.setFirewallEnforcement(opts.enforceFirewall ?? true);
      stats.reset();
      throttler.reset();
      faults.set(opts.faults);
    },
    setTiming: (t) => {
      if (t.provisioningDelayMs !== undefined) {
        if (!(t.provisioningDelayMs >= 0)) throw new Error('provisioningDelayMs must be >= 0');
        arm.timing.provisioningDelayMs = t.provisioningDelayMs;
      }
      if (t.operationPollIntervalSeconds !== undefined) {
        if (!(t.operationPollIntervalSeconds >= 0)) throw new Error('operationPollIntervalSeconds must be >= 0');
        arm.timing.operationPollIntervalSeconds = Math.round(t.operationPollIntervalSeconds);
      }
      if (t.retryAfterProfile !== undefined) {
        if (!['fast', 'azure'].includes(t.retryAfterProfile)) throw new Error("retryAfterProfile must be 'fast' or 'azure'");
        arm.timing.retryAfterProfile = t.retryAfterProfile;
      }
    },
    issueToken: (o = {}) => entra.issueToken(o.clientId ?? defaultClient.clientId, o.resource ?? baseUrl, o.lifetimeSeconds ?? 3600, '1',
      { tenantId: o.tenantId, objectId: o.objectId }).token,
    addClient: (c) => {
      if (!c || typeof c.clientId !== 'string') throw new Error('clientId is required');
      entra.addClient(c);
    },
  };

  const server: Server = createServer({ cert: leaf.certPem, key: leaf.keyPem, ca: ca.certPem, minVersion: 'TLSv1.2' }, createHandler({
    arm,
    entra,
    faults,
    throttler,
    requestLog: opts.requestLog ?? /requests/.test(process.env.EMULATOR_DEBUG ?? ''),
    stats,
    baseUrl: base,
    log,
    admin,
    info: () => ({
      armEndpoint: baseUrl,
      authorityHost: baseUrl,
      tenantId,
      subscriptions,
      clientIds: entra.listClients().map((c) => c.clientId),
      caCertPath: ca.certPath,
      dataDir,
      ...arm.timing,
      enforceFirewall: arm.firewallEnforcement,
      throttling: throttler.describe(),
      faults: faults.describe(),
    }),
  }));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', rej);
      res();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  baseUrl = `https://${urlHost}:${port}`;
  log(`ARM emulator listening on ${baseUrl} (data in ${dataDir})`);

  running.add(arm);
  installExitHook();
  const watchdog = startWatchdog(dataDir, tempDir);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      await new Promise<void>((res) => {
        server.close(() => res());
        server.closeAllConnections();
      });
      await arm.stop();
      running.delete(arm);
      if (watchdog?.pid) {
        try {
          process.kill(watchdog.pid);
        } catch {
          // already gone
        }
      }
      if (tempDir) {
        await rm(dataDir, { recursive: true, force: true });
      } else {
        await rm(serversDir, { recursive: true, force: true });
        await rm(pidFile, { force: true });
      }
      log('ARM emulator stopped');
    })();
    return stopped;
  };

  return {
    armEndpoint: baseUrl,
    authorityHost: baseUrl,
    tenantId,
    subscriptionId: subscriptions[0],
    subscriptions,
    clientId: defaultClient.clientId,
    clientSecret: defaultClient.clientSecret ?? '',
    serverAddressBase,
    caCertPem: ca.certPem,
    caCertPath: ca.certPath,
    dataDir,
    admin,
    stop,
  };
}
