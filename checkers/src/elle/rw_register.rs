//! Inference for rw-register histories (Elle §4.2, `elle.rw-register`).
//!
//! A register read returns one value, not the history of the key, so much less can be
//! inferred than for list-append. Writes are assumed unique per key, as Elle assumes; a value
//! written by two transactions is ambiguous and nothing is inferred from reading it. What we
//! infer, and why it is sound:
//!
//! - **wr** `W -> T`: T's first read of `k` (before T writes `k`) returned the value W wrote.
//! - **version order**: the initial state (`nil`) precedes every written version; and when a
//!   transaction reads `k = v1` and then writes `k = v2`, `v1` precedes `v2` (the write was
//!   installed after the version it read was visible). These are the inferences of Elle's
//!   `:initial-state` and `:wfr-keys?`; Elle's optional `:sequential-keys?` and
//!   `:linearizable-keys?` assume more of the database and are not made here.
//! - **ww** `W1 -> T`: T read W1's `v1` and then wrote `v2`.
//! - **rw** `R -> W`: R read `nil` and W wrote `k`; or R read `v1` and W read `v1` then wrote
//!   `k`.
//!
//! Non-cycle anomalies: G1a (reading a failed write), G1b (reading a value its writer
//! overwrote within the same transaction), internal (a read that contradicts the
//! transaction's own earlier read or write of the key), garbage-read (a value nobody wrote),
//! future-read (a first read returning the value the same transaction writes later),
//! lost-update (two committed transactions read the same version of `k` and both wrote `k`).

use schism_histories::{Outcome, Value};

use super::graph::{RW, WR, WW};
use super::{and_list, ElleError, FxMap, Inference, Names, Reporter, Txns};
use crate::txn::MicroOpRef;

const AMBIGUOUS: u32 = u32::MAX;

pub(crate) struct RwRegister<'t, 'a> {
    txns: &'t Txns<'a>,
    /// `(key, value)` to the transaction that wrote it, or [`AMBIGUOUS`].
    writer: FxMap<(u32, &'a Value), u32>,
    edges: Vec<(u32, u32, u8)>,
    anomalies: Reporter,
}

/// A transaction's first read of `key`, if it comes before any write of `key` by the same
/// transaction; and whether the transaction writes `key` afterwards (with the first value).
fn external_read<'a>(txns: &Txns<'a>, id: u32, key: u32) -> Option<(&'a Value, Option<&'a Value>)> {
    let t = txns.get(id)?;
    let mut ops = t.ops.iter().filter(|m| m.key == key);
    let first = ops.next()?;
    let MicroOpRef::Read { value, .. } = first.op else {
        return None;
    };
    let write = ops.find_map(|m| match m.op {
        MicroOpRef::Write { value, .. } => Some(value),
        _ => None,
    });
    Some((value, write))
}

