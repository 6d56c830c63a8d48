//! Benchmark of the causal checker on generated list-append histories (issue #3 item 6).
//!
//! `cargo bench -p schism-checkers --bench causal [-- FILTER]` runs every case whose name
//! contains FILTER, each in a fresh process (this binary re-executed with `--case NAME`), so
//! that each peak RSS (`VmHWM`) is its own. Each case prints one line: the time to generate
//! the history, the time to check it, and the peak RSS after generating and after checking
//! (the difference is roughly what the checker needs on top of the history). `cpu s` is the
//! checker's user and system time; `check s` is wall time, which on a shared machine can be
//! much longer.
//!
//! The histories come from [`schism_checkers::causal::sim`]: 5 replicas applying updates in
//! causal order, 20 (100k) or 50 (1M) clients, 1–8 micro-ops per transaction (half reads,
//! half appends), 300 keys in use at once, each retired after 32 appends (as Jepsen's
//! list-append generator does), 1 crash (`info`, fresh process) and 5 failures per thousand
//! operations. The `-anomaly` cases insert one read of the empty list, mid-history, by a
//! process whose previous transaction saw the key non-empty.
//!
//! Measured 2026-11-27 on a 2-core machine shared with other builds (release profile):
//!
//! ```text
//! case                    txns  sess chains     gen s   check s     cpu s    gen MiB   peak MiB  verdict
//! list-100k-causal       99484   121     34      2.57      3.47      0.84        320        392  valid
//! list-100k-anomaly      99485   121     34      1.92      3.43      0.79        320        392  invalid write-co-init-read=1
//! list-1m-causal        994980   994    188     17.07     37.66     13.62       3204       4535  valid
//! list-1m-anomaly       994981   994    188     17.51     35.65     13.17       3205       4536  invalid write-co-init-read=1
//! ```

use std::time::{Duration, Instant};

mod support;

use schism_checkers::causal::sim::{inject_initial_read, simulate, Delivery, SimOptions, Workload};
use schism_checkers::causal::{check, CausalOptions};

const CASES: &[&str] = &[
    "list-100k-causal",
    "list-100k-anomaly",
    "list-1m-causal",
    "list-1m-anomaly",
];

fn main() {
    if let Some(name) = support::case_arg() {
        run_case(&name);
        return;
    }
    println!(
        "{:<18} {:>9} {:>5} {:>6} {:>9} {:>9} {:>9} {:>10} {:>10}  verdict",
        "case", "txns", "sess", "chains", "gen s", "check s", "cpu s", "gen MiB", "peak MiB"
    );
    support::run_each_in_fresh_process(CASES);
}

fn run_case(name: &str) {
    let (transactions, processes) = if name.contains("-1m-") {
        (1_000_000, 50)
    } else {
        (100_000, 20)
    };
    let options = SimOptions {
        seed: 7,
        workload: Workload::ListAppend,
        delivery: Delivery::Causal,
        processes,
        replicas: 5,
        transactions,
        min_ops: 1,
        max_ops: 8,
        keys: 300,
        max_writes_per_key: 32,
        crash_per_mille: 1,
        fail_per_mille: 5,
    };
    let started = Instant::now();
    let mut history = simulate(&options);
    if name.ends_with("-anomaly") {
        let middle = history.ops.len() / 2;
        if !inject_initial_read(&mut history, middle) {
            eprintln!("{name}: nothing to inject");
        }
    }
    let paired = match history.pair() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{name}: {e}");
            return;
        }
    };
    let generated = started.elapsed();
    let generated_hwm = support::vm_hwm_kib() as f64 / 1024.0;
    let started = Instant::now();
    let cpu_before = support::cpu_seconds();
    let result = check(
        &paired,
        &CausalOptions {
            time_limit: Duration::from_secs(600),
            ..CausalOptions::default()
        },
    );
    let checked = started.elapsed();
    let checked_cpu = support::cpu_seconds() - cpu_before;
    let counts: Vec<String> = result
        .stats
        .anomaly_counts
        .iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    println!(
        "{:<18} {:>9} {:>5} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>10.0} {:>10.0}  {} {}",
        name,
        result.stats.transactions,
        result.stats.sessions,
        result.stats.chains,
        generated.as_secs_f64(),
        checked.as_secs_f64(),
        checked_cpu,
        generated_hwm,
        (support::vm_hwm_kib() as f64 / 1024.0),
        result.validity,
        counts.join(" ")
    );
}
