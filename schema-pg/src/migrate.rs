//! Applying and reverting migrations on a live database, the way the Supabase CLI records them:
//! one transaction per migration, under an advisory lock, each applied version recorded in
//! `supabase_migrations.schema_migrations (version, statements, name)`.

use crate::error::PgError;
use postgres::Client;
use schema_core::emit::lock::{sha256_hex, Lock};
use schema_core::generate::{migration_paths, LOCK_FILE};
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

/// Reads the migrations recorded in `dir`'s lock file (the output directory of `schemac
/// generate`), in order, refusing any file whose content no longer matches its recorded SHA-256.
pub fn load_dir(dir: &Path) -> Result<Vec<MigrationFile>, PgError> {
    let lock_path = dir.join(LOCK_FILE);
    let text = std::fs::read_to_string(&lock_path).map_err(|e| {
        PgError::Message(format!(
            "cannot read `{}`: {e} (run `schemac generate` first)",
            lock_path.display()
        ))
    })?;
    let lock = Lock::from_json(&text).map_err(|e| {
        PgError::Message(format!(
            "`{}` is not a schemac lock file: {e}",
            lock_path.display()
        ))
    })?;
    let mut out = Vec::new();
    for m in &lock.migrations {
        let (u, d) = migration_paths(m);
        let read = |rel: &str, sha: &str| -> Result<String, PgError> {
            let p = dir.join(rel);
            let t = std::fs::read_to_string(&p)
                .map_err(|e| PgError::Message(format!("cannot read `{}`: {e}", p.display())))?;
            if sha256_hex(&t) != sha {
                return Err(PgError::Message(format!(
                    "`{}` was edited after it was generated; applied migrations are never edited",
                    p.display()
                )));
            }
            Ok(t)
        };
        out.push(MigrationFile {
            version: m.version.clone(),
            name: m.name.clone(),
            up: read(&u, &m.up_sha256)?,
            down: read(&d, &m.down_sha256)?,
        });
    }
    Ok(out)
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
