/**
 * `npm run bench`: runs every bench script (each `bench:*` script of package.json, that is each bench task of
 * .projenrc.ts) one after the other, then prints one table of every goal beside its figure, read from the result file
 * each script wrote (bench/contract.ts), and writes them together to bench/results/bench[-quick]-<sha>-<date>.json.
 *
 *   npm run bench                         # every bench, full
 *   npm run bench -- --quick              # every bench with --quick (bounded; the whole run in under 2 minutes)
 *   npm run bench -- --only synth,burst   # some of them (names without "bench:")
 *
 * A bench that fails or writes no result is reported as such, and the runner exits 1 after running the others.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseFlags, ROOT, round } from './common';
import { BenchResult, Goal, goalTable, RESULTS_DIR, writeResult } from './contract';

const HELP = `
Usage: npm run bench -- [flags]
  --quick         pass --quick to every bench (each a bounded run; all of them under 2 minutes)
  --only LIST     run only these benches, comma-separated names without "bench:" (default: all)
  --skip LIST     leave these out
  --list          print the benches found and exit
`;

const flags = parseFlags(process.argv.slice(2), { quick: false, only: '', skip: '', list: false }, HELP);

/** The quick run's own goal: every bench with --quick, one after the other, in under 2 minutes. */
const QUICK_BUDGET_SECONDS = 120;

/** Every `bench:<name>` script of package.json, in name order. */
function benchScripts(): string[] {
  const scripts: Record<string, string> = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts ?? {};
  return Object.keys(scripts).filter(name => /^bench:[\w-]+$/.test(name)).sort();
}

function list(value: string): string[] {
  return value.split(',').map(s => s.trim()).filter(Boolean).map(s => s.replace(/^bench:/, ''));
}

/** The result files in bench/results and when each was last written. */
function resultFiles(): Map<string, number> {
  const files = new Map<string, number>();
  if (existsSync(RESULTS_DIR)) {
    for (const name of readdirSync(RESULTS_DIR).filter(n => n.endsWith('.json'))) {
      files.set(name, statSync(path.join(RESULTS_DIR, name)).mtimeMs);
    }
  }
  return files;
}

function isResult(x: any): x is BenchResult {
  return x !== null && typeof x === 'object' && typeof x.bench === 'string' && Array.isArray(x.goals);
}

interface ScriptRun {
  script: string;
  exitCode: number | null;
  seconds: number;
  results: string[];
}

function main(): void {
  const found = benchScripts();
  if (flags.list) {
    process.stdout.write(found.join('\n') + '\n');
    return;
  }
  const only = list(flags.only);
  const skip = list(flags.skip);
  const unknown = [...only, ...skip].filter(name => !found.includes(`bench:${name}`));
  if (unknown.length > 0) {
    throw new Error(`no bench script ${unknown.map(n => `bench:${n}`).join(', ')} in package.json (found: ${found.join(', ')})`);
  }
  const scripts = found.filter(s => (only.length === 0 || only.includes(s.slice('bench:'.length))) && !skip.includes(s.slice('bench:'.length)));

  const started = performance.now();
  const runs: ScriptRun[] = [];
  const rows: Array<Goal & { bench: string }> = [];
  for (const script of scripts) {
    const args = ['run', '-s', script, ...flags.quick ? ['--', '--quick'] : []];
    process.stderr.write(`\n=== npm ${args.join(' ')}\n`);
    const before = resultFiles();
    const t = performance.now();
    const r = spawnSync('npm', args, { cwd: ROOT, stdio: 'inherit' });
    const seconds = round((performance.now() - t) / 1000, 1);
    const written = [...resultFiles()].filter(([name, mtime]) => before.get(name) !== mtime).map(([name]) => name).sort();
    const results = written
      .map(name => ({ name, json: JSON.parse(readFileSync(path.join(RESULTS_DIR, name), 'utf8')) }))
      .filter(({ json }) => isResult(json) && json.quick === flags.quick);
    runs.push({ script, exitCode: r.status, seconds, results: results.map(x => path.join('bench', 'results', x.name)) });
    for (const { json } of results) {
      for (const goal of (json as BenchResult).goals) {
        rows.push({ ...goal, bench: (json as BenchResult).bench });
      }
    }
    if (r.status !== 0 || results.length === 0) {
      rows.push({
        bench: script.slice('bench:'.length),
        goal: `${script} ran and wrote its result`,
        target: 'exit 0, a result file',
        value: r.status === null ? `killed (${r.signal})` : `exit ${r.status}`,
        unit: '',
        met: false,
        note: results.length === 0 ? 'no result file in bench/results' : 'see its output above',
      });
    }
  }
  const totalSeconds = round((performance.now() - started) / 1000, 1);
  if (flags.quick) {
    rows.push({
      bench: 'bench',
      goal: `npm run bench -- --quick (${scripts.length} benches)`,
      target: `< ${QUICK_BUDGET_SECONDS} s`,
      value: totalSeconds,
      unit: 's',
      met: totalSeconds < QUICK_BUDGET_SECONDS,
      note: runs.map(r => `${r.script.slice('bench:'.length)} ${r.seconds} s`).join(', '),
    });
  }

  const file = writeResult('bench', flags.quick, rows, { totalSeconds, runs });
  process.stdout.write(`\n## Every goal${flags.quick ? ' (--quick)' : ''}\n\n${goalTable(rows)}\n\n`);
  process.stdout.write(`${scripts.length} benches in ${totalSeconds} s; written: ${path.relative(ROOT, file)}\n`);
  if (runs.some(r => r.exitCode !== 0 || r.results.length === 0)) {
    process.exitCode = 1;
  }
}

main();
