//! The Rust front end: `#[derive(Table)]` structs and `#[derive(SchemaEnum)]` enums -> `syntax::File`,
//! read with syn (no build, no rustc). The CLI parses whole files (`parse_files`); the derive macros
//! parse one item (`read_struct`, `read_enum`) and check it (`check`): the same code either way, so
//! a misuse gives the same diagnostic as a compile error and as `file:line:col`.
//!
//! Attribute grammar (keys mirror `schema.yaml`; strings are SQL or names, lists are `[..]`):
//!
//! ```text
//! #[derive(Table)]
//! #[schemac(declare, table = "messages", realtime(replica_identity = "full"),
//!           index(columns = ["conversation_id", "created_at"]),
//!           policy(name = "readable", for = "select", parent = "conversation_id"),
//!           grant(role = "authenticated", insert = ["conversation_id", "content"]))]
//! struct Message {
//!     #[schemac(primary_key, default = "gen_random_uuid()")]
//!     id: uuid::Uuid,
//!     #[schemac(references = "conversations", on_delete = "cascade")]
//!     conversation_id: uuid::Uuid,
//!     tokens_used: Option<i32>,
//! }
//! ```
//!
//! Without `declare`, a struct maps a table of `schema.yaml` (`#[schemac(table = "messages")]`) and
//! the CLI ignores it; `check::mapping` compares its fields with the compiled schema.

mod attrs;
pub mod check;
mod types;

pub use attrs::Spans;

use super::*;
use crate::diag::{help_for, Code, Diagnostic, Diagnostics};
use crate::source::{SourceId, Span};
use attrs::{Entry, Reader, Value};
use std::collections::BTreeMap;

/// Struct-level keys of a table declaration.
const TABLE_KEYS: &[&str] = &[
    "declare",
    "table",
    "schema",
    "renamed_from",
    "comment",
    "primary_key",
    "unique",
    "check",
    "foreign_key",
    "index",
    "timestamps",
    "realtime",
    "rls",
    "policy",
    "grant",
];
/// Struct-level keys that may be written more than once.
const TABLE_REPEATABLE: &[&str] = &["unique", "check", "foreign_key", "index", "policy", "grant"];
/// Struct-level keys of a struct that maps a table declared elsewhere.
const MAP_KEYS: &[&str] = &["table", "schema"];
/// Field keys of a column declaration.
const COLUMN_KEYS: &[&str] = &[
    "column",
    "type",
    "primary_key",
    "unique",
    "check",
    "default",
    "references",
    "on_delete",
    "identity",
    "generated",
    "comment",
    "renamed_from",
    "using",
    "skip",
];
/// Field keys of a mapped struct.
const MAP_FIELD_KEYS: &[&str] = &["column", "skip"];

/// What a `#[derive(Table)]` struct is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `#[schemac(declare, ...)]`: the struct declares its table.
    Declare,
    /// `#[schemac(table = "...")]`: the struct maps a table declared in `schema.yaml`.
    Map,
}

/// One field of a `#[derive(Table)]` struct as the expansion needs it.
#[derive(Clone, Debug)]
pub struct FieldInfo {
    /// Position of the field in the struct.
    pub index: usize,
    /// The field identifier as written (without `r#`).
    pub ident: String,
    pub span: Span,
    /// The column it holds (`None` for `#[schemac(skip)]`).
    pub column: Option<Name>,
    /// The Rust type, as tokens text (for messages).
    pub ty: String,
    pub ty_span: Span,
    /// `Option<T>`.
    pub option: bool,
    /// The written type without `Option`.
    pub inner: ::syn::Type,
    /// `Vec<f32>` (or `Option<Vec<f32>>`) stored as a pgvector `vector`.
    pub vec_f32: bool,
}

/// A `#[derive(Table)]` struct, read.
#[derive(Clone, Debug)]
pub struct StructInfo {
    pub mode: Mode,
    pub rust_name: String,
    /// The span of the struct name (diagnostics about the whole struct point here).
    pub span: Span,
    /// `table = "..."` (or the snake_case struct name for a declaration).
    pub table_name: Name,
    /// `schema = "path"`: the schema file to check against (relative to the crate).
    pub schema_file: Option<Name>,
    /// The declared table (empty for a mapping).
    pub table: Table,
    pub fields: Vec<FieldInfo>,
}

