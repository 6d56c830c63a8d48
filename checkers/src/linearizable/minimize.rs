//! Shrinking an invalid history to a 1-minimal invalid sub-history: one from which removing
//! any single client operation (its invocation and completion together) makes it linearizable.
//! A few operations are far easier to check by hand than thousands.
//!
//! Removing the write that a read observed makes that read impossible on its own, so a plain
//! shrinking tends to end at a lone read of a value nobody wrote: true, but it hides the
//! interesting part. So when every value read in the original has an operation that could have
//! written it (or is the initial value), the shrinking keeps that true: the result is then
//! 1-minimal among such histories, and shows the stale read together with the writes involved.
//!
//! The shrinking is Zeller & Hildebrandt's delta debugging (`ddmin`, "Simplifying and
//! isolating failure-inducing input", 2002), started from the witness's operations when those
//! alone are already invalid, and finished by a one-by-one pass. Only the invalid key's
//! operations are kept (keys are independent); nemesis operations are left out.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use schism_histories::{History, PairedHistory, Value};

use super::model::LinOp;
use super::search::{format_duration, Limits};
use super::{check, check_key, prepare, KeyOutcome, LinearOptions, LinearResult, Model};
use crate::txn::MicroOp;
use crate::Validity;

/// The result of [`minimize`].
#[derive(Clone, Debug)]
pub struct MinimizedHistory {
    /// The invocation indices of the client operations kept, in history order.
    pub kept: Vec<u64>,
    /// The kept operations' invocations and completions, as they are in the original.
    pub history: History,
    /// The check of the minimized history (its witness names original indices); the original
    /// history's check when the shrinking did not complete.
    pub result: LinearResult,
    /// True when the history is 1-minimal; false when the history was not invalid, or the
    /// time limit cut the shrinking short (then `note` says so and this is the best so far).
    pub complete: bool,
    pub note: Option<String>,
    /// How many sub-histories were checked.
    pub checks: u64,
    /// Whether every value read kept an operation that wrote it (see the module docs).
    pub keeps_writers: bool,
}

impl MinimizedHistory {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kept": self.kept,
            "complete": self.complete,
            "note": self.note,
            "checks": self.checks,
            "result": self.result.to_json(),
        })
    }

    /// The kept operations, one line each, then the verdict.
    pub fn explain(&self) -> String {
        let mut text = format!(
            "minimized to {} operation{}{}:\n",
            self.kept.len(),
            if self.kept.len() == 1 { "" } else { "s" },
            match (self.complete, self.keeps_writers) {
                (true, true) => {
                    " (removing any one makes the history linearizable, or leaves a value read that no operation wrote)"
                }
                (true, false) => " (removing any one makes the history linearizable)",
                (false, _) => "",
            }
        );
        for op in &self.history.ops {
            let line = if op.pos.line > 0 {
                format!("line {}: ", op.pos.line)
            } else {
                String::new()
            };
            text.push_str(&format!(
                "  {line}{{index {}, process {}, type {}, f {}, value {}}}\n",
                op.index, op.process, op.kind, op.f, op.value
            ));
        }
        if let Some(note) = &self.note {
            text.push_str(note);
            text.push('\n');
        }
        text.push_str(&self.result.explain());
        text
    }
}

/// The sub-history test: is this set of operations still invalid?
struct Tester<'a> {
    options: &'a LinearOptions,
    keep_writers: bool,
    deadline: Instant,
    checks: u64,
    timed_out: bool,
}

impl Tester<'_> {
    fn invalid(&mut self, ops: &[LinOp]) -> bool {
        if self.timed_out {
            return false;
        }
        if Instant::now() >= self.deadline {
            self.timed_out = true;
            return false;
        }
        if self.keep_writers && !writers_kept(self.options, ops) {
            return false;
        }
        self.checks += 1;
        let limits = Limits::with_deadline(
            self.deadline,
            self.options.time_limit,
            self.options.memory_limit_bytes,
        );
        match check_key(self.options.model, &self.options.init, ops, &limits) {
            KeyOutcome::Invalid { .. } => true,
            KeyOutcome::Unknown { .. } if Instant::now() >= self.deadline => {
                self.timed_out = true;
                false
            }
            _ => false,
        }
    }
}

fn subset(ops: &[LinOp], keep: &[usize]) -> Vec<LinOp> {
    keep.iter().filter_map(|&i| ops.get(i).cloned()).collect()
}

