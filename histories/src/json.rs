//! Readers for schism's JSON Lines histories and elle-cli's JSON arrays, on `serde_json`.
//!
//! Each operation object is deserialized straight into its fields ([`OpFields`]) and its
//! values straight into [`Value`]s, with no `serde_json::Value` in between. An integer that
//! does not fit in `i64` reads as a float, as [`Value::from_json`] reads it.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, Read};

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::convert::{not_a_map, Field, OpFields};
use crate::error::HistoryError;
use crate::op::{Op, Pos};
use crate::read::{chars, Chunks};
use crate::value::Value;

/// An unsigned JSON integer: an [`Value::Int`] where it fits, a float otherwise.
fn json_uint(u: u64) -> Value {
    i64::try_from(u).map_or(Value::Float(u as f64), Value::Int)
}

/// A [`Value`] read from JSON.
pub(crate) struct JsonValue(pub(crate) Value);

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor).map(JsonValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(json_uint(u))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(JsonValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((key, JsonValue(value))) = map.next_entry::<String, JsonValue>()? {
            out.insert(Value::Str(key), value);
        }
        Ok(Value::Map(out))
    }
}

/// The key of an operation object: a field schism knows, or another to skip.
struct FieldKey(Option<Field>);

impl<'de> Deserialize<'de> for FieldKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = FieldKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, s: &str) -> Result<FieldKey, E> {
                Ok(FieldKey(Field::from_name(s)))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// One operation object, or what was wrong with its fields. Field errors do not stop the
/// deserializer, so that they are told apart from malformed JSON and reported at the
/// operation.
struct RawOp(Result<OpFields, String>);

impl<'de> Deserialize<'de> for RawOp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OpVisitor)
    }
}

struct OpVisitor;

impl OpVisitor {
    fn not_a_map<E>(value: Value) -> Result<RawOp, E> {
        Ok(RawOp(Err(not_a_map(&value))))
    }
}

