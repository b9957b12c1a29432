//! `schemac lint`: one fixture per check in `tests/lint/*.yaml` (each planting exactly one problem;
//! migration-safety fixtures take their previous schema from `tests/lint/previous/`), rendered
//! findings snapshot-tested; the app schema lints clean; and the live lint finds every planted
//! problem of a hand-written naive database and nothing in the generated migration.

use schema_core::lint::{self, Finding};
use schema_core::{render, Code, Compilation, Diagnostic, Severity, Sources};
use schema_pg::lint_live::{self, LiveOptions, LiveReport};
use schema_pg::GrantMode;
use schemac_tests::{apply, committed_migration, committed_ups, platform_db, workspace_root};
use std::collections::BTreeSet;
use std::path::Path;

/// Codes no schema can trigger, because schemac always generates the safe form; the live test
/// covers them.
const LIVE_ONLY: &[Code] = &[
    Code::LintPolicyRlsDisabled,
    Code::LintMultiplePermissive,
    Code::LintSearchPathMutable,
    Code::LintPolicyToPublic,
    Code::LintNoPrimaryKey,
    Code::LintAuthUsersExposed,
    Code::LintSecurityDefinerView,
];

fn lint_codes() -> Vec<Code> {
    Code::ALL
        .iter()
        .copied()
        .filter(|c| c.id().starts_with('L'))
        .collect()
}

fn compile(name: &str, text: &str) -> (Sources, Compilation) {
    let mut sources = Sources::new();
    sources.add(name, text);
    let c = schema_core::compile(&sources);
    (sources, c)
}

fn compiled(name: &str, text: &str) -> (Sources, Compilation) {
    let (sources, c) = compile(name, text);
    let errors: Vec<&Diagnostic> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name} does not compile: {errors:#?}");
    (sources, c)
}

/// `# error[L0001]: ...` or `# warning[L0008]: ...` on the first line.
fn expected(name: &str, text: &str) -> (Severity, String) {
    let first = text.lines().next().unwrap_or_default();
    for (prefix, sev) in [
        ("# error[", Severity::Error),
        ("# warning[", Severity::Warning),
    ] {
        if let Some((code, _)) = first.strip_prefix(prefix).and_then(|r| r.split_once("]: ")) {
            return (sev, code.to_string());
        }
    }
    panic!("{name}: the first line must be `# error[L00xx]: ...` or `# warning[L00xx]: ...`, found {first:?}")
}

fn rendered(sources: &Sources, diags: &[Diagnostic]) -> String {
    let mut s = String::from("--- human\n");
    for d in diags {
        s.push_str(&render::human(d, sources));
        s.push('\n');
    }
    s.push_str("--- gcc\n");
    for d in diags {
        s.push_str(&render::gcc(d, sources));
    }
    s
}

/// Lints a fixture (against its previous schema, if it has one): (sources, compile diagnostics,
/// lint diagnostics).
fn lint_fixture(path: &Path) -> (String, Sources, Vec<Diagnostic>, Vec<Diagnostic>) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 name")
        .to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let previous_path = path.parent().expect("dir").join("previous").join(&name);
    let previous = previous_path.is_file().then(|| {
        let t = std::fs::read_to_string(&previous_path).expect("read previous");
        let (_, c) = compiled(&format!("previous/{name}"), &t);
        c.ir.expect("previous compiles")
    });
    let (sources, c) = compiled(&name, &text);
    let ir = c.ir.as_ref().expect("compiles");
    let diags = lint::lint_sources(&sources, ir, previous.as_ref());
    (text, sources, c.diagnostics, diags)
}