/// A `#[derive(SchemaEnum)]` enum, read.
#[derive(Clone, Debug)]
pub struct EnumInfo {
    pub mode: Mode,
    pub rust_name: String,
    pub span: Span,
    pub def: EnumDef,
    pub schema_file: Option<Name>,
    /// Variant identifiers and their values, in order.
    pub variants: Vec<(String, Name)>,
}

/// Rust enum type name -> SQL enum name, for column types inferred from a field's Rust type.
pub type EnumNames = BTreeMap<String, String>;

/// Parses Rust source files: every `#[derive(Table)]` struct with `declare` becomes a table and
/// every `#[derive(SchemaEnum)]` enum with `declare` an enum, in file order then item order (inline
/// `mod` blocks included). Structs and enums without `declare` map the YAML schema and are skipped.
pub fn parse_files(files: &[(SourceId, &str)], diags: &mut Diagnostics) -> File {
    let mut parsed = Vec::new();
    for (id, text) in files {
        match ::syn::parse_file(text) {
            Ok(f) => parsed.push((*id, f)),
            Err(e) => {
                let mut spans = Spans::lines(*id);
                let at = spans.span(e.span());
                diags.push(
                    Diagnostic::error(
                        Code::RustSyntax,
                        at,
                        "",
                        format!("the file is not valid Rust: {e}"),
                    )
                    .help("fix the syntax error; schemac reads Rust schema files with syn"),
                );
            }
        }
    }
    // Enum names first, so a field typed with an enum declared in another file resolves.
    let mut items: Vec<(SourceId, ::syn::DeriveInput)> = Vec::new();
    for (id, f) in &parsed {
        collect_items(*id, &f.items, &mut items);
    }
    let mut enum_names = EnumNames::new();
    for (_, item) in &items {
        if let ::syn::Data::Enum(_) = item.data {
            if derives(&item.attrs, "SchemaEnum") {
                let name = enum_sql_name(item);
                enum_names.insert(item.ident.to_string(), name);
            }
        }
    }
    let mut file = File::default();
    for (id, item) in &items {
        let mut spans = Spans::lines(*id);
        match &item.data {
            ::syn::Data::Struct(_) if derives(&item.attrs, "Table") => {
                if let Some(s) = read_struct(item, &enum_names, &mut spans, diags) {
                    if s.mode == Mode::Declare {
                        file.tables.push(s.table);
                    }
                }
            }
            ::syn::Data::Enum(_) if derives(&item.attrs, "SchemaEnum") => {
                if let Some(e) = read_enum(item, &mut spans, diags) {
                    if e.mode == Mode::Declare {
                        file.enums.push(e.def);
                    }
                }
            }
            _ => {}
        }
    }
    file
}

fn collect_items(
    id: SourceId,
    items: &[::syn::Item],
    out: &mut Vec<(SourceId, ::syn::DeriveInput)>,
) {
    for item in items {
        match item {
            ::syn::Item::Struct(s) => out.push((id, s.clone().into())),
            ::syn::Item::Enum(e) => out.push((id, e.clone().into())),
            ::syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    collect_items(id, inner, out);
                }
            }
            _ => {}
        }
    }
}

/// True when `attrs` has `#[derive(..., name, ...)]` (by the last path segment).
pub fn derives(attrs: &[::syn::Attribute], name: &str) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            a.parse_args_with(
                ::syn::punctuated::Punctuated::<::syn::Path, ::syn::Token![,]>::parse_terminated,
            )
            .map(|paths| {
                paths
                    .iter()
                    .any(|p| p.segments.last().is_some_and(|s| s.ident == name))
            })
            .unwrap_or(false)
        })
}

/// `UserNotes` -> `user_notes`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = name.trim_start_matches("r#").chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let prev_upper = i > 0 && chars[i - 1].is_ascii_uppercase();
            if prev_lower || (prev_upper && next_lower) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// The SQL name of a `#[derive(SchemaEnum)]` enum: its `name = "..."`, else the snake_case type name.
