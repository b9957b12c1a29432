//! Incremental migrations: (previous compiled schema, new schema) -> the statements that take a
//! database from one to the other (up) and back (down), ordered by dependency in both directions.
//! Destructive changes are refused (diagnostics) unless the schema lists them in
//! `allow_destructive`; their down statements restore the structure and say the data is gone.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::emit::up::{
    create_enum, create_function, create_index, create_index_with, create_table, function_all,
    function_grants, function_signature, grants, helper, helper_grants, policies, realtime,
    sequence_revoke, sequence_revokes, table_comments, timestamps_trigger, uses_helpers_schema,
    vector_schema,
};
use crate::ir::{self, Helper, Schema, SqlType, Table};
use crate::source::Span;
use crate::sql::comment;
use crate::sql::ident::{dollar_quote, list, literal, qname, qualified, quote};
use crate::types;
use std::collections::{BTreeMap, BTreeSet};

/// The statements of one incremental migration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub up: Vec<String>,
    pub down: Vec<String>,
    /// `alter type ... add value` statements, which must be committed before the new values are
    /// used, so they go into a migration of their own that runs first (with its down script).
    pub enum_values: Option<(Vec<String>, Vec<String>)>,
    /// One line per change, for the migration header and the derived migration name.
    pub summary: Vec<String>,
    /// A migration that runs outside a transaction, one statement at a time, before `up`
    /// (concurrent index drops); its down runs after `down` (concurrent builds and constraint
    /// validations that finish restoring the previous state without a long lock).
    pub before: Option<(Vec<String>, Vec<String>)>,
    /// A migration that runs outside a transaction after `up`: concurrent index builds, unique
    /// constraints from those indexes, constraint validations, batched backfills.
    pub after: Option<(Vec<String>, Vec<String>)>,
}

/// The `lock_timeout` of every migration unless the schema sets one.
pub const DEFAULT_LOCK_TIMEOUT: &str = "5s";

/// Rows updated per transaction by a batched backfill.
pub const BACKFILL_BATCH: u32 = 10_000;

/// A valid `lock_timeout:` value: a whole number of `ms`, `s` or `min` (at most 9 digits).
pub fn valid_lock_timeout(v: &str) -> bool {
    let digits = v.bytes().take_while(|b| b.is_ascii_digit()).count();
    (1..=9).contains(&digits) && matches!(&v[digits..], "ms" | "s" | "min")
}

/// First line of a migration that must run outside a transaction: `schemac migrate` then runs
/// its statements one at a time (the Supabase CLI runs such statements outside its batch).
pub const NO_TRANSACTION_MARKER: &str = "-- schemac: no-transaction";

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.up.is_empty()
            && self.enum_values.is_none()
            && self.before.is_none()
            && self.after.is_none()
    }

    /// A migration name derived from the changes, e.g. `add_column_messages_edited_at`.
    pub fn suggested_name(&self) -> String {
        let first = self.summary.first().map(|s| s.as_str()).unwrap_or("change");
        let mut name: String = first
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .split('_')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        name.truncate(48);
        let name = name.trim_end_matches('_').to_string();
        if self.summary.len() > 1 {
            format!("{name}_and_{}_more", self.summary.len() - 1)
        } else {
            name
        }
    }
}

// Phases, in up order. Everything before `P_RENAME` names objects by their previous names
// (drops of what changes, in both directions: the down script recreates the previous objects
// after renaming back); everything after it uses the new names. Down runs the changes in
// reverse order of their `down_phase` (the up phase unless a change says otherwise).
const P_EXTENSION: u8 = 0;
const P_SCHEMA: u8 = 1;
const P_ENUM_CREATE: u8 = 2;
const P_DROP_POLICY: u8 = 3;
const P_DROP_TRIGGER: u8 = 4;
const P_DROP_FK: u8 = 5;
const P_DROP_INDEX: u8 = 6;
const P_DROP_CONSTRAINT: u8 = 7;
const P_REVOKE: u8 = 8;
/// Down only: previous function bodies, previous enum values and dropped functions come back
/// right after the renames are undone and dropped tables are back (their bodies name previous
/// tables and columns), before the previous triggers and policies that use them.
const P_RESTORE: u8 = 9;
const P_DROP_TABLE: u8 = 10;
const P_RENAME: u8 = 11;
const P_ENUM_RECREATE: u8 = 12;
const P_CREATE_TABLE: u8 = 13;
const P_COLUMN: u8 = 14;
const P_ADD_CONSTRAINT: u8 = 15;
const P_ADD_FK: u8 = 16;
const P_CREATE_INDEX: u8 = 17;
const P_HELPERS: u8 = 18;
const P_FUNCTIONS: u8 = 19;
const P_TRIGGERS: u8 = 20;
const P_SECURITY: u8 = 21;
const P_REALTIME: u8 = 22;
const P_COMMENTS: u8 = 23;
const P_DROP_FUNCTION: u8 = 27;
const P_DROP_ENUM: u8 = 28;
const P_DROP_SCHEMA: u8 = 29;

/// Which migration a change belongs to (see `Diff::before` and `Diff::after`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Before,
    Main,
    After,
}

struct Change {
    stage: Stage,
    phase: u8,
    down_phase: u8,
    up: Vec<String>,
    down: Vec<String>,
}

struct Differ<'a> {
    old: &'a Schema,
    new: &'a Schema,
    vs_old: Option<String>,
    vs_new: Option<String>,
    changes: Vec<Change>,
    summary: Vec<String>,
    diags: &'a mut Diagnostics,
    /// Tables (new names) whose policies must all be dropped and recreated.
    recreate_policies: BTreeSet<String>,
    enum_values_up: Vec<String>,
    enum_values_down: Vec<String>,
}

/// Computes the migration from `old` to `new`. Refused destructive changes are reported in
/// `diags` (errors); the caller writes nothing then.
pub fn diff(old: &Schema, new: &Schema, diags: &mut Diagnostics) -> Diff {
    let mut d = Differ {
        old,
        new,
        vs_old: vector_schema(old),
        vs_new: vector_schema(new),
        changes: Vec::new(),
        summary: Vec::new(),
        diags,
        recreate_policies: BTreeSet::new(),
        enum_values_up: Vec::new(),
        enum_values_down: Vec::new(),
    };
    d.run();
    let changes = std::mem::take(&mut d.changes);
    let lt = literal(
        d.new
            .hints
            .lock_timeout
            .as_deref()
            .unwrap_or(DEFAULT_LOCK_TIMEOUT),
    );
    let script = |stage: Stage| {
        let mut cs: Vec<&Change> = changes.iter().filter(|c| c.stage == stage).collect();
        cs.sort_by_key(|c| c.phase);
        let up: Vec<String> = cs.iter().flat_map(|c| c.up.iter().cloned()).collect();
        // Stable sort: changes of one down phase keep their (reversed) order.
        cs.sort_by_key(|c| c.down_phase);
        let down: Vec<String> = cs
            .iter()
            .rev()
            .flat_map(|c| c.down.iter().cloned())
            .collect();
        // Every migration waits at most `lock_timeout` for a lock, so it never queues other
        // sessions' statements behind it for long: it fails instead, and can be retried.
        let set = if stage == Stage::Main {
            format!("set local lock_timeout = {lt};")
        } else {
            format!("set lock_timeout = {lt};")
        };
        let with_timeout = |s: Vec<String>| with_lock_timeout(s, &set);
        (with_timeout(up), with_timeout(down))
    };
    let (up, down) = script(Stage::Main);
    let nonempty =
        |(u, d): (Vec<String>, Vec<String>)| (!u.is_empty() || !d.is_empty()).then_some((u, d));
    let before = nonempty(script(Stage::Before));
    let after = nonempty(script(Stage::After));
    let set_local = format!("set local lock_timeout = {lt};");
    let enum_values = (!d.enum_values_up.is_empty()).then(|| {
        (
            with_lock_timeout(d.enum_values_up.clone(), &set_local),
            with_lock_timeout(d.enum_values_down.clone(), &set_local),
        )
    });
    let mut summary = d.summary;
    // Structural changes first (they name the migration), grants and comments last.
    summary.sort_by_key(|s| rank(s));
    Diff {
        up,
        down,
        enum_values,
        summary,
        before,
        after,
    }
}

fn t_q(name: &str) -> String {
    qualified("public", name)
}

