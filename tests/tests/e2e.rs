//! End to end: `schism test` against local mmkv clusters in network namespaces, with real
//! faults and real checkers, asserting each replication strategy's expected verdict — and that
//! every run cleans up after itself. Needs root; see `schism_e2e::have_root`.
//!
//! Each test uses its own cluster number (1 to 7), so they run in parallel, and none that
//! the nemesis crate's own tests use (9 to 14), which clear their cluster numbers first.

use schism_e2e::{
    assert_clean, assert_cluster_gone, assert_processes_gone, have_root, namespace_pids, schism,
    schism_test, spawn_schism_test,
};

/// Seconds of load per test.
const LOAD_S: u64 = 15;

#[test]
fn raft_register_under_partitions_and_kills_is_linearizable() {
    if !have_root("raft_register_under_partitions_and_kills_is_linearizable") {
        return;
    }
    let k = 3;
    let run = schism_test(
        k,
        LOAD_S,
        &[
            "--replication",
            "raft",
            "--workload",
            "register",
            "--nemesis",
            "partition,kill",
            "--nemesis-interval",
            "3",
            "--nodes",
            "3",
            "--seed",
            "1",
        ],
    )
    .unwrap();
    assert_eq!(run.validity("linearizable"), "valid", "{}", run.context());
    assert_eq!(run.validity("causal"), "valid", "{}", run.context());
    assert_eq!(run.exit_code, 0, "{}", run.context());
    assert_clean(k, &run);
}

#[test]
fn raft_list_append_under_partitions_and_kills_is_strict_serializable() {
    if !have_root("raft_list_append_under_partitions_and_kills_is_strict_serializable") {
        return;
    }
    let k = 4;
    let run = schism_test(
        k,
        LOAD_S,
        &[
            "--replication",
            "raft",
            "--workload",
            "list-append",
            "--nemesis",
            "partition,kill",
            "--nemesis-interval",
            "3",
            "--nodes",
            "3",
            "--seed",
            "2",
            "--consistency-models",
            "strict-serializable",
        ],
    )
    .unwrap();
    assert_eq!(run.validity("elle"), "valid", "{}", run.context());
    assert_eq!(run.exit_code, 0, "{}", run.context());
    assert_clean(k, &run);
}

#[test]
fn lww_register_under_clock_bumps_and_partitions_is_not_linearizable() {
    if !have_root("lww_register_under_clock_bumps_and_partitions_is_not_linearizable") {
        return;
    }
    let k = 5;
    let run = schism_test(
        k,
        LOAD_S,
        &[
            "--replication",
            "lww",
            "--workload",
            "register",
            "--nemesis",
            "clock,partition",
            "--nemesis-interval",
            "2",
            "--nodes",
            "3",
            "--seed",
            "3",
        ],
    )
    .unwrap();
    assert_eq!(run.validity("linearizable"), "invalid", "{}", run.context());
    let witness = &run.explanation("linearizable")["witness"];
    assert!(
        !witness.is_null(),
        "an invalid verdict carries a witness\n{}",
        run.context()
    );
    assert_eq!(run.exit_code, 1, "{}", run.context());
    assert_clean(k, &run);
}

#[test]
fn lww_set_under_clock_bumps_and_partitions_loses_acknowledged_elements() {
    if !have_root("lww_set_under_clock_bumps_and_partitions_loses_acknowledged_elements") {
        return;
    }
    let k = 6;
    let run = schism_test(
        k,
        LOAD_S,
        &[
            "--replication",
            "lww",
            "--workload",
            "set",
            "--nemesis",
            "clock,partition",
            "--nemesis-interval",
            "2",
            "--nodes",
            "3",
            "--seed",
            "4",
        ],
    )
    .unwrap();
    assert_eq!(run.validity("set-full"), "invalid", "{}", run.context());
    let lost = run.explanation("set-full")["lost_count"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        lost > 0,
        "acknowledged elements were lost\n{}",
        run.context()
    );
    assert_eq!(run.exit_code, 1, "{}", run.context());
    assert_clean(k, &run);
}

