//! The logical processes: `concurrency` tokio tasks, each invoking one operation at a time
//! against its node, recording the invocation before the request and the completion after.
//!
//! A process whose operation ended `info` may still have it in flight, so it never invokes
//! again: the task continues under a fresh process id, the old one plus `concurrency`
//! (Jepsen's rule), and talks to that process's node (process p → node p mod N).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use schism_histories::{Op, OpType, Process, Value};
use smol_str::SmolStr;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::test::client::{Client, Completion};
use crate::test::config::Workload;
use crate::test::generator::{Generator, Invocation, RateLimit, SET_KEY};
use crate::test::store::Recorder;

/// What the main phase needs besides its client.
#[derive(Clone, Debug)]
pub struct LoadParams {
    pub concurrency: usize,
    /// Node names; process p talks to node p mod N.
    pub nodes: Vec<SmolStr>,
    pub seed: u64,
    pub rate_per_s: f64,
    /// When the main phase ends.
    pub deadline: Instant,
    /// A bound on one operation beyond the client's own timeout: past it, the operation is
    /// recorded `info`.
    pub op_deadline: Duration,
}

/// Runs one operation as process `process` against node `node`, recording both halves.
pub async fn perform<C: Client>(
    client: &C,
    recorder: &Recorder,
    process: i64,
    node: usize,
    node_name: &SmolStr,
    op: &Invocation,
    op_deadline: Duration,
) -> Completion {
    let mut invoke = Op::new(
        OpType::Invoke,
        Process::Client(process),
        "",
        op.value.clone(),
    );
    invoke.f = op.f.clone();
    invoke.node = Some(node_name.clone());
    recorder.record(invoke);
    let done = match tokio::time::timeout(op_deadline, client.invoke(node, op)).await {
        Ok(done) => done,
        Err(_) => Completion::info(op.value.clone(), "timeout"),
    };
    let mut complete = Op::new(done.kind, Process::Client(process), "", done.value.clone());
    complete.f = op.f.clone();
    complete.node = Some(node_name.clone());
    complete.error = done.error.clone();
    recorder.record(complete);
    done
}

