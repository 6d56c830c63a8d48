//! Inference for list-append histories (Elle §4.1: "traceable" objects).
//!
//! Each `["append", k, v]` adds a unique `v` to the list at `k`, and each read returns the
//! whole list, so a read reveals the order of every append before it. The version order of
//! `k` is its longest read by a committed transaction; every other read of `k` must be a
//! prefix of it, or the two reads could not come from one timeline (`incompatible-order`).
//!
//! Edges, for transactions that did not fail:
//! - **ww** `T1 -> T2`: T1 appended the element right before T2's in the version order.
//! - **wr** `T1 -> T2`: T2's first read of `k` (before T2 appends to `k`) ends with T1's
//!   element.
//! - **rw** `T1 -> T2`: T1's first read of `k` stops right before T2's element.
//!
//! Non-cycle anomalies: G1a (a read includes an element of a failed append), G1b (a read ends
//! with an element its writer followed with another append to the same key), internal (a read
//! contradicts the transaction's own earlier read and appends), dirty-update (a failed append
//! is followed by committed ones in the version order), lost-update (two committed
//! transactions read the same version of `k` and both appended to it), duplicate-elements,
//! incompatible-order, garbage-read (an element nobody appended), future-read (a read includes
//! an element its own transaction appends only later: a self-wr-edge, Elle's definition).
//!
//! Appended values are assumed unique per key, as Elle assumes; when two transactions append
//! the same value, the first is taken as its writer.

use std::collections::BTreeSet;

use schism_histories::{Outcome, Value};

use super::graph::{RW, WR, WW};
use super::{and_list, show_list, ElleError, FxMap, Inference, Names, Reporter, Txns};
use crate::txn::MicroOpRef;

pub(crate) struct ListAppend<'t, 'a> {
    txns: &'t Txns<'a>,
    /// `(key, element)` to the transaction that appended it.
    /// `(key, element)` to the transaction that appended it, and whether some committed
    /// read observed it.
    writer: FxMap<(u32, Elem<'a>), (u32, bool)>,
    /// Per key, the committed transactions with an append no read observed. Such an append
    /// comes after every observed element: were it before one, the read that observed that
    /// element would include it (Elle's inference for unread appends).
    unobserved: Vec<Vec<u32>>,
    /// Per key, the longest committed read: the version order.
    versions: Vec<&'a [Value]>,
    /// Per key, the transaction whose read is the version order.
    longest_reader: Vec<u32>,
    /// Per key, the position of the first failed append in the version order (`usize::MAX`
    /// if none), so that only reads reaching it are searched for aborted elements.
    first_failed: Vec<usize>,
    edges: Vec<(u32, u32, u8)>,
    anomalies: Reporter,
}

/// An appended element as a hash key: integers (what list-append histories hold) by value,
/// so that looking one up does not chase a pointer into the history; anything else by
/// reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Elem<'a> {
    Int(i64),
    Other(&'a Value),
}

impl<'a> Elem<'a> {
    fn of(value: &'a Value) -> Elem<'a> {
        match value {
            Value::Int(i) => Elem::Int(*i),
            other => Elem::Other(other),
        }
    }
}

/// A transaction's first read of a key, if it comes before the transaction's own appends to
/// that key: the version it observed from others.
fn external_read<'a>(txns: &Txns<'a>, id: u32, key: u32) -> Option<&'a [Value]> {
    let t = txns.get(id)?;
    let first = t.ops.iter().find(|m| m.key == key)?;
    match first.op {
        MicroOpRef::Read { value, .. } => Some(value.as_list().unwrap_or(&[])),
        _ => None,
    }
}

/// Within one transaction, per key: the last read, and the appends since.
type KeyState<'a> = (u32, Option<&'a [Value]>, Vec<&'a Value>);

