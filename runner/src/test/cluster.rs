//! The local cluster of a test and its nemesis, through the nemesis crate: hosts are network
//! namespaces (root) or loopback addresses; nodes are started with their output under
//! `nodes/<node>/` of the run directory; the seeded fault schedule runs every
//! `--nemesis-interval`, each fault recorded in the history; everything is healed at the end,
//! on error and on interruption, and the cluster is torn down (processes killed by PID).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use schism_histories::Value;
use schism_nemesis::{
    partition, schedule, CleanupSummary, Fault as NemesisFault, FaultKind, LocalCluster, Nemesis,
    NodeSpec, ScheduleConfig, Shape,
};
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

use crate::test::config::{Fault, Network, Replication, TestConfig};
use crate::test::db;
use crate::test::progress::ActiveFaults;
use crate::test::store::{Recorder, RunDir};

/// The hosts, their node processes and the nemesis that breaks them.
pub struct Cluster {
    pub local: Arc<LocalCluster>,
    /// (name, `IP:PORT`) of every node, in order.
    pub addrs: Vec<(String, String)>,
    /// The PID each node started with (restarts after a kill are in the history's `start`
    /// operations).
    pub pids: BTreeMap<String, u32>,
    pub nemesis: Mutex<Nemesis<LocalCluster>>,
}

impl Cluster {
    /// Builds the hosts and starts a node on each. On error, whatever was built is torn
    /// down before returning.
    pub async fn start(cfg: &TestConfig, run: &RunDir) -> Result<Cluster, String> {
        let n = cfg.nodes.len();
        let local = match cfg.network {
            Network::Namespaces => LocalCluster::create(cfg.cluster, n).await,
            Network::Loopback => LocalCluster::loopback(n),
        }
        .map_err(|e| format!("failed to build the local cluster: {e}"))?;
        let local = Arc::new(local);
        let cluster = Cluster {
            addrs: Vec::new(),
            pids: BTreeMap::new(),
            nemesis: Mutex::new(Nemesis::new(local.clone())),
            local,
        };
        match cluster.spawn_nodes(cfg, run).await {
            Ok((addrs, pids)) => Ok(Cluster {
                addrs,
                pids,
                ..cluster
            }),
            Err(e) => {
                let _ = cluster.local.teardown().await;
                Err(e)
            }
        }
    }

    async fn spawn_nodes(
        &self,
        cfg: &TestConfig,
        run: &RunDir,
    ) -> Result<(Vec<(String, String)>, BTreeMap<String, u32>), String> {
        let mut addrs = Vec::new();
        let mut pids = BTreeMap::new();
        for (i, name) in cfg.nodes.iter().enumerate() {
            let ip = self
                .local
                .ip(name)
                .map_err(|e| format!("failed to find {name}'s address: {e}"))?;
            addrs.push((name.clone(), format!("{ip}:{}", cfg.node_port(i))));
        }
        for (i, name) in cfg.nodes.iter().enumerate() {
            let dir = run.node_dir(name);
            let data = dir.join("data");
            std::fs::create_dir_all(&data)
                .map_err(|e| format!("failed to create {}: {e}", data.display()))?;
            let spec = NodeSpec::new(cfg.mmkv_bin.display().to_string())
                .args(db::mmkv_args(cfg, i, &addrs, &data))
                .cwd(&dir)
                .skewable_clock(cfg.faults.contains(&Fault::Clock));
            let spec = NodeSpec {
                stdout: Some(dir.join("stdout.log")),
                stderr: Some(dir.join("stderr.log")),
                ..spec
            };
            let pid = self
                .local
                .spawn(name, spec)
                .await
                .map_err(|e| format!("failed to start {name}: {e}"))?;
            pids.insert(name.clone(), pid);
        }
        Ok((addrs, pids))
    }

    /// Undoes every fault in force, recording the heals; returns the errors of heals that
    /// failed.
    pub async fn heal_all(&self, recorder: &Recorder) -> Vec<String> {
        let healed = self.nemesis.lock().await.heal_all().await;
        for op in healed.ops {
            recorder.record(op);
        }
        healed.errors.iter().map(ToString::to_string).collect()
    }

    /// Kills every node by PID and removes the hosts.
    pub async fn teardown(&self) -> Result<CleanupSummary, String> {
        self.local
            .teardown()
            .await
            .map_err(|e| format!("failed to tear the cluster down: {e}"))
    }
}

