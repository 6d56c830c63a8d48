//! Applying faults to a cluster through a [`Control`], remembering what is broken so that
//! [`Nemesis::heal_all`] can always undo it.
//!
//! Network faults are iptables rules inside each host's namespace. Each host's whole `filter`
//! table is replaced at once with `iptables-restore -w` (one command per host, applied to all
//! hosts concurrently): the rules for the active partition and the active packet loss are
//! recomputed from the nemesis's state every time either changes, so stopping one never
//! removes the other, and healing is a restore with no rules (what `iptables -w -F` does).
//!
//! - Partition: in host `a`, for every `b` that `a`'s grudge names, `-A INPUT -s b -j DROP`
//!   and `-A OUTPUT -d b -j DROP`. Both ends of a cut apply both directions, as NETWORK.md's
//!   recipe does; the harness address `.1` is never cut, so clients still reach every node
//!   (Jepsen's partitions cut nodes from each other, not from the control node).
//! - Packet loss: in every host, `-A INPUT -i eth0 -m statistic --mode random --probability P
//!   -j DROP`. It drops on receipt whatever arrives over the cluster's bridge: from the other
//!   hosts *and* from the harness, so clients see loss on their requests as Jepsen's netem
//!   loss on the node's interface makes them do. Replies to clients leave unharmed, and each
//!   host-to-host direction is dropped once, at its receiver.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use schism_histories::{Op, Value};
use tokio::task::JoinHandle;

use crate::control::Control;
use crate::error::{Error, Result};
use crate::fault::{int, map, names, nemesis_op, Failed, Fault};
use crate::partition::{grudge_value, Grudge, Shape};

/// What [`Nemesis::heal_all`] did: the history operations (an invocation and a completion
/// per heal, in order) and the errors of heals that failed.
#[derive(Debug, Default)]
pub struct Healed {
    pub ops: Vec<Op>,
    pub errors: Vec<Error>,
}

/// The faults in force, and the means to apply more.
pub struct Nemesis<C: Control> {
    control: Arc<C>,
    nodes: Vec<String>,
    partition: Option<(Shape, Grudge)>,
    loss: Option<f64>,
    killed: BTreeSet<String>,
    paused: BTreeSet<String>,
    offsets_s: BTreeMap<String, i64>,
    strobe: Option<JoinHandle<()>>,
}

impl<C: Control> Nemesis<C> {
    pub fn new(control: Arc<C>) -> Nemesis<C> {
        let nodes = control.node_names();
        Nemesis {
            control,
            nodes,
            partition: None,
            loss: None,
            killed: BTreeSet::new(),
            paused: BTreeSet::new(),
            offsets_s: BTreeMap::new(),
            strobe: None,
        }
    }

    pub fn control(&self) -> &Arc<C> {
        &self.control
    }

    /// The nodes killed and not yet started again.
    pub fn killed(&self) -> &BTreeSet<String> {
        &self.killed
    }

    /// The nodes paused and not yet resumed.
    pub fn paused(&self) -> &BTreeSet<String> {
        &self.paused
    }

    /// The active partition's grudge, if any.
    pub fn partition(&self) -> Option<&Grudge> {
        self.partition.as_ref().map(|(_, g)| g)
    }

    /// Applies `fault` and returns the `info` completion to record. On failure the completion
    /// carries the error message in its `error` field; the fault may be partly applied, and
    /// the nemesis's state says which part ([`Nemesis::heal_all`] undoes it all).
    pub async fn apply(&mut self, fault: &Fault) -> Result<Op, Failed> {
        match self.apply_inner(fault).await {
            Ok(value) => Ok(nemesis_op(fault.f(), value)),
            Err(error) => {
                let mut completion = nemesis_op(fault.f(), fault.value());
                completion.error = Some(Value::Str(error.to_string()));
                Err(Failed { completion, error })
            }
        }
    }

