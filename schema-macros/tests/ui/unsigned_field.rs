// PostgreSQL has no unsigned integers.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "counters")]
pub struct Counter {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    pub value: u32,
}

fn main() {}
