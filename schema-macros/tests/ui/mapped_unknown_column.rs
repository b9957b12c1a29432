// A field for a column the table does not have.
use schema_macros::Table;

#[derive(Table)]
#[schemac(table = "messages")]
pub struct Message {
    pub id: uuid::Uuid,
    pub body: String,
}

fn main() {}
