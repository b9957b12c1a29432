//! The `schemac` command line: reads schema files, runs schema-core, renders diagnostics, writes
//! `generated/` atomically, and maps outcomes to exit codes (0 ok, 1 errors or drift, 2 usage).

mod bench_cmd;
mod diff_cmd;
mod fsio;
mod lint_cmd;
mod migrate_cmd;
mod rust_input;
mod test_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use schema_core::emit::lock::{sha256_hex, Lock};
use schema_core::generate::{self, GenerateOptions};
use schema_core::{render, Compilation, Sources};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "schemac",
    version,
    about = "Schema-as-code compiler and RLS policy generator for PostgreSQL and Supabase"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    Human,
    Gcc,
    Json,
}

#[derive(clap::Args)]
pub(crate) struct Input {
    /// The schema file.
    #[arg(default_value = "schema.yaml")]
    pub(crate) schema: PathBuf,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: Format,
}

/// Where and how `generate` writes the TypeScript `Database` types.
#[derive(clap::Args)]
struct TypesArgs {
    /// Path of the TypeScript types for supabase-js, relative to the output directory.
    #[arg(long = "types", value_name = "PATH", default_value = schema_core::emit::typescript::DEFAULT_PATH)]
    path: String,
    /// Do not write the TypeScript types.
    #[arg(long = "no-types", conflicts_with = "path")]
    none: bool,
    /// Improvement over `supabase gen types`: `Insert`/`Update` mark the columns the API roles
    /// may not write (by the generated grants) as `?: never`.
    #[arg(long = "types-grant-aware")]
    grant_aware: bool,
}

