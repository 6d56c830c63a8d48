//! The cluster as one node sees it: its own id, its peers' addresses, an HTTP client with
//! bounded timeouts, and when each peer was last heard from.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The header naming the node that sent an internal request.
pub const FROM_HEADER: &str = "x-mmkv-from";

/// A node's view of its cluster.
#[derive(Debug)]
pub struct Cluster {
    /// This node's id.
    pub me: String,
    /// This node's listen address.
    pub my_addr: String,
    /// Peer id → `host:port`.
    pub peers: BTreeMap<String, String>,
    /// The client for every node-to-node request.
    pub client: reqwest::Client,
    /// The request timeout of `client`.
    pub timeout: Duration,
    contact: Mutex<BTreeMap<String, Instant>>,
    blocked: Mutex<BTreeSet<String>>,
}

impl Cluster {
    /// Builds the view; the client times out every request after `timeout`.
    pub fn new(
        me: String,
        my_addr: String,
        peers: BTreeMap<String, String>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(Duration::from_millis(500))
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Self {
            me,
            my_addr,
            peers,
            client,
            timeout,
            contact: Mutex::new(BTreeMap::new()),
            blocked: Mutex::new(BTreeSet::new()),
        })
    }

    /// All node ids, this one included, sorted.
    pub fn all_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.peers.keys().cloned().collect();
        ids.push(self.me.clone());
        ids.sort();
        ids.dedup();
        ids
    }

    /// Simulates a partition from inside: traffic to and from the given peers is dropped
    /// until the set is replaced (an empty set heals). Tests use it where network namespaces
    /// are not at hand.
    pub fn set_blocked(&self, peers: BTreeSet<String>) {
        if let Ok(mut b) = self.blocked.lock() {
            *b = peers;
        }
    }

    /// The peers whose traffic is dropped.
    pub fn blocked(&self) -> BTreeSet<String> {
        self.blocked.lock().map(|b| b.clone()).unwrap_or_default()
    }

    /// Whether traffic with `peer` is dropped.
    pub fn is_blocked(&self, peer: &str) -> bool {
        self.blocked
            .lock()
            .map(|b| b.contains(peer))
            .unwrap_or(false)
    }

    /// Checks an incoming node-to-node request: records the contact, or refuses it when its
    /// sender is blocked.
    pub fn admit(&self, headers: &axum::http::HeaderMap) -> bool {
        let from = headers
            .get(FROM_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if self.is_blocked(from) {
            return false;
        }
        self.touch(from);
        true
    }

    /// The peer listening on `addr`.
    pub fn name_of_addr(&self, addr: &str) -> Option<String> {
        self.peers
            .iter()
            .find(|(_, a)| *a == addr)
            .map(|(n, _)| n.clone())
    }

    /// Records that `peer` was heard from just now.
    pub fn touch(&self, peer: &str) {
        if !self.peers.contains_key(peer) {
            return;
        }
        if let Ok(mut c) = self.contact.lock() {
            c.insert(peer.to_string(), Instant::now());
        }
    }

    /// Peer id → milliseconds since it was last heard from (`null` if never).
    pub fn contact_ages_ms(&self) -> BTreeMap<String, Option<u64>> {
        let c = self.contact.lock().map(|c| c.clone()).unwrap_or_default();
        self.peers
            .keys()
            .map(|p| (p.clone(), c.get(p).map(|t| t.elapsed().as_millis() as u64)))
            .collect()
    }

    /// Posts `body` as JSON to `path` on `peer` and decodes the JSON answer.
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        peer: &str,
        path: &str,
        body: &B,
    ) -> Result<R, String> {
        let addr = self
            .peers
            .get(peer)
            .ok_or_else(|| format!("unknown peer {peer}"))?;
        if self.is_blocked(peer) {
            return Err(format!("{peer}: blocked"));
        }
        let resp = self
            .client
            .post(format!("http://{addr}{path}"))
            .header(FROM_HEADER, &self.me)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("{peer}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("{peer}: status {}", resp.status()));
        }
        let r = resp.json::<R>().await.map_err(|e| format!("{peer}: {e}"))?;
        self.touch(peer);
        Ok(r)
    }
}

/// Asynchronous push of updates to every peer through bounded queues, one sender task per
/// peer that posts batches. A full queue or a failed post drops the updates: anti-entropy
/// repairs what push loses.
pub struct Pusher<T> {
    queues: BTreeMap<String, (tokio::sync::mpsc::Sender<T>, Arc<AtomicUsize>)>,
    dropped: Arc<AtomicU64>,
}

/// The most updates in one push request.
const PUSH_BATCH: usize = 512;

impl<T: Serialize + Clone + Send + Sync + 'static> Pusher<T> {
    /// Starts one sender task per peer, posting to `path`, each with a queue of `capacity`.
    pub fn start(cluster: Arc<Cluster>, path: &'static str, capacity: usize) -> Self {
        let dropped = Arc::new(AtomicU64::new(0));
        let mut queues = BTreeMap::new();
        for peer in cluster.peers.keys() {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<T>(capacity.max(1));
            let pending = Arc::new(AtomicUsize::new(0));
            queues.insert(peer.clone(), (tx, pending.clone()));
            let (cluster, peer, dropped) = (cluster.clone(), peer.clone(), dropped.clone());
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut batch = vec![first];
                    while batch.len() < PUSH_BATCH {
                        match rx.try_recv() {
                            Ok(x) => batch.push(x),
                            Err(_) => break,
                        }
                    }
                    pending.fetch_sub(batch.len(), Ordering::Relaxed);
                    let n = batch.len();
                    if let Err(e) = cluster
                        .post::<_, serde_json::Value>(&peer, path, &batch)
                        .await
                    {
                        dropped.fetch_add(n as u64, Ordering::Relaxed);
                        tracing::debug!(peer = %peer, error = %e, updates = n, "push failed; anti-entropy will repair");
                    }
                }
            });
        }
        Self { queues, dropped }
    }

    /// Queues updates for every peer.
    pub fn push(&self, items: &[T]) {
        for (tx, pending) in self.queues.values() {
            for item in items {
                if tx.try_send(item.clone()).is_ok() {
                    pending.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Updates queued per peer.
    pub fn pending(&self) -> BTreeMap<String, usize> {
        self.queues
            .iter()
            .map(|(p, (_, n))| (p.clone(), n.load(Ordering::Relaxed)))
            .collect()
    }

    /// Updates dropped (queue full or push failed) since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Parses `n2=host:port,n3=host:port`.
pub fn parse_peers(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .ok_or_else(|| format!("peer {part:?}: expected ID=HOST:PORT"))?;
        if id.is_empty() || addr.is_empty() {
            return Err(format!("peer {part:?}: expected ID=HOST:PORT"));
        }
        if out.insert(id.to_string(), addr.to_string()).is_some() {
            return Err(format!("peer {id:?} given twice"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse() {
        let p = parse_peers("n2=127.0.0.1:1, n3=h:2").unwrap();
        assert_eq!(p.get("n3").map(String::as_str), Some("h:2"));
        assert!(parse_peers("n2").is_err());
        assert!(parse_peers("a=1,a=2").is_err());
        assert!(parse_peers("").unwrap().is_empty());
    }
}
