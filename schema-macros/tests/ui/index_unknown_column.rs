// An index on a column the table does not have.
use schema_macros::Table;

#[derive(Table)]
#[schemac(declare, table = "notes", index(columns = ["created"]))]
pub struct Note {
    #[schemac(primary_key)]
    pub id: uuid::Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
