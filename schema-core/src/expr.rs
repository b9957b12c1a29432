//! User-written SQL expressions (defaults, checks, generated columns, index predicates, policy
//! USING / WITH CHECK, seed `$sql`): parsed with sqlparser's PostgreSQL dialect, checked against
//! the schema (columns, tables, functions), rewritten (`auth.uid()` -> `(select auth.uid())` in
//! policies) and re-emitted canonically from the AST.

use crate::diag::{help_for, Code, Diagnostic, Diagnostics};
use crate::sql::expr as sqlexpr;
use crate::sql::lex;
use crate::syntax::Name;
use sqlparser::ast::{Expr, ObjectName, ObjectNamePart, TableFactor, Visit, Visitor};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;
use std::ops::ControlFlow;

/// The Supabase auth functions (`auth.uid()` ...): stable, per statement, wrapped in policies.
pub const AUTH_FUNCTIONS: &[&str] = &["uid", "jwt", "role", "email"];

/// What an expression may refer to.
pub struct Scope<'a> {
    /// The table the expression belongs to (its name and columns), if any.
    pub table: Option<(&'a str, Vec<&'a str>)>,
    /// Columns of an app table by name, for subqueries.
    pub lookup_table: &'a dyn Fn(&str) -> Option<Vec<String>>,
    /// Function names callable with a schema qualifier besides `auth.*`, `extensions.*`,
    /// `pg_catalog.*` (declared functions and generated helpers), as `schema.name`.
    pub functions: &'a [String],
    /// Plain names that are not columns (function parameters).
    pub params: &'a [String],
    pub allow_columns: bool,
    pub allow_subqueries: bool,
    /// Rewrite `auth.*()` calls into `(select auth.*())` so Postgres evaluates them once.
    pub wrap_auth: bool,
    /// Reject anything reading `user_metadata` (policies: users can edit it).
    pub forbid_user_metadata: bool,
    /// What the expression is, for messages (`check constraint`, `policy`...).
    pub what: &'a str,
}

/// Parses `text` as one SQL expression. Errors carry the position inside the schema file.
pub fn parse(text: &Name, path: &str, what: &str, diags: &mut Diagnostics) -> Option<Expr> {
    let dialect = PostgreSqlDialect {};
    let result = Parser::new(&dialect)
        .try_with_sql(&text.value)
        .and_then(|mut p| {
            let e = p.parse_expr()?;
            let next = p.peek_token();
            if next.token != Token::EOF {
                return Err(sqlparser::parser::ParserError::ParserError(format!(
                    "unexpected `{}` after the end of the expression at Line: {}, Column: {}",
                    next.token, next.span.start.line, next.span.start.column
                )));
            }
            Ok(e)
        });
    match result {
        Ok(e) => Some(e),
        Err(err) => {
            let msg = match &err {
                sqlparser::parser::ParserError::ParserError(m)
                | sqlparser::parser::ParserError::TokenizerError(m) => m.clone(),
                other => other.to_string(),
            };
            let (clean, line, col) = split_location(&msg);
            diags.push(
                Diagnostic::error(
                    Code::ExprSyntax,
                    text.span.offset(line, col),
                    path,
                    format!("{what} `{}` does not parse: {clean}", text.value),
                    )
                .help("write one PostgreSQL expression, e.g. `char_length(title) <= 200`; quote YAML strings that start with a quote"),
            );
            None
        }
    }
}

fn split_location(msg: &str) -> (String, u64, u64) {
    if let Some(i) = msg.find(" at Line: ") {
        let rest = &msg[i + " at Line: ".len()..];
        let mut parts = rest.split(", Column: ");
        let line = parts
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        let col = parts
            .next()
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or(0);
        return (msg[..i].to_string(), line, col);
    }
    (msg.to_string(), 0, 0)
}

/// Longest expression text accepted, in bytes.
pub const MAX_EXPR_BYTES: usize = 16 * 1024;
/// Most tokens in one expression (deeper trees would exhaust the stack of the tools that walk them).
pub const MAX_EXPR_TOKENS: usize = 1_000;
/// Deepest nesting of parentheses and brackets.
pub const MAX_EXPR_DEPTH: usize = 32;

