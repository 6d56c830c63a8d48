//! Simulated list-append (or register) stores, for property tests and benchmarks: histories whose
//! isolation we know by construction.
//!
//! - [`Isolation::Serializable`]: each transaction executes atomically at one instant between
//!   its invocation and its completion, one at a time, so the history is strict serializable.
//! - [`Isolation::SnapshotIsolation`]: each transaction reads from a snapshot taken when it
//!   is invoked and commits between invocation and completion unless another transaction
//!   committed a write to one of its keys since its snapshot (first-committer-wins). That is
//!   strong snapshot isolation: lost updates are impossible, write skew is not.
//!
//! Some transactions fail (and have no effect) and some crash (`info`: they may or may not
//! take effect; the process is retired and replaced, as Jepsen does). Keys retire after
//! `max_writes_per_key` appends, as Jepsen's append workload does, so reads stay short.
//! Optionally, a fraction of reads are made stale (one element short) to inject anomalies.

use schism_histories::{History, Op, OpType, Process, Value};

use crate::sim_rng::SimRng as Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    Serializable,
    SnapshotIsolation,
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub isolation: Isolation,
    pub txns: usize,
    pub processes: usize,
    /// How many keys are in use at once.
    pub active_keys: usize,
    /// Micro-ops per transaction: 1 to this.
    pub max_ops: usize,
    pub max_writes_per_key: usize,
    /// Per mille of transactions that fail, and that crash.
    pub fail_per_mille: u32,
    pub info_per_mille: u32,
    /// Per mille of reads returned one element short (an injected anomaly).
    pub stale_read_per_mille: u32,
    /// Registers (`w` and single-value reads, the rw-register workload) instead of lists.
    pub registers: bool,
    pub seed: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            isolation: Isolation::Serializable,
            txns: 1000,
            processes: 10,
            active_keys: 10,
            max_ops: 4,
            max_writes_per_key: 32,
            fail_per_mille: 20,
            info_per_mille: 10,
            stale_read_per_mille: 0,
            registers: false,
            seed: 0,
        }
    }
}

#[derive(Clone, Debug)]
enum Mop {
    Read(i64),
    Append(i64, i64),
}

enum State {
    Idle,
    /// Invoked; for snapshot isolation, with the snapshot of the keys it touches.
    Pending(Vec<Mop>, Vec<(i64, Vec<i64>)>),
    /// Took effect; the completion's value is ready.
    Done(Value),
}

fn kw(s: &str) -> Value {
    Value::Keyword(s.into())
}

/// The transaction as a history shows it. A register store is a list store whose reads
/// return only the last element (`nil` for none) and whose appends are spelled `w`.
fn txn_value(ops: &[Mop], reads: Option<&[Option<Vec<i64>>]>, registers: bool) -> Value {
    Value::List(
        ops.iter()
            .enumerate()
            .map(|(i, m)| match m {
                Mop::Append(k, v) => Value::List(vec![
                    kw(if registers { "w" } else { "append" }),
                    Value::Int(*k),
                    Value::Int(*v),
                ]),
                Mop::Read(k) => {
                    let read = reads.and_then(|r| r.get(i).cloned().flatten());
                    let result = match (read, registers) {
                        (None, _) => Value::Nil,
                        (Some(l), true) => l.last().map_or(Value::Nil, |v| Value::Int(*v)),
                        (Some(l), false) => Value::List(l.into_iter().map(Value::Int).collect()),
                    };
                    Value::List(vec![kw("r"), Value::Int(*k), result])
                }
            })
            .collect(),
    )
}

