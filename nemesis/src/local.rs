//! Local test hosts: one Linux network namespace per host, all on one bridge, as NETWORK.md
//! prescribes.
//!
//! Cluster `k` (0..=15) owns `192.168.(240+k).0/24`: host `n<i>` sits at `.(10+i)` in the
//! namespace `sch<k>-n<i>`, the bridge `br0` in the switch namespace `sch<k>-sw`, and the
//! harness reaches them through the veth `sch<k>-up` carrying `.1` in the root namespace.
//!
//! **Invariant:** no host is created before the root namespace holds the fallback route
//! `blackhole 192.168.240.0/20 metric 4096`, so that traffic to the range can never follow the
//! default route off the machine, even after the cluster's link is gone.
//!
//! Without root, [`LocalCluster::loopback`] gives hosts at `127.0.0.(10+i)` in the root
//! namespace: processes, pauses, kills and clocks work; partitions and packet loss do not.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::cleanup;
use crate::cmd;
use crate::control::Control;
use crate::error::{Error, Result};

/// The shared object libfaketime is loaded from (Debian package `faketime`).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The only range local hosts may use (NETWORK.md).
pub const RANGE: &str = "192.168.240.0/20";

/// The most clusters that can exist at once: `192.168.240.0/24` to `192.168.255.0/24`.
pub const MAX_CLUSTER: u8 = 15;

/// The most hosts per cluster; host addresses `.11` to `.210` stay clear of `.1` and `.255`.
pub const MAX_NODES: usize = 200;

/// How to run a node's process.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Added to the harness's environment.
    pub env: BTreeMap<String, String>,
    /// The working directory; namespaces share the filesystem, so give each node its own.
    pub cwd: Option<PathBuf>,
    /// Files the process's stdout and stderr are appended to; `None` discards the stream.
    pub stdout: Option<PathBuf>,
    pub stderr: Option<PathBuf>,
    /// Runs the process under libfaketime so that [`LocalCluster::set_clock_offset`] can move
    /// its wall clock (C and Rust binaries; Go binaries bypass libc and are not affected).
    /// The node's offset file starts at `+0` and survives restarts: it is the host's clock.
    pub skewable_clock: bool,
}

impl NodeSpec {
    pub fn new(program: impl Into<String>) -> NodeSpec {
        NodeSpec {
            program: program.into(),
            ..NodeSpec::default()
        }
    }

