//! Fixture planning: deterministic users (owner, other, member, admin) and, for every table, the
//! owner's row and the other user's row, consistent with the foreign keys, following the row
//! model of `schema_core::emit::access`.

use schema_core::emit::access::{self, Actor as Who};
use schema_core::ir::{Identity, Schema, SqlType, Table};
use schema_core::sql::ident::{literal, quote};
use schema_core::suite::Suite;
use schema_core::types;
use uuid::Uuid;

/// The fixture users. Fixed ids, so reports and scenarios can name them.
pub fn user_id(who: Who) -> Option<Uuid> {
    // Ordered other < admin < owner < member: the probes read the owner's row, so a policy that
    // compares the owner column with a range (the "owner or admin" fold) is caught if either bound
    // is wrong for an ordinary user below (other) or above (member) the owner, or for the admin's
    // upper bound; tests/policies/app.yaml reads the other user's rows as admin for the lower one.
    let n: u128 = match who {
        Who::Other => 0xa,
        Who::Admin => 0xb,
        Who::Owner => 0xc,
        Who::Member => 0xd,
        Who::Anon | Who::ServiceRole => return None,
    };
    Some(Uuid::from_u128(
        0xf1c7_0000_0000_4000_8000_0000_0000_0000 | n,
    ))
}

pub fn email(who: Who) -> String {
    format!("{}@fixtures.schemac.invalid", who.name())
}

/// Whose row a fixture row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    Owner,
    Other,
}

impl Ctx {
    pub fn who(self) -> Who {
        match self {
            Ctx::Owner => Who::Owner,
            Ctx::Other => Who::Other,
        }
    }
}

/// A deterministic uuid for a fixture value (not random: reports must be reproducible).
pub fn fixture_uuid(table: &str, column: &str, ctx: Ctx, n: u32) -> Uuid {
    // FNV-1a over the key: stable across runs, releases and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!("{table}\u{1}{column}\u{1}{ctx:?}\u{1}{n}");
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let bits = (u128::from(h) << 64) | u128::from(h.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15);
    // Version 4, RFC 4122 variant, so the values look like any other uuid.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    Uuid::from_u128(bits)
}

/// One planned row: the SQL values of the columns it sets.
#[derive(Clone, Debug)]
pub struct PlannedRow {
    pub table: String,
    pub ctx: Ctx,
    pub values: Vec<(String, String)>,
}

/// Where the values of the owner's and the other user's rows come from.
pub struct Planner<'a> {
    pub schema: &'a Schema,
    pub suite: &'a Suite,
    vector_schema: Option<String>,
    /// Key values the database chose (identity columns), as SQL literals: (table, ctx, column).
    captured: std::cell::RefCell<std::collections::BTreeMap<(String, bool, String), String>>,
}

impl<'a> Planner<'a> {
    pub fn new(schema: &'a Schema, suite: &'a Suite) -> Self {
        Planner {
            schema,
            suite,
            vector_schema: schema_core::emit::up::vector_schema(schema),
            captured: Default::default(),
        }
    }

    /// Records a key value the database generated for `ctx`'s row (e.g. an identity column).
    pub fn capture(&self, table: &str, ctx: Ctx, column: &str, sql_value: String) {
        self.captured.borrow_mut().insert(
            (table.to_string(), ctx == Ctx::Owner, column.to_string()),
            sql_value,
        );
    }

