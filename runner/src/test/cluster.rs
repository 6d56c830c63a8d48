//! The nodes of a local cluster as processes the harness started: spawned with their output
//! in the run directory, stopped by PID at the end (never by name).
//!
//! This is the loopback control layer: every node on 127.0.0.1 with its own port. Network
//! namespaces, partitions and clocks come from the nemesis crate.

use std::fs::File;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::test::config::TestConfig;
use crate::test::db;
use crate::test::store::RunDir;

/// One node process.
#[derive(Debug)]
pub struct NodeProc {
    pub name: String,
    pub addr: String,
    program: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
    child: Option<Child>,
}

impl NodeProc {
    fn spawn(&mut self) -> Result<(), String> {
        let log = |file: &str| {
            File::options()
                .create(true)
                .append(true)
                .open(self.dir.join(file))
                .map_err(|e| format!("failed to open {}: {e}", self.dir.join(file).display()))
        };
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log("stdout.log")?)
            .stderr(log("stderr.log")?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("failed to start {}: {e}", self.program.display()))?;
        self.child = Some(child);
        Ok(())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    fn signal(&self, signal: i32) -> bool {
        match self.pid().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a PID this harness spawned and has not yet reaped.
            Some(pid) => unsafe { libc::kill(pid, signal) == 0 },
            None => false,
        }
    }

    /// Kills the node (SIGKILL) and reaps it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
    }

    /// Stops the node: SIGCONT (in case it is paused), SIGTERM, then SIGKILL after 2 s.
    pub async fn stop(&mut self) {
        self.signal(libc::SIGCONT);
        self.signal(libc::SIGTERM);
        if let Some(child) = self.child.as_mut() {
            if tokio::time::timeout(Duration::from_secs(2), child.wait())
                .await
                .is_ok()
            {
                self.child = None;
                return;
            }
        }
        self.kill().await;
    }

    pub fn pause(&self) -> bool {
        self.signal(libc::SIGSTOP)
    }

    pub fn resume(&self) -> bool {
        self.signal(libc::SIGCONT)
    }

    pub fn restart(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        self.spawn()
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// The nodes of one test.
#[derive(Debug)]
pub struct Cluster {
    pub nodes: Vec<NodeProc>,
}

impl Cluster {
    /// Starts every node, its logs and data under `nodes/<node>/` of the run directory.
    pub fn start(cfg: &TestConfig, run: &RunDir) -> Result<Cluster, String> {
        let mut cluster = Cluster { nodes: Vec::new() };
        for (i, name) in cfg.nodes.iter().enumerate() {
            let dir = run.node_dir(name);
            let data = dir.join("data");
            std::fs::create_dir_all(&data)
                .map_err(|e| format!("failed to create {}: {e}", data.display()))?;
            let mut node = NodeProc {
                name: name.clone(),
                addr: cfg.node_addr(i),
                program: cfg.mmkv_bin.clone(),
                args: db::mmkv_args(cfg, i, &data),
                dir,
                child: None,
            };
            node.spawn()?;
            cluster.nodes.push(node);
        }
        Ok(cluster)
    }

    /// (name, address) of every node.
    pub fn addrs(&self) -> Vec<(String, String)> {
        self.nodes
            .iter()
            .map(|n| (n.name.clone(), n.addr.clone()))
            .collect()
    }

    /// Stops every node and waits for it to exit.
    pub async fn stop(&mut self) {
        for node in &mut self.nodes {
            node.stop().await;
        }
    }
}
