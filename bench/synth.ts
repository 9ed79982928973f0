/**
 * Synth time of the constructs: the shop example (examples/shop/chart.ts) and a large app, in process (warm, many
 * runs: median and p95), plus the cold wall time of the README's main job (`npm run -s example`) and of its last
 * step alone (`cdk8s synth` in examples/shop), measured with hyperfine when installed, else a loop.
 *
 *   tsx bench/synth.ts                       # defaults below
 *   tsx bench/synth.ts --shop-runs 20 --large-runs 3 --cold-runs 0
 *
 * Targets: shop < 1 s in process, large app < 10 s.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Construct } from 'constructs';
import { environment, loadAverage, mib, parseFlags, report, ROOT, round, seconds, summarize, Summary } from './common';

const HELP = `
Usage: tsx bench/synth.ts [flags]
  --shop-runs N       in-process warm runs of the shop example (default 50)
  --large-runs N      in-process warm runs of the large app, per layout (default 3)
  --servers N         large app: servers (default 50)
  --databases N       large app: databases per server (default 4)
  --roles N           large app: roles per database (default 4)
  --apps N            large app: web apps per server, each on one role (default 4)
  --layouts LIST      large app: chart-per-server (a chart and namespace per server) and/or one-chart (everything in
                      one chart and namespace); comma-separated (default chart-per-server,one-chart)
  --cold-runs N       wall-time runs of \`npm run -s example\` and of \`cdk8s synth\` (default 5; 0 skips them)
  --hyperfine BOOL    use hyperfine when installed (default true)
`;

const flags = parseFlags(process.argv.slice(2), {
  shopRuns: 50, largeRuns: 3, layouts: 'chart-per-server,one-chart', servers: 50, databases: 4, roles: 4, apps: 4, coldRuns: 5, hyperfine: true,
}, HELP);

// The example imports 'cdk8s-azure' (the published name); here it is the library's source, as in the tests.
const SRC_INDEX = path.join(ROOT, 'src', 'index.ts');
const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const resolveFilename = mod._resolveFilename;
mod._resolveFilename = function (request: string, ...rest: unknown[]) {
  return resolveFilename.call(this, request === 'cdk8s-azure' ? SRC_INDEX : request, ...rest);
};

interface Run {
  constructMs: number;
  synthMs: number;
  totalMs: number;
  objects: number;
  yamlBytes: number;
}

type Lib = typeof import('../src');
type Cdk8s = typeof import('cdk8s');

const t0 = performance.now();
/* eslint-disable @typescript-eslint/no-require-imports */
const cdk8s: Cdk8s = require('cdk8s');
const lib: Lib = require(SRC_INDEX);
// Not a static import: the example imports 'cdk8s-azure', which only the hook above resolves.
const { ShopChart } = require(path.join(ROOT, 'examples', 'shop', 'chart')) as { ShopChart: new (scope: any, id: string) => unknown };
/* eslint-enable @typescript-eslint/no-require-imports */
const moduleLoadMs = performance.now() - t0;

function timed(build: (app: InstanceType<Cdk8s['App']>) => void): Run {
  const a = performance.now();
  const app = new cdk8s.App({ outdir: path.join(tmpdir(), 'cdk8s-azure-bench-unused') });
  build(app);
  const b = performance.now();
  const yaml = app.synthYaml();
  const c = performance.now();
  const objects = yaml.split(/^---$/m).filter((d) => d.trim()).length;
  return { constructMs: b - a, synthMs: c - b, totalMs: c - a, objects, yamlBytes: Buffer.byteLength(yaml) };
}

function shop(app: InstanceType<Cdk8s['App']>): void {
  new ShopChart(app, 'shop');
}

type Layout = 'chart-per-server' | 'one-chart';

/**
 * servers x (1 firewall rule, databases x (1 database, roles x 1 role), apps web apps). chart-per-server: a chart and
 * a namespace per server (a team per chart); one-chart: all in one chart and one namespace.
 */
function large(layout: Layout): (app: InstanceType<Cdk8s['App']>) => void {
  return (app) => {
    const single = layout === 'one-chart' ? new cdk8s.Chart(app, 'all', { namespace: 'all-teams' }) : undefined;
    for (let s = 0; s < flags.servers; s++) {
      const team = `team-${String(s).padStart(3, '0')}`;
      const ns = single ? 'all-teams' : team;
      const chart = single ?? new cdk8s.Chart(app, team, { namespace: ns });
      const scope = single ? new Construct(single, team) : chart;
      const server = new lib.AzurePostgres(scope, 'db', {
        metadata: { namespace: ns },
        resourceGroup: { name: `${team}-rg`, create: true },
        location: 'westeurope',
        parameters: { log_min_duration_statement: '500' },
        tags: { team },
      });
      server.addFirewallRule('aks-egress', { startIpAddress: '198.51.100.10', endIpAddress: '198.51.100.10' });
      const firstRoles = [];
      for (let d = 0; d < flags.databases; d++) {
        const db = server.addDatabase(`db${d}`);
        for (let r = 0; r < flags.roles; r++) {
          const role = server.addRole(`db${d}_app${r}`, {
            database: db,
            privileges: r === 0 ? undefined : [lib.RolePrivilege.SELECT, lib.RolePrivilege.INSERT, lib.RolePrivilege.UPDATE, lib.RolePrivilege.DELETE],
          });
          if (r === 0) firstRoles.push(role);
        }
      }
      for (let a = 0; a < flags.apps; a++) {
        new lib.WebAppWithDb(scope, `api-${a}`, { image: `example/api-${a}:1.0.0`, role: firstRoles[a % firstRoles.length] });
      }
    }
  };
}

