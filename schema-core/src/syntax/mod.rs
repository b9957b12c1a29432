//! The raw schema AST, exactly as written (names as strings, spans attached). Both front ends —
//! YAML (`syntax::yaml`) and, later, Rust derives — produce these types, so validation exists once.

pub mod rust;
pub mod yaml;

use crate::source::Span;

/// A value with the place it was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

pub type Name = Spanned<String>;

#[derive(Clone, Debug, Default)]
pub struct File {
    pub target: Option<Name>,
    /// Schema for generated helper functions (default `private`; not exposed by the data API).
    pub helpers_schema: Option<Name>,
    pub extensions: Vec<Extension>,
    pub enums: Vec<EnumDef>,
    pub roles: Option<RoleSource>,
    pub tables: Vec<Table>,
    pub functions: Vec<Function>,
    pub triggers: Vec<Trigger>,
    pub seed: Vec<SeedBlock>,
    /// Destructive changes the author intends, e.g. `drop column documents.description`.
    pub allow_destructive: Vec<Name>,
}

#[derive(Clone, Debug)]
pub struct Extension {
    pub name: Name,
    pub schema: Option<Name>,
}

#[derive(Clone, Debug)]
pub struct EnumDef {
    pub name: Name,
    pub values: Vec<Name>,
    pub comment: Option<String>,
}

/// Where the app role of the current user (e.g. `admin`) is read from. Only trusted sources.
#[derive(Clone, Debug)]
pub enum RoleSource {
    /// `roles: { table: profiles, column: role, user_column: id }`
    Column {
        table: Name,
        column: Name,
        user_column: Option<Name>,
        span: Span,
    },
    /// `roles: { jwt: app_metadata.role }` (a path inside the JWT claims)
    Jwt { path: Name },
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub name: Name,
    /// The table's previous name: the next migration renames it instead of dropping it.
    pub renamed_from: Option<Name>,
    pub comment: Option<String>,
    pub columns: Vec<Column>,
    pub primary_key: Option<Spanned<Vec<Name>>>,
    pub uniques: Vec<Spanned<Vec<Name>>>,
    pub checks: Vec<Check>,
    pub foreign_keys: Vec<ForeignKey>,
    pub indexes: Vec<Index>,
    pub timestamps: Option<Spanned<bool>>,
    pub realtime: Option<Realtime>,
    pub rls: Option<Spanned<bool>>,
    pub policies: Vec<PolicyRule>,
    pub grants: Vec<GrantDecl>,
}

#[derive(Clone, Debug, Default)]
pub struct Column {
    pub name: Name,
    /// The type as written, e.g. `varchar(80)`, `vector(384)`, `text[]`, `app_role`, `text?`.
    pub ty: Name,
    pub nullable: Option<Spanned<bool>>,
    pub default: Option<Name>,
    pub primary_key: bool,
    pub unique: bool,
    pub check: Option<Name>,
    /// `table`, `table(column)`, `auth.users` or `auth.users(id)`.
    pub references: Option<Name>,
    pub on_delete: Option<Name>,
    pub identity: Option<Name>,
    pub generated: Option<Name>,
    pub comment: Option<String>,
    /// The column's previous name: the next migration renames it instead of dropping it.
    pub renamed_from: Option<Name>,
    /// How to convert existing values when the type changes (`alter column ... using`).
    pub using: Option<Name>,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: Name,
    pub expr: Name,
}

#[derive(Clone, Debug)]
pub struct ForeignKey {
    pub span: Span,
    pub columns: Vec<Name>,
    pub references: Name,
    pub on_delete: Option<Name>,
}

#[derive(Clone, Debug)]
pub struct Index {
    pub span: Span,
    pub name: Option<Name>,
    /// `column`, `column desc`, `column desc nulls last`.
    pub columns: Vec<Name>,
    pub using: Option<Name>,
    pub opclass: Option<Name>,
    pub with: Vec<(Name, Name)>,
    pub unique: bool,
    pub where_: Option<Name>,
}

