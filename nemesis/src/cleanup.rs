//! Removing what a killed run left behind (`schism cleanup`): the `sch<k>-*` namespaces and
//! the processes still running in them, the `sch<k>-up` veths, libfaketime's files in
//! `/dev/shm` whose process is gone, and the clusters' scratch directories.
//!
//! Only names this crate creates are touched, and processes are killed by PID, found with
//! `ip netns pids` inside our own namespaces: never by name. A run still in progress *is*
//! destroyed by [`cleanup_all`], which is what a person running `schism cleanup` asks for;
//! [`cleanup_cluster`] limits the damage to one cluster number.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::cmd;
use crate::error::{Error, Result};
use crate::local::{scratch_dir, uplink, MAX_CLUSTER};

/// What a cleanup removed, each list sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanupSummary {
    pub namespaces: Vec<String>,
    pub links: Vec<String>,
    /// PIDs sent SIGKILL.
    pub killed: Vec<u32>,
    /// Files and directories removed.
    pub files: Vec<PathBuf>,
}

impl CleanupSummary {
    pub(crate) fn merge(&mut self, other: CleanupSummary) {
        self.namespaces.extend(other.namespaces);
        self.links.extend(other.links);
        self.killed.extend(other.killed);
        self.files.extend(other.files);
        self.sort();
    }

    fn sort(&mut self) {
        self.namespaces.sort();
        self.links.sort();
        self.killed.sort_unstable();
        self.files.sort();
    }

    /// Whether nothing was found to remove.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.links.is_empty()
            && self.killed.is_empty()
            && self.files.is_empty()
    }
}

impl fmt::Display for CleanupSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing to clean up");
        }
        let mut parts = Vec::new();
        if !self.killed.is_empty() {
            let pids: Vec<String> = self.killed.iter().map(u32::to_string).collect();
            parts.push(format!("killed pids {}", pids.join(" ")));
        }
        if !self.namespaces.is_empty() {
            parts.push(format!("deleted namespaces {}", self.namespaces.join(" ")));
        }
        if !self.links.is_empty() {
            parts.push(format!("deleted links {}", self.links.join(" ")));
        }
        if !self.files.is_empty() {
            let files: Vec<String> = self.files.iter().map(|p| p.display().to_string()).collect();
            parts.push(format!("removed {}", files.join(" ")));
        }
        f.write_str(&parts.join("; "))
    }
}

/// Cleans every cluster number (0..=15) and the stale files of earlier runs.
pub async fn cleanup_all() -> Result<CleanupSummary> {
    blocking(cleanup_all_sync).await
}

/// Cleans cluster `k` only: its namespaces and their processes, its uplink, its scratch dir.
pub async fn cleanup_cluster(k: u8) -> Result<CleanupSummary> {
    blocking(move || {
        let mut summary = cleanup_cluster_sync(k)?;
        summary.merge(remove_dir(&scratch_dir(k))?);
        Ok(summary)
    })
    .await
}

/// The namespaces of cluster `k` that exist now.
pub async fn namespaces_of(k: u8) -> Result<Vec<String>> {
    blocking(move || namespaces_of_sync(k)).await
}

async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Io {
            path: PathBuf::from("cleanup"),
            source: std::io::Error::other(e),
        })?
}

fn cleanup_all_sync() -> Result<CleanupSummary> {
    let mut summary = CleanupSummary::default();
    for k in 0..=MAX_CLUSTER {
        summary.merge(cleanup_cluster_sync(k)?);
        summary.merge(remove_dir(&scratch_dir(k))?);
    }
    summary.merge(remove_stale_files()?);
    Ok(summary)
}

fn namespaces_of_sync(k: u8) -> Result<Vec<String>> {
    let prefix = format!("sch{k}-");
    let listing = cmd::run_sync(&["ip", "netns", "list"])?;
    let mut names: Vec<String> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    names.sort();
    Ok(names)
}

