//! Benchmark: `schemac test`'s policy harness vs the same checks as one pgTAP file run by `pg_prove` (see bench/README.md).
//!
//! Usage: `pgtap_bench [--pgtap-sql PATH] [--pg-prove PATH] [--out DIR] [--runs N]`
//!
//! 1. compiles `schema.yaml`, loads `tests/policies/`, starts an embedded PostgreSQL;
//! 2. runs the harness N times (default 2; grant mode `no_auto_grant`, `keep_databases`),
//!    timing each call;
//! 3. writes every check that has a replayable probe as a pgTAP assertion (plus a negated
//!    control file in which every assertion must fail), loads pgTAP's SQL into the kept
//!    database, runs `pg_prove` (and plain `psql`) on it N times and checks the verdicts;
//! 4. prints the comparison and drops the kept databases.

use schema_core::sql::ident::{literal, quote};
use schema_pg::harness::{self, report, Check, HarnessOptions, Replay};
use schema_pg::{EmbeddedServer, GrantMode, SUPERUSER};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::time::{Duration, Instant};

/// Where pgTAP's plain install script is looked for: `<dir>/<major>/extension/pgtap.sql` (the
/// Debian package's layout; `bench/harness/run.sh` extracts it under `.cache/pgtap`).
const PGTAP_SHARE_DIRS: &[&str] = &[".cache/pgtap/usr/share/postgresql", "/usr/share/postgresql"];

fn find_pgtap_sql(root: &Path) -> Option<PathBuf> {
    for dir in PGTAP_SHARE_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("extension/pgtap.sql"))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        if let Some(p) = found.pop() {
            return Some(p);
        }
    }
    None
}

struct Args {
    pgtap_sql: PathBuf,
    pg_prove: PathBuf,
    out: PathBuf,
    runs: usize,
}

fn parse_args() -> Result<Args, String> {
    let root = schemac_tests::workspace_root();
    let mut pgtap_sql = None;
    let mut pg_prove = PathBuf::from("pg_prove");
    let mut out = root.join("target/pgtap-bench");
    let mut runs = 2;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--pgtap-sql" => pgtap_sql = Some(PathBuf::from(value()?)),
            "--pg-prove" => pg_prove = PathBuf::from(value()?),
            "--out" => out = PathBuf::from(value()?),
            "--runs" => {
                runs = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or("--runs needs a positive number")?
            }
            "-h" | "--help" => return Err(
                "usage: pgtap_bench [--pgtap-sql PATH] [--pg-prove PATH] [--out DIR] [--runs N]"
                    .into(),
            ),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let pgtap_sql = match pgtap_sql {
        Some(p) => p,
        None => find_pgtap_sql(&root).ok_or("pgTAP's SQL not found: pass --pgtap-sql PATH (bench/harness/run.sh extracts it from the Debian package postgresql-15-pgtap)")?,
    };
    Ok(Args {
        pgtap_sql,
        pg_prove,
        out,
        runs,
    })
}

/// What a pgTAP assertion must find: the harness's outcome, or its opposite (control file).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Polarity {
    AsHarness,
    Negated,
}

/// The statement kind of a probe: the first keyword of its SQL.
fn statement_kind(r: &Replay) -> &'static str {
    let first = r
        .sql
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match first.as_str() {
        "select" => "select",
        "insert" => "insert",
        "update" => "update",
        "delete" => "delete",
        _ => "other",
    }
}

/// The pgTAP assertion checking `c` (expected outcome as the harness defines it: `refused` =
/// SQLSTATE 42501; `allowed` = succeeds, with at least one row returned or affected except for
/// inserts; `filtered` = succeeds with no row).
fn assertion(c: &Check, r: &Replay, polarity: Polarity) -> Result<String, String> {
    let desc =
        literal(&format!("{}: {}: expected {}", c.group, c.name(), c.expected).replace('#', "no."));
    let sql = literal(&r.sql);
    let count = |q: &str| format!("(select count(*) from ({q}) as bench_q)");
    let kind = statement_kind(r);
    let refused = format!("throws_ok({sql}, '42501'::char(5), null::text, {desc})");
    let lives = format!("lives_ok({sql}, {desc})");
    let rows = match kind {
        "select" => count(&r.sql),
        "update" | "delete" => format!("pg_temp.bench_affected({sql})"),
        _ => String::new(),
    };
    let some = format!("cmp_ok({rows}, '>', 0::bigint, {desc})");
    let none = format!("is({rows}, 0::bigint, {desc})");
    let neg = polarity == Polarity::Negated;
    Ok(match (c.expected.as_str(), kind) {
        ("refused", _) => {
            if neg {
                lives
            } else {
                refused
            }
        }
        ("allowed", "insert") => {
            if neg {
                refused
            } else {
                lives
            }
        }
        ("allowed", "select" | "update" | "delete") => {
            if neg {
                none
            } else {
                some
            }
        }
        ("filtered", "select" | "update" | "delete") => {
            if neg {
                some
            } else {
                none
            }
        }
        (e, k) => {
            return Err(format!(
                "no pgTAP translation for expected `{e}` on a {k} statement ({})",
                c.name()
            ))
        }
    })
}

