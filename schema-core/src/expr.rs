//! User-written SQL expressions (defaults, checks, generated columns, index predicates, policy
//! USING / WITH CHECK, seed `$sql`): parsed with sqlparser's PostgreSQL dialect, checked against
//! the schema (columns, tables, functions), rewritten (`auth.uid()` -> `(select auth.uid())` in
//! policies) and re-emitted canonically from the AST.

use crate::diag::{help_for, Code, Diagnostic, Diagnostics};
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

/// Parses, checks and canonicalises an expression. Returns the canonical SQL when it is valid.
pub fn check(text: &Name, path: &str, scope: &Scope, diags: &mut Diagnostics) -> Option<String> {
    let mut expr = parse(text, path, scope.what, diags)?;
    let before = count_errors(diags);
    validate(&expr, text, path, scope, diags);
    if count_errors(diags) > before {
        return None;
    }
    if scope.wrap_auth {
        wrap_auth_calls(&mut expr);
    }
    qualify_relations(&mut expr);
    Some(expr.to_string())
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
            Expr::Identifier(id) => self.idents.push(vec![id.value.clone()]),
            Expr::CompoundIdentifier(ids) => self
                .idents
                .push(ids.iter().map(|i| i.value.clone()).collect()),
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
            self.tables.push((
                object_name(name),
                alias.as_ref().map(|a| a.name.value.clone()),
            ));
        }
        ControlFlow::Continue(())
    }
}

fn object_name(n: &ObjectName) -> Vec<String> {
    n.0.iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn validate(expr: &Expr, text: &Name, path: &str, scope: &Scope, diags: &mut Diagnostics) {
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
    if let Some(i) = text
        .value
        .to_ascii_lowercase()
        .find("user_metadata")
        .filter(|_| scope.forbid_user_metadata)
    {
        // Point at `user_metadata` itself when it is on the first line of the expression.
        let before = &text.value[..i];
        let at = if before.contains('\n') || text.span.is_synthetic() {
            text.span
        } else {
            let mut at = text.span.offset(1, before.chars().count() as u64 + 1);
            at.end_col = at.col + "user_metadata".len() as u32;
            at
        };
        diags.push(
            Diagnostic::error(
                Code::UserMetadata,
                at,
                path,
                format!("this {what} reads `user_metadata`, which every user can edit about themselves"),
            )
            .help("read roles from `app_metadata` (set only by the server) or from a column users cannot update"),
        );
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

/// `auth.uid()` -> `(SELECT auth.uid())` everywhere (already wrapped calls stay as they are), so
/// PostgreSQL runs it once per statement as an initPlan instead of once per row.
pub fn wrap_auth_calls(expr: &mut Expr) {
    use sqlparser::ast::visit_expressions_mut;
    // Pass 1: unwrap calls the user already wrapped, so pass 2 wraps every call exactly once.
    let _ = visit_expressions_mut(expr, |e| {
        if let Expr::Subquery(_) = e {
            if let Some(call) = auth_call_in_subquery(e) {
                *e = call;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = visit_expressions_mut(expr, |e| {
        if let Expr::Function(f) = e {
            let name = object_name(&f.name);
            if name.len() == 2 && name[0] == "auth" && AUTH_FUNCTIONS.contains(&name[1].as_str()) {
                *e = parse_fixed(&format!("(SELECT auth.{}())", name[1]));
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `conversations` -> `"public"."conversations"` in subqueries, so the policy means the same
/// whatever the search_path of the session that creates it.
pub fn qualify_relations(expr: &mut Expr) {
    use sqlparser::ast::{visit_relations_mut, Ident};
    let _ = visit_relations_mut(expr, |name| {
        let parts = object_name(name);
        let (schema, table) = match parts.as_slice() {
            [t] => ("public".to_string(), t.clone()),
            [s, t] => (s.clone(), t.clone()),
            _ => return ControlFlow::<()>::Continue(()),
        };
        *name = ObjectName::from(vec![
            Ident::with_quote('"', schema),
            Ident::with_quote('"', table),
        ]);
        ControlFlow::<()>::Continue(())
    });
}

fn auth_call_in_subquery(e: &Expr) -> Option<Expr> {
    let s = e.to_string();
    AUTH_FUNCTIONS
        .iter()
        .find(|f| s.eq_ignore_ascii_case(&format!("(SELECT auth.{f}())")))
        .map(|f| parse_fixed(&format!("auth.{f}()")))
}

fn parse_fixed(sql: &str) -> Expr {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .expect("fixed expression parses")
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
            "user_id = (SELECT auth.uid())"
        );
        assert_eq!(
            check(&name("user_id = (select auth.uid())"), "p", &s, &mut d).unwrap(),
            "user_id = (SELECT auth.uid())"
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
