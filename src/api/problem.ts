/**
 * One problem with a spec, and the one shape every message takes: `field = value: expected`. The constructs (at
 * synth), the reconciler (in a condition) and the tests all print problems this way, so users find the three parts.
 */

/** One thing wrong with a spec: the field (relative to spec, e.g. `storage.sizeGB`), the bad value, and the fix. */
export interface Problem {
  readonly field: string;
  readonly value: unknown;
  /** What is allowed or how to fix it, e.g. "must be one of 32, 64, ...". */
  readonly expected: string;
}

/** Renders a user's value for a message (JSON, so strings show their quotes and whitespace). */
export function showValue(value: unknown): string {
  if (value === undefined) {
    return 'undefined';
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `spec.storage.sizeGB = 16: must be one of ...`; `prefix` is what `field` is relative to. */
export function formatProblem(problem: Problem, prefix = 'spec.'): string {
  return `${prefix}${problem.field} = ${showValue(problem.value)}: ${problem.expected}`;
}

/** Several problems in one line, as a condition message holds them. */
export function formatProblems(problems: readonly Problem[], prefix?: string): string {
  return problems.map(problem => formatProblem(problem, prefix)).join('; ');
}

/** The problems of a list of checks that each return a problem or undefined. */
export function problemsOf(...checks: ReadonlyArray<Problem | undefined | readonly Problem[]>): Problem[] {
  return checks.flatMap(check => (check === undefined ? [] : Array.isArray(check) ? check : [check as Problem]));
}

/** Whether `value` is a plain JSON object (not an array, not null): what a map field such as tags must be. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
