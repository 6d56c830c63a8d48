//! Deterministic fault schedules, after Jepsen's nemesis generators
//! (`jepsen.nemesis.combined`): wait an interval, start a fault, wait an interval, undo it,
//! and again, the fault's kind and targets drawn from one seeded RNG.
//!
//! The schedule is a pure function of the enabled faults, the interval, the node names and
//! the seed ([`schedule`]): the same inputs give the same steps, so a failing run can be
//! replayed from the seed in its `test.json`. One fault is in force at a time, which keeps
//! every step's effect readable on a report's timeline.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::fault::Fault;
use crate::partition::{self, Grudge, Shape};

/// A family of faults, as `--nemesis partition,clock,kill,pause,loss` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    Partition,
    Clock,
    Kill,
    Pause,
    Loss,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Partition,
        FaultKind::Clock,
        FaultKind::Kill,
        FaultKind::Pause,
        FaultKind::Loss,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Clock => "clock",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::Loss => "loss",
        }
    }

    /// Parses a comma-separated list; `none` (or nothing) is the empty set.
    pub fn parse_list(text: &str) -> Result<BTreeSet<FaultKind>> {
        let mut kinds = BTreeSet::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word != "none" {
                kinds.insert(word.parse()?);
            }
        }
        Ok(kinds)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::InvalidFault(format!(
                    "unknown fault {s:?}; expected partition, clock, kill, pause, loss or none"
                ))
            })
    }
}

/// What a schedule may draw from.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleConfig {
    pub kinds: BTreeSet<FaultKind>,
    /// Time between consecutive steps: a fault lasts one interval, then the cluster is left
    /// alone for one.
    pub interval_ms: u64,
    /// Partition shapes to draw from. The default leaves out [`Shape::Leader`], which only a
    /// database with a leader can resolve ([`Fault::resolve_leader`]).
    pub shapes: Vec<Shape>,
    pub loss_probability: f64,
    /// Clock bumps and strobes move clocks by at most this much either way.
    pub max_clock_offset_s: i64,
}

impl ScheduleConfig {
    pub fn new(kinds: BTreeSet<FaultKind>, interval_ms: u64) -> ScheduleConfig {
        ScheduleConfig {
            kinds,
            interval_ms,
            shapes: vec![
                Shape::IsolateOne,
                Shape::Halves,
                Shape::MajoritiesRing,
                Shape::Bridge,
            ],
            loss_probability: 0.2,
            max_clock_offset_s: 120,
        }
    }
}

/// One step of a schedule: apply `fault` at `at_ms` after the test started.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultStep {
    pub at_ms: u64,
    pub fault: Fault,
}

/// The endless sequence of steps of a schedule; take steps while `at_ms` is under the time
/// limit, then call [`crate::Nemesis::heal_all`].
pub struct Schedule {
    config: ScheduleConfig,
    nodes: Vec<String>,
    kinds: Vec<FaultKind>,
    shapes: Vec<Shape>,
    rng: ChaCha8Rng,
    next_at_ms: u64,
    pending: Option<Fault>,
}

/// The schedule for `nodes` from `seed`. Kinds that cannot apply to this many nodes (a
/// partition of one node) are left out; with no kind left the schedule is empty.
pub fn schedule(config: &ScheduleConfig, nodes: &[String], seed: u64) -> Schedule {
    let shapes: Vec<Shape> = config
        .shapes
        .iter()
        .copied()
        .filter(|s| nodes.len() >= s.min_nodes())
        .collect();
    let kinds = config
        .kinds
        .iter()
        .copied()
        .filter(|k| !nodes.is_empty() && (*k != FaultKind::Partition || !shapes.is_empty()))
        .collect();
    Schedule {
        config: config.clone(),
        nodes: nodes.to_vec(),
        kinds,
        shapes,
        rng: ChaCha8Rng::seed_from_u64(seed),
        next_at_ms: 0,
        pending: None,
    }
}

