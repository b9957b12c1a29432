//! `models.rs`: typed Rust models (enums, row/insert/update structs, column names) written directly
//! as source text, already laid out the way rustfmt would; an `include!`-able file with no inner
//! attributes.

use super::{finish, header, EmitOptions};
use crate::ir::{Column, Enum, Identity, Schema, SqlType, Table};
use crate::types;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

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

// rustfmt's default limits (`max_width = 100`, `use_small_heuristics = "Default"`): the layout
// below follows the rules rustfmt applies with them, so `rustfmt` leaves the file as it is.

/// `max_width`.
const MAX_WIDTH: usize = 100;
/// `fn_call_width`: the arguments of a call, or the fields of a tuple, on one line.
const CALL_WIDTH: usize = 60;
/// `array_width`: the elements of an array on one line.
const ARRAY_WIDTH: usize = 60;
/// `chain_width`: a method chain on one line.
const CHAIN_WIDTH: usize = 60;
/// `attr_fn_like_width`: the arguments of an attribute on one line.
const ATTR_WIDTH: usize = 70;
/// `short_array_element_width_threshold`: literals at most this wide share lines in a long array.
const SHORT_ITEM: usize = 10;

/// True when a line of `columns` columns fits in `max_width`.
fn fits(columns: usize) -> bool {
    columns <= MAX_WIDTH
}

/// The Rust models file for `schema`.
pub fn models(schema: &Schema, opts: &EmitOptions) -> String {
    let names = Names::new(schema);
    // About 7.5 kB per table in practice; growing the buffer is cheap anyway.
    let mut out = String::with_capacity(16 * 1024 + schema.tables.len() * 8 * 1024);
    out.push_str(&finish(header("//", opts)));
    out.push_str(PREAMBLE);
    for (e, name) in schema.enums.iter().zip(&names.enums) {
        out.push('\n');
        enum_items(&mut out, e, name);
    }
    for (t, tn) in schema.tables.iter().zip(&names.tables) {
        out.push('\n');
        table_items(&mut out, t, tn, &names);
    }
    out.push('\n');
    out.push_str(PG_MODULE);
    out
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
fn field_ident(name: &str) -> String {
    if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_string()
    }
}

/// True for names clippy's `upper_case_acronyms` rejects (all upper-case ASCII letters, 3 or more).
fn all_caps(name: &str) -> bool {
    name.len() > 2 && name.bytes().all(|b| b.is_ascii_uppercase())
}

/// The width of `s` in columns, as rustfmt counts it: one per character, except two for East
/// Asian wide characters and emoji and none for combining marks (an approximation of Unicode's
/// East Asian Width table that covers its common ranges).
fn width(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    s.chars()
        .map(|c| match u32::from(c) {
            0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F => 0,
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x1F300..=0x1F64F
            | 0x1F900..=0x1F9FF
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// The width of `items` written on one line, separated by `, `.
fn list_width<S: AsRef<str>>(items: &[S]) -> usize {
    items.iter().map(|s| width(s.as_ref())).sum::<usize>() + 2 * items.len().saturating_sub(1)
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

fn push_all(out: &mut String, parts: &[&str]) {
    for p in parts {
        out.push_str(p);
    }
}

/// The width of `parts` written one after the other.
fn parts_width(parts: &[&str]) -> usize {
    parts.iter().map(|p| width(p)).sum()
}

/// `items` separated by `, `.
fn push_list<S: AsRef<str>>(out: &mut String, items: &[S]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(item.as_ref());
    }
}

/// A Rust string literal with the value `s`.
fn lit(s: &str) -> String {
    if s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        out
    } else {
        // `Debug` writes a valid literal: quotes, backslashes and non-printable characters escaped.
        format!("{s:?}")
    }
}

/// A doc comment on one line at indentation `ind`: whitespace and control characters become
/// single spaces, so comment text can never open a Markdown code block or list that rustdoc or
/// clippy would read.
fn doc(out: &mut String, ind: usize, text: &str) {
    indent(out, ind);
    out.push_str("///");
    // Most text is printable ASCII with single spaces already: written as it is.
    let plain = text
        .bytes()
        .all(|b| (b'!'..=b'~').contains(&b) || b == b' ')
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ");
    if plain {
        if !text.is_empty() {
            out.push(' ');
            out.push_str(text);
        }
        out.push('\n');
        return;
    }
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        out.push(' ');
        out.push_str(word);
    }
    out.push('\n');
}

/// A doc comment naming `code` in backticks.
fn doc_code(out: &mut String, ind: usize, code: &str) {
    if code.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
        indent(out, ind);
        push_all(out, &["/// `", code, "`\n"]);
    } else {
        doc(out, ind, &format!("`{code}`"));
    }
}

