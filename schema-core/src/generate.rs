//! What `schemac generate` writes, decided without I/O: the derived files (policies, models, seed,
//! lock) and, when the schema is new or reset, the first migration and its down script.

use crate::emit::lock::{sha256_hex, Lock, MigrationRecord, LOCK_FORMAT};
use crate::emit::{self, EmitOptions};
use crate::ir::Schema;

pub const LOCK_FILE: &str = "schema.lock.json";
pub const MIGRATIONS_DIR: &str = "migrations";
pub const DOWN_DIR: &str = "down";

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub emit: EmitOptions,
    /// `--version`: the 14-digit version of a new migration.
    pub version: Option<String>,
    /// `--name`: the name of a new migration.
    pub name: Option<String>,
    /// `--reset`: rewrite the first migration from scratch (only before it was applied anywhere).
    pub reset: bool,
    /// The version to use when none is given and none is recorded (the CLI passes the clock).
    pub now_version: String,
}

/// A file to write, relative to the output directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutFile {
    pub path: String,
    pub contents: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PlanError {
    BadVersion(String),
    BadName(String),
    /// The schema changed since the recorded migrations and no incremental migration can be made.
    SchemaChanged {
        last: String,
    },
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::BadVersion(v) => write!(f, "migration version `{v}` is not 14 digits (YYYYMMDDHHMMSS)"),
            PlanError::BadName(n) => write!(f, "migration name `{n}` must be lower-case letters, digits and `_`"),
            PlanError::SchemaChanged { last } => write!(
                f,
                "the schema changed since migration `{last}`, and this version of schemac cannot yet write an incremental migration; \
                 run `schemac generate --reset` to rewrite the first migration (only if it was never applied to a database you keep)"
            ),
        }
    }
}

pub struct Plan {
    pub files: Vec<OutFile>,
    /// Migrations recorded in the lock that must exist unchanged on disk.
    pub keep: Vec<MigrationRecord>,
}

pub fn migration_paths(r: &MigrationRecord) -> (String, String) {
    (
        format!("{MIGRATIONS_DIR}/{}_{}.sql", r.version, r.name),
        format!("{DOWN_DIR}/{}_{}.sql", r.version, r.name),
    )
}

pub fn plan(
    schema: &Schema,
    lock: Option<&Lock>,
    opts: &GenerateOptions,
) -> Result<Plan, PlanError> {
    if let Some(v) = &opts.version {
        if v.len() != 14 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PlanError::BadVersion(v.clone()));
        }
    }
    if let Some(n) = &opts.name {
        if !crate::sql::ident::is_safe_ident(n) {
            return Err(PlanError::BadName(n.clone()));
        }
    }
    let mut files = Vec::new();
    let mut keep = Vec::new();
    let mut migrations = Vec::new();
    let fresh = |version: String, name: String| {
        let up = emit::up::migration(schema, &opts.emit);
        let down = emit::down::migration(schema, &opts.emit);
        let rec = MigrationRecord {
            version,
            name,
            up_sha256: sha256_hex(&up),
            down_sha256: sha256_hex(&down),
        };
        let (up_path, down_path) = migration_paths(&rec);
        (
            rec,
            vec![
                OutFile {
                    path: up_path,
                    contents: up,
                },
                OutFile {
                    path: down_path,
                    contents: down,
                },
            ],
        )
    };
    match lock {
        Some(l) if !opts.reset && !l.migrations.is_empty() => {
            if &l.schema != schema {
                return Err(PlanError::SchemaChanged {
                    last: l
                        .migrations
                        .last()
                        .map(|m| format!("{}_{}", m.version, m.name))
                        .unwrap_or_default(),
                });
            }
            keep = l.migrations.clone();
            migrations = l.migrations.clone();
        }
        _ => {
            let first = lock.and_then(|l| l.migrations.first());
            let version = opts
                .version
                .clone()
                .or_else(|| first.map(|m| m.version.clone()))
                .unwrap_or_else(|| opts.now_version.clone());
            let name = opts
                .name
                .clone()
                .or_else(|| first.map(|m| m.name.clone()))
                .unwrap_or_else(|| "init".to_string());
            let (rec, f) = fresh(version, name);
            files.extend(f);
            migrations.push(rec);
        }
    }
    files.push(OutFile {
        path: "policies.md".into(),
        contents: emit::policies_md::document(schema, &opts.emit),
    });
    files.push(OutFile {
        path: "models.rs".into(),
        contents: emit::rust::models(schema, &opts.emit),
    });
    files.push(OutFile {
        path: "seed.sql".into(),
        contents: emit::seed::seed(schema, &opts.emit),
    });
    let lock = Lock {
        format: LOCK_FORMAT,
        migrations,
        schema: schema.clone(),
    };
    files.push(OutFile {
        path: LOCK_FILE.into(),
        contents: lock.to_json(),
    });
    Ok(Plan { files, keep })
}