impl Differ<'_> {
    fn push(&mut self, phase: u8, up: Vec<String>, down: Vec<String>) {
        self.push_split(phase, phase, up, down);
    }

    /// A change whose reverse runs at another point of the down script.
    fn push_split(&mut self, phase: u8, down_phase: u8, up: Vec<String>, down: Vec<String>) {
        self.push_stage(Stage::Main, phase, down_phase, up, down);
    }

    fn push_stage(
        &mut self,
        stage: Stage,
        phase: u8,
        down_phase: u8,
        up: Vec<String>,
        down: Vec<String>,
    ) {
        if !up.is_empty() || !down.is_empty() {
            self.changes.push(Change {
                stage,
                phase,
                down_phase,
                up,
                down,
            });
        }
    }

    fn note(&mut self, s: String) {
        self.summary.push(s);
    }

    /// A destructive change is allowed only when listed in `allow_destructive`.
    fn destructive(&mut self, key: &str, what: &str) -> bool {
        if self.new.hints.allow_destructive.iter().any(|a| a == key) {
            return true;
        }
        self.diags.push(
            Diagnostic::error(Code::Destructive, Span::SYNTHETIC, "allow_destructive", format!("{what}: the data cannot be brought back by the down script"))
                .help(format!("if this is intended, add `allow_destructive: [\"{key}\"]` to the schema; to keep the data, rename with `renamed_from:` instead")),
        );
        false
    }

    /// A change to an existing table may take its blocking form (`allow_blocking`).
    fn blocking_allowed(&self, key: &str) -> bool {
        self.new
            .hints
            .allow_blocking
            .iter()
            .any(|a| a == "all" || a == key)
    }

    /// A blocking change without a live-safe form is refused unless listed in `allow_blocking`.
    fn blocking(&mut self, key: &str, what: &str) -> bool {
        if self.blocking_allowed(key) {
            return true;
        }
        self.diags.push(
            Diagnostic::error(Code::Blocking, Span::SYNTHETIC, "allow_blocking", format!("{what}: writes to the table wait until it finishes"))
                .help(format!("if the table is small or a maintenance window is planned, add `allow_blocking: [\"{key}\"]` to the schema (or `[all]`)")),
        );
        false
    }

    fn run(&mut self) {
        self.extensions();
        self.schema_of_helpers();
        self.enums();
        self.tables();
        self.helpers();
        self.functions();
        self.triggers();
        self.upgrade_emitter();
    }

    /// A database migrated by an older schemac holds SQL of an older generation: replace its
    /// functions (search_path with `pg_temp` last) and revoke its identity sequences. The down
    /// script keeps the hardening (putting a weakness back helps no one).
    fn upgrade_emitter(&mut self) {
        if self.old.emitter >= 1 || self.new.emitter < 1 {
            return;
        }
        self.note("harden functions and sequences".to_string());
        let mut up = Vec::new();
        for t in &self.new.tables {
            let existed = self.old.tables.iter().any(|o| o.name == t.name)
                || self
                    .new
                    .hints
                    .table_renames
                    .iter()
                    .any(|(_, to)| to == &t.name);
            if existed {
                // Columns given an identity by this migration exist by now (P_COLUMN runs
                // first); revoking twice is harmless.
                up.extend(sequence_revokes(t));
            }
        }
        let hs = &self.new.helpers_schema;
        if *hs == self.old.helpers_schema {
            for h in &self.new.helpers {
                if self.old.helpers.iter().any(|o| o == h) {
                    up.extend(or_replace(vec![helper(self.new, h)]));
                }
            }
        }
        for f in &self.new.functions {
            if self.old.functions.iter().any(|o| o == f) {
                up.extend(or_replace(vec![create_function(f, self.vs_new.as_deref())]));
            }
        }
        self.push(P_SECURITY, up, vec![]);
    }

    fn extensions(&mut self) {
        for e in &self.new.extensions {
            if !self.old.extensions.iter().any(|o| o.name == e.name) {
                let up = match &e.schema {
                    Some(s) => format!(
                        "create extension if not exists {} with schema {};",
                        quote(&e.name),
                        quote(s)
                    ),
                    None => format!("create extension if not exists {};", quote(&e.name)),
                };
                self.note(format!("add extension {}", e.name));
                self.push(
                    P_EXTENSION,
                    vec![up],
                    vec![comment::line(&format!(
                        "extension {} is kept: other schemas may use it",
                        quote(&e.name)
                    ))],
                );
            }
        }
    }

    fn schema_of_helpers(&mut self) {
        let (was, is) = (uses_helpers_schema(self.old), uses_helpers_schema(self.new));
        let create = |s: &Schema| {
            vec![
                format!("create schema {};", quote(&s.helpers_schema)),
                format!(
                    "grant usage on schema {} to {};",
                    quote(&s.helpers_schema),
                    list(&["anon", "authenticated", "service_role"])
                ),
            ]
        };
        if is && (!was || self.old.helpers_schema != self.new.helpers_schema) {
            self.push(
                P_SCHEMA,
                create(self.new),
                vec![format!("drop schema {};", quote(&self.new.helpers_schema))],
            );
        }
        if was && (!is || self.old.helpers_schema != self.new.helpers_schema) {
            self.push(
                P_DROP_SCHEMA,
                vec![format!("drop schema {};", quote(&self.old.helpers_schema))],
                create(self.old),
            );
        }
    }

    fn enums(&mut self) {
        for e in &self.new.enums {
            match self.old.enums.iter().find(|o| o.name == e.name) {
                None => {
                    self.note(format!("create enum {}", e.name));
                    self.push(
                        P_ENUM_CREATE,
                        create_enum(e),
                        vec![format!("drop type {};", t_q(&e.name))],
                    );
                }
                Some(o) => {
                    let removed: Vec<&String> =
                        o.values.iter().filter(|v| !e.values.contains(v)).collect();
                    let added: Vec<&String> =
                        e.values.iter().filter(|v| !o.values.contains(v)).collect();
                    let reordered = removed.is_empty()
                        && o.values
                            .iter()
                            .zip(e.values.iter().filter(|v| o.values.contains(v)))
                            .any(|(a, b)| a != b);
                    if !removed.is_empty() || reordered {
                        let key = format!(
                            "remove enum value {}.{}",
                            e.name,
                            removed.first().map(|s| s.as_str()).unwrap_or("order")
                        );
                        if self.destructive(
                            &key,
                            &format!(
                                "removing values from enum `{}` fails for rows that use them",
                                e.name
                            ),
                        ) {
                            self.note(format!("recreate enum {}", e.name));
                            let up = recreate_enum(self.new, &e.name, &e.values, false);
                            let down = recreate_enum(self.old, &o.name, &o.values, false);
                            self.mark_enum_users(&e.name);
                            // The previous type comes back after the renames are undone: its
                            // conversion names the previous tables and columns.
                            self.push_split(P_ENUM_RECREATE, P_RESTORE, up, down);
                        }
                    } else if !added.is_empty() {
                        self.note(format!("add values to enum {}", e.name));
                        for v in &added {
                            let pos = e.values.iter().position(|x| x == *v).expect("value");
                            let stmt = match e.values[pos + 1..]
                                .iter()
                                .find(|x| o.values.contains(x))
                            {
                                Some(next) => format!(
                                    "alter type {} add value {} before {};",
                                    t_q(&e.name),
                                    literal(v),
                                    literal(next)
                                ),
                                None => {
                                    format!("alter type {} add value {};", t_q(&e.name), literal(v))
                                }
                            };
                            self.enum_values_up.push(stmt);
                        }
                        self.enum_values_down
                            .extend(recreate_enum(self.old, &o.name, &o.values, true));
                    }
                    if o.comment != e.comment {
                        let c = |x: &Option<String>| {
                            x.as_deref().map(literal).unwrap_or_else(|| "null".into())
                        };
                        self.push(
                            P_COMMENTS,
                            vec![format!(
                                "comment on type {} is {};",
                                t_q(&e.name),
                                c(&e.comment)
                            )],
                            vec![format!(
                                "comment on type {} is {};",
                                t_q(&e.name),
                                c(&o.comment)
                            )],
                        );
                    }
                }
            }
        }
        for o in &self.old.enums {
            if !self.new.enums.iter().any(|e| e.name == o.name) {
                self.note(format!("drop enum {}", o.name));
                self.push(
                    P_DROP_ENUM,
                    vec![format!("drop type {};", t_q(&o.name))],
                    create_enum(o),
                );
            }
        }
    }

    /// Tables with columns of enum `name` get their policies recreated around a type change.
    fn mark_enum_users(&mut self, name: &str) {
        for t in &self.new.tables {
            if t.columns.iter().any(|c| uses_enum(&c.ty, name)) {
                self.recreate_policies.insert(t.name.clone());
            }
        }
    }

    fn old_name_of(&self, new_name: &str) -> String {
        self.new
            .hints
            .table_renames
            .iter()
            .find(|(from, to)| {
                to == new_name
                    && self.old.tables.iter().any(|t| &t.name == from)
                    && !self.old.tables.iter().any(|t| t.name == new_name)
            })
            .map(|(from, _)| from.clone())
            .unwrap_or_else(|| new_name.to_string())
    }

    fn tables(&mut self) {
        let mut matched_old = BTreeSet::new();
        for n in &self.new.tables {
            let old_name = self.old_name_of(&n.name);
            match self.old.tables.iter().find(|t| t.name == old_name) {
                Some(o) => {
                    matched_old.insert(o.name.clone());
                    self.table(o, n);
                }
                None => self.create_table(n),
            }
        }
        for o in &self.old.tables {
            if !matched_old.contains(&o.name) {
                self.drop_table(o);
            }
        }
    }

    fn create_table(&mut self, t: &Table) {
        let vs = self.vs_new.clone();
        self.note(format!("create table {}", t.name));
        self.push(
            P_CREATE_TABLE,
            vec![create_table(t, vs.as_deref())],
            vec![format!("drop table {};", t_q(&t.name))],
        );
        self.push(
            P_CREATE_INDEX,
            t.indexes
                .iter()
                .map(|ix| create_index(t, ix, vs.as_deref()))
                .collect(),
            vec![],
        );
        if t.timestamps {
            self.push(P_TRIGGERS, vec![timestamps_trigger(self.new, t)], vec![]);
        }
        let mut sec = Vec::new();
        if t.rls {
            sec.push(format!(
                "alter table {} enable row level security;",
                t_q(&t.name)
            ));
        }
        sec.extend(grants(t));
        sec.extend(policies(self.new, t).into_iter().map(|p| p.sql));
        self.push(P_SECURITY, sec, vec![]);
        self.push(P_REALTIME, realtime(t), vec![]);
        self.push(P_COMMENTS, table_comments(t), vec![]);
    }

    /// What recreates table `t` of `schema` (the down of a dropped table): its structure, and
    /// separately its trigger and policies (they need the functions restored in between).
    fn full_table(schema: &Schema, t: &Table, vs: Option<&str>) -> (Vec<String>, Vec<String>) {
        let mut s = vec![
            comment::line(&format!(
                "the rows of {} cannot be restored: only its structure comes back",
                t_q(&t.name)
            )),
            create_table(t, vs),
        ];
        s.extend(t.indexes.iter().map(|ix| create_index(t, ix, vs)));
        if t.rls {
            s.push(format!(
                "alter table {} enable row level security;",
                t_q(&t.name)
            ));
        }
        s.extend(grants(t));
        s.extend(realtime(t));
        s.extend(table_comments(t));
        let mut late = Vec::new();
        if t.timestamps {
            late.push(timestamps_trigger(schema, t));
        }
        late.extend(policies(schema, t).into_iter().map(|p| p.sql));
        (s, late)
    }

    fn drop_table(&mut self, o: &Table) {
        if !self.destructive(
            &format!("drop table {}", o.name),
            &format!("dropping table `{}` deletes its rows", o.name),
        ) {
            return;
        }
        self.note(format!("drop table {}", o.name));
        let (down, late) = Self::full_table(self.old, o, self.vs_old.as_deref());
        self.push(
            P_DROP_TABLE,
            vec![format!("drop table {};", t_q(&o.name))],
            down,
        );
        self.push_split(P_DROP_TABLE, P_DROP_POLICY, vec![], late);
    }

    fn table(&mut self, o: &Table, n: &Table) {
        let vs_new = self.vs_new.clone();
        let vs_old = self.vs_old.clone();
        let tq = t_q(&n.name);
        // `orig` is the table as it is in the database before the migration (previous names);
        // `o` is the same table with every rename applied, compared with `n` by meaning.
        let orig = o.clone();
        let oq = t_q(&orig.name);
        let mut o = o.clone();
        if o.name != n.name {
            self.note(format!("rename table {} to {}", o.name, n.name));
            self.push(
                P_RENAME,
                vec![format!("alter table {oq} rename to {};", quote(&n.name))],
                vec![format!("alter table {tq} rename to {};", quote(&o.name))],
            );
            if o.timestamps && n.timestamps {
                let (a, b) = (
                    format!("{}_set_updated_at", o.name),
                    format!("{}_set_updated_at", n.name),
                );
                self.push(
                    P_RENAME,
                    vec![format!(
                        "alter trigger {} on {tq} rename to {};",
                        quote(&a),
                        quote(&b)
                    )],
                    vec![format!(
                        "alter trigger {} on {tq} rename to {};",
                        quote(&b),
                        quote(&a)
                    )],
                );
            }
            o.name = n.name.clone();
        }
        let renames: Vec<(String, String)> = self
            .new
            .hints
            .column_renames
            .iter()
            .filter(|(t, from, to)| {
                t == &n.name
                    && o.column(from).is_some()
                    && o.column(to).is_none()
                    && n.column(to).is_some()
            })
            .map(|(_, f, t)| (f.clone(), t.clone()))
            .collect();
        for (from, to) in &renames {
            self.note(format!("rename column {}.{from} to {to}", n.name));
            self.push(
                P_RENAME,
                vec![format!(
                    "alter table {tq} rename column {} to {};",
                    quote(from),
                    quote(to)
                )],
                vec![format!(
                    "alter table {tq} rename column {} to {};",
                    quote(to),
                    quote(from)
                )],
            );
            rename_column(&mut o, from, to);
        }
        // Foreign keys follow renamed target tables and columns (PostgreSQL tracks them by oid).
        for f in o.foreign_keys.iter_mut() {
            self.follow_renames(&mut f.target, &mut f.target_columns);
        }
        if orig.name != n.name && !o.primary_key.is_empty() && o.primary_key == n.primary_key {
            // The primary key constraint (and its index) is named after the table.
            let (a, b) = (format!("{}_pkey", orig.name), format!("{}_pkey", n.name));
            self.push(
                P_RENAME,
                vec![format!(
                    "alter table {tq} rename constraint {} to {};",
                    quote(&a),
                    quote(&b)
                )],
                vec![format!(
                    "alter table {tq} rename constraint {} to {};",
                    quote(&b),
                    quote(&a)
                )],
            );
        }
        self.rename_matching_objects(&mut o, n);
        self.columns(&orig, &o, n, vs_old.as_deref(), vs_new.as_deref());
        self.constraints(&orig, &o, n, vs_old.as_deref(), vs_new.as_deref());
        if o.timestamps != n.timestamps {
            if n.timestamps {
                self.push(
                    P_TRIGGERS,
                    vec![timestamps_trigger(self.new, n)],
                    vec![format!(
                        "drop trigger {} on {tq};",
                        quote(&format!("{}_set_updated_at", n.name))
                    )],
                );
            } else {
                self.push(
                    P_DROP_TRIGGER,
                    vec![format!(
                        "drop trigger {} on {oq};",
                        quote(&format!("{}_set_updated_at", orig.name))
                    )],
                    vec![timestamps_trigger(self.old, &orig)],
                );
            }
        }
        // Security: RLS flag, grants, policies (compared by their generated SQL, i.e. meaning).
        if o.rls != n.rls {
            let (en, dis) = (
                format!("alter table {tq} enable row level security;"),
                format!("alter table {tq} disable row level security;"),
            );
            self.note(format!(
                "{} row level security on {}",
                if n.rls { "enable" } else { "disable" },
                n.name
            ));
            if n.rls {
                self.push(P_SECURITY, vec![en], vec![dis]);
            } else {
                self.push(P_SECURITY, vec![dis], vec![en]);
            }
        }
        if o.grants != n.grants {
            self.note(format!("change grants on {}", n.name));
            // Revoke (by the previous name) before renames and column changes, grant after them,
            // so both directions only name columns that exist at that point.
            let revoke_old = grants(&orig).into_iter().take(1).collect::<Vec<_>>();
            let revoke_new = grants(n).into_iter().take(1).collect::<Vec<_>>();
            self.push(P_REVOKE, revoke_old, grants(&orig));
            self.push(
                P_SECURITY,
                grants(n).into_iter().skip(1).collect(),
                revoke_new,
            );
        }
        // Policies: `orig_p` as they are in the database, `renamed_p` the same rules with every
        // rename applied (same order), compared with the new ones by their SQL.
        let orig_p = policies(self.old, &orig);
        let renamed_p = policies(self.old, &o);
        let aligned = orig_p.len() == renamed_p.len();
        let new_p = policies(self.new, n);
        let force = self.recreate_policies.contains(&n.name) || !aligned;
        for (i, p) in orig_p.iter().enumerate() {
            let r = renamed_p.get(i).filter(|_| aligned);
            let same = r.and_then(|r| new_p.iter().find(|x| same_policy(x, r)));
            match same {
                Some(x) if !force => {
                    if x.name != p.name {
                        // The same policy, named after the previous table name: rename it.
                        self.push(
                            P_RENAME,
                            vec![format!(
                                "alter policy {} on {tq} rename to {};",
                                quote(&p.name),
                                quote(&x.name)
                            )],
                            vec![format!(
                                "alter policy {} on {tq} rename to {};",
                                quote(&x.name),
                                quote(&p.name)
                            )],
                        );
                    }
                }
                _ => {
                    if !r.is_some_and(|r| new_p.iter().any(|x| x.name == r.name)) {
                        self.note(format!("drop policy {}", p.name));
                    }
                    self.push(
                        P_DROP_POLICY,
                        vec![format!("drop policy {} on {oq};", quote(&p.name))],
                        vec![p.sql.clone()],
                    );
                }
            }
        }
        for p in &new_p {
            let same = renamed_p
                .iter()
                .find(|x| x.name == p.name)
                .is_some_and(|x| same_policy(x, p));
            if force || !aligned || !same {
                self.note(format!(
                    "{} policy {}",
                    if renamed_p.iter().any(|x| x.name == p.name) {
                        "change"
                    } else {
                        "create"
                    },
                    p.name
                ));
                self.push(
                    P_SECURITY,
                    vec![p.sql.clone()],
                    vec![format!("drop policy {} on {tq};", quote(&p.name))],
                );
            }
        }
        // Realtime.
        match (&o.realtime, &n.realtime) {
            (None, Some(_)) => {
                self.note(format!("publish {} to realtime", n.name));
                let mut down = vec![format!(
                    "alter publication {} drop table {tq};",
                    quote("supabase_realtime")
                )];
                if n.realtime.as_ref().is_some_and(|r| r.replica_identity_full) {
                    down.push(format!("alter table {tq} replica identity default;"));
                }
                self.push(P_REALTIME, realtime(n), down);
            }
            (Some(r), None) => {
                self.note(format!("stop publishing {} to realtime", n.name));
                let mut up = vec![format!(
                    "alter publication {} drop table {tq};",
                    quote("supabase_realtime")
                )];
                if r.replica_identity_full {
                    up.push(format!("alter table {tq} replica identity default;"));
                }
                self.push(P_REALTIME, up, realtime(&o));
            }
            (Some(a), Some(b)) if a.replica_identity_full != b.replica_identity_full => {
                let ri = |full: bool| {
                    format!(
                        "alter table {tq} replica identity {};",
                        if full { "full" } else { "default" }
                    )
                };
                self.push(
                    P_REALTIME,
                    vec![ri(b.replica_identity_full)],
                    vec![ri(a.replica_identity_full)],
                );
            }
            _ => {}
        }
        if o.comment != n.comment {
            let c = |x: &Option<String>| x.as_deref().map(literal).unwrap_or_else(|| "null".into());
            self.push(
                P_COMMENTS,
                vec![format!("comment on table {tq} is {};", c(&n.comment))],
                vec![format!("comment on table {tq} is {};", c(&o.comment))],
            );
        }
    }

    /// Constraints and indexes whose definition is unchanged but whose name changed (after a
    /// table or column rename) are renamed rather than dropped and recreated.
    fn rename_matching_objects(&mut self, o: &mut Table, n: &Table) {
        let tq = t_q(&n.name);
        let mut renames: Vec<(String, String, bool)> = Vec::new();
        for u in o.uniques.iter_mut() {
            if !n.uniques.iter().any(|x| x.name == u.name) {
                if let Some(x) = n
                    .uniques
                    .iter()
                    .find(|x| x.columns == u.columns && !o_has_unique(&u.name, n))
                {
                    renames.push((u.name.clone(), x.name.clone(), false));
                    u.name = x.name.clone();
                }
            }
        }
        for f in o.foreign_keys.iter_mut() {
            if !n.foreign_keys.iter().any(|x| x.name == f.name) {
                if let Some(x) = n.foreign_keys.iter().find(|x| {
                    x.columns == f.columns
                        && x.target == f.target
                        && x.target_columns == f.target_columns
                        && x.on_delete == f.on_delete
                }) {
                    renames.push((f.name.clone(), x.name.clone(), false));
                    f.name = x.name.clone();
                }
            }
        }
        for c in o.checks.iter_mut() {
            if !n.checks.iter().any(|x| x.name == c.name) {
                if let Some(x) = n.checks.iter().find(|x| x.expr == c.expr) {
                    renames.push((c.name.clone(), x.name.clone(), false));
                    c.name = x.name.clone();
                }
            }
        }
        for ix in o.indexes.iter_mut() {
            if !n.indexes.iter().any(|x| x.name == ix.name) {
                if let Some(x) = n.indexes.iter().find(|x| same_index(x, ix)) {
                    renames.push((ix.name.clone(), x.name.clone(), true));
                    ix.name = x.name.clone();
                }
            }
        }

        for (a, b, is_index) in renames {
            let (up, down) = if is_index {
                (
                    format!(
                        "alter index {} rename to {};",
                        qualified("public", &a),
                        quote(&b)
                    ),
                    format!(
                        "alter index {} rename to {};",
                        qualified("public", &b),
                        quote(&a)
                    ),
                )
            } else {
                (
                    format!(
                        "alter table {tq} rename constraint {} to {};",
                        quote(&a),
                        quote(&b)
                    ),
                    format!(
                        "alter table {tq} rename constraint {} to {};",
                        quote(&b),
                        quote(&a)
                    ),
                )
            };
            self.push(P_RENAME, vec![up], vec![down]);
        }
    }

    fn columns(
        &mut self,
        orig: &Table,
        o: &Table,
        n: &Table,
        vs_old: Option<&str>,
        vs_new: Option<&str>,
    ) {
        let tq = t_q(&n.name);
        let oq = t_q(&orig.name);
        for c in &n.columns {
            let Some(oc) = o.column(&c.name) else {
                self.note(format!("add column {}.{}", n.name, c.name));
                self.push(
                    P_COLUMN,
                    vec![format!(
                        "alter table {tq} add column {};",
                        column_def(c, vs_new)
                    )],
                    vec![format!("alter table {tq} drop column {};", quote(&c.name))],
                );
                if c.identity.is_some() {
                    self.push(P_SECURITY, vec![sequence_revoke(&n.name, &c.name)], vec![]);
                }
                if let Some(cm) = &c.comment {
                    self.push(
                        P_COMMENTS,
                        vec![format!(
                            "comment on column {tq}.{} is {};",
                            quote(&c.name),
                            literal(cm)
                        )],
                        vec![],
                    );
                }
                continue;
            };
            let cq = quote(&c.name);
            if oc.ty != c.ty {
                let key = format!("change type {}.{}", n.name, c.name);
                let widening = is_widening(&oc.ty, &c.ty);
                let what = format!(
                    "changing `{}.{}` from `{}` to `{}` rewrites the table under an exclusive lock",
                    n.name,
                    c.name,
                    types::sql(&oc.ty, None),
                    types::sql(&c.ty, None)
                );
                if (widening && self.blocking(&key, &what))
                    || !widening
                        && self.destructive(
                            &key,
                            &format!(
                                "changing `{}.{}` from `{}` to `{}` may fail or lose data",
                                n.name,
                                c.name,
                                types::sql(&oc.ty, None),
                                types::sql(&c.ty, None)
                            ),
                        )
                {
                    self.note(format!("change type of {}.{}", n.name, c.name));
                    let using = self
                        .new
                        .hints
                        .usings
                        .iter()
                        .find(|(t, col, _)| t == &n.name && col == &c.name)
                        .map(|(_, _, e)| e.clone())
                        .unwrap_or_else(|| format!("{cq}::{}", types::sql(&c.ty, vs_new)));
                    let mut up = Vec::new();
                    let mut down = Vec::new();
                    if oc.default.is_some() {
                        up.push(format!("alter table {tq} alter column {cq} drop default;"));
                        down.push(format!("alter table {tq} alter column {cq} drop default;"));
                    }
                    up.push(format!(
                        "alter table {tq} alter column {cq} type {} using {using};",
                        types::sql(&c.ty, vs_new)
                    ));
                    down.push(format!(
                        "alter table {tq} alter column {cq} type {} using {cq}::{};",
                        types::sql(&oc.ty, vs_old),
                        types::sql(&oc.ty, vs_old)
                    ));
                    if let Some(d) = &c.default {
                        up.push(format!(
                            "alter table {tq} alter column {cq} set default {d};"
                        ));
                    }
                    if let Some(d) = &oc.default {
                        down.push(format!(
                            "alter table {tq} alter column {cq} set default {d};"
                        ));
                    }
                    // A column used in a policy cannot change type: recreate the table's policies.
                    self.recreate_policies.insert(n.name.clone());
                    self.push(P_COLUMN, up, down);
                }
            } else if oc.default != c.default {
                self.note(format!("change default of {}.{}", n.name, c.name));
                let set = |d: &Option<String>| match d {
                    Some(d) => format!("alter table {tq} alter column {cq} set default {d};"),
                    None => format!("alter table {tq} alter column {cq} drop default;"),
                };
                self.push(P_COLUMN, vec![set(&c.default)], vec![set(&oc.default)]);
            }
            if oc.nullable != c.nullable {
                self.note(format!(
                    "{} {}.{}",
                    if c.nullable {
                        "allow null in"
                    } else {
                        "require"
                    },
                    n.name,
                    c.name
                ));
                let (null, not_null) = (
                    format!("alter table {tq} alter column {cq} drop not null;"),
                    format!("alter table {tq} alter column {cq} set not null;"),
                );
                let key = format!("require {}.{}", n.name, c.name);
                // Live-safe: a `not null ... not valid` constraint (PostgreSQL 18; it checks new
                // rows only, under a short lock), validated later without blocking writes.
                let safe = (!self.blocking_allowed(&key))
                    .then(|| not_null_not_valid(&n.name, &c.name))
                    .flatten();
                match (c.nullable, safe) {
                    (true, None) => self.push(P_COLUMN, vec![null], vec![not_null]),
                    (true, Some((cn, add))) => {
                        self.push(P_COLUMN, vec![null], vec![add]);
                        self.push_stage(
                            Stage::Before,
                            P_COLUMN,
                            P_COLUMN,
                            vec![],
                            vec![validate(&oq, &cn)],
                        );
                    }
                    (false, None) => {
                        let mut up = Vec::new();
                        if let Some(d) = &c.default {
                            // Rows written while the column allowed null get the default first.
                            up.push(format!("update {tq} set {cq} = {d} where {cq} is null;"));
                        }
                        up.push(not_null);
                        self.push(P_COLUMN, up, vec![null]);
                    }
                    (false, Some((cn, add))) => {
                        self.push(P_COLUMN, vec![add], vec![null]);
                        let mut after = Vec::new();
                        if let Some(d) = &c.default {
                            after.push(backfill(&tq, &c.name, d));
                        }
                        after.push(validate(&tq, &cn));
                        self.push_stage(Stage::After, P_COLUMN, P_COLUMN, after, vec![]);
                    }
                }
            }
            if oc.identity != c.identity {
                let ident = |i: Option<ir::Identity>, other: Option<ir::Identity>| match (i, other)
                {
                    (Some(k), None) => format!(
                        "alter table {tq} alter column {cq} add generated {} as identity;",
                        identity_kind(k)
                    ),
                    (Some(k), Some(_)) => format!(
                        "alter table {tq} alter column {cq} set generated {};",
                        identity_kind(k)
                    ),
                    (None, _) => format!("alter table {tq} alter column {cq} drop identity;"),
                };
                self.note(format!("change identity of {}.{}", n.name, c.name));
                self.push(
                    P_COLUMN,
                    vec![ident(c.identity, oc.identity)],
                    vec![ident(oc.identity, c.identity)],
                );
                if oc.identity.is_none() {
                    self.push(P_SECURITY, vec![sequence_revoke(&n.name, &c.name)], vec![]);
                }
            }
            if oc.generated != c.generated {
                match (&oc.generated, &c.generated) {
                    (Some(a), Some(b)) => {
                        self.note(format!("change expression of {}.{}", n.name, c.name));
                        self.push(
                            P_COLUMN,
                            vec![format!(
                                "alter table {tq} alter column {cq} set expression as ({b});"
                            )],
                            vec![format!(
                                "alter table {tq} alter column {cq} set expression as ({a});"
                            )],
                        );
                    }
                    (Some(a), None) => {
                        self.note(format!("stop generating {}.{}", n.name, c.name));
                        self.push(
                            P_COLUMN,
                            vec![format!(
                                "alter table {tq} alter column {cq} drop expression;"
                            )],
                            vec![
                                comment::line(&format!(
                                    "{}.{} becomes generated again: its values are recomputed",
                                    n.name, c.name
                                )),
                                format!("alter table {tq} drop column {cq};"),
                                format!(
                                    "alter table {tq} add column {};",
                                    column_def(
                                        &ir::Column {
                                            generated: Some(a.clone()),
                                            ..c.clone()
                                        },
                                        vs_old
                                    )
                                ),
                            ],
                        );
                    }
                    (None, Some(_)) => {
                        let key = format!("drop column {}.{}", n.name, c.name);
                        if self.destructive(&key, &format!("`{}.{}` becomes generated: PostgreSQL must drop and re-add it, losing its values", n.name, c.name)) {
                            self.push(
                                P_COLUMN,
                                vec![format!("alter table {tq} drop column {cq};"), format!("alter table {tq} add column {};", column_def(c, vs_new))],
                                vec![
                                    comment::line(&format!("the values of {}.{} cannot be restored", n.name, c.name)),
                                    format!("alter table {tq} drop column {cq};"),
                                    format!("alter table {tq} add column {};", column_def(oc, vs_old)),
                                ],
                            );
                        }
                    }
                    (None, None) => {}
                }
            }
            if oc.comment != c.comment {
                let cm =
                    |x: &Option<String>| x.as_deref().map(literal).unwrap_or_else(|| "null".into());
                self.push(
                    P_COMMENTS,
                    vec![format!(
                        "comment on column {tq}.{cq} is {};",
                        cm(&c.comment)
                    )],
                    vec![format!(
                        "comment on column {tq}.{cq} is {};",
                        cm(&oc.comment)
                    )],
                );
            }
        }
        for oc in &o.columns {
            if n.column(&oc.name).is_none() {
                let key = format!("drop column {}.{}", n.name, oc.name);
                if self.destructive(
                    &key,
                    &format!(
                        "dropping column `{}.{}` deletes its values",
                        n.name, oc.name
                    ),
                ) {
                    self.note(format!("drop column {}.{}", n.name, oc.name));
                    self.recreate_policies.insert(n.name.clone());
                    let mut down = vec![
                        comment::line(&format!(
                            "the values of {}.{} cannot be restored: the column comes back empty",
                            n.name, oc.name
                        )),
                        format!(
                            "alter table {tq} add column {};",
                            column_def(
                                &ir::Column {
                                    nullable: true,
                                    ..oc.clone()
                                },
                                vs_old
                            )
                        ),
                    ];
                    if !oc.nullable && oc.default.is_some() {
                        down.push(format!(
                            "alter table {tq} alter column {} set not null;",
                            quote(&oc.name)
                        ));
                    }
                    self.push(
                        P_COLUMN,
                        vec![format!("alter table {tq} drop column {};", quote(&oc.name))],
                        down,
                    );
                }
            }
        }
    }

    /// Constraints and indexes. `orig` is the table as in the database (previous names), `o` the
    /// same with renames applied (same element order); drops name `orig`'s objects and run before
    /// the renames, additions name `n`'s and run after them.
    fn constraints(
        &mut self,
        orig: &Table,
        o: &Table,
        n: &Table,
        vs_old: Option<&str>,
        vs_new: Option<&str>,
    ) {
        let tq = t_q(&n.name);
        let oq = t_q(&orig.name);
        let drop_c =
            |tq: &str, name: &str| format!("alter table {tq} drop constraint {};", quote(name));
        // Primary key.
        if o.primary_key != n.primary_key {
            self.note(format!("change primary key of {}", n.name));
            let pk = |tq: &str, t: &Table| {
                format!(
                    "alter table {tq} add constraint {} primary key ({});",
                    quote(&format!("{}_pkey", t.name)),
                    list(&t.primary_key)
                )
            };
            if !orig.primary_key.is_empty() {
                self.push(
                    P_DROP_CONSTRAINT,
                    vec![drop_c(&oq, &format!("{}_pkey", orig.name))],
                    vec![pk(&oq, orig)],
                );
            }
            if !n.primary_key.is_empty() {
                self.push(
                    P_ADD_CONSTRAINT,
                    vec![pk(&tq, n)],
                    vec![drop_c(&tq, &format!("{}_pkey", n.name))],
                );
            }
        }
        // Unique constraints and checks, by name.
        let add_u = |tq: &str, u: &ir::Unique| {
            format!(
                "alter table {tq} add constraint {} unique ({});",
                quote(&u.name),
                list(&u.columns)
            )
        };
        // Live-safe unique: a unique index built concurrently, then the constraint from it.
        let unique_safe = |tq: &str, u: &ir::Unique| {
            vec![
                format!(
                    "create unique index concurrently if not exists {} on {tq} using btree ({});",
                    quote(&u.name),
                    list(&u.columns)
                ),
                format!(
                    "alter table {tq} add constraint {} unique using index {};",
                    quote(&u.name),
                    quote(&u.name)
                ),
            ]
        };
        for (u, ou) in o.uniques.iter().zip(&orig.uniques) {
            if !n.uniques.contains(u) {
                if self.blocking_allowed(&format!("add unique {}", ou.name)) {
                    self.push(
                        P_DROP_CONSTRAINT,
                        vec![drop_c(&oq, &ou.name)],
                        vec![add_u(&oq, ou)],
                    );
                } else {
                    self.push(P_DROP_CONSTRAINT, vec![drop_c(&oq, &ou.name)], vec![]);
                    let back = unique_safe(&oq, ou);
                    self.push_stage(
                        Stage::Before,
                        P_DROP_CONSTRAINT,
                        P_DROP_CONSTRAINT,
                        vec![],
                        back,
                    );
                }
            }
        }
        for u in &n.uniques {
            if !o.uniques.contains(u) {
                self.note(format!("add unique {}", u.name));
                if self.blocking_allowed(&format!("add unique {}", u.name)) {
                    self.push(
                        P_ADD_CONSTRAINT,
                        vec![add_u(&tq, u)],
                        vec![drop_c(&tq, &u.name)],
                    );
                } else {
                    self.push_stage(
                        Stage::After,
                        P_ADD_CONSTRAINT,
                        P_ADD_CONSTRAINT,
                        unique_safe(&tq, u),
                        vec![drop_c(&tq, &u.name)],
                    );
                }
            }
        }
        // Checks and foreign keys on an existing table are added `not valid` (new rows only, a
        // short lock) and validated in the next migration (a scan that lets writes go on).
        let add_c = |tq: &str, c: &ir::Check, safe: bool| {
            format!(
                "alter table {tq} add constraint {} check ({}){};",
                quote(&c.name),
                c.expr,
                if safe { " not valid" } else { "" }
            )
        };
        for (c, oc) in o.checks.iter().zip(&orig.checks) {
            if !n.checks.contains(c) {
                let safe = !self.blocking_allowed(&format!("add check {}", oc.name));
                self.push(
                    P_DROP_CONSTRAINT,
                    vec![drop_c(&oq, &oc.name)],
                    vec![add_c(&oq, oc, safe)],
                );
                if safe {
                    let v = vec![validate(&oq, &oc.name)];
                    self.push_stage(
                        Stage::Before,
                        P_DROP_CONSTRAINT,
                        P_DROP_CONSTRAINT,
                        vec![],
                        v,
                    );
                }
            }
        }
        for c in &n.checks {
            if !o.checks.contains(c) {
                self.note(format!("add check {}", c.name));
                let safe = !self.blocking_allowed(&format!("add check {}", c.name));
                self.push(
                    P_ADD_CONSTRAINT,
                    vec![add_c(&tq, c, safe)],
                    vec![drop_c(&tq, &c.name)],
                );
                if safe {
                    let v = vec![validate(&tq, &c.name)];
                    self.push_stage(Stage::After, P_ADD_CONSTRAINT, P_ADD_CONSTRAINT, v, vec![]);
                }
            }
        }
        // Foreign keys.
        let add_f = |tq: &str, f: &ir::ForeignKey, safe: bool| {
            let mut s = format!(
                "alter table {tq} add constraint {} foreign key ({}) references {} ({})",
                quote(&f.name),
                list(&f.columns),
                qname(&f.target),
                list(&f.target_columns)
            );
            if f.on_delete != ir::OnDelete::NoAction {
                s.push_str(&format!(" on delete {}", f.on_delete.sql()));
            }
            if safe {
                s.push_str(" not valid");
            }
            s.push(';');
            s
        };
        for (f, of) in o.foreign_keys.iter().zip(&orig.foreign_keys) {
            if !n.foreign_keys.contains(f) {
                let safe = !self.blocking_allowed(&format!("add foreign key {}", of.name));
                self.push(
                    P_DROP_FK,
                    vec![drop_c(&oq, &of.name)],
                    vec![add_f(&oq, of, safe)],
                );
                if safe {
                    let v = vec![validate(&oq, &of.name)];
                    self.push_stage(Stage::Before, P_DROP_FK, P_DROP_FK, vec![], v);
                }
            }
        }
        for f in &n.foreign_keys {
            if !o.foreign_keys.contains(f) {
                self.note(format!("add foreign key {}", f.name));
                let safe = !self.blocking_allowed(&format!("add foreign key {}", f.name));
                self.push(
                    P_ADD_FK,
                    vec![add_f(&tq, f, safe)],
                    vec![drop_c(&tq, &f.name)],
                );
                if safe {
                    let v = vec![validate(&tq, &f.name)];
                    self.push_stage(Stage::After, P_ADD_FK, P_ADD_FK, v, vec![]);
                }
            }
        }
        // Indexes of an existing table are built and dropped `concurrently`, in migrations of
        // their own outside a transaction: drops before the main migration, builds after it.
        let drop_i = |name: &str| format!("drop index {};", qualified("public", name));
        let drop_ic = |name: &str| {
            format!(
                "drop index concurrently if exists {};",
                qualified("public", name)
            )
        };
        for (ix, oix) in o.indexes.iter().zip(&orig.indexes) {
            if !n.indexes.contains(ix) {
                if !n.indexes.iter().any(|x| x.name == ix.name) {
                    self.note(format!("drop index {}", ix.name));
                }
                if self.blocking_allowed(&format!("drop index {}", oix.name)) {
                    self.push(
                        P_DROP_INDEX,
                        vec![drop_i(&oix.name)],
                        vec![create_index(orig, oix, vs_old)],
                    );
                } else {
                    self.push_stage(
                        Stage::Before,
                        P_DROP_INDEX,
                        P_DROP_INDEX,
                        vec![drop_ic(&oix.name)],
                        vec![create_index_with(orig, oix, vs_old, true)],
                    );
                }
            }
        }
        for ix in &n.indexes {
            if !o.indexes.contains(ix) {
                self.note(format!("create index {}", ix.name));
                if self.blocking_allowed(&format!("create index {}", ix.name)) {
                    self.push(
                        P_CREATE_INDEX,
                        vec![create_index(n, ix, vs_new)],
                        vec![drop_i(&ix.name)],
                    );
                } else {
                    self.push_stage(
                        Stage::After,
                        P_CREATE_INDEX,
                        P_CREATE_INDEX,
                        vec![create_index_with(n, ix, vs_new, true)],
                        vec![drop_ic(&ix.name)],
                    );
                }
            }
        }
    }

    /// Maps a reference to a previous table/columns onto the new names (table and column renames).
    fn follow_renames(&self, target: &mut ir::QName, columns: &mut [String]) {
        if target.schema != "public" {
            return;
        }
        if let Some(n) = self
            .new
            .tables
            .iter()
            .find(|n| self.old_name_of(&n.name) == target.name && n.name != target.name)
        {
            target.name = n.name.clone();
        }
        for c in columns.iter_mut() {
            if let Some((_, _, to)) = self
                .new
                .hints
                .column_renames
                .iter()
                .find(|(t, from, _)| *t == target.name && from == c)
            {
                *c = to.clone();
            }
        }
    }

    fn helpers(&mut self) {
        let hs_new = self.new.helpers_schema.clone();
        let hs_old = self.old.helpers_schema.clone();
        let sig = |hs: &str, h: &Helper| {
            let args = match h {
                Helper::HasRole { arg_type, .. }
                | Helper::OwnerIdsWithRole { arg_type, .. }
                | Helper::OwnerBound { arg_type, .. } => types::sql(arg_type, None),
                _ => String::new(),
            };
            format!("{}({args})", qualified(hs, h.name()))
        };
        for h in &self.new.helpers {
            let mut create = vec![helper(self.new, h)];
            create.extend(helper_grants(self.new, h));
            match self
                .old
                .helpers
                .iter()
                .find(|o| o.name() == h.name() && hs_old == hs_new)
            {
                None => {
                    self.note(format!("create function {}.{}", hs_new, h.name()));
                    self.push(
                        P_HELPERS,
                        create,
                        vec![format!("drop function {};", sig(&hs_new, h))],
                    );
                }
                Some(o) if o != h || helper_grants(self.old, o) != helper_grants(self.new, h) => {
                    let mut back = vec![helper(self.old, o)];
                    back.extend(helper_grants(self.old, o));
                    if sig(&hs_old, o) == sig(&hs_new, h) {
                        self.note(format!("replace function {}.{}", hs_new, h.name()));
                        // The previous body names the previous tables: it comes back after the
                        // renames are undone.
                        self.push_split(P_HELPERS, P_RESTORE, or_replace(create), or_replace(back));
                    } else {
                        self.force_policies_using(h.name());
                        self.push_split(
                            P_DROP_FUNCTION,
                            P_RESTORE,
                            vec![format!("drop function {};", sig(&hs_old, o))],
                            back,
                        );
                        self.push(
                            P_HELPERS,
                            create,
                            vec![format!("drop function {};", sig(&hs_new, h))],
                        );
                    }
                }
                Some(_) => {}
            }
        }
        for o in &self.old.helpers {
            if !self
                .new
                .helpers
                .iter()
                .any(|h| h.name() == o.name() && hs_old == hs_new)
            {
                self.note(format!("drop function {}.{}", hs_old, o.name()));
                let mut back = vec![helper(self.old, o)];
                back.extend(helper_grants(self.old, o));
                self.push_split(
                    P_DROP_FUNCTION,
                    P_RESTORE,
                    vec![format!("drop function {};", sig(&hs_old, o))],
                    back,
                );
            }
        }
    }

    /// Policies mentioning `name` are dropped and recreated around a function's replacement.
    fn force_policies_using(&mut self, name: &str) {
        for t in &self.new.tables {
            if policies(self.new, t)
                .iter()
                .any(|p| p.sql.contains(&format!("\"{name}\"")))
            {
                self.recreate_policies.insert(t.name.clone());
            }
        }
    }

    fn functions(&mut self) {
        let vs_new = self.vs_new.clone();
        let vs_old = self.vs_old.clone();
        for f in &self.new.functions {
            let drop_new = format!(
                "drop function {};",
                function_signature(f, vs_new.as_deref())
            );
            match self
                .old
                .functions
                .iter()
                .find(|o| o.schema == f.schema && o.name == f.name)
            {
                None => {
                    self.note(format!("create function {}.{}", f.schema, f.name));
                    self.push(
                        P_FUNCTIONS,
                        function_all(f, vs_new.as_deref()),
                        vec![drop_new],
                    );
                }
                Some(o) if o != f => {
                    let same_sig = function_signature(o, vs_old.as_deref())
                        == function_signature(f, vs_new.as_deref())
                        && o.returns == f.returns;
                    if same_sig {
                        self.note(format!("replace function {}.{}", f.schema, f.name));
                        let mut up = or_replace(vec![create_function(f, vs_new.as_deref())]);
                        up.extend(function_all(f, vs_new.as_deref()).into_iter().skip(1));
                        let mut down = or_replace(vec![create_function(o, vs_old.as_deref())]);
                        down.extend(function_all(o, vs_old.as_deref()).into_iter().skip(1));
                        if o.comment.is_some() && f.comment.is_none() {
                            up.push(format!(
                                "comment on function {} is null;",
                                function_signature(f, vs_new.as_deref())
                            ));
                        }
                        // The previous body may name previous tables and columns: it comes
                        // back after the renames are undone.
                        self.push_split(P_FUNCTIONS, P_RESTORE, up, down);
                    } else {
                        self.note(format!("recreate function {}.{}", f.schema, f.name));
                        self.force_policies_using(&f.name);
                        self.push(
                            P_DROP_POLICY,
                            vec![format!(
                                "drop function {};",
                                function_signature(o, vs_old.as_deref())
                            )],
                            function_all(o, vs_old.as_deref()),
                        );
                        self.push(
                            P_FUNCTIONS,
                            function_all(f, vs_new.as_deref()),
                            vec![drop_new],
                        );
                    }
                    let _ = function_grants;
                }
                Some(_) => {}
            }
        }
        for o in &self.old.functions {
            if !self
                .new
                .functions
                .iter()
                .any(|f| f.schema == o.schema && f.name == o.name)
            {
                self.note(format!("drop function {}.{}", o.schema, o.name));
                self.push_split(
                    P_DROP_FUNCTION,
                    P_RESTORE,
                    vec![format!(
                        "drop function {};",
                        function_signature(o, vs_old.as_deref())
                    )],
                    function_all(o, vs_old.as_deref()),
                );
            }
        }
    }

    fn triggers(&mut self) {
        let create = |tr: &ir::Trigger| crate::emit::up::create_trigger(tr);
        let drop =
            |tr: &ir::Trigger| format!("drop trigger {} on {};", quote(&tr.name), qname(&tr.table));
        let dropped_tables: BTreeSet<String> = self
            .old
            .tables
            .iter()
            .filter(|t| {
                !self
                    .new
                    .tables
                    .iter()
                    .any(|n| n.name == t.name || self.old_name_of(&n.name) == t.name)
            })
            .map(|t| t.name.clone())
            .collect();
        // Previous triggers with their tables' new names: a trigger moves with its table.
        let moved: Vec<ir::Trigger> = self
            .old
            .triggers
            .iter()
            .map(|o| {
                let mut m = o.clone();
                self.follow_renames(&mut m.table, &mut []);
                m
            })
            .collect();
        for tr in &self.new.triggers {
            match self
                .old
                .triggers
                .iter()
                .zip(&moved)
                .find(|(_, m)| m.name == tr.name && m.table == tr.table)
                .map(|(o, m)| (o, m == tr))
            {
                None => {
                    self.note(format!("create trigger {}", tr.name));
                    self.push(P_TRIGGERS, vec![create(tr)], vec![drop(tr)]);
                }
                Some((o, false)) => {
                    self.note(format!("change trigger {}", tr.name));
                    self.push(P_DROP_TRIGGER, vec![drop(o)], vec![create(o)]);
                    self.push(P_TRIGGERS, vec![create(tr)], vec![drop(tr)]);
                }
                Some((_, true)) => {}
            }
        }
        for (o, m) in self.old.triggers.iter().zip(&moved) {
            if !self
                .new
                .triggers
                .iter()
                .any(|t| t.name == m.name && t.table == m.table)
            {
                self.note(format!("drop trigger {}", o.name));
                if o.table.schema == "public" && dropped_tables.contains(&o.table.name) {
                    // Dropped with its table; the table's down restores it.
                    self.push(P_DROP_TRIGGER, vec![], vec![create(o)]);
                } else {
                    self.push(P_DROP_TRIGGER, vec![drop(o)], vec![create(o)]);
                }
            }
        }
    }
}

