import { cdk8s, javascript, JsonFile } from 'projen';
import { releaseOptions, setUpRelease } from './projenrc/release';

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-azure',
  description: 'cdk8s constructs and a lightweight Kubernetes reconciler for Azure Database for PostgreSQL flexible servers',
  author: 'cdk8s-azure maintainers',
  authorAddress: 'maintainers@cdk8s-azure.dev',
  repositoryUrl: 'https://github.com/cdk8s-azure/cdk8s-azure.git',
  keywords: ['cdk8s', 'kubernetes', 'azure', 'postgresql', 'operator', 'aks'],
  defaultReleaseBranch: 'main',
  projenrcTs: true,
  packageManager: javascript.NodePackageManager.NPM,
  jsiiVersion: '~6.0.0',

  cdk8sVersion: '2.70.106',
  constructsVersion: '10.3.0',
  peerDeps: ['cdk8s-plus-34@^2.0.54'],

  // Node 22 LTS for every script: the `node` package puts a Node 22 binary in node_modules/.bin,
  // which npm puts first on PATH for every script it runs (and so for projen tasks and jest workers).
  // The library (synth) runs on Node >= 20 (test/package synthesizes on the machine's Node 20); the reconciler
  // needs Node 22, which its image brings.
  minNodeVersion: '20.0.0',
  // Releases, language targets, the package's contents and peer minimums: projenrc/release.ts.
  ...releaseOptions,
  workflowNodeVersion: '22',
  devDeps: [
    'node@^22.23.0',
    'cdk8s-cli@^2.207.60',
    'tsx@^4',
    'esbuild@^0.28.2',
    'ajv@^8.20.0',
    'ajv-formats@^3',
    'yaml@^2.9.1',
    '@azure/arm-postgresql-flexible@^9.0.0',
    '@azure/identity@^4.14.1',
    '@azure/arm-resources@^8.0.0',
    '@azure/core-auth@^1.10.1',
    '@azure/core-lro@^2.7.2',
    '@azure/core-rest-pipeline@^1.24.0',
    'pg-connection-string@^2.14.1',
    '@kubernetes/client-node@^2.0.1',
    'js-yaml@^5.5.0',
    'pg@^8.23.1',
    '@types/pg@^8.23.1',
    'pino@^10.4.0',
    'prom-client@^15.1.3',
  ],

  // CI is .ci/run; GitHub Actions only release (projenrc/release.ts).
  buildWorkflow: false,

  jestOptions: {
    // Snapshots never update on their own; `npx projen test:update` does it on purpose.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 60_000,
      testMatch: ['<rootDir>/test/constructs/**/*.test.ts'],
      moduleNameMapper: { '^cdk8s-azure$': '<rootDir>/src' },
    },
  },

  // imports/ (generated from crds/ by `cdk8s import`) is compiled with src/, so the root is the repo.
  entrypoint: 'lib/src/index.js',
  tsconfig: {
    compilerOptions: { rootDir: '.' },
    include: ['imports/**/*.ts'],
  },
  // test/tsconfig.json (ts-jest's, and the one the editor and typecheck:tests use for test/): the package name resolves to
  // src, as jest's moduleNameMapper does, for the example and the package test's app that import it by name.
  tsconfigDev: {
    compilerOptions: { paths: { 'cdk8s-azure': ['../src'] } },
  },
  // The reconciler is bundled by esbuild into one file for the image; it is not part of the jsii API.
  excludeTypescript: ['src/reconciler/**'],

  gitignore: ['.cluster/', '.emulator/', 'examples/*/dist/', 'examples/*/node_modules/', 'bundle/'],
});

// imports/ is generated from crds/, the one source of the API. It runs before every compile; CI then fails
// if the committed imports/ differs (git diff --exit-code in .ci/run).
const importCrds = project.addTask('import:crds', {
  description: 'Generate imports/ (typed classes) from the CRDs in crds/ with cdk8s import',
  exec: 'bash scripts/import-crds.sh',
});
project.preCompileTask.spawn(importCrds);

project.eslint?.addIgnorePattern('imports/');
// The reconciler's dependencies are bundled into bundle/reconciler.js, so they are devDependencies of the package.
project.eslint?.allowDevDeps('src/reconciler/**');
// node:test's describe() and test() return promises that the runner itself awaits.
project.eslint?.addOverride({
  files: ['test/**/*.test.ts'],
  rules: { '@typescript-eslint/no-floating-promises': 'off' },
});

// The reconciler: type-checked on its own (jsii skips it), bundled into one file that the image runs.
const typecheckReconciler = project.addTask('typecheck:reconciler', {
  description: 'Type-check the reconciler (not compiled by jsii)',
  exec: 'tsc -p src/reconciler/tsconfig.json',
});
project.testTask.prependSpawn(typecheckReconciler);
// Every file under test/ (jest's construct suites and the node:test ones) also type-checks as test/tsconfig.json sees it.
const typecheckTests = project.addTask('typecheck:tests', {
  description: 'Type-check test/ with test/tsconfig.json, and bench/ with the same settings',
  exec: 'tsc -p test/tsconfig.json --noEmit',
});
typecheckTests.exec('tsc -p bench/tsconfig.json --noEmit');
project.testTask.prependSpawn(typecheckTests);
// bench/ imports the test harness (the control plane, the emulator): it is type-checked and linted as test/ is.
new JsonFile(project, 'bench/tsconfig.json', { obj: { extends: '../test/tsconfig.json', include: ['**/*.ts'] } });
project.eslint?.addLintPattern('bench');
project.eslint?.allowDevDeps('bench/**');

