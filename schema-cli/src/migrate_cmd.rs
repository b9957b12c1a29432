//! `schemac migrate up|down|status`: applies or reverts every migration in `generated/migrations`
//! (generated and hand-written) on a live database, recording them in
//! `supabase_migrations.schema_migrations` like the Supabase CLI; `schemac migration new NAME`.

use schema_core::emit::lock::Lock;
use schema_core::generate::LOCK_FILE;
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

/// Every migration in `dir/migrations`, generated and hand-written (see
/// `schema_pg::migrate::load_dir`); skipped files are reported on stderr.
pub fn load(dir: &Path) -> anyhow::Result<Vec<MigrationFile>> {
    let (files, warnings) = migrate::load_dir_reporting(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(files)
}

#[derive(clap::Args)]
pub struct MigrationArgs {
    #[command(subcommand)]
    action: MigrationAction,
}

#[derive(clap::Subcommand)]
enum MigrationAction {
    /// Create a hand-written migration: an empty up/down pair recorded in the lock, applied in
    /// version order by `schemac migrate` and the Supabase CLI.
    New {
        /// Lower-case letters, digits and `_`.
        name: String,
        /// The output directory of `schemac generate`.
        #[arg(long, default_value = "generated")]
        dir: PathBuf,
        /// Version (14 digits); default: the current UTC time.
        #[arg(long)]
        version: Option<String>,
        /// The migration runs outside a transaction (e.g. `create index concurrently`).
        #[arg(long)]
        no_transaction: bool,
    },
}

pub fn run_migration(args: MigrationArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        MigrationAction::New {
            name,
            dir,
            version,
            no_transaction,
        } => {
            let version = version.unwrap_or_else(crate::fsio::utc_version_now);
            let lock_path = dir.join(LOCK_FILE);
            let text = std::fs::read_to_string(&lock_path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read `{}`: {e} (run `schemac generate` first)",
                    lock_path.display()
                )
            })?;
            let lock = Lock::from_json(&text)?;
            let existing = load(&dir)?;
            let last = existing.iter().map(|m| m.version.as_str()).max();
            let files =
                schema_core::generate::new_migration(&lock, &name, &version, no_transaction, last)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (up_path, down_path) = (files[0].path.clone(), files[1].path.clone());
            crate::fsio::write_all(&dir, &files, &[])?;
            println!("{}", dir.join(&up_path).display());
            println!("{}", dir.join(&down_path).display());
            Ok(ExitCode::SUCCESS)
        }
    }
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
