//! The intended access matrix, derived from the rules and grants: for each table, actor
//! (anon, owner, other user, member, admin, service_role) and command, what should happen to the
//! owner's row. Read by `policies.md` and by the policy harness as its expected outcomes.
//!
//! The row model (the harness's fixtures follow it exactly):
//! - the target row belongs to the **owner**: every column referencing `auth.users` holds the
//!   owner, except the member column of a membership table, which holds the **member**;
//! - parent rows (foreign keys to app tables) are the owner's rows of those tables;
//! - the member is a member of the owner's rows through every membership table, with a member
//!   role that satisfies the role filters of the policies (when one role satisfies them all);
//! - an insert writes the owner's row as the actor would through the API: columns the actor may
//!   not insert take their defaults (a column defaulting to `auth.uid()` becomes the actor).

use crate::ir::{Command, Condition, DbRole, Grant, Helper, Schema, SqlType, Table};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    Anon,
    /// The signed-in user who owns the row (and its parent rows).
    Owner,
    /// A signed-in user with no relation to the row.
    Other,
    /// A signed-in user who is a member of the owner's shared rows (e.g. the conversation).
    Member,
    /// A signed-in user with the app role `admin`, not the owner.
    Admin,
    ServiceRole,
}

impl Actor {
    pub const ALL: [Actor; 6] = [
        Actor::Anon,
        Actor::Owner,
        Actor::Other,
        Actor::Member,
        Actor::Admin,
        Actor::ServiceRole,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Actor::Anon => "anon",
            Actor::Owner => "owner",
            Actor::Other => "other",
            Actor::Member => "member",
            Actor::Admin => "admin",
            Actor::ServiceRole => "service_role",
        }
    }

    pub fn from_name(s: &str) -> Option<Actor> {
        Actor::ALL.into_iter().find(|a| a.name() == s)
    }

    pub fn db_role(self) -> DbRole {
        match self {
            Actor::Anon => DbRole::Anon,
            Actor::ServiceRole => DbRole::ServiceRole,
            _ => DbRole::Authenticated,
        }
    }
}

/// What an actor's command on the owner's row should do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed; `Some(columns)` when only some columns may be used.
    Allowed(Option<Vec<String>>),
    /// Decided by custom SQL (or an unsatisfiable member-role mix): the schema alone cannot say.
    Conditional(String, Option<Vec<String>>),
    /// No policy lets it through: reads, updates and deletes match 0 rows silently.
    Filtered,
    /// Refused with SQLSTATE 42501: no privilege, or an insert/update no policy allows.
    Refused,
}

impl Outcome {
    /// The outcome's kind as the harness reports it.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Allowed(_) => "allowed",
            Outcome::Conditional(..) => "conditional",
            Outcome::Filtered => "filtered",
            Outcome::Refused => "refused",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Truth {
    Yes,
    No,
    Maybe(String),
}

/// The grant of `role` for `cmd` on `table`, if any.
pub fn grant(table: &Table, role: DbRole, cmd: Command) -> Option<&Grant> {
    table
        .grants
        .iter()
        .find(|g| g.role == role && g.command == cmd)
}

/// True if `role` may write `column` with `cmd` (insert/update).
pub fn may_write(table: &Table, role: DbRole, cmd: Command, column: &str) -> bool {
    grant(table, role, cmd).is_some_and(|g| {
        g.columns
            .as_ref()
            .is_none_or(|c| c.iter().any(|x| x == column))
    })
}

pub fn outcome(schema: &Schema, table: &Table, actor: Actor, cmd: Command) -> Outcome {
    Access::unindexed(schema).outcome(table, actor, cmd)
}

/// The outcome the command's own policies give, without the SELECT policies a reading filter
/// adds (see `Access::outcome`).
pub fn own_outcome(schema: &Schema, table: &Table, actor: Actor, cmd: Command) -> Outcome {
    Access::unindexed(schema).own_outcome(table, actor, cmd)
}

/// Evaluates outcomes of one schema, giving exactly what `outcome`, `column_user` and
/// `member_role` give. Built with `new`, for many outcomes (a whole document), it indexes tables
/// and member helpers once and computes the verdict of each parent table's select rules once per
/// (table, actor, depth), so a document of every outcome is linear in the schema rather than
/// quadratic. Without the index (one outcome), it scans as `outcome` always did.
pub struct Access<'a> {
    schema: &'a Schema,
    /// `None`: look things up by scanning, cheaper for a single outcome.
    index: Option<Index<'a>>,
    /// The written row already exists (an upsert of it): a member inserting their own
    /// membership row is a member through it.
    existing: bool,
}

