//! `schemac bench` at a small scale (2,000 messages): every typical query of the bundled schema is derived, measured and explained, the generated policies call auth only in InitPlans while the naive ones do per row, both membership forms are measured; and a synthetic schema's down script is applied in one transaction. No timing is asserted.

use schema_pg::bench::{self, data::Scale, down, queries::QueryKind, BenchOptions, BenchReport};
use schema_pg::shared;
use schemac_tests::workspace_root;

fn compile(name: &str, text: &str) -> schema_core::ir::Schema {
    let mut sources = schema_core::Sources::new();
    sources.add(name.to_string(), text.to_string());
    let c = schema_core::compile(&sources);
    let rendered: String = c
        .diagnostics
        .iter()
        .map(|d| schema_core::render::human(d, &sources))
        .collect();
    c.ir.unwrap_or_else(|| panic!("{name} does not compile:\n{rendered}"))
}

fn small_report() -> BenchReport {
    let text = std::fs::read_to_string(workspace_root().join("schema.yaml")).expect("schema.yaml");
    let schema = compile("schema.yaml", &text);
    let opts = BenchOptions {
        scale: Scale {
            users: 40,
            leaf_rows: 2_000,
            vector_rows: 2_000,
            fanout: 10,
            per_user: 2,
            skew: None,
        },
        maintenance_work_mem: "64MB".into(),
        reps: 2,
        ..BenchOptions::default()
    };
    bench::run(shared(), &schema, &opts, &mut |_| {}).unwrap_or_else(|e| panic!("bench: {e}"))
}

#[test]
fn small_bench_measures_every_typical_query_with_its_plan() {
    let r = small_report();
    let text = bench::report::human(&r);

    // Data: the signup trigger filled the per-user tables; every planned table got its rows.
    let rows = |t: &str| {
        r.tables
            .iter()
            .find(|x| x.table == t)
            .unwrap_or_else(|| panic!("{t} missing:\n{text}"))
    };
    assert_eq!(rows("messages").rows, 2_000, "{text}");
    assert_eq!(rows("document_chunks").rows, 2_000, "{text}");
    assert_eq!(rows("profiles").source, "trigger", "{text}");
    assert_eq!(rows("profiles").rows, 40, "{text}");
    assert!(r.tables.iter().all(|t| t.rows > 0), "{text}");
    assert_eq!(r.index_builds.len(), 1, "{text}");
    assert_eq!(r.index_builds[0].0, "document_chunks_embedding_idx");

    // The queries are all there.
    let find = |kind: QueryKind, table: &str| {
        r.queries
            .iter()
            .find(|q| q.query.kind == kind && q.query.table == table)
            .unwrap_or_else(|| panic!("no {} query on {table}:\n{text}", kind.name()))
    };
    let owner = find(QueryKind::OwnerList, "conversations");
    let read = find(QueryKind::ParentChildren, "messages");
    let member = find(QueryKind::MemberChildren, "messages");
    let vector = find(QueryKind::VectorSearch, "document_chunks");
    find(QueryKind::MemberParent, "conversations");
    assert_ne!(
        member.query.user, read.query.user,
        "the member is not the owner"
    );
    assert!(owner.actor.rows > 0 && read.actor.rows > 0 && member.actor.rows > 0);
    assert_eq!(vector.actor.rows, 10, "{text}");

    for q in &r.queries {
        // RLS returns exactly what service_role returns with the explicit filter.
        assert!(q.same_rows, "{}: rows differ\n{text}", q.query.name);
        // Generated policies: the auth call sits in an InitPlan, never in a per-row filter.
        let p = &q.actor.plan;
        assert!(
            p.initplans > 0 && p.auth_in_initplan,
            "{}: no auth InitPlan\n{}",
            q.query.name,
            p.shape
        );
        assert_eq!(
            p.per_row_auth_evals, 0,
            "{}: per-row auth calls {:?}",
            q.query.name, p.per_row_filters
        );
        assert!(q.actor.median_ms > 0.0 && q.service.median_ms > 0.0);
        assert!(q.naive.is_some(), "{}: naive run missing", q.query.name);
    }

    // The vector search reads the chunks through an index, not a sequential scan. (For one
    // user's chunks the planner rightly prefers the btree on document_id plus a sort over the
    // hnsw index, which would filter out nearly every candidate it returns.)
    assert!(
        vector.actor.plan.target_index.is_some(),
        "vector search without an index:\n{}",
        vector.actor.plan.shape
    );

    // The naive policies are caught evaluating auth.uid() / has_role() per row.
    let naive_owner = owner.naive.as_ref().expect("naive run");
    assert!(
        naive_owner.plan.per_row_auth_evals >= rows("conversations").rows,
        "{}",
        naive_owner.plan.shape
    );
    // A plain owner policy written naively (`auth.uid() = user_id`, its index gone) has no
    // InitPlan: the call runs for every row.
    let naive_keys = find(QueryKind::OwnerList, "api_keys")
        .naive
        .as_ref()
        .expect("naive run");
    assert!(
        !naive_keys.plan.auth_in_initplan && naive_keys.plan.per_row_auth_evals > 0,
        "{}",
        naive_keys.plan.shape
    );

    // Both membership forms were measured on the member's query; the other variant too.
    assert!(member.query.uses_membership);
    assert!(member.in_select.is_some() && member.any_array.is_some());
    assert!(r.member_verdict(false).is_some() && r.member_verdict(true).is_some());
    assert!(r.generated_member_form.is_some());
    assert!(r.queries.iter().all(|q| q.without_role_rules.is_some()));

    // JSON carries every query.
    let json: serde_json::Value =
        serde_json::from_str(&bench::report::json(&r)).expect("valid json");
    assert_eq!(
        json["queries"].as_array().map(Vec::len),
        Some(r.queries.len())
    );
}

#[test]
fn a_synthetic_schema_goes_up_and_down_in_one_transaction_each() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_synth_schema"))
        .arg("30")
        .output()
        .expect("run synth_schema");
    assert!(out.status.success());
    let schema = compile("s30.yaml", &String::from_utf8(out.stdout).expect("utf-8"));
    let r = down::run(shared(), &schema).unwrap_or_else(|e| panic!("down bench: {e}"));
    let text = down::human(&r);
    assert_eq!(r.tables, 30, "{text}");
    assert!(r.up.ok && r.up_applied_per_statement.is_none(), "{text}");
    assert!(r.down.ok && r.down_per_statement.is_none(), "{text}");
    assert_eq!(r.down.executed, r.down.statements, "{text}");
    assert_eq!(r.tables_dropped_in_transaction, 30, "{text}");
    // Each dropped table holds several locks until commit (table, indexes, constraints, ...).
    let per_table = r.locks_per_dropped_table.expect("lock probe");
    assert!(per_table > 3.0, "{text}");
    assert!(r.down.locks_held.unwrap_or(0) > 30, "{text}");
    assert!(r.settings.max_locks_per_transaction >= 10, "{text}");
}
