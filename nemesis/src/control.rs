//! What the nemesis needs from the hosts it breaks: their names and addresses, a way to run
//! commands in them, their node processes and their clocks.
//!
//! This is Jepsen's `jepsen.control` boundary: the nemesis is written once against [`Control`],
//! and a control layer makes it real — [`crate::LocalCluster`] with network namespaces on this
//! machine, later SSH to real machines. Tests drive the nemesis through a recording fake.

use std::future::Future;
use std::net::Ipv4Addr;

use crate::error::Result;

/// A set of hosts, each running at most one database node process.
///
/// Node names are the hosts' names (`n1`, `n2`, ...). Methods that run commands or wait for
/// processes are async; the futures are `Send` so the nemesis can run from any tokio task.
pub trait Control: Send + Sync + 'static {
    /// The hosts' names, in order.
    fn node_names(&self) -> Vec<String>;

    /// The address other hosts and clients reach `node` at.
    fn ip(&self, node: &str) -> Result<Ipv4Addr>;

    /// Whether hosts can be cut from each other with iptables (partitions, packet loss).
    fn supports_partitions(&self) -> bool;

    /// Runs `argv` on `node` (in its network namespace, or over SSH) and returns its stdout.
    fn exec_in(&self, node: &str, argv: &[&str]) -> impl Future<Output = Result<String>> + Send;

    /// As [`Control::exec_in`], feeding `stdin` to the command (for `iptables-restore`).
    fn exec_in_with_stdin(
        &self,
        node: &str,
        argv: &[&str],
        stdin: &str,
    ) -> impl Future<Output = Result<String>> + Send;

    /// SIGKILLs the node's process and waits for it to exit. Returns the PID it had.
    fn kill(&self, node: &str) -> impl Future<Output = Result<u32>> + Send;

    /// Starts the node's process again as it was last spawned. Returns the new PID.
    fn restart(&self, node: &str) -> impl Future<Output = Result<u32>> + Send;

    /// SIGSTOPs the node's process.
    fn pause(&self, node: &str) -> Result<()>;

    /// SIGCONTs the node's process.
    fn resume(&self, node: &str) -> Result<()>;

    /// Sets the node's wall clock to real time plus `offset_s` seconds, live.
    fn set_clock_offset(&self, node: &str, offset_s: i64) -> Result<()>;
}
