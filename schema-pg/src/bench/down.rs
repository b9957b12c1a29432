//! Migrations at scale: applies a schema's up migration and then its down script, each in a single transaction (as `psql -1` or the Supabase CLI would), and reports whether the server's lock table holds them, how many locks they took, and where they fail.

use crate::error::PgError;
use crate::platform::{install_supabase_platform, is_supabase, GrantMode};
use crate::server::PgServer;
use crate::TestDatabase;
use postgres::Client;
use schema_core::emit::{down, up};
use schema_core::ir::Schema;
use std::time::Instant;

/// One script applied in one transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attempt {
    pub ok: bool,
    pub statements: usize,
    /// Statements that ran before the failure (all of them on success).
    pub executed: usize,
    pub seconds: f64,
    /// Locks the transaction held just before committing (on success).
    pub locks_held: Option<i64>,
    pub sqlstate: Option<String>,
    /// The server's message, with its hint.
    pub error: Option<String>,
    /// The statement that failed (first line).
    pub failed_statement: Option<String>,
}

/// The lock settings of the server.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LockSettings {
    pub max_locks_per_transaction: i64,
    pub max_connections: i64,
    pub max_prepared_transactions: i64,
    /// Other backend slots the shared lock table is sized for (autovacuum workers, background
    /// workers, WAL senders, auxiliary processes).
    pub other_backends: i64,
}

impl LockSettings {
    /// About how many locks the whole server can hold: the shared lock table has room for
    /// `max_locks_per_transaction * (backends + prepared transactions)` (plus a little slack).
    pub fn lock_table_slots(&self) -> i64 {
        self.max_locks_per_transaction
            * (self.max_connections + self.other_backends + self.max_prepared_transactions)
    }
}

/// What happened to a schema's up and down scripts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DownReport {
    pub tables: usize,
    pub settings: LockSettings,
    pub up: Attempt,
    /// When the up migration failed in one transaction: it was then applied statement by
    /// statement so the down script could still be measured.
    pub up_applied_per_statement: Option<Attempt>,
    pub down: Attempt,
    /// When the down script failed in one transaction: the same statements, each in its own
    /// transaction (shows the script itself is right and only its size is the problem).
    pub down_per_statement: Option<Attempt>,
    /// `drop table` statements that ran in the single down transaction before it failed (or all).
    pub tables_dropped_in_transaction: usize,
    /// Locks per dropped table, measured on the first [`PROBE_TABLES`] tables of the down script
    /// in a transaction that is rolled back.
    pub locks_per_dropped_table: Option<f64>,
}

/// How many tables the lock probe drops (in a transaction it rolls back).
pub const PROBE_TABLES: usize = 50;

fn is_drop_table(s: &str) -> bool {
    first_line(s).starts_with("drop table ")
}

/// Locks per dropped table: the down script up to its first `n` table drops, in a transaction
/// that is rolled back, minus the locks of the same script before its first table drop.
fn probe_locks(client: &mut Client, downs: &[String], n: usize) -> Option<f64> {
    let count = |tx: &mut postgres::Transaction<'_>| -> Option<i64> {
        tx.query_one(
            "select count(*) from pg_locks where pid = pg_backend_pid()",
            &[],
        )
        .ok()
        .map(|r| r.get::<_, i64>(0))
    };
    let mut tx = client.transaction().ok()?;
    let mut dropped = 0;
    let mut before: Option<i64> = None;
    for s in downs {
        if is_drop_table(s) {
            if before.is_none() {
                before = count(&mut tx);
            }
            if dropped == n {
                break;
            }
            dropped += 1;
        }
        if tx.batch_execute(s).is_err() {
            return None;
        }
    }
    let after = count(&mut tx)?;
    let _ = tx.rollback();
    (dropped > 0).then(|| (after - before.unwrap_or(0)) as f64 / dropped as f64)
}

fn int_setting(client: &mut Client, name: &str) -> i64 {
    client
        .query_one(
            "select coalesce(nullif(current_setting($1, true), ''), '0')::bigint",
            &[&name],
        )
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(0)
}

