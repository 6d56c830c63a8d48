//! Self-contained HTML anomaly reports of schism histories and checker results.
//!
//! [`render`] turns a [`ReportInput`] (a history, the checkers' results as the JSON of a run's
//! `results.json`, and optionally the test's config `test.json`) into one HTML file with its
//! CSS, script and SVG inline: it needs no network and opens from `file://`. The page shows
//! the verdicts first, then each anomaly explained in sentences with its operations linked to
//! the timeline (dependency cycles as Elle draws them, Kingsbury & Alvaro, "Elle: inferring
//! isolation anomalies from experimental observations", VLDB 2020; linearizability witnesses
//! as Porcupine draws them, one lane per process), then a canvas timeline of every operation
//! with the nemesis's fault periods shaded, latency and throughput over time, and the config.
//!
//! The report crate reads checker results as JSON, so that it does not depend on the
//! checkers (`histories ← report ← runner`). The shapes it understands, under several
//! spellings, are listed in `src/anomaly.rs`; anything else is shown as pretty-printed JSON.
//!
//! **Invariant:** every string that comes from a history, a result or a config is escaped
//! (HTML text and attributes with [`escape_html`]; JSON embedded in `<script>` with
//! [`script_json`]), so a value `<script>alert(1)</script>` shows as text.
//!
//! **Invariant:** [`render`] never panics and is deterministic for the same input.

mod anomaly;
mod data;
pub mod faults;
mod svg;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use schism_histories::History;
use serde_json::Value as Json;

use crate::anomaly::{CheckerView, LinWitness};
use crate::data::{truncate, value_text, Timeline};

/// What a report is made of.
#[derive(Clone, Copy, Debug)]
pub struct ReportInput<'a> {
    /// The page title: the test's name, or the history file's.
    pub title: &'a str,
    pub history: &'a History,
    /// The run's `results.json`: `{"valid": ..., "checkers": {"<name>": {"valid": ...}}}`.
    /// `None` renders the history alone (timeline, latency, throughput).
    pub results: Option<&'a Json>,
    /// The run's `test.json`, the resolved config.
    pub test: Option<&'a Json>,
}

/// At most this many characters of a checker's raw JSON are shown; a witness can be as long as
/// its history.
const RAW_JSON_MAX_CHARS: usize = 200_000;
/// At most this many anomaly instances are drawn per checker and type; the rest are counted.
const ANOMALIES_SHOWN_PER_TYPE: usize = 20;

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// The gist of a `results.json`, for listings: the overall verdict and the number of anomaly
/// instances per type (non-linearizable witnesses count as `non-linearizable`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResultsSummary {
    pub validity: String,
    pub anomalies: BTreeMap<String, usize>,
}

/// Summarizes a `results.json` (any shape; unknown shapes give no anomaly counts).
pub fn summarize(results: &Json) -> ResultsSummary {
    let views = anomaly::checker_views(results);
    let mut anomalies = BTreeMap::new();
    for view in &views {
        for a in &view.anomalies {
            *anomalies.entry(a.kind.clone()).or_default() += 1;
        }
        for f in &view.findings {
            *anomalies.entry(f.kind.clone()).or_default() += f.total;
        }
        if !view.witnesses.is_empty() {
            *anomalies.entry("non-linearizable".to_string()).or_default() += view.witnesses.len();
        }
    }
    ResultsSummary {
        validity: anomaly::overall_validity(results, &views),
        anomalies,
    }
}

