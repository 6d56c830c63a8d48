//! Helpers shared by the runner's integration tests: temporary stores and a `schism serve`
//! server on a loopback port.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh directory under the system's temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("schism-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir.canonicalize().expect("canonical temp dir"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `schism serve` running on 127.0.0.1 on a port of the system's choosing; stopped on drop.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(store: &Path) -> Server {
        let store = store.to_path_buf();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                schism::serve::serve(listener, &store, async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server address");
        Server {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// A raw HTTP/1.1 GET of `path` exactly as given (no normalization): status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .expect("request");
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An invalid register history in JSON Lines: a stale read during a partition and a G-single
/// cycle between two transactions, with results as the checkers write them.
pub const HISTORY: &str = r#"{"index":0,"time":0,"type":"invoke","process":0,"f":"write","value":1}
{"index":1,"time":2000000,"type":"invoke","process":1,"f":"read","value":null}
{"index":2,"time":5000000,"type":"ok","process":0,"f":"write","value":1}
{"index":3,"time":6000000,"type":"ok","process":1,"f":"read","value":1}
{"index":4,"time":7000000,"type":"invoke","process":"nemesis","f":"start-partition","value":"majority"}
{"index":5,"time":8000000,"type":"info","process":"nemesis","f":"start-partition","value":{"n1":["n3","n4"]}}
{"index":6,"time":10000000,"type":"invoke","process":0,"f":"write","value":2}
{"index":7,"time":14000000,"type":"ok","process":0,"f":"write","value":2}
{"index":8,"time":16000000,"type":"invoke","process":2,"f":"read","value":null}
{"index":9,"time":19000000,"type":"ok","process":2,"f":"read","value":1}
{"index":10,"time":20000000,"type":"invoke","process":1,"f":"txn","value":[["append",5,3],["r",6,null]]}
{"index":11,"time":21000000,"type":"invoke","process":0,"f":"txn","value":[["append",6,4],["r",5,null]]}
{"index":12,"time":24000000,"type":"ok","process":1,"f":"txn","value":[["append",5,3],["r",6,[]]]}
{"index":13,"time":25000000,"type":"ok","process":0,"f":"txn","value":[["append",6,4],["r",5,[]]]}
{"index":14,"time":26000000,"type":"invoke","process":"nemesis","f":"stop-partition","value":null}
{"index":15,"time":27000000,"type":"info","process":"nemesis","f":"stop-partition","value":"healed"}
{"index":16,"time":28000000,"type":"invoke","process":2,"f":"write","value":"<script>alert(1)</script>"}
{"index":17,"time":29000000,"type":"fail","process":2,"f":"write","value":"<script>alert(1)</script>","error":"</script>\"'&"}
{"index":18,"time":30000000,"type":"invoke","process":3,"f":"read","value":null}
{"index":19,"time":33000000,"type":"info","process":3,"f":"read","value":null}
"#;

/// As the harness writes it: each checker's verdict, its own JSON under `explanation`.
pub const RESULTS: &str = r#"{"version":1,"validity":"invalid","checkers":{
 "causal":{"validity":"invalid","explanation":{"validity":"invalid","unknown_reason":null,"anomalies":{"write-co-read":[{"kind":"write-co-read",
   "explanation":"T5 wrote <script>alert(1)</script> and T2 read 1 after it in session order",
   "txns":[{"txn":5,"index":17,"process":2},{"txn":2,"index":9,"process":2}],
   "path":[{"from":2,"to":5,"relation":"so","reason":"process 2 ran T2, then T5"}]}]}}},
 "linearizable":{"validity":"invalid","explanation":{"validity":"invalid","model":"register","keyed":false,"key":null,
   "witness":{"op":{"index":8,"process":2,"f":"read","value":1,"type":"ok","line":9},"prefix":[0,1,6],"states":[2],"concurrent":[]}}},
 "elle":{"validity":"invalid","explanation":{"valid":"invalid","not":["serializable","snapshot-isolation"],"also_not":["strict-serializable"],
   "anomalies":{"G-single":[{"type":"G-single",
   "txns":[{"name":"T1","index":12,"process":1,"type":"ok","value":[]},{"name":"T2","index":13,"process":0,"type":"ok","value":[]}],
   "cycle":[
   {"from":"T1","to":"T2","type":"rw","explanation":"T1 read key 6 = [], which did not include T2's append of 4"},
   {"from":"T2","to":"T1","type":"rw","explanation":"T2 read key 5 = [], which did not include T1's append of 3"}],
   "explanation":"T1 and T2 each read a version the other overwrote"}]}}}}}"#;

pub const TEST: &str = r#"{"name":"register-partition","seed":42,"nodes":["n1","n2","n3"],"db":"mmkv","versions":{"schism":"0.1.0"}}"#;

/// Writes a run directory `store/<test>/<start>/` with the history, results and config above.
pub fn write_run(store: &Path, test: &str, start: &str) -> PathBuf {
    let dir = store.join(test).join(start);
    std::fs::create_dir_all(&dir).expect("run dir");
    std::fs::write(dir.join("history.jsonl"), HISTORY).expect("history");
    std::fs::write(dir.join("results.json"), RESULTS).expect("results");
    std::fs::write(dir.join("test.json"), TEST).expect("test");
    dir
}
