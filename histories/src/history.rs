//! Histories, their validation, and the pairing of each invocation with its completion.

use std::collections::BTreeMap;

use crate::error::HistoryError;
use crate::op::{Op, OpType, Pos, Process};
use crate::value::Value;

/// A sequence of operations in the order they happened, as read from one source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The file the history was read from (`-` for standard input, `<memory>` for one built
    /// in memory); errors and reports name it.
    pub source_name: String,
    pub ops: Vec<Op>,
}

impl History {
    /// A history built in memory. Indexes and times that are all zero are assigned from the
    /// position, so that hand-written test histories need not number their operations.
    pub fn new(ops: Vec<Op>) -> History {
        let mut history = History {
            source_name: "<memory>".to_string(),
            ops,
        };
        if history.ops.iter().all(|op| op.index == 0) {
            for (i, op) in history.ops.iter_mut().enumerate() {
                op.index = i as u64;
            }
        }
        if history.ops.iter().all(|op| op.time == 0) {
            for (i, op) in history.ops.iter_mut().enumerate() {
                op.time = i as i64;
            }
        }
        history
    }

    /// Validates the history and pairs each client invocation with its completion.
    pub fn pair(self) -> Result<PairedHistory, HistoryError> {
        PairedHistory::new(self)
    }
}

/// How a client operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// It took effect.
    Ok,
    /// It did not take effect.
    Fail,
    /// Unknown: it may have taken effect at any point after its invocation, or never. An
    /// invocation with no completion in the history counts as this.
    Info,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// A client operation: an invocation and, where the history has one, its completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    /// The invocation's position in [`History::ops`].
    pub invoke: usize,
    /// The completion's position in [`History::ops`]; `None` when the history ends first.
    pub complete: Option<usize>,
    pub outcome: Outcome,
}

/// A history known to be well-formed, with every client invocation paired with its completion.
/// Checkers take this type, so that none of them has to validate again.
///
/// **Invariant:** every client invocation has at most one completion, from the same process,
/// with the same `f`, later in the history; no process invokes while an operation of its own is
/// open, nor after an operation of its own ended `info`.
#[derive(Clone, Debug)]
pub struct PairedHistory {
    history: History,
    pairs: Vec<Pair>,
    /// For each position in the history, the index into `pairs` of the client operation that
    /// line belongs to (`u32::MAX` for nemesis lines).
    pair_of: Vec<u32>,
}

const NO_PAIR: u32 = u32::MAX;

