//! The down script of the first migration: drops everything `up` created, in reverse order.

use super::up::{function_signature, uses_helpers_schema, vector_schema};
use super::{finish, header, EmitOptions};
use crate::ir::{Helper, Schema};
use crate::sql::ident::{qname, qualified, quote};
use crate::types;
use std::fmt::Write;

/// Dropping a table holds ~40 locks (its indexes, constraints, policies, triggers...) until
/// commit; PostgreSQL's default lock table (max_locks_per_transaction 64 x max_connections 100)
/// overflows at a few hundred tables. Large down scripts therefore commit every this many tables.
pub const TABLES_PER_TRANSACTION: usize = 100;

/// A comment line that `schemac migrate down` treats as "commit here and continue in a new
/// transaction". Outside schemac (psql in autocommit mode) it is just a comment.
pub const COMMIT_MARKER: &str =
    "-- schemac: commit (a new transaction keeps the lock table from overflowing)";

pub fn migration(schema: &Schema, opts: &EmitOptions) -> String {
    let mut out = header("--", opts);
    let _ = writeln!(out, "-- Reverts the migration of the same name: drops every object it created, in reverse order.");
    let _ = writeln!(
        out,
        "-- Data in these tables is lost; extensions stay installed (other schemas may use them)."
    );
    for s in statements(schema) {
        out.push('\n');
        out.push_str(&s);
        out.push('\n');
    }
    finish(out)
}

pub fn statements(schema: &Schema) -> Vec<String> {
    let vs = vector_schema(schema);
    let mut s = Vec::new();
    for t in schema.tables.iter().rev() {
        if t.realtime.is_some() {
            s.push(format!(
                "alter publication {} drop table {};",
                quote("supabase_realtime"),
                qualified("public", &t.name)
            ));
        }
    }
    // Triggers on tables this schema does not own (auth.users) outlive our tables: drop them.
    for tr in schema.triggers.iter().rev() {
        if tr.table.schema != "public" {
            s.push(format!(
                "drop trigger {} on {};",
                quote(&tr.name),
                qname(&tr.table)
            ));
        }
    }
    // Dropping a table drops its indexes, policies, grants and triggers with it.
    for (i, t) in schema.tables.iter().rev().enumerate() {
        if i > 0 && i % TABLES_PER_TRANSACTION == 0 {
            s.push(COMMIT_MARKER.to_string());
        }
        s.push(format!("drop table {};", qualified("public", &t.name)));
    }
    for f in schema.functions.iter().rev() {
        s.push(format!(
            "drop function {};",
            function_signature(f, vs.as_deref())
        ));
    }
    for h in schema.helpers.iter().rev() {
        let args = match h {
            Helper::HasRole { arg_type, .. }
            | Helper::OwnerIdsWithRole { arg_type, .. }
            | Helper::OwnerBound { arg_type, .. } => types::sql(arg_type, None),
            _ => String::new(),
        };
        s.push(format!(
            "drop function {}({args});",
            qualified(&schema.helpers_schema, h.name())
        ));
    }
    for e in schema.enums.iter().rev() {
        s.push(format!("drop type {};", qualified("public", &e.name)));
    }
    if uses_helpers_schema(schema) {
        s.push(format!("drop schema {};", quote(&schema.helpers_schema)));
    }
    s
}
