//! Sequential specifications: what each datatype does when operations are applied one at a
//! time. The search asks a model only one question, `step(state, op)`: the state after `op`, or
//! `None` when `op` could not have happened in that state.
//!
//! The semantics are Knossos's (`knossos.model`), with the differences listed on [`Model`].
//! Each model first *compiles* the operations of a history: values are interned into small
//! integers so that states are compact and cheap to hash, and operations that constrain
//! nothing (a read whose value is unknown) are dropped before the search starts.

use std::collections::VecDeque;
use std::hash::Hash;

use rustc_hash::FxHashMap;
use schism_histories::Value;
use smol_str::SmolStr;

use crate::txn::MicroOp;

/// A client operation as the linearizability search sees it: already split by key, with the
/// value that describes it (the completion's for `ok`, the invocation's for `info`).
#[derive(Clone, Debug)]
pub(crate) struct LinOp {
    /// Index into [`schism_histories::PairedHistory::pairs`].
    pub pair: usize,
    /// Position of the invocation in the history.
    pub invoke: usize,
    /// Position of the `ok` completion; `None` for `info` operations and invocations that
    /// never completed, whose return is at +∞.
    pub complete: Option<usize>,
    pub f: SmolStr,
    /// The operation's value, without the key for keyed histories.
    pub value: Value,
}

impl LinOp {
    pub fn is_ok(&self) -> bool {
        self.complete.is_some()
    }
}

/// Why a history cannot be checked against a model: an operation the model does not know.
#[derive(Clone, Debug)]
pub(crate) struct CompileError {
    /// Index into the [`LinOp`] list.
    pub op: usize,
    pub message: String,
}

/// A compiled model and its operations, `None` for the dropped ones.
pub(crate) type Built<M> = Result<(M, Vec<Option<<M as Spec>::Op>>), CompileError>;

/// A sequential specification, compiled for one history (or one key of it).
pub(crate) trait Spec: Sized + Sync {
    type State: Clone + Eq + Hash + Send + Sync;
    type Op: Send + Sync;

    /// Compiles the operations; `None` marks an operation that constrains nothing and is
    /// dropped from the search.
    fn build(init: &Value, ops: &[LinOp]) -> Built<Self>;
    fn init(&self) -> Self::State;
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;
    /// Whether the operation never changes the state where it can happen (a read). The search
    /// commits to such an operation as soon as it is enabled.
    fn is_read_only(&self, _op: &Self::Op) -> bool {
        false
    }
    /// The state as a value a person can read, for witnesses.
    fn state_value(&self, state: &Self::State) -> Value;
    /// Heap bytes a state owns beyond its own size, for the memory estimate.
    fn heap_bytes(_state: &Self::State) -> usize {
        0
    }
}

/// Interns values as small integers; id 0 is always `nil`.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<Value, u32>,
    values: Vec<Value>,
}

impl Interner {
    fn new() -> Interner {
        let mut interner = Interner::default();
        interner.id(&Value::Nil);
        interner
    }

    fn id(&mut self, value: &Value) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(value.clone());
        self.ids.insert(value.clone(), id);
        id
    }

    fn value(&self, id: u32) -> Value {
        self.values.get(id as usize).cloned().unwrap_or_default()
    }
}

const NIL: u32 = 0;

fn unsupported(i: usize, model: &str, f: &str, supported: &str) -> CompileError {
    CompileError {
        op: i,
        message: format!("the {model} model supports {supported}, not {f}"),
    }
}

/// A read/write register, optionally with compare-and-set.
pub(crate) struct RegisterSpec<const CAS: bool> {
    values: Interner,
    init: u32,
}

pub(crate) enum RegisterOp {
    Read(u32),
    Write(u32),
    Cas(u32, u32),
}

impl<const CAS: bool> Spec for RegisterSpec<CAS> {
    type State = u32;
    type Op = RegisterOp;