/// `Access`'s look-ups, built once for many outcomes.
struct Index<'a> {
    /// Tables by name (the first of a name, as a scan would find), with their position.
    tables: BTreeMap<&'a str, (usize, &'a Table)>,
    /// (membership table, member column) of every member helper.
    member_columns: BTreeSet<(&'a str, &'a str)>,
    /// Member helper name -> the member role of its membership table (the first helper of a name).
    member_helpers: BTreeMap<&'a str, MemberRole>,
    /// `rules_truth` of parent tables' select rules, by (table position, actor, depth): see
    /// `Access::parent_truth`.
    parents: RefCell<Vec<Option<Truth>>>,
}

/// Depths of the parent chain whose verdicts `Access` remembers (`rules_truth` stops after 9).
const PARENT_DEPTHS: usize = 10;

impl<'a> Access<'a> {
    /// With tables and member helpers indexed, for evaluating many outcomes.
    pub fn new(schema: &'a Schema) -> Self {
        let mut tables = BTreeMap::new();
        for (i, t) in schema.tables.iter().enumerate() {
            tables.entry(t.name.as_str()).or_insert((i, t));
        }
        let mut member_columns = BTreeSet::new();
        let mut through_of: BTreeMap<&str, &str> = BTreeMap::new();
        for h in &schema.helpers {
            if let Helper::MemberKeys {
                name,
                through,
                user_column,
                ..
            } = h
            {
                member_columns.insert((through.as_str(), user_column.as_str()));
                through_of.entry(name.as_str()).or_insert(through.as_str());
            }
        }
        let mut roles: BTreeMap<&str, MemberRole> = BTreeMap::new();
        let member_helpers = through_of
            .into_iter()
            .map(|(name, through)| {
                let role = roles
                    .entry(through)
                    .or_insert_with(|| member_role(schema, through))
                    .clone();
                (name, role)
            })
            .collect();
        Access {
            schema,
            index: Some(Index {
                tables,
                member_columns,
                member_helpers,
                parents: RefCell::new(vec![
                    None;
                    schema.tables.len() * Actor::ALL.len() * PARENT_DEPTHS
                ]),
            }),
            existing: false,
        }
    }

    /// Without an index: for one outcome, scanning is cheaper than indexing.
    fn unindexed(schema: &'a Schema) -> Self {
        Access {
            schema,
            index: None,
            existing: false,
        }
    }

    /// The table named `name` (the first of that name) and its position.
    fn table(&self, name: &str) -> Option<(usize, &'a Table)> {
        match &self.index {
            Some(ix) => ix.tables.get(name).copied(),
            None => self
                .schema
                .tables
                .iter()
                .enumerate()
                .find(|(_, t)| t.name == name),
        }
    }

    /// The member role of the membership table of member helper `helper`, if there is one.
    fn helper_member_role(&self, helper: &str) -> Option<MemberRole> {
        match &self.index {
            Some(ix) => ix.member_helpers.get(helper).cloned(),
            None => self
                .schema
                .helpers
                .iter()
                .find_map(|h| match h {
                    Helper::MemberKeys { name, through, .. } if name == helper => Some(through),
                    _ => None,
                })
                .map(|through| member_role(self.schema, through)),
        }
    }

    /// `outcome(schema, table, actor, cmd)`: as the data API runs it. An UPDATE or DELETE always
    /// carries a filter that reads columns (PostgREST's `?id=eq...`), so PostgreSQL applies the
    /// SELECT policies too: a row the actor may write but not read is not matched (0 rows).
    pub fn outcome(&self, table: &'a Table, actor: Actor, cmd: Command) -> Outcome {
        let own = self.own_outcome(table, actor, cmd);
        if !matches!(cmd, Command::Update | Command::Delete)
            || actor == Actor::ServiceRole
            || !table.rls
        {
            return own;
        }
        match (&own, self.own_outcome(table, actor, Command::Select)) {
            (Outcome::Allowed(_) | Outcome::Conditional(..), Outcome::Filtered) => {
                Outcome::Filtered
            }
            (Outcome::Allowed(c), Outcome::Conditional(why, _)) => {
                Outcome::Conditional(format!("the row is readable ({why})"), c.clone())
            }
            _ => own,
        }
    }