impl<'t, 'a> ListAppend<'t, 'a> {
    pub fn infer(txns: &'t Txns<'a>) -> Result<ListAppend<'t, 'a>, ElleError> {
        let mut la = ListAppend {
            txns,
            writer: FxMap::default(),
            versions: vec![&[]; txns.keys.len()],
            longest_reader: vec![u32::MAX; txns.keys.len()],
            first_failed: vec![usize::MAX; txns.keys.len()],
            unobserved: vec![Vec::new(); txns.keys.len()],
            edges: Vec::new(),
            anomalies: Reporter::default(),
        };
        for (id, t) in txns.list.iter().enumerate() {
            for m in &t.ops {
                match m.op {
                    MicroOpRef::Append { value, .. } => {
                        la.writer
                            .entry((m.key, Elem::of(value)))
                            .or_insert((id as u32, false));
                    }
                    MicroOpRef::Read { value, .. } if t.outcome == Outcome::Ok => {
                        let list = value.as_list().unwrap_or(&[]);
                        let k = m.key as usize;
                        if list.len() > la.versions[k].len() {
                            la.versions[k] = list;
                            la.longest_reader[k] = id as u32;
                        }
                    }
                    _ => {}
                }
            }
        }
        la.check_versions();
        la.unobserved_appends();
        la.check_reads();
        Ok(la)
    }

    fn outcome(&self, id: u32) -> Outcome {
        self.txns.outcome(id)
    }

    fn writer_of(&self, key: u32, element: &'a Value) -> Option<u32> {
        self.writer.get(&(key, Elem::of(element))).map(|w| w.0)
    }

    fn is_prefix(&self, key: u32, read: &[Value]) -> bool {
        let v = self.versions[key as usize];
        read.len() <= v.len() && v[..read.len()] == *read
    }

    /// Per key: duplicates, garbage, dirty updates and ww edges along the version order.
    fn check_versions(&mut self) {
        let txns = self.txns;
        for (k, &version) in self.versions.iter().enumerate() {
            let key = k as u32;
            let reader = self.longest_reader[k];
            let key_value = txns.key(key);
            if version.len() > 1 {
                let mut seen: FxMap<&Value, ()> = FxMap::default();
                let mut dups = BTreeSet::new();
                for e in version {
                    if seen.insert(e, ()).is_some() {
                        dups.insert(e);
                    }
                }
                for e in dups {
                    self.anomalies
                        .report(txns, "duplicate-elements", &[reader], |n| {
                            format!(
                                "{} read key {key_value} = {}, which contains {e} more than once",
                                n.full(reader),
                                show_list(version)
                            )
                        });
                }
            }
            let mut prev: Option<(u32, &Value)> = None;
            let mut failed: Option<(u32, &Value)> = None;
            let mut dirty_reported = false;
            for (i, e) in version.iter().enumerate() {
                let Some(w) = self.writer.get_mut(&(key, Elem::of(e))).map(|w| {
                    w.1 = true;
                    w.0
                }) else {
                    self.anomalies.report(txns, "garbage-read", &[reader], |n| {
                        format!(
                            "{} read key {key_value} = {}, but no transaction appended {e} to \
                             key {key_value}",
                            n.full(reader),
                            show_list(version)
                        )
                    });
                    prev = None;
                    continue;
                };
                if txns.outcome(w) == Outcome::Fail {
                    failed.get_or_insert((w, e));
                    self.first_failed[k] = self.first_failed[k].min(i);
                    prev = None;
                    continue;
                }
                if let (Some((f, fe)), false) = (failed, dirty_reported) {
                    dirty_reported = true;
                    self.anomalies.report(txns, "dirty-update", &[f, w], |n| {
                        format!(
                            "{} failed, yet its append of {fe} to key {key_value} was followed \
                             by {}'s append of {e} in {}",
                            n.indexed(f),
                            n.indexed(w),
                            show_list(version)
                        )
                    });
                }
                if let Some((p, _)) = prev {
                    if p != w {
                        self.edges.push((p, w, WW));
                    }
                }
                prev = Some((w, e));
            }
        }
    }

