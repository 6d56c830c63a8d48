//! CRDTs over causal broadcast: every node accepts writes at once, concurrent writes all
//! survive, updates are seen in causal order, and all nodes converge.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::TestCluster;
use serde_json::{json, Value};

fn ints(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Adds, appends and increments from every node at once: every acknowledged element is in the
/// converged set and list (the list exactly once each, in the same order everywhere), and the
/// counter counts them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crdt_concurrent_adds_and_appends_on_all_nodes_all_survive() {
    let c = Arc::new(TestCluster::start(
        "crdt",
        3,
        &["--anti-entropy-ms", "300"],
        |_| vec![],
    ));
    c.wait_healthy().await;
    let mut tasks = Vec::new();
    for client in 0..6u64 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for j in 0..20u64 {
                let uid = client * 1000 + j;
                let ops = json!([["add", "s", uid], ["append", "l", uid], ["incr", "c", 1]]);
                let (s, v) = c.txn((client % 3) as usize, ops).await;
                assert_eq!(s, 200, "{v}");
                acked.push(uid);
            }
            acked
        }));
    }
    let mut acked = BTreeSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    let set = c.converged(json!("s"), Duration::from_secs(10)).await;
    assert_eq!(
        ints(&set),
        acked.iter().copied().collect::<Vec<_>>(),
        "the set is sorted and complete"
    );
    let list = ints(&c.converged(json!("l"), Duration::from_secs(10)).await);
    assert_eq!(list.len(), acked.len());
    assert_eq!(list.iter().copied().collect::<BTreeSet<_>>(), acked);
    assert_eq!(
        c.converged(json!("c"), Duration::from_secs(10)).await,
        json!(acked.len())
    );
}

/// Concurrent writes to one register on two sides of a partition: each side reads only its
/// own (a stale read: not linearizable); after the heal both survive as sorted siblings on
/// every node, until a write that saw both replaces them. Concurrent appends both survive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crdt_concurrent_writes_survive_as_siblings_and_converge_after_heal() {
    let c = TestCluster::start("crdt", 3, &["--anti-entropy-ms", "300"], |_| vec![]);
    c.wait_healthy().await;
    c.partition(&[&[0], &[1, 2]]).await;
    assert_eq!(
        c.txn(0, json!([["w", "x", 9], ["append", "l", 1]])).await.0,
        200
    );
    assert_eq!(
        c.txn(1, json!([["w", "x", 4], ["append", "l", 2]])).await.0,
        200
    );
    c.converged_on(2, json!("x"), json!(4)).await;
    assert_eq!(c.read(0, json!("x")).await, json!(9));
    c.heal().await;
    assert_eq!(
        c.converged(json!("x"), Duration::from_secs(10)).await,
        json!({"siblings": [4, 9]})
    );
    let l = ints(&c.converged(json!("l"), Duration::from_secs(10)).await);
    assert_eq!(
        l.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([1, 2])
    );
    assert_eq!(c.txn(2, json!([["w", "x", 5]])).await.0, 200);
    assert_eq!(
        c.converged(json!("x"), Duration::from_secs(10)).await,
        json!(5)
    );
}

/// Write skew: two transactions each read the key the other writes, on two sides of a
/// partition; both read null and both commit: not serializable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crdt_write_skew_is_not_serializable() {
    let c = TestCluster::start("crdt", 3, &["--anti-entropy-ms", "300"], |_| vec![]);
    c.wait_healthy().await;
    c.partition(&[&[0], &[1, 2]]).await;
    let t1 = c.txn(0, json!([["r", "x", null], ["w", "y", 1]])).await;
    let t2 = c.txn(1, json!([["r", "y", null], ["w", "x", 1]])).await;
    assert_eq!(t1, (200, json!([["r", "x", null], ["w", "y", 1]])));
    assert_eq!(t2, (200, json!([["r", "y", null], ["w", "x", 1]])));
    c.heal().await;
    assert_eq!(
        c.converged(json!("x"), Duration::from_secs(10)).await,
        json!(1)
    );
    assert_eq!(
        c.converged(json!("y"), Duration::from_secs(10)).await,
        json!(1)
    );
}

/// n1 writes x; n2 sees it and writes y; n3 is cut off from n1. n2's push of y reaches n3
/// first, but n3 holds it back until x has arrived (through n2's anti-entropy): no read on
/// n3 ever shows y without x.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crdt_is_causally_consistent() {
    let c = TestCluster::start("crdt", 3, &["--anti-entropy-ms", "700"], |_| vec![]);
    c.wait_healthy().await;
    c.block(0, &[2]).await;
    c.block(2, &[0]).await;
    assert_eq!(c.txn(0, json!([["w", "x", 1]])).await.0, 200);
    c.converged_on(1, json!("x"), json!(1)).await;
    assert_eq!(
        c.txn(1, json!([["r", "x", null], ["w", "y", 1]])).await.0,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, v) = c.txn(2, json!([["r", "y", null], ["r", "x", null]])).await;
        assert_eq!(s, 200);
        if v[0][2] == json!(1) {
            assert_eq!(
                v[1][2],
                json!(1),
                "n3 saw y without the x it depends on: {v}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "y never reached n3");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A node SIGKILLed and restarted comes back with everything it acknowledged (its log is
/// fsynced first), then catches up with what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crdt_killed_node_restarts_with_its_state_and_catches_up() {
    let mut c = TestCluster::start("crdt", 3, &["--anti-entropy-ms", "300"], |_| vec![]);
    c.wait_healthy().await;
    c.partition(&[&[2], &[0, 1]]).await;
    assert_eq!(
        c.txn(2, json!([["add", "s", 3], ["incr", "c", 1]])).await.0,
        200
    );
    c.kill(2);
    c.heal().await;
    assert_eq!(
        c.txn(0, json!([["add", "s", 1], ["incr", "c", 1]])).await.0,
        200
    );
    c.spawn(2);
    c.wait_healthy().await;
    assert_eq!(
        c.read(2, json!("s"))
            .await
            .as_array()
            .map(|a| a.contains(&json!(3))),
        Some(true)
    );
    assert_eq!(
        c.converged(json!("s"), Duration::from_secs(10)).await,
        json!([1, 3])
    );
    assert_eq!(
        c.converged(json!("c"), Duration::from_secs(10)).await,
        json!(2)
    );
    // The restarted node's next update continues its sequence: the others accept it.
    assert_eq!(c.txn(2, json!([["add", "s", 7]])).await.0, 200);
    assert_eq!(
        c.converged(json!("s"), Duration::from_secs(10)).await,
        json!([1, 3, 7])
    );
}
