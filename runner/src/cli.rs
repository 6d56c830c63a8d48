//! The raw command line: clap structs that hold only what the user typed. Each subcommand's
//! module turns its raw flags into a validated configuration (ripgrep's lowargs → hiargs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// schism: Jepsen-style consistency testing of replicated databases.
#[derive(Debug, Parser)]
#[command(name = "schism", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a test: build or reach a cluster, drive clients under faults, check the history.
    Test(TestArgs),
    /// Check histories (schism JSONL, Jepsen/Knossos/Elle EDN, elle-cli JSON).
    Check(CheckArgs),
    /// Render the HTML report of a run directory or a history file.
    Report(ReportArgs),
    /// Serve the run store over HTTP.
    Serve(ServeArgs),
    /// Remove what a killed run left behind: namespaces, firewall rules, node processes.
    Cleanup(CleanupArgs),
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Clean only local cluster k (0..15) instead of all of them.
    #[arg(long)]
    pub cluster: Option<u8>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The database under test: mmkv, etcd, galera or postgres.
    #[arg(long, default_value = "mmkv")]
    pub db: String,
    /// mmkv's replication strategy: raft, lww or crdt.
    #[arg(long, default_value = "raft")]
    pub replication: String,
    /// The workload: register, list-append, rw-register, set or counter.
    #[arg(long, default_value = "register")]
    pub workload: String,
    /// Faults, comma-separated (partition,clock,kill,pause,loss), or none.
    #[arg(long, default_value = "partition")]
    pub nemesis: String,
    /// Seconds between fault changes.
    #[arg(long, default_value_t = 10.0)]
    pub nemesis_interval: f64,
    /// Number of nodes in the cluster.
    #[arg(long, default_value_t = 5)]
    pub nodes: usize,
    /// Client processes: a number, or `Nn` for N per node (Jepsen's notation).
    #[arg(long, default_value = "2n")]
    pub concurrency: String,
    /// Target total operations per second across all clients.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Seconds of load (the main phase, with faults).
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// Seed of the test's one RNG; random when absent (and written into test.json).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Consistency models the transactional workloads are checked against.
    #[arg(long, value_delimiter = ',')]
    pub consistency_models: Vec<String>,
    /// The run store.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Write a JUnit XML summary here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Print a one-line JSON summary (run directory, verdict per checker) on standard output
    /// instead of the run directory's path.
    #[arg(long)]
    pub json: bool,
    /// The mmkv binary; default: `$SCHISM_MMKV_BIN`, else `mmkv` next to the schism executable.
    #[arg(long)]
    pub mmkv_bin: Option<PathBuf>,
    /// The local cluster number k (0..15): hosts live at 192.168.(240+k).(10+i), and
    /// loopback ports start at 20000 + 100k. Parallel tests use distinct numbers.
    #[arg(long, default_value_t = 0)]
    pub cluster: u8,
    /// Run the nodes on 127.0.0.1 instead of network namespaces, even as root (partitions
    /// and packet loss are then unsupported).
    #[arg(long)]
    pub loopback: bool,
    /// Milliseconds a client waits for a reply before it records the operation as `info`.
    #[arg(long, default_value_t = 1500)]
    pub op_timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Linearizability model: register, cas-register, mutex, multi-register, set, counter,
    /// fifo-queue (keyed histories are detected); or `causal`.
    #[arg(long)]
    pub model: Option<String>,
    /// Transactional workload for the Elle-style checker: list-append or rw-register.
    #[arg(long)]
    pub workload: Option<String>,
    /// Consistency models to check transactional histories against (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub consistency_models: Vec<String>,
    /// The model's initial value, as JSON (default null).
    #[arg(long)]
    pub init: Option<String>,
    /// Print one JSON result per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// Shrink each invalid linearizability history to a 1-minimal invalid sub-history.
    #[arg(long)]
    pub minimize: bool,
    /// Seconds each checker may search before answering unknown.
    #[arg(long, default_value_t = 60.0)]
    pub time_limit: f64,
    /// Write an HTML report per file into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write a JUnit XML summary here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// History files; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory or a history file.
    pub path: PathBuf,
    /// Where to write the report (default: RUN_DIR/report.html, or HISTORY_FILE.html).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
}
