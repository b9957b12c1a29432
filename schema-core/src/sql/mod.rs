//! SQL text primitives. `ident` is the only producer of identifiers and literals in emitted SQL.

pub mod dml;
pub mod expr;
pub mod ident;
pub mod lex;
