//! Transactions of micro-operations, as Elle's list-append and rw-register workloads write
//! them: `[["append",k,v],["r",k,[...]]]` in JSON, `[[:append 3 4] [:r 3 [1 2 4]]]` in EDN.
//! A single-operation history (`f` of `read`/`write`/`append` with a `[k v]` value) reads as
//! one-micro-op transactions through [`txn_of`].

use schism_histories::Value;

/// One micro-operation of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MicroOp {
    /// `["r", k, v]`: a read; `value` is `Nil` in an invocation (not yet known) and the
    /// observed value in an `ok` completion (`Nil` for a key never written).
    Read { key: Value, value: Value },
    /// `["w", k, v]`: a register write.
    Write { key: Value, value: Value },
    /// `["append", k, v]`: appends `v` to the list at `k`.
    Append { key: Value, value: Value },
}

impl MicroOp {
    pub fn key(&self) -> &Value {
        match self {
            MicroOp::Read { key, .. }
            | MicroOp::Write { key, .. }
            | MicroOp::Append { key, .. } => key,
        }
    }

    pub fn value(&self) -> &Value {
        match self {
            MicroOp::Read { value, .. }
            | MicroOp::Write { value, .. }
            | MicroOp::Append { value, .. } => value,
        }
    }

    /// The micro-op's name as histories spell it: `r`, `w`, `append`.
    pub fn name(&self) -> &'static str {
        match self {
            MicroOp::Read { .. } => "r",
            MicroOp::Write { .. } => "w",
            MicroOp::Append { .. } => "append",
        }
    }

    pub fn is_write(&self) -> bool {
        !matches!(self, MicroOp::Read { .. })
    }

    /// Parses one micro-op: a three-element list whose first element names it. Accepts the
    /// spellings of Elle, Jepsen and Knossos (`r`/`read`, `w`/`write`, `append`).
    pub fn parse(value: &Value) -> Result<MicroOp, String> {
        let Some([name, key, arg]) = value
            .as_list()
            .and_then(|items| <&[Value; 3]>::try_from(items).ok())
        else {
            return Err(format!("expected a micro-op [f key value], found {value}"));
        };
        let (key, value) = (key.clone(), arg.clone());
        match name.as_name() {
            Some("r" | "read") => Ok(MicroOp::Read { key, value }),
            Some("w" | "write") => Ok(MicroOp::Write { key, value }),
            Some("append") => Ok(MicroOp::Append { key, value }),
            _ => Err(format!(
                "unknown micro-op {name} in {}",
                Value::List(vec![name.clone(), key, value])
            )),
        }
    }
}

/// The micro-ops of an operation. A `txn` (or any `f`) whose value is a list of micro-ops is
/// a transaction; an `f` of `read`/`r`, `write`/`w` or `append` with a `[key value]` value is a
/// one-micro-op transaction.
pub fn txn_of(f: &str, value: &Value) -> Result<Vec<MicroOp>, String> {
    let single = |name: &str| -> Result<Vec<MicroOp>, String> {
        match value.as_list() {
            Some([key, arg]) => MicroOp::parse(&Value::List(vec![
                Value::Str(name.to_string()),
                key.clone(),
                arg.clone(),
            ]))
            .map(|op| vec![op]),
            _ => Err(format!("expected [key value] for {f}, found {value}")),
        }
    };
    match f {
        "read" | "r" => single("r"),
        "write" | "w" => single("w"),
        "append" => single("append"),
        _ => match value.as_list() {
            Some(items) => items.iter().map(MicroOp::parse).collect(),
            None => Err(format!("expected a list of micro-ops, found {value}")),
        },
    }
}

/// A borrowed micro-op: what [`MicroOp`] says, without copying the key and value out of the
/// history. Checkers of million-operation histories read through this, since copying every
/// read's list would double their memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MicroOpRef<'a> {
    Read { key: &'a Value, value: &'a Value },
    Write { key: &'a Value, value: &'a Value },
    Append { key: &'a Value, value: &'a Value },
}

impl<'a> MicroOpRef<'a> {
    pub fn key(&self) -> &'a Value {
        match *self {
            MicroOpRef::Read { key, .. }
            | MicroOpRef::Write { key, .. }
            | MicroOpRef::Append { key, .. } => key,
        }
    }

    pub fn value(&self) -> &'a Value {
        match *self {
            MicroOpRef::Read { value, .. }
            | MicroOpRef::Write { value, .. }
            | MicroOpRef::Append { value, .. } => value,
        }
    }

    /// The micro-op's name as histories spell it: `r`, `w`, `append`.
    pub fn name(&self) -> &'static str {
        match self {
            MicroOpRef::Read { .. } => "r",
            MicroOpRef::Write { .. } => "w",
            MicroOpRef::Append { .. } => "append",
        }
    }
}

