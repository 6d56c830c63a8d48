//! `schism serve [--store DIR] [--bind 127.0.0.1:8080]`: the run store over HTTP, as Jepsen's
//! `web` namespace serves its store.
//!
//! - `/` (and `/?page=N`): the runs, newest first, 50 a page: test name, start time, verdict,
//!   anomaly counts. Runs are found and sorted by their directory names
//!   (`store/<test-name>/<start-time>/`) before any file is opened, and only the shown page's
//!   `results.json` files are read, so a store with thousands of runs opens at once.
//! - `/runs/<test-name>/<start-time>/report.html`: the report, rendered on the fly when the run
//!   has none yet; `/runs/<path>/`: a directory listing; `/runs/<path>`: a file.
//!
//! **Invariant:** nothing outside the store is served. Request paths are percent-decoded by the
//! router; any `.` or `..` segment, backslash or NUL is refused (404), and every path is
//! canonicalized (resolving symlinks) and must stay under the canonical store (else 403).
//! Every name and value in a page is HTML-escaped, and every link percent-encoded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use schism_report::escape_html;

use crate::cli::ServeArgs;
use crate::exit::{self, Failure};

/// Runs on one index page.
pub const RUNS_PER_PAGE: usize = 50;

/// A response before it becomes HTTP: the handlers' logic is synchronous file-system work,
/// run on tokio's blocking pool and tested without a socket.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    fn html(status: u16, body: String) -> Reply {
        Reply {
            status,
            content_type: "text/html; charset=utf-8",
            body: body.into_bytes(),
        }
    }

    fn error(status: u16, message: &str) -> Reply {
        Reply::html(
            status,
            page(
                &format!("{status}"),
                &format!(
                    "<p>{}</p><p><a href=\"/\">All runs</a></p>",
                    escape_html(message)
                ),
            ),
        )
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [
                (header::CONTENT_TYPE, self.content_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            Body::from(self.body),
        )
            .into_response()
    }
}

/// Runs `schism serve` until Ctrl-C.
pub fn run(args: &ServeArgs) -> Result<i32, Failure> {
    let addr: SocketAddr = args.bind.parse().map_err(|e| {
        Failure::usage(format!(
            "failed to parse --bind {}: {e} (expected an address such as 127.0.0.1:8080)",
            args.bind
        ))
    })?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "schism: warning: serving {} on {addr}, which is not a loopback address",
            args.store.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::internal(format!("failed to start the runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::usage(format!("failed to bind {addr}: {e}")))?;
        let local = listener.local_addr().unwrap_or(addr);
        println!("serving {} at http://{local}/", args.store.display());
        serve(listener, &args.store, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })?;
    Ok(exit::VALID)
}

/// Serves the store on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Failure> {
    let app = router(store)?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Failure::internal(format!("failed to serve: {e}")))
}

/// The routes, over a store that must exist.
pub fn router(store: &Path) -> Result<Router, Failure> {
    let store = store.canonicalize().map_err(|e| {
        Failure::usage(format!("failed to open the store {}: {e}", store.display()))
    })?;
    let state = Arc::new(store);
    Ok(Router::new()
        .route("/", get(index_handler))
        .route("/runs", get(store_root_handler))
        .route("/runs/", get(store_root_handler))
        .route("/runs/{*path}", get(file_handler))
        .with_state(state))
}

async fn index_handler(State(store): State<Arc<PathBuf>>, RawQuery(query): RawQuery) -> Reply {
    let page = query.as_deref().and_then(page_of).unwrap_or(1);
    blocking(move || index_page(&store, page)).await
}

async fn store_root_handler(State(store): State<Arc<PathBuf>>) -> Reply {
    blocking(move || path_reply(&store, "")).await
}

async fn file_handler(State(store): State<Arc<PathBuf>>, UrlPath(path): UrlPath<String>) -> Reply {
    blocking(move || path_reply(&store, &path)).await
}

async fn blocking(f: impl FnOnce() -> Reply + Send + 'static) -> Reply {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Reply::error(500, &format!("internal error: {e}")))
}

/// The `page` parameter of a query string; anything odd is page 1.
fn page_of(query: &str) -> Option<usize> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&p| p >= 1)
}

/// A run found in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunEntry {
    pub test: String,
    pub start: String,
}

