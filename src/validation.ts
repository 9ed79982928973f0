/**
 * Validation helpers of the constructs: they apply the rules of src/api (the same the CRDs and the reconciler
 * enforce) so that a mistake fails `cdk8s synth` with the construct path, the field, the bad value and what is
 * allowed, instead of failing later at `kubectl apply` (or, worse, in Azure).
 *
 * This module is internal: it is not exported from index.ts (jsii has no free functions).
 */
import { IConstruct } from 'constructs';
import {
  checkInteger as integerProblem,
  checkOneOf as oneOfProblem,
  checkStringRule,
  DNS_SUBDOMAIN,
  formatProblem,
  isReservedAdministratorLogin,
  RESERVED_ADMINISTRATOR_LOGINS,
  showValue,
  type Problem,
  type StringRule,
} from './api';

// The rules themselves live in src/api, shared with the reconciler; re-exported for the constructs.
export {
  ADMINISTRATOR_LOGIN,
  AZURE_SERVER_NAME,
  COLLATION,
  DATABASE_NAME,
  DELEGATED_SUBNET_ID,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  ENV_VAR_NAME,
  FIREWALL_RULE_NAME,
  GUID,
  IPV4,
  ipv4ToNumber,
  LOCATION,
  PRIVATE_DNS_ZONE_ID,
  RESERVED_DATABASE_NAMES,
  RESERVED_ROLE_NAMES,
  RESOURCE_GROUP_NAME,
  ROLE_NAME,
  SKU_NAME,
} from './api';
export type { StringRule } from './api';

/** Names Azure reserves for the administrator login (compared case-insensitively), besides anything starting with pg_. */
export const RESERVED_LOGINS: readonly string[] = RESERVED_ADMINISTRATOR_LOGINS;

/** Whether Azure refuses `login` as the administrator login (case-insensitive; pg_* included). */
export const isReservedLogin: (login: string) => boolean = isReservedAdministratorLogin;

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

  /** Records a problem found by a check of src/api; returns whether there was one. */
  public addProblem(problem: Problem | undefined): boolean {
    if (problem !== undefined) {
      this.messages.push(formatProblem(problem, ''));
    }
    return problem !== undefined;
  }

  /**
   * Records the problems src/api found in a spec the construct built, naming each field as the construct's
   * properties do: `propertyOf` maps a spec field (and the fields under it) to the property that sets it, e.g.
   * `{ azureName: 'databaseName' }`.
   */
  public addSpecProblems(problems: readonly Problem[], propertyOf: Readonly<Record<string, string>> = {}): void {
    for (const problem of problems) {
      const specField = Object.keys(propertyOf).find(f => problem.field === f || problem.field.startsWith(`${f}.`));
      const field = specField === undefined ? problem.field : propertyOf[specField] + problem.field.slice(specField.length);
      this.add(field, problem.value, problem.expected);
    }
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

/** "field = value: expected", the one shape of every message (src/api's formatProblem), for a construct's own field. */
export function fieldMessage(field: string, value: unknown, expected: string): string {
  return formatProblem({ field, value, expected }, '');
}

/** Renders a user's value for an error message (JSON, so strings show their quotes and whitespace). */
export const show: (value: unknown) => string = showValue;

/** Throws one error for one bad argument of a method (for example `addFirewallRule`). */
export function throwFieldError(scope: IConstruct, what: string, field: string, value: unknown, expected: string): never {
  const problems = new Problems(scope, what);
  problems.add(field, value, expected);
  problems.throwIfAny();
  throw new Error('unreachable');
}

/** Checks a string against a rule; records a problem and returns false when it fails. */
export function checkString(problems: Problems, field: string, value: unknown, rule: StringRule): boolean {
  return !problems.addProblem(checkStringRule(field, value, rule));
}

/** Checks that a number is an integer within [min, max]. */
export function checkInteger(problems: Problems, field: string, value: unknown, min: number, max?: number): boolean {
  return !problems.addProblem(integerProblem(field, value, min, max));
}

/** Checks that a value is one of `allowed` (enum values arrive unchecked from JavaScript and from jsii languages). */
export function checkOneOf<T>(problems: Problems, field: string, value: unknown, allowed: readonly T[]): value is T {
  return !problems.addProblem(oneOfProblem(field, value, allowed));
}

/** The values of a TypeScript enum (string or numeric), without the reverse mapping of numeric enums. */
export function enumValues<T>(enumObject: Record<string, T>): T[] {
  const values = Object.values(enumObject);
  const numeric = values.filter(v => typeof v === 'number');
  return (numeric.length > 0 ? numeric : values) as T[];
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
