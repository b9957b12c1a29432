//! `schemac diff --database-url URL [--write]`: drift between a live database and the schema as a
//! report; with `--write`, a repair script for that database (and its undo) in `repairs/`,
//! outside the migration chain.

use crate::{compile, fsio, Input};
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
    // The repair suits this database only: it goes to `repairs/`, outside the migration chain
    // (not in `migrations/`, not in the lock), so replaying the chain on a fresh database still
    // works and the Supabase CLI never applies it.
    let version = args.version.clone().unwrap_or_else(fsio::utc_version_now);
    if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) {
        anyhow::bail!("version `{version}` is not 14 digits (YYYYMMDDHHMMSS)");
    }
    if !schema_core::sql::ident::is_safe_ident(&args.name) {
        anyhow::bail!(
            "name `{}` must be lower-case letters, digits and `_`",
            args.name
        );
    }
    let files = schema_pg::drift::repair_files(
        &findings,
        &version,
        &args.name,
        &schema_core::emit::EmitOptions::default(),
    );
    let up_path = files[0].path.clone();
    fsio::write_all(&args.out, &files, &[])?;
    eprintln!(
        "wrote {} (apply it to this database only, e.g. `psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -1 -f {}`; it is not part of the migration chain)",
        args.out.join(&up_path).display(),
        args.out.join(&up_path).display()
    );
    Ok(ExitCode::SUCCESS)
}
