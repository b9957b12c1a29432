//! `schemac lint --database-url`: the lint checks of `schema_core::lint` on a live database's
//! catalog (pg_class, pg_index, pg_constraint, pg_policies, pg_proc, pg_extension), so
//! hand-written schemas and policies get the same findings. Findings have no file position: each
//! is placed in a pseudo-source named `database:<schema>.<object>`.

use crate::error::PgError;
use postgres::{Client, Transaction};
use schema_core::lint::{
    analyze, covered_by, mentions_user_metadata, per_row_calls_in_text, ExprFacts, IndexKey,
};
use schema_core::sql::comment;
use schema_core::sql::ident::{qualified, quote};
use schema_core::{Code, Diagnostic, Severity, Sources, Span};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What to read.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// The schema whose tables, indexes and policies are checked (the data API's, `public`).
    pub schema: String,
    /// Schemas whose functions are checked (search_path, volatility, user_metadata).
    pub function_schemas: Vec<String>,
    /// `security definer` functions of `schema` the schema says the API roles may execute
    /// (`expose_definer: true`): not reported by L0019.
    pub exposed_definers: Vec<String>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            schema: "public".into(),
            function_schemas: vec!["public".into(), "private".into()],
            exposed_definers: Vec::new(),
        }
    }
}

/// The findings, each in its own pseudo-source (`database:public.notes`), for `schema_core::render`.
#[derive(Debug)]
pub struct LiveReport {
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    /// How many tables were checked.
    pub tables: usize,
}

/// The API roles whose access matters (service_role bypasses row level security).
const API_ROLES: &[&str] = &["anon", "authenticated"];
const COMMANDS: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE"];

const Q_TABLES: &str = "select c.oid::int8, c.relname::text, c.relrowsecurity, \
    coalesce((select array_agg(a.attnum::int4 order by a.attnum) from pg_attribute a \
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '{}'), \
    coalesce((select array_agg(a.attname::text order by a.attnum) from pg_attribute a \
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '{}') \
    from pg_class c join pg_namespace n on n.oid = c.relnamespace \
    where n.nspname::text = $1 and c.relkind in ('r', 'p') order by c.relname";

const Q_ROLES: &str =
    "select rolname::text from pg_roles where rolname in ('anon', 'authenticated') order by 1";

const Q_PRIVILEGES: &str = "select c.oid::int8, r.rolname::text, \
    has_any_column_privilege(r.oid, c.oid, 'SELECT'), has_any_column_privilege(r.oid, c.oid, 'INSERT'), \
    has_any_column_privilege(r.oid, c.oid, 'UPDATE'), has_table_privilege(r.oid, c.oid, 'DELETE') \
    from pg_class c join pg_namespace n on n.oid = c.relnamespace cross join pg_roles r \
    where n.nspname::text = $1 and c.relkind in ('r', 'p') and r.rolname in ('anon', 'authenticated') \
    order by 1, 2";

const Q_INDEXES: &str = "select i.indrelid::int8, ic.relname::text, am.amname::text, i.indnkeyatts::int4, \
    (i.indkey::int2[])::int4[], i.indclass::text, i.indoption::text, i.indcollation::text, \
    coalesce(pg_get_expr(i.indpred, i.indrelid), ''), coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), \
    i.indisprimary, i.indisunique \
    from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_am am on am.oid = ic.relam \
    join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace \
    where n.nspname::text = $1 and c.relkind in ('r', 'p') order by c.relname, ic.relname";

const Q_FOREIGN_KEYS: &str = "select k.conrelid::int8, k.conname::text, k.conkey::int4[], \
    k.confrelid::regclass::text \
    from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace \
    where k.contype = 'f' and n.nspname::text = $1 order by c.relname, k.conname";

const Q_POLICIES: &str = "select p.tablename::text, p.policyname::text, p.permissive, \
    p.roles::text[], p.cmd, p.qual, p.with_check \
    from pg_policies p where p.schemaname::text = $1 order by p.tablename, p.policyname";

const Q_FUNCTIONS: &str = "select n.nspname::text, p.proname::text, \
    pg_get_function_identity_arguments(p.oid), p.prosecdef, p.provolatile::text, \
    coalesce(p.proconfig, '{}')::text[], coalesce(p.prosrc, '') \
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
    where n.nspname::text = any($1) and p.prokind = 'f' \
    and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass \
                    and d.objid = p.oid and d.deptype = 'e') \
    order by 1, 2, 3";

const Q_EXTENSIONS: &str = "select e.extname::text from pg_extension e \
    join pg_namespace n on n.oid = e.extnamespace where n.nspname::text = $1 order by 1";