/// Parses, checks and canonicalises an expression. Returns the canonical SQL when it is valid.
///
/// The text is read twice: by `sql::lex` exactly as PostgreSQL reads it, and by sqlparser, whose
/// tree the checks walk. The two must agree on every word, string and number; the output is then
/// the PostgreSQL tokens re-printed by `sql::expr::render`, so what runs is what was checked.
pub fn check(text: &Name, path: &str, scope: &Scope, diags: &mut Diagnostics) -> Option<String> {
    let what = scope.what;
    let at = |line: u64, col: u64| text.span.offset(line, col);
    if text.value.len() > MAX_EXPR_BYTES {
        diags.push(
            Diagnostic::error(
                Code::ExprTooLarge,
                text.span,
                path,
                format!(
                    "this {what} is {} bytes long; the limit is {MAX_EXPR_BYTES}",
                    text.value.len()
                ),
            )
            .help("move the logic into a function and call it"),
        );
        return None;
    }
    let tokens = match lex::lex(&text.value) {
        Ok(t) => t,
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Code::ExprSyntax,
                    at(e.line, e.col),
                    path,
                    format!("{what} does not parse: {}", e.message),
                )
                .help("write one PostgreSQL expression; strings are '...' with '' for a quote"),
            );
            return None;
        }
    };
    if !within_limits(&tokens, text, path, what, diags) {
        return None;
    }
    if let Err((line, col, detail)) = same_tokens(&text.value, &tokens) {
        diags.push(
            Diagnostic::error(
                Code::ExprAmbiguous,
                at(line, col),
                path,
                format!("schemac cannot verify how PostgreSQL reads this {what}: {detail}"),
            )
            .help("write strings as plain '...' (a quote doubled as ''), without backslash escapes, U& or string continuation across lines"),
        );
        return None;
    }
    let expr = parse(text, path, what, diags)?;
    let before = count_errors(diags);
    validate(&expr, &tokens, text, path, scope, diags);
    if count_errors(diags) > before {
        return None;
    }
    let relations = match relation_ranges(&expr, &tokens) {
        Ok(r) => r,
        Err((line, col)) => {
            diags.push(
                Diagnostic::error(
                    Code::ExprAmbiguous,
                    at(line, col),
                    path,
                    format!("schemac cannot place a table name of this {what}"),
                )
                .help("write the table name as `table` or `schema.table`"),
            );
            return None;
        }
    };
    let rw = sqlexpr::Rewrites {
        wrap_auth: if scope.wrap_auth { AUTH_FUNCTIONS } else { &[] },
        relations,
    };
    Some(sqlexpr::render(&tokens, &rw))
}

/// Checks that `text` is one SQL expression as PostgreSQL reads it (it lexes, its parentheses
/// balance, it has no `;`, it is within the size limits), for SQL that schemac places inside a
/// statement without checking its names (a policy suite's fixture values).
pub fn single_expression(text: &Name, path: &str, what: &str, diags: &mut Diagnostics) -> bool {
    match lex::lex(&text.value) {
        Ok(tokens) if tokens.is_empty() => {
            diags.push(
                Diagnostic::error(
                    Code::ExprSyntax,
                    text.span,
                    path,
                    format!("{what} is empty"),
                )
                .help("write one PostgreSQL expression"),
            );
            false
        }
        Ok(tokens) => within_limits(&tokens, text, path, what, diags),
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Code::ExprSyntax,
                    text.span.offset(e.line, e.col),
                    path,
                    format!("{what} does not parse: {}", e.message),
                )
                .help("write one PostgreSQL expression; strings are '...' with '' for a quote"),
            );
            false
        }
    }
}

/// Checks that `text` is exactly one SQL statement as PostgreSQL splits a script (a policy
/// suite's scenario steps, whose expected row counts describe one statement).
pub fn single_statement(text: &Name, path: &str, what: &str, diags: &mut Diagnostics) -> bool {
    match lex::statements(&text.value) {
        Ok(stmts) if stmts.len() == 1 => true,
        Ok(stmts) => {
            diags.push(
                Diagnostic::error(
                    Code::ExprSyntax,
                    text.span,
                    path,
                    format!(
                        "{what} must be exactly one SQL statement, found {}",
                        stmts.len()
                    ),
                )
                .help("split it into one step per statement (or use the scenario's `setup:`)"),
            );
            false
        }
        Err(e) => {
            diags.push(
                Diagnostic::error(
                    Code::ExprSyntax,
                    text.span.offset(e.line, e.col),
                    path,
                    format!("{what} does not parse: {}", e.message),
                )
                .help("check the quoting of strings and names"),
            );
            false
        }
    }
}

