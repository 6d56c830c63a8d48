//! Tolerant readers of the checkers' JSON (as written to a run's `results.json`).
//!
//! The report does not link the checkers; it reads the fields they emit, under several
//! spellings, and anything it does not recognise is shown as pretty-printed JSON. A checker's
//! entry gives its verdict as `valid` or `validity`; its own JSON may be the entry itself or
//! nested under `explanation` (as the harness writes it). The shapes understood are:
//!
//! - **Linearizability** (Herlihy & Wing; witness as Knossos and Porcupine give it): an object
//!   with the operation that cannot be placed under `op`, `failing_op`, `failed_op` or
//!   `failing`; the longest linearizable prefix under `prefix`, `longest_prefix`, `linearized`
//!   or `final_linearized`; the operations concurrent with it under `concurrent`,
//!   `concurrent_ops` or `pending`; the model's states after the prefix under `states`. The
//!   object is the checker's `witness` (with the checker's `key` for keyed histories), the
//!   checker's result itself, or an entry of its `keys`/`failures`/`witnesses`.
//! - **Anomalies** (Elle, Kingsbury & Alvaro 2020; causal consistency, Bouajjani et al. 2017):
//!   `anomalies` as a map from anomaly type to a list of instances, or as a list of instances
//!   each naming its type under `type`, `kind`, `name` or `anomaly`. An instance names its
//!   transactions under `txns` (each with its history `index` and an identifier, `name` such
//!   as `T1` or a number `txn`), its `explanation` (or `reason`), and its dependency cycle or
//!   causal path under `cycle`, `steps`, `edges` or `path`: each step `{from, to, type}` (or
//!   `kind`/`relation`: `ww`, `wr`, `rw`, `process`, `realtime`, `so`) with its `explanation`
//!   or `reason`; `from` and `to` name a transaction or give an operation index.
//! - **Lists of findings** of the harness's small checkers (`lost`, `stale`, `unexpected`,
//!   `errors`, `diverged`). When every item carries an `explanation` sentence (the harness's
//!   layout: `element`, `add` {`invoke_index`, `process`, `node`, `acknowledged_s`}, `faults`,
//!   `node_faults`, `missing_from`/`present_in`/`last_seen` reads {`index`, `node`}), the list
//!   is a [`FindingGroup`] with its `<kind>_count` and `<kind>_summary`, shown as a table.
//!   Otherwise each element becomes an anomaly of that name, its operations read from
//!   `read_index`, `last_absent_read_index` and `absent_in_read_indices`.
//! - **Models ruled out**: `not`, `also_not` (`also-not`), `ruled_out` or `models_ruled_out`,
//!   each a list of consistency-model names.
//!
//! An operation is referred to by its history `index` (an integer), or by an object carrying
//! `index`; either the invocation's or the completion's index.

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
    /// Lists of findings that explain themselves (each item has an `explanation`), shown as
    /// tables.
    pub findings: Vec<FindingGroup>,
    pub witnesses: Vec<LinWitness>,
    pub raw: Json,
}

/// A list of findings of one kind (`lost`, `stale`, `unexpected`, `errors`, `diverged`) whose
/// items each carry an `explanation` sentence, as the harness's checkers write them: shown as
/// one table with a headline rather than one card per item.
#[derive(Clone, Debug)]
pub(crate) struct FindingGroup {
    pub kind: String,
    /// How many there are (`<kind>_count`); the items may be only the first of them.
    pub total: usize,
    /// The checker's headline for them (`<kind>_summary`).
    pub summary: Option<String>,
    pub items: Vec<Json>,
    /// How many were found per fault in force (`<kind>_by_fault`) and per node
    /// (`<kind>_by_node`), most first.
    pub by_fault: Vec<(String, u64)>,
    pub by_node: Vec<(String, u64)>,
    /// The checker's final read of each node (`final_reads`: `{index, node, size}`).
    pub final_reads: Vec<Json>,
}

impl FindingGroup {
    /// The operations an item names: its add, the reads that lack it or saw it.
    pub(crate) fn item_ops(item: &Json) -> Vec<u64> {
        let mut ops = Vec::new();
        for key in ["add", "first_read", "last_seen"] {
            if let Some(i) = item
                .get(key)
                .and_then(|a| a.get("invoke_index").or_else(|| a.get("index")))
                .and_then(Json::as_u64)
            {
                ops.push(i);
            }
        }
        for key in ["missing_from", "present_in"] {
            if let Some(Json::Array(reads)) = item.get(key) {
                ops.extend(reads.iter().filter_map(op_ref));
            }
        }
        if let Some(i) = item.get("read_index").and_then(Json::as_u64) {
            ops.push(i);
        }
        ops
    }
}