    fn build(init: &Value, ops: &[LinOp]) -> Built<Self> {
        let mut values = Interner::new();
        let init = values.id(init);
        let model = if CAS { "cas-register" } else { "register" };
        let mut out = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let compiled = match op.f.as_str() {
                // A read of nil, or a read whose result is unknown (info), tells nothing.
                "read" | "r" if op.value.is_nil() || !op.is_ok() => None,
                "read" | "r" => Some(RegisterOp::Read(values.id(&op.value))),
                "write" | "w" => Some(RegisterOp::Write(values.id(&op.value))),
                "cas" if CAS => match op.value.as_list() {
                    Some([from, to]) => Some(RegisterOp::Cas(values.id(from), values.id(to))),
                    _ => {
                        return Err(CompileError {
                            op: i,
                            message: format!("expected cas [from to], found {}", op.value),
                        })
                    }
                },
                f => {
                    let supported = if CAS {
                        "read, write and cas"
                    } else {
                        "read and write (use cas-register for cas)"
                    };
                    return Err(unsupported(i, model, f, supported));
                }
            };
            out.push(compiled);
        }
        // A crashed write (or cas) of a value that no read returns and no cas expects can be
        // dropped: nothing after it can tell it happened, so a linearization with it stays one
        // without it. Crashed operations are what makes the search blow up, so this pays.
        let mut observed = vec![false; values.values.len()];
        for c in &out {
            match c {
                Some(RegisterOp::Read(v)) | Some(RegisterOp::Cas(v, _)) => {
                    if let Some(seen) = observed.get_mut(*v as usize) {
                        *seen = true;
                    }
                }
                _ => {}
            }
        }
        for (c, op) in out.iter_mut().zip(ops) {
            let written = match c {
                Some(RegisterOp::Write(v)) | Some(RegisterOp::Cas(_, v)) => *v,
                _ => continue,
            };
            if !op.is_ok() && !observed.get(written as usize).copied().unwrap_or(true) {
                *c = None;
            }
        }
        Ok((RegisterSpec { values, init }, out))
    }

    fn init(&self) -> u32 {
        self.init
    }

    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn step(&self, state: &u32, op: &RegisterOp) -> Option<u32> {
        match *op {
            RegisterOp::Read(v) => (v == *state).then_some(*state),
            RegisterOp::Write(v) => Some(v),
            RegisterOp::Cas(from, to) => (from == *state).then_some(to),
        }
    }

    fn state_value(&self, state: &u32) -> Value {
        self.values.value(*state)
    }
}

/// A single mutex: `acquire` when free, `release` when held.
pub(crate) struct MutexSpec;

pub(crate) enum MutexOp {
    Acquire,
    Release,
}

impl Spec for MutexSpec {
    type State = bool;
    type Op = MutexOp;

    fn build(_init: &Value, ops: &[LinOp]) -> Built<Self> {
        let mut out = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            out.push(Some(match op.f.as_str() {
                "acquire" => MutexOp::Acquire,
                "release" => MutexOp::Release,
                f => return Err(unsupported(i, "mutex", f, "acquire and release")),
            }));
        }
        Ok((MutexSpec, out))
    }

    fn init(&self) -> bool {
        false
    }

    fn step(&self, locked: &bool, op: &MutexOp) -> Option<bool> {
        match op {
            MutexOp::Acquire => (!*locked).then_some(true),
            MutexOp::Release => locked.then_some(false),
        }
    }

    fn state_value(&self, locked: &bool) -> Value {
        Value::Keyword(if *locked { "held" } else { "free" }.into())
    }
}

/// Registers named by keys, read and written by transactions `[[:read :x 1] [:write :y 2]]`.
pub(crate) struct MultiRegisterSpec {
    keys: Interner,
    values: Interner,
    init: Box<[u32]>,
}

pub(crate) enum MicroStep {
    Read(u32, u32),
    Write(u32, u32),
}

impl Spec for MultiRegisterSpec {
    type State = Box<[u32]>;
    type Op = Vec<MicroStep>;

