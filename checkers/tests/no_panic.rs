//! **Invariant:** no checker panics on any well-formed history, whatever its values say. Random
//! histories with random `f`s and values (integers, names, lists, maps, nested micro-ops) go
//! through every checker and every model; each must return a verdict.

use std::time::Duration;

use proptest::prelude::*;
use schism_checkers::causal::{self, CausalOptions};
use schism_checkers::elle::{self, ElleOptions, Workload};
use schism_checkers::linearizable::{self, LinearOptions, Model};
use schism_histories::{History, Op, OpType, Process, Value};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        (-3i64..4).prop_map(Value::Int),
        prop_oneof![
            Just("r"),
            Just("w"),
            Just("append"),
            Just("x"),
            Just("read")
        ]
        .prop_map(|s| Value::Keyword(s.into())),
        prop_oneof![Just("r"), Just("w"), Just("append"), Just("cas")].prop_map(Value::from),
        Just(Value::Float(f64::NAN)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::btree_map(inner.clone(), inner, 0..3).prop_map(Value::Map),
        ]
    })
}

fn f() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("read"),
        Just("write"),
        Just("cas"),
        Just("txn"),
        Just("acquire"),
        Just("release"),
        Just("add"),
        Just("incr"),
        Just("enqueue"),
        Just("dequeue"),
        Just("frob"),
    ]
}

/// A well-formed history: each step either invokes on an idle process or completes an open
/// one, so that pairing succeeds and the checkers see every shape of value.
fn history() -> impl Strategy<Value = History> {
    prop::collection::vec((0i64..5, f(), value(), value(), 0u8..4), 0..40).prop_map(|steps| {
        let mut ops = Vec::new();
        let mut open: std::collections::BTreeMap<i64, &str> = Default::default();
        let mut crashed = std::collections::BTreeSet::new();
        for (p, f, v, done_v, outcome) in steps {
            if crashed.contains(&p) {
                continue;
            }
            match open.remove(&p) {
                None => {
                    ops.push(Op::new(OpType::Invoke, Process::Client(p), f, v));
                    open.insert(p, f);
                }
                Some(open_f) => {
                    let kind =
                        [OpType::Ok, OpType::Ok, OpType::Fail, OpType::Info][outcome as usize];
                    if kind == OpType::Info {
                        crashed.insert(p);
                    }
                    ops.push(Op::new(kind, Process::Client(p), open_f, done_v));
                }
            }
        }
        History::new(ops)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_checker_panics(h in history(), init in value()) {
        let paired = h.pair().expect("generated histories are well-formed");
        let budget = Duration::from_millis(200);
        for model in Model::ALL {
            for keyed in [None, Some(true), Some(false)] {
                let options = LinearOptions::new(model)
                    .with_init(init.clone())
                    .with_keyed(keyed)
                    .with_time_limit(budget);
                let result = linearizable::check(&paired, &options);
                let _ = result.explain();
                let _ = result.to_json();
                if result.validity == schism_checkers::Validity::Invalid {
                    let _ = linearizable::minimize(&paired, &options).explain();
                }
            }
        }
        for workload in [Workload::ListAppend, Workload::RwRegister] {
            let options = ElleOptions { workload, time_limit: budget, ..ElleOptions::default() };
            if let Ok(result) = elle::check(&paired, &options) {
                let _ = result.explain();
                let _ = result.to_json();
            }
        }
        let result = causal::check(&paired, &CausalOptions { time_limit: budget, ..CausalOptions::default() });
        let _ = result.explain();
        let _ = result.to_json();
    }
}