/// One instance of an anomaly.
#[derive(Clone, Debug)]
pub(crate) struct Anomaly {
    pub kind: String,
    pub explanation: Vec<String>,
    /// Every operation the instance mentions, in order of first mention.
    pub ops: Vec<u64>,
    /// The transactions of the cycle (or path), in order.
    pub cycle: Vec<Node>,
    pub steps: Vec<Step>,
    /// Whether the steps close a cycle (Elle's cycles) or are an open path (a causal path).
    pub closed: bool,
    pub raw: Json,
}

/// One edge of a dependency cycle or causal path.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub from: Node,
    pub to: Node,
    pub kind: String,
    pub explanation: Option<String>,
}

/// A transaction or operation in a cycle: how the checker named it, and its history index
/// where known.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Node {
    pub label: String,
    pub index: Option<u64>,
}

impl Node {
    fn op(index: u64) -> Node {
        Node {
            label: format!("op {index}"),
            index: Some(index),
        }
    }
}

/// The identifiers an anomaly gives its transactions (`txns`), to resolve its steps.
#[derive(Default)]
struct Names {
    by_name: std::collections::BTreeMap<String, u64>,
    by_txn: std::collections::BTreeMap<u64, u64>,
}

impl Names {
    fn of(obj: &serde_json::Map<String, Json>) -> Names {
        let mut names = Names::default();
        if let Some(Json::Array(txns)) = obj.get("txns") {
            for t in txns {
                let Some(index) = t.get("index").and_then(Json::as_u64) else {
                    continue;
                };
                if let Some(name) = t.get("name").and_then(Json::as_str) {
                    names.by_name.insert(name.to_string(), index);
                }
                if let Some(txn) = t.get("txn").and_then(Json::as_u64) {
                    names.by_txn.insert(txn, index);
                }
            }
        }
        names
    }

    /// A step's endpoint: a transaction's name, a transaction number (when the anomaly
    /// numbers its transactions), an operation index, or an operation object.
    fn node(&self, v: &Json) -> Option<Node> {
        match v {
            Json::String(s) => Some(Node {
                label: s.clone(),
                index: self.by_name.get(s).copied(),
            }),
            Json::Number(n) => {
                let n = n.as_u64()?;
                if self.by_txn.is_empty() {
                    Some(Node::op(n))
                } else {
                    Some(Node {
                        label: format!("T{n}"),
                        index: self.by_txn.get(&n).copied(),
                    })
                }
            }
            Json::Object(_) => op_ref(v).map(Node::op),
            _ => None,
        }
    }
}

/// A linearizability witness.
#[derive(Clone, Debug)]
pub(crate) struct LinWitness {
    pub key: Option<String>,
    /// The model's states after the prefix, as JSON text.
    pub states: Vec<String>,
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
    "read_index",
    "last_absent_read_index",
    "absent_in_read_indices",
];
const EXPLANATION_KEYS: &[&str] = &[
    "explanation",
    "explanations",
    "message",
    "description",
    "reason",
    "unknown_reason",
];
const STEP_KEYS: &[&str] = &["steps", "edges", "path", "cycle"];
/// Lists of findings of the harness's small checkers, each element an anomaly.
const FINDING_KEYS: &[&str] = &["lost", "stale", "unexpected", "errors", "diverged"];

