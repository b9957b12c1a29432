//! Unit tests of the Rust front end: the attribute grammar, type inference and spans.

use super::*;

fn parse(src: &str) -> (File, Vec<Diagnostic>) {
    let mut d = Diagnostics::default();
    let f = parse_files(&[(SourceId(0), src)], &mut d);
    (f, d.into_sorted())
}

#[test]
fn snake_case_names() {
    assert_eq!(snake_case("UserNotes"), "user_notes");
    assert_eq!(snake_case("APIKey"), "api_key");
    assert_eq!(snake_case("Message2Role"), "message2_role");
    assert_eq!(snake_case("r#type"), "type");
}
