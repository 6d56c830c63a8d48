//! A local mmkv cluster for tests: one `mmkv` process per node on 127.0.0.1, each with its own
//! data directory, killed by PID when the cluster is dropped (even when a test fails).
#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

pub struct TestNode {
    pub id: String,
    pub addr: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub env: Vec<(String, String)>,
    pub child: Option<Child>,
}

pub struct TestCluster {
    pub replication: String,
    pub nodes: Vec<TestNode>,
    pub extra_args: Vec<String>,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl TestCluster {
    /// Starts `n` nodes; `env(i)` gives node i's extra environment.
    pub fn start(
        replication: &str,
        n: usize,
        extra_args: &[&str],
        env: impl Fn(usize) -> Vec<(String, String)>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let nodes = (0..n)
            .map(|i| {
                let id = format!("n{}", i + 1);
                TestNode {
                    addr: format!("127.0.0.1:{}", free_port()),
                    data_dir: dir.path().join(&id),
                    log: dir.path().join(format!("{id}.log")),
                    env: env(i),
                    id,
                    child: None,
                }
            })
            .collect();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let mut c = TestCluster {
            replication: replication.to_string(),
            nodes,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            dir,
            client,
        };
        for i in 0..n {
            c.spawn(i);
        }
        c
    }

    pub fn spawn(&mut self, i: usize) {
        let peers: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| format!("{}={}", n.id, n.addr))
            .collect();
        let node = &self.nodes[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmkv"));
        cmd.args([
            "--id",
            &node.id,
            "--listen",
            &node.addr,
            "--peers",
            &peers.join(","),
        ])
        .args(["--replication", &self.replication])
        .arg("--data-dir")
        .arg(&node.data_dir)
        .args(&self.extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
        for (k, v) in &node.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn mmkv");
        self.nodes[i].child = Some(child);
    }

    /// SIGKILL node i and reap it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].child.as_ref().map(|c| c.id())
    }

    pub fn addr(&self, i: usize) -> String {
        self.nodes[i].addr.clone()
    }

    pub async fn healthy(&self, i: usize) -> bool {
        let url = format!("http://{}/health", self.nodes[i].addr);
        matches!(self.client.get(url).send().await, Ok(r) if r.status().is_success())
    }

    /// Waits until every running node answers /health with 200.
    pub async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0..self.nodes.len() {
            if self.nodes[i].child.is_none() {
                continue;
            }
            while !self.healthy(i).await {
                assert!(
                    Instant::now() < deadline,
                    "node {} never became healthy\n{}",
                    self.nodes[i].id,
                    self.logs()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Posts a transaction to node i: (status, body). Status 0 means no answer at all.
    pub async fn txn(&self, i: usize, ops: Value) -> (u16, Value) {
        txn(&self.client, &self.nodes[i].addr, &ops.to_string()).await
    }

    pub async fn raw_txn(&self, i: usize, body: &str) -> (u16, Value) {
        txn(&self.client, &self.nodes[i].addr, body).await
    }

    /// Reads a key on node i (panics unless the read succeeds).
    pub async fn read(&self, i: usize, key: Value) -> Value {
        let (s, v) = self.txn(i, json!([["r", key, null]])).await;
        assert_eq!(s, 200, "read on {} failed: {v}", self.nodes[i].id);
        v[0][2].clone()
    }

    pub async fn status(&self, i: usize) -> Value {
        let url = format!("http://{}/status", self.nodes[i].addr);
        match self.client.get(url).send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    /// Blocks traffic between node i and the given nodes (by index), in node i only.
    pub async fn block(&self, i: usize, others: &[usize]) {
        let ids: BTreeSet<&str> = others.iter().map(|j| self.nodes[*j].id.as_str()).collect();
        let url = format!("http://{}/admin/block", self.nodes[i].addr);
        let r = self
            .client
            .post(url)
            .json(&ids)
            .send()
            .await
            .expect("block");
        assert!(r.status().is_success());
    }

    /// Cuts the cluster into the given groups (both directions), or heals with one group.
    pub async fn partition(&self, groups: &[&[usize]]) {
        for g in groups {
            for &i in g.iter() {
                let others: Vec<usize> = (0..self.nodes.len()).filter(|j| !g.contains(j)).collect();
                self.block(i, &others).await;
            }
        }
    }

    pub async fn heal(&self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].child.is_some() {
                self.block(i, &[]).await;
            }
        }
    }

    /// Waits until `key` reads the same on every running node, and returns that value.
    pub async fn converged(&self, key: Value, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let mut vals = Vec::new();
            for i in 0..self.nodes.len() {
                if self.nodes[i].child.is_some() {
                    vals.push(self.read(i, key.clone()).await);
                }
            }
            if vals.windows(2).all(|w| w[0] == w[1]) {
                return vals.pop().unwrap_or(Value::Null);
            }
            assert!(
                Instant::now() < deadline,
                "key {key} did not converge: {vals:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `key` reads `want` on node i.
    pub async fn converged_on(&self, i: usize, key: Value, want: Value) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.read(i, key.clone()).await;
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "n{} reads {key} = {got}, never {want}\n{}",
                i + 1,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The index of the Raft leader, as node 0..n see it.
    pub async fn leader(&self) -> Option<usize> {
        for i in 0..self.nodes.len() {
            if self.nodes[i].child.is_none() {
                continue;
            }
            let st = self.status(i).await;
            if let Some(l) = st["leader"].as_str() {
                return self.nodes.iter().position(|n| n.id == l);
            }
        }
        None
    }

    /// The tail of every node's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            let text = std::fs::read_to_string(&n.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            out.push_str(&format!("--- {} ---\n{}\n", n.id, tail.join("\n")));
        }
        out
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        for i in 0..self.nodes.len() {
            let pid = self.pid(i);
            self.kill(i);
            if let Some(pid) = pid {
                // libfaketime leaves shared-memory files named after the process.
                for entry in std::fs::read_dir("/dev/shm")
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let name = entry.file_name().to_string_lossy().to_string();
                    if name.contains("faketime_") && name.ends_with(&format!("_{pid}")) {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
        }
    }
}

pub async fn txn(client: &reqwest::Client, addr: &str, body: &str) -> (u16, Value) {
    let r = client
        .post(format!("http://{addr}/txn"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    match r {
        Ok(r) => {
            let s = r.status().as_u16();
            (s, r.json().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, json!({"error": e.to_string()})),
    }
}

/// Whether a failed answer says the operation certainly did not happen.
pub fn definite(status: u16, body: &Value) -> bool {
    status != 0 && body["definite"] == json!(true)
}
