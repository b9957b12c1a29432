#!/usr/bin/env bash
# bench/harness/run.sh: benchmarks `schemac test`'s policy harness against the same checks as one pgTAP file run by pg_prove (see bench/README.md).
#
# Usage: bash bench/harness/run.sh [--runs N]   (extra arguments go to the pgtap_bench binary)
#
# From a clean clone: installs pg_prove (Debian package libtap-parser-sourcehandler-pgtap-perl),
# extracts pgTAP's SQL from the Debian package postgresql-<major>-pgtap into .cache/pgtap
# (extracted, not installed: installing it would pull in a whole PostgreSQL server of that
# major version; pgTAP is plain SQL/PL/pgSQL and is loaded as a script into PostgreSQL 18),
# installs PostgreSQL 18 + pgvector (scripts/install-postgres.sh), builds the benchmark in
# release mode and runs it, then times three full `schemac test` runs of the seed schema.
# Not part of the test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

log() { printf 'bench/harness: %s\n' "$*" >&2; }
sudo=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi

apt_updated=""
apt_update() {
  if [[ -z $apt_updated ]]; then
    $sudo apt-get update -qq
    apt_updated=1
  fi
}

# 1. pg_prove.
if ! command -v pg_prove >/dev/null 2>&1; then
  log "installing pg_prove (libtap-parser-sourcehandler-pgtap-perl)"
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q libtap-parser-sourcehandler-pgtap-perl >&2
fi

# 2. pgTAP's SQL, extracted from the newest postgresql-<major>-pgtap package Debian offers.
pgtap_sql="$(ls .cache/pgtap/usr/share/postgresql/*/extension/pgtap.sql 2>/dev/null | sort -V | tail -n 1 || true)"
if [[ -z $pgtap_sql ]]; then
  apt_update
  pkg="$(apt-cache search --names-only '^postgresql-[0-9]+-pgtap$' | cut -d' ' -f1 | sort -V | tail -n 1)"
  [[ -n $pkg ]] || { log "error: no postgresql-<major>-pgtap package found by apt-cache"; exit 1; }
  log "extracting pgTAP's SQL from $pkg into .cache/pgtap"
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  chmod a+rwx "$scratch" # apt-get download drops privileges to _apt
  (cd "$scratch" && apt-get download -q "$pkg" >&2)
  mkdir -p .cache/pgtap
  dpkg-deb -x "$scratch"/*.deb .cache/pgtap
  pgtap_sql="$(ls .cache/pgtap/usr/share/postgresql/*/extension/pgtap.sql | sort -V | tail -n 1)"
fi
log "pgTAP SQL: $pgtap_sql"

# 3. PostgreSQL 18 + pgvector; its bin dir first on PATH so pg_prove's psql is PostgreSQL 18's.
SCHEMAC_PG_BIN="$(bash scripts/install-postgres.sh | tail -n 1)"
export SCHEMAC_PG_BIN
export PATH="$SCHEMAC_PG_BIN:$PATH"
log "PostgreSQL: $SCHEMAC_PG_BIN ($(psql --version))"

# 4. Build and run the benchmark.
cargo build --release -q -p schemac-tests --bin pgtap_bench -p schema-cli
./target/release/pgtap_bench --pgtap-sql "$pgtap_sql" "$@"

# 5. Full `schemac test` of the seed schema (embedded server start, both grant modes), 3 times.
echo "== schemac test (full run, both grant modes), 3 runs =="
for i in 1 2 3; do
  out="$(./target/release/schemac test 2>&1)" || { printf '%s\n' "$out"; exit 1; }
  printf 'run %s: %s; %s\n' "$i" "$(grep -E '^[0-9]+ passed' <<<"$out")" "$(grep '^finished in' <<<"$out")"
done