/// Sort key of a summary line: what a reviewer would call the migration by comes first.
fn rank(s: &str) -> u8 {
    const ORDER: &[&str] = &[
        "create table",
        "drop table",
        "rename table",
        "add column",
        "drop column",
        "rename column",
        "change type",
        "create enum",
        "add values",
        "recreate enum",
        "drop enum",
        "create function",
        "replace function",
        "recreate function",
        "drop function",
        "create policy",
        "change policy",
        "drop policy",
        "create trigger",
        "change trigger",
        "drop trigger",
        "create index",
        "drop index",
        "add foreign key",
        "add unique",
        "add check",
    ];
    ORDER
        .iter()
        .position(|p| s.starts_with(p))
        .map(|i| i as u8)
        .unwrap_or(ORDER.len() as u8)
}

fn o_has_unique(name: &str, n: &Table) -> bool {
    n.uniques.iter().any(|x| x.name == name)
}

fn same_index(a: &ir::Index, b: &ir::Index) -> bool {
    a.columns == b.columns
        && a.method == b.method
        && a.opclass == b.opclass
        && a.with == b.with
        && a.unique == b.unique
        && a.where_ == b.where_
}

fn rename_column(t: &mut Table, from: &str, to: &str) {
    let r = |c: &mut String| {
        if c == from {
            *c = to.to_string();
        }
    };
    for c in t.columns.iter_mut() {
        r(&mut c.name);
    }
    t.primary_key.iter_mut().for_each(r);
    for u in t.uniques.iter_mut() {
        u.columns.iter_mut().for_each(r);
    }
    for f in t.foreign_keys.iter_mut() {
        f.columns.iter_mut().for_each(r);
    }
    for ix in t.indexes.iter_mut() {
        for c in ix.columns.iter_mut() {
            r(&mut c.name);
        }
    }
    for g in t.grants.iter_mut() {
        if let Some(cols) = g.columns.as_mut() {
            cols.iter_mut().for_each(r);
        }
    }
    for rule in t.rules.iter_mut() {
        for c in rule.conditions.iter_mut() {
            match c {
                ir::Condition::Owner { column }
                | ir::Condition::Member { column, .. }
                | ir::Condition::Parent { column, .. } => r(column),
                _ => {}
            }
        }
    }
}