/// A value as short text: compact JSON of at most about `max` characters; a long list, set
/// or map keeps its first elements and says how many it has (`[1,2,3,… 500 elements]`).
pub fn value_summary(value: &schism_histories::Value, max: usize) -> String {
    value_text(value, max)
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Serializes JSON for a `<script type="application/json">` element: `<`, `>` and `&` are
/// written as `\u` escapes so that no `</script>` or `<!--` can appear, and U+2028/U+2029 are
/// escaped for old parsers.
pub fn script_json(v: &Json) -> String {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// An id fragment made of `[a-z0-9-]` only, for section ids built from checker names.
fn slug(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(60);
    out
}

fn verdict_badge(validity: &str) -> String {
    let class = match validity {
        "valid" => "valid",
        "invalid" => "invalid",
        _ => "unknown",
    };
    format!(
        "<span class=\"verdict {class}\">{}</span>",
        escape_html(validity)
    )
}

/// Renders the whole report.
pub fn render(input: &ReportInput) -> String {
    let timeline = Timeline::new(input.history);
    let mut views = input
        .results
        .map(anomaly::checker_views)
        .unwrap_or_default();
    // Invalid checkers first, then unknown, then valid; by name within each (stable sort).
    views.sort_by_key(|v| match v.validity.as_str() {
        "invalid" => 0,
        "valid" => 2,
        _ => 1,
    });
    let mut html = String::with_capacity(64 * 1024 + timeline.ops.len() * 48);
    let title = escape_html(input.title);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>schism report: {title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <header>\n<h1>schism report: {title}</h1>\n"
    );
    if let Some(results) = input.results {
        let overall = anomaly::overall_validity(results, &views);
        let _ = writeln!(
            html,
            "<p class=\"overall\">Verdict: {}</p>",
            verdict_badge(&overall)
        );
    } else {
        html.push_str("<p class=\"overall\">No checker results: the history alone.</p>\n");
    }
    let _ = writeln!(
        html,
        "<p class=\"meta\">{} client operations, {} fault periods, source {}</p>",
        timeline.ops.len(),
        timeline.faults.len(),
        escape_html(&input.history.source_name)
    );
    html.push_str(
        "<nav><a href=\"#summary\">Verdicts</a> <a href=\"#anomalies\">Anomalies</a> \
         <a href=\"#timeline\">Timeline</a> <a href=\"#latency\">Latency</a> \
         <a href=\"#throughput\">Throughput</a> <a href=\"#config\">Config</a></nav>\n</header>\n<main>\n",
    );
    let referenced =
        render_summary_and_anomalies(&mut html, input.results.is_some(), &views, &timeline);
    render_timeline(&mut html, &timeline, &referenced);
    let referenced: BTreeSet<u64> = referenced
        .iter()
        .filter_map(|&i| timeline.op(i).map(|op| op.index))
        .collect();
    html.push_str(
        "<section id=\"latency\">\n<h2>Latency</h2>\n<p class=\"hint\">Each point is an \
         operation (x: invocation, y: latency, log scale), coloured by outcome; lines are the \
         p50, p95 and p99 of ok operations per time bucket. Fault periods are shaded. The \
         x-axis follows the timeline's zoom.</p>\n<canvas id=\"latency-canvas\" height=\"320\"></canvas>\n\
         </section>\n<section id=\"throughput\">\n<h2>Throughput</h2>\n<p class=\"hint\">\
         Completed operations per second by outcome, per time bucket of invocation.</p>\n\
         <canvas id=\"throughput-canvas\" height=\"240\"></canvas>\n</section>\n",
    );
    render_config(&mut html, input.test);
    html.push_str("</main>\n<pre id=\"js-errors\" hidden></pre>\n");
    let _ = write!(
        html,
        "<script type=\"application/json\" id=\"schism-data\">{}</script>\n<script>\n{JS}</script>\n</body>\n</html>\n",
        script_json(&timeline.to_json(&referenced))
    );
    html
}

/// Writes the verdict table and the anomaly sections; returns the operations they link to.
fn render_summary_and_anomalies(
    html: &mut String,
    have_results: bool,
    views: &[CheckerView],
    timeline: &Timeline,
) -> BTreeSet<u64> {
    let mut referenced = BTreeSet::new();
    html.push_str("<section id=\"summary\">\n<h2>Verdicts</h2>\n");
    if !have_results {
        html.push_str("<p>No checker ran on this history.</p>\n</section>\n");
        html.push_str("<section id=\"anomalies\">\n<h2>Anomalies</h2>\n<p>None reported: no checker ran.</p>\n</section>\n");
        return referenced;
    }
    html.push_str(
        "<table class=\"checkers\">\n<thead><tr><th>Checker</th><th>Verdict</th><th>Anomalies</th>\
         <th>Models ruled out</th></tr></thead>\n<tbody>\n",
    );
    let mut all_ruled_out = BTreeSet::new();
    for view in views {
        let mut counts: BTreeMap<&str, usize> = Default::default();
        for a in &view.anomalies {
            *counts.entry(a.kind.as_str()).or_default() += 1;
        }
        for f in &view.findings {
            *counts.entry(f.kind.as_str()).or_default() += f.total;
        }
        if !view.witnesses.is_empty() {
            counts.insert("non-linearizable", view.witnesses.len());
        }
        let counts_text = if counts.is_empty() {
            "none".to_string()
        } else {
            counts
                .iter()
                .map(|(k, n)| format!("{} × {n}", escape_html(k)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        all_ruled_out.extend(view.ruled_out.iter().cloned());
        let _ = writeln!(
            html,
            "<tr><td><a href=\"#checker-{}\">{}</a></td><td>{}</td><td>{counts_text}</td><td>{}</td></tr>",
            slug(&view.name),
            escape_html(&view.name),
            verdict_badge(&view.validity),
            escape_html(&view.ruled_out.iter().cloned().collect::<Vec<_>>().join(", "))
        );
    }
    html.push_str("</tbody>\n</table>\n");
    // The headlines of the findings, so that the gist is on the first screen.
    let headlines: Vec<String> = views
        .iter()
        .flat_map(|v| {
            v.findings.iter().filter_map(move |f| {
                let summary = f.summary.as_ref()?;
                Some(format!(
                    "<li><a href=\"#findings-{}-{}\">{}</a>: {}</li>",
                    slug(&v.name),
                    slug(&f.kind),
                    escape_html(&v.name),
                    escape_html(&truncate(summary, 600))
                ))
            })
        })
        .collect();
    if !headlines.is_empty() {
        let _ = writeln!(
            html,
            "<ul class=\"headlines\">\n{}\n</ul>",
            headlines.join("\n")
        );
    }
    if all_ruled_out.is_empty() {
        html.push_str("<p class=\"ruled-out\">No consistency model is ruled out.</p>\n");
    } else {
        let _ = writeln!(
            html,
            "<p class=\"ruled-out\">Consistency models ruled out: <strong>{}</strong>.</p>",
            escape_html(&all_ruled_out.into_iter().collect::<Vec<_>>().join(", "))
        );
    }
    html.push_str("</section>\n<section id=\"anomalies\">\n<h2>Anomalies</h2>\n");
    if views
        .iter()
        .all(|v| v.anomalies.is_empty() && v.witnesses.is_empty() && v.findings.is_empty())
    {
        html.push_str("<p>No anomaly was reported.</p>\n");
    }
    for view in views {
        let _ = writeln!(
            html,
            "<section class=\"checker\" id=\"checker-{}\">\n<h3>{} {}</h3>",
            slug(&view.name),
            escape_html(&view.name),
            verdict_badge(&view.validity)
        );
        // A witness read from the checker's own object repeats its explanation; say it once.
        if let Some(e) = &view.explanation {
            if !view
                .witnesses
                .iter()
                .any(|w| w.explanation.as_ref() == Some(e))
            {
                let _ = writeln!(html, "<p>{}</p>", escape_html(e));
            }
        }
        for (i, w) in view.witnesses.iter().enumerate() {
            render_witness(html, &view.name, i, w, timeline, &mut referenced);
        }
        for f in &view.findings {
            render_findings(html, &view.name, f, timeline, &mut referenced);
        }
        let mut shown_per_kind: BTreeMap<&str, usize> = Default::default();
        let mut hidden = 0usize;
        for (i, a) in view.anomalies.iter().enumerate() {
            let shown = shown_per_kind.entry(a.kind.as_str()).or_default();
            if *shown >= ANOMALIES_SHOWN_PER_TYPE {
                hidden += 1;
                continue;
            }
            *shown += 1;
            render_anomaly(html, &view.name, i, a, timeline, &mut referenced);
        }
        if hidden > 0 {
            let _ = writeln!(
                html,
                "<p>{hidden} more anomalies are not drawn; they are in the raw result below.</p>"
            );
        }
        let recognised =
            !view.anomalies.is_empty() || !view.witnesses.is_empty() || !view.findings.is_empty();
        let raw = serde_json::to_string_pretty(&view.raw).unwrap_or_default();
        let open = if !recognised && view.validity != "valid" {
            " open"
        } else {
            ""
        };
        let _ = writeln!(
            html,
            "<details class=\"raw\"{open}><summary>Raw result of {}</summary><pre>{}</pre></details>\n</section>",
            escape_html(&view.name),
            escape_html(&truncate(&raw, RAW_JSON_MAX_CHARS))
        );
    }
    html.push_str("</section>\n");
    referenced
}

/// A link to an operation's place in the timeline, with a short description.
fn op_link(index: u64, timeline: &Timeline) -> String {
    match timeline.op(index) {
        Some(op) => format!(
            "<a class=\"op-link\" href=\"#op-{index}\">op {index}</a> (process {}{}, {} {} → {})",
            escape_html(&op.process.to_string()),
            op.node
                .as_ref()
                .map(|n| format!(" on {}", escape_html(&truncate(n, 40))))
                .unwrap_or_default(),
            escape_html(&op.f),
            escape_html(&value_text(&op.value, 80)),
            op.outcome.as_str()
        ),
        None => format!("<a class=\"op-link\" href=\"#op-{index}\">op {index}</a>"),
    }
}

/// A cycle's node as text: the checker's name for it, and the operation it is.
fn node_text(n: &anomaly::Node) -> String {
    match n.index {
        Some(i) if n.label != format!("op {i}") => format!("{} (op {i})", n.label),
        _ => n.label.clone(),
    }
}

/// A cycle's node as a link to its operation, where known.
fn node_link(n: &anomaly::Node) -> String {
    match n.index {
        Some(i) => format!(
            "<a class=\"op-link\" href=\"#op-{i}\">{}</a>",
            escape_html(&node_text(n))
        ),
        None => escape_html(&n.label),
    }
}

fn edge_meaning(kind: &str) -> &'static str {
    match kind {
        "ww" => "write-write: the second overwrote the version the first wrote",
        "wr" => "write-read: the second read the version the first wrote",
        "rw" => "read-write (anti-dependency): the second overwrote the version the first read",
        "process" | "so" => {
            "process (session) order: the same process ran the first, then the second"
        }
        "realtime" => "real-time order: the first completed before the second was invoked",
        _ => "a dependency the checker inferred",
    }
}

fn render_anomaly(
    html: &mut String,
    checker: &str,
    i: usize,
    a: &anomaly::Anomaly,
    timeline: &Timeline,
    referenced: &mut BTreeSet<u64>,
) {
    let _ = writeln!(
        html,
        "<article class=\"anomaly\" id=\"anomaly-{}-{i}\">\n<h4>{}</h4>",
        slug(checker),
        escape_html(&a.kind)
    );
    for e in &a.explanation {
        let _ = writeln!(html, "<p class=\"explanation\">{}</p>", escape_html(e));
    }
    if !a.steps.is_empty() {
        let names: Vec<String> = a.cycle.iter().map(node_text).collect();
        if a.closed {
            let _ = writeln!(
                html,
                "<p class=\"explanation\">{} form a {} cycle: each depends on the one before it, \
                 so no order of them respects every dependency, and the consistency models that \
                 forbid this cycle cannot hold.</p>\n<ol class=\"steps\">",
                escape_html(&names.join(", ")),
                escape_html(&a.kind)
            );
        } else {
            let _ = writeln!(
                html,
                "<p class=\"explanation\">The path {} shows the {}: each step is a dependency \
                 the checker inferred.</p>\n<ol class=\"steps\">",
                escape_html(&names.join(" → ")),
                escape_html(&a.kind)
            );
        }
        for s in &a.steps {
            let _ = writeln!(
                html,
                "<li>{} → {} <span class=\"edge edge-{}\">{}</span>: {}{}</li>",
                node_link(&s.from),
                node_link(&s.to),
                slug(&s.kind),
                escape_html(&s.kind),
                edge_meaning(&s.kind),
                s.explanation
                    .as_ref()
                    .map(|e| format!(". {}", escape_html(e)))
                    .unwrap_or_default()
            );
        }
        html.push_str("</ol>\n");
        html.push_str(&svg::cycle(&a.steps, timeline));
    }
    if !a.ops.is_empty() {
        html.push_str("<p>Operations involved:</p>\n<ul class=\"ops\">\n");
        for &i in &a.ops {
            referenced.insert(i);
            let _ = writeln!(html, "<li>{}</li>", op_link(i, timeline));
        }
        html.push_str("</ul>\n");
    }
    if a.explanation.is_empty() && a.steps.is_empty() && a.ops.is_empty() {
        let raw = serde_json::to_string_pretty(&a.raw).unwrap_or_default();
        let _ = writeln!(
            html,
            "<pre>{}</pre>",
            escape_html(&truncate(&raw, RAW_JSON_MAX_CHARS))
        );
    }
    html.push_str("</article>\n");
}

/// At most this many rows of a findings table are shown open; the rest are folded.
const FINDING_ROWS_OPEN: usize = 50;

/// What a kind of finding is, for the table's heading.
fn finding_title(kind: &str) -> &'static str {
    match kind {
        "lost" => "Lost writes: acknowledged adds missing from the final reads",
        "stale" => "Stale reads: elements missing from some reads and seen again later",
        "unexpected" => "Unexpected elements: read, but never successfully added",
        "errors" => "Reads out of bounds",
        "diverged" => "Diverged keys: nodes disagree after the heal",
        _ => "Findings",
    }
}

fn json_text(v: Option<&Json>, max: usize) -> String {
    match v {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(s)) => truncate(s, max),
        Some(Json::Array(items))
            if v.map(|v| v.to_string().chars().count() > max) == Some(true) =>
        {
            // A long list: its first elements and how many there are.
            let mut out = String::from("[");
            for item in items {
                let t = item.to_string();
                if out.chars().count() + t.chars().count() + 20 > max {
                    break;
                }
                out.push_str(&t);
                out.push(',');
            }
            out.push_str(&format!("… {} elements]", items.len()));
            out
        }
        Some(other) => truncate(&other.to_string(), max),
    }
}

/// A read reference `{index, node}` as a link: `n1 (op 1640)`.
fn read_ref(r: &Json) -> Option<String> {
    let index = r.get("index").and_then(Json::as_u64)?;
    let node = r.get("node").and_then(Json::as_str).unwrap_or("?");
    Some(format!(
        "{} (<a class=\"op-link\" href=\"#op-{index}\">op {index}</a>)",
        escape_html(&truncate(node, 40))
    ))
}

fn finding_row(kind: &str, item: &Json, final_reads: &BTreeSet<u64>) -> String {
    let title = escape_html(item.get("explanation").and_then(Json::as_str).unwrap_or(""));
    let cell = |s: String| format!("<td>{s}</td>");
    let mut row = format!("<tr title=\"{title}\">");
    let add = item.get("add").filter(|a| a.is_object());
    let faults = || {
        let text = match item.get("node_faults").and_then(Json::as_str) {
            Some(n) => n.to_string(),
            None => match item.get("faults") {
                Some(Json::Array(f)) if !f.is_empty() => f
                    .iter()
                    .filter_map(Json::as_str)
                    .collect::<Vec<_>>()
                    .join("; "),
                _ => "none".to_string(),
            },
        };
        format!(
            "<td class=\"fault-cell\">{}</td>",
            escape_html(&truncate(&text, 160))
        )
    };
    if item.get("element").is_some() {
        row.push_str(&cell(escape_html(&json_text(item.get("element"), 40))));
        let a = |k: &str| add.and_then(|a| a.get(k));
        row.push_str(&cell(escape_html(&json_text(a("node"), 40))));
        row.push_str(&cell(escape_html(&json_text(a("process"), 20))));
        row.push_str(&cell(match a("invoke_index").and_then(Json::as_u64) {
            Some(i) => format!(
                "<a class=\"op-link\" href=\"#op-{i}\">op {i}</a>{}",
                match a("outcome").and_then(Json::as_str) {
                    Some("ok") | None => String::new(),
                    Some(o) => format!(" ({})", escape_html(o)),
                }
            ),
            None => "never added".to_string(),
        }));
        row.push_str(&cell(match a("acknowledged_s").and_then(Json::as_f64) {
            Some(t) => format!("{t:.2} s"),
            None => "—".to_string(),
        }));
        row.push_str(&faults());
        let mut evidence = Vec::new();
        if let Some(Json::Array(reads)) = item.get("missing_from") {
            let refs: Vec<String> = reads.iter().take(6).filter_map(read_ref).collect();
            let indices: BTreeSet<u64> = reads.iter().filter_map(anomaly::op_ref).collect();
            if kind == "lost" && final_reads.len() > 1 && indices == *final_reads {
                evidence.push(format!(
                    "missing from all {} final reads",
                    final_reads.len()
                ));
            } else if !refs.is_empty() {
                let more = item
                    .get("absent_count")
                    .and_then(Json::as_u64)
                    .map(|n| n as usize)
                    .unwrap_or(reads.len())
                    .saturating_sub(refs.len());
                let label = if kind == "lost" {
                    "missing from final reads on"
                } else {
                    "missing from"
                };
                evidence.push(format!(
                    "{label} {}{}",
                    refs.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        if let Some(Json::Array(reads)) = item.get("present_in") {
            let refs: Vec<String> = reads.iter().filter_map(read_ref).collect();
            if !refs.is_empty() {
                evidence.push(format!("still in the final read on {}", refs.join(", ")));
            }
        }
        if let Some(r) = item.get("first_read").and_then(read_ref) {
            evidence.push(format!("first read on {r}"));
        }
        match item.get("last_seen").and_then(read_ref) {
            Some(r) if kind == "stale" => evidence.push(format!("seen again on {r}")),
            Some(r) => evidence.push(format!("last seen on {r}")),
            None if kind == "lost" => evidence.push("never seen by any read".to_string()),
            None => {}
        }
        row.push_str(&cell(evidence.join("; ")));
    } else if let Some(i) = item.get("read_index").and_then(Json::as_u64) {
        row.push_str(&cell(format!(
            "<a class=\"op-link\" href=\"#op-{i}\">op {i}</a>"
        )));
        row.push_str(&cell(escape_html(&json_text(item.get("node"), 40))));
        row.push_str(&cell(escape_html(&json_text(item.get("value"), 60))));
        row.push_str(&cell(format!(
            "[{}, {}]",
            escape_html(&json_text(item.get("lower"), 20)),
            escape_html(&json_text(item.get("upper"), 20))
        )));
        row.push_str(&cell(match item.get("invoked_s").and_then(Json::as_f64) {
            Some(t) => format!("{t:.2} s"),
            None => "—".to_string(),
        }));
        row.push_str(&faults());
    } else {
        row.push_str(&cell(title.clone()));
    }
    row.push_str("</tr>\n");
    row
}

fn finding_header(item: Option<&Json>) -> &'static str {
    match item {
        Some(i) if i.get("element").is_some() => {
            "<tr><th>Element</th><th>Added on</th><th>By process</th><th>Add op</th>\
             <th>Acknowledged at</th><th>Faults then</th><th>Evidence</th></tr>"
        }
        Some(i) if i.get("read_index").is_some() => {
            "<tr><th>Read op</th><th>Node</th><th>Value</th><th>Bounds</th><th>Invoked at</th>\
             <th>Faults then</th></tr>"
        }
        _ => "<tr><th>Finding</th></tr>",
    }
}

/// A list of self-explaining findings (lost elements, out-of-bounds reads, ...): a headline,
/// one example sentence, then a table of the first rows with the rest folded.
fn render_findings(
    html: &mut String,
    checker: &str,
    group: &anomaly::FindingGroup,
    timeline: &Timeline,
    referenced: &mut BTreeSet<u64>,
) {
    let _ = writeln!(
        html,
        "<article class=\"anomaly findings\" id=\"findings-{}-{}\">\n<h4>{} ({})</h4>",
        slug(checker),
        slug(&group.kind),
        finding_title(&group.kind),
        group.total
    );
    if let Some(summary) = &group.summary {
        let _ = writeln!(html, "<p class=\"headline\">{}</p>", escape_html(summary));
    }
    if let Some(e) = group
        .items
        .first()
        .and_then(|i| i.get("explanation"))
        .and_then(Json::as_str)
    {
        let _ = writeln!(
            html,
            "<p class=\"explanation\">For example, {}</p>",
            escape_html(e)
        );
    }
    if !group.by_fault.is_empty() {
        let max = group
            .by_fault
            .iter()
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(1)
            .max(1);
        html.push_str(
            "<table class=\"by-fault\"><thead><tr><th>Faults in force when acknowledged</th>\
             <th>Count</th><th></th></tr></thead><tbody>\n",
        );
        for (fault, n) in group.by_fault.iter().take(20) {
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{n}</td><td><span class=\"bar\" style=\"width:{}px\"></span></td></tr>",
                escape_html(&truncate(fault, 200)),
                (n * 300 / max).max(1)
            );
        }
        html.push_str("</tbody></table>\n");
    }
    if !group.by_node.is_empty() {
        let parts: Vec<String> = group
            .by_node
            .iter()
            .take(20)
            .map(|(node, n)| format!("{} on {}", n, escape_html(&truncate(node, 40))))
            .collect();
        let _ = writeln!(
            html,
            "<p>By the node they were added on: {}.</p>",
            parts.join(", ")
        );
    }
    let final_reads: BTreeSet<u64> = group
        .final_reads
        .iter()
        .filter_map(anomaly::op_ref)
        .collect();
    if !group.final_reads.is_empty() {
        let parts: Vec<String> = group
            .final_reads
            .iter()
            .filter_map(|r| {
                let link = read_ref(r)?;
                Some(match r.get("size").and_then(Json::as_u64) {
                    Some(n) => format!("{link}, {n} elements"),
                    None => link,
                })
            })
            .collect();
        let _ = writeln!(
            html,
            "<p>The final reads, after the faults healed: {}.</p>",
            parts.join("; ")
        );
    }
    let header = finding_header(group.items.first());
    let table = |rows: &[Json]| -> String {
        let mut t = format!("<table class=\"findings\"><thead>{header}</thead><tbody>\n");
        for item in rows {
            t.push_str(&finding_row(&group.kind, item, &final_reads));
        }
        t.push_str("</tbody></table>\n");
        t
    };
    let (shown, folded) = group
        .items
        .split_at(group.items.len().min(FINDING_ROWS_OPEN));
    html.push_str(&table(shown));
    if !folded.is_empty() {
        let _ = writeln!(
            html,
            "<details><summary>{} more rows</summary>\n{}</details>",
            folded.len(),
            table(folded)
        );
    }
    if group.total > group.items.len() {
        let _ = writeln!(
            html,
            "<p class=\"hint\">{} more are counted but not listed; the checker lists the first {}.</p>",
            group.total - group.items.len(),
            group.items.len()
        );
    }
    html.push_str("<p class=\"hint\">Hover over a row for its explanation; the operations are outlined on the timeline.</p>\n");
    // The adds (and reads) named are outlined on the timeline; only operations of this
    // history are kept, so that a stale result does not point nowhere.
    for item in &group.items {
        for i in anomaly::FindingGroup::item_ops(item) {
            if timeline.op(i).is_some() {
                referenced.insert(i);
            }
        }
    }
    html.push_str("</article>\n");
}

/// A sentence on where an operation was served and which faults were in force while it ran:
/// `It was served by n2 (process 4) between 3.21 s and 3.25 s, while n2 was cut off from n1;
/// faults in force: partition halves (cut n1-n2).`
fn where_and_when(op: &data::TimedOp, timeline: &Timeline) -> String {
    let end = timeline.end_of(op);
    let secs = |ns: i64| (ns - timeline.min_ns) as f64 / 1e9;
    let node = op.node.as_deref().map(|n| truncate(n, 40));
    let served = match &node {
        Some(n) => format!("It was served by {n}"),
        None => "It ran".to_string(),
    };
    let faults = faults::faults_during(&timeline.segments, op.start_ns, end);
    let effects: Vec<String> = node
        .as_deref()
        .map(|n| {
            let mut e: BTreeSet<String> = BTreeSet::new();
            for s in &timeline.segments {
                if s.start_ns <= end && s.end_ns.is_none_or(|x| x >= op.start_ns) {
                    e.extend(s.node_text_named(n));
                }
            }
            e.into_iter().collect()
        })
        .unwrap_or_default();
    let mut text = format!(
        "{served} (process {}) between {:.3} s and {:.3} s",
        op.process,
        secs(op.start_ns),
        secs(end)
    );
    if !effects.is_empty() {
        text.push_str(&format!(", while {}", faults::join_and(&effects)));
    }
    if faults.is_empty() {
        text.push_str("; no fault was in force.");
    } else {
        text.push_str(&format!("; faults in force: {}.", faults.join("; ")));
    }
    format!(
        "<p class=\"explanation where\">{}</p>\n",
        escape_html(&text)
    )
}

fn render_witness(
    html: &mut String,
    checker: &str,
    i: usize,
    w: &LinWitness,
    timeline: &Timeline,
    referenced: &mut BTreeSet<u64>,
) {
    let _ = writeln!(
        html,
        "<article class=\"anomaly witness\" id=\"witness-{}-{i}\">\n<h4>Not linearizable{}</h4>",
        slug(checker),
        w.key
            .as_ref()
            .map(|k| format!(" (key {})", escape_html(k)))
            .unwrap_or_default()
    );
    if let Some(f) = w.failing {
        referenced.insert(f);
        let _ = writeln!(
            html,
            "<p class=\"explanation\">Operation {} cannot be linearized. The longest \
             linearizable prefix holds {} operations; whichever order is chosen for them and for \
             the {} operations concurrent with it, the model's state after them does not allow \
             this operation's result.</p>",
            op_link(f, timeline),
            w.prefix.len(),
            w.concurrent.len()
        );
    }
    if let Some(op) = w.failing.and_then(|f| timeline.op(f)) {
        html.push_str(&where_and_when(op, timeline));
    }
    if let Some(e) = &w.explanation {
        let _ = writeln!(html, "<p class=\"explanation\">{}</p>", escape_html(e));
    }
    if !w.states.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"explanation\">The model's possible states after the prefix: {}.</p>",
            escape_html(&w.states.join(", "))
        );
    }
    html.push_str(&svg::witness(w, timeline));
    if !w.concurrent.is_empty() {
        html.push_str("<p>Concurrent operations:</p>\n<ul class=\"ops\">\n");
        for &c in &w.concurrent {
            referenced.insert(c);
            let _ = writeln!(html, "<li>{}</li>", op_link(c, timeline));
        }
        html.push_str("</ul>\n");
    }
    if !w.prefix.is_empty() {
        let _ = writeln!(
            html,
            "<details><summary>Longest linearizable prefix ({} operations)</summary>\n<ol class=\"ops\">",
            w.prefix.len()
        );
        for &p in w.prefix.iter().take(500) {
            referenced.insert(p);
            let _ = writeln!(html, "<li>{}</li>", op_link(p, timeline));
        }
        html.push_str("</ol>\n</details>\n");
    }
    html.push_str("</article>\n");
}

fn render_timeline(html: &mut String, timeline: &Timeline, referenced: &BTreeSet<u64>) {
    // Lanes of 20 pixels up to 520 pixels; past that the lanes shrink and then scroll.
    let height = (timeline.lanes().0.len() * 20 + 30).clamp(120, 520);
    let _ = write!(
        html,
        "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"hint\">One lane per process \
         (the nemesis on top); bars run from invocation to completion, green ok, red fail, \
         amber info (unknown). Shaded bands are fault periods. Wheel to zoom, drag to pan, \
         hover or click an operation for its details; double-click to reset.</p>\n\
         <div class=\"legend\"><span class=\"sw ok\"></span>ok <span class=\"sw fail\"></span>fail \
         <span class=\"sw info\"></span>info <span class=\"sw fault\"></span>fault \
         <span class=\"sw marked\"></span>named by an anomaly (e.g. a lost add)</div>\n\
         <canvas id=\"timeline-canvas\" height=\"{height}\"></canvas>\n\
         <div id=\"op-details\" class=\"details\">Hover over an operation.</div>\n",
    );
    if !timeline.faults.is_empty() {
        html.push_str(
            "<details><summary>Fault periods</summary>\n<table class=\"faults\"><thead><tr><th>Fault</th>\
             <th>From (s)</th><th>To (s)</th><th>Detail</th></tr></thead><tbody>\n",
        );
        for f in timeline.faults.iter().take(2_000) {
            let secs = |ns: i64| (ns - timeline.min_ns) as f64 / 1e9;
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&f.name),
                secs(f.start_ns),
                if f.instant {
                    "(instant)".to_string()
                } else if f.open {
                    "(never stopped)".to_string()
                } else {
                    format!("{:.3}", secs(f.end_ns))
                },
                escape_html(&f.detail)
            );
        }
        html.push_str("</tbody></table>\n</details>\n");
    }
    if !referenced.is_empty() {
        html.push_str(
            "<h3>Operations referenced by anomalies</h3>\n<table class=\"refops\"><thead><tr>\
             <th>Op</th><th>Process</th><th>Node</th><th>f</th><th>Value</th><th>Outcome</th><th>Invoked (s)</th>\
             <th>Completed (s)</th><th>Error</th></tr></thead><tbody>\n",
        );
        // One row per operation, whichever of its invocation's or completion's index the
        // anomalies named; every named index is an anchor of its row.
        let mut rows: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for &i in referenced {
            let key = timeline.op(i).map_or(i, |op| op.index);
            rows.entry(key).or_default().push(i);
        }
        for (i, names) in rows {
            let anchors: String = names
                .iter()
                .filter(|&&n| n != i)
                .map(|n| format!("<a id=\"op-{n}\"></a>"))
                .collect();
            let Some(op) = timeline.op(i) else {
                let _ = writeln!(
                    html,
                    "<tr id=\"op-{i}\"><td>{i}{anchors}</td><td colspan=\"8\">not in the history</td></tr>"
                );
                continue;
            };
            let secs = |ns: i64| format!("{:.6}", (ns - timeline.min_ns) as f64 / 1e9);
            let _ = writeln!(
                html,
                "<tr id=\"op-{i}\" class=\"{}\"><td><a href=\"#op-{i}\">{}</a>{anchors}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                op.outcome.as_str(),
                op.index,
                escape_html(&op.process.to_string()),
                escape_html(&truncate(op.node.as_deref().unwrap_or(""), 40)),
                escape_html(&op.f),
                escape_html(&value_text(&op.value, 120)),
                op.outcome.as_str(),
                secs(op.start_ns),
                op.end_ns.map(secs).unwrap_or_else(|| "never".into()),
                escape_html(&op.error.as_ref().map(|e| value_text(e, 200)).unwrap_or_default())
            );
        }
        html.push_str("</tbody></table>\n");
    }
    html.push_str("</section>\n");
}

