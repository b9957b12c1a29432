//! Synthetic data for any compiled schema: row counts scaled from a few targets, and set-based `insert ... select ... from generate_series(...)` statements consistent with every foreign key.
//!
//! The row model: user `u` (1-based) is `b0000000-0000-4000-8000-<u as 12 hex digits>`. Row `i`
//! (1-based) of every table belongs to user `((i - 1) % users) + 1`: its columns referencing
//! `auth.users` hold that user (the member column of a membership table holds the *next* user, so
//! the row shares its parent with someone else), and each foreign key to an app table points at
//! the parent's row `((i - 1) % parent_rows) + 1`. Every table other rows reference has a multiple
//! of `users` rows, so that parent row belongs to the same user: messages live in their owner's
//! conversations, chunks in their owner's documents. Key values are pure functions of the row
//! number (uuids are `md5('<table>.<column>:' || i)::uuid`), so a child computes its parent's key
//! without reading the parent.

use schema_core::ir::{ForeignKey, Helper, Identity, RoleSource, Schema, SqlType, Table};
use schema_core::sql::ident::{literal, qualified, quote};
use schema_core::types;
use uuid::Uuid;

/// The targets the data is scaled from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Users in `auth.users` (the signup triggers fire for each).
    pub users: u64,
    /// Rows of each leaf table (one no other table references, with a foreign key), e.g. `messages`.
    pub leaf_rows: u64,
    /// Rows of each table with a vector column, e.g. `document_chunks`.
    pub vector_rows: u64,
    /// Children per parent row: a parent table gets `children / fanout` rows.
    pub fanout: u64,
    /// Rows per user of tables nothing else sizes (e.g. `api_keys`).
    pub per_user: u64,
    /// Skewed ownership of the leaf and vector tables (`None`: row `i` belongs to user
    /// `((i - 1) % users) + 1`, evenly).
    pub skew: Option<Skew>,
}

/// Who owns the rows of the leaf and vector tables (messages, usage, chunks) when they are
/// skewed: user 1 (the power user) owns `power_share` of them; every other row goes to user
/// `floor(users ^ u)` for `u` spread evenly over [0, 1) (a Zipf-like law with exponent 1: user
/// `r` owns about `1 / (r ln users)` of those rows, so a few users own most and most own a few or
/// none). Parents stay evenly owned; a skewed row's parent is one of its owner's parents, so
/// messages still live in their owner's conversations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Skew {
    pub power_share: f64,
}

impl Eq for Skew {}

impl Scale {
    /// A few seconds of data: 100 users, 2,000 rows per leaf table, 500 vectors.
    pub fn small() -> Scale {
        Scale {
            users: 100,
            leaf_rows: 2_000,
            vector_rows: 500,
            fanout: 10,
            per_user: 2,
            skew: None,
        }
    }

    /// The figures: 10k users, 1M rows per leaf table (messages), 100k vectors (chunks).
    pub fn million() -> Scale {
        Scale {
            users: 10_000,
            leaf_rows: 1_000_000,
            vector_rows: 100_000,
            fanout: 10,
            per_user: 2,
            skew: None,
        }
    }

    /// Production-like: 1M users, 1M rows per leaf table and 1M vectors, skewed (see [`Skew`]):
    /// the power user owns 10% of every leaf and vector table (100k chunks among 1M).
    pub fn million_users_skewed() -> Scale {
        Scale {
            users: 1_000_000,
            leaf_rows: 1_000_000,
            vector_rows: 1_000_000,
            fanout: 10,
            per_user: 2,
            skew: Some(Skew { power_share: 0.1 }),
        }
    }
}

/// Why a table got its row count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One row per user: the primary key is a foreign key to `auth.users` (e.g. `profiles`).
    PerUser,
    /// The join table of a member policy: about half of its parent's rows are shared.
    Membership,
    /// A link table: its primary key spans two or more foreign keys to app tables.
    Link,
    /// Has a vector column: [`Scale::vector_rows`].
    Vector,
    /// Referenced by no other table and has a foreign key: [`Scale::leaf_rows`].
    Leaf,
    /// Referenced by required foreign keys: its largest child's rows / [`Scale::fanout`].
    Parent,
    /// Anything else: [`Scale::users`] x [`Scale::per_user`].
    Other,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::PerUser => "per user",
            Kind::Membership => "membership",
            Kind::Link => "link",
            Kind::Vector => "vector",
            Kind::Leaf => "leaf",
            Kind::Parent => "parent",
            Kind::Other => "other",
        }
    }
}

