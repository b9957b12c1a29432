//! The seed schema's enums, declared in Rust (in the order `schema.yaml` declares them).

use schema_macros::SchemaEnum;

#[derive(SchemaEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[schemac(declare)]
pub enum AppRole {
    User,
    Admin,
}

#[derive(SchemaEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[schemac(declare)]
pub enum MessageRole {
    User,
    Assistant,
    System,
    Tool,
}

#[derive(SchemaEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[schemac(declare)]
pub enum DocumentStatus {
    Pending,
    Processing,
    Ready,
    Failed,
}

#[derive(SchemaEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[schemac(declare)]
pub enum MemberRole {
    Viewer,
    Editor,
}
