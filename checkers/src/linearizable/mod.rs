//! Linearizability checking (Herlihy & Wing, "Linearizability: a correctness condition for
//! concurrent objects", 1990): is there a total order of the history's operations, consistent
//! with their real-time order, in which a sequential model explains every result?
//!
//! The search is Wing & Gong's, with the memoization of Lowe ("Testing for linearizability",
//! 2017) as Porcupine and Knossos's `linear` use it: see [`search`](self) for the details.
//!
//! - **Real time is history order.** Operation A precedes B when A's completion line comes
//!   before B's invocation line; the `time` field is not used (Jepsen's clocks are per node).
//! - **Outcomes** follow Jepsen: an `ok` operation took effect between its invocation and its
//!   completion; a `fail` operation did not and is dropped; an `info` operation (or an
//!   invocation never completed) may take effect at any point after its invocation, or never,
//!   so it need not be linearized. An `ok` operation is judged by its completion's value, an
//!   `info` one by its invocation's.
//! - **Models** ([`Model`]) are Knossos's (`knossos.model`), with the differences listed there.
//! - **Keyed histories** (`value: [key v]`, as `jepsen.independent` writes them) are split per
//!   key and each key checked on its own, in parallel: linearizability is local (Herlihy &
//!   Wing), which Horn & Kroening call P-compositionality ("Faster linearizability checking via
//!   P-compositionality", 2015). Verdicts compose as invalid > unknown > valid; the witness is
//!   the smallest invalid key's.
//! - **Bounds**: a time limit and a memory budget; past either the verdict is `unknown` with
//!   the reason, never a hang or an out-of-memory abort.
//!
//! [`check`] is the entry point; [`minimize`] shrinks an invalid history to a 1-minimal one.

mod minimize;
mod model;
mod search;
pub mod sim;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use schism_histories::{Outcome, PairedHistory, Process, Value};
use smol_str::SmolStr;

use crate::Validity;
use model::{
    CounterSpec, LinOp, MultiRegisterSpec, MutexSpec, QueueSpec, RegisterSpec, SetSpec, Spec,
};
use search::{Limits, SearchOp, Verdict};

pub use minimize::{minimize, MinimizedHistory};

/// The sequential datatype a history is checked against.
///
/// | name | operations (`f value`) | state |
/// |---|---|---|
/// | `register` | `write v`, `read` → v | a value |
/// | `cas-register` | as `register`, plus `cas [from to]` | a value |
/// | `mutex` | `acquire`, `release` | held or free |
/// | `multi-register` | `txn [[:read :x v] [:write :y v] ...]` | a map from key to value |
/// | `set` | `add e`, `read` → the collection of elements | a set |
/// | `counter` | `add n` / `incr n` / `decr n` (nil is 1), `read` → n | an integer |
/// | `fifo-queue` | `enqueue v`, `dequeue` → v | a sequence |
///
/// As in Knossos, a read whose value is `nil` could have read anything and constrains nothing
/// (for `register`, `cas-register`, the micro-reads of `multi-register`, and for `set` and
/// `counter` reads). Reads of a missing multi-register key see `nil`. Differences from
/// Knossos: an `ok` `dequeue` of `nil` means the queue was found empty (Knossos's FIFO queue
/// rejects it), an `info` dequeue may remove whatever element was first (Knossos judges it by
/// its invocation value, `nil`, so it never takes effect), a `counter` model exists (Knossos
/// has none), and an `f` the model does not know gives `unknown` with the reason rather than an
/// exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Model {
    Register,
    CasRegister,
    Mutex,
    MultiRegister,
    Set,
    Counter,
    FifoQueue,
}

/// A model name that [`Model::parse`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown model {name}; expected one of register, cas-register, mutex, multi-register, set, counter, fifo-queue (optionally prefixed with keyed-)")]
pub struct UnknownModel {
    pub name: String,
}

