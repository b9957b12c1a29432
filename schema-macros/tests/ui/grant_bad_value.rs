// A grant names `"all"`, `"none"`, a list of columns or `(except = [...])`.
use schema_macros::Table;

#[derive(Table)]
#[schemac(
    declare,
    table = "notes",
    grant(role = "authenticated", update = "some")
)]
pub struct Note {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
}

fn main() {}
