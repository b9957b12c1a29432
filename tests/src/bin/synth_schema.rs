//! Deterministic synthetic schema for benchmarks: prints an N-table app-like schema as schemac YAML
//! (default) or as the equivalent drizzle-orm TypeScript (`--format drizzle`). No randomness.
//!
//! Usage: `synth_schema [N] [--format yaml|drizzle]` (N defaults to 1000, at least 2).
//!
//! Table 0 is `profiles` (the `roles:` source, whose `role` column users cannot update). Every
//! tenth table is a membership table of the table before it; the others are owned entity tables
//! with a `user_id` owner, 1-2 foreign keys to earlier entity tables (an acyclic, deep graph),
//! mixed column types, checks, indexes, column grants and policies built from the owner, parent,
//! member, role and custom-`using` templates. Both formats come from one in-memory model, so the
//! two tools compile the same tables, foreign keys, indexes, checks and policy SQL.

use std::fmt::Write;

/// splitmix64: a fixed, tiny mixing function (deterministic "random" choices from a table index).
fn mix(i: usize, salt: u64) -> u64 {
    let mut z = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const NOUNS: &[&str] = &[
    "projects",
    "tasks",
    "notes",
    "invoices",
    "orders",
    "boards",
    "cards",
    "events",
    "tickets",
    "assets",
    "reports",
    "campaigns",
    "contacts",
    "deals",
    "files",
    "folders",
    "pages",
    "posts",
    "reviews",
    "shipments",
];

const STATUS_ENUMS: usize = 8;
const STATUS_VALUES: &[&str] = &["draft", "active", "review", "done", "archived", "failed"];

#[derive(Clone, PartialEq)]
enum Ty {
    Uuid,
    Text,
    Varchar(u32),
    Int,
    BigInt,
    Bool,
    Jsonb,
    Numeric(u32, u32),
    Timestamptz,
    Date,
    TextArray,
    Enum(String),
}

impl Ty {
    fn yaml(&self) -> String {
        match self {
            Ty::Uuid => "uuid".into(),
            Ty::Text => "text".into(),
            Ty::Varchar(n) => format!("varchar({n})"),
            Ty::Int => "int".into(),
            Ty::BigInt => "bigint".into(),
            Ty::Bool => "boolean".into(),
            Ty::Jsonb => "jsonb".into(),
            Ty::Numeric(p, s) => format!("numeric({p},{s})"),
            Ty::Timestamptz => "timestamptz".into(),
            Ty::Date => "date".into(),
            Ty::TextArray => "text[]".into(),
            Ty::Enum(e) => e.clone(),
        }
    }

    /// The drizzle-orm column builder call, e.g. `varchar('slug', { length: 80 })`.
    fn drizzle(&self, col: &str) -> String {
        match self {
            Ty::Uuid => format!("uuid('{col}')"),
            Ty::Text => format!("text('{col}')"),
            Ty::Varchar(n) => format!("varchar('{col}', {{ length: {n} }})"),
            Ty::Int => format!("integer('{col}')"),
            Ty::BigInt => format!("bigint('{col}', {{ mode: 'number' }})"),
            Ty::Bool => format!("boolean('{col}')"),
            Ty::Jsonb => format!("jsonb('{col}')"),
            Ty::Numeric(p, s) => format!("numeric('{col}', {{ precision: {p}, scale: {s} }})"),
            Ty::Timestamptz => format!("timestamp('{col}', {{ withTimezone: true }})"),
            Ty::Date => format!("date('{col}')"),
            Ty::TextArray => format!("text('{col}').array()"),
            Ty::Enum(e) => format!("{e}('{col}')"),
        }
    }
}

#[derive(Clone)]
enum Def {
    /// `gen_random_uuid()`
    RandomUuid,
    /// `now()`
    Now,
    /// `auth.uid()`
    AuthUid,
    Bool(bool),
    Int(i64),
    /// An enum value.
    EnumValue(String),
    /// Any other SQL expression.
    Sql(String),
}

impl Def {
    fn sql(&self) -> String {
        match self {
            Def::RandomUuid => "gen_random_uuid()".into(),
            Def::Now => "now()".into(),
            Def::AuthUid => "auth.uid()".into(),
            Def::Bool(b) => b.to_string(),
            Def::Int(n) => n.to_string(),
            Def::EnumValue(v) => format!("'{v}'"),
            Def::Sql(s) => s.clone(),
        }
    }

    fn drizzle(&self) -> String {
        match self {
            Def::RandomUuid => ".defaultRandom()".into(),
            Def::Now => ".defaultNow()".into(),
            Def::Bool(b) => format!(".default({b})"),
            Def::Int(n) => format!(".default({n})"),
            Def::EnumValue(v) => format!(".default('{v}')"),
            Def::AuthUid | Def::Sql(_) => format!(".default(sql`{}`)", self.sql()),
        }
    }
}

#[derive(Clone)]
struct Col {
    name: String,
    ty: Ty,
    nullable: bool,
    default: Option<Def>,
    primary_key: bool,
    unique: bool,
    check: Option<String>,
    /// Referenced table (`auth.users` or an app table) and whether deletes cascade.
    references: Option<(String, bool)>,
}

impl Col {
    fn new(name: &str, ty: Ty) -> Col {
        Col {
            name: name.into(),
            ty,
            nullable: false,
            default: None,
            primary_key: false,
            unique: false,
            check: None,
            references: None,
        }
    }
    fn null(mut self) -> Col {
        self.nullable = true;
        self
    }
    fn def(mut self, d: Def) -> Col {
        self.default = Some(d);
        self
    }
    fn check(mut self, c: &str) -> Col {
        self.check = Some(c.into());
        self
    }
}

#[derive(Clone)]
struct Index {
    /// `(column, descending)`
    columns: Vec<(String, bool)>,
    gin: bool,
    where_: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Cmd {
    All,
    Select,
    Insert,
    Update,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::All => "all",
            Cmd::Select => "select",
            Cmd::Insert => "insert",
            Cmd::Update => "update",
        }
    }
}