interface InProcess {
  firstRun: Run;
  warm: { totalMs: Summary; constructMs: Summary; synthMs: Summary };
  objects: number;
  yamlBytes: number;
}

function measure(build: (app: InstanceType<Cdk8s['App']>) => void, runs: number): InProcess {
  const firstRun = timed(build);
  const warm: Run[] = [];
  for (let i = 0; i < runs; i++) warm.push(timed(build));
  return {
    firstRun: { ...firstRun, constructMs: round(firstRun.constructMs), synthMs: round(firstRun.synthMs), totalMs: round(firstRun.totalMs) },
    warm: {
      totalMs: summarize(warm.map((x) => x.totalMs)),
      constructMs: summarize(warm.map((x) => x.constructMs)),
      synthMs: summarize(warm.map((x) => x.synthMs)),
    },
    objects: firstRun.objects,
    yamlBytes: firstRun.yamlBytes,
  };
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

function main(): void {
  const env = environment();
  process.stderr.write(`synth bench: load ${env.loadAtStart}, commit ${env.commit}\n`);

  const shopResult = measure(shop, flags.shopRuns);
  process.stderr.write(`shop: median ${shopResult.warm.totalMs.median} ms, p95 ${shopResult.warm.totalMs.p95} ms over ${flags.shopRuns} runs\n`);
  const largeResults: Record<string, InProcess & { runs: number; targetMs: number; met: boolean }> = {};
  for (const layout of flags.layouts.split(',').map((l) => l.trim()).filter(Boolean)) {
    if (layout !== 'chart-per-server' && layout !== 'one-chart') throw new Error(`--layouts: unknown layout ${layout}`);
    const r = measure(large(layout), flags.largeRuns);
    largeResults[layout] = { runs: flags.largeRuns, ...r, targetMs: 10_000, met: r.warm.totalMs.p95 < 10_000 && r.firstRun.totalMs < 10_000 };
    process.stderr.write(`large (${layout}): first ${r.firstRun.totalMs} ms, median ${r.warm.totalMs.median} ms, p95 ${r.warm.totalMs.p95} ms over ${flags.largeRuns} runs; load ${loadAverage()}\n`);
  }
  const loadAfterInProcess = loadAverage();
  const maxRssMiB = mib(process.resourceUsage().maxRSS * 1024);

  const coldResults: Cold[] = [];
  if (flags.coldRuns > 0) {
    // The README's main job: pre-compile (cdk8s import of crds/), the jsii build, then cdk8s synth of examples/shop.
    coldResults.push(cold('npm run -s example > /dev/null', ROOT, flags.coldRuns));
    process.stderr.write(`npm run -s example: median ${coldResults[0].medianMs} ms\n`);
    // Its last step alone: cdk8s-cli runs `npx tsx main.ts` against the built library.
    coldResults.push(cold('cdk8s synth --stdout --no-check-upgrade > /dev/null', path.join(ROOT, 'examples', 'shop'), flags.coldRuns));
    process.stderr.write(`cdk8s synth: median ${coldResults[1].medianMs} ms\n`);
    // The app itself in a fresh Node process (tsx main.ts, what cdk8s.yaml's app runs).
    coldResults.push(cold('tsx main.ts > /dev/null', path.join(ROOT, 'examples', 'shop'), flags.coldRuns));
    process.stderr.write(`tsx main.ts: median ${coldResults[2].medianMs} ms\n`);
  }

  const largeShape = { servers: flags.servers, databasesPerServer: flags.databases, rolesPerDatabase: flags.roles, appsPerServer: flags.apps };
  const summary = {
    bench: 'synth',
    env,
    loadAfterInProcess,
    loadAtEnd: loadAverage(),
    moduleLoadMs: round(moduleLoadMs),
    processMaxRssMiB: maxRssMiB,
    shop: { runs: flags.shopRuns, ...shopResult, targetMs: 1000, met: shopResult.warm.totalMs.p95 < 1000 },
    large: { shape: largeShape, ...largeResults },
    cold: coldResults,
  };
  const c = (i: number) => coldResults[i] ? `${seconds(coldResults[i].medianMs)} s` : 'n/a';
  const largeCell = (l: string) => {
    const r = largeResults[l];
    return r ? `${seconds(r.warm.totalMs.median)} / ${seconds(r.warm.totalMs.p95)} s (first ${seconds(r.firstRun.totalMs)} s; ${r.objects} objects)` : 'n/a';
  };
  const row = `| ${env.date.slice(0, 10)} | ${env.commit}${env.dirtySrc.length ? '+dirty' : ''} | ${env.loadAtStart} | `
    + `${shopResult.warm.totalMs.median} / ${shopResult.warm.totalMs.p95} ms (first ${shopResult.firstRun.totalMs} ms) | `
    + `${largeCell('chart-per-server')} | ${largeCell('one-chart')} | ${c(0)} | ${c(1)} | ${c(2)} |`;
  report('synth', summary, row);
}

main();
