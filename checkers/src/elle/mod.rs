//! Elle-style transactional anomaly detection (Kingsbury & Alvaro, "Elle: Inferring Isolation
//! Anomalies from Experimental Observations", VLDB 2020), over Adya's dependency graphs
//! (Adya, "Weak Consistency: A Generalized Theory and Optimistic Implementations for
//! Distributed Transactions", MIT 1999).
//!
//! Two workloads, as Elle's: **list-append** (`["append",k,v]`, `["r",k,[...]]`), whose reads
//! reveal the whole version order of a key, and **rw-register** (`["w",k,v]`, `["r",k,v]`),
//! whose reads reveal much less. From the history we infer, per workload, the version order
//! of each key and the write-write (ww), write-read (wr) and read-write (rw, anti-dependency)
//! edges between transactions ([`list_append`], [`rw_register`]); we add each process's order
//! and the realtime order (a transitive reduction, as Elle's: each completed transaction links
//! only to the transactions invoked after it that are not already ordered through another).
//! Cycles in that graph are anomalies (G0, G1c, G-single, G-nonadjacent, G2-item and their
//! `-process` and `-realtime` variants), found by a bounded search ([`graph`]); other
//! anomalies (G1a, G1b, internal, dirty-update, lost-update, duplicate-elements,
//! incompatible-order, garbage-read, future-read) are read off the inference directly.
//! [`model`] maps anomalies to the consistency models they rule out.
//!
//! Transactions that completed `info` may or may not have happened: their writes can be read
//! (and then they did happen), their reads are unknown and ignored. Transactions that
//! completed `fail` did not happen: they are not in the graph, and reading their writes is
//! G1a (an aborted read).
//!
//! **Bounds:** the cycle search has a global time budget ([`ElleOptions::time_limit`]) and
//! each component half of it; a search cut short is reported as `cycle-search-timeout`, and
//! the verdict is `unknown` if the classes left unsearched include one the requested models
//! prohibit and nothing prohibited was found. The graph stays linear in the history: one
//! mask per transaction pair, and a transitive reduction of the realtime order.
//!
//! The entry point is [`check`]; [`sim`] generates histories of simulated serializable and
//! snapshot-isolated stores for tests and benchmarks.
//!
//! **Invariant:** `check` never panics; micro-ops it cannot read are an [`ElleError`] naming
//! the operation's line, and an inconsistent history is an [`ElleResult`].

pub mod graph;
pub mod list_append;
pub mod model;
pub mod rw_register;
pub mod sim;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use schism_histories::{OpType, Outcome, PairedHistory, Pos, Process, Value};

use crate::txn::{txn_ref_of, MicroOpRef};
use crate::Validity;
use graph::{classify, kind_name, Component, CycleEdge, Graph, PROCESS, REALTIME, RW, WR, WW};
pub use model::ConsistencyModel;

/// Which kind of transactions the history holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    ListAppend,
    RwRegister,
}

