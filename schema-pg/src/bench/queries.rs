//! The app's typical queries, derived from the policies of any schema, each as the actor runs it (RLS does the filtering) and as `service_role` runs it with the equivalent explicit filter.
//!
//! Generic rules (per table with RLS and a `select` grant for `authenticated`):
//! * an owner rule (`owner: col`): "owner lists their rows" — `select ... order by <updated_at or
//!   created_at desc, then key> limit 50` (newest first, as app lists are);
//! * a parent rule (`parent: {column}`): "read one parent's children" as the parent's owner;
//! * a parent whose own read rules include a member rule: "a member reads a shared parent's
//!   children" as a member who does not own the parent; and for the parent itself "a member opens
//!   a shared row";
//! * a vector column with an hnsw/ivfflat index: "vector search over the user's own rows",
//!   `order by <col> <op> $q limit 10` with the index's distance operator.
//!
//! The `service_role` filter is the policy written out for the known actor: owner rules become
//! `col = '<uid>'`, member rules `col = any (array(select key from <join table> where user =
//! '<uid>'))`, parent rules `col = any (array(select key from <parent> where <the parent's
//! filter>))` (the same shape as the generated policies, so both sides give the planner the same
//! information), app-role rules are dropped (the bench users are not admins) and custom SQL is
//! kept (the service session carries the user's claims, so `auth.uid()` in it still names the
//! user).

use super::data::{user_email, user_uuid, DataPlan};
use schema_core::ir::{
    Command, Condition, DbRole, Helper, IndexMethod, Rule, Schema, SqlType, Table,
};
use schema_core::sql::ident::{literal, qname, qualified, quote};
use schema_core::types;
use uuid::Uuid;

/// What a query is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum QueryKind {
    OwnerList,
    ParentChildren,
    MemberParent,
    MemberChildren,
    VectorSearch,
}

impl QueryKind {
    pub fn name(self) -> &'static str {
        match self {
            QueryKind::OwnerList => "owner_list",
            QueryKind::ParentChildren => "parent_children",
            QueryKind::MemberParent => "member_opens_shared",
            QueryKind::MemberChildren => "member_reads_shared_children",
            QueryKind::VectorSearch => "vector_search",
        }
    }
}

/// One typical query, before the data it needs (which user, which parent row) is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub kind: QueryKind,
    pub table: String,
    /// The column filtered on (owner, parent key or member column; the vector for searches).
    pub column: String,
    /// The parent table and its referenced column, for parent and member queries.
    pub parent: Option<(String, String)>,
    /// The membership helper, for member queries.
    pub helper: Option<String>,
    /// The distance operator, for vector searches.
    pub operator: Option<String>,
}

/// A query ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub name: String,
    pub kind: QueryKind,
    pub table: String,
    /// The user the actor query runs as.
    pub user: Uuid,
    pub email: String,
    /// Who runs it: `user` (an ordinary user), `power user` (owns most rows of skewed data) or
    /// `admin` (has the app role of the schema's role rules).
    pub actor: &'static str,
    pub actor_sql: String,
    pub service_sql: String,
    /// Whether the table's read policy depends on a member rule (directly or through a parent),
    /// so the membership form changes it.
    pub uses_membership: bool,
}

fn select_rules(t: &Table) -> impl Iterator<Item = &Rule> {
    t.rules
        .iter()
        .filter(|r| r.command == Command::Select && r.role == DbRole::Authenticated)
}

fn table<'s>(schema: &'s Schema, name: &str) -> Option<&'s Table> {
    schema.tables.iter().find(|t| t.name == name)
}

/// Whether `authenticated` may select from `t` at all and RLS is on.
fn readable(t: &Table) -> bool {
    t.rls
        && t.grants.iter().any(|g| {
            g.role == DbRole::Authenticated
                && g.command == Command::Select
                && g.columns.as_ref().is_none_or(|c| !c.is_empty())
        })
        && select_rules(t).next().is_some()
}

/// The select list `authenticated` may use: `*`, or the granted columns.
pub fn select_list(t: &Table) -> String {
    let grant = t
        .grants
        .iter()
        .find(|g| g.role == DbRole::Authenticated && g.command == Command::Select);
    match grant.and_then(|g| g.columns.as_ref()) {
        Some(cols) => cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "),
        None => "*".into(),
    }
}