impl Model {
    pub const ALL: [Model; 7] = [
        Model::Register,
        Model::CasRegister,
        Model::Mutex,
        Model::MultiRegister,
        Model::Set,
        Model::Counter,
        Model::FifoQueue,
    ];

    /// The model's name on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Model::Register => "register",
            Model::CasRegister => "cas-register",
            Model::Mutex => "mutex",
            Model::MultiRegister => "multi-register",
            Model::Set => "set",
            Model::Counter => "counter",
            Model::FifoQueue => "fifo-queue",
        }
    }

    /// Parses a model name (`cas-register`); `keyed-` prefixes are for
    /// [`LinearOptions::from_model_name`]. Knossos's spellings `cas` and `queue` are accepted.
    pub fn parse(name: &str) -> Result<Model, UnknownModel> {
        Ok(match name {
            "register" => Model::Register,
            "cas-register" | "cas" => Model::CasRegister,
            "mutex" => Model::Mutex,
            "multi-register" => Model::MultiRegister,
            "set" => Model::Set,
            "counter" => Model::Counter,
            "fifo-queue" | "queue" => Model::FifoQueue,
            _ => {
                return Err(UnknownModel {
                    name: name.to_string(),
                })
            }
        })
    }

    /// How explanations describe a state: "the register holds 4".
    fn state_phrase(self, states: &[Value]) -> String {
        let show = |v: &Value| match self {
            Model::Mutex => v.as_name().unwrap_or("?").to_string(),
            _ => v.to_string(),
        };
        let (subject, verb) = match self {
            Model::Register | Model::CasRegister => ("the register", "holds"),
            Model::Mutex => ("the mutex", "is"),
            Model::MultiRegister => ("the registers", "hold"),
            Model::Set => ("the set", "holds"),
            Model::Counter => ("the counter", "holds"),
            Model::FifoQueue => ("the queue", "holds"),
        };
        let mut text = format!("{subject} {verb}");
        if let Some((first, others)) = states.split_first() {
            text.push_str(&format!(" {}", show(first)));
            if !others.is_empty() {
                let others: Vec<String> = others.iter().map(show).collect();
                text.push_str(&format!(" (or {})", others.join(", ")));
            }
        }
        text
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to check a history against, and the bounds of the search.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearOptions {
    pub model: Model,
    /// The initial state: the register's value (default `nil`), the counter's value, or for
    /// `multi-register` a map from key to value (`{"x" 0, "y" 0}`) or one value used for every
    /// key. Ignored by `mutex`, `set` and `fifo-queue`, which start empty/free.
    pub init: Value,
    /// `Some(true)`: values are `[key v]` pairs, checked per key; `Some(false)`: they are not;
    /// `None`: detected from the values' shape (see [`detect_keyed`]).
    pub keyed: Option<bool>,
    pub time_limit: Duration,
    pub memory_limit_bytes: usize,
}

impl LinearOptions {
    /// Options with the defaults: initial value `nil`, keyed detected, 60 s, 2 GiB.
    pub fn new(model: Model) -> LinearOptions {
        LinearOptions {
            model,
            init: Value::Nil,
            keyed: None,
            time_limit: Duration::from_secs(60),
            memory_limit_bytes: 2 << 30,
        }
    }

    /// Options for a model name as the CLI takes it: `cas-register`, or `keyed-cas-register`
    /// to force per-key checking (a bare name detects keys from the values' shape).
    pub fn from_model_name(name: &str) -> Result<LinearOptions, UnknownModel> {
        match name.strip_prefix("keyed-") {
            Some(base) => {
                let mut options =
                    LinearOptions::new(Model::parse(base).map_err(|_| UnknownModel {
                        name: name.to_string(),
                    })?);
                options.keyed = Some(true);
                Ok(options)
            }
            None => Ok(LinearOptions::new(Model::parse(name)?)),
        }
    }

    pub fn with_init(mut self, init: Value) -> LinearOptions {
        self.init = init;
        self
    }

    pub fn with_time_limit(mut self, time_limit: Duration) -> LinearOptions {
        self.time_limit = time_limit;
        self
    }

    pub fn with_memory_limit_bytes(mut self, bytes: usize) -> LinearOptions {
        self.memory_limit_bytes = bytes;
        self
    }

    pub fn with_keyed(mut self, keyed: Option<bool>) -> LinearOptions {
        self.keyed = keyed;
        self
    }
}

/// A client operation named as the user sees it in the history file.
#[derive(Clone, Debug, PartialEq)]
pub struct OpRef {
    /// The invocation's `index`.
    pub index: u64,
    pub process: Process,
    pub f: SmolStr,
    /// The completion's value for `ok` operations, the invocation's for `info`; without the
    /// key in keyed histories.
    pub value: Value,
    pub outcome: Outcome,
    /// The invocation's line in the source file (0 for a history built in memory).
    pub line: u32,
}

impl OpRef {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "index": self.index,
            "process": match self.process {
                Process::Client(p) => serde_json::Value::from(p),
                Process::Nemesis => serde_json::Value::from("nemesis"),
            },
            "f": self.f.as_str(),
            "value": self.value.to_json(),
            "type": self.outcome.as_str(),
            "line": self.line,
        })
    }
}

