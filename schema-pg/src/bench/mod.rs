//! `schemac bench`: loads realistic data into a scratch database for any schema, then times the app's typical queries as each actor against `service_role` with the equivalent explicit filter, reads their plans, and compares naive hand-written policies and both membership forms on the same data.
//!
//! Steps of [`run`]:
//! 1. a scratch database with the Supabase platform (no automatic grants) and the migration
//!    emitted from the schema; vector (hnsw/ivfflat) indexes are dropped before loading;
//! 2. data from [`data::DataPlan`]: users in batches (the signup triggers fire), then every
//!    table with set-based `insert ... select ... from generate_series(...)`; `vacuum analyze`;
//!    the vector indexes rebuilt with the chosen `maintenance_work_mem` (timed);
//! 3. the typical queries of [`queries`], each run as its user (role `authenticated` and JWT
//!    claims, exactly as PostgREST does) and as `service_role` with the explicit filter: a warm
//!    cache, the median of several runs, the rows compared, and the plan of the actor query
//!    summarised by [`plan`];
//! 4. the same queries with membership conditions as `in (select helper())` and as
//!    `= any (array(select helper()))`, then with the generated policies minus their app-role
//!    (admin) branches, then with the naive policies of [`policies`] (and without the indexes
//!    schemac adds) — in that order, on the same data.
//!
//! [`down`] measures applying a large schema's down script in one transaction.

pub mod data;
pub mod down;
pub mod plan;
pub mod policies;
pub mod queries;
pub mod report;

use crate::error::{describe_postgres_error, PgError};
use crate::platform::{install_supabase_platform, is_supabase, GrantMode};
use crate::server::PgServer;
use crate::session::{act_as, Actor};
use crate::TestDatabase;
use data::{DataPlan, Kind, Scale};
use plan::PlanSummary;
use policies::MemberForm;
use postgres::{Client, SimpleQueryMessage};
use queries::Query;
use schema_core::emit::{up, EmitOptions};
use schema_core::ir::{IndexMethod, Schema};
use schema_core::sql::ident::{qualified, quote};
use std::time::Instant;

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub scale: Scale,
    /// `maintenance_work_mem` for building the vector indexes, e.g. `1GB`.
    pub maintenance_work_mem: String,
    /// Timed runs per query and side (after warm-up runs); the median is reported. Queries
    /// slower than a second get at most 3.
    pub reps: usize,
    /// Also measure both membership forms.
    pub member_forms: bool,
    /// Also measure the generated policies without their app-role (admin) branches.
    pub without_role_rules: bool,
    /// Also measure the naive policies (last: they drop indexes).
    pub naive: bool,
    /// Keep the scratch database (its name is in [`BenchReport::database`]).
    pub keep_database: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            scale: Scale::small(),
            maintenance_work_mem: "1GB".into(),
            reps: 11,
            member_forms: true,
            without_role_rules: true,
            naive: true,
            keep_database: false,
        }
    }
}

/// Timings of one query on one side.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measure {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub reps: usize,
    /// Rows returned.
    pub rows: usize,
    pub plan: PlanSummary,
}

/// One typical query, measured.
#[derive(Clone, Debug)]
pub struct QueryResult {
    pub query: Query,
    /// As the actor, with the generated policies.
    pub actor: Measure,
    /// As `service_role`, with the explicit filter.
    pub service: Measure,
    /// actor median / service median.
    pub ratio: f64,
    /// Whether the actor and the service query returned the same rows.
    pub same_rows: bool,
    /// As the actor with membership conditions as `in (select helper())`.
    pub in_select: Option<Measure>,
    /// As the actor with membership conditions as `= any (array(select helper()))`.
    pub any_array: Option<Measure>,
    /// As the actor with the generated policies minus their app-role (admin) branches.
    pub without_role_rules: Option<Measure>,
    /// Without the app-role branches, membership conditions as `in (select helper())`.
    pub no_role_in_select: Option<Measure>,
    /// Without the app-role branches, membership conditions as `= any (array(select helper()))`.
    pub no_role_any_array: Option<Measure>,
    /// As the actor with the naive policies and without the indexes schemac adds.
    pub naive: Option<Measure>,
    /// Whether the naive policies returned the same rows as the generated ones.
    pub naive_same_rows: Option<bool>,
}

