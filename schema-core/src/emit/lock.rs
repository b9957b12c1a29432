//! `schema.lock.json`: the compiled state (the IR) plus the list of migrations written so far;
//! what `schemac generate` diffs the next schema against.

use crate::ir::Schema;
use serde::{Deserialize, Serialize};

pub const LOCK_FORMAT: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub format: u32,
    /// Migrations in order: version, name and the SHA-256 of the up and down files.
    pub migrations: Vec<MigrationRecord>,
    pub schema: Schema,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationRecord {
    pub version: String,
    pub name: String,
    pub up_sha256: String,
    pub down_sha256: String,
    /// Written by hand (`schemac migration new`): its text is the author's, so no checksum is
    /// recorded; schemac applies it in version order like any other.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hand_written: bool,
}

impl Lock {
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("the lock serialises");
        s.push('\n');
        s
    }

    pub fn from_json(text: &str) -> Result<Lock, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// Hex SHA-256 of a file's bytes.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
