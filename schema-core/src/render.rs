//! Renders diagnostics as text: `human` (rustc-like, with the source line and a caret), `gcc`
//! (`file:line:col: error: S0010 message`, clickable in editors and CI logs) and `json`.

use crate::diag::{Diagnostic, Severity};
use crate::source::Sources;
use std::fmt::Write;

fn sev(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn location(d: &Diagnostic, sources: &Sources) -> String {
    let name = &sources.get(d.span.source).name;
    if d.span.is_synthetic() {
        name.clone()
    } else {
        format!("{name}:{}:{}", d.span.line, d.span.col)
    }
}

/// `schema.yaml:14:9: error: S0010 unknown column ...` plus the help on the next line.
pub fn gcc(d: &Diagnostic, sources: &Sources) -> String {
    let mut s = format!(
        "{}: {}: {} {}",
        location(d, sources),
        sev(d.severity),
        d.code.id(),
        d.message
    );
    if let Some(h) = &d.help {
        let _ = write!(s, "\n{}: note: help: {h}", location(d, sources));
    }
    s.push('\n');
    s
}

/// rustc-style block with the offending line and a caret under the column.
pub fn human(d: &Diagnostic, sources: &Sources) -> String {
    let mut s = format!("{}[{}]: {}\n", sev(d.severity), d.code.id(), d.message);
    let _ = writeln!(s, "  --> {}", location(d, sources));
    if let Some(line) = sources.line_text(d.span.source, d.span.line) {
        let num = d.span.line.to_string();
        let pad = " ".repeat(num.len());
        let caret_at = line
            .chars()
            .take(d.span.col.saturating_sub(1) as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect::<String>();
        let width = if d.span.end_line == d.span.line && d.span.end_col > d.span.col {
            (d.span.end_col - d.span.col) as usize
        } else {
            1
        };
        let _ = writeln!(s, "{pad} |");
        let _ = writeln!(s, "{num} | {line}");
        let _ = writeln!(s, "{pad} | {caret_at}{}", "^".repeat(width.clamp(1, 80)));
    }
    if !d.path.is_empty() {
        let _ = writeln!(s, "   = at: {}", d.path);
    }
    if let Some(h) = &d.help {
        let _ = writeln!(s, "   = help: {h}");
    }
    s
}

/// One JSON object per diagnostic, in a JSON array.
pub fn json(diags: &[Diagnostic], sources: &Sources) -> String {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            serde_json::json!({
                "code": d.code.id(),
                "severity": sev(d.severity),
                "message": d.message,
                "file": sources.get(d.span.source).name,
                "line": d.span.line,
                "column": d.span.col,
                "path": d.path,
                "help": d.help,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&items).expect("json");
    s.push('\n');
    s
}

/// A closing line: `error: 3 errors, 1 warning`.
pub fn summary(diags: &[Diagnostic]) -> Option<String> {
    let e = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let w = diags.len() - e;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match (e, w) {
        (0, 0) => None,
        (0, w) => Some(format!("warning: {}\n", plural(w, "warning"))),
        (e, 0) => Some(format!(
            "error: {}; nothing was written\n",
            plural(e, "error")
        )),
        (e, w) => Some(format!(
            "error: {}, {}; nothing was written\n",
            plural(e, "error"),
            plural(w, "warning")
        )),
    }
}