    /// The outcome decided by the command's own policies and grants alone (what an UPDATE or
    /// DELETE whose filter reads no column gets).
    pub fn own_outcome(&self, table: &'a Table, actor: Actor, cmd: Command) -> Outcome {
        let Some(grant) = grant(table, actor.db_role(), cmd) else {
            return Outcome::Refused;
        };
        let cols = grant.columns.clone();
        if cols.as_ref().is_some_and(|c| c.is_empty()) {
            return Outcome::Refused;
        }
        if actor == Actor::ServiceRole || !table.rls {
            return Outcome::Allowed(cols);
        }
        match self.rules_truth(table, actor, cmd, 0) {
            Truth::Yes => Outcome::Allowed(cols),
            Truth::Maybe(why) => Outcome::Conditional(why, cols),
            Truth::No if cmd == Command::Insert => Outcome::Refused,
            Truth::No => Outcome::Filtered,
        }
    }

    /// Can `actor` read the row it just inserted (the owner's row as `actor` writes it)?
    /// `None` where custom SQL or a parent chain through defaulted columns decides.
    fn inserted_row_readable(&self, table: &'a Table, actor: Actor) -> Option<bool> {
        let sel = grant(table, actor.db_role(), Command::Select)?;
        if sel.columns.as_ref().is_some_and(|c| c.is_empty()) {
            return Some(false);
        }
        if actor == Actor::ServiceRole || !table.rls {
            return Some(true);
        }
        let role = actor.db_role();
        let writes = |c: &str| may_write(table, role, Command::Insert, c);
        let mut undecided = false;
        for r in table
            .rules
            .iter()
            .filter(|r| r.command == Command::Select && r.role == role)
        {
            let mut verdict = Some(true);
            for c in &r.conditions {
                let t = match c {
                    Condition::Owner { column } if !writes(column) => {
                        column_default_is_uid(table, column).then_some(true)
                    }
                    Condition::Member { column, .. } if !writes(column) => Some(false),
                    Condition::Parent { column, .. } if !writes(column) => None,
                    Condition::Custom { .. } => None,
                    _ => match self.condition(table, c, actor, Command::Select, 0) {
                        Truth::Yes => Some(true),
                        Truth::No => Some(false),
                        Truth::Maybe(_) => None,
                    },
                };
                match t {
                    Some(false) => {
                        verdict = Some(false);
                        break;
                    }
                    None => verdict = None,
                    Some(true) => {}
                }
            }
            match verdict {
                Some(true) => return Some(true),
                None => undecided = true,
                Some(false) => {}
            }
        }
        if undecided {
            None
        } else {
            Some(false)
        }
    }

    /// `column_user(schema, table, column)`.
    pub fn column_user(&self, table: &str, column: &str) -> Actor {
        match &self.index {
            Some(ix) if ix.member_columns.contains(&(table, column)) => Actor::Member,
            Some(_) => Actor::Owner,
            None => column_user(self.schema, table, column),
        }
    }

    fn rules_truth(&self, table: &'a Table, actor: Actor, cmd: Command, depth: u32) -> Truth {
        let rules = table
            .rules
            .iter()
            .filter(|r| r.command == cmd && r.role == actor.db_role());
        let mut maybes: Vec<String> = Vec::new();
        for r in rules {
            let mut verdict = Truth::Yes;
            let mut parts = Vec::new();
            for c in &r.conditions {
                match self.condition(table, c, actor, cmd, depth) {
                    Truth::Yes => {}
                    Truth::No => {
                        verdict = Truth::No;
                        break;
                    }
                    Truth::Maybe(w) => {
                        parts.push(w);
                        verdict = Truth::Maybe(String::new());
                    }
                }
            }
            match verdict {
                Truth::Yes => return Truth::Yes,
                Truth::No => {}
                Truth::Maybe(_) => {
                    let p = parts.join(" and ");
                    if !maybes.contains(&p) {
                        maybes.push(p);
                    }
                }
            }
        }
        if maybes.is_empty() {
            Truth::No
        } else {
            Truth::Maybe(maybes.join(" or "))
        }
    }

