// A vector column needs its dimension count.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "chunks")]
pub struct Chunk {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    pub embedding: pgvector::Vector,
}

fn main() {}
