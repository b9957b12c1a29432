//! Shared support for schemac's integration tests: workspace paths and the committed generated files.

use schema_core::emit::lock::Lock;
use std::path::PathBuf;

/// The workspace root (where `schema.yaml` and `generated/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
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
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e} (run `schemac generate`)", path.display()))
}

/// Reads `generated/` as recorded by its lock file.
pub fn committed_migration() -> Migration {
    let lock = Lock::from_json(&read(schema_core::generate::LOCK_FILE)).expect("generated/schema.lock.json parses");
    let first = lock.migrations.first().expect("the lock records a migration").clone();
    let (up, down) = schema_core::generate::migration_paths(&first);
    Migration { version: first.version.clone(), up: read(&up), down: read(&down), seed: read("seed.sql"), lock }
}
