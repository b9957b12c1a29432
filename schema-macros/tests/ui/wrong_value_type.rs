// A default must be SQL text, not a Rust literal.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "counters")]
pub struct Counter {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    #[schemac(default = 5)]
    pub value: i32,
}

fn main() {}
