//! Live PostgreSQL for schemac: embedded throwaway servers, test databases, a faithful Supabase platform and PostgREST-style sessions.
//!
//! Typical test:
//!
//! ```no_run
//! use schema_pg::{act_as, install_supabase_platform, shared, Actor, GrantMode, TestDatabase};
//!
//! let db = TestDatabase::create(shared(), "my_test").unwrap();
//! install_supabase_platform(&mut db.connect_admin().unwrap(), GrantMode::NoAutoGrant).unwrap();
//! // Migrations run as `postgres`, like on Supabase.
//! let mut pg = db.connect_as("postgres").unwrap();
//! pg.batch_execute("create table public.notes (id int primary key)").unwrap();
//! let mut tx = pg.transaction().unwrap();
//! act_as(&mut tx, &Actor::anon()).unwrap();
//! let denied = tx.query("select * from public.notes", &[]).unwrap_err();
//! assert_eq!(denied.code().unwrap().code(), "42501");
//! ```
//!
//! Modules:
//! * [`bin`] — where the PostgreSQL binaries come from (`scripts/install-postgres.sh`);
//! * [`server`] — [`EmbeddedServer`], [`ServerHandle`], [`shared`] and their cleanup;
//! * [`db`] — [`TestDatabase`];
//! * [`platform`] — [`install_supabase_platform`], [`is_supabase`];
//! * [`session`] — [`Actor`], [`act_as`].

pub mod bench;
pub mod bin;
pub mod db;
pub mod drift;
pub mod error;
pub mod harness;
pub mod lint_live;
pub mod migrate;
pub mod platform;
pub mod server;
pub mod session;
mod url;

pub use bin::PgBinaries;
pub use db::{quote_ident, quote_literal, TestDatabase};
pub use error::PgError;
pub use platform::{install_supabase_platform, is_supabase, GrantMode};
pub use server::{connect, shared, try_shared, EmbeddedServer, PgServer, ServerHandle, SUPERUSER};
pub use session::{act_as, Actor};

/// Re-exported so users need not depend on the same `postgres` version themselves.
pub use postgres;