/// How one table was filled.
#[derive(Clone, Debug)]
pub struct TableLoad {
    pub table: String,
    pub kind: Kind,
    pub planned_rows: u64,
    pub rows: u64,
    /// `generated`, or `trigger` when the signup triggers filled it.
    pub source: &'static str,
    pub seconds: f64,
}

/// Everything a bench run measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    pub database: String,
    pub server_version: String,
    /// Server settings that matter for the figures (name, value).
    pub settings: Vec<(String, String)>,
    pub scale: Scale,
    pub migration_seconds: f64,
    pub users: u64,
    pub users_seconds: f64,
    pub tables: Vec<TableLoad>,
    /// Users and all tables.
    pub load_seconds: f64,
    pub vacuum_analyze_seconds: f64,
    /// (index, seconds) of each vector index built after loading.
    pub index_builds: Vec<(String, f64)>,
    pub maintenance_work_mem: String,
    pub queries: Vec<QueryResult>,
    /// The membership form the emitter generates today, if the schema has member rules.
    pub generated_member_form: Option<MemberForm>,
    /// Indexes dropped for the naive run.
    pub naive_dropped_indexes: Vec<String>,
    pub total_seconds: f64,
}

impl BenchReport {
    /// The membership forms compared over the queries whose policies use a member rule, with
    /// the generated policies (`without_role_rules` false) or without their app-role branches.
    pub fn member_verdict(&self, without_role_rules: bool) -> Option<MemberVerdict> {
        let mut v = MemberVerdict {
            in_select_ms: 0.0,
            any_array_ms: 0.0,
            in_select_wins: 0,
            any_array_wins: 0,
            faster: MemberForm::AnyArray,
        };
        let mut n = 0;
        for q in &self.queries {
            let pair = if without_role_rules {
                (&q.no_role_in_select, &q.no_role_any_array)
            } else {
                (&q.in_select, &q.any_array)
            };
            if let (Some(a), Some(b)) = pair {
                v.in_select_ms += a.median_ms;
                v.any_array_ms += b.median_ms;
                if a.median_ms < b.median_ms {
                    v.in_select_wins += 1;
                } else {
                    v.any_array_wins += 1;
                }
                n += 1;
            }
        }
        if v.in_select_ms < v.any_array_ms {
            v.faster = MemberForm::InSelect;
        }
        (n > 0).then_some(v)
    }
}

/// Both membership forms over the same queries: summed medians, per-query wins, and the form
/// with the smaller sum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemberVerdict {
    pub in_select_ms: f64,
    pub any_array_ms: f64,
    pub in_select_wins: usize,
    pub any_array_wins: usize,
    pub faster: MemberForm,
}

fn ctx(what: impl Into<String>) -> impl FnOnce(postgres::Error) -> PgError {
    let context = what.into();
    move |source| PgError::Harness { context, source }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Rows of a query as text, for comparing results.
type Rows = Vec<Vec<Option<String>>>;

/// Runs `sql` as `actor` in a transaction that is rolled back; returns the time of the query
/// alone (prepare, execute, fetch) in milliseconds and the number of rows.
fn timed(client: &mut Client, actor: &Actor, sql: &str) -> Result<(f64, usize), PgError> {
    let mut tx = client.transaction()?;
    act_as(&mut tx, actor)?;
    let t = Instant::now();
    let rows = tx
        .query(sql, &[])
        .map_err(ctx(format!("running as {}: {sql}", actor.role())))?;
    let elapsed = ms(t);
    tx.rollback()?;
    Ok((elapsed, rows.len()))
}

fn rows_of(client: &mut Client, actor: &Actor, sql: &str) -> Result<Rows, PgError> {
    let mut tx = client.transaction()?;
    act_as(&mut tx, actor)?;
    let msgs = tx
        .simple_query(sql)
        .map_err(ctx(format!("running as {}: {sql}", actor.role())))?;
    tx.rollback()?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect())
}

fn explain(
    client: &mut Client,
    actor: &Actor,
    sql: &str,
    table: &str,
    markers: &[String],
) -> Result<PlanSummary, PgError> {
    let mut tx = client.transaction()?;
    act_as(&mut tx, actor)?;
    let row = tx
        .query_one(
            &format!("explain (analyze, verbose, format json) {sql}"),
            &[],
        )
        .map_err(ctx(format!("explaining as {}: {sql}", actor.role())))?;
    tx.rollback()?;
    let v: serde_json::Value = row.get(0);
    Ok(plan::summarize(&v, table, markers))
}

