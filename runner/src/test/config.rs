//! The resolved test configuration: [`resolve`] turns the raw [`TestArgs`] into one validated
//! [`TestConfig`], which is the only thing the rest of the harness reads, and which is written
//! whole into the run directory's `test.json` (the seed included), so that a run can be
//! repeated.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use schism_checkers::elle::ConsistencyModel;
use serde::{Deserialize, Serialize};

use crate::cli::TestArgs;

/// The version of `test.json`'s layout; bumped when a field changes meaning.
pub const TEST_JSON_VERSION: u32 = 1;

/// The most nodes a local cluster has: host addresses are `.(10+i)` and interface names must
/// stay short.
pub const MAX_NODES: usize = 9;

/// The most local clusters that may exist side by side: `192.168.(240+k).0/24`, k < 16.
pub const MAX_CLUSTERS: u8 = 16;

/// A replication strategy of mmkv.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replication {
    Raft,
    Lww,
    Crdt,
}

impl Replication {
    pub const ALL: [Replication; 3] = [Replication::Raft, Replication::Lww, Replication::Crdt];

    pub fn as_str(self) -> &'static str {
        match self {
            Replication::Raft => "raft",
            Replication::Lww => "lww",
            Replication::Crdt => "crdt",
        }
    }
}

/// What the clients do, and therefore which checkers judge the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Reads, writes and compare-and-sets on a few keys, as jepsen.independent: values are
    /// `[key, v]`.
    Register,
    /// Elle's list-append transactions.
    ListAppend,
    /// Elle's read/write register transactions.
    RwRegister,
    /// Unique adds to one set, with reads (Jepsen's set-full).
    Set,
    /// Increments of one counter, with reads.
    Counter,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Register,
        Workload::ListAppend,
        Workload::RwRegister,
        Workload::Set,
        Workload::Counter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
            Workload::Set => "set",
            Workload::Counter => "counter",
        }
    }

    /// Whether the test ends with a read of every key on every node.
    pub fn has_final_reads(self) -> bool {
        matches!(self, Workload::Register | Workload::Set | Workload::Counter)
    }
}

/// A kind of fault the nemesis may inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    Partition,
    Clock,
    Kill,
    Pause,
    Loss,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::Partition,
        Fault::Clock,
        Fault::Kill,
        Fault::Pause,
        Fault::Loss,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Partition => "partition",
            Fault::Clock => "clock",
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Loss => "loss",
        }
    }

    /// Whether the fault needs the hosts to be network namespaces (iptables inside each).
    pub fn needs_namespaces(self) -> bool {
        matches!(self, Fault::Partition | Fault::Loss)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the nodes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// One network namespace per node, on a bridge (needs root; see NETWORK.md).
    Namespaces,
    /// Every node on 127.0.0.1 with its own port: no partitions, no packet loss.
    Loopback,
}

/// Everything a test run needs to know, validated. Serialized whole as `test.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestConfig {
    pub version: u32,
    /// `<db>-<replication>-<workload>-<faults>`, the run store's folder for this kind of test.
    pub name: String,
    pub db: String,
    pub replication: Replication,
    pub workload: Workload,
    /// The faults the nemesis injects, sorted; empty for none.
    pub faults: BTreeSet<Fault>,
    /// Faults asked for that this network cannot inject (partitions on loopback); they are
    /// left out of the schedule and named in the results.
    pub unsupported_faults: BTreeSet<Fault>,
    pub nemesis_interval_s: f64,
    /// Node names, `n1` … `nN`.
    pub nodes: Vec<String>,
    /// Logical client processes at a time.
    pub concurrency: usize,
    /// Target total operations per second; 0 for no limit.
    pub rate_per_s: f64,
    /// Seconds of the main phase.
    pub time_limit_s: f64,
    /// The seed of the test's one RNG.
    pub seed: u64,
    /// Consistency models the transactional workloads are checked against.
    pub consistency_models: Vec<String>,
    pub store: PathBuf,
    pub junit: Option<PathBuf>,
    pub mmkv_bin: PathBuf,
    /// The local cluster number k.
    pub cluster: u8,
    pub network: Network,
    /// Milliseconds a client waits for a reply before the operation is `info`.
    pub op_timeout_ms: u64,
    /// Seconds the harness waits, after healing, for every node to answer its health check.
    pub recovery_timeout_s: f64,
}

impl TestConfig {
    /// The port node `i` (0-based) listens on. Each namespace host has its own address, so
    /// they share one port; loopback hosts (127.0.0.(10+i)) get ports distinct per cluster
    /// number, so that parallel loopback tests never meet.
    pub fn node_port(&self, i: usize) -> u16 {
        match self.network {
            Network::Namespaces => 7000,
            Network::Loopback => 20_000 + 100 * u16::from(self.cluster) + i as u16,
        }
    }
}

/// Why the flags do not make a test. The message is shown as is, after `schism: `.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(message.into()))
}

