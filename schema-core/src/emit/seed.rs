//! `seed.sql`: the schema's seed rows as INSERT statements with quoted, typed literals.

use super::up::vector_schema;
use super::{finish, header, EmitOptions};
use crate::ir::{Schema, SeedValue};
use crate::sql::ident::{list, literal, qname};
use crate::types;
use std::fmt::Write;

pub fn seed(schema: &Schema, opts: &EmitOptions) -> String {
    let vs = vector_schema(schema);
    let mut out = header("--", opts);
    let _ = writeln!(
        out,
        "-- Development seed data. Runs after the migrations, as the migrating role."
    );
    for row in &schema.seed {
        let cols: Vec<&str> = row.values.iter().map(|(c, _)| c.as_str()).collect();
        let vals: Vec<String> = row
            .values
            .iter()
            .map(|(_, v)| match v {
                SeedValue::Null => "null".to_string(),
                SeedValue::Literal(text, ty) => {
                    format!("{}::{}", literal(text), types::sql(ty, vs.as_deref()))
                }
                SeedValue::Sql(e) => e.clone(),
            })
            .collect();
        let _ = write!(
            out,
            "\ninsert into {} ({})\nvalues ({});\n",
            qname(&row.table),
            list(&cols),
            vals.join(", ")
        );
    }
    finish(out)
}
