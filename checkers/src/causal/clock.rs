//! Vector clocks of the causal past, computed in a topological order of `so ∪ wr`; causal
//! cycles when there is no such order; and causal paths between transactions.

use std::collections::VecDeque;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use super::index::{Index, NONE};
use super::{explain, AnomalyKind, Deadline, Found};

pub(super) struct Clocks {
    /// The rows, one after another in the order computed. Row `t` is
    /// `rows[row_start[t]..row_start[t] + row_len[t]]`: for each chain, how many of its
    /// transactions are in the causal past of `t`, `t` included; chains past the row's end
    /// have none.
    rows: Vec<u32>,
    row_start: Vec<usize>,
    row_len: Vec<u32>,
    /// Each transaction's chain and position in it; [`NONE`] for transactions that are in
    /// nobody's past (the last of their session and never read from), and for those without
    /// a clock.
    pub chain: Vec<u32>,
    pub chain_pos: Vec<u32>,
    pub chains: u32,
    /// Whether the transaction got a clock: false for those in or after a cycle.
    pub done: Vec<bool>,
    pub unprocessed: u64,
}

/// How many retired chains a session's first transaction tries before it starts a new one.
const REUSE_TRIES: usize = 64;

impl Clocks {
    /// Computes the clocks in a topological order of `so ∪ wr` (Kahn's algorithm).
    ///
    /// The entries of a clock are per *chain*, a set of transactions totally ordered by `co`,
    /// rather than per session: each session's transactions go on one chain, but a session's
    /// first transaction may continue the chain of a session that has ended, when that whole
    /// chain is in its past. Jepsen gives every crashed client a fresh process, so histories
    /// with many crashes have many more sessions than clients at once; reusing chains keeps
    /// the clocks about as wide as the concurrency. Any cover of the transactions by `co`
    /// chains gives correct clocks, so this changes the cost, not the verdicts.
    pub fn compute(ix: &Index, max_entries: u64, deadline: &Deadline) -> Result<Clocks, String> {
        let n = ix.txns.len();
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
        let next_in_session = |t: u32| {
            let txn = ix.txns[t as usize];
            ix.session(txn.session).get(txn.pos as usize + 1).copied()
        };
        let in_nobodys_past = |t: u32| {
            next_in_session(t).is_none() && out_start[t as usize] == out_start[t as usize + 1]
        };
        let mut clocks = Clocks {
            rows: Vec::new(),
            row_start: vec![0; n],
            row_len: vec![0; n],
            chain: vec![NONE; n],
            chain_pos: vec![NONE; n],
            chains: 0,
            done: vec![false; n],
            unprocessed: n as u64,
        };
        let mut chain_len: Vec<u32> = Vec::new();
        // Chains whose session has ended, in the order they ended.
        let mut retired: VecDeque<u32> = VecDeque::new();
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
            let width = clocks.chains as usize;
            if (clocks.rows.len() + width + 1) as u64 > max_entries {
                return Err(format!(
                    "the vector clocks need more than {max_entries} entries ({n} transactions, \
                     {width} chains so far)"
                ));
            }
            let base = clocks.rows.len();
            clocks.rows.resize(base + width, 0);
            let pred = txn
                .pos
                .checked_sub(1)
                .and_then(|p| ix.session(txn.session).get(p as usize).copied());
            for &src in pred.iter().chain(ix.srcs(t)) {
                let (start, len) = (clocks.row_start[src as usize], clocks.row_len[src as usize]);
                let (before, row) = clocks.rows.split_at_mut(base);
                for (to, from) in row.iter_mut().zip(&before[start..start + len as usize]) {
                    if *from > *to {
                        *to = *from;
                    }
                }
            }
            clocks.row_start[t as usize] = base;
            clocks.row_len[t as usize] = width as u32;
            if !in_nobodys_past(t) {
                let chain = match pred.map(|p| clocks.chain[p as usize]) {
                    Some(c) if c != NONE => c,
                    _ => {
                        // A session's first transaction: a retired chain wholly in its past,
                        // or a new one.
                        // Chains tried in vain go to the back, so that chains nobody will
                        // ever have in their past do not block the front.
                        let row = &clocks.rows[base..base + width];
                        let mut reuse = None;
                        for _ in 0..REUSE_TRIES.min(retired.len()) {
                            let Some(c) = retired.pop_front() else {
                                break;
                            };
                            if row.get(c as usize) == chain_len.get(c as usize) {
                                reuse = Some(c);
                                break;
                            }
                            retired.push_back(c);
                        }
                        match reuse {
                            Some(c) => c,
                            None => {
                                chain_len.push(0);
                                clocks.chains += 1;
                                clocks.rows.push(0);
                                clocks.row_len[t as usize] += 1;
                                clocks.chains - 1
                            }
                        }
                    }
                };
                let len = &mut chain_len[chain as usize];
                clocks.chain[t as usize] = chain;
                clocks.chain_pos[t as usize] = *len;
                *len += 1;
                clocks.rows[base + chain as usize] = *len;
                if next_in_session(t).is_none_or(in_nobodys_past) {
                    retired.push_back(chain);
                }
            }
            clocks.done[t as usize] = true;
            clocks.unprocessed -= 1;
            let mut release = |u: u32| {
                indegree[u as usize] -= 1;
                if indegree[u as usize] == 0 {
                    queue.push_back(u);
                }
            };
            if let Some(next) = next_in_session(t) {
                release(next);
            }
            for &u in &out[out_start[t as usize]..out_start[t as usize + 1]] {
                release(u);
            }
        }
        Ok(clocks)
    }

    /// How many transactions of `chain` are in the causal past of `t`, `t` included.
    pub fn get(&self, t: u32, chain: u32) -> u32 {
        let t = t as usize;
        if chain < self.row_len[t] {
            self.rows[self.row_start[t] + chain as usize]
        } else {
            0
        }
    }

    /// Whether `a` is `t` or in its causal past.
    pub fn reaches(&self, a: u32, t: u32) -> bool {
        let chain = self.chain[a as usize];
        if chain == NONE {
            a == t
        } else {
            self.get(t, chain) > self.chain_pos[a as usize]
        }
    }

    /// The entries of the clocks, for statistics.
    pub fn entries(&self) -> u64 {
        self.rows.len() as u64
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
            let first = session.partition_point(|&y| !self.reaches(a, y));
            let y = *session.get(first)?;
            if y != x {
                reversed.push((y, x));
            }
            let p = *ix.srcs(y).iter().find(|&&p| self.reaches(a, p))?;
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
