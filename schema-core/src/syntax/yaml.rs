//! The YAML front end: `schema.yaml` text -> `syntax::File`, keeping a span for every value.
//! This is the only file that knows the YAML library (marked-yaml, which keeps positions for every
//! node; serde_yaml is deprecated upstream and loses positions after parsing).

use super::*;
use crate::diag::{help_for, Code, Diagnostic, Diagnostics};
use crate::source::{SourceId, Span};
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use marked_yaml::{LoadError, LoaderOptions, Node};

/// Parses one YAML schema file. Errors go to `diags`; the returned `File` holds whatever could be
/// read (stages keep going after errors so one run reports as much as possible).
pub fn parse(source: SourceId, text: &str, diags: &mut Diagnostics) -> File {
    let Some(root) = load(source, text, diags) else {
        return File::default();
    };
    let mut r = Reader {
        diags,
        lines: text.split('\n').collect(),
    };
    r.file(&root)
}

/// The document as JSON, the way a YAML language server sees it (plain scalars that look like
/// booleans, numbers or null become those): what `crate::json_schema` describes. `None` if the
/// text is not YAML (then `parse` reports why).
pub fn to_json_value(text: &str) -> Option<serde_json::Value> {
    // As `Sources::add` does: a leading byte-order mark is not part of the document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut diags = Diagnostics::default();
    let node = load(SourceId(0), text, &mut diags)?;
    Some(to_json(&node))
}

/// Loads the YAML node tree (duplicate keys are errors, scalars keep whether they were quoted);
/// a syntax error becomes a diagnostic.
fn load(source: SourceId, text: &str, diags: &mut Diagnostics) -> Option<Node> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    match marked_yaml::parse_yaml_with_options(source.0 as usize, text, options) {
        Ok(node) => Some(node),
        Err(e) => {
            diags.push(load_error(source, e));
            None
        }
    }
}

fn load_error(source: SourceId, e: LoadError) -> Diagnostic {
    let at = |m: &marked_yaml::Marker| Span::point(source, m.line() as u32, m.column() as u32);
    match e {
        LoadError::TopLevelMustBeMapping(m) => Diagnostic::error(
            Code::YamlSyntax,
            at(&m),
            "",
            "the top level of a schema must be a mapping",
        )
        .help("start with `tables:` (see the README for the schema language)"),
        LoadError::TopLevelMustBeSequence(m) => Diagnostic::error(
            Code::YamlSyntax,
            at(&m),
            "",
            "the top level must be a sequence",
        ),
        LoadError::UnexpectedAnchor(m) => Diagnostic::error(
            Code::YamlSyntax,
            at(&m),
            "",
            "YAML anchors are not supported",
        )
        .help("write the value out where it is used"),
        LoadError::MappingKeyMustBeScalar(m) => Diagnostic::error(
            Code::YamlSyntax,
            at(&m),
            "",
            "a mapping key must be a plain name",
        ),
        LoadError::UnexpectedTag(m) => {
            Diagnostic::error(Code::YamlSyntax, at(&m), "", "YAML tags are not supported").help(
                "remove the `!tag`; write SQL expressions as `{ $sql: \"...\" }` in seed data",
            )
        }
        LoadError::ScanError(m, e) => {
            let help = if e.info().contains("tabs") {
                "indent with spaces: YAML does not allow tabs in indentation"
            } else if e.info().contains("quoted scalar") {
                "a quoted string is not closed: add the closing quote (`\"` or `'`) on the same line"
            } else {
                "check the indentation and quoting around this position"
            };
            Diagnostic::error(
                Code::YamlSyntax,
                at(&m),
                "",
                format!("invalid YAML: {}", e.info()),
            )
            .help(help)
        }
        LoadError::DuplicateKey(inner) => {
            let first = inner.prev_key.span().start().map(|m| m.line()).unwrap_or(0);
            let span = inner.key.span().start().map(at).unwrap_or(Span::SYNTHETIC);
            Diagnostic::error(
                Code::DuplicateName,
                span,
                "",
                format!(
                    "duplicate key `{}` (first written on line {first})",
                    inner.key.as_str()
                ),
            )
            .help("each key may appear once in a mapping; merge the two entries")
        }
    }
}

fn span_of(node: &Node) -> Span {
    marker_span(node.span())
}

fn marker_span(s: &marked_yaml::Span) -> Span {
    match s.start() {
        Some(m) => {
            let mut sp = Span::point(
                SourceId(m.source() as u32),
                m.line() as u32,
                m.column() as u32,
            );
            if let Some(e) = s.end() {
                sp.end_line = e.line() as u32;
                sp.end_col = e.column() as u32;
            }
            sp
        }
        None => Span::SYNTHETIC,
    }
}

fn scalar_name(s: &MarkedScalarNode) -> Name {
    Spanned::new(s.as_str().to_string(), marker_span(s.span()))
}

