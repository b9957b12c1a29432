//! End-to-end: a private embedded server, two test databases set up concurrently with the Supabase platform in each grant mode, and full cleanup.

mod common;

use common::{database_exists, ok, pg, process_is_dead, sqlstate, try_in_savepoint};
use schema_pg::postgres::Client;
use schema_pg::{
    act_as, install_supabase_platform, is_supabase, Actor, EmbeddedServer, GrantMode, TestDatabase,
};
use uuid::Uuid;

#[test]
fn embedded_server_hosts_the_supabase_platform_in_both_grant_modes() {
    let server = ok(EmbeddedServer::start());
    let root = server.root_dir().to_path_buf();
    let postmaster = server.postmaster_pid().expect("server is running");
    assert!(server.data_dir().join("PG_VERSION").is_file());

    // Wal level as on Supabase.
    let mut admin = ok(server.connect_admin());
    let wal_level: String = pg(admin.query_one("show wal_level", &[])).get(0);
    assert_eq!(wal_level, "logical");

    // Two databases, created and set up concurrently (roles are cluster-wide: the platform
    // script must not race with itself on a fresh cluster).
    let modes = [GrantMode::NoAutoGrant, GrantMode::LegacyDefaultGrants];
    let databases: Vec<(GrantMode, TestDatabase)> = std::thread::scope(|scope| {
        let handles: Vec<_> = modes
            .into_iter()
            .map(|mode| {
                let server = &server;
                scope.spawn(move || {
                    let db = ok(TestDatabase::create(server, &format!("platform_{mode:?}")));
                    let mut admin = ok(db.connect_admin());
                    assert!(
                        !is_supabase(&mut admin),
                        "fresh database must not look like Supabase"
                    );
                    ok(install_supabase_platform(&mut admin, mode));
                    assert!(is_supabase(&mut admin));
                    (mode, db)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("setup thread"))
            .collect()
    });

    for (mode, db) in &databases {
        check_roles(&mut ok(db.connect_admin()));
        check_vector(db);
        check_sessions(db);
        check_postgres_can_build_on_auth_users(db);
        check_default_grants(db, *mode);
        // Installing again is a no-op.
        ok(install_supabase_platform(
            &mut ok(db.connect_admin()),
            *mode,
        ));
        check_default_grants_after_reinstall(db, *mode);
    }

    // Dropping the test databases removes them from the server.
    let names: Vec<String> = databases
        .iter()
        .map(|(_, db)| db.name().to_string())
        .collect();
    drop(databases);
    for name in &names {
        assert!(!database_exists(&mut admin, name), "{name} still exists");
    }
    drop(admin);

    // Dropping the server stops it and removes its directory.
    drop(server);
    assert!(
        process_is_dead(postmaster),
        "postmaster {postmaster} still running"
    );
    assert!(!root.exists(), "{} was not removed", root.display());
}

/// Role attributes and memberships as on hosted Supabase.
fn check_roles(admin: &mut Client) {
    let rows = pg(admin.query(
        "select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
                rolreplication, rolbypassrls
         from pg_roles
         where rolname in ('anon', 'authenticated', 'service_role', 'authenticator', 'postgres',
                           'supabase_auth_admin')
         order by rolname",
        &[],
    ));
    let actual: Vec<(String, [bool; 7])> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                [
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                ],
            )
        })
        .collect();
    //            super  inherit createrole createdb login  replication bypassrls
    let expected = vec![
        (
            "anon".to_string(),
            [false, true, false, false, false, false, false],
        ),
        (
            "authenticated".to_string(),
            [false, true, false, false, false, false, false],
        ),
        (
            "authenticator".to_string(),
            [false, false, false, false, true, false, false],
        ),
        (
            "postgres".to_string(),
            [false, true, true, true, true, true, true],
        ),
        (
            "service_role".to_string(),
            [false, true, false, false, false, false, true],
        ),
        (
            "supabase_auth_admin".to_string(),
            [false, false, false, false, true, false, false],
        ),
    ];
    assert_eq!(actual, expected);

    let timeouts: Vec<(String, Vec<String>)> = pg(admin.query(
        "select r.rolname, s.setconfig from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
         where s.setdatabase = 0 and r.rolname in ('anon', 'authenticated') order by 1",
        &[],
    ))
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(
        timeouts,
        vec![
            ("anon".to_string(), vec!["statement_timeout=3s".to_string()]),
            (
                "authenticated".to_string(),
                vec!["statement_timeout=8s".to_string()]
            ),
        ]
    );

    for member in ["authenticator", "postgres"] {
        for role in ["anon", "authenticated", "service_role"] {
            let can_set: bool = pg(admin.query_one(
                "select pg_has_role($1::text::name, $2::text::name, 'SET')",
                &[&member, &role],
            ))
            .get(0);
            assert!(can_set, "{member} cannot set role {role}");
        }
    }

    let owners: Vec<(String, String)> = pg(admin.query(
        "select nspname::text, pg_get_userbyid(nspowner)::text from pg_namespace
         where nspname in ('public', 'extensions', 'auth', 'supabase_migrations') order by 1",
        &[],
    ))
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(
        owners,
        vec![
            ("auth".into(), "supabase_auth_admin".into()),
            ("extensions".into(), "postgres".into()),
            ("public".into(), "postgres".into()),
            ("supabase_migrations".into(), "postgres".into()),
        ]
    );
    let publication_owner: String = pg(admin.query_one(
        "select pg_get_userbyid(pubowner)::text from pg_publication where pubname = 'supabase_realtime'",
        &[],
    ))
    .get(0);
    assert_eq!(publication_owner, "postgres");
}

