// A misspelt table key: unknown, with the closest known key as help.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes", timestamp)]
pub struct Note {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
}

fn main() {}
