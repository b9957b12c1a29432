//! Black-box tests of the `schemac` binary: exit codes, what it prints, and what it writes (or not).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VERSION: &str = "20240101000000";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("schema-cli has a parent")
        .to_path_buf()
}

/// Runs `schemac args...` in `cwd`.
fn schemac(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_schemac"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run schemac")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("schemac exited normally")
}

/// Every file under `dir`, by path relative to it, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .expect("under base")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A bad fixture from the error suite (one unknown policy column at 9:61).
fn bad_schema() -> PathBuf {
    workspace_root().join("tests/errors/policy_unknown_column.yaml")
}

#[test]
fn validate_accepts_the_app_schema() {
    let o = schemac(&workspace_root(), &["validate", "schema.yaml"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}

#[test]
fn committed_generated_tree_is_up_to_date() {
    let o = schemac(&workspace_root(), &["generate", "--check"]);
    assert_eq!(
        code(&o),
        0,
        "generated/ is stale; run `cargo run -p schema-cli -- generate`:\n{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("is up to date"), "{}", stderr(&o));
}

#[test]
fn generate_is_deterministic_and_check_passes_on_its_output() {
    let root = workspace_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let o = schemac(
            &root,
            &[
                "generate",
                "schema.yaml",
                "--out",
                path_str(out),
                "--version",
                VERSION,
            ],
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let (ta, tb) = (tree(&a), tree(&b));
    assert!(
        ta.contains_key("schema.lock.json") && ta.contains_key("policies.md"),
        "{:?}",
        ta.keys()
    );
    assert!(
        ta.contains_key(&format!("migrations/{VERSION}_init.sql")),
        "{:?}",
        ta.keys()
    );
    assert!(
        ta.contains_key(&format!("down/{VERSION}_init.sql")),
        "{:?}",
        ta.keys()
    );
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (path, bytes) in &ta {
        assert!(bytes == &tb[path], "{path} differs between two runs");
    }
    // A second run into the same directory changes nothing (the lock keeps the version).
    let o = schemac(&root, &["generate", "schema.yaml", "--out", path_str(&a)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote 0 of"), "{}", stderr(&o));
    assert_eq!(tree(&a), ta);
    let o = schemac(
        &root,
        &["generate", "schema.yaml", "--out", path_str(&a), "--check"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn check_reports_an_edited_file_with_a_diff() {
    let root = workspace_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("generated");
    let o = schemac(
        &root,
        &[
            "generate",
            "schema.yaml",
            "--out",
            path_str(&out),
            "--version",
            VERSION,
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let md = out.join("policies.md");
    let mut text = std::fs::read_to_string(&md).expect("policies.md");
    text.push_str("a line someone added by hand\n");
    std::fs::write(&md, &text).expect("edit policies.md");
    let o = schemac(
        &root,
        &[
            "generate",
            "schema.yaml",
            "--out",
            path_str(&out),
            "--check",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("a/policies.md") && err.contains("b/policies.md"),
        "no diff header:\n{err}"
    );
    assert!(
        err.contains("-a line someone added by hand"),
        "the diff does not show the edit:\n{err}"
    );
    assert!(err.contains("policies.md: stale"), "{err}");
    // --check wrote nothing: the edit is still there.
    assert_eq!(std::fs::read_to_string(&md).expect("policies.md"), text);
}

#[test]
fn bad_schema_exits_1_with_a_position_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let schema = bad_schema();
    let o = schemac(
        tmp.path(),
        &[
            "generate",
            path_str(&schema),
            "--out",
            path_str(&out),
            "--format",
            "gcc",
            "--version",
            VERSION,
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("policy_unknown_column.yaml:9:61: error: S0010 unknown column `usr_id`"),
        "{err}"
    );
    assert!(err.contains("note: help: did you mean `user_id`?"), "{err}");
    assert!(
        !out.exists(),
        "the output directory was created for a schema with errors"
    );
    // An existing output directory stays as it was.
    std::fs::create_dir(&out).expect("mkdir");
    let o = schemac(
        tmp.path(),
        &[
            "generate",
            path_str(&schema),
            "--out",
            path_str(&out),
            "--version",
            VERSION,
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was written"), "{}", stderr(&o));
    assert!(
        tree(&out).is_empty(),
        "files were written: {:?}",
        tree(&out).keys()
    );
}

#[test]
fn validate_reports_errors_with_exit_1_and_warnings_with_exit_0() {
    let root = workspace_root();
    let o = schemac(&root, &["validate", path_str(&bad_schema())]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("error[S0010]: unknown column `usr_id` in policy on `notes`"),
        "{err}"
    );
    assert!(err.contains("error: 1 error; nothing was written"), "{err}");
    let warn = root.join("tests/errors/warning_rls_disabled.yaml");
    let o = schemac(&root, &["validate", path_str(&warn)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("warning[S0022]"), "{}", stderr(&o));
}

#[test]
fn json_format_is_parseable() {
    let o = schemac(
        &workspace_root(),
        &["validate", path_str(&bad_schema()), "--format", "json"],
    );
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_str(&stderr(&o))
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", stderr(&o)));
    let items = v.as_array().expect("a JSON array");
    assert_eq!(items.len(), 1, "{v}");
    let d = &items[0];
    assert_eq!(d["code"], "S0010");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 9);
    assert_eq!(d["column"], 61);
    assert_eq!(d["path"], "tables.notes.policies[0].owner");
    assert!(
        d["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("policy_unknown_column.yaml")),
        "{d}"
    );
    assert!(
        d["help"].as_str().is_some_and(|h| h.contains("user_id")),
        "{d}"
    );
}

#[test]
fn help_output() {
    let o = schemac(&workspace_root(), &["--help"]);
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!("help", stdout(&o));
    let o = schemac(&workspace_root(), &["generate", "--help"]);
    assert_eq!(code(&o), 0);
    insta::assert_snapshot!("generate_help", stdout(&o));
}

#[test]
fn usage_errors_exit_2() {
    let o = schemac(&workspace_root(), &["validate", "--no-such-flag"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-such-flag"), "{}", stderr(&o));
    let o = schemac(&workspace_root(), &["frobnicate"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let o = schemac(&workspace_root(), &["validate", "--format", "xml"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn malformed_version_is_rejected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let o = schemac(
        &workspace_root(),
        &[
            "generate",
            "schema.yaml",
            "--out",
            path_str(&out),
            "--version",
            "123",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("migration version `123` is not 14 digits"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "files were written despite the bad version");
}

#[test]
fn missing_schema_file_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = schemac(tmp.path(), &["validate", "no-such-schema.yaml"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot read `no-such-schema.yaml`"),
        "{}",
        stderr(&o)
    );
}

/// `generate` writes all files or none: when the rename of one output fails (a non-empty
/// directory sits where `models.rs` goes), the new migration, its down script and the lock stay
/// unwritten, no temporary file is left, and the next run writes exactly one migration.
#[test]
fn a_failed_rename_in_generate_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let schema = dir.join("schema.yaml");
    let out = dir.join("generated");
    let v1 = "tables:\n  notes:\n    columns:\n      id: { type: uuid, primary_key: true, default: gen_random_uuid() }\n      body: text\n";
    std::fs::write(&schema, v1).expect("schema");
    let run = |version: &str| {
        schemac(
            dir,
            &[
                "generate",
                "schema.yaml",
                "--out",
                path_str(&out),
                "--version",
                version,
            ],
        )
    };
    let o = run("20240101000000");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    std::fs::write(&schema, format!("{v1}      title: text?\n")).expect("schema v2");
    std::fs::remove_file(out.join("models.rs")).expect("models.rs");
    std::fs::create_dir_all(out.join("models.rs/blocked")).expect("block");
    let before = tree(&out);
    let o = run("20240102000000");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("models.rs"), "{}", stderr(&o));
    assert_eq!(tree(&out), before, "a failed generate changed files");
    std::fs::remove_dir_all(out.join("models.rs")).expect("unblock");
    let o = run("20240103000000");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let migrations: Vec<String> = tree(&out)
        .into_keys()
        .filter(|k| k.starts_with("migrations/"))
        .collect();
    assert_eq!(
        migrations,
        [
            "migrations/20240101000000_init.sql",
            "migrations/20240103000000_add_column_notes_title.sql"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>(),
    );
}

#[test]
fn typescript_types_path_is_configurable_and_checked() {
    let root = workspace_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("generated");
    for bad in ["../escape.ts", "/tmp/abs.ts", ""] {
        let o = schemac(
            &root,
            &[
                "generate",
                "schema.yaml",
                "--out",
                path_str(&out),
                "--types",
                bad,
            ],
        );
        assert_eq!(code(&o), 1, "--types {bad:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("must be a relative path"),
            "{}",
            stderr(&o)
        );
        assert!(!out.exists(), "--types {bad:?} wrote files");
    }
    let args = [
        "generate",
        "schema.yaml",
        "--out",
        path_str(&out),
        "--version",
        VERSION,
        "--types",
        "web/lib/database.types.ts",
    ];
    let o = schemac(&root, &args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ts = out.join("web/lib/database.types.ts");
    let text = std::fs::read_to_string(&ts).expect("types written at --types");
    assert!(text.starts_with("// @generated by schemac from schema.yaml. Do not edit.\n"));
    assert!(!out.join("database.types.ts").exists());
    // --check covers the types: an edit is stale, and the default path is missing.
    std::fs::write(&ts, text.replace("Row: {", "Row: { extra: string;")).expect("edit");
    let mut check = args.to_vec();
    check.push("--check");
    let o = schemac(&root, &check);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("web/lib/database.types.ts: stale"),
        "{}",
        stderr(&o)
    );
    let o = schemac(
        &root,
        &[
            "generate",
            "schema.yaml",
            "--out",
            path_str(&out),
            "--check",
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("database.types.ts: missing"),
        "{}",
        stderr(&o)
    );
    let o = schemac(
        &root,
        &[
            "generate",
            "schema.yaml",
            "--out",
            path_str(&out),
            "--no-types",
            "--check",
        ],
    );
    assert!(!stderr(&o).contains("database.types.ts"), "{}", stderr(&o));
}
