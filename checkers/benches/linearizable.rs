//! Linearizability checker benchmarks. Each case runs in a fresh process (the benchmark
//! re-executes itself with `--case NAME`), so that the peak RSS it prints (`VmHWM`) is the
//! case's own.
//!
//! - `a`: one cas-register, 10,000 operations, 10 processes, 5% `info`, from a simulated
//!   linearizable register (seed 1).
//! - `b`: 1,000 keys × 100 operations, 50 processes, keyed register (seed 2).
//! - `corpus`: every file of Knossos's cas-register corpus, read and checked.
//!
//! Run with `cargo bench -p schism-checkers --bench linearizable`.

use std::path::Path;
use std::time::{Duration, Instant};

#[expect(
    dead_code,
    reason = "this bench times the check only; it reports no CPU time"
)]
mod support;

use schism_checkers::linearizable::sim::{simulate_register, SimOptions};
use schism_checkers::linearizable::{check, LinearOptions, Model};
use schism_histories::{read_path, Value};

const CASES: [&str; 3] = ["a", "b", "corpus"];

fn options(model: Model) -> LinearOptions {
    LinearOptions::new(model)
        .with_init(Value::Int(0))
        .with_time_limit(Duration::from_secs(60))
}

fn run_sim(name: &str, sim: SimOptions, model: Model) {
    let history = simulate_register(&sim)
        .pair()
        .expect("simulated history pairs");
    let start = Instant::now();
    let result = check(&history, &options(model));
    let elapsed = start.elapsed();
    println!(
        "case {name}: {} ops, {} keys, {}: {:.1} ms, {} configurations, peak RSS {} KiB",
        history.pairs().len(),
        result.key_count,
        result.validity,
        elapsed.as_secs_f64() * 1e3,
        result.configurations_explored,
        support::vm_hwm_kib()
    );
}

fn run_corpus() {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/knossos/cas-register");
    let mut files = Vec::new();
    for sub in ["good", "bad"] {
        if let Ok(dir) = std::fs::read_dir(root.join(sub)) {
            files.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()));
        }
    }
    files.sort();
    let histories: Vec<_> = files
        .iter()
        .map(|f| {
            read_path(f)
                .expect("corpus file reads")
                .pair()
                .expect("corpus file pairs")
        })
        .collect();
    let ops: usize = histories.iter().map(|h| h.pairs().len()).sum();
    let start = Instant::now();
    let mut slowest = (Duration::ZERO, String::new());
    let mut configurations = 0;
    for (h, f) in histories.iter().zip(&files) {
        let t = Instant::now();
        let result = check(h, &options(Model::CasRegister));
        configurations += result.configurations_explored;
        if t.elapsed() > slowest.0 {
            slowest = (
                t.elapsed(),
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
            );
        }
    }
    let elapsed = start.elapsed();
    println!(
        "case corpus: {} files, {ops} ops: {:.1} ms total (slowest {} at {:.1} ms), {configurations} configurations, peak RSS {} KiB",
        files.len(),
        elapsed.as_secs_f64() * 1e3,
        slowest.1,
        slowest.0.as_secs_f64() * 1e3,
        support::vm_hwm_kib()
    );
}

fn run_case(name: &str) {
    match name {
        "a" => run_sim(
            "a",
            SimOptions {
                seed: 1,
                processes: 10,
                operations: 10_000,
                info_percent: 5,
                cas: true,
                values: 5,
                keys: None,
            },
            Model::CasRegister,
        ),
        "b" => run_sim(
            "b",
            SimOptions {
                seed: 2,
                processes: 50,
                operations: 100_000,
                info_percent: 5,
                cas: false,
                values: 5,
                keys: Some(1_000),
            },
            Model::Register,
        ),
        "corpus" => run_corpus(),
        other => eprintln!("unknown case {other}; cases: {CASES:?}"),
    }
}

fn main() {
    match support::case_arg() {
        Some(name) => run_case(&name),
        None => support::run_each_in_fresh_process(&CASES),
    }
}
