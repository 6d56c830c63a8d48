//! Raft: one order for all transactions, no acknowledged write lost to a crash.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{definite, TestCluster};
use serde_json::{json, Value};

fn ints(v: &Value) -> Vec<u64> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Transactions from every node at once: each one appends, bumps two counters and reads them;
/// no transaction ever sees the two counters apart (they move together, atomically and in one
/// order), and nothing acknowledged is missing or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_concurrent_txns_on_all_nodes_are_serializable() {
    let c = Arc::new(TestCluster::start("raft", 3, &[], |_| vec![]));
    c.wait_healthy().await;
    let mut tasks = Vec::new();
    for client in 0..9u64 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for j in 0..12u64 {
                let uid = client * 1000 + j;
                let ops = json!([
                    ["append", "log", uid],
                    ["incr", "a", 1],
                    ["incr", "b", 1],
                    ["r", "a", null],
                    ["r", "b", null]
                ]);
                let (s, v) = c.txn((client % 3) as usize, ops).await;
                assert_eq!(s, 200, "{v}");
                assert_eq!(v[3][2], v[4][2], "a torn read: {v}");
                acked.push(uid);
            }
            acked
        }));
    }
    let mut acked = BTreeSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    for i in 0..3 {
        let (s, v) = c
            .txn(i, json!([["r", "log", null], ["r", "a", null]]))
            .await;
        assert_eq!(s, 200);
        let log = ints(&v[0][2]);
        assert_eq!(log.len(), acked.len(), "duplicates or losses: {log:?}");
        assert_eq!(log.iter().copied().collect::<BTreeSet<_>>(), acked);
        assert_eq!(v[1][2], json!(acked.len()));
    }
}

/// A write acknowledged by one node is seen by a read started afterwards on any other node:
/// reads go through the log, never a local copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_read_after_acknowledged_write_sees_it_on_every_node() {
    let c = TestCluster::start("raft", 3, &[], |_| vec![]);
    c.wait_healthy().await;
    for round in 0..30u64 {
        let w = (round % 3) as usize;
        let (s, v) = c.txn(w, json!([["w", "x", round]])).await;
        assert_eq!(s, 200, "{v}");
        for r in 0..3 {
            assert_eq!(
                c.read(r, json!("x")).await,
                json!(round),
                "stale read on n{}",
                r + 1
            );
        }
    }
}

