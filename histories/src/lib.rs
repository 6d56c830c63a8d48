//! The operation/history model of schism, and the one stable serialized format.
//!
//! A history is what a Jepsen-style test records: each client operation appears twice, as an
//! `invoke` and later as its completion (`ok`, `fail` or `info`), interleaved with the other
//! processes' operations in real-time order (Herlihy & Wing, "Linearizability: a correctness
//! condition for concurrent objects", 1990). Nemesis operations are recorded beside them.
//!
//! - [`Value`], [`Op`], [`History`]: the model.
//! - [`History::pair`] validates and pairs, giving a [`PairedHistory`], which is what checkers
//!   take.
//!
//! **Invariant:** nothing here panics on any input or does network I/O; malformed input is a
//! [`HistoryError`] naming the source, line and column.

mod error;
mod history;
mod op;
mod value;

pub use error::HistoryError;
pub use history::{History, Outcome, Pair, PairedHistory};
pub use op::{Op, OpType, Pos, Process};
pub use value::Value;
