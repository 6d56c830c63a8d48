//! The checks of each read against the vector clock of its transaction.

use std::collections::HashSet;

use super::clock::Clocks;
use super::index::{FxMap, Index, KeyChain, Read, ReadKind, NONE};
use super::{explain, AnomalyKind, Deadline, Found};

pub(super) fn check_reads(
    ix: &Index,
    clocks: &Clocks,
    deadline: &Deadline,
    found: &mut Found,
) -> Result<(), String> {
    for thin in &ix.thin_air {
        found.add(AnomalyKind::ThinAirRead, || explain::thin_air(ix, thin));
    }
    let k = clocks.chains as usize;
    let mut lists = ListState {
        count: vec![0; k],
        run: vec![0; k],
        verified: FxMap::default(),
        last_read: FxMap::default(),
    };
    let mut txn_first_read = 0;
    for (r, read) in ix.reads.iter().enumerate() {
        if r.is_multiple_of(4096) {
            deadline.check("checking reads")?;
        }
        if !clocks.done[read.txn as usize] {
            continue;
        }
        // A transaction reading a key twice with nothing written between sees the same value
        // twice; one report is enough. Reads are stored transaction by transaction.
        if r > 0 && ix.reads[r - 1].txn != read.txn {
            txn_first_read = r;
        }
        if ix.reads[txn_first_read..r]
            .iter()
            .any(|earlier| same_read(ix, earlier, read))
        {
            continue;
        }
        match read.kind {
            ReadKind::Init => check_init_read(ix, clocks, r, found),
            ReadKind::From(w) => check_register_read(ix, clocks, r, w, found),
            ReadKind::List { start, len } => {
                check_list_read(ix, clocks, r, start, len, &mut lists, found)
            }
        }
    }
    Ok(())
}

fn same_read(ix: &Index, a: &Read, b: &Read) -> bool {
    if (a.txn, a.key) != (b.txn, b.key) {
        return false;
    }
    match (a.kind, b.kind) {
        (ReadKind::Init, ReadKind::Init) => true,
        (ReadKind::From(x), ReadKind::From(y)) => x == y,
        (ReadKind::List { start: s1, len: l1 }, ReadKind::List { start: s2, len: l2 }) => {
            ix.elems[s1..s1 + l1] == ix.elems[s2..s2 + l2]
        }
        _ => false,
    }
}

/// The number of entries of `ks` in the strict causal past of `t`.
fn past_count(ix: &Index, clocks: &Clocks, ks: &KeyChain, t: u32) -> u32 {
    let limit = if ks.chain == clocks.chain[t as usize] {
        clocks.chain_pos[t as usize]
    } else {
        clocks.get(t, ks.chain)
    };
    ix.count_below(ks, limit)
}

/// WriteCOInitRead for registers: a read of nil with a write of the key in the past.
fn check_init_read(ix: &Index, clocks: &Clocks, r: usize, found: &mut Found) {
    let read = ix.reads[r];
    for ks in ix.key_chains(read.key) {
        let c = past_count(ix, clocks, ks, read.txn);
        if c > 0 {
            let w = ix.entry_write[(ks.start + c - 1) as usize];
            found.add(AnomalyKind::WriteCoInitRead, || {
                explain::init_read(ix, clocks, &read, w)
            });
            return;
        }
    }
}

/// WriteCORead for registers: T reads from W, and the latest write of the key on some chain
/// in T's past causally follows W. Checking the latest per chain suffices: an earlier one
/// that follows W would make the latest follow W too.
fn check_register_read(ix: &Index, clocks: &Clocks, r: usize, w: u32, found: &mut Found) {
    let read = ix.reads[r];
    let writer = ix.writes[w as usize].txn;
    for ks in ix.key_chains(read.key) {
        let c = past_count(ix, clocks, ks, read.txn);
        if c == 0 {
            continue;
        }
        let later = ix.entry_write[(ks.start + c - 1) as usize];
        let later_txn = ix.writes[later as usize].txn;
        if later_txn != writer && clocks.reaches(writer, later_txn) {
            found.add(AnomalyKind::WriteCoRead, || {
                explain::overwritten(ix, clocks, &read, w, later)
            });
            return;
        }
    }
}

struct ListState {
    /// Scratch counts per chain.
    count: Vec<u32>,
    run: Vec<u32>,
    /// Per key, the last list read whose order was checked without skipping an element.
    verified: FxMap<u32, Vec<u32>>,
    /// Per (session, key), the last list read.
    last_read: FxMap<(u32, u32), usize>,
}

