//! Policy test files (`tests/policies/*.yaml`): pinned outcomes for matrix cells the schema alone
//! cannot decide, fixture overrides, and scenarios (act as a fixture user, run SQL, expect rows,
//! a count, a value or an error). Parsed by `syntax::yaml::parse_suite`; run by `schema_pg::harness`.

use crate::emit::access::Actor;
use crate::ir::Command;
use crate::source::Span;

#[derive(Clone, Debug, Default)]
pub struct Suite {
    pub pins: Vec<Pin>,
    pub fixtures: Vec<FixtureOverride>,
    pub scenarios: Vec<Scenario>,
    /// Outcomes of moving a row's link column to another user's row, where custom SQL decides.
    pub moves: Vec<MovePin>,
    /// Mutants that cannot change any observable outcome, with the reason.
    pub equivalent: Vec<Equivalent>,
}

impl Suite {
    pub fn extend(&mut self, other: Suite) {
        self.pins.extend(other.pins);
        self.fixtures.extend(other.fixtures);
        self.scenarios.extend(other.scenarios);
        self.moves.extend(other.moves);
        self.equivalent.extend(other.equivalent);
    }

    pub fn move_pin(&self, table: &str, column: &str) -> Option<&MovePin> {
        self.moves
            .iter()
            .find(|p| p.table == table && p.column == column)
    }

    pub fn equivalent(&self, mutant: &str) -> Option<&Equivalent> {
        self.equivalent.iter().find(|e| e.mutant == mutant)
    }

    pub fn pin(&self, table: &str, actor: Actor, command: Command) -> Option<&Pin> {
        self.pins
            .iter()
            .find(|p| p.table == table && p.actor == actor && p.command == command)
    }
}

/// The expected outcome kind of one matrix cell: `allowed`, `filtered` or `refused`.
#[derive(Clone, Debug)]
pub struct Pin {
    pub span: Span,
    pub table: String,
    pub actor: Actor,
    pub command: Command,
    pub expect: String,
}

/// `moves: { table: { column: allowed | refused } }`: whether the owner (or member) may point
/// `column` of their row at the other user's row, when custom SQL decides it.
#[derive(Clone, Debug)]
pub struct MovePin {
    pub span: Span,
    pub table: String,
    pub column: String,
    pub expect: String,
}

/// `equivalent_mutants: [{ mutant: <id>, reason: <why no test can tell it apart> }]`.
#[derive(Clone, Debug)]
pub struct Equivalent {
    pub span: Span,
    pub mutant: String,
    pub reason: String,
}

/// An SQL expression the fixtures use for a column instead of a synthetic value.
#[derive(Clone, Debug)]
pub struct FixtureOverride {
    pub table: String,
    pub column: String,
    pub sql: String,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub span: Span,
    pub file: String,
    pub name: String,
    /// SQL run as the migrating role (`postgres`) before the steps, in the same transaction.
    pub setup: Option<String>,
    pub steps: Vec<Step>,
}

/// Who a step runs as: a fixture actor, or the migrating role `postgres` (no RLS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepRole {
    Actor(Actor),
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub span: Span,
    pub role: StepRole,
    pub sql: String,
    pub expect: Expect,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The statement succeeds (any result).
    Ok,
    /// A query returns this many rows.
    Rows(u64),
    /// A write affects this many rows.
    Affected(u64),
    /// The first column of the first row, as text, equals this.
    Value(String),
    /// The statement fails with this SQLSTATE.
    Error(String),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Ok => write!(f, "success"),
            Expect::Rows(n) => write!(f, "{n} rows"),
            Expect::Affected(n) => write!(f, "{n} rows affected"),
            Expect::Value(v) => write!(f, "value `{v}`"),
            Expect::Error(c) => write!(f, "error {c}"),
        }
    }
}