/// Zeller's ddmin over indices into `ops`; `current` must be invalid.
fn ddmin(tester: &mut Tester<'_>, ops: &[LinOp], mut current: Vec<usize>) -> Vec<usize> {
    let mut n = 2usize;
    while current.len() >= 2 && !tester.timed_out {
        let chunk = current.len().div_ceil(n);
        let chunks: Vec<Vec<usize>> = current.chunks(chunk).map(<[usize]>::to_vec).collect();
        let mut reduced = false;
        for c in &chunks {
            if tester.invalid(&subset(ops, c)) {
                current = c.clone();
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced && chunks.len() > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<usize> = chunks
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .flat_map(|(_, c)| c.iter().copied())
                    .collect();
                if tester.invalid(&subset(ops, &complement)) {
                    current = complement;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n >= current.len() {
                break;
            }
            n = (2 * n).min(current.len());
        }
    }
    current
}

/// Removes operations one at a time while the rest stays invalid, until none can go.
fn one_by_one(tester: &mut Tester<'_>, ops: &[LinOp], mut current: Vec<usize>) -> Vec<usize> {
    let mut i = 0;
    while i < current.len() && !tester.timed_out {
        let mut without = current.clone();
        without.remove(i);
        if tester.invalid(&subset(ops, &without)) {
            current = without;
        } else {
            i += 1;
        }
    }
    current
}

/// Shrinks an invalid history to a 1-minimal invalid sub-history, within the time limit of
/// `options` (past it, the best so far is returned and `note` says so).
pub fn minimize(history: &PairedHistory, options: &LinearOptions) -> MinimizedHistory {
    let start = Instant::now();
    let deadline = start
        .checked_add(options.time_limit)
        .unwrap_or(start + Duration::from_secs(1 << 32));
    let original = check(history, options);
    let all_ops = || -> Vec<usize> { (0..history.pairs().len()).collect() };
    if original.validity != Validity::Invalid {
        return build(
            history,
            options,
            all_ops(),
            original.clone(),
            false,
            Some(format!(
                "the history is {}; nothing to minimize",
                original.validity
            )),
            1,
        );
    }
    let group = prepare(history, options).ok().and_then(|prepared| {
        prepared
            .groups
            .into_iter()
            .find(|(key, _)| key.as_ref() == original.key.as_ref())
            .map(|(_, ops)| ops)
    });
    let Some(ops) = group else {
        return build(history, options, all_ops(), original, false, None, 1);
    };
    let mut tester = Tester {
        options,
        keep_writers: writers_kept(options, &ops),
        deadline,
        checks: 1,
        timed_out: false,
    };
    // Operations the search dropped (failed ones, reads of unknown values) constrain nothing,
    // so the shrinking starts without them.
    let limits = Limits::with_deadline(deadline, options.time_limit, options.memory_limit_bytes);
    let mut current: Vec<usize> = match check_key(options.model, &options.init, &ops, &limits) {
        KeyOutcome::Invalid {
            searched,
            failing,
            prefix,
            ..
        } => {
            // The witness's operations and those before the failing one's completion are
            // cheap first guesses.
            let failing_end = ops
                .get(failing)
                .and_then(|op| op.complete)
                .unwrap_or(usize::MAX);
            let mut witness: Vec<usize> = prefix;
            witness.push(failing);
            witness.sort_unstable();
            let truncated: Vec<usize> = searched
                .iter()
                .copied()
                .filter(|&i| ops.get(i).is_some_and(|op| op.invoke < failing_end))
                .collect();
            if tester.invalid(&subset(&ops, &witness)) {
                witness
            } else if truncated.len() < searched.len() && tester.invalid(&subset(&ops, &truncated))
            {
                truncated
            } else {
                searched
            }
        }
        _ => (0..ops.len()).collect(),
    };
    current = ddmin(&mut tester, &ops, current);
    current = one_by_one(&mut tester, &ops, current);
    let kept: Vec<usize> = current
        .iter()
        .filter_map(|&i| ops.get(i))
        .map(|op| op.pair)
        .collect();
    let (complete, note) = if tester.timed_out {
        (
            false,
            Some(format!(
                "time limit of {} reached after {} checks; this is the smallest invalid history found so far",
                format_duration(options.time_limit),
                tester.checks
            )),
        )
    } else {
        (true, None)
    };
    let checks = tester.checks;
    let keeps_writers = tester.keep_writers;
    // The minimized history's own verdict; the search restarts with a fresh budget, as it is
    // small by now.
    let mut minimized = build(history, options, kept, original, complete, note, checks);
    minimized.keeps_writers = keeps_writers;
    minimized
}

/// The values an operation reads, which need a writer, and the values it writes; for
/// multi-registers as `[key value]` pairs.
fn reads_and_writes(options: &LinearOptions, op: &LinOp) -> (Vec<Value>, Vec<Value>) {
    let ok = op.is_ok();
    let pair = |k: &Value, v: &Value| Value::List(vec![k.clone(), v.clone()]);
    match (options.model, op.f.as_str()) {
        (Model::Register | Model::CasRegister, "read" | "r") if ok && !op.value.is_nil() => {
            (vec![op.value.clone()], vec![])
        }
        (Model::Register | Model::CasRegister, "write" | "w") => (vec![], vec![op.value.clone()]),
        (Model::CasRegister, "cas") => match op.value.as_list() {
            Some([from, to]) => (vec![from.clone()], vec![to.clone()]),
            _ => (vec![], vec![]),
        },
        (Model::MultiRegister, _) => {
            let mut reads = Vec::new();
            let mut writes = Vec::new();
            for micro in op.value.as_list().unwrap_or_default() {
                match MicroOp::parse(micro) {
                    Ok(MicroOp::Read { key, value }) if ok && !value.is_nil() => {
                        reads.push(pair(&key, &value))
                    }
                    Ok(MicroOp::Write { key, value }) => writes.push(pair(&key, &value)),
                    _ => {}
                }
            }
            (reads, writes)
        }
        (Model::Set, "add") => (vec![], vec![op.value.clone()]),
        (Model::Set, "read" | "r") if ok => match &op.value {
            Value::List(items) => (items.clone(), vec![]),
            Value::Set(items) => (items.iter().cloned().collect(), vec![]),
            _ => (vec![], vec![]),
        },
        (Model::FifoQueue, "enqueue") => (vec![], vec![op.value.clone()]),
        (Model::FifoQueue, "dequeue") if ok && !op.value.is_nil() => {
            (vec![op.value.clone()], vec![])
        }
        _ => (vec![], vec![]),
    }
}

/// Whether every value read in `ops` is the initial value or written by one of `ops`.
fn writers_kept(options: &LinearOptions, ops: &[LinOp]) -> bool {
    let mut written: BTreeSet<Value> = BTreeSet::new();
    let mut needed: Vec<Value> = Vec::new();
    for op in ops {
        let (reads, writes) = reads_and_writes(options, op);
        needed.extend(reads);
        written.extend(writes);
    }
    let initial = |v: &Value| match (options.model, v.as_list()) {
        (Model::MultiRegister, Some([k, v])) => match &options.init {
            Value::Map(m) => m.get(k) == Some(v),
            init => init == v,
        },
        (Model::MultiRegister, _) => false,
        (Model::Register | Model::CasRegister, _) => *v == options.init,
        _ => false,
    };
    needed.iter().all(|v| written.contains(v) || initial(v))
}

fn build(
    history: &PairedHistory,
    options: &LinearOptions,
    mut kept_pairs: Vec<usize>,
    fallback: LinearResult,
    complete: bool,
    note: Option<String>,
    checks: u64,
) -> MinimizedHistory {
    kept_pairs.sort_unstable();
    let mut positions: Vec<usize> = Vec::new();
    let mut kept = Vec::new();
    for pair in kept_pairs.iter().filter_map(|&i| history.pairs().get(i)) {
        kept.push(history.invocation(pair).index);
        positions.push(pair.invoke);
        positions.extend(pair.complete);
    }
    positions.sort_unstable();
    let source = history.history();
    let out = History {
        source_name: source.source_name.clone(),
        ops: positions
            .iter()
            .filter_map(|&p| source.ops.get(p).cloned())
            .collect(),
    };
    let result = if complete {
        match out.clone().pair() {
            Ok(paired) => check(&paired, options),
            Err(_) => fallback,
        }
    } else {
        fallback
    };
    MinimizedHistory {
        kept,
        history: out,
        result,
        complete,
        note,
        checks,
        keeps_writers: false,
    }
}
