//! Hand-written histories per model, valid and invalid, with the explanation a person reads.
//!
//! Histories are written one operation a line: `process type f value`, the value in JSON.
//! Each line's index is its position, and its source line is the index + 1, as in a file
//! with one operation a line.

use std::time::Duration;

use expect_test::{expect, Expect};
use schism_checkers::linearizable::{check, minimize, LinearOptions, LinearResult, Model};
use schism_checkers::Validity;
use schism_histories::{History, Op, OpType, PairedHistory, Pos, Process, Value};

fn history(text: &str) -> PairedHistory {
    let ops = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut parts = line.splitn(4, ' ');
            let process = parts.next().unwrap();
            let kind = OpType::parse(parts.next().unwrap()).unwrap();
            let f = parts.next().unwrap();
            let value = parts
                .next()
                .map(|v| Value::from_json(&serde_json::from_str(v).unwrap()))
                .unwrap_or_default();
            let process = match process {
                "nemesis" => Process::Nemesis,
                p => Process::Client(p.parse().unwrap()),
            };
            Op::new(kind, process, f, value)
        })
        .collect();
    let mut h = History::new(ops);
    for op in &mut h.ops {
        op.pos = Pos {
            line: op.index as u32 + 1,
            column: 1,
        };
    }
    h.pair().unwrap()
}

fn run(options: &LinearOptions, text: &str) -> LinearResult {
    check(&history(text), options)
}

fn check_explain(options: LinearOptions, text: &str, expected: Expect) {
    expected.assert_eq(&run(&options, text).explain());
}

fn opts(model: Model) -> LinearOptions {
    LinearOptions::new(model)
}

fn int0(model: Model) -> LinearOptions {
    LinearOptions::new(model).with_init(Value::Int(0))
}

#[test]
fn register_sequential_read_of_the_last_write_is_valid() {
    check_explain(
        opts(Model::Register),
        r#"
        0 invoke write 1
        0 ok write 1
        1 invoke read
        1 ok read 1
        "#,
        expect![
            "valid: linearizable as a register (2 operations checked, 2 configurations explored)"
        ],
    );
}

#[test]
fn register_stale_read_is_invalid() {
    check_explain(
        opts(Model::Register),
        r#"
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        0 ok write 2
        1 invoke read
        1 ok read 1
        "#,
        expect!["invalid: operation 4 (process 1, read -> 1, line 5) cannot be linearized: after the longest linearizable prefix [0 2] the register holds 2; no operation is concurrent with it"],
    );
}

#[test]
fn register_concurrent_reads_may_see_either_value() {
    check_explain(
        opts(Model::Register).with_init(Value::Int(0)),
        r#"
        0 invoke write 1
        1 invoke read
        2 invoke read
        1 ok read 1
        2 ok read 0
        0 ok write 1
        "#,
        expect![
            "valid: linearizable as a register (3 operations checked, 5 configurations explored)"
        ],
    );
}

#[test]
fn register_reads_must_agree_on_order() {
    // Process 1 sees the write, then process 2, invoked after process 1's read completed,
    // does not: a new-old inversion.
    check_explain(
        opts(Model::Register).with_init(Value::Int(0)),
        r#"
        0 invoke write 1
        1 invoke read
        1 ok read 1
        2 invoke read
        2 ok read 0
        0 ok write 1
        "#,
        expect!["invalid: operation 3 (process 2, read -> 0, line 4) cannot be linearized: after the longest linearizable prefix [0 1] the register holds 1; concurrent with it: 0 (process 0, write 1, line 1)"],
    );
}

#[test]
fn info_write_may_take_effect_late_or_never() {
    let text = r#"
        0 invoke write 1
        0 info write 1
        1 invoke read
        1 ok read 0
        1 invoke read
        1 ok read 1
        1 invoke read
        1 ok read 1
        "#;
    check_explain(
        int0(Model::Register),
        text,
        expect![
            "valid: linearizable as a register (4 operations checked, 5 configurations explored)"
        ],
    );
    // Never taking effect is fine too.
    check_explain(
        int0(Model::Register),
        r#"
        0 invoke write 1
        0 info write 1
        1 invoke read
        1 ok read 0
        "#,
        expect![
            "valid: linearizable as a register (1 operations checked, 1 configurations explored)"
        ],
    );
}

#[test]
fn info_write_cannot_take_effect_before_its_invocation() {
    check_explain(
        int0(Model::Register),
        r#"
        1 invoke read
        1 ok read 1
        0 invoke write 1
        0 info write 1
        "#,
        expect!["invalid: operation 0 (process 1, read -> 1, line 1) cannot be linearized: after the longest linearizable prefix [] the register holds 0; no operation is concurrent with it"],
    );
}