/// Warm-up, then `reps` timed runs (fewer for slow queries), then the plan.
fn measure(
    client: &mut Client,
    actor: &Actor,
    sql: &str,
    table: &str,
    reps: usize,
    markers: &[String],
) -> Result<Measure, PgError> {
    let (first, _) = timed(client, actor, sql)?;
    let reps = if first > 10_000.0 {
        1
    } else if first > 1_000.0 {
        reps.clamp(1, 3)
    } else {
        if first < 100.0 {
            timed(client, actor, sql)?;
        }
        reps.max(1)
    };
    let mut times = Vec::with_capacity(reps);
    let mut rows = 0;
    for _ in 0..reps {
        let (t, n) = timed(client, actor, sql)?;
        times.push(t);
        rows = n;
    }
    let plan = explain(client, actor, sql, table, markers)?;
    let min_ms = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max_ms = times.iter().copied().fold(0.0, f64::max);
    Ok(Measure {
        median_ms: median(&mut times),
        min_ms,
        max_ms,
        reps,
        rows,
        plan,
    })
}

fn user_actor(q: &Query) -> Actor {
    Actor::user(q.user, &q.email)
}

/// `service_role`, carrying the user's claims so custom SQL calling `auth.uid()` names the user.
fn service_actor(q: &Query) -> Actor {
    Actor::service_role().with_claim("sub", serde_json::json!(q.user.to_string()))
}

fn setting(client: &mut Client, name: &str) -> String {
    client
        .query_one("select coalesce(current_setting($1, true), '')", &[&name])
        .map(|r| r.get::<_, String>(0))
        .unwrap_or_default()
}

