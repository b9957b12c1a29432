//! Incremental migrations, one fixture pair per change kind (`tests/diff/<case>/{before,after}.yaml`):
//! snapshots of the up and down scripts, and a live round trip on PostgreSQL: the data survives
//! the migration, the catalog equals a fresh apply of the after schema, and the down script
//! brings back the before catalog.

use schema_core::diff::{diff, Diff};
use schema_core::emit::{up, EmitOptions};
use schema_core::{ir, Diagnostics, Sources};
use schema_pg::postgres::Client;
use schema_pg::{install_supabase_platform, shared, GrantMode, TestDatabase};
use schemac_tests::{catalog_with, workspace_root};
use std::path::Path;

fn compile(path: &Path) -> ir::Schema {
    let mut sources = Sources::new();
    sources.add(
        path.file_name().expect("name").to_string_lossy(),
        std::fs::read_to_string(path).expect("read"),
    );
    let c = schema_core::compile(&sources);
    let rendered: String = c
        .diagnostics
        .iter()
        .map(|d| schema_core::render::human(d, &sources))
        .collect();
    c.ir.unwrap_or_else(|| panic!("{} does not compile:\n{rendered}", path.display()))
}

fn compute(dir: &Path) -> (ir::Schema, ir::Schema, Diff) {
    let before = compile(&dir.join("before.yaml"));
    let after = compile(&dir.join("after.yaml"));
    let mut d = Diagnostics::default();
    let m = diff(&before, &after, &mut d);
    let diags = d.into_sorted();
    assert!(diags.is_empty(), "{}: {diags:?}", dir.display());
    (before, after, m)
}

fn script(stmts: &[String]) -> String {
    stmts.join("\n\n")
}

fn db(label: &str) -> (TestDatabase, Client) {
    let db = TestDatabase::create(shared(), label).expect("database");
    install_supabase_platform(
        &mut db.connect_admin().expect("admin"),
        GrantMode::NoAutoGrant,
    )
    .expect("platform");
    let c = db.connect_as("postgres").expect("postgres");
    (db, c)
}

fn exec(c: &mut Client, what: &str, sql: &str) {
    let mut tx = c.transaction().expect("begin");
    if let Err(e) = tx.batch_execute(sql) {
        panic!(
            "{what} failed: {}\n--- sql ---\n{sql}",
            schema_pg::error::describe_postgres_error(&e)
        );
    }
    tx.commit().expect("commit");
}

/// A migration that runs outside a transaction: one statement at a time, each committed.
fn exec_each(c: &mut Client, what: &str, stmts: &[String]) {
    for s in stmts {
        if let Err(e) = c.batch_execute(s) {
            panic!(
                "{what} failed: {}\n--- statement ---\n{s}",
                schema_pg::error::describe_postgres_error(&e)
            );
        }
    }
}

fn row_counts(c: &mut Client, schema: &ir::Schema) -> Vec<(String, i64)> {
    schema
        .tables
        .iter()
        .map(|t| {
            let n: i64 = c
                .query_one(
                    format!("select count(*) from public.\"{}\"", t.name).as_str(),
                    &[],
                )
                .expect("count")
                .get(0);
            (t.name.clone(), n)
        })
        .collect()
}

fn case_dirs() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(workspace_root().join("tests/diff"))
        .expect("tests/diff")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    assert!(v.len() >= 20, "expected a fixture pair per change kind");
    v
}

#[test]
fn migration_scripts() {
    for dir in case_dirs() {
        let (_, _, m) = compute(&dir);
        assert!(
            !m.is_empty(),
            "{}: the change produced no migration",
            dir.display()
        );
        let mut text = format!(
            "-- summary\n{}\n\n-- up\n{}\n\n-- down\n{}\n",
            m.summary.join("\n"),
            script(&m.up),
            script(&m.down)
        );
        if let Some((u, d)) = &m.before {
            text = format!(
                "-- before (no transaction) up\n{}\n\n-- before (no transaction) down\n{}\n\n{text}",
                script(u),
                script(d)
            );
        }
        if let Some((u, d)) = &m.enum_values {
            text = format!(
                "-- enum values up\n{}\n\n-- enum values down\n{}\n\n{text}",
                script(u),
                script(d)
            );
        }
        if let Some((u, d)) = &m.after {
            text = format!(
                "{text}\n-- after (no transaction) up\n{}\n\n-- after (no transaction) down\n{}\n",
                script(u),
                script(d)
            );
        }
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        insta::assert_snapshot!(format!("diff_{name}"), text);
    }
}

