/**
 * The reconciler process: flags -> logger, metrics -> Kubernetes client -> Azure credential -> controllers ->
 * manager (informers, leader election, work queues) -> probe and metrics servers; SIGTERM/SIGINT -> graceful stop.
 *
 * Exit codes: 0 graceful shutdown or --help; 1 fatal error or lost leadership; 2 bad flags (or no cluster identity).
 */
import { DefaultAzureCredential, WorkloadIdentityCredential } from '@azure/identity';
import type { AzureIdentity } from '../api';
import { ConfigError, helpText, parseConfig, type Config } from './config';
import { createControllers } from './controllers';
import { type RunningServer, probeRoutes, serve } from './health';
import { KubeClient, loadKubeConfig } from './kube/client';
import { type ReconcilerLogger, createLogger, errorFields } from './log';
import { Metrics } from './metrics';
import { ClusterIdentityError, resolveClusterId } from './runtime/cluster-identity';
import { Manager } from './runtime/manager';

/** Authority hosts MSAL knows; any other (an emulator, a private cloud) must skip instance discovery. */
const KNOWN_AUTHORITIES = ['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn', 'login.microsoftonline.de'];

function exitAfterFlush(code: number): never {
  // The logger writes synchronously, so nothing is lost.
  process.exit(code);
}

async function run(config: Config, log: ReconcilerLogger): Promise<void> {
  const metrics = new Metrics();

  const kc = loadKubeConfig(config.kubeconfig);
  const client = new KubeClient(kc, { onResponse: (method, code) => metrics.kubeRequests.inc({ method, code }) });
  let clusterId: string;
  try {
    clusterId = await resolveClusterId(config.clusterId, client);
  } catch (err) {
    if (!(err instanceof ClusterIdentityError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    exitAfterFlush(2);
  }
  log.info({ clusterId }, 'cluster identity');

  const authorityHost = new URL(config.authorityHost).hostname;
  const credential = new DefaultAzureCredential({
    authorityHost: config.authorityHost,
    disableInstanceDiscovery: !KNOWN_AUTHORITIES.includes(authorityHost),
  });

  // A namespace's own identity (--namespace-scopes): the same projected ServiceAccount token, exchanged for that
  // client ID (on AKS each identity has a federated credential trusting this ServiceAccount).
  const credentialFor = (identity: AzureIdentity) => new WorkloadIdentityCredential({
    clientId: identity.clientId,
    tenantId: identity.tenantId ?? process.env.AZURE_TENANT_ID,
    tokenFilePath: process.env.AZURE_FEDERATED_TOKEN_FILE,
    authorityHost: config.authorityHost,
    disableInstanceDiscovery: !KNOWN_AUTHORITIES.includes(authorityHost),
  });

  let stopping = false;
  const manager = new Manager({
    client,
    log,
    metrics,
    namespaces: config.namespaces,
    workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs,
    shutdownGraceMs: config.shutdownGraceMs,
    controllers: (kube, installs) =>
      createControllers({
        kube,
        installs,
        log,
        subscriptionId: config.subscriptionId,
        armEndpoint: config.armEndpoint,
        armScope: config.armScope,
        credential,
        credentialFor,
        postgresCa: config.postgresCa,
        postgresTokenScope: config.postgresTokenScope,
        entraPrincipalName: config.entraPrincipalName,
        onArmResponse: metrics.onArmResponse,
        clusterId,
        adoptionNamespaces: config.adoptionNamespaces,
        namespaceScopes: config.namespaceScopes,
        watchNamespaces: config.namespaces,
      }),
    leaderElection: config.leaderElect
      ? {
        namespace: config.leaderElectionNamespace!,
        name: config.leaderElectionId,
        identity: process.env.POD_NAME ? `${process.env.POD_NAME}_${crypto.randomUUID()}` : undefined,
      }
      : undefined,
    onLeadershipLost: () => {
      if (stopping) return;
      // As controller-runtime: another replica may already be reconciling; a fresh process is the safe state.
      log.fatal({}, 'leader election lost; exiting so that only the new leader reconciles');
      exitAfterFlush(1);
    },
  });

  const servers: RunningServer[] = [];
  if (config.healthProbeBindAddress) {
    const s = await serve(config.healthProbeBindAddress, probeRoutes(() => manager.liveness(), () => manager.readiness()), log);
    servers.push(s);
    log.info({ port: s.port }, 'serving /healthz and /readyz');
  }
  if (config.metricsBindAddress) {
    const s = await serve(config.metricsBindAddress, {
      '/metrics': async (_req, res) => {
        const { contentType, body } = await metrics.render();
        res.writeHead(200, { 'Content-Type': contentType }).end(body);
      },
    }, log);
    servers.push(s);
    log.info({ port: s.port }, 'serving /metrics');
  }

  manager.start();

  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      exitAfterFlush(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A hard stop in case something hangs past the grace period (the kubelet would SIGKILL anyway).
    setTimeout(() => {
      log.error({}, 'shutdown did not finish in time; exiting');
      exitAfterFlush(1);
    }, config.shutdownGraceMs + 10_000).unref();
    try {
      await manager.stop();
      await Promise.all(servers.map((s) => s.close()));
    } catch (err) {
      log.error({ err: errorFields(err) }, 'error during shutdown');
      exitAfterFlush(1);
    }
    log.info({}, 'shutdown complete');
    exitAfterFlush(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function main(): void {
  let config: Config;
  try {
    const parsed = parseConfig(process.argv.slice(2), process.env);
    if (parsed.help) {
      process.stdout.write(helpText());
      return;
    }
    config = parsed.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const log = createLogger({ level: config.logLevel });
  process.on('unhandledRejection', (reason) => {
    // A stray promise (e.g. a forgotten await in a controller) must not take the whole loop down.
    log.error({ err: errorFields(reason) }, 'unhandled promise rejection');
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err: errorFields(err) }, 'uncaught exception; exiting');
    exitAfterFlush(1);
  });
  log.info(
    {
      version: process.env.npm_package_version,
      node: process.version,
      subscriptionId: config.subscriptionId,
      armEndpoint: config.armEndpoint,
      authorityHost: config.authorityHost,
      namespaces: config.namespaces?.join(',') ?? '(all)',
      workers: config.workers,
      resyncPeriodMs: config.resyncPeriodMs,
      clusterId: config.clusterId ?? '(kube-system namespace UID)',
      adoptionNamespaces: config.adoptionNamespaces.length ? config.adoptionNamespaces : '(none)',
      namespaceScopes: config.namespaceScopes ?? '(no restriction)',
      leaderElect: config.leaderElect,
      leaderElectionNamespace: config.leaderElectionNamespace,
      leaderElectionId: config.leaderElectionId,
    },
    'starting cdk8s-azure reconciler',
  );
  run(config, log).catch((err) => {
    log.fatal({ err: errorFields(err) }, 'failed to start');
    exitAfterFlush(1);
  });
}

main();
