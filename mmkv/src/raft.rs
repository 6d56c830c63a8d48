//! Consensus replication: every transaction is one entry of a Raft log (Ongaro & Ousterhout,
//! "In Search of an Understandable Consensus Algorithm", USENIX ATC 2014), run by `openraft`.
//!
//! Any node accepts a transaction; a follower forwards it over HTTP to the leader it knows. The
//! state machine applies the whole transaction when its entry commits, reads included, so every
//! answer reflects one total order of transactions: strict serializability. No read is served
//! from local state or a lease.
//!
//! Durability: the log is an fsynced JSON-lines file (see [`crate::wal`]), the vote an atomically
//! replaced file, and the state machine is persisted by snapshots (also atomically replaced)
//! plus the log after them, so that `kill -9` loses no acknowledged write: openraft only
//! acknowledges an entry once a majority has fsynced it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use openraft::error::{
    ClientWriteError, InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError,
    Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Config, Entry, EntryPayload, LogId, RaftLogReader, RaftSnapshotBuilder,
    SnapshotMeta, SnapshotPolicy, StorageError, StorageIOError, StoredMembership, Vote,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::net::{Cluster, FROM_HEADER};
use crate::ops::{apply_plain, parse_txn, MicroOp};
use crate::wal::{write_atomic, Wal};

/// The header a node sets on a transaction it forwards to the leader, so that the leader never
/// forwards it again (a request is forwarded at most once).
pub const FORWARDED_HEADER: &str = "x-mmkv-forwarded";

/// A transaction: the application data of one log entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Txn {
    /// The micro-operations, validated before proposing.
    pub ops: Vec<MicroOp>,
}

/// What applying a transaction gave: the completed micro-operations, or why it had no effect.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TxnOutcome {
    /// The completed micro-operations, when the transaction applied.
    pub completed: Option<Vec<Value>>,
    /// The reason it did not apply (a value of the wrong type).
    pub error: Option<String>,
}

openraft::declare_raft_types!(
    /// The Raft type configuration of mmkv.
    pub TypeConfig:
        D = Txn,
        R = TxnOutcome,
        NodeId = u64,
        Node = BasicNode,
        Entry = Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
);

type NodeId = u64;
type StoreResult<T> = Result<T, StorageError<NodeId>>;

/// A record of the log file.
#[derive(Serialize, Deserialize)]
enum LogRecord {
    /// An entry appended.
    Entry(Entry<TypeConfig>),
    /// Entries from this index on were removed (they conflicted with the leader's).
    Truncate(u64),
    /// Entries up to this log id were removed (they are in a snapshot).
    Purge(LogId<NodeId>),
}

/// Work for the log writer thread.
enum WriterMsg {
    /// Write and fsync, then tell openraft through the callback.
    Append(Vec<LogRecord>, LogFlushed<TypeConfig>),
    /// Write and fsync, then answer.
    Sync(Vec<LogRecord>, std::sync::mpsc::Sender<std::io::Result<()>>),
    /// Replace the file, then answer.
    Rewrite(Vec<LogRecord>, std::sync::mpsc::Sender<std::io::Result<()>>),
}

/// The most appends one fsync covers.
const GROUP_COMMIT_MAX: usize = 1024;

