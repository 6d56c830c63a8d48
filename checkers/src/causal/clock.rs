//! Vector clocks of the causal past, computed in a topological order of `so ∪ wr`; causal
//! cycles when there is no such order; and causal paths between transactions.

use std::collections::VecDeque;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use super::index::{Index, NONE};
use super::{explain, AnomalyKind, Deadline, Found};

pub(super) struct Clocks {
    k: usize,
    /// Row `t` (`rows[t·k..(t+1)·k]`): for each session, how many of its transactions are in
    /// the causal past of `t`, `t` included.
    rows: Vec<u32>,
    /// Whether the transaction got a clock: false for those in or after a cycle.
    pub done: Vec<bool>,
    pub unprocessed: u64,
}

impl Clocks {
    pub fn compute(ix: &Index, deadline: &Deadline) -> Result<Clocks, String> {
        let n = ix.txns.len();
        let k = ix.session_process.len();
        // The successors along `wr`, as a compressed adjacency list.
        let mut out_start = vec![0usize; n + 1];
        for &src in &ix.srcs {
            out_start[src as usize + 1] += 1;
        }
        for t in 0..n {
            out_start[t + 1] += out_start[t];
        }
        let mut fill = out_start.clone();
        let mut out = vec![0u32; ix.srcs.len()];
        let mut indegree = vec![0u32; n];
        for t in 0..n as u32 {
            let txn = ix.txns[t as usize];
            indegree[t as usize] = u32::from(txn.pos > 0) + ix.srcs(t).len() as u32;
            for &src in ix.srcs(t) {
                out[fill[src as usize]] = t;
                fill[src as usize] += 1;
            }
        }
        let mut clocks = Clocks {
            k,
            rows: vec![0; n * k],
            done: vec![false; n],
            unprocessed: n as u64,
        };
        let mut queue: VecDeque<u32> = (0..n as u32)
            .filter(|&t| indegree[t as usize] == 0)
            .collect();
        let mut steps = 0u64;
        while let Some(t) = queue.pop_front() {
            steps += 1;
            if steps.is_multiple_of(4096) {
                deadline.check("computing vector clocks")?;
            }
            let txn = ix.txns[t as usize];
            let session = ix.session(txn.session);
            let base = t as usize * k;
            if txn.pos > 0 {
                let pred = session[txn.pos as usize - 1] as usize;
                clocks.rows.copy_within(pred * k..pred * k + k, base);
            }
            for &src in ix.srcs(t) {
                max_into(&mut clocks.rows, base, src as usize * k, k);
            }
            clocks.rows[base + txn.session as usize] = txn.pos + 1;
            clocks.done[t as usize] = true;
            clocks.unprocessed -= 1;
            let mut release = |u: u32| {
                indegree[u as usize] -= 1;
                if indegree[u as usize] == 0 {
                    queue.push_back(u);
                }
            };
            if let Some(&next) = session.get(txn.pos as usize + 1) {
                release(next);
            }
            for &u in &out[out_start[t as usize]..out_start[t as usize + 1]] {
                release(u);
            }
        }
        Ok(clocks)
    }

    /// How many transactions of `session` are in the causal past of `t`, `t` included.
    pub fn get(&self, t: u32, session: u32) -> u32 {
        self.rows[t as usize * self.k + session as usize]
    }

    /// Whether `a` is `t` or in its causal past.
    pub fn reaches(&self, ix: &Index, a: u32, t: u32) -> bool {
        let a = ix.txns[a as usize];
        self.get(t, a.session) > a.pos
    }

