//! Tolerant readers of the checkers' JSON (as written to a run's `results.json`).
//!
//! The report does not link the checkers; it reads the fields they emit, under several
//! spellings, and anything it does not recognise is shown as pretty-printed JSON. The shapes
//! understood are:
//!
//! - **Linearizability** (Herlihy & Wing; witness as Knossos and Porcupine give it): an object
//!   with the operation that cannot be placed under `op`, `failing_op`, `failed_op` or
//!   `failing`; the longest linearizable prefix under `longest_prefix`, `prefix`,
//!   `linearized` or `final_linearized`; the operations concurrent with the failing one under
//!   `concurrent`, `concurrent_ops` or `pending`. The object may be the checker's result, its
//!   `witness`, or an entry of its `keys`/`failures`/`witnesses` (per-key results).
//! - **Anomalies** (Elle, Kingsbury & Alvaro 2020; causal consistency, Bouajjani et al. 2017):
//!   `anomalies` as a map from anomaly type to a list of instances, or as a list of instances
//!   each naming its type under `type`, `kind`, `name` or `anomaly`. An instance may carry a
//!   `cycle` (a list of operations) and `steps`/`edges` (each `{from, to, type, explanation}`,
//!   the type being `ww`, `wr`, `rw`, `process` or `realtime`), an `explanation`, and the
//!   operations involved under `ops`, `op`, `reads`, `writes` or `ops_involved`.
//! - **Models ruled out**: `not`, `also_not` (`also-not`), `ruled_out` or `models_ruled_out`,
//!   each a list of consistency-model names.
//!
//! An operation is referred to by its history `index` (an integer), or by an operation object
//! carrying `index`.

use std::collections::BTreeSet;

use serde_json::Value as Json;

/// One checker's result as the report shows it.
#[derive(Clone, Debug)]
pub(crate) struct CheckerView {
    pub name: String,
    pub validity: String,
    pub explanation: Option<String>,
    pub ruled_out: BTreeSet<String>,
    pub anomalies: Vec<Anomaly>,
    pub witnesses: Vec<LinWitness>,
    pub raw: Json,
}

/// One instance of an anomaly.
#[derive(Clone, Debug)]
pub(crate) struct Anomaly {
    pub kind: String,
    pub explanation: Vec<String>,
    /// Every operation the instance mentions, in order of first mention.
    pub ops: Vec<u64>,
    pub cycle: Vec<u64>,
    pub steps: Vec<Step>,
    pub raw: Json,
}

/// One edge of a dependency cycle.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub from: u64,
    pub to: u64,
    pub kind: String,
    pub explanation: Option<String>,
}

/// A linearizability witness.
#[derive(Clone, Debug)]
pub(crate) struct LinWitness {
    pub key: Option<String>,
    pub failing: Option<u64>,
    pub concurrent: Vec<u64>,
    pub prefix: Vec<u64>,
    pub explanation: Option<String>,
}

const FAILING_KEYS: &[&str] = &["failing_op", "failed_op", "failing", "op"];
const PREFIX_KEYS: &[&str] = &[
    "longest_prefix",
    "longest_linearizable_prefix",
    "prefix",
    "linearized",
    "final_linearized",
];
const CONCURRENT_KEYS: &[&str] = &["concurrent", "concurrent_ops", "pending"];
const RULED_OUT_KEYS: &[&str] = &[
    "not",
    "also_not",
    "also-not",
    "ruled_out",
    "models_ruled_out",
];
const OPS_KEYS: &[&str] = &[
    "ops",
    "op",
    "ops_involved",
    "reads",
    "writes",
    "read",
    "write",
    "txns",
];
const EXPLANATION_KEYS: &[&str] = &["explanation", "explanations", "message", "description"];

/// An operation reference: an index, or an object that carries one.
pub(crate) fn op_ref(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n.as_u64(),
        Json::Object(m) => m
            .get("index")
            .and_then(Json::as_u64)
            .or_else(|| m.get("op").and_then(op_ref)),
        _ => None,
    }
}

/// Every operation reference in a value that is an op reference or a list of them.
fn op_refs(v: &Json) -> Vec<u64> {
    match v {
        Json::Array(items) => items.iter().filter_map(op_ref).collect(),
        other => op_ref(other).into_iter().collect(),
    }
}

fn string_of(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        Json::Bool(_) | Json::Number(_) => Some(v.to_string()),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(string_of).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        }
        Json::Object(_) => None,
    }
}

fn first<'a>(obj: &'a serde_json::Map<String, Json>, keys: &[&str]) -> Option<&'a Json> {
    keys.iter().find_map(|k| obj.get(*k))
}

fn explanations(obj: &serde_json::Map<String, Json>) -> Vec<String> {
    EXPLANATION_KEYS
        .iter()
        .filter_map(|k| obj.get(*k))
        .flat_map(|v| match v {
            Json::Array(items) => items.iter().filter_map(string_of).collect::<Vec<_>>(),
            other => string_of(other).into_iter().collect(),
        })
        .collect()
}

