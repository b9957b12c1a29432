//! Drift between a live database and the schema (`schemac diff --database-url`): what is missing,
//! extra or different, compared by meaning. Expected columns, indexes and policies are created as
//! probes inside a transaction that is rolled back, so PostgreSQL normalises both sides the same
//! way (its rewritten policy and default expressions never match our text). Each finding carries
//! the statements that fix it and those that undo the fix.

use crate::error::PgError;
use postgres::{Client, Transaction};
use schema_core::emit::probe;
use schema_core::ir::{Command, DbRole, Schema, Table};
use schema_core::sql::comment;
use schema_core::sql::ident::{list, literal, qualified, quote};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Missing,
    Extra,
    Different,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Extra => "extra",
            Kind::Different => "different",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// e.g. `policy messages_select_authenticated on messages`.
    pub object: String,
    /// What differs: expected vs actual.
    pub detail: String,
    /// Statements that bring the database to the schema (empty: left to a human, e.g. extra tables).
    pub fix: Vec<String>,
    /// Statements that undo `fix`.
    pub undo: Vec<String>,
}

fn finding(
    kind: Kind,
    object: String,
    detail: String,
    fix: Vec<String>,
    undo: Vec<String>,
) -> Finding {
    Finding {
        kind,
        object,
        detail,
        fix,
        undo,
    }
}

/// The up and down scripts of `schemac diff --write`: each finding as one comment line (its
/// object and detail come from the live database and may hold any text, so they go through
/// `sql::comment`) followed by its fix; the down script undoes the fixes in reverse order.
pub fn migration_scripts(findings: &[Finding]) -> (String, String) {
    let opts = schema_core::emit::EmitOptions::default();
    let body = |title: &str, stmts: Vec<String>| {
        let mut s = schema_core::emit::header("--", &opts);
        s.push_str(&comment::line(title));
        s.push('\n');
        for st in stmts {
            s.push('\n');
            s.push_str(&st);
            s.push('\n');
        }
        schema_core::emit::finish(s)
    };
    let up = body(
        "Removes drift found by `schemac diff` between the database and the schema.",
        findings
            .iter()
            .map(|f| {
                let mut v = vec![comment::line(&format!(
                    "{} {}: {}",
                    f.kind.name(),
                    f.object,
                    f.detail
                ))];
                v.extend(f.fix.clone());
                if f.fix.is_empty() {
                    v.push(comment::line("(left as it is: decide by hand)"));
                }
                v.join("\n")
            })
            .collect(),
    );
    let down = body(
        "Puts the drift back (the reverse of each fix, in reverse order).",
        findings.iter().rev().flat_map(|f| f.undo.clone()).collect(),
    );
    (up, down)
}

/// Compares the database behind `client` with `schema`. Read-only: every probe is rolled back.
pub fn drift(client: &mut Client, schema: &Schema) -> Result<Vec<Finding>, PgError> {
    let mut tx = client.transaction()?;
    let mut out = Vec::new();
    let live_tables: BTreeMap<String, bool> = tx
        .query("select c.relname::text, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let realtime: BTreeSet<String> = tx
        .query("select tablename::text from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public'", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in &schema.tables {
        let tq = qualified("public", &t.name);
        let Some(&rls) = live_tables.get(&t.name) else {
            out.push(finding(
                Kind::Missing,
                format!("table {}", t.name),
                "not in the database".into(),
                probe::create_table_all(schema, t),
                vec![format!("drop table {tq};")],
            ));
            continue;
        };
        columns(&mut tx, schema, t, &mut out)?;
        indexes(&mut tx, schema, t, &mut out)?;
        policies(&mut tx, schema, t, &mut out)?;
        if rls != t.rls {
            let (en, dis) = (
                format!("alter table {tq} enable row level security;"),
                format!("alter table {tq} disable row level security;"),
            );
            let (fix, undo) = if t.rls { (en, dis) } else { (dis, en) };
            out.push(finding(
                Kind::Different,
                format!("row level security on {}", t.name),
                format!("expected {}, found {}", on_off(t.rls), on_off(rls)),
                vec![fix],
                vec![undo],
            ));
        }
        grants(&mut tx, t, &mut out)?;
        let published = realtime.contains(&t.name);
        if published != t.realtime.is_some() {
            let (add, drop) = (
                format!("alter publication \"supabase_realtime\" add table {tq};"),
                format!("alter publication \"supabase_realtime\" drop table {tq};"),
            );
            let (fix, undo) = if t.realtime.is_some() {
                (add, drop)
            } else {
                (drop, add)
            };
            out.push(finding(
                Kind::Different,
                format!("realtime for {}", t.name),
                format!(
                    "expected {}, found {}",
                    yes_no(t.realtime.is_some()),
                    yes_no(published)
                ),
                vec![fix],
                vec![undo],
            ));
        }
    }
    for name in live_tables.keys() {
        if !schema.tables.iter().any(|t| &t.name == name) {
            out.push(finding(
                Kind::Extra,
                format!("table {name}"),
                "not in the schema (never dropped automatically)".into(),
                vec![],
                vec![],
            ));
        }
    }
    functions(&mut tx, schema, &mut out)?;
    triggers(&mut tx, schema, &mut out)?;
    enums(&mut tx, schema, &mut out)?;
    tx.rollback()?;
    out.sort_by(|a, b| (&a.object, a.kind).cmp(&(&b.object, b.kind)));
    Ok(out)
}

fn on_off(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "published"
    } else {
        "not published"
    }
}

/// (format_type, not null, default, identity, generated) of every column of a relation.
type ColFacts = BTreeMap<String, (String, bool, Option<String>, String, String)>;

fn column_facts(tx: &mut Transaction<'_>, relation: &str) -> Result<ColFacts, PgError> {
    Ok(tx
        .query(
            "select a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text
             from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
             where a.attrelid = $1::text::regclass and a.attnum > 0 and not a.attisdropped",
            &[&relation],
        )?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))))
        .collect())
}

