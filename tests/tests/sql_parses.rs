//! Parse oracle: every statement of the up migration, the down script and the seed of every fixture in
//! `tests/cases/` and of the app's `schema.yaml` parses with sqlparser's PostgreSQL dialect, as exactly
//! one statement; statement kinds sqlparser cannot read are listed in an explicit allow-list.

use schema_core::emit::{self, EmitOptions};
use schema_core::expr::parse_script;
use schema_core::sql::ident::qualified;
use schema_core::{ir, render, Sources};
use std::path::{Path, PathBuf};

/// A statement kind PostgreSQL accepts but sqlparser 0.64 cannot parse. Statements starting with
/// `prefix` are executed for real only by the live-Postgres suite; here the rest of the statement
/// gets a structural check (`check`) so a broken name or clause is still caught.
struct Unsupported {
    prefix: &'static str,
    /// The sqlparser limitation, for the reader of a failure.
    reason: &'static str,
    check: fn(&str) -> Result<(), String>,
}

/// The allow-list. Every entry must still be needed: `allow_list_entries_are_all_needed` fails when
/// sqlparser learns a kind (remove the entry then).
const UNSUPPORTED: &[Unsupported] = &[
    // Realtime: `alter publication "supabase_realtime" add table ...` (up) and `... drop table ...`
    // (down). sqlparser 0.64 parses `ALTER` only for VIEW, TABLE, INDEX, TYPE, ROLE, POLICY,
    // FUNCTION, SCHEMA, ... and stops at `publication` ("Expected: one of VIEW or ... found:
    // publication"), although `ALTER PUBLICATION name ADD|DROP TABLE name` is valid PostgreSQL.
    Unsupported {
        prefix: "alter publication ",
        reason: "sqlparser 0.64 has no ALTER PUBLICATION",
        check: check_alter_publication,
    },
    // Function comments: `comment on function "public"."f"(numeric, text) is '...';`. sqlparser
    // 0.64 reads `COMMENT ON FUNCTION name IS ...` but not the argument list after the name
    // ("Expected: IS, found: ("), which PostgreSQL uses to pick one of overloaded functions.
    Unsupported {
        prefix: "comment on function ",
        reason: "sqlparser 0.64 has no argument list in COMMENT ON FUNCTION",
        check: check_comment_on_function,
    },
    // Identity sequences: `do $$ begin execute format('revoke all on sequence %s from ...',
    // pg_catalog.pg_get_serial_sequence('"public"."t"', 'col')); end $$;`. sqlparser 0.64 has no
    // DO (and no PL/pgSQL); the statement is checked by its parts.
    Unsupported {
        prefix: "do $$",
        reason: "sqlparser 0.64 has no DO",
        check: check_sequence_revoke,
    },
];

/// The SQL literals (`'...'`, `''` inside) of `text`, in order.
fn literals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut lit = String::new();
        loop {
            match chars.next() {
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    lit.push('\'');
                }
                Some('\'') | None => break,
                Some(c) => lit.push(c),
            }
        }
        out.push(lit);
    }
    out
}

/// The revoke of a column's sequence: exactly `sql::grant::revoke_column_sequence` of its own
/// table and column, whose revoke (with a sequence name for `%s`) parses, on a table that is a
/// single name.
fn check_sequence_revoke(sql: &str) -> Result<(), String> {
    let lits = literals(sql);
    let [stmt, table, column] = lits.as_slice() else {
        return Err(format!("expected 3 literals, found {lits:?}"));
    };
    check_name(table)?;
    let revoke = stmt.replace("%s", "\"public\".\"some_seq\"");
    if parse_script(&revoke) != Ok(1) || !revoke.starts_with("revoke all on sequence ") {
        return Err(format!("`{revoke}` is not one revoke"));
    }
    let roles = ["anon", "authenticated", "service_role"];
    let again = schema_core::sql::grant::revoke_column_sequence(table, column, &roles);
    if again != sql {
        return Err(format!("not the shape schemac writes:\n{again}"));
    }
    Ok(())
}

