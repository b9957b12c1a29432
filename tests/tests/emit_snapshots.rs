//! Snapshot suite: every fixture in `tests/cases/*/schema.yaml` and the app's `schema.yaml` compiled and
//! emitted (up migration, down script, seed, policies.md, Rust models, warnings), plus determinism
//! and output-hygiene checks over every emitted text.

use schema_core::emit::{self, EmitOptions};
use schema_core::{ir, render, Severity, Sources};
use std::path::{Path, PathBuf};

/// A compiled fixture: the model and its warnings rendered as the CLI shows them.
struct Compiled {
    schema: ir::Schema,
    warnings: String,
}

/// Compiles one schema file; panics with every rendered diagnostic if there is an error.
fn compile(path: &Path) -> Compiled {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut sources = Sources::new();
    sources.add("schema.yaml", text);
    let c = schema_core::compile(&sources);
    let rendered: String = c
        .diagnostics
        .iter()
        .map(|d| render::human(d, &sources))
        .collect();
    assert!(
        !c.has_errors(),
        "{} does not compile:\n{rendered}",
        path.display()
    );
    let Some(schema) = c.ir else {
        panic!(
            "{} compiled without errors but produced no model:\n{rendered}",
            path.display()
        )
    };
    assert!(c
        .diagnostics
        .iter()
        .all(|d| d.severity == Severity::Warning));
    let warnings = if rendered.is_empty() {
        "no diagnostics\n".to_string()
    } else {
        rendered
    };
    Compiled { schema, warnings }
}

/// The five emitted texts of a schema, with the name of each.
fn emit_all(schema: &ir::Schema) -> Vec<(&'static str, String)> {
    let opts = EmitOptions::default();
    vec![
        ("up", emit::up::migration(schema, &opts)),
        ("down", emit::down::migration(schema, &opts)),
        ("seed", emit::seed::seed(schema, &opts)),
        ("policies_md", emit::policies_md::document(schema, &opts)),
        ("models", emit::rust::models(schema, &opts)),
    ]
}

/// Every fixture path, sorted (the glob in `fixtures` snapshots the same set).
fn fixture_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path().join("schema.yaml"))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 23,
        "expected at least 23 fixtures in {}, found {}",
        dir.display(),
        paths.len()
    );
    paths
}

/// Every schema under test: the fixtures and the app's `schema.yaml`.
fn all_schema_paths() -> Vec<PathBuf> {
    let mut v = fixture_paths();
    v.push(schemac_tests::workspace_root().join("schema.yaml"));
    v
}

#[test]
fn fixtures() {
    insta::glob!("../cases", "*/schema.yaml", |path| {
        let c = compile(path);
        for (name, text) in emit_all(&c.schema) {
            insta::assert_snapshot!(name, text);
        }
        insta::assert_snapshot!("warnings", c.warnings);
    });
}

#[test]
fn app_schema() {
    let c = compile(&schemac_tests::workspace_root().join("schema.yaml"));
    for (name, text) in emit_all(&c.schema) {
        insta::assert_snapshot!(format!("app_schema_{name}"), text);
    }
    insta::assert_snapshot!("app_schema_warnings", c.warnings);
}

#[test]
fn emitting_twice_gives_identical_bytes() {
    for path in all_schema_paths() {
        let first = emit_all(&compile(&path).schema);
        let second = emit_all(&compile(&path).schema);
        for ((name, a), (_, b)) in first.iter().zip(&second) {
            assert!(
                a == b,
                "{} emits a different `{name}` on the second run",
                path.display()
            );
        }
        // The same model emitted twice must also agree (no state carried between calls).
        let c = compile(&path);
        let third = emit_all(&c.schema);
        let fourth = emit_all(&c.schema);
        assert_eq!(
            third,
            fourth,
            "{} emits differently from one model",
            path.display()
        );
        assert_eq!(
            first,
            third,
            "{} emits differently after recompiling",
            path.display()
        );
    }
}

/// Problems with the shape of one emitted text (empty when it is clean).
fn hygiene_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.ends_with('\n') {
        problems.push("does not end with a newline".to_string());
    }
    if text.ends_with("\n\n") {
        problems.push("ends with more than one newline".to_string());
    }
    if text.contains('\r') {
        problems.push("contains a carriage return".to_string());
    }
    for (i, line) in text.lines().enumerate() {
        if line != line.trim_end() {
            problems.push(format!("line {} has trailing whitespace: {line:?}", i + 1));
        }
    }
    let first = text.lines().next().unwrap_or("");
    if !first.contains("@generated by schemac from schema.yaml. Do not edit.") {
        problems.push(format!(
            "does not start with the @generated header, but with {first:?}"
        ));
    }
    problems
}

#[test]
fn hygiene_check_catches_bad_text() {
    assert!(hygiene_problems(
        "-- @generated by schemac from schema.yaml. Do not edit.\nselect 1;\n"
    )
    .is_empty());
    assert_eq!(
        hygiene_problems("-- @generated by schemac from schema.yaml. Do not edit.\nselect 1;")
            .len(),
        1
    );
    assert_eq!(
        hygiene_problems("-- @generated by schemac from schema.yaml. Do not edit.\n\n").len(),
        1
    );
    assert_eq!(
        hygiene_problems("-- @generated by schemac from schema.yaml. Do not edit.\r\nx\n").len(),
        1
    );
    assert_eq!(
        hygiene_problems("-- @generated by schemac from schema.yaml. Do not edit.\nx \n").len(),
        1
    );
    assert_eq!(hygiene_problems("select 1;\n").len(), 1);
}

#[test]
fn emitted_text_is_clean() {
    let mut failures = Vec::new();
    for path in all_schema_paths() {
        for (name, text) in emit_all(&compile(&path).schema) {
            for p in hygiene_problems(&text) {
                failures.push(format!("{} `{name}`: {p}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "emitted text is not clean:\n{}",
        failures.join("\n")
    );
}
