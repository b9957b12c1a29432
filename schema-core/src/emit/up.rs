//! The first migration: the whole schema as `create` statements, RLS policies and grants.

use super::{finish, header, EmitOptions};
use crate::ir::{self, Command, Condition, DbRole, Helper, Returns, Rule, Schema, SqlType};
use crate::sql::ident::{dollar_quote, list, literal, qname, qualified, quote};
use crate::types;
use std::fmt::Write;

/// The full "create everything" migration for `schema`.
pub fn migration(schema: &Schema, opts: &EmitOptions) -> String {
    let mut out = header("--", opts);
    let _ = writeln!(out, "-- Creates the whole schema: types, tables, indexes, functions, triggers, row level security,");
    let _ = writeln!(
        out,
        "-- grants and realtime. Reverted by the down script of the same name."
    );
    for s in statements(schema) {
        out.push('\n');
        out.push_str(&s);
        out.push('\n');
    }
    finish(out)
}

/// Every statement of the up migration, in order, each ending with `;` (comments may precede).
pub fn statements(schema: &Schema) -> Vec<String> {
    let mut s = Vec::new();
    let vs = vector_schema(schema);
    for e in &schema.extensions {
        s.push(match &e.schema {
            Some(sc) => format!(
                "create extension if not exists {} with schema {};",
                quote(&e.name),
                quote(sc)
            ),
            None => format!("create extension if not exists {};", quote(&e.name)),
        });
    }
    if uses_helpers_schema(schema) {
        s.push(format!("create schema {};", quote(&schema.helpers_schema)));
        s.push(format!(
            "grant usage on schema {} to {};",
            quote(&schema.helpers_schema),
            list(&["anon", "authenticated", "service_role"])
        ));
    }
    for e in &schema.enums {
        let values: Vec<String> = e.values.iter().map(|v| literal(v)).collect();
        s.push(format!(
            "create type {} as enum ({});",
            qualified("public", &e.name),
            values.join(", ")
        ));
        if let Some(c) = &e.comment {
            s.push(format!(
                "comment on type {} is {};",
                qualified("public", &e.name),
                literal(c)
            ));
        }
    }
    for t in &schema.tables {
        s.push(create_table(t, vs.as_deref()));
        if let Some(c) = &t.comment {
            s.push(format!(
                "comment on table {} is {};",
                qualified("public", &t.name),
                literal(c)
            ));
        }
        for c in &t.columns {
            if let Some(cm) = &c.comment {
                s.push(format!(
                    "comment on column {}.{} is {};",
                    qualified("public", &t.name),
                    quote(&c.name),
                    literal(cm)
                ));
            }
        }
        for ix in &t.indexes {
            s.push(create_index(t, ix, vs.as_deref()));
        }
    }
    for h in &schema.helpers {
        s.push(helper(schema, h));
        s.extend(helper_grants(schema, h));
    }
    for f in &schema.functions {
        s.push(create_function(f, vs.as_deref()));
        if let Some(c) = &f.comment {
            s.push(format!(
                "comment on function {} is {};",
                function_signature(f, vs.as_deref()),
                literal(c)
            ));
        }
        s.extend(function_grants(f, vs.as_deref()));
    }
    for t in &schema.tables {
        if t.timestamps {
            s.push(format!(
                "create trigger {} before update on {} for each row execute function {}();",
                quote(&format!("{}_set_updated_at", t.name)),
                qualified("public", &t.name),
                qualified(&schema.helpers_schema, "set_updated_at")
            ));
        }
    }
    for tr in &schema.triggers {
        s.push(create_trigger(tr));
    }
    for t in &schema.tables {
        s.extend(security(schema, t));
    }
    for t in &schema.tables {
        if let Some(r) = &t.realtime {
            if r.replica_identity_full {
                s.push(format!(
                    "alter table {} replica identity full;",
                    qualified("public", &t.name)
                ));
            }
            s.push(format!(
                "alter publication {} add table {};",
                quote("supabase_realtime"),
                qualified("public", &t.name)
            ));
        }
    }
    s
}

