//! Which checkers judge which workload, and `results.json`: each checker's validity and
//! explanation, and the overall validity composed as Jepsen's `checker/compose` (invalid
//! beats unknown beats valid).

use std::collections::BTreeMap;
use std::time::Duration;

use schism_checkers::causal::{self, CausalOptions};
use schism_checkers::elle::{self, ConsistencyModel, ElleOptions};
use schism_checkers::linearizable::{self, LinearOptions, Model};
use schism_checkers::Validity;
use schism_histories::{History, PairedHistory, Value};
use serde_json::json;

use crate::junit::{junit_xml, JunitCase};
use crate::test::checks::{self, Checked};
use crate::test::config::{TestConfig, Workload};
use crate::test::RunOutcome;

/// The version of `results.json`'s layout.
pub const RESULTS_JSON_VERSION: u32 = 1;

/// The verdict of a run.
#[derive(Clone, Debug)]
pub struct Results {
    pub test: String,
    pub validity: Validity,
    /// Checker name → its verdict, sorted by name.
    pub checkers: BTreeMap<String, Checked>,
    pub interrupted: bool,
    pub notes: Vec<String>,
    pub unsupported_faults: Vec<String>,
    pub op_count: usize,
    pub node_pids: BTreeMap<String, u32>,
}

impl Results {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "version": RESULTS_JSON_VERSION,
            "test": self.test,
            "valid": self.validity,
            "checkers": self.checkers.iter().map(|(name, c)| {
                (name.clone(), json!({"valid": c.validity, "summary": c.text, "explanation": c.explanation}))
            }).collect::<serde_json::Map<_, _>>(),
            "interrupted": self.interrupted,
            "unsupported_faults": self.unsupported_faults,
            "notes": self.notes,
            "history_op_count": self.op_count,
            "node_pids": self.node_pids,
        })
    }

    /// A JUnit XML summary for CI systems: one test case per checker (see [`crate::junit`]).
    pub fn junit_xml(&self, elapsed_s: f64) -> String {
        let cases: Vec<JunitCase> = self
            .checkers
            .iter()
            .map(|(name, c)| JunitCase {
                name: name.clone(),
                validity: c.validity,
                explanation: c.text.clone(),
                time_s: elapsed_s,
            })
            .collect();
        junit_xml(&self.test, &cases)
    }

    /// The summary printed on stderr at the end of a run.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (name, c) in &self.checkers {
            out.push_str(&format!("  {name:<14} {}\n", c.validity));
            for line in c.text.lines().take(12) {
                out.push_str(&format!("      {line}\n"));
            }
        }
        for note in &self.notes {
            out.push_str(&format!("  note: {note}\n"));
        }
        out.push_str(&format!("{}: {}\n", self.test, self.validity));
        out
    }
}

/// Seconds each search-based checker may take before it answers unknown.
const CHECK_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Linearizability of the keyed compare-and-set register, key by key (P-compositionality).
fn linearizable(history: &PairedHistory) -> Checked {
    let options = LinearOptions::new(Model::CasRegister)
        .with_keyed(Some(true))
        .with_time_limit(CHECK_TIME_LIMIT);
    let result = linearizable::check(history, &options);
    Checked {
        validity: result.validity,
        explanation: result.to_json(),
        text: result.explain(),
    }
}

