/**
 * The seams of the reconciler. The control-loop runtime (kube/, runtime/) and the controllers (controllers/, azure/,
 * postgres/) meet only here, so either side can change without the other, and controllers can be tested with
 * any implementation of `Kube`.
 *
 * Shape, as controller-runtime: informer cache -> rate-limited work queue (per-key de-duplication, never two
 * reconciles of one key at once) -> idempotent `Controller.reconcile(key)` returning when to look again.
 */
import type { V1ObjectMeta, V1Secret } from '@kubernetes/client-node' with { 'resolution-mode': 'import' };
import type {
  PostgresDatabaseSpec,
  PostgresFirewallRuleSpec,
  PostgresRoleSpec,
  PostgresServerSpec,
} from '../../imports/cdk8s-azure.dev';

export const API_GROUP = 'cdk8s-azure.dev';
export const API_VERSION = 'v1alpha1';
export const FINALIZER = 'cdk8s-azure.dev/finalizer';
/** Label on every Secret the reconciler writes; the Secret informer watches only these (never all Secrets). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'cdk8s-azure';
/** Annotation that lets a PostgresServer take over an Azure server that already exists and that it did not create. */
export const ADOPT_ANNOTATION = 'cdk8s-azure.dev/adopt';

export type Kind = 'PostgresServer' | 'PostgresDatabase' | 'PostgresFirewallRule' | 'PostgresRole';
export const KIND_PLURALS: Record<Kind, string> = {
  PostgresServer: 'postgresservers',
  PostgresDatabase: 'postgresdatabases',
  PostgresFirewallRule: 'postgresfirewallrules',
  PostgresRole: 'postgresroles',
};

export interface ObjectKey {
  readonly namespace: string;
  readonly name: string;
}

export function keyString(key: ObjectKey): string {
  return `${key.namespace}/${key.name}`;
}

/** metav1.Condition */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** An Azure long-running operation in flight, recorded so that polling resumes after a restart. */
export interface OperationStatus {
  type: 'Create' | 'Update' | 'Delete';
  pollUrl?: string;
  /** Serialized SDK poller state. Must never contain a password or a token. */
  resumeToken?: string;
  startedAt: string;
  generation?: number;
}

export interface CommonStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface AzureChildStatus extends CommonStatus {
  azureResourceId?: string;
  operation?: OperationStatus;
  /** A database's extensions that the reconciler created and that are still there. */
  extensions?: string[];
}

export interface PostgresServerStatus extends AzureChildStatus {
  fullyQualifiedDomainName?: string;
  state?: string;
  version?: string;
  adopted?: boolean;
  /** Azure's replicationRole: Primary, or AsyncReplica for a read replica. */
  replicationRole?: string;
}

export interface KubeObject<TSpec, TStatus> {
  apiVersion: string;
  kind: Kind;
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string; generation?: number };
  spec: TSpec;
  status?: TStatus;
}

export type PostgresServerObject = KubeObject<PostgresServerSpec, PostgresServerStatus>;
export type PostgresDatabaseObject = KubeObject<PostgresDatabaseSpec, AzureChildStatus>;
export type PostgresFirewallRuleObject = KubeObject<PostgresFirewallRuleSpec, AzureChildStatus>;
export type PostgresRoleObject = KubeObject<PostgresRoleSpec, CommonStatus>;
export type AnyObject = KubeObject<unknown, CommonStatus>;

/** What a claim patch did (Kube.claim): written, or not because the object changed (`changed`: a fresh copy, or gone). */
export type ClaimWrite<T> = { claimed: T } | { changed: T | undefined };

/**
 * What a controller may ask of Kubernetes. Reads come from the informer cache; writes go to the API server.
 * Implementations retry 409 conflicts where a fresh read makes the write safe, and surface other errors.
 */
