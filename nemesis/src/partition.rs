//! Partition shapes, as Jepsen's `jepsen.nemesis` builds them: a *grudge* maps each node to
//! the nodes it drops traffic from (and to).
//!
//! Every grudge here is symmetric (if `a` drops `b`, `b` drops `a`), built from the groups of
//! nodes that can still talk ([`grudge_from_components`]), or for the majorities ring from
//! each node's own window of the ring. The shapes are Jepsen's: one node isolated (`split-one`), random halves
//! (`bisect`), the majorities ring (`majorities-ring`: every node sees a majority, no two the
//! same majority), the bridge (two halves joined by one node that sees both), and the current
//! leader isolated.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;

use schism_histories::Value;

use crate::error::{Error, Result};

/// For each node, the nodes it must not exchange packets with. Every node is a key.
pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// How a partition cuts the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    /// One random node cut from all others.
    IsolateOne,
    /// A random minority half and majority half.
    Halves,
    /// Each node sees a majority (itself included), and no two nodes see the same majority.
    MajoritiesRing,
    /// Two halves, joined by one node that sees both.
    Bridge,
    /// The node the caller names as the leader, cut from all others.
    Leader,
}

impl Shape {
    pub const ALL: [Shape; 5] = [
        Shape::IsolateOne,
        Shape::Halves,
        Shape::MajoritiesRing,
        Shape::Bridge,
        Shape::Leader,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Shape::IsolateOne => "one",
            Shape::Halves => "halves",
            Shape::MajoritiesRing => "majorities-ring",
            Shape::Bridge => "bridge",
            Shape::Leader => "leader",
        }
    }

    /// The fewest nodes the shape can cut.
    pub fn min_nodes(self) -> usize {
        match self {
            Shape::IsolateOne | Shape::Halves | Shape::Leader => 2,
            Shape::MajoritiesRing | Shape::Bridge => 3,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Shape {
    type Err = Error;

    fn from_str(s: &str) -> Result<Shape> {
        Shape::ALL
            .into_iter()
            .find(|shape| shape.as_str() == s)
            .ok_or_else(|| {
                Error::InvalidFault(format!(
                    "unknown partition shape {s:?}; expected one of one, halves, \
                     majorities-ring, bridge, leader"
                ))
            })
    }
}

/// The groups of nodes that can still talk to each other under `shape`. A node may be in
/// several groups (the bridge is in both). `leader` is required for [`Shape::Leader`] only.
/// For [`Shape::MajoritiesRing`] the groups are each node's view (see [`grudge`]).
fn components<R: Rng + ?Sized>(
    shape: Shape,
    nodes: &[String],
    leader: Option<&str>,
    rng: &mut R,
) -> Result<Vec<Vec<String>>> {
    let n = nodes.len();
    if n < shape.min_nodes() {
        return Err(Error::InvalidFault(format!(
            "a {shape} partition needs at least {} nodes, the cluster has {n}",
            shape.min_nodes()
        )));
    }
    let mut shuffled = nodes.to_vec();
    shuffled.shuffle(rng);
    Ok(match shape {
        Shape::IsolateOne => {
            let victim = nodes
                .choose(rng)
                .cloned()
                .ok_or_else(|| Error::InvalidFault("no nodes".into()))?;
            isolate(nodes, &victim)
        }
        Shape::Leader => {
            let leader = leader.ok_or_else(|| {
                Error::InvalidFault("a leader partition needs the leader's name".into())
            })?;
            if !nodes.iter().any(|n| n == leader) {
                return Err(Error::UnknownNode(leader.to_string()));
            }
            isolate(nodes, leader)
        }
        Shape::Halves => {
            let (minority, majority) = shuffled.split_at(n / 2);
            vec![minority.to_vec(), majority.to_vec()]
        }
        Shape::Bridge => {
            let Some((bridge, rest)) = shuffled.split_first() else {
                return Err(Error::InvalidFault("no nodes".into()));
            };
            let (left, right) = rest.split_at(rest.len() / 2);
            let mut left = left.to_vec();
            let mut right = right.to_vec();
            left.push(bridge.clone());
            right.push(bridge.clone());
            vec![left, right]
        }
        Shape::MajoritiesRing => majorities_ring(&shuffled)
            .into_iter()
            .map(|(_, window)| window)
            .collect(),
    })
}

fn isolate(nodes: &[String], victim: &str) -> Vec<Vec<String>> {
    let others = nodes.iter().filter(|n| *n != victim).cloned().collect();
    vec![vec![victim.to_string()], others]
}

/// The nodes each node of `ring` sees: a window of the ring centred on it, wide enough to be
/// a majority. Windows centred on different nodes differ, so no two nodes see the same
/// majority; distance on a ring is symmetric, so neither does a grudge point one way only.
/// Returns each node with its window.
fn majorities_ring(ring: &[String]) -> Vec<(String, Vec<String>)> {
    let n = ring.len();
    if n == 3 {
        // A window of radius 1 would be the whole ring: cut one link instead. The two ends
        // each see two of three nodes; the middle one sees all three.
        return vec![
            (ring[0].clone(), ring[..2].to_vec()),
            (ring[1].clone(), ring.to_vec()),
            (ring[2].clone(), ring[1..].to_vec()),
        ];
    }
    let majority = n / 2 + 1;
    let radius = majority / 2;
    (0..n)
        .map(|i| {
            let window = (0..=2 * radius)
                .map(|d| ring[(i + n + d - radius) % n].clone())
                .collect();
            (ring[i].clone(), window)
        })
        .collect()
}

/// A complete grudge: every node drops every node it shares no component with.
pub fn grudge_from_components(nodes: &[String], components: &[Vec<String>]) -> Grudge {
    let mut grudge = Grudge::new();
    for node in nodes {
        let mut visible: BTreeSet<&String> = BTreeSet::new();
        visible.insert(node);
        for component in components.iter().filter(|c| c.contains(node)) {
            visible.extend(component);
        }
        let drops = nodes
            .iter()
            .filter(|n| !visible.contains(n))
            .cloned()
            .collect();
        grudge.insert(node.clone(), drops);
    }
    grudge
}

/// The grudge of a `shape` partition of `nodes`.
pub fn grudge<R: Rng + ?Sized>(
    shape: Shape,
    nodes: &[String],
    leader: Option<&str>,
    rng: &mut R,
) -> Result<Grudge> {
    if shape == Shape::MajoritiesRing && nodes.len() >= shape.min_nodes() {
        // A window is what one node sees, not a group whose members all see each other, so
        // the grudge is read per node: each node drops exactly what is outside its window.
        let mut ring = nodes.to_vec();
        ring.shuffle(rng);
        return Ok(majorities_ring(&ring)
            .into_iter()
            .map(|(node, window)| {
                let drops = nodes
                    .iter()
                    .filter(|n| !window.contains(n))
                    .cloned()
                    .collect();
                (node, drops)
            })
            .collect());
    }
    let components = components(shape, nodes, leader, rng)?;
    Ok(grudge_from_components(nodes, &components))
}

/// The grudge as a history value: `{"n1": ["n3", "n4"], ...}`.
pub fn grudge_value(grudge: &Grudge) -> Value {
    Value::Map(
        grudge
            .iter()
            .map(|(node, drops)| {
                (
                    Value::Str(node.clone()),
                    Value::List(drops.iter().cloned().map(Value::Str).collect()),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn visible(grudge: &Grudge, all: &[String], node: &str) -> BTreeSet<String> {
        let drops = grudge.get(node).cloned().unwrap_or_default();
        all.iter()
            .filter(|n| !drops.contains(*n))
            .cloned()
            .collect()
    }

    fn assert_symmetric(grudge: &Grudge) {
        for (a, drops) in grudge {
            assert!(!drops.contains(a), "{a} drops itself in {grudge:?}");
            for b in drops {
                assert!(
                    grudge[b].contains(a),
                    "{a} drops {b} but not back: {grudge:?}"
                );
            }
        }
    }

    /// Checks a shape over many sizes and seeds with `check(nodes, grudge)`.
    fn each_grudge(
        shape: Shape,
        sizes: std::ops::RangeInclusive<usize>,
        check: impl Fn(&[String], &Grudge),
    ) {
        for n in sizes {
            let all = nodes(n);
            for seed in 0..50 {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let grudge = grudge(shape, &all, Some("n1"), &mut rng).unwrap();
                assert_eq!(grudge.len(), n, "every node is a key");
                assert_symmetric(&grudge);
                assert!(
                    grudge.values().any(|d| !d.is_empty()),
                    "{shape} with {n} nodes cuts nothing"
                );
                check(&all, &grudge);
            }
        }
    }

    #[test]
    fn majorities_ring_gives_each_node_a_distinct_majority() {
        each_grudge(Shape::MajoritiesRing, 3..=11, |all, grudge| {
            let majority = all.len() / 2 + 1;
            let mut seen = BTreeSet::new();
            for node in all {
                let v = visible(grudge, all, node);
                assert!(v.len() >= majority, "{node} sees {v:?} of {all:?}");
                assert!(seen.insert(v.clone()), "two nodes see {v:?}");
            }
        });
    }

    #[test]
    fn isolate_one_cuts_exactly_one_node_from_all_others() {
        each_grudge(Shape::IsolateOne, 2..=9, |all, grudge| {
            let isolated: Vec<_> = grudge
                .iter()
                .filter(|(_, d)| d.len() == all.len() - 1)
                .collect();
            assert_eq!(isolated.len(), if all.len() == 2 { 2 } else { 1 });
            let others_drop = grudge.values().filter(|d| d.len() == 1).count();
            assert_eq!(others_drop, if all.len() == 2 { 2 } else { all.len() - 1 });
        });
    }

    #[test]
    fn leader_isolates_the_named_node() {
        each_grudge(Shape::Leader, 2..=7, |all, grudge| {
            let others: BTreeSet<String> = all.iter().filter(|n| *n != "n1").cloned().collect();
            assert_eq!(grudge["n1"], others);
        });
    }

    #[test]
    fn leader_needs_a_known_leader() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(grudge(Shape::Leader, &nodes(3), None, &mut rng).is_err());
        assert!(grudge(Shape::Leader, &nodes(3), Some("n9"), &mut rng).is_err());
    }

    #[test]
    fn halves_split_into_a_minority_and_a_majority() {
        each_grudge(Shape::Halves, 2..=9, |all, grudge| {
            let n = all.len();
            let mut sizes: Vec<usize> = grudge.values().map(BTreeSet::len).collect();
            sizes.sort_unstable();
            sizes.dedup();
            // Minority nodes drop the majority half, and the other way round.
            let expected: BTreeSet<usize> = [n / 2, n - n / 2].into();
            assert_eq!(sizes.into_iter().collect::<BTreeSet<_>>(), expected);
        });
    }

    #[test]
    fn bridge_joins_two_halves_through_one_node() {
        each_grudge(Shape::Bridge, 3..=9, |all, grudge| {
            let bridges: Vec<_> = grudge.iter().filter(|(_, d)| d.is_empty()).collect();
            assert_eq!(bridges.len(), 1, "{grudge:?}");
            for (node, drops) in grudge {
                if !drops.is_empty() {
                    // Each side sees itself, the bridge, and none of the other side.
                    assert!(visible(grudge, all, node).contains(bridges[0].0));
                }
            }
        });
    }

    #[test]
    fn too_few_nodes_is_an_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!(grudge(Shape::MajoritiesRing, &nodes(2), None, &mut rng).is_err());
        assert!(grudge(Shape::Bridge, &nodes(2), None, &mut rng).is_err());
        assert!(grudge(Shape::IsolateOne, &nodes(1), None, &mut rng).is_err());
    }

    #[test]
    fn shapes_round_trip_through_their_names() {
        for shape in Shape::ALL {
            assert_eq!(shape.as_str().parse::<Shape>().unwrap(), shape);
        }
        assert!("ring".parse::<Shape>().is_err());
    }

    #[test]
    fn grudge_value_is_a_sorted_map() {
        let all = nodes(3);
        let g = grudge_from_components(&all, &[vec!["n1".into()], vec!["n2".into(), "n3".into()]]);
        assert_eq!(
            grudge_value(&g).to_json().to_string(),
            r#"{"n1":["n2","n3"],"n2":["n1"],"n3":["n1"]}"#
        );
    }
}
