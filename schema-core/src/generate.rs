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

#[derive(Debug)]
pub enum PlanError {
    BadVersion(String),
    BadName(String),
    /// A new migration's version must sort after the last recorded one.
    VersionNotLater {
        version: String,
        last: String,
    },
    /// The change needs something the schema did not say (e.g. an intended destructive change).
    Refused(Vec<crate::diag::Diagnostic>),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::BadVersion(v) => write!(
                f,
                "migration version `{v}` is not 14 digits (YYYYMMDDHHMMSS)"
            ),
            PlanError::BadName(n) => write!(
                f,
                "migration name `{n}` must be lower-case letters, digits and `_`"
            ),
            PlanError::VersionNotLater { version, last } => write!(
                f,
                "migration version `{version}` must be later than the last migration `{last}`"
            ),
            PlanError::Refused(d) => write!(f, "{} change(s) refused", d.len()),
        }
    }
}

pub struct Plan {
    pub files: Vec<OutFile>,
    /// Migrations recorded in the lock that must exist unchanged on disk.
    pub keep: Vec<MigrationRecord>,
    /// Migration files of the lock that no longer exist in the plan (after `--reset`).
    pub remove: Vec<String>,
    /// The new migrations this plan writes (empty when nothing changed).
    pub new_migrations: Vec<MigrationRecord>,
    /// What changed, one line per change (for the CLI's summary).
    pub summary: Vec<String>,
}

/// The text of an incremental migration file.
fn migration_text(
    opts: &GenerateOptions,
    title: &str,
    summary: &[String],
    stmts: &[String],
    no_transaction: bool,
) -> String {
    let mut out = emit::header("--", &opts.emit);
    if no_transaction {
        out.push_str(crate::diff::NO_TRANSACTION_MARKER);
        out.push('\n');
    }
    out.push_str(&crate::sql::comment::line(title));
    out.push('\n');
    for s in summary {
        // Indented under the title; the text itself is one comment line whatever it holds.
        out.push_str(&crate::sql::comment::line(s).replacen("--", "--  ", 1));
        out.push('\n');
    }
    for st in stmts {
        out.push('\n');
        out.push_str(st);
        out.push('\n');
    }
    emit::finish(out)
}

/// `version + 1 second`, still 14 digits (only the order matters to the migration tools).
fn next_version(v: &str) -> String {
    let n: u64 = v.parse().unwrap_or(0);
    format!("{:014}", n + 1)
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
    std::thread::scope(|s| {
        // The documents derived from the schema alone (about half of the emitting time at 1,000
        // tables) are built on another core while this one writes the migrations and the lock.
        let derived = s.spawn(|| {
            (
                emit::policies_md::document(schema, &opts.emit),
                emit::rust::models(schema, &opts.emit),
                opts.emit.types_path.as_ref().map(|path| {
                    (
                        path.clone(),
                        emit::typescript::database_types(schema, &opts.emit),
                    )
                }),
                emit::seed::seed(schema, &opts.emit),
            )
        });
        plan_with(schema, lock, opts, derived)
    })
}

/// `policies.md`, `models.rs`, the TypeScript types (path and text, when asked for) and `seed.sql`.
type Derived = (String, String, Option<(String, String)>, String);