/// `41 (process 3, read -> 2, line 42)`.
impl fmt::Display for OpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (process {}, {}", self.index, self.process, self.f)?;
        let reads = matches!(self.f.as_str(), "read" | "r" | "dequeue");
        if reads && self.outcome == Outcome::Ok {
            write!(f, " -> {}", self.value)?;
        } else if !self.value.is_nil() {
            write!(f, " {}", self.value)?;
        }
        if self.outcome != Outcome::Ok {
            write!(f, ", {}", self.outcome.as_str())?;
        }
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        f.write_str(")")
    }
}

/// Why a history is not linearizable, in terms a person can check against the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Witness {
    /// The operation that cannot be linearized after the longest prefix.
    pub op: OpRef,
    /// The longest linearizable prefix found: invocation indices in linearization order.
    pub prefix: Vec<u64>,
    /// The model states reachable after that prefix (at most 8).
    pub states: Vec<Value>,
    /// The operations whose intervals overlap the failing one's, by index.
    pub concurrent: Vec<OpRef>,
}

impl Witness {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "op": self.op.to_json(),
            "prefix": self.prefix,
            "states": self.states.iter().map(Value::to_json).collect::<Vec<_>>(),
            "concurrent": self.concurrent.iter().map(OpRef::to_json).collect::<Vec<_>>(),
        })
    }
}

/// The verdict of [`check`].
#[derive(Clone, Debug, PartialEq)]
pub struct LinearResult {
    pub validity: Validity,
    pub model: Model,
    /// Whether the history was checked per key.
    pub keyed: bool,
    /// The key the witness (or the unknown reason) is about, for keyed histories.
    pub key: Option<Value>,
    /// How many keys were checked (1 for an unkeyed history).
    pub key_count: usize,
    /// Every invalid key, sorted; empty for unkeyed histories.
    pub invalid_keys: Vec<Value>,
    /// Every key whose verdict is unknown, sorted; empty for unkeyed histories.
    pub unknown_keys: Vec<Value>,
    pub witness: Option<Witness>,
    /// Set when the verdict is unknown.
    pub unknown_reason: Option<String>,
    /// Configurations (linearized set, state) the search visited, over all keys.
    pub configurations_explored: u64,
    /// Operations given to the search, after dropping failed ones and those that constrain
    /// nothing (reads of unknown values).
    pub operations_checked: usize,
}