// Suites that need the reconciler's runtime dependencies (ESM-only @kubernetes/client-node), the ARM emulator, the
// test control plane or PostgreSQL run on Node's own test runner through tsx; jest runs the construct tests.
const integrationTests = project.addTask('test:integration', {
  description: 'Reconciler, emulator and end-to-end suites (real kube-apiserver, ARM emulator, PostgreSQL)',
  exec: 'node --import tsx --test --test-concurrency=1 --test-timeout=900000 --test-reporter=spec "test/reconciler/**/*.test.ts" "test/emulator/**/*.test.ts" "test/integration/**/*.test.ts"',
  receiveArgs: true,
});
project.testTask.spawn(integrationTests);
// Whitespace minified (no comments) and ASCII only: V8 keeps the whole source in memory, at one byte per character
// only when all of it is Latin-1. Not --minify-syntax: it broke @azure/identity's workload identity (measured).
project.addTask('bundle:reconciler', {
  description: 'Bundle the reconciler into bundle/reconciler.js, the file the image runs',
  exec: 'esbuild src/reconciler/main.ts --bundle --platform=node --target=node22 --sourcemap --legal-comments=none --minify-whitespace --charset=ascii --outfile=bundle/reconciler.js && node scripts/ascii-bundle.mjs bundle/reconciler.js',
});
project.addTask('reconciler', {
  description: 'Run the reconciler locally against $KUBECONFIG (flags after --)',
  exec: 'tsx src/reconciler/main.ts',
  receiveArgs: true,
});
project.addTask('emulator', {
  description: 'Run the Azure Resource Manager emulator (flags after --)',
  exec: 'tsx test/emulator/cli.ts',
  receiveArgs: true,
});
// The main job: synthesize the example app through cdk8s-cli, importing the built library as a user would.
const example = project.addTask('example', {
  description: 'Synthesize examples/shop (two web apps, one server, two databases, a role each) and print its YAML',
});
example.spawn(project.preCompileTask);
// jsii reports on stdout; keep stdout for the YAML so that `npm run -s example | kubectl apply -f -` works.
example.exec('jsii --silence-warnings=reserved-word 1>&2');
example.exec('cdk8s synth --stdout --no-check-upgrade', { cwd: 'examples/shop' });

// Benchmarks (bench/, results in docs/benchmarks.md): measured and published, never asserted in tests. `bench` runs
// every `bench:*` task (it finds them in package.json) and prints one table of every goal.
project.addTask('bench', {
  description: 'Run every benchmark (bench:*) and print one table of every goal; --quick for a bounded run of each',
  exec: 'tsx bench/run.ts',
  receiveArgs: true,
});
for (const [name, script, description] of [
  ['bench:synth', 'bench/synth.ts', 'Synth time of apps of 10, 100 and 1000 stacks against raw cdk8s ApiObjects, and of the shop example'],
  ['bench:footprint', 'bench/reconciler-footprint.ts', 'Reconciler memory at idle and under load on the real stack'],
  ['bench:burst', 'bench/arm-burst.ts', '1000 new firewall rules at once under ARM throttling, then deleted: time to Ready, 429s, reads per rule, per-rule latency'],
  ['bench:steady', 'bench/steady-state.ts', 'Steady state after convergence: ARM GETs per resource per resync, Kubernetes writes, CPU per resync'],
  ['bench:latency', 'bench/latency.ts', 'CR applied -> first ARM write, server Ready -> Secret, process start -> /readyz'],
]) {
  project.addTask(name, { description, exec: `tsx ${script}`, receiveArgs: true });
}

project.addTask('cluster:start', {
  description: 'Build and start the test control plane (kube-apiserver, etcd, controllers); kubeconfig in .cluster/kubeconfig',
  exec: 'bash test/cluster/start.sh',
  receiveArgs: true,
});
project.addTask('cluster:stop', {
  description: 'Stop the test control plane',
  exec: 'bash test/cluster/stop.sh',
});
// The chaos suite (test/chaos, docs/reliability.md): crashes, control-plane restarts, Azure faults, hostile input and
// Secret hygiene on the real stack. `npm run chaos` is the full run; `--quick` is the bounded run CI does after the
// integration suites (same cluster).
const chaos = project.addTask('chaos', {
  description: 'Chaos suite on the real stack (full run; --quick for the bounded one, --only=crashes,hostile,... for some)',
  exec: 'node --import tsx test/chaos/chaos.ts',
  receiveArgs: true,
});
const chaosQuick = project.addTask('test:chaos', {
  description: 'The bounded chaos run (the same as npm run chaos -- --quick)',
  exec: `${chaos.steps[0].exec} --quick`,
});
project.testTask.spawn(chaosQuick);

// projen appends its default testMatch; jest must run only the construct suites (the rest run on node:test).
project.tryFindObjectFile('package.json')!.addOverride('jest.testMatch', ['<rootDir>/test/constructs/**/*.test.ts']);
project.package.addField('types', 'lib/src/index.d.ts');

setUpRelease(project);

project.synth();
