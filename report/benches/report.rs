//! Renders the report of a 100,000-operation history and prints the time taken and the file's
//! size. Run with `cargo bench -p schism-report --bench report`; set `SCHISM_BENCH_OUT=FILE` to
//! keep the HTML.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

fn main() {
    let ops: usize = std::env::var("SCHISM_BENCH_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let history = common::big_history(ops, 20);
    let (_, results, test) = common::invalid_fixture();
    let input = schism_report::ReportInput {
        title: "bench",
        history: &history,
        results: Some(&results),
        test: Some(&test),
    };
    // One warm-up, then the best of five.
    let mut html = schism_report::render(&input);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let start = Instant::now();
        html = schism_report::render(&input);
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "report of {ops} client operations ({} history lines): best of 5 renders {:.1} ms, {} bytes ({:.2} MiB, {:.1} bytes per operation)",
        history.ops.len(),
        best * 1e3,
        html.len(),
        html.len() as f64 / (1024.0 * 1024.0),
        html.len() as f64 / ops as f64
    );
    if let Ok(out) = std::env::var("SCHISM_BENCH_OUT") {
        if let Err(e) = std::fs::write(&out, &html) {
            eprintln!("failed to write {out}: {e}");
        }
    }
}
