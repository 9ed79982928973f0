/**
 * Where this package is installed, found at run time: the CRDs (crds/) and package.json ship with it. The compiled
 * code runs from lib/src/ and the tests (ts-jest) from src/, so the root is found by walking up, not by a fixed path.
 */
import * as fs from 'fs';
import * as path from 'path';

const PACKAGE_NAME = 'cdk8s-azure';

let cachedRoot: string | undefined;

/** The directory holding this package's package.json (and crds/). */
export function packageRoot(): string {
  if (cachedRoot !== undefined) {
    return cachedRoot;
  }
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf-8')).name === PACKAGE_NAME) {
      cachedRoot = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`cannot find the package.json of ${PACKAGE_NAME} in ${__dirname} or any directory above it`);
    }
  }
}

/** The version of this package, which is also the tag of the reconciler image built from it. */
export function packageVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf-8')).version;
}

/** The CRD files shipped in crds/, in name order. */
export function crdFiles(): string[] {
  const dir = path.join(packageRoot(), 'crds');
  return fs.readdirSync(dir).filter(f => f.endsWith('.yaml')).sort().map(f => path.join(dir, f));
}