/// An empty doc line (a paragraph break).
fn doc_break(out: &mut String, ind: usize) {
    indent(out, ind);
    out.push_str("///\n");
}

/// `#[path(args)]` at indentation `ind`: on one line, or one argument per line where rustfmt
/// breaks it.
fn attr(out: &mut String, ind: usize, path: &str, args: &[&str]) {
    let args_width = list_width(args);
    indent(out, ind);
    out.push_str("#[");
    out.push_str(path);
    // Like a call: a single argument stays on the line whenever it fits.
    if (args.len() == 1 || args_width <= ATTR_WIDTH) && fits(ind + path.len() + args_width + 5) {
        out.push('(');
        push_list(out, args);
        out.push_str(")]\n");
    } else {
        out.push_str("(\n");
        for (i, a) in args.iter().enumerate() {
            indent(out, ind + 4);
            out.push_str(a);
            out.push_str(if i + 1 < args.len() { ",\n" } else { "\n" });
        }
        indent(out, ind);
        out.push_str(")]\n");
    }
}

/// `{lhs} = {value};` at indentation `ind`, `value` on the next line when it does not fit.
fn assign(out: &mut String, ind: usize, lhs: &[&str], value: &str) {
    indent(out, ind);
    push_all(out, lhs);
    if fits(ind + parts_width(lhs) + 3 + width(value) + 1) {
        out.push_str(" = ");
    } else {
        out.push_str(" =\n");
        indent(out, ind + 4);
    }
    out.push_str(value);
    out.push_str(";\n");
}

/// `{lhs} = {open}{items}];` at indentation `ind` for an array (`open` is `[` or `&[`):
/// on one line, else on the next line, else one item per line (several per line when every item
/// is a short literal). `items` are single-line.
fn assign_array(
    out: &mut String,
    ind: usize,
    lhs: &str,
    open: &str,
    items: &[&str],
    literals: bool,
) {
    let items_width = list_width(items);
    let one_line = width(open) + items_width + 1;
    // rustfmt puts a single item on one line whenever it fits; more only up to `array_width`.
    let horizontal = items.len() <= 1 || items_width <= ARRAY_WIDTH;
    indent(out, ind);
    out.push_str(lhs);
    if horizontal && fits(ind + width(lhs) + 3 + one_line + 1) {
        out.push_str(" = ");
    } else if horizontal && fits(ind + 4 + one_line + 1) {
        out.push_str(" =\n");
        indent(out, ind + 4);
    } else {
        out.push_str(" = ");
        out.push_str(open);
        out.push('\n');
        if literals && items.iter().all(|i| width(i) <= SHORT_ITEM) {
            // Several per line, each line as full as fits (with its trailing comma).
            let mut col = 0;
            for item in items {
                let w = width(item);
                if col > 0 && fits(col + 2 + w + 1) {
                    out.push(' ');
                    col += 1;
                } else {
                    if col > 0 {
                        out.push('\n');
                    }
                    indent(out, ind + 4);
                    col = ind + 4;
                }
                out.push_str(item);
                out.push(',');
                col += w + 1;
            }
            out.push('\n');
        } else {
            for item in items {
                indent(out, ind + 4);
                out.push_str(item);
                out.push_str(",\n");
            }
        }
        indent(out, ind);
        out.push_str("];\n");
        return;
    }
    out.push_str(open);
    push_list(out, items);
    out.push_str("];\n");
}

/// The SQL type as documented: like the migration writes it, but enums by their bare name.
fn type_doc(ty: &SqlType) -> String {
    match ty {
        SqlType::Enum(e) => e.clone(),
        SqlType::Array(inner) => format!("{}[]", type_doc(inner)),
        other => types::sql(other, None),
    }
}

/// The Rust type `models.rs` gives a value of `ty` (not nullable) in `schema`; the derive macros
/// check mapped fields against it.
pub fn value_type(schema: &Schema, ty: &SqlType) -> proc_macro2::TokenStream {
    // A path or generic type written by `rust_type`, so it always lexes; an empty stream otherwise.
    rust_type(ty, &Names::new(schema))
        .parse()
        .unwrap_or_default()
}

