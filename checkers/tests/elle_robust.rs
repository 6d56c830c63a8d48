//! The checker never panics, whatever the micro-ops hold, and says `unknown` when its budget
//! runs out.

use std::time::Duration;

use proptest::prelude::*;
use schism_checkers::elle::sim::{simulate, Isolation, SimOptions};
use schism_checkers::elle::{check, ConsistencyModel, ElleOptions, Workload};
use schism_checkers::Validity;
use schism_histories::{History, Op, OpType, Process, Value};

fn small_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        (0i64..4).prop_map(Value::Int),
        Just(Value::Keyword("r".into())),
        Just(Value::Keyword("append".into())),
        Just(Value::Str("w".into())),
        Just(Value::Bool(true)),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(Value::List)
    })
}

fn micro_op() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..3, 0i64..4).prop_map(|(k, v)| Value::List(vec![
            Value::Keyword("append".into()),
            Value::Int(k),
            Value::Int(v)
        ])),
        (0i64..3, 0i64..4).prop_map(|(k, v)| Value::List(vec![
            Value::Keyword("w".into()),
            Value::Int(k),
            Value::Int(v)
        ])),
        (0i64..3, prop::collection::vec(0i64..4, 0..4)).prop_map(|(k, l)| Value::List(vec![
            Value::Keyword("r".into()),
            Value::Int(k),
            Value::List(l.into_iter().map(Value::Int).collect())
        ])),
        (0i64..3, small_value()).prop_map(|(k, v)| Value::List(vec![
            Value::Keyword("r".into()),
            Value::Int(k),
            v
        ])),
        small_value(),
    ]
}

/// Operations of up to four processes, run one after another or overlapping.
fn history() -> impl Strategy<Value = History> {
    let txn = (0i64..4, 0u8..4, prop::collection::vec(micro_op(), 0..4));
    prop::collection::vec(txn, 0..12).prop_map(|txns| {
        let mut ops = Vec::new();
        let mut open: Vec<(i64, OpType, Value)> = Vec::new();
        let mut retired = 0i64;
        for (p, outcome, mops) in txns {
            let process = p + 10 * retired;
            let value = Value::List(mops);
            if let Some(i) = open.iter().position(|o| o.0 == process) {
                let (q, kind, v) = open.remove(i);
                ops.push(Op::new(kind, Process::Client(q), "txn", v));
                if kind == OpType::Info {
                    retired += 1;
                    continue;
                }
            }
            let kind = match outcome {
                0 | 1 => OpType::Ok,
                2 => OpType::Fail,
                _ => OpType::Info,
            };
            ops.push(Op::new(
                OpType::Invoke,
                Process::Client(process),
                "txn",
                value.clone(),
            ));
            open.push((process, kind, value));
        }
        for (q, kind, v) in open {
            ops.push(Op::new(kind, Process::Client(q), "txn", v));
        }
        History::new(ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics(h in history(), register in any::<bool>()) {
        let Ok(paired) = h.pair() else {
            return Ok(());
        };
        let options = ElleOptions {
            workload: if register { Workload::RwRegister } else { Workload::ListAppend },
            consistency_models: vec![ConsistencyModel::StrictSerializable],
            time_limit: Duration::from_secs(5),
        };
        if let Ok(result) = check(&paired, &options) {
            let _ = result.explain();
            let _ = result.to_json();
        }
    }
}

#[test]
fn an_exhausted_budget_is_unknown_not_valid() {
    let options = SimOptions {
        isolation: Isolation::SnapshotIsolation,
        txns: 300,
        processes: 8,
        active_keys: 3,
        seed: 7,
        ..SimOptions::default()
    };
    let history = simulate(&options).pair().unwrap();
    let mut elle = ElleOptions {
        workload: Workload::ListAppend,
        consistency_models: vec![ConsistencyModel::Serializable],
        time_limit: Duration::from_secs(20),
    };
    assert_eq!(check(&history, &elle).unwrap().valid, Validity::Invalid);
    elle.time_limit = Duration::ZERO;
    let result = check(&history, &elle).unwrap();
    assert_eq!(result.valid, Validity::Unknown, "{}", result.explain());
    assert!(result
        .anomaly_types
        .iter()
        .any(|t| t == "cycle-search-timeout"));
}

#[test]
fn anomalies_past_the_cap_are_counted_not_kept() {
    let mut ops = vec![
        Op::new(
            OpType::Invoke,
            Process::Client(0),
            "append",
            Value::List(vec![1.into(), 1.into()]),
        ),
        Op::new(
            OpType::Fail,
            Process::Client(0),
            "append",
            Value::List(vec![1.into(), 1.into()]),
        ),
    ];
    let read = Value::List(vec![1.into(), Value::List(vec![1.into()])]);
    for _ in 0..1500 {
        ops.push(Op::new(
            OpType::Invoke,
            Process::Client(1),
            "read",
            read.clone(),
        ));
        ops.push(Op::new(
            OpType::Ok,
            Process::Client(1),
            "read",
            read.clone(),
        ));
    }
    let history = History::new(ops).pair().unwrap();
    let result = check(
        &history,
        &ElleOptions {
            consistency_models: vec![ConsistencyModel::ReadCommitted],
            ..ElleOptions::default()
        },
    )
    .unwrap();
    assert_eq!(result.valid, Validity::Invalid);
    assert_eq!(result.anomaly_counts["G1a"], 1500);
    assert_eq!(
        result.anomalies["G1a"].len(),
        schism_checkers::elle::MAX_ANOMALIES_PER_KIND
    );
    assert!(result.explain().contains("G1a (1500 found)"));
}
