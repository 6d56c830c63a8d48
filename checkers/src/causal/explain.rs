//! Witnesses in sentences: each anomaly names its transactions (`T<i>`, with history index
//! and process), the micro-ops involved, and every step of its causal path.

use std::fmt::Write as _;

use schism_histories::Value;

use super::clock::Clocks;
use super::index::{Index, KeyKind, Micro, Read, ThinAir};
use super::{Anomaly, AnomalyKind, CausalResult, Step, TxnRef};

fn txn_ref_of_pair(ix: &Index, pi: u32) -> TxnRef {
    let history = ix.history;
    match history.pairs().get(pi as usize) {
        Some(pair) => {
            let inv = history.invocation(pair);
            let done = history.completion(pair).unwrap_or(inv);
            TxnRef {
                txn: pi as usize,
                index: done.index,
                process: match inv.process {
                    schism_histories::Process::Client(p) => p,
                    schism_histories::Process::Nemesis => -1,
                },
            }
        }
        None => TxnRef {
            txn: pi as usize,
            index: 0,
            process: -1,
        },
    }
}

fn txn_ref(ix: &Index, t: u32) -> TxnRef {
    txn_ref_of_pair(ix, ix.txns[t as usize].pair)
}

/// `T9 (index 31, process 2)`.
fn full_name(r: &TxnRef) -> String {
    format!("T{} (index {}, process {})", r.txn, r.index, r.process)
}

fn name(ix: &Index, t: u32) -> String {
    full_name(&txn_ref(ix, t))
}

/// `T9`.
fn short(ix: &Index, t: u32) -> String {
    format!("T{}", ix.txns[t as usize].pair)
}

/// A key as people name it: `x` for the string or keyword `x`, `key 3` for a number (a bare
/// `3` would read as a value).
fn key_text(k: &Value) -> String {
    match k {
        Value::Str(s) if is_word(s) => s.clone(),
        Value::Keyword(s) if is_word(s) => s.to_string(),
        Value::Int(_) | Value::Float(_) => format!("key {k}"),
        Value::Nil => "the register".to_string(),
        _ => k.to_string(),
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || "_-.:/".contains(c))
}

/// `read x = [1 2]`, from the transaction's micro-op.
fn read_text(ix: &Index, read: &Read) -> String {
    match ix.micro_ops(read.txn).get(read.micro as usize) {
        Some(Micro::Read(k, v)) => format!("read {} = {}", key_text(k), shown(ix, read.key, v)),
        _ => format!("read {}", key_text(ix.keys[read.key as usize])),
    }
}

/// A read value, with nil shown as what it means.
fn shown(ix: &Index, key: u32, v: &Value) -> String {
    match (v, ix.key_kind.get(key as usize)) {
        (Value::Nil, Some(KeyKind::List)) => "nil (the empty list)".to_string(),
        (Value::Nil, _) => "nil (the initial value)".to_string(),
        (Value::List(items), Some(KeyKind::List)) if items.is_empty() => {
            "[] (the empty list)".to_string()
        }
        _ => v.to_string(),
    }
}

/// The written value of a write.
fn written_value<'a>(ix: &Index<'a>, w: u32) -> Option<(&'a Value, &'a Value, bool)> {
    let write = ix.writes[w as usize];
    match ix.micro_ops(write.txn).get(write.micro as usize) {
        Some(Micro::Write(k, v)) => Some((k, v, false)),
        Some(Micro::Append(k, v)) => Some((k, v, true)),
        _ => None,
    }
}

/// `write x = 2` or `append of 2 to x`.
fn write_text(ix: &Index, w: u32) -> String {
    match written_value(ix, w) {
        Some((k, v, false)) => format!("write {} = {v}", key_text(k)),
        Some((k, v, true)) => format!("append of {v} to {}", key_text(k)),
        None => "write".to_string(),
    }
}

fn element(ix: &Index, w: u32) -> String {
    written_value(ix, w).map_or_else(|| "?".to_string(), |(_, v, _)| v.to_string())
}

fn relation(ix: &Index, from: u32, to: u32) -> &'static str {
    let (a, b) = (ix.txns[from as usize], ix.txns[to as usize]);
    if a.session == b.session && a.pos < b.pos {
        "so"
    } else {
        "wr"
    }
}

/// What `to` read that `from` wrote.
fn wr_reason(ix: &Index, from: u32, to: u32) -> String {
    for op in ix.micro_ops(to) {
        let Micro::Read(k, v) = op else {
            continue;
        };
        let Some(key) = ix.key_id(k) else {
            continue;
        };
        let by_from = |value: &Value| {
            ix.writer_of(key, value)
                .is_some_and(|w| ix.writes[w as usize].txn == from)
        };
        match v {
            Value::List(items) if ix.key_kind[key as usize] == KeyKind::List => {
                if let Some(item) = items.iter().find(|item| by_from(item)) {
                    return format!(
                        "{} read {} = {v}, which includes {}'s append of {item}",
                        name(ix, to),
                        key_text(k),
                        short(ix, from)
                    );
                }
            }
            _ if by_from(v) => {
                return format!(
                    "{} read {} = {v}, written by {}",
                    name(ix, to),
                    key_text(k),
                    short(ix, from)
                )
            }
            _ => {}
        }
    }
    format!(
        "{} read a value written by {}",
        name(ix, to),
        short(ix, from)
    )
}

