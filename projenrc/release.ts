/**
 * Releases and packaging: what the package contains, the language targets, the release workflow (npm, PyPI, Maven
 * Central, Go, NuGet, and the reconciler image on ghcr.io), and the tests of the package as a user installs it.
 */
import { cdk8s, DependencyType, github, release } from 'projen';
import { RECONCILER_IMAGE_REPOSITORY } from '../src/image';

/** Where each release pushes the Helm chart (README's install command uses it). */
const HELM_CHART_REPOSITORY = 'ghcr.io/cdk8s-azure/charts';

/**
 * The oldest peers the construct tests pass with: the package accepts `^` these, and `test:peer-minimums` runs the
 * construct tests against exactly these. (cdk8s-plus-34 2.0.20 needs cdk8s ^2.68.11; 2.68.12 is the oldest such cdk8s
 * the npm registry serves.)
 */
export const PEER_MINIMUMS = { 'cdk8s': '2.68.12', 'cdk8s-plus-34': '2.0.20', 'constructs': '10.3.0' };
/** The peers the rest of the build runs on: the newest tested (projen would otherwise pin them to the minimums). */
const PEERS_FOR_DEVELOPMENT = { 'cdk8s': '2.70.106', 'cdk8s-plus-34': '2.0.54', 'constructs': '10.3.0' };

/** The only files of the npm package (npm adds package.json, README.md and LICENSE itself). */
export const PACKAGE_FILES = ['lib/**/*.js', 'lib/**/*.d.ts', 'crds/*.yaml', 'API.md', '.jsii'];

export const releaseOptions = {
  stability: 'experimental',

  // 0.x until the API is v1: conventional commits decide the bump (a breaking change bumps the minor), and the
  // release notes (dist/changelog.md, the GitHub release's text) are generated from them.
  release: true,
  majorVersion: 0,
  releaseTrigger: release.ReleaseTrigger.continuous(),
  github: true,
  githubOptions: { mergify: false, pullRequestLint: false },
  pullRequestTemplate: false,
  depsUpgradeOptions: { workflow: false },
  // The release job runs the whole build, integration suites included: they need Go and PostgreSQL 15.
  releaseWorkflowSetupSteps: [{ name: 'Install test prerequisites', run: 'bash scripts/install-prerequisites.sh' }],

  // Trusted publishing (OIDC, no long-lived tokens) with provenance wherever the registry supports it.
  releaseToNpm: true,
  npmTrustedPublishing: true,
  npmProvenance: true,
  publishToPypi: { distName: 'cdk8s-azure', module: 'cdk8s_azure', trustedPublishing: true, attestations: true },
  publishToMaven: {
    javaPackage: 'dev.cdk8s_azure',
    mavenGroupId: 'dev.cdk8s-azure',
    mavenArtifactId: 'cdk8s-azure',
    mavenServerId: 'central-ossrh',
  },
  publishToGo: { moduleName: 'github.com/cdk8s-azure/cdk8s-azure-go', packageName: 'cdk8sazure' },
  publishToNuget: { dotNetNamespace: 'Cdk8sAzure', packageId: 'Cdk8sAzure', trustedPublishing: true },

  peerDependencyOptions: { pinnedDevDependency: false },

  // The package's contents are a list of what goes in (PACKAGE_FILES), not of what stays out.
  npmignoreEnabled: false,
} satisfies Partial<cdk8s.ConstructLibraryCdk8sOptions>;

export function setUpRelease(project: cdk8s.ConstructLibraryCdk8s): void {
  project.package.addField('files', PACKAGE_FILES);
  project.gitignore.exclude('/.peer-minimums/');
  // The apps of test/package import the installed package, which only exists in their own temporary directory.
  project.eslint?.addIgnorePattern('test/package/app/');
  for (const [name, version] of Object.entries(PEER_MINIMUMS)) {
    project.deps.addDependency(`${name}@^${version}`, DependencyType.PEER);
  }
  for (const [name, version] of Object.entries(PEERS_FOR_DEVELOPMENT)) {
    project.deps.addDependency(`${name}@${version}`, DependencyType.BUILD);
  }
  // The reconciler and the tests run on Node 22 (the `node` devDependency), whatever the library's minimum.
  project.deps.addDependency('@types/node@^22', DependencyType.BUILD);

  // A fresh clone has no lib/: build it before `npm pack` rather than pack a package without code.
  project.package.setScript('prepack', 'test -f lib/src/index.js -a -f .jsii || npx projen compile');

  // `package` makes the npm tarball only, everywhere (projen's package-all also wants .NET, absent here), then tests
  // the package; the release workflow packs each other language in its own job.
  project.packageTask.reset();
  project.packageTask.spawn(project.tasks.tryFind('package:js')!);

  const testPackage = project.addTask('test:package', {
    description: 'Install the npm tarball and the Python wheel into apps outside the repository and synthesize them',
    exec: 'bash test/package/run.sh',
  });
  const testPeerMinimums = project.addTask('test:peer-minimums', {
    description: 'Run the construct tests against the oldest peer dependencies the package accepts',
    exec: `bash test/package/peer-minimums.sh ${Object.entries(PEER_MINIMUMS).map(([n, v]) => `${n}@${v}`).join(' ')}`,
  });
  // After the tarball is made (the build's last step; projen locks the build task itself).
  project.packageTask.spawn(testPackage);
  project.packageTask.spawn(testPeerMinimums);

  addImageJob(project);
  setUpHelmChart(project);
}

