//! mmkv: a multi-master replicated key-value store, the reference subject of schism.
//!
//! Every node serves the same HTTP/JSON API and accepts writes. How a write reaches the other
//! nodes is the replication strategy, chosen per cluster:
//!
//! - [`raft`]: consensus. One log, one order, strict serializability (Ongaro & Ousterhout 2014).
//! - [`lww`]: last-writer-wins. Each node applies at once and gossips; per key, the greatest
//!   (wall-clock timestamp, node id) wins, so skewed clocks and concurrent writes lose
//!   acknowledged writes silently (as Cassandra does).
//! - [`crdt`]: conflict-free replicated data types (Shapiro et al., "Conflict-free Replicated
//!   Data Types", SSS 2011) over causal broadcast with vector clocks: concurrent writes all
//!   survive and every node converges.
//!
//! The toolkit never links this crate: it runs the `mmkv` binary and talks HTTP to it.

pub mod crdt;
pub mod error;
pub mod lww;
pub mod net;
pub mod ops;
pub mod raft;
pub mod wal;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::net::Cluster;

/// The largest accepted transaction body.
pub const MAX_TXN_BODY_BYTES: usize = 1 << 20;
/// The largest accepted node-to-node body (anti-entropy carries whole states).
pub const MAX_INTERNAL_BODY_BYTES: usize = 256 << 20;

/// How the cluster replicates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Replication {
    /// Consensus through Raft.
    Raft,
    /// Last-writer-wins by wall-clock timestamp.
    Lww,
    /// CRDTs over causal broadcast.
    Crdt,
}

/// Command-line arguments of the `mmkv` binary.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "mmkv",
    version,
    about = "A multi-master replicated key-value store"
)]
pub struct Args {
    /// This node's id (any string).
    #[arg(long)]
    pub id: String,
    /// The address to serve the API and node-to-node traffic on, e.g. 127.0.0.1:7000.
    #[arg(long)]
    pub listen: SocketAddr,
    /// The other nodes: `n2=HOST:PORT,n3=HOST:PORT`.
    #[arg(long, default_value = "")]
    pub peers: String,
    /// The replication strategy.
    #[arg(long, value_enum)]
    pub replication: Replication,
    /// Where this node keeps its durable state.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Timeout of a request to another node, and of waiting for a Raft commit.
    #[arg(long, default_value_t = 2000)]
    pub request_timeout_ms: u64,
    /// Raft: take a snapshot every this many log entries, and purge the log before it.
    #[arg(long, default_value_t = 20_000)]
    pub snapshot_logs: u64,
    /// Period of anti-entropy (lww, crdt).
    #[arg(long, default_value_t = 1000)]
    pub anti_entropy_ms: u64,
}

/// The replication engine of a node.
pub enum Engine {
    /// Consensus.
    Raft(Arc<raft::RaftEngine>),
    /// Last-writer-wins.
    Lww(Arc<lww::Lww>),
    /// CRDTs.
    Crdt(Arc<crdt::Crdt>),
}

/// A running node.
pub struct Node {
    cluster: Arc<Cluster>,
    engine: Engine,
    replication: Replication,
}

/// Starts a node and serves until the process is killed.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let peers = net::parse_peers(&args.peers).map_err(anyhow::Error::msg)?;
    if peers.contains_key(&args.id) {
        anyhow::bail!("--peers names this node's own id {:?}", args.id);
    }
    std::fs::create_dir_all(&args.data_dir)?;
    let timeout = Duration::from_millis(args.request_timeout_ms.max(1));
    let cluster = Arc::new(Cluster::new(
        args.id.clone(),
        args.listen.to_string(),
        peers,
        timeout,
    )?);
    let anti_entropy = Duration::from_millis(args.anti_entropy_ms.max(10));
    let engine = match args.replication {
        Replication::Raft => Engine::Raft(Arc::new(
            raft::RaftEngine::start(cluster.clone(), &args.data_dir, timeout, args.snapshot_logs)
                .await?,
        )),
        Replication::Lww => Engine::Lww(lww::Lww::start(
            cluster.clone(),
            &args.data_dir,
            anti_entropy,
        )?),
        Replication::Crdt => Engine::Crdt(crdt::Crdt::start(
            cluster.clone(),
            &args.data_dir,
            anti_entropy,
        )?),
    };
    let internal = match &engine {
        Engine::Raft(r) => r.routes(),
        Engine::Lww(l) => l.routes(),
        Engine::Crdt(c) => c.routes(),
    };
    let node = Arc::new(Node {
        cluster,
        engine,
        replication: args.replication,
    });
    let app = Router::new()
        .route("/health", get(health))
        .route("/status", get(status))
        .route("/admin/block", post(block))
        .route(
            "/txn",
            post(txn).layer(DefaultBodyLimit::max(MAX_TXN_BODY_BYTES)),
        )
        .with_state(node.clone())
        .merge(internal.layer(DefaultBodyLimit::max(MAX_INTERNAL_BODY_BYTES)));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(id = %args.id, listen = %args.listen, replication = ?args.replication, "serving");
    if let Engine::Raft(r) = &node.engine {
        let r = r.clone();
        tokio::spawn(async move { r.initialize().await });
    }
    axum::serve(listener, app).await?;
    Ok(())
}

async fn health(State(node): State<Arc<Node>>) -> Response {
    let ok = match &node.engine {
        Engine::Raft(r) => r.healthy(),
        Engine::Lww(_) | Engine::Crdt(_) => true,
    };
    if ok {
        (StatusCode::OK, Json(json!({"ok": true}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ok": false, "error": "no leader known"})),
        )
            .into_response()
    }
}

async fn status(State(node): State<Arc<Node>>) -> Json<Value> {
    let mut v = json!({
        "id": node.cluster.me,
        "replication": format!("{:?}", node.replication).to_lowercase(),
        "peers": node.cluster.contact_ages_ms().into_iter()
            .map(|(p, age)| (p, json!({"last_contact_ms": age})))
            .collect::<serde_json::Map<String, Value>>(),
    });
    let extra = match &node.engine {
        Engine::Raft(r) => r.status(),
        Engine::Lww(l) => l.status(),
        Engine::Crdt(c) => c.status(),
    };
    if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
        m.extend(e);
    }
    Json(v)
}

/// `POST /admin/block` with a JSON array of peer ids: drop all traffic with them until the next
/// call (`[]` heals). A partition simulated inside the node, for tests without namespaces.
async fn block(State(node): State<Arc<Node>>, body: Bytes) -> Response {
    match serde_json::from_slice::<std::collections::BTreeSet<String>>(&body) {
        Ok(peers) => {
            tracing::info!(?peers, "blocking traffic");
            node.cluster.set_blocked(peers.clone());
            Json(json!({"blocked": peers})).into_response()
        }
        Err(e) => error::ApiError::bad_request(format!("expected a JSON array of peer ids: {e}"))
            .into_response(),
    }
}

async fn txn(State(node): State<Arc<Node>>, headers: HeaderMap, body: Bytes) -> Response {
    match &node.engine {
        Engine::Raft(r) => r.txn(&headers, body).await,
        Engine::Lww(l) => l.txn(body).await,
        Engine::Crdt(c) => c.txn(body).await,
    }
}
