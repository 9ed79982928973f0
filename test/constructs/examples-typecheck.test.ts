/**
 * The examples run through tsx, which strips types without checking them; this type-checks them against the
 * library's source, so a change of the API that breaks an example fails the tests rather than a user.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { REPO_ROOT } from './support';

const EXAMPLES = path.join(REPO_ROOT, 'examples');

describe.each(fs.readdirSync(EXAMPLES).filter(d => fs.existsSync(path.join(EXAMPLES, d, 'main.ts'))))('examples/%s', (example) => {
  test('type-checks against the library', () => {
    const dir = path.join(EXAMPLES, example);
    const files = fs.readdirSync(dir).filter(f => f.endsWith('.ts')).map(f => path.join(dir, f));
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      strict: true,
      esModuleInterop: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
      typeRoots: [path.join(REPO_ROOT, 'node_modules', '@types')],
      // As the example's own tsconfig.json maps 'cdk8s-azure' to the built library, but to the source here.
      baseUrl: REPO_ROOT,
      paths: { 'cdk8s-azure': ['src/index.ts'] },
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map(d => ts.flattenDiagnosticMessageText(d.messageText, '\n')
      + (d.file ? ` (${path.relative(REPO_ROOT, d.file.fileName)})` : ''));
    expect(diagnostics).toEqual([]);
  });

  test('its tsconfig.json maps cdk8s-azure to the built library', () => {
    const tsconfig = ts.readConfigFile(path.join(EXAMPLES, example, 'tsconfig.json'), ts.sys.readFile).config;
    const target = path.resolve(EXAMPLES, example, tsconfig.compilerOptions.baseUrl ?? '.', tsconfig.compilerOptions.paths['cdk8s-azure'][0]);
    expect(target).toBe(path.join(REPO_ROOT, 'lib', 'src', 'index'));
  });
});
