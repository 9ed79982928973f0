/**
 * PostgresFirewallRule: an IPv4 range admitted to a PostgresServer with public access.
 */
import type { PostgresFirewallRuleSpec } from '../../imports/cdk8s-azure.dev';
import { childDeletionPolicy, childProblems } from './children';
import { problemsOf, type Problem } from './problem';
import { checkStringRule, FIREWALL_RULE_NAME, IPV4, ipv4ToNumber, type DeletionPolicyName } from './rules';

export interface NormalizedFirewallRuleSpec {
  serverName: string;
  azureName: string;
  startIpAddress: string;
  endIpAddress: string;
  /** undefined: the server's policy. */
  deletionPolicy?: DeletionPolicyName;
}

export function normalizeFirewallRuleSpec(spec: PostgresFirewallRuleSpec | undefined): NormalizedFirewallRuleSpec {
  const deletionPolicy = childDeletionPolicy(spec?.deletionPolicy);
  return {
    serverName: spec?.serverRef?.name as string,
    azureName: spec?.azureName as string,
    startIpAddress: spec?.startIpAddress as string,
    endIpAddress: spec?.endIpAddress as string,
    ...(deletionPolicy !== undefined ? { deletionPolicy } : {}),
  };
}

/** Problems with an IPv4 range: two addresses (strings, not arrays or numbers), the end not below the start. */
export function checkIpRange(start: unknown, end: unknown, startField = 'startIpAddress', endField = 'endIpAddress'): Problem[] {
  const startProblem = checkStringRule(startField, start, IPV4);
  const endProblem = checkStringRule(endField, end, IPV4);
  if (startProblem || endProblem) {
    return problemsOf(startProblem, endProblem);
  }
  if (ipv4ToNumber(start as string) > ipv4ToNumber(end as string)) {
    return [{ field: endField, value: end, expected: `must not be below ${startField} (${start as string}); swap them` }];
  }
  return [];
}

export function validateFirewallRuleSpec(f: NormalizedFirewallRuleSpec): Problem[] {
  return problemsOf(
    childProblems(f),
    checkStringRule('azureName', f.azureName, FIREWALL_RULE_NAME),
    checkIpRange(f.startIpAddress, f.endIpAddress),
  );
}
