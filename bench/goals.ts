/**
 * The result contract every bench script ends with: a table of its goals beside their figures on stdout, and JSON in
 * bench/results/<bench>[-quick]-<short-sha>-<YYYY-MM-DD>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { type Environment, percentile, ROOT, round } from './common';

export interface Goal {
  readonly goal: string;
  readonly target: string;
  readonly value: number | string;
  readonly unit: string;
  /** null: reported, no target to meet. */
  readonly met: boolean | null;
  readonly note?: string;
}

export interface BenchResult {
  readonly bench: string;
  readonly quick: boolean;
  readonly commit: string;
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly goals: readonly Goal[];
  readonly data?: unknown;
}

/** Prints the goals table and writes the JSON; returns the file written. */
export function writeResult(bench: string, quick: boolean, env: Environment, goals: readonly Goal[], data?: unknown): string {
  const result: BenchResult = {
    bench,
    quick,
    commit: env.commit + (env.dirtySrc.length ? '+dirty' : ''),
    date: env.date,
    machine: { node: env.node, cpus: env.cpus, cpuModel: env.cpuModel, memTotalMiB: env.memTotalMiB, loadAtStart: env.loadAtStart, command: env.command },
    goals,
    data,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${bench}${quick ? '-quick' : ''}-${env.commit}-${env.date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`\n### ${bench}${quick ? ' (quick)' : ''}: goals\n`);
  process.stdout.write('| goal | target | value | met |\n|---|---|---|---|\n');
  for (const g of goals) {
    const met = g.met === null ? 'n/a' : g.met ? 'yes' : 'NO';
    process.stdout.write(`| ${g.goal} | ${g.target} | ${g.value} ${g.unit}${g.note ? ` (${g.note})` : ''} | ${met} |\n`);
  }
  process.stdout.write(`\nJSON: ${path.relative(ROOT, file)}\n`);
  return file;
}

/** p50 and p99 of a list of values, rounded. */
export function p50p99(values: readonly number[], digits = 2): { p50: number; p99: number; max: number; n: number } {
  if (values.length === 0) return { p50: NaN, p99: NaN, max: NaN, n: 0 };
  return { p50: round(percentile(values, 50), digits), p99: round(percentile(values, 99), digits), max: round(Math.max(...values), digits), n: values.length };
}
