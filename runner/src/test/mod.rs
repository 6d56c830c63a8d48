//! `schism test`: the harness. It resolves the flags into a [`config::TestConfig`], starts a
//! local cluster, drives logical client processes at it while the nemesis injects faults,
//! heals, reads the final state of every node, checks the history and writes the run
//! directory (Jepsen's `jepsen.core/run!`).
//!
//! - [`config`]: raw flags → validated, serializable configuration.
//! - [`generator`]: what each workload asks for; the rate limit.
//! - [`client`]: operations → requests → `ok`/`fail`/`info`.
//! - [`workload`]: the logical processes, and the final reads.
//! - [`cluster`]: the local cluster (namespaces as root, loopback otherwise), its node
//!   processes and the seeded fault schedule, all through the nemesis crate; [`db`]: mmkv's
//!   command line and health check.
//! - [`store`]: the run directory and the streamed history.
//! - [`checks`]: set-full, counter and convergence checkers; [`verdict`]: which checkers judge
//!   which workload, and `results.json`.
//! - [`progress`]: the line on stderr.
//!
//! The phases: main (load and faults, until the time limit) → heal every fault and wait for
//! every node to answer its health check (bounded) → final reads on every node, repeated
//! until they agree (bounded) → tear the cluster down → check. The nemesis heals at the end,
//! on error and on Ctrl-C/SIGTERM; an interrupted run is still checked, and its verdict is
//! `unknown` unless an anomaly was already found.
//!
//! **Invariant:** every operation is recorded (invocation before the request, completion
//! after) in one order whose times never decrease, and a process whose operation ended
//! `info` never invokes again.

pub mod checks;
pub mod client;
pub mod cluster;
pub mod config;
pub mod db;
pub mod generator;
pub mod progress;
pub mod store;
pub mod verdict;
pub mod workload;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use schism_histories::History;
use smol_str::SmolStr;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cli::TestArgs;
use crate::exit::Failure;
use config::{Env, TestConfig};
use store::{Recorder, RunDir};

/// Runs `schism test` and returns the exit code: 0 valid, 1 invalid, 2 unknown.
pub fn run(args: &TestArgs) -> Result<i32, Failure> {
    let cfg = config::resolve(args, &Env::current()).map_err(|e| Failure::usage(e.0))?;
    if !cfg.mmkv_bin.is_file() {
        return Err(Failure::usage(format!(
            "cannot find the mmkv binary at {}: build it (cargo build -p mmkv), or pass \
             --mmkv-bin or set SCHISM_MMKV_BIN",
            cfg.mmkv_bin.display()
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("failed to start the runtime: {e}")))?;
    runtime.block_on(run_test(cfg, args.json))
}

/// Turns true on Ctrl-C or SIGTERM.
fn watch_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        eprintln!("schism: interrupted; healing the cluster and stopping");
        let _ = tx.send(true);
    });
    rx
}

