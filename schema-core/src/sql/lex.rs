//! A lexer that reads SQL text the way PostgreSQL 18's `scan.l` does (standard_conforming_strings
//! on): the ground truth for where strings, quoted identifiers and comments begin and end.
//!
//! schemac never prints a user expression through a general-purpose printer. It lexes the user's
//! text with this lexer, checks that sqlparser (which does the semantic checks) saw the same
//! tokens, and re-prints the same tokens canonically (`sql::expr`). What PostgreSQL parses is then
//! exactly what was checked. The oracle test (`tests/tests/expr_oracle.rs`) holds this lexer to
//! PostgreSQL itself.

/// What a token is. Strings carry their decoded value; words their text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or keyword. `quoted` for `"..."` / `U&"..."` (then `value` is exact);
    /// otherwise `value` is the text as written (PostgreSQL folds ASCII letters to lower case).
    Word { value: String, quoted: bool },
    /// A character string constant: `'...'`, `E'...'`, `U&'...'`, `$tag$...$tag$` (decoded, after
    /// continuation lines are joined).
    Str(String),
    /// `N'...'`: PostgreSQL reads it as the keyword `nchar` followed by a string.
    NationalStr(String),
    /// `B'...'`: a bit string; `value` holds only `0` and `1`.
    BitStr(String),
    /// `X'...'`: a bit string in hex; `value` holds only hex digits.
    HexStr(String),
    /// A numeric constant, exactly as written.
    Num(String),
    /// `$1`.
    Param(String),
    /// An operator or punctuation (`,`, `(`, `::`, `->>`, `<=>`...), exactly as PostgreSQL splits it.
    Op(String),
}

/// A token and where it starts (1-based line and column, counted in characters; lines end at
/// `\n`, the way sqlparser counts, so the two can be matched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub line: u64,
    pub col: u64,
    /// True if whitespace or a comment came right before this token.
    pub space_before: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub line: u64,
    pub col: u64,
    pub message: String,
}

/// PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server.
pub const MAX_IDENT_BYTES: usize = 63;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{0c}' | '\u{0b}')
}
fn is_horiz_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{0c}')
}
fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r')
}
/// `[A-Za-z\200-\377_]`: every non-ASCII character is an identifier character to PostgreSQL.
pub fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}
pub fn is_ident_cont(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == '$'
}
fn is_dolq_cont(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}
fn is_op_char(c: char) -> bool {
    "~!@#^&|`?+-*/%<>=".contains(c)
}
const SELF_CHARS: &str = ",()[].;:+-*/%^<>=";

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: u64,
    col: u64,
}

type Res<T> = Result<T, LexError>;

