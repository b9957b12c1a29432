// An enum column read into a Rust enum of another name.
use schema_macros::{SchemaEnum, Table};

#[derive(SchemaEnum, Debug)]
#[schemac(name = "message_role")]
pub enum Role {
    User,
    Assistant,
    System,
    Tool,
}

#[derive(Table)]
#[schemac(table = "messages")]
pub struct Message {
    pub id: uuid::Uuid,
    pub role: Role,
}

fn main() {}