struct Table {
    oid: i64,
    name: String,
    rls: bool,
    columns: HashMap<i32, String>,
    /// (role, command) -> has the privilege.
    privileges: BTreeMap<(String, &'static str), bool>,
}

struct Index {
    table: i64,
    name: String,
    method: String,
    key_columns: Vec<i32>,
    /// Everything that makes two indexes the same index.
    identity: String,
    partial: bool,
    constraint: bool,
}

struct Policy {
    table: String,
    name: String,
    permissive: bool,
    roles: Vec<String>,
    cmd: String,
    qual: Option<String>,
    with_check: Option<String>,
}

struct Function {
    schema: String,
    name: String,
    args: String,
    security_definer: bool,
    volatile: bool,
    config: Vec<String>,
    source: String,
}

/// One finding before it gets its pseudo-source.
struct Found {
    object: String,
    code: Code,
    severity: Severity,
    path: String,
    message: String,
    help: String,
}

/// Reads the catalog of the database `client` is connected to and lints it. Runs in a read-only
/// transaction with an empty search_path, so every name in policy text comes out qualified.
pub fn lint_database(client: &mut Client, opts: &LiveOptions) -> Result<LiveReport, PgError> {
    let mut tx = client.transaction()?;
    tx.batch_execute("set transaction read only; set local search_path = ''")?;
    let schema = &opts.schema;
    let mut tables: Vec<Table> = Vec::new();
    for row in tx.query(Q_TABLES, &[schema])? {
        let nums: Vec<i32> = row.get(3);
        let names: Vec<String> = row.get(4);
        tables.push(Table {
            oid: row.get(0),
            name: row.get(1),
            rls: row.get(2),
            columns: nums.into_iter().zip(names).collect(),
            privileges: BTreeMap::new(),
        });
    }
    let api_roles: Vec<String> = tx.query(Q_ROLES, &[])?.iter().map(|r| r.get(0)).collect();
    let by_oid: HashMap<i64, usize> = tables.iter().enumerate().map(|(i, t)| (t.oid, i)).collect();
    for row in tx.query(Q_PRIVILEGES, &[schema])? {
        let oid: i64 = row.get(0);
        let role: String = row.get(1);
        if let Some(&i) = by_oid.get(&oid) {
            for (k, cmd) in COMMANDS.iter().enumerate() {
                let has: bool = row.get(2 + k);
                tables[i].privileges.insert((role.clone(), cmd), has);
            }
        }
    }
    let mut indexes = Vec::new();
    for row in tx.query(Q_INDEXES, &[schema])? {
        let nkey: i32 = row.get(3);
        let all: Vec<i32> = row.get(4);
        let pred: String = row.get(8);
        let exprs: String = row.get(9);
        let key_columns: Vec<i32> = all.iter().take(nkey.max(0) as usize).copied().collect();
        let identity = format!(
            "{} {} {:?} {} {} {} where {pred} exprs {exprs}",
            row.get::<_, i64>(0),
            row.get::<_, String>(2),
            all,
            row.get::<_, String>(5),
            row.get::<_, String>(6),
            row.get::<_, String>(7),
        );
        indexes.push(Index {
            table: row.get(0),
            name: row.get(1),
            method: row.get(2),
            key_columns,
            identity,
            partial: !pred.is_empty(),
            constraint: row.get::<_, bool>(10) || row.get::<_, bool>(11),
        });
    }
    let mut fks = Vec::new();
    for row in tx.query(Q_FOREIGN_KEYS, &[schema])? {
        let oid: i64 = row.get(0);
        let name: String = row.get(1);
        let cols: Vec<i32> = row.get(2);
        let target: String = row.get(3);
        fks.push((oid, name, cols, target));
    }
    let mut policies = Vec::new();
    for row in tx.query(Q_POLICIES, &[schema])? {
        let permissive: String = row.get(2);
        policies.push(Policy {
            table: row.get(0),
            name: row.get(1),
            permissive: permissive.eq_ignore_ascii_case("permissive"),
            roles: row.get(3),
            cmd: row.get(4),
            qual: row.get(5),
            with_check: row.get(6),
        });
    }
    let mut functions = Vec::new();
    for row in tx.query(Q_FUNCTIONS, &[&opts.function_schemas])? {
        let vol: String = row.get(4);
        functions.push(Function {
            schema: row.get(0),
            name: row.get(1),
            args: row.get(2),
            security_definer: row.get(3),
            volatile: vol == "v",
            config: row.get(5),
            source: row.get(6),
        });
    }
    let extensions: Vec<String> = tx
        .query(Q_EXTENSIONS, &[schema])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut exposed = exposure(&mut tx, opts)?;
    tx.rollback()?;

    let mut indexes_of: HashMap<i64, Vec<&Index>> = HashMap::new();
    for ix in &indexes {
        indexes_of.entry(ix.table).or_default().push(ix);
    }
    let mut fks_of: HashMap<i64, Vec<&ForeignKey>> = HashMap::new();
    for fk in &fks {
        fks_of.entry(fk.0).or_default().push(fk);
    }
    let mut functions_by_name: HashMap<String, Vec<&Function>> = HashMap::new();
    for f in &functions {
        functions_by_name
            .entry(format!("{}.{}", f.schema, f.name))
            .or_default()
            .push(f);
    }
    let cx = Catalog {
        schema,
        tables: &tables,
        api_roles: &api_roles,
        indexes: indexes_of,
        fks: fks_of,
        policies: &policies,
        functions: &functions,
        functions_by_name,
        extensions: &extensions,
    };
    let mut found = cx.check();
    found.append(&mut exposed);
    found.extend(cx.sensitive_columns());
    found.sort_by(|a, b| {
        (&a.object, a.code, &a.path, &a.message).cmp(&(&b.object, b.code, &b.path, &b.message))
    });
    let mut sources = Sources::new();
    let mut ids = HashMap::new();
    let mut diagnostics = Vec::new();
    for f in found {
        let id = *ids
            .entry(f.object.clone())
            .or_insert_with(|| sources.add(format!("database:{}", f.object), String::new()));
        let span = Span {
            source: id,
            ..Span::SYNTHETIC
        };
        // Names from the catalog may hold anything (line breaks, terminal escapes): every text
        // is shown on one line.
        let (path, message) = (comment::text(&f.path), comment::text(&f.message));
        let d = match f.severity {
            Severity::Error => Diagnostic::error(f.code, span, path, message),
            Severity::Warning => Diagnostic::warning(f.code, span, path, message),
        };
        diagnostics.push(d.help(comment::text(&f.help)));
    }
    Ok(LiveReport {
        sources,
        diagnostics,
        tables: tables.len(),
    })
}

/// `true` when `anon` or `authenticated` (if they exist) may select from relation `c.oid`.
macro_rules! api_select {
    () => {
        "(case when exists (select from pg_roles where rolname = 'anon') \
               then has_table_privilege('anon', c.oid, 'SELECT') else false end \
          or case when exists (select from pg_roles where rolname = 'authenticated') \
               then has_table_privilege('authenticated', c.oid, 'SELECT') else false end)"
    };
}

/// `security definer` functions of the API schema that `anon` or `authenticated` may execute
/// (trigger functions cannot be called through the API).
const Q_DEFINER_EXECUTABLE: &str =
    "select p.proname::text, pg_get_function_identity_arguments(p.oid), \
    case when exists (select from pg_roles where rolname = 'anon') \
         then has_function_privilege('anon', p.oid, 'EXECUTE') else false end, \
    case when exists (select from pg_roles where rolname = 'authenticated') \
         then has_function_privilege('authenticated', p.oid, 'EXECUTE') else false end \
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
    where n.nspname::text = $1 and p.prokind = 'f' and p.prosecdef \
    and p.prorettype <> 'pg_catalog.trigger'::pg_catalog.regtype \
    and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass \
                    and d.objid = p.oid and d.deptype = 'e') \
    order by 1, 2";

