//! `schemac migrate` and the real Supabase CLI (npm `supabase`, pinned in tests/ts/package-lock.json
//! and installed by scripts/test.sh with `npm ci`) agree: the generated migrations folder, including a
//! migration that runs outside a transaction, applies with `supabase db push --db-url` (no
//! Docker), and `supabase migration list` and `schemac migrate status` agree, whichever tool
//! applied the migrations. Both tools leave the same catalog.

use schema_core::emit::EmitOptions;
use schema_core::generate::{plan, GenerateOptions, LOCK_FILE};
use schema_core::Sources;
use schema_pg::migrate;
use schema_pg::{install_supabase_platform, shared, GrantMode, TestDatabase};
use schemac_tests::{catalog_with, workspace_root};
use std::path::{Path, PathBuf};
use std::process::Command;

fn supabase_bin() -> PathBuf {
    let p = workspace_root().join("tests/ts/node_modules/supabase/dist/supabase.js");
    assert!(
        p.is_file(),
        "the Supabase CLI is not installed at {}: run `npm ci` in tests/ts (scripts/test.sh does)",
        p.display()
    );
    p
}

fn supabase(args: &[&str], workdir: &Path) -> String {
    let out = Command::new("node")
        .arg(supabase_bin())
        .args(args)
        .arg("--workdir")
        .arg(workdir)
        .env("DO_NOT_TRACK", "1")
        .env("SUPABASE_TELEMETRY_DISABLED", "1")
        .output()
        .expect("run supabase");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "supabase {args:?} failed:\n{text}");
    text
}

/// (local, remote) versions of `supabase migration list`.
fn migration_list(url: &str, workdir: &Path) -> Vec<(String, String)> {
    let text = supabase(&["migration", "list", "--db-url", url], workdir);
    text.lines()
        .filter(|l| l.matches('|').count() == 2 && l.contains('`'))
        .map(|l| {
            let cols: Vec<String> = l
                .split('|')
                .map(|c| c.trim().trim_matches('`').trim().to_string())
                .collect();
            (cols[0].clone(), cols[1].clone())
        })
        .collect()
}

fn no_ssl(url: &str) -> String {
    format!(
        "{url}{}sslmode=disable",
        if url.contains('?') { '&' } else { '?' }
    )
}

fn database(label: &str) -> TestDatabase {
    let db = TestDatabase::create(shared(), label).expect("database");
    install_supabase_platform(
        &mut db.connect_admin().expect("admin"),
        GrantMode::NoAutoGrant,
    )
    .expect("platform");
    db
}

#[test]
fn supabase_db_push_and_schemac_migrate_agree() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let gen = tmp.path().join("generated");
    let yaml = std::fs::read_to_string(workspace_root().join("schema.yaml")).expect("schema.yaml");
    let compile = |text: &str| {
        let mut s = Sources::new();
        s.add("schema.yaml", text);
        schema_core::compile(&s).ir.expect("compiles")
    };
    let opts = |version: &str| GenerateOptions {
        emit: EmitOptions::default(),
        version: Some(version.into()),
        name: None,
        reset: false,
        now_version: "20990101000000".into(),
    };
    let write = |files: &[schema_core::generate::OutFile]| {
        for f in files {
            let p = gen.join(&f.path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, &f.contents).expect("write");
        }
    };
    write(
        &plan(&compile(&yaml), None, &opts("20260101000000"))
            .expect("plan")
            .files,
    );
    let lock = schema_core::emit::lock::Lock::from_json(
        &std::fs::read_to_string(gen.join(LOCK_FILE)).expect("lock"),
    )
    .expect("lock parses");
    // An index and a check on existing tables: a main migration and a non-transactional one.
    let edited = yaml
        .replace(
            "      tokens_used: int?\n",
            "      tokens_used: { type: int?, check: \"tokens_used >= 0\" }\n",
        )
        .replace(
            "      - { columns: [conversation_id, created_at] }\n",
            "      - { columns: [conversation_id, created_at] }\n      - { columns: [role, created_at] }\n",
        );
    let p2 = plan(&compile(&edited), Some(&lock), &opts("20260102000000")).expect("plan 2");
    assert_eq!(p2.new_migrations.len(), 2);
    write(&p2.files);
    // The Supabase CLI's layout: <workdir>/supabase/migrations/*.sql (it has no down scripts).
    let work = tmp.path().join("work");
    std::fs::create_dir_all(work.join("supabase/migrations")).expect("mkdir");
    let (files, _) = migrate::load_dir_reporting(&gen).expect("load");
    assert_eq!(files.len(), 3);
    assert!(migrate::is_no_transaction(&files[2].up));
    for m in &files {
        std::fs::write(
            work.join(format!("supabase/migrations/{}_{}.sql", m.version, m.name)),
            &m.up,
        )
        .expect("write");
    }
    let versions: Vec<String> = files.iter().map(|m| m.version.clone()).collect();

    // A: applied by the Supabase CLI.
    let a = database("sbcli_push");
    let url_a = no_ssl(&a.url_for("postgres"));
    let before = migration_list(&url_a, &work);
    assert!(
        before.iter().all(|(l, r)| !l.is_empty() && r.is_empty()),
        "{before:?}"
    );
    supabase(&["db", "push", "--db-url", &url_a, "--yes"], &work);
    let listed = migration_list(&url_a, &work);
    assert_eq!(
        listed,
        versions
            .iter()
            .map(|v| (v.clone(), v.clone()))
            .collect::<Vec<_>>(),
        "supabase migration list after supabase db push"
    );
    let mut ca = a.connect_as("postgres").expect("connect");
    let status: Vec<String> = migrate::applied(&mut ca)
        .expect("applied")
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(
        status, versions,
        "schemac migrate status sees what supabase db push applied"
    );
    assert!(
        migrate::up(&mut ca, &files, None).expect("up").is_empty(),
        "schemac has nothing left to apply"
    );

    // B: applied by schemac migrate; the Supabase CLI sees every version applied.
    let b = database("sbcli_schemac");
    let mut cb = b.connect_as("postgres").expect("connect");
    assert_eq!(migrate::up(&mut cb, &files, None).expect("up"), versions);
    let url_b = no_ssl(&b.url_for("postgres"));
    assert_eq!(
        migration_list(&url_b, &work),
        versions
            .iter()
            .map(|v| (v.clone(), v.clone()))
            .collect::<Vec<_>>(),
        "supabase migration list after schemac migrate up"
    );
    let pushed = supabase(&["db", "push", "--db-url", &url_b, "--yes"], &work);
    assert!(
        !pushed.contains("Applying migration"),
        "the Supabase CLI has nothing left to apply:\n{pushed}"
    );
    assert_eq!(
        catalog_with(&mut ca, true),
        catalog_with(&mut cb, true),
        "both tools leave the same catalog"
    );
}
