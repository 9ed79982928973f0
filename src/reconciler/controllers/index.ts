/**
 * The controllers main.ts runs: one per kind, over the Kube seam (contracts.ts), ARM (azure/) and PostgreSQL
 * (postgres/). Behaviour: docs/reconciler-behaviour.md.
 */
import { DEFAULT_TIMING, type Timing } from './common';
import { PostgresDatabaseController } from './database';
import { PostgresFirewallRuleController } from './firewall-rule';
import { PostgresRoleController } from './role';
import { PostgresServerController } from './server';
import { AzureTenancy } from '../azure/tenancy';
import type { PacingOptions } from '../azure/throttle';
import type { Controller, ControllerEnvironment, ControllerFactory } from '../contracts';

export { DEFAULT_TIMING, Reason, type Timing } from './common';
export { PASSWORD_SYNCED } from './server';
export { PostgresDatabaseController, PostgresFirewallRuleController, PostgresRoleController, PostgresServerController };

export interface ControllerOptions {
  /** ARM access per namespace; built from the environment when absent. */
  readonly tenancy?: AzureTenancy;
  readonly timing?: Partial<Timing>;
  readonly pacing?: Partial<PacingOptions>;
}

export function createControllersWith(env: ControllerEnvironment, opts: ControllerOptions = {}): Controller[] {
  const arm = opts.tenancy ?? tenancyOf(env, opts.pacing);
  const timing: Timing = { ...DEFAULT_TIMING, ...(opts.timing ?? {}) };
  return [
    new PostgresServerController(env, arm, timing),
    new PostgresDatabaseController(env, arm, timing),
    new PostgresFirewallRuleController(env, arm, timing),
    new PostgresRoleController(env, timing, arm),
  ];
}

/** The subscriptions, identities and ARM clients of the namespaces, as the environment says. */
export function tenancyOf(env: ControllerEnvironment, pacing?: Partial<PacingOptions>): AzureTenancy {
  return new AzureTenancy({
    scopes: env.namespaceScopes,
    subscriptionId: env.subscriptionId,
    credential: env.credential,
    credentialFor: env.credentialFor,
    endpoint: env.armEndpoint,
    armScope: env.armScope,
    onArmResponse: env.onArmResponse,
    pacing,
  });
}

export const createControllers: ControllerFactory = (env) => createControllersWith(env);
