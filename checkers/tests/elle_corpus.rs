//! The Elle corpus of `/work/shared/corpora`: each history must get the verdict
//! MANIFEST.tsv gives it, within the default time budget.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schism_checkers::elle::{check, ConsistencyModel, ElleOptions, Workload};
use schism_checkers::Validity;

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")
}

/// One `elle/` row of the manifest: path, workload, models, expected verdict.
type Row = (String, Workload, Vec<ConsistencyModel>, Validity);

fn manifest() -> Option<Vec<Row>> {
    let text = std::fs::read_to_string(corpora().join("MANIFEST.tsv")).ok()?;
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [path, model, flags, expected] = cols[..] else {
            continue;
        };
        if !path.starts_with("elle/") {
            continue;
        }
        let workload = Workload::parse(model).expect("workload");
        let models = match flags.strip_prefix("--consistency-models ") {
            Some(names) => ConsistencyModel::parse_list(names).expect("models"),
            None => vec![ConsistencyModel::StrictSerializable],
        };
        let expected = match expected {
            "valid" => Validity::Valid,
            "invalid" => Validity::Invalid,
            _ => Validity::Unknown,
        };
        rows.push((path.to_string(), workload, models, expected));
    }
    Some(rows)
}

#[test]
fn corpus_verdicts_match_the_manifest() {
    let Some(rows) = manifest() else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "the corpus is missing at {}",
            corpora().display()
        );
        println!("skipping: no corpus at {}", corpora().display());
        return;
    };
    assert!(!rows.is_empty());
    for (path, workload, models, expected) in rows {
        let history = schism_histories::read_path(&corpora().join(&path))
            .and_then(|h| h.pair())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let options = ElleOptions {
            workload,
            consistency_models: models,
            time_limit: Duration::from_secs(10),
        };
        let result = check(&history, &options).unwrap_or_else(|e| panic!("{path}: {e}"));
        println!("{path}: {}", result.explain());
        if path.ends_with("huge-scc.edn") {
            // A huge component may run out of budget on a slow machine; it must never pass.
            assert_ne!(result.valid, Validity::Valid, "{path}");
        } else {
            assert_eq!(result.valid, expected, "{path}\n{}", result.explain());
        }
    }
}