fn columns(
    tx: &mut Transaction<'_>,
    schema: &Schema,
    t: &Table,
    out: &mut Vec<Finding>,
) -> Result<(), PgError> {
    let tq = qualified("public", &t.name);
    tx.batch_execute(&probe::probe_table(schema, t))?;
    let expected = column_facts(tx, &quote(&probe::probe_table_name(&t.name)))?;
    let live = column_facts(tx, &tq)?;
    for c in &t.columns {
        let cq = quote(&c.name);
        let Some(e) = expected.get(&c.name) else {
            continue;
        };
        match live.get(&c.name) {
            None => {
                let fix = probe::add_column(schema, t, &c.name).into_iter().collect();
                out.push(finding(
                    Kind::Missing,
                    format!("column {}.{}", t.name, c.name),
                    format!("expected {}", e.0),
                    fix,
                    vec![format!("alter table {tq} drop column {cq};")],
                ));
            }
            Some(l) if l != e => {
                let mut fix = Vec::new();
                let mut undo = Vec::new();
                let mut what = Vec::new();
                if l.0 != e.0 {
                    what.push(format!("type {} (found {})", e.0, l.0));
                    fix.push(format!(
                        "alter table {tq} alter column {cq} type {} using {cq}::{};",
                        e.0, e.0
                    ));
                    undo.push(format!(
                        "alter table {tq} alter column {cq} type {} using {cq}::{};",
                        l.0, l.0
                    ));
                }
                if l.2 != e.2 {
                    what.push(format!(
                        "default {} (found {})",
                        e.2.as_deref().unwrap_or("none"),
                        l.2.as_deref().unwrap_or("none")
                    ));
                    let set = |d: &Option<String>| match d {
                        Some(d) => format!("alter table {tq} alter column {cq} set default {d};"),
                        None => format!("alter table {tq} alter column {cq} drop default;"),
                    };
                    fix.push(set(&e.2));
                    undo.push(set(&l.2));
                }
                if l.1 != e.1 {
                    what.push(format!(
                        "{} (found {})",
                        if e.1 { "not null" } else { "nullable" },
                        if l.1 { "not null" } else { "nullable" }
                    ));
                    let (nn, n) = (
                        format!("alter table {tq} alter column {cq} set not null;"),
                        format!("alter table {tq} alter column {cq} drop not null;"),
                    );
                    if e.1 {
                        fix.push(nn);
                        undo.push(n);
                    } else {
                        fix.push(n);
                        undo.push(nn);
                    }
                }
                if l.3 != e.3 || l.4 != e.4 {
                    what.push("identity or generation differs".into());
                }
                undo.reverse();
                out.push(finding(
                    Kind::Different,
                    format!("column {}.{}", t.name, c.name),
                    what.join(", "),
                    fix,
                    undo,
                ));
            }
            Some(_) => {}
        }
    }
    for name in live.keys() {
        if !expected.contains_key(name) {
            out.push(finding(
                Kind::Extra,
                format!("column {}.{name}", t.name),
                "not in the schema (never dropped automatically)".into(),
                vec![],
                vec![],
            ));
        }
    }
    Ok(())
}

