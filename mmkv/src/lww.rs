//! Last-writer-wins replication, as Cassandra and many multi-master stores do it.
//!
//! A node applies a transaction to its own state at once, stamps every key it writes with
//! (wall-clock time in nanoseconds, node id), and pushes the new versions to its peers through
//! bounded queues; every `--anti-entropy-ms` it also exchanges its whole state with each peer.
//! Merging keeps, per key, the version with the greatest (timestamp, node id).
//!
//! What follows, on purpose: a node whose clock is behind loses its writes to any version
//! stamped later, even one written before it in real time; a list, set or counter is one value,
//! so concurrent appends, adds or increments on two nodes keep only one of them; `cas` compares
//! the local value only. Every one of these is an acknowledged write silently lost. The clock
//! is read through libc (`SystemTime::now` calls `clock_gettime`), so libfaketime skews it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
use crate::ops::{apply_plain, parse_txn};
use crate::wal::Wal;

/// One version of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// The key as the client sent it.
    pub key: Value,
    /// The value.
    pub value: Value,
    /// Wall-clock nanoseconds since the Unix epoch on the writing node.
    pub ts_ns: u64,
    /// The writing node.
    pub node: String,
}

impl Version {
    fn beats(&self, other: &Version) -> bool {
        (self.ts_ns, &self.node) > (other.ts_ns, &other.node)
    }
}

/// A key id and one of its versions: the unit of replication and of the log.
pub type Update = (String, Version);

struct LwwState {
    map: BTreeMap<String, Version>,
    wal: Wal,
}

impl LwwState {
    /// Merges versions, returns those that won (and so changed the state).
    fn merge(&mut self, updates: Vec<Update>) -> Vec<Update> {
        let mut changed = Vec::new();
        for (k, v) in updates {
            let wins = match self.map.get(&k) {
                Some(cur) => v.beats(cur),
                None => true,
            };
            if wins {
                self.map.insert(k.clone(), v.clone());
                changed.push((k, v));
            }
        }
        changed
    }

    fn persist(&mut self, changed: &[Update]) -> std::io::Result<()> {
        self.wal.append(changed)?;
        if self.wal.records > 4 * self.map.len() + 100_000 {
            let all: Vec<Update> = self
                .map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.wal.rewrite(&all)?;
        }
        Ok(())
    }
}

/// A last-writer-wins node.
pub struct Lww {
    cluster: Arc<Cluster>,
    state: Mutex<LwwState>,
    pusher: Pusher<Update>,
}

