//! Clients: how an [`Invocation`] becomes a request to one node and how the reply becomes a
//! completion with Jepsen's meaning: `ok` (it took effect), `fail` (it certainly did not),
//! `info` (unknown: a timeout, a lost connection, an error the database calls indefinite).
//!
//! The mmkv client sends each operation as a transaction of micro-ops to `POST /txn`
//! (`["r",k,null]`, `["w",k,v]`, `["cas",k,[from,to]]`, `["append",k,v]`, `["add",k,e]`,
//! `["incr",k,n]`) and reads the completed array back.

use std::future::Future;
use std::time::Duration;

use schism_histories::{OpType, Value};

use crate::test::config::Workload;
use crate::test::generator::{Invocation, SET_KEY};

/// How an operation ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// `Ok`, `Fail` or `Info` (never `Invoke`).
    pub kind: OpType,
    /// The completion's value: what a read saw; the invocation's value otherwise.
    pub value: Value,
    /// The error the client or the database reported, where any.
    pub error: Option<Value>,
}

impl Completion {
    pub fn ok(value: Value) -> Completion {
        Completion {
            kind: OpType::Ok,
            value,
            error: None,
        }
    }

    pub fn fail(value: Value, error: impl Into<String>) -> Completion {
        Completion {
            kind: OpType::Fail,
            value,
            error: Some(Value::Str(error.into())),
        }
    }

    pub fn info(value: Value, error: impl Into<String>) -> Completion {
        Completion {
            kind: OpType::Info,
            value,
            error: Some(Value::Str(error.into())),
        }
    }
}

/// Something that performs operations against node `node` (0-based). Each logical process
/// calls it with one operation at a time; the client must answer within its own timeout.
pub trait Client: Send + Sync + 'static {
    fn invoke(&self, node: usize, op: &Invocation) -> impl Future<Output = Completion> + Send;
}

/// A client that does no I/O and answers every operation `ok`: the harness benchmark's
/// subject. It yields to the scheduler once per operation, as a real request would, so that
/// all processes take turns rather than one running until the deadline.
#[derive(Clone, Copy, Debug, Default)]
pub struct NullClient;

impl Client for NullClient {
    async fn invoke(&self, _node: usize, op: &Invocation) -> Completion {
        tokio::task::yield_now().await;
        Completion::ok(op.value.clone())
    }
}

/// The reply to a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum TxnReply {
    /// The completed micro-ops.
    Done(Vec<serde_json::Value>),
    /// The database refused, and says the transaction certainly did not take effect.
    Refused(String),
    /// Unknown outcome.
    Unknown(String),
}

/// The client of mmkv's HTTP API.
#[derive(Clone, Debug)]
pub struct MmkvClient {
    http: reqwest::Client,
    /// `http://ADDR/txn` for each node.
    urls: Vec<String>,
    workload: Workload,
}

