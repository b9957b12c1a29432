//! Whole-pipeline fuzzing with a fixed, bounded budget (CI runs it): random schemas with hostile
//! names, free text (comments, policy names) and expressions go through compile and every
//! emitter. Nothing may panic; refused schemas get located diagnostics; for accepted ones the
//! emitted migration must split into the same statements (PostgreSQL's lexer rules, `sql::lex`)
//! as the same schema with every free text replaced by a plain word, and PostgreSQL must apply
//! it. Set SCHEMAC_FUZZ_CASES for a longer run; failures are kept in tests/fuzz_found/ and replayed.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use schema_core::emit::{self, EmitOptions};
use schema_core::source::Sources;
use schema_core::sql::lex;
use schemac_tests::fuzz::{cases, hostile_text};
use schemac_tests::{oracle, platform_db};
use std::cell::RefCell;

/// A YAML double-quoted scalar holding exactly `s`.
fn yq(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20
                || c == '\u{2028}'
                || c == '\u{2029}'
                || c == '\u{85}'
                || c == '\u{feff}' =>
            {
                o.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => prop::sample::select(vec!["notes", "items", "teams", "members", "docs", "user", "select", "order", "t_1"]).prop_map(str::to_string),
        1 => Just("Users".to_string()),
        1 => Just("a\"b".to_string()),
        1 => Just("é".repeat(40)),
        1 => Just("x; drop".to_string()),
        1 => Just("a".repeat(70)),
    ]
}

fn col_name() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => prop::sample::select(vec!["title", "body", "n", "user", "current_role", "owner_id", "role", "tags", "select"]).prop_map(str::to_string),
        1 => Just("Title".to_string()),
        1 => Just("ü".to_string()),
        1 => Just("b\nc".to_string()),
    ]
}

fn col_type() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just("text".to_string()),
        2 => prop::sample::select(vec!["text?", "int", "timestamptz", "varchar(80)", "numeric(10,2)", "boolean"]).prop_map(str::to_string),
        1 => prop::sample::select(vec!["uuid", "jsonb", "text[]", "🙂", "int("]).prop_map(str::to_string),
    ]
}

fn expr_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => oracle_payload().prop_map(|l| format!("id::text <> {l}")),
        2 => oracle_payload().prop_map(|l| format!("owner_id::text = {l} or id is null")),
        2 => Just("owner_id = auth.uid()".to_string()),
        1 => Just("(auth.jwt() ->> 'role') = 'admin'".to_string()),
        1 => Just("char_length(title) < 100".to_string()),
        1 => Just("\"user\" is not null".to_string()),
        1 => Just("user is not null".to_string()),
        1 => hostile_text(1, 6),
    ]
}

