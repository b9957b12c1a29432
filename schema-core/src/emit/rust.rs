//! Rust models for the schema (placeholder while the models emitter is written).

use super::EmitOptions;
use crate::ir::Schema;

pub fn models(_schema: &Schema, opts: &EmitOptions) -> String {
    super::header("//", opts)
}