#[test]
fn nil_reads_and_failed_operations_constrain_nothing() {
    // As in Knossos, a read of nil could have read anything; the failed write never happened.
    check_explain(
        int0(Model::CasRegister),
        r#"
        0 invoke write 5
        0 fail write 5
        1 invoke read
        1 ok read
        1 invoke read
        1 ok read 0
        "#,
        expect!["valid: linearizable as a cas-register (1 operations checked, 1 configurations explored)"],
    );
}

#[test]
fn cas_register() {
    check_explain(
        int0(Model::CasRegister),
        r#"
        0 invoke cas [0, 1]
        0 ok cas [0, 1]
        1 invoke cas [0, 2]
        1 fail cas [0, 2]
        1 invoke read
        1 ok read 1
        "#,
        expect!["valid: linearizable as a cas-register (2 operations checked, 2 configurations explored)"],
    );
    check_explain(
        int0(Model::CasRegister),
        r#"
        0 invoke cas [0, 1]
        1 invoke cas [0, 2]
        0 ok cas [0, 1]
        1 ok cas [0, 2]
        2 invoke read
        2 ok read 2
        "#,
        expect!["invalid: operation 1 (process 1, cas [0 2], line 2) cannot be linearized: after the longest linearizable prefix [0] the register holds 1; concurrent with it: 0 (process 0, cas [0 1], line 1)"],
    );
}

#[test]
fn register_does_not_know_cas() {
    check_explain(
        int0(Model::Register),
        r#"
        0 invoke cas [0, 1]
        0 ok cas [0, 1]
        "#,
        expect!["unknown: operation 0 (process 0, cas [0 1], line 1): the register model supports read and write (use cas-register for cas), not cas"],
    );
}

#[test]
fn mutex() {
    check_explain(
        opts(Model::Mutex),
        r#"
        0 invoke acquire
        0 ok acquire
        0 invoke release
        0 ok release
        1 invoke acquire
        1 ok acquire
        "#,
        expect!["valid: linearizable as a mutex (3 operations checked, 3 configurations explored)"],
    );
    check_explain(
        opts(Model::Mutex),
        r#"
        0 invoke acquire
        1 invoke acquire
        0 ok acquire
        1 ok acquire
        "#,
        expect!["invalid: operation 1 (process 1, acquire, line 2) cannot be linearized: after the longest linearizable prefix [0] the mutex is held; concurrent with it: 0 (process 0, acquire, line 1)"],
    );
}

#[test]
fn multi_register() {
    let init: Value = Value::from_json(&serde_json::json!({"x": 0, "y": 0}));
    let options = opts(Model::MultiRegister).with_init(init);
    check_explain(
        options.clone(),
        r#"
        0 invoke txn [["write", "x", 1], ["write", "y", 2]]
        0 ok txn [["write", "x", 1], ["write", "y", 2]]
        1 invoke txn [["read", "x", null], ["read", "y", null]]
        1 ok txn [["read", "x", 1], ["read", "y", 2]]
        "#,
        expect!["valid: linearizable as a multi-register (2 operations checked, 2 configurations explored)"],
    );
    // A torn read: x from after the transaction, y from before.
    check_explain(
        options,
        r#"
        0 invoke txn [["write", "x", 1], ["write", "y", 2]]
        1 invoke txn [["read", "x", null], ["read", "y", null]]
        1 ok txn [["read", "x", 1], ["read", "y", 0]]
        0 ok txn [["write", "x", 1], ["write", "y", 2]]
        "#,
        expect![[
            r#"invalid: operation 1 (process 1, txn [["read" "x" 1] ["read" "y" 0]], line 2) cannot be linearized: after the longest linearizable prefix [0] the registers hold {"x" 1, "y" 2}; concurrent with it: 0 (process 0, txn [["write" "x" 1] ["write" "y" 2]], line 1)"#
        ]],
    );
}

#[test]
fn multi_register_single_initial_value_covers_every_key() {
    check_explain(
        opts(Model::MultiRegister).with_init(Value::Int(0)),
        r#"
        1 invoke txn [["read", "x", null], ["read", "z", null]]
        1 ok txn [["read", "x", 0], ["read", "z", 0]]
        "#,
        expect!["valid: linearizable as a multi-register (1 operations checked, 1 configurations explored)"],
    );
}

