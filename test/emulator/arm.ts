/**
 * The Azure Resource Manager side: resource groups (Microsoft.Resources) and Microsoft.DBforPostgreSQL flexible
 * servers with databases, firewall rules and configurations, as long-running operations shaped like the recorded
 * Azure traffic (202 + Azure-AsyncOperation + Location + Retry-After, operation status InProgress -> Succeeded/Failed).
 * Each flexible server is a real PostgreSQL instance (postgres.ts).
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  administratorJson, EntraAdministrator, entraDisabledError, installPgaadauth, objectIdOfRole, removeAdministratorRole, setPgaadauthTenant,
  upsertAdministratorRole, validateAdministrator,
} from './administrators';
import { configSpec, CONFIG_SPECS, ConfigSpec, defaultOf, validateConfigValue } from './configurations';
import { ApiError, invalidParameter } from './errors';
import { EXTENSIONS_PARAMETER, extensionSettings, setAllowList } from './extensions';
import { Faults } from './faults';
import { PgFront, PgFrontOptions } from './pg-front';
import { CertificateAuthority, issueServerCertificate } from './pki';
import { addressFree, PG_BACKEND_PORT, PG_PORT, PgInstance, PgStartError, RunAs, scramVerifier, SUPERUSER, quoteIdent, quoteLiteral } from './postgres';
import { initReplica, promote, replicationJson } from './replicas';
import { archiveSettings, archiveUpTo, initRestore, prepareArchive, takeBaseBackup } from './restore';
import { autoStart } from './server-actions';
import { RequestStats } from './stats';
import {
  applyServerRequest, CHARSETS, DEFAULT_STORAGE_TIER, defaultServerModel, enumValue, ipv4ToNumber, locationNotAvailable, MINOR_VERSIONS,
  normalizeLocation, ServerModel, SKUS, STORAGE_SIZES_GB, STORAGE_TIER_IOPS, STORAGE_TIERS, SYSTEM_DATABASES, validateCollation,
  validateDatabaseName, validateFirewallRule, validateFirewallRuleName, validateServerName,
} from './validation';

export const PG_API_VERSIONS = ['2021-06-01', '2024-08-01', '2025-08-01'];
export const RESOURCES_API_VERSIONS = [
  '2014-04-01', '2015-11-01', '2016-02-01', '2016-09-01', '2017-05-10', '2018-02-01', '2018-05-01', '2019-05-01', '2019-07-01',
  '2019-08-01', '2019-10-01', '2020-06-01', '2020-08-01', '2020-10-01', '2021-01-01', '2021-04-01', '2022-01-01', '2022-09-01',
  '2022-12-01', '2023-07-01', '2024-03-01', '2024-07-01', '2024-11-01', '2025-01-01', '2025-03-01', '2025-04-01',
];
const NS = 'Microsoft.DBforPostgreSQL';
const SERVER_TYPE = `${NS}/flexibleServers`;

export interface ArmRequest {
  method: string;
  /** Decoded path segments. */
  segments: string[];
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** appid of the caller (for systemData). */
  appId: string;
}

export interface ArmResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Retry-After of long-running operations: `fast` answers operationPollIntervalSeconds everywhere (tests); `azure`
 * answers what Azure answers per operation (recorded: 60 s for server upserts and firewall rules, 10 s for databases
 * and parameters, 15 s for server and resource group deletes).
 */
export type RetryAfterProfile = 'fast' | 'azure';

/** Azure's Retry-After per operation (the recording; server actions and busy answers assumed like server upserts). */
const AZURE_RETRY_AFTER: Record<string, number> = {
  UpsertServerManagementOperationV2: 60,
  RestartServerManagementOperation: 60,
  StartServerManagementOperation: 60,
  StopServerManagementOperation: 60,
  DropServerManagementOperation: 15,
  UpsertServerDatabaseManagementOperation: 10,
  DropServerDatabaseManagementOperation: 10,
  UpdateConfigurationManagementOperation: 10,
  UpsertServerFirewallRulesManagementOperation: 60,
  DropServerFirewallRulesManagementOperation: 60,
  DeleteResourceGroup: 15,
};

export interface ArmOptions {
  subscriptions: string[];
  tenantId: string;
  provisioningDelayMs: number;
  operationPollIntervalSeconds: number;
  retryAfterProfile: RetryAfterProfile;
  /** Firewall rules decide which client addresses may connect to a public server's PostgreSQL. */
  enforceFirewall: boolean;
  /** Client networks (CIDR) that count as inside Azure: the rule 0.0.0.0 ("allow Azure services") admits them. */
  azureClientNetworks: string[];
  postgresBinDir: string;
  serverAddressBase: string;
  dataDir: string;
  runAs?: RunAs;
  ca: CertificateAuthority;
  /** What getPrivateDnsZoneSuffix answers: this cloud's suffix of PostgreSQL host names (default the public cloud's). */
  privateDnsZoneSuffix: string;
  baseUrl: () => string;
  faults: Faults;
  stats: RequestStats;
  log: (msg: string) => void;
  /** Checks a token presented as a PostgreSQL password (EntraService.validateDatabaseToken). */
  validateDatabaseToken: PgFrontOptions['validateToken'];
}

type ServerState = 'Provisioning' | 'Updating' | 'Ready' | 'Dropping' | 'Stopped' | 'Starting' | 'Stopping' | 'Restarting';

interface SystemData {
  createdBy: string;
  createdByType: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModifiedByType: string;
  lastModifiedAt: string;
}

interface ResourceGroup {
  sub: string;
  name: string;
  location: string;
  tags?: Record<string, string>;
  managedBy?: string;
  state: 'Succeeded' | 'Deleting';
  deletion?: Operation;
}

interface ConfigValue {
  value: string;
  source: string;
  pendingRestart: boolean;
}

export interface ServerRecord {
  sub: string;
  rg: string;
  name: string;
  location: { short: string; display: string };
  tags?: Record<string, string>;
  model: ServerModel;
  state: ServerState;
  haState: string;
  index: number;
  address: string;
  pg?: PgInstance;
  databases: Map<string, { name: string; charset: string; collation: string; systemData: SystemData }>;
  firewallRules: Map<string, { name: string; startIpAddress: string; endIpAddress: string; systemData: SystemData }>;
  /** Microsoft Entra administrators by object id (lower case). */
  administrators: Map<string, EntraAdministrator & { systemData: SystemData }>;
  configs: Map<string, ConfigValue>;
  systemData: SystemData;
  /** The server-level operation in flight (create, update, delete, restart, start, stop). */
  current?: Operation;
  childOps: Set<Operation>;
  /** pg_hba rewrites, one at a time (each reads the rules when it runs). */
  hbaChain?: Promise<void>;
  /** The base backup point-in-time restores start from, taken in the background once the server is up (restore.ts). */
  baseBackup?: Promise<void>;
}

/** The CIDR blocks covering an IPv4 range (both ends included). */
export function rangeToCidrs(start: string, end: string): string[] {
  let lo = ipv4ToNumber(start)!;
  const hi = ipv4ToNumber(end)!;
  const out: string[] = [];
  const ip = (n: number) => [2 ** 24, 2 ** 16, 2 ** 8, 1].map((unit) => Math.floor(n / unit) % 256).join('.');
  while (lo <= hi) {
    let bits = 0;
    while (bits < 32 && lo % 2 ** (bits + 1) === 0 && lo + 2 ** (bits + 1) - 1 <= hi) bits++;
    out.push(`${ip(lo)}/${32 - bits}`);
    lo += 2 ** bits;
  }
  return out;
}

export interface Operation {
  id: string;
  name: string;
  sub: string;
  location: string;
  resourceId: string;
  kind: 'upsert' | 'delete' | 'action';
  apiVersion: string;
  status: 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';
  /** Retry-After of its answers (fixed when it starts). */
  retryAfterSeconds: number;
  startTime: Date;
  endTime?: Date;
  error?: { code: string; message: string; status: number };
  /** Why an operation failed inside the emulator (admin endpoint only; Azure's answer stays generic). */
  cause?: string;
  done: Promise<void>;
  /** For resource group deletion: the opaque token of the operationresults URL. */
  rgToken?: string;
}


function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function tagsOf(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw invalidParameter('tags');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalidParameter(`tags.${k}`);
    out[k] = val;
  }
  if (Object.keys(out).length > 50) throw new ApiError(400, 'InvalidTag', 'A resource can have at most 50 tags.');
  return out;
}

/** The message of an injected operation failure with this code (Azure's, where known). */
function defaultFailureMessage(code: string, serverName: string): string {
  if (code === 'ServerIsBusy') return `Cannot complete operation while server '${serverName}' is busy processing another operation. Try again later.`;
  return "An unexpected error occured while processing the request. Tracking ID: '{trackingId}'";
}

function addressFor(base: string, n: number): string {
  const parts = base.split('.').map(Number);
  let v = ((parts[0] * 256 + parts[1]) * 256 + parts[2]) * 256 + parts[3] + n;
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    out.unshift(v % 256);
    v = Math.floor(v / 256);
  }
  return out.join('.');
}

export class Arm {
  readonly resourceGroups = new Map<string, ResourceGroup>();
  readonly servers = new Map<string, ServerRecord>();
  readonly operations = new Map<string, Operation>();
  private readonly rgOps = new Map<string, Operation>();
  private readonly usedIndexes = new Set<number>();
  /** Indexes whose address was taken by something else. */
  private readonly foreignIndexes = new Set<number>();
  private readonly signKey = randomBytes(32);
  /**
   * The `c` parameter of operation URLs: on Azure a base64url X.509 certificate (~2.3 kB DER) that, with the `s`
   * signature (RSA-2048, 342 characters) and `h` hash, makes the URLs about 3.7 kB long. Here random bytes in a DER
   * SEQUENCE header, made once.
   */
  private readonly urlCert = Buffer.concat([Buffer.from([0x30, 0x82, 0x08, 0xf0]), randomBytes(0x08f0)]).toString('base64url');
  private stopped = false;
  private readonly abort = new AbortController();
  /** Changeable at runtime (admin.setTiming); read when an operation starts. */
  readonly timing: { provisioningDelayMs: number; operationPollIntervalSeconds: number; retryAfterProfile: RetryAfterProfile };
  private firewallEnforced: boolean;