    pub fn args<I, S>(mut self, args: I) -> NodeSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> NodeSpec {
        self.env.insert(key.into(), value.into());
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> NodeSpec {
        self.cwd = Some(dir.into());
        self
    }

    /// Sends both streams to the same file.
    pub fn log(mut self, path: impl Into<PathBuf>) -> NodeSpec {
        let path = path.into();
        self.stdout = Some(path.clone());
        self.stderr = Some(path);
        self
    }

    pub fn skewable_clock(mut self, on: bool) -> NodeSpec {
        self.skewable_clock = on;
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Namespaces { k: u8 },
    Loopback,
}

/// One host's process, as last spawned.
#[derive(Default)]
struct Slot {
    spec: Option<NodeSpec>,
    child: Option<tokio::process::Child>,
    pid: Option<u32>,
    paused: bool,
    clock_offset_s: i64,
}

/// A local cluster of hosts. Dropping it tears it down (best effort, synchronously); call
/// [`LocalCluster::teardown`] to do so with errors reported.
pub struct LocalCluster {
    mode: Mode,
    nodes: Vec<String>,
    scratch: PathBuf,
    slots: Mutex<BTreeMap<String, Slot>>,
    /// Every PID this cluster ever spawned, to remove their libfaketime files at teardown.
    spawned: Mutex<BTreeSet<u32>>,
    torn_down: AtomicBool,
}

/// Serial numbers for loopback scratch directories, so that several loopback clusters in one
/// process never share one.
static LOOPBACK_SERIAL: AtomicU32 = AtomicU32::new(0);

/// The scratch directory of namespace cluster `k`: faketime files live here.
pub fn scratch_dir(k: u8) -> PathBuf {
    std::env::temp_dir().join(format!("schism-sch{k}"))
}

/// The namespace of host `i` (1-based) of cluster `k`.
pub fn host_namespace(k: u8, i: usize) -> String {
    format!("sch{k}-n{i}")
}

/// The switch namespace of cluster `k`, which holds the bridge.
pub fn switch_namespace(k: u8) -> String {
    format!("sch{k}-sw")
}

/// The root-namespace end of cluster `k`'s uplink veth, which carries the harness address.
pub fn uplink(k: u8) -> String {
    format!("sch{k}-up")
}

/// Host `i`'s address in cluster `k`.
pub fn host_ip(k: u8, i: usize) -> Ipv4Addr {
    // Callers validate k <= 15 and i <= 200, so neither octet can overflow; saturate anyway
    // rather than wrap, since a wrapped address could leave the range.
    Ipv4Addr::new(
        192,
        168,
        240u8.saturating_add(k),
        u8::try_from(10 + i).unwrap_or(u8::MAX),
    )
}

/// Adds the blackhole route for 192.168.240.0/20 if it is missing, then checks it is there.
pub async fn ensure_blackhole() -> Result<()> {
    let argv = ["ip", "route", "add", "blackhole", RANGE, "metric", "4096"];
    match cmd::run(&argv).await {
        Ok(_) => {}
        Err(Error::Command { stderr, .. }) if stderr.contains("File exists") => {}
        Err(e) => return Err(e),
    }
    if blackhole_present().await? {
        Ok(())
    } else {
        Err(Error::NoBlackhole)
    }
}

/// Whether the root namespace's routing table holds the blackhole route for the range.
pub async fn blackhole_present() -> Result<bool> {
    let routes = cmd::run(&["ip", "route", "show"]).await?;
    Ok(routes
        .lines()
        .any(|line| line.trim_start().starts_with(&format!("blackhole {RANGE}"))))
}

impl LocalCluster {
    /// Builds cluster `k` with `nodes` hosts in network namespaces. On any error, tears down
    /// what it built before returning it.
    pub async fn create(k: u8, nodes: usize) -> Result<LocalCluster> {
        if k > MAX_CLUSTER {
            return Err(Error::InvalidCluster(format!(
                "cluster number {k} is outside 0..={MAX_CLUSTER}"
            )));
        }
        check_node_count(nodes)?;
        if !cmd::is_root() {
            return Err(Error::NotRoot);
        }
        ensure_blackhole().await?;
        let existing = cleanup::namespaces_of(k).await?;
        if !existing.is_empty() {
            return Err(Error::ClusterExists {
                k,
                names: existing.join(", "),
            });
        }
        let scratch = scratch_dir(k);
        let cluster = LocalCluster::new(Mode::Namespaces { k }, nodes, scratch.clone());
        if let Err(e) = cluster.build(k).await {
            // The build error is what the caller needs to see; a teardown failure on top of it
            // is left for `schism cleanup`.
            let _ = cluster.teardown().await;
            return Err(e);
        }
        Ok(cluster)
    }

    /// A cluster of `nodes` hosts on loopback addresses `127.0.0.(10+i)`, needing no root.
    /// Partitions and packet loss are unsupported ([`LocalCluster::supports_partitions`]).
    pub fn loopback(nodes: usize) -> Result<LocalCluster> {
        check_node_count(nodes)?;
        let serial = LOOPBACK_SERIAL.fetch_add(1, Ordering::Relaxed);
        let scratch =
            std::env::temp_dir().join(format!("schism-lo-{}-{serial}", std::process::id()));
        let cluster = LocalCluster::new(Mode::Loopback, nodes, scratch.clone());
        recreate_dir(&scratch)?;
        Ok(cluster)
    }

    fn new(mode: Mode, nodes: usize, scratch: PathBuf) -> LocalCluster {
        let names: Vec<String> = (1..=nodes).map(|i| format!("n{i}")).collect();
        let slots = names.iter().map(|n| (n.clone(), Slot::default())).collect();
        LocalCluster {
            mode,
            nodes: names,
            scratch,
            slots: Mutex::new(slots),
            spawned: Mutex::new(BTreeSet::new()),
            torn_down: AtomicBool::new(false),
        }
    }

    async fn build(&self, k: u8) -> Result<()> {
        recreate_dir(&self.scratch)?;
        let sw = switch_namespace(k);
        cmd::run(&["ip", "netns", "add", &sw]).await?;
        cmd::run(&["ip", "-n", &sw, "link", "add", "br0", "type", "bridge"]).await?;
        cmd::run(&["ip", "-n", &sw, "link", "set", "br0", "up"]).await?;
        for i in 1..=self.nodes.len() {
            let ns = host_namespace(k, i);
            let port = format!("n{i}");
            let addr = format!("{}/24", host_ip(k, i));
            cmd::run(&["ip", "netns", "add", &ns]).await?;
            cmd::run(&["ip", "-n", &ns, "link", "set", "lo", "up"]).await?;
            cmd::run(&[
                "ip", "link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port,
                "netns", &sw,
            ])
            .await?;
            cmd::run(&["ip", "-n", &sw, "link", "set", &port, "master", "br0", "up"]).await?;
            cmd::run(&["ip", "-n", &ns, "addr", "add", &addr, "dev", "eth0"]).await?;
            cmd::run(&["ip", "-n", &ns, "link", "set", "eth0", "up"]).await?;
        }
        let up = uplink(k);
        let harness = format!("{}/24", self.harness_ip());
        cmd::run(&[
            "ip", "link", "add", &up, "type", "veth", "peer", "name", "uplink", "netns", &sw,
        ])
        .await?;
        cmd::run(&[
            "ip", "-n", &sw, "link", "set", "uplink", "master", "br0", "up",
        ])
        .await?;
        cmd::run(&["ip", "addr", "add", &harness, "dev", &up]).await?;
        cmd::run(&["ip", "link", "set", &up, "up"]).await?;
        // The connected route must now win over the blackhole; if it does not, traffic to the
        // hosts would die, and a test would fail for a reason that has nothing to do with it.
        let first = host_ip(k, 1).to_string();
        let route = cmd::run(&["ip", "route", "get", &first]).await?;
        if !route.contains(&format!("dev {up}")) {
            return Err(Error::Command {
                command: format!("ip route get {first}"),
                status: "unexpected route".into(),
                stderr: route.trim().to_string(),
            });
        }
        Ok(())
    }

    /// The hosts' names: `n1` .. `nN`.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.clone()
    }

    /// The cluster number, or `None` in loopback mode.
    pub fn cluster_number(&self) -> Option<u8> {
        match self.mode {
            Mode::Namespaces { k } => Some(k),
            Mode::Loopback => None,
        }
    }

    /// Where the cluster keeps its own files (faketime offsets). Removed at teardown.
    pub fn scratch_dir(&self) -> &Path {
        &self.scratch
    }

    fn index(&self, node: &str) -> Result<usize> {
        let i = self
            .nodes
            .iter()
            .position(|n| n == node)
            .ok_or_else(|| Error::UnknownNode(node.to_string()))?;
        Ok(i + 1)
    }

    /// The address of `node`.
    pub fn ip(&self, node: &str) -> Result<Ipv4Addr> {
        let i = self.index(node)?;
        Ok(match self.mode {
            Mode::Namespaces { k } => host_ip(k, i),
            Mode::Loopback => Ipv4Addr::new(127, 0, 0, u8::try_from(10 + i).unwrap_or(u8::MAX)),
        })
    }

    /// The address the hosts see the harness (and its clients) at.
    pub fn harness_ip(&self) -> Ipv4Addr {
        match self.mode {
            Mode::Namespaces { k } => Ipv4Addr::new(192, 168, 240u8.saturating_add(k), 1),
            Mode::Loopback => Ipv4Addr::LOCALHOST,
        }
    }

    /// Whether hosts can be partitioned or made to lose packets (namespaces only).
    pub fn supports_partitions(&self) -> bool {
        matches!(self.mode, Mode::Namespaces { .. })
    }

    /// The namespace of `node`, or `None` in loopback mode.
    pub fn namespace(&self, node: &str) -> Result<Option<String>> {
        let i = self.index(node)?;
        Ok(match self.mode {
            Mode::Namespaces { k } => Some(host_namespace(k, i)),
            Mode::Loopback => None,
        })
    }

    fn lock_slots(&self) -> MutexGuard<'_, BTreeMap<String, Slot>> {
        // A poisoned lock only means another thread panicked mid-update; the table is still
        // the best record of which processes to kill.
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faketime_file(&self, node: &str) -> PathBuf {
        self.scratch.join(format!("faketime-{node}"))
    }

    /// Runs `spec` in `node`'s namespace and returns its PID, which is the node's own:
    /// `ip netns exec` replaces itself with the program.
    pub async fn spawn(&self, node: &str, spec: NodeSpec) -> Result<u32> {
        if self.torn_down.load(Ordering::SeqCst) {
            return Err(Error::TornDown);
        }
        let ns = self.namespace(node)?;
        {
            let mut slots = self.lock_slots();
            if let Some(slot) = slots.get_mut(node) {
                if let (Some(pid), Some(child)) = (slot.pid, slot.child.as_mut()) {
                    // A process that exited on its own (a crashed node) may be started again;
                    // `try_wait` has reaped it.
                    if matches!(child.try_wait(), Ok(Some(_))) {
                        slot.pid = None;
                        slot.child = None;
                        slot.paused = false;
                    } else {
                        return Err(Error::AlreadyRunning(node.to_string(), pid));
                    }
                }
            }
        }
        let mut argv: Vec<String> = Vec::new();
        if let Some(ns) = &ns {
            argv.extend(["ip".into(), "netns".into(), "exec".into(), ns.clone()]);
        }
        argv.push(spec.program.clone());
        argv.extend(spec.args.iter().cloned());
        let Some((program, args)) = argv.split_first() else {
            return Err(Error::Missing("a program to run".into()));
        };
        let mut command = tokio::process::Command::new(program);
        command.args(args).envs(&spec.env).stdin(Stdio::null());
        if spec.skewable_clock {
            if !Path::new(LIBFAKETIME).exists() {
                return Err(Error::Missing(format!(
                    "{LIBFAKETIME} (install the Debian package faketime)"
                )));
            }
            let file = self.faketime_file(node);
            if !file.exists() {
                write_atomically(&file, "+0\n")?;
            }
            command
                .env("LD_PRELOAD", LIBFAKETIME)
                .env("FAKETIME_TIMESTAMP_FILE", &file)
                .env("FAKETIME_NO_CACHE", "1")
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
        }
        if let Some(cwd) = &spec.cwd {
            command.current_dir(cwd);
        }
        command.stdout(log_stdio(spec.stdout.as_deref())?);
        command.stderr(log_stdio(spec.stderr.as_deref())?);
        // Its own process group keeps a Ctrl-C at the terminal from killing the nodes before
        // the nemesis has healed and the harness has collected their logs.
        command.process_group(0).kill_on_drop(false);
        let child = command.spawn().map_err(|source| Error::Spawn {
            command: argv.join(" "),
            source,
        })?;
        let pid = child
            .id()
            .ok_or_else(|| Error::NotRunning(node.to_string()))?;
        self.spawned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid);
        let mut slots = self.lock_slots();
        let slot = slots.entry(node.to_string()).or_default();
        slot.spec = Some(spec);
        slot.child = Some(child);
        slot.pid = Some(pid);
        slot.paused = false;
        Ok(pid)
    }