fn identity_kind(k: ir::Identity) -> &'static str {
    match k {
        ir::Identity::Always => "always",
        ir::Identity::ByDefault => "by default",
    }
}

/// A column definition as in `create table` (for `add column`).
pub(crate) fn column_def(c: &ir::Column, vs: Option<&str>) -> String {
    let mut l = format!("{} {}", quote(&c.name), types::sql(&c.ty, vs));
    if let Some(id) = c.identity {
        l.push_str(&format!(" generated {} as identity", identity_kind(id)));
    }
    if let Some(g) = &c.generated {
        l.push_str(&format!(" generated always as ({g}) stored"));
    }
    if !c.nullable {
        l.push_str(" not null");
    }
    if let Some(d) = &c.default {
        l.push_str(&format!(" default {d}"));
    }
    l
}

/// `create function` -> `create or replace function` (first statement of each block).
/// `create function` -> `create or replace function`, at the start of a line only (comment lines
/// before the statement may hold any text).
pub(crate) fn or_replace(stmts: Vec<String>) -> Vec<String> {
    stmts
        .into_iter()
        .map(|s| {
            let at = if s.starts_with("create function ") {
                Some(0)
            } else {
                s.find("\ncreate function ").map(|i| i + 1)
            };
            match at {
                Some(i) => format!("{}create or replace{}", &s[..i], &s[i + "create".len()..]),
                None => s,
            }
        })
        .collect()
}