fn enum_sql_name(item: &::syn::DeriveInput) -> String {
    for a in item.attrs.iter().filter(|a| a.path().is_ident("schemac")) {
        if let Ok(entries) = a.parse_args_with(attrs::parse_entries) {
            for e in entries {
                if e.key == "name" {
                    if let Value::Expr(::syn::Expr::Lit(::syn::ExprLit {
                        lit: ::syn::Lit::Str(s),
                        ..
                    })) = &e.value
                    {
                        return s.value();
                    }
                }
            }
        }
    }
    snake_case(&item.ident.to_string())
}

/// All `#[schemac(...)]` entries of `attrs`, in order. A malformed attribute is one diagnostic and
/// contributes no entries; the others are still read.
fn entries_of(
    attrs: &[::syn::Attribute],
    spans: &mut Spans,
    diags: &mut Diagnostics,
) -> Vec<Entry> {
    let mut out = Vec::new();
    for a in attrs.iter().filter(|a| a.path().is_ident("schemac")) {
        match &a.meta {
            ::syn::Meta::List(_) => match a.parse_args_with(attrs::parse_entries) {
                Ok(e) => out.extend(e),
                Err(e) => {
                    let at = spans.span(e.span());
                    diags.push(
                        Diagnostic::error(
                            Code::ExpectedType,
                            at,
                            "",
                            format!("malformed `#[schemac(...)]` attribute: {e}"),
                        )
                        .help("write `key = \"value\"`, `key = [\"a\", \"b\"]`, `flag` or `key(...)`, separated by commas"),
                    );
                }
            },
            other => {
                let at = spans.range(other);
                diags.push(
                    Diagnostic::error(Code::ExpectedType, at, "", "`#[schemac]` needs arguments")
                        .help("write `#[schemac(key = \"value\", ...)]`"),
                );
            }
        }
    }
    out
}

