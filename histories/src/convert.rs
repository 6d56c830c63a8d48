//! Turning the fields of one operation map into an [`Op`], the same way for every format.
//!
//! Jepsen writes an operation as a map with the keys `:type`, `:process`, `:f`, `:value`,
//! `:index` and `:time` (and sometimes `:node` and `:error`); elle-cli's JSON uses the same
//! names as strings. The readers hand each field to [`OpFields::set`] as they parse it, so no
//! intermediate map is built per operation, and [`OpFields::finish`] applies the defaults:
//!
//! - `type` is required: `invoke`, `ok`, `fail` or `info`, as a string or keyword.
//! - `process` is an integer or `nemesis`. A missing process reads as `Process::Client(-1)`:
//!   the example history of the Elle paper (Kingsbury & Alvaro, "Elle: inferring isolation
//!   anomalies from experimental observations", VLDB 2020) has none, and its checker does not
//!   need one. `nil` counts as missing.
//! - `f` is a string or keyword; missing or `nil` reads as the empty name.
//! - `value` is any value; missing reads as `nil`.
//! - `index` and `time` are integers; a missing index is the operation's position in the file
//!   (from 0), and a missing time is the index, so that order is kept.
//! - `node` is a string or keyword (or `nil`); `error` is any value.
//!
//! Other keys are ignored. A field of the wrong type is an error that says what was expected.

use smol_str::SmolStr;

use crate::op::{Op, OpType, Pos, Process};
use crate::value::Value;

/// The keys of an operation map that mean something to schism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Type,
    Process,
    F,
    Value,
    Index,
    Time,
    Node,
    Error,
}

impl Field {
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        match name {
            "type" => Some(Field::Type),
            "process" => Some(Field::Process),
            "f" => Some(Field::F),
            "value" => Some(Field::Value),
            "index" => Some(Field::Index),
            "time" => Some(Field::Time),
            "node" => Some(Field::Node),
            "error" => Some(Field::Error),
            _ => None,
        }
    }
}

/// The fields of one operation read so far.
#[derive(Debug, Default)]
pub(crate) struct OpFields {
    kind: Option<OpType>,
    process: Option<Process>,
    f: Option<SmolStr>,
    value: Option<Value>,
    index: Option<u64>,
    time: Option<i64>,
    node: Option<SmolStr>,
    error: Option<Value>,
}

/// Names a value for an error message: its kind, and its text where that is short and helps
/// ("found a string \"write\"", "found a boolean").
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Str(_) | Value::Keyword(_) | Value::Symbol(_) | Value::Int(_) | Value::Float(_) => {
            let text = value.to_string();
            if text.chars().count() <= 40 {
                format!("{} {text}", value.kind())
            } else {
                value.kind().to_string()
            }
        }
        _ => value.kind().to_string(),
    }
}

impl OpFields {
    /// Records one field. A later occurrence of the same key replaces an earlier one, as
    /// Clojure's reader keeps the last.
    pub(crate) fn set(&mut self, field: Field, value: Value) -> Result<(), String> {
        match field {
            Field::Type => {
                let Some(name) = value.as_name() else {
                    return Err(format!(
                        "expected invoke, ok, fail or info for type, found {}",
                        describe(&value)
                    ));
                };
                let Some(kind) = OpType::parse(name) else {
                    return Err(format!(
                        "unknown type {} (expected invoke, ok, fail or info)",
                        describe(&value)
                    ));
                };
                self.kind = Some(kind);
            }
            Field::Process => {
                self.process = match &value {
                    Value::Int(p) => Some(Process::Client(*p)),
                    Value::Nil => None,
                    v if v.as_name() == Some("nemesis") => Some(Process::Nemesis),
                    v => {
                        return Err(format!(
                            "expected an integer or \"nemesis\" for process, found {}",
                            describe(v)
                        ))
                    }
                }
            }
            Field::F => {
                self.f = match &value {
                    Value::Nil => None,
                    v => match v.as_name() {
                        Some(name) => Some(SmolStr::new(name)),
                        None => {
                            return Err(format!(
                                "expected a string or keyword for f, found {}",
                                describe(v)
                            ))
                        }
                    },
                }
            }
            Field::Value => self.value = Some(value),
            Field::Index => match value {
                Value::Int(i) if i >= 0 => self.index = Some(i as u64),
                v => {
                    return Err(format!(
                        "expected a non-negative integer for index, found {}",
                        describe(&v)
                    ))
                }
            },
            Field::Time => match value {
                Value::Int(t) => self.time = Some(t),
                v => {
                    return Err(format!(
                        "expected an integer (nanoseconds) for time, found {}",
                        describe(&v)
                    ))
                }
            },
            Field::Node => {
                self.node = match &value {
                    Value::Nil => None,
                    v => match v.as_name() {
                        Some(name) => Some(SmolStr::new(name)),
                        None => {
                            return Err(format!(
                                "expected a string or keyword for node, found {}",
                                describe(v)
                            ))
                        }
                    },
                }
            }
            Field::Error => self.error = Some(value),
        }
        Ok(())
    }

    /// Records a field whose value is a name (a string or keyword) without building a
    /// [`Value`] unless it is needed: `as_value` gives the value for a message or for a field
    /// that keeps values.
    pub(crate) fn set_name(
        &mut self,
        field: Field,
        name: &str,
        as_value: impl FnOnce() -> Value,
    ) -> Result<(), String> {
        match field {
            Field::Type => match OpType::parse(name) {
                Some(kind) => self.kind = Some(kind),
                None => {
                    return Err(format!(
                        "unknown type {} (expected invoke, ok, fail or info)",
                        describe(&as_value())
                    ))
                }
            },
            Field::Process if name == "nemesis" => self.process = Some(Process::Nemesis),
            Field::F => self.f = Some(SmolStr::new(name)),
            Field::Node => self.node = Some(SmolStr::new(name)),
            _ => return self.set(field, as_value()),
        }
        Ok(())
    }

    /// Builds the operation. `ordinal` is the operation's position in its file (from 0), used
    /// when the file gives no index.
    pub(crate) fn finish(self, ordinal: u64, pos: Pos) -> Result<Op, String> {
        let Some(kind) = self.kind else {
            return Err("the operation has no type (expected invoke, ok, fail or info)".into());
        };
        let index = self.index.unwrap_or(ordinal);
        Ok(Op {
            index,
            time: self.time.unwrap_or(index as i64),
            kind,
            process: self.process.unwrap_or(Process::Client(-1)),
            f: self.f.unwrap_or_default(),
            value: self.value.unwrap_or(Value::Nil),
            node: self.node,
            error: self.error,
            pos,
        })
    }
}

/// The message for an operation that is not a map.
pub(crate) fn not_a_map(value: &Value) -> String {
    format!("expected a map for an operation, found {}", describe(value))
}
