#!/usr/bin/env bash
# bench/vector_search.sh: times public.match_document_chunks (k = 10) as the power user, an admin and an ordinary user of a database kept by `schemac bench --keep`, against service_role in the same run, and measures its recall@10 against exact search.
#
#   bash bench/vector_search.sh 'postgres://postgres@127.0.0.1:PORT/DB' [RUNS]
#   ACTORS='power user' bash bench/vector_search.sh URL 5   # some actors only
#
# Needs psql on PATH. Per actor and query vector (RUNS vectors, default 11; each timed on its second
# run in the session, the first warming the plans and caches): the function as the actor
# (role authenticated + the actor's JWT claims, as PostgREST sets them), then as service_role the same
# search written out: `hnsw.iterative_scan = relaxed_order`, the same ef_search, the actor's chunks by
# an explicit filter (none for the admin), ordered by distance; and the exact answer (a materialized
# set of the actor's chunks, sorted) for recall. Prints the median times, their ratio, recall@10 and
# the row counts. Read-only; not part of the test suite.
set -euo pipefail
URL=${1:?usage: bench/vector_search.sh DATABASE_URL [RUNS]}
RUNS=${2:-11}
POWER=b0000000-0000-4000-8000-000000000001
ADMIN=b0000000-0000-4000-8000-000000000002
USERS=$(psql "$URL" -XAtqc "select count(*) from auth.users")
CLUSTERS=$(psql "$URL" -XAtqc "select greatest(1, count(*) / 20) from public.document_chunks")
ORDINARY=$(psql "$URL" -XAtqc "select ('b0000000-0000-4000-8000-' || lpad(to_hex($USERS / 2 + 1), 12, '0'))")

vec() { # the query vector for seed $1, as SQL: near the center of a cluster of the bench data
    # (schema-pg/src/bench/data.rs, cluster_component_sql), with noise of the data's spread
    local h="sin($(( ($1 * 7919) % CLUSTERS ))::float8 * 12.9898 + d::float8 * 78.233) * 43758.5453"
    echo "(select array_agg(((($h) - floor($h) - 0.5) + ((('x' || substr(md5('q$1:' || d), 1, 8))::bit(32)::bigint % 1000) / 1000.0 - 0.5) * 0.25)::real order by d) from generate_series(1, 384) d)::extensions.vector"
}
filter() { # the chunks user $1 may read, as a condition on document_chunks c (admin: all)
    if [ "$1" = "$ADMIN" ]; then echo "true"; else
        echo "c.document_id = any (array(select d.id from public.documents d where d.user_id = '$1' or d.id = any (array(select l.document_id from public.document_conversation_links l join public.conversation_members m on m.conversation_id = l.conversation_id where m.user_id = '$1'))))"
    fi
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

printf '%-10s %9s %9s %9s %9s %6s %6s\n' actor readable "actor ms" "svc ms" ratio recall rows
for who in power:$POWER admin:$ADMIN user:$ORDINARY; do
    name=${who%%:*} uid=${who#*:}
    case " ${ACTORS:-power admin user} " in *" $name "*) ;; *) continue ;; esac
    readable=$(psql "$URL" -XAtqc "select count(*) from public.document_chunks c where c.embedding is not null and ($(filter "$uid"))")
    : >/tmp/vs_actor.$$ ; : >/tmp/vs_svc.$$ ; hits=0 total=0 rows=0
    for ((s = 1; s <= RUNS; s++)); do
        q=$(vec "$s")
        out=$(psql "$URL" -XAtq <<SQL
\timing on
begin;
set local role authenticated;
select set_config('request.jwt.claims', '{"sub": "$uid", "role": "authenticated", "aud": "authenticated"}', true) \g /dev/null
select count(*) from public.match_document_chunks($q, 10) \g /dev/null
select coalesce(array_agg(id)::text, '{}') as got from public.match_document_chunks($q, 10) \gset
rollback;
begin;
set local role service_role;
set local hnsw.iterative_scan = relaxed_order;
set local hnsw.ef_search = 400;
select count(*) from (select c.id from public.document_chunks c where c.embedding is not null and ($(filter "$uid")) order by c.embedding operator(extensions.<=>) $q limit 10) s \g /dev/null
select count(*) from (select c.id from public.document_chunks c where c.embedding is not null and ($(filter "$uid")) order by c.embedding operator(extensions.<=>) $q limit 10) s \g /dev/null
rollback;
\timing off
select 'R', cardinality(:'got'::uuid[]), (select count(*) from (select unnest(:'got'::uuid[]) intersect select id from (with v as materialized (select c.id, c.embedding from public.document_chunks c where c.embedding is not null and ($(filter "$uid"))) select v.id from v order by v.embedding operator(extensions.<=>) $q limit 10) e) x), (select count(*) from (with v as materialized (select c.id, c.embedding from public.document_chunks c where c.embedding is not null and ($(filter "$uid"))) select v.id from v order by v.embedding operator(extensions.<=>) $q limit 10) e);
SQL
)
        # Timing lines: begin, set, set, select (warm-up), select (function), rollback, begin, set,
        # set, set, select (warm-up), select, rollback: the second run of each is timed.
        times=$(echo "$out" | grep '^Time:' | awk '{ print $2 }')
        echo "$times" | sed -n 5p >>/tmp/vs_actor.$$
        echo "$times" | sed -n 12p >>/tmp/vs_svc.$$
        r=$(echo "$out" | grep '^R|')
        got=$(echo "$r" | cut -d'|' -f2) hit=$(echo "$r" | cut -d'|' -f3) want=$(echo "$r" | cut -d'|' -f4)
        hits=$((hits + hit)) total=$((total + want)) rows=$got
        [ "$got" -eq "$want" ] || echo "  $name seed $s: $got rows, exact search has $want" >&2
    done
    a=$(median </tmp/vs_actor.$$) v=$(median </tmp/vs_svc.$$)
    printf '%-10s %9s %9.2f %9.2f %9.2f %6.3f %6s\n' "$name" "$readable" "$a" "$v" "$(echo "$a / $v" | bc -l)" "$( [ "$total" -gt 0 ] && echo "$hits / $total" | bc -l || echo 1)" "$rows"
done
rm -f /tmp/vs_actor.$$ /tmp/vs_svc.$$
