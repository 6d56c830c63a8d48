//! Consistency models, the anomalies each one rules out, and the implications between them,
//! after Elle's `elle.consistency-model` (Kingsbury & Alvaro 2020), which draws on Adya (1999),
//! Bailis et al. ("Highly Available Transactions", 2013), Cerone et al. (2015) and Daudjee &
//! Salem (2004, 2006).
//!
//! Three small graphs, all over names:
//!
//! - [`MODEL_IMPLIES`]: `a -> b` when every history satisfying `a` satisfies `b`.
//! - [`DIRECTLY_PROHIBITS`]: the anomalies a model rules out beyond the models it implies.
//! - [`ANOMALY_IMPLIES`]: `a -> b` when a history with anomaly `a` also has anomaly `b` (G0
//!   is a G1c; G1c is a G1; ...).
//!
//! One deliberate difference from Elle: our cycles are over single keys (there are no
//! predicate reads in list-append or rw-register histories), so G-single and G-nonadjacent
//! are also G2-item, as Elle's `G-single-item` and `G-nonadjacent-item` are. Elle reports them
//! as G-single and G-nonadjacent, which its own comment calls "a mess" because repeatable read
//! then misses them; here repeatable read is ruled out by a G-single, as Adya's PL-2.99 says.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

/// A consistency model that `--consistency-models` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsistencyModel {
    ReadUncommitted,
    ReadCommitted,
    ReadAtomic,
    CausalCerone,
    SnapshotIsolation,
    RepeatableRead,
    Serializable,
    StrongSessionSnapshotIsolation,
    StrongSessionSerializable,
    StrictSerializable,
}

impl ConsistencyModel {
    pub const ALL: [ConsistencyModel; 10] = [
        ConsistencyModel::ReadUncommitted,
        ConsistencyModel::ReadCommitted,
        ConsistencyModel::ReadAtomic,
        ConsistencyModel::CausalCerone,
        ConsistencyModel::SnapshotIsolation,
        ConsistencyModel::RepeatableRead,
        ConsistencyModel::Serializable,
        ConsistencyModel::StrongSessionSnapshotIsolation,
        ConsistencyModel::StrongSessionSerializable,
        ConsistencyModel::StrictSerializable,
    ];