/// Reads a `#[derive(Table)]` struct. `None` when it is not a struct with named fields (reported).
pub fn read_struct(
    item: &::syn::DeriveInput,
    enum_names: &EnumNames,
    spans: &mut Spans,
    diags: &mut Diagnostics,
) -> Option<StructInfo> {
    let rust_name = item.ident.to_string();
    let span = spans.span(item.ident.span());
    let fields = match &item.data {
        ::syn::Data::Struct(::syn::DataStruct {
            fields: ::syn::Fields::Named(named),
            ..
        }) => &named.named,
        _ => {
            diags.push(
                Diagnostic::error(
                    Code::ExpectedType,
                    span,
                    "",
                    format!("`#[derive(Table)]` on `{rust_name}`, which is not a struct with named fields"),
                )
                .help("derive `Table` on a struct whose fields are the columns, e.g. `struct Note { id: uuid::Uuid, body: String }`"),
            );
            return None;
        }
    };
    if !item.generics.params.is_empty() {
        let at = spans.range(&item.generics);
        diags.push(
            Diagnostic::error(
                Code::ExpectedType,
                at,
                "",
                format!("`#[derive(Table)]` does not support generic parameters on `{rust_name}`"),
            )
            .help("a table struct has concrete column types; remove the generic parameters"),
        );
    }
    let entries = entries_of(&item.attrs, spans, diags);
    let mode = if entries.iter().any(|e| e.key == "declare") {
        Mode::Declare
    } else {
        Mode::Map
    };
    let path = format!("tables.{}", rust_name);
    let mut r = Reader::new(
        &entries,
        spans,
        diags,
        &path,
        span,
        match mode {
            Mode::Declare => TABLE_KEYS,
            Mode::Map => MAP_KEYS,
        },
        TABLE_REPEATABLE,
        (mode == Mode::Map).then_some((TABLE_KEYS, rust_name.as_str(), "the struct")),
    );
    r.flag("declare");
    let table_name = match r.string("table", "a table name") {
        Some(n) => n,
        None if mode == Mode::Declare => Spanned::new(snake_case(&rust_name), span),
        None => {
            r.diags.push(
                Diagnostic::error(
                    Code::MissingKey,
                    span,
                    &path,
                    format!("`{rust_name}` does not say which table it maps"),
                )
                .help(format!(
                    "add `#[schemac(table = \"{}\")]` to map a table of schema.yaml, or `#[schemac(declare)]` to declare the table in Rust",
                    snake_case(&rust_name)
                )),
            );
            Spanned::new(snake_case(&rust_name), span)
        }
    };
    let schema_file = r.string("schema", "the path of schema.yaml, relative to the crate");
    let path = format!("tables.{}", table_name.value);
    r.path = path.clone();
    let mut t = Table {
        name: table_name.clone(),
        ..Table::default()
    };
    if mode == Mode::Declare {
        table_attrs(&mut r, &mut t);
    }

    let mut infos = Vec::new();
    for (index, f) in fields.iter().enumerate() {
        let ident = f
            .ident
            .as_ref()
            .map(|i| i.to_string().trim_start_matches("r#").to_string())
            .unwrap_or_default();
        let fspan = spans.span(
            f.ident
                .as_ref()
                .map(|i| i.span())
                .unwrap_or(item.ident.span()),
        );
        let fentries = entries_of(&f.attrs, spans, diags);
        let fpath = format!("{path}.columns.{ident}");
        let item_name = format!("field `{ident}`");
        let mut r = Reader::new(
            &fentries,
            spans,
            diags,
            &fpath,
            fspan,
            match mode {
                Mode::Declare => COLUMN_KEYS,
                Mode::Map => MAP_FIELD_KEYS,
            },
            &[],
            (mode == Mode::Map).then_some((COLUMN_KEYS, rust_name.as_str(), item_name.as_str())),
        );
        let skip = r.flag("skip").is_some_and(|b| b.value);
        let column = r
            .string("column", "a column name")
            .unwrap_or_else(|| Spanned::new(ident.clone(), fspan));
        let ty_span = r.spans.range(&f.ty);
        let (option, inner) = types::strip_option(&f.ty);
        let mut info = FieldInfo {
            index,
            ident: ident.clone(),
            span: fspan,
            column: (!skip).then(|| column.clone()),
            ty: types::type_text(&f.ty),
            ty_span,
            option,
            inner: inner.clone(),
            vec_f32: false,
        };
        if mode == Mode::Declare && !skip {
            let col = column_attrs(&mut r, column, &f.ty, ty_span, enum_names, &mut info);
            if let Some(c) = col {
                t.columns.push(c);
            }
        } else if mode == Mode::Map {
            info.vec_f32 = types::is_vec_f32(&inner);
        }
        infos.push(info);
    }
    if mode == Mode::Declare && t.columns.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::MissingKey,
                span,
                &path,
                format!("table `{}` has no columns", table_name.value),
            )
            .help("add fields to the struct; each field is a column"),
        );
    }
    Some(StructInfo {
        mode,
        rust_name,
        span,
        table_name,
        schema_file,
        table: t,
        fields: infos,
    })
}