/// The keys each mapping of the schema language accepts: the one table the reader checks against
/// and `crate::json_schema` describes, so the two cannot disagree.
pub mod keys {
    /// Keys of the top level of a schema file.
    pub const FILE: &[&str] = &[
        "target",
        "helpers_schema",
        "extensions",
        "enums",
        "roles",
        "tables",
        "functions",
        "triggers",
        "seed",
        "allow_destructive",
    ];
    /// Keys of an entry of `extensions` written as a mapping.
    pub const EXTENSION: &[&str] = &["name", "schema"];
    /// Keys of an enum written as a mapping.
    pub const ENUM: &[&str] = &["values", "comment"];
    /// Keys of `roles`.
    pub const ROLES: &[&str] = &["table", "column", "user_column", "jwt"];
    /// Keys of a table.
    pub const TABLE: &[&str] = &[
        "comment",
        "columns",
        "primary_key",
        "unique",
        "checks",
        "foreign_keys",
        "indexes",
        "timestamps",
        "realtime",
        "rls",
        "policies",
        "grants",
        "renamed_from",
    ];
    /// Keys of a column written as a mapping.
    pub const COLUMN: &[&str] = &[
        "type",
        "nullable",
        "default",
        "primary_key",
        "unique",
        "check",
        "references",
        "on_delete",
        "identity",
        "generated",
        "comment",
        "renamed_from",
        "using",
    ];
    /// Keys of an entry of a table's `foreign_keys`.
    pub const FOREIGN_KEY: &[&str] = &["columns", "references", "on_delete"];
    /// Keys of an entry of a table's `indexes`.
    pub const INDEX: &[&str] = &[
        "name", "columns", "using", "opclass", "with", "unique", "where",
    ];
    /// Keys of `realtime` written as a mapping.
    pub const REALTIME: &[&str] = &["replica_identity"];
    /// Keys of a policy rule.
    pub const POLICY: &[&str] = &[
        "name",
        "for",
        "to",
        "owner",
        "role",
        "member",
        "parent",
        "authenticated",
        "public",
        "using",
        "check",
    ];
    /// Keys of a policy's `member`.
    pub const MEMBER: &[&str] = &[
        "through",
        "column",
        "key",
        "user_column",
        "roles",
        "role_column",
    ];
    /// Keys of a policy's `parent` written as a mapping.
    pub const PARENT: &[&str] = &["column", "owner"];
    /// Keys of one role's entry in a table's `grants` (the commands).
    pub const GRANT: &[&str] = &["select", "insert", "update", "delete"];
    /// Keys of a grant written as `{ except: [...] }`.
    pub const GRANT_EXCEPT: &[&str] = &["except"];
    /// Keys of a function.
    pub const FUNCTION: &[&str] = &[
        "schema",
        "args",
        "returns",
        "language",
        "security",
        "volatility",
        "body",
        "grant",
        "expose_definer",
        "comment",
    ];
    /// Keys of a trigger.
    pub const TRIGGER: &[&str] = &["table", "timing", "events", "for_each", "function"];
    /// Keys of an entry of `seed`.
    pub const SEED: &[&str] = &["table", "rows"];
}

fn is_null(s: &MarkedScalarNode) -> bool {
    s.may_coerce() && matches!(s.as_str(), "" | "~" | "null" | "Null" | "NULL")
}

struct Reader<'d> {
    diags: &'d mut Diagnostics,
    /// The source text's lines, to tell quoted scalars (whose marker is at the quote) from plain
    /// ones (split once: looking a line up must not rescan the text for every scalar).
    lines: Vec<&'d str>,
}

/// A mapping being read: hands out values by key and reports keys nobody asked for.
struct Map<'n> {
    node: &'n MarkedMappingNode,
    path: String,
    known: &'static [&'static str],
}

