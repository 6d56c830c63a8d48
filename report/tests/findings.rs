//! The harness's self-explaining findings (set-full's lost elements) as the report shows them:
//! a headline, a bounded table with the rest folded, long read values shortened, the adds
//! outlined on the timeline, and hostile element values escaped.

mod common;

use schism_histories::{History, Op, OpType, Process, Value};
use schism_report::{render, ReportInput};
use serde_json::{json, Value as Json};

const HOSTILE: &str = "<script>alert(1)</script>\"'&</script><!--";

/// `adds` adds on n1 during a clock bump of n1, then one final read on n2 holding 500 other
/// elements; and a set-full result in the harness's layout that lists them all as lost, out of
/// `total` counted.
fn fixture(adds: usize, total: usize, element: impl Fn(usize) -> Json) -> (History, Json) {
    let mut ops: Vec<Op> = Vec::new();
    // Operations a millisecond apart, numbered in order.
    fn push(ops: &mut Vec<Op>, mut op: Op, node: Option<&str>) {
        op.time = (ops.len() as i64 + 1) * 1_000_000;
        op.index = ops.len() as u64;
        op.node = node.map(Into::into);
        ops.push(op);
    }
    let clock = Value::from_json(&json!({"offsets_s": {"n1": -114}}));
    push(
        &mut ops,
        common::op(
            OpType::Info,
            Process::Nemesis,
            "bump-clock",
            clock.clone(),
            0,
        ),
        None,
    );
    push(
        &mut ops,
        common::op(OpType::Info, Process::Nemesis, "bump-clock", clock, 0),
        None,
    );
    let mut items = Vec::new();
    for i in 0..adds {
        let v = Value::from_json(&element(i));
        let invoke_index = ops.len() as u64;
        push(
            &mut ops,
            common::op(OpType::Invoke, Process::Client(3), "add", v.clone(), 0),
            Some("n1"),
        );
        push(
            &mut ops,
            common::op(OpType::Ok, Process::Client(3), "add", v, 0),
            Some("n1"),
        );
        items.push(json!({
            "element": element(i),
            "add": {"invoke_index": invoke_index, "complete_index": invoke_index + 1,
                    "process": 3, "node": "n1", "outcome": "ok", "acknowledged_s": 0.5},
            "faults": ["clock: n1 -114 s"],
            "node_faults": "n1's clock was -114 s",
            "missing_from": [{"index": 9_999, "node": "n2"}],
            "present_in": [],
            "last_seen": null,
            "status": "never seen",
            "explanation": format!("element {} was added on n1 by process 3 (op {invoke_index}, acknowledged at 0.50 s, while n1's clock was -114 s), but the final read on n2 (op 9999) does not contain it; no read ever saw it.", element(i)),
        }));
    }
    let read_index = ops.len() as u64;
    let big = Value::from_json(&json!((1000..1500).collect::<Vec<i64>>()));
    push(
        &mut ops,
        common::op(OpType::Invoke, Process::Client(4), "read", Value::Nil, 0),
        Some("n2"),
    );
    push(
        &mut ops,
        common::op(OpType::Ok, Process::Client(4), "read", big, 0),
        Some("n2"),
    );
    for item in &mut items {
        item["missing_from"] = json!([{"index": read_index, "node": "n2"}]);
    }
    let results = json!({"validity": "invalid", "checkers": {"set-full": {
        "validity": "invalid",
        "explanation": {
            "lost_count": total,
            "lost_summary": format!("{total} acknowledged adds were lost: {total} added on n1 while its clock was -114 s."),
            "lost_by_node": {"n1": total},
            "lost_by_fault": {"clock: n1 -114 s": total},
            "lost": items,
            "final_reads": [{"index": read_index, "node": "n2", "size": 500}],
        }
    }}});
    (History::new(ops), results)
}

fn page(history: &History, results: &Json) -> String {
    render(&ReportInput {
        title: "lww set",
        history,
        results: Some(results),
        test: None,
    })
}

/// The part of the page between two markers.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html.find(from).expect("start marker");
    let end = html[start..].find(to).map_or(html.len(), |e| start + e);
    &html[start..end]
}

#[test]
fn lost_elements_are_a_bounded_table_under_a_headline() {
    let (history, results) = fixture(120, 367, |i| json!(i));
    let html = page(&history, &results);
    let article = between(&html, "id=\"findings-set-full-lost\"", "</article>");
    assert!(article
        .contains("<h4>Lost writes: acknowledged adds missing from the final reads (367)</h4>"));
    assert!(article.contains(
        "<p class=\"headline\">367 acknowledged adds were lost: 367 added on n1 while its clock was -114 s.</p>"
    ));
    assert!(article.contains("For example, element 0 was added on n1 by process 3"));
    assert!(article.contains("<th>Element</th><th>Added on</th><th>By process</th><th>Add op</th>"));
    // The first 50 rows are open, the other 70 folded, the rest only counted.
    let (open, folded) = article.split_at(article.find("<details>").expect("folded rows"));
    assert_eq!(open.matches("<tr title=").count(), 50);
    assert_eq!(folded.matches("<tr title=").count(), 70);
    assert!(folded.contains("<summary>70 more rows</summary>"));
    assert!(article.contains("247 more are counted but not listed"));
    assert!(article.contains("n1&#39;s clock was -114 s"));
    assert!(article.contains("<td><a class=\"op-link\" href=\"#op-2\">op 2</a></td>"));
    assert!(article.contains("clock: n1 -114 s</td><td>367</td>"));
    // The verdict table counts every lost element, not only those listed.
    assert!(html.contains("lost × 367"));
    // The adds are outlined on the timeline.
    let data = between(&html, "id=\"schism-data\">", "</script>");
    let parsed: Json =
        serde_json::from_str(&data["id=\"schism-data\">".len()..]).expect("data is JSON");
    let marked = parsed["marked"].as_array().expect("marked");
    assert!(marked.contains(&json!(2)) && marked.contains(&json!(240)));
    // The final read's 500 elements are never written out in full.
    assert!(html.contains("500 elements"));
    assert!(
        !html.contains("1100,1101,1102"),
        "a long read value is shortened"
    );
    // The timeline's fault band is labelled in words.
    assert!(parsed["strings"]
        .as_array()
        .expect("strings")
        .iter()
        .any(|s| s == "clock: n1 -114 s"));
}

#[test]
fn hostile_element_values_are_escaped() {
    let (history, results) = fixture(3, 3, |i| json!(format!("{HOSTILE}{i}")));
    let html = page(&history, &results);
    assert_eq!(html.matches("<script").count(), 2, "no injected script");
    assert_eq!(html.matches("</script>").count(), 2);
    assert_eq!(html.matches("<!--").count(), 0);
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}
