//! Shared parts of the bounded fuzzers (`expr_fuzz`, `pipeline_fuzz`): the case budget and text
//! built from pieces that try to end a string, a name, a comment, a statement or a Markdown cell.

use proptest::prelude::*;

/// The number of cases: `default` in CI, `SCHEMAC_FUZZ_CASES` for a longer local run.
pub fn cases(default: u32) -> u32 {
    std::env::var("SCHEMAC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every piece hostile text is made of: quotes, backslashes, dollar quotes, comment starts and
/// ends, statement ends, every line terminator PostgreSQL, psql or an editor knows, Markdown
/// syntax, payloads and non-ASCII text.
pub const PIECES: &[&str] = &[
    "'",
    "\\",
    "\"",
    "$",
    "$$",
    "--",
    "/*",
    "*/",
    ";",
    "\n",
    "\r",
    "\u{2028}",
    "\u{85}",
    "\u{b}",
    "\u{c}",
    "|",
    "`",
    "<!--",
    " drop table t;",
    "é",
    "😀",
];

/// `min..max` pieces of hostile text mixed with plain words.
pub fn hostile_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(PIECES).prop_map(str::to_string),
            1 => "[a-zA-Z0-9 ]{1,3}",
        ],
        min..max,
    )
    .prop_map(|v| v.concat())
}
