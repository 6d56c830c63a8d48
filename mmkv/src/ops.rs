//! Micro-operations of a transaction, as Jepsen's and Elle's clients send them
//! (`["r", k, null]`, `["w", k, v]`, `["append", k, v]`, `["cas", k, [from, to]]`,
//! `["add", k, e]`, `["incr", k, n]`), and their meaning over a plain map of JSON values.
//!
//! The plain-map semantics serve the Raft state machine and the last-writer-wins store: a list
//! is a JSON array that `append` extends, a set is a sorted JSON array without duplicates that
//! `add` extends, and a counter is a JSON integer that `incr` bumps. A transaction either
//! applies completely or, when one of its micro-operations finds a value of the wrong type,
//! not at all.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The function of a micro-operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Func {
    /// `r`: read the key.
    R,
    /// `w`: overwrite the key.
    W,
    /// `append`: append to the list held by the key.
    Append,
    /// `cas`: compare-and-set the key.
    Cas,
    /// `add`: add to the set held by the key.
    Add,
    /// `incr`: add an integer to the counter held by the key.
    Incr,
}

impl Func {
    /// The name used on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Func::R => "r",
            Func::W => "w",
            Func::Append => "append",
            Func::Cas => "cas",
            Func::Add => "add",
            Func::Incr => "incr",
        }
    }

    fn parse(s: &str) -> Option<Func> {
        Some(match s {
            "r" => Func::R,
            "w" => Func::W,
            "append" => Func::Append,
            "cas" => Func::Cas,
            "add" => Func::Add,
            "incr" => Func::Incr,
            _ => return None,
        })
    }
}

/// One validated micro-operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MicroOp {
    /// What to do.
    pub f: Func,
    /// The key exactly as the client sent it (a string or an integer).
    pub key: Value,
    /// The key's canonical identity: its compact JSON text, so that `3` and `"3"` differ.
    pub key_id: String,
    /// The argument: the value written, appended or added; `[from, to]` for `cas`; the integer
    /// for `incr`; ignored for `r`.
    pub arg: Value,
}

/// Parses a request body into micro-operations, or says which one is malformed and why.
pub fn parse_txn(body: &[u8]) -> Result<Vec<MicroOp>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
    let Value::Array(items) = v else {
        return Err("expected a JSON array of micro-ops".to_string());
    };
    let mut ops = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        ops.push(parse_op(item).map_err(|e| format!("micro-op {i}: {e}"))?);
    }
    Ok(ops)
}

fn parse_op(item: Value) -> Result<MicroOp, String> {
    let Value::Array(parts) = item else {
        return Err("expected an array [f, key, value]".to_string());
    };
    let [f, key, arg]: [Value; 3] = parts.try_into().map_err(|p: Vec<Value>| {
        format!("expected 3 elements [f, key, value], found {}", p.len())
    })?;
    let Value::String(fname) = f else {
        return Err(format!("expected a function name string, found {f}"));
    };
    let f = Func::parse(&fname).ok_or_else(|| format!("unknown micro-op {fname:?}"))?;
    let key_ok = match &key {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    };
    if !key_ok {
        return Err(format!(
            "{}: key must be a string or an integer, found {key}",
            f.name()
        ));
    }
    match f {
        Func::Cas => match &arg {
            Value::Array(a) if a.len() == 2 => {}
            _ => return Err(format!("cas: expected [from, to], found {arg}")),
        },
        Func::Incr if arg.as_i64().is_none() => {
            return Err(format!("incr: expected an integer, found {arg}"));
        }
        _ => {}
    }
    let key_id = key.to_string();
    Ok(MicroOp {
        f,
        key,
        key_id,
        arg,
    })
}

/// A total order on JSON values, used to sort set elements and register siblings: null, then
/// booleans, numbers (numerically), strings, arrays (lexicographically), objects.
pub fn json_cmp(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x.cmp(&y)
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x.cmp(&y)
            } else {
                let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                x.total_cmp(&y)
            }
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y.iter()) {
                let c = json_cmp(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(_), Value::Object(_)) => a.to_string().cmp(&b.to_string()),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The outcome of a transaction over a plain map: the completed micro-operations and the keys
/// it wrote with their new values.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    /// The completed micro-operations, `[f, k, v]` each.
    pub completed: Vec<Value>,
    /// The new value of every key written, by key id, with the key as sent.
    pub writes: BTreeMap<String, (Value, Value)>,
}

