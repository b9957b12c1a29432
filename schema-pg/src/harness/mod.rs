//! The policy harness behind `schemac test`: applies the committed migrations (what ships) to a
//! real database with the Supabase platform, proves by drift detection that they produce exactly
//! what the schema says, creates fixtures, then checks every table x actor x command against the
//! outcome the schema declares (plus column, ownership-move and cascade checks, and the team's
//! scenarios), each acting exactly as the data API does, in a transaction rolled back afterwards.

pub mod fixtures;
pub mod mutants;
pub mod report;

use crate::drift;
use crate::error::PgError;
use crate::migrate::{self, MigrationFile};
use crate::platform::{install_supabase_platform, is_supabase, GrantMode};
use crate::server::PgServer;
use crate::session::{act_as, Actor};
use crate::TestDatabase;
use fixtures::{email, user_id, Ctx, Planner};
use postgres::{Client, GenericClient, SimpleQueryMessage, Transaction};
use schema_core::emit::access::{self, Actor as Who, Outcome};
use schema_core::ir::{Command, Condition, DbRole, RoleSource, Schema, Table};
use schema_core::sql::ident::{list, literal, qualified, quote};
use schema_core::suite::{Expect, StepRole, Suite};
use std::time::{Duration, Instant};

/// What to run.
pub struct HarnessOptions {
    /// The grant modes to run the whole matrix in (each gets its own database).
    pub modes: Vec<GrantMode>,
    /// Pins, fixture overrides and scenarios from the policy test files.
    pub suite: Suite,
    /// Keep each mode's database (migrated, with fixtures) instead of dropping it; their
    /// `postgres` URLs are in [`Report::kept`]. The caller drops them. For benchmarks that replay
    /// the checks with another tool.
    pub keep_databases: bool,
    /// Compare the migrated database with the schema (drift detection) before any check; a
    /// difference fails the run and no other check runs on that database. Off only where a
    /// database deliberately differs from the schema (mutation testing).
    pub check_drift: bool,
}

/// One verified expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// `no_auto_grant` or `legacy_grants`.
    pub mode: &'static str,
    /// `matrix`, `columns`, `ownership`, `cascade` or `scenario`.
    pub group: &'static str,
    pub table: String,
    pub actor: String,
    pub op: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
    /// The policy (or grant) that decides it, when there is one.
    pub policy: Option<String>,
    /// The SQL that was run and the database's message, for failures.
    pub detail: Option<String>,
    /// How to replay a single-statement check elsewhere (e.g. as a pgTAP assertion).
    pub probe: Option<Replay>,
}

/// A single-statement check, replayable in a transaction on the prepared database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    /// Run first, as the migrating role (e.g. removing the owner's row before re-inserting it).
    pub setup: Option<String>,
    /// The database role to switch to, and the JWT claims (JSON) to set, as PostgREST does.
    pub role: String,
    pub claims: String,
    /// The statement whose outcome is checked.
    pub sql: String,
}

/// What a check is about, before it runs.
struct Probe {
    group: &'static str,
    table: String,
    actor: Who,
    op: String,
    expected: String,
    policy: Option<String>,
    sql: String,
    setup: Option<String>,
    /// No grant: the refusal must come from privileges, not from a policy.
    privilege: bool,
}

impl Check {
    /// Identifies the check across runs of one schema (mode, group, name).
    pub fn key(&self) -> String {
        format!("{} {} {}", self.mode, self.group, self.name())
    }

    /// `messages / member / insert` style name.
    pub fn name(&self) -> String {
        if self.table.is_empty() {
            format!("{} / {}", self.actor, self.op)
        } else {
            format!("{} / {} / {}", self.table, self.actor, self.op)
        }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
    /// Time spent per phase, for the benchmark: (phase, duration).
    pub timings: Vec<(String, Duration)>,
    /// With `keep_databases`: (mode, database name, URL as `postgres`).
    pub kept: Vec<(&'static str, String, String)>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.checks.len() - self.passed()
    }
}

/// Creates the harness's fixture users and rows (the owner's and the other user's row of every
/// table) in a migrated database, through `client` logged in as `postgres`. Used by tests that
/// need realistic data, e.g. to check a migration keeps it.
pub fn insert_fixtures(client: &mut Client, schema: &Schema, suite: &Suite) -> Result<(), PgError> {
    let mut h = Harness {
        schema,
        suite,
        planner: Planner::new(schema, suite),
        mode: "",
        checks: Vec::new(),
        stop: None,
        killed: None,
        only: None,
        skip: None,
    };
    h.create_fixtures(client)
}

pub fn mode_name(mode: GrantMode) -> &'static str {
    match mode {
        GrantMode::NoAutoGrant => "no_auto_grant",
        GrantMode::LegacyDefaultGrants => "legacy_grants",
    }
}

