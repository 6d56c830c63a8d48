//! What the checkers' benchmarks share: each case runs in a fresh process (the bench binary
//! re-executed with `--case NAME`), so that the peak resident set size it reports (`VmHWM`) is
//! its own; and CPU time beside wall time, because other processes share the machine.

use std::process::Command;

/// The case named by `--case NAME`, when this process is one case's fresh process.
pub fn case_arg() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let at = args.iter().position(|a| a == "--case")?;
    match args.get(at + 1) {
        Some(name) => Some(name.clone()),
        None => {
            eprintln!("--case takes a case name");
            std::process::exit(2);
        }
    }
}

/// Runs every case whose name contains the command line's first free argument (all cases
/// when there is none), each in a fresh process of this binary; its output goes straight to
/// ours.
pub fn run_each_in_fresh_process(cases: &[&str]) {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("cannot find the benchmark binary");
        return;
    };
    for case in cases.iter().filter(|c| c.contains(&filter)) {
        match Command::new(&exe).args(["--case", case]).status() {
            Ok(status) if status.success() => {}
            other => eprintln!("case {case} failed: {other:?}"),
        }
    }
}

/// The peak resident set size of this process (`VmHWM`), in KiB.
pub fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// User plus system CPU time of this process, all threads, in seconds (from
/// `/proc/self/stat`, assuming the usual 100 clock ticks per second).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