impl<'n> Map<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        debug_assert!(
            self.known.contains(&key),
            "key `{key}` missing from the known list"
        );
        self.node.get(key)
    }
    fn child(&self, key: &str) -> String {
        join(&self.path, key)
    }
    fn span(&self) -> Span {
        marker_span(self.node.span())
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl Reader<'_> {
    fn err(
        &mut self,
        code: Code,
        span: Span,
        path: &str,
        msg: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(code, span, path, msg).help(help));
    }

    /// Opens `node` as a mapping with the given known keys; reports unknown keys.
    fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &'static [&'static str],
    ) -> Option<Map<'n>> {
        let Some(m) = node.as_mapping() else {
            self.err(
                Code::ExpectedType,
                span_of(node),
                path,
                format!("expected a mapping at `{path}`, found {}", kind(node)),
                format!(
                    "write `key: value` pairs here; allowed keys: {}",
                    known.join(", ")
                ),
            );
            return None;
        };
        for key in m.keys() {
            if !known.contains(&key.as_str()) {
                let p = join(path, key.as_str());
                self.err(
                    Code::UnknownKey,
                    marker_span(key.span()),
                    &p,
                    match path {
                        "" => format!(
                            "unknown key `{}` at the top level of the schema",
                            key.as_str()
                        ),
                        _ => format!("unknown key `{}` in `{path}`", key.as_str()),
                    },
                    if key.as_str().contains(')') {
                        "a `,` inside `{ ... }` separates keys: quote a value that contains one, e.g. `type: \"numeric(10, 2)\"`".to_string()
                    } else {
                        help_for(key.as_str(), "allowed keys", known)
                    },
                );
            }
        }
        Some(Map {
            node: m,
            path: path.to_string(),
            known,
        })
    }

    fn scalar(&mut self, node: &Node, path: &str, what: &str) -> Option<Name> {
        let name = self.scalar_value(node);
        if name.is_none() {
            self.err(
                Code::ExpectedType,
                span_of(node),
                path,
                format!("expected {what} at `{path}`, found {}", kind(node)),
                format!("write {what} here"),
            );
        }
        name
    }

    /// `scalar` without the error, so callers can build the path only when there is one.
    fn scalar_value(&self, node: &Node) -> Option<Name> {
        match node.as_scalar() {
            Some(s) if !is_null(s) => {
                let mut name = scalar_name(s);
                // A quoted scalar's marker is at its opening quote: point at its first character,
                // so positions inside it (e.g. where an SQL expression stops parsing) are exact.
                let line = (name.span.line as usize)
                    .checked_sub(1)
                    .and_then(|l| self.lines.get(l).copied());
                let first = line.and_then(|l| {
                    (name.span.col as usize)
                        .checked_sub(1)
                        .and_then(|c| l.chars().nth(c))
                });
                if !s.may_coerce() && matches!(first, Some('"' | '\'')) {
                    name.span.col += 1;
                    name.span.end_col = name.span.end_col.max(name.span.col);
                }
                Some(name)
            }
            _ => None,
        }
    }

    fn opt_scalar(&mut self, m: &Map, key: &str, what: &str) -> Option<Name> {
        let node = m.get(key)?;
        self.scalar_value(node)
            .or_else(|| self.scalar(node, &m.child(key), what))
    }

    /// A free-text value (comments, setup SQL), without trailing line breaks and spaces.
    fn opt_string(&mut self, m: &Map, key: &str) -> Option<String> {
        self.opt_scalar(m, key, "a string")
            .map(|n| n.value.trim_end().to_string())
    }

    fn req_scalar(&mut self, m: &Map, key: &str, what: &str) -> Option<Name> {
        match m.get(key) {
            Some(node) => self
                .scalar_value(node)
                .or_else(|| self.scalar(node, &m.child(key), what)),
            None => {
                self.err(
                    Code::MissingKey,
                    m.span(),
                    &m.path,
                    format!("missing key `{key}` in `{}`", m.path),
                    format!("add `{key}:` ({what})"),
                );
                None
            }
        }
    }

    fn bool_node(&mut self, node: &Node, path: &str) -> Option<Spanned<bool>> {
        let s = node.as_scalar().filter(|s| s.may_coerce());
        match s.map(|s| s.as_str()) {
            Some("true") => Some(Spanned::new(true, span_of(node))),
            Some("false") => Some(Spanned::new(false, span_of(node))),
            _ => {
                self.err(
                    Code::ExpectedType,
                    span_of(node),
                    path,
                    format!(
                        "expected `true` or `false` at `{path}`, found {}",
                        kind(node)
                    ),
                    "write `true` or `false` (unquoted)",
                );
                None
            }
        }
    }

    fn opt_bool(&mut self, m: &Map, key: &str) -> Option<Spanned<bool>> {
        let node = m.get(key)?;
        self.bool_node(node, &m.child(key))
    }

    /// A list of scalars; a single scalar counts as a one-item list.
    fn names(&mut self, node: &Node, path: &str, what: &str) -> Vec<Name> {
        if let Some(seq) = node.as_sequence() {
            seq.iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    self.scalar_value(n)
                        .or_else(|| self.scalar(n, &format!("{path}[{i}]"), what))
                })
                .collect()
        } else {
            self.scalar(node, path, what).into_iter().collect()
        }
    }

    fn opt_names(&mut self, m: &Map, key: &str, what: &str) -> Vec<Name> {
        match m.get(key) {
            Some(n) => self.names(n, &m.child(key), what),
            None => Vec::new(),
        }
    }

    /// Entries of a mapping whose keys are user names (tables, columns, enums...).
    fn entries<'n>(&mut self, node: &'n Node, path: &str) -> Vec<(Name, &'n Node)> {
        match node.as_mapping() {
            Some(m) => m.iter().map(|(k, v)| (scalar_name(k), v)).collect(),
            None => {
                self.err(
                    Code::ExpectedType,
                    span_of(node),
                    path,
                    format!(
                        "expected a mapping of names at `{path}`, found {}",
                        kind(node)
                    ),
                    "write one `name:` entry per item",
                );
                Vec::new()
            }
        }
    }

    fn seq<'n>(&mut self, node: &'n Node, path: &str) -> Vec<&'n Node> {
        match node.as_sequence() {
            Some(s) => s.iter().collect(),
            None => {
                self.err(
                    Code::ExpectedType,
                    span_of(node),
                    path,
                    format!("expected a list at `{path}`, found {}", kind(node)),
                    "write one `- item` per line",
                );
                Vec::new()
            }
        }
    }

    fn file(&mut self, root: &Node) -> File {
        const KEYS: &[&str] = keys::FILE;
        let mut f = File::default();
        let Some(m) = self.map(root, "", KEYS) else {
            return f;
        };
        f.target = self.opt_scalar(&m, "target", "a target name (`supabase` or `postgres`)");
        f.helpers_schema = self.opt_scalar(&m, "helpers_schema", "a schema name");
        if let Some(n) = m.get("extensions") {
            for (i, e) in self.seq(n, "extensions").into_iter().enumerate() {
                let path = format!("extensions[{i}]");
                if let Some(s) = e.as_scalar() {
                    f.extensions.push(Extension {
                        name: scalar_name(s),
                        schema: None,
                    });
                } else if let Some(em) = self.map(e, &path, keys::EXTENSION) {
                    if let Some(name) = self.req_scalar(&em, "name", "an extension name") {
                        let schema = self.opt_scalar(&em, "schema", "a schema name");
                        f.extensions.push(Extension { name, schema });
                    }
                }
            }
        }
        if let Some(n) = m.get("enums") {
            for (name, v) in self.entries(n, "enums") {
                let path = format!("enums.{}", name.value);
                if v.as_sequence().is_some() {
                    let values = self.names(v, &path, "an enum value");
                    f.enums.push(EnumDef {
                        name,
                        values,
                        comment: None,
                    });
                } else if let Some(em) = self.map(v, &path, keys::ENUM) {
                    let values = self.opt_names(&em, "values", "an enum value");
                    let comment = self.opt_string(&em, "comment");
                    f.enums.push(EnumDef {
                        name,
                        values,
                        comment,
                    });
                }
            }
        }
        if let Some(n) = m.get("roles") {
            if let Some(rm) = self.map(n, "roles", keys::ROLES) {
                if let Some(path) =
                    self.opt_scalar(&rm, "jwt", "a claims path such as `app_metadata.role`")
                {
                    f.roles = Some(RoleSource::Jwt { path });
                } else {
                    let table = self.req_scalar(&rm, "table", "the table holding each user's role");
                    let column = self.req_scalar(&rm, "column", "the role column");
                    let user_column =
                        self.opt_scalar(&rm, "user_column", "the column holding the user id");
                    if let (Some(table), Some(column)) = (table, column) {
                        f.roles = Some(RoleSource::Column {
                            table,
                            column,
                            user_column,
                            span: rm.span(),
                        });
                    }
                }
            }
        }
        if let Some(n) = m.get("tables") {
            for (name, v) in self.entries(n, "tables") {
                let t = self.table(name, v);
                f.tables.push(t);
            }
        }
        if let Some(n) = m.get("functions") {
            for (name, v) in self.entries(n, "functions") {
                if let Some(func) = self.function(name, v) {
                    f.functions.push(func);
                }
            }
        }
        if let Some(n) = m.get("triggers") {
            for (name, v) in self.entries(n, "triggers") {
                let path = format!("triggers.{}", name.value);
                let Some(tm) = self.map(v, &path, keys::TRIGGER) else {
                    continue;
                };
                let table = self.req_scalar(&tm, "table", "a table name");
                let timing = self.req_scalar(&tm, "timing", "`before` or `after`");
                let events = self.opt_names(&tm, "events", "`insert`, `update` or `delete`");
                let for_each = self.opt_scalar(&tm, "for_each", "`row` or `statement`");
                let function = self.req_scalar(&tm, "function", "a function name");
                if let (Some(table), Some(timing), Some(function)) = (table, timing, function) {
                    f.triggers.push(Trigger {
                        name,
                        table,
                        timing,
                        events,
                        for_each,
                        function,
                    });
                }
            }
        }
        if let Some(n) = m.get("seed") {
            for (i, b) in self.seq(n, "seed").into_iter().enumerate() {
                let path = format!("seed[{i}]");
                let Some(bm) = self.map(b, &path, keys::SEED) else {
                    continue;
                };
                let Some(table) = self.req_scalar(&bm, "table", "a table name") else {
                    continue;
                };
                let mut rows = Vec::new();
                if let Some(rn) = bm.get("rows") {
                    for (j, row) in self.seq(rn, &bm.child("rows")).into_iter().enumerate() {
                        let rpath = format!("{path}.rows[{j}]");
                        let mut values = Vec::new();
                        for (col, v) in self.entries(row, &rpath) {
                            let vpath = join(&rpath, &col.value);
                            if let Some(value) = self.seed_value(v, &vpath) {
                                values.push((col, value));
                            }
                        }
                        rows.push(SeedRow {
                            span: span_of(row),
                            values,
                        });
                    }
                }
                f.seed.push(SeedBlock { table, rows });
            }
        }
        f.allow_destructive = self.opt_names(
            &m,
            "allow_destructive",
            "a change such as `drop column documents.description`",
        );
        f
    }

    fn seed_value(&mut self, node: &Node, path: &str) -> Option<SeedValue> {
        match node {
            Node::Scalar(s) if is_null(s) => Some(SeedValue::Null(marker_span(s.span()))),
            Node::Scalar(s) => Some(SeedValue::Scalar {
                text: scalar_name(s),
                quoted: !s.may_coerce(),
            }),
            Node::Mapping(m) if m.len() == 1 && m.contains_key("$sql") => self
                .scalar(
                    m.get("$sql").expect("checked"),
                    &join(path, "$sql"),
                    "an SQL expression",
                )
                .map(SeedValue::Sql),
            _ => Some(SeedValue::Json(to_json(node), span_of(node))),
        }
    }

    fn table(&mut self, name: Name, node: &Node) -> Table {
        const KEYS: &[&str] = keys::TABLE;
        let path = format!("tables.{}", name.value);
        let mut t = Table {
            name,
            ..Table::default()
        };
        let Some(m) = self.map(node, &path, KEYS) else {
            return t;
        };
        t.comment = self.opt_string(&m, "comment");
        t.renamed_from = self.opt_scalar(&m, "renamed_from", "the table's previous name");
        if let Some(n) = m.get("columns") {
            for (cname, v) in self.entries(n, &m.child("columns")) {
                let c = self.column(&path, cname, v);
                t.columns.push(c);
            }
        } else {
            self.err(
                Code::MissingKey,
                m.span(),
                &path,
                format!("table `{}` has no `columns`", t.name.value),
                "add `columns:` with at least one column",
            );
        }
        if let Some(n) = m.get("primary_key") {
            let cols = self.names(n, &m.child("primary_key"), "a column name");
            t.primary_key = Some(Spanned::new(cols, span_of(n)));
        }
        if let Some(n) = m.get("unique") {
            for (i, u) in self.seq(n, &m.child("unique")).into_iter().enumerate() {
                let cols = self.names(u, &format!("{path}.unique[{i}]"), "a column name");
                t.uniques.push(Spanned::new(cols, span_of(u)));
            }
        }
        if let Some(n) = m.get("checks") {
            for (cname, v) in self.entries(n, &m.child("checks")) {
                if let Some(expr) = self.scalar(
                    v,
                    &format!("{path}.checks.{}", cname.value),
                    "an SQL boolean expression",
                ) {
                    t.checks.push(Check { name: cname, expr });
                }
            }
        }
        if let Some(n) = m.get("foreign_keys") {
            for (i, fk) in self
                .seq(n, &m.child("foreign_keys"))
                .into_iter()
                .enumerate()
            {
                let fpath = format!("{path}.foreign_keys[{i}]");
                let Some(fm) = self.map(fk, &fpath, keys::FOREIGN_KEY) else {
                    continue;
                };
                let columns = self.opt_names(&fm, "columns", "a column name");
                let references = self.req_scalar(&fm, "references", "`table(column, ...)`");
                let on_delete = self.opt_scalar(
                    &fm,
                    "on_delete",
                    "`cascade`, `set null`, `restrict` or `no action`",
                );
                if let Some(references) = references {
                    t.foreign_keys.push(ForeignKey {
                        span: fm.span(),
                        columns,
                        references,
                        on_delete,
                    });
                }
            }
        }
        if let Some(n) = m.get("indexes") {
            for (i, ix) in self.seq(n, &m.child("indexes")).into_iter().enumerate() {
                if let Some(index) = self.index(&format!("{path}.indexes[{i}]"), ix) {
                    t.indexes.push(index);
                }
            }
        }
        t.timestamps = self.opt_bool(&m, "timestamps");
        if let Some(n) = m.get("realtime") {
            let rpath = m.child("realtime");
            if n.as_scalar().is_some() {
                if let Some(b) = self.bool_node(n, &rpath) {
                    t.realtime = Some(Realtime {
                        span: b.span,
                        enabled: b.value,
                        replica_identity_full: false,
                    });
                }
            } else if let Some(rm) = self.map(n, &rpath, keys::REALTIME) {
                let ri = self.opt_scalar(&rm, "replica_identity", "`full` or `default`");
                let full = match ri {
                    Some(r) if r.value == "full" => true,
                    Some(r) if r.value == "default" => false,
                    Some(r) => {
                        self.err(
                            Code::InvalidValue,
                            r.span,
                            &rm.child("replica_identity"),
                            format!("unknown replica identity `{}`", r.value),
                            "write `full` (old values in update and delete events) or `default`",
                        );
                        false
                    }
                    None => false,
                };
                t.realtime = Some(Realtime {
                    span: rm.span(),
                    enabled: true,
                    replica_identity_full: full,
                });
            }
        }
        t.rls = self.opt_bool(&m, "rls");
        if let Some(n) = m.get("policies") {
            for (i, p) in self.seq(n, &m.child("policies")).into_iter().enumerate() {
                if let Some(rule) = self.policy(&format!("{path}.policies[{i}]"), p) {
                    t.policies.push(rule);
                }
            }
        }
        if let Some(n) = m.get("grants") {
            for (role, v) in self.entries(n, &m.child("grants")) {
                let gpath = format!("{path}.grants.{}", role.value);
                let Some(gm) = self.map(v, &gpath, keys::GRANT) else {
                    continue;
                };
                for &cmd in keys::GRANT {
                    let Some(cn) = gm.get(cmd) else { continue };
                    let cpath = gm.child(cmd);
                    let span = span_of(cn);
                    let key = gm
                        .node
                        .keys()
                        .find(|k| k.as_str() == cmd)
                        .map(scalar_name)
                        .expect("present");
                    let columns = self.grant_columns(cn, &cpath);
                    t.grants.push(GrantDecl {
                        span,
                        role: role.clone(),
                        command: key,
                        columns,
                    });
                }
            }
        }
        t
    }

    fn grant_columns(&mut self, node: &Node, path: &str) -> GrantColumns {
        if let Some(s) = node.as_scalar() {
            match (s.may_coerce(), s.as_str()) {
                (true, "all") | (true, "true") => return GrantColumns::All,
                (true, "none") | (true, "false") => return GrantColumns::None,
                _ => {}
            }
        }
        if node.as_sequence().is_some() {
            return GrantColumns::Only(self.names(node, path, "a column name"));
        }
        if node.as_mapping().is_some() {
            if let Some(em) = self.map(node, path, keys::GRANT_EXCEPT) {
                return GrantColumns::Except(self.opt_names(&em, "except", "a column name"));
            }
            return GrantColumns::None;
        }
        self.err(
            Code::InvalidValue,
            span_of(node),
            path,
            "expected `all`, `none`, a list of columns or `{ except: [...] }`",
            "for example `update: [name, avatar_url]` or `select: { except: [key_hash] }`",
        );
        GrantColumns::None
    }

    fn column(&mut self, table_path: &str, name: Name, node: &Node) -> Column {
        const KEYS: &[&str] = keys::COLUMN;
        let path = format!("{table_path}.columns.{}", name.value);
        let mut c = Column {
            name,
            ..Column::default()
        };
        if let Some(s) = node.as_scalar() {
            c.ty = scalar_name(s);
            return c;
        }
        let Some(m) = self.map(node, &path, KEYS) else {
            return c;
        };
        match self.req_scalar(&m, "type", "a column type such as `text` or `uuid`") {
            Some(t) => c.ty = t,
            None => c.ty = Spanned::new(String::new(), m.span()),
        }
        c.nullable = self.opt_bool(&m, "nullable");
        if let Some(d) = m.get("default") {
            c.default = match d.as_scalar() {
                Some(s) if !s.as_str().is_empty() => Some(scalar_name(s)),
                _ => self.scalar(d, &m.child("default"), "an SQL expression"),
            };
        }
        c.primary_key = self.opt_bool(&m, "primary_key").is_some_and(|b| b.value);
        c.unique = self.opt_bool(&m, "unique").is_some_and(|b| b.value);
        c.check = self.opt_scalar(&m, "check", "an SQL boolean expression");
        c.references = self.opt_scalar(&m, "references", "`table` or `table(column)`");
        c.on_delete = self.opt_scalar(
            &m,
            "on_delete",
            "`cascade`, `set null`, `restrict` or `no action`",
        );
        c.identity = self.opt_scalar(&m, "identity", "`always` or `by_default`");
        c.generated = self.opt_scalar(&m, "generated", "an SQL expression");
        c.comment = self.opt_string(&m, "comment");
        c.renamed_from = self.opt_scalar(&m, "renamed_from", "the column's previous name");
        c.using = self.opt_scalar(&m, "using", "an SQL expression converting the old value");
        c
    }

    fn index(&mut self, path: &str, node: &Node) -> Option<Index> {
        let m = self.map(node, path, keys::INDEX)?;
        let name = self.opt_scalar(&m, "name", "an index name");
        let columns = self.opt_names(&m, "columns", "a column name");
        if columns.is_empty() {
            self.err(
                Code::MissingKey,
                m.span(),
                path,
                "an index needs at least one column",
                "add `columns: [column, ...]`",
            );
        }
        let using = self.opt_scalar(
            &m,
            "using",
            "`btree`, `gin`, `gist`, `hash`, `brin`, `hnsw` or `ivfflat`",
        );
        let opclass = self.opt_scalar(
            &m,
            "opclass",
            "an operator class such as `vector_cosine_ops`",
        );
        let mut with = Vec::new();
        if let Some(w) = m.get("with") {
            for (k, v) in self.entries(w, &m.child("with")) {
                if let Some(val) = self.scalar(v, &format!("{path}.with.{}", k.value), "a number") {
                    with.push((k, val));
                }
            }
        }
        let unique = self.opt_bool(&m, "unique").is_some_and(|b| b.value);
        let where_ = self.opt_scalar(&m, "where", "an SQL boolean expression");
        Some(Index {
            span: m.span(),
            name,
            columns,
            using,
            opclass,
            with,
            unique,
            where_,
        })
    }

    fn policy(&mut self, path: &str, node: &Node) -> Option<PolicyRule> {
        const KEYS: &[&str] = keys::POLICY;
        let m = self.map(node, path, KEYS)?;
        let mut p = PolicyRule {
            span: m.span(),
            path: path.to_string(),
            ..PolicyRule::default()
        };
        p.name = self.opt_scalar(&m, "name", "a policy name");
        p.commands = self.opt_names(&m, "for", "`select`, `insert`, `update`, `delete` or `all`");
        p.to = self.opt_names(&m, "to", "`authenticated` or `anon`");
        p.owner = self.opt_scalar(&m, "owner", "the column holding the owner's user id");
        p.role = self.opt_scalar(&m, "role", "an app role such as `admin`");
        if let Some(n) = m.get("member") {
            let mpath = m.child("member");
            if let Some(mm) = self.map(n, &mpath, keys::MEMBER) {
                if let Some(through) = self.req_scalar(&mm, "through", "the membership table") {
                    p.member = Some(Member {
                        span: mm.span(),
                        through,
                        column: self.opt_scalar(&mm, "column", "a column of this table"),
                        key: self.opt_scalar(&mm, "key", "a column of the membership table"),
                        user_column: self.opt_scalar(
                            &mm,
                            "user_column",
                            "the member's user id column",
                        ),
                        roles: self.opt_names(&mm, "roles", "a member role"),
                        role_column: self.opt_scalar(&mm, "role_column", "the member role column"),
                    });
                }
            }
        }
        if let Some(n) = m.get("parent") {
            let ppath = m.child("parent");
            if let Some(s) = n.as_scalar() {
                p.parent = Some(Parent {
                    span: span_of(n),
                    column: scalar_name(s),
                    owner: None,
                });
            } else if let Some(pm) = self.map(n, &ppath, keys::PARENT) {
                if let Some(column) =
                    self.req_scalar(&pm, "column", "the foreign key column to the parent")
                {
                    let owner = self.opt_scalar(&pm, "owner", "the parent's owner column");
                    p.parent = Some(Parent {
                        span: pm.span(),
                        column,
                        owner,
                    });
                }
            }
        }
        p.authenticated = self.opt_bool(&m, "authenticated");
        p.public = self.opt_bool(&m, "public");
        p.using = self.opt_scalar(&m, "using", "an SQL boolean expression");
        p.check = self.opt_scalar(&m, "check", "an SQL boolean expression");
        Some(p)
    }

    fn function(&mut self, name: Name, node: &Node) -> Option<Function> {
        const KEYS: &[&str] = keys::FUNCTION;
        let path = format!("functions.{}", name.value);
        let m = self.map(node, &path, KEYS)?;
        let schema = self.opt_scalar(&m, "schema", "a schema name");
        let args = self.opt_names(&m, "args", "`name type [default expr]`");
        let returns = self.req_scalar(&m, "returns", "a return type such as `text` or `trigger`");
        let language = self.req_scalar(&m, "language", "`sql` or `plpgsql`");
        let security = self.opt_scalar(&m, "security", "`invoker` or `definer`");
        let volatility = self.opt_scalar(&m, "volatility", "`volatile`, `stable` or `immutable`");
        let body = self.req_scalar(&m, "body", "the function body");
        let grant = m
            .get("grant")
            .map(|g| self.names(g, &m.child("grant"), "a role name"));
        let expose_definer = self.opt_bool(&m, "expose_definer");
        let comment = self.opt_string(&m, "comment");
        Some(Function {
            name,
            schema,
            args,
            returns: returns?,
            language: language?,
            security,
            volatility,
            body: body?,
            grant,
            expose_definer,
            comment,
        })
    }
}

