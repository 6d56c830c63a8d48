//! The small checkers of the harness's own workloads: Jepsen's set-full (lost, stale,
//! unexpected and recovered elements), counter bounds, and convergence of the final reads.
//!
//! They follow `jepsen.checker/set-full` and `jepsen.checker/counter`: an element is *known*
//! once its add is acknowledged or a read has returned it; a read that began after that
//! moment and lacks it saw it missing. If the last such read lacks it, it is *lost*; if a
//! later read saw it again, those reads were *stale*.

use std::collections::{BTreeMap, BTreeSet};

use schism_checkers::Validity;
use schism_histories::{Outcome, PairedHistory, Value};
use serde_json::json;

/// A checker's verdict and the explanation written into `results.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub validity: Validity,
    pub explanation: serde_json::Value,
    /// One or a few lines for a person: what was found.
    pub text: String,
}

fn time_of(history: &PairedHistory, position: Option<usize>) -> Option<i64> {
    position
        .and_then(|i| history.history().ops.get(i))
        .map(|op| op.time)
}

/// An `ok` read: when it was invoked and completed, and what it returned.
struct Read<'a> {
    invoked: i64,
    completed: i64,
    index: u64,
    value: &'a Value,
}

fn ok_reads(history: &PairedHistory) -> Vec<Read<'_>> {
    history
        .pairs()
        .iter()
        .filter(|p| p.outcome == Outcome::Ok && history.invocation(p).f == "read")
        .filter_map(|p| {
            Some(Read {
                invoked: history.invocation(p).time,
                completed: time_of(history, p.complete)?,
                index: history.invocation(p).index,
                value: history.value(p),
            })
        })
        .collect()
}

/// Jepsen's set-full over `add` operations of unique elements and `read`s of the whole set.
pub fn set_full(history: &PairedHistory) -> Checked {
    struct Add {
        outcome: Outcome,
        /// When the add was acknowledged, for `ok` adds.
        acked: Option<i64>,
    }
    let mut adds: BTreeMap<&Value, Add> = BTreeMap::new();
    for p in history.pairs() {
        let inv = history.invocation(p);
        if inv.f == "add" {
            adds.insert(
                &inv.value,
                Add {
                    outcome: p.outcome,
                    acked: (p.outcome == Outcome::Ok)
                        .then(|| time_of(history, p.complete))
                        .flatten(),
                },
            );
        }
    }
    let reads = ok_reads(history);
    let contents: Vec<BTreeSet<&Value>> = reads
        .iter()
        .map(|r| r.value.as_list().unwrap_or_default().iter().collect())
        .collect();
    // When each element was first seen by a read (its completion).
    let mut first_seen: BTreeMap<&Value, i64> = BTreeMap::new();
    for (read, set) in reads.iter().zip(&contents) {
        for &e in set {
            let t = first_seen.entry(e).or_insert(read.completed);
            *t = (*t).min(read.completed);
        }
    }
    let mut lost = Vec::new();
    let mut stale = Vec::new();
    let mut never_read = Vec::new();
    let mut stable = 0usize;
    let mut unexpected: BTreeSet<&Value> = BTreeSet::new();
    let mut recovered: BTreeSet<&Value> = BTreeSet::new();
    for &e in first_seen.keys() {
        match adds.get(e) {
            None => {
                unexpected.insert(e);
            }
            Some(add) if add.outcome == Outcome::Fail => {
                unexpected.insert(e);
            }
            Some(add) if add.outcome == Outcome::Info => {
                recovered.insert(e);
            }
            Some(_) => {}
        }
    }
    for (&e, add) in &adds {
        let known = match (add.acked, first_seen.get(e)) {
            (Some(a), Some(&s)) => a.min(s),
            (Some(a), None) => a,
            (None, Some(&s)) => s,
            (None, None) => continue,
        };
        let mut last_present: Option<(i64, u64)> = None;
        let mut last_absent: Option<(i64, u64)> = None;
        let mut absent_reads = Vec::new();
        for (read, set) in reads.iter().zip(&contents) {
            if read.invoked <= known {
                continue;
            }
            let slot = if set.contains(e) {
                &mut last_present
            } else {
                absent_reads.push(read.index);
                &mut last_absent
            };
            if slot.is_none_or(|(t, _)| read.invoked > t) {
                *slot = Some((read.invoked, read.index));
            }
        }
        match (last_present, last_absent) {
            (None, None) => never_read.push(e.to_json()),
            (_, None) => stable += 1,
            (present, Some(absent)) if present.is_none_or(|p| absent.0 > p.0) => {
                lost.push(json!({"element": e.to_json(), "known_ns": known, "last_absent_read_index": absent.1}))
            }
            (_, Some(_)) => stale.push(json!({"element": e.to_json(), "known_ns": known, "absent_in_read_indices": absent_reads})),
        }
    }
    let validity = if !lost.is_empty() || !unexpected.is_empty() {
        Validity::Invalid
    } else if reads.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let text = format!(
        "{} adds, {} reads: {} lost, {} stale, {} unexpected, {} recovered, {} never read{}",
        adds.len(),
        reads.len(),
        lost.len(),
        stale.len(),
        unexpected.len(),
        recovered.len(),
        never_read.len(),
        lost.first()
            .map(|l| format!(
                "; e.g. element {} acknowledged, missing from read index {}",
                l["element"], l["last_absent_read_index"]
            ))
            .unwrap_or_default()
    );
    Checked {
        validity,
        text,
        explanation: json!({
            "attempt_count": adds.len(),
            "ok_adds": adds.values().filter(|a| a.outcome == Outcome::Ok).count(),
            "read_count": reads.len(),
            "stable_count": stable,
            "lost_count": lost.len(),
            "lost": lost,
            "stale_count": stale.len(),
            "stale": stale,
            "never_read_count": never_read.len(),
            "never_read": never_read,
            "unexpected_count": unexpected.len(),
            "unexpected": unexpected.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            "recovered_count": recovered.len(),
            "recovered": recovered.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
            "reason": if reads.is_empty() { Some("no read succeeded") } else { None },
        }),
    }
}

