//! The history as the report draws it: client operations (invocation paired with completion,
//! tolerantly, so that a malformed history still renders), fault periods from the nemesis
//! operations, latency quantiles and throughput per time bucket, and their compact JSON
//! encoding for the page's script.
//!
//! The encoding keeps a 100,000-operation history to a few megabytes: each operation is eight
//! integers in one flat array (`[index Δ, process, start Δ, duration, outcome, f, value, completion
//! index − index or -1]`, sorted by start, Δ meaning the difference from the previous
//! operation's), times are integers in a unit chosen so that the span of the history needs at
//! most eight digits, and function names and values go into one deduplicated string table.
//! `lane_of` maps each process to its lane (see [`Timeline::lanes`]).

use std::collections::{BTreeMap, HashMap};

use schism_histories::{History, Op, OpType, Process, Value};
use serde_json::json;

/// How a client operation ended, as the timeline colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok = 0,
    Fail = 1,
    /// Ended `info`, or never completed.
    Info = 2,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        }
    }
}

/// One client operation on the timeline.
#[derive(Clone, Debug)]
pub(crate) struct TimedOp {
    /// The invocation's `index` field, which `#op-<index>` links name.
    pub index: u64,
    /// The completion's `index` field, where there is one.
    pub complete_index: Option<u64>,
    pub process: Process,
    pub start_ns: i64,
    /// The completion's time; `None` when the history ends first.
    pub end_ns: Option<i64>,
    pub outcome: Outcome,
    pub f: String,
    /// The value that best says what the operation did: the completion's for `ok` operations
    /// (reads learn their result there), the invocation's otherwise.
    pub value: Value,
    pub error: Option<Value>,
    pub node: Option<String>,
}

/// A period during which a fault was active (or an instant, for a nemesis operation that
/// starts nothing that later stops).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FaultPeriod {
    /// The fault's family: `partition`, `kill`, `pause`, `clock`, ...
    pub name: String,
    /// What the nemesis said when starting it (the nodes touched, the partition's shape).
    pub detail: String,
    pub start_ns: i64,
    pub end_ns: i64,
    /// True when the history ended before the fault was stopped.
    pub open: bool,
    pub instant: bool,
}

/// Everything the timeline, latency and throughput charts need.
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    pub ops: Vec<TimedOp>,
    pub faults: Vec<FaultPeriod>,
    pub min_ns: i64,
    pub max_ns: i64,
    /// Operation `index` (of its invocation or completion) → position in `ops`.
    pub by_index: HashMap<u64, usize>,
    /// Which faults were in force when, in words (see [`crate::faults`]).
    pub segments: Vec<crate::faults::FaultSegment>,
}

/// Classifies a nemesis `f`: the fault family and whether it starts (`Some(true)`) or stops
/// (`Some(false)`) a period, or `None` when it is a one-off event. Names follow Jepsen's
/// nemeses: `start-partition`/`stop-partition`, `kill`/`start`, `pause`/`resume`,
/// `bump`/`strobe`/`reset` for clocks, `partition`/`heal`.
pub(crate) fn classify_fault(f: &str) -> (String, Option<bool>) {
    if let Some(rest) = f.strip_prefix("start-") {
        return (rest.to_string(), Some(true));
    }
    if let Some(rest) = f.strip_prefix("stop-") {
        return (rest.to_string(), Some(false));
    }
    if let Some(rest) = f.strip_suffix("-start") {
        return (rest.to_string(), Some(true));
    }
    if let Some(rest) = f.strip_suffix("-stop") {
        return (rest.to_string(), Some(false));
    }
    match f {
        "kill" | "crash" => ("kill".into(), Some(true)),
        "start" | "restart" | "recover" => ("kill".into(), Some(false)),
        "pause" | "stop" => ("pause".into(), Some(true)),
        "resume" | "cont" => ("pause".into(), Some(false)),
        "partition" => ("partition".into(), Some(true)),
        "heal" | "heal-partition" => ("partition".into(), Some(false)),
        "bump" | "strobe" | "bump-clock" | "strobe-clock" | "skew" => ("clock".into(), Some(true)),
        "reset" | "reset-clock" | "check-offsets" => ("clock".into(), Some(false)),
        "loss" | "drop" => ("loss".into(), Some(true)),
        "clear-loss" | "restore" => ("loss".into(), Some(false)),
        _ => (f.to_string(), None),
    }
}