impl Workload {
    pub fn parse(name: &str) -> Result<Workload, String> {
        match name.trim().trim_start_matches(':') {
            "list-append" | "append" => Ok(Workload::ListAppend),
            "rw-register" | "wr" => Ok(Workload::RwRegister),
            other => Err(format!(
                "unknown workload {other:?}; known workloads are list-append, rw-register"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ElleOptions {
    pub workload: Workload,
    /// The models the history is checked against; empty means strict-serializable.
    pub consistency_models: Vec<ConsistencyModel>,
    /// The budget of the whole cycle search (inference is not bounded: it is linear); each
    /// component may use half of it.
    pub time_limit: Duration,
}

impl Default for ElleOptions {
    fn default() -> Self {
        ElleOptions {
            workload: Workload::ListAppend,
            consistency_models: vec![ConsistencyModel::StrictSerializable],
            time_limit: Duration::from_secs(10),
        }
    }
}

/// The history cannot be read as transactions of the workload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElleError {
    #[error("{source_name}: {pos}: operation {index}: {message}")]
    Malformed {
        source_name: String,
        pos: Pos,
        index: u64,
        message: String,
    },
}

/// A transaction as anomalies name it.
#[derive(Clone, Debug, PartialEq)]
pub struct TxnRef {
    /// `T1`, `T2`, ...: unique within one anomaly.
    pub name: String,
    /// The history index of the line that shows the transaction's values: the completion
    /// for an `ok` transaction, the invocation otherwise.
    pub index: u64,
    pub process: String,
    /// `ok`, `info` or `fail`.
    pub outcome: String,
    /// The micro-ops, as that line has them.
    pub value: Value,
}

/// One edge of a cycle, with the sentence that justifies it.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub from: String,
    pub to: String,
    /// `ww`, `wr`, `rw`, `process` or `realtime`.
    pub kind: String,
    pub explanation: String,
}

/// One anomaly and its witness.
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// Elle's name: `G0`, `G-single-realtime`, `G1a`, `incompatible-order`, ...
    pub kind: String,
    pub txns: Vec<TxnRef>,
    /// For cycle anomalies, the cycle's edges in order; empty otherwise.
    pub cycle: Vec<Step>,
    /// What a person checks by hand, in sentences.
    pub explanation: String,
}

#[derive(Clone, Debug)]
pub struct ElleResult {
    pub valid: Validity,
    /// The models checked against.
    pub consistency_models: Vec<ConsistencyModel>,
    /// The kinds of anomaly found, sorted.
    pub anomaly_types: Vec<String>,
    /// At most [`MAX_ANOMALIES_PER_KIND`] of each kind, sorted by their first transaction.
    pub anomalies: BTreeMap<String, Vec<Anomaly>>,
    /// How many of each kind were found, kept or not.
    pub anomaly_counts: BTreeMap<String, usize>,
    /// The weakest models the anomalies rule out (Elle's `:not`).
    pub not: Vec<String>,
    /// The stronger models also ruled out (Elle's `:also-not`).
    pub also_not: Vec<String>,
    pub txn_count: usize,
    pub edge_count: usize,
}

/// Checks a history of `options.workload` transactions against `options.consistency_models`.
pub fn check(history: &PairedHistory, options: &ElleOptions) -> Result<ElleResult, ElleError> {
    let txns = Txns::read(history, options.workload)?;
    let models = if options.consistency_models.is_empty() {
        vec![ConsistencyModel::StrictSerializable]
    } else {
        options.consistency_models.clone()
    };
    let prohibited = model::anomalies_prohibited_by(&models);
    let mut workload: Box<dyn Inference + '_> = match options.workload {
        Workload::ListAppend => Box::new(list_append::ListAppend::infer(&txns)?),
        Workload::RwRegister => Box::new(rw_register::RwRegister::infer(&txns)?),
    };
    let mut edges = workload.take_edges();
    session_edges(history, &txns, &mut edges);
    let graph = Graph::new(txns.list.len(), edges);
    let sccs = graph.sccs();
    let mut found = workload.take_anomalies();
    // The budget is the cycle search's: inference is linear in the history and always runs
    // to the end.
    let deadline = Instant::now() + options.time_limit;
    let mut relevant_timeout = false;
    for scc in sccs {
        let now = Instant::now();
        let scc_deadline = (now + options.time_limit / 2).min(deadline);
        let (cycles, timed_out) = search_component(&graph, &scc, scc_deadline, &prohibited);
        for cycle in cycles {
            if found.wants(&classify(&cycle)) {
                found.list.push(explain_cycle(&txns, &*workload, &cycle));
            }
        }
        if !timed_out.is_empty() {
            relevant_timeout |= timed_out.iter().any(|t| prohibited.contains(t.as_str()));
            if found.wants("cycle-search-timeout") {
                found.list.push(timeout_anomaly(&txns, &scc, &timed_out));
            }
        }
    }
    Ok(ElleResult::new(
        found,
        models,
        &prohibited,
        relevant_timeout,
        txns.list.len(),
        graph.edge_count(),
    ))
}

impl ElleResult {
    fn new(
        found: Reporter,
        models: Vec<ConsistencyModel>,
        prohibited: &BTreeSet<&str>,
        relevant_timeout: bool,
        txn_count: usize,
        edge_count: usize,
    ) -> ElleResult {
        let mut anomalies: BTreeMap<String, Vec<Anomaly>> = BTreeMap::new();
        for a in found.list {
            anomalies.entry(a.kind.clone()).or_default().push(a);
        }
        let mut anomaly_counts = found.counts;
        for (kind, list) in anomalies.iter_mut() {
            list.sort_by(|a, b| {
                let key = |x: &Anomaly| x.txns.iter().map(|t| t.index).min();
                key(a)
                    .cmp(&key(b))
                    .then_with(|| a.explanation.cmp(&b.explanation))
            });
            let before = list.len();
            list.dedup();
            if let Some(count) = anomaly_counts.get_mut(kind) {
                *count -= before - list.len();
            }
        }
        let anomaly_types: Vec<String> = anomalies.keys().cloned().collect();
        let names: BTreeSet<&str> = anomaly_types
            .iter()
            .map(String::as_str)
            .filter(|t| *t != "cycle-search-timeout")
            .collect();
        let (not, also_not) = model::boundary(&names);
        let valid = if names.iter().any(|t| prohibited.contains(t)) {
            Validity::Invalid
        } else if relevant_timeout {
            Validity::Unknown
        } else {
            Validity::Valid
        };
        ElleResult {
            valid,
            consistency_models: models,
            anomaly_types,
            anomalies,
            anomaly_counts,
            not,
            also_not,
            txn_count,
            edge_count,
        }
    }

