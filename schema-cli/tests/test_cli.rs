//! `schemac test` proves the committed migrations (what ships), not SQL rebuilt from schema.yaml:
//! a migration edited together with its hash in the lock must fail the run.

use schema_core::emit::lock::sha256_hex;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("schema-cli has a parent")
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// A project directory with the bundled schema, its generated/ and its policy tests.
fn project() -> tempfile::TempDir {
    let root = workspace_root();
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::copy(root.join("schema.yaml"), tmp.path().join("schema.yaml")).expect("copy schema");
    copy_dir(&root.join("generated"), &tmp.path().join("generated"));
    copy_dir(
        &root.join("tests/policies"),
        &tmp.path().join("tests/policies"),
    );
    tmp
}

fn schemac_test(dir: &Path) -> Output {
    let url = schema_pg::shared().admin_url();
    Command::new(env!("CARGO_BIN_EXE_schemac"))
        .args([
            "test",
            "schema.yaml",
            "--grant-mode",
            "no-auto-grant",
            "--database-url",
            &url,
        ])
        .current_dir(dir)
        .output()
        .expect("run schemac")
}

/// Edits the first migration with `edit` and records its new SHA-256 in the lock, as someone
/// hiding an edit would.
fn edit_migration_and_lock(dir: &Path, edit: impl Fn(&str) -> String) {
    let gen = dir.join("generated");
    let mig_dir = gen.join("migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&mig_dir)
        .expect("migrations")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let path = &files[0];
    let old = std::fs::read_to_string(path).expect("read migration");
    let new = edit(&old);
    assert_ne!(old, new, "the edit changed nothing");
    std::fs::write(path, &new).expect("write migration");
    let lock_path = gen.join("schema.lock.json");
    let lock = std::fs::read_to_string(&lock_path).expect("lock");
    let (old_sha, new_sha) = (sha256_hex(&old), sha256_hex(&new));
    assert!(lock.contains(&old_sha), "the lock records the migration");
    std::fs::write(&lock_path, lock.replace(&old_sha, &new_sha)).expect("write lock");
}

#[test]
fn the_committed_migrations_pass_unchanged() {
    let p = project();
    let o = schemac_test(p.path());
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn a_migration_edited_with_its_lock_hash_to_widen_a_policy_fails_the_run() {
    let p = project();
    edit_migration_and_lock(p.path(), |sql| {
        let from = "for select to \"authenticated\"\n  using (\"user_id\" = (select auth.uid()));";
        let at = sql
            .find("create policy \"api_keys_select_authenticated\"")
            .expect("the policy is in the migration");
        let i = at + sql[at..].find(from).expect("its using clause");
        format!(
            "{}for select to \"authenticated\"\n  using (true);{}",
            &sql[..i],
            &sql[i + from.len()..]
        )
    });
    let o = schemac_test(p.path());
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("drift")
            && out.contains("policy api_keys_select_authenticated on api_keys (different)")
            && out.contains("FAIL"),
        "the failure does not name the drifted policy:\n{out}"
    );
    assert!(
        out.contains("schemac generate"),
        "the failure does not say how to fix it:\n{out}"
    );
}

#[test]
fn a_migration_edited_without_its_lock_hash_is_refused() {
    let p = project();
    let gen = p.path().join("generated/migrations");
    let f = std::fs::read_dir(&gen)
        .expect("migrations")
        .next()
        .expect("one")
        .expect("entry")
        .path();
    let mut sql = std::fs::read_to_string(&f).expect("read");
    sql.push_str("\n-- edited\n");
    std::fs::write(&f, sql).expect("write");
    let o = schemac_test(p.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("was edited after it was generated"), "{err}");
}
