//! The search for a linearization: Wing & Gong's algorithm with Lowe's memoization (Lowe,
//! "Testing for linearizability", Concurrency and Computation 2017), in the shape Porcupine's
//! `checker.go` gives it.
//!
//! The history is a doubly-linked list of call and return entries in real-time order. The
//! search walks the list from its head: at a call entry it tries to linearize that operation
//! next (step the model; if the configuration — the set of linearized operations and the
//! model state — is new, *lift* the call and its return out of the list and start again from
//! the head); at a return entry the operation it returns could not be linearized in time, so
//! it backtracks, undoing the last linearization (*unlift*) and trying the next call after it.
//! Memoizing every configuration seen makes the search visit each at most once.
//!
//! `info` operations have no return entry (their return is at +∞): they may be linearized at
//! any point after their call, or never. The search succeeds as soon as every `ok` operation is
//! linearized. Because they are optional, the memo table prunes by *dominance* rather than
//! equality: a configuration is skipped when one with the same state and the same `ok`
//! operations, but only a subset of its `info` operations, was already visited (whatever
//! completes from the larger set completes from the smaller one). Without this, every dead end
//! is explored once per subset of the crashed operations pending at that point.
//!
//! Reads (operations that leave the state as it is) are committed to: a read enabled in a
//! configuration can go first in whatever completes from there, so if the configuration after
//! it fails, the one before it fails too, and the search backtracks past both. This is what
//! keeps read-heavy histories with many concurrent processes cheap.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHasher};

use super::model::Spec;

const NIL: u32 = u32::MAX;

/// The limits a search runs under, shared by the searches of all keys of a history.
pub(crate) struct Limits {
    pub deadline: Instant,
    pub time_limit: Duration,
    pub memory_limit_bytes: usize,
    /// Bytes held by the memo tables of all running searches.
    pub memory_used: AtomicUsize,
}

impl Limits {
    pub fn new(time_limit: Duration, memory_limit_bytes: usize) -> Limits {
        let now = Instant::now();
        Limits {
            deadline: now
                .checked_add(time_limit)
                .unwrap_or(now + Duration::from_secs(1 << 32)),
            time_limit,
            memory_limit_bytes,
            memory_used: AtomicUsize::new(0),
        }
    }

    /// Limits ending at an earlier deadline, for a search that is part of a larger task.
    pub fn with_deadline(
        deadline: Instant,
        time_limit: Duration,
        memory_limit_bytes: usize,
    ) -> Limits {
        Limits {
            deadline,
            time_limit,
            memory_limit_bytes,
            memory_used: AtomicUsize::new(0),
        }
    }

    pub fn time_reason(&self, configurations: u64) -> String {
        format!(
            "time limit of {} reached after exploring {configurations} configurations",
            format_duration(self.time_limit)
        )
    }

    fn memory_reason(&self, configurations: u64) -> String {
        format!(
            "memory limit of {} reached after exploring {configurations} configurations",
            format_bytes(self.memory_limit_bytes)
        )
    }
}

pub(crate) fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else if d.as_millis() > 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} µs", d.as_micros())
    }
}

pub(crate) fn format_bytes(n: usize) -> String {
    const MIB: usize = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// One operation given to the search.
pub(crate) struct SearchOp<'a, O> {
    pub op: &'a O,
    /// Position of the call in the history.
    pub call: usize,
    /// Position of the return; `None` for `info`.
    pub ret: Option<usize>,
}

pub(crate) enum Verdict<S> {
    Valid,
    /// `failing` and `prefix` index the operations given to the search.
    Invalid {
        failing: usize,
        prefix: Vec<usize>,
        states: Vec<S>,
    },
    Unknown(String),
}

pub(crate) struct Outcome<S> {
    pub verdict: Verdict<S>,
    pub configurations: u64,
}

/// At most this many distinct states are reported for the longest prefix.
const MAX_WITNESS_STATES: usize = 8;

/// The memo table of configurations seen. Each entry is a bitset in one flat arena and a
/// state; two hash tables chain entries: by the whole configuration (for exact matches) and by
/// its `ok` operations and state only (for dominance, below). Lookups allocate nothing.
struct Memo<S> {
    exact_heads: FxHashMap<u64, u32>,
    exact_chain: Vec<u32>,
    ok_heads: FxHashMap<u64, u32>,
    ok_chain: Vec<u32>,
    bits: Vec<u64>,
    states: Vec<S>,
    words: usize,
    heap_bytes: usize,
}

