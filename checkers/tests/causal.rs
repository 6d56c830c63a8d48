//! Hand-written histories for each causal anomaly, each beside a near-identical one that
//! passes; malformed input and limits.

use std::time::Duration;

use expect_test::{expect, Expect};
use schism_checkers::causal::{check, CausalOptions, CausalResult};
use schism_checkers::Validity;
use schism_histories::{History, Op, OpType, PairedHistory, Process, Value};

/// A history from lines `process type f json-value`: each line is one operation, invoked and
/// completed at once. For `ok` lines the invocation gets the value with read results nil.
fn history(text: &str) -> PairedHistory {
    let mut ops = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(4, ' ');
        let (Some(p), Some(kind), Some(f), Some(json)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("bad test line {line}");
        };
        let process = Process::Client(p.parse().unwrap());
        let kind = OpType::parse(kind).unwrap();
        let value = Value::from_json(&serde_json::from_str(json).unwrap());
        let invoke = if kind == OpType::Ok {
            without_results(f, &value)
        } else {
            value.clone()
        };
        ops.push(Op::new(OpType::Invoke, process, f, invoke));
        ops.push(Op::new(kind, process, f, value));
    }
    History::new(ops).pair().unwrap()
}

fn without_results(f: &str, value: &Value) -> Value {
    let Value::List(items) = value else {
        return value.clone();
    };
    match f {
        "read" | "r" => Value::List(vec![items[0].clone(), Value::Nil]),
        "txn" => Value::List(
            items
                .iter()
                .map(|op| match op {
                    Value::List(m) if m[0].as_name() == Some("r") => {
                        Value::List(vec![m[0].clone(), m[1].clone(), Value::Nil])
                    }
                    other => other.clone(),
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

fn run(text: &str) -> CausalResult {
    check(&history(text), &CausalOptions::default())
}

/// Checks the history and compares the explanation with a snapshot.
fn check_explained(text: &str, expected: Expect) {
    let result = run(text);
    expected.assert_eq(&result.explain());
}

fn passes(text: &str) {
    let result = run(text);
    assert_eq!(result.validity, Validity::Valid, "{}", result.explain());
}

#[test]
fn causal_cycle() {
    let bad = r#"
        0 ok txn [["w","x",1],["r","y",1]]
        1 ok txn [["w","y",1],["r","x",1]]
    "#;
    check_explained(
        bad,
        expect![[r#"
            causal consistency: invalid
            2 transactions in 2 sessions, 2 writes, 2 reads checked, 2 wr edges kept
            2 transactions in or after a causal cycle were not checked
            cyclic-co: 1 found, 1 shown
              - T0 (index 1, process 0), T1 (index 3, process 1) form a causal cycle: T0 -wr-> T1 -wr-> T0.
                  T0 -wr-> T1: T1 (index 3, process 1) read x = 1, written by T0.
                  T1 -wr-> T0: T0 (index 1, process 0) read y = 1, written by T1.
        "#]],
    );
    passes(
        r#"
        0 ok txn [["w","x",1],["r","y",null]]
        1 ok txn [["w","y",1],["r","x",1]]
    "#,
    );
}

#[test]
fn causal_cycle_through_session_order() {
    check_explained(
        r#"
        0 ok read ["x",1]
        0 ok write ["x",1]
    "#,
        expect![[r#"
            causal consistency: invalid
            2 transactions in 1 sessions, 1 writes, 1 reads checked, 1 wr edges kept
            2 transactions in or after a causal cycle were not checked
            cyclic-co: 1 found, 1 shown
              - T0 (index 1, process 0), T1 (index 3, process 0) form a causal cycle: T0 -so-> T1 -wr-> T0.
                  T0 -so-> T1: T0 (index 1) and T1 (index 3) are by the same process 0, T0 earlier.
                  T1 -wr-> T0: T0 (index 1, process 0) read x = 1, written by T1.
        "#]],
    );
}

#[test]
fn register_read_of_an_overwritten_value() {
    // The path of the brief: the reader's past holds the overwrite through three processes.
    let bad = r#"
        0 ok write ["x",1]
        1 ok read ["x",1]
        1 ok write ["x",2]
        2 ok read ["x",2]
        2 ok write ["y",1]
        3 ok read ["y",1]
        3 ok read ["x",1]
    "#;
    check_explained(
        bad,
        expect![[r#"
            causal consistency: invalid
            7 transactions in 4 sessions, 3 writes, 4 reads checked, 4 wr edges kept
            write-co-read: 1 found, 1 shown
              - T6 (index 13, process 3) read x = 1, written by T0 (index 1, process 0), but its causal past holds T2 (index 5, process 1)'s write x = 2, which causally follows T0: T0 -wr-> T1 -so-> T2 -wr-> T3 -so-> T4 -wr-> T5 -so-> T6.
                  T0 -wr-> T1: T1 (index 3, process 1) read x = 1, written by T0.
                  T1 -so-> T2: T1 (index 3) and T2 (index 5) are by the same process 1, T1 earlier.
                  T2 -wr-> T3: T3 (index 7, process 2) read x = 2, written by T2.
                  T3 -so-> T4: T3 (index 7) and T4 (index 9) are by the same process 2, T3 earlier.
                  T4 -wr-> T5: T5 (index 11, process 3) read y = 1, written by T4.
                  T5 -so-> T6: T5 (index 11) and T6 (index 13) are by the same process 3, T5 earlier.
        "#]],
    );
    // Without the read of y, process 3 has no reason to have seen x = 2.
    passes(
        r#"
        0 ok write ["x",1]
        1 ok read ["x",1]
        1 ok write ["x",2]
        2 ok read ["x",2]
        2 ok write ["y",1]
        3 ok read ["y",null]
        3 ok read ["x",1]
    "#,
    );
}

#[test]
fn register_reads_going_back_in_one_session() {
    check_explained(
        r#"
        0 ok write ["x",1]
        0 ok write ["x",2]
        1 ok read ["x",2]
        1 ok read ["x",1]
    "#,
        expect![[r#"
            causal consistency: invalid
            4 transactions in 2 sessions, 2 writes, 2 reads checked, 2 wr edges kept
            write-co-read: 1 found, 1 shown
              - T3 (index 7, process 1) read x = 1, written by T0 (index 1, process 0), but its causal past holds T1 (index 3, process 0)'s write x = 2, which causally follows T0: T0 -so-> T1 -wr-> T2 -so-> T3.
                  T0 -so-> T1: T0 (index 1) and T1 (index 3) are by the same process 0, T0 earlier.
                  T1 -wr-> T2: T2 (index 5, process 1) read x = 2, written by T1.
                  T2 -so-> T3: T2 (index 5) and T3 (index 7) are by the same process 1, T2 earlier.
        "#]],
    );
    passes(
        r#"
        0 ok write ["x",1]
        0 ok write ["x",2]
        1 ok read ["x",1]
        1 ok read ["x",2]
    "#,
    );
}

#[test]
fn register_read_of_the_initial_value() {
    check_explained(
        r#"
        0 ok write ["x",1]
        0 ok write ["y",1]
        1 ok read ["y",1]
        1 ok read ["x",null]
    "#,
        expect![[r#"
            causal consistency: invalid
            4 transactions in 2 sessions, 2 writes, 2 reads checked, 1 wr edges kept
            write-co-init-read: 1 found, 1 shown
              - T3 (index 7, process 1) read x = nil (the initial value), but its causal past holds T0 (index 1, process 0)'s write x = 1: T0 -so-> T1 -wr-> T2 -so-> T3.
                  T0 -so-> T1: T0 (index 1) and T1 (index 3) are by the same process 0, T0 earlier.
                  T1 -wr-> T2: T2 (index 5, process 1) read y = 1, written by T1.
                  T2 -so-> T3: T2 (index 5) and T3 (index 7) are by the same process 1, T2 earlier.
        "#]],
    );
    passes(
        r#"
        0 ok write ["x",1]
        0 ok write ["y",1]
        1 ok read ["x",null]
        1 ok read ["y",1]
    "#,
    );
}

#[test]
fn thin_air_reads() {
    check_explained(
        r#"
        0 ok read ["x",5]
        1 fail write ["x",5]
        2 ok txn [["append","y",1]]
        2 ok txn [["r","y",[1,7]]]
    "#,
        expect![[r#"
            causal consistency: invalid
            3 transactions in 2 sessions, 1 writes, 0 reads checked, 1 wr edges kept
            thin-air-read: 2 found, 2 shown
              - T0 (index 1, process 0) read x = 5, but no operation wrote 5 to x except T1 (index 3, process 1), which failed.
              - T3 (index 7, process 2) read y = [1 7], but no operation appended 7 to y.
        "#]],
    );
    // A crashed write may have happened, so it may be read; a crashed read says nothing.
    passes(
        r#"
        0 ok read ["x",5]
        1 info write ["x",5]
        2 info read ["x",9]
    "#,
    );
}

#[test]
fn list_read_missing_an_append_in_its_past() {
    check_explained(
        r#"
        0 ok append ["x",1]
        0 ok append ["x",2]
        1 ok read ["x",[2]]
    "#,
        expect![[r#"
            causal consistency: invalid
            3 transactions in 2 sessions, 2 writes, 1 reads checked, 1 wr edges kept
            write-co-read: 1 found, 1 shown
              - T2 (index 5, process 1) read x = [2], which misses 1, though T0 (index 1, process 0)'s append of 1 to x is in its causal past: T0 -so-> T1 -wr-> T2.
                  T0 -so-> T1: T0 (index 1) and T1 (index 3) are by the same process 0, T0 earlier.
                  T1 -wr-> T2: T2 (index 5, process 1) read x = [2], which includes T1's append of 2.
        "#]],
    );
    passes(
        r#"
        0 ok append ["x",1]
        0 ok append ["x",2]
        1 ok read ["x",[1]]
        1 ok read ["x",[1,2]]
    "#,
    );
}

#[test]
fn fractured_transaction_read_as_the_initial_list() {
    check_explained(
        r#"
        0 ok txn [["append","x",1],["append","y",1]]
        1 ok txn [["r","x",[1]],["r","y",[]]]
    "#,
        expect![[r#"
            causal consistency: invalid
            2 transactions in 2 sessions, 2 writes, 2 reads checked, 1 wr edges kept
            write-co-init-read: 1 found, 1 shown
              - T1 (index 3, process 1) read y = [] (the empty list), but its causal past holds T0 (index 1, process 0)'s append of 1 to y: T0 -wr-> T1.
                  T0 -wr-> T1: T1 (index 3, process 1) read x = [1], which includes T0's append of 1.
        "#]],
    );
    passes(
        r#"
        0 ok txn [["append","x",1],["append","y",1]]
        1 ok txn [["r","x",[1]],["r","y",[1]]]
        2 ok txn [["r","x",[]],["r","y",[]]]
    "#,
    );
}

#[test]
fn list_order_against_causal_order() {
    check_explained(
        r#"
        0 ok append ["x",1]
        1 ok read ["x",[1]]
        1 ok append ["x",2]
        2 ok read ["x",[2,1]]
    "#,
        expect![[r#"
            causal consistency: invalid
            4 transactions in 3 sessions, 2 writes, 2 reads checked, 3 wr edges kept
            causal-order-inversion: 1 found, 1 shown
              - T3 (index 7, process 2) read x = [2 1], which lists 2 (appended by T2 (index 5, process 1)) before 1 (appended by T0 (index 1, process 0)), though T0's append causally precedes T2's: T0 -wr-> T1 -so-> T2.
                  T0 -wr-> T1: T1 (index 3, process 1) read x = [1], which includes T0's append of 1.
                  T1 -so-> T2: T1 (index 3) and T2 (index 5) are by the same process 1, T1 earlier.
        "#]],
    );
    // Concurrent appends may come in either order.
    passes(
        r#"
        0 ok append ["x",1]
        1 ok append ["x",2]
        2 ok read ["x",[2,1]]
        3 ok read ["x",[1,2]]
    "#,
    );
}

#[test]
fn list_reads_of_one_session_must_extend_each_other() {
    check_explained(
        r#"
        0 ok append ["x",1]
        1 ok append ["x",2]
        2 ok read ["x",[1,2]]
        2 ok read ["x",[2,1]]
    "#,
        expect![[r#"
            causal consistency: invalid
            4 transactions in 3 sessions, 2 writes, 2 reads checked, 4 wr edges kept
            incompatible-order: 1 found, 1 shown
              - T3 (index 7, process 2) read x = [2 1], which does not extend the earlier read x = [1 2] by T2 (index 5) of the same process 2.
                  T2 -so-> T3: T2 (index 5) and T3 (index 7) are by the same process 2, T2 earlier.
        "#]],
    );
    passes(
        r#"
        0 ok append ["x",1]
        1 ok append ["x",2]
        2 ok read ["x",[1,2]]
        3 ok read ["x",[2,1]]
    "#,
    );
}

#[test]
fn a_crashed_process_is_retired_and_its_successor_is_a_new_session() {
    // Process 0 crashes after its append may have happened; process 2, its successor, need
    // not see it, but whoever reads it has it in its past.
    passes(
        r#"
        0 ok append ["x",1]
        0 info append ["x",2]
        2 ok read ["x",[1]]
        1 ok read ["x",[1,2]]
    "#,
    );
    let result = run(r#"
        0 ok append ["x",1]
        0 info append ["x",2]
        1 ok read ["x",[2]]
    "#);
    assert_eq!(result.validity, Validity::Invalid);
    assert!(result.anomalies.contains_key("write-co-read"));
}

#[test]
fn reads_within_a_transaction_after_its_own_writes_are_internal() {
    passes(
        r#"
        0 ok txn [["append","x",1],["r","x",[1]],["w","y",1],["r","y",1]]
        1 ok txn [["r","x",[1]],["append","x",2],["r","x",[1,2]]]
        1 ok txn [["r","x",[1,2]]]
    "#,
    );
}

#[test]
fn ambiguous_and_malformed_histories_are_unknown_with_the_reason() {
    let cases = [
        (
            "0 ok write [\"x\",1]\n1 ok write [\"x\",1]",
            "ambiguous history: the operation with index 1 (process 0) and the operation with \
             index 3 (process 1) both write \"x\" = 1",
        ),
        (
            "0 ok write [\"x\",1]\n1 ok append [\"x\",2]",
            "key \"x\" is both written and appended to",
        ),
        (
            "0 ok cas [\"x\",[1,2]]",
            "expected a micro-op [f key value]",
        ),
        (
            "0 ok append [\"x\",1]\n1 ok read [\"x\",3]",
            "it reads \"x\" = 3, but \"x\" is a list",
        ),
        (
            "0 ok write [\"x\",null]",
            "which reads cannot tell from the initial value",
        ),
    ];
    for (text, reason) in cases {
        let result = run(text);
        assert_eq!(result.validity, Validity::Unknown, "{text}");
        let got = result.unknown_reason.unwrap_or_default();
        assert!(got.contains(reason), "{got}");
    }
}

#[test]
fn limits_give_unknown_with_the_reason() {
    let h = history("0 ok write [\"x\",1]\n1 ok read [\"x\",1]");
    let result = check(
        &h,
        &CausalOptions {
            time_limit: Duration::ZERO,
            ..CausalOptions::default()
        },
    );
    assert_eq!(result.validity, Validity::Unknown);
    assert!(result
        .unknown_reason
        .unwrap()
        .starts_with("time limit of 0.000 s exceeded"));
    let result = check(
        &h,
        &CausalOptions {
            max_clock_entries: 1,
            ..CausalOptions::default()
        },
    );
    assert_eq!(result.validity, Validity::Unknown);
    expect!["the vector clocks need more than 1 entries (2 transactions, 1 chains so far)"]
        .assert_eq(&result.unknown_reason.unwrap());
}

#[test]
fn json_has_stable_field_names() {
    let result =
        run("0 ok write [\"x\",1]\n0 ok write [\"x\",2]\n1 ok read [\"x\",2]\n1 ok read [\"x\",1]");
    let json = result.to_json();
    expect![[r#"
        {
          "anomalies": {
            "write-co-read": [
              {
                "explanation": "T3 (index 7, process 1) read x = 1, written by T0 (index 1, process 0), but its causal past holds T1 (index 3, process 0)'s write x = 2, which causally follows T0: T0 -so-> T1 -wr-> T2 -so-> T3.",
                "kind": "write-co-read",
                "path": [
                  {
                    "from": 0,
                    "reason": "T0 (index 1) and T1 (index 3) are by the same process 0, T0 earlier",
                    "relation": "so",
                    "to": 1
                  },
                  {
                    "from": 1,
                    "reason": "T2 (index 5, process 1) read x = 2, written by T1",
                    "relation": "wr",
                    "to": 2
                  },
                  {
                    "from": 2,
                    "reason": "T2 (index 5) and T3 (index 7) are by the same process 1, T2 earlier",
                    "relation": "so",
                    "to": 3
                  }
                ],
                "txns": [
                  {
                    "index": 7,
                    "process": 1,
                    "txn": 3
                  },
                  {
                    "index": 1,
                    "process": 0,
                    "txn": 0
                  },
                  {
                    "index": 3,
                    "process": 0,
                    "txn": 1
                  }
                ]
              }
            ]
          },
          "stats": {
            "anomaly_counts": {
              "write-co-read": 1
            },
            "chains": 1,
            "clock_entries": 4,
            "reads": 2,
            "sessions": 2,
            "transactions": 4,
            "unchecked_transactions": 0,
            "wr_edges": 2,
            "writes": 2
          },
          "unknown_reason": null,
          "validity": "invalid"
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&json).unwrap());
}

#[test]
fn unkeyed_register_histories_read_as_one_register() {
    check_explained(
        r#"
        0 ok write 1
        0 ok write 2
        1 ok read 2
        1 ok read 1
    "#,
        expect![[r#"
            causal consistency: invalid
            4 transactions in 2 sessions, 2 writes, 2 reads checked, 2 wr edges kept
            write-co-read: 1 found, 1 shown
              - T3 (index 7, process 1) read the register = 1, written by T0 (index 1, process 0), but its causal past holds T1 (index 3, process 0)'s write the register = 2, which causally follows T0: T0 -so-> T1 -wr-> T2 -so-> T3.
                  T0 -so-> T1: T0 (index 1) and T1 (index 3) are by the same process 0, T0 earlier.
                  T1 -wr-> T2: T2 (index 5, process 1) read the register = 2, written by T1.
                  T2 -so-> T3: T2 (index 5) and T3 (index 7) are by the same process 1, T2 earlier.
        "#]],
    );
    passes(
        r#"
        0 ok write 1
        0 ok write 2
        1 ok read 1
        1 ok read 2
    "#,
    );
}
