//! Parameterised DML for the derive macros' `insert`/`update` helpers: statements built from quoted
//! identifiers (`ident::quote`) and `$1..$n` placeholders only; values are always bound, never written.

use crate::ir::QName;
use crate::sql::ident::{qname, quote};

fn list(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| quote(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `insert into "s"."t" ("a", "b") values ($1, $2)` (`default values` when there is no column),
/// followed by ` returning "x", "y"` when `returning` is not empty.
pub fn insert(table: &QName, columns: &[&str], returning: &[&str]) -> String {
    let mut sql = if columns.is_empty() {
        format!("insert into {} default values", qname(table))
    } else {
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        format!(
            "insert into {} ({}) values ({})",
            qname(table),
            list(columns),
            params.join(", ")
        )
    };
    if !returning.is_empty() {
        sql.push_str(" returning ");
        sql.push_str(&list(returning));
    }
    sql
}

/// `update "s"."t" set "a" = $1, "b" = $2 where "k" = $3`: the `set` columns are bound first, then
/// the `key` columns. `None` when there is nothing to set or no key (an update must name its row).
pub fn update(table: &QName, set: &[&str], key: &[&str]) -> Option<String> {
    if set.is_empty() || key.is_empty() {
        return None;
    }
    let assign: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ${}", quote(c), i + 1))
        .collect();
    let cond: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} = ${}", quote(c), set.len() + i + 1))
        .collect();
    Some(format!(
        "update {} set {} where {}",
        qname(table),
        assign.join(", "),
        cond.join(" and ")
    ))
}

/// `select "a", "b" from "s"."t"`.
pub fn select(table: &QName, columns: &[&str]) -> String {
    format!("select {} from {}", list(columns), qname(table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_quote_every_name_and_bind_every_value() {
        let t = QName::public("we\"ird");
        assert_eq!(
            insert(&t, &["a", "b c"], &["id"]),
            "insert into \"public\".\"we\"\"ird\" (\"a\", \"b c\") values ($1, $2) returning \"id\""
        );
        assert_eq!(
            insert(&t, &[], &[]),
            "insert into \"public\".\"we\"\"ird\" default values"
        );
        assert_eq!(
            update(&t, &["a", "b"], &["k1", "k2"]).as_deref(),
            Some("update \"public\".\"we\"\"ird\" set \"a\" = $1, \"b\" = $2 where \"k1\" = $3 and \"k2\" = $4")
        );
        assert_eq!(update(&t, &[], &["k"]), None);
        assert_eq!(update(&t, &["a"], &[]), None);
        assert_eq!(
            select(&t, &["a"]),
            "select \"a\" from \"public\".\"we\"\"ird\""
        );
    }
}