/// One pgTAP file: every probe in a savepoint-isolated block, in one transaction rolled back.
///
/// pgTAP keeps its counters (`curr_test`, `failed`) in a temporary table, so rolling back to
/// the case's savepoint also undoes the assertion's bookkeeping (test numbers come from a
/// sequence and survive). So each assertion's TAP line is captured into a psql variable and
/// printed after the rollback; a failed assertion bumps `failed` again after the rollback, and
/// `curr_test` is set from the sequence before `finish()`, which then checks the plan and
/// reports failures as usual.
fn pgtap_file(checks: &[(&Check, &Replay)], polarity: Polarity) -> Result<String, String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "-- {} policy checks replayed from the schemac harness (generated by pgtap_bench; {}).",
        checks.len(),
        match polarity {
            Polarity::AsHarness => "each assertion expects the harness's outcome",
            Polarity::Negated => "negated control: every assertion must fail",
        }
    );
    s.push_str("\\set ON_ERROR_STOP 1\n");
    s.push_str("begin;\n");
    s.push_str(
        "-- Rows changed by one statement (GET DIAGNOSTICS ROW_COUNT = the command tag's count), run as the current role.\n\
         create function pg_temp.bench_affected(stmt text) returns bigint language plpgsql as $bench$\n\
         declare n bigint;\n\
         begin\n  execute stmt;\n  get diagnostics n = row_count;\n  return n;\nend\n$bench$;\n",
    );
    let _ = writeln!(s, "select plan({});", checks.len());
    for (c, r) in checks {
        let _ = writeln!(
            s,
            "\n-- [{}] {}: {}",
            c.mode,
            c.group,
            c.name().replace('\n', " ")
        );
        s.push_str("savepoint bench_case;\n");
        if let Some(setup) = &r.setup {
            let _ = writeln!(s, "{};", setup.trim_end().trim_end_matches(';'));
        }
        let _ = writeln!(s, "set local role {};", quote(&r.role));
        let _ = writeln!(
            s,
            "select set_config('request.jwt.claims', {}, true) as bench_claims \\gset",
            literal(&r.claims)
        );
        let _ = writeln!(
            s,
            "select tap as bench_tap, tap like 'ok %' as bench_ok from (select {}) as a(tap) \\gset",
            assertion(c, r, polarity)?
        );
        s.push_str("reset role;\n");
        s.push_str("rollback to savepoint bench_case;\n");
        s.push_str("\\echo :bench_tap\n");
        s.push_str("\\if :bench_ok\n\\else\nselect _set('failed', num_failed() + 1) as bench_failed \\gset\n\\endif\n");
    }
    s.push_str("\nselect _set('curr_test', currval('__tresults___numb_seq')::integer) as bench_run \\gset\n");
    s.push_str("\nselect * from finish();\nrollback;\n");
    Ok(s)
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn run_timed(cmd: &mut Command) -> Result<(Output, Duration), String> {
    let t = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    Ok((out, t.elapsed()))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn path_with(bin_dir: &Path) -> String {
    match std::env::var("PATH") {
        Ok(p) if !p.is_empty() => format!("{}:{p}", bin_dir.display()),
        _ => bin_dir.display().to_string(),
    }
}

fn drop_database(server: &EmbeddedServer, name: &str) -> Result<(), String> {
    let mut admin = server.connect_admin().map_err(|e| e.to_string())?;
    admin
        .batch_execute(&format!(
            "drop database if exists {} with (force)",
            quote(name)
        ))
        .map_err(|e| format!("dropping {name}: {e}"))
}

/// `pg_prove`'s verdict: exit 0, "All tests successful." and `Tests=N`.
fn prove_ok(out: &Output, n: usize) -> bool {
    let t = text(out);
    out.status.success()
        && t.contains("All tests successful.")
        && t.contains(&format!("Tests={n},"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pgtap_bench: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let root = schemac_tests::workspace_root();

    // The schema, its migration and the policy suite, as `schemac test` builds them.
    let schema_path = root.join("schema.yaml");
    let text_yaml = std::fs::read_to_string(&schema_path)
        .map_err(|e| format!("cannot read {}: {e}", schema_path.display()))?;
    let mut sources = schema_core::Sources::new();
    sources.add("schema.yaml".to_string(), text_yaml);
    let compiled = schema_core::compile(&sources);
    let Some(ir) = compiled.ir else {
        let msgs: String = compiled
            .diagnostics
            .iter()
            .map(|d| schema_core::render::human(d, &sources))
            .collect();
        return Err(format!("schema.yaml does not compile:\n{msgs}"));
    };
    let migrations = schemac_tests::committed_migrations();
    let suite = schemac_tests::policy_suite();

    let t = Instant::now();
    let server = EmbeddedServer::start().map_err(|e| e.to_string())?;
    let server_start = t.elapsed();
    let bin_dir = server.binaries().bin_dir().to_path_buf();
    let psql = server.binaries().psql();

    // (a) The harness, twice, one grant mode, databases kept.
    let opts = HarnessOptions {
        modes: vec![GrantMode::NoAutoGrant],
        suite,
        keep_databases: true,
        check_drift: true,
    };
    let mut runs = Vec::new();
    for i in 1..=args.runs {
        let t = Instant::now();
        let r = harness::run(&server, &ir, &migrations, &opts).map_err(|e| e.to_string())?;
        let took = t.elapsed();
        eprintln!(
            "harness run {i}: {} checks in {:.3} s",
            r.checks.len(),
            secs(took)
        );
        if r.failed() != 0 {
            for (_, db, _) in &r.kept {
                drop_database(&server, db)?;
            }
            return Err(format!(
                "the harness itself fails; fix that first:\n{}",
                report::human(&r, false)
            ));
        }
        runs.push((r, took));
    }
    // Replay against the last run's database (its probes carry the key values of its own
    // fixtures); the others are not needed.
    let last = runs.len() - 1;
    for (r, _) in &runs[..last] {
        for (_, db, _) in &r.kept {
            drop_database(&server, db)?;
        }
    }
    let result = replay(&args, &server, &psql, &bin_dir, &runs, server_start);
    for (_, db, _) in &runs[last].0.kept {
        drop_database(&server, db)?;
    }
    result
}

fn phase(r: &harness::Report, suffix: &str) -> Duration {
    r.timings
        .iter()
        .filter(|(p, _)| p.ends_with(suffix))
        .map(|(_, d)| *d)
        .sum()
}

fn replay(
    args: &Args,
    server: &EmbeddedServer,
    psql: &Path,
    bin_dir: &Path,
    runs: &[(harness::Report, Duration)],
    server_start: Duration,
) -> Result<(), String> {
    let (report, _) = runs.last().ok_or("no harness run")?;
    let (_, db, url) = report
        .kept
        .first()
        .ok_or("the harness kept no database")?
        .clone();
    let probes: Vec<(&Check, &Replay)> = report
        .checks
        .iter()
        .filter_map(|c| c.probe.as_ref().map(|p| (c, p)))
        .collect();
    let n = probes.len();

    // (b) The pgTAP files.
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let file = args.out.join("policy_checks.pg");
    let control = args.out.join("policy_checks_negated.pg");
    std::fs::write(&file, pgtap_file(&probes, Polarity::AsHarness)?)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    std::fs::write(&control, pgtap_file(&probes, Polarity::Negated)?)
        .map_err(|e| format!("cannot write {}: {e}", control.display()))?;

    // pgTAP's plain install script (no CREATE EXTENSION: its control file is for PostgreSQL
    // 15's share directory), loaded as the superuser into `extensions`, which is on the search
    // path of `postgres` (the role the harness acts from and pg_prove connects as).
    let admin_url = server.url_for(SUPERUSER, &db);
    let t = Instant::now();
    let (out, _) = run_timed(
        Command::new(psql)
            .env(
                "PGOPTIONS",
                "-c search_path=extensions -c client_min_messages=warning",
            )
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &admin_url, "-f"])
            .arg(&args.pgtap_sql),
    )?;
    let pgtap_load = t.elapsed();
    if !out.status.success() {
        return Err(format!("loading pgTAP failed:\n{}", text(&out)));
    }

    // (c) pg_prove twice (its psql: PostgreSQL 18's, first on PATH and named explicitly).
    let path = path_with(bin_dir);
    let prove = |f: &Path, verbose: bool| {
        let mut cmd = Command::new(&args.pg_prove);
        cmd.env("PATH", &path)
            .arg("--psql-bin")
            .arg(psql)
            .args(["--nocolor", "-d", &url]);
        if verbose {
            cmd.arg("--verbose");
        }
        cmd.arg(f);
        run_timed(&mut cmd)
    };
    let mut prove_times = Vec::new();
    for i in 1..=args.runs {
        let (out, took) = prove(&file, false)?;
        if !prove_ok(&out, n) {
            let (detail, _) = prove(&file, true)?;
            return Err(format!(
                "pg_prove run {i} did not pass all {n} tests:\n{}\n--- verbose ---\n{}",
                text(&out),
                text(&detail)
            ));
        }
        eprintln!("pg_prove run {i}: {n} tests in {:.3} s", secs(took));
        prove_times.push(took);
    }
    // The same file through psql alone, with pg_prove's psql options (no Perl, no TAP parsing).
    let psql_file = |f: &Path| {
        let (out, took) = run_timed(
            Command::new(psql)
                .args([
                    "--no-psqlrc",
                    "--no-align",
                    "--quiet",
                    "--pset",
                    "pager=off",
                    "--pset",
                    "tuples_only=true",
                    "--set",
                    "ON_ERROR_STOP=1",
                    "-d",
                    &url,
                    "-f",
                ])
                .arg(f),
        )?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let oks = stdout.lines().filter(|l| l.starts_with("ok ")).count();
        // finish() prints `# Looks like ...` when the plan or a counter is off.
        let diags = stdout.lines().filter(|l| l.starts_with('#')).count();
        if !out.status.success()
            || oks != n
            || !stdout.starts_with(&format!("1..{n}\n"))
            || diags != 0
        {
            return Err(format!(
                "psql on {}: {oks} of {n} ok:\n{}",
                f.display(),
                text(&out)
            ));
        }
        Ok(took)
    };
    let mut psql_times = Vec::new();
    for _ in 1..=args.runs {
        psql_times.push(psql_file(&file)?);
    }
    // Start-up baselines: pg_prove on a one-assertion file, psql on `select 1`.
    let trivial = args.out.join("one_assertion.pg");
    std::fs::write(&trivial, "begin;\nselect plan(1);\nselect ok(true, 'baseline');\nselect * from finish();\nrollback;\n")
        .map_err(|e| format!("cannot write {}: {e}", trivial.display()))?;
    let mut prove_base = Vec::new();
    let mut psql_base = Vec::new();
    for _ in 1..=args.runs {
        let (out, took) = prove(&trivial, false)?;
        if !prove_ok(&out, 1) {
            return Err(format!("pg_prove baseline failed:\n{}", text(&out)));
        }
        prove_base.push(took);
        let (out, took) =
            run_timed(Command::new(psql).args(["-X", "-q", "-d", &url, "-c", "select 1"]))?;
        if !out.status.success() {
            return Err(format!("psql baseline failed:\n{}", text(&out)));
        }
        psql_base.push(took);
    }
    // The control: every assertion negated must fail, so the assertions can fail at all.
    let (out, _) = prove(&control, true)?;
    let t = text(&out);
    let not_ok = t.lines().filter(|l| l.starts_with("not ok ")).count();
    let oks = t.lines().filter(|l| l.starts_with("ok ")).count();
    // finish() must see every failure despite the savepoint rollbacks.
    let summary = format!("# Looks like you failed {n} tests of {n}");
    if out.status.success() || not_ok != n || oks != 0 || !t.contains(&summary) {
        return Err(format!(
            "negated control: expected {n} failures, got {not_ok} failed and {oks} passed:\n{t}"
        ));
    }
    eprintln!("negated control: all {n} negated assertions fail, as they must");

    // (d) The summary.
    let by_group = |g: &str| report.checks.iter().filter(|c| c.group == g).count();
    let phase_checks = ["matrix", "columns", "ownership", "cascade"]
        .iter()
        .map(|g| by_group(g))
        .sum::<usize>();
    let totals: Vec<f64> = runs.iter().map(|(_, d)| secs(*d)).collect();
    let (best_report, best_total) = runs
        .iter()
        .min_by_key(|(_, d)| *d)
        .map(|(r, d)| (r, *d))
        .ok_or("no harness run")?;
    let matrix_times: Vec<f64> = runs
        .iter()
        .map(|(r, _)| secs(phase(r, ": matrix")))
        .collect();
    let best_matrix = matrix_times.iter().cloned().fold(f64::INFINITY, f64::min);
    let best_prove = prove_times
        .iter()
        .map(|d| secs(*d))
        .fold(f64::INFINITY, f64::min);
    let best_psql = psql_times
        .iter()
        .map(|d| secs(*d))
        .fold(f64::INFINITY, f64::min);
    let total_checks = best_report.checks.len();
    let mut s = String::new();
    let _ = writeln!(s, "== schemac test (policy harness) vs pg_prove (pgTAP) ==");
    let _ = writeln!(
        s,
        "schema: schema.yaml ({} tables), grant mode no_auto_grant, {} checks ({} matrix, {} columns, {} ownership, {} cascade, {} scenario); {} replayable probes",
        best_report_tables(best_report),
        total_checks,
        by_group("matrix"),
        by_group("columns"),
        by_group("ownership"),
        by_group("cascade"),
        by_group("scenario"),
        n
    );
    let _ = writeln!(
        s,
        "embedded server start (not in any figure below): {:.3} s",
        secs(server_start)
    );
    let _ = writeln!(
        s,
        "harness::run total, runs: {}; best {:.3} s = {:.0} checks/s  [database + platform + migration + fixtures + all checks incl. scenarios; no server start]",
        list_secs(&totals),
        secs(best_total),
        total_checks as f64 / secs(best_total)
    );
    for (p, d) in &best_report.timings {
        let _ = writeln!(s, "  phase {p}: {:.3} s", secs(*d));
    }
    let _ = writeln!(
        s,
        "harness matrix phase, runs: {}; best {:.3} s = {:.0} checks/s  [{} matrix+columns+ownership checks and 1 cascade check, each in its own transaction, on the migrated database with fixtures]",
        list_secs(&matrix_times),
        best_matrix,
        phase_checks as f64 / best_matrix,
        phase_checks - by_group("cascade")
    );
    let _ = writeln!(
        s,
        "pgTAP load into the kept database (not in pg_prove's figure): {:.3} s",
        secs(pgtap_load)
    );
    let _ = writeln!(
        s,
        "pg_prove wall, runs: {}; best {:.3} s = {:.0} assertions/s  [Perl + TAP harness start, psql start + connect, {n} assertions each in a savepoint, plan/finish, rollback; on the kept database]",
        list_secs(&prove_times.iter().map(|d| secs(*d)).collect::<Vec<_>>()),
        best_prove,
        n as f64 / best_prove
    );
    let _ = writeln!(
        s,
        "psql alone on the same file, runs: {}; best {:.3} s = {:.0} assertions/s  [pg_prove's psql command without Perl/TAP parsing]",
        list_secs(&psql_times.iter().map(|d| secs(*d)).collect::<Vec<_>>()),
        best_psql,
        n as f64 / best_psql
    );
    let best_prove_base = prove_base
        .iter()
        .map(|d| secs(*d))
        .fold(f64::INFINITY, f64::min);
    let best_psql_base = psql_base
        .iter()
        .map(|d| secs(*d))
        .fold(f64::INFINITY, f64::min);
    let _ = writeln!(
        s,
        "start-up baselines, best of {}: pg_prove on a 1-assertion file {:.3} s; psql -c 'select 1' {:.3} s",
        args.runs, best_prove_base, best_psql_base
    );
    let net = best_prove - best_prove_base;
    let _ = writeln!(
        s,
        "pg_prove net of its start-up: {:.3} s = {:.0} assertions/s  [pg_prove wall minus the 1-assertion baseline]",
        net,
        n as f64 / net
    );
    let _ = writeln!(
        s,
        "ratio (pg_prove time / harness matrix phase time, same {n} assertions): {:.2}x (net of pg_prove start-up: {:.2}x)",
        best_prove / best_matrix,
        net / best_matrix
    );
    let _ = writeln!(
        s,
        "ratio (pg_prove time / harness total incl. database, migration and fixtures): {:.2}x",
        best_prove / secs(best_total)
    );
    let _ = writeln!(s, "pgTAP file: {}", file.display());
    print!("{s}");
    Ok(())
}

fn list_secs(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.3} s"))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn best_report_tables(r: &harness::Report) -> usize {
    let mut t: Vec<&str> = r
        .checks
        .iter()
        .filter(|c| c.group == "matrix")
        .map(|c| c.table.as_str())
        .collect();
    t.sort_unstable();
    t.dedup();
    t.len()
}