    /// `rules_truth` of the select rules of the table at `index`; with the index, computed once
    /// per (table, actor, depth) (the depth matters: the parent chain is cut after 9 levels).
    fn parent_truth(&self, index: usize, parent: &'a Table, actor: Actor, depth: u32) -> Truth {
        let slot = self.index.as_ref().and_then(|ix| {
            let d = usize::try_from(depth).ok().filter(|d| *d < PARENT_DEPTHS)?;
            let i = (index * Actor::ALL.len() + actor as usize) * PARENT_DEPTHS + d;
            Some((&ix.parents, i))
        });
        if let Some((memo, i)) = slot {
            if let Some(Some(t)) = memo.borrow().get(i) {
                return t.clone();
            }
        }
        let t = self.rules_truth(parent, actor, Command::Select, depth);
        if let Some((memo, i)) = slot {
            if let Some(cell) = memo.borrow_mut().get_mut(i) {
                *cell = Some(t.clone());
            }
        }
        t
    }

    fn condition(
        &self,
        table: &Table,
        c: &Condition,
        actor: Actor,
        cmd: Command,
        depth: u32,
    ) -> Truth {
        match c {
            Condition::Always => Truth::Yes,
            Condition::Owner { column } => {
                // An insert cannot set a column the actor may not write: it takes its default.
                if matches!(cmd, Command::Insert) && !may_write(table, actor.db_role(), cmd, column)
                {
                    return if column_default_is_uid(table, column) {
                        Truth::Yes
                    } else {
                        Truth::Maybe(format!(
                            "{} takes its default",
                            crate::emit::markdown::code(column)
                        ))
                    };
                }
                yes_if(actor == self.column_user(&table.name, column))
            }
            Condition::HasRole { role } => yes_if(actor == Actor::Admin && role == "admin"),
            Condition::Member { helper, .. } => {
                if actor != Actor::Member {
                    return Truth::No;
                }
                // Inserting the member's own membership row: before it exists, the member is
                // not a member through it (the fixtures give them no other membership).
                if cmd == Command::Insert
                    && !self.existing
                    && through_of(self.schema, helper) == Some(&table.name)
                {
                    return Truth::No;
                }
                match self.helper_member_role(helper) {
                    Some(MemberRole::Any | MemberRole::Role(_)) => Truth::Yes,
                    _ => Truth::Maybe("the member's role passes the role filter".into()),
                }
            }
            Condition::Parent {
                parent,
                owner: Some(col),
                ..
            } => yes_if(actor == self.column_user(&parent.name, col)),
            Condition::Parent {
                parent,
                owner: None,
                ..
            } => {
                if depth > 8 {
                    return Truth::Maybe("the parent row is visible".into());
                }
                match self.table(&parent.name) {
                    Some((i, p)) => self.parent_truth(i, p, actor, depth + 1),
                    None => Truth::Maybe("the parent row is visible".into()),
                }
            }
            Condition::Custom { using, check } => {
                let text = match cmd {
                    Command::Insert => check.as_deref().or(using.as_deref()),
                    _ => using.as_deref().or(check.as_deref()),
                };
                Truth::Maybe(crate::emit::markdown::code(text.unwrap_or("custom")))
            }
        }
    }
}

/// A write as PostgREST issues it for supabase-js: `.insert(..).select()` and `.update(..).select()`
/// / `.delete().select()` (`Prefer: return=representation`: the statement with `returning`), and
/// `.upsert(..)` (`insert ... on conflict (key) do update set ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Returning,
    Upsert,
}

/// The outcome of `cmd` in `shape`, or `None` where custom SQL decides part of it.
///
/// With `returning`, PostgreSQL also applies the SELECT policies: an inserted or updated row the
/// actor cannot read fails the whole statement with 42501 although the write alone is allowed
/// (**write allowed, returned row refused**, e.g. creating an organisation whose membership a
/// trigger adds later); a deleted row the actor cannot read is not deleted. An upsert of an
/// existing row needs the insert check on the proposed row, the update USING and check, and the
/// SELECT policies on the existing row; any of them failing is an error, never 0 rows.
pub fn shape_outcome(
    schema: &Schema,
    table: &Table,
    actor: Actor,
    cmd: Command,
    shape: Shape,
) -> Option<ShapeOutcome> {
    Access::unindexed(schema).shape_outcome(table, actor, cmd, shape)
}

impl<'a> Access<'a> {
    /// [`shape_outcome`] with this evaluator's index and memory (a whole document stays linear).
    pub fn shape_outcome(
        &self,
        table: &'a Table,
        actor: Actor,
        cmd: Command,
        shape: Shape,
    ) -> Option<ShapeOutcome> {
        shape_outcome_with(self, self.schema, table, actor, cmd, shape)
    }
}