pub fn vector_schema(schema: &Schema) -> Option<String> {
    schema
        .extensions
        .iter()
        .find(|e| e.name == "vector")
        .map(|e| e.schema.clone().unwrap_or_else(|| "public".into()))
}

pub fn uses_helpers_schema(schema: &Schema) -> bool {
    !schema.helpers.is_empty()
        || schema
            .functions
            .iter()
            .any(|f| f.schema == schema.helpers_schema)
}

fn create_table(t: &ir::Table, vs: Option<&str>) -> String {
    let mut lines = Vec::new();
    for c in &t.columns {
        let mut l = format!("  {} {}", quote(&c.name), types::sql(&c.ty, vs));
        if let Some(id) = c.identity {
            l.push_str(match id {
                ir::Identity::Always => " generated always as identity",
                ir::Identity::ByDefault => " generated by default as identity",
            });
        }
        if let Some(g) = &c.generated {
            let _ = write!(l, " generated always as ({g}) stored");
        }
        if !c.nullable {
            l.push_str(" not null");
        }
        if let Some(d) = &c.default {
            let _ = write!(l, " default {d}");
        }
        lines.push(l);
    }
    if !t.primary_key.is_empty() {
        lines.push(format!(
            "  constraint {} primary key ({})",
            quote(&format!("{}_pkey", t.name)),
            list(&t.primary_key)
        ));
    }
    for u in &t.uniques {
        lines.push(format!(
            "  constraint {} unique ({})",
            quote(&u.name),
            list(&u.columns)
        ));
    }
    for fk in &t.foreign_keys {
        let mut l = format!(
            "  constraint {} foreign key ({}) references {} ({})",
            quote(&fk.name),
            list(&fk.columns),
            qname(&fk.target),
            list(&fk.target_columns)
        );
        if fk.on_delete != ir::OnDelete::NoAction {
            let _ = write!(l, " on delete {}", fk.on_delete.sql());
        }
        lines.push(l);
    }
    for c in &t.checks {
        lines.push(format!(
            "  constraint {} check ({})",
            quote(&c.name),
            c.expr
        ));
    }
    format!(
        "create table {} (\n{}\n);",
        qualified("public", &t.name),
        lines.join(",\n")
    )
}

fn create_index(t: &ir::Table, ix: &ir::Index, vs: Option<&str>) -> String {
    let cols: Vec<String> = ix
        .columns
        .iter()
        .map(|c| {
            let mut s = quote(&c.name);
            if let Some(op) = &ix.opclass {
                let op_sql = match (ix.method, vs) {
                    (ir::IndexMethod::Hnsw | ir::IndexMethod::Ivfflat, Some(v)) => qualified(v, op),
                    _ => quote(op),
                };
                let _ = write!(s, " {op_sql}");
            }
            if c.desc {
                s.push_str(" desc");
            }
            match c.nulls_first {
                Some(true) => s.push_str(" nulls first"),
                Some(false) => s.push_str(" nulls last"),
                None => {}
            }
            s
        })
        .collect();
    let mut out = String::new();
    if let Some(r) = &ix.reason {
        let _ = writeln!(out, "-- added by schemac: {r}");
    }
    let _ = write!(
        out,
        "create {}index {} on {} using {} ({})",
        if ix.unique { "unique " } else { "" },
        quote(&ix.name),
        qualified("public", &t.name),
        ix.method.sql(),
        cols.join(", ")
    );
    if !ix.with.is_empty() {
        let w: Vec<String> = ix
            .with
            .iter()
            .map(|(k, v)| format!("{} = {v}", quote(k)))
            .collect();
        let _ = write!(out, " with ({})", w.join(", "));
    }
    if let Some(w) = &ix.where_ {
        let _ = write!(out, " where {w}");
    }
    out.push(';');
    out
}

/// Roles that need a helper: the roles of the rules that use it.
fn helper_roles(schema: &Schema, name: &str) -> Vec<DbRole> {
    let mut roles = vec![DbRole::Authenticated];
    for t in &schema.tables {
        for r in &t.rules {
            let uses = r.conditions.iter().any(|c| match c {
                Condition::Member { helper, .. } => helper == name,
                Condition::HasRole { .. } => name == "has_role",
                _ => false,
            });
            if uses && !roles.contains(&r.role) {
                roles.push(r.role);
            }
        }
    }
    roles.sort();
    roles
}

