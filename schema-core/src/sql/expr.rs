//! Canonical printing of user expressions from PostgreSQL tokens (`sql::lex`): the user's own
//! tokens, in the user's order, each re-quoted by `sql::ident`, with two rewrites that replace one
//! primary expression by an equivalent one (`auth.uid()` -> `(select auth.uid())`, a table name
//! -> its schema-qualified name). Because nothing is reordered, PostgreSQL parses the output into
//! the same tree as the input (up to those rewrites), whatever its grammar's precedences.

use crate::sql::ident::{literal, quote};
use crate::sql::lex::{Kind, Token};

/// Words that PostgreSQL reads as functions without parentheses (SQL "niladic" functions). As
/// bare words they never mean a column of the same name.
pub const NILADIC: &[&str] = &[
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "localtime",
    "localtimestamp",
    "session_user",
    "system_user",
    "user",
];

/// Keywords printed with a space before `(` (everything else before `(` is a function call).
const SPACED_KEYWORDS: &[&str] = &[
    "all", "and", "any", "array", "as", "between", "by", "case", "else", "exists", "from", "in",
    "is", "like", "ilike", "not", "on", "or", "over", "select", "some", "then", "using", "when",
    "where", "with", "within", "filter", "distinct", "join", "values", "similar", "to", "escape",
];

/// A plain word's meaning: unquoted words fold ASCII letters to lower case (PostgreSQL's
/// `downcase_identifier` in a UTF-8 database); quoted ones are exact.
pub fn word_value(kind: &Kind) -> Option<String> {
    match kind {
        Kind::Word {
            value,
            quoted: true,
        } => Some(value.clone()),
        Kind::Word {
            value,
            quoted: false,
        } => Some(value.to_ascii_lowercase()),
        _ => None,
    }
}

fn is_word(kind: &Kind, w: &str) -> bool {
    word_value(kind).as_deref() == Some(w)
}

fn is_op(kind: &Kind, o: &str) -> bool {
    matches!(kind, Kind::Op(x) if x == o)
}

/// One token as canonical text.
fn print(kind: &Kind) -> String {
    match kind {
        Kind::Word {
            value,
            quoted: false,
        } if value.is_ascii() => value.to_ascii_lowercase(),
        // A non-ASCII unquoted word is never a keyword: quote its folded form.
        Kind::Word {
            value,
            quoted: false,
        } => quote(&value.to_ascii_lowercase()),
        Kind::Word {
            value,
            quoted: true,
        } => quote(value),
        Kind::Str(v) => literal(v),
        Kind::NationalStr(v) => format!("nchar {}", literal(v)),
        // Only [01] / hex digits by construction (`lex` rejects anything else).
        Kind::BitStr(v) => format!("B'{v}'"),
        Kind::HexStr(v) => format!("X'{v}'"),
        Kind::Num(n) | Kind::Param(n) | Kind::Op(n) => n.clone(),
    }
}

/// A piece of output: a token, or text that replaces a run of tokens.
enum Piece {
    Tok(Kind),
    /// Already canonical text standing for one primary expression or name.
    Text(String),
}

/// Whether two adjacent pieces may be printed without a space. Only pairs that cannot merge into
/// one token are glued; everything else gets one space (a space never changes PostgreSQL's
/// reading of two tokens).
fn glue(prev: &Piece, next: &Piece) -> bool {
    let p = match prev {
        Piece::Tok(k) => Some(k),
        Piece::Text(_) => None,
    };
    let n = match next {
        Piece::Tok(k) => Some(k),
        Piece::Text(_) => None,
    };
    let p_num = matches!(p, Some(Kind::Num(_)));
    let n_num = matches!(n, Some(Kind::Num(_)));
    if let Some(p) = p {
        if is_op(p, "(") || is_op(p, "[") || is_op(p, "::") {
            return true;
        }
        if is_op(p, ".") && !n_num {
            return true;
        }
    }
    if let Some(n) = n {
        if is_op(n, ")") || is_op(n, "]") || is_op(n, ",") {
            return true;
        }
        if is_op(n, "::") && !p.is_some_and(|p| is_op(p, ":")) {
            return true;
        }
        if is_op(n, ".") && !p_num {
            return true;
        }
        if is_op(n, "(") {
            return match prev {
                Piece::Text(_) => false,
                Piece::Tok(Kind::Word { value, quoted }) => {
                    *quoted || !SPACED_KEYWORDS.contains(&value.to_ascii_lowercase().as_str())
                }
                Piece::Tok(_) => false,
            };
        }
    }
    false
}

/// A token range `[start, end)` naming a relation, and the schema and name it means.
pub type Relation = (usize, usize, String, String);