/// Owns the log file on a thread of its own and commits appends in groups: every append that
/// arrived while the previous fsync ran shares the next one. Appends reach the file in the
/// order openraft issued them, and each is acknowledged only after its fsync.
fn run_writer(mut wal: Wal, rx: std::sync::mpsc::Receiver<WriterMsg>) {
    let mut next = None;
    loop {
        let msg = match next.take() {
            Some(m) => m,
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => return,
            },
        };
        match msg {
            WriterMsg::Append(recs, cb) => {
                let (mut recs, mut cbs) = (recs, vec![cb]);
                while cbs.len() < GROUP_COMMIT_MAX {
                    match rx.try_recv() {
                        Ok(WriterMsg::Append(r, cb)) => {
                            recs.extend(r);
                            cbs.push(cb);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let res = wal.append(&recs);
                for cb in cbs {
                    cb.log_io_completed(match &res {
                        Ok(()) => Ok(()),
                        Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
                    });
                }
                if let Err(e) = res {
                    tracing::error!(error = %e, "failed to write the raft log");
                }
            }
            WriterMsg::Sync(recs, reply) => {
                let _ = reply.send(wal.append(&recs));
            }
            WriterMsg::Rewrite(recs, reply) => {
                let _ = reply.send(wal.rewrite(&recs));
            }
        }
    }
}

#[derive(Debug)]
struct LogInner {
    dir: PathBuf,
    writer: std::sync::mpsc::Sender<WriterMsg>,
    /// Records sent to the log file since it was last rewritten.
    records: usize,
    log: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
}

impl LogInner {
    /// Has the writer handle `recs` after everything sent before, and waits for it.
    #[expect(
        clippy::result_large_err,
        reason = "openraft's own error type, returned as openraft expects"
    )]
    fn sync(
        &self,
        msg: fn(Vec<LogRecord>, std::sync::mpsc::Sender<std::io::Result<()>>) -> WriterMsg,
        recs: Vec<LogRecord>,
    ) -> StoreResult<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        let stopped = || io_err(std::io::Error::other("the log writer stopped"));
        self.writer.send(msg(recs, tx)).map_err(|_| stopped())?;
        rx.recv().map_err(|_| stopped())?.map_err(io_err)
    }
}

/// The Raft log and vote, kept in memory and in fsynced files.
#[derive(Debug, Clone)]
pub struct LogStore {
    inner: Arc<Mutex<LogInner>>,
}

fn io_err<E: std::error::Error + 'static>(e: E) -> StorageError<NodeId> {
    StorageIOError::<NodeId>::write_logs(&e).into()
}

fn poisoned() -> StorageError<NodeId> {
    io_err(std::io::Error::other("storage lock poisoned"))
}