fn helper(schema: &Schema, h: &Helper) -> String {
    let hs = &schema.helpers_schema;
    match h {
        Helper::HasRole { name, table, column, user_column, arg_type } => format!(
            "-- True when the current user has the given app role. Security definer so policies can read\n\
             -- the role without granting users access to other rows; the role column is not writable by users.\n\
             create function {}(\"role\" {})\nreturns boolean\nlanguage sql\nstable\nsecurity definer\nset search_path = ''\nas $$\n  select exists (\n    select 1 from {}\n    where {} = (select auth.uid()) and {} = $1\n  )\n$$;",
            qualified(hs, name),
            types::sql(arg_type, None),
            qualified("public", table),
            quote(user_column),
            quote(column)
        ),
        Helper::MemberKeys { name, through, key, key_type, user_column, role_filter, .. } => {
            let mut filter = String::new();
            if let Some((col, roles, ty)) = role_filter {
                let vals: Vec<String> = roles.iter().map(|r| r.replace('\\', "\\\\").replace('"', "\\\"")).map(|r| format!("\"{r}\"")).collect();
                let _ = write!(
                    filter,
                    " and {} = any ({}::{}[])",
                    quote(col),
                    literal(&format!("{{{}}}", vals.join(","))),
                    types::sql(ty, None)
                );
            }
            format!(
                "-- The `{key}` values of the `{through}` rows of the current user{}. Security definer so\n\
                 -- policies can use it without recursing into the policies of `{through}`.\n\
                 create function {}()\nreturns setof {}\nlanguage sql\nstable\nsecurity definer\nset search_path = ''\nas $$\n  select {}\n  from {}\n  where {} = (select auth.uid()){}\n$$;",
                role_filter.as_ref().map(|(_, r, _)| format!(" with role {}", r.join(" or "))).unwrap_or_default(),
                qualified(hs, name),
                types::sql(key_type, None),
                quote(key),
                qualified("public", through),
                quote(user_column),
                filter
            )
        }
        Helper::SetUpdatedAt { name } => format!(
            "-- Keeps `updated_at` current on every update (shared by all tables with `timestamps: true`).\n\
             create function {}()\nreturns trigger\nlanguage plpgsql\nset search_path = ''\nas $$\nbegin\n  new.updated_at := now();\n  return new;\nend\n$$;",
            qualified(hs, name)
        ),
    }
}

fn helper_grants(schema: &Schema, h: &Helper) -> Vec<String> {
    let sig = format!(
        "{}({})",
        qualified(&schema.helpers_schema, h.name()),
        match h {
            Helper::HasRole { arg_type, .. } => types::sql(arg_type, None),
            _ => String::new(),
        }
    );
    let mut v = vec![format!(
        "revoke all on function {sig} from public, {};",
        list(&["anon", "authenticated", "service_role"])
    )];
    if !matches!(h, Helper::SetUpdatedAt { .. }) {
        let mut roles: Vec<&str> = helper_roles(schema, h.name())
            .iter()
            .map(|r| r.name())
            .collect();
        roles.push("service_role");
        v.push(format!(
            "grant execute on function {sig} to {};",
            list(&roles)
        ));
    }
    v
}

pub fn function_signature(f: &ir::Function, vs: Option<&str>) -> String {
    let args: Vec<String> = f.args.iter().map(|a| types::sql(&a.ty, vs)).collect();
    format!("{}({})", qualified(&f.schema, &f.name), args.join(", "))
}

