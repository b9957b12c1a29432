// Every table needs a primary key (a check of schema-core's lowering, shown at the struct).
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes")]
pub struct Note {
    pub id: uuid::Uuid,
    pub body: String,
}

fn main() {}
