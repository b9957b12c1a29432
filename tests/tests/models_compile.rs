//! Compiles the committed `generated/models.rs` (by `include!`), checks it is what `schema.yaml`
//! generates today, and uses its types: enums, rows, insert/update structs and the `pg` types.

#[allow(dead_code)]
mod models {
    include!("../../generated/models.rs");
}

use models::*;
use postgres_types::private::BytesMut;
use postgres_types::{FromSql, IsNull, Kind, ToSql, Type};
use schema_core::emit::EmitOptions;
use schema_core::ir;
use schemac_tests::workspace_root;

fn app_schema() -> ir::Schema {
    let path = workspace_root().join("schema.yaml");
    let text = std::fs::read_to_string(&path).expect("read schema.yaml");
    let mut sources = schema_core::Sources::new();
    sources.add("schema.yaml", text);
    let compiled = schema_core::compile(&sources);
    assert!(
        !compiled.has_errors(),
        "schema.yaml does not compile: {:#?}",
        compiled.diagnostics
    );
    compiled.ir.expect("no errors, so a model")
}

/// Every table struct of the app schema, in `schema.tables` order: (TABLE, SCHEMA, COLUMNS, PRIMARY_KEY).
type TableConsts = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);
const TABLES: &[TableConsts] = &[
    (
        ApiKeys::TABLE,
        ApiKeys::SCHEMA,
        ApiKeys::COLUMNS,
        ApiKeys::PRIMARY_KEY,
    ),
    (
        ApiUsage::TABLE,
        ApiUsage::SCHEMA,
        ApiUsage::COLUMNS,
        ApiUsage::PRIMARY_KEY,
    ),
    (
        Conversations::TABLE,
        Conversations::SCHEMA,
        Conversations::COLUMNS,
        Conversations::PRIMARY_KEY,
    ),
    (
        ConversationMembers::TABLE,
        ConversationMembers::SCHEMA,
        ConversationMembers::COLUMNS,
        ConversationMembers::PRIMARY_KEY,
    ),
    (
        Documents::TABLE,
        Documents::SCHEMA,
        Documents::COLUMNS,
        Documents::PRIMARY_KEY,
    ),
    (
        DocumentChunks::TABLE,
        DocumentChunks::SCHEMA,
        DocumentChunks::COLUMNS,
        DocumentChunks::PRIMARY_KEY,
    ),
    (
        DocumentConversationLinks::TABLE,
        DocumentConversationLinks::SCHEMA,
        DocumentConversationLinks::COLUMNS,
        DocumentConversationLinks::PRIMARY_KEY,
    ),
    (
        Messages::TABLE,
        Messages::SCHEMA,
        Messages::COLUMNS,
        Messages::PRIMARY_KEY,
    ),
    (
        Profiles::TABLE,
        Profiles::SCHEMA,
        Profiles::COLUMNS,
        Profiles::PRIMARY_KEY,
    ),
    (
        UserSettings::TABLE,
        UserSettings::SCHEMA,
        UserSettings::COLUMNS,
        UserSettings::PRIMARY_KEY,
    ),
];

#[test]
fn committed_models_match_the_schema() {
    let expected = schema_core::emit::rust::models(&app_schema(), &EmitOptions::default());
    let committed = std::fs::read_to_string(workspace_root().join("generated/models.rs"))
        .expect("read models.rs");
    assert!(
        committed == expected,
        "generated/models.rs is stale: run `cargo run -p schema-cli -- generate`\n{}",
        similar::TextDiff::from_lines(&committed, &expected)
            .unified_diff()
            .header("committed", "schema.yaml")
    );
}

