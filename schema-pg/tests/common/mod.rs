//! Helpers shared by the schema-pg integration tests (not every test binary uses all of them).
#![allow(dead_code)]

use schema_pg::postgres::{Client, Transaction};
use schema_pg::PgError;

/// Unwraps with the error's full `Display` (which carries logs and fix-it hints).
pub fn ok<T>(result: Result<T, PgError>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// Unwraps a `postgres` result, showing the server's message, detail and hint.
pub fn pg<T>(result: Result<T, schema_pg::postgres::Error>) -> T {
    result.unwrap_or_else(|e| panic!("{}", schema_pg::error::describe_postgres_error(&e)))
}

/// The SQLSTATE of a failed statement, or a panic if it succeeded.
pub fn sqlstate<T: std::fmt::Debug>(result: Result<T, schema_pg::postgres::Error>) -> String {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e
            .code()
            .unwrap_or_else(|| panic!("not a database error: {e}"))
            .code()
            .to_string(),
    }
}

/// Runs `sql` in its own savepoint so a failure does not abort the surrounding transaction.
pub fn try_in_savepoint(
    tx: &mut Transaction<'_>,
    sql: &str,
) -> Result<Vec<schema_pg::postgres::Row>, schema_pg::postgres::Error> {
    let mut sp = tx.savepoint("probe").expect("savepoint");
    let result = sp.query(sql, &[]);
    if result.is_ok() {
        sp.commit().expect("release savepoint");
    }
    result
}

/// Whether a database with this name exists on the server `admin` is connected to.
pub fn database_exists(admin: &mut Client, name: &str) -> bool {
    pg(admin.query_one(
        "select exists (select from pg_database where datname = $1)",
        &[&name],
    ))
    .get(0)
}

/// Whether process `pid` is gone (or a zombie, i.e. dead but not yet reaped by its new parent).
pub fn process_is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .map(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'))
            .unwrap_or(false),
    }
}

/// Polls `cond` every 100 ms for up to `secs` seconds.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