fn kind(node: &Node) -> &'static str {
    match node {
        Node::Scalar(s) if is_null(s) => "nothing",
        Node::Scalar(_) => "a scalar",
        Node::Mapping(_) => "a mapping",
        Node::Sequence(_) => "a list",
    }
}

/// Converts a node to JSON: plain scalars become numbers, booleans or null when they look so.
fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Scalar(s) => {
            if is_null(s) {
                return Value::Null;
            }
            if s.may_coerce() {
                match s.as_str() {
                    "true" => return Value::Bool(true),
                    "false" => return Value::Bool(false),
                    t => {
                        if let Ok(i) = t.parse::<i64>() {
                            return Value::from(i);
                        }
                        if let Ok(f) = t.parse::<f64>() {
                            if let Some(n) = serde_json::Number::from_f64(f) {
                                return Value::Number(n);
                            }
                        }
                    }
                }
            }
            Value::String(s.as_str().to_string())
        }
        Node::Sequence(seq) => Value::Array(seq.iter().map(to_json).collect()),
        Node::Mapping(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), to_json(v)))
                .collect(),
        ),
    }
}

/// Parses a policy test file (`tests/policies/*.yaml`). `file` is the name shown in reports.
pub fn parse_suite(
    source: SourceId,
    file: &str,
    text: &str,
    diags: &mut Diagnostics,
) -> crate::suite::Suite {
    use crate::emit::access::Actor;
    use crate::ir::Command;
    use crate::suite::*;
    let Some(root) = load(source, text, diags) else {
        return Suite::default();
    };
    let mut r = Reader {
        diags,
        lines: text.split('\n').collect(),
    };
    let mut suite = Suite::default();
    let Some(m) = r.map(
        &root,
        "",
        &[
            "expect",
            "fixtures",
            "scenarios",
            "moves",
            "equivalent_mutants",
        ],
    ) else {
        return suite;
    };
    let actors: Vec<&str> = Actor::ALL.iter().map(|a| a.name()).collect();
    let commands = ["select", "insert", "update", "delete"];
    let command = |s: &str| match s {
        "select" => Some(Command::Select),
        "insert" => Some(Command::Insert),
        "update" => Some(Command::Update),
        "delete" => Some(Command::Delete),
        _ => None,
    };
    if let Some(n) = m.get("expect") {
        for (table, tn) in r.entries(n, "expect") {
            for (actor, an) in r.entries(tn, &format!("expect.{}", table.value)) {
                let path = format!("expect.{}.{}", table.value, actor.value);
                let Some(a) = Actor::from_name(&actor.value) else {
                    r.err(
                        Code::InvalidValue,
                        actor.span,
                        &path,
                        format!("unknown actor `{}`", actor.value),
                        help_for(&actor.value, "actors", &actors),
                    );
                    continue;
                };
                for (cmd, v) in r.entries(an, &path) {
                    let Some(c) = command(&cmd.value) else {
                        r.err(
                            Code::InvalidValue,
                            cmd.span,
                            &path,
                            format!("unknown command `{}`", cmd.value),
                            help_for(&cmd.value, "commands", &commands),
                        );
                        continue;
                    };
                    let Some(e) = r.scalar(
                        v,
                        &format!("{path}.{}", cmd.value),
                        "`allowed`, `filtered` or `refused`",
                    ) else {
                        continue;
                    };
                    if !["allowed", "filtered", "refused"].contains(&e.value.as_str()) {
                        r.err(
                            Code::InvalidValue,
                            e.span,
                            &path,
                            format!("unknown outcome `{}`", e.value),
                            help_for(&e.value, "outcomes", &["allowed", "filtered", "refused"]),
                        );
                        continue;
                    }
                    suite.pins.push(Pin {
                        span: e.span,
                        table: table.value.clone(),
                        actor: a,
                        command: c,
                        expect: e.value,
                    });
                }
            }
        }
    }
    if let Some(n) = m.get("moves") {
        for (table, tn) in r.entries(n, "moves") {
            for (col, v) in r.entries(tn, &format!("moves.{}", table.value)) {
                let path = format!("moves.{}.{}", table.value, col.value);
                let Some(e) = r.scalar(v, &path, "`allowed` or `refused`") else {
                    continue;
                };
                if !["allowed", "refused"].contains(&e.value.as_str()) {
                    r.err(
                        Code::InvalidValue,
                        e.span,
                        &path,
                        format!("unknown outcome `{}`", e.value),
                        help_for(&e.value, "outcomes", &["allowed", "refused"]),
                    );
                    continue;
                }
                suite.moves.push(MovePin {
                    span: e.span,
                    table: table.value.clone(),
                    column: col.value,
                    expect: e.value,
                });
            }
        }
    }
    if let Some(n) = m.get("equivalent_mutants") {
        {
            for (i, item) in r.seq(n, "equivalent_mutants").into_iter().enumerate() {
                let path = format!("equivalent_mutants[{i}]");
                let Some(im) = r.map(item, &path, &["mutant", "reason"]) else {
                    continue;
                };
                let mutant = im
                    .get("mutant")
                    .and_then(|v| r.scalar(v, &format!("{path}.mutant"), "a mutant id"));
                let reason = im
                    .get("reason")
                    .and_then(|v| r.scalar(v, &format!("{path}.reason"), "why it is equivalent"));
                match (mutant, reason) {
                    (Some(m), Some(why)) if !why.value.trim().is_empty() => {
                        suite.equivalent.push(Equivalent {
                            span: m.span,
                            mutant: m.value,
                            reason: why.value,
                        })
                    }
                    (Some(m), _) => r.err(
                        Code::InvalidValue,
                        m.span,
                        &path,
                        "an equivalent mutant needs a `reason`",
                        "say why no test can tell this mutant from the schema",
                    ),
                    _ => {}
                }
            }
        }
    }
    if let Some(n) = m.get("fixtures") {
        for (table, tn) in r.entries(n, "fixtures") {
            for (col, v) in r.entries(tn, &format!("fixtures.{}", table.value)) {
                let fpath = format!("fixtures.{}.{}", table.value, col.value);
                if let Some(sql) = r.scalar(v, &fpath, "an SQL expression").filter(|sql| {
                    crate::expr::single_expression(sql, &fpath, "a fixture value", r.diags)
                }) {
                    suite.fixtures.push(FixtureOverride {
                        table: table.value.clone(),
                        column: col.value,
                        sql: sql.value,
                    });
                }
            }
        }
    }
    if let Some(n) = m.get("scenarios") {
        for (i, sn) in r.seq(n, "scenarios").into_iter().enumerate() {
            let path = format!("scenarios[{i}]");
            let Some(sm) = r.map(sn, &path, &["name", "setup", "steps"]) else {
                continue;
            };
            let Some(name) = r.req_scalar(&sm, "name", "a scenario name") else {
                continue;
            };
            let setup = r.opt_string(&sm, "setup");
            let mut steps = Vec::new();
            if let Some(stn) = sm.get("steps") {
                for (j, st) in r.seq(stn, &sm.child("steps")).into_iter().enumerate() {
                    let spath = format!("{path}.steps[{j}]");
                    let Some(stm) = r.map(st, &spath, &["as", "sql", "expect"]) else {
                        continue;
                    };
                    let who = r.req_scalar(&stm, "as", "an actor (`owner`, `other`, `member`, `admin`, `anon`, `service_role`) or `postgres`");
                    let sql = r.req_scalar(&stm, "sql", "an SQL statement");
                    let expect = match stm.get("expect") {
                        None => Some(Expect::Ok),
                        Some(en) => r.expect(en, &stm.child("expect")),
                    };
                    let (Some(who), Some(sql), Some(expect)) = (who, sql, expect) else {
                        continue;
                    };
                    if !crate::expr::single_statement(&sql, &spath, "a step", r.diags) {
                        continue;
                    }
                    let role = if who.value == "postgres" {
                        StepRole::Postgres
                    } else if let Some(a) = Actor::from_name(&who.value) {
                        StepRole::Actor(a)
                    } else {
                        let mut all = actors.clone();
                        all.push("postgres");
                        r.err(
                            Code::InvalidValue,
                            who.span,
                            &spath,
                            format!("unknown actor `{}`", who.value),
                            help_for(&who.value, "actors", &all),
                        );
                        continue;
                    };
                    steps.push(Step {
                        span: stm.span(),
                        role,
                        sql: sql.value,
                        expect,
                    });
                }
            }
            if steps.is_empty() {
                r.err(
                    Code::MissingKey,
                    sm.span(),
                    &path,
                    format!("scenario `{}` has no steps", name.value),
                    "add `steps: [{ as: owner, sql: ..., expect: { rows: 1 } }]`",
                );
                continue;
            }
            suite.scenarios.push(Scenario {
                span: sm.span(),
                file: file.to_string(),
                name: name.value,
                setup,
                steps,
            });
        }
    }
    suite
}