/// `USING btree (col)` part and uniqueness of an index definition, without names.
fn index_shape(def: &str) -> String {
    let unique = def.starts_with("CREATE UNIQUE INDEX");
    let rest = def.find(" USING ").map(|i| &def[i..]).unwrap_or(def);
    format!("{}{rest}", if unique { "UNIQUE" } else { "" })
}

fn indexes(
    tx: &mut Transaction<'_>,
    schema: &Schema,
    t: &Table,
    out: &mut Vec<Finding>,
) -> Result<(), PgError> {
    let tq = qualified("public", &t.name);
    let live: BTreeMap<String, String> = tx
        .query(
            "select i.relname::text, pg_get_indexdef(x.indexrelid) from pg_index x join pg_class i on i.oid = x.indexrelid
             where x.indrelid = $1::text::regclass and not exists (select 1 from pg_constraint k where k.conindid = x.indexrelid)",
            &[&tq],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (name, sql) in probe::probe_indexes(schema, t) {
        tx.batch_execute(&sql)?;
        let probe_name = schema_core::lower::fit_name(format!("__schemac_ix_{name}"));
        let def: String = tx
            .query_one(
                "select pg_get_indexdef($1::text::regclass)",
                &[&quote(&probe_name)],
            )?
            .get(0);
        let fix_create = probe::create_index_sql(schema, t, &name)
            .into_iter()
            .collect::<Vec<_>>();
        let drop = format!("drop index {};", qualified("public", &name));
        match live.get(&name) {
            None => out.push(finding(
                Kind::Missing,
                format!("index {name} on {}", t.name),
                index_shape(&def),
                fix_create,
                vec![drop],
            )),
            Some(l) if index_shape(l) != index_shape(&def) => {
                let mut fix = vec![drop.clone()];
                fix.extend(fix_create);
                out.push(finding(
                    Kind::Different,
                    format!("index {name} on {}", t.name),
                    format!("expected {}, found {}", index_shape(&def), index_shape(l)),
                    fix,
                    vec![drop, format!("{l};")],
                ));
            }
            Some(_) => {}
        }
    }
    for (name, def) in &live {
        if !t.indexes.iter().any(|i| &i.name == name) {
            out.push(finding(
                Kind::Extra,
                format!("index {name} on {}", t.name),
                index_shape(def),
                vec![format!("drop index {};", qualified("public", name))],
                vec![format!("{def};")],
            ));
        }
    }
    Ok(())
}

/// (permissive, cmd, roles, qual, with_check) of a policy as PostgreSQL stores it.
type PolicyFacts = (String, String, String, Option<String>, Option<String>);

fn policy_facts(
    tx: &mut Transaction<'_>,
    table: &str,
) -> Result<BTreeMap<String, PolicyFacts>, PgError> {
    Ok(tx
        .query(
            "select policyname::text, permissive, cmd, array_to_string(roles, ','), qual, with_check from pg_policies where schemaname = 'public' and tablename = $1",
            &[&table],
        )?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4), r.get(5))))
        .collect())
}