#[test]
fn table_consts_match_the_schema() {
    let schema = app_schema();
    let tables: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
    let ours: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
    assert_eq!(ours, tables, "one struct per table, in schema order");
    for (name, schema_name, columns, primary_key) in TABLES {
        let table = schema
            .tables
            .iter()
            .find(|t| t.name == *name)
            .expect("listed above");
        let expected: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(*columns, expected.as_slice(), "columns of {name}");
        assert_eq!(
            *primary_key,
            table.primary_key.as_slice(),
            "primary key of {name}"
        );
        assert_eq!(*schema_name, "public");
    }
    assert_eq!(Profiles::COL_AVATAR_URL, "avatar_url");
    assert_eq!(ApiUsage::COL_TOKENS_USED, "tokens_used");
}

#[test]
fn enums_match_the_schema() {
    let schema = app_schema();
    let ours: Vec<(&str, Vec<&str>)> = vec![
        (
            "app_role",
            AppRole::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "message_role",
            MessageRole::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "document_status",
            DocumentStatus::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "member_role",
            MemberRole::ALL.iter().map(|v| v.as_str()).collect(),
        ),
    ];
    let expected: Vec<(&str, Vec<&str>)> = schema
        .enums
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.values.iter().map(|v| v.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(ours, expected);
}

#[test]
fn enums_serialize_as_their_values() {
    assert_eq!(AppRole::ALL, &[AppRole::User, AppRole::Admin]);
    assert_eq!(serde_json::to_string(&AppRole::Admin).unwrap(), "\"admin\"");
    assert_eq!(
        serde_json::to_string(&MessageRole::Assistant).unwrap(),
        "\"assistant\""
    );
    assert_eq!(
        serde_json::from_str::<DocumentStatus>("\"processing\"").unwrap(),
        DocumentStatus::Processing
    );
    assert!(serde_json::from_str::<DocumentStatus>("\"Processing\"").is_err());
    for v in MessageRole::ALL {
        let json = serde_json::to_string(v).unwrap();
        assert_eq!(json, format!("\"{}\"", v.as_str()));
        assert_eq!(&serde_json::from_str::<MessageRole>(&json).unwrap(), v);
        assert_eq!(v.to_string(), v.as_str());
    }
    assert_eq!(MemberRole::Editor.as_str(), "editor");
}

#[test]
fn enums_read_and_write_postgres_values() {
    let values = MessageRole::ALL
        .iter()
        .map(|v| v.as_str().to_string())
        .collect();
    let ty = Type::new(
        "message_role".into(),
        90_001,
        Kind::Enum(values),
        "public".into(),
    );
    assert!(<MessageRole as FromSql>::accepts(&ty));
    assert!(<MessageRole as ToSql>::accepts(&ty));
    let other = Type::new(
        "app_role".into(),
        90_002,
        Kind::Enum(vec!["user".into(), "admin".into()]),
        "public".into(),
    );
    assert!(
        !<MessageRole as FromSql>::accepts(&other),
        "a different enum type is refused"
    );
    assert_eq!(
        MessageRole::from_sql(&ty, b"tool").unwrap(),
        MessageRole::Tool
    );
    assert!(MessageRole::from_sql(&ty, b"robot").is_err());
    let mut buf = BytesMut::new();
    MessageRole::System.to_sql(&ty, &mut buf).unwrap();
    assert_eq!(&buf[..], b"system");
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fn at(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).expect("valid time")
}

#[test]
fn rows_serialize_with_column_names() {
    let profile = Profiles {
        id: uuid(1),
        email: Some("alice@example.com".into()),
        username: "alice".into(),
        full_name: None,
        avatar_url: None,
        role: AppRole::Admin,
        created_at: at(1_700_000_000),
        updated_at: at(1_700_000_100),
    };
    let json = serde_json::to_value(&profile).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    let mut columns = Profiles::COLUMNS.to_vec();
    columns.sort_unstable();
    assert_eq!(keys, columns, "serde_json sorts object keys");
    assert_eq!(json["role"], "admin");
    assert_eq!(json["full_name"], serde_json::Value::Null);
    let back: Profiles = serde_json::from_value(json).unwrap();
    assert_eq!(back, profile);

    let chunk = DocumentChunks {
        id: uuid(2),
        document_id: uuid(3),
        chunk_index: 0,
        content: "1. Migrations.".into(),
        embedding: Some(pgvector::Vector::from(vec![0.25; 384])),
        metadata: serde_json::json!({ "page": 1 }),
        created_at: at(0),
    };
    let back: DocumentChunks =
        serde_json::from_str(&serde_json::to_string(&chunk).unwrap()).unwrap();
    assert_eq!(back, chunk);
    assert_eq!(back.embedding.unwrap().as_slice().len(), 384);
}

fn names(values: &[(&'static str, pg::Param<'_>)]) -> Vec<&'static str> {
    values.iter().map(|(c, _)| *c).collect()
}

