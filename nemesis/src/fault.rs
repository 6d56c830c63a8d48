//! The faults the nemesis applies, and how each is recorded in the history.
//!
//! As in Jepsen, every nemesis operation appears twice: an `info` invocation written before
//! the fault is applied ([`Fault::invoke_op`]) and an `info` completion written after
//! (returned by [`crate::Nemesis::apply`]). Both have `process: nemesis`; the runner stamps
//! index and time. Their values name the nodes touched and the shape, so that reports can
//! shade the interval the fault was active.

use std::collections::BTreeMap;

use schism_histories::{Op, OpType, Process, Value};

use crate::error::{Error, Result};
use crate::partition::{self, Grudge, Shape};

/// One fault to apply, or one fault to undo, with its targets resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Cut the network as `grudge` says. A [`Shape::Leader`] partition has an empty grudge
    /// until [`Fault::resolve_leader`] fills it in.
    StartPartition {
        shape: Shape,
        grudge: Grudge,
    },
    /// Remove every iptables rule in every host.
    StopPartition,
    /// Drop each packet a host receives on its cluster interface with this probability.
    StartLoss {
        probability: f64,
    },
    StopLoss,
    /// SIGKILL these nodes' processes.
    Kill {
        nodes: Vec<String>,
    },
    /// Start these killed nodes again.
    Start {
        nodes: Vec<String>,
    },
    /// SIGSTOP these nodes' processes.
    Pause {
        nodes: Vec<String>,
    },
    /// SIGCONT these paused nodes.
    Resume {
        nodes: Vec<String>,
    },
    /// Set these nodes' wall clocks to real time plus the offset.
    BumpClock {
        offsets_s: BTreeMap<String, i64>,
    },
    /// Flip a node's clock between its current offset and that plus `delta_s`, every
    /// `period_ms`, for `duration_ms`, in the background.
    StrobeClock {
        node: String,
        delta_s: i64,
        period_ms: u64,
        duration_ms: u64,
    },
    /// Every node's clock back to real time.
    ResetClock,
}

impl Fault {
    /// The `f` of its history operations.
    pub fn f(&self) -> &'static str {
        match self {
            Fault::StartPartition { .. } => "start-partition",
            Fault::StopPartition => "stop-partition",
            Fault::StartLoss { .. } => "start-loss",
            Fault::StopLoss => "stop-loss",
            Fault::Kill { .. } => "kill",
            Fault::Start { .. } => "start",
            Fault::Pause { .. } => "pause",
            Fault::Resume { .. } => "resume",
            Fault::BumpClock { .. } => "bump-clock",
            Fault::StrobeClock { .. } => "strobe-clock",
            Fault::ResetClock => "reset-clock",
        }
    }

    /// Whether this undoes a fault rather than starting one.
    pub fn is_heal(&self) -> bool {
        matches!(
            self,
            Fault::StopPartition
                | Fault::StopLoss
                | Fault::Start { .. }
                | Fault::Resume { .. }
                | Fault::ResetClock
        )
    }

    /// Whether this is a leader partition still waiting for the leader's name.
    pub fn needs_leader(&self) -> bool {
        matches!(self, Fault::StartPartition { shape: Shape::Leader, grudge } if grudge.is_empty())
    }

    /// Fills in a leader partition's grudge: `leader` cut from the rest of `nodes`. Other
    /// faults are left as they are.
    pub fn resolve_leader(&mut self, nodes: &[String], leader: &str) -> Result<()> {
        if let Fault::StartPartition {
            shape: Shape::Leader,
            grudge,
        } = self
        {
            // The leader shape draws nothing at random, so any generator will do.
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
            *grudge = partition::grudge(Shape::Leader, nodes, Some(leader), &mut rng)?;
        }
        Ok(())
    }

    /// The value of the invocation: what is about to be done, to which nodes.
    pub fn value(&self) -> Value {
        match self {
            Fault::StartPartition { shape, grudge } => map([
                ("shape", Value::Str(shape.as_str().into())),
                ("grudge", partition::grudge_value(grudge)),
            ]),
            Fault::StopPartition | Fault::StopLoss | Fault::ResetClock => Value::Nil,
            Fault::StartLoss { probability } => map([("probability", Value::Float(*probability))]),
            Fault::Kill { nodes }
            | Fault::Start { nodes }
            | Fault::Pause { nodes }
            | Fault::Resume { nodes } => map([("nodes", names(nodes))]),
            Fault::BumpClock { offsets_s } => map([(
                "offsets_s",
                Value::Map(
                    offsets_s
                        .iter()
                        .map(|(n, o)| (Value::Str(n.clone()), Value::Int(*o)))
                        .collect(),
                ),
            )]),
            Fault::StrobeClock {
                node,
                delta_s,
                period_ms,
                duration_ms,
            } => map([
                ("node", Value::Str(node.clone())),
                ("delta_s", Value::Int(*delta_s)),
                ("period_ms", int(*period_ms)),
                ("duration_ms", int(*duration_ms)),
            ]),
        }
    }

    /// The `info` invocation to write before applying the fault.
    pub fn invoke_op(&self) -> Op {
        nemesis_op(self.f(), self.value())
    }
}

/// A nemesis operation: `process: nemesis`, type `info`, index and time left for the runner.
pub fn nemesis_op(f: &str, value: Value) -> Op {
    Op::new(OpType::Info, Process::Nemesis, f, value)
}

pub(crate) fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Str(k.to_string()), v))
            .collect(),
    )
}

pub(crate) fn names<S: AsRef<str>>(nodes: impl IntoIterator<Item = S>) -> Value {
    let mut list: Vec<Value> = nodes
        .into_iter()
        .map(|n| Value::Str(n.as_ref().to_string()))
        .collect();
    list.sort();
    Value::List(list)
}

pub(crate) fn int(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A fault that failed part-way: the completion to record (its `error` says what failed),
/// and the error.
#[derive(Debug, thiserror::Error)]
#[error("nemesis {f} failed: {error}", f = completion.f)]
pub struct Failed {
    pub completion: Op,
    #[source]
    pub error: Error,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_partition_is_resolved_by_name() {
        let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        let mut fault = Fault::StartPartition {
            shape: Shape::Leader,
            grudge: Grudge::new(),
        };
        assert!(fault.needs_leader());
        fault.resolve_leader(&nodes, "n2").unwrap();
        assert!(!fault.needs_leader());
        assert_eq!(
            fault.invoke_op().value.to_json().to_string(),
            r#"{"grudge":{"n1":["n2"],"n2":["n1","n3"],"n3":["n2"]},"shape":"leader"}"#
        );
        assert_eq!(fault.invoke_op().f, "start-partition");
        assert_eq!(fault.invoke_op().process, Process::Nemesis);
        assert_eq!(fault.invoke_op().kind, OpType::Info);
    }

    #[test]
    fn node_lists_are_sorted_in_values() {
        let fault = Fault::Kill {
            nodes: vec!["n3".into(), "n1".into()],
        };
        assert_eq!(
            fault.value().to_json().to_string(),
            r#"{"nodes":["n1","n3"]}"#
        );
    }
}