impl<'de> Visitor<'de> for OpVisitor {
    type Value = RawOp;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an operation object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawOp, A::Error> {
        let mut fields = OpFields::default();
        let mut error = None;
        while let Some(FieldKey(field)) = map.next_key()? {
            match field {
                Some(field @ (Field::Type | Field::F | Field::Process | Field::Node))
                    if error.is_none() =>
                {
                    let seed = NameSeed {
                        fields: &mut fields,
                        field,
                    };
                    if let Err(message) = map.next_value_seed(seed)? {
                        error = Some(message);
                    }
                }
                Some(field) if error.is_none() => {
                    let JsonValue(value) = map.next_value()?;
                    if let Err(message) = fields.set(field, value) {
                        error = Some(message);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RawOp(match error {
            Some(message) => Err(message),
            None => Ok(fields),
        }))
    }

    fn visit_bool<E>(self, b: bool) -> Result<RawOp, E> {
        Self::not_a_map(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<RawOp, E> {
        Self::not_a_map(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<RawOp, E> {
        Self::not_a_map(json_uint(u))
    }

    fn visit_f64<E>(self, x: f64) -> Result<RawOp, E> {
        Self::not_a_map(Value::Float(x))
    }

    fn visit_str<E>(self, s: &str) -> Result<RawOp, E> {
        Self::not_a_map(Value::Str(s.to_string()))
    }

    fn visit_unit<E>(self) -> Result<RawOp, E> {
        Self::not_a_map(Value::Nil)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawOp, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Self::not_a_map(Value::List(Vec::new()))
    }
}

/// The value of a name-like field (`type`, `f`, `process`, `node`), recorded straight into
/// the operation's fields: a string is matched where it lies in the input, with no `String`
/// built for it.
struct NameSeed<'f> {
    fields: &'f mut OpFields,
    field: Field,
}

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = Result<(), String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl NameSeed<'_> {
    fn other(self, value: Value) -> Result<(), String> {
        self.fields.set(self.field, value)
    }
}

impl<'de> Visitor<'de> for NameSeed<'_> {
    type Value = Result<(), String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(self
            .fields
            .set_name(self.field, s, || Value::Str(s.to_string())))
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(self.other(Value::Bool(b)))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Self::Value, E> {
        Ok(self.other(Value::Int(i)))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Self::Value, E> {
        Ok(self.other(json_uint(u)))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Self::Value, E> {
        Ok(self.other(Value::Float(x)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.other(Value::Nil))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let value = ValueVisitor.visit_seq(seq)?;
        Ok(self.other(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = ValueVisitor.visit_map(map)?;
        Ok(self.other(value))
    }
}

/// JSON's whitespace.
fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The byte offset in `slice` where serde_json placed `error`, and the message without
/// serde_json's " at line L column C".
fn locate(slice: &[u8], error: &serde_json::Error) -> (usize, String) {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    let line_start = if error.line() <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', slice)
            .nth(error.line() - 2)
            .map_or(slice.len(), |n| n + 1)
    };
    // serde_json's columns are 1-based byte counts; point at the byte it names.
    let offset = (line_start + error.column().saturating_sub(1)).min(slice.len());
    (offset, format!("invalid JSON: {message}"))
}

/// Reads JSON Lines: one operation object per line, blank lines allowed.
pub(crate) fn read_jsonl(
    mut reader: impl BufRead,
    source_name: &str,
) -> Result<Vec<Op>, HistoryError> {
    let syntax = |pos: Pos, message: String| HistoryError::Syntax {
        source_name: source_name.to_string(),
        pos,
        message,
    };
    let mut ops = Vec::new();
    let mut line = Vec::with_capacity(512);
    let mut line_no: u32 = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|error| HistoryError::Io {
                source_name: source_name.to_string(),
                error,
            })?;
        if n == 0 {
            break;
        }
        line_no = line_no.saturating_add(1);
        let mut text: &[u8] = &line;
        if line_no == 1 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        let Some(start) = text.iter().position(|&b| !is_json_ws(b)) else {
            continue;
        };
        let pos = Pos {
            line: line_no,
            column: 1 + chars(&text[..start]),
        };
        let body = &text[start..];
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed = RawOp::deserialize(&mut de).and_then(|raw| de.end().map(|()| raw));
        match parsed {
            Ok(RawOp(Ok(fields))) => {
                let op = fields
                    .finish(ops.len() as u64, pos)
                    .map_err(|message| syntax(pos, message))?;
                ops.push(op);
            }
            Ok(RawOp(Err(message))) => return Err(syntax(pos, array_hint(message, body, &ops))),
            Err(error) => {
                let (offset, message) = locate(body, &error);
                let message = array_hint(message, body, &ops);
                // The line's own newline is not part of the operation: an error at or after
                // it is at the end of the line's text.
                let end = body
                    .iter()
                    .rposition(|&b| !is_json_ws(b))
                    .map_or(0, |n| n + 1);
                let offset = offset.min(end);
                let column = pos.column + chars(&body[..offset]);
                return Err(syntax(
                    Pos {
                        line: line_no,
                        column,
                    },
                    message,
                ));
            }
        }
    }
    Ok(ops)
}

/// Adds a hint to an error on the first operation of a JSON Lines file that opens with `[`:
/// it is most likely elle-cli's JSON, one array of operations, under another extension.
fn array_hint(message: String, body: &[u8], ops: &[Op]) -> String {
    if ops.is_empty() && body.first() == Some(&b'[') {
        format!("{message} (a file holding one JSON array of operations is elle-cli's JSON: give it the .json extension)")
    } else {
        message
    }
}

/// Where the array reader stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    Start,
    /// Inside the array, expecting an element (or `]` when none has been read).
    Element,
    /// Inside the array, after an element.
    Separator,
    Closed,
}

/// Reads one JSON array of operation objects, as elle-cli writes, an element at a time.
pub(crate) fn read_json_array(
    reader: impl Read,
    source_name: &str,
) -> Result<Vec<Op>, HistoryError> {
    let mut chunks = Chunks::new(reader, source_name);
    let mut ops: Vec<Op> = Vec::new();
    let mut state = ArrayState::Start;
    loop {
        let rest = chunks.rest();
        let skipped = rest
            .iter()
            .position(|&b| !is_json_ws(b))
            .unwrap_or(rest.len());
        let next = rest.get(skipped).copied();
        chunks.start += skipped;
        let Some(next) = next else {
            if !chunks.eof {
                chunks.more()?;
                continue;
            }
            return match state {
                ArrayState::Start | ArrayState::Closed => Ok(ops),
                ArrayState::Element | ArrayState::Separator => Err(chunks.error_at(
                    0,
                    "unexpected end of input, expected an operation or ']'".into(),
                )),
            };
        };
        match state {
            ArrayState::Start if next == b'[' => {
                chunks.start += 1;
                state = ArrayState::Element;
            }
            ArrayState::Start => {
                return Err(chunks.error_at(
                    0,
                    format!(
                        "expected '[' to open a JSON array of operations, found {:?}",
                        next as char
                    ),
                ))
            }
            ArrayState::Closed => {
                return Err(chunks.error_at(
                    0,
                    "expected the end of input after the array of operations".into(),
                ))
            }
            ArrayState::Separator => match next {
                b',' => {
                    chunks.start += 1;
                    state = ArrayState::Element;
                }
                b']' => {
                    chunks.start += 1;
                    state = ArrayState::Closed;
                }
                other => {
                    return Err(chunks.error_at(
                        0,
                        format!(
                            "expected ',' or ']' after an operation, found {:?}",
                            other as char
                        ),
                    ))
                }
            },
            ArrayState::Element if next == b']' && ops.is_empty() => {
                chunks.start += 1;
                state = ArrayState::Closed;
            }
            ArrayState::Element => {
                let pos = chunks.pos(0);
                let rest = chunks.rest();
                let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<RawOp>();
                match stream.next() {
                    Some(Ok(RawOp(Ok(fields)))) => {
                        let used = stream.byte_offset();
                        let op = fields
                            .finish(ops.len() as u64, pos)
                            .map_err(|message| chunks.error_at_pos(pos, message))?;
                        ops.push(op);
                        chunks.start += used;
                        state = ArrayState::Separator;
                    }
                    Some(Ok(RawOp(Err(message)))) => return Err(chunks.error_at_pos(pos, message)),
                    Some(Err(error)) if error.is_eof() && !chunks.eof => chunks.more()?,
                    Some(Err(error)) => {
                        let (offset, message) = locate(rest, &error);
                        return Err(chunks.error_at(offset, message));
                    }
                    // Only whitespace is left in the buffer; the loop reads more.
                    None => chunks.more()?,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(text: &str) -> Vec<Op> {
        read_jsonl(text.as_bytes(), "t.jsonl").unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_fields_and_defaults() {
        let read = ops(concat!(
            "\n",
            "{\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",5,3]],\"extra\":{\"x\":1}}\n",
            "\t{\"index\":7,\"time\":-3,\"type\":\"ok\",\"process\":\"nemesis\",\"f\":\"kill\",",
            "\"value\":18446744073709551615,\"node\":\"n1\",\"error\":null}\r\n",
        ));
        assert_eq!(read.len(), 2);
        let (first, second) = (&read[0], &read[1]);
        assert_eq!((first.index, first.time), (0, 0));
        assert_eq!(first.process, crate::Process::Client(-1));
        assert_eq!(first.value.to_string(), "[[\"append\" 5 3]]");
        assert_eq!((first.pos.line, first.pos.column), (2, 1));
        assert_eq!((second.index, second.time), (7, -3));
        assert_eq!(second.process, crate::Process::Nemesis);
        assert_eq!(second.value, Value::Float(u64::MAX as f64));
        assert_eq!(second.node.as_deref(), Some("n1"));
        assert_eq!(second.error, Some(Value::Nil));
        assert_eq!((second.pos.line, second.pos.column), (3, 2));
    }

    #[test]
    fn arrays_read_across_lines() {
        let text = "[\n  {\"type\": \"invoke\", \"process\": 1},\n  {\"type\": \"ok\", \"process\": 1}\n]\n";
        let read = read_json_array(text.as_bytes(), "t.json").unwrap_or_else(|e| panic!("{e}"));
        let places: Vec<_> = read.iter().map(|op| (op.pos.line, op.pos.column)).collect();
        assert_eq!(places, [(2, 3), (3, 3)]);
        assert!(read_json_array(&b"  "[..], "t.json").unwrap().is_empty());
    }
}