/// How many entries of a chain by `ok` operations are scanned for a dominating one; past that
/// only exact matches prune. Pruning less is always sound, and long chains of `info` subsets
/// would otherwise make each lookup cost more than the search saves.
const DOMINANCE_SCAN: usize = 16;

impl<S: Eq + Clone> Memo<S> {
    fn new(words: usize) -> Memo<S> {
        Memo {
            exact_heads: FxHashMap::default(),
            exact_chain: Vec::new(),
            ok_heads: FxHashMap::default(),
            ok_chain: Vec::new(),
            bits: Vec::new(),
            states: Vec::new(),
            words,
            heap_bytes: 0,
        }
    }

    fn entry_bits(&self, i: u32) -> Option<&[u64]> {
        let at = i as usize * self.words;
        self.bits.get(at..at + self.words)
    }

    /// Inserts the configuration; false when it, or one that dominates it, was already there.
    ///
    /// (S, s) dominates (S', s) when S' is S plus `info` operations only: those need not be
    /// linearized, so whatever completes from S' also completes from S, and if S was explored
    /// without success, S' needs no exploring. `exact_hash` covers the whole set and the
    /// state, `ok_hash` only the `ok` operations and the state; `ok_mask` marks the `ok`
    /// operations' bits.
    fn insert(
        &mut self,
        exact_hash: u64,
        ok_hash: u64,
        bits: &[u64],
        ok_mask: &[u64],
        state: &S,
        state_heap: usize,
    ) -> bool {
        let new = self.states.len() as u32;
        let exact_first = self.exact_heads.get(&exact_hash).copied().unwrap_or(NIL);
        let mut i = exact_first;
        while i != NIL {
            if self.states.get(i as usize) == Some(state) && self.entry_bits(i) == Some(bits) {
                return false;
            }
            i = self.exact_chain.get(i as usize).copied().unwrap_or(NIL);
        }
        let ok_first = self.ok_heads.get(&ok_hash).copied().unwrap_or(NIL);
        let mut i = ok_first;
        let mut scanned = 0;
        while i != NIL && scanned < DOMINANCE_SCAN {
            if self.states.get(i as usize) == Some(state) {
                if let Some(seen) = self.entry_bits(i) {
                    let dominated = seen
                        .iter()
                        .zip(bits)
                        .zip(ok_mask)
                        .all(|((&seen, &cur), &ok)| seen & !cur == 0 && (seen ^ cur) & ok == 0);
                    if dominated {
                        return false;
                    }
                }
            }
            scanned += 1;
            i = self.ok_chain.get(i as usize).copied().unwrap_or(NIL);
        }
        self.exact_heads.insert(exact_hash, new);
        self.exact_chain.push(exact_first);
        self.ok_heads.insert(ok_hash, new);
        self.ok_chain.push(ok_first);
        self.bits.extend_from_slice(bits);
        self.states.push(state.clone());
        self.heap_bytes += state_heap;
        true
    }