/// Size, token count and nesting limits, so no later stage (sqlparser, visitors, PostgreSQL's
/// own parser) can run out of stack on a schema file.
fn within_limits(
    tokens: &[lex::Token],
    text: &Name,
    path: &str,
    what: &str,
    diags: &mut Diagnostics,
) -> bool {
    let mut depth = 0usize;
    let mut deepest = (0usize, 1u64, 1u64);
    let mut unbalanced: Option<(u64, u64)> = None;
    for t in tokens {
        match &t.kind {
            lex::Kind::Op(o) if o == "(" || o == "[" => {
                depth += 1;
                if depth > deepest.0 {
                    deepest = (depth, t.line, t.col);
                }
            }
            lex::Kind::Op(o) if o == ")" || o == "]" => {
                if depth == 0 {
                    unbalanced.get_or_insert((t.line, t.col));
                }
                depth = depth.saturating_sub(1)
            }
            lex::Kind::Op(o) if o == ";" => {
                unbalanced.get_or_insert((t.line, t.col));
            }
            _ => {}
        }
    }
    if depth > 0 {
        unbalanced.get_or_insert((1, 1));
    }
    if let Some((line, col)) = unbalanced {
        diags.push(
            Diagnostic::error(
                Code::ExprSyntax,
                text.span.offset(line, col),
                path,
                format!("this {what} has unbalanced parentheses or a `;`"),
            )
            .help("write exactly one expression"),
        );
        return false;
    }
    let problem = if tokens.len() > MAX_EXPR_TOKENS {
        Some((
            text.span,
            format!(
                "this {what} has {} tokens; the limit is {MAX_EXPR_TOKENS}",
                tokens.len()
            ),
        ))
    } else if deepest.0 > MAX_EXPR_DEPTH {
        Some((
            text.span.offset(deepest.1, deepest.2),
            format!(
                "this {what} nests parentheses {} deep; the limit is {MAX_EXPR_DEPTH}",
                deepest.0
            ),
        ))
    } else {
        None
    };
    match problem {
        Some((span, msg)) => {
            diags.push(
                Diagnostic::error(Code::ExprTooLarge, span, path, msg)
                    .help("move the logic into a function and call it"),
            );
            false
        }
        None => true,
    }
}

/// One token as both lexers are compared: words folded as PostgreSQL folds them, strings by value,
/// operators and punctuation as text (the two may split a run of operator characters differently,
/// so only the concatenation between two other tokens is compared).
#[derive(Debug, PartialEq)]
enum Item {
    Word(String),
    Str(&'static str, String),
    Num(String),
    Param(String),
    Ops(String),
}

fn squash(items: Vec<(Item, u64, u64)>) -> Vec<(Item, u64, u64)> {
    let mut out: Vec<(Item, u64, u64)> = Vec::new();
    for (it, l, c) in items {
        if let Item::Ops(o) = &it {
            if let Some((Item::Ops(prev), _, _)) = out.last_mut() {
                prev.push_str(o);
                continue;
            }
        }
        out.push((it, l, c));
    }
    out
}

/// Checks that sqlparser's tokenizer read `text` into the same words, strings and numbers as
/// PostgreSQL's lexer (`tokens`). Returns the first difference.
fn same_tokens(text: &str, tokens: &[lex::Token]) -> Result<(), (u64, u64, String)> {
    use sqlparser::tokenizer::{Token as T, Tokenizer};
    let dialect = PostgreSqlDialect {};
    let theirs = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| (1, 1, e.to_string()))?;
    let theirs: Vec<(Item, u64, u64)> = theirs
        .into_iter()
        .filter_map(|t| {
            let (l, c) = (t.span.start.line, t.span.start.column);
            let item = match t.token {
                T::Whitespace(_) | T::EOF => return None,
                T::Word(w) => Item::Word(if w.quote_style.is_some() {
                    w.value
                } else {
                    w.value.to_ascii_lowercase()
                }),
                T::SingleQuotedString(s)
                | T::EscapedStringLiteral(s)
                | T::UnicodeStringLiteral(s) => Item::Str("", s),
                T::DollarQuotedString(d) => Item::Str("", d.value),
                T::NationalStringLiteral(s) => Item::Str("N", s),
                T::SingleQuotedByteStringLiteral(s) => Item::Str("B", s),
                T::HexStringLiteral(s) => Item::Str("X", s),
                T::Number(n, _) => Item::Num(n),
                T::Placeholder(p) => Item::Param(p),
                other => Item::Ops(other.to_string()),
            };
            Some((item, l, c))
        })
        .collect();
    let ours: Vec<(Item, u64, u64)> = tokens
        .iter()
        .map(|t| {
            let item = match &t.kind {
                lex::Kind::Word { .. } => {
                    Item::Word(sqlexpr::word_value(&t.kind).unwrap_or_default())
                }
                lex::Kind::Str(s) => Item::Str("", s.clone()),
                lex::Kind::NationalStr(s) => Item::Str("N", s.clone()),
                lex::Kind::BitStr(s) => Item::Str("B", s.clone()),
                lex::Kind::HexStr(s) => Item::Str("X", s.clone()),
                lex::Kind::Num(n) => Item::Num(n.clone()),
                lex::Kind::Param(p) => Item::Param(p.clone()),
                lex::Kind::Op(o) => Item::Ops(o.clone()),
            };
            (item, t.line, t.col)
        })
        .collect();
    let (theirs, ours) = (squash(theirs), squash(ours));
    for (i, (o, l, c)) in ours.iter().enumerate() {
        match theirs.get(i) {
            Some((t, _, _)) if t == o => {}
            Some((t, _, _)) => {
                return Err((
                    *l,
                    *c,
                    format!(
                        "PostgreSQL reads {} here, schemac's parser reads {}",
                        describe(o),
                        describe(t)
                    ),
                ))
            }
            None => {
                return Err((
                    *l,
                    *c,
                    format!(
                        "PostgreSQL reads {} here, schemac's parser reads nothing",
                        describe(o)
                    ),
                ))
            }
        }
    }
    if let Some((t, l, c)) = theirs.get(ours.len()) {
        return Err((
            *l,
            *c,
            format!(
                "schemac's parser reads {} where PostgreSQL's input ends",
                describe(t)
            ),
        ));
    }
    Ok(())
}

