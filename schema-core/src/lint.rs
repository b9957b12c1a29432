//! `schemac lint`: security, performance and migration-safety checks on a compiled schema (and, for
//! migration safety, the previously compiled one), reported as `L00xx` diagnostics. The policy
//! expression analysis and the index-coverage rules are shared with the live-database lint
//! (`schema_pg::lint_live`). Every code is documented in `docs/diagnostics.md`.

use crate::diag::{Code, Diagnostic, Diagnostics, Severity};
use crate::ir::{self, Command, Condition, DbRole, Helper, Schema, SqlType, Table, Volatility};
use crate::source::{Sources, Span};
use crate::syntax;
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArguments, InTarget, ObjectName, ObjectNamePart, Select,
    SelectItem, TableFactor, Value, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;

/// The Supabase request functions a policy should call once per statement.
pub const AUTH_FUNCTIONS: &[&str] = &["uid", "jwt", "role", "email"];

/// One problem found, before it is given a position in the schema file.
#[derive(Clone, Debug)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub help: String,
    /// What the finding is about; [`locate`] turns it into a span and a path.
    pub anchor: Anchor,
}

/// Which part of a policy rule a finding points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulePart {
    Whole,
    Using,
    Check,
    Owner,
    Member,
    Parent,
}

/// The schema item a finding is about (names as in the IR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    Table(String),
    Rls(String),
    Column(String, String),
    ColumnType(String, String),
    ForeignKey(String, Vec<String>),
    Check(String, String),
    Index(String, String),
    Unique(String, Vec<String>),
    PrimaryKey(String),
    Grant(String, DbRole, Command),
    /// A written rule, found by its label (the policy `name:`) and one of its commands.
    Rule {
        table: String,
        label: Option<String>,
        command: Command,
        part: RulePart,
    },
    Function(String, String),
    Volatility(String, String),
    Extension(String),
}

impl Anchor {
    /// The schema path used when the source is not available.
    fn default_path(&self) -> String {
        match self {
            Anchor::Table(t) => format!("tables.{t}"),
            Anchor::Rls(t) => format!("tables.{t}.rls"),
            Anchor::Column(t, c) => format!("tables.{t}.columns.{c}"),
            Anchor::ColumnType(t, c) => format!("tables.{t}.columns.{c}.type"),
            Anchor::ForeignKey(t, cols) if cols.len() == 1 => {
                format!("tables.{t}.columns.{}.references", cols[0])
            }
            Anchor::ForeignKey(t, _) => format!("tables.{t}.foreign_keys"),
            Anchor::Check(t, _) => format!("tables.{t}.checks"),
            Anchor::Index(t, _) => format!("tables.{t}.indexes"),
            Anchor::Unique(t, _) => format!("tables.{t}.unique"),
            Anchor::PrimaryKey(t) => format!("tables.{t}.primary_key"),
            Anchor::Grant(t, r, c) => format!("tables.{t}.grants.{}.{}", r.name(), c.sql()),
            Anchor::Rule { table, .. } => format!("tables.{table}.policies"),
            Anchor::Function(_, f) => format!("functions.{f}"),
            Anchor::Volatility(_, f) => format!("functions.{f}.volatility"),
            Anchor::Extension(_) => "extensions".into(),
        }
    }
}

