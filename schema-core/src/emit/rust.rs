//! `models.rs`: typed Rust models (enums, row/insert/update structs, column names) built with `quote`
//! and formatted with `prettyplease`; an `include!`-able file with no inner attributes.

use super::{finish, header, EmitOptions};
use crate::ir::{Column, Enum, Identity, Schema, SqlType, Table};
use crate::types;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;
use std::collections::{BTreeMap, BTreeSet};

/// The comment block after the header: how names and types are chosen.
const PREAMBLE: &str = "\
// Typed models of the schema's enums and tables, for `include!` or copying into an application
// (which needs the crates serde, serde_json, postgres, postgres-types with `derive`, uuid with
// `serde`, chrono with `serde` and pgvector with `postgres` and `serde`).
//
// Naming: an enum or a table `snake_case` name becomes an `UpperCamelCase` type named after it as
// written (table `api_keys` -> row struct `ApiKeys`, no singularising); `NewApiKeys` holds the
// values of an insert and `ApiKeysUpdate` those of an update. Enum values become `UpperCamelCase`
// variants (non-alphanumeric characters separate words; a leading digit gets a `V` prefix). Fields
// are the column names (`r#type` for Rust keywords, a trailing `_` for `self`, `super`, `crate`).
// A name that would clash with another, or with a name from Rust's prelude, gets a number suffix
// (`Profiles2`). `Row::COLUMNS` lists the columns in table order and `Row::COL_<NAME>` names each.
//
// Types: uuid -> uuid::Uuid; text, varchar, char -> String; smallint, int, bigint -> i16, i32, i64;
// real, double precision -> f32, f64; boolean -> bool; json, jsonb -> serde_json::Value;
// timestamptz -> chrono::DateTime<chrono::Utc>; timestamp, date, time -> chrono::NaiveDateTime,
// NaiveDate, NaiveTime; bytea -> Vec<u8>; inet -> std::net::IpAddr (a netmask is not kept);
// vector(n) -> pgvector::Vector; enums -> the enum type; arrays -> Vec<T> (a NULL element fails to
// decode); numeric, interval, tsvector -> pg::Numeric (exact decimal text), pg::Interval,
// pg::TsVector, defined at the end of this file because no dependency reads them; a nullable
// column -> Option<T>.
//
// Inserts: `NewX` leaves out generated and `identity always` columns; a column that is NOT NULL
// without a default is required, any other is an `Option` where `None` leaves the column to its
// default (or NULL). Updates: `XUpdate` has every column except generated, identity and primary
// key columns as an `Option` (`None`: unchanged); a nullable column is an `Option<Option<T>>`
// (`Some(None)`: set to NULL). `values()` on both lists the columns set and their parameters.
";

/// Names from Rust's prelude (and `Self`): a generated type with one of these names would shadow
/// it for the code of this file and of the derives.
const PRELUDE: &[&str] = &[
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "DoubleEndedIterator",
    "Drop",
    "Eq",
    "Err",
    "ExactSizeIterator",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Hash",
    "Into",
    "IntoIterator",
    "Iterator",
    "None",
    "Ok",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Self",
    "Send",
    "Sized",
    "Some",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Vec",
];

/// Rust keywords (strict and reserved, every edition) that can be written as raw identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; a field named so gets a trailing `_`.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// The Rust models file for `schema`.
pub fn models(schema: &Schema, opts: &EmitOptions) -> String {
    let names = Names::new(schema);
    let mut items = TokenStream::new();
    for (e, name) in schema.enums.iter().zip(&names.enums) {
        items.extend(enum_items(e, name));
    }
    for (t, tn) in schema.tables.iter().zip(&names.tables) {
        items.extend(table_items(t, tn, &names));
    }
    items.extend(support_module());
    let body = match syn::parse2::<syn::File>(items.clone()) {
        Ok(file) => space_items(&prettyplease::unparse(&file)),
        // Unreachable for the tokens built here; the unformatted tokens still fail to compile loudly.
        Err(_) => items.to_string(),
    };
    let mut out = header("//", opts);
    out.push_str(PREAMBLE);
    out.push('\n');
    out.push_str(&body);
    finish(out)
}

/// Puts a blank line between items (prettyplease writes none): where a line ending in `}` or `;`
/// is followed, at the same indentation, by the docs, attributes or first line of an item, except
/// between two `const`, two `use` or two `type` items.
fn space_items(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    // The kind of the latest item started at each indentation.
    let mut kinds: BTreeMap<usize, &str> = BTreeMap::new();
    let mut out = String::with_capacity(code.len() + code.len() / 16);
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        out.push('\n');
        let depth = indent(line);
        if let Some(k) = item_kind(line) {
            kinds.insert(depth, k);
        }
        let this = line.trim_end();
        if !(this.ends_with('}') || this.ends_with(';')) {
            continue;
        }
        // The next item at this depth: skip its docs, attributes and anything nested deeper.
        let mut next_kind = None;
        for next in &lines[i + 1..] {
            let t = next.trim_start();
            if indent(next) > depth || (indent(next) == depth && t.starts_with(")]")) {
                continue;
            }
            if indent(next) < depth {
                break;
            }
            if t.starts_with("///") || t.starts_with("#[") {
                continue;
            }
            next_kind = item_kind(next);
            break;
        }
        let Some(next_kind) = next_kind else { continue };
        let same_simple =
            kinds.get(&depth) == Some(&next_kind) && ["const", "use", "type"].contains(&next_kind);
        if !same_simple {
            out.push('\n');
        }
    }
    out
}

