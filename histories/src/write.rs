//! Writers: schism's native JSON Lines, and Jepsen's EDN.
//!
//! JSON Lines is the stable format (see DESIGN.md): one object per line with the fields
//! `index`, `time`, `type`, `process`, `f`, `value`, in that order, then `node` and `error`
//! only when the operation has them. `process` is an integer or `"nemesis"`. JSON cannot say
//! everything EDN can, so values are written as [`Value::to_json`] converts them, lossily, as
//! elle-cli does: keywords and symbols become strings, sets become sorted arrays, maps whose
//! keys are not all names (or whose names repeat, as `"a"` and `:a` would) become arrays of
//! `[key, value]` pairs, and non-finite floats become `null`. A history read from JSON Lines
//! that schism wrote is written back byte for byte.
//!
//! EDN keeps every value as it is: `{:index 0, :time 12, :type :invoke, :process 3, :f :write,
//! :value 4}`, one map per line.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::history::History;
use crate::op::{Op, Process};
use crate::value::Value;

/// A [`Value`] serialized as JSON, the way [`Value::to_json`] converts it.
struct Json<'a>(&'a Value);

/// Whether a map can be a JSON object: its keys are names, and no two keys have the same name.
fn object_keys(map: &std::collections::BTreeMap<Value, Value>) -> bool {
    let mut names = BTreeSet::new();
    map.keys()
        .all(|k| k.as_name().is_some_and(|n| names.insert(n)))
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => s.serialize_f64(*x),
            Value::Float(_) => s.serialize_unit(),
            Value::Str(text) => s.serialize_str(text),
            Value::Keyword(name) | Value::Symbol(name) => s.serialize_str(name),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Json(item))?;
                }
                seq.end()
            }
            Value::Set(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Json(item))?;
                }
                seq.end()
            }
            Value::Map(map) if object_keys(map) => {
                let mut out = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    out.serialize_entry(k.as_name().unwrap_or_default(), &Json(v))?;
                }
                out.end()
            }
            Value::Map(map) => {
                let mut seq = s.serialize_seq(Some(map.len()))?;
                for (k, v) in map {
                    seq.serialize_element(&[Json(k), Json(v)])?;
                }
                seq.end()
            }
        }
    }
}

fn json_error(error: serde_json::Error) -> io::Error {
    io::Error::other(error)
}

/// Writes operations as JSON Lines, one `write` call per operation, so that a history
/// streamed to a file while a test runs keeps every line written before a crash.
pub struct JsonlWriter<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> JsonlWriter<W> {
        JsonlWriter {
            out,
            line: Vec::with_capacity(256),
        }
    }

    /// Writes one operation and its newline.
    pub fn write_op(&mut self, op: &Op) -> io::Result<()> {
        self.line.clear();
        encode_jsonl(op, &mut self.line)?;
        self.out.write_all(&self.line)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Appends one operation's JSON line to `line`.
fn encode_jsonl(op: &Op, line: &mut Vec<u8>) -> io::Result<()> {
    write!(
        line,
        "{{\"index\":{},\"time\":{},\"type\":\"{}\",\"process\":",
        op.index, op.time, op.kind
    )?;
    match op.process {
        Process::Client(p) => write!(line, "{p}")?,
        Process::Nemesis => line.extend_from_slice(b"\"nemesis\""),
    }
    line.extend_from_slice(b",\"f\":");
    serde_json::to_writer(&mut *line, op.f.as_str()).map_err(json_error)?;
    line.extend_from_slice(b",\"value\":");
    serde_json::to_writer(&mut *line, &Json(&op.value)).map_err(json_error)?;
    if let Some(node) = &op.node {
        line.extend_from_slice(b",\"node\":");
        serde_json::to_writer(&mut *line, node.as_str()).map_err(json_error)?;
    }
    if let Some(error) = &op.error {
        line.extend_from_slice(b",\"error\":");
        serde_json::to_writer(&mut *line, &Json(error)).map_err(json_error)?;
    }
    line.extend_from_slice(b"}\n");
    Ok(())
}

/// Writes a whole history as JSON Lines.
pub fn write_jsonl(history: &History, out: impl Write) -> io::Result<()> {
    let mut writer = JsonlWriter::new(BufWriter::with_capacity(64 * 1024, out));
    for op in &history.ops {
        writer.write_op(op)?;
    }
    writer.flush()
}

/// Whether `name` reads back as the keyword `:name`.
fn is_keyword_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(first) if first.is_ascii_alphabetic() || b"*+!-_?$%&=<>.".contains(&first) => {}
        _ => return false,
    }
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"*+!-_?$%&=<>./:#'".contains(&b))
}

/// Writes a whole history as EDN, one operation map per line.
pub fn write_edn(history: &History, out: impl Write) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    for op in &history.ops {
        write!(
            out,
            "{{:index {}, :time {}, :type :{}, :process ",
            op.index, op.time, op.kind
        )?;
        match op.process {
            Process::Client(p) => write!(out, "{p}")?,
            Process::Nemesis => out.write_all(b":nemesis")?,
        }
        if is_keyword_name(&op.f) {
            write!(out, ", :f :{}", op.f)?;
        } else {
            write!(out, ", :f {}", Value::Str(op.f.to_string()))?;
        }
        write!(out, ", :value {}", op.value)?;
        if let Some(node) = &op.node {
            write!(out, ", :node {}", Value::Str(node.to_string()))?;
        }
        if let Some(error) = &op.error {
            write!(out, ", :error {error}")?;
        }
        out.write_all(b"}\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_names_are_those_edn_reads_back() {
        for name in ["read", "cas", "start-partition", "a/b", "ok?", "+"] {
            assert!(is_keyword_name(name), "{name}");
        }
        for name in ["", "1x", "a b", "a,b", "é", ":x", "a\"b"] {
            assert!(!is_keyword_name(name), "{name}");
        }
    }

    #[test]
    fn writes_the_native_field_order() {
        let mut op = Op::new(
            crate::OpType::Ok,
            Process::Client(3),
            "txn",
            Value::List(vec![Value::List(vec![
                Value::Keyword("r".into()),
                Value::Int(5),
                Value::List(vec![Value::Int(1)]),
            ])]),
        );
        op.index = 7;
        op.time = 20000;
        let mut line = Vec::new();
        encode_jsonl(&op, &mut line).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "{\"index\":7,\"time\":20000,\"type\":\"ok\",\"process\":3,\"f\":\"txn\",\"value\":[[\"r\",5,[1]]]}\n"
        );
        let mut pairs = Op::new(
            crate::OpType::Ok,
            Process::Client(0),
            "read",
            Value::Map([(Value::Int(1), Value::Int(2))].into_iter().collect()),
        );
        pairs.error = Some(Value::Keyword("timeout".into()));
        let mut line = Vec::new();
        encode_jsonl(&pairs, &mut line).unwrap();
        assert!(String::from_utf8(line)
            .unwrap()
            .ends_with("\"value\":[[1,2]],\"error\":\"timeout\"}\n"),);
    }
}
