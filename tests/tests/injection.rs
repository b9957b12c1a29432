//! Hostile free text cannot add statements: comments, rule names, enum values and live names
//! with every kind of line terminator end up inside comments (SQL) or text (Markdown), proven by
//! PostgreSQL and psql running the output and by an outside Markdown parser reading policies.md.
//! Also the `pg_temp` shadowing attack on `security definer` functions and the legacy grants on
//! identity sequences, both tried for real.

use schema_core::emit::{down, policies_md, seed, up, EmitOptions};
use schema_core::{ir, Sources};
use schema_pg::postgres::Client;
use schema_pg::{act_as, Actor, GrantMode};
use schemac_tests::platform_db;
use uuid::Uuid;

/// Every character some reader of a SQL file may treat as the end of a line, written as a YAML
/// double-quoted escape, with a name for the sentinel table its payload tries to create.
const TERMINATORS: &[(&str, &str)] = &[
    ("lf", "\\n"),
    ("cr", "\\r"),
    ("crlf", "\\r\\n"),
    ("vt", "\\v"),
    ("ff", "\\f"),
    ("nel", "\\N"),
    ("ls", "\\L"),
    ("ps", "\\P"),
];

/// A YAML double-quoted string: `label`, a line break, then a statement creating
/// `public.pwned_<tag>_<term>`, then Markdown that would forge or hide the document.
fn payload(tag: &str, term: &str, esc: &str) -> String {
    format!(
        "\"{tag}{esc}create table public.pwned_{tag}_{term} (); -- | `x` <!-- hide {esc}# forged {esc}> quote {esc}| a | b |\""
    )
}

/// A schema whose every free-text field (table, column, enum and function comments, rule names,
/// member role values) carries a payload per terminator.
fn hostile_yaml() -> String {
    let mut y = String::new();
    y.push_str("enums:\n  team_role:\n    values: [member, \"adm$$; create table public.pwned_dollar (); --\"]\n");
    y.push_str(&format!("    comment: {}\n", payload("enum", "lf", "\\n")));
    y.push_str("tables:\n");
    for (term, esc) in TERMINATORS {
        y.push_str(&format!(
            "  t_{term}:\n    comment: {}\n    columns:\n      id: {{ type: bigint, primary_key: true, identity: always }}\n      owner_id: {{ type: uuid, default: auth.uid(), references: auth.users, on_delete: cascade }}\n      name: {{ type: text, comment: {} }}\n    policies:\n      - {{ name: {}, for: all, owner: owner_id }}\n      - {{ name: {}, for: select, member: {{ through: team_members, column: id, key: team_id, roles: [\"adm$$; create table public.pwned_dollar (); --\"] }} }}\n",
            payload("table", term, esc),
            payload("column", term, esc),
            payload("rule", term, esc),
            payload("member", term, esc),
        ));
    }
    y.push_str("  team_members:\n    columns:\n      team_id: bigint\n      user_id: { type: uuid, references: auth.users, on_delete: cascade }\n      role: { type: team_role, default: \"'member'\" }\n    primary_key: [team_id, user_id]\n    policies:\n      - { for: select, owner: user_id }\n");
    y.push_str("functions:\n");
    for (term, esc) in TERMINATORS {
        y.push_str(&format!(
            "  f_{term}:\n    comment: {}\n    returns: int\n    language: sql\n    body: select 1\n",
            payload("function", term, esc)
        ));
    }
    y
}

fn compile(yaml: &str) -> ir::Schema {
    let mut sources = Sources::new();
    sources.add("schema.yaml", yaml.to_string());
    let c = schema_core::compile(&sources);
    let rendered: String = c
        .diagnostics
        .iter()
        .map(|d| schema_core::render::human(d, &sources))
        .collect();
    c.ir.unwrap_or_else(|| panic!("the hostile schema does not compile:\n{rendered}\n{yaml}"))
}