impl Schedule {
    /// A random set of targets, sized as Jepsen's node specs: one, a minority, a majority or
    /// all. Sorted, so that the history names them in order.
    fn targets(&mut self) -> Vec<String> {
        let n = self.nodes.len();
        let sizes = [
            1,
            (n.saturating_sub(1) / 2).max(1),
            (n / 2 + 1).min(n),
            n.max(1),
        ];
        let size = sizes.choose(&mut self.rng).copied().unwrap_or(1);
        let mut targets: Vec<String> = self
            .nodes
            .choose_multiple(&mut self.rng, size)
            .cloned()
            .collect();
        targets.sort();
        targets
    }

    fn offset_s(&mut self) -> i64 {
        let max = self.config.max_clock_offset_s.max(1);
        let magnitude = self.rng.random_range(1..=max);
        if self.rng.random_bool(0.5) {
            magnitude
        } else {
            -magnitude
        }
    }

    /// Draws a fault to start, and the fault that will undo it.
    fn draw(&mut self, kind: FaultKind) -> (Fault, Fault) {
        match kind {
            FaultKind::Partition => {
                let shape = self.shapes.choose(&mut self.rng).copied();
                let grudge = match shape {
                    // The leader is not known until the step runs.
                    Some(Shape::Leader) | None => Ok(Grudge::new()),
                    Some(shape) => partition::grudge(shape, &self.nodes, None, &mut self.rng),
                };
                let start = Fault::StartPartition {
                    shape: shape.unwrap_or(Shape::Leader),
                    // `schedule` keeps only shapes that fit, so drawing cannot fail.
                    grudge: grudge.unwrap_or_default(),
                };
                (start, Fault::StopPartition)
            }
            FaultKind::Loss => (
                Fault::StartLoss {
                    probability: self.config.loss_probability,
                },
                Fault::StopLoss,
            ),
            FaultKind::Kill => {
                let nodes = self.targets();
                (
                    Fault::Kill {
                        nodes: nodes.clone(),
                    },
                    Fault::Start { nodes },
                )
            }
            FaultKind::Pause => {
                let nodes = self.targets();
                (
                    Fault::Pause {
                        nodes: nodes.clone(),
                    },
                    Fault::Resume { nodes },
                )
            }
            FaultKind::Clock => {
                if self.rng.random_bool(0.5) {
                    let targets = self.targets();
                    let offsets_s: BTreeMap<String, i64> = targets
                        .into_iter()
                        .map(|node| {
                            let offset = self.offset_s();
                            (node, offset)
                        })
                        .collect();
                    (Fault::BumpClock { offsets_s }, Fault::ResetClock)
                } else {
                    let node = self
                        .nodes
                        .choose(&mut self.rng)
                        .cloned()
                        .unwrap_or_default();
                    let delta_s = self.offset_s();
                    let period_ms = self.rng.random_range(50..=200);
                    (
                        Fault::StrobeClock {
                            node,
                            delta_s,
                            period_ms,
                            duration_ms: self.config.interval_ms,
                        },
                        Fault::ResetClock,
                    )
                }
            }
        }
    }
}

impl Iterator for Schedule {
    type Item = FaultStep;