#[test]
fn regenerating_an_unchanged_schema_gives_no_migration() {
    for dir in case_dirs() {
        for f in ["before.yaml", "after.yaml"] {
            let s = compile(&dir.join(f));
            let mut d = Diagnostics::default();
            assert!(
                diff(&s, &s.clone(), &mut d).is_empty(),
                "{}/{f}",
                dir.display()
            );
        }
    }
    let app = compile(&workspace_root().join("schema.yaml"));
    let mut d = Diagnostics::default();
    assert!(diff(&app, &app.clone(), &mut d).is_empty());
}

/// Applies before, fixtures, the migration; compares with a fresh after; reverts; compares with before.
fn live(dir: &Path) {
    let name = dir.file_name().expect("name").to_string_lossy().to_string();
    let (before, after, m) = compute(dir);
    let opts = EmitOptions::default();
    let (_a, mut a) = db(&format!("mig_{name}"));
    exec(&mut a, "init(before)", &up::migration(&before, &opts));
    schema_pg::harness::insert_fixtures(&mut a, &before, &Default::default())
        .unwrap_or_else(|e| panic!("{name}: fixtures: {e}"));
    let cat_before = catalog_with(&mut a, true);
    let rows_before = row_counts(&mut a, &before);
    if let Some((u, _)) = &m.enum_values {
        exec(&mut a, "enum values migration", &script(u));
    }
    if let Some((u, _)) = &m.before {
        exec_each(&mut a, "before", u);
    }
    exec(&mut a, "up", &script(&m.up));
    if let Some((u, _)) = &m.after {
        exec_each(&mut a, "after", u);
    }
    let (_b, mut b) = db(&format!("fresh_{name}"));
    exec(&mut b, "init(after)", &up::migration(&after, &opts));
    let migrated = catalog_with(&mut a, true);
    let fresh = catalog_with(&mut b, true);
    if migrated != fresh {
        let d = similar::TextDiff::from_lines(&fresh, &migrated);
        panic!(
            "{name}: migrated catalog differs from a fresh apply (- fresh, + migrated):\n{}",
            d.unified_diff().context_radius(1)
        );
    }
    // Data survives: every table that still exists keeps its rows (renamed tables included).
    for (t, n) in &rows_before {
        let renamed = after
            .hints
            .table_renames
            .iter()
            .find(|(f, _)| f == t)
            .map(|(_, to)| to.clone());
        let now = renamed.unwrap_or_else(|| t.clone());
        if after.tables.iter().any(|x| x.name == now) {
            let c: i64 = a
                .query_one(
                    format!("select count(*) from public.\"{now}\"").as_str(),
                    &[],
                )
                .expect("count")
                .get(0);
            assert_eq!(c, *n, "{name}: rows of {t} after the migration");
        }
    }
    if let Some((_, d)) = &m.after {
        exec_each(&mut a, "after down", d);
    }
    exec(&mut a, "down", &script(&m.down));
    if let Some((_, d)) = &m.before {
        exec_each(&mut a, "before down", d);
    }
    if let Some((_, d)) = &m.enum_values {
        exec(&mut a, "enum values down", &script(d));
    }
    let reverted = catalog_with(&mut a, true);
    if reverted != cat_before {
        let d = similar::TextDiff::from_lines(&cat_before, &reverted);
        panic!(
            "{name}: the down script does not restore the catalog (- before, + after down):\n{}",
            d.unified_diff().context_radius(1)
        );
    }
    let destructive = !after.hints.allow_destructive.is_empty();
    if !destructive {
        assert_eq!(
            row_counts(&mut a, &before),
            rows_before,
            "{name}: rows after the down script"
        );
    }
}

macro_rules! live_cases {
    ($($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            live(&workspace_root().join("tests/diff").join(stringify!($case)));
        }
    )*};
}

live_cases!(
    add_column,
    add_table,
    change_default_and_null,
    comments,
    constraints,
    drop_column,
    drop_table,
    enum_add_value,
    enum_remove_value,
    foreign_key_action,
    function_change,
    functions_and_triggers,
    grants,
    indexes,
    narrow_type_using,
    policies,
    rename_column,
    rename_column_dependents,
    rename_membership_table,
    rename_table,
    rename_table_dependents,
    rls_and_realtime,
    timestamps_off,
    widen_type,
);

