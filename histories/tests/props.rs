//! Property tests: no reader panics on any input, and histories survive a round trip through
//! each format.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufReader, Read};

use proptest::prelude::*;
use schism_histories::{
    parse_edn, read_from, read_str, write_edn, write_jsonl, Format, History, Op, OpType, Pos,
    Process, Value,
};

const FORMATS: [Format; 3] = [Format::Jsonl, Format::Json, Format::Edn];

/// A reader that hands out at most `step` bytes per read, to cut operations at every place.
struct Trickle<'a> {
    bytes: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9*+!_?<>=.-]{0,8}(/[a-z][a-z0-9-]{0,5})?".prop_filter("not a reserved word", |s| {
        !matches!(s.as_str(), "nil" | "true" | "false")
    })
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN payloads", |x| !x.is_nan()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::NAN),
        Just(-0.0),
        Just(1e20),
    ]
}

/// Any value EDN can write.
fn edn_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        float().prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
        name().prop_map(|n| Value::Keyword(n.into())),
        name().prop_map(|n| Value::Symbol(n.into())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::btree_set(inner.clone(), 0..6).prop_map(Value::Set),
            prop::collection::btree_map(inner.clone(), inner, 0..6).prop_map(Value::Map),
        ]
    })
    .boxed()
}

/// Any value JSON can write without loss.
fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::btree_map(any::<String>(), inner, 0..6).prop_map(|m| {
                Value::Map(m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect())
            }),
        ]
    })
    .boxed()
}

fn op(value: BoxedStrategy<Value>) -> impl Strategy<Value = Op> {
    (
        0..i64::MAX as u64,
        any::<i64>(),
        prop_oneof![
            Just(OpType::Invoke),
            Just(OpType::Ok),
            Just(OpType::Fail),
            Just(OpType::Info)
        ],
        prop_oneof![
            any::<i64>().prop_map(Process::Client),
            Just(Process::Nemesis)
        ],
        prop_oneof![name(), any::<String>()],
        value.clone(),
        prop::option::of(any::<String>()),
        prop::option::of(value),
    )
        .prop_map(|(index, time, kind, process, f, value, node, error)| Op {
            index,
            time,
            kind,
            process,
            f: f.into(),
            value,
            node: node.map(Into::into),
            error,
            pos: Pos::default(),
        })
}

fn history(value: BoxedStrategy<Value>) -> impl Strategy<Value = History> {
    prop::collection::vec(op(value), 0..12).prop_map(|ops| History {
        source_name: "h".into(),
        ops,
    })
}

/// The operations without their source positions.
fn unplaced(history: &History) -> Vec<Op> {
    history
        .ops
        .iter()
        .map(|op| Op {
            pos: Pos::default(),
            ..op.clone()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn readers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for format in FORMATS {
            let _ = read_from(&bytes[..], "b", format);
        }
    }

    #[test]
    fn readers_never_panic_on_strings(text in any::<String>()) {
        for format in FORMATS {
            let _ = read_str(&text, "s", format);
        }
        let _ = parse_edn(&text, "s");
    }

    #[test]
    fn readers_never_panic_on_near_misses(
        text in "[\\[\\](){}#_:;\", \n0-9a-zA-Z.+\\-\\\\/eNM]{0,80}",
    ) {
        for format in FORMATS {
            let _ = read_str(&text, "s", format);
            let _ = read_from(BufReader::with_capacity(4, Trickle { bytes: text.as_bytes(), step: 3 }), "s", format)
                .map(|_| ());
        }
        let _ = parse_edn(&text, "s");
    }

    #[test]
    fn edn_values_round_trip(value in edn_value()) {
        let text = value.to_string();
        let read = parse_edn(&text, "v").map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(read, vec![value], "{}", text);
    }

    #[test]
    fn jsonl_round_trips_byte_for_byte(history in history(json_value()), step in 1..64usize) {
        let mut first = Vec::new();
        write_jsonl(&history, &mut first).unwrap();
        let read = read_from(BufReader::with_capacity(step.max(8), Trickle { bytes: &first, step }), "h", Format::Jsonl)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(unplaced(&read), history.ops.clone());
        for (i, op) in read.ops.iter().enumerate() {
            prop_assert_eq!((op.pos.line, op.pos.column), (i as u32 + 1, 1));
        }
        let mut second = Vec::new();
        write_jsonl(&read, &mut second).unwrap();
        prop_assert_eq!(String::from_utf8(first).unwrap(), String::from_utf8(second).unwrap());
    }

    #[test]
    fn edn_histories_round_trip(history in history(edn_value()), step in 1..64usize) {
        let mut text = Vec::new();
        write_edn(&history, &mut text).unwrap();
        let whole = read_from(&text[..], "h", Format::Edn)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(unplaced(&whole), history.ops.clone());
        // Read in small pieces, the reader must find the same operations at the same places.
        let trickled = read_from(BufReader::with_capacity(8, Trickle { bytes: &text, step }), "h", Format::Edn)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&trickled.ops, &whole.ops);
        for (i, op) in whole.ops.iter().enumerate() {
            prop_assert_eq!((op.pos.line, op.pos.column), (i as u32 + 1, 1));
        }
    }

    #[test]
    fn json_arrays_read_as_json_lines_do(history in history(json_value()), step in 1..64usize) {
        let mut lines = Vec::new();
        write_jsonl(&history, &mut lines).unwrap();
        let text = String::from_utf8(lines).unwrap();
        let array = format!("[{}]", text.trim_end().replace('\n', ",\n"));
        let read = read_from(BufReader::with_capacity(8, Trickle { bytes: array.as_bytes(), step }), "h", Format::Json)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(unplaced(&read), history.ops.clone());
    }
}

#[test]
fn keywords_become_strings_in_json() {
    let mut op = Op::new(
        OpType::Invoke,
        Process::Nemesis,
        "partition",
        Value::Map(BTreeMap::from([(
            Value::Keyword("n1".into()),
            Value::Set(BTreeSet::from([Value::Keyword("n2".into())])),
        )])),
    );
    op.node = Some("n1".into());
    op.error = Some(Value::Float(f64::NAN));
    let mut out = Vec::new();
    write_jsonl(&History::new(vec![op.clone()]), &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"index\":0,\"time\":0,\"type\":\"invoke\",\"process\":\"nemesis\",\"f\":\"partition\",\
         \"value\":{\"n1\":[\"n2\"]},\"node\":\"n1\",\"error\":null}\n"
    );
    let mut edn = Vec::new();
    write_edn(&History::new(vec![op]), &mut edn).unwrap();
    assert_eq!(
        String::from_utf8(edn).unwrap(),
        "{:index 0, :time 0, :type :invoke, :process :nemesis, :f :partition, \
         :value {:n1 #{:n2}}, :node \"n1\", :error ##NaN}\n"
    );
}
