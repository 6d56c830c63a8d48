//! `schism report RUN_DIR | HISTORY_FILE`: renders the HTML report (see `schism_report`).
//!
//! For a run directory it reads `history.jsonl`, `results.json` and `test.json` (the last two
//! when present) and writes `report.html` beside them. For a history file it checks nothing:
//! it renders the history alone (timeline, latency, throughput) into `<file>.html`, or into
//! `--out`. Files are written atomically (a temporary file in the same directory, then a
//! rename), so that `schism serve` never shows half a report. The path written is printed.

use std::path::{Path, PathBuf};

use schism_histories::History;

use crate::cli::ReportArgs;
use crate::exit::{self, Failure};

/// Runs `schism report` and returns the exit code: 0 when the report was written, 254 when the
/// input cannot be read, 255 when the report cannot be written.
pub fn run(args: &ReportArgs) -> Result<i32, Failure> {
    let written = if args.path.is_dir() {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| args.path.join("report.html"));
        let html = render_run_dir(&args.path)?;
        write_atomically(&out, &html)?;
        out
    } else {
        report_history_file(&args.path, args.out.as_deref())?
    };
    println!("{}", written.display());
    Ok(exit::VALID)
}

/// Renders the report of a run directory, without writing it (`schism serve` renders missing
/// reports on the fly with this).
pub fn render_run_dir(dir: &Path) -> Result<String, Failure> {
    let history = read_history(&dir.join("history.jsonl"))?;
    let results = read_json_if_present(&dir.join("results.json"))?;
    let test = read_json_if_present(&dir.join("test.json"))?;
    // The run's name and its start time (the directory's name, in the run store's layout).
    let title = match test
        .as_ref()
        .and_then(|t| t.get("name"))
        .and_then(|n| n.as_str())
    {
        Some(name) => match dir.file_name() {
            Some(start) => format!("{name} {}", start.to_string_lossy()),
            None => name.to_string(),
        },
        None => dir.display().to_string(),
    };
    Ok(schism_report::render(&schism_report::ReportInput {
        title: &title,
        history: &history,
        results: results.as_ref(),
        test: test.as_ref(),
    }))
}

/// Renders a history file alone into `out`, or `<file>.html` beside it; returns the path.
pub fn report_history_file(path: &Path, out: Option<&Path>) -> Result<PathBuf, Failure> {
    let history = read_history(path)?;
    let out = match out {
        Some(out) => out.to_path_buf(),
        None => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".html");
            path.with_file_name(name)
        }
    };
    let title = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let html = schism_report::render(&schism_report::ReportInput {
        title: &title,
        history: &history,
        results: None,
        test: None,
    });
    write_atomically(&out, &html)?;
    Ok(out)
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(path.file_name().unwrap_or_default());
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Failure::internal(format!(
            "failed to write {}: {e}",
            path.display()
        )));
    }
    Ok(())
}

fn read_json_if_present(path: &Path) -> Result<Option<serde_json::Value>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::usage(format!(
                "failed to read {}: {e}",
                path.display()
            )))
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Failure::usage(format!(
            "failed to read {}: line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// Reads a history in any format `schism_histories` reads (JSON Lines, Jepsen/Knossos/Elle
/// EDN, elle-cli JSON). Unreadable input is a usage failure (254) naming file, line, column.
pub fn read_history(path: &Path) -> Result<History, Failure> {
    schism_histories::read_path(path).map_err(|e| Failure::usage(format!("failed to read {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("schism-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    const HISTORY: &str = r#"{"index":0,"time":1000,"type":"invoke","process":0,"f":"write","value":1}
{"index":1,"time":2000,"type":"ok","process":0,"f":"write","value":1}
{"index":2,"time":2500,"type":"invoke","process":"nemesis","f":"kill","value":"n1"}

{"index":3,"time":3000,"type":"invoke","process":1,"f":"read","value":null}
{"index":4,"time":9000,"type":"ok","process":1,"f":"read","value":2}
"#;

    #[test]
    fn renders_a_run_directory_in_place() {
        let dir = temp_dir("run");
        std::fs::write(dir.join("history.jsonl"), HISTORY).expect("write");
        std::fs::write(
            dir.join("results.json"),
            r#"{"validity":"invalid","checkers":{"linearizable":{"validity":"invalid","explanation":{"witness":{"op":{"index":3},"prefix":[0],"concurrent":[]}}}}}"#,
        )
        .expect("write");
        std::fs::write(dir.join("test.json"), r#"{"name":"reg","seed":7}"#).expect("write");
        let args = ReportArgs {
            path: dir.clone(),
            out: None,
        };
        assert_eq!(run(&args).map_err(|f| f.message), Ok(0));
        let html = std::fs::read_to_string(dir.join("report.html")).expect("report written");
        assert!(html.contains("schism report: reg schism-report-run-"));
        assert!(html.contains("witness-linearizable-0"));
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn renders_a_history_file_beside_it() {
        let dir = temp_dir("file");
        let file = dir.join("h.jsonl");
        std::fs::write(&file, HISTORY).expect("write");
        let out = report_history_file(&file, None).map_err(|f| f.message);
        assert_eq!(out, Ok(dir.join("h.jsonl.html")));
        let html = std::fs::read_to_string(dir.join("h.jsonl.html")).expect("written");
        assert!(html.contains("No checker ran"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unreadable_input_names_file_line_and_column() {
        let dir = temp_dir("bad");
        let file = dir.join("bad.jsonl");
        std::fs::write(
            &file,
            "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n{\"type\": invoke}\n",
        )
        .expect("write");
        let err = report_history_file(&file, None).expect_err("malformed");
        assert_eq!(err.code, exit::USAGE);
        assert!(
            err.message.contains("bad.jsonl: line 2, column 10"),
            "{}",
            err.message
        );
        let missing = report_history_file(&dir.join("missing.jsonl"), None).expect_err("missing");
        assert_eq!(missing.code, exit::USAGE);
        let run_dir = temp_dir("badrun");
        std::fs::write(run_dir.join("history.jsonl"), HISTORY).expect("write");
        std::fs::write(run_dir.join("results.json"), "{\n  \"valid\": ,\n}").expect("write");
        let err = render_run_dir(&run_dir).expect_err("bad results");
        assert_eq!(err.code, exit::USAGE);
        assert!(
            err.message.contains("results.json: line 2, column 12"),
            "{}",
            err.message
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&run_dir);
    }
}
