// An enum variant that is not a value of the enum in schema.yaml.
use schema_macros::SchemaEnum;

#[derive(SchemaEnum, Debug)]
pub enum MessageRole {
    User,
    Assistant,
    System,
    Tool,
    Robot,
}

fn main() {}
