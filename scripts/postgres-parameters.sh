#!/usr/bin/env bash
# Regenerates src/api/postgres-15-parameters.ts: every setting (GUC) of the PostgreSQL 15 installed here, with its
# type, unit, range and enum values, as pg_settings reports them. src/api/parameters.ts adjusts it to 14, 16, 17 and 18
# and adds Azure's own parameters. Needs /usr/lib/postgresql/15 (Debian's postgresql-15); runs a throwaway cluster
# in single-user mode as an unprivileged user, with no network.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=/usr/lib/postgresql/15/bin
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
as_user=()
if [ "$(id -u)" = 0 ]; then chown nobody "$tmp"; as_user=(runuser -u nobody --); fi
"${as_user[@]}" "$bin/initdb" -D "$tmp/data" -U postgres > "$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
# Single-user mode reads one statement a line, and prints a banner and prompts: keep only the tab-separated rows.
query="COPY (SELECT lower(name), vartype, coalesce(unit, ''), coalesce(min_val, ''), coalesce(max_val, ''), coalesce(array_to_string(enumvals, ','), ''), context FROM pg_settings ORDER BY lower(name)) TO STDOUT;"
echo "$query" | "${as_user[@]}" "$bin/postgres" --single -D "$tmp/data" postgres 2> /dev/null \
  | sed -e 's/^backend> //' | grep $'\t' > "$tmp/settings.tsv"
node scripts/postgres-parameters.mjs "$tmp/settings.tsv" "$("$bin/postgres" --version)" > src/api/postgres-15-parameters.ts