    /// A report a person can check against the history, anomaly by anomaly.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let models: Vec<&str> = self.consistency_models.iter().map(|m| m.name()).collect();
        let _ = writeln!(
            out,
            "{} against {} ({} transactions, {} edges)",
            self.valid,
            models.join(", "),
            self.txn_count,
            self.edge_count
        );
        if !self.not.is_empty() {
            let _ = writeln!(out, "not {}", self.not.join(", "));
        }
        if !self.also_not.is_empty() {
            let _ = writeln!(out, "also not {}", self.also_not.join(", "));
        }
        const SHOWN: usize = 10;
        for (kind, list) in &self.anomalies {
            let count = self.anomaly_counts.get(kind).copied().unwrap_or(list.len());
            let _ = writeln!(out, "\n{kind} ({count} found)");
            for (i, a) in list.iter().take(SHOWN).enumerate() {
                let _ = writeln!(out, "  #{}", i + 1);
                for t in &a.txns {
                    let _ = writeln!(
                        out,
                        "    {} (index {}, process {}, {}): {}",
                        t.name, t.index, t.process, t.outcome, t.value
                    );
                }
                let _ = writeln!(out, "    {}", a.explanation);
                for s in &a.cycle {
                    let _ = writeln!(out, "    - {}", s.explanation);
                }
            }
            if count > SHOWN {
                let _ = writeln!(out, "  ... and {} more", count - SHOWN);
            }
        }
        out
    }

    /// The result as JSON, with stable field names and deterministic order.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let anomalies: serde_json::Map<String, serde_json::Value> = self
            .anomalies
            .iter()
            .map(|(kind, list)| {
                let items = list
                    .iter()
                    .map(|a| {
                        json!({
                            "type": a.kind,
                            "txns": a.txns.iter().map(|t| json!({
                                "name": t.name,
                                "index": t.index,
                                "process": t.process.parse::<i64>().map_or_else(
                                    |_| serde_json::Value::from(t.process.clone()),
                                    serde_json::Value::from,
                                ),
                                "type": t.outcome,
                                "value": t.value.to_json(),
                            })).collect::<Vec<_>>(),
                            "cycle": a.cycle.iter().map(|s| json!({
                                "from": s.from,
                                "to": s.to,
                                "type": s.kind,
                                "explanation": s.explanation,
                            })).collect::<Vec<_>>(),
                            "explanation": a.explanation,
                        })
                    })
                    .collect::<Vec<_>>();
                (kind.clone(), serde_json::Value::Array(items))
            })
            .collect();
        json!({
            "valid": self.valid.as_str(),
            "consistency_models": self.consistency_models.iter().map(|m| m.name()).collect::<Vec<_>>(),
            "anomaly_types": self.anomaly_types,
            "anomaly_counts": self.anomaly_counts,
            "anomalies": anomalies,
            "not": self.not,
            "also_not": self.also_not,
            "txn_count": self.txn_count,
            "edge_count": self.edge_count,
        })
    }
}