/// Reads the settings that size the shared lock table.
pub fn lock_settings(client: &mut Client) -> LockSettings {
    // autovacuum_worker_slots is PostgreSQL 18's; older servers size for autovacuum_max_workers.
    let autovacuum = match int_setting(client, "autovacuum_worker_slots") {
        0 => int_setting(client, "autovacuum_max_workers"),
        n => n,
    };
    LockSettings {
        max_locks_per_transaction: int_setting(client, "max_locks_per_transaction"),
        max_connections: int_setting(client, "max_connections"),
        max_prepared_transactions: int_setting(client, "max_prepared_transactions"),
        other_backends: autovacuum
            + int_setting(client, "max_worker_processes")
            + int_setting(client, "max_wal_senders")
            + 2,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
        .unwrap_or("")
        .to_string()
}

/// Runs `statements` in one transaction; rolls back on the first error.
pub fn in_one_transaction(client: &mut Client, statements: &[String]) -> Attempt {
    let t = Instant::now();
    let mut a = Attempt {
        statements: statements.len(),
        ..Attempt::default()
    };
    let mut tx = match client.transaction() {
        Ok(tx) => tx,
        Err(e) => {
            a.error = Some(crate::error::describe_postgres_error(&e));
            return a;
        }
    };
    for s in statements {
        if let Err(e) = tx.batch_execute(s) {
            a.sqlstate = e.code().map(|c| c.code().to_string());
            a.error = Some(crate::error::describe_postgres_error(&e));
            a.failed_statement = Some(first_line(s));
            let _ = tx.rollback();
            a.seconds = t.elapsed().as_secs_f64();
            return a;
        }
        a.executed += 1;
    }
    a.locks_held = tx
        .query_one(
            "select count(*) from pg_locks where pid = pg_backend_pid()",
            &[],
        )
        .ok()
        .map(|r| r.get::<_, i64>(0));
    match tx.commit() {
        Ok(()) => a.ok = true,
        Err(e) => {
            a.sqlstate = e.code().map(|c| c.code().to_string());
            a.error = Some(crate::error::describe_postgres_error(&e));
        }
    }
    a.seconds = t.elapsed().as_secs_f64();
    a
}

/// Runs each statement in its own transaction; stops at the first error.
pub fn per_statement(client: &mut Client, statements: &[String]) -> Attempt {
    let t = Instant::now();
    let mut a = Attempt {
        statements: statements.len(),
        ok: true,
        ..Attempt::default()
    };
    for s in statements {
        if let Err(e) = client.batch_execute(s) {
            a.ok = false;
            a.sqlstate = e.code().map(|c| c.code().to_string());
            a.error = Some(crate::error::describe_postgres_error(&e));
            a.failed_statement = Some(first_line(s));
            break;
        }
        a.executed += 1;
    }
    a.seconds = t.elapsed().as_secs_f64();
    a
}

/// Applies `schema`'s up migration and then its down script to a scratch database of `server`,
/// each in one transaction, as the `postgres` role.
pub fn run<S: PgServer + ?Sized>(server: &S, schema: &Schema) -> Result<DownReport, PgError> {
    let db = TestDatabase::create(server, "bench_down")?;
    let mut admin = db.connect_admin()?;
    if !is_supabase(&mut admin) {
        install_supabase_platform(&mut admin, GrantMode::NoAutoGrant)?;
    }
    drop(admin);
    let mut pg = db.connect_as("postgres")?;
    let settings = lock_settings(&mut pg);
    let ups = up::statements(schema);
    let downs = down::statements(schema);
    let up_attempt = in_one_transaction(&mut pg, &ups);
    let mut report = DownReport {
        tables: schema.tables.len(),
        settings,
        ..DownReport::default()
    };
    if !up_attempt.ok {
        let again = per_statement(&mut pg, &ups);
        let failed = !again.ok;
        report.up_applied_per_statement = Some(again);
        if failed {
            report.up = up_attempt;
            drop(pg);
            db.drop_now()?;
            return Ok(report);
        }
    }
    report.up = up_attempt;
    report.locks_per_dropped_table = probe_locks(&mut pg, &downs, PROBE_TABLES);
    report.down = in_one_transaction(&mut pg, &downs);
    report.tables_dropped_in_transaction = downs
        .iter()
        .take(report.down.executed)
        .filter(|s| is_drop_table(s))
        .count();
    if !report.down.ok {
        report.down_per_statement = Some(per_statement(&mut pg, &downs));
    }
    drop(pg);
    db.drop_now()?;
    Ok(report)
}

fn attempt_text(a: &Attempt) -> String {
    if a.ok {
        format!(
            "ok: {} statements in {:.2} s{}",
            a.statements,
            a.seconds,
            a.locks_held
                .map(|n| format!(", {n} locks held at commit"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "FAILED after {} of {} statements ({:.2} s) at `{}`: {}",
            a.executed,
            a.statements,
            a.seconds,
            a.failed_statement.as_deref().unwrap_or(""),
            a.error.as_deref().unwrap_or("").replace('\n', " | ")
        )
    }
}

/// The report as text.
pub fn human(r: &DownReport) -> String {
    let s = &r.settings;
    let mut out = format!(
        "{} tables; max_locks_per_transaction = {}, max_connections = {}, max_prepared_transactions = {} \
         (lock table sized for {} locks; it can borrow some spare shared memory beyond that)\n",
        r.tables,
        s.max_locks_per_transaction,
        s.max_connections,
        s.max_prepared_transactions,
        s.lock_table_slots()
    );
    out.push_str(&format!("up, one transaction:   {}\n", attempt_text(&r.up)));
    if let Some(a) = &r.up_applied_per_statement {
        out.push_str(&format!("up, per statement:     {}\n", attempt_text(a)));
    }
    out.push_str(&format!(
        "down, one transaction: {}\n",
        attempt_text(&r.down)
    ));
    if let Some(a) = &r.down_per_statement {
        out.push_str(&format!("down, per statement:   {}\n", attempt_text(a)));
    }
    out.push_str(&format!(
        "tables dropped in the single down transaction: {} of {}\n",
        r.tables_dropped_in_transaction, r.tables
    ));
    if let Some(n) = r.locks_per_dropped_table {
        out.push_str(&format!(
            "a dropped table holds about {n:.1} locks until commit (measured on the first {PROBE_TABLES} drops: \
             the table, its indexes and toast table, and every constraint, trigger, default, policy and type that goes with it)\n"
        ));
        if !r.down.ok {
            out.push_str(&format!(
                "so the single transaction held about {:.0} locks when it failed\n",
                n * r.tables_dropped_in_transaction as f64
            ));
        }
    }
    out
}

/// The report as JSON.
pub fn json(r: &DownReport) -> String {
    let a = |a: &Attempt| {
        serde_json::json!({
            "ok": a.ok, "statements": a.statements, "executed": a.executed, "seconds": a.seconds,
            "locks_held": a.locks_held, "sqlstate": a.sqlstate, "error": a.error,
            "failed_statement": a.failed_statement,
        })
    };
    let v = serde_json::json!({
        "tables": r.tables,
        "settings": {
            "max_locks_per_transaction": r.settings.max_locks_per_transaction,
            "max_connections": r.settings.max_connections,
            "max_prepared_transactions": r.settings.max_prepared_transactions,
            "lock_table_slots": r.settings.lock_table_slots(),
        },
        "up": a(&r.up),
        "up_applied_per_statement": r.up_applied_per_statement.as_ref().map(a),
        "down": a(&r.down),
        "down_per_statement": r.down_per_statement.as_ref().map(a),
        "tables_dropped_in_transaction": r.tables_dropped_in_transaction,
        "locks_per_dropped_table": r.locks_per_dropped_table,
    });
    let mut s = serde_json::to_string_pretty(&v).expect("json");
    s.push('\n');
    s
}