#[test]
fn every_fixture_has_a_live_test() {
    let src =
        std::fs::read_to_string(workspace_root().join("tests/tests/migrations.rs")).expect("self");
    for dir in case_dirs() {
        let name = dir.file_name().expect("name").to_string_lossy().to_string();
        assert!(
            src.contains(&format!("    {name},")),
            "tests/diff/{name} has no live test in live_cases!"
        );
    }
}

#[test]
fn destructive_changes_are_refused_unless_declared() {
    let before = compile(&workspace_root().join("tests/diff/drop_column/before.yaml"));
    let after_text =
        std::fs::read_to_string(workspace_root().join("tests/diff/drop_column/after.yaml"))
            .expect("read")
            .replace("allow_destructive: [\"drop column notes.body\"]\n", "");
    let mut sources = Sources::new();
    sources.add("after.yaml", after_text);
    let after = schema_core::compile(&sources).ir.expect("compiles");
    let mut d = Diagnostics::default();
    let _ = diff(&before, &after, &mut d);
    let diags = d.into_sorted();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, schema_core::Code::Destructive);
    assert!(diags[0]
        .help
        .as_deref()
        .unwrap_or("")
        .contains("drop column notes.body"));
}

/// The story on the real schema, through the same code as `schemac generate` and
/// `schemac migrate`: add a column to messages, rename documents.description, add a policy;
/// apply to a database with data, check nothing was lost, roll back.
#[test]
fn editing_the_app_schema_gives_a_small_migration_that_applies_and_rolls_back_with_data() {
    use schema_core::generate::{plan, GenerateOptions};
    use schema_pg::migrate::{self, MigrationFile};
    let yaml = std::fs::read_to_string(workspace_root().join("schema.yaml")).expect("schema.yaml");
    let compile_text = |text: &str| {
        let mut s = Sources::new();
        s.add("schema.yaml", text);
        schema_core::compile(&s).ir.expect("compiles")
    };
    let v1 = compile_text(&yaml);
    let opts = |version: &str| GenerateOptions {
        emit: EmitOptions::default(),
        version: Some(version.into()),
        name: None,
        reset: false,
        now_version: "20990101000000".into(),
    };
    let p1 = plan(&v1, None, &opts("20260101000000")).expect("first plan");
    let lock_file = |p: &schema_core::generate::Plan| {
        p.files
            .iter()
            .find(|f| f.path == "schema.lock.json")
            .expect("lock")
            .contents
            .clone()
    };
    let lock1 = schema_core::emit::lock::Lock::from_json(&lock_file(&p1)).expect("lock parses");
    let edited = yaml
        .replace("      tokens_used: int?\n", "      tokens_used: int?\n      edited_at: timestamptz?\n")
        .replace("      description: text?\n", "      summary: { type: text?, renamed_from: description }\n")
        .replace("update: [title, description, content", "update: [title, summary, content")
        .replace(
            "      - { name: admins read all usage, for: select, role: admin }\n",
            "      - { name: admins read all usage, for: select, role: admin }\n      - { name: users delete their usage, for: delete, owner: user_id }\n",
        );
    assert_ne!(edited, yaml);
    let v2 = compile_text(&edited);
    let p2 = plan(&v2, Some(&lock1), &opts("20260102000000"))
        .unwrap_or_else(|e| panic!("second plan: {e}"));
    assert_eq!(p2.new_migrations.len(), 1, "one new migration");
    let rec = &p2.new_migrations[0];
    let file = |path: String| {
        p2.files
            .iter()
            .find(|f| f.path == path)
            .expect("file")
            .contents
            .clone()
    };
    let (up_path, down_path) = schema_core::generate::migration_paths(rec);
    let (up_sql, down_sql) = (file(up_path), file(down_path));
    insta::assert_snapshot!("story_up", up_sql);
    insta::assert_snapshot!("story_down", down_sql);
    assert!(
        up_sql
            .lines()
            .filter(|l| !l.starts_with("--") && !l.is_empty())
            .count()
            < 15,
        "the migration is small:\n{up_sql}"
    );
    // Apply: first migration, seed data, then the new one; check the data; roll back.
    let (_db, mut c) = db("story");
    let first = MigrationFile {
        version: "20260101000000".into(),
        name: "init".into(),
        up: up::migration(&v1, &EmitOptions::default()),
        down: schema_core::emit::down::migration(&v1, &EmitOptions::default()),
    };
    let second = MigrationFile {
        version: rec.version.clone(),
        name: rec.name.clone(),
        up: up_sql,
        down: down_sql,
    };
    migrate::up(&mut c, std::slice::from_ref(&first), None).expect("init applies");
    exec(
        &mut c,
        "seed",
        &schema_core::emit::seed::seed(&v1, &EmitOptions::default()),
    );
    exec(
        &mut c,
        "a description",
        "update public.documents set description = 'kept across the rename'",
    );
    let all = vec![first.clone(), second];
    assert_eq!(
        migrate::up(&mut c, &all, None).expect("second applies"),
        vec!["20260102000000".to_string()]
    );
    let kept: String = c
        .query_one("select summary from public.documents", &[])
        .expect("renamed column")
        .get(0);
    assert_eq!(kept, "kept across the rename");
    let msgs: i64 = c
        .query_one(
            "select count(*) from public.messages where edited_at is null",
            &[],
        )
        .expect("new column")
        .get(0);
    assert_eq!(msgs, 2);
    let applied: Vec<String> = migrate::applied(&mut c)
        .expect("applied")
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(applied, vec!["20260101000000", "20260102000000"]);
    assert_eq!(
        migrate::down(&mut c, &all, 1).expect("rolls back"),
        vec!["20260102000000".to_string()]
    );
    let back: String = c
        .query_one("select description from public.documents", &[])
        .expect("name restored")
        .get(0);
    assert_eq!(back, "kept across the rename");
    assert_eq!(migrate::applied(&mut c).expect("applied").len(), 1);
}

