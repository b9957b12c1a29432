// A key written twice on one field.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes")]
pub struct Note {
    #[schemac(
        primary_key,
        default = "gen_random_uuid()",
        default = "gen_random_uuid()"
    )]
    pub id: uuid::Uuid,
}

fn main() {}