  constructor(private readonly o: ArmOptions) {
    this.timing = {
      provisioningDelayMs: o.provisioningDelayMs,
      operationPollIntervalSeconds: o.operationPollIntervalSeconds,
      retryAfterProfile: o.retryAfterProfile,
    };
    this.firewallEnforced = o.enforceFirewall;
  }

  get firewallEnforcement(): boolean {
    return this.firewallEnforced;
  }

  /** Turns the enforcement of firewall rules on PostgreSQL connections on or off, for every server. */
  async setFirewallEnforcement(on: boolean): Promise<void> {
    this.firewallEnforced = on;
    await Promise.all([...this.servers.values()].map((s) => this.applyFirewall(s)));
  }

  /**
   * Who may connect to a server's PostgreSQL (CIDRs; undefined: everyone). With enforcement on, a public server admits
   * the addresses of its firewall rules only (none: nobody, as on Azure). A server with private access admits every
   * client: here all clients are on loopback, which stands for the virtual network. The rule 0.0.0.0-0.0.0.0 ("allow
   * Azure services") admits the clients that count as inside Azure (`azureClientNetworks`, e.g. an AKS cluster's egress;
   * by default none).
   */
  private allowedClients(s: ServerRecord): string[] | undefined {
    const n = s.model.network;
    if (!this.firewallEnforced || n.delegatedSubnetResourceId || n.publicNetworkAccess === 'Disabled') return undefined;
    return [...s.firewallRules.values()].flatMap((r) =>
      r.startIpAddress === '0.0.0.0' && r.endIpAddress === '0.0.0.0' ? this.o.azureClientNetworks : rangeToCidrs(r.startIpAddress, r.endIpAddress));
  }

  /** Rewrites the server's pg_hba from its current rules and reloads (queued: rewrites never overlap). */
  private applyFirewall(s: ServerRecord): Promise<void> {
    const run = async () => {
      const pg = s.pg;
      if (!pg) return;
      const allowed = this.allowedClients(s);
      if (allowed === undefined && pg.allowed === undefined) return;
      await pg.setAllowedClients(allowed);
      if (pg.running) await pg.reload();
    };
    s.hbaChain = (s.hbaChain ?? Promise.resolve()).then(run, run);
    return s.hbaChain;
  }

  /** Retry-After for an operation started now. */
  private retryAfterFor(operationName: string): number {
    if (this.timing.retryAfterProfile === 'azure') return AZURE_RETRY_AFTER[operationName] ?? 60;
    return this.timing.operationPollIntervalSeconds;
  }

  // ---------------------------------------------------------------- helpers

  private rgKey(sub: string, rg: string): string {
    return `${sub.toLowerCase()}/${rg.toLowerCase()}`;
  }

  private rgId(sub: string, rg: string): string {
    return `/subscriptions/${sub}/resourceGroups/${rg}`;
  }

  serverId(s: ServerRecord): string {
    return `${this.rgId(s.sub, s.rg)}/providers/${SERVER_TYPE}/${s.name}`;
  }

  private systemData(appId: string, prev?: SystemData): SystemData {
    const now = new Date().toISOString();
    return {
      createdBy: prev?.createdBy ?? appId,
      createdByType: prev?.createdByType ?? 'Application',
      createdAt: prev?.createdAt ?? now,
      lastModifiedBy: appId,
      lastModifiedByType: 'Application',
      lastModifiedAt: now,
    };
  }

  private memOf(s: ServerRecord): { mem: number; cores: number } {
    const info = SKUS.get(s.model.sku.name.toLowerCase());
    return { mem: info?.memGiB ?? 8, cores: info?.vCores ?? 2 };
  }

  private getRg(sub: string, rg: string): ResourceGroup {
    const g = this.resourceGroups.get(this.rgKey(sub, rg));
    if (!g) throw new ApiError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`, { 'x-ms-failure-cause': 'gateway' });
    return g;
  }

  private findServer(sub: string, rg: string, name: string): ServerRecord | undefined {
    const s = this.servers.get(name.toLowerCase());
    if (!s || s.sub.toLowerCase() !== sub.toLowerCase() || s.rg.toLowerCase() !== rg.toLowerCase()) return undefined;
    return s;
  }

  private serverNotFound(name: string): ApiError {
    return new ApiError(404, 'ResourceNotFound', `The requested resource of type '${SERVER_TYPE}' with name '${name}' was not found.`);
  }

  /** The parent server of a child resource, with ARM's answers when it is missing (as in the recording). */
  private parentServer(sub: string, rg: string, name: string, write: boolean): ServerRecord {
    this.getRg(sub, rg);
    const s = this.findServer(sub, rg, name);
    if (s) return s;
    if (write) {
      throw new ApiError(404, 'ParentResourceNotFound', `Can not perform requested operation on nested resource. Parent resource '${name}' not found.`);
    }
    throw new ApiError(404, 'ResourceNotFound',
      `The Resource '${SERVER_TYPE}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      { 'x-ms-failure-cause': 'gateway' });
  }

  /**
   * Whether a write may start on the server. A dropping or stopped server refuses at once (409); a server busy with
   * another operation accepts the write (202) and its operation then fails with ServerIsBusy, as Azure does.
   */
  private writable(s: ServerRecord): 'ready' | 'busy' {
    if (s.state === 'Dropping') {
      throw new ApiError(409, 'ServerDropping', `Operations on server '${s.name}' are not allowed because it is being dropped.`);
    }
    if (s.state === 'Stopped') {
      throw new ApiError(409, 'ServerStopped', `The operation is not allowed on server '${s.name}' because it is stopped. Start the server and try again.`);
    }
    return s.state === 'Ready' ? 'ready' : 'busy';
  }

  /** Azure's answer to a write on a busy server: 202, then the operation fails (recorded for api-version 2025-08-01). */
  private busyError(s: ServerRecord): ApiError {
    return new ApiError(409, 'ServerIsBusy', `Cannot complete operation while server '${s.name}' is busy processing another operation. Try again later.`);
  }

  /** A write accepted on a busy server: an operation that changes nothing and fails with ServerIsBusy. */
  private busyOp(req: ArmRequest, s: ServerRecord, name: string, resourceId: string, kind: Operation['kind']): ArmResponse {
    this.o.stats.write(resourceId, req.method);
    this.o.stats.busyOperation();
    const error = this.busyError(s);
    const op = this.startOp(req, {
      name,
      sub: s.sub,
      location: kind === 'delete' && resourceId === this.serverId(s) ? s.location.display : s.location.short,
      resourceId,
      kind,
      apiVersion: req.query.get('api-version')!,
      work: async () => undefined,
      rollback: () => undefined,
      fail: error,
      noFaults: true,
    });
    return this.accepted(op);
  }

  private opUrl(op: Operation, kind: 'azureAsyncOperation' | 'operationResults'): string {
    // t: .NET ticks; c: the signing certificate; s: the signature (256 bytes); h: a hash of the request.
    const t = (BigInt(Date.now()) * 10000n + 621355968000000000n).toString();
    const path = `/subscriptions/${op.sub}/providers/${NS}/locations/${encodeURIComponent(op.location)}/${kind}/${op.id}`;
    const sig = Buffer.concat(Array.from({ length: 8 }, (_, i) => createHmac('sha256', this.signKey).update(`${i}|${path}|${t}`).digest()));
    const h = createHash('sha256').update(`GET;${path};${op.apiVersion}`).digest('base64url');
    return `${this.o.baseUrl()}${path}?api-version=${op.apiVersion}&t=${t}&c=${this.urlCert}&s=${sig.toString('base64url')}&h=${h}`;
  }

  private accepted(op: Operation): ArmResponse {
    return {
      status: 202,
      body: { operation: op.name, startTime: op.startTime.toISOString() },
      headers: {
        'Azure-AsyncOperation': this.opUrl(op, 'azureAsyncOperation'),
        'Location': this.opUrl(op, 'operationResults'),
        'Retry-After': String(op.retryAfterSeconds),
      },
    };
  }

  /**
   * Starts a long-running operation. `work` runs unless an injected fault fails or cancels the operation (then
   * `rollback` runs instead); the operation takes at least the provisioning delay (plus any injected slowness). Errors
   * thrown by `work` fail it too; `fail` fails it after the delay without any work (a busy server).
   */
  private startOp(req: ArmRequest, p: {
    name: string;
    sub: string;
    location: string;
    resourceId: string;
    kind: Operation['kind'];
    apiVersion: string;
    /** The work; what it returns runs when the operation succeeds (after the delay): the visible state change. */
    work: () => Promise<void | (() => void | Promise<void>)>;
    rollback: () => Promise<void> | void;
    /** Runs when the emulator stops before the operation ends. */
    abandon?: () => Promise<void> | void;
    delayMs?: number;
    /** End Failed with this error after the delay, doing nothing. */
    fail?: ApiError;
    /** Injected faults do not apply (answers that are themselves Azure's refusals). */
    noFaults?: boolean;
  }): Operation {
    const fire = (kind: 'failOperation' | 'cancelOperation' | 'slowOperation') => (p.noFaults ? [] : this.o.faults.fire(kind, req.method, req.path));
    const fault = fire('failOperation')[0];
    const cancel = fault ? undefined : fire('cancelOperation')[0];
    const slowMs = fire('slowOperation').reduce((a, r) => a + (r.ms ?? 30_000), 0);
    if (slowMs) this.o.stats.slowedOperation();
    const op: Operation = {
      id: randomUUID(),
      name: p.name,
      sub: p.sub,
      location: p.location,
      resourceId: p.resourceId,
      kind: p.kind,
      apiVersion: p.apiVersion,
      status: 'InProgress',
      retryAfterSeconds: this.retryAfterFor(p.name),
      startTime: new Date(),
      done: Promise.resolve(),
    };
    this.operations.set(op.id, op);
    const delay = (p.delayMs ?? this.timing.provisioningDelayMs) + slowMs;
    op.done = (async () => {
      const started = Date.now();
      try {
        if (fault || cancel || p.fail) {
          await this.sleep(delay);
          if (this.stopped) return;
          await p.rollback();
          if (p.fail) {
            op.cause = p.fail.message;
            op.error = { code: p.fail.code, message: p.fail.message, status: p.fail.status };
            op.status = 'Failed';
          } else if (cancel) {
            this.o.stats.operationCancelled();
            op.error = { code: cancel.code ?? 'OperationCancelled', message: cancel.message ?? 'The operation was cancelled.', status: 409 };
            op.status = 'Canceled';
          } else {
            this.o.stats.operationFailed();
            const code = fault!.code ?? 'InternalServerError';
            const message = (fault!.message ?? defaultFailureMessage(code, this.serverNameOf(p.resourceId)))
              .replace('{trackingId}', randomUUID());
            op.error = { code, message, status: code === 'InternalServerError' ? 500 : code === 'ServerIsBusy' ? 409 : 400 };
            op.status = 'Failed';
          }
        } else {
          const commit = await p.work();
          const left = delay - (Date.now() - started);
          if (left > 0) await this.sleep(left);
          if (this.stopped) {
            // Stopping: the PostgreSQL of an unfinished create must not outlive the emulator.
            if (p.abandon) await p.abandon();
            return;
          }
          if (commit) await commit();
          op.status = 'Succeeded';
        }
      } catch (e) {
        if (this.stopped) {
          await Promise.resolve(p.rollback()).catch(() => undefined);
          return;
        }
        const err = e instanceof ApiError ? e : undefined;
        this.o.log(`operation ${op.name} on ${op.resourceId} failed: ${(e as Error).message}`);
        op.cause = (e as Error).message;
        try {
          await p.rollback();
        } catch (re) {
          this.o.log(`rollback after failed ${op.name} failed: ${(re as Error).message}`);
        }
        op.error = err
          ? { code: err.code, message: err.message, status: err.status }
          : { code: 'InternalServerError', message: `An unexpected error occured while processing the request. Tracking ID: '${randomUUID()}'`, status: 500 };
        op.status = 'Failed';
      } finally {
        op.endTime = new Date();
      }
    })();
    return op;
  }

