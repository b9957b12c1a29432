//! Checks for the derive macros, which see one item at a time: a declared table lowered on its own
//! (what it references but cannot see is stood in for by placeholders), a mapped struct compared
//! with the compiled schema, and the `Model` (columns and SQL) its expansion is built from.

use super::{EnumInfo, FieldInfo, Mode, StructInfo};
use crate::diag::{backticked, help_for, Code, Diagnostic, Diagnostics};
use crate::ir::{self, Identity, QName, SqlType};
use crate::source::Span;
use crate::sql::dml;
use crate::syntax::{self, Column, EnumDef, File, Name, Spanned, Table};
use std::collections::BTreeSet;

/// What a `#[derive(Table)]` expansion needs: one entry per struct field and the statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    pub schema: String,
    pub table: String,
    pub fields: Vec<ModelField>,
    /// Field indexes bound by `INSERT_SQL`, in placeholder order.
    pub insert_params: Vec<usize>,
    pub insert_sql: String,
    /// `INSERT_SQL` with `returning` every mapped column (read back into the struct).
    pub insert_returning_sql: String,
    pub select_sql: String,
    /// Field indexes bound by `UPDATE_SQL`, in placeholder order (the set columns, then the key).
    pub update_params: Vec<usize>,
    /// `None` when the struct lacks a primary key column or has nothing to update.
    pub update_sql: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelField {
    pub index: usize,
    /// `None` for `#[schemac(skip)]`.
    pub column: Option<String>,
    /// `Vec<f32>` stored as a pgvector `vector` (converted through `pgvector::Vector`).
    pub vec_f32: bool,
}

/// Generated and identity facts of a column, as the statements need them.
struct Facts {
    primary_key: Vec<String>,
    /// Column name, generated, identity (`Some(true)`: always, `Some(false)`: by default).
    columns: Vec<(String, bool, Option<bool>)>,
}

impl Facts {
    fn column(&self, name: &str) -> Option<(bool, Option<bool>)> {
        self.columns
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, g, i)| (*g, *i))
    }
}

/// The model of a mapped struct from its table in the compiled schema, or (when the table is
/// unknown or the schema has errors) from the fields alone, so the expansion still type-checks.
pub fn model(info: &StructInfo, table: Option<&ir::Table>) -> Model {
    let facts = table.map(|t| Facts {
        primary_key: t.primary_key.clone(),
        columns: t
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.generated.is_some(),
                    c.identity.map(|i| i == Identity::Always),
                )
            })
            .collect(),
    });
    let name = table
        .map(|t| t.name.clone())
        .unwrap_or_else(|| info.table_name.value.clone());
    build(info, &name, facts.as_ref())
}

/// The model of a declared struct, from its own declaration (keys, generated and identity columns).
pub fn model_declared(info: &StructInfo) -> Model {
    let t = &info.table;
    let mut primary_key: Vec<String> = t
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.value.clone())
        .collect();
    if let Some(pk) = &t.primary_key {
        primary_key.extend(pk.value.iter().map(|n| n.value.clone()));
    }
    let facts = Facts {
        primary_key,
        columns: t
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.value.clone(),
                    c.generated.is_some(),
                    c.identity.as_ref().map(|i| i.value == "always"),
                )
            })
            .collect(),
    };
    build(info, &t.name.value, Some(&facts))
}

