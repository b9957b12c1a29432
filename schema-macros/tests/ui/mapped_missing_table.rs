// A struct that neither maps a table nor declares one.
use schema_macros::Table;

#[derive(Table)]
pub struct Message {
    pub id: uuid::Uuid,
}

fn main() {}
