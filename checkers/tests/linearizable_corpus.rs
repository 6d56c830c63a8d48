//! Knossos's own test histories (`/work/shared/corpora/knossos`, from Knossos's `data/`
//! folder): every file under a `good` folder must check valid, every file under `bad`
//! invalid, with the model and initial value Knossos's tests use for that folder.

use std::path::{Path, PathBuf};

use schism_checkers::linearizable::{check, LinearOptions, Model};
use schism_checkers::Validity;
use schism_histories::{read_path, Value};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/knossos")
}

fn options(model_dir: &str) -> LinearOptions {
    match model_dir {
        "cas-register" => LinearOptions::new(Model::CasRegister).with_init(Value::Int(0)),
        "multi-register" => LinearOptions::new(Model::MultiRegister)
            .with_init(Value::from_json(&serde_json::json!({"x": 0, "y": 0}))),
        "mutex" => LinearOptions::new(Model::Mutex),
        other => panic!("no model known for corpus folder {other}"),
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "edn"))
        .collect();
    out.sort();
    out
}

fn check_folder(model_dir: &str) -> usize {
    let root = corpus().join(model_dir);
    if !root.exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the corpus is missing at {}", root.display());
        }
        println!("skipped: the corpus is missing at {}", root.display());
        return 0;
    }
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (verdict_dir, expected) in [("good", Validity::Valid), ("bad", Validity::Invalid)] {
        let dir = root.join(verdict_dir);
        if !dir.exists() {
            continue;
        }
        for file in files(&dir) {
            let history = read_path(&file).unwrap_or_else(|e| panic!("{e}"));
            let paired = history.pair().unwrap_or_else(|e| panic!("{e}"));
            let result = check(&paired, &options(model_dir));
            if expected == Validity::Invalid {
                println!("{}: {}", file.display(), result.explain());
            }
            if result.validity != expected {
                wrong.push(format!(
                    "{}: expected {expected}, got {}",
                    file.display(),
                    result.explain()
                ));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    checked
}

#[test]
fn cas_register_corpus() {
    let n = check_folder("cas-register");
    assert!(n == 0 || n == 120, "expected 120 files, checked {n}");
}

#[test]
fn multi_register_corpus() {
    check_folder("multi-register");
}

#[test]
fn mutex_corpus() {
    check_folder("mutex");
}

/// Every invalid cas-register history shrinks to a small invalid one, which is 1-minimal.
#[test]
fn bad_cas_register_histories_minimize() {
    let dir = corpus().join("cas-register/bad");
    if !dir.exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the corpus is missing at {}", dir.display());
        }
        println!("skipped: the corpus is missing at {}", dir.display());
        return;
    }
    for file in files(&dir) {
        let paired = read_path(&file).unwrap().pair().unwrap();
        let minimized = schism_checkers::linearizable::minimize(&paired, &options("cas-register"));
        println!("{}: {}", file.display(), minimized.explain());
        assert!(minimized.complete, "{}", file.display());
        assert_eq!(minimized.result.validity, Validity::Invalid);
        assert!(minimized.kept.len() <= 12, "{}", minimized.explain());
    }
}