fn build(info: &StructInfo, name: &str, facts: Option<&Facts>) -> Model {
    let fields: Vec<ModelField> = info
        .fields
        .iter()
        .map(|f| ModelField {
            index: f.index,
            column: f.column.as_ref().map(|c| c.value.clone()),
            vec_f32: f.vec_f32,
        })
        .collect();
    let mapped: Vec<&ModelField> = fields.iter().filter(|f| f.column.is_some()).collect();
    let col = |f: &ModelField| facts.and_then(|x| x.column(f.column.as_deref().unwrap_or("")));
    let insertable: Vec<&ModelField> = mapped
        .iter()
        .copied()
        .filter(|f| col(f).is_none_or(|(generated, identity)| !generated && identity != Some(true)))
        .collect();
    let pk: Vec<String> = facts.map(|x| x.primary_key.clone()).unwrap_or_default();
    let key: Vec<&ModelField> = pk
        .iter()
        .filter_map(|k| {
            mapped
                .iter()
                .copied()
                .find(|f| f.column.as_deref() == Some(k))
        })
        .collect();
    let settable: Vec<&ModelField> = mapped
        .iter()
        .copied()
        .filter(|f| {
            !pk.iter().any(|k| f.column.as_deref() == Some(k))
                && col(f).is_some_and(|(generated, identity)| !generated && identity.is_none())
        })
        .collect();
    let q = QName::public(name);
    let names = |fs: &[&ModelField]| -> Vec<String> {
        fs.iter()
            .map(|f| f.column.clone().unwrap_or_default())
            .collect()
    };
    let ins = names(&insertable);
    let ins: Vec<&str> = ins.iter().map(|s| s.as_str()).collect();
    let all = names(&mapped);
    let all: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
    let set = names(&settable);
    let set: Vec<&str> = set.iter().map(|s| s.as_str()).collect();
    let keys = names(&key);
    let keys: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
    let update_sql = if key.len() == pk.len() {
        dml::update(&q, &set, &keys)
    } else {
        None
    };
    Model {
        schema: "public".into(),
        table: name.to_string(),
        insert_params: insertable.iter().map(|f| f.index).collect(),
        insert_sql: dml::insert(&q, &ins, &[]),
        insert_returning_sql: dml::insert(&q, &ins, &all),
        select_sql: dml::select(&q, &all),
        update_params: if update_sql.is_some() {
            settable.iter().chain(key.iter()).map(|f| f.index).collect()
        } else {
            Vec::new()
        },
        update_sql,
        fields,
    }
}

/// Base names of SQL types (what `types::parse` knows without enums).
fn is_builtin(ty: &str) -> bool {
    crate::types::parse(ty, &[]).is_ok()
}

fn base_type(ty: &str) -> String {
    let t = ty.trim().trim_end_matches('?').trim();
    t.strip_suffix("[]").unwrap_or(t).trim().to_string()
}

fn synthetic(s: &str) -> Name {
    Spanned::new(s.to_string(), Span::SYNTHETIC)
}

/// `table`, `table(a, b)`, `schema.table(a)` -> (schema, table, columns).
fn parse_reference(r: &str) -> (Option<String>, String, Vec<String>) {
    let (head, cols) = match r.find('(') {
        Some(i) => (
            &r[..i],
            r[i + 1..]
                .trim_end_matches(')')
                .split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        ),
        None => (r, Vec::new()),
    };
    match head.trim().split_once('.') {
        Some((s, t)) => (Some(s.to_string()), t.to_string(), cols),
        None => (None, head.trim().to_string(), cols),
    }
}

/// Stand-ins for what a declared table references but a macro cannot see.
#[derive(Default)]
struct Stubs {
    tables: Vec<Table>,
    enums: Vec<EnumDef>,
}

impl Stubs {
    fn table(&mut self, name: &str) -> &mut Table {
        if let Some(i) = self.tables.iter().position(|t| t.name.value == name) {
            return &mut self.tables[i];
        }
        self.tables.push(Table {
            name: synthetic(name),
            primary_key: Some(Spanned::new(Vec::new(), Span::SYNTHETIC)),
            ..Table::default()
        });
        self.tables.last_mut().expect("pushed")
    }

    fn column(&mut self, table: &str, name: &str, ty: &str, key: bool) -> &mut Column {
        let t = self.table(table);
        if !t.columns.iter().any(|c| c.name.value == name) {
            t.columns.push(Column {
                name: synthetic(name),
                ty: synthetic(ty),
                ..Column::default()
            });
            if key {
                if let Some(pk) = &mut t.primary_key {
                    pk.value.push(synthetic(name));
                }
            }
        }
        t.columns
            .iter_mut()
            .find(|c| c.name.value == name)
            .expect("present")
    }
}