fn shape_outcome_with<'a>(
    a: &Access<'a>,
    schema: &'a Schema,
    table: &'a Table,
    actor: Actor,
    cmd: Command,
    shape: Shape,
) -> Option<ShapeOutcome> {
    let decided = |o: Outcome| match o {
        Outcome::Conditional(..) => None,
        o => Some(o),
    };
    let select = decided(a.outcome(table, actor, Command::Select))?;
    let readable = matches!(select, Outcome::Allowed(_));
    match shape {
        Shape::Returning => {
            let base = decided(a.outcome(table, actor, cmd))?;
            // The inserted row is the actor's own write: columns they may not insert took their
            // defaults (a fresh key, `auth.uid()` as owner), so its readability is its own.
            let readable = if cmd == Command::Insert {
                a.inserted_row_readable(table, actor)?
            } else {
                readable
            };
            Some(match (cmd, base) {
                (_, Outcome::Allowed(_)) if readable => ShapeOutcome::Allowed,
                (Command::Insert | Command::Update, Outcome::Allowed(_)) => {
                    ShapeOutcome::ReturnedRowRefused
                }
                (_, Outcome::Allowed(_)) => ShapeOutcome::Filtered,
                (_, Outcome::Filtered) => ShapeOutcome::Filtered,
                _ => ShapeOutcome::Refused,
            })
        }
        Shape::Upsert => {
            let existing = Access {
                existing: true,
                ..Access::unindexed(schema)
            };
            let ins = decided(existing.outcome(table, actor, Command::Insert))?;
            let upd = decided(a.outcome(table, actor, Command::Update))?;
            Some(
                if matches!(ins, Outcome::Allowed(_))
                    && matches!(upd, Outcome::Allowed(_))
                    && readable
                {
                    ShapeOutcome::Allowed
                } else {
                    ShapeOutcome::Refused
                },
            )
        }
    }
}

/// What a PostgREST-shaped write does to the owner's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeOutcome {
    Allowed,
    /// The write alone is allowed, but the row it returns is not readable: 42501.
    ReturnedRowRefused,
    Filtered,
    Refused,
}

impl ShapeOutcome {
    /// The outcome kind the harness observes (`ReturnedRowRefused` is an error 42501).
    pub fn kind(self) -> &'static str {
        match self {
            ShapeOutcome::Allowed => "allowed",
            ShapeOutcome::Filtered => "filtered",
            ShapeOutcome::ReturnedRowRefused | ShapeOutcome::Refused => "refused",
        }
    }
}

/// The outcome of `actor` writing (`insert` or `update`) the owner's row of `table` with its link
/// column `column` (a foreign key to another app table) pointing at **the other user's** row of
/// that table instead: moving the row into someone else's document, conversation or team.
/// `None` when custom SQL decides it (the policy suite pins it under `moves:`).
pub fn moved_outcome(
    schema: &Schema,
    table: &Table,
    actor: Actor,
    cmd: Command,
    column: &str,
) -> Option<Outcome> {
    let access = Access::unindexed(schema);
    let base = access.own_outcome(table, actor, cmd);
    let cols = match &base {
        Outcome::Allowed(c) | Outcome::Conditional(_, c) => c.clone(),
        // Not allowed on the owner's own row: a move is no different.
        _ => return Some(base),
    };
    if actor == Actor::ServiceRole || !table.rls {
        return Some(base);
    }
    let mut undecided = false;
    for r in table
        .rules
        .iter()
        .filter(|r| r.command == cmd && r.role == actor.db_role())
    {
        let mut verdict = Some(true);
        for c in &r.conditions {
            let t = match c {
                Condition::Parent { column: x, .. } | Condition::Member { column: x, .. }
                    if x == column =>
                {
                    // The other user's parent row: owned by them, and neither the owner nor the
                    // member is a member of it; only an admin's role check can see it.
                    Some(other_row_visible(schema, c, actor, 0))
                }
                Condition::Custom { using, check } => {
                    let text = match cmd {
                        Command::Insert => check.as_deref().or(using.as_deref()),
                        _ => check.as_deref().or(using.as_deref()),
                    };
                    if text.is_some_and(|t| mentions(t, column)) {
                        None
                    } else {
                        match access.condition(table, c, actor, cmd, 0) {
                            Truth::Yes => Some(true),
                            Truth::No => Some(false),
                            Truth::Maybe(_) => None,
                        }
                    }
                }
                _ => match access.condition(table, c, actor, cmd, 0) {
                    Truth::Yes => Some(true),
                    Truth::No => Some(false),
                    Truth::Maybe(_) => None,
                },
            };
            match t {
                Some(false) => {
                    verdict = Some(false);
                    break;
                }
                None => verdict = None,
                Some(true) => {}
            }
        }
        match verdict {
            Some(true) => return Some(Outcome::Allowed(cols)),
            None => undecided = true,
            Some(false) => {}
        }
    }
    if undecided {
        None
    } else {
        Some(Outcome::Refused)
    }
}

