//! Recreates the Supabase platform (roles, auth, extensions, realtime, migration table) on a vanilla PostgreSQL database.
//!
//! Generated migrations and RLS policies can then be run and exercised exactly as on a hosted
//! Supabase project.
//!
//! What gets installed (see `sql/platform.sql`):
//! * roles `anon` (statement_timeout 3s), `authenticated` (8s), `service_role` (bypassrls) —
//!   all nologin; `authenticator` (login, noinherit, member of the three); `postgres`
//!   (login createdb createrole replication bypassrls, **not** superuser, member of the three
//!   with admin option; search_path `"$user", public, extensions`); `supabase_auth_admin`;
//!   `supabase_realtime_admin`;
//! * schema `public` owned by `postgres`, `all` on the database to `postgres`;
//! * schemas `extensions` (with `vector`, and `pgcrypto` when available) and `auth` (owned by
//!   `supabase_auth_admin`); usage on public/extensions/auth for the three API roles;
//! * `auth.users` (all privileges to `postgres`, none to the API roles) and `auth.uid()`,
//!   `auth.role()`, `auth.email()`, `auth.jwt()` as on Supabase;
//! * publication `supabase_realtime` (empty, owned by `postgres`);
//! * `supabase_migrations.schema_migrations` owned by `postgres`;
//! * the default privileges of the chosen [`GrantMode`].
//!
//! Roles are cluster-wide and are created only when missing; concurrent installs into different
//! databases of one cluster are serialized by the script.

use postgres::Client;

use crate::error::PgError;

/// The platform script (run first, in every mode).
pub const PLATFORM_SQL: &str = include_str!("../sql/platform.sql");

/// Default privileges of [`GrantMode::LegacyDefaultGrants`].
pub const LEGACY_GRANTS_SQL: &str = include_str!("../sql/legacy_grants.sql");

/// Default privileges of [`GrantMode::NoAutoGrant`] (revokes the legacy ones).
pub const NO_AUTO_GRANTS_SQL: &str = include_str!("../sql/no_auto_grants.sql");

/// Which default privileges the API roles get on objects `postgres` creates in `public`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantMode {
    /// The current Supabase platform (new projects from 30 May 2026, every project from
    /// 30 Oct 2026): nothing is granted automatically; migrations must `grant` explicitly, and
    /// a table without grants is `permission denied` (SQLSTATE 42501) for `anon`/`authenticated`.
    NoAutoGrant,
    /// Supabase's historical default: `alter default privileges for role postgres in schema
    /// public grant all on tables, sequences, functions to anon, authenticated, service_role`.
    LegacyDefaultGrants,
}

/// Installs the Supabase platform into the database `admin` is connected to.
///
/// `admin` must be a superuser (the embedded server's `supabase_admin`). Runs in a single
/// transaction and is idempotent; running it again with another mode switches the mode.
/// Callers targeting a server that may already be Supabase should check [`is_supabase`] first.
pub fn install_supabase_platform(admin: &mut Client, mode: GrantMode) -> Result<(), PgError> {
    let mut tx = admin.transaction()?;
    tx.batch_execute(PLATFORM_SQL)
        .map_err(|source| PgError::Sql {
            script: "platform.sql",
            source,
        })?;
    let (script, sql) = match mode {
        GrantMode::NoAutoGrant => ("no_auto_grants.sql", NO_AUTO_GRANTS_SQL),
        GrantMode::LegacyDefaultGrants => ("legacy_grants.sql", LEGACY_GRANTS_SQL),
    };
    tx.batch_execute(sql)
        .map_err(|source| PgError::Sql { script, source })?;
    tx.commit()?;
    Ok(())
}

/// Whether the connected database already looks like Supabase: `auth.users` exists and so do
/// the roles `anon`, `authenticated` and `service_role`. A failing query counts as "no" (the
/// following installation attempt then reports the real error).
pub fn is_supabase(client: &mut Client) -> bool {
    client
        .query_one(
            "select to_regclass('auth.users') is not null
                and (select count(*) from pg_catalog.pg_roles
                     where rolname in ('anon', 'authenticated', 'service_role')) = 3",
            &[],
        )
        .map(|row| row.get::<_, bool>(0))
        .unwrap_or(false)
}
