//! squawk (`--pg-version 18`, an outside linter of PostgreSQL migrations) over every migration of
//! every diff fixture, up and down, including the non-transactional ones: no lock hazard is
//! found except in fixtures that declare the change (`allow_destructive` / `allow_blocking`).
//! squawk is installed by scripts/test.sh (PyPI `squawk-cli`, pinned); `SCHEMAC_SQUAWK` may
//! point at the binary.

use schema_core::diff::{diff, Diff};
use schema_core::{ir, Diagnostics, Sources};
use schemac_tests::workspace_root;
use std::path::{Path, PathBuf};

/// Rules that are not about locks, each with why it does not apply to generated migrations.
const NOT_LOCK_HAZARDS: &[(&str, &str)] = &[
    ("prefer-robust-stmts", "migrations are recorded and run once; `if exists` would hide drift"),
    ("require-statement-timeout", "a statement timeout would abort the validations and batched backfills that make changes live-safe; lock waits are bounded by lock_timeout"),
    ("renaming-column", "renames are declared with `renamed_from` and take a lock for a moment only"),
    ("renaming-table", "renames are declared with `renamed_from` and take a lock for a moment only"),
    ("renaming-object", "renames are declared with `renamed_from` and take a lock for a moment only"),
    ("ban-drop-column", "refused unless declared in allow_destructive, or the down of an added column"),
    ("ban-drop-table", "refused unless declared in allow_destructive, or the down of an added table"),
    ("ban-drop-type", "the down of an added type, or a declared enum change"),
    ("ban-drop-function", "functions are replaced by the schema's own definition"),
    ("ban-drop-schema", "the down of an added schema"),
    ("ban-drop-constraint", "constraints change with the schema; removing one never blocks"),
    ("ban-drop-default", "defaults change with the schema; removing one never blocks"),
    ("ban-drop-not-null", "declared by making the column optional; never blocks"),
    ("prefer-text-field", "column types are the schema's choice"),
    ("prefer-bigint-over-int", "column types are the schema's choice"),
    ("prefer-bigint-over-smallint", "column types are the schema's choice"),
    ("require-enum-value-ordering", "new values go where the schema lists them; appending is that order"),
];

/// Scripts that are blocking by necessity, not by choice: PostgreSQL cannot remove a value from
/// an enum, so the down of `alter type ... add value` rebuilds the type and converts its columns.
const BLOCKING_BY_NECESSITY: &[&str] = &["enum_values.down"];

fn squawk() -> PathBuf {
    let p = std::env::var_os("SCHEMAC_SQUAWK")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".cache/squawk/bin/squawk"));
    assert!(
        p.exists(),
        "squawk not found at {}: run `bash scripts/test.sh` (it installs PyPI squawk-cli into .cache/squawk) or set SCHEMAC_SQUAWK",
        p.display()
    );
    p
}

fn compile(path: &Path) -> ir::Schema {
    let mut sources = Sources::new();
    sources.add(
        path.file_name().expect("name").to_string_lossy(),
        std::fs::read_to_string(path).expect("read"),
    );
    schema_core::compile(&sources)
        .ir
        .unwrap_or_else(|| panic!("{} does not compile", path.display()))
}

/// Every script of a diff, as (file suffix, statements).
fn scripts(d: &Diff) -> Vec<(&'static str, Vec<String>)> {
    let mut v = vec![("up", d.up.clone()), ("down", d.down.clone())];
    for (name, part) in [
        ("enum_values", &d.enum_values),
        ("before", &d.before),
        ("after", &d.after),
    ] {
        if let Some((u, dn)) = part {
            let (us, ds) = match name {
                "enum_values" => ("enum_values.up", "enum_values.down"),
                "before" => ("before.up", "before.down"),
                _ => ("after.up", "after.down"),
            };
            v.push((us, u.clone()));
            v.push((ds, dn.clone()));
        }
    }
    v
}

