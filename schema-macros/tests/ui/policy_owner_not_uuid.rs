// An owner policy on a column that cannot hold a user id.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes", policy(for = "select", owner = "title"))]
pub struct Note {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    pub title: String,
}

fn main() {}