fn uses_enum(t: &SqlType, name: &str) -> bool {
    match t {
        SqlType::Enum(e) => e == name,
        SqlType::Array(i) => uses_enum(i, name),
        _ => false,
    }
}

/// Type changes that cannot fail or lose data.
fn is_widening(from: &SqlType, to: &SqlType) -> bool {
    use SqlType::*;
    match (from, to) {
        (SmallInt, Int | BigInt) | (Int, BigInt) | (Real, Double) => true,
        (Varchar(a), Varchar(b)) => b >= a,
        (Varchar(_) | Char(_), Text) => true,
        (Numeric(Some((p1, s1))), Numeric(Some((p2, s2)))) => s2 >= s1 && p2 - s2 >= p1 - s1,
        (Numeric(_), Numeric(None)) => true,
        (SmallInt | Int | BigInt, Numeric(None)) => true,
        (Json, Jsonb) => true,
        (Array(a), Array(b)) => is_widening(a, b),
        _ => false,
    }
}

/// Recreates enum `name` with `values`: every column of the type (in `schema`) is converted
/// through text, with its policies and role helpers dropped and recreated around it.
fn recreate_enum(
    schema: &Schema,
    name: &str,
    values: &[String],
    with_policies: bool,
) -> Vec<String> {
    let old = format!("{name}__schemac_old");
    let vs = vector_schema(schema);
    let mut s = Vec::new();
    let users: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| t.columns.iter().any(|c| uses_enum(&c.ty, name)))
        .collect();
    let helpers: Vec<&Helper> = schema
        .helpers
        .iter()
        .filter(|h| h.arg_type().is_some_and(|t| uses_enum(t, name)) || matches!(h, Helper::MemberKeys { role_filter: Some((_, _, t)), .. } if uses_enum(t, name)))
        .collect();
    let mut policy_tables: BTreeMap<String, &Table> = BTreeMap::new();
    for t in schema.tables.iter().filter(|_| with_policies) {
        let uses = users.iter().any(|u| u.name == t.name)
            || policies(schema, t).iter().any(|p| {
                helpers
                    .iter()
                    .any(|h| p.sql.contains(&format!("\"{}\"", h.name())))
            });
        if uses {
            policy_tables.insert(t.name.clone(), t);
        }
    }
    for t in policy_tables.values() {
        for p in policies(schema, t) {
            s.push(format!(
                "drop policy {} on {};",
                quote(&p.name),
                t_q(&t.name)
            ));
        }
    }
    for h in &helpers {
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
    s.push(format!(
        "alter type {} rename to {};",
        t_q(name),
        quote(&old)
    ));
    let vals: Vec<String> = values.iter().map(|v| literal(v)).collect();
    s.push(format!(
        "create type {} as enum ({});",
        t_q(name),
        vals.join(", ")
    ));
    for t in &users {
        for c in t.columns.iter().filter(|c| uses_enum(&c.ty, name)) {
            let cq = quote(&c.name);
            let tq = t_q(&t.name);
            if c.default.is_some() {
                s.push(format!("alter table {tq} alter column {cq} drop default;"));
            }
            let via = if matches!(c.ty, SqlType::Array(_)) {
                "text[]"
            } else {
                "text"
            };
            s.push(format!(
                "alter table {tq} alter column {cq} type {} using {cq}::{via}::{};",
                types::sql(&c.ty, vs.as_deref()),
                types::sql(&c.ty, vs.as_deref())
            ));
            if let Some(d) = &c.default {
                s.push(format!(
                    "alter table {tq} alter column {cq} set default {d};"
                ));
            }
        }
    }
    s.push(format!("drop type {};", qualified("public", &old)));
    for h in &helpers {
        s.push(helper(schema, h));
        s.extend(helper_grants(schema, h));
    }
    for t in policy_tables.values() {
        for p in policies(schema, t) {
            s.push(p.sql);
        }
    }
    s
}

