#!/usr/bin/env bash
# Builds the helm CLI from its Go module (the Go module proxy is the one source of Go code here) into .helm/bin/helm,
# once: like test/cluster, later runs reuse the binary, and a rebuild reuses Go's module and build caches.
# Prints the binary's path.
set -euo pipefail
HELM_MODULE_VERSION=v3.22.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN_DIR="$ROOT/.helm/bin"
HELM="$BIN_DIR/helm"
stamp="$BIN_DIR/helm.version"
if [ ! -x "$HELM" ] || [ "$(cat "$stamp" 2> /dev/null)" != "$HELM_MODULE_VERSION" ]; then
  command -v go > /dev/null || { echo "helm: 'go' not found in PATH (scripts/install-prerequisites.sh installs it)" >&2; exit 1; }
  mkdir -p "$BIN_DIR"
  t0=$SECONDS
  echo "helm: go install helm.sh/helm/v3/cmd/helm@$HELM_MODULE_VERSION (first build: a few minutes)" >&2
  # The progress of a long first build, so it is not mistaken for a hang.
  ( while sleep 30; do echo "helm: still building ($((SECONDS - t0))s)" >&2; done ) &
  ticker=$!
  trap 'kill $ticker 2> /dev/null || true' EXIT
  GOBIN="$BIN_DIR" GOFLAGS=-buildvcs=false nice -n 10 go install -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_MODULE_VERSION" >&2
  echo "$HELM_MODULE_VERSION" > "$stamp"
  echo "helm: built in $((SECONDS - t0))s" >&2
fi
echo "$HELM"
