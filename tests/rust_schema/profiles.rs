//! The seed schema's per-user tables (`profiles`, `user_settings`), declared in Rust.

use super::enums::AppRole;
use schema_macros::Table;

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "profiles",
    comment = "One row per user, created by the signup trigger on auth.users.",
    timestamps,
    policy(name = "users read their own profile", for = "select", owner = "id"),
    policy(name = "admins read all profiles", for = "select", role = "admin"),
    policy(name = "users edit their own profile", for = "update", owner = "id"),
    // Users may change only these columns: never id, email or role.
    grant(role = "authenticated", update = ["username", "full_name", "avatar_url"])
)]
pub struct Profile {
    #[schemac(primary_key, references = "auth.users", on_delete = "cascade")]
    pub id: uuid::Uuid,
    pub email: Option<String>,
    #[schemac(unique, check = "char_length(username) between 3 and 40")]
    pub username: String,
    pub full_name: Option<String>,
    pub avatar_url: Option<String>,
    #[schemac(default = "'user'")]
    pub role: AppRole,
}

#[derive(Table, Debug, Clone)]
#[schemac(
    declare,
    table = "user_settings",
    comment = "Per-user preferences, created by the signup trigger.",
    timestamps,
    policy(name = "users read and edit their settings", for = ["select", "update"], owner = "user_id"),
    grant(role = "authenticated", update = ["notification_preferences", "theme"])
)]
pub struct UserSettings {
    #[schemac(primary_key, references = "auth.users", on_delete = "cascade")]
    pub user_id: uuid::Uuid,
    #[schemac(default = "'{}'::jsonb")]
    pub notification_preferences: serde_json::Value,
    #[schemac(default = "'light'", check = "theme in ('light', 'dark', 'system')")]
    pub theme: String,
}
