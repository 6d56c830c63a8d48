//! The report's structure on small histories (snapshots of its outline, not its whole HTML),
//! and the escaping of hostile strings.

mod common;

use expect_test::{expect, Expect};
use schism_histories::{History, OpType, Process, Value};
use schism_report::{render, ReportInput};
use serde_json::json;

/// The outline of a report: its sections, articles, headings, drawings and canvases, one a
/// line, indented by nesting of sections.
fn outline(html: &str) -> String {
    let markers = [
        "<section",
        "</section>",
        "<article",
        "<h2>",
        "<h3>",
        "<h4>",
        "<svg class=",
        "<canvas id=",
    ];
    let mut out = String::new();
    let mut depth = 0usize;
    let mut at = 0;
    while at < html.len() {
        let next = markers
            .iter()
            .filter_map(|m| html[at..].find(m).map(|i| (at + i, *m)))
            .min();
        let Some((i, marker)) = next else { break };
        let end = html[i..].find('>').map_or(html.len(), |e| i + e + 1);
        let tag = &html[i..end];
        match marker {
            "</section>" => depth = depth.saturating_sub(1),
            "<h2>" | "<h3>" | "<h4>" => {
                let close = html[end..].find("</h").map_or(html.len(), |e| end + e);
                let text = strip_tags(&html[end..close]);
                out.push_str(&format!(
                    "{}{} {}\n",
                    "  ".repeat(depth),
                    &marker[1..3],
                    text
                ));
            }
            _ => {
                let id = attr(tag, "id")
                    .or_else(|| attr(tag, "class"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{}{} {id}\n",
                    "  ".repeat(depth),
                    &marker[1..]
                        .trim_end_matches([' ', '='])
                        .trim_end_matches(" class")
                        .trim_end_matches(" id")
                ));
                if marker == "<section" {
                    depth += 1;
                }
            }
        }
        at = end;
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(tag[start..end].to_string())
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn check(input: &ReportInput, expected: Expect) {
    let html = render(input);
    expected.assert_eq(&outline(&html));
    assert_eq!(html, render(input), "the report is deterministic");
}

#[test]
fn invalid_run_outline() {
    let (history, results, test) = common::invalid_fixture();
    check(
        &ReportInput {
            title: "fixture",
            history: &history,
            results: Some(&results),
            test: Some(&test),
        },
        expect![[r#"
            section summary
              h2 Verdicts
            section anomalies
              h2 Anomalies
              section checker-elle
                h3 elle invalid
                article anomaly-elle-0
                h4 G-single
                svg cycle
              section checker-linearizable
                h3 linearizable invalid
                article witness-linearizable-0
                h4 Not linearizable
                svg witness
              section checker-stats
                h3 stats unknown
              section checker-causal
                h3 causal valid
            section timeline
              h2 Timeline
              canvas timeline-canvas
              h3 Operations referenced by anomalies
            section latency
              h2 Latency
              canvas latency-canvas
            section throughput
              h2 Throughput
              canvas throughput-canvas
            section config
              h2 Test configuration
        "#]],
    );
}

#[test]
fn history_alone_outline() {
    let (history, _, _) = common::invalid_fixture();
    check(
        &ReportInput {
            title: "history.jsonl",
            history: &history,
            results: None,
            test: None,
        },
        expect![[r#"
            section summary
              h2 Verdicts
            section anomalies
              h2 Anomalies
            section timeline
              h2 Timeline
              canvas timeline-canvas
            section latency
              h2 Latency
              canvas latency-canvas
            section throughput
              h2 Throughput
              canvas throughput-canvas
            section config
              h2 Test configuration
        "#]],
    );
}

#[test]
fn empty_history_renders() {
    let history = History::new(Vec::new());
    let html = render(&ReportInput {
        title: "empty",
        history: &history,
        results: Some(&json!({})),
        test: None,
    });
    assert!(html.contains("id=\"timeline-canvas\""));
}

const HOSTILE: &str = "<script>alert(1)</script>\"'&</script><!--";

#[test]
fn hostile_strings_are_escaped() {
    let c = Process::Client(1);
    let mut invoke = common::op(OpType::Invoke, c, HOSTILE, Value::Str(HOSTILE.into()), 1);
    invoke.node = Some(HOSTILE.into());
    let mut done = common::op(OpType::Fail, c, HOSTILE, Value::Str(HOSTILE.into()), 2);
    done.error = Some(Value::Str(HOSTILE.into()));
    let nemesis = common::op(
        OpType::Invoke,
        Process::Nemesis,
        &format!("start-{HOSTILE}"),
        Value::Str(HOSTILE.into()),
        3,
    );
    let mut history = History::new(vec![invoke, done, nemesis]);
    history.source_name = HOSTILE.into();
    let results = json!({
        "valid": HOSTILE,
        "checkers": {
            HOSTILE: {
                "valid": "invalid",
                "not": [HOSTILE],
                "explanation": HOSTILE,
                "failing_op": 0, "longest_prefix": [], "concurrent": [0],
                "anomalies": {HOSTILE: [{"cycle": [0, 1], "steps": [
                    {"from": 0, "to": 1, "type": HOSTILE, "explanation": HOSTILE},
                    {"from": 1, "to": 0, "type": "wr"}]}, {"weird": HOSTILE}]}
            }
        }
    });
    let test = json!({"name": HOSTILE, "nodes": [HOSTILE], "seed": HOSTILE, "versions": {HOSTILE: HOSTILE}});
    let html = render(&ReportInput {
        title: HOSTILE,
        history: &history,
        results: Some(&results),
        test: Some(&test),
    });
    // The page's own two scripts are the only ones: the data and the code.
    assert_eq!(
        html.matches("<script").count(),
        2,
        "no injected script element"
    );
    assert_eq!(
        html.matches("</script>").count(),
        2,
        "no early end of a script element"
    );
    assert_eq!(html.matches("<!--").count(), 0, "no comment opened");
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    // Inside the JSON data, `<` and `>` are written as escapes.
    let data_start = html.find("id=\"schism-data\">").expect("data script");
    let data_end = html[data_start..].find("</script>").expect("end of data") + data_start;
    let data = &html[data_start + "id=\"schism-data\">".len()..data_end];
    assert!(data.contains("\\u003cscript\\u003ealert(1)"));
    let parsed: serde_json::Value = serde_json::from_str(data).expect("the data is JSON");
    assert!(parsed["strings"]
        .as_array()
        .expect("strings")
        .iter()
        .any(|s| s == HOSTILE));
}

#[test]
fn escape_helpers() {
    assert_eq!(
        schism_report::escape_html("<a href='x'>&\"</a>"),
        "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
    );
    assert_eq!(
        schism_report::script_json(&json!("</script>&\u{2028}")),
        "\"\\u003c/script\\u003e\\u0026\\u2028\""
    );
}

#[test]
fn summarizes_results() {
    let (_, results, _) = common::invalid_fixture();
    let s = schism_report::summarize(&results);
    assert_eq!(s.validity, "invalid");
    assert_eq!(
        format!("{:?}", s.anomalies),
        r#"{"G-single": 1, "non-linearizable": 1}"#
    );
    assert_eq!(
        schism_report::summarize(&json!({"valid": true})).validity,
        "valid"
    );
}
