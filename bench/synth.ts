/**
 * Synth time of the constructs against raw cdk8s, in one run:
 *  - stacks: apps of N stacks (an AzurePostgres server, a database, a role and a WebAppWithDb on it), in two layouts:
 *    a chart (and namespace) per stack, and every stack in one chart. Beside each, the baseline: an app that emits
 *    the same objects as raw cdk8s `ApiObject`s (checked: the YAML documents are the same), so the ratio is the
 *    constructs' own cost over cdk8s's;
 *  - the shop example (examples/shop/chart.ts), warm, in process;
 *  - optionally, the cold wall time of `npm run -s example`, `cdk8s synth` and `tsx main.ts` (hyperfine when installed).
 *
 *   tsx bench/synth.ts            # stacks of 10, 100 and 1000; 3 runs each; 3 cold runs of each command
 *   tsx bench/synth.ts --quick    # stacks of 10 and 100, no cold runs (a few seconds)
 *
 * Goals (issue 10): ratio <= 1.3 at every size; 1000 stacks < 10 s; time linear in the app. Shop < 1 s.
 * Prints a table of the goals and writes bench/results/synth[-quick]-<sha>-<date>.json (bench/contract.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Construct } from 'constructs';
import { parseAllDocuments } from 'yaml';
import { environment, loadAverage, mib, parseFlags, ROOT, round, seconds, summarize, Summary } from './common';
import { goalTable, Goal, writeResult } from './contract';
import { Attribution, averageAttribution, profileByOwner } from './cpu-attribution';

const HELP = `
Usage: tsx bench/synth.ts [flags]
  --quick             stacks of 10 and 100, 3 runs, 20 shop runs, no cold runs
  --sizes LIST        stack counts, comma-separated (default 10,100,1000)
  --layouts LIST      chart-per-stack and/or one-chart (default both)
  --runs N            measured runs per size, layout and variant, after one warm-up run (default 3)
  --shop-runs N       in-process warm runs of the shop example (default 50)
  --cold-runs N       wall-time runs of \`npm run -s example\`, \`cdk8s synth\` and \`tsx main.ts\` (default 3; 0 skips)
  --hyperfine BOOL    use hyperfine when installed (default true)
  --validate-once     diagnosis, not how cdk8s runs: Chart.toJson() skips the whole-app validation cdk8s repeats for
                      each chart (app.synthYaml() has validated the app once already), in both variants
  --attribute-runs N  after the measured runs, N more runs of each variant at the largest size of each layout under
                      the CPU profiler, their time split by the package doing the work, averaged (default 1; 0 skips;
                      a diagnosis beside the figures, not one of them)
`;

const flags = parseFlags(process.argv.slice(2), {
  quick: false, sizes: '', layouts: 'chart-per-stack,one-chart', runs: 3, shopRuns: -1, coldRuns: -1, hyperfine: true, validateOnce: false, attributeRuns: 1,
}, HELP);
const sizes = (flags.sizes || (flags.quick ? '10,100' : '10,100,1000')).split(',').map(Number);
const shopRuns = flags.shopRuns >= 0 ? flags.shopRuns : flags.quick ? 20 : 50;
const coldRuns = flags.coldRuns >= 0 ? flags.coldRuns : flags.quick ? 0 : 3;
const layouts = flags.layouts.split(',').map(l => l.trim()).filter(Boolean) as Layout[];
for (const l of layouts) {
  if (l !== 'chart-per-stack' && l !== 'one-chart') throw new Error(`--layouts: unknown layout ${l}`);
}

// The example imports 'cdk8s-azure' (the published name); here it is the library's source, as in the tests.
const SRC_INDEX = path.join(ROOT, 'src', 'index.ts');
const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const resolveFilename = mod._resolveFilename;
mod._resolveFilename = function (request: string, ...rest: unknown[]) {
  return resolveFilename.call(this, request === 'cdk8s-azure' ? SRC_INDEX : request, ...rest);
};

type Lib = typeof import('../src');
type Cdk8s = typeof import('cdk8s');
type App = InstanceType<Cdk8s['App']>;

const t0 = performance.now();
/* eslint-disable @typescript-eslint/no-require-imports */
const cdk8s: Cdk8s = require('cdk8s');
const lib: Lib = require(SRC_INDEX);
// Not a static import: the example imports 'cdk8s-azure', which only the hook above resolves.
const { ShopChart } = require(path.join(ROOT, 'examples', 'shop', 'chart')) as { ShopChart: new (scope: any, id: string) => unknown };
/* eslint-enable @typescript-eslint/no-require-imports */
const moduleLoadMs = performance.now() - t0;