fn describe(i: &Item) -> String {
    fn cut(s: &str) -> String {
        let mut t: String = s.chars().take(40).collect();
        if t.len() < s.len() {
            t.push_str("...");
        }
        t.escape_debug().to_string()
    }
    match i {
        Item::Word(w) => format!("the name `{}`", cut(w)),
        Item::Str(_, s) => format!("the string \"{}\"", cut(s)),
        Item::Num(n) => format!("the number {}", cut(n)),
        Item::Param(p) => format!("the parameter {}", cut(p)),
        Item::Ops(o) => format!("`{}`", cut(o)),
    }
}

/// The token ranges of every table name in the expression (from sqlparser's tree, placed by its
/// line and column), with the schema and name they mean.
fn relation_ranges(
    expr: &Expr,
    tokens: &[lex::Token],
) -> Result<Vec<sqlexpr::Relation>, (u64, u64)> {
    use sqlparser::ast::visit_relations;
    let mut found: Vec<(u64, u64, usize)> = Vec::new();
    let _ = visit_relations(expr, |name| {
        if let Some(ObjectNamePart::Identifier(first)) = name.0.first() {
            found.push((first.span.start.line, first.span.start.column, name.0.len()));
        }
        ControlFlow::<()>::Continue(())
    });
    let mut out = Vec::new();
    for (line, col, parts) in found {
        let start = tokens
            .iter()
            .position(|t| t.line == line && t.col == col)
            .ok_or((line, col))?;
        let end = start + parts * 2 - 1;
        let words: Option<Vec<String>> = (start..end)
            .step_by(2)
            .map(|k| tokens.get(k).and_then(|t| sqlexpr::word_value(&t.kind)))
            .collect();
        let dots_ok = (start + 1..end).step_by(2).all(|k| {
            tokens
                .get(k)
                .is_some_and(|t| t.kind == lex::Kind::Op(".".into()))
        });
        match (words, dots_ok) {
            (Some(w), true) if w.len() == 1 => {
                out.push((start, end, "public".to_string(), w[0].clone()))
            }
            (Some(w), true) if w.len() == 2 => out.push((start, end, w[0].clone(), w[1].clone())),
            _ => return Err((line, col)),
        }
    }
    Ok(out)
}

fn count_errors(d: &Diagnostics) -> usize {
    // Diagnostics does not expose its length; has_errors is enough to gate, but a count lets us
    // tell whether *this* expression added one.
    d.error_count()
}