#[test]
fn crdt_register_under_partitions_is_causal_and_converges_but_is_not_linearizable() {
    if !have_root("crdt_register_under_partitions_is_causal_and_converges_but_is_not_linearizable")
    {
        return;
    }
    let k = 7;
    let run = schism_test(
        k,
        LOAD_S,
        &[
            "--replication",
            "crdt",
            "--workload",
            "register",
            "--nemesis",
            "partition",
            "--nemesis-interval",
            "3",
            "--nodes",
            "3",
            "--seed",
            "5",
        ],
    )
    .unwrap();
    assert_eq!(run.validity("causal"), "valid", "{}", run.context());
    assert_eq!(run.validity("convergence"), "valid", "{}", run.context());
    assert_eq!(run.validity("linearizable"), "invalid", "{}", run.context());
    assert_eq!(run.exit_code, 1, "{}", run.context());
    assert_clean(k, &run);
}

#[test]
fn a_killed_run_is_removed_by_schism_cleanup() {
    if !have_root("a_killed_run_is_removed_by_schism_cleanup") {
        return;
    }
    let k = 1;
    let (mut child, store) = spawn_schism_test(
        k,
        &[
            "--nemesis",
            "partition,clock",
            "--nemesis-interval",
            "1",
            "--nodes",
            "3",
            "--time-limit",
            "120",
        ],
    )
    .unwrap();
    // Wait until every node runs and the first faults are in, then kill the harness outright:
    // it cannot heal, and leaves namespaces, rules, clocks and nodes behind.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut pids = Vec::new();
    while std::time::Instant::now() < deadline {
        pids = namespace_pids(k);
        let history =
            std::fs::read_to_string(store.join("latest/history.jsonl")).unwrap_or_default();
        if pids.len() == 3 && history.contains("\"nemesis\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(pids.len(), 3, "the nodes never all started");
    assert_eq!(
        namespace_pids(k).len(),
        3,
        "the nodes outlive a killed harness"
    );
    let (code, out) = schism(&["cleanup", "--cluster", &k.to_string()]).unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("sch{k}-n1")), "{out}");
    for pid in &pids {
        assert!(
            out.contains(&pid.to_string()),
            "pid {pid} not reported killed: {out}"
        );
    }
    assert_cluster_gone(k, &pids);
    let (code, out) = schism(&["cleanup", "--cluster", &k.to_string()]).unwrap();
    assert_eq!(
        (code, out.trim()),
        (0, "schism cleanup: nothing to clean up")
    );
    let _ = std::fs::remove_dir_all(store);
}

/// Loopback mode needs no root, so this one runs everywhere.
#[test]
fn raft_register_on_loopback_under_kills_is_linearizable() {
    let k = 2;
    let run = schism_test(
        k,
        10,
        &[
            "--loopback",
            "--replication",
            "raft",
            "--workload",
            "register",
            "--nemesis",
            "kill,partition",
            "--nemesis-interval",
            "2",
            "--nodes",
            "3",
            "--seed",
            "6",
        ],
    )
    .unwrap();
    assert_eq!(run.validity("linearizable"), "valid", "{}", run.context());
    assert_eq!(run.exit_code, 0, "{}", run.context());
    assert_eq!(
        run.results["unsupported_faults"],
        serde_json::json!(["partition"])
    );
    assert_processes_gone(&run.node_pids());
    if let Some(store) = run.run_dir.ancestors().nth(2) {
        let _ = std::fs::remove_dir_all(store);
    }
}

/// `--json` prints one line a CI system can parse: the run directory and each verdict, which
/// agree with `results.json`; `--junit` writes one test case per checker.
#[test]
fn json_summary_and_junit_agree_with_results_json() {
    let bins = schism_e2e::binaries().unwrap();
    let store = std::env::temp_dir().join(format!("schism-e2e-json-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&store);
    let junit = store.join("junit.xml");
    std::fs::create_dir_all(&store).unwrap();
    let out = std::process::Command::new(&bins.schism)
        .args([
            "test",
            "--loopback",
            "--cluster",
            "3",
            "--nodes",
            "3",
            "--time-limit",
            "3",
        ])
        .args(["--nemesis", "none", "--seed", "11", "--json", "--store"])
        .arg(&store)
        .arg("--junit")
        .arg(&junit)
        .arg("--mmkv-bin")
        .arg(&bins.mmkv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["valid"], "valid", "{summary}");
    let run_dir = std::path::PathBuf::from(summary["run_dir"].as_str().unwrap());
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("results.json")).unwrap()).unwrap();
    for (name, verdict) in summary["checkers"].as_object().unwrap() {
        assert_eq!(&results["checkers"][name]["valid"], verdict, "{name}");
    }
    assert_eq!(summary["checkers"]["linearizable"], "valid", "{summary}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("name=\"linearizable\""), "{xml}");
    assert!(run_dir.join("report.html").is_file());
    let _ = std::fs::remove_dir_all(&store);
}
