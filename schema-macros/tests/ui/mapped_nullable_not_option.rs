// A nullable column read into a field that cannot hold NULL.
use schema_macros::Table;

#[derive(Table)]
#[schemac(table = "messages")]
pub struct Message {
    pub id: uuid::Uuid,
    pub tokens_used: i32,
}

fn main() {}
