//! `schism check`: reads history files and runs the chosen checkers on each.

use crate::cli::CheckArgs;
use crate::exit::Failure;

/// Runs `schism check` and returns the exit code.
pub fn run(_args: &CheckArgs) -> Result<i32, Failure> {
    Err(Failure::internal("check is being wired up"))
}