/// Lowers a declared table on its own, against `context` (a schema file the struct names, or
/// nothing) plus placeholders for the tables, enums, role source and extension it references but
/// the macro cannot see. Returns the diagnostics about the struct itself; whole-schema checks are
/// `schemac validate --rust`'s.
pub fn declared(
    info: &StructInfo,
    context: Option<&File>,
    owns: &dyn Fn(Span) -> bool,
) -> Vec<Diagnostic> {
    let t = &info.table;
    let mut file = context.cloned().unwrap_or_default();
    file.tables.retain(|x| x.name.value != t.name.value);
    let known_tables: BTreeSet<String> = file.tables.iter().map(|x| x.name.value.clone()).collect();
    let mut enums: BTreeSet<String> = file.enums.iter().map(|e| e.name.value.clone()).collect();
    let mut stubs = Stubs::default();
    let col_type = |name: &str| -> String {
        t.columns
            .iter()
            .find(|c| c.name.value == name)
            .map(|c| base_type(&c.ty.value))
            .unwrap_or_else(|| "uuid".into())
    };
    // Enums named by column types.
    for c in &t.columns {
        let b = base_type(&c.ty.value);
        if !is_builtin(&b) && !b.contains('(') && !enums.contains(&b) {
            enums.insert(b.clone());
            stubs.enums.push(EnumDef {
                name: synthetic(&b),
                values: vec![synthetic("stub")],
                comment: None,
            });
        }
    }
    if t.columns.iter().any(|c| {
        base_type(&c.ty.value)
            .to_ascii_lowercase()
            .starts_with("vector")
    }) && !file.extensions.iter().any(|e| e.name.value == "vector")
    {
        file.extensions.push(syntax::Extension {
            name: synthetic("vector"),
            schema: Some(synthetic("extensions")),
        });
    }
    if file.roles.is_none() && t.policies.iter().any(|p| p.role.is_some()) {
        file.roles = Some(syntax::RoleSource::Jwt {
            path: synthetic("app_metadata.role"),
        });
    }
    // Foreign key targets (the parent table of a `parent` rule is one of them).
    let mut fks: Vec<(Vec<String>, String)> = t
        .columns
        .iter()
        .filter_map(|c| {
            c.references
                .as_ref()
                .map(|r| (vec![c.name.value.clone()], r.value.clone()))
        })
        .collect();
    fks.extend(t.foreign_keys.iter().map(|f| {
        (
            f.columns.iter().map(|c| c.value.clone()).collect(),
            f.references.value.clone(),
        )
    }));
    for (cols, reference) in &fks {
        let (schema, target, tcols) = parse_reference(reference);
        if schema.as_deref().is_some_and(|s| s != "public")
            || target == t.name.value
            || known_tables.contains(&target)
        {
            continue;
        }
        let tcols = if tcols.is_empty() {
            vec!["id".to_string()]
        } else {
            tcols
        };
        for (c, tc) in cols.iter().zip(&tcols) {
            stubs.column(&target, tc, &col_type(c), true);
        }
        for p in &t.policies {
            if let Some(par) = &p.parent {
                if cols.first() == Some(&par.column.value) {
                    if let Some(o) = &par.owner {
                        stubs.column(&target, &o.value, "uuid", false);
                    }
                }
            }
        }
    }
    // Membership tables.
    let pk_name = t
        .columns
        .iter()
        .find(|c| c.primary_key)
        .map(|c| c.name.value.clone())
        .or_else(|| {
            t.primary_key
                .as_ref()
                .and_then(|p| p.value.first().map(|n| n.value.clone()))
        });
    for p in &t.policies {
        let Some(m) = &p.member else { continue };
        let through = m.through.value.clone();
        if known_tables.contains(&through) || through == t.name.value {
            continue;
        }
        let column = m
            .column
            .as_ref()
            .map(|c| c.value.clone())
            .or_else(|| pk_name.clone())
            .unwrap_or_else(|| "id".into());
        let key = m
            .key
            .as_ref()
            .map(|k| k.value.clone())
            .unwrap_or_else(|| column.clone());
        stubs.column(&through, &key, &col_type(&column), true);
        let user = m
            .user_column
            .as_ref()
            .map(|u| u.value.clone())
            .unwrap_or_else(|| "user_id".into());
        stubs.column(&through, &user, "uuid", true).references = Some(synthetic("auth.users"));
        if !m.roles.is_empty() {
            let role_col = m
                .role_column
                .as_ref()
                .map(|r| r.value.clone())
                .unwrap_or_else(|| "role".into());
            let enum_name = format!("{through}_{role_col}_values");
            if !enums.contains(&enum_name) {
                enums.insert(enum_name.clone());
                stubs.enums.push(EnumDef {
                    name: synthetic(&enum_name),
                    values: m.roles.clone(),
                    comment: None,
                });
            }
            stubs.column(&through, &role_col, &enum_name, false);
        }
    }
    let stub_names: Vec<String> = stubs
        .tables
        .iter()
        .map(|x| x.name.value.clone())
        .chain(stubs.enums.iter().map(|e| e.name.value.clone()))
        .collect();
    file.enums.extend(stubs.enums);
    file.tables.extend(stubs.tables);
    file.tables.push(t.clone());
    let mut diags = Diagnostics::default();
    crate::lower::lower(&file, &mut diags);
    let all = diags.into_sorted();
    all.into_iter()
        .filter(|d| owns(d.span))
        .filter(|d| !matches!(d.code, Code::UnknownTable | Code::UnknownFunction))
        // `alias.column` in a subquery reads another table, whose columns a placeholder lacks.
        .filter(|d| {
            !(d.code == Code::UnknownColumn
                && !stub_names.is_empty()
                && d.message.split('`').nth(1).is_some_and(|n| n.contains('.')))
        })
        .filter(|d| {
            !stub_names.iter().any(|s| {
                d.message.contains(&format!("`{s}`"))
                    || d.help
                        .as_deref()
                        .is_some_and(|h| h.contains(&format!("`{s}`")))
            })
        })
        .map(|mut d| {
            d.help = d.help.map(|h| rust_help(&h));
            d
        })
        .collect()
}