  private serverNameOf(resourceId: string): string {
    return /\/flexibleServers\/([^/]+)/i.exec(resourceId)?.[1] ?? '';
  }

  // ---------------------------------------------------------------- dispatch

  async handle(req: ArmRequest): Promise<ArmResponse> {
    const seg = req.segments;
    const lower = seg.map((s) => s.toLowerCase());
    const m = req.method;
    if (lower.length === 3 && lower[0] === 'providers' && lower[1] === NS.toLowerCase() && lower[2] === 'getprivatednszonesuffix') {
      this.requireApiVersion(req, PG_API_VERSIONS);
      if (m !== 'POST') throw this.methodNotAllowed(m);
      // A JSON string, as Azure answers (send() writes a string body as is).
      return { status: 200, body: JSON.stringify(this.o.privateDnsZoneSuffix) };
    }
    if (lower.length === 0 || lower[0] !== 'subscriptions') throw this.noRoute(req);
    if (lower.length === 1) {
      this.requireApiVersion(req, undefined);
      if (m !== 'GET') throw this.methodNotAllowed(m);
      return { status: 200, body: { value: this.o.subscriptions.map((s) => this.subscriptionJson(s)) } };
    }
    const sub = this.o.subscriptions.find((s) => s.toLowerCase() === lower[1]);
    if (!sub) throw new ApiError(404, 'SubscriptionNotFound', `The subscription '${seg[1]}' could not be found.`);
    if (lower.length === 2) {
      this.requireApiVersion(req, undefined);
      if (m !== 'GET') throw this.methodNotAllowed(m);
      return { status: 200, body: this.subscriptionJson(sub) };
    }
    if (lower[2] === 'resourcegroups') {
      if (lower.length === 3) {
        this.requireApiVersion(req, RESOURCES_API_VERSIONS);
        if (m !== 'GET') throw this.methodNotAllowed(m);
        const value = [...this.resourceGroups.values()].filter((g) => g.sub === sub).map((g) => this.rgJson(g));
        return { status: 200, body: { value } };
      }
      if (lower.length === 4) {
        this.requireApiVersion(req, RESOURCES_API_VERSIONS);
        return this.resourceGroup(req, sub, seg[3]);
      }
      if (lower[4] === 'providers' && lower.length >= 6) {
        if (lower[5] !== NS.toLowerCase()) {
          throw new ApiError(400, 'InvalidResourceNamespace', `The resource namespace '${seg[5]}' is invalid.`);
        }
        this.requireApiVersion(req, PG_API_VERSIONS);
        const rest = seg.slice(6);
        const lrest = lower.slice(6);
        if (lrest[0] !== 'flexibleservers') throw this.invalidType(seg.slice(6, 7).join('/'), req);
        return this.flexibleServers(req, sub, seg[3], rest.slice(1), lrest.slice(1));
      }
      throw this.noRoute(req);
    }
    if (lower[2] === 'operationresults' && lower.length === 4) {
      this.requireApiVersion(req, RESOURCES_API_VERSIONS);
      if (m !== 'GET') throw this.methodNotAllowed(m);
      return this.rgOperationResult(sub, seg[3]);
    }
    if (lower[2] === 'providers' && lower.length >= 4) {
      if (lower[3] !== NS.toLowerCase()) throw new ApiError(400, 'InvalidResourceNamespace', `The resource namespace '${seg[3]}' is invalid.`);
      this.requireApiVersion(req, PG_API_VERSIONS);
      const r = lower.slice(4);
      if (r.length === 1 && r[0] === 'flexibleservers') {
        if (m !== 'GET') throw this.methodNotAllowed(m);
        const value = [...this.servers.values()].filter((s) => s.sub === sub).map((s) => this.serverJson(s, req));
        return { status: 200, body: { value } };
      }
      if (r.length === 1 && r[0] === 'checknameavailability' && m === 'POST') return this.checkName(req);
      if (r.length === 3 && r[0] === 'locations' && r[2] === 'checknameavailability' && m === 'POST') return this.checkName(req);
      if (r.length === 4 && r[0] === 'locations' && (r[2] === 'azureasyncoperation' || r[2] === 'operationresults')) {
        if (m !== 'GET') throw this.methodNotAllowed(m);
        return this.operationStatus(sub, seg[7], r[2] === 'azureasyncoperation');
      }
      throw this.invalidType(seg.slice(4).join('/'), req);
    }
    throw this.noRoute(req);
  }

  private subscriptionJson(sub: string): Record<string, unknown> {
    return {
      id: `/subscriptions/${sub}`,
      authorizationSource: 'RoleBased',
      managedByTenants: [],
      subscriptionId: sub,
      tenantId: this.o.tenantId,
      displayName: `Emulated subscription ${sub.slice(0, 8)}`,
      state: 'Enabled',
      subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
    };
  }

  private requireApiVersion(req: ArmRequest, supported: string[] | undefined): string {
    const v = req.query.get('api-version');
    if (!v) {
      throw new ApiError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    }
    if (supported && !supported.includes(v)) {
      throw new ApiError(400, 'InvalidApiVersionParameter', `The api-version '${v}' is invalid. The supported versions are '${[...supported].reverse().join(',')}'.`);
    }
    return v;
  }

  private noRoute(req: ArmRequest): ApiError {
    return new ApiError(404, 'InvalidResourceType', `The resource type could not be found for the path '${req.path}'.`);
  }

  private invalidType(type: string, req: ArmRequest): ApiError {
    return new ApiError(404, 'InvalidResourceType',
      `The resource type '${type}' could not be found in the namespace '${NS}' for api version '${req.query.get('api-version') ?? ''}'.`);
  }

  private methodNotAllowed(method: string): ApiError {
    return new ApiError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
  }

  // ---------------------------------------------------------------- resource groups

  private rgJson(g: ResourceGroup): Record<string, unknown> {
    return {
      id: this.rgId(g.sub, g.name),
      name: g.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: g.location,
      ...(g.tags ? { tags: g.tags } : {}),
      ...(g.managedBy ? { managedBy: g.managedBy } : {}),
      properties: { provisioningState: g.state },
    };
  }

  private resourceGroup(req: ArmRequest, sub: string, name: string): ArmResponse {
    const key = this.rgKey(sub, name);
    const g = this.resourceGroups.get(key);
    switch (req.method) {
      case 'HEAD':
        return { status: g ? 204 : 404 };
      case 'GET':
        return { status: 200, body: this.rgJson(this.getRg(sub, name)) };
      case 'PUT': {
        if (!/^[-\w._()]{1,90}$/.test(name) || name.endsWith('.')) {
          throw new ApiError(400, 'InvalidResourceGroupName', `The resource group name '${name}' is invalid. It can include alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters.`);
        }
        const body = this.objectBody(req);
        if (body.location === undefined || body.location === null || body.location === '') {
          throw new ApiError(400, 'LocationRequired', 'The location property is required for this definition.');
        }
        const loc = normalizeLocation(body.location);
        if (!loc) throw locationNotAvailable(String(body.location), 'Microsoft.Resources/resourceGroups');
        const tags = tagsOf(body.tags);
        if (g) {
          if (g.state === 'Deleting') {
            throw new ApiError(409, 'ResourceGroupBeingDeleted', `The resource group '${g.name}' is in deprovisioning state and cannot perform this operation.`);
          }
          if (g.location !== loc.short) {
            throw new ApiError(409, 'InvalidResourceGroupLocation', `Invalid resource group location '${loc.short}'. The Resource group already exists in location '${g.location}'.`);
          }
          g.tags = tags;
          if (typeof body.managedBy === 'string') g.managedBy = body.managedBy;
          return { status: 200, body: this.rgJson(g) };
        }
        const ng: ResourceGroup = { sub, name, location: loc.short, tags, state: 'Succeeded' };
        if (typeof body.managedBy === 'string') ng.managedBy = body.managedBy;
        this.resourceGroups.set(key, ng);
        return { status: 201, body: this.rgJson(ng) };
      }
      case 'PATCH': {
        const rg = this.getRg(sub, name);
        const body = this.objectBody(req);
        if (body.tags !== undefined) rg.tags = tagsOf(body.tags);
        if (typeof body.managedBy === 'string') rg.managedBy = body.managedBy;
        return { status: 200, body: this.rgJson(rg) };
      }
      case 'DELETE': {
        const rg = this.getRg(sub, name);
        const op = rg.deletion ?? this.deleteResourceGroup(rg, req);
        const token = op.rgToken!;
        return {
          status: 202,
          headers: {
            'Location': `${this.o.baseUrl()}/subscriptions/${sub}/operationresults/${token}?api-version=${req.query.get('api-version')}`,
            'Retry-After': String(op.retryAfterSeconds),
          },
        };
      }
      default:
        throw this.methodNotAllowed(req.method);
    }
  }