/// Like [`txn_of`], but borrows keys and values from `value`. A single-op `[key value]` value
/// (`f` of `read`/`write`/`append`) is one micro-op, as in [`txn_of`].
pub fn txn_ref_of<'a>(f: &str, value: &'a Value) -> Result<Vec<MicroOpRef<'a>>, String> {
    let single = |make: fn(&'a Value, &'a Value) -> MicroOpRef<'a>| match value.as_list() {
        Some([key, arg]) => Ok(vec![make(key, arg)]),
        _ => Err(format!("expected [key value] for {f}, found {value}")),
    };
    match f {
        "read" | "r" => single(|key, value| MicroOpRef::Read { key, value }),
        "write" | "w" => single(|key, value| MicroOpRef::Write { key, value }),
        "append" => single(|key, value| MicroOpRef::Append { key, value }),
        _ => match value.as_list() {
            Some(items) => items.iter().map(micro_op_ref).collect(),
            None => Err(format!("expected a list of micro-ops, found {value}")),
        },
    }
}

fn micro_op_ref(value: &Value) -> Result<MicroOpRef<'_>, String> {
    let Some([name, key, arg]) = value
        .as_list()
        .and_then(|items| <&[Value; 3]>::try_from(items).ok())
    else {
        return Err(format!("expected a micro-op [f key value], found {value}"));
    };
    match name.as_name() {
        Some("r" | "read") => Ok(MicroOpRef::Read { key, value: arg }),
        Some("w" | "write") => Ok(MicroOpRef::Write { key, value: arg }),
        Some("append") => Ok(MicroOpRef::Append { key, value: arg }),
        _ => Err(format!("unknown micro-op {name} in {value}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(s: &str) -> Value {
        Value::Keyword(s.into())
    }

    #[test]
    fn parses_edn_and_json_spellings_alike() {
        let edn = Value::List(vec![
            Value::List(vec![kw("append"), Value::Int(3), Value::Int(4)]),
            Value::List(vec![
                kw("r"),
                Value::Int(3),
                Value::List(vec![Value::Int(4)]),
            ]),
        ]);
        let json = Value::List(vec![
            Value::List(vec!["append".into(), Value::Int(3), Value::Int(4)]),
            Value::List(vec![
                "r".into(),
                Value::Int(3),
                Value::List(vec![Value::Int(4)]),
            ]),
        ]);
        assert_eq!(txn_of("txn", &edn), txn_of("txn", &json));
        assert_eq!(txn_of("txn", &edn).unwrap()[0].name(), "append");
    }

    #[test]
    fn borrowed_micro_ops_read_as_owned_ones() {
        let v = Value::List(vec![
            Value::List(vec![kw("append"), Value::Int(3), Value::Int(4)]),
            Value::List(vec![kw("r"), Value::Int(3), Value::Nil]),
        ]);
        let owned = txn_of("txn", &v).unwrap();
        let borrowed = txn_ref_of("txn", &v).unwrap();
        assert_eq!(owned.len(), borrowed.len());
        for (o, b) in owned.iter().zip(&borrowed) {
            assert_eq!(
                (o.name(), o.key(), o.value()),
                (b.name(), b.key(), b.value())
            );
        }
        let single = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(txn_ref_of("write", &single).unwrap()[0].name(), "w");
        assert!(txn_ref_of("txn", &Value::Int(3)).is_err());
    }

    #[test]
    fn single_ops_are_one_op_transactions() {
        let v = Value::List(vec![Value::Int(1), Value::Int(2)]);
        assert_eq!(
            txn_of("write", &v).unwrap(),
            vec![MicroOp::Write {
                key: Value::Int(1),
                value: Value::Int(2)
            }]
        );
        assert!(txn_of("txn", &Value::Int(3))
            .unwrap_err()
            .contains("expected a list"));
        assert!(txn_of(
            "txn",
            &Value::List(vec![Value::List(vec![kw("x"), Value::Int(1), Value::Nil])])
        )
        .unwrap_err()
        .contains("unknown micro-op :x"));
    }
}
