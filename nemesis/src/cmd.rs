//! Running the system commands (`ip`, `iptables-restore`) that the control layer is made of.
//!
//! Every command's failure names the whole command line and its stderr, so that a failed
//! cluster build says which of its dozens of steps broke.

use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// The command line as a person would type it, for error messages.
pub(crate) fn show(argv: &[&str]) -> String {
    argv.join(" ")
}

fn check(argv: &[&str], output: Output) -> Result<String> {
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Error::Command {
            command: show(argv),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Runs `argv` to completion and returns its stdout, or an error naming it and its stderr.
pub(crate) async fn run(argv: &[&str]) -> Result<String> {
    run_with_stdin(argv, None).await
}

/// Runs `argv`, feeding it `stdin` if given.
pub(crate) async fn run_with_stdin(argv: &[&str], stdin: Option<&str>) -> Result<String> {
    let (program, args) = argv.split_first().ok_or_else(|| Error::Spawn {
        command: String::new(),
        source: std::io::Error::other("empty command"),
    })?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let spawn_error = |source| Error::Spawn {
        command: show(argv),
        source,
    };
    let mut child = command.spawn().map_err(spawn_error)?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await.map_err(spawn_error)?;
        // Dropping the pipe closes it, which ends the command's input.
        drop(pipe);
    }
    let output = child.wait_with_output().await.map_err(spawn_error)?;
    check(argv, output)
}

/// The synchronous twin of [`run`], for `Drop`, where no runtime may be at hand.
pub(crate) fn run_sync(argv: &[&str]) -> Result<String> {
    let (program, args) = argv.split_first().ok_or_else(|| Error::Spawn {
        command: String::new(),
        source: std::io::Error::other("empty command"),
    })?;
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Spawn {
            command: show(argv),
            source,
        })?;
    check(argv, output)
}

/// Whether the effective user is root. Namespaces need CAP_NET_ADMIN; checking for root up
/// front gives a plain message instead of a cryptic "Operation not permitted" halfway through.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Sends `signal` to `pid`. `ESRCH` (no such process) is reported as an error too; callers
/// that tolerate it check [`std::io::Error::raw_os_error`].
pub(crate) fn signal(pid: u32, signal: libc::c_int) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    if pid <= 0 {
        return Err(std::io::Error::other("refusing to signal a process group"));
    }
    // SAFETY: kill(2) takes plain integers; a positive pid names exactly one process.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The state letter of a process (`R`, `S`, `T`, `Z`, ...), read from `/proc`.
fn state(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state is the first field after the parenthesised command name.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().next().map(str::to_string)
}

/// Whether a process with this PID exists and is not a zombie.
pub(crate) fn alive(pid: u32) -> bool {
    state(pid).is_some_and(|s| s != "Z" && s != "X")
}

/// Waits up to `timeout_ms` for `pid` to be stopped (`stopped`) or running again (not).
pub(crate) fn wait_stopped_sync(pid: u32, stopped: bool, timeout_ms: u64) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
    loop {
        match state(pid) {
            None => return false,
            Some(s) if (s == "T" || s == "t") == stopped => return true,
            Some(_) => {}
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Waits up to `timeout_ms` for `pid` to be gone (exited, or a zombie someone else reaps).
pub(crate) fn wait_gone_sync(pid: u32, timeout_ms: u64) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(timeout_ms);
    while alive(pid) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    true
}
