//! A simulated replicated store, to generate histories for tests and benchmarks.
//!
//! Each client process talks to one replica (process `i` to replica `i mod replicas`).
//! Transactions run atomically on the local replica, reads included, and their writes are sent
//! to every other replica as one update. With [`Delivery::Causal`] an update is applied only
//! after everything its origin had applied when it was made (vector clocks, as in the ISIS /
//! Lazy Replication designs): the store is causally consistent, though not linearizable,
//! since replicas lag. With [`Delivery::Arbitrary`] updates are applied in any order, which
//! breaks causality. Delays are random; the seed fixes everything.

use std::collections::{HashMap, VecDeque};

use schism_histories::{History, Op, OpType, Process, Value};

/// The simulation's seeded generator (re-exported for tests that draw their own choices).
pub use crate::sim_rng::SimRng as Rng;

/// What the transactions do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Reads and writes of registers (`r`, `w`).
    Register,
    /// Reads and appends of lists (`r`, `append`).
    ListAppend,
}

/// How replicas apply each other's updates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// After all their causal dependencies: causally consistent.
    Causal,
    /// In any order: not causally consistent.
    Arbitrary,
}

#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    pub workload: Workload,
    pub delivery: Delivery,
    /// Client processes running at once.
    pub processes: usize,
    pub replicas: usize,
    pub transactions: usize,
    /// Micro-ops per transaction, at least `min_ops` and at most `max_ops`. With
    /// `max_ops == 1` operations are single `read`/`write`/`append` operations, not `txn`s.
    pub min_ops: usize,
    pub max_ops: usize,
    /// Keys in use at once.
    pub keys: usize,
    /// After this many writes a key is retired for a fresh one, as Jepsen's list-append
    /// generator does (`:max-writes-per-key`); 0 for never.
    pub max_writes_per_key: usize,
    /// The chance, per mille, that an operation crashes (`info`, its process retired), and
    /// that it fails (`fail`, not applied).
    pub crash_per_mille: u32,
    pub fail_per_mille: u32,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 0,
            workload: Workload::ListAppend,
            delivery: Delivery::Causal,
            processes: 5,
            replicas: 3,
            transactions: 200,
            min_ops: 1,
            max_ops: 4,
            keys: 4,
            max_writes_per_key: 0,
            crash_per_mille: 10,
            fail_per_mille: 10,
        }
    }
}

struct Update {
    origin: usize,
    /// The origin's applied vector when the update was made, its own entry included.
    deps: Vec<u64>,
    writes: Vec<(i64, i64)>,
}

#[derive(Default)]
struct Replica {
    registers: HashMap<i64, i64>,
    lists: HashMap<i64, Vec<i64>>,
    /// How many updates of each origin are applied.
    applied: Vec<u64>,
    /// Updates waiting, per origin, in the order sent.
    inbox: Vec<VecDeque<usize>>,
}

/// Runs the simulation and returns its history.
pub fn simulate(options: &SimOptions) -> History {
    let mut rng = Rng::new(options.seed);
    let replicas = options.replicas.max(1);
    let processes = options.processes.max(1);
    let list = options.workload == Workload::ListAppend;
    let mut nodes: Vec<Replica> = (0..replicas)
        .map(|_| Replica {
            applied: vec![0; replicas],
            inbox: vec![VecDeque::new(); replicas],
            ..Replica::default()
        })
        .collect();
    let mut updates: Vec<Update> = Vec::new();
    let mut pids: Vec<i64> = (0..processes as i64).collect();
    let mut key_slots: Vec<(i64, usize)> =
        (0..options.keys.max(1) as i64).map(|k| (k, 0)).collect();
    let mut next_key = key_slots.len() as i64;
    let mut next_value = 1i64;
    let mut ops = Vec::with_capacity(options.transactions * 2);
    for _ in 0..options.transactions {
        for d in 0..replicas {
            for _ in 0..rng.below(3) {
                deliver_one(&mut nodes, &updates, d, options.delivery, list, &mut rng);
            }
        }
        let slot = rng.below(processes);
        let replica = slot % replicas;
        let n_ops =
            options.min_ops.max(1) + rng.below(options.max_ops.saturating_sub(options.min_ops) + 1);
        // The plan: (is read, key, value written).
        let mut plan = Vec::with_capacity(n_ops);
        for _ in 0..n_ops {
            let s = rng.below(key_slots.len());
            let read = rng.below(2) == 0;
            let (key, written) = key_slots[s];
            if read {
                plan.push((true, key, 0));
            } else {
                plan.push((false, key, next_value));
                next_value += 1;
                key_slots[s].1 = written + 1;
                if options.max_writes_per_key > 0 && written + 1 >= options.max_writes_per_key {
                    key_slots[s] = (next_key, 0);
                    next_key += 1;
                }
            }
        }
        let crash = rng.per_mille(options.crash_per_mille);
        let fail = !crash && rng.per_mille(options.fail_per_mille);
        // A crashed operation took effect half the time.
        let lost = crash && rng.below(2) == 0;
        let applied = !fail && !lost;
        let node = &mut nodes[replica];
        let mut done = Vec::with_capacity(n_ops);
        let mut writes = Vec::new();
        for &(read, key, value) in &plan {
            if read {
                let seen = if list {
                    node.lists.get(&key).map_or(Value::Nil, |l| {
                        Value::List(l.iter().map(|&v| Value::Int(v)).collect())
                    })
                } else {
                    node.registers
                        .get(&key)
                        .map_or(Value::Nil, |&v| Value::Int(v))
                };
                done.push(seen);
            } else {
                if applied {
                    if list {
                        node.lists.entry(key).or_default().push(value);
                    } else {
                        node.registers.insert(key, value);
                    }
                    writes.push((key, value));
                }
                done.push(Value::Int(value));
            }
        }
        if !writes.is_empty() {
            node.applied[replica] += 1;
            let u = updates.len();
            updates.push(Update {
                origin: replica,
                deps: node.applied.clone(),
                writes,
            });
            for (d, other) in nodes.iter_mut().enumerate() {
                if d != replica {
                    other.inbox[replica].push_back(u);
                }
            }
        }
        let write_name = if list { "append" } else { "w" };
        let micro = |read: bool, key: i64, v: Value| {
            Value::List(vec![
                Value::from(if read { "r" } else { write_name }),
                Value::Int(key),
                v,
            ])
        };
        let process = Process::Client(pids[slot]);
        let (f, invoke, complete) = if options.max_ops <= 1 {
            let &(read, key, value) = &plan[0];
            let f = match (read, list) {
                (true, _) => "read",
                (false, true) => "append",
                (false, false) => "write",
            };
            let arg = if read { Value::Nil } else { Value::Int(value) };
            let result = done.first().cloned().unwrap_or_default();
            (
                f,
                Value::List(vec![Value::Int(key), arg]),
                Value::List(vec![Value::Int(key), result]),
            )
        } else {
            let invoke = plan
                .iter()
                .map(|&(read, key, value)| {
                    micro(read, key, if read { Value::Nil } else { Value::Int(value) })
                })
                .collect();
            let complete = plan
                .iter()
                .zip(&done)
                .map(|(&(read, key, _), v)| micro(read, key, v.clone()))
                .collect();
            ("txn", Value::List(invoke), Value::List(complete))
        };
        ops.push(Op::new(OpType::Invoke, process, f, invoke.clone()));
        if crash {
            ops.push(Op::new(OpType::Info, process, f, invoke));
            pids[slot] += processes as i64;
        } else if fail {
            ops.push(Op::new(OpType::Fail, process, f, invoke));
        } else {
            ops.push(Op::new(OpType::Ok, process, f, complete));
        }
    }
    History::new(ops)
}

