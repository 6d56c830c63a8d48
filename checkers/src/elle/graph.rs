//! The transaction dependency graph (Adya's DSG plus process and realtime orders) and the
//! searches for short cycles in it, as Elle's `elle.graph` and `elle.txn` do them.
//!
//! The graph is a compressed adjacency list: one `u8` mask of edge kinds per (from, to)
//! pair, so a million transactions fit in tens of megabytes. Strongly connected components
//! come from an iterative Tarjan: petgraph's `TarjanScc` recurses once per node, which
//! overflows the stack on the million-long process and realtime chains of a big history.
//!
//! Inside a component, each anomaly class is a BFS restricted to edge kinds: a cycle
//! starting with one edge of a *first* kind and closing over edges of *rest* kinds (G0: ww
//! then ww; G1c: wr then ww|wr; G-single: rw then ww|wr; G2-item: rw then anything data), so
//! the cycle found is a shortest one of its class through that first edge. G-nonadjacent is a
//! BFS over (node, last edge was rw, seen two rw) states. Every search checks a deadline and
//! gives up with [`Timeout`] past it.

use std::time::Instant;

pub const WW: u8 = 1;
pub const WR: u8 = 2;
pub const RW: u8 = 4;
pub const PROCESS: u8 = 8;
pub const REALTIME: u8 = 16;

/// The preference order when an edge has several kinds: data dependencies first, since they
/// make the stronger claim, then process before realtime.
const PREFERENCE: [u8; 5] = [WW, WR, RW, PROCESS, REALTIME];

pub fn kind_name(kind: u8) -> &'static str {
    match kind {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        _ => "realtime",
    }
}

/// The preferred single kind among `mask`'s.
pub fn preferred(mask: u8) -> u8 {
    PREFERENCE
        .iter()
        .copied()
        .find(|k| mask & k != 0)
        .unwrap_or(REALTIME)
}

/// A search ran past its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout;

/// One step of a cycle: `from -kind-> to`, `kind` a single bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleEdge {
    pub from: u32,
    pub to: u32,
    pub kind: u8,
}

pub struct Graph {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    masks: Vec<u8>,
}

impl Graph {
    /// Builds the graph over nodes `0..n` from edges in any order; duplicates merge their
    /// kinds and self-edges are dropped (a transaction does not depend on itself).
    pub fn new(n: usize, mut edges: Vec<(u32, u32, u8)>) -> Graph {
        edges.sort_unstable_by_key(|&(a, b, _)| (a, b));
        let mut offsets = vec![0usize; n + 1];
        let mut targets = Vec::with_capacity(edges.len());
        let mut masks: Vec<u8> = Vec::with_capacity(edges.len());
        let mut last: Option<(u32, u32)> = None;
        for (a, b, m) in edges {
            if a == b || a as usize >= n || b as usize >= n {
                continue;
            }
            if last == Some((a, b)) {
                if let Some(prev) = masks.last_mut() {
                    *prev |= m;
                }
                continue;
            }
            last = Some((a, b));
            targets.push(b);
            masks.push(m);
            offsets[a as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        Graph {
            offsets,
            targets,
            masks,
        }
    }

    pub fn node_count(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    fn range(&self, node: u32) -> std::ops::Range<usize> {
        let i = node as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        }
    }

    /// The out-edges of `node` with their kind masks.
    pub fn edges(&self, node: u32) -> impl Iterator<Item = (u32, u8)> + '_ {
        let r = self.range(node);
        self.targets[r.clone()]
            .iter()
            .copied()
            .zip(self.masks[r].iter().copied())
    }

    /// The kinds of the edge `from -> to`, 0 if there is none.
    pub fn mask(&self, from: u32, to: u32) -> u8 {
        let r = self.range(from);
        match self.targets[r.clone()].binary_search(&to) {
            Ok(i) => self.masks[r.start + i],
            Err(_) => 0,
        }
    }

    /// The strongly connected components with more than one node, each sorted, in order of
    /// their smallest node. Iterative Tarjan (Tarjan 1972).
    pub fn sccs(&self) -> Vec<Vec<u32>> {
        let (component_of, count) = self.components(u8::MAX);
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); count];
        for (node, &c) in component_of.iter().enumerate() {
            if let Some(m) = members.get_mut(c as usize) {
                m.push(node as u32);
            }
        }
        let mut out: Vec<Vec<u32>> = members.into_iter().filter(|m| m.len() > 1).collect();
        out.sort_unstable_by_key(|c| c.first().copied());
        out
    }

    /// The strongly connected components of the subgraph of `mask`-kind edges: each node's
    /// component, numbered in the order Tarjan's algorithm completes them, which is a reverse
    /// topological order (if `x` reaches `y`, `y`'s number is at most `x`'s); and the count.
    pub fn components(&self, mask: u8) -> (Vec<u32>, usize) {
        const UNSEEN: u32 = u32::MAX;
        let n = self.node_count();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut component_of = vec![UNSEEN; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, usize)> = Vec::new();
        let mut counter = 0u32;
        let mut components = 0u32;
        for root in 0..n as u32 {
            if index[root as usize] != UNSEEN {
                continue;
            }
            index[root as usize] = counter;
            low[root as usize] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            calls.push((root, self.range(root).start));
            while let Some(&mut (v, ref mut next)) = calls.last_mut() {
                let end = self.range(v).end;
                if *next < end {
                    let (w, m) = (self.targets[*next], self.masks[*next]);
                    *next += 1;
                    if m & mask == 0 {
                        continue;
                    }
                    let wi = w as usize;
                    if index[wi] == UNSEEN {
                        index[wi] = counter;
                        low[wi] = counter;
                        counter += 1;
                        stack.push(w);
                        on_stack[wi] = true;
                        calls.push((w, self.range(w).start));
                    } else if on_stack[wi] {
                        low[v as usize] = low[v as usize].min(index[wi]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u as usize] = low[u as usize].min(low[v as usize]);
                }
                if low[v as usize] == index[v as usize] {
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        component_of[w as usize] = components;
                        if w == v {
                            break;
                        }
                    }
                    components += 1;
                }
            }
        }
        (component_of, components as usize)
    }
}