/// The wall clock in nanoseconds since the Unix epoch, read through libc.
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Lww {
    /// Loads the state from `dir` and starts push and anti-entropy.
    pub fn start(
        cluster: Arc<Cluster>,
        dir: &Path,
        anti_entropy: Duration,
    ) -> anyhow::Result<Arc<Self>> {
        let (wal, recs) = Wal::open::<Update>(&dir.join("lww.jsonl"))?;
        let mut state = LwwState {
            map: BTreeMap::new(),
            wal,
        };
        state.merge(recs);
        let all: Vec<Update> = state
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        state.wal.rewrite(&all)?;
        tracing::info!(keys = state.map.len(), "lww state loaded");
        let pusher = Pusher::start(cluster.clone(), "/internal/lww/merge", 100_000);
        let lww = Arc::new(Self {
            cluster,
            state: Mutex::new(state),
            pusher,
        });
        for peer in lww.cluster.peers.keys() {
            let (lww, peer) = (lww.clone(), peer.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(anti_entropy);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    lww.anti_entropy(&peer).await;
                }
            });
        }
        Ok(lww)
    }

    fn snapshot(&self) -> Vec<Update> {
        match self.state.lock() {
            Ok(s) => s.map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Merges remote versions and logs those that won.
    fn merge(&self, updates: Vec<Update>) -> Result<usize, String> {
        let mut s = self
            .state
            .lock()
            .map_err(|_| "state lock poisoned".to_string())?;
        let changed = s.merge(updates);
        s.persist(&changed)
            .map_err(|e| format!("failed to persist: {e}"))?;
        Ok(changed.len())
    }

    async fn anti_entropy(&self, peer: &str) {
        let mine = self.snapshot();
        match self
            .cluster
            .post::<_, Vec<Update>>(peer, "/internal/lww/sync", &mine)
            .await
        {
            Ok(theirs) => match self.merge(theirs) {
                Ok(n) if n > 0 => tracing::info!(peer, updated = n, "anti-entropy repaired keys"),
                Ok(_) => {}
                Err(e) => tracing::error!(peer, error = %e, "anti-entropy merge failed"),
            },
            Err(e) => tracing::debug!(peer, error = %e, "anti-entropy failed"),
        }
    }

    /// Routes of the node-to-node traffic.
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/internal/lww/merge", post(merge_handler))
            .route("/internal/lww/sync", post(sync_handler))
            .with_state(self.clone())
    }

    /// The LWW part of `/status`.
    pub fn status(&self) -> Value {
        let keys = self.state.lock().map(|s| s.map.len()).unwrap_or(0);
        json!({
            "keys": keys,
            "pending": self.pusher.pending(),
            "dropped_updates": self.pusher.dropped(),
            "blocked": self.cluster.blocked(),
        })
    }

    /// Runs a transaction on the local state and queues its writes for the peers.
    pub async fn txn(&self, body: Bytes) -> Response {
        let ops = match parse_txn(&body) {
            Ok(ops) => ops,
            Err(e) => return ApiError::bad_request(e).into_response(),
        };
        let res = {
            let Ok(mut s) = self.state.lock() else {
                return ApiError::unavailable("state lock poisoned").into_response();
            };
            let applied = match apply_plain(&ops, |k| s.map.get(k).map(|v| v.value.clone())) {
                Ok(a) => a,
                Err(e) => return ApiError::bad_request(e).into_response(),
            };
            let now = now_ns();
            let updates: Vec<Update> = applied
                .writes
                .into_iter()
                .map(|(k, (key, value))| {
                    // Successive writes of one node to one key keep their order even when
                    // they fall in the same nanosecond; a write never beats a later-stamped
                    // version of another node, whatever this node's clock says.
                    let ts_ns = match s.map.get(&k) {
                        Some(cur) if cur.node == self.cluster.me && cur.ts_ns >= now => {
                            cur.ts_ns + 1
                        }
                        _ => now,
                    };
                    (
                        k,
                        Version {
                            key,
                            value,
                            ts_ns,
                            node: self.cluster.me.clone(),
                        },
                    )
                })
                .collect();
            let changed = s.merge(updates);
            match s.persist(&changed) {
                Ok(()) => Ok((applied.completed, changed)),
                Err(e) => Err(e),
            }
        };
        match res {
            Ok((completed, changed)) => {
                self.pusher.push(&changed);
                Json(Value::Array(completed)).into_response()
            }
            // The state changed in memory but may not be on disk: the write may survive.
            Err(e) => ApiError::indefinite(format!("failed to persist: {e}")).into_response(),
        }
    }
}

async fn merge_handler(
    State(lww): State<Arc<Lww>>,
    headers: HeaderMap,
    Json(updates): Json<Vec<Update>>,
) -> Response {
    if !lww.cluster.admit(&headers) {
        return ApiError::unavailable("blocked").into_response();
    }
    match lww.merge(updates) {
        Ok(n) => Json(json!({"merged": n})).into_response(),
        Err(e) => ApiError::indefinite(e).into_response(),
    }
}

async fn sync_handler(
    State(lww): State<Arc<Lww>>,
    headers: HeaderMap,
    Json(updates): Json<Vec<Update>>,
) -> Response {
    if !lww.cluster.admit(&headers) {
        return ApiError::unavailable("blocked").into_response();
    }
    if let Err(e) = lww.merge(updates) {
        return ApiError::indefinite(e).into_response();
    }
    Json(lww.snapshot()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys_of(updates: &[Update]) -> BTreeSet<String> {
        updates.iter().map(|(k, _)| k.clone()).collect()
    }

    fn v(value: i64, ts_ns: u64, node: &str) -> Version {
        Version {
            key: json!("k"),
            value: json!(value),
            ts_ns,
            node: node.to_string(),
        }
    }

    #[test]
    fn greatest_timestamp_then_node_id_wins_in_any_merge_order() {
        let dir = tempfile::tempdir().unwrap();
        let versions = [
            v(1, 10, "n2"),
            v(2, 10, "n1"),
            v(3, 9, "n3"),
            v(4, 11, "n0"),
        ];
        let mut finals = BTreeSet::new();
        for rotation in 0..versions.len() {
            let (wal, _) = Wal::open::<Update>(&dir.path().join(format!("w{rotation}"))).unwrap();
            let mut s = LwwState {
                map: BTreeMap::new(),
                wal,
            };
            let mut order = versions.to_vec();
            order.rotate_left(rotation);
            for x in order {
                s.merge(vec![("k".to_string(), x)]);
            }
            assert_eq!(
                keys_of(&s.map.clone().into_iter().collect::<Vec<_>>()).len(),
                1
            );
            finals.insert(s.map["k"].value.to_string());
        }
        assert_eq!(finals, BTreeSet::from(["4".to_string()]));
    }
}
