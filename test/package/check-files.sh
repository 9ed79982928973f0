#!/usr/bin/env bash
# The npm tarball holds exactly what a user needs: the compiled library (lib/**/*.js and .d.ts), the CRDs (crds/),
# README.md, API.md, LICENSE, package.json and the jsii assembly (.jsii, which jsii tools read); no source maps, no
# reconciler bundle, no sources, tests, benchmarks, CI or Docker files.
set -euo pipefail
tarball=$1
cd "$(dirname "$0")/../.."
files=$(tar -tzf "$tarball" | grep -v '/$' | sed 's|^package/||' | sort)
unexpected=$(echo "$files" | grep -Ev '^(lib/.+\.(js|d\.ts)|crds/[^/]+\.yaml|README\.md|API\.md|LICENSE|package\.json|\.jsii)$' || true)
missing=""
for f in package.json README.md API.md LICENSE .jsii lib/src/index.js lib/src/index.d.ts $(ls crds/*.yaml); do
  echo "$files" | grep -qxF "$f" || missing+=" $f"
done
# Every module the entry point loads is compiled into lib/ (a fresh clone's pack once had no lib/ at all).
for f in src/*.ts src/api/*.ts imports/*.ts; do
  js="lib/${f%.ts}.js"
  echo "$files" | grep -qxF "$js" || missing+=" $js"
done
if [ -n "$unexpected" ] || [ -n "$missing" ]; then
  [ -z "$unexpected" ] || echo "the package holds files it must not:" $unexpected >&2
  [ -z "$missing" ] || echo "the package lacks:$missing" >&2
  exit 1
fi
echo "  $(echo "$files" | wc -l) files: lib/ ($(echo "$files" | grep -c '^lib/')), crds/ ($(echo "$files" | grep -c '^crds/')), README.md, API.md, LICENSE, package.json, .jsii; $(du -h "$tarball" | cut -f1)"
