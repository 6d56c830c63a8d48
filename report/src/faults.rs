//! Which faults were in force when: the nemesis operations of a history replayed into a
//! sequence of fault *segments*, each with a sentence per fault (`clock: n1 +95 s, n3 -114 s`,
//! `partition majorities-ring`) and, per node, what the faults did to that node (`its clock
//! was -114 s`, `it was cut off from n1, n2`).
//!
//! Both the harness's checkers (to say under which faults a lost write was acknowledged) and
//! the report (to say under which faults a non-linearizable read was served) use it, so that
//! both say the same thing in the same words.
//!
//! The nemesis records each fault as two `info` operations with the same `f` (Jepsen's
//! convention): the invocation, before the fault is applied, and the completion, after. A
//! fault is counted from its invocation and a heal from its completion, so a segment names
//! every fault that *may* have been in force during it. The operation names are the schism
//! nemesis's (`start-partition`, `bump-clock`, `kill`, ...; see `nemesis/src/fault.rs`) and
//! Jepsen's; any other nemesis operation is named by its `f` until an operation of the same
//! family with a stop-like name (`stop-…`, `…-stop`, `heal`, `reset`) ends it.

use std::collections::{BTreeMap, BTreeSet};

use schism_histories::{Op, Process, Value};

/// A stretch of the history during which the same faults were in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSegment {
    /// When the segment began (ns since the start of the test), and the history index of the
    /// nemesis operation that began it (`None` for the first, fault-free segment).
    pub start_ns: i64,
    pub start_index: Option<u64>,
    /// When the next segment began; `None` for the last.
    pub end_ns: Option<i64>,
    /// One sentence fragment per fault in force, sorted: `clock: n1 +95 s, n3 -114 s`.
    pub faults: Vec<String>,
    /// Per node, what the faults did to it, sorted: `its clock was -114 s`.
    pub node_effects: BTreeMap<String, Vec<String>>,
}

impl FaultSegment {
    /// The faults as one phrase: `clock: n1 +95 s; partition majorities-ring`, or `no fault`.
    pub fn faults_text(&self) -> String {
        if self.faults.is_empty() {
            "no fault".to_string()
        } else {
            self.faults.join("; ")
        }
    }

    /// What the faults did to `node`, as one phrase (`its clock was -114 s and it was cut off
    /// from n1`), or `None` when nothing touched it.
    pub fn node_text(&self, node: &str) -> Option<String> {
        let effects = self.node_effects.get(node)?;
        (!effects.is_empty()).then(|| join_and(effects))
    }