    fn bytes(&self) -> usize {
        (self.exact_heads.capacity() + self.ok_heads.capacity()) * (8 + 4 + 1)
            + (self.exact_chain.capacity() + self.ok_chain.capacity()) * 4
            + self.bits.capacity() * 8
            + self.states.capacity() * std::mem::size_of::<S>()
            + self.heap_bytes
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hash_state<S: Hash>(state: &S) -> u64 {
    let mut h = FxHasher::default();
    state.hash(&mut h);
    h.finish()
}

/// The deepest point the search reached: the witness of an invalid history.
struct Deepest<S> {
    depth: usize,
    failing: usize,
    prefix: Vec<usize>,
    bits: Vec<u64>,
    states: Vec<S>,
}

/// Searches for a linearization of `ops` from the model's initial state.
pub(crate) fn search<M: Spec>(
    spec: &M,
    ops: &[SearchOp<'_, M::Op>],
    limits: &Limits,
) -> Outcome<M::State> {
    let n = ops.len();
    let words = n.div_ceil(64).max(1);
    let mut configurations: u64 = 0;
    let unknown = |reason: String, configurations: u64| Outcome {
        verdict: Verdict::Unknown(reason),
        configurations,
    };
    if n >= (NIL as usize) / 2 {
        return unknown(
            format!(
                "the history has {n} operations on one key; at most {} can be searched",
                NIL / 2 - 1
            ),
            0,
        );
    }
    // One memo entry alone must fit in the budget.
    if words * 8 * 4 > limits.memory_limit_bytes {
        return unknown(limits.memory_reason(0), 0);
    }

    // The entry list: index 0 is the head sentinel, then calls and returns by position.
    let mut events: Vec<(usize, u32, bool)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        events.push((op.call, i as u32, true));
        if let Some(ret) = op.ret {
            events.push((ret, i as u32, false));
        }
    }
    events.sort_unstable_by_key(|&(pos, op, is_call)| (pos, !is_call, op));
    let m = events.len() + 1;
    let mut entry_op = vec![NIL; m];
    let mut is_call = vec![false; m];
    let mut matching = vec![NIL; m];
    let mut call_entry = vec![NIL; n];
    for (e, &(_, op, call)) in events.iter().enumerate() {
        let e = e + 1;
        entry_op[e] = op;
        is_call[e] = call;
        if call {
            call_entry[op as usize] = e as u32;
        } else if let Some(&c) = call_entry.get(op as usize) {
            if c != NIL {
                matching[c as usize] = e as u32;
            }
        }
    }
    let mut next: Vec<u32> = (0..m as u32)
        .map(|e| if e as usize + 1 < m { e + 1 } else { NIL })
        .collect();
    let mut prev: Vec<u32> = (0..m as u32)
        .map(|e| if e == 0 { NIL } else { e - 1 })
        .collect();

    // Random keys per operation, XORed into running hashes of the linearized set: of all of
    // it, and of its `ok` operations only (see `Memo::insert`).
    let zobrist: Vec<u64> = (0..n as u64).map(splitmix64).collect();
    let zobrist_ok: Vec<u64> = (0..n)
        .map(|i| if ops[i].ret.is_some() { zobrist[i] } else { 0 })
        .collect();
    let mut zob_ok: u64 = 0;
    let mut ok_mask = vec![0u64; words];
    for (i, op) in ops.iter().enumerate() {
        if op.ret.is_some() {
            ok_mask[i / 64] |= 1 << (i % 64);
        }
    }
    let mut bits = vec![0u64; words];
    let mut zob: u64 = 0;
    let mut memo: Memo<M::State> = Memo::new(words);
    let mut stack: Vec<(u32, M::State)> = Vec::new();
    let mut state = spec.init();
    let mut ok_remaining = ops.iter().filter(|op| op.ret.is_some()).count();
    let mut deepest: Option<Deepest<M::State>> = None;
    let mut accounted: usize = 0;
    let mut steps: u64 = 0;

    let release = |accounted: usize| {
        limits.memory_used.fetch_sub(accounted, Ordering::Relaxed);
    };

    let read_only: Vec<bool> = ops.iter().map(|op| spec.is_read_only(op.op)).collect();
    let mut entry = next[0];
    loop {
        if ok_remaining == 0 || entry == NIL {
            release(accounted);
            return Outcome {
                verdict: Verdict::Valid,
                configurations,
            };
        }
        steps += 1;
        if steps.is_multiple_of(1024) {
            if Instant::now() >= limits.deadline {
                release(accounted);
                return unknown(limits.time_reason(configurations), configurations);
            }
            let bytes = memo.bytes() + stack.capacity() * std::mem::size_of::<(u32, M::State)>();
            if bytes > accounted {
                limits
                    .memory_used
                    .fetch_add(bytes - accounted, Ordering::Relaxed);
            } else {
                limits
                    .memory_used
                    .fetch_sub(accounted - bytes, Ordering::Relaxed);
            }
            accounted = bytes;
            if limits.memory_used.load(Ordering::Relaxed) > limits.memory_limit_bytes {
                release(accounted);
                return unknown(limits.memory_reason(configurations), configurations);
            }
        }
        let e = entry as usize;
        let op = entry_op[e] as usize;
        if is_call[e] {
            if let Some(new_state) = spec.step(&state, ops[op].op) {
                bits[op / 64] |= 1 << (op % 64);
                zob ^= zobrist[op];
                zob_ok ^= zobrist_ok[op];
                let state_hash = hash_state(&new_state);
                if memo.insert(
                    zob ^ state_hash,
                    zob_ok ^ state_hash,
                    &bits,
                    &ok_mask,
                    &new_state,
                    M::heap_bytes(&new_state),
                ) {
                    configurations += 1;
                    let old = std::mem::replace(&mut state, new_state);
                    stack.push((entry, old));
                    // Lift the call and its return out of the list.
                    let (p, nx) = (prev[e], next[e]);
                    next[p as usize] = nx;
                    if nx != NIL {
                        prev[nx as usize] = p;
                    }
                    let r = matching[e];
                    if r != NIL {
                        let (p, nx) = (prev[r as usize], next[r as usize]);
                        next[p as usize] = nx;
                        if nx != NIL {
                            prev[nx as usize] = p;
                        }
                        ok_remaining -= 1;
                    }
                    entry = next[0];
                    continue;
                }
                bits[op / 64] &= !(1 << (op % 64));
                zob ^= zobrist[op];
                zob_ok ^= zobrist_ok[op];
                // An enabled read whose configuration already failed elsewhere: this
                // configuration fails too (see `read_only` below). Only for `ok` reads: a
                // configuration with the same `ok` operations is no ancestor, so it did fail.
                if !(read_only[op] && ops[op].ret.is_some()) {
                    entry = next[e];
                    continue;
                }
            } else {
                entry = next[e];
                continue;
            }
        } else {
            // The operation returning here was not linearized in time: note how far we got,
            // then backtrack.
            let depth = stack.len();
            match &mut deepest {
                Some(d) if depth < d.depth => {}
                Some(d) if depth == d.depth => {
                    if d.bits == bits
                        && d.states.len() < MAX_WITNESS_STATES
                        && !d.states.contains(&state)
                    {
                        d.states.push(state.clone());
                    }
                }
                _ => {
                    deepest = Some(Deepest {
                        depth,
                        failing: op,
                        prefix: stack
                            .iter()
                            .map(|&(c, _)| entry_op[c as usize] as usize)
                            .collect(),
                        bits: bits.clone(),
                        states: vec![state.clone()],
                    })
                }
            }
        }
        // Backtrack: undo the last linearization and try the next call after it. A read
        // (an operation that leaves the state as it is) enabled in a configuration can always
        // go first in whatever completes from there, so when the configuration after a read
        // fails, so does the one before it: undo further.
        loop {
            let Some((c, old)) = stack.pop() else {
                release(accounted);
                let d = deepest.unwrap_or(Deepest {
                    depth: 0,
                    failing: op,
                    prefix: Vec::new(),
                    bits: Vec::new(),
                    states: vec![state],
                });
                return Outcome {
                    verdict: Verdict::Invalid {
                        failing: d.failing,
                        prefix: d.prefix,
                        states: d.states,
                    },
                    configurations,
                };
            };
            let c = c as usize;
            let lifted = entry_op[c] as usize;
            bits[lifted / 64] &= !(1 << (lifted % 64));
            zob ^= zobrist[lifted];
            zob_ok ^= zobrist_ok[lifted];
            state = old;
            // Unlift: put the return back, then the call, in the reverse order of lifting.
            let r = matching[c];
            if r != NIL {
                let r = r as usize;
                next[prev[r] as usize] = r as u32;
                if next[r] != NIL {
                    prev[next[r] as usize] = r as u32;
                }
                ok_remaining += 1;
            }
            next[prev[c] as usize] = c as u32;
            if next[c] != NIL {
                prev[next[c] as usize] = c as u32;
            }
            if !read_only[lifted] {
                entry = next[c];
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizable::model::{LinOp, RegisterSpec};
    use schism_histories::Value;

    /// `crashed` concurrent info writes of distinct values, then a read of a value none wrote.
    fn crashed_writes_then_bad_read(crashed: usize) -> Outcome<u32> {
        let mut ops: Vec<LinOp> = (0..crashed)
            .map(|i| LinOp {
                pair: i,
                invoke: i,
                complete: None,
                f: "write".into(),
                value: Value::Int(i as i64 + 1),
            })
            .collect();
        ops.push(LinOp {
            pair: crashed,
            invoke: crashed,
            complete: Some(crashed + 1),
            f: "read".into(),
            value: Value::Int(-1),
        });
        let (spec, compiled) = RegisterSpec::<false>::build(&Value::Int(0), &ops).unwrap();
        let search_ops: Vec<SearchOp<'_, _>> = ops
            .iter()
            .zip(&compiled)
            .filter_map(|(op, c)| {
                c.as_ref().map(|c| SearchOp {
                    op: c,
                    call: op.invoke,
                    ret: op.complete,
                })
            })
            .collect();
        let limits = Limits::new(Duration::from_secs(60), 1 << 30);
        search(&spec, &search_ops, &limits)
    }

    #[test]
    fn crashed_writes_nobody_reads_are_dropped() {
        let outcome = crashed_writes_then_bad_read(64);
        assert!(matches!(
            outcome.verdict,
            Verdict::Invalid { ref prefix, .. } if prefix.is_empty()
        ));
        assert_eq!(outcome.configurations, 0);
    }
}