/// Counter bounds: each `ok` read is at least the sum of the `ok` increments completed before
/// it began, and at most the sum of the increments not known to have failed that began before
/// it completed.
pub fn counter(history: &PairedHistory) -> Checked {
    // (completion time, n) of acknowledged adds; (invocation time, n) of possible adds.
    let mut acked: Vec<(i64, i64)> = Vec::new();
    let mut attempted: Vec<(i64, i64)> = Vec::new();
    for p in history.pairs() {
        let inv = history.invocation(p);
        if inv.f != "add" {
            continue;
        }
        let n = inv.value.as_int().unwrap_or(0);
        if p.outcome != Outcome::Fail {
            attempted.push((inv.time, n));
        }
        if p.outcome == Outcome::Ok {
            if let Some(t) = time_of(history, p.complete) {
                acked.push((t, n));
            }
        }
    }
    acked.sort_unstable();
    attempted.sort_unstable();
    let prefix = |v: &[(i64, i64)]| -> Vec<i64> {
        let mut sums = vec![0];
        let mut total = 0i64;
        for &(_, n) in v {
            total = total.saturating_add(n);
            sums.push(total);
        }
        sums
    };
    let (acked_sums, attempted_sums) = (prefix(&acked), prefix(&attempted));
    let reads = ok_reads(history);
    let mut errors = Vec::new();
    for read in &reads {
        let lower = acked_sums
            .get(acked.partition_point(|&(t, _)| t < read.invoked))
            .copied()
            .unwrap_or(0);
        let upper = attempted_sums
            .get(attempted.partition_point(|&(t, _)| t < read.completed))
            .copied()
            .unwrap_or(0);
        let ok = matches!(read.value.as_int(), Some(v) if (lower..=upper).contains(&v));
        if !ok {
            errors.push(json!({
                "read_index": read.index,
                "value": read.value.to_json(),
                "lower": lower,
                "upper": upper,
            }));
        }
    }
    let validity = if !errors.is_empty() {
        Validity::Invalid
    } else if reads.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let text = match errors.first() {
        None => format!("{} reads within bounds", reads.len()),
        Some(e) => format!(
            "{} of {} reads out of bounds; e.g. read index {} saw {}, bounds [{}, {}]",
            errors.len(),
            reads.len(),
            e["read_index"],
            e["value"],
            e["lower"],
            e["upper"]
        ),
    };
    Checked {
        validity,
        text,
        explanation: json!({
            "read_count": reads.len(),
            "acknowledged_total": acked_sums.last().copied().unwrap_or(0),
            "attempted_total": attempted_sums.last().copied().unwrap_or(0),
            "error_count": errors.len(),
            "errors": errors,
        }),
    }
}