/// Causal consistency of the register workload. The causal checker knows reads and writes,
/// so two kinds of operation are restated as the transactions they are:
///
/// - a compare-and-set `[k [from to]]` reads `from` and writes `to` (a failed one did nothing
///   and is dropped by the checker; an `info` one's read is ignored);
/// - a read of a multi-value register (mmkv's CRDT) that returned `{"siblings": [a, b]}` saw
///   both concurrent writes, so it is a transaction reading `a` and reading `b`.
fn causal_registers(history: &PairedHistory) -> Checked {
    let mut ops = history.history().ops.clone();
    let micro =
        |f: &str, key: &Value, v: Value| Value::List(vec![Value::Str(f.into()), key.clone(), v]);
    for pair in history.pairs() {
        let inv = history.invocation(pair);
        let Some([key, arg]) = inv.value.as_list() else {
            continue;
        };
        let (invoked, completed) = match (inv.f.as_str(), arg) {
            ("cas", Value::List(args)) => {
                let from = args.first().cloned().unwrap_or_default();
                let to = args.get(1).cloned().unwrap_or_default();
                let txn = Value::List(vec![micro("r", key, from), micro("w", key, to)]);
                (txn.clone(), Some(txn))
            }
            ("read", _) => {
                let siblings = history
                    .completion(pair)
                    .and_then(|done| done.value.as_list())
                    .and_then(|v| v.get(1))
                    .and_then(|v| v.get("siblings"))
                    .and_then(Value::as_list);
                let Some(siblings) = siblings else {
                    continue;
                };
                (
                    Value::List(vec![micro("r", key, Value::Nil)]),
                    Some(Value::List(
                        siblings
                            .iter()
                            .map(|v| micro("r", key, v.clone()))
                            .collect(),
                    )),
                )
            }
            _ => continue,
        };
        if let Some(op) = ops.get_mut(pair.invoke) {
            op.f = "txn".into();
            op.value = invoked;
        }
        if let (Some(i), Some(value)) = (pair.complete, completed) {
            if let Some(op) = ops.get_mut(i) {
                op.f = "txn".into();
                op.value = value;
            }
        }
    }
    let transformed = History {
        source_name: history.source_name().to_string(),
        ops,
    };
    match transformed.pair() {
        Ok(paired) => from_causal(&causal::check(&paired, &causal_options())),
        Err(e) => error_result("causal", &e.to_string()),
    }
}

fn causal_options() -> CausalOptions {
    CausalOptions {
        time_limit: CHECK_TIME_LIMIT,
        ..CausalOptions::default()
    }
}

fn from_causal(result: &causal::CausalResult) -> Checked {
    Checked {
        validity: result.validity,
        explanation: result.to_json(),
        text: result.explain(),
    }
}

fn error_result(what: &str, message: &str) -> Checked {
    let reason = format!("the {what} checker could not read the history: {message}");
    Checked {
        validity: Validity::Unknown,
        explanation: json!({ "reason": reason }),
        text: reason,
    }
}

/// Elle's checker of list-append or rw-register transactions, at the configured models.
fn elle_check(cfg: &TestConfig, history: &PairedHistory) -> Checked {
    let workload = if cfg.workload == Workload::ListAppend {
        elle::Workload::ListAppend
    } else {
        elle::Workload::RwRegister
    };
    let options = ElleOptions {
        workload,
        consistency_models: cfg
            .consistency_models
            .iter()
            .filter_map(|m| ConsistencyModel::parse(m).ok())
            .collect(),
        time_limit: CHECK_TIME_LIMIT,
    };
    match elle::check(history, &options) {
        Ok(result) => Checked {
            validity: result.valid,
            explanation: result.to_json(),
            text: result.explain(),
        },
        Err(e) => error_result("elle", &e.to_string()),
    }
}

