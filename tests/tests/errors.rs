//! Bad-schema fixtures (`tests/errors/*.yaml`): each must give the diagnostic its header names, with
//! a position and a help line; the rendered messages are snapshotted, and every code is documented.

use schema_core::{render, Code, Diagnostic, Severity, Sources};
use schemac_tests::workspace_root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a fixture's first line promises: `# error[S0010]: ...` or `# warning[S0022]: ...`.
#[derive(Debug)]
struct Expected {
    severity: Severity,
    code: String,
}

fn expected(name: &str, text: &str) -> Expected {
    let first = text.lines().next().unwrap_or_default();
    let parse = |prefix: &str| {
        first
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once("]: "))
            .map(|(code, _)| code.to_string())
    };
    match (parse("# error["), parse("# warning[")) {
        (Some(code), _) => Expected { severity: Severity::Error, code },
        (_, Some(code)) => Expected { severity: Severity::Warning, code },
        _ => panic!("{name}: the first line must be `# error[SXXXX]: what is wrong` or `# warning[SXXXX]: ...`, found {first:?}"),
    }
}

fn compile(name: &str, text: &str) -> (Sources, schema_core::Compilation) {
    let mut sources = Sources::new();
    sources.add(name, text);
    let c = schema_core::compile(&sources);
    (sources, c)
}

/// Everything a user would see: the human blocks and summary, then the gcc lines.
fn rendered(sources: &Sources, diags: &[Diagnostic]) -> String {
    let mut s = String::from("--- human\n");
    for d in diags {
        s.push_str(&render::human(d, sources));
        s.push('\n');
    }
    s.push_str(
        render::summary(diags)
            .as_deref()
            .unwrap_or("(no summary)\n"),
    );
    s.push_str("--- gcc\n");
    for d in diags {
        s.push_str(&render::gcc(d, sources));
    }
    s
}

fn check_fixture(path: &Path, codes: &mut BTreeMap<String, Vec<String>>) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("utf-8 file name")
        .to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = expected(&name, &text);
    let (sources, c) = compile(&name, &text);
    let diags = &c.diagnostics;
    assert!(
        !diags.is_empty(),
        "{name}: no diagnostic at all, expected {}",
        want.code
    );
    let errors: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    match want.severity {
        Severity::Warning => {
            assert!(
                errors.is_empty(),
                "{name}: a warnings-only fixture produced errors: {errors:#?}"
            );
            assert!(c.ir.is_some(), "{name}: warnings must not stop compilation");
        }
        Severity::Error => {
            assert!(
                !errors.is_empty(),
                "{name}: expected an error, got only {diags:#?}"
            );
            assert!(
                c.ir.is_none(),
                "{name}: a schema with errors must not produce a model"
            );
        }
    }
    // One problem per fixture: exactly one diagnostic, of the promised code and severity.
    assert_eq!(
        diags.len(),
        1,
        "{name}: expected exactly one diagnostic, got {diags:#?}"
    );
    let d = &diags[0];
    assert_eq!(d.code.id(), want.code, "{name}: wrong code: {d:#?}");
    assert_eq!(d.severity, want.severity, "{name}: wrong severity: {d:#?}");
    for d in diags {
        assert!(
            d.span.line > 0 && d.span.col > 0,
            "{name}: diagnostic without a position: {d:#?}"
        );
        let help = d.help.as_deref().unwrap_or_default();
        assert!(
            !help.trim().is_empty(),
            "{name}: diagnostic without a help line: {d:#?}"
        );
        assert!(
            sources.line_text(d.span.source, d.span.line).is_some(),
            "{name}: line {} is past the end of the file",
            d.span.line
        );
        assert!(!d.message.trim().is_empty(), "{name}: empty message");
        codes
            .entry(d.code.id().to_string())
            .or_default()
            .push(name.clone());
    }
    let out = rendered(&sources, diags);
    assert!(
        out.contains(&format!("{name}:{}:{}: ", d.span.line, d.span.col)),
        "{name}: gcc output lacks file:line:col:\n{out}"
    );
    insta::assert_snapshot!("diagnostics", out);
}