fn live_policy_sql(table: &str, name: &str, f: &PolicyFacts) -> String {
    let mut s = format!(
        "create policy {} on {} as {} for {} to {}",
        quote(name),
        qualified("public", table),
        f.0.to_lowercase(),
        f.1.to_lowercase(),
        f.2.split(',')
            .map(|r| if r == "public" {
                "public".to_string()
            } else {
                quote(r)
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(q) = &f.3 {
        s.push_str(&format!("\n  using ({q})"));
    }
    if let Some(c) = &f.4 {
        s.push_str(&format!("\n  with check ({c})"));
    }
    s.push(';');
    s
}

fn policies(
    tx: &mut Transaction<'_>,
    schema: &Schema,
    t: &Table,
    out: &mut Vec<Finding>,
) -> Result<(), PgError> {
    let tq = qualified("public", &t.name);
    let live = policy_facts(tx, &t.name)?;
    let expected = probe::probe_policies(schema, t);
    for (p, sql) in &expected {
        let probe_name = probe::probe_policy_name(&p.name);
        let mut sp = tx.transaction()?;
        let normalized = match sp.batch_execute(sql) {
            Ok(()) => policy_facts(&mut sp, &t.name)?.remove(&probe_name),
            Err(_) => None,
        };
        sp.rollback()?;
        let drop = format!("drop policy {} on {tq};", quote(&p.name));
        match (live.get(&p.name), normalized) {
            (None, _) => out.push(finding(Kind::Missing, format!("policy {} on {}", p.name, t.name), format!("{} {}", p.command.sql(), p.role.name()), vec![p.sql.clone()], vec![drop])),
            (Some(l), Some(e)) if *l != e => out.push(finding(
                Kind::Different,
                format!("policy {} on {}", p.name, t.name),
                format!("expected using {:?} with check {:?} to {}, found using {:?} with check {:?} to {}", e.3, e.4, e.2, l.3, l.4, l.2),
                vec![drop.clone(), p.sql.clone()],
                vec![drop, live_policy_sql(&t.name, &p.name, l)],
            )),
            (Some(_), None) => out.push(finding(Kind::Different, format!("policy {} on {}", p.name, t.name), "the expected policy cannot be created on the current table".into(), vec![drop, p.sql.clone()], vec![])),
            _ => {}
        }
    }
    for (name, f) in &live {
        if !expected.iter().any(|(p, _)| &p.name == name) {
            out.push(finding(
                Kind::Extra,
                format!("policy {name} on {}", t.name),
                format!("{} {} to {}", f.0, f.1, f.2),
                vec![format!("drop policy {} on {tq};", quote(name))],
                vec![live_policy_sql(&t.name, name, f)],
            ));
        }
    }
    Ok(())
}

fn grants(tx: &mut Transaction<'_>, t: &Table, out: &mut Vec<Finding>) -> Result<(), PgError> {
    let tq = qualified("public", &t.name);
    // (role, privilege, column or "") from the table's and its columns' ACLs.
    let live: BTreeSet<(String, String, String)> = tx
        .query(
            "select g.rolname::text, a.privilege_type, '' from pg_class c, aclexplode(c.relacl) a join pg_roles g on g.oid = a.grantee
               where c.oid = $1::text::regclass and g.rolname in ('anon', 'authenticated', 'service_role')
             union all
             select g.rolname::text, a.privilege_type, att.attname::text from pg_attribute att, aclexplode(att.attacl) a join pg_roles g on g.oid = a.grantee
               where att.attrelid = $1::text::regclass and g.rolname in ('anon', 'authenticated', 'service_role')",
            &[&tq],
        )?
        .iter()
        .map(|r| (r.get(0), r.get::<_, String>(1).to_lowercase(), r.get(2)))
        .filter(|(_, p, _)| matches!(p.as_str(), "select" | "insert" | "update" | "delete"))
        .collect();
    let mut expected = BTreeSet::new();
    for g in &t.grants {
        match &g.columns {
            None => {
                expected.insert((
                    g.role.name().to_string(),
                    g.command.sql().to_string(),
                    String::new(),
                ));
            }
            Some(cols) => {
                for c in cols {
                    expected.insert((
                        g.role.name().to_string(),
                        g.command.sql().to_string(),
                        c.clone(),
                    ));
                }
            }
        }
    }
    if live != expected {
        let show = |s: &BTreeSet<(String, String, String)>| {
            s.iter()
                .map(|(r, p, c)| {
                    if c.is_empty() {
                        format!("{r}:{p}")
                    } else {
                        format!("{r}:{p}({c})")
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let missing: BTreeSet<_> = expected.difference(&live).cloned().collect();
        let extra: BTreeSet<_> = live.difference(&expected).cloned().collect();
        let mut undo = vec![format!(
            "revoke all on table {tq} from {};",
            list(&["anon", "authenticated", "service_role"])
        )];
        for role in [DbRole::Anon, DbRole::Authenticated, DbRole::ServiceRole] {
            for cmd in Command::ALL {
                if live.contains(&(role.name().into(), cmd.sql().into(), String::new())) {
                    undo.push(format!(
                        "grant {} on table {tq} to {};",
                        cmd.sql(),
                        quote(role.name())
                    ));
                }
                let cols: Vec<&String> = live
                    .iter()
                    .filter(|(r, p, c)| r == role.name() && p == cmd.sql() && !c.is_empty())
                    .map(|(_, _, c)| c)
                    .collect();
                if !cols.is_empty() {
                    undo.push(format!(
                        "grant {} ({}) on table {tq} to {};",
                        cmd.sql(),
                        list(&cols),
                        quote(role.name())
                    ));
                }
            }
        }
        out.push(finding(
            Kind::Different,
            format!("grants on {}", t.name),
            format!("missing [{}], extra [{}]", show(&missing), show(&extra)),
            probe::table_grants(t),
            undo,
        ));
    }
    Ok(())
}

fn functions(
    tx: &mut Transaction<'_>,
    schema: &Schema,
    out: &mut Vec<Finding>,
) -> Result<(), PgError> {
    for (fschema, name, body) in probe::expected_functions(schema) {
        let rows = tx.query(
            "select p.prosrc, p.prosecdef, coalesce(array_to_string(p.proconfig, E'\\n'), ''), pg_get_functiondef(p.oid), p.oid::regprocedure::text
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = $1 and p.proname = $2",
            &[&fschema, &name],
        )?;
        let is_helper =
            fschema == schema.helpers_schema && schema.helpers.iter().any(|h| h.name() == name);
        let fix = if is_helper {
            probe::replace_helper(schema, &name)
        } else {
            probe::replace_function(schema, &fschema, &name)
        };
        let object = format!("function {fschema}.{name}");
        match rows.first() {
            None => out.push(finding(
                Kind::Missing,
                object,
                "not in the database".into(),
                fix,
                vec![],
            )),
            Some(r) => {
                let src: String = r.get(0);
                let config: String = r.get(2);
                let mut what = Vec::new();
                if src.trim() != body.trim() {
                    what.push("body differs".to_string());
                }
                if !config
                    .split('\n')
                    .any(|c| c == schema_core::sql::SEARCH_PATH_CONFIG)
                {
                    what.push(format!("search_path is not fixed (config: `{config}`)"));
                }
                if !what.is_empty() {
                    let def: String = r.get(3);
                    out.push(finding(
                        Kind::Different,
                        object,
                        what.join(", "),
                        fix,
                        vec![format!("{};", def.trim_end())],
                    ));
                }
            }
        }
    }
    Ok(())
}

fn triggers(
    tx: &mut Transaction<'_>,
    schema: &Schema,
    out: &mut Vec<Finding>,
) -> Result<(), PgError> {
    let live: BTreeMap<(String, String, String), String> = tx
        .query(
            "select n.nspname::text, c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid) from pg_trigger t join pg_class c on c.oid = t.tgrelid
             join pg_namespace n on n.oid = c.relnamespace where not t.tgisinternal and (n.nspname = 'public' or (n.nspname = 'auth' and c.relname = 'users'))",
            &[],
        )?
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
        .collect();
    let expected = probe::expected_triggers(schema);
    for (s, t, name, sql) in &expected {
        if !live.contains_key(&(s.clone(), t.clone(), name.clone()))
            && (s != "public" || schema.tables.iter().any(|x| &x.name == t))
        {
            out.push(finding(
                Kind::Missing,
                format!("trigger {name} on {s}.{t}"),
                "not in the database".into(),
                vec![sql.clone()],
                vec![format!(
                    "drop trigger {} on {};",
                    quote(name),
                    qualified(s, t)
                )],
            ));
        }
    }
    for ((s, t, name), def) in &live {
        if !expected
            .iter()
            .any(|(es, et, en, _)| es == s && et == t && en == name)
        {
            out.push(finding(
                Kind::Extra,
                format!("trigger {name} on {s}.{t}"),
                def.clone(),
                vec![format!(
                    "drop trigger {} on {};",
                    quote(name),
                    qualified(s, t)
                )],
                vec![format!("{def};")],
            ));
        }
    }
    Ok(())
}

fn enums(tx: &mut Transaction<'_>, schema: &Schema, out: &mut Vec<Finding>) -> Result<(), PgError> {
    for e in &schema.enums {
        let labels: Vec<String> = tx
            .query(
                "select e.enumlabel::text from pg_enum e join pg_type t on t.oid = e.enumtypid join pg_namespace n on n.oid = t.typnamespace
                 where n.nspname = 'public' and t.typname = $1 order by e.enumsortorder",
                &[&e.name],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if labels.is_empty() {
            let vals: Vec<String> = e.values.iter().map(|v| literal(v)).collect();
            out.push(finding(
                Kind::Missing,
                format!("enum {}", e.name),
                "not in the database".into(),
                vec![format!(
                    "create type {} as enum ({});",
                    qualified("public", &e.name),
                    vals.join(", ")
                )],
                vec![format!("drop type {};", qualified("public", &e.name))],
            ));
        } else if labels != e.values {
            let missing: Vec<&String> = e.values.iter().filter(|v| !labels.contains(v)).collect();
            let fix = missing
                .iter()
                .map(|v| {
                    format!(
                        "alter type {} add value if not exists {};",
                        qualified("public", &e.name),
                        literal(v)
                    )
                })
                .collect();
            out.push(finding(
                Kind::Different,
                format!("enum {}", e.name),
                format!(
                    "expected ({}), found ({})",
                    e.values.join(", "),
                    labels.join(", ")
                ),
                fix,
                vec![],
            ));
        }
    }
    Ok(())
}