/// Searches for cycles inside one strongly connected component. Nodes are renumbered
/// `0..len` so that the search's arrays are sized by the component, not the graph.
pub struct Component<'g> {
    /// The component's own subgraph, over local indices.
    local: Graph,
    nodes: &'g [u32],
    deadline: Instant,
    /// Counts work between clock readings.
    ticks: u32,
}

impl<'g> Component<'g> {
    /// `nodes` must be sorted.
    pub fn new(graph: &Graph, nodes: &'g [u32], deadline: Instant) -> Component<'g> {
        let mut edges = Vec::new();
        for (x, &node) in nodes.iter().enumerate() {
            for (to, m) in graph.edges(node) {
                if let Ok(y) = nodes.binary_search(&to) {
                    edges.push((x as u32, y as u32, m));
                }
            }
        }
        Component {
            local: Graph::new(nodes.len(), edges),
            nodes,
            deadline,
            ticks: 0,
        }
    }

    fn tick(&mut self) -> Result<(), Timeout> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks % 256 == 1 && Instant::now() >= self.deadline {
            return Err(Timeout);
        }
        Ok(())
    }

    /// The out-edges of the local node `x` that stay in the component, as local indices.
    fn local_edges(&self, x: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
        self.local.edges(x as u32).map(|(y, m)| (y as usize, m))
    }

    /// The `first`-kind edges inside the component, grouped by target: `(target, sources)`.
    fn first_edges(&mut self, first: u8) -> Result<Vec<(usize, Vec<usize>)>, Timeout> {
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for a in 0..self.nodes.len() {
            self.tick()?;
            for (b, m) in self.local_edges(a) {
                if m & first != 0 {
                    pairs.push((b, a));
                }
            }
        }
        pairs.sort_unstable();
        let mut grouped: Vec<(usize, Vec<usize>)> = Vec::new();
        for (b, a) in pairs {
            match grouped.last_mut() {
                Some((last, sources)) if *last == b => sources.push(a),
                _ => grouped.push((b, vec![a])),
            }
        }
        Ok(grouped)
    }