/// Reads the per-checker map of a `results.json`. A missing or odd `checkers` field gives one
/// view of the whole document, so that nothing is hidden.
pub(crate) fn checker_views(results: &Json) -> Vec<CheckerView> {
    match results.get("checkers") {
        Some(Json::Object(map)) => map.iter().map(|(k, v)| view(k, v)).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let name = v
                    .get("name")
                    .and_then(Json::as_str)
                    .map_or_else(|| format!("checker {i}"), str::to_string);
                view(&name, v)
            })
            .collect(),
        _ => vec![view("results", results)],
    }
}

/// The overall verdict of a results document: its `valid` field, or the merge of the
/// checkers' (invalid beats unknown beats valid).
pub(crate) fn overall_validity(results: &Json, views: &[CheckerView]) -> String {
    if let Some(v) = results.get("valid").map(validity_text) {
        return v;
    }
    let mut verdict = "valid";
    for view in views {
        match view.validity.as_str() {
            "invalid" => verdict = "invalid",
            "unknown" if verdict == "valid" => verdict = "unknown",
            _ => {}
        }
    }
    verdict.to_string()
}

/// A `valid` field as Jepsen writes it (`true`, `false`, `"unknown"`) or as schism does.
pub(crate) fn validity_text(v: &Json) -> String {
    match v {
        Json::Bool(true) => "valid".into(),
        Json::Bool(false) => "invalid".into(),
        Json::String(s) => match s.as_str() {
            "true" => "valid".into(),
            "false" => "invalid".into(),
            other => other.to_string(),
        },
        Json::Null => "unknown".into(),
        other => other.to_string(),
    }
}

