//! The history read into compact arrays: transactions and sessions, writes indexed by (key,
//! value) and by (key, session), and reads resolved to the writes they read from.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use schism_histories::{Outcome, Pair, PairedHistory, Process, Value};

use super::clock::Clocks;
use super::Deadline;
use crate::txn;

/// FxHash, as rustc and Firefox use it: several times faster than the default SipHash on the
/// small integer keys and values of histories; hash flooding is no concern for a checker.
#[derive(Clone, Copy, Default)]
pub(super) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A value as a map key: integers, what histories mostly hold, inline, so that a lookup does
/// not chase a pointer into the history (a cache miss per probe at a million operations).
/// Equality is the values' equality, since `Other` never holds an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum ValueKey<'a> {
    Int(i64),
    Other(&'a Value),
}

impl<'a> ValueKey<'a> {
    pub fn of(value: &'a Value) -> ValueKey<'a> {
        match value {
            Value::Int(i) => ValueKey::Int(*i),
            other => ValueKey::Other(other),
        }
    }
}

/// No such index.
pub(super) const NONE: u32 = u32::MAX;

/// A micro-op borrowed from the history: the same spellings as [`txn::txn_of`], without
/// cloning values, since histories of a million transactions are read twice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Micro<'a> {
    Read(&'a Value, &'a Value),
    Write(&'a Value, &'a Value),
    Append(&'a Value, &'a Value),
}

/// The key of a history of one register whose operations name no key (Knossos's).
pub(super) static UNKEYED: Value = Value::Nil;