    /// The PID of `node`'s process, if it was spawned and not killed since.
    pub fn pid(&self, node: &str) -> Option<u32> {
        self.lock_slots().get(node).and_then(|s| s.pid)
    }

    /// Whether `node`'s process is running (it may have exited on its own).
    pub fn is_running(&self, node: &str) -> bool {
        let mut slots = self.lock_slots();
        match slots.get_mut(node).and_then(|s| s.child.as_mut()) {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILLs `node`'s process and waits for it to exit; returns the PID it had.
    pub async fn kill(&self, node: &str) -> Result<u32> {
        self.index(node)?;
        let (pid, child) = {
            let mut slots = self.lock_slots();
            let slot = slots
                .get_mut(node)
                .ok_or_else(|| Error::UnknownNode(node.to_string()))?;
            match (slot.pid.take(), slot.child.take()) {
                (Some(pid), Some(child)) => {
                    slot.paused = false;
                    (pid, child)
                }
                _ => return Err(Error::NotRunning(node.to_string())),
            }
        };
        kill_and_wait(node, pid, child).await?;
        Ok(pid)
    }

    /// Spawns `node`'s process again from the spec it was last spawned with.
    pub async fn restart(&self, node: &str) -> Result<u32> {
        let spec = self
            .lock_slots()
            .get(node)
            .and_then(|s| s.spec.clone())
            .ok_or_else(|| Error::NotRunning(node.to_string()))?;
        self.spawn(node, spec).await
    }

    fn send(&self, node: &str, signal: libc::c_int, name: &'static str) -> Result<()> {
        let mut slots = self.lock_slots();
        let slot = slots
            .get_mut(node)
            .ok_or_else(|| Error::UnknownNode(node.to_string()))?;
        let pid = slot
            .pid
            .ok_or_else(|| Error::NotRunning(node.to_string()))?;
        cmd::signal(pid, signal).map_err(|source| Error::Signal {
            node: node.to_string(),
            pid,
            signal: name,
            source,
        })?;
        slot.paused = signal == libc::SIGSTOP;
        drop(slots);
        // Signals are delivered asynchronously; waiting (briefly, boundedly) for the state to
        // show means that a paused node is really stopped when `pause` returns.
        cmd::wait_stopped_sync(pid, signal == libc::SIGSTOP, 1_000);
        Ok(())
    }

    /// SIGSTOPs `node`'s process.
    pub fn pause(&self, node: &str) -> Result<()> {
        self.send(node, libc::SIGSTOP, "SIGSTOP")
    }

    /// SIGCONTs `node`'s process.
    pub fn resume(&self, node: &str) -> Result<()> {
        self.send(node, libc::SIGCONT, "SIGCONT")
    }

    /// Whether `node`'s process is stopped by [`LocalCluster::pause`].
    pub fn is_paused(&self, node: &str) -> bool {
        self.lock_slots().get(node).is_some_and(|s| s.paused)
    }

    /// Moves `node`'s wall clock to real time plus `offset_s`, live: libfaketime rereads the
    /// file on every clock call (`FAKETIME_NO_CACHE=1`). The node must have been spawned with
    /// [`NodeSpec::skewable_clock`].
    pub fn set_clock_offset(&self, node: &str, offset_s: i64) -> Result<()> {
        let mut slots = self.lock_slots();
        let slot = slots
            .get_mut(node)
            .ok_or_else(|| Error::UnknownNode(node.to_string()))?;
        if !slot.spec.as_ref().is_some_and(|s| s.skewable_clock) {
            return Err(Error::NoFakeClock(node.to_string()));
        }
        write_atomically(&self.faketime_file(node), &format!("{offset_s:+}s\n"))?;
        slot.clock_offset_s = offset_s;
        Ok(())
    }

    /// The offset last set with [`LocalCluster::set_clock_offset`].
    pub fn clock_offset(&self, node: &str) -> i64 {
        self.lock_slots().get(node).map_or(0, |s| s.clock_offset_s)
    }

    /// Runs `argv` in `node`'s namespace (for iptables) and returns its stdout. Loopback
    /// hosts have no namespace, and running iptables in the root namespace would touch the
    /// machine's own firewall, so this is unsupported there.
    pub async fn exec_in(&self, node: &str, argv: &[&str]) -> Result<String> {
        let full = self.in_namespace(node, argv)?;
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        cmd::run(&full).await
    }

    /// As [`LocalCluster::exec_in`], with `stdin` fed to the command.
    pub async fn exec_in_with_stdin(
        &self,
        node: &str,
        argv: &[&str],
        stdin: &str,
    ) -> Result<String> {
        let full = self.in_namespace(node, argv)?;
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        cmd::run_with_stdin(&full, Some(stdin)).await
    }

    fn in_namespace(&self, node: &str, argv: &[&str]) -> Result<Vec<String>> {
        if self.torn_down.load(Ordering::SeqCst) {
            return Err(Error::TornDown);
        }
        let ns = self.namespace(node)?.ok_or_else(|| {
            Error::Unsupported(format!(
                "loopback host {node} has no namespace to run `{}` in",
                cmd::show(argv)
            ))
        })?;
        let mut full = vec!["ip".to_string(), "netns".into(), "exec".into(), ns];
        full.extend(argv.iter().map(|s| s.to_string()));
        Ok(full)
    }

    /// Kills every process the cluster started (by PID, waiting for each), deletes its
    /// namespaces and uplink veth, removes the libfaketime files of its PIDs and its scratch
    /// directory. Idempotent: a second call finds nothing left and succeeds.
    pub async fn teardown(&self) -> Result<cleanup::CleanupSummary> {
        self.torn_down.store(true, Ordering::SeqCst);
        let children: Vec<(String, u32, tokio::process::Child)> = {
            let mut slots = self.lock_slots();
            slots
                .iter_mut()
                .filter_map(|(node, slot)| {
                    slot.paused = false;
                    match (slot.pid.take(), slot.child.take()) {
                        (Some(pid), Some(child)) => Some((node.clone(), pid, child)),
                        _ => None,
                    }
                })
                .collect()
        };
        let mut first_error = None;
        let mut summary = cleanup::CleanupSummary::default();
        for (node, pid, child) in children {
            match kill_and_wait(&node, pid, child).await {
                Ok(()) => summary.killed.push(pid),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let pids: BTreeSet<u32> = self
            .spawned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mode = self.mode;
        let scratch = self.scratch.clone();
        let rest = tokio::task::spawn_blocking(move || finish_teardown(mode, &pids, &scratch))
            .await
            .map_err(|e| Error::Io {
                path: PathBuf::from("teardown"),
                source: std::io::Error::other(e),
            })?;
        match rest {
            Ok(more) => summary.merge(more),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }

    /// The synchronous, best-effort teardown run by `Drop`.
    fn teardown_sync(&self) {
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let children: Vec<(u32, tokio::process::Child)> = {
            let mut slots = self.lock_slots();
            slots
                .values_mut()
                .filter_map(|slot| match (slot.pid.take(), slot.child.take()) {
                    (Some(pid), Some(child)) => Some((pid, child)),
                    _ => None,
                })
                .collect()
        };
        for (pid, mut child) in children {
            let _ = child.start_kill();
            reap_sync(pid);
        }
        let pids = self
            .spawned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let _ = finish_teardown(self.mode, &pids, &self.scratch);
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.teardown_sync();
    }
}

fn check_node_count(nodes: usize) -> Result<()> {
    if (1..=MAX_NODES).contains(&nodes) {
        Ok(())
    } else {
        Err(Error::InvalidCluster(format!(
            "{nodes} nodes is outside 1..={MAX_NODES}"
        )))
    }
}

fn recreate_dir(dir: &Path) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)
}

/// Writes through a temporary file and a rename, so that a node reading its clock offset in
/// the middle of a change sees the old or the new offset, never half a line.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|source| Error::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn log_stdio(path: Option<&Path>) -> Result<Stdio> {
    match path {
        None => Ok(Stdio::null()),
        Some(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Stdio::from)
            .map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            }),
    }
}