/// `validate constraint`: scans the table under SHARE UPDATE EXCLUSIVE (writes go on).
fn validate(tq: &str, name: &str) -> String {
    format!("alter table {tq} validate constraint {};", quote(name))
}

/// PostgreSQL's own name for the not-null constraint of `table.column`, and the statement adding
/// it `not valid`; `None` when the name would be truncated (then the blocking form is used).
fn not_null_not_valid(table: &str, column: &str) -> Option<(String, String)> {
    let name = format!("{table}_{column}_not_null");
    (name.len() <= 63).then(|| {
        let add = format!(
            "alter table {} add constraint {} not null {} not valid;",
            t_q(table),
            quote(&name),
            quote(column)
        );
        (name, add)
    })
}

/// Sets `column` to `default` where it is null, `BACKFILL_BATCH` rows per transaction (it runs
/// outside a transaction block, so each batch commits and holds its row locks only briefly).
fn backfill(tq: &str, column: &str, default: &str) -> String {
    let cq = quote(column);
    let body = format!(
        "\ndeclare\n  n bigint;\nbegin\n  loop\n    update {tq} set {cq} = {default}\n      where ctid = any (array(select ctid from {tq} where {cq} is null limit {BACKFILL_BATCH}));\n    get diagnostics n = row_count;\n    exit when n = 0;\n    commit;\n  end loop;\nend\n"
    );
    format!("do {};", dollar_quote(&body))
}

