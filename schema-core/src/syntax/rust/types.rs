//! Rust field types and SQL column types: the SQL type a field's Rust type declares (when no
//! `type = "..."` says otherwise), and the shape comparison that checks a mapped field against the
//! Rust type `models.rs` uses for its column.

use super::EnumNames;
use quote::ToTokens;

/// The type's tokens as text without spaces (`Option<chrono::DateTime<chrono::Utc>>`).
pub fn type_text(ty: &syn::Type) -> String {
    ty.to_token_stream()
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The last path segment of a plain path type and its generic type arguments.
fn segment(ty: &syn::Type) -> Option<(String, Vec<&syn::Type>)> {
    let syn::Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    let args = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|g| match g {
                syn::GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((last.ident.to_string(), args))
}

/// `Option<T>` -> `(true, T)`; any other type -> `(false, itself)`.
pub fn strip_option(ty: &syn::Type) -> (bool, syn::Type) {
    if let Some((name, args)) = segment(ty) {
        if name == "Option" && args.len() == 1 {
            return (true, args[0].clone());
        }
    }
    (false, ty.clone())
}

/// `Vec<f32>`.
pub fn is_vec_f32(ty: &syn::Type) -> bool {
    match segment(ty) {
        Some((name, args)) if name == "Vec" && args.len() == 1 => {
            matches!(segment(args[0]), Some((n, a)) if n == "f32" && a.is_empty())
        }
        _ => false,
    }
}

/// The SQL type a Rust type (without `Option`) declares, or why there is none (message, help).
pub fn infer(ty: &syn::Type, enums: &EnumNames) -> Result<String, (String, String)> {
    let text = type_text(ty);
    let Some((name, args)) = segment(ty) else {
        return Err((
            format!("cannot tell the column type of `{text}`"),
            "use an owned type such as `String`, `i64` or `uuid::Uuid`, or add `#[schemac(type = \"...\")]`".into(),
        ));
    };
    let plain = |sql: &str| -> Result<String, (String, String)> { Ok(sql.to_string()) };
    match (name.as_str(), args.as_slice()) {
        ("Uuid", []) => plain("uuid"),
        ("String", []) => plain("text"),
        ("i16", []) => plain("smallint"),
        ("i32", []) => plain("int"),
        ("i64", []) => plain("bigint"),
        ("f32", []) => plain("real"),
        ("f64", []) => plain("double precision"),
        ("bool", []) => plain("boolean"),
        ("Value", []) => plain("jsonb"),
        ("DateTime", _) => plain("timestamptz"),
        ("NaiveDateTime", []) => plain("timestamp"),
        ("NaiveDate", []) => plain("date"),
        ("NaiveTime", []) => plain("time"),
        ("IpAddr", []) => plain("inet"),
        ("Numeric", []) => plain("numeric"),
        ("Interval", []) => plain("interval"),
        ("TsVector", []) => plain("tsvector"),
        ("Vector", []) => Err((
            format!("`{text}` needs a dimension count"),
            "add `#[schemac(type = \"vector(384)\")]` with the embedding size".into(),
        )),
        ("Vec", [inner]) => match segment(inner) {
            Some((n, a)) if n == "u8" && a.is_empty() => plain("bytea"),
            _ => {
                let elem = infer(inner, enums)?;
                if elem.ends_with("[]") {
                    return Err((
                        format!("`{text}`: arrays of arrays are not column types"),
                        "use `Vec<T>` (a one-dimensional array) or `serde_json::Value`".into(),
                    ));
                }
                Ok(format!("{elem}[]"))
            }
        },
        ("Option", _) => Err((
            format!("`{text}`: `Option` inside a type is not a column type"),
            "use `Option<T>` only around the whole field type".into(),
        )),
        ("u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i128" | "isize", []) => Err((
            format!("PostgreSQL has no column type for `{text}`"),
            "use `i16`, `i32` or `i64` (PostgreSQL integers are signed)".into(),
        )),
        ("str" | "char", []) => Err((
            format!("cannot tell the column type of `{text}`"),
            "use `String` for text".into(),
        )),
        (other, []) if other.starts_with(|c: char| c.is_ascii_uppercase()) => Ok(enums
            .get(other)
            .cloned()
            .unwrap_or_else(|| super::snake_case(other))),
        _ => Err((
            format!("cannot tell the column type of `{text}`"),
            "add `#[schemac(type = \"...\")]` with the SQL type".into(),
        )),
    }
}

/// A type reduced to last path segments, for comparison: `chrono::DateTime<chrono::Utc>` ->
/// `DateTime<Utc>`.
pub fn shape(ty: &syn::Type) -> String {
    match segment(ty) {
        Some((name, args)) if args.is_empty() => name,
        Some((name, args)) => format!(
            "{name}<{}>",
            args.iter().map(|a| shape(a)).collect::<Vec<_>>().join(", ")
        ),
        None => type_text(ty),
    }
}