/// Kills what runs in cluster `k`'s namespaces, deletes them and its uplink.
pub(crate) fn cleanup_cluster_sync(k: u8) -> Result<CleanupSummary> {
    let mut summary = CleanupSummary::default();
    let names = namespaces_of_sync(k)?;
    let up = uplink(k);
    let has_uplink = link_exists(&up);
    if (names.is_empty() && !has_uplink) || k > MAX_CLUSTER {
        return Ok(summary);
    }
    if !cmd::is_root() {
        return Err(Error::NotRoot);
    }
    for ns in &names {
        let pids = cmd::run_sync(&["ip", "netns", "pids", ns])?;
        let pids: Vec<u32> = pids.lines().filter_map(|l| l.trim().parse().ok()).collect();
        for &pid in &pids {
            // ESRCH means it exited between the listing and now, which is what we want.
            if cmd::signal(pid, libc::SIGKILL).is_ok() {
                summary.killed.push(pid);
            }
        }
        for &pid in &pids {
            cmd::wait_gone_sync(pid, 5_000);
        }
    }
    for ns in &names {
        cmd::run_sync(&["ip", "netns", "del", ns])?;
        summary.namespaces.push(ns.clone());
    }
    // Deleting the switch namespace destroys the uplink's peer and with it the uplink, but the
    // kernel dismantles a namespace asynchronously: wait a little for the link to go, so that
    // the same cluster number can be built again at once, and delete it explicitly if the
    // switch namespace was already gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while link_exists(&up) && std::time::Instant::now() < deadline && !names.is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    if link_exists(&up) {
        match cmd::run_sync(&["ip", "link", "del", &up]) {
            Ok(_) => {}
            Err(Error::Command { stderr, .. }) if stderr.contains("Cannot find device") => {}
            Err(e) => return Err(e),
        }
    }
    if has_uplink {
        summary.links.push(up);
    }
    summary.sort();
    Ok(summary)
}

fn link_exists(name: &str) -> bool {
    cmd::run_sync(&["ip", "-o", "link", "show"]).is_ok_and(|listing| {
        listing.lines().any(|line| {
            // Lines read `7: sch3-up@if6: <...>`; the name ends at '@' or ':'.
            line.split(": ")
                .nth(1)
                .and_then(|n| n.split(['@', ':']).next())
                == Some(name)
        })
    })
}

/// libfaketime leaves `faketime_shm_<pid>` and `sem.faketime_sem_<pid>` in /dev/shm for the
/// first process that loaded it.
pub(crate) fn remove_faketime_files(pid: u32) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for name in [
        format!("faketime_shm_{pid}"),
        format!("sem.faketime_sem_{pid}"),
    ] {
        let path = Path::new("/dev/shm").join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path, source }),
        }
    }
    Ok(removed)
}

fn remove_dir(dir: &Path) -> Result<CleanupSummary> {
    let mut summary = CleanupSummary::default();
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        summary.files.push(dir.to_path_buf());
    }
    Ok(summary)
}

/// The PID a stale file name ends with, for the families of files we leave behind.
fn stale_pid(name: &str) -> Option<u32> {
    if let Some(pid) = name
        .strip_prefix("faketime_shm_")
        .or_else(|| name.strip_prefix("sem.faketime_sem_"))
    {
        return pid.parse().ok();
    }
    // Loopback scratch directories are named `schism-lo-<pid>-<serial>`.
    name.strip_prefix("schism-lo-")
        .and_then(|rest| rest.split_once('-'))
        .and_then(|(pid, _)| pid.parse().ok())
}

/// Removes libfaketime files and loopback scratch directories whose process is gone.
fn remove_stale_files() -> Result<CleanupSummary> {
    let mut summary = CleanupSummary::default();
    for dir in [PathBuf::from("/dev/shm"), std::env::temp_dir()] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(stale_pid) else {
                continue;
            };
            if cmd::alive(pid) {
                continue;
            }
            let path = entry.path();
            let result = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match result {
                Ok(()) => summary.files.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::Io { path, source }),
            }
        }
    }
    summary.sort();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_pids_are_read_from_our_file_names_only() {
        assert_eq!(stale_pid("faketime_shm_123"), Some(123));
        assert_eq!(stale_pid("sem.faketime_sem_77"), Some(77));
        assert_eq!(stale_pid("schism-lo-4242-0"), Some(4242));
        assert_eq!(stale_pid("schism-sch3"), None);
        assert_eq!(stale_pid("faketime_shm_x"), None);
        assert_eq!(stale_pid("other"), None);
    }

    #[test]
    fn an_empty_summary_says_so() {
        assert_eq!(CleanupSummary::default().to_string(), "nothing to clean up");
    }
}
