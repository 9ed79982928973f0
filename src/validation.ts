/**
 * Validators shared by the constructs. Every rule the CRD schemas in crds/ enforce (patterns, enums, ranges, CEL rules)
 * is repeated here so that a mistake fails `cdk8s synth` with the construct path, the field, the bad value and what
 * is allowed, instead of failing later at `kubectl apply` (or, worse, in Azure).
 *
 * This module is internal: it is not exported from index.ts (jsii has no free functions).
 */
import { IConstruct } from 'constructs';

/** Collects the problems of one construct's properties and throws them together, so users fix them in one pass. */
export class Problems {
  private readonly messages: string[] = [];

  /**
   * @param scope the construct whose path the error names
   * @param what what is being validated, e.g. "AzurePostgres properties"
   */
  public constructor(private readonly scope: IConstruct, private readonly what: string) {}

  /** Records that `field` has the bad `value`; `expected` says what is allowed or how to fix it. */
  public add(field: string, value: unknown, expected: string): void {
    this.messages.push(fieldMessage(field, value, expected));
  }

  public get count(): number {
    return this.messages.length;
  }

  /** `Invalid <what> at '<construct path>':` and a line per problem; undefined when there is none. */
  public get message(): string | undefined {
    if (this.messages.length === 0) {
      return undefined;
    }
    return `Invalid ${this.what} at '${this.scope.node.path}':\n  - ${this.messages.join('\n  - ')}`;
  }

  public throwIfAny(): void {
    const message = this.message;
    if (message !== undefined) {
      throw new Error(message);
    }
  }
}

/** "field = value: expected", the one shape of every message, so users (and tests) find the three parts. */
export function fieldMessage(field: string, value: unknown, expected: string): string {
  return `${field} = ${show(value)}: ${expected}`;
}

