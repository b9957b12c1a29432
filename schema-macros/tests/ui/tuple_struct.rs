// A table struct has named fields: they are the columns.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "pairs")]
pub struct Pair(pub uuid::Uuid, pub String);

fn main() {}