/// `const`, `use`, `type`, `fn`, `struct`, `enum`, `impl`, `mod` or `macro` (an item macro call
/// such as `to_sql_checked!();`) when `line` starts such an item.
fn item_kind(line: &str) -> Option<&'static str> {
    let t = line.trim_start();
    if t.ends_with("!();") && !t.contains(' ') {
        return Some("macro");
    }
    let t = t.strip_prefix("pub ").unwrap_or(t);
    [
        "const ", "use ", "type ", "fn ", "struct ", "enum ", "impl ", "impl<", "mod ",
    ]
    .into_iter()
    .find(|k| t.starts_with(k))
    .map(|k| k.trim_end_matches([' ', '<']))
}

/// The type names chosen for every enum and table, unique and clear of the prelude.
struct Names {
    enums: Vec<String>,
    tables: Vec<TableNames>,
    /// SQL enum name -> Rust type name.
    enum_by_sql: BTreeMap<String, String>,
}

struct TableNames {
    row: String,
    new: String,
    update: String,
}

impl Names {
    fn new(schema: &Schema) -> Self {
        let mut taken: BTreeSet<String> = PRELUDE.iter().map(|s| s.to_string()).collect();
        let enums: Vec<String> = schema
            .enums
            .iter()
            .map(|e| unique(&mut taken, &camel(&e.name, "Enum"), ""))
            .collect();
        let rows: Vec<String> = schema
            .tables
            .iter()
            .map(|t| unique(&mut taken, &camel(&t.name, "Table"), ""))
            .collect();
        let news: Vec<String> = rows
            .iter()
            .map(|r| unique(&mut taken, &format!("New{r}"), ""))
            .collect();
        let updates: Vec<String> = rows
            .iter()
            .map(|r| unique(&mut taken, &format!("{r}Update"), ""))
            .collect();
        let enum_by_sql = schema
            .enums
            .iter()
            .zip(&enums)
            .map(|(e, n)| (e.name.clone(), n.clone()))
            .collect();
        let tables = rows
            .into_iter()
            .zip(news)
            .zip(updates)
            .map(|((row, new), update)| TableNames { row, new, update })
            .collect();
        Names {
            enums,
            tables,
            enum_by_sql,
        }
    }
}

