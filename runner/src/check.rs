//! `schism check`: reads history files and runs the chosen checkers on each.
//!
//! The raw flags of [`CheckArgs`] resolve into a [`CheckPlan`] once; each file is then read,
//! validated, paired and checked on its own, so that one unreadable file does not hide the
//! verdicts of the others.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use schism_checkers::causal::{self, CausalOptions};
use schism_checkers::elle::{self, ConsistencyModel, ElleOptions, Workload};
use schism_checkers::linearizable::{self, LinearOptions, Model};
use schism_checkers::Validity;
use schism_histories::{read_path, PairedHistory, Value};

use schism_report::ReportInput;

use crate::cli::CheckArgs;
use crate::exit::{self, Failure};
use crate::junit::{write_junit, JunitCase};
use crate::report_cmd::write_atomically;

/// Which checker a history goes to, resolved from the flags.
#[derive(Clone, Debug)]
pub enum Checker {
    /// Linearizability against a model (the witness shrunk with `--minimize`).
    Linear(LinearOptions),
    /// Causal consistency (`--model causal`).
    Causal,
    /// Elle-style transactional anomalies at the given consistency models; with `causal`
    /// among them, the causal checker too.
    Elle {
        workload: Workload,
        models: Vec<ConsistencyModel>,
        also_causal: bool,
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
            (Some(model), None) if model == "causal" => Checker::Causal,
            (Some(model), None) => Checker::Linear(
                LinearOptions::from_model_name(model).map_err(|e| Failure::usage(e.to_string()))?,
            ),
            (None, Some(workload)) => Checker::Elle {
                workload: Workload::parse(workload).map_err(Failure::usage)?,
                models: parse_models(&args.consistency_models)?,
                also_causal: args.consistency_models.iter().any(|m| m == "causal"),
            },
            (None, None) if args.consistency_models.iter().any(|m| m == "causal") => {
                Checker::Causal
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

/// Parses `--consistency-models`; none means strict-serializable, as Elle and Maelstrom.
fn parse_models(names: &[String]) -> Result<Vec<ConsistencyModel>, Failure> {
    let models = names
        .iter()
        .map(|name| ConsistencyModel::parse(name).map_err(Failure::usage))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if models.is_empty() {
        vec![ConsistencyModel::StrictSerializable]
    } else {
        models
    })
}

/// One checker's verdict on one file.
#[derive(Debug)]
pub struct CheckerVerdict {
    /// The checker's name, e.g. `linearizable`.
    pub checker: String,
    pub validity: Validity,
    pub explanation: String,
    pub json: serde_json::Value,
}

/// The outcome of checking one file: each checker's verdict, composed.
#[derive(Debug)]
pub struct FileVerdict {
    pub validity: Validity,
    pub checks: Vec<CheckerVerdict>,
}

impl CheckerVerdict {
    fn new(
        checker: &str,
        validity: Validity,
        explanation: String,
        json: serde_json::Value,
    ) -> CheckerVerdict {
        CheckerVerdict {
            checker: checker.to_string(),
            validity,
            explanation,
            json,
        }
    }

    /// The checker's entry in `--json` output, laid out as in a run's `results.json`: its
    /// verdict, the text a person reads, and the checker's own result (the witness).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "valid": self.validity.as_str(),
            "summary": self.explanation,
            "explanation": self.json,
        })
    }
}

impl FileVerdict {
    fn new(checks: Vec<CheckerVerdict>) -> FileVerdict {
        FileVerdict {
            validity: Validity::merge_all(checks.iter().map(|c| c.validity)),
            checks,
        }
    }

    /// The explanation of every checker that did not find the history valid.
    pub fn explanation(&self) -> String {
        let parts: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.validity != Validity::Valid)
            .map(|c| format!("[{}] {}", c.checker, c.explanation))
            .collect();
        parts.join("\n")
    }

    /// One JSON object: the composed verdict and each checker's result by name.
    pub fn to_json(&self, file: &str) -> serde_json::Value {
        let checkers: serde_json::Map<String, serde_json::Value> = self
            .checks
            .iter()
            .map(|c| (c.checker.clone(), c.to_json()))
            .collect();
        serde_json::json!({
            "file": file,
            "valid": self.validity.as_str(),
            "checkers": checkers,
        })
    }
}