/// A migration that fails halfway leaves the database exactly as it was (one transaction each).
#[test]
fn a_migration_failing_halfway_changes_nothing() {
    use schema_pg::migrate::{self, MigrationFile};
    let (_db, mut c) = db("halfway");
    let ok = MigrationFile {
        version: "1".into(),
        name: "a".into(),
        up: "create table public.a (id int primary key);".into(),
        down: "drop table public.a;".into(),
    };
    let bad = MigrationFile {
        version: "2".into(),
        name: "b".into(),
        up: "create table public.b (id int primary key);\n\ninsert into public.a values (1), (1);"
            .into(),
        down: "drop table public.b;".into(),
    };
    let before = catalog_with(&mut c, true);
    let err = migrate::up(&mut c, &[ok.clone(), bad.clone()], None)
        .expect_err("the second migration fails");
    assert!(
        err.to_string().contains("2_b failed and was rolled back"),
        "{err}"
    );
    let applied: Vec<String> = migrate::applied(&mut c)
        .expect("applied")
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(
        applied,
        vec!["1"],
        "the first stays applied, the failed one is not recorded"
    );
    let b: Option<String> = c
        .query_one("select to_regclass('public.b')::text", &[])
        .expect("regclass")
        .get(0);
    assert_eq!(b, None, "table b was rolled back with its migration");
    assert_ne!(catalog_with(&mut c, true), before);
    migrate::down(&mut c, &[ok, bad], 1).expect("revert a");
    assert_eq!(catalog_with(&mut c, true), before);
}

