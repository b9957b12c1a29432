//! Throwaway databases on a server: unique names, connection URLs, and a drop that always runs.

use std::sync::atomic::{AtomicU64, Ordering};

use postgres::Client;

use crate::error::PgError;
use crate::server::{connect, PgServer, SUPERUSER};
use crate::url;

/// Prefix of every test database name (handy to clean up leftovers on a shared server).
pub const TEST_DB_PREFIX: &str = "schemac_t_";

/// PostgreSQL truncates identifiers longer than this many bytes.
const MAX_IDENT: usize = 63;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Quotes an identifier for SQL (schema-core's `sql::ident::quote`, the one quoting function).
pub fn quote_ident(ident: &str) -> String {
    schema_core::sql::ident::quote(ident)
}

/// Quotes a string literal for SQL (schema-core's `sql::ident::literal`: right under either
/// setting of `standard_conforming_strings`).
pub fn quote_literal(value: &str) -> String {
    schema_core::sql::ident::literal(value)
}

/// `schemac_t_<name>_<pid>_<counter>`, with `name` lowercased, reduced to `[a-z0-9_]` and
/// shortened so the whole fits PostgreSQL's 63-byte identifier limit.
fn database_name(label: &str, pid: u32, counter: u64) -> String {
    let suffix = format!("_{pid}_{counter}");
    let room = MAX_IDENT - TEST_DB_PREFIX.len() - suffix.len();
    let clean: String = label
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .take(room)
        .collect();
    format!("{TEST_DB_PREFIX}{clean}{suffix}")
}

/// A freshly created, empty database, dropped (`with (force)`, closing any connections still
/// open to it) when this value is dropped — including while unwinding from a panic.
///
/// It remembers only URLs, not the server itself; keep the server alive for at least as long
/// (the shared test server lives for the whole process, so that is automatic there).
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    /// Superuser URL of the server's maintenance database (used to create and drop).
    server_admin_url: String,
    dropped: bool,
}

impl TestDatabase {
    /// Creates `schemac_t_<label>_<pid>_<counter>` on `server`, owned by the superuser.
    pub fn create<S: PgServer + ?Sized>(server: &S, label: &str) -> Result<Self, PgError> {
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = database_name(label, std::process::id(), counter);
        let server_admin_url = server.admin_url();
        let mut admin = connect(&server_admin_url)?;
        admin.batch_execute(&format!("create database {}", quote_ident(&name)))?;
        Ok(TestDatabase {
            name,
            server_admin_url,
            dropped: false,
        })
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL of the server's superuser on this database.
    pub fn admin_url(&self) -> String {
        url::with_user_db(&self.server_admin_url, &self.superuser(), &self.name)
            .expect("server URLs are always rewritable")
    }

    /// URL for `user` on this database (no password added).
    pub fn url_for(&self, user: &str) -> String {
        url::with_user_db(&self.server_admin_url, user, &self.name)
            .expect("server URLs are always rewritable")
    }

    /// Connects to this database as the server's superuser.
    pub fn connect_admin(&self) -> Result<Client, PgError> {
        connect(&self.admin_url())
    }

    /// Connects to this database as `user` (e.g. `postgres` or `authenticator`).
    pub fn connect_as(&self, user: &str) -> Result<Client, PgError> {
        connect(&self.url_for(user))
    }

    /// Drops the database now, reporting errors (`Drop` can only print them).
    pub fn drop_now(mut self) -> Result<(), PgError> {
        self.dropped = true;
        self.drop_database()
    }

    /// The user name in the server's admin URL ([`SUPERUSER`] if none is given).
    fn superuser(&self) -> String {
        self.server_admin_url
            .parse::<postgres::Config>()
            .ok()
            .and_then(|c| c.get_user().map(str::to_string))
            .unwrap_or_else(|| SUPERUSER.to_string())
    }

    fn drop_database(&self) -> Result<(), PgError> {
        let mut admin = connect(&self.server_admin_url)?;
        admin.batch_execute(&format!(
            "drop database if exists {} with (force)",
            quote_ident(&self.name)
        ))?;
        Ok(())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        if let Err(e) = self.drop_database() {
            eprintln!("schema-pg: could not drop test database {}: {e}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_and_bounded() {
        assert_eq!(
            database_name("My Test-1", 42, 7),
            "schemac_t_my_test_1_42_7"
        );
        assert_eq!(database_name("é\"x", 1, 0), "schemac_t___x_1_0");
        let long = database_name(&"a".repeat(200), 4_194_304, u64::MAX);
        assert!(long.len() <= MAX_IDENT, "{long} is {} bytes", long.len());
        assert!(long.ends_with(&format!("_4194304_{}", u64::MAX)));
    }

    #[test]
    fn quoting_doubles_quotes() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
