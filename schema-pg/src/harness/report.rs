//! Harness reports: test-runner style text (a line per failure and an `N passed, M failed`
//! summary), JSON, and JUnit XML for CI systems.

use super::{Check, Report};
use std::fmt::Write;

/// One line per failure (with its SQL and the database's message indented below), then the
/// summary line. With `verbose`, passing checks are listed too.
pub fn human(r: &Report, verbose: bool) -> String {
    let mut s = String::new();
    for c in &r.checks {
        if c.passed && !verbose {
            continue;
        }
        let _ = write!(
            s,
            "{} [{}] {}: {}: expected {}, got {}",
            if c.passed { "ok  " } else { "FAIL" },
            c.mode,
            c.group,
            c.name(),
            c.expected,
            c.actual
        );
        if let Some(p) = &c.policy {
            let _ = write!(s, " ({p})");
        }
        s.push('\n');
        if let Some(d) = &c.detail {
            for line in d.lines() {
                let _ = writeln!(s, "       {line}");
            }
        }
    }
    let _ = writeln!(s, "{} passed, {} failed", r.passed(), r.failed());
    s
}

pub fn json(r: &Report) -> String {
    let checks: Vec<serde_json::Value> = r
        .checks
        .iter()
        .map(|c| {
            serde_json::json!({
                "mode": c.mode, "group": c.group, "table": c.table, "actor": c.actor, "op": c.op,
                "expected": c.expected, "actual": c.actual, "passed": c.passed, "policy": c.policy, "detail": c.detail,
            })
        })
        .collect();
    let v = serde_json::json!({ "passed": r.passed(), "failed": r.failed(), "checks": checks });
    let mut s = serde_json::to_string_pretty(&v).expect("json");
    s.push('\n');
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one `<testsuite>` per grant mode, one `<testcase>` per check.
pub fn junit(r: &Report) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"schemac test\" tests=\"{}\" failures=\"{}\">",
        r.checks.len(),
        r.failed()
    );
    let mut modes: Vec<&str> = r.checks.iter().map(|c| c.mode).collect();
    modes.dedup();
    for mode in modes {
        let cs: Vec<&Check> = r.checks.iter().filter(|c| c.mode == mode).collect();
        let failures = cs.iter().filter(|c| !c.passed).count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{mode}\" tests=\"{}\" failures=\"{failures}\">",
            cs.len()
        );
        for c in cs {
            let _ = write!(
                s,
                "    <testcase classname=\"{}.{}\" name=\"{}\"",
                xml(mode),
                xml(c.group),
                xml(&c.name())
            );
            if c.passed {
                s.push_str("/>\n");
            } else {
                let _ = writeln!(s, ">");
                let _ = writeln!(
                    s,
                    "      <failure message=\"expected {}, got {}\">{}</failure>",
                    xml(&c.expected),
                    xml(&c.actual),
                    xml(c.detail.as_deref().unwrap_or(""))
                );
                let _ = writeln!(s, "    </testcase>");
            }
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    s.push_str("</testsuites>\n");
    s
}