#[derive(Clone)]
enum Template {
    Owner(String),
    /// `parent: { column, owner }`, with the parent table (whose key is `id`).
    Parent {
        column: String,
        parent: String,
        owner: Option<String>,
    },
    /// `member: { through, column, key, roles }` (`column` None = this table's `id`).
    Member {
        through: String,
        column: Option<String>,
        key: String,
        editor_only: bool,
    },
    Admin,
    Using(String),
}

#[derive(Clone)]
struct Policy {
    name: String,
    cmd: Cmd,
    rule: Template,
}

#[derive(Clone)]
struct Table {
    name: String,
    columns: Vec<Col>,
    /// Composite primary key, when not a single `primary_key: true` column.
    composite_pk: Vec<String>,
    uniques: Vec<Vec<String>>,
    timestamps: bool,
    indexes: Vec<Index>,
    policies: Vec<Policy>,
    /// `grants.authenticated.update: [...]`
    grant_update: Vec<String>,
    /// `grants.authenticated.select: { except: [...] }`
    grant_select_except: Vec<String>,
}

struct Model {
    enums: Vec<(String, Vec<String>)>,
    tables: Vec<Table>,
}

fn is_join(i: usize) -> bool {
    i >= 10 && i % 10 == 0
}

fn entity_name(i: usize) -> String {
    format!("{}_{i:04}", NOUNS[i % NOUNS.len()])
}

fn join_name(i: usize) -> String {
    format!("members_{i:04}")
}

/// The largest entity table index `<= j` (entity tables are `1..` except every tenth).
fn entity_at_or_before(j: usize) -> usize {
    if is_join(j) {
        j - 1
    } else {
        j
    }
}