/// Parses the micro-ops of an operation into `out`; errors are [`txn::txn_of`]'s. Besides
/// what [`txn::txn_of`] reads, a `read` or `write` whose value is not a `[key value]` pair is
/// an operation on a single register, whose key is [`UNKEYED`].
pub(super) fn micro_ops<'a>(
    f: &str,
    value: &'a Value,
    out: &mut Vec<Micro<'a>>,
) -> Result<(), String> {
    out.clear();
    let fail = || {
        txn::txn_of(f, value)
            .err()
            .unwrap_or_else(|| format!("cannot read the micro-ops of {f} {value}"))
    };
    let make = |name: &str, key: &'a Value, arg: &'a Value| match name {
        "r" | "read" => Some(Micro::Read(key, arg)),
        "w" | "write" => Some(Micro::Write(key, arg)),
        "append" => Some(Micro::Append(key, arg)),
        _ => None,
    };
    match f {
        "read" | "r" | "write" | "w" | "append" => match value.as_list() {
            Some([key, arg]) => out.push(make(f, key, arg).ok_or_else(fail)?),
            // Knossos's single register: `{:f :write, :value 3}`, the key left out.
            _ if matches!(f, "read" | "r" | "write" | "w") => {
                out.push(make(f, &UNKEYED, value).ok_or_else(fail)?)
            }
            _ => return Err(fail()),
        },
        _ => {
            let items = value.as_list().ok_or_else(fail)?;
            for item in items {
                let op = match item.as_list() {
                    Some([name, key, arg]) => name.as_name().and_then(|n| make(n, key, arg)),
                    _ => None,
                };
                out.push(op.ok_or_else(fail)?);
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Txn {
    /// Position in [`PairedHistory::pairs`].
    pub pair: u32,
    pub session: u32,
    /// Position in its session, from 0.
    pub pos: u32,
    /// `ok` (its reads count) rather than `info`.
    pub ok: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyKind {
    /// Only read, never written by an `ok` or `info` operation.
    Unwritten,
    Register,
    List,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Write {
    pub txn: u32,
    pub key: u32,
    /// Whether no later micro-op of the transaction writes the key (always, for appends).
    pub last: bool,
    /// Position of the micro-op in its transaction.
    pub micro: u32,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum ReadKind {
    /// A register read of nil.
    Init,
    /// A register read of the value of this write.
    From(u32),
    /// A list read; its elements' writes are `elems[start..start + len]`.
    List { start: usize, len: usize },
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Read {
    pub txn: u32,
    pub key: u32,
    pub micro: u32,
    pub kind: ReadKind,
}

/// A read of a value nobody wrote: `element` is the list element when the read is a list.
#[derive(Clone, Copy, Debug)]
pub(super) struct ThinAir<'a> {
    pub txn: u32,
    pub micro: u32,
    pub key: &'a Value,
    pub element: Option<&'a Value>,
}

/// The writes of one key on one chain, `entry_*[start..end]`, in chain order.
#[derive(Clone, Copy, Debug)]
pub(super) struct KeyChain {
    pub chain: u32,
    pub start: u32,
    pub end: u32,
}

pub(super) struct Index<'a> {
    pub history: &'a PairedHistory,
    /// The `ok` and `info` operations, in invocation order.
    pub txns: Vec<Txn>,
    /// The process of each session, ascending.
    pub session_process: Vec<i64>,
    /// Transactions by session then position: session `s` is
    /// `session_txns[session_start[s]..session_start[s + 1]]`.
    pub session_txns: Vec<u32>,
    pub session_start: Vec<u32>,
    pub keys: Vec<&'a Value>,
    key_ids: FxMap<ValueKey<'a>, u32>,
    pub key_kind: Vec<KeyKind>,
    pub writes: Vec<Write>,
    write_of: FxMap<(u32, ValueKey<'a>), u32>,
    /// Writes by `fail` operations (pair positions), to explain thin-air reads.
    failed_write_of: FxMap<(u32, ValueKey<'a>), u32>,
    /// Per key, the range of `key_chains` holding its writers (see [`Index::index_entries`]).
    pub key_range: Vec<(u32, u32)>,
    pub key_chains: Vec<KeyChain>,
    /// The chain position and write of each (key, chain) entry.
    pub entry_pos: Vec<u32>,
    pub entry_write: Vec<u32>,
    /// Each write's position among its (key, chain) entries, or [`NONE`].
    pub write_rank: Vec<u32>,
    /// The kept `wr` sources of each transaction: `srcs[srcs_start[t]..srcs_start[t + 1]]`,
    /// the latest writer per source session.
    pub srcs_start: Vec<usize>,
    pub srcs: Vec<u32>,
    pub reads: Vec<Read>,
    pub elems: Vec<u32>,
    pub thin_air: Vec<ThinAir<'a>>,
}

impl<'a> Index<'a> {
    pub fn build(history: &'a PairedHistory, deadline: &Deadline) -> Result<Index<'a>, String> {
        let mut ix = Index {
            history,
            txns: Vec::new(),
            session_process: Vec::new(),
            session_txns: Vec::new(),
            session_start: Vec::new(),
            keys: Vec::new(),
            key_ids: FxMap::default(),
            key_kind: Vec::new(),
            writes: Vec::new(),
            write_of: FxMap::default(),
            failed_write_of: FxMap::default(),
            key_range: Vec::new(),
            key_chains: Vec::new(),
            entry_pos: Vec::new(),
            entry_write: Vec::new(),
            write_rank: Vec::new(),
            srcs_start: Vec::new(),
            srcs: Vec::new(),
            reads: Vec::new(),
            elems: Vec::new(),
            thin_air: Vec::new(),
        };
        ix.index_writes(deadline)?;
        ix.index_sessions();
        ix.resolve_reads(deadline)?;
        Ok(ix)
    }

    fn intern(&mut self, key: &'a Value) -> u32 {
        match self.key_ids.entry(ValueKey::of(key)) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                let id = self.keys.len() as u32;
                e.insert(id);
                self.keys.push(key);
                self.key_kind.push(KeyKind::Unwritten);
                id
            }
        }
    }

    /// Pass one: the transactions, their sessions, and every write.
    fn index_writes(&mut self, deadline: &Deadline) -> Result<(), String> {
        let history = self.history;
        let pairs = history.pairs();
        let processes: BTreeSet<i64> = pairs
            .iter()
            .filter(|pair| pair.outcome != Outcome::Fail)
            .filter_map(|pair| match history.invocation(pair).process {
                Process::Client(p) => Some(p),
                Process::Nemesis => None,
            })
            .collect();
        self.session_process = processes.into_iter().collect();
        let mut next_pos = vec![0u32; self.session_process.len()];
        let mut ops = Vec::new();
        for (pi, pair) in pairs.iter().enumerate() {
            if pi.is_multiple_of(4096) {
                deadline.check("indexing writes")?;
            }
            let inv = history.invocation(pair);
            micro_ops(&inv.f, history.value(pair), &mut ops)
                .map_err(|e| format!("cannot read {}: {e}", at(history, pair)))?;
            if pair.outcome == Outcome::Fail {
                for op in &ops {
                    if let Micro::Write(k, v) | Micro::Append(k, v) = *op {
                        let key = self.intern(k);
                        self.failed_write_of
                            .entry((key, ValueKey::of(v)))
                            .or_insert(pi as u32);
                    }
                }
                continue;
            }
            let Process::Client(p) = inv.process else {
                continue;
            };
            let Ok(session) = self.session_process.binary_search(&p) else {
                continue;
            };
            let Some(pos) = next_pos.get_mut(session) else {
                continue;
            };
            let t = self.txns.len() as u32;
            self.txns.push(Txn {
                pair: pi as u32,
                session: session as u32,
                pos: *pos,
                ok: pair.outcome == Outcome::Ok,
            });
            *pos += 1;
            for (i, op) in ops.iter().enumerate() {
                let (Micro::Write(k, v) | Micro::Append(k, v)) = *op else {
                    continue;
                };
                let append = matches!(op, Micro::Append(..));
                let key = self.intern(k);
                let kind = if append {
                    KeyKind::List
                } else {
                    KeyKind::Register
                };
                let w = self.writes.len() as u32;
                if w == NONE {
                    return Err(format!("more than {} writes", NONE - 1));
                }
                match self.key_kind[key as usize] {
                    KeyKind::Unwritten => self.key_kind[key as usize] = kind,
                    known if known == kind => {}
                    _ => {
                        return Err(format!(
                            "cannot check {}: key {k} is both written and appended to; a key \
                             must be a register or a list",
                            at(history, pair)
                        ))
                    }
                }
                if !append && v.is_nil() {
                    return Err(format!(
                        "cannot check {}: it writes {k} = nil, which reads cannot tell from \
                         the initial value",
                        at(history, pair)
                    ));
                }
                match self.write_of.entry((key, ValueKey::of(v))) {
                    Entry::Occupied(e) => {
                        let other = self.writes[*e.get() as usize].txn;
                        return Err(format!(
                            "ambiguous history: {} and {} both write {k} = {v}; reads-from needs \
                             each value written to a key at most once",
                            at(history, self.pair(other)),
                            at(history, pair)
                        ));
                    }
                    Entry::Vacant(e) => {
                        e.insert(w);
                    }
                }
                // A register read from outside sees a transaction's last write of the key.
                let last = append
                    || !ops
                        .iter()
                        .skip(i + 1)
                        .any(|later| matches!(*later, Micro::Write(k2, _) if k2 == k));
                self.writes.push(Write {
                    txn: t,
                    key,
                    last,
                    micro: i as u32,
                });
            }
        }
        Ok(())
    }

    /// The writes by key and chain, once the clocks have put transactions on chains: for
    /// registers a transaction's last write of a key, for lists every append. Writes of
    /// transactions on no chain are left out: nothing has them in its past.
    pub fn index_entries(&mut self, clocks: &Clocks) {
        let mut entries: Vec<(u32, u32, u32, u32)> = Vec::new();
        for (w, write) in self.writes.iter().enumerate() {
            let t = write.txn as usize;
            let chain = clocks.chain[t];
            if write.last && chain != NONE {
                entries.push((write.key, chain, clocks.chain_pos[t], w as u32));
            }
        }
        entries.sort_unstable();
        self.write_rank = vec![NONE; self.writes.len()];
        self.key_range = vec![(0, 0); self.keys.len()];
        let mut i = 0;
        while i < entries.len() {
            let (key, chain, _, _) = entries[i];
            let start = i;
            while i < entries.len() && (entries[i].0, entries[i].1) == (key, chain) {
                let (_, _, pos, w) = entries[i];
                self.write_rank[w as usize] = (i - start) as u32;
                self.entry_pos.push(pos);
                self.entry_write.push(w);
                i += 1;
            }
            let kc = self.key_chains.len() as u32;
            let range = &mut self.key_range[key as usize];
            if range.1 == 0 {
                *range = (kc, kc);
            }
            range.1 = kc + 1;
            self.key_chains.push(KeyChain {
                chain,
                start: start as u32,
                end: i as u32,
            });
        }
    }

    fn index_sessions(&mut self) {
        let k = self.session_process.len();
        let mut count = vec![0u32; k + 1];
        for txn in &self.txns {
            count[txn.session as usize + 1] += 1;
        }
        for s in 0..k {
            count[s + 1] += count[s];
        }
        self.session_start = count.clone();
        self.session_txns = vec![0; self.txns.len()];
        for (t, txn) in self.txns.iter().enumerate() {
            let slot = self.session_start[txn.session as usize] + txn.pos;
            self.session_txns[slot as usize] = t as u32;
        }
    }

    /// Pass two: the reads of `ok` transactions, resolved to the writes they read.
    fn resolve_reads(&mut self, deadline: &Deadline) -> Result<(), String> {
        let history = self.history;
        let mut ops = Vec::new();
        let mut own: Vec<u32> = Vec::new();
        // (session, position, transaction) of the writers a transaction read from.
        let mut sources: Vec<(u32, u32, u32)> = Vec::new();
        self.srcs_start.push(0);
        for t in 0..self.txns.len() as u32 {
            if t.is_multiple_of(4096) {
                deadline.check("resolving reads")?;
            }
            let txn = self.txns[t as usize];
            sources.clear();
            if txn.ok {
                let pair = self.pair(t);
                let inv = history.invocation(pair);
                micro_ops(&inv.f, history.value(pair), &mut ops)
                    .map_err(|e| format!("cannot read {}: {e}", at(history, pair)))?;
                own.clear();
                for (i, op) in ops.iter().enumerate() {
                    match *op {
                        Micro::Write(k, _) | Micro::Append(k, _) => {
                            if let Some(key) = self.key_id(k) {
                                own.push(key);
                            }
                        }
                        Micro::Read(k, v) => {
                            self.resolve_read(t, i as u32, k, v, &own, &mut sources)
                                .map_err(|e| format!("cannot check {}: {e}", at(history, pair)))?;
                        }
                    }
                }
            }
            // Keep the latest writer of each source session: session order implies the rest.
            sources.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            sources.dedup_by_key(|s| s.0);
            self.srcs.extend(sources.iter().map(|s| s.2));
            self.srcs_start.push(self.srcs.len());
        }
        Ok(())
    }

    fn resolve_read(
        &mut self,
        t: u32,
        micro: u32,
        k: &'a Value,
        v: &'a Value,
        own: &[u32],
        sources: &mut Vec<(u32, u32, u32)>,
    ) -> Result<(), String> {
        let key = self.key_id(k);
        let kind = key.map_or(KeyKind::Unwritten, |key| self.key_kind[key as usize]);
        let thin_air = |element| ThinAir {
            txn: t,
            micro,
            key: k,
            element,
        };
        let (key, kind) = match (key, kind) {
            (Some(key), KeyKind::Register | KeyKind::List) => (key, kind),
            _ => {
                if !(v.is_nil() || v.as_list().is_some_and(|l| l.is_empty())) {
                    self.thin_air.push(thin_air(None));
                }
                return Ok(());
            }
        };
        if kind == KeyKind::Register {
            if own.contains(&key) {
                // A read after the transaction's own write: an internal matter.
                return Ok(());
            }
            let read_kind = if v.is_nil() {
                ReadKind::Init
            } else {
                match self.writer_of(key, v) {
                    Some(w) => {
                        let writer = self.writes[w as usize].txn;
                        if writer == t {
                            // A read of a write later in the same transaction.
                            return Ok(());
                        }
                        let wt = self.txns[writer as usize];
                        sources.push((wt.session, wt.pos, writer));
                        ReadKind::From(w)
                    }
                    None => {
                        self.thin_air.push(thin_air(None));
                        return Ok(());
                    }
                }
            };
            self.reads.push(Read {
                txn: t,
                key,
                micro,
                kind: read_kind,
            });
            return Ok(());
        }
        let items: &[Value] = match v {
            Value::Nil => &[],
            Value::List(items) => items,
            other => {
                return Err(format!(
                    "it reads {k} = {other}, but {k} is a list (it is appended to)"
                ))
            }
        };
        // A read with an element nobody wrote still reads from the writers of the others.
        let start = self.elems.len();
        let mut unwritten = None;
        for item in items {
            let Some(w) = self.writer_of(key, item) else {
                unwritten = unwritten.or(Some(item));
                continue;
            };
            self.elems.push(w);
            let writer = self.writes[w as usize].txn;
            if writer != t {
                let wt = self.txns[writer as usize];
                sources.push((wt.session, wt.pos, writer));
            }
        }
        if let Some(item) = unwritten {
            self.elems.truncate(start);
            self.thin_air.push(thin_air(Some(item)));
            return Ok(());
        }
        self.reads.push(Read {
            txn: t,
            key,
            micro,
            kind: ReadKind::List {
                start,
                len: self.elems.len() - start,
            },
        });
        Ok(())
    }

    pub fn pair(&self, t: u32) -> &'a Pair {
        let history = self.history;
        let pi = self.txns.get(t as usize).map_or(0, |txn| txn.pair as usize);
        &history.pairs()[pi]
    }

    pub fn key_id(&self, key: &Value) -> Option<u32> {
        self.key_ids.get(&ValueKey::of(key)).copied()
    }

    /// The write of `value` to `key` by an `ok` or `info` operation.
    pub fn writer_of(&self, key: u32, value: &Value) -> Option<u32> {
        self.write_of.get(&(key, ValueKey::of(value))).copied()
    }

    /// The pair position of a `fail` operation that wrote `value` to `key`.
    pub fn failed_writer_of(&self, key: u32, value: &Value) -> Option<u32> {
        self.failed_write_of
            .get(&(key, ValueKey::of(value)))
            .copied()
    }

    pub fn srcs(&self, t: u32) -> &[u32] {
        let t = t as usize;
        &self.srcs[self.srcs_start[t]..self.srcs_start[t + 1]]
    }

    pub fn key_chains(&self, key: u32) -> &[KeyChain] {
        match self.key_range.get(key as usize) {
            Some(&(a, b)) => &self.key_chains[a as usize..b as usize],
            None => &[],
        }
    }

    /// The transactions of a session, in order.
    pub fn session(&self, session: u32) -> &[u32] {
        let s = session as usize;
        &self.session_txns[self.session_start[s] as usize..self.session_start[s + 1] as usize]
    }

    /// The number of entries of `ks` at chain positions below `limit`.
    pub fn count_below(&self, ks: &KeyChain, limit: u32) -> u32 {
        self.entry_pos[ks.start as usize..ks.end as usize].partition_point(|&p| p < limit) as u32
    }

    /// The micro-ops of a transaction, parsed again (for explanations).
    pub fn micro_ops(&self, t: u32) -> Vec<Micro<'a>> {
        let history = self.history;
        let pair = self.pair(t);
        let mut ops = Vec::new();
        let _ = micro_ops(&history.invocation(pair).f, history.value(pair), &mut ops);
        ops
    }
}

/// Where an operation is, for messages: its history index and, when read from a file, its
/// line and column.
pub(super) fn at(history: &PairedHistory, pair: &Pair) -> String {
    let op = history.invocation(pair);
    let done = history.completion(pair).unwrap_or(op);
    if done.pos.line > 0 {
        format!(
            "the operation at {}: {} (index {}, process {})",
            history.source_name(),
            done.pos,
            done.index,
            op.process
        )
    } else {
        format!(
            "the operation with index {} (process {})",
            done.index, op.process
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::MicroOp;

    #[test]
    fn borrowed_micro_ops_read_as_txn_of() {
        let kw = |s: &str| Value::Keyword(s.into());
        let cases = [
            (
                "txn",
                Value::List(vec![
                    Value::List(vec![kw("append"), Value::Int(3), Value::Int(4)]),
                    Value::List(vec!["r".into(), Value::Int(3), Value::Nil]),
                    Value::List(vec![kw("w"), Value::Int(1), Value::Int(2)]),
                ]),
            ),
            ("write", Value::List(vec![Value::Int(1), Value::Int(2)])),
            ("read", Value::List(vec![Value::Int(1), Value::Nil])),
            ("append", Value::List(vec![Value::Int(1), Value::Int(2)])),
            ("txn", Value::Int(3)),
            (
                "txn",
                Value::List(vec![Value::List(vec![kw("x"), Value::Int(1), Value::Nil])]),
            ),
        ];
        for (f, value) in cases {
            let mut ours = Vec::new();
            let got = micro_ops(f, &value, &mut ours).map(|()| {
                ours.iter()
                    .map(|op| match *op {
                        Micro::Read(k, v) => MicroOp::Read {
                            key: k.clone(),
                            value: v.clone(),
                        },
                        Micro::Write(k, v) => MicroOp::Write {
                            key: k.clone(),
                            value: v.clone(),
                        },
                        Micro::Append(k, v) => MicroOp::Append {
                            key: k.clone(),
                            value: v.clone(),
                        },
                    })
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, txn::txn_of(f, &value), "{f} {value}");
        }
        let mut ours = Vec::new();
        assert_eq!(micro_ops("write", &Value::Int(3), &mut ours), Ok(()));
        assert_eq!(ours, [Micro::Write(&UNKEYED, &Value::Int(3))]);
        assert!(micro_ops("append", &Value::Int(3), &mut ours).is_err());
    }
}
