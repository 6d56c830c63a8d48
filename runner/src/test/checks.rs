//! The small checkers of the harness's own workloads: Jepsen's set-full (lost, stale,
//! unexpected and recovered elements), counter bounds, and convergence of the final reads.
//!
//! They follow `jepsen.checker/set-full` and `jepsen.checker/counter`: an element is *known*
//! once its add is acknowledged or a read has returned it; a read that began after that
//! moment and lacks it saw it missing. If the last such read lacks it, it is *lost*; if a
//! later read saw it again, those reads were *stale*.
//!
//! Their `explanation` objects (in `results.json`) are written for a person as well as for a
//! program. Each finding carries an `explanation` sentence, and each list is bounded to
//! `LISTED_MAX` (100) items with the total under `<kind>_count` and a headline under
//! `<kind>_summary`. set-full's lost and stale elements give the element; its `add`
//! (`invoke_index`, `complete_index`, `process`, `node`, `outcome`, `acknowledged_s`); the
//! `faults` in force when it was acknowledged and what they did to its node (`node_faults`,
//! e.g. `n3's clock was -114 s`), from the history's nemesis operations replayed by
//! `schism_report::faults`; and the evidence: the reads (`index`, `node`, `process`,
//! `invoked_s`, `completed_s`) that lack it (`missing_from`: each node's final read for lost
//! elements) and the last read that saw it (`last_seen`). `lost_by_node` and `lost_by_fault`
//! count all lost elements; `final_reads` are each node's last read with its `size`. Times are
//! seconds since the start of the test. counter's `errors` and convergence's `diverged` follow
//! the same pattern.

use std::collections::{BTreeMap, BTreeSet};

use schism_checkers::Validity;
use schism_histories::{Outcome, Pair, PairedHistory, Process, Value};
use schism_report::faults::{fault_segments, faults_during, join_and, segment_at, FaultSegment};
use serde_json::json;

/// A checker's verdict and the explanation written into `results.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub validity: Validity,
    pub explanation: serde_json::Value,
    /// One or a few lines for a person: what was found.
    pub text: String,
}

/// At most this many findings of each kind are listed in full; the counts cover them all.
const LISTED_MAX: usize = 100;
/// At most this many groups are named in a summary sentence.
const GROUPS_NAMED_MAX: usize = 5;

fn time_of(history: &PairedHistory, position: Option<usize>) -> Option<i64> {
    position
        .and_then(|i| history.history().ops.get(i))
        .map(|op| op.time)
}

/// Nanoseconds since the start of the test as seconds, to the millisecond.
fn secs(ns: i64) -> f64 {
    (ns as f64 / 1e6).round() / 1e3
}

fn process_id(p: Process) -> Option<i64> {
    match p {
        Process::Client(p) => Some(p),
        Process::Nemesis => None,
    }
}

/// The node an operation was sent to: its invocation's `node`, else its completion's.
fn node_of<'a>(history: &'a PairedHistory, pair: &Pair) -> Option<&'a str> {
    history
        .invocation(pair)
        .node
        .as_deref()
        .or_else(|| history.completion(pair).and_then(|c| c.node.as_deref()))
}

/// An `ok` read: when it was invoked and completed, where, and what it returned.
struct Read<'a> {
    invoked: i64,
    completed: i64,
    index: u64,
    process: Option<i64>,
    node: Option<&'a str>,
    value: &'a Value,
}

impl Read<'_> {
    fn node_name(&self) -> &str {
        self.node.unwrap_or("an unknown node")
    }

    fn to_json(&self) -> serde_json::Value {
        json!({"index": self.index, "node": self.node, "process": self.process,
               "invoked_s": secs(self.invoked), "completed_s": secs(self.completed)})
    }
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
                process: process_id(history.invocation(p).process),
                node: node_of(history, p),
                value: history.value(p),
            })
        })
        .collect()
}

/// `op 5`, `ops 5 and 7`, `ops 5, 7 and 9`.
fn ops_text(indices: &[u64]) -> String {
    let items: Vec<String> = indices.iter().map(u64::to_string).collect();
    match items.len() {
        1 => format!("op {}", items.join("")),
        _ => format!("ops {}", join_and(&items)),
    }
}

/// An add operation of the set workload.
struct Add<'a> {
    outcome: Outcome,
    /// When the add was acknowledged, for `ok` adds.
    acked: Option<i64>,
    invoke_index: u64,
    complete_index: Option<u64>,
    process: Option<i64>,
    node: Option<&'a str>,
}