    /// A shortest cycle `a -first-> b -rest-> ... -rest-> a` through some `first` edge, if one
    /// exists.
    pub fn find_cycle(&mut self, first: u8, rest: u8) -> Result<Option<Vec<CycleEdge>>, Timeout> {
        let len = self.nodes.len();
        let groups = self.first_edges(first)?;
        // A path b ~> a over `rest` edges exists only if a's component in the `rest`
        // subgraph comes no later than b's in Tarjan's (reverse topological) order; the
        // BFS need not enter components numbered below the lowest candidate's.
        let (component, _) = self.local.components(rest);
        let mut seen = vec![u32::MAX; len];
        let mut goal = vec![u32::MAX; len];
        let mut parent = vec![(usize::MAX, 0u8); len];
        let mut queue: Vec<usize> = Vec::new();
        for (generation, (b, sources)) in groups.iter().enumerate() {
            let generation = generation as u32;
            let floor = sources
                .iter()
                .map(|&a| component[a])
                .filter(|&c| c <= component[*b])
                .min();
            let Some(floor) = floor else {
                continue;
            };
            for &a in sources {
                goal[a] = generation;
            }
            queue.clear();
            queue.push(*b);
            seen[*b] = generation;
            let mut head = 0;
            while let Some(&x) = queue.get(head) {
                head += 1;
                self.tick()?;
                let mut found = None;
                for (y, m) in self.local_edges(x) {
                    if m & rest == 0 || seen[y] == generation || component[y] < floor {
                        continue;
                    }
                    seen[y] = generation;
                    parent[y] = (x, preferred(m & rest));
                    if goal[y] == generation {
                        found = Some(y);
                        break;
                    }
                    queue.push(y);
                }
                if let Some(a) = found {
                    let mut path = Vec::new();
                    let mut y = a;
                    while y != *b {
                        let (x, kind) = parent[y];
                        path.push(self.edge(x, y, kind));
                        y = x;
                    }
                    let first_kind = preferred(self.local.mask(a as u32, *b as u32) & first);
                    path.push(self.edge(a, *b, first_kind));
                    path.reverse();
                    return Ok(Some(path));
                }
            }
        }
        Ok(None)
    }

    fn edge(&self, x: usize, y: usize, kind: u8) -> CycleEdge {
        CycleEdge {
            from: self.nodes.get(x).copied().unwrap_or(0),
            to: self.nodes.get(y).copied().unwrap_or(0),
            kind,
        }
    }

    /// Whether the state path from `start` to `end` passes each node once.
    fn is_simple(&self, parent: &[(usize, u8)], start: usize, end: usize) -> bool {
        let mut nodes = vec![end / 4];
        let mut s = end;
        while s != start {
            s = parent[s].0;
            nodes.push(s / 4);
        }
        let len = nodes.len();
        nodes.sort_unstable();
        nodes.dedup();
        nodes.len() == len
    }

    /// A shortest cycle with at least two rw edges, no two of them adjacent (cyclically),
    /// whose other edges are of `other` kinds: Adya's G-nonadjacent.
    pub fn find_nonadjacent(&mut self, other: u8) -> Result<Option<Vec<CycleEdge>>, Timeout> {
        // A state is (node, last edge was rw, at least two rw edges so far): node * 4 + bits.
        const LAST_RW: usize = 1;
        const TWO_RW: usize = 2;
        let len = self.nodes.len();
        let groups = self.first_edges(RW)?;
        // As in `find_cycle`: prune by the components of the subgraph the walk may use.
        let (component, _) = self.local.components(other | RW);
        let mut seen = vec![u32::MAX; len * 4];
        let mut goal = vec![u32::MAX; len];
        let mut parent = vec![(usize::MAX, 0u8); len * 4];
        let mut queue: Vec<usize> = Vec::new();
        for (generation, (b, sources)) in groups.iter().enumerate() {
            let generation = generation as u32;
            if !sources.iter().any(|&a| component[a] == component[*b]) {
                continue;
            }
            for &a in sources {
                goal[a] = generation;
            }
            let start = *b * 4 + LAST_RW;
            queue.clear();
            queue.push(start);
            seen[start] = generation;
            let mut head = 0;
            while let Some(&state) = queue.get(head) {
                head += 1;
                self.tick()?;
                let (x, bits) = (state / 4, state % 4);
                let mut found = None;
                for (y, m) in self.local_edges(x) {
                    if component[y] != component[*b] {
                        continue;
                    }
                    let mut next = [None, None];
                    if m & other != 0 {
                        next[0] = Some((y * 4 + (bits & TWO_RW), preferred(m & other)));
                    }
                    if m & RW != 0 && bits & LAST_RW == 0 {
                        next[1] = Some((y * 4 + LAST_RW + TWO_RW, RW));
                    }
                    for (s, kind) in next.into_iter().flatten() {
                        if seen[s] == generation {
                            continue;
                        }
                        seen[s] = generation;
                        parent[s] = (state, kind);
                        if goal[y] == generation && s % 4 == TWO_RW {
                            // The state space lets a walk pass a node twice; only a
                            // simple cycle is a witness, so keep searching past others.
                            if self.is_simple(&parent, start, s) {
                                found = Some(s);
                                break;
                            }
                            continue;
                        }
                        queue.push(s);
                    }
                    if found.is_some() {
                        break;
                    }
                }
                if let Some(end) = found {
                    let a = end / 4;
                    let mut path = Vec::new();
                    let mut s = end;
                    while s != start {
                        let (p, kind) = parent[s];
                        path.push(self.edge(p / 4, s / 4, kind));
                        s = p;
                    }
                    path.push(self.edge(a, *b, RW));
                    path.reverse();
                    return Ok(Some(path));
                }
            }
        }
        Ok(None)
    }
}

