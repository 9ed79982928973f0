/**
 * What the reconciler benches share on top of the result contract (bench/contract.ts): printing their goals as they
 * write them, and percentiles.
 */
import * as path from 'node:path';
import { type Environment, percentile, ROOT, round } from './common';
import { type Goal, goalTable, writeResult as writeContractResult } from './contract';

export type { Goal } from './contract';

/** Writes the result (bench/contract.ts), prints its goals table, and returns the file written. */
export function writeResult(bench: string, quick: boolean, env: Environment, goals: readonly Goal[], data?: unknown): string {
  const file = writeContractResult(bench, quick, [...goals], data, env);
  process.stdout.write(`\n### ${bench}${quick ? ' (quick)' : ''}: goals\n${goalTable(goals)}\n\nJSON: ${path.relative(ROOT, file)}\n`);
  return file;
}

/** p50 and p99 of a list of values, rounded. */
export function p50p99(values: readonly number[], digits = 2): { p50: number; p99: number; max: number; n: number } {
  if (values.length === 0) return { p50: NaN, p99: NaN, max: NaN, n: 0 };
  return {
    p50: round(percentile(values, 50), digits),
    p99: round(percentile(values, 99), digits),
    max: round(Math.max(...values), digits),
    n: values.length,
  };
}
