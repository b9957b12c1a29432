//! Resolution and checking: `syntax::File` -> `ir::Schema`. Every user error becomes a diagnostic
//! with a span, a path and a help line; the stage keeps going to report as much as it can.

use crate::diag::{backticked, help_for, Code, Diagnostic, Diagnostics};
use crate::expr::{self, Scope};
use crate::ir::{self, Command, Condition, DbRole, QName, SqlType};
use crate::source::Span;
use crate::sql::ident::is_safe_ident;
use crate::syntax::{self as syn, Name, Spanned};
use crate::types;
use std::collections::{BTreeMap, BTreeSet};

/// Columns of `auth.users` that app schemas may reference (Supabase's auth.users).
pub const AUTH_USERS_COLUMNS: &[(&str, SqlType)] = &[
    ("instance_id", SqlType::Uuid),
    ("id", SqlType::Uuid),
    ("aud", SqlType::Varchar(255)),
    ("role", SqlType::Varchar(255)),
    ("email", SqlType::Varchar(255)),
    ("encrypted_password", SqlType::Varchar(255)),
    ("email_confirmed_at", SqlType::Timestamptz),
    ("phone", SqlType::Text),
    ("phone_confirmed_at", SqlType::Timestamptz),
    ("last_sign_in_at", SqlType::Timestamptz),
    ("raw_app_meta_data", SqlType::Jsonb),
    ("raw_user_meta_data", SqlType::Jsonb),
    ("created_at", SqlType::Timestamptz),
    ("updated_at", SqlType::Timestamptz),
    ("banned_until", SqlType::Timestamptz),
    ("deleted_at", SqlType::Timestamptz),
    ("is_sso_user", SqlType::Boolean),
    ("is_anonymous", SqlType::Boolean),
];

const RESERVED_SCHEMAS: &[&str] = &[
    "public",
    "auth",
    "extensions",
    "storage",
    "realtime",
    "pg_catalog",
    "information_schema",
];
const VECTOR_OPCLASSES: &[&str] = &[
    "vector_l2_ops",
    "vector_ip_ops",
    "vector_cosine_ops",
    "vector_l1_ops",
];

/// Shortens a generated name to PostgreSQL's 63 bytes deterministically (prefix + hash).
pub fn fit_name(name: String) -> String {
    if name.len() <= 63 {
        return name;
    }
    let mut cut = 54;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{}", &name[..cut], short_hash(&name))
}

/// The first 8 hex digits of the SHA-256 of `text`: a stable suffix that tells names apart.
pub fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

struct Lower<'d> {
    diags: &'d mut Diagnostics,
    enums: Vec<ir::Enum>,
    vector_schema: Option<String>,
    helpers_schema: String,
    helpers: BTreeMap<String, ir::Helper>,
    /// Declared tables by name -> (columns with types), filled before anything resolves references.
    table_cols: BTreeMap<String, Vec<(String, SqlType)>>,
    table_pks: BTreeMap<String, Vec<String>>,
    declared_functions: Vec<String>,
    hints: ir::Hints,
    /// Canonical SQL of the expressions that cannot refer to columns (defaults), by (text, what),
    /// with the functions in scope when checked: see `column_expr`.
    constant_exprs: BTreeMap<(String, String), (Vec<String>, String)>,
    /// `schema.name` of every helper (see `helper_functions`), with the helper count and schema
    /// it was built for.
    helper_functions: (usize, String, Vec<String>),
}

pub fn lower(file: &syn::File, diags: &mut Diagnostics) -> ir::Schema {
    let mut l = Lower {
        diags,
        enums: Vec::new(),
        vector_schema: None,
        helpers_schema: "private".into(),
        helpers: BTreeMap::new(),
        table_cols: BTreeMap::new(),
        table_pks: BTreeMap::new(),
        declared_functions: Vec::new(),
        hints: ir::Hints::default(),
        constant_exprs: BTreeMap::new(),
        helper_functions: (0, String::new(), Vec::new()),
    };
    l.run(file)
}

