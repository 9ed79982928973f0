/**
 * Validation helpers of the constructs: they apply the rules of src/api (the same the CRDs and the reconciler
 * enforce) so that a mistake fails `cdk8s synth` with the construct path, the field, the bad value and what is
 * allowed, instead of failing later at `kubectl apply` (or, worse, in Azure).
 *
 * This module is internal: it is not exported from index.ts (jsii has no free functions).
 */
import { ApiObject } from 'cdk8s';
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

  public get count(): number {
    return this.messages.length;
  }

  public throwIfAny(): void {
    if (this.messages.length === 0) {
      return;
    }
    throw new Error(`Invalid ${this.what} at '${this.scope.node.path}':\n  - ${this.messages.join('\n  - ')}`);
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
  child: IConstruct, childNamespace: string | undefined, server: IConstruct, serverNamespace: string | undefined,
): void {
  if (childNamespace !== serverNamespace) {
    throwFieldError(child, `${child.constructor.name} properties`, 'namespace', childNamespace,
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

/** A Secret some construct of the app declares: a Secret object, or one the reconciler writes for a CR. */
export interface DeclaredSecret {
  readonly namespace: string | undefined;
  readonly name: string;
  /** The construct that declares it, whose path the message names. */
  readonly owner: IConstruct;
  /** How it is declared, e.g. "the connection Secret of PostgresRole shop-catalog-app". */
  readonly description: string;
}

/**
 * Constructs whose CR makes the reconciler write a Secret carry this symbol: a function returning that Secret. A
 * symbol (Symbol.for, so one per process) rather than instanceof, so that validation.ts does not import the
 * constructs, and copies of the library loaded twice still see each other.
 */
export const WRITES_SECRET = Symbol.for('cdk8s-azure.dev/writes-secret');

/** Marks `construct` as writing the Secret `secret()` returns (evaluated at validation time, when names are final). */
export function declareWrittenSecret(construct: IConstruct, secret: () => DeclaredSecret): void {
  Object.defineProperty(construct, WRITES_SECRET, { value: secret, enumerable: false });
  installValidationPassReset(construct);
}

/**
 * declaredSecrets() of each app, for the validation pass in progress. Every role and server asks for the app's
 * Secrets, and cdk8s validates the whole app once per chart, so walking the tree each time made a 50-server app take
 * ~40 s to synth. The root's own validator runs first in every pass (cdk8s validates in tree order, root first) and
 * clears the entry, so a pass never sees Secrets from before the tree last changed.
 */
const secretsOfPass = new WeakMap<IConstruct, DeclaredSecret[]>();
const passResetInstalled = new WeakSet<IConstruct>();

/** Called when a construct that declares a Secret is created: makes the root reset the per-pass cache. */
export function installValidationPassReset(scope: IConstruct): void {
  const root = scope.node.root;
  if (passResetInstalled.has(root)) return;
  passResetInstalled.add(root);
  root.node.addValidation({
    validate: () => {
      secretsOfPass.delete(root);
      return [];
    },
  });
}

/** Every Secret the app declares: the ones our CRs make the reconciler write, and Secret objects. */
export function declaredSecrets(scope: IConstruct): DeclaredSecret[] {
  const root = scope.node.root;
  const cached = passResetInstalled.has(root) ? secretsOfPass.get(root) : undefined;
  if (cached) return cached;
  const result: DeclaredSecret[] = [];
  for (const c of allConstructs(scope)) {
    const writer = (c as any)[WRITES_SECRET] as (() => DeclaredSecret) | undefined;
    if (writer) {
      result.push(writer());
    } else if (ApiObject.isApiObject(c) && c.kind === 'Secret' && c.apiVersion === 'v1') {
      result.push({ namespace: c.metadata.namespace, name: c.name, owner: c, description: 'a Secret object' });
    }
  }
  if (passResetInstalled.has(root)) secretsOfPass.set(root, result);
  return result;
}

/**
 * Messages for every other declared Secret with the same namespace and name as `mine`: the reconciler would
 * overwrite the other one (or refuse to), and an app reading it would get the wrong credentials.
 */
export function secretCollisions(scope: IConstruct, mine: DeclaredSecret): string[] {
  return declaredSecrets(scope)
    .filter(other => other.owner !== mine.owner
      && other.name === mine.name
      && namespaceKey(other.namespace) === namespaceKey(mine.namespace))
    .map(other => fieldMessage('secret name', mine.name,
      `${mine.description} has the same name in ${describeNamespace(mine.namespace)} as ${other.description} (at '${other.owner.node.path}'); `
      + 'two Secrets cannot share a name in one namespace: give one of them another secretName'));
}