fn build(n: usize) -> Model {
    let mut enums = vec![
        (
            "app_role".to_string(),
            vec!["user".to_string(), "admin".to_string()],
        ),
        (
            "member_role".to_string(),
            vec!["viewer".to_string(), "editor".to_string()],
        ),
    ];
    for k in 0..STATUS_ENUMS {
        let count = 3 + k % 4;
        let values = (0..count)
            .map(|v| STATUS_VALUES[(k + v) % STATUS_VALUES.len()].to_string())
            .collect();
        enums.push((format!("status_{k}"), values));
    }
    let mut tables = vec![profiles()];
    for i in 1..n {
        let t = if is_join(i) {
            join_table(i)
        } else {
            entity_table(i, n, &enums)
        };
        tables.push(t);
    }
    Model { enums, tables }
}

fn profiles() -> Table {
    let mut id = Col::new("id", Ty::Uuid);
    id.primary_key = true;
    id.references = Some(("auth.users".into(), true));
    let mut username =
        Col::new("username", Ty::Text).check("char_length(username) between 3 and 40");
    username.unique = true;
    Table {
        name: "profiles".into(),
        columns: vec![
            id,
            Col::new("email", Ty::Text).null(),
            username,
            Col::new("full_name", Ty::Text).null(),
            Col::new("avatar_url", Ty::Text).null(),
            Col::new("role", Ty::Enum("app_role".into())).def(Def::EnumValue("user".into())),
        ],
        composite_pk: Vec::new(),
        uniques: Vec::new(),
        timestamps: true,
        indexes: Vec::new(),
        policies: vec![
            Policy {
                name: "users read their own profile".into(),
                cmd: Cmd::Select,
                rule: Template::Owner("id".into()),
            },
            Policy {
                name: "admins read all profiles".into(),
                cmd: Cmd::Select,
                rule: Template::Admin,
            },
            Policy {
                name: "users edit their own profile".into(),
                cmd: Cmd::Update,
                rule: Template::Owner("id".into()),
            },
        ],
        // Never `role`: a user who could update it could make themselves admin.
        grant_update: vec!["username".into(), "full_name".into(), "avatar_url".into()],
        grant_select_except: Vec::new(),
    }
}

/// Membership table of entity table `i - 1`.
fn join_table(i: usize) -> Table {
    let parent = entity_name(i - 1);
    let key = format!("{parent}_id");
    let mut k = Col::new(&key, Ty::Uuid);
    k.references = Some((parent.clone(), true));
    let mut u = Col::new("user_id", Ty::Uuid);
    u.references = Some(("auth.users".into(), true));
    Table {
        name: join_name(i),
        columns: vec![
            k,
            u,
            Col::new("role", Ty::Enum("member_role".into())).def(Def::EnumValue("viewer".into())),
            Col::new("created_at", Ty::Timestamptz).def(Def::Now),
        ],
        composite_pk: vec![key.clone(), "user_id".into()],
        uniques: Vec::new(),
        timestamps: false,
        indexes: Vec::new(),
        policies: vec![
            Policy {
                name: "owners of the parent manage members".into(),
                cmd: Cmd::All,
                rule: Template::Parent {
                    column: key,
                    parent,
                    owner: Some("user_id".into()),
                },
            },
            Policy {
                name: "members see their own membership".into(),
                cmd: Cmd::Select,
                rule: Template::Owner("user_id".into()),
            },
        ],
        grant_update: vec!["role".into()],
        grant_select_except: Vec::new(),
    }
}

