//! `schemac migrate up|down|status`: applies or reverts the migrations in `generated/` on a live
//! database, recording them in `supabase_migrations.schema_migrations` like the Supabase CLI.

use schema_pg::migrate::{self, MigrationFile};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    action: Action,
    /// The database (default: `$DATABASE_URL`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Where the migrations are (the output directory of `schemac generate`).
    #[arg(long, global = true, default_value = "generated")]
    dir: PathBuf,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Apply pending migrations in order (all, or the next N).
    Up { n: Option<usize> },
    /// Revert the last N applied migrations (default 1), newest first.
    Down { n: Option<usize> },
    /// List migrations and whether each is applied.
    Status,
}

/// Reads the migrations recorded in `dir`'s lock file, checking they were not edited.
pub fn load(dir: &Path) -> anyhow::Result<Vec<MigrationFile>> {
    migrate::load_dir(dir).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn database_url(given: Option<String>) -> anyhow::Result<String> {
    given
        .or_else(|| {
            std::env::var("DATABASE_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
        })
        .ok_or_else(|| {
            anyhow::anyhow!("no database: pass `--database-url postgres://...` or set DATABASE_URL")
        })
}

pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let migrations = load(&args.dir)?;
    let url = database_url(args.database_url)?;
    let mut client = schema_pg::connect(&url).map_err(|e| anyhow::anyhow!("{e}"))?;
    match args.action {
        Action::Up { n } => {
            let done =
                migrate::up(&mut client, &migrations, n).map_err(|e| anyhow::anyhow!("{e}"))?;
            if done.is_empty() {
                eprintln!("nothing to apply: the database is up to date");
            }
            for v in done {
                eprintln!("applied {v}");
            }
        }
        Action::Down { n } => {
            let done = migrate::down(&mut client, &migrations, n.unwrap_or(1))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if done.is_empty() {
                eprintln!("nothing to revert");
            }
            for v in done {
                eprintln!("reverted {v}");
            }
        }
        Action::Status => {
            let applied = migrate::applied(&mut client).map_err(|e| anyhow::anyhow!("{e}"))?;
            for m in &migrations {
                let state = if applied.iter().any(|(v, _)| v == &m.version) {
                    "applied"
                } else {
                    "pending"
                };
                println!("{state:8} {}_{}", m.version, m.name);
            }
            for (v, name) in &applied {
                if !migrations.iter().any(|m| &m.version == v) {
                    println!(
                        "{:8} {v}_{} (applied, but not in {})",
                        "unknown",
                        name.clone().unwrap_or_default(),
                        args.dir.display()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