async fn kill_and_wait(node: &str, pid: u32, mut child: tokio::process::Child) -> Result<()> {
    // A process that already exited cannot be signalled; waiting on it still reaps it.
    if let Ok(None) = child.try_wait() {
        child.start_kill().map_err(|source| Error::Signal {
            node: node.to_string(),
            pid,
            signal: "SIGKILL",
            source,
        })?;
    }
    child.wait().await.map_err(|source| Error::Signal {
        node: node.to_string(),
        pid,
        signal: "SIGKILL",
        source,
    })?;
    Ok(())
}

/// Reaps a SIGKILLed child without a runtime: a bounded `waitpid` poll.
fn reap_sync(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    for _ in 0..500 {
        let mut status = 0;
        // SAFETY: waitpid on a positive pid with WNOHANG only inspects that child.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc != 0 {
            // Reaped (rc == pid) or not our child any more (rc == -1, ECHILD).
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Everything after the cluster's own children are dead: the namespaces (and whatever still
/// runs in them), the uplink, libfaketime's files for our PIDs, the scratch directory.
fn finish_teardown(
    mode: Mode,
    pids: &BTreeSet<u32>,
    scratch: &Path,
) -> Result<cleanup::CleanupSummary> {
    let mut summary = match mode {
        Mode::Namespaces { k } => cleanup::cleanup_cluster_sync(k)?,
        Mode::Loopback => cleanup::CleanupSummary::default(),
    };
    for pid in pids {
        summary.files.extend(cleanup::remove_faketime_files(*pid)?);
    }
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).map_err(|source| Error::Io {
            path: scratch.to_path_buf(),
            source,
        })?;
        summary.files.push(scratch.to_path_buf());
    }
    Ok(summary)
}

