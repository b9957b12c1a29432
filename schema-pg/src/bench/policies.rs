//! Policy variants the bench compares with the generated ones: membership conditions in the `in (select helper())` and `= any (array(select helper()))` forms, the generated policies without their app-role (admin) branches, and the naive hand-written style (`auth.uid() = col`, no `to` role, one policy per rule, without the indexes schemac adds).

use schema_core::emit::up;
use schema_core::ir::{Command, Condition, DbRole, RoleSource, Rule, Schema, Table};
use schema_core::sql::ident::{literal, qname, qualified, quote};

/// How membership conditions are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberForm {
    /// `col in (select helper())`: a hashed SubPlan, evaluated once.
    InSelect,
    /// `col = any (array(select helper()))`: an InitPlan array, usable as an index condition.
    AnyArray,
}

impl MemberForm {
    pub fn name(self) -> &'static str {
        match self {
            MemberForm::InSelect => "in (select helper())",
            MemberForm::AnyArray => "= any (array(select helper()))",
        }
    }

    fn render(self, schema: &Schema, column: &str, helper: &str) -> String {
        let call = format!("{}()", qualified(&schema.helpers_schema, helper));
        match self {
            MemberForm::InSelect => format!("{} in (select {call})", quote(column)),
            MemberForm::AnyArray => format!("{} = any (array(select {call}))", quote(column)),
        }
    }
}