/// Load on every node; the leader is SIGKILLed in the middle. The survivors elect a new leader
/// and keep acknowledging, no acknowledged append is lost or doubled, and the restarted node
/// converges to the same list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_leader_killed_mid_load_loses_no_acknowledged_write() {
    let mut c = TestCluster::start("raft", 3, &[], |_| vec![]);
    c.wait_healthy().await;
    let leader = c.leader().await.expect("a leader");
    let addrs: Vec<String> = (0..3).map(|i| c.addr(i)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let acked_after_kill = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in 0..6u64 {
        let addr = addrs[(client % 3) as usize].clone();
        let (stop, killed, after) = (stop.clone(), killed.clone(), acked_after_kill.clone());
        let http = c.client.clone();
        tasks.push(tokio::spawn(async move {
            let (mut acked, mut unknown) = (Vec::new(), Vec::new());
            let mut j = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let uid = client * 100_000 + j;
                j += 1;
                let was_killed = killed.load(Ordering::Relaxed);
                let (s, v) =
                    common::txn(&http, &addr, &json!([["append", "k", uid]]).to_string()).await;
                if s == 200 {
                    acked.push(uid);
                    if was_killed {
                        after.fetch_add(1, Ordering::Relaxed);
                    }
                } else if !definite(s, &v) {
                    unknown.push(uid);
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            (acked, unknown)
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.kill(leader);
    killed.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(5000)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut unknown) = (BTreeSet::new(), BTreeSet::new());
    for t in tasks {
        let (a, u) = t.await.unwrap();
        acked.extend(a);
        unknown.extend(u);
    }
    assert!(
        acked_after_kill.load(Ordering::Relaxed) > 0,
        "the survivors stopped serving"
    );
    let survivor = (leader + 1) % 3;
    let list = ints(&c.read(survivor, json!("k")).await);
    let set: BTreeSet<u64> = list.iter().copied().collect();
    assert_eq!(set.len(), list.len(), "an append applied twice");
    let lost: Vec<&u64> = acked.difference(&set).collect();
    assert!(lost.is_empty(), "acknowledged appends lost: {lost:?}");
    let phantom: Vec<&u64> = set
        .difference(&acked)
        .filter(|u| !unknown.contains(u))
        .collect();
    assert!(
        phantom.is_empty(),
        "appends that failed definitely took effect: {phantom:?}"
    );
    c.spawn(leader);
    c.wait_healthy().await;
    let all = c.converged(json!("k"), Duration::from_secs(20)).await;
    assert_eq!(ints(&all).len(), list.len());
}

/// Every node SIGKILLed at once and restarted: the data is all there (fsync before ack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_whole_cluster_killed_and_restarted_keeps_acknowledged_writes() {
    let mut c = TestCluster::start("raft", 3, &[], |_| vec![]);
    c.wait_healthy().await;
    for j in 0..20u64 {
        let (s, v) = c
            .txn(
                (j % 3) as usize,
                json!([["append", "k", j], ["incr", "n", 1]]),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    for i in 0..3 {
        c.kill(i);
    }
    for i in 0..3 {
        c.spawn(i);
    }
    c.wait_healthy().await;
    let (s, v) = c.txn(2, json!([["r", "k", null], ["r", "n", null]])).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ints(&v[0][2]), (0..20).collect::<Vec<_>>());
    assert_eq!(v[1][2], json!(20));
}

/// A node cut off from the majority refuses or times out, never acknowledging; the majority
/// keeps serving; after the heal everyone agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_minority_cannot_acknowledge_and_the_cluster_converges_after_heal() {
    let c = TestCluster::start("raft", 3, &["--request-timeout-ms", "1000"], |_| vec![]);
    c.wait_healthy().await;
    let leader = c.leader().await.expect("a leader");
    let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);
    c.partition(&[&[leader], &[a, b]]).await;
    let mut majority_acked = 0;
    for j in 0..5u64 {
        let (s, v) = c.txn(leader, json!([["append", "k", 1000 + j]])).await;
        assert_ne!(s, 200, "the isolated old leader acknowledged: {v}");
        let (s, _) = c.txn(a, json!([["append", "k", j]])).await;
        if s == 200 {
            majority_acked += 1;
        }
    }
    assert!(majority_acked > 0, "the majority never served");
    c.heal().await;
    let v = c.converged(json!("k"), Duration::from_secs(20)).await;
    assert!(ints(&v).iter().filter(|x| **x < 1000).count() >= majority_acked);
}

/// With a snapshot every 40 entries, a node that was down while hundreds were committed can
/// only catch up by installing the leader's snapshot; and every node, restarted from its
/// snapshot plus the log after it, still has every acknowledged write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_lagging_node_catches_up_by_snapshot_and_restarts_keep_everything() {
    let mut c = TestCluster::start("raft", 3, &["--snapshot-logs", "40"], |_| vec![]);
    c.wait_healthy().await;
    let leader = c.leader().await.expect("a leader");
    let lagging = (leader + 1) % 3;
    c.kill(lagging);
    let live = (leader + 2) % 3;
    let mut acked = Vec::new();
    for j in 0..150u64 {
        let (s, v) = c
            .txn(
                if j % 2 == 0 { leader } else { live },
                json!([["append", "k", j]]),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        acked.push(j);
    }
    c.spawn(lagging);
    c.wait_healthy().await;
    let v = c.converged(json!("k"), Duration::from_secs(20)).await;
    assert_eq!(ints(&v), acked);
    // Reads go through the leader, so the lagging node's own progress shows in its status:
    // wait until it has applied everything, then check that it got there by a snapshot.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let st = c.status(lagging).await;
        if st["last_applied"].as_u64() >= Some(150) && st["snapshot"].is_u64() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "n{} never caught up: {st}",
            lagging + 1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(&c.nodes[lagging].log).unwrap_or_default();
    assert!(
        log.contains("installed snapshot from the leader"),
        "caught up without a snapshot"
    );
    for i in 0..3 {
        c.kill(i);
    }
    for i in 0..3 {
        c.spawn(i);
    }
    c.wait_healthy().await;
    assert_eq!(ints(&c.read(lagging, json!("k")).await), acked);
}
