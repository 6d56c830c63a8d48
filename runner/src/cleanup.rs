//! `schism cleanup`: removes what a killed run left behind (the `sch<k>-*` namespaces and
//! the node processes in them, uplink veths, libfaketime files, scratch directories),
//! through the nemesis crate, and says what it removed.

use crate::exit::{self, Failure};

/// Runs `schism cleanup`.
pub fn run() -> Result<i32, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("failed to start the runtime: {e}")))?;
    let summary = runtime
        .block_on(schism_nemesis::cleanup_all())
        .map_err(|e| Failure::internal(format!("failed to clean up: {e}")))?;
    println!("schism cleanup: {summary}");
    Ok(exit::VALID)
}
