# Shared by start.sh / stop.sh. Sourced, not executed.
# Resolves paths from this file's location, so callers can run from any cwd.

TC_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TC_ROOT="$(cd "$TC_SCRIPT_DIR/../.." && pwd)"
# Cluster state dir (certs, kubeconfig, logs, etcd data, bin/). Override with TESTCLUSTER_DIR.
TC_DIR="$(realpath -m "${TESTCLUSTER_DIR:-$TC_ROOT/.cluster}")"
TC_BIN_DIR="$TC_DIR/bin"
TC_BIN="$TC_BIN_DIR/testcluster"
TC_K8S_VERSION="v1.34.4"

# Version stamping as the Kubernetes release build does (hack/lib/version.sh),
# so /version and `kubectl version` report v1.34.4 instead of v0.0.0-master.
# -s -w drops the symbol table and DWARF (smaller binary, faster link).
TC_LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  TC_LDFLAGS+=" -X $pkg.gitVersion=$TC_K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean"
done

# tc_build: (re)build the multi-call binary and the kubectl symlink.
# go build is incremental (Go build cache, ~/.cache/go-build) and leaves the
# output untouched when it is already up to date.
tc_build() {
  if ! command -v go >/dev/null 2>&1; then
    echo "testcluster: 'go' not found in PATH (Go >= 1.24 needed to build test/cluster)" >&2
    return 1
  fi
  mkdir -p "$TC_BIN_DIR"
  local before="" after="" t0=$SECONDS
  # go build touches an up-to-date output, so compare Go build IDs, not mtimes.
  [ -e "$TC_BIN" ] && before="$(go tool buildid "$TC_BIN" 2>/dev/null || true)"
  echo "testcluster: go build ($(go env GOVERSION)) -> $TC_BIN"
  # A first build compiles Kubernetes from source (minutes, more on a loaded machine): say so, and show it is alive.
  [ -n "$before" ] || echo "testcluster: first build: compiling kube-apiserver, etcd and controllers from Go modules (several minutes)"
  ( while sleep 30; do echo "testcluster: still building ($((SECONDS - t0))s)"; done ) &
  local ticker=$! rc=0
  (cd "$TC_SCRIPT_DIR" && nice -n 10 go build -buildvcs=false -ldflags "$TC_LDFLAGS" -o "$TC_BIN" .) || rc=$?
  kill "$ticker" 2>/dev/null; wait "$ticker" 2>/dev/null || true
  [ "$rc" = 0 ] || return 1
  after="$(go tool buildid "$TC_BIN" 2>/dev/null || true)"
  ln -sfn testcluster "$TC_BIN_DIR/kubectl"
  if [ "$before" = "$after" ]; then
    echo "testcluster: binary up to date ($((SECONDS - t0))s)"
  else
    echo "testcluster: binary built in $((SECONDS - t0))s ($(du -h "$TC_BIN" | cut -f1))"
  fi
}