#[test]
fn set() {
    check_explain(
        opts(Model::Set),
        r#"
        0 invoke add 1
        0 ok add 1
        0 invoke add 2
        1 invoke read
        1 ok read [1]
        0 ok add 2
        1 invoke read
        1 ok read [2, 1]
        "#,
        expect!["valid: linearizable as a set (4 operations checked, 5 configurations explored)"],
    );
    check_explain(
        opts(Model::Set),
        r#"
        0 invoke add 1
        0 ok add 1
        0 invoke add 2
        0 ok add 2
        1 invoke read
        1 ok read [1]
        "#,
        expect!["invalid: operation 4 (process 1, read -> [1], line 5) cannot be linearized: after the longest linearizable prefix [0 2] the set holds #{1 2}; no operation is concurrent with it"],
    );
}

#[test]
fn counter() {
    check_explain(
        opts(Model::Counter),
        r#"
        0 invoke add 1
        1 invoke add 2
        2 invoke read
        2 ok read 2
        0 ok add 1
        1 ok add 2
        2 invoke read
        2 ok read 3
        "#,
        expect![
            "valid: linearizable as a counter (4 operations checked, 6 configurations explored)"
        ],
    );
    check_explain(
        opts(Model::Counter),
        r#"
        0 invoke incr
        0 ok incr
        0 invoke add 2
        2 invoke read
        2 ok read 2
        0 ok add 2
        "#,
        expect!["invalid: operation 3 (process 2, read -> 2, line 4) cannot be linearized: after the longest linearizable prefix [0 2] the counter holds 3; concurrent with it: 2 (process 0, add 2, line 3)"],
    );
}

#[test]
fn fifo_queue() {
    check_explain(
        opts(Model::FifoQueue),
        r#"
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue
        1 ok dequeue 1
        1 invoke dequeue
        1 ok dequeue 2
        1 invoke dequeue
        1 ok dequeue
        "#,
        expect![
            "valid: linearizable as a fifo-queue (5 operations checked, 5 configurations explored)"
        ],
    );
    check_explain(
        opts(Model::FifoQueue),
        r#"
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        1 invoke dequeue
        1 ok dequeue 2
        "#,
        expect!["invalid: operation 4 (process 1, dequeue -> 2, line 5) cannot be linearized: after the longest linearizable prefix [0 2] the queue holds [1 2]; no operation is concurrent with it"],
    );
    // A crashed dequeue may have taken the first element.
    check_explain(
        opts(Model::FifoQueue),
        r#"
        0 invoke enqueue 1
        0 ok enqueue 1
        0 invoke enqueue 2
        0 ok enqueue 2
        2 invoke dequeue
        2 info dequeue
        1 invoke dequeue
        1 ok dequeue 2
        "#,
        expect![
            "valid: linearizable as a fifo-queue (4 operations checked, 4 configurations explored)"
        ],
    );
}