async fn run_test(cfg: TestConfig, json_summary: bool) -> Result<i32, Failure> {
    let run_started = std::time::Instant::now();
    let internal =
        |what: &str, e: &dyn std::fmt::Display| Failure::internal(format!("failed to {what}: {e}"));
    let run = RunDir::create(&cfg.store, &cfg.name, SystemTime::now())
        .map_err(|e| internal("create the run directory", &e))?;
    let test_json =
        serde_json::to_vec_pretty(&cfg).map_err(|e| internal("serialize test.json", &e))?;
    run.write_atomic("test.json", &test_json)
        .map_err(|e| internal("write test.json", &e))?;
    eprintln!(
        "schism: {} (seed {}), run directory {}",
        cfg.name,
        cfg.seed,
        run.path.display()
    );
    if cfg.network == config::Network::Loopback {
        eprintln!(
            "schism: nodes run on 127.0.0.x (loopback mode{}); partitions and packet loss are unsupported",
            if cfg.faults.is_empty() { "" } else { ", not root or --loopback" }
        );
    }
    let recorder = Arc::new(
        Recorder::create(&run.history_path(), true)
            .map_err(|e| internal("create history.jsonl", &e))?,
    );
    let interrupted = watch_signals();

    // The history reaches the disk at least every 100 ms.
    let (done_tx, done_rx) = watch::channel(false);
    let flusher = {
        let (recorder, mut done) = (recorder.clone(), done_rx.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tick.tick() => recorder.flush(),
                    _ = done.changed() => { recorder.flush(); return; }
                }
            }
        })
    };

    let outcome = drive(&cfg, &run, recorder.clone(), interrupted.clone()).await;
    let _ = done_tx.send(true);
    let _ = flusher.await;
    let ops = recorder.finish().map_err(Failure::internal)?;
    let outcome = outcome?;

    let history = History {
        source_name: run.history_path().display().to_string(),
        ops,
    };
    let paired = history
        .pair()
        .map_err(|e| Failure::internal(format!("the harness wrote an ill-formed history: {e}")))?;
    let interrupted = *interrupted.borrow();
    let results = tokio::task::spawn_blocking({
        let cfg = cfg.clone();
        move || verdict::check(&cfg, &paired, &outcome, interrupted)
    })
    .await
    .map_err(|e| internal("run the checkers", &e))?;
    let json = serde_json::to_vec_pretty(&results.to_json())
        .map_err(|e| internal("serialize results.json", &e))?;
    run.write_atomic("results.json", &json)
        .map_err(|e| internal("write results.json", &e))?;
    if let Some(junit) = &cfg.junit {
        let elapsed_s = run_started.elapsed().as_secs_f64();
        store::write_atomic(junit, results.junit_xml(elapsed_s).as_bytes())
            .map_err(|e| internal(&format!("write {}", junit.display()), &e))?;
    }
    // The report is rendered from the files just written, as `schism report RUN_DIR` would,
    // so that what a person opens is exactly what the run directory holds.
    let html = crate::report_cmd::render_run_dir(&run.path)?;
    run.write_atomic("report.html", html.as_bytes())
        .map_err(|e| internal("write report.html", &e))?;
    eprint!("{}", results.summary());
    if json_summary {
        let checkers: serde_json::Map<String, serde_json::Value> = results
            .checkers
            .iter()
            .map(|(name, c)| (name.clone(), c.validity.as_str().into()))
            .collect();
        let summary = serde_json::json!({
            "run_dir": run.path.display().to_string(),
            "test": results.test,
            "valid": results.validity.as_str(),
            "checkers": checkers,
        });
        println!("{summary}");
    } else {
        println!("{}", run.path.display());
    }
    Ok(results.validity.exit_code())
}

/// Rounds of final reads, a second apart, before nodes that still disagree are reported as
/// diverged.
const FINAL_READ_ROUNDS: usize = 15;

/// What the run learned besides the history.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Node → key → value of the final reads.
    pub final_reads: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<schism_histories::Value, schism_histories::Value>,
    >,
    /// Nodes that did not answer their health check after the heal.
    pub unrecovered: Vec<String>,
    /// Things a reader of the results should know (loopback mode, skipped phases).
    pub notes: Vec<String>,
    /// The PID each node started with.
    pub node_pids: std::collections::BTreeMap<String, u32>,
}

/// Starts the cluster, runs the phases, and always heals and tears the cluster down.
async fn drive(
    cfg: &TestConfig,
    run: &RunDir,
    recorder: Arc<Recorder>,
    interrupted: watch::Receiver<bool>,
) -> Result<RunOutcome, Failure> {
    let cluster = cluster::Cluster::start(cfg, run)
        .await
        .map_err(Failure::internal)?;
    let mut result = phases(cfg, &cluster, recorder.clone(), interrupted).await;
    // The phases heal on their way out; an error may have skipped that, so heal here too
    // before the nodes go (the teardown alone would leave no rule behind, but a person reading
    // the history should see the faults end).
    if result.is_err() {
        let _ = cluster.heal_all(&recorder).await;
    }
    let teardown = cluster.teardown().await;
    if let (Ok(outcome), Err(e)) = (result.as_mut(), teardown) {
        outcome.notes.push(e);
    }
    result
}