    /// A causal path from `a` to `b` (a list of edges), where `a` is in `b`'s causal past.
    /// Runs of `so` steps come out as one step.
    ///
    /// It walks back from `b`: to the earliest transaction of `b`'s session that has `a` in
    /// its past (clocks grow along a session, so a binary search finds it), which must have
    /// `a` in the past of one of its `wr` sources; and on from that source.
    pub fn path(&self, ix: &Index, a: u32, b: u32) -> Option<Vec<(u32, u32)>> {
        let ta = ix.txns[a as usize];
        let mut reversed = Vec::new();
        let mut x = b;
        for _ in 0..=ix.txns.len() {
            let tx = ix.txns[x as usize];
            if tx.session == ta.session {
                if ta.pos < tx.pos {
                    reversed.push((a, x));
                }
                reversed.reverse();
                return (ta.pos <= tx.pos).then_some(reversed);
            }
            let session = ix.session(tx.session).get(..=tx.pos as usize)?;
            let first = session.partition_point(|&y| self.get(y, ta.session) <= ta.pos);
            let y = *session.get(first)?;
            if y != x {
                reversed.push((y, x));
            }
            let p = *ix.srcs(y).iter().find(|&&p| self.reaches(ix, a, p))?;
            reversed.push((p, y));
            if p == a {
                reversed.reverse();
                return Some(reversed);
            }
            x = p;
        }
        None
    }
}

/// `rows[dst..dst + k] = max(rows[dst..dst + k], rows[src..src + k])`, elementwise.
fn max_into(rows: &mut [u32], dst: usize, src: usize, k: usize) {
    if dst == src {
        return;
    }
    let (to, from) = if src < dst {
        let (a, b) = rows.split_at_mut(dst);
        (&mut b[..k], &a[src..src + k])
    } else {
        let (a, b) = rows.split_at_mut(src);
        (&mut a[dst..dst + k], &b[..k])
    };
    for (t, f) in to.iter_mut().zip(from) {
        if *f > *t {
            *t = *f;
        }
    }
}

/// Reports the causal cycles among the transactions that got no clock: one shortest cycle
/// through the first transaction of each strongly connected component.
pub(super) fn report_cycles(
    ix: &Index,
    clocks: &Clocks,
    deadline: &Deadline,
    found: &mut Found,
) -> Result<(), String> {
    deadline.check("finding causal cycles")?;
    let n = ix.txns.len();
    let mut node = vec![NONE; n];
    let mut graph: DiGraph<u32, ()> = DiGraph::new();
    for t in 0..n as u32 {
        if !clocks.done[t as usize] {
            node[t as usize] = graph.add_node(t).index() as u32;
        }
    }
    for t in 0..n as u32 {
        let to = node[t as usize];
        if to == NONE {
            continue;
        }
        let txn = ix.txns[t as usize];
        let pred = txn
            .pos
            .checked_sub(1)
            .and_then(|p| ix.session(txn.session).get(p as usize));
        for &src in pred.into_iter().chain(ix.srcs(t)) {
            let from = node[src as usize];
            if from != NONE {
                graph.add_edge(
                    NodeIndex::new(from as usize),
                    NodeIndex::new(to as usize),
                    (),
                );
            }
        }
    }
    let mut components: Vec<Vec<NodeIndex>> = petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|mut c| {
            c.sort();
            c
        })
        .collect();
    components.sort();
    let mut component_of = vec![NONE; graph.node_count()];
    for (i, c) in components.iter().enumerate() {
        for v in c {
            component_of[v.index()] = i as u32;
        }
    }
    for (i, c) in components.iter().enumerate() {
        deadline.check("finding causal cycles")?;
        let Some(&start) = c.first() else {
            continue;
        };
        // Breadth-first search from `start` back to it, within the component.
        let mut parent = vec![NONE; graph.node_count()];
        let mut queue = VecDeque::from([start]);
        let mut last = None;
        'search: while let Some(v) = queue.pop_front() {
            let mut next: Vec<NodeIndex> =
                graph.neighbors_directed(v, Direction::Outgoing).collect();
            next.sort();
            for w in next {
                if component_of[w.index()] != i as u32 {
                    continue;
                }
                if w == start {
                    last = Some(v);
                    break 'search;
                }
                if parent[w.index()] == NONE {
                    parent[w.index()] = v.index() as u32;
                    queue.push_back(w);
                }
            }
        }
        let Some(mut v) = last else {
            continue;
        };
        let mut cycle = vec![graph[start]];
        while v != start {
            cycle.push(graph[v]);
            v = NodeIndex::new(parent[v.index()] as usize);
        }
        cycle.push(graph[start]);
        cycle.reverse();
        found.add(AnomalyKind::CyclicCo, || explain::cycle(ix, &cycle));
    }
    Ok(())
}