struct Collector {
    idents: Vec<Vec<String>>,
    functions: Vec<Vec<String>>,
    tables: Vec<(Vec<String>, Option<String>)>,
    subqueries: usize,
}

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(id) => self.idents.push(vec![folded(id)]),
            Expr::CompoundIdentifier(ids) => self.idents.push(ids.iter().map(folded).collect()),
            Expr::Function(f) => self.functions.push(object_name(&f.name)),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, _q: &sqlparser::ast::Query) -> ControlFlow<()> {
        self.subqueries += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        if let TableFactor::Table { name, alias, .. } = tf {
            self.tables
                .push((object_name(name), alias.as_ref().map(|a| folded(&a.name))));
        }
        ControlFlow::Continue(())
    }
}

/// An identifier as PostgreSQL resolves it: unquoted names fold ASCII letters to lower case.
fn folded(i: &sqlparser::ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

fn object_name(n: &ObjectName) -> Vec<String> {
    n.0.iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => folded(i),
            other => other.to_string(),
        })
        .collect()
}

fn validate(
    expr: &Expr,
    tokens: &[lex::Token],
    text: &Name,
    path: &str,
    scope: &Scope,
    diags: &mut Diagnostics,
) {
    let mut c = Collector {
        idents: Vec::new(),
        functions: Vec::new(),
        tables: Vec::new(),
        subqueries: 0,
    };
    let _ = expr.visit(&mut c);
    let what = scope.what;
    let err = |diags: &mut Diagnostics, code: Code, msg: String, help: String| {
        diags.push(Diagnostic::error(code, text.span, path, msg).help(help));
    };
    if c.subqueries > 0 && !scope.allow_subqueries {
        err(
            diags,
            Code::ExprNotAllowed,
            format!("a {what} cannot contain a subquery"),
            "PostgreSQL evaluates it per row without other tables; move the logic into a policy or a trigger".into(),
        );
    }
    if scope.forbid_user_metadata {
        user_metadata_guard(expr, tokens, text, path, what, diags);
    }
    // Tables referenced in subqueries, and their aliases.
    let mut sub_tables: Vec<(String, Option<String>, Vec<String>)> = Vec::new();
    for (name, alias) in &c.tables {
        let (schema, tname) = match name.as_slice() {
            [t] => ("public", t.as_str()),
            [s, t] => (s.as_str(), t.as_str()),
            _ => {
                err(
                    diags,
                    Code::UnknownTable,
                    format!("unknown table `{}` in {what}", name.join(".")),
                    "use `table` or `public.table`".into(),
                );
                continue;
            }
        };
        if schema == "auth" {
            err(
                diags,
                Code::ExprNotAllowed,
                format!("a {what} cannot read `{schema}.{tname}`: users have no access to the auth schema"),
                "read what you need through `auth.uid()` / `auth.jwt()`, or a `security definer` function".into(),
            );
            continue;
        }
        if schema != "public" {
            err(
                diags,
                Code::UnknownTable,
                format!("unknown table `{schema}.{tname}` in {what}"),
                "only app tables (schema `public`) can be used here".into(),
            );
            continue;
        }
        match (scope.lookup_table)(tname) {
            Some(cols) => sub_tables.push((tname.to_string(), alias.clone(), cols)),
            None => err(
                diags,
                Code::UnknownTable,
                format!("unknown table `{tname}` in {what}"),
                "declare it under `tables:`".into(),
            ),
        }
    }
    let own: Vec<&str> = scope
        .table
        .as_ref()
        .map(|(_, cols)| cols.clone())
        .unwrap_or_default();
    for t in tokens {
        let lex::Kind::Word {
            value,
            quoted: false,
        } = &t.kind
        else {
            continue;
        };
        let v = value.to_ascii_lowercase();
        let is_column =
            own.contains(&v.as_str()) || sub_tables.iter().any(|(_, _, cols)| cols.contains(&v));
        if sqlexpr::NILADIC.contains(&v.as_str()) && is_column {
            let mut at = text.span.offset(t.line, t.col);
            at.end_col = at.col + value.chars().count() as u32;
            diags.push(
                Diagnostic::error(
                    Code::NiladicColumn,
                    at,
                    path,
                    format!("bare `{value}` is the SQL function `{v}` to PostgreSQL, not the column `{v}`"),
                )
                .help(format!("write \"{v}\" (in double quotes) for the column, or rename the column")),
            );
        }
    }
    for id in &c.idents {
        if !scope.allow_columns {
            err(
                diags,
                Code::ExprNotAllowed,
                format!("a {what} cannot refer to `{}`", id.join(".")),
                "use constants and functions only (e.g. `now()`, `gen_random_uuid()`, `auth.uid()`)".into(),
            );
            continue;
        }
        match id.as_slice() {
            [col] => {
                let known = own.contains(&col.as_str())
                    || scope.params.iter().any(|p| p == col)
                    || sub_tables
                        .iter()
                        .any(|(_, _, cols)| cols.iter().any(|c| c == col));
                if !known {
                    let tname = scope.table.as_ref().map(|(t, _)| *t).unwrap_or("the table");
                    err(
                        diags,
                        Code::UnknownColumn,
                        format!("unknown column `{col}` in {what} on `{tname}`"),
                        help_for(col, &format!("columns of `{tname}` are"), &own),
                    );
                }
            }
            [qual, col] => {
                let own_match = scope.table.as_ref().is_some_and(|(t, _)| t == qual);
                let cols: Option<Vec<String>> = if own_match {
                    Some(own.iter().map(|s| s.to_string()).collect())
                } else {
                    sub_tables
                        .iter()
                        .find(|(t, a, _)| {
                            a.as_deref() == Some(qual.as_str()) || (a.is_none() && t == qual)
                        })
                        .map(|(_, _, cols)| cols.clone())
                };
                match cols {
                    Some(cols) if cols.iter().any(|c| c == col) => {}
                    Some(cols) => {
                        let refs: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
                        err(
                            diags,
                            Code::UnknownColumn,
                            format!("unknown column `{qual}.{col}` in {what}"),
                            help_for(col, &format!("columns of `{qual}` are"), &refs),
                        )
                    }
                    None => err(
                        diags,
                        Code::UnknownTable,
                        format!("unknown table or alias `{qual}` in `{qual}.{col}`"),
                        "qualify columns with the table name or an alias from the subquery's FROM"
                            .into(),
                    ),
                }
            }
            _ => err(
                diags,
                Code::UnknownColumn,
                format!("unsupported reference `{}` in {what}", id.join(".")),
                "write `column` or `table.column`".into(),
            ),
        }
    }
    for f in &c.functions {
        match f.as_slice() {
            [_] => {}
            [schema, name] => {
                let s = schema.as_str();
                let ok = match s {
                    "auth" => AUTH_FUNCTIONS.contains(&name.as_str()),
                    "extensions" | "pg_catalog" => true,
                    _ => scope
                        .functions
                        .iter()
                        .any(|q| *q == format!("{schema}.{name}")),
                };
                if !ok {
                    let known: Vec<&str> = scope.functions.iter().map(|s| s.as_str()).collect();
                    err(
                        diags,
                        Code::UnknownFunction,
                        format!("unknown function `{schema}.{name}` in {what}"),
                        if s == "auth" {
                            "the auth schema has `auth.uid()`, `auth.jwt()`, `auth.role()` and `auth.email()`".to_string()
                        } else {
                            help_for(
                                &format!("{schema}.{name}"),
                                "declared functions are",
                                &known,
                            )
                        },
                    );
                }
            }
            _ => err(
                diags,
                Code::UnknownFunction,
                format!("unknown function `{}` in {what}", f.join(".")),
                "write `function(...)` or `schema.function(...)`".into(),
            ),
        }
    }
}

