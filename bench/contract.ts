/**
 * The result every bench writes (docs/benchmarks.md, "How to run"): one JSON file per run in bench/results/, named
 * `<bench>[-quick]-<short sha>-<YYYY-MM-DD>.json`, with every goal beside its measured figure. `npm run bench`
 * (bench/run.ts) reads these files to print one table of every goal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { environment, Environment, ROOT } from './common';

export interface Goal {
  /** What is measured, e.g. "synth, 1000 stacks, a chart each". */
  readonly goal: string;
  /** The target as written in the issue, e.g. "< 10 s". */
  readonly target: string;
  readonly value: number | string;
  readonly unit: string;
  /** null when the run could not tell (for example a size --quick does not run). */
  readonly met: boolean | null;
  readonly note?: string;
}

export interface BenchResult {
  readonly bench: string;
  readonly quick: boolean;
  readonly commit: string;
  readonly date: string;
  readonly machine: Record<string, unknown>;
  readonly goals: Goal[];
  readonly data?: unknown;
}

export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

/** Writes the result file and returns its path; `env` is the one taken when the run started (the commit may move on). */
export function writeResult(bench: string, quick: boolean, goals: Goal[], data?: unknown, env: Environment = environment()): string {
  const result: BenchResult = {
    bench,
    quick,
    commit: env.commit + (env.dirtySrc.length > 0 ? '+dirty' : ''),
    date: env.date,
    machine: { cpus: env.cpus, cpuModel: env.cpuModel, memTotalMiB: env.memTotalMiB, node: env.node, loadAtStart: env.loadAtStart, loadAtEnd: os.loadavg().map(l => l.toFixed(2)).join(' ') },
    goals,
    data,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${bench}${quick ? '-quick' : ''}-${env.commit || 'unknown'}-${env.date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

/** Goals as a Markdown table (what each bench prints, and the runner for all of them). */
export function goalTable(rows: ReadonlyArray<Goal & { bench?: string }>): string {
  const withBench = rows.some(r => r.bench !== undefined);
  const head = [...withBench ? ['Bench'] : [], 'Goal', 'Target', 'Measured', 'Met?', 'Note'];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    const met = r.met === null ? 'n/a' : r.met ? 'yes' : '**no**';
    const cells = [...withBench ? [r.bench ?? ''] : [], r.goal, r.target, `${r.value}${r.unit ? ` ${r.unit}` : ''}`, met, r.note ?? ''];
    lines.push(`| ${cells.map(c => String(c).replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return lines.join('\n');
}
