//! The resolved, validated and ordered schema model that every emitter reads. Built only by
//! `lower`; serialisable so `generated/schema.lock.json` records the compiled state.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub target: Target,
    pub helpers_schema: String,
    pub extensions: Vec<Extension>,
    pub enums: Vec<Enum>,
    /// In creation order: topological by foreign key, ties broken by name.
    pub tables: Vec<Table>,
    pub role_source: Option<RoleSource>,
    /// Generated helper functions (role check, membership lists, updated_at), in a stable order.
    pub helpers: Vec<Helper>,
    pub functions: Vec<Function>,
    pub triggers: Vec<Trigger>,
    pub seed: Vec<SeedRow>,
    /// What generation of emitted SQL the database holds for this schema ([`EMITTER`] when
    /// compiled now; 0 in locks written before it was recorded). A newer generation emits safer
    /// SQL for the same schema; the next migration brings older databases up to it.
    #[serde(default)]
    pub emitter: u32,
    /// How to get here from the previous schema (renames, conversions, intended data loss).
    /// Not part of the compiled state: ignored by equality and not recorded in the lock.
    #[serde(skip)]
    pub hints: Hints,
}

/// The current generation of emitted SQL. 1: functions use `search_path = pg_catalog, pg_temp`
/// (was `''`, shadowable through `pg_temp`) and identity sequences are revoked from the API
/// roles like their tables.
pub const EMITTER: u32 = 1;

/// Migration hints written in the schema; they only matter for the next migration.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// (previous name, name)
    pub table_renames: Vec<(String, String)>,
    /// (table, previous column name, column name)
    pub column_renames: Vec<(String, String, String)>,
    /// (table, column, canonical SQL converting the old value)
    pub usings: Vec<(String, String, String)>,
    /// Destructive changes the author intends, as written (`drop table notes`, ...).
    pub allow_destructive: Vec<String>,
    /// Changes to existing tables allowed to take the blocking form, as written (`all`: every one).
    pub allow_blocking: Vec<String>,
    /// `lock_timeout` of every migration, validated (`<digits>` with `ms`, `s` or `min`).
    pub lock_timeout: Option<String>,
    /// `security definer` functions (schema, name) the schema says are meant to be executed by
    /// `anon` or `authenticated` (`expose_definer: true`); only the lint reads it.
    pub exposed_definers: Vec<(String, String)>,
}

impl PartialEq for Hints {
    fn eq(&self, _: &Hints) -> bool {
        true
    }
}
impl Eq for Hints {}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Supabase,
    Postgres,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    pub schema: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enum {
    pub name: String,
    pub values: Vec<String>,
    pub comment: Option<String>,
}

/// A qualified name of a relation or function.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QName {
    pub schema: String,
    pub name: String,
}

impl QName {
    pub fn new(schema: &str, name: &str) -> Self {
        QName {
            schema: schema.to_string(),
            name: name.to_string(),
        }
    }
    pub fn public(name: &str) -> Self {
        Self::new("public", name)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "arg", rename_all = "snake_case")]