/// Refuses anything that could read `user_metadata` (which every user can edit about
/// themselves): the name in any word or string, and any use of `auth.jwt()` other than a
/// `->` / `->>` / `#>` / `#>>` with a constant key (a computed key could spell anything).
fn user_metadata_guard(
    expr: &Expr,
    tokens: &[lex::Token],
    text: &Name,
    path: &str,
    what: &str,
    diags: &mut Diagnostics,
) {
    use sqlparser::ast::{visit_expressions, BinaryOperator as B, Value};
    let mut report = |t: Option<&lex::Token>, msg: String| {
        let at = t.map_or(text.span, |t| text.span.offset(t.line, t.col));
        diags.push(
            Diagnostic::error(Code::UserMetadata, at, path, msg)
                .help("read roles from `app_metadata` (set only by the server) or from a column users cannot update"),
        );
    };
    for t in tokens {
        let v = match &t.kind {
            lex::Kind::Word { value, .. } | lex::Kind::Str(value) => value.to_ascii_lowercase(),
            _ => continue,
        };
        if v.contains("user_metadata") || v.contains("raw_user_meta_data") {
            report(
                Some(t),
                format!(
                    "this {what} reads `user_metadata`, which every user can edit about themselves"
                ),
            );
            return;
        }
    }
    let is_jwt = |e: &Expr| -> bool {
        let mut e = e;
        loop {
            match e {
                Expr::Nested(inner) => e = inner,
                Expr::Function(f) => return object_name(&f.name) == ["auth", "jwt"],
                Expr::Subquery(q) => {
                    let s = q.to_string().to_ascii_lowercase().replace(' ', "");
                    return s == "selectauth.jwt()";
                }
                _ => return false,
            }
        }
    };
    let mut constant_uses = 0usize;
    let _ = visit_expressions(expr, |e| {
        if let Expr::BinaryOp { left, op, right } = e {
            let arrow = matches!(
                op,
                B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow
            );
            let constant = matches!(
                right.as_ref(),
                Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_))
            );
            if arrow && constant && is_jwt(left) {
                constant_uses += 1;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let kinds: Vec<&lex::Kind> = tokens.iter().map(|t| &t.kind).collect();
    let calls: Vec<usize> = (0..tokens.len())
        .filter(|&i| sqlexpr::auth_call_at(&kinds, i, &["jwt"]).is_some())
        .collect();
    if calls.len() > constant_uses {
        report(
            calls.first().map(|&i| &tokens[i]),
            format!("this {what} uses `auth.jwt()` other than with a constant key; it could read `user_metadata`"),
        );
    }
}

/// Parses every statement of a generated script (the test oracle: emitted SQL must parse).
pub fn parse_script(sql: &str) -> Result<usize, String> {
    Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map(|s| s.len())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;
    use crate::syntax::Spanned;

    fn name(s: &str) -> Name {
        Spanned::new(s.to_string(), Span::SYNTHETIC)
    }

    fn policy_scope<'a>(lookup: &'a dyn Fn(&str) -> Option<Vec<String>>) -> Scope<'a> {
        Scope {
            table: Some(("docs", vec!["id", "user_id", "title"])),
            lookup_table: lookup,
            functions: &[],
            params: &[],
            allow_columns: true,
            allow_subqueries: true,
            wrap_auth: true,
            forbid_user_metadata: true,
            what: "policy",
        }
    }

    #[test]
    fn wraps_auth_uid_once() {
        let lookup = |_: &str| None;
        let mut d = Diagnostics::default();
        let s = policy_scope(&lookup);
        assert_eq!(
            check(&name("user_id = auth.uid()"), "p", &s, &mut d).unwrap(),
            "user_id = (select auth.uid())"
        );
        assert_eq!(
            check(&name("user_id = (select auth.uid())"), "p", &s, &mut d).unwrap(),
            "user_id = (select auth.uid())"
        );
        assert!(!d.has_errors());
    }

    #[test]
    fn rejects_unknown_columns_and_garbage() {
        let lookup = |_: &str| None;
        let s = policy_scope(&lookup);
        let mut d = Diagnostics::default();
        assert!(check(&name("usr_id = auth.uid()"), "p", &s, &mut d).is_none());
        assert!(check(&name("user_id = auth.uid(); drop table x"), "p", &s, &mut d).is_none());
        assert!(check(&name("auth.nope() is null"), "p", &s, &mut d).is_none());
        assert!(check(
            &name("(auth.jwt() -> 'user_metadata' ->> 'admin') = 'true'"),
            "p",
            &s,
            &mut d
        )
        .is_none());
        assert_eq!(d.error_count(), 4);
    }

    #[test]
    fn subquery_scopes() {
        let lookup =
            |t: &str| (t == "members").then(|| vec!["doc_id".to_string(), "member_id".to_string()]);
        let s = policy_scope(&lookup);
        let mut d = Diagnostics::default();
        let ok = check(
            &name("id in (select m.doc_id from members m where m.member_id = auth.uid())"),
            "p",
            &s,
            &mut d,
        );
        assert!(ok.is_some(), "{:?}", d.into_sorted());
        let mut d = Diagnostics::default();
        assert!(check(
            &name("id in (select m.nope from members m)"),
            "p",
            &s,
            &mut d
        )
        .is_none());
        assert!(check(&name("id in (select 1 from auth.users)"), "p", &s, &mut d).is_none());
    }
}