fn create_function(f: &ir::Function, vs: Option<&str>) -> String {
    let args: Vec<String> = f
        .args
        .iter()
        .map(|a| {
            let mut s = format!("{} {}", quote(&a.name), types::sql(&a.ty, vs));
            if let Some(d) = &a.default {
                let _ = write!(s, " default {d}");
            }
            s
        })
        .collect();
    let returns = match &f.returns {
        Returns::Void => "void".to_string(),
        Returns::Trigger => "trigger".to_string(),
        Returns::Scalar(t) => types::sql(t, vs),
        Returns::SetOf(t) => format!("setof {}", types::sql(t, vs)),
        Returns::Table(cols) => format!(
            "table ({})",
            cols.iter()
                .map(|(n, t)| format!("{} {}", quote(n), types::sql(t, vs)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut out = String::new();
    if let Some(c) = &f.comment {
        for line in c.lines() {
            let _ = writeln!(out, "-- {line}");
        }
    }
    let _ = write!(
        out,
        "create function {}({})\nreturns {returns}\nlanguage {}\n{}\n{}set search_path = ''\nas {};",
        qualified(&f.schema, &f.name),
        args.join(", "),
        match f.language {
            ir::Language::Sql => "sql",
            ir::Language::Plpgsql => "plpgsql",
        },
        match f.volatility {
            ir::Volatility::Volatile => "volatile",
            ir::Volatility::Stable => "stable",
            ir::Volatility::Immutable => "immutable",
        },
        if f.security_definer { "security definer\n" } else { "" },
        dollar_quote(&format!("\n{}\n", f.body.trim_end()))
    );
    out
}

fn function_grants(f: &ir::Function, vs: Option<&str>) -> Vec<String> {
    let sig = function_signature(f, vs);
    let mut v = vec![format!(
        "revoke all on function {sig} from public, {};",
        list(&["anon", "authenticated", "service_role"])
    )];
    if f.returns != Returns::Trigger {
        let mut roles: Vec<&str> = f.grant.iter().map(|r| r.name()).collect();
        roles.push("service_role");
        v.push(format!(
            "grant execute on function {sig} to {};",
            list(&roles)
        ));
    }
    v
}

fn create_trigger(tr: &ir::Trigger) -> String {
    let events: Vec<&str> = tr.events.iter().map(|e| e.sql()).collect();
    format!(
        "create trigger {} {} {} on {} for each {} execute function {}();",
        quote(&tr.name),
        if tr.before { "before" } else { "after" },
        events.join(" or "),
        qname(&tr.table),
        if tr.for_each_row { "row" } else { "statement" },
        qname(&tr.function)
    )
}

/// RLS, grants and policies of one table.
fn security(schema: &Schema, t: &ir::Table) -> Vec<String> {
    let tq = qualified("public", &t.name);
    let mut s = Vec::new();
    if t.rls {
        s.push(format!("alter table {tq} enable row level security;"));
    }
    s.push(format!(
        "revoke all on table {tq} from {};",
        list(&["anon", "authenticated", "service_role"])
    ));
    for role in DbRole::ALL {
        let whole: Vec<&str> = t
            .grants
            .iter()
            .filter(|g| g.role == role && g.columns.is_none())
            .map(|g| g.command.sql())
            .collect();
        if !whole.is_empty() {
            s.push(format!(
                "grant {} on table {tq} to {};",
                whole.join(", "),
                quote(role.name())
            ));
        }
        for g in t.grants.iter().filter(|g| g.role == role) {
            if let Some(cols) = &g.columns {
                if !cols.is_empty() {
                    s.push(format!(
                        "grant {} ({}) on table {tq} to {};",
                        g.command.sql(),
                        list(cols),
                        quote(role.name())
                    ));
                }
            }
        }
    }
    for p in policies(schema, t) {
        s.push(p.sql);
    }
    s
}

/// One generated policy: a single permissive policy per (table, command, role).
#[derive(Clone, Debug)]
pub struct Policy {
    pub name: String,
    pub command: Command,
    pub role: DbRole,
    pub using: Option<String>,
    pub check: Option<String>,
    pub sql: String,
}

/// The policies of a table: rules grouped by (command, role), OR-ed, in a stable order.
pub fn policies(schema: &Schema, t: &ir::Table) -> Vec<Policy> {
    let mut out = Vec::new();
    for cmd in Command::ALL {
        for role in [DbRole::Anon, DbRole::Authenticated] {
            let rules: Vec<&Rule> = t
                .rules
                .iter()
                .filter(|r| r.command == cmd && r.role == role)
                .collect();
            if rules.is_empty() {
                continue;
            }
            let using =
                matches!(cmd, Command::Select | Command::Update | Command::Delete).then(|| {
                    disjunction(
                        rules
                            .iter()
                            .map(|r| conjunction(schema, r, Side::Using))
                            .collect(),
                    )
                });
            let check = matches!(cmd, Command::Insert | Command::Update).then(|| {
                disjunction(
                    rules
                        .iter()
                        .map(|r| conjunction(schema, r, Side::Check))
                        .collect(),
                )
            });
            let name = crate::lower::fit_name(format!("{}_{}_{}", t.name, cmd.sql(), role.name()));
            let labels: Vec<String> = rules.iter().filter_map(|r| r.label.clone()).collect();
            let mut sql = String::new();
            if !labels.is_empty() {
                let _ = writeln!(sql, "-- {}", labels.join("; "));
            }
            let _ = write!(
                sql,
                "create policy {} on {} as permissive for {} to {}",
                quote(&name),
                qualified("public", &t.name),
                cmd.sql(),
                quote(role.name())
            );
            if let Some(u) = &using {
                let _ = write!(sql, "\n  using ({u})");
            }
            if let Some(c) = &check {
                let _ = write!(sql, "\n  with check ({c})");
            }
            sql.push(';');
            out.push(Policy {
                name,
                command: cmd,
                role,
                using,
                check,
                sql,
            });
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Using,
    Check,
}

fn conjunction(schema: &Schema, r: &Rule, side: Side) -> String {
    let parts: Vec<String> = r
        .conditions
        .iter()
        .filter_map(|c| condition(schema, c, side))
        .filter(|p| p != "true")
        .collect();
    match parts.len() {
        0 => "true".into(),
        1 => parts.into_iter().next().expect("one"),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

fn disjunction(parts: Vec<String>) -> String {
    if parts.iter().any(|p| p == "true") {
        return "true".into();
    }
    let mut uniq: Vec<String> = Vec::new();
    for p in parts {
        if !uniq.contains(&p) {
            uniq.push(p);
        }
    }
    match uniq.len() {
        1 => uniq.into_iter().next().expect("one"),
        _ => uniq
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

/// The SQL of one condition for one side; `None` when it does not constrain that side.
fn condition(schema: &Schema, c: &Condition, side: Side) -> Option<String> {
    Some(match c {
        Condition::Always => "true".into(),
        Condition::Owner { column } => format!("{} = (select auth.uid())", quote(column)),
        Condition::HasRole { role } => match &schema.role_source {
            Some(ir::RoleSource::Jwt { path }) => {
                let mut e = "(select auth.jwt())".to_string();
                for (i, p) in path.iter().enumerate() {
                    let op = if i + 1 == path.len() { "->>" } else { "->" };
                    e = format!("{e} {op} {}", literal(p));
                }
                format!("coalesce(({e}) = {}, false)", literal(role))
            }
            _ => format!(
                "(select {}({}))",
                qualified(&schema.helpers_schema, "has_role"),
                literal(role)
            ),
        },
        Condition::Member { column, helper } => {
            format!(
                "{} = any (array(select {}()))",
                quote(column),
                qualified(&schema.helpers_schema, helper)
            )
        }
        Condition::Parent {
            column,
            parent,
            parent_column,
            owner,
        } => {
            let mut sub = format!("select {} from {}", quote(parent_column), qname(parent));
            if let Some(o) = owner {
                let _ = write!(sub, " where {} = (select auth.uid())", quote(o));
            }
            format!("{} = any (array({sub}))", quote(column))
        }
        Condition::Custom { using, check } => match side {
            Side::Using => using.clone()?,
            Side::Check => check.clone().or_else(|| using.clone())?,
        },
    })
}

/// True if a type is a vector (used by emitters that need pgvector's schema).
pub fn is_vector(t: &SqlType) -> bool {
    matches!(t, SqlType::Vector(_))
}
