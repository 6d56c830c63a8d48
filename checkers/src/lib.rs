//! Pure history analysis: every checker takes a [`schism_histories::PairedHistory`] and
//! returns a result whose [`Validity`] is valid, invalid or unknown.
//!
//! **Invariant:** checkers are synchronous, do no I/O, and never panic on any input; an
//! inconsistent history is a result, not an error. Every `invalid` carries a witness a person
//! can check by hand against the history file.

pub mod causal;
pub mod elle;
pub mod linearizable;
pub mod sim_rng;
pub mod txn;
pub mod validity;

pub use validity::Validity;
