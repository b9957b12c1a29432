// `on_delete` takes one of PostgreSQL's referential actions.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes")]
pub struct Note {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    #[schemac(references = "auth.users", on_delete = "explode")]
    pub owner_id: uuid::Uuid,
}

fn main() {}
