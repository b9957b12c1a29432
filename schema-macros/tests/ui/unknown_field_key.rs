// A misspelt column key on a field.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes")]
pub struct Note {
    #[schemac(primary_kye)]
    pub id: uuid::Uuid,
}

fn main() {}