impl Add<'_> {
    fn node_name(&self) -> &str {
        self.node.unwrap_or("an unknown node")
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "invoke_index": self.invoke_index,
            "complete_index": self.complete_index,
            "process": self.process,
            "node": self.node,
            "outcome": self.outcome.as_str(),
            "acknowledged_s": self.acked.map(secs),
        })
    }
}

/// Where and under which faults an element became known (its add acknowledged, or first
/// read): the phrase for sentences and the key that groups elements in summaries.
struct Context {
    /// `, while n3's clock was -114 s` (or `, during partition halves`, `, with no fault in
    /// force`), to follow the acknowledgement in a sentence.
    while_text: String,
    /// `added on n3 while its clock was -114 s`.
    group: String,
    faults: Vec<String>,
    /// What the faults did to the node it was added on: `n3's clock was -114 s`.
    node_faults: Option<String>,
}

fn context(segments: &[FaultSegment], add: &Add, at_ns: i64) -> Context {
    let node = add.node_name();
    let segment = segment_at(segments, at_ns);
    let faults = segment.map(|s| s.faults.clone()).unwrap_or_default();
    let its = segment.zip(add.node).and_then(|(s, n)| s.node_text(n));
    let node_faults = segment
        .zip(add.node)
        .and_then(|(s, n)| s.node_text_named(n));
    let (while_text, group) = match (its, &node_faults) {
        (Some(its), Some(named)) => (
            format!(", while {named}"),
            format!("added on {node} while {its}"),
        ),
        _ if !faults.is_empty() => {
            let f = faults.join("; ");
            (
                format!(", during {f}"),
                format!("added on {node} during {f}"),
            )
        }
        _ => (
            ", with no fault in force".to_string(),
            format!("added on {node} with no fault in force"),
        ),
    };
    Context {
        while_text,
        group,
        faults,
        node_faults,
    }
}