/// Names a cycle's class from its edges, as Elle's cycle explainer does: no rw edge is G0
/// (ww only) or G1c (some wr); one rw edge is G-single; several, never adjacent, is
/// G-nonadjacent; otherwise G2-item. A cycle that needs a realtime edge is `-realtime`, one
/// that needs a process edge (and no realtime edge) `-process`.
pub fn classify(cycle: &[CycleEdge]) -> String {
    let count = |k: u8| cycle.iter().filter(|e| e.kind == k).count();
    let rw = count(RW);
    let adjacent_rw = (0..cycle.len())
        .any(|i| cycle[i].kind == RW && cycle[(i + 1) % cycle.len()].kind == RW && cycle.len() > 1);
    let base = match rw {
        0 if count(WR) == 0 => "G0",
        0 => "G1c",
        1 => "G-single",
        _ if !adjacent_rw => "G-nonadjacent",
        _ => "G2-item",
    };
    let suffix = if count(REALTIME) > 0 {
        "-realtime"
    } else if count(PROCESS) > 0 {
        "-process"
    } else {
        ""
    };
    format!("{base}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn finds_components_iteratively_on_long_chains() {
        let n = 200_000u32;
        let mut edges: Vec<(u32, u32, u8)> = (0..n - 1).map(|i| (i, i + 1, PROCESS)).collect();
        edges.push((n - 1, 0, WW));
        edges.push((5, 5, WW));
        let g = Graph::new(n as usize, edges);
        let sccs = g.sccs();
        assert_eq!(sccs.len(), 1);
        assert_eq!(sccs[0].len(), n as usize);
    }

    #[test]
    fn searches_respect_edge_kinds() {
        // 0 -ww-> 1 -rw-> 2 -wr-> 0, and 1 -ww-> 0.
        let g = Graph::new(3, vec![(0, 1, WW), (1, 2, RW), (2, 0, WR), (1, 0, WW)]);
        let nodes = [0, 1, 2];
        let mut c = Component::new(&g, &nodes, far());
        let g0 = c.find_cycle(WW, WW).unwrap().unwrap();
        assert_eq!(classify(&g0), "G0");
        assert_eq!(g0.len(), 2);
        let single = c.find_cycle(RW, WW | WR).unwrap().unwrap();
        assert_eq!(classify(&single), "G-single");
        assert_eq!(c.find_nonadjacent(WW | WR).unwrap(), None);
    }

    #[test]
    fn nonadjacent_needs_separated_rw_edges() {
        // 0 -rw-> 1 -ww-> 2 -rw-> 3 -wr-> 0.
        let g = Graph::new(4, vec![(0, 1, RW), (1, 2, WW), (2, 3, RW), (3, 0, WR)]);
        let nodes = [0, 1, 2, 3];
        let mut c = Component::new(&g, &nodes, far());
        let cycle = c.find_nonadjacent(WW | WR).unwrap().unwrap();
        assert_eq!(classify(&cycle), "G-nonadjacent");
        assert_eq!(c.find_cycle(RW, WW | WR).unwrap(), None);
        // 0 -rw-> 1 -rw-> 0 is G2-item, not G-nonadjacent.
        let g = Graph::new(2, vec![(0, 1, RW), (1, 0, RW)]);
        let nodes = [0, 1];
        let mut c = Component::new(&g, &nodes, far());
        assert_eq!(c.find_nonadjacent(WW | WR).unwrap(), None);
        let cycle = c.find_cycle(RW, WW | WR | RW).unwrap().unwrap();
        assert_eq!(classify(&cycle), "G2-item");
    }

    #[test]
    fn past_the_deadline_is_a_timeout() {
        let n = 10_000u32;
        let mut edges: Vec<(u32, u32, u8)> = (0..n - 1).map(|i| (i, i + 1, WW)).collect();
        edges.push((n - 1, 0, RW));
        let g = Graph::new(n as usize, edges);
        let nodes: Vec<u32> = (0..n).collect();
        let mut c = Component::new(&g, &nodes, Instant::now());
        assert_eq!(c.find_cycle(WW, WW), Err(Timeout));
    }
}
