/**
 * What the four controllers share: the Ready condition and its reasons, status writes that only happen on change,
 * Events on transitions only, poll timing, and the guard that turns anything unexpected into a condition.
 */
import type { V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type { NamespaceAzure } from '../azure/tenancy';
import { isArmThrottledError } from '../azure/throttle';
import type { AnyObject, Condition, ControllerEnvironment, Kind, Logger, ObjectKey, OperationStatus, ReconcileResult } from '../contracts';
import { keyString, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../contracts';

/** Condition reasons (PascalCase). Azure errors use Azure's own error code as the reason. */
export const Reason = {
  /** Ready=True: exists in Azure and matches the spec. */
  Available: 'Available',
  /** An Azure create operation is in flight. */
  Creating: 'Creating',
  /** An Azure update (PATCH, parameter, firewall range) is in flight. */
  Updating: 'Updating',
  /** Deletion in progress (Azure operation in flight, or dropping the role). */
  Deleting: 'Deleting',
  /** Azure reports the server busy with something we did not start (Provisioning, Updating, Starting...). */
  Provisioning: 'Provisioning',
  /** Azure reports the server Disabled or Inaccessible (or in a state the reconciler cannot act on). */
  ServerNotRunning: 'ServerNotRunning',
  /** Ready=True: the server is stopped, as its spec.stopped asks. */
  Stopped: 'Stopped',
  InvalidSpec: 'InvalidSpec',
  UnsupportedChange: 'UnsupportedChange',
  /** The Azure resource exists and was not created by this resource (adoption needs the annotation). */
  AlreadyExists: 'AlreadyExists',
  /** Adoption was asked for and refused: another live object or another cluster owns it, or the namespace may not adopt. */
  AdoptionRefused: 'AdoptionRefused',
  /** Another resource already manages the same Azure child (same server, same name); this one changes nothing. */
  Conflict: 'Conflict',
  SecretConflict: 'SecretConflict',
  /**
   * Its namespace has no scope, or its resource group (or a subscription it names) is outside it (the cluster admin's
   * --namespace-scopes): no Azure call.
   */
  OutOfScope: 'OutOfScope',
  WaitingForServer: 'WaitingForServer',
  WaitingForDatabase: 'WaitingForDatabase',
  /** A database waits for its server's azure.extensions to allow-list its extensions. */
  WaitingForAllowList: 'WaitingForAllowList',
  PostgresUnreachable: 'PostgresUnreachable',
  PostgresError: 'PostgresError',
  ReconcileError: 'ReconcileError',
  /** A passwordless role on a server with Microsoft Entra sign-in off. */
  EntraSignInOff: 'EntraSignInOff',
  /**
   * Another install of the reconciler, which runs, claimed the resource first (controllers/claims.ts): a Warning
   * Event only, never a condition (the claimant's Ready condition stands).
   */
  ReconciledByAnotherInstall: 'ReconciledByAnotherInstall',
  /** The install that had claimed the resource is gone, and this one took the resource over (a Normal Event). */
  ClaimTakenOver: 'ClaimTakenOver',
} as const;

/** Reasons that are a problem for the user (Warning Events); the others are progress (Normal Events). */
const PROGRESS_REASONS = new Set<string>([
  Reason.Available, Reason.Stopped, Reason.Creating, Reason.Updating, Reason.Deleting, Reason.Provisioning,
  Reason.WaitingForServer, Reason.WaitingForDatabase, Reason.WaitingForAllowList,
]);

export function isWarningReason(reason: string): boolean {
  return !PROGRESS_REASONS.has(reason);
}

export const READY = 'Ready';

/**
 * Polling: how soon controllers look again at what is in progress. Retries after failures and the periodic resync are
 * the runtime's (runtime/retry.ts, --resync-period), not the controllers'.
 */
export interface Timing {
  /** Look again at an in-flight operation no sooner / no later than this (Azure's Retry-After is clamped into it). */
  minPollMs: number;
  maxPollMs: number;
  defaultPollMs: number;
  /** Waiting for a parent (server, database) besides the dependency watch. */
  waitMs: number;
}

export const DEFAULT_TIMING: Timing = {
  minPollMs: 2_000,
  maxPollMs: 60_000,
  defaultPollMs: 10_000,
  waitMs: 30_000,
};

export function jitter(ms: number, fraction = 0.1): number {
  return Math.round(ms * (1 - fraction + Math.random() * 2 * fraction));
}

export function pollDelay(t: Timing, retryAfterMs: number | undefined): number {
  return Math.min(t.maxPollMs, Math.max(t.minPollMs, retryAfterMs ?? t.defaultPollMs));
}

export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Sets a condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(
  conditions: Condition[] | undefined,
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  generation: number | undefined,
  now: Date = new Date(),
): Condition[] {
  const prev = findCondition(conditions, type);
  const next: Condition = {
    type,
    status,
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  // Ready first, the others by code point: localeCompare would load ICU's collation data (~3 MiB resident) for
  // PascalCase ASCII names that sort the same either way.
  const rank = (c: Condition): string => (c.type === READY ? '' : c.type);
  const order = (a: Condition, b: Condition): number => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0);
  return [...(conditions ?? []).filter((c) => c.type !== type), next].sort(order);
}

/** Remembers the status a controller wrote, and shows objects with it (controllers/lifecycle/status-memory.ts). */
export interface StatusRecorder {
  record(obj: AnyObject, status: object): void;
  view<T extends AnyObject>(cached: T): T;
}

/**
 * A status being built during one reconcile. `commit()` writes it (the Kube implementation skips unchanged writes)
 * and records an Event when the Ready condition's status or reason changed.
 */
export class StatusBuilder<S extends { conditions?: Condition[]; observedGeneration?: number; operation?: OperationStatus }> {
  status: S;
  private before?: Condition;

  constructor(
    private readonly env: ControllerEnvironment,
    private readonly obj: AnyObject & { status?: S },
    private readonly recorder?: StatusRecorder,
  ) {
    this.status = structuredClone((obj.status ?? {}) as S);
    this.before = findCondition(obj.status?.conditions, READY);
  }

  get generation(): number | undefined {
    return this.obj.metadata.generation;
  }

  ready(status: Condition['status'], reason: string, message: string): this {
    this.status.conditions = setCondition(this.status.conditions, READY, status, reason, message, this.generation);
    this.status.observedGeneration = this.generation;
    return this;
  }

  condition(type: string, status: Condition['status'], reason: string, message: string): this {
    this.status.conditions = setCondition(this.status.conditions, type, status, reason, message, this.generation);
    return this;
  }

  get readyCondition(): Condition | undefined {
    return findCondition(this.status.conditions, READY);
  }

  setOperation(op: OperationStatus | undefined): this {
    if (op) this.status.operation = op;
    else delete this.status.operation;
    return this;
  }

  set<K extends keyof S>(key: K, value: S[K] | undefined): this {
    if (value === undefined) delete this.status[key];
    else this.status[key] = value;
    return this;
  }

  async commit(): Promise<void> {
    // Remembered before the write: a reconcile that follows must not act on an older status, even if this write fails.
    this.recorder?.record(this.obj as AnyObject, structuredClone(this.status));
    await this.env.kube.updateStatus(this.obj as AnyObject, this.status as NonNullable<AnyObject['status']>);
    const after = this.readyCondition;
    if (after && (!this.before || this.before.status !== after.status || this.before.reason !== after.reason)) {
      this.env.kube.event(this.obj, isWarningReason(after.reason) ? 'Warning' : 'Normal', after.reason, truncate(after.message, 1000));
    }
    this.before = after ? { ...after } : undefined;
  }
}

export function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** The environment as one namespace sees it: its subscription and the credential of its identity (azure/tenancy.ts). */
export function namespaceEnv(env: ControllerEnvironment, azure: NamespaceAzure): ControllerEnvironment {
  return { ...env, subscriptionId: azure.subscriptionId, credential: azure.credential };
}

export function isBeingDeleted(obj: AnyObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

export function hasFinalizer(obj: AnyObject, f: string): boolean {
  return (obj.metadata.finalizers ?? []).includes(f);
}

/** Whether a Secret may be written by us for `owner`: absent, or labelled ours and not controlled by another object. */
export function secretConflict(secret: V1Secret | undefined, owner: AnyObject): string | undefined {
  if (!secret) return undefined;
  const labels = secret.metadata?.labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
    return `Secret ${secret.metadata?.name} already exists and is not managed by cdk8s-azure; delete it or choose another writeConnectionSecretToRef.name`;
  }
  const controller = (secret.metadata?.ownerReferences ?? []).find((r) => r.controller);
  if (controller && controller.uid !== owner.metadata.uid) {
    return `Secret ${secret.metadata?.name} belongs to ${controller.kind} ${controller.name}; choose another writeConnectionSecretToRef.name`;
  }
  return undefined;
}

/**
 * Wraps a reconcile: ARM throttling becomes a quiet requeue after Retry-After (no condition); anything unexpected is
 * reduced to a message (SDK errors carry the request, whose body may hold a password), recorded as Ready=False
 * ReconcileError with a Warning Event when possible, and rethrown for the runtime's backoff.
 */
export async function guard(
  env: ControllerEnvironment,
  log: Logger,
  kind: Kind,
  key: ObjectKey,
  fn: () => Promise<ReconcileResult>,
  recorder?: StatusRecorder,
): Promise<ReconcileResult> {
  try {
    return await fn();
  } catch (e) {
    if (isArmThrottledError(e)) {
      log.debug({ key: keyString(key), retryAfterMs: e.retryAfterMs }, 'ARM throttling; requeue');
      return { requeueAfterMs: jitter(Math.max(e.retryAfterMs, 1000), 0.2), failure: 'throttled' };
    }
    const message = safeMessage(e);
    log.warn({ key: keyString(key), kind, error: message }, 'reconcile failed');
    try {
      const cached = env.kube.get<AnyObject>(kind, key);
      const obj = cached && recorder ? recorder.view(cached) : cached;
      if (obj && !isBeingDeleted(obj)) {
        const sb = new StatusBuilder(env, obj, recorder);
        sb.ready('False', Reason.ReconcileError, message);
        await sb.commit();
      }
    } catch {
      // the status write is best effort here
    }
    throw new Error(message);
  }
}

/** ARM throttling is never an error condition: let guard() turn it into a requeue. */
export function rethrowThrottling(e: unknown): void {
  if (isArmThrottledError(e)) throw e;
}

export function safeMessage(e: unknown): string {
  const err = e as { name?: string; message?: string; code?: unknown };
  const msg = typeof err?.message === 'string' ? err.message : String(e);
  return truncate(`${typeof err?.code === 'string' ? `${err.code}: ` : ''}${msg}`, 2000);
}