fn entity_table(i: usize, n: usize, enums: &[(String, Vec<String>)]) -> Table {
    let name = entity_name(i);
    let h = |salt: u64| mix(i, salt);
    let mut id = Col::new("id", Ty::Uuid).def(Def::RandomUuid);
    id.primary_key = true;
    let mut owner = Col::new("user_id", Ty::Uuid).def(Def::AuthUid);
    owner.references = Some(("auth.users".into(), true));
    let mut columns = vec![id, owner];
    // Foreign keys to earlier entity tables: the previous one (a deep chain) and sometimes a
    // far earlier one.
    let mut parents: Vec<usize> = Vec::new();
    if i >= 4 {
        parents.push(entity_at_or_before(i - 1 - (h(1) % 3) as usize));
        if h(2) % 3 == 0 {
            let far = entity_at_or_before(1 + (h(3) as usize) % (i - 1));
            if far != 0 && !parents.contains(&far) {
                parents.push(far);
            }
        }
    }
    for (k, p) in parents.iter().enumerate() {
        let pname = entity_name(*p);
        let mut c = Col::new(&format!("{pname}_id"), Ty::Uuid);
        if k == 0 {
            c.references = Some((pname, true));
        } else {
            c.nullable = true;
            c.references = Some((pname, false));
        }
        columns.push(c);
    }
    // Extra columns from a pool, so that tables have 5 to 12 columns before timestamps.
    let status_enum = &enums[2 + i % STATUS_ENUMS];
    let pool: Vec<Col> = vec![
        Col::new("title", Ty::Text).check("char_length(title) between 1 and 200"),
        Col::new("description", Ty::Text).null(),
        Col::new("status", Ty::Enum(status_enum.0.clone()))
            .def(Def::EnumValue(status_enum.1[0].clone())),
        Col::new("is_public", Ty::Bool).def(Def::Bool(false)),
        Col::new("slug", Ty::Varchar(80)),
        Col::new("metadata", Ty::Jsonb).def(Def::Sql("'{}'::jsonb".into())),
        Col::new("amount", Ty::Numeric(12, 2))
            .def(Def::Int(0))
            .check("amount >= 0"),
        Col::new("position", Ty::Int).def(Def::Int(0)),
        Col::new("due_on", Ty::Date).null(),
        Col::new("archived_at", Ty::Timestamptz).null(),
        Col::new("tags", Ty::TextArray).def(Def::Sql("'{}'".into())),
        Col::new("view_count", Ty::BigInt)
            .def(Def::Int(0))
            .check("view_count >= 0"),
        Col::new("secret_token", Ty::Text).null(),
        {
            let mut c = Col::new("external_ref", Ty::Text).null();
            c.unique = true;
            c
        },
    ];
    let extra = 3 + (h(4) % 6) as usize; // 3..8, so 5..12 columns in all
    let start = (h(5) as usize) % pool.len();
    // Always `title`; then a window of the pool.
    columns.push(pool[0].clone());
    for k in 0..extra - 1 {
        let c = &pool[1 + (start + k) % (pool.len() - 1)];
        columns.push(c.clone());
    }
    let has = |cols: &[Col], c: &str| cols.iter().any(|x| x.name == c);
    let timestamps = i % 3 == 1;
    let mut uniques = Vec::new();
    if has(&columns, "slug") {
        uniques.push(vec!["user_id".to_string(), "slug".to_string()]);
    }
    let mut indexes = Vec::new();
    if timestamps {
        indexes.push(Index {
            columns: vec![("user_id".into(), false), ("created_at".into(), true)],
            gin: false,
            where_: None,
        });
    }
    if has(&columns, "status") && h(6) % 2 == 0 {
        indexes.push(Index {
            columns: vec![("status".into(), false)],
            gin: false,
            where_: None,
        });
    }
    if has(&columns, "archived_at") {
        indexes.push(Index {
            columns: vec![("title".into(), false)],
            gin: false,
            where_: Some("archived_at is null".into()),
        });
    }
    if has(&columns, "metadata") && h(7) % 3 == 0 {
        indexes.push(Index {
            columns: vec![("metadata".into(), false)],
            gin: true,
            where_: None,
        });
    }
    // Policies.
    let mut policies = vec![Policy {
        name: "owners have full access".into(),
        cmd: Cmd::All,
        rule: Template::Owner("user_id".into()),
    }];
    if let Some(p) = parents.first() {
        let pname = entity_name(*p);
        let column = format!("{pname}_id");
        policies.push(Policy {
            name: "readable with the parent".into(),
            cmd: Cmd::Select,
            rule: Template::Parent {
                column: column.clone(),
                parent: pname.clone(),
                owner: None,
            },
        });
        if h(8) % 4 == 0 {
            policies.push(Policy {
                name: "the parent owner adds rows".into(),
                cmd: Cmd::Insert,
                rule: Template::Parent {
                    column: column.clone(),
                    parent: pname.clone(),
                    owner: Some("user_id".into()),
                },
            });
        }
        // Members of the parent read, when the parent has a membership table.
        if is_join(p + 1) && p + 1 < n {
            policies.push(Policy {
                name: "members of the parent read".into(),
                cmd: Cmd::Select,
                rule: Template::Member {
                    through: join_name(p + 1),
                    column: Some(column.clone()),
                    key: column.clone(),
                    editor_only: false,
                },
            });
        }
    }
    // This table's own members (its membership table is the next one).
    if is_join(i + 1) && i + 1 < n {
        let key = format!("{name}_id");
        policies.push(Policy {
            name: "members read".into(),
            cmd: Cmd::Select,
            rule: Template::Member {
                through: join_name(i + 1),
                column: None,
                key: key.clone(),
                editor_only: false,
            },
        });
        policies.push(Policy {
            name: "editor members update".into(),
            cmd: Cmd::Update,
            rule: Template::Member {
                through: join_name(i + 1),
                column: None,
                key,
                editor_only: true,
            },
        });
    }
    if i % 4 == 0 {
        policies.push(Policy {
            name: "admins read".into(),
            cmd: Cmd::Select,
            rule: Template::Admin,
        });
    }
    if i % 5 == 2 && has(&columns, "is_public") {
        let cond = if has(&columns, "archived_at") {
            "is_public and archived_at is null"
        } else {
            "is_public = true"
        };
        policies.push(Policy {
            name: "public rows are readable".into(),
            cmd: Cmd::Select,
            rule: Template::Using(cond.into()),
        });
    } else if i % 5 == 3 {
        if let Some(p) = parents.first() {
            let pname = entity_name(*p);
            policies.push(Policy {
                name: "owners of the parent read".into(),
                cmd: Cmd::Select,
                rule: Template::Using(format!(
                    "{pname}_id in (select p.id from {pname} p where p.user_id = auth.uid())"
                )),
            });
        }
    }
    // Column grants.
    let mut grant_update = Vec::new();
    if i % 3 == 0 {
        grant_update = columns
            .iter()
            .filter(|c| !c.primary_key && c.references.is_none() && c.name != "secret_token")
            .map(|c| c.name.clone())
            .collect();
    }
    let grant_select_except = if has(&columns, "secret_token") {
        vec!["secret_token".to_string()]
    } else {
        Vec::new()
    };
    Table {
        name,
        columns,
        composite_pk: Vec::new(),
        uniques,
        timestamps,
        indexes,
        policies,
        grant_update,
        grant_select_except,
    }
}