/// Down scripts of large schemas still apply on a server with default lock settings: in one
/// transaction, dropping 700 tables overflows the lock table; `schemac migrate down` commits
/// every 100 tables (at the markers the down emitter writes).
#[test]
fn a_large_down_script_applies_without_overflowing_the_lock_table() {
    use schema_pg::migrate::{self, MigrationFile};
    let mut yaml = String::from("target: supabase\ntables:\n");
    for i in 0..700 {
        yaml.push_str(&format!(
            "  t{i:03}:\n    timestamps: true\n    columns:\n      id: {{ type: uuid, primary_key: true, default: gen_random_uuid() }}\n      user_id: {{ type: uuid, default: auth.uid(), references: auth.users, on_delete: cascade }}\n"
        ));
        if i > 0 {
            yaml.push_str(&format!(
                "      parent_id: {{ type: uuid?, references: t{:03}, on_delete: cascade }}\n",
                i - 1
            ));
        }
        yaml.push_str("      title: { type: text, unique: true, check: \"char_length(title) < 100\" }\n      body: text?\n");
        yaml.push_str("    indexes:\n      - { columns: [user_id, title] }\n      - { columns: [body] }\n      - { columns: [created_at] }\n");
        yaml.push_str("    policies:\n      - { for: all, owner: user_id }\n      - { for: select, authenticated: true }\n");
    }
    let mut sources = Sources::new();
    sources.add("big.yaml", yaml);
    let schema = schema_core::compile(&sources).ir.expect("compiles");
    let opts = EmitOptions::default();
    let m = MigrationFile {
        version: "1".into(),
        name: "big".into(),
        up: up::migration(&schema, &opts),
        down: schema_core::emit::down::migration(&schema, &opts),
    };
    assert_eq!(
        m.down
            .matches(schema_core::emit::down::COMMIT_MARKER)
            .count(),
        6,
        "700 tables: 6 commit points"
    );
    // Its own server: exhausting the lock table is server-wide and would fail other tests'
    // statements on a shared server.
    let server = schema_pg::ServerHandle::Embedded(
        schema_pg::EmbeddedServer::start().expect("a private server"),
    );
    let dbh = TestDatabase::create(&server, "big_down").expect("database");
    install_supabase_platform(
        &mut dbh.connect_admin().expect("admin"),
        GrantMode::NoAutoGrant,
    )
    .expect("platform");
    let mut c = dbh.connect_as("postgres").expect("postgres");
    migrate::up(&mut c, std::slice::from_ref(&m), None).expect("up applies");
    // The whole down script in one transaction runs out of lock slots...
    let mut tx = c.transaction().expect("begin");
    let err = tx
        .batch_execute(&m.down)
        .expect_err("one transaction overflows the lock table");
    assert_eq!(err.code().map(|c| c.code()), Some("53200"), "{err}");
    drop(tx);
    // ...while migrate down commits at the markers.
    migrate::down(&mut c, std::slice::from_ref(&m), 1).expect("down applies in parts");
    let left: i64 = c.query_one("select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'", &[]).expect("count").get(0);
    assert_eq!(left, 0);
    assert!(migrate::applied(&mut c).expect("applied").is_empty());
    drop(c);
    drop(dbh);
    drop(server);
}

fn write_files(dir: &Path, files: &[schema_core::generate::OutFile]) {
    for f in files {
        let p = dir.join(&f.path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, &f.contents).expect("write");
    }
}

