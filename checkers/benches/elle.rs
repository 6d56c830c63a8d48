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

use std::process::Command;
use std::time::Instant;

use schism_checkers::elle::sim::{simulate, Isolation, SimOptions};
use schism_checkers::elle::{check, ConsistencyModel, ElleOptions, Workload};

const CASES: [(&str, usize, u32); 4] = [
    ("serializable-100k", 100_000, 0),
    ("anomalous-100k", 100_000, 1),
    ("serializable-1m", 1_000_000, 0),
    ("anomalous-1m", 1_000_000, 1),
];

/// CPU time of this thread, in ms: the machine is shared, so wall time says little.
fn cpu_ms() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1_000_000
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

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
    let hwm_before = vm_hwm_kib();
    let elle = ElleOptions {
        workload: Workload::ListAppend,
        consistency_models: vec![ConsistencyModel::StrictSerializable],
        time_limit: ElleOptions::default().time_limit,
    };
    let cpu_before = cpu_ms();
    let started = Instant::now();
    let result = check(&history, &elle).expect("well-formed");
    let check_s = started.elapsed().as_secs_f64();
    let cpu_s = (cpu_ms() - cpu_before) as f64 / 1000.0;
    let hwm_after = vm_hwm_kib();
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
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        match args.get(i + 1) {
            Some(name) => run_case(name),
            None => eprintln!("--case takes a case name"),
        }
        return;
    }
    let filter = args.iter().skip(1).find(|a| !a.starts_with("--"));
    let exe = std::env::current_exe().expect("the benchmark's own path");
    for (name, _, _) in CASES {
        if filter.is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        match Command::new(&exe).args(["--case", name]).status() {
            Ok(status) if status.success() => {}
            other => eprintln!("{name}: failed: {other:?}"),
        }
    }
}