#[test]
fn fixtures() {
    let mut covered: BTreeSet<&'static str> = BTreeSet::new();
    let mut count = 0;
    insta::glob!("../lint", "*.yaml", |path| {
        count += 1;
        let (text, sources, compile_diags, diags) = lint_fixture(path);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (severity, code) = expected(&name, &text);
        assert_eq!(
            diags.len(),
            1,
            "{name}: expected exactly one lint finding, got {diags:#?}"
        );
        let d = &diags[0];
        assert_eq!(d.code.id(), code, "{name}: wrong code: {d:#?}");
        assert_eq!(d.severity, severity, "{name}: wrong severity: {d:#?}");
        assert!(
            d.span.line > 0 && d.span.col > 0,
            "{name}: finding without a position: {d:#?}"
        );
        assert!(
            d.help.as_deref().is_some_and(|h| !h.trim().is_empty()),
            "{name}: finding without help: {d:#?}"
        );
        assert!(
            d.path.starts_with("tables.")
                || d.path.starts_with("functions.")
                || d.path.starts_with("extensions"),
            "{name}: odd path {:?}",
            d.path
        );
        covered.insert(d.code.id());
        let mut all = compile_diags.clone();
        all.extend(diags.iter().cloned());
        insta::assert_snapshot!("findings", rendered(&sources, &all));
    });
    assert!(count >= 20, "only {count} fixtures in tests/lint");
    // Every lint code a schema can trigger has a fixture.
    for c in lint_codes() {
        if !LIVE_ONLY.contains(&c) {
            assert!(
                covered.contains(c.id()),
                "no fixture in tests/lint plants {} ({})",
                c.id(),
                c.title()
            );
        }
    }
}

/// The fixture checks can fail: with the planted problem removed, the same schema lints clean.
#[test]
fn fixing_the_planted_problem_silences_the_finding() {
    let root = workspace_root().join("tests/lint");
    let cases = [
        (
            "duplicate_index.yaml",
            "      - { name: notes_by_user, columns: [user_id, created_at] }\n",
            "",
        ),
        (
            "per_row_function_call.yaml",
            "team_id = private.current_team()",
            "team_id = (select private.current_team())",
        ),
        (
            "always_true_insert.yaml",
            "authenticated: true",
            "owner: user_id",
        ),
        (
            "unindexed_foreign_key.yaml",
            "[team_id, title]",
            "[team_id, user_id, title]",
        ),
        (
            "definer_function_executable.yaml",
            "    grant: [authenticated]\n",
            "    grant: [authenticated]\n    expose_definer: true\n",
        ),
        (
            "fkey_to_auth_unique.yaml",
            "phone: { type: text, references: \"auth.users(phone)\", on_delete: cascade }",
            "user_id: { type: uuid, references: \"auth.users(id)\", on_delete: cascade }",
        ),
        (
            "sensitive_columns_exposed.yaml",
            "for: select, authenticated: true",
            "for: select, owner: owner_id",
        ),
        (
            "volatile_function_in_policy.yaml",
            "    security: definer\n",
            "    security: definer\n    volatility: stable\n",
        ),
    ];
    for (file, from, to) in cases {
        let text = std::fs::read_to_string(root.join(file)).expect("fixture");
        assert!(text.contains(from), "{file} no longer contains {from:?}");
        let fixed = text.replace(from, to);
        let (sources, c) = compiled(file, &fixed);
        let diags = lint::lint_sources(&sources, c.ir.as_ref().expect("ir"), None);
        assert!(diags.is_empty(), "{file} with the fix: {diags:#?}");
    }
}

#[test]
fn app_schema_lints_clean() {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("schema.yaml")).expect("schema.yaml");
    let (sources, c) = compiled("schema.yaml", &text);
    let ir = c.ir.as_ref().expect("compiles");
    let alone: Vec<Finding> = lint::lint(ir, None);
    assert!(alone.is_empty(), "schema.yaml: {alone:#?}");
    // Against the committed lock (what `schemac generate` does): still nothing.
    let lock = committed_migration().lock;
    let diags = lint::lint_sources(&sources, ir, Some(&lock.schema));
    assert!(diags.is_empty(), "schema.yaml against its lock: {diags:#?}");
}

/// Migration-safety checks only look at what changed: a schema against itself is clean, and every
/// migration fixture is clean without its previous schema.
#[test]
fn migration_checks_need_a_change() {
    let dir = workspace_root().join("tests/lint/previous");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/lint/previous") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let prev = std::fs::read_to_string(&path).expect("read");
        let (_, pc) = compiled(&name, &prev);
        let prev_ir = pc.ir.expect("ir");
        assert!(
            lint::lint(&prev_ir, Some(&prev_ir)).is_empty(),
            "{name} against itself"
        );
        let new = std::fs::read_to_string(dir.parent().unwrap().join(&name)).expect("fixture");
        let (_, nc) = compiled(&name, &new);
        let found = lint::lint(nc.ir.as_ref().expect("ir"), None);
        assert!(
            found.is_empty(),
            "{name} without its previous schema: {found:#?}"
        );
        n += 1;
    }
    assert!(n >= 8, "only {n} migration fixtures");
}

