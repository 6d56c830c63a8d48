//! Histories and results shared by the report's tests and its bench.
#![allow(dead_code)]

use schism_histories::{History, Op, OpType, Process, Value};
use serde_json::{json, Value as Json};

pub fn op(kind: OpType, process: Process, f: &str, value: Value, time_ns: i64) -> Op {
    let mut op = Op::new(kind, process, f, value);
    op.time = time_ns;
    op
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

/// A small invalid register history with a partition, a stale read (the linearizability
/// witness), and transactions forming a G-single cycle; with results in the checkers' shapes
/// and a test config.
pub fn invalid_fixture() -> (History, Json, Json) {
    let c = Process::Client;
    let n = Process::Nemesis;
    let ms = 1_000_000;
    let ops = vec![
        op(OpType::Invoke, c(0), "write", int(1), 0),
        op(OpType::Invoke, c(1), "read", Value::Nil, 2 * ms),
        op(OpType::Ok, c(0), "write", int(1), 5 * ms),
        op(OpType::Ok, c(1), "read", int(1), 6 * ms),
        op(
            OpType::Invoke,
            n,
            "start-partition",
            Value::Str("majority".into()),
            7 * ms,
        ),
        op(
            OpType::Info,
            n,
            "start-partition",
            json_value(json!({"n1": ["n3", "n4"]})),
            8 * ms,
        ),
        op(OpType::Invoke, c(0), "write", int(2), 10 * ms),
        op(OpType::Ok, c(0), "write", int(2), 14 * ms),
        op(OpType::Invoke, c(2), "read", Value::Nil, 16 * ms),
        op(OpType::Ok, c(2), "read", int(1), 19 * ms),
        op(
            OpType::Invoke,
            c(1),
            "txn",
            txn(&[("append", 5, Some(int(3))), ("r", 6, None)]),
            20 * ms,
        ),
        op(
            OpType::Invoke,
            c(0),
            "txn",
            txn(&[("append", 6, Some(int(4))), ("r", 5, None)]),
            21 * ms,
        ),
        op(
            OpType::Ok,
            c(1),
            "txn",
            txn(&[
                ("append", 5, Some(int(3))),
                ("r", 6, Some(Value::List(vec![]))),
            ]),
            24 * ms,
        ),
        op(
            OpType::Ok,
            c(0),
            "txn",
            txn(&[
                ("append", 6, Some(int(4))),
                ("r", 5, Some(Value::List(vec![]))),
            ]),
            25 * ms,
        ),
        op(OpType::Invoke, n, "stop-partition", Value::Nil, 26 * ms),
        op(
            OpType::Info,
            n,
            "stop-partition",
            Value::Str("fully connected".into()),
            27 * ms,
        ),
        op(OpType::Invoke, c(2), "write", int(3), 28 * ms),
        op(OpType::Fail, c(2), "write", int(3), 29 * ms),
        op(OpType::Invoke, c(3), "read", Value::Nil, 30 * ms),
        op(OpType::Info, c(3), "read", Value::Nil, 33 * ms),
    ];
    let history = History::new(ops);
    // The layout the harness writes (`validity`, the checker's JSON under `explanation`), with
    // each checker's own fields as their `to_json` writes them.
    let results = json!({
        "version": 1,
        "validity": "invalid",
        "checkers": {
            "linearizable": {"validity": "invalid", "explanation": {
                "validity": "invalid",
                "model": "register",
                "keyed": false,
                "key": null,
                "witness": {
                    "op": {"index": 8, "process": 2, "f": "read", "value": 1, "type": "ok", "line": 9},
                    "prefix": [0, 1, 6],
                    "states": [2],
                    "concurrent": []
                },
                "unknown_reason": null
            }},
            "elle": {"validity": "invalid", "explanation": {
                "valid": "invalid",
                "anomaly_types": ["G-single"],
                "not": ["snapshot-isolation", "serializable"],
                "also_not": ["strict-serializable"],
                "anomalies": {
                    "G-single": [{
                        "type": "G-single",
                        "txns": [
                            {"name": "T1", "index": 12, "process": 1, "type": "ok", "value": [["append", 5, 3], ["r", 6, []]]},
                            {"name": "T2", "index": 13, "process": 0, "type": "ok", "value": [["append", 6, 4], ["r", 5, []]]}
                        ],
                        "cycle": [
                            {"from": "T1", "to": "T2", "type": "rw", "explanation": "T1 read key 6 = [], which did not include T2's append of 4"},
                            {"from": "T2", "to": "T1", "type": "rw", "explanation": "T2 read key 5 = [], which did not include T1's append of 3"}
                        ],
                        "explanation": "Let T1 and T2 be the two transactions: each read a version the other overwrote."
                    }]
                }
            }},
            "causal": {"validity": "valid", "explanation": {
                "validity": "valid", "anomalies": {}, "unknown_reason": null, "stats": {"transactions": 2}
            }},
            "stats": {"validity": "unknown", "explanation": {"some": {"unknown": ["shape", 1]}}}
        }
    });
    let test = json!({
        "name": "register-partition",
        "start_time": "20261127T113000.000Z",
        "db": "mmkv",
        "replication": "lww",
        "workload": "register",
        "nemesis": "partition",
        "nodes": ["n1", "n2", "n3", "n4", "n5"],
        "concurrency": 4,
        "seed": 42,
        "versions": {"schism": "0.1.0", "mmkv": "0.1.0"}
    });
    (history, results, test)
}

pub fn json_value(j: Json) -> Value {
    Value::from_json(&j)
}

fn txn(mops: &[(&str, i64, Option<Value>)]) -> Value {
    Value::List(
        mops.iter()
            .map(|(f, k, v)| {
                Value::List(vec![
                    Value::Str(f.to_string()),
                    int(*k),
                    v.clone().unwrap_or(Value::Nil),
                ])
            })
            .collect(),
    )
}

/// A register history of `n` client operations over `processes` processes, with faults every
/// few thousand operations, as a long test would record it. Deterministic.
pub fn big_history(n: usize, processes: i64) -> History {
    let mut ops = Vec::with_capacity(n * 2 + n / 1000);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut t: i64 = 0;
    let mut open: Vec<Option<(i64, &'static str, i64)>> = vec![None; processes as usize];
    let mut crashed_offset: Vec<i64> = vec![0; processes as usize];
    let mut done = 0;
    let mut fault_on = false;
    while done < n {
        t += 200_000 + (next() % 400_000) as i64;
        let slot = (next() % processes as u64) as usize;
        let p = Process::Client(slot as i64 + crashed_offset[slot]);
        match open[slot].take() {
            None => {
                let (f, v) = if next() % 2 == 0 {
                    ("read", Value::Nil)
                } else {
                    ("write", int((next() % 5) as i64))
                };
                ops.push(op(OpType::Invoke, p, f, v.clone(), t));
                open[slot] = Some((t, f, v.as_int().unwrap_or(-1)));
            }
            Some((_, f, v)) => {
                let r = next() % 100;
                let kind = if r < 90 {
                    OpType::Ok
                } else if r < 97 {
                    OpType::Fail
                } else {
                    OpType::Info
                };
                let value = if f == "read" {
                    int((next() % 5) as i64)
                } else {
                    int(v)
                };
                ops.push(op(kind, p, f, value, t));
                if kind == OpType::Info {
                    crashed_offset[slot] += processes;
                }
                done += 1;
                if done % 5000 == 0 {
                    let f = if fault_on {
                        "stop-partition"
                    } else {
                        "start-partition"
                    };
                    fault_on = !fault_on;
                    ops.push(op(OpType::Invoke, Process::Nemesis, f, Value::Nil, t));
                    ops.push(op(
                        OpType::Info,
                        Process::Nemesis,
                        f,
                        Value::Str("n1 | n2 n3".into()),
                        t + 1000,
                    ));
                }
            }
        }
    }
    let mut h = History::new(Vec::new());
    for (i, mut o) in ops.into_iter().enumerate() {
        o.index = i as u64;
        h.ops.push(o);
    }
    h
}
