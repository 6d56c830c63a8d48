//! Throughput and latency of a three-node mmkv cluster per replication strategy on loopback,
//! with etcd (if installed) as the reference for Raft.
//!
//! `cargo bench -p mmkv --bench throughput` (release build). `MMKV_BENCH_SECS` sets the length
//! of each run (default 5 s). For every strategy, 10 and 50 concurrent clients spread over the
//! three nodes run single-key writes, then 4-op transactions (a read, a write, an append and an
//! increment on separate key spaces, so that CRDT key types never clash).
//! `MMKV_BENCH_ONLY=raft,etcd` runs only the named systems.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestCluster;
use serde_json::json;

const KEYS: u64 = 1000;

#[derive(Clone, Copy)]
enum Workload {
    Write,
    Txn4,
}

struct Figures {
    ok: usize,
    errors: usize,
    secs: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn body(w: Workload, client: u64, j: u64) -> String {
    let k = (client * 7919 + j * 104_729) % KEYS;
    let v = client * 1_000_000 + j;
    match w {
        Workload::Write => json!([["w", k, v]]).to_string(),
        Workload::Txn4 => json!([
            ["r", format!("w{}", (k + 1) % KEYS), null],
            ["w", format!("w{k}"), v],
            ["append", format!("l{}", k % 100), v],
            ["incr", format!("c{}", k % 10), 1]
        ])
        .to_string(),
    }
}

/// Runs `clients` closed-loop clients for `secs`; `send` makes one request to a node index.
async fn run<F, Fut>(clients: u64, nodes: usize, secs: f64, send: F) -> Figures
where
    F: Fn(usize, u64, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for client in 0..clients {
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat_us, mut errors) = (Vec::new(), 0usize);
            let mut j = 0;
            while Instant::now() < end {
                let t = Instant::now();
                if send((client as usize) % nodes, client, j).await {
                    lat_us.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
                j += 1;
            }
            (lat_us, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((l, e)) = t.await {
            lat.extend(l);
            errors += e;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Figures {
        ok: lat.len(),
        errors,
        secs,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}

fn print(system: &str, workload: &str, clients: u64, f: &Figures) {
    println!(
        "| {system:<10} | {workload:<12} | {clients:>7} | {:>9.0} | {:>8.2} | {:>8.2} | {:>6} |",
        f.ok as f64 / f.secs,
        f.p50_ms,
        f.p99_ms,
        f.errors
    );
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

struct Etcd {
    children: Vec<Child>,
    clients: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn start_etcd() -> Option<Etcd> {
    let bin = ["/usr/bin/etcd", "/usr/local/bin/etcd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())?;
    let dir = tempfile::tempdir().ok()?;
    let peers: Vec<u16> = (0..3).map(|_| port()).collect();
    let clients: Vec<u16> = (0..3).map(|_| port()).collect();
    let cluster: Vec<String> = (0..3)
        .map(|i| format!("e{i}=http://127.0.0.1:{}", peers[i]))
        .collect();
    let mut etcd = Etcd {
        children: Vec::new(),
        clients: Vec::new(),
        _dir: dir,
    };
    for i in 0..3 {
        let log = std::fs::File::create(etcd._dir.path().join(format!("e{i}.log"))).ok()?;
        let child = Command::new(bin)
            .args(["--name", &format!("e{i}")])
            .arg("--data-dir")
            .arg(etcd._dir.path().join(format!("e{i}")))
            .args([
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{}", peers[i]),
            ])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{}", peers[i]),
            ])
            .args([
                "--listen-client-urls",
                &format!("http://127.0.0.1:{}", clients[i]),
            ])
            .args([
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{}", clients[i]),
            ])
            .args(["--initial-cluster", &cluster.join(",")])
            .args([
                "--initial-cluster-state",
                "new",
                "--initial-cluster-token",
                "mmkv-bench",
                "--pre-vote",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .ok()?;
        etcd.children.push(child);
        etcd.clients.push(format!("127.0.0.1:{}", clients[i]));
    }
    Some(etcd)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a minute of load has no place in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("throughput: skipped (run it with `cargo bench -p mmkv --bench throughput`)");
        return;
    }
    let secs: f64 = std::env::var("MMKV_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(128)
        .build()
        .expect("client");
    println!("| system     | workload     | clients |    ops/s  |  p50 ms  |  p99 ms  | errors |");
    println!("|------------|--------------|---------|-----------|----------|----------|--------|");
    let only = std::env::var("MMKV_BENCH_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|o| o == name);
    for replication in ["raft", "lww", "crdt"] {
        if !wanted(replication) {
            continue;
        }
        let c = TestCluster::start(replication, 3, &[], |_| vec![]);
        c.wait_healthy().await;
        let addrs: Vec<String> = (0..3).map(|i| c.addr(i)).collect();
        for (wname, w) in [("write", Workload::Write), ("txn-4op", Workload::Txn4)] {
            for clients in [10u64, 50] {
                let (http, addrs) = (http.clone(), addrs.clone());
                let f = run(clients, 3, secs, move |node, client, j| {
                    let (http, addr) = (http.clone(), addrs[node].clone());
                    async move { common::txn(&http, &addr, &body(w, client, j)).await.0 == 200 }
                })
                .await;
                print(replication, wname, clients, &f);
                if replication == "raft" {
                    let st = c.status(0).await;
                    eprintln!(
                        "raft after run: term {} leader {}",
                        st["term"], st["leader"]
                    );
                }
            }
        }
    }
    if !wanted("etcd") {
        return;
    }
    match start_etcd() {
        None => println!("(etcd not installed: apt-get install -y etcd-server)"),
        Some(etcd) => {
            let deadline = Instant::now() + Duration::from_secs(30);
            for addr in &etcd.clients {
                loop {
                    let ok = matches!(http.get(format!("http://{addr}/health")).send().await, Ok(r) if r.status().is_success());
                    if ok || Instant::now() > deadline {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            for clients in [10u64, 50] {
                let (http, addrs) = (http.clone(), etcd.clients.clone());
                let f = run(clients, 3, secs, move |node, client, j| {
                    let (http, addr) = (http.clone(), addrs[node].clone());
                    let k = (client * 7919 + j * 104_729) % KEYS;
                    let req = json!({"key": b64(k.to_string().as_bytes()), "value": b64((client * 1_000_000 + j).to_string().as_bytes())});
                    async move {
                        matches!(http.post(format!("http://{addr}/v3/kv/put")).json(&req).send().await, Ok(r) if r.status().is_success())
                    }
                })
                .await;
                print("etcd 3.4", "write (put)", clients, &f);
            }
        }
    }
}
