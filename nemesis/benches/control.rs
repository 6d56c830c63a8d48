//! Measures what the control layer costs: building and tearing down a namespace cluster,
//! applying and healing a partition, and packet loss. Needs root; prints figures.
//!
//! `cargo bench -p schism-nemesis --bench control`

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use schism_nemesis::partition::grudge;
use schism_nemesis::{Fault, LocalCluster, Nemesis, NodeSpec, Shape};

const K: u8 = 14;
const ROUNDS: usize = 5;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn bench(nodes: usize) {
    let (mut create, mut teardown, mut part, mut heal, mut loss, mut spawn) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let cluster = Arc::new(LocalCluster::create(K, nodes).await.expect("create"));
        create.push(t.elapsed());
        let t = Instant::now();
        for node in cluster.node_names() {
            cluster
                .spawn(&node, NodeSpec::new("sleep").args(["1000"]))
                .await
                .expect("spawn");
        }
        spawn.push(t.elapsed() / nodes as u32);
        let mut nemesis = Nemesis::new(Arc::clone(&cluster));
        let g =
            grudge(Shape::MajoritiesRing, &cluster.node_names(), None, &mut rng).expect("grudge");
        let t = Instant::now();
        nemesis
            .apply(&Fault::StartPartition {
                shape: Shape::MajoritiesRing,
                grudge: g,
            })
            .await
            .expect("partition");
        part.push(t.elapsed());
        let t = Instant::now();
        nemesis.apply(&Fault::StopPartition).await.expect("heal");
        heal.push(t.elapsed());
        let t = Instant::now();
        nemesis
            .apply(&Fault::StartLoss { probability: 0.1 })
            .await
            .expect("loss");
        loss.push(t.elapsed());
        drop(nemesis);
        let t = Instant::now();
        cluster.teardown().await.expect("teardown");
        teardown.push(t.elapsed());
    }
    println!(
        "{nodes} nodes (median of {ROUNDS}): create {}, spawn {}/node, majorities-ring partition {}, \
         heal {}, start loss {}, teardown {}",
        ms(median(create)),
        ms(median(spawn)),
        ms(median(part)),
        ms(median(heal)),
        ms(median(loss)),
        ms(median(teardown)),
    );
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("control bench skipped: needs root for network namespaces");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        bench(3).await;
        bench(5).await;
    });
}