// ---------------------------------------------------------------------------------------------
// Live
// ---------------------------------------------------------------------------------------------

fn live_text(r: &LiveReport) -> String {
    rendered(&r.sources, &r.diagnostics)
}

/// The findings as `object code path` lines, to look for planted problems.
fn live_lines(r: &LiveReport) -> Vec<String> {
    r.diagnostics
        .iter()
        .map(|d| {
            format!(
                "{} {} {}",
                r.sources.get(d.span.source).name,
                d.code.id(),
                d.path
            )
        })
        .collect()
}

#[test]
fn live_lint_finds_the_planted_problems_of_a_naive_database() {
    let (db, mut pg) = platform_db("lint_naive", GrantMode::LegacyDefaultGrants);
    let sql = std::fs::read_to_string(workspace_root().join("tests/lint/live/naive.sql"))
        .expect("naive.sql");
    apply(&mut pg, "naive schema", &sql);
    // An extension in public needs the superuser (like on Supabase, where the dashboard does it).
    let mut admin = db.connect_admin().expect("admin");
    apply(
        &mut admin,
        "extension",
        "create extension pg_trgm schema public",
    );
    let report = lint_live::lint_database(&mut pg, &LiveOptions::default()).expect("lint");
    let lines = live_lines(&report);
    let text = live_text(&report);
    let expect = [
        // seed-task.md: per-row auth.uid(), no `to`, no indexes.
        ("database:public.conversations L0006 policy \"Users can view their own conversations\"", Severity::Warning),
        ("database:public.conversations L0013 policy \"Users can view their own conversations\"", Severity::Warning),
        ("database:public.conversations L0008 foreign key conversations_owner_id_fkey", Severity::Warning),
        ("database:public.conversations L0009 column owner_id", Severity::Warning),
        ("database:public.messages L0008 foreign key messages_conversation_id_fkey", Severity::Warning),
        ("database:public.messages L0008 foreign key messages_sender_id_fkey", Severity::Warning),
        ("database:public.messages L0009 column conversation_id", Severity::Warning),
        ("database:public.messages L0009 column sender_id", Severity::Warning),
        ("database:public.messages L0006 policy \"Users can view messages of their conversations\"", Severity::Warning),
        ("database:public.documents L0009 column owner_id", Severity::Warning),
        ("database:public.document_conversation_links L0008 foreign key document_conversation_links_conversation_id_fkey", Severity::Warning),
        // Legacy default grants: insert and delete on profiles without a policy.
        ("database:public.profiles L0003 table public.profiles", Severity::Warning),
        // PLANTED.
        ("database:public.api_usage L0001 table public.api_usage", Severity::Error),
        ("database:public.api_usage L0002 table public.api_usage", Severity::Error),
        ("database:public.feedback L0004 policy \"Anyone can send feedback\"", Severity::Error),
        ("database:public.documents L0005 policy \"Beta testers can view all documents\"", Severity::Error),
        ("database:public.documents L0007 policy \"Beta testers can view all documents\"", Severity::Warning),
        ("database:public.profiles L0006 policy \"Admins can view all profiles\"", Severity::Warning),
        ("database:public.profiles L0007 policy \"Admins can view all profiles\"", Severity::Warning),
        ("database:public.is_admin L0012 function public.is_admin()", Severity::Warning),
        ("database:public.is_admin L0011 function public.is_admin()", Severity::Warning),
        ("database:public.handle_new_user L0011 function public.handle_new_user()", Severity::Error),
        ("database:public.messages L0010 index messages_created_idx", Severity::Warning),
        ("database:extension.pg_trgm L0014 extension pg_trgm", Severity::Warning),
        ("database:public.promote L0019 function public.promote(uid uuid)", Severity::Error),
        ("database:public.event_log L0020 table public.event_log", Severity::Warning),
        ("database:public.sms_contacts L0021 foreign key sms_contacts_phone_fkey", Severity::Error),
        ("database:public.legacy_keys L0022 table public.legacy_keys", Severity::Error),
        ("database:public.user_emails L0023 view public.user_emails", Severity::Error),
        ("database:public.user_emails L0024 view public.user_emails", Severity::Error),
        ("database:public.recent_feedback L0024 view public.recent_feedback", Severity::Error),
    ];
    let mut seen_codes = BTreeSet::new();
    for (line, severity) in expect {
        let i = lines.iter().position(|l| l == line).unwrap_or_else(|| {
            panic!("the live lint did not report `{line}`; it reported:\n{text}")
        });
        assert_eq!(report.diagnostics[i].severity, severity, "{line}");
        seen_codes.insert(report.diagnostics[i].code);
    }
    // Every lint code that applies to a database is exercised here.
    for c in lint_codes() {
        let migration_only = matches!(
            c,
            Code::LintIndexNotConcurrent
                | Code::LintTableRewrite
                | Code::LintNotNullExisting
                | Code::LintConstraintValidation
        );
        if !migration_only {
            assert!(
                seen_codes.contains(&c),
                "the naive database does not exercise {}",
                c.id()
            );
        }
    }
    for c in LIVE_ONLY {
        assert!(seen_codes.contains(c));
    }
    // Indexed columns are not reported: the primary key of profiles covers `id`.
    assert!(
        !lines.iter().any(|l| l.contains("public.profiles L0009")),
        "{text}"
    );
    insta::assert_snapshot!("live_naive", text);
}