    fn build(
        init: &Value,
        ops: &[LinOp],
    ) -> Result<(Self, Vec<Option<Vec<MicroStep>>>), CompileError> {
        let mut keys = Interner::new();
        let mut values = Interner::new();
        let mut out = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            if op.f != "txn" {
                return Err(unsupported(i, "multi-register", &op.f, "txn"));
            }
            let Some(items) = op.value.as_list() else {
                return Err(CompileError {
                    op: i,
                    message: format!("expected a list of micro-ops, found {}", op.value),
                });
            };
            let mut steps = Vec::with_capacity(items.len());
            for item in items {
                let micro =
                    MicroOp::parse(item).map_err(|message| CompileError { op: i, message })?;
                match micro {
                    // Knossos: "nil reads are always legal", so they constrain nothing.
                    MicroOp::Read { value, .. } if value.is_nil() => {}
                    MicroOp::Read { key, value } => {
                        steps.push(MicroStep::Read(keys.id(&key), values.id(&value)))
                    }
                    MicroOp::Write { key, value } => {
                        steps.push(MicroStep::Write(keys.id(&key), values.id(&value)))
                    }
                    MicroOp::Append { .. } => {
                        return Err(CompileError {
                            op: i,
                            message: format!(
                                "the multi-register model supports read and write micro-ops, not {item}"
                            ),
                        })
                    }
                }
            }
            // An info transaction's reads are unknown; one that only reads is dropped.
            if !op.is_ok() {
                steps.retain(|s| matches!(s, MicroStep::Write(..)));
            }
            out.push((!steps.is_empty()).then_some(steps));
        }
        // Keys named only by the initial map still get a slot, so the state can show them.
        let mut init_ids: Vec<(u32, u32)> = Vec::new();
        match init {
            Value::Map(m) => {
                // An initial map written on the command line names keys by strings, an EDN
                // history by keywords: a key of the map matches the history's key of the same
                // name.
                let by_name: FxHashMap<String, Value> = keys
                    .values
                    .iter()
                    .filter_map(|k| k.as_name().map(|n| (n.to_string(), k.clone())))
                    .collect();
                for (k, v) in m {
                    let k = match k.as_name().and_then(|n| by_name.get(n)) {
                        Some(same) => keys.id(&same.clone()),
                        None => keys.id(k),
                    };
                    init_ids.push((k, values.id(v)));
                }
            }
            v => {
                let v = values.id(v);
                // Id 0 is the placeholder nil key, never named by an operation.
                for k in 1..keys.values.len() as u32 {
                    init_ids.push((k, v));
                }
            }
        }
        let mut state = vec![NIL; keys.values.len()];
        for (k, v) in init_ids {
            if let Some(slot) = state.get_mut(k as usize) {
                *slot = v;
            }
        }
        Ok((
            MultiRegisterSpec {
                keys,
                values,
                init: state.into_boxed_slice(),
            },
            out,
        ))
    }

    fn init(&self) -> Box<[u32]> {
        self.init.clone()
    }

    fn is_read_only(&self, op: &Vec<MicroStep>) -> bool {
        op.iter().all(|s| matches!(s, MicroStep::Read(..)))
    }

    fn step(&self, state: &Box<[u32]>, op: &Vec<MicroStep>) -> Option<Box<[u32]>> {
        let mut next = state.clone();
        for step in op {
            match *step {
                MicroStep::Read(k, v) => {
                    if next.get(k as usize).copied().unwrap_or(NIL) != v {
                        return None;
                    }
                }
                MicroStep::Write(k, v) => {
                    if let Some(slot) = next.get_mut(k as usize) {
                        *slot = v;
                    }
                }
            }
        }
        Some(next)
    }

    fn state_value(&self, state: &Box<[u32]>) -> Value {
        Value::Map(
            state
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, &v)| (self.keys.value(k as u32), self.values.value(v)))
                .collect(),
        )
    }

    fn heap_bytes(state: &Box<[u32]>) -> usize {
        state.len() * 4
    }
}

/// A set: `add e`, and `read` of the whole set.
pub(crate) struct SetSpec {
    values: Interner,
}

pub(crate) enum SetOp {
    Add(u32),
    Read(Box<[u32]>),
}

impl Spec for SetSpec {
    type State = Box<[u32]>;
    type Op = SetOp;