impl TypesArgs {
    /// The path, checked to stay inside the output directory.
    fn path(&self) -> anyhow::Result<Option<String>> {
        if self.none {
            return Ok(None);
        }
        let p = Path::new(&self.path);
        let inside = !self.path.is_empty()
            && p.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside {
            anyhow::bail!(
                "--types `{}` must be a relative path inside the output directory (no `..`, not absolute)",
                self.path
            );
        }
        Ok(Some(self.path.replace('\\', "/")))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Compile the schema and write migrations, down scripts, policies.md, models.rs, seed.sql.
    Generate {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        rust: rust_input::RustArgs,
        /// Output directory.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// Write nothing; exit 1 and print a diff if the output directory is stale.
        #[arg(long)]
        check: bool,
        /// Version (14 digits, YYYYMMDDHHMMSS) of a new migration; default: the current UTC time.
        #[arg(long)]
        version: Option<String>,
        /// Name of a new migration (default: `init` for the first one).
        #[arg(long)]
        name: Option<String>,
        /// Rewrite the first migration from scratch. Only for migrations never applied to a
        /// database you keep.
        #[arg(long)]
        reset: bool,
        #[command(flatten)]
        types: TypesArgs,
    },
    /// Check the schema and print diagnostics; write nothing.
    Validate {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        rust: rust_input::RustArgs,
    },
    /// Check the schema (or, with --database-url, a live database) for security, performance and
    /// migration-safety problems: RLS off, always-true or per-row policies, missing indexes...
    Lint(lint_cmd::LintArgs),
    /// Prove every generated policy against a live PostgreSQL: the full table x actor x command
    /// matrix, column, ownership and cascade checks, and the scenarios in the policy test files.
    Test(test_cmd::TestArgs),
    /// Load realistic data and measure what the generated policies cost at run time: each typical
    /// query as its user versus service_role with the equivalent filter, plans, naive policies.
    Bench(bench_cmd::BenchArgs),
    /// Apply, revert or list the migrations of `generated/` on a live database.
    Migrate(migrate_cmd::MigrateArgs),
    /// Create a hand-written migration (`schemac migration new NAME`).
    Migration(migrate_cmd::MigrationArgs),
    /// Print the JSON Schema of schema.yaml (for editors: `# yaml-language-server: $schema=...`).
    Schema {
        /// As JSON Schema (draft-07); the only format.
        #[arg(long, required = true)]
        json: bool,
        /// Write it to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare a live database with the schema (missing, extra, different objects, by meaning);
    /// `--write` turns the drift into a repair script (in `repairs/`, outside the migration chain).
    Diff(diff_cmd::DiffArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

pub(crate) fn compile(input: &Input) -> anyhow::Result<(Sources, Compilation)> {
    let text = std::fs::read_to_string(&input.schema)
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", input.schema.display()))?;
    let mut sources = Sources::new();
    sources.add(display_name(&input.schema), text);
    let c = schema_core::compile(&sources);
    print_diagnostics(&sources, &c, input.format);
    Ok((sources, c))
}

/// The name shown in diagnostics and headers: as given on the command line, with `/` separators.
fn display_name(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

fn print_diagnostics(sources: &Sources, c: &Compilation, format: Format) {
    match format {
        Format::Json => {
            if !c.diagnostics.is_empty() {
                eprint!("{}", render::json(&c.diagnostics, sources));
            }
        }
        Format::Gcc => c
            .diagnostics
            .iter()
            .for_each(|d| eprint!("{}", render::gcc(d, sources))),
        Format::Human => {
            for d in &c.diagnostics {
                eprintln!("{}", render::human(d, sources));
            }
            if let Some(s) = render::summary(&c.diagnostics) {
                eprint!("{s}");
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Test(args) => test_cmd::run(args),
        Command::Lint(args) => lint_cmd::run(args),
        Command::Bench(args) => bench_cmd::run(args),
        Command::Migrate(args) => migrate_cmd::run(args),
        Command::Migration(args) => migrate_cmd::run_migration(args),
        Command::Diff(args) => diff_cmd::run(args),
        Command::Schema { json: _, out } => {
            let text = schema_core::json_schema::document();
            match out {
                Some(path) => {
                    let files = [schema_core::generate::OutFile {
                        path: path.to_string_lossy().to_string(),
                        contents: text,
                    }];
                    fsio::write_all(Path::new(""), &files, &[])?;
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { input, rust } => {
            let (_, c) = rust_input::compile(&input, &rust)?;
            Ok(if c.has_errors() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Generate {
            input,
            rust,
            out,
            check,
            version,
            name,
            reset,
            types,
        } => {
            let types_path = types.path()?;
            let (sources, c) = rust_input::compile(&input, &rust)?;
            let Some(ir) = c.ir else {
                return Ok(ExitCode::from(1));
            };
            let lock_path = out.join(generate::LOCK_FILE);
            let lock = match std::fs::read_to_string(&lock_path) {
                Ok(text) => Some(Lock::from_json(&text).map_err(|e| {
                    anyhow::anyhow!("`{}` is not a schemac lock file: {e}", lock_path.display())
                })?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => anyhow::bail!("cannot read `{}`: {e}", lock_path.display()),
            };
            // `schemac lint` as part of generate: warnings are printed, errors stop here.
            if lint_cmd::generate_gate(
                &sources,
                &ir,
                lock.as_ref().filter(|_| !reset).map(|l| &l.schema),
                input.format,
            ) {
                return Ok(ExitCode::from(1));
            }
            let file_name = input
                .schema
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_else(|| "schema.yaml".into());
            let opts = GenerateOptions {
                emit: schema_core::emit::EmitOptions {
                    source_name: file_name,
                    types_path,
                    typescript: schema_core::emit::typescript::TsOptions {
                        grant_aware: types.grant_aware,
                    },
                },
                version,
                name,
                reset,
                now_version: fsio::utc_version_now(),
            };
            let plan = match generate::plan(&ir, lock.as_ref(), &opts) {
                Ok(p) => p,
                Err(generate::PlanError::Refused(diags)) => {
                    let c = Compilation {
                        ir: None,
                        diagnostics: diags,
                    };
                    print_diagnostics(&sources, &c, input.format);
                    return Ok(ExitCode::from(1));
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(1));
                }
            };
            // Recorded migrations must be on disk, unedited.
            let mut problems = Vec::new();
            for m in &plan.keep {
                let (up, down) = generate::migration_paths(m);
                if m.hand_written {
                    // The author's text: only its presence is checked.
                    if !out.join(&up).exists() {
                        problems.push(format!(
                            "{up}: missing (recorded in {})",
                            generate::LOCK_FILE
                        ));
                    }
                    continue;
                }
                for (rel, sha) in [(up, &m.up_sha256), (down, &m.down_sha256)] {
                    match std::fs::read_to_string(out.join(&rel)) {
                        Ok(text) if &sha256_hex(&text) == sha => {}
                        Ok(_) => problems.push(format!("{rel}: edited after it was generated (applied migrations are never edited; write a new one)")),
                        Err(_) => problems.push(format!("{rel}: missing (recorded in {})", generate::LOCK_FILE)),
                    }
                }
            }
            if check {
                let mut stale = problems;
                for f in &plan.files {
                    let path = out.join(&f.path);
                    let current = std::fs::read_to_string(&path).ok();
                    if current.as_deref() != Some(f.contents.as_str()) {
                        let old = current.unwrap_or_default();
                        let diff = similar::TextDiff::from_lines(&old, &f.contents);
                        eprintln!(
                            "{}",
                            diff.unified_diff()
                                .context_radius(2)
                                .header(&format!("a/{}", f.path), &format!("b/{}", f.path))
                        );
                        stale.push(format!(
                            "{}: {}",
                            f.path,
                            if old.is_empty() { "missing" } else { "stale" }
                        ));
                    }
                }
                if stale.is_empty() {
                    eprintln!("{} is up to date", out.display());
                    return Ok(ExitCode::SUCCESS);
                }
                for s in &stale {
                    eprintln!("error: {}/{s}", out.display());
                }
                eprintln!(
                    "error: {} is out of date; run `schemac generate` and commit the result",
                    out.display()
                );
                return Ok(ExitCode::from(1));
            }
            if !problems.is_empty() {
                for p in &problems {
                    eprintln!("error: {}/{p}", out.display());
                }
                return Ok(ExitCode::from(1));
            }
            let existing: Vec<&String> = plan
                .remove
                .iter()
                .filter(|r| out.join(r).exists())
                .collect();
            let written = fsio::write_all(&out, &plan.files, &plan.remove)?;
            for rel in existing {
                eprintln!("removed {}", out.join(rel).display());
            }
            for m in &plan.new_migrations {
                eprintln!("new migration {}_{}", m.version, m.name);
            }
            if !plan.new_migrations.is_empty() {
                for s in &plan.summary {
                    eprintln!("  {s}");
                }
            }
            eprintln!(
                "wrote {written} of {} files in {}",
                plan.files.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
