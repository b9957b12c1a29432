//! Locates the PostgreSQL binaries (initdb, postgres, ...) the embedded server needs.
//!
//! Search order (first hit wins):
//! 1. `$SCHEMAC_PG_BIN` — if set it must be valid, otherwise locating fails (an explicit
//!    override is never silently ignored);
//! 2. `<dir>/.cache/pgserver/pgserver/pginstall/bin` for every ancestor `<dir>` of the current
//!    directory and of this crate's manifest directory (as compiled in, and canonicalized) —
//!    this is where `scripts/install-postgres.sh` installs PostgreSQL 18 + pgvector;
//! 3. the output of `pg_config --bindir`, with `pg_config` found on `PATH`;
//! 4. a `PATH` entry containing both `initdb` and `postgres`;
//! 5. Debian/Ubuntu's `/usr/lib/postgresql/<major>/bin`, newest major first.
//!
//! When nothing qualifies, [`PgError::NoBinaries`] lists every place searched and how to fix it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::PgError;

/// Environment variable that overrides the bin directory.
pub const PG_BIN_ENV: &str = "SCHEMAC_PG_BIN";

/// Where `scripts/install-postgres.sh` puts the bin directory, relative to the repository root.
pub const CACHE_BIN_SUBDIR: &str = ".cache/pgserver/pgserver/pginstall/bin";

/// The executables a bin directory must contain to be usable.
const REQUIRED: [&str; 2] = ["initdb", "postgres"];

/// A directory holding PostgreSQL server binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBinaries {
    bin_dir: PathBuf,
}

impl PgBinaries {
    /// Finds PostgreSQL binaries using the search order described in the module docs.
    pub fn locate() -> Result<Self, PgError> {
        let mut searched = Vec::new();

        // 1. Explicit override.
        match std::env::var_os(PG_BIN_ENV) {
            Some(dir) if !dir.is_empty() => {
                let dir = PathBuf::from(dir);
                return match missing_tool(&dir) {
                    None => Ok(Self::new_unchecked(dir)),
                    Some(missing) => Err(PgError::BadBinOverride {
                        dir: dir.display().to_string(),
                        missing: missing.to_string(),
                    }),
                };
            }
            _ => searched.push(format!("${PG_BIN_ENV} (not set)")),
        }

        // 2. The repository-local cache written by scripts/install-postgres.sh.
        let mut cache_candidates = Vec::new();
        for start in search_roots() {
            for dir in start.ancestors() {
                let candidate = dir.join(CACHE_BIN_SUBDIR);
                if !cache_candidates.contains(&candidate) {
                    cache_candidates.push(candidate);
                }
            }
        }
        for candidate in &cache_candidates {
            if missing_tool(candidate).is_none() {
                return Ok(Self::new_unchecked(candidate.clone()));
            }
        }
        searched.push(format!(
            "{CACHE_BIN_SUBDIR} under every parent of the current directory and of {} (not present): {}",
            env!("CARGO_MANIFEST_DIR"),
            cache_candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));

        // 3. pg_config --bindir.
        match Command::new("pg_config").arg("--bindir").output() {
            Ok(out) if out.status.success() => {
                let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
                match missing_tool(&dir) {
                    None => return Ok(Self::new_unchecked(dir)),
                    Some(m) => searched.push(format!(
                        "`pg_config --bindir` = {} ({m} missing there)",
                        dir.display()
                    )),
                }
            }
            Ok(out) => searched.push(format!("`pg_config --bindir` (failed: {})", out.status)),
            Err(e) => searched.push(format!(
                "`pg_config --bindir` (pg_config not runnable: {e})"
            )),
        }

        // 4. initdb on PATH.
        let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        if let Some(dir) = path_dirs.iter().find(|d| missing_tool(d).is_none()) {
            return Ok(Self::new_unchecked(dir.clone()));
        }
        searched.push(format!(
            "PATH entries for initdb + postgres (none has both): {}",
            std::env::var("PATH").unwrap_or_default()
        ));

        // 5. Debian/Ubuntu layout (postgresql-NN packages do not put initdb on PATH).
        let debian_root = Path::new("/usr/lib/postgresql");
        let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(debian_root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((major, e.path().join("bin")))
            })
            .collect();
        majors.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
        if let Some((_, dir)) = majors.into_iter().find(|(_, d)| missing_tool(d).is_none()) {
            return Ok(Self::new_unchecked(dir));
        }
        searched.push(format!(
            "{}/<major>/bin (none found)",
            debian_root.display()
        ));

        Err(PgError::NoBinaries { searched })
    }

    /// Uses `dir` as the bin directory, checking that it holds `initdb` and `postgres`.
    pub fn from_dir(dir: impl Into<PathBuf>) -> Result<Self, PgError> {
        let dir = dir.into();
        match missing_tool(&dir) {
            None => Ok(Self::new_unchecked(dir)),
            Some(missing) => Err(PgError::NoBinaries {
                searched: vec![format!("{} ({missing} missing)", dir.display())],
            }),
        }
    }

    fn new_unchecked(dir: PathBuf) -> Self {
        // Absolute paths: the server processes run with a different working directory.
        let bin_dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Self { bin_dir }
    }

    /// The bin directory.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Path of the executable `name` in the bin directory (not checked for existence).
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// Path of `initdb`.
    pub fn initdb(&self) -> PathBuf {
        self.tool("initdb")
    }

    /// Path of the `postgres` server executable.
    pub fn postgres(&self) -> PathBuf {
        self.tool("postgres")
    }

    /// Path of `psql` (may not exist in minimal installs).
    pub fn psql(&self) -> PathBuf {
        self.tool("psql")
    }
}

/// Directories to search upward from: the current directory and the crate's manifest directory
/// (both as given and canonicalized, so symlinked checkouts are handled).
fn search_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if let Ok(canonical) = std::fs::canonicalize(&manifest) {
        roots.push(canonical);
    }
    roots.push(manifest);
    roots
}

/// The first required executable missing from `dir`, or `None` if all are present.
fn missing_tool(dir: &Path) -> Option<&'static str> {
    REQUIRED.into_iter().find(|t| !dir.join(t).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_dir_rejects_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        let err = PgBinaries::from_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("initdb missing"), "{err}");
        assert!(
            err.to_string().contains("scripts/install-postgres.sh"),
            "{err}"
        );
    }

    #[test]
    fn no_binaries_message_lists_searches_and_fixes() {
        let err = PgError::NoBinaries {
            searched: vec!["$SCHEMAC_PG_BIN (not set)".into(), "somewhere else".into()],
        };
        let msg = err.to_string();
        for needle in [
            "$SCHEMAC_PG_BIN (not set)",
            "somewhere else",
            "bash scripts/install-postgres.sh",
            "SCHEMAC_PG_BIN",
            "SCHEMAC_TEST_DATABASE_URL",
        ] {
            assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
        }
    }
}