/// The steps of a path of edges, with runs of `so` edges merged into one.
fn steps(ix: &Index, edges: &[(u32, u32)]) -> Vec<Step> {
    let mut merged: Vec<(u32, u32, &'static str)> = Vec::new();
    for &(from, to) in edges {
        let rel = relation(ix, from, to);
        match merged.last_mut() {
            Some(last) if rel == "so" && last.2 == "so" && last.1 == from => last.1 = to,
            _ => merged.push((from, to, rel)),
        }
    }
    merged
        .into_iter()
        .map(|(from, to, relation)| {
            let reason = if relation == "so" {
                let (a, b) = (txn_ref(ix, from), txn_ref(ix, to));
                format!(
                    "T{} (index {}) and T{} (index {}) are by the same process {}, T{} earlier",
                    a.txn, a.index, b.txn, b.index, a.process, a.txn
                )
            } else {
                wr_reason(ix, from, to)
            };
            Step {
                from: ix.txns[from as usize].pair as usize,
                to: ix.txns[to as usize].pair as usize,
                relation,
                reason,
            }
        })
        .collect()
}

/// `T1 -wr-> T3 -so-> T4`.
fn chain(steps: &[Step]) -> String {
    let mut text = match steps.first() {
        Some(step) => format!("T{}", step.from),
        None => return String::new(),
    };
    for step in steps {
        let _ = write!(text, " -{}-> T{}", step.relation, step.to);
    }
    text
}

/// A causal path from `a` to `b`, as steps.
fn path(ix: &Index, clocks: &Clocks, a: u32, b: u32) -> Vec<Step> {
    match clocks.path(ix, a, b) {
        Some(edges) => steps(ix, &edges),
        None => Vec::new(),
    }
}

pub(super) fn cycle(ix: &Index, cycle: &[u32]) -> Anomaly {
    let edges: Vec<(u32, u32)> = cycle.windows(2).map(|w| (w[0], w[1])).collect();
    let path = steps(ix, &edges);
    let members = &cycle[..cycle.len().saturating_sub(1)];
    let names: Vec<String> = members.iter().map(|&t| name(ix, t)).collect();
    Anomaly {
        kind: AnomalyKind::CyclicCo,
        explanation: format!(
            "{} form a causal cycle: {}.",
            names.join(", "),
            chain(&path)
        ),
        txns: members.iter().map(|&t| txn_ref(ix, t)).collect(),
        path,
    }
}

pub(super) fn thin_air(ix: &Index, thin: &ThinAir) -> Anomaly {
    let reader = name(ix, thin.txn);
    let read = match ix.micro_ops(thin.txn).get(thin.micro as usize) {
        Some(Micro::Read(k, v)) => format!("read {} = {v}", key_text(k)),
        _ => format!("read {}", key_text(thin.key)),
    };
    let value = match ix.micro_ops(thin.txn).get(thin.micro as usize) {
        Some(Micro::Read(_, v)) => thin.element.unwrap_or(v),
        _ => thin.element.unwrap_or(&Value::Nil),
    };
    let failed = ix
        .key_id(thin.key)
        .and_then(|key| ix.failed_writer_of(key, value))
        .map(|pi| txn_ref_of_pair(ix, pi));
    let mut txns = vec![txn_ref(ix, thin.txn)];
    let mut explanation = match thin.element {
        Some(e) => format!(
            "{reader} {read}, but no operation appended {e} to {}",
            key_text(thin.key)
        ),
        None => format!(
            "{reader} {read}, but no operation wrote {value} to {}",
            key_text(thin.key)
        ),
    };
    match failed {
        Some(f) => {
            let _ = write!(explanation, " except {}, which failed.", full_name(&f));
            txns.push(f);
        }
        None => explanation.push('.'),
    }
    Anomaly {
        kind: AnomalyKind::ThinAirRead,
        explanation,
        txns,
        path: Vec::new(),
    }
}

pub(super) fn init_read(ix: &Index, clocks: &Clocks, read: &Read, w: u32) -> Anomaly {
    let writer = ix.writes[w as usize].txn;
    let path = path(ix, clocks, writer, read.txn);
    Anomaly {
        kind: AnomalyKind::WriteCoInitRead,
        explanation: format!(
            "{} {}, but its causal past holds {}'s {}: {}.",
            name(ix, read.txn),
            read_text(ix, read),
            name(ix, writer),
            write_text(ix, w),
            chain(&path)
        ),
        txns: vec![txn_ref(ix, read.txn), txn_ref(ix, writer)],
        path,
    }
}

pub(super) fn overwritten(ix: &Index, clocks: &Clocks, read: &Read, w: u32, later: u32) -> Anomaly {
    let writer = ix.writes[w as usize].txn;
    let later_writer = ix.writes[later as usize].txn;
    let mut path = path(ix, clocks, writer, later_writer);
    path.extend(self::path(ix, clocks, later_writer, read.txn));
    Anomaly {
        kind: AnomalyKind::WriteCoRead,
        explanation: format!(
            "{} {}, written by {}, but its causal past holds {}'s {}, which causally follows {}: \
             {}.",
            name(ix, read.txn),
            read_text(ix, read),
            name(ix, writer),
            name(ix, later_writer),
            write_text(ix, later),
            short(ix, writer),
            chain(&path)
        ),
        txns: vec![
            txn_ref(ix, read.txn),
            txn_ref(ix, writer),
            txn_ref(ix, later_writer),
        ],
        path,
    }
}

pub(super) fn missing(ix: &Index, clocks: &Clocks, read: &Read, missing: u32) -> Anomaly {
    let writer = ix.writes[missing as usize].txn;
    let path = path(ix, clocks, writer, read.txn);
    Anomaly {
        kind: AnomalyKind::WriteCoRead,
        explanation: format!(
            "{} {}, which misses {}, though {}'s {} is in its causal past: {}.",
            name(ix, read.txn),
            read_text(ix, read),
            element(ix, missing),
            name(ix, writer),
            write_text(ix, missing),
            chain(&path)
        ),
        txns: vec![txn_ref(ix, read.txn), txn_ref(ix, writer)],
        path,
    }
}

pub(super) fn inversion(
    ix: &Index,
    clocks: &Clocks,
    read: &Read,
    first: u32,
    earlier: u32,
) -> Anomaly {
    let (w1, w0) = (
        ix.writes[first as usize].txn,
        ix.writes[earlier as usize].txn,
    );
    let (path, why) = if w0 == w1 {
        (
            Vec::new(),
            format!(
                "though {} appended {} first",
                short(ix, w0),
                element(ix, earlier)
            ),
        )
    } else {
        let path = path(ix, clocks, w0, w1);
        let why = format!(
            "though {}'s append causally precedes {}'s: {}",
            short(ix, w0),
            short(ix, w1),
            chain(&path)
        );
        (path, why)
    };
    let mut txns = vec![txn_ref(ix, read.txn), txn_ref(ix, w1)];
    if w0 != w1 {
        txns.push(txn_ref(ix, w0));
    }
    Anomaly {
        kind: AnomalyKind::CausalOrderInversion,
        explanation: format!(
            "{} {}, which lists {} (appended by {}) before {} (appended by {}), {why}.",
            name(ix, read.txn),
            read_text(ix, read),
            element(ix, first),
            name(ix, w1),
            element(ix, earlier),
            name(ix, w0),
        ),
        txns,
        path,
    }
}

pub(super) fn incompatible(ix: &Index, read: &Read, before: &Read) -> Anomaly {
    let text = read_text(ix, before);
    let path = if before.txn == read.txn {
        Vec::new()
    } else {
        steps(ix, &[(before.txn, read.txn)])
    };
    let earlier = txn_ref(ix, before.txn);
    Anomaly {
        kind: AnomalyKind::IncompatibleOrder,
        explanation: format!(
            "{} {}, which does not extend the earlier {} by {} (index {}) of the same process {}.",
            name(ix, read.txn),
            read_text(ix, read),
            text,
            short(ix, before.txn),
            earlier.index,
            earlier.process
        ),
        txns: vec![txn_ref(ix, read.txn), earlier],
        path,
    }
}

pub(super) fn render(result: &CausalResult) -> String {
    let mut text = format!("causal consistency: {}\n", result.validity);
    let s = &result.stats;
    let _ = writeln!(
        text,
        "{} transactions in {} sessions, {} writes, {} reads checked, {} wr edges kept",
        s.transactions, s.sessions, s.writes, s.reads, s.wr_edges
    );
    if s.unchecked_transactions > 0 {
        let _ = writeln!(
            text,
            "{} transactions in or after a causal cycle were not checked",
            s.unchecked_transactions
        );
    }
    if let Some(reason) = &result.unknown_reason {
        let _ = writeln!(text, "stopped early: {reason}");
    }
    for (kind, anomalies) in &result.anomalies {
        let count = s.anomaly_counts.get(kind).copied().unwrap_or(0);
        let _ = writeln!(text, "{kind}: {count} found, {} shown", anomalies.len());
        for a in anomalies {
            let _ = writeln!(text, "  - {}", a.explanation);
            for step in &a.path {
                let _ = writeln!(
                    text,
                    "      T{} -{}-> T{}: {}.",
                    step.from, step.relation, step.to, step.reason
                );
            }
        }
    }
    text
}
