//! The harness must catch wrong policies: each test applies a deliberately broken variant of the
//! generated migration (expected outcomes still come from the unmodified schema) and asserts that
//! `schema_pg::harness` reports failures on the table the mutation touched.

use schema_pg::harness::{self, report, HarnessOptions};
use schema_pg::{shared, GrantMode};
use schemac_tests::{committed_migration, policy_suite, single_migration};

/// Replaces `from` by `to` in the statement (blank-line separated block) that starts with `stmt`.
fn mutate(up: &str, stmt: &str, from: &str, to: &str) -> String {
    let blocks: Vec<&str> = up.split("\n\n").collect();
    let mut hits = 0;
    let out: Vec<String> = blocks
        .iter()
        .map(|b| {
            let starts = b.lines().any(|l| l.starts_with(stmt));
            if starts && b.contains(from) {
                hits += 1;
                b.replacen(from, to, 1)
            } else {
                b.to_string()
            }
        })
        .collect();
    assert_eq!(
        hits, 1,
        "mutation must change exactly one statement starting with `{stmt}` containing `{from}`"
    );
    out.join("\n\n")
}

/// Runs the harness on the mutated migration; the report must fail on `table` (or the cascade
/// or scenario named in `table` when it is empty).
fn assert_caught(name: &str, mutated: &str, table: &str) {
    let m = committed_migration();
    assert_ne!(mutated, m.up, "{name}: the mutation changed nothing");
    let opts = HarnessOptions {
        modes: vec![GrantMode::NoAutoGrant],
        suite: policy_suite(),
        keep_databases: false,
        // The behaviour must be caught, not just the difference from the schema.
        check_drift: false,
    };
    let r = harness::run(
        shared(),
        &m.lock.schema,
        &single_migration(&m, mutated),
        &opts,
    )
    .unwrap_or_else(|e| panic!("{name}: harness setup failed: {e}"));
    let failures: Vec<_> = r.checks.iter().filter(|c| !c.passed).collect();
    assert!(
        !failures.is_empty(),
        "{name}: the harness did not notice the mutation\n{}",
        report::human(&r, false)
    );
    assert!(
        failures
            .iter()
            .any(|c| c.table == table || (table.is_empty() && c.table.is_empty())),
        "{name}: failures do not name `{table}`:\n{}",
        report::human(&r, false)
    );
}

#[test]
fn a_policy_widened_to_true_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "create policy \"api_keys_select_authenticated\"",
        "using (\"user_id\" = (select auth.uid()))",
        "using (true)",
    );
    assert_caught("widened select", &m, "api_keys");
}

#[test]
fn an_owner_check_removed_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "create policy \"conversation_members_insert_authenticated\"",
        " where \"user_id\" = (select auth.uid())",
        "",
    );
    assert_caught("owner check removed", &m, "conversation_members");
}

#[test]
fn a_with_check_dropped_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "create policy \"conversations_insert_authenticated\"",
        "with check (\"user_id\" = (select auth.uid()))",
        "with check (true)",
    );
    assert_caught("with check dropped", &m, "conversations");
}

#[test]
fn a_grant_too_broad_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "grant update (\"username\"",
        "grant update (\"username\", \"full_name\", \"avatar_url\") on table",
        "grant update on table",
    );
    assert_caught("grant too broad", &m, "profiles");
}

#[test]
fn a_hidden_column_made_readable_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "grant select (\"id\", \"user_id\", \"name\", \"key_prefix\"",
        "grant select (\"id\", \"user_id\", \"name\", \"key_prefix\", \"created_at\", \"last_used_at\", \"expires_at\", \"revoked_at\") on table",
        "grant select on table",
    );
    assert_caught("key_hash readable", &m, "api_keys");
}

#[test]
fn a_security_definer_helper_ignoring_its_argument_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "create function \"private\".\"has_role\"",
        " and \"role\" = $1",
        "",
    );
    assert_caught("has_role ignores its argument", &m, "profiles");
}

#[test]
fn a_membership_helper_ignoring_the_user_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "create function \"private\".\"conversation_members_conversation_ids\"()",
        "where \"user_id\" = (select auth.uid())",
        "where true",
    );
    assert_caught("member helper ignores the user", &m, "conversations");
}

#[test]
fn rls_left_disabled_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "alter table \"public\".\"documents\" enable row level security;",
        "enable row level security;",
        "disable row level security;",
    );
    assert_caught("rls disabled", &m, "documents");
}

#[test]
fn a_policy_for_the_wrong_role_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "create policy \"user_settings_select_authenticated\"",
        "to \"authenticated\"",
        "to \"anon\"",
    );
    assert_caught(
        "policy for anon instead of authenticated",
        &m,
        "user_settings",
    );
}

#[test]
fn a_missing_cascade_is_caught() {
    let up = committed_migration().up;
    let m = mutate(
        &up,
        "create table \"public\".\"messages\"",
        "references \"public\".\"conversations\" (\"id\") on delete cascade",
        "references \"public\".\"conversations\" (\"id\")",
    );
    assert_caught("cascade removed", &m, "");
}