async fn phases(
    cfg: &TestConfig,
    cluster: &cluster::Cluster,
    recorder: Arc<Recorder>,
    interrupted: watch::Receiver<bool>,
) -> Result<RunOutcome, Failure> {
    let mut outcome = RunOutcome {
        node_pids: cluster.pids.clone(),
        ..RunOutcome::default()
    };
    if cfg.network == config::Network::Loopback {
        outcome.notes.push(
            "loopback mode: nodes on 127.0.0.x; partitions and packet loss unsupported".into(),
        );
    }
    for fault in &cfg.unsupported_faults {
        outcome.notes.push(format!(
            "fault {fault} is unsupported in loopback mode and was not injected"
        ));
    }
    let addrs = cluster.addrs.clone();
    let unhealthy = db::wait_healthy(&addrs, Duration::from_secs(30)).await;
    if !unhealthy.is_empty() {
        return Err(Failure::internal(format!(
            "nodes {} did not become healthy within 30 s (see their logs under nodes/)",
            unhealthy.join(", ")
        )));
    }
    let op_timeout = Duration::from_millis(cfg.op_timeout_ms);
    let client = Arc::new(
        client::MmkvClient::new(
            &addrs.iter().map(|(_, a)| a.clone()).collect::<Vec<_>>(),
            cfg.workload,
            op_timeout,
        )
        .map_err(|e| Failure::internal(format!("failed to build the HTTP client: {e}")))?,
    );
    let generator = Arc::new(generator::Generator::new(cfg.workload));
    let nodes: Vec<SmolStr> = cfg.nodes.iter().map(SmolStr::new).collect();
    let faults = progress::ActiveFaults::default();
    let (phase_tx, phase_rx) = watch::channel("load");
    let (progress_stop_tx, progress_stop_rx) = watch::channel(false);
    let progress = tokio::spawn(progress::report(
        recorder.clone(),
        faults.clone(),
        phase_rx,
        cfg.time_limit_s,
        progress_stop_rx,
    ));

    let deadline = Instant::now() + Duration::from_secs_f64(cfg.time_limit_s);
    let params = workload::LoadParams {
        concurrency: cfg.concurrency,
        nodes: nodes.clone(),
        seed: cfg.seed,
        rate_per_s: cfg.rate_per_s,
        deadline,
        op_deadline: op_timeout + Duration::from_millis(500),
    };
    let (next_process, nemesis_errors) = tokio::join!(
        workload::run_load(
            client.clone(),
            generator.clone(),
            recorder.clone(),
            params,
            interrupted.clone(),
        ),
        cluster::run_nemesis(
            cluster,
            cfg,
            &recorder,
            &faults,
            deadline,
            interrupted.clone()
        ),
    );
    outcome.notes.extend(
        nemesis_errors
            .into_iter()
            .map(|e| format!("fault failed: {e}")),
    );

    let _ = phase_tx.send("heal");
    let heal_errors = cluster.heal_all(&recorder).await;
    faults.clear_all();
    outcome
        .notes
        .extend(heal_errors.into_iter().map(|e| format!("heal failed: {e}")));
    let unrecovered =
        db::wait_healthy(&addrs, Duration::from_secs_f64(cfg.recovery_timeout_s)).await;
    if !unrecovered.is_empty() {
        outcome.notes.push(format!(
            "nodes {} did not recover within {} s of the heal",
            unrecovered.join(", "),
            cfg.recovery_timeout_s
        ));
    }
    outcome.unrecovered = unrecovered;

    if cfg.workload.has_final_reads() && !*interrupted.borrow() {
        let _ = phase_tx.send("final");
        outcome.final_reads = workload::final_reads(
            client.clone(),
            generator.clone(),
            recorder.clone(),
            &nodes,
            next_process,
            op_timeout + Duration::from_millis(500),
            10,
            FINAL_READ_ROUNDS,
            Duration::from_secs_f64(cfg.recovery_timeout_s),
        )
        .await;
    }
    let _ = progress_stop_tx.send(true);
    let _ = progress.await;
    Ok(outcome)
}
