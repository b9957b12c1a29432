//! File output for the CLI: all-or-nothing writes (temporary files, then renames) and the clock.

use schema_core::generate::OutFile;
use std::path::Path;

/// Writes every file whose contents changed. All temporaries are written before any rename, so
/// a failure part-way leaves the previous files in place. Returns how many files changed.
pub fn write_all(out: &Path, files: &[OutFile]) -> anyhow::Result<usize> {
    let mut staged = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        for f in files {
            let path = out.join(&f.path);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(f.contents.as_str()) {
                continue;
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| anyhow::anyhow!("cannot create `{}`: {e}", dir.display()))?;
            }
            let tmp = path.with_extension(format!(
                "{}.schemac-tmp",
                path.extension().and_then(|e| e.to_str()).unwrap_or("")
            ));
            std::fs::write(&tmp, &f.contents)
                .map_err(|e| anyhow::anyhow!("cannot write `{}`: {e}", tmp.display()))?;
            staged.push((tmp, path));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    for (tmp, path) in &staged {
        std::fs::rename(tmp, path)
            .map_err(|e| anyhow::anyhow!("cannot replace `{}`: {e}", path.display()))?;
    }
    Ok(staged.len())
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
    #[test]
    fn versions_from_unix_time() {
        assert_eq!(super::version_from_unix(0), "19700101000000");
        assert_eq!(super::version_from_unix(1_700_000_000), "20231114221320");
    }
}
