//! The intended access matrix, derived from the rules and grants: for each table, actor
//! (anon, owner, other user, member, admin, service_role) and command, what should happen.
//! Read by `policies.md` and by the policy harness as its expected outcomes.

use crate::ir::{Command, Condition, DbRole, Grant, Rule, Schema, Table};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    Anon,
    /// The signed-in user who owns the row (and its parent rows).
    Owner,
    /// A signed-in user with no relation to the row.
    Other,
    /// A signed-in user who is a member of the row's shared resource (e.g. the conversation).
    Member,
    /// A signed-in user with the app role `admin`, not the owner.
    Admin,
    ServiceRole,
}

impl Actor {
    pub const ALL: [Actor; 6] = [Actor::Anon, Actor::Owner, Actor::Other, Actor::Member, Actor::Admin, Actor::ServiceRole];

    pub fn name(self) -> &'static str {
        match self {
            Actor::Anon => "anon",
            Actor::Owner => "owner",
            Actor::Other => "other user",
            Actor::Member => "member",
            Actor::Admin => "admin",
            Actor::ServiceRole => "service_role",
        }
    }

    pub fn db_role(self) -> DbRole {
        match self {
            Actor::Anon => DbRole::Anon,
            Actor::ServiceRole => DbRole::ServiceRole,
            _ => DbRole::Authenticated,
        }
    }
}

/// What an actor's command on a row should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed; `Some(columns)` when only some columns may be used.
    Allowed(Option<Vec<String>>),
    /// Allowed only when a condition holds (custom SQL or a member role).
    Conditional(String, Option<Vec<String>>),
    /// No policy lets it through: reads, updates and deletes match 0 rows silently.
    Filtered,
    /// Refused with SQLSTATE 42501: no privilege, or an insert that no policy allows.
    Refused,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Truth {
    Yes,
    No,
    Maybe(String),
}

pub fn outcome(schema: &Schema, table: &Table, actor: Actor, cmd: Command) -> Outcome {
    let grant: Option<&Grant> = table.grants.iter().find(|g| g.role == actor.db_role() && g.command == cmd);
    let Some(grant) = grant else { return Outcome::Refused };
    let cols = grant.columns.clone();
    if cols.as_ref().is_some_and(|c| c.is_empty()) {
        return Outcome::Refused;
    }
    if actor == Actor::ServiceRole || !table.rls {
        return Outcome::Allowed(cols);
    }
    match rules_truth(schema, table, actor, cmd, 0) {
        Truth::Yes => Outcome::Allowed(cols),
        Truth::Maybe(why) => Outcome::Conditional(why, cols),
        Truth::No if cmd == Command::Insert => Outcome::Refused,
        Truth::No => Outcome::Filtered,
    }
}

fn rules_truth(schema: &Schema, table: &Table, actor: Actor, cmd: Command, depth: u32) -> Truth {
    let rules: Vec<&Rule> = table.rules.iter().filter(|r| r.command == cmd && r.role == actor.db_role()).collect();
    let mut maybes = Vec::new();
    for r in rules {
        let mut all = Truth::Yes;
        let mut parts = Vec::new();
        for c in &r.conditions {
            match condition(schema, c, actor, depth) {
                Truth::Yes => {}
                Truth::No => {
                    all = Truth::No;
                    break;
                }
                Truth::Maybe(w) => {
                    parts.push(w);
                    all = Truth::Maybe(String::new());
                }
            }
        }
        match all {
            Truth::Yes => return Truth::Yes,
            Truth::No => {}
            Truth::Maybe(_) => maybes.push(parts.join(" and ")),
        }
    }
    if maybes.is_empty() {
        Truth::No
    } else {
        maybes.dedup();
        Truth::Maybe(maybes.join(" or "))
    }
}

fn condition(schema: &Schema, c: &Condition, actor: Actor, depth: u32) -> Truth {
    match c {
        Condition::Always => Truth::Yes,
        Condition::Owner { .. } => yes_if(actor == Actor::Owner),
        Condition::HasRole { role } => yes_if(actor == Actor::Admin && role == "admin"),
        Condition::Member { helper, .. } => {
            if actor != Actor::Member {
                return Truth::No;
            }
            let filter = schema.helpers.iter().find_map(|h| match h {
                crate::ir::Helper::MemberKeys { name, role_filter: Some((_, roles, _)), .. } if name == helper => Some(roles.clone()),
                _ => None,
            });
            match filter {
                None => Truth::Yes,
                Some(roles) => Truth::Maybe(format!("member role is {}", roles.join(" or "))),
            }
        }
        Condition::Parent { parent, owner: Some(_), .. } => {
            let _ = parent;
            yes_if(actor == Actor::Owner)
        }
        Condition::Parent { parent, owner: None, .. } => {
            if depth > 8 {
                return Truth::Maybe("parent is visible".into());
            }
            match schema.tables.iter().find(|t| t.name == parent.name) {
                Some(p) => rules_truth(schema, p, actor, Command::Select, depth + 1),
                None => Truth::Maybe("parent is visible".into()),
            }
        }
        Condition::Custom { using, check } => {
            Truth::Maybe(format!("`{}`", using.as_deref().or(check.as_deref()).unwrap_or("custom")))
        }
    }
}

fn yes_if(b: bool) -> Truth {
    if b {
        Truth::Yes
    } else {
        Truth::No
    }
}
