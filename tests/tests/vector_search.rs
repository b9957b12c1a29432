//! `match_document_chunks` under RLS at a small scale: it returns least(k, readable chunks) rows for every actor and k, walks the hnsw index (with iterative scan) only for callers who read at least 1,000 chunks, falls back to exact search when the index stops early, and matches exact search (recall) on what it returns.

use schema_pg::postgres::Client;
use schema_pg::{act_as, Actor, GrantMode};
use schemac_tests::{apply, committed_ups, platform_db};
use std::collections::BTreeSet;
use uuid::Uuid;

const POWER: &str = "00000000-0000-4000-8000-0000000000a1";
const SMALL: &str = "00000000-0000-4000-8000-0000000000a2";
const HEAVY: &str = "00000000-0000-4000-8000-0000000000a3";
const ADMIN: &str = "00000000-0000-4000-8000-0000000000a4";
const NONE: &str = "00000000-0000-4000-8000-0000000000a5";

/// Component `d` of the deterministic pseudo-random vector for the SQL text `seed`, in [-1, 1).
fn component(seed: &str) -> String {
    format!(
        "((('x' || substr(md5({seed} || ':' || d), 1, 8))::bit(32)::bigint % 2000) / 1000.0 - 1.0)"
    )
}

/// A deterministic pseudo-random 384-dimension vector for the SQL text `seed`, as SQL.
fn vector_sql(seed: &str) -> String {
    format!(
        "(select array_agg({}::real order by d) from generate_series(1, 384) d)::extensions.vector",
        component(seed)
    )
}

/// A vector close to the query vector (the query plus 2% noise seeded by `seed`), as SQL.
fn near_query_sql(seed: &str) -> String {
    format!(
        "(select array_agg(({} + 0.02 * {})::real order by d) from generate_series(1, 384) d)::extensions.vector",
        component("'query'"),
        component(seed)
    )
}

fn load(pg: &mut Client) {
    let users: Vec<String> = [POWER, SMALL, HEAVY, ADMIN, NONE]
        .iter()
        .enumerate()
        .map(|(i, u)| {
            format!(
                "('{u}'::uuid, 'v{i}@vector.schemac.invalid', 'authenticated', 'authenticated')"
            )
        })
        .collect();
    apply(
        pg,
        "users",
        &format!(
            "insert into auth.users (id, email, role, aud) values {};\n\
             update public.profiles set role = 'admin' where id = '{ADMIN}';",
            users.join(", ")
        ),
    );
    // Documents: POWER 3 (1,200 + 300 + 5 chunks), SMALL 1 (20 chunks), HEAVY 1 (1,500 chunks).
    let docs = [
        (POWER, 1, 1_200),
        (POWER, 2, 300),
        (POWER, 3, 5),
        (SMALL, 4, 20),
        (HEAVY, 5, 1_500),
    ];
    let mut sql = String::new();
    for (owner, n, chunks) in docs {
        // HEAVY's chunks are the nearest to the query, so an index walk meets all of them first.
        let embedding = if owner == HEAVY {
            near_query_sql(&format!("'{n}:' || i"))
        } else {
            vector_sql(&format!("'{n}:' || i"))
        };
        sql.push_str(&format!(
            "insert into public.documents (id, user_id, title) values ('00000000-0000-4000-8000-00000000d00{n}', '{owner}', 'doc {n}');\n\
             insert into public.document_chunks (document_id, chunk_index, content, embedding)\n\
             select '00000000-0000-4000-8000-00000000d00{n}', i, 'chunk ' || i, {}\n\
             from generate_series(0, {}) i;\n",
            embedding,
            chunks - 1
        ));
    }
    sql.push_str("analyze public.documents; analyze public.document_chunks;");
    apply(pg, "documents and chunks", &sql);
}

struct Call {
    ids: Vec<Uuid>,
    hnsw_scans: i64,
}

/// Calls the search as `who` in a transaction (rolled back) with the `setup` statements first,
/// and counts the scans of the hnsw index it made.
fn call(pg: &mut Client, who: &str, k: i64, filter: Option<&str>, setup: &str) -> Call {
    let mut tx = pg.transaction().expect("begin");
    tx.batch_execute(setup).expect("setup");
    act_as(
        &mut tx,
        &Actor::user(who.parse().expect("uuid"), "v@vector.schemac.invalid"),
    )
    .expect("act as");
    let scans =
        "select pg_stat_get_xact_numscans('public.document_chunks_embedding_idx'::regclass)";
    let before: i64 = tx.query_one(scans, &[]).expect("scans").get(0);
    let q = format!(
        "select id from public.match_document_chunks({}, {k}, {}) ",
        vector_sql("'query'"),
        filter.map_or("null".to_string(), |f| format!("array['{f}']::uuid[]"))
    );
    let ids = tx
        .query(&q, &[])
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect();
    let after: i64 = tx.query_one(scans, &[]).expect("scans").get(0);
    tx.rollback().expect("rollback");
    Call {
        ids,
        hnsw_scans: after - before,
    }
}