#[test]
fn live_lint_of_the_generated_migration_is_clean() {
    let m = committed_migration();
    // What the schema says the API roles may execute (`expose_definer: true`).
    let text = std::fs::read_to_string(workspace_root().join("schema.yaml")).expect("schema.yaml");
    let (_, c) = compiled("schema.yaml", &text);
    let opts = LiveOptions {
        exposed_definers: c
            .ir
            .expect("compiles")
            .hints
            .exposed_definers
            .into_iter()
            .map(|(_, name)| name)
            .collect(),
        ..LiveOptions::default()
    };
    assert_eq!(opts.exposed_definers, ["create_api_key"]);
    for (mode, label) in [
        (GrantMode::NoAutoGrant, "lint_generated"),
        (GrantMode::LegacyDefaultGrants, "lint_generated_legacy"),
    ] {
        let (_db, mut pg) = platform_db(label, mode);
        for up in committed_ups() {
            apply(&mut pg, "up migration", &up);
        }
        apply(&mut pg, "seed", &m.seed);
        let report = lint_live::lint_database(&mut pg, &opts).expect("lint");
        assert!(
            report.tables >= 9,
            "the migration created the app tables: {}",
            report.tables
        );
        assert!(
            report.diagnostics.is_empty(),
            "the generated migration is not lint-clean ({label}):\n{}",
            live_text(&report)
        );
    }
}

/// L0011 reports a `security definer` function whose search_path leaves `pg_temp` out (searched
/// first for tables and types): the functions of the first committed migration (written with
/// `search_path = ''`) are reported until the hardening migration replaces them.
#[test]
fn live_lint_reports_definer_functions_shadowable_through_pg_temp() {
    let ups = committed_ups();
    assert!(ups.len() >= 2, "the hardening migration is committed");
    let (_db, mut pg) = platform_db("lint_pg_temp", GrantMode::NoAutoGrant);
    apply(&mut pg, "first migration", &ups[0]);
    let report = lint_live::lint_database(&mut pg, &LiveOptions::default()).expect("lint");
    let shadowable: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::LintSearchPathMutable && d.severity == Severity::Error)
        .collect();
    assert!(
        shadowable.len() >= 5 && shadowable.iter().all(|d| d.message.contains("pg_temp")),
        "{}",
        live_text(&report)
    );
    for up in &ups[1..] {
        apply(&mut pg, "later migration", up);
    }
    let report = lint_live::lint_database(&mut pg, &LiveOptions::default()).expect("lint");
    assert!(
        !report
            .diagnostics
            .iter()
            .any(|d| d.code == Code::LintSearchPathMutable),
        "{}",
        live_text(&report)
    );
}