/// Applies one waiting update at replica `d`, if one may be applied.
fn deliver_one(
    nodes: &mut [Replica],
    updates: &[Update],
    d: usize,
    delivery: Delivery,
    list: bool,
    rng: &mut Rng,
) {
    let node = &mut nodes[d];
    let origins = node.inbox.len();
    let start = rng.below(origins);
    for i in 0..origins {
        let o = (start + i) % origins;
        let pick = match delivery {
            Delivery::Causal => node.inbox[o].front().copied().filter(|&u| {
                let up = &updates[u];
                up.deps.iter().enumerate().all(|(r, &need)| {
                    if r == up.origin {
                        node.applied[r] + 1 == need
                    } else {
                        node.applied[r] >= need
                    }
                })
            }),
            Delivery::Arbitrary => {
                let len = node.inbox[o].len();
                if len == 0 {
                    None
                } else {
                    let at = rng.below(len);
                    node.inbox[o].swap(0, at);
                    node.inbox[o].front().copied()
                }
            }
        };
        let Some(u) = pick else {
            continue;
        };
        node.inbox[o].pop_front();
        let up = &updates[u];
        // Arbitrary delivery may apply updates out of order; the counter then only counts.
        node.applied[up.origin] += 1;
        for &(key, value) in &up.writes {
            if list {
                node.lists.entry(key).or_default().push(value);
            } else {
                node.registers.insert(key, value);
            }
        }
        return;
    }
}

/// Injects one certain violation: right after the first `ok` operation at or after position
/// `at` that reads a key and sees a write, the same process reads that key again and sees the
/// initial value (nil, or the empty list), though the write it saw is in its causal past. The
/// operations are renumbered. Returns whether there was such an operation.
pub fn inject_initial_read(history: &mut History, at: usize) -> bool {
    let ops = &mut history.ops;
    let found = ops.iter().enumerate().skip(at).find_map(|(i, op)| {
        if op.kind != OpType::Ok {
            return None;
        }
        let mut micro = Vec::new();
        super::index::micro_ops(&op.f, &op.value, &mut micro).ok()?;
        micro.iter().find_map(|m| match *m {
            super::index::Micro::Read(k, Value::List(items)) if !items.is_empty() => {
                Some((i, k.clone(), true, op.process))
            }
            super::index::Micro::Read(k, v) if !v.is_nil() && v.as_list().is_none() => {
                Some((i, k.clone(), false, op.process))
            }
            _ => None,
        })
    });
    let Some((pos, key, list, process)) = found else {
        return false;
    };
    let initial = if list {
        Value::List(Vec::new())
    } else {
        Value::Nil
    };
    let read = |v: Value| Value::List(vec![Value::List(vec![Value::from("r"), key.clone(), v])]);
    let new = [
        Op::new(OpType::Invoke, process, "txn", read(Value::Nil)),
        Op::new(OpType::Ok, process, "txn", read(initial)),
    ];
    ops.splice(pos + 1..pos + 1, new);
    for (i, op) in ops.iter_mut().enumerate() {
        op.index = i as u64;
        op.time = i as i64;
    }
    true
}