/// The Rust type of a value of `ty` (not nullable).
fn rust_type(ty: &SqlType, names: &Names) -> String {
    let simple = match ty {
        SqlType::Uuid => "uuid::Uuid",
        SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) => "String",
        SqlType::SmallInt => "i16",
        SqlType::Int => "i32",
        SqlType::BigInt => "i64",
        SqlType::Numeric(_) => "pg::Numeric",
        SqlType::Real => "f32",
        SqlType::Double => "f64",
        SqlType::Boolean => "bool",
        SqlType::Json | SqlType::Jsonb => "serde_json::Value",
        SqlType::Timestamptz => "chrono::DateTime<chrono::Utc>",
        SqlType::Timestamp => "chrono::NaiveDateTime",
        SqlType::Date => "chrono::NaiveDate",
        SqlType::Time => "chrono::NaiveTime",
        SqlType::Interval => "pg::Interval",
        SqlType::Bytea => "Vec<u8>",
        SqlType::Inet => "std::net::IpAddr",
        SqlType::Tsvector => "pg::TsVector",
        SqlType::Vector(_) => "pgvector::Vector",
        // A valid schema only names declared enums; text keeps this total for any IR.
        SqlType::Enum(e) => return names.enum_by_sql.get(e).map_or("String", |n| n).to_string(),
        SqlType::Array(inner) => return format!("Vec<{}>", rust_type(inner, names)),
    };
    simple.to_string()
}

fn enum_items(out: &mut String, e: &Enum, name: &str) {
    let mut taken: BTreeSet<String> = ["Self".to_string()].into_iter().collect();
    let variants: Vec<String> = e
        .values
        .iter()
        .map(|v| unique(&mut taken, &camel(v, "Value"), ""))
        .collect();
    let values: Vec<String> = e.values.iter().map(|v| lit(v)).collect();
    doc(out, 0, &format!("The `{}` enum.", e.name));
    if let Some(c) = &e.comment {
        doc_break(out, 0);
        doc(out, 0, c);
    }
    out.push_str(
        "#[derive(\n    Debug,\n    Clone,\n    Copy,\n    PartialEq,\n    Eq,\n    Hash,\n    \
         serde::Serialize,\n    serde::Deserialize,\n    postgres_types::ToSql,\n    \
         postgres_types::FromSql,\n)]\n",
    );
    attr(out, 0, "postgres", &[&format!("name = {}", lit(&e.name))]);
    out.push_str("#[allow(clippy::enum_variant_names, clippy::upper_case_acronyms)]\n");
    if variants.is_empty() {
        let _ = writeln!(out, "pub enum {name} {{}}");
    } else {
        let _ = writeln!(out, "pub enum {name} {{");
        for (variant, value) in variants.iter().zip(&values) {
            attr(out, 4, "postgres", &[&format!("name = {value}")]);
            attr(out, 4, "serde", &[&format!("rename = {value}")]);
            let _ = writeln!(out, "    {variant},");
        }
        out.push_str("}\n");
    }

    let _ = writeln!(out, "\nimpl {name} {{");
    out.push_str(
        "    /// Every value, in declaration order (the order PostgreSQL sorts them in).\n",
    );
    let all: Vec<String> = variants.iter().map(|v| format!("Self::{v}")).collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    assign_array(out, 4, "pub const ALL: &'static [Self]", "&[", &all, false);
    out.push_str(
        "\n    /// The value as stored in PostgreSQL.\n    pub fn as_str(&self) -> &'static str {\n",
    );
    if variants.is_empty() {
        out.push_str("        match *self {}\n");
    } else {
        out.push_str("        match *self {\n");
        for (variant, value) in variants.iter().zip(&values) {
            if fits(12 + 6 + width(variant) + 4 + width(value) + 1) {
                let _ = writeln!(out, "            Self::{variant} => {value},");
            } else {
                // rustfmt moves a body that does not fit after `=>` into a block.
                let _ = writeln!(
                    out,
                    "            Self::{variant} => {{\n                {value}\n            }}"
                );
            }
        }
        out.push_str("        }\n");
    }
    out.push_str("    }\n}\n");
    out.push('\n');
    impl_for(out, "std::fmt::Display", name);
    out.push_str(
        "    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {\n        \
         f.write_str(self.as_str())\n    }\n}\n",
    );
}

/// A column as the structs see it.
struct Field<'a> {
    column: &'a Column,
    /// The identifier (`r#type` for a keyword).
    ident: String,
    /// The identifier as written without `r#`, for the serde rename and lints.
    plain: String,
    konst: String,
    /// The column name as a string literal.
    name: String,
    /// The type of a value (not nullable).
    base: String,
    /// The field type: `base`, or `Option<base>` when the column is nullable.
    ty: String,
    /// The field's doc comment line (`doc_text`; a primary key column is never in an update).
    doc: String,
    /// The name may trip `non_snake_case` (a `__` inside it).
    not_snake: bool,
}