fn writes<'a>(txns: &Txns<'a>, id: u32, key: u32) -> Vec<&'a Value> {
    txns.get(id)
        .map(|t| {
            t.ops
                .iter()
                .filter(|m| m.key == key)
                .filter_map(|m| match m.op {
                    MicroOpRef::Write { value, .. } => Some(value),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

impl<'t, 'a> RwRegister<'t, 'a> {
    pub fn infer(txns: &'t Txns<'a>) -> Result<RwRegister<'t, 'a>, ElleError> {
        let mut rr = RwRegister {
            txns,
            writer: FxMap::default(),
            edges: Vec::new(),
            anomalies: Reporter::default(),
        };
        // Per key, the transactions writing it (not failed).
        let mut writers_of: Vec<Vec<u32>> = vec![Vec::new(); txns.keys.len()];
        for (id, t) in txns.list.iter().enumerate() {
            let id = id as u32;
            for m in &t.ops {
                if let MicroOpRef::Write { value, .. } = m.op {
                    let entry = rr.writer.entry((m.key, value)).or_insert(id);
                    if *entry != id {
                        *entry = AMBIGUOUS;
                    }
                    if t.outcome != Outcome::Fail && writers_of[m.key as usize].last() != Some(&id)
                    {
                        writers_of[m.key as usize].push(id);
                    }
                }
            }
        }
        // (key, value read, reader, wrote the key afterwards) for every external read.
        let mut reads: Vec<(u32, &'a Value, u32, bool)> = Vec::new();
        for (id, t) in txns.list.iter().enumerate() {
            if t.outcome != Outcome::Ok {
                continue;
            }
            let id = id as u32;
            // Per key touched: the last value known (read or written), and whether written.
            let mut state: Vec<(u32, &'a Value, bool)> = Vec::new();
            for m in &t.ops {
                let slot = state.iter().position(|s| s.0 == m.key);
                match m.op {
                    MicroOpRef::Write { value, .. } => match slot {
                        Some(s) => state[s] = (m.key, value, true),
                        None => state.push((m.key, value, true)),
                    },
                    MicroOpRef::Read { value, .. } => match slot {
                        Some(s) => {
                            let (_, known, wrote) = state[s];
                            if known != value {
                                rr.report_internal(id, m.key, known, wrote, value);
                            }
                            state[s].1 = value;
                        }
                        None => {
                            let writes_later = !writes(txns, id, m.key).is_empty();
                            reads.push((m.key, value, id, writes_later));
                            rr.external_read(id, m.key, value);
                            state.push((m.key, value, false));
                        }
                    },
                    MicroOpRef::Append { .. } => {}
                }
            }
        }
        reads.sort_unstable();
        for group in reads.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            let (k, v) = (group[0].0, group[0].1);
            let overwriters: Vec<u32> = group.iter().filter(|g| g.3).map(|g| g.2).collect();
            if v.is_nil() {
                // The initial state precedes every write of the key.
                for g in group {
                    for &w in &writers_of[k as usize] {
                        if w != g.2 {
                            rr.edges.push((g.2, w, RW));
                        }
                    }
                }
            } else {
                for &t in &overwriters {
                    if let Some(&w) = rr.writer.get(&(k, v)) {
                        if w != AMBIGUOUS && w != t && txns.outcome(w) != Outcome::Fail {
                            rr.edges.push((w, t, WW));
                        }
                    }
                    for g in group {
                        if g.2 != t {
                            rr.edges.push((g.2, t, RW));
                        }
                    }
                }
            }
            if overwriters.len() > 1 {
                rr.anomalies.report(txns, "lost-update", &overwriters, |n| {
                    let who: Vec<String> = overwriters.iter().map(|&i| n.name(i)).collect();
                    format!(
                        "{} read key {} = {v} and then wrote it: each write should have \
                         seen the others'",
                        and_list(&who),
                        txns.key(k)
                    )
                });
            }
        }
        Ok(rr)
    }

    fn report_internal(&mut self, id: u32, k: u32, known: &Value, wrote: bool, read: &Value) {
        let txns = self.txns;
        self.anomalies.report(txns, "internal", &[id], |n| {
            format!(
                "{} {} key {} = {known}, then read it = {read}",
                n.full(id),
                if wrote { "wrote" } else { "read" },
                txns.key(k)
            )
        });
    }

    fn external_read(&mut self, id: u32, k: u32, value: &'a Value) {
        if value.is_nil() {
            return;
        }
        let txns = self.txns;
        let key = txns.key(k);
        match self.writer.get(&(k, value)).copied() {
            None => self.anomalies.report(txns, "garbage-read", &[id], |n| {
                format!(
                    "{} read key {key} = {value}, but no transaction wrote {value} to key {key}",
                    n.full(id)
                )
            }),
            Some(AMBIGUOUS) => {}
            Some(w) if w == id => self.anomalies.report(txns, "future-read", &[id], |n| {
                format!(
                    "{} read key {key} = {value}, which it writes only later in the same \
                     transaction",
                    n.full(id)
                )
            }),
            Some(w) if txns.outcome(w) == Outcome::Fail => {
                self.anomalies.report(txns, "G1a", &[id, w], |n| {
                    format!(
                        "{} read key {key} = {value}, which {} wrote, but {} failed",
                        n.full(id),
                        n.indexed(w),
                        n.name(w)
                    )
                })
            }
            Some(w) => {
                self.edges.push((w, id, WR));
                let last = writes(txns, w, k).last().copied();
                if let Some(fin) = last.filter(|f| *f != value) {
                    self.anomalies.report(txns, "G1b", &[id, w], |n| {
                        format!(
                            "{} read key {key} = {value}, which {} wrote before overwriting it \
                             with {fin} in the same transaction: an intermediate version",
                            n.full(id),
                            n.indexed(w)
                        )
                    });
                }
            }
        }
    }
}

impl Inference for RwRegister<'_, '_> {
    fn take_edges(&mut self) -> Vec<(u32, u32, u8)> {
        std::mem::take(&mut self.edges)
    }

    fn take_anomalies(&mut self) -> Reporter {
        std::mem::take(&mut self.anomalies)
    }

    fn explain_edge(&self, from: u32, to: u32, kind: u8, names: &Names) -> String {
        let txns = self.txns;
        let keys: Vec<u32> = txns
            .get(from)
            .map(|t| t.ops.iter().map(|m| m.key).collect())
            .unwrap_or_default();
        for k in keys {
            let key = txns.key(k);
            let to_read = external_read(txns, to, k);
            match kind {
                WR => {
                    if let Some((v, _)) = to_read {
                        if self.writer.get(&(k, v)) == Some(&from) {
                            return format!(
                                "{} read key {key} = {v}, which {} wrote (wr)",
                                names.full(to),
                                names.indexed(from)
                            );
                        }
                    }
                }
                WW => {
                    if let Some((v, Some(w2))) = to_read {
                        if self.writer.get(&(k, v)) == Some(&from) {
                            return format!(
                                "{} wrote key {key} = {v}, which {} read before writing key \
                                 {key} = {w2} (ww)",
                                names.name(from),
                                names.name(to)
                            );
                        }
                    }
                }
                _ => {
                    let Some((v, _)) = external_read(txns, from, k) else {
                        continue;
                    };
                    if v.is_nil() {
                        if let Some(w2) = writes(txns, to, k).first() {
                            return format!(
                                "{} read key {key} = nil (the initial state), which {}'s write \
                                 of {w2} overwrote (rw)",
                                names.name(from),
                                names.name(to)
                            );
                        }
                    } else if let Some((v2, Some(w2))) = to_read {
                        if v2 == v {
                            return format!(
                                "{} read key {key} = {v}, which {} read before overwriting it \
                                 with {w2} (rw)",
                                names.name(from),
                                names.name(to)
                            );
                        }
                    }
                }
            }
        }
        format!(
            "{} -{}-> {}",
            names.name(from),
            super::graph::kind_name(kind),
            names.name(to)
        )
    }
}