/// What to rewrite while printing.
#[derive(Default)]
pub struct Rewrites {
    /// Wrap `auth.<f>()` calls in `(select ...)` (policies), for these function names.
    pub wrap_auth: &'static [&'static str],
    /// Token ranges `[start, end)` naming a relation, replaced by `"schema"."name"`.
    pub relations: Vec<Relation>,
}

/// Prints `tokens` canonically with `rw` applied.
pub fn render(tokens: &[Token], rw: &Rewrites) -> String {
    let kinds: Vec<&Kind> = tokens.iter().map(|t| &t.kind).collect();
    let mut pieces: Vec<Piece> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < kinds.len() {
        if let Some((_, end, schema, name)) = rw.relations.iter().find(|r| r.0 == i) {
            pieces.push(Piece::Text(format!("{}.{}", quote(schema), quote(name))));
            i = *end;
            continue;
        }
        if let Some(f) = auth_call_at(&kinds, i, rw.wrap_auth) {
            let wrapped = i >= 2
                && is_op(kinds[i - 2], "(")
                && is_word(kinds[i - 1], "select")
                && kinds.get(i + 5).is_some_and(|k| is_op(k, ")"));
            if wrapped {
                // Already `(select auth.f())`: replace the `(select` we printed and the `)`.
                pieces.truncate(pieces.len() - 2);
                pieces.push(Piece::Text(format!("(select auth.{f}())")));
                i += 6;
            } else {
                pieces.push(Piece::Text(format!("(select auth.{f}())")));
                i += 5;
            }
            continue;
        }
        pieces.push(Piece::Tok(kinds[i].clone()));
        i += 1;
    }
    let mut out = String::new();
    for (j, p) in pieces.iter().enumerate() {
        if j > 0 && !glue(&pieces[j - 1], p) {
            out.push(' ');
        }
        match p {
            Piece::Tok(k) => out.push_str(&print(k)),
            Piece::Text(t) => out.push_str(t),
        }
    }
    out
}

/// `auth . f ( )` starting at `i`, not part of a longer dotted name: returns `f`.
pub fn auth_call_at(kinds: &[&Kind], i: usize, fs: &[&'static str]) -> Option<&'static str> {
    if fs.is_empty() || kinds.len() < i + 5 {
        return None;
    }
    if i > 0 && is_op(kinds[i - 1], ".") {
        return None;
    }
    if !is_word(kinds[i], "auth") || !is_op(kinds[i + 1], ".") {
        return None;
    }
    let f = word_value(kinds[i + 2])?;
    let f = fs.iter().find(|x| **x == f)?;
    (is_op(kinds[i + 3], "(") && is_op(kinds[i + 4], ")")).then_some(*f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::lex::lex;

    fn canon(s: &str) -> String {
        render(&lex(s).unwrap(), &Rewrites::default())
    }

    #[test]
    fn reprints_tokens_with_postgres_quoting() {
        assert_eq!(canon(r"a = 'x\'"), r"a = E'x\\'");
        assert_eq!(
            canon(r"a = 'x\''); drop table t; --'"),
            r"a = E'x\\''); drop table t; --'"
        );
        assert_eq!(canon("\"we\"\"ird\" = 1"), "\"we\"\"ird\" = 1");
        assert_eq!(canon("Title IS NOT NULL"), "title is not null");
        assert_eq!(
            canon("char_length( Title )<=200"),
            "char_length(title) <= 200"
        );
        assert_eq!(canon("a::text"), "a::text");
        assert_eq!(canon("x IN ('a','b')"), "x in ('a', 'b')");
        assert_eq!(canon("a - -1"), "a - - 1");
        assert_eq!(canon("1 .. 2"), "1 .. 2");
        assert_eq!(canon("t.a"), "t.a");
        assert_eq!(canon("N'x'"), "nchar 'x'");
        assert_eq!(canon("café = 1"), "\"café\" = 1");
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for s in [
            r"a = 'x\'",
            "f(a , b)::int[] @> array[1,2]",
            "$t$it's$t$ || U&'\\0041'",
            "a.b . c",
            "x = any (array(select 1))",
        ] {
            let once = canon(s);
            assert_eq!(canon(&once), once, "{s}");
        }
    }

    #[test]
    fn wraps_auth_calls_once() {
        let rw = Rewrites {
            wrap_auth: &["uid", "jwt"],
            relations: vec![],
        };
        let r = |s: &str| render(&lex(s).unwrap(), &rw);
        assert_eq!(r("user_id = auth.uid()"), "user_id = (select auth.uid())");
        assert_eq!(
            r("user_id = (SELECT auth.uid())"),
            "user_id = (select auth.uid())"
        );
        assert_eq!(r("x.auth.uid()"), "x.auth.uid()");
        assert_eq!(r("'auth.uid()'"), "'auth.uid()'");
        assert_eq!(r("auth.jwt() ->> 'role'"), "(select auth.jwt()) ->> 'role'");
    }
}
