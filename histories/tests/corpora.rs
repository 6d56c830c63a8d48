//! Every history under the shared corpora reads, with the operation counts the files hold.

use std::path::{Path, PathBuf};

use schism_histories::{read_path, History, Process};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "edn" || e == "json" || e == "jsonl")
        {
            out.push(path);
        }
    }
}

fn read(relative: &str) -> History {
    let path = corpora().join(relative);
    read_path(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_corpus_file_reads() {
    let mut paths = Vec::new();
    files(&corpora(), &mut paths);
    assert!(paths.len() >= 120, "found only {} histories", paths.len());
    for path in &paths {
        let history = read_path(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!history.ops.is_empty(), "{} is empty", path.display());
        assert_eq!(history.source_name, path.display().to_string());
    }
}

#[test]
fn corpus_files_hold_the_expected_operations() {
    let cases = [
        ("elle/huge-scc.edn", 20602),
        ("elle/paper-example.edn", 8),
        ("knossos/cas-register/bad/immediate-failure.edn", 4),
        (
            "knossos/cas-register/good/mongodb-v0-ack-rollback-11.edn",
            6,
        ),
    ];
    for (file, count) in cases {
        assert_eq!(read(file).ops.len(), count, "{file}");
    }
}

#[test]
fn corpus_fields_read_as_jepsen_means_them() {
    // The Elle paper's example has no process and no time: the defaults apply.
    let paper = read("elle/paper-example.edn");
    assert_eq!(paper.ops[3].process, Process::Client(-1));
    assert_eq!(paper.ops[3].index, 3);
    assert_eq!(paper.ops[3].time, 3);
    assert_eq!(paper.ops[3].f, "");
    assert_eq!(paper.ops[3].pos.line, 4);

    let mutex = read("knossos/mutex/bad/etcd.edn");
    let failed = &mutex.ops[1];
    assert_eq!(
        failed.error.as_ref().map(|e| e.to_string()).as_deref(),
        Some(":not-held")
    );
    assert_eq!((failed.pos.line, failed.pos.column), (2, 1));
    assert_eq!(mutex.ops[0].time, 341187643);

    let nemesis = read("knossos/cas-register/good/mongodb-v0-ack-rollback-.edn");
    assert_eq!(nemesis.ops[0].process, Process::Nemesis);
    assert_eq!((nemesis.ops[1].pos.line, nemesis.ops[1].pos.column), (2, 2));

    // Histories that the pairing accepts pair.
    for file in [
        "elle/huge-scc.edn",
        "knossos/cas-register/bad/rethink-fail.edn",
        "knossos/multi-register/good/multi-register.edn",
    ] {
        read(file).pair().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn unknown_extensions_are_sniffed() {
    let text = std::fs::read(corpora().join("elle/paper-example.edn")).unwrap();
    let path = std::env::temp_dir().join(format!("schism-sniff-{}.txt", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let read = read_path(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(read.unwrap_or_else(|e| panic!("{e}")).ops.len(), 8);
}
