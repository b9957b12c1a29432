//! Shared support for schemac's integration tests: workspace paths and the committed generated files.

use schema_core::emit::lock::Lock;
use std::path::PathBuf;

/// The workspace root (where `schema.yaml` and `generated/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The committed first migration of `schema.yaml`: up, down and seed SQL.
pub struct Migration {
    pub version: String,
    pub up: String,
    pub down: String,
    pub seed: String,
    pub lock: Lock,
}

fn read(rel: &str) -> String {
    let path = workspace_root().join("generated").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (run `schemac generate`)",
            path.display()
        )
    })
}

/// Reads `generated/` as recorded by its lock file.
pub fn committed_migration() -> Migration {
    let lock = Lock::from_json(&read(schema_core::generate::LOCK_FILE))
        .expect("generated/schema.lock.json parses");
    let first = lock
        .migrations
        .first()
        .expect("the lock records a migration")
        .clone();
    let (up, down) = schema_core::generate::migration_paths(&first);
    Migration {
        version: first.version.clone(),
        up: read(&up),
        down: read(&down),
        seed: read("seed.sql"),
        lock,
    }
}

/// Loads every policy test file of the bundled schema (`tests/policies/*.yaml`), panicking with
/// rendered diagnostics if one is invalid.
pub fn policy_suite() -> schema_core::suite::Suite {
    let dir = workspace_root().join("tests/policies");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/policies exists")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut suite = schema_core::suite::Suite::default();
    let mut sources = schema_core::Sources::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let name = format!(
            "tests/policies/{}",
            f.file_name().expect("name").to_string_lossy()
        );
        let text = std::fs::read_to_string(f).expect("read");
        let id = sources.add(name.clone(), text.clone());
        let mut d = schema_core::Diagnostics::default();
        let s = schema_core::syntax::yaml::parse_suite(id, &name, &text, &mut d);
        let diags = d.into_sorted();
        assert!(
            diags.is_empty(),
            "{}",
            diags
                .iter()
                .map(|x| schema_core::render::human(x, &sources))
                .collect::<String>()
        );
        suite.extend(s);
    }
    suite
}
