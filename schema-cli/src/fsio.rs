//! File output for the CLI: all-or-nothing writes (temporary files, then renames, undone on a
//! failure) and the clock.

use schema_core::generate::{OutFile, LOCK_FILE};
use std::path::{Path, PathBuf};

/// One file to put in place: its temporary copy and what the target held before (`None`: no
/// file there).
struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    before: Option<Vec<u8>>,
}

/// Writes every file whose contents changed and removes `remove`, all or nothing. Every new
/// content is first written to a temporary file next to its target; then the targets are
/// replaced by renames, the lock file last. If any step fails, the files already replaced get
/// their previous contents back (or are removed if they did not exist), removed files come
/// back, and every temporary file is deleted. Returns how many files changed.
pub fn write_all(out: &Path, files: &[OutFile], remove: &[String]) -> anyhow::Result<usize> {
    let mut staged: Vec<Staged> = Vec::new();
    // Directories this call created (deepest first per file): removed again on a failure.
    let mut created: Vec<PathBuf> = Vec::new();
    let mut order: Vec<&OutFile> = files.iter().collect();
    // The lock records what was written: it goes in last.
    order.sort_by_key(|f| f.path == LOCK_FILE);
    let stage = (|| -> anyhow::Result<()> {
        for f in order {
            let path = out.join(&f.path);
            let before = std::fs::read(&path).ok();
            if before.as_deref() == Some(f.contents.as_bytes()) {
                continue;
            }
            if let Some(dir) = path.parent() {
                let mut missing: Vec<PathBuf> = dir
                    .ancestors()
                    .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
                    .map(Path::to_path_buf)
                    .collect();
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("cannot create `{}`: {e}", dir.display()))?;
                created.append(&mut missing);
            }
            let tmp = temp_path(&path);
            let w = std::fs::write(&tmp, &f.contents);
            staged.push(Staged {
                tmp: tmp.clone(),
                path,
                before,
            });
            w.map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", tmp.display()))?;
        }
        for rel in remove {
            let path = out.join(rel);
            if let Ok(before) = std::fs::read(&path) {
                // A removal is a rename of nothing over the file: restored like a replacement.
                staged.push(Staged {
                    tmp: PathBuf::new(),
                    path,
                    before: Some(before),
                });
            }
        }
        Ok(())
    })();
    if let Err(e) = stage {
        clean(&staged, &created);
        return Err(e);
    }
    let mut done = 0;
    let mut failure = None;
    for s in &staged {
        let r = if s.tmp.as_os_str().is_empty() {
            std::fs::remove_file(&s.path)
                .map_err(|e| anyhow::anyhow!("cannot remove `{}`: {e}", s.path.display()))
        } else {
            std::fs::rename(&s.tmp, &s.path)
                .map_err(|e| anyhow::anyhow!("cannot replace `{}`: {e}", s.path.display()))
        };
        if let Err(e) = r {
            failure = Some(e);
            break;
        }
        done += 1;
    }
    let Some(e) = failure else {
        return Ok(staged
            .iter()
            .filter(|s| !s.tmp.as_os_str().is_empty())
            .count());
    };
    // Undo, newest first.
    let mut unrestored = Vec::new();
    for s in staged[..done].iter().rev() {
        let r = match &s.before {
            Some(b) => {
                let tmp = temp_path(&s.path);
                std::fs::write(&tmp, b)
                    .and_then(|_| std::fs::rename(&tmp, &s.path))
                    .inspect_err(|_| {
                        let _ = std::fs::remove_file(&tmp);
                    })
            }
            None => std::fs::remove_file(&s.path),
        };
        if r.is_err() {
            unrestored.push(s.path.display().to_string());
        }
    }
    clean(&staged, &created);
    if unrestored.is_empty() {
        Err(e.context("nothing was written"))
    } else {
        Err(e.context(format!(
            "and these files could not be restored: {}",
            unrestored.join(", ")
        )))
    }
}

/// `dir/.name.schemac-tmp-<pid>`: next to its target (so the rename stays on one file system),
/// hidden, and never the name of an output file.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.schemac-tmp-{}", std::process::id()))
}

/// Deletes every temporary file still there, then the directories created for them.
fn clean(staged: &[Staged], created: &[PathBuf]) {
    for s in staged {
        if !s.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&s.tmp);
        }
    }
    for d in created {
        let _ = std::fs::remove_dir(d);
    }
}

/// The current UTC time as a 14-digit migration version (`YYYYMMDDHHMMSS`).
pub fn utc_version_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    version_from_unix(secs)
}

fn version_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read dir") {
                let p = e.expect("entry").path();
                let rel = p.strip_prefix(dir).expect("prefix").display().to_string();
                if p.is_dir() {
                    out.insert(format!("{rel}/"), Vec::new());
                    stack.push(p);
                } else {
                    out.insert(rel, std::fs::read(&p).expect("read"));
                }
            }
        }
        out
    }

    fn file(path: &str, contents: &str) -> OutFile {
        OutFile {
            path: path.into(),
            contents: contents.into(),
        }
    }

    /// Every rename position fails once (a non-empty directory where a file should go): the
    /// tree is exactly as before and no temporary file is left.
    #[test]
    fn a_failed_rename_writes_nothing() {
        let names = [
            "migrations/2_b.sql",
            "down/2_b.sql",
            "policies.md",
            "models.rs",
            LOCK_FILE,
        ];
        for blocked in 0..names.len() {
            let dir = tempfile::tempdir().expect("tempdir");
            let out = dir.path();
            let first = vec![
                file("migrations/1_a.sql", "a"),
                file("policies.md", "old policies"),
                file("old.txt", "to remove"),
                file(LOCK_FILE, "lock 1"),
            ];
            assert_eq!(write_all(out, &first, &[]).expect("first write"), 4);
            let target = out.join(names[blocked]);
            let _ = std::fs::remove_file(&target);
            std::fs::create_dir_all(target.join("x")).expect("block");
            let before = tree(out);
            let second: Vec<OutFile> = names.iter().map(|n| file(n, &format!("new {n}"))).collect();
            let err =
                write_all(out, &second, &["old.txt".to_string()]).expect_err("a rename fails");
            assert!(format!("{err:#}").contains(names[blocked]), "{err:#}");
            assert_eq!(tree(out), before, "blocked {}", names[blocked]);
        }
    }

    #[test]
    fn writes_and_removes_all() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path();
        write_all(out, &[file("a", "1"), file("old", "x")], &[]).expect("write");
        assert_eq!(
            write_all(
                out,
                &[file("a", "2"), file(LOCK_FILE, "l")],
                &["old".into()]
            )
            .expect("write"),
            2
        );
        let t = tree(out);
        assert_eq!(t.keys().collect::<Vec<_>>(), ["a", LOCK_FILE]);
        assert_eq!(t["a"], b"2");
    }
    #[test]
    fn versions_from_unix_time() {
        assert_eq!(super::version_from_unix(0), "19700101000000");
        assert_eq!(super::version_from_unix(1_700_000_000), "20231114221320");
    }
}