/// Convergence: after the faults healed, every node's final read of each key returned the
/// same value. `reads` maps node → key → value; a node with no answer makes it unknown.
pub fn convergence(reads: &BTreeMap<String, BTreeMap<Value, Value>>, nodes: &[String]) -> Checked {
    let missing: Vec<&String> = nodes.iter().filter(|n| !reads.contains_key(*n)).collect();
    let mut keys: BTreeSet<&Value> = BTreeSet::new();
    for per_node in reads.values() {
        keys.extend(per_node.keys());
    }
    let mut diverged = Vec::new();
    for key in keys {
        let values: BTreeMap<&String, serde_json::Value> = reads
            .iter()
            .map(|(node, per_node)| {
                (
                    node,
                    per_node.get(key).map_or(json!("no answer"), Value::to_json),
                )
            })
            .collect();
        let distinct: BTreeSet<String> = values.values().map(|v| v.to_string()).collect();
        if distinct.len() > 1 {
            diverged.push(json!({"key": key.to_json(), "values": values}));
        }
    }
    let validity = if !diverged.is_empty() {
        Validity::Invalid
    } else if !missing.is_empty() || reads.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let text = match diverged.first() {
        None if missing.is_empty() => format!("{} nodes agree after the heal", reads.len()),
        None => format!("no final read from {missing:?}"),
        Some(d) => format!(
            "{} keys diverged after the heal; e.g. key {}: {}",
            diverged.len(),
            d["key"],
            d["values"]
        ),
    };
    Checked {
        validity,
        text,
        explanation: json!({
            "nodes_read": reads.keys().collect::<Vec<_>>(),
            "nodes_without_final_read": missing,
            "diverged_count": diverged.len(),
            "diverged": diverged,
        }),
    }
}

#[cfg(test)]
mod tests {
    use schism_histories::{History, Op, OpType, Process};

    use super::*;

    /// Builds a history from `(process, type, f, value)` lines; times follow the order.
    fn history(lines: &[(i64, &str, &str, serde_json::Value)]) -> PairedHistory {
        let ops = lines
            .iter()
            .map(|(p, kind, f, v)| {
                Op::new(
                    OpType::parse(kind).unwrap(),
                    Process::Client(*p),
                    f,
                    Value::from_json(v),
                )
            })
            .collect();
        History::new(ops).pair().unwrap()
    }

    fn check_set(
        lines: &[(i64, &str, &str, serde_json::Value)],
        validity: Validity,
        field: &str,
        expected: serde_json::Value,
    ) {
        let result = set_full(&history(lines));
        assert_eq!(result.validity, validity, "{}", result.explanation);
        assert_eq!(
            result.explanation[field], expected,
            "{}",
            result.explanation
        );
    }

