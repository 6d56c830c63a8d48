//! Faults and the control layer that applies them, after Jepsen's `jepsen.nemesis` and
//! `jepsen.control` (Kingsbury, <https://jepsen.io>).
//!
//! - [`control`]: the [`Control`] trait, what the nemesis needs from hosts.
//! - [`local`]: [`LocalCluster`], local hosts as Linux network namespaces on one bridge (see
//!   NETWORK.md), or loopback addresses without root.
//! - [`partition`]: partition shapes as grudges.
//! - [`fault`]: [`Fault`], one fault or heal, and its history operations.
//! - [`nemesis`]: [`Nemesis`], which applies faults and always heals.
//! - [`mod@schedule`]: deterministic fault schedules from a seed.
//! - [`cleanup`]: removing what a killed run left behind.
//!
//! **Invariant:** test traffic only ever goes to loopback or to hosts in `192.168.240.0/20`
//! that this crate created, and no host exists without the blackhole route for the range.
//! **Invariant:** processes are ended by PID, never by name, and only those the crate started
//! or found inside its own namespaces.

pub mod cleanup;
mod cmd;
pub mod control;
mod error;
pub mod fault;
pub mod local;
pub mod nemesis;
pub mod partition;
pub mod schedule;

pub use cleanup::{cleanup_all, cleanup_cluster, CleanupSummary};
pub use control::Control;
pub use error::{Error, Result};
pub use fault::{Failed, Fault};
pub use local::{LocalCluster, NodeSpec};
pub use nemesis::{Healed, Nemesis};
pub use partition::{Grudge, Shape};
pub use schedule::{schedule, FaultKind, FaultStep, Schedule, ScheduleConfig};
