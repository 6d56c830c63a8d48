//! A real browser opens a report (from `file://`) and `schism serve`'s pages (over loopback):
//! headless Chromium (Debian's `chromium`) dumps the DOM after the page's script ran, and the
//! test checks that the script finished without errors (the page writes
//! `<body data-render="ok">`, or the errors into `#js-errors`), that nothing was logged as an
//! uncaught error, and that the anomaly section, the cycle SVG and the timeline canvas are
//! there. Screenshots are written to a temporary directory whose path the test prints.
//!
//! Skips with a printed reason when Chromium is missing, unless `CI=true`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, TempDir};

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs Chromium headless on `url` with `extra` flags; returns stdout and stderr. Each run gets
/// a fresh profile directory. Chromium is killed (by its own handle) if it runs past a minute.
fn chromium(binary: &Path, profile: &Path, url: &str, extra: &[&str]) -> (String, String) {
    let _ = std::fs::remove_dir_all(profile);
    std::fs::create_dir_all(profile).expect("profile dir");
    let out_path = profile.with_extension("stdout");
    let err_path = profile.with_extension("stderr");
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish with {url} within a minute");
            }
        }
    }
    (
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default(),
    )
}

/// Lines of Chromium's log that report a script error of the page.
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("Uncaught") || (l.contains("CONSOLE") && l.contains("rror")))
        .collect()
}

fn assert_rendered(dom: &str, stderr: &str, what: &str) {
    assert!(
        dom.contains("data-render=\"ok\""),
        "{what}: the page's script did not finish; DOM tail: {}",
        &dom[dom.len().saturating_sub(2000)..]
    );
    assert!(
        dom.contains("<pre id=\"js-errors\" hidden=\"\"></pre>"),
        "{what}: script errors in the page"
    );
    let errors = console_errors(stderr);
    assert!(errors.is_empty(), "{what}: console errors: {errors:#?}");
}

#[test]
fn reports_and_serve_pages_render_in_chromium() {
    let Some(binary) = find_chromium() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "chromium is not installed (apt-get install -y chromium; scripts/setup.sh does)"
            );
        }
        println!("skipped: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    let root = TempDir::new("browser");
    let shots = std::env::temp_dir().join(format!("schism-screenshots-{}", std::process::id()));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let store = root.0.join("store");
    let run = common::write_run(&store, "register-partition", "20261127T000000.000Z");
    common::write_run(&store, "list-append", "20261126T230000.000Z");
    let html = schism::report_cmd::render_run_dir(&run).expect("render");
    schism::report_cmd::write_atomically(&run.join("report.html"), &html).expect("write");
    let url = format!("file://{}", run.join("report.html").display());

    // The report from file://.
    let (dom, stderr) = chromium(&binary, &root.0.join("p1"), &url, &["--dump-dom"]);
    assert_rendered(&dom, &stderr, "report");
    assert!(dom.contains("<section id=\"anomalies\">"));
    assert!(dom.contains("<svg class=\"cycle\""));
    assert!(dom.contains("<svg class=\"witness\""));
    assert!(dom.contains("<canvas id=\"timeline-canvas\""));
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "hostile values show as text"
    );
    assert!(!dom.contains("<script>alert(1)"));
    // Wheel, drag, hover and a link, driven by the page's self-test.
    let (dom, stderr) = chromium(
        &binary,
        &root.0.join("p1b"),
        &format!("{url}#selftest"),
        &["--dump-dom"],
    );
    assert_rendered(&dom, &stderr, "report self-test");
    assert!(
        dom.contains("data-selftest=\"ok\""),
        "the timeline did not respond as expected: {}",
        dom.lines()
            .find(|l| l.contains("data-selftest"))
            .unwrap_or("no data-selftest attribute")
    );
    let report_png = shots.join("report.png");
    chromium(
        &binary,
        &root.0.join("p2"),
        &url,
        &[
            &format!("--screenshot={}", report_png.display()),
            "--window-size=1400,2000",
        ],
    );
    // The timeline, latency and throughput, with the sections above them hidden.
    let charts = run.join("charts.html");
    std::fs::write(
        &charts,
        html.replacen(
            "</head>",
            "<style>#summary,#anomalies{display:none}</style></head>",
            1,
        ),
    )
    .expect("charts page");
    let charts_png = shots.join("report-charts.png");
    chromium(
        &binary,
        &root.0.join("p3"),
        &format!("file://{}", charts.display()),
        &[
            &format!("--screenshot={}", charts_png.display()),
            "--window-size=1400,2000",
        ],
    );

    // schism serve: the index, and a report rendered on the fly.
    let server = Server::start(&store);
    let index = format!("http://{}/", server.addr);
    let (dom, stderr) = chromium(&binary, &root.0.join("p4"), &index, &["--dump-dom"]);
    assert!(dom.contains("register-partition") && dom.contains("list-append"));
    assert!(dom.contains("verdict invalid"));
    assert!(console_errors(&stderr).is_empty(), "{stderr}");
    let served = format!(
        "http://{}/runs/list-append/20261126T230000.000Z/report.html",
        server.addr
    );
    let (dom, stderr) = chromium(&binary, &root.0.join("p5"), &served, &["--dump-dom"]);
    assert_rendered(&dom, &stderr, "served report");
    let index_png = shots.join("serve-index.png");
    chromium(
        &binary,
        &root.0.join("p6"),
        &index,
        &[
            &format!("--screenshot={}", index_png.display()),
            "--window-size=1400,2000",
        ],
    );
    for png in [&report_png, &charts_png, &index_png] {
        assert!(png.is_file(), "no screenshot at {}", png.display());
        println!("screenshot: {}", png.display());
    }
}
