//! Live PostgreSQL 18 + pgvector: the generated migration, seed and down script applied for real
//! (up -> down -> up, in both Supabase grant modes), and the first checks that the generated
//! policies isolate users and keep them from making themselves admin.

use schema_pg::postgres::{Client, Transaction};
use schema_pg::{act_as, Actor, GrantMode, TestDatabase};
use schemac_tests::{apply, catalog, committed_migration, platform_db, workspace_root};
use uuid::Uuid;

const ALICE: &str = "00000000-0000-4000-8000-000000000001";
const BOB: &str = "00000000-0000-4000-8000-000000000002";
const CAROL: &str = "00000000-0000-4000-8000-0000000000c0";

fn count(client: &mut Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Nothing of the app is left: no tables, types, functions, policies, triggers on auth.users,
/// helper schema or publication members.
fn assert_app_gone(client: &mut Client) {
    let checks = [
        ("tables in public", "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'v', 'm', 'S', 'i')"),
        ("types in public", "select count(*) from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = 'public' and t.typtype in ('e', 'c', 'd') and t.typrelid = 0"),
        ("functions in public", "select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'"),
        ("schema private", "select count(*) from pg_namespace where nspname = 'private'"),
        ("policies", "select count(*) from pg_policies where schemaname = 'public'"),
        ("triggers on auth.users", "select count(*) from pg_trigger where tgrelid = 'auth.users'::regclass and not tgisinternal"),
        ("realtime tables", "select count(*) from pg_publication_tables where pubname = 'supabase_realtime'"),
    ];
    for (what, sql) in checks {
        assert_eq!(
            count(client, sql),
            0,
            "after the down script, {what} remain"
        );
    }
}

fn roundtrip(mode: GrantMode, label: &str) {
    let m = committed_migration();
    let (_db, mut pg) = platform_db(label, mode);
    let empty = catalog(&mut pg);
    apply(&mut pg, "up migration", &m.up);
    apply(&mut pg, "seed", &m.seed);
    let first = catalog(&mut pg);
    assert!(
        first.contains("public.messages"),
        "realtime publication lists messages:\n{first}"
    );
    assert_eq!(
        count(&mut pg, "select count(*) from public.profiles"),
        2,
        "the signup trigger made a profile per seeded user"
    );
    assert_eq!(
        count(&mut pg, "select count(*) from public.user_settings"),
        2
    );
    apply(&mut pg, "down script", &m.down);
    assert_app_gone(&mut pg);
    assert_eq!(
        catalog(&mut pg),
        empty,
        "down leaves the catalog as before up"
    );
    apply(&mut pg, "up migration (again)", &m.up);
    assert_eq!(
        catalog(&mut pg),
        first,
        "up after down gives the same catalog"
    );
    insta::assert_snapshot!(format!("catalog_{label}"), first);
}

#[test]
fn up_down_up_without_default_grants() {
    roundtrip(GrantMode::NoAutoGrant, "no_auto_grant");
}

#[test]
fn up_down_up_with_legacy_default_grants() {
    roundtrip(GrantMode::LegacyDefaultGrants, "legacy_grants");
}

fn uuid(s: &str) -> Uuid {
    s.parse().expect("uuid literal")
}

fn user(id: &str, email: &str) -> Actor {
    Actor::user(uuid(id), email)
}

/// Runs `f` inside a transaction acting as `actor`, rolled back afterwards.
fn as_actor<T>(pg: &mut Client, actor: &Actor, f: impl FnOnce(&mut Transaction<'_>) -> T) -> T {
    let mut tx = pg.transaction().expect("begin");
    act_as(&mut tx, actor).expect("act as");
    let out = f(&mut tx);
    tx.rollback().expect("rollback");
    out
}

fn rows(tx: &mut Transaction<'_>, sql: &str) -> i64 {
    tx.query(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .len() as i64
}

fn affected(tx: &mut Transaction<'_>, sql: &str) -> u64 {
    tx.execute(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn sqlstate(tx: &mut Transaction<'_>, sql: &str) -> String {
    // A savepoint keeps the outer transaction usable after the expected error.
    let mut sp = tx.transaction().expect("savepoint");
    let err = match sp.execute(sql, &[]) {
        Ok(n) => panic!("expected `{sql}` to be refused, but it affected {n} rows"),
        Err(e) => e,
    };
    let _ = sp.rollback();
    err.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| format!("no sqlstate: {err}"))
}

/// Loads the schema and seed, plus a third user (carol) with her own conversation, message,
/// document and API key, created as she would create them (through the API roles).
fn app_db(label: &str, mode: GrantMode) -> (TestDatabase, Client) {
    let m = committed_migration();
    let (db, mut pg) = platform_db(label, mode);
    apply(&mut pg, "up migration", &m.up);
    apply(&mut pg, "seed", &m.seed);
    apply(
        &mut pg,
        "carol",
        &format!(
            "insert into auth.users (id, email, aud, role, raw_user_meta_data) values ('{CAROL}', 'carol@example.com', 'authenticated', 'authenticated', '{{}}');"
        ),
    );
    let carol = user(CAROL, "carol@example.com");
    let mut tx = pg.transaction().expect("begin");
    act_as(&mut tx, &carol).expect("act as carol");
    tx.batch_execute(
        "insert into public.conversations (id, title) values ('30000000-0000-4000-8000-000000000001', 'Carol private');
         insert into public.messages (conversation_id, content) values ('30000000-0000-4000-8000-000000000001', 'secret');
         insert into public.documents (id, title) values ('40000000-0000-4000-8000-000000000001', 'Carol doc');
         select public.create_api_key('carol key');",
    )
    .unwrap_or_else(|e| panic!("carol's own writes: {}", schema_pg::error::describe_postgres_error(&e)));
    tx.commit().expect("commit");
    (db, pg)
}

fn isolation(mode: GrantMode, label: &str) {
    let (_db, mut pg) = app_db(label, mode);
    let alice = user(ALICE, "alice@example.com");
    let bob = user(BOB, "bob@example.com");
    as_actor(&mut pg, &alice, |tx| {
        // Alice sees her own rows...
        assert_eq!(rows(tx, "select id from public.conversations"), 1);
        assert_eq!(rows(tx, "select id from public.messages"), 2);
        assert_eq!(rows(tx, "select id from public.documents"), 1);
        // ...and none of carol's, whatever she asks for.
        for table in ["conversations", "documents", "api_keys"] {
            let sql = format!("select id from public.{table} where user_id = '{CAROL}'");
            assert_eq!(rows(tx, &sql), 0, "alice reads carol's {table}");
            let sql = format!("delete from public.{table} where user_id = '{CAROL}'");
            assert_eq!(affected(tx, &sql), 0, "alice deletes carol's {table}");
        }
        assert_eq!(rows(tx, "select m.id from public.messages m where m.conversation_id = '30000000-0000-4000-8000-000000000001'"), 0);
        assert_eq!(
            affected(
                tx,
                "update public.conversations set title = 'mine' where user_id <> auth.uid()"
            ),
            0
        );
        assert_eq!(
            affected(
                tx,
                "update public.documents set title = 'mine' where user_id <> auth.uid()"
            ),
            0
        );
        assert_eq!(
            affected(
                tx,
                "update public.api_keys set name = 'mine' where user_id <> auth.uid()"
            ),
            0
        );
        // Writing into carol's conversation or as carol is refused.
        assert_eq!(
            sqlstate(tx, "insert into public.messages (conversation_id, content) values ('30000000-0000-4000-8000-000000000001', 'hi')"),
            "42501"
        );
        assert_eq!(sqlstate(tx, &format!("insert into public.conversations (user_id, title) values ('{CAROL}', 'forged')")), "42501");
        assert_eq!(
            sqlstate(
                tx,
                &format!(
                    "insert into public.documents (user_id, title) values ('{CAROL}', 'forged')"
                )
            ),
            "42501"
        );
        // Moving her own conversation to carol: user_id is not an updatable column.
        assert_eq!(
            sqlstate(
                tx,
                &format!("update public.conversations set user_id = '{CAROL}'")
            ),
            "42501"
        );
        // Making herself admin: the role column is not updatable by users.
        assert_eq!(
            sqlstate(
                tx,
                "update public.profiles set role = 'admin' where id = auth.uid()"
            ),
            "42501"
        );
        assert_eq!(sqlstate(tx, "insert into public.profiles (id, username, role) values (auth.uid(), 'alice2', 'admin')"), "42501");
        // API key hashes are never readable, not even her own.
        assert_eq!(
            sqlstate(tx, "select key_hash from public.api_keys"),
            "42501"
        );
        // Usage rows are read-only for users.
        assert_eq!(
            sqlstate(
                tx,
                "insert into public.api_usage (user_id, model) values (auth.uid(), 'gpt')"
            ),
            "42501"
        );
    });
    // Bob is an editor member of alice's conversation: he reads it and writes as himself.
    as_actor(&mut pg, &bob, |tx| {
        assert_eq!(rows(tx, "select id from public.conversations"), 1);
        assert_eq!(rows(tx, "select id from public.messages"), 2);
        assert_eq!(
            rows(tx, "select id from public.documents"),
            1,
            "the linked document is shared"
        );
        assert_eq!(affected(tx, "insert into public.messages (conversation_id, content) values ('10000000-0000-4000-8000-000000000001', 'from bob')"), 1);
        assert_eq!(
            affected(tx, "update public.conversations set title = 'bob was here'"),
            0,
            "members cannot edit the conversation"
        );
        assert_eq!(
            rows(
                tx,
                &format!("select id from public.conversations where user_id = '{CAROL}'")
            ),
            0
        );
    });
    // Anonymous requests see nothing and write nothing.
    as_actor(&mut pg, &Actor::anon(), |tx| {
        assert_eq!(sqlstate(tx, "select id from public.conversations"), "42501");
        assert_eq!(
            sqlstate(tx, "insert into public.conversations (title) values ('x')"),
            "42501"
        );
    });
    // service_role bypasses RLS and sees every row.
    as_actor(&mut pg, &Actor::service_role(), |tx| {
        assert_eq!(rows(tx, "select id from public.conversations"), 2);
    });
}

#[test]
fn users_are_isolated_without_default_grants() {
    isolation(GrantMode::NoAutoGrant, "isolation_no_auto_grant");
}

#[test]
fn users_are_isolated_with_legacy_default_grants() {
    isolation(GrantMode::LegacyDefaultGrants, "isolation_legacy");
}

#[test]
fn admins_read_everything_but_write_only_their_own() {
    let (_db, mut pg) = app_db("admin", GrantMode::NoAutoGrant);
    apply(
        &mut pg,
        "promote bob",
        &format!("update public.profiles set role = 'admin' where id = '{BOB}'"),
    );
    let bob = user(BOB, "bob@example.com");
    as_actor(&mut pg, &bob, |tx| {
        assert_eq!(rows(tx, "select id from public.profiles"), 3);
        assert_eq!(rows(tx, "select id from public.conversations"), 2);
        assert_eq!(rows(tx, "select id from public.documents"), 2);
        assert_eq!(
            affected(
                tx,
                &format!("delete from public.conversations where user_id = '{CAROL}'")
            ),
            0
        );
    });
    let _ = workspace_root();
}

mod models {
    #![allow(dead_code)]
    include!("../../generated/models.rs");
}

/// The generated models read real rows: every table's row struct converts from a `postgres::Row`
/// of `select *` (as service_role, after the seed), and an insert struct's parameters bind.
#[test]
fn generated_models_read_and_write_real_rows() {
    use models::*;
    let (_db, mut pg) = app_db("models", GrantMode::NoAutoGrant);
    let mut tx = pg.transaction().expect("begin");
    act_as(&mut tx, &Actor::service_role()).expect("service_role");
    macro_rules! read_all {
        ($ty:ty) => {{
            let sql = format!("select * from public.{}", <$ty>::TABLE);
            let rows = tx
                .query(sql.as_str(), &[])
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert!(!rows.is_empty(), "{} has seed rows", <$ty>::TABLE);
            rows.iter()
                .map(|r| <$ty>::try_from(r).unwrap_or_else(|e| panic!("{}: {e}", <$ty>::TABLE)))
                .collect::<Vec<$ty>>()
        }};
    }
    let profiles = read_all!(Profiles);
    assert!(profiles
        .iter()
        .any(|p| p.username == "alice" && p.role == AppRole::User));
    let _ = read_all!(UserSettings);
    let convs = read_all!(Conversations);
    let _ = read_all!(ConversationMembers);
    let msgs = read_all!(Messages);
    assert!(msgs
        .iter()
        .any(|m| m.role == MessageRole::Assistant && m.sender_id.is_none()));
    let _ = read_all!(Documents);
    let chunks = read_all!(DocumentChunks);
    assert!(chunks.iter().all(|c| c
        .embedding
        .as_ref()
        .is_some_and(|e| e.as_slice().len() == 384)));
    let _ = read_all!(DocumentConversationLinks);
    let _ = read_all!(ApiKeys);
    // Nothing seeded in api_usage: write one through the insert struct, then read it back.
    let new = NewApiUsage {
        user_id: convs[0].user_id,
        api_key_id: None,
        model: "gpt-test".into(),
        prompt_tokens: Some(3),
        completion_tokens: None,
        created_at: None,
    };
    let values = new.values();
    let cols: Vec<String> = values.iter().map(|(c, _)| format!("\"{c}\"")).collect();
    let params: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "insert into public.api_usage ({}) values ({})",
        cols.join(", "),
        params.join(", ")
    );
    let refs: Vec<&(dyn postgres_types::ToSql + Sync)> = values.iter().map(|(_, p)| *p).collect();
    tx.execute(sql.as_str(), &refs)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let usage = read_all!(ApiUsage);
    assert_eq!(usage[0].model, "gpt-test");
    assert_eq!(
        usage[0].tokens_used, 3,
        "generated column: prompt 3 + completion default 0"
    );
}
