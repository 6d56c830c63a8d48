//! Histories of a simulated linearizable register, for property tests and benchmarks.
//!
//! Concurrent clients invoke reads, writes and (optionally) compare-and-sets on registers that
//! start at 0. Each operation takes effect atomically at a random moment between its invocation
//! and its completion, so the history is linearizable by construction. A crashing operation
//! completes `info` and its process is replaced by a fresh one, as Jepsen does; its effect may
//! happen before the crash, at any time after it, or never. A CAS whose expected value does not
//! match completes `fail`.
//!
//! The generator is seeded and uses its own small RNG (SplitMix64), so the same options give
//! the same history everywhere.

use schism_histories::{History, Op, OpType, Pos, Process, Value};

use crate::sim_rng::SimRng as Rng;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimOptions {
    pub seed: u64,
    /// Concurrent client slots (a crashed process is replaced in its slot).
    pub processes: usize,
    /// Client operations to invoke.
    pub operations: usize,
    /// Chance, in percent, that an operation crashes (completes `info`).
    pub info_percent: u32,
    /// Whether clients also issue `cas [from to]`.
    pub cas: bool,
    /// Values written are drawn from `0..values`.
    pub values: i64,
    /// `Some(n)`: `n` independent registers, values written as `[key v]`.
    pub keys: Option<u64>,
}

impl Default for SimOptions {
    fn default() -> SimOptions {
        SimOptions {
            seed: 0,
            processes: 5,
            operations: 100,
            info_percent: 5,
            cas: true,
            values: 5,
            keys: None,
        }
    }
}

#[derive(Clone, Copy)]
enum Call {
    Read,
    Write(i64),
    Cas(i64, i64),
}

/// An operation in flight.
struct Open {
    process: i64,
    key: u64,
    call: Call,
    /// The result once applied: the value read, or whether the CAS succeeded.
    applied: Option<(i64, bool)>,
    crashes: bool,
}

fn apply(registers: &mut [i64], key: u64, call: Call) -> (i64, bool) {
    let Some(reg) = registers.get_mut(key as usize) else {
        return (0, false);
    };
    match call {
        Call::Read => (*reg, true),
        Call::Write(v) => {
            *reg = v;
            (v, true)
        }
        Call::Cas(from, to) => {
            if *reg == from {
                *reg = to;
                (to, true)
            } else {
                (*reg, false)
            }
        }
    }
}

/// Simulates clients of a linearizable register; see the module docs.
pub fn simulate_register(options: &SimOptions) -> History {
    let mut rng = Rng::new(options.seed);
    let key_count = options.keys.unwrap_or(1).max(1);
    let mut registers = vec![0i64; key_count as usize];
    let slots = options.processes.max(1);
    let mut slot_process: Vec<i64> = (0..slots as i64).collect();
    let mut next_process = slots as i64;
    let mut open: Vec<Option<Open>> = (0..slots).map(|_| None).collect();
    // Crashed operations whose effect has not happened yet, and may never.
    let mut zombies: Vec<(u64, Call)> = Vec::new();
    let mut ops: Vec<Op> = Vec::new();
    let mut invoked = 0usize;
    let values = options.values.max(1) as u64;

    let wrap = |key: u64, v: Value| -> Value {
        match options.keys {
            Some(_) => Value::List(vec![Value::Int(key as i64), v]),
            None => v,
        }
    };
    let call_value = |call: Call| -> Value {
        match call {
            Call::Read => Value::Nil,
            Call::Write(v) => Value::Int(v),
            Call::Cas(from, to) => Value::List(vec![Value::Int(from), Value::Int(to)]),
        }
    };
    let f_of = |call: Call| match call {
        Call::Read => "read",
        Call::Write(_) => "write",
        Call::Cas(..) => "cas",
    };

    loop {
        let idle: Vec<usize> = (0..slots).filter(|&s| open[s].is_none()).collect();
        let busy: Vec<usize> = (0..slots).filter(|&s| open[s].is_some()).collect();
        if invoked >= options.operations && busy.is_empty() {
            break;
        }
        let roll = rng.below_u64(100);
        if !zombies.is_empty() && roll < 3 {
            // A crashed operation takes effect late.
            let z = rng.below_u64(zombies.len() as u64) as usize;
            let (key, call) = zombies.swap_remove(z);
            apply(&mut registers, key, call);
        } else if invoked < options.operations && !idle.is_empty() && (busy.is_empty() || roll < 40)
        {
            let slot = idle[rng.below_u64(idle.len() as u64) as usize];
            let key = rng.below_u64(key_count);
            let call = match rng.below_u64(if options.cas { 3 } else { 2 }) {
                0 => Call::Read,
                1 => Call::Write(rng.below_u64(values) as i64),
                _ => Call::Cas(rng.below_u64(values) as i64, rng.below_u64(values) as i64),
            };
            let process = slot_process[slot];
            ops.push(Op::new(
                OpType::Invoke,
                Process::Client(process),
                f_of(call),
                wrap(key, call_value(call)),
            ));
            open[slot] = Some(Open {
                process,
                key,
                call,
                applied: None,
                crashes: rng.percent(options.info_percent),
            });
            invoked += 1;
        } else if !busy.is_empty() {
            let slot = busy[rng.below_u64(busy.len() as u64) as usize];
            let Some(o) = open[slot].as_mut() else {
                continue;
            };
            if o.applied.is_none() && rng.below_u64(2) == 0 {
                o.applied = Some(apply(&mut registers, o.key, o.call));
                continue;
            }
            let Some(o) = open[slot].take() else {
                continue;
            };
            let f = f_of(o.call);
            if o.crashes {
                if o.applied.is_none() && rng.below_u64(2) == 0 {
                    zombies.push((o.key, o.call));
                }
                ops.push(Op::new(
                    OpType::Info,
                    Process::Client(o.process),
                    f,
                    wrap(o.key, call_value(o.call)),
                ));
                slot_process[slot] = next_process;
                next_process += 1;
                continue;
            }
            let (result, success) = match o.applied {
                Some(applied) => applied,
                None => apply(&mut registers, o.key, o.call),
            };
            let (kind, value) = match o.call {
                Call::Read => (OpType::Ok, Value::Int(result)),
                Call::Write(_) => (OpType::Ok, call_value(o.call)),
                Call::Cas(..) if success => (OpType::Ok, call_value(o.call)),
                Call::Cas(..) => (OpType::Fail, call_value(o.call)),
            };
            ops.push(Op::new(
                kind,
                Process::Client(o.process),
                f,
                wrap(o.key, value),
            ));
        }
    }
    let mut history = History::new(ops);
    for op in &mut history.ops {
        op.pos = Pos {
            line: op.index as u32 + 1,
            column: 1,
        };
    }
    history.source_name = format!("<simulated register, seed {}>", options.seed);
    history
}