/// A fast non-cryptographic hash (the Fx hash of rustc) for the checker's interning tables:
/// the keys are the history's own values, and SipHash's DoS protection buys nothing here.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        // Fx mixes the high bits well and the low bits poorly, and hashbrown takes the
        // bucket from the low bits: fold the high bits down (SplitMix64's finalizer).
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A micro-op with its key interned.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mop<'a> {
    pub key: u32,
    pub op: MicroOpRef<'a>,
}

/// One transaction: a client operation of the history.
#[derive(Debug)]
pub(crate) struct Txn<'a> {
    pub index: u64,
    pub invoke_index: u64,
    pub complete_index: Option<u64>,
    pub process: Process,
    pub outcome: Outcome,
    pub value: &'a Value,
    pub ops: Vec<Mop<'a>>,
}

/// The transactions of a history, in invocation order (so that the `i`th is the `i`th pair
/// of the [`PairedHistory`]), and the interned keys.
pub(crate) struct Txns<'a> {
    pub list: Vec<Txn<'a>>,
    pub keys: Vec<&'a Value>,
}

impl<'a> Txns<'a> {
    fn read(history: &'a PairedHistory, workload: Workload) -> Result<Txns<'a>, ElleError> {
        let mut key_ids: FxMap<&'a Value, u32> = FxMap::default();
        let mut keys: Vec<&'a Value> = Vec::new();
        let mut list = Vec::with_capacity(history.pairs().len());
        for pair in history.pairs() {
            let invoke = history.invocation(pair);
            let complete = history.completion(pair);
            let line = match (pair.outcome, complete) {
                (Outcome::Ok, Some(done)) => done,
                _ => invoke,
            };
            let malformed = |message: String| ElleError::Malformed {
                source_name: history.source_name().to_string(),
                pos: line.pos,
                index: line.index,
                message,
            };
            let value = history.value(pair);
            let raw = txn_ref_of(&invoke.f, value).map_err(malformed)?;
            let mut ops = Vec::with_capacity(raw.len());
            for op in raw {
                match (workload, op) {
                    (Workload::ListAppend, MicroOpRef::Write { .. }) => {
                        return Err(malformed(
                            "list-append transactions take r and append micro-ops, found w"
                                .to_string(),
                        ))
                    }
                    (Workload::RwRegister, MicroOpRef::Append { .. }) => {
                        return Err(malformed(
                            "rw-register transactions take r and w micro-ops, found append"
                                .to_string(),
                        ))
                    }
                    (Workload::ListAppend, MicroOpRef::Read { value, .. })
                        if pair.outcome == Outcome::Ok
                            && !value.is_nil()
                            && value.as_list().is_none() =>
                    {
                        return Err(malformed(format!(
                            "a list-append read returns a list or nil, found {value}"
                        )))
                    }
                    _ => {}
                }
                let next = keys.len() as u32;
                let key = *key_ids.entry(op.key()).or_insert_with(|| {
                    keys.push(op.key());
                    next
                });
                ops.push(Mop { key, op });
            }
            list.push(Txn {
                index: line.index,
                invoke_index: invoke.index,
                complete_index: complete.map(|c| c.index),
                process: invoke.process,
                outcome: pair.outcome,
                value,
                ops,
            });
        }
        Ok(Txns { list, keys })
    }

    pub fn get(&self, id: u32) -> Option<&Txn<'a>> {
        self.list.get(id as usize)
    }