fn table_attrs(r: &mut Reader, t: &mut Table) {
    t.renamed_from = r.string("renamed_from", "the table's previous name");
    t.comment = r.string("comment", "a comment").map(|c| c.value);
    if let Some(e) = r.get("primary_key") {
        let span = r.spans.range(&e.key_ident);
        if let Some(cols) = r.names_of(
            e,
            "a list of column names, e.g. `primary_key = [\"a\", \"b\"]`",
        ) {
            t.primary_key = Some(Spanned::new(cols, span));
        }
    }
    for e in r.all("unique") {
        let span = r.spans.range(&e.key_ident);
        if let Some(cols) = r.names_of(e, "a list of column names, e.g. `unique = [\"a\", \"b\"]`")
        {
            t.uniques.push(Spanned::new(cols, span));
        }
    }
    for e in r.all("check") {
        let Some(mut n) = r.nested(e, &["name", "expr"], &[]) else {
            continue;
        };
        let name = n.req_string("name", "the constraint name");
        let expr = n.req_string("expr", "an SQL boolean expression");
        if let (Some(name), Some(expr)) = (name, expr) {
            t.checks.push(Check { name, expr });
        }
    }
    for e in r.all("foreign_key") {
        let span = r.spans.range(&e.key_ident);
        let Some(mut n) = r.nested(e, &["columns", "references", "on_delete"], &[]) else {
            continue;
        };
        let columns = n
            .names("columns", "a list of column names")
            .unwrap_or_default();
        let references = n.req_string("references", "`table(column, ...)`");
        let on_delete = n.string(
            "on_delete",
            "`cascade`, `set null`, `restrict` or `no action`",
        );
        if let Some(references) = references {
            t.foreign_keys.push(ForeignKey {
                span,
                columns,
                references,
                on_delete,
            });
        }
    }
    for e in r.all("index") {
        if let Some(ix) = index(r, e) {
            t.indexes.push(ix);
        }
    }
    t.timestamps = r.flag("timestamps");
    if let Some(e) = r.get("realtime") {
        let span = r.spans.range(&e.key_ident);
        match &e.value {
            Value::Nested(..) => {
                if let Some(mut n) = r.nested(e, &["replica_identity"], &[]) {
                    let ri = n.string("replica_identity", "`full` or `default`");
                    let full = match ri {
                        Some(v) if v.value == "full" => true,
                        Some(v) if v.value == "default" => false,
                        Some(v) => {
                            r.diags.push(
                                Diagnostic::error(
                                    Code::InvalidValue,
                                    v.span,
                                    format!("{}.realtime.replica_identity", r.path),
                                    format!("unknown replica identity `{}`", v.value),
                                )
                                .help("write `full` (old values in update and delete events) or `default`"),
                            );
                            false
                        }
                        None => false,
                    };
                    t.realtime = Some(Realtime {
                        span,
                        enabled: true,
                        replica_identity_full: full,
                    });
                }
            }
            _ => {
                if let Some(b) = r.flag("realtime") {
                    t.realtime = Some(Realtime {
                        span: b.span,
                        enabled: b.value,
                        replica_identity_full: false,
                    });
                }
            }
        }
    }
    t.rls = r.flag("rls");
    for (i, e) in r.all("policy").into_iter().enumerate() {
        let path = format!("{}.policies[{i}]", r.path);
        if let Some(p) = policy(r, e, path) {
            t.policies.push(p);
        }
    }
    for e in r.all("grant") {
        grant(r, e, &mut t.grants);
    }
}

fn index<'a>(r: &mut Reader<'a>, e: &'a Entry) -> Option<Index> {
    let span = r.spans.range(&e.key_ident);
    let mut n = r.nested(
        e,
        &[
            "name", "columns", "using", "opclass", "with", "unique", "where",
        ],
        &[],
    )?;
    let name = n.string("name", "an index name");
    let columns = n
        .names(
            "columns",
            "a list of columns, e.g. `columns = [\"user_id\", \"created_at desc\"]`",
        )
        .unwrap_or_default();
    if columns.is_empty() {
        n.diags.push(
            Diagnostic::error(
                Code::MissingKey,
                span,
                &n.path,
                "an index needs at least one column",
            )
            .help("add `columns = [\"column\", ...]`"),
        );
    }
    let using = n.string(
        "using",
        "`btree`, `gin`, `gist`, `hash`, `brin`, `hnsw` or `ivfflat`",
    );
    let opclass = n.string("opclass", "an operator class such as `vector_cosine_ops`");
    let mut with = Vec::new();
    if let Some(w) = n.get("with") {
        if let Some(mut wn) = n.nested_any(w) {
            with = wn.scalars("a number or a string");
        }
    }
    let unique = n.flag("unique").is_some_and(|b| b.value);
    let where_ = n.string("where", "an SQL boolean expression");
    Some(Index {
        span,
        name,
        columns,
        using,
        opclass,
        with,
        unique,
        where_,
    })
}

