//! Property tests: the report renders any history and any results document without panicking,
//! and no string in them can open an element or end the page's scripts.

mod common;

use proptest::prelude::*;
use schism_histories::{History, OpType, Process, Value};
use schism_report::{render, ReportInput};
use serde_json::Value as Json;

fn json_strategy() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        (0u64..40).prop_map(Json::from),
        "[a-zA-Z<>/&\"' GT0-9-]{0,12}".prop_map(Json::String),
        prop::sample::select(vec![
            "valid",
            "invalid",
            "unknown",
            "ww",
            "rw",
            "T1",
            "T2",
            "</script>",
            "<!--",
        ])
        .prop_map(|s| Json::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "valid",
                    "validity",
                    "checkers",
                    "anomalies",
                    "cycle",
                    "steps",
                    "path",
                    "from",
                    "to",
                    "type",
                    "txns",
                    "name",
                    "txn",
                    "index",
                    "op",
                    "prefix",
                    "concurrent",
                    "witness",
                    "explanation",
                    "not",
                    "keys",
                    "lost",
                    "states",
                    "key",
                ])
                .prop_map(str::to_string),
                inner,
                0..6,
            )
            .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

fn history_strategy() -> impl Strategy<Value = History> {
    let op = (
        0u8..4,
        0i64..4,
        any::<bool>(),
        "[a-z<>&\"']{0,6}",
        -5i64..1_000_000,
    );
    prop::collection::vec(op, 0..40).prop_map(|ops| {
        History::new(
            ops.into_iter()
                .enumerate()
                .map(|(i, (kind, p, nemesis, text, time))| {
                    let kind =
                        [OpType::Invoke, OpType::Ok, OpType::Fail, OpType::Info][kind as usize];
                    let process = if nemesis && p == 0 {
                        Process::Nemesis
                    } else {
                        Process::Client(p)
                    };
                    let f = if nemesis {
                        format!("start-{text}")
                    } else {
                        "read".to_string()
                    };
                    let mut op = common::op(kind, process, &f, Value::Str(text), time);
                    op.index = i as u64;
                    op
                })
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn renders_anything_safely(history in history_strategy(), results in json_strategy(), test in json_strategy()) {
        let html = render(&ReportInput { title: "<t>", history: &history, results: Some(&results), test: Some(&test) });
        prop_assert_eq!(html.matches("<script").count(), 2);
        prop_assert_eq!(html.matches("</script>").count(), 2);
        prop_assert_eq!(html.matches("<!--").count(), 0);
        let _ = schism_report::summarize(&results);
    }
}
