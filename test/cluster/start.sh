#!/usr/bin/env bash
# Build test/cluster (incremental) and start -- or reuse -- the local test
# control plane (etcd + kube-apiserver + kube-controller-manager) in .cluster/.
#
# usage: test/cluster/start.sh [testcluster start flags: --timeout 3m --v 2]
# env:   TESTCLUSTER_DIR  cluster dir (default: <repo>/.cluster)
# After it returns:  export KUBECONFIG=<repo>/.cluster/kubeconfig
#                    <repo>/.cluster/bin/kubectl get ns
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
tc_build
exec "$TC_BIN" start --dir "$TC_DIR" "$@"