    fn build(_init: &Value, ops: &[LinOp]) -> Built<Self> {
        let mut values = Interner::new();
        let mut out = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            out.push(match op.f.as_str() {
                "add" => Some(SetOp::Add(values.id(&op.value))),
                "read" | "r" if op.value.is_nil() || !op.is_ok() => None,
                "read" | "r" => {
                    let items: Vec<&Value> = match &op.value {
                        Value::List(items) => items.iter().collect(),
                        Value::Set(items) => items.iter().collect(),
                        v => {
                            return Err(CompileError {
                                op: i,
                                message: format!(
                                    "expected a set read to return a collection, found {v}"
                                ),
                            })
                        }
                    };
                    let mut ids: Vec<u32> = items.into_iter().map(|v| values.id(v)).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    Some(SetOp::Read(ids.into_boxed_slice()))
                }
                f => return Err(unsupported(i, "set", f, "add and read")),
            });
        }
        Ok((SetSpec { values }, out))
    }

    fn init(&self) -> Box<[u32]> {
        Box::new([])
    }

    fn is_read_only(&self, op: &SetOp) -> bool {
        matches!(op, SetOp::Read(_))
    }

    fn step(&self, state: &Box<[u32]>, op: &SetOp) -> Option<Box<[u32]>> {
        match op {
            SetOp::Add(e) => match state.binary_search(e) {
                Ok(_) => Some(state.clone()),
                Err(at) => {
                    let mut next = Vec::with_capacity(state.len() + 1);
                    next.extend_from_slice(&state[..at]);
                    next.push(*e);
                    next.extend_from_slice(&state[at..]);
                    Some(next.into_boxed_slice())
                }
            },
            SetOp::Read(seen) => (seen == state).then(|| state.clone()),
        }
    }

    fn state_value(&self, state: &Box<[u32]>) -> Value {
        Value::Set(state.iter().map(|&e| self.values.value(e)).collect())
    }

    fn heap_bytes(state: &Box<[u32]>) -> usize {
        state.len() * 4
    }
}

/// A counter: `add n` (or `incr`, `decr`; a nil amount is 1) and `read`.
pub(crate) struct CounterSpec {
    init: i64,
}

pub(crate) enum CounterOp {
    Add(i64),
    Read(i64),
}

impl Spec for CounterSpec {
    type State = i64;
    type Op = CounterOp;

    fn build(init: &Value, ops: &[LinOp]) -> Built<Self> {
        let int = |i: usize, v: &Value| -> Result<i64, CompileError> {
            match v {
                Value::Nil => Ok(1),
                Value::Int(n) => Ok(*n),
                v => Err(CompileError {
                    op: i,
                    message: format!("expected an integer amount, found {v}"),
                }),
            }
        };
        let mut out = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            out.push(match op.f.as_str() {
                "add" | "incr" => Some(CounterOp::Add(int(i, &op.value)?)),
                "decr" => Some(CounterOp::Add(int(i, &op.value)?.wrapping_neg())),
                "read" | "r" if op.value.is_nil() || !op.is_ok() => None,
                "read" | "r" => match op.value {
                    Value::Int(n) => Some(CounterOp::Read(n)),
                    ref v => {
                        return Err(CompileError {
                            op: i,
                            message: format!(
                                "expected a counter read to return an integer, found {v}"
                            ),
                        })
                    }
                },
                f => return Err(unsupported(i, "counter", f, "add, incr, decr and read")),
            });
        }
        let init = match init {
            Value::Nil => 0,
            Value::Int(n) => *n,
            v => {
                return Err(CompileError {
                    op: usize::MAX,
                    message: format!("the counter's initial value must be an integer, found {v}"),
                })
            }
        };
        Ok((CounterSpec { init }, out))
    }

    fn init(&self) -> i64 {
        self.init
    }

    fn is_read_only(&self, op: &CounterOp) -> bool {
        matches!(op, CounterOp::Read(_))
    }

    fn step(&self, state: &i64, op: &CounterOp) -> Option<i64> {
        match *op {
            CounterOp::Add(n) => Some(state.wrapping_add(n)),
            CounterOp::Read(n) => (n == *state).then_some(n),
        }
    }

    fn state_value(&self, state: &i64) -> Value {
        Value::Int(*state)
    }
}

/// A FIFO queue: `enqueue v`, `dequeue` returning the oldest element.
pub(crate) struct QueueSpec {
    values: Interner,
}

pub(crate) enum QueueOp {
    Enqueue(u32),
    /// An `ok` dequeue that returned this element.
    Dequeue(u32),
    /// An `ok` dequeue that returned nil: it found the queue empty.
    DequeueEmpty,
    /// A dequeue whose result is unknown (info): it may have taken whatever was first.
    DequeueAny,
}

impl Spec for QueueSpec {
    type State = VecDeque<u32>;
    type Op = QueueOp;

