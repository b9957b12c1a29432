//! Black-box tests of `schemac lint` and of the lint step of `schemac generate`: exit codes,
//! `--deny-warnings`, the three formats, `--lock`, and `--database-url` on a live database.

use schema_pg::{install_supabase_platform, shared, GrantMode, TestDatabase};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("schema-cli has a parent")
        .to_path_buf()
}

fn schemac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schemac"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("run schemac")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("schemac exited normally")
}

#[test]
fn the_app_schema_lints_clean() {
    let o = schemac(&["lint", "schema.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("lint: no findings in "),
        "{}",
        stderr(&o)
    );
    let o = schemac(&["lint", "schema.yaml", "--deny-warnings"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn errors_fail_and_warnings_fail_only_when_denied() {
    let o = schemac(&["lint", "tests/lint/rls_disabled_exposed.yaml"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("error[L0001]"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error: 1 error, 1 warning"),
        "{}",
        stderr(&o)
    );

    let o = schemac(&["lint", "tests/lint/duplicate_index.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning[L0010]"), "{}", stderr(&o));
    let o = schemac(&["lint", "tests/lint/duplicate_index.yaml", "--deny-warnings"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

#[test]
fn gcc_and_json_formats() {
    let o = schemac(&["lint", "tests/lint/duplicate_index.yaml", "--format", "gcc"]);
    let err = stderr(&o);
    assert!(
        err.starts_with("tests/lint/duplicate_index.yaml:9:9: warning: L0010 "),
        "{err}"
    );
    let o = schemac(&[
        "lint",
        "tests/lint/per_row_function_call.yaml",
        "--format",
        "json",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&stderr(&o)).unwrap_or_else(|e| panic!("not JSON ({e}): {o:?}"));
    let items = v.as_array().expect("array");
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["code"], "L0006");
    assert_eq!(items[0]["severity"], "warning");
    assert_eq!(items[0]["line"], 27);
    assert_eq!(items[0]["path"], "tables.documents.policies[0].using");
}

#[test]
fn migration_checks_use_the_lock_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("generated");
    let out_s = out.to_str().expect("utf-8");
    let o = schemac(&[
        "generate",
        "tests/lint/previous/column_type_rewrite.yaml",
        "--out",
        out_s,
        "--version",
        "20240101000000",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lock = out.join("schema.lock.json");
    let lock_s = lock.to_str().expect("utf-8");
    let o = schemac(&[
        "lint",
        "tests/lint/column_type_rewrite.yaml",
        "--lock",
        lock_s,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning[L0016]"), "{}", stderr(&o));
    // Without the lock there is no previous schema, so no migration finding.
    let o = schemac(&["lint", "tests/lint/column_type_rewrite.yaml"]);
    assert!(!stderr(&o).contains("L0016"), "{}", stderr(&o));
    // `generate` lints the change against its own lock and prints the warning, then writes.
    let o = schemac(&[
        "generate",
        "tests/lint/column_type_rewrite.yaml",
        "--out",
        out_s,
        "--version",
        "20240102000000",
    ]);
    assert!(stderr(&o).contains("warning[L0016]"), "{}", stderr(&o));
}

#[test]
fn generate_prints_warnings_and_stops_on_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("gen");
    let out_s = out.to_str().expect("utf-8");
    let o = schemac(&[
        "generate",
        "tests/lint/duplicate_index.yaml",
        "--out",
        out_s,
        "--version",
        "20240101000000",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning[L0010]"), "{}", stderr(&o));
    assert!(out.join("schema.lock.json").is_file());

    let out2 = dir.path().join("gen2");
    let o = schemac(&[
        "generate",
        "tests/lint/always_true_insert.yaml",
        "--out",
        out2.to_str().expect("utf-8"),
        "--version",
        "20240101000000",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("error[L0004]"), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was written"), "{}", stderr(&o));
    assert!(!out2.exists(), "generate wrote files despite a lint error");
}

#[test]
fn database_url_reports_catalog_findings() {
    let db = TestDatabase::create(shared(), "lint_cli").expect("create database");
    let mut admin = db.connect_admin().expect("connect");
    install_supabase_platform(&mut admin, GrantMode::NoAutoGrant).expect("platform");
    let mut pg = db.connect_as("postgres").expect("connect as postgres");
    pg.batch_execute(
        "create table public.notes (id bigint primary key, owner_id uuid references auth.users(id));
         grant select on public.notes to authenticated;",
    )
    .expect("schema");
    let url = db.url_for("postgres");
    let o = schemac(&["lint", "--database-url", &url, "--format", "gcc"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "database:public.notes: error: L0001 row level security is disabled on `public.notes`"
        ),
        "{err}"
    );
    assert!(
        err.contains("database:public.notes: warning: L0008 foreign key `notes_owner_id_fkey`"),
        "{err}"
    );
    pg.batch_execute(
        "alter table public.notes enable row level security;
         create index on public.notes (owner_id);
         create policy notes_read on public.notes for select to authenticated
           using (owner_id = (select auth.uid()));",
    )
    .expect("fix");
    let o = schemac(&["lint", "--database-url", &url]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("lint: no findings in 1 table"),
        "{}",
        stderr(&o)
    );
}
