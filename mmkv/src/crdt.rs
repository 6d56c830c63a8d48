//! CRDT replication over causal broadcast (Shapiro, Preguiça, Baquero & Zawirski,
//! "Conflict-free Replicated Data Types", SSS 2011; causal delivery with vector clocks after
//! Birman, Schiper & Stephenson, "Lightweight Causal and Atomic Group Multicast", TOCS 1991).
//!
//! A node applies a transaction to its own state at once and turns it into one *update*: its
//! origin, a sequence number, the origin's vector clock when it was made (its causal
//! dependencies), a Lamport time, and operations on CRDTs. Updates are pushed to the peers and
//! pulled by anti-entropy; a node applies an update only after every update it depends on, and
//! buffers it until then, so every node applies updates in a causal order, each exactly once.
//!
//! The data types, one per key (the first operation on a key fixes its type):
//! - register (`w`): a multi-value register. A write replaces the siblings it has seen; a read
//!   gives the value, or `{"siblings": [...]}` (sorted) when concurrent writes left several.
//! - list (`append`): an append-only sequence. Each element is placed at (Lamport time, origin,
//!   index in the transaction), so concurrent appends all survive, in one converged order.
//! - set (`add`): a grow-only set (an OR-set without removes); a read gives the sorted elements.
//! - counter (`incr`): an operation-based counter; exactly-once causal delivery makes a sum of
//!   increments correct.
//!
//! `cas` is refused with 400: a compare-and-set needs agreement that CRDTs do not provide.
//! Should concurrent operations of different types reach one key, the key reads as the first
//! non-empty of register, list, set, counter, on every node alike.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::net::{Cluster, Pusher};
use crate::ops::{json_cmp, parse_txn, Func};
use crate::wal::Wal;

/// The most updates buffered while waiting for their dependencies; past it, new arrivals are
/// dropped and anti-entropy brings them again later.
const MAX_BUFFERED: usize = 100_000;
/// The most updates one anti-entropy answer carries.
const MAX_SYNC_UPDATES: usize = 5_000;

/// The identity of one operation: its update's origin and sequence number, and its index in
/// the transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dot {
    /// The origin node.
    pub node: String,
    /// The origin's sequence number of the update.
    pub seq: u64,
    /// The operation's index in its transaction.
    pub idx: u32,
}

/// An operation on the CRDT of one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum CrdtOp {
    /// Write a register, replacing the siblings the writer had seen.
    W {
        key: Value,
        key_id: String,
        value: Value,
        overwrites: Vec<Dot>,
    },
    /// Append to a list.
    Append {
        key: Value,
        key_id: String,
        value: Value,
    },
    /// Add to a set.
    Add {
        key: Value,
        key_id: String,
        value: Value,
    },
    /// Add to a counter.
    Incr { key: Value, key_id: String, n: i64 },
}

impl CrdtOp {
    fn key(&self) -> (&Value, &str) {
        match self {
            CrdtOp::W { key, key_id, .. }
            | CrdtOp::Append { key, key_id, .. }
            | CrdtOp::Add { key, key_id, .. }
            | CrdtOp::Incr { key, key_id, .. } => (key, key_id),
        }
    }
}

/// One transaction of one node, as replicated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    /// The node that made it.
    pub origin: String,
    /// Its number among the origin's updates, from 1.
    pub seq: u64,
    /// The origin's Lamport time for it.
    pub lamport: u64,
    /// The origin's vector clock before it: the updates it depends on.
    pub deps: BTreeMap<String, u64>,
    /// Its operations.
    pub ops: Vec<CrdtOp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register,
    List,
    Set,
    Counter,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::Counter => "counter",
        }
    }
}

/// The CRDTs of one key.
#[derive(Debug, Clone, Default, PartialEq)]
struct KeyState {
    reg: BTreeMap<Dot, Value>,
    list: BTreeMap<(u64, String, u32), Value>,
    set: BTreeMap<String, Value>,
    counter: Option<i64>,
}

impl KeyState {
    fn kind(&self) -> Option<Kind> {
        if !self.reg.is_empty() {
            Some(Kind::Register)
        } else if !self.list.is_empty() {
            Some(Kind::List)
        } else if !self.set.is_empty() {
            Some(Kind::Set)
        } else if self.counter.is_some() {
            Some(Kind::Counter)
        } else {
            None
        }
    }

