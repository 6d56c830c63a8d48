//! One line of a history: an invocation or a completion, with Jepsen's semantics.

use std::fmt;

use smol_str::SmolStr;

use crate::value::Value;

/// What a line of the history says happened.
///
/// An operation is an `Invoke`, later followed by exactly one completion from the same
/// process: `Ok` (it took effect), `Fail` (it did not) or `Info` (unknown: it may take effect
/// at any time after its invocation, or never).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl OpType {
    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<OpType> {
        match s {
            "invoke" => Some(OpType::Invoke),
            "ok" => Some(OpType::Ok),
            "fail" => Some(OpType::Fail),
            "info" => Some(OpType::Info),
            _ => None,
        }
    }

    pub fn is_completion(self) -> bool {
        self != OpType::Invoke
    }
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performed an operation: a client process (an integer, as Jepsen numbers them) or the
/// nemesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Process {
    Client(i64),
    Nemesis,
}

impl Process {
    pub fn is_client(self) -> bool {
        matches!(self, Process::Client(_))
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

/// Where an operation stands in its source file (1-based), for error messages. `line == 0`
/// means the operation was built in memory, not read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One entry of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// Position in the history, from 0. Readers assign it when the file has none.
    pub index: u64,
    /// Nanoseconds since the test started (monotonic). Readers assign the index when the file
    /// has no time, so that order is kept.
    pub time: i64,
    pub kind: OpType,
    pub process: Process,
    /// The function: `read`, `write`, `cas`, `txn`, `partition`, ...
    pub f: SmolStr,
    pub value: Value,
    /// The node the client talked to, where known.
    pub node: Option<SmolStr>,
    /// The error a client or database reported, where any.
    pub error: Option<Value>,
    /// Where the operation was read from.
    pub pos: Pos,
}

impl Op {
    /// An operation built in memory, for tests and for the harness. Index and time are 0;
    /// [`crate::History::new`] leaves them as they are, so set them when order matters.
    pub fn new(kind: OpType, process: Process, f: &str, value: Value) -> Op {
        Op {
            index: 0,
            time: 0,
            kind,
            process,
            f: SmolStr::new(f),
            value,
            node: None,
            error: None,
            pos: Pos::default(),
        }
    }
}
