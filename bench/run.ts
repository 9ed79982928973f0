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
import { spawn, spawnSync } from 'node:child_process';
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

/** The quick run's own goal: every bench with --quick in under 2 minutes. */
const QUICK_BUDGET_SECONDS = 120;

/**
 * The benches whose figures are wall-clock times (time to Ready, apply -> write, start -> ready): they never run beside
 * each other. Under --quick the others (counts, CPU seconds, memory) run in a second lane beside them, which is what
 * brings the quick run under its budget; their load is on the machine while the timed ones run, like other work, so a
 * quick run's times are upper bounds (its counts and memory figures are not affected).
 */
const TIMED = new Set(['burst', 'latency']);

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

/** The bench script a result file's `bench` name comes from. */
function benchOfResult(bench: string): string {
  return ({ 'arm-burst': 'burst', 'reconciler-footprint': 'footprint', 'steady-state': 'steady' } as Record<string, string>)[bench] ?? bench;
}

/** The command of a bench task (.projen/tasks.json), run directly: npm and projen add seconds to each bench. */
function taskCommand(script: string): string {
  const tasks = JSON.parse(readFileSync(path.join(ROOT, '.projen', 'tasks.json'), 'utf8')).tasks;
  const steps: Array<{ exec?: string }> = tasks[script]?.steps ?? [];
  if (steps.length !== 1 || !steps[0].exec) throw new Error(`task ${script} is not one exec step`);
  return steps[0].exec;
}

interface Finished {
  script: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  written: string[];
}

/** Runs benches one after the other; each one's output is printed when it ends (lanes run side by side). */
async function runLane(lane: string[]): Promise<Finished[]> {
  const done: Finished[] = [];
  for (const script of lane) {
    const command = `${taskCommand(script)}${flags.quick ? ' --quick' : ''}`;
    const before = resultFiles();
    const t = performance.now();
    const env = { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`, BENCH_BUNDLE_BUILT: '1' };
    const child = spawn('sh', ['-c', command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve => child.on('close', (code, sig) => resolve([code, sig])));
    const seconds = round((performance.now() - t) / 1000, 1);
    process.stderr.write(`\n=== ${command} (${seconds} s)\n${output}`);
    const written = [...resultFiles()].filter(([name, mtime]) => before.get(name) !== mtime).map(([name]) => name).sort();
    done.push({ script, exitCode, signal, seconds, written });
  }
  return done;
}

async function main(): Promise<void> {
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
  // One bundle for every bench that runs the reconciler (each would otherwise build its own).
  const built = spawnSync('npx', ['projen', 'bundle:reconciler'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npx projen bundle:reconciler failed');
  // --quick: the timed benches one after the other in one lane, the others shared out over two lanes beside it.
  const untimed = scripts.filter(s => !TIMED.has(s.slice('bench:'.length)));
  const lanes = flags.quick
    ? [scripts.filter(s => TIMED.has(s.slice('bench:'.length))), untimed.filter((_, i) => i % 2 === 0), untimed.filter((_, i) => i % 2 === 1)]
    : [scripts];
  const finished = (await Promise.all(lanes.map(lane => runLane(lane)))).flat();
  const runs: ScriptRun[] = [];
  const rows: Array<Goal & { bench: string }> = [];
  for (const script of scripts) {
    const { exitCode, signal, seconds, written } = finished.find(f => f.script === script)!;
    const results = written
      .map(name => ({ name, json: JSON.parse(readFileSync(path.join(RESULTS_DIR, name), 'utf8')) }))
      .filter(({ json }) => isResult(json) && json.quick === flags.quick && `bench:${benchOfResult(json.bench)}` === script);
    const r = { status: exitCode, signal };
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

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
