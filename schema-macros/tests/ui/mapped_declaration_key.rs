// A declaration key on a struct that maps a table of schema.yaml.
use schema_macros::Table;

#[derive(Table)]
#[schemac(table = "messages")]
pub struct Message {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
}

fn main() {}