/// Is the other user's row of the table `c` links to (a `parent:` or `member:` key) usable by
/// `actor`? Only through rules every row passes or an admin's role check.
fn other_row_visible(schema: &Schema, c: &Condition, actor: Actor, depth: u32) -> bool {
    let Condition::Parent { parent, owner, .. } = c else {
        return false;
    };
    if owner.is_some() || depth > 8 {
        return false;
    }
    let Some(p) = schema.tables.iter().find(|t| t.name == parent.name) else {
        return false;
    };
    if !p.rls {
        return true;
    }
    p.rules
        .iter()
        .filter(|r| r.command == Command::Select && r.role == actor.db_role())
        .any(|r| {
            r.conditions.iter().all(|c| match c {
                Condition::Always => true,
                Condition::HasRole { role } => actor == Actor::Admin && role == "admin",
                Condition::Parent { .. } => other_row_visible(schema, c, actor, depth + 1),
                _ => false,
            })
        })
}

/// Does SQL text mention `column` as a word?
fn mentions(text: &str, column: &str) -> bool {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    text.match_indices(column)
        .any(|(i, m)| (i == 0 || !word(b[i - 1])) && b.get(i + m.len()).is_none_or(|c| !word(*c)))
}

/// The membership table of member helper `helper`.
fn through_of<'s>(schema: &'s Schema, helper: &str) -> Option<&'s String> {
    schema.helpers.iter().find_map(|h| match h {
        Helper::MemberKeys { name, through, .. } if name == helper => Some(through),
        _ => None,
    })
}

/// Which fixture user a `uuid` column of the owner's row holds.
pub fn column_user(schema: &Schema, table: &str, column: &str) -> Actor {
    let is_member_column = schema.helpers.iter().any(|h| matches!(h, Helper::MemberKeys { through, user_column, .. } if through == table && user_column == column));
    if is_member_column {
        Actor::Member
    } else {
        Actor::Owner
    }
}

/// The member role the fixtures give the member in `through`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberRole {
    /// No policy filters on the member's role.
    Any,
    /// This role satisfies every role filter used with the table.
    Role(String),
    /// The filters contradict each other: no single role satisfies them all.
    Unsatisfiable,
}

/// The member role that satisfies every role filter used with `through`.
pub fn member_role(schema: &Schema, through: &str) -> MemberRole {
    let mut allowed: Option<Vec<String>> = None;
    for h in &schema.helpers {
        if let Helper::MemberKeys {
            through: t,
            role_filter: Some((_, roles, _)),
            ..
        } = h
        {
            if t == through {
                allowed = Some(match allowed {
                    None => roles.clone(),
                    Some(prev) => prev.into_iter().filter(|r| roles.contains(r)).collect(),
                });
            }
        }
    }
    match allowed {
        None => MemberRole::Any,
        Some(v) => v
            .into_iter()
            .next()
            .map(MemberRole::Role)
            .unwrap_or(MemberRole::Unsatisfiable),
    }
}

fn column_default_is_uid(table: &Table, column: &str) -> bool {
    table
        .column(column)
        .and_then(|c| c.default.as_deref())
        .is_some_and(|d| d.eq_ignore_ascii_case("auth.uid()"))
}

fn yes_if(b: bool) -> Truth {
    if b {
        Truth::Yes
    } else {
        Truth::No
    }
}

