//! Hostile input beyond expressions: generated names come from the whole rule they stand for (two
//! membership rules that differ in any part get different helpers, nothing is silently replaced),
//! and policy suites cannot smuggle statements into fixtures or scenario steps.

use schema_core::ir::Helper;
use schema_core::Sources;

/// (helper name, user column, (role column, roles)).
type MemberHelper = (String, String, Option<(String, Vec<String>)>);

fn helpers(yaml: &str) -> Vec<MemberHelper> {
    let mut s = Sources::new();
    s.add("schema.yaml", yaml);
    let c = schema_core::compile(&s);
    let ir = c.ir.unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    ir.helpers
        .iter()
        .filter_map(|h| match h {
            Helper::MemberKeys {
                name,
                user_column,
                role_filter,
                ..
            } => Some((
                name.clone(),
                user_column.clone(),
                role_filter.as_ref().map(|(c, r, _)| (c.clone(), r.clone())),
            )),
            _ => None,
        })
        .collect()
}

const BASE: &str = "tables:
  teams:
    columns:
      id: { type: uuid, primary_key: true, default: gen_random_uuid() }
    policies:
RULES
  team_members:
    columns:
      team_id: { type: uuid, references: teams, on_delete: cascade }
      user_id: { type: uuid, references: auth.users, on_delete: cascade }
      invited_by: { type: uuid, references: auth.users }
      role: text
      level: text
    primary_key: [team_id, user_id]
";

#[test]
fn rules_that_differ_get_their_own_helper() {
    let rules = "      - { for: select, member: { through: team_members, key: team_id, roles: [admin] } }
      - { for: update, member: { through: team_members, key: team_id, roles: [admin], role_column: level } }
      - { for: delete, member: { through: team_members, key: team_id, user_column: invited_by } }
      - { for: insert, member: { through: team_members, key: team_id } }";
    let hs = helpers(&BASE.replace("RULES", rules));
    assert_eq!(hs.len(), 4, "{hs:#?}");
    let mut names: Vec<&String> = hs.iter().map(|h| &h.0).collect();
    names.dedup();
    assert_eq!(names.len(), 4);
    assert!(hs
        .iter()
        .any(|h| h.2 == Some(("level".into(), vec!["admin".into()]))));
    assert!(hs
        .iter()
        .any(|h| h.2 == Some(("role".into(), vec!["admin".into()]))));
    assert!(hs.iter().any(|h| h.1 == "invited_by"));
}

#[test]
fn role_lists_that_join_to_the_same_text_do_not_share_a_helper() {
    let rules =
        "      - { for: select, member: { through: team_members, key: team_id, roles: [a_b] } }
      - { for: update, member: { through: team_members, key: team_id, roles: [a, b] } }";
    let hs = helpers(&BASE.replace("RULES", rules));
    assert_eq!(hs.len(), 2, "{hs:#?}");
    assert_ne!(hs[0].0, hs[1].0);
    let lists: Vec<Vec<String>> = hs.iter().filter_map(|h| h.2.clone().map(|r| r.1)).collect();
    assert!(lists.contains(&vec!["a_b".to_string()]));
    assert!(lists.contains(&vec!["a".to_string(), "b".to_string()]));
}

/// A policy suite is hostile input too: a fixture value must be one expression and a scenario
/// step one statement, as PostgreSQL splits them.
#[test]
fn suites_cannot_smuggle_statements() {
    let suite = |yaml: &str| {
        let mut d = schema_core::diag::Diagnostics::default();
        let s = schema_core::syntax::yaml::parse_suite(
            schema_core::source::SourceId::default(),
            "suite.yaml",
            yaml,
            &mut d,
        );
        (s, d.into_sorted())
    };
    let (s, d) = suite("fixtures:\n  notes:\n    body: \"'x'); drop table notes; --\"\n");
    assert!(s.fixtures.is_empty() && !d.is_empty(), "{d:?}");
    let (s, d) = suite("fixtures:\n  notes:\n    body: \"'x' || $$;$$\"\n");
    assert_eq!(s.fixtures.len(), 1, "{d:?}");
    let (s, d) = suite(
        "scenarios:\n  - name: two\n    steps:\n      - { as: owner, sql: \"select 1; delete from notes\", expect: { rows: 1 } }\n",
    );
    assert!(s.scenarios.is_empty() && !d.is_empty(), "{d:?}");
    let (s, d) = suite(
        "scenarios:\n  - name: one\n    steps:\n      - { as: owner, sql: \"select ';' as x -- ; trailing\", expect: { rows: 1 } }\n",
    );
    assert_eq!(s.scenarios.len(), 1, "{d:?}");
}