const Q_NO_PRIMARY_KEY: &str = "select c.relname::text from pg_class c \
    join pg_namespace n on n.oid = c.relnamespace \
    where n.nspname::text = $1 and c.relkind in ('r', 'p') and not c.relispartition \
    and not exists (select from pg_constraint k where k.conrelid = c.oid and k.contype = 'p') \
    order by 1";

const Q_FKEY_TO_AUTH_UNIQUE: &str =
    "select c.relname::text, k.conname::text, k.confrelid::regclass::text \
    from pg_constraint k join pg_class c on c.oid = k.conrelid \
    join pg_namespace n on n.oid = c.relnamespace \
    join pg_class r on r.oid = k.confrelid join pg_namespace rn on rn.oid = r.relnamespace \
    join pg_index i on i.indexrelid = k.conindid \
    where k.contype = 'f' and n.nspname::text = $1 and rn.nspname = 'auth' \
    and i.indisunique and not i.indisprimary order by 1, 2";

/// Views of the API schema that read `auth.users` (directly) and the API roles may select from.
const Q_AUTH_USERS_VIEWS: &str = concat!(
    "select distinct c.relname::text from pg_class c \
     join pg_namespace n on n.oid = c.relnamespace \
     join pg_rewrite rw on rw.ev_class = c.oid \
     join pg_depend d on d.classid = 'pg_rewrite'::regclass and d.objid = rw.oid \
     join pg_class u on u.oid = d.refobjid join pg_namespace un on un.oid = u.relnamespace \
     where n.nspname::text = $1 and c.relkind in ('v', 'm') \
     and un.nspname = 'auth' and u.relname = 'users' and ",
    api_select!(),
    " order by 1"
);

