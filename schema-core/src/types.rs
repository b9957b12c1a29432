//! Column type syntax: parses `varchar(80)`, `numeric(10,2)`, `vector(384)`, `text[]`, enum names...
//! into `ir::SqlType`, and renders a type back as SQL.

use crate::ir::SqlType;
use crate::sql::ident;

/// Why a type string was rejected.
#[derive(Debug, PartialEq, Eq)]
pub enum TypeError {
    Unknown(String),
    BadArgs(String),
}

/// Built-in type names, for help lines.
pub const BUILTIN: &[&str] = &[
    "uuid",
    "text",
    "varchar(n)",
    "char(n)",
    "smallint",
    "int",
    "integer",
    "bigint",
    "numeric(p,s)",
    "real",
    "double precision",
    "boolean",
    "json",
    "jsonb",
    "timestamptz",
    "timestamp",
    "date",
    "time",
    "interval",
    "bytea",
    "inet",
    "tsvector",
    "vector(n)",
];

/// Parses a type. `enums` are the declared enum names. Trailing `[]` makes an array.
pub fn parse(text: &str, enums: &[&str]) -> Result<SqlType, TypeError> {
    let t = text.trim();
    if let Some(inner) = t.strip_suffix("[]") {
        let elem = parse(inner, enums)?;
        if matches!(elem, SqlType::Array(_)) {
            return Err(TypeError::BadArgs(
                "multi-dimensional arrays are declared as one `[]`".into(),
            ));
        }
        return Ok(SqlType::Array(Box::new(elem)));
    }
    let lower = t.to_ascii_lowercase();
    let (base, args) = match lower.find('(') {
        Some(i) => {
            let Some(rest) = lower[i + 1..].strip_suffix(')') else {
                return Err(TypeError::BadArgs(format!(
                    "unbalanced parentheses in `{t}`"
                )));
            };
            (lower[..i].trim().to_string(), Some(rest.to_string()))
        }
        None => (lower.clone(), None),
    };
    let nums = |a: &str| -> Result<Vec<u32>, TypeError> {
        a.split(',')
            .map(|p| {
                p.trim()
                    .parse::<u32>()
                    .map_err(|_| TypeError::BadArgs(format!("`{p}` is not a number in `{t}`")))
            })
            .collect()
    };
    let one = |a: &Option<String>, what: &str, max: u32| -> Result<u32, TypeError> {
        let Some(a) = a else {
            return Err(TypeError::BadArgs(format!(
                "`{base}` needs a {what}: `{base}(n)`"
            )));
        };
        match nums(a)?.as_slice() {
            [n] if *n >= 1 && *n <= max => Ok(*n),
            _ => Err(TypeError::BadArgs(format!(
                "`{base}` takes one {what} between 1 and {max}"
            ))),
        }
    };
    let no_args = |ty: SqlType| -> Result<SqlType, TypeError> {
        match &args {
            None => Ok(ty),
            Some(_) => Err(TypeError::BadArgs(format!("`{base}` takes no arguments"))),
        }
    };
    match base.as_str() {
        "uuid" => no_args(SqlType::Uuid),
        "text" => no_args(SqlType::Text),
        "varchar" | "character varying" => Ok(SqlType::Varchar(one(&args, "length", 10_485_760)?)),
        "char" | "character" => Ok(SqlType::Char(one(&args, "length", 10_485_760)?)),
        "smallint" | "int2" => no_args(SqlType::SmallInt),
        "int" | "integer" | "int4" => no_args(SqlType::Int),
        "bigint" | "int8" => no_args(SqlType::BigInt),
        "numeric" | "decimal" => match &args {
            None => Ok(SqlType::Numeric(None)),
            Some(a) => match nums(a)?.as_slice() {
                [p] if (1..=1000).contains(p) => Ok(SqlType::Numeric(Some((*p, 0)))),
                [p, s] if (1..=1000).contains(p) && s <= p => Ok(SqlType::Numeric(Some((*p, *s)))),
                _ => Err(TypeError::BadArgs(
                    "`numeric` takes a precision 1..1000 and a scale no larger".into(),
                )),
            },
        },
        "real" | "float4" => no_args(SqlType::Real),
        "double precision" | "float8" | "double" => no_args(SqlType::Double),
        "boolean" | "bool" => no_args(SqlType::Boolean),
        "json" => no_args(SqlType::Json),
        "jsonb" => no_args(SqlType::Jsonb),
        "timestamptz" | "timestamp with time zone" => no_args(SqlType::Timestamptz),
        "timestamp" | "timestamp without time zone" => no_args(SqlType::Timestamp),
        "date" => no_args(SqlType::Date),
        "time" => no_args(SqlType::Time),
        "interval" => no_args(SqlType::Interval),
        "bytea" => no_args(SqlType::Bytea),
        "inet" => no_args(SqlType::Inet),
        "tsvector" => no_args(SqlType::Tsvector),
        "vector" => Ok(SqlType::Vector(one(&args, "dimension count", 16_000)?)),
        _ => {
            if args.is_none() {
                if let Some(e) = enums.iter().find(|e| **e == t) {
                    return Ok(SqlType::Enum(e.to_string()));
                }
            }
            Err(TypeError::Unknown(t.to_string()))
        }
    }
}

