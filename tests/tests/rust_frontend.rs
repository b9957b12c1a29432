//! The Rust front end: the seed schema written in Rust (`tests/rust_schema/*.rs` plus the YAML
//! left next to it) compiles to byte-identical migrations, policies and models as `schema.yaml`,
//! whatever order the files come in; mixing both front ends and declaring a table twice is an
//! error with both places named; and diagnostics point at the Rust tokens at fault.

#[path = "../rust_schema/mod.rs"]
#[allow(dead_code)]
mod rust_schema;

use schema_core::emit::{self, EmitOptions};
use schema_core::syntax::rust::compile_mixed;
use schema_core::{Code, Compilation, SourceId, Sources};
use schemac_tests::workspace_root;

fn read(rel: &str) -> String {
    let p = workspace_root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The Rust schema files, sorted by name (as `schemac --rust <dir>` reads them).
fn rust_files() -> Vec<String> {
    let dir = workspace_root().join("tests/rust_schema");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/rust_schema exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".rs") && n != "mod.rs")
        .collect();
    names.sort();
    names
}

fn compile(yaml: &[(&str, String)], rust: &[(String, String)]) -> (Sources, Compilation) {
    let mut sources = Sources::new();
    let y: Vec<SourceId> = yaml
        .iter()
        .map(|(n, t)| sources.add(*n, t.clone()))
        .collect();
    let r: Vec<SourceId> = rust
        .iter()
        .map(|(n, t)| sources.add(n.clone(), t.clone()))
        .collect();
    let c = compile_mixed(&sources, &y, &r);
    (sources, c)
}

fn rendered(sources: &Sources, c: &Compilation) -> String {
    c.diagnostics
        .iter()
        .map(|d| schema_core::render::gcc(d, sources))
        .collect()
}

/// Everything the generator derives from a schema, by file name.
fn outputs(ir: &schema_core::ir::Schema) -> Vec<(&'static str, String)> {
    let opts = EmitOptions::default();
    vec![
        ("up.sql", emit::up::migration(ir, &opts)),
        ("down.sql", emit::down::migration(ir, &opts)),
        ("policies.md", emit::policies_md::document(ir, &opts)),
        ("models.rs", emit::rust::models(ir, &opts)),
        ("seed.sql", emit::seed::seed(ir, &opts)),
    ]
}

fn rust_sources(order: &[String]) -> Vec<(String, String)> {
    order
        .iter()
        .map(|n| {
            (
                format!("tests/rust_schema/{n}"),
                read(&format!("tests/rust_schema/{n}")),
            )
        })
        .collect()
}

#[test]
fn seed_schema_in_rust_is_byte_identical_to_yaml() {
    let (ys, yc) = compile(&[("schema.yaml", read("schema.yaml"))], &[]);
    assert!(!yc.has_errors(), "{}", rendered(&ys, &yc));
    let expected = outputs(yc.ir.as_ref().expect("ir"));

    let files = rust_files();
    assert!(
        files.len() >= 4,
        "the Rust schema is split over several files: {files:?}"
    );
    let rest = read("tests/rust_schema/schema.yaml");
    assert!(
        !rest.contains("\ntables:") && !rest.contains("\nenums:"),
        "tables and enums come from Rust only"
    );
    // Sorted order, and reversed: declaration order must not matter for tables.
    let mut reversed = files.clone();
    reversed.reverse();
    // Enums keep declaration order, so only the table files move.
    for order in [files.clone(), reversed] {
        let (rs, rc) = compile(
            &[("tests/rust_schema/schema.yaml", rest.clone())],
            &rust_sources(&order),
        );
        assert!(
            rc.diagnostics.is_empty(),
            "{:?}:\n{}",
            order,
            rendered(&rs, &rc)
        );
        let ir = rc.ir.as_ref().expect("ir");
        assert_eq!(
            ir.tables.iter().map(|t| &t.name).collect::<Vec<_>>(),
            yc.ir
                .as_ref()
                .expect("ir")
                .tables
                .iter()
                .map(|t| &t.name)
                .collect::<Vec<_>>(),
            "table order ({order:?})"
        );
        for ((name, want), (_, got)) in expected.iter().zip(outputs(ir)) {
            if *want != got {
                let diff = similar::TextDiff::from_lines(want.as_str(), got.as_str());
                panic!(
                    "{name} differs between schema.yaml and the Rust schema ({order:?}):\n{}",
                    diff.unified_diff().context_radius(2)
                );
            }
        }
        assert_eq!(
            ir,
            yc.ir.as_ref().expect("ir"),
            "the compiled models are equal"
        );
    }
}

