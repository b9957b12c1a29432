#!/usr/bin/env bash
# bench/derive/run.sh: compile-time cost of #[derive(Table)] on a crate with N (default 100) models,
# against the same crate with plain structs, measured in the same run: a clean `cargo build` of each
# (own target dir, dependencies included) and a rebuild of the crate alone (dependencies built).
# OPT_MACROS=1 builds proc macros and their dependencies optimised (`[profile.dev.build-override]
# opt-level = 3`) in both crates, as a project using the derive heavily may choose to.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
n="${1:-100}"
work="$(mktemp -d "${TMPDIR:-/tmp}/schemac-derive-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# One crate: $1 = name, $2 = "derive" or "plain".
make_crate() {
    local dir="$work/$1" kind="$2"
    mkdir -p "$dir/src"
    {
        echo "[package]"
        echo "name = \"$1\""
        echo "version = \"0.1.0\""
        echo "edition = \"2021\""
        echo "publish = false"
        echo
        echo "[workspace]"
        echo
        echo "[dependencies]"
        if [ "$kind" = derive ]; then
            echo "schema-macros = { path = \"$root/schema-macros\" }"
        fi
        echo 'postgres = { version = "0.19", features = ["with-uuid-1", "with-serde_json-1", "with-chrono-0_4"] }'
        echo 'uuid = "1"'
        echo 'chrono = { version = "0.4", default-features = false, features = ["clock", "std"] }'
        echo 'serde_json = "1"'
        if [ "${OPT_MACROS:-0}" = 1 ]; then
            echo
            echo "[profile.dev.build-override]"
            echo "opt-level = 3"
        fi
    } > "$dir/Cargo.toml"
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    {
        echo "//! $n table models ($kind)."
        echo "#![allow(dead_code)]"
        [ "$kind" = derive ] && echo "use schema_macros::Table;"
        for i in $(seq 1 "$n"); do
            if [ "$kind" = derive ]; then
                echo "#[derive(Table, Debug)]"
                echo "#[schemac(declare, table = \"table_$i\", timestamps, index(columns = [\"owner_id\", \"created_on desc\"]),"
                echo "          policy(name = \"owners\", for = \"all\", owner = \"owner_id\"),"
                echo "          grant(role = \"authenticated\", update = [\"title\", \"body\"]))]"
            else
                echo "#[derive(Debug)]"
            fi
            echo "pub struct Model$i {"
            [ "$kind" = derive ] && echo "    #[schemac(primary_key, default = \"gen_random_uuid()\")]"
            echo "    pub id: uuid::Uuid,"
            [ "$kind" = derive ] && echo "    #[schemac(default = \"auth.uid()\", references = \"auth.users\", on_delete = \"cascade\")]"
            echo "    pub owner_id: uuid::Uuid,"
            [ "$kind" = derive ] && echo "    #[schemac(check = \"char_length(title) between 1 and 200\")]"
            echo "    pub title: String,"
            echo "    pub body: Option<String>,"
            echo "    pub score: i64,"
            echo "    pub data: serde_json::Value,"
            echo "    pub created_on: chrono::DateTime<chrono::Utc>,"
            echo "}"
        done
    } > "$dir/src/lib.rs"
}

seconds() { # runs "$@" (failing the script if it fails), prints elapsed seconds
    local start end
    start=$(date +%s.%N)
    if ! "$@" > "$work/log" 2>&1; then
        cat "$work/log" >&2
        echo "failed: $*" >&2
        exit 1
    fi
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}

make_crate bench_derive derive
make_crate bench_plain plain

echo "models: $n; machine: $(nproc) cores; $(rustc --version); OPT_MACROS=${OPT_MACROS:-0}"
for kind in derive plain; do
    d="$work/bench_$kind"
    clean=$(seconds cargo build -q --manifest-path "$d/Cargo.toml" --target-dir "$work/target_$kind")
    touch -d "+2 seconds" "$d/src/lib.rs"
    crate=$(seconds cargo build -q --manifest-path "$d/Cargo.toml" --target-dir "$work/target_$kind")
    printf '%s clean %.1f crate %.2f\n' "$kind" "$clean" "$crate"
    eval "clean_$kind=$clean; crate_$kind=$crate"
done
awk -v a="$clean_derive" -v b="$clean_plain" 'BEGIN { printf "ratio clean build (derive / plain): %.2f\n", a / b }'
awk -v a="$crate_derive" -v b="$crate_plain" 'BEGIN { printf "ratio crate rebuild (derive / plain): %.2f\n", a / b }'