impl MmkvClient {
    pub fn new(
        addrs: &[String],
        workload: Workload,
        timeout: Duration,
    ) -> Result<MmkvClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(MmkvClient {
            http,
            urls: addrs.iter().map(|a| format!("http://{a}/txn")).collect(),
            workload,
        })
    }

    /// Sends one transaction to a node.
    pub async fn txn(&self, node: usize, micro_ops: &[serde_json::Value]) -> TxnReply {
        let Some(url) = self.urls.get(node) else {
            return TxnReply::Refused(format!("no node {node}"));
        };
        let response = match self.http.post(url).json(micro_ops).send().await {
            Ok(r) => r,
            // A request that never connected certainly did nothing; anything later may have.
            Err(e) if e.is_connect() => return TxnReply::Refused(format!("connect: {e}")),
            Err(e) if e.is_timeout() => return TxnReply::Unknown("timeout".to_string()),
            Err(e) => return TxnReply::Unknown(format!("request: {e}")),
        };
        let body: serde_json::Value = match response.json().await {
            Ok(b) => b,
            Err(e) if e.is_timeout() => return TxnReply::Unknown("timeout".to_string()),
            Err(e) => return TxnReply::Unknown(format!("reply: {e}")),
        };
        match body {
            serde_json::Value::Array(done) => TxnReply::Done(done),
            serde_json::Value::Object(ref m) => {
                let error = m
                    .get("error")
                    .map(|e| match e {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .unwrap_or_else(|| body.to_string());
                if m.get("definite") == Some(&serde_json::Value::Bool(true)) {
                    TxnReply::Refused(error)
                } else {
                    TxnReply::Unknown(error)
                }
            }
            other => TxnReply::Unknown(format!("unexpected reply {other}")),
        }
    }
}

impl Client for MmkvClient {
    async fn invoke(&self, node: usize, op: &Invocation) -> Completion {
        let micro_ops = match to_txn(self.workload, op) {
            Ok(m) => m,
            Err(e) => return Completion::fail(op.value.clone(), e),
        };
        let reply = self.txn(node, &micro_ops).await;
        from_reply(self.workload, op, reply)
    }
}

fn json(v: &Value) -> serde_json::Value {
    v.to_json()
}

fn micro(f: &str, key: serde_json::Value, arg: serde_json::Value) -> serde_json::Value {
    serde_json::Value::Array(vec![f.into(), key, arg])
}

/// The micro-ops that perform an operation of a workload.
pub fn to_txn(workload: Workload, op: &Invocation) -> Result<Vec<serde_json::Value>, String> {
    let bad = || {
        format!(
            "cannot send {} {} for the {} workload",
            op.f,
            op.value,
            workload.as_str()
        )
    };
    let set_key = serde_json::Value::from(SET_KEY);
    Ok(match (workload, op.f.as_str()) {
        (Workload::Register, f @ ("read" | "write" | "cas")) => {
            let [key, arg] = op
                .value
                .as_list()
                .and_then(|l| <&[Value; 2]>::try_from(l).ok())
                .ok_or_else(bad)?;
            let name = match f {
                "read" => "r",
                "write" => "w",
                _ => "cas",
            };
            vec![micro(name, json(key), json(arg))]
        }
        (Workload::ListAppend | Workload::RwRegister, "txn") => {
            let items = op.value.as_list().ok_or_else(bad)?;
            items.iter().map(json).collect()
        }
        (Workload::Set, "add") => vec![micro("add", set_key, json(&op.value))],
        (Workload::Counter, "add") => vec![micro("incr", set_key, json(&op.value))],
        (Workload::Set | Workload::Counter, "read") => {
            vec![micro("r", set_key, serde_json::Value::Null)]
        }
        _ => return Err(bad()),
    })
}

/// The completion of an operation, given the database's reply.
pub fn from_reply(workload: Workload, op: &Invocation, reply: TxnReply) -> Completion {
    let done = match reply {
        TxnReply::Done(done) => done,
        TxnReply::Refused(e) => return Completion::fail(op.value.clone(), e),
        TxnReply::Unknown(e) => return Completion::info(op.value.clone(), e),
    };
    // The one micro-op's completed argument, for the single-op workloads.
    let result = || {
        done.first()
            .and_then(|m| m.as_array())
            .and_then(|m| m.get(2))
            .map(Value::from_json)
    };
    let malformed = || {
        Completion::info(
            op.value.clone(),
            format!("malformed reply {}", serde_json::Value::Array(done.clone())),
        )
    };
    match (workload, op.f.as_str()) {
        (Workload::Register, "read") => {
            let (Some(key), Some(v)) = (op.value.as_list().and_then(|l| l.first()), result())
            else {
                return malformed();
            };
            Completion::ok(Value::List(vec![key.clone(), v]))
        }
        (Workload::Register, "cas") => match result() {
            Some(Value::List(r)) if r.get(2) == Some(&Value::Bool(true)) => {
                Completion::ok(op.value.clone())
            }
            // The comparison failed: the cas certainly did not take effect.
            Some(Value::List(r)) if r.get(2) == Some(&Value::Bool(false)) => {
                Completion::fail(op.value.clone(), "cas-mismatch")
            }
            _ => malformed(),
        },
        (Workload::ListAppend | Workload::RwRegister, _) => {
            Completion::ok(Value::List(done.iter().map(Value::from_json).collect()))
        }
        (Workload::Set, "read") => match result() {
            Some(Value::Nil) => Completion::ok(Value::List(Vec::new())),
            Some(v @ Value::List(_)) => Completion::ok(v),
            _ => malformed(),
        },
        (Workload::Counter, "read") => match result() {
            Some(Value::Nil) => Completion::ok(Value::Int(0)),
            Some(v @ Value::Int(_)) => Completion::ok(v),
            _ => malformed(),
        },
        _ => Completion::ok(op.value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn inv(f: &str, v: serde_json::Value) -> Invocation {
        Invocation::new(f, Value::from_json(&v))
    }

    #[test]
    fn operations_become_micro_ops() {
        let cases = [
            (
                Workload::Register,
                inv("read", json!([3, null])),
                json!([["r", 3, null]]),
            ),
            (
                Workload::Register,
                inv("write", json!([3, 4])),
                json!([["w", 3, 4]]),
            ),
            (
                Workload::Register,
                inv("cas", json!([3, [1, 2]])),
                json!([["cas", 3, [1, 2]]]),
            ),
            (
                Workload::ListAppend,
                inv("txn", json!([["append", 1, 5], ["r", 2, null]])),
                json!([["append", 1, 5], ["r", 2, null]]),
            ),
            (Workload::Set, inv("add", json!(9)), json!([["add", 0, 9]])),
            (
                Workload::Counter,
                inv("add", json!(2)),
                json!([["incr", 0, 2]]),
            ),
            (
                Workload::Counter,
                inv("read", json!(null)),
                json!([["r", 0, null]]),
            ),
        ];
        for (workload, op, expected) in cases {
            let txn = to_txn(workload, &op).unwrap();
            assert_eq!(serde_json::Value::Array(txn), expected);
        }
        assert!(to_txn(Workload::Set, &inv("txn", json!([]))).is_err());
    }

    #[test]
    fn replies_become_completions() {
        let done = |v: serde_json::Value| TxnReply::Done(v.as_array().unwrap().clone());
        let cases = [
            (
                Workload::Register,
                inv("read", json!([3, null])),
                done(json!([["r", 3, 4]])),
                "ok",
                json!([3, 4]),
            ),
            (
                Workload::Register,
                inv("cas", json!([3, [1, 2]])),
                done(json!([["cas", 3, [1, 2, true]]])),
                "ok",
                json!([3, [1, 2]]),
            ),
            (
                Workload::Register,
                inv("cas", json!([3, [1, 2]])),
                done(json!([["cas", 3, [1, 2, false]]])),
                "fail",
                json!([3, [1, 2]]),
            ),
            (
                Workload::Set,
                inv("read", json!(null)),
                done(json!([["r", 0, null]])),
                "ok",
                json!([]),
            ),
            (
                Workload::Set,
                inv("read", json!(null)),
                done(json!([["r", 0, [1, 2]]])),
                "ok",
                json!([1, 2]),
            ),
            (
                Workload::Counter,
                inv("read", json!(null)),
                done(json!([["r", 0, 12]])),
                "ok",
                json!(12),
            ),
            (
                Workload::Counter,
                inv("add", json!(2)),
                TxnReply::Refused("no leader".into()),
                "fail",
                json!(2),
            ),
            (
                Workload::Counter,
                inv("add", json!(2)),
                TxnReply::Unknown("timeout".into()),
                "info",
                json!(2),
            ),
            (
                Workload::Counter,
                inv("read", json!(null)),
                done(json!([["r", 0, "x"]])),
                "info",
                json!(null),
            ),
        ];
        for (workload, op, reply, kind, value) in cases {
            let c = from_reply(workload, &op, reply);
            assert_eq!(
                (c.kind.as_str(), c.value.to_json()),
                (kind, value),
                "{op:?}"
            );
        }
    }
}
