/**
 * Command-line flags, each with an environment variable equivalent (the flag wins), validated up front: a bad value
 * is a clear error naming the flag, the value and the fix (exit code 2), never a failure minutes later.
 */
import * as fs from 'node:fs';
import { CLUSTER_ID, DEFAULT_ENTRA_PRINCIPAL_NAME, DEFAULT_LEADER_ELECTION_ID, ENTRA_PRINCIPAL_NAME, formatScopeProblems, parseNamespaceScopes, POSTGRES_ENTRA_SCOPE, type NamespaceScopes } from '../api';
import { type BindAddress, parseBindAddress } from './health';
import { LOG_LEVELS, type LogLevel } from './log';

export const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface Config {
  /** undefined: in-cluster, then ~/.kube/config. */
  readonly kubeconfig?: string;
  readonly subscriptionId: string;
  readonly armEndpoint: string;
  readonly armScope: string;
  readonly authorityHost: string;
  readonly postgresCaFile?: string;
  /** PEM read from postgresCaFile. */
  readonly postgresCa?: string;
  /** OAuth scope of Entra tokens for PostgreSQL. */
  readonly postgresTokenScope: string;
  /** The reconciler's name as an Entra administrator of servers with Entra sign-in. */
  readonly entraPrincipalName: string;
  /** The namespaces watched and reconciled (--namespaces or --namespace); undefined: all namespaces. */
  readonly namespaces?: readonly string[];
  readonly workers: number;
  readonly resyncPeriodMs: number;
  /** undefined: the kube-system namespace's UID, read at start (main.ts). */
  readonly clusterId?: string;
  /** Namespaces whose resources may adopt existing Azure resources; ['*'] for all; [] (default) for none. */
  readonly adoptionNamespaces: readonly string[];
  /**
   * Namespace -> its subscription, resource groups (names, or prefixes ending in *) and Azure identity; a namespace
   * not listed may use nothing in Azure. undefined: no restriction, the one subscription and identity for all.
   */
  readonly namespaceScopes?: NamespaceScopes;
  readonly leaderElect: boolean;
  readonly leaderElectionNamespace?: string;
  readonly leaderElectionId: string;
  /** undefined: disabled. */
  readonly metricsBindAddress?: BindAddress;
  readonly healthProbeBindAddress?: BindAddress;
  readonly logLevel: LogLevel;
  readonly shutdownGraceMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface Flag {
  readonly name: string;
  readonly env: string;
  readonly boolean?: boolean;
  readonly default: string;
  readonly help: string;
}

export const FLAGS: readonly Flag[] = [
  { name: 'kubeconfig', env: 'KUBECONFIG', default: 'in-cluster, then ~/.kube/config', help: 'Path to a kubeconfig file (a KUBECONFIG list is merged as kubectl does).' },
  { name: 'subscription-id', env: 'AZURE_SUBSCRIPTION_ID', default: '(required)', help: 'Azure subscription (GUID) the reconciler manages resources in (for a namespace whose scope names another, that one).' },
  { name: 'arm-endpoint', env: 'AZURE_RESOURCE_MANAGER_ENDPOINT', default: 'https://management.azure.com', help: 'Azure Resource Manager endpoint (sovereign clouds, emulators).' },
  { name: 'arm-scope', env: 'ARM_SCOPE', default: '<arm-endpoint>/.default', help: 'OAuth scope of ARM access tokens.' },
  { name: 'authority-host', env: 'AZURE_AUTHORITY_HOST', default: 'https://login.microsoftonline.com', help: 'Microsoft Entra authority host for tokens.' },
  { name: 'postgres-ca-file', env: 'POSTGRES_CA_FILE', default: "Node's root certificates", help: 'PEM bundle that verifies PostgreSQL server certificates.' },
  { name: 'postgres-token-scope', env: 'POSTGRES_TOKEN_SCOPE', default: POSTGRES_ENTRA_SCOPE, help: 'OAuth scope of the Microsoft Entra tokens PostgreSQL takes as passwords (sovereign clouds differ).' },
  { name: 'entra-principal-name', env: 'ENTRA_PRINCIPAL_NAME', default: DEFAULT_ENTRA_PRINCIPAL_NAME, help: 'The name of the reconciler\'s identity as a Microsoft Entra administrator of servers with Entra sign-in (it signs in to PostgreSQL with it); use the managed identity\'s name.' },
  { name: 'namespaces', env: 'WATCH_NAMESPACES', default: 'all namespaces', help: 'Watch and reconcile only these namespaces (comma-separated); the rights are then needed in them only.' },
  { name: 'namespace', env: 'WATCH_NAMESPACE', default: 'all namespaces', help: 'Watch and reconcile only this namespace (the same as --namespaces with one name).' },
  { name: 'workers', env: 'WORKERS', default: '4', help: 'Concurrent reconciles per kind (never two of one object).' },
  { name: 'resync-period', env: 'RESYNC_PERIOD', default: '10m', help: 'Reconcile every object this long after its last successful reconcile (jittered +-10%) to repair drift in Azure; 0 disables.' },
  { name: 'cluster-id', env: 'CLUSTER_ID', default: "the kube-system namespace's UID", help: 'This cluster\'s identity, tagged on what it creates in Azure; resources tagged with another cluster are never adopted. Required when kube-system cannot be read.' },
  { name: 'adoption-namespaces', env: 'ADOPTION_NAMESPACES', default: '(none: adoption off)', help: 'Comma-separated namespaces whose resources may adopt existing Azure resources (annotation cdk8s-azure.dev/adopt); * for all.' },
  { name: 'namespace-scopes', env: 'NAMESPACE_SCOPES', default: '(none: no restriction)', help: 'What each namespace may touch in Azure, as JSON: {"<namespace>":{"subscriptionId":"<guid>","resourceGroups":["<group>","<prefix>*"],"clientId":"<guid>","tenantId":"<guid>"}} (only resourceGroups required; subscriptionId defaults to --subscription-id; clientId/tenantId: the workload identity used for that namespace, default the reconciler\'s own). A namespace not listed may use nothing: its resources get Ready=False OutOfScope and make no Azure call.' },
  { name: 'leader-elect', env: 'LEADER_ELECT', boolean: true, default: 'false', help: 'Elect a leader through a Lease; only the leader reconciles (run 2+ replicas).' },
  { name: 'leader-election-namespace', env: 'LEADER_ELECTION_NAMESPACE', default: "POD_NAMESPACE, else the ServiceAccount's namespace", help: 'Namespace of the leader election Lease.' },
  { name: 'leader-election-id', env: 'LEADER_ELECTION_ID', default: DEFAULT_LEADER_ELECTION_ID, help: 'Name of the leader election Lease. With its namespace it names the install, which claims the resources it reconciles (annotation cdk8s-azure.dev/reconciled-by): another install leaves them alone while this Lease is renewed.' },
  { name: 'metrics-bind-address', env: 'METRICS_BIND_ADDRESS', default: ':8080', help: 'Address of the Prometheus /metrics endpoint; 0 disables it.' },
  { name: 'health-probe-bind-address', env: 'HEALTH_PROBE_BIND_ADDRESS', default: ':8081', help: 'Address of /healthz and /readyz; 0 disables them.' },
  { name: 'log-level', env: 'LOG_LEVEL', default: 'info', help: `Log level: ${LOG_LEVELS.join(', ')}.` },
  { name: 'shutdown-grace-period', env: 'SHUTDOWN_GRACE_PERIOD', default: '25s', help: 'On SIGTERM, how long to wait for reconciles in flight (keep below terminationGracePeriodSeconds).' },
];

export function helpText(): string {
  const lines = [
    'cdk8s-azure reconciler: makes Azure Database for PostgreSQL match the cdk8s-azure.dev custom resources.',
    '',
    'Usage: node reconciler.js [flags]     (--flag=value or --flag value; a flag wins over its environment variable)',
    '',
    'Flags:',
  ];
  for (const f of FLAGS) {
    lines.push(`  --${f.name}${f.boolean ? '' : '=VALUE'}`);
    lines.push(`      ${f.help}`);
    lines.push(`      env ${f.env}; default: ${f.default}`);
  }
  lines.push('  --help, -h', '      Print this help and exit.');
  lines.push(
    '',
    'Azure credential: DefaultAzureCredential (workload identity on AKS: AZURE_CLIENT_ID, AZURE_TENANT_ID,',
    'AZURE_FEDERATED_TOKEN_FILE; or AZURE_CLIENT_SECRET / managed identity). Durations: 90s, 5m, 1h30m.',
    'Exit codes: 0 after a graceful shutdown or --help, 1 on a fatal error or lost leadership, 2 on bad flags.',
  );
  return lines.join('\n') + '\n';
}

export type ParseResult = { readonly help: true } | { readonly help: false; readonly config: Config };

export interface ParseDeps {
  readonly readFile?: (path: string) => string;
  readonly exists?: (path: string) => boolean;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Go-style durations: 500ms, 90s, 5m, 1h30m, 0. Returns milliseconds, or undefined when malformed. */
export function parseDuration(v: string): number | undefined {
  if (v === '0') return 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    if (m.index !== consumed) return undefined;
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  return consumed === v.length && consumed > 0 ? total : undefined;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv, deps: ParseDeps = {}): ParseResult {
  const readFile = deps.readFile ?? ((p: string) => fs.readFileSync(p, 'utf8'));
  const exists = deps.exists ?? ((p: string) => fs.existsSync(p));
  const byName = new Map(FLAGS.map((f) => [f.name, f]));
  const given = new Map<string, string>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h' || arg === 'help') return { help: true };
    if (!arg.startsWith('--')) {
      throw new ConfigError(`unexpected argument "${arg}": flags look like --name=value; run with --help for the list`);
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = byName.get(name);
    if (!flag) throw new ConfigError(`unknown flag --${name}; run with --help for the list of flags`);
    let value: string;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else if (flag.boolean) {
      value = 'true';
    } else {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) {
        throw new ConfigError(`flag --${name} needs a value, e.g. --${name}=${example(name)}`);
      }
      value = argv[++i];
    }
    given.set(name, value);
  }

  /** Flag value, else env value, else undefined; `src` names where it came from for error messages. */
  const get = (name: string): { value: string; src: string } | undefined => {
    const f = byName.get(name)!;
    if (given.has(name)) return { value: given.get(name)!, src: `--${name}` };
    const e = env[f.env];
    if (e !== undefined && e !== '') return { value: e, src: `--${name} (from env ${f.env})` };
    return undefined;
  };
  const bad = (name: string, v: { value: string; src: string }, why: string): ConfigError =>
    new ConfigError(`invalid value "${v.value}" for ${v.src}: ${why}; e.g. --${name}=${example(name)}`);

  const url = (name: string, def: string): string => {
    const v = get(name);
    if (!v) return def;
    let u: URL;
    try {
      u = new URL(v.value);
    } catch {
      throw bad(name, v, 'must be an absolute URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw bad(name, v, 'must be an https URL');
    return v.value.replace(/\/+$/, '');
  };

  const sub = get('subscription-id');
  if (!sub) {
    throw new ConfigError(
      'missing --subscription-id (or env AZURE_SUBSCRIPTION_ID): the Azure subscription to manage, e.g. --subscription-id=00000000-0000-0000-0000-000000000000',
    );
  }
  if (!GUID.test(sub.value)) throw bad('subscription-id', sub, 'must be a subscription GUID');

  const armEndpoint = url('arm-endpoint', 'https://management.azure.com');
  const scope = get('arm-scope');
  const armScope = scope?.value ?? `${armEndpoint}/.default`;
  if (scope && !/^\S+$/.test(scope.value)) throw bad('arm-scope', scope, 'must be a single scope without spaces');
  const authorityHost = url('authority-host', 'https://login.microsoftonline.com');

  const kc = get('kubeconfig');
  if (kc) {
    for (const file of kc.value.split(':').filter((x) => x)) {
      if (!exists(file)) throw bad('kubeconfig', kc, `file ${file} does not exist`);
    }
  }

  const caFile = get('postgres-ca-file');
  let postgresCa: string | undefined;
  if (caFile) {
    try {
      postgresCa = readFile(caFile.value);
    } catch (err) {
      throw bad('postgres-ca-file', caFile, `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (!postgresCa.includes('-----BEGIN CERTIFICATE-----')) throw bad('postgres-ca-file', caFile, 'is not a PEM certificate bundle');
  }

  const tokenScope = get('postgres-token-scope');
  if (tokenScope && !/^https:\/\/\S+$/.test(tokenScope.value)) throw bad('postgres-token-scope', tokenScope, 'must be an https:// scope without spaces, such as https://ossrdbms-aad.database.windows.net/.default');
  const principal = get('entra-principal-name');
  if (principal && !ENTRA_PRINCIPAL_NAME.pattern!.test(principal.value)) throw bad('entra-principal-name', principal, `must be ${ENTRA_PRINCIPAL_NAME.description}`);

  const namespaces = watchedNamespaces(get('namespaces'), get('namespace'), bad);

  const w = get('workers');
  let workers = 4;
  if (w) {
    workers = Number(w.value);
    if (!/^\d+$/.test(w.value) || workers < 1 || workers > 100) throw bad('workers', w, 'must be a whole number from 1 to 100');
  }

  const duration = (name: string, def: number, min: number): number => {
    const v = get(name);
    if (!v) return def;
    const ms = parseDuration(v.value);
    if (ms === undefined) throw bad(name, v, 'must be a duration such as 90s, 5m or 1h30m');
    if (ms < min) throw bad(name, v, `must be 0 or at least ${min / 1000}s`);
    return ms;
  };
  const resync = duration('resync-period', 10 * 60_000, 0);
  if (resync !== 0 && resync < 10_000) throw bad('resync-period', get('resync-period')!, 'must be 0 (off) or at least 10s');
  const shutdownGraceMs = duration('shutdown-grace-period', 25_000, 0);

  const cid = get('cluster-id');
  if (cid && !CLUSTER_ID.pattern!.test(cid.value)) {
    throw bad('cluster-id', cid, `must be ${CLUSTER_ID.description}`);
  }
  const adopt = get('adoption-namespaces');
  const adoptionNamespaces = (adopt?.value ?? '').split(',').map((x) => x.trim()).filter((x) => x);
  for (const n of adoptionNamespaces) {
    if (n !== '*' && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) throw bad('adoption-namespaces', adopt!, `"${n}" is not a namespace name (or *)`);
  }

  const scopes = get('namespace-scopes');
  let namespaceScopes: NamespaceScopes | undefined;
  if (scopes) {
    const parsed = parseNamespaceScopes(scopes.value);
    if ('problems' in parsed) {
      throw new ConfigError(`invalid ${scopes.src}: ${formatScopeProblems(parsed.problems)}; e.g. --namespace-scopes='${example('namespace-scopes')}'`);
    }
    namespaceScopes = parsed.scopes;
    if (Object.values(namespaceScopes).some((s) => s.clientId !== undefined) && !env.AZURE_FEDERATED_TOKEN_FILE) {
      throw new ConfigError(`${scopes.src} gives namespaces their own Azure identity (clientId), which the reconciler signs in as through workload identity: ` +
        'AZURE_FEDERATED_TOKEN_FILE is not set. Run it with AKS workload identity (the azure.workload.identity/use label), or drop clientId');
    }
  }

  const le = get('leader-elect');
  let leaderElect = false;
  if (le) {
    if (!/^(true|false|1|0)$/i.test(le.value)) throw bad('leader-elect', le, 'must be true or false');
    leaderElect = /^(true|1)$/i.test(le.value);
  }
  const leNs = get('leader-election-namespace');
  let leaderElectionNamespace = leNs?.value ?? (env.POD_NAMESPACE || undefined);
  if (!leaderElectionNamespace && exists(SA_NAMESPACE_FILE)) leaderElectionNamespace = readFile(SA_NAMESPACE_FILE).trim() || undefined;
  if (leaderElect && !leaderElectionNamespace) {
    throw new ConfigError(
      '--leader-elect needs a namespace for its Lease: not in a pod (no POD_NAMESPACE, no ServiceAccount namespace file); pass --leader-election-namespace=<namespace>',
    );
  }
  if (leNs && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(leNs.value)) {
    throw bad('leader-election-namespace', leNs, 'must be a Kubernetes namespace name');
  }
  const leId = get('leader-election-id');
  if (leId && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(leId.value)) {
    throw bad('leader-election-id', leId, 'must be a DNS subdomain name (lower case letters, digits, - and .)');
  }

  const bind = (name: string, def: string): BindAddress | undefined => {
    const v = get(name) ?? { value: def, src: `--${name}` };
    try {
      return parseBindAddress(v.value);
    } catch (err) {
      throw bad(name, v, (err as Error).message);
    }
  };
  const metricsBindAddress = bind('metrics-bind-address', ':8080');
  const healthProbeBindAddress = bind('health-probe-bind-address', ':8081');
  if (
    metricsBindAddress && healthProbeBindAddress && metricsBindAddress.port !== 0 &&
    metricsBindAddress.port === healthProbeBindAddress.port && metricsBindAddress.host === healthProbeBindAddress.host
  ) {
    throw new ConfigError(
      `--metrics-bind-address and --health-probe-bind-address are both port ${metricsBindAddress.port}; give them different ports`,
    );
  }

  const lvl = get('log-level');
  const logLevel = (lvl?.value ?? 'info') as LogLevel;
  if (lvl && !LOG_LEVELS.includes(logLevel)) throw bad('log-level', lvl, `must be one of ${LOG_LEVELS.join(', ')}`);

  return {
    help: false,
    config: {
      kubeconfig: kc?.value,
      subscriptionId: sub.value,
      armEndpoint,
      armScope,
      authorityHost,
      postgresCaFile: caFile?.value,
      postgresCa,
      postgresTokenScope: tokenScope?.value ?? POSTGRES_ENTRA_SCOPE,
      entraPrincipalName: principal?.value ?? DEFAULT_ENTRA_PRINCIPAL_NAME,
      namespaces,
      workers,
      resyncPeriodMs: resync,
      clusterId: cid?.value,
      adoptionNamespaces,
      namespaceScopes,
      leaderElect,
      leaderElectionNamespace,
      leaderElectionId: leId?.value ?? DEFAULT_LEADER_ELECTION_ID,
      metricsBindAddress,
      healthProbeBindAddress,
      logLevel,
      shutdownGraceMs,
    },
  };
}

/** --namespaces (a list) or --namespace (one name), not both; undefined: all namespaces. */
function watchedNamespaces(
  list: { value: string; src: string } | undefined,
  one: { value: string; src: string } | undefined,
  bad: (name: string, v: { value: string; src: string }, why: string) => ConfigError,
): string[] | undefined {
  if (list && one) {
    throw new ConfigError(
      `${list.src} and ${one.src} are both set; give the namespaces once, e.g. --namespaces=${example('namespaces')}`,
    );
  }
  const v = list ?? one;
  if (!v) return undefined;
  const name = list ? 'namespaces' : 'namespace';
  const names = v.value.split(',').map((n) => n.trim());
  if (names.every((n) => n === '')) throw bad(name, v, 'must name at least one namespace (leave it unset to watch all)');
  for (const n of names) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)) {
      throw bad(name, v, names.length === 1 ? 'must be a Kubernetes namespace name' : `"${n}" must be a Kubernetes namespace name`);
    }
  }
  return [...new Set(names)];
}

function example(name: string): string {
  const examples: Record<string, string> = {
    'kubeconfig': '$HOME/.kube/config',
    'subscription-id': '00000000-0000-0000-0000-000000000000',
    'arm-endpoint': 'https://management.azure.com',
    'arm-scope': 'https://management.azure.com/.default',
    'authority-host': 'https://login.microsoftonline.com',
    'postgres-ca-file': '/etc/ssl/certs/DigiCertGlobalRootG2.crt.pem',
    'namespaces': 'team-a,team-b',
    'namespace': 'default',
    'workers': '4',
    'resync-period': '10m',
    'cluster-id': 'prod-westeurope-1',
    'adoption-namespaces': 'team-a,team-b',
    'namespace-scopes': '{"shop":{"subscriptionId":"00000000-0000-0000-0000-000000000000","resourceGroups":["shop-rg","shop-*"],"clientId":"00000000-0000-0000-0000-000000000000"}}',
    'leader-elect': 'true',
    'leader-election-namespace': 'cdk8s-azure-system',
    'leader-election-id': 'cdk8s-azure-reconciler',
    'metrics-bind-address': ':8080',
    'health-probe-bind-address': ':8081',
    'log-level': 'info',
    'shutdown-grace-period': '25s',
  };
  return examples[name] ?? 'VALUE';
}