/// `367 acknowledged adds were lost: 312 added on n3 while its clock was -114 s; 55 added on
/// n1 with no fault in force.`
fn group_sentence(headline: &str, groups: &BTreeMap<String, usize>) -> String {
    let mut sorted: Vec<(&String, &usize)> = groups.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut parts: Vec<String> = sorted
        .iter()
        .take(GROUPS_NAMED_MAX)
        .map(|(g, n)| format!("{n} {g}"))
        .collect();
    let rest: usize = sorted.iter().skip(GROUPS_NAMED_MAX).map(|(_, n)| **n).sum();
    if rest > 0 {
        parts.push(format!(
            "{rest} in {} other groups",
            sorted.len() - GROUPS_NAMED_MAX
        ));
    }
    format!("{headline}: {}.", parts.join("; "))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Jepsen's set-full over `add` operations of unique elements and `read`s of the whole set.
///
/// Each lost and stale element is explained: its add (op, process, node, when acknowledged),
/// the faults in force then (from the nemesis operations, see `schism_report::faults`), and
/// the evidence (the final read of each node that lacks it, the last read that saw it).
/// Summaries group the elements by the node they were added on and the faults on that node.
pub fn set_full(history: &PairedHistory) -> Checked {
    let segments = fault_segments(&history.history().ops);
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
                    invoke_index: inv.index,
                    complete_index: history.completion(p).map(|c| c.index),
                    process: process_id(inv.process),
                    node: node_of(history, p),
                },
            );
        }
    }
    let reads = ok_reads(history);
    let contents: Vec<BTreeSet<&Value>> = reads
        .iter()
        .map(|r| r.value.as_list().unwrap_or_default().iter().collect())
        .collect();
    // The final read of each node: its last `ok` read by invocation.
    let mut final_reads: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, read) in reads.iter().enumerate() {
        let slot = final_reads.entry(read.node_name()).or_insert(i);
        if reads.get(*slot).is_none_or(|r| read.invoked >= r.invoked) {
            *slot = i;
        }
    }
    // When each element was first seen by a read (its completion), and by which read.
    let mut first_seen: BTreeMap<&Value, (i64, usize)> = BTreeMap::new();
    for (i, (read, set)) in reads.iter().zip(&contents).enumerate() {
        for &e in set {
            let t = first_seen.entry(e).or_insert((read.completed, i));
            if read.completed < t.0 {
                *t = (read.completed, i);
            }
        }
    }
    let mut lost = Vec::new();
    let mut lost_groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut lost_by_node: BTreeMap<String, usize> = BTreeMap::new();
    let mut lost_by_fault: BTreeMap<String, usize> = BTreeMap::new();
    let mut stale = Vec::new();
    let mut stale_groups: BTreeMap<String, usize> = BTreeMap::new();
    let mut never_read = Vec::new();
    let mut stable = 0usize;
    let mut unexpected = Vec::new();
    let mut recovered = Vec::new();
    for (&e, &(t, i)) in &first_seen {
        let Some(read) = reads.get(i) else { continue };
        let first = format!(
            "element {} was read by op {} on {} at {:.2} s",
            e.to_json(),
            read.index,
            read.node_name(),
            secs(t)
        );
        match adds.get(e) {
            None => unexpected.push(json!({
                "element": e.to_json(), "first_read": read.to_json(), "add": null,
                "explanation": format!("{first}, but no operation added it."),
            })),
            Some(add) if add.outcome == Outcome::Fail => unexpected.push(json!({
                "element": e.to_json(), "first_read": read.to_json(), "add": add.to_json(),
                "explanation": format!("{first}, but its add (op {} on {}) failed.",
                                       add.invoke_index, add.node_name()),
            })),
            Some(add) if add.outcome == Outcome::Info => recovered.push(json!({
                "element": e.to_json(), "first_read": read.to_json(), "add": add.to_json(),
                "explanation": format!("{first}: its add (op {}) had an unknown outcome, and took effect.",
                                       add.invoke_index),
            })),
            Some(_) => {}
        }
    }
    for (&e, add) in &adds {
        let seen = first_seen.get(e).map(|&(t, _)| t);
        let known = match (add.acked, seen) {
            (Some(a), Some(s)) => a.min(s),
            (Some(a), None) => a,
            (None, Some(s)) => s,
            (None, None) => continue,
        };
        let mut last_present: Option<(i64, usize)> = None;
        let mut last_absent: Option<(i64, usize)> = None;
        let mut absent_reads = Vec::new();
        for (i, (read, set)) in reads.iter().zip(&contents).enumerate() {
            if read.invoked <= known {
                continue;
            }
            let slot = if set.contains(e) {
                &mut last_present
            } else {
                absent_reads.push(i);
                &mut last_absent
            };
            if slot.is_none_or(|(t, _)| read.invoked > t) {
                *slot = Some((read.invoked, i));
            }
        }
        let ctx = context(&segments, add, add.acked.unwrap_or(known));
        let who = format!(
            "element {} was added on {} by process {} (op {}, {}{})",
            e.to_json(),
            add.node_name(),
            add.process
                .map_or_else(|| "?".to_string(), |p| p.to_string()),
            add.invoke_index,
            match add.acked {
                Some(a) => format!("acknowledged at {:.2} s", secs(a)),
                None => format!("outcome unknown, first read at {:.2} s", secs(known)),
            },
            ctx.while_text
        );
        match (last_present, last_absent) {
            (None, None) => never_read.push(e.to_json()),
            (_, None) => stable += 1,
            (present, Some(absent)) if present.is_none_or(|p| absent.0 > p.0) => {
                // The evidence: each node's final read that began after the element was known.
                let (mut missing, mut holding) = (Vec::new(), Vec::new());
                for &i in final_reads.values() {
                    let (Some(read), Some(set)) = (reads.get(i), contents.get(i)) else {
                        continue;
                    };
                    if read.invoked <= known {
                        continue;
                    }
                    if set.contains(e) {
                        holding.push(read);
                    } else {
                        missing.push(read);
                    }
                }
                if missing.is_empty() {
                    missing.extend(reads.get(absent.1));
                }
                // The last read that saw it, at any time.
                let last_seen = reads
                    .iter()
                    .zip(&contents)
                    .filter(|(_, set)| set.contains(e))
                    .map(|(r, _)| r)
                    .max_by_key(|r| (r.invoked, r.index));
                let nodes: Vec<&str> = missing.iter().map(|r| r.node_name()).collect();
                let indices: Vec<u64> = missing.iter().map(|r| r.index).collect();
                let mut explanation = format!(
                    "{who}, but the final {} on {} ({}) {} not contain it",
                    if missing.len() == 1 { "read" } else { "reads" },
                    join_and(&nodes),
                    ops_text(&indices),
                    if missing.len() == 1 { "does" } else { "do" },
                );
                if !holding.is_empty() {
                    let nodes: Vec<String> = holding
                        .iter()
                        .map(|r| format!("{}'s (op {})", r.node_name(), r.index))
                        .collect();
                    explanation.push_str(&format!("; only {} final read does", join_and(&nodes)));
                }
                match last_seen {
                    Some(r) => explanation.push_str(&format!(
                        "; op {} on {} last saw it at {:.2} s.",
                        r.index,
                        r.node_name(),
                        secs(r.completed)
                    )),
                    None => explanation.push_str("; no read ever saw it."),
                }
                *lost_groups.entry(ctx.group.clone()).or_default() += 1;
                *lost_by_node.entry(add.node_name().to_string()).or_default() += 1;
                *lost_by_fault
                    .entry(if ctx.faults.is_empty() {
                        "no fault".to_string()
                    } else {
                        ctx.faults.join("; ")
                    })
                    .or_default() += 1;
                if lost.len() < LISTED_MAX {
                    lost.push(json!({
                        "element": e.to_json(),
                        "add": add.to_json(),
                        "known_s": secs(known),
                        "faults": ctx.faults,
                        "node_faults": ctx.node_faults,
                        "missing_from": missing.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
                        "present_in": holding.iter().map(|r| r.to_json()).collect::<Vec<_>>(),
                        "last_seen": last_seen.map(Read::to_json),
                        "status": if last_seen.is_some() { "lost after being seen" } else { "never seen" },
                        "explanation": explanation,
                    }));
                } else {
                    // Counted only; `lost_count` below is the total.
                    lost.push(serde_json::Value::Null);
                }
            }
            (present, Some(_)) => {
                *stale_groups.entry(ctx.group.clone()).or_default() += 1;
                let absent: Vec<&Read> =
                    absent_reads.iter().filter_map(|&i| reads.get(i)).collect();
                let later = present.and_then(|(_, i)| reads.get(i));
                if stale.len() < LISTED_MAX {
                    let shown: Vec<String> = absent
                        .iter()
                        .take(5)
                        .map(|r| format!("op {} on {}", r.index, r.node_name()))
                        .collect();
                    let more = absent.len().saturating_sub(shown.len());
                    stale.push(json!({
                        "element": e.to_json(),
                        "add": add.to_json(),
                        "known_s": secs(known),
                        "faults": ctx.faults,
                        "node_faults": ctx.node_faults,
                        "absent_count": absent.len(),
                        "missing_from": absent.iter().take(20).map(|r| r.to_json()).collect::<Vec<_>>(),
                        "last_seen": later.map(Read::to_json),
                        "explanation": format!(
                            "{who}; {}{} did not contain it, but a later read{} did, so those reads were stale.",
                            join_and(&shown),
                            if more > 0 { format!(" and {more} more reads") } else { String::new() },
                            later.map(|r| format!(" (op {} on {})", r.index, r.node_name())).unwrap_or_default()
                        ),
                    }));
                } else {
                    stale.push(serde_json::Value::Null);
                }
            }
        }
    }
    let (lost_count, stale_count) = (lost.len(), stale.len());
    lost.retain(|l| !l.is_null());
    stale.retain(|l| !l.is_null());
    let validity = if lost_count > 0 || !unexpected.is_empty() {
        Validity::Invalid
    } else if reads.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let lost_summary = (lost_count > 0).then(|| {
        group_sentence(
            &format!(
                "{} {} lost",
                plural(lost_count, "acknowledged add", "acknowledged adds"),
                if lost_count == 1 { "was" } else { "were" }
            ),
            &lost_groups,
        )
    });
    let stale_summary = (stale_count > 0).then(|| {
        group_sentence(
            &format!(
                "{} missing from some reads and seen again later",
                plural(stale_count, "element was", "elements were")
            ),
            &stale_groups,
        )
    });
    let unexpected_summary = (!unexpected.is_empty()).then(|| {
        format!(
            "{} read that no successful add wrote.",
            plural(unexpected.len(), "element was", "elements were")
        )
    });
    let mut text = format!(
        "{} adds, {} reads: {} lost, {} stale, {} unexpected, {} recovered, {} never read",
        adds.len(),
        reads.len(),
        lost_count,
        stale_count,
        unexpected.len(),
        recovered.len(),
        never_read.len(),
    );
    for line in [&lost_summary, &unexpected_summary].into_iter().flatten() {
        text.push('\n');
        text.push_str(line);
    }
    if let Some(e) = lost
        .first()
        .or(unexpected.first())
        .and_then(|l| l["explanation"].as_str())
    {
        text.push_str("\ne.g. ");
        text.push_str(e);
    }
    let (unexpected_count, recovered_count, never_read_count) =
        (unexpected.len(), recovered.len(), never_read.len());
    unexpected.truncate(LISTED_MAX);
    recovered.truncate(LISTED_MAX);
    never_read.truncate(LISTED_MAX);
    Checked {
        validity,
        text,
        explanation: json!({
            "attempt_count": adds.len(),
            "ok_adds": adds.values().filter(|a| a.outcome == Outcome::Ok).count(),
            "read_count": reads.len(),
            "stable_count": stable,
            "lost_count": lost_count,
            "lost_summary": lost_summary,
            "lost_by_node": lost_by_node,
            "lost_by_fault": lost_by_fault,
            "lost": lost,
            "stale_count": stale_count,
            "stale_summary": stale_summary,
            "stale": stale,
            "never_read_count": never_read_count,
            "never_read": never_read,
            "unexpected_count": unexpected_count,
            "unexpected_summary": unexpected_summary,
            "unexpected": unexpected,
            "recovered_count": recovered_count,
            "recovered": recovered,
            "final_reads": final_reads
                .values()
                .filter_map(|&i| reads.get(i))
                .map(|r| {
                    let mut j = r.to_json();
                    j["size"] = json!(r.value.as_list().map_or(0, <[Value]>::len));
                    j
                })
                .collect::<Vec<_>>(),
            "listed_max": LISTED_MAX,
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
    let segments = fault_segments(&history.history().ops);
    let mut error_count = 0usize;
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
            error_count += 1;
            if errors.len() >= LISTED_MAX {
                continue;
            }
            let faults = faults_during(&segments, read.invoked, read.completed);
            let node_faults = segment_at(&segments, read.invoked)
                .zip(read.node)
                .and_then(|(s, n)| s.node_text_named(n));
            let during = match (&node_faults, faults.is_empty()) {
                (Some(n), _) => format!(" while {n}"),
                (None, false) => format!(" during {}", faults.join("; ")),
                (None, true) => " with no fault in force".to_string(),
            };
            let why = match read.value.as_int() {
                Some(v) if v < lower => format!(
                    "the increments acknowledged before it began sum to {lower}, so {} were lost",
                    lower - v
                ),
                Some(_) => {
                    format!("at most {upper} could have been added by the time it completed")
                }
                None => "it is not a number".to_string(),
            };
            errors.push(json!({
                "read_index": read.index,
                "node": read.node,
                "process": read.process,
                "invoked_s": secs(read.invoked),
                "value": read.value.to_json(),
                "lower": lower,
                "upper": upper,
                "faults": faults,
                "node_faults": node_faults,
                "explanation": format!(
                    "op {} read {} on {} at {:.2} s{during}, but it must lie in [{lower}, {upper}]: {why}.",
                    read.index,
                    schism_report::value_summary(read.value, 60),
                    read.node_name(),
                    secs(read.invoked),
                ),
            }));
        }
    }
    let validity = if error_count > 0 {
        Validity::Invalid
    } else if reads.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let summary = (error_count > 0).then(|| {
        format!(
            "{} of {} reads returned a count outside the bounds the increments allow.",
            error_count,
            reads.len()
        )
    });
    let text = match (
        &summary,
        errors.first().and_then(|e| e["explanation"].as_str()),
    ) {
        (Some(s), Some(e)) => format!("{s}\ne.g. {e}"),
        _ => format!("{} reads within bounds", reads.len()),
    };
    Checked {
        validity,
        text,
        explanation: json!({
            "read_count": reads.len(),
            "acknowledged_total": acked_sums.last().copied().unwrap_or(0),
            "attempted_total": attempted_sums.last().copied().unwrap_or(0),
            "error_count": error_count,
            "errors_summary": summary,
            "errors": errors,
            "listed_max": LISTED_MAX,
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
    let mut diverged_count = 0usize;
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
            diverged_count += 1;
            if diverged.len() < LISTED_MAX {
                diverged.push(json!({
                    "key": key.to_json(),
                    "values": values,
                    "explanation": diverged_text(key, reads),
                }));
            }
        }
    }
    let validity = if diverged_count > 0 {
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
            "{diverged_count} keys diverged after the heal; e.g. {}",
            d["explanation"].as_str().unwrap_or_default()
        ),
    };
    Checked {
        validity,
        text,
        explanation: json!({
            "nodes_read": reads.keys().collect::<Vec<_>>(),
            "nodes_without_final_read": missing,
            "diverged_count": diverged_count,
            "diverged_summary": (diverged_count > 0).then(|| format!(
                "{diverged_count} keys had different values on different nodes after the faults healed."
            )),
            "diverged": diverged,
            "listed_max": LISTED_MAX,
        }),
    }
}

