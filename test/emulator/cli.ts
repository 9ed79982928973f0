/**
 * Runs the ARM emulator until SIGINT/SIGTERM: `npx projen emulator -- --port 8443 --provisioning-delay 5s`.
 * `--help` lists every flag. Prints the endpoints and the environment to export.
 */
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator } from './index';
import type { Emulator, EmulatorOptions, FaultOptions, ThrottlingOptions } from './index';

const HELP = `Azure Resource Manager emulator for Azure Database for PostgreSQL flexible servers.

Usage: npx projen emulator -- [flags]        (or: tsx test/emulator/cli.ts [flags])

Serves, on one HTTPS port: ARM (resource groups; Microsoft.DBforPostgreSQL flexibleServers with databases,
firewallRules, configurations, administrators; api-versions 2025-08-01, 2024-08-01, 2021-06-01), an Entra ID token
service (the authority host) and an admin endpoint (/admin). Every flexible server is a real PostgreSQL 15 reached on
a loopback address of its own, port 5432, where the emulator's front signs clients in as Azure does (passwords;
Microsoft Entra tokens).

Listening
  --host ADDR                    address to listen on (default 127.0.0.1)
  --port N                       port (default 8443; 0 picks a free one)
  --data-dir DIR                 CA, identities, PostgreSQL data (default .emulator); the CA and the identities are
                                 kept across restarts, so exported variables stay valid
Identities
  --tenant ID                    tenant id (default: saved in the data dir, else random)
  --subscription ID              subscription id; repeat for more (default: saved, else one random)
  --client-id ID                 application (client) id (default: saved, else random)
  --client-secret SECRET         its secret (default: saved, else random); read from the file the output names
Behaviour
  --provisioning-delay DURATION  minimum duration of every long-running operation: 500ms, 5s, 2m (default 2s)
  --poll-interval SECONDS        Retry-After of long-running operations with --retry-after fast (default 1)
  --retry-after PROFILE          fast (default: --poll-interval everywhere) or azure (Azure's: 60s server operations
                                 and firewall rules, 10s databases and parameters, 15s server and group deletes)
  --no-enforce-firewall          every loopback client may connect to a public server's PostgreSQL (default:
                                 firewall rules decide, as on Azure; a server without rules admits nobody)
  --no-throttling                turn ARM throttling off
  --throttle-reads BURST/RATE    token bucket for reads (default 250/25: 250 burst, 25 per second)
  --throttle-writes BURST/RATE   token bucket for writes (default 200/10)
  --throttle-deletes BURST/RATE  token bucket for deletes (default 200/10)
Faults (change them at runtime: PUT /admin/faults)
  --error-rate P                 answer this share (0..1) of ARM requests with an error status
  --error-statuses LIST          statuses for --error-rate, from 429,500,502,503,504 (default 500,503)
  --latency DURATION             add this delay to every ARM request
  --drop-rate P                  destroy this share of connections without answering
  --drop-response-rate P         handle this share of requests, then destroy the connection instead of answering
  --operation-failure-rate P     end this share of long-running operations Failed
  --operation-failure-code CODE  error code of failed operations (default InternalServerError)
  --operation-failure-message M  error message of failed operations
  --operation-cancel-rate P      end this share of long-running operations Canceled (OperationCancelled)
  --slow-operation-rate P        make this share of long-running operations slower by --slow-operation-delay
  --slow-operation-delay D       how much slower (default 30s)
  --fault-match REGEX            limit the faults above to requests whose "METHOD /path" matches
PostgreSQL
  --postgres-bin-dir DIR         PostgreSQL 15 binaries (default /usr/lib/postgresql/15/bin)
  --server-address-base IP       server N listens on IP+N:5432 (default: a random 127.A.B.0, A in 20-219)
Output
  --env-file FILE                also write the export lines, with the secret, to FILE (mode 0600)
  --verbose                      log every request (method, path, status, duration; never bodies or tokens)
  --help                         this text
`;

function duration(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`${flag}: expected a duration like 500ms, 5s or 2m, got '${v}'`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 'ms'] ?? 1;
  return Math.round(Number(m[1]) * mult);
}