/// Compares a mapped struct with its table in `schema`: every field names a column, has the Rust
/// type `models.rs` gives that column, and is an `Option` when the column is nullable. Returns the
/// table when the struct maps one.
pub fn mapping<'s>(
    schema: &'s ir::Schema,
    info: &StructInfo,
    diags: &mut Diagnostics,
) -> Option<&'s ir::Table> {
    debug_assert_eq!(info.mode, Mode::Map);
    let name = &info.table_name;
    let Some(t) = schema.tables.iter().find(|t| t.name == name.value) else {
        let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
        diags.push(
            Diagnostic::error(
                Code::UnknownTable,
                name.span,
                format!("tables.{}", name.value),
                format!("schema.yaml declares no table `{}`", name.value),
            )
            .help(help_for(&name.value, "tables are", &names)),
        );
        return None;
    };
    let columns: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    let mut seen: Vec<(&str, &FieldInfo)> = Vec::new();
    for f in &info.fields {
        let Some(cname) = &f.column else { continue };
        let path = format!("tables.{}.columns.{}", t.name, cname.value);
        let Some(col) = t.column(&cname.value) else {
            diags.push(
                Diagnostic::error(
                    Code::UnknownColumn,
                    f.span,
                    &path,
                    format!("table `{}` has no column `{}`", t.name, cname.value),
                )
                .help(format!(
                    "{}; rename the field, map it with `#[schemac(column = \"...\")]` or leave it out with `#[schemac(skip)]`",
                    help_for(&cname.value, &format!("columns of `{}` are", t.name), &columns)
                )),
            );
            continue;
        };
        if let Some((_, other)) = seen.iter().find(|(c, _)| *c == col.name) {
            diags.push(
                Diagnostic::error(
                    Code::DuplicateName,
                    f.span,
                    &path,
                    format!(
                        "fields `{}` and `{}` both map column `{}`",
                        other.ident, f.ident, col.name
                    ),
                )
                .help("map each column with one field"),
            );
            continue;
        }
        seen.push((col.name.as_str(), f));
        check_field_type(schema, t, col, f, &path, diags);
    }
    Some(t)
}

fn check_field_type(
    schema: &ir::Schema,
    t: &ir::Table,
    col: &ir::Column,
    f: &FieldInfo,
    path: &str,
    diags: &mut Diagnostics,
) {
    let expected_tokens = crate::emit::rust::value_type(schema, &col.ty);
    let expected = match syn::parse2::<syn::Type>(expected_tokens) {
        Ok(ty) => super::types::shape(&ty),
        Err(_) => return,
    };
    let written = super::types::shape(&f.inner);
    let sql = crate::types::sql(&col.ty, None);
    let sql = match &col.ty {
        SqlType::Enum(e) => e.clone(),
        _ => sql,
    };
    let wanted = |base: &str| {
        if col.nullable {
            format!("Option<{base}>")
        } else {
            base.to_string()
        }
    };
    let vector_ok = matches!(col.ty, SqlType::Vector(_)) && f.vec_f32;
    if written != expected && !vector_ok {
        let enum_note = match &col.ty {
            SqlType::Enum(e) => format!(
                " (a Rust enum named `{expected}`, e.g. `#[derive(SchemaEnum)] #[schemac(name = \"{e}\")] enum {expected} {{ .. }}`)"
            ),
            SqlType::Vector(_) => " (or `Vec<f32>`)".to_string(),
            _ => String::new(),
        };
        diags.push(
            Diagnostic::error(
                Code::TypeMismatch,
                f.ty_span,
                path,
                format!(
                    "field `{}` is `{}`, but column `{}.{}` is `{sql}`",
                    f.ident, f.ty, t.name, col.name
                ),
            )
            .help(format!("use `{}`{enum_note}", wanted(&expected))),
        );
        return;
    }
    if col.nullable && !f.option {
        let base = if vector_ok {
            written.clone()
        } else {
            expected.clone()
        };
        diags.push(
            Diagnostic::error(
                Code::TypeMismatch,
                f.ty_span,
                path,
                format!(
                    "column `{}.{}` is nullable, but field `{}` is not an `Option`",
                    t.name, col.name, f.ident
                ),
            )
            .help(format!("use `Option<{base}>`: a NULL would fail to decode")),
        );
    }
}