/// A sentence on one key whose final reads differ: each node's value, shortened, and for
/// set-like values which elements some nodes lack.
fn diverged_text(key: &Value, reads: &BTreeMap<String, BTreeMap<Value, Value>>) -> String {
    let values: Vec<String> = reads
        .iter()
        .map(|(node, per_node)| match per_node.get(key) {
            Some(v) => format!("{node} read {}", schism_report::value_summary(v, 60)),
            None => format!("{node} gave no answer"),
        })
        .collect();
    let mut text = format!(
        "after the heal, key {}: {}",
        schism_report::value_summary(key, 40),
        join_and(&values)
    );
    // For lists, name the elements each node lacks that another node has.
    let sets: BTreeMap<&String, BTreeSet<&Value>> = reads
        .iter()
        .filter_map(|(n, per)| Some((n, per.get(key)?.as_list()?.iter().collect())))
        .collect();
    let union: BTreeSet<&Value> = sets.values().flatten().copied().collect();
    let mut lacks = Vec::new();
    for (node, set) in &sets {
        let missing: Vec<&&Value> = union.difference(set).collect();
        if !missing.is_empty() {
            let shown: Vec<String> = missing
                .iter()
                .take(5)
                .map(|v| v.to_json().to_string())
                .collect();
            let more = if missing.len() > 5 {
                format!(" and {} more", missing.len() - 5)
            } else {
                String::new()
            };
            lacks.push(format!("{node} lacks {}{more}", shown.join(", ")));
        }
    }
    if !lacks.is_empty() {
        text.push_str(&format!(" ({})", lacks.join("; ")));
    }
    text.push('.');
    text
}

