// A field whose Rust type does not fit its column.
use schema_macros::Table;

#[derive(Table)]
#[schemac(table = "messages")]
pub struct Message {
    pub id: uuid::Uuid,
    pub content: i64,
}

fn main() {}
