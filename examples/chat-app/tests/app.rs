//! Runs the chat app against a live database (embedded PostgreSQL 18 + pgvector with the Supabase
//! platform and the committed migration of `schema.yaml`), each step in its own transaction acting
//! as a signed-in user (role `authenticated` plus JWT claims, as the data API does): alice creates
//! a conversation, writes, shares it with bob, adds a searchable document; bob reads, writes as an
//! editor and searches; carol, a stranger, sees and changes nothing.

use chat_app::*;
use schema_pg::postgres::Client;
use schema_pg::{act_as, install_supabase_platform, shared, Actor, GrantMode, TestDatabase};
use schemac_tests::committed_migration;
use uuid::Uuid;

const ALICE: Uuid = Uuid::from_u128(0xa11ce000_0000_4000_8000_000000000001);
const BOB: Uuid = Uuid::from_u128(0xb0b00000_0000_4000_8000_000000000002);
const CAROL: Uuid = Uuid::from_u128(0xca401000_0000_4000_8000_000000000003);

fn user(id: Uuid) -> Actor {
    let name = match id {
        ALICE => "alice",
        BOB => "bob",
        _ => "carol",
    };
    Actor::user(id, &format!("{name}@example.com"))
}

/// Runs one request as `who`, committed on success; the error (with its SQLSTATE) otherwise.
fn as_user<T>(
    pg: &mut Client,
    who: Uuid,
    f: impl FnOnce(&mut schema_pg::postgres::Transaction<'_>) -> Result<T, postgres::Error>,
) -> Result<T, String> {
    let mut tx = pg.transaction().expect("begin");
    act_as(&mut tx, &user(who)).expect("act as user");
    match f(&mut tx) {
        Ok(v) => {
            tx.commit().expect("commit");
            Ok(v)
        }
        Err(e) => Err(e
            .code()
            .map(|c| c.code().to_string())
            .unwrap_or_else(|| e.to_string())),
    }
}

/// An embedding of 384 dimensions pointing mostly along `axis`.
fn embedding(axis: usize) -> Vec<f32> {
    (0..384)
        .map(|i| if i == axis { 1.0 } else { 0.01 })
        .collect()
}

fn setup() -> (TestDatabase, Client) {
    let m = committed_migration();
    let db = TestDatabase::create(shared(), "chat_app").expect("create test database");
    let mut admin = db.connect_admin().expect("connect as superuser");
    install_supabase_platform(&mut admin, GrantMode::NoAutoGrant).expect("Supabase platform");
    let mut pg = db.connect_as("postgres").expect("connect as postgres");
    pg.batch_execute(&m.up)
        .expect("apply the committed migration");
    // Fixture users sign up: the trigger on auth.users creates their profiles and settings.
    for id in [ALICE, BOB, CAROL] {
        let email = user(id)
            .claims()
            .get("email")
            .and_then(|e| e.as_str())
            .unwrap_or_default()
            .to_string();
        pg.execute(
            "insert into auth.users (id, email, aud, role, raw_user_meta_data) values ($1, $2, 'authenticated', 'authenticated', '{}')",
            &[&id, &email],
        )
        .expect("create auth user");
    }
    let profiles: i64 = pg
        .query_one("select count(*) from public.profiles", &[])
        .expect("count")
        .get(0);
    assert_eq!(profiles, 3, "the signup trigger made a profile per user");
    (db, pg)
}

#[test]
fn chat_app_under_rls() {
    let (_db, mut pg) = setup();

    // Alice starts a conversation and writes in it.
    let conv =
        as_user(&mut pg, ALICE, |db| create_conversation(db, "Launch plan")).expect("create");
    as_user(&mut pg, ALICE, |db| {
        post(db, conv, "What goes on the checklist?")
    })
    .expect("post");
    let listed = as_user(&mut pg, ALICE, |db| conversations(db)).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].user_id, ALICE,
        "the owner is auth.uid() by default"
    );
    assert_eq!(listed[0].title, "Launch plan");

    // Nobody else sees it yet, and a stranger cannot write into it.
    assert!(as_user(&mut pg, BOB, |db| conversations(db))
        .expect("list")
        .is_empty());
    assert_eq!(
        as_user(&mut pg, CAROL, |db| post(db, conv, "hi")).unwrap_err(),
        "42501",
        "RLS refuses a message into someone else's conversation"
    );
    assert_eq!(
        as_user(&mut pg, BOB, |db| share(db, conv, BOB, MemberRole::Editor)).unwrap_err(),
        "42501",
        "only the owner adds members"
    );

    // Alice shares it with Bob as an editor; Bob now reads it and writes as himself.
    as_user(&mut pg, ALICE, |db| {
        share(db, conv, BOB, MemberRole::Editor)
    })
    .expect("share");
    let seen = as_user(&mut pg, BOB, |db| conversations(db)).expect("list");
    assert_eq!(seen.iter().map(|c| c.id).collect::<Vec<_>>(), [conv]);
    as_user(&mut pg, BOB, |db| {
        post(db, conv, "Migrations, policies, backups.")
    })
    .expect("bob posts");
    let msgs = as_user(&mut pg, BOB, |db| messages(db, conv)).expect("messages");
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].sender_id, Some(ALICE));
    assert_eq!(msgs[1].sender_id, Some(BOB));
    assert!(
        msgs.iter().all(|m| m.role == MessageRole::User),
        "the role column decodes into the enum"
    );
    assert_eq!(msgs[1].content, "Migrations, policies, backups.");
    assert_eq!(msgs[0].metadata, serde_json::json!({}));
    assert_eq!(msgs[0].tokens_used, None);
    // Carol still sees nothing.
    assert!(as_user(&mut pg, CAROL, |db| messages(db, conv))
        .expect("messages")
        .is_empty());

    // Renaming: the owner may, a member's update matches no row.
    assert_eq!(
        as_user(&mut pg, ALICE, |db| rename(db, conv, "Launch plan v2")).expect("rename"),
        1
    );
    assert_eq!(
        as_user(&mut pg, BOB, |db| rename(db, conv, "Bob's now")).expect("rename"),
        0
    );
    let title = as_user(&mut pg, BOB, |db| conversations(db)).expect("list")[0]
        .title
        .clone();
    assert_eq!(title, "Launch plan v2");

    // Alice adds a document to the conversation; its chunks are searchable by members only.
    let doc = as_user(&mut pg, ALICE, |db| {
        add_document(
            db,
            "Launch checklist",
            &[
                ("1. Migrations.", embedding(0)),
                ("2. Policies and backups.", embedding(1)),
            ],
            conv,
        )
    })
    .expect("add document");
    let found = as_user(&mut pg, BOB, |db| search(db, &embedding(1), 5)).expect("search");
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].document_id, doc);
    assert_eq!(
        found[0].content, "2. Policies and backups.",
        "nearest first"
    );
    assert!(found[0].similarity > found[1].similarity);
    assert!(as_user(&mut pg, CAROL, |db| search(db, &embedding(1), 5))
        .expect("search")
        .is_empty());
    // The embedding went in as a vector(384) and comes back equal.
    let stored: Vec<f32> = as_user(&mut pg, ALICE, |db| {
        db.query_one(
            "select embedding from public.document_chunks where document_id = $1 and chunk_index = 0",
            &[&doc],
        )
        .and_then(|r| r.try_get::<_, pgvector::Vector>(0))
        .map(|v| v.to_vec())
    })
    .expect("read back");
    assert_eq!(stored, embedding(0));
}
