//! Property test of incremental migrations: random sequences of schema edits (seeded, so a failure
//! names its seed and replays). Applying every migration in order must give the same catalog as a
//! fresh apply of the final schema, and applying every down script in reverse must return to the
//! starting catalog, then to an empty app schema. The edits rename objects that others depend on:
//! columns used by checks, partial indexes and custom policies; tables referenced by foreign
//! keys, parent policies, SQL function bodies and declared triggers.

use schema_core::diff::diff;
use schema_core::emit::{down, up, EmitOptions};
use schema_core::{ir, Diagnostics, Sources};
use schema_pg::postgres::Client;
use schema_pg::{install_supabase_platform, shared, GrantMode, TestDatabase};
use schemac_tests::catalog_with;

/// A tiny deterministic PRNG (xorshift64*), so sequences replay from their seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Debug)]
struct Col {
    name: String,
    ty: &'static str,
    nullable: bool,
    default: Option<&'static str>,
    renamed_from: Option<String>,
}

#[derive(Clone, Debug)]
struct Tbl {
    /// Stable id: names the table's function and trigger, which survive its renames.
    id: usize,
    name: String,
    renamed_from: Option<String>,
    cols: Vec<Col>,
    index_on: Vec<String>,
    public_read: bool,
    /// A table this one references (foreign key `parent_id` + a parent policy).
    parent: Option<String>,
    /// A column read by a custom policy.
    custom_on: Option<String>,
}

#[derive(Clone, Debug)]
struct Model {
    tables: Vec<Tbl>,
    kinds: Vec<String>,
    allow: Vec<String>,
    /// Changes allowed to take the blocking form (a type change that rewrites the table).
    blocking: Vec<String>,
    counter: usize,
}