    fn read(&self) -> Value {
        match self.kind() {
            None => Value::Null,
            Some(Kind::Register) => {
                let mut vals: Vec<Value> = self.reg.values().cloned().collect();
                vals.sort_by(json_cmp);
                vals.dedup();
                if vals.len() == 1 {
                    vals.pop().unwrap_or(Value::Null)
                } else {
                    json!({ "siblings": vals })
                }
            }
            Some(Kind::List) => Value::Array(self.list.values().cloned().collect()),
            Some(Kind::Set) => {
                let mut vals: Vec<Value> = self.set.values().cloned().collect();
                vals.sort_by(json_cmp);
                Value::Array(vals)
            }
            Some(Kind::Counter) => Value::from(self.counter.unwrap_or(0)),
        }
    }

    fn apply(&mut self, op: &CrdtOp, origin: &str, seq: u64, lamport: u64, idx: u32) {
        match op {
            CrdtOp::W {
                value, overwrites, ..
            } => {
                for d in overwrites {
                    self.reg.remove(d);
                }
                self.reg.insert(
                    Dot {
                        node: origin.to_string(),
                        seq,
                        idx,
                    },
                    value.clone(),
                );
            }
            CrdtOp::Append { value, .. } => {
                self.list
                    .insert((lamport, origin.to_string(), idx), value.clone());
            }
            CrdtOp::Add { value, .. } => {
                self.set.insert(value.to_string(), value.clone());
            }
            CrdtOp::Incr { n, .. } => {
                // Wrapping addition commutes, so every delivery order gives the same sum.
                self.counter = Some(self.counter.unwrap_or(0).wrapping_add(*n));
            }
        }
    }
}

struct CrdtState {
    keys: BTreeMap<String, KeyState>,
    vc: BTreeMap<String, u64>,
    lamport: u64,
    /// Every delivered update, in delivery order (a causal order), for anti-entropy.
    log: Vec<Arc<Update>>,
    buffer: BTreeMap<(String, u64), Update>,
    wal: Wal,
}

impl CrdtState {
    fn seen(&self, node: &str) -> u64 {
        self.vc.get(node).copied().unwrap_or(0)
    }

    fn deliverable(&self, u: &Update) -> bool {
        self.seen(&u.origin) + 1 == u.seq
            && u.deps
                .iter()
                .all(|(n, s)| *n == u.origin || self.seen(n) >= *s)
    }

    fn deliver(&mut self, u: Update) -> Arc<Update> {
        for (idx, op) in u.ops.iter().enumerate() {
            let (_, key_id) = op.key();
            let ks = self.keys.entry(key_id.to_string()).or_default();
            ks.apply(op, &u.origin, u.seq, u.lamport, idx as u32);
        }
        self.vc.insert(u.origin.clone(), u.seq);
        self.lamport = self.lamport.max(u.lamport);
        let u = Arc::new(u);
        self.log.push(u.clone());
        u
    }

    /// Buffers updates, then delivers every one whose dependencies are met; returns those
    /// delivered, in order.
    fn receive(&mut self, updates: Vec<Update>) -> Vec<Arc<Update>> {
        for u in updates {
            if u.seq > self.seen(&u.origin) && self.buffer.len() < MAX_BUFFERED {
                self.buffer.entry((u.origin.clone(), u.seq)).or_insert(u);
            }
        }
        let mut delivered = Vec::new();
        loop {
            let ready: Vec<(String, u64)> = self
                .buffer
                .iter()
                .filter(|(_, u)| self.deliverable(u))
                .map(|(k, _)| k.clone())
                .collect();
            if ready.is_empty() {
                break;
            }
            for k in ready {
                // Two buffered updates of one origin can both look ready only if they are the
                // same; re-check before delivering each.
                if let Some(u) = self.buffer.remove(&k) {
                    if self.deliverable(&u) {
                        delivered.push(self.deliver(u));
                    } else if u.seq > self.seen(&u.origin) {
                        self.buffer.insert(k, u);
                    }
                }
            }
        }
        // Drop what an earlier delivery made obsolete.
        let vc = self.vc.clone();
        self.buffer
            .retain(|(o, s), _| *s > vc.get(o).copied().unwrap_or(0));
        delivered
    }

    fn missing_for(&self, vc: &BTreeMap<String, u64>) -> Vec<Arc<Update>> {
        let behind = self
            .vc
            .iter()
            .any(|(n, s)| vc.get(n).copied().unwrap_or(0) < *s);
        if !behind {
            return Vec::new();
        }
        self.log
            .iter()
            .filter(|u| u.seq > vc.get(&u.origin).copied().unwrap_or(0))
            .take(MAX_SYNC_UPDATES)
            .cloned()
            .collect()
    }