/// The planned size of one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TablePlan {
    pub name: String,
    pub kind: Kind,
    pub rows: u64,
}

/// Row counts of every table and the SQL that fills them.
#[derive(Clone, Debug)]
pub struct DataPlan<'a> {
    schema: &'a Schema,
    pub users: u64,
    /// In the schema's creation order (parents first).
    pub tables: Vec<TablePlan>,
    vector_schema: Option<String>,
    skew: Option<Skew>,
}

/// The id of bench user `u` (1-based), as the SQL of [`DataPlan::user_sql`] computes it.
pub fn user_uuid(u: u64) -> Uuid {
    Uuid::from_u128(0xb000_0000_0000_4000_8000_0000_0000_0000 | u128::from(u))
}

/// The email of bench user `u`.
pub fn user_email(u: u64) -> String {
    format!("user{u}@bench.schemac.invalid")
}

/// Vector rows per cluster (see `column_sql`): a table of n vectors has max(1, n / 20) clusters.
pub const PER_CLUSTER: u64 = 20;

/// Component `k` (SQL) of the center of cluster `c` (SQL), in [-0.5, 0.5): a cheap hash.
pub fn cluster_component_sql(c: &str, k: &str) -> String {
    format!("((sin(({c})::float8 * 12.9898 + ({k})::float8 * 78.233) * 43758.5453) - floor(sin(({c})::float8 * 12.9898 + ({k})::float8 * 78.233) * 43758.5453) - 0.5)")
}

fn is_auth_users(fk: &ForeignKey) -> bool {
    fk.target.schema == "auth" && fk.target.name == "users"
}

/// The foreign keys of `t` to other tables of the schema.
fn app_fks<'s>(schema: &'s Schema, t: &'s Table) -> impl Iterator<Item = &'s ForeignKey> + 's {
    t.foreign_keys.iter().filter(move |fk| {
        fk.target.schema == "public"
            && fk.target.name != t.name
            && schema.tables.iter().any(|x| x.name == fk.target.name)
    })
}

fn required(t: &Table, fk: &ForeignKey) -> bool {
    fk.columns
        .iter()
        .all(|c| t.column(c).is_some_and(|c| !c.nullable))
}

/// The membership helper whose join table is `table`, if any.
fn membership<'s>(schema: &'s Schema, table: &str) -> Option<&'s Helper> {
    schema
        .helpers
        .iter()
        .find(|h| matches!(h, Helper::MemberKeys { through, .. } if through == table))
}

fn round_up(n: u64, unit: u64) -> u64 {
    n.max(1).div_ceil(unit) * unit
}