/// The facts about the environment that resolution depends on, passed in so that resolution
/// is a pure function (and testable).
#[derive(Clone, Debug)]
pub struct Env {
    /// Whether the harness may create network namespaces (euid 0).
    pub is_root: bool,
    /// `$SCHISM_MMKV_BIN`.
    pub mmkv_bin_var: Option<PathBuf>,
    /// The directory of the running executable.
    pub exe_dir: Option<PathBuf>,
    /// A random seed, used when `--seed` is absent.
    pub random_seed: u64,
}

impl Env {
    /// The real environment of this process.
    pub fn current() -> Env {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        Env {
            // SAFETY: geteuid has no preconditions and cannot fail.
            is_root: unsafe { libc::geteuid() } == 0,
            mmkv_bin_var: std::env::var_os("SCHISM_MMKV_BIN").map(PathBuf::from),
            exe_dir,
            random_seed: rand::random(),
        }
    }
}

fn names<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|&t| name(t)).collect::<Vec<_>>().join(", ")
}

/// Parses `--concurrency`: a number, or `Nn` for N per node.
fn parse_concurrency(text: &str, nodes: usize) -> Result<usize, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "--concurrency must be a positive number or Nn (N per node), not {text:?}"
        ))
    };
    let n = match text.strip_suffix('n') {
        Some(per_node) => per_node
            .parse::<usize>()
            .map_err(|_| bad())?
            .checked_mul(nodes)
            .ok_or_else(bad)?,
        None => text.parse::<usize>().map_err(|_| bad())?,
    };
    if n == 0 || n > 10_000 {
        return err(format!(
            "--concurrency must be between 1 and 10000 processes, not {n}"
        ));
    }
    Ok(n)
}

