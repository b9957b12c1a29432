//! Mutation testing (`schemac test --mutants`): mutants derived from the compiled schema (each a
//! small change that opens or shifts access: a condition dropped, a check widened, a helper that
//! ignores its caller, a grant too broad, RLS off...), each applied inside a transaction to one
//! database built from the committed migrations, with the harness run until its first failure.

use super::{mode_name, Check, Harness};
use crate::error::PgError;
use crate::migrate::{self, MigrationFile};
use crate::platform::{install_supabase_platform, is_supabase, GrantMode};
use crate::server::PgServer;
use crate::TestDatabase;
use fixtures::Planner;
use postgres::GenericClient;
use schema_core::emit::probe;
use schema_core::emit::up;
use schema_core::ir::{Command, Condition, DbRole, Helper, Schema, SqlType};
use schema_core::sql::ident::{qualified, quote};
use schema_core::suite::Suite;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::fixtures;

/// One mutant: a stable id (what equivalent-mutant declarations name), what it does, and the
/// statements that turn the correct database into it.
#[derive(Clone, Debug)]
pub struct Mutant {
    pub id: String,
    pub what: String,
    pub sql: Vec<String>,
    /// The statements it replaces (for the diff), when there are any.
    pub before: Vec<String>,
    /// The table it touches, when it touches one (checked first).
    pub table: Option<String>,
}

