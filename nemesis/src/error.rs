//! The errors of the control layer and the nemesis.

use std::path::PathBuf;

/// What went wrong while building a cluster, running a node or applying a fault.
///
/// Messages are lowercase fragments that read well after "failed to ...:".
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Network namespaces, veths and iptables need CAP_NET_ADMIN.
    #[error("network namespaces need root (CAP_NET_ADMIN); run as root or use loopback mode")]
    NotRoot,
    /// A command ran and exited with a failure status.
    #[error("command `{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    /// A command could not be started at all (missing binary, bad cwd).
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A file in the cluster's scratch directory or in /dev/shm could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A signal could not be delivered to a node's process.
    #[error("could not send {signal} to pid {pid} of node {node}: {source}")]
    Signal {
        node: String,
        pid: u32,
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The cluster number is outside 0..=15 or the node count outside 1..=200.
    #[error("invalid cluster: {0}")]
    InvalidCluster(String),
    /// The safety net of NETWORK.md is missing: no test traffic may be sent without it.
    #[error("the blackhole route 192.168.240.0/20 is not in the root namespace's table after adding it; refusing to create hosts")]
    NoBlackhole,
    /// Namespaces of this cluster number already exist (a concurrent run or a leftover).
    #[error("cluster sch{k} already exists ({names}); run `schism cleanup` if it is a leftover")]
    ClusterExists { k: u8, names: String },
    /// No node has that name in this cluster.
    #[error("no node named {0:?} in this cluster")]
    UnknownNode(String),
    /// The node has never been spawned, or was killed and not restarted.
    #[error("node {0} has no running process")]
    NotRunning(String),
    /// A node may only run one process at a time.
    #[error("node {0} already runs a process (pid {1})")]
    AlreadyRunning(String, u32),
    /// The node's process was not spawned with a skewable clock.
    #[error("node {0} was not spawned with a skewable clock (NodeSpec::skewable_clock)")]
    NoFakeClock(String),
    /// A required file or program is not installed.
    #[error("missing prerequisite: {0}")]
    Missing(String),
    /// The control layer cannot do this (loopback hosts cannot be partitioned).
    #[error("unsupported by this control layer: {0}")]
    Unsupported(String),
    /// A fault cannot be applied as asked (a leader partition without a leader, ...).
    #[error("invalid fault: {0}")]
    InvalidFault(String),
    /// The cluster has been torn down.
    #[error("the cluster has been torn down")]
    TornDown,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