impl Field<'_> {
    /// `#[serde(rename = "...")]` when the field name is not the column name.
    fn rename(&self, out: &mut String) {
        if self.plain != self.column.name {
            attr(out, 4, "serde", &[&format!("rename = {}", self.name)]);
        }
    }

    fn doc(&self, out: &mut String) {
        out.push_str(&self.doc);
    }

    /// The tuple of `values()` for this field: `Some(&self.f)`, or `self.f` as an optional
    /// parameter.
    fn item(&self, required: bool) -> Item<'_> {
        Item {
            name: &self.name,
            param: if required {
                Param::Required(&self.ident)
            } else {
                Param::Optional(&self.ident)
            },
        }
    }
}

/// The doc line of a column's field: SQL type, nullability, default, identity or generation,
/// comment.
fn doc_text(c: &Column, primary_key: bool) -> String {
    let mut text = format!("`{}` `{}`", c.name, type_doc(&c.ty));
    if primary_key {
        text.push_str(", primary key");
    }
    if c.nullable {
        text.push_str(", nullable");
    }
    if let Some(d) = &c.default {
        let _ = write!(text, ", default `{d}`");
    }
    match c.identity {
        Some(Identity::Always) => text.push_str(", identity always"),
        Some(Identity::ByDefault) => text.push_str(", identity by default"),
        None => {}
    }
    if let Some(g) = &c.generated {
        let _ = write!(text, ", generated as `{g}`");
    }
    if let Some(comment) = &c.comment {
        text.push_str(": ");
        text.push_str(comment);
    }
    text.push('.');
    let mut line = String::with_capacity(text.len() + 8);
    doc(&mut line, 4, &text);
    line
}

fn fields<'a>(t: &'a Table, names: &Names) -> Vec<Field<'a>> {
    // Columns whose name is already a valid field name keep it; the others are fitted around them.
    let bases: Vec<String> = t.columns.iter().map(|c| field_base(&c.name)).collect();
    let plains: Vec<String> = if t.columns.iter().zip(&bases).all(|(c, b)| c.name == *b) {
        // The usual case: every column name is a field name already.
        bases
    } else {
        let mut taken: BTreeSet<String> = t
            .columns
            .iter()
            .zip(&bases)
            .filter(|(c, b)| c.name == **b)
            .map(|(_, b)| b.clone())
            .collect();
        t.columns
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
            .collect()
    };
    let mut konsts: BTreeSet<String> = BTreeSet::new();
    t.columns
        .iter()
        .zip(plains)
        .map(|(c, plain)| {
            let konst = unique(
                &mut konsts,
                &format!("COL_{}", plain.to_ascii_uppercase()),
                "_",
            );
            let base = rust_type(&c.ty, names);
            let ty = if c.nullable {
                format!("Option<{base}>")
            } else {
                base.clone()
            };
            Field {
                column: c,
                ident: field_ident(&plain),
                not_snake: plain.trim_matches('_').contains("__"),
                plain,
                konst,
                name: lit(&c.name),
                base,
                ty,
                doc: doc_text(c, t.primary_key.contains(&c.name)),
            }
        })
        .collect()
}

/// `#[allow(...)]` for lints a struct's generated names may trip.
fn struct_allows(out: &mut String, name: &str, fields: &[&Field]) {
    let mut lints = Vec::new();
    if fields.iter().any(|f| f.not_snake) {
        lints.push("non_snake_case");
    }
    if all_caps(name) {
        lints.push("clippy::upper_case_acronyms");
    }
    if !lints.is_empty() {
        attr(out, 0, "allow", &lints);
    }
}

/// `pub {name}: {ty},` in a struct; the type goes on the next line when the line is too long.
fn field(out: &mut String, name: &str, ty: &[&str]) {
    let sep = if fits(4 + 4 + width(name) + 2 + parts_width(ty) + 1) {
        " "
    } else {
        "\n        "
    };
    push_all(out, &["    pub ", name, ":", sep]);
    push_all(out, ty);
    out.push_str(",\n");
}

/// `pub struct {name} {` (or `{}` when there are no fields) after its docs and derives.
fn struct_open(out: &mut String, name: &str, empty: bool) {
    let _ = writeln!(out, "pub struct {name} {}", if empty { "{}" } else { "{" });
}

/// The closing line of a struct opened by `struct_open`.
fn struct_close(out: &mut String, empty: bool) {
    if !empty {
        out.push_str("}\n");
    }
}

/// `impl {trait_path} for {ty} {`: rustfmt moves `for ...` to its own line when it does not fit.
fn impl_for(out: &mut String, trait_path: &str, ty: &str) {
    if fits(5 + width(trait_path) + 5 + width(ty) + 2) {
        let _ = writeln!(out, "impl {trait_path} for {ty} {{");
    } else {
        let _ = writeln!(out, "impl {trait_path}\n    for {ty}\n{{");
    }
}