    #[test]
    fn set_full_finds_lost_stale_unexpected_and_recovered_elements() {
        // Acknowledged, then missing from the last read: lost.
        check_set(
            &[
                (0, "invoke", "add", json!(1)),
                (0, "ok", "add", json!(1)),
                (1, "invoke", "read", json!(null)),
                (1, "ok", "read", json!([])),
            ],
            Validity::Invalid,
            "lost_count",
            json!(1),
        );
        // Missing, then present again: stale, and still valid.
        check_set(
            &[
                (0, "invoke", "add", json!(1)),
                (0, "ok", "add", json!(1)),
                (1, "invoke", "read", json!(null)),
                (1, "ok", "read", json!([])),
                (1, "invoke", "read", json!(null)),
                (1, "ok", "read", json!([1])),
            ],
            Validity::Valid,
            "stale_count",
            json!(1),
        );
        // Read but never added: unexpected.
        check_set(
            &[
                (1, "invoke", "read", json!(null)),
                (1, "ok", "read", json!([7])),
            ],
            Validity::Invalid,
            "unexpected",
            json!([7]),
        );
        // An add of unknown outcome that shows up: recovered.
        check_set(
            &[
                (0, "invoke", "add", json!(2)),
                (0, "info", "add", json!(2)),
                (1, "invoke", "read", json!(null)),
                (1, "ok", "read", json!([2])),
            ],
            Validity::Valid,
            "recovered",
            json!([2]),
        );
        // A read concurrent with the add may miss it.
        check_set(
            &[
                (1, "invoke", "read", json!(null)),
                (0, "invoke", "add", json!(1)),
                (0, "ok", "add", json!(1)),
                (1, "ok", "read", json!([])),
                (1, "invoke", "read", json!(null)),
                (1, "ok", "read", json!([1])),
            ],
            Validity::Valid,
            "stable_count",
            json!(1),
        );
    }

    #[test]
    fn counter_reads_stay_within_bounds() {
        let cases = [
            (
                vec![
                    (0, "invoke", "add", json!(2)),
                    (0, "ok", "add", json!(2)),
                    (1, "invoke", "read", json!(null)),
                    (1, "ok", "read", json!(2)),
                ],
                Validity::Valid,
            ),
            // The acknowledged increment is missing.
            (
                vec![
                    (0, "invoke", "add", json!(2)),
                    (0, "ok", "add", json!(2)),
                    (1, "invoke", "read", json!(null)),
                    (1, "ok", "read", json!(0)),
                ],
                Validity::Invalid,
            ),
            // More than was ever attempted.
            (
                vec![
                    (0, "invoke", "add", json!(2)),
                    (0, "fail", "add", json!(2)),
                    (1, "invoke", "read", json!(null)),
                    (1, "ok", "read", json!(2)),
                ],
                Validity::Invalid,
            ),
            // A concurrent increment of unknown outcome may or may not be seen.
            (
                vec![
                    (1, "invoke", "read", json!(null)),
                    (0, "invoke", "add", json!(3)),
                    (0, "info", "add", json!(3)),
                    (1, "ok", "read", json!(3)),
                ],
                Validity::Valid,
            ),
        ];
        for (lines, expected) in cases {
            let result = counter(&history(&lines));
            assert_eq!(result.validity, expected, "{}", result.explanation);
        }
    }

    #[test]
    fn convergence_compares_final_reads() {
        let nodes = vec!["n1".to_string(), "n2".to_string()];
        let read = |pairs: &[(i64, i64)]| -> BTreeMap<Value, Value> {
            pairs
                .iter()
                .map(|&(k, v)| (Value::Int(k), Value::Int(v)))
                .collect()
        };
        let same = BTreeMap::from([
            ("n1".to_string(), read(&[(0, 1), (1, 2)])),
            ("n2".to_string(), read(&[(0, 1), (1, 2)])),
        ]);
        assert_eq!(convergence(&same, &nodes).validity, Validity::Valid);
        let apart = BTreeMap::from([
            ("n1".to_string(), read(&[(0, 1)])),
            ("n2".to_string(), read(&[(0, 3)])),
        ]);
        let result = convergence(&apart, &nodes);
        assert_eq!(result.validity, Validity::Invalid);
        assert_eq!(result.explanation["diverged"][0]["values"]["n2"], json!(3));
        let missing = BTreeMap::from([("n1".to_string(), read(&[(0, 1)]))]);
        assert_eq!(convergence(&missing, &nodes).validity, Validity::Unknown);
    }
}