/// A value as short text for the page: compact JSON, cut at `max` characters. A long list,
/// set or map keeps its first elements and says how many it has (`[1,2,3,… 500 elements]`),
/// so that a read of a whole set never fills the page.
pub(crate) fn value_text(value: &Value, max: usize) -> String {
    let text = value.to_json().to_string();
    if text.chars().count() <= max {
        return text;
    }
    let (open, close, items, noun): (&str, &str, Vec<String>, &str) = match value {
        Value::List(items) => (
            "[",
            "]",
            items.iter().map(|v| v.to_json().to_string()).collect(),
            "elements",
        ),
        Value::Set(items) => (
            "[",
            "]",
            items.iter().map(|v| v.to_json().to_string()).collect(),
            "elements",
        ),
        Value::Map(m) => (
            "{",
            "}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", k.to_json(), v.to_json()))
                .collect(),
            "entries",
        ),
        _ => return truncate(&text, max),
    };
    let tail = format!("… {} {noun}{close}", items.len());
    let budget = max.saturating_sub(tail.chars().count() + 1);
    let mut out = String::from(open);
    for item in &items {
        if out.chars().count() + item.chars().count() + 1 > budget {
            break;
        }
        out.push_str(item);
        out.push(',');
    }
    out.push_str(&tail);
    out
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

