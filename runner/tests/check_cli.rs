//! `schism check` as a user runs it: the binary, real files, exit codes and messages.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")
}

fn schism(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_schism"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("schism starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)
            .expect("stdin takes the input");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("schism finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn edn_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("corpus folder {} is readable: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path().display().to_string())
        .filter(|p| p.ends_with(".edn"))
        .collect();
    files.sort();
    files
}

/// Runs `schism check` over a corpus folder and asserts every file's verdict and the exit code.
fn check_folder(dir: &Path, flags: &[&str], expected: &str, expected_code: i32) -> usize {
    let files = edn_files(dir);
    assert!(!files.is_empty(), "no histories in {}", dir.display());
    let mut args: Vec<&str> = vec!["check"];
    args.extend_from_slice(flags);
    args.extend(files.iter().map(String::as_str));
    let out = schism(&args, None);
    let stdout = text(&out.stdout);
    let verdict_lines: Vec<&str> = stdout.lines().filter(|l| l.contains('\t')).collect();
    assert_eq!(
        verdict_lines.len(),
        files.len(),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for line in verdict_lines {
        assert!(line.ends_with(&format!("\t{expected}")), "{line}");
    }
    assert_eq!(
        out.status.code(),
        Some(expected_code),
        "{}",
        text(&out.stderr)
    );
    files.len()
}

#[test]
fn knossos_cas_register_corpus_gets_its_folder_verdicts() {
    let dir = corpora().join("knossos/cas-register");
    let good = check_folder(
        &dir.join("good"),
        &["--model", "cas-register", "--init", "0"],
        "valid",
        0,
    );
    let bad = check_folder(
        &dir.join("bad"),
        &["--model", "cas-register", "--init", "0"],
        "invalid",
        1,
    );
    assert_eq!((good, bad), (113, 7));
}

#[test]
fn knossos_mutex_and_multi_register_corpora_get_their_verdicts() {
    let dir = corpora().join("knossos");
    check_folder(&dir.join("mutex/bad"), &["--model", "mutex"], "invalid", 1);
    check_folder(
        &dir.join("multi-register/good"),
        &["--model", "multi-register", "--init", r#"{"x":0,"y":0}"#],
        "valid",
        0,
    );
}

#[test]
fn the_model_is_detected_when_not_given() {
    let dir = corpora().join("knossos");
    check_folder(&dir.join("mutex/bad"), &[], "invalid", 1);
    check_folder(
        &dir.join("cas-register/bad"),
        &["--init", "0"],
        "invalid",
        1,
    );
}

#[test]
fn an_invalid_verdict_names_the_operation_and_its_line() {
    let history = "\
{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"value\":1}
{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":1}
{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"value\":null}
{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":2}
";
    let out = schism(
        &["check", "--model", "register", "-"],
        Some(history.as_bytes()),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("-\tinvalid\n"), "{stdout}");
    assert!(
        stdout.contains("operation 2 (process 1, read -> 2, line 3) cannot be linearized"),
        "{stdout}"
    );
}

#[test]
fn json_output_is_one_object_per_file() {
    let file = corpora().join("knossos/cas-register/bad/rethink-fail-minimal.edn");
    let out = schism(
        &[
            "check",
            "--json",
            "--minimize",
            "--init",
            "0",
            &file.display().to_string(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(lines[0]).expect("valid JSON");
    assert_eq!(json["valid"], "invalid");
    assert_eq!(json["checkers"]["linearizable"]["valid"], "invalid");
    let result = &json["checkers"]["linearizable"]["explanation"];
    assert_eq!(result["validity"], "invalid");
    assert!(result["witness"].is_object(), "{result}");
    assert!(result["minimized"].is_object(), "{result}");
}

#[test]
fn a_time_limit_too_short_gives_unknown_with_its_reason() {
    let file = corpora().join("knossos/mutex/bad/etcd.edn");
    let out = schism(
        &[
            "check",
            "--model",
            "mutex",
            "--time-limit",
            "0.000000001",
            &file.display().to_string(),
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("unknown: time limit of"), "{stdout}");
}

#[test]
fn malformed_input_exits_254_naming_the_line() {
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "truncated EDN",
            b"{:type :invoke, :process 1",
            "line 1, column",
        ),
        (
            "JSON with a wrong type",
            b"{\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null}\n{\"type\":3}\n",
            "line 2, column",
        ),
        (
            "a completion without invocation",
            b"{\"type\":\"ok\",\"process\":2,\"f\":\"read\",\"value\":3}\n",
            "line 1, column 1: ok completion of read by process 2 has no open invocation",
        ),
        ("random bytes", b"{\x00\xff\xfe garbage \x01", "line 1"),
        (
            "an unknown type",
            b"{:type :done, :process 1, :f :read}",
            "unknown type",
        ),
    ];
    for (what, input, expected) in cases {
        let out = schism(&["check", "-"], Some(input));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(254), "{what}: {stderr}");
        assert!(stderr.contains(expected), "{what}: {stderr}");
        assert!(stderr.starts_with("schism: -: "), "{what}: {stderr}");
    }
}

#[test]
fn bad_usage_exits_254() {
    for args in [
        vec!["check"],
        vec!["check", "--model", "nonsense", "x.edn"],
        vec!["check", "--init", "{not json", "x.edn"],
        vec!["check", "/nonexistent/history.jsonl"],
        vec!["frobnicate"],
    ] {
        let out = schism(&args, None);
        assert_eq!(
            out.status.code(),
            Some(254),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn causal_checks_name_the_overwritten_read() {
    let history = r#"{"type":"invoke","process":0,"f":"txn","value":[["w","x",1]]}
{"type":"ok","process":0,"f":"txn","value":[["w","x",1]]}
{"type":"invoke","process":0,"f":"txn","value":[["w","x",2]]}
{"type":"ok","process":0,"f":"txn","value":[["w","x",2]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","x",null]]}
{"type":"ok","process":1,"f":"txn","value":[["r","x",2]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","x",null]]}
{"type":"ok","process":1,"f":"txn","value":[["r","x",1]]}
"#;
    let out = schism(
        &["check", "--model", "causal", "-"],
        Some(history.as_bytes()),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("write-co-read"), "{stdout}");
    assert!(stdout.contains("T0 -so-> T1 -wr-> T2 -so-> T3"), "{stdout}");
    // Without the stale read the same history is causal.
    let prefix: String = history.lines().take(6).map(|l| format!("{l}\n")).collect();
    let out = schism(
        &["check", "--consistency-models", "causal", "-"],
        Some(prefix.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn report_and_junit_are_written_per_file() {
    let dir = std::env::temp_dir().join(format!("schism-check-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = corpora().join("knossos/cas-register/bad/rethink-fail-minimal.edn");
    let junit = dir.join("junit.xml");
    let out = schism(
        &[
            "check",
            "--init",
            "0",
            "--report",
            &dir.display().to_string(),
            "--junit",
            &junit.display().to_string(),
            &file.display().to_string(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(dir.join("rethink-fail-minimal.edn.html")).expect("report");
    assert!(
        html.contains("cannot be linearized"),
        "the report explains the anomaly"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(
        xml.contains("rethink-fail-minimal.edn: linearizable"),
        "{xml}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every history of `../shared/corpora/MANIFEST.tsv` gets the verdict listed there, with the
/// flags listed there translated into schism's.
#[test]
fn every_corpus_history_gets_its_manifest_verdict() {
    let manifest = std::fs::read_to_string(corpora().join("MANIFEST.tsv")).expect("MANIFEST.tsv");
    let mut checked = 0;
    for line in manifest.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [path, model, flags, expected] = fields[..] else {
            panic!("MANIFEST.tsv line has not four fields: {line}");
        };
        let mut args: Vec<String> = vec!["check".into()];
        match (model, flags) {
            ("list-append", "-") => args.extend(["--workload".into(), "list-append".into()]),
            ("list-append", flags) => {
                args.extend(["--workload".into(), "list-append".into()]);
                args.extend(flags.split_whitespace().map(String::from));
            }
            ("cas-register", "initial value 0") => args.extend([
                "--model".into(),
                "cas-register".into(),
                "--init".into(),
                "0".into(),
            ]),
            ("multi-register", "initial values x=0 y=0") => args.extend([
                "--model".into(),
                "multi-register".into(),
                "--init".into(),
                r#"{"x":0,"y":0}"#.into(),
            ]),
            ("mutex", "-") => args.extend(["--model".into(), "mutex".into()]),
            other => panic!("MANIFEST.tsv row not understood: {other:?}"),
        }
        let file = corpora().join(path).display().to_string();
        args.push(file.clone());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = schism(&argv, None);
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with(&format!("{file}\t{expected}\n")),
            "{path}: expected {expected}\n{stdout}{}",
            text(&out.stderr)
        );
        checked += 1;
    }
    assert_eq!(checked, 125);
}

#[test]
fn transactional_histories_are_detected_and_explained_with_edges() {
    let file = corpora()
        .join("elle/paper-example.edn")
        .display()
        .to_string();
    let out = schism(&["check", &file], None);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("[elle] invalid against strict-serializable"),
        "{stdout}"
    );
    assert!(stdout.contains("G-single"), "{stdout}");
    assert!(
        stdout.contains("which includes T1 (index 3)'s append of 8 (wr)"),
        "{stdout}"
    );
}

#[test]
fn snapshot_isolation_holds_where_only_g2_item_is_found() {
    let file = corpora()
        .join("elle/si-without-g-single.edn")
        .display()
        .to_string();
    let si = schism(
        &[
            "check",
            "--workload",
            "list-append",
            "--consistency-models",
            "snapshot-isolation",
            &file,
        ],
        None,
    );
    assert_eq!(si.status.code(), Some(0), "{}", text(&si.stdout));
}