    fn next(&mut self) -> Option<FaultStep> {
        if self.kinds.is_empty() {
            return None;
        }
        self.next_at_ms = self.next_at_ms.saturating_add(self.config.interval_ms);
        let fault = match self.pending.take() {
            Some(stop) => stop,
            None => {
                let kind = self.kinds.choose(&mut self.rng).copied()?;
                let (start, stop) = self.draw(kind);
                self.pending = Some(stop);
                start
            }
        };
        Some(FaultStep {
            at_ms: self.next_at_ms,
            fault,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn steps(kinds: &str, n: usize, seed: u64, count: usize) -> Vec<FaultStep> {
        let config = ScheduleConfig::new(FaultKind::parse_list(kinds).unwrap(), 10_000);
        schedule(&config, &nodes(n), seed).take(count).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_steps() {
        let all = "partition,clock,kill,pause,loss";
        for seed in [0, 1, 42, u64::MAX] {
            assert_eq!(steps(all, 5, seed, 100), steps(all, 5, seed, 100));
        }
        assert_ne!(steps(all, 5, 1, 100), steps(all, 5, 2, 100));
    }

    #[test]
    fn starts_and_stops_alternate_every_interval() {
        let steps = steps("partition,clock,kill,pause,loss", 5, 7, 200);
        for (i, step) in steps.iter().enumerate() {
            assert_eq!(step.at_ms, (i as u64 + 1) * 10_000);
            assert_eq!(
                step.fault.is_heal(),
                i % 2 == 1,
                "step {i}: {:?}",
                step.fault
            );
        }
        for pair in steps.chunks(2) {
            let expected = match &pair[0].fault {
                Fault::StartPartition { .. } => Fault::StopPartition,
                Fault::StartLoss { .. } => Fault::StopLoss,
                Fault::Kill { nodes } => Fault::Start {
                    nodes: nodes.clone(),
                },
                Fault::Pause { nodes } => Fault::Resume {
                    nodes: nodes.clone(),
                },
                Fault::BumpClock { .. } | Fault::StrobeClock { .. } => Fault::ResetClock,
                other => panic!("{other:?} is not a start"),
            };
            assert_eq!(pair[1].fault, expected);
        }
    }

    #[test]
    fn every_enabled_kind_is_drawn_and_no_other() {
        let steps = steps("kill,clock", 5, 3, 200);
        let fs: BTreeSet<&str> = steps.iter().map(|s| s.fault.f()).collect();
        let expected: BTreeSet<&str> =
            ["kill", "start", "bump-clock", "strobe-clock", "reset-clock"].into();
        assert_eq!(fs, expected);
    }

    #[test]
    fn targets_and_offsets_stay_in_bounds() {
        for step in steps("partition,clock,kill,pause", 5, 11, 400) {
            match step.fault {
                Fault::Kill { nodes } | Fault::Pause { nodes } => {
                    assert!((1..=5).contains(&nodes.len()));
                    assert!(nodes.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
                }
                Fault::BumpClock { offsets_s } => {
                    assert!(offsets_s.values().all(|o| *o != 0 && o.abs() <= 120));
                }
                Fault::StrobeClock {
                    delta_s, period_ms, ..
                } => {
                    assert!(delta_s != 0 && delta_s.abs() <= 120);
                    assert!((50..=200).contains(&period_ms));
                }
                Fault::StartPartition { grudge, shape } => {
                    assert_ne!(shape, Shape::Leader, "not in the default shapes");
                    assert_eq!(grudge.len(), 5);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn kinds_that_cannot_apply_are_left_out() {
        assert!(steps("none", 5, 1, 10).is_empty());
        assert!(
            steps("partition", 1, 1, 10).is_empty(),
            "one node cannot be partitioned"
        );
        assert_eq!(steps("kill", 1, 1, 4).len(), 4);
        assert!(steps("kill", 0, 1, 4).is_empty());
    }

    #[test]
    fn leader_partitions_wait_for_the_leader() {
        let mut config = ScheduleConfig::new([FaultKind::Partition].into(), 1_000);
        config.shapes = vec![Shape::Leader];
        let first = schedule(&config, &nodes(3), 9).next().unwrap();
        assert!(first.fault.needs_leader());
    }

    #[test]
    fn fault_lists_parse_and_reject_unknown_words() {
        assert_eq!(
            FaultKind::parse_list("partition, loss").unwrap(),
            [FaultKind::Partition, FaultKind::Loss].into()
        );
        assert!(FaultKind::parse_list("partition,flood").is_err());
    }
}