export interface Kube {
  /** The cached object, or undefined when it does not exist (or is not yet in the cache). */
  get<T extends AnyObject>(kind: Kind, key: ObjectKey): T | undefined;
  /** Cached objects of a kind, optionally in one namespace. */
  list<T extends AnyObject>(kind: Kind, namespace?: string): T[];
  /** Adds the finalizer when absent; returns the updated object. */
  addFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<T>;
  /** Removes the finalizer when present. */
  removeFinalizer<T extends AnyObject>(obj: T, finalizer: string): Promise<void>;
  /**
   * Sets annotations and, when `finalizer` is given and absent, adds it, in one patch that applies only to the version
   * `obj` shows (a claim must never overwrite one written meanwhile). Returns the updated object, or `changed` with a
   * fresh copy (undefined: gone) when the object changed since: the caller decides again on it.
   */
  claim<T extends AnyObject>(obj: T, finalizer: string | undefined, annotations: Record<string, string>): Promise<ClaimWrite<T>>;
  /** Merges annotations (a null value removes one). */
  patchAnnotations<T extends AnyObject>(obj: T, annotations: Record<string, string | null>): Promise<T>;
  /**
   * Replaces status through the status subresource, only when it differs from the cached status (ignoring
   * lastTransitionTime of conditions whose status did not change, which the implementation preserves).
   * Returns whether a write happened.
   */
  updateStatus<T extends AnyObject>(obj: T, status: NonNullable<T['status']>): Promise<boolean>;
  /** A Secret the reconciler manages (labelled MANAGED_BY_LABEL), read from the owned-Secret cache or the API. */
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /**
   * Creates or updates a Secret with exactly these string data keys, labelled MANAGED_BY_LABEL and owned
   * (ownerReferences, controller=true, blockOwnerDeletion=true) by `owner`. Writes only when data, labels or owner
   * changed. Refuses (throws) to take over an existing Secret that is not labelled as ours.
   */
  applySecret(owner: AnyObject, name: string, data: Record<string, string>): Promise<{ changed: boolean }>;
  /**
   * Releases a Secret from `owner`: removes the owner's ownerReference and keeps the Secret (its data and label), so
   * that Kubernetes garbage collection does not delete it with the owner (deletionPolicy Retain keeps credentials).
   * Returns whether a reference was removed (false when the Secret is absent or not owned by `owner`).
   */
  releaseSecret(owner: AnyObject, name: string): Promise<boolean>;
  /** Records a Kubernetes Event on the object (deduplicated/aggregated by the implementation). Never throws. */
  event(obj: AnyObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/**
 * What kind of failure a reconcile met (src/reconciler/errors/classify.ts decides): the runtime retries by class.
 *  - transient: per-key exponential backoff, growing across consecutive failures (a poll in between resets it);
 *  - throttled: after Retry-After (`requeueAfterMs`), no error condition, the backoff does not grow;
 *  - userError: slowly (the runtime's user-error period), or at once when the object or its Secret changes;
 *  - invalidSpec: not at all until the object changes (a new generation).
 */
export type ErrorClass = 'transient' | 'throttled' | 'userError' | 'invalidSpec';

/**
 * What a reconcile reports; the runtime owns retries and the periodic resync (runtime/controller.ts):
 *  - `{}`: done; the next reconcile is on a change, or after the resync period (`--resync-period`);
 *  - `{ requeueAfterMs }`: progress to look at again (an Azure operation in flight, a parent to wait for);
 *  - `{ failure }`: failed; the runtime retries by class, no sooner than `requeueAfterMs` when given (Retry-After).
 */
export interface ReconcileResult {
  /** Look again after this long (polling); with a failure, the least wait (e.g. Azure's Retry-After). */
  readonly requeueAfterMs?: number;
  readonly failure?: ErrorClass;
}

/** A secondary watch: when an object of `kind` changes, these keys of the controller's own kind are enqueued. */
export interface Dependency {
  readonly kind: Kind;
  mapToKeys(obj: AnyObject): ObjectKey[];
}

export interface Controller {
  readonly kind: Kind;
  readonly dependsOn?: Dependency[];
  /** Also enqueue the owner when one of its Secrets changes or is deleted (drift repair of Secrets). */
  readonly ownsSecrets?: boolean;
  /**
   * Idempotent: brings the world in line with the object `key` names (or cleans up after it), and reports what
   * happened; the runtime decides when to look again (runtime/retry.ts). Failures are reported with their class
   * (errors/classify.ts) after the controller has recorded them as a condition; throwing is for the unexpected, which
   * the runtime logs, counts and retries with per-key exponential backoff.
   */
  reconcile(key: ObjectKey): Promise<ReconcileResult>;
}

/** The subset of pino's logger the controllers use. Never pass a password or a token in either argument. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: object): Logger;
}

/** What is known of an install of the reconciler from its Lease (api/install.ts). */
export interface InstallState {
  /** Its Lease is renewed and it watches the namespace asked about (or that cannot be read: never taken over on doubt). */
  readonly running: boolean;
  /** Why, in words: "its Lease was renewed at ...", "its Lease is gone", ... */
  readonly detail: string;
}

/** The installs of the reconciler in the cluster, as their Leases show them (kube/installs.ts). */
export interface Installs {
  /** This install: its leader-election Lease. Undefined without leader election: it then claims nothing. */
  readonly self?: import('../api').InstallIdentity;
  /** Whether `install` runs and watches `namespace`. Never throws. */
  state(install: import('../api').InstallIdentity, namespace: string): Promise<InstallState>;
}

/** Everything the controllers get from main.ts. */
export interface ControllerEnvironment {
  readonly kube: Kube;
  readonly log: Logger;
  /** The subscription of a namespace whose scope names none (`--subscription-id`). */
  readonly subscriptionId: string;
  /** Azure Resource Manager endpoint, e.g. https://management.azure.com (sovereign clouds and the emulator differ). */
  readonly armEndpoint: string;
  /** OAuth scope for ARM tokens, e.g. https://management.azure.com/.default */
  readonly armScope: string;
  /** The reconciler's own credential, for a namespace whose scope names no identity (DefaultAzureCredential). */
  readonly credential: import('@azure/core-auth').TokenCredential;
  /**
   * PEM bundle that verifies PostgreSQL server certificates; undefined means Node's default roots (as on Azure). It is
   * also the ca.crt of the connection Secrets (undefined: the roots Azure's servers chain to).
   */
  readonly postgresCa?: string;
  /** OAuth scope of Entra tokens for PostgreSQL (default POSTGRES_ENTRA_SCOPE; sovereign clouds differ). */
  readonly postgresTokenScope?: string;
  /** The name the reconciler's identity has as an Entra administrator of servers, and signs in to PostgreSQL with. */
  readonly entraPrincipalName?: string;
  /** Called for every ARM response, for the metrics (method, e.g. PUT; resource type, e.g. flexibleServers; HTTP status). */
  readonly onArmResponse?: (method: string, resourceType: string, status: number) => void;
  /**
   * This cluster's identity (`--cluster-id`, by default the kube-system namespace's UID), written to the owner tag
   * TAG_CLUSTER of what the reconciler creates in Azure, so that a resource of another cluster is never adopted.
   */
  readonly clusterId?: string;
  /**
   * Namespaces whose resources may adopt what exists in Azure (`--adoption-namespaces`); `*` for all. Empty or
   * undefined: adoption is off.
   */
  readonly adoptionNamespaces?: readonly string[];
  /**
   * What each namespace's resources may touch in Azure (`--namespace-scopes`, src/api/scope.ts): its subscription
   * (default `subscriptionId`), its resource groups, and the Azure identity used for it (default `credential`). A
   * namespace not listed may use nothing. undefined: no restriction. The lifecycle checks it before any Azure call
   * (lifecycle/engine.ts, deletion.ts); azure/tenancy.ts picks the clients.
   */
  readonly namespaceScopes?: import('../api').NamespaceScopes;
  /** The credential of a namespace's own identity (main.ts: workload identity with that client ID). */
  readonly credentialFor?: (identity: import('../api').AzureIdentity) => import('@azure/core-auth').TokenCredential;
  /** The namespaces watched (`--namespaces`); undefined: all. Owner checks cannot see objects outside them. */
  readonly watchNamespaces?: readonly string[];
  /**
   * The installs of the reconciler, for the claim on each resource (controllers/claims.ts). Undefined: claims are
   * neither written nor honoured (a reconciler that knows no Leases).
   */
  readonly installs?: Installs;
}

/** src/reconciler/controllers/index.ts exports `createControllers` of this type; main.ts runs what it returns. */
export type ControllerFactory = (env: ControllerEnvironment) => Controller[];
