//! `schemac diff --database-url`: a freshly migrated database shows no drift (policies, defaults
//! and indexes compare by meaning, not text); hand-made changes are each reported, the generated
//! fix removes them all, and the fix's undo brings them back.

use schema_pg::drift::{drift, Finding, Kind};
use schema_pg::postgres::Client;
use schema_pg::{install_supabase_platform, shared, GrantMode, TestDatabase};
use schemac_tests::{committed_migration, committed_ups};

fn migrated(label: &str) -> (TestDatabase, Client) {
    let db = TestDatabase::create(shared(), label).expect("database");
    install_supabase_platform(
        &mut db.connect_admin().expect("admin"),
        GrantMode::LegacyDefaultGrants,
    )
    .expect("platform");
    let mut c = db.connect_as("postgres").expect("postgres");
    for up in committed_ups() {
        c.batch_execute(&up).expect("migration applies");
    }
    (db, c)
}

fn show(f: &[Finding]) -> String {
    f.iter()
        .map(|x| format!("{} {}: {}\n", x.kind.name(), x.object, x.detail))
        .collect()
}

#[test]
fn a_fresh_database_has_no_drift() {
    let (_db, mut c) = migrated("drift_clean");
    let f = drift(&mut c, &committed_migration().lock.schema).expect("drift");
    assert!(
        f.is_empty(),
        "unexpected drift on a freshly migrated database:\n{}",
        show(&f)
    );
}

#[test]
fn hand_made_changes_are_found_fixed_and_undone() {
    let (_db, mut c) = migrated("drift_tampered");
    let schema = committed_migration().lock.schema;
    c.batch_execute(
        "drop policy \"api_keys_select_authenticated\" on public.api_keys;
         drop policy \"documents_delete_authenticated\" on public.documents;
         create policy \"documents_delete_authenticated\" on public.documents for delete using (true);
         create policy \"sneaky\" on public.messages for select using (true);
         drop index public.messages_sender_id_idx;
         create index extra_idx on public.documents (title);
         alter table public.conversations alter column is_archived set default true;
         alter table public.user_settings disable row level security;
         grant update on public.profiles to authenticated;
         create or replace function public.usage_summary(from_ts timestamptz, to_ts timestamptz)
           returns table (day date, model text, requests bigint, prompt_tokens bigint, completion_tokens bigint, tokens_used bigint)
           language sql stable set search_path = '' as $$ select null::date, null::text, 0::bigint, 0::bigint, 0::bigint, 0::bigint $$;
         drop trigger documents_set_updated_at on public.documents;
         alter publication supabase_realtime drop table public.documents;",
    )
    .expect("tampering");
    let found = drift(&mut c, &schema).expect("drift");
    let expect = [
        (
            Kind::Missing,
            "policy api_keys_select_authenticated on api_keys",
        ),
        (
            Kind::Different,
            "policy documents_delete_authenticated on documents",
        ),
        (Kind::Extra, "policy sneaky on messages"),
        (Kind::Missing, "index messages_sender_id_idx on messages"),
        (Kind::Extra, "index extra_idx on documents"),
        (Kind::Different, "column conversations.is_archived"),
        (Kind::Different, "row level security on user_settings"),
        (Kind::Different, "grants on profiles"),
        (Kind::Different, "function public.usage_summary"),
        (
            Kind::Missing,
            "trigger documents_set_updated_at on public.documents",
        ),
        (Kind::Different, "realtime for documents"),
    ];
    for (kind, object) in expect {
        assert!(
            found.iter().any(|f| f.kind == kind && f.object == object),
            "not reported: {} {object}\nfound:\n{}",
            kind.name(),
            show(&found)
        );
    }
    assert_eq!(
        found.len(),
        expect.len(),
        "only the planted changes are reported:\n{}",
        show(&found)
    );
    let fix: Vec<String> = found.iter().flat_map(|f| f.fix.clone()).collect();
    c.batch_execute(&fix.join("\n")).unwrap_or_else(|e| {
        panic!(
            "fix: {}\n{}",
            schema_pg::error::describe_postgres_error(&e),
            fix.join("\n")
        )
    });
    let after = drift(&mut c, &schema).expect("drift");
    assert!(
        after.is_empty(),
        "drift left after the fix:\n{}",
        show(&after)
    );
    let undo: Vec<String> = found.iter().rev().flat_map(|f| f.undo.clone()).collect();
    c.batch_execute(&undo.join("\n")).unwrap_or_else(|e| {
        panic!(
            "undo: {}\n{}",
            schema_pg::error::describe_postgres_error(&e),
            undo.join("\n")
        )
    });
    let again = drift(&mut c, &schema).expect("drift");
    assert_eq!(
        show(&again),
        show(&found),
        "the undo restores the drifted state"
    );
}