/// pgvector lives in schema `extensions`, reachable from postgres' search_path.
fn check_vector(db: &TestDatabase) {
    let mut admin = ok(db.connect_admin());
    let schema: String = pg(admin.query_one(
        "select n.nspname::text from pg_extension e join pg_namespace n on n.oid = e.extnamespace
         where e.extname = 'vector'",
        &[],
    ))
    .get(0);
    assert_eq!(schema, "extensions");
    let v: String = pg(admin.query_one("select '[1,2,3]'::extensions.vector::text", &[])).get(0);
    assert_eq!(v, "[1,2,3]");

    let mut postgres = ok(db.connect_as("postgres"));
    let d: f64 = pg(postgres.query_one("select '[1,2]'::vector <-> '[4,6]'::vector", &[])).get(0);
    assert_eq!(d, 5.0);
}

/// `act_as` behaves like PostgREST: role and claims for the transaction only.
fn check_sessions(db: &TestDatabase) {
    let user = Uuid::new_v4();
    for login in ["postgres", "authenticator"] {
        let mut client = ok(db.connect_as(login));
        let mut tx = pg(client.transaction());
        ok(act_as(&mut tx, &Actor::user(user, "ada@example.com")));
        let row = pg(tx.query_one(
            "select auth.uid(), auth.role(), auth.email(), auth.jwt() ->> 'aud', current_user::text",
            &[],
        ));
        assert_eq!(row.get::<_, Option<Uuid>>(0), Some(user));
        assert_eq!(
            row.get::<_, Option<String>>(1).as_deref(),
            Some("authenticated")
        );
        assert_eq!(
            row.get::<_, Option<String>>(2).as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(
            row.get::<_, Option<String>>(3).as_deref(),
            Some("authenticated")
        );
        assert_eq!(row.get::<_, String>(4), "authenticated");
        // authenticated has no access to auth.users.
        assert_eq!(
            sqlstate(try_in_savepoint(&mut tx, "select * from auth.users")),
            "42501"
        );
        pg(tx.commit());

        // After the transaction: back to the login role, claims empty ('' — not NULL).
        let row = pg(client.query_one(
            "select current_setting('request.jwt.claims', true), current_user::text",
            &[],
        ));
        assert_eq!(row.get::<_, Option<String>>(0).as_deref(), Some(""));
        assert_eq!(row.get::<_, String>(1), login);

        let mut tx = pg(client.transaction());
        ok(act_as(&mut tx, &Actor::anon()));
        let row = pg(tx.query_one("select auth.uid(), auth.role(), current_user::text", &[]));
        assert_eq!(row.get::<_, Option<Uuid>>(0), None);
        assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("anon"));
        assert_eq!(row.get::<_, String>(2), "anon");
        pg(tx.rollback());
    }
}