/// The exact answer: the `k` nearest chunks among those `who` may read, computed as the
/// superuser with the visibility written out (materialized: an hnsw scan with a filter would
/// return too few rows, which is what the function must avoid).
fn exact(pg: &mut Client, visible: &str, k: i64) -> Vec<Uuid> {
    let q = format!(
        "with v as materialized (select c.id, c.embedding from public.document_chunks c \
         join public.documents d on d.id = c.document_id where {visible}) \
         select v.id from v order by v.embedding operator(extensions.<=>) {} limit {k}",
        vector_sql("'query'")
    );
    pg.query(&q, &[])
        .unwrap_or_else(|e| panic!("{q}: {e}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn match_document_chunks_returns_least_k_readable_and_uses_hnsw_only_for_many() {
    let (_db, mut pg) = platform_db("vector_search", GrantMode::NoAutoGrant);
    for up in committed_ups() {
        apply(&mut pg, "committed migration", &up);
    }
    load(&mut pg);

    // (actor, visibility as SQL over d = documents, readable chunks, walks the index)
    let cases = [
        (POWER, format!("d.user_id = '{POWER}'"), 1_505, true),
        (SMALL, format!("d.user_id = '{SMALL}'"), 20, false),
        (ADMIN, "true".to_string(), 3_025, true),
        (NONE, "false".to_string(), 0, false),
    ];
    let mut recall_hits = 0usize;
    let mut recall_total = 0usize;
    for (who, visible, readable, hnsw) in &cases {
        for k in [1i64, 10, 50, 200] {
            let got = call(&mut pg, who, k, None, "");
            let want = exact(&mut pg, visible, k);
            assert_eq!(
                got.ids.len() as i64,
                k.min(*readable),
                "{who} k={k}: rows returned"
            );
            assert_eq!(
                got.ids.len(),
                got.ids.iter().collect::<BTreeSet<_>>().len(),
                "{who} k={k}: duplicate rows"
            );
            assert_eq!(
                got.hnsw_scans > 0,
                *hnsw,
                "{who} k={k}: hnsw index scans {} (expected the index: {hnsw})",
                got.hnsw_scans
            );
            let want_set: BTreeSet<_> = want.iter().collect();
            // Everything returned is readable: a subset of the readable chunks.
            let readable_ids = exact(&mut pg, visible, 10_000);
            let readable_set: BTreeSet<_> = readable_ids.iter().collect();
            assert!(
                got.ids.iter().all(|i| readable_set.contains(i)),
                "{who} k={k}: returned a chunk the caller may not read"
            );
            if *hnsw {
                recall_hits += got.ids.iter().filter(|i| want_set.contains(i)).count();
                recall_total += want.len();
            } else {
                assert_eq!(got.ids, want, "{who} k={k}: exact search differs");
            }
        }
    }
    let recall = recall_hits as f64 / recall_total as f64;
    assert!(
        recall >= 0.95,
        "hnsw recall {recall:.3} against exact search"
    );

    // A filter narrowing the power user to 5 chunks: exact, all 5.
    let got = call(
        &mut pg,
        POWER,
        10,
        Some("00000000-0000-4000-8000-00000000d003"),
        "",
    );
    assert_eq!(got.ids.len(), 5);
    assert_eq!(got.hnsw_scans, 0);

    // The index stopping early: HEAVY's 1,500 chunks are all nearer the query than the power
    // user's, and a tiny hnsw.max_scan_tuples ends the iterative scan before it reaches them (as
    // when readable rows are too rare among all): the exact search answers, least(k, readable).
    let got = call(
        &mut pg,
        POWER,
        50,
        None,
        "set local hnsw.max_scan_tuples = 1",
    );
    assert!(got.hnsw_scans > 0, "the index was tried");
    assert_eq!(got.ids.len(), 50, "fallback to exact search");
    assert_eq!(
        got.ids,
        exact(&mut pg, &format!("d.user_id = '{POWER}'"), 50),
        "the fallback is exact"
    );
}