    pub fn outcome(&self, id: u32) -> Outcome {
        self.get(id).map_or(Outcome::Fail, |t| t.outcome)
    }

    pub fn key(&self, key: u32) -> &'a Value {
        self.keys.get(key as usize).copied().unwrap_or(&Value::Nil)
    }

    /// The reference to a transaction as anomalies show it.
    pub fn txn_ref(&self, id: u32, name: String) -> TxnRef {
        match self.get(id) {
            Some(t) => TxnRef {
                name,
                index: t.index,
                process: t.process.to_string(),
                outcome: t.outcome.as_str().to_string(),
                value: t.value.clone(),
            },
            None => TxnRef {
                name,
                index: 0,
                process: String::new(),
                outcome: String::new(),
                value: Value::Nil,
            },
        }
    }

    /// A non-cycle anomaly over `ids` (named T1, T2, ... in that order), whose explanation
    /// `explain` writes given those names.
    pub fn anomaly(&self, kind: &str, ids: &[u32], explain: impl Fn(&Names) -> String) -> Anomaly {
        let mut ids = ids.to_vec();
        ids.sort_by_key(|&id| self.get(id).map(|t| t.index));
        ids.dedup();
        self.named_anomaly(kind, &ids, explain)
    }

    /// Like [`Self::anomaly`], but names the transactions in the order given.
    pub fn named_anomaly(
        &self,
        kind: &str,
        ids: &[u32],
        explain: impl Fn(&Names) -> String,
    ) -> Anomaly {
        let names = Names::new(self, ids);
        Anomaly {
            kind: kind.to_string(),
            txns: ids
                .iter()
                .enumerate()
                .map(|(i, &id)| self.txn_ref(id, format!("T{}", i + 1)))
                .collect(),
            cycle: Vec::new(),
            explanation: explain(&names),
        }
    }
}

/// Names of the transactions of one anomaly, for its sentences.
pub(crate) struct Names {
    names: Vec<(u32, String, u64, String)>,
}

impl Names {
    fn new(txns: &Txns<'_>, ids: &[u32]) -> Names {
        Names {
            names: ids
                .iter()
                .enumerate()
                .map(|(i, &id)| {
                    let (index, process) = txns
                        .get(id)
                        .map_or((0, String::new()), |t| (t.index, t.process.to_string()));
                    (id, format!("T{}", i + 1), index, process)
                })
                .collect(),
        }
    }

    fn find(&self, id: u32) -> Option<&(u32, String, u64, String)> {
        self.names.iter().find(|n| n.0 == id)
    }

    /// `T1`.
    pub fn name(&self, id: u32) -> String {
        self.find(id).map_or(format!("txn {id}"), |n| n.1.clone())
    }

    /// `T1 (index 3)`.
    pub fn indexed(&self, id: u32) -> String {
        self.find(id)
            .map_or(format!("txn {id}"), |n| format!("{} (index {})", n.1, n.2))
    }

    /// `T1 (index 3, process 2)`.
    pub fn full(&self, id: u32) -> String {
        self.find(id).map_or(format!("txn {id}"), |n| {
            format!("{} (index {}, process {})", n.1, n.2, n.3)
        })
    }
}

/// How many anomalies of one kind are kept with their witness; the rest are only counted, so
/// that a history where every read is wrong does not hold a million explanations.
pub const MAX_ANOMALIES_PER_KIND: usize = 1000;

/// Collects anomalies, keeping at most [`MAX_ANOMALIES_PER_KIND`] of each kind and counting
/// all of them. The explanation of one past the cap is never written.
#[derive(Default)]
pub(crate) struct Reporter {
    pub list: Vec<Anomaly>,
    pub counts: BTreeMap<String, usize>,
}

impl Reporter {
    /// Counts one anomaly of `kind`; true if it is to be kept (and so explained).
    pub fn wants(&mut self, kind: &str) -> bool {
        let count = self.counts.entry(kind.to_string()).or_default();
        *count += 1;
        *count <= MAX_ANOMALIES_PER_KIND
    }