impl Model {
    fn start() -> Model {
        Model {
            tables: vec![Tbl {
                id: 0,
                parent: None,
                custom_on: None,
                name: "t0".into(),
                renamed_from: None,
                cols: vec![Col {
                    name: "title".into(),
                    ty: "text",
                    nullable: false,
                    default: Some("'untitled'"),
                    renamed_from: None,
                }],
                index_on: vec![],
                public_read: false,
            }],
            kinds: vec!["a".into(), "b".into()],
            allow: vec![],
            blocking: vec![],
            counter: 1,
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    /// Clears one-shot migration hints after they were used.
    fn settle(&mut self) {
        self.allow.clear();
        self.blocking.clear();
        for t in &mut self.tables {
            t.renamed_from = None;
            for c in &mut t.cols {
                c.renamed_from = None;
            }
        }
    }

    fn yaml(&self) -> String {
        let mut s = String::from("target: supabase\n");
        if !self.allow.is_empty() {
            s.push_str(&format!(
                "allow_destructive: [{}]\n",
                self.allow
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !self.blocking.is_empty() {
            s.push_str(&format!(
                "allow_blocking: [{}]\n",
                self.blocking
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        s.push_str(&format!(
            "enums:\n  kind: [{}]\ntables:\n",
            self.kinds.join(", ")
        ));
        for t in &self.tables {
            s.push_str(&format!("  {}:\n", t.name));
            if let Some(r) = &t.renamed_from {
                s.push_str(&format!("    renamed_from: {r}\n"));
            }
            s.push_str("    timestamps: true\n    columns:\n");
            s.push_str("      id: { type: uuid, primary_key: true, default: gen_random_uuid() }\n");
            s.push_str("      user_id: { type: uuid, default: auth.uid(), references: auth.users, on_delete: cascade }\n");
            s.push_str("      kind: { type: kind, default: \"'a'\" }\n");
            for c in &t.cols {
                let mut parts = vec![format!(
                    "type: \"{}{}\"",
                    c.ty,
                    if c.nullable { "?" } else { "" }
                )];
                if let Some(d) = c.default {
                    parts.push(format!("default: \"{d}\""));
                }
                if let Some(r) = &c.renamed_from {
                    parts.push(format!("renamed_from: {r}"));
                }
                if c.ty == "text" {
                    parts.push(format!("check: \"char_length({}) < 1000\"", c.name));
                }
                s.push_str(&format!("      {}: {{ {} }}\n", c.name, parts.join(", ")));
            }
            if let Some(p) = &t.parent {
                s.push_str(&format!(
                    "      parent_id: {{ type: \"uuid?\", references: {p}, on_delete: cascade }}\n"
                ));
            }
            if !t.index_on.is_empty() {
                s.push_str("    indexes:\n");
                for c in &t.index_on {
                    s.push_str(&format!(
                        "      - {{ columns: [{c}], where: \"{c} is not null\" }}\n"
                    ));
                }
            }
            s.push_str("    policies:\n      - { for: all, owner: user_id }\n");
            if t.public_read {
                s.push_str("      - { for: select, authenticated: true }\n");
            }
            if t.parent.is_some() {
                s.push_str("      - { name: parent readers, for: select, parent: { column: parent_id } }\n");
            }
            if let Some(c) = &t.custom_on {
                s.push_str(&format!(
                    "      - {{ name: custom read, for: select, using: \"{c} is not null\" }}\n"
                ));
            }
        }
        s.push_str("functions:\n  touch:\n    returns: trigger\n    language: plpgsql\n    body: \"begin return new; end;\"\n");
        for t in &self.tables {
            s.push_str(&format!(
                "  count_{}:\n    returns: bigint\n    language: sql\n    volatility: stable\n    body: \"select count(*) from public.{}\"\n",
                t.id, t.name
            ));
        }
        s.push_str("triggers:\n");
        for t in &self.tables {
            s.push_str(&format!(
                "  touch_{}:\n    table: {}\n    timing: before\n    events: [insert]\n    function: touch\n",
                t.id, t.name
            ));
        }
        s
    }

    /// Applies one random edit; returns what it did.
    fn edit(&mut self, rng: &mut Rng) -> String {
        let ti = rng.below(self.tables.len());
        match rng.below(12) {
            0 => {
                let name = self.fresh("t");
                let parent = (rng.below(2) == 0).then(|| self.tables[ti].name.clone());
                let id = self.counter;
                self.tables.push(Tbl {
                    id,
                    name: name.clone(),
                    renamed_from: None,
                    cols: vec![],
                    index_on: vec![],
                    public_read: false,
                    parent: parent.clone(),
                    custom_on: None,
                });
                format!("add table {name} (parent {parent:?})")
            }
            1 => {
                let name = self.fresh("c");
                let (ty, nullable, default) = [
                    ("text", true, None),
                    ("int", false, Some("0")),
                    ("boolean", false, Some("false")),
                    ("timestamptz", true, None),
                ][rng.below(4)];
                self.tables[ti].cols.push(Col {
                    name: name.clone(),
                    ty,
                    nullable,
                    default,
                    renamed_from: None,
                });
                format!("add column {}.{name}", self.tables[ti].name)
            }
            2 if !self.tables[ti].cols.is_empty() => {
                let ci = rng.below(self.tables[ti].cols.len());
                let c = self.tables[ti].cols.remove(ci);
                self.tables[ti].index_on.retain(|x| x != &c.name);
                if self.tables[ti].custom_on.as_ref() == Some(&c.name) {
                    self.tables[ti].custom_on = None;
                }
                self.allow
                    .push(format!("drop column {}.{}", self.tables[ti].name, c.name));
                format!("drop column {}.{}", self.tables[ti].name, c.name)
            }
            3 if !self.tables[ti].cols.is_empty() => {
                let ci = rng.below(self.tables[ti].cols.len());
                let new = self.fresh("r");
                let t = &mut self.tables[ti];
                let old = std::mem::replace(&mut t.cols[ci].name, new.clone());
                t.cols[ci].renamed_from = Some(old.clone());
                for ix in &mut t.index_on {
                    if *ix == old {
                        *ix = new.clone();
                    }
                }
                if t.custom_on.as_ref() == Some(&old) {
                    t.custom_on = Some(new.clone());
                }
                format!("rename column {}.{old} to {new}", t.name)
            }
            4 if !self.tables[ti].cols.is_empty() => {
                let ci = rng.below(self.tables[ti].cols.len());
                let t = &mut self.tables[ti];
                let c = &mut t.cols[ci];
                if c.ty == "int" {
                    c.ty = "bigint";
                    let key = format!("change type {}.{}", t.name, c.name);
                    let what = format!("widen {}", c.name);
                    self.blocking.push(key);
                    what
                } else {
                    c.nullable = !c.nullable || c.default.is_none();
                    format!("toggle null on {}", c.name)
                }
            }
            5 if !self.tables[ti].cols.is_empty() => {
                let ci = rng.below(self.tables[ti].cols.len());
                let c = self.tables[ti].cols[ci].name.clone();
                if !self.tables[ti].index_on.contains(&c) {
                    self.tables[ti].index_on.push(c.clone());
                }
                format!("index {c}")
            }
            6 if !self.tables[ti].index_on.is_empty() => {
                let c = self.tables[ti].index_on.remove(0);
                format!("drop index on {c}")
            }
            7 => {
                let v = self.fresh("v");
                let pos = rng.below(self.kinds.len() + 1);
                self.kinds.insert(pos, v.clone());
                format!("add enum value {v}")
            }
            8 => {
                self.tables[ti].public_read = !self.tables[ti].public_read;
                format!("toggle public read on {}", self.tables[ti].name)
            }
            9 if self.tables.len() > 1
                && !self
                    .tables
                    .iter()
                    .any(|x| x.parent.as_ref() == Some(&self.tables[ti].name)) =>
            {
                let t = self.tables.remove(ti);
                self.allow.push(format!("drop table {}", t.name));
                format!("drop table {}", t.name)
            }
            10 => {
                let new = self.fresh("t");
                let t = &mut self.tables[ti];
                let old = std::mem::replace(&mut t.name, new.clone());
                t.renamed_from = Some(old.clone());
                for x in &mut self.tables {
                    if x.parent.as_ref() == Some(&old) {
                        x.parent = Some(new.clone());
                    }
                }
                format!("rename table {old} to {new}")
            }
            11 if !self.tables[ti].cols.is_empty() => {
                let ci = rng.below(self.tables[ti].cols.len());
                let c = self.tables[ti].cols[ci].name.clone();
                let t = &mut self.tables[ti];
                t.custom_on = if t.custom_on.is_some() {
                    None
                } else {
                    Some(c.clone())
                };
                format!("toggle custom policy on {}.{c}", t.name)
            }
            _ => {
                let name = self.fresh("c");
                self.tables[ti].cols.push(Col {
                    name: name.clone(),
                    ty: "text",
                    nullable: true,
                    default: None,
                    renamed_from: None,
                });
                format!("add column {name}")
            }
        }
    }
}

fn compile(yaml: &str) -> ir::Schema {
    let mut s = Sources::new();
    s.add("schema.yaml", yaml);
    let c = schema_core::compile(&s);
    let rendered: String = c
        .diagnostics
        .iter()
        .map(|d| schema_core::render::human(d, &s))
        .collect();
    c.ir.unwrap_or_else(|| panic!("generated schema does not compile:\n{rendered}\n{yaml}"))
}

fn db(label: &str) -> (TestDatabase, Client) {
    let db = TestDatabase::create(shared(), label).expect("database");
    install_supabase_platform(
        &mut db.connect_admin().expect("admin"),
        GrantMode::NoAutoGrant,
    )
    .expect("platform");
    let c = db.connect_as("postgres").expect("postgres");
    (db, c)
}

fn exec(c: &mut Client, what: &str, sql: &str, log: &[String]) {
    let mut tx = c.transaction().expect("begin");
    if let Err(e) = tx.batch_execute(sql) {
        panic!(
            "{what} failed: {}\nedits:\n{}\n--- sql ---\n{sql}",
            schema_pg::error::describe_postgres_error(&e),
            log.join("\n")
        );
    }
    tx.commit().expect("commit");
}

/// A migration that runs outside a transaction: one statement at a time, each committed.
fn exec_each(c: &mut Client, what: &str, stmts: &[String], log: &[String]) {
    for s in stmts {
        if let Err(e) = c.batch_execute(s) {
            panic!(
                "{what} failed: {}\nedits:\n{}\n--- statement ---\n{s}",
                schema_pg::error::describe_postgres_error(&e),
                log.join("\n")
            );
        }
    }
}

type Downs = (
    String,
    Option<String>,
    Option<Vec<String>>,
    Option<Vec<String>>,
);

fn sequence(seed: u64, steps: usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut model = Model::start();
    let opts = EmitOptions::default();
    let first = compile(&model.yaml());
    let (_a, mut a) = db(&format!("seq_{seed}"));
    exec(&mut a, "init", &up::migration(&first, &opts), &[]);
    schema_pg::harness::insert_fixtures(&mut a, &first, &Default::default()).expect("fixtures");
    let start = catalog_with(&mut a, true);
    let mut prev = first.clone();
    let mut downs: Vec<Downs> = Vec::new();
    let mut log = Vec::new();
    for step in 0..steps {
        log.push(format!("step {step}: {}", model.edit(&mut rng)));
        let next = compile(&model.yaml());
        let mut d = Diagnostics::default();
        let m = diff(&prev, &next, &mut d);
        let diags = d.into_sorted();
        assert!(
            diags.is_empty(),
            "seed {seed}: {diags:?}\n{}",
            log.join("\n")
        );
        if let Some((u, _)) = &m.enum_values {
            exec(&mut a, "enum values", &u.join("\n\n"), &log);
        }
        if let Some((u, _)) = &m.before {
            exec_each(&mut a, &format!("seed {seed} step {step} before"), u, &log);
        }
        exec(
            &mut a,
            &format!("seed {seed} step {step} up"),
            &m.up.join("\n\n"),
            &log,
        );
        if let Some((u, _)) = &m.after {
            exec_each(&mut a, &format!("seed {seed} step {step} after"), u, &log);
        }
        downs.push((
            m.down.join("\n\n"),
            m.enum_values.as_ref().map(|(_, d)| d.join("\n\n")),
            m.before.as_ref().map(|(_, d)| d.clone()),
            m.after.as_ref().map(|(_, d)| d.clone()),
        ));
        model.settle();
        prev = compile(&model.yaml());
    }
    let (_b, mut b) = db(&format!("seqf_{seed}"));
    exec(&mut b, "fresh", &up::migration(&prev, &opts), &log);
    let migrated = catalog_with(&mut a, true);
    let fresh = catalog_with(&mut b, true);
    if migrated != fresh {
        let d = similar::TextDiff::from_lines(&fresh, &migrated);
        panic!("seed {seed}: all migrations != fresh final schema (- fresh, + migrated)\nedits:\n{}\n{}", log.join("\n"), d.unified_diff().context_radius(1));
    }
    for (i, (down_sql, enum_down, before_down, after_down)) in downs.iter().enumerate().rev() {
        if let Some(d) = after_down {
            exec_each(&mut a, &format!("seed {seed} step {i} after down"), d, &log);
        }
        exec(
            &mut a,
            &format!("seed {seed} step {i} down"),
            down_sql,
            &log,
        );
        if let Some(d) = before_down {
            exec_each(
                &mut a,
                &format!("seed {seed} step {i} before down"),
                d,
                &log,
            );
        }
        if let Some(e) = enum_down {
            exec(&mut a, "enum values down", e, &log);
        }
    }
    let back = catalog_with(&mut a, true);
    if back != start {
        let d = similar::TextDiff::from_lines(&start, &back);
        panic!(
            "seed {seed}: all down scripts != the start (- start, + after downs)\nedits:\n{}\n{}",
            log.join("\n"),
            d.unified_diff().context_radius(1)
        );
    }
    exec(&mut a, "init down", &down::migration(&first, &opts), &log);
    let left: i64 = a
        .query_one("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'", &[])
        .expect("count")
        .get(0);
    assert_eq!(
        left, 0,
        "seed {seed}: relations left in public after every down script"
    );
}

#[test]
fn random_edit_sequences_round_trip() {
    for seed in 1..=10 {
        sequence(seed, 8);
    }
}