function rate(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${flag}: expected a probability between 0 and 1, got '${v}'`);
  return n;
}

function bucket(flag: string, v: string | undefined): { burst: number; perSecond: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(v.trim());
  if (!m) throw new Error(`${flag}: expected BURST/RATE like 250/25, got '${v}'`);
  return { burst: Number(m[1]), perSecond: Number(m[2]) };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'host': { type: 'string' },
      'port': { type: 'string' },
      'data-dir': { type: 'string' },
      'tenant': { type: 'string' },
      'subscription': { type: 'string', multiple: true },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'provisioning-delay': { type: 'string' },
      'poll-interval': { type: 'string' },
      'retry-after': { type: 'string' },
      'no-enforce-firewall': { type: 'boolean' },
      'drop-response-rate': { type: 'string' },
      'operation-cancel-rate': { type: 'string' },
      'slow-operation-rate': { type: 'string' },
      'slow-operation-delay': { type: 'string' },
      'no-throttling': { type: 'boolean' },
      'throttle-reads': { type: 'string' },
      'throttle-writes': { type: 'string' },
      'throttle-deletes': { type: 'string' },
      'error-rate': { type: 'string' },
      'error-statuses': { type: 'string' },
      'latency': { type: 'string' },
      'drop-rate': { type: 'string' },
      'operation-failure-rate': { type: 'string' },
      'operation-failure-code': { type: 'string' },
      'operation-failure-message': { type: 'string' },
      'fault-match': { type: 'string' },
      'postgres-bin-dir': { type: 'string' },
      'server-address-base': { type: 'string' },
      'env-file': { type: 'string' },
      'verbose': { type: 'boolean' },
      'help': { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }

  const faults: FaultOptions = {
    errorRate: rate('--error-rate', values['error-rate']),
    errorStatuses: values['error-statuses']?.split(',').map((s) => Number(s.trim())),
    latencyMs: duration('--latency', values.latency),
    dropRate: rate('--drop-rate', values['drop-rate']),
    dropResponseRate: rate('--drop-response-rate', values['drop-response-rate']),
    operationCancelRate: rate('--operation-cancel-rate', values['operation-cancel-rate']),
    slowOperationRate: rate('--slow-operation-rate', values['slow-operation-rate']),
    slowOperationMs: duration('--slow-operation-delay', values['slow-operation-delay']),
    operationFailureRate: rate('--operation-failure-rate', values['operation-failure-rate']),
    operationFailureCode: values['operation-failure-code'],
    operationFailureMessage: values['operation-failure-message'],
    match: values['fault-match'],
  };
  let throttling: false | ThrottlingOptions = {
    reads: bucket('--throttle-reads', values['throttle-reads']),
    writes: bucket('--throttle-writes', values['throttle-writes']),
    deletes: bucket('--throttle-deletes', values['throttle-deletes']),
  };
  for (const k of ['reads', 'writes', 'deletes'] as const) if (!throttling[k]) delete throttling[k];
  if (values['no-throttling']) throttling = false;
  const pollInterval = values['poll-interval'] === undefined ? undefined : Math.round((duration('--poll-interval', values['poll-interval'].replace(/^(\d+)$/, '$1s')) ?? 1000) / 1000);
  const retryAfter = values['retry-after'];
  if (retryAfter !== undefined && retryAfter !== 'fast' && retryAfter !== 'azure') throw new Error(`--retry-after: expected fast or azure, got '${retryAfter}'`);
  const port = values.port === undefined ? 8443 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected a port number, got '${values.port}'`);

  const opts: EmulatorOptions = {
    host: values.host,
    port,
    dataDir: values['data-dir'] ?? '.emulator',
    tenantId: values.tenant,
    subscriptions: values.subscription?.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
    provisioningDelayMs: duration('--provisioning-delay', values['provisioning-delay']),
    operationPollIntervalSeconds: pollInterval,
    retryAfterProfile: retryAfter,
    enforceFirewall: !values['no-enforce-firewall'],
    throttling,
    faults,
    postgresBinDir: values['postgres-bin-dir'],
    serverAddressBase: values['server-address-base'],
    logger: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    requestLog: !!values.verbose,
  };
  if (values['client-id'] || values['client-secret']) {
    const { randomBytes, randomUUID } = await import('node:crypto');
    opts.clients = [{ clientId: values['client-id'] ?? randomUUID(), clientSecret: values['client-secret'] ?? randomBytes(30).toString('base64url') }];
  }

  // Signal handlers before anything starts: a signal during start-up stops the emulator once it is up.
  let emu: Emulator | undefined;
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${sig}: stopping (PostgreSQL instances and the server)...\n`);
    if (!emu) return;
    emu.stop().then(() => process.exit(0), (e) => {
      process.stderr.write(`stop failed: ${(e as Error).message}\n`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  emu = await startEmulator(opts);
  if (stopping) {
    await emu.stop();
    process.exit(0);
  }
  const secretFile = join(emu.dataDir, 'client-secret');
  await writeFile(secretFile, emu.clientSecret, { mode: 0o600 });
  await chmod(secretFile, 0o600);
  const env: [string, string][] = [
    ['AZURE_RESOURCE_MANAGER_ENDPOINT', emu.armEndpoint],
    ['AZURE_AUTHORITY_HOST', emu.authorityHost],
    ['AZURE_TENANT_ID', emu.tenantId],
    ['AZURE_CLIENT_ID', emu.clientId],
    ['AZURE_CLIENT_SECRET', emu.clientSecret],
    ['AZURE_SUBSCRIPTION_ID', emu.subscriptionId],
    ['NODE_EXTRA_CA_CERTS', emu.caCertPath],
  ];
  const envFile = values['env-file'] ?? join(emu.dataDir, 'emulator.env');
  await writeFile(envFile, env.map(([k, v]) => `export ${k}=${shellQuote(v)}\n`).join(''), { mode: 0o600 });
  await chmod(envFile, 0o600);

  const out = [
    'Azure Resource Manager emulator running',
    `  ARM endpoint:    ${emu.armEndpoint}`,
    `  Authority host:  ${emu.authorityHost}  (tenant ${emu.tenantId})`,
    `  Admin endpoint:  ${emu.armEndpoint}/admin`,
    `  Subscriptions:   ${emu.subscriptions.join(', ')}`,
    `  CA certificate:  ${emu.caCertPath}`,
    `  Data directory:  ${emu.dataDir}`,
    `  PostgreSQL:      server N listens on ${emu.serverAddressBase}+N:5432 (TLS, emulator CA)`,
    '',
    `Export these (or: source ${envFile}):`,
    ...env.map(([k, v]) => (k === 'AZURE_CLIENT_SECRET' ? `export ${k}="$(cat ${shellQuote(secretFile)})"` : `export ${k}=${shellQuote(v)}`)),
    '',
    'Credentials need disableInstanceDiscovery: true (MSAL would ask login.microsoftonline.com to vouch for this authority).',
    'Stop with Ctrl-C or SIGTERM.',
    '',
  ];
  process.stdout.write(out.join('\n'));
}

main().catch((e) => {
  process.stderr.write(`emulator: ${(e as Error).message}\n`);
  process.exit(1);
});