  private deleteResourceGroup(rg: ResourceGroup, req: ArmRequest): Operation {
    rg.state = 'Deleting';
    const job = { jobId: `RESOURCEGROUPDELETIONJOB-${rg.name.toUpperCase()}-${randomBytes(3).toString('hex').toUpperCase()}`, jobLocation: rg.location };
    const op: Operation = {
      id: randomUUID(),
      name: 'DeleteResourceGroup',
      sub: rg.sub,
      location: rg.location,
      resourceId: this.rgId(rg.sub, rg.name),
      kind: 'delete',
      apiVersion: req.query.get('api-version') ?? '',
      status: 'InProgress',
      retryAfterSeconds: this.retryAfterFor('DeleteResourceGroup'),
      startTime: new Date(),
      done: Promise.resolve(),
      rgToken: Buffer.from(JSON.stringify(job)).toString('base64url'),
    };
    rg.deletion = op;
    this.rgOps.set(op.rgToken!, op);
    op.done = (async () => {
      const started = Date.now();
      try {
        const servers = [...this.servers.values()].filter((s) => s.sub === rg.sub && s.rg.toLowerCase() === rg.name.toLowerCase());
        await Promise.all(servers.map(async (s) => {
          // Let an operation in flight finish, then drop the server.
          while (s.current && s.current.status === 'InProgress' && s.state !== 'Dropping') await s.current.done;
          if (s.state === 'Dropping' && s.current) {
            await s.current.done;
            if (!this.servers.has(s.name)) return;
          }
          await Promise.all([...s.childOps].map((o) => o.done));
          s.state = 'Dropping';
          await this.dropServer(s);
        }));
        const left = this.timing.provisioningDelayMs - (Date.now() - started);
        if (left > 0) await this.sleep(left);
        this.resourceGroups.delete(this.rgKey(rg.sub, rg.name));
        op.status = 'Succeeded';
      } catch (e) {
        this.o.log(`resource group deletion of ${rg.name} failed: ${(e as Error).message}`);
        rg.state = 'Succeeded';
        rg.deletion = undefined;
        op.status = 'Failed';
        op.error = { code: 'InternalServerError', message: (e as Error).message, status: 500 };
      } finally {
        op.endTime = new Date();
      }
    })();
    return op;
  }

  private rgOperationResult(sub: string, token: string): ArmResponse {
    const op = this.rgOps.get(token);
    if (!op || op.sub !== sub) throw new ApiError(404, 'ResourceNotFound', `The operation '${token}' could not be found.`);
    if (op.status === 'InProgress') {
      return {
        status: 202,
        headers: {
          'Location': `${this.o.baseUrl()}/subscriptions/${sub}/operationresults/${token}?api-version=${op.apiVersion}`,
          'Retry-After': String(op.retryAfterSeconds),
        },
      };
    }
    if (op.status === 'Failed') throw new ApiError(op.error!.status, op.error!.code, op.error!.message);
    return { status: 200 };
  }

  // ---------------------------------------------------------------- operations

  private operationStatus(sub: string, id: string, asyncOperation: boolean): ArmResponse {
    const op = this.operations.get(id.toLowerCase()) ?? this.operations.get(id);
    if (!op || op.sub.toLowerCase() !== sub.toLowerCase()) {
      throw new ApiError(404, 'ResourceNotFound', `The requested resource of type '${NS}/locations/${asyncOperation ? 'azureAsyncOperation' : 'operationResults'}' with name '${id}' was not found.`);
    }
    const retry = { 'Retry-After': String(op.retryAfterSeconds) };
    if (asyncOperation) {
      const body: Record<string, unknown> = { name: op.id, status: op.status, startTime: op.startTime.toISOString() };
      // As recorded: name, status, startTime (no endTime), and error when Failed.
      if (op.error) body.error = { code: op.error.code, message: op.error.message };
      return { status: 200, body, headers: retry };
    }
    if (op.status === 'InProgress') {
      return { status: 202, headers: { ...retry, Location: this.opUrl(op, 'operationResults') } };
    }
    if (op.status === 'Failed' || op.status === 'Canceled') throw new ApiError(op.error!.status, op.error!.code, op.error!.message);
    if (op.kind === 'upsert') {
      const body = this.resourceBody(op.resourceId, op.apiVersion);
      if (body) return { status: 200, body };
    }
    return { status: 204 };
  }

  /** The GET body of a resource by id (for operationResults of upserts). */
  private resourceBody(id: string, apiVersion: string): unknown {
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/[^/]+\/flexibleServers\/([^/]+)(?:\/(databases|firewallRules|configurations|administrators)\/([^/]+))?$/i.exec(id);
    if (!m) return undefined;
    const s = this.findServer(m[1], m[2], m[3]);
    if (!s) return undefined;
    const req = { query: new URLSearchParams({ 'api-version': apiVersion }) } as ArmRequest;
    if (!m[4]) return this.serverJson(s, req);
    try {
      if (m[4].toLowerCase() === 'databases') return this.databaseJson(s, m[5], req);
      if (m[4].toLowerCase() === 'firewallrules') return this.firewallJson(s, m[5], req);
      if (m[4].toLowerCase() === 'administrators') return this.administratorJsonOf(s, m[5]);
      return this.configJson(s, configSpec(m[5])!, req);
    } catch {
      return undefined;
    }
  }

  // ---------------------------------------------------------------- flexible servers

  private objectBody(req: ArmRequest): Record<string, unknown> {
    if (req.body === undefined) {
      throw new ApiError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: the request body is empty.');
    }
    if (!isObj(req.body)) {
      throw new ApiError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: the request body must be a JSON object.');
    }
    return req.body;
  }

  private flexibleServers(req: ArmRequest, sub: string, rg: string, rest: string[], lrest: string[]): Promise<ArmResponse> | ArmResponse {
    if (rest.length === 0) {
      if (req.method !== 'GET') throw this.methodNotAllowed(req.method);
      this.getRg(sub, rg);
      const value = [...this.servers.values()]
        .filter((s) => s.sub === sub && s.rg.toLowerCase() === rg.toLowerCase())
        .map((s) => this.serverJson(s, req));
      return { status: 200, body: { value } };
    }
    const name = rest[0];
    if (rest.length === 1) return this.server(req, sub, rg, name);
    const child = lrest[1];
    if (rest.length === 2 && ['restart', 'start', 'stop'].includes(child)) {
      if (req.method !== 'POST') throw this.methodNotAllowed(req.method);
      return this.serverAction(req, sub, rg, name, child as 'restart' | 'start' | 'stop');
    }
    if (child === 'databases' && rest.length <= 3) return this.databases(req, sub, rg, name, rest[2]);
    if (child === 'firewallrules' && rest.length <= 3) return this.firewallRules(req, sub, rg, name, rest[2]);
    if (child === 'configurations' && rest.length <= 3) return this.configurations(req, sub, rg, name, rest[2]);
    if (child === 'administrators' && rest.length <= 3) return this.administrators(req, sub, rg, name, rest[2]);
    throw this.invalidType(`flexibleServers/${rest[1]}`, req);
  }

  serverJson(s: ServerRecord, req: Pick<ArmRequest, 'query'>): Record<string, unknown> {
    const v = req.query.get('api-version') ?? '2025-08-01';
    const m = s.model;
    const old = v === '2021-06-01';
    const props: Record<string, unknown> = {
      fullyQualifiedDomainName: s.address,
      version: m.version,
      minorVersion: MINOR_VERSIONS[m.version] ?? '0',
      ...(m.administratorLogin ? { administratorLogin: m.administratorLogin } : {}),
      state: s.state,
      availabilityZone: m.availabilityZone,
      storage: old ? { storageSizeGB: m.storage.storageSizeGB } : { ...m.storage },
      backup: {
        ...m.backup,
        earliestRestoreDate: new Date(Math.max(Date.parse(s.systemData.createdAt), Date.now() - m.backup.backupRetentionDays * 86400_000))
          .toISOString(),
      },
      network: { ...m.network },
      highAvailability: {
        mode: m.highAvailability.mode,
        state: s.haState,
        ...(m.highAvailability.standbyAvailabilityZone ? { standbyAvailabilityZone: m.highAvailability.standbyAvailabilityZone } : {}),
      },
      maintenanceWindow: { ...m.maintenanceWindow },
    };
    // 2021-06-01 answers had this flag (see the recording); later versions moved it to storage.autoGrow.
    if (old) props.storageAutoGrowth = m.storage.autoGrow === 'Enabled';
    if (!old) {
      Object.assign(props, {
        // With Entra sign-in on, Azure answers the tenant it uses (the subscription's unless one was given).
        authConfig: { ...m.authConfig, ...(m.authConfig.activeDirectoryAuth === 'Enabled' ? { tenantId: this.entraTenantOf(s) } : {}) },
        dataEncryption: { ...m.dataEncryption },
        ...replicationJson(m.createMode === 'Replica' ? m.sourceServerResourceId : undefined, false),
        ...(m.createMode === 'PointInTimeRestore' ? { sourceServerResourceId: m.sourceServerResourceId } : {}),
        privateEndpointConnections: [],
      });
    }
    return {
      sku: { ...m.sku },
      ...(m.identity && !old ? { identity: m.identity } : {}),
      ...(old ? {} : { systemData: s.systemData }),
      properties: props,
      location: s.location.display,
      ...(s.tags ? { tags: s.tags } : {}),
      id: this.serverId(s),
      name: s.name,
      type: SERVER_TYPE,
    };
  }