/** Renders a user's value for an error message (JSON, so strings show their quotes and whitespace). */
export function show(value: unknown): string {
  if (value === undefined) {
    return 'undefined';
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Throws one error for one bad argument of a method (for example `addFirewallRule`). */
export function throwFieldError(scope: IConstruct, what: string, field: string, value: unknown, expected: string): never {
  const problems = new Problems(scope, what);
  problems.add(field, value, expected);
  problems.throwIfAny();
  throw new Error('unreachable');
}

/** A string rule taken from a CRD schema: length bounds, a pattern and a human description of the pattern. */
export interface StringRule {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** What the pattern allows, in words (the message shows it rather than the regular expression alone). */
  readonly description: string;
}

/** Checks a string against a rule; records a problem and returns false when it fails. */
export function checkString(problems: Problems, field: string, value: unknown, rule: StringRule): boolean {
  if (typeof value !== 'string') {
    problems.add(field, value, `must be a string: ${rule.description}`);
    return false;
  }
  const ok = (rule.minLength === undefined || value.length >= rule.minLength)
    && (rule.maxLength === undefined || value.length <= rule.maxLength)
    && (rule.pattern === undefined || rule.pattern.test(value));
  if (!ok) {
    problems.add(field, value, rule.description);
  }
  return ok;
}

/** Checks that a number is an integer within [min, max]. */
export function checkInteger(problems: Problems, field: string, value: unknown, min: number, max?: number): boolean {
  const range = max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    problems.add(field, value, `must be a whole number ${range}`);
    return false;
  }
  return true;
}

/** Checks that a value is one of `allowed` (enum values arrive unchecked from JavaScript and from jsii languages). */
export function checkOneOf<T>(problems: Problems, field: string, value: unknown, allowed: readonly T[]): value is T {
  if (!allowed.includes(value as T)) {
    problems.add(field, value, `must be one of ${allowed.map(show).join(', ')}`);
    return false;
  }
  return true;
}

/** The values of a TypeScript enum (string or numeric), without the reverse mapping of numeric enums. */
export function enumValues<T>(enumObject: Record<string, T>): T[] {
  const values = Object.values(enumObject);
  const numeric = values.filter(v => typeof v === 'number');
  return (numeric.length > 0 ? numeric : values) as T[];
}

// ---------------------------------------------------------------------------------------------------------------
// Rules mirrored from crds/*.yaml. Keep them in step: test/constructs checks synthesized CRs against the CRD schemas.
// ---------------------------------------------------------------------------------------------------------------

/** Names Azure reserves for logins and roles (compared case-insensitively), besides anything starting with pg_. */
export const RESERVED_LOGINS: readonly string[] = ['azure_superuser', 'azure_pg_admin', 'admin', 'administrator', 'root', 'guest', 'public'];

/** Role names the CRD also rejects: the reserved logins and postgres. */
export const RESERVED_ROLE_NAMES: readonly string[] = [...RESERVED_LOGINS, 'postgres'];

/** Database names Azure keeps for itself. */
export const RESERVED_DATABASE_NAMES: readonly string[] = ['postgres', 'azure_maintenance', 'azure_sys', 'template0', 'template1'];

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

export const DATABASE_NAME: StringRule = {
  minLength: 1,
  maxLength: 63,
  pattern: /^[a-z_][a-z0-9_]*$/,
  description: '1-63 characters of lowercase letters, digits and underscores, starting with a letter or underscore',
};

export const COLLATION: StringRule = {
  minLength: 1,
  maxLength: 128,
  pattern: /^[A-Za-z0-9_.@-]+$/,
  description: 'a collation name such as en_US.utf8 (letters, digits, _ . @ -; at most 128 characters)',
};

export const FIREWALL_RULE_NAME: StringRule = {
  minLength: 1,
  maxLength: 128,
  pattern: /^[-\w]+$/,
  description: '1-128 letters, digits, hyphens and underscores',
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

export const DELEGATED_SUBNET_ID: StringRule = {
  pattern: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/]+\/subnets\/[^/]+$/,
  description: 'a subnet resource ID: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>',
};

export const PRIVATE_DNS_ZONE_ID: StringRule = {
  pattern: /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Network\/privateDnsZones\/[^/]+\.postgres\.database\.azure\.com$/,
  description: 'a private DNS zone resource ID whose zone name ends with .postgres.database.azure.com: /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/<zone>.postgres.database.azure.com',
};

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

/** Whether `login` is a name Azure reserves (case-insensitive; pg_* included). */
export function isReservedLogin(login: string): boolean {
  const lower = login.toLowerCase();
  return RESERVED_LOGINS.includes(lower) || lower.startsWith('pg_');
}

/** The 32-bit value of a valid dotted IPv4 address, to compare the ends of a range. */
export function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Whole-app checks: what one construct cannot see alone (names that must be unique across the app).
// ---------------------------------------------------------------------------------------------------------------

/** Every construct in the app `scope` belongs to, in a stable (tree) order. */
export function allConstructs(scope: IConstruct): IConstruct[] {
  return scope.node.root.node.findAll();
}

/** The namespace an object lands in; '' when unset (then kubectl's current namespace, one namespace for all of them). */
export function namespaceKey(namespace: string | undefined): string {
  return namespace ?? '';
}

/** For messages: the namespace, or how kubectl picks it when unset. */
export function describeNamespace(namespace: string | undefined): string {
  return namespace === undefined ? 'no namespace (kubectl\'s current namespace)' : `namespace "${namespace}"`;
}

/**
 * Children of a server must be in its namespace (serverRef is namespace-local). They are given the server's namespace
 * explicitly; this catches the one case that cannot fix: a server with no namespace and a child whose chart has one.
 */
export function requireServerNamespace(
  child: IConstruct, what: string, childNamespace: string | undefined, server: IConstruct, serverNamespace: string | undefined,
): void {
  if (childNamespace !== serverNamespace) {
    throwFieldError(child, what, 'namespace', childNamespace,
      `must be the namespace of its server at '${server.node.path}' (${describeNamespace(serverNamespace)}), because serverRef names a `
      + 'PostgresServer in the same namespace; give the server (or its chart) the namespace, or put this in a chart without one');
  }
}

/**
 * cdk8s generates object names from construct ids and keeps characters Kubernetes rejects (such as underscores), so
 * the final name is checked, with the fix.
 */
export function requireValidObjectName(scope: IConstruct, what: string, name: string, explicit: boolean): void {
  const problems = new Problems(scope, what);
  if (explicit) {
    checkString(problems, 'metadata.name', name, DNS_SUBDOMAIN);
  } else if (!checkString(new Problems(scope, what), 'metadata.name', name, DNS_SUBDOMAIN)) {
    problems.add('metadata.name (generated from the construct path)', name,
      `is not ${DNS_SUBDOMAIN.description}; use construct ids of letters, digits and hyphens, or set metadata.name`);
  }
  problems.throwIfAny();
}

/** A construct id for a child named after a user's name: Kubernetes names cannot have underscores, ids can. */
export function childId(scope: IConstruct, prefix: string, name: string): string {
  const base = `${prefix}-${String(name).replace(/_/g, '-')}`;
  let id = base;
  for (let n = 2; scope.node.tryFindChild(id) !== undefined; n++) {
    id = `${base}-${n}`;
  }
  return id;
}
