//! `schism cleanup`: removes what a killed run left behind (the `sch<k>-*` namespaces and
//! the node processes in them, uplink veths, libfaketime files, scratch directories),
//! through the nemesis crate, and says what it removed.

use crate::cli::CleanupArgs;
use crate::exit::{self, Failure};

/// Runs `schism cleanup`: every cluster, or only `--cluster k`.
pub fn run(args: &CleanupArgs) -> Result<i32, Failure> {
    if let Some(k) = args.cluster {
        if k > schism_nemesis::local::MAX_CLUSTER {
            return Err(Failure::usage(format!(
                "--cluster must be between 0 and {}",
                schism_nemesis::local::MAX_CLUSTER
            )));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("failed to start the runtime: {e}")))?;
    let summary = runtime
        .block_on(async {
            match args.cluster {
                Some(k) => schism_nemesis::cleanup_cluster(k).await,
                None => schism_nemesis::cleanup_all().await,
            }
        })
        .map_err(|e| Failure::internal(format!("failed to clean up: {e}")))?;
    let mut summary = summary;
    if args.cluster.is_some() {
        // The nemesis crate removes libfaketime's files of dead processes only when it cleans
        // everything; for one cluster, remove those of the nodes it just killed.
        summary.files.extend(remove_faketime_files(&summary.killed));
        summary.files.sort();
    }
    println!("schism cleanup: {summary}");
    Ok(exit::VALID)
}

/// Removes `/dev/shm/faketime_shm_<pid>` and `sem.faketime_sem_<pid>` for each PID, and
/// returns the files removed.
fn remove_faketime_files(pids: &[u32]) -> Vec<std::path::PathBuf> {
    let mut removed = Vec::new();
    for pid in pids {
        for name in [
            format!("faketime_shm_{pid}"),
            format!("sem.faketime_sem_{pid}"),
        ] {
            let path = std::path::Path::new("/dev/shm").join(name);
            if std::fs::remove_file(&path).is_ok() {
                removed.push(path);
            }
        }
    }
    removed
}
