//! Shared support for schemac's integration tests: workspace paths and the committed generated files.

pub mod fuzz;
pub mod oracle;

use schema_core::emit::lock::Lock;
use schema_pg::postgres::Client;
use std::path::PathBuf;

/// The workspace root (where `schema.yaml` and `generated/` live).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The committed first migration of `schema.yaml`: up, down and seed SQL.
pub struct Migration {
    pub version: String,
    pub up: String,
    pub down: String,
    pub seed: String,
    pub lock: Lock,
}

fn read(rel: &str) -> String {
    let path = workspace_root().join("generated").join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (run `schemac generate`)",
            path.display()
        )
    })
}

/// Reads `generated/` as recorded by its lock file.
pub fn committed_migration() -> Migration {
    let lock = Lock::from_json(&read(schema_core::generate::LOCK_FILE))
        .expect("generated/schema.lock.json parses");
    let first = lock
        .migrations
        .first()
        .expect("the lock records a migration")
        .clone();
    let (up, down) = schema_core::generate::migration_paths(&first);
    Migration {
        version: first.version.clone(),
        up: read(&up),
        down: read(&down),
        seed: read("seed.sql"),
        lock,
    }
}

/// Every committed migration of `generated/`, in order, as `schemac test` applies them.
pub fn committed_migrations() -> Vec<schema_pg::migrate::MigrationFile> {
    schema_pg::migrate::load_dir(&workspace_root().join("generated"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One migration holding `up` (a mutated copy of the committed one, for tests that break it).
pub fn single_migration(m: &Migration, up: &str) -> Vec<schema_pg::migrate::MigrationFile> {
    vec![schema_pg::migrate::MigrationFile {
        version: m.version.clone(),
        name: "init".into(),
        up: up.to_string(),
        down: m.down.clone(),
    }]
}

/// The up script of every committed migration, in the order the lock records them (what ships).
pub fn committed_ups() -> Vec<String> {
    let lock = Lock::from_json(&read(schema_core::generate::LOCK_FILE))
        .expect("generated/schema.lock.json parses");
    lock.migrations
        .iter()
        .map(|m| read(&schema_core::generate::migration_paths(m).0))
        .collect()
}

/// Loads every policy test file of the bundled schema (`tests/policies/*.yaml`), panicking with
/// rendered diagnostics if one is invalid.
pub fn policy_suite() -> schema_core::suite::Suite {
    policy_suite_in(&workspace_root(), "tests/policies")
}

/// The multi-tenant SaaS example: its directory, compiled schema, committed migrations and suite.
pub fn saas_example() -> (
    schema_core::ir::Schema,
    Vec<schema_pg::migrate::MigrationFile>,
    schema_core::suite::Suite,
) {
    let root = workspace_root().join("examples/multi-tenant-saas");
    let text = std::fs::read_to_string(root.join("schema.yaml")).expect("example schema");
    let mut sources = schema_core::Sources::new();
    sources.add("schema.yaml", text);
    let c = schema_core::compile(&sources);
    let ir = c.ir.expect("the example compiles");
    let migrations =
        schema_pg::migrate::load_dir(&root.join("generated")).unwrap_or_else(|e| panic!("{e}"));
    (ir, migrations, policy_suite_in(&root, "tests/policies"))
}

/// Loads every policy test file of `root/rel`.
pub fn policy_suite_in(root: &std::path::Path, rel: &str) -> schema_core::suite::Suite {
    let dir = root.join(rel);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/policies exists")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut suite = schema_core::suite::Suite::default();
    let mut sources = schema_core::Sources::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let name = format!("{rel}/{}", f.file_name().expect("name").to_string_lossy());
        let text = std::fs::read_to_string(f).expect("read");
        let id = sources.add(name.clone(), text.clone());
        let mut d = schema_core::Diagnostics::default();
        let s = schema_core::syntax::yaml::parse_suite(id, &name, &text, &mut d);
        let diags = d.into_sorted();
        assert!(
            diags.is_empty(),
            "{}",
            diags
                .iter()
                .map(|x| schema_core::render::human(x, &sources))
                .collect::<String>()
        );
        suite.extend(s);
    }
    suite
}

/// Everything of the app in the catalog, in a stable textual form (no OIDs).
pub fn catalog(client: &mut Client) -> String {
    catalog_with(client, false)
}

/// Like [`catalog`]; with `columns_by_name`, columns are listed by name instead of position (a
/// migrated table has added columns at the end, a freshly created one in declaration order).
pub fn catalog_with(client: &mut Client, columns_by_name: bool) -> String {
    let queries: &[(&str, &str)] = &[
        ("schemas", "select nspname from pg_namespace where nspname in ('public', 'private') order by 1"),
        (
            "types",
            "select t.typname || ' ' || string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_type t \
             join pg_enum e on e.enumtypid = t.oid join pg_namespace n on n.oid = t.typnamespace \
             where n.nspname = 'public' group by t.typname order by 1",
        ),
        (
            "columns",
            "select c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || \
             case when a.attnotnull then ' not null' else '' end || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') || \
             case when a.attidentity <> '' then ' identity ' || a.attidentity::text else '' end || \
             case when a.attgenerated <> '' then ' generated' else '' end \
             from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace \
             left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum \
             where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped order by c.relname, a.attnum",
        ),
        (
            "constraints",
            "select c.relname || ' ' || k.conname || ' ' || pg_get_constraintdef(k.oid) from pg_constraint k \
             join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = 'public' and k.contype <> 'n' order by 1",
        ),
        ("indexes", "select indexdef from pg_indexes where schemaname = 'public' order by indexname"),
        (
            "rls",
            "select relname || ' rls=' || relrowsecurity || ' force=' || relforcerowsecurity || ' replica=' || relreplident::text \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r' order by 1",
        ),
        (
            "policies",
            "select tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd || ' ' || array_to_string(roles, ',') || \
             ' using(' || coalesce(qual, '') || ') check(' || coalesce(with_check, '') || ')' from pg_policies \
             where schemaname = 'public' order by tablename, policyname",
        ),
        (
            "table grants",
            "select table_name || ' ' || grantee || ' ' || string_agg(privilege_type, ',' order by privilege_type) \
             from information_schema.role_table_grants where table_schema = 'public' \
             and grantee in ('anon', 'authenticated', 'service_role') group by table_name, grantee order by 1",
        ),
        (
            "column grants",
            "select table_name || ' ' || grantee || ' ' || privilege_type || ' ' || string_agg(column_name, ',' order by column_name) \
             from information_schema.column_privileges where table_schema = 'public' \
             and grantee in ('anon', 'authenticated') group by table_name, grantee, privilege_type order by 1",
        ),
        (
            "functions",
            "select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') secdef=' || p.prosecdef || \
             ' volatile=' || p.provolatile::text || ' config=' || coalesce(array_to_string(p.proconfig, ','), '') || \
             ' acl=' || coalesce(array_to_string(p.proacl, ','), '') \
             from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'private') order by 1",
        ),
        (
            "triggers",
            "select c.relname || ' ' || t.tgname || ' ' || pg_get_triggerdef(t.oid) from pg_trigger t \
             join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace \
             where not t.tgisinternal and n.nspname in ('public', 'auth') order by 1",
        ),
        (
            "realtime",
            "select schemaname || '.' || tablename from pg_publication_tables where pubname = 'supabase_realtime' order by 1",
        ),
    ];
    let mut out = String::new();
    for (title, q) in queries {
        out.push_str(&format!("## {title}\n"));
        let mut lines: Vec<String> = client
            .query(*q, &[])
            .unwrap_or_else(|e| {
                panic!(
                    "catalog query `{title}`: {}",
                    schema_pg::error::describe_postgres_error(&e)
                )
            })
            .iter()
            .map(|row| row.get(0))
            .collect();
        if columns_by_name && *title == "columns" {
            lines.sort();
        }
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Every feature fixture (`tests/cases/*/schema.yaml`), sorted; fails if fewer than `at_least`.
pub fn case_schemas(at_least: usize) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path().join("schema.yaml"))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(
        paths.len() >= at_least,
        "expected at least {at_least} fixtures in {}, found {}",
        dir.display(),
        paths.len()
    );
    paths
}

/// A fresh database with the Supabase platform, connected as the (non-superuser) `postgres`
/// role that runs migrations on Supabase. The database is dropped with the returned handle.
pub fn platform_db(label: &str, mode: schema_pg::GrantMode) -> (schema_pg::TestDatabase, Client) {
    let db =
        schema_pg::TestDatabase::create(schema_pg::shared(), label).expect("create test database");
    let mut admin = db.connect_admin().expect("connect as superuser");
    schema_pg::install_supabase_platform(&mut admin, mode).expect("install the Supabase platform");
    let client = db.connect_as("postgres").expect("connect as postgres");
    (db, client)
}

/// Runs `sql`, panicking with the server's full message when it fails.
pub fn apply(client: &mut Client, what: &str, sql: &str) {
    if let Err(e) = client.batch_execute(sql) {
        panic!(
            "{what} failed: {}",
            schema_pg::error::describe_postgres_error(&e)
        );
    }
}