/// Every (column, helper) pair of the schema's member conditions.
fn member_pairs(schema: &Schema) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in &schema.tables {
        for r in &t.rules {
            for c in &r.conditions {
                if let Condition::Member { column, helper } = c {
                    let p = (column.clone(), helper.clone());
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// Rewrites a generated policy expression's membership conditions into `form`.
pub fn with_member_form(schema: &Schema, expr: &str, form: MemberForm) -> String {
    let mut out = expr.to_string();
    for (column, helper) in member_pairs(schema) {
        for other in [MemberForm::InSelect, MemberForm::AnyArray] {
            if other != form {
                out = out.replace(
                    &other.render(schema, &column, &helper),
                    &form.render(schema, &column, &helper),
                );
            }
        }
    }
    out
}

/// `alter policy` statements that give every generated policy the expression of a variant:
/// without the app-role rules (`strip_role_rules`: what the `or (select has_role(...))` branch
/// costs; policies made only of role rules are left alone), and/or with membership conditions in
/// `form`. `(false, None)` restores the generated policies.
pub fn variant_statements(
    schema: &Schema,
    strip_role_rules: bool,
    form: Option<MemberForm>,
) -> Vec<String> {
    let mut variant = schema.clone();
    if strip_role_rules {
        for t in &mut variant.tables {
            t.rules.retain(|r| {
                !r.conditions
                    .iter()
                    .any(|c| matches!(c, Condition::HasRole { .. }))
            });
        }
    }
    let mut out = Vec::new();
    for (t, vt) in schema.tables.iter().zip(&variant.tables) {
        for p in up::policies(&variant, vt) {
            if !up::policies(schema, t).iter().any(|o| o.name == p.name) {
                continue;
            }
            let rewrite = |e: &str| match form {
                Some(f) => with_member_form(schema, e, f),
                None => e.to_string(),
            };
            let mut sql = format!(
                "alter policy {} on {}",
                quote(&p.name),
                qualified("public", &t.name)
            );
            if let Some(u) = &p.using {
                sql.push_str(&format!(" using ({})", rewrite(u)));
            }
            if let Some(c) = &p.check {
                sql.push_str(&format!(" with check ({})", rewrite(c)));
            }
            out.push(sql);
        }
    }
    out
}

/// Whether some generated policy contains a membership condition in `form` (what the emitter
/// produces today).
pub fn generated_member_form(schema: &Schema) -> Option<MemberForm> {
    let pairs = member_pairs(schema);
    for t in &schema.tables {
        for p in up::policies(schema, t) {
            let text = format!(
                "{} {}",
                p.using.unwrap_or_default(),
                p.check.unwrap_or_default()
            );
            for (c, h) in &pairs {
                for form in [MemberForm::AnyArray, MemberForm::InSelect] {
                    if text.contains(&form.render(schema, c, h)) {
                        return Some(form);
                    }
                }
            }
        }
    }
    None
}

/// Whether some rule grants access by app role (`role: admin`): such a branch is OR-ed into the
/// users' policies and is what [`variant_statements`] can remove.
pub fn has_role_rules(schema: &Schema) -> bool {
    schema.tables.iter().any(|t| {
        t.rules.iter().any(|r| {
            r.conditions
                .iter()
                .any(|c| matches!(c, Condition::HasRole { .. }))
        })
    })
}

/// `auth.uid()` where the generated SQL wraps it as `(select auth.uid())`.
fn unwrap_auth(sql: &str) -> String {
    let mut out = sql.to_string();
    for f in ["uid", "jwt", "role", "email"] {
        for select in ["select", "SELECT"] {
            out = out.replace(&format!("({select} auth.{f}())"), &format!("auth.{f}()"));
        }
    }
    out
}

/// One naive condition: what a hand-written policy typically says.
fn naive_condition(schema: &Schema, t: &Table, c: &Condition, check: bool) -> Option<String> {
    Some(match c {
        Condition::Always => "true".into(),
        Condition::Owner { column } => format!("auth.uid() = {}", quote(column)),
        Condition::HasRole { role } => match &schema.role_source {
            Some(RoleSource::Jwt { path }) => {
                let mut e = "auth.jwt()".to_string();
                for (i, p) in path.iter().enumerate() {
                    let op = if i + 1 == path.len() { "->>" } else { "->" };
                    e = format!("{e} {op} {}", literal(p));
                }
                format!("coalesce(({e}) = {}, false)", literal(role))
            }
            _ => format!(
                "{}({})",
                qualified(&schema.helpers_schema, "has_role"),
                literal(role)
            ),
        },
        // A join to the membership table would recurse into its policies (42P17); hand-written
        // schemas call the security definer helper.
        Condition::Member { column, helper } => format!(
            "{} in (select {}())",
            quote(column),
            qualified(&schema.helpers_schema, helper)
        ),
        Condition::Parent {
            column,
            parent,
            parent_column,
            owner,
        } => {
            let mut e = format!(
                "exists (select 1 from {} p where p.{} = {}.{}",
                qname(parent),
                quote(parent_column),
                quote(&t.name),
                quote(column)
            );
            if let Some(o) = owner {
                e.push_str(&format!(" and auth.uid() = p.{}", quote(o)));
            }
            e.push(')');
            e
        }
        Condition::Custom { using, check: chk } => {
            let text = if check {
                chk.as_ref().or(using.as_ref())?
            } else {
                using.as_ref()?
            };
            unwrap_auth(text)
        }
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

fn naive_rule(schema: &Schema, t: &Table, r: &Rule, check: bool) -> String {
    let parts: Vec<String> = r
        .conditions
        .iter()
        .filter_map(|c| naive_condition(schema, t, c, check))
        .collect();
    match parts.len() {
        0 => "true".into(),
        1 => parts[0].clone(),
        _ => parts
            .iter()
            .map(|p| format!("({p})"))
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

/// The naive setup: drops every generated policy and the indexes schemac added (foreign key and
/// policy columns), and creates one policy per written rule of `authenticated`, without `to`.
pub fn naive_statements(schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for t in &schema.tables {
        let tq = qualified("public", &t.name);
        for p in up::policies(schema, t) {
            out.push(format!("drop policy if exists {} on {tq}", quote(&p.name)));
        }
        for ix in t.indexes.iter().filter(|ix| ix.reason.is_some()) {
            out.push(format!(
                "drop index if exists {}",
                qualified("public", &ix.name)
            ));
        }
        let mut n = 0;
        for r in t.rules.iter().filter(|r| r.role == DbRole::Authenticated) {
            n += 1;
            let name = format!("naive {} {n}", r.command.sql());
            let mut sql = format!(
                "create policy {} on {tq} for {}",
                quote(&name),
                r.command.sql()
            );
            if matches!(
                r.command,
                Command::Select | Command::Update | Command::Delete
            ) {
                sql.push_str(&format!(" using ({})", naive_rule(schema, t, r, false)));
            }
            if matches!(r.command, Command::Insert | Command::Update) {
                sql.push_str(&format!(" with check ({})", naive_rule(schema, t, r, true)));
            }
            out.push(sql);
        }
    }
    out
}

/// Names of the indexes the naive setup lacks (schemac added them).
pub fn added_indexes(schema: &Schema) -> Vec<String> {
    schema
        .tables
        .iter()
        .flat_map(|t| t.indexes.iter())
        .filter(|ix| ix.reason.is_some())
        .map(|ix| ix.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_calls_lose_their_select_wrapper() {
        assert_eq!(
            unwrap_auth("c.user_id = (SELECT auth.uid()) and x = (select auth.jwt())"),
            "c.user_id = auth.uid() and x = auth.jwt()"
        );
    }
}