fn render_config(html: &mut String, test: Option<&Json>) {
    html.push_str("<section id=\"config\">\n<h2>Test configuration</h2>\n");
    let Some(test) = test else {
        html.push_str("<p>No test configuration was given.</p>\n</section>\n");
        return;
    };
    let fields: &[(&str, &[&str])] = &[
        ("Test", &["name", "test_name"]),
        ("Start time", &["start_time", "start"]),
        ("Database", &["db", "database"]),
        ("Replication", &["replication"]),
        ("Workload", &["workload"]),
        ("Faults", &["faults", "nemesis"]),
        ("Unsupported faults", &["unsupported_faults"]),
        (
            "Nemesis interval (s)",
            &["nemesis_interval_s", "nemesis_interval"],
        ),
        ("Nodes", &["nodes", "node_count"]),
        ("Network", &["network"]),
        ("Concurrency", &["concurrency"]),
        ("Rate (ops/s)", &["rate_per_s", "rate"]),
        ("Time limit (s)", &["time_limit_s", "time_limit"]),
        ("Consistency models", &["consistency_models"]),
        ("Seed", &["seed"]),
        ("Versions", &["versions", "schism_version", "db_version"]),
        ("Environment", &["environment", "env", "host"]),
    ];
    html.push_str("<table class=\"env\"><tbody>\n");
    for (label, keys) in fields {
        let Some(v) = keys.iter().find_map(|k| test.get(*k)) else {
            continue;
        };
        let text = match (label, v) {
            (&"Nodes", Json::Array(nodes)) => {
                let names: Vec<String> = nodes.iter().map(|n| value_text_json(n, 40)).collect();
                format!("{} ({})", nodes.len(), names.join(", "))
            }
            (_, v) => value_text_json(v, 400),
        };
        let _ = writeln!(
            html,
            "<tr><th>{label}</th><td>{}</td></tr>",
            escape_html(&text)
        );
    }
    html.push_str("</tbody></table>\n");
    let raw = serde_json::to_string_pretty(test).unwrap_or_default();
    let _ = writeln!(
        html,
        "<details><summary>test.json</summary><pre>{}</pre></details>\n</section>",
        escape_html(&truncate(&raw, RAW_JSON_MAX_CHARS))
    );
}

fn value_text_json(v: &Json, max: usize) -> String {
    match v {
        Json::String(s) => truncate(s, max),
        other => truncate(&other.to_string(), max),
    }
}