/**
 * The Helm chart, generated from the Reconciler construct into charts/cdk8s-azure on every build (CI fails when the
 * committed chart is stale), then linted and templated with values by a helm built from its Go module.
 */
function setUpHelmChart(project: cdk8s.ConstructLibraryCdk8s): void {
  const chart = project.addTask('helm:chart', {
    description: 'Generate the Helm chart (charts/cdk8s-azure) from the Reconciler construct',
    exec: 'tsx scripts/helm-chart.ts',
  });
  project.postCompileTask.spawn(chart);
  const testHelm = project.addTask('test:helm', {
    description: 'helm lint --strict and helm template of the chart, with the defaults and with every value set',
    exec: 'bash test/helm/run.sh',
  });
  project.testTask.spawn(testHelm);
  project.gitignore.exclude('/.helm/');
}

/**
 * The reconciler image, built for amd64 and arm64 and pushed to ghcr.io with the release's version, an SBOM and
 * provenance, once the release job has tagged the version.
 */
function addImageJob(project: cdk8s.ConstructLibraryCdk8s): void {
  const version = '${{ steps.version.outputs.version }}';
  project.release!.addJobs({
    release_image: {
      name: 'Publish the reconciler image to ghcr.io',
      needs: ['release'],
      runsOn: ['ubuntu-latest'],
      if: "needs.release.outputs.tag_exists != 'true' && needs.release.outputs.latest_commit == github.sha",
      permissions: {
        contents: github.workflows.JobPermission.READ,
        packages: github.workflows.JobPermission.WRITE,
        idToken: github.workflows.JobPermission.WRITE,
        attestations: github.workflows.JobPermission.WRITE,
      },
      steps: [
        { uses: 'actions/checkout@v5', with: { ref: '${{ needs.release.outputs.latest_commit }}' } },
        { uses: 'actions/setup-node@v5', with: { 'node-version': '22' } },
        { name: 'Download build artifacts', uses: 'actions/download-artifact@v5', with: { 'artifact-ids': '${{ needs.release.outputs.artifact_id }}', 'path': 'dist' } },
        { name: 'Release version', id: 'version', run: 'echo "version=$(cat dist/version.txt)" >> "$GITHUB_OUTPUT"' },
        { name: 'Bundle the reconciler', run: 'npm ci && npx projen bundle:reconciler' },
        // The image only copies a file onto its base (no RUN), so buildx makes both platforms without emulation.
        { uses: 'docker/setup-buildx-action@v3' },
        {
          uses: 'docker/login-action@v3',
          with: { registry: 'ghcr.io', username: '${{ github.actor }}', password: '${{ secrets.GITHUB_TOKEN }}' },
        },
        {
          name: 'Build and push',
          id: 'push',
          uses: 'docker/build-push-action@v6',
          with: {
            'context': '.',
            'platforms': 'linux/amd64,linux/arm64',
            'push': true,
            'tags': `${RECONCILER_IMAGE_REPOSITORY}:${version}`,
            'build-args': `VERSION=${version}\nREVISION=\${{ github.sha }}`,
            'sbom': true,
            'provenance': 'mode=max',
          },
        },
        // The Helm chart of the same version (generated from the same commit), as an OCI artifact beside the image;
        // its appVersion is the image tag it defaults to.
        { uses: 'azure/setup-helm@v4' },
        {
          name: 'Push the Helm chart',
          env: { VERSION: version },
          run: [
            'helm package charts/cdk8s-azure --version "$VERSION" --app-version "$VERSION"',
            'echo "${{ secrets.GITHUB_TOKEN }}" | helm registry login ghcr.io --username "${{ github.actor }}" --password-stdin',
            `helm push "cdk8s-azure-$VERSION.tgz" oci://${HELM_CHART_REPOSITORY}`,
          ].join('\n'),
        },
        {
          uses: 'actions/attest-build-provenance@v3',
          with: { 'subject-name': RECONCILER_IMAGE_REPOSITORY, 'subject-digest': '${{ steps.push.outputs.digest }}', 'push-to-registry': true },
        },
      ],
    },
  });
}