    /// Finds the committed appends no read observed, and orders them after the last observed
    /// element of their key (ww).
    fn unobserved_appends(&mut self) {
        let txns = self.txns;
        for (id, t) in txns.list.iter().enumerate() {
            if t.outcome != Outcome::Ok {
                continue;
            }
            for m in &t.ops {
                if let MicroOpRef::Append { value, .. } = m.op {
                    let observed = self
                        .writer
                        .get(&(m.key, Elem::of(value)))
                        .is_some_and(|w| w.1);
                    let list = &mut self.unobserved[m.key as usize];
                    if !observed && list.last() != Some(&(id as u32)) {
                        list.push(id as u32);
                    }
                }
            }
        }
        for k in 0..self.versions.len() {
            let Some(last) = self.versions[k].last() else {
                continue;
            };
            let Some(w) = self.writer_of(k as u32, last) else {
                continue;
            };
            if self.outcome(w) == Outcome::Fail {
                continue;
            }
            for &t in &self.unobserved[k] {
                if t != w {
                    self.edges.push((w, t, WW));
                }
            }
        }
    }

    /// The first append of `id` to `key` that no read observed.
    fn unobserved_append_of(&self, id: u32, key: u32) -> Option<&'a Value> {
        self.txns.get(id)?.ops.iter().find_map(|m| match m.op {
            MicroOpRef::Append { value, .. }
                if m.key == key
                    && self
                        .writer
                        .get(&(key, Elem::of(value)))
                        .is_some_and(|w| !w.1) =>
            {
                Some(value)
            }
            _ => None,
        })
    }

    /// Per committed transaction, in op order: internal consistency, wr and rw edges, G1a,
    /// G1b, future reads, incompatible orders and lost updates.
    fn check_reads(&mut self) {
        let txns = self.txns;
        let mut incompatible_reported = vec![false; txns.keys.len()];
        // (key, length of the version read, reader) for readers that then append to the key.
        let mut read_then_append: Vec<(u32, usize, u32)> = Vec::new();
        for (id, t) in txns.list.iter().enumerate() {
            if t.outcome != Outcome::Ok {
                continue;
            }
            let id = id as u32;
            // Per key touched so far: the last read and the appends since it.
            let mut state: Vec<KeyState<'a>> = Vec::new();
            for (i, m) in t.ops.iter().enumerate() {
                let k = m.key;
                let slot = match state.iter().position(|s| s.0 == k) {
                    Some(p) => p,
                    None => {
                        state.push((k, None, Vec::new()));
                        state.len() - 1
                    }
                };
                let value = match m.op {
                    MicroOpRef::Append { value, .. } => {
                        state[slot].2.push(value);
                        continue;
                    }
                    MicroOpRef::Read { value, .. } => value,
                    MicroOpRef::Write { .. } => continue,
                };
                let read = value.as_list().unwrap_or(&[]);
                let (_, last_read, appended) = &state[slot];
                let first_touch = last_read.is_none() && appended.is_empty();
                self.check_internal(id, k, read, *last_read, appended);
                let compatible = self.is_prefix(k, read);
                if !compatible && !incompatible_reported[k as usize] {
                    incompatible_reported[k as usize] = true;
                    self.report_incompatible(id, k, read);
                }
                self.check_aborted(id, k, read, compatible);
                self.check_future(id, k, read, i);
                if first_touch {
                    self.external_read_edges(id, k, read, compatible);
                    let appends_later = t.ops[i..]
                        .iter()
                        .any(|o| o.key == k && matches!(o.op, MicroOpRef::Append { .. }));
                    if compatible && appends_later {
                        read_then_append.push((k, read.len(), id));
                    }
                }
                state[slot].1 = Some(read);
                state[slot].2.clear();
            }
        }
        read_then_append.sort_unstable();
        for group in read_then_append.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
            if group.len() < 2 {
                continue;
            }
            let ids: Vec<u32> = group.iter().map(|g| g.2).collect();
            let (k, len) = (group[0].0, group[0].1);
            let version = &self.versions[k as usize][..len];
            self.anomalies.report(txns, "lost-update", &ids, |n| {
                let who: Vec<String> = ids.iter().map(|&i| n.name(i)).collect();
                format!(
                    "{} read key {} = {} and then appended to it: each append should have \
                     seen the others'",
                    and_list(&who),
                    txns.key(k),
                    show_list(version)
                )
            });
        }
    }

    fn check_internal(
        &mut self,
        id: u32,
        k: u32,
        read: &[Value],
        last_read: Option<&'a [Value]>,
        appended: &[&'a Value],
    ) {
        let ok = match last_read {
            Some(prev) => {
                read.len() == prev.len() + appended.len()
                    && read[..prev.len()] == *prev
                    && read[prev.len()..]
                        .iter()
                        .zip(appended)
                        .all(|(a, b)| a == *b)
            }
            None => {
                read.len() >= appended.len()
                    && read[read.len() - appended.len()..]
                        .iter()
                        .zip(appended)
                        .all(|(a, b)| a == *b)
            }
        };
        if ok {
            return;
        }
        let txns = self.txns;
        let key = txns.key(k);
        let appended_list: Vec<Value> = appended.iter().map(|v| (*v).clone()).collect();
        self.anomalies
            .report(txns, "internal", &[id], |n| match last_read {
                Some(prev) if appended_list.is_empty() => format!(
                    "{} read key {key} = {}, then read it again = {}",
                    n.full(id),
                    show_list(prev),
                    show_list(read)
                ),
                Some(prev) => format!(
                    "{} read key {key} = {}, then appended {}, then read key {key} = {}",
                    n.full(id),
                    show_list(prev),
                    show_list(&appended_list),
                    show_list(read)
                ),
                None => format!(
                    "{} appended {} to key {key}, then read key {key} = {}, which does not end \
                 with those appends",
                    n.full(id),
                    show_list(&appended_list),
                    show_list(read)
                ),
            });
    }

    fn report_incompatible(&mut self, id: u32, k: u32, read: &'a [Value]) {
        let txns = self.txns;
        let version = self.versions[k as usize];
        let other = self.longest_reader.get(k as usize).copied().unwrap_or(id);
        let mut ids = vec![other, id];
        ids.sort_by_key(|&i| txns.get(i).map(|t| t.index));
        ids.dedup();
        self.anomalies
            .report(txns, "incompatible-order", &ids, |n| {
                format!(
                    "{} read key {} = {} and {} read it = {}: neither is a prefix of the other, \
                     so they cannot come from one order of appends",
                    n.name(other),
                    txns.key(k),
                    show_list(version),
                    n.name(id),
                    show_list(read)
                )
            });
    }

    fn check_aborted(&mut self, id: u32, k: u32, read: &[Value], compatible: bool) {
        if compatible && read.len() <= self.first_failed[k as usize] {
            return;
        }
        let txns = self.txns;
        for e in read {
            let Some(w) = self.writer_of(k, e) else {
                continue;
            };
            if self.outcome(w) != Outcome::Fail {
                continue;
            }
            self.anomalies.report(txns, "G1a", &[id, w], |n| {
                format!(
                    "{} read key {} = {}, which includes {}'s append of {e}, but {} failed",
                    n.full(id),
                    txns.key(k),
                    show_list(read),
                    n.indexed(w),
                    n.name(w)
                )
            });
        }
    }

    fn check_future(&mut self, id: u32, k: u32, read: &[Value], at: usize) {
        let txns = self.txns;
        let Some(t) = txns.get(id) else {
            return;
        };
        for later in t.ops.iter().skip(at + 1) {
            if let (true, MicroOpRef::Append { value, .. }) = (later.key == k, later.op) {
                if read.contains(value) {
                    self.anomalies.report(txns, "future-read", &[id], |n| {
                        format!(
                            "{} read key {} = {}, which includes {value}, an element it \
                             appends only later in the same transaction",
                            n.full(id),
                            txns.key(k),
                            show_list(read)
                        )
                    });
                }
            }
        }
    }

    fn external_read_edges(&mut self, id: u32, k: u32, read: &'a [Value], compatible: bool) {
        let txns = self.txns;
        if let Some(last) = read.last() {
            if let Some(w) = self.writer_of(k, last) {
                if w != id && self.outcome(w) != Outcome::Fail {
                    self.edges.push((w, id, WR));
                    let final_append = txns.get(w).and_then(|wt| {
                        wt.ops
                            .iter()
                            .rev()
                            .filter(|m| m.key == k)
                            .filter_map(|m| match m.op {
                                MicroOpRef::Append { value, .. } => Some(value),
                                _ => None,
                            })
                            .next()
                    });
                    if let Some(fin) = final_append.filter(|f| *f != last) {
                        self.anomalies.report(txns, "G1b", &[id, w], |n| {
                            format!(
                                "{} read key {} = {}, which ends with {}'s append of {last}, \
                                 but {} went on to append {fin}: an intermediate version",
                                n.full(id),
                                txns.key(k),
                                show_list(read),
                                n.indexed(w),
                                n.name(w)
                            )
                        });
                    }
                }
            }
        }
        if !compatible {
            return;
        }
        if let Some(next) = self.versions[k as usize].get(read.len()) {
            if let Some(w) = self.writer_of(k, next) {
                if w != id && self.outcome(w) != Outcome::Fail {
                    self.edges.push((id, w, RW));
                }
            }
        } else {
            // The read saw every observed element: it precedes each unobserved append.
            for i in 0..self.unobserved[k as usize].len() {
                let w = self.unobserved[k as usize][i];
                if w != id {
                    self.edges.push((id, w, RW));
                }
            }
        }
    }
}

