//! `schism check`: reads history files and runs the chosen checkers on each.
//!
//! The raw flags of [`CheckArgs`] resolve into a [`CheckPlan`] once; each file is then read,
//! validated, paired and checked on its own, so that one unreadable file does not hide the
//! verdicts of the others.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use schism_checkers::linearizable::{self, LinearOptions, Model};
use schism_checkers::txn::MicroOp;
use schism_checkers::Validity;
use schism_histories::{read_path, PairedHistory, Value};

use crate::cli::CheckArgs;
use crate::exit::{self, Failure};

/// Which checker a history goes to, resolved from the flags.
#[derive(Clone, Debug)]
pub enum Checker {
    /// Linearizability against a model, optionally shrinking the witness.
    Linear {
        options: LinearOptions,
        minimize: bool,
    },
    /// Chosen per file from the operations' shape (see [`detect`]).
    Auto,
}

/// The validated configuration of one `schism check` run.
#[derive(Clone, Debug)]
pub struct CheckPlan {
    pub checker: Checker,
    pub init: Option<Value>,
    pub time_limit: Duration,
    pub minimize: bool,
    pub json: bool,
}

impl CheckPlan {
    /// Validates the raw flags.
    pub fn resolve(args: &CheckArgs) -> Result<CheckPlan, Failure> {
        if !(args.time_limit.is_finite() && args.time_limit > 0.0) {
            return Err(Failure::usage(format!(
                "--time-limit must be a positive number of seconds, not {}",
                args.time_limit
            )));
        }
        let time_limit = Duration::from_secs_f64(args.time_limit.min(1e9));
        let init = match &args.init {
            None => None,
            Some(text) => {
                let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                    Failure::usage(format!("--init must be a JSON value: {e}: {text}"))
                })?;
                Some(Value::from_json(&json))
            }
        };
        let checker = match (&args.model, &args.workload) {
            (Some(_), Some(_)) => {
                return Err(Failure::usage(
                    "give either --model (linearizability, causal) or --workload (list-append, rw-register), not both",
                ))
            }
            (Some(model), None) => Checker::Linear {
                options: LinearOptions::from_model_name(model)
                    .map_err(|e| Failure::usage(e.to_string()))?,
                minimize: args.minimize,
            },
            (None, Some(workload)) => {
                return Err(Failure::usage(format!(
                    "--workload {workload} is not available in this build"
                )))
            }
            (None, None) => Checker::Auto,
        };
        Ok(CheckPlan {
            checker,
            init,
            time_limit,
            minimize: args.minimize,
            json: args.json,
        })
    }
}

/// The outcome of checking one file.
#[derive(Debug)]
pub struct FileVerdict {
    pub validity: Validity,
    /// The checker's name, e.g. `linearizable`.
    pub checker: String,
    pub explanation: String,
    pub json: serde_json::Value,
}

/// Chooses a checker for a history from its operations' shape: transactions of `r`/`w`/
/// `append` micro-ops go to the transactional checker; `read`/`write` micro-ops (Knossos's
/// multi-register) to multi-register linearizability; anything else to cas-register
/// linearizability, which also covers plain registers.
pub fn detect(history: &PairedHistory) -> Model {
    for pair in history.pairs() {
        let op = history.invocation(pair);
        if let Some(items) = history.value(pair).as_list() {
            if op.f == "txn" {
                let knossos_style = items.iter().all(|item| {
                    MicroOp::parse(item).is_ok()
                        && item
                            .as_list()
                            .and_then(|l| l.first())
                            .and_then(Value::as_name)
                            .is_some_and(|name| name == "read" || name == "write")
                });
                if knossos_style {
                    return Model::MultiRegister;
                }
            }
        }
        match op.f.as_str() {
            "acquire" | "release" => return Model::Mutex,
            "enqueue" | "dequeue" => return Model::FifoQueue,
            "add" => return Model::Set,
            "incr" => return Model::Counter,
            _ => {}
        }
    }
    Model::CasRegister
}

/// Checks one paired history according to the plan.
pub fn check_history(history: &PairedHistory, plan: &CheckPlan) -> FileVerdict {
    let (mut options, minimize) = match &plan.checker {
        Checker::Linear { options, minimize } => (options.clone(), *minimize),
        Checker::Auto => (LinearOptions::new(detect(history)), plan.minimize),
    };
    if let Some(init) = &plan.init {
        options.init = init.clone();
    }
    options.time_limit = plan.time_limit;
    let result = linearizable::check(history, &options);
    let mut explanation = result.explain();
    let mut json = result.to_json();
    if minimize && result.validity == Validity::Invalid {
        let minimized = linearizable::minimize(history, &options);
        explanation.push_str("\n\n");
        explanation.push_str(&minimized.explain());
        if let serde_json::Value::Object(map) = &mut json {
            map.insert("minimized".to_string(), minimized.to_json());
        }
    }
    FileVerdict {
        validity: result.validity,
        checker: "linearizable".to_string(),
        explanation,
        json,
    }
}

/// Runs `schism check` and returns the exit code.
pub fn run(args: &CheckArgs) -> Result<i32, Failure> {
    let plan = CheckPlan::resolve(args)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut verdicts: Vec<(String, FileVerdict)> = Vec::new();
    let mut unreadable = false;
    for path in &args.files {
        let name = path.display().to_string();
        let verdict = match read_and_pair(path) {
            Ok(history) => check_history(&history, &plan),
            Err(message) => {
                eprintln!("schism: {message}");
                unreadable = true;
                continue;
            }
        };
        let line = if plan.json {
            serde_json::json!({
                "file": name,
                "valid": verdict.validity.as_str(),
                "checkers": { verdict.checker.clone(): verdict.json.clone() },
            })
            .to_string()
        } else {
            format!("{name}\t{}", verdict.validity)
        };
        emit(&mut out, &line)?;
        verdicts.push((name, verdict));
    }
    if !plan.json {
        for (name, verdict) in &verdicts {
            if verdict.validity != Validity::Valid {
                let text = format!("\n== {name}: {}\n{}", verdict.validity, verdict.explanation);
                emit(&mut out, &text)?;
            }
        }
    }
    if unreadable {
        return Ok(exit::USAGE);
    }
    Ok(Validity::merge_all(verdicts.iter().map(|(_, v)| v.validity)).exit_code())
}

/// Writes one line of output. A closed pipe (`schism check ... | head`) is not an error: the
/// reader has what it wanted, and the exit code still tells the verdict.
fn emit(out: &mut impl Write, line: &str) -> Result<(), Failure> {
    match writeln!(out, "{line}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::internal(format!(
            "failed to write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

fn read_and_pair(path: &Path) -> Result<PairedHistory, String> {
    let history = read_path(path).map_err(|e| e.to_string())?;
    history.pair().map_err(|e| e.to_string())
}
