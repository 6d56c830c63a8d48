//! What the clients ask for: one generator per workload, shared by every process, and the
//! total rate limit with jitter (Jepsen's `stagger`).
//!
//! A generator is called by each logical process with that process's own seeded RNG, so that
//! the values drawn depend only on the seed and on the process; the state shared between
//! processes (unique values, the current keys) sits behind atomics and one short mutex.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use schism_histories::Value;
use smol_str::SmolStr;
use tokio::time::Instant;

use crate::test::config::Workload;

/// An operation to invoke: its function and argument, as the history records them.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation {
    pub f: SmolStr,
    pub value: Value,
}

impl Invocation {
    pub fn new(f: &str, value: Value) -> Invocation {
        Invocation {
            f: SmolStr::new(f),
            value,
        }
    }
}

/// Keys in use at once by the register workload (jepsen.independent's concurrent keys).
const REGISTER_KEYS: usize = 4;
/// Operations on a register key before it is retired for a fresh one, which keeps each key's
/// history small enough for the linearizability search.
const REGISTER_OPS_PER_KEY: i64 = 200;
/// Keys in use at once by the transactional workloads.
const TXN_KEYS: usize = 8;
/// Writes to a transactional key before it is retired (Elle's max-writes-per-key).
const TXN_WRITES_PER_KEY: i64 = 32;
/// The one key the set and counter workloads use.
pub const SET_KEY: i64 = 0;
/// Of every 16 set or counter operations, how many are reads.
const READS_PER_16: u32 = 2;

/// The generator of one workload.
#[derive(Debug)]
pub struct Generator {
    workload: Workload,
    /// The next unique value (list appends, register writes, set elements).
    next_value: AtomicI64,
    /// Register workload: operations issued so far (the key window moves with it).
    ops: AtomicI64,
    /// Transactional workloads: the active keys and the writes each has had.
    txn_keys: Mutex<TxnKeys>,
    /// Register workload: the last value each key was asked to take, which the next
    /// compare-and-set expects, so that compare-and-sets often succeed although every value
    /// written is unique (unique values let the causal checker see what each read read from).
    last_register_value: Mutex<BTreeMap<i64, i64>>,
}

#[derive(Debug)]
struct TxnKeys {
    active: Vec<(i64, i64)>,
    next_key: i64,
}