fn finding(
    code: Code,
    severity: Severity,
    anchor: Anchor,
    message: String,
    help: String,
) -> Finding {
    Finding {
        code,
        severity,
        message,
        help,
        anchor,
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Lints `schema`; with `previous` (the schema of `generated/schema.lock.json`) also the
/// migration from it. Findings come in a deterministic order.
pub fn lint(schema: &Schema, previous: Option<&Schema>) -> Vec<Finding> {
    let cx = Context::new(schema);
    let mut out = Vec::new();
    for e in &schema.extensions {
        let schema_name = e.schema.as_deref().unwrap_or("public");
        if schema_name == "public" {
            out.push(finding(
                Code::LintExtensionInPublic,
                Severity::Warning,
                Anchor::Extension(e.name.clone()),
                format!("extension `{}` is installed in the `public` schema, which the data API exposes", e.name),
                format!("write `- {{ name: {}, schema: extensions }}`", e.name),
            ));
        }
    }
    let mut policy_columns: BTreeMap<(String, String), Anchor> = BTreeMap::new();
    let mut reported_functions: BTreeSet<(String, String)> = BTreeSet::new();
    for t in &schema.tables {
        cx.table_security(t, &mut out);
        cx.policies(t, &mut out, &mut policy_columns, &mut reported_functions);
        cx.foreign_keys(t, &mut out);
        cx.duplicate_indexes(t, &mut out);
    }
    for ((table, column), anchor) in policy_columns {
        if !cx.covered(&table, &[column.as_str()]) {
            out.push(finding(
                Code::LintUnindexedPolicyColumn,
                Severity::Warning,
                anchor,
                format!("a policy filters on `{table}.{column}`, but no index starts with it: each check scans `{table}`"),
                format!("add `- {{ columns: [{column}] }}` to the `indexes:` of `{table}`"),
            ));
        }
    }
    exposure(schema, &mut out);
    if let Some(prev) = previous {
        migration(prev, schema, &mut out);
    }
    out
}

/// Column names that usually hold credentials or personal data (compared after lower-casing and
/// turning `-` into `_`). A column with such a name should never be readable by every request.
pub const SENSITIVE_COLUMN_NAMES: &[&str] = &[
    "password",
    "passwd",
    "password_hash",
    "secret",
    "client_secret",
    "api_key",
    "apikey",
    "access_token",
    "refresh_token",
    "token",
    "session_token",
    "private_key",
    "otp",
    "totp_secret",
    "recovery_code",
    "ssn",
    "social_security_number",
    "tax_id",
    "national_id",
    "passport_number",
    "credit_card",
    "card_number",
    "cvv",
    "cvc",
    "iban",
    "bank_account",
    "account_number",
    "routing_number",
    "medical_record",
    "health_record",
];

/// True if `column` has a name from [`SENSITIVE_COLUMN_NAMES`].
pub fn is_sensitive_column(column: &str) -> bool {
    let c = column.to_ascii_lowercase().replace('-', "_");
    SENSITIVE_COLUMN_NAMES.contains(&c.as_str())
}

/// Supabase-linter checks of what the API roles can reach: definer functions they can execute,
/// foreign keys to auth.users that are not its primary key, sensitive columns every request reads.
fn exposure(schema: &Schema, out: &mut Vec<Finding>) {
    for f in &schema.functions {
        let api: Vec<&str> = f
            .grant
            .iter()
            .filter(|r| matches!(r, DbRole::Anon | DbRole::Authenticated))
            .map(|r| r.name())
            .collect();
        let exposed = schema
            .hints
            .exposed_definers
            .iter()
            .any(|(s, n)| *s == f.schema && *n == f.name);
        // Only `public` is exposed through the data API (`/rest/v1/rpc`); definer helpers in
        // other schemas are called from policies, which need them executable.
        if f.schema == "public" && f.security_definer && !api.is_empty() && !exposed {
            out.push(finding(
                Code::LintDefinerExecutable,
                Severity::Error,
                Anchor::Function(f.schema.clone(), f.name.clone()),
                format!(
                    "`{}.{}` is `security definer` and executable by `{}`: it runs with its owner's rights and bypasses row level security, for anyone who can call `/rest/v1/rpc/{}`",
                    f.schema,
                    f.name,
                    api.join("`, `"),
                    f.name
                ),
                "make it `security: invoker` if row level security should apply; if it must run with the owner's rights for these callers (and checks who calls it), say so with `expose_definer: true`".into(),
            ));
        }
    }
    let access = crate::emit::access::Access::new(schema);
    for t in &schema.tables {
        for fk in &t.foreign_keys {
            if fk.target.schema == "auth" && fk.target_columns != ["id"] {
                out.push(finding(
                    Code::LintForeignKeyToAuthUnique,
                    Severity::Error,
                    Anchor::ForeignKey(t.name.clone(), fk.columns.clone()),
                    format!(
                        "foreign key `{}` references `{}.{}({})`, not its primary key: Supabase Auth manages those unique constraints and may change them, which breaks or blocks its own migrations",
                        fk.name,
                        fk.target.schema,
                        fk.target.name,
                        fk.target_columns.join(", ")
                    ),
                    format!("reference `{}.{}(id)` (the user's id) instead", fk.target.schema, fk.target.name),
                ));
            }
        }
        let mut exposed: Vec<&str> = Vec::new();
        let mut who: BTreeSet<&str> = BTreeSet::new();
        for actor in [
            crate::emit::access::Actor::Anon,
            crate::emit::access::Actor::Other,
        ] {
            if let crate::emit::access::Outcome::Allowed(cols) =
                access.outcome(t, actor, Command::Select)
            {
                for c in t.columns.iter().filter(|c| is_sensitive_column(&c.name)) {
                    if cols.as_ref().is_none_or(|cols| cols.contains(&c.name)) {
                        if !exposed.contains(&c.name.as_str()) {
                            exposed.push(&c.name);
                        }
                        who.insert(if actor == crate::emit::access::Actor::Anon {
                            "anonymous request"
                        } else {
                            "signed-in user"
                        });
                    }
                }
            }
        }
        if let Some(first) = exposed.first() {
            out.push(finding(
                Code::LintSensitiveColumnsExposed,
                Severity::Error,
                Anchor::Column(t.name.clone(), first.to_string()),
                format!(
                    "`{}` ({}) of every row of `{}` can be read by every {}",
                    exposed.join("`, `"),
                    if exposed.len() == 1 { "a sensitive name" } else { "sensitive names" },
                    t.name,
                    who.into_iter().collect::<Vec<_>>().join(" and every ")
                ),
                format!(
                    "limit who reads the rows (an `owner:` rule), or the columns: `grants: {{ anon: {{ select: [...] }}, authenticated: {{ select: [...] }} }}` without `{first}`"
                ),
            ));
        }
    }
}

/// Gives each finding a position and a path in the schema files (`files`, as parsed from the
/// sources; an empty slice when there is no source) and returns them sorted like compiler
/// diagnostics.
pub fn locate(findings: Vec<Finding>, files: &[syntax::File]) -> Vec<Diagnostic> {
    let mut diags = Diagnostics::default();
    let idx = SyntaxIndex::new(files);
    for f in findings {
        let (span, path) = idx
            .find(&f.anchor)
            .unwrap_or((Span::SYNTHETIC, f.anchor.default_path()));
        let d = match f.severity {
            Severity::Error => Diagnostic::error(f.code, span, path, f.message),
            Severity::Warning => Diagnostic::warning(f.code, span, path, f.message),
        };
        diags.push(d.help(f.help));
    }
    diags.into_sorted()
}

/// Lints `schema` (compiled from `sources`) and places the findings in the sources. The YAML is
/// parsed again only when there is something to report.
pub fn lint_sources(
    sources: &Sources,
    schema: &Schema,
    previous: Option<&Schema>,
) -> Vec<Diagnostic> {
    let findings = lint(schema, previous);
    if findings.is_empty() {
        return Vec::new();
    }
    let mut scratch = Diagnostics::default();
    let files: Vec<syntax::File> = sources
        .iter()
        .map(|(id, s)| syntax::yaml::parse(id, &s.text, &mut scratch))
        .collect();
    locate(findings, &files)
}

// ---------------------------------------------------------------------------------------------
// Index coverage (shared with the live lint)
// ---------------------------------------------------------------------------------------------

/// The leading key columns of one index usable for equality lookups (btree, or single-column
/// hash; never partial).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexKey {
    pub columns: Vec<String>,
    pub hash: bool,
}

/// True when some index of `keys` can find rows by all of `columns` (in any order): its first
/// `columns.len()` key columns are exactly those columns.
pub fn covered_by(keys: &[IndexKey], columns: &[&str]) -> bool {
    if columns.is_empty() {
        return true;
    }
    keys.iter().any(|k| {
        if k.hash {
            return columns.len() == 1 && k.columns.first().map(|c| c.as_str()) == Some(columns[0]);
        }
        k.columns.len() >= columns.len()
            && columns
                .iter()
                .all(|c| k.columns[..columns.len()].iter().any(|x| x == c))
    })
}

fn table_keys(t: &Table) -> Vec<IndexKey> {
    let mut keys = Vec::new();
    if !t.primary_key.is_empty() {
        keys.push(IndexKey {
            columns: t.primary_key.clone(),
            hash: false,
        });
    }
    for u in &t.uniques {
        keys.push(IndexKey {
            columns: u.columns.clone(),
            hash: false,
        });
    }
    for ix in &t.indexes {
        if ix.where_.is_some() {
            continue;
        }
        match ix.method {
            ir::IndexMethod::Btree => keys.push(IndexKey {
                columns: ix.columns.iter().map(|c| c.name.clone()).collect(),
                hash: false,
            }),
            ir::IndexMethod::Hash => keys.push(IndexKey {
                columns: ix.columns.iter().map(|c| c.name.clone()).collect(),
                hash: true,
            }),
            _ => {}
        }
    }
    keys
}

// ---------------------------------------------------------------------------------------------
// Policy expression analysis (shared with the live lint)
// ---------------------------------------------------------------------------------------------

/// What a policy expression does, as far as the lint is concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExprFacts {
    /// Calls evaluated once per row that could be evaluated once per statement, as written
    /// (`auth.uid()`, `current_setting('x')`, a user function with constant arguments).
    pub per_row_calls: Vec<String>,
    /// `(table, column)` compared with a per-statement value (`= (select auth.uid())`,
    /// `in (select ...)`, `= any (array(...))`): these want an index. Only tables of `public`.
    pub filter_columns: Vec<(String, String)>,
    /// Every function called, as (schema if written, name).
    pub functions: Vec<(Option<String>, String)>,
    /// The expression is `true` whatever the row and the user.
    pub always_true: bool,
    /// Mentions `user_metadata` / `raw_user_meta_data`, which every user can edit.
    pub reads_user_metadata: bool,
}

/// True if `text` reads the user-editable metadata of Supabase Auth.
pub fn mentions_user_metadata(text: &str) -> bool {
    let l = text.to_ascii_lowercase();
    l.contains("user_metadata") || l.contains("raw_user_meta_data")
}

/// Analyses one policy expression of `table` (a table of `public`). `is_user_function(schema,
/// name)` says whether a call names a function of the schema (not a built-in). `None` when the
/// text does not parse as one expression.
pub fn analyze(
    sql: &str,
    table: &str,
    is_user_function: &dyn Fn(Option<&str>, &str) -> bool,
) -> Option<ExprFacts> {
    let expr = parse_expr(sql)?;
    let mut a = Analyzer {
        is_user_function,
        scopes: vec![vec![(Some(table.to_string()), table.to_string())]],
        wrapped: HashSet::new(),
        facts: ExprFacts::default(),
    };
    let _ = expr.visit(&mut a);
    let mut facts = a.facts;
    facts.always_true = always_true(&expr);
    facts.reads_user_metadata = mentions_user_metadata(sql);
    facts.filter_columns.sort();
    facts.filter_columns.dedup();
    facts.per_row_calls.dedup();
    Some(facts)
}

