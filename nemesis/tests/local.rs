//! Root tests of the local control layer: real namespaces, iptables, signals, libfaketime.
//!
//! Each test owns a distinct cluster number so that they run in parallel without colliding.
//! Without root (or without the `faketime` package) a test prints why and skips, except under
//! `CI=true`, where a missing prerequisite fails it.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use schism_nemesis::local::{self, LIBFAKETIME};
use schism_nemesis::partition::grudge_from_components;
use schism_nemesis::{cleanup_cluster, Error, Fault, LocalCluster, Nemesis, NodeSpec, Shape};

const PORT: u16 = 8000;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether the prerequisites are present; skips (or, in CI, fails) with a reason if not.
fn ready(test: &str, need_root: bool, need_faketime: bool) -> bool {
    let mut missing = Vec::new();
    // SAFETY: geteuid has no preconditions.
    if need_root && unsafe { libc::geteuid() } != 0 {
        missing.push("root (network namespaces need CAP_NET_ADMIN)");
    }
    if need_root && !Path::new("/usr/sbin/iptables-restore").exists() {
        missing.push("iptables-restore (Debian package iptables)");
    }
    if need_faketime && !Path::new(LIBFAKETIME).exists() {
        missing.push("libfaketime (Debian package faketime)");
    }
    if missing.is_empty() {
        return true;
    }
    let reason = missing.join(", ");
    assert!(!in_ci(), "{test}: missing {reason} with CI=true");
    eprintln!("skipping {test}: missing {reason}");
    false
}

/// Builds cluster `k`, first removing what an earlier, killed run of the same test left.
async fn create(k: u8, nodes: usize) -> LocalCluster {
    cleanup_cluster(k).await.unwrap();
    LocalCluster::create(k, nodes).await.unwrap()
}

fn root_connect(ip: Ipv4Addr) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from((ip, PORT)), Duration::from_millis(500)).is_ok()
}

/// Whether `from`'s namespace can open a TCP connection to `to` within half a second.
async fn connects(cluster: &LocalCluster, from: &str, to: &str) -> bool {
    let ip = cluster.ip(to).unwrap();
    // bash's /dev/tcp starts in milliseconds, where python3 takes half a second.
    let script = format!("exec 3<>/dev/tcp/{ip}/{PORT}");
    cluster
        .exec_in(from, &["timeout", "0.5", "bash", "-c", &script])
        .await
        .is_ok()
}

/// Every ordered pair of nodes that can connect, all pairs tried at once.
async fn links(cluster: &Arc<LocalCluster>) -> BTreeSet<(String, String)> {
    let mut tasks = tokio::task::JoinSet::new();
    for a in cluster.node_names() {
        for b in cluster.node_names() {
            if a != b {
                let cluster = Arc::clone(cluster);
                let a = a.clone();
                tasks.spawn(async move {
                    let ok = connects(&cluster, &a, &b).await;
                    (a, b, ok)
                });
            }
        }
    }
    let mut links = BTreeSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (a, b, ok) = joined.unwrap();
        if ok {
            links.insert((a, b));
        }
    }
    links
}

fn all_links(nodes: &[String]) -> BTreeSet<(String, String)> {
    let mut links = BTreeSet::new();
    for a in nodes {
        for b in nodes {
            if a != b {
                links.insert((a.clone(), b.clone()));
            }
        }
    }
    links
}

async fn spawn_listeners(cluster: &LocalCluster) {
    for node in cluster.node_names() {
        let ip = cluster.ip(&node).unwrap().to_string();
        let spec = NodeSpec::new("python3")
            .args(["-m", "http.server", "--bind", &ip, &PORT.to_string()])
            .cwd(cluster.scratch_dir());
        cluster.spawn(&node, spec).await.unwrap();
    }
    for node in cluster.node_names() {
        let ip = cluster.ip(&node).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !root_connect(ip) {
            assert!(
                Instant::now() < deadline,
                "{node} never listened on {ip}:{PORT}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s
                .rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next());
            !matches!(state, Some(Some('Z' | 'X')))
        })
        .unwrap_or(false)
}

fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn namespaces(k: u8) -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&format!("sch{k}-")))
        .map(str::to_string)
        .collect()
}

