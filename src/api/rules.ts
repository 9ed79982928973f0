/**
 * String rules of the API (names, identifiers, addresses) and the small checks every kind uses. Each rule with a CRD
 * counterpart has the same pattern and length bounds there: test/constructs/api-crd-agreement.test.ts compares them.
 * Patterns are written so that Kubernetes (RE2) and JavaScript read them the same way: no look-around, no
 * back-references.
 */
import { showValue, type Problem } from './problem';

/** A string rule: length bounds, a pattern and what the pattern allows, in words (messages show the words). */
export interface StringRule {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  readonly description: string;
}

/** A problem when `value` is not a string that follows `rule`. */
export function checkStringRule(field: string, value: unknown, rule: StringRule): Problem | undefined {
  if (typeof value !== 'string') {
    return { field, value, expected: `must be a string: ${rule.description}` };
  }
  const fits = (rule.minLength === undefined || value.length >= rule.minLength)
    && (rule.maxLength === undefined || value.length <= rule.maxLength)
    && (rule.pattern === undefined || rule.pattern.test(value));
  return fits ? undefined : { field, value, expected: rule.description };
}

/** A problem when `value` is not a whole number within [min, max]. */
export function checkInteger(field: string, value: unknown, min: number, max?: number): Problem | undefined {
  const range = max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
  const fits = typeof value === 'number' && Number.isInteger(value) && value >= min && (max === undefined || value <= max);
  return fits ? undefined : { field, value, expected: `must be a whole number ${range}` };
}

/** A problem when `value` is not one of `allowed` (values arrive unchecked from YAML, JavaScript and jsii languages). */
export function checkOneOf<T>(field: string, value: unknown, allowed: readonly T[]): Problem | undefined {
  return allowed.includes(value as T) ? undefined : { field, value, expected: `must be one of ${allowed.map(showValue).join(', ')}` };
}

/** A problem when `value` is not true or false. */
export function checkBoolean(field: string, value: unknown): Problem | undefined {
  return typeof value === 'boolean' ? undefined : { field, value, expected: 'must be true or false' };
}

export const AZURE_SERVER_NAME: StringRule = {
  minLength: 3,
  maxLength: 63,
  pattern: /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
  description: '3-63 characters of lowercase letters, digits and hyphens, not starting or ending with a hyphen (it becomes <azureName>.postgres.database.azure.com)',
};

export const RESOURCE_GROUP_NAME: StringRule = {
  minLength: 1,
  maxLength: 90,
  pattern: /^[-\w.()]*[-\w()]$/,
  description: '1-90 characters of letters, digits, underscores, hyphens, periods and parentheses, not ending with a period',
};

export const LOCATION: StringRule = {
  minLength: 1,
  maxLength: 64,
  pattern: /^[a-z0-9]+$/,
  description: 'an Azure region name of lowercase letters and digits, for example westeurope or eastus2 (see `az account list-locations -o table`)',
};

/** The shape of a SKU name; sku.ts checks the series against the tier. */
export const SKU_NAME: StringRule = {
  pattern: /^Standard_[A-Z][0-9]+[a-z]*(_v[0-9]+)?$/,
  description: 'a SKU name such as Standard_B1ms, Standard_D2ds_v5 or Standard_E4ds_v5',
};

export const ADMINISTRATOR_LOGIN: StringRule = {
  minLength: 1,
  maxLength: 63,
  pattern: /^[a-zA-Z][a-zA-Z0-9_]*$/,
  description: '1-63 characters of letters, digits and underscores, starting with a letter',
};

/** Kubernetes object names (RFC 1123 subdomain), which Secret names and CR names must be. */
export const DNS_SUBDOMAIN: StringRule = {
  minLength: 1,
  maxLength: 253,
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  description: 'a Kubernetes object name: at most 253 lowercase letters, digits, hyphens and periods, starting and ending with a letter or digit',
};

/** Kubernetes namespace names (RFC 1123 label). */
export const DNS_LABEL: StringRule = {
  minLength: 1,
  maxLength: 63,
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  description: 'a Kubernetes namespace name: at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit',
};

/** Azure's rule for flexible-server databases (it created `asotest-db-ylwxua`); the reconciler quotes the name in SQL. */
export const DATABASE_NAME: StringRule = {
  minLength: 1,
  maxLength: 63,
  pattern: /^[a-zA-Z_][\w-]{0,62}$/,
  description: '1-63 characters of letters, digits, underscores and hyphens, starting with a letter or underscore',
};

/** Azure's collation rule (`^[a-zA-Z\-]+([. ]|\w)*$`). */
export const COLLATION: StringRule = {
  minLength: 1,
  maxLength: 128,
  pattern: /^[a-zA-Z-]+([. ]|\w)*$/,
  description: 'a collation name such as en_US.utf8 or C: letters and hyphens, then letters, digits, underscores, periods and spaces (at most 128 characters)',
};

