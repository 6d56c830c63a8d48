//! The database under test: how an mmkv node is started (its command line), and how the
//! harness knows it is ready (`GET /health` answers 200), and which node leads (`GET /status`).
//!
//! mmkv is a subject like any other: the harness runs its binary and talks to it over HTTP,
//! never links it.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;

use crate::test::config::TestConfig;

/// The arguments of node `i`'s `mmkv` command line.
///
/// `addrs` holds every node's (name, `IP:PORT`), in order.
pub fn mmkv_args(
    cfg: &TestConfig,
    i: usize,
    addrs: &[(String, String)],
    data_dir: &Path,
) -> Vec<String> {
    let peers: Vec<String> = addrs
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(_, (name, addr))| format!("{name}={addr}"))
        .collect();
    let (name, addr) = addrs.get(i).cloned().unwrap_or_default();
    let mut args = vec!["--id".to_string(), name, "--listen".to_string(), addr];
    if !peers.is_empty() {
        args.push("--peers".to_string());
        args.push(peers.join(","));
    }
    args.extend([
        "--replication".to_string(),
        cfg.replication.as_str().to_string(),
        "--data-dir".to_string(),
        data_dir.display().to_string(),
    ]);
    args
}

/// Asks each node's `/health` until every one answers 200 or `timeout` passes; returns the
/// nodes that never did.
pub async fn wait_healthy(addrs: &[(String, String)], timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
    else {
        return addrs.iter().map(|(n, _)| n.clone()).collect();
    };
    let mut waiting: Vec<&(String, String)> = addrs.iter().collect();
    while !waiting.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for node in waiting {
            let url = format!("http://{}/health", node.1);
            let healthy = matches!(http.get(&url).send().await, Ok(r) if r.status().is_success());
            if !healthy {
                still.push(node);
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    waiting.into_iter().map(|(n, _)| n.clone()).collect()
}

/// The node every answering node names as the Raft leader in its `GET /status`, if they agree
/// on one (mmkv `raft` only; the others have no leader). Bounded: one 500 ms request per node.
pub async fn leader(addrs: &[(String, String)]) -> Option<String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .ok()?;
    let mut named: BTreeSet<String> = BTreeSet::new();
    for (_, addr) in addrs {
        let url = format!("http://{addr}/status");
        let Ok(reply) = http.get(&url).send().await else {
            continue;
        };
        let Ok(status) = reply.json::<serde_json::Value>().await else {
            continue;
        };
        if let Some(leader) = status.get("leader").and_then(|l| l.as_str()) {
            named.insert(leader.to_string());
        }
    }
    let known = addrs.iter().any(|(n, _)| named.contains(n));
    match (named.len(), known) {
        (1, true) => named.into_iter().next(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::test::config::{resolve, Env};

    #[test]
    fn nodes_know_their_peers() {
        let Command::Test(args) = Cli::try_parse_from([
            "schism",
            "test",
            "--nodes",
            "3",
            "--replication",
            "lww",
            "--cluster",
            "2",
        ])
        .unwrap()
        .command
        else {
            panic!("not a test command");
        };
        let env = Env {
            is_root: false,
            mmkv_bin_var: None,
            exe_dir: None,
            random_seed: 1,
        };
        let mut args = args;
        args.mmkv_bin = Some("mmkv".into());
        let cfg = resolve(&args, &env).unwrap();
        let addrs: Vec<(String, String)> = (0..3)
            .map(|i| {
                (
                    format!("n{}", i + 1),
                    format!("127.0.0.{}:{}", 11 + i, cfg.node_port(i)),
                )
            })
            .collect();
        assert_eq!(
            mmkv_args(&cfg, 1, &addrs, Path::new("/d")).join(" "),
            "--id n2 --listen 127.0.0.12:20201 --peers n1=127.0.0.11:20200,n3=127.0.0.13:20202 \
             --replication lww --data-dir /d"
        );
    }
}
