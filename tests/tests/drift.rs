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
    let (up, down) = schema_pg::drift::migration_scripts(&found);
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