fn view(name: &str, v: &Json) -> CheckerView {
    let validity = v
        .get("valid")
        .map(validity_text)
        .unwrap_or_else(|| "unknown".into());
    let mut ruled_out = BTreeSet::new();
    let mut anomalies = Vec::new();
    let mut witnesses = Vec::new();
    let mut explanation = None;
    if let Json::Object(obj) = v {
        for key in RULED_OUT_KEYS {
            if let Some(Json::Array(models)) = obj.get(*key) {
                ruled_out.extend(models.iter().filter_map(string_of));
            }
        }
        if let Some(a) = obj.get("anomalies") {
            anomalies = read_anomalies(a);
        }
        for key in ["cycles", "witness_cycles"] {
            if let Some(Json::Array(items)) = obj.get(key) {
                anomalies.extend(items.iter().map(|i| read_anomaly("cycle", i)));
            }
        }
        let reasons = explanations(obj);
        if !reasons.is_empty() {
            explanation = Some(reasons.join(" "));
        }
        if let Some(w) = read_witness(None, v) {
            witnesses.push(w);
        }
        if let Some(w) = obj.get("witness").and_then(|w| read_witness(None, w)) {
            witnesses.push(w);
        }
        for key in ["keys", "failures", "witnesses", "per_key"] {
            match obj.get(key) {
                Some(Json::Object(per_key)) => {
                    for (k, r) in per_key {
                        let r = r.get("witness").unwrap_or(r);
                        witnesses.extend(read_witness(Some(k.clone()), r));
                    }
                }
                Some(Json::Array(items)) => {
                    for r in items {
                        let key = r.get("key").map(|k| match k {
                            Json::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                        let r = r.get("witness").unwrap_or(r);
                        witnesses.extend(read_witness(key, r));
                    }
                }
                _ => {}
            }
        }
    }
    CheckerView {
        name: name.to_string(),
        validity,
        explanation,
        ruled_out,
        anomalies,
        witnesses,
        raw: v.clone(),
    }
}

fn read_anomalies(a: &Json) -> Vec<Anomaly> {
    match a {
        Json::Object(by_type) => by_type
            .iter()
            .flat_map(|(kind, list)| match list {
                Json::Array(items) => items.iter().map(|i| read_anomaly(kind, i)).collect(),
                other => vec![read_anomaly(kind, other)],
            })
            .collect(),
        Json::Array(items) => items
            .iter()
            .map(|i| {
                let kind = ["type", "kind", "name", "anomaly"]
                    .iter()
                    .find_map(|k| i.get(*k).and_then(Json::as_str))
                    .unwrap_or("anomaly");
                read_anomaly(kind, i)
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn read_anomaly(kind: &str, v: &Json) -> Anomaly {
    let mut anomaly = Anomaly {
        kind: kind.to_string(),
        explanation: Vec::new(),
        ops: Vec::new(),
        cycle: Vec::new(),
        steps: Vec::new(),
        raw: v.clone(),
    };
    let Json::Object(obj) = v else {
        anomaly.ops = op_refs(v);
        return anomaly;
    };
    anomaly.explanation = explanations(obj);
    if let Some(c) = obj.get("cycle") {
        anomaly.cycle = op_refs(c);
    }
    if let Some(Json::Array(steps)) = first(obj, &["steps", "edges"]) {
        for s in steps {
            let from = s.get("from").or_else(|| s.get("source")).and_then(op_ref);
            let to = s.get("to").or_else(|| s.get("target")).and_then(op_ref);
            let kind = ["type", "kind", "rel", "relation", "edge"]
                .iter()
                .find_map(|k| s.get(*k).and_then(string_of))
                .unwrap_or_else(|| "dep".into());
            let explanation = s.as_object().and_then(|o| {
                let e = explanations(o);
                (!e.is_empty()).then(|| e.join(" "))
            });
            if let (Some(from), Some(to)) = (from, to) {
                anomaly.steps.push(Step {
                    from,
                    to,
                    kind,
                    explanation,
                });
            }
        }
    }
    // A cycle given only as steps: the cycle is the steps' sources in order.
    if anomaly.cycle.is_empty() && !anomaly.steps.is_empty() {
        anomaly.cycle = anomaly.steps.iter().map(|s| s.from).collect();
    }
    // A cycle given only as operations: consecutive operations, edges of unknown type.
    if anomaly.steps.is_empty() && anomaly.cycle.len() >= 2 {
        let c = &anomaly.cycle;
        let mut ring: Vec<u64> = c.clone();
        if ring.first() == ring.last() {
            ring.pop();
        }
        anomaly.steps = (0..ring.len())
            .map(|i| Step {
                from: ring[i],
                to: ring[(i + 1) % ring.len()],
                kind: "dep".into(),
                explanation: None,
            })
            .collect();
    }
    let mut seen = BTreeSet::new();
    let mut push = |ops: &mut Vec<u64>, i: u64| {
        if seen.insert(i) {
            ops.push(i);
        }
    };
    let mut ops = Vec::new();
    for &i in &anomaly.cycle {
        push(&mut ops, i);
    }
    for s in &anomaly.steps {
        push(&mut ops, s.from);
        push(&mut ops, s.to);
    }
    for key in OPS_KEYS {
        if let Some(v) = obj.get(*key) {
            for i in op_refs(v) {
                push(&mut ops, i);
            }
        }
    }
    anomaly.ops = ops;
    anomaly
}

fn read_witness(key: Option<String>, v: &Json) -> Option<LinWitness> {
    let obj = v.as_object()?;
    let failing = first(obj, FAILING_KEYS).and_then(op_ref);
    let prefix = first(obj, PREFIX_KEYS).map(op_refs).unwrap_or_default();
    let concurrent = first(obj, CONCURRENT_KEYS).map(op_refs).unwrap_or_default();
    // An `op` alone is too common a field name to mean a witness; ask for a second sign.
    let has_witness_fields = FAILING_KEYS[..3].iter().any(|k| obj.contains_key(*k))
        || PREFIX_KEYS.iter().any(|k| obj.contains_key(*k))
        || CONCURRENT_KEYS.iter().any(|k| obj.contains_key(*k));
    if failing.is_none() || !has_witness_fields {
        return None;
    }
    let e = explanations(obj);
    Some(LinWitness {
        key,
        failing,
        concurrent,
        prefix,
        explanation: (!e.is_empty()).then(|| e.join(" ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_elle_style_anomalies_by_type() {
        let results = json!({"valid": "invalid", "checkers": {"elle": {
            "valid": "invalid",
            "not": ["serializable", "snapshot-isolation"],
            "anomalies": {"G-single": [{
                "cycle": [{"index": 3}, {"index": 7}],
                "steps": [
                    {"from": 3, "to": 7, "type": "rw", "explanation": "T1 read x"},
                    {"from": 7, "to": 3, "type": "wr"}
                ],
                "explanation": "a cycle"
            }]}
        }}});
        let views = checker_views(&results);
        assert_eq!(views.len(), 1);
        let v = &views[0];
        assert_eq!(v.validity, "invalid");
        assert_eq!(v.ruled_out.len(), 2);
        assert_eq!(v.anomalies[0].kind, "G-single");
        assert_eq!(v.anomalies[0].cycle, vec![3, 7]);
        assert_eq!(v.anomalies[0].steps[1].kind, "wr");
        assert!(v.witnesses.is_empty());
    }

    #[test]
    fn reads_linearizability_witnesses_per_key() {
        let results = json!({"checkers": {"linear": {
            "valid": false,
            "keys": {"7": {"valid": false, "failing_op": {"index": 9},
                           "longest_prefix": [1, 2], "concurrent": [5]}}
        }}});
        let views = checker_views(&results);
        let w = &views[0].witnesses[0];
        assert_eq!(w.key.as_deref(), Some("7"));
        assert_eq!(w.failing, Some(9));
        assert_eq!(w.prefix, vec![1, 2]);
        assert_eq!(views[0].validity, "invalid");
    }

    #[test]
    fn odd_shapes_do_not_panic() {
        for v in [
            json!(null),
            json!([1, 2]),
            json!({"checkers": 3}),
            json!({"checkers": {"x": {"anomalies": 4, "cycle": "no", "steps": [1, {"from": "a"}]}}}),
            json!({"checkers": {"x": {"anomalies": [{"cycle": [1]}, 5, null]}}}),
        ] {
            let views = checker_views(&v);
            let _ = overall_validity(&v, &views);
        }
    }
}