/**
 * Azure's rule is `^[a-zA-Z0-9][-_a-zA-Z0-9]{0,79}(?<!-)$`; Kubernetes' RE2 has no look-behind, so the same set of
 * names is written without it: a letter or digit, then at most 79 more, the last not a hyphen.
 */
export const FIREWALL_RULE_NAME: StringRule = {
  minLength: 1,
  maxLength: 80,
  pattern: /^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,78}[_a-zA-Z0-9])?$/,
  description: '1-80 letters, digits, hyphens and underscores, starting with a letter or digit and not ending with a hyphen',
};

export const ROLE_NAME: StringRule = {
  minLength: 1,
  maxLength: 63,
  pattern: /^[a-z][a-z0-9_]*$/,
  description: '1-63 characters of lowercase letters, digits and underscores, starting with a letter',
};

const IPV4_OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
export const IPV4: StringRule = {
  pattern: new RegExp(`^(${IPV4_OCTET}\\.){3}${IPV4_OCTET}$`),
  description: 'an IPv4 address in dotted decimal without leading zeros, for example 203.0.113.10',
};

/** The 32-bit value of a valid dotted IPv4 address, to compare the ends of a range. */
export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export const DELEGATED_SUBNET_ID: StringRule = {
  pattern: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/,
  description: 'a subnet resource ID: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>',
};

/**
 * The suffixes of Azure Database for PostgreSQL server names, one per Azure cloud (public, US Government, China), as
 * Azure's getPrivateDnsZoneSuffix answers there. A private DNS zone for a flexible server must end with its cloud's.
 */
export const POSTGRES_DNS_SUFFIXES: readonly string[] = ['postgres.database.azure.com', 'postgres.database.usgovcloudapi.net', 'postgres.database.chinacloudapi.cn'];

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A private DNS zone resource ID whose zone name ends with the PostgreSQL suffix of one of Azure's clouds. Which cloud
 * the reconciler works in is known only at reconcile: it checks the zone against the suffix Azure returns there.
 */
export const PRIVATE_DNS_ZONE_ID: StringRule = {
  pattern: new RegExp('^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Network/privateDnsZones/[^/]+\\.' +
    `(${POSTGRES_DNS_SUFFIXES.map(escapeRegExp).join('|')})$`),
  description: 'a private DNS zone resource ID whose zone name ends with the PostgreSQL suffix of your Azure cloud ' +
    `(${POSTGRES_DNS_SUFFIXES.map(suffix => `.${suffix}`).join(', ')}): /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/<zone>.postgres.database.azure.com`,
};

/** The zone name of a private DNS zone resource ID (its last segment). */
export function privateDnsZoneName(resourceId: string): string {
  return resourceId.slice(resourceId.lastIndexOf('/') + 1);
}

/**
 * The `<name>` of a zone named `<name>.<suffix>` (suffix compared case-insensitively), or undefined when the zone does
 * not end with `.<suffix>`.
 */
export function privateDnsZonePrefix(zoneName: string, suffix: string): string | undefined {
  const tail = `.${suffix}`.toLowerCase();
  return zoneName.toLowerCase().endsWith(tail) ? zoneName.slice(0, zoneName.length - tail.length) : undefined;
}

/**
 * The `<name>` of a zone resource ID named `<name>.<suffix>` for one of Azure's PostgreSQL suffixes, lowercase (DNS
 * names ignore case): a server of that name would have the zone's name as its host name, so Azure refuses it.
 */
export function privateDnsZoneServerPart(resourceId: string): string | undefined {
  const zone = privateDnsZoneName(resourceId);
  for (const suffix of POSTGRES_DNS_SUFFIXES) {
    const prefix = privateDnsZonePrefix(zone, suffix);
    if (prefix !== undefined) return prefix.toLowerCase();
  }
  return undefined;
}

/** Kubernetes environment variable names. */
export const ENV_VAR_NAME: StringRule = {
  minLength: 1,
  pattern: /^[-._a-zA-Z][-._a-zA-Z0-9]*$/,
  description: 'an environment variable name: letters, digits, _ - . not starting with a digit (for example PGHOST)',
};

/** A GUID, the form of Azure subscription, tenant and client IDs. */
export const GUID: StringRule = {
  pattern: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  description: 'a GUID such as 00000000-0000-0000-0000-000000000000',
};

/** What happens in Azure when a resource is deleted. */
export const DELETION_POLICIES = ['Delete', 'Retain'] as const;
export type DeletionPolicyName = typeof DELETION_POLICIES[number];

/** The reconciler's cluster identity: it becomes the value of the owner tag cdk8s-azure.dev-cluster. */
export const CLUSTER_ID: StringRule = {
  minLength: 1,
  maxLength: 128,
  pattern: /^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$/,
  description: '1-128 letters, digits, -, _ and ., starting with a letter or digit (it becomes an Azure tag value)',
};