    async fn apply_inner(&mut self, fault: &Fault) -> Result<Value> {
        match fault {
            Fault::StartPartition { shape, grudge } => {
                if fault.needs_leader() {
                    return Err(Error::InvalidFault(
                        "a leader partition must be resolved with Fault::resolve_leader".into(),
                    ));
                }
                self.require_partitions()?;
                for node in grudge.keys().chain(grudge.values().flatten()) {
                    self.control.ip(node)?;
                }
                self.partition = Some((*shape, grudge.clone()));
                self.sync_rules().await?;
                Ok(fault.value())
            }
            Fault::StopPartition => {
                self.require_partitions()?;
                let healed = self.partition.take().map(|(shape, grudge)| {
                    map([
                        ("shape", Value::Str(shape.as_str().into())),
                        ("grudge", grudge_value(&grudge)),
                    ])
                });
                self.sync_rules().await?;
                Ok(map([
                    ("healed", healed.unwrap_or_default()),
                    ("nodes", names(&self.nodes)),
                ]))
            }
            Fault::StartLoss { probability } => {
                self.require_partitions()?;
                if !(*probability > 0.0 && *probability <= 1.0) {
                    return Err(Error::InvalidFault(format!(
                        "loss probability {probability} is outside (0, 1]"
                    )));
                }
                self.loss = Some(*probability);
                self.sync_rules().await?;
                Ok(map([
                    ("probability", Value::Float(*probability)),
                    ("nodes", names(&self.nodes)),
                ]))
            }
            Fault::StopLoss => {
                self.require_partitions()?;
                self.loss = None;
                self.sync_rules().await?;
                Ok(map([("nodes", names(&self.nodes))]))
            }
            Fault::Kill { nodes } => {
                let mut pids = BTreeMap::new();
                for node in nodes {
                    let pid = self.control.kill(node).await?;
                    self.killed.insert(node.clone());
                    self.paused.remove(node);
                    pids.insert(node.clone(), pid);
                }
                Ok(with_pids(nodes, &pids))
            }
            Fault::Start { nodes } => {
                let mut pids = BTreeMap::new();
                let targets: Vec<&String> =
                    nodes.iter().filter(|n| self.killed.contains(*n)).collect();
                for node in targets {
                    let pid = self.control.restart(node).await?;
                    self.killed.remove(node);
                    pids.insert(node.clone(), pid);
                }
                Ok(with_pids(nodes, &pids))
            }
            Fault::Pause { nodes } => {
                for node in nodes {
                    self.control.pause(node)?;
                    self.paused.insert(node.clone());
                }
                Ok(fault.value())
            }
            Fault::Resume { nodes } => {
                let targets: Vec<&String> =
                    nodes.iter().filter(|n| self.paused.contains(*n)).collect();
                for node in targets {
                    self.control.resume(node)?;
                    self.paused.remove(node);
                }
                Ok(fault.value())
            }
            Fault::BumpClock { offsets_s } => {
                self.stop_strobe().await;
                for (node, offset_s) in offsets_s {
                    self.control.set_clock_offset(node, *offset_s)?;
                    self.offsets_s.insert(node.clone(), *offset_s);
                }
                Ok(fault.value())
            }
            Fault::StrobeClock {
                node,
                delta_s,
                period_ms,
                duration_ms,
            } => {
                self.stop_strobe().await;
                let base_s = self.offsets_s.get(node).copied().unwrap_or(0);
                // The first flip happens here, so that a node without a fake clock is an
                // error now rather than a silent failure in the background.
                self.control
                    .set_clock_offset(node, base_s.saturating_add(*delta_s))?;
                // The strobe ends at the base offset; while it runs, `self.strobe` being set
                // is what tells `pending_heals` that the clock needs a reset.
                self.offsets_s.insert(node.clone(), base_s);
                let control = Arc::clone(&self.control);
                let node = node.clone();
                let (delta_s, period_ms, duration_ms) = (*delta_s, *period_ms, *duration_ms);
                self.strobe = Some(tokio::spawn(async move {
                    strobe(&*control, &node, base_s, delta_s, period_ms, duration_ms).await;
                }));
                Ok(fault.value())
            }
            Fault::ResetClock => {
                self.stop_strobe().await;
                let mut reset = Vec::new();
                for node in &self.nodes {
                    match self.control.set_clock_offset(node, 0) {
                        Ok(()) => reset.push(node.clone()),
                        // Nodes without a fake clock have nothing to reset.
                        Err(Error::NoFakeClock(_) | Error::NotRunning(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                self.offsets_s.clear();
                Ok(map([("nodes", names(&reset))]))
            }
        }
    }

    fn require_partitions(&self) -> Result<()> {
        if self.control.supports_partitions() {
            Ok(())
        } else {
            Err(Error::Unsupported(
                "partitions and packet loss need network namespaces (run as root)".into(),
            ))
        }
    }

    /// Replaces every host's filter table with the rules of the active partition and loss.
    async fn sync_rules(&self) -> Result<()> {
        let mut tasks = tokio::task::JoinSet::new();
        for node in &self.nodes {
            let rules = self.rules_for(node)?;
            let control = Arc::clone(&self.control);
            let node = node.clone();
            tasks.spawn(async move {
                control
                    .exec_in_with_stdin(&node, &["iptables-restore", "-w"], &rules)
                    .await
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let result = joined.map_err(|e| Error::Io {
                path: "iptables-restore".into(),
                source: std::io::Error::other(e),
            });
            if let Err(e) = result.and_then(|r| r) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The `iptables-restore` input for `node`.
    pub fn rules_for(&self, node: &str) -> Result<String> {
        let mut text = String::from(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n",
        );
        if let Some((_, grudge)) = &self.partition {
            for other in grudge.get(node).into_iter().flatten() {
                let ip = self.control.ip(other)?;
                text.push_str(&format!(
                    "-A INPUT -s {ip} -j DROP\n-A OUTPUT -d {ip} -j DROP\n"
                ));
            }
        }
        if let Some(p) = self.loss {
            text.push_str(&format!(
                "-A INPUT -i eth0 -m statistic --mode random --probability {p} -j DROP\n"
            ));
        }
        text.push_str("COMMIT\n");
        Ok(text)
    }

    async fn stop_strobe(&mut self) {
        if let Some(task) = self.strobe.take() {
            task.abort();
            // Waiting for the aborted task guarantees it writes no offset after this point.
            let _ = task.await;
        }
    }

    /// The faults that undo everything in force: network rules (always, where supported,
    /// so that rules left by a crashed step go too), clocks, paused and killed nodes.
    pub fn pending_heals(&self) -> Vec<Fault> {
        let mut heals = Vec::new();
        if self.control.supports_partitions() {
            if self.loss.is_some() {
                heals.push(Fault::StopLoss);
            }
            heals.push(Fault::StopPartition);
        }
        if self.strobe.is_some() || !self.offsets_s.is_empty() {
            heals.push(Fault::ResetClock);
        }
        if !self.paused.is_empty() {
            heals.push(Fault::Resume {
                nodes: self.paused.iter().cloned().collect(),
            });
        }
        if !self.killed.is_empty() {
            heals.push(Fault::Start {
                nodes: self.killed.iter().cloned().collect(),
            });
        }
        heals
    }

    /// Undoes every fault: what the runner calls at the end of a test, on error and on
    /// Ctrl-C/SIGTERM. Keeps going past failures and reports them all.
    pub async fn heal_all(&mut self) -> Healed {
        let mut healed = Healed::default();
        for fault in self.pending_heals() {
            healed.ops.push(fault.invoke_op());
            match self.apply(&fault).await {
                Ok(op) => healed.ops.push(op),
                Err(failed) => {
                    healed.ops.push(failed.completion);
                    healed.errors.push(failed.error);
                }
            }
        }
        healed
    }
}

impl<C: Control> Drop for Nemesis<C> {
    fn drop(&mut self) {
        if let Some(task) = self.strobe.take() {
            task.abort();
        }
    }
}

fn with_pids(nodes: &[String], pids: &BTreeMap<String, u32>) -> Value {
    map([
        ("nodes", names(nodes)),
        (
            "pids",
            Value::Map(
                pids.iter()
                    .map(|(n, p)| (Value::Str(n.clone()), int(u64::from(*p))))
                    .collect(),
            ),
        ),
    ])
}

/// Flips `node`'s clock between `base_s + delta_s` (set by the caller) and `base_s` every
/// `period_ms` until `duration_ms` has passed, then leaves it at `base_s`.
async fn strobe<C: Control>(
    control: &C,
    node: &str,
    base_s: i64,
    delta_s: i64,
    period_ms: u64,
    duration_ms: u64,
) {
    let period = Duration::from_millis(period_ms.max(1));
    let end = tokio::time::Instant::now() + Duration::from_millis(duration_ms);
    let mut high = true;
    loop {
        tokio::time::sleep(period).await;
        if tokio::time::Instant::now() >= end {
            break;
        }
        high = !high;
        let offset = if high {
            base_s.saturating_add(delta_s)
        } else {
            base_s
        };
        // A failure here (the node was killed) ends nothing: the next flip may succeed after
        // a restart, and the final reset is checked by the caller.
        let _ = control.set_clock_offset(node, offset);
    }
    let _ = control.set_clock_offset(node, base_s);
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Mutex;

    use super::*;
    use crate::schedule::{schedule, FaultKind, ScheduleConfig};

    /// A control layer that records what it is asked to do, for tests without root.
    struct Fake {
        nodes: Vec<String>,
        partitions: bool,
        /// The last `iptables-restore` input per node.
        tables: Mutex<BTreeMap<String, String>>,
        log: Mutex<Vec<String>>,
        next_pid: Mutex<u32>,
    }

    impl Fake {
        fn new(n: usize, partitions: bool) -> Arc<Fake> {
            Arc::new(Fake {
                nodes: (1..=n).map(|i| format!("n{i}")).collect(),
                partitions,
                tables: Mutex::default(),
                log: Mutex::default(),
                next_pid: Mutex::new(100),
            })
        }

        fn record(&self, entry: String) {
            self.log.lock().unwrap().push(entry);
        }

        fn table(&self, node: &str) -> String {
            self.tables
                .lock()
                .unwrap()
                .get(node)
                .cloned()
                .unwrap_or_default()
        }
    }

    impl Control for Fake {
        fn node_names(&self) -> Vec<String> {
            self.nodes.clone()
        }

        fn ip(&self, node: &str) -> Result<Ipv4Addr> {
            let i = self
                .nodes
                .iter()
                .position(|n| n == node)
                .ok_or_else(|| Error::UnknownNode(node.into()))?;
            Ok(Ipv4Addr::new(192, 168, 240, 11 + i as u8))
        }

        fn supports_partitions(&self) -> bool {
            self.partitions
        }

        async fn exec_in(&self, node: &str, argv: &[&str]) -> Result<String> {
            self.record(format!("{node}: {}", argv.join(" ")));
            Ok(String::new())
        }

        async fn exec_in_with_stdin(
            &self,
            node: &str,
            argv: &[&str],
            stdin: &str,
        ) -> Result<String> {
            self.record(format!("{node}: {}", argv.join(" ")));
            self.tables
                .lock()
                .unwrap()
                .insert(node.into(), stdin.into());
            Ok(String::new())
        }

        async fn kill(&self, node: &str) -> Result<u32> {
            self.record(format!("kill {node}"));
            Ok(1)
        }

        async fn restart(&self, node: &str) -> Result<u32> {
            self.record(format!("restart {node}"));
            let mut pid = self.next_pid.lock().unwrap();
            *pid += 1;
            Ok(*pid)
        }

        fn pause(&self, node: &str) -> Result<()> {
            self.record(format!("pause {node}"));
            Ok(())
        }

        fn resume(&self, node: &str) -> Result<()> {
            self.record(format!("resume {node}"));
            Ok(())
        }

        fn set_clock_offset(&self, node: &str, offset_s: i64) -> Result<()> {
            if node == "n3" {
                return Err(Error::NoFakeClock(node.into()));
            }
            self.record(format!("clock {node} {offset_s:+}"));
            Ok(())
        }
    }

    fn isolate_n1() -> Fault {
        let nodes: Vec<String> = ["n1", "n2", "n3"].map(String::from).to_vec();
        Fault::StartPartition {
            shape: Shape::IsolateOne,
            grudge: crate::partition::grudge_from_components(
                &nodes,
                &[vec!["n1".into()], vec!["n2".into(), "n3".into()]],
            ),
        }
    }

    const EMPTY: &str =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

    #[tokio::test]
    async fn partition_and_loss_rules_are_kept_apart() {
        let fake = Fake::new(3, true);
        let mut nemesis = Nemesis::new(Arc::clone(&fake));
        nemesis.apply(&isolate_n1()).await.unwrap();
        nemesis
            .apply(&Fault::StartLoss { probability: 0.25 })
            .await
            .unwrap();
        assert_eq!(
            fake.table("n1"),
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             -A INPUT -s 192.168.240.12 -j DROP\n-A OUTPUT -d 192.168.240.12 -j DROP\n\
             -A INPUT -s 192.168.240.13 -j DROP\n-A OUTPUT -d 192.168.240.13 -j DROP\n\
             -A INPUT -i eth0 -m statistic --mode random --probability 0.25 -j DROP\n\
             COMMIT\n"
        );
        nemesis.apply(&Fault::StopLoss).await.unwrap();
        assert!(fake.table("n2").contains("-s 192.168.240.11 -j DROP"));
        assert!(!fake.table("n2").contains("statistic"));
        let done = nemesis.apply(&Fault::StopPartition).await.unwrap();
        assert_eq!(
            done.value.to_json().to_string(),
            r#"{"healed":{"grudge":{"n1":["n2","n3"],"n2":["n1"],"n3":["n1"]},"shape":"one"},"nodes":["n1","n2","n3"]}"#
        );
        for node in ["n1", "n2", "n3"] {
            assert_eq!(fake.table(node), EMPTY);
        }
    }

    #[tokio::test]
    async fn network_faults_are_refused_without_namespaces() {
        let fake = Fake::new(3, false);
        let mut nemesis = Nemesis::new(Arc::clone(&fake));
        let failed = nemesis.apply(&isolate_n1()).await.unwrap_err();
        assert!(matches!(failed.error, Error::Unsupported(_)));
        assert_eq!(failed.completion.f, "start-partition");
        assert!(failed.completion.error.is_some());
        assert!(nemesis.pending_heals().is_empty());
    }

    #[tokio::test]
    async fn invalid_faults_are_errors() {
        let mut nemesis = Nemesis::new(Fake::new(3, true));
        let leader = Fault::StartPartition {
            shape: Shape::Leader,
            grudge: Grudge::new(),
        };
        assert!(matches!(
            nemesis.apply(&leader).await.unwrap_err().error,
            Error::InvalidFault(_)
        ));
        for probability in [0.0, -1.0, 1.5, f64::NAN] {
            assert!(nemesis
                .apply(&Fault::StartLoss { probability })
                .await
                .is_err());
        }
    }

    #[tokio::test]
    async fn heal_all_undoes_kills_pauses_and_clocks() {
        let fake = Fake::new(3, true);
        let mut nemesis = Nemesis::new(Arc::clone(&fake));
        let kill = Fault::Kill {
            nodes: vec!["n2".into()],
        };
        let done = nemesis.apply(&kill).await.unwrap();
        assert_eq!(
            done.value.to_json().to_string(),
            r#"{"nodes":["n2"],"pids":{"n2":1}}"#
        );
        nemesis
            .apply(&Fault::Pause {
                nodes: vec!["n1".into()],
            })
            .await
            .unwrap();
        nemesis
            .apply(&Fault::BumpClock {
                offsets_s: [("n1".to_string(), 30)].into(),
            })
            .await
            .unwrap();
        let healed = nemesis.heal_all().await;
        assert!(healed.errors.is_empty(), "{:?}", healed.errors);
        let ops: Vec<String> = healed
            .ops
            .iter()
            .map(|op| format!("{} {} {}", op.kind, op.f, op.value.to_json()))
            .collect();
        assert_eq!(
            ops,
            [
                "info stop-partition null",
                r#"info stop-partition {"healed":null,"nodes":["n1","n2","n3"]}"#,
                "info reset-clock null",
                // n3 has no fake clock: it is left out rather than failing the reset.
                r#"info reset-clock {"nodes":["n1","n2"]}"#,
                r#"info resume {"nodes":["n1"]}"#,
                r#"info resume {"nodes":["n1"]}"#,
                r#"info start {"nodes":["n2"]}"#,
                r#"info start {"nodes":["n2"],"pids":{"n2":101}}"#,
            ]
        );
        assert!(healed
            .ops
            .iter()
            .all(|op| op.process == schism_histories::Process::Nemesis));
        assert!(nemesis.killed().is_empty() && nemesis.paused().is_empty());
        assert_eq!(nemesis.pending_heals(), [Fault::StopPartition]);
    }

    #[tokio::test]
    async fn a_whole_schedule_applies_and_heals() {
        let fake = Fake::new(5, true);
        let mut nemesis = Nemesis::new(Arc::clone(&fake));
        let mut config = ScheduleConfig::new(FaultKind::ALL.into(), 1_000);
        // Strobes run in the background for their duration; keep them short here.
        config.interval_ms = 1;
        for step in schedule(&config, &fake.nodes, 5).take(61) {
            if let Err(failed) = nemesis.apply(&step.fault).await {
                // Only n3's clock cannot move in the fake.
                assert!(matches!(failed.error, Error::NoFakeClock(_)), "{failed}");
            }
        }
        let healed = nemesis.heal_all().await;
        assert!(healed.errors.is_empty(), "{:?}", healed.errors);
        assert!(nemesis.killed().is_empty() && nemesis.paused().is_empty());
        assert!(nemesis.partition().is_none());
        for node in &fake.nodes {
            assert_eq!(fake.table(node), EMPTY);
        }
    }
}