impl Timeline {
    /// Pairs tolerantly: a completion closes its process's open invocation; a completion with
    /// none becomes an operation of zero length; an invocation never closed is `info` and runs
    /// to the end of the history.
    pub(crate) fn new(history: &History) -> Timeline {
        let mut ops: Vec<TimedOp> = Vec::new();
        let mut open: BTreeMap<i64, usize> = BTreeMap::new();
        let mut min_ns = i64::MAX;
        let mut max_ns = i64::MIN;
        let mut nemesis: Vec<&Op> = Vec::new();
        for op in &history.ops {
            min_ns = min_ns.min(op.time);
            max_ns = max_ns.max(op.time);
            let Process::Client(p) = op.process else {
                nemesis.push(op);
                continue;
            };
            match op.kind {
                OpType::Invoke => {
                    let at = ops.len();
                    ops.push(TimedOp {
                        index: op.index,
                        complete_index: None,
                        process: op.process,
                        start_ns: op.time,
                        end_ns: None,
                        outcome: Outcome::Info,
                        f: op.f.to_string(),
                        value: op.value.clone(),
                        error: None,
                        node: op.node.as_ref().map(|n| n.to_string()),
                    });
                    // A second invocation while one is open leaves the first open for ever,
                    // which is what a reader of the timeline should see.
                    open.insert(p, at);
                }
                OpType::Ok | OpType::Fail | OpType::Info => {
                    let outcome = match op.kind {
                        OpType::Ok => Outcome::Ok,
                        OpType::Fail => Outcome::Fail,
                        _ => Outcome::Info,
                    };
                    let at = match open.remove(&p) {
                        Some(at) => at,
                        None => {
                            ops.push(TimedOp {
                                index: op.index,
                                complete_index: None,
                                process: op.process,
                                start_ns: op.time,
                                end_ns: None,
                                outcome,
                                f: op.f.to_string(),
                                value: op.value.clone(),
                                error: None,
                                node: None,
                            });
                            ops.len() - 1
                        }
                    };
                    if let Some(timed) = ops.get_mut(at) {
                        timed.complete_index = Some(op.index);
                        timed.end_ns = Some(op.time.max(timed.start_ns));
                        timed.outcome = outcome;
                        if outcome == Outcome::Ok && !op.value.is_nil() {
                            timed.value = op.value.clone();
                        }
                        timed.error = op.error.clone();
                        if timed.node.is_none() {
                            timed.node = op.node.as_ref().map(|n| n.to_string());
                        }
                    }
                }
            }
        }
        if min_ns > max_ns {
            min_ns = 0;
            max_ns = 0;
        }
        // Times are nanoseconds since the test started: the axis starts at 0 so that its
        // seconds are the ones the checkers quote (`acknowledged at 0.46 s`), unless the
        // history starts so late (times from some other clock) that the operations would
        // be squeezed to one side.
        if min_ns > 0 && min_ns <= max_ns - min_ns {
            min_ns = 0;
        }
        let faults = fault_periods(&nemesis, max_ns);
        let mut by_index = HashMap::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            by_index.insert(op.index, i);
            if let Some(c) = op.complete_index {
                by_index.entry(c).or_insert(i);
            }
        }
        Timeline {
            ops,
            faults,
            min_ns,
            max_ns,
            by_index,
            segments: crate::faults::fault_segments(&history.ops),
        }
    }

    pub(crate) fn op(&self, index: u64) -> Option<&TimedOp> {
        self.by_index.get(&index).and_then(|&i| self.ops.get(i))
    }

    /// The end of an operation for drawing: its completion, or the end of the history.
    pub(crate) fn end_of(&self, op: &TimedOp) -> i64 {
        op.end_ns.unwrap_or(self.max_ns)
    }

    /// The lanes of the timeline: the nemesis first, then client processes. A process that
    /// crashed (its operation ended `info`) never invokes again and the harness gives its client
    /// a fresh process id, so a lane is reused by a later process whose first operation starts
    /// after the lane's previous process's last one ended, as Jepsen's timeline groups processes
    /// by thread. Without this, a long test with crashes would have thousands of lanes, each
    /// holding a few operations. Returns each lane's processes and the lane of each process.
    pub(crate) fn lanes(&self) -> (Vec<Vec<Process>>, BTreeMap<Process, usize>) {
        use std::cmp::Reverse;
        use std::collections::{BTreeSet, BinaryHeap};
        // Each client process's first start and last end.
        let mut spans: BTreeMap<Process, (i64, i64)> = BTreeMap::new();
        for op in &self.ops {
            let end = self.end_of(op);
            let e = spans.entry(op.process).or_insert((op.start_ns, end));
            e.0 = e.0.min(op.start_ns);
            e.1 = e.1.max(end);
        }
        let mut order: Vec<(i64, Process, i64)> =
            spans.iter().map(|(p, (s, e))| (*s, *p, *e)).collect();
        order.sort();
        let mut lanes: Vec<Vec<Process>> = vec![vec![Process::Nemesis]];
        let mut lane_of: BTreeMap<Process, usize> = BTreeMap::new();
        lane_of.insert(Process::Nemesis, 0);
        let mut busy: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
        let mut free: BTreeSet<usize> = BTreeSet::new();
        for (start, p, end) in order {
            while let Some(&Reverse((busy_end, lane))) = busy.peek() {
                if busy_end >= start {
                    break;
                }
                busy.pop();
                free.insert(lane);
            }
            let lane = match free.pop_first() {
                Some(lane) => lane,
                None => {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                }
            };
            if let Some(l) = lanes.get_mut(lane) {
                l.push(p);
            }
            lane_of.insert(p, lane);
            busy.push(Reverse((end, lane)));
        }
        (lanes, lane_of)
    }

    /// A lane's label: its first processes' ids.
    pub(crate) fn lane_label(processes: &[Process]) -> String {
        let mut label: Vec<String> = processes.iter().take(3).map(|p| p.to_string()).collect();
        if processes.len() > 3 {
            label.push(format!("+{}", processes.len() - 3));
        }
        label.join(",")
    }

    /// The compact encoding embedded in the page (see the module docs and `report.js`).
    /// `marked` are the invocation indices of the operations anomalies name, outlined on the
    /// timeline.
    pub(crate) fn to_json(&self, marked: &std::collections::BTreeSet<u64>) -> serde_json::Value {
        let span = (self.max_ns - self.min_ns).max(1);
        let mut unit: i64 = 1;
        while span / unit > 10_000_000 {
            unit = unit.saturating_mul(10);
        }
        let to_units = |ns: i64| (ns - self.min_ns) / unit;
        let (lanes, lane_of) = self.lanes();
        let mut strings = StringTable::default();
        let mut order: Vec<usize> = (0..self.ops.len()).collect();
        order.sort_by_key(|&i| (self.ops[i].start_ns, self.ops[i].index));
        let mut flat: Vec<i64> = Vec::with_capacity(self.ops.len() * 8);
        let (mut prev_index, mut prev_start) = (0i64, 0i64);
        for &i in &order {
            let op = &self.ops[i];
            let start = to_units(op.start_ns);
            let end = to_units(self.end_of(op));
            let mut text = value_text(&op.value, 120);
            if let Some(e) = &op.error {
                text.push_str(" error: ");
                text.push_str(&value_text(e, 80));
            }
            if let Some(n) = &op.node {
                text.push_str(" @");
                text.push_str(&truncate(n, 40));
            }
            // Index and start are deltas from the previous operation's (the script sums
            // them back): both grow slowly, so deltas take one or two digits instead of seven.
            flat.extend_from_slice(&[
                (op.index as i64).wrapping_sub(prev_index),
                match op.process {
                    Process::Client(p) => p,
                    Process::Nemesis => -1,
                },
                start - prev_start,
                end - start,
                op.outcome as i64,
                strings.id(&op.f) as i64,
                strings.id(&text) as i64,
                op.complete_index
                    .map_or(-1, |c| (c as i64).wrapping_sub(op.index as i64)),
            ]);
            prev_index = op.index as i64;
            prev_start = start;
        }
        let faults: Vec<serde_json::Value> = self
            .faults
            .iter()
            .map(|f| {
                json!([
                    to_units(f.start_ns),
                    to_units(f.end_ns),
                    strings.id(&f.name),
                    strings.id(&truncate(&f.detail, 200)),
                    u8::from(f.open) | (u8::from(f.instant) << 1)
                ])
            })
            .collect();
        let stats = self.stats(unit);
        json!({
            "version": 1,
            "unit_ns": unit,
            "t0_ns": self.min_ns,
            "span": to_units(self.max_ns),
            "lanes": lanes.iter().map(|l| Timeline::lane_label(l)).collect::<Vec<_>>(),
            "lane_of": lane_of
                .iter()
                .filter_map(|(p, lane)| match p {
                    Process::Client(p) => Some(json!([p, lane])),
                    Process::Nemesis => None,
                })
                .collect::<Vec<_>>(),
            "strings": strings.strings,
            "ops": flat,
            "faults": faults,
            "stats": stats,
            "marked": marked.iter().collect::<Vec<_>>(),
        })
    }

    /// Latency quantiles of `ok` operations and throughput per outcome, per time bucket
    /// (by invocation time, as Jepsen's perf plots bucket).
    fn stats(&self, unit: i64) -> serde_json::Value {
        const BUCKETS: i64 = 100;
        let span = (self.max_ns - self.min_ns).max(1);
        let width_ns = ((span + BUCKETS - 1) / BUCKETS).max(1);
        let n = ((span / width_ns) + 1) as usize;
        let mut latencies: Vec<Vec<i64>> = vec![Vec::new(); n];
        let mut counts = vec![[0u64; 3]; n];
        for op in &self.ops {
            let b = (((op.start_ns - self.min_ns) / width_ns) as usize).min(n - 1);
            counts[b][op.outcome as usize] += 1;
            if let (Outcome::Ok, Some(end)) = (op.outcome, op.end_ns) {
                latencies[b].push(end - op.start_ns);
            }
        }
        let quantile = |sorted: &[i64], q: f64| -> serde_json::Value {
            if sorted.is_empty() {
                return serde_json::Value::Null;
            }
            let at = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            json!(sorted.get(at).copied().unwrap_or(0))
        };
        let mut p50 = Vec::with_capacity(n);
        let mut p95 = Vec::with_capacity(n);
        let mut p99 = Vec::with_capacity(n);
        for l in &mut latencies {
            l.sort_unstable();
            p50.push(quantile(l, 0.5));
            p95.push(quantile(l, 0.95));
            p99.push(quantile(l, 0.99));
        }
        json!({
            "bucket": width_ns / unit.max(1),
            "bucket_ns": width_ns,
            "p50_ns": p50,
            "p95_ns": p95,
            "p99_ns": p99,
            "ok": counts.iter().map(|c| c[0]).collect::<Vec<_>>(),
            "fail": counts.iter().map(|c| c[1]).collect::<Vec<_>>(),
            "info": counts.iter().map(|c| c[2]).collect::<Vec<_>>(),
        })
    }
}