/// Runs the harness on `server`: one scratch database per grant mode, dropped afterwards. The
/// `migrations` are applied in order, as `schemac migrate up` would apply them.
pub fn run<S: PgServer + ?Sized>(
    server: &S,
    schema: &Schema,
    migrations: &[MigrationFile],
    opts: &HarnessOptions,
) -> Result<Report, PgError> {
    let mut report = Report::default();
    for &mode in &opts.modes {
        let t = Instant::now();
        let db = TestDatabase::create(server, &format!("harness_{}", mode_name(mode)))?;
        let mut admin = db.connect_admin()?;
        if !is_supabase(&mut admin) {
            install_supabase_platform(&mut admin, mode)?;
        }
        drop(admin);
        let mut pg = db.connect_as("postgres")?;
        report.timings.push((
            format!("{}: database and platform", mode_name(mode)),
            t.elapsed(),
        ));
        let t = Instant::now();
        migrate::up(&mut pg, migrations, None)?;
        report
            .timings
            .push((format!("{}: migration", mode_name(mode)), t.elapsed()));
        if opts.check_drift {
            let t = Instant::now();
            let findings = drift::drift(&mut pg, schema)?;
            report
                .timings
                .push((format!("{}: drift", mode_name(mode)), t.elapsed()));
            if !findings.is_empty() {
                report
                    .checks
                    .extend(findings.into_iter().map(|f| drift_check(mode, f)));
                drop(pg);
                db.drop_now()?;
                continue;
            }
            report.checks.push(Check {
                mode: mode_name(mode),
                group: "drift",
                table: String::new(),
                actor: "postgres".into(),
                op: "committed migrations produce schema.yaml".into(),
                expected: "no drift".into(),
                actual: "no drift".into(),
                passed: true,
                policy: None,
                detail: None,
                probe: None,
            });
        }
        let t = Instant::now();
        let mut h = Harness {
            schema,
            suite: &opts.suite,
            planner: Planner::new(schema, &opts.suite),
            mode: mode_name(mode),
            checks: Vec::new(),
            stop: None,
            killed: None,
            only: None,
            skip: None,
        };
        h.create_fixtures(&mut pg)?;
        report
            .timings
            .push((format!("{}: fixtures", mode_name(mode)), t.elapsed()));
        let t = Instant::now();
        h.matrix(&mut pg)?;
        h.column_checks(&mut pg)?;
        h.ownership_checks(&mut pg)?;
        h.link_moves(&mut pg)?;
        h.postgrest_shapes(&mut pg)?;
        h.cascade_check(&mut pg)?;
        report
            .timings
            .push((format!("{}: matrix", mode_name(mode)), t.elapsed()));
        let t = Instant::now();
        h.scenarios(&mut pg)?;
        report
            .timings
            .push((format!("{}: scenarios", mode_name(mode)), t.elapsed()));
        report.checks.extend(h.checks);
        drop(pg);
        if opts.keep_databases {
            report.kept.push((
                mode_name(mode),
                db.name().to_string(),
                db.url_for("postgres"),
            ));
            std::mem::forget(db);
        } else {
            db.drop_now()?;
        }
    }
    Ok(report)
}

/// A difference between what the committed migrations built and what schema.yaml says, as a
/// failed check: the tests would otherwise prove a database that is not the one that ships.
fn drift_check(mode: GrantMode, f: drift::Finding) -> Check {
    Check {
        mode: mode_name(mode),
        group: "drift",
        table: String::new(),
        actor: "postgres".into(),
        op: format!("{} ({})", f.object, f.kind.name()),
        expected: "the committed migrations to produce what schema.yaml says".into(),
        actual: f.detail,
        passed: false,
        policy: None,
        detail: Some(
            "generated/migrations does not build the schema that schema.yaml declares (a migration \
             was edited, or schema.yaml changed without `schemac generate`); no other check ran \
             on this database. Regenerate with `schemac generate` (never edit a migration by hand)."
                .into(),
        ),
        probe: None,
    }
}

struct Harness<'a> {
    schema: &'a Schema,
    suite: &'a Suite,
    planner: Planner<'a>,
    mode: &'static str,
    checks: Vec<Check>,
    /// Mutation testing: stop at the first failure of a check that passed in `baseline` (keys
    /// from [`Check::key`]); its name is kept in `killed`.
    stop: Option<std::collections::BTreeSet<String>>,
    killed: Option<String>,
    /// Mutation testing: check only this table (a first pass on the table a mutant touched,
    /// where it dies soonest), or every table but it (the second pass).
    only: Option<String>,
    skip: Option<String>,
}

/// What a statement did.
#[derive(Debug)]
enum Actual {
    /// Succeeded; rows returned or affected, and the first value of the first row.
    Ok { rows: u64, first: Option<String> },
    /// Failed with a SQLSTATE and a message.
    Err { code: String, message: String },
}

fn run_sql(tx: &mut Transaction<'_>, sql: &str) -> Actual {
    let mut sp = match tx.transaction() {
        Ok(sp) => sp,
        Err(e) => {
            return Actual::Err {
                code: code_of(&e),
                message: e.to_string(),
            }
        }
    };
    let result = sp.simple_query(sql);
    match result {
        Ok(msgs) => {
            let mut rows = 0u64;
            let mut first = None;
            let mut completed = None;
            for m in msgs {
                match m {
                    SimpleQueryMessage::Row(r) => {
                        if first.is_none() {
                            first = Some(r.get(0).unwrap_or("NULL").to_string());
                        }
                        rows += 1;
                    }
                    SimpleQueryMessage::CommandComplete(n) => completed = Some(n),
                    _ => {}
                }
            }
            let _ = sp.commit();
            Actual::Ok {
                rows: completed.unwrap_or(rows).max(rows),
                first,
            }
        }
        Err(e) => {
            let _ = sp.rollback();
            Actual::Err {
                code: code_of(&e),
                message: crate::error::describe_postgres_error(&e),
            }
        }
    }
}

fn code_of(e: &postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| "-----".into())
}

/// Acts as `who` for the rest of the transaction (`None`: the migrating role, `postgres`).
fn become_(tx: &mut Transaction<'_>, who: Option<&Actor>) -> Result<(), postgres::Error> {
    match who {
        Some(a) => act_as(tx, a).map_err(|e| match e {
            PgError::Postgres(p) => p,
            other => panic!("act_as failed without a database error: {other}"),
        }),
        None => tx.batch_execute("select set_config('role', 'postgres', true), set_config('request.jwt.claims', '', true)"),
    }
}

impl<'a> Harness<'a> {
    fn session(&self, who: Who) -> Actor {
        match who {
            Who::Anon => Actor::anon(),
            Who::ServiceRole => Actor::service_role(),
            _ => {
                let id = user_id(who).expect("a user");
                let mut a = Actor::user(id, &email(who));
                if who == Who::Admin {
                    if let Some(RoleSource::Jwt { path }) = &self.schema.role_source {
                        // app_metadata.<...>.role = "admin", next to what Supabase Auth puts there.
                        let mut value = serde_json::json!("admin");
                        for key in path[1..].iter().rev() {
                            value = serde_json::json!({ key.as_str(): value });
                        }
                        let mut meta =
                            serde_json::json!({"provider": "email", "providers": ["email"]});
                        if let (Some(m), Some(v)) = (meta.as_object_mut(), value.as_object()) {
                            for (k, val) in v {
                                m.insert(k.clone(), val.clone());
                            }
                        }
                        a = a.with_app_metadata(meta);
                    }
                }
                a
            }
        }
    }

