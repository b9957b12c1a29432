// Mapping a table schema.yaml does not declare.
use schema_macros::Table;

#[derive(Table)]
#[schemac(table = "mesages")]
pub struct Message {
    pub id: uuid::Uuid,
}

fn main() {}
