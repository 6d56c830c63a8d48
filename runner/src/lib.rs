//! The schism harness and CLI.
//!
//! - [`cli`]: the raw command line (clap).
//! - [`check`]: `schism check`, history analysis.
//! - [`test`](mod@test): `schism test`, the harness.
//! - [`cleanup`]: `schism cleanup`, removing what killed runs left behind.
//! - [`report_cmd`], [`serve`], [`junit`]: `schism report`, `schism serve`, JUnit XML.

pub mod check;
pub mod cleanup;
pub mod cli;
pub mod exit;
pub mod junit;
pub mod report_cmd;
pub mod serve;
pub mod test;

use std::ffi::OsString;

use clap::Parser;

/// Runs the command line and returns the process exit code (see [`exit`]).
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::VALID
            };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        cli::Command::Check(args) => check::run(&args),
        cli::Command::Report(args) => report_cmd::run(&args),
        cli::Command::Serve(args) => serve::run(&args),
        cli::Command::Test(args) => test::run(&args),
        cli::Command::Cleanup(args) => cleanup::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("schism: {}", failure.message);
            failure.code
        }
    }
}