    fn build(_init: &Value, ops: &[LinOp]) -> Built<Self> {
        let mut values = Interner::new();
        let mut out = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            out.push(Some(match op.f.as_str() {
                "enqueue" => QueueOp::Enqueue(values.id(&op.value)),
                "dequeue" if !op.is_ok() => QueueOp::DequeueAny,
                "dequeue" if op.value.is_nil() => QueueOp::DequeueEmpty,
                "dequeue" => QueueOp::Dequeue(values.id(&op.value)),
                f => return Err(unsupported(i, "fifo-queue", f, "enqueue and dequeue")),
            }));
        }
        Ok((QueueSpec { values }, out))
    }

    fn init(&self) -> VecDeque<u32> {
        VecDeque::new()
    }

    fn is_read_only(&self, op: &QueueOp) -> bool {
        matches!(op, QueueOp::DequeueEmpty)
    }

    fn step(&self, state: &VecDeque<u32>, op: &QueueOp) -> Option<VecDeque<u32>> {
        match *op {
            QueueOp::Enqueue(v) => {
                let mut next = state.clone();
                next.push_back(v);
                Some(next)
            }
            QueueOp::Dequeue(v) => (state.front() == Some(&v)).then(|| {
                let mut next = state.clone();
                next.pop_front();
                next
            }),
            QueueOp::DequeueEmpty => state.is_empty().then(VecDeque::new),
            QueueOp::DequeueAny => (!state.is_empty()).then(|| {
                let mut next = state.clone();
                next.pop_front();
                next
            }),
        }
    }

    fn state_value(&self, state: &VecDeque<u32>) -> Value {
        Value::List(state.iter().map(|&v| self.values.value(v)).collect())
    }

    fn heap_bytes(state: &VecDeque<u32>) -> usize {
        state.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(f: &str, value: Value, ok: bool) -> LinOp {
        LinOp {
            pair: 0,
            invoke: 0,
            complete: ok.then_some(1),
            f: f.into(),
            value,
        }
    }

    /// Runs `ops` one after another from the initial state; `None` when one cannot happen.
    fn run<M: Spec>(init: Value, ops: &[LinOp]) -> Option<Value> {
        let (spec, compiled) = M::build(&init, ops).ok()?;
        let mut state = spec.init();
        for c in compiled.iter().flatten() {
            state = spec.step(&state, c)?;
        }
        Some(spec.state_value(&state))
    }

    #[test]
    fn registers_ignore_reads_of_nil_and_info_reads() {
        let ops = [
            op("write", Value::Int(3), true),
            op("read", Value::Nil, true),
            op("read", Value::Int(9), false),
            op("cas", Value::List(vec![Value::Int(3), Value::Int(4)]), true),
            op("read", Value::Int(4), true),
        ];
        assert_eq!(
            run::<RegisterSpec<true>>(Value::Nil, &ops),
            Some(Value::Int(4))
        );
        assert!(RegisterSpec::<false>::build(&Value::Nil, &ops).is_err());
    }

    #[test]
    fn multi_register_reads_see_the_transactions_own_writes() {
        let txn = |items: serde_json::Value| op("txn", Value::from_json(&items), true);
        let init = Value::from_json(&serde_json::json!({"x": 0}));
        let ops = [txn(serde_json::json!([
            ["w", "x", 1],
            ["r", "x", 1],
            ["r", "y", null]
        ]))];
        assert_eq!(
            run::<MultiRegisterSpec>(init.clone(), &ops),
            Some(Value::from_json(&serde_json::json!({"x": 1})))
        );
        // A missing key reads as nil, so reading 0 from it is impossible.
        let ops = [txn(serde_json::json!([["r", "y", 0]]))];
        assert_eq!(run::<MultiRegisterSpec>(init, &ops), None);
    }

    #[test]
    fn queue_and_set_and_counter() {
        let q = [
            op("enqueue", Value::Int(1), true),
            op("enqueue", Value::Int(2), true),
            op("dequeue", Value::Nil, false),
            op("dequeue", Value::Int(2), true),
            op("dequeue", Value::Nil, true),
        ];
        assert_eq!(run::<QueueSpec>(Value::Nil, &q), Some(Value::List(vec![])));
        let s = [
            op("add", Value::Int(2), true),
            op("add", Value::Int(1), true),
            op(
                "read",
                Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(1)]),
                true,
            ),
        ];
        assert!(run::<SetSpec>(Value::Nil, &s).is_some());
        let c = [
            op("incr", Value::Nil, true),
            op("decr", Value::Int(3), true),
            op("read", Value::Int(-2), true),
        ];
        assert_eq!(run::<CounterSpec>(Value::Nil, &c), Some(Value::Int(-2)));
    }
}
