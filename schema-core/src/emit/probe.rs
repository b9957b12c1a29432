//! SQL for comparing a live database with the schema by meaning (`schemac diff`): expected objects
//! are created as throwaway probes inside a transaction that is rolled back, so PostgreSQL itself
//! normalises them (types, defaults, index and policy expressions) before they are compared.
//! Also the statements that fix each kind of drift.

use super::up::{create_index, function_all, grants, policies, realtime, vector_schema, Policy};
use crate::diff::{column_def, or_replace};
use crate::ir::{Schema, Table};
use crate::sql::ident::{qualified, quote};

/// Name of the probe table mirroring `table` (temporary, empty).
pub fn probe_table_name(table: &str) -> String {
    crate::lower::fit_name(format!("__schemac_probe_{table}"))
}

/// `create temp table "__schemac_probe_t" (...)`: the expected columns of `t`, without
/// constraints, so the catalog shows their normalised types and defaults.
pub fn probe_table(schema: &Schema, t: &Table) -> String {
    let vs = vector_schema(schema);
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("  {}", column_def(c, vs.as_deref())))
        .collect();
    format!(
        "create temp table {} (\n{}\n) on commit drop;",
        quote(&probe_table_name(&t.name)),
        cols.join(",\n")
    )
}

/// The expected indexes of `t`, created on its probe table (renamed with a probe prefix).
pub fn probe_indexes(schema: &Schema, t: &Table) -> Vec<(String, String)> {
    let vs = vector_schema(schema);
    let mut probe = t.clone();
    probe.name = probe_table_name(&t.name);
    t.indexes
        .iter()
        .map(|ix| {
            let mut pix = ix.clone();
            pix.name = crate::lower::fit_name(format!("__schemac_ix_{}", ix.name));
            let sql = create_index(&probe, &pix, vs.as_deref())
                .replace(&qualified("public", &probe.name), &quote(&probe.name));
            (ix.name.clone(), sql)
        })
        .collect()
}

/// The expected policies of `t`, each as a probe created on the real table under a probe name
/// (inside the rolled-back transaction), with the name it should have.
pub fn probe_policies(schema: &Schema, t: &Table) -> Vec<(Policy, String)> {
    policies(schema, t)
        .into_iter()
        .map(|p| {
            let probe = p.sql.replacen(
                &format!("create policy {} ", quote(&p.name)),
                &format!("create policy {} ", quote(&probe_policy_name(&p.name))),
                1,
            );
            (p, probe)
        })
        .collect()
}

pub fn probe_policy_name(name: &str) -> String {
    crate::lower::fit_name(format!("__schemac_probe_{name}"))
}

/// Everything that creates table `t` and its security (for a table missing from the database).
pub fn create_table_all(schema: &Schema, t: &Table) -> Vec<String> {
    let vs = vector_schema(schema);
    let mut s = vec![super::up::create_table(t, vs.as_deref())];
    s.extend(
        t.indexes
            .iter()
            .map(|ix| create_index(t, ix, vs.as_deref())),
    );
    if t.timestamps {
        s.push(super::up::timestamps_trigger(schema, t));
    }
    if t.rls {
        s.push(format!(
            "alter table {} enable row level security;",
            qualified("public", &t.name)
        ));
    }
    s.extend(grants(t));
    s.extend(policies(schema, t).into_iter().map(|p| p.sql));
    s.extend(realtime(t));
    s
}

/// `add column` for a column missing from the database.
pub fn add_column(schema: &Schema, t: &Table, column: &str) -> Option<String> {
    let vs = vector_schema(schema);
    t.column(column).map(|c| {
        format!(
            "alter table {} add column {};",
            qualified("public", &t.name),
            column_def(c, vs.as_deref())
        )
    })
}

pub fn create_index_sql(schema: &Schema, t: &Table, name: &str) -> Option<String> {
    let vs = vector_schema(schema);
    t.indexes
        .iter()
        .find(|i| i.name == name)
        .map(|ix| create_index(t, ix, vs.as_deref()))
}

/// `create or replace` of a declared function, with its comment and grants.
pub fn replace_function(schema: &Schema, fschema: &str, name: &str) -> Vec<String> {
    let vs = vector_schema(schema);
    match schema
        .functions
        .iter()
        .find(|f| f.schema == fschema && f.name == name)
    {
        Some(f) => {
            let mut all = function_all(f, vs.as_deref());
            let first = or_replace(vec![all.remove(0)]);
            first.into_iter().chain(all).collect()
        }
        None => Vec::new(),
    }
}

pub fn table_grants(t: &Table) -> Vec<String> {
    grants(t)
}

/// `create or replace` of a generated helper function, with its grants.
pub fn replace_helper(schema: &Schema, name: &str) -> Vec<String> {
    match schema.helpers.iter().find(|h| h.name() == name) {
        Some(h) => {
            let mut s = or_replace(vec![super::up::helper(schema, h)]);
            s.extend(super::up::helper_grants(schema, h));
            s
        }
        None => Vec::new(),
    }
}

/// The triggers the schema expects: (table schema, table, trigger name, create statement).
pub fn expected_triggers(schema: &Schema) -> Vec<(String, String, String, String)> {
    let mut v = Vec::new();
    for t in schema.tables.iter().filter(|t| t.timestamps) {
        v.push((
            "public".to_string(),
            t.name.clone(),
            format!("{}_set_updated_at", t.name),
            super::up::timestamps_trigger(schema, t),
        ));
    }
    for tr in &schema.triggers {
        v.push((
            tr.table.schema.clone(),
            tr.table.name.clone(),
            tr.name.clone(),
            super::up::create_trigger(tr),
        ));
    }
    v
}

/// The functions the schema expects: (schema, name, body as stored in `pg_proc.prosrc`).
pub fn expected_functions(schema: &Schema) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = schema
        .functions
        .iter()
        .map(|f| {
            (
                f.schema.clone(),
                f.name.clone(),
                format!("\n{}\n", f.body.trim_end()),
            )
        })
        .collect();
    for h in &schema.helpers {
        let sql = super::up::helper(schema, h);
        let body = sql.split("$$").nth(1).unwrap_or("").to_string();
        v.push((schema.helpers_schema.clone(), h.name().to_string(), body));
    }
    v
}
