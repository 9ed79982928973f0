/**
 * What a release publishes agrees with what the package says: the reconciler image the release workflow pushes is
 * the install's default image, built from a pinned, labelled base; every registry gets the package; the peer
 * minimums the package accepts are the ones CI tests.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { newChart, REPO_ROOT } from './support';
import { Reconciler } from '../../src';
import { RECONCILER_IMAGE_REPOSITORY } from '../../src/image';

const packageJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf-8'));
const workflow = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, '.github', 'workflows', 'release.yml'), 'utf-8'));
const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf-8');
const imageJob = workflow.jobs.release_image;
const stepUsing = (job: any, action: string) => job.steps.find((s: any) => s.uses?.startsWith(`${action}@`));

describe('the reconciler image', () => {
  test('the install runs, by default, the image the release workflow pushes for this version', () => {
    const { chart } = newChart();
    new Reconciler(chart, 'reconciler', { subscriptionId: '11111111-2222-3333-4444-555555555555' });
    const deployment = Testing.synth(chart).find(m => m.kind === 'Deployment');
    expect(deployment.spec.template.spec.containers[0].image).toBe(`${RECONCILER_IMAGE_REPOSITORY}:${packageJson.version}`);

    const push = stepUsing(imageJob, 'docker/build-push-action');
    const versionStep = imageJob.steps.find((s: any) => s.id === 'version');
    // The release job's artifact carries the released version in dist/version.txt (projen's bump).
    expect(versionStep.run).toContain('cat dist/version.txt');
    expect(push.with.tags).toBe(`${RECONCILER_IMAGE_REPOSITORY}:\${{ steps.version.outputs.version }}`);
    expect(push.with.push).toBe(true);
  });

  test('is multi-platform, with an SBOM and provenance, only for a new release', () => {
    const push = stepUsing(imageJob, 'docker/build-push-action');
    expect(push.with.platforms.split(',').sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(push.with.sbom).toBe(true);
    expect(push.with.provenance).toBe('mode=max');
    expect(imageJob.needs).toContain('release');
    expect(imageJob.if).toBe(workflow.jobs.release_npm.if);
    expect(imageJob.permissions.packages).toBe('write');
  });

  test('is built on a base pinned by digest, labelled with the version and commit the workflow passes', () => {
    expect(dockerfile).toMatch(/^FROM \S+@sha256:[0-9a-f]{64}$/m);
    for (const label of ['version', 'revision', 'source', 'licenses', 'title']) {
      expect(dockerfile).toContain(`org.opencontainers.image.${label}=`);
    }
    const push = stepUsing(imageJob, 'docker/build-push-action');
    expect(push.with['build-args']).toContain('VERSION=${{ steps.version.outputs.version }}');
    expect(push.with['build-args']).toContain('REVISION=${{ github.sha }}');
    expect(dockerfile).toContain('org.opencontainers.image.version="${VERSION}"');
    expect(dockerfile).toContain('org.opencontainers.image.revision="${REVISION}"');
  });
});

describe('the Helm chart', () => {
  test('is pushed with the release version as chart and app version, so it defaults to that image', () => {
    const push = imageJob.steps.find((s: any) => s.name === 'Push the Helm chart');
    expect(push.env.VERSION).toBe('${{ steps.version.outputs.version }}');
    expect(push.run).toContain('helm package charts/cdk8s-azure --version "$VERSION" --app-version "$VERSION"');
    expect(push.run).toMatch(/helm push "cdk8s-azure-\$VERSION.tgz" oci:\/\/\S+/);
    const deployment = fs.readFileSync(path.join(REPO_ROOT, 'charts', 'cdk8s-azure', 'templates', 'deployment-cdk8s-azure-reconciler.yaml'), 'utf-8');
    expect(deployment).toContain('image: "{{ $.Values.image.repository }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}"');
    const values = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'charts', 'cdk8s-azure', 'values.yaml'), 'utf-8'));
    expect(values.image).toMatchObject({ repository: RECONCILER_IMAGE_REPOSITORY, tag: '' });
  });

  test('keeps the CRDs in crds/ (installed, never deleted by helm uninstall), the same files as the repository', () => {
    const chartCrds = path.join(REPO_ROOT, 'charts', 'cdk8s-azure', 'crds');
    const repoCrds = fs.readdirSync(path.join(REPO_ROOT, 'crds')).filter(f => f.endsWith('.yaml')).sort();
    expect(fs.readdirSync(chartCrds).sort()).toEqual(repoCrds);
    for (const file of repoCrds) {
      expect(fs.readFileSync(path.join(chartCrds, file), 'utf-8')).toBe(fs.readFileSync(path.join(REPO_ROOT, 'crds', file), 'utf-8'));
    }
    const templates = fs.readdirSync(path.join(REPO_ROOT, 'charts', 'cdk8s-azure', 'templates'));
    expect(templates.filter(t => /customresourcedefinition/i.test(t))).toEqual([]);
  });
});

describe('the release', () => {
  test('publishes to npm, PyPI, Maven Central, Go and NuGet, npm with provenance', () => {
    for (const job of ['release_npm', 'release_pypi', 'release_maven', 'release_golang', 'release_nuget', 'release_github']) {
      expect(workflow.jobs[job]).toBeDefined();
    }
    const npmRelease = workflow.jobs.release_npm.steps.find((s: any) => s.name === 'Release');
    expect(npmRelease.env.NPM_TRUSTED_PUBLISHER).toBe('true');
    expect(workflow.jobs.release_npm.permissions['id-token']).toBe('write');
    expect(Object.keys(packageJson.jsii.targets).sort()).toEqual(['dotnet', 'go', 'java', 'python']);
  });

  test('is a 0.x, experimental package', () => {
    expect(packageJson.stability).toBe('experimental');
    const bump = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, '.projen', 'tasks.json'), 'utf-8')).tasks.release.env;
    expect(bump.MAJOR).toBe('0');
  });

  test('accepts the peers that test:peer-minimums runs the construct tests with', () => {
    const task = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, '.projen', 'tasks.json'), 'utf-8')).tasks['test:peer-minimums'];
    const tested = task.steps[0].exec.split(' ').slice(2);
    const minimums = Object.entries(packageJson.peerDependencies as Record<string, string>)
      .map(([name, range]) => `${name}@${/^\^(\d+\.\d+\.\d+)$/.exec(range)![1]}`);
    expect(tested.sort()).toEqual(minimums.sort());
  });
});