#[test]
fn inserts_set_required_and_given_columns() {
    let mut message = NewMessages {
        id: None,
        conversation_id: uuid(10),
        sender_id: None,
        role: None,
        content: "hello".into(),
        metadata: None,
        tokens_used: None,
        created_at: None,
    };
    assert_eq!(names(&message.values()), ["conversation_id", "content"]);
    message.role = Some(MessageRole::Assistant);
    message.tokens_used = Some(42);
    assert_eq!(
        names(&message.values()),
        ["conversation_id", "role", "content", "tokens_used"]
    );
    let json = serde_json::to_value(&message).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "conversation_id": uuid(10), "role": "assistant", "content": "hello", "tokens_used": 42 })
    );
    assert_eq!(
        serde_json::from_value::<NewMessages>(json).unwrap(),
        message
    );

    // `api_usage.id` is `identity always` and `tokens_used` is generated: never inserted.
    let usage = NewApiUsage {
        user_id: uuid(1),
        api_key_id: Some(uuid(2)),
        model: "m".into(),
        prompt_tokens: Some(1),
        completion_tokens: Some(2),
        created_at: Some(at(0)),
    };
    let expected: Vec<&str> = ApiUsage::COLUMNS
        .iter()
        .copied()
        .filter(|c| *c != "id" && *c != "tokens_used")
        .collect();
    assert_eq!(names(&usage.values()), expected);

    // A parameter is the value itself, ready for `client.execute`.
    let values = usage.values();
    let mut buf = BytesMut::new();
    assert!(matches!(
        values[2].1.to_sql_checked(&Type::TEXT, &mut buf).unwrap(),
        IsNull::No
    ));
    assert_eq!(&buf[..], b"m");
}