/// Runs the checkers of the configured workload.
pub fn check(
    cfg: &TestConfig,
    history: &PairedHistory,
    outcome: &RunOutcome,
    interrupted: bool,
) -> Results {
    let mut checkers = BTreeMap::new();
    match cfg.workload {
        Workload::Register => {
            checkers.insert("linearizable".to_string(), linearizable(history));
            checkers.insert("causal".to_string(), causal_registers(history));
        }
        Workload::ListAppend | Workload::RwRegister => {
            checkers.insert("elle".to_string(), elle_check(cfg, history));
            checkers.insert(
                "causal".to_string(),
                from_causal(&causal::check(history, &causal_options())),
            );
        }
        Workload::Set => {
            checkers.insert("set-full".to_string(), checks::set_full(history));
        }
        Workload::Counter => {
            checkers.insert("counter".to_string(), checks::counter(history));
        }
    }
    if cfg.workload.has_final_reads() && !interrupted {
        checkers.insert(
            "convergence".to_string(),
            checks::convergence(&outcome.final_reads, &cfg.nodes),
        );
    }
    let mut validity = Validity::merge_all(checkers.values().map(|c| c.validity));
    let mut notes = outcome.notes.clone();
    if interrupted {
        // An anomaly already found stands; anything else is unknown, for the test was cut short.
        validity = validity.merge(Validity::Unknown);
        notes.push("the run was interrupted before its time limit".to_string());
    }
    Results {
        test: cfg.name.clone(),
        validity,
        checkers,
        interrupted,
        notes,
        unsupported_faults: cfg
            .unsupported_faults
            .iter()
            .map(|f| f.as_str().to_string())
            .collect(),
        op_count: history.history().ops.len(),
        node_pids: outcome.node_pids.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::test::checks::tests::history;

    #[test]
    fn register_histories_are_restated_for_the_causal_checker() {
        let cases = [
            // A process reads the initial value after its own compare-and-set.
            (
                vec![
                    (0, "invoke", "cas", json!([0, [null, 1]])),
                    (0, "ok", "cas", json!([0, [null, 1]])),
                    (0, "invoke", "read", json!([0, null])),
                    (0, "ok", "read", json!([0, null])),
                ],
                Validity::Invalid,
            ),
            // A multi-value register read sees two concurrent writes at once.
            (
                vec![
                    (0, "invoke", "write", json!([0, 1])),
                    (1, "invoke", "write", json!([0, 2])),
                    (0, "ok", "write", json!([0, 1])),
                    (1, "ok", "write", json!([0, 2])),
                    (2, "invoke", "read", json!([0, null])),
                    (2, "ok", "read", json!([0, {"siblings": [1, 2]}])),
                ],
                Validity::Valid,
            ),
            // After reading the siblings, reading one of them alone went back in time.
            (
                vec![
                    (0, "invoke", "write", json!([0, 1])),
                    (0, "ok", "write", json!([0, 1])),
                    (0, "invoke", "write", json!([0, 2])),
                    (0, "ok", "write", json!([0, 2])),
                    (2, "invoke", "read", json!([0, null])),
                    (2, "ok", "read", json!([0, 2])),
                    (2, "invoke", "read", json!([0, null])),
                    (2, "ok", "read", json!([0, 1])),
                ],
                Validity::Invalid,
            ),
        ];
        for (lines, expected) in cases {
            let result = causal_registers(&history(&lines));
            assert_eq!(result.validity, expected, "{}", result.text);
        }
    }

    #[test]
    fn junit_marks_invalid_as_failed_and_escapes_text() {
        let checked = |validity, text: &str| Checked {
            validity,
            explanation: json!({}),
            text: text.to_string(),
        };
        let results = Results {
            test: "mmkv-lww-set-none".into(),
            validity: Validity::Invalid,
            checkers: BTreeMap::from([
                ("convergence".to_string(), checked(Validity::Valid, "ok")),
                (
                    "set-full".to_string(),
                    checked(Validity::Invalid, "1 lost <e.g. 3>"),
                ),
            ]),
            interrupted: false,
            notes: Vec::new(),
            unsupported_faults: Vec::new(),
            op_count: 4,
            node_pids: BTreeMap::new(),
        };
        expect_test::expect![[r#"
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="schism" tests="2" failures="1" errors="0" skipped="0" time="3.000">
              <testsuite name="mmkv-lww-set-none" tests="2" failures="1" errors="0" skipped="0" time="3.000">
                <testcase name="convergence" classname="mmkv-lww-set-none" time="1.500"/>
                <testcase name="set-full" classname="mmkv-lww-set-none" time="1.500">
                  <failure message="1 lost &lt;e.g. 3&gt;" type="invalid">1 lost &lt;e.g. 3&gt;</failure>
                </testcase>
              </testsuite>
            </testsuites>
        "#]]
        .assert_eq(&results.junit_xml(1.5));
    }
}