/// Drift in what decides who can do what: a function switched to `security definer` (it then
/// reads every user's rows), a definer helper switched to invoker, a changed search_path, an
/// extra EXECUTE grant, the signup trigger on `auth.users` disabled, replica identity, forced RLS.
/// Each is reported, the fix removes them all, and the undo brings them back.
#[test]
fn security_relevant_attributes_are_found_fixed_and_undone() {
    let (db, _) = migrated("drift_security");
    let mut c = db.connect_admin().expect("admin");
    let schema = committed_migration().lock.schema;
    c.batch_execute(
        "alter function public.match_document_chunks security definer;
         alter function private.shared_document_ids security invoker;
         alter function public.create_api_key set search_path = public;
         grant execute on function public.usage_summary to anon;
         alter table auth.users disable trigger on_auth_user_created;
         alter table public.messages replica identity default;
         alter table public.documents force row level security;",
    )
    .expect("tampering");
    let found = drift(&mut c, &schema).expect("drift");
    let expect = [
        (
            "function public.match_document_chunks",
            "security invoker (found security definer)",
        ),
        (
            "function private.shared_document_ids",
            "security definer (found security invoker)",
        ),
        ("function public.create_api_key", "settings"),
        ("function public.usage_summary", "execute privileges"),
        (
            "trigger on_auth_user_created on auth.users",
            "found `disable`",
        ),
        (
            "replica identity of messages",
            "expected full, found default",
        ),
        ("forced row level security on documents", "found forced"),
    ];
    for (object, detail) in expect {
        assert!(
            found.iter().any(|f| f.kind == Kind::Different
                && f.object == object
                && f.detail.contains(detail)),
            "not reported: {object} ({detail})\nfound:\n{}",
            show(&found)
        );
    }
    assert_eq!(
        found.len(),
        expect.len(),
        "only the planted changes:\n{}",
        show(&found)
    );
    let fix: Vec<String> = found.iter().flat_map(|f| f.fix.clone()).collect();
    c.batch_execute(&fix.join("\n")).unwrap_or_else(|e| {
        panic!(
            "fix: {}\n{}",
            schema_pg::error::describe_postgres_error(&e),
            fix.join("\n")
        )
    });
    let after = drift(&mut c, &schema).expect("drift");
    assert!(
        after.is_empty(),
        "drift left after the fix:\n{}",
        show(&after)
    );
    let undo: Vec<String> = found.iter().rev().flat_map(|f| f.undo.clone()).collect();
    c.batch_execute(&undo.join("\n")).unwrap_or_else(|e| {
        panic!(
            "undo: {}\n{}",
            schema_pg::error::describe_postgres_error(&e),
            undo.join("\n")
        )
    });
    assert_eq!(
        show(&drift(&mut c, &schema).expect("drift")),
        show(&found),
        "the undo restores the drifted state"
    );
}

