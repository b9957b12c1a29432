//! SQL text primitives. `ident` is the only producer of identifiers and literals in emitted SQL,
//! `comment` the only producer of `--` comment lines.

pub mod comment;
pub mod dml;
pub mod expr;
pub mod grant;
pub mod ident;
pub mod lex;

/// The `search_path` of every function schemac creates. `pg_catalog` first, and the session's
/// temporary schema listed explicitly and last: left out (as with `search_path = ''`),
/// PostgreSQL searches `pg_temp` *first* for tables and types, so any caller could shadow a type
/// a `security definer` function uses (a temporary domain whose check runs the caller's code as
/// the function's owner). Every other name in a body is schema-qualified.
pub const SEARCH_PATH_CLAUSE: &str = "set search_path = pg_catalog, pg_temp";

/// [`SEARCH_PATH_CLAUSE`] as PostgreSQL records it in `pg_proc.proconfig`.
pub const SEARCH_PATH_CONFIG: &str = "search_path=pg_catalog, pg_temp";