impl LogStore {
    /// Opens the log in `dir`, replaying and compacting its file.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let (mut wal, recs) = Wal::open::<LogRecord>(&dir.join("raft-log.jsonl"))?;
        let mut log = BTreeMap::new();
        let mut last_purged = None;
        for r in recs {
            match r {
                LogRecord::Entry(e) => {
                    log.insert(e.log_id.index, e);
                }
                LogRecord::Truncate(i) => {
                    log.split_off(&i);
                }
                LogRecord::Purge(id) => {
                    log = log.split_off(&(id.index + 1));
                    last_purged = Some(id);
                }
            }
        }
        let mut compact: Vec<LogRecord> = last_purged.map(LogRecord::Purge).into_iter().collect();
        compact.extend(log.values().cloned().map(LogRecord::Entry));
        wal.rewrite(&compact)?;
        let vote = match std::fs::read(dir.join("vote.json")) {
            Ok(b) => Some(serde_json::from_slice(&b).map_err(std::io::Error::other)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        tracing::info!(entries = log.len(), ?last_purged, ?vote, "raft log loaded");
        let records = wal.records;
        let (writer, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("raft-log-writer".into())
            .spawn(move || run_writer(wal, rx))?;
        let inner = LogInner {
            dir: dir.to_path_buf(),
            writer,
            records,
            log,
            last_purged,
            vote,
        };
        Ok(Self {
            inner: Arc::new(Mutex::new(inner)),
        })
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> StoreResult<Vec<Entry<TypeConfig>>> {
        let inner = self.inner.lock().map_err(|_| poisoned())?;
        Ok(inner.log.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StoreResult<LogState<TypeConfig>> {
        let inner = self.inner.lock().map_err(|_| poisoned())?;
        let last = inner
            .log
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(inner.last_purged);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StoreResult<()> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        let bytes = serde_json::to_vec(vote).map_err(io_err)?;
        write_atomic(&inner.dir.join("vote.json"), &bytes)
            .map_err(|e| StorageIOError::<NodeId>::write_vote(&e))?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> StoreResult<Option<Vote<NodeId>>> {
        Ok(self.inner.lock().map_err(|_| poisoned())?.vote)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StoreResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let recs: Vec<LogRecord> = entries.iter().cloned().map(LogRecord::Entry).collect();
        inner.records += recs.len();
        // The entries are readable (for replication) at once, but the callback fires only
        // after the writer's fsync: openraft counts this node towards a quorum only then.
        for e in entries {
            inner.log.insert(e.log_id.index, e);
        }
        inner
            .writer
            .send(WriterMsg::Append(recs, callback))
            .map_err(|_| io_err(std::io::Error::other("the log writer stopped")))
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        inner.log.split_off(&log_id.index);
        inner.records += 1;
        inner.sync(WriterMsg::Sync, vec![LogRecord::Truncate(log_id.index)])
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StoreResult<()> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        let rest = inner.log.split_off(&(log_id.index + 1));
        inner.log = rest;
        inner.last_purged = Some(log_id);
        inner.records += 1;
        // Keep the file from growing without bound: rewrite it when most of it is dead. The
        // writer handles messages in order, so the rewrite lands after every earlier append,
        // and it holds every entry appended so far (all are in `inner.log`).
        if inner.records > 2 * inner.log.len() + 10_000 {
            let mut compact = vec![LogRecord::Purge(log_id)];
            compact.extend(inner.log.values().cloned().map(LogRecord::Entry));
            inner.records = compact.len();
            inner.sync(WriterMsg::Rewrite, compact)
        } else {
            inner.sync(WriterMsg::Sync, vec![LogRecord::Purge(log_id)])
        }
    }
}

/// The replicated data: applied log id, membership, and the key-value map (key id → value).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SmData {
    last_applied: Option<LogId<NodeId>>,
    last_membership: StoredMembership<NodeId, BasicNode>,
    kv: BTreeMap<String, Value>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: SmData,
}

#[derive(Debug)]
struct SmInner {
    dir: PathBuf,
    sm: SmData,
    snapshot: Option<(SnapshotMeta<NodeId, BasicNode>, Vec<u8>)>,
    snapshots_built: u64,
}

/// The state machine: the key-value map, rebuilt on start from the last snapshot and then the
/// committed log entries after it.
#[derive(Debug, Clone)]
pub struct StateMachineStore {
    inner: Arc<Mutex<SmInner>>,
}

impl StateMachineStore {
    /// Opens the state machine in `dir`, loading its last snapshot.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let (sm, snapshot) = match std::fs::read(dir.join("snapshot.json")) {
            Ok(b) => {
                let f: SnapshotFile = serde_json::from_slice(&b).map_err(std::io::Error::other)?;
                let bytes = serde_json::to_vec(&f.data).map_err(std::io::Error::other)?;
                (f.data, Some((f.meta, bytes)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (SmData::default(), None),
            Err(e) => return Err(e),
        };
        tracing::info!(last_applied = ?sm.last_applied, keys = sm.kv.len(), "state machine loaded");
        let inner = SmInner {
            dir: dir.to_path_buf(),
            sm,
            snapshot,
            snapshots_built: 0,
        };
        Ok(Self {
            inner: Arc::new(Mutex::new(inner)),
        })
    }
}

#[expect(
    clippy::result_large_err,
    reason = "openraft's own error type, returned as openraft expects"
)]
fn save_snapshot(
    dir: &Path,
    meta: &SnapshotMeta<NodeId, BasicNode>,
    data: &SmData,
) -> StoreResult<()> {
    let file = SnapshotFile {
        meta: meta.clone(),
        data: data.clone(),
    };
    let bytes = serde_json::to_vec(&file).map_err(io_err)?;
    write_atomic(&dir.join("snapshot.json"), &bytes)
        .map_err(|e| StorageIOError::<NodeId>::write_snapshot(Some(meta.signature()), &e).into())
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> StoreResult<Snapshot<TypeConfig>> {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        inner.snapshots_built += 1;
        let data = inner.sm.clone();
        let bytes = serde_json::to_vec(&data).map_err(io_err)?;
        let snapshot_id = match data.last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, inner.snapshots_built),
            None => format!("empty-{}", inner.snapshots_built),
        };
        let meta = SnapshotMeta {
            last_log_id: data.last_applied,
            last_membership: data.last_membership.clone(),
            snapshot_id,
        };
        save_snapshot(&inner.dir, &meta, &data)?;
        inner.snapshot = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> StoreResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>)> {
        let inner = self.inner.lock().map_err(|_| poisoned())?;
        Ok((inner.sm.last_applied, inner.sm.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StoreResult<Vec<TxnOutcome>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + Send,
        I::IntoIter: Send,
    {
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        let sm = &mut inner.sm;
        let mut out = Vec::new();
        for entry in entries {
            sm.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => out.push(TxnOutcome::default()),
                EntryPayload::Normal(txn) => {
                    let kv = &sm.kv;
                    match apply_plain(&txn.ops, |k| kv.get(k).cloned()) {
                        Ok(applied) => {
                            for (key_id, (_, v)) in applied.writes {
                                sm.kv.insert(key_id, v);
                            }
                            out.push(TxnOutcome {
                                completed: Some(applied.completed),
                                error: None,
                            });
                        }
                        Err(e) => out.push(TxnOutcome {
                            completed: None,
                            error: Some(e),
                        }),
                    }
                }
                EntryPayload::Membership(m) => {
                    sm.last_membership = StoredMembership::new(Some(entry.log_id), m);
                    out.push(TxnOutcome::default());
                }
            }
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StoreResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StoreResult<()> {
        let bytes = snapshot.into_inner();
        let data: SmData = serde_json::from_slice(&bytes).map_err(|e| {
            StorageError::from(StorageIOError::<NodeId>::read_snapshot(
                Some(meta.signature()),
                &e,
            ))
        })?;
        let mut inner = self.inner.lock().map_err(|_| poisoned())?;
        save_snapshot(&inner.dir, meta, &data)?;
        inner.sm = data;
        inner.snapshot = Some((meta.clone(), bytes));
        tracing::info!(snapshot = %meta, "installed snapshot from the leader");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> StoreResult<Option<Snapshot<TypeConfig>>> {
        let inner = self.inner.lock().map_err(|_| poisoned())?;
        Ok(inner.snapshot.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(bytes.clone())),
        }))
    }
}

/// Raft RPCs over HTTP with JSON bodies.
#[derive(Debug, Clone)]
pub struct Network {
    cluster: Arc<Cluster>,
}

/// A connection to one peer: an address and the shared HTTP client.
#[derive(Debug)]
pub struct Conn {
    cluster: Arc<Cluster>,
    target: NodeId,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Conn;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Conn {
        Conn {
            cluster: self.cluster.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

impl Conn {
    async fn send<Req, Resp, E>(
        &self,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        if let Some(name) = self.cluster.name_of_addr(&self.addr) {
            if self.cluster.is_blocked(&name) {
                let e = std::io::Error::other("blocked");
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
        }
        let resp = self
            .cluster
            .client
            .post(format!("http://{}{}", self.addr, path))
            .header(FROM_HEADER, &self.cluster.me)
            .timeout(option.hard_ttl())
            .json(req)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    RPCError::Unreachable(Unreachable::new(&e))
                } else {
                    RPCError::Network(NetworkError::new(&e))
                }
            })?;
        let res: Result<Resp, RaftError<NodeId, E>> = resp
            .json()
            .await
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        res.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Conn {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send("/raft/append", &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.send("/raft/snapshot", &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send("/raft/vote", &rpc, &option).await
    }
}

/// A Raft node of mmkv.
pub struct RaftEngine {
    raft: openraft::Raft<TypeConfig>,
    cluster: Arc<Cluster>,
    /// Raft node id → node name.
    names: BTreeMap<NodeId, String>,
    members: BTreeMap<NodeId, BasicNode>,
    timeout: Duration,
}

impl RaftEngine {
    /// Opens the durable state in `dir` and starts the Raft node; a snapshot is taken every
    /// `snapshot_logs` entries, and the log before it purged. Node ids map to Raft ids by
    /// their position (from 1) in the sorted list of all ids, which every node computes alike.
    pub async fn start(
        cluster: Arc<Cluster>,
        dir: &Path,
        timeout: Duration,
        snapshot_logs: u64,
    ) -> anyhow::Result<Self> {
        let ids = cluster.all_ids();
        let mut names = BTreeMap::new();
        let mut members = BTreeMap::new();
        let mut my_id = 0;
        for (i, name) in ids.iter().enumerate() {
            let id = i as u64 + 1;
            names.insert(id, name.clone());
            let addr = if *name == cluster.me {
                my_id = id;
                cluster.my_addr.clone()
            } else {
                cluster.peers.get(name).cloned().unwrap_or_default()
            };
            members.insert(id, BasicNode { addr });
        }
        let config = Config {
            cluster_name: "mmkv".to_string(),
            // openraft waits a lease (election_timeout_max) plus a random election timeout
            // after the last heartbeat before it elects: a dead leader is replaced in about
            // 1.2-1.6 s, and loopback or LAN heartbeats never come 400 ms late in practice.
            heartbeat_interval: 100,
            election_timeout_min: 400,
            election_timeout_max: 800,
            // A snapshot chunk (up to 3 MiB of JSON) needs more than the default 200 ms on a
            // busy two-core machine.
            install_snapshot_timeout: 2_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(snapshot_logs.max(1)),
            max_in_snapshot_log_to_keep: (snapshot_logs / 2).min(1_000),
            ..Default::default()
        }
        .validate()?;
        let log = LogStore::open(dir)?;
        let sm = StateMachineStore::open(dir)?;
        let network = Network {
            cluster: cluster.clone(),
        };
        let raft = openraft::Raft::new(my_id, Arc::new(config), network, log, sm).await?;
        tracing::info!(raft_id = my_id, ?names, "raft node started");
        Ok(Self {
            raft,
            cluster,
            names,
            members,
            timeout,
        })
    }

    /// Forms the cluster if this node has never been part of one. Every node does this with
    /// the same membership, which openraft documents as safe.
    pub async fn initialize(&self) {
        match self.raft.is_initialized().await {
            Ok(true) => {}
            Ok(false) => match self.raft.initialize(self.members.clone()).await {
                Ok(()) => tracing::info!("initialized the cluster membership"),
                Err(e) => tracing::info!(error = %e, "cluster already initialized"),
            },
            Err(e) => tracing::error!(error = %e, "raft stopped"),
        }
    }

    /// Routes of the Raft RPCs.
    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/raft/append", post(append_handler))
            .route("/raft/vote", post(vote_handler))
            .route("/raft/snapshot", post(snapshot_handler))
            .with_state(self.clone())
    }

    /// Whether a leader is known.
    pub fn healthy(&self) -> bool {
        self.raft.metrics().borrow().current_leader.is_some()
    }

    /// The Raft part of `/status`.
    pub fn status(&self) -> Value {
        let m = self.raft.metrics().borrow().clone();
        let name = |id: Option<NodeId>| id.and_then(|i| self.names.get(&i).cloned());
        json!({
            "role": format!("{:?}", m.state).to_lowercase(),
            "term": m.current_term,
            "leader": name(m.current_leader),
            "last_log_index": m.last_log_index,
            "last_applied": m.last_applied.map(|l| l.index),
            "snapshot": m.snapshot.map(|l| l.index),
        })
    }

    /// Runs a transaction: propose it here, or forward it to the leader.
    pub async fn txn(&self, headers: &HeaderMap, body: Bytes) -> Response {
        let ops = match parse_txn(&body) {
            Ok(ops) => ops,
            Err(e) => return ApiError::bad_request(e).into_response(),
        };
        let forwarded = headers.contains_key(FORWARDED_HEADER);
        let res = tokio::time::timeout(self.timeout, self.raft.client_write(Txn { ops })).await;
        let err = match res {
            Err(_) => ApiError::timeout(
                "timed out waiting for the transaction to commit; it may still take effect",
            ),
            Ok(Ok(resp)) => {
                return match (resp.data.completed, resp.data.error) {
                    (Some(done), _) => Json(Value::Array(done)).into_response(),
                    (None, Some(e)) => ApiError::bad_request(e).into_response(),
                    (None, None) => {
                        ApiError::indefinite("empty state machine response").into_response()
                    }
                }
            }
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                // Not proposed here (or proposed and then truncated by a new leader, which
                // means it can never commit): the forward is the only attempt.
                if forwarded {
                    ApiError::unavailable("not the leader (request already forwarded once)")
                } else {
                    match f.leader_node {
                        Some(node)
                            if self
                                .cluster
                                .name_of_addr(&node.addr)
                                .is_some_and(|n| self.cluster.is_blocked(&n)) =>
                        {
                            ApiError::unavailable("the leader is unreachable (blocked)")
                        }
                        Some(node) => return self.forward(&node.addr, body).await,
                        None => ApiError::unavailable("no leader known"),
                    }
                }
            }
            Ok(Err(RaftError::APIError(e))) => ApiError::indefinite(e.to_string()),
            Ok(Err(RaftError::Fatal(e))) => ApiError::indefinite(format!("raft stopped: {e}")),
        };
        err.into_response()
    }

    async fn forward(&self, addr: &str, body: Bytes) -> Response {
        let res = self
            .cluster
            .client
            .post(format!("http://{addr}/txn"))
            .header(FORWARDED_HEADER, &self.cluster.me)
            .header("content-type", "application/json")
            .timeout(self.timeout + Duration::from_millis(500))
            .body(body)
            .send()
            .await;
        let resp = match res {
            Ok(r) => r,
            // A refused connection means the leader never saw the request.
            Err(e) if e.is_connect() => {
                return ApiError::unavailable(format!(
                    "forwarding to the leader at {addr} failed: {e}"
                ))
                .into_response()
            }
            Err(e) => {
                return ApiError::timeout(format!("forwarding to the leader at {addr} failed: {e}"))
                    .into_response()
            }
        };
        let status =
            StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        match resp.bytes().await {
            Ok(b) => (status, [("content-type", "application/json")], b).into_response(),
            Err(e) => ApiError::timeout(format!("reading the leader's answer failed: {e}"))
                .into_response(),
        }
    }
}

/// Admits a Raft RPC, or refuses it (503, which the sender sees as a network error) when its
/// sender is blocked.
fn admit(engine: &RaftEngine, headers: &HeaderMap) -> Result<(), StatusCode> {
    if engine.cluster.admit(headers) {
        Ok(())
    } else {
        Err(StatusCode::SERVICE_UNAVAILABLE)
    }
}

async fn append_handler(
    State(engine): State<Arc<RaftEngine>>,
    headers: HeaderMap,
    Json(req): Json<AppendEntriesRequest<TypeConfig>>,
) -> Result<Json<Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>>, StatusCode> {
    admit(&engine, &headers)?;
    Ok(Json(engine.raft.append_entries(req).await))
}

async fn vote_handler(
    State(engine): State<Arc<RaftEngine>>,
    headers: HeaderMap,
    Json(req): Json<VoteRequest<NodeId>>,
) -> Result<Json<Result<VoteResponse<NodeId>, RaftError<NodeId>>>, StatusCode> {
    admit(&engine, &headers)?;
    Ok(Json(engine.raft.vote(req).await))
}

async fn snapshot_handler(
    State(engine): State<Arc<RaftEngine>>,
    headers: HeaderMap,
    Json(req): Json<InstallSnapshotRequest<TypeConfig>>,
) -> Result<
    Json<Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>>,
    StatusCode,
> {
    admit(&engine, &headers)?;
    Ok(Json(engine.raft.install_snapshot(req).await))
}
