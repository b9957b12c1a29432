//! The policy harness on the bundled schema: the full matrix, column, ownership and cascade checks
//! and the scenarios in tests/policies/, against a live PostgreSQL, in both Supabase grant modes.

use schema_pg::harness::{self, report, HarnessOptions};
use schema_pg::{shared, GrantMode};
use schemac_tests::{committed_migration, committed_migrations, policy_suite};

#[test]
fn the_bundled_schema_passes_the_full_matrix_in_both_grant_modes() {
    let m = committed_migration();
    let opts = HarnessOptions {
        modes: vec![GrantMode::NoAutoGrant, GrantMode::LegacyDefaultGrants],
        suite: policy_suite(),
        keep_databases: false,
        check_drift: true,
    };
    let r = harness::run(shared(), &m.lock.schema, &committed_migrations(), &opts)
        .unwrap_or_else(|e| panic!("harness setup failed: {e}"));
    let text = report::human(&r, false);
    assert_eq!(r.failed(), 0, "{text}");
    // Every table x actor x command in both modes, plus the extra checks.
    let matrix = r.checks.iter().filter(|c| c.group == "matrix").count();
    assert_eq!(matrix, m.lock.schema.tables.len() * 6 * 4 * 2, "{text}");
    assert!(r.checks.iter().any(|c| c.group == "columns"));
    assert!(r.checks.iter().any(|c| c.group == "ownership"));
    assert!(r.checks.iter().any(|c| c.group == "scenario"));
    assert_eq!(
        r.checks.iter().filter(|c| c.group == "drift").count(),
        2,
        "one passing drift check per mode: {text}"
    );
}

#[test]
fn the_multi_tenant_example_passes_in_both_grant_modes() {
    let (ir, migrations, suite) = schemac_tests::saas_example();
    let opts = HarnessOptions {
        modes: vec![GrantMode::NoAutoGrant, GrantMode::LegacyDefaultGrants],
        suite,
        keep_databases: false,
        check_drift: true,
    };
    let r = harness::run(shared(), &ir, &migrations, &opts)
        .unwrap_or_else(|e| panic!("harness setup failed: {e}"));
    let text = report::human(&r, false);
    assert_eq!(r.failed(), 0, "{text}");
    for group in [
        "drift",
        "matrix",
        "unmasked",
        "privileges",
        "ownership",
        "postgrest",
        "scenario",
    ] {
        assert!(
            r.checks.iter().any(|c| c.group == group),
            "no {group} check: {text}"
        );
    }
}

/// "Write allowed, returned row refused": an organisation its creator may insert but only members
/// may read. The model says `.insert().select()` is refused while the plain insert is allowed,
/// policies.md says so, and PostgreSQL agrees (the postgrest checks pass).
#[test]
fn insert_returning_a_row_the_writer_cannot_read_is_refused_as_modelled() {
    let yaml = "tables:\n  orgs:\n    columns:\n      id: { type: uuid, primary_key: true, default: gen_random_uuid() }\n      \
                name: text\n      created_by: { type: uuid, default: auth.uid(), references: auth.users, on_delete: cascade }\n    \
                policies:\n      - { for: select, member: { through: org_members, key: org_id } }\n      \
                - { for: insert, owner: created_by }\n    grants:\n      authenticated: { insert: [name] }\n  \
                org_members:\n    columns:\n      org_id: { type: uuid, references: orgs, on_delete: cascade }\n      \
                user_id: { type: uuid, references: auth.users, on_delete: cascade }\n    primary_key: [org_id, user_id]\n    \
                policies:\n      - { for: select, owner: user_id }\n";
    let mut sources = schema_core::Sources::new();
    sources.add("schema.yaml", yaml.to_string());
    let c = schema_core::compile(&sources);
    let ir = c.ir.unwrap_or_else(|| panic!("{:#?}", c.diagnostics));
    let orgs = &ir.tables.iter().find(|t| t.name == "orgs").expect("orgs");
    use schema_core::emit::access::{self, Actor, Shape, ShapeOutcome};
    use schema_core::ir::Command;
    assert_eq!(
        access::shape_outcome(&ir, orgs, Actor::Owner, Command::Insert, Shape::Returning),
        Some(ShapeOutcome::ReturnedRowRefused)
    );
    let md = schema_core::emit::policies_md::document(&ir, &Default::default());
    assert!(
        md.contains("Write allowed, returned row refused: owner insert"),
        "{md}"
    );
    let up = schema_core::emit::up::migration(&ir, &Default::default());
    let migrations = vec![schema_pg::migrate::MigrationFile {
        version: "20240101000000".into(),
        name: "init".into(),
        up,
        down: String::new(),
    }];
    let opts = HarnessOptions {
        modes: vec![GrantMode::NoAutoGrant],
        suite: Default::default(),
        keep_databases: false,
        check_drift: true,
    };
    let r = harness::run(shared(), &ir, &migrations, &opts)
        .unwrap_or_else(|e| panic!("harness setup failed: {e}"));
    let text = report::human(&r, true);
    assert_eq!(r.failed(), 0, "{text}");
    let c = r
        .checks
        .iter()
        .find(|c| {
            c.group == "postgrest"
                && c.table == "orgs"
                && c.actor == "owner"
                && c.op.starts_with("insert ... returning")
        })
        .unwrap_or_else(|| panic!("no insert-returning check: {text}"));
    assert_eq!(
        (c.expected.as_str(), c.actual.as_str()),
        ("refused", "refused"),
        "{text}"
    );
    let plain = r
        .checks
        .iter()
        .find(|c| {
            c.group == "matrix" && c.table == "orgs" && c.actor == "owner" && c.op == "insert"
        })
        .expect("matrix insert");
    assert_eq!(plain.actual, "allowed", "{text}");
}