/// Turns the raw flags into a validated configuration.
pub fn resolve(args: &TestArgs, env: &Env) -> Result<TestConfig, ConfigError> {
    if args.db != "mmkv" {
        return err(format!(
            "--db {} is not supported yet; valid: mmkv",
            args.db
        ));
    }
    let replication = Replication::ALL
        .into_iter()
        .find(|r| r.as_str() == args.replication)
        .ok_or_else(|| {
            ConfigError(format!(
                "unknown replication {:?}; valid: {}",
                args.replication,
                names(&Replication::ALL, Replication::as_str)
            ))
        })?;
    let workload = Workload::ALL
        .into_iter()
        .find(|w| w.as_str() == args.workload)
        .ok_or_else(|| {
            ConfigError(format!(
                "unknown workload {:?}; valid: {}",
                args.workload,
                names(&Workload::ALL, Workload::as_str)
            ))
        })?;
    let mut faults = BTreeSet::new();
    if args.nemesis.trim() != "none" {
        for name in args
            .nemesis
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let fault = Fault::ALL
                .into_iter()
                .find(|f| f.as_str() == name)
                .ok_or_else(|| {
                    ConfigError(format!(
                        "unknown fault {name:?}; valid: {}, or none",
                        names(&Fault::ALL, Fault::as_str)
                    ))
                })?;
            faults.insert(fault);
        }
    }
    if !(1..=MAX_NODES).contains(&args.nodes) {
        return err(format!("--nodes must be between 1 and {MAX_NODES}"));
    }
    if args.cluster >= MAX_CLUSTERS {
        return err(format!(
            "--cluster must be between 0 and {}",
            MAX_CLUSTERS - 1
        ));
    }
    let concurrency = parse_concurrency(&args.concurrency, args.nodes)?;
    if !(args.rate.is_finite() && args.rate >= 0.0) {
        return err("--rate must be a number of operations per second, 0 for no limit");
    }
    if !(args.time_limit.is_finite() && args.time_limit > 0.0 && args.time_limit <= 86_400.0) {
        return err("--time-limit must be between 0 and 86400 seconds");
    }
    if !(args.nemesis_interval.is_finite() && args.nemesis_interval >= 0.1) {
        return err("--nemesis-interval must be at least 0.1 seconds");
    }
    if !(100..=60_000).contains(&args.op_timeout_ms) {
        return err("--op-timeout-ms must be between 100 and 60000");
    }
    let mut consistency_models = Vec::new();
    for m in &args.consistency_models {
        // Elle's parser knows the names and their aliases; the canonical name is kept.
        let model = ConsistencyModel::parse(m).map_err(ConfigError)?;
        let name = model.name().to_string();
        if !consistency_models.contains(&name) {
            consistency_models.push(name);
        }
    }
    if consistency_models.is_empty() {
        consistency_models.push("strict-serializable".to_string());
    }
    let mmkv_bin = match (&args.mmkv_bin, &env.mmkv_bin_var, &env.exe_dir) {
        (Some(bin), _, _) | (None, Some(bin), _) => bin.clone(),
        (None, None, Some(dir)) => dir.join("mmkv"),
        (None, None, None) => {
            return err("cannot find the mmkv binary: pass --mmkv-bin or set SCHISM_MMKV_BIN")
        }
    };
    // Nodes are started in their own working directories: a relative path would not find it.
    let mmkv_bin = std::path::absolute(&mmkv_bin).unwrap_or(mmkv_bin);
    let network = if env.is_root && !args.loopback {
        Network::Namespaces
    } else {
        Network::Loopback
    };
    let unsupported_faults: BTreeSet<Fault> = match network {
        Network::Namespaces => BTreeSet::new(),
        Network::Loopback => faults
            .iter()
            .copied()
            .filter(|f| f.needs_namespaces())
            .collect(),
    };
    let fault_part = if faults.is_empty() {
        "none".to_string()
    } else {
        faults
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("+")
    };
    Ok(TestConfig {
        version: TEST_JSON_VERSION,
        name: format!(
            "{}-{}-{}-{}",
            args.db,
            replication.as_str(),
            workload.as_str(),
            fault_part
        ),
        db: args.db.clone(),
        replication,
        workload,
        faults,
        unsupported_faults,
        nemesis_interval_s: args.nemesis_interval,
        nodes: (1..=args.nodes).map(|i| format!("n{i}")).collect(),
        concurrency,
        rate_per_s: args.rate,
        time_limit_s: args.time_limit,
        seed: args.seed.unwrap_or(env.random_seed),
        consistency_models,
        store: args.store.clone(),
        junit: args.junit.clone(),
        mmkv_bin,
        cluster: args.cluster,
        network,
        op_timeout_ms: args.op_timeout_ms,
        recovery_timeout_s: 30.0,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn env() -> Env {
        Env {
            is_root: false,
            mmkv_bin_var: None,
            exe_dir: Some(PathBuf::from("/opt/schism")),
            random_seed: 42,
        }
    }

    fn resolve_args(flags: &[&str]) -> Result<TestConfig, ConfigError> {
        let argv = ["schism", "test"].iter().chain(flags);
        let Command::Test(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not a test command");
        };
        resolve(&args, &env())
    }

    #[test]
    fn defaults_make_a_first_run() {
        let cfg = resolve_args(&[]).unwrap();
        assert_eq!(cfg.name, "mmkv-raft-register-partition");
        assert_eq!(cfg.nodes, ["n1", "n2", "n3", "n4", "n5"]);
        assert_eq!(cfg.concurrency, 10);
        assert_eq!(cfg.rate_per_s, 100.0);
        assert_eq!(cfg.time_limit_s, 60.0);
        assert_eq!(cfg.seed, 42);
        assert_eq!(cfg.mmkv_bin, PathBuf::from("/opt/schism/mmkv"));
        assert_eq!(cfg.network, Network::Loopback);
        assert_eq!(cfg.unsupported_faults, BTreeSet::from([Fault::Partition]));
        assert_eq!(cfg.consistency_models, ["strict-serializable"]);
        assert_eq!(cfg.node_port(1), 20001);
    }

    #[test]
    fn the_config_round_trips_through_json() {
        let cfg = resolve_args(&["--seed", "7", "--nemesis", "kill,clock"]).unwrap();
        let json = serde_json::to_string(&cfg).unwrap();
        let back: TestConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg);
        assert_eq!(cfg.name, "mmkv-raft-register-clock+kill");
        assert!(json.contains("\"seed\":7"));
    }

    #[test]
    fn bad_flags_say_plainly_what_is_wrong() {
        let cases: &[(&[&str], &str)] = &[
            (&["--nodes", "0"], "--nodes must be between 1 and 9"),
            (&["--nodes", "10"], "--nodes must be between 1 and 9"),
            (
                &["--workload", "queue"],
                "unknown workload \"queue\"; valid: register, list-append, rw-register, set, counter",
            ),
            (
                &["--replication", "paxos"],
                "unknown replication \"paxos\"; valid: raft, lww, crdt",
            ),
            (
                &["--nemesis", "partition,flood"],
                "unknown fault \"flood\"; valid: partition, clock, kill, pause, loss, or none",
            ),
            (
                &["--concurrency", "xn"],
                "--concurrency must be a positive number or Nn (N per node), not \"xn\"",
            ),
            (&["--db", "etcd"], "--db etcd is not supported yet; valid: mmkv"),
            (&["--time-limit", "0"], "--time-limit must be between 0 and 86400 seconds"),
        ];
        for (flags, expected) in cases {
            assert_eq!(resolve_args(flags).unwrap_err().0, *expected, "{flags:?}");
        }
    }

    #[test]
    fn concurrency_per_node_multiplies() {
        let cfg =
            resolve_args(&["--nodes", "3", "--concurrency", "4n", "--nemesis", "none"]).unwrap();
        assert_eq!(cfg.concurrency, 12);
        assert!(cfg.faults.is_empty());
        assert_eq!(cfg.name, "mmkv-raft-register-none");
    }
}
