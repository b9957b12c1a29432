//! `schemac bench`: compiles the schema, starts (or connects to) PostgreSQL, loads realistic data and prints the RLS cost of the app's typical queries; `--down-only` measures applying the up and down scripts of a (large) schema in one transaction each.

use crate::{compile, Format, Input};
use schema_pg::bench::{self, data::Scale, down, report, BenchOptions};
use schema_pg::ServerHandle;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum ScaleArg {
    /// 100 users, 2,000 rows per leaf table, 500 vectors: seconds.
    Small,
    /// 10k users, 1M rows per leaf table (e.g. messages), 100k vectors (e.g. document chunks).
    #[value(name = "1m")]
    Million,
    /// 1M users, 1M rows per leaf table and 1M vectors, skewed: a power user owns 10% of them
    /// (100k chunks), the rest follow a Zipf-like law; queries also run as the power user and an admin.
    #[value(name = "1m-users")]
    MillionUsers,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum OutFormat {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The schema file.
    #[arg(default_value = "schema.yaml")]
    schema: PathBuf,
    /// Data size preset; `--users`, `--messages` and `--chunks` override its parts.
    #[arg(long, value_enum, default_value = "small")]
    scale: ScaleArg,
    /// Users in auth.users (the signup triggers fire for each).
    #[arg(long)]
    users: Option<u64>,
    /// Rows of each leaf table: one no other table references, with a foreign key (messages).
    #[arg(long)]
    messages: Option<u64>,
    /// Rows of each table with a vector column (document chunks).
    #[arg(long)]
    chunks: Option<u64>,
    /// Skew the leaf and vector tables: the power user (user 1) owns this share of their rows,
    /// the rest follow a Zipf-like law (0 turns skew off; `--scale 1m-users` uses 0.1).
    #[arg(long)]
    power_share: Option<f64>,
    /// maintenance_work_mem for building the vector indexes after loading.
    #[arg(long, default_value = "1GB")]
    maintenance_work_mem: String,
    /// Timed runs per query and side (the median is reported).
    #[arg(long, default_value_t = 11)]
    reps: usize,
    /// Skip the naive-policy comparison.
    #[arg(long)]
    no_naive: bool,
    /// Skip the membership-form comparison.
    #[arg(long)]
    no_member_forms: bool,
    /// Skip the diagnostic run without the app-role (admin) branches of the policies.
    #[arg(long)]
    no_role_variant: bool,
    /// Keep the scratch database (only useful with --database-url).
    #[arg(long)]
    keep: bool,
    /// Instead of the query benchmark: apply the schema's up migration and then its down script,
    /// each in one transaction, and report whether the server's lock table holds them (use the
    /// 1,000-table fixture: `cargo run -p schemac-tests --bin synth_schema > /tmp/s1000.yaml`).
    #[arg(long)]
    down_only: bool,
    /// An existing server (a superuser URL). Everything runs in a scratch database that is
    /// dropped afterwards. Default: `$DATABASE_URL` if set, else an embedded PostgreSQL.
    #[arg(long)]
    database_url: Option<String>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value = "human")]
    format: OutFormat,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let input = Input {
        schema: args.schema.clone(),
        format: Format::Human,
    };
    let (_, c) = compile(&input)?;
    let Some(ir) = c.ir else {
        return Ok(ExitCode::from(1));
    };
    let url = args.database_url.clone().or_else(|| {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
    });
    let server = match url {
        Some(u) => ServerHandle::external(u)?,
        None => {
            eprintln!("starting PostgreSQL (embedded: fsync off, synchronous_commit off)...");
            ServerHandle::Embedded(
                schema_pg::EmbeddedServer::start().map_err(|e| anyhow::anyhow!("{e}"))?,
            )
        }
    };
    if args.down_only {
        let r = down::run(&server, &ir).map_err(|e| anyhow::anyhow!("{e}"))?;
        drop(server);
        match args.format {
            OutFormat::Json => print!("{}", down::json(&r)),
            OutFormat::Human => print!("{}", down::human(&r)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut scale = match args.scale {
        ScaleArg::Small => Scale::small(),
        ScaleArg::Million => Scale::million(),
        ScaleArg::MillionUsers => Scale::million_users_skewed(),
    };
    if let Some(n) = args.users {
        scale.users = n.max(2);
    }
    if let Some(n) = args.messages {
        scale.leaf_rows = n.max(1);
    }
    if let Some(n) = args.chunks {
        scale.vector_rows = n.max(1);
    }
    if let Some(p) = args.power_share {
        scale.skew = (p > 0.0 && p.is_finite()).then_some(bench::data::Skew {
            power_share: p.min(0.99),
        });
    }
    let opts = BenchOptions {
        scale,
        maintenance_work_mem: args.maintenance_work_mem.clone(),
        reps: args.reps.max(1),
        member_forms: !args.no_member_forms,
        without_role_rules: !args.no_role_variant,
        naive: !args.no_naive,
        keep_database: args.keep,
    };
    let mut progress = |line: &str| eprintln!("bench: {line}");
    let r = bench::run(&server, &ir, &opts, &mut progress).map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(server);
    match args.format {
        OutFormat::Json => print!("{}", report::json(&r)),
        OutFormat::Human => print!("{}", report::human(&r)),
    }
    Ok(ExitCode::SUCCESS)
}
