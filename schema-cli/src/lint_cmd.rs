//! `schemac lint`: the security, performance and migration-safety checks of `schema_core::lint` on
//! a schema file (against the last generated lock file), or of `schema_pg::lint_live` on a live
//! database's catalog; also the lint step `schemac generate` runs after compiling.

use crate::{display_name, Format, Input};
use schema_core::emit::lock::Lock;
use schema_core::{ir, lint, render, Diagnostic, Severity, Sources};
use schema_pg::lint_live::{self, LiveOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct LintArgs {
    #[command(flatten)]
    input: Input,
    /// Exit with status 1 on warnings too (errors always fail).
    #[arg(long)]
    deny_warnings: bool,
    /// The lock file of the last `schemac generate`: its schema is the previous one for the
    /// migration-safety checks. Default: `generated/schema.lock.json` next to the schema file,
    /// when it exists.
    #[arg(long)]
    lock: Option<PathBuf>,
    /// Lint the catalog of this live database instead of the schema file (hand-written schemas
    /// and policies included). Reads only; needs no superuser.
    #[arg(long)]
    database_url: Option<String>,
    /// With --database-url: the schema whose tables, indexes and policies are checked.
    #[arg(long, default_value = "public")]
    db_schema: String,
    /// With --database-url: other schemas whose functions are checked (repeatable).
    #[arg(long = "function-schema", default_value = "private")]
    function_schemas: Vec<String>,
    /// With --database-url: a `security definer` function of the API schema that `anon` or
    /// `authenticated` are meant to execute (like `expose_definer: true`; repeatable).
    #[arg(long = "expose-definer")]
    exposed_definers: Vec<String>,
    /// Print how long compiling and linting took.
    #[arg(long)]
    timings: bool,
}

fn print(sources: &Sources, diags: &[Diagnostic], format: Format) {
    match format {
        Format::Json => eprint!("{}", render::json(diags, sources)),
        Format::Gcc => diags
            .iter()
            .for_each(|d| eprint!("{}", render::gcc(d, sources))),
        Format::Human => {
            for d in diags {
                eprintln!("{}", render::human(d, sources));
            }
        }
    }
}

fn count(diags: &[Diagnostic], s: Severity) -> usize {
    diags.iter().filter(|d| d.severity == s).count()
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The closing line of the human format.
fn summary(diags: &[Diagnostic], tables: usize) -> String {
    let (e, w) = (
        count(diags, Severity::Error),
        count(diags, Severity::Warning),
    );
    match (e, w) {
        (0, 0) => format!("lint: no findings in {}", plural(tables, "table")),
        (0, w) => format!("warning: {}", plural(w, "warning")),
        (e, 0) => format!("error: {}", plural(e, "error")),
        (e, w) => format!("error: {}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

fn exit(diags: &[Diagnostic], deny_warnings: bool) -> ExitCode {
    let errors = count(diags, Severity::Error) > 0;
    let warnings = count(diags, Severity::Warning) > 0;
    if errors || (deny_warnings && warnings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn run(args: LintArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = &args.database_url {
        return run_live(&args, url);
    }
    let started = Instant::now();
    let input = &args.input;
    let text = std::fs::read_to_string(&input.schema)
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", input.schema.display()))?;
    let mut sources = Sources::new();
    sources.add(display_name(&input.schema), text);
    let c = schema_core::compile(&sources);
    let compiled = started.elapsed();
    let lock_path = args.lock.clone().or_else(|| {
        let p = input
            .schema
            .parent()
            .map(|d| d.join("generated"))
            .unwrap_or_else(|| PathBuf::from("generated"))
            .join(schema_core::generate::LOCK_FILE);
        p.is_file().then_some(p)
    });
    let previous = match &lock_path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", p.display()))?;
            Some(
                Lock::from_json(&text)
                    .map_err(|e| {
                        anyhow::anyhow!("`{}` is not a schemac lock file: {e}", p.display())
                    })?
                    .schema,
            )
        }
        None => None,
    };
    let lint_started = Instant::now();
    let mut diags = c.diagnostics.clone();
    let tables = c.ir.as_ref().map(|s| s.tables.len()).unwrap_or(0);
    if let Some(ir) = &c.ir {
        diags.extend(lint::lint_sources(&sources, ir, previous.as_ref()));
    }
    let linted = lint_started.elapsed();
    print(&sources, &diags, input.format);
    if input.format == Format::Human {
        eprintln!("{}", summary(&diags, tables));
    }
    if args.timings {
        eprintln!(
            "timings: compile {:.1} ms, lint {:.1} ms ({})",
            compiled.as_secs_f64() * 1e3,
            linted.as_secs_f64() * 1e3,
            plural(tables, "table")
        );
    }
    Ok(exit(&diags, args.deny_warnings))
}

fn run_live(args: &LintArgs, url: &str) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut client = schema_pg::connect(url)
        .map_err(|e| anyhow::anyhow!("cannot connect to the database: {e}"))?;
    let mut function_schemas = vec![args.db_schema.clone()];
    for s in &args.function_schemas {
        if !function_schemas.contains(s) {
            function_schemas.push(s.clone());
        }
    }
    let opts = LiveOptions {
        schema: args.db_schema.clone(),
        function_schemas,
        exposed_definers: args.exposed_definers.clone(),
    };
    let report = lint_live::lint_database(&mut client, &opts)
        .map_err(|e| anyhow::anyhow!("cannot read the catalog: {e}"))?;
    print(&report.sources, &report.diagnostics, args.input.format);
    if args.input.format == Format::Human {
        eprintln!("{}", summary(&report.diagnostics, report.tables));
    }
    if args.timings {
        eprintln!(
            "timings: catalog read and lint {:.1} ms ({})",
            started.elapsed().as_secs_f64() * 1e3,
            plural(report.tables, "table")
        );
    }
    Ok(exit(&report.diagnostics, args.deny_warnings))
}

/// The lint step of `schemac generate`, after a successful compile: prints the findings (the
/// compile diagnostics were printed already) and returns true when there are errors, which stop
/// generation; warnings do not.
pub fn generate_gate(
    sources: &Sources,
    schema: &ir::Schema,
    previous: Option<&ir::Schema>,
    format: Format,
) -> bool {
    let diags = lint::lint_sources(sources, schema, previous);
    if diags.is_empty() {
        return false;
    }
    print(sources, &diags, format);
    let errors = count(&diags, Severity::Error);
    if format == Format::Human {
        if errors > 0 {
            eprintln!(
                "error: `schemac lint` found {}; nothing was written",
                plural(errors, "error")
            );
        } else {
            eprintln!(
                "warning: `schemac lint` found {}",
                plural(diags.len(), "warning")
            );
        }
    }
    errors > 0
}
