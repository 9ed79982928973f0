#!/usr/bin/env bash
# Generates imports/ (typed cdk8s classes) from the CRDs in crds/, the one source of the API.
# cdk8s import keeps only the first file it is given, so the CRDs are passed as one multi-document stream.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in crds/*.yaml; do cat "$f"; echo "---"; done > "$tmp/crds.yaml"
rm -rf imports
if ! cdk8s import "$tmp/crds.yaml" --output imports --language typescript > "$tmp/log" 2>&1; then
  cat "$tmp/log" >&2
  exit 1
fi