#[derive(Clone, Debug)]
pub struct Realtime {
    pub span: Span,
    pub enabled: bool,
    pub replica_identity_full: bool,
}

/// One access rule. Templates written in one rule are AND-ed; rules for the same role and
/// command are OR-ed into a single permissive policy.
#[derive(Clone, Debug, Default)]
pub struct PolicyRule {
    pub span: Span,
    pub path: String,
    pub name: Option<Name>,
    /// `select`, `insert`, `update`, `delete`, `all`; default `all`.
    pub commands: Vec<Name>,
    /// `authenticated`, `anon`; default from the templates used.
    pub to: Vec<Name>,
    pub owner: Option<Name>,
    pub role: Option<Name>,
    pub member: Option<Member>,
    pub parent: Option<Parent>,
    pub authenticated: Option<Spanned<bool>>,
    pub public: Option<Spanned<bool>>,
    pub using: Option<Name>,
    pub check: Option<Name>,
}

/// `member: { through: conversation_members, column: conversation_id, key: conversation_id, user_column: user_id, roles: [editor] }`
#[derive(Clone, Debug)]
pub struct Member {
    pub span: Span,
    pub through: Name,
    /// Column of this table matched against the join table (default: the primary key).
    pub column: Option<Name>,
    /// Column of the join table holding that value (default: found by foreign key or same name).
    pub key: Option<Name>,
    /// Column of the join table holding the member's user id (default: its FK to auth.users).
    pub user_column: Option<Name>,
    /// Only members whose `role_column` is one of these.
    pub roles: Vec<Name>,
    pub role_column: Option<Name>,
}

/// `parent: { column: conversation_id }` or `parent: { column: document_id, owner: user_id }`.
#[derive(Clone, Debug)]
pub struct Parent {
    pub span: Span,
    pub column: Name,
    /// When set: the parent row's owner column must be the current user (not just visible).
    pub owner: Option<Name>,
}

#[derive(Clone, Debug)]
pub struct GrantDecl {
    pub span: Span,
    pub role: Name,
    pub command: Name,
    pub columns: GrantColumns,
}

#[derive(Clone, Debug)]
pub enum GrantColumns {
    All,
    None,
    Only(Vec<Name>),
    Except(Vec<Name>),
}

#[derive(Clone, Debug, Default)]
pub struct Function {
    pub name: Name,
    pub schema: Option<Name>,
    /// `name type [default expr]`
    pub args: Vec<Name>,
    pub returns: Name,
    pub language: Name,
    pub security: Option<Name>,
    pub volatility: Option<Name>,
    pub body: Name,
    /// Roles allowed to execute (default: none but the owner and service_role).
    pub grant: Option<Vec<Name>>,
    /// `expose_definer: true`: a `security definer` function is meant to be called by `anon` or
    /// `authenticated` (silences lint L0019).
    pub expose_definer: Option<Spanned<bool>>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Trigger {
    pub name: Name,
    pub table: Name,
    pub timing: Name,
    pub events: Vec<Name>,
    pub for_each: Option<Name>,
    pub function: Name,
}

#[derive(Clone, Debug)]
pub struct SeedBlock {
    pub table: Name,
    pub rows: Vec<SeedRow>,
}

#[derive(Clone, Debug)]
pub struct SeedRow {
    pub span: Span,
    pub values: Vec<(Name, SeedValue)>,
}

#[derive(Clone, Debug)]
pub enum SeedValue {
    Null(Span),
    /// A scalar as written; `quoted` when the YAML quoted it (so `"true"` stays text).
    Scalar {
        text: Name,
        quoted: bool,
    },
    /// A mapping or a sequence: JSON for json/jsonb columns, an array or a vector otherwise.
    Json(serde_json::Value, Span),
    /// `{ $sql: "expression" }`
    Sql(Name),
}
