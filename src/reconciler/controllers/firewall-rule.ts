/**
 * PostgresFirewallRule: an IPv4 range admitted to a PostgresServer with public access. A descriptor of the one Azure
 * lifecycle: a range that differs in Azure (spec change or drift) is written again in place.
 */
import type { FirewallRule } from '@azure/arm-postgresql-flexible';
import type { Timing } from './common';
import type { PostgresFirewallRuleSpec } from '../../../imports/cdk8s-azure.dev';
import { normalizeFirewallRuleSpec, validateFirewallRuleSpec, type NormalizedFirewallRuleSpec } from '../../api';
import type { AzureTenancy } from '../azure/tenancy';
import type { ControllerEnvironment } from '../contracts';
import { perObject } from '../kube/cache';
import type { ArmKindDescriptor, ArmObject } from './lifecycle/descriptor';
import { ArmLifecycleController } from './lifecycle/engine';
import { childOperations, serverChild } from './server-child';

const normalize = perObject((obj: ArmObject) => normalizeFirewallRuleSpec(obj.spec as PostgresFirewallRuleSpec));

export const FIREWALL_RULE: ArmKindDescriptor<NormalizedFirewallRuleSpec, FirewallRule, FirewallRule, FirewallRule> = {
  ...serverChild('PostgresFirewallRule', 'firewallRules', normalize, (server, spec) =>
    (server.spec.network.delegatedSubnetResourceId
      ? `PostgresServer ${spec.serverName} uses private access (a delegated subnet); firewall rules apply only to servers with public access`
      : undefined)),
  noun: 'firewall rule',
  // A rule is its range, written whole by PUT; Azure keeps no owner of it.
  writesWithoutReading: true,
  normalize,
  validate: validateFirewallRuleSpec,
  // A rule is changed by writing it whole again.
  operations: (client, at) => childOperations(client.firewallRules, (...args) => client.firewallRules.beginCreateOrUpdate(...args), at, true),
  createBody: (ctx) => ({ startIpAddress: ctx.spec.startIpAddress, endIpAddress: ctx.spec.endIpAddress }),
  compare(ctx, rule) {
    const want = `${ctx.spec.startIpAddress}-${ctx.spec.endIpAddress}`;
    const azure = `${rule.startIpAddress}-${rule.endIpAddress}`;
    if (want === azure) return { changes: [], unsupported: [] };
    return {
      patch: { startIpAddress: ctx.spec.startIpAddress, endIpAddress: ctx.spec.endIpAddress },
      changes: [{ field: 'spec.startIpAddress-endIpAddress', azure, desired: want }],
      unsupported: [],
    };
  },
  availableMessage: (ctx) => `Firewall rule ${ctx.at.name} admits ${ctx.spec.startIpAddress}-${ctx.spec.endIpAddress} to server ${ctx.at.parents[0]}`,
};

export class PostgresFirewallRuleController extends ArmLifecycleController {
  constructor(env: ControllerEnvironment, tenancy: AzureTenancy, timing: Timing) {
    super(env, tenancy, timing, FIREWALL_RULE);
  }
}