#[test]
fn updates_tell_unchanged_from_null() {
    assert!(ProfilesUpdate::default().values().is_empty());
    let update = ProfilesUpdate {
        full_name: Some(None),
        username: Some("bob".into()),
        ..Default::default()
    };
    assert_eq!(names(&update.values()), ["username", "full_name"]);
    let values = update.values();
    let mut buf = BytesMut::new();
    assert!(
        matches!(
            values[1].1.to_sql_checked(&Type::TEXT, &mut buf).unwrap(),
            IsNull::Yes
        ),
        "set to NULL"
    );

    let json = serde_json::to_value(&update).unwrap();
    assert_eq!(
        json,
        serde_json::json!({ "username": "bob", "full_name": null })
    );
    assert_eq!(
        serde_json::from_value::<ProfilesUpdate>(json).unwrap(),
        update
    );
    let missing: ProfilesUpdate = serde_json::from_str(r#"{"avatar_url": "a.png"}"#).unwrap();
    assert_eq!(
        missing.full_name, None,
        "a missing field leaves the column alone"
    );
    assert_eq!(missing.avatar_url, Some(Some("a.png".into())));
    assert_eq!(
        serde_json::from_str::<ProfilesUpdate>(r#"{"avatar_url": null}"#)
            .unwrap()
            .avatar_url,
        Some(None)
    );
    // Primary key columns are not in the update struct; its only candidate columns are these.
    let all = ProfilesUpdate {
        email: Some(None),
        username: Some(String::new()),
        full_name: Some(None),
        avatar_url: Some(None),
        role: Some(AppRole::User),
        created_at: Some(at(0)),
        updated_at: Some(at(0)),
    };
    assert_eq!(names(&all.values()), &Profiles::COLUMNS[1..]);
}

fn write<T: ToSql>(value: &T, ty: &Type) -> Vec<u8> {
    let mut buf = BytesMut::new();
    assert!(matches!(
        value.to_sql_checked(ty, &mut buf).unwrap(),
        IsNull::No
    ));
    buf.to_vec()
}

/// PostgreSQL's binary `numeric`: ndigits, weight, sign, dscale, then base-10000 digits.
fn numeric_bytes(weight: i16, sign: u16, dscale: u16, digits: &[i16]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

#[test]
fn numeric_binary_format() {
    let read = |raw: &[u8]| pg::Numeric::from_sql(&Type::NUMERIC, raw).unwrap().0;
    // What PostgreSQL sends for these values (normalised: no leading or trailing zero digits).
    assert_eq!(read(&numeric_bytes(0, 0, 0, &[])), "0");
    assert_eq!(read(&numeric_bytes(0, 0, 2, &[])), "0.00");
    assert_eq!(read(&numeric_bytes(0, 0, 2, &[123, 4500])), "123.45");
    assert_eq!(read(&numeric_bytes(0, 0x4000, 2, &[123, 4500])), "-123.45");
    assert_eq!(read(&numeric_bytes(2, 0, 0, &[1])), "100000000");
    assert_eq!(read(&numeric_bytes(1, 0, 1, &[1, 2, 3000])), "10002.3");
    assert_eq!(read(&numeric_bytes(-1, 0, 3, &[10])), "0.001");
    assert_eq!(read(&numeric_bytes(-2, 0, 8, &[1234])), "0.00001234");
    assert_eq!(read(&numeric_bytes(0, 0xC000, 0, &[])), "NaN");
    assert_eq!(read(&numeric_bytes(0, 0xD000, 0, &[])), "Infinity");
    assert_eq!(read(&numeric_bytes(0, 0xF000, 0, &[])), "-Infinity");
    assert!(pg::Numeric::from_sql(&Type::NUMERIC, &numeric_bytes(0, 0, 0, &[10_000])).is_err());
    assert!(pg::Numeric::from_sql(&Type::NUMERIC, &numeric_bytes(0, 0x1234, 0, &[1])).is_err());
    assert!(
        pg::Numeric::from_sql(&Type::NUMERIC, &[0, 1, 0, 0]).is_err(),
        "truncated"
    );
    assert!(<pg::Numeric as FromSql>::accepts(&Type::NUMERIC));
    assert!(!<pg::Numeric as FromSql>::accepts(&Type::TEXT));

    let num = |s: &str| pg::Numeric(s.into());
    assert_eq!(
        write(&num("123.45"), &Type::NUMERIC),
        numeric_bytes(0, 0, 2, &[123, 4500])
    );
    assert_eq!(
        write(&num("-0123.450"), &Type::NUMERIC),
        numeric_bytes(0, 0x4000, 3, &[123, 4500])
    );
    assert_eq!(
        write(&num("100000000"), &Type::NUMERIC),
        numeric_bytes(2, 0, 0, &[1])
    );
    assert_eq!(
        write(&num("0.001"), &Type::NUMERIC),
        numeric_bytes(-1, 0, 3, &[10])
    );
    assert_eq!(
        write(&num("0.00"), &Type::NUMERIC),
        numeric_bytes(0, 0, 2, &[])
    );
    assert_eq!(
        write(&num("NaN"), &Type::NUMERIC),
        numeric_bytes(0, 0xC000, 0, &[])
    );
    assert_eq!(
        write(&num("-Infinity"), &Type::NUMERIC),
        numeric_bytes(0, 0xF000, 0, &[])
    );
    for bad in ["", "-", ".", "1e5", "12,5", "1.2.3", "abc", "--1"] {
        let mut buf = BytesMut::new();
        assert!(
            num(bad).to_sql_checked(&Type::NUMERIC, &mut buf).is_err(),
            "{bad:?} is refused"
        );
    }
    for text in [
        "0",
        "1",
        "-1",
        "9999",
        "10000",
        "12345678.9",
        "0.5",
        "-0.000001",
        "3.14159265358979323846",
        "1000.0001",
    ] {
        assert_eq!(
            read(&write(&num(text), &Type::NUMERIC)),
            text,
            "round trip of {text}"
        );
    }
    assert_eq!(read(&write(&num("+007.50"), &Type::NUMERIC)), "7.50");
    assert_eq!(serde_json::to_string(&num("1.50")).unwrap(), "\"1.50\"");
}

#[test]
fn interval_binary_format() {
    let i = pg::Interval {
        months: 14,
        days: -3,
        microseconds: 3_600_000_001,
    };
    let bytes = write(&i, &Type::INTERVAL);
    let mut expected = 3_600_000_001i64.to_be_bytes().to_vec();
    expected.extend_from_slice(&(-3i32).to_be_bytes());
    expected.extend_from_slice(&14i32.to_be_bytes());
    assert_eq!(bytes, expected, "microseconds, days, months");
    assert_eq!(pg::Interval::from_sql(&Type::INTERVAL, &bytes).unwrap(), i);
    assert!(pg::Interval::from_sql(&Type::INTERVAL, &bytes[..15]).is_err());
    assert!(!<pg::Interval as ToSql>::accepts(&Type::INT8));
}

#[test]
fn tsvector_binary_format() {
    let v = pg::TsVector {
        lexemes: vec![
            pg::TsLexeme {
                word: "cat".into(),
                positions: vec![
                    pg::TsPosition {
                        position: 1,
                        weight: 'A',
                    },
                    pg::TsPosition {
                        position: 5,
                        weight: 'D',
                    },
                ],
            },
            pg::TsLexeme {
                word: "fat".into(),
                positions: vec![],
            },
        ],
    };
    let bytes = write(&v, &Type::TS_VECTOR);
    let mut expected = 2i32.to_be_bytes().to_vec();
    expected.extend_from_slice(b"cat\0");
    expected.extend_from_slice(&2u16.to_be_bytes());
    expected.extend_from_slice(&(0xC000u16 | 1).to_be_bytes());
    expected.extend_from_slice(&5u16.to_be_bytes());
    expected.extend_from_slice(b"fat\0");
    expected.extend_from_slice(&0u16.to_be_bytes());
    assert_eq!(bytes, expected);
    assert_eq!(pg::TsVector::from_sql(&Type::TS_VECTOR, &bytes).unwrap(), v);
    assert!(pg::TsVector::from_sql(&Type::TS_VECTOR, &bytes[..bytes.len() - 1]).is_err());
    let bad = pg::TsVector {
        lexemes: vec![pg::TsLexeme {
            word: "x".into(),
            positions: vec![pg::TsPosition {
                position: 1,
                weight: 'E',
            }],
        }],
    };
    let mut buf = BytesMut::new();
    assert!(bad.to_sql_checked(&Type::TS_VECTOR, &mut buf).is_err());
}

/// Every row struct reads from a `postgres::Row` (exercised against a live database elsewhere).
#[test]
fn rows_convert_from_postgres_rows() {
    fn from_row<T: for<'a> TryFrom<&'a postgres::Row, Error = postgres::Error>>() -> &'static str {
        std::any::type_name::<T>()
    }
    let names = [
        from_row::<ApiKeys>(),
        from_row::<ApiUsage>(),
        from_row::<Conversations>(),
        from_row::<ConversationMembers>(),
        from_row::<Documents>(),
        from_row::<DocumentChunks>(),
        from_row::<DocumentConversationLinks>(),
        from_row::<Messages>(),
        from_row::<Profiles>(),
        from_row::<UserSettings>(),
    ];
    assert!(names.iter().all(|n| n.contains("::models::")), "{names:?}");
}
