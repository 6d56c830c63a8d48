//! `schism test` refuses bad usage plainly, with exit code 254, before it starts anything.

use std::process::Command;

fn schism_test(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_schism"))
        .arg("test")
        .args(args)
        .arg("--store")
        .arg(std::env::temp_dir().join("schism-cli-test-store"))
        .output()
        .expect("schism runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_usage_exits_254_with_a_plain_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["--nodes", "12"], "schism: --nodes must be between 1 and 9"),
        (
            &["--workload", "bank"],
            "schism: unknown workload \"bank\"; valid: register, list-append, rw-register, set, counter",
        ),
        (
            &["--consistency-models", "eventual"],
            "schism: unknown consistency model \"eventual\"",
        ),
        (
            &["--mmkv-bin", "/nonexistent/mmkv"],
            "schism: cannot find the mmkv binary at /nonexistent/mmkv",
        ),
        (&["--rate", "fast"], "invalid value 'fast' for '--rate <RATE>'"),
    ];
    for (args, expected) in cases {
        let (code, stderr) = schism_test(args);
        assert_eq!(code, 254, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn cleanup_rejects_a_cluster_number_out_of_range() {
    let out = Command::new(env!("CARGO_BIN_EXE_schism"))
        .args(["cleanup", "--cluster", "16"])
        .output()
        .expect("schism runs");
    assert_eq!(out.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster must be between 0 and 15"));
}
