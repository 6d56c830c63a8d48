//! Causal consistency of register, list-append and transactional histories.
//!
//! # The model
//!
//! Transactions are the client operations that took effect or may have: `ok` operations, and
//! `info` operations, whose writes may have happened (they can be read from) but whose reads
//! are unknown and ignored. `fail` operations did not happen and are left out. A single
//! `read`/`write`/`append` operation is a transaction of one micro-op (see [`crate::txn`]).
//!
//! A *session* is a process. A process whose operation ended `info` never invokes again
//! (Jepsen gives its client a fresh process id), so a crashed client's successor is a new
//! session. Session order `so` orders each process's transactions by invocation.
//!
//! Reads-from `wr` needs each written value to be identifiable: as Jepsen's generators do, we
//! assume that every value is written to a key at most once (duplicates make the result
//! `unknown`). A register read of `v` reads from the write of `v`; a list read `[1 2 4]` reads
//! from the appends of 1, 2 and 4. The *causal order* is `co = (so ∪ wr)⁺` (Bouajjani, Enea,
//! Guerraoui and Hamza, "On verifying causal consistency", POPL 2017; over transactions as in
//! Biswas and Enea, "On the complexity of checking transactional consistency", OOPSLA 2019).
//!
//! # What is reported
//!
//! The bad patterns of Bouajjani et al. that a history can show without search:
//!
//! - `cyclic-co` (CyclicCO): `co` has a cycle, e.g. T1 reads from T2, which is session-after T1.
//! - `write-co-read` (WriteCORead): T reads `x = v` written by W, but T's causal past holds a
//!   write W' of `x` with W →co W'. For lists: a read misses an element whose append is in the
//!   reader's causal past.
//! - `write-co-init-read` (WriteCOInitRead): T reads the initial value of `x` (nil, or the
//!   empty list) though its causal past holds a write of `x`.
//! - `thin-air-read` (ThinAirRead): a read of a value no `ok` or `info` operation wrote.
//! - For lists, whose reads also show an order: `causal-order-inversion`, a read listing an
//!   element before one whose append causally precedes it; and `incompatible-order`, a read
//!   that does not extend an earlier read of the same key by the same process (both break any
//!   serialization of the reader's causal past, which causal consistency (CC) requires).
//!
//! These patterns characterize *weak* causal consistency (WCC) for registers, plus the
//! session-order conditions above. What is not checked: Bouajjani et al.'s happens-before
//! patterns `WriteHBInitRead` and `CyclicHB`, which tell CC apart from WCC, and the single
//! arbitration order of CCv (Biswas and Enea's transactional CC axiom). A history that passes
//! here can still violate those stronger models. Anomalies internal to a transaction (a read
//! that disagrees with the transaction's own earlier write) are Elle's business, not ours: such
//! reads are skipped, as are list reads with duplicate elements.
//!
//! # The algorithm and its cost
//!
//! Following AWDIT (Møldrup and Pavlogiannis, "AWDIT: An Optimal Weak Database Isolation
//! Tester", PLDI 2025), the causal past of every transaction is a vector clock: for each
//! chain of a cover of the transactions by `co`-ordered chains, how many of its transactions
//! are in the past. Each session is on one chain; a session's first transaction may continue
//! the chain of a session that has ended, when that whole chain is in its past. Jepsen gives
//! every crashed client a fresh process, so long histories with crashes have far more
//! sessions than clients at once, and this keeps the clocks about as wide as the concurrency
//! (in the benchmark, 188 chains for 994 sessions with 50 clients; no chain cover can be
//! narrower than the largest set of mutually concurrent transactions, such as all sessions'
//! first transactions that read nothing, which is what most of the 188 are). Transactions in
//! nobody's past (the last of a session, never read from) need no chain. With n transactions,
//! k ≤ sessions chains, and m micro-ops (list elements in reads included):
//!
//! 1. Index the writes by (key, value): O(m) expected (hashing).
//! 2. Resolve reads to writers; per reader keep, for each source session, only the latest
//!    writer (the earlier ones are implied by session order), so at most min(sessions, reads)
//!    `wr` edges per transaction: O(m).
//! 3. Compute the clocks in a topological order of `so ∪ wr` (Kahn): O((n + e)·k) time, where
//!    e is the number of kept `wr` edges, and at most n·k integers of memory. When no
//!    topological order exists the leftover transactions hold a cycle, found with petgraph's
//!    Tarjan SCC on the graph of `so` and kept `wr` edges, and a shortest cycle per component by
//!    breadth-first search. No transitive closure is ever built.
//! 4. Sort the writes by key and chain: O(w log w) for w writes.
//! 5. For each register read, for each chain that wrote the key, binary-search the latest
//!    such write in the reader's past and test with its clock whether it causally follows the
//!    write read from: O(k log n) per read. For each list read, compare per-chain element
//!    counts with the appends in the past (O(k log n + length)), and check the order of the
//!    elements not already checked in a previous read of the key that shares the prefix
//!    (O(k log n) per new element; a store whose reads of a key extend each other pays this
//!    once per append, one whose replicas order concurrent appends differently pays it for
//!    every element of every read whose order differs from the last one checked).
//!
//! So the total is O(m + (n + e)·k + r·k·log n) for r reads: O(n·k) up to the logarithm, the
//! `wr` edges and the list orders, not AWDIT's exact bound. Limits: a time limit (checked
//! throughout) and a budget of clock entries; past either the result is `unknown` with the
//! reason.
//!
//! Witnesses name transactions `T<i>`, where `i` is the operation's position in
//! [`PairedHistory::pairs`], with the history `index` of its completion (of its invocation
//! when it has none) and its process, and give every step of every causal path: `so` (same
//! process, earlier) or `wr` (read a value the other wrote).