fn check_list_read(
    ix: &Index,
    clocks: &Clocks,
    r: usize,
    start: usize,
    len: usize,
    st: &mut ListState,
    found: &mut Found,
) {
    let read = ix.reads[r];
    let t = read.txn;
    let session = ix.txns[t as usize].session;
    let elems = &ix.elems[start..start + len];
    let chains = ix.key_chains(read.key);
    // The transaction's own appends are an internal matter; the rest is counted per chain.
    let mut own = false;
    // Also set when a writer is on no chain, which cannot be: it was read, so it is in the
    // reader's past. Such a read is skipped rather than misjudged.
    let mut duplicates = false;
    for &e in elems {
        let writer = ix.writes[e as usize].txn;
        if writer == t {
            own = true;
        } else {
            match st.count.get_mut(clocks.chain[writer as usize] as usize) {
                Some(c) => *c += 1,
                None => duplicates = true,
            }
        }
    }
    let mut reported = false;
    for ks in chains {
        let expected = past_count(ix, clocks, ks, t);
        let got = st.count[ks.chain as usize];
        if got > expected {
            // More elements than appends in the past: duplicates, which are not ours to call.
            duplicates = true;
        } else if got < expected && !reported {
            reported = true;
            let seen: HashSet<u32> = elems.iter().copied().collect();
            let missing = ix.entry_write[ks.start as usize..(ks.start + expected) as usize]
                .iter()
                .copied()
                .find(|w| !seen.contains(w));
            if let Some(missing) = missing {
                if elems.iter().all(|&e| ix.writes[e as usize].txn == t) {
                    found.add(AnomalyKind::WriteCoInitRead, || {
                        explain::init_read(ix, clocks, &read, missing)
                    });
                } else {
                    found.add(AnomalyKind::WriteCoRead, || {
                        explain::missing(ix, clocks, &read, missing)
                    });
                }
            }
        }
    }
    for &e in elems {
        let writer = ix.writes[e as usize].txn;
        if let Some(c) = st.count.get_mut(clocks.chain[writer as usize] as usize) {
            *c = 0;
        }
    }
    if !reported && !duplicates {
        reported = check_list_order(ix, clocks, r, elems, own, st, found);
    }
    // A later read of the key by the same session must extend the earlier one.
    if let Some(prev) = st.last_read.insert((session, read.key), r) {
        if let Some(ReadKind::List { start, len }) = ix.reads.get(prev).map(|p| p.kind) {
            let before = &ix.elems[start..start + len];
            if !reported && !duplicates && !elems.starts_with(before) {
                found.add(AnomalyKind::IncompatibleOrder, || {
                    explain::incompatible(ix, &read, &ix.reads[prev])
                });
            }
        }
    }
}

/// Checks that the elements come in an order that extends the causal order of their appends:
/// before each element, every append to the key in its writer's causal past. The prefix that
/// this key's last fully checked read shares with this one was checked then, and is skipped.
/// Returns whether an anomaly was reported.
fn check_list_order(
    ix: &Index,
    clocks: &Clocks,
    r: usize,
    elems: &[u32],
    own: bool,
    st: &mut ListState,
    found: &mut Found,
) -> bool {
    let read = ix.reads[r];
    let t = read.txn;
    let chains = ix.key_chains(read.key);
    let verified = st.verified.get(&read.key).map_or(&[][..], |v| v.as_slice());
    let shared = verified
        .iter()
        .zip(elems)
        .take_while(|(a, b)| a == b)
        .count();
    let mut touched = Vec::new();
    let mut bump = |run: &mut Vec<u32>, chain: u32| {
        if let Some(r) = run.get_mut(chain as usize) {
            if *r == 0 {
                touched.push(chain);
            }
            *r += 1;
        }
    };
    let mut inversion = None;
    let mut skipped = false;
    for (j, &e) in elems.iter().enumerate() {
        let writer = ix.writes[e as usize].txn;
        if writer == t {
            continue;
        }
        let wc = clocks.chain[writer as usize];
        if wc == NONE {
            // Cannot be (see `check_list_read`); give up on this read.
            skipped = true;
            break;
        }
        if j >= shared {
            // The same chain's earlier appends, in order, then every other chain's appends in
            // the writer's past.
            let rank = ix.write_rank[e as usize];
            let behind = chains.iter().find_map(|ks| {
                let need = if ks.chain == wc {
                    rank
                } else {
                    ix.count_below(ks, clocks.get(writer, ks.chain))
                };
                let have = st.run[ks.chain as usize];
                (have < need).then(|| ix.entry_write[(ks.start + have) as usize])
            });
            if let Some(earlier) = behind {
                inversion = Some((e, earlier));
                break;
            }
        }
        bump(&mut st.run, wc);
    }
    for s in touched {
        st.run[s as usize] = 0;
    }
    if let Some((e, earlier)) = inversion {
        found.add(AnomalyKind::CausalOrderInversion, || {
            explain::inversion(ix, clocks, &read, e, earlier)
        });
        return true;
    }
    if !own && !skipped && shared < elems.len() {
        st.verified.insert(read.key, elems.to_vec());
    }
    false
}