#[test]
fn keyed_register_reports_the_smallest_invalid_key() {
    let text = r#"
        0 invoke write [1, 1]
        0 ok write [1, 1]
        1 invoke read [2, null]
        1 ok read [2, 7]
        0 invoke read [1, null]
        0 ok read [1, 2]
        2 invoke read [3, null]
        2 ok read [3, 0]
        "#;
    let result = run(&int0(Model::Register), text);
    expect![[r#"
        invalid: key 1: operation 4 (process 0, read -> 2, line 5) cannot be linearized: after the longest linearizable prefix [0] the register holds 1; no operation is concurrent with it
        invalid keys (2): 1, 2"#]]
    .assert_eq(&result.explain());
    expect![[r#"
        {
          "configurations_explored": 2,
          "invalid_keys": [
            1,
            2
          ],
          "key": 1,
          "key_count": 3,
          "keyed": true,
          "model": "register",
          "operations_checked": 4,
          "unknown_keys": [],
          "unknown_reason": null,
          "validity": "invalid",
          "witness": {
            "concurrent": [],
            "op": {
              "f": "read",
              "index": 4,
              "line": 5,
              "process": 0,
              "type": "ok",
              "value": 2
            },
            "prefix": [
              0
            ],
            "states": [
              1
            ]
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&result.to_json()).unwrap());
    // Forcing an unkeyed reading treats the pairs as register values.
    let unkeyed = run(&int0(Model::Register).with_keyed(Some(false)), text);
    assert_eq!(unkeyed.validity, Validity::Invalid);
    assert!(!unkeyed.keyed);
}

#[test]
fn keyed_model_names_force_keys() {
    let options = LinearOptions::from_model_name("keyed-cas-register").unwrap();
    assert_eq!(options.model, Model::CasRegister);
    assert_eq!(options.keyed, Some(true));
    assert_eq!(
        LinearOptions::from_model_name("keyed-nope").unwrap_err().to_string(),
        "unknown model keyed-nope; expected one of register, cas-register, mutex, multi-register, set, counter, fifo-queue (optionally prefixed with keyed-)"
    );
    for model in Model::ALL {
        assert_eq!(Model::parse(model.name()), Ok(model));
    }
}

#[test]
fn memory_limit_gives_unknown_with_the_reason() {
    check_explain(
        int0(Model::Register).with_memory_limit_bytes(0),
        r#"
        0 invoke write 1
        0 ok write 1
        "#,
        expect!["unknown: memory limit of 0 bytes reached after exploring 0 configurations"],
    );
}

#[test]
fn time_limit_gives_unknown_with_the_reason() {
    // A history whose search needs more than the 1024 steps between clock checks: many
    // concurrent writes, and a read no order of them explains.
    let mut text = String::new();
    for p in 0..12 {
        text.push_str(&format!("{p} invoke write {p}\n"));
    }
    text.push_str("99 invoke read\n99 ok read 77\n");
    for p in 0..12 {
        text.push_str(&format!("{p} ok write {p}\n"));
    }
    let result = run(
        &int0(Model::Register).with_time_limit(Duration::ZERO),
        &text,
    );
    assert_eq!(result.validity, Validity::Unknown);
    let reason = result.unknown_reason.unwrap();
    assert!(
        reason.starts_with("time limit of 0 s reached after exploring "),
        "{reason}"
    );
}

#[test]
fn nemesis_operations_are_passed_over() {
    check_explain(
        int0(Model::Register),
        r#"
        nemesis info start
        0 invoke write 1
        nemesis info stop
        0 ok write 1
        "#,
        expect![
            "valid: linearizable as a register (1 operations checked, 1 configurations explored)"
        ],
    );
}

#[test]
fn empty_history_is_valid() {
    check_explain(
        int0(Model::CasRegister),
        "",
        expect!["valid: linearizable as a cas-register (0 operations checked, 0 configurations explored)"],
    );
}

#[test]
fn minimize_keeps_only_what_makes_the_history_invalid() {
    let text = r#"
        0 invoke write 1
        1 invoke read
        0 ok write 1
        1 ok read 1
        2 invoke write 2
        2 ok write 2
        3 invoke read
        nemesis info start
        3 ok read
        4 invoke read
        4 ok read 1
        5 invoke write 5
        5 fail write 5
        "#;
    let h = history(text);
    let minimized = minimize(&h, &int0(Model::Register));
    expect![[r#"
        minimized to 3 operations (removing any one makes the history linearizable, or leaves a value read that no operation wrote):
          line 1: {index 0, process 0, type invoke, f write, value 1}
          line 3: {index 2, process 0, type ok, f write, value 1}
          line 5: {index 4, process 2, type invoke, f write, value 2}
          line 6: {index 5, process 2, type ok, f write, value 2}
          line 10: {index 9, process 4, type invoke, f read, value nil}
          line 11: {index 10, process 4, type ok, f read, value 1}
        invalid: operation 9 (process 4, read -> 1, line 10) cannot be linearized: after the longest linearizable prefix [0 4] the register holds 2; no operation is concurrent with it"#]]
    .assert_eq(&minimized.explain());
    assert_eq!(minimized.kept, vec![0, 4, 9]);
    assert!(minimized.complete);
}

#[test]
fn minimize_says_when_there_is_nothing_to_do() {
    let h = history(
        r#"
        0 invoke write 1
        0 ok write 1
        "#,
    );
    let minimized = minimize(&h, &int0(Model::Register));
    assert!(!minimized.complete);
    assert_eq!(
        minimized.note.as_deref(),
        Some("the history is valid; nothing to minimize")
    );
}

#[test]
fn a_search_past_its_memory_budget_stops_with_unknown() {
    // Sixteen concurrent writes and an impossible read among them: proving it invalid takes
    // every subset of the writes, far more than 1 MiB of configurations.
    let mut text = String::new();
    for p in 0..16 {
        text.push_str(&format!("{p} invoke write {p}\n"));
    }
    text.push_str("99 invoke read\n99 ok read 77\n");
    for p in 0..16 {
        text.push_str(&format!("{p} ok write {p}\n"));
    }
    let result = run(
        &int0(Model::Register).with_memory_limit_bytes(1 << 20),
        &text,
    );
    assert_eq!(result.validity, Validity::Unknown, "{}", result.explain());
    let reason = result.unknown_reason.unwrap();
    assert!(
        reason.starts_with("memory limit of 1 MiB reached after exploring "),
        "{reason}"
    );
}