#[test]
fn squawk_finds_no_lock_hazard_in_any_migration_fixture() {
    let bin = squawk();
    let out_dir = tempfile::tempdir().expect("tempdir");
    // Transactional migrations (schemac migrate and the Supabase CLI wrap each in a transaction)
    // and the ones that run outside a transaction are linted with the matching assumption.
    let (tx_dir, no_tx_dir) = (out_dir.path().join("tx"), out_dir.path().join("no_tx"));
    std::fs::create_dir_all(&tx_dir).expect("mkdir");
    std::fs::create_dir_all(&no_tx_dir).expect("mkdir");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("tests/diff"))
        .expect("tests/diff")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut declared = Vec::new();
    let mut files = 0;
    for dir in &dirs {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        let (before, after) = (
            compile(&dir.join("before.yaml")),
            compile(&dir.join("after.yaml")),
        );
        let mut diags = Diagnostics::default();
        let d = diff(&before, &after, &mut diags);
        assert!(!diags.has_errors(), "{name}: {:?}", diags.into_sorted());
        if !after.hints.allow_destructive.is_empty() || !after.hints.allow_blocking.is_empty() {
            declared.push(name.clone());
        }
        for (suffix, stmts) in scripts(&d) {
            let dir = if suffix.starts_with("before") || suffix.starts_with("after") {
                &no_tx_dir
            } else {
                &tx_dir
            };
            std::fs::write(
                dir.join(format!("{name}.{suffix}.sql")),
                stmts.join("\n\n") + "\n",
            )
            .expect("write");
            files += 1;
        }
    }
    let excluded: Vec<&str> = NOT_LOCK_HAZARDS.iter().map(|(r, _)| *r).collect();
    let run = |dir: &Path, in_tx: bool| {
        let out = std::process::Command::new(&bin)
            .arg("--pg-version")
            .arg("18")
            .arg("--reporter")
            .arg("gcc")
            .arg(if in_tx {
                "--assume-in-transaction"
            } else {
                "--no-assume-in-transaction"
            })
            .arg(format!("--exclude={}", excluded.join(",")))
            .arg(dir.join("*.sql"))
            .current_dir(dir)
            .output()
            .expect("run squawk");
        assert!(
            out.status.code().is_some(),
            "squawk was killed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let text = run(&tx_dir, true) + &run(&no_tx_dir, false);
    let findings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(": warning: ") || l.contains(": error: "))
        .collect();
    let undeclared: Vec<&&str> = findings
        .iter()
        .filter(|l| {
            let file = l.rsplit('/').next().unwrap_or(l);
            !declared.iter().any(|d| file.starts_with(&format!("{d}.")))
                && !BLOCKING_BY_NECESSITY
                    .iter()
                    .any(|s| file.contains(&format!(".{s}.sql")))
        })
        .collect();
    eprintln!(
        "squawk: {} files, {} findings in fixtures that declare the change ({}), {} elsewhere",
        files,
        findings.len() - undeclared.len(),
        declared.join(", "),
        undeclared.len()
    );
    for f in &findings {
        eprintln!("  {f}");
    }
    assert!(files >= 2 * dirs.len(), "every fixture was linted");
    assert!(
        undeclared.is_empty(),
        "squawk found lock hazards in migrations no schema declared:\n{}",
        undeclared
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

/// The oracle itself works: the blocking forms the generator replaced are found.
#[test]
fn squawk_finds_the_blocking_forms() {
    let bin = squawk();
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("naive.sql");
    std::fs::write(
        &f,
        "alter table public.notes add constraint notes_fk foreign key (user_id) references auth.users (id);\n\
         create index notes_title_idx on public.notes (title);\n\
         alter table public.notes alter column title set not null;\n",
    )
    .expect("write");
    let out = std::process::Command::new(&bin)
        .args(["--pg-version", "18", "--reporter", "gcc"])
        .arg(&f)
        .output()
        .expect("run squawk");
    let text = String::from_utf8_lossy(&out.stdout);
    for rule in [
        "require-lock-timeout",
        "adding-foreign-key-constraint",
        "require-concurrent-index-creation",
        "adding-not-nullable-field",
    ] {
        assert!(text.contains(rule), "squawk did not report {rule}:\n{text}");
    }
}
