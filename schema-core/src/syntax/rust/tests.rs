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

#[test]
fn helps_use_attribute_syntax() {
    assert_eq!(
        check::rust_help(
            "make it nullable (`type: ...?` or `nullable: true`), or add `references: table`"
        ),
        "make it nullable (`type = \"...\"` or `nullable`), or add `references = \"table\"`"
    );
    assert_eq!(
        check::rust_help("e.g. `with: { m: 16 }` or `columns: [a, b]`"),
        "e.g. `with: { m: 16 }` or `columns = [a, b]`"
    );
    assert!(
        check::rust_help("add `primary_key: true` to a column (e.g. ...)")
            .contains("#[schemac(primary_key)]")
    );
}

const SRC: &str = r#"
mod inner {
    #[derive(SchemaEnum)]
    #[schemac(declare, name = "state")]
    enum TicketState { Open, #[schemac(rename = "in-progress")] InProgress }

    #[derive(Debug, schema_macros::Table)]
    #[schemac(declare, table = "tickets", realtime(replica_identity = "full"),
              index(columns = ["emb"], using = "hnsw", opclass = "vector_cosine_ops", with(m = 16)),
              policy(name = "mine", for = ["select", "update"], owner = "owner_id"),
              grant(role = "authenticated", select(except = ["secret"]), update = "none"))]
    struct Ticket {
        #[schemac(primary_key, identity = "always")]
        id: i64,
        owner_id: uuid::Uuid,
        state: TicketState,
        tags: Vec<String>,
        #[schemac(type = "vector(3)")]
        emb: Option<Vec<f32>>,
        secret: String,
        #[schemac(skip)]
        cache: u8,
    }
}

#[derive(Table)]
#[schemac(table = "messages")]
struct Mapped { id: uuid::Uuid }
"#;

#[test]
fn reads_declarations_and_skips_mappings() {
    let (f, d) = parse(SRC);
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(f.tables.len(), 1, "the mapped struct is not a declaration");
    assert_eq!(f.enums.len(), 1);
    let e = &f.enums[0];
    assert_eq!(e.name.value, "state");
    let values: Vec<&str> = e.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["open", "in-progress"]);
    let t = &f.tables[0];
    assert_eq!(t.name.value, "tickets");
    let cols: Vec<(&str, &str, bool)> = t
        .columns
        .iter()
        .map(|c| {
            (
                c.name.value.as_str(),
                c.ty.value.as_str(),
                c.nullable.as_ref().is_some_and(|n| n.value),
            )
        })
        .collect();
    assert_eq!(
        cols,
        [
            ("id", "bigint", false),
            ("owner_id", "uuid", false),
            ("state", "state", false),
            ("tags", "text[]", false),
            ("emb", "vector(3)", true),
            ("secret", "text", false),
        ]
    );
    assert_eq!(
        t.columns[0].identity.as_ref().map(|i| i.value.as_str()),
        Some("always")
    );
    assert!(t
        .realtime
        .as_ref()
        .is_some_and(|r| r.enabled && r.replica_identity_full));
    let ix = &t.indexes[0];
    assert_eq!(ix.using.as_ref().map(|u| u.value.as_str()), Some("hnsw"));
    assert_eq!(
        ix.with
            .iter()
            .map(|(k, v)| (k.value.as_str(), v.value.as_str()))
            .collect::<Vec<_>>(),
        [("m", "16")]
    );
    let p = &t.policies[0];
    assert_eq!(
        p.commands
            .iter()
            .map(|c| c.value.as_str())
            .collect::<Vec<_>>(),
        ["select", "update"]
    );
    assert_eq!(p.path, "tables.tickets.policies[0]");
    assert_eq!(t.grants.len(), 2);
    assert!(matches!(&t.grants[0].columns, GrantColumns::Except(c) if c[0].value == "secret"));
    assert!(matches!(t.grants[1].columns, GrantColumns::None));
    // Spans are file positions: `tickets` is on line 8 of SRC, after `table = "`.
    assert_eq!((t.name.span.line, t.name.span.col), (8, 33));
}

#[test]
fn one_bad_attribute_does_not_hide_the_others() {
    let src = r#"
#[derive(Table)]
#[schemac(declare, table = "t", index(columns = ["a"], usin = "gin"))]
struct T {
    #[schemac(primary_key, default = )]
    id: uuid::Uuid,
    #[schemac(refrences = "x")]
    a: Option<Option<i32>>,
}
"#;
    let (_, d) = parse(src);
    let msgs: Vec<String> = d
        .iter()
        .map(|d| format!("{} {}", d.code.id(), d.message))
        .collect();
    assert_eq!(msgs.len(), 4, "{msgs:#?}");
    assert!(
        msgs[0].contains("S0002 unknown key `usin` in `index(...)`"),
        "{msgs:#?}"
    );
    assert!(
        msgs[1].starts_with("S0003 malformed `#[schemac(...)]` attribute"),
        "{msgs:#?}"
    );
    assert!(msgs[2].contains("unknown key `refrences`"), "{msgs:#?}");
    assert!(
        msgs[3].contains("`Option` inside a type is not a column type"),
        "{msgs:#?}"
    );
    assert_eq!(
        d[2].help
            .as_deref()
            .map(|h| h.starts_with("did you mean `references`?")),
        Some(true)
    );
}