mod check;
mod clock;
mod explain;
mod index;
pub mod sim;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use schism_histories::PairedHistory;
use serde::Serialize;

use crate::Validity;

/// Limits of a check.
#[derive(Clone, Debug)]
pub struct CausalOptions {
    /// Past this the result is `unknown`.
    pub time_limit: Duration,
    /// The most vector-clock entries (at most transactions × sessions, 4 bytes each) to
    /// allocate; past this the result is `unknown`. The default, 2^28, is 1 GiB.
    pub max_clock_entries: u64,
}

impl Default for CausalOptions {
    fn default() -> Self {
        CausalOptions {
            time_limit: Duration::from_secs(300),
            max_clock_entries: 1 << 28,
        }
    }
}

/// How many anomalies of each kind a result keeps; the others are only counted.
pub const MAX_ANOMALIES_PER_KIND: usize = 8;

/// A kind of anomaly; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    CyclicCo,
    WriteCoRead,
    WriteCoInitRead,
    ThinAirRead,
    CausalOrderInversion,
    IncompatibleOrder,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::CyclicCo => "cyclic-co",
            AnomalyKind::WriteCoRead => "write-co-read",
            AnomalyKind::WriteCoInitRead => "write-co-init-read",
            AnomalyKind::ThinAirRead => "thin-air-read",
            AnomalyKind::CausalOrderInversion => "causal-order-inversion",
            AnomalyKind::IncompatibleOrder => "incompatible-order",
        }
    }
}

/// A transaction as witnesses name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TxnRef {
    /// The position in [`PairedHistory::pairs`]; explanations call it `T<txn>`.
    pub txn: usize,
    /// The history `index` of the completion (of the invocation when there is none).
    pub index: u64,
    pub process: i64,
}

/// One step of a causal path or cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub from: usize,
    pub to: usize,
    /// `so` (same process, `from` earlier) or `wr` (`to` read a value `from` wrote).
    pub relation: &'static str,
    /// The step in a sentence.
    pub reason: String,
}

/// One anomaly with its witness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// What went wrong, in sentences naming transactions, indices, processes and micro-ops.
    pub explanation: String,
    /// The transactions involved, in order of mention.
    pub txns: Vec<TxnRef>,
    /// The causal path (or cycle) that makes it an anomaly, step by step.
    pub path: Vec<Step>,
}

/// Counts describing a check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CausalStats {
    /// `ok` and `info` operations.
    pub transactions: u64,
    pub sessions: u64,
    pub writes: u64,
    /// Read micro-ops whose result was checked.
    pub reads: u64,
    /// `wr` edges kept (the latest writer per source session per reader).
    pub wr_edges: u64,
    /// The width of the vector clocks: chains of causally ordered transactions covering all
    /// (at most one per session; see the module documentation).
    pub chains: u64,
    /// The entries of all vector clocks together.
    pub clock_entries: u64,
    /// Transactions in or after a causal cycle, whose reads could not be checked.
    pub unchecked_transactions: u64,
    /// Anomalies found per kind, including those not kept.
    pub anomaly_counts: BTreeMap<String, u64>,
}

