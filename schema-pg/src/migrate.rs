//! Applying and reverting migrations on a live database, the way the Supabase CLI records them:
//! one transaction per migration, under an advisory lock, each applied version recorded in
//! `supabase_migrations.schema_migrations (version, statements, name)`. A migration marked
//! `-- schemac: no-transaction` (concurrent index builds, validations, batched backfills) runs
//! one statement at a time outside a transaction and is recorded only after all succeeded; a
//! concurrent index build that fails leaves no invalid index behind.

use crate::error::PgError;
use postgres::Client;
use schema_core::emit::lock::{sha256_hex, Lock};
use schema_core::generate::{migration_paths, DOWN_DIR, LOCK_FILE, MIGRATIONS_DIR};
use std::path::Path;

/// Key of the advisory lock held while migrating (two `schemac migrate` runs never interleave).
pub const LOCK_KEY: i64 = 0x5c4e_ac00_0000_0001;

/// One migration: its version, name, and the up and down SQL.
#[derive(Clone, Debug)]
pub struct MigrationFile {
    pub version: String,
    pub name: String,
    pub up: String,
    pub down: String,
}

/// Every migration of `dir` (the output directory of `schemac generate`), in version order;
/// see `load_dir_reporting` (its warnings about skipped files are dropped here).
pub fn load_dir(dir: &Path) -> Result<Vec<MigrationFile>, PgError> {
    load_dir_reporting(dir).map(|(files, _)| files)
}

/// Statements of a generated file (blocks separated by blank lines), without comment-only blocks;
/// stored in `schema_migrations.statements` like the Supabase CLI does.
pub fn statements(sql: &str) -> Vec<String> {
    sql.split("\n\n")
        .map(|b| b.trim())
        .filter(|b| {
            b.lines()
                .any(|l| !l.trim_start().starts_with("--") && !l.trim().is_empty())
        })
        .map(|b| b.to_string())
        .collect()
}

/// True if `sql` must run outside a transaction (its own marker line, as the generator writes it).
pub fn is_no_transaction(sql: &str) -> bool {
    sql.lines()
        .any(|l| l.trim_end() == schema_core::diff::NO_TRANSACTION_MARKER)
}

/// Splits SQL text into statements at top-level `;`, keeping quoted strings, quoted identifiers,
/// dollar-quoted bodies and comments intact. Comment-only pieces are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let push = |from: usize, to: usize, out: &mut Vec<String>| {
        let s = sql[from..to].trim();
        if has_code(s) {
            out.push(s.to_string());
        }
    };
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if i + 1 < b.len() && b[i + 1] == q {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'$' => {
                // A dollar-quote tag: $tag$ with tag [A-Za-z0-9_]* not starting with a digit.
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                let starts_ok = b.get(i + 1).is_none_or(|c| !c.is_ascii_digit());
                if j < b.len() && b[j] == b'$' && starts_ok {
                    let tag = &sql[i..=j];
                    match sql[j + 1..].find(tag) {
                        Some(end) => i = j + 1 + end + tag.len(),
                        None => i = b.len(),
                    }
                } else {
                    i += 1;
                }
            }
            b';' => {
                push(start, i + 1, &mut out);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push(start, b.len(), &mut out);
    out
}

/// True if `s` has something besides comments and whitespace.
fn has_code(s: &str) -> bool {
    s.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with("--")
    })
}

