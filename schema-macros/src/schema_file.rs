//! Finding and reading `schema.yaml` at compile time: `#[schemac(schema = "path")]` relative to the
//! crate, else the first `schema.yaml` in the crate directory or above it. The file is compiled
//! once per process (derives of one crate share it) and tracked with `include_str!`, so editing it
//! rebuilds the crates that map it.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use schema_core::syntax::{File, Name};
use schema_core::{ir, render, Sources};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// A schema file, read and compiled.
#[derive(Clone)]
pub struct Loaded {
    /// Absolute path (for `include_str!`).
    pub path: PathBuf,
    /// The file as parsed (declared tables use it as context).
    pub file: File,
    /// The compiled schema, or its errors rendered as `file:line:col: error: ...` lines.
    pub schema: Result<ir::Schema, String>,
}

impl Loaded {
    /// `const _: &str = include_str!("<abs path>");`: cargo rebuilds the crate when the file changes.
    pub fn tracking(&self) -> TokenStream2 {
        let p = self.path.to_string_lossy().to_string();
        quote! { const _: &str = include_str!(#p); }
    }
}

/// The most recently compiled file (text and result): every derive of a crate maps the same one.
fn cache() -> &'static Mutex<Option<(String, Loaded)>> {
    static CACHE: OnceLock<Mutex<Option<(String, Loaded)>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(None))
}

fn find_upwards(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join("schema.yaml"))
        .find(|p| p.is_file())
}

/// Reads and compiles the schema file. `Err` is a message for a compile error (no file, unreadable).
pub fn load(explicit: Option<&Name>) -> Result<Loaded, String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .ok_or("CARGO_MANIFEST_DIR is not set: cannot locate schema.yaml")?;
    let (path, shown) = match explicit {
        Some(p) => (dir.join(&p.value), p.value.clone()),
        None => {
            let found = find_upwards(&dir).ok_or_else(|| {
                "no schema.yaml in this crate's directory or above it\n= help: add `schema = \"path/to/schema.yaml\"` (relative to the crate) to `#[schemac(...)]`, or `declare` to declare the table in Rust".to_string()
            })?;
            (found, "schema.yaml".to_string())
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read `{shown}`: {e}\n= help: `schema = \"...\"` is relative to the crate directory (where Cargo.toml is)")
    })?;
    let path = path.canonicalize().unwrap_or(path);
    let mut guard = cache().lock().unwrap_or_else(|p| p.into_inner());
    if let Some((cached_text, loaded)) = guard.as_ref() {
        if *cached_text == text && loaded.path == path {
            return Ok(loaded.clone());
        }
    }
    let mut sources = Sources::new();
    let id = sources.add(shown, text.clone());
    let mut d = schema_core::Diagnostics::default();
    let file = schema_core::syntax::yaml::parse(id, &text, &mut d);
    let c = schema_core::compile(&sources);
    let schema = match c.ir {
        Some(ir) => Ok(ir),
        None => {
            let errs: Vec<String> = c
                .diagnostics
                .iter()
                .filter(|d| d.severity == schema_core::Severity::Error)
                .take(5)
                .map(|d| render::gcc(d, &sources).trim_end().to_string())
                .collect();
            Err(format!(
                "the schema file has errors, so this struct cannot be checked against it:\n{}\n= help: run `schemac validate` for all of them",
                errs.join("\n")
            ))
        }
    };
    let loaded = Loaded { path, file, schema };
    *guard = Some((text, loaded.clone()));
    Ok(loaded)
}