/// The value of one column in `values()`.
enum Param<'a> {
    /// `Some(&self.f)`: a required value.
    Required(&'a str),
    /// `self.f.as_ref().map(|v| v as pg::Param<'_>)`: set when `Some`.
    Optional(&'a str),
}

const AS_PARAM: &str = ".map(|v| v as pg::Param<'_>)";

impl Param<'_> {
    /// The width of the expression on one line.
    fn width(&self) -> usize {
        match *self {
            Param::Required(f) => "Some(&self.)".len() + width(f),
            Param::Optional(f) => "self..as_ref()".len() + width(f) + AS_PARAM.len(),
        }
    }

    /// True when rustfmt keeps the expression on one line (`chain_width`).
    fn one_line(&self) -> bool {
        matches!(self, Param::Required(_)) || self.width() <= CHAIN_WIDTH
    }

    /// The expression on one line.
    fn write_one_line(&self, out: &mut String) {
        match *self {
            Param::Required(f) => {
                out.push_str("Some(&self.");
                out.push_str(f);
                out.push(')');
            }
            Param::Optional(f) => {
                out.push_str("self.");
                out.push_str(f);
                out.push_str(".as_ref()");
                out.push_str(AS_PARAM);
            }
        }
    }

    /// The expression at indentation `ind`, its first line not indented, ending with a newline
    /// after `suffix`.
    fn write(&self, out: &mut String, ind: usize, suffix: &str) {
        match *self {
            Param::Optional(f) if !self.one_line() => {
                // Too long for `chain_width`: one method per line.
                out.push_str("self.");
                out.push_str(f);
                out.push('\n');
                indent(out, ind + 4);
                out.push_str(".as_ref()\n");
                indent(out, ind + 4);
                out.push_str(AS_PARAM);
            }
            _ => self.write_one_line(out),
        }
        out.push_str(suffix);
        out.push('\n');
    }
}

/// One (column, value) tuple of `values()`.
struct Item<'a> {
    /// The column name as a string literal.
    name: &'a str,
    param: Param<'a>,
}

impl Item<'_> {
    /// The width of `(name, value)` on one line, when rustfmt keeps it on one (`fn_call_width`).
    fn one_line_width(&self) -> Option<usize> {
        let args = width(self.name) + 2 + self.param.width();
        (self.param.one_line() && args <= CALL_WIDTH).then_some(args + 2)
    }

    fn write_one_line(&self, out: &mut String) {
        out.push('(');
        out.push_str(self.name);
        out.push_str(", ");
        self.param.write_one_line(out);
        out.push(')');
    }

    /// The tuple's fields one per line at indentation `ind`, after its `(` and before its `)`.
    fn write_fields(&self, out: &mut String, ind: usize) {
        indent(out, ind);
        out.push_str(self.name);
        out.push_str(",\n");
        indent(out, ind);
        self.param.write(out, ind, ",");
    }
}

/// The body of a `values()` method: the `values` array of (column, optional parameter) and the
/// filter that keeps the parameters set.
fn values_fn(out: &mut String, doc_line: &str, items: &[Item]) {
    out.push_str(doc_line);
    out.push_str("    pub fn values(&self) -> Vec<(&'static str, pg::Param<'_>)> {\n");
    let ind = 8;
    indent(out, ind);
    let lhs_start = out.len();
    let _ = write!(
        out,
        "let values: [(&'static str, Option<pg::Param<'_>>); {}] =",
        items.len()
    );
    let lhs_width = out.len() - lhs_start;
    let widths: Vec<Option<usize>> = items.iter().map(Item::one_line_width).collect();
    // The whole array on one line: every tuple on one line, and a single one or within
    // `array_width`; on this line, or else on the next.
    let horizontal = widths
        .iter()
        .copied()
        .sum::<Option<usize>>()
        .and_then(|sum| {
            let items_width = sum + 2 * items.len().saturating_sub(1);
            (items.len() <= 1 || items_width <= ARRAY_WIDTH).then_some(items_width + 2)
        });
    let write_horizontal = |out: &mut String| {
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            item.write_one_line(out);
        }
        out.push_str("];\n");
    };
    match horizontal {
        Some(w) if fits(ind + lhs_width + 1 + w + 1) => {
            out.push(' ');
            write_horizontal(out);
        }
        Some(w) if fits(ind + 4 + w + 1) => {
            out.push('\n');
            indent(out, ind + 4);
            write_horizontal(out);
        }
        _ if items.len() == 1 => {
            // A single tuple that does not fit on one line is laid out inside the brackets.
            out.push_str(" [(\n");
            items[0].write_fields(out, ind + 4);
            indent(out, ind);
            out.push_str(")];\n");
        }
        _ => {
            out.push_str(" [\n");
            for (item, w) in items.iter().zip(&widths) {
                indent(out, ind + 4);
                match w {
                    Some(w) if fits(ind + 4 + w + 1) => {
                        item.write_one_line(out);
                        out.push_str(",\n");
                    }
                    _ => {
                        out.push_str("(\n");
                        item.write_fields(out, ind + 8);
                        indent(out, ind + 4);
                        out.push_str("),\n");
                    }
                }
            }
            indent(out, ind);
            out.push_str("];\n");
        }
    }
    out.push_str(
        "        values\n            .into_iter()\n            \
         .filter_map(|(c, v)| v.map(|v| (c, v)))\n            .collect()\n    }\n}\n",
    );
}