    pub fn report(
        &mut self,
        txns: &Txns<'_>,
        kind: &str,
        ids: &[u32],
        explain: impl Fn(&Names) -> String,
    ) {
        if self.wants(kind) {
            self.list.push(txns.anomaly(kind, ids, explain));
        }
    }
}

/// What a workload infers, and how it explains its own edges.
pub(crate) trait Inference {
    /// The ww, wr and rw edges, moved out.
    fn take_edges(&mut self) -> Vec<(u32, u32, u8)>;
    /// The anomalies found without looking for cycles, moved out.
    fn take_anomalies(&mut self) -> Reporter;
    /// A sentence justifying the data edge `from -kind-> to`.
    fn explain_edge(&self, from: u32, to: u32, kind: u8, names: &Names) -> String;
}

/// Adds process edges (each process's transactions in order) and realtime edges (a
/// transitive reduction: when `t` is invoked, it is linked from each completed transaction
/// not already known to precede another completed one; Elle's `realtime-graph`). `fail`
/// transactions are left out; `info` ones never complete, so nothing follows them in real
/// time.
fn session_edges(history: &PairedHistory, txns: &Txns<'_>, edges: &mut Vec<(u32, u32, u8)>) {
    let mut last: FxMap<Process, u32> = FxMap::default();
    for (id, t) in txns.list.iter().enumerate() {
        if t.outcome == Outcome::Fail {
            continue;
        }
        if let Some(prev) = last.insert(t.process, id as u32) {
            edges.push((prev, id as u32, PROCESS));
        }
    }
    let mut frontier: Vec<u32> = Vec::new();
    let mut before: FxMap<u32, Vec<u32>> = FxMap::default();
    for (pos, op) in history.history().ops.iter().enumerate() {
        let Some(id) = history.pair_index_at(pos) else {
            continue;
        };
        let id = id as u32;
        if txns.outcome(id) == Outcome::Fail {
            continue;
        }
        if op.kind == OpType::Invoke {
            for &c in &frontier {
                edges.push((c, id, REALTIME));
            }
            before.insert(id, frontier.clone());
        } else {
            let preds = before.remove(&id).unwrap_or_default();
            if op.kind == OpType::Ok {
                frontier.retain(|c| !preds.contains(c));
                frontier.push(id);
            }
        }
    }
}

/// The families of cycle searched for, in order: name, first-edge kinds, rest-edge kinds
/// (`None` for the G-nonadjacent state search).
const FAMILIES: [(&str, u8, Option<u8>); 5] = [
    ("G0", WW, Some(WW)),
    ("G1c", WR, Some(WW | WR)),
    ("G-single", RW, Some(WW | WR)),
    ("G-nonadjacent", RW, None),
    ("G2-item", RW, Some(WW | WR | RW)),
];

const VARIANTS: [(&str, u8); 3] = [
    ("", 0),
    ("-process", PROCESS),
    ("-realtime", PROCESS | REALTIME),
];

/// Searches one component for a short cycle of each class. A class implied by one already
/// found in the component is not searched for (a G0 is also a G1c and a G0-process). Classes
/// the requested models prohibit are searched first, so that a tight budget goes to what
/// decides the verdict. Returns the cycles and the classes whose search timed out.
fn search_component(
    graph: &Graph,
    scc: &[u32],
    deadline: Instant,
    prohibited: &BTreeSet<&str>,
) -> (Vec<Vec<CycleEdge>>, Vec<String>) {
    let mut searches: Vec<(String, u8, Option<u8>, u8)> = Vec::new();
    for (suffix, extra) in VARIANTS {
        for (family, first, rest) in FAMILIES {
            searches.push((format!("{family}{suffix}"), first, rest, extra));
        }
    }
    // The G-nonadjacent state search costs the most: it goes last in each group.
    searches.sort_by_key(|s| (!prohibited.contains(s.0.as_str()), s.2.is_none()));
    let mut component = Component::new(graph, scc, deadline);
    let mut found_types: BTreeSet<String> = BTreeSet::new();
    let mut cycles = Vec::new();
    let mut timed_out = Vec::new();
    for (name, first, rest, extra) in searches {
        let implied = model::implied_by(found_types.iter().map(String::as_str));
        if implied.contains(name.as_str()) {
            continue;
        }
        if !timed_out.is_empty() {
            timed_out.push(name);
            continue;
        }
        let result = match rest {
            Some(rest) => component.find_cycle(first, rest | extra),
            None => component.find_nonadjacent(WW | WR | extra),
        };
        match result {
            Ok(Some(cycle)) => {
                let kind = classify(&cycle);
                if found_types.insert(kind) {
                    cycles.push(cycle);
                }
            }
            Ok(None) => {}
            Err(graph::Timeout) => timed_out.push(name),
        }
    }
    (cycles, timed_out)
}