  private async server(req: ArmRequest, sub: string, rg: string, name: string): Promise<ArmResponse> {
    const apiVersion = req.query.get('api-version')!;
    switch (req.method) {
      case 'GET': {
        this.getRg(sub, rg);
        const s = this.findServer(sub, rg, name);
        if (!s) throw this.serverNotFound(name);
        return { status: 200, body: this.serverJson(s, req) };
      }
      case 'PUT':
        return this.putServer(req, sub, rg, name, apiVersion);
      case 'PATCH': {
        this.getRg(sub, rg);
        const s = this.findServer(sub, rg, name);
        if (!s) throw this.serverNotFound(name);
        const body = this.objectBody(req);
        const state = this.writable(s);
        const promoteMode = isObj(body.properties) && isObj(body.properties.replica) ? body.properties.replica.promoteMode : undefined;
        if (promoteMode !== undefined && s.model.createMode === 'Replica') return this.promoteReplica(req, s, apiVersion);
        const { model, password } = applyServerRequest(s.model, body, s.model);
        this.checkPrivateDnsZone(model);
        if (isObj(body.properties) && (body.properties.authConfig !== undefined || password !== undefined)) {
          this.o.log(`updating server ${name}: ${signInOf(model, password)}`);
        }
        const tags = body.tags !== undefined ? tagsOf(body.tags) : s.tags;
        if (state === 'busy') return this.busyOp(req, s, 'UpsertServerManagementOperationV2', this.serverId(s), 'upsert');
        return this.updateServer(req, s, model, password, tags, apiVersion);
      }
      case 'DELETE':
        return this.deleteServer(req, sub, rg, name, apiVersion);
      default:
        throw this.methodNotAllowed(req.method);
    }
  }

  private async putServer(req: ArmRequest, sub: string, rg: string, name: string, apiVersion: string): Promise<ArmResponse> {
    const group = this.getRg(sub, rg);
    if (group.state === 'Deleting') {
      throw new ApiError(409, 'ResourceGroupBeingDeleted', `The resource group '${group.name}' is in deprovisioning state and cannot perform this operation.`);
    }
    validateServerName(name);
    const body = this.objectBody(req);
    if (body.location === undefined || body.location === null || body.location === '') {
      throw new ApiError(400, 'LocationRequired', 'The location property is required for this definition.');
    }
    const loc = normalizeLocation(body.location);
    if (!loc) throw locationNotAvailable(String(body.location), SERVER_TYPE);
    const tags = tagsOf(body.tags);
    const any = this.servers.get(name.toLowerCase());
    if (any && any !== this.findServer(sub, rg, name)) {
      throw new ApiError(409, 'ServerNameAlreadyExists', 'Specified server name is already used.');
    }
    const existing = any;
    if (existing) {
      if (existing.location.short !== loc.short) {
        throw new ApiError(400, 'InvalidResourceLocation',
          `The resource '${name}' already exists in location '${existing.location.short}' in resource group '${existing.rg}'. A resource with the same name cannot be created in location '${loc.short}'. Please select a new resource name.`);
      }
      const state = this.writable(existing);
      const { model, password } = applyServerRequest(existing.model, body, existing.model);
      this.checkPrivateDnsZone(model);
      if (state === 'busy') return this.busyOp(req, existing, 'UpsertServerManagementOperationV2', this.serverId(existing), 'upsert');
      return this.updateServer(req, existing, model, password, tags, apiVersion, loc.short);
    }
    const { model, password } = applyServerRequest(defaultServerModel(), body, undefined);
    this.checkPrivateDnsZone(model, name);
    if (model.sourceServerResourceId) this.checkSource(model);
    this.o.log(`creating server ${name}: ${signInOf(model, password)}`);
    return this.createServer(req, { sub, rg: group.name, name, loc, tags, model, password: password!, apiVersion });
  }

  /**
   * A private DNS zone must be named `<name>.<this cloud's suffix>`, and `<name>` must not be a server's name (that
   * server's host name would be the zone's). `creating`: the name of the server being created.
   */
  private checkPrivateDnsZone(model: ServerModel, creating?: string): void {
    const zoneId = model.network.privateDnsZoneArmResourceId;
    if (!zoneId) return;
    const zone = zoneId.slice(zoneId.lastIndexOf('/') + 1).toLowerCase();
    const tail = `.${this.o.privateDnsZoneSuffix.toLowerCase()}`;
    if (!zone.endsWith(tail)) {
      throw invalidParameter('Network.PrivateDnsZoneArmResourceId', `The private DNS zone name must end with '${tail}'.`);
    }
    const named = zone.slice(0, zone.length - tail.length);
    if (named === creating?.toLowerCase() || this.servers.has(named)) {
      throw invalidParameter('Network.PrivateDnsZoneArmResourceId',
        `The private DNS zone '${zone}' has the name of a server ('${named}'). Choose a private DNS zone name that is not '<server name>${tail}'.`);
    }
  }

  private allocateIndex(): number {
    let n = 1;
    while (this.usedIndexes.has(n) || this.foreignIndexes.has(n)) n++;
    this.usedIndexes.add(n);
    return n;
  }

  private createServer(req: ArmRequest, p: {
    sub: string;
    rg: string;
    name: string;
    loc: { short: string; display: string };
    tags?: Record<string, string>;
    model: ServerModel;
    password: string;
    apiVersion: string;
  }): ArmResponse {
    const s: ServerRecord = {
      sub: p.sub,
      rg: p.rg,
      name: p.name,
      location: p.loc,
      tags: p.tags,
      model: p.model,
      state: 'Provisioning',
      haState: p.model.highAvailability.mode === 'Disabled' ? 'NotEnabled' : 'CreatingStandby',
      index: this.allocateIndex(),
      address: '',
      databases: new Map(),
      firewallRules: new Map(),
      administrators: new Map(),
      configs: new Map(),
      systemData: this.systemData(req.appId),
      childOps: new Set(),
    };
    this.servers.set(p.name, s);
    this.o.stats.serverCreated(p.name);
    this.o.stats.write(this.serverId(s), req.method);
    const remove = async () => {
      await s.pg?.destroy().catch(() => undefined);
      s.pg = undefined;
      if (this.servers.get(s.name) === s) this.servers.delete(s.name);
      this.usedIndexes.delete(s.index);
    };
    const op = this.startOp(req, {
      name: 'UpsertServerManagementOperationV2',
      sub: p.sub,
      location: p.loc.short,
      resourceId: this.serverId(s),
      kind: 'upsert',
      apiVersion: p.apiVersion,
      work: async () => {
        await this.provision(s, p.password);
        return () => {
          s.state = 'Ready';
          s.haState = s.model.highAvailability.mode === 'Disabled' ? 'NotEnabled' : 'Healthy';
        };
      },
      rollback: remove,
      abandon: remove,
    });
    s.current = op;
    return this.accepted(op);
  }