const ROW_DERIVE: &str =
    "#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]\n";
const DEFAULT_DERIVE: &str =
    "#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]\n";
const SKIP_NONE: &str = "    #[serde(default, skip_serializing_if = \"Option::is_none\")]\n";
const SKIP_NONE_NULLABLE: &str = "    #[serde(\n        default,\n        \
     deserialize_with = \"pg::double_option\",\n        \
     skip_serializing_if = \"Option::is_none\"\n    )]\n";

fn table_items(out: &mut String, t: &Table, tn: &TableNames, names: &Names) {
    let all = fields(t, names);
    let table = &t.name;
    let is_pk = |f: &Field| t.primary_key.contains(&f.column.name);

    // The row struct.
    doc(out, 0, &format!("A row of `public.{table}`."));
    if let Some(c) = &t.comment {
        doc_break(out, 0);
        doc(out, 0, c);
    }
    out.push_str(ROW_DERIVE);
    let all_refs: Vec<&Field> = all.iter().collect();
    struct_allows(out, &tn.row, &all_refs);
    struct_open(out, &tn.row, all.is_empty());
    for f in &all {
        f.doc(out);
        f.rename(out);
        field(out, &f.ident, &[&f.ty]);
    }
    struct_close(out, all.is_empty());

    // Its constants.
    let _ = writeln!(out, "\nimpl {} {{", tn.row);
    out.push_str(
        "    /// The schema of the table.\n    pub const SCHEMA: &'static str = \"public\";\n    \
         /// The table name.\n",
    );
    assign(out, 4, &["pub const TABLE: &'static str"], &lit(table));
    out.push_str("    /// Every column, in table order.\n");
    let columns: Vec<&str> = all.iter().map(|f| f.name.as_str()).collect();
    assign_array(
        out,
        4,
        "pub const COLUMNS: &'static [&'static str]",
        "&[",
        &columns,
        true,
    );
    out.push_str("    /// The primary key columns.\n");
    let pk: Vec<String> = t.primary_key.iter().map(|c| lit(c)).collect();
    let pk: Vec<&str> = pk.iter().map(String::as_str).collect();
    assign_array(
        out,
        4,
        "pub const PRIMARY_KEY: &'static [&'static str]",
        "&[",
        &pk,
        true,
    );
    for f in &all {
        doc_code(out, 4, &f.column.name);
        assign(out, 4, &["pub const ", &f.konst, ": &'static str"], &f.name);
    }
    out.push_str("}\n\n");

    // Reading a row.
    impl_for(out, "std::convert::TryFrom<&postgres::Row>", &tn.row);
    out.push_str("    type Error = postgres::Error;\n\n");
    // Named `_row` when there is no column to read (only possible for an IR not built by `lower`).
    if all.is_empty() {
        out.push_str(
            "    fn try_from(_row: &postgres::Row) -> Result<Self, Self::Error> {\n        \
             Ok(Self {})\n",
        );
    } else {
        out.push_str(
            "    fn try_from(row: &postgres::Row) -> Result<Self, Self::Error> {\n        \
             Ok(Self {\n",
        );
        for f in &all {
            // rustfmt breaks the chain before `.try_get` when the line is too long (it counts the
            // `?` twice, so a line of 99 columns is already too long).
            let long = !fits(12 + width(&f.ident) + 2 + 12 + width(&f.name) + 3 + 2);
            let sep = if long { "\n                " } else { "" };
            push_all(
                out,
                &[
                    "            ",
                    &f.ident,
                    ": row",
                    sep,
                    ".try_get(",
                    &f.name,
                    ")?,\n",
                ],
            );
        }
        out.push_str("        })\n");
    }
    out.push_str("    }\n}\n\n");

    // The insert struct.
    let insertable: Vec<&Field> = all
        .iter()
        .filter(|f| f.column.generated.is_none() && f.column.identity != Some(Identity::Always))
        .collect();
    let required =
        |f: &Field| !f.column.nullable && f.column.default.is_none() && f.column.identity.is_none();
    doc(
        out,
        0,
        &format!(
            "The values of an insert into `public.{table}`; `None` leaves a column to its default."
        ),
    );
    out.push_str(if insertable.iter().all(|f| !required(f)) {
        DEFAULT_DERIVE
    } else {
        ROW_DERIVE
    });
    struct_allows(out, &tn.new, &insertable);
    struct_open(out, &tn.new, insertable.is_empty());
    for f in &insertable {
        f.doc(out);
        f.rename(out);
        if required(f) {
            field(out, &f.ident, &[&f.ty]);
        } else {
            out.push_str(SKIP_NONE);
            field(out, &f.ident, &["Option<", &f.base, ">"]);
        }
    }
    struct_close(out, insertable.is_empty());
    let _ = writeln!(out, "\nimpl {} {{", tn.new);
    let items: Vec<Item> = insertable.iter().map(|f| f.item(required(f))).collect();
    values_fn(
        out,
        "    /// The columns this insert sets, in table order, with their values as parameters.\n",
        &items,
    );

    // The update struct.
    let updatable: Vec<&Field> = all
        .iter()
        .filter(|f| f.column.generated.is_none() && f.column.identity.is_none() && !is_pk(f))
        .collect();
    out.push('\n');
    doc(
        out,
        0,
        &format!("The changes of an update of `public.{table}`; `None` leaves a column unchanged."),
    );
    out.push_str(DEFAULT_DERIVE);
    struct_allows(out, &tn.update, &updatable);
    struct_open(out, &tn.update, updatable.is_empty());
    for f in &updatable {
        f.doc(out);
        f.rename(out);
        out.push_str(if f.column.nullable {
            SKIP_NONE_NULLABLE
        } else {
            SKIP_NONE
        });
        field(out, &f.ident, &["Option<", &f.ty, ">"]);
    }
    struct_close(out, updatable.is_empty());
    let _ = writeln!(out, "\nimpl {} {{", tn.update);
    let items: Vec<Item> = updatable.iter().map(|f| f.item(false)).collect();
    values_fn(
        out,
        "    /// The columns this update sets, in table order, with their values as parameters.\n",
        &items,
    );
}

