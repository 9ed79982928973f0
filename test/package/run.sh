#!/usr/bin/env bash
# The package as a user gets it. Run by `npx projen test:package` (the build's package step, after the npm tarball
# is made):
#   1. the npm tarball holds exactly lib/ (.js, .d.ts), crds/, README.md, API.md, LICENSE, package.json and .jsii;
#   2. installed into a new app outside the repository with its peers as README says, a TypeScript app like README's
#      type-checks against the shipped .d.ts and synthesizes AzurePostgres, WebAppWithDb and Reconciler on the
#      machine's oldest Node (the package says Node >= 20);
#   3. the Python wheel, installed in a new venv with cdk8s and cdk8s-plus-34 from PyPI, synthesizes the same.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/test/package

# --- the npm tarball: made once, by package:js (jsii-pacmak runs npm pack) --------------------------------------
tarball=$(ls dist/js/cdk8s-azure@*.jsii.tgz 2> /dev/null | head -1 || true)
if [ -z "$tarball" ]; then
  npx projen package:js > /dev/null
  tarball=$(ls dist/js/cdk8s-azure@*.jsii.tgz | head -1)
fi
tarball=$ROOT/$tarball
version=$(tar -xzOf "$tarball" package/package.json | npx node -p 'JSON.parse(require("fs").readFileSync(0, "utf-8")).version')
echo "test:package: $tarball (version $version)"
bash "$HERE/check-files.sh" "$tarball"

work=$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-azure-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The oldest Node on PATH outside node_modules (npm scripts put the repository's Node 22 first).
user_node=$(IFS=:; for dir in $PATH; do
  case "$dir" in */node_modules/*) continue ;; esac
  [ -x "$dir/node" ] && echo "$dir/node"
done | while read -r n; do echo "$("$n" -p 'process.versions.node.split(".")[0]') $n"; done | sort -n | head -1 | cut -d' ' -f2)
user_node=${user_node:-$(command -v node)}
echo "test:package: apps run on $("$user_node" --version) ($user_node)"

# --- npm: a new app, the README's install command with the tarball in place of the registry name --------------
app=$work/npm-app
mkdir -p "$app" && cd "$app"
echo '{ "name": "my-app", "version": "1.0.0", "private": true }' > package.json
npm install --no-audit --no-fund --loglevel=error "$tarball" cdk8s cdk8s-plus-34 constructs
cp "$HERE/app/main.ts" main.ts
"$ROOT/node_modules/.bin/tsc" --strict --target es2022 --module commonjs --moduleResolution node --esModuleInterop --outDir . main.ts
PATH=$(dirname "$user_node"):$PATH "$user_node" main.js
"$ROOT/node_modules/.bin/node" --disable-warning=MODULE_TYPELESS_PACKAGE_JSON "$HERE/check-synth.mjs" "$app/dist" "$version"

# --- Python: the wheel, in a new venv with the peers from PyPI -------------------------------------------------
cd "$ROOT"
wheel=$(ls dist/python/cdk8s_azure-*.whl 2> /dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  npx jsii-pacmak --target python > /dev/null
  wheel=$(ls dist/python/cdk8s_azure-*.whl | head -1)
fi
wheel=$ROOT/$wheel
echo "test:package: $wheel"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" cdk8s cdk8s-plus-34
pyapp=$work/python-app
mkdir -p "$pyapp" && cd "$pyapp"
cp "$HERE/app/main.py" main.py
# The jsii runtime starts `node` from PATH: the user's Node.
PATH=$(dirname "$user_node"):$PATH "$work/venv/bin/python" main.py
"$ROOT/node_modules/.bin/node" --disable-warning=MODULE_TYPELESS_PACKAGE_JSON "$HERE/check-synth.mjs" "$pyapp/dist" "$version"
echo "test:package: npm tarball and Python wheel install and synthesize outside the repository"
