//! `--rust <path>` for `schemac generate` and `validate`: Rust schema sources (`#[derive(Table)]`
//! structs and `#[derive(SchemaEnum)]` enums with `declare`) read with syn, without building them,
//! and compiled together with the YAML schema (which may then be absent).

use crate::{display_name, print_diagnostics, Input};
use schema_core::{Compilation, SourceId, Sources};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct RustArgs {
    /// Rust schema sources: a file, or a directory searched recursively for `*.rs` files (in
    /// sorted order); may be repeated. Mixed with the YAML schema when that file exists.
    #[arg(long = "rust", value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

/// Every `*.rs` file under `dir`, sorted by path; hidden directories and `target` are skipped.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", dir.display()))?;
    entries.sort();
    for p in entries {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" {
                rust_files(&p, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// The files `--rust` names, in order: each file as given, each directory's files sorted.
pub(crate) fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            rust_files(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            anyhow::bail!("`--rust {}`: no such file or directory", p.display());
        }
    }
    Ok(out)
}

/// Compiles the YAML schema and the Rust sources; prints the diagnostics like `crate::compile`.
/// Without `--rust` it is `crate::compile`. With it, a missing default `schema.yaml` is allowed.
pub(crate) fn compile(input: &Input, rust: &RustArgs) -> anyhow::Result<(Sources, Compilation)> {
    if rust.paths.is_empty() {
        return crate::compile(input);
    }
    let mut sources = Sources::new();
    let mut yaml: Vec<SourceId> = Vec::new();
    match std::fs::read_to_string(&input.schema) {
        Ok(text) => yaml.push(sources.add(display_name(&input.schema), text)),
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && input.schema == Path::new("schema.yaml") => {}
        Err(e) => anyhow::bail!("cannot read `{}`: {e}", input.schema.display()),
    }
    let mut ids = Vec::new();
    for f in collect(&rust.paths)? {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", f.display()))?;
        ids.push(sources.add(display_name(&f), text));
    }
    let c = schema_core::syntax::rust::compile_mixed(&sources, &yaml, &ids);
    print_diagnostics(&sources, &c, input.format);
    Ok((sources, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_read_recursively_in_sorted_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in [
            "b.rs",
            "a/z.rs",
            "a/c.rs",
            "notes.txt",
            "target/x.rs",
            ".hidden/y.rs",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, "").expect("write");
        }
        let single = root.join("b.rs");
        let got: Vec<String> = collect(&[root.to_path_buf(), single])
            .expect("collect")
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(got, ["a/c.rs", "a/z.rs", "b.rs", "b.rs"]);
        assert!(collect(&[root.join("missing")]).is_err());
    }
}