/// A single (possibly qualified) name: parses as the relation of `select 1 from <name>`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(',') || name.contains(char::is_whitespace) {
        return Err(format!("`{name}` is not a single name"));
    }
    match parse_script(&format!("select 1 from {name}")) {
        Ok(1) => Ok(()),
        Ok(n) => Err(format!("`{name}` reads as {n} statements")),
        Err(e) => Err(format!("`{name}` is not a name: {e}")),
    }
}

/// One whole expression: parses as `select <expr>`.
fn check_expr(expr: &str) -> Result<(), String> {
    match parse_script(&format!("select {expr}")) {
        Ok(1) => Ok(()),
        Ok(n) => Err(format!("`{expr}` reads as {n} statements")),
        Err(e) => Err(format!("`{expr}` is not an expression: {e}")),
    }
}

/// `alter publication <name> add|drop table <relation>;`: both names must parse as relation names.
fn check_alter_publication(stmt: &str) -> Result<(), String> {
    let body = stmt
        .strip_prefix("alter publication ")
        .and_then(|s| s.strip_suffix(';'))
        .ok_or("expected `alter publication ...;`")?;
    let (publication, table) = body
        .split_once(" add table ")
        .or_else(|| body.split_once(" drop table "))
        .ok_or("expected `add table` or `drop table`")?;
    check_name(publication)?;
    check_name(table)
}