fn order_key(t: &Table) -> String {
    if t.primary_key.is_empty() {
        "1".into()
    } else {
        t.primary_key
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether `t`'s read policy depends on a member rule, directly or through parents.
pub fn uses_membership(schema: &Schema, t: &Table, depth: u32) -> bool {
    depth < 8
        && select_rules(t).any(|r| {
            r.conditions.iter().any(|c| match c {
                Condition::Member { .. } => true,
                Condition::Parent {
                    parent,
                    owner: None,
                    ..
                } => table(schema, &parent.name)
                    .is_some_and(|p| uses_membership(schema, p, depth + 1)),
                _ => false,
            })
        })
}

/// The distance operator of a pgvector operator class.
fn distance_operator(opclass: Option<&str>) -> &'static str {
    let op = opclass.unwrap_or("vector_l2_ops");
    if op.ends_with("cosine_ops") {
        "<=>"
    } else if op.ends_with("ip_ops") {
        "<#>"
    } else if op.ends_with("l1_ops") {
        "<+>"
    } else if op.ends_with("hamming_ops") {
        "<~>"
    } else if op.ends_with("jaccard_ops") {
        "<%>"
    } else {
        "<->"
    }
}

/// Every typical query of `schema`, in table order.
pub fn specs(schema: &Schema) -> Vec<Spec> {
    let mut out = Vec::new();
    for t in schema.tables.iter().filter(|t| readable(t)) {
        let mut owner_done = false;
        let mut parents_done: Vec<String> = Vec::new();
        for r in select_rules(t) {
            for c in &r.conditions {
                match c {
                    Condition::Owner { column } if !owner_done => {
                        owner_done = true;
                        out.push(Spec {
                            kind: QueryKind::OwnerList,
                            table: t.name.clone(),
                            column: column.clone(),
                            parent: None,
                            helper: None,
                            operator: None,
                        });
                    }
                    Condition::Parent {
                        column,
                        parent,
                        parent_column,
                        owner,
                    } if parent.schema == "public" && !parents_done.contains(column) => {
                        parents_done.push(column.clone());
                        let p = (parent.name.clone(), parent_column.clone());
                        out.push(Spec {
                            kind: QueryKind::ParentChildren,
                            table: t.name.clone(),
                            column: column.clone(),
                            parent: Some(p.clone()),
                            helper: None,
                            operator: None,
                        });
                        if owner.is_none() {
                            if let Some(helper) = table(schema, &parent.name).and_then(member_rule)
                            {
                                out.push(Spec {
                                    kind: QueryKind::MemberChildren,
                                    table: t.name.clone(),
                                    column: column.clone(),
                                    parent: Some(p),
                                    helper: Some(helper.1),
                                    operator: None,
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some((column, helper)) = member_rule(t) {
            out.push(Spec {
                kind: QueryKind::MemberParent,
                table: t.name.clone(),
                column,
                parent: None,
                helper: Some(helper),
                operator: None,
            });
        }
        for ix in &t.indexes {
            let vector_col = ix.columns.first().and_then(|c| t.column(&c.name));
            if matches!(ix.method, IndexMethod::Hnsw | IndexMethod::Ivfflat)
                && vector_col.is_some_and(|c| matches!(c.ty, SqlType::Vector(_)))
            {
                out.push(Spec {
                    kind: QueryKind::VectorSearch,
                    table: t.name.clone(),
                    column: ix.columns[0].name.clone(),
                    parent: None,
                    helper: None,
                    operator: Some(distance_operator(ix.opclass.as_deref()).into()),
                });
            }
        }
    }
    out
}

/// The (column, helper) of the first member rule among `t`'s read rules.
fn member_rule(t: &Table) -> Option<(String, String)> {
    select_rules(t).find_map(|r| {
        r.conditions.iter().find_map(|c| match c {
            Condition::Member { column, helper } => Some((column.clone(), helper.clone())),
            _ => None,
        })
    })
}

/// The explicit filter equivalent to `t`'s read policy for a non-admin user `uid`; `None` when
/// the policy lets the user see nothing (so the service query gets `false`).
pub fn explicit_filter(schema: &Schema, t: &Table, uid: Uuid, depth: u32) -> Option<String> {
    explicit_filter_as(schema, t, uid, depth, None)
}

/// [`explicit_filter`] for a user who has the app role `admin_role` (when `Some`): rules that
/// require that role hold (no filter), and a parent rule whose parent is then wholly readable
/// only needs the key to be set.
pub fn explicit_filter_as(
    schema: &Schema,
    t: &Table,
    uid: Uuid,
    depth: u32,
    admin_role: Option<&str>,
) -> Option<String> {
    let uid_sql = format!("{}::uuid", literal(&uid.to_string()));
    let mut arms: Vec<String> = Vec::new();
    for r in select_rules(t) {
        let mut parts: Vec<String> = Vec::new();
        let mut possible = true;
        for c in &r.conditions {
            let part = match c {
                Condition::Always => None,
                Condition::Owner { column } => Some(format!("{} = {uid_sql}", quote(column))),
                Condition::HasRole { role } if Some(role.as_str()) == admin_role => None,
                Condition::HasRole { .. } => {
                    possible = false;
                    None
                }
                Condition::Member { column, helper } => {
                    Some(member_filter(schema, column, helper, &uid_sql))
                }
                Condition::Parent {
                    column,
                    parent,
                    parent_column,
                    owner,
                } => {
                    let inner = match owner {
                        Some(o) => Some(format!("{} = {uid_sql}", quote(o))),
                        None => match table(schema, &parent.name) {
                            Some(p) if depth < 8 => {
                                explicit_filter_as(schema, p, uid, depth + 1, admin_role)
                            }
                            _ => Some("true".into()),
                        },
                    };
                    match inner {
                        Some(w) if w == "true" => Some(format!("{} is not null", quote(column))),
                        Some(w) => Some(format!(
                            "{} = any (array(select {} from {} where {w}))",
                            quote(column),
                            quote(parent_column),
                            qname(parent)
                        )),
                        None => {
                            possible = false;
                            None
                        }
                    }
                }
                Condition::Custom { using: Some(u), .. } => Some(u.clone()),
                #[allow(unreachable_patterns)]
                _ => {
                    possible = false;
                    None
                }
            };
            if let Some(p) = part {
                parts.push(p);
            }
        }
        if !possible {
            continue;
        }
        let arm = match parts.len() {
            0 => "true".to_string(),
            1 => parts.remove(0),
            _ => parts
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" and "),
        };
        if !arms.contains(&arm) {
            arms.push(arm);
        }
    }
    if arms.iter().any(|a| a == "true") {
        return Some("true".into());
    }
    match arms.len() {
        0 => None,
        1 => arms.pop(),
        _ => Some(
            arms.iter()
                .map(|a| format!("({a})"))
                .collect::<Vec<_>>()
                .join(" or "),
        ),
    }
}

/// `col in (select key from <join table> where user = '<uid>' [and role = any(...)])`.
fn member_filter(schema: &Schema, column: &str, helper: &str, uid_sql: &str) -> String {
    let def = schema.helpers.iter().find_map(|h| match h {
        Helper::MemberKeys {
            name,
            through,
            key,
            user_column,
            role_filter,
            ..
        } if name == helper => Some((through, key, user_column, role_filter)),
        _ => None,
    });
    match def {
        Some((through, key, user_column, role_filter)) => {
            let mut w = format!("{} = {uid_sql}", quote(user_column));
            if let Some((col, roles, ty)) = role_filter {
                let lits: Vec<String> = roles.iter().map(|r| literal(r)).collect();
                w.push_str(&format!(
                    " and {} = any (array[{}]::{}[])",
                    quote(col),
                    lits.join(", "),
                    types::sql(ty, None)
                ));
            }
            format!(
                "{} = any (array(select {} from {} where {w}))",
                quote(column),
                quote(key),
                qualified("public", through)
            )
        }
        None => format!(
            "{} in (select {}())",
            quote(column),
            qualified(&schema.helpers_schema, helper)
        ),
    }
}

/// A deterministic pseudo-random query vector of `dims` components, as a pgvector literal.
pub fn query_vector(dims: u32, seed: u64) -> String {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut parts = Vec::with_capacity(dims as usize);
    for _ in 0..dims {
        // xorshift64*: a fixed generator, so runs compare.
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let f = (v >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        parts.push(format!("{f:.6}"));
    }
    format!("[{}]", parts.join(","))
}

/// Turns specs into runnable queries: picks the users and rows from the data plan. `lookup`
/// runs a one-value query as the migrating role (used to find a shared parent row).
pub fn resolve(
    schema: &Schema,
    plan: &DataPlan<'_>,
    specs: &[Spec],
    lookup: &mut dyn FnMut(&str) -> Result<Option<String>, String>,
) -> Result<Vec<Query>, String> {
    // The ordinary user: a user in the middle (with even data every user owns rows of every
    // table); the power user and the admin when the data is skewed / the schema has app roles.
    let mut actors: Vec<(&'static str, u64, Option<String>)> =
        vec![("user", plan.users / 2 + 1, None)];
    if plan.skewed() {
        actors.push(("power user", POWER_USER, None));
    }
    if let Some(role) = admin_role(schema) {
        actors.push(("admin", ADMIN_USER, Some(role)));
    }
    let vs = schema_core::emit::up::vector_schema(schema);
    let mut out = Vec::new();
    for s in specs {
        for (label, n, role) in &actors {
            if *label != "user"
                && matches!(s.kind, QueryKind::MemberParent | QueryKind::MemberChildren)
            {
                continue;
            }
            let label: &'static str = label;
            let owner_n = *n;
            let owner = user_uuid(owner_n);
            // The member: the next user, who is a member of the owner's first shared rows.
            let member_n = owner_n % plan.users + 1;
            let member = user_uuid(member_n);
            let Some(t) = table(schema, &s.table) else {
                continue;
            };
            let cols = select_list(t);
            let key = order_key(t);
            let tq = qualified("public", &t.name);
            let uses_membership = uses_membership(schema, t, 0);
            let with_filter = |uid: Uuid, extra: Option<&str>| -> String {
                let f = explicit_filter_as(schema, t, uid, 0, role.as_deref())
                    .unwrap_or_else(|| "false".into());
                match extra {
                    Some(e) => format!("{e} and ({f})"),
                    None => f,
                }
            };
            let col_ty = |name: &str| {
                t.column(name)
                    .map(|c| types::sql(&c.ty, vs.as_deref()))
                    .unwrap_or_else(|| "text".into())
            };
            match s.kind {
                QueryKind::OwnerList => {
                    // Lists show the newest rows first (conversations by last update, usage by time),
                    // as apps do; the primary key is the fallback for tables without timestamps.
                    let key = ["updated_at", "created_at"]
                        .iter()
                        .find(|c| t.column(c).is_some())
                        .map(|c| format!("{} desc, {key}", quote(c)))
                        .unwrap_or_else(|| key.clone());
                    out.push(Query {
                        name: format!("{}: owner lists their rows", t.name),
                        kind: s.kind,
                        table: t.name.clone(),
                        user: owner,
                        email: user_email(owner_n),
                        actor: label,
                        actor_sql: format!("select {cols} from {tq} order by {key} limit 50"),
                        service_sql: format!(
                            "select {cols} from {tq} where {} order by {key} limit 50",
                            with_filter(owner, None)
                        ),
                        uses_membership,
                    });
                }
                QueryKind::ParentChildren => {
                    let (parent, parent_col) = s.parent.clone().unwrap_or_default();
                    // Row `owner_n` of every table belongs to the owner.
                    let key_sql = plan.key_sql(&parent, &parent_col, &owner_n.to_string())?;
                    let Some(value) = lookup(&format!("select ({key_sql})::text"))? else {
                        continue;
                    };
                    let cond = format!(
                        "{} = {}::{}",
                        quote(&s.column),
                        literal(&value),
                        col_ty(&s.column)
                    );
                    out.push(Query {
                        name: format!("{}: read one {parent} row's children", t.name),
                        kind: s.kind,
                        table: t.name.clone(),
                        user: owner,
                        email: user_email(owner_n),
                        actor: label,
                        actor_sql: format!(
                            "select {cols} from {tq} where {cond} order by {key} limit 50"
                        ),
                        service_sql: format!(
                            "select {cols} from {tq} where {} order by {key} limit 50",
                            with_filter(owner, Some(&cond))
                        ),
                        uses_membership,
                    });
                }
                QueryKind::MemberParent | QueryKind::MemberChildren => {
                    let helper = s.helper.clone().unwrap_or_default();
                    let Some(shared) = shared_key(schema, &helper, member, lookup)? else {
                        continue;
                    };
                    let (target, cond) = if s.kind == QueryKind::MemberParent {
                        // The member column of this table holds the join table's key.
                        (
                            t.name.clone(),
                            format!(
                                "{} = {}::{}",
                                quote(&s.column),
                                literal(&shared),
                                col_ty(&s.column)
                            ),
                        )
                    } else {
                        let (parent, parent_col) = s.parent.clone().unwrap_or_default();
                        let Some(p) = table(schema, &parent) else {
                            continue;
                        };
                        let Some((member_col, _)) = member_rule(p) else {
                            continue;
                        };
                        let Some(pkey) = lookup(&format!(
                            "select ({})::text from {} where {} = {}::{} limit 1",
                            quote(&parent_col),
                            qualified("public", &parent),
                            quote(&member_col),
                            literal(&shared),
                            p.column(&member_col)
                                .map(|c| types::sql(&c.ty, vs.as_deref()))
                                .unwrap_or_else(|| "text".into())
                        ))?
                        else {
                            continue;
                        };
                        (
                            parent,
                            format!(
                                "{} = {}::{}",
                                quote(&s.column),
                                literal(&pkey),
                                col_ty(&s.column)
                            ),
                        )
                    };
                    let name = if s.kind == QueryKind::MemberParent {
                        format!("{}: a member opens a shared row", t.name)
                    } else {
                        format!(
                            "{}: a member reads a shared {target} row's children",
                            t.name
                        )
                    };
                    out.push(Query {
                        name,
                        kind: s.kind,
                        table: t.name.clone(),
                        user: member,
                        email: user_email(member_n),
                        actor: label,
                        actor_sql: format!(
                            "select {cols} from {tq} where {cond} order by {key} limit 50"
                        ),
                        service_sql: format!(
                            "select {cols} from {tq} where {} order by {key} limit 50",
                            with_filter(member, Some(&cond))
                        ),
                        uses_membership,
                    });
                }
                QueryKind::VectorSearch => {
                    let dims = match t.column(&s.column).map(|c| &c.ty) {
                        Some(SqlType::Vector(d)) => *d,
                        _ => continue,
                    };
                    let vs_name = vs.clone().unwrap_or_else(|| "public".into());
                    let op = s.operator.clone().unwrap_or_else(|| "<->".into());
                    let q = format!(
                        "{}::{}",
                        literal(&query_vector(dims, owner_n)),
                        types::sql(&SqlType::Vector(dims), Some(&vs_name))
                    );
                    let order = format!(
                        "{} operator({}.{op}) {q}",
                        quote(&s.column),
                        quote(&vs_name)
                    );
                    out.push(Query {
                        name: format!("{}: vector search over the user's own rows", t.name),
                        kind: s.kind,
                        table: t.name.clone(),
                        user: owner,
                        email: user_email(owner_n),
                        actor: label,
                        actor_sql: format!("select {cols} from {tq} order by {order} limit 10"),
                        // Exact on the service side (`+ 0` keeps the vector index from serving the
                        // order; its approximate answer could differ): the rows to compare with.
                        service_sql: format!(
                            "select {cols} from {tq} where {} order by ({order}) + 0 limit 10",
                            with_filter(owner, None)
                        ),
                        uses_membership,
                    });
                }
            }
        }
    }
    for q in &mut out {
        if q.actor != "user" {
            q.name = format!("{} [{}]", q.name, q.actor);
        }
    }
    Ok(out)
}

/// The power user of skewed data (see `data::Skew`).
pub const POWER_USER: u64 = 1;
/// The bench user given the admin role (see [`admin_role`]).
pub const ADMIN_USER: u64 = 2;

/// The app role that read rules grant to (e.g. `admin`), when the roles live in a column the bench
/// can set for [`ADMIN_USER`].
pub fn admin_role(schema: &Schema) -> Option<String> {
    if !matches!(
        schema.role_source,
        Some(schema_core::ir::RoleSource::Column { .. })
    ) {
        return None;
    }
    schema.tables.iter().flat_map(select_rules).find_map(|r| {
        r.conditions.iter().find_map(|c| match c {
            Condition::HasRole { role } => Some(role.clone()),
            _ => None,
        })
    })
}

/// A key the member `user` has through `helper`'s join table (respecting its role filter).
fn shared_key(
    schema: &Schema,
    helper: &str,
    user: Uuid,
    lookup: &mut dyn FnMut(&str) -> Result<Option<String>, String>,
) -> Result<Option<String>, String> {
    let Some(Helper::MemberKeys {
        through,
        key,
        user_column,
        role_filter,
        ..
    }) = schema
        .helpers
        .iter()
        .find(|h| matches!(h, Helper::MemberKeys { name, .. } if name == helper))
    else {
        return Ok(None);
    };
    let mut w = format!(
        "{} = {}::uuid",
        quote(user_column),
        literal(&user.to_string())
    );
    if let Some((col, roles, ty)) = role_filter {
        let lits: Vec<String> = roles.iter().map(|r| literal(r)).collect();
        w.push_str(&format!(
            " and {} = any (array[{}]::{}[])",
            quote(col),
            lits.join(", "),
            types::sql(ty, None)
        ));
    }
    lookup(&format!(
        "select ({})::text from {} where {w} order by 1 limit 1",
        quote(key),
        qualified("public", through)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_vectors_are_deterministic_and_sized() {
        let a = query_vector(4, 1);
        assert_eq!(a, query_vector(4, 1));
        assert_ne!(a, query_vector(4, 2));
        assert_eq!(a.matches(',').count(), 3);
        assert!(a.starts_with('[') && a.ends_with(']'));
    }

    #[test]
    fn operators_follow_the_opclass() {
        assert_eq!(distance_operator(Some("vector_cosine_ops")), "<=>");
        assert_eq!(distance_operator(Some("vector_ip_ops")), "<#>");
        assert_eq!(distance_operator(None), "<->");
    }
}
