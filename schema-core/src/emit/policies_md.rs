//! `policies.md`: the access matrix a reviewer reads in a pull request, table by table.

use super::access::{Access, Actor, Outcome, Shape, ShapeOutcome};
use super::up::policies;
use super::{finish, header, markdown, EmitOptions};
use crate::ir::{Command, Schema};
use std::fmt::Write;

pub fn document(schema: &Schema, opts: &EmitOptions) -> String {
    let mut out = String::new();
    out.push_str(&header("<!--", opts));
    let _ = writeln!(out, "# Access matrix\n");
    let _ = writeln!(
        out,
        "What each actor may do to a row of each table, as the generated policies and grants decide it.\n\n\
         - **anon**: a request without a signed-in user.\n\
         - **owner**: the signed-in user who owns the row (and its parent rows).\n\
         - **other**: a signed-in user with no relation to the row.\n\
         - **member**: a signed-in user who is a member of the owner's shared rows (for a membership table: the member the row names).\n\
         - **admin**: a signed-in user whose app role is `admin` (from a source users cannot write).\n\
         - **service_role**: trusted server code; bypasses row level security.\n\n\
         Outcomes: **yes** (allowed; a column list means only those columns), **0 rows** (silently filtered),\n\
         **refused** (error 42501: no privilege, or a new row no policy allows), **if ...** (decided by custom SQL: pin the\n\
         expected outcome in the policy tests). Inserts write the owner's row the way the actor would through the API:\n\
         columns the actor may not insert take their defaults (`auth.uid()` defaults become the actor)."
    );
    let access = Access::new(schema);
    for t in &schema.tables {
        let _ = writeln!(out, "\n## `{}`\n", t.name);
        if let Some(c) = &t.comment {
            let _ = writeln!(out, "{}\n", markdown::text(c));
        }
        if !t.rls {
            let _ = writeln!(out, "**Row level security is disabled on this table.**\n");
        }
        let _ = writeln!(out, "| actor | select | insert | update | delete |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for actor in Actor::ALL {
            let cells: Vec<String> = Command::ALL
                .iter()
                .map(|c| cell(&access.outcome(t, actor, *c), t.columns.len()))
                .collect();
            let _ = writeln!(out, "| {} | {} |", actor.name(), cells.join(" | "));
        }
        returned_row_refused(&mut out, &access, t);
        let ps = policies(schema, t);
        if !ps.is_empty() {
            let _ = writeln!(out, "\nPolicies:\n");
            for p in ps {
                let _ = write!(out, "- {}", markdown::code(&p.name));
                if let Some(u) = &p.using {
                    let _ = write!(out, " using {}", markdown::code(u));
                }
                if let Some(c) = &p.check {
                    let _ = write!(out, " with check {}", markdown::code(c));
                }
                out.push('\n');
            }
        }
        if t.realtime.is_some() {
            let _ = writeln!(
                out,
                "\nRealtime: changes are published to subscribers who can read the row."
            );
        }
    }
    finish(out)
}

/// Cells where the write is allowed but supabase-js's `.select()` after it (PostgREST
/// `return=representation`, i.e. `returning`) is refused because the row is not readable.
fn returned_row_refused(out: &mut String, access: &Access, t: &crate::ir::Table) {
    let mut cells = Vec::new();
    for actor in Actor::ALL {
        for cmd in [Command::Insert, Command::Update] {
            if access.shape_outcome(t, actor, cmd, Shape::Returning)
                == Some(ShapeOutcome::ReturnedRowRefused)
            {
                cells.push(format!("{} {}", actor.name(), cmd.sql()));
            }
        }
    }
    if !cells.is_empty() {
        let _ = writeln!(
            out,
            "
Write allowed, returned row refused: {}. The write alone is allowed, but the row is not \
             readable by the actor, so the same write with `.select()` (PostgREST `return=representation`, \
             `returning`) fails with 42501.",
            cells.join(", ")
        );
    }
}

fn cell(o: &Outcome, ncols: usize) -> String {
    let cols = |c: &Option<Vec<String>>| match c {
        Some(c) if c.len() < ncols => format!(" ({})", c.join(", ")),
        _ => String::new(),
    };
    match o {
        Outcome::Allowed(c) => format!("yes{}", cols(c)),
        Outcome::Conditional(why, c) => format!("if {}{}", markdown::cell(why), cols(c)),
        Outcome::Filtered => "0 rows".into(),
        Outcome::Refused => "refused".into(),
    }
}
