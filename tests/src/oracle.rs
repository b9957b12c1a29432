//! The expression oracle's shared parts: a table with hostile column names, schemac's verdict on
//! one expression, and PostgreSQL's own reading of an expression (used by `expr_oracle` and
//! `expr_fuzz`).

use schema_core::diag::Diagnostics;
use schema_core::expr::{check, Scope};
use schema_core::source::Span;
use schema_core::syntax::Spanned;
use schema_pg::postgres::Client;

/// Columns of the oracle's table `t`, as (name, type). Names are hostile on purpose.
pub const T_COLUMNS: &[(&str, &str)] = &[
    ("a", "int"),
    ("b", "text"),
    ("c", "jsonb"),
    ("d", "timestamptz"),
    ("e", "numeric"),
    ("title", "text"),
    ("owner_id", "uuid"),
    ("tags", "text[]"),
    ("v", "point"),
    ("user", "text"),
    ("select", "int"),
    ("we\"ird", "text"),
    ("Mixed", "int"),
    ("mixed", "int"),
    ("café", "int"),
    ("a\\", "int"),
    ("a'b", "int"),
    ("-- x", "int"),
    ("a;b", "int"),
    ("a\nb", "int"),
    ("é", "int"),
    ("x\" or true or \"y", "int"),
];
pub const M_COLUMNS: &[&str] = &["doc_id", "member_id", "role"];

/// Strings that try to end a literal, a comment or a statement.
pub const PAYLOADS: &[&str] = &[
    "x\\",
    "x\\'",
    "'); drop table t; --",
    "--",
    "/*",
    "*/",
    "$$",
    "$a$",
    "\"",
    "\\\\",
    "it's",
    "a\nb",
    "a\rb",
    "é",
    "💥",
    "\u{2028}",
    "%_",
    "'",
    "''",
    "\\'",
    "E'",
    "$1",
    ";",
    "\\g",
    "*/ drop table t; /*",
    "\t",
    "x\\\nb",
];