    fn create_fixtures(&mut self, pg: &mut Client) -> Result<(), PgError> {
        let ctx = |what: &str| {
            let what = what.to_string();
            move |source| PgError::Harness {
                context: what,
                source,
            }
        };
        let mut sql = String::from("insert into \"auth\".\"users\" (\"id\", \"email\", \"aud\", \"role\", \"raw_app_meta_data\", \"raw_user_meta_data\") values ");
        let users: Vec<String> = [Who::Owner, Who::Other, Who::Member, Who::Admin]
            .iter()
            .map(|w| {
                format!(
                    "({}::uuid, {}, 'authenticated', 'authenticated', '{{\"provider\": \"email\", \"providers\": [\"email\"]}}'::jsonb, {}::jsonb)",
                    literal(&user_id(*w).expect("user").to_string()),
                    literal(&email(*w)),
                    literal(&format!("{{\"full_name\": \"Fixture {}\"}}", w.name()))
                )
            })
            .collect();
        sql.push_str(&users.join(", "));
        pg.batch_execute(&sql).map_err(ctx(
            "creating the fixture users in auth.users (the signup triggers run here)",
        ))?;
        for table in &self.schema.tables {
            for c in [Ctx::Owner, Ctx::Other] {
                let Some(row) = self.planner.row(table, c, 0) else {
                    continue;
                };
                let mut insert = insert_sql(table, &row.values, true);
                let missing: Vec<&String> = table
                    .primary_key
                    .iter()
                    .filter(|k| !row.values.iter().any(|(c, _)| c == *k))
                    .collect();
                if !missing.is_empty() {
                    let cols: Vec<String> = missing
                        .iter()
                        .map(|k| format!("{}::text", quote(k)))
                        .collect();
                    insert.push_str(&format!(" returning {}", cols.join(", ")));
                }
                let mut tx = pg.transaction()?;
                become_(&mut tx, Some(&Actor::service_role()))?;
                let msgs = tx.simple_query(&insert).map_err(ctx(&format!(
                    "creating the {} row of `{}` as service_role ({insert}); if a column needs a specific value, set it under `fixtures:` in a policy test file",
                    if c == Ctx::Owner { "owner's" } else { "other user's" },
                    table.name
                )))?;
                tx.commit()?;
                if let Some(SimpleQueryMessage::Row(r)) = msgs
                    .iter()
                    .find(|m| matches!(m, SimpleQueryMessage::Row(_)))
                {
                    for (i, k) in missing.iter().enumerate() {
                        let ty = table
                            .column(k)
                            .map(|c| schema_core::types::sql(&c.ty, None))
                            .unwrap_or_else(|| "text".into());
                        self.planner.capture(
                            &table.name,
                            c,
                            k,
                            format!("{}::{ty}", literal(r.get(i).unwrap_or(""))),
                        );
                    }
                }
            }
        }
        if let Some(RoleSource::Column {
            table,
            column,
            user_column,
            ..
        }) = &self.schema.role_source
        {
            let admin = user_id(Who::Admin).expect("admin");
            let sql = format!(
                "update {} set {} = 'admin' where {} = {}::uuid",
                qualified("public", table),
                quote(column),
                quote(user_column),
                literal(&admin.to_string())
            );
            let n = pg
                .execute(sql.as_str(), &[])
                .map_err(ctx("making the admin fixture an admin"))?;
            if n != 1 {
                return Err(PgError::Message(format!(
                    "the role source `{table}` has no row for the admin fixture user (expected a signup trigger to create it); `{sql}` changed {n} rows"
                )));
            }
        }
        Ok(())
    }

    fn pk(&self, table: &Table) -> Option<String> {
        self.planner.pk_predicate(table, Ctx::Owner)
    }

    fn push(&mut self, c: Check) {
        if !c.passed && self.killed.is_none() {
            if let Some(baseline) = &self.stop {
                if baseline.contains(&c.key()) {
                    self.killed = Some(format!(
                        "{}: {}: expected {}, got {}",
                        c.group,
                        c.name(),
                        c.expected,
                        c.actual
                    ));
                }
            }
        }
        self.checks.push(c);
    }