impl<'a> DataPlan<'a> {
    /// Sizes every table of `schema` from `scale` (see [`Kind`]).
    pub fn new(schema: &'a Schema, scale: &Scale) -> Result<DataPlan<'a>, String> {
        let users = scale.users.max(2);
        let referenced = |name: &str| {
            schema.tables.iter().any(|t| {
                t.name != name
                    && t.foreign_keys
                        .iter()
                        .any(|fk| fk.target.schema == "public" && fk.target.name == name)
            })
        };
        let mut kinds: Vec<(String, Kind)> = Vec::new();
        for t in &schema.tables {
            let per_user = t.primary_key.len() == 1
                && t.foreign_keys
                    .iter()
                    .any(|fk| is_auth_users(fk) && fk.columns == t.primary_key);
            let link = t.primary_key.len() >= 2
                && app_fks(schema, t)
                    .filter(|fk| fk.columns.iter().all(|c| t.primary_key.contains(c)))
                    .count()
                    >= 2;
            let kind = if per_user {
                Kind::PerUser
            } else if membership(schema, &t.name).is_some() {
                Kind::Membership
            } else if link {
                Kind::Link
            } else if t.columns.iter().any(|c| matches!(c.ty, SqlType::Vector(_))) {
                Kind::Vector
            } else if !referenced(&t.name) && !t.foreign_keys.is_empty() {
                Kind::Leaf
            } else {
                Kind::Other
            };
            kinds.push((t.name.clone(), kind));
        }
        let mut rows: Vec<Option<u64>> = kinds
            .iter()
            .map(|(_, k)| match k {
                Kind::PerUser => Some(users),
                Kind::Vector => Some(scale.vector_rows.max(1)),
                Kind::Leaf => Some(scale.leaf_rows.max(1)),
                _ => None,
            })
            .collect();
        // Parents, children first (tables are in creation order: parents before children).
        for idx in (0..schema.tables.len()).rev() {
            if rows[idx].is_some() || matches!(kinds[idx].1, Kind::Membership | Kind::Link) {
                continue;
            }
            let name = &schema.tables[idx].name;
            let mut biggest: Option<u64> = None;
            for (ci, child) in schema.tables.iter().enumerate() {
                if child.name == *name || matches!(kinds[ci].1, Kind::Membership | Kind::Link) {
                    continue;
                }
                let fk_to_us =
                    app_fks(schema, child).any(|fk| fk.target.name == *name && required(child, fk));
                if let (true, Some(n)) = (fk_to_us, rows[ci]) {
                    biggest = Some(biggest.unwrap_or(0).max(n));
                }
            }
            match biggest {
                Some(n) => {
                    kinds[idx].1 = Kind::Parent;
                    rows[idx] = Some(n / scale.fanout.max(1));
                }
                None => rows[idx] = Some(users * scale.per_user.max(1)),
            }
        }
        // Tables other rows point at get a multiple of `users` rows (see the module docs).
        for (idx, t) in schema.tables.iter().enumerate() {
            if referenced(&t.name) {
                if let Some(n) = rows[idx] {
                    rows[idx] = Some(round_up(n, users));
                }
            }
        }
        // Membership and link tables, from their parents (parents come first).
        for (idx, t) in schema.tables.iter().enumerate() {
            let snapshot = rows.clone();
            let parent_rows = |fk: &ForeignKey| -> u64 {
                if is_auth_users(fk) {
                    return users;
                }
                schema
                    .tables
                    .iter()
                    .position(|x| x.name == fk.target.name)
                    .and_then(|p| snapshot[p])
                    .unwrap_or(users)
            };
            match kinds[idx].1 {
                Kind::Membership => {
                    let key = match membership(schema, &t.name) {
                        Some(Helper::MemberKeys { key, .. }) => key.clone(),
                        _ => String::new(),
                    };
                    let parent = t
                        .foreign_keys
                        .iter()
                        .find(|fk| fk.columns.contains(&key))
                        .map(parent_rows)
                        .unwrap_or(users);
                    rows[idx] = Some((parent / 2).max(1));
                }
                Kind::Link => {
                    let n = app_fks(schema, t)
                        .filter(|fk| fk.columns.iter().all(|c| t.primary_key.contains(c)))
                        .map(parent_rows)
                        .min()
                        .unwrap_or(users);
                    rows[idx] = Some(n);
                }
                _ => {}
            }
            // One-to-one children cannot have more rows than their parent.
            let uniques: Vec<&Vec<String>> = std::iter::once(&t.primary_key)
                .chain(t.uniques.iter().map(|u| &u.columns))
                .filter(|u| !u.is_empty())
                .collect();
            for fk in &t.foreign_keys {
                let one_to_one = uniques.iter().any(|u| {
                    u.len() == fk.columns.len() && u.iter().all(|c| fk.columns.contains(c))
                });
                if one_to_one && fk.target.name != t.name {
                    let cap = parent_rows(fk);
                    if let Some(n) = rows[idx] {
                        rows[idx] = Some(n.min(cap));
                    }
                }
            }
        }
        let tables = kinds
            .into_iter()
            .zip(rows)
            .map(|((name, kind), rows)| TablePlan {
                name,
                kind,
                rows: rows.unwrap_or(users),
            })
            .collect();
        Ok(DataPlan {
            schema,
            users,
            tables,
            vector_schema: schema_core::emit::up::vector_schema(schema),
            skew: scale.skew,
        })
    }

    /// Whether the leaf and vector tables are skewed (there is a power user).
    pub fn skewed(&self) -> bool {
        self.skew.is_some()
    }

    /// Planned rows of `table` (`auth.users`: the users).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|t| t.name == table)
            .map(|t| t.rows)
            .unwrap_or(self.users)
    }

