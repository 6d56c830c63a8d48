//! Which checkers judge which workload, and `results.json`: each checker's validity and
//! explanation, and the overall validity composed as Jepsen's `checker/compose` (invalid
//! beats unknown beats valid).

use std::collections::BTreeMap;
use std::time::Duration;

use schism_checkers::linearizable::{self, LinearOptions, Model};
use schism_checkers::Validity;
use schism_histories::PairedHistory;
use serde_json::json;

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
}

impl Results {
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "version": RESULTS_JSON_VERSION,
            "test": self.test,
            "validity": self.validity,
            "checkers": self.checkers.iter().map(|(name, c)| {
                (name.clone(), json!({"validity": c.validity, "explanation": c.explanation}))
            }).collect::<serde_json::Map<_, _>>(),
            "interrupted": self.interrupted,
            "unsupported_faults": self.unsupported_faults,
            "notes": self.notes,
            "history_op_count": self.op_count,
        })
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

fn unavailable(what: &str) -> Checked {
    let reason = format!("the {what} checker is not in this build");
    Checked {
        validity: Validity::Unknown,
        explanation: json!({ "reason": reason }),
        text: reason,
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
            checkers.insert("causal".to_string(), unavailable("causal"));
        }
        Workload::ListAppend | Workload::RwRegister => {
            checkers.insert("elle".to_string(), unavailable("elle"));
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
    }
}
