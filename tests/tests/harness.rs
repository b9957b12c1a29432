//! The policy harness on the bundled schema: the full matrix, column, ownership and cascade checks
//! and the scenarios in tests/policies/, against a live PostgreSQL, in both Supabase grant modes.

use schema_pg::harness::{self, report, HarnessOptions};
use schema_pg::{shared, GrantMode};
use schemac_tests::{committed_migration, committed_ups, policy_suite};

#[test]
fn the_bundled_schema_passes_the_full_matrix_in_both_grant_modes() {
    let m = committed_migration();
    let opts = HarnessOptions {
        modes: vec![GrantMode::NoAutoGrant, GrantMode::LegacyDefaultGrants],
        suite: policy_suite(),
        keep_databases: false,
    };
    // What ships: every committed migration, in order.
    let up = committed_ups().join("\n\n");
    let r = harness::run(shared(), &m.lock.schema, &up, &opts)
        .unwrap_or_else(|e| panic!("harness setup failed: {e}"));
    let text = report::human(&r, false);
    assert_eq!(r.failed(), 0, "{text}");
    // Every table x actor x command in both modes, plus the extra checks.
    let matrix = r.checks.iter().filter(|c| c.group == "matrix").count();
    assert_eq!(matrix, m.lock.schema.tables.len() * 6 * 4 * 2, "{text}");
    assert!(r.checks.iter().any(|c| c.group == "columns"));
    assert!(r.checks.iter().any(|c| c.group == "ownership"));
    assert!(r.checks.iter().any(|c| c.group == "scenario"));
}