impl PairedHistory {
    /// Validates and pairs. Errors name the line of the offending operation.
    pub fn new(history: History) -> Result<PairedHistory, HistoryError> {
        let invalid = |op: &Op, message: String| HistoryError::Invalid {
            source_name: history.source_name.clone(),
            pos: op.pos,
            message,
        };
        if history.ops.len() >= NO_PAIR as usize {
            return Err(invalid(
                history.ops.last().unwrap_or(&Op::new(
                    OpType::Invoke,
                    Process::Nemesis,
                    "",
                    Value::Nil,
                )),
                format!("a history may hold at most {} operations", NO_PAIR - 1),
            ));
        }
        let mut pairs: Vec<Pair> = Vec::new();
        let mut pair_of = vec![NO_PAIR; history.ops.len()];
        // The open operation of each process (index into `pairs`), and the processes whose
        // last operation ended `info`, with the position of that completion.
        let mut open: BTreeMap<i64, u32> = BTreeMap::new();
        let mut crashed: BTreeMap<i64, usize> = BTreeMap::new();
        for (i, op) in history.ops.iter().enumerate() {
            let Process::Client(p) = op.process else {
                continue;
            };
            match op.kind {
                OpType::Invoke => {
                    if let Some(&open_pair) = open.get(&p) {
                        let earlier = &history.ops[pairs[open_pair as usize].invoke];
                        return Err(invalid(
                            op,
                            format!(
                                "process {p} invokes {} while its {} invoked at {} is still open",
                                op.f, earlier.f, earlier.pos
                            ),
                        ));
                    }
                    if let Some(&at) = crashed.get(&p) {
                        return Err(invalid(
                            op,
                            format!(
                                "process {p} invokes {} after its operation ended info at {}; \
                                 a crashed process must not invoke again",
                                op.f, history.ops[at].pos
                            ),
                        ));
                    }
                    let id = pairs.len() as u32;
                    pairs.push(Pair {
                        invoke: i,
                        complete: None,
                        outcome: Outcome::Info,
                    });
                    pair_of[i] = id;
                    open.insert(p, id);
                }
                OpType::Ok | OpType::Fail | OpType::Info => {
                    let Some(id) = open.remove(&p) else {
                        return Err(invalid(
                            op,
                            format!(
                                "{} completion of {} by process {p} has no open invocation",
                                op.kind, op.f
                            ),
                        ));
                    };
                    let pair = &mut pairs[id as usize];
                    let inv = &history.ops[pair.invoke];
                    if inv.f != op.f {
                        return Err(invalid(
                            op,
                            format!(
                                "completion of process {p} has f {}, but its invocation at {} has f {}",
                                op.f, inv.pos, inv.f
                            ),
                        ));
                    }
                    pair.complete = Some(i);
                    pair.outcome = match op.kind {
                        OpType::Ok => Outcome::Ok,
                        OpType::Fail => Outcome::Fail,
                        _ => {
                            crashed.insert(p, i);
                            Outcome::Info
                        }
                    };
                    pair_of[i] = id;
                }
            }
        }
        Ok(PairedHistory {
            history,
            pairs,
            pair_of,
        })
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn into_history(self) -> History {
        self.history
    }

    pub fn source_name(&self) -> &str {
        &self.history.source_name
    }

    /// The client operations, in the order of their invocations.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The client operation that the line at `position` belongs to.
    pub fn pair_at(&self, position: usize) -> Option<&Pair> {
        match self.pair_of.get(position) {
            Some(&id) if id != NO_PAIR => self.pairs.get(id as usize),
            _ => None,
        }
    }

    /// The index into [`Self::pairs`] of the client operation at `position`.
    pub fn pair_index_at(&self, position: usize) -> Option<usize> {
        match self.pair_of.get(position) {
            Some(&id) if id != NO_PAIR => Some(id as usize),
            _ => None,
        }
    }

    pub fn invocation(&self, pair: &Pair) -> &Op {
        &self.history.ops[pair.invoke]
    }

    pub fn completion(&self, pair: &Pair) -> Option<&Op> {
        pair.complete.map(|i| &self.history.ops[i])
    }

    /// The value that best describes what the operation did: the completion's value for an
    /// `ok` operation (reads learn their result there), the invocation's otherwise.
    pub fn value<'a>(&'a self, pair: &Pair) -> &'a Value {
        match (pair.outcome, self.completion(pair)) {
            (Outcome::Ok, Some(done)) => &done.value,
            _ => &self.invocation(pair).value,
        }
    }

    /// The nemesis operations, in history order.
    pub fn nemesis_ops(&self) -> impl Iterator<Item = &Op> {
        self.history
            .ops
            .iter()
            .filter(|op| op.process == Process::Nemesis)
    }

    /// The position of an operation's source line, for messages.
    pub fn pos(&self, pair: &Pair) -> Pos {
        self.invocation(pair).pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: OpType, p: i64, f: &str, v: Value) -> Op {
        Op::new(kind, Process::Client(p), f, v)
    }

    #[test]
    fn pairs_invocations_with_completions() {
        let h = History::new(vec![
            op(OpType::Invoke, 0, "write", Value::Int(1)),
            op(OpType::Invoke, 1, "read", Value::Nil),
            op(OpType::Ok, 1, "read", Value::Int(1)),
            op(OpType::Ok, 0, "write", Value::Int(1)),
            op(OpType::Invoke, 1, "read", Value::Nil),
        ]);
        let paired = h.pair().unwrap();
        let pairs = paired.pairs();
        assert_eq!(pairs.len(), 3);
        assert_eq!((pairs[0].invoke, pairs[0].complete), (0, Some(3)));
        assert_eq!(paired.value(&pairs[1]), &Value::Int(1));
        assert_eq!(pairs[2].outcome, Outcome::Info);
        assert_eq!(pairs[2].complete, None);
    }

    #[test]
    fn rejects_malformed_histories() {
        let cases = [
            (
                vec![op(OpType::Ok, 0, "read", Value::Nil)],
                "ok completion of read by process 0 has no open invocation",
            ),
            (
                vec![
                    op(OpType::Invoke, 0, "read", Value::Nil),
                    op(OpType::Invoke, 0, "write", Value::Int(1)),
                ],
                "process 0 invokes write while its read invoked at",
            ),
            (
                vec![
                    op(OpType::Invoke, 0, "read", Value::Nil),
                    op(OpType::Ok, 0, "write", Value::Int(1)),
                ],
                "completion of process 0 has f write, but its invocation",
            ),
            (
                vec![
                    op(OpType::Invoke, 0, "read", Value::Nil),
                    op(OpType::Info, 0, "read", Value::Nil),
                    op(OpType::Invoke, 0, "read", Value::Nil),
                ],
                "a crashed process must not invoke again",
            ),
        ];
        for (ops, expected) in cases {
            let err = History::new(ops).pair().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn nemesis_operations_are_kept_and_passed_over() {
        let h = History::new(vec![
            Op::new(OpType::Info, Process::Nemesis, "start", Value::Nil),
            op(OpType::Invoke, 0, "read", Value::Nil),
            Op::new(OpType::Info, Process::Nemesis, "start", Value::Nil),
            op(OpType::Ok, 0, "read", Value::Nil),
        ]);
        let paired = h.pair().unwrap();
        assert_eq!(paired.pairs().len(), 1);
        assert_eq!(paired.nemesis_ops().count(), 2);
        assert_eq!(paired.pair_at(0), None);
        assert_eq!(paired.pair_index_at(3), Some(0));
    }
}
