//! Benchmark of the Elle-style checker on generated list-append histories.
//!
//! `cargo bench -p schism-checkers --bench elle` runs every case, each in a fresh process (this
//! binary re-executed with `--case NAME`), so that each case's peak RSS (`VmHWM`) is its own.
//! `cargo bench -p schism-checkers --bench elle -- --case serializable-100k` runs one.
//!
//! Histories come from [`schism_checkers::elle::sim`]: 30 processes, 1 to 8 micro-ops per
//! transaction, 200 keys in use at once (each retired after 32 appends), 2% failed and 1%
//! crashed transactions; the anomalous cases also return 0.1% of reads one element short.
//! Figures: generation time (not part of the check), check time, transactions per second,
//! peak RSS before and after the check.

use std::time::Instant;

mod support;

use schism_checkers::elle::sim::{simulate, Isolation, SimOptions};
use schism_checkers::elle::{check, ConsistencyModel, ElleOptions, Workload};

const CASES: [(&str, usize, u32); 4] = [
    ("serializable-100k", 100_000, 0),
    ("anomalous-100k", 100_000, 1),
    ("serializable-1m", 1_000_000, 0),
    ("anomalous-1m", 1_000_000, 1),
];

fn run_case(name: &str) {
    let Some(&(_, txns, stale)) = CASES.iter().find(|c| c.0 == name) else {
        eprintln!("unknown case {name}");
        std::process::exit(2);
    };
    let generated = Instant::now();
    let options = SimOptions {
        isolation: Isolation::Serializable,
        txns,
        processes: 30,
        active_keys: 200,
        max_ops: 8,
        max_writes_per_key: 32,
        fail_per_mille: 20,
        info_per_mille: 10,
        stale_read_per_mille: stale,
        registers: false,
        seed: 42,
    };
    let history = simulate(&options).pair().expect("simulated histories pair");
    let gen_s = generated.elapsed().as_secs_f64();
    let ops = history.history().ops.len();
    let hwm_before = support::vm_hwm_kib();
    let elle = ElleOptions {
        workload: Workload::ListAppend,
        consistency_models: vec![ConsistencyModel::StrictSerializable],
        time_limit: ElleOptions::default().time_limit,
    };
    let cpu_before = support::cpu_seconds();
    let started = Instant::now();
    let result = check(&history, &elle).expect("well-formed");
    let check_s = started.elapsed().as_secs_f64();
    let cpu_s = support::cpu_seconds() - cpu_before;
    let hwm_after = support::vm_hwm_kib();
    let found: Vec<String> = result
        .anomalies
        .iter()
        .map(|(k, v)| format!("{k}:{}", v.len()))
        .collect();
    println!(
        "{name:<18} txns {txns:>8} ops {ops:>8} edges {:>9} | gen {gen_s:>6.2} s | check {check_s:>6.2} s wall, {cpu_s:>6.2} s cpu = {:>8.0} txn/cpu-s | VmHWM before {:>5} MiB, after {:>5} MiB | {} [{}]",
        result.edge_count,
        txns as f64 / cpu_s,
        hwm_before / 1024,
        hwm_after / 1024,
        result.valid,
        found.join(" ")
    );
}

fn main() {
    match support::case_arg() {
        Some(name) => run_case(&name),
        None => {
            let names: Vec<&str> = CASES.iter().map(|c| c.0).collect();
            support::run_each_in_fresh_process(&names);
        }
    }
}
