//! End-to-end test support: run the built `schism` binary against a local mmkv cluster in
//! network namespaces, read its run directory, and check that nothing was left behind.
//!
//! The tests live in this crate rather than in the runner's own `tests/` because they need
//! two binaries of two packages (`schism` and `mmkv`), and Cargo only gives a test the path
//! of its own package's binaries (`CARGO_BIN_EXE_<name>`). So [`binaries`] builds both once
//! with the `cargo` that runs the tests (a no-op when they are fresh) and finds them in the
//! target directory next to the test executable.
//!
//! Each test uses its own cluster number k (namespaces `sch<k>-*`, addresses
//! 192.168.(240+k).0/24), so the tests run in parallel without meeting.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `schism` and `mmkv` executables.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub schism: PathBuf,
    pub mmkv: PathBuf,
}

/// Builds `schism` and `mmkv` (once per test process) and returns their paths.
pub fn binaries() -> Result<Binaries, String> {
    static BUILT: OnceLock<Result<Binaries, String>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Result<Binaries, String> {
    // The test executable is target/<profile>/deps/<name>-<hash>; the binaries are in
    // target/<profile>/.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("no target directory above {}", exe.display()))?
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command.args(["build", "-p", "schism", "-p", "mmkv"]);
    if dir.file_name().is_some_and(|n| n == "release") {
        command.arg("--release");
    }
    let status = command
        .status()
        .map_err(|e| format!("failed to run cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build -p schism -p mmkv failed: {status}"));
    }
    let bins = Binaries {
        schism: dir.join("schism"),
        mmkv: dir.join("mmkv"),
    };
    for bin in [&bins.schism, &bins.mmkv] {
        if !bin.is_file() {
            return Err(format!("{} was not built", bin.display()));
        }
    }
    Ok(bins)
}

/// Whether a test that needs root may run. Outside CI a missing prerequisite skips the test
/// with a printed reason; with `CI=true` it fails the test.
pub fn have_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: needs root (network namespaces, iptables), and CI=true"
    );
    eprintln!("skipping {test}: needs root for network namespaces and iptables");
    false
}

/// What one `schism test` run left.
#[derive(Debug)]
pub struct Run {
    pub exit_code: i32,
    pub run_dir: PathBuf,
    pub results: Value,
    pub stderr: String,
}

impl Run {
    /// A checker's validity in results.json: `valid`, `invalid` or `unknown`.
    pub fn validity(&self, checker: &str) -> &str {
        self.results["checkers"][checker]["valid"]
            .as_str()
            .unwrap_or("missing")
    }

    pub fn explanation(&self, checker: &str) -> &Value {
        &self.results["checkers"][checker]["explanation"]
    }

    /// Every PID a node of the run had: at start (results.json) and after each restart (the
    /// history's nemesis `start` and `kill` operations).
    pub fn node_pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self.results["node_pids"]
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(|p| p.as_u64())
                    .map(|p| p as u32)
                    .collect()
            })
            .unwrap_or_default();
        let history =
            std::fs::read_to_string(self.run_dir.join("history.jsonl")).unwrap_or_default();
        for line in history.lines().filter(|l| l.contains("\"nemesis\"")) {
            if let Ok(op) = serde_json::from_str::<Value>(line) {
                if let Some(m) = op["value"]["pids"].as_object() {
                    pids.extend(m.values().filter_map(|p| p.as_u64()).map(|p| p as u32));
                }
            }
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// What to print when an assertion fails.
    pub fn context(&self) -> String {
        format!(
            "exit {} in {}\n{}\nresults: {}",
            self.exit_code,
            self.run_dir.display(),
            self.stderr,
            serde_json::to_string_pretty(&self.results).unwrap_or_default()
        )
    }
}

/// The most a run may take beyond its own time limit (start, heal, final reads, checking)
/// before the test kills it.
const RUN_SLACK: Duration = Duration::from_secs(180);

