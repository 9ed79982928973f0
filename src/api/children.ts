/**
 * What the child kinds (PostgresDatabase, PostgresFirewallRule, PostgresRole) share: the reference to their server
 * and a deletion policy that, unset, is the server's.
 */
import type { Problem } from './problem';
import { checkOneOf, checkStringRule, DELETION_POLICIES, DNS_SUBDOMAIN, type DeletionPolicyName } from './rules';

/** A child's own deletion policy; undefined means it inherits its server's. */
export function childDeletionPolicy(value: unknown): DeletionPolicyName | undefined {
  return value === undefined || value === null ? undefined : value as DeletionPolicyName;
}

/** Problems with the server reference and deletion policy of a child. */
export function childProblems(child: { serverName: unknown; deletionPolicy?: unknown }): Problem[] {
  const problems = [
    checkStringRule('serverRef.name', child.serverName, DNS_SUBDOMAIN),
    child.deletionPolicy === undefined ? undefined : checkOneOf('deletionPolicy', child.deletionPolicy, DELETION_POLICIES),
  ];
  return problems.filter((p): p is Problem => p !== undefined);
}