/// `base`, or `base` followed by the first of 2, 3, ... (after `sep`) that is not taken; marks it taken.
fn unique(taken: &mut BTreeSet<String>, base: &str, sep: &str) -> String {
    let mut name = base.to_string();
    let mut n = 2u64;
    while taken.contains(&name) {
        name = format!("{base}{sep}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// `UpperCamelCase` from any text: ASCII letters and digits are kept, everything else separates
/// words; each word starts upper-case and continues lower-case. A leading digit gets a `V` prefix;
/// text without a letter or digit becomes `fallback`.
fn camel(text: &str, fallback: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.is_empty() {
        return fallback.to_string();
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    out
}

/// A snake_case field name for a column: lower-case ASCII letters, digits and `_` (anything else
/// becomes `_`), not starting with a digit, and a trailing `_` when the name cannot be a raw
/// identifier. Keywords stay as they are (`field_ident` makes them raw).
fn field_base(column: &str) -> String {
    let mut s: String = column
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if NOT_RAW.contains(&s.as_str()) {
        s.push('_');
    }
    s
}

/// The identifier for a field name chosen by `field_base` (raw for keywords).
fn field_ident(name: &str) -> Ident {
    if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// True for names clippy's `upper_case_acronyms` rejects (all upper-case ASCII letters, 3 or more).
fn all_caps(name: &str) -> bool {
    name.len() > 2 && name.bytes().all(|b| b.is_ascii_uppercase())
}

/// A doc attribute on one line (newlines and tabs become spaces, so comment text can never open
/// a Markdown code block or list that rustdoc or clippy would read).
fn doc(text: &str) -> TokenStream {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = format!(" {line}");
    quote! { #[doc = #line] }
}

fn enum_items(e: &Enum, name: &str) -> TokenStream {
    let ty = ident(name);
    let sql_name = &e.name;
    let mut taken: BTreeSet<String> = ["Self".to_string()].into_iter().collect();
    let variants: Vec<Ident> = e
        .values
        .iter()
        .map(|v| ident(&unique(&mut taken, &camel(v, "Value"), "")))
        .collect();
    let values = &e.values;
    let mut docs = doc(&format!("The `{sql_name}` enum."));
    if let Some(c) = &e.comment {
        docs.extend(quote! { #[doc = ""] });
        docs.extend(doc(c));
    }
    quote! {
        #docs
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize,
            postgres_types::ToSql, postgres_types::FromSql
        )]
        #[postgres(name = #sql_name)]
        #[allow(clippy::enum_variant_names, clippy::upper_case_acronyms)]
        pub enum #ty {
            #(
                #[postgres(name = #values)]
                #[serde(rename = #values)]
                #variants,
            )*
        }

        impl #ty {
            /// Every value, in declaration order (the order PostgreSQL sorts them in).
            pub const ALL: &'static [Self] = &[#(Self::#variants),*];

            /// The value as stored in PostgreSQL.
            pub fn as_str(&self) -> &'static str {
                match *self {
                    #(Self::#variants => #values,)*
                }
            }
        }

        impl std::fmt::Display for #ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

/// A column as the structs see it.
struct Field<'a> {
    column: &'a Column,
    ident: Ident,
    /// The identifier as written without `r#`, for the serde rename and lints.
    plain: String,
    konst: Ident,
    ty: TokenStream,
}

impl Field<'_> {
    /// `#[serde(rename = "...")]` when the field name is not the column name.
    fn rename(&self) -> TokenStream {
        if self.plain == self.column.name {
            TokenStream::new()
        } else {
            let col = &self.column.name;
            quote! { #[serde(rename = #col)] }
        }
    }

    /// The doc line: SQL type, nullability, default, identity or generation, comment.
    fn doc(&self, primary_key: bool) -> TokenStream {
        let c = self.column;
        let mut text = format!("`{}` `{}`", c.name, type_doc(&c.ty));
        if primary_key {
            text.push_str(", primary key");
        }
        if c.nullable {
            text.push_str(", nullable");
        }
        if let Some(d) = &c.default {
            text.push_str(&format!(", default `{d}`"));
        }
        match c.identity {
            Some(Identity::Always) => text.push_str(", identity always"),
            Some(Identity::ByDefault) => text.push_str(", identity by default"),
            None => {}
        }
        if let Some(g) = &c.generated {
            text.push_str(&format!(", generated as `{g}`"));
        }
        if let Some(comment) = &c.comment {
            text.push_str(": ");
            text.push_str(comment);
        }
        text.push('.');
        doc(&text)
    }
}

/// The SQL type as documented: like the migration writes it, but enums by their bare name.
fn type_doc(ty: &SqlType) -> String {
    match ty {
        SqlType::Enum(e) => e.clone(),
        SqlType::Array(inner) => format!("{}[]", type_doc(inner)),
        other => types::sql(other, None),
    }
}

fn fields<'a>(t: &'a Table, names: &Names) -> Vec<Field<'a>> {
    // Columns whose name is already a valid field name keep it; the others are fitted around them.
    let bases: Vec<String> = t.columns.iter().map(|c| field_base(&c.name)).collect();
    let mut taken: BTreeSet<String> = t
        .columns
        .iter()
        .zip(&bases)
        .filter(|(c, b)| c.name == **b)
        .map(|(_, b)| b.clone())
        .collect();
    let plains: Vec<String> = t
        .columns
        .iter()
        .zip(bases)
        .map(|(c, b)| {
            if c.name == b {
                return b;
            }
            let mut name = b;
            while taken.contains(&name) {
                name.push('_');
            }
            taken.insert(name.clone());
            name
        })
        .collect();
    let mut konsts: BTreeSet<String> = BTreeSet::new();
    t.columns
        .iter()
        .zip(plains)
        .map(|(c, plain)| {
            let konst = ident(&unique(
                &mut konsts,
                &format!("COL_{}", plain.to_ascii_uppercase()),
                "_",
            ));
            let base = rust_type(&c.ty, names);
            let ty = if c.nullable {
                quote! { Option<#base> }
            } else {
                base
            };
            Field {
                column: c,
                ident: field_ident(&plain),
                plain,
                konst,
                ty,
            }
        })
        .collect()
}

/// The Rust type `models.rs` gives a value of `ty` (not nullable) in `schema`; the derive macros
/// check mapped fields against it.
pub fn value_type(schema: &Schema, ty: &SqlType) -> TokenStream {
    rust_type(ty, &Names::new(schema))
}

/// The Rust type of a value of `ty` (not nullable).
fn rust_type(ty: &SqlType, names: &Names) -> TokenStream {
    match ty {
        SqlType::Uuid => quote! { uuid::Uuid },
        SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) => quote! { String },
        SqlType::SmallInt => quote! { i16 },
        SqlType::Int => quote! { i32 },
        SqlType::BigInt => quote! { i64 },
        SqlType::Numeric(_) => quote! { pg::Numeric },
        SqlType::Real => quote! { f32 },
        SqlType::Double => quote! { f64 },
        SqlType::Boolean => quote! { bool },
        SqlType::Json | SqlType::Jsonb => quote! { serde_json::Value },
        SqlType::Timestamptz => quote! { chrono::DateTime<chrono::Utc> },
        SqlType::Timestamp => quote! { chrono::NaiveDateTime },
        SqlType::Date => quote! { chrono::NaiveDate },
        SqlType::Time => quote! { chrono::NaiveTime },
        SqlType::Interval => quote! { pg::Interval },
        SqlType::Bytea => quote! { Vec<u8> },
        SqlType::Inet => quote! { std::net::IpAddr },
        SqlType::Tsvector => quote! { pg::TsVector },
        SqlType::Vector(_) => quote! { pgvector::Vector },
        // A valid schema only names declared enums; text keeps this total for any IR.
        SqlType::Enum(e) => match names.enum_by_sql.get(e) {
            Some(n) => {
                let n = ident(n);
                quote! { #n }
            }
            None => quote! { String },
        },
        SqlType::Array(inner) => {
            let inner = rust_type(inner, names);
            quote! { Vec<#inner> }
        }
    }
}

/// `#[allow(...)]` for lints a struct's generated names may trip.
fn struct_allows(name: &str, fields: &[&Field]) -> TokenStream {
    let mut lints = Vec::new();
    if fields
        .iter()
        .any(|f| f.plain.trim_matches('_').contains("__"))
    {
        lints.push(quote! { non_snake_case });
    }
    if all_caps(name) {
        lints.push(quote! { clippy::upper_case_acronyms });
    }
    if lints.is_empty() {
        TokenStream::new()
    } else {
        quote! { #[allow(#(#lints),*)] }
    }
}

fn table_items(t: &Table, tn: &TableNames, names: &Names) -> TokenStream {
    let all = fields(t, names);
    let row = ident(&tn.row);
    let new = ident(&tn.new);
    let update = ident(&tn.update);
    let table = &t.name;
    let is_pk = |f: &Field| t.primary_key.contains(&f.column.name);

    // The row struct.
    let mut row_docs = doc(&format!("A row of `public.{table}`."));
    if let Some(c) = &t.comment {
        row_docs.extend(quote! { #[doc = ""] });
        row_docs.extend(doc(c));
    }
    let all_refs: Vec<&Field> = all.iter().collect();
    let row_allows = struct_allows(&tn.row, &all_refs);
    let row_fields = all.iter().map(|f| {
        let (docs, rename, id, ty) = (f.doc(is_pk(f)), f.rename(), &f.ident, &f.ty);
        quote! { #docs #rename pub #id: #ty, }
    });
    let columns: Vec<&String> = all.iter().map(|f| &f.column.name).collect();
    let pk = &t.primary_key;
    let konsts = all.iter().map(|f| {
        let (k, col) = (&f.konst, &f.column.name);
        let d = doc(&format!("`{col}`"));
        quote! { #d pub const #k: &'static str = #col; }
    });
    // Named `_row` when there is no column to read (only possible for an IR not built by `lower`).
    let row_param = ident(if all.is_empty() { "_row" } else { "row" });
    let gets = all.iter().map(|f| {
        let (id, col) = (&f.ident, &f.column.name);
        quote! { #id: row.try_get(#col)?, }
    });

    // The insert struct.
    let insertable: Vec<&Field> = all
        .iter()
        .filter(|f| f.column.generated.is_none() && f.column.identity != Some(Identity::Always))
        .collect();
    let required =
        |f: &Field| !f.column.nullable && f.column.default.is_none() && f.column.identity.is_none();
    let new_derive_default = if insertable.iter().all(|f| !required(f)) {
        quote! { Default, }
    } else {
        quote! {}
    };
    let new_allows = struct_allows(&tn.new, &insertable);
    let new_fields = insertable.iter().map(|f| {
        let (docs, rename, id) = (f.doc(is_pk(f)), f.rename(), &f.ident);
        if required(f) {
            let ty = &f.ty;
            quote! { #docs #rename pub #id: #ty, }
        } else {
            let base = rust_type(&f.column.ty, names);
            quote! {
                #docs #rename
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub #id: Option<#base>,
            }
        }
    });
    let new_values = insertable.iter().map(|f| {
        let (id, col) = (&f.ident, &f.column.name);
        if required(f) {
            quote! { (#col, Some(&self.#id)), }
        } else {
            quote! { (#col, self.#id.as_ref().map(|v| v as pg::Param<'_>)), }
        }
    });
    let n_new = Literal::usize_unsuffixed(insertable.len());

    // The update struct.
    let updatable: Vec<&Field> = all
        .iter()
        .filter(|f| f.column.generated.is_none() && f.column.identity.is_none() && !is_pk(f))
        .collect();
    let update_allows = struct_allows(&tn.update, &updatable);
    let update_fields = updatable.iter().map(|f| {
        let (docs, rename, id, ty) = (f.doc(false), f.rename(), &f.ident, &f.ty);
        let with = if f.column.nullable {
            quote! { deserialize_with = "pg::double_option", }
        } else {
            quote! {}
        };
        quote! {
            #docs #rename
            #[serde(default, #with skip_serializing_if = "Option::is_none")]
            pub #id: Option<#ty>,
        }
    });
    let update_values = updatable.iter().map(|f| {
        let (id, col) = (&f.ident, &f.column.name);
        quote! { (#col, self.#id.as_ref().map(|v| v as pg::Param<'_>)), }
    });
    let n_update = Literal::usize_unsuffixed(updatable.len());

    let new_doc = doc(&format!(
        "The values of an insert into `public.{table}`; `None` leaves a column to its default."
    ));
    let update_doc = doc(&format!(
        "The changes of an update of `public.{table}`; `None` leaves a column unchanged."
    ));
    quote! {
        #row_docs
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #row_allows
        pub struct #row {
            #(#row_fields)*
        }

        impl #row {
            /// The schema of the table.
            pub const SCHEMA: &'static str = "public";
            /// The table name.
            pub const TABLE: &'static str = #table;
            /// Every column, in table order.
            pub const COLUMNS: &'static [&'static str] = &[#(#columns),*];
            /// The primary key columns.
            pub const PRIMARY_KEY: &'static [&'static str] = &[#(#pk),*];
            #(#konsts)*
        }

        impl std::convert::TryFrom<&postgres::Row> for #row {
            type Error = postgres::Error;

            fn try_from(#row_param: &postgres::Row) -> Result<Self, Self::Error> {
                Ok(Self { #(#gets)* })
            }
        }

        #new_doc
        #[derive(Debug, Clone, PartialEq, #new_derive_default serde::Serialize, serde::Deserialize)]
        #new_allows
        pub struct #new {
            #(#new_fields)*
        }

        impl #new {
            /// The columns this insert sets, in table order, with their values as parameters.
            pub fn values(&self) -> Vec<(&'static str, pg::Param<'_>)> {
                let values: [(&'static str, Option<pg::Param<'_>>); #n_new] = [#(#new_values)*];
                values.into_iter().filter_map(|(c, v)| v.map(|v| (c, v))).collect()
            }
        }

        #update_doc
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        #update_allows
        pub struct #update {
            #(#update_fields)*
        }

        impl #update {
            /// The columns this update sets, in table order, with their values as parameters.
            pub fn values(&self) -> Vec<(&'static str, pg::Param<'_>)> {
                let values: [(&'static str, Option<pg::Param<'_>>); #n_update] = [#(#update_values)*];
                values.into_iter().filter_map(|(c, v)| v.map(|v| (c, v))).collect()
            }
        }
    }
}

/// The `pg` module: parameter type, serde helper, and the PostgreSQL types no dependency reads.
fn support_module() -> TokenStream {
    quote! {
        /// Support for the models: the parameter type of `values()`, a serde helper for updates, and
        /// Rust types for PostgreSQL's `numeric`, `interval` and `tsvector` (which none of the
        /// dependencies read), in PostgreSQL's binary format.
        pub mod pg {
            use postgres_types::private::BytesMut;
            use postgres_types::{FromSql, IsNull, ToSql, Type};
            use std::error::Error;

            /// A query parameter.
            pub type Param<'a> = &'a (dyn ToSql + Sync);

            type BoxError = Box<dyn Error + Sync + Send>;

            /// Deserializes a present field, even `null`, as `Some`: with `#[serde(default)]`, a
            /// missing field is `None` (leave the column alone) and `null` is `Some(None)` (set NULL).
            pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
            where
                D: serde::Deserializer<'de>,
                T: serde::Deserialize<'de>,
            {
                <Option<T> as serde::Deserialize<'de>>::deserialize(deserializer).map(Some)
            }

            fn take<'a>(raw: &mut &'a [u8], n: usize) -> Result<&'a [u8], BoxError> {
                if raw.len() < n {
                    return Err("truncated binary value".into());
                }
                let (head, tail) = raw.split_at(n);
                *raw = tail;
                Ok(head)
            }

            fn read_u16(raw: &mut &[u8]) -> Result<u16, BoxError> {
                let b = take(raw, 2)?;
                Ok(u16::from_be_bytes([b[0], b[1]]))
            }

            fn read_i16(raw: &mut &[u8]) -> Result<i16, BoxError> {
                let b = take(raw, 2)?;
                Ok(i16::from_be_bytes([b[0], b[1]]))
            }

            fn read_i32(raw: &mut &[u8]) -> Result<i32, BoxError> {
                let b = take(raw, 4)?;
                Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }

            fn read_i64(raw: &mut &[u8]) -> Result<i64, BoxError> {
                let b = take(raw, 8)?;
                Ok(i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            }

            fn done(raw: &[u8]) -> Result<(), BoxError> {
                if raw.is_empty() {
                    Ok(())
                } else {
                    Err("trailing bytes after a binary value".into())
                }
            }

            const NUMERIC_POS: u16 = 0x0000;
            const NUMERIC_NEG: u16 = 0x4000;
            const NUMERIC_NAN: u16 = 0xC000;
            const NUMERIC_PINF: u16 = 0xD000;
            const NUMERIC_NINF: u16 = 0xF000;

            /// `numeric`, as its exact decimal text (`"-12.50"`, `"NaN"`, `"Infinity"`), with the
            /// scale PostgreSQL reports. Writing accepts an optional sign, digits and a decimal
            /// point (no exponent), `NaN` and `Infinity`.
            #[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
            #[serde(transparent)]
            pub struct Numeric(pub String);

            impl std::fmt::Display for Numeric {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.0)
                }
            }

            impl<'a> FromSql<'a> for Numeric {
                fn from_sql(_: &Type, mut raw: &'a [u8]) -> Result<Self, BoxError> {
                    let raw = &mut raw;
                    let ndigits = read_i16(raw)?;
                    let weight = i32::from(read_i16(raw)?);
                    let sign = read_u16(raw)?;
                    let dscale = usize::from(read_u16(raw)?);
                    let mut digits = Vec::new();
                    for _ in 0..ndigits.max(0) {
                        let d = read_i16(raw)?;
                        if !(0..10000).contains(&d) {
                            return Err("invalid numeric digit".into());
                        }
                        digits.push(d);
                    }
                    done(raw)?;
                    let negative = match sign {
                        NUMERIC_NAN => return Ok(Numeric("NaN".into())),
                        NUMERIC_PINF => return Ok(Numeric("Infinity".into())),
                        NUMERIC_NINF => return Ok(Numeric("-Infinity".into())),
                        NUMERIC_POS => false,
                        NUMERIC_NEG => true,
                        _ => return Err("invalid numeric sign".into()),
                    };
                    // Digit i is worth 10000^(weight - i).
                    let group = |i: i32| -> i16 {
                        usize::try_from(i).ok().and_then(|i| digits.get(i)).copied().unwrap_or(0)
                    };
                    let mut text = String::new();
                    if negative {
                        text.push('-');
                    }
                    if weight < 0 {
                        text.push('0');
                    } else {
                        text.push_str(&group(0).to_string());
                        for i in 1..=weight {
                            text.push_str(&format!("{:04}", group(i)));
                        }
                    }
                    if dscale > 0 {
                        let mut fraction = String::new();
                        let mut i = weight + 1;
                        while fraction.len() < dscale {
                            fraction.push_str(&format!("{:04}", group(i)));
                            i += 1;
                        }
                        fraction.truncate(dscale);
                        text.push('.');
                        text.push_str(&fraction);
                    }
                    Ok(Numeric(text))
                }

                fn accepts(ty: &Type) -> bool {
                    *ty == Type::NUMERIC
                }
            }

            impl ToSql for Numeric {
                fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
                    let (sign, weight, dscale, digits) = numeric_parts(&self.0)?;
                    let ndigits = i16::try_from(digits.len()).map_err(|_| "numeric value has too many digits")?;
                    out.extend_from_slice(&ndigits.to_be_bytes());
                    out.extend_from_slice(&weight.to_be_bytes());
                    out.extend_from_slice(&sign.to_be_bytes());
                    out.extend_from_slice(&dscale.to_be_bytes());
                    for d in digits {
                        out.extend_from_slice(&d.to_be_bytes());
                    }
                    Ok(IsNull::No)
                }

                fn accepts(ty: &Type) -> bool {
                    *ty == Type::NUMERIC
                }

                postgres_types::to_sql_checked!();
            }

            /// Sign, weight, display scale and base-10000 digits of a decimal text.
            fn numeric_parts(text: &str) -> Result<(u16, i16, u16, Vec<i16>), BoxError> {
                let t = text.trim();
                match t.to_ascii_lowercase().as_str() {
                    "nan" => return Ok((NUMERIC_NAN, 0, 0, Vec::new())),
                    "infinity" | "+infinity" | "inf" | "+inf" => return Ok((NUMERIC_PINF, 0, 0, Vec::new())),
                    "-infinity" | "-inf" => return Ok((NUMERIC_NINF, 0, 0, Vec::new())),
                    _ => {}
                }
                let (negative, unsigned) = match t.strip_prefix('-') {
                    Some(rest) => (true, rest),
                    None => (false, t.strip_prefix('+').unwrap_or(t)),
                };
                let (int, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
                if (int.is_empty() && fraction.is_empty())
                    || !int.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())
                {
                    return Err(format!("`{text}` is not a decimal number").into());
                }
                let dscale = u16::try_from(fraction.len())
                    .ok()
                    .filter(|s| *s <= 0x3FFF)
                    .ok_or("numeric value has too many decimal places")?;
                let int = int.trim_start_matches('0');
                let lead = (4 - int.len() % 4) % 4;
                let trail = (4 - fraction.len() % 4) % 4;
                let padded = format!("{}{int}{fraction}{}", "0".repeat(lead), "0".repeat(trail));
                let mut digits: Vec<i16> = padded
                    .as_bytes()
                    .chunks(4)
                    .map(|c| c.iter().fold(0i16, |acc, b| acc * 10 + i16::from(b - b'0')))
                    .collect();
                let Some(first) = digits.iter().position(|d| *d != 0) else {
                    return Ok((NUMERIC_POS, 0, dscale, Vec::new()));
                };
                digits.drain(..first);
                while digits.last() == Some(&0) {
                    digits.pop();
                }
                let int_groups = (lead + int.len()) / 4;
                let weight = i64::try_from(int_groups).unwrap_or(i64::MAX) - 1 - i64::try_from(first).unwrap_or(0);
                let weight = i16::try_from(weight).map_err(|_| "numeric value out of range")?;
                Ok((if negative { NUMERIC_NEG } else { NUMERIC_POS }, weight, dscale, digits))
            }

            /// `interval`, as PostgreSQL keeps it: months, days and microseconds apart, since a
            /// month has no fixed number of days nor a day a fixed number of hours.
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
            pub struct Interval {
                pub months: i32,
                pub days: i32,
                pub microseconds: i64,
            }

            impl<'a> FromSql<'a> for Interval {
                fn from_sql(_: &Type, mut raw: &'a [u8]) -> Result<Self, BoxError> {
                    let raw = &mut raw;
                    let microseconds = read_i64(raw)?;
                    let days = read_i32(raw)?;
                    let months = read_i32(raw)?;
                    done(raw)?;
                    Ok(Interval { months, days, microseconds })
                }

                fn accepts(ty: &Type) -> bool {
                    *ty == Type::INTERVAL
                }
            }

            impl ToSql for Interval {
                fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
                    out.extend_from_slice(&self.microseconds.to_be_bytes());
                    out.extend_from_slice(&self.days.to_be_bytes());
                    out.extend_from_slice(&self.months.to_be_bytes());
                    Ok(IsNull::No)
                }

                fn accepts(ty: &Type) -> bool {
                    *ty == Type::INTERVAL
                }

                postgres_types::to_sql_checked!();
            }

            /// `tsvector`: its lexemes in PostgreSQL's order.
            #[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
            pub struct TsVector {
                pub lexemes: Vec<TsLexeme>,
            }

            /// A `tsvector` lexeme and its positions (in increasing order when written).
            #[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
            pub struct TsLexeme {
                pub word: String,
                pub positions: Vec<TsPosition>,
            }

            /// A lexeme position (1 to 16383) and its weight (`'A'`, `'B'`, `'C'` or `'D'`).
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
            pub struct TsPosition {
                pub position: u16,
                pub weight: char,
            }

            impl<'a> FromSql<'a> for TsVector {
                fn from_sql(_: &Type, mut raw: &'a [u8]) -> Result<Self, BoxError> {
                    let raw = &mut raw;
                    let count = read_i32(raw)?;
                    let mut lexemes = Vec::new();
                    for _ in 0..count.max(0) {
                        let end = raw.iter().position(|b| *b == 0).ok_or("unterminated tsvector lexeme")?;
                        let word = std::str::from_utf8(take(raw, end)?)?.to_string();
                        take(raw, 1)?;
                        let npos = read_u16(raw)?;
                        let mut positions = Vec::new();
                        for _ in 0..npos {
                            let p = read_u16(raw)?;
                            let weight = match p >> 14 {
                                3 => 'A',
                                2 => 'B',
                                1 => 'C',
                                _ => 'D',
                            };
                            positions.push(TsPosition { position: p & 0x3FFF, weight });
                        }
                        lexemes.push(TsLexeme { word, positions });
                    }
                    done(raw)?;
                    Ok(TsVector { lexemes })
                }

                fn accepts(ty: &Type) -> bool {
                    *ty == Type::TS_VECTOR
                }
            }

            impl ToSql for TsVector {
                fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
                    let count = i32::try_from(self.lexemes.len()).map_err(|_| "too many tsvector lexemes")?;
                    out.extend_from_slice(&count.to_be_bytes());
                    for lexeme in &self.lexemes {
                        if lexeme.word.is_empty() || lexeme.word.contains('\0') {
                            return Err("a tsvector lexeme must be non-empty text without NUL".into());
                        }
                        out.extend_from_slice(lexeme.word.as_bytes());
                        out.extend_from_slice(&[0]);
                        let npos = u16::try_from(lexeme.positions.len()).map_err(|_| "too many tsvector positions")?;
                        out.extend_from_slice(&npos.to_be_bytes());
                        for p in &lexeme.positions {
                            let weight: u16 = match p.weight {
                                'A' => 3,
                                'B' => 2,
                                'C' => 1,
                                'D' => 0,
                                _ => return Err("a tsvector weight is 'A', 'B', 'C' or 'D'".into()),
                            };
                            if p.position == 0 || p.position > 0x3FFF {
                                return Err("a tsvector position is between 1 and 16383".into());
                            }
                            out.extend_from_slice(&((weight << 14) | p.position).to_be_bytes());
                        }
                    }
                    Ok(IsNull::No)
                }

                fn accepts(ty: &Type) -> bool {
                    *ty == Type::TS_VECTOR
                }

                postgres_types::to_sql_checked!();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Sources;

    fn compile(yaml: &str) -> Schema {
        let mut sources = Sources::new();
        sources.add("schema.yaml", yaml);
        let c = crate::compile(&sources);
        assert!(!c.has_errors(), "{:#?}", c.diagnostics);
        c.ir.expect("no errors, so a model")
    }

    const YAML: &str = r#"
extensions:
  - { name: vector, schema: extensions }
enums:
  state: [open, in-progress, "1st", "self", Open, done]
  kind: [a_b_c]
tables:
  items:
    comment: "Things.\n```rust\npanic!()\n```"
    columns:
      id: { type: bigint, primary_key: true, identity: always }
      type: text
      self: int?
      self_: int?
      states: state[]?
      tags: "text[]"
      price: numeric(10,2)?
      span: interval?
      search: { type: tsvector, generated: "to_tsvector('simple', note)" }
      embedding: vector(3)?
      addr: inet?
      raw: bytea?
      at: timestamp?
      on_day: date?
      kind: { type: kind, default: "'a_b_c'" }
      note: { type: varchar(10), default: "'x'" }
  string:
    columns:
      id: { type: uuid, primary_key: true, default: gen_random_uuid() }
      a__b: text
"#;

    #[test]
    fn deterministic_and_formatted() {
        let ir = compile(YAML);
        let a = models(&ir, &EmitOptions::default());
        let b = models(&ir, &EmitOptions::default());
        assert_eq!(a, b);
        assert!(a.starts_with("// @generated by schemac from schema.yaml. Do not edit.\n"));
        assert!(a.ends_with("}\n") && !a.ends_with("\n\n"));
        assert!(
            !a.contains("//!") && !a.contains("#!["),
            "include!-able: no inner attributes"
        );
        syn::parse_file(&a).expect("the output is Rust");
        // Items are separated by one blank line; runs of consts are not.
        assert!(!a.contains("\n\n\n"));
        assert!(a.contains("}\n\nimpl Items {\n"), "{a}");
        assert!(
            a.contains("        }\n\n        fn accepts(ty: &Type) -> bool {\n"),
            "{a}"
        );
        assert!(
            a.contains("    pub const COL_ID: &'static str = \"id\";\n    /// `type`\n"),
            "{a}"
        );
    }

    #[test]
    fn escapes_identifiers() {
        let out = models(&compile(YAML), &EmitOptions::default());
        assert!(out.contains("pub r#type: String,"), "{out}");
        // `self` cannot be raw: it takes a `_`, and the column really named `self_` keeps its name.
        assert!(
            out.contains("#[serde(rename = \"self\")]\n    pub self__: Option<i32>,"),
            "{out}"
        );
        assert!(out.contains("    pub self_: Option<i32>,"), "{out}");
        assert!(out.contains("self__: row.try_get(\"self\")?,"), "{out}");
        assert!(out.contains("r#type: row.try_get(\"type\")?,"), "{out}");
        assert!(
            out.contains("pub const COL_SELF__: &'static str = \"self\";"),
            "{out}"
        );
        assert!(
            out.contains("pub const COL_SELF_: &'static str = \"self_\";"),
            "{out}"
        );
        // Table `string` would shadow `String`.
        assert!(out.contains("pub struct String2 {"), "{out}");
        assert!(out.contains("pub struct NewString2 {"), "{out}");
        assert!(
            out.contains("#[allow(non_snake_case)]\npub struct String2 {"),
            "{out}"
        );
        // The comment's code fence is kept on one doc line.
        assert!(
            out.contains("/// A row of `public.items`.\n///\n/// Things. ```rust panic!() ```\n"),
            "{out}"
        );
        assert!(out.contains("/// `states` `state[]`, nullable.\n"), "{out}");
    }

    #[test]
    fn names_enum_variants() {
        let out = models(&compile(YAML), &EmitOptions::default());
        for (variant, value) in [
            ("Open", "open"),
            ("InProgress", "in-progress"),
            ("V1st", "1st"),
            ("Self2", "self"),
            ("Open2", "Open"),
        ] {
            assert!(out.contains(&format!("#[postgres(name = \"{value}\")]\n    #[serde(rename = \"{value}\")]\n    {variant},")), "{variant}: {out}");
            assert!(
                out.contains(&format!("Self::{variant} => \"{value}\",")),
                "{variant}: {out}"
            );
        }
        assert!(out.contains("#[postgres(name = \"state\")]"));
        assert!(
            out.contains("pub const ALL: &'static [Self] = &[Self::ABC];"),
            "{out}"
        );
    }

    #[test]
    fn maps_types() {
        let out = models(&compile(YAML), &EmitOptions::default());
        for field in [
            "pub states: Option<Vec<State>>,",
            "pub tags: Vec<String>,",
            "pub price: Option<pg::Numeric>,",
            "pub span: Option<pg::Interval>,",
            "pub search: pg::TsVector,",
            "pub embedding: Option<pgvector::Vector>,",
            "pub addr: Option<std::net::IpAddr>,",
            "pub raw: Option<Vec<u8>>,",
            "pub at: Option<chrono::NaiveDateTime>,",
            "pub on_day: Option<chrono::NaiveDate>,",
            "pub kind: Kind,",
            "pub id: i64,",
            "pub id: uuid::Uuid,",
        ] {
            assert!(out.contains(field), "{field}: {out}");
        }
    }

    /// The text between `pub struct <name> {` and the closing `}`.
    fn struct_body<'a>(out: &'a str, name: &str) -> &'a str {
        let start = out
            .find(&format!("pub struct {name} {{"))
            .unwrap_or_else(|| panic!("no struct {name}"));
        let rest = &out[start..];
        &rest[..rest.find("\n}").expect("struct end")]
    }

    #[test]
    fn insert_and_update_structs() {
        let out = models(&compile(YAML), &EmitOptions::default());
        let new = struct_body(&out, "NewItems");
        // Identity always and generated columns are not inserted; NOT NULL without default is required.
        assert!(
            !new.contains("pub id:") && !new.contains("pub search:"),
            "{new}"
        );
        assert!(new.contains("pub r#type: String,"), "{new}");
        assert!(new.contains("pub tags: Vec<String>,"), "{new}");
        assert!(new.contains("pub kind: Option<Kind>,"), "{new}");
        assert!(new.contains("pub price: Option<pg::Numeric>,"), "{new}");
        let update = struct_body(&out, "ItemsUpdate");
        assert!(
            !update.contains("pub id:") && !update.contains("pub search:"),
            "{update}"
        );
        assert!(update.contains("pub r#type: Option<String>,"), "{update}");
        assert!(
            update.contains("deserialize_with = \"pg::double_option\""),
            "{update}"
        );
        assert!(
            update.contains("pub price: Option<Option<pg::Numeric>>,"),
            "{update}"
        );
        // `string.id` has a default: the insert struct derives Default only when nothing is required.
        assert!(out.contains("#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]\n#[allow(non_snake_case)]\npub struct NewString2"), "{out}");
        let new_string = struct_body(&out, "NewString2");
        assert!(
            new_string.contains("pub id: Option<uuid::Uuid>,"),
            "{new_string}"
        );
        let update_string = struct_body(&out, "String2Update");
        assert!(
            !update_string.contains("pub id:"),
            "primary keys are not updated: {update_string}"
        );
    }

    #[test]
    fn helper_names() {
        assert_eq!(camel("api_keys", "T"), "ApiKeys");
        assert_eq!(camel("API key", "T"), "ApiKey");
        assert_eq!(camel("2fa", "T"), "V2fa");
        assert_eq!(camel("--", "Value"), "Value");
        assert_eq!(field_base("type"), "type");
        assert_eq!(field_base("crate"), "crate_");
        assert_eq!(field_base("_"), "__");
        assert_eq!(field_base("Größe 1"), "gr__e_1");
        assert_eq!(field_base("1x"), "_1x");
        assert_eq!(field_ident("type").to_string(), "r#type");
        assert_eq!(field_ident("crate_").to_string(), "crate_");
        let mut taken: BTreeSet<String> = ["A".to_string(), "A2".to_string()].into_iter().collect();
        assert_eq!(unique(&mut taken, "A", ""), "A3");
        assert_eq!(unique(&mut taken, "B", ""), "B");
    }
}