/// Runs the main phase until the deadline or until `stop` turns true, and returns the next
/// process id that no process has used.
pub async fn run_load<C: Client>(
    client: Arc<C>,
    generator: Arc<Generator>,
    recorder: Arc<Recorder>,
    params: LoadParams,
    stop: watch::Receiver<bool>,
) -> i64 {
    let rate = Arc::new(RateLimit::new(params.rate_per_s));
    let next_free = Arc::new(AtomicI64::new(params.concurrency as i64));
    let params = Arc::new(params);
    let mut tasks = tokio::task::JoinSet::new();
    for slot in 0..params.concurrency {
        let (client, generator, recorder, rate, params, next_free) = (
            client.clone(),
            generator.clone(),
            recorder.clone(),
            rate.clone(),
            params.clone(),
            next_free.clone(),
        );
        let mut stop = stop.clone();
        tasks.spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(
                params.seed ^ (slot as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let mut process = slot as i64;
            let n = params.nodes.len().max(1);
            loop {
                if *stop.borrow() || Instant::now() >= params.deadline {
                    break;
                }
                if let Some(start) = rate.next_start(&mut rng) {
                    if start >= params.deadline {
                        break;
                    }
                    tokio::select! {
                        () = tokio::time::sleep_until(start) => {}
                        _ = stop.changed() => break,
                    }
                }
                let op = generator.next(&mut rng);
                let node = process.rem_euclid(n as i64) as usize;
                let Some(node_name) = params.nodes.get(node) else {
                    break;
                };
                let done = perform(
                    &*client,
                    &recorder,
                    process,
                    node,
                    node_name,
                    &op,
                    params.op_deadline,
                )
                .await;
                if done.kind == OpType::Info {
                    process += params.concurrency as i64;
                    next_free.fetch_max(process + 1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    next_free.load(Ordering::Relaxed)
}

/// The final reads: each node's view of every key the workload touched, after the faults
/// healed, the nodes read concurrently. Each read is retried (as a fresh process after an
/// `info`) until it succeeds or `attempts` run out. Replicas that converge by anti-entropy
/// need a moment after the heal, so whole rounds of reads are repeated, a second apart, until
/// every node answers the same or `rounds` run out, and no round starts after `budget` has
/// passed (every read stays in the history). Returns the last round: node → key → value for
/// the reads that succeeded.
///
/// Node i's reads are made by processes `first_process + i`, then `+ N` after each `info`,
/// so that no two nodes' readers share a process id.
#[allow(clippy::too_many_arguments)] // One call site; a struct would only rename these.
pub async fn final_reads<C: Client>(
    client: Arc<C>,
    generator: Arc<Generator>,
    recorder: Arc<Recorder>,
    nodes: &[SmolStr],
    first_process: i64,
    op_deadline: Duration,
    attempts: usize,
    rounds: usize,
    budget: Duration,
) -> BTreeMap<String, BTreeMap<Value, Value>> {
    let give_up = Instant::now() + budget;
    let reads = Arc::new(generator.final_reads());
    let n = nodes.len() as i64;
    let mut processes: Vec<i64> = (0..n).map(|i| first_process + i).collect();
    let mut seen: BTreeMap<String, BTreeMap<Value, Value>> = BTreeMap::new();
    for round in 0..rounds.max(1) {
        if round > 0 {
            if Instant::now() + Duration::from_secs(1) >= give_up {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        seen.clear();
        let mut tasks = tokio::task::JoinSet::new();
        for (node, name) in nodes.iter().enumerate() {
            let (client, generator, recorder, reads) = (
                client.clone(),
                generator.clone(),
                recorder.clone(),
                reads.clone(),
            );
            let (name, mut process) = (name.clone(), processes.get(node).copied().unwrap_or(0));
            tasks.spawn(async move {
                let mut view = BTreeMap::new();
                for op in reads.iter() {
                    for attempt in 0..attempts {
                        if attempt > 0 {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        let done =
                            perform(&*client, &recorder, process, node, &name, op, op_deadline)
                                .await;
                        if done.kind == OpType::Info {
                            process += n;
                        }
                        if done.kind == OpType::Ok {
                            let (key, value) = match generator.workload() {
                                Workload::Register => match done.value.as_list() {
                                    Some([k, v]) => (k.clone(), v.clone()),
                                    _ => continue,
                                },
                                _ => (Value::Int(SET_KEY), done.value),
                            };
                            view.insert(key, value);
                            break;
                        }
                    }
                }
                (node, name, process, view)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((node, name, process, view)) = joined else {
                continue;
            };
            if let Some(p) = processes.get_mut(node) {
                *p = process;
            }
            if !view.is_empty() {
                seen.insert(name.to_string(), view);
            }
        }
        if agree(&seen, nodes.len()) {
            break;
        }
    }
    seen
}

/// Whether all `n` nodes answered and answered alike.
fn agree(seen: &BTreeMap<String, BTreeMap<Value, Value>>, n: usize) -> bool {
    let mut views = seen.values();
    match views.next() {
        Some(first) => seen.len() == n && views.all(|v| v == first),
        None => n == 0,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use schism_histories::History;

    use super::*;
    use crate::test::client::NullClient;

    /// Answers `info` to every third operation, to exercise process retirement.
    struct Flaky(AtomicUsize);

    impl Client for Flaky {
        async fn invoke(&self, _node: usize, op: &Invocation) -> Completion {
            if self.0.fetch_add(1, Ordering::Relaxed) % 3 == 2 {
                Completion::info(op.value.clone(), "timeout")
            } else {
                Completion::ok(op.value.clone())
            }
        }
    }

    async fn load<C: Client>(client: C, workload: Workload) -> (Vec<Op>, i64) {
        let recorder = Arc::new(Recorder::new(None, true));
        let (_tx, stop) = watch::channel(false);
        let params = LoadParams {
            concurrency: 4,
            nodes: vec!["n1".into(), "n2".into()],
            seed: 5,
            rate_per_s: 2000.0,
            deadline: Instant::now() + Duration::from_millis(200),
            op_deadline: Duration::from_secs(1),
        };
        let next = run_load(
            Arc::new(client),
            Arc::new(Generator::new(workload)),
            recorder.clone(),
            params,
            stop,
        )
        .await;
        (recorder.finish().unwrap(), next)
    }

    #[tokio::test]
    async fn histories_pair_and_info_processes_retire() {
        let (ops, next_free) = load(Flaky(AtomicUsize::new(0)), Workload::Register).await;
        assert!(ops.len() > 20, "only {} ops", ops.len());
        let paired = History::new(ops).pair().expect("a well-formed history");
        assert!(paired
            .pairs()
            .iter()
            .any(|p| p.outcome == schism_histories::Outcome::Info));
        assert!(next_free > 4);
        // Process p always talks to node p mod 2.
        for op in &paired.history().ops {
            if let Process::Client(p) = op.process {
                let expected = if p % 2 == 0 { "n1" } else { "n2" };
                assert_eq!(op.node.as_deref(), Some(expected));
            }
        }
    }

    #[tokio::test]
    async fn the_stop_signal_ends_the_load() {
        let recorder = Arc::new(Recorder::new(None, false));
        let (tx, stop) = watch::channel(false);
        let params = LoadParams {
            concurrency: 2,
            nodes: vec!["n1".into()],
            seed: 1,
            rate_per_s: 10.0,
            deadline: Instant::now() + Duration::from_secs(3600),
            op_deadline: Duration::from_secs(1),
        };
        let handle = tokio::spawn(run_load(
            Arc::new(NullClient),
            Arc::new(Generator::new(Workload::Counter)),
            recorder,
            params,
            stop,
        ));
        tx.send(true).unwrap();
        assert_eq!(handle.await.unwrap(), 2);
    }

    #[tokio::test]
    async fn final_reads_collect_each_nodes_view() {
        let recorder = Arc::new(Recorder::new(None, true));
        let generator = Arc::new(Generator::new(Workload::Set));
        let nodes: Vec<SmolStr> = vec!["n1".into(), "n2".into()];
        let seen = final_reads(
            Arc::new(NullClient),
            generator,
            recorder.clone(),
            &nodes,
            10,
            Duration::from_secs(1),
            3,
            3,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(seen.len(), 2);
        assert_eq!(seen["n2"][&Value::Int(0)], Value::Nil);
    }

    /// The rate limit holds the total rate across processes near its target; measured on
    /// tokio's paused clock, so no wall-clock time is asserted.
    #[tokio::test(start_paused = true)]
    async fn the_total_rate_is_limited() {
        let recorder = Arc::new(Recorder::new(None, false));
        let (_tx, stop) = watch::channel(false);
        let params = LoadParams {
            concurrency: 10,
            nodes: vec!["n1".into()],
            seed: 9,
            rate_per_s: 100.0,
            deadline: Instant::now() + Duration::from_secs(20),
            op_deadline: Duration::from_secs(1),
        };
        run_load(
            Arc::new(NullClient),
            Arc::new(Generator::new(Workload::Register)),
            recorder.clone(),
            params,
            stop,
        )
        .await;
        let ops = recorder.counts().ok;
        assert!(
            (1800..=2200).contains(&ops),
            "{ops} operations in 20 s at 100/s"
        );
    }
}