fn oracle_payload() -> impl Strategy<Value = String> {
    (hostile_text(1, 6), 0..4u8).prop_map(|(p, k)| match k {
        0 => oracle::standard(&p),
        1 => oracle::escaped(&p),
        2 => oracle::unicode(&p),
        _ => oracle::dollar(&p),
    })
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    ty: String,
    check: Option<String>,
    comment: Option<String>,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    comment: Option<String>,
    cols: Vec<Col>,
    /// (policy name, command, rule kind, expression)
    policies: Vec<(String, &'static str, u8, String)>,
}

fn col() -> impl Strategy<Value = Col> {
    (
        col_name(),
        col_type(),
        prop::option::weighted(0.3, expr_text()),
        prop::option::weighted(0.5, hostile_text(1, 6)),
    )
        .prop_map(|(name, ty, check, comment)| Col {
            name,
            ty,
            check,
            comment,
        })
}

fn table() -> impl Strategy<Value = Table> {
    (
        name(),
        prop::option::weighted(0.6, hostile_text(1, 6)),
        prop::collection::vec(col(), 0..3),
        prop::collection::vec(
            (
                hostile_text(1, 6),
                prop::sample::select(vec!["select", "insert", "update", "delete", "all"]),
                0..3u8,
                expr_text(),
            ),
            0..3,
        ),
    )
        .prop_map(|(name, comment, cols, policies)| Table {
            name,
            comment,
            cols,
            policies,
        })
}

/// The schema as YAML; `plain` replaces every free text by the word `text`.
fn render(tables: &[Table], plain: bool) -> String {
    let ft = |s: &str| if plain { "\"text\"".to_string() } else { yq(s) };
    let mut y = String::from("\u{feff}target: supabase\ntables:\n");
    let mut seen = Vec::new();
    for t in tables {
        if seen.contains(&t.name) {
            continue;
        }
        seen.push(t.name.clone());
        y.push_str(&format!("  {}:\n", yq(&t.name)));
        if let Some(c) = &t.comment {
            y.push_str(&format!("    comment: {}\n", ft(c)));
        }
        y.push_str("    columns:\n      id: { type: uuid, primary_key: true, default: gen_random_uuid() }\n");
        y.push_str("      owner_id: { type: uuid, references: auth.users }\n");
        let mut cseen = vec!["id".to_string(), "owner_id".to_string()];
        for c in &t.cols {
            if cseen.contains(&c.name) {
                continue;
            }
            cseen.push(c.name.clone());
            let mut parts = vec![format!("type: {}", yq(&c.ty))];
            if let Some(k) = &c.check {
                parts.push(format!("check: {}", yq(k)));
            }
            if let Some(k) = &c.comment {
                parts.push(format!("comment: {}", ft(k)));
            }
            y.push_str(&format!(
                "      {}: {{ {} }}\n",
                yq(&c.name),
                parts.join(", ")
            ));
        }
        if !t.policies.is_empty() {
            y.push_str("    policies:\n");
            for (pname, cmd, kind, e) in &t.policies {
                let rule = match kind {
                    0 => "owner: owner_id".to_string(),
                    1 => format!("to: authenticated, using: {}", yq(e)),
                    _ => format!("to: authenticated, using: {}, check: {}", yq(e), yq(e)),
                };
                y.push_str(&format!(
                    "      - {{ name: {}, for: {cmd}, {rule} }}\n",
                    ft(pname)
                ));
            }
        }
    }
    y
}

/// Compiles and emits; `Ok(None)` when refused (with located diagnostics), `Ok(Some(up))`.
fn pipeline(yaml: &str) -> Result<Option<String>, String> {
    let mut sources = Sources::new();
    sources.add("schema.yaml", yaml);
    let c = schema_core::compile(&sources);
    let Some(ir) = c.ir else {
        if !c
            .diagnostics
            .iter()
            .any(|d| d.severity == schema_core::diag::Severity::Error)
        {
            return Err("refused without an error".into());
        }
        // Rendering must not panic either.
        for d in &c.diagnostics {
            let _ = schema_core::render::human(d, &sources);
        }
        return Ok(None);
    };
    let opts = EmitOptions::default();
    let up = emit::up::migration(&ir, &opts);
    let _ = emit::down::migration(&ir, &opts);
    let _ = emit::seed::seed(&ir, &opts);
    let _ = emit::policies_md::document(&ir, &opts);
    let _ = emit::rust::models(&ir, &opts);
    Ok(Some(up))
}

fn shape(sql: &str) -> Result<Vec<String>, String> {
    let stmts = lex::statements(sql).map_err(|e| format!("{e:?}"))?;
    Ok(stmts
        .iter()
        .map(|s| {
            s.iter()
                .take(2)
                .map(|t| format!("{:?}", t.kind))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect())
}

/// Checks one schema and its plain twin: `Ok(true)` when emitted and proven, `Ok(false)` when
/// refused with diagnostics.
fn prove(
    hostile: &str,
    plain: &str,
    client: &mut schema_pg::postgres::Client,
) -> Result<bool, String> {
    let got = std::panic::catch_unwind(|| pipeline(hostile)).map_err(|_| "panic".to_string())?;
    let up = match got? {
        None => return Ok(false),
        Some(up) => up,
    };
    let plain_up = pipeline(plain)?.ok_or("the plain twin was refused")?;
    let (a, b) = (shape(&up)?, shape(&plain_up)?);
    if a != b {
        return Err(format!("free text changed the statements of:\n{up}"));
    }
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    let applied = tx.batch_execute(&up);
    let _ = tx.rollback();
    if let Err(e) = applied {
        return Err(format!(
            "PostgreSQL refused the migration: {}\n{up}",
            schema_pg::error::describe_postgres_error(&e)
        ));
    }
    Ok(true)
}

/// Where every schema the fuzzer ever failed on is kept (and replayed by `found_schemas_stay_fixed`).
fn found_dir() -> std::path::PathBuf {
    schemac_tests::workspace_root().join("tests/fuzz_found")
}

#[test]
fn hostile_schemas_cannot_add_statements() {
    let (_db, client) = platform_db("pipeline_fuzz", schema_pg::GrantMode::NoAutoGrant);
    let client = RefCell::new(client);
    let stats = RefCell::new((0u32, 0u32));
    let mut runner = TestRunner::new(Config {
        cases: cases(150),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(table(), 1..3), |tables| {
        let hostile = render(&tables, false);
        let plain = render(&tables, true);
        match prove(&hostile, &plain, &mut client.borrow_mut()) {
            Ok(true) => stats.borrow_mut().0 += 1,
            Ok(false) => stats.borrow_mut().1 += 1,
            Err(e) => return Err(TestCaseError::fail(e)),
        }
        Ok(())
    });
    if let Err(TestError::Fail(why, tables)) = result {
        let hostile = render(&tables, false);
        let name = &schema_core::lower::short_hash(&hostile);
        let dir = found_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.yaml")), &hostile);
        let _ = std::fs::write(
            dir.join(format!("{name}.plain.yaml")),
            render(&tables, true),
        );
        panic!("{why}\nsaved as tests/fuzz_found/{name}.yaml:\n{hostile}");
    } else if let Err(e) = result {
        panic!("{e}");
    }
    let (ok, refused) = *stats.borrow();
    eprintln!("pipeline fuzz: {ok} schemas emitted, applied and proven; {refused} refused with diagnostics");
    assert!(ok > 0, "the generator produced no valid schema");
}

#[test]
fn found_schemas_stay_fixed() {
    let (_db, mut client) = platform_db("pipeline_found", schema_pg::GrantMode::NoAutoGrant);
    let mut paths: Vec<_> = std::fs::read_dir(found_dir())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    let mut failures = Vec::new();
    for p in paths.iter().filter(|p| {
        let s = p.to_string_lossy();
        s.ends_with(".yaml") && !s.ends_with(".plain.yaml")
    }) {
        let hostile = std::fs::read_to_string(p).expect("read");
        let plain = std::fs::read_to_string(p.with_extension("plain.yaml")).expect("read twin");
        if let Err(e) = prove(&hostile, &plain, &mut client) {
            failures.push(format!("{}: {e}", p.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