    /// The model's name as Elle spells it.
    pub fn name(self) -> &'static str {
        match self {
            ConsistencyModel::ReadUncommitted => "read-uncommitted",
            ConsistencyModel::ReadCommitted => "read-committed",
            ConsistencyModel::ReadAtomic => "read-atomic",
            ConsistencyModel::CausalCerone => "causal-cerone",
            ConsistencyModel::SnapshotIsolation => "snapshot-isolation",
            ConsistencyModel::RepeatableRead => "repeatable-read",
            ConsistencyModel::Serializable => "serializable",
            ConsistencyModel::StrongSessionSnapshotIsolation => "strong-session-snapshot-isolation",
            ConsistencyModel::StrongSessionSerializable => "strong-session-serializable",
            ConsistencyModel::StrictSerializable => "strict-serializable",
        }
    }

    /// Parses a model name, with Elle's aliases (`causal` for `causal-cerone`, Adya's `PL-*`
    /// names, `strong-serializable` for `strict-serializable`). A leading `:` is ignored so
    /// that EDN keywords read too.
    pub fn parse(name: &str) -> Result<ConsistencyModel, String> {
        let name = name.trim().trim_start_matches(':');
        let model = match name {
            "read-uncommitted" | "PL-1" => ConsistencyModel::ReadUncommitted,
            "read-committed" | "PL-2" => ConsistencyModel::ReadCommitted,
            "read-atomic" => ConsistencyModel::ReadAtomic,
            "causal" | "causal-cerone" => ConsistencyModel::CausalCerone,
            "snapshot-isolation" | "PL-SI" | "si" => ConsistencyModel::SnapshotIsolation,
            "repeatable-read" | "PL-2.99" => ConsistencyModel::RepeatableRead,
            "serializable" | "conflict-serializable" | "PL-3" => ConsistencyModel::Serializable,
            "strong-session-snapshot-isolation" => ConsistencyModel::StrongSessionSnapshotIsolation,
            "strong-session-serializable" => ConsistencyModel::StrongSessionSerializable,
            "strict-serializable" | "strong-serializable" | "PL-SS" => {
                ConsistencyModel::StrictSerializable
            }
            _ => {
                let known: Vec<&str> = ConsistencyModel::ALL.iter().map(|m| m.name()).collect();
                return Err(format!(
                    "unknown consistency model {name:?}; known models are {}",
                    known.join(", ")
                ));
            }
        };
        Ok(model)
    }

    /// Parses a comma-separated list, as `--consistency-models` takes it.
    pub fn parse_list(names: &str) -> Result<Vec<ConsistencyModel>, String> {
        names
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(ConsistencyModel::parse)
            .collect()
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `(model, models it implies)`, after Elle's `models` graph, restricted to transactional
/// models and spelled with friendly names.
pub const MODEL_IMPLIES: &[(&str, &[&str])] = &[
    ("causal-cerone", &["read-atomic"]),
    ("consistent-view", &["cursor-stability", "monotonic-view"]),
    ("cursor-stability", &["read-committed"]),
    ("forward-consistent-view", &["consistent-view"]),
    ("monotonic-atomic-view", &["read-committed"]),
    ("monotonic-snapshot-read", &["read-committed"]),
    ("monotonic-view", &["read-committed"]),
    ("parallel-snapshot-isolation", &["causal-cerone"]),
    ("prefix", &["causal-cerone"]),
    ("read-atomic", &["monotonic-atomic-view"]),
    ("read-committed", &["read-uncommitted"]),
    (
        "repeatable-read",
        &["cursor-stability", "monotonic-atomic-view"],
    ),
    (
        "serializable",
        &[
            "repeatable-read",
            "snapshot-isolation",
            "update-serializable",
        ],
    ),
    (
        "snapshot-isolation",
        &[
            "forward-consistent-view",
            "monotonic-atomic-view",
            "monotonic-snapshot-read",
            "parallel-snapshot-isolation",
            "prefix",
        ],
    ),
    (
        "strict-serializable",
        &[
            "serializable",
            "snapshot-isolation",
            "strong-session-serializable",
            "strong-snapshot-isolation",
        ],
    ),
    (
        "strong-read-committed",
        &["strong-read-uncommitted", "strong-session-read-committed"],
    ),
    (
        "strong-read-uncommitted",
        &["strong-session-read-uncommitted"],
    ),
    (
        "strong-session-read-committed",
        &["read-committed", "strong-session-read-uncommitted"],
    ),
    ("strong-session-read-uncommitted", &["read-uncommitted"]),
    (
        "strong-session-serializable",
        &["serializable", "strong-session-snapshot-isolation"],
    ),
    (
        "strong-session-snapshot-isolation",
        &["snapshot-isolation", "strong-session-read-committed"],
    ),
    (
        "strong-snapshot-isolation",
        &["strong-read-committed", "strong-session-snapshot-isolation"],
    ),
    ("update-serializable", &["forward-consistent-view"]),
];

/// `(model, anomalies it rules out directly)`, after Elle's `direct-proscribed-anomalies`.
pub const DIRECTLY_PROHIBITS: &[(&str, &[&str])] = &[
    ("causal-cerone", &["internal", "G1a"]),
    ("consistent-view", &["G1", "G-single"]),
    ("cursor-stability", &["G1", "G-cursor", "lost-update"]),
    ("forward-consistent-view", &["G1", "G-SIb"]),
    ("monotonic-snapshot-read", &["G1", "G-MSR"]),
    ("monotonic-view", &["G1", "G-monotonic"]),
    ("parallel-snapshot-isolation", &["internal", "G1a"]),
    ("prefix", &["internal", "G1a"]),
    ("read-atomic", &["internal", "G1a", "future-read"]),
    ("read-committed", &["G1"]),
    (
        "read-uncommitted",
        &["G0", "duplicate-elements", "cyclic-versions"],
    ),
    ("repeatable-read", &["G1", "G2-item", "lost-update"]),
    ("serializable", &["G1", "G2", "internal"]),
    (
        "snapshot-isolation",
        &["internal", "G1", "G-SI", "G-nonadjacent"],
    ),
    (
        "strict-serializable",
        &["G1", "G1c-realtime", "G2-realtime"],
    ),
    ("strong-read-committed", &["G1c-realtime"]),
    ("strong-read-uncommitted", &["G0-realtime"]),
    ("strong-session-read-committed", &["G1c-process"]),
    ("strong-session-read-uncommitted", &["G0-process"]),
    ("strong-session-serializable", &["G1-process", "G2-process"]),
    (
        "strong-session-snapshot-isolation",
        &["internal", "G1-process", "G-nonadjacent-process"],
    ),
    (
        "strong-snapshot-isolation",
        &["internal", "G1-realtime", "G-nonadjacent-realtime"],
    ),
    ("update-serializable", &["G1", "G-update"]),
];

/// `(anomaly, anomalies it implies)`, after Elle's `implied-anomalies`, with the item-level
/// change described in the module docs.
pub const ANOMALY_IMPLIES: &[(&str, &[&str])] = &[
    ("G0", &["G1c", "G0-process"]),
    ("G0-process", &["G1c-process", "G0-realtime"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1a", &["G1"]),
    ("G1b", &["G1"]),
    ("G1c", &["G1", "G1c-process"]),
    ("G1c-process", &["G1c-realtime", "G1-process"]),
    ("G1c-realtime", &["G1-realtime"]),
    ("G1", &["G1-process"]),
    ("G1-process", &["G1-realtime"]),
    (
        "G-single",
        &["G-nonadjacent", "G-SIb", "G-single-process", "G2-item"],
    ),
    (
        "G-single-process",
        &[
            "G-nonadjacent-process",
            "G-single-realtime",
            "G2-item-process",
        ],
    ),
    (
        "G-single-realtime",
        &["G-nonadjacent-realtime", "G2-item-realtime"],
    ),
    ("G-nonadjacent", &["G2", "G-nonadjacent-process", "G2-item"]),
    (
        "G-nonadjacent-process",
        &["G2-process", "G-nonadjacent-realtime", "G2-item-process"],
    ),
    (
        "G-nonadjacent-realtime",
        &["G2-realtime", "G2-item-realtime"],
    ),
    ("G2", &["G2-process"]),
    ("G2-item", &["G2", "G2-item-process"]),
    ("G2-item-process", &["G2-process", "G2-item-realtime"]),
    ("G2-item-realtime", &["G2-realtime"]),
    ("G2-process", &["G2-realtime"]),
    ("G-SIa", &["G-SI"]),
    ("G-SIb", &["G-SI"]),
    ("incompatible-order", &["G1a"]),
    ("future-read", &["G1c"]),
    ("dirty-update", &["G1a"]),
    // A value nobody wrote can only have come from a write the history does not show as
    // committed: we count it as a dirty read, the weakest claim that explains it.
    ("garbage-read", &["G1a"]),
    ("lost-update", &["write-skew", "G2-item"]),
    ("write-skew", &["G2"]),
];

fn out<'a>(graph: &'a [(&'a str, &'a [&'a str])], node: &str) -> &'a [&'a str] {
    graph
        .iter()
        .find(|(n, _)| *n == node)
        .map_or(&[], |(_, targets)| *targets)
}

fn into<'a>(graph: &'a [(&'a str, &'a [&'a str])], node: &str) -> Vec<&'a str> {
    graph
        .iter()
        .filter(|(_, targets)| targets.contains(&node))
        .map(|(n, _)| *n)
        .collect()
}

/// Everything reachable from `start` (itself included) following `next`.
fn closure<'a>(
    start: impl IntoIterator<Item = &'a str>,
    next: impl Fn(&str) -> Vec<&'a str>,
) -> BTreeSet<&'a str> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<&str> = start.into_iter().collect();
    while let Some(n) = queue.pop_front() {
        if seen.insert(n) {
            queue.extend(next(n));
        }
    }
    seen
}

/// The anomalies implied by `anomalies`, themselves included.
pub fn implied_by<'a>(anomalies: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
    closure(anomalies, |a| out(ANOMALY_IMPLIES, a).to_vec())
}

/// The anomalies that cannot be present if all of `models` hold: the models' own prohibitions
/// and those of every model they imply, and every anomaly implying one of those.
pub fn anomalies_prohibited_by(models: &[ConsistencyModel]) -> BTreeSet<&'static str> {
    let implied = closure(models.iter().map(|m| m.name()), |m| {
        out(MODEL_IMPLIES, m).to_vec()
    });
    let direct: Vec<&str> = implied
        .iter()
        .flat_map(|m| out(DIRECTLY_PROHIBITS, m).iter().copied())
        .collect();
    closure(direct, |a| into(ANOMALY_IMPLIES, a))
}

/// The models that cannot hold given `anomalies`: those that prohibit one of the anomalies or
/// an anomaly they imply, and every model implying one of those.
pub fn impossible_models(anomalies: &BTreeSet<&str>) -> BTreeSet<&'static str> {
    let implied_anomalies: BTreeSet<&str> = closure(anomalies.iter().copied(), |a| {
        out(ANOMALY_IMPLIES, a).to_vec()
    });
    let direct: Vec<&'static str> = DIRECTLY_PROHIBITS
        .iter()
        .filter(|(_, prohibited)| prohibited.iter().any(|a| implied_anomalies.contains(a)))
        .map(|(m, _)| *m)
        .collect();
    closure(direct, |m| into(MODEL_IMPLIES, m))
}

/// Splits the impossible models as Elle's `boundary` does: `not` holds the weakest ones (those
/// implying no other impossible model), `also_not` the stronger rest.
pub fn boundary(anomalies: &BTreeSet<&str>) -> (Vec<String>, Vec<String>) {
    let impossible = impossible_models(anomalies);
    let mut not = Vec::new();
    let mut also_not = Vec::new();
    for &m in &impossible {
        let weaker = closure(out(MODEL_IMPLIES, m).iter().copied(), |x| {
            out(MODEL_IMPLIES, x).to_vec()
        });
        if weaker.iter().any(|w| impossible.contains(w)) {
            also_not.push(m.to_string());
        } else {
            not.push(m.to_string());
        }
    }
    (not, also_not)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'a>(items: &[&'a str]) -> BTreeSet<&'a str> {
        items.iter().copied().collect()
    }

    #[test]
    fn parses_names_and_aliases() {
        assert_eq!(
            ConsistencyModel::parse_list("serializable, :causal,PL-SS").unwrap(),
            vec![
                ConsistencyModel::Serializable,
                ConsistencyModel::CausalCerone,
                ConsistencyModel::StrictSerializable
            ]
        );
        for m in ConsistencyModel::ALL {
            assert_eq!(ConsistencyModel::parse(m.name()), Ok(m));
        }
        let err = ConsistencyModel::parse("linearizable").unwrap_err();
        assert!(err.contains("unknown consistency model"), "{err}");
    }

    #[test]
    fn boundaries_match_elle() {
        let (not, also_not) = boundary(&set(&["G-single"]));
        assert_eq!(not, ["consistent-view", "repeatable-read"]);
        assert!(also_not.contains(&"snapshot-isolation".to_string()));
        assert!(also_not.contains(&"serializable".to_string()));
        assert!(also_not.contains(&"strict-serializable".to_string()));
        let (not, _) = boundary(&set(&["G0"]));
        assert_eq!(not, ["read-uncommitted"]);
        let (not, _) = boundary(&set(&["G2-item"]));
        assert_eq!(not, ["repeatable-read"]);
        let (not, also_not) = boundary(&set(&["G1c-realtime"]));
        assert_eq!(not, ["strong-read-committed"]);
        assert!(also_not.contains(&"strict-serializable".to_string()));
        assert!(!also_not.contains(&"serializable".to_string()));
    }

    #[test]
    fn prohibitions_follow_implications() {
        let si = anomalies_prohibited_by(&[ConsistencyModel::SnapshotIsolation]);
        assert!(si.contains("G-single") && si.contains("G1a") && si.contains("G0"));
        assert!(!si.contains("G2-item"));
        let rr = anomalies_prohibited_by(&[ConsistencyModel::RepeatableRead]);
        assert!(rr.contains("G2-item") && rr.contains("G-single") && rr.contains("lost-update"));
        let ser = anomalies_prohibited_by(&[ConsistencyModel::Serializable]);
        assert!(!ser.contains("G2-item-realtime") && !ser.contains("G0-process"));
        let strict = anomalies_prohibited_by(&[ConsistencyModel::StrictSerializable]);
        assert!(strict.contains("G2-item-realtime") && strict.contains("G0-process"));
        let ru = anomalies_prohibited_by(&[ConsistencyModel::ReadUncommitted]);
        assert!(!ru.contains("G1c") && ru.contains("G0"));
    }
}
