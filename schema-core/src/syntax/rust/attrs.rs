//! `#[schemac(...)]` attributes: the token grammar (`key = value`, `flag`, `key(...)`), a reader that
//! hands out values by key and reports unknown keys with "did you mean", and `Spans`, which turns
//! token positions into `Span`s (file lines for the CLI, a token table for the macros).

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{SourceId, Span};
use crate::syntax::{Name, Spanned};
use proc_macro2::Span as Span2;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::ParseStream;

/// First `SourceId` of the token table: far above any real file, so both never mix.
pub const TABLE_BASE: u32 = 1 << 24;

/// Where the positions of diagnostics come from.
#[derive(Debug)]
enum Mode {
    /// Line and column of each token in a source file (proc-macro2's `span-locations`).
    Lines(SourceId),
    /// Each recorded token range gets its own `SourceId` from `TABLE_BASE` on, so a diagnostic
    /// maps back to the exact tokens (positions shifted inside an expression keep the id).
    Table,
}

/// Converts token spans into `Span`s and, in table mode, back.
#[derive(Debug)]
pub struct Spans {
    mode: Mode,
    table: Vec<(Span2, Span2)>,
}

impl Spans {
    /// Positions as file lines and columns of `source` (the CLI).
    pub fn lines(source: SourceId) -> Self {
        Spans {
            mode: Mode::Lines(source),
            table: Vec::new(),
        }
    }

    /// Positions as a table of token ranges (the derive macros, which map diagnostics back to tokens).
    pub fn table() -> Self {
        Spans {
            mode: Mode::Table,
            table: Vec::new(),
        }
    }

    fn record(&mut self, start: Span2, end: Span2) -> Span {
        match self.mode {
            Mode::Lines(source) => {
                let (s, e) = (start.start(), end.end());
                Span {
                    source,
                    line: s.line as u32,
                    col: s.column as u32 + 1,
                    end_line: e.line as u32,
                    end_col: e.column as u32 + 1,
                }
            }
            Mode::Table => {
                self.table.push((start, end));
                let id = SourceId(TABLE_BASE + self.table.len() as u32 - 1);
                Span::point(id, 1, 1)
            }
        }
    }

    /// The position of one token.
    pub fn span(&mut self, s: Span2) -> Span {
        self.record(s, s)
    }

    /// The position of a run of tokens (first to last).
    pub fn range(&mut self, t: &dyn ToTokens) -> Span {
        let tokens = t.to_token_stream();
        let mut iter = tokens.into_iter();
        let Some(first) = iter.next() else {
            return self.span(Span2::call_site());
        };
        let last = iter.last().unwrap_or_else(|| first.clone());
        self.record(first.span(), last.span())
    }

    /// The position of a string literal's first character (after `"`, `r"` or `r#"`), so offsets
    /// inside an SQL expression point at the right character.
    pub fn lit(&mut self, s: &syn::LitStr) -> Span {
        let mut sp = self.span(s.span());
        if let Mode::Lines(_) = self.mode {
            let text = s.token().to_string();
            let prefix = text.find('"').map(|i| i + 1).unwrap_or(0) as u32;
            sp.col += prefix;
        }
        sp
    }

    /// The tokens a `Span` made in table mode stands for.
    pub fn lookup(&self, s: Span) -> Option<(Span2, Span2)> {
        let i = s.source.0.checked_sub(TABLE_BASE)? as usize;
        self.table.get(i).copied()
    }
}

/// One `key`, `key = value` or `key(...)` inside `#[schemac(...)]`.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub key_ident: proc_macro2::Ident,
    pub value: Value,
}

#[derive(Clone, Debug)]
// Entries live only while one attribute is read; boxing the expression would only complicate the
// matches on it.
#[allow(clippy::large_enum_variant)]
pub enum Value {
    Flag,
    Expr(syn::Expr),
    Nested(Vec<Entry>),
}

/// Parses the inside of `#[schemac(...)]`: entries separated by commas. Keys may be Rust keywords
/// (`for`, `type`, `where`), as in `schema.yaml`.
pub fn parse_entries(input: ParseStream) -> syn::Result<Vec<Entry>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let key_ident = input.call(proc_macro2::Ident::parse_any)?;
        let value = if input.peek(syn::Token![=]) {
            input.parse::<syn::Token![=]>()?;
            Value::Expr(input.parse::<syn::Expr>()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            Value::Nested(parse_entries(&content)?)
        } else {
            Value::Flag
        };
        out.push(Entry {
            key: key_ident.unraw().to_string(),
            key_ident,
            value,
        });
        if input.is_empty() {
            break;
        }
        input.parse::<syn::Token![,]>()?;
    }
    Ok(out)
}

