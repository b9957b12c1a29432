//! The seed schema's API tables (`api_keys`, `api_usage`), declared in Rust.

use chrono::{DateTime, Utc};
use schema_macros::Table;
use uuid::Uuid;

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "api_keys",
    comment = "API keys; only a SHA-256 hash of each key is stored, created by create_api_key().",
    policy(
        name = "owners list, rename, revoke and delete their keys",
        for = ["select", "update", "delete"],
        owner = "user_id",
    ),
    grant(role = "authenticated", select(except = ["key_hash"]), update = ["name", "revoked_at"])
)]
pub struct ApiKey {
    #[schemac(primary_key, default = "gen_random_uuid()")]
    pub id: Uuid,
    #[schemac(
        default = "auth.uid()",
        references = "auth.users",
        on_delete = "cascade"
    )]
    pub user_id: Uuid,
    #[schemac(check = "char_length(name) between 1 and 100")]
    pub name: String,
    pub key_prefix: String,
    #[schemac(unique)]
    pub key_hash: String,
    #[schemac(default = "now()")]
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "api_usage",
    index(columns = ["user_id", "created_at"]),
    policy(name = "users read their own usage", for = "select", owner = "user_id"),
    policy(name = "admins read all usage", for = "select", role = "admin")
)]
pub struct ApiUsage {
    #[schemac(primary_key, identity = "always")]
    pub id: i64,
    #[schemac(references = "auth.users", on_delete = "cascade")]
    pub user_id: Uuid,
    #[schemac(references = "api_keys", on_delete = "set null")]
    pub api_key_id: Option<Uuid>,
    pub model: String,
    #[schemac(default = "0", check = "prompt_tokens >= 0")]
    pub prompt_tokens: i32,
    #[schemac(default = "0", check = "completion_tokens >= 0")]
    pub completion_tokens: i32,
    #[schemac(generated = "prompt_tokens + completion_tokens")]
    pub tokens_used: i32,
    #[schemac(default = "now()")]
    pub created_at: DateTime<Utc>,
}