#[test]
fn a_table_declared_in_yaml_and_rust_is_an_error_naming_both_places() {
    let rust = "\
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = \"profiles\")]
struct Profile {
    #[schemac(primary_key)]
    id: uuid::Uuid,
}
";
    let (s, c) = compile(
        &[("schema.yaml", read("schema.yaml"))],
        &[("src/models.rs".to_string(), rust.to_string())],
    );
    let text = rendered(&s, &c);
    let dup: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::DuplicateName)
        .collect();
    assert_eq!(dup.len(), 1, "{text}");
    assert!(
        text.contains("src/models.rs:4:29: error: S0007 table `profiles` is declared twice"),
        "{text}"
    );
    assert!(
        text.contains("`profiles` is first declared at schema.yaml:18:3"),
        "{text}"
    );
}

#[test]
fn rust_diagnostics_have_file_positions() {
    let rust = "\
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = \"notes\", timestamp)]
struct Note {
    #[schemac(primary_key)]
    id: uuid::Uuid,
    #[schemac(check = \"char_length(body) <\")]
    body: String,
    #[schemac(references = \"nobody\")]
    owner: u32,
}
";
    let (s, c) = compile(&[], &[("notes.rs".to_string(), rust.to_string())]);
    let text = rendered(&s, &c);
    assert!(
        text.contains("notes.rs:4:37: error: S0002 unknown key `timestamp` in `#[schemac(...)]`"),
        "{text}"
    );
    assert!(text.contains("did you mean `timestamps`?"), "{text}");
    assert!(
        text.contains("notes.rs:11:12: error: S0008 PostgreSQL has no column type for `u32`"),
        "{text}"
    );
    // Parsing stops at the first error stage, so lowering (the bad check) is not reached yet.
    assert!(!text.contains("S0013"), "{text}");
    let fixed = rust
        .replace("timestamp)", "timestamps)")
        .replace("u32", "uuid::Uuid");
    let (s, c) = compile(&[], &[("notes.rs".to_string(), fixed)]);
    let text = rendered(&s, &c);
    assert!(
        text.contains("notes.rs:8:"),
        "the expression error is on its line: {text}"
    );
    assert!(text.contains("S0013"), "{text}");
    assert!(
        text.contains("notes.rs:10:29: error: S0009"),
        "the unknown table is at its string: {text}"
    );
}

#[test]
fn invalid_rust_is_one_diagnostic() {
    let (s, c) = compile(
        &[],
        &[(
            "bad.rs".to_string(),
            "struct X { a: i32 b: i32 }".to_string(),
        )],
    );
    let text = rendered(&s, &c);
    assert_eq!(c.diagnostics.len(), 1, "{text}");
    assert!(text.starts_with("bad.rs:1:"), "{text}");
    assert!(text.contains("S0031 the file is not valid Rust"), "{text}");
}

/// The Rust schema also compiles as Rust: every declaration passes the derive's own checks, and the
/// expansions carry the statements the live example relies on.
#[test]
fn the_rust_schema_compiles_with_the_derives() {
    use rust_schema::{
        api::ApiUsage, conversations::Message, documents::DocumentChunk, enums::MessageRole,
    };
    assert_eq!(Message::TABLE, "messages");
    assert_eq!(MessageRole::SQL_NAME, "message_role");
    assert_eq!(
        ApiUsage::INSERT_SQL,
        "insert into \"public\".\"api_usage\" (\"user_id\", \"api_key_id\", \"model\", \"prompt_tokens\", \"completion_tokens\", \"created_at\") values ($1, $2, $3, $4, $5, $6)",
        "identity always and generated columns are never inserted"
    );
    assert!(DocumentChunk::COLUMNS.contains(&"embedding"));
}