/// Generates a history of `options.txns` list-append transactions.
pub fn simulate(options: &SimOptions) -> History {
    let mut rng = Rng::new(options.seed);
    let mut store: Vec<Vec<i64>> = Vec::new();
    // Commits per key, for first-committer-wins.
    let mut commits: Vec<u64> = Vec::new();
    let mut allocated: Vec<i64> = Vec::new();
    let mut active: Vec<i64> = Vec::new();
    let new_key = |store: &mut Vec<Vec<i64>>, commits: &mut Vec<u64>, allocated: &mut Vec<i64>| {
        store.push(Vec::new());
        commits.push(0);
        allocated.push(0);
        (store.len() - 1) as i64
    };
    for _ in 0..options.active_keys.max(1) {
        let k = new_key(&mut store, &mut commits, &mut allocated);
        active.push(k);
    }
    let processes = options.processes.max(1);
    let mut ids: Vec<i64> = (0..processes as i64).collect();
    let mut states: Vec<State> = (0..processes).map(|_| State::Idle).collect();
    let mut snapshots_at: Vec<Vec<u64>> = vec![Vec::new(); processes];
    let mut ops: Vec<Op> = Vec::new();
    let mut invoked = 0usize;
    let mut next_id = processes as i64;
    loop {
        let busy = states.iter().any(|s| !matches!(s, State::Idle));
        if invoked >= options.txns && !busy {
            break;
        }
        let p = rng.below(processes);
        let process = Process::Client(ids[p]);
        match std::mem::replace(&mut states[p], State::Idle) {
            State::Idle => {
                if invoked >= options.txns {
                    continue;
                }
                invoked += 1;
                let n = 1 + rng.below(options.max_ops.max(1));
                let mut mops = Vec::with_capacity(n);
                for _ in 0..n {
                    let slot = rng.below(active.len());
                    let k = active[slot];
                    if rng.below(2) == 0 {
                        mops.push(Mop::Read(k));
                    } else {
                        let ku = k as usize;
                        allocated[ku] += 1;
                        mops.push(Mop::Append(k, allocated[ku]));
                        if allocated[ku] as usize >= options.max_writes_per_key {
                            active[slot] = new_key(&mut store, &mut commits, &mut allocated);
                        }
                    }
                }
                let mut snapshot = Vec::new();
                let mut seen_commits = Vec::new();
                if options.isolation == Isolation::SnapshotIsolation {
                    for m in &mops {
                        let (Mop::Read(k) | Mop::Append(k, _)) = m;
                        if !snapshot.iter().any(|(s, _): &(i64, Vec<i64>)| s == k) {
                            snapshot.push((*k, store[*k as usize].clone()));
                            seen_commits.push(commits[*k as usize]);
                        }
                    }
                }
                snapshots_at[p] = seen_commits;
                ops.push(Op::new(
                    OpType::Invoke,
                    process,
                    "txn",
                    txn_value(&mops, None, options.registers),
                ));
                states[p] = State::Pending(mops, snapshot);
            }
            State::Pending(mops, snapshot) => {
                let crash = rng.per_mille(options.info_per_mille);
                if rng.per_mille(options.fail_per_mille) && !crash {
                    ops.push(Op::new(
                        OpType::Fail,
                        process,
                        "txn",
                        txn_value(&mops, None, options.registers),
                    ));
                    continue;
                }
                let conflict = options.isolation == Isolation::SnapshotIsolation
                    && mops.iter().any(|m| match m {
                        Mop::Append(k, _) => snapshot
                            .iter()
                            .position(|(s, _)| s == k)
                            .is_some_and(|i| snapshots_at[p][i] != commits[*k as usize]),
                        Mop::Read(_) => false,
                    });
                if conflict {
                    ops.push(Op::new(
                        OpType::Fail,
                        process,
                        "txn",
                        txn_value(&mops, None, options.registers),
                    ));
                    continue;
                }
                if crash && rng.below(2) == 0 {
                    // Crashed before taking effect.
                    ops.push(Op::new(
                        OpType::Info,
                        process,
                        "txn",
                        txn_value(&mops, None, options.registers),
                    ));
                    ids[p] = next_id;
                    next_id += 1;
                    continue;
                }
                let mut reads: Vec<Option<Vec<i64>>> = vec![None; mops.len()];
                let mut own: Vec<(i64, Vec<i64>)> = snapshot;
                let mut written: Vec<i64> = Vec::new();
                for (i, m) in mops.iter().enumerate() {
                    match (options.isolation, m) {
                        (Isolation::Serializable, Mop::Read(k)) => {
                            let mut list = store[*k as usize].clone();
                            if !list.is_empty() && rng.per_mille(options.stale_read_per_mille) {
                                list.pop();
                            }
                            reads[i] = Some(list);
                        }
                        (Isolation::Serializable, Mop::Append(k, v)) => {
                            store[*k as usize].push(*v);
                        }
                        (Isolation::SnapshotIsolation, Mop::Read(k)) => {
                            reads[i] = own.iter().find(|(s, _)| s == k).map(|(_, l)| l.clone());
                        }
                        (Isolation::SnapshotIsolation, Mop::Append(k, v)) => {
                            if let Some((_, l)) = own.iter_mut().find(|(s, _)| s == k) {
                                l.push(*v);
                            }
                            if !written.contains(k) {
                                written.push(*k);
                            }
                        }
                    }
                }
                // Snapshot isolation installs the transaction's writes at commit.
                for k in written {
                    if let Some((_, l)) = own.iter().find(|(s, _)| *s == k) {
                        store[k as usize] = l.clone();
                        commits[k as usize] += 1;
                    }
                }
                if crash {
                    ops.push(Op::new(
                        OpType::Info,
                        process,
                        "txn",
                        txn_value(&mops, None, options.registers),
                    ));
                    ids[p] = next_id;
                    next_id += 1;
                    continue;
                }
                states[p] = State::Done(txn_value(&mops, Some(&reads), options.registers));
            }
            State::Done(value) => {
                ops.push(Op::new(OpType::Ok, process, "txn", value));
            }
        }
    }
    History::new(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_pair_and_are_reproducible() {
        let options = SimOptions {
            txns: 300,
            isolation: Isolation::SnapshotIsolation,
            ..SimOptions::default()
        };
        let a = simulate(&options);
        assert_eq!(a, simulate(&options));
        let paired = a.pair().unwrap();
        assert_eq!(paired.pairs().len(), 300);
    }
}