/// Tables named `pwned%` anywhere: each is a payload that ran.
fn pwned(c: &mut Client) -> Vec<String> {
    c.query(
        "select relname::text from pg_class where relname like 'pwned%' order by 1",
        &[],
    )
    .expect("pg_class")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn apply(c: &mut Client, what: &str, sql: &str) {
    if let Err(e) = c.batch_execute(sql) {
        panic!(
            "{what} failed: {}\n{sql}",
            schema_pg::error::describe_postgres_error(&e)
        );
    }
}

/// Runs `sql` with psql (its own lexer decides where comments end), stopping at the first error.
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

#[test]
fn the_oracle_catches_a_naive_comment() {
    // The check below is able to fail: a comment written the way schemac used to write labels
    // (`-- {text}`) runs the payload, in PostgreSQL and in psql alike, for every terminator
    // PostgreSQL's lexer ends a comment at.
    let (db, mut c) = platform_db("inj_control", GrantMode::NoAutoGrant);
    for (i, t) in ["\n", "\r"].iter().enumerate() {
        let sql = format!("-- label{t}create table public.pwned_naive_{i} ();\nselect 1;\n");
        apply(&mut c, "naive", &sql);
        psql(
            &db.url_for("postgres"),
            &sql.replace("pwned_naive", "pwned_psql"),
        );
    }
    assert_eq!(
        pwned(&mut c),
        [
            "pwned_naive_0",
            "pwned_naive_1",
            "pwned_psql_0",
            "pwned_psql_1"
        ]
    );
}

#[test]
fn free_text_stays_in_comments() {
    let yaml = hostile_yaml();
    let schema = compile(&yaml);
    let opts = EmitOptions {
        source_name: "schema\n.yaml; create table public.pwned_source ();".into(),
        ..EmitOptions::default()
    };
    let up_sql = up::migration(&schema, &opts);
    let down_sql = down::migration(&schema, &opts);
    let seed_sql = seed::seed(&schema, &opts);
    for mode in [GrantMode::NoAutoGrant, GrantMode::LegacyDefaultGrants] {
        let (db, mut c) = platform_db("inj_comments", mode);
        apply(&mut c, "up", &up_sql);
        apply(&mut c, "seed", &seed_sql);
        assert_eq!(pwned(&mut c), Vec::<String>::new(), "up ran a payload");
        // The comments arrive whole, as text.
        let comment: String = c
            .query_one(
                "select obj_description('public.t_cr'::regclass, 'pg_class')",
                &[],
            )
            .expect("comment")
            .get(0);
        assert!(comment.contains("\rcreate table public.pwned_table_cr"));
        apply(&mut c, "down", &down_sql);
        assert_eq!(pwned(&mut c), Vec::<String>::new(), "down ran a payload");
        psql(&db.url_for("postgres"), &up_sql);
        psql(&db.url_for("postgres"), &down_sql);
        assert_eq!(pwned(&mut c), Vec::<String>::new(), "psql ran a payload");
    }
    // An incremental migration that changes every free text (labels, comments) and renames.
    let before = compile(&yaml.replace("-- |", "--  |"));
    let mut d = schema_core::Diagnostics::default();
    let m = schema_core::diff::diff(&before, &schema, &mut d);
    let diags = d.into_sorted();
    assert!(diags.is_empty(), "{diags:?}");
    assert!(!m.is_empty());
    let (db, mut c) = platform_db("inj_diff", GrantMode::LegacyDefaultGrants);
    apply(&mut c, "before", &up::migration(&before, &opts));
    psql(&db.url_for("postgres"), &m.up.join("\n\n"));
    psql(&db.url_for("postgres"), &m.down.join("\n\n"));
    assert_eq!(
        pwned(&mut c),
        Vec::<String>::new(),
        "the diff ran a payload"
    );
}

#[test]
fn policies_md_keeps_its_structure() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let schema = compile(&hostile_yaml());
    let md = policies_md::document(
        &schema,
        &EmitOptions {
            source_name: "x --> <b>y</b>\n# z".into(),
            ..EmitOptions::default()
        },
    );
    let mut headings = 0;
    let mut tables = 0;
    let mut rows = 0;
    let mut cells_per_row = Vec::new();
    let mut cells = 0;
    let mut comments = 0;
    for ev in Parser::new_ext(&md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match ev {
            Event::Start(Tag::Heading { .. }) => headings += 1,
            Event::Start(Tag::Table(_)) => tables += 1,
            Event::Start(Tag::TableRow) | Event::Start(Tag::TableHead) => cells = 0,
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => {
                rows += 1;
                cells_per_row.push(cells)
            }
            Event::Start(Tag::TableCell) => cells += 1,
            Event::Start(Tag::BlockQuote(_)) => panic!("a comment opened a quote:\n{md}"),
            Event::Start(Tag::Strikethrough | Tag::Link { .. } | Tag::Image { .. }) => {
                panic!("a comment made a link or strikethrough:\n{md}")
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                // Only schemac's own header comment.
                comments += 1;
                assert!(h.starts_with("<!-- @generated"), "raw HTML {h:?}:\n{md}");
            }
            _ => {}
        }
    }
    let n = schema.tables.len();
    assert_eq!(comments, 1);
    assert_eq!(
        headings,
        1 + n,
        "one title and one heading per table:\n{md}"
    );
    assert_eq!(tables, n);
    assert_eq!(rows, n * 7, "a header and six actors per table");
    assert!(cells_per_row.iter().all(|c| *c == 5), "{cells_per_row:?}");
    // The text is shown as written (line breaks as spaces).
    let text: String = Parser::new_ext(&md, Options::ENABLE_TABLES)
        .filter_map(|e| match e {
            Event::Text(t) | Event::Code(t) => Some(t.to_string()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("");
    assert!(
        text.contains("table create table public.pwned_table_cr (); -- | `x` <!-- hide # forged > quote | a | b |"),
        "{text}"
    );
}

/// A definer function whose body names a type through `search_path` (`text`), as the member
/// helper does for a role filter on a `text` column: run as `authenticated`, the caller first
/// creates a temporary domain `text` whose check runs their own function.
fn shadowing_attack(c: &mut Client, search_path: &str) -> i64 {
    apply(
        c,
        "setup",
        &format!(
            "create table public.secret_log (who text);
             revoke all on public.secret_log from anon, authenticated;
             create function public.lookup(v pg_catalog.text) returns boolean language sql stable
               security definer set search_path = {search_path}
               as $$ select v::text[] is not null $$;
             grant execute on function public.lookup(pg_catalog.text) to authenticated;"
        ),
    );
    let mut tx = c.transaction().expect("begin");
    act_as(
        &mut tx,
        &Actor::user(Uuid::from_u128(7), "mallory@example.com"),
    )
    .expect("act as");
    tx.batch_execute(
        "create function pg_temp.steal() returns boolean language sql volatile
           as $$ insert into public.secret_log select current_user; select true $$;
         create domain pg_temp.text as pg_catalog.text check (pg_temp.steal());",
    )
    .expect("a signed-in user may create temporary objects");
    tx.query_one("select public.lookup('{a}')", &[])
        .expect("lookup runs");
    tx.batch_execute("reset role").expect("reset role");
    let n: i64 = tx
        .query_one("select count(*) from public.secret_log", &[])
        .expect("count")
        .get(0);
    // Rolling back drops the temporary objects too.
    tx.rollback().expect("rollback");
    apply(
        c,
        "teardown",
        "drop function public.lookup(pg_catalog.text); drop table public.secret_log;",
    );
    n
}

#[test]
fn pg_temp_cannot_shadow_definer_functions() {
    let (_db, mut c) = platform_db("inj_pg_temp", GrantMode::NoAutoGrant);
    // The attack is real: with `search_path = ''` the caller's code runs as the owner.
    assert!(
        shadowing_attack(&mut c, "''") > 0,
        "control: the attack should work with search_path = ''"
    );
    // schemac's search_path: the temporary domain is never found.
    let clause = schema_core::sql::SEARCH_PATH_CLAUSE;
    let path = clause.trim_start_matches("set search_path = ");
    assert_eq!(shadowing_attack(&mut c, path), 0);
    // And every function schemac generates uses it (helpers and declared functions).
    let schema = compile(&hostile_yaml());
    let sql = up::migration(&schema, &EmitOptions::default());
    let functions = sql.matches("\ncreate function ").count();
    assert!(functions > 5, "{functions}");
    assert_eq!(sql.matches(clause).count(), functions, "{sql}");
    assert!(!sql.contains("search_path = ''"));
}

#[test]
fn identity_sequences_are_revoked_in_both_grant_modes() {
    let yaml = "tables:\n  items:\n    columns:\n      id: { type: bigint, primary_key: true, identity: always }\n      owner_id: { type: uuid, default: auth.uid(), references: auth.users, on_delete: cascade }\n      name: text\n    policies:\n      - { for: all, owner: owner_id }\n";
    let schema = compile(yaml);
    let sql = up::migration(&schema, &EmitOptions::default());
    for mode in [GrantMode::LegacyDefaultGrants, GrantMode::NoAutoGrant] {
        let (_db, mut c) = platform_db("inj_sequences", mode);
        apply(&mut c, "up", &sql);
        let seq: String = c
            .query_one("select pg_get_serial_sequence('public.items', 'id')", &[])
            .expect("sequence")
            .get(0);
        for role in ["anon", "authenticated"] {
            for privilege in ["usage", "select", "update"] {
                let has: bool = c
                    .query_one(
                        "select has_sequence_privilege($1, $2, $3)",
                        &[&role, &seq, &privilege],
                    )
                    .expect("privilege")
                    .get(0);
                assert!(!has, "{mode:?}: {role} has {privilege} on {seq}");
            }
        }
        // A signed-in user still inserts (identity values need no sequence privilege), but can
        // neither move the sequence nor read how many rows exist.
        let alice = Actor::user(Uuid::from_u128(1), "alice@example.com");
        let mut tx = c.transaction().expect("begin");
        tx.batch_execute(
            "insert into auth.users (id, email) values ('00000000-0000-0000-0000-000000000001', 'alice@example.com')",
        )
        .expect("user");
        act_as(&mut tx, &alice).expect("act");
        tx.batch_execute("insert into public.items (name) values ('a')")
            .expect("insert as authenticated");
        for attack in [
            format!("select setval('{seq}', 1000000)"),
            format!("select last_value from {seq}"),
            format!("select nextval('{seq}')"),
        ] {
            tx.batch_execute("savepoint s").expect("savepoint");
            let e = tx
                .batch_execute(&attack)
                .expect_err(&format!("{mode:?}: `{attack}` as authenticated"));
            assert_eq!(
                e.code(),
                Some(&schema_pg::postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
                "{attack}: {e}"
            );
            tx.batch_execute("rollback to savepoint s")
                .expect("rollback");
        }
        tx.rollback().expect("rollback");
    }
}

/// The live lint prints catalog names: a table named with a line break and a terminal escape
/// is reported on one line, and the SQL its help suggests quotes the name.
#[test]
fn live_lint_shows_hostile_names_on_one_line() {
    let (_db, mut c) = platform_db("inj_lint", GrantMode::LegacyDefaultGrants);
    apply(
        &mut c,
        "hostile table",
        "create table public.\"t\n\u{1b}[2Jdrop table x; --\" (id int primary key);",
    );
    let report =
        schema_pg::lint_live::lint_database(&mut c, &schema_pg::lint_live::LiveOptions::default())
            .expect("lint");
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code == schema_core::Code::LintRlsDisabled)
        .expect("the table is reported");
    for text in [&d.message, &d.path, d.help.as_ref().expect("help")] {
        assert!(!text.contains(char::is_control), "{text:?}");
    }
    assert!(
        d.help
            .as_ref()
            .expect("help")
            .contains("alter table \"public\".\"t [2Jdrop table x; --\" enable"),
        "{d:?}"
    );
}
