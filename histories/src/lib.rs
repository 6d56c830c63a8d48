//! The operation/history model of schism, and the one stable serialized format.
//!
//! A history is what a Jepsen-style test records: each client operation appears twice, as an
//! `invoke` and later as its completion (`ok`, `fail` or `info`), interleaved with the other
//! processes' operations in real-time order (Herlihy & Wing, "Linearizability: a correctness
//! condition for concurrent objects", 1990). Nemesis operations are recorded beside them.
//!
//! - [`Value`], [`Op`], [`History`]: the model.
//! - [`read_path`], [`read_from`], [`read_str`]: readers for schism's JSON Lines, elle-cli's
//!   JSON and Jepsen's EDN ([`Format`]); [`JsonlWriter`], [`write_jsonl`], [`write_edn`]:
//!   writers.
//! - [`History::pair`] validates and pairs, giving a [`PairedHistory`], which is what checkers
//!   take.
//!
//! **Invariant:** nothing here panics on any input or does network I/O; malformed input is a
//! [`HistoryError`] naming the source, line and column.

mod convert;
pub mod edn;
mod error;
mod history;
mod json;
mod op;
mod read;
mod value;
mod write;

pub use edn::parse_edn;
pub use error::HistoryError;
pub use history::{History, Outcome, Pair, PairedHistory};
pub use op::{Op, OpType, Pos, Process};
pub use read::{read_from, read_path, read_str, Format};
pub use value::Value;
pub use write::{write_edn, write_jsonl, JsonlWriter};