/// True for column types the harness can fill with a synthetic value.
pub fn fillable(ty: &SqlType) -> bool {
    !matches!(ty, SqlType::Interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Rule;
    use crate::source::Sources;

    /// The evaluation `Access` replaces, kept as the oracle: a linear scan for every parent and
    /// member helper, and no memory of verdicts.
    fn naive_outcome(schema: &Schema, table: &Table, actor: Actor, cmd: Command) -> Outcome {
        let Some(grant) = grant(table, actor.db_role(), cmd) else {
            return Outcome::Refused;
        };
        let cols = grant.columns.clone();
        if cols.as_ref().is_some_and(|c| c.is_empty()) {
            return Outcome::Refused;
        }
        if actor == Actor::ServiceRole || !table.rls {
            return Outcome::Allowed(cols);
        }
        match naive_rules(schema, table, actor, cmd, 0) {
            Truth::Yes => Outcome::Allowed(cols),
            Truth::Maybe(why) => Outcome::Conditional(why, cols),
            Truth::No if cmd == Command::Insert => Outcome::Refused,
            Truth::No => Outcome::Filtered,
        }
    }

    fn naive_rules(
        schema: &Schema,
        table: &Table,
        actor: Actor,
        cmd: Command,
        depth: u32,
    ) -> Truth {
        let rules: Vec<&Rule> = table
            .rules
            .iter()
            .filter(|r| r.command == cmd && r.role == actor.db_role())
            .collect();
        let mut maybes: Vec<String> = Vec::new();
        for r in rules {
            let mut verdict = Truth::Yes;
            let mut parts = Vec::new();
            for c in &r.conditions {
                match naive_condition(schema, table, c, actor, cmd, depth) {
                    Truth::Yes => {}
                    Truth::No => {
                        verdict = Truth::No;
                        break;
                    }
                    Truth::Maybe(w) => {
                        parts.push(w);
                        verdict = Truth::Maybe(String::new());
                    }
                }
            }
            match verdict {
                Truth::Yes => return Truth::Yes,
                Truth::No => {}
                Truth::Maybe(_) => {
                    let p = parts.join(" and ");
                    if !maybes.contains(&p) {
                        maybes.push(p);
                    }
                }
            }
        }
        if maybes.is_empty() {
            Truth::No
        } else {
            Truth::Maybe(maybes.join(" or "))
        }
    }

    fn naive_condition(
        schema: &Schema,
        table: &Table,
        c: &Condition,
        actor: Actor,
        cmd: Command,
        depth: u32,
    ) -> Truth {
        match c {
            Condition::Always => Truth::Yes,
            Condition::Owner { column } => {
                if matches!(cmd, Command::Insert) && !may_write(table, actor.db_role(), cmd, column)
                {
                    return if column_default_is_uid(table, column) {
                        Truth::Yes
                    } else {
                        Truth::Maybe(format!(
                            "{} takes its default",
                            crate::emit::markdown::code(column)
                        ))
                    };
                }
                yes_if(actor == column_user(schema, &table.name, column))
            }
            Condition::HasRole { role } => yes_if(actor == Actor::Admin && role == "admin"),
            Condition::Member { helper, .. } => {
                if actor != Actor::Member {
                    return Truth::No;
                }
                if cmd == Command::Insert && through_of(schema, helper) == Some(&table.name) {
                    return Truth::No;
                }
                let through = schema.helpers.iter().find_map(|h| match h {
                    Helper::MemberKeys { name, through, .. } if name == helper => {
                        Some(through.clone())
                    }
                    _ => None,
                });
                match through.map(|t| member_role(schema, &t)) {
                    Some(MemberRole::Any | MemberRole::Role(_)) => Truth::Yes,
                    _ => Truth::Maybe("the member's role passes the role filter".into()),
                }
            }
            Condition::Parent {
                parent,
                owner: Some(col),
                ..
            } => yes_if(actor == column_user(schema, &parent.name, col)),
            Condition::Parent {
                parent,
                owner: None,
                ..
            } => {
                if depth > 8 {
                    return Truth::Maybe("the parent row is visible".into());
                }
                match schema.tables.iter().find(|t| t.name == parent.name) {
                    Some(p) => naive_rules(schema, p, actor, Command::Select, depth + 1),
                    None => Truth::Maybe("the parent row is visible".into()),
                }
            }
            Condition::Custom { using, check } => {
                let text = match cmd {
                    Command::Insert => check.as_deref().or(using.as_deref()),
                    _ => using.as_deref().or(check.as_deref()),
                };
                Truth::Maybe(crate::emit::markdown::code(text.unwrap_or("custom")))
            }
        }
    }

    /// A chain of 14 tables, each readable with its parent (longer than the 9 levels evaluated)
    /// and some with a second parent two levels up, so one table is reached at several depths;
    /// owners, custom expressions, member tables with and without role filters.
    fn chain_schema() -> Schema {
        let mut yaml = String::from(
            "enums:\n  member_role: [viewer, editor]\ntables:\n  t00:\n    columns:\n      \
             id: { type: uuid, primary_key: true, default: gen_random_uuid() }\n      \
             user_id: { type: uuid, default: auth.uid(), references: auth.users }\n      \
             open: { type: boolean, default: \"false\" }\n    policies:\n      \
             - { for: all, owner: user_id }\n      - { for: select, using: \"open\" }\n",
        );
        for i in 1..14 {
            let p = format!("t{:02}", i - 1);
            let _ = write!(
                yaml,
                "  t{i:02}:\n    columns:\n      \
                 id: {{ type: uuid, primary_key: true, default: gen_random_uuid() }}\n      \
                 user_id: {{ type: uuid, default: auth.uid(), references: auth.users }}\n      \
                 {p}_id: {{ type: uuid, references: {p} }}\n"
            );
            let second = (i >= 3 && i % 3 == 0).then(|| format!("t{:02}", i - 2));
            if let Some(q) = &second {
                let _ = writeln!(yaml, "      {q}_id: {{ type: uuid?, references: {q} }}");
            }
            let _ = write!(
                yaml,
                "    policies:\n      - {{ for: all, owner: user_id }}\n      \
                 - {{ for: select, parent: {{ column: {p}_id }} }}\n      \
                 - {{ for: insert, parent: {{ column: {p}_id, owner: user_id }} }}\n"
            );
            if let Some(q) = &second {
                let _ = writeln!(
                    yaml,
                    "      - {{ for: select, parent: {{ column: {q}_id }} }}"
                );
            }
            if i % 4 == 0 {
                let _ = writeln!(
                    yaml,
                    "      - {{ for: update, using: \"{p}_id is not null\" }}"
                );
            }
            if i % 5 == 0 {
                let m = format!("m{i:02}");
                // Through `m10`, readers must be viewers and writers editors: no single role.
                let (read, write) = if i == 10 {
                    (", roles: [viewer]", ", roles: [editor]")
                } else {
                    ("", "")
                };
                let _ = write!(
                    yaml,
                    "      - {{ for: select, member: {{ through: {m}, key: t{i:02}_id{read} }} }}\n      \
                     - {{ for: update, member: {{ through: {m}, key: t{i:02}_id{write} }} }}\n  \
                     {m}:\n    columns:\n      \
                     t{i:02}_id: {{ type: uuid, references: t{i:02} }}\n      \
                     user_id: {{ type: uuid, references: auth.users }}\n      \
                     role: {{ type: member_role, default: \"'viewer'\" }}\n    \
                     primary_key: [t{i:02}_id, user_id]\n    policies:\n      \
                     - {{ for: select, owner: user_id }}\n      \
                     - {{ for: all, parent: {{ column: t{i:02}_id, owner: user_id }} }}\n"
                );
            }
        }
        let mut sources = Sources::new();
        sources.add("schema.yaml", yaml);
        let c = crate::compile(&sources);
        assert!(!c.has_errors(), "{:#?}", c.diagnostics);
        c.ir.expect("no errors, so a model")
    }

    use std::fmt::Write;

    #[test]
    fn indexed_evaluation_matches_the_scan() {
        let schema = chain_schema();
        assert!(schema.tables.len() >= 16, "{}", schema.tables.len());
        let access = Access::new(&schema);
        let mut cut = 0;
        let mut member = 0;
        for t in &schema.tables {
            for actor in Actor::ALL {
                for cmd in Command::ALL {
                    let expected = naive_outcome(&schema, t, actor, cmd);
                    assert_eq!(
                        access.own_outcome(t, actor, cmd),
                        expected,
                        "{} {} {cmd:?}",
                        t.name,
                        actor.name()
                    );
                    assert_eq!(own_outcome(&schema, t, actor, cmd), expected);
                    if let Outcome::Conditional(why, _) = &expected {
                        cut += usize::from(why.contains("the parent row is visible"));
                        member += usize::from(why.contains("role filter"));
                    }
                }
            }
            for c in &t.columns {
                assert_eq!(
                    access.column_user(&t.name, &c.name),
                    column_user(&schema, &t.name, &c.name)
                );
            }
        }
        // The schema reaches the depth cut-off and the member role filter.
        assert!(cut > 0 && member > 0, "cut {cut}, member {member}");
    }
}