/// The SQL spelling of a type; enums are qualified with `public`, vectors with `extensions`
/// (where Supabase installs pgvector) unless `vector_schema` says otherwise.
pub fn sql(ty: &SqlType, vector_schema: Option<&str>) -> String {
    match ty {
        SqlType::Uuid => "uuid".into(),
        SqlType::Text => "text".into(),
        SqlType::Varchar(n) => format!("varchar({n})"),
        SqlType::Char(n) => format!("char({n})"),
        SqlType::SmallInt => "smallint".into(),
        SqlType::Int => "integer".into(),
        SqlType::BigInt => "bigint".into(),
        SqlType::Numeric(None) => "numeric".into(),
        SqlType::Numeric(Some((p, s))) => format!("numeric({p}, {s})"),
        SqlType::Real => "real".into(),
        SqlType::Double => "double precision".into(),
        SqlType::Boolean => "boolean".into(),
        SqlType::Json => "json".into(),
        SqlType::Jsonb => "jsonb".into(),
        SqlType::Timestamptz => "timestamptz".into(),
        SqlType::Timestamp => "timestamp".into(),
        SqlType::Date => "date".into(),
        SqlType::Time => "time".into(),
        SqlType::Interval => "interval".into(),
        SqlType::Bytea => "bytea".into(),
        SqlType::Inet => "inet".into(),
        SqlType::Tsvector => "tsvector".into(),
        SqlType::Vector(n) => match vector_schema {
            Some(s) => format!("{}.vector({n})", ident::quote(s)),
            None => format!("vector({n})"),
        },
        SqlType::Enum(e) => ident::qualified("public", e),
        SqlType::Array(inner) => format!("{}[]", sql(inner, vector_schema)),
    }
}

/// True for types that compare with `=` in a btree (what policy and key columns need).
pub fn is_btree_comparable(ty: &SqlType) -> bool {
    !matches!(ty, SqlType::Json | SqlType::Vector(_) | SqlType::Tsvector)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types() {
        let enums = ["app_role"];
        assert_eq!(parse("uuid", &enums), Ok(SqlType::Uuid));
        assert_eq!(parse("varchar(80)", &enums), Ok(SqlType::Varchar(80)));
        assert_eq!(
            parse("numeric(10, 2)", &enums),
            Ok(SqlType::Numeric(Some((10, 2))))
        );
        assert_eq!(parse("vector(384)", &enums), Ok(SqlType::Vector(384)));
        assert_eq!(
            parse("text[]", &enums),
            Ok(SqlType::Array(Box::new(SqlType::Text)))
        );
        assert_eq!(
            parse("app_role", &enums),
            Ok(SqlType::Enum("app_role".into()))
        );
        assert!(matches!(parse("strng", &enums), Err(TypeError::Unknown(_))));
        assert!(matches!(
            parse("varchar", &enums),
            Err(TypeError::BadArgs(_))
        ));
        assert!(matches!(
            parse("numeric(2,5)", &enums),
            Err(TypeError::BadArgs(_))
        ));
        assert!(matches!(
            parse("uuid(3)", &enums),
            Err(TypeError::BadArgs(_))
        ));
    }

    #[test]
    fn renders_types() {
        assert_eq!(
            sql(&SqlType::Vector(3), Some("extensions")),
            "\"extensions\".vector(3)"
        );
        assert_eq!(
            sql(&SqlType::Array(Box::new(SqlType::Enum("r".into()))), None),
            "\"public\".\"r\"[]"
        );
    }
}