/// Compares a mapped `#[derive(SchemaEnum)]` enum with its enum in `schema`: the same values.
pub fn mapping_enum(schema: &ir::Schema, info: &EnumInfo, diags: &mut Diagnostics) {
    let name = &info.def.name;
    let Some(e) = schema.enums.iter().find(|e| e.name == name.value) else {
        let names: Vec<&str> = schema.enums.iter().map(|e| e.name.as_str()).collect();
        diags.push(
            Diagnostic::error(
                Code::UnknownType,
                name.span,
                format!("enums.{}", name.value),
                format!("schema.yaml declares no enum `{}`", name.value),
            )
            .help(help_for(&name.value, "enums are", &names)),
        );
        return;
    };
    let values: Vec<&str> = e.values.iter().map(|v| v.as_str()).collect();
    for (variant, value) in &info.variants {
        if !values.contains(&value.value.as_str()) {
            diags.push(
                Diagnostic::error(
                    Code::UnknownEnumValue,
                    value.span,
                    format!("enums.{}", e.name),
                    format!(
                        "variant `{variant}` is `{}`, which is not a value of enum `{}`",
                        value.value, e.name
                    ),
                )
                .help(format!(
                    "{}; rename the variant or add `#[schemac(rename = \"...\")]`",
                    help_for(&value.value, "values are", &values)
                )),
            );
        }
    }
    let missing: Vec<&str> = values
        .iter()
        .copied()
        .filter(|v| !info.variants.iter().any(|(_, x)| x.value == *v))
        .collect();
    if !missing.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::UnknownEnumValue,
                info.span,
                format!("enums.{}", e.name),
                format!(
                    "`{}` has no variant for {} of enum `{}`",
                    info.rust_name,
                    backticked(&missing),
                    e.name
                ),
            )
            .help("add a variant for every value (a value without one would fail to decode)"),
        );
    }
}

/// Checks a declared enum on its own (name, values): the diagnostics about it.
pub fn declared_enum(info: &EnumInfo, owns: &dyn Fn(Span) -> bool) -> Vec<Diagnostic> {
    let file = File {
        enums: vec![info.def.clone()],
        ..File::default()
    };
    let mut diags = Diagnostics::default();
    crate::lower::lower(&file, &mut diags);
    diags
        .into_sorted()
        .into_iter()
        .filter(|d| owns(d.span))
        .collect()
}

/// Rewrites a help line written for `schema.yaml` into the attribute syntax, for diagnostics about
/// Rust sources: `` `key: value` `` becomes `` `key = value` `` and the few helps that show whole
/// YAML entries get a Rust example.
pub fn rust_help(help: &str) -> String {
    if help.starts_with("add `primary_key: true` to a column") {
        return "add `#[schemac(primary_key)]` to a field (e.g. `#[schemac(primary_key, default = \"gen_random_uuid()\")] id: uuid::Uuid`) or `primary_key = [\"a\", \"b\"]` to the struct's `#[schemac(...)]`".into();
    }
    let help = help.replace("; quote YAML strings that start with a quote", "");
    let mut out = String::with_capacity(help.len());
    for (i, part) in help.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let converted = (i % 2 == 1)
            .then(|| part.split_once(": "))
            .flatten()
            .filter(|(k, v)| {
                !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    && !v.contains(['{', '}'])
            })
            .map(|(k, v)| {
                let v = v.trim_end_matches('?');
                if v == "true" {
                    k.to_string()
                } else if v.starts_with('[') || v == "false" {
                    format!("{k} = {v}")
                } else {
                    format!("{k} = \"{v}\"")
                }
            });
        out.push_str(converted.as_deref().unwrap_or(part));
    }
    out
}