/// `comment on function <name>(<type>, ...) is <literal>;`: the name, every argument type (as the
/// target of a cast) and the string literal must parse on their own.
fn check_comment_on_function(stmt: &str) -> Result<(), String> {
    let body = stmt
        .strip_prefix("comment on function ")
        .and_then(|s| s.strip_suffix(';'))
        .ok_or("expected `comment on function ...;`")?;
    let open = body.find('(').ok_or("expected an argument list")?;
    let mut depth = 0;
    let mut close = None;
    let mut args = Vec::new();
    let mut start = open + 1;
    for (i, c) in body.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => {
                args.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    let close = close.ok_or("unbalanced argument list")?;
    if !body[start..close].trim().is_empty() || !args.is_empty() {
        args.push(&body[start..close]);
    }
    check_name(&body[..open])?;
    for ty in args {
        check_expr(&format!("null::{}", ty.trim()))?;
    }
    let literal = body[close + 1..]
        .strip_prefix(" is ")
        .ok_or("expected ` is ` after the arguments")?;
    if !(literal.starts_with('\'') || literal.starts_with("E'")) {
        return Err(format!("`{literal}` is not a string literal"));
    }
    check_expr(literal)
}

/// The SQL of a statement without the `--` comment lines that may precede it.
fn sql_of(stmt: &str) -> &str {
    let mut rest = stmt;
    while rest.starts_with("--") {
        rest = rest.split_once('\n').map(|(_, r)| r).unwrap_or("");
    }
    rest
}

/// What happened to one statement.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// sqlparser read it as exactly one statement.
    Parsed,
    /// An allow-listed kind sqlparser rejected; its structural check passed.
    AllowListed(&'static str),
}

/// Checks one emitted statement. `Err` explains why it is not acceptable.
fn check_statement(stmt: &str) -> Result<Verdict, String> {
    let parsed = parse_script(stmt);
    if let Ok(1) = parsed {
        return Ok(Verdict::Parsed);
    }
    let sql = sql_of(stmt);
    if let Some(u) = UNSUPPORTED.iter().find(|u| sql.starts_with(u.prefix)) {
        if parsed.is_err() {
            return (u.check)(sql)
                .map(|()| Verdict::AllowListed(u.prefix))
                .map_err(|e| {
                    format!(
                        "allow-listed kind `{}` ({}) fails its structural check: {e}",
                        u.prefix, u.reason
                    )
                });
        }
    }
    match parsed {
        Ok(n) => Err(format!("parses as {n} statements instead of one")),
        Err(e) => Err(e),
    }
}

/// The body of a dollar-quoted `create function ... as $tag$ body $tag$;`.
fn dollar_body(stmt: &str) -> Option<&str> {
    let start = stmt.find("\nas $")? + "\nas ".len();
    let tag_len = stmt[start + 1..].find('$')? + 2;
    let tag = &stmt[start..start + tag_len];
    let body_start = start + tag_len;
    let end = stmt.rfind(tag)?;
    (end >= body_start).then(|| &stmt[body_start..end])
}

fn compile(path: &Path) -> ir::Schema {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut sources = Sources::new();
    sources.add("schema.yaml", text);
    let c = schema_core::compile(&sources);
    let rendered: String = c
        .diagnostics
        .iter()
        .map(|d| render::human(d, &sources))
        .collect();
    match c.ir {
        Some(ir) if !c.has_errors() => ir,
        _ => panic!("{} does not compile:\n{rendered}", path.display()),
    }
}

/// The fixtures and the app's `schema.yaml`.
fn schema_paths() -> Vec<PathBuf> {
    let mut paths = schemac_tests::case_schemas(23);
    paths.push(schemac_tests::workspace_root().join("schema.yaml"));
    paths
}

/// Splits `seed.sql` into its statements: one `insert into` per seed row, after the header comments.
fn seed_statements(seed: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in seed.lines() {
        if line.starts_with("insert into ") && !current.trim().is_empty() {
            out.push(current.trim().to_string());
            current.clear();
        }
        if out.is_empty()
            && current.trim().is_empty()
            && (line.starts_with("--") || line.is_empty())
        {
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Every emitted statement of a schema, labelled `up #3`, `down #0`, `seed #1`, `helper body ...`.
fn labelled_statements(schema: &ir::Schema) -> Vec<(String, String)> {
    let opts = EmitOptions::default();
    let mut out = Vec::new();
    let up_text = emit::up::migration(schema, &opts);
    let up = emit::up::statements(schema);
    for (i, s) in up.iter().enumerate() {
        assert!(
            up_text.contains(s.as_str()),
            "up statement #{i} is not in the migration text:\n{s}"
        );
        out.push((format!("up #{i}"), s.clone()));
    }
    let down_text = emit::down::migration(schema, &opts);
    for (i, s) in emit::down::statements(schema).into_iter().enumerate() {
        assert!(
            down_text.contains(s.as_str()),
            "down statement #{i} is not in the down script text:\n{s}"
        );
        out.push((format!("down #{i}"), s));
    }
    let seed_text = emit::seed::seed(schema, &opts);
    let seed = seed_statements(&seed_text);
    assert_eq!(
        seed.len(),
        schema.seed.len(),
        "seed.sql should hold one statement per seed row:\n{seed_text}"
    );
    assert_eq!(
        parse_script(&seed_text),
        Ok(schema.seed.len()),
        "seed.sql as a whole should parse as one statement per seed row"
    );
    for (i, s) in seed.into_iter().enumerate() {
        out.push((format!("seed #{i}"), s));
    }
    // The bodies of generated `language sql` helpers are SQL schemac wrote: they must parse too.
    for h in &schema.helpers {
        let head = format!(
            "create function {}(",
            qualified(&schema.helpers_schema, h.name())
        );
        let Some(stmt) = up.iter().find(|s| sql_of(s).starts_with(&head)) else {
            panic!(
                "helper `{}` has no `create function` in the up migration",
                h.name()
            );
        };
        if stmt.contains("\nlanguage sql\n") {
            let body = dollar_body(stmt).unwrap_or_else(|| {
                panic!("cannot find the body of helper `{}`:\n{stmt}", h.name())
            });
            out.push((
                format!("body of helper {}", h.name()),
                body.trim().to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_emitted_statement_parses() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in schema_paths() {
        let schema = compile(&path);
        for (label, stmt) in labelled_statements(&schema) {
            checked += 1;
            if let Err(e) = check_statement(&stmt) {
                failures.push(format!("{} {label}:\n{stmt}\n  -> {e}\n", path.display()));
            }
        }
    }
    assert!(checked > 500, "only {checked} statements were checked");
    assert!(
        failures.is_empty(),
        "{} emitted statement(s) do not parse:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn allow_list_entries_are_all_needed() {
    let mut used: Vec<&str> = Vec::new();
    for path in schema_paths() {
        for (_, stmt) in labelled_statements(&compile(&path)) {
            if let Ok(Verdict::AllowListed(prefix)) = check_statement(&stmt) {
                used.push(prefix);
            }
        }
    }
    for u in UNSUPPORTED {
        assert!(
            used.contains(&u.prefix),
            "no emitted statement starting with `{}` fails to parse any more ({}): remove it from the allow-list",
            u.prefix,
            u.reason
        );
    }
}

#[test]
fn the_oracle_rejects_bad_sql() {
    assert_eq!(
        check_statement("-- a comment\ncreate table \"public\".\"t\" (\"a\" integer);"),
        Ok(Verdict::Parsed)
    );
    assert!(check_statement("create tabel \"t\" ();").is_err());
    assert!(
        check_statement("create table \"t\" (\"a\" integer); drop table \"t\";").is_err(),
        "two statements"
    );
    assert!(
        check_statement("create table \"t (\"a\" integer);").is_err(),
        "broken quoting"
    );
    assert_eq!(
        check_statement("alter publication \"supabase_realtime\" add table \"public\".\"t\";"),
        Ok(Verdict::AllowListed("alter publication "))
    );
    assert!(check_statement("alter publication \"supabase_realtime\" add table ;").is_err());
    assert!(check_statement(
        "alter publication \"supabase_realtime\" add table \"public\".\"t\", \"u\";"
    )
    .is_err());
    assert!(
        check_statement("alter publication \"supabase_realtime\" add table \"public\".\"t;")
            .is_err()
    );
    assert!(check_statement("alter publication \"supabase_realtime\" rename to \"x\";").is_err());
    assert_eq!(
        check_statement("comment on function \"public\".\"f\"(numeric, \"extensions\".vector(3), \"public\".\"e\"[]) is 'it''s';"),
        Ok(Verdict::AllowListed("comment on function "))
    );
    assert_eq!(
        check_statement("comment on function \"public\".\"f\"() is E'a\\\\b';"),
        Ok(Verdict::AllowListed("comment on function "))
    );
    assert!(
        check_statement("comment on function \"public\".\"f\"(numeric, ) is 'x';").is_err(),
        "empty argument"
    );
    assert!(
        check_statement("comment on function \"public\".\"f\"(numeric is 'x';").is_err(),
        "unbalanced"
    );
    assert!(
        check_statement("comment on function \"public\".\"f\"() is 'x'';").is_err(),
        "broken literal"
    );
    assert!(
        check_statement("comment on function \"public\".\"f\"() is x;").is_err(),
        "not a literal"
    );
    assert!(
        check_statement("comment on function \"public\" \"f\"() is 'x';").is_err(),
        "broken name"
    );
}

#[test]
fn statement_helpers_split_correctly() {
    let seed = "-- @generated\n-- seed\n\ninsert into \"a\" (\"x\")\nvalues ('1');\n\ninsert into \"b\" (\"y\")\nvalues ('a\n\nb');\n";
    assert_eq!(
        seed_statements(seed),
        vec![
            "insert into \"a\" (\"x\")\nvalues ('1');".to_string(),
            "insert into \"b\" (\"y\")\nvalues ('a\n\nb');".to_string()
        ]
    );
    let f = "-- c\ncreate function \"p\".\"f\"()\nreturns integer\nlanguage sql\nas $fn$\n  select '$$'\n$fn$;";
    assert_eq!(dollar_body(f), Some("\n  select '$$'\n"));
    assert_eq!(sql_of("-- a\n-- b\nselect 1;"), "select 1;");
}
