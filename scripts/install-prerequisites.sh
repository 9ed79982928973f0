#!/usr/bin/env bash
# Installs the machine-level tools the tests use when they are missing: PostgreSQL 15 server binaries and two extension
# packages (each emulated Azure server is a real PostgreSQL instance) and Go (the test control plane is built from Go modules).
# Node 22 is not needed here: it comes from the `node` npm package in devDependencies.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
# Extensions as on Azure: pgextwlist lets the (non-superuser) admin create allow-listed extensions; ip4r is a packaged one the tests use.
[ -f /usr/lib/postgresql/15/lib/pgextwlist.so ] || need+=(postgresql-15-pgextwlist)
[ -f /usr/lib/postgresql/15/lib/ip4r.so ] || need+=(postgresql-15-ip4r)
command -v go > /dev/null || need+=(golang-go)
command -v openssl > /dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
echo "postgres: $(/usr/lib/postgresql/15/bin/postgres --version)"
echo "go: $(go version)"