impl Reader<'_> {
    fn expect(&mut self, node: &Node, path: &str) -> Option<crate::suite::Expect> {
        use crate::suite::Expect;
        let m = self.map(node, path, &["ok", "rows", "affected", "value", "error"])?;
        let num = |r: &mut Self, key: &str| -> Option<u64> {
            let v = r.opt_scalar(&m, key, "a number")?;
            match v.value.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    r.err(
                        Code::ExpectedType,
                        v.span,
                        &m.child(key),
                        format!("`{}` is not a count", v.value),
                        "write a whole number",
                    );
                    None
                }
            }
        };
        if let Some(n) = num(self, "rows") {
            return Some(Expect::Rows(n));
        }
        if let Some(n) = num(self, "affected") {
            return Some(Expect::Affected(n));
        }
        if let Some(v) = self.opt_scalar(&m, "value", "the expected value as text") {
            return Some(Expect::Value(v.value));
        }
        if let Some(v) = self.opt_scalar(&m, "error", "an SQLSTATE such as `42501`") {
            return Some(Expect::Error(v.value));
        }
        if self.opt_bool(&m, "ok").is_some() {
            return Some(Expect::Ok);
        }
        self.err(
            Code::MissingKey,
            m.span(),
            path,
            "an expectation needs `rows`, `affected`, `value`, `error` or `ok`",
            "e.g. `expect: { rows: 1 }` or `expect: { error: \"42501\" }`",
        );
        None
    }
}
