//! How fast the readers go and how much memory they take on a large history.
//!
//! Generates a 1,000,000-operation register history (50 processes doing reads, writes and
//! compare-and-sets) as JSON Lines, EDN and elle-cli JSON in a temporary directory, then reads
//! each file with `read_path` in a fresh process (this binary, re-executed with `--measure`),
//! so that the peak resident set size (`VmHWM` in `/proc/self/status`) is that of reading
//! alone. Prints file size, read time, operations per second and peak memory.
//!
//! Run: `cargo bench -p schism-histories --bench read` (set `SCHISM_BENCH_OPS` for another
//! size, `SCHISM_BENCH_DIR` to keep the files in that directory).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use schism_histories::{read_path, write_edn, write_jsonl, History, Op, OpType, Process, Value};

/// A resident set size line of `/proc/self/status`, in kilobytes.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The CPU time this process has used, in seconds (user and system, from `/proc/self/stat`,
/// in the kernel's clock ticks of 1/100 s). The machine may be shared, so CPU time says more
/// than wall-clock time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    ticks as f64 / 100.0
}

/// The child: reads one file and prints `ops seconds cpu_seconds baseline_kb peak_kb`.
fn measure(path: &Path) {
    let baseline = status_kb("VmHWM:");
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let history = match read_path(path) {
        Ok(history) => history,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let peak = status_kb("VmHWM:");
    println!("{} {seconds} {cpu} {baseline} {peak}", history.ops.len());
    drop(history);
}

/// A small deterministic generator (SplitMix64), so that every run reads the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A register history: each of 50 processes invokes read, write or cas and completes it
/// before invoking again; completions come in random order.
fn generate(total: usize) -> History {
    const PROCESSES: usize = 50;
    let mut rng = Rng(7);
    let mut open: Vec<Option<Op>> = vec![None; PROCESSES];
    let mut ops = Vec::with_capacity(total);
    let mut time: i64 = 0;
    while ops.len() < total {
        let p = rng.below(PROCESSES as u64) as usize;
        time += 1 + rng.below(20_000) as i64;
        let mut op = match open[p].take() {
            None => {
                let (f, value) = match rng.below(3) {
                    0 => ("read", Value::Nil),
                    1 => ("write", Value::Int(rng.below(5) as i64)),
                    _ => (
                        "cas",
                        Value::List(vec![
                            Value::Int(rng.below(5) as i64),
                            Value::Int(rng.below(5) as i64),
                        ]),
                    ),
                };
                let op = Op::new(OpType::Invoke, Process::Client(p as i64), f, value);
                open[p] = Some(op.clone());
                op
            }
            Some(invoke) => {
                let kind = match rng.below(10) {
                    0 => OpType::Fail,
                    1 => OpType::Info,
                    _ => OpType::Ok,
                };
                let value = if invoke.f == "read" && kind == OpType::Ok {
                    Value::Int(rng.below(5) as i64)
                } else {
                    invoke.value.clone()
                };
                Op::new(kind, invoke.process, &invoke.f, value)
            }
        };
        op.index = ops.len() as u64;
        op.time = time;
        ops.push(op);
    }
    History {
        source_name: "<bench>".into(),
        ops,
    }
}

/// Writes elle-cli's form: the JSON Lines file's objects as one array.
fn write_json_array(jsonl: &Path, path: &Path) -> std::io::Result<()> {
    let lines = BufReader::new(File::open(jsonl)?);
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(b"[")?;
    for (i, line) in lines.lines().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(line?.as_bytes())?;
    }
    out.write_all(b"]\n")?;
    out.flush()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        if let Some(path) = args.get(i + 1) {
            measure(Path::new(path));
        }
        return;
    }
    let total: usize = std::env::var("SCHISM_BENCH_OPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    // SCHISM_BENCH_DIR keeps the generated files there (for profiling the readers on them).
    let keep = std::env::var_os("SCHISM_BENCH_DIR").map(PathBuf::from);
    let dir: PathBuf = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("schism-bench-read-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).expect("create the temporary directory");

    println!(
        "size_of::<Op>() = {} bytes, size_of::<Value>() = {} bytes",
        std::mem::size_of::<Op>(),
        std::mem::size_of::<Value>()
    );
    let history = generate(total);
    let jsonl = dir.join("history.jsonl");
    let edn = dir.join("history.edn");
    let json = dir.join("history.json");
    write_jsonl(
        &history,
        BufWriter::new(File::create(&jsonl).expect("create")),
    )
    .expect("write");
    write_edn(
        &history,
        BufWriter::new(File::create(&edn).expect("create")),
    )
    .expect("write");
    write_json_array(&jsonl, &json).expect("write");
    drop(history);

    let exe = std::env::current_exe().expect("the bench binary");
    println!(
        "{:<6} {:>9} {:>8} {:>7} {:>7} {:>11} {:>8} {:>8} {:>9}",
        "format",
        "ops",
        "file MB",
        "wall s",
        "cpu s",
        "ops/cpu-s",
        "base MB",
        "peak MB",
        "peak/file"
    );
    for path in [&jsonl, &edn, &json] {
        let file_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let output = Command::new(&exe)
            .arg("--measure")
            .arg(path)
            .output()
            .expect("run the measuring process");
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        let [ops, seconds, cpu, base_kb, peak_kb] = fields[..] else {
            println!(
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            continue;
        };
        let file_mb = file_bytes as f64 / 1e6;
        let peak_mb = peak_kb * 1024.0 / 1e6;
        println!(
            "{:<6} {:>9} {:>8.1} {:>7.2} {:>7.2} {:>11.0} {:>8.1} {:>8.1} {:>9.2}",
            path.extension().and_then(|e| e.to_str()).unwrap_or("?"),
            ops,
            file_mb,
            seconds,
            cpu,
            ops / cpu.max(0.01),
            base_kb * 1024.0 / 1e6,
            peak_mb,
            peak_mb / file_mb,
        );
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
