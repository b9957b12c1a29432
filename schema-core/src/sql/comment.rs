//! SQL comments: the only producer of `--` lines in emitted SQL, safe for any text.
//!
//! PostgreSQL's scanner (and psql's) ends a `--` comment at `\n` or `\r`; other tools reading
//! migrations (editors, statement splitters) may also break lines at the other Unicode line
//! terminators (`\u{0b}`, `\u{0c}`, `\u{85}`, `\u{2028}`, `\u{2029}`). Every control character
//! and every such terminator therefore becomes a space, so the text can never leave its line.
//! A comment line is also never one of the lines schemac itself gives a meaning to (the commit
//! marker of down scripts).

use crate::emit::down::COMMIT_MARKER;

/// True for characters that some reader may treat as the end of a line, or that have no place in
/// a comment (every other control character, including NUL, which PostgreSQL refuses in a query).
fn is_breaking(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `text` on one line: line breaks, other vertical whitespace and control characters become
/// spaces (tabs too), and runs of them collapse into one; leading and trailing spaces are removed.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if is_breaking(c) || c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// One `-- text` comment line (no line break at the end). Whatever `text` holds, PostgreSQL and
/// psql read the result as a comment that ends at the end of this line.
pub fn line(text: &str) -> String {
    let t = self::text(text);
    let l = if t.is_empty() {
        "--".to_string()
    } else {
        format!("-- {t}")
    };
    if is_directive(&l) {
        // Same words, but not the marker line schemac splits down scripts at.
        format!("-- ({t})")
    } else {
        l
    }
}

/// `text` as comment lines, one per line of `text` (`\n`, `\r\n`, `\r` and the other
/// terminators all break lines), joined with `\n`; empty lines of `text` are dropped.
pub fn lines(text: &str) -> String {
    text.split(|c: char| is_breaking(c) && c != '\t')
        .map(self::text)
        .filter(|l| !l.is_empty())
        .map(|l| line(&l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// True if `l` is a line schemac reads as an instruction (only the down scripts' commit marker).
pub fn is_directive(l: &str) -> bool {
    l == COMMIT_MARKER
}

/// Splits a down script at its commit-marker lines (whole lines only: a marker's text inside a
/// string literal or a longer comment line splits nothing).
pub fn split_at_commit_markers(sql: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    for l in sql.split_inclusive('\n') {
        if is_directive(l.trim_end_matches(['\n', '\r'])) {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("one part").push_str(l);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character PostgreSQL, psql, Rust's `lines()` or Unicode treat as a line terminator.
    const TERMINATORS: &[char] = &[
        '\n', '\r', '\u{0b}', '\u{0c}', '\u{85}', '\u{2028}', '\u{2029}', '\0',
    ];

    #[test]
    fn no_terminator_survives() {
        for &t in TERMINATORS {
            for s in [
                format!("a{t}drop table x;"),
                format!("{t}{t}x"),
                format!("x{t}"),
                format!("a\r\n{t}b"),
            ] {
                for out in [line(&s), lines(&s)] {
                    assert!(
                        !out.contains(|c: char| c != '\n' && is_breaking(c)),
                        "{s:?} -> {out:?}"
                    );
                    for l in out.split('\n') {
                        assert!(l.starts_with("--"), "{s:?} -> {out:?}");
                    }
                }
                assert!(!line(&s).contains('\n'));
            }
        }
    }

    #[test]
    fn keeps_readable_text() {
        assert_eq!(line("owners manage teams"), "-- owners manage teams");
        assert_eq!(line(""), "--");
        assert_eq!(line("a\r\ndrop table x;"), "-- a drop table x;");
        assert_eq!(lines("one\ntwo\r\rthree"), "-- one\n-- two\n-- three");
        assert_eq!(lines("x\u{2028}y"), "-- x\n-- y");
    }

    #[test]
    fn never_forges_the_commit_marker() {
        let marker_text = COMMIT_MARKER.trim_start_matches("-- ");
        assert_ne!(line(marker_text), COMMIT_MARKER);
        assert_ne!(lines(&format!("x\n{marker_text}\ny")), COMMIT_MARKER);
        assert!(!lines(&format!("x\n{marker_text}"))
            .split('\n')
            .any(is_directive));
    }

    #[test]
    fn splits_only_at_whole_marker_lines() {
        let sql = format!(
            "drop table a;\n{COMMIT_MARKER}\ndrop table b;\nselect '{COMMIT_MARKER}';\n-- x {COMMIT_MARKER} drop table c;\n"
        );
        let parts = split_at_commit_markers(&sql);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[0], "drop table a;\n");
        assert!(parts[1].contains("drop table c;"));
    }
}
