//! `schemac test`: compiles the schema, starts (or connects to) PostgreSQL, applies the committed
//! migrations of `generated/` (what ships), checks by drift detection that they build exactly what
//! the schema says, and runs the policy harness with the policy test files next to the schema;
//! prints a test-runner report.

use crate::{compile, Format, Input};
use schema_core::{render, Sources};
use schema_pg::harness::{self, report, HarnessOptions};
use schema_pg::{GrantMode, ServerHandle};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Modes {
    /// Both: with Supabase's legacy default grants and without (the current platform).
    Both,
    /// Only the current platform: no automatic grants to the API roles.
    NoAutoGrant,
    /// Only legacy projects: default privileges grant ALL on new tables to the API roles.
    Legacy,
}

#[derive(clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    input: Input,
    /// An existing server to test against (a superuser URL; e.g. a local Supabase). Everything
    /// runs in scratch databases that are dropped afterwards. Default: `$DATABASE_URL` if set,
    /// else an embedded PostgreSQL started for this run.
    #[arg(long)]
    database_url: Option<String>,
    /// Grant modes of the Supabase platform to test in.
    #[arg(long, value_enum, default_value = "both")]
    grant_mode: Modes,
    /// Directory of policy test files (pins, fixture overrides, scenarios).
    /// Default: `tests/policies` next to the schema file.
    #[arg(long)]
    policies: Option<PathBuf>,
    /// The output directory of `schemac generate` whose committed migrations are tested.
    /// Default: `generated` next to the schema file.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Mutation testing: derive mutants from the schema (conditions dropped, checks widened,
    /// helpers that ignore the caller, grants widened, RLS off...), apply each to a database
    /// built from the committed migrations and run the suite; report the score and every
    /// surviving mutant. Runs in the first grant mode.
    #[arg(long)]
    mutants: bool,
    /// With --mutants: exit 1 when the score (killed / non-equivalent mutants, in percent) is
    /// below this, or when a declared equivalent mutant is killed.
    #[arg(long, default_value_t = 100.0)]
    min_score: f64,
    /// List passing checks too.
    #[arg(long, short)]
    verbose: bool,
}

pub fn run(args: TestArgs) -> anyhow::Result<ExitCode> {
    let (_, c) = compile(&args.input)?;
    let Some(ir) = c.ir else {
        return Ok(ExitCode::from(1));
    };
    // The policy test files.
    let dir = args.policies.clone().unwrap_or_else(|| {
        args.input
            .schema
            .parent()
            .map(|p| p.join("tests/policies"))
            .unwrap_or_else(|| PathBuf::from("tests/policies"))
    });
    let mut suite = schema_core::suite::Suite::default();
    let mut sources = Sources::new();
    let mut diags = schema_core::Diagnostics::default();
    if dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        {
            let text = std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", f.display()))?;
            let name = f.to_string_lossy().replace('\\', "/");
            let id = sources.add(name.clone(), text.clone());
            suite.extend(schema_core::syntax::yaml::parse_suite(
                id, &name, &text, &mut diags,
            ));
        }
    } else if args.policies.is_some() {
        anyhow::bail!("policy test directory `{}` does not exist", dir.display());
    }
    let ds = diags.into_sorted();
    if !ds.is_empty() {
        for d in &ds {
            eprintln!("{}", render::human(d, &sources));
        }
        if ds
            .iter()
            .any(|d| d.severity == schema_core::Severity::Error)
        {
            return Ok(ExitCode::from(1));
        }
    }
    let gen_dir = args.dir.clone().unwrap_or_else(|| {
        args.input
            .schema
            .parent()
            .map(|p| p.join("generated"))
            .unwrap_or_else(|| PathBuf::from("generated"))
    });
    let migrations = crate::migrate_cmd::load(&gen_dir)?;
    if migrations.is_empty() {
        anyhow::bail!(
            "`{}` records no migration: run `schemac generate` first",
            gen_dir.display()
        );
    }
    let modes = match args.grant_mode {
        Modes::Both => vec![GrantMode::NoAutoGrant, GrantMode::LegacyDefaultGrants],
        Modes::NoAutoGrant => vec![GrantMode::NoAutoGrant],
        Modes::Legacy => vec![GrantMode::LegacyDefaultGrants],
    };
    let url = args.database_url.clone().or_else(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
    });
    let started = std::time::Instant::now();
    let server = match url {
        Some(u) => ServerHandle::external(u)?,
        None => {
            eprintln!("starting PostgreSQL...");
            ServerHandle::Embedded(
                schema_pg::EmbeddedServer::start().map_err(|e| anyhow::anyhow!("{e}"))?,
            )
        }
    };
    if args.mutants {
        let mutants = harness::mutants::generate(&ir);
        let r = harness::mutants::run(&server, &ir, &migrations, &suite, modes[0], &mutants)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(server);
        print!("{}", r.human());
        eprintln!("finished in {:.2} s", started.elapsed().as_secs_f64());
        let ok = r.baseline_failures.is_empty()
            && r.wrongly_declared() == 0
            && r.score() >= args.min_score;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let report = harness::run(
        &server,
        &ir,
        &migrations,
        &HarnessOptions {
            modes,
            suite,
            keep_databases: false,
            check_drift: true,
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(server);
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&report))
            .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", path.display()))?;
    }
    match args.input.format {
        Format::Json => print!("{}", report::json(&report)),
        _ => {
            print!("{}", report::human(&report, args.verbose));
            eprintln!("finished in {:.2} s", started.elapsed().as_secs_f64());
        }
    }
    Ok(if report.failed() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