    fn table(&self, name: &str) -> Option<&'a Table> {
        self.schema.tables.iter().find(|t| t.name == name)
    }

    /// Is `table` a membership (join) table of some member policy?
    pub fn is_through(&self, table: &str) -> bool {
        self.schema.helpers.iter().any(|h| matches!(h, schema_core::ir::Helper::MemberKeys { through, .. } if through == table))
    }

    /// The values of `ctx`'s row in `table`; `n` > 0 gives fresh values for keys and unique
    /// columns (a second row of the same context). `None` when the row cannot exist (a membership
    /// row in the other user's context).
    pub fn row(&self, table: &Table, ctx: Ctx, n: u32) -> Option<PlannedRow> {
        if ctx == Ctx::Other && self.is_through(&table.name) {
            return None;
        }
        let mut values = Vec::new();
        let unique_cols: Vec<&str> = table
            .uniques
            .iter()
            .filter(|u| u.columns.len() == 1)
            .map(|u| u.columns[0].as_str())
            .collect();
        for c in &table.columns {
            if c.generated.is_some() || c.identity == Some(Identity::Always) {
                continue;
            }
            if let Some(o) = self
                .suite
                .fixtures
                .iter()
                .find(|f| f.table == table.name && f.column == c.name)
            {
                values.push((c.name.clone(), o.sql.clone()));
                continue;
            }
            let fk = table
                .foreign_keys
                .iter()
                .find(|f| f.columns.contains(&c.name));
            // An owner column without a foreign key to auth.users still holds the row's user.
            let owner_column = fk.is_none()
                && matches!(c.ty, SqlType::Uuid)
                && table.rules.iter().any(|r| {
                    r.conditions.iter().any(|x| {
                        matches!(x, schema_core::ir::Condition::Owner { column } if *column == c.name)
                    })
                });
            if owner_column {
                let id = user_id(ctx.who()).expect("a user");
                values.push((
                    c.name.clone(),
                    format!("{}::uuid", literal(&id.to_string())),
                ));
                continue;
            }
            if let Some(fk) = fk {
                let pos = fk
                    .columns
                    .iter()
                    .position(|x| x == &c.name)
                    .expect("column in fk");
                if fk.target.schema == "auth" {
                    let who = match access::column_user(self.schema, &table.name, &c.name) {
                        Who::Member => Who::Member,
                        _ => ctx.who(),
                    };
                    let id = user_id(who).expect("a user");
                    values.push((
                        c.name.clone(),
                        format!("{}::uuid", literal(&id.to_string())),
                    ));
                    continue;
                }
                let target = self.table(&fk.target.name)?;
                match self.key_value(target, &fk.target_columns[pos], ctx) {
                    Some(v) => values.push((c.name.clone(), v)),
                    None if c.nullable => {}
                    None => return None,
                }
                continue;
            }
            let is_pk = table.primary_key.contains(&c.name);
            let is_unique = unique_cols.contains(&c.name.as_str());
            if is_pk || is_unique {
                if c.identity.is_some() {
                    continue;
                }
                values.push((
                    c.name.clone(),
                    self.synthetic(&table.name, &c.name, &c.ty, ctx, n),
                ));
                continue;
            }
            // Role columns of membership tables get the member role the filters need.
            if let SqlType::Enum(_) = &c.ty {
                if self.is_through(&table.name)
                    && self.role_column_of(&table.name) == Some(c.name.as_str())
                {
                    if let access::MemberRole::Role(role) =
                        access::member_role(self.schema, &table.name)
                    {
                        values.push((
                            c.name.clone(),
                            format!("{}::{}", literal(&role), types::sql(&c.ty, None)),
                        ));
                        continue;
                    }
                }
            }
            if c.default.is_some() || c.nullable || c.identity.is_some() {
                continue;
            }
            values.push((
                c.name.clone(),
                self.synthetic(&table.name, &c.name, &c.ty, ctx, n),
            ));
        }
        Some(PlannedRow {
            table: table.name.clone(),
            ctx,
            values,
        })
    }

    fn role_column_of(&self, through: &str) -> Option<&'a str> {
        self.schema.helpers.iter().find_map(|h| match h {
            schema_core::ir::Helper::MemberKeys {
                through: t,
                role_filter: Some((col, _, _)),
                ..
            } if t == through => Some(col.as_str()),
            _ => None,
        })
    }

    /// The SQL value of `column` in `ctx`'s row of `table` (a key another row references).
    pub fn key_value(&self, table: &Table, column: &str, ctx: Ctx) -> Option<String> {
        if let Some(v) =
            self.captured
                .borrow()
                .get(&(table.name.clone(), ctx == Ctx::Owner, column.to_string()))
        {
            return Some(v.clone());
        }
        let row = self.row(table, ctx, 0)?;
        row.values
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.clone())
    }

    /// The primary-key predicate of `ctx`'s row: `"a" = v and "b" = w`.
    pub fn pk_predicate(&self, table: &Table, ctx: Ctx) -> Option<String> {
        let mut parts = Vec::new();
        for k in &table.primary_key {
            parts.push(format!("{} = {}", quote(k), self.key_value(table, k, ctx)?));
        }
        Some(parts.join(" and "))
    }

    /// A synthetic value of a type, distinct per (table, column, ctx, n).
    pub fn synthetic(&self, table: &str, column: &str, ty: &SqlType, ctx: Ctx, n: u32) -> String {
        let tag = format!(
            "fx_{}_{}_{}",
            &table[..table.len().min(12)],
            match ctx {
                Ctx::Owner => "o",
                Ctx::Other => "b",
            },
            n
        );
        let num = (fixture_uuid(table, column, ctx, n).as_u128() % 30_000) as i64 + 1;
        let vs = self.vector_schema.as_deref();
        match ty {
            SqlType::Uuid => format!(
                "{}::uuid",
                literal(&fixture_uuid(table, column, ctx, n).to_string())
            ),
            SqlType::Text => literal(&tag),
            SqlType::Varchar(len) | SqlType::Char(len) => {
                literal(&tag[..tag.len().min(*len as usize)])
            }
            SqlType::SmallInt | SqlType::Int | SqlType::BigInt => {
                format!("{num}::{}", types::sql(ty, vs))
            }
            SqlType::Numeric(_) | SqlType::Real | SqlType::Double => {
                format!("1::{}", types::sql(ty, vs))
            }
            SqlType::Boolean => "false".into(),
            SqlType::Json | SqlType::Jsonb => format!("'{{}}'::{}", types::sql(ty, vs)),
            SqlType::Timestamptz | SqlType::Timestamp => {
                format!("'2026-01-01 00:00:00+00'::{}", types::sql(ty, vs))
            }
            SqlType::Date => "'2026-01-01'::date".into(),
            SqlType::Time => "'12:00'::time".into(),
            SqlType::Interval => "'1 hour'::interval".into(),
            SqlType::Bytea => "'\\x00'::bytea".into(),
            SqlType::Inet => "'127.0.0.1'::inet".into(),
            SqlType::Tsvector => format!("to_tsvector('simple', {})", literal(&tag)),
            SqlType::Vector(d) => {
                format!("array_fill(0.1::real, array[{d}])::{}", types::sql(ty, vs))
            }
            SqlType::Enum(e) => {
                let first = self
                    .schema
                    .enums
                    .iter()
                    .find(|x| &x.name == e)
                    .and_then(|x| x.values.first())
                    .cloned()
                    .unwrap_or_default();
                format!("{}::{}", literal(&first), types::sql(ty, vs))
            }
            SqlType::Array(_) => format!("'{{}}'::{}", types::sql(ty, vs)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_uuids_are_stable_v4_shaped_and_distinct() {
        let a = fixture_uuid("t", "id", Ctx::Owner, 0);
        assert_eq!(a, fixture_uuid("t", "id", Ctx::Owner, 0));
        assert_ne!(a, fixture_uuid("t", "id", Ctx::Other, 0));
        assert_ne!(a, fixture_uuid("t", "id", Ctx::Owner, 1));
        assert_eq!(a.get_version_num(), 4);
        assert_ne!(user_id(Who::Owner), user_id(Who::Other));
    }
}
