//! `schemac diff --database-url URL [--write]`: drift between a live database and the schema as a
//! report; with `--write`, a migration (and its down script) that removes the drift.

use crate::{compile, fsio, Input};
use schema_core::emit::lock::{sha256_hex, Lock, MigrationRecord};
use schema_core::generate::{migration_paths, OutFile, LOCK_FILE};
use schema_core::sql::comment;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    input: Input,
    /// The database to compare (default: `$DATABASE_URL`).
    #[arg(long)]
    database_url: Option<String>,
    /// Write a migration that removes the drift into the output directory.
    #[arg(long)]
    write: bool,
    #[arg(long, default_value = "generated")]
    out: PathBuf,
    /// Version of the written migration (default: the current UTC time).
    #[arg(long)]
    version: Option<String>,
    /// Name of the written migration.
    #[arg(long, default_value = "fix_drift")]
    name: String,
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let (_, c) = compile(&args.input)?;
    let Some(ir) = c.ir else {
        return Ok(ExitCode::from(1));
    };
    let url = crate::migrate_cmd::database_url(args.database_url.clone())?;
    let mut client = schema_pg::connect(&url).map_err(|e| anyhow::anyhow!("{e}"))?;
    let findings = schema_pg::drift::drift(&mut client, &ir).map_err(|e| anyhow::anyhow!("{e}"))?;
    if matches!(args.input.format, crate::Format::Json) {
        let items: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| serde_json::json!({"kind": f.kind.name(), "object": f.object, "detail": f.detail, "fix": f.fix, "undo": f.undo}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else {
        for f in &findings {
            // Live names may hold anything (line breaks, terminal escapes): one plain line each.
            println!(
                "{:9} {}: {}",
                f.kind.name(),
                comment::text(&f.object),
                comment::text(&f.detail)
            );
        }
        println!(
            "{} difference(s) between the database and {}",
            findings.len(),
            args.input.schema.display()
        );
    }
    if findings.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.write {
        return Ok(ExitCode::from(1));
    }
    let lock_path = args.out.join(LOCK_FILE);
    let text = std::fs::read_to_string(&lock_path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read `{}`: {e} (run `schemac generate` first)",
            lock_path.display()
        )
    })?;
    let mut lock = Lock::from_json(&text)?;
    let version = args.version.clone().unwrap_or_else(fsio::utc_version_now);
    if lock.migrations.last().is_some_and(|m| m.version >= version) {
        anyhow::bail!(
            "migration version `{version}` must be later than the last recorded migration"
        );
    }
    let (up, down) = schema_pg::drift::migration_scripts(&findings);
    let rec = MigrationRecord {
        version,
        name: args.name.clone(),
        up_sha256: sha256_hex(&up),
        down_sha256: sha256_hex(&down),
    };
    let (up_path, down_path) = migration_paths(&rec);
    lock.migrations.push(rec);
    let files = vec![
        OutFile {
            path: up_path.clone(),
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
    ];
    fsio::write_all(&args.out, &files, &[])?;
    eprintln!("wrote {}", args.out.join(up_path).display());
    Ok(ExitCode::SUCCESS)
}