/// Every migration in `dir/migrations` (`<version>_<name>.sql`, in version order, like the
/// Supabase CLI), with its down script from `dir/down` when there is one. Generated migrations
/// recorded in the lock are checked against their checksums; hand-written ones (recorded by
/// `schemac migration new`, or not recorded at all) are applied as they are.
pub fn load_dir_reporting(dir: &Path) -> Result<(Vec<MigrationFile>, Vec<String>), PgError> {
    let mut warnings = Vec::new();
    let lock_path = dir.join(LOCK_FILE);
    let lock = match std::fs::read_to_string(&lock_path) {
        Ok(text) => Some(Lock::from_json(&text).map_err(|e| {
            msg(format!(
                "`{}` is not a schemac lock file: {e}",
                lock_path.display()
            ))
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(msg(format!("cannot read `{}`: {e}", lock_path.display()))),
    };
    let mig_dir = dir.join(MIGRATIONS_DIR);
    let mut files: Vec<(String, String, String)> = Vec::new();
    let entries = std::fs::read_dir(&mig_dir).map_err(|e| {
        msg(format!(
            "cannot read `{}`: {e} (run `schemac generate` first)",
            mig_dir.display()
        ))
    })?;
    for e in entries {
        let e = e.map_err(|e| msg(format!("cannot read `{}`: {e}", mig_dir.display())))?;
        let file = e.file_name().to_string_lossy().to_string();
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        match stem.split_once('_') {
            Some((v, name)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                files.push((v.to_string(), name.to_string(), file.clone()))
            }
            _ => warnings.push(format!(
                "skipping `{}`: migration files are named `<version>_<name>.sql`",
                mig_dir.join(&file).display()
            )),
        }
    }
    files.sort();
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(msg(format!(
            "two migrations have version {}: `{}` and `{}`",
            w[0].0, w[0].2, w[1].2
        )));
    }
    let records = lock
        .as_ref()
        .map(|l| l.migrations.as_slice())
        .unwrap_or(&[]);
    for r in records {
        if !files.iter().any(|(v, _, _)| *v == r.version) {
            let (u, _) = migration_paths(r);
            return Err(msg(format!(
                "`{}` is recorded in {LOCK_FILE} but missing",
                dir.join(u).display()
            )));
        }
    }
    let mut out = Vec::new();
    for (version, name, file) in files {
        let up_path = mig_dir.join(&file);
        let down_path = dir.join(DOWN_DIR).join(&file);
        let up = std::fs::read_to_string(&up_path)
            .map_err(|e| msg(format!("cannot read `{}`: {e}", up_path.display())))?;
        let down = match std::fs::read_to_string(&down_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(msg(format!("cannot read `{}`: {e}", down_path.display()))),
        };
        if let Some(r) = records
            .iter()
            .find(|r| r.version == version && !r.hand_written)
        {
            for (p, text, sha) in [
                (&up_path, &up, &r.up_sha256),
                (&down_path, &down, &r.down_sha256),
            ] {
                if &sha256_hex(text) != sha {
                    return Err(msg(format!(
                        "`{}` was edited after it was generated; applied migrations are never edited",
                        p.display()
                    )));
                }
            }
        }
        out.push(MigrationFile {
            version,
            name,
            up,
            down,
        });
    }
    Ok((out, warnings))
}

fn msg(s: String) -> PgError {
    PgError::Message(s)
}

fn ensure_table(client: &mut Client) -> Result<(), PgError> {
    client.batch_execute(
        "create schema if not exists supabase_migrations;
         create table if not exists supabase_migrations.schema_migrations (version text not null primary key, statements text[], name text);",
    )?;
    Ok(())
}

/// Applied versions, in order.
pub fn applied(client: &mut Client) -> Result<Vec<(String, Option<String>)>, PgError> {
    ensure_table(client)?;
    let rows = client.query(
        "select version, name from supabase_migrations.schema_migrations order by version",
        &[],
    )?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn with_lock<T>(
    client: &mut Client,
    f: impl FnOnce(&mut Client) -> Result<T, PgError>,
) -> Result<T, PgError> {
    client.execute("select pg_advisory_lock($1)", &[&LOCK_KEY])?;
    let out = f(client);
    let unlock = client.execute("select pg_advisory_unlock($1)", &[&LOCK_KEY]);
    let out = out?;
    unlock?;
    Ok(out)
}

/// Applies the pending migrations in order (at most `limit`), each in its own transaction. A
/// failing migration is rolled back entirely and stops the run; earlier ones stay applied.
/// Returns the versions applied.
pub fn up(
    client: &mut Client,
    migrations: &[MigrationFile],
    limit: Option<usize>,
) -> Result<Vec<String>, PgError> {
    with_lock(client, |client| {
        let done: Vec<String> = applied(client)?.into_iter().map(|(v, _)| v).collect();
        let mut out = Vec::new();
        for m in migrations.iter().filter(|m| !done.contains(&m.version)) {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            if is_no_transaction(&m.up) {
                run_outside_transaction(client, &m.up, &format!("{}_{}", m.version, m.name))?;
                client.execute(
                    "insert into supabase_migrations.schema_migrations (version, statements, name) values ($1, $2, $3)",
                    &[&m.version, &split_statements(&m.up), &m.name],
                )?;
                out.push(m.version.clone());
                continue;
            }
            let mut tx = client.transaction()?;
            tx.batch_execute(&m.up).map_err(|source| PgError::Harness {
                context: format!(
                    "migration {}_{} failed and was rolled back",
                    m.version, m.name
                ),
                source,
            })?;
            tx.execute(
                "insert into supabase_migrations.schema_migrations (version, statements, name) values ($1, $2, $3)",
                &[&m.version, &statements(&m.up), &m.name],
            )?;
            tx.commit()?;
            out.push(m.version.clone());
        }
        Ok(out)
    })
}

/// Invalid indexes (what a failed `create index concurrently` leaves behind).
fn invalid_indexes(client: &mut Client) -> Result<Vec<String>, PgError> {
    let rows = client.query(
        "select n.nspname::text, c.relname::text from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace where not i.indisvalid order by 1, 2",
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| schema_core::sql::ident::qualified(r.get(0), r.get(1)))
        .collect())
}

/// Runs `sql` one statement at a time in autocommit mode. On failure, indexes left invalid by a
/// failed concurrent build during this run are dropped, and the error names the statement.
fn run_outside_transaction(client: &mut Client, sql: &str, what: &str) -> Result<(), PgError> {
    let before = invalid_indexes(client)?;
    for (i, stmt) in split_statements(sql).iter().enumerate() {
        if let Err(source) = client.batch_execute(stmt) {
            let left: Vec<String> = invalid_indexes(client)?
                .into_iter()
                .filter(|x| !before.contains(x))
                .collect();
            for ix in &left {
                client.batch_execute(&format!("drop index concurrently if exists {ix}"))?;
            }
            let _ = client.batch_execute("reset lock_timeout");
            return Err(PgError::Harness {
                context: format!(
                    "migration {what} (outside a transaction) failed at statement {}; the statements before it stay applied and it is not recorded{}",
                    i + 1,
                    if left.is_empty() {
                        String::new()
                    } else {
                        format!("; dropped the invalid index(es) {}", left.join(", "))
                    }
                ),
                source,
            });
        }
    }
    client.batch_execute("reset lock_timeout")?;
    Ok(())
}

/// Reverts the last `n` applied migrations, newest first, each in its own transaction.
pub fn down(
    client: &mut Client,
    migrations: &[MigrationFile],
    n: usize,
) -> Result<Vec<String>, PgError> {
    with_lock(client, |client| {
        let done: Vec<String> = applied(client)?.into_iter().map(|(v, _)| v).collect();
        let mut out = Vec::new();
        for v in done.iter().rev().take(n) {
            let Some(m) = migrations.iter().find(|m| &m.version == v) else {
                return Err(PgError::Message(format!(
                    "migration {v} is applied but has no down script here: cannot revert it"
                )));
            };
            if !has_code(&m.down) && has_code(&m.up) {
                return Err(PgError::Message(format!(
                    "migration {}_{} has no down statements: write its down script (down/{}_{}.sql) to revert it",
                    m.version, m.name, m.version, m.name
                )));
            }
            if is_no_transaction(&m.down) {
                run_outside_transaction(
                    client,
                    &m.down,
                    &format!("{}_{} (down)", m.version, m.name),
                )?;
                client.execute(
                    "delete from supabase_migrations.schema_migrations where version = $1",
                    &[&m.version],
                )?;
                out.push(m.version.clone());
                continue;
            }
            // A large down script is split at commit markers: each part is its own transaction
            // (the lock table would overflow otherwise); the record goes with the last part.
            let parts = schema_core::sql::comment::split_at_commit_markers(&m.down);
            for (i, part) in parts.iter().enumerate() {
                let mut tx = client.transaction()?;
                tx.batch_execute(part.as_str())
                    .map_err(|source| PgError::Harness {
                        context: format!(
                            "reverting {}_{} failed and was rolled back{}",
                            m.version,
                            m.name,
                            if i > 0 {
                                format!(
                                    " (part {} of {}; the earlier parts stay committed)",
                                    i + 1,
                                    parts.len()
                                )
                            } else {
                                String::new()
                            }
                        ),
                        source,
                    })?;
                if i + 1 == parts.len() {
                    tx.execute(
                        "delete from supabase_migrations.schema_migrations where version = $1",
                        &[&m.version],
                    )?;
                }
                tx.commit()?;
            }
            out.push(m.version.clone());
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn split_keeps_quoted_and_dollar_quoted_semicolons() {
        let s = super::split_statements(
            "-- c; not a statement\nselect ';' as \"a;b\";\ndo $x$ begin perform 1; end $x$;\n/* ; */ create index concurrently i on t (c);\n-- trailing",
        );
        assert_eq!(
            s,
            vec![
                "-- c; not a statement\nselect ';' as \"a;b\";".to_string(),
                "do $x$ begin perform 1; end $x$;".to_string(),
                "/* ; */ create index concurrently i on t (c);".to_string(),
            ]
        );
    }

    #[test]
    fn statements_skip_comment_blocks() {
        let s = super::statements(
            "-- header\n-- more\n\ncreate table a ();\n\n-- note\ncreate index i on a (x);\n",
        );
        assert_eq!(
            s,
            vec![
                "create table a ();".to_string(),
                "-- note\ncreate index i on a (x);".to_string()
            ]
        );
    }
}