impl Generator {
    pub fn new(workload: Workload) -> Generator {
        Generator {
            workload,
            next_value: AtomicI64::new(1),
            ops: AtomicI64::new(0),
            txn_keys: Mutex::new(TxnKeys {
                active: (0..TXN_KEYS as i64).map(|k| (k, 0)).collect(),
                next_key: TXN_KEYS as i64,
            }),
            last_register_value: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn workload(&self) -> Workload {
        self.workload
    }

    fn unique(&self) -> i64 {
        self.next_value.fetch_add(1, Ordering::Relaxed)
    }

    /// The next operation for a process to invoke.
    pub fn next(&self, rng: &mut ChaCha8Rng) -> Invocation {
        match self.workload {
            Workload::Register => {
                let n = self.ops.fetch_add(1, Ordering::Relaxed);
                let window = n / REGISTER_OPS_PER_KEY;
                let key = window * REGISTER_KEYS as i64 + rng.random_range(0..REGISTER_KEYS as i64);
                match rng.random_range(0..4u32) {
                    0 | 1 => {
                        Invocation::new("read", Value::List(vec![Value::Int(key), Value::Nil]))
                    }
                    2 => {
                        let v = self.unique();
                        self.set_register_value(key, v);
                        Invocation::new("write", Value::List(vec![Value::Int(key), Value::Int(v)]))
                    }
                    _ => {
                        let to = self.unique();
                        let from = self.set_register_value(key, to);
                        Invocation::new(
                            "cas",
                            Value::List(vec![
                                Value::Int(key),
                                Value::List(vec![
                                    from.map_or(Value::Nil, Value::Int),
                                    Value::Int(to),
                                ]),
                            ]),
                        )
                    }
                }
            }
            Workload::ListAppend | Workload::RwRegister => {
                let write_name = if self.workload == Workload::ListAppend {
                    "append"
                } else {
                    "w"
                };
                let len = rng.random_range(1..=4usize);
                let mut micro_ops = Vec::with_capacity(len);
                for _ in 0..len {
                    let key = self.txn_key(rng);
                    if rng.random_bool(0.5) {
                        micro_ops.push(Value::List(vec![
                            Value::Str("r".into()),
                            Value::Int(key),
                            Value::Nil,
                        ]));
                    } else {
                        self.count_txn_write(key);
                        micro_ops.push(Value::List(vec![
                            Value::Str(write_name.into()),
                            Value::Int(key),
                            Value::Int(self.unique()),
                        ]));
                    }
                }
                Invocation::new("txn", Value::List(micro_ops))
            }
            Workload::Set => {
                if rng.random_range(0..16) < READS_PER_16 {
                    Invocation::new("read", Value::Nil)
                } else {
                    Invocation::new("add", Value::Int(self.unique()))
                }
            }
            Workload::Counter => {
                if rng.random_range(0..16) < READS_PER_16 {
                    Invocation::new("read", Value::Nil)
                } else {
                    Invocation::new("add", Value::Int(rng.random_range(1..=5)))
                }
            }
        }
    }

    /// Remembers `v` as `key`'s latest value and returns the one before.
    fn set_register_value(&self, key: i64, v: i64) -> Option<i64> {
        let mut last = self
            .last_register_value
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        last.insert(key, v)
    }

    fn txn_key(&self, rng: &mut ChaCha8Rng) -> i64 {
        let keys = self.txn_keys.lock().unwrap_or_else(|e| e.into_inner());
        let i = rng.random_range(0..keys.active.len().max(1));
        keys.active.get(i).map_or(0, |&(k, _)| k)
    }

    /// Counts a write to `key`, retiring it for a fresh key once it has had enough, so that
    /// every key's version order stays short and checkable.
    fn count_txn_write(&self, key: i64) {
        let mut keys = self.txn_keys.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = keys.next_key;
        if let Some(slot) = keys.active.iter_mut().find(|(k, _)| *k == key) {
            slot.1 += 1;
            if slot.1 >= TXN_WRITES_PER_KEY {
                *slot = (fresh, 0);
                keys.next_key += 1;
            }
        }
    }

    /// The keys the register workload has used so far, for the final reads.
    pub fn register_keys_used(&self) -> Vec<i64> {
        let n = self.ops.load(Ordering::Relaxed);
        let windows = if n == 0 {
            0
        } else {
            (n - 1) / REGISTER_OPS_PER_KEY + 1
        };
        (0..windows * REGISTER_KEYS as i64).collect()
    }

    /// The final read of a workload's state on a node: one per key for registers, the one
    /// key for sets and counters.
    pub fn final_reads(&self) -> Vec<Invocation> {
        match self.workload {
            Workload::Register => self
                .register_keys_used()
                .into_iter()
                .map(|k| Invocation::new("read", Value::List(vec![Value::Int(k), Value::Nil])))
                .collect(),
            Workload::Set | Workload::Counter => vec![Invocation::new("read", Value::Nil)],
            Workload::ListAppend | Workload::RwRegister => Vec::new(),
        }
    }
}

/// The total rate limit: operations start at most `rate_per_s` a second across all processes,
/// each interval drawn uniformly from `[0, 2/rate)` so that the load is not a metronome
/// (Jepsen's `stagger`).
#[derive(Debug)]
pub struct RateLimit {
    mean_interval: Option<Duration>,
    next_start: Mutex<Instant>,
}

impl RateLimit {
    /// A limit of `rate_per_s` operations a second; 0 for none.
    pub fn new(rate_per_s: f64) -> RateLimit {
        let mean_interval = (rate_per_s > 0.0).then(|| Duration::from_secs_f64(1.0 / rate_per_s));
        RateLimit {
            mean_interval,
            next_start: Mutex::new(Instant::now()),
        }
    }

    /// When the caller's next operation may start; the caller sleeps until then.
    pub fn next_start(&self, rng: &mut ChaCha8Rng) -> Option<Instant> {
        let mean = self.mean_interval?;
        let gap = mean.mul_f64(rng.random_range(0.0..2.0));
        let mut next = self.next_start.lock().unwrap_or_else(|e| e.into_inner());
        let start = (*next).max(Instant::now());
        *next = start + gap;
        Some(start)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn draw(workload: Workload, n: usize) -> Vec<Invocation> {
        let generator = Generator::new(workload);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        (0..n).map(|_| generator.next(&mut rng)).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_operations() {
        for workload in Workload::ALL {
            assert_eq!(draw(workload, 50), draw(workload, 50), "{workload:?}");
        }
    }

    #[test]
    fn set_elements_are_unique() {
        let adds: Vec<_> = draw(Workload::Set, 500)
            .into_iter()
            .filter(|op| op.f == "add")
            .map(|op| op.value)
            .collect();
        let unique: std::collections::BTreeSet<_> = adds.iter().collect();
        assert_eq!(unique.len(), adds.len());
        assert!(adds.len() > 300);
    }

    #[test]
    fn transactions_have_one_to_four_micro_ops_and_keys_rotate() {
        let ops = draw(Workload::ListAppend, 2000);
        let mut max_key = 0;
        for op in &ops {
            let micro = op.value.as_list().unwrap();
            assert!((1..=4).contains(&micro.len()));
            for m in micro {
                max_key = max_key.max(m.as_list().unwrap()[1].as_int().unwrap());
            }
        }
        assert!(max_key > TXN_KEYS as i64, "keys never rotated");
    }

    #[test]
    fn register_keys_move_in_windows() {
        let generator = Generator::new(Workload::Register);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..(REGISTER_OPS_PER_KEY + 1) {
            generator.next(&mut rng);
        }
        assert_eq!(generator.register_keys_used(), (0..8).collect::<Vec<_>>());
        assert_eq!(generator.final_reads().len(), 8);
    }
}