impl Lexer {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.pos + k).copied()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
    fn err<T>(&self, line: u64, col: u64, message: impl Into<String>) -> Res<T> {
        Err(LexError {
            line,
            col,
            message: message.into(),
        })
    }
    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c))
    }
    fn starts_with_ci(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.peek(i).is_some_and(|p| p.eq_ignore_ascii_case(&c)))
    }

    /// Skips whitespace and comments; true if anything was skipped.
    fn skip_space(&mut self) -> Res<bool> {
        let start = self.pos;
        loop {
            match self.peek(0) {
                Some(c) if is_space(c) => {
                    self.bump();
                }
                Some('-') if self.peek(1) == Some('-') => {
                    while self.peek(0).is_some_and(|c| !is_newline(c)) {
                        self.bump();
                    }
                }
                Some('/') if self.peek(1) == Some('*') => self.block_comment()?,
                _ => break,
            }
        }
        Ok(self.pos > start)
    }

    fn block_comment(&mut self) -> Res<()> {
        let (line, col) = (self.line, self.col);
        let mut depth = 0usize;
        loop {
            if self.starts_with("/*") {
                depth += 1;
                self.bump();
                self.bump();
            } else if self.starts_with("*/") {
                depth -= 1;
                self.bump();
                self.bump();
                if depth == 0 {
                    return Ok(());
                }
            } else if self.bump().is_none() {
                return self.err(line, col, "unterminated /* comment");
            }
        }
    }

    /// After a closing quote: PostgreSQL joins `'a'` and `'b'` into one string when only
    /// whitespace containing a newline (and comments) separates them. Returns true (and stands on
    /// the next opening quote) when a continuation follows.
    fn quote_continues(&mut self) -> bool {
        let save = (self.pos, self.line, self.col);
        let mut saw_newline = false;
        // {horiz_whitespace}*
        loop {
            match self.peek(0) {
                Some(c) if is_horiz_space(c) => {
                    self.bump();
                }
                Some('-') if self.peek(1) == Some('-') => {
                    while self.peek(0).is_some_and(|c| !is_newline(c)) {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
        // {newline}
        if self.peek(0).is_some_and(is_newline) {
            self.bump();
            saw_newline = true;
            // {special_whitespace}*: {space}+ | {comment}{newline}
            loop {
                match self.peek(0) {
                    Some(c) if is_space(c) => {
                        self.bump();
                    }
                    Some('-') if self.peek(1) == Some('-') => {
                        let s2 = (self.pos, self.line, self.col);
                        while self.peek(0).is_some_and(|c| !is_newline(c)) {
                            self.bump();
                        }
                        if self.peek(0).is_some_and(is_newline) {
                            self.bump();
                        } else {
                            (self.pos, self.line, self.col) = s2;
                            break;
                        }
                    }
                    _ => break,
                }
            }
        }
        if saw_newline && self.peek(0) == Some('\'') {
            return true;
        }
        (self.pos, self.line, self.col) = save;
        false
    }

    /// The body of a `'...'` string after its opening quote, continuations included. `escapes`
    /// selects `E'...'` rules; without them backslashes are kept (U& strings decode them later).
    fn quoted_body(&mut self, escapes: bool, line: u64, col: u64) -> Res<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.bump() else {
                return self.err(line, col, "unterminated quoted string");
            };
            match c {
                '\'' => {
                    if self.peek(0) == Some('\'') {
                        self.bump();
                        out.push(b'\'');
                    } else if self.quote_continues() {
                        self.bump();
                    } else {
                        return Ok(out);
                    }
                }
                '\\' if escapes => {
                    let (el, ec) = (self.line, self.col);
                    let Some(e) = self.bump() else {
                        return self.err(line, col, "unterminated quoted string");
                    };
                    match e {
                        'b' => out.push(8),
                        'f' => out.push(12),
                        'n' => out.push(b'\n'),
                        'r' => out.push(b'\r'),
                        't' => out.push(b'\t'),
                        '0'..='7' => {
                            let mut v = e.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                match self.peek(0).and_then(|d| d.to_digit(8)) {
                                    Some(d) => {
                                        self.bump();
                                        v = v * 8 + d;
                                    }
                                    None => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        'x' if self.peek(0).is_some_and(|d| d.is_ascii_hexdigit()) => {
                            let mut v = 0;
                            for _ in 0..2 {
                                match self.peek(0).and_then(|d| d.to_digit(16)) {
                                    Some(d) => {
                                        self.bump();
                                        v = v * 16 + d;
                                    }
                                    None => break,
                                }
                            }
                            out.push(v as u8);
                        }
                        'u' | 'U' => {
                            let n = if e == 'u' { 4 } else { 8 };
                            let v = self.hex_digits(n, el, ec)?;
                            let ch =
                                self.unicode_value(v, el, ec, |l| l.backslash_u_low(el, ec))?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    fn hex_digits(&mut self, n: usize, line: u64, col: u64) -> Res<u32> {
        let mut v: u32 = 0;
        for _ in 0..n {
            match self.peek(0).and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    self.bump();
                    v = v.wrapping_mul(16).wrapping_add(d);
                }
                None => return self.err(line, col, "invalid Unicode escape"),
            }
        }
        Ok(v)
    }

    /// The low half of a surrogate pair written as a second `\uXXXX` / `\UXXXXXXXX`.
    fn backslash_u_low(&mut self, line: u64, col: u64) -> Res<u32> {
        if self.peek(0) == Some('\\') && matches!(self.peek(1), Some('u') | Some('U')) {
            self.bump();
            let n = if self.bump() == Some('u') { 4 } else { 8 };
            return self.hex_digits(n, line, col);
        }
        self.err(line, col, "invalid Unicode surrogate pair")
    }

    fn unicode_value(
        &mut self,
        v: u32,
        line: u64,
        col: u64,
        low: impl FnOnce(&mut Self) -> Res<u32>,
    ) -> Res<char> {
        if (0xD800..0xDC00).contains(&v) {
            let lo = low(self)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return self.err(line, col, "invalid Unicode surrogate pair");
            }
            let c = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            return char::from_u32(c)
                .ok_or(())
                .or_else(|_| self.err(line, col, "invalid Unicode escape value"));
        }
        if (0xDC00..0xE000).contains(&v) {
            return self.err(line, col, "invalid Unicode surrogate pair");
        }
        match char::from_u32(v) {
            Some(c) if c != '\0' => Ok(c),
            _ => self.err(line, col, "invalid Unicode escape value"),
        }
    }

    fn text(&self, bytes: Vec<u8>, line: u64, col: u64) -> Res<String> {
        let s = String::from_utf8(bytes)
            .or_else(|_| self.err(line, col, "invalid byte sequence for encoding UTF8"))?;
        if s.contains('\0') {
            return self.err(line, col, "a string cannot contain a zero byte");
        }
        Ok(s)
    }

    /// `U&'...'` / `U&"..."` escapes, with an optional `UESCAPE 'c'` that follows the token.
    fn decode_unicode(&mut self, raw: &str, line: u64, col: u64) -> Res<String> {
        // UESCAPE lookahead: whitespace/comments, the keyword, whitespace/comments, a one-char
        // plain string.
        let save = (self.pos, self.line, self.col);
        let mut esc = '\\';
        self.skip_space()?;
        if self.starts_with_ci("uescape") && !self.peek(7).is_some_and(is_ident_cont) {
            for _ in 0..7 {
                self.bump();
            }
            self.skip_space()?;
            let (l2, c2) = (self.line, self.col);
            if self.peek(0) != Some('\'') {
                return self.err(
                    l2,
                    c2,
                    "UESCAPE must be followed by a simple string literal",
                );
            }
            self.bump();
            let body = self.quoted_body(false, l2, c2)?;
            let body = self.text(body, l2, c2)?;
            let mut it = body.chars();
            match (it.next(), it.next()) {
                (Some(c), None)
                    if !c.is_ascii_hexdigit() && !"+'\"".contains(c) && !is_space(c) =>
                {
                    esc = c
                }
                _ => return self.err(l2, c2, "invalid Unicode escape character"),
            }
        } else {
            (self.pos, self.line, self.col) = save;
        }
        let cs: Vec<char> = raw.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let hex = |s: &[char]| -> Option<u32> {
            s.iter()
                .try_fold(0u32, |a, c| c.to_digit(16).map(|d| a * 16 + d))
        };
        let mut pending_high: Option<u32> = None;
        while i < cs.len() {
            let c = cs[i];
            if c != esc {
                if pending_high.is_some() {
                    return self.err(line, col, "invalid Unicode surrogate pair");
                }
                out.push(c);
                i += 1;
                continue;
            }
            let v = if cs.get(i + 1) == Some(&esc) {
                if pending_high.is_some() {
                    return self.err(line, col, "invalid Unicode surrogate pair");
                }
                out.push(esc);
                i += 2;
                continue;
            } else if cs.get(i + 1) == Some(&'+') && i + 8 <= cs.len() {
                let v = hex(&cs[i + 2..i + 8]);
                i += 8;
                v
            } else if i + 5 <= cs.len() {
                let v = hex(&cs[i + 1..i + 5]);
                i += 5;
                v
            } else {
                None
            };
            let Some(v) = v else {
                return self.err(line, col, "invalid Unicode escape");
            };
            if let Some(hi) = pending_high.take() {
                if !(0xDC00..0xE000).contains(&v) {
                    return self.err(line, col, "invalid Unicode surrogate pair");
                }
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (v - 0xDC00);
                match char::from_u32(cp) {
                    Some(ch) => out.push(ch),
                    None => return self.err(line, col, "invalid Unicode escape value"),
                }
                continue;
            }
            if (0xD800..0xDC00).contains(&v) {
                pending_high = Some(v);
                continue;
            }
            match char::from_u32(v) {
                Some(ch) if ch != '\0' => out.push(ch),
                _ => return self.err(line, col, "invalid Unicode escape value"),
            }
        }
        if pending_high.is_some() {
            return self.err(line, col, "invalid Unicode surrogate pair");
        }
        Ok(out)
    }

    fn quoted_ident(&mut self, line: u64, col: u64) -> Res<String> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return self.err(line, col, "unterminated quoted identifier"),
                Some('"') if self.peek(0) == Some('"') => {
                    self.bump();
                    out.push('"');
                }
                Some('"') => break,
                Some(c) => out.push(c),
            }
        }
        if out.is_empty() {
            return self.err(line, col, "zero-length delimited identifier");
        }
        Ok(out)
    }

    fn ident_len_ok(&self, v: &str, line: u64, col: u64) -> Res<()> {
        if v.len() > MAX_IDENT_BYTES {
            return self.err(
                line,
                col,
                format!(
                    "identifier is longer than {MAX_IDENT_BYTES} bytes; PostgreSQL would truncate it"
                ),
            );
        }
        Ok(())
    }

    fn digits(&mut self, radix: u32, out: &mut String) -> bool {
        // (_?digit)* after a first digit already consumed, or (_?digit)+ when `out` ends in a prefix.
        let mut any = false;
        loop {
            match (self.peek(0), self.peek(1)) {
                (Some(d), _) if d.is_digit(radix) => {
                    out.push(d);
                    self.bump();
                    any = true;
                }
                (Some('_'), Some(d)) if d.is_digit(radix) => {
                    out.push('_');
                    out.push(d);
                    self.bump();
                    self.bump();
                    any = true;
                }
                _ => return any,
            }
        }
    }

    fn number(&mut self, line: u64, col: u64) -> Res<Kind> {
        let mut s = String::new();
        let c0 = self.peek(0).unwrap_or('0');
        if c0 == '0' && matches!(self.peek(1), Some('x' | 'X' | 'o' | 'O' | 'b' | 'B')) {
            let radix = match self.peek(1) {
                Some('x' | 'X') => 16,
                Some('o' | 'O') => 8,
                _ => 2,
            };
            s.push('0');
            s.push(self.peek(1).unwrap_or('x'));
            self.bump();
            self.bump();
            if !self.digits(radix, &mut s) {
                return self.err(
                    line,
                    col,
                    "invalid number: digits expected after the prefix",
                );
            }
            return self.junk_check(Kind::Num(s), line, col);
        }
        let int_part = if c0 == '.' {
            false
        } else {
            s.push(c0);
            self.bump();
            self.digits(10, &mut s);
            true
        };
        // numeric: decinteger '.' decinteger? | '.' decinteger; but `1..` is `1` then `..`.
        if self.peek(0) == Some('.') && !(int_part && self.peek(1) == Some('.')) {
            let frac_digit = self.peek(1).is_some_and(|d| d.is_ascii_digit());
            if int_part || frac_digit {
                s.push('.');
                self.bump();
                if frac_digit {
                    let d = self.bump().unwrap_or('0');
                    s.push(d);
                    self.digits(10, &mut s);
                }
            }
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = matches!(self.peek(1), Some('+' | '-'));
            let d_at = if sign { 2 } else { 1 };
            if self.peek(d_at).is_some_and(|d| d.is_ascii_digit()) {
                s.push(self.bump().unwrap_or('e'));
                if sign {
                    s.push(self.bump().unwrap_or('+'));
                }
                let d = self.bump().unwrap_or('0');
                s.push(d);
                self.digits(10, &mut s);
            } else if sign {
                return self.err(line, col, "trailing junk after numeric literal");
            }
        }
        self.junk_check(Kind::Num(s), line, col)
    }

    fn junk_check(&self, k: Kind, line: u64, col: u64) -> Res<Kind> {
        if self.peek(0).is_some_and(is_ident_start) {
            return self.err(line, col, "trailing junk after numeric literal");
        }
        Ok(k)
    }

    fn operator(&mut self) -> String {
        let start = self.pos;
        let mut end = start;
        while self.chars.get(end).is_some_and(|c| is_op_char(*c)) {
            end += 1;
        }
        let run: String = self.chars[start..end].iter().collect();
        let mut n = run.chars().count();
        let cut = [run.find("/*"), run.find("--")].into_iter().flatten().min();
        if let Some(cut) = cut {
            n = run[..cut].chars().count();
        }
        let cs: Vec<char> = run.chars().collect();
        if n > 1 && matches!(cs[n - 1], '+' | '-') {
            let special = cs[..n - 1].iter().any(|c| "~!@#^&|`?%".contains(*c));
            if !special {
                while n > 1 && matches!(cs[n - 1], '+' | '-') {
                    n -= 1;
                }
            }
        }
        let op: String = cs[..n].iter().collect();
        for _ in 0..n {
            self.bump();
        }
        op
    }

    fn token(&mut self) -> Res<Option<Token>> {
        let space_before = self.skip_space()?;
        let (line, col) = (self.line, self.col);
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let tok = |kind| {
            Ok(Some(Token {
                kind,
                line,
                col,
                space_before,
            }))
        };
        let next = self.peek(1);
        // Prefixed strings and identifiers come before plain identifiers.
        if matches!(c, 'e' | 'E') && next == Some('\'') {
            self.bump();
            self.bump();
            let b = self.quoted_body(true, line, col)?;
            return tok(Kind::Str(self.text(b, line, col)?));
        }
        if matches!(c, 'n' | 'N') && next == Some('\'') {
            self.bump();
            self.bump();
            let b = self.quoted_body(false, line, col)?;
            return tok(Kind::NationalStr(self.text(b, line, col)?));
        }
        if matches!(c, 'b' | 'B' | 'x' | 'X') && next == Some('\'') {
            self.bump();
            self.bump();
            let b = self.quoted_body(false, line, col)?;
            let v = self.text(b, line, col)?;
            return if matches!(c, 'b' | 'B') {
                if !v.chars().all(|d| d == '0' || d == '1') {
                    return self.err(line, col, format!("\"{v}\" is not a valid binary digit"));
                }
                tok(Kind::BitStr(v))
            } else {
                if !v.chars().all(|d| d.is_ascii_hexdigit()) {
                    return self.err(
                        line,
                        col,
                        format!("\"{v}\" is not a valid hexadecimal digit"),
                    );
                }
                tok(Kind::HexStr(v))
            };
        }
        if matches!(c, 'u' | 'U') && next == Some('&') && matches!(self.peek(2), Some('\'' | '"')) {
            let q = self.peek(2);
            self.bump();
            self.bump();
            self.bump();
            if q == Some('\'') {
                let b = self.quoted_body(false, line, col)?;
                let raw = self.text(b, line, col)?;
                let v = self.decode_unicode(&raw, line, col)?;
                return tok(Kind::Str(v));
            }
            let raw = self.quoted_ident(line, col)?;
            let v = self.decode_unicode(&raw, line, col)?;
            if v.contains('\0') || v.is_empty() {
                return self.err(line, col, "invalid quoted identifier");
            }
            self.ident_len_ok(&v, line, col)?;
            return tok(Kind::Word {
                value: v,
                quoted: true,
            });
        }
        if is_ident_start(c) {
            let mut v = String::new();
            while let Some(d) = self.peek(0).filter(|d| is_ident_cont(*d)) {
                v.push(d);
                self.bump();
            }
            self.ident_len_ok(&v, line, col)?;
            return tok(Kind::Word {
                value: v,
                quoted: false,
            });
        }
        if c == '"' {
            self.bump();
            let v = self.quoted_ident(line, col)?;
            self.ident_len_ok(&v, line, col)?;
            return tok(Kind::Word {
                value: v,
                quoted: true,
            });
        }
        if c == '\'' {
            self.bump();
            let b = self.quoted_body(false, line, col)?;
            return tok(Kind::Str(self.text(b, line, col)?));
        }
        if c == '$' {
            // $1 | $tag$...$tag$ | $$...$$
            if next.is_some_and(|d| d.is_ascii_digit()) {
                self.bump();
                let mut s = String::from("$");
                s.push(self.bump().unwrap_or('0'));
                self.digits(10, &mut s);
                return self.junk_check(Kind::Param(s), line, col).and_then(tok);
            }
            let mut tag = String::new();
            let mut k = 1;
            if self.peek(1).is_some_and(is_ident_start) {
                while let Some(d) = self.peek(k).filter(|d| is_dolq_cont(*d)) {
                    tag.push(d);
                    k += 1;
                }
            }
            if self.peek(k) != Some('$') {
                return self.err(line, col, "unexpected `$`");
            }
            for _ in 0..=k {
                self.bump();
            }
            let delim = format!("${tag}$");
            let mut body = String::new();
            loop {
                if self.starts_with(&delim) {
                    for _ in 0..delim.chars().count() {
                        self.bump();
                    }
                    break;
                }
                match self.bump() {
                    Some(ch) => body.push(ch),
                    None => return self.err(line, col, "unterminated dollar-quoted string"),
                }
            }
            if body.contains('\0') {
                return self.err(line, col, "a string cannot contain a zero byte");
            }
            return tok(Kind::Str(body));
        }
        if c.is_ascii_digit() || (c == '.' && next.is_some_and(|d| d.is_ascii_digit())) {
            let k = self.number(line, col)?;
            return tok(k);
        }
        for two in ["::", "..", ":="] {
            if self.starts_with(two) {
                self.bump();
                self.bump();
                return tok(Kind::Op(two.to_string()));
            }
        }
        if is_op_char(c) {
            let op = self.operator();
            if op.chars().count() >= 64 {
                return self.err(line, col, "operator too long");
            }
            return tok(Kind::Op(op));
        }
        if SELF_CHARS.contains(c) {
            self.bump();
            return tok(Kind::Op(c.to_string()));
        }
        self.err(line, col, format!("unexpected character {c:?}"))
    }
}

/// Splits `text` into PostgreSQL tokens (whitespace and comments dropped).
pub fn lex(text: &str) -> Result<Vec<Token>, LexError> {
    if let Some(i) = text.find('\0') {
        let line = text[..i].matches('\n').count() as u64 + 1;
        return Err(LexError {
            line,
            col: 1,
            message: "text contains a zero byte".into(),
        });
    }
    let mut l = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    while let Some(t) = l.token()? {
        out.push(t);
    }
    Ok(out)
}

/// Splits a whole script into statements at top-level `;` the way PostgreSQL and psql do
/// (never inside strings, quoted identifiers, dollar quotes or comments). Returns each
/// statement's tokens. Used by tests to prove that free text cannot add a statement.
pub fn statements(script: &str) -> Result<Vec<Vec<Token>>, LexError> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for t in lex(script)? {
        if t.kind == Kind::Op(";".into()) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(t);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        lex(s).unwrap().into_iter().map(|t| t.kind).collect()
    }
    fn w(s: &str) -> Kind {
        Kind::Word {
            value: s.into(),
            quoted: false,
        }
    }
    fn op(s: &str) -> Kind {
        Kind::Op(s.into())
    }

    #[test]
    fn standard_strings_keep_backslashes() {
        assert_eq!(
            kinds(r"a = 'x\'"),
            vec![w("a"), op("="), Kind::Str(r"x\".into())]
        );
        assert_eq!(
            kinds(r"'x\''); drop table t; --'"),
            vec![Kind::Str(r"x\'); drop table t; --".into())]
        );
        assert_eq!(kinds(r"E'x\'y'"), vec![Kind::Str("x'y".into())]);
        assert_eq!(kinds(r"e'\x41\101\u00e9'"), vec![Kind::Str("AAé".into())]);
    }

    #[test]
    fn continuation_needs_a_newline() {
        assert_eq!(kinds("'a'\n'b'"), vec![Kind::Str("ab".into())]);
        assert_eq!(kinds("'a' -- c\n 'b'"), vec![Kind::Str("ab".into())]);
        assert_eq!(
            kinds("'a' 'b'"),
            vec![Kind::Str("a".into()), Kind::Str("b".into())]
        );
        assert_eq!(kinds("'a'\r'b'"), vec![Kind::Str("ab".into())]);
    }

    #[test]
    fn unicode_and_dollar_strings() {
        assert_eq!(kinds(r"U&'d\0061t'"), vec![Kind::Str("dat".into())]);
        assert_eq!(
            kinds("U&'d!0061t' UESCAPE '!'"),
            vec![Kind::Str("dat".into())]
        );
        assert_eq!(
            kinds("U&\"d\\0061t\""),
            vec![Kind::Word {
                value: "dat".into(),
                quoted: true
            }]
        );
        assert_eq!(kinds("$a$x'$$y$a$"), vec![Kind::Str("x'$$y".into())]);
        assert_eq!(kinds("a$b"), vec![w("a$b")]);
    }

    #[test]
    fn operators_split_like_postgres() {
        assert_eq!(kinds("a*-b"), vec![w("a"), op("*"), op("-"), w("b")]);
        assert_eq!(kinds("a@-b"), vec![w("a"), op("@-"), w("b")]);
        assert_eq!(kinds("a<=>b"), vec![w("a"), op("<=>"), w("b")]);
        assert_eq!(
            kinds("a+--b\n1"),
            vec![w("a"), op("+"), Kind::Num("1".into())]
        );
        assert_eq!(kinds("a::text"), vec![w("a"), op("::"), w("text")]);
        assert_eq!(
            kinds("1..2"),
            vec![Kind::Num("1".into()), op(".."), Kind::Num("2".into())]
        );
        assert_eq!(
            kinds("a /* x /* y */ */ + b"),
            vec![w("a"), op("+"), w("b")]
        );
    }

    #[test]
    fn rejects_what_postgres_rejects() {
        for bad in [
            "'abc",
            "\"\"",
            "/* x",
            "1abc",
            "0x",
            "a\\b",
            "$x",
            "B'12'",
            "E'\\xff'",
            "'\0'",
            "U&'\\d800'",
        ] {
            assert!(lex(bad).is_err(), "{bad:?} should not lex");
        }
        assert!(lex(&"a".repeat(64)).is_err());
    }

    #[test]
    fn statements_split_outside_strings() {
        let s = statements("select ';'; -- x; y\nselect $$;$$; select \"a;\"").unwrap();
        assert_eq!(s.len(), 3);
    }
}