/// Pairs nemesis operations into fault periods. Jepsen records each nemesis operation as an
/// `invoke` followed by an `info` with the same `f` (whose value says what was done), so the
/// completion of a pending nemesis invocation only refines its detail.
fn fault_periods(nemesis: &[&Op], end_ns: i64) -> Vec<FaultPeriod> {
    let mut periods: Vec<FaultPeriod> = Vec::new();
    // Open periods by family: positions in `periods`, a stack so that nested starts of the
    // same family (two kills) close in order.
    let mut open: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut pending: Option<(String, Option<usize>)> = None;
    for op in nemesis {
        // The schism nemesis records both halves as `info`, so an operation completes the
        // pending one when it has the same `f`, whatever its type; otherwise it is a new one.
        if let Some((f, at)) = pending.take() {
            if f == op.f.as_str() {
                if let Some(p) = at.and_then(|at| periods.get_mut(at)) {
                    if !op.value.is_nil() {
                        p.detail = fault_detail(&op.f, &op.value);
                    }
                }
                continue;
            }
        }
        let (name, starts) = classify_fault(&op.f);
        let detail = fault_detail(&op.f, &op.value);
        let mut touched = None;
        match starts {
            Some(true) => {
                periods.push(FaultPeriod {
                    name: name.clone(),
                    detail,
                    start_ns: op.time,
                    end_ns,
                    open: true,
                    instant: false,
                });
                open.entry(name).or_default().push(periods.len() - 1);
                touched = Some(periods.len() - 1);
            }
            Some(false) => {
                let closed = open.get_mut(&name).and_then(|stack| {
                    if stack.is_empty() {
                        None
                    } else {
                        Some(stack.remove(0))
                    }
                });
                if let Some(at) = closed {
                    if let Some(p) = periods.get_mut(at) {
                        p.end_ns = op.time.max(p.start_ns);
                        p.open = false;
                    }
                }
            }
            None => {
                periods.push(FaultPeriod {
                    name,
                    detail,
                    start_ns: op.time,
                    end_ns: op.time,
                    open: false,
                    instant: true,
                });
                touched = Some(periods.len() - 1);
            }
        }
        pending = Some((op.f.to_string(), touched));
    }
    periods
}