impl LinearResult {
    /// The result as JSON, with stable field names.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "validity": self.validity.as_str(),
            "model": self.model.name(),
            "keyed": self.keyed,
            "key": self.key.as_ref().map(Value::to_json),
            "key_count": self.key_count,
            "invalid_keys": self.invalid_keys.iter().map(Value::to_json).collect::<Vec<_>>(),
            "unknown_keys": self.unknown_keys.iter().map(Value::to_json).collect::<Vec<_>>(),
            "witness": self.witness.as_ref().map(Witness::to_json),
            "unknown_reason": self.unknown_reason,
            "configurations_explored": self.configurations_explored,
            "operations_checked": self.operations_checked,
        })
    }

    /// The result as text a person reads: the verdict and, for `invalid`, why.
    pub fn explain(&self) -> String {
        let key = match &self.key {
            Some(k) if self.keyed => format!("key {k}: "),
            _ => String::new(),
        };
        let mut text = match self.validity {
            Validity::Valid if self.keyed => format!(
                "valid: all {} keys are linearizable as a {} ({} operations checked, {} configurations explored)",
                self.key_count, self.model, self.operations_checked, self.configurations_explored
            ),
            Validity::Valid => format!(
                "valid: linearizable as a {} ({} operations checked, {} configurations explored)",
                self.model, self.operations_checked, self.configurations_explored
            ),
            Validity::Unknown => format!(
                "unknown: {key}{}",
                self.unknown_reason.as_deref().unwrap_or("no reason given")
            ),
            Validity::Invalid => match &self.witness {
                Some(w) => format!("invalid: {key}{}", explain_witness(self.model, w)),
                None => format!("invalid: {key}no witness"),
            },
        };
        if self.invalid_keys.len() > 1 {
            text.push_str(&format!(
                "\ninvalid keys ({}): {}",
                self.invalid_keys.len(),
                list_values(&self.invalid_keys)
            ));
        }
        if !self.unknown_keys.is_empty() && self.validity == Validity::Invalid {
            text.push_str(&format!(
                "\nunknown keys ({}): {}",
                self.unknown_keys.len(),
                list_values(&self.unknown_keys)
            ));
        }
        text
    }
}

fn list_values(values: &[Value]) -> String {
    const SHOWN: usize = 20;
    let mut text = values
        .iter()
        .take(SHOWN)
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if values.len() > SHOWN {
        text.push_str(&format!(", and {} more", values.len() - SHOWN));
    }
    text
}

fn explain_witness(model: Model, w: &Witness) -> String {
    const HEAD: usize = 4;
    const TAIL: usize = 8;
    const CONCURRENT: usize = 8;
    let prefix = if w.prefix.len() <= HEAD + TAIL {
        let items: Vec<String> = w.prefix.iter().map(u64::to_string).collect();
        format!("[{}]", items.join(" "))
    } else {
        let head: Vec<String> = w.prefix.iter().take(HEAD).map(u64::to_string).collect();
        let tail: Vec<String> = w.prefix[w.prefix.len() - TAIL..]
            .iter()
            .map(u64::to_string)
            .collect();
        format!(
            "[{} ... {}] ({} operations)",
            head.join(" "),
            tail.join(" "),
            w.prefix.len()
        )
    };
    let mut text = format!(
        "operation {} cannot be linearized: after the longest linearizable prefix {prefix} {}",
        w.op,
        model.state_phrase(&w.states)
    );
    if w.concurrent.is_empty() {
        text.push_str("; no operation is concurrent with it");
    } else {
        let shown: Vec<String> = w
            .concurrent
            .iter()
            .take(CONCURRENT)
            .map(OpRef::to_string)
            .collect();
        text.push_str(&format!("; concurrent with it: {}", shown.join(", ")));
        if w.concurrent.len() > CONCURRENT {
            text.push_str(&format!(", and {} more", w.concurrent.len() - CONCURRENT));
        }
    }
    text
}