impl Control for LocalCluster {
    fn node_names(&self) -> Vec<String> {
        LocalCluster::node_names(self)
    }

    fn ip(&self, node: &str) -> Result<Ipv4Addr> {
        LocalCluster::ip(self, node)
    }

    fn supports_partitions(&self) -> bool {
        LocalCluster::supports_partitions(self)
    }

    async fn exec_in(&self, node: &str, argv: &[&str]) -> Result<String> {
        LocalCluster::exec_in(self, node, argv).await
    }

    async fn exec_in_with_stdin(&self, node: &str, argv: &[&str], stdin: &str) -> Result<String> {
        LocalCluster::exec_in_with_stdin(self, node, argv, stdin).await
    }

    async fn kill(&self, node: &str) -> Result<u32> {
        LocalCluster::kill(self, node).await
    }

    async fn restart(&self, node: &str) -> Result<u32> {
        LocalCluster::restart(self, node).await
    }

    fn pause(&self, node: &str) -> Result<()> {
        LocalCluster::pause(self, node)
    }

    fn resume(&self, node: &str) -> Result<()> {
        LocalCluster::resume(self, node)
    }

    fn set_clock_offset(&self, node: &str, offset_s: i64) -> Result<()> {
        LocalCluster::set_clock_offset(self, node, offset_s)
    }
}