/// A YAML double-quoted string.
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn yaml(m: &Model) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Synthetic {}-table schema written by tests/src/bin/synth_schema.rs (benchmarks).",
        m.tables.len()
    );
    o.push_str("target: supabase\n\n");
    o.push_str("roles: { table: profiles, column: role, user_column: id }\n\n");
    o.push_str("enums:\n");
    for (name, values) in &m.enums {
        let _ = writeln!(o, "  {name}: [{}]", values.join(", "));
    }
    o.push_str("\ntables:\n");
    for t in &m.tables {
        let _ = writeln!(o, "  {}:", t.name);
        if t.timestamps {
            o.push_str("    timestamps: true\n");
        }
        o.push_str("    columns:\n");
        for c in &t.columns {
            let mut parts = vec![format!(
                "type: {}",
                q(&format!(
                    "{}{}",
                    c.ty.yaml(),
                    if c.nullable { "?" } else { "" }
                ))
            )];
            if c.primary_key {
                parts.push("primary_key: true".into());
            }
            if let Some(d) = &c.default {
                parts.push(format!("default: {}", q(&d.sql())));
            }
            if c.unique {
                parts.push("unique: true".into());
            }
            if let Some(ch) = &c.check {
                parts.push(format!("check: {}", q(ch)));
            }
            if let Some((target, cascade)) = &c.references {
                parts.push(format!("references: {target}"));
                parts.push(format!(
                    "on_delete: {}",
                    if *cascade { "cascade" } else { "set null" }
                ));
            }
            let _ = writeln!(o, "      {}: {{ {} }}", c.name, parts.join(", "));
        }
        if !t.composite_pk.is_empty() {
            let _ = writeln!(o, "    primary_key: [{}]", t.composite_pk.join(", "));
        }
        if !t.uniques.is_empty() {
            let u: Vec<String> = t
                .uniques
                .iter()
                .map(|u| format!("[{}]", u.join(", ")))
                .collect();
            let _ = writeln!(o, "    unique: [{}]", u.join(", "));
        }
        if !t.indexes.is_empty() {
            o.push_str("    indexes:\n");
            for ix in &t.indexes {
                let cols: Vec<String> = ix
                    .columns
                    .iter()
                    .map(|(c, d)| if *d { format!("{c} desc") } else { c.clone() })
                    .collect();
                let mut parts = vec![format!("columns: [{}]", cols.join(", "))];
                if ix.gin {
                    parts.push("using: gin".into());
                }
                if let Some(w) = &ix.where_ {
                    parts.push(format!("where: {}", q(w)));
                }
                let _ = writeln!(o, "      - {{ {} }}", parts.join(", "));
            }
        }
        o.push_str("    policies:\n");
        for p in &t.policies {
            let mut parts = vec![
                format!("name: {}", q(&p.name)),
                format!("for: {}", p.cmd.name()),
            ];
            match &p.rule {
                Template::Owner(c) => parts.push(format!("owner: {c}")),
                Template::Parent { column, owner, .. } => match owner {
                    Some(o) => parts.push(format!("parent: {{ column: {column}, owner: {o} }}")),
                    None => parts.push(format!("parent: {{ column: {column} }}")),
                },
                Template::Member {
                    through,
                    column,
                    key,
                    editor_only,
                } => {
                    let mut m = vec![format!("through: {through}")];
                    if let Some(c) = column {
                        m.push(format!("column: {c}"));
                    }
                    m.push(format!("key: {key}"));
                    if *editor_only {
                        m.push("roles: [editor]".into());
                    }
                    parts.push(format!("member: {{ {} }}", m.join(", ")));
                }
                Template::Admin => parts.push("role: admin".into()),
                Template::Using(u) => parts.push(format!("using: {}", q(u))),
            }
            let _ = writeln!(o, "      - {{ {} }}", parts.join(", "));
        }
        if !t.grant_update.is_empty() || !t.grant_select_except.is_empty() {
            o.push_str("    grants:\n      authenticated:\n");
            if !t.grant_select_except.is_empty() {
                let _ = writeln!(
                    o,
                    "        select: {{ except: [{}] }}",
                    t.grant_select_except.join(", ")
                );
            }
            if !t.grant_update.is_empty() {
                let _ = writeln!(o, "        update: [{}]", t.grant_update.join(", "));
            }
        }
    }
    o
}

