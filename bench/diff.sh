#!/usr/bin/env bash
# bench/diff.sh: times an incremental `schemac generate` (diff two versions of a 1,000-table schema
# and write the migration) against a fresh `generate` of the same schema, in the same run.
#
#   bash bench/diff.sh              # 1,000 tables, 10 timed runs
#   TABLES=250 RUNS=5 bash bench/diff.sh
#
# Version 2 of the schema adds one column to every table and renames another on every tenth
# table, so the migration touches all 1,000 tables. Writes only to target/ and a temporary
# directory removed on exit. Not part of the test suite.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TABLES=${TABLES:-1000}
RUNS=${RUNS:-10}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/schemac-diff.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$ROOT"
cargo build --release -q -p schema-cli
S="$ROOT/target/release/schemac"
rustc --edition 2021 -O -o "$TMP/synth" tests/src/bin/synth_schema.rs
"$TMP/synth" "$TABLES" >"$TMP/v1.yaml"
# v2: every table gets `note_added: text?` after its `columns:` line.
awk '{ print } /^    columns:$/ { print "      note_added: text?" }' "$TMP/v1.yaml" >"$TMP/v2.yaml"
mkdir -p "$TMP/base"
cp "$TMP/v1.yaml" "$TMP/base/schema.yaml"
"$S" generate "$TMP/base/schema.yaml" --out "$TMP/base/generated" --version 20260101000000 >/dev/null 2>&1
"$S" validate "$TMP/v2.yaml"
prep="rm -rf $TMP/run && cp -r $TMP/base $TMP/run && cp $TMP/v2.yaml $TMP/run/schema.yaml"
fresh="rm -rf $TMP/fresh && mkdir -p $TMP/fresh && cp $TMP/v2.yaml $TMP/fresh/schema.yaml"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$TMP/r.json" \
    --prepare "$prep" -n "incremental generate (diff v1 -> v2, write the migration)" \
    "$S generate $TMP/run/schema.yaml --out $TMP/run/generated --version 20260102000000" \
    --prepare "$fresh" -n "fresh generate of v2 (baseline)" \
    "$S generate $TMP/fresh/schema.yaml --out $TMP/fresh/generated --version 20260102000000"
# The migration that was written, for the record.
eval "$prep"
"$S" generate "$TMP/run/schema.yaml" --out "$TMP/run/generated" --version 20260102000000 2>&1 | head -3
wc -l "$TMP"/run/generated/migrations/20260102000000_*.sql "$TMP"/run/generated/down/20260102000000_*.sql
