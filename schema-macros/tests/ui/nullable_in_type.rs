// Nullability comes from `Option<T>`, not from `?` in the SQL type.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "chunks")]
pub struct Chunk {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    #[schemac(type = "vector(3)?")]
    pub embedding: Option<Vec<f32>>,
}

fn main() {}
