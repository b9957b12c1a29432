//! `database.types.ts`: the `Database` type supabase-js expects, written from the IR with the same text as Supabase's own generator.
//!
//! The reference is `@supabase/postgres-meta` 0.99.0 (`supabase gen types typescript`): its
//! introspection sorts tables, columns, functions, arguments and enums by name with an English
//! ICU collation, and its output is formatted at 80 columns without semicolons. This module writes
//! that formatted text directly: each construct the generator produces (a property with a union
//! type, a function signature, a tuple or array of strings) is laid out on one line when it fits
//! in 80 columns and broken the way the formatter breaks it otherwise. `tests/tests/ts_types.rs`
//! compares the result byte for byte with the real generator run against a migrated database.
//!
//! Deliberate differences are opt-in ([`TsOptions`]) and documented in the README.

use crate::emit::EmitOptions;
use crate::ir::{Column, DbRole, Identity, Returns, Schema, SqlType, Table};
use std::cmp::Ordering;

/// The default file name, next to the migrations in `generated/`.
pub const DEFAULT_PATH: &str = "database.types.ts";

const WIDTH: usize = 80;
const SCHEMA: &str = "public";

/// Opt-in improvements over Supabase's generator (all off: byte-equal to it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TsOptions {
    /// `Insert` and `Update` list only the columns `authenticated` may write (by the generated
    /// grants); the others become `?: never`, so the compiler rejects a write the database would
    /// refuse with "permission denied".
    pub grant_aware: bool,
}

/// The whole `database.types.ts`: a header line, then the generator's text (with the opt-in
/// improvements of `opts.typescript`).
pub fn database_types(schema: &Schema, opts: &EmitOptions) -> String {
    let ts = &opts.typescript;
    let mut o = crate::emit::header("//", opts);
    o.push_str(JSON_TYPE);
    o.push_str("\nexport type Database = {\n  public: {\n");
    tables(&mut o, schema, ts);
    o.push_str("    Views: {\n      [_ in never]: never\n    }\n");
    functions(&mut o, schema);
    o.push_str("    Enums: {\n");
    let enums = sorted_enums(schema);
    if enums.is_empty() {
        o.push_str("      [_ in never]: never\n");
    }
    for e in &enums {
        let members: Vec<String> = e.values.iter().map(|v| ts_string(v)).collect();
        union_property(&mut o, 6, &e.name, false, &members);
    }
    o.push_str("    }\n    CompositeTypes: {\n      [_ in never]: never\n    }\n  }\n}\n");
    o.push_str(HELPER_TYPES);
    o.push_str("\nexport const Constants = {\n  public: {\n");
    if enums.is_empty() {
        o.push_str("    Enums: {},\n");
    } else {
        o.push_str("    Enums: {\n");
        for e in &enums {
            let items: Vec<String> = e.values.iter().map(|v| ts_string(v)).collect();
            string_list(&mut o, 6, &format!("{}: ", e.name), &items, ",");
        }
        o.push_str("    },\n");
    }
    o.push_str("  },\n} as const\n");
    o
}

const JSON_TYPE: &str = "export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]
";

/// The generator's fixed helper types for the default schema `public`.
const HELPER_TYPES: &str = r#"
type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never
"#;

/// The generator's name order: ICU's English collation, which for schemac's names
/// (`[a-z_][a-z0-9_]*`, checked by `lower`) puts `_` before digits before letters. Other
/// characters sort after those, by code point (they never occur in checked names).
pub fn collate(a: &str, b: &str) -> Ordering {
    fn key(c: char) -> (u8, u32) {
        match c {
            '_' => (0, 0),
            '0'..='9' => (1, c as u32),
            'a'..='z' => (2, c as u32),
            _ => (3, c as u32),
        }
    }
    a.chars().map(key).cmp(b.chars().map(key))
}