/// Migrations run as the non-superuser postgres can reference and trigger on auth.users,
/// create schemas, publish tables and record their history.
fn check_postgres_can_build_on_auth_users(db: &TestDatabase) {
    let mut postgres = ok(db.connect_as("postgres"));
    let is_super: bool = pg(postgres.query_one(
        "select rolsuper from pg_roles where rolname = current_user",
        &[],
    ))
    .get(0);
    assert!(!is_super, "postgres must not be a superuser");
    pg(postgres.batch_execute(
        r#"
        create table public.profiles (
          id uuid primary key references auth.users (id) on delete cascade,
          email text
        );
        create function public.handle_new_user() returns trigger
          language plpgsql security definer set search_path = '' as $$
        begin
          insert into public.profiles (id, email) values (new.id, new.email);
          return new;
        end $$;
        create trigger on_auth_user_created after insert on auth.users
          for each row execute function public.handle_new_user();
        create schema private;
        alter publication supabase_realtime add table public.profiles;
        insert into supabase_migrations.schema_migrations (version, name, statements)
          values ('20260101000000', 'profiles', array['create table public.profiles ...']);
        "#,
    ));

    // GoTrue (here: the superuser) signs a user up: the trigger creates the profile...
    let mut admin = ok(db.connect_admin());
    let id = Uuid::new_v4();
    pg(admin.execute(
        "insert into auth.users (id, aud, role, email, created_at) values ($1, 'authenticated', 'authenticated', 'grace@example.com', now())",
        &[&id],
    ));
    let email: String =
        pg(postgres.query_one("select email from public.profiles where id = $1", &[&id])).get(0);
    assert_eq!(email, "grace@example.com");
    // ...and deleting the user cascades.
    pg(admin.execute("delete from auth.users where id = $1", &[&id]));
    let left: i64 = pg(postgres.query_one("select count(*) from public.profiles", &[])).get(0);
    assert_eq!(left, 0);
}

/// The grant mode decides whether tables created by postgres in public reach the API roles.
fn check_default_grants(db: &TestDatabase, mode: GrantMode) {
    let mut postgres = ok(db.connect_as("postgres"));
    pg(postgres.batch_execute(
        "create table public.notes (id bigint generated always as identity primary key, body text);
         insert into public.notes (body) values ('hello');",
    ));
    for actor in [
        Actor::anon(),
        Actor::user(Uuid::new_v4(), "u@example.com"),
        Actor::service_role(),
    ] {
        let mut tx = pg(postgres.transaction());
        ok(act_as(&mut tx, &actor));
        let result = try_in_savepoint(&mut tx, "select body from public.notes");
        match mode {
            GrantMode::LegacyDefaultGrants => {
                let rows = pg(result);
                assert_eq!(rows.len(), 1, "{} should see the row", actor.role());
            }
            GrantMode::NoAutoGrant => {
                assert_eq!(sqlstate(result), "42501", "{} must be denied", actor.role());
            }
        }
        pg(tx.rollback());
    }
}

fn check_default_grants_after_reinstall(db: &TestDatabase, mode: GrantMode) {
    let mut admin = ok(db.connect_admin());
    let entries: i64 = pg(admin.query_one(
        "select count(*) from pg_default_acl d join pg_namespace n on n.oid = d.defaclnamespace
         where n.nspname = 'public' and d.defaclrole = 'postgres'::regrole",
        &[],
    ))
    .get(0);
    let expected = match mode {
        GrantMode::LegacyDefaultGrants => 3,
        GrantMode::NoAutoGrant => 0,
    };
    assert_eq!(entries, expected, "default ACL entries in {mode:?}");
}