/// Runs a transaction against a plain map read through `get` (key id → current value), without
/// changing it: the caller installs `writes` when the whole transaction succeeded. An error
/// names the micro-operation that found a value of the wrong type.
pub fn apply_plain(
    ops: &[MicroOp],
    get: impl Fn(&str) -> Option<Value>,
) -> Result<Applied, String> {
    let mut out = Applied::default();
    for (i, op) in ops.iter().enumerate() {
        let current = match out.writes.get(&op.key_id) {
            Some((_, v)) => Some(v.clone()),
            None => get(&op.key_id),
        };
        let fail = |what: &str| format!("micro-op {i}: {} on key {}: {what}", op.f.name(), op.key);
        let (result, new) = match op.f {
            Func::R => (current.unwrap_or(Value::Null), None),
            Func::W => (op.arg.clone(), Some(op.arg.clone())),
            Func::Append => {
                let mut list = match current {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a,
                    Some(other) => return Err(fail(&format!("key holds a non-list {other}"))),
                };
                list.push(op.arg.clone());
                (op.arg.clone(), Some(Value::Array(list)))
            }
            Func::Add => {
                let mut set = match current {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a,
                    Some(other) => return Err(fail(&format!("key holds a non-set {other}"))),
                };
                match set.binary_search_by(|e| json_cmp(e, &op.arg)) {
                    Ok(_) => {}
                    Err(pos) => set.insert(pos, op.arg.clone()),
                }
                (op.arg.clone(), Some(Value::Array(set)))
            }
            Func::Incr => {
                let n = op.arg.as_i64().ok_or_else(|| fail("expected an integer"))?;
                let old = match current {
                    None | Some(Value::Null) => 0,
                    Some(v) => v
                        .as_i64()
                        .ok_or_else(|| fail(&format!("key holds a non-integer {v}")))?,
                };
                let new = old.checked_add(n).ok_or_else(|| fail("counter overflow"))?;
                (op.arg.clone(), Some(Value::from(new)))
            }
            Func::Cas => {
                let (from, to) = match &op.arg {
                    Value::Array(a) if a.len() == 2 => (&a[0], &a[1]),
                    _ => return Err(fail("expected [from, to]")),
                };
                let cur = current.unwrap_or(Value::Null);
                let ok = &cur == from;
                let result = Value::Array(vec![from.clone(), to.clone(), Value::Bool(ok)]);
                (result, ok.then(|| to.clone()))
            }
        };
        if let Some(new) = new {
            out.writes.insert(op.key_id.clone(), (op.key.clone(), new));
        }
        out.completed.push(Value::Array(vec![
            Value::from(op.f.name()),
            op.key.clone(),
            result,
        ]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(map: &BTreeMap<String, Value>, txn: Value) -> Result<Value, String> {
        let ops = parse_txn(txn.to_string().as_bytes())?;
        let a = apply_plain(&ops, |k| map.get(k).cloned())?;
        Ok(Value::Array(a.completed))
    }

    #[test]
    fn reads_see_earlier_writes_of_the_same_txn() {
        let map = BTreeMap::new();
        let got = run(
            &map,
            json!([
                ["r", 1, null],
                ["append", 1, 5],
                ["append", 1, 6],
                ["r", 1, null],
                ["incr", "c", 2],
                ["incr", "c", 3],
                ["r", "c", null],
                ["add", "s", 3],
                ["add", "s", 1],
                ["add", "s", 3],
                ["r", "s", null],
                ["cas", "x", [null, 4]],
                ["cas", "x", [3, 5]],
                ["r", "x", null]
            ]),
        );
        assert_eq!(
            got,
            Ok(json!([
                ["r", 1, null],
                ["append", 1, 5],
                ["append", 1, 6],
                ["r", 1, [5, 6]],
                ["incr", "c", 2],
                ["incr", "c", 3],
                ["r", "c", 5],
                ["add", "s", 3],
                ["add", "s", 1],
                ["add", "s", 3],
                ["r", "s", [1, 3]],
                ["cas", "x", [null, 4, true]],
                ["cas", "x", [3, 5, false]],
                ["r", "x", 4]
            ]))
        );
    }

    #[test]
    fn integer_and_string_keys_are_distinct() {
        let map = BTreeMap::new();
        let got = run(
            &map,
            json!([["w", 3, "a"], ["r", "3", null], ["r", 3, null]]),
        );
        assert_eq!(
            got,
            Ok(json!([["w", 3, "a"], ["r", "3", null], ["r", 3, "a"]]))
        );
    }

    #[test]
    fn malformed_requests_name_the_micro_op() {
        let map = BTreeMap::from([("1".to_string(), json!("text"))]);
        let cases = [
            (json!({"a": 1}), "expected a JSON array of micro-ops"),
            (
                json!([["r", 1, null], ["zap", 1, 2]]),
                "micro-op 1: unknown micro-op \"zap\"",
            ),
            (
                json!([["incr", 1, "x"]]),
                "micro-op 0: incr: expected an integer, found \"x\"",
            ),
            (
                json!([["r", [1], null]]),
                "micro-op 0: r: key must be a string or an integer",
            ),
            (
                json!([["w", 2, 1], ["append", 1, 3]]),
                "micro-op 1: append on key 1: key holds a non-list",
            ),
            (
                json!([["cas", 1, 3]]),
                "micro-op 0: cas: expected [from, to]",
            ),
            (json!([["r", 1]]), "micro-op 0: expected 3 elements"),
        ];
        for (txn, want) in cases {
            match run(&map, txn.clone()) {
                Ok(v) => panic!("{txn} was accepted: {v}"),
                Err(e) => assert!(
                    e.starts_with(want),
                    "{txn}: {e:?} does not start with {want:?}"
                ),
            }
        }
        assert!(parse_txn(b"[[").is_err());
    }

    #[test]
    fn json_order_is_numeric_for_numbers() {
        let mut v = vec![json!(10), json!("a"), json!(9), json!(null), json!(-1)];
        v.sort_by(json_cmp);
        assert_eq!(
            v,
            vec![json!(null), json!(-1), json!(9), json!(10), json!("a")]
        );
    }
}
