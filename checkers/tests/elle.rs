//! Hand-written histories, one per anomaly class: each is detected and explained (the
//! explanation is snapshotted), and a near-identical history does not raise it.

use std::time::Duration;

use expect_test::{expect, Expect};
use schism_checkers::elle::{
    check, ConsistencyModel, ElleError, ElleOptions, ElleResult, Workload,
};
use schism_checkers::Validity;
use schism_histories::{read_str, Format};

/// Transactions `(process, outcome, value)`, all invoked before any completes, so that no
/// realtime order holds between them. `info` transactions never complete.
fn concurrent(txns: &[(i64, &str, &str)]) -> String {
    let mut out = String::new();
    for (p, _, v) in txns {
        out += &format!("{{:process {p}, :type :invoke, :f :txn, :value {v}}}\n");
    }
    for (p, outcome, v) in txns {
        if *outcome != "info" {
            out += &format!("{{:process {p}, :type :{outcome}, :f :txn, :value {v}}}\n");
        }
    }
    out
}

/// Transactions that run one after the other.
fn serial(txns: &[(i64, &str, &str)]) -> String {
    txns.iter().map(|t| concurrent(&[*t])).collect()
}

fn run(edn: &str, workload: Workload, models: &str) -> Result<ElleResult, ElleError> {
    let history = read_str(edn, "test.edn", Format::Edn)
        .and_then(|h| h.pair())
        .expect("a well-formed history");
    let options = ElleOptions {
        workload,
        consistency_models: ConsistencyModel::parse_list(models).expect("models"),
        time_limit: Duration::from_secs(10),
    };
    check(&history, &options)
}

fn la(edn: &str, models: &str) -> ElleResult {
    run(edn, Workload::ListAppend, models).expect("a list-append history")
}

fn rr(edn: &str, models: &str) -> ElleResult {
    run(edn, Workload::RwRegister, models).expect("an rw-register history")
}

/// The history shows `kind`, the result under `models` is invalid, and the explanation reads
/// as `expect`.
fn detects(result: ElleResult, kind: &str, expect: Expect) {
    assert!(
        result.anomaly_types.iter().any(|t| t == kind),
        "expected {kind}:\n{}",
        result.explain()
    );
    assert_eq!(result.valid, Validity::Invalid, "{}", result.explain());
    expect.assert_eq(&result.explain());
}

/// The history is valid under `models` and shows no `kind`.
fn passes(result: ElleResult, kind: &str) {
    assert!(
        !result.anomaly_types.iter().any(|t| t == kind),
        "unexpected {kind}:\n{}",
        result.explain()
    );
    assert_eq!(result.valid, Validity::Valid, "{}", result.explain());
}

