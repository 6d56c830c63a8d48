//! The schism harness.