pub fn lit_str(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

pub fn lit_bool(e: &syn::Expr) -> Option<bool> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Bool(b),
            ..
        }) => Some(b.value),
        _ => None,
    }
}

/// Hands out the entries of one `#[schemac(...)]` level by key.
pub struct Reader<'a> {
    entries: Vec<&'a Entry>,
    pub spans: &'a mut Spans,
    pub diags: &'a mut Diagnostics,
    pub path: String,
    /// Where a missing key is reported.
    pub span: Span,
}

impl<'a> Reader<'a> {
    /// Opens a level: reports unknown keys (with the closest known one) and keys written twice
    /// that may appear once. `declares`: in a struct that maps a table, the keys that would declare
    /// one, reported as such rather than as unknown (with the name of the struct and of the item).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        entries: &'a [Entry],
        spans: &'a mut Spans,
        diags: &'a mut Diagnostics,
        path: &str,
        span: Span,
        known: &[&str],
        repeatable: &[&str],
        declares: Option<(&[&str], &str, &str)>,
    ) -> Self {
        Self::labelled(
            entries,
            spans,
            diags,
            path,
            span,
            known,
            repeatable,
            declares,
            "#[schemac(...)]",
        )
    }

    /// `new`, naming the level `label` in messages (`policy(...)`).
    #[allow(clippy::too_many_arguments)]
    fn labelled(
        entries: &'a [Entry],
        spans: &'a mut Spans,
        diags: &'a mut Diagnostics,
        path: &str,
        span: Span,
        known: &[&str],
        repeatable: &[&str],
        declares: Option<(&[&str], &str, &str)>,
        label: &str,
    ) -> Self {
        let mut seen: Vec<&str> = Vec::new();
        let mut kept = Vec::new();
        for e in entries {
            let at = spans.span(e.key_ident.span());
            if !known.contains(&e.key.as_str()) {
                match declares {
                    Some((decl, rust_name, item)) if decl.contains(&e.key.as_str()) => {
                        diags.push(
                            Diagnostic::error(
                                Code::UnknownKey,
                                at,
                                format!("{path}.{}", e.key),
                                format!(
                                    "`{}` on {item} declares a table, but `{rust_name}` maps a table of schema.yaml",
                                    e.key
                                ),
                            )
                            .help(format!(
                                "add `declare` to the struct's `#[schemac(...)]` to declare the table in Rust, or remove `{}` (a mapped struct takes `{}`)",
                                e.key,
                                known.join("`, `")
                            )),
                        );
                    }
                    _ => diags.push(
                        Diagnostic::error(
                            Code::UnknownKey,
                            at,
                            format!("{path}.{}", e.key),
                            format!("unknown key `{}` in `{label}`", e.key),
                        )
                        .help(super::unknown_key_help(&e.key, known)),
                    ),
                }
                continue;
            }
            if seen.contains(&e.key.as_str()) && !repeatable.contains(&e.key.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        at,
                        format!("{path}.{}", e.key),
                        format!("`{}` is written twice", e.key),
                    )
                    .help("write each key once"),
                );
                continue;
            }
            seen.push(&e.key);
            kept.push(e);
        }
        Reader {
            entries: kept,
            spans,
            diags,
            path: path.to_string(),
            span,
        }
    }

    pub fn get(&self, key: &str) -> Option<&'a Entry> {
        self.entries.iter().copied().find(|e| e.key == key)
    }

    pub fn all(&self, key: &str) -> Vec<&'a Entry> {
        self.entries
            .iter()
            .copied()
            .filter(|e| e.key == key)
            .collect()
    }

    fn expected(&mut self, e: &Entry, what: &str, example: &str) {
        let at = match &e.value {
            Value::Expr(x) => self.spans.range(x),
            _ => self.spans.span(e.key_ident.span()),
        };
        self.diags.push(
            Diagnostic::error(
                Code::ExpectedType,
                at,
                format!("{}.{}", self.path, e.key),
                format!("expected {what} for `{}`", e.key),
            )
            .help(format!("write `{}{example}`", e.key)),
        );
    }

    /// `key` (true) or `key = true|false`.
    pub fn flag(&mut self, key: &str) -> Option<Spanned<bool>> {
        let e = self.get(key)?;
        match &e.value {
            Value::Flag => Some(Spanned::new(true, self.spans.span(e.key_ident.span()))),
            Value::Expr(x) if lit_bool(x).is_some() => {
                let b = lit_bool(x).expect("checked");
                Some(Spanned::new(b, self.spans.range(x)))
            }
            _ => {
                self.expected(e, "`true` or `false`", " or `key = false`");
                None
            }
        }
    }

    fn name_of(&mut self, e: &Entry, x: &syn::Expr, what: &str) -> Option<Name> {
        match x {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(Spanned::new(s.value(), self.spans.lit(s))),
            _ => {
                self.expected(e, &format!("a string ({what})"), " = \"...\"");
                None
            }
        }
    }

    /// `key = "text"`.
    pub fn string(&mut self, key: &str, what: &str) -> Option<Name> {
        let e = self.get(key)?;
        match &e.value {
            Value::Expr(x) => self.name_of(e, x, what),
            _ => {
                self.expected(e, &format!("a string ({what})"), " = \"...\"");
                None
            }
        }
    }

    pub fn req_string(&mut self, key: &str, what: &str) -> Option<Name> {
        if self.get(key).is_none() {
            self.diags.push(
                Diagnostic::error(
                    Code::MissingKey,
                    self.span,
                    &self.path,
                    format!("missing key `{key}` in `{}`", self.path),
                )
                .help(format!("add `{key} = \"...\"` ({what})")),
            );
            return None;
        }
        self.string(key, what)
    }

    /// `key = ["a", "b"]` or `key = "a"` (a one-item list).
    pub fn names(&mut self, key: &str, what: &str) -> Option<Vec<Name>> {
        let e = self.get(key)?;
        self.names_of(e, what)
    }

    pub fn names_of(&mut self, e: &Entry, what: &str) -> Option<Vec<Name>> {
        match &e.value {
            Value::Expr(syn::Expr::Array(a)) => {
                let mut out = Vec::new();
                for x in &a.elems {
                    out.push(self.name_of(e, x, what)?);
                }
                Some(out)
            }
            Value::Expr(x) => self.name_of(e, x, what).map(|n| vec![n]),
            _ => {
                self.expected(e, what, " = [\"...\", ...]");
                None
            }
        }
    }

    /// `key(...)`, read with its own known keys.
    pub fn nested<'b>(
        &'b mut self,
        e: &'a Entry,
        known: &[&str],
        repeatable: &[&str],
    ) -> Option<Reader<'b>>
    where
        'a: 'b,
    {
        let Value::Nested(inner) = &e.value else {
            self.expected(e, "a list of settings", "(...)");
            return None;
        };
        let span = self.spans.span(e.key_ident.span());
        let path = format!("{}.{}", self.path, e.key);
        Some(Reader::labelled(
            inner,
            self.spans,
            self.diags,
            &path,
            span,
            known,
            repeatable,
            None,
            &format!("{}(...)", e.key),
        ))
    }

    /// `key(...)` whose keys are free (index storage parameters).
    pub fn nested_any<'b>(&'b mut self, e: &'a Entry) -> Option<Reader<'b>>
    where
        'a: 'b,
    {
        let Value::Nested(inner) = &e.value else {
            self.expected(e, "a list of settings", "(name = value, ...)");
            return None;
        };
        let span = self.spans.span(e.key_ident.span());
        let known: Vec<&str> = inner.iter().map(|x| x.key.as_str()).collect();
        let path = format!("{}.{}", self.path, e.key);
        Some(Reader::new(
            inner,
            self.spans,
            self.diags,
            &path,
            span,
            &known,
            &[],
            None,
        ))
    }

    /// Every `name = value` of a free level, values as written (numbers, strings, booleans).
    pub fn scalars(&mut self, what: &str) -> Vec<(Name, Name)> {
        let entries = self.entries.clone();
        let mut out = Vec::new();
        for e in entries {
            let key = Spanned::new(e.key.clone(), self.spans.span(e.key_ident.span()));
            let text = match &e.value {
                Value::Expr(syn::Expr::Lit(l)) => match &l.lit {
                    syn::Lit::Str(s) => Some(Spanned::new(s.value(), self.spans.lit(s))),
                    syn::Lit::Int(i) => Some(Spanned::new(
                        i.base10_digits().to_string(),
                        self.spans.span(i.span()),
                    )),
                    syn::Lit::Float(f) => Some(Spanned::new(
                        f.base10_digits().to_string(),
                        self.spans.span(f.span()),
                    )),
                    syn::Lit::Bool(b) => {
                        Some(Spanned::new(b.value.to_string(), self.spans.span(b.span)))
                    }
                    _ => None,
                },
                _ => None,
            };
            match text {
                Some(t) => out.push((key, t)),
                None => self.expected(e, what, " = 16"),
            }
        }
        out
    }
}