pub enum SqlType {
    Uuid,
    Text,
    Varchar(u32),
    Char(u32),
    SmallInt,
    Int,
    BigInt,
    Numeric(Option<(u32, u32)>),
    Real,
    Double,
    Boolean,
    Json,
    Jsonb,
    Timestamptz,
    Timestamp,
    Date,
    Time,
    Interval,
    Bytea,
    Inet,
    Tsvector,
    Vector(u32),
    Enum(String),
    Array(Box<SqlType>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub comment: Option<String>,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    pub uniques: Vec<Unique>,
    pub checks: Vec<Check>,
    pub foreign_keys: Vec<ForeignKey>,
    /// Sorted by name.
    pub indexes: Vec<Index>,
    pub timestamps: bool,
    pub realtime: Option<Realtime>,
    pub rls: bool,
    /// Access rules, one per (command, role, written rule), in declaration order.
    pub rules: Vec<Rule>,
    /// Explicit privileges per role and command (derived from the rules unless overridden).
    pub grants: Vec<Grant>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// True if `column` is NOT NULL and a single-column foreign key to `auth.users`: then
    /// "every user" is exactly "every row", which lets an owner-or-role rule be folded.
    pub fn is_required_user_reference(&self, column: &str) -> bool {
        self.column(column).is_some_and(|c| !c.nullable)
            && self.foreign_keys.iter().any(|f| {
                f.columns == [column.to_string()]
                    && f.target.schema == "auth"
                    && f.target.name == "users"
            })
    }

    /// The (owner column, role) pairs this table's rules for `command` and `role` can fold: one
    /// rule is exactly `owner: col` (a required user reference), another exactly `role: r`.
    pub fn foldable_owner_role(&self, command: Command, role: DbRole) -> Option<(String, String)> {
        let rules: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.command == command && r.role == role)
            .collect();
        let owner = rules.iter().find_map(|r| match r.conditions.as_slice() {
            [Condition::Owner { column }] if self.is_required_user_reference(column) => {
                Some(column.clone())
            }
            _ => None,
        })?;
        let app_role = rules.iter().find_map(|r| match r.conditions.as_slice() {
            [Condition::HasRole { role }] => Some(role.clone()),
            _ => None,
        })?;
        Some((owner, app_role))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    /// Canonical SQL of the default expression.
    pub default: Option<String>,
    pub identity: Option<Identity>,
    /// Canonical SQL of a stored generated column.
    pub generated: Option<String>,
    pub comment: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    Always,
    ByDefault,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unique {
    pub name: String,
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub expr: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub target: QName,
    pub target_columns: Vec<String>,
    pub on_delete: OnDelete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    NoAction,
    Restrict,
    Cascade,
    SetNull,
    SetDefault,
}

impl OnDelete {
    pub fn sql(self) -> &'static str {
        match self {
            OnDelete::NoAction => "no action",
            OnDelete::Restrict => "restrict",
            OnDelete::Cascade => "cascade",
            OnDelete::SetNull => "set null",
            OnDelete::SetDefault => "set default",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    pub columns: Vec<IndexColumn>,
    pub method: IndexMethod,
    pub opclass: Option<String>,
    /// Storage parameters, e.g. `m = 16`, in written order.
    pub with: Vec<(String, String)>,
    pub unique: bool,
    pub where_: Option<String>,
    /// Why schemac added it when the schema did not declare it (foreign key, policy column).
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexColumn {
    pub name: String,
    pub desc: bool,
    pub nulls_first: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexMethod {
    Btree,
    Hash,
    Gin,
    Gist,
    Brin,
    Hnsw,
    Ivfflat,
}

impl IndexMethod {
    pub fn sql(self) -> &'static str {
        match self {
            IndexMethod::Btree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gin => "gin",
            IndexMethod::Gist => "gist",
            IndexMethod::Brin => "brin",
            IndexMethod::Hnsw => "hnsw",
            IndexMethod::Ivfflat => "ivfflat",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Realtime {
    pub replica_identity_full: bool,
}

/// The SQL commands a policy or a grant is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Command {
    Select,
    Insert,
    Update,
    Delete,
}

impl Command {
    pub const ALL: [Command; 4] = [
        Command::Select,
        Command::Insert,
        Command::Update,
        Command::Delete,
    ];
    pub fn sql(self) -> &'static str {
        match self {
            Command::Select => "select",
            Command::Insert => "insert",
            Command::Update => "update",
            Command::Delete => "delete",
        }
    }
}

/// The database roles requests run as (Supabase's data API roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbRole {
    Anon,
    Authenticated,
    ServiceRole,
}

impl DbRole {
    pub const ALL: [DbRole; 3] = [DbRole::Anon, DbRole::Authenticated, DbRole::ServiceRole];
    pub fn name(self) -> &'static str {
        match self {
            DbRole::Anon => "anon",
            DbRole::Authenticated => "authenticated",
            DbRole::ServiceRole => "service_role",
        }
    }
}

/// One written access rule, specialised to one command and one role. Its conditions are AND-ed;
/// rules with the same command and role are OR-ed into one permissive policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub command: Command,
    pub role: DbRole,
    pub label: Option<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// Anyone with the role (public/authenticated read).
    Always,
    /// `column = (select auth.uid())`
    Owner { column: String },
    /// The current user has this app role (read from the trusted role source).
    HasRole { role: String },
    /// `column = any(array(select helper()))`: the user is a member through a join table.
    Member { column: String, helper: String },
    /// `column = any(array(select key from parent [where owner = uid]))`: the parent row is
    /// visible to (or owned by) the current user.
    Parent {
        column: String,
        parent: QName,
        parent_column: String,
        owner: Option<String>,
    },
    /// Custom SQL, canonicalised. `using` applies to select/update/delete, `check` to insert/update.
    Custom {
        using: Option<String>,
        check: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: DbRole,
    pub command: Command,
    /// `None`: the whole table; `Some`: only these columns (in table order).
    pub columns: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleSource {
    Column {
        table: String,
        column: String,
        user_column: String,
        enum_type: Option<String>,
    },
    Jwt {
        path: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Helper {
    /// `helpers.has_role(role) returns boolean`, security definer, reads the role source.
    HasRole {
        name: String,
        table: String,
        column: String,
        user_column: String,
        arg_type: SqlType,
    },
    /// `helpers.<name>() returns setof <key type>`: the keys of the join table rows of the current
    /// user, optionally only with some member roles. Security definer (no policy recursion).
    MemberKeys {
        name: String,
        through: String,
        key: String,
        key_type: SqlType,
        user_column: String,
        role_filter: Option<(String, Vec<String>, SqlType)>,
        roles: Vec<DbRole>,
    },
    /// The shared trigger function that maintains `updated_at`.
    SetUpdatedAt { name: String },
    /// `helpers.owner_ids_with_role(role) returns setof uuid`: the current user, plus every user
    /// when the current user has `role`. Lets "owner or admin" be one indexable condition
    /// (`owner = any (array(select ...))`) instead of an OR that stops index use.
    OwnerIdsWithRole { name: String, arg_type: SqlType },
    /// `helpers.<name>(role) returns uuid`: the lowest (`upper: false`) or highest (`upper: true`)
    /// owner id the current user reads as an owner: their own id, or the bound of the whole uuid
    /// range when they have `role` in the role source (`table.column`, keyed by `user_column`).
    /// "Owner or admin" becomes `owner >= (select min) and owner <= (select max)`: one index
    /// range condition, evaluated once per statement, whose cost does not grow with the number of
    /// users (the list `OwnerIdsWithRole` returned held every user's id for admins).
    OwnerBound {
        name: String,
        table: String,
        column: String,
        user_column: String,
        arg_type: SqlType,
        upper: bool,
    },
}

impl Helper {
    pub fn name(&self) -> &str {
        match self {
            Helper::HasRole { name, .. }
            | Helper::MemberKeys { name, .. }
            | Helper::SetUpdatedAt { name }
            | Helper::OwnerIdsWithRole { name, .. }
            | Helper::OwnerBound { name, .. } => name,
        }
    }

    /// The argument type, for helpers that take one (the app role).
    pub fn arg_type(&self) -> Option<&SqlType> {
        match self {
            Helper::HasRole { arg_type, .. }
            | Helper::OwnerIdsWithRole { arg_type, .. }
            | Helper::OwnerBound { arg_type, .. } => Some(arg_type),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub schema: String,
    pub name: String,
    pub args: Vec<FunctionArg>,
    pub returns: Returns,
    pub language: Language,
    pub security_definer: bool,
    pub volatility: Volatility,
    pub body: String,
    /// Roles that may execute it (service_role always may).
    pub grant: Vec<DbRole>,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionArg {
    pub name: String,
    pub ty: SqlType,
    pub default: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "of", rename_all = "snake_case")]
pub enum Returns {
    Void,
    Trigger,
    Scalar(SqlType),
    SetOf(SqlType),
    Table(Vec<(String, SqlType)>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Sql,
    Plpgsql,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Volatility {
    Volatile,
    Stable,
    Immutable,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub name: String,
    pub table: QName,
    pub before: bool,
    pub events: Vec<Command>,
    pub for_each_row: bool,
    pub function: QName,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRow {
    pub table: QName,
    pub values: Vec<(String, SeedValue)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum SeedValue {
    Null,
    /// A literal with the type it is cast to.
    Literal(String, SqlType),
    /// Canonical SQL of a `$sql` expression.
    Sql(String),
}