/// Views of the API schema without `security_invoker` that the API roles may select from.
const Q_DEFINER_VIEWS: &str = concat!(
    "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
     where n.nspname::text = $1 and c.relkind = 'v' \
     and not exists (select from pg_depend d where d.classid = 'pg_class'::regclass \
                     and d.objid = c.oid and d.deptype = 'e') \
     and not exists (select from unnest(coalesce(c.reloptions, '{}')) o \
                     where lower(o) in ('security_invoker=true', 'security_invoker=on', \
                                        'security_invoker=1', 'security_invoker=yes')) \
     and ",
    api_select!(),
    " order by 1"
);

/// The Supabase-linter checks of what the API roles reach that read the catalog directly:
/// L0019, L0020, L0021, L0023, L0024 (L0022 uses the table facts: `sensitive_columns`).
fn exposure(tx: &mut Transaction<'_>, opts: &LiveOptions) -> Result<Vec<Found>, PgError> {
    let schema = &opts.schema;
    let mut out = Vec::new();
    for row in tx.query(Q_DEFINER_EXECUTABLE, &[schema])? {
        let name: String = row.get(0);
        let args: String = row.get(1);
        let roles: Vec<&str> = [
            (row.get::<_, bool>(2), "anon"),
            (row.get(3), "authenticated"),
        ]
        .into_iter()
        .filter_map(|(has, r)| has.then_some(r))
        .collect();
        if roles.is_empty() || opts.exposed_definers.contains(&name) {
            continue;
        }
        let fq = format!("{schema}.{name}");
        out.push(Found {
            object: fq.clone(),
            code: Code::LintDefinerExecutable,
            severity: Severity::Error,
            path: format!("function {fq}({args})"),
            message: format!(
                "`{fq}({args})` is `security definer` and executable by `{}`: it runs with its owner's rights and bypasses row level security, for anyone who calls `/rest/v1/rpc/{name}`",
                roles.join("`, `")
            ),
            help: format!(
                "`revoke execute on function {}({args}) from public, anon, authenticated;` or make it `security invoker`; if callers are meant to run it, pass `--expose-definer {name}`",
                qualified(schema, &name)
            ),
        });
    }
    for row in tx.query(Q_NO_PRIMARY_KEY, &[schema])? {
        let t: String = row.get(0);
        out.push(Found {
            object: format!("{schema}.{t}"),
            code: Code::LintNoPrimaryKey,
            severity: Severity::Warning,
            path: format!("table {schema}.{t}"),
            message: format!("table `{schema}.{t}` has no primary key: rows cannot be addressed one by one (the API cannot update or delete a single row reliably, logical replication and Realtime cannot identify changed rows)"),
            help: format!("add one: `alter table {} add primary key (...)`, or an identity column", qualified(schema, &t)),
        });
    }
    for row in tx.query(Q_FKEY_TO_AUTH_UNIQUE, &[schema])? {
        let t: String = row.get(0);
        let fk: String = row.get(1);
        let target: String = row.get(2);
        out.push(Found {
            object: format!("{schema}.{t}"),
            code: Code::LintForeignKeyToAuthUnique,
            severity: Severity::Error,
            path: format!("foreign key {fk}"),
            message: format!("foreign key `{fk}` references a unique constraint of `{target}` that is not its primary key: Supabase Auth manages it and may change it"),
            help: format!("reference `auth.users (id)` instead: `alter table {} drop constraint {};` and add one on the user's id", qualified(schema, &t), quote(&fk)),
        });
    }
    for row in tx.query(Q_AUTH_USERS_VIEWS, &[schema])? {
        let v: String = row.get(0);
        out.push(Found {
            object: format!("{schema}.{v}"),
            code: Code::LintAuthUsersExposed,
            severity: Severity::Error,
            path: format!("view {schema}.{v}"),
            message: format!("view `{schema}.{v}` reads `auth.users` and `anon` or `authenticated` may select from it: the users' emails, phones and metadata are readable through the API"),
            help: format!("`revoke select on {} from anon, authenticated;`, or keep what users may see in a table of your own (e.g. `profiles`) filled by a trigger", qualified(schema, &v)),
        });
    }
    for row in tx.query(Q_DEFINER_VIEWS, &[schema])? {
        let v: String = row.get(0);
        out.push(Found {
            object: format!("{schema}.{v}"),
            code: Code::LintSecurityDefinerView,
            severity: Severity::Error,
            path: format!("view {schema}.{v}"),
            message: format!("view `{schema}.{v}` runs with its owner's rights: the row level security of the tables it reads does not apply to the API roles that query it"),
            help: format!("`alter view {} set (security_invoker = on);`", qualified(schema, &v)),
        });
    }
    Ok(out)
}