/// `schemac diff --write` output stays out of the migration chain: the repair script (written
/// to `repairs/`) fixes the drifted database, while the chain still replays on a fresh database
/// and neither `schemac migrate` nor the Supabase CLI (which read `migrations/`) pick it up.
#[test]
fn the_repair_script_fixes_the_database_and_keeps_the_chain_replayable() {
    use schema_core::emit::EmitOptions;
    use schema_core::generate::{plan, GenerateOptions};
    use schema_pg::migrate;
    let tmp = tempfile::tempdir().expect("tempdir");
    let gen = tmp.path();
    let schema = committed_migration().lock.schema;
    let opts = GenerateOptions {
        emit: EmitOptions::default(),
        version: Some("20260101000000".into()),
        name: None,
        reset: false,
        now_version: "20990101000000".into(),
    };
    let mut files = plan(&schema, None, &opts).expect("plan").files;
    let (db, _) = migrated("drift_repair");
    let mut c = db.connect_admin().expect("admin");
    c.batch_execute(
        "drop index public.messages_sender_id_idx;
         alter function public.match_document_chunks security definer;
         alter table public.user_settings disable row level security;",
    )
    .expect("tampering");
    let found = drift(&mut c, &schema).expect("drift");
    assert_eq!(found.len(), 3, "{}", show(&found));
    let repair = schema_pg::drift::repair_files(
        &found,
        "20260102000000",
        "fix_drift",
        &EmitOptions::default(),
    );
    assert!(repair.iter().all(|f| f.path.starts_with("repairs/")));
    files.extend(repair.clone());
    for f in &files {
        let p = gen.join(&f.path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, &f.contents).expect("write");
    }
    // The repair fixes the drifted database (one transaction, like `psql -1 -f`).
    let mut tx = c.transaction().expect("begin");
    tx.batch_execute(&repair[0].contents)
        .expect("repair applies");
    tx.commit().expect("commit");
    assert!(drift(&mut c, &schema).expect("drift").is_empty());
    // The chain is unchanged and replays on a fresh database.
    let (chain, _) = migrate::load_dir_reporting(gen).expect("load");
    assert_eq!(chain.len(), 1, "the repair is not a migration");
    let fresh = TestDatabase::create(shared(), "drift_replay").expect("database");
    install_supabase_platform(
        &mut fresh.connect_admin().expect("admin"),
        GrantMode::LegacyDefaultGrants,
    )
    .expect("platform");
    let mut f = fresh.connect_as("postgres").expect("postgres");
    migrate::up(&mut f, &chain, None).expect("the chain replays on a fresh database");
    assert!(drift(&mut f, &schema).expect("drift").is_empty());
}

/// Runs `sql` with psql, stopping at the first error.
fn psql(url: &str, sql: &str) {
    let bins = schema_pg::PgBinaries::locate().expect("PostgreSQL binaries");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("script.sql");
    std::fs::write(&file, sql).expect("write script");
    let out = std::process::Command::new(bins.psql())
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(&file)
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql failed: {}\n{sql}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn exists(c: &mut Client, sql: &str) -> bool {
    c.query_one(sql, &[]).expect(sql).get(0)
}

/// `schemac diff --write` copies live names into comment lines: objects named with a line break
/// (`\n`, `\r`, U+2028) followed by SQL only ever become comment text. PostgreSQL and psql run the
/// written migration and its down script: the planted statements never run, and exactly the
/// expected fixes happen (the extra policy and index dropped, the extra table kept).
#[test]
fn hostile_live_names_stay_in_comments() {
    let (db, mut c) = migrated("drift_hostile");
    let schema = committed_migration().lock.schema;
    c.batch_execute(
        "create table public.\"x\ncreate table public.pwned_drift_table (); --\" ();
         create policy \"p\rcreate table public.pwned_drift_policy (); --\" on public.messages for select to authenticated using (true);
         create index \"i\u{2028}create table public.pwned_drift_index (); --\" on public.documents (title);
         create index \"j\ncreate table public.pwned_drift_index2 (); --\" on public.documents (created_at);",
    )
    .expect("hostile objects");
    let found = drift(&mut c, &schema).expect("drift");
    assert_eq!(found.len(), 4, "{}", show(&found));
    let files = schema_pg::drift::repair_files(
        &found,
        "20260101000000",
        "fix_drift",
        &schema_core::emit::EmitOptions::default(),
    );
    let (up, down) = (files[0].contents.clone(), files[1].contents.clone());
    assert!(up.contains("\n-- extra policy p create table public.pwned_drift_policy (); --"));
    let pwned = "select exists (select from pg_class where relname like 'pwned%')";
    let policy =
        "select exists (select from pg_policies where policyname like 'p%pwned_drift_policy%')";
    let index = "select exists (select from pg_class where relname like 'i%pwned_drift_index%')";
    let table = "select exists (select from pg_class where relname like 'x%pwned_drift_table%')";
    psql(&db.url_for("postgres"), &up);
    assert!(
        !exists(&mut c, pwned),
        "the migration ran a planted statement"
    );
    assert!(!exists(&mut c, policy) && !exists(&mut c, index));
    assert!(exists(&mut c, table), "extra tables are never dropped");
    psql(&db.url_for("postgres"), &down);
    assert!(
        !exists(&mut c, pwned),
        "the down script ran a planted statement"
    );
    assert!(exists(&mut c, policy) && exists(&mut c, index));
}