fn policy<'a>(r: &mut Reader<'a>, e: &'a Entry, path: String) -> Option<PolicyRule> {
    const KEYS: &[&str] = &[
        "name",
        "for",
        "to",
        "owner",
        "role",
        "member",
        "parent",
        "authenticated",
        "public",
        "using",
        "check",
    ];
    let span = r.spans.range(&e.key_ident);
    let mut n = r.nested(e, KEYS, &[])?;
    n.path = path.clone();
    let mut p = PolicyRule {
        span,
        path,
        ..PolicyRule::default()
    };
    p.name = n.string("name", "a policy name");
    p.commands = n
        .names("for", "`select`, `insert`, `update`, `delete` or `all`")
        .unwrap_or_default();
    p.to = n
        .names("to", "`authenticated` or `anon`")
        .unwrap_or_default();
    p.owner = n.string("owner", "the column holding the owner's user id");
    p.role = n.string("role", "an app role such as `admin`");
    if let Some(m) = n.get("member") {
        let mspan = n.spans.range(&m.key_ident);
        if let Some(mut mm) = n.nested(
            m,
            &[
                "through",
                "column",
                "key",
                "user_column",
                "roles",
                "role_column",
            ],
            &[],
        ) {
            let through = mm.req_string("through", "the membership table");
            let column = mm.string("column", "a column of this table");
            let key = mm.string("key", "a column of the membership table");
            let user_column = mm.string("user_column", "the member's user id column");
            let roles = mm
                .names("roles", "a list of member roles")
                .unwrap_or_default();
            let role_column = mm.string("role_column", "the member role column");
            if let Some(through) = through {
                p.member = Some(Member {
                    span: mspan,
                    through,
                    column,
                    key,
                    user_column,
                    roles,
                    role_column,
                });
            }
        }
    }
    if let Some(pe) = n.get("parent") {
        let pspan = n.spans.range(&pe.key_ident);
        if let Value::Expr(_) = pe.value {
            if let Some(column) = n.string("parent", "the foreign key column to the parent") {
                p.parent = Some(Parent {
                    span: pspan,
                    column,
                    owner: None,
                });
            }
        } else if let Some(mut pm) = n.nested(pe, &["column", "owner"], &[]) {
            let column = pm.req_string("column", "the foreign key column to the parent");
            let owner = pm.string("owner", "the parent's owner column");
            if let Some(column) = column {
                p.parent = Some(Parent {
                    span: pspan,
                    column,
                    owner,
                });
            }
        }
    }
    p.authenticated = n.flag("authenticated");
    p.public = n.flag("public");
    p.using = n.string("using", "an SQL boolean expression");
    p.check = n.string("check", "an SQL boolean expression");
    Some(p)
}

fn grant<'a>(r: &mut Reader<'a>, e: &'a Entry, out: &mut Vec<GrantDecl>) {
    const COMMANDS: &[&str] = &["select", "insert", "update", "delete"];
    let Some(mut n) = r.nested(e, &["role", "select", "insert", "update", "delete"], &[]) else {
        return;
    };
    let Some(role) = n.req_string("role", "a database role such as `authenticated`") else {
        return;
    };
    for cmd in COMMANDS {
        let Some(ce) = n.get(cmd) else { continue };
        let command = Spanned::new(cmd.to_string(), n.spans.range(&ce.key_ident));
        let span = command.span;
        let columns = match &ce.value {
            Value::Nested(..) => match n.nested(ce, &["except"], &[]) {
                Some(mut en) => {
                    let cols = en
                        .names("except", "a list of column names")
                        .unwrap_or_default();
                    GrantColumns::Except(cols)
                }
                None => GrantColumns::None,
            },
            Value::Expr(::syn::Expr::Array(_)) => {
                GrantColumns::Only(n.names(cmd, "a list of column names").unwrap_or_default())
            }
            Value::Expr(ex) => {
                match attrs::lit_str(ex).or_else(|| attrs::lit_bool(ex).map(|b| b.to_string())) {
                    Some(s) if s == "all" || s == "true" => GrantColumns::All,
                    Some(s) if s == "none" || s == "false" => GrantColumns::None,
                    _ => {
                        let at = n.spans.range(ex);
                        n.diags.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            at,
                            format!("{}.{cmd}", n.path),
                            "expected `\"all\"`, `\"none\"`, a list of columns or `(except = [...])`",
                        )
                        .help("for example `update = [\"name\", \"avatar_url\"]` or `select(except = [\"key_hash\"])`"),
                    );
                        GrantColumns::None
                    }
                }
            }
            Value::Flag => GrantColumns::All,
        };
        out.push(GrantDecl {
            span,
            role: role.clone(),
            command,
            columns,
        });
    }
}