type ForeignKey = (i64, String, Vec<i32>, String);

struct Catalog<'a> {
    schema: &'a str,
    tables: &'a [Table],
    api_roles: &'a [String],
    /// By table oid.
    indexes: HashMap<i64, Vec<&'a Index>>,
    /// By table oid.
    fks: HashMap<i64, Vec<&'a ForeignKey>>,
    policies: &'a [Policy],
    functions: &'a [Function],
    /// By `schema.name`.
    functions_by_name: HashMap<String, Vec<&'a Function>>,
    extensions: &'a [String],
}

fn policy_commands(cmd: &str) -> Vec<&'static str> {
    match cmd.to_ascii_uppercase().as_str() {
        "ALL" => COMMANDS.to_vec(),
        c => COMMANDS.iter().copied().filter(|x| *x == c).collect(),
    }
}

impl Catalog<'_> {
    fn qualified(&self, name: &str) -> String {
        format!("{}.{name}", self.schema)
    }

    fn function_known(&self, schema: Option<&str>, name: &str) -> bool {
        self.find_functions(schema, name).next().is_some()
    }

    fn find_functions(
        &self,
        schema: Option<&str>,
        name: &str,
    ) -> impl Iterator<Item = &Function> + '_ {
        self.functions_by_name
            .get(&format!("{}.{name}", schema.unwrap_or("public")))
            .into_iter()
            .flatten()
            .copied()
    }

    fn table_indexes(&self, table: &Table) -> impl Iterator<Item = &Index> + '_ {
        self.indexes.get(&table.oid).into_iter().flatten().copied()
    }

    fn keys(&self, table: &Table) -> Vec<IndexKey> {
        self.table_indexes(table)
            .filter(|ix| !ix.partial)
            .filter(|ix| ix.method == "btree" || ix.method == "hash")
            .map(|ix| IndexKey {
                columns: ix
                    .key_columns
                    .iter()
                    .take_while(|n| **n > 0)
                    .filter_map(|n| table.columns.get(n).cloned())
                    .collect(),
                hash: ix.method == "hash",
            })
            .collect()
    }

    fn facts(&self, sql: &str, table: &str) -> ExprFacts {
        let known = |s: Option<&str>, n: &str| self.function_known(s, n);
        analyze(sql, table, &known).unwrap_or_else(|| ExprFacts {
            per_row_calls: per_row_calls_in_text(sql),
            always_true: sql.trim().trim_matches(|c| c == '(' || c == ')') == "true",
            reads_user_metadata: mentions_user_metadata(sql),
            ..ExprFacts::default()
        })
    }

    fn check(&self) -> Vec<Found> {
        let mut out = Vec::new();
        let by_name: HashMap<&str, &Table> =
            self.tables.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut policies_of: BTreeMap<&str, Vec<&Policy>> = BTreeMap::new();
        for p in self.policies {
            policies_of.entry(p.table.as_str()).or_default().push(p);
        }
        for e in self.extensions {
            out.push(Found {
                object: format!("extension.{e}"),
                code: Code::LintExtensionInPublic,
                severity: Severity::Warning,
                path: format!("extension {e}"),
                message: format!("extension `{e}` is installed in the `{}` schema, which the data API exposes", self.schema),
                help: format!("move it: `alter extension {} set schema extensions` (or drop and create it `with schema extensions`)", quote(e)),
            });
        }
        for t in self.tables {
            let object = self.qualified(&t.name);
            let pols = policies_of
                .get(t.name.as_str())
                .cloned()
                .unwrap_or_default();
            if !t.rls {
                let granted: Vec<String> = self
                    .api_roles
                    .iter()
                    .filter_map(|r| {
                        let cmds: Vec<String> = COMMANDS
                            .iter()
                            .filter(|c| t.privileges.get(&(r.clone(), **c)) == Some(&true))
                            .map(|c| c.to_ascii_lowercase())
                            .collect();
                        (!cmds.is_empty()).then(|| format!("`{r}` may {}", cmds.join(", ")))
                    })
                    .collect();
                if self.api_roles.is_empty() || !granted.is_empty() {
                    let who = if granted.is_empty() {
                        "every role with a privilege reaches every row".to_string()
                    } else {
                        format!("{}, on every row", granted.join("; "))
                    };
                    out.push(Found {
                        object: object.clone(),
                        code: Code::LintRlsDisabled,
                        severity: Severity::Error,
                        path: format!("table {object}"),
                        message: format!("row level security is disabled on `{object}`: {who}"),
                        help: format!("`alter table {} enable row level security;` and add policies for what each role may do", qualified(self.schema, &t.name)),
                    });
                }
                if !pols.is_empty() {
                    out.push(Found {
                        object: object.clone(),
                        code: Code::LintPolicyRlsDisabled,
                        severity: Severity::Error,
                        path: format!("table {object}"),
                        message: format!("`{object}` has {} polic{} but row level security is disabled, so none of them applies", pols.len(), if pols.len() == 1 { "y" } else { "ies" }),
                        help: format!("`alter table {} enable row level security;`", qualified(self.schema, &t.name)),
                    });
                }
            } else {
                for role in self.api_roles {
                    let missing: Vec<&str> = COMMANDS
                        .iter()
                        .copied()
                        .filter(|cmd| t.privileges.get(&(role.clone(), *cmd)) == Some(&true))
                        .filter(|cmd| {
                            !pols.iter().any(|p| {
                                p.permissive
                                    && (p.roles.iter().any(|r| r == role || r == "public"))
                                    && policy_commands(&p.cmd).contains(cmd)
                            })
                        })
                        .collect();
                    if !missing.is_empty() {
                        let list = missing.join(", ").to_ascii_lowercase();
                        out.push(Found {
                            object: object.clone(),
                            code: Code::LintNoPolicy,
                            severity: Severity::Warning,
                            path: format!("table {object}"),
                            message: format!("`{role}` has {list} privileges on `{object}` but no permissive policy allows them: with row level security they match no row"),
                            help: format!("add a policy `to {role}` for each of them, or `revoke {list} on {} from {};`", qualified(self.schema, &t.name), quote(role)),
                        });
                    }
                }
            }
            // Foreign keys.
            let keys = self.keys(t);
            for (_, name, cols, target) in self.fks.get(&t.oid).into_iter().flatten() {
                let names: Vec<&str> = cols
                    .iter()
                    .filter_map(|n| t.columns.get(n).map(|s| s.as_str()))
                    .collect();
                if !covered_by(&keys, &names) {
                    out.push(Found {
                        object: object.clone(),
                        code: Code::LintUnindexedForeignKey,
                        severity: Severity::Warning,
                        path: format!("foreign key {name}"),
                        message: format!("foreign key `{name}` of `{object}` ({}) has no index that starts with its columns: deleting or updating a row of `{target}` scans `{object}`", names.join(", ")),
                        help: format!("create an index on `{object}` ({})", names.join(", ")),
                    });
                }
            }
            // Duplicate indexes.
            let mut same: BTreeMap<&str, Vec<&Index>> = BTreeMap::new();
            for ix in self.table_indexes(t) {
                same.entry(ix.identity.as_str()).or_default().push(ix);
            }
            for group in same.values().filter(|g| g.len() > 1) {
                let names: Vec<String> = group.iter().map(|ix| format!("`{}`", ix.name)).collect();
                let drop = group
                    .iter()
                    .rev()
                    .find(|ix| !ix.constraint)
                    .unwrap_or(&group[group.len() - 1]);
                out.push(Found {
                    object: object.clone(),
                    code: Code::LintDuplicateIndex,
                    severity: Severity::Warning,
                    path: format!("index {}", drop.name),
                    message: format!("{} on `{object}` are the same index: every write maintains both, and only one is ever used", names.join(" and ")),
                    help: format!("drop one, e.g. `drop index {};`", qualified(self.schema, &drop.name)),
                });
            }
        }
        self.policy_checks(&by_name, &policies_of, &mut out);
        self.function_checks(&mut out);
        out
    }

    fn policy_checks(
        &self,
        by_name: &HashMap<&str, &Table>,
        policies_of: &BTreeMap<&str, Vec<&Policy>>,
        out: &mut Vec<Found>,
    ) {
        // (table, column) -> policies filtering on it.
        let mut filtered: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        let mut volatile_reported: BTreeSet<String> = BTreeSet::new();
        for (table, pols) in policies_of {
            let object = self.qualified(table);
            // Several permissive policies for one role and command: (policies) -> (role, cmd).
            let mut overlap: BTreeMap<(String, &str), Vec<&str>> = BTreeMap::new();
            for p in pols.iter().filter(|p| p.permissive) {
                let roles: Vec<String> = if p.roles.iter().any(|r| r == "public") {
                    API_ROLES.iter().map(|r| r.to_string()).collect()
                } else {
                    p.roles.clone()
                };
                for role in roles {
                    for cmd in policy_commands(&p.cmd) {
                        overlap
                            .entry((role.clone(), cmd))
                            .or_default()
                            .push(&p.name);
                    }
                }
            }
            let mut by_set: BTreeMap<Vec<&str>, Vec<String>> = BTreeMap::new();
            for ((role, cmd), names) in overlap {
                if names.len() > 1 {
                    by_set
                        .entry(names)
                        .or_default()
                        .push(format!("{role} {}", cmd.to_ascii_lowercase()));
                }
            }
            for (names, uses) in by_set {
                let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                out.push(Found {
                    object: object.clone(),
                    code: Code::LintMultiplePermissive,
                    severity: Severity::Warning,
                    path: format!("policy \"{}\"", names[0]),
                    message: format!("policies {} on `{object}` are all permissive for {}: PostgreSQL evaluates each of them for every row", list.join(", "), uses.join(", ")),
                    help: "merge them into one policy per role and command (their conditions OR-ed)".into(),
                });
            }
            for p in pols {
                let path = format!("policy \"{}\"", p.name);
                if p.roles.iter().any(|r| r == "public") {
                    out.push(Found {
                        object: object.clone(),
                        code: Code::LintPolicyToPublic,
                        severity: Severity::Warning,
                        path: path.clone(),
                        message: format!("policy `{}` on `{object}` has no `to` role, so it applies to every role, including `anon`, and is evaluated for all of them", p.name),
                        help: "recreate it with `to authenticated` (or the roles it is meant for)".into(),
                    });
                }
                let mut calls: Vec<String> = Vec::new();
                let mut user_metadata = false;
                let mut always_true = Vec::new();
                for (side, text) in [("using", &p.qual), ("with check", &p.with_check)] {
                    let Some(sql) = text else { continue };
                    let f = self.facts(sql, table);
                    for c in f.per_row_calls {
                        if !calls.contains(&c) {
                            calls.push(c);
                        }
                    }
                    if f.always_true {
                        always_true.push(side);
                    }
                    user_metadata |= f.reads_user_metadata;
                    for (s, n) in &f.functions {
                        for func in self.find_functions(s.as_deref(), n) {
                            if mentions_user_metadata(&func.source) {
                                user_metadata = true;
                            }
                            let fq = format!("{}.{}", func.schema, func.name);
                            if func.volatile && volatile_reported.insert(fq.clone()) {
                                out.push(Found {
                                    object: fq.clone(),
                                    code: Code::LintVolatileInPolicy,
                                    severity: Severity::Warning,
                                    path: format!("function {fq}({})", func.args),
                                    message: format!("`{fq}` is called by policy `{}` on `{object}` but is volatile: PostgreSQL cannot evaluate it once per statement or inline it, so it runs for every row", p.name),
                                    help: format!("`alter function {}({}) stable;` if it does not modify the database", qualified(&func.schema, &func.name), func.args),
                                });
                            }
                        }
                    }
                    for (t, c) in f.filter_columns {
                        if by_name.contains_key(t.as_str()) {
                            filtered.entry((t, c)).or_default().insert(p.name.clone());
                        }
                    }
                }
                let writes = p.permissive && !p.cmd.eq_ignore_ascii_case("select");
                // For ALL and UPDATE without WITH CHECK, USING also checks new rows.
                if writes && !always_true.is_empty() {
                    let what = match p.cmd.to_ascii_uppercase().as_str() {
                        "INSERT" => "insert any row",
                        "UPDATE" => "update every row",
                        "DELETE" => "delete every row",
                        _ => "read and change every row",
                    };
                    out.push(Found {
                        object: object.clone(),
                        code: Code::LintAlwaysTrue,
                        severity: Severity::Error,
                        path: path.clone(),
                        message: format!("policy `{}` for {} on `{object}` is always true ({}): every role it applies to may {what}", p.name, p.cmd.to_ascii_lowercase(), always_true.join(", ")),
                        help: "restrict it to the rows the user owns, e.g. `with check (user_id = (select auth.uid()))`".into(),
                    });
                }
                if user_metadata {
                    out.push(Found {
                        object: object.clone(),
                        code: Code::LintUserMetadata,
                        severity: Severity::Error,
                        path: path.clone(),
                        message: format!("policy `{}` on `{object}` depends on `user_metadata`, which every user can edit about themselves", p.name),
                        help: "decide access from `auth.uid()`, `app_metadata` (set by the server) or a table users cannot write".into(),
                    });
                }
                if !calls.is_empty() {
                    let list: Vec<String> = calls.iter().map(|c| format!("`{c}`")).collect();
                    out.push(Found {
                        object: object.clone(),
                        code: Code::LintPerRowCall,
                        severity: Severity::Warning,
                        path,
                        message: format!("policy `{}` on `{object}` calls {} once per row", p.name, list.join(", ")),
                        help: format!("wrap each call in a subquery, e.g. `(select {})`, so PostgreSQL evaluates it once per statement", calls[0]),
                    });
                }
            }
        }
        for ((table, column), names) in filtered {
            let Some(t) = by_name.get(table.as_str()) else {
                continue;
            };
            if covered_by(&self.keys(t), &[column.as_str()]) {
                continue;
            }
            let object = self.qualified(&table);
            let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            let (noun, verb) = if names.len() == 1 {
                ("policy", "filters")
            } else {
                ("policies", "filter")
            };
            out.push(Found {
                object: object.clone(),
                code: Code::LintUnindexedPolicyColumn,
                severity: Severity::Warning,
                path: format!("column {column}"),
                message: format!("{noun} {} {verb} on `{object}.{column}`, but no index starts with it: each check scans `{object}`", list.join(", ")),
                help: format!("create an index on `{object}` ({column})"),
            });
        }
    }

    /// L0022: tables without row level security the API roles may read, with columns whose
    /// names say they hold credentials or personal data.
    fn sensitive_columns(&self) -> Vec<Found> {
        let mut out = Vec::new();
        for t in self.tables {
            let readable = self.api_roles.iter().any(|r| {
                t.privileges
                    .get(&(r.clone(), "SELECT"))
                    .copied()
                    .unwrap_or(false)
            });
            if t.rls || !readable {
                continue;
            }
            let mut cols: Vec<&String> = t
                .columns
                .values()
                .filter(|c| schema_core::lint::is_sensitive_column(c))
                .collect();
            cols.sort();
            if cols.is_empty() {
                continue;
            }
            let object = self.qualified(&t.name);
            out.push(Found {
                object: object.clone(),
                code: Code::LintSensitiveColumnsExposed,
                severity: Severity::Error,
                path: format!("table {object}"),
                message: format!(
                    "`{object}` has no row level security, the API roles may read it, and it has {}: {}",
                    if cols.len() == 1 { "a column with a sensitive name" } else { "columns with sensitive names" },
                    cols.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                ),
                help: format!("`alter table {} enable row level security;` and add policies, or revoke the columns", qualified(self.schema, &t.name)),
            });
        }
        out
    }

    fn function_checks(&self, out: &mut Vec<Found>) {
        for f in self.functions {
            let path = f.config.iter().find_map(|c| {
                c.to_ascii_lowercase()
                    .strip_prefix("search_path=")
                    .map(str::to_string)
            });
            // pg_temp left out of the path is searched first for tables and types: a caller's
            // temporary objects shadow the function's.
            let temp_last = path.as_deref().is_some_and(|p| {
                p.rsplit(',').next().map(|s| s.trim().trim_matches('"')) == Some("pg_temp")
            });
            let fq = format!("{}.{}", f.schema, f.name);
            let (severity, why) = match (&path, f.security_definer) {
                (Some(_), false) => continue,
                (Some(_), true) if temp_last => continue,
                (Some(_), true) => (Severity::Error, "a security definer function runs with its owner's rights, and PostgreSQL searches the caller's temporary schema first for tables and types unless `pg_temp` is listed last: a caller's temporary domain or table can shadow one the function uses and run the caller's code with the owner's rights"),
                (None, true) => (Severity::Error, "a security definer function runs with its owner's rights, so a caller who puts their own schema first in search_path can make it call their functions"),
                (None, false) => (
                    Severity::Warning,
                    "it resolves names through the caller's search_path",
                ),
            };
            out.push(Found {
                object: fq.clone(),
                code: Code::LintSearchPathMutable,
                severity,
                path: format!("function {fq}({})", f.args),
                message: format!(
                    "function `{fq}({})` has {}: {why}",
                    f.args,
                    if path.is_some() { "a search_path that does not end with pg_temp" } else { "no fixed search_path" }
                ),
                help: format!("`alter function {}({}) {};` and qualify the names in its body (`public.<table>`)", qualified(&f.schema, &f.name), f.args, schema_core::sql::SEARCH_PATH_CLAUSE),
            });
        }
    }
}
