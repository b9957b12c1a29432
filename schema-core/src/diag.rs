//! Diagnostics: codes, severities, the accumulator every stage writes to, and the table of codes.

use crate::source::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($name:ident = $id:literal, $title:literal;)*) => {
        /// Every diagnostic schemac can report. The documentation of each code is in
        /// `docs/diagnostics.md` under the anchor of its id.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum Code { $($name),* }
        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$name),*];
            pub fn id(self) -> &'static str { match self { $(Code::$name => $id),* } }
            pub fn title(self) -> &'static str { match self { $(Code::$name => $title),* } }
        }
    };
}

codes! {
    YamlSyntax = "S0001", "the file is not valid YAML";
    UnknownKey = "S0002", "unknown key";
    ExpectedType = "S0003", "a value has the wrong YAML type";
    MissingKey = "S0004", "a required key is missing";
    InvalidIdent = "S0005", "an identifier is not a safe SQL name";
    IdentTooLong = "S0006", "an identifier is longer than PostgreSQL's 63 bytes";
    DuplicateName = "S0007", "a name is declared twice";
    UnknownType = "S0008", "unknown column type";
    UnknownTable = "S0009", "reference to an unknown table";
    UnknownColumn = "S0010", "reference to an unknown column";
    ForeignKeyMismatch = "S0011", "a foreign key does not match its target";
    NoPrimaryKey = "S0012", "a table has no primary key";
    ExprSyntax = "S0013", "an SQL expression does not parse";
    ExprNotAllowed = "S0014", "an SQL expression uses something not allowed here";
    UnknownFunction = "S0015", "reference to an unknown function";
    InvalidValue = "S0016", "a value is not one of the allowed ones";
    OwnerNotUuid = "S0017", "an owner or user column is not a uuid";
    PolicyTemplate = "S0018", "a policy is incomplete or contradictory";
    RoleSource = "S0019", "the role source is missing or writable by users";
    DependencyCycle = "S0020", "foreign keys form a cycle that cannot be created";
    UnsafeBody = "S0021", "a function body cannot be quoted safely";
    RlsDisabled = "S0022", "row level security is disabled";
    GrantColumn = "S0023", "a grant names a column the role cannot use";
    SeedValue = "S0024", "a seed value does not fit its column";
    UnknownEnumValue = "S0025", "a value is not part of its enum";
    UserMetadata = "S0026", "a policy reads user_metadata, which users can edit";
    IndexMethod = "S0027", "an index method or operator class does not fit the column";
    ReservedName = "S0028", "a name is reserved by schemac or the platform";
    TypeMismatch = "S0029", "a value does not fit the declared type";
    Destructive = "S0030", "a schema change would lose data";
    RustSyntax = "S0031", "a Rust schema file does not parse";
    ExprAmbiguous = "S0040", "PostgreSQL would read an SQL expression differently from schemac";
    NiladicColumn = "S0041", "a bare word names both a column and an SQL function";
    ExprTooLarge = "S0042", "an SQL expression is too long or too deeply nested";
    NameCollision = "S0043", "two different objects would get the same generated name";
    // Lints (`schemac lint`, schema-core/src/lint.rs and schema-pg/src/lint_live.rs): problems in a
    // valid schema or a live database's catalog that make it unsafe, slow, or slow to migrate.
    LintRlsDisabled = "L0001", "row level security is disabled on a table the API roles can use";
    LintPolicyRlsDisabled = "L0002", "a table has policies but row level security is disabled";
    LintNoPolicy = "L0003", "a role has a grant but no policy for the command";
    LintAlwaysTrue = "L0004", "a policy is always true";
    LintUserMetadata = "L0005", "a policy depends on user_metadata";
    LintPerRowCall = "L0006", "a policy calls a function once per row";
    LintMultiplePermissive = "L0007", "several permissive policies for one role and command";
    LintUnindexedForeignKey = "L0008", "a foreign key has no index";
    LintUnindexedPolicyColumn = "L0009", "a column a policy filters on has no index";
    LintDuplicateIndex = "L0010", "two indexes are the same";
    LintSearchPathMutable = "L0011", "a function has no fixed search_path";
    LintVolatileInPolicy = "L0012", "a function called by a policy is volatile";
    LintPolicyToPublic = "L0013", "a policy has no explicit TO role";
    LintExtensionInPublic = "L0014", "an extension is installed in the public schema";
    LintIndexNotConcurrent = "L0015", "an index is added to an existing table without CONCURRENTLY";
    LintTableRewrite = "L0016", "a change rewrites an existing table";
    LintNotNullExisting = "L0017", "NOT NULL is required of existing rows";
    LintConstraintValidation = "L0018", "a constraint added to an existing table is validated under lock";
    LintDefinerExecutable = "L0019", "a security definer function is executable by anon or authenticated";
    LintNoPrimaryKey = "L0020", "a table has no primary key";
    LintForeignKeyToAuthUnique = "L0021", "a foreign key references a unique column of auth.users that is not its primary key";
    LintSensitiveColumnsExposed = "L0022", "columns with sensitive names are exposed without row level security";
    LintAuthUsersExposed = "L0023", "a view exposes auth.users to the API roles";
    LintSecurityDefinerView = "L0024", "a view runs with its owner's rights";
}

#[derive(Clone, Debug, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    #[serde(skip)]
    pub span: Span,
    /// Path in the schema, e.g. `tables.users.columns.email` (always present, also when a span is).
    pub path: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(
        code: Code,
        span: Span,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            path: path.into(),
            help: None,
        }
    }

    pub fn warning(
        code: Code,
        span: Span,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, span, path, message)
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The accumulator every stage writes to. Stages keep going after an error; the caller gates
/// between stages with [`Diagnostics::has_errors`].
#[derive(Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.list.push(d);
    }

    pub fn error_count(&self) -> usize {
        self.list
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }

    /// All diagnostics, sorted by (source, line, column, code) so output is stable.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.list.sort_by(|a, b| {
            (a.span.source, a.span.line, a.span.col, a.code, &a.message).cmp(&(
                b.span.source,
                b.span.line,
                b.span.col,
                b.code,
                &b.message,
            ))
        });
        self.list
    }
}

/// "did you mean" for a misspelt name: the closest candidate, if it is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// A help line listing what is allowed, with the closest one first when there is one.
pub fn help_for(name: &str, what: &str, candidates: &[&str]) -> String {
    match did_you_mean(name, candidates.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? {what}: {}", backticked(candidates)),
        None => format!("{what}: {}", backticked(candidates)),
    }
}

pub fn backticked(items: &[&str]) -> String {
    if items.is_empty() {
        return "(none)".to_string();
    }
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