/// Runs `schism test` on cluster `k` with `args`, a fresh store, and waits for it.
pub fn schism_test(k: u8, time_limit_s: u64, args: &[&str]) -> Result<Run, String> {
    let bins = binaries()?;
    let store = std::env::temp_dir().join(format!("schism-e2e-{k}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let mut child = Command::new(&bins.schism)
        .arg("test")
        .args(args)
        .args([
            "--cluster",
            &k.to_string(),
            "--time-limit",
            &time_limit_s.to_string(),
        ])
        .arg("--store")
        .arg(&store)
        .arg("--mmkv-bin")
        .arg(&bins.mmkv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("failed to run {}: {e}", bins.schism.display()))?;
    // Read the pipes on threads so that a chatty run never blocks on a full pipe.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = std::io::Read::read_to_string(o, &mut s);
        }
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = std::io::Read::read_to_string(e, &mut s);
        }
        s
    });
    let deadline = Instant::now() + Duration::from_secs(time_limit_s) + RUN_SLACK;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => {
                // SIGTERM: the harness heals and tears down on it.
                // SAFETY: kill(2) on the PID of the child this function spawned.
                unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
                let _ = child.wait();
                return Err(format!("schism test on cluster {k} did not finish in time"));
            }
            Err(e) => return Err(format!("failed to wait for schism: {e}")),
        }
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    let run_dir = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
    let results = std::fs::read_to_string(run_dir.join("results.json"))
        .map_err(|e| format!("no results.json in {:?} ({e}); stderr:\n{stderr}", run_dir))?;
    let results: Value =
        serde_json::from_str(&results).map_err(|e| format!("results.json: {e}"))?;
    Ok(Run {
        exit_code: status.code().unwrap_or(-1),
        run_dir,
        results,
        stderr,
    })
}

fn command_output(argv: &[&str]) -> String {
    Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Asserts that the run left nothing behind: no `sch<k>-` namespace, no `sch<k>-up` link, no
/// node process, no libfaketime file of a node, no scratch directory. Then removes the run
/// store.
pub fn assert_clean(k: u8, run: &Run) {
    let pids = run.node_pids();
    assert!(!pids.is_empty(), "no node PIDs recorded\n{}", run.context());
    assert_cluster_gone(k, &pids);
    // Everything held: the run store is only kept for failed tests, to be read.
    if let Some(store) = run.run_dir.ancestors().nth(2) {
        let _ = std::fs::remove_dir_all(store);
    }
}

/// Asserts that cluster `k` and the node processes `pids` are gone: namespaces, uplink,
/// firewall rules, processes, libfaketime files, scratch directory.
pub fn assert_cluster_gone(k: u8, pids: &[u32]) {
    let prefix = format!("sch{k}-");
    let namespaces = command_output(&["ip", "netns", "list"]);
    let left: Vec<&str> = namespaces
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .collect();
    assert!(left.is_empty(), "namespaces left: {left:?}");
    let links = command_output(&["ip", "-o", "link", "show"]);
    assert!(
        !links.contains(&format!("{prefix}up")),
        "the uplink {prefix}up was left"
    );
    // The nemesis's rules live inside the namespaces, which are gone; none may have reached
    // the root namespace's firewall.
    let rules = command_output(&["iptables", "-w", "-S"]);
    let subnet = format!("192.168.{}.", 240 + u32::from(k));
    assert!(
        !rules.contains(&subnet),
        "iptables rules for {subnet}0/24 left:\n{rules}"
    );
    assert_processes_gone(pids);
    let scratch = std::env::temp_dir().join(format!("schism-sch{k}"));
    assert!(!scratch.exists(), "{} was left", scratch.display());
}

/// Asserts that no node process of `pids` runs and none left libfaketime files.
pub fn assert_processes_gone(pids: &[u32]) {
    for &pid in pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        assert!(
            !cmdline.contains("mmkv"),
            "node process {pid} is still running: {cmdline}"
        );
        for file in [
            format!("faketime_shm_{pid}"),
            format!("sem.faketime_sem_{pid}"),
        ] {
            let path = Path::new("/dev/shm").join(&file);
            assert!(!path.exists(), "{} was left", path.display());
        }
    }
}

/// The PIDs of the processes in cluster `k`'s host namespaces now.
pub fn namespace_pids(k: u8) -> Vec<u32> {
    let mut pids = Vec::new();
    for line in command_output(&["ip", "netns", "list"]).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if name.starts_with(&format!("sch{k}-n")) {
            pids.extend(
                command_output(&["ip", "netns", "pids", name])
                    .lines()
                    .filter_map(|p| p.trim().parse::<u32>().ok()),
            );
        }
    }
    pids.sort_unstable();
    pids
}

/// Starts `schism test` on cluster `k` without waiting for it.
pub fn spawn_schism_test(k: u8, args: &[&str]) -> Result<(std::process::Child, PathBuf), String> {
    let bins = binaries()?;
    let store = std::env::temp_dir().join(format!("schism-e2e-{k}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let child = Command::new(&bins.schism)
        .arg("test")
        .args(args)
        .args(["--cluster", &k.to_string()])
        .arg("--store")
        .arg(&store)
        .arg("--mmkv-bin")
        .arg(&bins.mmkv)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("failed to run {}: {e}", bins.schism.display()))?;
    Ok((child, store))
}

/// Runs `schism ARGS` and returns its exit code and stdout.
pub fn schism(args: &[&str]) -> Result<(i32, String), String> {
    let bins = binaries()?;
    let out = Command::new(&bins.schism)
        .args(args)
        .output()
        .map_err(|e| format!("failed to run {}: {e}", bins.schism.display()))?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}
