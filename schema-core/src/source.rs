//! Source files and positions: `SourceId`, `Span` (1-based line and column) used by every diagnostic.

use serde::{Deserialize, Serialize};

/// Index of a source file in [`Sources`].
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct SourceId(pub u32);

/// A position range in a source file. Lines and columns are 1-based; a `Span` with `line == 0`
/// is synthetic (the item was made by the compiler, not written by the user).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Span {
    pub source: SourceId,
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
}

impl Span {
    pub const SYNTHETIC: Span = Span {
        source: SourceId(0),
        line: 0,
        col: 0,
        end_line: 0,
        end_col: 0,
    };

    pub fn point(source: SourceId, line: u32, col: u32) -> Span {
        Span {
            source,
            line,
            col,
            end_line: line,
            end_col: col,
        }
    }

    pub fn is_synthetic(&self) -> bool {
        self.line == 0
    }

    /// Shifts a position inside a single-line scalar that starts at `self` by `(line, col)`
    /// measured inside the scalar (1-based), as reported by sqlparser for an embedded expression.
    pub fn offset(self, line: u64, col: u64) -> Span {
        if self.is_synthetic() || line == 0 {
            return self;
        }
        let (l, c) = if line <= 1 {
            (self.line, self.col + col.saturating_sub(1) as u32)
        } else {
            (self.line + (line as u32 - 1), col as u32)
        };
        Span::point(self.source, l, c)
    }
}

/// Spans never take part in equality: two schemas that mean the same are equal wherever they were
/// written (this is what makes `diff` compare meaning, not position).
impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}
impl Eq for Span {}

/// A named input text.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// All inputs of one compilation, in the order given.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    files: Vec<Source>,
}

impl Sources {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file. A leading UTF-8 byte-order mark (which some editors write) is not part of
    /// the text.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> SourceId {
        let mut text: String = text.into();
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        self.files.push(Source {
            name: name.into(),
            text,
        });
        SourceId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: SourceId) -> &Source {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &Source)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, s)| (SourceId(i as u32), s))
    }

    /// The text of line `line` (1-based) of `id`, without its line ending.
    pub fn line_text(&self, id: SourceId, line: u32) -> Option<&str> {
        if line == 0 {
            return None;
        }
        self.get(id)
            .text
            .split('\n')
            .nth(line as usize - 1)
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
    }
}