    fn table(&self, name: &str) -> Option<&'a Table> {
        self.schema.tables.iter().find(|t| t.name == name)
    }

    /// The SQL of the id of user `((i - 1) % users) + 1`, `i` being SQL for a row number.
    pub fn user_sql(&self, user_index_sql: &str) -> String {
        format!("('b0000000-0000-4000-8000-' || lpad(to_hex({user_index_sql}), 12, '0'))::uuid")
    }

    /// The owner's user number (SQL) of row `i` of any table.
    fn owner_sql(&self, i: &str) -> String {
        format!("((({i}) - 1) % {} + 1)", self.users)
    }

    /// For the rows of a skewed table: the row number (SQL) whose owner and parents row `i`
    /// takes; `i` itself for other tables. The result `r + users * (i % 1000)` belongs to user
    /// `r` (see [`Skew`]) and, every parent table having a multiple of `users` rows, points at
    /// one of `r`'s parent rows.
    fn placement_sql(&self, t: &Table, i: &str) -> String {
        let skewed = self.skew.is_some()
            && self
                .tables
                .iter()
                .any(|p| p.name == t.name && matches!(p.kind, Kind::Leaf | Kind::Vector));
        let (Some(skew), true) = (self.skew, skewed) else {
            return i.to_string();
        };
        let u = self.users;
        // u in [0, 1): the fractional part of i times the golden ratio (evenly spread).
        let frac = format!(
            "((({i})::float8 * 0.6180339887498949) - floor(({i})::float8 * 0.6180339887498949))"
        );
        let p = skew.power_share.clamp(0.0, 0.99);
        format!(
            "((case when {frac} < {p} then 1 else least({u}, greatest(1, floor(power({u}::float8, ({frac} - {p}) / {q}))::bigint)) end) + {u}::bigint * (({i}) % 1000))",
            q = 1.0 - p
        )
    }

    /// `insert into auth.users ...` for users `from..=to` (the signup triggers fire per row).
    pub fn users_insert(&self, from: u64, to: u64) -> String {
        format!(
            "insert into {} ({}) select '00000000-0000-0000-0000-000000000000'::uuid, {}, 'authenticated', 'authenticated', \
             'user' || g.i || '@bench.schemac.invalid', now(), \
             '{{\"provider\": \"email\", \"providers\": [\"email\"]}}'::jsonb, \
             jsonb_build_object('username', 'user_' || g.i, 'full_name', 'User ' || g.i), now(), now() \
             from generate_series({from}::bigint, {to}::bigint) as g(i)",
            qualified("auth", "users"),
            schema_core::sql::ident::list(&[
                "instance_id",
                "id",
                "aud",
                "role",
                "email",
                "email_confirmed_at",
                "raw_app_meta_data",
                "raw_user_meta_data",
                "created_at",
                "updated_at",
            ]),
            self.user_sql("g.i")
        )
    }

    /// `insert into <table> ... select ... from generate_series(from, to)`: rows `from..=to`.
    pub fn insert(&self, table: &Table, from: u64, to: u64) -> Result<String, String> {
        let mut cols = Vec::new();
        let mut exprs = Vec::new();
        let mut overriding = false;
        for c in &table.columns {
            if let Some(e) = self.column_sql(table, &c.name, "g.i")? {
                if c.identity.is_some() {
                    overriding = true;
                }
                cols.push(quote(&c.name));
                exprs.push(e);
            }
        }
        Ok(format!(
            "insert into {} ({}){} select {} from generate_series({from}::bigint, {to}::bigint) as g(i)",
            qualified("public", &table.name),
            cols.join(", "),
            if overriding {
                " overriding system value"
            } else {
                ""
            },
            exprs.join(", ")
        ))
    }

    /// Statements run after loading `table`: identity sequences continue after the loaded rows.
    pub fn after_load(&self, table: &Table) -> Vec<String> {
        table
            .columns
            .iter()
            .filter(|c| c.identity.is_some() && table.primary_key.contains(&c.name))
            .map(|c| {
                format!(
                    "select setval(pg_get_serial_sequence({}, {}), greatest((select max({}) from {}), 1))",
                    literal(&qualified("public", &table.name)),
                    literal(&c.name),
                    quote(&c.name),
                    qualified("public", &table.name)
                )
            })
            .collect()
    }

    /// The value of `table.column` in row `i` (SQL), for rows other rows reference.
    pub fn key_sql(&self, table: &str, column: &str, i: &str) -> Result<String, String> {
        if table == "auth.users" {
            return Ok(self.user_sql(&self.owner_sql(i)));
        }
        let t = self
            .table(table)
            .ok_or_else(|| format!("no table `{table}`"))?;
        self.column_sql(t, column, i)?.ok_or_else(|| {
            format!("`{table}.{column}` is referenced by a foreign key but gets no generated value")
        })
    }

    /// The SQL of `table.column` in row `i`; `None` leaves it to its default (or null).
    fn column_sql(&self, t: &Table, column: &str, i: &str) -> Result<Option<String>, String> {
        let Some(c) = t.column(column) else {
            return Err(format!("no column `{}.{column}`", t.name));
        };
        let vs = self.vector_schema.as_deref();
        let ty = types::sql(&c.ty, vs);
        if c.generated.is_some() {
            return Ok(None);
        }
        if c.identity.is_some() {
            return Ok(t
                .primary_key
                .contains(&c.name)
                .then(|| format!("({i})::{ty}")));
        }
        if let Some(fk) = t
            .foreign_keys
            .iter()
            .find(|fk| fk.columns.contains(&c.name))
        {
            let pos = fk
                .columns
                .iter()
                .position(|x| x == &c.name)
                .unwrap_or_default();
            let target_col = fk.target_columns.get(pos).cloned().unwrap_or_default();
            let placed = self.placement_sql(t, i);
            let i = placed.as_str();
            if is_auth_users(fk) {
                let owner = self.owner_sql(i);
                let member_column = matches!(membership(self.schema, &t.name),
                    Some(Helper::MemberKeys { user_column, .. }) if user_column == &c.name);
                let user = if member_column {
                    format!("({owner} % {} + 1)", self.users)
                } else {
                    owner
                };
                return Ok(Some(self.user_sql(&user)));
            }
            if fk.target.schema == "public" && fk.target.name == t.name {
                return if c.nullable {
                    Ok(None)
                } else {
                    self.key_sql(&t.name, &target_col, i).map(Some)
                };
            }
            if fk.target.schema == "public" && self.table(&fk.target.name).is_some() {
                let parent = format!("((({i}) - 1) % {} + 1)", self.rows(&fk.target.name).max(1));
                return self
                    .key_sql(&fk.target.name, &target_col, &parent)
                    .map(Some);
            }
            return if c.nullable {
                Ok(None)
            } else {
                Err(format!(
                    "`{}.{}` references {}.{}, which the bench cannot fill",
                    t.name, c.name, fk.target.schema, fk.target.name
                ))
            };
        }
        let unique_sets: Vec<&Vec<String>> = std::iter::once(&t.primary_key)
            .chain(t.uniques.iter().map(|u| &u.columns))
            .filter(|u| u.contains(&c.name))
            .collect();
        if !unique_sets.is_empty() {
            return self
                .unique_sql(t, &c.ty, &c.name, &unique_sets, i)
                .map(Some);
        }
        if let SqlType::Vector(d) = c.ty {
            // Clustered, as embeddings are: row i lies near the center of cluster i % clusters
            // (20 rows per cluster; components uniform in [-0.5, 0.5) from a hash of cluster and
            // dimension) plus noise of a quarter of that spread. Uniform random vectors have no
            // near neighbours (every point is about as far as every other): recall means nothing.
            let clusters = (self.rows(&t.name) / PER_CLUSTER).max(1);
            return Ok(Some(format!(
                "array(select ({} + (random() - 0.5) * 0.25)::real from generate_series(1, {d}) as k(k))::{ty}",
                cluster_component_sql(&format!("(({i}) % {clusters})"), "k.k")
            )));
        }
        let is_role_source = matches!(&self.schema.role_source,
            Some(RoleSource::Column { table, column, .. }) if table == &t.name && column == &c.name);
        if is_role_source || c.nullable {
            return Ok(None);
        }
        let in_check = t.checks.iter().any(|k| k.expr.contains(&c.name));
        let has_default = c.default.is_some() || c.identity == Some(Identity::ByDefault);
        Ok(match &c.ty {
            SqlType::Enum(e) if !(in_check && has_default) => {
                let values = self
                    .schema
                    .enums
                    .iter()
                    .find(|x| &x.name == e)
                    .map(|x| x.values.clone())
                    .unwrap_or_default();
                if values.is_empty() {
                    None
                } else if in_check {
                    Some(format!("{}::{ty}", literal(&values[0])))
                } else {
                    let lits: Vec<String> = values.iter().map(|v| literal(v)).collect();
                    Some(format!(
                        "(array[{}]::{ty}[])[1 + (({i}) % {})::int]",
                        lits.join(", "),
                        values.len()
                    ))
                }
            }
            SqlType::Timestamptz | SqlType::Timestamp if !in_check => Some(format!(
                "(now() - ({} - ({i})) * interval '1 second')::{ty}",
                self.rows(&t.name)
            )),
            _ if has_default => None,
            SqlType::Text if !in_check => Some(format!(
                "{} || ({i})::text || ' ' || repeat('lorem ipsum dolor sit amet ', (1 + ({i}) % 8)::int)",
                literal(&format!("{} ", c.name))
            )),
            SqlType::Text => Some(format!(
                "{} || ({i})::text",
                literal(&format!("{} ", c.name))
            )),
            SqlType::Varchar(n) | SqlType::Char(n) => Some(format!(
                "left({} || ({i})::text, {n})",
                literal(&format!("{} ", c.name))
            )),
            SqlType::SmallInt
            | SqlType::Int
            | SqlType::BigInt
            | SqlType::Numeric(_)
            | SqlType::Real
            | SqlType::Double => Some(format!("(1 + ({i}) % 1000)::{ty}")),
            SqlType::Boolean => Some(format!("(({i}) % 2 = 0)")),
            SqlType::Json | SqlType::Jsonb => Some(format!("'{{}}'::{ty}")),
            SqlType::Timestamptz | SqlType::Timestamp => Some(format!("now()::{ty}")),
            SqlType::Date => Some(format!("(current_date - (({i}) % 365)::int)")),
            SqlType::Time => Some("'12:00'::time".into()),
            SqlType::Interval => Some("'1 hour'::interval".into()),
            SqlType::Bytea => Some(format!("convert_to(({i})::text, 'UTF8')")),
            SqlType::Inet => Some("'127.0.0.1'::inet".into()),
            SqlType::Tsvector => Some(format!(
                "to_tsvector('simple', {} || ({i})::text)",
                literal(&format!("{} ", c.name))
            )),
            SqlType::Array(_) => Some(format!("'{{}}'::{ty}")),
            _ => {
                return Err(format!(
                    "`{}.{}` ({ty}) is required and the bench has no generator for it",
                    t.name, c.name
                ))
            }
        })
    }

    /// A value of a primary-key or unique column that differs in every row.
    fn unique_sql(
        &self,
        t: &Table,
        ty: &SqlType,
        column: &str,
        sets: &[&Vec<String>],
        i: &str,
    ) -> Result<String, String> {
        let tys = types::sql(ty, self.vector_schema.as_deref());
        // In a composite key with a foreign key: the row's ordinal among its parent's rows.
        let parent_rows = sets.iter().find_map(|set| {
            t.foreign_keys
                .iter()
                .find(|fk| fk.columns.iter().any(|c| set.contains(c) && c != column))
                .map(|fk| {
                    if is_auth_users(fk) {
                        self.users
                    } else {
                        self.rows(&fk.target.name).max(1)
                    }
                })
        });
        let tag = literal(&format!("{}.{column}:", t.name));
        Ok(match ty {
            SqlType::Uuid => format!("md5({tag} || ({i})::text)::uuid"),
            // Skewed rows share parents unevenly: the row number is unique within any parent.
            SqlType::SmallInt | SqlType::Int | SqlType::BigInt
                if self.placement_sql(t, i) != i =>
            {
                format!("({i})::{tys}")
            }
            SqlType::SmallInt | SqlType::Int | SqlType::BigInt => match parent_rows {
                Some(n) => format!("((({i}) - 1) / {n})::{tys}"),
                None => format!("({i})::{tys}"),
            },
            SqlType::Numeric(_) | SqlType::Real | SqlType::Double => format!("({i})::{tys}"),
            SqlType::Text => format!("{} || ({i})::text", literal(&format!("{column}-"))),
            SqlType::Varchar(n) | SqlType::Char(n) => {
                format!("left({} || ({i})::text, {n})", literal(&format!("{column}-")))
            }
            SqlType::Date => format!("(date '2000-01-01' + ({i})::int)"),
            SqlType::Timestamptz | SqlType::Timestamp => {
                format!("(timestamp '2000-01-01' + ({i}) * interval '1 second')::{tys}")
            }
            SqlType::Bytea => format!("convert_to(({i})::text, 'UTF8')"),
            SqlType::Inet => format!("('10.0.0.0'::inet + ({i}))"),
            _ => {
                return Err(format!(
                    "`{}.{column}` ({tys}) is part of a key and the bench cannot make unique values of that type",
                    t.name
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_match_the_sql_formula() {
        assert_eq!(
            user_uuid(0x2a).to_string(),
            "b0000000-0000-4000-8000-00000000002a"
        );
        assert_eq!(user_email(7), "user7@bench.schemac.invalid");
    }

    #[test]
    fn round_up_keeps_multiples_of_the_user_count() {
        assert_eq!(round_up(100_000, 10_000), 100_000);
        assert_eq!(round_up(50, 100), 100);
        assert_eq!(round_up(0, 100), 100);
        assert_eq!(round_up(101, 100), 200);
    }
}
