//! Harness throughput: operations per second through the generator, the logical processes'
//! bookkeeping and the history writer (streaming JSON Lines to a file), with a client that
//! does no I/O, 100 processes and no rate limit. Jepsen's generator is quoted at ~20k ops/s.
//!
//! Run: `cargo bench -p schism --bench harness` (optionally `-- SECONDS`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use schism::test::client::NullClient;
use schism::test::config::Workload;
use schism::test::generator::Generator;
use schism::test::store::Recorder;
use schism::test::workload::{run_load, LoadParams};
use tokio::sync::watch;

fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5.0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = std::env::temp_dir().join(format!("schism-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    println!(
        "harness throughput: 100 processes, no rate limit, null client, {seconds} s per workload, {} worker threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for workload in [Workload::Register, Workload::ListAppend, Workload::Set] {
        let path = dir.join(format!("{}.jsonl", workload.as_str()));
        let recorder = Arc::new(Recorder::create(&path, false).expect("a history file"));
        let (stop_tx, stop) = watch::channel(false);
        let started = Instant::now();
        runtime.block_on(async {
            let flusher = {
                let recorder = recorder.clone();
                let mut stop = stop.clone();
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_millis(100));
                    loop {
                        tokio::select! {
                            _ = tick.tick() => recorder.flush(),
                            _ = stop.changed() => return,
                        }
                    }
                })
            };
            let params = LoadParams {
                concurrency: 100,
                nodes: (1..=5).map(|i| format!("n{i}").into()).collect(),
                seed: 1,
                rate_per_s: 0.0,
                deadline: tokio::time::Instant::now() + Duration::from_secs_f64(seconds),
                op_deadline: Duration::from_secs(1),
            };
            run_load(
                Arc::new(NullClient),
                Arc::new(Generator::new(workload)),
                recorder.clone(),
                params,
                stop.clone(),
            )
            .await;
            let _ = stop_tx.send(true);
            let _ = flusher.await;
        });
        let elapsed = started.elapsed().as_secs_f64();
        recorder.finish().expect("the history was written");
        let ops = recorder.counts().ok;
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        println!(
            "  {:<12} {:>10} ops in {elapsed:.2} s = {:>9.0} ops/s ({} history lines, {:.1} MB written)",
            workload.as_str(),
            ops,
            ops as f64 / elapsed,
            recorder.len(),
            bytes as f64 / 1e6
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
