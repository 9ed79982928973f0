/**
 * Controllers against the REAL ARM emulator (test/emulator: HTTPS, Entra tokens, real PostgreSQL 15 per server) with
 * the in-memory Kube test double. The credential is the real ClientSecretCredential against the emulator's authority
 * host; the emulator CA is trusted in-process (trustEmulatorCa) and passed to pg as postgresCa.
 */
import { ClientSecretCredential } from '@azure/identity';
import { Client } from 'pg';
import { MemoryKube, MemoryLogger, StatusLaggingKube } from './memory-kube';
import { connectOrClose } from './postgres-client';
import { createArmClients } from '../../../src/reconciler/azure/clients';
import { PostgresArm } from '../../../src/reconciler/azure/postgres-arm';
import type { PacingOptions } from '../../../src/reconciler/azure/throttle';
import type { AnyObject, Condition, Controller, ControllerEnvironment, Kind, ObjectKey } from '../../../src/reconciler/contracts';
import { createControllersWith, type Timing } from '../../../src/reconciler/controllers';
import { startEmulator, trustEmulatorCa, type Emulator, type EmulatorOptions } from '../../emulator/index';

export const FAST_TIMING: Partial<Timing> = {
  minPollMs: 100,
  maxPollMs: 1_000,
  defaultPollMs: 300,
  waitMs: 300,
};

export interface Harness {
  emu: Emulator;
  kube: MemoryKube;
  log: MemoryLogger;
  env: ControllerEnvironment;
  armResponses: string[];
  controllers: Record<Kind, Controller>;
  /** A new set of controllers over the same Kubernetes state and Azure: what a restarted process has. */
  restart(pacing?: Partial<PacingOptions>): void;
  /** New controllers with other reconciler settings (a restart with other flags). */
  configure(settings: Pick<ControllerEnvironment, 'adoptionNamespaces' | 'clusterId' | 'watchNamespaces' | 'namespaceScopes' | 'credentialFor'> & { staleCache?: boolean }): void;
  reconcile(kind: Kind, key: ObjectKey): Promise<number | undefined>;
  /** Reconciles `key` (and, each round, every other object) until `done` holds; returns the rounds it took. */
  until(kind: Kind, key: ObjectKey, done: () => boolean, what?: string, timeoutMs?: number): Promise<number>;
  ready(kind: Kind, key: ObjectKey): Condition | undefined;
  stop(): Promise<void>;
}

export function credentialFor(emu: Emulator): ClientSecretCredential {
  return new ClientSecretCredential(emu.tenantId, emu.clientId, emu.clientSecret, {
    authorityHost: emu.authorityHost,
    disableInstanceDiscovery: true,
  });
}

/** ARM as the test's own principal: to look at (and change) Azure from outside the reconciler. */
export function armFor(emu: Emulator): PostgresArm {
  return new PostgresArm(createArmClients({ subscriptionId: emu.subscriptionId, endpoint: emu.armEndpoint, scope: `${emu.armEndpoint}/.default`, credential: credentialFor(emu) }));
}

const KINDS: Kind[] = ['PostgresServer', 'PostgresDatabase', 'PostgresFirewallRule', 'PostgresRole'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface HarnessOptions {
  emulator?: EmulatorOptions;
  timing?: Partial<Timing>;
  pacing?: Partial<PacingOptions>;
  /** Namespaces that may adopt (the reconciler's --adoption-namespaces); default all, as the older tests expect. */
  adoptionNamespaces?: string[];
  /**
   * The controllers read through a cache that shows each object's status one write behind, for the first read after
   * every status write (what a reconcile requeued at once sees before the watch delivers its own write).
   */
  staleCache?: boolean;
}

export const TEST_CLUSTER_ID = 'test-cluster';

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  // The controller suites are about the reconciler's logic, not network access: every loopback client may connect
  // unless a suite turns the firewall on (controllers-role: "a firewall that does not admit the reconciler").
  const emu = await startEmulator({ provisioningDelayMs: 300, enforceFirewall: false, ...(opts.emulator ?? {}) });
  trustEmulatorCa(emu);
  const kube = new MemoryKube();
  const log = new MemoryLogger();
  const armResponses: string[] = [];
  const env: ControllerEnvironment = {
    kube: opts.staleCache ? new StatusLaggingKube(kube) : kube,
    clusterId: TEST_CLUSTER_ID,
    adoptionNamespaces: opts.adoptionNamespaces ?? ['*'],
    log,
    subscriptionId: emu.subscriptionId,
    armEndpoint: emu.armEndpoint,
    armScope: `${emu.armEndpoint}/.default`,
    credential: credentialFor(emu),
    postgresCa: emu.caCertPem,
    onArmResponse: (m, t, s) => armResponses.push(`${m} ${t} ${s}`),
  };
  const build = (pacing = opts.pacing): Record<Kind, Controller> => {
    const list = createControllersWith(h.env, { timing: { ...FAST_TIMING, ...(opts.timing ?? {}) }, pacing });
    return Object.fromEntries(list.map((c) => [c.kind, c])) as Record<Kind, Controller>;
  };
  const h: Harness = {
    emu,
    kube,
    log,
    env,
    armResponses,
    controllers: {} as Record<Kind, Controller>,
    restart(pacing) {
      h.controllers = build(pacing ?? opts.pacing);
    },
    configure({ staleCache, ...settings }) {
      h.env = { ...h.env, ...settings, ...(staleCache !== undefined ? { kube: staleCache ? new StatusLaggingKube(kube) : kube } : {}) };
      h.controllers = build();
    },
    async reconcile(kind, key) {
      return (await h.controllers[kind].reconcile(key)).requeueAfterMs;
    },
    async until(kind, key, done, what = 'condition', timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (let round = 1; ; round++) {
        let next = await h.reconcile(kind, key).catch(() => 300);
        if (done()) return round;
        // Others in the namespace (parents, children) move too, as the runtime would.
        for (const k of KINDS) {
          for (const o of kube.list<AnyObject>(k, key.namespace)) {
            if (k === kind && o.metadata.name === key.name && o.metadata.namespace === key.namespace) continue;
            await h.reconcile(k, o.metadata).catch(() => undefined);
          }
        }
        if (done()) return round;
        if (Date.now() > deadline) {
          const obj = kube.get<AnyObject>(kind, key);
          throw new Error(`timed out waiting for ${what} of ${kind} ${key.name}; status: ${JSON.stringify(obj?.status)}`);
        }
        next = Math.min(Math.max(next ?? 300, 50), 500);
        await sleep(next);
      }
    },
    ready(kind, key) {
      return kube.condition(kind, key, 'Ready');
    },
    async stop() {
      await emu.stop();
    },
  };
  h.controllers = build();
  return h;
}

/** Connects as an app would with a Secret's uri (TLS verified against the emulator CA, sslmode from the uri). */
export function connectWithUri(uri: string, ca: string): Promise<Client> {
  const u = new URL(uri);
  return connectOrClose({
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)),
    ca,
    connectionTimeoutMillis: 5000,
  });
}
