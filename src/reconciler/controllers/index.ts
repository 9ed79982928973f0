/**
 * The controllers main.ts runs: one per kind, over the Kube seam (contracts.ts), ARM (azure/) and PostgreSQL
 * (postgres/). Behaviour: docs/reconciler-behaviour.md.
 */
import { DEFAULT_TIMING, type Timing } from './common';
import { PostgresDatabaseController } from './database';
import { PostgresFirewallRuleController } from './firewall-rule';
import { PostgresRoleController } from './role';
import { PostgresServerController } from './server';
import { createArmClients } from '../azure/clients';
import { PostgresArm } from '../azure/postgres-arm';
import type { PacingOptions } from '../azure/throttle';
import type { Controller, ControllerEnvironment, ControllerFactory } from '../contracts';

export { DEFAULT_TIMING, Reason, type Timing } from './common';
export { PASSWORD_SYNCED } from './server';
export { PostgresDatabaseController, PostgresFirewallRuleController, PostgresRoleController, PostgresServerController };

export interface ControllerOptions {
  /** ARM access; built from the environment when absent. */
  readonly arm?: PostgresArm;
  readonly timing?: Partial<Timing>;
  readonly pacing?: Partial<PacingOptions>;
}

export function createControllersWith(env: ControllerEnvironment, opts: ControllerOptions = {}): Controller[] {
  const arm = opts.arm ?? new PostgresArm(createArmClients({
    subscriptionId: env.subscriptionId,
    endpoint: env.armEndpoint,
    scope: env.armScope,
    credential: env.credential,
    onArmResponse: env.onArmResponse,
    pacing: opts.pacing,
  }));
  const timing: Timing = { ...DEFAULT_TIMING, ...(opts.timing ?? {}) };
  return [
    new PostgresServerController(env, arm, timing),
    new PostgresDatabaseController(env, arm, timing),
    new PostgresFirewallRuleController(env, arm, timing),
    new PostgresRoleController(env, timing, arm),
  ];
}

export const createControllers: ControllerFactory = (env) => createControllersWith(env);
