//! PostgreSQL is the oracle for what schemac's expressions mean: every expression of the corpus
//! (tests/oracle/expressions.txt, plus hostile strings generated in every literal syntax) that
//! schemac accepts is created by PostgreSQL twice, as the user wrote it and as schemac emits it,
//! and the two must deparse to the same text and be exactly one expression.

use schemac_tests::oracle::{compile, corpus, oracle_db, prove};

#[test]
fn postgres_reads_emitted_expressions_as_written() {
    let corpus = corpus();
    assert!(corpus.len() >= 300, "corpus has {} entries", corpus.len());
    let (_db, mut client) = oracle_db("expr_oracle");
    let mut report = String::new();
    let mut failures = Vec::new();
    let mut accepted = 0;
    for (i, text) in corpus.iter().enumerate() {
        for policy in [false, true] {
            let label = if policy { "policy" } else { "plain" };
            let verdict = compile(text, policy);
            report.push_str(&format!(
                "{i:03} {label}: {}\n",
                match &verdict {
                    Ok(sql) => format!("ok {}", sql.replace('\n', "\\n").replace('\r', "\\r")),
                    Err(codes) => format!("refused {codes}"),
                }
            ));
            if let Ok(emitted) = &verdict {
                match prove(&mut client, text, emitted) {
                    Ok(_) => accepted += 1,
                    Err(e) => failures.push(format!("#{i} ({label}) {e}")),
                }
            }
        }
    }
    eprintln!(
        "oracle: {} expressions, {accepted} accepted and read identically by PostgreSQL (of {} tries), {} mismatches",
        corpus.len(),
        corpus.len() * 2,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "PostgreSQL reads these differently:\n{}",
        failures.join("\n")
    );
    insta::assert_snapshot!("expr_oracle_verdicts", report);
}