pub fn standard(p: &str) -> String {
    format!("'{}'", p.replace('\'', "''"))
}
pub fn escaped(p: &str) -> String {
    format!("E'{}'", p.replace('\\', "\\\\").replace('\'', "\\'"))
}
pub fn unicode(p: &str) -> String {
    let mut s = String::from("U&'");
    for ch in p.chars() {
        match ch {
            '\\' => s.push_str("\\\\"),
            '\'' => s.push_str("''"),
            c if (c as u32) > 126 || (c as u32) < 32 => s.push_str(&format!("\\+{:06X}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}
pub fn dollar(p: &str) -> String {
    let mut n = 0;
    let mut tag = String::new();
    while p.contains(&format!("${tag}$")) || p.ends_with(&format!("${tag}")) {
        n += 1;
        tag = format!("q{n}");
    }
    format!("${tag}${p}${tag}$")
}

/// The corpus: hand-written entries, then every payload in every literal syntax, then quoted
/// identifiers built from the hostile column names.
pub fn corpus() -> Vec<String> {
    let path = crate::workspace_root().join("tests/oracle/expressions.txt");
    let mut text = std::fs::read_to_string(&path).expect("read the corpus");
    // Everything the fuzzers ever found (tests/tests/expr_fuzz.rs appends to it).
    text.push_str("\n----\n");
    text.push_str(
        &std::fs::read_to_string(crate::workspace_root().join("tests/oracle/found.txt"))
            .unwrap_or_default(),
    );
    let mut out: Vec<String> = text
        .split("\n----\n")
        .map(|s| s.trim_end_matches('\n').to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let templates = ["b = {}", "b <> {} or a > 1", "coalesce(b, {}) = b"];
    let syntaxes: [fn(&str) -> String; 4] = [standard, escaped, unicode, dollar];
    for (i, p) in PAYLOADS.iter().enumerate() {
        for (j, f) in syntaxes.iter().enumerate() {
            out.push(templates[(i + j) % templates.len()].replace("{}", &f(p)));
        }
    }
    for (c, _) in T_COLUMNS {
        out.push(format!("\"{}\" is not null", c.replace('"', "\"\"")));
    }
    out
}

pub fn columns_of(t: &str) -> Option<Vec<String>> {
    match t {
        "t" => Some(T_COLUMNS.iter().map(|(c, _)| c.to_string()).collect()),
        "m" => Some(M_COLUMNS.iter().map(|c| c.to_string()).collect()),
        _ => None,
    }
}

/// schemac's verdict on one expression: `Ok(emitted)` or the codes of its diagnostics.
pub fn compile(text: &str, policy: bool) -> Result<String, String> {
    let cols: Vec<&str> = T_COLUMNS.iter().map(|(c, _)| *c).collect();
    let lookup = |t: &str| columns_of(t);
    let scope = Scope {
        table: Some(("t", cols)),
        lookup_table: &lookup,
        functions: &[],
        params: &[],
        allow_columns: true,
        allow_subqueries: true,
        wrap_auth: policy,
        forbid_user_metadata: policy,
        what: "expression",
    };
    let mut d = Diagnostics::default();
    let name = Spanned::new(text.to_string(), Span::SYNTHETIC);
    match check(&name, "oracle", &scope, &mut d) {
        Some(sql) if !d.has_errors() => Ok(sql),
        _ => {
            let codes: Vec<String> = d
                .into_sorted()
                .iter()
                .map(|x| x.code.id().to_string())
                .collect();
            Err(codes.join(","))
        }
    }
}

/// `( SELECT auth.uid() AS uid)` -> `auth.uid()`: the one rewrite schemac makes on purpose.
pub fn unwrap_auth(s: &str) -> String {
    let mut s = s.to_string();
    for f in ["uid", "jwt", "role", "email"] {
        s = s.replace(
            &format!("( SELECT auth.{f}() AS {f})"),
            &format!("auth.{f}()"),
        );
    }
    s
}

/// PostgreSQL's reading of `expr`: the deparsed view over it, or its error. The statement goes
/// through the extended protocol, which refuses more than one statement.
pub fn deparse(
    tx: &mut schema_pg::postgres::Transaction<'_>,
    expr: &str,
) -> Result<String, String> {
    let mut sp = tx.transaction().map_err(|e| e.to_string())?;
    let sql = format!("create temp view oracle_v as select (\n{expr}\n) as x from public.t");
    let r = sp.execute(sql.as_str(), &[]).map_err(|e| {
        e.as_db_error()
            .map(|d| format!("{}: {}", d.code().code(), d.message()))
            .unwrap_or_else(|| e.to_string())
    });
    let out = match r {
        Ok(_) => {
            let cols: i64 = sp
                .query_one(
                    "select count(*) from pg_attribute where attrelid = 'oracle_v'::regclass and attnum > 0",
                    &[],
                )
                .map_err(|e| e.to_string())?
                .get(0);
            let def: String = sp
                .query_one("select pg_get_viewdef('oracle_v'::regclass)", &[])
                .map_err(|e| e.to_string())?
                .get(0);
            if cols != 1 {
                Err(format!("view has {cols} columns"))
            } else {
                Ok(def)
            }
        }
        Err(e) => Err(e),
    };
    sp.rollback().map_err(|e| e.to_string())?;
    out
}

/// A database with the Supabase platform and the oracle's tables `t` and `m`.
pub fn oracle_db(label: &str) -> (schema_pg::TestDatabase, Client) {
    let (db, mut client) = crate::platform_db(label, schema_pg::GrantMode::NoAutoGrant);
    let cols: Vec<String> = T_COLUMNS
        .iter()
        .map(|(c, t)| format!("{} {t}", schema_core::sql::ident::quote(c)))
        .collect();
    crate::apply(
        &mut client,
        "oracle tables",
        &format!(
            "create table public.t ({}); create table public.m (doc_id uuid, member_id uuid, role text);",
            cols.join(", ")
        ),
    );
    (db, client)
}

/// schemac's output and PostgreSQL's reading of `text`, compared. `Ok(None)` when schemac
/// refuses the text; `Ok(Some(emitted))` when PostgreSQL reads the emitted form exactly as the
/// written one; `Err(report)` otherwise.
pub fn judge(client: &mut Client, text: &str, policy: bool) -> Result<Option<String>, String> {
    match compile(text, policy) {
        Ok(emitted) => prove(client, text, &emitted).map(Some),
        Err(_) => Ok(None),
    }
}

/// PostgreSQL's reading of `text` (as written) and of `emitted` (schemac's output), compared:
/// `Ok(emitted)` when they match, `Err(report)` otherwise.
pub fn prove(client: &mut Client, text: &str, emitted: &str) -> Result<String, String> {
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    let theirs = deparse(&mut tx, text);
    let ours = deparse(&mut tx, emitted);
    tx.rollback().map_err(|e| e.to_string())?;
    let same = match (&theirs, &ours) {
        (Ok(a), Ok(b)) => unwrap_auth(a) == unwrap_auth(b),
        (Err(a), Err(b)) => a == b && !a.contains("multiple commands"),
        _ => false,
    };
    if same {
        Ok(emitted.to_string())
    } else {
        Err(format!(
            "{text:?}\n  emitted: {emitted:?}\n  as written: {theirs:?}\n  as emitted: {ours:?}"
        ))
    }
}
