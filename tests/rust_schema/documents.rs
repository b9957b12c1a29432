//! The seed schema's document tables (`documents`, `document_chunks`, `document_conversation_links`),
//! declared in Rust.

use super::enums::DocumentStatus;
use chrono::{DateTime, Utc};
use schema_macros::Table;
use uuid::Uuid;

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "documents",
    realtime,
    timestamps,
    policy(name = "owners have full access", for = "all", owner = "user_id"),
    policy(
        name = "members of a linked conversation read",
        for = "select",
        using = "id = any (array(select private.shared_document_ids()))",
    ),
    policy(name = "admins read", for = "select", role = "admin"),
    grant(
        role = "authenticated",
        update = ["title", "description", "content", "file_path", "file_type", "file_size", "is_archived"],
    )
)]
pub struct Document {
    #[schemac(primary_key, default = "gen_random_uuid()")]
    pub id: Uuid,
    #[schemac(
        default = "auth.uid()",
        references = "auth.users",
        on_delete = "cascade"
    )]
    pub user_id: Uuid,
    #[schemac(check = "char_length(title) between 1 and 300")]
    pub title: String,
    pub description: Option<String>,
    pub content: Option<String>,
    pub file_path: Option<String>,
    pub file_type: Option<String>,
    #[schemac(check = "file_size >= 0")]
    pub file_size: Option<i64>,
    #[schemac(default = "'pending'")]
    pub status: DocumentStatus,
    #[schemac(default = "false")]
    pub is_archived: bool,
}

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "document_chunks",
    unique = ["document_id", "chunk_index"],
    index(
        columns = ["embedding"],
        using = "hnsw",
        opclass = "vector_cosine_ops",
        with(m = 16, ef_construction = 64),
    ),
    policy(name = "readable with the document", for = "select", parent = "document_id"),
    policy(
        name = "the document owner writes chunks",
        for = ["insert", "update", "delete"],
        parent(column = "document_id", owner = "user_id"),
    )
)]
pub struct DocumentChunk {
    #[schemac(primary_key, default = "gen_random_uuid()")]
    pub id: Uuid,
    #[schemac(references = "documents", on_delete = "cascade")]
    pub document_id: Uuid,
    #[schemac(check = "chunk_index >= 0")]
    pub chunk_index: i32,
    pub content: String,
    #[schemac(type = "vector(384)")]
    pub embedding: Option<Vec<f32>>,
    #[schemac(default = "'{}'::jsonb")]
    pub metadata: serde_json::Value,
    #[schemac(default = "now()")]
    pub created_at: DateTime<Utc>,
}

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "document_conversation_links",
    primary_key = ["document_id", "conversation_id"],
    policy(name = "readable with the conversation", for = "select", parent = "conversation_id"),
    policy(
        name = "users link documents and conversations they both own",
        for = ["insert", "delete"],
        parent(column = "document_id", owner = "user_id"),
        check = "conversation_id in (select c.id from conversations c where c.user_id = auth.uid())",
        using = "conversation_id in (select c.id from conversations c where c.user_id = auth.uid())",
    )
)]
pub struct DocumentConversationLink {
    #[schemac(references = "documents", on_delete = "cascade")]
    pub document_id: Uuid,
    #[schemac(references = "conversations", on_delete = "cascade")]
    pub conversation_id: Uuid,
    #[schemac(default = "now()")]
    pub created_at: DateTime<Utc>,
}
