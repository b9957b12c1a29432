//! The JSON Schema of schema.yaml (`schemac schema --json`, committed as docs/schema.json): every
//! valid schema in the repository passes it, and on generated mutants of them (an unknown key
//! added to each mapping, each value replaced by one of another kind) it agrees with the YAML
//! reader it is derived from: a mutant is refused by the schema exactly when the reader refuses it.

use jsonschema::Validator;
use schema_core::syntax::yaml;
use schema_core::{json_schema, Diagnostics, SourceId};
use schemac_tests::{case_schemas, workspace_root};
use serde_json::{json, Value};
use std::path::PathBuf;

fn validator() -> Validator {
    let doc: Value = serde_json::from_str(&json_schema::document()).expect("the schema is JSON");
    jsonschema::draft7::new(&doc).expect("a valid draft-07 schema")
}

/// Every schema file that must compile: fixtures, the app, diff pairs, layout fixtures.
fn valid_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut v = case_schemas(20);
    v.push(root.join("schema.yaml"));
    for dir in ["tests/diff", "tests/ts/fixtures"] {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "yaml") {
                    v.push(p);
                }
            }
        }
    }
    v.sort();
    v
}

fn reader_accepts(text: &str) -> bool {
    let mut d = Diagnostics::default();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    yaml::parse(SourceId(0), text, &mut d);
    !d.has_errors()
}

/// YAML text of a JSON value in flow style, with plain scalars where YAML reads them back as the
/// same string (so `all` stays a keyword for the reader), quoted otherwise.
fn to_yaml(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let plain = s
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true"
                        | "false"
                        | "null"
                        | "yes"
                        | "no"
                        | "on"
                        | "off"
                        | "y"
                        | "n"
                        | "nan"
                        | "inf"
                );
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).expect("string")
            }
        }
        Value::Array(a) => format!("[{}]", a.iter().map(to_yaml).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", to_yaml(&Value::String(k.clone())), to_yaml(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Paths (object keys / array indexes) of every node of `v`.
fn paths(v: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(json!(i));
                paths(x, at, out);
                at.pop();
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                at.push(json!(k));
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'v>(v: &'v mut Value, path: &[Value]) -> &'v mut Value {
    path.iter().fold(v, |n, step| match step {
        Value::Number(i) => &mut n[i.as_u64().expect("index") as usize],
        Value::String(k) => &mut n[k.as_str()],
        _ => unreachable!("paths hold indexes and keys"),
    })
}

#[test]
fn committed_document_is_current() {
    let path = workspace_root().join("docs/schema.json");
    let committed = std::fs::read_to_string(&path).expect("docs/schema.json");
    assert_eq!(
        committed,
        json_schema::document(),
        "docs/schema.json is stale: run `cargo run -p schema-cli -- schema --json --out docs/schema.json`"
    );
}

#[test]
fn every_valid_schema_passes() {
    let v = validator();
    let files = valid_files();
    assert!(files.len() > 40, "only {} files", files.len());
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let doc = yaml::to_json_value(&text).expect("YAML");
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
        assert!(
            reader_accepts(&to_yaml(&doc)),
            "{}: the flow-style copy no longer reads",
            f.display()
        );
    }
}

#[test]
fn schema_and_reader_agree_on_mutants() {
    let v = validator();
    let mut checked = 0;
    let mut refused = 0;
    let mut disagreements = Vec::new();
    for f in [
        workspace_root().join("schema.yaml"),
        workspace_root().join("tests/ts/fixtures/layout.yaml"),
    ] {
        let whole = yaml::to_json_value(&std::fs::read_to_string(&f).expect("read")).expect("YAML");
        // Mutate one top-level entry at a time (a table, a function, a seed block...), each in a
        // document of its own: the reader's verdict is per node, and small documents keep the
        // thousands of runs fast.
        let mut units = vec![json!({ "target": "supabase" })];
        for (k, v) in whole.as_object().expect("a mapping") {
            match v {
                Value::Object(o) if k != "roles" => {
                    units.extend(o.iter().map(|(n, x)| json!({ k: { n: x } })))
                }
                Value::Array(a) => units.extend(a.iter().map(|x| json!({ k: [x] }))),
                _ => units.push(json!({ k: v })),
            }
        }
        for doc in units {
            assert!(
                v.is_valid(&doc) && reader_accepts(&to_yaml(&doc)),
                "unmutated unit refused: {doc}"
            );
            let mut all = Vec::new();
            paths(&doc, &mut Vec::new(), &mut all);
            for p in &all {
                let original = node_mut(&mut doc.clone(), p).clone();
                let mut replacements = vec![
                    json!(null),
                    json!(true),
                    json!("x"),
                    json!(["x"]),
                    json!({ "x": 1 }),
                ];
                if let Value::Object(_) = original {
                    let mut with_unknown = original.clone();
                    with_unknown["zz_not_a_key"] = json!(1);
                    replacements.push(with_unknown);
                }
                for r in replacements {
                    if r == original || p.is_empty() && !r.is_object() {
                        continue;
                    }
                    let mut m = doc.clone();
                    *node_mut(&mut m, p) = r.clone();
                    let by_schema = v.is_valid(&m);
                    let by_reader = reader_accepts(&to_yaml(&m));
                    checked += 1;
                    refused += usize::from(!by_reader);
                    if by_schema != by_reader {
                        disagreements.push(format!(
                            "{} at {p:?} = {r}: schema {} but reader {}",
                            f.file_name().expect("name").to_string_lossy(),
                            if by_schema { "accepts" } else { "refuses" },
                            if by_reader { "accepts" } else { "refuses" },
                        ));
                    }
                }
            }
        }
    }
    assert!(
        checked > 1000 && refused > 300,
        "{checked} mutants, {refused} refused"
    );
    assert!(
        disagreements.is_empty(),
        "{} of {checked} mutants:\n{}",
        disagreements.len(),
        disagreements[..disagreements.len().min(60)].join("\n")
    );
}

/// The error fixtures the YAML reader already refuses (unknown keys, wrong kinds of values,
/// missing keys) are refused by the schema too.
#[test]
fn reader_errors_in_the_error_fixtures_are_schema_errors() {
    let v = validator();
    let dir = workspace_root().join("tests/errors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/errors")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut refused = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read");
        let Some(doc) = yaml::to_json_value(&text) else {
            continue; // not YAML at all: the language server reports that itself
        };
        if !reader_accepts(&text) {
            refused += 1;
            assert!(
                !v.is_valid(&doc),
                "{}: the reader refuses it, the schema accepts it",
                f.display()
            );
        }
    }
    assert!(
        refused >= 5,
        "only {refused} error fixtures fail in the reader"
    );
}