fn sorted_enums(schema: &Schema) -> Vec<&crate::ir::Enum> {
    let mut v: Vec<_> = schema.enums.iter().collect();
    v.sort_by(|a, b| collate(&a.name, &b.name));
    v
}

/// Display width as the formatter counts it (one column per character).
fn width(s: &str) -> usize {
    s.chars().count()
}

/// A string literal as `JSON.stringify` writes it, then with the formatter's quote choice:
/// double quotes unless the text holds more double than single quotes.
pub fn ts_string(s: &str) -> String {
    let doubles = s.chars().filter(|&c| c == '"').count();
    let singles = s.chars().filter(|&c| c == '\'').count();
    let q = if doubles > singles { '\'' } else { '"' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '"' if q == '"' => out.push_str("\\\""),
            '\'' if q == '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// The TypeScript type of a column or argument type (without `| null`).
fn ts_type(ty: &SqlType) -> String {
    match ty {
        SqlType::Boolean => "boolean".into(),
        SqlType::SmallInt
        | SqlType::Int
        | SqlType::BigInt
        | SqlType::Numeric(_)
        | SqlType::Real
        | SqlType::Double => "number".into(),
        SqlType::Uuid
        | SqlType::Text
        | SqlType::Varchar(_)
        | SqlType::Char(_)
        | SqlType::Timestamptz
        | SqlType::Timestamp
        | SqlType::Date
        | SqlType::Time
        | SqlType::Interval
        | SqlType::Bytea
        | SqlType::Vector(_) => "string".into(),
        SqlType::Json | SqlType::Jsonb => "Json".into(),
        SqlType::Inet | SqlType::Tsvector => "unknown".into(),
        SqlType::Enum(name) => format!("Database[\"{SCHEMA}\"][\"Enums\"][{}]", ts_string(name)),
        SqlType::Array(inner) => format!("{}[]", ts_type(inner)),
    }
}

/// The members of a column's type union: `Json` not null is `NonNullable<Json>`, a nullable
/// type gains `null` (except `unknown`, which already includes it).
fn column_members(ty: &SqlType, nullable: bool) -> Vec<String> {
    let t = ts_type(ty);
    if t == "Json" && !nullable {
        return vec!["NonNullable<Json>".into()];
    }
    if t == "unknown" || !nullable {
        return vec![t];
    }
    vec![t, "null".into()]
}

fn indent(o: &mut String, n: usize) {
    o.extend(std::iter::repeat_n(' ', n));
}

/// `key: A | B` on one line when it fits, else the key and one `| member` per line.
fn union_property(o: &mut String, at: usize, key: &str, optional: bool, members: &[String]) {
    let key = format!("{key}{}:", if optional { "?" } else { "" });
    let flat = members.join(" | ");
    indent(o, at);
    if members.len() < 2 || at + width(&key) + 1 + width(&flat) <= WIDTH {
        o.push_str(&format!("{key} {flat}\n"));
        return;
    }
    o.push_str(&key);
    o.push('\n');
    for m in members {
        indent(o, at + 2);
        o.push_str(&format!("| {m}\n"));
    }
}

/// `prefix["a", "b"]suffix` on one line when it fits, else one item per line with trailing commas.
fn string_list(o: &mut String, at: usize, prefix: &str, items: &[String], suffix: &str) {
    let flat = format!("{prefix}[{}]{suffix}", items.join(", "));
    indent(o, at);
    if items.is_empty() || at + width(&flat) <= WIDTH {
        o.push_str(&flat);
        o.push('\n');
        return;
    }
    o.push_str(prefix);
    o.push_str("[\n");
    for i in items {
        indent(o, at + 2);
        o.push_str(i);
        o.push_str(",\n");
    }
    indent(o, at);
    o.push(']');
    o.push_str(suffix);
    o.push('\n');
}

fn sorted_columns(t: &Table) -> Vec<&Column> {
    let mut v: Vec<_> = t.columns.iter().collect();
    v.sort_by(|a, b| collate(&a.name, &b.name));
    v
}

/// True if `role` holds `command` on `column` by the generated grants.
fn granted(t: &Table, role: DbRole, command: crate::ir::Command, column: &str) -> bool {
    t.grants.iter().any(|g| {
        g.role == role
            && g.command == command
            && g.columns
                .as_ref()
                .is_none_or(|cs| cs.iter().any(|c| c == column))
    })
}

fn tables(o: &mut String, schema: &Schema, ts: &TsOptions) {
    o.push_str("    Tables: {\n");
    let mut tables: Vec<&Table> = schema.tables.iter().collect();
    tables.sort_by(|a, b| collate(&a.name, &b.name));
    if tables.is_empty() {
        o.push_str("      [_ in never]: never\n");
    }
    for t in tables {
        let cols = sorted_columns(t);
        o.push_str(&format!("      {}: {{\n        Row: {{\n", t.name));
        for c in &cols {
            union_property(o, 10, &c.name, false, &column_members(&c.ty, c.nullable));
        }
        for (section, command) in [
            ("Insert", crate::ir::Command::Insert),
            ("Update", crate::ir::Command::Update),
        ] {
            o.push_str(&format!("        }}\n        {section}: {{\n"));
            for c in &cols {
                let unwritable = c.identity == Some(Identity::Always)
                    || c.generated.is_some()
                    || (ts.grant_aware
                        && !granted(t, DbRole::Authenticated, command, &c.name)
                        && !granted(t, DbRole::Anon, command, &c.name));
                if unwritable {
                    indent(o, 10);
                    o.push_str(&format!("{}?: never\n", c.name));
                    continue;
                }
                let optional = command == crate::ir::Command::Update
                    || c.nullable
                    || c.identity.is_some()
                    || c.default.is_some();
                union_property(o, 10, &c.name, optional, &column_members(&c.ty, c.nullable));
            }
        }
        o.push_str("        }\n");
        let mut fks: Vec<_> = t
            .foreign_keys
            .iter()
            .filter(|f| f.target.schema == SCHEMA)
            .collect();
        fks.sort_by(|a, b| collate(&a.name, &b.name));
        if fks.is_empty() {
            o.push_str("        Relationships: []\n");
        } else {
            o.push_str("        Relationships: [\n");
            for f in fks {
                let strings =
                    |v: &[String]| -> Vec<String> { v.iter().map(|s| ts_string(s)).collect() };
                o.push_str("          {\n");
                o.push_str(&format!(
                    "            foreignKeyName: {}\n",
                    ts_string(&f.name)
                ));
                string_list(o, 12, "columns: ", &strings(&f.columns), "");
                o.push_str(&format!(
                    "            referencedRelation: {}\n",
                    ts_string(&f.target.name)
                ));
                string_list(
                    o,
                    12,
                    "referencedColumns: ",
                    &strings(&f.target_columns),
                    "",
                );
                o.push_str("          },\n");
            }
            o.push_str("        ]\n");
        }
        o.push_str("      }\n");
    }
    o.push_str("    }\n");
}

fn functions(o: &mut String, schema: &Schema) {
    o.push_str("    Functions: {\n");
    let mut fns: Vec<_> = schema
        .functions
        .iter()
        .filter(|f| f.schema == SCHEMA && f.returns != Returns::Trigger)
        .collect();
    fns.sort_by(|a, b| collate(&a.name, &b.name));
    if fns.is_empty() {
        o.push_str("      [_ in never]: never\n");
    }
    for f in fns {
        let mut args: Vec<_> = f.args.iter().collect();
        args.sort_by(|a, b| collate(&a.name, &b.name));
        let members: Vec<String> = args
            .iter()
            .map(|a| {
                format!(
                    "{}{}: {}",
                    a.name,
                    if a.default.is_some() { "?" } else { "" },
                    ts_type(&a.ty)
                )
            })
            .collect();
        let args_flat = if members.is_empty() {
            "Record<PropertyKey, never>".to_string()
        } else {
            format!("{{ {} }}", members.join("; "))
        };
        // `returns table (...)` is always written expanded; everything else is one token.
        let returns = match &f.returns {
            Returns::Void => Ok("undefined".to_string()),
            Returns::Trigger => Ok("unknown".to_string()),
            Returns::Scalar(t) => Ok(ts_type(t)),
            Returns::SetOf(t) => Ok(format!("{}[]", ts_type(t))),
            Returns::Table(cols) => {
                let mut cols: Vec<_> = cols.iter().collect();
                cols.sort_by(|a, b| collate(&a.0, &b.0));
                Err(cols)
            }
        };
        if let Ok(r) = &returns {
            let flat = format!("{}: {{ Args: {args_flat}; Returns: {r} }}", f.name);
            if 6 + width(&flat) <= WIDTH {
                o.push_str(&format!("      {flat}\n"));
                continue;
            }
        }
        o.push_str(&format!("      {}: {{\n", f.name));
        if members.is_empty() || 8 + width("Args: ") + width(&args_flat) <= WIDTH {
            o.push_str(&format!("        Args: {args_flat}\n"));
        } else {
            o.push_str("        Args: {\n");
            for m in &members {
                o.push_str(&format!("          {m}\n"));
            }
            o.push_str("        }\n");
        }
        match returns {
            Ok(r) => o.push_str(&format!("        Returns: {r}\n")),
            Err(cols) => {
                o.push_str("        Returns: {\n");
                for (name, ty) in cols {
                    o.push_str(&format!("          {name}: {}\n", ts_type(ty)));
                }
                o.push_str("        }[]\n");
            }
        }
        o.push_str("      }\n");
    }
    o.push_str("    }\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collation_puts_underscore_before_digits_before_letters() {
        let mut v = vec!["ab", "a1", "a_b", "a", "a_", "a9", "a_1", "b"];
        v.sort_by(|a, b| collate(a, b));
        assert_eq!(v, ["a", "a_", "a_1", "a_b", "a1", "a9", "ab", "b"]);
    }

    #[test]
    fn strings_are_escaped_and_quoted_like_the_formatter() {
        assert_eq!(ts_string("it's"), "\"it's\"");
        assert_eq!(ts_string("say \"hi\""), "'say \"hi\"'");
        assert_eq!(ts_string("both ' and \""), "\"both ' and \\\"\"");
        assert_eq!(ts_string("a\\b\n\t\u{1}"), "\"a\\\\b\\n\\t\\u0001\"");
        assert_eq!(ts_string("*/ </script>"), "\"*/ </script>\"");
    }

    #[test]
    fn a_hostile_file_name_stays_in_the_header_comment() {
        let opts = EmitOptions {
            source_name: "a\n.yaml\u{2028}export const pwned = 1\r\n".into(),
            ..EmitOptions::default()
        };
        let mut sources = crate::Sources::new();
        sources.add(
            "schema.yaml",
            "tables:\n  t:\n    columns:\n      id: { type: int, primary_key: true }\n",
        );
        let schema = crate::compile(&sources).ir.expect("compiles");
        let text = database_types(&schema, &opts);
        let first = text.lines().next().expect("a header");
        assert!(
            first.starts_with("// @generated by schemac from a .yaml"),
            "{first}"
        );
        assert!(!first.contains('\u{2028}'));
        assert_eq!(text.matches("pwned").count(), 1, "only inside the comment");
    }

    #[test]
    fn long_unions_break_one_member_per_line() {
        let mut o = String::new();
        let members = vec!["string".to_string(), "null".to_string()];
        union_property(&mut o, 10, &"x".repeat(54), true, &members);
        assert_eq!(o.lines().count(), 1, "80 columns fit");
        let mut o = String::new();
        union_property(&mut o, 10, &"x".repeat(55), true, &members);
        assert_eq!(o.lines().count(), 3, "81 columns break");
    }
}