impl Inference for ListAppend<'_, '_> {
    fn take_edges(&mut self) -> Vec<(u32, u32, u8)> {
        std::mem::take(&mut self.edges)
    }

    fn take_anomalies(&mut self) -> Reporter {
        std::mem::take(&mut self.anomalies)
    }

    fn explain_edge(&self, from: u32, to: u32, kind: u8, names: &Names) -> String {
        let txns = self.txns;
        let keys_of = |id: u32| -> BTreeSet<u32> {
            txns.get(id)
                .map(|t| t.ops.iter().map(|m| m.key).collect())
                .unwrap_or_default()
        };
        let common: Vec<u32> = keys_of(from).intersection(&keys_of(to)).copied().collect();
        for k in common {
            let key = txns.key(k);
            let version = self.versions[k as usize];
            match kind {
                WW => {
                    for (i, pair) in version.windows(2).enumerate() {
                        if self.writer_of(k, &pair[0]) == Some(from)
                            && self.writer_of(k, &pair[1]) == Some(to)
                        {
                            return format!(
                                "{} appended {} to key {key} before {} appended {} (ww: {} has \
                                 {} before {})",
                                names.name(from),
                                pair[0],
                                names.name(to),
                                pair[1],
                                show_list(&version[..i + 2]),
                                pair[0],
                                pair[1]
                            );
                        }
                    }
                    let last = version
                        .last()
                        .filter(|l| self.writer_of(k, l) == Some(from));
                    if let (Some(last), Some(y)) = (last, self.unobserved_append_of(to, k)) {
                        return format!(
                            "{} appended {last} to key {key}, the last element any read \
                             observed ({}), and {}'s append of {y} was never read, so it came \
                             later (ww)",
                            names.name(from),
                            show_list(version),
                            names.name(to)
                        );
                    }
                }
                WR => {
                    if let Some(read) = external_read(txns, to, k) {
                        if let Some(last) = read.last() {
                            if self.writer_of(k, last) == Some(from) {
                                return format!(
                                    "{} read key {key} = {}, which includes {}'s append of \
                                     {last} (wr)",
                                    names.full(to),
                                    show_list(read),
                                    names.indexed(from)
                                );
                            }
                        }
                    }
                }
                _ => {
                    if let Some(read) = external_read(txns, from, k) {
                        if let Some(next) = version.get(read.len()) {
                            if self.writer_of(k, next) == Some(to) && self.is_prefix(k, read) {
                                return format!(
                                    "{} read key {key} = {}, which does not include {}'s \
                                     append of {next} (rw)",
                                    names.name(from),
                                    show_list(read),
                                    names.name(to)
                                );
                            }
                        } else if let Some(y) = self.unobserved_append_of(to, k) {
                            return format!(
                                "{} read key {key} = {}, which does not include {}'s append \
                                 of {y} (rw)",
                                names.name(from),
                                show_list(read),
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
