// Checks what an app outside the repository synthesized (test/package/app/): every kind the README promises, the
// role's Secret wired into the web app, and the reconciler's default image, the one the release workflow publishes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const [dir, version] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const YAML = require('yaml');
const docs = fs.readdirSync(dir).filter(f => f.endsWith('.yaml'))
  .flatMap(f => YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf-8')).map(d => d.toJS()));
const problems = [];
const ofKind = kind => docs.filter(d => d?.kind === kind);
for (const kind of ['PostgresServer', 'PostgresDatabase', 'PostgresFirewallRule', 'PostgresRole', 'Deployment', 'Service', 'CustomResourceDefinition']) {
  if (ofKind(kind).length === 0) problems.push(`no ${kind}`);
}
const role = ofKind('PostgresRole')[0];
const app = ofKind('Deployment').find(d => d.metadata.namespace === 'shop');
const secretRefs = JSON.stringify(app?.spec.template.spec.containers[0].env ?? []);
if (role && !secretRefs.includes(role.spec.writeConnectionSecretToRef.name)) {
  problems.push(`the web app does not read the role's Secret ${role.spec.writeConnectionSecretToRef.name}`);
}
const reconciler = ofKind('Deployment').find(d => d.metadata.name === 'cdk8s-azure-reconciler');
const image = reconciler?.spec.template.spec.containers[0].image;
// Node 22 runs the TypeScript constant directly (type stripping).
const { RECONCILER_IMAGE_REPOSITORY } = await import(path.resolve(import.meta.dirname, '../../src/image.ts'));
const expected = `${RECONCILER_IMAGE_REPOSITORY}:${version}`;
if (image !== expected) problems.push(`reconciler image ${image}, expected ${expected}`);
if (problems.length > 0) {
  console.error(`synthesized app in ${dir}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`  ${docs.length} objects synthesized; reconciler image ${image}`);
