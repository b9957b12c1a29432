//! Derive macros for schemac: a thin shell that hands its input to schema-core and turns the result
//! into tokens.
//!
//! * `#[derive(Table)]` with `#[schemac(declare, ...)]` declares a table in Rust (`schemac generate
//!   --rust <dir>` reads it); with `#[schemac(table = "...")]` it maps a table of `schema.yaml`,
//!   which is read at compile time and checked field by field.
//! * `#[derive(SchemaEnum)]` declares (`declare`) or maps a PostgreSQL enum.
//!
//! Both expand to code that references only crates the user's crate depends on: `postgres` (always),
//! and `pgvector` for `Vec<f32>` fields stored as vectors. See `schema_core::syntax::rust` for the
//! attribute grammar; all validation lives in schema-core.

mod expand;
mod schema_file;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use schema_core::syntax::rust::{self as front, check, Mode, Spans};
use schema_core::{Diagnostic, Diagnostics, Severity};

/// Expands to the schemac version string these macros were built with.
#[proc_macro]
pub fn schema_version(_input: TokenStream) -> TokenStream {
    let v = env!("CARGO_PKG_VERSION");
    quote!(#v).into()
}

/// Declares (`#[schemac(declare, ...)]`) or maps (`#[schemac(table = "...")]`) a table; expands to
/// `TABLE`, `COLUMNS`, `COL_*`, `TryFrom<&postgres::Row>`, `insert`, `insert_returning` and
/// (with a primary key) `update`.
#[proc_macro_derive(Table, attributes(schemac))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    derive_table_inner(input.into()).into()
}

/// Declares (`#[schemac(declare)]`) or maps a PostgreSQL enum; expands to `SQL_NAME`, `ALL`,
/// `as_str`, `Display` and the `postgres` `ToSql`/`FromSql` impls.
#[proc_macro_derive(SchemaEnum, attributes(schemac))]
pub fn derive_schema_enum(input: TokenStream) -> TokenStream {
    derive_schema_enum_inner(input.into()).into()
}

/// `#[derive(Table)]` on tokens (what the tests call).
pub(crate) fn derive_table_inner(input: TokenStream2) -> TokenStream2 {
    let item = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut spans = Spans::table();
    let mut diags = Diagnostics::default();
    let Some(info) = front::read_struct(&item, &front::EnumNames::new(), &mut spans, &mut diags)
    else {
        return errors(diags.into_sorted(), &spans, item.ident.span());
    };
    let mut extra = Vec::new();
    let mut tracking = TokenStream2::new();
    let model = if diags.has_errors() {
        match info.mode {
            Mode::Declare => check::model_declared(&info),
            Mode::Map => check::model(&info, None),
        }
    } else {
        match info.mode {
            Mode::Declare => {
                let context = match &info.schema_file {
                    Some(f) => match schema_file::load(Some(f)) {
                        Ok(s) => {
                            tracking = s.tracking();
                            Some(s.file)
                        }
                        Err(e) => {
                            extra.push(spanned(&spans, f.span, item.ident.span(), &e));
                            None
                        }
                    },
                    None => None,
                };
                let found =
                    check::declared(&info, context.as_ref(), &|s| spans.lookup(s).is_some());
                found.into_iter().for_each(|d| diags.push(d));
                check::model_declared(&info)
            }
            Mode::Map => match schema_file::load(info.schema_file.as_ref()) {
                Ok(s) => {
                    tracking = s.tracking();
                    match &s.schema {
                        Ok(schema) => {
                            let table = check::mapping(schema, &info, &mut diags);
                            check::model(&info, table)
                        }
                        Err(rendered) => {
                            extra.push(spanned(
                                &spans,
                                info.table_name.span,
                                item.ident.span(),
                                rendered,
                            ));
                            check::model(&info, None)
                        }
                    }
                }
                Err(e) => {
                    let at = info
                        .schema_file
                        .as_ref()
                        .map(|f| f.span)
                        .unwrap_or(info.table_name.span);
                    extra.push(spanned(&spans, at, item.ident.span(), &e));
                    check::model(&info, None)
                }
            },
        }
    };
    let expansion = expand::table(&item, &info, &model);
    let errs = errors(diags.into_sorted(), &spans, item.ident.span());
    let extra = extra.into_iter().map(|e| e.to_compile_error());
    quote! {
        #expansion
        #tracking
        #errs
        #(#extra)*
    }
}

/// `#[derive(SchemaEnum)]` on tokens (what the tests call).
pub(crate) fn derive_schema_enum_inner(input: TokenStream2) -> TokenStream2 {
    let item = match syn::parse2::<syn::DeriveInput>(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut spans = Spans::table();
    let mut diags = Diagnostics::default();
    let Some(info) = front::read_enum(&item, &mut spans, &mut diags) else {
        return errors(diags.into_sorted(), &spans, item.ident.span());
    };
    let mut extra = Vec::new();
    let mut tracking = TokenStream2::new();
    if !diags.has_errors() {
        match info.mode {
            Mode::Declare => {
                for d in check::declared_enum(&info, &|s| spans.lookup(s).is_some()) {
                    diags.push(d);
                }
            }
            Mode::Map => match schema_file::load(info.schema_file.as_ref()) {
                Ok(s) => {
                    tracking = s.tracking();
                    match &s.schema {
                        Ok(schema) => check::mapping_enum(schema, &info, &mut diags),
                        Err(rendered) => extra.push(spanned(
                            &spans,
                            info.def.name.span,
                            item.ident.span(),
                            rendered,
                        )),
                    }
                }
                Err(e) => extra.push(spanned(&spans, info.def.name.span, item.ident.span(), &e)),
            },
        }
    }
    let expansion = expand::schema_enum(&item, &info);
    let errs = errors(diags.into_sorted(), &spans, item.ident.span());
    let extra = extra.into_iter().map(|e| e.to_compile_error());
    quote! {
        #expansion
        #tracking
        #errs
        #(#extra)*
    }
}

/// A `syn::Error` over the tokens `at` was recorded for (or `fallback`).
fn spanned(
    spans: &Spans,
    at: schema_core::Span,
    fallback: proc_macro2::Span,
    msg: &str,
) -> syn::Error {
    let (start, end) = spans.lookup(at).unwrap_or((fallback, fallback));
    let a = proc_macro2::Ident::new("a", start);
    let b = proc_macro2::Ident::new("b", end);
    syn::Error::new_spanned(quote!(#a #b), msg)
}

/// Every error diagnostic as a `compile_error!` at its tokens: `S0010 message` and the help line.
/// Warnings have no stable form in a derive and are left to `schemac validate`.
fn errors(diags: Vec<Diagnostic>, spans: &Spans, fallback: proc_macro2::Span) -> TokenStream2 {
    let mut seen: Vec<String> = Vec::new();
    let mut out = TokenStream2::new();
    for d in diags.into_iter().filter(|d| d.severity == Severity::Error) {
        let mut msg = format!("{} {}", d.code.id(), d.message);
        if let Some(h) = &d.help {
            msg.push_str("\n= help: ");
            msg.push_str(h);
        }
        let key = format!(
            "{:?}{msg}",
            spans.lookup(d.span).map(|(s, _)| format!("{s:?}"))
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.extend(spanned(spans, d.span, fallback, &msg).to_compile_error());
    }
    out
}

#[cfg(test)]
#[path = "../tests/expand/mod.rs"]
mod expand_tests;
