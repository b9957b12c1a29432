//! The seed schema's tables and enums written in Rust; `tests/tests/rust_frontend.rs` compiles these
//! files with the derives (so each declaration also passes the macros' own checks) and reads them
//! with `schemac`'s Rust front end next to `schema.yaml` (this directory's YAML remainder).

pub mod api;
pub mod conversations;
pub mod documents;
pub mod enums;
pub mod profiles;