/// Reads the column keys of a field. `None` when the type cannot be told (reported).
fn column_attrs(
    r: &mut Reader,
    name: Name,
    ty: &::syn::Type,
    ty_span: Span,
    enum_names: &EnumNames,
    info: &mut FieldInfo,
) -> Option<Column> {
    let mut c = Column {
        name,
        ..Column::default()
    };
    let explicit = r.string("type", "an SQL type such as `vector(384)` or `app_role`");
    c.primary_key = r.flag("primary_key").is_some_and(|b| b.value);
    c.unique = r.flag("unique").is_some_and(|b| b.value);
    c.check = r.string("check", "an SQL boolean expression");
    c.default = r.string("default", "an SQL expression such as `now()`");
    c.references = r.string("references", "`table` or `table(column)`");
    c.on_delete = r.string(
        "on_delete",
        "`cascade`, `set null`, `restrict` or `no action`",
    );
    c.identity = r.string("identity", "`always` or `by_default`");
    c.generated = r.string("generated", "an SQL expression");
    c.comment = r.string("comment", "a comment").map(|s| s.value);
    c.renamed_from = r.string("renamed_from", "the column's previous name");
    c.using = r.string("using", "an SQL expression converting the old values");
    let (option, inner) = types::strip_option(ty);
    c.nullable = Some(Spanned::new(option, ty_span));
    match explicit {
        Some(t) => {
            if t.value.trim_end().ends_with('?') {
                r.diags.push(
                    Diagnostic::error(
                        Code::UnknownType,
                        t.span,
                        format!("{}.type", r.path),
                        format!("`{}`: nullability comes from the field's type", t.value),
                    )
                    .help("remove the `?` and make the field an `Option<T>` for a nullable column"),
                );
                return None;
            }
            info.vec_f32 = types::is_vec_f32(&inner)
                && t.value.trim().to_ascii_lowercase().starts_with("vector");
            c.ty = t;
        }
        None => match types::infer(&inner, enum_names) {
            Ok(sql) => c.ty = Spanned::new(sql, ty_span),
            Err((msg, help)) => {
                r.diags.push(
                    Diagnostic::error(Code::UnknownType, ty_span, format!("{}.type", r.path), msg)
                        .help(help),
                );
                return None;
            }
        },
    }
    if option && types::strip_option(&inner).0 {
        r.diags.push(
            Diagnostic::error(
                Code::UnknownType,
                ty_span,
                format!("{}.type", r.path),
                "`Option<Option<T>>` is not a column type",
            )
            .help("use `Option<T>` for a nullable column"),
        );
        return None;
    }
    Some(c)
}