/// `schemac migrate` applies every `.sql` file of the folder in version order, like the Supabase
/// CLI: the generated ones (with the non-transactional migration of concurrent builds and
/// validations), one created by `migration new` (a data migration), a non-transactional one
/// written by hand, and one dropped in without the lock knowing. A failed concurrent index build
/// is not recorded and leaves no invalid index; a migration without a down script is not reverted.
#[test]
fn every_sql_file_in_the_folder_is_applied_in_version_order() {
    use schema_core::emit::lock::Lock;
    use schema_core::generate::{new_migration, plan, GenerateOptions, LOCK_FILE};
    use schema_pg::migrate;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let yaml = std::fs::read_to_string(workspace_root().join("schema.yaml")).expect("schema.yaml");
    let compile_text = |text: &str| {
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
    let read_lock = || {
        Lock::from_json(&std::fs::read_to_string(dir.join(LOCK_FILE)).expect("lock"))
            .expect("lock parses")
    };
    let v1 = compile_text(&yaml);
    write_files(
        dir,
        &plan(&v1, None, &opts("20260101000000"))
            .expect("plan")
            .files,
    );
    // An index and a check on an existing table: a main migration and a concurrent one.
    let edited = yaml
        .replace(
            "      tokens_used: int?\n",
            "      tokens_used: { type: int?, check: \"tokens_used >= 0\" }\n",
        )
        .replace(
            "      - { columns: [conversation_id, created_at] }\n",
            "      - { columns: [conversation_id, created_at] }\n      - { columns: [role, created_at] }\n",
        );
    let p2 = plan(
        &compile_text(&edited),
        Some(&read_lock()),
        &opts("20260102000000"),
    )
    .unwrap_or_else(|e| panic!("second plan: {e}"));
    let names: Vec<String> = p2
        .new_migrations
        .iter()
        .map(|m| format!("{}_{}", m.version, m.name))
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    write_files(dir, &p2.files);
    let second = |rel: String| std::fs::read_to_string(dir.join(rel)).expect("read");
    let (u2, d2) = schema_core::generate::migration_paths(&p2.new_migrations[1]);
    assert!(
        migrate::is_no_transaction(&second(u2.clone())) && migrate::is_no_transaction(&second(d2)),
        "{u2} runs outside a transaction"
    );
    assert!(second(u2).contains("create index concurrently"));
    // A hand-written data migration (`schemac migration new backfill_tokens`).
    let f = new_migration(
        &read_lock(),
        "backfill_tokens",
        "20260103000000",
        false,
        None,
    )
    .expect("migration new");
    write_files(dir, &f);
    std::fs::write(
        dir.join(&f[0].path),
        format!(
            "{}update public.messages set tokens_used = 0 where tokens_used is null;\n",
            f[0].contents
        ),
    )
    .expect("write");
    std::fs::write(
        dir.join(&f[1].path),
        format!(
            "{}-- the backfilled values stay\nselect 1;\n",
            f[1].contents
        ),
    )
    .expect("write");
    // A hand-written index built concurrently (`migration new --no-transaction`).
    let f = new_migration(&read_lock(), "content_index", "20260104000000", true, None)
        .expect("migration new");
    write_files(dir, &f);
    std::fs::write(
        dir.join(&f[0].path),
        format!("{}create index concurrently if not exists messages_content_idx on public.messages (content);\n", f[0].contents),
    )
    .expect("write");
    std::fs::write(
        dir.join(&f[1].path),
        format!(
            "{}drop index concurrently if exists public.messages_content_idx;\n",
            f[1].contents
        ),
    )
    .expect("write");
    // A file the lock does not know (e.g. from `supabase migration new`), without a down script.
    std::fs::write(
        dir.join("migrations/20260105000000_comment.sql"),
        "comment on column public.messages.metadata is 'model parameters';\n",
    )
    .expect("write");
    let (files, warnings) = migrate::load_dir_reporting(dir).expect("load");
    assert!(warnings.is_empty(), "{warnings:?}");
    let versions: Vec<&str> = files.iter().map(|m| m.version.as_str()).collect();
    assert_eq!(
        versions,
        [
            "20260101000000",
            "20260102000000",
            "20260102000001",
            "20260103000000",
            "20260104000000",
            "20260105000000"
        ]
    );
    let (_db, mut c) = db("every_file");
    migrate::up(&mut c, &files[..1], None).expect("init");
    exec(
        &mut c,
        "seed",
        &schema_core::emit::seed::seed(&v1, &EmitOptions::default()),
    );
    let after_init = catalog_with(&mut c, true);
    let applied = migrate::up(&mut c, &files, None).expect("every file applies");
    assert_eq!(applied, versions[1..]);
    let recorded: Vec<String> = migrate::applied(&mut c)
        .expect("applied")
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(recorded, versions);
    let q = |c: &mut Client, sql: &str| -> i64 { c.query_one(sql, &[]).expect(sql).get(0) };
    assert_eq!(
        q(
            &mut c,
            "select count(*) from public.messages where tokens_used is null"
        ),
        0,
        "the data migration ran"
    );
    assert_eq!(q(&mut c, "select count(*) from pg_index where indexrelid = 'public.messages_content_idx'::regclass and indisvalid"), 1);
    assert_eq!(q(&mut c, "select count(*) from pg_constraint where conrelid = 'public.messages'::regclass and contype = 'c' and convalidated and pg_get_constraintdef(oid) like '%tokens_used >= 0%'"), 1, "the check was validated");
    // A concurrent build that fails (duplicates) is neither recorded nor left behind invalid.
    std::fs::write(
        dir.join("migrations/20260106000000_one_row.sql"),
        format!(
            "{}\ncreate unique index concurrently messages_one_row on public.messages ((true));\n",
            schema_core::diff::NO_TRANSACTION_MARKER
        ),
    )
    .expect("write");
    let (files, _) = migrate::load_dir_reporting(dir).expect("load");
    let err = migrate::up(&mut c, &files, None).expect_err("duplicates fail the build");
    assert!(err.to_string().contains("invalid index"), "{err}");
    assert_eq!(
        q(&mut c, "select count(*) from pg_index where not indisvalid"),
        0
    );
    assert_eq!(migrate::applied(&mut c).expect("applied").len(), 6);
    std::fs::remove_file(dir.join("migrations/20260106000000_one_row.sql")).expect("rm");
    // Without a down script, the dropped-in migration is not reverted...
    let (files, _) = migrate::load_dir_reporting(dir).expect("load");
    let err = migrate::down(&mut c, &files, 1).expect_err("no down script");
    assert!(err.to_string().contains("no down statements"), "{err}");
    // ...with one, everything reverts in reverse order, outside a transaction where marked.
    std::fs::write(
        dir.join("down/20260105000000_comment.sql"),
        "comment on column public.messages.metadata is null;\n",
    )
    .expect("write");
    let (files, _) = migrate::load_dir_reporting(dir).expect("load");
    let reverted = migrate::down(&mut c, &files, 5).expect("down");
    assert_eq!(reverted.len(), 5);
    assert_eq!(catalog_with(&mut c, true), after_init);
}

/// The blocking forms stay available, but only when the schema asks: a rewriting type change is
/// refused without `allow_blocking` (S0036); `allow_blocking: [all]` gives plain statements in
/// one transactional migration; a per-change key affects only that change.
#[test]
fn blocking_forms_need_an_explicit_opt_out() {
    let dir = workspace_root().join("tests/diff");
    let compile_with = |case: &str, edit: &dyn Fn(String) -> String| {
        let text = edit(std::fs::read_to_string(dir.join(case).join("after.yaml")).expect("read"));
        let mut s = Sources::new();
        s.add("after.yaml", text);
        schema_core::compile(&s).ir.expect("compiles")
    };
    let before = compile(&dir.join("widen_type/before.yaml"));
    let after = compile_with("widen_type", &|t| {
        t.replace("allow_blocking: [\"change type notes.stars\"]\n", "")
    });
    let mut d = Diagnostics::default();
    let _ = diff(&before, &after, &mut d);
    let diags = d.into_sorted();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].code, schema_core::Code::Blocking);
    assert!(diags[0]
        .help
        .as_deref()
        .unwrap_or("")
        .contains("change type notes.stars"));
    let before = compile(&dir.join("indexes/before.yaml"));
    let live_safe = compile(&dir.join("indexes/after.yaml"));
    let all = compile_with("indexes", &|t| {
        t.replacen(
            "target: supabase\n",
            "target: supabase\nallow_blocking: [all]\n",
            1,
        )
    });
    let one = compile_with("indexes", &|t| {
        t.replacen(
            "target: supabase\n",
            "target: supabase\nallow_blocking: [\"create index notes_title_idx\"]\n",
            1,
        )
    });
    let run = |after: &ir::Schema| {
        let mut d = Diagnostics::default();
        let m = diff(&before, after, &mut d);
        assert!(!d.has_errors());
        m
    };
    let (safe, blocking, partial) = (run(&live_safe), run(&all), run(&one));
    assert!(safe.after.is_some() && safe.before.is_some());
    assert!(!script(&safe.up).contains("create index"));
    assert!(blocking.after.is_none() && blocking.before.is_none());
    assert!(script(&blocking.up).contains("create index \"notes_title_idx\""));
    assert!(script(&partial.up).contains("create index \"notes_title_idx\""));
    let after_up = script(&partial.after.expect("the other index stays concurrent").0);
    assert!(after_up.contains("concurrently") && !after_up.contains("notes_title_idx"));
}

