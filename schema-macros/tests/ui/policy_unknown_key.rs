// A misspelt key inside `policy(...)`.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes", policy(fro = "select", owner = "owner_id"))]
pub struct Note {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    pub owner_id: uuid::Uuid,
}

fn main() {}