/// `set` first when the script has a statement (not only comments).
fn with_lock_timeout(mut s: Vec<String>, set: &str) -> Vec<String> {
    if s.iter().any(|x| {
        x.lines()
            .any(|l| !l.trim().is_empty() && !l.starts_with("--"))
    }) {
        s.insert(0, set.to_string());
    }
    s
}

/// Two generated policies mean the same: same name, command and role, and the same parse trees
/// of their USING and WITH CHECK expressions (see `same_expr`).
fn same_policy(a: &crate::emit::up::Policy, b: &crate::emit::up::Policy) -> bool {
    let same_opt = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => same_expr(x, y),
        (None, None) => true,
        _ => false,
    };
    a.name == b.name
        && a.command == b.command
        && a.role == b.role
        && same_opt(&a.using, &b.using)
        && same_opt(&a.check, &b.check)
}

/// Two SQL expressions mean the same: equal sqlparser trees once redundant parentheses are
/// dropped (the tree already encodes precedence; whitespace and keyword case never reach it).
/// Text that does not parse compares as text.
fn same_expr(a: &str, b: &str) -> bool {
    a == b
        || match (expr_tree(a), expr_tree(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
}

fn expr_tree(s: &str) -> Option<sqlparser::ast::Expr> {
    use sqlparser::ast::{visit_expressions_mut, Expr};
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut e = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(s)
        .ok()?
        .parse_expr()
        .ok()?;
    let _ = visit_expressions_mut(&mut e, |e| {
        while let Expr::Nested(inner) = e {
            *e = (**inner).clone();
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::same_expr;

    #[test]
    fn expressions_compare_by_tree() {
        assert!(same_expr("(a > 1) and (b is null)", "a > 1 AND b IS NULL"));
        assert!(same_expr("((a))", "a"));
        assert!(!same_expr("(a + b) * c", "a + b * c"));
        assert!(!same_expr("a > 1", "a > 2"));
        assert!(!same_expr("a >", "a > 1"));
    }
}
