/**
 * What the PostgresRole phases share: the environment, ARM (to tell whether a server is gone from Azure), the server
 * a role was last set up on, and how a failure becomes a condition and a retry.
 */
import { outOfScope } from '../../../api';
import { parseResourceId, type ArmAddress } from '../../azure/resource-id';
import type { NamespaceAzure } from '../../azure/tenancy';
import type { CommonStatus, ControllerEnvironment, ErrorClass, Logger, PostgresRoleObject, ReconcileResult } from '../../contracts';
import { classifyPostgresError, postgresConditionMessage } from '../../errors/classify';
import { RoleConflictError } from '../../postgres/roles';
import type { StatusBuilder, Timing } from '../common';
import { SERVER_ARM_TYPE, type ServerRef } from '../parents';

export type RoleStatus = StatusBuilder<CommonStatus>;

export interface RoleContext {
  readonly env: ControllerEnvironment;
  readonly log: Logger;
  readonly timing: Timing;
  /** The subscription, identity and ARM clients of a namespace (azure/tenancy.ts). */
  azure(namespace: string): NamespaceAzure;
}

/**
 * The Azure server a role was last set up on (its resource ID), recorded on the PostgresRole before the reconciler
 * first touches PostgreSQL for it: the deletion of a role whose PostgresServer is already gone still knows which
 * server to ask Azure about.
 */
export const SERVER_ANNOTATION = 'cdk8s-azure.dev/server-resource-id';

/** Where the role's server is in Azure: where its PostgresServer found it or, before that, where its spec puts it. */
export function serverAddressOf(server: ServerRef): ArmAddress {
  return server.azure ?? { resourceGroup: server.spec.resourceGroup.name, parents: [], name: server.spec.azureName };
}

/** Where a role being deleted was: from its PostgresServer, else from what the role recorded. */
export function recordedServerAddress(obj: PostgresRoleObject, server: ServerRef | undefined): ArmAddress | undefined {
  return server ? serverAddressOf(server) : parseResourceId(SERVER_ARM_TYPE, obj.metadata.annotations?.[SERVER_ANNOTATION]);
}

/**
 * Whether Azure answers 404 for the server (or its resource group), asked with the namespace's identity: the only
 * proof that it is gone. Outside the namespace's scope Azure is not asked, and nothing is known to be gone.
 */
export async function serverGoneFromAzure(ctx: RoleContext, namespace: string, at: ArmAddress): Promise<boolean> {
  if (outOfScope(ctx.env.namespaceScopes, namespace, at.resourceGroup)) return false;
  return (await ctx.azure(namespace).arm.getServer(at.resourceGroup, at.name)) === undefined;
}

/** Ready=False, written, and what the runtime should do next. */
export async function notReady(sb: RoleStatus, reason: string, message: string, result: ReconcileResult): Promise<ReconcileResult> {
  sb.ready('False', reason, message);
  await sb.commit();
  return result;
}

export interface PostgresFailure {
  readonly reason: string;
  readonly message: string;
  readonly failure: ErrorClass;
}

/**
 * A PostgreSQL failure as a condition: a refused takeover is the user's (Conflict, AlreadyExists, AdoptionRefused);
 * otherwise errors/classify.ts decides: connection errors are transient, permissions and conflicts are the user's.
 */
export function postgresFailure(e: unknown, context: string): PostgresFailure {
  if (e instanceof RoleConflictError) return { reason: e.reason, message: e.message, failure: 'userError' };
  const c = classifyPostgresError(e);
  return { reason: c.reason, message: postgresConditionMessage(context, c), failure: c.class };
}