if (flags.validateOnce) {
  // cdk8s's App._synthChart (node_modules/cdk8s/lib/app.js) without its resolveDependencies(app) and validate(app):
  // what a synth of N charts would cost if cdk8s validated the app once instead of N + 1 times.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DependencyGraph } = require('cdk8s/lib/dependency');
  (cdk8s.App as any)._synthChart = (chart: InstanceType<Cdk8s['Chart']>) => new DependencyGraph(chart.node).topology()
    .filter((x: unknown) => x instanceof cdk8s.ApiObject)
    .filter((x: InstanceType<Cdk8s['ApiObject']>) => cdk8s.Chart.of(x) === chart)
    .map((x: InstanceType<Cdk8s['ApiObject']>) => x.toJson());
}

interface Run {
  /** CPU time of the process (user + system): on a shared machine, wall time counts the other processes too. */
  cpuMs: number;
  constructMs: number;
  synthMs: number;
  totalMs: number;
  yaml: string;
  app: App;
}

/** One synth as a user's app does it: a new App, the constructs, `app.synthYaml()` (validation and YAML; no disk). */
function timed(build: (app: App) => void): Run {
  const cpu = process.cpuUsage();
  const a = performance.now();
  const app = new cdk8s.App({ outdir: path.join(tmpdir(), 'cdk8s-azure-bench-unused') });
  build(app);
  const b = performance.now();
  const yaml = app.synthYaml();
  const c = performance.now();
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000, constructMs: b - a, synthMs: c - b, totalMs: c - a, yaml, app };
}

type Layout = 'chart-per-stack' | 'one-chart';

/** N stacks: a server, a database, a role on it and a web app connecting as the role. */
function stacks(n: number, layout: Layout): (app: App) => void {
  return (app) => {
    const single = layout === 'one-chart' ? new cdk8s.Chart(app, 'all', { namespace: 'all-teams' }) : undefined;
    for (let s = 0; s < n; s++) {
      const team = `team-${String(s).padStart(4, '0')}`;
      const ns = single ? 'all-teams' : team;
      const scope = single ? new Construct(single, team) : new cdk8s.Chart(app, team, { namespace: ns });
      const server = new lib.AzurePostgres(scope, 'db', {
        metadata: { namespace: ns },
        resourceGroup: { name: `${team}-rg`, create: true },
        location: 'westeurope',
      });
      const database = server.addDatabase('app');
      const role = server.addRole('app', { database });
      new lib.WebAppWithDb(scope, 'api', { image: `example/${team}:1.0.0`, role });
    }
  };
}

/** The same objects as raw ApiObjects, chart by chart: what cdk8s alone costs to emit this YAML. */
function rawOf(constructs: App): (app: App) => void {
  const charts = constructs.charts.map(chart => ({
    id: chart.node.id,
    namespace: chart.namespace,
    objects: chart.node.findAll().filter(cdk8s.ApiObject.isApiObject).map(o => o.toJson()),
  }));
  return (app) => {
    for (const c of charts) {
      const chart = new cdk8s.Chart(app, c.id, { namespace: c.namespace });
      c.objects.forEach((manifest, i) => new cdk8s.ApiObject(chart, `o${i}`, manifest));
    }
  };
}

/**
 * The YAML's documents as canonical JSON, in a stable order: cdk8s orders objects by their dependencies (raw objects
 * have none) and the generated CRD classes emit spec keys in schema order (raw objects sort them).
 */
function documents(yaml: string): string[] {
  const canonical = (v: unknown): unknown => Array.isArray(v) ? v.map(canonical)
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map(k => [k, canonical((v as any)[k])])) : v;
  return parseAllDocuments(yaml).map(d => JSON.stringify(canonical(d.toJSON()))).filter(d => d !== 'null').sort();
}

interface Variant {
  cpuMs: Summary;
  totalMs: Summary;
  constructMs: Summary;
  synthMs: Summary;
}

