//! The seed schema's chat tables (`conversations`, `conversation_members`, `messages`), declared in Rust.

use super::enums::{MemberRole, MessageRole};
use chrono::{DateTime, Utc};
use schema_macros::Table;
use uuid::Uuid;

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "conversations",
    realtime,
    timestamps,
    index(columns = ["user_id", "updated_at desc"]),
    policy(name = "owners have full access", for = "all", owner = "user_id"),
    policy(name = "members read", for = "select", member(through = "conversation_members")),
    policy(name = "admins read", for = "select", role = "admin"),
    grant(role = "authenticated", update = ["title", "is_archived"])
)]
pub struct Conversation {
    #[schemac(primary_key, default = "gen_random_uuid()")]
    pub id: Uuid,
    #[schemac(
        default = "auth.uid()",
        references = "auth.users",
        on_delete = "cascade"
    )]
    pub user_id: Uuid,
    #[schemac(check = "char_length(title) between 1 and 200")]
    pub title: String,
    #[schemac(default = "false")]
    pub is_archived: bool,
}

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "conversation_members",
    comment = "Users a conversation is shared with.",
    primary_key = ["conversation_id", "user_id"],
    policy(
        name = "conversation owners manage members",
        for = ["select", "insert", "update", "delete"],
        parent(column = "conversation_id", owner = "user_id"),
    ),
    policy(name = "members see their own membership", for = "select", owner = "user_id"),
    policy(name = "members may leave", for = "delete", owner = "user_id"),
    grant(role = "authenticated", update = ["role"])
)]
pub struct ConversationMember {
    #[schemac(references = "conversations", on_delete = "cascade")]
    pub conversation_id: Uuid,
    #[schemac(references = "auth.users", on_delete = "cascade")]
    pub user_id: Uuid,
    #[schemac(default = "'viewer'")]
    pub role: MemberRole,
    #[schemac(default = "now()")]
    pub created_at: DateTime<Utc>,
}

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "messages",
    realtime(replica_identity = "full"),
    index(columns = ["conversation_id", "created_at"]),
    policy(name = "readable with the conversation", for = "select", parent = "conversation_id"),
    policy(
        name = "the conversation owner writes as themselves",
        for = "insert",
        owner = "sender_id",
        parent(column = "conversation_id", owner = "user_id"),
        check = "role = 'user'",
    ),
    policy(
        name = "editor members write as themselves",
        for = "insert",
        owner = "sender_id",
        member(through = "conversation_members", column = "conversation_id", roles = ["editor"]),
        check = "role = 'user'",
    ),
    grant(role = "authenticated", insert = ["conversation_id", "content", "metadata"])
)]
pub struct Message {
    #[schemac(primary_key, default = "gen_random_uuid()")]
    pub id: Uuid,
    #[schemac(references = "conversations", on_delete = "cascade")]
    pub conversation_id: Uuid,
    #[schemac(
        default = "auth.uid()",
        references = "auth.users",
        on_delete = "set null"
    )]
    pub sender_id: Option<Uuid>,
    #[schemac(default = "'user'")]
    pub role: MessageRole,
    pub content: String,
    #[schemac(default = "'{}'::jsonb")]
    pub metadata: serde_json::Value,
    pub tokens_used: Option<i32>,
    #[schemac(default = "now()")]
    pub created_at: DateTime<Utc>,
}