/// Reads a `#[derive(SchemaEnum)]` enum. `None` when it is not an enum of unit variants (reported).
pub fn read_enum(
    item: &::syn::DeriveInput,
    spans: &mut Spans,
    diags: &mut Diagnostics,
) -> Option<EnumInfo> {
    let rust_name = item.ident.to_string();
    let span = spans.span(item.ident.span());
    let ::syn::Data::Enum(data) = &item.data else {
        diags.push(
            Diagnostic::error(
                Code::ExpectedType,
                span,
                "",
                format!("`#[derive(SchemaEnum)]` on `{rust_name}`, which is not an enum"),
            )
            .help("derive `SchemaEnum` on an enum whose unit variants are the values"),
        );
        return None;
    };
    let entries = entries_of(&item.attrs, spans, diags);
    let mode = if entries.iter().any(|e| e.key == "declare") {
        Mode::Declare
    } else {
        Mode::Map
    };
    let path = format!("enums.{rust_name}");
    let mut r = Reader::new(
        &entries,
        spans,
        diags,
        &path,
        span,
        &["declare", "name", "schema", "comment"],
        &[],
        None,
    );
    r.flag("declare");
    let name = r
        .string("name", "the SQL enum name")
        .unwrap_or_else(|| Spanned::new(snake_case(&rust_name), span));
    let schema_file = r.string("schema", "the path of schema.yaml, relative to the crate");
    let comment = r.string("comment", "a comment").map(|c| c.value);
    if mode == Mode::Map && comment.is_some() {
        r.diags.push(
            Diagnostic::error(
                Code::UnknownKey,
                span,
                &path,
                format!(
                    "`comment` declares something, but `{rust_name}` maps enum `{}` of schema.yaml",
                    name.value
                ),
            )
            .help("add `declare` to declare the enum in Rust, or remove `comment`"),
        );
    }
    let mut variants = Vec::new();
    for v in &data.variants {
        let vspan = spans.span(v.ident.span());
        if !matches!(v.fields, ::syn::Fields::Unit) {
            diags.push(
                Diagnostic::error(
                    Code::ExpectedType,
                    vspan,
                    &path,
                    format!(
                        "variant `{}` has fields; enum values are unit variants",
                        v.ident
                    ),
                )
                .help("remove the fields"),
            );
            continue;
        }
        let ventries = entries_of(&v.attrs, spans, diags);
        let mut vr = Reader::new(
            &ventries,
            spans,
            diags,
            &path,
            vspan,
            &["rename"],
            &[],
            None,
        );
        let value = vr
            .string("rename", "the value as stored in PostgreSQL")
            .unwrap_or_else(|| Spanned::new(snake_case(&v.ident.to_string()), vspan));
        variants.push((v.ident.to_string(), value));
    }
    Some(EnumInfo {
        mode,
        rust_name,
        span,
        def: EnumDef {
            name,
            values: variants.iter().map(|(_, v)| v.clone()).collect(),
            comment,
        },
        schema_file,
        variants,
    })
}

/// The help for an unknown key (shared by every reader): the closest known key first.
pub(crate) fn unknown_key_help(key: &str, known: &[&str]) -> String {
    help_for(key, "allowed keys", known)
}

#[cfg(test)]
mod tests;

/// Compiles YAML schema files and Rust schema files together (ids of `sources`): both front ends
/// feed one `syntax::File`, so a table declared in both is the usual duplicate-name error; its
/// help names the place of the first declaration.
pub fn compile_mixed(
    sources: &crate::Sources,
    yaml: &[SourceId],
    rust: &[SourceId],
) -> crate::Compilation {
    let mut diags = Diagnostics::default();
    let mut file = File::default();
    for id in yaml {
        let f = super::yaml::parse(*id, &sources.get(*id).text, &mut diags);
        crate::merge(&mut file, f);
    }
    let texts: Vec<(SourceId, &str)> = rust
        .iter()
        .map(|id| (*id, sources.get(*id).text.as_str()))
        .collect();
    crate::merge(&mut file, parse_files(&texts, &mut diags));
    let mut c = crate::compile_syntax(&file, diags);
    for d in &mut c.diagnostics {
        if rust.contains(&d.span.source) {
            d.help = d.help.as_deref().map(check::rust_help);
        }
        if d.code != Code::DuplicateName {
            continue;
        }
        let first = if let Some(name) = d.path.strip_prefix("tables.") {
            file.tables
                .iter()
                .find(|t| t.name.value == name)
                .map(|t| (name, t.name.span, "table"))
        } else if let Some(name) = d.path.strip_prefix("enums.") {
            file.enums
                .iter()
                .find(|e| e.name.value == name)
                .map(|e| (name, e.name.span, "enum"))
        } else {
            None
        };
        if let Some((name, s, what)) =
            first.filter(|(n, _, _)| !n.contains('.') && d.message.contains("declared twice"))
        {
            let at = if s.is_synthetic() {
                sources.get(s.source).name.clone()
            } else {
                format!("{}:{}:{}", sources.get(s.source).name, s.line, s.col)
            };
            d.help = Some(format!(
                "`{name}` is first declared at {at}; declare each {what} once, in schema.yaml or in Rust"
            ));
        }
    }
    c
}
