#!/usr/bin/env bash
# The construct tests against the oldest peers the package accepts (given as name@version, the minimums of its
# peerDependencies). They are installed outside the repository and jest maps the peers to them, so the rest of the
# build keeps the newest versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
dir=$ROOT/.peer-minimums
mkdir -p "$dir"
echo "$*" > "$dir/wanted"
if ! cmp -s "$dir/wanted" "$dir/installed" 2> /dev/null; then
  rm -rf "$dir/node_modules"
  echo '{ "private": true }' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --no-package-lock --loglevel=error "$@")
  cp "$dir/wanted" "$dir/installed"
fi
npx node - "$dir" "$@" <<'JS'
const fs = require('fs');
const [dir, ...wanted] = process.argv.slice(2);
const config = { ...require('./package.json').jest, rootDir: process.cwd(), collectCoverage: false, reporters: ['default'] };
for (const spec of wanted) {
  const name = spec.slice(0, spec.lastIndexOf('@'));
  const installed = require(`${dir}/node_modules/${name}/package.json`).version;
  if (`${name}@${installed}` !== spec) throw new Error(`${spec} wanted, ${installed} installed`);
  config.moduleNameMapper[`^${name}$`] = `${dir}/node_modules/${name}`;
}
fs.writeFileSync(`${dir}/jest.config.json`, JSON.stringify(config));
JS
echo "test:peer-minimums: construct tests with $*"
npx jest --ci --config "$dir/jest.config.json"