/// Custom policy expressions compare by parse tree, not text: whitespace, keyword case and
/// redundant parentheses give no migration; a real change does.
#[test]
fn policy_expressions_compare_by_parse_tree() {
    let schema = |using: &str| {
        let text = format!(
            "target: supabase\ntables:\n  notes:\n    columns:\n      id: {{ type: uuid, primary_key: true, default: gen_random_uuid() }}\n      stars: {{ type: int, default: \"0\" }}\n      title: text?\n    policies:\n      - {{ name: starred, for: select, using: \"{using}\" }}\n"
        );
        let mut s = Sources::new();
        s.add("schema.yaml", text);
        let c = schema_core::compile(&s);
        c.ir.unwrap_or_else(|| panic!("`{using}`: {:?}", c.diagnostics))
    };
    let base = schema("stars > 3 and title is not null");
    for same in [
        "stars>3   AND  title IS NOT NULL",
        "stars > 3\\tAND title  IS  NOT  NULL",
        "(stars > 3) and (title is not null)",
    ] {
        let mut d = Diagnostics::default();
        let m = diff(&base, &schema(same), &mut d);
        assert!(
            m.is_empty(),
            "`{same}` gave a migration:\n{}",
            script(&m.up)
        );
    }
    let mut d = Diagnostics::default();
    let m = diff(&base, &schema("stars > 4 and title is not null"), &mut d);
    assert!(!m.is_empty(), "a real change gives a migration");
}
