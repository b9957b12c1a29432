//! The real Supabase CLI (npm `supabase`, pinned in tests/ts/package-lock.json) takes schemac's
//! output as a Supabase project: the output tree (what `schemac generate --out supabase` writes)
//! in the `supabase/` folder of `supabase init`, pushed with `supabase db push --db-url` (no
//! Docker; it parses config.toml, applies every migration and the seed) to a live PostgreSQL with
//! the Supabase platform; `supabase migration list` then reads the history back.

use schemac_tests::{platform_db, workspace_root};
use std::path::Path;
use std::process::{Command, Output};

fn supabase(workdir: &Path, args: &[&str]) -> Output {
    let bin = workspace_root().join("tests/ts/node_modules/supabase/dist/supabase.js");
    assert!(
        bin.is_file(),
        "{} is missing: run `npm ci` in tests/ts (scripts/test.sh does)",
        bin.display()
    );
    Command::new("node")
        .arg(&bin)
        .args(args)
        .arg("--workdir")
        .arg(workdir)
        .env("SUPABASE_TELEMETRY_DISABLED", "1")
        .env("DO_NOT_TRACK", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run node")
}

fn ok(what: &str, o: &Output) -> String {
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{what} failed ({}):\n{out}", o.status);
    out
}

#[test]
fn cli_pushes_the_generated_migrations_and_seed() {
    let (db, mut pg) = platform_db("supabase_cli", schema_pg::GrantMode::NoAutoGrant);
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path();
    ok("supabase init", &supabase(work, &["init", "--yes"]));
    // `schemac generate --out supabase` next to the CLI's config.toml: the committed output tree
    // (migrations, down scripts, seed, lock, types...) copied as is.
    let project = work.join("supabase");
    let generated = workspace_root().join("generated");
    let mut versions = Vec::new();
    let mut stack = vec![generated.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read generated/") {
            let p = e.expect("entry").path();
            let rel = p.strip_prefix(&generated).expect("inside generated/");
            if p.is_dir() {
                std::fs::create_dir_all(project.join(rel)).expect("mkdir");
                stack.push(p);
                continue;
            }
            if rel.starts_with("migrations") {
                let name = p.file_name().expect("name").to_string_lossy().to_string();
                versions.push(name.split('_').next().expect("version").to_string());
            }
            std::fs::copy(&p, project.join(rel)).expect("copy");
        }
    }
    versions.sort();
    assert!(!versions.is_empty(), "no migrations in generated/");
    let url = format!("{}?sslmode=disable", db.url_for("postgres"));
    let push = ok(
        "supabase db push",
        &supabase(
            work,
            &["db", "push", "--db-url", &url, "--include-seed", "--yes"],
        ),
    );
    let users: i64 = pg
        .query_one("select count(*) from public.profiles", &[])
        .expect("profiles exist")
        .get(0);
    assert_eq!(users, 2, "the seed ran (its users got profiles):\n{push}");
    let list = ok(
        "supabase migration list",
        &supabase(work, &["migration", "list", "--db-url", &url]),
    );
    for v in &versions {
        assert!(
            list.matches(v.as_str()).count() >= 2,
            "{v} is not listed as applied (local and remote):\n{list}"
        );
    }
}
