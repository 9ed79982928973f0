/**
 * A kind of Azure resource, described for the one lifecycle (engine.ts) that every kind shares, as ACK's resource
 * manager describes a resource to its reconciler: where it lives in Azure (ARM type and address), how its spec
 * becomes a create body, how it is compared with Azure (fields that change in place are patched, fields that cannot
 * are UnsupportedChange), what of Azure's answer goes to status, and who owns it. A new ARM kind is one descriptor;
 * extras that only one kind has (the server's password and parameters, the database's lock-down) are steps.
 */
import type { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import type { NamespaceScope, Problem } from '../../../api';
import type { PostgresArm } from '../../azure/postgres-arm';
import type { Comparison, SdkOperations } from '../../azure/resource';
import type { ArmAddress } from '../../azure/resource-id';
import type { AzureTenancy } from '../../azure/tenancy';
import type {
  ControllerEnvironment,
  Dependency,
  ErrorClass,
  KubeObject,
  Logger,
  OperationStatus,
  PostgresServerStatus,
  ReconcileResult,
} from '../../contracts';
import type { StatusBuilder, Timing } from '../common';
import type { PollSchedule } from './poll-schedule';
import type { StatusMemory } from './status-memory';

export type ArmKind = 'PostgresServer' | 'PostgresDatabase' | 'PostgresFirewallRule';

/** The status every Azure kind may report (the server's is the widest). */
export type ArmStatus = PostgresServerStatus;
export type ArmObject = KubeObject<unknown, ArmStatus>;

export type DeletionPolicy = 'Delete' | 'Retain';
/** How a deletion ended: deleted in Azure (or gone already), retained by policy, or left because it is not this object's. */
export type DeletionEnding = 'Deleted' | 'Retained' | 'NotDeleted';

/** Where the resource lives in Azure, or why it cannot be acted on yet. */
export type Placement =
  | { readonly kind: 'placed'; readonly at: ArmAddress }
  /** A parent is missing or cannot be reached yet: WaitingForServer, looked at again soon. */
  | { readonly kind: 'waiting'; readonly message: string }
  /** The spec cannot live where it points (e.g. a firewall rule for a server with private access). */
  | { readonly kind: 'invalid'; readonly message: string };

/** Azure's own state of an existing resource, when it forbids changes now (busy, stopped). */
export interface AzureState {
  readonly reason: string;
  readonly message: string;
  /** Undefined: progress (look again soon); otherwise a failure of this class. */
  readonly failure?: ErrorClass;
}

/** What the lifecycle of every kind uses: Kubernetes and Azure access, logging, poll timing, its own status writes. */
export interface LifecycleServices {
  readonly env: ControllerEnvironment;
  /** Each namespace's subscription, identity and ARM clients. */
  readonly tenancy: AzureTenancy;
  readonly log: Logger;
  readonly timing: Timing;
  readonly memory: StatusMemory;
  readonly polls: PollSchedule;
}

/** What one reconcile of one object knows; steps read it and add to it. */
export interface LifecycleContext<Spec> {
  /** The environment as the object's namespace sees it: its subscription and credential (namespaceEnv). */
  readonly env: ControllerEnvironment;
  /** ARM with the namespace's subscription and identity. */
  readonly arm: PostgresArm;
  readonly log: Logger;
  readonly timing: Timing;
  readonly object: ArmObject;
  readonly spec: Spec;
  readonly status: StatusBuilder<ArmStatus>;
  readonly at: ArmAddress;
  readonly resourceId: string;
  /** The operation this reconcile saw end successfully (its change is in Azure now). */
  completedOperation?: OperationStatus;
  /** This reconcile takes over an Azure resource that was not created by this object. */
  adopting: boolean;
  /** Values that must never be stored or logged (a password sent in this reconcile's requests). */
  readonly secrets: string[];
  /** When the operation in flight may be polled again (absent: whenever asked). */
  readonly polls?: PollSchedule;
}

/** What a step asks of the reconcile: stop it with this result, or go on (adding to the update). */
export type StepDecision<Patch> =
  | { readonly stop: ReconcileResult }
  | { readonly patch?: Partial<Patch>; readonly fields?: readonly string[] }
  | undefined;

/**
 * An extra of one kind, plugged into the lifecycle at named points. Created per reconcile (it may keep what it read
 * in one point for the next). Every point is optional.
 */
export interface LifecycleStep<Resource, Body, Patch> {
  readonly name: string;
  /** Before anything is read from or sent to Azure (e.g. the connection Secret must be ours). */
  beforeAzure?(): Promise<ReconcileResult | undefined>;
  /** Before the create request (e.g. the resource group, and the password into the Secret first, then the body). */
  beforeCreate?(body: Body): Promise<ReconcileResult | undefined>;
  /** The resource exists and is this object's: e.g. the connection Secret, a password to send with the update. */
  whenFound?(resource: Resource): Promise<StepDecision<Patch>>;
  /** The resource matches the spec: further work (server parameters, the database's lock-down). */
  whenInSync?(resource: Resource): Promise<ReconcileResult | undefined>;
  /** Just before the finalizer goes (e.g. the admin Secret of a server left in Azure is released from its owner). */
  beforeFinalizerRemoved?(ending: DeletionEnding): Promise<void>;
}

export interface ArmKindDescriptor<Spec, Resource extends { id?: string; tags?: Record<string, string> }, Body, Patch> {
  readonly kind: ArmKind;
  /** How messages name it: "server", "database", "firewall rule". */
  readonly noun: string;
  /** The ARM resource type, e.g. Microsoft.DBforPostgreSQL/flexibleServers/databases. */
  readonly armType: string;
  /**
   * Who owns the Azure resource. `tags`: the owner tags on it (servers); adoption is owner-checked. `one-per-name`:
   * Azure keeps no owner (databases, firewall rules); among the objects that name it, one manages it.
   */
  readonly ownership: 'tags' | 'one-per-name';
  /** Its Secrets' changes requeue it. */
  readonly ownsSecrets?: boolean;
  /**
   * Azure's create is a PUT of the whole resource, which also updates one that is there, and DELETE of an absent one
   * succeeds; nothing of it is the owner's (no tags). Then a resource its status has never seen is created without
   * reading it first (an existing one is written as converging it would write it), and a delete is sent without
   * reading it first: each read spared is one of ARM's read tokens in a burst.
   */
  readonly writesWithoutReading?: boolean;

  normalize(obj: ArmObject): Spec;
  validate(spec: Spec): Problem[];
  azureName(spec: Spec): string;
  /** Where it lives, or why not yet (a child waits for its server to exist in Azure and be reachable). */
  place(env: ControllerEnvironment, obj: ArmObject, spec: Spec): Placement;
  /** Where to delete it from, also when the parent object is gone (from status.azureResourceId); undefined: never created. */
  placeForDeletion(env: ControllerEnvironment, obj: ArmObject, spec: Spec): ArmAddress | undefined;
  /**
   * Why the spec names an Azure resource of a subscription other than its namespace's (`subscriptionId`) and outside
   * the namespace's `networkScopes`, or undefined. Asked only when namespace scopes are set: OutOfScope, no Azure
   * call (a server's subnet, DNS zone).
   */
  outOfSubscription?(obj: ArmObject, spec: Spec, subscriptionId: string, scope: NamespaceScope | undefined): string | undefined;
  /** For a child: whether its parent still exists in Azure (a 404 from the gateway is checked before a delete is done). */
  parentExists?(arm: PostgresArm, at: ArmAddress): Promise<boolean>;
  /** Its deletion policy; a child without one inherits its server's. */
  deletionPolicy(env: ControllerEnvironment, obj: ArmObject, spec: Spec): { policy: DeletionPolicy; inheritedFrom?: string };

  /** The SDK's operations on the resource at `at`. */
  operations(client: PostgreSQLManagementFlexibleServerClient, at: ArmAddress): SdkOperations<Resource, Body, Patch>;
  createBody(ctx: LifecycleContext<Spec>): Body;
  /** The spec against Azure: what to send, what cannot change. */
  compare(ctx: LifecycleContext<Spec>, resource: Resource): Comparison<Patch>;
  /** Azure's state forbids changes now (busy, stopped); undefined: go on. */
  azureState?(resource: Resource): AzureState | undefined;
  /** Status fields from Azure's answer (besides azureResourceId). */
  statusOf?(resource: Resource): Partial<ArmStatus>;
  availableMessage(ctx: LifecycleContext<Spec>, resource: Resource): string;
  /** The kind's extras, in order. */
  steps?(ctx: LifecycleContext<Spec>): Array<LifecycleStep<Resource, Body, Patch>>;
  /** What must go before this resource is deleted in Azure (a server's read replicas); undefined: nothing. */
  deletionWaitsFor?(env: ControllerEnvironment, obj: ArmObject): string | undefined;
  /** Other kinds whose changes requeue objects of this one (a child's server). */
  dependsOn?(env: ControllerEnvironment): Dependency[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a list of descriptors of different kinds
export type AnyArmKindDescriptor = ArmKindDescriptor<any, any, any, any>;