  /**
   * Makes the PostgreSQL instance of a new server. Another emulator (or anything else) may take the chosen loopback
   * address between the check and the bind: then the next free address is tried.
   */
  private async provision(s: ServerRecord, password: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let address = addressFor(this.o.serverAddressBase, s.index);
      for (let tries = 0; !(await addressFree(address, PG_PORT)) || !(await addressFree(address, PG_BACKEND_PORT)); tries++) {
        if (tries > 250) throw new Error(`no free loopback address for PostgreSQL from ${this.o.serverAddressBase}`);
        this.takeAnotherIndex(s);
        address = addressFor(this.o.serverAddressBase, s.index);
      }
      s.address = address;
      try {
        await this.startInstance(s, address, password);
        return;
      } catch (e) {
        if (!(e instanceof PgStartError && e.addressInUse) || attempt >= 10 || this.stopped) throw e;
        this.o.log(`address ${address} was taken while ${s.name} started; trying another`);
        await s.pg?.destroy().catch(() => undefined);
        s.pg = undefined;
        this.takeAnotherIndex(s);
      }
    }
  }

  private takeAnotherIndex(s: ServerRecord): void {
    this.foreignIndexes.add(s.index);
    this.usedIndexes.delete(s.index);
    s.index = this.allocateIndex();
  }

  private async startInstance(s: ServerRecord, address: string, password: string): Promise<void> {
    const cert = await issueServerCertificate(this.o.ca, address, [address], [`${s.name}.postgres.database.azure.com`, 'localhost']);
    const settings: Record<string, string> = {};
    const { mem, cores } = this.memOf(s);
    for (const spec of CONFIG_SPECS) {
      if (!spec.apply) continue;
      let v = defaultOf(spec, mem, cores);
      if (spec.name === 'max_connections') v = String(Math.min(Number(v), 1000));
      settings[spec.name] = `'${v.replace(/'/g, "''")}'`;
    }
    Object.assign(settings, await extensionSettings(this.o.postgresBinDir));
    if (this.stopped) throw new Error('emulator stopped');
    const dir = join(this.o.dataDir, 'servers', String(s.index));
    const source = this.sourceOf(s.model);
    Object.assign(settings, archiveSettings(dir));
    const pg = new PgInstance({
      superuserPassword: source?.pg?.superuserPassword,
      binDir: this.o.postgresBinDir,
      dir,
      address,
      port: PG_BACKEND_PORT,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      caPem: this.o.ca.certPem,
      runAs: this.o.runAs,
      settings,
      allowedClients: this.allowedClients(s),
    });
    pg.front = this.pgFront(s, pg, address, cert);
    s.pg = pg;
    if (source?.pg) {
      await this.initFromSource(s, pg, source.pg);
      return;
    }
    await pg.init();
    await prepareArchive(pg);
    if (this.stopped) throw new Error('emulator stopped');
    await pg.start();
    // A server created with password sign-in off has no password administrator (azure-cli's create sends none:
    // Azure/azure-cli PR #30999); one is made when password sign-in is first turned on (updateServer).
    const login = s.model.administratorLogin;
    await pg.setupAdmin(login, login ? password ?? randomBytes(24).toString('base64url') : undefined);
    await installPgaadauth(pg, this.entraTenantOf(s));
    this.backUp(s, pg);
  }

  /** Starts the base backup of a server in the background (a restore waits for it; a server gone meanwhile ends it). */
  private backUp(s: ServerRecord, pg: PgInstance): void {
    s.baseBackup = takeBaseBackup(pg).catch((e) => this.o.log(`base backup of ${s.name} failed: ${(e as Error).message}`));
  }

  /** The wire-protocol front clients reach on address:5432 (pg-front.ts): sign-in as Azure does it. */
  private pgFront(s: ServerRecord, pg: PgInstance, address: string, cert: { certPem: string; keyPem: string }): PgFront {
    return new PgFront({
      address,
      port: PG_PORT,
      backendPort: PG_BACKEND_PORT,
      certPem: cert.certPem,
      keyPem: cert.keyPem,
      caPem: this.o.ca.certPem,
      policy: () => ({
        activeDirectoryAuth: s.model.authConfig.activeDirectoryAuth === 'Enabled',
        passwordAuth: s.model.authConfig.passwordAuth === 'Enabled',
        tenantId: this.entraTenantOf(s),
      }),
      validateToken: this.o.validateDatabaseToken,
      objectIdOf: (role) => objectIdOfRole(pg, role),
      setInternalPassword: (role, pw) => pg.sql(`ALTER ROLE ${quoteIdent(role)} WITH PASSWORD ${quoteLiteral(scramVerifier(pw))}`).then(() => undefined),
      log: this.o.log,
    });
  }


  /** A replica (streaming, replicas.ts) or a point-in-time restore (restore.ts) of `source`. */
  private async initFromSource(s: ServerRecord, pg: PgInstance, source: PgInstance): Promise<void> {
    if (s.model.createMode === 'Replica') {
      await initReplica(pg, source);
      await pg.start();
      return;
    }
    await this.sourceOf(s.model)?.baseBackup;
    await archiveUpTo(source);
    await initRestore(pg, source, s.model.pointInTimeUTC!);
    await pg.start();
    for (let i = 0; i < 600 && (await pg.sql('SELECT pg_is_in_recovery() AS r'))[0].r === true; i++) await new Promise((r) => setTimeout(r, 100));
    this.backUp(s, pg);
  }

  /** A replica or a restore needs its source to exist (and, for a restore, a time within its backups). */
  private checkSource(model: ServerModel): void {
    const source = this.sourceOf(model);
    if (!source || !source.pg) {
      throw new ApiError(404, 'ResourceNotFound', `The source server '${model.sourceServerResourceId}' was not found.`);
    }
    model.administratorLogin = source.model.administratorLogin;
    model.version = source.model.version;
    if (model.createMode === 'PointInTimeRestore') {
      const time = Date.parse(model.pointInTimeUTC!);
      const earliest = Math.max(Date.parse(source.systemData.createdAt), Date.now() - source.model.backup.backupRetentionDays * 86400_000);
      if (time < earliest || time > Date.now()) {
        throw invalidParameter('pointInTimeUTC',
          `The point in time '${model.pointInTimeUTC}' is outside the restore window of server '${source.name}': it must be between ${new Date(earliest).toISOString()} and now.`);
      }
    }
  }

  /** The server a replica or a restore is made from (its sourceServerResourceId), if it exists. */
  private sourceOf(model: ServerModel): ServerRecord | undefined {
    const id = model.sourceServerResourceId;
    if (!id) return undefined;
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/([^/]+)$/i.exec(id);
    return m ? this.findServer(m[1], m[2], m[3]) : undefined;
  }

  private updateServer(req: ArmRequest, s: ServerRecord, model: ServerModel, password: string | undefined,
    tags: Record<string, string> | undefined, apiVersion: string, location = s.location.short): ArmResponse {
    const before = s.model;
    const beforeHa = s.haState;
    this.o.stats.write(this.serverId(s), req.method);
    s.state = 'Updating';
    const haChange = before.highAvailability.mode !== model.highAvailability.mode;
    if (haChange) s.haState = model.highAvailability.mode === 'Disabled' ? 'RemovingStandby' : 'CreatingStandby';
    const op = this.startOp(req, {
      name: 'UpsertServerManagementOperationV2',
      sub: s.sub,
      location,
      resourceId: this.serverId(s),
      kind: 'upsert',
      apiVersion,
      work: async () => {
        const pg = s.pg!;
        if (password !== undefined && model.administratorLogin) {
          // The first time password sign-in is turned on, Azure creates the administrator role with the login and
          // password of the request ("creating admin role while enabling Password Authentication": the text of
          // EngineCredentialsNotProvided, Azure/azure-cli issue #29346).
          if (before.administratorLogin) await pg.setPassword(model.administratorLogin, password);
          else await pg.createAdministrator(model.administratorLogin, password);
        }
        if (before.sku.name !== model.sku.name) {
          // Scaling compute restarts the server; defaults that depend on memory follow the new SKU.
          const info = SKUS.get(model.sku.name.toLowerCase())!;
          for (const spec of CONFIG_SPECS) {
            if (!spec.apply || typeof spec.defaultValue !== 'function' || s.configs.has(spec.name)) continue;
            let v = defaultOf(spec, info.memGiB, info.vCores);
            if (spec.name === 'max_connections') v = String(Math.min(Number(v), 1000));
            await pg.sql(`ALTER SYSTEM SET ${spec.name} = '${v}'`);
          }
          await pg.restart();
          for (const c of s.configs.values()) c.pendingRestart = false;
        }
        return async () => {
          const tenantBefore = this.entraTenantOf(s);
          s.model = model;
          if (this.entraTenantOf(s) !== tenantBefore) await setPgaadauthTenant(pg, this.entraTenantOf(s));
          s.tags = tags;
          s.systemData = this.systemData(req.appId, s.systemData);
          s.haState = model.highAvailability.mode === 'Disabled' ? 'NotEnabled' : 'Healthy';
          if (before.network.publicNetworkAccess !== model.network.publicNetworkAccess) await this.applyFirewall(s);
          s.state = 'Ready';
        };
      },
      rollback: () => {
        s.model = before;
        s.haState = beforeHa;
        s.state = 'Ready';
      },
    });
    s.current = op;
    return this.accepted(op);
  }

  /** replica.promoteMode: the replica stops replicating and takes writes (replicas.ts). */
  private promoteReplica(req: ArmRequest, s: ServerRecord, apiVersion: string): ArmResponse {
    if (this.writable(s) === 'busy') return this.busyOp(req, s, 'UpsertServerManagementOperationV2', this.serverId(s), 'upsert');
    this.o.stats.write(this.serverId(s), req.method);
    s.state = 'Updating';
    const op = this.startOp(req, {
      name: 'UpsertServerManagementOperationV2',
      sub: s.sub,
      location: s.location.short,
      resourceId: this.serverId(s),
      kind: 'upsert',
      apiVersion,
      work: async () => {
        await promote(s.pg!);
        this.backUp(s, s.pg!);
        return () => {
          s.model = { ...s.model, createMode: 'Default', sourceServerResourceId: undefined };
          s.state = 'Ready';
        };
      },
      rollback: () => {
        s.state = 'Ready';
      },
    });
    s.current = op;
    return this.accepted(op);
  }

  private async dropServer(s: ServerRecord): Promise<void> {
    await s.pg?.destroy();
    s.pg = undefined;
    if (this.servers.get(s.name) === s) this.servers.delete(s.name);
    this.usedIndexes.delete(s.index);
  }

  private deleteServer(req: ArmRequest, sub: string, rg: string, name: string, apiVersion: string): ArmResponse {
    this.getRg(sub, rg);
    const s = this.findServer(sub, rg, name);
    if (!s) return { status: 204 };
    if (s.state === 'Dropping' && s.current) {
      // A second DELETE while dropping: a new operation that ends with the first.
      const first = s.current;
      const op = this.startOp(req, {
        name: 'DropServerManagementOperation',
        sub,
        location: s.location.display,
        resourceId: this.serverId(s),
        kind: 'delete',
        apiVersion,
        delayMs: 0,
        work: async () => first.done,
        rollback: () => undefined,
      });
      return this.accepted(op);
    }
    if (s.state !== 'Ready' && s.state !== 'Stopped') return this.busyOp(req, s, 'DropServerManagementOperation', this.serverId(s), 'delete');
    const prev = s.state;
    s.state = 'Dropping';
    this.o.stats.write(this.serverId(s), req.method);
    const op = this.startOp(req, {
      name: 'DropServerManagementOperation',
      sub,
      location: s.location.display,
      resourceId: this.serverId(s),
      kind: 'delete',
      apiVersion,
      work: async () => {
        await s.pg?.destroy();
        s.pg = undefined;
        return () => {
          if (this.servers.get(s.name) === s) this.servers.delete(s.name);
          this.usedIndexes.delete(s.index);
        };
      },
      rollback: async () => {
        // The PostgreSQL instance is kept: an injected failure happens before anything is dropped.
        s.state = prev;
      },
    });
    s.current = op;
    return this.accepted(op);
  }

  private serverAction(req: ArmRequest, sub: string, rg: string, name: string, action: 'restart' | 'start' | 'stop'): ArmResponse {
    this.getRg(sub, rg);
    const s = this.findServer(sub, rg, name);
    if (!s) throw this.serverNotFound(name);
    if (action === 'start') {
      if (s.state !== 'Stopped') {
        throw new ApiError(409, 'ServerNotStopped', `Server '${s.name}' cannot be started because it is not stopped (state '${s.state}').`);
      }
    }
    const names = { restart: 'RestartServerManagementOperation', start: 'StartServerManagementOperation', stop: 'StopServerManagementOperation' };
    if (action === 'restart' && req.body !== undefined && !isObj(req.body)) throw invalidParameter('parameters');
    if (action !== 'start' && this.writable(s) === 'busy') return this.busyOp(req, s, names[action], this.serverId(s), 'action');
    const prev = s.state;
    s.state = action === 'restart' ? 'Restarting' : action === 'start' ? 'Starting' : 'Stopping';
    this.o.stats.write(this.serverId(s), `POST ${action}`);
    const op = this.startOp(req, {
      name: names[action],
      sub,
      location: s.location.short,
      resourceId: this.serverId(s),
      kind: 'action',
      apiVersion: req.query.get('api-version')!,
      work: async () => {
        if (action === 'stop') {
          await s.pg!.stop();
          return () => {
            s.state = 'Stopped';
          };
        }
        if (action === 'restart') await s.pg!.restart();
        else await s.pg!.start();
        return () => {
          for (const c of s.configs.values()) c.pendingRestart = false;
          s.state = 'Ready';
        };
      },
      rollback: () => {
        s.state = prev;
      },
    });
    s.current = op;
    return this.accepted(op);
  }

  private checkName(req: ArmRequest): ArmResponse {
    const body = this.objectBody(req);
    const name = typeof body.name === 'string' ? body.name : '';
    try {
      validateServerName(name);
    } catch (e) {
      return { status: 200, body: { name, type: SERVER_TYPE, nameAvailable: false, reason: 'Invalid', message: (e as Error).message } };
    }
    if (this.servers.has(name)) {
      return { status: 200, body: { name, type: SERVER_TYPE, nameAvailable: false, reason: 'AlreadyExists', message: 'Specified server name is already used.' } };
    }
    return { status: 200, body: { name, type: SERVER_TYPE, nameAvailable: true, message: '' } };
  }

  /** A child operation: tracked on the server (so it cannot be dropped underneath). */
  private childOp(req: ArmRequest, s: ServerRecord, p: Parameters<Arm['startOp']>[1]): ArmResponse {
    this.o.stats.write(p.resourceId, req.method);
    const op = this.startOp(req, p);
    s.childOps.add(op);
    void op.done.finally(() => s.childOps.delete(op));
    return this.accepted(op);
  }

  // ---------------------------------------------------------------- databases

  private databaseJson(s: ServerRecord, name: string, req: Pick<ArmRequest, 'query'>): Record<string, unknown> {
    const id = `${this.serverId(s)}/databases/${name}`;
    const type = `${SERVER_TYPE}/databases`;
    const old = req.query.get('api-version') === '2021-06-01';
    const sys = SYSTEM_DATABASES.slice(0, 3).find((d) => d === name);
    if (sys) {
      return { properties: { charset: 'UTF8', collation: 'en_US.utf8' }, ...(old ? {} : { systemData: s.systemData }), id, name: sys, type };
    }
    const d = s.databases.get(name);
    if (!d) throw new ApiError(404, 'ResourceNotFound', `The requested resource of type '${type}' with name '${name}' was not found.`);
    return { properties: { charset: d.charset, collation: d.collation }, ...(old ? {} : { systemData: d.systemData }), id, name: d.name, type };
  }

  private databases(req: ArmRequest, sub: string, rg: string, serverName: string, name: string | undefined): ArmResponse {
    const write = req.method === 'PUT' || req.method === 'PATCH';
    const s = this.parentServer(sub, rg, serverName, write);
    const apiVersion = req.query.get('api-version')!;
    if (name === undefined) {
      if (req.method !== 'GET') throw this.methodNotAllowed(req.method);
      const names = [...SYSTEM_DATABASES.slice(0, 3), ...[...s.databases.keys()].sort()];
      return { status: 200, body: { value: names.map((n) => this.databaseJson(s, n, req)) } };
    }
    const resourceId = `${this.serverId(s)}/databases/${name}`;
    switch (req.method) {
      case 'GET':
        return { status: 200, body: this.databaseJson(s, name, req) };
      case 'PUT': {
        validateDatabaseName(name);
        if (['template0', 'template1'].includes(name)) {
          throw new ApiError(400, 'InvalidDatabaseName', `The database name '${name}' is reserved.`);
        }
        const body = this.objectBody(req);
        const props = isObj(body.properties) ? body.properties : {};
        const charset = props.charset === undefined || props.charset === null ? 'UTF8' : enumValue('charset', String(props.charset).replace(/^utf-8$/i, 'UTF8'), CHARSETS);
        const collation = props.collation === undefined || props.collation === null ? 'en_US.utf8' : String(props.collation);
        validateCollation(collation);
        if (this.writable(s) === 'busy') return this.busyOp(req, s, 'UpsertServerDatabaseManagementOperation', resourceId, 'upsert');
        const isSystem = SYSTEM_DATABASES.includes(name);
        // A server without a password administrator gives its databases to a Microsoft Entra administrator when it
        // has one (Azure's page on Microsoft Entra authentication: turn Entra sign-in on before user databases are
        // created for Microsoft Entra principals to own them), else to azuresu (terraform-provider-azurerm issue
        // #27895). Which one of several is not documented: here, the one added first.
        const owner = s.model.administratorLogin ?? s.administrators.values().next().value?.principalName ?? SUPERUSER;
        return this.childOp(req, s, {
          name: 'UpsertServerDatabaseManagementOperation',
          sub,
          location: s.location.short,
          resourceId,
          kind: 'upsert',
          apiVersion,
          work: async () => {
            if (isSystem || s.databases.has(name)) return;
            await s.pg!.createDatabase(name, owner, charset, collation);
            return () => {
              s.databases.set(name, { name, charset, collation, systemData: this.systemData(req.appId) });
            };
          },
          rollback: () => undefined,
        });
      }
      case 'DELETE': {
        if (SYSTEM_DATABASES.includes(name)) {
          throw new ApiError(400, 'CannotDropSystemDatabase', `The database '${name}' is a system database and cannot be dropped.`);
        }
        if (!s.databases.has(name)) return { status: 204 };
        if (this.writable(s) === 'busy') return this.busyOp(req, s, 'DropServerDatabaseManagementOperation', resourceId, 'delete');
        return this.childOp(req, s, {
          name: 'DropServerDatabaseManagementOperation',
          sub,
          location: s.location.short,
          resourceId,
          kind: 'delete',
          apiVersion,
          work: async () => {
            await s.pg!.dropDatabase(name);
            return () => {
              s.databases.delete(name);
            };
          },
          rollback: () => undefined,
        });
      }
      default:
        throw this.methodNotAllowed(req.method);
    }
  }

  // ---------------------------------------------------------------- firewall rules

  private firewallJson(s: ServerRecord, name: string, req: Pick<ArmRequest, 'query'>): Record<string, unknown> {
    const type = `${SERVER_TYPE}/firewallRules`;
    const r = s.firewallRules.get(name);
    if (!r) throw new ApiError(404, 'ResourceNotFound', `The requested resource of type '${type}' with name '${name}' was not found.`);
    const old = req.query.get('api-version') === '2021-06-01';
    return {
      properties: { startIpAddress: r.startIpAddress, endIpAddress: r.endIpAddress },
      ...(old ? {} : { systemData: r.systemData }),
      id: `${this.serverId(s)}/firewallRules/${r.name}`,
      name: r.name,
      type,
    };
  }

  private firewallRules(req: ArmRequest, sub: string, rg: string, serverName: string, name: string | undefined): ArmResponse {
    const write = req.method === 'PUT' || req.method === 'PATCH';
    const s = this.parentServer(sub, rg, serverName, write);
    const apiVersion = req.query.get('api-version')!;
    if (name === undefined) {
      if (req.method !== 'GET') throw this.methodNotAllowed(req.method);
      return { status: 200, body: { value: [...s.firewallRules.keys()].sort().map((n) => this.firewallJson(s, n, req)) } };
    }
    const resourceId = `${this.serverId(s)}/firewallRules/${name}`;
    switch (req.method) {
      case 'GET':
        return { status: 200, body: this.firewallJson(s, name, req) };
      case 'PUT': {
        validateFirewallRuleName(name);
        const body = this.objectBody(req);
        const rule = validateFirewallRule(isObj(body.properties) ? body.properties : {});
        if (!s.firewallRules.has(name) && s.firewallRules.size >= 128) {
          throw new ApiError(400, 'FirewallRuleLimitExceeded', 'A server can have at most 128 firewall rules.');
        }
        if (this.writable(s) === 'busy') return this.busyOp(req, s, 'UpsertServerFirewallRulesManagementOperation', resourceId, 'upsert');
        return this.childOp(req, s, {
          name: 'UpsertServerFirewallRulesManagementOperation',
          sub,
          location: s.location.short,
          resourceId,
          kind: 'upsert',
          apiVersion,
          work: async () => {
            const prev = s.firewallRules.get(name);
            return async () => {
              s.firewallRules.set(name, { name, ...rule, systemData: this.systemData(req.appId, prev?.systemData) });
              await this.applyFirewall(s);
            };
          },
          rollback: () => undefined,
        });
      }
      case 'DELETE': {
        if (!s.firewallRules.has(name)) return { status: 204 };
        if (this.writable(s) === 'busy') return this.busyOp(req, s, 'DropServerFirewallRulesManagementOperation', resourceId, 'delete');
        return this.childOp(req, s, {
          name: 'DropServerFirewallRulesManagementOperation',
          sub,
          location: s.location.short,
          resourceId,
          kind: 'delete',
          apiVersion,
          work: async () => async () => {
            s.firewallRules.delete(name);
            await this.applyFirewall(s);
          },
          rollback: () => undefined,
        });
      }
      default:
        throw this.methodNotAllowed(req.method);
    }
  }

  // ---------------------------------------------------------------- Microsoft Entra administrators

  /** The tenant whose tokens the server accepts: authConfig.tenantId, else the subscription's. */
  private entraTenantOf(s: ServerRecord): string {
    return s.model.authConfig.tenantId || this.o.tenantId;
  }

  private administratorJsonOf(s: ServerRecord, objectId: string): Record<string, unknown> {
    const a = s.administrators.get(objectId.toLowerCase());
    if (!a) {
      throw new ApiError(404, 'ResourceNotFound', `The requested resource of type '${SERVER_TYPE}/administrators' with name '${objectId}' was not found.`);
    }
    return administratorJson(this.serverId(s), a, a.systemData);
  }

  /** An administrators write: a child operation (ServerIsBusy when the server is busy), as Azure runs it. */
  private administratorOp(req: ArmRequest, s: ServerRecord, resourceId: string, kind: 'upsert' | 'delete', work: () => Promise<() => void>): ArmResponse {
    const name = kind === 'upsert' ? 'UpsertServerAdministratorManagementOperation' : 'DropServerAdministratorManagementOperation';
    if (this.writable(s) === 'busy') return this.busyOp(req, s, name, resourceId, kind);
    return this.childOp(req, s, {
      name, sub: s.sub, location: s.location.short, resourceId, kind, apiVersion: req.query.get('api-version')!, work, rollback: () => undefined,
    });
  }

  private administrators(req: ArmRequest, sub: string, rg: string, serverName: string, objectId: string | undefined): ArmResponse {
    const s = this.parentServer(sub, rg, serverName, req.method === 'PUT');
    if (objectId === undefined) {
      if (req.method !== 'GET') throw this.methodNotAllowed(req.method);
      return { status: 200, body: { value: [...s.administrators.keys()].sort().map((k) => this.administratorJsonOf(s, k)) } };
    }
    const key = objectId.toLowerCase();
    const resourceId = `${this.serverId(s)}/administrators/${key}`;
    switch (req.method) {
      case 'GET':
        return { status: 200, body: this.administratorJsonOf(s, key) };
      case 'PUT': {
        const a = validateAdministrator(objectId, this.objectBody(req), this.entraTenantOf(s));
        if (s.model.authConfig.activeDirectoryAuth !== 'Enabled') throw entraDisabledError(s.name);
        return this.administratorOp(req, s, resourceId, 'upsert', async () => {
          await upsertAdministratorRole(s.pg!, a);
          const prev = s.administrators.get(key);
          return () => {
            s.administrators.set(key, { ...a, systemData: this.systemData(req.appId, prev?.systemData) });
          };
        });
      }
      case 'DELETE': {
        const a = s.administrators.get(key);
        if (!a) return { status: 204 };
        return this.administratorOp(req, s, resourceId, 'delete', async () => {
          await removeAdministratorRole(s.pg!, a);
          return () => {
            s.administrators.delete(key);
          };
        });
      }
      default:
        throw this.methodNotAllowed(req.method);
    }
  }

  // ---------------------------------------------------------------- configurations

  private configJson(s: ServerRecord, spec: ConfigSpec, req: Pick<ArmRequest, 'query'>): Record<string, unknown> {
    const { mem, cores } = this.memOf(s);
    const def = defaultOf(spec, mem, cores);
    const cur = s.configs.get(spec.name);
    const old = req.query.get('api-version') === '2021-06-01';
    const properties: Record<string, unknown> = {
      value: cur?.value ?? def,
      description: spec.description,
      defaultValue: def,
      dataType: spec.dataType,
      allowedValues: spec.allowedValues,
      source: cur?.source ?? 'system-default',
      isDynamicConfig: spec.isDynamicConfig,
      isReadOnly: !!spec.isReadOnly,
      isConfigPendingRestart: !!cur?.pendingRestart,
      ...(spec.unit && !old ? { unit: spec.unit } : {}),
      ...(spec.documentationLink ? { documentationLink: spec.documentationLink } : {}),
    };
    return {
      properties,
      ...(old ? {} : { systemData: s.systemData }),
      id: `${this.serverId(s)}/configurations/${spec.name}`,
      name: spec.name,
      type: `${SERVER_TYPE}/configurations`,
    };
  }

  private configurations(req: ArmRequest, sub: string, rg: string, serverName: string, name: string | undefined): ArmResponse {
    const write = req.method === 'PUT' || req.method === 'PATCH';
    const s = this.parentServer(sub, rg, serverName, write);
    const apiVersion = req.query.get('api-version')!;
    if (name === undefined) {
      if (req.method !== 'GET') throw this.methodNotAllowed(req.method);
      return { status: 200, body: { value: CONFIG_SPECS.map((c) => this.configJson(s, c, req)) } };
    }
    const spec = configSpec(name);
    switch (req.method) {
      case 'GET':
        if (!spec) {
          throw new ApiError(404, 'ResourceNotFound', `The requested resource of type '${SERVER_TYPE}/configurations' with name '${name}' was not found.`);
        }
        return { status: 200, body: this.configJson(s, spec, req) };
      case 'PUT':
      case 'PATCH': {
        if (!spec) throw new ApiError(400, 'ConfigurationNotExists', `The configuration '${name}' does not exist for server '${s.name}'.`);
        if (spec.isReadOnly) throw new ApiError(400, 'ConfigurationIsReadOnly', `The configuration '${spec.name}' is read-only and cannot be changed.`);
        const body = this.objectBody(req);
        const props = isObj(body.properties) ? body.properties : {};
        const source = typeof props.source === 'string' ? props.source : 'user-override';
        let value: string | undefined;
        if (props.value === undefined || props.value === null) {
          if (source.toLowerCase() !== 'system-default') throw invalidParameter('value');
        } else {
          value = validateConfigValue(spec, String(props.value));
        }
        if (this.writable(s) === 'busy') {
          return this.busyOp(req, s, 'UpdateConfigurationManagementOperation', `${this.serverId(s)}/configurations/${spec.name}`, 'upsert');
        }
        return this.childOp(req, s, {
          name: 'UpdateConfigurationManagementOperation',
          sub,
          location: s.location.short,
          resourceId: `${this.serverId(s)}/configurations/${spec.name}`,
          kind: 'upsert',
          apiVersion,
          work: async () => {
            const pg = s.pg!;
            if (spec.name === EXTENSIONS_PARAMETER) {
              await setAllowList(pg, value);
            } else if (spec.name === 'require_secure_transport') {
              const on = (value ?? 'on').toLowerCase();
              await pg.writeHba(on === 'on' || on === 'true');
              await pg.reload();
            } else if (spec.apply) {
              await pg.alterSystem(spec.name, value);
            }
            return () => {
              if (value === undefined) s.configs.delete(spec.name);
              else s.configs.set(spec.name, { value, source: 'user-override', pendingRestart: !spec.isDynamicConfig });
            };
          },
          rollback: () => undefined,
        });
      }
      default:
        throw this.methodNotAllowed(req.method);
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Removes every server (stopping its PostgreSQL) and resource group, and forgets operations. */
  async reset(): Promise<void> {
    const all = [...this.servers.values()];
    await Promise.all([...all.map((s) => s.current?.done), ...[...this.rgOps.values()].map((o) => o.done)].filter(Boolean));
    await Promise.all([...this.servers.values()].map((s) => this.dropServer(s).catch(() => undefined)));
    this.resourceGroups.clear();
    this.operations.clear();
    this.rgOps.clear();
    this.usedIndexes.clear();
    this.foreignIndexes.clear();
  }

  /** Stops every PostgreSQL; operations in flight are abandoned. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    // Operations in flight end quickly now (their delays are cut short); wait for them so that no PostgreSQL starts
    // after this returns.
    const inFlight = [...this.operations.values(), ...this.rgOps.values()].filter((o) => o.status === 'InProgress').map((o) => o.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(inFlight), new Promise<void>((r) => (timer = setTimeout(r, 60_000)))]);
    clearTimeout(timer);
    await Promise.all([...this.servers.values()].map((s) => s.pg?.stop().catch(() => undefined)));
  }

  /** A delay that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
    });
  }

  /** Synchronous last resort at process exit. */
  killAll(): void {
    for (const s of this.servers.values()) s.pg?.killNow();
  }

  /**
   * A change Azure makes by itself, not through ARM writes (no operation, no validation of the user's rules): moving a
   * SameZone server to ZoneRedundant, or storage autogrow raising the size (and the tier to the size's default if it
   * was lower). For drift tests: the reconciler must not fight these.
   */
  azureChange(serverName: string, change: { highAvailabilityMode?: 'SameZone' | 'ZoneRedundant' | 'Disabled'; storageSizeGB?: number }): Record<string, unknown> {
    const s = this.servers.get(serverName.toLowerCase());
    if (!s) throw new Error(`no server '${serverName}'`);
    const m: ServerModel = JSON.parse(JSON.stringify(s.model));
    if (change.highAvailabilityMode !== undefined) {
      m.highAvailability.mode = enumValue('highAvailabilityMode', change.highAvailabilityMode, ['Disabled', 'SameZone', 'ZoneRedundant']);
      s.haState = m.highAvailability.mode === 'Disabled' ? 'NotEnabled' : 'Healthy';
    }
    if (change.storageSizeGB !== undefined) {
      if (!STORAGE_SIZES_GB.includes(change.storageSizeGB) || change.storageSizeGB < m.storage.storageSizeGB) {
        throw new Error(`storageSizeGB must be one of ${STORAGE_SIZES_GB.join(', ')} and not smaller than ${m.storage.storageSizeGB}`);
      }
      if (m.storage.storageSizeGB <= 4095 && change.storageSizeGB > 4095) {
        throw new Error('autogrow does not cross 4095 GiB (the largest size that scales online); grow to 4096 GiB or more by an update');
      }
      m.storage.storageSizeGB = change.storageSizeGB;
      const def = DEFAULT_STORAGE_TIER[change.storageSizeGB];
      if (STORAGE_TIERS.indexOf(m.storage.tier) < STORAGE_TIERS.indexOf(def)) {
        m.storage.tier = def;
        m.storage.iops = STORAGE_TIER_IOPS[def];
      }
    }
    s.model = m;
    s.systemData = this.systemData('Microsoft.DBforPostgreSQL', s.systemData);
    return this.serverJson(s, { query: new URLSearchParams({ 'api-version': '2025-08-01' }) });
  }

  /** Azure starts a stopped server by itself after 7 days (server-actions.ts); now, for tests. */
  async autoStart(serverName: string): Promise<Record<string, unknown>> {
    const s = this.servers.get(serverName.toLowerCase());
    if (!s) throw new Error(`no server '${serverName}'`);
    await autoStart(s);
    return this.serverJson(s, { query: new URLSearchParams({ 'api-version': '2025-08-01' }) });
  }

  describe(): Record<string, unknown> {
    return {
      subscriptions: this.o.subscriptions,
      resourceGroups: [...this.resourceGroups.values()].map((g) => this.rgJson(g)),
      servers: [...this.servers.values()].map((s) => ({
        ...this.serverJson(s, { query: new URLSearchParams({ 'api-version': '2025-08-01' }) }),
        emulator: {
          address: s.address,
          port: PG_PORT,
          postgresPort: PG_BACKEND_PORT,
          postgresRunning: !!s.pg?.running,
          postgresPid: s.pg?.pid,
          dataDir: s.pg?.dataDir,
          logFile: s.pg?.logPath,
          databases: [...s.databases.values()].map((d) => ({ name: d.name, charset: d.charset, collation: d.collation })),
          firewallRules: [...s.firewallRules.values()].map((r) => ({ name: r.name, startIpAddress: r.startIpAddress, endIpAddress: r.endIpAddress })),
          administrators: [...s.administrators.values()].map((a) => ({
            objectId: a.objectId, principalName: a.principalName, principalType: a.principalType,
          })),
          configurations: Object.fromEntries([...s.configs.entries()].map(([k, v]) => [k, v])),
          operationInProgress: s.current?.status === 'InProgress' ? s.current.name : undefined,
        },
      })),
      operations: [...this.operations.values()].map((op) => ({
        id: op.id,
        name: op.name,
        resourceId: op.resourceId,
        status: op.status,
        startTime: op.startTime.toISOString(),
        endTime: op.endTime?.toISOString(),
        error: op.error ? { code: op.error.code, message: op.error.message } : undefined,
        cause: op.cause,
      })),
    };
  }
}

/** How a server's sign-in is set, for the log: the login, whether a password came (never the password), authConfig. */
function signInOf(model: ServerModel, password: string | undefined): string {
  const { passwordAuth, activeDirectoryAuth } = model.authConfig;
  return `administratorLogin ${model.administratorLogin ?? '(none)'}, administratorLoginPassword ${password === undefined ? '(none)' : '(given)'}, ` +
    `passwordAuth ${passwordAuth}, activeDirectoryAuth ${activeDirectoryAuth}`;
}
