//! Compile-fail tests of the derives: each `tests/ui/*.rs` misuses them once and its pinned
//! `.stderr` is the one error rustc prints (`TRYBUILD=overwrite` re-pins after a deliberate change);
//! `tests/ui/pass/*.rs` must build and run.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