/// What [`detect`] found a history to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    Linear(Model),
    Transactional(Workload),
}

/// Chooses a checker for a history from its operations' shape: transactions of `r`/`append`
/// micro-ops are list-append, of `r`/`w` rw-register (both go to the Elle-style checker);
/// `read`/`write` micro-ops (Knossos's multi-register) go to multi-register linearizability;
/// `acquire`/`release`, `enqueue`/`dequeue`, `add`, `incr` to the mutex, queue, set and
/// counter models; anything else to cas-register linearizability, which covers registers.
pub fn detect(history: &PairedHistory) -> Detected {
    for pair in history.pairs() {
        let op = history.invocation(pair);
        if let Some(items) = history.value(pair).as_list() {
            let names: Vec<&str> = items
                .iter()
                .filter_map(|item| {
                    item.as_list()
                        .and_then(|l| l.first())
                        .and_then(Value::as_name)
                })
                .collect();
            let txn_like = op.f == "txn" || op.f.is_empty();
            if txn_like && !names.is_empty() && names.len() == items.len() {
                if names.iter().all(|n| *n == "read" || *n == "write") {
                    return Detected::Linear(Model::MultiRegister);
                }
                if names.contains(&"append") {
                    return Detected::Transactional(Workload::ListAppend);
                }
                if names.contains(&"w") {
                    return Detected::Transactional(Workload::RwRegister);
                }
            }
        }
        match op.f.as_str() {
            "acquire" | "release" => return Detected::Linear(Model::Mutex),
            "enqueue" | "dequeue" => return Detected::Linear(Model::FifoQueue),
            "add" => return Detected::Linear(Model::Set),
            "incr" => return Detected::Linear(Model::Counter),
            _ => {}
        }
    }
    Detected::Linear(Model::CasRegister)
}

/// Checks one paired history according to the plan. The error is a history the checker
/// cannot read (a malformed micro-op), naming its line.
pub fn check_history(history: &PairedHistory, plan: &CheckPlan) -> Result<FileVerdict, String> {
    let strict = [ConsistencyModel::StrictSerializable];
    let checks = match &plan.checker {
        Checker::Linear(options) => vec![check_linear(history, plan, options.clone())],
        Checker::Auto => match detect(history) {
            Detected::Linear(model) => {
                vec![check_linear(history, plan, LinearOptions::new(model))]
            }
            Detected::Transactional(workload) => {
                vec![check_elle(history, plan, workload, &strict)?]
            }
        },
        Checker::Causal => vec![check_causal(history, plan)],
        Checker::Elle {
            workload,
            models,
            also_causal,
        } => {
            let mut checks = vec![check_elle(history, plan, *workload, models)?];
            if *also_causal {
                checks.push(check_causal(history, plan));
            }
            checks
        }
    };
    Ok(FileVerdict::new(checks))
}

fn check_elle(
    history: &PairedHistory,
    plan: &CheckPlan,
    workload: Workload,
    models: &[ConsistencyModel],
) -> Result<CheckerVerdict, String> {
    let options = ElleOptions {
        workload,
        consistency_models: models.to_vec(),
        time_limit: plan.time_limit,
    };
    let result = elle::check(history, &options).map_err(|e| e.to_string())?;
    Ok(CheckerVerdict::new(
        "elle",
        result.valid,
        result.explain(),
        result.to_json(),
    ))
}

fn check_causal(history: &PairedHistory, plan: &CheckPlan) -> CheckerVerdict {
    let options = CausalOptions {
        time_limit: plan.time_limit,
        ..CausalOptions::default()
    };
    let result = causal::check(history, &options);
    CheckerVerdict::new(
        "causal",
        result.validity,
        result.explain(),
        result.to_json(),
    )
}

