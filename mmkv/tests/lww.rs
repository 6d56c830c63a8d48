//! Last-writer-wins: every node accepts writes at once and all converge, but the greatest
//! timestamp wins, so skewed clocks and concurrent writes silently lose acknowledged writes.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{TestCluster, FAKETIME_LIB};
use serde_json::json;

/// Concurrent writes to the same keys from every node: all acknowledged at once, and every
/// key converges to one of the values written to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lww_concurrent_writes_on_all_nodes_converge() {
    let c = Arc::new(TestCluster::start(
        "lww",
        3,
        &["--anti-entropy-ms", "300"],
        |_| vec![],
    ));
    c.wait_healthy().await;
    let mut tasks = Vec::new();
    for node in 0..3usize {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..30u64 {
                let (s, v) = c
                    .txn(node, json!([["w", j % 10, node as u64 * 1000 + j]]))
                    .await;
                assert_eq!(s, 200, "{v}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for k in 0..10u64 {
        let v = c.converged(json!(k), Duration::from_secs(10)).await;
        let n = v.as_u64().expect("an integer");
        assert_eq!(n % 1000 % 10, k, "key {k} holds {n}, never written to it");
    }
}

/// Writes on a node that cannot reach the others are acknowledged but invisible elsewhere
/// (stale reads: not linearizable); after the heal, concurrent appends to one list keep only
/// one side's (acknowledged writes lost), and all nodes converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lww_concurrent_appends_lose_one_another_and_converge_after_heal() {
    let c = TestCluster::start("lww", 3, &["--anti-entropy-ms", "300"], |_| vec![]);
    c.wait_healthy().await;
    c.partition(&[&[0], &[1, 2]]).await;
    let (s, _) = c.txn(0, json!([["append", "l", 1]])).await;
    assert_eq!(s, 200);
    let (s, _) = c.txn(1, json!([["append", "l", 2]])).await;
    assert_eq!(s, 200);
    // A read on the other side misses an acknowledged write: a stale read.
    c.converged_on(2, json!("l"), json!([2])).await;
    assert_eq!(c.read(0, json!("l")).await, json!([1]));
    c.heal().await;
    let v = c.converged(json!("l"), Duration::from_secs(10)).await;
    assert!(
        v == json!([1]) || v == json!([2]),
        "one append should have won: {v}"
    );
}

/// Write skew: two transactions each read the key the other writes, on two sides of a
/// partition. Both read null and both commit: no serial order explains that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lww_write_skew_is_not_serializable() {
    let c = TestCluster::start("lww", 3, &["--anti-entropy-ms", "300"], |_| vec![]);
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

/// n1 writes x; n2 sees it and then writes y; n3, cut off from n1, gets y pushed from n2 but
/// not x (nobody forwards x to it until anti-entropy, minutes away): it reads y without x, a
/// violation of causal consistency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lww_is_not_causally_consistent() {
    let c = TestCluster::start("lww", 3, &["--anti-entropy-ms", "600000"], |_| vec![]);
    c.wait_healthy().await;
    c.block(0, &[2]).await;
    c.block(2, &[0]).await;
    assert_eq!(c.txn(0, json!([["w", "x", 1]])).await.0, 200);
    c.converged_on(1, json!("x"), json!(1)).await;
    assert_eq!(
        c.txn(1, json!([["r", "x", null], ["w", "y", 1]])).await.0,
        200
    );
    c.converged_on(2, json!("y"), json!(1)).await;
    let (s, v) = c.txn(2, json!([["r", "y", null], ["r", "x", null]])).await;
    assert_eq!((s, v), (200, json!([["r", "y", 1], ["r", "x", null]])));
}

/// n2 runs 60 s behind (libfaketime). x written on n1 reaches n2; n2 then overwrites x and is
/// acknowledged, yet its older timestamp loses: every node reads n1's value, and n2's
/// acknowledged write is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lww_node_with_clock_behind_loses_its_writes() {
    if !Path::new(FAKETIME_LIB).exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "libfaketime is missing (apt-get install faketime)"
        );
        eprintln!("skipped: {FAKETIME_LIB} is missing (apt-get install faketime)");
        return;
    }
    let clocks = tempfile::tempdir().unwrap();
    let env = |i: usize| {
        let file = clocks.path().join(format!("clock{i}"));
        std::fs::write(&file, if i == 1 { "-60s\n" } else { "+0s\n" }).unwrap();
        vec![
            ("LD_PRELOAD".to_string(), FAKETIME_LIB.to_string()),
            (
                "FAKETIME_TIMESTAMP_FILE".to_string(),
                file.display().to_string(),
            ),
            ("FAKETIME_NO_CACHE".to_string(), "1".to_string()),
            ("FAKETIME_DONT_FAKE_MONOTONIC".to_string(), "1".to_string()),
        ]
    };
    let c = TestCluster::start("lww", 3, &["--anti-entropy-ms", "300"], env);
    c.wait_healthy().await;
    assert_eq!(
        c.txn(0, json!([["w", "x", "from n1"], ["append", "l", 1]]))
            .await
            .0,
        200
    );
    c.converged_on(1, json!("x"), json!("from n1")).await;
    c.converged_on(1, json!("l"), json!([1])).await;
    let (s, v) = c
        .txn(1, json!([["w", "x", "from n2"], ["append", "l", 2]]))
        .await;
    assert_eq!(s, 200, "n2's write is acknowledged: {v}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        c.converged(json!("x"), Duration::from_secs(10)).await,
        json!("from n1")
    );
    assert_eq!(
        c.converged(json!("l"), Duration::from_secs(10)).await,
        json!([1])
    );
    // Writes of n2 to keys nobody else touched still win: nothing beats them.
    assert_eq!(c.txn(1, json!([["w", "z", 2]])).await.0, 200);
    assert_eq!(
        c.converged(json!("z"), Duration::from_secs(10)).await,
        json!(2)
    );
}

/// A node SIGKILLed and restarted comes back with what it had acknowledged, then catches up
/// with what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lww_killed_node_restarts_with_its_state_and_catches_up() {
    let mut c = TestCluster::start("lww", 3, &["--anti-entropy-ms", "300"], |_| vec![]);
    c.wait_healthy().await;
    c.partition(&[&[2], &[0, 1]]).await;
    assert_eq!(c.txn(2, json!([["w", "mine", 3]])).await.0, 200);
    c.kill(2);
    c.heal().await;
    assert_eq!(c.txn(0, json!([["w", "theirs", 1]])).await.0, 200);
    c.spawn(2);
    c.wait_healthy().await;
    assert_eq!(c.read(2, json!("mine")).await, json!(3));
    assert_eq!(
        c.converged(json!("mine"), Duration::from_secs(10)).await,
        json!(3)
    );
    assert_eq!(
        c.converged(json!("theirs"), Duration::from_secs(10)).await,
        json!(1)
    );
}
