//! Tests against the process-wide shared server: test database lifecycle, external-URL handles, re-installation and PostgREST-style RLS behaviour.

mod common;

use std::sync::Mutex;

use common::{database_exists, ok, pg, sqlstate, try_in_savepoint};
use schema_pg::{
    act_as, install_supabase_platform, shared, Actor, GrantMode, ServerHandle, TestDatabase,
};
use uuid::Uuid;

#[test]
fn test_database_is_dropped_on_drop_even_when_panicking() {
    let server = shared();
    let mut admin = ok(server.connect_admin());

    let db = ok(TestDatabase::create(server, "Drop Me!"));
    let name = db.name().to_string();
    assert!(name.starts_with("schemac_t_drop_me__"), "{name}");
    // A connection left open does not prevent the drop (`with (force)`).
    let mut open = ok(db.connect_admin());
    pg(open.batch_execute("create table t (x int)"));
    assert!(database_exists(&mut admin, &name));
    drop(db);
    assert!(!database_exists(&mut admin, &name), "{name} survived drop");

    let seen = Mutex::new(String::new());
    let outcome = std::panic::catch_unwind(|| {
        let db = ok(TestDatabase::create(server, "panics"));
        *seen.lock().unwrap() = db.name().to_string();
        panic!("test body fails");
    });
    assert!(outcome.is_err());
    let name = seen.into_inner().unwrap();
    assert!(!name.is_empty());
    assert!(
        !database_exists(&mut admin, &name),
        "{name} survived a panic"
    );

    let db = ok(TestDatabase::create(server, "explicit"));
    let name = db.name().to_string();
    ok(db.drop_now());
    assert!(!database_exists(&mut admin, &name));
}

#[test]
fn external_handle_works_against_a_real_server() {
    // Treat the shared server as if it had been given by URL (the SCHEMAC_TEST_DATABASE_URL path).
    let external = ok(ServerHandle::external(shared().admin_url()));
    assert!(external.embedded().is_none());
    let db = ok(TestDatabase::create(&external, "external"));
    ok(install_supabase_platform(
        &mut ok(db.connect_admin()),
        GrantMode::NoAutoGrant,
    ));
    let mut postgres = ok(db.connect_as("postgres"));
    let who: String = pg(postgres.query_one("select current_user::text", &[])).get(0);
    assert_eq!(who, "postgres");
    assert_eq!(
        db.url_for("postgres"),
        external.url_for("postgres", db.name())
    );
}

#[test]
fn concurrent_installs_and_mode_switches_are_safe() {
    let server = shared();
    std::thread::scope(|scope| {
        for i in 0..3 {
            scope.spawn(move || {
                let db = ok(TestDatabase::create(server, &format!("concurrent_{i}")));
                let mut admin = ok(db.connect_admin());
                ok(install_supabase_platform(
                    &mut admin,
                    GrantMode::LegacyDefaultGrants,
                ));
                ok(install_supabase_platform(
                    &mut admin,
                    GrantMode::LegacyDefaultGrants,
                ));
                // Switching to the current platform revokes the legacy default privileges.
                ok(install_supabase_platform(
                    &mut admin,
                    GrantMode::NoAutoGrant,
                ));
                let mut postgres = ok(db.connect_as("postgres"));
                pg(postgres.batch_execute("create table public.later (id int)"));
                let mut tx = pg(postgres.transaction());
                ok(act_as(&mut tx, &Actor::anon()));
                assert_eq!(
                    sqlstate(try_in_savepoint(&mut tx, "select * from public.later")),
                    "42501"
                );
            });
        }
    });
}

#[test]
fn row_level_security_sees_the_acting_user() {
    let db = ok(TestDatabase::create(shared(), "rls"));
    ok(install_supabase_platform(
        &mut ok(db.connect_admin()),
        GrantMode::NoAutoGrant,
    ));
    let alice = Uuid::new_v4();
    let bob = Uuid::new_v4();

    let mut postgres = ok(db.connect_as("postgres"));
    pg(postgres.batch_execute(
        "create table public.todos (
           id bigint generated always as identity primary key,
           owner uuid not null default auth.uid(),
           title text not null
         );
         alter table public.todos enable row level security;
         grant select, insert on public.todos to authenticated, service_role;
         grant usage on sequence public.todos_id_seq to authenticated;
         create policy todos_own on public.todos for all to authenticated
           using ((select auth.uid()) = owner) with check ((select auth.uid()) = owner);",
    ));

    // Rows inserted by the users themselves, through the API roles.
    let mut authenticator = ok(db.connect_as("authenticator"));
    for (user, title) in [(alice, "alice's"), (bob, "bob's"), (alice, "alice's 2")] {
        let mut tx = pg(authenticator.transaction());
        ok(act_as(&mut tx, &Actor::user(user, "someone@example.com")));
        pg(tx.execute("insert into public.todos (title) values ($1)", &[&title]));
        pg(tx.commit());
    }

    let visible = |actor: &Actor, client: &mut schema_pg::postgres::Client| -> Vec<String> {
        let mut tx = pg(client.transaction());
        ok(act_as(&mut tx, actor));
        let rows = pg(tx.query("select title from public.todos order by id", &[]));
        rows.iter().map(|r| r.get(0)).collect()
    };
    assert_eq!(
        visible(&Actor::user(alice, "a@example.com"), &mut authenticator),
        ["alice's", "alice's 2"]
    );
    assert_eq!(
        visible(&Actor::user(bob, "b@example.com"), &mut authenticator),
        ["bob's"]
    );
    // service_role bypasses RLS.
    assert_eq!(visible(&Actor::service_role(), &mut authenticator).len(), 3);

    // WITH CHECK: alice cannot insert a row owned by bob (42501 = insufficient privilege / RLS).
    let mut tx = pg(authenticator.transaction());
    ok(act_as(&mut tx, &Actor::user(alice, "a@example.com")));
    let result = tx.execute(
        "insert into public.todos (owner, title) values ($1, 'forged')",
        &[&bob],
    );
    assert_eq!(sqlstate(result), "42501");
    drop(tx);

    // anon has no grant at all in NoAutoGrant mode.
    let mut tx = pg(authenticator.transaction());
    ok(act_as(&mut tx, &Actor::anon()));
    assert_eq!(
        sqlstate(tx.query("select * from public.todos", &[])),
        "42501"
    );
}

#[test]
fn app_metadata_claims_reach_sql() {
    let db = ok(TestDatabase::create(shared(), "claims"));
    ok(install_supabase_platform(
        &mut ok(db.connect_admin()),
        GrantMode::NoAutoGrant,
    ));
    let mut postgres = ok(db.connect_as("postgres"));
    let actor = Actor::user(Uuid::new_v4(), "t@example.com")
        .with_app_metadata(serde_json::json!({"provider": "email", "tenant_id": "acme"}));
    let mut tx = pg(postgres.transaction());
    ok(act_as(&mut tx, &actor));
    let tenant: String =
        pg(tx.query_one("select auth.jwt() -> 'app_metadata' ->> 'tenant_id'", &[])).get(0);
    assert_eq!(tenant, "acme");
}
