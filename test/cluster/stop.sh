#!/usr/bin/env bash
# Stop the local test control plane in .cluster/ and remove its state
# (certs, kubeconfig, etcd data). Keeps .cluster/bin and the last *.log files.
#
# usage: test/cluster/stop.sh
# env:   TESTCLUSTER_DIR  cluster dir (default: <repo>/.cluster)
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
if [ ! -d "$TC_DIR" ]; then
  echo "testcluster: nothing to stop ($TC_DIR does not exist)"
  exit 0
fi
if [ ! -x "$TC_BIN" ]; then
  # Need the binary to find and stop the components; build it.
  tc_build
fi
exec "$TC_BIN" stop --dir "$TC_DIR"
