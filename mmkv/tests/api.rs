//! The HTTP API is the same on every strategy: malformed requests get 400 with a message that
//! names the micro-op, and never bring a node down.

mod common;

use common::{definite, TestCluster};
use serde_json::json;

async fn bad_requests_get_400(replication: &str) {
    let c = TestCluster::start(replication, 1, &[], |_| vec![]);
    c.wait_healthy().await;
    let (s, v) = c.txn(0, json!([["w", 1, [1]], ["incr", "c", 1]])).await;
    assert_eq!(s, 200, "{v}");
    let cases = [
        ("[[", "malformed JSON"),
        ("{\"a\":1}", "expected a JSON array"),
        (
            "[[\"r\",1,null],[\"frob\",1,2]]",
            "micro-op 1: unknown micro-op",
        ),
        (
            "[[\"incr\",\"c\",\"x\"]]",
            "micro-op 0: incr: expected an integer",
        ),
        (
            "[[\"incr\",\"c\",1.5]]",
            "micro-op 0: incr: expected an integer",
        ),
        (
            "[[\"r\",{\"k\":1},null]]",
            "key must be a string or an integer",
        ),
        ("[[\"r\",1]]", "expected 3 elements"),
        (
            "[[\"r\",1,null],[\"incr\",1,1]]",
            "micro-op 1: incr on key 1: key holds a",
        ),
        (
            "[[\"r\",1,null],[\"add\",\"c\",1]]",
            "micro-op 1: add on key \"c\": key holds a",
        ),
        (
            "[[\"append\",\"c\",1]]",
            "micro-op 0: append on key \"c\": key holds a",
        ),
    ];
    for (body, want) in cases {
        let (s, v) = c.raw_txn(0, body).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert!(definite(s, &v), "{body}: {v}");
        let msg = v["error"].as_str().unwrap_or("");
        assert!(msg.contains(want), "{body}: {msg:?} lacks {want:?}");
    }
    // The server answers 413 without reading the body and closes the connection: use a
    // client of its own so that the shared pool keeps healthy connections.
    let lone = reqwest::Client::builder().no_proxy().build().unwrap();
    let big = format!("[[\"w\",1,\"{}\"]]", "x".repeat(2 << 20));
    let (s, v) = common::txn(&lone, &c.addr(0), &big).await;
    assert_eq!(s, 413, "oversized body: {v}");
    // Nothing of a refused transaction took effect, and the node still serves.
    let (s, v) = c.txn(0, json!([["r", 1, null], ["r", "c", null]])).await;
    assert_eq!((s, v), (200, json!([["r", 1, [1]], ["r", "c", 1]])));
    assert!(c.healthy(0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_bad_requests_get_400() {
    bad_requests_get_400("raft").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lww_bad_requests_get_400() {
    bad_requests_get_400("lww").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crdt_bad_requests_get_400() {
    bad_requests_get_400("crdt").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crdt_refuses_cas() {
    let c = TestCluster::start("crdt", 1, &[], |_| vec![]);
    c.wait_healthy().await;
    let (s, v) = c.txn(0, json!([["w", 1, 2], ["cas", 1, [2, 3]]])).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["error"],
        json!("micro-op 1: cas is not supported by crdt")
    );
    assert_eq!(c.read(0, json!(1)).await, json!(null));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_health_report_the_node() {
    for replication in ["raft", "lww", "crdt"] {
        let c = TestCluster::start(replication, 3, &[], |_| vec![]);
        c.wait_healthy().await;
        let (s, _) = c.txn(0, json!([["w", 1, 1]])).await;
        assert_eq!(s, 200);
        let st = c.status(0).await;
        assert_eq!(st["id"], json!("n1"), "{st}");
        assert_eq!(st["replication"], json!(replication), "{st}");
        assert!(st["peers"]["n2"].is_object(), "{st}");
        if replication == "raft" {
            assert!(st["leader"].is_string() && st["term"].is_u64(), "{st}");
        } else {
            assert!(
                st["pending"]["n2"].is_number() || st["pending"]["n2"].is_object(),
                "{st}"
            );
        }
    }
}