/// The SQL schemac writes for one template (so drizzle gets the same USING / WITH CHECK).
fn template_sql(t: &Template) -> String {
    match t {
        Template::Owner(c) => format!("\"{c}\" = (select auth.uid())"),
        Template::Parent {
            column,
            parent,
            owner,
        } => {
            let mut sub = format!("select \"id\" from \"public\".\"{parent}\"");
            if let Some(o) = owner {
                let _ = write!(sub, " where \"{o}\" = (select auth.uid())");
            }
            format!("\"{column}\" = any (array({sub}))")
        }
        Template::Member {
            through,
            column,
            key,
            editor_only,
        } => {
            let helper = format!(
                "{through}_{key}s{}",
                if *editor_only { "_editor" } else { "" }
            );
            format!(
                "\"{}\" = any ((select \"private\".\"{helper}\"()))",
                column.as_deref().unwrap_or("id")
            )
        }
        Template::Admin => "(select \"private\".\"has_role\"('admin'))".into(),
        Template::Using(u) => u.replace("auth.uid()", "(select auth.uid())"),
    }
}

/// A TypeScript identifier for a table.
fn ts(name: &str) -> String {
    format!("t_{name}")
}

fn drizzle(m: &Model) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "// Synthetic {}-table schema written by tests/src/bin/synth_schema.rs (benchmarks).",
        m.tables.len()
    );
    o.push_str(
        "import { sql } from 'drizzle-orm';\n\
         import { pgSchema, pgTable, pgEnum, pgPolicy, uuid, text, varchar, integer, bigint, boolean, jsonb, numeric, timestamp, date, index, uniqueIndex, unique, check, primaryKey } from 'drizzle-orm/pg-core';\n\n\
         // auth.users is Supabase's; not exported, so drizzle-kit only references it.\n\
         const auth = pgSchema('auth');\n\
         const authUsers = auth.table('users', { id: uuid('id').primaryKey() });\n\n",
    );
    for (name, values) in &m.enums {
        let v: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
        let _ = writeln!(
            o,
            "export const {name} = pgEnum('{name}', [{}]);",
            v.join(", ")
        );
    }
    o.push('\n');
    for t in &m.tables {
        let _ = writeln!(o, "export const {} = pgTable('{}', {{", ts(&t.name), t.name);
        let mut cols = t.columns.clone();
        if t.timestamps {
            cols.push(Col::new("created_at", Ty::Timestamptz).def(Def::Now));
            cols.push(Col::new("updated_at", Ty::Timestamptz).def(Def::Now));
        }
        for c in &cols {
            let mut s = c.ty.drizzle(&c.name);
            if c.primary_key {
                s.push_str(".primaryKey()");
            } else if !c.nullable {
                s.push_str(".notNull()");
            }
            if let Some(d) = &c.default {
                s.push_str(&d.drizzle());
            }
            if c.unique {
                let _ = write!(s, ".unique('{}_{}_key')", t.name, c.name);
            }
            if let Some((target, cascade)) = &c.references {
                let target = if target == "auth.users" {
                    "authUsers".to_string()
                } else {
                    ts(target)
                };
                let _ = write!(
                    s,
                    ".references(() => {target}.id, {{ onDelete: '{}' }})",
                    if *cascade { "cascade" } else { "set null" }
                );
            }
            let _ = writeln!(o, "  {}: {s},", c.name);
        }
        o.push_str("}, (t) => [\n");
        if !t.composite_pk.is_empty() {
            let c: Vec<String> = t.composite_pk.iter().map(|c| format!("t.{c}")).collect();
            let _ = writeln!(
                o,
                "  primaryKey({{ name: '{}_pkey', columns: [{}] }}),",
                t.name,
                c.join(", ")
            );
        }
        for u in &t.uniques {
            let c: Vec<String> = u.iter().map(|c| format!("t.{c}")).collect();
            let _ = writeln!(
                o,
                "  unique('{}_{}_key').on({}),",
                t.name,
                u.join("_"),
                c.join(", ")
            );
        }
        for c in &cols {
            if let Some(ch) = &c.check {
                let _ = writeln!(o, "  check('{}_{}_check', sql`{ch}`),", t.name, c.name);
            }
        }
        for ix in &t.indexes {
            let name = format!(
                "{}_{}_idx",
                t.name,
                ix.columns
                    .iter()
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join("_")
            );
            let cols: Vec<String> = ix
                .columns
                .iter()
                .map(|(c, d)| {
                    if *d {
                        format!("t.{c}.desc()")
                    } else {
                        format!("t.{c}")
                    }
                })
                .collect();
            let mut s = if ix.gin {
                format!("index('{name}').using('gin', {})", cols.join(", "))
            } else {
                format!("index('{name}').on({})", cols.join(", "))
            };
            if let Some(w) = &ix.where_ {
                let _ = write!(s, ".where(sql`{w}`)");
            }
            let _ = writeln!(o, "  {s},");
        }
        // The indexes schemac adds by itself (foreign key and policy columns not yet covered).
        for col in auto_indexed(t) {
            let _ = writeln!(o, "  index('{}_{col}_idx').on(t.{col}),", t.name);
        }
        for (k, p) in t.policies.iter().enumerate() {
            let cond = template_sql(&p.rule);
            let clauses = match p.cmd {
                Cmd::Select => format!("using: sql`{cond}`"),
                Cmd::Insert => format!("withCheck: sql`{cond}`"),
                Cmd::All | Cmd::Update => format!("using: sql`{cond}`, withCheck: sql`{cond}`"),
            };
            let _ = writeln!(
                o,
                "  pgPolicy('{}_{k}', {{ as: 'permissive', for: '{}', to: 'authenticated', {clauses} }}),",
                t.name,
                p.cmd.name()
            );
        }
        o.push_str("]).enableRLS();\n\n");
    }
    o
}