/// Runs the whole benchmark on a scratch database of `server`. `progress` gets one line per step.
pub fn run<S: PgServer + ?Sized>(
    server: &S,
    schema: &Schema,
    opts: &BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BenchReport, PgError> {
    let started = Instant::now();
    let plan = DataPlan::new(schema, &opts.scale).map_err(PgError::Message)?;
    let db = TestDatabase::create(server, "bench")?;
    let mut admin = db.connect_admin()?;
    if !is_supabase(&mut admin) {
        install_supabase_platform(&mut admin, GrantMode::NoAutoGrant)?;
    }
    let mut pg = db.connect_as("postgres")?;
    pg.batch_execute("set statement_timeout = 0")?;

    // 1. The migration, without its vector indexes.
    let t = Instant::now();
    pg.batch_execute(&up::migration(schema, &EmitOptions::default()))
        .map_err(ctx("applying the migration"))?;
    let migration_seconds = t.elapsed().as_secs_f64();
    let statements = up::statements(schema);
    let mut vector_indexes: Vec<(String, String)> = Vec::new();
    for tbl in &schema.tables {
        for ix in &tbl.indexes {
            if matches!(ix.method, IndexMethod::Hnsw | IndexMethod::Ivfflat) {
                let needle = format!("create index {} on ", quote(&ix.name));
                let unique = format!("create unique index {} on ", quote(&ix.name));
                if let Some(stmt) = statements
                    .iter()
                    .find(|s| s.contains(&needle) || s.contains(&unique))
                {
                    vector_indexes.push((ix.name.clone(), stmt.clone()));
                    pg.batch_execute(&format!("drop index {}", qualified("public", &ix.name)))?;
                }
            }
        }
    }

    // 2. Data.
    let load_started = Instant::now();
    let t = Instant::now();
    let batch = 1_000;
    let mut from = 1;
    while from <= plan.users {
        let to = (from + batch - 1).min(plan.users);
        pg.batch_execute(&plan.users_insert(from, to)).map_err(ctx(
            "inserting users into auth.users (the signup triggers run here)",
        ))?;
        from = to + 1;
    }
    let users_seconds = t.elapsed().as_secs_f64();
    progress(&format!(
        "loaded {} users in {users_seconds:.1} s",
        plan.users
    ));
    let mut tables = Vec::new();
    pg.batch_execute("select setseed(0.42)")?;
    for tp in &plan.tables {
        let Some(tbl) = schema.tables.iter().find(|t| t.name == tp.name) else {
            continue;
        };
        let tq = qualified("public", &tbl.name);
        let existing: i64 = pg
            .query_one(&format!("select count(*) from {tq}"), &[])?
            .get(0);
        if existing > 0 {
            tables.push(TableLoad {
                table: tbl.name.clone(),
                kind: tp.kind,
                planned_rows: tp.rows,
                rows: existing as u64,
                source: "trigger",
                seconds: 0.0,
            });
            continue;
        }
        let t = Instant::now();
        let batch = if tp.kind == Kind::Vector {
            25_000
        } else {
            200_000
        };
        let mut from = 1;
        while from <= tp.rows {
            let to = (from + batch - 1).min(tp.rows);
            let sql = plan.insert(tbl, from, to).map_err(PgError::Message)?;
            pg.batch_execute(&sql)
                .map_err(ctx(format!("loading {} (rows {from}..{to})", tbl.name)))?;
            from = to + 1;
        }
        for s in plan.after_load(tbl) {
            pg.batch_execute(&s)?;
        }
        let seconds = t.elapsed().as_secs_f64();
        progress(&format!(
            "loaded {} rows into {} in {seconds:.1} s",
            tp.rows, tbl.name
        ));
        tables.push(TableLoad {
            table: tbl.name.clone(),
            kind: tp.kind,
            planned_rows: tp.rows,
            rows: tp.rows,
            source: "generated",
            seconds,
        });
    }
    let load_seconds = load_started.elapsed().as_secs_f64();
    let t = Instant::now();
    admin.batch_execute("vacuum (analyze)")?;
    let vacuum_analyze_seconds = t.elapsed().as_secs_f64();
    progress(&format!("vacuum analyze in {vacuum_analyze_seconds:.1} s"));
    pg.batch_execute(&format!(
        "set maintenance_work_mem = {}",
        schema_core::sql::ident::literal(&opts.maintenance_work_mem)
    ))
    .map_err(ctx("setting maintenance_work_mem"))?;
    let mut index_builds = Vec::new();
    for (name, stmt) in &vector_indexes {
        let t = Instant::now();
        pg.batch_execute(stmt)
            .map_err(ctx(format!("building {name}")))?;
        let secs = t.elapsed().as_secs_f64();
        progress(&format!("built {name} in {secs:.1} s"));
        index_builds.push((name.clone(), secs));
    }
    if !vector_indexes.is_empty() {
        admin.batch_execute("analyze")?;
    }
    let maintenance_work_mem = setting(&mut pg, "maintenance_work_mem");
    pg.batch_execute("reset maintenance_work_mem")?;

    // 3. Queries. The admin actor gets the app role its read rules name.
    if let (
        Some(role),
        Some(schema_core::ir::RoleSource::Column {
            table,
            column,
            user_column,
            ..
        }),
    ) = (queries::admin_role(schema), &schema.role_source)
    {
        admin
            .batch_execute(&format!(
                "update {} set {} = {} where {} = {}::uuid",
                qualified("public", table),
                quote(column),
                schema_core::sql::ident::literal(&role),
                quote(user_column),
                schema_core::sql::ident::literal(&data::user_uuid(queries::ADMIN_USER).to_string())
            ))
            .map_err(ctx("making the admin bench user an admin"))?;
    }
    let specs = queries::specs(schema);
    let mut lookup = |sql: &str| -> Result<Option<String>, String> {
        pg.query_opt(sql, &[])
            .map(|r| r.and_then(|r| r.get::<_, Option<String>>(0)))
            .map_err(|e| format!("{sql}: {}", describe_postgres_error(&e)))
    };
    let qs = queries::resolve(schema, &plan, &specs, &mut lookup).map_err(PgError::Message)?;
    let markers = plan::auth_markers(&schema.helpers_schema);
    let mut results = Vec::new();
    for q in qs {
        let user = user_actor(&q);
        let service = service_actor(&q);
        let actor = measure(&mut pg, &user, &q.actor_sql, &q.table, opts.reps, &markers)?;
        let svc = measure(
            &mut pg,
            &service,
            &q.service_sql,
            &q.table,
            opts.reps,
            &markers,
        )?;
        let same_rows =
            rows_of(&mut pg, &user, &q.actor_sql)? == rows_of(&mut pg, &service, &q.service_sql)?;
        let ratio = if svc.median_ms > 0.0 {
            actor.median_ms / svc.median_ms
        } else {
            0.0
        };
        progress(&format!(
            "{}: actor {:.2} ms, service_role {:.2} ms, ratio {ratio:.2}",
            q.name, actor.median_ms, svc.median_ms
        ));
        results.push(QueryResult {
            query: q,
            actor,
            service: svc,
            ratio,
            same_rows,
            in_select: None,
            any_array: None,
            without_role_rules: None,
            no_role_in_select: None,
            no_role_any_array: None,
            naive: None,
            naive_same_rows: None,
        });
    }

    // 4a. Both membership forms; 4b. without the app-role branches (a diagnostic of what they
    // cost), in the generated form and again in both membership forms.
    let generated_member_form = policies::generated_member_form(schema);
    let members = opts.member_forms && generated_member_form.is_some();
    let strip = opts.without_role_rules && policies::has_role_rules(schema);
    let mut variants: Vec<(bool, Option<MemberForm>)> = Vec::new();
    if members {
        variants.push((false, Some(MemberForm::InSelect)));
        variants.push((false, Some(MemberForm::AnyArray)));
    }
    if strip {
        variants.push((true, None));
        if members {
            variants.push((true, Some(MemberForm::InSelect)));
            variants.push((true, Some(MemberForm::AnyArray)));
        }
    }
    for &(stripped, form) in &variants {
        for s in policies::variant_statements(schema, stripped, form) {
            pg.batch_execute(&s)
                .map_err(ctx(format!("switching policies to a variant: {s}")))?;
        }
        let label = match (stripped, form) {
            (false, Some(f)) => f.name().to_string(),
            (true, None) => "without app-role rules".to_string(),
            (true, Some(f)) => format!("without app-role rules, {}", f.name()),
            (false, None) => "generated".to_string(),
        };
        for r in results
            .iter_mut()
            .filter(|r| form.is_none() || r.query.uses_membership)
        {
            let m = measure(
                &mut pg,
                &user_actor(&r.query),
                &r.query.actor_sql,
                &r.query.table,
                opts.reps,
                &markers,
            )?;
            progress(&format!(
                "{} [{label}]: {:.2} ms",
                r.query.name, m.median_ms
            ));
            let slot = match (stripped, form) {
                (false, Some(MemberForm::InSelect)) => &mut r.in_select,
                (false, Some(MemberForm::AnyArray)) => &mut r.any_array,
                (true, Some(MemberForm::InSelect)) => &mut r.no_role_in_select,
                (true, Some(MemberForm::AnyArray)) => &mut r.no_role_any_array,
                (_, None) => &mut r.without_role_rules,
            };
            *slot = Some(m);
        }
    }
    if !variants.is_empty() {
        for s in policies::variant_statements(schema, false, None) {
            pg.batch_execute(&s)?;
        }
    }

    // 4c. Naive policies, without the indexes schemac adds.
    let mut naive_dropped_indexes = Vec::new();
    if opts.naive {
        for s in policies::naive_statements(schema) {
            pg.batch_execute(&s)
                .map_err(ctx(format!("installing the naive policies: {s}")))?;
        }
        admin.batch_execute("analyze")?;
        naive_dropped_indexes = policies::added_indexes(schema);
        for r in results.iter_mut() {
            let user = user_actor(&r.query);
            let m = measure(
                &mut pg,
                &user,
                &r.query.actor_sql,
                &r.query.table,
                opts.reps,
                &markers,
            )?;
            let same = rows_of(&mut pg, &user, &r.query.actor_sql)?
                == rows_of(&mut pg, &service_actor(&r.query), &r.query.service_sql)?;
            progress(&format!("{} [naive]: {:.2} ms", r.query.name, m.median_ms));
            r.naive = Some(m);
            r.naive_same_rows = Some(same);
        }
    }

    let server_version = setting(&mut pg, "server_version");
    let mut settings = Vec::new();
    for name in [
        "shared_buffers",
        "work_mem",
        "effective_cache_size",
        "max_parallel_maintenance_workers",
        "max_parallel_workers_per_gather",
        "jit",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "hnsw.ef_search",
        "hnsw.iterative_scan",
    ] {
        let v = setting(&mut pg, name);
        if !v.is_empty() {
            settings.push((name.to_string(), v));
        }
    }
    drop(pg);
    drop(admin);
    let database = db.name().to_string();
    if opts.keep_database {
        std::mem::forget(db);
    } else {
        db.drop_now()?;
    }
    Ok(BenchReport {
        database,
        server_version,
        settings,
        scale: opts.scale.clone(),
        migration_seconds,
        users: plan.users,
        users_seconds,
        tables,
        load_seconds,
        vacuum_analyze_seconds,
        index_builds,
        maintenance_work_mem,
        queries: results,
        generated_member_form,
        naive_dropped_indexes,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
