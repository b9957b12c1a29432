//! schemac's compiler core: schema text in, validated model and generated artefacts out. No I/O.
//!
//! Pipeline: `syntax::yaml::parse` -> `lower::lower` (resolve + check) -> `ir::Schema` ->
//! `emit::*` (migration, down script, policies document, Rust models, seed, lock file).

pub mod diag;
pub mod diff;
pub mod emit;
pub mod expr;
pub mod generate;
pub mod ir;
pub mod json_schema;
pub mod lint;
pub mod lower;
pub mod render;
pub mod source;
pub mod sql;
pub mod suite;
pub mod syntax;
pub mod types;

pub use diag::{Code, Diagnostic, Diagnostics, Severity};
pub use source::{SourceId, Sources, Span};

/// The result of compiling: the model when there were no errors, and every diagnostic (errors
/// and warnings), sorted by position.
#[derive(Debug)]
pub struct Compilation {
    pub ir: Option<ir::Schema>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Compiles the YAML schema files in `sources` (today: one file).
pub fn compile(sources: &Sources) -> Compilation {
    let mut diags = Diagnostics::default();
    let mut file = syntax::File::default();
    for (id, src) in sources.iter() {
        let f = syntax::yaml::parse(id, &src.text, &mut diags);
        merge(&mut file, f);
    }
    compile_syntax(&file, diags)
}

/// Compiles an already-built syntax tree (the entry point for other front ends).
pub fn compile_syntax(file: &syntax::File, mut diags: Diagnostics) -> Compilation {
    if diags.has_errors() {
        return Compilation {
            ir: None,
            diagnostics: diags.into_sorted(),
        };
    }
    let ir = lower::lower(file, &mut diags);
    let ok = !diags.has_errors();
    Compilation {
        ir: ok.then_some(ir),
        diagnostics: diags.into_sorted(),
    }
}

/// Appends the declarations of `f` to `into` (the first `target`, `helpers_schema` and `roles` win).
pub fn merge(into: &mut syntax::File, f: syntax::File) {
    into.target = into.target.take().or(f.target);
    into.helpers_schema = into.helpers_schema.take().or(f.helpers_schema);
    into.roles = into.roles.take().or(f.roles);
    into.extensions.extend(f.extensions);
    into.enums.extend(f.enums);
    into.tables.extend(f.tables);
    into.functions.extend(f.functions);
    into.triggers.extend(f.triggers);
    into.seed.extend(f.seed);
    into.allow_destructive.extend(f.allow_destructive);
}