impl Lower<'_> {
    fn error(
        &mut self,
        code: Code,
        span: Span,
        path: &str,
        msg: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(code, span, path, msg).help(help));
    }

    /// Checks a user-chosen SQL name: safe characters and at most 63 bytes.
    fn ident(&mut self, name: &Name, path: &str, what: &str) -> bool {
        if name.value.len() > 63 {
            self.error(
                Code::IdentTooLong,
                name.span,
                path,
                format!(
                    "{what} `{}...` is {} bytes long; PostgreSQL truncates names to 63",
                    name.value.chars().take(20).collect::<String>(),
                    name.value.len()
                ),
                "choose a shorter name (at most 63 bytes)",
            );
            return false;
        }
        if !is_safe_ident(&name.value) {
            // `UserNotes` -> `user_notes`, `notes; drop` -> `notes_drop`.
            let mut snake = String::new();
            let mut prev_lower = false;
            for c in name.value.chars() {
                if c.is_ascii_uppercase() && prev_lower {
                    snake.push('_');
                }
                prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
                snake.push(c.to_ascii_lowercase());
            }
            let suggestion: String = snake
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
                .split('_')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            self.error(
                Code::InvalidIdent,
                name.span,
                path,
                format!("{what} `{}` is not a valid name", name.value.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect::<String>()),
                format!(
                    "names use lower-case letters, digits and `_`, and do not start with a digit (e.g. `{}`)",
                    if suggestion.is_empty() || suggestion.starts_with(|c: char| c.is_ascii_digit()) { format!("_{suggestion}") } else { suggestion }
                ),
            );
            return false;
        }
        true
    }

    fn parse_type(&mut self, ty: &Name, path: &str) -> Option<SqlType> {
        // Borrowed (not cloned) for every column: errors below go to `self.diags` directly.
        let refs: Vec<&str> = self.enums.iter().map(|e| e.name.as_str()).collect();
        match types::parse(&ty.value, &refs) {
            Ok(t) => {
                if contains_vector(&t) && self.vector_schema.is_none() {
                    self.diags.push(
                        Diagnostic::error(
                            Code::UnknownType,
                            ty.span,
                            path,
                            format!("type `{}` needs the `vector` extension", ty.value),
                        )
                        .help("add `extensions: [{ name: vector, schema: extensions }]`"),
                    );
                    return None;
                }
                Some(t)
            }
            Err(types::TypeError::Unknown(t)) => {
                let mut cands: Vec<&str> = types::BUILTIN.to_vec();
                cands.extend(refs.iter().copied());
                let bare: Vec<&str> = cands
                    .iter()
                    .map(|c| c.split('(').next().unwrap_or(c))
                    .collect();
                // Names other languages use for PostgreSQL types (`string` is `text`, ...).
                const ALIASES: &[(&str, &str)] = &[
                    ("string", "text"),
                    ("datetime", "timestamptz"),
                    ("float", "double precision"),
                    ("long", "bigint"),
                    ("number", "numeric"),
                    ("guid", "uuid"),
                    ("bool", "boolean"),
                ];
                let alias = crate::diag::did_you_mean(
                    &t.to_ascii_lowercase(),
                    ALIASES.iter().map(|(a, _)| *a),
                )
                .and_then(|a| ALIASES.iter().find(|(x, _)| *x == a))
                .map(|(_, real)| *real);
                let help = match crate::diag::did_you_mean(&t, bare.iter().copied()).or(alias) {
                    Some(s) => format!("did you mean `{s}`? types: {}", backticked(&cands)),
                    None => format!("types: {}", backticked(&cands)),
                };
                self.diags.push(
                    Diagnostic::error(
                        Code::UnknownType,
                        ty.span,
                        path,
                        format!("unknown type `{t}`"),
                    )
                    .help(help),
                );
                None
            }
            Err(types::TypeError::BadArgs(msg)) => {
                self.diags.push(
                    Diagnostic::error(
                        Code::UnknownType,
                        ty.span,
                        path,
                        format!("invalid type `{}`: {msg}", ty.value),
                    )
                    .help("e.g. `varchar(80)`, `numeric(10, 2)`, `vector(384)`"),
                );
                None
            }
        }
    }

    fn run(&mut self, f: &syn::File) -> ir::Schema {
        let target = match f.target.as_ref().map(|t| t.value.as_str()) {
            None | Some("supabase") => ir::Target::Supabase,
            Some("postgres") => {
                let t = f.target.as_ref().expect("some");
                self.error(
                    Code::InvalidValue,
                    t.span,
                    "target",
                    "target `postgres` is not supported yet: the generated SQL relies on Supabase's roles \
                     (`anon`, `authenticated`, `service_role`), `auth.uid()` and the `supabase_realtime` publication",
                    "use `target: supabase` (the default); for a plain PostgreSQL, create those roles and functions first \
                     (schemac's test harness shows how: schema-pg/sql/platform.sql)",
                );
                ir::Target::Postgres
            }
            Some(other) => {
                let t = f.target.as_ref().expect("some");
                self.error(
                    Code::InvalidValue,
                    t.span,
                    "target",
                    format!("unknown target `{other}`"),
                    help_for(other, "targets", &["supabase", "postgres"]),
                );
                ir::Target::Supabase
            }
        };
        if let Some(h) = &f.helpers_schema {
            if self.ident(h, "helpers_schema", "schema") {
                if RESERVED_SCHEMAS.contains(&h.value.as_str()) {
                    self.error(Code::ReservedName, h.span, "helpers_schema", format!("`{}` cannot hold schemac's helpers", h.value), "helpers must live in a schema the data API does not expose, e.g. `private`");
                } else {
                    self.helpers_schema = h.value.clone();
                }
            }
        }
        // Extensions.
        let mut extensions = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, e) in f.extensions.iter().enumerate() {
            let path = format!("extensions[{i}]");
            if !self.ident(&e.name, &path, "extension") {
                continue;
            }
            if !seen.insert(e.name.value.clone()) {
                self.error(
                    Code::DuplicateName,
                    e.name.span,
                    &path,
                    format!("extension `{}` is listed twice", e.name.value),
                    "list each extension once",
                );
                continue;
            }
            let schema = match &e.schema {
                Some(s) if self.ident(s, &format!("{path}.schema"), "schema") => {
                    Some(s.value.clone())
                }
                Some(_) => None,
                None if target == ir::Target::Supabase => Some("extensions".to_string()),
                None => None,
            };
            if e.name.value == "vector" {
                self.vector_schema = Some(schema.clone().unwrap_or_else(|| "public".into()));
            }
            extensions.push(ir::Extension {
                name: e.name.value.clone(),
                schema,
            });
        }
        // Enums.
        for e in &f.enums {
            let path = format!("enums.{}", e.name.value);
            if !self.ident(&e.name, &path, "enum") {
                continue;
            }
            if self.enums.iter().any(|x| x.name == e.name.value) {
                self.error(
                    Code::DuplicateName,
                    e.name.span,
                    &path,
                    format!("enum `{}` is declared twice", e.name.value),
                    "rename one of them",
                );
                continue;
            }
            let mut values: Vec<String> = Vec::new();
            for v in &e.values {
                if v.value.is_empty()
                    || v.value.len() > 63
                    || v.value.chars().any(|c| c.is_control())
                {
                    self.error(
                        Code::InvalidValue,
                        v.span,
                        &path,
                        format!("enum value `{}` is not valid", v.value.escape_debug()),
                        "enum values are 1 to 63 bytes of printable text",
                    );
                } else if values.contains(&v.value) {
                    self.error(
                        Code::DuplicateName,
                        v.span,
                        &path,
                        format!("enum value `{}` is listed twice", v.value),
                        "list each value once",
                    );
                } else {
                    values.push(v.value.clone());
                }
            }
            if e.values.is_empty() {
                self.error(
                    Code::MissingKey,
                    e.name.span,
                    &path,
                    format!("enum `{}` has no values", e.name.value),
                    "write `name: [value1, value2]`",
                );
            }
            self.enums.push(ir::Enum {
                name: e.name.value.clone(),
                values,
                comment: e.comment.clone(),
            });
        }
        // Pass 1 over tables: names, columns and types, so later references resolve in any order.
        let mut prepared: Vec<(&syn::Table, Vec<ir::Column>)> = Vec::new();
        for t in &f.tables {
            let path = format!("tables.{}", t.name.value);
            if !self.ident(&t.name, &path, "table") {
                continue;
            }
            if self.table_cols.contains_key(&t.name.value) {
                self.error(
                    Code::DuplicateName,
                    t.name.span,
                    &path,
                    format!("table `{}` is declared twice", t.name.value),
                    "rename one of them",
                );
                continue;
            }
            if self.enums.iter().any(|e| e.name == t.name.value) {
                self.error(
                    Code::DuplicateName,
                    t.name.span,
                    &path,
                    format!("`{}` is both a table and an enum", t.name.value),
                    "tables and types share one namespace in PostgreSQL; rename one",
                );
                continue;
            }
            let cols = self.columns(t, &path);
            self.table_cols.insert(
                t.name.value.clone(),
                cols.iter()
                    .map(|c| (c.name.clone(), c.ty.clone()))
                    .collect(),
            );
            let pk = self.primary_key(t, &path);
            self.table_pks.insert(t.name.value.clone(), pk);
            prepared.push((t, cols));
        }
        // Functions are declared before tables are finished so policies may call them.
        for func in &f.functions {
            let schema = func
                .schema
                .as_ref()
                .map(|s| s.value.clone())
                .unwrap_or_else(|| "public".into());
            self.declared_functions
                .push(format!("{schema}.{}", func.name.value));
        }
        for t in &f.tables {
            if let Some(from) = &t.renamed_from {
                if self.ident(
                    from,
                    &format!("tables.{}.renamed_from", t.name.value),
                    "table",
                ) {
                    self.hints
                        .table_renames
                        .push((from.value.clone(), t.name.value.clone()));
                }
            }
        }
        self.hints.allow_destructive = f
            .allow_destructive
            .iter()
            .map(|a| {
                a.value
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_lowercase()
            })
            .collect();
        self.hints.allow_blocking = f
            .allow_blocking
            .iter()
            .map(|a| {
                a.value
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_lowercase()
            })
            .collect();
        if let Some(lt) = &f.lock_timeout {
            if crate::diff::valid_lock_timeout(&lt.value) {
                self.hints.lock_timeout = Some(lt.value.clone());
            } else {
                self.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        lt.span,
                        "lock_timeout",
                        format!("`{}` is not a lock timeout", lt.value),
                    )
                    .help("write a whole number of `ms`, `s` or `min`, e.g. `lock_timeout: 5s`"),
                );
            }
        }
        let role_source = f.roles.as_ref().and_then(|r| self.role_source(r));
        let mut tables = Vec::new();
        for (t, cols) in prepared {
            let table = self.table(t, cols, role_source.as_ref());
            tables.push((t, table));
        }
        self.auto_indexes_on_join_tables(&mut tables);
        if let Some(rs) = &role_source {
            self.check_role_source_locked(rs, &tables, f.roles.as_ref());
        }
        self.check_relation_names(&tables);
        // "owner or admin" rules become one indexable condition through a helper.
        if let Some(ir::RoleSource::Column { .. }) = &role_source {
            let foldable = tables.iter().any(|(_, t)| {
                Command::ALL
                    .iter()
                    .any(|c| t.foldable_owner_role(*c, DbRole::Authenticated).is_some())
            });
            if let (
                true,
                Some(ir::Helper::HasRole {
                    table,
                    column,
                    user_column,
                    arg_type,
                    ..
                }),
            ) = (foldable, self.helpers.get("has_role"))
            {
                let bounds = [
                    ("owner_min_with_role", false),
                    ("owner_max_with_role", true),
                ]
                .map(|(name, upper)| ir::Helper::OwnerBound {
                    name: name.into(),
                    table: table.clone(),
                    column: column.clone(),
                    user_column: user_column.clone(),
                    arg_type: arg_type.clone(),
                    upper,
                });
                for h in bounds {
                    self.helpers.insert(h.name().to_string(), h);
                }
            }
        }
        let tables = self.toposort(tables);
        let functions = f
            .functions
            .iter()
            .filter_map(|func| self.function(func))
            .collect::<Vec<_>>();
        let triggers = f
            .triggers
            .iter()
            .filter_map(|tr| self.trigger(tr, &functions, &tables))
            .collect::<Vec<_>>();
        let seed = self.seed(&f.seed, &tables);
        if tables.iter().any(|t| t.timestamps) {
            let name = "set_updated_at".to_string();
            self.helpers
                .insert(name.clone(), ir::Helper::SetUpdatedAt { name });
        }
        ir::Schema {
            target,
            helpers_schema: self.helpers_schema.clone(),
            extensions,
            enums: std::mem::take(&mut self.enums),
            tables,
            role_source,
            helpers: std::mem::take(&mut self.helpers).into_values().collect(),
            functions,
            triggers,
            seed,
            emitter: ir::EMITTER,
            hints: std::mem::take(&mut self.hints),
        }
    }

    fn columns(&mut self, t: &syn::Table, path: &str) -> Vec<ir::Column> {
        let mut cols: Vec<ir::Column> = Vec::new();
        for c in &t.columns {
            let cpath = format!("{path}.columns.{}", c.name.value);
            if !self.ident(&c.name, &cpath, "column") {
                continue;
            }
            if cols.iter().any(|x| x.name == c.name.value) {
                self.error(
                    Code::DuplicateName,
                    c.name.span,
                    &cpath,
                    format!("column `{}` is declared twice", c.name.value),
                    "rename one of them",
                );
                continue;
            }
            let (ty_text, opt) = match c.ty.value.trim().strip_suffix('?') {
                Some(s) => (s.to_string(), true),
                None => (c.ty.value.clone(), false),
            };
            let Some(ty) =
                self.parse_type(&Spanned::new(ty_text, c.ty.span), &format!("{cpath}.type"))
            else {
                continue;
            };
            let nullable = match (&c.nullable, opt) {
                (Some(n), true) if !n.value => {
                    self.error(
                        Code::InvalidValue,
                        n.span,
                        &cpath,
                        "`?` on the type says nullable but `nullable: false` says not",
                        "write one of them",
                    );
                    false
                }
                (Some(n), _) => n.value,
                (None, o) => o,
            };
            cols.push(ir::Column {
                name: c.name.value.clone(),
                ty,
                nullable,
                default: None,
                identity: None,
                generated: None,
                comment: c.comment.clone(),
            });
        }
        if t.timestamps.as_ref().is_some_and(|b| b.value) {
            for name in ["created_at", "updated_at"] {
                if cols.iter().any(|c| c.name == name) {
                    let span = t.timestamps.as_ref().map(|b| b.span).unwrap_or_default();
                    self.error(
                        Code::DuplicateName,
                        span,
                        &format!("{path}.timestamps"),
                        format!("`timestamps: true` adds `{name}`, which is already declared"),
                        format!("remove the `{name}` column or `timestamps: true`"),
                    );
                } else {
                    cols.push(ir::Column {
                        name: name.into(),
                        ty: SqlType::Timestamptz,
                        nullable: false,
                        default: Some("now()".into()),
                        identity: None,
                        generated: None,
                        comment: None,
                    });
                }
            }
        }
        cols
    }

    fn primary_key(&mut self, t: &syn::Table, path: &str) -> Vec<String> {
        let flagged: Vec<&syn::Column> = t.columns.iter().filter(|c| c.primary_key).collect();
        let known = self
            .table_cols
            .get(&t.name.value)
            .cloned()
            .unwrap_or_default();
        let names: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
        match (&t.primary_key, flagged.as_slice()) {
            (Some(pk), []) => {
                let mut out = Vec::new();
                for c in &pk.value {
                    if names.contains(&c.value.as_str()) {
                        out.push(c.value.clone());
                    } else {
                        self.error(
                            Code::UnknownColumn,
                            c.span,
                            &format!("{path}.primary_key"),
                            format!(
                                "unknown column `{}` in primary key of `{}`",
                                c.value, t.name.value
                            ),
                            help_for(&c.value, "columns are", &names),
                        );
                    }
                }
                out
            }
            (Some(pk), _) => {
                self.error(Code::DuplicateName, pk.span, &format!("{path}.primary_key"), format!("table `{}` declares its primary key twice", t.name.value), "use either `primary_key: true` on one column or `primary_key: [a, b]` on the table");
                Vec::new()
            }
            (None, [one]) => vec![one.name.value.clone()],
            (None, []) => {
                self.error(Code::NoPrimaryKey, t.name.span, path, format!("table `{}` has no primary key", t.name.value), "add `primary_key: true` to a column (e.g. `id: { type: uuid, primary_key: true, default: gen_random_uuid() }`) or `primary_key: [a, b]`");
                Vec::new()
            }
            (None, many) => {
                self.error(
                    Code::DuplicateName,
                    many[1].name.span,
                    path,
                    format!(
                        "table `{}` marks {} columns `primary_key: true`",
                        t.name.value,
                        many.len()
                    ),
                    format!(
                        "for a composite key write `primary_key: [{}]` on the table",
                        many.iter()
                            .map(|c| c.name.value.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                Vec::new()
            }
        }
    }

    fn lookup(&self) -> impl Fn(&str) -> Option<Vec<String>> + '_ {
        move |name: &str| {
            self.table_cols
                .get(name)
                .map(|cols| cols.iter().map(|(c, _)| c.clone()).collect())
        }
    }

    fn functions_in_scope(&self) -> Vec<String> {
        let mut v = self.declared_functions.clone();
        v.push(format!("{}.has_role", self.helpers_schema));
        v
    }

    /// `schema.name` of every helper, in name order. Helpers are only ever added (by name, which
    /// is their key), so the list is rebuilt only when their number or schema changed.
    fn helper_functions(&mut self) -> &[String] {
        let (count, schema, _) = &self.helper_functions;
        if *count != self.helpers.len() || *schema != self.helpers_schema {
            let names = self
                .helpers
                .values()
                .map(|h| format!("{}.{}", self.helpers_schema, h.name()))
                .collect();
            self.helper_functions = (self.helpers.len(), self.helpers_schema.clone(), names);
        }
        &self.helper_functions.2
    }

    fn column_expr(
        &mut self,
        text: &Name,
        path: &str,
        table: &str,
        what: &str,
        allow_columns: bool,
    ) -> Option<String> {
        let functions = self.functions_in_scope();
        // An expression that cannot refer to columns checks the same in every table, so each
        // distinct one is parsed and checked once. Only successes are kept (they add no
        // diagnostic); anything else is checked again where it is written, for its diagnostics.
        let key = (!allow_columns).then(|| (text.value.clone(), what.to_string()));
        if let Some((f, sql)) = key.as_ref().and_then(|k| self.constant_exprs.get(k)) {
            if *f == functions {
                return Some(sql.clone());
            }
        }
        let col_refs: Vec<&str> = self
            .table_cols
            .get(table)
            .map(|c| c.iter().map(|(n, _)| n.as_str()).collect())
            .unwrap_or_default();
        let lookup = |_: &str| None;
        let scope = Scope {
            table: Some((table, col_refs)),
            lookup_table: &lookup,
            functions: &functions,
            params: &[],
            allow_columns,
            allow_subqueries: false,
            wrap_auth: false,
            forbid_user_metadata: false,
            what,
        };
        let sql = expr::check(text, path, &scope, self.diags);
        if let (Some(key), Some(sql)) = (key, &sql) {
            self.constant_exprs
                .insert(key, (functions.clone(), sql.clone()));
        }
        sql
    }

    /// Checks an expression that may use constants and functions but no columns or subqueries
    /// (argument defaults, seed `$sql` values).
    fn constant_expr(&mut self, text: &Name, path: &str, what: &str) -> Option<String> {
        let lookup = |_: &str| None;
        let functions = self.functions_in_scope();
        let scope = Scope {
            table: None,
            lookup_table: &lookup,
            functions: &functions,
            params: &[],
            allow_columns: false,
            allow_subqueries: false,
            wrap_auth: false,
            forbid_user_metadata: false,
            what,
        };
        expr::check(text, path, &scope, self.diags)
    }

    fn table(
        &mut self,
        t: &syn::Table,
        mut cols: Vec<ir::Column>,
        role_source: Option<&ir::RoleSource>,
    ) -> ir::Table {
        let name = t.name.value.clone();
        let path = format!("tables.{name}");
        let pk = self.table_pks.get(&name).cloned().unwrap_or_default();
        let mut checks = Vec::new();
        let mut uniques = Vec::new();
        let mut fks = Vec::new();
        // Column details that need the whole schema: defaults, checks, FKs, identity, generated.
        for c in &t.columns {
            let cpath = format!("{path}.columns.{}", c.name.value);
            let Some(ci) = cols.iter().position(|x| x.name == c.name.value) else {
                continue;
            };
            if let Some(d) = &c.default {
                let text = if d.value.is_empty() { None } else { Some(d) };
                if let Some(d) = text {
                    cols[ci].default =
                        self.column_expr(d, &format!("{cpath}.default"), &name, "default", false);
                }
            }
            if let Some(from) = &c.renamed_from {
                if self.ident(from, &format!("{cpath}.renamed_from"), "column") {
                    self.hints.column_renames.push((
                        name.clone(),
                        from.value.clone(),
                        c.name.value.clone(),
                    ));
                }
            }
            if let Some(u) = &c.using {
                if let Some(e) =
                    self.column_expr(u, &format!("{cpath}.using"), &name, "type conversion", true)
                {
                    self.hints
                        .usings
                        .push((name.clone(), c.name.value.clone(), e));
                }
            }
            if let Some(g) = &c.generated {
                if c.default.is_some() {
                    self.error(
                        Code::InvalidValue,
                        g.span,
                        &cpath,
                        "a generated column cannot also have a default",
                        "remove `default` or `generated`",
                    );
                }
                cols[ci].generated = self.column_expr(
                    g,
                    &format!("{cpath}.generated"),
                    &name,
                    "generated column",
                    true,
                );
            }
            if let Some(id) = &c.identity {
                let ok_type = matches!(
                    cols[ci].ty,
                    SqlType::SmallInt | SqlType::Int | SqlType::BigInt
                );
                let kind = match id.value.as_str() {
                    "always" => Some(ir::Identity::Always),
                    "by_default" | "by default" => Some(ir::Identity::ByDefault),
                    other => {
                        self.error(
                            Code::InvalidValue,
                            id.span,
                            &cpath,
                            format!("unknown identity kind `{other}`"),
                            help_for(other, "write", &["always", "by_default"]),
                        );
                        None
                    }
                };
                if !ok_type {
                    self.error(
                        Code::TypeMismatch,
                        id.span,
                        &cpath,
                        format!("identity column `{}` must be an integer type", c.name.value),
                        "use `bigint` (or `int`, `smallint`) for identity columns",
                    );
                } else if c.default.is_some() {
                    self.error(
                        Code::InvalidValue,
                        id.span,
                        &cpath,
                        "an identity column cannot also have a default",
                        "remove `default`",
                    );
                } else {
                    cols[ci].identity = kind;
                }
            }
            if c.unique {
                uniques.push(ir::Unique {
                    name: fit_name(format!("{name}_{}_key", c.name.value)),
                    columns: vec![c.name.value.clone()],
                });
            }
            if let Some(ch) = &c.check {
                if let Some(e) = self.column_expr(
                    ch,
                    &format!("{cpath}.check"),
                    &name,
                    "check constraint",
                    true,
                ) {
                    checks.push(ir::Check {
                        name: fit_name(format!("{name}_{}_check", c.name.value)),
                        expr: e,
                    });
                }
            }
            if let Some(r) = &c.references {
                if let Some(fk) = self.foreign_key(
                    &name,
                    &cols,
                    std::slice::from_ref(&c.name),
                    r,
                    c.on_delete.as_ref(),
                    &cpath,
                ) {
                    fks.push(fk);
                }
            } else if let Some(od) = &c.on_delete {
                self.error(
                    Code::InvalidValue,
                    od.span,
                    &cpath,
                    "`on_delete` without `references`",
                    "add `references: table` or remove `on_delete`",
                );
            }
        }
        let colnames: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
        let colrefs: Vec<&str> = colnames.iter().map(|s| s.as_str()).collect();
        for u in &t.uniques {
            let mut names = Vec::new();
            for c in &u.value {
                if colrefs.contains(&c.value.as_str()) {
                    names.push(c.value.clone());
                } else {
                    self.error(
                        Code::UnknownColumn,
                        c.span,
                        &format!("{path}.unique"),
                        format!(
                            "unknown column `{}` in unique constraint of `{name}`",
                            c.value
                        ),
                        help_for(&c.value, "columns are", &colrefs),
                    );
                }
            }
            if names.len() == u.value.len() && !names.is_empty() {
                uniques.push(ir::Unique {
                    name: fit_name(format!("{name}_{}_key", names.join("_"))),
                    columns: names,
                });
            }
        }
        for ch in &t.checks {
            let cpath = format!("{path}.checks.{}", ch.name.value);
            if !self.ident(&ch.name, &cpath, "check") {
                continue;
            }
            if let Some(e) = self.column_expr(&ch.expr, &cpath, &name, "check constraint", true) {
                checks.push(ir::Check {
                    name: ch.name.value.clone(),
                    expr: e,
                });
            }
        }
        for (i, fk) in t.foreign_keys.iter().enumerate() {
            let fpath = format!("{path}.foreign_keys[{i}]");
            let mut ok = true;
            for c in &fk.columns {
                if !colrefs.contains(&c.value.as_str()) {
                    ok = false;
                    self.error(
                        Code::UnknownColumn,
                        c.span,
                        &fpath,
                        format!("unknown column `{}` in foreign key of `{name}`", c.value),
                        help_for(&c.value, "columns are", &colrefs),
                    );
                }
            }
            if fk.columns.is_empty() {
                ok = false;
                self.error(
                    Code::MissingKey,
                    fk.span,
                    &fpath,
                    "a foreign key needs `columns`",
                    "add `columns: [a, b]`",
                );
            }
            if ok {
                if let Some(f) = self.foreign_key(
                    &name,
                    &cols,
                    &fk.columns,
                    &fk.references,
                    fk.on_delete.as_ref(),
                    &fpath,
                ) {
                    fks.push(f);
                }
            }
        }
        let mut indexes = Vec::new();
        for (i, ix) in t.indexes.iter().enumerate() {
            if let Some(index) = self.index(&name, &cols, ix, &format!("{path}.indexes[{i}]")) {
                indexes.push(index);
            }
        }
        let rls = match &t.rls {
            Some(b) if !b.value => {
                self.diags.push(
                    Diagnostic::warning(Code::RlsDisabled, b.span, format!("{path}.rls"), format!("row level security is disabled on `{name}`: every role with a grant sees every row"))
                        .help("remove `rls: false` and declare `policies:` unless the table is truly public"),
                );
                false
            }
            _ => true,
        };
        let mut rules = Vec::new();
        for p in &t.policies {
            self.policy(&name, &cols, &pk, &fks, p, role_source, &mut rules);
        }
        if !rls && !t.policies.is_empty() {
            self.error(
                Code::PolicyTemplate,
                t.policies[0].span,
                &path,
                format!("`{name}` has policies but `rls: false`: they would never apply"),
                "remove `rls: false`",
            );
        }
        let grants = self.grants(&name, &cols, &rules, &t.grants, &path);
        let realtime = t
            .realtime
            .as_ref()
            .filter(|r| r.enabled)
            .map(|r| ir::Realtime {
                replica_identity_full: r.replica_identity_full,
            });
        // Indexes schemac adds: every foreign key and every column a policy filters on, unless an
        // index (or the primary key, or a unique constraint) already starts with it.
        let mut wanted: Vec<(String, String)> = Vec::new();
        for fk in &fks {
            wanted.push((fk.columns[0].clone(), "foreign key".into()));
        }
        for r in &rules {
            for c in &r.conditions {
                match c {
                    Condition::Owner { column }
                    | Condition::Member { column, .. }
                    | Condition::Parent { column, .. } => {
                        wanted.push((column.clone(), "policy".into()))
                    }
                    _ => {}
                }
            }
        }
        for (col, reason) in wanted {
            let covered = pk.first() == Some(&col)
                || uniques.iter().any(|u| u.columns.first() == Some(&col))
                || indexes.iter().any(|ix: &ir::Index| {
                    ix.columns.first().map(|c| &c.name) == Some(&col)
                        && ix.where_.is_none()
                        && ix.method == ir::IndexMethod::Btree
                });
            if !covered {
                indexes.push(ir::Index {
                    name: fit_name(format!("{name}_{col}_idx")),
                    columns: vec![ir::IndexColumn {
                        name: col.clone(),
                        desc: false,
                        nulls_first: None,
                    }],
                    method: ir::IndexMethod::Btree,
                    opclass: None,
                    with: Vec::new(),
                    unique: false,
                    where_: None,
                    reason: Some(format!("{reason} column")),
                });
            }
        }
        // Two declared indexes with one name: a user error; sort for stable output.
        let mut seen = BTreeSet::new();
        for ix in &indexes {
            if !seen.insert(ix.name.clone()) {
                self.error(
                    Code::DuplicateName,
                    Span::SYNTHETIC,
                    &format!("{path}.indexes"),
                    format!("two indexes on `{name}` are named `{}`", ix.name),
                    "give one of them another `name`",
                );
            }
        }
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        let _ = role_source;
        ir::Table {
            name,
            comment: t.comment.clone(),
            columns: cols,
            primary_key: pk,
            uniques,
            checks,
            foreign_keys: fks,
            indexes,
            timestamps: t.timestamps.as_ref().is_some_and(|b| b.value),
            realtime,
            rls,
            rules,
            grants,
        }
    }

    /// Resolves `table`, `table(col, ...)`, `auth.users`, `auth.users(id)`.
    fn foreign_key(
        &mut self,
        table: &str,
        cols: &[ir::Column],
        from: &[Name],
        target: &Name,
        on_delete: Option<&Name>,
        path: &str,
    ) -> Option<ir::ForeignKey> {
        let text = target.value.trim();
        let (rel, target_cols): (&str, Option<Vec<String>>) = match text.find('(') {
            Some(i) if text.ends_with(')') => (
                text[..i].trim(),
                Some(
                    text[i + 1..text.len() - 1]
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect(),
                ),
            ),
            Some(_) => {
                self.error(
                    Code::InvalidValue,
                    target.span,
                    path,
                    format!("cannot read reference `{text}`"),
                    "write `table`, `table(column)` or `auth.users(id)`",
                );
                return None;
            }
            None => (text, None),
        };
        let (qname, target_columns): (QName, Vec<(String, SqlType)>) = match rel.split_once('.') {
            Some(("auth", "users")) => (
                QName::new("auth", "users"),
                AUTH_USERS_COLUMNS
                    .iter()
                    .map(|(n, t)| (n.to_string(), t.clone()))
                    .collect(),
            ),
            Some(("public", t)) | Some(("", t)) if self.table_cols.contains_key(t) => {
                (QName::public(t), self.table_cols[t].clone())
            }
            None if self.table_cols.contains_key(rel) => {
                (QName::public(rel), self.table_cols[rel].clone())
            }
            _ => {
                let mut names: Vec<&str> = self.table_cols.keys().map(|s| s.as_str()).collect();
                names.push("auth.users");
                self.error(
                    Code::UnknownTable,
                    target.span,
                    path,
                    format!("foreign key to unknown table `{rel}`"),
                    help_for(rel, "tables are", &names),
                );
                return None;
            }
        };
        let tcols = match target_cols {
            Some(c) => c,
            None if qname.schema == "auth" => vec!["id".to_string()],
            None => self.table_pks.get(&qname.name).cloned().unwrap_or_default(),
        };
        let names: Vec<&str> = target_columns.iter().map(|(n, _)| n.as_str()).collect();
        let mut types = Vec::new();
        for c in &tcols {
            match target_columns.iter().find(|(n, _)| n == c) {
                Some((_, t)) => types.push(t.clone()),
                None => {
                    self.error(
                        Code::UnknownColumn,
                        target.span,
                        path,
                        format!("unknown column `{c}` in foreign key target `{rel}`"),
                        help_for(c, &format!("columns of `{rel}` are"), &names),
                    );
                    return None;
                }
            }
        }
        if tcols.len() != from.len() {
            self.error(
                Code::ForeignKeyMismatch,
                target.span,
                path,
                format!(
                    "foreign key has {} column(s) but `{rel}` key has {}",
                    from.len(),
                    tcols.len()
                ),
                "name as many target columns as source columns: `table(a, b)`",
            );
            return None;
        }
        for (f, tt) in from.iter().zip(&types) {
            if let Some(c) = cols.iter().find(|c| c.name == f.value) {
                if !same_key_type(&c.ty, tt) {
                    self.error(Code::ForeignKeyMismatch, f.span, path, format!("`{table}.{}` is `{}` but references a `{}` column", f.value, types::sql(&c.ty, None), types::sql(tt, None)), format!("a foreign key column has the type of the column it references: make `{}` a `{}`", f.value, types::sql(tt, None)));
                    return None;
                }
            }
        }
        let on_delete = match on_delete.map(|o| (o, o.value.to_ascii_lowercase())) {
            None => ir::OnDelete::NoAction,
            Some((o, v)) => match v.replace('_', " ").as_str() {
                "cascade" => ir::OnDelete::Cascade,
                "set null" => {
                    for f in from {
                        if cols.iter().any(|c| c.name == f.value && !c.nullable) {
                            self.error(
                                Code::ForeignKeyMismatch,
                                o.span,
                                path,
                                format!("`on_delete: set null` but `{}` is not nullable", f.value),
                                format!(
                                    "make `{}` nullable (`type: ...?` or `nullable: true`)",
                                    f.value
                                ),
                            );
                        }
                    }
                    ir::OnDelete::SetNull
                }
                "restrict" => ir::OnDelete::Restrict,
                "no action" => ir::OnDelete::NoAction,
                "set default" => ir::OnDelete::SetDefault,
                other => {
                    self.error(
                        Code::InvalidValue,
                        o.span,
                        path,
                        format!("unknown `on_delete` action `{other}`"),
                        help_for(
                            other,
                            "actions",
                            &[
                                "cascade",
                                "set null",
                                "restrict",
                                "no action",
                                "set default",
                            ],
                        ),
                    );
                    ir::OnDelete::NoAction
                }
            },
        };
        let names: Vec<String> = from.iter().map(|n| n.value.clone()).collect();
        Some(ir::ForeignKey {
            name: fit_name(format!("{table}_{}_fkey", names.join("_"))),
            columns: names,
            target: qname,
            target_columns: tcols,
            on_delete,
        })
    }

    fn index(
        &mut self,
        table: &str,
        cols: &[ir::Column],
        ix: &syn::Index,
        path: &str,
    ) -> Option<ir::Index> {
        let colrefs: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let mut columns = Vec::new();
        for c in &ix.columns {
            let words: Vec<String> = c
                .value
                .split_whitespace()
                .map(|w| w.to_ascii_lowercase())
                .collect();
            let Some(first) = words.first() else { continue };
            if !colrefs.contains(&first.as_str()) {
                self.error(
                    Code::UnknownColumn,
                    c.span,
                    path,
                    format!("unknown column `{first}` in index on `{table}`"),
                    help_for(first, "columns are", &colrefs),
                );
                continue;
            }
            let rest: Vec<&str> = words[1..].iter().map(|s| s.as_str()).collect();
            let (desc, nulls_first) = match rest.as_slice() {
                [] | ["asc"] => (false, None),
                ["desc"] => (true, None),
                ["nulls", "first"] | ["asc", "nulls", "first"] => (false, Some(true)),
                ["nulls", "last"] | ["asc", "nulls", "last"] => (false, Some(false)),
                ["desc", "nulls", "first"] => (true, Some(true)),
                ["desc", "nulls", "last"] => (true, Some(false)),
                _ => {
                    self.error(
                        Code::InvalidValue,
                        c.span,
                        path,
                        format!("cannot read index column `{}`", c.value),
                        "write `column`, `column desc` or `column desc nulls last`",
                    );
                    continue;
                }
            };
            columns.push(ir::IndexColumn {
                name: first.clone(),
                desc,
                nulls_first,
            });
        }
        if columns.len() != ix.columns.len() || columns.is_empty() {
            return None;
        }
        let method = match ix.using.as_ref().map(|u| (u, u.value.to_ascii_lowercase())) {
            None => ir::IndexMethod::Btree,
            Some((u, m)) => match m.as_str() {
                "btree" => ir::IndexMethod::Btree,
                "hash" => ir::IndexMethod::Hash,
                "gin" => ir::IndexMethod::Gin,
                "gist" => ir::IndexMethod::Gist,
                "brin" => ir::IndexMethod::Brin,
                "hnsw" => ir::IndexMethod::Hnsw,
                "ivfflat" => ir::IndexMethod::Ivfflat,
                other => {
                    self.error(
                        Code::IndexMethod,
                        u.span,
                        path,
                        format!("unknown index method `{other}`"),
                        help_for(
                            other,
                            "methods",
                            &["btree", "hash", "gin", "gist", "brin", "hnsw", "ivfflat"],
                        ),
                    );
                    return None;
                }
            },
        };
        let first_ty = cols
            .iter()
            .find(|c| c.name == columns[0].name)
            .map(|c| c.ty.clone());
        let vector = matches!(method, ir::IndexMethod::Hnsw | ir::IndexMethod::Ivfflat);
        if vector {
            if !matches!(first_ty, Some(SqlType::Vector(_))) || columns.len() != 1 {
                let msg = match (&first_ty, columns.len()) {
                    (Some(t), 1) => format!(
                        "a `{}` index needs a `vector(n)` column, but `{}` is `{}`",
                        method.sql(),
                        columns[0].name,
                        types::sql(t, None)
                    ),
                    _ => format!(
                        "a `{}` index needs exactly one `vector(n)` column",
                        method.sql()
                    ),
                };
                self.error(Code::IndexMethod, ix.span, path, msg, "index the embedding column alone, or use `btree` (the default) for other columns");
                return None;
            }
            match &ix.opclass {
                Some(o) if VECTOR_OPCLASSES.contains(&o.value.as_str()) => {}
                Some(o) => {
                    self.error(
                        Code::IndexMethod,
                        o.span,
                        path,
                        format!("unknown vector operator class `{}`", o.value),
                        help_for(&o.value, "operator classes", VECTOR_OPCLASSES),
                    );
                    return None;
                }
                None => {
                    self.error(Code::IndexMethod, ix.span, path, format!("a `{}` index needs an `opclass` matching the distance the queries use", method.sql()), "add `opclass: vector_cosine_ops` for `<=>` (cosine distance), `vector_l2_ops` for `<->`, `vector_ip_ops` for `<#>`");
                    return None;
                }
            }
        } else if matches!(first_ty, Some(SqlType::Vector(_))) {
            self.error(
                Code::IndexMethod,
                ix.span,
                path,
                "a btree index on a vector column does not speed up similarity search",
                "use `using: hnsw` with `opclass: vector_cosine_ops`",
            );
            return None;
        }
        if let Some(o) = &ix.opclass {
            if !vector && !self.ident(o, &format!("{path}.opclass"), "operator class") {
                return None;
            }
        }
        let allowed_params: &[&str] = match method {
            ir::IndexMethod::Hnsw => &["m", "ef_construction"],
            ir::IndexMethod::Ivfflat => &["lists"],
            ir::IndexMethod::Gin => &["fastupdate", "gin_pending_list_limit"],
            ir::IndexMethod::Btree => &["fillfactor", "deduplicate_items"],
            _ => &["fillfactor"],
        };
        let mut with = Vec::new();
        for (k, v) in &ix.with {
            if !allowed_params.contains(&k.value.as_str()) {
                self.error(
                    Code::UnknownKey,
                    k.span,
                    path,
                    format!(
                        "unknown parameter `{}` for a `{}` index",
                        k.value,
                        method.sql()
                    ),
                    help_for(&k.value, "parameters", allowed_params),
                );
                continue;
            }
            let ok = v.value.parse::<u32>().is_ok()
                || matches!(v.value.as_str(), "true" | "false" | "on" | "off");
            if !ok {
                self.error(
                    Code::InvalidValue,
                    v.span,
                    path,
                    format!(
                        "index parameter `{}` must be a number or a boolean, not `{}`",
                        k.value, v.value
                    ),
                    "e.g. `with: { m: 16, ef_construction: 64 }`",
                );
                continue;
            }
            with.push((k.value.clone(), v.value.clone()));
        }
        let where_ = match &ix.where_ {
            Some(w) => Some(self.column_expr(
                w,
                &format!("{path}.where"),
                table,
                "index predicate",
                true,
            )?),
            None => None,
        };
        let name = match &ix.name {
            Some(n) if self.ident(n, &format!("{path}.name"), "index") => n.value.clone(),
            Some(_) => return None,
            None => fit_name(format!(
                "{table}_{}_idx",
                columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join("_")
            )),
        };
        Some(ir::Index {
            name,
            columns,
            method,
            opclass: ix.opclass.as_ref().map(|o| o.value.clone()),
            with,
            unique: ix.unique,
            where_,
            reason: None,
        })
    }

    fn role_source(&mut self, r: &syn::RoleSource) -> Option<ir::RoleSource> {
        match r {
            syn::RoleSource::Jwt { path } => {
                let parts: Vec<String> = path.value.split('.').map(|s| s.to_string()).collect();
                if parts.first().map(|s| s.as_str()) != Some("app_metadata")
                    || parts.len() < 2
                    || parts.iter().any(|p| !is_safe_ident(p))
                {
                    let msg = if path.value.contains("user_metadata") {
                        "roles cannot come from `user_metadata`: every user can edit their own"
                    } else {
                        "a JWT role source must be a path under `app_metadata`"
                    };
                    self.diags.push(Diagnostic::error(Code::RoleSource, path.span, "roles.jwt", msg).help("write `jwt: app_metadata.role` (set by your server through the auth admin API)"));
                    return None;
                }
                Some(ir::RoleSource::Jwt { path: parts })
            }
            syn::RoleSource::Column {
                table,
                column,
                user_column,
                span,
            } => {
                let Some(cols) = self.table_cols.get(&table.value).cloned() else {
                    let names: Vec<&str> = self.table_cols.keys().map(|s| s.as_str()).collect();
                    self.error(
                        Code::UnknownTable,
                        table.span,
                        "roles.table",
                        format!("unknown table `{}` for roles", table.value),
                        help_for(&table.value, "tables are", &names),
                    );
                    return None;
                };
                let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
                let Some((_, cty)) = cols.iter().find(|(n, _)| *n == column.value) else {
                    self.error(
                        Code::UnknownColumn,
                        column.span,
                        "roles.column",
                        format!("unknown column `{}` in `{}`", column.value, table.value),
                        help_for(&column.value, "columns are", &names),
                    );
                    return None;
                };
                let enum_type = match cty {
                    SqlType::Enum(e) => Some(e.clone()),
                    SqlType::Text | SqlType::Varchar(_) => None,
                    other => {
                        self.error(
                            Code::RoleSource,
                            column.span,
                            "roles.column",
                            format!(
                                "role column `{}` is `{}`",
                                column.value,
                                types::sql(other, None)
                            ),
                            "use an enum (e.g. `app_role`) or text",
                        );
                        return None;
                    }
                };
                let uc = user_column.as_ref().map(|u| u.value.clone()).or_else(|| {
                    self.table_pks
                        .get(&table.value)
                        .and_then(|pk| (pk.len() == 1).then(|| pk[0].clone()))
                });
                let Some(uc) = uc else {
                    self.error(
                        Code::RoleSource,
                        *span,
                        "roles",
                        "cannot tell which column of the role table holds the user id",
                        "add `user_column: id`",
                    );
                    return None;
                };
                match cols.iter().find(|(n, _)| *n == uc) {
                    Some((_, SqlType::Uuid)) => {}
                    Some(_) => {
                        self.error(
                            Code::OwnerNotUuid,
                            *span,
                            "roles.user_column",
                            format!("`{}.{uc}` is not a uuid", table.value),
                            "the user column holds `auth.users.id` (uuid)",
                        );
                        return None;
                    }
                    None => {
                        self.error(
                            Code::UnknownColumn,
                            *span,
                            "roles.user_column",
                            format!("unknown column `{uc}` in `{}`", table.value),
                            help_for(&uc, "columns are", &names),
                        );
                        return None;
                    }
                }
                let arg_type = cty.clone();
                self.helpers.insert(
                    "has_role".into(),
                    ir::Helper::HasRole {
                        name: "has_role".into(),
                        table: table.value.clone(),
                        column: column.value.clone(),
                        user_column: uc.clone(),
                        arg_type,
                    },
                );
                Some(ir::RoleSource::Column {
                    table: table.value.clone(),
                    column: column.value.clone(),
                    user_column: uc,
                    enum_type,
                })
            }
        }
    }

    /// The role column must not be writable by the roles whose role it decides.
    fn check_role_source_locked(
        &mut self,
        rs: &ir::RoleSource,
        tables: &[(&syn::Table, ir::Table)],
        src: Option<&syn::RoleSource>,
    ) {
        let ir::RoleSource::Column { table, column, .. } = rs else {
            return;
        };
        let span = match src {
            Some(syn::RoleSource::Column { column, .. }) => column.span,
            _ => Span::SYNTHETIC,
        };
        let Some((st, t)) = tables.iter().find(|(_, t)| &t.name == table) else {
            return;
        };
        for g in &t.grants {
            if g.role == DbRole::ServiceRole
                || !matches!(g.command, Command::Insert | Command::Update)
            {
                continue;
            }
            let writable = g.columns.as_ref().is_none_or(|cols| cols.contains(column));
            if writable {
                // Point at the role column in the user's grant when they wrote one, else at `roles:`.
                let decl = st
                    .grants
                    .iter()
                    .find(|d| d.role.value == g.role.name() && d.command.value == g.command.sql());
                let restrict = format!("restrict the grant, e.g. `grants: {{ {}: {{ {}: [columns users may change] }} }}` on `{table}`, without `{column}`", g.role.name(), g.command.sql());
                let (span, path, help) = match decl {
                    Some(d) => {
                        let named = match &d.columns {
                            syn::GrantColumns::Only(names) => {
                                names.iter().find(|n| &n.value == column).map(|n| n.span)
                            }
                            _ => None,
                        };
                        let help = match named {
                            Some(_) => format!("remove `{column}` from this grant: it is the role source (`roles:`), which only trusted server code may change"),
                            None => restrict,
                        };
                        (
                            named.unwrap_or(d.span),
                            format!(
                                "tables.{table}.grants.{}.{}",
                                g.role.name(),
                                g.command.sql()
                            ),
                            help,
                        )
                    }
                    None => (span, "roles.column".to_string(), restrict),
                };
                self.diags.push(
                    Diagnostic::error(
                        Code::RoleSource,
                        span,
                        path,
                        format!(
                            "`{}` may {} `{table}.{column}`: any user could make themselves admin",
                            g.role.name(),
                            g.command.sql()
                        ),
                    )
                    .help(help),
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn policy(
        &mut self,
        table: &str,
        cols: &[ir::Column],
        pk: &[String],
        fks: &[ir::ForeignKey],
        p: &syn::PolicyRule,
        rs: Option<&ir::RoleSource>,
        out: &mut Vec<ir::Rule>,
    ) {
        let path = &p.path;
        let colrefs: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let mut commands = BTreeSet::new();
        for c in &p.commands {
            match c.value.to_ascii_lowercase().as_str() {
                "all" => commands.extend(Command::ALL),
                "select" => {
                    commands.insert(Command::Select);
                }
                "insert" => {
                    commands.insert(Command::Insert);
                }
                "update" => {
                    commands.insert(Command::Update);
                }
                "delete" => {
                    commands.insert(Command::Delete);
                }
                other => self.error(
                    Code::InvalidValue,
                    c.span,
                    &format!("{path}.for"),
                    format!("unknown command `{other}`"),
                    help_for(
                        other,
                        "commands",
                        &["select", "insert", "update", "delete", "all"],
                    ),
                ),
            }
        }
        if p.commands.is_empty() {
            commands.extend(Command::ALL);
        }
        let mut conds = Vec::new();
        let is_public = p.public.as_ref().is_some_and(|b| b.value);
        let mut user_specific = false;
        if let Some(o) = &p.owner {
            match cols.iter().find(|c| c.name == o.value) {
                Some(c) if c.ty == SqlType::Uuid => {
                    conds.push(Condition::Owner {
                        column: o.value.clone(),
                    });
                    user_specific = true;
                }
                Some(c) => self.error(
                    Code::OwnerNotUuid,
                    o.span,
                    &format!("{path}.owner"),
                    format!(
                        "owner column `{}` is `{}`, not a uuid",
                        o.value,
                        types::sql(&c.ty, None)
                    ),
                    "the owner column holds the user's id from `auth.users(id)`: make it `uuid`",
                ),
                None => self.error(
                    Code::UnknownColumn,
                    o.span,
                    &format!("{path}.owner"),
                    format!("unknown column `{}` in policy on `{table}`", o.value),
                    help_for(&o.value, "columns are", &colrefs),
                ),
            }
        }
        if let Some(r) = &p.role {
            user_specific = true;
            match rs {
                None => self.error(Code::RoleSource, r.span, &format!("{path}.role"), format!("policy uses role `{}` but the schema has no `roles:` source", r.value), "add `roles: { table: profiles, column: role }` or `roles: { jwt: app_metadata.role }`"),
                Some(ir::RoleSource::Column { enum_type: Some(e), .. }) => {
                    let values = self.enums.iter().find(|x| &x.name == e).map(|x| x.values.clone()).unwrap_or_default();
                    if values.contains(&r.value) {
                        conds.push(Condition::HasRole { role: r.value.clone() });
                    } else {
                        let refs: Vec<&str> = values.iter().map(|s| s.as_str()).collect();
                        self.error(Code::UnknownEnumValue, r.span, &format!("{path}.role"), format!("role `{}` is not a value of enum `{e}`", r.value), help_for(&r.value, "values are", &refs));
                    }
                }
                Some(_) => conds.push(Condition::HasRole { role: r.value.clone() }),
            }
        }
        if let Some(m) = &p.member {
            user_specific = true;
            if let Some(c) = self.member(table, cols, pk, fks, m, path) {
                conds.push(c);
            }
        }
        if let Some(par) = &p.parent {
            if let Some(c) = self.parent(table, cols, fks, par, path) {
                if let Condition::Parent { owner: Some(_), .. } = &c {
                    user_specific = true;
                }
                conds.push(c);
            }
        }
        if p.authenticated.as_ref().is_some_and(|b| b.value) || is_public {
            conds.push(Condition::Always);
        }
        if p.using.is_some() || p.check.is_some() {
            let functions = {
                let mut f = self.functions_in_scope();
                f.extend_from_slice(self.helper_functions());
                f
            };
            let lookup = self.lookup();
            let scope = Scope {
                table: Some((table, colrefs.clone())),
                lookup_table: &lookup,
                functions: &functions,
                params: &[],
                allow_columns: true,
                allow_subqueries: true,
                wrap_auth: true,
                forbid_user_metadata: true,
                what: "policy expression",
            };
            let mut d = Diagnostics::default();
            let using = p
                .using
                .as_ref()
                .and_then(|u| expr::check(u, &format!("{path}.using"), &scope, &mut d));
            let check = p
                .check
                .as_ref()
                .and_then(|u| expr::check(u, &format!("{path}.check"), &scope, &mut d));
            drop(lookup);
            for x in d.into_sorted() {
                self.diags.push(x);
            }
            if p.using.is_some() == using.is_some() && p.check.is_some() == check.is_some() {
                if using.is_none()
                    && commands
                        .iter()
                        .any(|c| matches!(c, Command::Select | Command::Delete))
                {
                    self.error(
                        Code::PolicyTemplate,
                        p.span,
                        path,
                        "a custom rule for select or delete needs `using`",
                        "add `using:` (which rows may be read or deleted)",
                    );
                } else if check.is_none() && commands.contains(&Command::Insert) && using.is_none()
                {
                    self.error(
                        Code::PolicyTemplate,
                        p.span,
                        path,
                        "a custom rule for insert needs `check`",
                        "add `check:` (which new rows are allowed)",
                    );
                } else if check.is_none() && commands.contains(&Command::Insert) {
                    self.error(Code::PolicyTemplate, p.span, path, "a custom rule for insert needs `check` (`using` does not apply to new rows)", "add `check:` with the condition new rows must meet");
                } else {
                    conds.push(Condition::Custom { using, check });
                }
            }
        }
        if conds.is_empty()
            && p.owner.is_none()
            && p.role.is_none()
            && p.member.is_none()
            && p.parent.is_none()
            && p.using.is_none()
            && p.check.is_none()
        {
            self.error(Code::PolicyTemplate, p.span, path, "a policy needs a rule: `owner`, `role`, `member`, `parent`, `authenticated`, `public`, `using` or `check`", "e.g. `- { for: all, owner: user_id }`");
            return;
        }
        if is_public && commands.iter().any(|c| *c != Command::Select) {
            self.error(
                Code::PolicyTemplate,
                p.public.as_ref().map(|b| b.span).unwrap_or(p.span),
                path,
                "`public: true` grants reading to everyone; it cannot be used for writes",
                "add `for: select`, and write a separate rule for who may write",
            );
            return;
        }
        let mut roles = BTreeSet::new();
        for r in &p.to {
            match r.value.as_str() {
                "anon" => {
                    roles.insert(DbRole::Anon);
                }
                "authenticated" => {
                    roles.insert(DbRole::Authenticated);
                }
                "service_role" => self.error(
                    Code::PolicyTemplate,
                    r.span,
                    &format!("{path}.to"),
                    "`service_role` bypasses row level security: a policy for it never applies",
                    "service_role already has full access; remove it from `to`",
                ),
                other => self.error(
                    Code::InvalidValue,
                    r.span,
                    &format!("{path}.to"),
                    format!("unknown role `{other}`"),
                    help_for(other, "roles", &["authenticated", "anon"]),
                ),
            }
        }
        if p.to.is_empty() {
            roles.insert(DbRole::Authenticated);
            if is_public {
                roles.insert(DbRole::Anon);
            }
        }
        if roles.contains(&DbRole::Anon) && user_specific {
            self.error(Code::PolicyTemplate, p.span, path, "anonymous requests have no user, so `owner`, `role` and `member` rules never match for `anon`", "remove `anon` from `to`");
            return;
        }
        let label = p.name.as_ref().map(|n| n.value.clone());
        for cmd in &commands {
            for role in &roles {
                out.push(ir::Rule {
                    command: *cmd,
                    role: *role,
                    label: label.clone(),
                    conditions: conds.clone(),
                });
            }
        }
    }

    fn member(
        &mut self,
        table: &str,
        cols: &[ir::Column],
        pk: &[String],
        fks: &[ir::ForeignKey],
        m: &syn::Member,
        path: &str,
    ) -> Option<Condition> {
        let mpath = format!("{path}.member");
        let through = &m.through.value;
        let Some(tcols) = self.table_cols.get(through).cloned() else {
            let names: Vec<&str> = self.table_cols.keys().map(|s| s.as_str()).collect();
            self.error(
                Code::UnknownTable,
                m.through.span,
                &format!("{mpath}.through"),
                format!("unknown membership table `{through}`"),
                help_for(through, "tables are", &names),
            );
            return None;
        };
        let tnames: Vec<&str> = tcols.iter().map(|(n, _)| n.as_str()).collect();
        let colrefs: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        // Column of this table.
        let column = match &m.column {
            Some(c) if colrefs.contains(&c.value.as_str()) => c.value.clone(),
            Some(c) => {
                self.error(
                    Code::UnknownColumn,
                    c.span,
                    &format!("{mpath}.column"),
                    format!("unknown column `{}` in `{table}`", c.value),
                    help_for(&c.value, "columns are", &colrefs),
                );
                return None;
            }
            None if pk.len() == 1 => pk[0].clone(),
            None => {
                self.error(
                    Code::PolicyTemplate,
                    m.span,
                    &mpath,
                    format!("cannot tell which column of `{table}` to match with `{through}`"),
                    "add `column: <column of this table>`",
                );
                return None;
            }
        };
        // Key column of the join table: explicit, else same name, else the FK pointing at us.
        let key = match &m.key {
            Some(k) if tnames.contains(&k.value.as_str()) => k.value.clone(),
            Some(k) => {
                self.error(
                    Code::UnknownColumn,
                    k.span,
                    &format!("{mpath}.key"),
                    format!("unknown column `{}` in `{through}`", k.value),
                    help_for(&k.value, "columns are", &tnames),
                );
                return None;
            }
            None => {
                // The FK target of our column (e.g. messages.conversation_id -> conversations.id),
                // or this table itself when matching on the primary key.
                let target_table = if pk.first() == Some(&column) && pk.len() == 1 {
                    table.to_string()
                } else {
                    fks.iter()
                        .find(|f| f.columns == [column.clone()])
                        .map(|f| f.target.name.clone())
                        .unwrap_or_default()
                };
                let guess = if tnames.contains(&column.as_str()) && column != "id" {
                    Some(column.clone())
                } else {
                    let singular = target_table
                        .strip_suffix('s')
                        .unwrap_or(&target_table)
                        .to_string();
                    let cand = format!("{singular}_id");
                    tnames.contains(&cand.as_str()).then_some(cand)
                };
                match guess {
                    Some(g) => g,
                    None => {
                        self.error(
                            Code::PolicyTemplate,
                            m.span,
                            &mpath,
                            format!(
                                "cannot tell which column of `{through}` holds `{table}.{column}`"
                            ),
                            format!("add `key: <column of {through}>`"),
                        );
                        return None;
                    }
                }
            }
        };
        let user_column = match &m.user_column {
            Some(u) => u.value.clone(),
            None if tnames.contains(&"user_id") => "user_id".to_string(),
            None => {
                self.error(
                    Code::PolicyTemplate,
                    m.span,
                    &mpath,
                    format!("cannot tell which column of `{through}` holds the member's user id"),
                    "add `user_column: <uuid column>`",
                );
                return None;
            }
        };
        match tcols.iter().find(|(n, _)| *n == user_column) {
            Some((_, SqlType::Uuid)) => {}
            Some(_) => {
                self.error(
                    Code::OwnerNotUuid,
                    m.span,
                    &mpath,
                    format!("`{through}.{user_column}` is not a uuid"),
                    "the member column holds `auth.users.id`",
                );
                return None;
            }
            None => {
                self.error(
                    Code::UnknownColumn,
                    m.span,
                    &format!("{mpath}.user_column"),
                    format!("unknown column `{user_column}` in `{through}`"),
                    help_for(&user_column, "columns are", &tnames),
                );
                return None;
            }
        }
        let key_type = tcols
            .iter()
            .find(|(n, _)| *n == key)
            .map(|(_, t)| t.clone())
            .expect("key checked");
        let col_type = cols
            .iter()
            .find(|c| c.name == column)
            .map(|c| c.ty.clone())
            .expect("column checked");
        if !same_key_type(&key_type, &col_type) {
            self.error(
                Code::TypeMismatch,
                m.span,
                &mpath,
                format!("`{table}.{column}` and `{through}.{key}` have different types"),
                "match a column with the join table column of the same type",
            );
            return None;
        }
        let role_filter = if m.roles.is_empty() {
            None
        } else {
            let rc = m
                .role_column
                .as_ref()
                .map(|r| r.value.clone())
                .unwrap_or_else(|| "role".into());
            let Some((_, rty)) = tcols.iter().find(|(n, _)| *n == rc).cloned() else {
                self.error(
                    Code::UnknownColumn,
                    m.span,
                    &format!("{mpath}.role_column"),
                    format!(
                        "`roles:` needs a role column in `{through}`, but `{rc}` does not exist"
                    ),
                    "add `role_column: <column>`",
                );
                return None;
            };
            if let SqlType::Enum(e) = &rty {
                let values = self
                    .enums
                    .iter()
                    .find(|x| &x.name == e)
                    .map(|x| x.values.clone())
                    .unwrap_or_default();
                for r in &m.roles {
                    if !values.contains(&r.value) {
                        let refs: Vec<&str> = values.iter().map(|s| s.as_str()).collect();
                        self.error(
                            Code::UnknownEnumValue,
                            r.span,
                            &format!("{mpath}.roles"),
                            format!("`{}` is not a value of enum `{e}`", r.value),
                            help_for(&r.value, "values are", &refs),
                        );
                        return None;
                    }
                }
            }
            Some((
                rc,
                m.roles.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
                rty,
            ))
        };
        // The name says what the helper does: the join table, the key, and every part of the rule
        // that differs from the defaults (user column, role column, roles). Two different rules
        // that still spell the same name (role lists joined by `_`) get a hash of the whole rule;
        // a name is never reused for a different helper.
        let mut name = format!("{through}_{key}s");
        if user_column != "user_id" {
            name = format!("{name}_by_{user_column}");
        }
        if let Some((rc, roles, _)) = &role_filter {
            if rc != "role" {
                name = format!("{name}_{rc}");
            }
            name = format!("{name}_{}", roles.join("_"));
        }
        let helper = |name: &str| ir::Helper::MemberKeys {
            name: name.to_string(),
            through: through.clone(),
            key: key.clone(),
            key_type: key_type.clone(),
            user_column: user_column.clone(),
            role_filter: role_filter.clone(),
            roles: vec![DbRole::Authenticated],
        };
        let mut chosen = fit_name(name.clone());
        if self
            .helpers
            .get(&chosen)
            .is_some_and(|h| *h != helper(&chosen))
        {
            let semantic = format!(
                "{through}\u{0}{key}\u{0}{user_column}\u{0}{:?}",
                role_filter.as_ref().map(|(c, r, _)| (c, r))
            );
            chosen = fit_name(format!("{name}_{}", short_hash(&semantic)));
        }
        match self.helpers.get(&chosen) {
            Some(h) if *h != helper(&chosen) => {
                self.error(
                    Code::NameCollision,
                    m.span,
                    &mpath,
                    format!("the membership helper `{chosen}` would be generated for two different rules"),
                    "make the rules differ in `through:` or `key:`",
                );
                return None;
            }
            Some(_) => {}
            None => {
                self.helpers.insert(chosen.clone(), helper(&chosen));
            }
        }
        Some(Condition::Member {
            column,
            helper: chosen,
        })
    }

    fn parent(
        &mut self,
        table: &str,
        cols: &[ir::Column],
        fks: &[ir::ForeignKey],
        p: &syn::Parent,
        path: &str,
    ) -> Option<Condition> {
        let ppath = format!("{path}.parent");
        let colrefs: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        if !colrefs.contains(&p.column.value.as_str()) {
            self.error(
                Code::UnknownColumn,
                p.column.span,
                &ppath,
                format!("unknown column `{}` in `{table}`", p.column.value),
                help_for(&p.column.value, "columns are", &colrefs),
            );
            return None;
        }
        let Some(fk) = fks
            .iter()
            .find(|f| f.columns == [p.column.value.clone()] && f.target.schema == "public")
        else {
            self.error(
                Code::PolicyTemplate,
                p.column.span,
                &ppath,
                format!(
                    "`{table}.{}` has no foreign key to an app table, so it has no parent",
                    p.column.value
                ),
                "add `references: <parent table>` to the column",
            );
            return None;
        };
        let parent_cols = self
            .table_cols
            .get(&fk.target.name)
            .cloned()
            .unwrap_or_default();
        if let Some(o) = &p.owner {
            match parent_cols.iter().find(|(n, _)| *n == o.value) {
                Some((_, SqlType::Uuid)) => {}
                Some(_) => {
                    self.error(
                        Code::OwnerNotUuid,
                        o.span,
                        &format!("{ppath}.owner"),
                        format!("`{}.{}` is not a uuid", fk.target.name, o.value),
                        "the owner column holds `auth.users.id`",
                    );
                    return None;
                }
                None => {
                    let refs: Vec<&str> = parent_cols.iter().map(|(n, _)| n.as_str()).collect();
                    self.error(
                        Code::UnknownColumn,
                        o.span,
                        &format!("{ppath}.owner"),
                        format!("unknown column `{}` in `{}`", o.value, fk.target.name),
                        help_for(&o.value, "columns are", &refs),
                    );
                    return None;
                }
            }
        }
        if fk.target.name == table {
            self.error(
                Code::PolicyTemplate,
                p.column.span,
                &ppath,
                "a table cannot be its own parent in a policy (the check would recurse)",
                "use a custom `using` or a security definer function",
            );
            return None;
        }
        Some(Condition::Parent {
            column: p.column.value.clone(),
            parent: fk.target.clone(),
            parent_column: fk.target_columns[0].clone(),
            owner: p.owner.as_ref().map(|o| o.value.clone()),
        })
    }

    fn grants(
        &mut self,
        table: &str,
        cols: &[ir::Column],
        rules: &[ir::Rule],
        decls: &[syn::GrantDecl],
        path: &str,
    ) -> Vec<ir::Grant> {
        let colrefs: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
        let mut map: BTreeMap<(DbRole, Command), Option<Option<Vec<String>>>> = BTreeMap::new();
        for r in rules {
            map.insert((r.role, r.command), Some(None));
        }
        for cmd in Command::ALL {
            map.insert((DbRole::ServiceRole, cmd), Some(None));
        }
        for g in decls {
            let gpath = format!("{path}.grants.{}", g.role.value);
            let role = match g.role.value.as_str() {
                "anon" => DbRole::Anon,
                "authenticated" => DbRole::Authenticated,
                "service_role" => DbRole::ServiceRole,
                other => {
                    self.error(
                        Code::InvalidValue,
                        g.role.span,
                        &gpath,
                        format!("unknown role `{other}`"),
                        help_for(other, "roles", &["anon", "authenticated", "service_role"]),
                    );
                    continue;
                }
            };
            let cmd = match g.command.value.as_str() {
                "select" => Command::Select,
                "insert" => Command::Insert,
                "update" => Command::Update,
                _ => Command::Delete,
            };
            let check_cols = |this: &mut Self, names: &[Name]| -> Option<Vec<String>> {
                let mut ok = true;
                for n in names {
                    if !colrefs.contains(&n.value.as_str()) {
                        ok = false;
                        this.error(
                            Code::GrantColumn,
                            n.span,
                            &gpath,
                            format!("unknown column `{}` in grant on `{table}`", n.value),
                            help_for(&n.value, "columns are", &colrefs),
                        );
                    }
                }
                ok.then(|| names.iter().map(|n| n.value.clone()).collect())
            };
            let value = match &g.columns {
                syn::GrantColumns::All => Some(None),
                syn::GrantColumns::None => None,
                syn::GrantColumns::Only(names) => {
                    let Some(list) = check_cols(self, names) else {
                        continue;
                    };
                    if cmd == Command::Delete {
                        self.error(
                            Code::GrantColumn,
                            g.span,
                            &gpath,
                            "delete privileges apply to whole rows, not columns",
                            "write `delete: all` or `delete: none`",
                        );
                        continue;
                    }
                    Some(Some(
                        colrefs
                            .iter()
                            .filter(|c| list.iter().any(|l| l == *c))
                            .map(|c| c.to_string())
                            .collect(),
                    ))
                }
                syn::GrantColumns::Except(names) => {
                    let Some(list) = check_cols(self, names) else {
                        continue;
                    };
                    if cmd == Command::Delete {
                        self.error(
                            Code::GrantColumn,
                            g.span,
                            &gpath,
                            "delete privileges apply to whole rows, not columns",
                            "write `delete: all` or `delete: none`",
                        );
                        continue;
                    }
                    Some(Some(
                        colrefs
                            .iter()
                            .filter(|c| !list.iter().any(|l| l == *c))
                            .map(|c| c.to_string())
                            .collect(),
                    ))
                }
            };
            map.insert((role, cmd), value);
        }
        map.into_iter()
            .filter_map(|((role, command), v)| {
                v.map(|columns| ir::Grant {
                    role,
                    command,
                    columns,
                })
            })
            .collect()
    }

    /// Join tables used by membership helpers are searched by user: index their user column.
    fn auto_indexes_on_join_tables(&mut self, tables: &mut [(&syn::Table, ir::Table)]) {
        for h in self.helpers.values() {
            let ir::Helper::MemberKeys {
                through,
                user_column,
                ..
            } = h
            else {
                continue;
            };
            let Some((_, t)) = tables.iter_mut().find(|(_, t)| &t.name == through) else {
                continue;
            };
            let covered = t.primary_key.first() == Some(user_column)
                || t.uniques
                    .iter()
                    .any(|u| u.columns.first() == Some(user_column))
                || t.indexes.iter().any(|ix| {
                    ix.columns.first().map(|c| &c.name) == Some(user_column) && ix.where_.is_none()
                });
            if !covered {
                t.indexes.push(ir::Index {
                    name: fit_name(format!("{}_{user_column}_idx", t.name)),
                    columns: vec![ir::IndexColumn {
                        name: user_column.clone(),
                        desc: false,
                        nulls_first: None,
                    }],
                    method: ir::IndexMethod::Btree,
                    opclass: None,
                    with: Vec::new(),
                    unique: false,
                    where_: None,
                    reason: Some("membership lookup column".into()),
                });
                t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
    }

    /// Tables, indexes and the indexes behind primary keys and unique constraints share one
    /// namespace per schema in PostgreSQL: two of them with one name would fail at migration time.
    fn check_relation_names(&mut self, tables: &[(&syn::Table, ir::Table)]) {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (st, t) in tables {
            let mut names = vec![(t.name.clone(), format!("table `{}`", t.name))];
            if !t.primary_key.is_empty() {
                names.push((
                    format!("{}_pkey", t.name),
                    format!("the primary key of `{}`", t.name),
                ));
            }
            names.extend(t.uniques.iter().map(|u| {
                (
                    u.name.clone(),
                    format!("a unique constraint of `{}`", t.name),
                )
            }));
            names.extend(
                t.indexes
                    .iter()
                    .map(|i| (i.name.clone(), format!("an index of `{}`", t.name))),
            );
            for (name, what) in names {
                if let Some(first) = seen.get(&name) {
                    let span = st
                        .indexes
                        .iter()
                        .find_map(|ix| ix.name.as_ref().filter(|n| n.value == name).map(|n| n.span))
                        .unwrap_or(st.name.span);
                    self.error(
                        Code::DuplicateName,
                        span,
                        &format!("tables.{}", t.name),
                        format!("`{name}` names both {first} and {what}"),
                        "tables, indexes and key constraints share one namespace: give the index a different `name`",
                    );
                } else {
                    seen.insert(name, what);
                }
            }
        }
    }

    /// Orders tables so every foreign key target comes first (ties by name); reports cycles.
    fn toposort(&mut self, tables: Vec<(&syn::Table, ir::Table)>) -> Vec<ir::Table> {
        let mut remaining: BTreeMap<String, (Span, ir::Table)> = tables
            .into_iter()
            .map(|(s, t)| (t.name.clone(), (s.name.span, t)))
            .collect();
        // Kahn's algorithm: the next table is the first by name whose targets are all placed
        // (the same order as rescanning for the first ready table, without the O(n^2) rescans).
        let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
        let mut dependents: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, (_, t)) in &remaining {
            let targets: BTreeSet<&String> = t
                .foreign_keys
                .iter()
                .filter(|fk| {
                    fk.target.schema == "public"
                        && &fk.target.name != name
                        && remaining.contains_key(&fk.target.name)
                })
                .map(|fk| &fk.target.name)
                .collect();
            for target in &targets {
                dependents
                    .entry((*target).clone())
                    .or_default()
                    .push(name.clone());
            }
            waiting.insert(name.clone(), targets.len());
        }
        let mut ready: BTreeSet<String> = waiting
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(name, _)| name.clone())
            .collect();
        let mut out = Vec::new();
        while !remaining.is_empty() {
            match ready.pop_first() {
                Some(n) => {
                    for d in dependents.get(&n).into_iter().flatten() {
                        let w = waiting.get_mut(d).expect("counted");
                        *w -= 1;
                        if *w == 0 {
                            ready.insert(d.clone());
                        }
                    }
                    out.push(remaining.remove(&n).expect("present").1);
                }
                None => {
                    let names: Vec<String> = remaining.keys().cloned().collect();
                    let (span, _) = remaining.values().next().expect("non-empty");
                    self.error(Code::DependencyCycle, *span, "tables", format!("foreign keys form a cycle between {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")), "each foreign key is created with its table, so one table must come first: remove `references:` from one of the columns in the cycle (keep it as a plain column)");
                    out.extend(remaining.into_values().map(|(_, t)| t));
                    break;
                }
            }
        }
        out
    }

    fn function(&mut self, f: &syn::Function) -> Option<ir::Function> {
        let path = format!("functions.{}", f.name.value);
        let mut ok = self.ident(&f.name, &path, "function");
        let schema = match &f.schema {
            Some(s) => {
                ok &= self.ident(s, &format!("{path}.schema"), "schema");
                if s.value != "public" && s.value != self.helpers_schema {
                    self.error(Code::InvalidValue, s.span, &format!("{path}.schema"), format!("functions live in `public` (callable through the API) or `{}` (internal), not `{}`", self.helpers_schema, s.value), format!("write `schema: public` or `schema: {}`", self.helpers_schema));
                    ok = false;
                }
                s.value.clone()
            }
            None => "public".into(),
        };
        let mut args = Vec::new();
        for a in &f.args {
            let apath = format!("{path}.args");
            let text = a.value.trim();
            let (head, default) = match text.to_ascii_lowercase().find(" default ") {
                Some(i) => (
                    &text[..i],
                    Some(text[i + " default ".len()..].trim().to_string()),
                ),
                None => (text, None),
            };
            let mut parts = head.splitn(2, char::is_whitespace);
            let (Some(n), Some(ty)) = (parts.next(), parts.next()) else {
                self.error(
                    Code::InvalidValue,
                    a.span,
                    &apath,
                    format!("cannot read argument `{text}`"),
                    "write `name type` or `name type default expr`",
                );
                ok = false;
                continue;
            };
            let nname = Spanned::new(n.to_string(), a.span);
            if !self.ident(&nname, &apath, "argument") {
                ok = false;
                continue;
            }
            let Some(ty) = self.parse_type(&Spanned::new(ty.trim().to_string(), a.span), &apath)
            else {
                ok = false;
                continue;
            };
            let default = match default {
                Some(d) => {
                    match self.constant_expr(&Spanned::new(d, a.span), &apath, "argument default") {
                        Some(e) => Some(e),
                        None => {
                            ok = false;
                            continue;
                        }
                    }
                }
                None => None,
            };
            args.push(ir::FunctionArg {
                name: n.to_string(),
                ty,
                default,
            });
        }
        let returns = self.returns(&f.returns, &format!("{path}.returns"));
        let language = match f.language.value.as_str() {
            "sql" => ir::Language::Sql,
            "plpgsql" => ir::Language::Plpgsql,
            other => {
                self.error(
                    Code::InvalidValue,
                    f.language.span,
                    &format!("{path}.language"),
                    format!("unsupported language `{other}`"),
                    help_for(other, "languages", &["sql", "plpgsql"]),
                );
                ok = false;
                ir::Language::Sql
            }
        };
        let security_definer = match f.security.as_ref().map(|s| (s, s.value.as_str())) {
            None | Some((_, "invoker")) => false,
            Some((_, "definer")) => true,
            Some((s, other)) => {
                self.error(
                    Code::InvalidValue,
                    s.span,
                    &format!("{path}.security"),
                    format!("unknown security `{other}`"),
                    help_for(other, "write", &["invoker", "definer"]),
                );
                ok = false;
                false
            }
        };
        let volatility = match f.volatility.as_ref().map(|s| (s, s.value.as_str())) {
            None | Some((_, "volatile")) => ir::Volatility::Volatile,
            Some((_, "stable")) => ir::Volatility::Stable,
            Some((_, "immutable")) => ir::Volatility::Immutable,
            Some((s, other)) => {
                self.error(
                    Code::InvalidValue,
                    s.span,
                    &format!("{path}.volatility"),
                    format!("unknown volatility `{other}`"),
                    help_for(other, "write", &["volatile", "stable", "immutable"]),
                );
                ok = false;
                ir::Volatility::Volatile
            }
        };
        if f.body.value.contains('\0') {
            self.error(
                Code::UnsafeBody,
                f.body.span,
                &format!("{path}.body"),
                "the function body contains a NUL byte",
                "remove it",
            );
            ok = false;
        }
        let mut grant = Vec::new();
        for g in f.grant.iter().flatten() {
            match g.value.as_str() {
                "anon" => grant.push(DbRole::Anon),
                "authenticated" => grant.push(DbRole::Authenticated),
                "service_role" => {}
                other => {
                    self.error(
                        Code::InvalidValue,
                        g.span,
                        &format!("{path}.grant"),
                        format!("unknown role `{other}`"),
                        help_for(other, "roles", &["anon", "authenticated", "service_role"]),
                    );
                    ok = false;
                }
            }
        }
        grant.sort();
        grant.dedup();
        let returns = returns?;
        if returns == ir::Returns::Trigger && (!args.is_empty() || !grant.is_empty()) {
            self.error(
                Code::InvalidValue,
                f.returns.span,
                &path,
                "a trigger function takes no arguments and is not granted to API roles",
                "remove `args` and `grant`",
            );
            ok = false;
        }
        if ok && f.expose_definer.as_ref().is_some_and(|b| b.value) {
            self.hints
                .exposed_definers
                .push((schema.clone(), f.name.value.clone()));
        }
        ok.then(|| ir::Function {
            schema,
            name: f.name.value.clone(),
            args,
            returns,
            language,
            security_definer,
            volatility,
            body: f.body.value.clone(),
            grant,
            comment: f.comment.clone(),
        })
    }

    fn returns(&mut self, r: &Name, path: &str) -> Option<ir::Returns> {
        let text = r.value.trim();
        let lower = text.to_ascii_lowercase();
        if lower == "void" {
            return Some(ir::Returns::Void);
        }
        if lower == "trigger" {
            return Some(ir::Returns::Trigger);
        }
        if let Some(rest) = lower.strip_prefix("setof ") {
            return self
                .parse_type(&Spanned::new(rest.trim().to_string(), r.span), path)
                .map(ir::Returns::SetOf);
        }
        if let Some(rest) = lower.strip_prefix("table") {
            let rest = rest.trim();
            let Some(inner) = rest.strip_prefix('(').and_then(|s| s.strip_suffix(')')) else {
                self.error(
                    Code::InvalidValue,
                    r.span,
                    path,
                    format!("cannot read return type `{text}`"),
                    "write `table (name type, ...)`",
                );
                return None;
            };
            let mut cols = Vec::new();
            for part in split_top_level(inner) {
                let part = part.trim();
                let mut it = part.splitn(2, char::is_whitespace);
                let (Some(n), Some(t)) = (it.next(), it.next()) else {
                    self.error(
                        Code::InvalidValue,
                        r.span,
                        path,
                        format!("cannot read result column `{part}`"),
                        "write `name type`",
                    );
                    return None;
                };
                if !self.ident(&Spanned::new(n.to_string(), r.span), path, "result column") {
                    return None;
                }
                cols.push((
                    n.to_string(),
                    self.parse_type(&Spanned::new(t.trim().to_string(), r.span), path)?,
                ));
            }
            return Some(ir::Returns::Table(cols));
        }
        self.parse_type(&Spanned::new(text.to_string(), r.span), path)
            .map(ir::Returns::Scalar)
    }

    fn trigger(
        &mut self,
        t: &syn::Trigger,
        functions: &[ir::Function],
        tables: &[ir::Table],
    ) -> Option<ir::Trigger> {
        let path = format!("triggers.{}", t.name.value);
        if !self.ident(&t.name, &path, "trigger") {
            return None;
        }
        let table = match t.table.value.as_str() {
            "auth.users" => QName::new("auth", "users"),
            name => {
                let name = name.strip_prefix("public.").unwrap_or(name);
                if !tables.iter().any(|x| x.name == name) {
                    let mut names: Vec<&str> = tables.iter().map(|x| x.name.as_str()).collect();
                    names.push("auth.users");
                    self.error(
                        Code::UnknownTable,
                        t.table.span,
                        &format!("{path}.table"),
                        format!("trigger on unknown table `{}`", t.table.value),
                        help_for(name, "tables are", &names),
                    );
                    return None;
                }
                QName::public(name)
            }
        };
        let before = match t.timing.value.as_str() {
            "before" => true,
            "after" => false,
            other => {
                self.error(
                    Code::InvalidValue,
                    t.timing.span,
                    &format!("{path}.timing"),
                    format!("unknown timing `{other}`"),
                    help_for(other, "write", &["before", "after"]),
                );
                return None;
            }
        };
        let mut events = Vec::new();
        for e in &t.events {
            match e.value.as_str() {
                "insert" => events.push(Command::Insert),
                "update" => events.push(Command::Update),
                "delete" => events.push(Command::Delete),
                other => {
                    self.error(
                        Code::InvalidValue,
                        e.span,
                        &format!("{path}.events"),
                        format!("unknown event `{other}`"),
                        help_for(other, "events", &["insert", "update", "delete"]),
                    );
                    return None;
                }
            }
        }
        if events.is_empty() {
            self.error(
                Code::MissingKey,
                t.name.span,
                &path,
                "a trigger needs `events`",
                "add `events: [insert]`",
            );
            return None;
        }
        events.sort();
        events.dedup();
        let for_each_row = match t.for_each.as_ref().map(|f| (f, f.value.as_str())) {
            None | Some((_, "row")) => true,
            Some((_, "statement")) => false,
            Some((f, other)) => {
                self.error(
                    Code::InvalidValue,
                    f.span,
                    &format!("{path}.for_each"),
                    format!("unknown `for_each` `{other}`"),
                    help_for(other, "write", &["row", "statement"]),
                );
                return None;
            }
        };
        let fname = t
            .function
            .value
            .split_once('.')
            .map(|(_, n)| n)
            .unwrap_or(&t.function.value);
        let Some(func) = functions.iter().find(|f| f.name == fname) else {
            let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
            self.error(
                Code::UnknownFunction,
                t.function.span,
                &format!("{path}.function"),
                format!("unknown trigger function `{}`", t.function.value),
                help_for(fname, "functions are", &names),
            );
            return None;
        };
        if func.returns != ir::Returns::Trigger {
            self.error(
                Code::InvalidValue,
                t.function.span,
                &format!("{path}.function"),
                format!("function `{}` does not return `trigger`", func.name),
                "declare it with `returns: trigger`",
            );
            return None;
        }
        if table.schema == "auth" && !func.security_definer {
            self.error(Code::InvalidValue, t.function.span, &format!("{path}.function"), format!("trigger function `{}` on `auth.users` must be `security: definer`", func.name), "it runs as the auth server's role, which cannot write your tables; add `security: definer`");
            return None;
        }
        Some(ir::Trigger {
            name: t.name.value.clone(),
            table,
            before,
            events,
            for_each_row,
            function: QName::new(&func.schema, &func.name),
        })
    }

    fn seed(&mut self, blocks: &[syn::SeedBlock], tables: &[ir::Table]) -> Vec<ir::SeedRow> {
        let mut out = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            let path = format!("seed[{i}]");
            let (qname, cols): (QName, Vec<(String, SqlType, bool)>) = match b.table.value.as_str()
            {
                "auth.users" => (
                    QName::new("auth", "users"),
                    AUTH_USERS_COLUMNS
                        .iter()
                        .map(|(n, t)| (n.to_string(), t.clone(), true))
                        .collect(),
                ),
                name => match tables.iter().find(|t| t.name == name) {
                    Some(t) => (
                        QName::public(name),
                        t.columns
                            .iter()
                            .map(|c| {
                                (
                                    c.name.clone(),
                                    c.ty.clone(),
                                    c.generated.is_none()
                                        && c.identity != Some(ir::Identity::Always),
                                )
                            })
                            .collect(),
                    ),
                    None => {
                        let mut names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
                        names.push("auth.users");
                        self.error(
                            Code::UnknownTable,
                            b.table.span,
                            &format!("{path}.table"),
                            format!("seed data for unknown table `{name}`"),
                            help_for(name, "tables are", &names),
                        );
                        continue;
                    }
                },
            };
            let names: Vec<&str> = cols.iter().map(|(n, _, _)| n.as_str()).collect();
            for (j, row) in b.rows.iter().enumerate() {
                let rpath = format!("{path}.rows[{j}]");
                let mut values = Vec::new();
                let mut ok = true;
                for (col, v) in &row.values {
                    let Some((_, ty, writable)) = cols.iter().find(|(n, _, _)| *n == col.value)
                    else {
                        self.error(
                            Code::UnknownColumn,
                            col.span,
                            &rpath,
                            format!(
                                "unknown column `{}` in seed row for `{}`",
                                col.value, b.table.value
                            ),
                            help_for(&col.value, "columns are", &names),
                        );
                        ok = false;
                        continue;
                    };
                    if !writable {
                        self.error(
                            Code::SeedValue,
                            col.span,
                            &rpath,
                            format!(
                                "`{}` is generated by the database and cannot be seeded",
                                col.value
                            ),
                            "remove it from the row",
                        );
                        ok = false;
                        continue;
                    }
                    match self.seed_value(v, ty, &format!("{rpath}.{}", col.value)) {
                        Some(sv) => values.push((col.value.clone(), sv)),
                        None => ok = false,
                    }
                }
                if ok {
                    out.push(ir::SeedRow {
                        table: qname.clone(),
                        values,
                    });
                }
            }
        }
        out
    }

    fn seed_value(
        &mut self,
        v: &syn::SeedValue,
        ty: &SqlType,
        path: &str,
    ) -> Option<ir::SeedValue> {
        let bad = |this: &mut Self, span: Span, msg: String| {
            let help = match ty {
                SqlType::Enum(e) => {
                    let values = this
                        .enums
                        .iter()
                        .find(|x| &x.name == e)
                        .map(|x| x.values.iter().map(|v| v.as_str()).collect::<Vec<_>>())
                        .unwrap_or_default();
                    format!("write one of the values of `{e}`: {}", backticked(&values))
                }
                _ => format!(
                    "write a value of type `{}`, or `{{ $sql: \"expression\" }}`",
                    types::sql(ty, None)
                ),
            };
            this.error(Code::SeedValue, span, path, msg, help);
        };
        match v {
            syn::SeedValue::Null(_) => Some(ir::SeedValue::Null),
            syn::SeedValue::Sql(e) => self
                .constant_expr(e, path, "seed expression")
                .map(ir::SeedValue::Sql),
            syn::SeedValue::Json(j, span) => match ty {
                SqlType::Json | SqlType::Jsonb => {
                    Some(ir::SeedValue::Literal(j.to_string(), ty.clone()))
                }
                SqlType::Vector(n) => match j.as_array() {
                    Some(a) if a.len() == *n as usize && a.iter().all(|x| x.is_number()) => Some(
                        ir::SeedValue::Literal(j.to_string().replace(' ', ""), ty.clone()),
                    ),
                    _ => {
                        bad(
                            self,
                            *span,
                            format!("a `vector({n})` value is a list of {n} numbers"),
                        );
                        None
                    }
                },
                SqlType::Array(inner) => match j.as_array() {
                    Some(a) => {
                        let mut items = Vec::new();
                        for x in a {
                            let s = match x {
                                serde_json::Value::String(s) => s.clone(),
                                serde_json::Value::Number(n) => n.to_string(),
                                serde_json::Value::Bool(b) => b.to_string(),
                                _ => {
                                    bad(self, *span, "array items must be scalars".into());
                                    return None;
                                }
                            };
                            if let Err(m) = check_scalar(&s, inner, &self.enums) {
                                bad(self, *span, m);
                                return None;
                            }
                            items.push(format!(
                                "\"{}\"",
                                s.replace('\\', "\\\\").replace('"', "\\\"")
                            ));
                        }
                        Some(ir::SeedValue::Literal(
                            format!("{{{}}}", items.join(",")),
                            ty.clone(),
                        ))
                    }
                    None => {
                        bad(self, *span, "expected a list for an array column".into());
                        None
                    }
                },
                _ => {
                    bad(
                        self,
                        *span,
                        format!(
                            "a mapping or list does not fit a `{}` column",
                            types::sql(ty, None)
                        ),
                    );
                    None
                }
            },
            syn::SeedValue::Scalar { text, quoted } => {
                if let SqlType::Json | SqlType::Jsonb = ty {
                    // A plain scalar is read as YAML would (number, boolean, null); a quoted one
                    // stays a string, like values inside mappings and lists.
                    let v = if *quoted {
                        serde_json::Value::String(text.value.clone())
                    } else if let Ok(i) = text.value.parse::<i64>() {
                        serde_json::Value::from(i)
                    } else if let Some(n) = text
                        .value
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                    {
                        serde_json::Value::Number(n)
                    } else {
                        match text.value.as_str() {
                            "true" => serde_json::Value::Bool(true),
                            "false" => serde_json::Value::Bool(false),
                            _ => serde_json::Value::String(text.value.clone()),
                        }
                    };
                    return Some(ir::SeedValue::Literal(v.to_string(), ty.clone()));
                }
                match check_scalar(&text.value, ty, &self.enums) {
                    Ok(()) => Some(ir::SeedValue::Literal(text.value.clone(), ty.clone())),
                    Err(m) => {
                        bad(self, text.span, m);
                        None
                    }
                }
            }
        }
    }
}

/// Validates a scalar seed value against its column type (the database checks again on insert).
fn check_scalar(s: &str, ty: &SqlType, enums: &[ir::Enum]) -> Result<(), String> {
    let ok = match ty {
        SqlType::Uuid => {
            s.len() == 36
                && s.chars().enumerate().all(|(i, c)| {
                    if [8, 13, 18, 23].contains(&i) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                })
        }
        SqlType::SmallInt => s.parse::<i16>().is_ok(),
        SqlType::Int => s.parse::<i32>().is_ok(),
        SqlType::BigInt => s.parse::<i64>().is_ok(),
        SqlType::Numeric(_) | SqlType::Real | SqlType::Double => s.parse::<f64>().is_ok(),
        SqlType::Boolean => matches!(s, "true" | "false"),
        SqlType::Varchar(n) | SqlType::Char(n) => s.chars().count() <= *n as usize,
        SqlType::Enum(e) => {
            let values = enums
                .iter()
                .find(|x| &x.name == e)
                .map(|x| x.values.clone())
                .unwrap_or_default();
            if !values.iter().any(|v| v == s) {
                return Err(format!("`{s}` is not a value of enum `{e}`"));
            }
            true
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{s}` is not a valid `{}`", types::sql(ty, None)))
    }
}

fn split_top_level(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn contains_vector(t: &SqlType) -> bool {
    match t {
        SqlType::Vector(_) => true,
        SqlType::Array(i) => contains_vector(i),
        _ => false,
    }
}

/// Key types that may reference each other (varchar(n) and text compare fine).
fn same_key_type(a: &SqlType, b: &SqlType) -> bool {
    let norm = |t: &SqlType| match t {
        SqlType::Varchar(_) | SqlType::Text | SqlType::Char(_) => SqlType::Text,
        other => other.clone(),
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod name_tests {
    use super::{fit_name, short_hash};

    #[test]
    fn fit_name_cuts_on_char_boundaries() {
        let long = "é".repeat(40);
        let fitted = fit_name(long.clone());
        assert!(fitted.len() <= 63, "{fitted}");
        assert!(fitted.ends_with(&short_hash(&long)));
        assert_ne!(fit_name(format!("{long}a")), fit_name(format!("{long}b")));
        assert_eq!(fit_name("short".into()), "short");
    }
}