    fn lag(&self, vc: &BTreeMap<String, u64>) -> u64 {
        self.vc
            .iter()
            .map(|(n, s)| s.saturating_sub(vc.get(n).copied().unwrap_or(0)))
            .sum()
    }
}

#[derive(Serialize, Deserialize)]
struct SyncRequest {
    vc: BTreeMap<String, u64>,
}

#[derive(Serialize, Deserialize)]
struct SyncResponse {
    vc: BTreeMap<String, u64>,
    updates: Vec<Arc<Update>>,
}

/// A CRDT node.
pub struct Crdt {
    cluster: Arc<Cluster>,
    state: Mutex<CrdtState>,
    pusher: Pusher<Arc<Update>>,
    /// The last vector clock heard from each peer, to report how far behind it is.
    peer_vc: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
}

impl Crdt {
    /// Replays the log in `dir` and starts push and anti-entropy.
    pub fn start(
        cluster: Arc<Cluster>,
        dir: &Path,
        anti_entropy: Duration,
    ) -> anyhow::Result<Arc<Self>> {
        let (wal, recs) = Wal::open::<Update>(&dir.join("crdt.jsonl"))?;
        let mut state = CrdtState {
            keys: BTreeMap::new(),
            vc: BTreeMap::new(),
            lamport: 0,
            log: Vec::new(),
            buffer: BTreeMap::new(),
            wal,
        };
        let n = recs.len();
        let delivered = state.receive(recs);
        if delivered.len() != n {
            tracing::warn!(
                logged = n,
                delivered = delivered.len(),
                "some logged updates could not be replayed"
            );
        }
        tracing::info!(updates = n, vc = ?state.vc, "crdt state loaded");
        let pusher = Pusher::start(cluster.clone(), "/internal/crdt/push", 100_000);
        let crdt = Arc::new(Self {
            cluster,
            state: Mutex::new(state),
            pusher,
            peer_vc: Mutex::new(BTreeMap::new()),
        });
        for peer in crdt.cluster.peers.keys() {
            let (crdt, peer) = (crdt.clone(), peer.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(anti_entropy);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    crdt.anti_entropy(&peer).await;
                }
            });
        }
        Ok(crdt)
    }

    fn receive(&self, updates: Vec<Update>) -> Result<usize, String> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| "state lock poisoned".to_string())?;
        let delivered = s.receive(updates);
        let recs: Vec<&Update> = delivered.iter().map(|u| u.as_ref()).collect();
        s.wal
            .append(&recs)
            .map_err(|e| format!("failed to persist: {e}"))?;
        Ok(delivered.len())
    }

    fn note_peer_vc(&self, peer: &str, vc: BTreeMap<String, u64>) {
        if let Ok(mut p) = self.peer_vc.lock() {
            p.insert(peer.to_string(), vc);
        }
    }

    async fn anti_entropy(&self, peer: &str) {
        let vc = match self.state.lock() {
            Ok(s) => s.vc.clone(),
            Err(_) => return,
        };
        match self
            .cluster
            .post::<_, SyncResponse>(peer, "/internal/crdt/sync", &SyncRequest { vc })
            .await
        {
            Ok(resp) => {
                self.note_peer_vc(peer, resp.vc);
                let updates: Vec<Update> =
                    resp.updates.into_iter().map(Arc::unwrap_or_clone).collect();
                match self.receive(updates) {
                    Ok(n) if n > 0 => tracing::info!(peer, delivered = n, "anti-entropy caught up"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(peer, error = %e, "anti-entropy failed to apply"),
                }
            }
            Err(e) => tracing::debug!(peer, error = %e, "anti-entropy failed"),
        }
    }

    /// Routes of the node-to-node traffic.
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/internal/crdt/push", post(push_handler))
            .route("/internal/crdt/sync", post(sync_handler))
            .with_state(self.clone())
    }

    /// The CRDT part of `/status`.
    pub fn status(&self) -> Value {
        let peer_vc = self.peer_vc.lock().map(|p| p.clone()).unwrap_or_default();
        let queued = self.pusher.pending();
        let Ok(s) = self.state.lock() else {
            return json!({});
        };
        let pending: BTreeMap<String, Value> = self
            .cluster
            .peers
            .keys()
            .map(|p| {
                let behind = peer_vc.get(p).map(|vc| s.lag(vc));
                (
                    p.clone(),
                    json!({"queued": queued.get(p), "behind": behind}),
                )
            })
            .collect();
        json!({
            "vc": s.vc,
            "lamport": s.lamport,
            "buffered": s.buffer.len(),
            "keys": s.keys.len(),
            "pending": pending,
            "dropped_updates": self.pusher.dropped(),
            "blocked": self.cluster.blocked(),
        })
    }

    /// Runs a transaction on the local state, logs it, and queues it for the peers.
    pub async fn txn(&self, body: Bytes) -> Response {
        let ops = match parse_txn(&body) {
            Ok(ops) => ops,
            Err(e) => return ApiError::bad_request(e).into_response(),
        };
        let res = {
            let Ok(mut s) = self.state.lock() else {
                return ApiError::unavailable("state lock poisoned").into_response();
            };
            match self.prepare(&s, &ops) {
                Err(e) => return ApiError::bad_request(e).into_response(),
                Ok((completed, None)) => return Json(Value::Array(completed)).into_response(),
                Ok((completed, Some(update))) => {
                    let u = s.deliver(update);
                    s.wal.append(&[u.as_ref()]).map(|()| (completed, u))
                }
            }
        };
        match res {
            Ok((completed, u)) => {
                self.pusher.push(&[u]);
                Json(Value::Array(completed)).into_response()
            }
            Err(e) => ApiError::indefinite(format!("failed to persist: {e}")).into_response(),
        }
    }

    /// Evaluates a transaction against a copy of the keys it touches: the completed
    /// micro-operations and the update to deliver (none for a read-only transaction).
    fn prepare(
        &self,
        s: &CrdtState,
        ops: &[crate::ops::MicroOp],
    ) -> Result<(Vec<Value>, Option<Update>), String> {
        let me = &self.cluster.me;
        let seq = s.seen(me) + 1;
        let lamport = s.lamport + 1;
        let mut overlay: BTreeMap<String, KeyState> = BTreeMap::new();
        let mut crdt_ops = Vec::new();
        let mut completed = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let ks = overlay
                .entry(op.key_id.clone())
                .or_insert_with(|| s.keys.get(&op.key_id).cloned().unwrap_or_default());
            let want = match op.f {
                Func::R => None,
                Func::Cas => return Err(format!("micro-op {i}: cas is not supported by crdt")),
                Func::W => Some(Kind::Register),
                Func::Append => Some(Kind::List),
                Func::Add => Some(Kind::Set),
                Func::Incr => Some(Kind::Counter),
            };
            if let (Some(want), Some(have)) = (want, ks.kind()) {
                if want != have {
                    return Err(format!(
                        "micro-op {i}: {} on key {}: key holds a {}",
                        op.f.name(),
                        op.key,
                        have.name()
                    ));
                }
            }
            let (key, key_id) = (op.key.clone(), op.key_id.clone());
            let (result, cop) = match op.f {
                Func::R | Func::Cas => (ks.read(), None),
                Func::W => {
                    let overwrites = ks.reg.keys().cloned().collect();
                    (
                        op.arg.clone(),
                        Some(CrdtOp::W {
                            key,
                            key_id,
                            value: op.arg.clone(),
                            overwrites,
                        }),
                    )
                }
                Func::Append => (
                    op.arg.clone(),
                    Some(CrdtOp::Append {
                        key,
                        key_id,
                        value: op.arg.clone(),
                    }),
                ),
                Func::Add => (
                    op.arg.clone(),
                    Some(CrdtOp::Add {
                        key,
                        key_id,
                        value: op.arg.clone(),
                    }),
                ),
                Func::Incr => {
                    let n = op
                        .arg
                        .as_i64()
                        .ok_or_else(|| format!("micro-op {i}: incr: expected an integer"))?;
                    if ks.counter.unwrap_or(0).checked_add(n).is_none() {
                        return Err(format!(
                            "micro-op {i}: incr on key {}: counter overflow",
                            op.key
                        ));
                    }
                    (op.arg.clone(), Some(CrdtOp::Incr { key, key_id, n }))
                }
            };
            if let Some(cop) = cop {
                ks.apply(&cop, me, seq, lamport, crdt_ops.len() as u32);
                crdt_ops.push(cop);
            }
            completed.push(json!([op.f.name(), op.key, result]));
        }
        if crdt_ops.is_empty() {
            return Ok((completed, None));
        }
        let update = Update {
            origin: me.clone(),
            seq,
            lamport,
            deps: s.vc.clone(),
            ops: crdt_ops,
        };
        Ok((completed, Some(update)))
    }
}

