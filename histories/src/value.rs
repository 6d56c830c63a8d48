//! The value model shared by every history format.
//!
//! One enum covers what JSON and Jepsen's EDN can say. Clojure's vectors and lists compare
//! equal (`(= [1 2] '(1 2))`), so both read as [`Value::List`]; sets and maps are kept sorted,
//! which makes equality, ordering and hashing structural and output deterministic.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{Hash, Hasher};

use smol_str::SmolStr;

/// A value in an operation: the argument of an invocation or the result of a completion.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// JSON `null`, EDN `nil`.
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    /// Compared by [`f64::total_cmp`], so that values have a total order.
    Float(f64),
    Str(String),
    /// An EDN keyword, without its colon: `:append` is `Keyword("append")`.
    Keyword(SmolStr),
    /// An EDN symbol.
    Symbol(SmolStr),
    /// A JSON array, an EDN vector or list.
    List(Vec<Value>),
    /// An EDN set.
    Set(BTreeSet<Value>),
    /// A JSON object or an EDN map.
    Map(BTreeMap<Value, Value>),
}

impl Value {
    /// The text of a name-like value: a string, keyword or symbol. Micro-op names (`"r"`,
    /// `:r`), `f`s and map keys read through this, so JSON and EDN histories mean the same.
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Keyword(s) | Value::Symbol(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Looks a key up in a map by name, whether the map's keys are strings or keywords.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m
                .iter()
                .find(|(k, _)| k.as_name() == Some(name))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name for the kind of value, for error messages ("expected a map, found a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Keyword(_) => "a keyword",
            Value::Symbol(_) => "a symbol",
            Value::List(_) => "a list",
            Value::Set(_) => "a set",
            Value::Map(_) => "a map",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Nil => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Str(_) => 4,
            Value::Keyword(_) => 5,
            Value::Symbol(_) => 6,
            Value::List(_) => 7,
            Value::Set(_) => 8,
            Value::Map(_) => 9,
        }
    }

    /// Converts to JSON. Keywords and symbols become strings, sets become sorted arrays and
    /// maps with non-string keys become arrays of `[key, value]` pairs: lossy, as elle-cli's
    /// JSON is. Non-finite floats become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Keyword(s) | Value::Symbol(s) => J::String(s.to_string()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Set(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                if m.keys().all(|k| k.as_name().is_some()) {
                    J::Object(
                        m.iter()
                            .map(|(k, v)| {
                                (k.as_name().unwrap_or_default().to_string(), v.to_json())
                            })
                            .collect(),
                    )
                } else {
                    J::Array(
                        m.iter()
                            .map(|(k, v)| J::Array(vec![k.to_json(), v.to_json()]))
                            .collect(),
                    )
                }
            }
        }
    }

    /// Converts from JSON. Integers that fit in `i64` are [`Value::Int`]; other numbers are
    /// [`Value::Float`].
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            J::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::Str(k.clone()), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Nil, Value::Nil) => Ordering::Equal,
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::Keyword(a), Value::Keyword(b)) => a.cmp(b),
            (Value::Symbol(a), Value::Symbol(b)) => a.cmp(b),
            (Value::List(a), Value::List(b)) => a.cmp(b),
            (Value::Set(a), Value::Set(b)) => a.cmp(b),
            (Value::Map(a), Value::Map(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.rank().hash(state);
        match self {
            Value::Nil => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(s) => s.hash(state),
            Value::Keyword(s) | Value::Symbol(s) => s.hash(state),
            Value::List(items) => items.hash(state),
            Value::Set(items) => items.hash(state),
            Value::Map(m) => m.hash(state),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

/// Displays the value as EDN, the notation Jepsen users read.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.is_nan() {
                    f.write_str("##NaN")
                } else if x.is_infinite() {
                    f.write_str(if *x > 0.0 { "##Inf" } else { "##-Inf" })
                } else {
                    // Debug prints the shortest text that reads back as the same float, and
                    // always with a `.` or an exponent (`1.0`, `1e20`), so that EDN reads it
                    // as a float, not an integer.
                    write!(f, "{x:?}")
                }
            }
            Value::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                        c => write!(f, "{c}")?,
                    }
                }
                f.write_str("\"")
            }
            Value::Keyword(s) => write!(f, ":{s}"),
            Value::Symbol(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                write_seq(f, items.iter())?;
                f.write_str("]")
            }
            Value::Set(items) => {
                f.write_str("#{")?;
                write_seq(f, items.iter())?;
                f.write_str("}")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_seq<'a>(
    f: &mut fmt::Formatter<'_>,
    items: impl Iterator<Item = &'a Value>,
) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_edn() {
        let v = Value::List(vec![
            Value::Keyword("append".into()),
            Value::Int(3),
            Value::Str("a\"b".into()),
            Value::Nil,
        ]);
        assert_eq!(v.to_string(), r#"[:append 3 "a\"b" nil]"#);
    }

    #[test]
    fn json_round_trip_keeps_numbers_apart() {
        let j: serde_json::Value =
            serde_json::from_str(r#"[1, 1.5, "x", null, {"a": true}]"#).unwrap();
        let v = Value::from_json(&j);
        assert_eq!(v.to_json(), j);
        assert_ne!(Value::Int(1), Value::Float(1.0));
    }

    #[test]
    fn names_read_alike() {
        assert_eq!(
            Value::Keyword("r".into()).as_name(),
            Value::from("r").as_name()
        );
    }
}