/// Decides whether values are `[key v]` pairs as `jepsen.independent` writes them: every
/// operation's value must be a two-element list and, where the unkeyed reading is also a
/// list, its shape must fit: for the registers every `cas` is `[key [from to]]`, for
/// `multi-register` every value is `[key [micro-op ...]]` whose key is not itself a list, for
/// `set` every read is `[key collection]`. Unkeyed histories of registers holding pairs are
/// therefore taken for keyed ones: say `keyed: Some(false)` for those.
pub fn detect_keyed(history: &PairedHistory, model: Model) -> bool {
    let ops = lin_ops(history);
    !ops.is_empty() && ops.iter().all(|op| looks_keyed(model, op))
}

fn looks_keyed(model: Model, op: &LinOp) -> bool {
    let Some([key, v]) = op.value.as_list() else {
        return false;
    };
    match model {
        Model::Register | Model::CasRegister if op.f == "cas" => {
            matches!(v.as_list(), Some([_, _]))
        }
        Model::MultiRegister => key.as_list().is_none() && v.as_list().is_some(),
        Model::Set if matches!(op.f.as_str(), "read" | "r") => {
            matches!(v, Value::List(_) | Value::Set(_) | Value::Nil)
        }
        _ => true,
    }
}

/// The client operations to check: failed ones are dropped, as they took no effect.
fn lin_ops(history: &PairedHistory) -> Vec<LinOp> {
    history
        .pairs()
        .iter()
        .enumerate()
        .filter(|(_, pair)| pair.outcome != Outcome::Fail)
        .map(|(i, pair)| LinOp {
            pair: i,
            invoke: pair.invoke,
            complete: if pair.outcome == Outcome::Ok {
                pair.complete
            } else {
                None
            },
            f: history.invocation(pair).f.clone(),
            value: history.value(pair).clone(),
        })
        .collect()
}

/// The operations of a history, split by key when keyed.
pub(crate) struct Prepared {
    pub keyed: bool,
    pub groups: Vec<(Option<Value>, Vec<LinOp>)>,
}

pub(crate) fn prepare(
    history: &PairedHistory,
    options: &LinearOptions,
) -> Result<Prepared, String> {
    let ops = lin_ops(history);
    let keyed = match options.keyed {
        Some(keyed) => keyed,
        None => !ops.is_empty() && ops.iter().all(|op| looks_keyed(options.model, op)),
    };
    if !keyed {
        return Ok(Prepared {
            keyed,
            groups: vec![(None, ops)],
        });
    }
    let mut groups: BTreeMap<Value, Vec<LinOp>> = BTreeMap::new();
    for mut op in ops {
        let Some([key, v]) = op.value.as_list() else {
            return Err(format!(
                "operation {}: expected a [key value] pair, found {}",
                op_ref(history, &op),
                op.value
            ));
        };
        let (key, v) = (key.clone(), v.clone());
        op.value = v;
        groups.entry(key).or_default().push(op);
    }
    Ok(Prepared {
        keyed,
        groups: groups.into_iter().map(|(k, ops)| (Some(k), ops)).collect(),
    })
}

pub(crate) fn op_ref(history: &PairedHistory, op: &LinOp) -> OpRef {
    let pair = history.pairs().get(op.pair);
    let invocation = pair.map(|p| history.invocation(p));
    OpRef {
        index: invocation.map_or(0, |o| o.index),
        process: invocation.map_or(Process::Nemesis, |o| o.process),
        f: op.f.clone(),
        value: op.value.clone(),
        outcome: pair.map_or(Outcome::Info, |p| p.outcome),
        line: invocation.map_or(0, |o| o.pos.line),
    }
}

/// The verdict for one key, in terms of indices into its [`LinOp`] list.
pub(crate) enum KeyOutcome {
    Valid {
        configurations: u64,
        checked: usize,
    },
    Invalid {
        failing: usize,
        prefix: Vec<usize>,
        states: Vec<Value>,
        /// The operations given to the search.
        searched: Vec<usize>,
        configurations: u64,
    },
    Unknown {
        reason: String,
        configurations: u64,
        checked: usize,
    },
    /// The model does not know an operation (`op` indexes the list; `None`: no operation).
    Unsupported {
        op: Option<usize>,
        message: String,
    },
}