#[cfg(test)]
pub(crate) mod tests {
    use schism_histories::{History, Op, OpType, Process};

    use super::*;

    /// Builds a history from `(process, type, f, value)` lines; times follow the order.
    pub(crate) fn history(lines: &[(i64, &str, &str, serde_json::Value)]) -> PairedHistory {
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
            "unexpected_count",
            json!(1),
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
            "recovered_count",
            json!(1),
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

    /// One line of a hand-built history: `(process, type, f, value, node, time_ms)`;
    /// process -1 is the nemesis.
    type Line = (
        i64,
        &'static str,
        &'static str,
        serde_json::Value,
        &'static str,
        i64,
    );

    fn timed_history(lines: &[Line]) -> PairedHistory {
        let ops = lines
            .iter()
            .enumerate()
            .map(|(i, (p, kind, f, v, node, ms))| {
                let process = if *p < 0 {
                    Process::Nemesis
                } else {
                    Process::Client(*p)
                };
                let mut op = Op::new(
                    OpType::parse(kind).unwrap(),
                    process,
                    f,
                    Value::from_json(v),
                );
                op.index = i as u64;
                op.time = ms * 1_000_000;
                op.node = (!node.is_empty()).then(|| (*node).into());
                op
            })
            .collect();
        History::new(ops).pair().unwrap()
    }

    /// A lost add on n1 while its clock was bumped, a lost add on n2 with no fault, a stale
    /// element and an unexpected one: each explained, and grouped by node and fault.
    #[test]
    fn set_full_explains_lost_elements_with_their_node_and_faults() {
        let clock = json!({"offsets_s": {"n1": 95, "n3": -114}});
        let result = set_full(&timed_history(&[
            (0, "invoke", "add", json!(1), "n2", 100),
            (0, "ok", "add", json!(1), "n2", 110),
            (-1, "info", "bump-clock", clock.clone(), "", 200),
            (-1, "info", "bump-clock", clock, "", 210),
            (1, "invoke", "add", json!(2), "n1", 300),
            (1, "ok", "add", json!(2), "n1", 310),
            (0, "invoke", "add", json!(3), "n2", 320),
            (0, "ok", "add", json!(3), "n2", 330),
            (2, "invoke", "read", json!(null), "n3", 400),
            (2, "ok", "read", json!([2, 9]), "n3", 410),
            (-1, "info", "reset-clock", json!(null), "", 500),
            (-1, "info", "reset-clock", json!(null), "", 510),
            (0, "invoke", "read", json!(null), "n2", 600),
            (0, "ok", "read", json!([3, 9]), "n2", 610),
            (1, "invoke", "read", json!(null), "n1", 620),
            (1, "ok", "read", json!([9]), "n1", 630),
            (2, "invoke", "read", json!(null), "n3", 640),
            (2, "ok", "read", json!([3, 9]), "n3", 650),
        ]));
        assert_eq!(result.validity, Validity::Invalid);
        expect_test::expect![[r#"
            {
              "attempt_count": 3,
              "final_reads": [
                {
                  "completed_s": 0.63,
                  "index": 14,
                  "invoked_s": 0.62,
                  "node": "n1",
                  "process": 1,
                  "size": 1
                },
                {
                  "completed_s": 0.61,
                  "index": 12,
                  "invoked_s": 0.6,
                  "node": "n2",
                  "process": 0,
                  "size": 2
                },
                {
                  "completed_s": 0.65,
                  "index": 16,
                  "invoked_s": 0.64,
                  "node": "n3",
                  "process": 2,
                  "size": 2
                }
              ],
              "listed_max": 100,
              "lost": [
                {
                  "add": {
                    "acknowledged_s": 0.11,
                    "complete_index": 1,
                    "invoke_index": 0,
                    "node": "n2",
                    "outcome": "ok",
                    "process": 0
                  },
                  "element": 1,
                  "explanation": "element 1 was added on n2 by process 0 (op 0, acknowledged at 0.11 s, with no fault in force), but the final reads on n1, n2 and n3 (ops 14, 12 and 16) do not contain it; no read ever saw it.",
                  "faults": [],
                  "known_s": 0.11,
                  "last_seen": null,
                  "missing_from": [
                    {
                      "completed_s": 0.63,
                      "index": 14,
                      "invoked_s": 0.62,
                      "node": "n1",
                      "process": 1
                    },
                    {
                      "completed_s": 0.61,
                      "index": 12,
                      "invoked_s": 0.6,
                      "node": "n2",
                      "process": 0
                    },
                    {
                      "completed_s": 0.65,
                      "index": 16,
                      "invoked_s": 0.64,
                      "node": "n3",
                      "process": 2
                    }
                  ],
                  "node_faults": null,
                  "present_in": [],
                  "status": "never seen"
                },
                {
                  "add": {
                    "acknowledged_s": 0.31,
                    "complete_index": 5,
                    "invoke_index": 4,
                    "node": "n1",
                    "outcome": "ok",
                    "process": 1
                  },
                  "element": 2,
                  "explanation": "element 2 was added on n1 by process 1 (op 4, acknowledged at 0.31 s, while n1's clock was +95 s), but the final reads on n1, n2 and n3 (ops 14, 12 and 16) do not contain it; op 8 on n3 last saw it at 0.41 s.",
                  "faults": [
                    "clock: n1 +95 s, n3 -114 s"
                  ],
                  "known_s": 0.31,
                  "last_seen": {
                    "completed_s": 0.41,
                    "index": 8,
                    "invoked_s": 0.4,
                    "node": "n3",
                    "process": 2
                  },
                  "missing_from": [
                    {
                      "completed_s": 0.63,
                      "index": 14,
                      "invoked_s": 0.62,
                      "node": "n1",
                      "process": 1
                    },
                    {
                      "completed_s": 0.61,
                      "index": 12,
                      "invoked_s": 0.6,
                      "node": "n2",
                      "process": 0
                    },
                    {
                      "completed_s": 0.65,
                      "index": 16,
                      "invoked_s": 0.64,
                      "node": "n3",
                      "process": 2
                    }
                  ],
                  "node_faults": "n1's clock was +95 s",
                  "present_in": [],
                  "status": "lost after being seen"
                }
              ],
              "lost_by_fault": {
                "clock: n1 +95 s, n3 -114 s": 1,
                "no fault": 1
              },
              "lost_by_node": {
                "n1": 1,
                "n2": 1
              },
              "lost_count": 2,
              "lost_summary": "2 acknowledged adds were lost: 1 added on n1 while its clock was +95 s; 1 added on n2 with no fault in force.",
              "never_read": [],
              "never_read_count": 0,
              "ok_adds": 3,
              "read_count": 4,
              "reason": null,
              "recovered": [],
              "recovered_count": 0,
              "stable_count": 0,
              "stale": [
                {
                  "absent_count": 2,
                  "add": {
                    "acknowledged_s": 0.33,
                    "complete_index": 7,
                    "invoke_index": 6,
                    "node": "n2",
                    "outcome": "ok",
                    "process": 0
                  },
                  "element": 3,
                  "explanation": "element 3 was added on n2 by process 0 (op 6, acknowledged at 0.33 s, during clock: n1 +95 s, n3 -114 s); op 8 on n3 and op 14 on n1 did not contain it, but a later read (op 16 on n3) did, so those reads were stale.",
                  "faults": [
                    "clock: n1 +95 s, n3 -114 s"
                  ],
                  "known_s": 0.33,
                  "last_seen": {
                    "completed_s": 0.65,
                    "index": 16,
                    "invoked_s": 0.64,
                    "node": "n3",
                    "process": 2
                  },
                  "missing_from": [
                    {
                      "completed_s": 0.41,
                      "index": 8,
                      "invoked_s": 0.4,
                      "node": "n3",
                      "process": 2
                    },
                    {
                      "completed_s": 0.63,
                      "index": 14,
                      "invoked_s": 0.62,
                      "node": "n1",
                      "process": 1
                    }
                  ],
                  "node_faults": null
                }
              ],
              "stale_count": 1,
              "stale_summary": "1 element was missing from some reads and seen again later: 1 added on n2 during clock: n1 +95 s, n3 -114 s.",
              "unexpected": [
                {
                  "add": null,
                  "element": 9,
                  "explanation": "element 9 was read by op 8 on n3 at 0.41 s, but no operation added it.",
                  "first_read": {
                    "completed_s": 0.41,
                    "index": 8,
                    "invoked_s": 0.4,
                    "node": "n3",
                    "process": 2
                  }
                }
              ],
              "unexpected_count": 1,
              "unexpected_summary": "1 element was read that no successful add wrote."
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&result.explanation).unwrap());
        expect_test::expect![[r#"
            3 adds, 4 reads: 2 lost, 1 stale, 1 unexpected, 0 recovered, 0 never read
            2 acknowledged adds were lost: 1 added on n1 while its clock was +95 s; 1 added on n2 with no fault in force.
            1 element was read that no successful add wrote.
            e.g. element 1 was added on n2 by process 0 (op 0, acknowledged at 0.11 s, with no fault in force), but the final reads on n1, n2 and n3 (ops 14, 12 and 16) do not contain it; no read ever saw it."#]]
        .assert_eq(&result.text);
    }

    #[test]
    fn set_full_lists_at_most_a_bounded_number_of_elements() {
        let mut lines: Vec<Line> = Vec::new();
        let elements: Vec<i64> = (0..250).collect();
        for e in &elements {
            lines.push((0, "invoke", "add", json!(e), "n1", e * 2));
            lines.push((0, "ok", "add", json!(e), "n1", e * 2 + 1));
        }
        lines.push((1, "invoke", "read", json!(null), "n2", 1000));
        lines.push((1, "ok", "read", json!([]), "n2", 1001));
        let result = set_full(&timed_history(&lines));
        assert_eq!(result.explanation["lost_count"], json!(250));
        assert_eq!(
            result.explanation["lost"].as_array().map(Vec::len),
            Some(LISTED_MAX)
        );
        assert_eq!(result.explanation["lost"][0]["element"], json!(0));
        assert_eq!(result.explanation["lost_by_node"], json!({"n1": 250}));
    }

    #[test]
    fn counter_errors_name_the_node_and_its_faults() {
        let clock = json!({"offsets_s": {"n2": -30}});
        let result = counter(&timed_history(&[
            (-1, "info", "bump-clock", clock.clone(), "", 10),
            (-1, "info", "bump-clock", clock, "", 20),
            (0, "invoke", "add", json!(2), "n1", 100),
            (0, "ok", "add", json!(2), "n1", 110),
            (1, "invoke", "read", json!(null), "n2", 200),
            (1, "ok", "read", json!(0), "n2", 210),
        ]));
        assert_eq!(result.validity, Validity::Invalid);
        expect_test::expect![[r#"
            op 4 read 0 on n2 at 0.20 s while n2's clock was -30 s, but it must lie in [2, 2]: the increments acknowledged before it began sum to 2, so 2 were lost."#]]
        .assert_eq(result.explanation["errors"][0]["explanation"].as_str().unwrap());
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
        assert_eq!(
            result.explanation["diverged"][0]["explanation"],
            json!("after the heal, key 0: n1 read 1 and n2 read 3.")
        );
        let sets = BTreeMap::from([
            (
                "n1".to_string(),
                BTreeMap::from([(Value::Int(0), Value::from_json(&json!([1, 2, 3])))]),
            ),
            (
                "n2".to_string(),
                BTreeMap::from([(Value::Int(0), Value::from_json(&json!([1])))]),
            ),
        ]);
        assert_eq!(
            convergence(&sets, &nodes).explanation["diverged"][0]["explanation"],
            json!("after the heal, key 0: n1 read [1,2,3] and n2 read [1] (n2 lacks 2, 3).")
        );
        assert_eq!(result.explanation["diverged"][0]["values"]["n2"], json!(3));
        let missing = BTreeMap::from([("n1".to_string(), read(&[(0, 1)]))]);
        assert_eq!(convergence(&missing, &nodes).validity, Validity::Unknown);
    }
}