    /// The tables to check (see `only` and `skip`).
    fn ordered_tables(&self) -> Vec<&'a Table> {
        let schema: &'a Schema = self.schema;
        schema
            .tables
            .iter()
            .filter(|t| self.only.as_ref().is_none_or(|o| *o == t.name))
            .filter(|t| self.skip.as_ref().is_none_or(|o| *o != t.name))
            .collect()
    }

    /// True once a mutant is killed: the remaining checks are skipped.
    fn done(&self) -> bool {
        self.killed.is_some()
    }

    fn record(&mut self, p: Probe, actual: &Actual) {
        let mut kind = self.kind_of(&p.op, actual);
        if p.privilege && kind == "refused" {
            if let Actual::Err { message, .. } = actual {
                if message.contains("row-level security") {
                    // No grant should stop it before any policy is consulted.
                    kind = "refused by a policy, not by privileges".into();
                }
            }
        }
        let passed = kind == p.expected;
        let detail = (!passed).then(|| match actual {
            Actual::Err { message, .. } => format!("{}\n{message}", p.sql),
            Actual::Ok { rows, .. } => format!("{}\n({rows} rows)", p.sql),
        });
        let session = self.session(p.actor);
        self.push(Check {
            mode: self.mode,
            group: p.group,
            table: p.table,
            actor: p.actor.name().into(),
            op: p.op,
            expected: p.expected,
            actual: match actual {
                Actual::Err { code, .. } if code != "42501" => format!("error {code}"),
                _ => kind.clone(),
            },
            passed,
            policy: p.policy,
            detail,
            probe: Some(Replay {
                setup: p.setup,
                role: session.role().to_string(),
                claims: session.claims().to_string(),
                sql: p.sql,
            }),
        });
    }

    fn kind_of(&self, op: &str, actual: &Actual) -> String {
        match actual {
            Actual::Ok { rows, .. } if *rows > 0 || op == "insert" => "allowed".into(),
            Actual::Ok { .. } => "filtered".into(),
            Actual::Err { code, .. } if code == "42501" => "refused".into(),
            Actual::Err { code, .. } => format!("error {code}"),
        }
    }

    fn policy_name(&self, table: &Table, who: Who, cmd: Command) -> Option<String> {
        if who == Who::ServiceRole {
            return Some("service_role bypasses RLS".into());
        }
        let has_rule = table
            .rules
            .iter()
            .any(|r| r.command == cmd && r.role == who.db_role());
        if access::grant(table, who.db_role(), cmd).is_none() {
            return Some(format!(
                "no {} grant to {}",
                cmd.sql(),
                who.db_role().name()
            ));
        }
        has_rule.then(|| format!("{}_{}_{}", table.name, cmd.sql(), who.db_role().name()))
    }

    fn matrix(&mut self, pg: &mut impl GenericClient) -> Result<(), PgError> {
        for table in self.ordered_tables() {
            let Some(pk) = self.pk(table) else { continue };
            for who in Who::ALL {
                for cmd in Command::ALL {
                    let expected = match access::outcome(self.schema, table, who, cmd) {
                        Outcome::Conditional(why, _) => match self.suite.pin(&table.name, who, cmd)
                        {
                            Some(p) => p.expect.clone(),
                            None => format!(
                                "unpinned ({why}: pin it under `expect:` in a policy test file)"
                            ),
                        },
                        o => o.kind().to_string(),
                    };
                    let session = self.session(who);
                    let mut tx = pg.transaction()?;
                    let mut setup = None;
                    let sql = match cmd {
                        Command::Select => {
                            let cols = match access::grant(table, who.db_role(), cmd)
                                .and_then(|g| g.columns.clone())
                            {
                                Some(c) => list(&c),
                                None => "*".into(),
                            };
                            format!(
                                "select {cols} from {} where {pk}",
                                qualified("public", &table.name)
                            )
                        }
                        Command::Insert => {
                            let (prep, sql) = self.insert_as(&mut tx, table, who)?;
                            setup = prep;
                            sql
                        }
                        Command::Update => {
                            let col = self.update_column(table, who);
                            format!(
                                "update {} set {} = {} where {pk}",
                                qualified("public", &table.name),
                                quote(&col),
                                quote(&col)
                            )
                        }
                        Command::Delete => format!(
                            "delete from {} where {pk}",
                            qualified("public", &table.name)
                        ),
                    };
                    become_(&mut tx, Some(&session))?;
                    let actual = run_sql(&mut tx, &sql);
                    tx.rollback()?;
                    let policy = self.policy_name(table, who, cmd);
                    let observed = self.kind_of(cmd.sql(), &actual);
                    let own = access::own_outcome(self.schema, table, who, cmd);
                    let unmask = matches!(cmd, Command::Update | Command::Delete)
                        && observed == "filtered"
                        && !matches!(own, Outcome::Conditional(..))
                        && (expected == "filtered" || expected == own.kind());
                    let own_kind = own.kind().to_string();
                    self.record(
                        Probe {
                            group: "matrix",
                            table: table.name.clone(),
                            actor: who,
                            op: cmd.sql().into(),
                            expected,
                            policy: policy.clone(),
                            sql: sql.clone(),
                            setup,
                            privilege: access::grant(table, who.db_role(), cmd).is_none(),
                        },
                        &actual,
                    );
                    if unmask {
                        self.unmasked(
                            pg,
                            table,
                            Probe {
                                group: "unmasked",
                                table: table.name.clone(),
                                actor: who,
                                op: format!("{} with every row readable", cmd.sql()),
                                expected: own_kind,
                                policy,
                                sql,
                                setup: None,
                                privilege: false,
                            },
                        )?;
                    }
                    if who != Who::ServiceRole
                        && access::grant(table, who.db_role(), cmd).is_none()
                        && matches!(cmd, Command::Update | Command::Delete)
                    {
                        self.privilege_probe(pg, table, who, cmd, None)?;
                    }
                    if self.done() {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// An UPDATE or DELETE that matched no row is run again with every row readable (a
    /// permissive `select using (true)` policy for the actor's role, added inside the rolled-back
    /// transaction). Its filter reads columns, so PostgreSQL applies the SELECT policies too and a
    /// command's own USING wider than SELECT would stay invisible; here only that USING decides.
    fn unmasked(
        &mut self,
        pg: &mut impl GenericClient,
        table: &Table,
        mut probe: Probe,
    ) -> Result<(), PgError> {
        let open = open_select(table, probe.actor.db_role());
        let mut tx = pg.transaction()?;
        tx.batch_execute(&open)?;
        become_(&mut tx, Some(&self.session(probe.actor)))?;
        let actual = run_sql(&mut tx, &probe.sql);
        tx.rollback()?;
        probe.setup = Some(open);
        self.record(probe, &actual);
        Ok(())
    }

    /// Writes as PostgREST issues them for supabase-js (`.insert().select()`, `.update().select()`,
    /// `.delete().select()`: the statement with `returning`; `.upsert()`: `on conflict (key) do
    /// update`), where the plain write is allowed: their outcome comes from
    /// `access::shape_outcome`, including "write allowed, returned row refused".
    fn postgrest_shapes(&mut self, pg: &mut impl GenericClient) -> Result<(), PgError> {
        use access::Shape;
        for table in self.ordered_tables() {
            let Some(pk) = self.pk(table) else { continue };
            let t = qualified("public", &table.name);
            for who in Who::ALL {
                for (shape, cmd) in [
                    (Shape::Returning, Command::Insert),
                    (Shape::Returning, Command::Update),
                    (Shape::Returning, Command::Delete),
                    (Shape::Upsert, Command::Insert),
                ] {
                    if self.done() {
                        return Ok(());
                    }
                    let base_allowed = |c: Command| {
                        matches!(
                            access::outcome(self.schema, table, who, c),
                            Outcome::Allowed(_)
                        )
                    };
                    let relevant = match shape {
                        Shape::Returning => base_allowed(cmd),
                        Shape::Upsert => {
                            base_allowed(Command::Insert) || base_allowed(Command::Update)
                        }
                    };
                    if !relevant {
                        continue;
                    }
                    let Some(expected) = access::shape_outcome(self.schema, table, who, cmd, shape)
                    else {
                        continue;
                    };
                    let returning = match access::grant(table, who.db_role(), Command::Select)
                        .and_then(|g| g.columns.clone())
                    {
                        Some(c) if who != Who::ServiceRole => list(&c),
                        _ => "*".into(),
                    };
                    let mut tx = pg.transaction()?;
                    let (setup, sql, op) = match (shape, cmd) {
                        (Shape::Returning, Command::Insert) => {
                            let (setup, ins) = self.insert_as(&mut tx, table, who)?;
                            (
                                setup,
                                format!("{ins} returning {returning}"),
                                "insert ... returning (.insert().select())",
                            )
                        }
                        (Shape::Returning, Command::Update) => {
                            let col = self.update_column(table, who);
                            (
                                None,
                                format!(
                                    "update {t} set {} = {} where {pk} returning {returning}",
                                    quote(&col),
                                    quote(&col)
                                ),
                                "update ... returning (.update().select())",
                            )
                        }
                        (Shape::Returning, _) => (
                            None,
                            format!("delete from {t} where {pk} returning {returning}"),
                            "delete ... returning (.delete().select())",
                        ),
                        _ => {
                            let Some(sql) = self.upsert_sql(table, who) else {
                                tx.rollback()?;
                                continue;
                            };
                            (None, sql, "insert ... on conflict do update (.upsert())")
                        }
                    };
                    become_(&mut tx, Some(&self.session(who)))?;
                    let actual = run_sql(&mut tx, &sql);
                    tx.rollback()?;
                    let kind_op = if cmd == Command::Insert {
                        "insert"
                    } else {
                        cmd.sql()
                    };
                    let actual = match actual {
                        Actual::Ok { rows, first } if kind_op != "insert" => {
                            Actual::Ok { rows, first }
                        }
                        other => other,
                    };
                    let policy = Some(match expected {
                        access::ShapeOutcome::ReturnedRowRefused => {
                            "write allowed, returned row refused (SELECT policies apply to the returned row)".to_string()
                        }
                        _ => format!("{}_{}_{}", table.name, cmd.sql(), who.db_role().name()),
                    });
                    self.record(
                        Probe {
                            group: "postgrest",
                            table: table.name.clone(),
                            actor: who,
                            op: op.into(),
                            expected: expected.kind().into(),
                            policy,
                            sql,
                            setup,
                            privilege: false,
                        },
                        &actual,
                    );
                }
            }
        }
        Ok(())
    }

    /// `.upsert(row)` of the owner's existing row as `who` sends it: the columns `who` may insert,
    /// conflicting on the primary key, updating those of them `who` may update. `None` when the
    /// key is not part of the payload or nothing would be updated.
    fn upsert_sql(&self, table: &Table, who: Who) -> Option<String> {
        let row = self.planner.row(table, Ctx::Owner, 0)?;
        let values: Vec<(String, String)> = row
            .values
            .into_iter()
            .filter(|(c, _)| {
                who == Who::ServiceRole
                    || access::may_write(table, who.db_role(), Command::Insert, c)
            })
            .collect();
        if !table
            .primary_key
            .iter()
            .all(|k| values.iter().any(|(c, _)| c == k))
        {
            return None;
        }
        let set: Vec<String> = values
            .iter()
            .filter(|(c, _)| !table.primary_key.contains(c))
            .filter(|(c, _)| {
                who == Who::ServiceRole
                    || access::may_write(table, who.db_role(), Command::Update, c)
            })
            .map(|(c, _)| format!("{} = excluded.{}", quote(c), quote(c)))
            .collect();
        if set.is_empty() {
            return None;
        }
        Some(format!(
            "{} on conflict ({}) do update set {}",
            insert_sql(table, &values, false),
            list(&table.primary_key),
            set.join(", ")
        ))
    }

    /// A statement that reads no column (`where false`), so only the privilege on the command (or
    /// on `column`) decides: without a grant it must be refused, even where no policy would let
    /// a row through (a reading filter would need SELECT and hide a stray UPDATE/DELETE grant).
    fn privilege_probe(
        &mut self,
        pg: &mut impl GenericClient,
        table: &Table,
        who: Who,
        cmd: Command,
        column: Option<&str>,
    ) -> Result<(), PgError> {
        let t = qualified("public", &table.name);
        let col = column
            .map(str::to_string)
            .unwrap_or_else(|| self.update_column(table, who));
        let sql = match cmd {
            Command::Delete => format!("delete from {t} where false"),
            Command::Insert => format!("insert into {t} ({}) select null where false", quote(&col)),
            _ => format!("update {t} set {} = default where false", quote(&col)),
        };
        let mut tx = pg.transaction()?;
        become_(&mut tx, Some(&self.session(who)))?;
        let actual = run_sql(&mut tx, &sql);
        tx.rollback()?;
        let op = match column {
            Some(c) => format!("{} `{c}` (privilege only)", cmd.sql()),
            None => format!("{} (privilege only)", cmd.sql()),
        };
        let kind = match &actual {
            Actual::Err { code, .. } if code == "42501" => Actual::Err {
                code: code.clone(),
                message: String::new(),
            },
            Actual::Ok { .. } => Actual::Ok {
                rows: 1,
                first: None,
            },
            Actual::Err { code, message } => Actual::Err {
                code: code.clone(),
                message: message.clone(),
            },
        };
        self.record(
            Probe {
                group: "privileges",
                table: table.name.clone(),
                actor: who,
                op,
                expected: "refused".into(),
                policy: Some(format!(
                    "no {} grant to {}",
                    cmd.sql(),
                    who.db_role().name()
                )),
                sql,
                setup: None,
                privilege: false,
            },
            &kind,
        );
        Ok(())
    }

    /// Ownership moves through links: the owner's row, written by each actor allowed to write it,
    /// with a `parent:`/`member:`/custom link column pointing at the other user's row instead
    /// (moving a chunk into someone else's document, a link into someone else's conversation).
    fn link_moves(&mut self, pg: &mut impl GenericClient) -> Result<(), PgError> {
        for table in self.ordered_tables() {
            if self.done() {
                return Ok(());
            }
            let Some(pk) = self.pk(table) else { continue };
            let mut links: Vec<(String, &Table, String)> = Vec::new();
            for fk in &table.foreign_keys {
                if fk.columns.len() != 1 || fk.target.schema != "public" {
                    continue;
                }
                let Some(parent) = self.schema.tables.iter().find(|t| t.name == fk.target.name)
                else {
                    continue;
                };
                let col = &fk.columns[0];
                let used = table.rules.iter().any(|r| {
                    matches!(r.command, Command::Insert | Command::Update)
                        && r.conditions.iter().any(|c| match c {
                            Condition::Parent { column, .. } | Condition::Member { column, .. } => {
                                column == col
                            }
                            Condition::Custom { using, check } => [using, check]
                                .iter()
                                .any(|t| t.as_deref().is_some_and(|t| t.contains(col.as_str()))),
                            _ => false,
                        })
                });
                if used && !links.iter().any(|(c, _, _)| c == col) {
                    links.push((col.clone(), parent, fk.target_columns[0].clone()));
                }
            }
            for (col, parent, ref_col) in links {
                let Some(other_key) = self.planner.key_value(parent, &ref_col, Ctx::Other) else {
                    continue;
                };
                for who in [Who::Owner, Who::Member, Who::Admin] {
                    for cmd in [Command::Insert, Command::Update] {
                        if self.done() {
                            return Ok(());
                        }
                        let allowed = match access::outcome(self.schema, table, who, cmd) {
                            Outcome::Allowed(_) => true,
                            Outcome::Conditional(..) => self
                                .suite
                                .pin(&table.name, who, cmd)
                                .is_some_and(|p| p.expect == "allowed"),
                            _ => false,
                        };
                        if !allowed || !access::may_write(table, who.db_role(), cmd, &col) {
                            continue;
                        }
                        let expected =
                            match access::moved_outcome(self.schema, table, who, cmd, &col) {
                                Some(o) => o.kind().to_string(),
                                None => match self.suite.move_pin(&table.name, &col) {
                                    Some(p) => p.expect.clone(),
                                    None => "refused".into(),
                                },
                            };
                        let mut tx = pg.transaction()?;
                        let open = open_select(table, who.db_role());
                        tx.batch_execute(&open)?;
                        let (setup, sql) = match cmd {
                            Command::Insert => {
                                let (setup, ins) = self.insert_as_with(
                                    &mut tx,
                                    table,
                                    who,
                                    Some((&col, &other_key)),
                                )?;
                                (setup, ins)
                            }
                            _ => (
                                Some(open),
                                format!(
                                    "update {} set {} = {other_key} where {pk}",
                                    qualified("public", &table.name),
                                    quote(&col)
                                ),
                            ),
                        };
                        become_(&mut tx, Some(&self.session(who)))?;
                        let actual = run_sql(&mut tx, &sql);
                        tx.rollback()?;
                        self.record(
                            Probe {
                                group: "ownership",
                                table: table.name.clone(),
                                actor: who,
                                op: format!(
                                    "{} with `{col}` moved to the other user's {}",
                                    cmd.sql(),
                                    parent.name
                                ),
                                expected,
                                policy: Some(format!("{}_{}_authenticated", table.name, cmd.sql())),
                                sql,
                                setup,
                                privilege: false,
                            },
                            &actual,
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Prepares an insert of the owner's row as `who` would send it: the owner's row is removed
    /// first (as the migrating role, inside the transaction) so keys do not collide; columns the
    /// actor may not insert are left to their defaults.
    fn insert_as(
        &self,
        tx: &mut Transaction<'_>,
        table: &Table,
        who: Who,
    ) -> Result<(Option<String>, String), PgError> {
        self.insert_as_with(tx, table, who, None)
    }

    /// `insert_as`, with one column's value replaced.
    fn insert_as_with(
        &self,
        tx: &mut Transaction<'_>,
        table: &Table,
        who: Who,
        replace: Option<(&str, &str)>,
    ) -> Result<(Option<String>, String), PgError> {
        let pk = self.pk(table).unwrap_or_else(|| "false".into());
        let mut n = 0;
        let delete = format!(
            "delete from {} where {pk}",
            qualified("public", &table.name)
        );
        let mut setup = Some(delete.clone());
        {
            let mut sp = tx.transaction()?;
            if sp.batch_execute(&delete).is_ok() {
                sp.commit()?;
            } else {
                sp.rollback()?;
                n = 1;
                setup = None;
            }
        }
        let row = self
            .planner
            .row(table, Ctx::Owner, n)
            .expect("the owner's row exists when the pk does");
        let values: Vec<(String, String)> =
            match access::grant(table, who.db_role(), Command::Insert)
                .and_then(|g| g.columns.clone())
            {
                Some(cols) if who != Who::ServiceRole => row
                    .values
                    .into_iter()
                    .filter(|(c, _)| cols.contains(c))
                    .collect(),
                _ => row.values,
            };
        let values: Vec<(String, String)> = values
            .into_iter()
            .map(|(c, v)| match replace {
                Some((rc, rv)) if rc == c => (c, rv.to_string()),
                _ => (c, v),
            })
            .collect();
        Ok((setup, insert_sql(table, &values, false)))
    }

    fn update_column(&self, table: &Table, who: Who) -> String {
        if let Some(cols) =
            access::grant(table, who.db_role(), Command::Update).and_then(|g| g.columns.clone())
        {
            if let Some(c) = cols.first() {
                return c.clone();
            }
        }
        let writable = |c: &&schema_core::ir::Column| c.generated.is_none() && c.identity.is_none();
        table
            .columns
            .iter()
            .filter(writable)
            .find(|c| !table.primary_key.contains(&c.name))
            .or_else(|| table.columns.iter().find(writable))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| table.columns[0].name.clone())
    }

    /// Columns users may not read or write: hidden select columns and non-updatable columns.
    fn column_checks(&mut self, pg: &mut impl GenericClient) -> Result<(), PgError> {
        for table in self.ordered_tables() {
            if self.done() {
                return Ok(());
            }
            let Some(pk) = self.pk(table) else { continue };
            let owner = self.session(Who::Owner);
            if let Some(allowed) = access::grant(table, DbRole::Authenticated, Command::Insert)
                .and_then(|g| g.columns.clone())
            {
                for c in &table.columns {
                    if allowed.contains(&c.name) || c.generated.is_some() || self.done() {
                        continue;
                    }
                    self.privilege_probe(pg, table, Who::Owner, Command::Insert, Some(&c.name))?;
                }
            }
            for cmd in [Command::Select, Command::Update] {
                let Some(allowed) = access::grant(table, DbRole::Authenticated, cmd)
                    .and_then(|g| g.columns.clone())
                else {
                    continue;
                };
                for c in &table.columns {
                    if allowed.contains(&c.name) || c.generated.is_some() || c.identity.is_some() {
                        continue;
                    }
                    let sql = match cmd {
                        Command::Select => format!(
                            "select {} from {} where {pk}",
                            quote(&c.name),
                            qualified("public", &table.name)
                        ),
                        _ => format!(
                            "update {} set {} = {} where {pk}",
                            qualified("public", &table.name),
                            quote(&c.name),
                            quote(&c.name)
                        ),
                    };
                    let mut tx = pg.transaction()?;
                    become_(&mut tx, Some(&owner))?;
                    let actual = run_sql(&mut tx, &sql);
                    tx.rollback()?;
                    let op = format!("{} `{}`", cmd.sql(), c.name);
                    self.record(
                        Probe {
                            group: "columns",
                            table: table.name.clone(),
                            actor: Who::Owner,
                            op,
                            expected: "refused".into(),
                            policy: Some(format!("column privileges of {}", table.name)),
                            sql,
                            setup: None,
                            privilege: false,
                        },
                        &actual,
                    );
                }
            }
        }
        Ok(())
    }

    /// The owner tries to hand their row to another user: WITH CHECK or column privileges refuse.
    fn ownership_checks(&mut self, pg: &mut impl GenericClient) -> Result<(), PgError> {
        let other = user_id(Who::Other).expect("other");
        for table in self.ordered_tables() {
            if self.done() {
                return Ok(());
            }
            let Some(pk) = self.pk(table) else { continue };
            let mut cols: Vec<String> = Vec::new();
            for r in table
                .rules
                .iter()
                .filter(|r| r.command == Command::Update && r.role == DbRole::Authenticated)
            {
                for c in &r.conditions {
                    if let Condition::Owner { column } = c {
                        if access::column_user(self.schema, &table.name, column) == Who::Owner
                            && !cols.contains(column)
                        {
                            cols.push(column.clone());
                        }
                    }
                }
            }
            for col in cols {
                let sql = format!(
                    "update {} set {} = {}::uuid where {pk}",
                    qualified("public", &table.name),
                    quote(&col),
                    literal(&other.to_string())
                );
                // Every row readable: the SELECT policy (applied to the new row because the
                // filter reads columns) must not be what refuses the move; WITH CHECK must.
                let open = open_select(table, DbRole::Authenticated);
                let mut tx = pg.transaction()?;
                tx.batch_execute(&open)?;
                become_(&mut tx, Some(&self.session(Who::Owner)))?;
                let actual = run_sql(&mut tx, &sql);
                tx.rollback()?;
                let op = format!("move `{col}` to another user");
                self.record(
                    Probe {
                        group: "ownership",
                        table: table.name.clone(),
                        actor: Who::Owner,
                        op,
                        expected: "refused".into(),
                        policy: Some(format!("{}_update_authenticated", table.name)),
                        sql,
                        setup: Some(open),
                        privilege: false,
                    },
                    &actual,
                );
            }
        }
        Ok(())
    }

    /// Deleting the owner from auth.users removes every row of theirs and nothing of the other's.
    fn cascade_check(&mut self, pg: &mut impl GenericClient) -> Result<(), PgError> {
        if self.done() {
            return Ok(());
        }
        let mut tx = pg.transaction()?;
        let owner = user_id(Who::Owner).expect("owner");
        let del = format!(
            "delete from \"auth\".\"users\" where \"id\" = {}::uuid",
            literal(&owner.to_string())
        );
        let deleted = run_sql(&mut tx, &del);
        let removed = cascaded_tables(self.schema);
        let mut left_owner = Vec::new();
        let mut lost_other = Vec::new();
        if let Actual::Ok { .. } = deleted {
            for table in &self.schema.tables {
                for (ctx, bucket) in [(Ctx::Owner, &mut left_owner), (Ctx::Other, &mut lost_other)]
                {
                    let Some(pred) = self.planner.pk_predicate(table, ctx) else {
                        continue;
                    };
                    let q = format!(
                        "select count(*) from {} where {pred}",
                        qualified("public", &table.name)
                    );
                    let n = match run_sql(&mut tx, &q) {
                        Actual::Ok { first, .. } => first.unwrap_or_default(),
                        Actual::Err { message, .. } => message,
                    };
                    let keep = if ctx == Ctx::Owner && removed.contains(&table.name) {
                        "0"
                    } else {
                        "1"
                    };
                    if n != keep {
                        bucket.push(format!("{} ({n})", table.name));
                    }
                }
            }
        }
        tx.rollback()?;
        let actual = match &deleted {
            Actual::Err { .. } => self.kind_of("delete", &deleted),
            _ if left_owner.is_empty() && lost_other.is_empty() => "nothing left".into(),
            _ => format!(
                "left: [{}], other user lost: [{}]",
                left_owner.join(", "),
                lost_other.join(", ")
            ),
        };
        let passed = actual == "nothing left";
        self.push(Check {
            mode: self.mode,
            group: "cascade",
            table: String::new(),
            actor: "postgres".into(),
            op: "delete the owner from auth.users".into(),
            expected: "nothing left".into(),
            actual,
            passed,
            policy: Some("on delete cascade / set null".into()),
            detail: (!passed).then(|| del.clone()),
            probe: None,
        });
        Ok(())
    }

    /// Replaces `{{owner}}`, `{{member}}`... (user ids) and `{{owner.table}}` / `{{other.table}}`
    /// (the primary key of that fixture row) in scenario SQL.
    fn substitute(&self, sql: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = sql;
        while let Some(i) = rest.find("{{") {
            out.push_str(&rest[..i]);
            let Some(j) = rest[i..].find("}}") else {
                return Err("unclosed `{{`".into());
            };
            let key = rest[i + 2..i + j].trim();
            let value = match key.split_once('.') {
                None => Who::from_name(key).and_then(user_id).map(|u| u.to_string()),
                Some((who, table)) => {
                    let ctx = match who {
                        "owner" => Some(Ctx::Owner),
                        "other" => Some(Ctx::Other),
                        _ => None,
                    };
                    let t = self.schema.tables.iter().find(|t| t.name == table);
                    match (ctx, t) {
                        (Some(c), Some(t)) if t.primary_key.len() == 1 => {
                            self.planner.key_value(t, &t.primary_key[0], c).map(|v| {
                                // The planned value is an SQL literal like '...'::uuid; scenarios want the bare text.
                                v.split("'").nth(1).map(|s| s.to_string()).unwrap_or(v)
                            })
                        }
                        _ => None,
                    }
                }
            };
            match value {
                Some(v) => out.push_str(&v),
                None => return Err(format!("unknown placeholder `{{{{{key}}}}}`: use owner, other, member, admin, or owner.<table> / other.<table> for a table with a one-column key")),
            }
            rest = &rest[i + j + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn scenarios(&mut self, pg: &mut impl GenericClient) -> Result<(), PgError> {
        for sc in &self.suite.scenarios {
            if self.done() {
                return Ok(());
            }
            let mut tx = pg.transaction()?;
            let mut failure: Option<(String, String, String)> = None;
            if let Some(setup) = &sc.setup {
                match self.substitute(setup) {
                    Ok(s) => {
                        if let Actual::Err { message, .. } = run_sql(&mut tx, &s) {
                            failure = Some((
                                "setup succeeds".into(),
                                "error".into(),
                                format!("setup: {message}"),
                            ));
                        }
                    }
                    Err(e) => failure = Some(("setup succeeds".into(), "error".into(), e)),
                }
            }
            for (i, step) in sc.steps.iter().enumerate() {
                if failure.is_some() {
                    break;
                }
                let sql = match self.substitute(&step.sql) {
                    Ok(s) => s,
                    Err(e) => {
                        failure = Some((
                            step.expect.to_string(),
                            "error".into(),
                            format!("step {}: {e}", i + 1),
                        ));
                        break;
                    }
                };
                let session = match step.role {
                    StepRole::Actor(w) => Some(self.session(w)),
                    StepRole::Postgres => None,
                };
                become_(&mut tx, session.as_ref())?;
                let actual = run_sql(&mut tx, &sql);
                let ok = match (&step.expect, &actual) {
                    (Expect::Ok, Actual::Ok { .. }) => true,
                    (Expect::Rows(n) | Expect::Affected(n), Actual::Ok { rows, .. }) => rows == n,
                    (Expect::Value(v), Actual::Ok { first, .. }) => self
                        .substitute(v)
                        .is_ok_and(|v| first.as_deref() == Some(v.as_str())),
                    (Expect::Error(c), Actual::Err { code, .. }) => c == code,
                    _ => false,
                };
                if !ok {
                    let got = match &actual {
                        Actual::Ok { rows, first } => match &step.expect {
                            Expect::Value(_) => format!(
                                "value `{}`",
                                first.clone().unwrap_or_else(|| "(no row)".into())
                            ),
                            _ => format!("{rows} rows"),
                        },
                        Actual::Err { code, .. } => format!("error {code}"),
                    };
                    let msg = match &actual {
                        Actual::Err { message, .. } => format!(
                            "step {} as {}: {sql}\n{message}",
                            i + 1,
                            role_name(step.role)
                        ),
                        _ => format!("step {} as {}: {sql}", i + 1, role_name(step.role)),
                    };
                    failure = Some((step.expect.to_string(), got, msg));
                }
            }
            tx.rollback()?;
            let (expected, actual, detail) = match failure {
                None => (
                    "all steps pass".to_string(),
                    "all steps pass".to_string(),
                    None,
                ),
                Some((e, a, d)) => (e, a, Some(d)),
            };
            self.push(Check {
                mode: self.mode,
                group: "scenario",
                table: String::new(),
                actor: sc.file.clone(),
                op: sc.name.clone(),
                passed: detail.is_none(),
                expected,
                actual,
                policy: None,
                detail,
                probe: None,
            });
        }
        Ok(())
    }
}

/// Tables whose owner's fixture row goes when the owner is deleted from auth.users: an `on
/// delete cascade` chain to the owner (a column holding the owner, or a parent row that goes).
/// Rows whose owner column is `set null` stay, owned by no one (the other user's rows always stay).
fn cascaded_tables(schema: &Schema) -> std::collections::BTreeSet<String> {
    let mut removed = std::collections::BTreeSet::new();
    loop {
        let before = removed.len();
        for t in &schema.tables {
            if removed.contains(&t.name) {
                continue;
            }
            let goes = t.foreign_keys.iter().any(|fk| {
                fk.on_delete == schema_core::ir::OnDelete::Cascade
                    && fk.columns.len() == 1
                    && if fk.target.schema == "auth" {
                        access::column_user(schema, &t.name, &fk.columns[0]) == Who::Owner
                    } else {
                        removed.contains(&fk.target.name)
                    }
            });
            if goes {
                removed.insert(t.name.clone());
            }
        }
        if removed.len() == before {
            return removed;
        }
    }
}

/// A permissive `select using (true)` policy for `role` on `table`: with it, only the command's
/// own policies decide (run as the migrating role inside a rolled-back transaction).
fn open_select(table: &Table, role: DbRole) -> String {
    format!(
        "create policy \"__schemac_open_select\" on {} as permissive for select to {} using (true);",
        qualified("public", &table.name),
        quote(role.name())
    )
}

fn role_name(r: StepRole) -> &'static str {
    match r {
        StepRole::Actor(a) => a.name(),
        StepRole::Postgres => "postgres",
    }
}

fn insert_sql(table: &Table, values: &[(String, String)], ignore_conflicts: bool) -> String {
    let t = qualified("public", &table.name);
    let mut sql = if values.is_empty() {
        format!("insert into {t} default values")
    } else {
        let cols: Vec<&str> = values.iter().map(|(c, _)| c.as_str()).collect();
        let vals: Vec<&str> = values.iter().map(|(_, v)| v.as_str()).collect();
        format!(
            "insert into {t} ({}) values ({})",
            list(&cols),
            vals.join(", ")
        )
    };
    if ignore_conflicts {
        sql.push_str(" on conflict do nothing");
    }
    sql
}