    /// As [`Self::node_text`], with the node named: `n3's clock was -114 s and n3 was cut off
    /// from n1`.
    pub fn node_text_named(&self, node: &str) -> Option<String> {
        let effects = self.node_effects.get(node)?;
        let named: Vec<String> = effects
            .iter()
            .map(|e| {
                if let Some(rest) = e.strip_prefix("its ") {
                    format!("{node}'s {rest}")
                } else if let Some(rest) = e.strip_prefix("it ") {
                    format!("{node} {rest}")
                } else {
                    e.clone()
                }
            })
            .collect();
        (!named.is_empty()).then(|| join_and(&named))
    }
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// The faults in force, as the replay of the nemesis operations builds it.
#[derive(Clone, Debug, Default, PartialEq)]
struct State {
    /// The partition's shape and its grudge (node → nodes whose traffic it drops).
    partition: Option<(String, BTreeMap<String, BTreeSet<String>>)>,
    loss: Option<String>,
    killed: BTreeSet<String>,
    paused: BTreeSet<String>,
    clock_offsets_s: BTreeMap<String, i64>,
    /// A clock strobe: node and its swing in seconds.
    strobe: Option<(String, i64)>,
    /// Faults this module does not know, by family, with their value's text.
    other: BTreeMap<String, String>,
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Keyword(s) | Value::Symbol(s) => Some(s.to_string()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| str_of(k).as_deref() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn node_list(v: &Value) -> Vec<String> {
    let items: Vec<&Value> = match get(v, "nodes").unwrap_or(v) {
        Value::List(items) => items.iter().collect(),
        Value::Set(items) => items.iter().collect(),
        other => vec![other],
    };
    items.into_iter().filter_map(str_of).collect()
}

fn signed_s(offset_s: i64) -> String {
    if offset_s >= 0 {
        format!("+{offset_s} s")
    } else {
        format!("-{} s", offset_s.unsigned_abs())
    }
}

impl State {
    /// Applies a nemesis operation. Starts are applied at their invocation and heals at their
    /// completion (`is_completion`), so that the state over-approximates what was in force.
    fn apply(&mut self, f: &str, value: &Value, is_completion: bool) -> bool {
        let before = self.clone();
        let (starts, heals) = (!is_completion, is_completion);
        match f {
            "start-partition" | "partition" if starts => {
                let shape = get(value, "shape")
                    .and_then(str_of)
                    .unwrap_or_else(|| "partition".into());
                let mut grudge: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
                if let Some(Value::Map(g)) = get(value, "grudge") {
                    for (node, drops) in g {
                        if let Some(node) = str_of(node) {
                            grudge.entry(node).or_default().extend(node_list(drops));
                        }
                    }
                }
                self.partition = Some((shape, grudge));
            }
            "stop-partition" | "heal" | "heal-partition" if heals => self.partition = None,
            "start-loss" if starts => {
                self.loss = Some(match get(value, "probability") {
                    Some(Value::Float(p)) => format!("{:.0}%", p * 100.0),
                    _ => "on".into(),
                });
            }
            "stop-loss" if heals => self.loss = None,
            "kill" | "crash" if starts => self.killed.extend(node_list(value)),
            "start" | "restart" | "recover" if heals => {
                for n in node_list(value) {
                    self.killed.remove(&n);
                }
            }
            "pause" if starts => self.paused.extend(node_list(value)),
            "resume" if heals => {
                for n in node_list(value) {
                    self.paused.remove(&n);
                }
            }
            "bump-clock" | "bump" if starts => {
                if let Some(Value::Map(offsets)) = get(value, "offsets_s") {
                    for (node, offset) in offsets {
                        if let (Some(node), Some(o)) = (str_of(node), offset.as_int()) {
                            self.clock_offsets_s.insert(node, o);
                        }
                    }
                }
            }
            "strobe-clock" | "strobe" if starts => {
                let node = get(value, "node").and_then(str_of).unwrap_or_default();
                let delta = get(value, "delta_s").and_then(Value::as_int).unwrap_or(0);
                self.strobe = Some((node, delta));
            }
            "reset-clock" | "reset" if heals => {
                self.clock_offsets_s.clear();
                self.strobe = None;
            }
            "start-partition" | "partition" | "stop-partition" | "heal" | "heal-partition"
            | "start-loss" | "stop-loss" | "kill" | "crash" | "start" | "restart" | "recover"
            | "pause" | "resume" | "bump-clock" | "bump" | "strobe-clock" | "strobe"
            | "reset-clock" | "reset" => {}
            other => {
                let stop = ["stop-", "end-"].iter().find_map(|p| other.strip_prefix(p));
                let stop = stop.or_else(|| other.strip_suffix("-stop"));
                match stop {
                    Some(family) if heals => {
                        self.other.remove(family);
                    }
                    Some(_) => {}
                    None if starts => {
                        let family = other
                            .strip_prefix("start-")
                            .or_else(|| other.strip_suffix("-start"))
                            .unwrap_or(other);
                        let text = if value.is_nil() {
                            String::new()
                        } else {
                            crate::data::value_text(value, 60)
                        };
                        self.other.insert(family.to_string(), text);
                    }
                    None => {}
                }
            }
        }
        *self != before
    }

    fn faults(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((shape, grudge)) = &self.partition {
            // The links cut, each once: `n1-n3`.
            let mut pairs: BTreeSet<(&String, &String)> = BTreeSet::new();
            for (node, drops) in grudge {
                for d in drops {
                    pairs.insert(if node <= d { (node, d) } else { (d, node) });
                }
            }
            let mut cut: Vec<String> = pairs
                .iter()
                .take(6)
                .map(|(a, b)| format!("{a}-{b}"))
                .collect();
            if pairs.len() > 6 {
                cut.push(format!("{} more", pairs.len() - 6));
            }
            out.push(if cut.is_empty() {
                format!("partition {shape}")
            } else {
                format!("partition {shape} (cut {})", cut.join(", "))
            });
        }
        if let Some(loss) = &self.loss {
            out.push(format!("packet loss {loss}"));
        }
        if !self.killed.is_empty() {
            out.push(format!(
                "killed: {}",
                join_and(&self.killed.iter().collect::<Vec<_>>())
            ));
        }
        if !self.paused.is_empty() {
            out.push(format!(
                "paused: {}",
                join_and(&self.paused.iter().collect::<Vec<_>>())
            ));
        }
        if !self.clock_offsets_s.is_empty() {
            let offsets: Vec<String> = self
                .clock_offsets_s
                .iter()
                .map(|(n, o)| format!("{n} {}", signed_s(*o)))
                .collect();
            out.push(format!("clock: {}", offsets.join(", ")));
        }
        if let Some((node, delta)) = &self.strobe {
            out.push(format!("clock strobe: {node} ±{} s", delta.unsigned_abs()));
        }
        for (family, text) in &self.other {
            out.push(if text.is_empty() {
                family.clone()
            } else {
                format!("{family} {text}")
            });
        }
        out.sort();
        out
    }

    fn node_effects(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (node, o) in &self.clock_offsets_s {
            out.entry(node.clone())
                .or_default()
                .push(format!("its clock was {}", signed_s(*o)));
        }
        if let Some((node, delta)) = &self.strobe {
            out.entry(node.clone())
                .or_default()
                .push(format!("its clock strobed ±{} s", delta.unsigned_abs()));
        }
        if let Some((_, grudge)) = &self.partition {
            // A node is cut off from the nodes it drops and from those that drop it.
            let mut cut: BTreeMap<&String, BTreeSet<&String>> = BTreeMap::new();
            for (node, drops) in grudge {
                for d in drops {
                    cut.entry(node).or_default().insert(d);
                    cut.entry(d).or_default().insert(node);
                }
            }
            for (node, from) in cut {
                let from: Vec<&String> = from.into_iter().collect();
                out.entry(node.clone())
                    .or_default()
                    .push(format!("it was cut off from {}", join_and(&from)));
            }
        }
        for n in &self.killed {
            out.entry(n.clone())
                .or_default()
                .push("it was killed".into());
        }
        for n in &self.paused {
            out.entry(n.clone())
                .or_default()
                .push("it was paused".into());
        }
        for effects in out.values_mut() {
            effects.sort();
        }
        out
    }
}

/// What one nemesis operation that starts a fault does, as a phrase (`clock: n1 +95 s`,
/// `partition halves (cut n1-n2, n1-n3)`); `None` for heals and unknown operations.
pub fn describe(f: &str, value: &Value) -> Option<String> {
    let mut state = State::default();
    state.apply(f, value, false);
    let faults = state.faults();
    (!faults.is_empty()).then(|| faults.join("; "))
}

/// Replays the nemesis operations among `ops` (in history order) into fault segments. The
/// first segment starts at time 0 with no fault; there is always at least one segment.
pub fn fault_segments<'a>(ops: impl IntoIterator<Item = &'a Op>) -> Vec<FaultSegment> {
    let mut segments = vec![FaultSegment {
        start_ns: 0,
        start_index: None,
        end_ns: None,
        faults: Vec::new(),
        node_effects: BTreeMap::new(),
    }];
    let mut state = State::default();
    // The nemesis invocation awaiting its completion (same `f`).
    let mut pending: Option<String> = None;
    for op in ops {
        if op.process != Process::Nemesis {
            continue;
        }
        let is_completion = match &pending {
            Some(f) if f == op.f.as_str() => {
                pending = None;
                true
            }
            _ => {
                // A Jepsen-style history marks completions by type; the schism nemesis
                // records both halves as `info`, so an unmatched operation is an invocation.
                let completion =
                    op.kind.is_completion() && op.kind != schism_histories::OpType::Info;
                if !completion {
                    pending = Some(op.f.to_string());
                }
                completion
            }
        };
        if state.apply(&op.f, &op.value, is_completion) {
            if let Some(last) = segments.last_mut() {
                last.end_ns = Some(op.time);
            }
            segments.push(FaultSegment {
                start_ns: op.time,
                start_index: Some(op.index),
                end_ns: None,
                faults: state.faults(),
                node_effects: state.node_effects(),
            });
        }
    }
    segments
}

/// The segment in force at `time_ns`: the last one that began at or before it.
pub fn segment_at(segments: &[FaultSegment], time_ns: i64) -> Option<&FaultSegment> {
    let after = segments.partition_point(|s| s.start_ns <= time_ns);
    segments.get(after.saturating_sub(1))
}

/// The distinct fault phrases of the segments overlapping `[from_ns, to_ns]`.
pub fn faults_during(segments: &[FaultSegment], from_ns: i64, to_ns: i64) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for s in segments {
        let ends_before = s.end_ns.is_some_and(|e| e < from_ns);
        if !ends_before && s.start_ns <= to_ns {
            out.extend(s.faults.iter().cloned());
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use schism_histories::OpType;
    use serde_json::json;

    fn nemesis(f: &str, value: serde_json::Value, time: i64, index: u64) -> Op {
        let mut op = Op::new(OpType::Info, Process::Nemesis, f, Value::from_json(&value));
        op.time = time;
        op.index = index;
        op
    }

    #[test]
    fn replays_clock_and_partition_faults() {
        let clock = json!({"offsets_s": {"n1": 95, "n3": -114}});
        let part = json!({"shape": "majorities-ring", "grudge": {"n1": ["n2"], "n2": ["n1"]}});
        let ops = vec![
            nemesis("bump-clock", clock.clone(), 10, 0),
            nemesis("bump-clock", clock, 11, 1),
            nemesis("start-partition", part.clone(), 20, 2),
            nemesis("start-partition", part, 21, 3),
            nemesis("reset-clock", json!(null), 30, 4),
            nemesis("reset-clock", json!(null), 31, 5),
        ];
        let segments = fault_segments(&ops);
        let got: Vec<(i64, String)> = segments
            .iter()
            .map(|s| (s.start_ns, s.faults_text()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "no fault".to_string()),
                (10, "clock: n1 +95 s, n3 -114 s".to_string()),
                (
                    20,
                    "clock: n1 +95 s, n3 -114 s; partition majorities-ring (cut n1-n2)".to_string()
                ),
                (31, "partition majorities-ring (cut n1-n2)".to_string()),
            ]
        );
        let s = segment_at(&segments, 25).unwrap();
        assert_eq!(
            s.node_text("n1").as_deref(),
            Some("it was cut off from n2 and its clock was +95 s")
        );
        assert_eq!(s.node_text("n3").as_deref(), Some("its clock was -114 s"));
        assert_eq!(segment_at(&segments, 5).unwrap().faults_text(), "no fault");
        assert_eq!(faults_during(&segments, 12, 35).len(), 2);
        assert!(faults_during(&segments, 1, 5).is_empty());
    }
}
