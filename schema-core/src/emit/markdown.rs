//! Markdown text: the only way free text (comments, names, expressions) reaches `policies.md`.
//!
//! Whatever the input, the output stays inside its paragraph, list item or table cell: it is one
//! line (every line terminator and control character becomes a space), it cannot open a block
//! (heading, quote, list, fence, HTML block, table), cannot start inline HTML or an HTML comment
//! (`<!--` hides the rest of the document on GitHub), a link, emphasis or a code span, and a
//! table cell cannot be split by a `|`.

use crate::sql::comment;

/// Characters that have a meaning somewhere in an inline run (CommonMark + GitHub extensions).
const INLINE_SPECIAL: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&', '!', '#', '$',
];

/// `s` as plain Markdown text on one line: renders as exactly the characters of `s` (with line
/// breaks shown as spaces). Every character with an inline meaning is backslash-escaped, and so is
/// anything that would open a block at the start of the line (`#`, `>`, `-`, `+`, `=`, `1.`).
pub fn text(s: &str) -> String {
    let flat = comment::text(s);
    let mut out = String::with_capacity(flat.len() + 8);
    let leading_digits = flat.chars().take_while(|c| c.is_ascii_digit()).count();
    for (i, c) in flat.chars().enumerate() {
        let block_start = i == 0 && matches!(c, '-' | '+' | '=');
        let ordered = i == leading_digits && leading_digits > 0 && matches!(c, '.' | ')');
        if INLINE_SPECIAL.contains(&c) || block_start || ordered {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as an inline code span on one line (for paragraphs and list items; in a table cell, pass
/// the result through [`cell`]). The backtick fence is longer than any run of backticks in `s`.
pub fn code(s: &str) -> String {
    let flat = comment::text(s);
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    // A space on each side keeps a leading or trailing backtick out of the fence (CommonMark
    // strips one space from each side when both are there).
    let pad = if flat.starts_with('`') || flat.ends_with('`') || flat.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// Inline Markdown (from [`text`] and [`code`]) made safe in a GitHub table cell: every `|`
/// not already escaped by an odd run of backslashes gets one, so no pipe ends the cell (GitHub
/// unescapes `\|` inside code spans too).
pub fn cell(inline: &str) -> String {
    let mut out = String::with_capacity(inline.len() + 4);
    let mut backslashes = 0usize;
    for c in inline.chars() {
        if c == '|' && backslashes % 2 == 0 {
            out.push('\\');
        }
        if c == '\\' {
            backslashes += 1;
        } else {
            backslashes = 0;
        }
        out.push(c);
    }
    out
}

/// `<!-- text -->` that nothing in `text` can end early or extend past its line.
pub fn html_comment(s: &str) -> String {
    let flat = comment::text(s)
        .replace('-', "\u{2010}")
        .replace(['<', '>'], " ");
    format!("<!-- {flat}-->")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_everything_that_means_something() {
        assert_eq!(text("a | b"), "a \\| b");
        assert_eq!(text("<!-- hide"), "\\<\\!-- hide");
        assert_eq!(text("# title"), "\\# title");
        assert_eq!(text("> quote"), "\\> quote");
        assert_eq!(text("- item"), "\\- item");
        assert_eq!(text("12. item"), "12\\. item");
        assert_eq!(text("x\n# y\r|z"), "x \\# y \\|z");
        assert_eq!(text("`code`"), "\\`code\\`");
        assert_eq!(text("It's plain."), "It's plain.");
        assert_eq!(text("\\|"), "\\\\\\|");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a = 1"), "`a = 1`");
        assert_eq!(code("a ` b"), "``a ` b``");
        assert_eq!(code("`x`"), "`` `x` ``");
        assert_eq!(code("a\n# b"), "`a # b`");
    }

    #[test]
    fn cells_escape_unescaped_pipes_only() {
        assert_eq!(cell("`a | b`"), "`a \\| b`");
        assert_eq!(cell(&text("a | b")), "a \\| b");
        assert_eq!(cell("`a \\\\| b`"), "`a \\\\\\| b`");
        for s in ["|", "\\|", "\\\\|", "a\\\\\\|b", "`|`"] {
            let c = cell(&text(s));
            assert_eq!(c, text(s), "text output is already cell-safe");
            let k = cell(&code(s));
            for (i, _) in k.match_indices('|') {
                let run = k[..i].chars().rev().take_while(|c| *c == '\\').count();
                assert!(run % 2 == 1, "{s:?} -> {k:?}");
            }
        }
    }

    #[test]
    fn html_comments_cannot_end_early() {
        let c = html_comment("x --> <script>\n# y");
        assert!(c.starts_with("<!-- ") && c.ends_with("-->"));
        assert_eq!(c.matches("-->").count(), 1);
        assert!(!c.contains('\n') && !c.contains("<s"));
    }
}
