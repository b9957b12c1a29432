// A CHECK expression that does not parse, reported at its string.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes")]
pub struct Note {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    #[schemac(check = "char_length(body) <")]
    pub body: String,
}

fn main() {}