/// The verdict of [`check`]. Serialized field names are stable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CausalResult {
    pub validity: Validity,
    /// The anomalies found, by kind name; at most [`MAX_ANOMALIES_PER_KIND`] each.
    pub anomalies: BTreeMap<String, Vec<Anomaly>>,
    /// Why the check stopped early (a limit, or input that cannot be checked): the reason of an
    /// `unknown` result, or of an `invalid` one that may have missed further anomalies.
    pub unknown_reason: Option<String>,
    pub stats: CausalStats,
}

impl CausalResult {
    /// The result as JSON, with the field names of the struct.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A text report a person can check against the history.
    pub fn explain(&self) -> String {
        explain::render(self)
    }
}

/// Checks a history for causal consistency; see the module documentation.
pub fn check(history: &PairedHistory, options: &CausalOptions) -> CausalResult {
    let deadline = Deadline {
        start: Instant::now(),
        limit: options.time_limit,
    };
    let mut out = Found::default();
    let verdict = run(history, options, &deadline, &mut out);
    let Found {
        anomalies,
        mut stats,
    } = out;
    let mut counts = BTreeMap::new();
    for (kind, (count, _)) in &anomalies {
        counts.insert(kind.as_str().to_string(), *count);
    }
    stats.anomaly_counts = counts;
    let anomalies: BTreeMap<String, Vec<Anomaly>> = anomalies
        .into_iter()
        .map(|(kind, (_, kept))| (kind.as_str().to_string(), kept))
        .collect();
    // Invalid beats unknown: anomalies found before a limit was hit still stand, and the
    // reason says that the check stopped early.
    let unknown_reason = verdict.err();
    let validity = if !anomalies.is_empty() {
        Validity::Invalid
    } else if unknown_reason.is_some() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    CausalResult {
        validity,
        anomalies,
        unknown_reason,
        stats,
    }
}

fn run(
    history: &PairedHistory,
    options: &CausalOptions,
    deadline: &Deadline,
    out: &mut Found,
) -> Result<(), String> {
    let mut index = index::Index::build(history, deadline)?;
    out.stats.transactions = index.txns.len() as u64;
    out.stats.sessions = index.session_process.len() as u64;
    out.stats.writes = index.writes.len() as u64;
    out.stats.wr_edges = index.srcs.len() as u64;
    out.stats.reads = index.reads.len() as u64;
    let clocks = clock::Clocks::compute(&index, options.max_clock_entries, deadline)?;
    out.stats.chains = u64::from(clocks.chains);
    out.stats.clock_entries = clocks.entries();
    index.index_entries(&clocks);
    if clocks.unprocessed > 0 {
        out.stats.unchecked_transactions = clocks.unprocessed;
        clock::report_cycles(&index, &clocks, deadline, out)?;
    }
    check::check_reads(&index, &clocks, deadline, out)
}

/// The anomalies found so far: per kind, how many, and the first few.
#[derive(Default)]
pub(crate) struct Found {
    anomalies: BTreeMap<AnomalyKind, (u64, Vec<Anomaly>)>,
    stats: CausalStats,
}

impl Found {
    /// Counts an anomaly of `kind`, and keeps the one `make` builds while there is room.
    fn add(&mut self, kind: AnomalyKind, make: impl FnOnce() -> Anomaly) {
        let entry = self.anomalies.entry(kind).or_default();
        entry.0 += 1;
        if entry.1.len() < MAX_ANOMALIES_PER_KIND {
            entry.1.push(make());
        }
    }
}

pub(crate) struct Deadline {
    start: Instant,
    limit: Duration,
}

impl Deadline {
    /// `Err` with the reason once the time limit has passed.
    fn check(&self, doing: &str) -> Result<(), String> {
        if self.start.elapsed() >= self.limit {
            Err(format!(
                "time limit of {:.3} s exceeded while {doing}",
                self.limit.as_secs_f64()
            ))
        } else {
            Ok(())
        }
    }
}