impl Mutant {
    /// `- before` / `+ after` lines.
    pub fn diff(&self) -> String {
        let mut s = String::new();
        for b in &self.before {
            for l in b.lines() {
                s.push_str("- ");
                s.push_str(l);
                s.push('\n');
            }
        }
        for a in &self.sql {
            for l in a.lines() {
                s.push_str("+ ");
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// A check that passed on the schema failed: (which one).
    Killed(String),
    /// Every check kept its outcome.
    Survived,
    /// Declared equivalent in the policy suite (reason), and indeed not killed.
    Equivalent(String),
    /// Declared equivalent, but a check failed: the declaration is wrong.
    DeclaredButKilled(String),
    /// The mutant's SQL was refused by PostgreSQL (not counted).
    Invalid(String),
}

#[derive(Debug, Default)]
pub struct MutationReport {
    pub results: Vec<(Mutant, Status)>,
    /// Checks that fail on the unmutated database (the suite must pass first).
    pub baseline_failures: Vec<Check>,
    pub baseline_checks: usize,
    pub elapsed: Duration,
    /// Time spent on the mutants alone (after the database, fixtures and baseline).
    pub mutants_elapsed: Duration,
}

impl MutationReport {
    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.results.iter().filter(|(_, s)| f(s)).count()
    }
    pub fn killed(&self) -> usize {
        self.count(|s| matches!(s, Status::Killed(_)))
    }
    pub fn survived(&self) -> usize {
        self.count(|s| matches!(s, Status::Survived))
    }
    pub fn equivalent(&self) -> usize {
        self.count(|s| matches!(s, Status::Equivalent(_)))
    }
    pub fn wrongly_declared(&self) -> usize {
        self.count(|s| matches!(s, Status::DeclaredButKilled(_)))
    }
    pub fn invalid(&self) -> usize {
        self.count(|s| matches!(s, Status::Invalid(_)))
    }
    /// Killed / (killed + survived), in percent (100 when there is nothing to kill).
    pub fn score(&self) -> f64 {
        let (k, s) = (self.killed(), self.survived());
        if k + s == 0 {
            100.0
        } else {
            100.0 * k as f64 / (k + s) as f64
        }
    }

    /// Test-runner style: survivors with their diff and why, then the score line.
    pub fn human(&self) -> String {
        let mut s = String::new();
        for c in &self.baseline_failures {
            s.push_str(&format!(
                "BASELINE FAIL [{}] {}: {}: expected {}, got {}\n",
                c.mode,
                c.group,
                c.name(),
                c.expected,
                c.actual
            ));
        }
        for (m, st) in &self.results {
            let (tag, why) = match st {
                Status::Survived => (
                    "SURVIVED",
                    format!(
                        "all {} checks kept the outcome the schema declares; add a scenario that tells it apart, or declare it under `equivalent_mutants:` with the reason",
                        self.baseline_checks
                    ),
                ),
                Status::DeclaredButKilled(by) => (
                    "WRONGLY DECLARED EQUIVALENT",
                    format!("killed by {by}; remove it from `equivalent_mutants:`"),
                ),
                Status::Invalid(e) => ("INVALID", e.clone()),
                _ => continue,
            };
            s.push_str(&format!("{tag} {}: {}\n  why: {why}\n", m.id, m.what));
            for l in m.diff().lines() {
                s.push_str("    ");
                s.push_str(l);
                s.push('\n');
            }
        }
        s.push_str(&format!(
            "mutation score {:.1}%: {} killed, {} survived, {} equivalent (declared), {} wrongly declared, {} invalid; {} mutants in {:.2} s ({:.1} mutants/s)\n",
            self.score(),
            self.killed(),
            self.survived(),
            self.equivalent(),
            self.wrongly_declared(),
            self.invalid(),
            self.results.len(),
            self.mutants_elapsed.as_secs_f64(),
            self.results.len() as f64 / self.mutants_elapsed.as_secs_f64().max(1e-9)
        ));
        s
    }
}

/// The statements that turn `schema`'s policies of `table` into `mutated`'s.
fn policy_delta(schema: &Schema, mutated: &Schema, table: &str) -> (Vec<String>, Vec<String>) {
    let (Some(a), Some(b)) = (
        schema.tables.iter().find(|t| t.name == table),
        mutated.tables.iter().find(|t| t.name == table),
    ) else {
        return (vec![], vec![]);
    };
    let old = up::policies(schema, a);
    let new = up::policies(mutated, b);
    let mut before = Vec::new();
    let mut after = Vec::new();
    for p in &old {
        if !new.iter().any(|n| n.sql == p.sql) {
            before.push(p.sql.clone());
            after.push(format!(
                "drop policy {} on {};",
                quote(&p.name),
                qualified("public", table)
            ));
        }
    }
    for n in &new {
        if !old.iter().any(|p| p.sql == n.sql) {
            after.push(n.sql.clone());
        }
    }
    (before, after)
}

/// Splits SQL at top-level `and` (outside parentheses and quotes).
fn conjuncts(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start, mut i) = (0i32, 0usize, 0usize);
    let mut quote_ch: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        match quote_ch {
            Some(q) => {
                if c == q {
                    quote_ch = None;
                }
            }
            None => match c {
                b'\'' | b'"' => quote_ch = Some(c),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ if depth == 0
                    && b.len() >= i + 5
                    && b[i..i + 5].eq_ignore_ascii_case(b" and ") =>
                {
                    out.push(text[start..i].trim().to_string());
                    start = i + 5;
                    i += 5;
                    continue;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(text[start..].trim().to_string());
    out
}

fn cmd_role(cmd: Command, role: DbRole) -> String {
    format!("{}:{}", cmd.sql(), role.name())
}

/// Every mutant of `schema`, in a stable order.
pub fn generate(schema: &Schema) -> Vec<Mutant> {
    let mut out: Vec<Mutant> = Vec::new();
    let mut push = |id: String, what: String, before: Vec<String>, sql: Vec<String>| {
        if !sql.is_empty() && !out.iter().any(|m| m.id == id) {
            let table = schema
                .tables
                .iter()
                .find(|t| {
                    id.split(':')
                        .nth(1)
                        .is_some_and(|x| x == t.name || x.starts_with(&format!("{}_", t.name)))
                })
                .map(|t| t.name.clone());
            out.push(Mutant {
                id,
                what,
                sql,
                before,
                table,
            });
        }
    };
    for (ti, t) in schema.tables.iter().enumerate() {
        let tq = qualified("public", &t.name);
        // RLS off changes nothing where every grant to anon/authenticated already meets a
        // policy that is `true` on both sides: no mutant there.
        let policies = up::policies(schema, t);
        let all_open = t
            .grants
            .iter()
            .filter(|g| g.role != DbRole::ServiceRole)
            .all(|g| {
                policies.iter().any(|p| {
                    p.command == g.command
                        && p.role == g.role
                        && p.using.as_deref().is_none_or(|u| u.trim() == "true")
                        && p.check.as_deref().is_none_or(|c| c.trim() == "true")
                })
            });
        if t.rls && !all_open {
            push(
                format!("rls-off:{}", t.name),
                format!("row level security disabled on {}", t.name),
                vec![format!("alter table {tq} enable row level security;")],
                vec![format!("alter table {tq} disable row level security;")],
            );
        }
        // Conditions of each rule: dropped, weakened or swapped, then policies re-emitted.
        for (ri, r) in t.rules.iter().enumerate() {
            let base = format!("{}:{}:rule{ri}", t.name, cmd_role(r.command, r.role));
            let label = r.label.clone().unwrap_or_else(|| format!("rule {ri}"));
            let mut variant = |id: String, what: String, f: &dyn Fn(&mut Vec<Condition>)| {
                let mut m = schema.clone();
                f(&mut m.tables[ti].rules[ri].conditions);
                if m.tables[ti].rules[ri].conditions.is_empty() {
                    m.tables[ti].rules[ri].conditions.push(Condition::Always);
                }
                let (before, sql) = policy_delta(schema, &m, &t.name);
                push(id, what, before, sql);
            };
            for (ci, c) in r.conditions.iter().enumerate() {
                if *c == Condition::Always {
                    continue;
                }
                variant(
                    format!("drop-condition:{base}:{ci}"),
                    format!(
                        "`{label}` ({} {}) without its condition {ci}",
                        r.command.sql(),
                        r.role.name()
                    ),
                    &|cs| {
                        cs.remove(ci);
                    },
                );
                match c {
                    Condition::Parent { owner: Some(_), .. } => variant(
                        format!("parent-owner-dropped:{base}:{ci}"),
                        format!("`{label}`: the parent row need only be visible, not owned"),
                        &|cs| {
                            if let Condition::Parent { owner, .. } = &mut cs[ci] {
                                *owner = None;
                            }
                        },
                    ),
                    Condition::Owner { column } => {
                        for other in t
                            .columns
                            .iter()
                            .filter(|o| o.name != *column && matches!(o.ty, SqlType::Uuid))
                        {
                            let o = other.name.clone();
                            variant(
                                format!("swap-owner:{base}:{ci}:{}", other.name),
                                format!("`{label}`: owner column `{column}` swapped for `{o}`"),
                                &|cs| cs[ci] = Condition::Owner { column: o.clone() },
                            );
                        }
                    }
                    Condition::Custom { using, check } => {
                        for (side, text) in [("using", using), ("check", check)] {
                            let Some(text) = text else { continue };
                            let parts = conjuncts(text);
                            if parts.len() < 2 {
                                continue;
                            }
                            for k in 0..parts.len() {
                                let rest: Vec<String> = parts
                                    .iter()
                                    .enumerate()
                                    .filter(|(j, _)| *j != k)
                                    .map(|(_, p)| p.clone())
                                    .collect();
                                let rest = rest.join(" and ");
                                variant(
                                    format!("drop-conjunct:{base}:{ci}:{side}:{k}"),
                                    format!("`{label}`: `{}` removed from its {side}", parts[k]),
                                    &|cs| {
                                        if let Condition::Custom { using, check } = &mut cs[ci] {
                                            let slot = if side == "using" { using } else { check };
                                            *slot = Some(rest.clone());
                                        }
                                    },
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // Whole policies widened.
        for p in up::policies(schema, t) {
            let pq = quote(&p.name);
            // A clause that is already `true` has no wider form: no mutant.
            if p.check.as_deref().is_some_and(|c| c.trim() != "true") {
                push(
                    format!("check-true:{}", p.name),
                    format!("{}: with check (true)", p.name),
                    vec![p.sql.clone()],
                    vec![format!("alter policy {pq} on {tq} with check (true);")],
                );
            }
            if p.using.as_deref().is_some_and(|u| u.trim() != "true") {
                push(
                    format!("using-true:{}", p.name),
                    format!("{}: using (true)", p.name),
                    vec![p.sql.clone()],
                    vec![format!("alter policy {pq} on {tq} using (true);")],
                );
            }
            if p.role == DbRole::Authenticated {
                // To `public`: anon too. Only where anon holds the grant (otherwise privileges
                // refuse before any policy and no test can tell; the grant mutants cover that).
                if schema_core::emit::access::grant(t, DbRole::Anon, p.command).is_some() {
                    push(
                        format!("to-public:{}", p.name),
                        format!("{} applies to public (anon too)", p.name),
                        vec![p.sql.clone()],
                        vec![format!("alter policy {pq} on {tq} to public;")],
                    );
                }
                push(
                    format!("to-anon:{}", p.name),
                    format!("{} applies to anon instead of authenticated", p.name),
                    vec![p.sql.clone()],
                    vec![format!("alter policy {pq} on {tq} to \"anon\";")],
                );
            }
        }
        // Grants widened: a column added to a column grant, a command added to a role.
        for role in [DbRole::Anon, DbRole::Authenticated] {
            let rq = quote(role.name());
            for cmd in Command::ALL {
                match schema_core::emit::access::grant(t, role, cmd) {
                    None => push(
                        format!("grant:{}:{}", t.name, cmd_role(cmd, role)),
                        format!("{} granted {} on {}", role.name(), cmd.sql(), t.name),
                        vec![],
                        vec![format!("grant {} on table {tq} to {rq};", cmd.sql())],
                    ),
                    Some(g) => {
                        let Some(cols) = &g.columns else { continue };
                        if cmd == Command::Delete {
                            continue;
                        }
                        for c in t.columns.iter().filter(|c| {
                            !cols.contains(&c.name)
                                && c.generated.is_none()
                                && (cmd == Command::Select || c.identity.is_none())
                        }) {
                            push(
                                format!(
                                    "grant-column:{}:{}:{}",
                                    t.name,
                                    cmd_role(cmd, role),
                                    c.name
                                ),
                                format!(
                                    "{} granted {} of `{}` on {}",
                                    role.name(),
                                    cmd.sql(),
                                    c.name,
                                    t.name
                                ),
                                vec![],
                                vec![format!(
                                    "grant {} ({}) on table {tq} to {rq};",
                                    cmd.sql(),
                                    quote(&c.name)
                                )],
                            );
                        }
                    }
                }
            }
        }
    }
    // Helpers: ignore the caller, drop a member-role filter, flip security definer.
    for h in &schema.helpers {
        let name = h.name().to_string();
        let fq = qualified(&schema.helpers_schema, &name);
        let original = probe::replace_helper(schema, &name);
        let Some(body) = original.first() else {
            continue;
        };
        if !matches!(h, Helper::SetUpdatedAt { .. }) && body.contains(" where ") {
            let mut sql = original.clone();
            sql[0] = body.replacen(" where ", " where true or ", 1);
            push(
                format!("helper-ignores-caller:{name}"),
                format!("{name} answers for every user (`where true or ...`)"),
                vec![body.clone()],
                sql,
            );
        }
        if let Helper::HasRole { .. } = h {
            if body.contains(" = $1") {
                let mut sql = original.clone();
                sql[0] = body.replacen(" and \"role\" = $1", "", 1);
                push(
                    format!("helper-ignores-argument:{name}"),
                    format!("{name} ignores the role it is asked about"),
                    vec![body.clone()],
                    sql,
                );
            }
        }
        if let Helper::MemberKeys {
            role_filter: Some(_),
            ..
        } = h
        {
            let mut m = schema.clone();
            for mh in &mut m.helpers {
                if let Helper::MemberKeys {
                    name: n,
                    role_filter,
                    ..
                } = mh
                {
                    if *n == name {
                        *role_filter = None;
                    }
                }
            }
            let sql = probe::replace_helper(&m, &name);
            push(
                format!("drop-role-filter:{name}"),
                format!("{name} ignores the member's role"),
                vec![body.clone()],
                sql.into_iter().take(1).collect(),
            );
        }
        if body.contains("security definer") {
            push(
                format!("security-invoker:{name}"),
                format!("{name} runs as its caller (security invoker)"),
                vec![],
                vec![format!("alter function {fq} security invoker;")],
            );
        }
    }
    for f in &schema.functions {
        let fq = qualified(&f.schema, &f.name);
        let flip = if f.security_definer {
            "invoker"
        } else {
            "definer"
        };
        push(
            format!("security-{flip}:{}.{}", f.schema, f.name),
            format!("{}.{} made security {flip}", f.schema, f.name),
            vec![],
            vec![format!("alter function {fq} security {flip};")],
        );
        if f.security_definer {
            let original = probe::replace_function(schema, &f.schema, &f.name);
            if let Some(body) = original.first() {
                if body.contains(" where ") || body.contains("\nwhere ") {
                    let mut sql = original.clone();
                    sql[0] = if body.contains(" where ") {
                        body.replacen(" where ", " where true or ", 1)
                    } else {
                        body.replacen("\nwhere ", "\nwhere true or ", 1)
                    };
                    push(
                        format!("helper-ignores-caller:{}.{}", f.schema, f.name),
                        format!(
                            "{}.{} answers for every user (`where true or ...`)",
                            f.schema, f.name
                        ),
                        vec![body.clone()],
                        sql.into_iter().take(1).collect(),
                    );
                }
            }
        }
    }
    out
}

/// Runs every check of the harness on `pg` (inside the caller's transaction), stopping at the
/// first failure of a check that passed in the baseline when the harness has one.
fn all_checks(h: &mut Harness<'_>, pg: &mut impl GenericClient) -> Result<(), PgError> {
    h.matrix(pg)?;
    h.column_checks(pg)?;
    h.ownership_checks(pg)?;
    h.link_moves(pg)?;
    h.postgrest_shapes(pg)?;
    h.cascade_check(pg)?;
    h.scenarios(pg)
}

/// Builds one database from the committed `migrations` (in `mode`), proves the suite passes on
/// it, then applies each mutant in a transaction that is rolled back and runs the suite until
/// a check that passed fails.
pub fn run<S: PgServer + ?Sized>(
    server: &S,
    schema: &Schema,
    migrations: &[MigrationFile],
    suite: &Suite,
    mode: GrantMode,
    mutants: &[Mutant],
) -> Result<MutationReport, PgError> {
    let started = Instant::now();
    let db = TestDatabase::create(server, &format!("mutants_{}", mode_name(mode)))?;
    let mut admin = db.connect_admin()?;
    if !is_supabase(&mut admin) {
        install_supabase_platform(&mut admin, mode)?;
    }
    drop(admin);
    let mut pg = db.connect_as("postgres")?;
    migrate::up(&mut pg, migrations, None)?;
    let findings = crate::drift::drift(&mut pg, schema)?;
    if !findings.is_empty() {
        let list: Vec<String> = findings
            .iter()
            .map(|f| format!("  {} ({}): {}", f.object, f.kind.name(), f.detail))
            .collect();
        return Err(PgError::Message(format!(
            "the committed migrations do not build what the schema declares (run `schemac generate`):\n{}",
            list.join("\n")
        )));
    }
    let mut h = Harness {
        schema,
        suite,
        planner: Planner::new(schema, suite),
        mode: mode_name(mode),
        checks: Vec::new(),
        stop: None,
        killed: None,
        only: None,
        skip: None,
    };
    h.create_fixtures(&mut pg)?;
    let mut report = MutationReport::default();
    {
        let mut tx = pg.transaction()?;
        all_checks(&mut h, &mut tx)?;
        tx.rollback()?;
    }
    let baseline: BTreeSet<String> = h
        .checks
        .iter()
        .filter(|c| c.passed)
        .map(|c| c.key())
        .collect();
    report.baseline_checks = h.checks.len();
    report.baseline_failures = h.checks.iter().filter(|c| !c.passed).cloned().collect();
    h.stop = Some(baseline);
    let t = Instant::now();
    for m in mutants {
        h.checks.clear();
        h.killed = None;
        h.only = None;
        h.skip = None;
        let mut tx = pg.transaction()?;
        let applied = {
            let mut sp = tx.transaction()?;
            match sp.batch_execute(&m.sql.join("\n")) {
                Ok(()) => {
                    sp.commit()?;
                    Ok(())
                }
                Err(e) => Err(crate::error::describe_postgres_error(&e)),
            }
        };
        let status = match applied {
            Err(e) => Status::Invalid(e),
            Ok(()) => {
                if let Some(t) = &m.table {
                    // The mutated table first: most mutants die there, after a few checks.
                    h.only = Some(t.clone());
                    h.matrix(&mut tx)?;
                    h.column_checks(&mut tx)?;
                    h.ownership_checks(&mut tx)?;
                    h.link_moves(&mut tx)?;
                    h.postgrest_shapes(&mut tx)?;
                    h.only = None;
                    h.skip = Some(t.clone());
                }
                all_checks(&mut h, &mut tx)?;
                let declared = suite.equivalent(&m.id).map(|e| e.reason.clone());
                match (h.killed.take(), declared) {
                    (Some(by), None) => Status::Killed(by),
                    (Some(by), Some(_)) => Status::DeclaredButKilled(by),
                    (None, Some(why)) => Status::Equivalent(why),
                    (None, None) => Status::Survived,
                }
            }
        };
        tx.rollback()?;
        report.results.push((m.clone(), status));
    }
    report.mutants_elapsed = t.elapsed();
    drop(pg);
    db.drop_now()?;
    report.elapsed = started.elapsed();
    Ok(report)
}