/// The nemesis's fault kinds for the configured faults this network supports.
pub fn fault_kinds(cfg: &TestConfig) -> BTreeSet<FaultKind> {
    cfg.faults
        .iter()
        .filter(|f| !cfg.unsupported_faults.contains(f))
        .filter_map(|f| {
            FaultKind::ALL
                .into_iter()
                .find(|k| k.as_str() == f.as_str())
        })
        .collect()
}

/// The name under which a fault shows in the progress line, and whether it starts one.
fn progress_name(fault: &NemesisFault) -> (&'static str, bool) {
    match fault {
        NemesisFault::StartPartition { .. } => ("partition", true),
        NemesisFault::StopPartition => ("partition", false),
        NemesisFault::StartLoss { .. } => ("loss", true),
        NemesisFault::StopLoss => ("loss", false),
        NemesisFault::Kill { .. } => ("kill", true),
        NemesisFault::Start { .. } => ("kill", false),
        NemesisFault::Pause { .. } => ("pause", true),
        NemesisFault::Resume { .. } => ("pause", false),
        NemesisFault::BumpClock { .. } | NemesisFault::StrobeClock { .. } => ("clock", true),
        NemesisFault::ResetClock => ("clock", false),
    }
}

fn describe(value: &Value) -> String {
    let text = value.to_json().to_string();
    if text.len() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

/// Fills in the leader partition with the node the cluster names as its leader right now.
/// When no leader is known (an election is under way), one node chosen by the test's seed is
/// isolated instead, and the history says so: the recorded shape is `isolate-one`.
async fn resolve_leader(
    cluster: &Cluster,
    cfg: &TestConfig,
    mut fault: NemesisFault,
    at_ms: u64,
) -> NemesisFault {
    if !matches!(
        fault,
        NemesisFault::StartPartition {
            shape: Shape::Leader,
            ..
        }
    ) {
        return fault;
    }
    if let Some(leader) = db::leader(&cluster.addrs).await {
        if fault.resolve_leader(&cfg.nodes, &leader).is_ok() {
            return fault;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ at_ms);
    let grudge =
        partition::grudge(Shape::IsolateOne, &cfg.nodes, None, &mut rng).unwrap_or_default();
    NemesisFault::StartPartition {
        shape: Shape::IsolateOne,
        grudge,
    }
}

/// Runs the seeded fault schedule until `deadline` or `stop`, recording each fault's
/// invocation before applying it and its completion after. Returns the errors of faults
/// that failed (the test goes on: a failed fault is partly applied at worst, and healed at
/// the end).
pub async fn run_nemesis(
    cluster: &Cluster,
    cfg: &TestConfig,
    recorder: &Recorder,
    faults: &ActiveFaults,
    deadline: Instant,
    mut stop: watch::Receiver<bool>,
) -> Vec<String> {
    let kinds = fault_kinds(cfg);
    let mut errors = Vec::new();
    if kinds.is_empty() {
        return errors;
    }
    let interval_ms = (cfg.nemesis_interval_s * 1000.0).round() as u64;
    let mut schedule_config = ScheduleConfig::new(kinds, interval_ms);
    if cfg.replication == Replication::Raft {
        // Raft names a leader, so the nemesis can cut it off (Jepsen's `:primaries` grudge).
        schedule_config.shapes.push(Shape::Leader);
    }
    let steps = schedule(&schedule_config, &cfg.nodes, cfg.seed);
    let start = Instant::now();
    for step in steps {
        let at = start + Duration::from_millis(step.at_ms);
        if at >= deadline || *stop.borrow() {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            _ = stop.changed() => break,
        }
        let fault = resolve_leader(cluster, cfg, step.fault, step.at_ms).await;
        recorder.record(fault.invoke_op());
        let result = cluster.nemesis.lock().await.apply(&fault).await;
        let (name, starts) = progress_name(&fault);
        match result {
            Ok(op) => {
                recorder.record(op);
                if starts {
                    faults.set(name, describe(&fault.value()));
                } else {
                    faults.clear(name);
                }
            }
            Err(failed) => {
                recorder.record(failed.completion);
                errors.push(failed.error.to_string());
            }
        }
    }
    errors
}