fn explain_cycle(txns: &Txns<'_>, workload: &dyn Inference, cycle: &[CycleEdge]) -> Anomaly {
    // Start the cycle at its earliest transaction, so that the same cycle always reads alike.
    let start = (0..cycle.len())
        .min_by_key(|&i| txns.get(cycle[i].from).map(|t| t.index))
        .unwrap_or(0);
    let rotated: Vec<CycleEdge> = cycle[start..]
        .iter()
        .chain(&cycle[..start])
        .copied()
        .collect();
    let ids: Vec<u32> = rotated.iter().map(|e| e.from).collect();
    let names = Names::new(txns, &ids);
    let steps = rotated
        .iter()
        .map(|e| Step {
            from: names.name(e.from),
            to: names.name(e.to),
            kind: kind_name(e.kind).to_string(),
            explanation: match e.kind {
                PROCESS => format!(
                    "process {} ran {} before {} (process)",
                    txns.get(e.from)
                        .map_or(String::new(), |t| t.process.to_string()),
                    names.name(e.from),
                    names.name(e.to)
                ),
                REALTIME => format!(
                    "{} completed (index {}) before {} was invoked (index {}) (realtime)",
                    names.name(e.from),
                    txns.get(e.from)
                        .and_then(|t| t.complete_index)
                        .unwrap_or_default(),
                    names.name(e.to),
                    txns.get(e.to).map_or(0, |t| t.invoke_index)
                ),
                kind => workload.explain_edge(e.from, e.to, kind, &names),
            },
        })
        .collect();
    let mut anomaly = txns.named_anomaly(&classify(&rotated), &ids, |names| {
        let mut line = names.name(rotated.first().map_or(0, |e| e.from));
        for e in &rotated {
            let _ = write!(line, " -{}-> {}", kind_name(e.kind), names.name(e.to));
        }
        line
    });
    anomaly.cycle = steps;
    anomaly
}

fn timeout_anomaly(txns: &Txns<'_>, scc: &[u32], classes: &[String]) -> Anomaly {
    let first: Vec<u32> = scc.iter().copied().take(1).collect();
    txns.anomaly("cycle-search-timeout", &first, |names| {
        format!(
            "the search for cycles in a component of {} transactions (the first {}) ran out of \
             time before finishing {}",
            scc.len(),
            names.indexed(first.first().copied().unwrap_or(0)),
            classes.join(", ")
        )
    })
}

/// `T1 and T2`, `T1, T2 and T3`.
pub(crate) fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `[1 2 3]`, shortened in the middle past 16 elements so that sentences stay readable.
pub(crate) fn show_list(items: &[Value]) -> String {
    const MAX: usize = 16;
    if items.len() <= MAX {
        return Value::List(items.to_vec()).to_string();
    }
    let head: Vec<String> = items[..4].iter().map(Value::to_string).collect();
    let tail: Vec<String> = items[items.len() - 8..]
        .iter()
        .map(Value::to_string)
        .collect();
    format!(
        "[{} ...{} more... {}]",
        head.join(" "),
        items.len() - 12,
        tail.join(" ")
    )
}
