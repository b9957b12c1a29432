//! Shared support for schemac's integration tests (paths to the workspace and its fixtures).

use std::path::PathBuf;

/// The workspace root (where `schema.yaml` and `generated/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}
