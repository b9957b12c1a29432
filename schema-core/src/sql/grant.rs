//! Privilege statements whose object is only known at run time (a column's owned sequence).

use super::ident::{dollar_quote, list, literal};

/// Revokes everything on the sequence that `column` of `table` (already quoted and qualified)
/// owns (identity or serial) from `roles`. The sequence is looked up with
/// `pg_get_serial_sequence`, whose result PostgreSQL quotes itself, so it is right whatever the
/// sequence was named and after renames of the table or column.
pub fn revoke_column_sequence(table: &str, column: &str, roles: &[&str]) -> String {
    let stmt = format!("revoke all on sequence %s from {}", list(roles));
    let body = format!(
        "\nbegin\n  execute format({}, pg_catalog.pg_get_serial_sequence({}, {}));\nend\n",
        literal(&stmt),
        literal(table),
        literal(column)
    );
    format!("do {};", dollar_quote(&body))
}

#[cfg(test)]
mod tests {
    #[test]
    fn revoke_quotes_everything() {
        let s = super::revoke_column_sequence("\"public\".\"t\"", "i'd", &["anon"]);
        assert_eq!(
            s,
            "do $$\nbegin\n  execute format('revoke all on sequence %s from \"anon\"', pg_catalog.pg_get_serial_sequence('\"public\".\"t\"', 'i''d'));\nend\n$$;"
        );
    }
}