impl KeyOutcome {
    pub fn validity(&self) -> Validity {
        match self {
            KeyOutcome::Valid { .. } => Validity::Valid,
            KeyOutcome::Invalid { .. } => Validity::Invalid,
            KeyOutcome::Unknown { .. } | KeyOutcome::Unsupported { .. } => Validity::Unknown,
        }
    }

    fn configurations(&self) -> u64 {
        match self {
            KeyOutcome::Valid { configurations, .. }
            | KeyOutcome::Invalid { configurations, .. }
            | KeyOutcome::Unknown { configurations, .. } => *configurations,
            KeyOutcome::Unsupported { .. } => 0,
        }
    }

    fn checked(&self) -> usize {
        match self {
            KeyOutcome::Valid { checked, .. } | KeyOutcome::Unknown { checked, .. } => *checked,
            KeyOutcome::Invalid { searched, .. } => searched.len(),
            KeyOutcome::Unsupported { .. } => 0,
        }
    }
}

pub(crate) fn check_key(model: Model, init: &Value, ops: &[LinOp], limits: &Limits) -> KeyOutcome {
    match model {
        Model::Register => check_with::<RegisterSpec<false>>(init, ops, limits),
        Model::CasRegister => check_with::<RegisterSpec<true>>(init, ops, limits),
        Model::Mutex => check_with::<MutexSpec>(init, ops, limits),
        Model::MultiRegister => check_with::<MultiRegisterSpec>(init, ops, limits),
        Model::Set => check_with::<SetSpec>(init, ops, limits),
        Model::Counter => check_with::<CounterSpec>(init, ops, limits),
        Model::FifoQueue => check_with::<QueueSpec>(init, ops, limits),
    }
}

fn check_with<M: Spec>(init: &Value, ops: &[LinOp], limits: &Limits) -> KeyOutcome {
    let (spec, compiled) = match M::build(init, ops) {
        Ok(built) => built,
        Err(e) => {
            return KeyOutcome::Unsupported {
                op: (e.op < ops.len()).then_some(e.op),
                message: e.message,
            }
        }
    };
    let mut searched = Vec::new();
    let mut search_ops = Vec::new();
    for (i, (op, compiled)) in ops.iter().zip(&compiled).enumerate() {
        if let Some(compiled) = compiled {
            searched.push(i);
            search_ops.push(SearchOp {
                op: compiled,
                call: op.invoke,
                ret: op.complete,
            });
        }
    }
    let outcome = search::search(&spec, &search_ops, limits);
    let configurations = outcome.configurations;
    let checked = searched.len();
    match outcome.verdict {
        Verdict::Valid => KeyOutcome::Valid {
            configurations,
            checked,
        },
        Verdict::Unknown(reason) => KeyOutcome::Unknown {
            reason,
            configurations,
            checked,
        },
        Verdict::Invalid {
            failing,
            prefix,
            states,
        } => {
            let at = |i: usize| searched.get(i).copied().unwrap_or(usize::MAX);
            KeyOutcome::Invalid {
                failing: at(failing),
                prefix: prefix.into_iter().map(at).collect(),
                states: states.iter().map(|s| spec.state_value(s)).collect(),
                searched: searched.clone(),
                configurations,
            }
        }
    }
}

/// Checks that the history is linearizable with respect to `options.model`.
pub fn check(history: &PairedHistory, options: &LinearOptions) -> LinearResult {
    let limits = Limits::new(options.time_limit, options.memory_limit_bytes);
    check_within(history, options, &limits)
}