#[test]
fn fixtures() {
    let mut codes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut count = 0;
    insta::glob!("../errors", "*.yaml", |path| {
        count += 1;
        check_fixture(path, &mut codes);
    });
    assert!(count >= 30, "only {count} fixtures in tests/errors");
    let distinct: BTreeSet<&String> = codes.keys().collect();
    assert!(
        distinct.len() >= 25,
        "fixtures cover only {} distinct codes: {distinct:?}",
        distinct.len()
    );
    let known: BTreeSet<&str> = Code::ALL.iter().map(|c| c.id()).collect();
    for code in &distinct {
        assert!(known.contains(code.as_str()), "unknown code {code}");
    }
}

/// The fixture checks themselves must be able to fail: a valid schema has no diagnostics, so it
/// would fail `fixtures`; a fixture whose header names the wrong code is caught.
#[test]
fn fixture_checks_can_fail() {
    let valid = "# error[S0010]: nothing is wrong here\ntables:\n  notes:\n    columns:\n      id: { type: uuid, primary_key: true }\n";
    let (_, c) = compile("valid.yaml", valid);
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let bad = "# error[S0010]: the type is wrong, but the header claims an unknown column\ntables:\n  notes:\n    columns:\n      id: { type: uuidd, primary_key: true }\n";
    let want = expected("bad.yaml", bad);
    let (_, c) = compile("bad.yaml", bad);
    assert_eq!(c.diagnostics.len(), 1);
    assert_ne!(c.diagnostics[0].code.id(), want.code);
    assert_eq!(c.diagnostics[0].code, Code::UnknownType);
}

/// The JSON rendering carries the same code and position as the human one.
#[test]
fn json_rendering_matches() {
    let path = workspace_root().join("tests/errors/policy_unknown_column.yaml");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let (sources, c) = compile("policy_unknown_column.yaml", &text);
    let json: serde_json::Value =
        serde_json::from_str(&render::json(&c.diagnostics, &sources)).expect("valid JSON");
    let first = &json[0];
    assert_eq!(first["code"], "S0010");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], "policy_unknown_column.yaml");
    assert_eq!(first["line"], c.diagnostics[0].span.line);
    assert_eq!(first["column"], c.diagnostics[0].span.col);
    assert!(
        first["help"]
            .as_str()
            .is_some_and(|h| h.contains("user_id")),
        "{first}"
    );
}

/// `docs/diagnostics.md` has a `## <id>` section for every code, mentioning its title, and no
/// section for a code that does not exist.
#[test]
fn every_code_is_documented() {
    let path = workspace_root().join("docs/diagnostics.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sections: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            current = Some(h.trim().to_string());
            assert!(
                sections
                    .insert(h.trim().to_string(), String::new())
                    .is_none(),
                "section `{h}` appears twice"
            );
        } else if let Some(c) = &current {
            let body = sections.get_mut(c).expect("current section");
            body.push_str(line);
            body.push('\n');
        }
    }
    let mut missing = Vec::new();
    for code in Code::ALL {
        match sections.get(code.id()) {
            None => missing.push(code.id()),
            Some(body) => {
                let flat = body
                    .replace(['`', '*'], "")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase();
                let title = code.title().to_lowercase();
                assert!(
                    flat.contains(&title),
                    "section {} does not mention its title {:?}",
                    code.id(),
                    code.title()
                );
                assert!(
                    body.contains("```yaml"),
                    "section {} has no YAML example",
                    code.id()
                );
                assert!(
                    body.contains("Fix:"),
                    "section {} does not say how to fix it",
                    code.id()
                );
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/diagnostics.md has no `## <id>` section for {missing:?}"
    );
    let known: BTreeSet<&str> = Code::ALL.iter().map(|c| c.id()).collect();
    for s in sections.keys() {
        assert!(
            known.contains(s.as_str()),
            "docs/diagnostics.md documents `{s}`, which is not a code in Code::ALL"
        );
    }
}