interface StackResult {
  stacks: number;
  layout: Layout;
  objects: number;
  constructs: number;
  rawConstructs: number;
  yamlBytes: number;
  runs: number;
  azure: Variant;
  raw: Variant;
  /** Median CPU time of the constructs' runs over the median of raw's. */
  ratio: number;
  /** More runs of each variant under the profiler (`--attribute-runs`), at the largest size: CPU by package, per run. */
  attribution?: { runs: number; azure: Attribution; raw: Attribution };
}

/** The repository's own folders, as the attribution names them. */
const OWN_FOLDERS = { src: 'cdk8s-azure (src/)', imports: 'generated CR classes (imports/)', bench: 'this bench' };

function variant(runs: Run[]): Variant {
  return {
    cpuMs: summarize(runs.map(r => r.cpuMs)),
    totalMs: summarize(runs.map(r => r.totalMs)),
    constructMs: summarize(runs.map(r => r.constructMs)),
    synthMs: summarize(runs.map(r => r.synthMs)),
  };
}

/** One warm-up run of each, then `runs` of each, interleaved, so that load on the machine hits both alike. */
async function measureStacks(n: number, layout: Layout, attributeCpu: boolean): Promise<StackResult> {
  const build = stacks(n, layout);
  const first = timed(build);
  const raw = rawOf(first.app);
  const firstRaw = timed(raw);
  const same = documents(first.yaml);
  if (JSON.stringify(same) !== JSON.stringify(documents(firstRaw.yaml))) {
    throw new Error(`${n} stacks (${layout}): the raw ApiObjects do not emit the constructs' YAML`);
  }
  const azureRuns: Run[] = [];
  const rawRuns: Run[] = [];
  for (let i = 0; i < flags.runs; i++) {
    azureRuns.push(timed(build));
    rawRuns.push(timed(raw));
  }
  const azure = variant(azureRuns);
  const rawVariant = variant(rawRuns);
  let attribution: StackResult['attribution'];
  if (attributeCpu) {
    const profiled = { azure: [] as Attribution[], raw: [] as Attribution[] };
    for (let i = 0; i < flags.attributeRuns; i++) {
      profiled.azure.push(await profileByOwner(() => timed(build), ROOT, OWN_FOLDERS));
      profiled.raw.push(await profileByOwner(() => timed(raw), ROOT, OWN_FOLDERS));
    }
    attribution = { runs: flags.attributeRuns, azure: averageAttribution(profiled.azure), raw: averageAttribution(profiled.raw) };
  }
  return {
    stacks: n,
    layout,
    objects: same.length,
    constructs: first.app.node.findAll().length,
    rawConstructs: firstRaw.app.node.findAll().length,
    yamlBytes: Buffer.byteLength(first.yaml),
    runs: flags.runs,
    azure,
    raw: rawVariant,
    ratio: round(azure.cpuMs.median / rawVariant.cpuMs.median, 2),
    attribution,
  };
}

function shop(app: App): void {
  new ShopChart(app, 'shop');
}

interface Cold {
  command: string;
  cwd: string;
  tool: 'hyperfine' | 'loop';
  runs: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
}

