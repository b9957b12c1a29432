#!/usr/bin/env bash
# bench/generate.sh: times `schemac validate` and `schemac generate` on a synthetic N-table schema
# (default 1,000) and, in the same run, `drizzle-kit generate` on the equivalent drizzle schema.
#
#   bash bench/generate.sh                 # 1,000 tables, 10 timed runs per command
#   TABLES=250 RUNS=5 bash bench/generate.sh
#   SKIP_DRIZZLE=1 bash bench/generate.sh  # schemac only (no npm)
#   SCHEMAC=/path/to/schemac bash bench/generate.sh  # time that binary instead of building one
#   NO_HYPERFINE=1 bash bench/generate.sh  # time with a bash loop even if hyperfine is installed
#
# Writes only to target/ (cargo), bench/drizzle/node_modules/ (npm ci) and a temporary directory
# that is removed on exit (the npm cache goes there too). Not part of the test suite.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TABLES=${TABLES:-1000}
RUNS=${RUNS:-10}
VERSION=20260101000000
TMP=$(mktemp -d "${TMPDIR:-/tmp}/schemac-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
RESULTS="$TMP/results.tsv"
: >"$RESULTS"

say() { printf '\n== %s\n' "$*" >&2; }

cd "$ROOT"
if [ -n "${SCHEMAC:-}" ]; then
    say "using SCHEMAC=$SCHEMAC (not rebuilt)"
else
    say "building schemac (release)"
    cargo build --release -q -p schema-cli
    SCHEMAC="$ROOT/target/release/schemac"
fi
# The generator uses only std: compile it directly (building the tests package in release would
# also build the live-Postgres crates, which this benchmark does not need).
rustc --edition 2021 -O -o "$TMP/synth_schema" tests/src/bin/synth_schema.rs

say "generating the $TABLES-table schema (YAML and drizzle TypeScript)"
"$TMP/synth_schema" "$TABLES" >"$TMP/schema.yaml"
"$TMP/synth_schema" "$TABLES" --format drizzle >"$TMP/schema.ts"
wc -lc "$TMP/schema.yaml" "$TMP/schema.ts" | sed '$d' >&2
"$SCHEMAC" validate "$TMP/schema.yaml" # must compile with zero errors (set -e stops otherwise)

# bench NAME PREPARE COMMAND: RUNS timed runs of COMMAND (PREPARE, if not empty, before each,
# untimed). Appends "NAME<TAB>min_ms<TAB>median_ms<TAB>mean_ms<TAB>runs<TAB>cpu_ms" to $RESULTS
# (cpu_ms: mean user + system time, from hyperfine; less sensitive to other load than wall time).
if [ -z "${NO_HYPERFINE:-}" ] && command -v hyperfine >/dev/null 2>&1; then
    TIMER=hyperfine
else
    TIMER="bash loop (date +%s%N); install hyperfine for calibrated numbers"
fi
bench() {
    local name=$1 prep=$2 cmd=$3 json="$TMP/bench.json"
    say "$name"
    if [ "$TIMER" = hyperfine ]; then
        local args=(--style basic --warmup 1 --runs "$RUNS" --export-json "$json")
        [ -n "$prep" ] && args+=(--prepare "$prep")
        hyperfine "${args[@]}" "$cmd" >&2
        node -e '
            const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results[0];
            const t = [...r.times].sort((a, b) => a - b).map((s) => s * 1000);
            const med = t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
            const mean = t.reduce((a, b) => a + b, 0) / t.length;
            const cpu = (r.user + r.system) * 1000;
            console.log([process.argv[2], t[0].toFixed(1), med.toFixed(1), mean.toFixed(1), t.length, cpu.toFixed(1)].join("\t"));
        ' "$json" "$name" >>"$RESULTS"
    else
        local times=() i start end
        for ((i = 0; i <= RUNS; i++)); do # run 0 is the warm-up
            [ -n "$prep" ] && bash -c "$prep"
            start=$(date +%s%N)
            bash -c "$cmd" >/dev/null 2>&1
            end=$(date +%s%N)
            [ "$i" -gt 0 ] && times+=($(((end - start) / 1000)))
        done
        printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '
            { t[NR] = $1 / 1000; s += t[NR] }
            END {
                med = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                printf "%s\t%.1f\t%.1f\t%.1f\t%d\t-\n", name, t[1], med, s / NR, NR
            }' | tee -a "$RESULTS" >&2
    fi
}

GEN="$SCHEMAC generate $TMP/schema.yaml --version $VERSION"

say "schemac generate, first run (cold: new process, empty output directory)"
start=$(date +%s%N)
$GEN --out "$TMP/first" 2>/dev/null
end=$(date +%s%N)
first_ms=$(((end - start) / 1000000))
printf 'schemac generate, first run (single)\t%s\t%s\t%s\t1\t-\n' "$first_ms" "$first_ms" "$first_ms" >>"$RESULTS"

bench "schemac validate" "" "$SCHEMAC validate $TMP/schema.yaml"
bench "schemac generate, fresh (empty out dir)" "rm -rf $TMP/fresh" "$GEN --out $TMP/fresh"
$GEN --out "$TMP/warm" 2>/dev/null # writes the lock; later runs find the schema unchanged
bench "schemac generate, warm (lock present, unchanged)" "" "$GEN --out $TMP/warm"

if [ -z "${SKIP_DRIZZLE:-}" ]; then
    DRIZZLE_DIR="$ROOT/bench/drizzle"
    if [ ! -x "$DRIZZLE_DIR/node_modules/.bin/drizzle-kit" ]; then
        say "installing drizzle-kit and drizzle-orm (pinned in bench/drizzle/package-lock.json)"
        (cd "$DRIZZLE_DIR" && npm_config_cache="$TMP/npm-cache" npm ci --no-audit --no-fund --loglevel=error)
    fi
    # schema.ts lives in $TMP: let it resolve drizzle-orm from bench/drizzle/node_modules.
    export NODE_PATH="$DRIZZLE_DIR/node_modules"
    KIT="$DRIZZLE_DIR/node_modules/.bin/drizzle-kit"
    DK="generate --dialect postgresql --schema $TMP/schema.ts"
    say "drizzle-kit $("$KIT" --version 2>/dev/null | tr '\n' ' ')"
    # Runs in $TMP so nothing (a config lookup, an output folder) lands in the repository.
    cd "$TMP"
    "$KIT" $DK --out "$TMP/drizzle-check" >/dev/null # fails loudly if the schema does not load
    bench "drizzle-kit generate, fresh (empty out dir)" "rm -rf $TMP/dfresh" "$KIT $DK --out $TMP/dfresh"
    "$KIT" $DK --out "$TMP/dwarm" >/dev/null
    bench "drizzle-kit generate, warm (snapshot present, unchanged)" "" "$KIT $DK --out $TMP/dwarm"
    bench "npx drizzle-kit generate, fresh (empty out dir)" "rm -rf $TMP/dnpx" \
        "cd $DRIZZLE_DIR && npx --no-install drizzle-kit $DK --out $TMP/dnpx"
    cd "$ROOT"
    say "what each tool wrote (fresh runs)"
    sql=$(ls "$TMP"/fresh/migrations/*.sql)
    dsql=$(ls "$TMP"/dfresh/*.sql)
    printf '%-10s %8s %8s %8s %8s\n' tool tables policies indexes bytes >&2
    printf '%-10s %8s %8s %8s %8s\n' schemac "$(grep -c '^create table' "$sql")" "$(grep -c '^create policy' "$sql")" \
        "$(grep -c '^create .*index' "$sql")" "$(du -cb "$TMP"/fresh/migrations "$TMP"/fresh/down "$TMP"/fresh/*.* | tail -1 | cut -f1)" >&2
    printf '%-10s %8s %8s %8s %8s\n' drizzle "$(grep -c 'CREATE TABLE' "$dsql")" "$(grep -c 'CREATE POLICY' "$dsql")" \
        "$(grep -c 'CREATE .*INDEX' "$dsql")" "$(du -cb "$TMP"/dfresh | tail -1 | cut -f1)" >&2
fi

say "summary: $TABLES tables, $RUNS runs each, $(nproc) cores, timer: $TIMER"
{
    printf '%-58s %9s %9s %9s %9s\n' command "min ms" "median ms" "mean ms" "cpu ms"
    while IFS=$'\t' read -r name min med mean _ cpu; do
        printf '%-58s %9s %9s %9s %9s\n' "$name" "$min" "$med" "$mean" "$cpu"
    done <"$RESULTS"
} | tee "$TMP/summary.txt"
median() { awk -F'\t' -v n="$1" '$1 == n { print $3 }' "$RESULTS"; }
s_fresh=$(median "schemac generate, fresh (empty out dir)")
echo
if [ -z "${SKIP_DRIZZLE:-}" ]; then
    d_fresh=$(median "drizzle-kit generate, fresh (empty out dir)")
    d_warm=$(median "drizzle-kit generate, warm (snapshot present, unchanged)")
    s_warm=$(median "schemac generate, warm (lock present, unchanged)")
    awk -v d="$d_fresh" -v s="$s_fresh" 'BEGIN { printf "ratio drizzle-kit / schemac, fresh medians: %.1fx\n", d / s }'
    awk -v d="$d_warm" -v s="$s_warm" 'BEGIN { printf "ratio drizzle-kit / schemac, warm medians:  %.1fx\n", d / s }'
fi
awk -v s="$s_fresh" -v n="$TABLES" 'BEGIN { printf "target (1,000 tables): schemac generate <= 100 ms; %d tables, fresh median %.1f ms: %s\n", n, s, (s <= 100 ? "met" : "NOT met") }'
