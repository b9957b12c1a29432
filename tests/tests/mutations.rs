//! The harness must catch wrong policies: each test applies a deliberately broken variant of the
//! generated migration (expected outcomes still come from the unmodified schema) and asserts that
//! `schema_pg::harness` reports failures on the table the mutation touched.

use schema_pg::harness::{self, report, HarnessOptions};
use schema_pg::{shared, GrantMode};
use schemac_tests::{committed_migration, committed_migrations, policy_suite, single_migration};

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

/// Every "owner or admin" range condition (`owner >= (select min) and owner <= (select max)`) and
/// both bound helpers, each broken in every way listed below, one mutant per harness run: the
/// harness must notice each on the table the mutation touched or in a scenario (for a helper:
/// anywhere).
#[test]
fn every_owner_or_admin_range_mutant_is_caught() {
    // The committed migration that brings the range and its helpers (a later one); every
    // committed migration is applied, that one mutated.
    let committed = committed_migrations();
    let at = committed
        .iter()
        .position(|f| {
            f.up.contains("create function \"private\".\"owner_min_with_role\"")
        })
        .expect("a committed migration creates the range helpers");
    let up = committed[at].up.clone();
    let blocks: Vec<&str> = up.split("\n\n").collect();
    let min = "(select \"private\".\"owner_min_with_role\"('admin'))";
    let max = "(select \"private\".\"owner_max_with_role\"('admin'))";
    let mut mutants: Vec<(String, String, String)> = Vec::new(); // (name, migration, table)
    for (i, b) in blocks.iter().enumerate() {
        let Some(rest) = b.lines().find_map(|l| l.strip_prefix("create policy \"")) else {
            continue;
        };
        let Some(at) = b.find(&format!(" >= {min} and ")) else {
            continue;
        };
        let table = rest
            .split(" on \"public\".\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("policy names its table")
            .to_string();
        // The owner column is the quoted identifier just before ` >= `.
        let col_start = b[..at].rfind(['(', ' ']).map_or(0, |p| p + 1);
        let col = &b[col_start..at];
        let range = format!("{col} >= {min} and {col} <= {max}");
        assert!(b.contains(&range), "range condition in {b}");
        let edits = [
            ("lower bound dropped", format!("{col} <= {max}")),
            ("upper bound dropped", format!("{col} >= {min}")),
            (
                "bounds swapped",
                format!("{col} >= {max} and {col} <= {min}"),
            ),
            (
                "lower bound exclusive",
                format!("{col} > {min} and {col} <= {max}"),
            ),
            (
                "upper bound exclusive",
                format!("{col} >= {min} and {col} < {max}"),
            ),
            (
                "range replaced by the admin branch only",
                format!("{col} >= {min} and {col} <= {min} and {col} <> (select auth.uid())"),
            ),
        ];
        for (what, to) in edits {
            let mut m: Vec<String> = blocks.iter().map(|s| s.to_string()).collect();
            m[i] = b.replacen(&range, &to, 1);
            mutants.push((format!("{table}: {what}"), m.join("\n\n"), table.clone()));
        }
    }
    assert!(
        mutants.len() >= 4 * 6,
        "expected the range on at least four tables, found {} mutants",
        mutants.len()
    );
    for helper in ["owner_min_with_role", "owner_max_with_role"] {
        let stmt = format!("create function \"private\".\"{helper}\"");
        let bound = if helper.contains("min") {
            "'00000000-0000-0000-0000-000000000000'::uuid"
        } else {
            "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"
        };
        let other = if helper.contains("min") {
            "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"
        } else {
            "'00000000-0000-0000-0000-000000000000'::uuid"
        };
        let edits = [
            (
                "admins get only their own id",
                format!("then {bound}"),
                "then (select auth.uid())".to_string(),
            ),
            (
                "admins get the wrong end of the range",
                format!("then {bound}"),
                format!("then {other}"),
            ),
            (
                "the role is not checked",
                " and \"role\" = $1".to_string(),
                String::new(),
            ),
            (
                "the user is not checked",
                "\"id\" = (select auth.uid()) and ".to_string(),
                String::new(),
            ),
            (
                "everyone is an admin",
                "when exists".to_string(),
                "when true or exists".to_string(),
            ),
            (
                "users get no own id",
                "else (select auth.uid())".to_string(),
                "else null".to_string(),
            ),
        ];
        for (what, from, to) in edits {
            mutants.push((
                format!("{helper}: {what}"),
                mutate(&up, &stmt, &from, &to),
                String::new(),
            ));
        }
    }
    let m = committed_migration();
    let opts = HarnessOptions {
        modes: vec![GrantMode::NoAutoGrant],
        suite: policy_suite(),
        keep_databases: false,
        check_drift: false,
    };
    let mut missed = Vec::new();
    for (name, mutated, table) in &mutants {
        assert_ne!(mutated, &up, "{name}: the mutation changed nothing");
        let mut files = committed.clone();
        files[at].up = mutated.clone();
        let r = harness::run(shared(), &m.lock.schema, &files, &opts)
            .unwrap_or_else(|e| panic!("{name}: harness setup failed: {e}"));
        let caught = r
            .checks
            .iter()
            .any(|c| !c.passed && (table.is_empty() || &c.table == table || c.table.is_empty()));
        if !caught {
            missed.push(name.clone());
        }
    }
    assert!(
        missed.is_empty(),
        "{} of {} mutants not caught: {missed:?}",
        missed.len(),
        mutants.len()
    );
}

/// Mutation score of the generated mutants (`schemac test --mutants`) on the bundled schema: every
/// mutant derived from the schema is killed by the suite, or declared equivalent in
/// tests/policies/ with a reason. A survivor nobody explained fails this test.
#[test]
fn every_generated_mutant_of_the_bundled_schema_is_killed_or_declared_equivalent() {
    let m = committed_migration();
    let suite = policy_suite();
    let mutants = harness::mutants::generate(&m.lock.schema);
    assert!(mutants.len() >= 100, "only {} mutants", mutants.len());
    let r = harness::mutants::run(
        shared(),
        &m.lock.schema,
        &schemac_tests::committed_migrations(),
        &suite,
        GrantMode::NoAutoGrant,
        &mutants,
    )
    .unwrap_or_else(|e| panic!("mutation run failed: {e}"));
    let text = r.human();
    eprintln!("{text}");
    assert!(r.baseline_failures.is_empty(), "{text}");
    assert_eq!(r.invalid(), 0, "{text}");
    assert_eq!(r.wrongly_declared(), 0, "{text}");
    assert_eq!(r.survived(), 0, "unexplained survivors:\n{text}");
    // Every declaration names a mutant that exists (a renamed one must not linger).
    for e in &suite.equivalent {
        assert!(
            mutants.iter().any(|x| x.id == e.mutant),
            "equivalent_mutants names `{}`, which is not generated",
            e.mutant
        );
    }
}

/// The multi-tenant example: every generated mutant killed or declared equivalent.
#[test]
fn every_generated_mutant_of_the_multi_tenant_example_is_killed_or_declared_equivalent() {
    let (ir, migrations, suite) = schemac_tests::saas_example();
    let mutants = harness::mutants::generate(&ir);
    let r = harness::mutants::run(
        shared(),
        &ir,
        &migrations,
        &suite,
        GrantMode::NoAutoGrant,
        &mutants,
    )
    .unwrap_or_else(|e| panic!("mutation run failed: {e}"));
    let text = r.human();
    eprintln!("{text}");
    assert!(r.baseline_failures.is_empty(), "{text}");
    assert_eq!(
        r.invalid() + r.wrongly_declared() + r.survived(),
        0,
        "{text}"
    );
    assert!(r.killed() >= 100, "{text}");
}

/// The same on every feature fixture with policies (migration emitted from the fixture, no policy
/// suite: cells custom SQL decides stay unpinned and are left out of the baseline, and no
/// equivalent mutant is declared). The goal is 95% per fixture; without suites the fixtures
/// score 85.5% overall today (custom-SQL tables lowest), so this is a floor against regressions:
/// 85% overall, 55% per fixture.
#[test]
fn generated_mutants_of_the_fixtures_with_policies_keep_their_score() {
    let mut lines = Vec::new();
    let mut low = Vec::new();
    let mut not_runnable = Vec::new();
    let (mut killed, mut survived) = (0usize, 0usize);
    for path in schemac_tests::case_schemas(10) {
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let mut sources = schema_core::Sources::new();
        sources.add("schema.yaml", text);
        let c = schema_core::compile(&sources);
        let ir = c.ir.expect("fixtures compile");
        if !ir.tables.iter().any(|t| !t.rules.is_empty()) {
            continue;
        }
        let name = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let up = schema_core::emit::up::migration(&ir, &schema_core::emit::EmitOptions::default());
        let migrations = vec![schema_pg::migrate::MigrationFile {
            version: "20240101000000".into(),
            name: "init".into(),
            up,
            down: String::new(),
        }];
        let suite = schema_core::suite::Suite::default();
        let mutants = harness::mutants::generate(&ir);
        let r = match harness::mutants::run(
            shared(),
            &ir,
            &migrations,
            &suite,
            GrantMode::NoAutoGrant,
            &mutants,
        ) {
            Ok(r) => r,
            Err(e) => {
                // The harness cannot build this fixture's data (e.g. a role table without a signup
                // trigger): `schemac test` fails on it the same way. Listed, not scored.
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                not_runnable.push(format!("{name}: {first}"));
                continue;
            }
        };
        let line = format!(
            "{name}: {:.1}% ({} killed, {} survived, {} invalid of {})",
            r.score(),
            r.killed(),
            r.survived(),
            r.invalid(),
            mutants.len()
        );
        killed += r.killed();
        survived += r.survived();
        if r.score() < 55.0 || r.invalid() > 0 || !r.baseline_failures.is_empty() && r.killed() == 0
        {
            low.push(format!("{line}\n{}", r.human()));
        }
        lines.push(line);
    }
    eprintln!(
        "{}\nnot runnable by the harness:\n{}",
        lines.join("\n"),
        not_runnable.join("\n")
    );
    assert!(lines.len() >= 8, "{lines:?} {not_runnable:?}");
    assert!(low.is_empty(), "{}", low.join("\n"));
    let total = 100.0 * killed as f64 / (killed + survived).max(1) as f64;
    eprintln!("fixtures overall: {total:.1}% ({killed} killed, {survived} survived)");
    assert!(
        total >= 85.0,
        "fixtures overall {total:.1}%\n{}",
        lines.join("\n")
    );
}