pub(crate) fn check_within(
    history: &PairedHistory,
    options: &LinearOptions,
    limits: &Limits,
) -> LinearResult {
    let mut result = LinearResult {
        validity: Validity::Valid,
        model: options.model,
        keyed: false,
        key: None,
        key_count: 0,
        invalid_keys: Vec::new(),
        unknown_keys: Vec::new(),
        witness: None,
        unknown_reason: None,
        configurations_explored: 0,
        operations_checked: 0,
    };
    let prepared = match prepare(history, options) {
        Ok(prepared) => prepared,
        Err(reason) => {
            result.validity = Validity::Unknown;
            result.unknown_reason = Some(reason);
            return result;
        }
    };
    result.keyed = prepared.keyed;
    result.key_count = prepared.groups.len();
    let outcomes: Vec<KeyOutcome> = if prepared.groups.len() == 1 {
        prepared
            .groups
            .iter()
            .map(|(_, ops)| check_key(options.model, &options.init, ops, limits))
            .collect()
    } else {
        prepared
            .groups
            .par_iter()
            .map(|(_, ops)| check_key(options.model, &options.init, ops, limits))
            .collect()
    };
    result.configurations_explored = outcomes.iter().map(KeyOutcome::configurations).sum();
    result.operations_checked = outcomes.iter().map(KeyOutcome::checked).sum();
    result.validity = Validity::merge_all(outcomes.iter().map(KeyOutcome::validity));
    for ((key, _), outcome) in prepared.groups.iter().zip(&outcomes) {
        if let Some(key) = key {
            match outcome.validity() {
                Validity::Invalid => result.invalid_keys.push(key.clone()),
                Validity::Unknown => result.unknown_keys.push(key.clone()),
                Validity::Valid => {}
            }
        }
    }
    // The witness (or the reason) is the first key's with the overall verdict: keys are
    // sorted, so this is deterministic.
    let chosen = prepared.groups.iter().zip(&outcomes).find(|(_, outcome)| {
        outcome.validity() == result.validity && result.validity != Validity::Valid
    });
    if let Some(((key, ops), outcome)) = chosen {
        result.key = key.clone();
        match outcome {
            KeyOutcome::Invalid {
                failing,
                prefix,
                states,
                searched,
                ..
            } => {
                result.witness = ops.get(*failing).map(|failing_op| {
                    build_witness(history, ops, failing_op, prefix, states, searched)
                });
            }
            KeyOutcome::Unknown { reason, .. } => result.unknown_reason = Some(reason.clone()),
            KeyOutcome::Unsupported { op, message } => {
                result.unknown_reason = Some(match op.and_then(|i| ops.get(i)) {
                    Some(op) => format!("operation {}: {message}", op_ref(history, op)),
                    None => message.clone(),
                })
            }
            KeyOutcome::Valid { .. } => {}
        }
    }
    result
}

fn build_witness(
    history: &PairedHistory,
    ops: &[LinOp],
    failing: &LinOp,
    prefix: &[usize],
    states: &[Value],
    searched: &[usize],
) -> Witness {
    let end = |op: &LinOp| op.complete.unwrap_or(usize::MAX);
    let concurrent = searched
        .iter()
        .filter_map(|&i| ops.get(i))
        .filter(|op| {
            op.pair != failing.pair && op.invoke < end(failing) && failing.invoke < end(op)
        })
        .map(|op| op_ref(history, op))
        .collect();
    Witness {
        op: op_ref(history, failing),
        prefix: prefix
            .iter()
            .filter_map(|&i| ops.get(i))
            .map(|op| op_ref(history, op).index)
            .collect(),
        states: states.to_vec(),
        concurrent,
    }
}

/// How long an operation took to check, for callers that report it; not part of the result so
/// that results stay deterministic.
pub fn timed_check(history: &PairedHistory, options: &LinearOptions) -> (LinearResult, Duration) {
    let start = Instant::now();
    let result = check(history, options);
    (result, start.elapsed())
}