/// The `pg` module at the end of the file: the parameter type of `values()`, a serde helper for
/// updates, and the PostgreSQL types no dependency reads (as rustfmt lays it out).
const PG_MODULE: &str = r#"/// Support for the models: the parameter type of `values()`, a serde helper for updates, and
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
        Ok(i64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
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
            let group = |i: i32| -> i16 {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| digits.get(i))
                    .copied()
                    .unwrap_or(0)
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
            let ndigits =
                i16::try_from(digits.len()).map_err(|_| "numeric value has too many digits")?;
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
            "infinity" | "+infinity" | "inf" | "+inf" => {
                return Ok((NUMERIC_PINF, 0, 0, Vec::new()));
            }
            "-infinity" | "-inf" => return Ok((NUMERIC_NINF, 0, 0, Vec::new())),
            _ => {}
        }
        let (negative, unsigned) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        if (int.is_empty() && fraction.is_empty())
            || !int
                .bytes()
                .chain(fraction.bytes())
                .all(|b| b.is_ascii_digit())
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
        let weight =
            i64::try_from(int_groups).unwrap_or(i64::MAX) - 1 - i64::try_from(first).unwrap_or(0);
        let weight = i16::try_from(weight).map_err(|_| "numeric value out of range")?;
        Ok((
            if negative { NUMERIC_NEG } else { NUMERIC_POS },
            weight,
            dscale,
            digits,
        ))
    }

    /// `interval`, as PostgreSQL keeps it: months, days and microseconds apart, since a
    /// month has no fixed number of days nor a day a fixed number of hours.
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
    )]
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
            Ok(Interval {
                months,
                days,
                microseconds,
            })
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
                let end = raw
                    .iter()
                    .position(|b| *b == 0)
                    .ok_or("unterminated tsvector lexeme")?;
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
                    positions.push(TsPosition {
                        position: p & 0x3FFF,
                        weight,
                    });
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
            let count =
                i32::try_from(self.lexemes.len()).map_err(|_| "too many tsvector lexemes")?;
            out.extend_from_slice(&count.to_be_bytes());
            for lexeme in &self.lexemes {
                if lexeme.word.is_empty() || lexeme.word.contains('\0') {
                    return Err("a tsvector lexeme must be non-empty text without NUL".into());
                }
                out.extend_from_slice(lexeme.word.as_bytes());
                out.extend_from_slice(&[0]);
                let npos = u16::try_from(lexeme.positions.len())
                    .map_err(|_| "too many tsvector positions")?;
                out.extend_from_slice(&npos.to_be_bytes());
                for p in &lexeme.positions {
                    let weight: u16 = match p.weight {
                        'A' => 3,
                        'B' => 2,
                        'C' => 1,
                        'D' => 0,
                        _ => {
                            return Err("a tsvector weight is 'A', 'B', 'C' or 'D'".into());
                        }
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
"#;

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

    /// Long and short names laid out as rustfmt does (each snippet checked against `rustfmt`).
    #[test]
    fn lays_out_long_lines_like_rustfmt() {
        let out = models(
            &compile(
                r#"
enums:
  mood: [a, "a very long enum value, sixty-three bytes of printable text xxx"]
tables:
  layout:
    columns:
      id: { type: bigint, primary_key: true, identity: always }
      archived_at: timestamptz?
      a_column_name_of_forty_characters_xxxxxx: text?
      a_column_name_of_sixty_characters_xxxxxxxxxxxxxxxxxxxxxxxxxx: date?
  one:
    columns:
      id: { type: uuid, primary_key: true }
      a_column_name_of_forty_characters_xxxxxx: text?
  short:
    columns:
      id: { type: uuid, primary_key: true }
      a1: int
      a2: int
      a3: int
      a4: int
      a5: int
      a6: int
      a7: int
      a8: int
      a9: int
      a10: int
      a11: int
      a12: int
      a13: int
      a14: int
"#,
            ),
            &EmitOptions::default(),
        );
        for snippet in [
            // An attribute with one long argument stays on one line.
            "\n    #[postgres(name = \"a very long enum value, sixty-three bytes of printable text xxx\")]\n",
            // A match arm too long for the line becomes a block.
            "\n            Self::AVeryLongEnumValueSixtyThreeBytesOfPrintableTextXxx => {\n                \"a very long enum value, sixty-three bytes of printable text xxx\"\n            }\n",
            // Two paths over `array_width`: one per line.
            "\n    pub const ALL: &'static [Self] = &[\n        Self::A,\n        Self::AVeryLongEnumValueSixtyThreeBytesOfPrintableTextXxx,\n    ];\n",
            // Short literals over `array_width` share lines; a short array moves to the next line.
            "\n    pub const COLUMNS: &'static [&'static str] = &[\n        \"id\", \"a1\", \"a2\", \"a3\", \"a4\", \"a5\", \"a6\", \"a7\", \"a8\", \"a9\", \"a10\", \"a11\", \"a12\", \"a13\",\n        \"a14\",\n    ];\n",
            "\n    pub const COLUMNS: &'static [&'static str] =\n        &[\"id\", \"a_column_name_of_forty_characters_xxxxxx\"];\n",
            // A long line breaks the chain before `.try_get`.
            "\n            archived_at: row.try_get(\"archived_at\")?,\n            a_column_name_of_forty_characters_xxxxxx: row\n                .try_get(\"a_column_name_of_forty_characters_xxxxxx\")?,\n",
            // A field type that does not fit goes to the next line.
            "\n    pub a_column_name_of_sixty_characters_xxxxxxxxxxxxxxxxxxxxxxxxxx:\n        Option<Option<chrono::NaiveDate>>,\n",
            // Tuples over `fn_call_width` are broken, and chains over `chain_width`.
            "\n            (\n                \"archived_at\",\n                self.archived_at.as_ref().map(|v| v as pg::Param<'_>),\n            ),\n            (\n                \"a_column_name_of_forty_characters_xxxxxx\",\n                self.a_column_name_of_forty_characters_xxxxxx\n                    .as_ref()\n                    .map(|v| v as pg::Param<'_>),\n            ),\n",
            // A single tuple is laid out inside the brackets.
            "\n        let values: [(&'static str, Option<pg::Param<'_>>); 1] = [(\n            \"a_column_name_of_forty_characters_xxxxxx\",\n            self.a_column_name_of_forty_characters_xxxxxx\n                .as_ref()\n                .map(|v| v as pg::Param<'_>),\n        )];\n",
            "\n        values\n            .into_iter()\n            .filter_map(|(c, v)| v.map(|v| (c, v)))\n            .collect()\n",
        ] {
            assert!(out.contains(snippet), "{snippet}\n---\n{out}");
        }
        assert!(
            out.lines().all(|l| l == l.trim_end()),
            "no trailing whitespace"
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