/// A text-only fallback for expressions the parser cannot read: `auth.*()` and
/// `current_setting(` calls not directly preceded by `select`.
pub fn per_row_calls_in_text(sql: &str) -> Vec<String> {
    let lower = sql.to_ascii_lowercase();
    let mut calls = Vec::new();
    let mut needles: Vec<String> = AUTH_FUNCTIONS
        .iter()
        .map(|f| format!("auth.{f}()"))
        .collect();
    needles.push("current_setting(".into());
    for n in &needles {
        let mut from = 0;
        while let Some(i) = lower[from..].find(n.as_str()) {
            let at = from + i;
            let before = lower[..at].trim_end_matches(|c: char| c.is_whitespace() || c == '(');
            if !before.ends_with("select") && !calls.contains(n) {
                calls.push(n.clone());
            }
            from = at + n.len();
        }
    }
    calls
}

fn parse_expr(sql: &str) -> Option<Expr> {
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect).try_with_sql(sql).ok()?;
    let e = p.parse_expr().ok()?;
    (p.peek_token().token == Token::EOF).then_some(e)
}

fn object_name(n: &ObjectName) -> Vec<String> {
    n.0.iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) if i.quote_style.is_none() => {
                i.value.to_ascii_lowercase()
            }
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn is_constant(e: &Expr) -> bool {
    match e {
        Expr::Value(_) | Expr::TypedString(_) => true,
        Expr::Nested(x) | Expr::Cast { expr: x, .. } | Expr::UnaryOp { expr: x, .. } => {
            is_constant(x)
        }
        _ => false,
    }
}

fn always_true(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(v.value, Value::Boolean(true)),
        Expr::Nested(x) | Expr::Cast { expr: x, .. } => always_true(x),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Or => always_true(left) || always_true(right),
            BinaryOperator::And => always_true(left) && always_true(right),
            BinaryOperator::Eq => {
                is_constant(left) && is_constant(right) && left.to_string() == right.to_string()
            }
            _ => false,
        },
        _ => false,
    }
}

/// Finds column references outside subqueries.
struct RowRefs {
    depth: usize,
}

impl Visitor for RowRefs {
    type Break = ();
    fn pre_visit_query(&mut self, _: &sqlparser::ast::Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }
    fn post_visit_query(&mut self, _: &sqlparser::ast::Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if self.depth == 0 && matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn has_row_refs<T: Visit>(node: &T) -> bool {
    node.visit(&mut RowRefs { depth: 0 }).is_break()
}

/// A value that is the same for every row of the statement (and depends on the user or on
/// other tables): a subquery, or a function call over such values.
fn per_statement(e: &Expr) -> bool {
    match e {
        Expr::Subquery(_) => true,
        Expr::Function(f) => !has_row_refs(&f.args),
        Expr::Nested(x) | Expr::Cast { expr: x, .. } => per_statement(x),
        Expr::BinaryOp { left, right, .. } => {
            (per_statement(left) || is_constant(left))
                && (per_statement(right) || is_constant(right))
                && (per_statement(left) || per_statement(right))
        }
        _ => false,
    }
}

type Relations = Vec<(Option<String>, String)>;

struct Analyzer<'a> {
    is_user_function: &'a dyn Fn(Option<&str>, &str) -> bool,
    /// Per SELECT level: (public table name, or None for another schema; name or alias).
    scopes: Vec<Relations>,
    /// Addresses of the projection expressions of FROM-less SELECTs: calls there run once.
    wrapped: HashSet<usize>,
    facts: ExprFacts,
}

impl Analyzer<'_> {
    fn column_of(&self, e: &Expr) -> Option<(String, String)> {
        match e {
            Expr::Nested(x) => self.column_of(x),
            Expr::Identifier(id) => {
                let col = id.value.to_ascii_lowercase();
                let rels = self.scopes.iter().rev().find(|s| !s.is_empty())?;
                match rels.as_slice() {
                    [(Some(t), _)] => Some((t.clone(), col)),
                    _ => None,
                }
            }
            Expr::CompoundIdentifier(ids) if ids.len() >= 2 => {
                let col = ids[ids.len() - 1].value.to_ascii_lowercase();
                let qual = ids[ids.len() - 2].value.to_ascii_lowercase();
                if ids.len() == 3 && !ids[0].value.eq_ignore_ascii_case("public") {
                    return None;
                }
                for rels in self.scopes.iter().rev() {
                    if let Some((t, _)) = rels.iter().find(|(_, alias)| *alias == qual) {
                        return t.clone().map(|t| (t, col));
                    }
                }
                None
            }
            _ => None,
        }
    }

    fn filter(&mut self, col: &Expr, value: &Expr) {
        if per_statement(value) {
            if let Some(c) = self.column_of(col) {
                self.facts.filter_columns.push(c);
            }
        }
    }
}

fn push_relation(f: &TableFactor, out: &mut Relations) {
    if let TableFactor::Table { name, alias, .. } = f {
        let parts = object_name(name);
        let (table, bare) = match parts.as_slice() {
            [t] => (Some(t.clone()), t.clone()),
            [s, t] if s == "public" => (Some(t.clone()), t.clone()),
            [_, t] => (None, t.clone()),
            _ => return,
        };
        let alias = alias
            .as_ref()
            .map(|a| a.name.value.to_ascii_lowercase())
            .unwrap_or(bare);
        out.push((table, alias));
    }
}