/// A fault's detail in words where the fault is known (`clock: n1 +95 s`), else its value.
fn fault_detail(f: &str, value: &Value) -> String {
    crate::faults::describe(f, value).unwrap_or_else(|| value_text(value, 200))
}

/// Strings deduplicated in first-use order, so the encoding is deterministic.
#[derive(Default)]
struct StringTable {
    strings: Vec<String>,
    ids: HashMap<String, usize>,
}

impl StringTable {
    fn id(&mut self, s: &str) -> usize {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        self.strings.push(s.to_string());
        self.ids.insert(s.to_string(), self.strings.len() - 1);
        self.strings.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schism_histories::Op;

    fn op(kind: OpType, process: Process, f: &str, time: i64) -> Op {
        let mut op = Op::new(kind, process, f, Value::Nil);
        op.time = time;
        op
    }

    #[test]
    fn pairs_nemesis_operations_into_periods() {
        let n = Process::Nemesis;
        let history = History::new(vec![
            op(OpType::Invoke, n, "start-partition", 10),
            op(OpType::Info, n, "start-partition", 11),
            op(OpType::Invoke, n, "kill", 20),
            op(OpType::Invoke, n, "stop-partition", 30),
            op(OpType::Info, n, "stop-partition", 31),
            op(OpType::Invoke, n, "start", 40),
            op(OpType::Invoke, n, "pause", 50),
            op(OpType::Invoke, Process::Client(1), "read", 60),
        ]);
        let timeline = Timeline::new(&history);
        let got: Vec<(String, i64, i64, bool)> = timeline
            .faults
            .iter()
            .map(|f| (f.name.clone(), f.start_ns, f.end_ns, f.open))
            .collect();
        assert_eq!(
            got,
            vec![
                ("partition".to_string(), 10, 30, false),
                ("kill".to_string(), 20, 40, false),
                ("pause".to_string(), 50, 60, true),
            ]
        );
        assert_eq!(timeline.ops.len(), 1);
        assert_eq!(timeline.ops[0].outcome, Outcome::Info);
    }

    #[test]
    fn tolerates_unpaired_completions() {
        let history = History::new(vec![
            op(OpType::Ok, Process::Client(1), "read", 5),
            op(OpType::Invoke, Process::Client(2), "write", 6),
            op(OpType::Fail, Process::Client(2), "write", 9),
        ]);
        let timeline = Timeline::new(&history);
        assert_eq!(timeline.ops.len(), 2);
        assert_eq!(timeline.ops[1].outcome, Outcome::Fail);
        assert_eq!(timeline.op(2).map(|o| o.index), Some(1));
    }
}