/// A map of counts (`{"n1": 3, "n2": 5}`), most first.
fn counts(v: Option<&Json>) -> Vec<(String, u64)> {
    let Some(Json::Object(m)) = v else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64)> = m
        .iter()
        .filter_map(|(k, n)| Some((k.clone(), n.as_u64()?)))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

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
    if let Some(v) = results
        .get("valid")
        .or_else(|| results.get("validity"))
        .map(validity_text)
    {
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
        .or_else(|| v.get("validity"))
        .map(validity_text)
        .unwrap_or_else(|| "unknown".into());
    let mut ruled_out = BTreeSet::new();
    let mut anomalies = Vec::new();
    let mut findings = Vec::new();
    let mut witnesses = Vec::new();
    let mut reasons = Vec::new();
    // The checker's own JSON: the entry itself, or its `explanation` object (the harness's
    // layout). Both are read, the outer one first.
    let mut layers: Vec<&serde_json::Map<String, Json>> = Vec::new();
    if let Json::Object(obj) = v {
        layers.push(obj);
        if let Some(Json::Object(inner)) = obj.get("explanation") {
            layers.push(inner);
        }
    }
    for obj in layers {
        for key in RULED_OUT_KEYS {
            if let Some(Json::Array(models)) = obj.get(*key) {
                ruled_out.extend(models.iter().filter_map(string_of));
            }
        }
        if let Some(a) = obj.get("anomalies") {
            anomalies.extend(read_anomalies(a));
        }
        for key in ["cycles", "witness_cycles"] {
            if let Some(Json::Array(items)) = obj.get(key) {
                anomalies.extend(items.iter().map(|i| read_anomaly("cycle", i)));
            }
        }
        for key in FINDING_KEYS {
            let Some(Json::Array(items)) = obj.get(*key) else {
                continue;
            };
            let explained = !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.get("explanation").is_some_and(Json::is_string));
            if explained {
                findings.push(FindingGroup {
                    kind: key.to_string(),
                    total: obj
                        .get(&format!("{key}_count"))
                        .and_then(Json::as_u64)
                        .map_or(items.len(), |n| (n as usize).max(items.len())),
                    summary: obj
                        .get(&format!("{key}_summary"))
                        .and_then(Json::as_str)
                        .map(str::to_string),
                    items: items.clone(),
                    by_fault: counts(obj.get(&format!("{key}_by_fault"))),
                    by_node: counts(obj.get(&format!("{key}_by_node"))),
                    final_reads: match obj.get("final_reads") {
                        Some(Json::Array(reads)) => reads.iter().take(100).cloned().collect(),
                        _ => Vec::new(),
                    },
                });
            } else {
                anomalies.extend(items.iter().map(|i| read_anomaly(key, i)));
            }
        }
        reasons.extend(explanations(obj));
        let key = obj.get("key").and_then(|k| match k {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        });
        if let Some(w) = read_witness_obj(key.clone(), obj) {
            witnesses.push(w);
        }
        if let Some(w) = obj
            .get("witness")
            .and_then(|w| read_witness(key.clone(), w))
        {
            witnesses.push(w);
        }
        for per in ["keys", "failures", "witnesses", "per_key"] {
            match obj.get(per) {
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
        explanation: (!reasons.is_empty()).then(|| reasons.join(" ")),
        ruled_out,
        anomalies,
        findings,
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
        closed: false,
        raw: v.clone(),
    };
    let Json::Object(obj) = v else {
        anomaly.ops = op_refs(v);
        return anomaly;
    };
    anomaly.explanation = explanations(obj);
    let names = Names::of(obj);
    for key in STEP_KEYS {
        let Some(Json::Array(items)) = obj.get(*key) else {
            continue;
        };
        let are_steps = items
            .iter()
            .any(|i| i.get("from").or_else(|| i.get("source")).is_some());
        if are_steps && anomaly.steps.is_empty() {
            for s in items {
                let from = s
                    .get("from")
                    .or_else(|| s.get("source"))
                    .and_then(|n| names.node(n));
                let to = s
                    .get("to")
                    .or_else(|| s.get("target"))
                    .and_then(|n| names.node(n));
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
        } else if !are_steps && *key == "cycle" && anomaly.cycle.is_empty() {
            anomaly.cycle = items.iter().filter_map(|n| names.node(n)).collect();
        }
    }
    if !anomaly.steps.is_empty() {
        // The cycle (or path) is the steps' sources in order, and the last step's target when
        // it does not lead back to the first.
        anomaly.cycle = anomaly.steps.iter().map(|s| s.from.clone()).collect();
        let first = anomaly.steps.first().map(|s| s.from.clone());
        let last = anomaly.steps.last().map(|s| s.to.clone());
        anomaly.closed = first == last;
        if let (false, Some(last)) = (anomaly.closed, last) {
            anomaly.cycle.push(last);
        }
    } else if anomaly.cycle.len() >= 2 {
        // A cycle given only as operations: consecutive operations, edges of unknown type.
        let mut ring = anomaly.cycle.clone();
        if ring.first() == ring.last() {
            ring.pop();
        }
        anomaly.cycle = ring.clone();
        anomaly.closed = true;
        anomaly.steps = (0..ring.len())
            .map(|i| Step {
                from: ring[i].clone(),
                to: ring[(i + 1) % ring.len()].clone(),
                kind: "dep".into(),
                explanation: None,
            })
            .collect();
    }
    let mut seen = BTreeSet::new();
    let mut ops = Vec::new();
    let mut push = |i: u64| {
        if seen.insert(i) {
            ops.push(i);
        }
    };
    for n in &anomaly.cycle {
        if let Some(i) = n.index {
            push(i);
        }
    }
    for key in OPS_KEYS {
        if let Some(v) = obj.get(*key) {
            for i in op_refs(v) {
                push(i);
            }
        }
    }
    anomaly.ops = ops;
    // A finding with no sentence of its own is shown as its JSON, compactly.
    if anomaly.explanation.is_empty() && anomaly.steps.is_empty() {
        let text = v.to_string();
        let mut short: String = text.chars().take(400).collect();
        if text.chars().count() > 400 {
            short.push('…');
        }
        anomaly.explanation.push(short);
    }
    anomaly
}

fn read_witness(key: Option<String>, v: &Json) -> Option<LinWitness> {
    read_witness_obj(key, v.as_object()?)
}

fn read_witness_obj(
    key: Option<String>,
    obj: &serde_json::Map<String, Json>,
) -> Option<LinWitness> {
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
    let states = match obj.get("states") {
        Some(Json::Array(states)) => states.iter().map(|s| s.to_string()).collect(),
        _ => Vec::new(),
    };
    Some(LinWitness {
        key,
        states,
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
        assert_eq!(v.anomalies[0].ops, vec![3, 7]);
        assert!(v.anomalies[0].closed);
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

    /// The layouts the checkers and the harness write (see their `to_json`).
    #[test]
    fn reads_the_checkers_own_layouts() {
        let results = json!({"validity": "invalid", "checkers": {
            "linearizable": {"validity": "invalid", "explanation": {
                "validity": "invalid", "model": "register", "keyed": true, "key": 7,
                "witness": {"op": {"index": 9, "process": 2, "f": "read", "value": 1, "type": "ok", "line": 10},
                            "prefix": [1, 3], "states": [2],
                            "concurrent": [{"index": 5, "process": 1, "f": "write", "value": 3, "type": "ok", "line": 6}]},
                "unknown_reason": null}},
            "elle": {"valid": "invalid", "not": ["serializable"], "also_not": ["strict-serializable"],
                "anomalies": {"G0": [{"type": "G0",
                    "txns": [{"name": "T1", "index": 4, "process": 0, "type": "ok", "value": []},
                             {"name": "T2", "index": 6, "process": 1, "type": "ok", "value": []}],
                    "cycle": [{"from": "T1", "to": "T2", "type": "ww", "explanation": "T1 appended 1 before T2 appended 2"},
                              {"from": "T2", "to": "T1", "type": "ww", "explanation": "the other way"}],
                    "explanation": "T1 and T2 overwrote each other"}]}},
            "causal": {"validity": "invalid", "anomalies": {"write-co-read": [{
                "kind": "write-co-read", "explanation": "T3 read 1 though T4 overwrote it in its causal past",
                "txns": [{"txn": 3, "index": 11, "process": 0}, {"txn": 4, "index": 13, "process": 1}],
                "path": [{"from": 4, "to": 3, "relation": "so", "reason": "same session"}]}]},
                "unknown_reason": null, "stats": {"transactions": 4}},
            "set": {"validity": "invalid", "explanation": {"lost_count": 1,
                "lost": [{"element": 5, "known_ns": 10, "last_absent_read_index": 20}]}}
        }});
        let views = checker_views(&results);
        let by_name = |n: &str| views.iter().find(|v| v.name == n).expect("view");
        let w = &by_name("linearizable").witnesses[0];
        assert_eq!(by_name("linearizable").validity, "invalid");
        assert_eq!((w.key.as_deref(), w.failing), (Some("7"), Some(9)));
        assert_eq!(
            (w.prefix.clone(), w.concurrent.clone(), w.states.clone()),
            (vec![1, 3], vec![5], vec!["2".to_string()])
        );
        let elle = &by_name("elle").anomalies[0];
        assert!(elle.closed);
        assert_eq!(
            elle.steps[0].from,
            Node {
                label: "T1".into(),
                index: Some(4)
            }
        );
        assert_eq!(elle.ops, vec![4, 6]);
        assert_eq!(by_name("elle").ruled_out.len(), 2);
        let causal = &by_name("causal").anomalies[0];
        assert!(!causal.closed);
        assert_eq!(causal.steps[0].kind, "so");
        assert_eq!(
            causal.cycle,
            vec![
                Node {
                    label: "T4".into(),
                    index: Some(13)
                },
                Node {
                    label: "T3".into(),
                    index: Some(11)
                }
            ]
        );
        let set = &by_name("set").anomalies[0];
        assert_eq!((set.kind.as_str(), set.ops.clone()), ("lost", vec![20]));
        assert_eq!(overall_validity(&results, &views), "invalid");
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
