#!/usr/bin/env bash
# bench/lock_stall.sh: longest write stall of each change kind on a 2M-row table under a bounded continuous write load, naive DDL vs the form schemac generates (not run in CI).
#
# Usage: SCHEMAC_PG_BIN=<postgres bin dir> bash bench/lock_stall.sh [rows]   (default 2000000)
# A throwaway server is initialised in a temporary directory (run as `nobody` when invoked as
# root). pgbench writes continuously (2 clients, at most 200 updates/s in total, per-transaction
# latency log) while each change is applied; the longest latency of a write during the run is
# the stall. The "generated" statements have exactly the shape schemac's diff emits for an
# existing table (tests/diff snapshots): `set lock_timeout`, `concurrently`, `not valid` +
# `validate constraint`, `not null ... not valid`, unique `using index`.
set -euo pipefail
rows="${1:-2000000}"
bin="${SCHEMAC_PG_BIN:?set SCHEMAC_PG_BIN to the PostgreSQL bin directory}"
work="$(mktemp -d /tmp/schemac-lockbench.XXXXXX)"
run_as() { if [[ "$(id -u)" == 0 ]]; then su nobody -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
[[ "$(id -u)" == 0 ]] && chown nobody "$work"
port=$((20000 + RANDOM % 20000))
run_as "'$bin/initdb' -D '$work/data' -U postgres >/dev/null"
run_as "'$bin/pg_ctl' -D '$work/data' -o '-p $port -k $work -c listen_addresses=127.0.0.1 -c max_wal_size=4GB' -l '$work/log' -w start >/dev/null"
trap 'run_as "\"$bin/pg_ctl\" -D \"$work/data\" -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
psql() { "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }

setup() {
  psql -c "drop table if exists t; drop table if exists p;
    create table p (id bigint primary key); insert into p select g from generate_series(1, 1000) g;
    create table t (id bigint primary key, a int, b text, ref bigint, code varchar(50), uniq bigint);
    insert into t select g, g % 1000, 'row ' || g, 1 + g % 1000, 'c' || g, g from generate_series(1, $rows) g;"
  psql -c "vacuum analyze t;"
}

# (kind, naive SQL, generated SQL) -- generated statements run one at a time (autocommit), as
# `schemac migrate` runs a no-transaction migration; the naive form runs as one transaction.
kinds=(add_index add_fk add_check set_not_null add_unique widen_varchar)
naive_add_index="create index t_a_idx on t (a);"
gen_add_index="set lock_timeout = '5s';|create index concurrently if not exists t_a_idx on t using btree (a);"
naive_add_fk="alter table t add constraint t_ref_fkey foreign key (ref) references p (id);"
gen_add_fk="set lock_timeout = '5s'; alter table t add constraint t_ref_fkey foreign key (ref) references p (id) not valid;|set lock_timeout = '5s'; alter table t validate constraint t_ref_fkey;"
naive_add_check="alter table t add constraint t_a_check check (a >= 0);"
gen_add_check="set lock_timeout = '5s'; alter table t add constraint t_a_check check (a >= 0) not valid;|set lock_timeout = '5s'; alter table t validate constraint t_a_check;"
naive_set_not_null="alter table t alter column a set not null;"
gen_set_not_null="set lock_timeout = '5s'; alter table t add constraint t_a_not_null not null a not valid;|set lock_timeout = '5s'; alter table t validate constraint t_a_not_null;"
naive_add_unique="alter table t add constraint t_uniq_key unique (uniq);"
gen_add_unique="set lock_timeout = '5s';|create unique index concurrently if not exists t_uniq_key on t using btree (uniq);|set lock_timeout = '5s'; alter table t add constraint t_uniq_key unique using index t_uniq_key;"
naive_widen_varchar="alter table t alter column code type varchar(100);"
gen_widen_varchar="set lock_timeout = '5s'; alter table t alter column code type varchar(100);"

cat > "$work/write.sql" <<SQL
\set id random(1, $rows)
update t set b = 'w' where id = :id;
SQL
[[ "$(id -u)" == 0 ]] && chown nobody "$work/write.sql"

stall() { # mode kind sql -> prints "ddl_ms max_write_latency_ms writes"
  local mode="$1" kind="$2" sql="$3"
  setup
  rm -f "$work"/pgbench_log.*
  (cd "$work" && "$bin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres -c 2 -j 2 -R 200 -T 30 -l -f write.sql postgres >"$work/pgbench.out" 2>&1) &
  local pb=$!
  sleep 3
  local t0 t1
  t0=$(date +%s%N)
  if [[ "$mode" == naive ]]; then
    psql -1 -c "$sql"
  else
    IFS='|' read -r -a parts <<<"$sql"
    for part in "${parts[@]}"; do psql -c "$part"; done
  fi
  t1=$(date +%s%N)
  wait "$pb" || true
  local max n
  max=$(cat "$work"/pgbench_log.* | awk 'BEGIN{m=0} {if ($3>m) m=$3} END{printf "%.0f", m/1000}')
  n=$(cat "$work"/pgbench_log.* | wc -l)
  echo "$(( (t1 - t0) / 1000000 )) $max $n"
}

printf '%-14s %-10s %10s %22s %8s\n' kind form ddl_ms longest_write_ms writes
for k in "${kinds[@]}"; do
  for mode in naive gen; do
    var="${mode}_${k}"
    read -r ddl max n < <(stall "$mode" "$k" "${!var}")
    printf '%-14s %-10s %10s %22s %8s\n' "$k" "$([[ $mode == gen ]] && echo generated || echo naive)" "$ddl" "$max" "$n"
  done
done