fn plan_with(
    schema: &Schema,
    lock: Option<&Lock>,
    opts: &GenerateOptions,
    derived: std::thread::ScopedJoinHandle<'_, Derived>,
) -> Result<Plan, PlanError> {
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
            hand_written: false,
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
    let mut remove = Vec::new();
    let mut new_migrations = Vec::new();
    let mut summary = Vec::new();
    match lock {
        Some(l) if !opts.reset && !l.migrations.is_empty() => {
            keep = l.migrations.clone();
            migrations = l.migrations.clone();
            if &l.schema != schema {
                let mut diags = crate::diag::Diagnostics::default();
                let d = crate::diff::diff(&l.schema, schema, &mut diags);
                if diags.has_errors() {
                    return Err(PlanError::Refused(diags.into_sorted()));
                }
                if !d.is_empty() {
                    let last = l.migrations.last().expect("non-empty");
                    let version = opts
                        .version
                        .clone()
                        .unwrap_or_else(|| opts.now_version.clone());
                    if version <= last.version {
                        return Err(PlanError::VersionNotLater {
                            version,
                            last: format!("{}_{}", last.version, last.name),
                        });
                    }
                    let name = opts.name.clone().unwrap_or_else(|| d.suggested_name());
                    let mut version = version;
                    let add = |version: String,
                               name: String,
                               title: &str,
                               (up, down): (&[String], &[String]),
                               no_tx: bool,
                               files: &mut Vec<OutFile>| {
                        let up = migration_text(
                            opts,
                            &format!("{title}; changes:"),
                            &d.summary,
                            up,
                            no_tx,
                        );
                        let down = migration_text(opts, &format!("Reverts {version}_{name}: runs the reverse of every change, in reverse order."), &[], down, no_tx);
                        let rec = MigrationRecord {
                            version,
                            name,
                            up_sha256: sha256_hex(&up),
                            down_sha256: sha256_hex(&down),
                            hand_written: false,
                        };
                        let (up_path, down_path) = migration_paths(&rec);
                        files.push(OutFile {
                            path: up_path,
                            contents: up,
                        });
                        files.push(OutFile {
                            path: down_path,
                            contents: down,
                        });
                        rec
                    };
                    if let Some((eu, ed)) = &d.enum_values {
                        let n = crate::lower::fit_name(format!("{name}_enum_values"));
                        let rec = add(
                            version.clone(),
                            n,
                            "New enum values, committed before the migration that uses them",
                            (eu, ed),
                            false,
                            &mut files,
                        );
                        migrations.push(rec.clone());
                        new_migrations.push(rec);
                        version = next_version(&version);
                    }
                    if let Some((bu, bd)) = &d.before {
                        let n = crate::lower::fit_name(format!("{name}_prepare"));
                        let rec = add(
                            version.clone(),
                            n,
                            "Outside a transaction, before the next migration (concurrent index drops; its down finishes the next migration's down without long locks)",
                            (bu, bd),
                            true,
                            &mut files,
                        );
                        migrations.push(rec.clone());
                        new_migrations.push(rec);
                        version = next_version(&version);
                    }
                    if !d.up.is_empty() {
                        let rec = add(
                            version.clone(),
                            name.clone(),
                            "Incremental migration",
                            (&d.up, &d.down),
                            false,
                            &mut files,
                        );
                        migrations.push(rec.clone());
                        new_migrations.push(rec);
                        version = next_version(&version);
                    }
                    if let Some((au, ad)) = &d.after {
                        let n = crate::lower::fit_name(format!("{name}_concurrently"));
                        let rec = add(
                            version,
                            n,
                            "Outside a transaction, after the previous migration (concurrent index builds, constraint validation, batched backfills)",
                            (au, ad),
                            true,
                            &mut files,
                        );
                        migrations.push(rec.clone());
                        new_migrations.push(rec);
                    }
                }
                summary = d.summary;
            }
        }
        _ => {
            let first = lock.and_then(|l| l.migrations.first());
            if let Some(l) = lock {
                for m in l.migrations.iter().skip(1) {
                    let (u, d) = migration_paths(m);
                    remove.push(u);
                    remove.push(d);
                }
            }
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
            new_migrations.push(rec.clone());
            migrations.push(rec);
            summary.push("create the whole schema".to_string());
        }
    }
    let lock = Lock {
        format: LOCK_FORMAT,
        migrations,
        schema: schema.clone(),
    };
    let lock_json = lock.to_json();
    // Emitters cannot fail; a panic in the other thread is passed on unchanged.
    let (policies_md, models, types, seed) = derived
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
    files.push(OutFile {
        path: "policies.md".into(),
        contents: policies_md,
    });
    files.push(OutFile {
        path: "models.rs".into(),
        contents: models,
    });
    if let Some((path, contents)) = types {
        files.push(OutFile { path, contents });
    }
    files.push(OutFile {
        path: "seed.sql".into(),
        contents: seed,
    });
    files.push(OutFile {
        path: LOCK_FILE.into(),
        contents: lock_json,
    });
    Ok(Plan {
        files,
        keep,
        remove,
        new_migrations,
        summary,
    })
}

/// `schemac migration new NAME`: an empty hand-written up/down pair and the lock that records it.
/// `later_than` is the newest version already in the folder (recorded or not).
pub fn new_migration(
    lock: &Lock,
    name: &str,
    version: &str,
    no_transaction: bool,
    later_than: Option<&str>,
) -> Result<Vec<OutFile>, PlanError> {
    if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PlanError::BadVersion(version.to_string()));
    }
    if !crate::sql::ident::is_safe_ident(name) {
        return Err(PlanError::BadName(name.to_string()));
    }
    let last = lock
        .migrations
        .iter()
        .map(|m| m.version.as_str())
        .chain(later_than)
        .max();
    if let Some(last) = last {
        if last >= version {
            return Err(PlanError::VersionNotLater {
                version: version.to_string(),
                last: last.to_string(),
            });
        }
    }
    let rec = MigrationRecord {
        version: version.to_string(),
        name: name.to_string(),
        up_sha256: String::new(),
        down_sha256: String::new(),
        hand_written: true,
    };
    let (up_path, down_path) = migration_paths(&rec);
    let marker = if no_transaction {
        format!("{}\n", crate::diff::NO_TRANSACTION_MARKER)
    } else {
        String::new()
    };
    let how = if no_transaction {
        "one statement at a time outside a transaction"
    } else {
        "in one transaction"
    };
    let up = format!(
        "{marker}-- {version}_{name}: written by hand. `schemac migrate` and the Supabase CLI apply it in version order, {how}.\n"
    );
    let down = format!(
        "{marker}-- Reverts {version}_{name}: write the statements that undo it (`schemac migrate down` refuses an empty down script).\n"
    );
    let mut lock = lock.clone();
    lock.migrations.push(rec);
    Ok(vec![
        OutFile {
            path: up_path,
            contents: up,
        },
        OutFile {
            path: down_path,
            contents: down,
        },
        OutFile {
            path: LOCK_FILE.into(),
            contents: lock.to_json(),
        },
    ])
}