impl Visitor for Analyzer<'_> {
    type Break = ();

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        if s.from.is_empty() {
            for item in &s.projection {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    self.wrapped.insert(e as *const Expr as usize);
                }
            }
        }
        let mut rels = Vec::new();
        for twj in &s.from {
            push_relation(&twj.relation, &mut rels);
            for j in &twj.joins {
                push_relation(&j.relation, &mut rels);
            }
        }
        self.scopes.push(rels);
        ControlFlow::Continue(())
    }

    fn post_visit_select(&mut self, _: &Select) -> ControlFlow<()> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Function(f) => {
                let name = object_name(&f.name);
                let (schema, fname) = match name.as_slice() {
                    [n] => (None, n.clone()),
                    [s, n] => (Some(s.clone()), n.clone()),
                    _ => return ControlFlow::Continue(()),
                };
                if schema.is_none() && fname == "array" {
                    return ControlFlow::Continue(());
                }
                let per_statement_candidate = match (schema.as_deref(), fname.as_str()) {
                    (Some("auth"), n) => AUTH_FUNCTIONS.contains(&n),
                    (None | Some("pg_catalog"), "current_setting") => true,
                    (s, n) => (self.is_user_function)(s, n),
                };
                let no_row_args =
                    !matches!(f.args, FunctionArguments::Subquery(_)) && !has_row_refs(&f.args);
                if per_statement_candidate
                    && no_row_args
                    && !self.wrapped.contains(&(e as *const Expr as usize))
                {
                    let call = e.to_string();
                    if !self.facts.per_row_calls.contains(&call) {
                        self.facts.per_row_calls.push(call);
                    }
                }
                self.facts.functions.push((schema, fname));
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                self.filter(left, right);
                self.filter(right, left);
            }
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } => self.filter(left, right),
            Expr::In {
                expr,
                target: InTarget::Subquery(_),
                negated: false,
                ..
            } => {
                if let Some(c) = self.column_of(expr) {
                    self.facts.filter_columns.push(c);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

// ---------------------------------------------------------------------------------------------
// Checks on the compiled schema
// ---------------------------------------------------------------------------------------------

struct Context<'a> {
    schema: &'a Schema,
    keys: HashMap<&'a str, Vec<IndexKey>>,
    /// Declared functions by (schema, name).
    functions: HashMap<(&'a str, &'a str), &'a ir::Function>,
    helpers: HashMap<&'a str, &'a Helper>,
    /// Declared functions that read user_metadata, themselves or through functions they call.
    metadata_readers: HashSet<(&'a str, &'a str)>,
}

impl<'a> Context<'a> {
    fn new(schema: &'a Schema) -> Self {
        let mut cx = Context {
            schema,
            keys: schema
                .tables
                .iter()
                .map(|t| (t.name.as_str(), table_keys(t)))
                .collect(),
            functions: schema
                .functions
                .iter()
                .map(|f| ((f.schema.as_str(), f.name.as_str()), f))
                .collect(),
            helpers: schema.helpers.iter().map(|h| (h.name(), h)).collect(),
            metadata_readers: HashSet::new(),
        };
        cx.metadata_readers = schema
            .functions
            .iter()
            .filter(|f| cx.function_reads_user_metadata(f))
            .map(|f| (f.schema.as_str(), f.name.as_str()))
            .collect();
        cx
    }

    fn covered(&self, table: &str, columns: &[&str]) -> bool {
        match self.keys.get(table) {
            Some(k) => covered_by(k, columns),
            // Not an app table (e.g. `auth.users`): nothing to say.
            None => true,
        }
    }

    fn is_user_function(&self, schema: Option<&str>, name: &str) -> bool {
        let s = schema.unwrap_or("public");
        self.functions.contains_key(&(s, name))
            || (s == self.schema.helpers_schema && self.helpers.contains_key(name))
    }

    fn function(&self, schema: Option<&str>, name: &str) -> Option<&'a ir::Function> {
        self.functions
            .get(&(schema.unwrap_or("public"), name))
            .copied()
    }

    /// True if the function, or a declared function it calls, reads user_metadata.
    fn function_reads_user_metadata(&self, f: &ir::Function) -> bool {
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut stack = vec![f];
        while let Some(f) = stack.pop() {
            if !seen.insert((f.schema.clone(), f.name.clone())) {
                continue;
            }
            if mentions_user_metadata(&f.body) {
                return true;
            }
            for (s, n) in called_names(&f.body) {
                if let Some(g) = self.function(s.as_deref(), &n) {
                    stack.push(g);
                }
            }
        }
        false
    }

    /// RLS disabled on an exposed table; grants without a policy.
    fn table_security(&self, t: &Table, out: &mut Vec<Finding>) {
        let api: Vec<&ir::Grant> = t
            .grants
            .iter()
            .filter(|g| g.role != DbRole::ServiceRole)
            .collect();
        if !t.rls {
            if !api.is_empty() {
                let mut by_role: BTreeMap<DbRole, Vec<&str>> = BTreeMap::new();
                for g in &api {
                    by_role.entry(g.role).or_default().push(g.command.sql());
                }
                let what: Vec<String> = by_role
                    .iter()
                    .map(|(r, cmds)| format!("`{}` may {}", r.name(), cmds.join(", ")))
                    .collect();
                out.push(finding(
                    Code::LintRlsDisabled,
                    Severity::Error,
                    Anchor::Rls(t.name.clone()),
                    format!(
                        "row level security is disabled on `{}`, and {}: every such request reaches every row",
                        t.name,
                        what.join(", ")
                    ),
                    "remove `rls: false`; for data everyone may read, keep row level security and add `- { for: select, public: true }`".into(),
                ));
            }
            return;
        }
        for g in api {
            let has_rule = t
                .rules
                .iter()
                .any(|r| r.role == g.role && r.command == g.command);
            if !has_rule {
                out.push(finding(
                    Code::LintNoPolicy,
                    Severity::Warning,
                    Anchor::Grant(t.name.clone(), g.role, g.command),
                    format!(
                        "`{}` may {} `{}`, but no policy allows it: with row level security every such {} silently matches no row",
                        g.role.name(),
                        g.command.sql(),
                        t.name,
                        g.command.sql()
                    ),
                    format!(
                        "add a policy `for: {}` for `{}`, or drop the grant (`{}: none`)",
                        g.command.sql(),
                        g.role.name(),
                        g.command.sql()
                    ),
                ));
            }
        }
    }

    fn policies(
        &self,
        t: &'a Table,
        out: &mut Vec<Finding>,
        policy_columns: &mut BTreeMap<(String, String), Anchor>,
        reported_functions: &mut BTreeSet<(String, String)>,
    ) {
        let rule_anchor = |r: &ir::Rule, part: RulePart| Anchor::Rule {
            table: t.name.clone(),
            label: r.label.clone(),
            command: r.command,
            part,
        };
        let is_user_fn = |s: Option<&str>, n: &str| self.is_user_function(s, n);
        // Custom expressions, analysed once each.
        let mut facts: HashMap<&str, Option<ExprFacts>> = HashMap::new();
        let mut analysed = |sql: &'a str| -> Option<ExprFacts> {
            facts
                .entry(sql)
                .or_insert_with(|| analyze(sql, &t.name, &is_user_fn))
                .clone()
        };
        let mut reported_exprs: HashSet<(&str, Code)> = HashSet::new();
        for r in &t.rules {
            for c in &r.conditions {
                match c {
                    Condition::Owner { column } => {
                        policy_columns
                            .entry((t.name.clone(), column.clone()))
                            .or_insert_with(|| rule_anchor(r, RulePart::Owner));
                    }
                    Condition::Member { column, helper } => {
                        policy_columns
                            .entry((t.name.clone(), column.clone()))
                            .or_insert_with(|| rule_anchor(r, RulePart::Member));
                        if let Some(Helper::MemberKeys {
                            through,
                            user_column,
                            ..
                        }) = self.helpers.get(helper.as_str())
                        {
                            policy_columns
                                .entry((through.clone(), user_column.clone()))
                                .or_insert_with(|| rule_anchor(r, RulePart::Member));
                        }
                    }
                    Condition::Parent {
                        column,
                        parent,
                        owner,
                        ..
                    } => {
                        policy_columns
                            .entry((t.name.clone(), column.clone()))
                            .or_insert_with(|| rule_anchor(r, RulePart::Parent));
                        if let (Some(o), "public") = (owner, parent.schema.as_str()) {
                            policy_columns
                                .entry((parent.name.clone(), o.clone()))
                                .or_insert_with(|| rule_anchor(r, RulePart::Parent));
                        }
                    }
                    Condition::HasRole { .. } => {
                        if let Some(ir::RoleSource::Column {
                            table, user_column, ..
                        }) = &self.schema.role_source
                        {
                            policy_columns
                                .entry((table.clone(), user_column.clone()))
                                .or_insert_with(|| rule_anchor(r, RulePart::Whole));
                        }
                    }
                    Condition::Always => {}
                    Condition::Custom { using, check } => {
                        for (sql, part) in [(using, RulePart::Using), (check, RulePart::Check)] {
                            let Some(sql) = sql.as_deref() else { continue };
                            let Some(f) = analysed(sql) else { continue };
                            for col in &f.filter_columns {
                                policy_columns
                                    .entry(col.clone())
                                    .or_insert_with(|| rule_anchor(r, part));
                            }
                            let mut user_metadata = f.reads_user_metadata;
                            let mut via = None;
                            for (s, n) in &f.functions {
                                let Some(func) = self.function(s.as_deref(), n) else {
                                    continue;
                                };
                                if !user_metadata
                                    && self
                                        .metadata_readers
                                        .contains(&(func.schema.as_str(), func.name.as_str()))
                                {
                                    user_metadata = true;
                                    via = Some(format!("{}.{}", func.schema, func.name));
                                }
                                if func.volatility == Volatility::Volatile
                                    && reported_functions
                                        .insert((func.schema.clone(), func.name.clone()))
                                {
                                    out.push(finding(
                                        Code::LintVolatileInPolicy,
                                        Severity::Warning,
                                        Anchor::Volatility(func.schema.clone(), func.name.clone()),
                                        format!(
                                            "`{}.{}` is called by a policy on `{}` but is volatile: PostgreSQL cannot evaluate it once per statement or inline it, so it runs for every row",
                                            func.schema, func.name, t.name
                                        ),
                                        "add `volatility: stable` (it reads the database but does not change it) or `immutable`".into(),
                                    ));
                                }
                            }
                            if user_metadata && reported_exprs.insert((sql, Code::LintUserMetadata))
                            {
                                let how = match via {
                                    Some(v) => format!("through `{v}`"),
                                    None => "directly".into(),
                                };
                                out.push(finding(
                                    Code::LintUserMetadata,
                                    Severity::Error,
                                    rule_anchor(r, part),
                                    format!(
                                        "a policy on `{}` reads `user_metadata` {how}: every user can edit their own, so they can grant themselves access",
                                        t.name
                                    ),
                                    "decide access from `auth.uid()`, `app_metadata` (set by the server) or a column users cannot write (`roles:`)".into(),
                                ));
                            }
                            if !f.per_row_calls.is_empty()
                                && reported_exprs.insert((sql, Code::LintPerRowCall))
                            {
                                let calls: Vec<String> =
                                    f.per_row_calls.iter().map(|c| format!("`{c}`")).collect();
                                let first = &f.per_row_calls[0];
                                out.push(finding(
                                    Code::LintPerRowCall,
                                    Severity::Warning,
                                    rule_anchor(r, part),
                                    format!(
                                        "a policy on `{}` calls {} once per row",
                                        t.name,
                                        calls.join(", ")
                                    ),
                                    format!("wrap the call in a subquery, `(select {first})`, so PostgreSQL evaluates it once per statement"),
                                ));
                            }
                        }
                    }
                }
            }
        }
        // Always-true policies: one permissive policy per (command, role), OR of its rules.
        let mut groups: BTreeMap<(Command, DbRole), Vec<&ir::Rule>> = BTreeMap::new();
        for r in &t.rules {
            groups.entry((r.command, r.role)).or_default().push(r);
        }
        for ((cmd, role), rules) in groups {
            let mut sides = Vec::new();
            if matches!(cmd, Command::Select | Command::Update | Command::Delete) {
                sides.push(Side::Using);
            }
            if matches!(cmd, Command::Insert | Command::Update) {
                sides.push(Side::Check);
            }
            'sides: for side in sides {
                for r in &rules {
                    let Some(custom) = rule_always_true(r, side, &mut analysed) else {
                        continue;
                    };
                    let part = match (custom, side) {
                        (false, _) => RulePart::Whole,
                        (true, Side::Using) => RulePart::Using,
                        (true, Side::Check) => RulePart::Check,
                    };
                    if cmd == Command::Select {
                        // `public: true` / `authenticated: true` say the table is readable by
                        // all on purpose; only a custom expression that is always true is odd.
                        if custom {
                            out.push(finding(
                                Code::LintAlwaysTrue,
                                Severity::Warning,
                                rule_anchor(r, part),
                                format!(
                                    "the select policy for `{}` on `{}` is always true: every row is readable",
                                    role.name(),
                                    t.name
                                ),
                                "if the table is meant to be readable by all, say so with `public: true` or `authenticated: true`; otherwise add a condition".into(),
                            ));
                        }
                    } else {
                        let what = match (cmd, side) {
                            (Command::Insert, _) => "insert any row".to_string(),
                            (Command::Update, Side::Using) => "update every row".to_string(),
                            (Command::Update, Side::Check) => {
                                "write any values into the rows it may update".to_string()
                            }
                            _ => "delete every row".to_string(),
                        };
                        out.push(finding(
                            Code::LintAlwaysTrue,
                            Severity::Error,
                            rule_anchor(r, part),
                            format!(
                                "the {} policy for `{}` on `{}` is always true: every `{}` request may {what}",
                                cmd.sql(),
                                role.name(),
                                t.name,
                                role.name()
                            ),
                            "restrict who may write, e.g. `owner: user_id`, `parent: { column: ..., owner: ... }` or a `check:` / `using:` condition".into(),
                        ));
                    }
                    break 'sides;
                }
            }
        }
    }

    fn foreign_keys(&self, t: &Table, out: &mut Vec<Finding>) {
        for fk in &t.foreign_keys {
            let cols: Vec<&str> = fk.columns.iter().map(|c| c.as_str()).collect();
            if !self.covered(&t.name, &cols) {
                out.push(finding(
                    Code::LintUnindexedForeignKey,
                    Severity::Warning,
                    Anchor::ForeignKey(t.name.clone(), fk.columns.clone()),
                    format!(
                        "foreign key `{}` of `{}` ({}) has no index that starts with its columns: deleting or updating a row of `{}` scans `{}`",
                        fk.name,
                        t.name,
                        fk.columns.join(", "),
                        if fk.target.schema == "public" {
                            fk.target.name.clone()
                        } else {
                            format!("{}.{}", fk.target.schema, fk.target.name)
                        },
                        t.name
                    ),
                    format!(
                        "add `- {{ columns: [{}] }}` to the `indexes:` of `{}`",
                        fk.columns.join(", "),
                        t.name
                    ),
                ));
            }
        }
    }

    fn duplicate_indexes(&self, t: &Table, out: &mut Vec<Finding>) {
        // key -> names (constraint indexes first).
        let mut seen: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
        let plain = |cols: &[String]| -> String { format!("btree ({}) where ()", cols.join(", ")) };
        if !t.primary_key.is_empty() {
            seen.entry(plain(&t.primary_key))
                .or_default()
                .push((format!("{}_pkey (primary key)", t.name), None));
        }
        for u in &t.uniques {
            seen.entry(plain(&u.columns))
                .or_default()
                .push((format!("{} (unique constraint)", u.name), None));
        }
        for ix in &t.indexes {
            let cols: Vec<String> = ix
                .columns
                .iter()
                .map(|c| {
                    let mut s = c.name.clone();
                    if let Some(o) = &ix.opclass {
                        s = format!("{s} {o}");
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
            let key = format!(
                "{} ({}) where ({})",
                ix.method.sql(),
                cols.join(", "),
                ix.where_.as_deref().unwrap_or("")
            );
            seen.entry(key)
                .or_default()
                .push((ix.name.clone(), Some(ix.name.clone())));
        }
        for (key, names) in seen {
            if names.len() < 2 {
                continue;
            }
            // Point at a declared index (the last by name): the one to remove.
            let Some(anchor_name) = names.iter().rev().find_map(|(_, ix)| ix.clone()) else {
                continue;
            };
            let list: Vec<String> = names.iter().map(|(n, _)| format!("`{n}`")).collect();
            out.push(finding(
                Code::LintDuplicateIndex,
                Severity::Warning,
                Anchor::Index(t.name.clone(), anchor_name.clone()),
                format!(
                    "{} on `{}` are the same index ({key}): every write maintains both, and only one is ever used",
                    list.join(" and "),
                    t.name
                ),
                format!("remove `{anchor_name}` from the `indexes:` of `{}`", t.name),
            ));
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Using,
    Check,
}

/// Whether a rule lets every row through on `side` (mirroring how the emitter builds the
/// policy): `Some(true)` through a custom expression, `Some(false)` through `Always` templates
/// (or no condition on that side), `None` when it restricts.
fn rule_always_true<'s>(
    r: &'s ir::Rule,
    side: Side,
    analysed: &mut dyn FnMut(&'s str) -> Option<ExprFacts>,
) -> Option<bool> {
    let mut custom = false;
    for c in &r.conditions {
        match c {
            Condition::Always => {}
            Condition::Custom { using, check } => {
                let text = match side {
                    Side::Using => using.as_deref(),
                    Side::Check => check.as_deref().or(using.as_deref()),
                };
                if let Some(sql) = text {
                    if !analysed(sql).is_some_and(|f| f.always_true) {
                        return None;
                    }
                    custom = true;
                }
            }
            _ => return None,
        }
    }
    Some(custom)
}

/// Qualified or bare names followed by `(` in a function body: (schema, name), lower-cased.
fn called_names(body: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
    while i < bytes.len() {
        if word(bytes[i]) && (i == 0 || !word(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && word(bytes[i]) {
                i += 1;
            }
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'(' {
                let name = body[start..i].to_ascii_lowercase();
                match name.split_once('.') {
                    Some((s, n)) => out.push((Some(s.to_string()), n.to_string())),
                    None => out.push((None, name)),
                }
            }
        } else {
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Migration safety (previous compiled schema -> this one)
// ---------------------------------------------------------------------------------------------

/// Functions whose value changes per row: a column added with such a default rewrites the table.
const VOLATILE_DEFAULTS: &[&str] = &[
    "gen_random_uuid(",
    "uuid_generate_v4(",
    "random(",
    "clock_timestamp(",
    "timeofday(",
    "nextval(",
];

/// True when PostgreSQL changes the column type without rewriting or scanning the table.
fn binary_compatible(old: &SqlType, new: &SqlType) -> bool {
    match (old, new) {
        (a, b) if a == b => true,
        (SqlType::Varchar(a), SqlType::Varchar(b)) => b >= a,
        (SqlType::Varchar(_), SqlType::Text) => true,
        (SqlType::Numeric(Some((p1, s1))), SqlType::Numeric(Some((p2, s2)))) => {
            s1 == s2 && p2 >= p1
        }
        (SqlType::Numeric(Some(_)), SqlType::Numeric(None)) => true,
        _ => false,
    }
}

fn type_name(t: &SqlType) -> String {
    crate::types::sql(t, None)
}

fn same_index(a: &ir::Index, b: &ir::Index) -> bool {
    a.columns == b.columns
        && a.method == b.method
        && a.opclass == b.opclass
        && a.with == b.with
        && a.unique == b.unique
        && a.where_ == b.where_
}

fn migration(old: &Schema, new: &Schema, out: &mut Vec<Finding>) {
    let old_tables: HashMap<&str, &Table> =
        old.tables.iter().map(|t| (t.name.as_str(), t)).collect();
    for n in &new.tables {
        // The previous table: same name, or renamed by a hint.
        let old_name = new
            .hints
            .table_renames
            .iter()
            .find(|(from, to)| {
                to == &n.name
                    && old_tables.contains_key(from.as_str())
                    && !old_tables.contains_key(n.name.as_str())
            })
            .map(|(from, _)| from.as_str())
            .unwrap_or(n.name.as_str());
        let Some(o) = old_tables.get(old_name) else {
            continue;
        };
        let renamed_from = |col: &str| -> String {
            new.hints
                .column_renames
                .iter()
                .find(|(t, from, to)| t == &n.name && to == col && o.column(from).is_some())
                .map(|(_, from, _)| from.clone())
                .unwrap_or_else(|| col.to_string())
        };
        let rename_cols =
            |cols: &[String]| -> Vec<String> { cols.iter().map(|c| renamed_from(c)).collect() };
        for c in &n.columns {
            let path = format!("{}.{}", n.name, c.name);
            match o.column(&renamed_from(&c.name)) {
                Some(oc) => {
                    if !binary_compatible(&oc.ty, &c.ty) {
                        out.push(finding(
                            Code::LintTableRewrite,
                            Severity::Warning,
                            Anchor::ColumnType(n.name.clone(), c.name.clone()),
                            format!(
                                "changing `{path}` from `{}` to `{}` rewrites `{}` (and rebuilds its indexes) under an ACCESS EXCLUSIVE lock: reads and writes wait until it is done",
                                type_name(&oc.ty),
                                type_name(&c.ty),
                                n.name
                            ),
                            "on a large table, add a new column, backfill it in batches, and switch over in a later migration".into(),
                        ));
                    }
                    if oc.nullable && !c.nullable {
                        out.push(finding(
                            Code::LintNotNullExisting,
                            Severity::Warning,
                            Anchor::Column(n.name.clone(), c.name.clone()),
                            match &c.default {
                                // The migration fills null rows with the default first.
                                Some(d) => format!(
                                    "`{path}` becomes NOT NULL: the migration sets every null `{}` to `{d}` and then scans all of `{}`, under an ACCESS EXCLUSIVE lock",
                                    c.name, n.name
                                ),
                                None => format!(
                                    "`{path}` becomes NOT NULL: PostgreSQL scans all of `{}` under an ACCESS EXCLUSIVE lock, and the migration fails if any row is null",
                                    n.name
                                ),
                            },
                            format!(
                                "backfill first (`update ... set {} = ... where {} is null`), then add `check ({} is not null) not valid`, validate it, and only then set NOT NULL",
                                c.name, c.name, c.name
                            ),
                        ));
                    }
                }
                None => {
                    let volatile_default = c.default.as_deref().is_some_and(|d| {
                        let d = d.to_ascii_lowercase();
                        VOLATILE_DEFAULTS.iter().any(|v| d.contains(v))
                    });
                    if c.generated.is_some() || c.identity.is_some() || volatile_default {
                        let why = if c.generated.is_some() {
                            "a stored generated column".to_string()
                        } else if c.identity.is_some() {
                            "an identity column".to_string()
                        } else {
                            format!(
                                "a column whose default `{}` differs per row",
                                c.default.as_deref().unwrap_or_default()
                            )
                        };
                        out.push(finding(
                            Code::LintTableRewrite,
                            Severity::Warning,
                            Anchor::Column(n.name.clone(), c.name.clone()),
                            format!(
                                "adding `{path}`, {why}, to the existing table `{}` rewrites it under an ACCESS EXCLUSIVE lock",
                                n.name
                            ),
                            "add the column without the default (or as a plain column), backfill it in batches, then set the default".into(),
                        ));
                    } else if !c.nullable && c.default.is_none() {
                        out.push(finding(
                            Code::LintNotNullExisting,
                            Severity::Warning,
                            Anchor::Column(n.name.clone(), c.name.clone()),
                            format!(
                                "`{path}` is added as NOT NULL without a default: the migration fails as soon as `{}` has a row",
                                n.name
                            ),
                            format!(
                                "give it a constant `default:`, or add it nullable (`{}?`), backfill it, and make it NOT NULL in a later migration",
                                type_name(&c.ty)
                            ),
                        ));
                    }
                }
            }
        }
        for ix in &n.indexes {
            let existed = o.indexes.iter().any(|x| {
                same_index(
                    x,
                    &ir::Index {
                        columns: ix
                            .columns
                            .iter()
                            .map(|c| ir::IndexColumn {
                                name: renamed_from(&c.name),
                                ..c.clone()
                            })
                            .collect(),
                        ..ix.clone()
                    },
                )
            });
            if !existed {
                out.push(finding(
                    Code::LintIndexNotConcurrent,
                    Severity::Warning,
                    Anchor::Index(n.name.clone(), ix.name.clone()),
                    format!(
                        "index `{}` is added to the existing table `{}` with a plain `create index`: writes to `{}` wait until it is built",
                        ix.name, n.name, n.name
                    ),
                    "on a large table, build it with `create index concurrently` in a migration of its own (it cannot run inside a transaction)".into(),
                ));
            }
        }
        for u in &n.uniques {
            let cols = rename_cols(&u.columns);
            if !o.uniques.iter().any(|x| x.columns == cols) {
                out.push(finding(
                    Code::LintIndexNotConcurrent,
                    Severity::Warning,
                    Anchor::Unique(n.name.clone(), u.columns.clone()),
                    format!(
                        "unique constraint `{}` is added to the existing table `{}`: its index is built while writes to `{}` wait",
                        u.name, n.name, n.name
                    ),
                    "on a large table, `create unique index concurrently` first, then `alter table ... add constraint ... unique using index`".into(),
                ));
            }
        }
        for fk in &n.foreign_keys {
            let cols = rename_cols(&fk.columns);
            let existed = o.foreign_keys.iter().any(|x| {
                x.columns == cols
                    && x.target == fk.target
                    && x.target_columns == fk.target_columns
                    && x.on_delete == fk.on_delete
            });
            if !existed {
                out.push(finding(
                    Code::LintConstraintValidation,
                    Severity::Warning,
                    Anchor::ForeignKey(n.name.clone(), fk.columns.clone()),
                    format!(
                        "foreign key `{}` is added to the existing table `{}` and validated at once: every row is checked while `{}` and `{}` are locked against writes",
                        fk.name, n.name, n.name, fk.target.name
                    ),
                    "add it `not valid` (new rows are checked), then `alter table ... validate constraint ...` in a later migration, which does not block writes".into(),
                ));
            }
        }
        for ch in &n.checks {
            if !o.checks.iter().any(|x| x.expr == ch.expr) {
                out.push(finding(
                    Code::LintConstraintValidation,
                    Severity::Warning,
                    Anchor::Check(n.name.clone(), ch.name.clone()),
                    format!(
                        "check constraint `{}` is added to the existing table `{}` and validated at once: every row is checked under an ACCESS EXCLUSIVE lock",
                        ch.name, n.name
                    ),
                    "add it `not valid`, then `alter table ... validate constraint ...` in a later migration, which does not block writes".into(),
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Positions: anchors -> spans in the schema file
// ---------------------------------------------------------------------------------------------

struct SyntaxIndex<'a> {
    tables: HashMap<&'a str, &'a syntax::Table>,
    functions: HashMap<&'a str, &'a syntax::Function>,
    extensions: HashMap<&'a str, (usize, &'a syntax::Extension)>,
}

fn first_word(s: &str) -> String {
    s.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

impl<'a> SyntaxIndex<'a> {
    fn new(files: &'a [syntax::File]) -> Self {
        let mut idx = SyntaxIndex {
            tables: HashMap::new(),
            functions: HashMap::new(),
            extensions: HashMap::new(),
        };
        for f in files {
            for t in &f.tables {
                idx.tables.entry(t.name.value.as_str()).or_insert(t);
            }
            for func in &f.functions {
                idx.functions
                    .entry(func.name.value.as_str())
                    .or_insert(func);
            }
            for (i, e) in f.extensions.iter().enumerate() {
                idx.extensions
                    .entry(e.name.value.as_str())
                    .or_insert((i, e));
            }
        }
        idx
    }

    fn find(&self, a: &Anchor) -> Option<(Span, String)> {
        let table = |t: &str| self.tables.get(t).copied();
        fn column<'t>(t: &'t syntax::Table, c: &str) -> Option<&'t syntax::Column> {
            t.columns.iter().find(|x| x.name.value == c)
        }
        match a {
            Anchor::Table(t) => {
                let st = table(t)?;
                Some((st.name.span, format!("tables.{t}")))
            }
            Anchor::Rls(t) => {
                let st = table(t)?;
                let span = st.rls.as_ref().map(|b| b.span).unwrap_or(st.name.span);
                Some((span, format!("tables.{t}.rls")))
            }
            Anchor::Column(t, c) => {
                let st = table(t)?;
                let sc = column(st, c)?;
                Some((sc.name.span, format!("tables.{t}.columns.{c}")))
            }
            Anchor::ColumnType(t, c) => {
                let st = table(t)?;
                let sc = column(st, c)?;
                let span = if sc.ty.span.is_synthetic() {
                    sc.name.span
                } else {
                    sc.ty.span
                };
                Some((span, format!("tables.{t}.columns.{c}.type")))
            }
            Anchor::ForeignKey(t, cols) => {
                let st = table(t)?;
                if cols.len() == 1 {
                    if let Some(sc) = column(st, &cols[0]) {
                        if let Some(r) = &sc.references {
                            return Some((
                                r.span,
                                format!("tables.{t}.columns.{}.references", cols[0]),
                            ));
                        }
                    }
                }
                let (i, fk) = st.foreign_keys.iter().enumerate().find(|(_, fk)| {
                    fk.columns.len() == cols.len()
                        && fk.columns.iter().zip(cols).all(|(a, b)| &a.value == b)
                })?;
                Some((fk.span, format!("tables.{t}.foreign_keys[{i}]")))
            }
            Anchor::Check(t, name) => {
                let st = table(t)?;
                if let Some(ch) = st.checks.iter().find(|c| &c.name.value == name) {
                    return Some((ch.expr.span, format!("tables.{t}.checks.{name}")));
                }
                let sc = st.columns.iter().find(|c| {
                    c.check.is_some()
                        && crate::lower::fit_name(format!("{t}_{}_check", c.name.value)) == *name
                })?;
                let ch = sc.check.as_ref()?;
                Some((
                    ch.span,
                    format!("tables.{t}.columns.{}.check", sc.name.value),
                ))
            }
            Anchor::Index(t, name) => {
                let st = table(t)?;
                for (i, ix) in st.indexes.iter().enumerate() {
                    let cols: Vec<String> =
                        ix.columns.iter().map(|c| first_word(&c.value)).collect();
                    let ix_name = match &ix.name {
                        Some(n) => n.value.clone(),
                        None => crate::lower::fit_name(format!("{t}_{}_idx", cols.join("_"))),
                    };
                    if &ix_name == name {
                        return Some((ix.span, format!("tables.{t}.indexes[{i}]")));
                    }
                }
                // An index schemac added (foreign key, policy column): point at the table.
                Some((st.name.span, format!("tables.{t}")))
            }
            Anchor::Unique(t, cols) => {
                let st = table(t)?;
                if cols.len() == 1 {
                    if let Some(sc) = column(st, &cols[0]).filter(|c| c.unique) {
                        return Some((sc.name.span, format!("tables.{t}.columns.{}", cols[0])));
                    }
                }
                let u = st.uniques.iter().find(|u| {
                    u.value.len() == cols.len()
                        && u.value.iter().zip(cols).all(|(a, b)| &a.value == b)
                })?;
                Some((u.span, format!("tables.{t}.unique")))
            }
            Anchor::PrimaryKey(t) => {
                let st = table(t)?;
                let span = st
                    .primary_key
                    .as_ref()
                    .map(|p| p.span)
                    .or_else(|| {
                        st.columns
                            .iter()
                            .find(|c| c.primary_key)
                            .map(|c| c.name.span)
                    })
                    .unwrap_or(st.name.span);
                Some((span, format!("tables.{t}.primary_key")))
            }
            Anchor::Grant(t, role, cmd) => {
                let st = table(t)?;
                match st
                    .grants
                    .iter()
                    .find(|g| g.role.value == role.name() && g.command.value == cmd.sql())
                {
                    Some(g) => Some((
                        g.span,
                        format!("tables.{t}.grants.{}.{}", role.name(), cmd.sql()),
                    )),
                    None => Some((st.name.span, format!("tables.{t}"))),
                }
            }
            Anchor::Rule {
                table: t,
                label,
                command,
                part,
            } => {
                let st = table(t)?;
                let covers = |p: &syntax::PolicyRule| {
                    p.commands.is_empty()
                        || p.commands.iter().any(|c| {
                            let c = c.value.to_ascii_lowercase();
                            c == "all" || c == command.sql()
                        })
                };
                let p = st
                    .policies
                    .iter()
                    .find(|p| p.name.as_ref().map(|n| &n.value) == label.as_ref() && covers(p))
                    .or_else(|| st.policies.iter().find(|p| covers(p)))?;
                let (span, suffix) = match part {
                    RulePart::Using => (p.using.as_ref().map(|n| n.span), ".using"),
                    RulePart::Check => (
                        p.check.as_ref().or(p.using.as_ref()).map(|n| n.span),
                        if p.check.is_some() {
                            ".check"
                        } else {
                            ".using"
                        },
                    ),
                    RulePart::Owner => (p.owner.as_ref().map(|n| n.span), ".owner"),
                    RulePart::Member => (p.member.as_ref().map(|m| m.span), ".member"),
                    RulePart::Parent => (p.parent.as_ref().map(|m| m.span), ".parent"),
                    RulePart::Whole => (None, ""),
                };
                match span {
                    Some(s) => Some((s, format!("{}{suffix}", p.path))),
                    None => Some((p.span, p.path.clone())),
                }
            }
            Anchor::Function(_, name) => {
                let f = self.functions.get(name.as_str())?;
                Some((f.name.span, format!("functions.{name}")))
            }
            Anchor::Volatility(_, name) => {
                let f = self.functions.get(name.as_str())?;
                let span = f.volatility.as_ref().map(|v| v.span).unwrap_or(f.name.span);
                Some((span, format!("functions.{name}.volatility")))
            }
            Anchor::Extension(name) => {
                let (i, e) = self.extensions.get(name.as_str())?;
                let span = e.schema.as_ref().map(|s| s.span).unwrap_or(e.name.span);
                Some((span, format!("extensions[{i}].schema")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(sql: &str) -> ExprFacts {
        analyze(sql, "notes", &|s, n| {
            s == Some("private") && n == "team_ids"
        })
        .expect("parses")
    }

    #[test]
    fn per_row_calls_are_found_unless_wrapped() {
        assert_eq!(
            facts("auth.uid() = user_id").per_row_calls,
            vec!["auth.uid()"]
        );
        assert!(facts("user_id = (select auth.uid())")
            .per_row_calls
            .is_empty());
        // PostgreSQL's own rendering of the wrapped form.
        assert!(facts("(user_id = ( SELECT auth.uid() AS uid))")
            .per_row_calls
            .is_empty());
        assert_eq!(
            facts("team_id in (select t.id from teams t where t.owner = auth.uid())").per_row_calls,
            vec!["auth.uid()"]
        );
        assert!(facts("team_id in (select private.team_ids())")
            .per_row_calls
            .is_empty());
        assert_eq!(
            facts("team_id = private.team_ids()").per_row_calls,
            vec!["private.team_ids()"]
        );
        // A call with a column argument cannot be hoisted: not reported.
        assert!(facts("private.team_ids(team_id)").per_row_calls.is_empty());
    }

    #[test]
    fn filter_columns_follow_aliases_into_subqueries() {
        let f = facts(
            "team_id in (select t.id from public.teams t where t.owner = (select auth.uid()))",
        );
        assert_eq!(
            f.filter_columns,
            vec![
                ("notes".to_string(), "team_id".to_string()),
                ("teams".into(), "owner".into())
            ]
        );
        // Constants and other columns are not index candidates.
        assert!(facts("is_public = true and a = b")
            .filter_columns
            .is_empty());
        assert_eq!(
            facts("user_id = any (array(select private.team_ids()))").filter_columns,
            vec![("notes".to_string(), "user_id".to_string())]
        );
    }

    #[test]
    fn always_true_expressions() {
        assert!(facts("true").always_true);
        assert!(facts("(1 = 1)").always_true);
        assert!(facts("user_id = (select auth.uid()) or true").always_true);
        assert!(!facts("user_id = (select auth.uid())").always_true);
        assert!(!facts("true and user_id = (select auth.uid())").always_true);
    }

    #[test]
    fn text_fallback() {
        assert_eq!(
            per_row_calls_in_text("(auth.uid() = owner_id)"),
            vec!["auth.uid()"]
        );
        assert!(per_row_calls_in_text("(owner_id = ( SELECT auth.uid() AS uid))").is_empty());
    }

    fn compiled(yaml: &str) -> Schema {
        let mut sources = Sources::new();
        sources.add("t.yaml", yaml);
        let c = crate::compile(&sources);
        c.ir.unwrap_or_else(|| panic!("{:#?}", c.diagnostics))
    }

    const NOTES: &str = "tables:\n  notes:\n    columns:\n      id: { type: uuid, primary_key: true, default: gen_random_uuid() }\n      body: text?\n      created_at: { type: timestamptz, default: now() }\n    indexes:\n      - { columns: [created_at] }\n    policies:\n      - { for: select, authenticated: true }\n";

    #[test]
    fn migration_findings_follow_renames_and_defaults() {
        let old = compiled(NOTES);
        // A renamed table keeps its indexes: nothing is rebuilt.
        let renamed = compiled(&NOTES.replace("  notes:\n", "  memos:\n    renamed_from: notes\n"));
        assert!(
            lint(&renamed, Some(&old)).is_empty(),
            "{:#?}",
            lint(&renamed, Some(&old))
        );
        // So does a renamed column.
        let col = compiled(&NOTES.replace("      created_at: { type: timestamptz, default: now() }", "      written_at: { type: timestamptz, default: now(), renamed_from: created_at }").replace("[created_at]", "[written_at]"));
        assert!(
            lint(&col, Some(&old)).is_empty(),
            "{:#?}",
            lint(&col, Some(&old))
        );
        // NOT NULL with a default: the migration backfills, then scans.
        let nn = compiled(&NOTES.replace("body: text?", "body: { type: text, default: \"''\" }"));
        let f = lint(&nn, Some(&old));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].code, Code::LintNotNullExisting);
        assert!(
            f[0].message.contains("sets every null `body`"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn coverage_needs_the_leading_columns() {
        let keys = vec![
            IndexKey {
                columns: vec!["a".into(), "b".into()],
                hash: false,
            },
            IndexKey {
                columns: vec!["h".into()],
                hash: true,
            },
        ];
        assert!(covered_by(&keys, &["a"]));
        assert!(covered_by(&keys, &["b", "a"]));
        assert!(!covered_by(&keys, &["b"]));
        assert!(covered_by(&keys, &["h"]));
        assert!(!covered_by(&keys, &["a", "c"]));
    }
}
