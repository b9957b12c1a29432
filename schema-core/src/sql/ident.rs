//! Quoting of SQL identifiers and literals: the only place emitted SQL names and strings come from.
//! Same algorithm as PostgreSQL's `quote_ident` (always quoted) and `quote_literal`.

use crate::ir::QName;

/// `"name"`, with embedded `"` doubled. Always quoted, so case and keywords are preserved.
pub fn quote(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for ch in name.chars() {
        if ch == '"' {
            s.push('"');
        }
        s.push(ch);
    }
    s.push('"');
    s
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote(schema), quote(name))
}

pub fn qname(q: &QName) -> String {
    qualified(&q.schema, &q.name)
}

/// `'text'` with `'` doubled. Backslashes need no escaping with standard_conforming_strings on
/// (the default since PostgreSQL 9.1); a string containing one is written as `E'...'` with
/// backslashes doubled so it is right under either setting.
pub fn literal(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 3);
    let escape = value.contains('\\');
    if escape {
        s.push('E');
    }
    s.push('\'');
    for ch in value.chars() {
        match ch {
            '\'' => s.push_str("''"),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('\'');
    s
}

/// A dollar-quoted body (`$$...$$`, or `$fn$...$fn$` etc. when the body contains the tag).
pub fn dollar_quote(body: &str) -> String {
    let mut tag = String::new();
    let mut n = 0;
    while body.contains(&format!("${tag}$")) {
        n += 1;
        tag = if n == 1 {
            "fn".to_string()
        } else {
            format!("fn{n}")
        };
    }
    format!("${tag}${body}${tag}$")
}

/// A comma-separated list of quoted identifiers.
pub fn list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| quote(n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// True if `name` is a safe schemac identifier: lower-case ASCII letters, digits and `_`, not
/// starting with a digit, 1..=63 bytes. (Quoting alone would make any name safe; this keeps names
/// portable across tools that do not quote, such as hand-written queries.)
pub fn is_safe_ident(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote("users"), "\"users\"");
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            quote("x\"; drop table t; --"),
            "\"x\"\"; drop table t; --\""
        );
    }

    #[test]
    fn quotes_literals() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal("a\\b"), "E'a\\\\b'");
        assert_eq!(literal("'; drop table t; --"), "'''; drop table t; --'");
    }

    #[test]
    fn dollar_quotes_avoid_collisions() {
        assert_eq!(dollar_quote("select 1"), "$$select 1$$");
        assert_eq!(dollar_quote("select '$$'"), "$fn$select '$$'$fn$");
        assert_eq!(dollar_quote("$$ $fn$"), "$fn2$$$ $fn$$fn2$");
    }

    #[test]
    fn safe_idents() {
        assert!(is_safe_ident("user_settings"));
        assert!(is_safe_ident("_x1"));
        assert!(!is_safe_ident("Users"));
        assert!(!is_safe_ident("1abc"));
        assert!(!is_safe_ident("a-b"));
        assert!(!is_safe_ident("a\"b"));
        assert!(!is_safe_ident(&"a".repeat(64)));
        assert!(is_safe_ident(&"a".repeat(63)));
    }
}