fn link_exists(name: &str) -> bool {
    std::process::Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn faketime_files(pid: u32) -> Vec<String> {
    [
        format!("faketime_shm_{pid}"),
        format!("sem.faketime_sem_{pid}"),
    ]
    .into_iter()
    .filter(|f| Path::new("/dev/shm").join(f).exists())
    .collect()
}

/// Nothing of cluster `k` is left: namespaces, uplink, processes, faketime files, scratch dir.
fn assert_gone(k: u8, pids: &[u32]) {
    assert_eq!(namespaces(k), Vec::<String>::new());
    assert!(!link_exists(&local::uplink(k)), "sch{k}-up still exists");
    for pid in pids {
        assert!(!alive(*pid), "pid {pid} still runs");
        assert_eq!(faketime_files(*pid), Vec::<String>::new());
    }
    assert!(!local::scratch_dir(k).exists());
}

#[tokio::test]
async fn partitions_loss_and_heal_in_namespaces() {
    if !ready("partitions_loss_and_heal_in_namespaces", true, false) {
        return;
    }
    let k = 9;
    let cluster = Arc::new(create(k, 3).await);
    assert!(local::blackhole_present().await.unwrap());
    assert_eq!(cluster.node_names(), ["n1", "n2", "n3"]);
    assert_eq!(cluster.ip("n2").unwrap(), Ipv4Addr::new(192, 168, 249, 12));
    assert!(cluster.supports_partitions());
    spawn_listeners(&cluster).await;
    let nodes = cluster.node_names();
    assert_eq!(links(&cluster).await, all_links(&nodes));

    let mut nemesis = Nemesis::new(Arc::clone(&cluster));
    let grudge =
        grudge_from_components(&nodes, &[vec!["n3".into()], vec!["n1".into(), "n2".into()]]);
    let fault = Fault::StartPartition {
        shape: Shape::IsolateOne,
        grudge,
    };
    let done = nemesis.apply(&fault).await.unwrap();
    assert_eq!(done.f, "start-partition");
    let expected: BTreeSet<(String, String)> =
        [("n1".into(), "n2".into()), ("n2".into(), "n1".into())].into();
    assert_eq!(links(&cluster).await, expected);
    // The harness is never cut: clients still reach the isolated node.
    assert!(root_connect(cluster.ip("n3").unwrap()));

    // Loss with probability 1 drops everything arriving over the bridge, clients included;
    // stopping it leaves the partition in force.
    nemesis
        .apply(&Fault::StartLoss { probability: 1.0 })
        .await
        .unwrap();
    assert_eq!(links(&cluster).await, BTreeSet::new());
    assert!(!root_connect(cluster.ip("n1").unwrap()));
    nemesis.apply(&Fault::StopLoss).await.unwrap();
    assert_eq!(links(&cluster).await, expected);

    let healed = nemesis.heal_all().await;
    assert!(healed.errors.is_empty(), "{:?}", healed.errors);
    let fs: Vec<&str> = healed.ops.iter().map(|op| op.f.as_str()).collect();
    assert_eq!(fs, ["stop-partition", "stop-partition"]);
    assert_eq!(links(&cluster).await, all_links(&nodes));

    let pids: Vec<u32> = nodes.iter().filter_map(|n| cluster.pid(n)).collect();
    drop(nemesis);
    cluster.teardown().await.unwrap();
    assert_gone(k, &pids);
}

#[tokio::test]
async fn kill_restart_pause_resume_and_heal_all() {
    if !ready("kill_restart_pause_resume_and_heal_all", true, false) {
        return;
    }
    let k = 10;
    let cluster = Arc::new(create(k, 3).await);
    for node in cluster.node_names() {
        cluster
            .spawn(&node, NodeSpec::new("sleep").args(["1000"]))
            .await
            .unwrap();
    }
    let n1 = cluster.pid("n1").unwrap();
    assert!(matches!(
        cluster.spawn("n1", NodeSpec::new("sleep")).await,
        Err(Error::AlreadyRunning(..))
    ));
    assert_eq!(cluster.kill("n1").await.unwrap(), n1);
    assert!(!alive(n1));
    assert_eq!(cluster.pid("n1"), None);
    let n1_again = cluster.restart("n1").await.unwrap();
    assert_ne!(n1_again, n1);
    assert!(alive(n1_again));

    let n2 = cluster.pid("n2").unwrap();
    cluster.pause("n2").unwrap();
    assert_eq!(state(n2), Some('T'));
    cluster.resume("n2").unwrap();
    assert_ne!(state(n2), Some('T'));

    // The nemesis remembers what it broke, and heal_all puts it back.
    let mut nemesis = Nemesis::new(Arc::clone(&cluster));
    nemesis
        .apply(&Fault::Kill {
            nodes: vec!["n3".into()],
        })
        .await
        .unwrap();
    nemesis
        .apply(&Fault::Pause {
            nodes: vec!["n2".into()],
        })
        .await
        .unwrap();
    assert_eq!(cluster.pid("n3"), None);
    assert_eq!(state(n2), Some('T'));
    let healed = nemesis.heal_all().await;
    assert!(healed.errors.is_empty(), "{:?}", healed.errors);
    let fs: Vec<&str> = healed.ops.iter().map(|op| op.f.as_str()).collect();
    assert_eq!(
        fs,
        [
            "stop-partition",
            "stop-partition",
            "resume",
            "resume",
            "start",
            "start"
        ]
    );
    assert_ne!(state(n2), Some('T'));
    assert!(cluster.pid("n3").is_some_and(alive));

    let pids: Vec<u32> = cluster
        .node_names()
        .iter()
        .filter_map(|n| cluster.pid(n))
        .chain([n1])
        .collect();
    // A paused node must not keep teardown from finishing.
    cluster.pause("n1").unwrap();
    drop(nemesis);
    cluster.teardown().await.unwrap();
    // Teardown is idempotent.
    cluster.teardown().await.unwrap();
    assert_gone(k, &pids);
}

/// Spawns a node that writes its idea of the time to `file` every 50 ms.
fn clock_writer(file: &Path) -> NodeSpec {
    let script = format!(
        "while true; do date +%s > {f}.tmp && mv {f}.tmp {f}; sleep 0.05; done",
        f = file.display()
    );
    NodeSpec::new("sh")
        .args(["-c", &script])
        .skewable_clock(true)
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Waits until the node's written clock minus real time is within 30 s of `offset_s`.
async fn await_offset(file: &Path, offset_s: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok());
        if let Some(seen) = seen {
            if (seen - now_s() - offset_s).abs() < 30 {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "clock in {} never reached offset {offset_s}: {seen:?} vs {}",
            file.display(),
            now_s()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn clocks_move_live_on_loopback_hosts() {
    if !ready("clocks_move_live_on_loopback_hosts", false, true) {
        return;
    }
    let cluster = Arc::new(LocalCluster::loopback(2).unwrap());
    assert!(!cluster.supports_partitions());
    assert_eq!(cluster.ip("n1").unwrap(), Ipv4Addr::new(127, 0, 0, 11));
    let file = cluster.scratch_dir().join("n1-time");
    cluster.spawn("n1", clock_writer(&file)).await.unwrap();
    cluster
        .spawn("n2", NodeSpec::new("sleep").args(["1000"]))
        .await
        .unwrap();
    await_offset(&file, 0).await;
    cluster.set_clock_offset("n1", 3600).unwrap();
    await_offset(&file, 3600).await;
    assert!(matches!(
        cluster.set_clock_offset("n2", 5),
        Err(Error::NoFakeClock(_))
    ));

    let mut nemesis = Nemesis::new(Arc::clone(&cluster));
    let mut fault = Fault::StartPartition {
        shape: Shape::Leader,
        grudge: Default::default(),
    };
    fault.resolve_leader(&cluster.node_names(), "n1").unwrap();
    let failed = nemesis.apply(&fault).await.unwrap_err();
    assert!(matches!(failed.error, Error::Unsupported(_)));
    assert!(failed.completion.error.is_some());

    nemesis
        .apply(&Fault::BumpClock {
            offsets_s: [("n1".to_string(), -7200)].into(),
        })
        .await
        .unwrap();
    await_offset(&file, -7200).await;
    let healed = nemesis.heal_all().await;
    assert!(healed.errors.is_empty(), "{:?}", healed.errors);
    let fs: Vec<&str> = healed.ops.iter().map(|op| op.f.as_str()).collect();
    assert_eq!(fs, ["reset-clock", "reset-clock"]);
    await_offset(&file, 0).await;

    let pid = cluster.pid("n1").unwrap();
    let scratch = cluster.scratch_dir().to_path_buf();
    drop(nemesis);
    cluster.teardown().await.unwrap();
    assert!(!alive(pid));
    assert_eq!(faketime_files(pid), Vec::<String>::new());
    assert!(!scratch.exists());
}

#[tokio::test]
async fn strobe_flips_the_clock_in_a_namespace() {
    if !ready("strobe_flips_the_clock_in_a_namespace", true, true) {
        return;
    }
    let k = 11;
    let cluster = Arc::new(create(k, 1).await);
    let file = cluster.scratch_dir().join("n1-time");
    let pid = cluster.spawn("n1", clock_writer(&file)).await.unwrap();
    let mut nemesis = Nemesis::new(Arc::clone(&cluster));
    nemesis
        .apply(&Fault::StrobeClock {
            node: "n1".into(),
            delta_s: 600,
            period_ms: 50,
            duration_ms: 60_000,
        })
        .await
        .unwrap();
    // Both values show up while the strobe runs.
    await_offset(&file, 600).await;
    await_offset(&file, 0).await;
    await_offset(&file, 600).await;
    nemesis.apply(&Fault::ResetClock).await.unwrap();
    assert_eq!(cluster.clock_offset("n1"), 0);
    drop(nemesis);
    cluster.teardown().await.unwrap();
    assert_gone(k, &[pid]);
}

#[tokio::test]
async fn dropping_a_cluster_mid_test_cleans_up() {
    if !ready("dropping_a_cluster_mid_test_cleans_up", true, true) {
        return;
    }
    let k = 12;
    let pids = {
        let cluster = create(k, 2).await;
        let mut pids = Vec::new();
        for node in cluster.node_names() {
            let file = cluster.scratch_dir().join(format!("{node}-time"));
            pids.push(cluster.spawn(&node, clock_writer(&file)).await.unwrap());
        }
        cluster.pause("n2").unwrap();
        // Give libfaketime time to create its files, so that their removal is tested.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!faketime_files(pids[0]).is_empty());
        assert_eq!(namespaces(k).len(), 3);
        pids
        // The cluster is dropped here, as a failing test or a panicking runner drops it.
    };
    assert_gone(k, &pids);
}

#[tokio::test]
async fn cleanup_removes_a_leaked_cluster() {
    if !ready("cleanup_removes_a_leaked_cluster", true, false) {
        return;
    }
    let k = 13;
    let cluster = create(k, 2).await;
    let pid = cluster
        .spawn("n1", NodeSpec::new("sleep").args(["1000"]))
        .await
        .unwrap();
    // A cluster whose harness was killed: nothing runs its teardown.
    std::mem::forget(cluster);
    assert!(matches!(
        LocalCluster::create(k, 2).await,
        Err(Error::ClusterExists { .. })
    ));
    let summary = cleanup_cluster(k).await.unwrap();
    assert_eq!(summary.namespaces, ["sch13-n1", "sch13-n2", "sch13-sw"]);
    assert_eq!(summary.links, ["sch13-up"]);
    assert_eq!(summary.killed, [pid]);
    assert_gone(k, &[pid]);
    assert!(cleanup_cluster(k).await.unwrap().is_empty());
}

#[tokio::test]
async fn invalid_clusters_are_refused_before_anything_is_built() {
    assert!(matches!(
        LocalCluster::create(16, 3).await,
        Err(Error::InvalidCluster(_))
    ));
    assert!(matches!(
        LocalCluster::create(14, 0).await,
        Err(Error::InvalidCluster(_))
    ));
    assert!(LocalCluster::loopback(0).is_err());
    assert_eq!(
        Error::NotRoot.to_string(),
        "network namespaces need root (CAP_NET_ADMIN); run as root or use loopback mode"
    );
}

#[tokio::test]
async fn loopback_nodes_are_killed_paused_and_restarted_without_root() {
    let cluster = LocalCluster::loopback(2).unwrap();
    let log = cluster.scratch_dir().join("n1.log");
    let pid = cluster
        .spawn(
            "n1",
            NodeSpec::new("sh")
                .args(["-c", "echo started; exit 3"])
                .log(&log),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.is_running("n1") {
        assert!(Instant::now() < deadline, "sh never exited");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A node that exited on its own can be started again from its spec.
    let again = cluster.restart("n1").await.unwrap();
    assert_ne!(again, pid);

    let sleeper = cluster
        .spawn("n2", NodeSpec::new("sleep").args(["1000"]))
        .await
        .unwrap();
    cluster.pause("n2").unwrap();
    assert!(cluster.is_paused("n2"));
    assert_eq!(state(sleeper), Some('T'));
    assert_eq!(cluster.kill("n2").await.unwrap(), sleeper);
    assert!(!alive(sleeper));
    assert!(matches!(
        cluster.kill("n2").await,
        Err(Error::NotRunning(_))
    ));
    assert!(matches!(
        cluster.exec_in("n1", &["true"]).await,
        Err(Error::Unsupported(_))
    ));
    assert!(cluster.pid("n9").is_none());
    assert!(matches!(
        cluster.spawn("n9", NodeSpec::new("true")).await,
        Err(Error::UnknownNode(_))
    ));
    let failed = cluster
        .spawn("n2", NodeSpec::new("/nonexistent/program"))
        .await
        .unwrap_err();
    assert!(
        failed.to_string().contains("/nonexistent/program"),
        "{failed}"
    );

    let scratch = cluster.scratch_dir().to_path_buf();
    let started = std::fs::read_to_string(&log).unwrap();
    assert_eq!(started, "started\nstarted\n");
    cluster.teardown().await.unwrap();
    assert!(!scratch.exists());
}