function hyperfineAvailable(): boolean {
  return flags.hyperfine && spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Wall time of a shell command from a fresh process each run (one unmeasured warm-up run fills the OS cache). */
function cold(command: string, cwd: string, runs: number): Cold {
  const env = { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
  if (hyperfineAvailable()) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
    const out = path.join(dir, 'hyperfine.json');
    try {
      execFileSync('hyperfine', ['--warmup', '1', '--runs', String(runs), '--style', 'basic', '--export-json', out, command],
        { cwd, env, stdio: ['ignore', 'ignore', 'inherit'] });
      const times: number[] = JSON.parse(readFileSync(out, 'utf8')).results[0].times.map((t: number) => t * 1000);
      const s = summarize(times);
      return { command, cwd: path.relative(ROOT, cwd) || '.', tool: 'hyperfine', runs, medianMs: s.median, p95Ms: s.p95, minMs: s.min, maxMs: s.max };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const times: number[] = [];
  for (let i = -1; i < runs; i++) {
    const a = performance.now();
    const r = spawnSync('sh', ['-c', command], { cwd, env, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${command} exited ${r.status}`);
    if (i >= 0) times.push(performance.now() - a);
  }
  const s = summarize(times);
  return { command, cwd: path.relative(ROOT, cwd) || '.', tool: 'loop', runs, medianMs: s.median, p95Ms: s.p95, minMs: s.min, maxMs: s.max };
}

/** How time grows from the second-largest size to the largest: 1 is linear, 2 quadratic. */
function growthExponent(a: { stacks: number; ms: number }, b: { stacks: number; ms: number }): number {
  return round(Math.log(b.ms / a.ms) / Math.log(b.stacks / a.stacks), 2);
}

async function main(): Promise<void> {
  const env = environment();
  process.stderr.write(`synth bench: load ${env.loadAtStart}, commit ${env.commit}${flags.quick ? ', --quick' : ''}${flags.validateOnce ? ', --validate-once (diagnosis)' : ''}\n`);

  const shopRuns_: Run[] = [];
  const shopFirst = timed(shop);
  for (let i = 0; i < shopRuns; i++) shopRuns_.push(timed(shop));
  const shopWarm = summarize(shopRuns_.length > 0 ? shopRuns_.map(r => r.totalMs) : [shopFirst.totalMs]);
  process.stderr.write(`shop: first ${round(shopFirst.totalMs)} ms, warm median ${shopWarm.median} ms, p95 ${shopWarm.p95} ms\n`);

  const results: StackResult[] = [];
  for (const layout of layouts) {
    for (const n of sizes) {
      const r = await measureStacks(n, layout, flags.attributeRuns > 0 && n === Math.max(...sizes));
      results.push(r);
      process.stderr.write(`${n} stacks, ${layout}: constructs ${seconds(r.azure.cpuMs.median)} s CPU (${seconds(r.azure.totalMs.median)} s wall), `
        + `raw ${seconds(r.raw.cpuMs.median)} s CPU (${seconds(r.raw.totalMs.median)} s wall), ratio ${r.ratio}; ${r.objects} objects, ${r.constructs} constructs; load ${loadAverage()}\n`);
    }
  }

  const coldResults: Cold[] = [];
  if (coldRuns > 0) {
    // The README's main job: pre-compile (cdk8s import of crds/), the jsii build, then cdk8s synth of examples/shop.
    coldResults.push(cold('npm run -s example > /dev/null', ROOT, coldRuns));
    // Its last step alone: cdk8s-cli runs `npx tsx main.ts` against the built library.
    coldResults.push(cold('cdk8s synth --stdout --no-check-upgrade > /dev/null', path.join(ROOT, 'examples', 'shop'), coldRuns));
    // The app itself in a fresh Node process (tsx main.ts, what cdk8s.yaml's app runs).
    coldResults.push(cold('tsx main.ts > /dev/null', path.join(ROOT, 'examples', 'shop'), coldRuns));
  }

  const goals: Goal[] = [];
  const label = (l: Layout) => l === 'chart-per-stack' ? 'a chart per stack' : 'one chart';
  for (const r of results) {
    goals.push({
      goal: `synth ${r.stacks} stacks, ${label(r.layout)}: constructs / raw ApiObjects`,
      target: '<= 1.3',
      value: r.ratio,
      unit: 'x',
      met: r.ratio <= 1.3,
      note: `CPU ${seconds(r.azure.cpuMs.median)} s vs ${seconds(r.raw.cpuMs.median)} s (medians of ${r.runs})`,
    });
  }
  for (const layout of layouts) {
    const r = results.find(x => x.layout === layout && x.stacks === 1000);
    goals.push(r === undefined
      ? { goal: `synth 1000 stacks, ${label(layout)}`, target: '< 10 s', value: 'not run', unit: '', met: null, note: flags.quick ? '--quick runs 10 and 100' : '--sizes leaves 1000 out' }
      : { goal: `synth 1000 stacks, ${label(layout)}`, target: '< 10 s', value: seconds(r.azure.cpuMs.median), unit: 's CPU', met: r.azure.cpuMs.median < 10_000, note: `wall ${seconds(r.azure.totalMs.median)} s (load ${loadAverage()})` });
    const bySize = results.filter(x => x.layout === layout).sort((a, b) => a.stacks - b.stacks);
    if (bySize.length >= 2) {
      const [a, b] = bySize.slice(-2);
      const k = growthExponent({ stacks: a.stacks, ms: a.azure.cpuMs.median }, { stacks: b.stacks, ms: b.azure.cpuMs.median });
      const kRaw = growthExponent({ stacks: a.stacks, ms: a.raw.cpuMs.median }, { stacks: b.stacks, ms: b.raw.cpuMs.median });
      goals.push({
        goal: `synth time growth ${a.stacks} -> ${b.stacks} stacks, ${label(layout)} (time ~ N^k)`,
        target: 'linear (k <= 1.15)',
        value: k,
        unit: 'k',
        met: k <= 1.15,
        note: `raw ApiObjects: k = ${kRaw}`,
      });
    }
  }
  if (shopRuns > 0) goals.push({ goal: 'synth of the shop example, in process (warm)', target: '< 1 s', value: round(shopWarm.p95), unit: 'ms p95', met: shopWarm.p95 < 1000, note: `median ${shopWarm.median} ms; first in a process ${round(shopFirst.totalMs)} ms` });

  const data = {
    env,
    loadAtEnd: loadAverage(),
    moduleLoadMs: round(moduleLoadMs),
    processMaxRssMiB: mib(process.resourceUsage().maxRSS * 1024),
    shop: { runs: shopRuns, firstMs: round(shopFirst.totalMs), warm: shopWarm },
    stacks: results,
    cold: coldResults,
  };
  const file = writeResult(flags.validateOnce ? 'synth-validate-once' : 'synth', flags.quick, goals, data, env);
  process.stdout.write('\n| Stacks | Layout | Objects | Constructs (raw) | Constructs: CPU / wall (synth part) | Raw ApiObjects: CPU / wall | Ratio (CPU) |\n| --- | --- | --- | --- | --- | --- | --- |\n');
  for (const r of results) {
    process.stdout.write(`| ${r.stacks} | ${r.layout} | ${r.objects} | ${r.constructs} (${r.rawConstructs}) | ${seconds(r.azure.cpuMs.median)} / ${seconds(r.azure.totalMs.median)} s (${seconds(r.azure.synthMs.median)} s) | ${seconds(r.raw.cpuMs.median)} / ${seconds(r.raw.totalMs.median)} s | ${r.ratio} |\n`);
  }
  for (const r of results.filter(x => x.attribution !== undefined)) {
    process.stdout.write(`\n${attributionTable(r)}\n`);
  }
  for (const c of coldResults) {
    process.stdout.write(`cold: \`${c.command}\` in ${c.cwd}: median ${seconds(c.medianMs)} s, p95 ${seconds(c.p95Ms)} s (${c.tool}, ${c.runs} runs)\n`);
  }
  process.stdout.write(`\n${goalTable(goals)}\n\nwritten: ${path.relative(ROOT, file)}\n`);
}

/**
 * The profiled runs of one size side by side, by package: what the constructs' app spends beyond raw cdk8s, and who
 * spends it. Sampled times (ms) of one run each; the profiler's overhead is in both columns.
 */
function attributionTable(r: StackResult): string {
  const { azure, raw } = r.attribution!;
  const owners = [...new Set([...Object.keys(azure.byOwner), ...Object.keys(raw.byOwner)])]
    .sort((a, b) => ((azure.byOwner[b] ?? 0) - (raw.byOwner[b] ?? 0)) - ((azure.byOwner[a] ?? 0) - (raw.byOwner[a] ?? 0)));
  const extra = azure.totalMs - raw.totalMs;
  const rows = owners.map((o) => {
    const a = azure.byOwner[o] ?? 0;
    const b = raw.byOwner[o] ?? 0;
    return `| ${o} | ${a} | ${b} | ${a - b} | ${extra > 0 ? round((100 * (a - b)) / extra) : 0} % |`;
  });
  return [`CPU by package, ${r.stacks} stacks, ${r.layout} (ms per run, the mean of ${r.attribution!.runs} profiled run(s) of each):`,
    '| Package | Constructs | Raw ApiObjects | Difference | Share of the difference |', '| --- | --- | --- | --- | --- |',
    ...rows, `| total | ${azure.totalMs} | ${raw.totalMs} | ${extra} | 100 % |`].join('\n');
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
