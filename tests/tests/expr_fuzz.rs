//! Property-based fuzzing of user expressions with a fixed, bounded budget (CI runs it): random
//! expressions from a grammar of hostile names, strings in every literal syntax, operators,
//! comments and odd whitespace, plus raw character soup. schemac must never panic; whatever it
//! accepts must be read by PostgreSQL exactly as written (the oracle of `expr_oracle`), and its
//! canonical form must be a fixed point. Set SCHEMAC_FUZZ_CASES for a longer local run; failures
//! are kept in tests/oracle/found.txt, which the oracle replays.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRunner};
use schemac_tests::fuzz::{cases, hostile_text};
use schemac_tests::oracle::{compile, dollar, escaped, judge, oracle_db, standard, unicode};
use std::cell::RefCell;

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Keeps the minimal failing expression in tests/oracle/found.txt (part of the oracle's
/// corpus from then on) and fails the test.
fn keep_and_fail(result: Result<(), TestError<(String, bool)>>) {
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, (text, _))) => {
            let path = schemac_tests::workspace_root().join("tests/oracle/found.txt");
            let mut corpus = std::fs::read_to_string(&path).unwrap_or_default();
            corpus.push_str(&format!("{text}\n----\n"));
            let _ = std::fs::write(&path, corpus);
            panic!("{why}\nkept in tests/oracle/found.txt: {text:?}");
        }
        Err(e) => panic!("{e}"),
    }
}

fn literal() -> impl Strategy<Value = String> {
    (hostile_text(0, 8), 0..4u8).prop_map(|(p, k)| match k {
        0 => standard(&p),
        1 => escaped(&p),
        2 => unicode(&p),
        _ => dollar(&p),
    })
}

fn column() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("title".to_string()),
        Just("c ->> 'k'".to_string()),
        Just("\"user\"".to_string()),
        Just("user".to_string()),
        Just("\"select\"".to_string()),
        Just("\"we\"\"ird\"".to_string()),
        Just("\"Mixed\"".to_string()),
        Just("MIXED".to_string()),
        Just("\"a\\\"".to_string()),
        Just("\"-- x\"".to_string()),
        Just("t.a".to_string()),
        Just("owner_id".to_string()),
        Just("auth.uid()".to_string()),
        Just("(select auth.uid())".to_string()),
        Just("current_user".to_string()),
        Just("nope".to_string()),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1".to_string()),
        Just("-1".to_string()),
        Just("1.5e+3".to_string()),
        Just(".5".to_string()),
        Just("1_000".to_string()),
        Just("0x1F".to_string()),
        Just("1.".to_string()),
    ]
}

/// Between two tokens: nothing, spaces, newlines, comments (some hostile).
fn gap() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(" ".to_string()),
        1 => Just("".to_string()),
        1 => Just("\n".to_string()),
        1 => Just("\r".to_string()),
        1 => Just("\t".to_string()),
        1 => hostile_text(0, 8).prop_map(|c| format!("/*{}*/", c.replace("*/", "").replace("/*", ""))),
        1 => hostile_text(0, 8).prop_map(|c| format!("--{}\n", c.replace(['\n', '\r'], ""))),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![column(), literal(), number(), Just("null".to_string())];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                gap(),
                prop::sample::select(vec![
                    "=",
                    "<>",
                    "||",
                    "and",
                    "or",
                    "like",
                    "<",
                    ">=",
                    "@-",
                    "*-",
                    "+",
                    "-",
                    "->>",
                    "is distinct from",
                    "~"
                ]),
                gap(),
                inner.clone()
            )
                .prop_map(|(a, g1, op, g2, b)| format!("{a}{g1}{op}{g2}{b}")),
            (gap(), inner.clone()).prop_map(|(g, a)| format!("({g}{a})")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.clone().prop_map(|a| format!("{a}::text")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("coalesce({a}, {b})")),
            (inner.clone(), literal(), literal())
                .prop_map(|(a, x, y)| format!("{a} in ({x}, {y})")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("case when {a} then {b} else null end")),
            inner.clone().prop_map(|a| format!(
                "exists (select 1 from m where m.doc_id = owner_id and {a})"
            )),
        ]
    })
}

#[test]
fn grammar_expressions_mean_what_they_say() {
    let (_db, client) = oracle_db("expr_fuzz");
    let client = RefCell::new(client);
    let accepted = RefCell::new(0u32);
    let mut r = runner(cases(400));
    let result = r.run(&(expr(), any::<bool>()), |(text, policy)| {
        let mut c = client.borrow_mut();
        match judge(&mut c, &text, policy) {
            Ok(Some(emitted)) => {
                *accepted.borrow_mut() += 1;
                prop_assert_eq!(
                    compile(&emitted, policy),
                    Ok(emitted.clone()),
                    "not a fixed point"
                );
            }
            Ok(None) => {}
            Err(report) => prop_assert!(false, "PostgreSQL reads differently: {}", report),
        }
        Ok(())
    });
    keep_and_fail(result);
    eprintln!("grammar fuzz: {} accepted and proven", accepted.borrow());
}

#[test]
fn character_soup_never_panics_and_never_escapes() {
    let (_db, client) = oracle_db("expr_fuzz_soup");
    let client = RefCell::new(client);
    let mut r = runner(cases(600));
    let soup = "[abt()'\"\\\\$;:.,=<>@*+/\\-\n\r\t EUu&0-9é😀]{0,40}";
    let result = r.run(&(soup, any::<bool>()), |(text, policy)| {
        let mut c = client.borrow_mut();
        if let Err(report) = judge(&mut c, &text, policy) {
            prop_assert!(false, "PostgreSQL reads differently: {}", report);
        }
        Ok(())
    });
    keep_and_fail(result);
}

#[test]
fn huge_and_deep_expressions_are_refused_without_overflow() {
    // Runs on a 2 MiB thread like every test: a flat chain at the token limit must be handled
    // iteratively, and anything longer or deeper is a diagnostic.
    let flat = vec!["a"; 600].join(" + ");
    assert!(compile(&format!("{flat} > 0"), true).is_err());
    let ok_flat = vec!["a"; 300].join(" + ");
    assert!(compile(&format!("{ok_flat} > 0"), true).is_ok());
    let deep = format!("{}a{} > 0", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(compile(&deep, true), Err("S0042".into()));
    let long = format!("b = '{}'", "x".repeat(20_000));
    assert_eq!(compile(&long, true), Err("S0042".into()));
}