async fn push_handler(
    State(crdt): State<Arc<Crdt>>,
    headers: HeaderMap,
    Json(updates): Json<Vec<Update>>,
) -> Response {
    if !crdt.cluster.admit(&headers) {
        return ApiError::unavailable("blocked").into_response();
    }
    match crdt.receive(updates) {
        Ok(n) => Json(json!({"delivered": n})).into_response(),
        Err(e) => ApiError::indefinite(e).into_response(),
    }
}

async fn sync_handler(
    State(crdt): State<Arc<Crdt>>,
    headers: HeaderMap,
    Json(req): Json<SyncRequest>,
) -> Response {
    if !crdt.cluster.admit(&headers) {
        return ApiError::unavailable("blocked").into_response();
    }
    let from = headers
        .get(crate::net::FROM_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let resp = match crdt.state.lock() {
        Ok(s) => SyncResponse {
            vc: s.vc.clone(),
            updates: s.missing_for(&req.vc),
        },
        Err(_) => return ApiError::unavailable("state lock poisoned").into_response(),
    };
    crdt.note_peer_vc(&from, req.vc);
    Json(resp).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(dir: &Path, name: &str) -> CrdtState {
        let (wal, _) = Wal::open::<Update>(&dir.join(name)).unwrap();
        CrdtState {
            keys: BTreeMap::new(),
            vc: BTreeMap::new(),
            lamport: 0,
            log: Vec::new(),
            buffer: BTreeMap::new(),
            wal,
        }
    }

    fn upd(origin: &str, seq: u64, lamport: u64, deps: &[(&str, u64)], ops: Vec<CrdtOp>) -> Update {
        Update {
            origin: origin.to_string(),
            seq,
            lamport,
            deps: deps.iter().map(|(n, s)| (n.to_string(), *s)).collect(),
            ops,
        }
    }

    fn app(v: i64) -> CrdtOp {
        CrdtOp::Append {
            key: json!("l"),
            key_id: "\"l\"".into(),
            value: json!(v),
        }
    }

    #[test]
    fn updates_wait_for_their_dependencies_and_converge_in_any_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let a1 = upd("a", 1, 1, &[], vec![app(1)]);
        let b1 = upd("b", 1, 2, &[("a", 1)], vec![app(2)]);
        let c1 = upd("c", 1, 1, &[], vec![app(3)]);
        let a2 = upd("a", 2, 3, &[("a", 1), ("b", 1)], vec![app(4)]);
        let orders = [
            vec![a1.clone(), b1.clone(), c1.clone(), a2.clone()],
            vec![a2.clone(), b1.clone(), c1.clone(), a1.clone()],
            vec![c1.clone(), a2.clone(), a1.clone(), b1.clone()],
        ];
        for (i, order) in orders.into_iter().enumerate() {
            let mut s = state(dir.path(), &format!("s{i}"));
            let mut delivered = Vec::new();
            for u in order {
                delivered.extend(
                    s.receive(vec![u.clone(), u])
                        .into_iter()
                        .map(|u| (u.origin.clone(), u.seq)),
                );
            }
            assert_eq!(delivered.len(), 4, "each update delivered once");
            let pos = |o: &str, q: u64| {
                delivered
                    .iter()
                    .position(|d| *d == (o.to_string(), q))
                    .unwrap()
            };
            assert!(pos("a", 1) < pos("b", 1) && pos("b", 1) < pos("a", 2));
            assert_eq!(s.keys["\"l\""].read(), json!([1, 3, 2, 4]));
        }
    }

    #[test]
    fn concurrent_register_writes_leave_sorted_siblings_until_overwritten() {
        let mut ks = KeyState::default();
        let w = |v: i64, overwrites: Vec<Dot>| CrdtOp::W {
            key: json!(1),
            key_id: "1".into(),
            value: json!(v),
            overwrites,
        };
        ks.apply(&w(9, vec![]), "a", 1, 1, 0);
        ks.apply(&w(3, vec![]), "b", 1, 1, 0);
        assert_eq!(ks.read(), json!({"siblings": [3, 9]}));
        let seen: Vec<Dot> = ks.reg.keys().cloned().collect();
        ks.apply(&w(5, seen), "c", 1, 2, 0);
        assert_eq!(ks.read(), json!(5));
    }
}