fn check_linear(
    history: &PairedHistory,
    plan: &CheckPlan,
    mut options: LinearOptions,
) -> CheckerVerdict {
    if let Some(init) = &plan.init {
        options.init = init.clone();
    }
    options.time_limit = plan.time_limit;
    let result = linearizable::check(history, &options);
    let mut explanation = result.explain();
    let mut json = result.to_json();
    if plan.minimize && result.validity == Validity::Invalid {
        let minimized = linearizable::minimize(history, &options);
        explanation.push_str("\n\n");
        explanation.push_str(&minimized.explain());
        if let serde_json::Value::Object(map) = &mut json {
            map.insert("minimized".to_string(), minimized.to_json());
        }
    }
    CheckerVerdict::new("linearizable", result.validity, explanation, json)
}

/// Runs `schism check` and returns the exit code.
pub fn run(args: &CheckArgs) -> Result<i32, Failure> {
    let plan = CheckPlan::resolve(args)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut verdicts: Vec<(String, FileVerdict)> = Vec::new();
    let mut junit_cases = Vec::new();
    let mut unreadable = false;
    let mut report_names = BTreeSet::new();
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::usage(format!(
                "failed to create report directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    for path in &args.files {
        let name = path.display().to_string();
        let started = Instant::now();
        let history = match read_and_pair(path) {
            Ok(history) => history,
            Err(message) => {
                eprintln!("schism: {message}");
                unreadable = true;
                continue;
            }
        };
        let verdict = match check_history(&history, &plan) {
            Ok(verdict) => verdict,
            Err(message) => {
                eprintln!("schism: {message}");
                unreadable = true;
                continue;
            }
        };
        let elapsed_s = started.elapsed().as_secs_f64();
        junit_cases.extend(verdict.checks.iter().map(|c| JunitCase {
            name: format!("{name}: {}", c.checker),
            validity: c.validity,
            explanation: c.explanation.clone(),
            time_s: elapsed_s,
        }));
        if let Some(dir) = &args.report {
            let out = dir.join(report_file_name(path, &mut report_names));
            let results = verdict.to_json(&name);
            let html = schism_report::render(&ReportInput {
                title: &name,
                history: history.history(),
                results: Some(&results),
                test: None,
            });
            write_atomically(&out, &html)?;
            eprintln!("schism: wrote {}", out.display());
        }
        let line = if plan.json {
            verdict.to_json(&name).to_string()
        } else {
            format!("{name}\t{}", verdict.validity)
        };
        emit(&mut out, &line)?;
        verdicts.push((name, verdict));
    }
    if !plan.json {
        for (name, verdict) in &verdicts {
            if verdict.validity != Validity::Valid {
                let text = format!(
                    "\n== {name}: {}\n{}",
                    verdict.validity,
                    verdict.explanation()
                );
                emit(&mut out, &text)?;
            }
        }
    }
    if let Some(junit) = &args.junit {
        write_junit(junit, "schism check", &junit_cases)?;
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

/// The report's file name for a history: its own name with `.html` added (`stdin.html` for
/// `-`). Two histories with one name (from different folders) get `-2`, `-3`, ... rather than
/// overwriting each other's report.
fn report_file_name(path: &Path, taken: &mut BTreeSet<String>) -> String {
    let base = match path.file_name() {
        Some(name) if path != Path::new("-") => name.to_string_lossy().into_owned(),
        _ => "stdin".to_string(),
    };
    let mut name = format!("{base}.html");
    let mut n = 1;
    while !taken.insert(name.clone()) {
        n += 1;
        name = format!("{base}-{n}.html");
    }
    name
}

fn read_and_pair(path: &Path) -> Result<PairedHistory, String> {
    let history = read_path(path).map_err(|e| e.to_string())?;
    history.pair().map_err(|e| e.to_string())
}