#[test]
fn g0_write_cycle() {
    let writes = concurrent(&[
        (0, "ok", "[[:append 1 1] [:append 2 1]]"),
        (1, "ok", "[[:append 1 2] [:append 2 2]]"),
    ]);
    let bad = writes.clone() + &serial(&[(2, "ok", "[[:r 1 [1 2]] [:r 2 [2 1]]]")]);
    detects(
        la(&bad, "read-uncommitted"),
        "G0",
        expect![[r#"
            invalid against read-uncommitted (3 transactions, 4 edges)
            not read-uncommitted
            also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, read-committed, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-read-uncommitted, strong-session-read-committed, strong-session-read-uncommitted, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

            G0 (1 found)
              #1
                T1 (index 2, process 0, ok): [[:append 1 1] [:append 2 1]]
                T2 (index 3, process 1, ok): [[:append 1 2] [:append 2 2]]
                T1 -ww-> T2 -ww-> T1
                - T1 appended 1 to key 1 before T2 appended 2 (ww: [1 2] has 1 before 2)
                - T2 appended 2 to key 2 before T1 appended 1 (ww: [2 1] has 2 before 1)
        "#]],
    );
    let good = writes + &serial(&[(2, "ok", "[[:r 1 [1 2]] [:r 2 [1 2]]]")]);
    passes(la(&good, "strict-serializable"), "G0");
}

#[test]
fn g1c_circular_information_flow() {
    let bad = concurrent(&[
        (0, "ok", "[[:append 1 1] [:r 2 [1]]]"),
        (1, "ok", "[[:append 2 1] [:r 1 [1]]]"),
    ]);
    detects(
        la(&bad, "read-committed"),
        "G1c",
        expect![[r#"
        invalid against read-committed (2 transactions, 2 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G1c (1 found)
          #1
            T1 (index 2, process 0, ok): [[:append 1 1] [:r 2 [1]]]
            T2 (index 3, process 1, ok): [[:append 2 1] [:r 1 [1]]]
            T1 -wr-> T2 -wr-> T1
            - T2 (index 3, process 1) read key 1 = [1], which includes T1 (index 2)'s append of 1 (wr)
            - T1 (index 2, process 0) read key 2 = [1], which includes T2 (index 3)'s append of 1 (wr)
    "#]],
    );
    let good = concurrent(&[
        (0, "ok", "[[:append 1 1] [:r 2 []]]"),
        (1, "ok", "[[:append 2 1] [:r 1 [1]]]"),
    ]);
    passes(la(&good, "strict-serializable"), "G1c");
}

#[test]
fn g_single_read_skew() {
    let bad = concurrent(&[
        (0, "ok", "[[:append 1 1] [:append 2 1]]"),
        (1, "ok", "[[:r 1 []] [:r 2 [1]]]"),
    ]);
    detects(
        la(&bad, "snapshot-isolation"),
        "G-single",
        expect![[r#"
        invalid against snapshot-isolation (2 transactions, 2 edges)
        not consistent-view, repeatable-read
        also not forward-consistent-view, serializable, snapshot-isolation, strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G-single (1 found)
          #1
            T1 (index 2, process 0, ok): [[:append 1 1] [:append 2 1]]
            T2 (index 3, process 1, ok): [[:r 1 []] [:r 2 [1]]]
            T1 -wr-> T2 -rw-> T1
            - T2 (index 3, process 1) read key 2 = [1], which includes T1 (index 2)'s append of 1 (wr)
            - T2 read key 1 = [], which does not include T1's append of 1 (rw)
    "#]],
    );
    let good = concurrent(&[
        (0, "ok", "[[:append 1 1] [:append 2 1]]"),
        (1, "ok", "[[:r 1 [1]] [:r 2 [1]]]"),
    ]);
    passes(la(&good, "strict-serializable"), "G-single");
}

#[test]
fn g2_item_write_skew() {
    let bad = concurrent(&[
        (0, "ok", "[[:r 1 []] [:append 2 1]]"),
        (1, "ok", "[[:r 2 []] [:append 1 1]]"),
    ]);
    detects(
        la(&bad, "serializable"),
        "G2-item",
        expect![[r#"
        invalid against serializable (2 transactions, 2 edges)
        not repeatable-read
        also not serializable, strict-serializable, strong-session-serializable

        G2-item (1 found)
          #1
            T1 (index 2, process 0, ok): [[:r 1 []] [:append 2 1]]
            T2 (index 3, process 1, ok): [[:r 2 []] [:append 1 1]]
            T1 -rw-> T2 -rw-> T1
            - T1 read key 1 = [], which does not include T2's append of 1 (rw)
            - T2 read key 2 = [], which does not include T1's append of 1 (rw)
    "#]],
    );
    // Snapshot isolation allows write skew.
    passes(la(&bad, "snapshot-isolation"), "G-single");
    let good = concurrent(&[
        (0, "ok", "[[:r 1 []] [:append 2 1]]"),
        (1, "ok", "[[:r 2 [1]] [:append 1 1]]"),
    ]);
    passes(la(&good, "strict-serializable"), "G2-item");
}

#[test]
fn g_nonadjacent() {
    let bad = concurrent(&[
        (0, "ok", "[[:r 1 []] [:r 4 [1]]]"),
        (1, "ok", "[[:append 1 1] [:append 2 1]]"),
        (2, "ok", "[[:r 2 [1]] [:r 3 []]]"),
        (3, "ok", "[[:append 3 1] [:append 4 1]]"),
    ]);
    detects(
        la(&bad, "snapshot-isolation"),
        "G-nonadjacent",
        expect![[r#"
            invalid against snapshot-isolation (4 transactions, 4 edges)
            not repeatable-read, snapshot-isolation
            also not serializable, strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation

            G-nonadjacent (1 found)
              #1
                T1 (index 4, process 0, ok): [[:r 1 []] [:r 4 [1]]]
                T2 (index 5, process 1, ok): [[:append 1 1] [:append 2 1]]
                T3 (index 6, process 2, ok): [[:r 2 [1]] [:r 3 []]]
                T4 (index 7, process 3, ok): [[:append 3 1] [:append 4 1]]
                T1 -rw-> T2 -wr-> T3 -rw-> T4 -wr-> T1
                - T1 read key 1 = [], which does not include T2's append of 1 (rw)
                - T3 (index 6, process 2) read key 2 = [1], which includes T2 (index 5)'s append of 1 (wr)
                - T3 read key 3 = [], which does not include T4's append of 1 (rw)
                - T1 (index 4, process 0) read key 4 = [1], which includes T4 (index 7)'s append of 1 (wr)
        "#]],
    );
    let good = concurrent(&[
        (0, "ok", "[[:r 1 []] [:r 4 [1]]]"),
        (1, "ok", "[[:append 1 1] [:append 2 1]]"),
        (2, "ok", "[[:r 2 [1]] [:r 3 [1]]]"),
        (3, "ok", "[[:append 3 1] [:append 4 1]]"),
    ]);
    passes(la(&good, "strict-serializable"), "G-nonadjacent");
}

#[test]
fn g_single_realtime_and_process() {
    // T2 starts after T1 completed, yet does not see T1's append.
    let bad = serial(&[(0, "ok", "[[:append 1 1]]"), (1, "ok", "[[:r 1 []]]")]);
    detects(
        la(&bad, "strict-serializable"),
        "G-single-realtime",
        expect![[r#"
            invalid against strict-serializable (2 transactions, 2 edges)
            not strong-snapshot-isolation
            also not strict-serializable

            G-single-realtime (1 found)
              #1
                T1 (index 1, process 0, ok): [[:append 1 1]]
                T2 (index 3, process 1, ok): [[:r 1 []]]
                T1 -realtime-> T2 -rw-> T1
                - T1 completed (index 1) before T2 was invoked (index 2) (realtime)
                - T2 read key 1 = [], which does not include T1's append of 1 (rw)
        "#]],
    );
    passes(la(&bad, "serializable"), "G-single");
    let same_process = serial(&[(0, "ok", "[[:append 1 1]]"), (0, "ok", "[[:r 1 []]]")]);
    detects(
        la(&same_process, "strong-session-serializable"),
        "G-single-process",
        expect![[r#"
            invalid against strong-session-serializable (2 transactions, 2 edges)
            not strong-session-snapshot-isolation
            also not strict-serializable, strong-session-serializable, strong-snapshot-isolation

            G-single-process (1 found)
              #1
                T1 (index 1, process 0, ok): [[:append 1 1]]
                T2 (index 3, process 0, ok): [[:r 1 []]]
                T1 -process-> T2 -rw-> T1
                - process 0 ran T1 before T2 (process)
                - T2 read key 1 = [], which does not include T1's append of 1 (rw)
        "#]],
    );
    let overlapping = concurrent(&[(0, "ok", "[[:append 1 1]]"), (1, "ok", "[[:r 1 []]]")]);
    passes(la(&overlapping, "strict-serializable"), "G-single-realtime");
}

#[test]
fn g1a_aborted_read() {
    let bad = serial(&[(0, "fail", "[[:append 1 1]]"), (1, "ok", "[[:r 1 [1]]]")]);
    detects(
        la(&bad, "read-committed"),
        "G1a",
        expect![[r#"
        invalid against read-committed (2 transactions, 0 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G1a (1 found)
          #1
            T1 (index 0, process 0, fail): [[:append 1 1]]
            T2 (index 3, process 1, ok): [[:r 1 [1]]]
            T2 (index 3, process 1) read key 1 = [1], which includes T1 (index 0)'s append of 1, but T1 failed
    "#]],
    );
    let good = serial(&[(0, "fail", "[[:append 1 1]]"), (1, "ok", "[[:r 1 []]]")]);
    passes(la(&good, "strict-serializable"), "G1a");
}

#[test]
fn g1b_intermediate_read() {
    let bad = concurrent(&[
        (0, "ok", "[[:append 1 1] [:append 1 2]]"),
        (1, "ok", "[[:r 1 [1]]]"),
    ]);
    detects(
        la(&bad, "read-committed"),
        "G1b",
        expect![[r#"
        invalid against read-committed (2 transactions, 2 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G-single (1 found)
          #1
            T1 (index 2, process 0, ok): [[:append 1 1] [:append 1 2]]
            T2 (index 3, process 1, ok): [[:r 1 [1]]]
            T1 -wr-> T2 -rw-> T1
            - T2 (index 3, process 1) read key 1 = [1], which includes T1 (index 2)'s append of 1 (wr)
            - T2 read key 1 = [1], which does not include T1's append of 2 (rw)

        G1b (1 found)
          #1
            T1 (index 2, process 0, ok): [[:append 1 1] [:append 1 2]]
            T2 (index 3, process 1, ok): [[:r 1 [1]]]
            T2 (index 3, process 1) read key 1 = [1], which ends with T1 (index 2)'s append of 1, but T1 went on to append 2: an intermediate version
    "#]],
    );
    let good = concurrent(&[
        (0, "ok", "[[:append 1 1] [:append 1 2]]"),
        (1, "ok", "[[:r 1 [1 2]]]"),
    ]);
    passes(la(&good, "strict-serializable"), "G1b");
}

#[test]
fn internal_inconsistency() {
    let bad = serial(&[
        (0, "ok", "[[:append 1 1]]"),
        (1, "ok", "[[:r 1 [1]] [:append 1 2] [:r 1 [1]]]"),
    ]);
    detects(
        la(&bad, "read-atomic"),
        "internal",
        expect![[r#"
        invalid against read-atomic (2 transactions, 1 edges)
        not read-atomic
        also not causal-cerone, parallel-snapshot-isolation, prefix, serializable, snapshot-isolation, strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation

        internal (1 found)
          #1
            T1 (index 3, process 1, ok): [[:r 1 [1]] [:append 1 2] [:r 1 [1]]]
            T1 (index 3, process 1) read key 1 = [1], then appended [2], then read key 1 = [1]
    "#]],
    );
    let good = serial(&[
        (0, "ok", "[[:append 1 1]]"),
        (1, "ok", "[[:r 1 [1]] [:append 1 2] [:r 1 [1 2]]]"),
    ]);
    passes(la(&good, "strict-serializable"), "internal");
}

#[test]
fn dirty_update() {
    let bad = serial(&[
        (0, "fail", "[[:append 1 1]]"),
        (1, "ok", "[[:append 1 2]]"),
        (2, "ok", "[[:r 1 [1 2]]]"),
    ]);
    detects(
        la(&bad, "read-committed"),
        "dirty-update",
        expect![[r#"
        invalid against read-committed (3 transactions, 1 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G1a (1 found)
          #1
            T1 (index 0, process 0, fail): [[:append 1 1]]
            T2 (index 5, process 2, ok): [[:r 1 [1 2]]]
            T2 (index 5, process 2) read key 1 = [1 2], which includes T1 (index 0)'s append of 1, but T1 failed

        dirty-update (1 found)
          #1
            T1 (index 0, process 0, fail): [[:append 1 1]]
            T2 (index 3, process 1, ok): [[:append 1 2]]
            T1 (index 0) failed, yet its append of 1 to key 1 was followed by T2 (index 3)'s append of 2 in [1 2]
    "#]],
    );
    let good = serial(&[
        (0, "fail", "[[:append 1 1]]"),
        (1, "ok", "[[:append 1 2]]"),
        (2, "ok", "[[:r 1 [2]]]"),
    ]);
    passes(la(&good, "strict-serializable"), "dirty-update");
}

#[test]
fn lost_update() {
    let bad = concurrent(&[
        (0, "ok", "[[:r 1 []] [:append 1 1]]"),
        (1, "ok", "[[:r 1 []] [:append 1 2]]"),
    ]) + &serial(&[(2, "ok", "[[:r 1 [1 2]]]")]);
    detects(
        la(&bad, "repeatable-read"),
        "lost-update",
        expect![[r#"
        invalid against repeatable-read (3 transactions, 4 edges)
        not cursor-stability
        also not consistent-view, forward-consistent-view, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G-single (1 found)
          #1
            T1 (index 2, process 0, ok): [[:r 1 []] [:append 1 1]]
            T2 (index 3, process 1, ok): [[:r 1 []] [:append 1 2]]
            T1 -ww-> T2 -rw-> T1
            - T1 appended 1 to key 1 before T2 appended 2 (ww: [1 2] has 1 before 2)
            - T2 read key 1 = [], which does not include T1's append of 1 (rw)

        lost-update (1 found)
          #1
            T1 (index 2, process 0, ok): [[:r 1 []] [:append 1 1]]
            T2 (index 3, process 1, ok): [[:r 1 []] [:append 1 2]]
            T1 and T2 read key 1 = [] and then appended to it: each append should have seen the others'
    "#]],
    );
    let good = concurrent(&[
        (0, "ok", "[[:r 1 []] [:append 1 1]]"),
        (1, "ok", "[[:r 1 [1]] [:append 1 2]]"),
    ]) + &serial(&[(2, "ok", "[[:r 1 [1 2]]]")]);
    passes(la(&good, "strict-serializable"), "lost-update");
}

#[test]
fn duplicate_elements() {
    let bad = serial(&[(0, "ok", "[[:append 1 1]]"), (1, "ok", "[[:r 1 [1 1]]]")]);
    detects(
        la(&bad, "read-uncommitted"),
        "duplicate-elements",
        expect![[r#"
            invalid against read-uncommitted (2 transactions, 1 edges)
            not read-uncommitted
            also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, read-committed, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-read-uncommitted, strong-session-read-committed, strong-session-read-uncommitted, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

            duplicate-elements (1 found)
              #1
                T1 (index 3, process 1, ok): [[:r 1 [1 1]]]
                T1 (index 3, process 1) read key 1 = [1 1], which contains 1 more than once
        "#]],
    );
    let good = serial(&[(0, "ok", "[[:append 1 1]]"), (1, "ok", "[[:r 1 [1]]]")]);
    passes(la(&good, "strict-serializable"), "duplicate-elements");
}

#[test]
fn incompatible_order() {
    let writes = concurrent(&[(0, "ok", "[[:append 1 1]]"), (1, "ok", "[[:append 1 2]]")]);
    let bad =
        writes.clone() + &concurrent(&[(2, "ok", "[[:r 1 [1 2]]]"), (3, "ok", "[[:r 1 [2 1]]]")]);
    detects(
        la(&bad, "read-committed"),
        "incompatible-order",
        expect![[r#"
            invalid against read-committed (4 transactions, 5 edges)
            not read-committed
            also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

            incompatible-order (1 found)
              #1
                T1 (index 6, process 2, ok): [[:r 1 [1 2]]]
                T2 (index 7, process 3, ok): [[:r 1 [2 1]]]
                T1 read key 1 = [1 2] and T2 read it = [2 1]: neither is a prefix of the other, so they cannot come from one order of appends
        "#]],
    );
    let good = writes + &concurrent(&[(2, "ok", "[[:r 1 [1 2]]]"), (3, "ok", "[[:r 1 [1 2]]]")]);
    passes(la(&good, "strict-serializable"), "incompatible-order");
}

#[test]
fn garbage_read() {
    let bad = serial(&[(0, "ok", "[[:append 1 1]]"), (1, "ok", "[[:r 1 [1 9]]]")]);
    detects(
        la(&bad, "read-committed"),
        "garbage-read",
        expect![[r#"
        invalid against read-committed (2 transactions, 1 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        garbage-read (1 found)
          #1
            T1 (index 3, process 1, ok): [[:r 1 [1 9]]]
            T1 (index 3, process 1) read key 1 = [1 9], but no transaction appended 9 to key 1
    "#]],
    );
    let good = serial(&[
        (0, "ok", "[[:append 1 1]]"),
        (2, "ok", "[[:append 1 9]]"),
        (1, "ok", "[[:r 1 [1 9]]]"),
    ]);
    passes(la(&good, "strict-serializable"), "garbage-read");
}

#[test]
fn future_read() {
    let bad = serial(&[(0, "ok", "[[:r 1 [1]] [:append 1 1]]")]);
    detects(
        la(&bad, "read-atomic"),
        "future-read",
        expect![[r#"
        invalid against read-atomic (1 transactions, 0 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        future-read (1 found)
          #1
            T1 (index 1, process 0, ok): [[:r 1 [1]] [:append 1 1]]
            T1 (index 1, process 0) read key 1 = [1], which includes 1, an element it appends only later in the same transaction
    "#]],
    );
    let good = serial(&[(0, "ok", "[[:r 1 []] [:append 1 1]]")]);
    passes(la(&good, "strict-serializable"), "future-read");
}

#[test]
fn info_writes_may_be_read_and_info_reads_are_ignored() {
    // T1 crashed (info) but its append was read: it happened. T3's info read says nothing.
    let h = concurrent(&[
        (0, "info", "[[:append 1 1]]"),
        (1, "ok", "[[:r 1 [1]]]"),
        (2, "info", "[[:r 1 [7 8]]]"),
    ]);
    passes(la(&h, "strict-serializable"), "garbage-read");
}

#[test]
fn rw_register_anomalies() {
    let g1c = concurrent(&[
        (0, "ok", "[[:w 1 1] [:r 2 2]]"),
        (1, "ok", "[[:w 2 2] [:r 1 1]]"),
    ]);
    detects(
        rr(&g1c, "read-committed"),
        "G1c",
        expect![[r#"
        invalid against read-committed (2 transactions, 2 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G1c (1 found)
          #1
            T1 (index 2, process 0, ok): [[:w 1 1] [:r 2 2]]
            T2 (index 3, process 1, ok): [[:w 2 2] [:r 1 1]]
            T1 -wr-> T2 -wr-> T1
            - T2 (index 3, process 1) read key 1 = 1, which T1 (index 2) wrote (wr)
            - T1 (index 2, process 0) read key 2 = 2, which T2 (index 3) wrote (wr)
    "#]],
    );
    let g_single = concurrent(&[
        (0, "ok", "[[:w 1 1] [:w 2 1]]"),
        (1, "ok", "[[:r 1 nil] [:r 2 1]]"),
    ]);
    detects(
        rr(&g_single, "snapshot-isolation"),
        "G-single",
        expect![[r#"
        invalid against snapshot-isolation (2 transactions, 2 edges)
        not consistent-view, repeatable-read
        also not forward-consistent-view, serializable, snapshot-isolation, strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G-single (1 found)
          #1
            T1 (index 2, process 0, ok): [[:w 1 1] [:w 2 1]]
            T2 (index 3, process 1, ok): [[:r 1 nil] [:r 2 1]]
            T1 -wr-> T2 -rw-> T1
            - T2 (index 3, process 1) read key 2 = 1, which T1 (index 2) wrote (wr)
            - T2 read key 1 = nil (the initial state), which T1's write of 1 overwrote (rw)
    "#]],
    );
    let skew = concurrent(&[
        (0, "ok", "[[:r 1 nil] [:w 2 1]]"),
        (1, "ok", "[[:r 2 nil] [:w 1 1]]"),
    ]);
    detects(
        rr(&skew, "serializable"),
        "G2-item",
        expect![[r#"
        invalid against serializable (2 transactions, 2 edges)
        not repeatable-read
        also not serializable, strict-serializable, strong-session-serializable

        G2-item (1 found)
          #1
            T1 (index 2, process 0, ok): [[:r 1 nil] [:w 2 1]]
            T2 (index 3, process 1, ok): [[:r 2 nil] [:w 1 1]]
            T1 -rw-> T2 -rw-> T1
            - T1 read key 1 = nil (the initial state), which T2's write of 1 overwrote (rw)
            - T2 read key 2 = nil (the initial state), which T1's write of 1 overwrote (rw)
    "#]],
    );
    passes(rr(&skew, "snapshot-isolation"), "G-single");
    let lost = concurrent(&[
        (0, "ok", "[[:r 1 nil] [:w 1 1]]"),
        (1, "ok", "[[:r 1 nil] [:w 1 2]]"),
    ]);
    detects(
        rr(&lost, "repeatable-read"),
        "lost-update",
        expect![[r#"
        invalid against repeatable-read (2 transactions, 2 edges)
        not cursor-stability
        also not consistent-view, forward-consistent-view, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G2-item (1 found)
          #1
            T1 (index 2, process 0, ok): [[:r 1 nil] [:w 1 1]]
            T2 (index 3, process 1, ok): [[:r 1 nil] [:w 1 2]]
            T1 -rw-> T2 -rw-> T1
            - T1 read key 1 = nil (the initial state), which T2's write of 2 overwrote (rw)
            - T2 read key 1 = nil (the initial state), which T1's write of 1 overwrote (rw)

        lost-update (1 found)
          #1
            T1 (index 2, process 0, ok): [[:r 1 nil] [:w 1 1]]
            T2 (index 3, process 1, ok): [[:r 1 nil] [:w 1 2]]
            T1 and T2 read key 1 = nil and then wrote it: each write should have seen the others'
    "#]],
    );
    let aborted = serial(&[(0, "fail", "[[:w 1 1]]"), (1, "ok", "[[:r 1 1]]")]);
    detects(
        rr(&aborted, "read-committed"),
        "G1a",
        expect![[r#"
        invalid against read-committed (2 transactions, 0 edges)
        not read-committed
        also not causal-cerone, consistent-view, cursor-stability, forward-consistent-view, monotonic-atomic-view, monotonic-snapshot-read, monotonic-view, parallel-snapshot-isolation, prefix, read-atomic, repeatable-read, serializable, snapshot-isolation, strict-serializable, strong-read-committed, strong-session-read-committed, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation, update-serializable

        G1a (1 found)
          #1
            T1 (index 0, process 0, fail): [[:w 1 1]]
            T2 (index 3, process 1, ok): [[:r 1 1]]
            T2 (index 3, process 1) read key 1 = 1, which T1 (index 0) wrote, but T1 failed
    "#]],
    );
    let good = serial(&[
        (0, "ok", "[[:w 1 1] [:w 2 1]]"),
        (1, "ok", "[[:r 1 1] [:w 1 2] [:r 1 2]]"),
        (2, "ok", "[[:r 1 2] [:r 2 1]]"),
    ]);
    passes(rr(&good, "strict-serializable"), "G-single");
    let internal = serial(&[(0, "ok", "[[:w 1 1] [:r 1 2]]"), (1, "ok", "[[:w 1 2]]")]);
    detects(
        rr(&internal, "serializable"),
        "internal",
        expect![[r#"
        invalid against serializable (2 transactions, 1 edges)
        not read-atomic
        also not causal-cerone, parallel-snapshot-isolation, prefix, serializable, snapshot-isolation, strict-serializable, strong-session-serializable, strong-session-snapshot-isolation, strong-snapshot-isolation

        internal (1 found)
          #1
            T1 (index 1, process 0, ok): [[:w 1 1] [:r 1 2]]
            T1 (index 1, process 0) wrote key 1 = 1, then read it = 2
    "#]],
    );
}

#[test]
fn malformed_micro_ops_name_their_line() {
    let h = serial(&[(0, "ok", "[[:append 1 1]]"), (1, "ok", "[[:frob 1 2]]")]);
    let err = run(&h, Workload::ListAppend, "serializable").unwrap_err();
    expect!["test.edn: line 4, column 1: operation 3: unknown micro-op :frob in [:frob 1 2]"]
        .assert_eq(&err.to_string());
    let h = serial(&[(0, "ok", "[[:r 1 3]]")]);
    let err = run(&h, Workload::ListAppend, "serializable").unwrap_err();
    expect!["test.edn: line 2, column 1: operation 1: a list-append read returns a list or nil, found 3"].assert_eq(&err.to_string());
    let h = serial(&[(0, "ok", "[[:w 1 3]]")]);
    assert!(run(&h, Workload::ListAppend, "serializable").is_err());
}

#[test]
fn json_output_is_stable() {
    let bad = concurrent(&[
        (0, "ok", "[[:append 1 1] [:append 2 1]]"),
        (1, "ok", "[[:r 1 []] [:r 2 [1]]]"),
    ]);
    let json = la(&bad, "serializable").to_json();
    expect![[r#"
        {
          "also_not": [
            "forward-consistent-view",
            "serializable",
            "snapshot-isolation",
            "strict-serializable",
            "strong-session-serializable",
            "strong-session-snapshot-isolation",
            "strong-snapshot-isolation",
            "update-serializable"
          ],
          "anomalies": {
            "G-single": [
              {
                "cycle": [
                  {
                    "explanation": "T2 (index 3, process 1) read key 2 = [1], which includes T1 (index 2)'s append of 1 (wr)",
                    "from": "T1",
                    "to": "T2",
                    "type": "wr"
                  },
                  {
                    "explanation": "T2 read key 1 = [], which does not include T1's append of 1 (rw)",
                    "from": "T2",
                    "to": "T1",
                    "type": "rw"
                  }
                ],
                "explanation": "T1 -wr-> T2 -rw-> T1",
                "txns": [
                  {
                    "index": 2,
                    "name": "T1",
                    "process": 0,
                    "type": "ok",
                    "value": [
                      [
                        "append",
                        1,
                        1
                      ],
                      [
                        "append",
                        2,
                        1
                      ]
                    ]
                  },
                  {
                    "index": 3,
                    "name": "T2",
                    "process": 1,
                    "type": "ok",
                    "value": [
                      [
                        "r",
                        1,
                        []
                      ],
                      [
                        "r",
                        2,
                        [
                          1
                        ]
                      ]
                    ]
                  }
                ],
                "type": "G-single"
              }
            ]
          },
          "anomaly_counts": {
            "G-single": 1
          },
          "anomaly_types": [
            "G-single"
          ],
          "consistency_models": [
            "serializable"
          ],
          "edge_count": 2,
          "not": [
            "consistent-view",
            "repeatable-read"
          ],
          "txn_count": 2,
          "valid": "invalid"
        }"#]].assert_eq(&serde_json::to_string_pretty(&json).unwrap());
}

#[test]
fn anomalies_the_models_allow_are_listed_but_valid() {
    let skew = concurrent(&[
        (0, "ok", "[[:r 1 []] [:append 2 1]]"),
        (1, "ok", "[[:r 2 []] [:append 1 1]]"),
    ]);
    let result = la(&skew, "snapshot-isolation");
    assert_eq!(result.valid, Validity::Valid);
    assert_eq!(result.anomaly_types, ["G2-item"]);
    assert_eq!(result.not, ["repeatable-read"]);
}

#[test]
fn session_and_realtime_variants_of_g0_and_g1c() {
    // T1 and T2 append to key 1 in the order the reads show; T2 ran before T1 on the same
    // process, yet T1's append comes first: G0-process.
    let g0_process = serial(&[
        (0, "ok", "[[:append 1 2]]"),
        (0, "ok", "[[:append 1 1]]"),
        (1, "ok", "[[:r 1 [1 2]]]"),
    ]);
    let result = la(&g0_process, "strong-session-serializable");
    assert!(
        result.anomaly_types.iter().any(|t| t == "G0-process"),
        "{}",
        result.explain()
    );
    assert_eq!(result.valid, Validity::Invalid);
    assert_eq!(la(&g0_process, "serializable").valid, Validity::Valid);
    // The same on two processes is G0-realtime.
    let g0_realtime = serial(&[
        (0, "ok", "[[:append 1 2]]"),
        (1, "ok", "[[:append 1 1]]"),
        (2, "ok", "[[:r 1 [1 2]]]"),
    ]);
    let result = la(&g0_realtime, "strict-serializable");
    assert!(
        result.anomaly_types.iter().any(|t| t == "G0-realtime"),
        "{}",
        result.explain()
    );
    assert_eq!(
        la(&g0_realtime, "strong-session-serializable").valid,
        Validity::Valid
    );
    // T2 reads T1's append, yet T1 started after T2 completed: G1c-realtime.
    let g1c_realtime = serial(&[(0, "ok", "[[:r 1 [1]]]"), (1, "ok", "[[:append 1 1]]")]);
    let result = la(&g1c_realtime, "strict-serializable");
    assert!(
        result.anomaly_types.iter().any(|t| t == "G1c-realtime"),
        "{}",
        result.explain()
    );
    assert_eq!(la(&g1c_realtime, "serializable").valid, Validity::Valid);
}
