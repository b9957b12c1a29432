// Declared and mapped models compile and expose their constants and SQL.
use schema_macros::{SchemaEnum, Table};

#[derive(SchemaEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRole {
    User,
    Assistant,
    System,
    Tool,
}

#[derive(Table, Debug)]
#[schemac(table = "messages")]
pub struct Message {
    pub id: uuid::Uuid,
    pub conversation_id: uuid::Uuid,
    pub sender_id: Option<uuid::Uuid>,
    pub role: MessageRole,
    pub content: String,
    pub metadata: serde_json::Value,
    pub tokens_used: Option<i32>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Table, Debug)]
#[schemac(
    declare,
    table = "bookmarks",
    index(columns = ["owner_id"]),
    policy(for = "all", owner = "owner_id")
)]
pub struct Bookmark {
    #[schemac(primary_key, identity = "always")]
    pub id: i64,
    #[schemac(
        default = "auth.uid()",
        references = "auth.users",
        on_delete = "cascade"
    )]
    pub owner_id: uuid::Uuid,
    #[schemac(type = "vector(3)")]
    pub embedding: Option<Vec<f32>>,
}

fn main() {
    assert_eq!(Message::TABLE, "messages");
    assert_eq!(Message::COL_TOKENS_USED, "tokens_used");
    assert_eq!(Message::COLUMNS.len(), 8);
    assert!(Message::UPDATE_SQL.ends_with("where \"id\" = $8"));
    assert_eq!(MessageRole::SQL_NAME, "message_role");
    assert_eq!(MessageRole::Tool.to_string(), "tool");
    assert_eq!(
        Bookmark::INSERT_SQL,
        "insert into \"public\".\"bookmarks\" (\"owner_id\", \"embedding\") values ($1, $2)"
    );
}