/// The runs of the store, newest first (by start-time directory name, then test name), from
/// directory names only. Symlinks (such as `store/latest`) are not followed.
pub fn list_runs(store: &Path) -> Vec<RunEntry> {
    let mut runs = Vec::new();
    let Ok(tests) = std::fs::read_dir(store) else {
        return runs;
    };
    for test in tests.flatten() {
        let is_dir = test.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let Ok(test_name) = test.file_name().into_string() else {
            continue;
        };
        if !is_dir || test_name.starts_with('.') {
            continue;
        }
        let Ok(starts) = std::fs::read_dir(test.path()) else {
            continue;
        };
        for start in starts.flatten() {
            let is_dir = start.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let Ok(start_name) = start.file_name().into_string() else {
                continue;
            };
            if is_dir && !start_name.starts_with('.') {
                runs.push(RunEntry {
                    test: test_name.clone(),
                    start: start_name,
                });
            }
        }
    }
    runs.sort_by(|a, b| b.start.cmp(&a.start).then_with(|| a.test.cmp(&b.test)));
    runs
}

/// Percent-encodes one path segment: everything but RFC 3986's unreserved characters.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>schism: {}</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:20px;color:#1d2330}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #dde1e7;padding:3px 8px;text-align:left}}\
         th{{background:#f1f3f6}}.valid{{color:#fff;background:#2e9d4f}}.invalid{{color:#fff;background:#d0453a}}\
         .unknown,.none{{background:#e0a020}}.verdict{{padding:1px 8px;border-radius:10px;font-weight:600}}\
         nav.pages a,nav.pages span{{margin-right:10px}}</style></head>\n<body>\n<h1>schism: {}</h1>\n{body}\n</body></html>\n",
        escape_html(title),
        escape_html(title)
    )
}

/// The index page: one page of runs.
pub fn index_page(store: &Path, page_number: usize) -> Reply {
    let runs = list_runs(store);
    let pages = runs.len().div_ceil(RUNS_PER_PAGE).max(1);
    let page_number = page_number.min(pages);
    let shown = runs
        .iter()
        .skip((page_number - 1) * RUNS_PER_PAGE)
        .take(RUNS_PER_PAGE);
    let mut body = format!(
        "<p>{} runs in {}. <a href=\"/runs/\">Browse the store</a>.</p>\n",
        runs.len(),
        escape_html(&store.display().to_string())
    );
    let nav = pagination(page_number, pages);
    body.push_str(&nav);
    body.push_str(
        "<table class=\"runs\"><thead><tr><th>Test</th><th>Start time</th><th>Verdict</th>\
         <th>Anomalies</th><th>Report</th><th>Files</th></tr></thead><tbody>\n",
    );
    for run in shown {
        let dir = store.join(&run.test).join(&run.start);
        let (verdict, anomalies) = match std::fs::read_to_string(dir.join("results.json"))
            .ok()
            .map(|t| serde_json::from_str::<serde_json::Value>(&t))
        {
            None => ("none".to_string(), "no results.json".to_string()),
            Some(Err(e)) => (
                "unknown".to_string(),
                format!("unreadable results.json: {e}"),
            ),
            Some(Ok(results)) => {
                let s = schism_report::summarize(&results);
                let counts = if s.anomalies.is_empty() {
                    "none".to_string()
                } else {
                    s.anomalies
                        .iter()
                        .map(|(k, n)| format!("{k} × {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                (s.validity, counts)
            }
        };
        let class = match verdict.as_str() {
            "valid" | "invalid" | "unknown" => verdict.as_str(),
            _ => "none",
        };
        let href = format!(
            "/runs/{}/{}/",
            encode_segment(&run.test),
            encode_segment(&run.start)
        );
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td><span class=\"verdict {class}\">{}</span></td><td>{}</td>\
             <td><a href=\"{href}report.html\">report</a></td><td><a href=\"{href}\">files</a></td></tr>",
            escape_html(&run.test),
            escape_html(&run.start),
            escape_html(&verdict),
            escape_html(&anomalies)
        );
    }
    body.push_str("</tbody></table>\n");
    body.push_str(&nav);
    Reply::html(200, page("runs", &body))
}

fn pagination(current: usize, pages: usize) -> String {
    let mut nav = String::from("<nav class=\"pages\">");
    if current > 1 {
        let _ = write!(nav, "<a href=\"/?page={}\">← newer</a>", current - 1);
    }
    let _ = write!(nav, "<span>page {current} of {pages}</span>");
    if current < pages {
        let _ = write!(nav, "<a href=\"/?page={}\">older →</a>", current + 1);
    }
    nav.push_str("</nav>\n");
    nav
}

/// Serves a path under the store: a file, a directory listing, or a run's report.
pub fn path_reply(store: &Path, path: &str) -> Reply {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments
        .iter()
        .any(|s| *s == "." || *s == ".." || s.contains('\\') || s.contains('\0'))
    {
        return Reply::error(404, "no such file in the store");
    }
    let full: PathBuf = segments.iter().fold(store.to_path_buf(), |p, s| p.join(s));
    let canonical = match full.canonicalize() {
        Ok(c) => c,
        Err(_) => {
            // A run's report that was never written is rendered on the fly.
            if segments.last() == Some(&"report.html") {
                if let Some(dir) = full.parent() {
                    if let Ok(dir) = dir.canonicalize() {
                        if dir.starts_with(store) && dir.join("history.jsonl").is_file() {
                            return match crate::report_cmd::render_run_dir(&dir) {
                                Ok(html) => Reply::html(200, html),
                                Err(f) => Reply::error(500, &f.message),
                            };
                        }
                    }
                }
            }
            return Reply::error(404, "no such file in the store");
        }
    };
    if !canonical.starts_with(store) {
        return Reply::error(403, "that path leads outside the store");
    }
    if canonical.is_dir() {
        return listing(store, &canonical, &segments);
    }
    match std::fs::read(&canonical) {
        Ok(body) => Reply {
            status: 200,
            content_type: content_type(&canonical),
            body,
        },
        Err(e) => Reply::error(404, &format!("cannot read that file: {e}")),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("xml") => "application/xml",
        Some("jsonl" | "edn" | "log" | "txt" | "out" | "err" | "csv" | "toml" | "yaml") => {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

fn listing(store: &Path, dir: &Path, segments: &[&str]) -> Reply {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Reply::error(404, "cannot list that directory");
    };
    // Name → (is a directory, size in bytes), sorted by name.
    let mut rows: BTreeMap<String, (bool, u64)> = BTreeMap::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = std::fs::metadata(e.path()).ok();
        rows.insert(
            name,
            (
                meta.as_ref().is_some_and(|m| m.is_dir()),
                meta.map_or(0, |m| m.len()),
            ),
        );
    }
    let base: String = segments
        .iter()
        .map(|s| format!("/{}", encode_segment(s)))
        .collect();
    let shown_path = format!("/{}", segments.join("/"));
    let mut body = format!(
        "<p><a href=\"/\">All runs</a> · {} in {}</p>\n<table><thead><tr><th>Name</th><th>Size</th></tr></thead><tbody>\n",
        escape_html(&shown_path),
        escape_html(&store.display().to_string())
    );
    if !segments.is_empty() {
        let parent: String = segments[..segments.len() - 1]
            .iter()
            .map(|s| format!("/{}", encode_segment(s)))
            .collect();
        let _ = writeln!(
            body,
            "<tr><td><a href=\"/runs{parent}/\">..</a></td><td></td></tr>"
        );
    }
    let is_run = dir.join("history.jsonl").is_file();
    if is_run && !rows.contains_key("report.html") {
        let _ = writeln!(
            body,
            "<tr><td><a href=\"/runs{base}/report.html\">report.html</a> (rendered on request)</td><td></td></tr>"
        );
    }
    for (name, (is_dir, size)) in &rows {
        let slash = if *is_dir { "/" } else { "" };
        let _ = writeln!(
            body,
            "<tr><td><a href=\"/runs{base}/{}{slash}\">{}{slash}</a></td><td>{}</td></tr>",
            encode_segment(name),
            escape_html(name),
            if *is_dir {
                String::new()
            } else {
                size.to_string()
            }
        );
    }
    body.push_str("</tbody></table>\n");
    Reply::html(200, page(&shown_path, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("schism-serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("store");
        dir.canonicalize().expect("canonical")
    }

    #[test]
    fn paginates_newest_first_reading_only_the_shown_page() {
        let s = store("pages");
        for i in 0..120 {
            let run = s
                .join(format!("t{}", i % 3))
                .join(format!("2026112{}T{:06}", i % 2, i));
            std::fs::create_dir_all(&run).expect("run");
            if i == 119 {
                std::fs::write(run.join("results.json"), r#"{"valid":"invalid","checkers":{"elle":{"valid":"invalid","anomalies":{"G0":[{"cycle":[1,2]}]}}}}"#).expect("write");
            } else if i == 0 {
                // Unreadable, but on the last page: page 1 must not read it.
                std::fs::write(run.join("results.json"), "{").expect("write");
            }
        }
        // The harness's `latest` links are not runs of their own.
        std::os::unix::fs::symlink(s.join("t0"), s.join("latest")).expect("symlink");
        std::os::unix::fs::symlink(s.join("t0/20261120T000000"), s.join("t0/latest"))
            .expect("symlink");
        let runs = list_runs(&s);
        assert_eq!(runs.len(), 120);
        assert!(runs.windows(2).all(|w| w[0].start >= w[1].start));
        let first = String::from_utf8(index_page(&s, 1).body).expect("utf-8");
        assert_eq!(first.matches("<tr><td>").count(), RUNS_PER_PAGE);
        assert!(first.contains("page 1 of 3"));
        assert!(first.contains("G0 × 1"));
        assert!(!first.contains("unreadable"));
        assert!(first.contains("href=\"/?page=2\""));
        let last = String::from_utf8(index_page(&s, 99).body).expect("utf-8");
        assert!(last.contains("page 3 of 3"));
        assert_eq!(last.matches("<tr><td>").count(), 20);
        assert!(last.contains("unreadable results.json"));
        let _ = std::fs::remove_dir_all(&s);
    }

    #[test]
    fn refuses_paths_out_of_the_store() {
        let s = store("paths");
        let outside = s.with_file_name(format!("schism-serve-outside-{}", std::process::id()));
        std::fs::create_dir_all(&outside).expect("outside");
        std::fs::write(outside.join("secret.txt"), "secret").expect("write");
        std::fs::create_dir_all(s.join("t/r")).expect("run");
        std::fs::write(s.join("t/r/history.jsonl"), "").expect("write");
        std::os::unix::fs::symlink(&outside, s.join("t/escape")).expect("symlink");
        std::os::unix::fs::symlink(outside.join("secret.txt"), s.join("t/r/link.txt"))
            .expect("symlink");
        assert_eq!(
            path_reply(&s, "../schism-serve-outside/secret.txt").status,
            404
        );
        assert_eq!(path_reply(&s, "t/../../x").status, 404);
        assert_eq!(path_reply(&s, "t/escape/secret.txt").status, 403);
        assert_eq!(path_reply(&s, "t/r/link.txt").status, 403);
        assert_eq!(path_reply(&s, "t/r/nothing").status, 404);
        assert_eq!(path_reply(&s, "t/r/history.jsonl").status, 200);
        let report = path_reply(&s, "t/r/report.html");
        assert_eq!(report.status, 200, "rendered on the fly");
        assert!(!s.join("t/r/report.html").exists(), "serve does not write");
        let listing = String::from_utf8(path_reply(&s, "t/").body).expect("utf-8");
        assert!(listing.contains("href=\"/runs/t/r/\""));
        let _ = std::fs::remove_dir_all(&s);
        let _ = std::fs::remove_dir_all(&outside);
    }

    #[test]
    fn escapes_names() {
        let s = store("escape");
        std::fs::create_dir_all(s.join("<b>x").join("2026\"'&")).expect("run");
        let body = String::from_utf8(index_page(&s, 1).body).expect("utf-8");
        assert!(body.contains("&lt;b&gt;x"));
        assert!(body.contains("2026&quot;&#39;&amp;"));
        assert!(body.contains("/runs/%3Cb%3Ex/2026%22%27%26/"));
        assert!(!body.contains("<b>x"));
        let _ = std::fs::remove_dir_all(&s);
    }

    #[test]
    fn page_parameter() {
        assert_eq!(page_of("page=3"), Some(3));
        assert_eq!(page_of("x=1&page=2"), Some(2));
        assert_eq!(page_of("page=0"), None);
        assert_eq!(page_of("page=abc"), None);
    }
}