/// Columns schemac indexes automatically: foreign key and policy columns whose lookup no primary
/// key, unique constraint or declared btree index already starts with.
fn auto_indexed(t: &Table) -> Vec<String> {
    let mut wanted: Vec<String> = Vec::new();
    for c in &t.columns {
        if c.references.is_some() {
            wanted.push(c.name.clone());
        }
    }
    for p in &t.policies {
        match &p.rule {
            Template::Owner(c) => wanted.push(c.clone()),
            Template::Parent { column, .. } => wanted.push(column.clone()),
            Template::Member { column, .. } => {
                wanted.push(column.clone().unwrap_or_else(|| "id".into()))
            }
            _ => {}
        }
    }
    let pk_first = if t.composite_pk.is_empty() {
        t.columns
            .iter()
            .find(|c| c.primary_key)
            .map(|c| c.name.clone())
    } else {
        t.composite_pk.first().cloned()
    };
    let mut out: Vec<String> = Vec::new();
    for w in wanted {
        let covered = pk_first.as_deref() == Some(w.as_str())
            || t.uniques.iter().any(|u| u.first() == Some(&w))
            || t.columns.iter().any(|c| c.unique && c.name == w)
            || t.indexes.iter().any(|ix| {
                !ix.gin && ix.where_.is_none() && ix.columns.first().map(|c| &c.0) == Some(&w)
            });
        if !covered && !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

fn main() {
    let mut n = 1000usize;
    let mut format = "yaml".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--format" => format = args.next().unwrap_or_default(),
            "-h" | "--help" => {
                println!("usage: synth_schema [N] [--format yaml|drizzle]");
                return;
            }
            other => match other.parse::<usize>() {
                Ok(v) if v >= 2 => n = v,
                _ => {
                    eprintln!("synth_schema: expected a table count of at least 2 or `--format yaml|drizzle`, got `{other}`");
                    std::process::exit(2);
                }
            },
        }
    }
    let model = build(n);
    let text = match format.as_str() {
        "yaml" => yaml(&model),
        "drizzle" => drizzle(&model),
        other => {
            eprintln!("synth_schema: unknown format `{other}` (yaml or drizzle)");
            std::process::exit(2);
        }
    };
    print!("{text}");
}
