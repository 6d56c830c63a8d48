//! Simulated stores: a causally consistent one must pass, one that applies updates in any
//! order must fail; and on small random histories the vector-clock checker must agree with a
//! naive one that builds the transitive closure.

use std::collections::{BTreeMap, HashMap, HashSet};

use schism_checkers::causal::sim::{simulate, Delivery, Rng, SimOptions, Workload};
use schism_checkers::causal::{check, CausalOptions, CausalResult};
use schism_checkers::txn::{txn_of, MicroOp};
use schism_checkers::Validity;
use schism_histories::{History, Op, OpType, Outcome, PairedHistory, Process, Value};

fn shapes() -> Vec<(&'static str, SimOptions)> {
    let base = SimOptions::default();
    vec![
        (
            "registers, single operations",
            SimOptions {
                workload: Workload::Register,
                min_ops: 1,
                max_ops: 1,
                ..base.clone()
            },
        ),
        (
            "registers, transactions",
            SimOptions {
                workload: Workload::Register,
                min_ops: 1,
                max_ops: 4,
                ..base.clone()
            },
        ),
        (
            "lists, single operations",
            SimOptions {
                workload: Workload::ListAppend,
                min_ops: 1,
                max_ops: 1,
                ..base.clone()
            },
        ),
        (
            "lists, transactions",
            SimOptions {
                workload: Workload::ListAppend,
                min_ops: 1,
                max_ops: 5,
                max_writes_per_key: 12,
                ..base
            },
        ),
    ]
}

fn run(options: &SimOptions) -> (PairedHistory, CausalResult) {
    let history = simulate(options).pair().unwrap();
    let result = check(&history, &CausalOptions::default());
    (history, result)
}

#[test]
fn a_causally_consistent_store_passes() {
    for (name, shape) in shapes() {
        for seed in 0..20 {
            let options = SimOptions {
                seed,
                delivery: Delivery::Causal,
                transactions: 300,
                ..shape.clone()
            };
            let (_, result) = run(&options);
            assert_eq!(
                result.validity,
                Validity::Valid,
                "{name}, seed {seed}:\n{}",
                result.explain()
            );
        }
    }
}

#[test]
fn a_store_applying_updates_in_any_order_fails() {
    for (name, shape) in shapes() {
        // Search seeds in order until the history holds a violation; a few hundred
        // transactions with lagging replicas almost always do.
        let found = (0..50).find_map(|seed| {
            let options = SimOptions {
                seed,
                delivery: Delivery::Arbitrary,
                transactions: 300,
                ..shape.clone()
            };
            let (_, result) = run(&options);
            (result.validity == Validity::Invalid).then_some((seed, result))
        });
        let Some((seed, result)) = found else {
            panic!("{name}: no seed below 50 gave a violation");
        };
        println!("{name}: seed {seed}\n{}", result.explain());
        for anomalies in result.anomalies.values() {
            for a in anomalies {
                assert!(a.explanation.starts_with('T'), "{}", a.explanation);
            }
        }
    }
}

#[test]
fn agrees_with_a_naive_checker_on_small_histories() {
    let mut invalid = 0;
    let mut total = 0;
    for (name, shape) in shapes() {
        for delivery in [Delivery::Causal, Delivery::Arbitrary] {
            for seed in 0..30 {
                let options = SimOptions {
                    seed,
                    delivery,
                    transactions: 40,
                    processes: 4,
                    keys: 3,
                    crash_per_mille: 50,
                    fail_per_mille: 50,
                    ..shape.clone()
                };
                let (history, result) = run(&options);
                let expected = naive(&history);
                assert_eq!(
                    result.stats.anomaly_counts,
                    expected,
                    "{name}, {delivery:?}, seed {seed}:\n{}",
                    result.explain()
                );
                total += 1;
                if result.validity == Validity::Invalid {
                    invalid += 1;
                }
            }
        }
    }
    println!("{invalid} of {total} invalid");
    // Both verdicts must have been exercised for the comparison to mean anything.
    assert!(
        invalid > total / 10 && invalid < total,
        "{invalid} of {total}"
    );
}

/// The same patterns, by the definitions: the causal order as an explicit transitive closure.
fn naive(history: &PairedHistory) -> BTreeMap<String, u64> {
    struct T {
        session: i64,
        ok: bool,
        ops: Vec<MicroOp>,
    }
    let mut txns = Vec::new();
    for pair in history.pairs() {
        if pair.outcome == Outcome::Fail {
            continue;
        }
        let inv = history.invocation(pair);
        let Process::Client(p) = inv.process else {
            continue;
        };
        txns.push(T {
            session: p,
            ok: pair.outcome == Outcome::Ok,
            ops: txn_of(&inv.f, history.value(pair)).unwrap(),
        });
    }
    let n = txns.len();
    let mut writer: HashMap<(Value, Value), (usize, usize)> = HashMap::new();
    let mut list_keys = HashSet::new();
    for (t, txn) in txns.iter().enumerate() {
        for (i, op) in txn.ops.iter().enumerate() {
            match op {
                MicroOp::Write { key, value } => {
                    writer.insert((key.clone(), value.clone()), (t, i));
                }
                MicroOp::Append { key, value } => {
                    list_keys.insert(key.clone());
                    writer.insert((key.clone(), value.clone()), (t, i));
                }
                MicroOp::Read { .. } => {}
            }
        }
    }
    // Edges: session order (consecutive) and reads-from.
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut last_of: HashMap<i64, usize> = HashMap::new();
    for (t, txn) in txns.iter().enumerate() {
        if let Some(prev) = last_of.insert(txn.session, t) {
            next[prev].push(t);
        }
        if !txn.ok {
            continue;
        }
        for (i, op) in txn.ops.iter().enumerate() {
            if let MicroOp::Read { key, value } = op {
                // A register read after the transaction's own write is internal: no edge.
                if !list_keys.contains(key)
                    && txn.ops[..i].iter().any(|o| o.is_write() && o.key() == key)
                {
                    continue;
                }
                let items: Vec<&Value> = match value {
                    Value::List(items) if list_keys.contains(key) => items.iter().collect(),
                    v => vec![v],
                };
                for item in items {
                    if let Some(&(w, _)) = writer.get(&(key.clone(), item.clone())) {
                        if w != t {
                            next[w].push(t);
                        }
                    }
                }
            }
        }
    }
    // before[a][b]: a path of one or more edges from a to b.
    let mut before = vec![vec![false; n]; n];
    for a in 0..n {
        let mut stack = next[a].clone();
        while let Some(b) = stack.pop() {
            if !before[a][b] {
                before[a][b] = true;
                stack.extend(next[b].iter().copied());
            }
        }
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |kind: &str| *counts.entry(kind.to_string()).or_default() += 1;
    if (0..n).any(|a| before[a][a]) {
        add("cyclic-co");
        return counts;
    }
    let mut last_list_read: HashMap<(i64, Value), Vec<(usize, usize)>> = HashMap::new();
    for (t, txn) in txns.iter().enumerate() {
        if !txn.ok {
            continue;
        }
        for (i, op) in txn.ops.iter().enumerate() {
            let MicroOp::Read { key, value } = op else {
                continue;
            };
            let written = writer.keys().any(|(k, _)| k == key);
            let empty = value.is_nil() || value.as_list().is_some_and(|l| l.is_empty());
            if !written && empty {
                continue;
            }
            let own_before = txn.ops[..i].iter().any(|o| o.is_write() && o.key() == key);
            if own_before && !list_keys.contains(key) {
                continue;
            }
            let thin = match value {
                Value::List(items) if list_keys.contains(key) => items
                    .iter()
                    .any(|item| !writer.contains_key(&(key.clone(), item.clone()))),
                Value::Nil => false,
                v => !writer.contains_key(&(key.clone(), v.clone())),
            };
            if thin {
                add("thin-air-read");
                continue;
            }
            // The same read again in one transaction is reported once.
            let normal = |v: &Value| match v {
                Value::Nil if list_keys.contains(key) => Value::List(Vec::new()),
                v => v.clone(),
            };
            if txn.ops[..i].iter().any(
                |o| matches!(o, MicroOp::Read { key: k, value: v } if k == key && normal(v) == normal(value)),
            ) {
                continue;
            }
            let writes_of_key = |w: &(usize, usize)| {
                txns[w.0]
                    .ops
                    .get(w.1)
                    .map(|o| o.key() == key && o.is_write())
                    == Some(true)
            };
            // Every write of the key in the strict past of `t`.
            let past: Vec<(usize, usize)> = writer
                .iter()
                .filter(|((k, _), &(w, _))| k == key && w != t && before[w][t])
                .map(|(_, &w)| w)
                .collect();
            if !list_keys.contains(key) {
                if value.is_nil() {
                    if !past.is_empty() {
                        add("write-co-init-read");
                    }
                    continue;
                }
                let Some(&(w, _)) = writer.get(&(key.clone(), value.clone())) else {
                    add("thin-air-read");
                    continue;
                };
                if w == t {
                    continue;
                }
                if past
                    .iter()
                    .filter(|x| writes_of_key(x))
                    .any(|&(w2, _)| w2 != w && before[w][w2])
                {
                    add("write-co-read");
                }
                continue;
            }
            let items: &[Value] = match value {
                Value::Nil => &[],
                Value::List(items) => items,
                _ => unreachable!(),
            };
            let mut elems = Vec::new();
            let mut thin = false;
            for item in items {
                match writer.get(&(key.clone(), item.clone())) {
                    Some(&w) => elems.push(w),
                    None => thin = true,
                }
            }
            if thin {
                add("thin-air-read");
                continue;
            }
            let others: Vec<(usize, usize)> = elems.iter().copied().filter(|w| w.0 != t).collect();
            let seen: HashSet<(usize, usize)> = others.iter().copied().collect();
            let duplicates = seen.len() != others.len();
            let mut reported = false;
            if past.iter().any(|w| !seen.contains(w)) {
                reported = true;
                add(if others.is_empty() {
                    "write-co-init-read"
                } else {
                    "write-co-read"
                });
            } else if !duplicates {
                let inverted = others.iter().enumerate().any(|(a, x)| {
                    others[a + 1..]
                        .iter()
                        .any(|y| before[y.0][x.0] || (y.0 == x.0 && y.1 < x.1))
                });
                if inverted {
                    reported = true;
                    add("causal-order-inversion");
                }
            }
            if let Some(prev) = last_list_read.insert((txn.session, key.clone()), elems.clone()) {
                if !reported && !duplicates && !elems.starts_with(&prev) {
                    add("incompatible-order");
                }
            }
        }
    }
    counts
}

#[test]
fn a_causally_consistent_store_with_one_injected_stale_read_fails() {
    use schism_checkers::causal::sim::inject_initial_read;
    for (name, shape) in shapes() {
        let options = SimOptions {
            seed: 3,
            delivery: Delivery::Causal,
            transactions: 300,
            ..shape
        };
        let mut history = simulate(&options);
        let middle = history.ops.len() / 2;
        assert!(inject_initial_read(&mut history, middle));
        let injected = history.pair().unwrap();
        let result = check(&injected, &CausalOptions::default());
        assert_eq!(result.validity, Validity::Invalid, "{name}");
        assert_eq!(
            result.stats.anomaly_counts.keys().collect::<Vec<_>>(),
            ["write-co-init-read"],
            "{name}:\n{}",
            result.explain()
        );
    }
}

#[test]
fn crashed_sessions_chains_are_reused() {
    let options = SimOptions {
        seed: 1,
        transactions: 1000,
        crash_per_mille: 50,
        ..SimOptions::default()
    };
    let (_, result) = run(&options);
    assert_eq!(result.validity, Validity::Valid, "{}", result.explain());
    let stats = &result.stats;
    assert!(stats.sessions > 50, "{stats:?}");
    assert!(stats.chains * 2 < stats.sessions, "{stats:?}");
}

/// A random history, not from any store: reads return any value written to the key by any
/// operation (later ones and failed ones included), or one never written, so cycles,
/// thin-air reads and every other pattern turn up.
fn random_history(seed: u64) -> History {
    let mut rng = Rng::new(seed);
    let n = 2 + rng.below(12);
    // (process slot, outcome, micro-ops as (read, key, value)).
    let mut plans = Vec::new();
    let mut next_value = 1;
    for _ in 0..n {
        let slot = rng.below(3) as i64;
        let outcome = match rng.below(10) {
            0 => OpType::Info,
            1 => OpType::Fail,
            _ => OpType::Ok,
        };
        let ops: Vec<(bool, i64, i64)> = (0..1 + rng.below(3))
            .map(|_| {
                let read = rng.below(2) == 0;
                let key = rng.below(4) as i64;
                let value = if read { 0 } else { next_value };
                if !read {
                    next_value += 1;
                }
                (read, key, value)
            })
            .collect();
        plans.push((slot, outcome, ops));
    }
    // Keys 0 and 1 are registers, 2 and 3 lists.
    let written = |key: i64| -> Vec<i64> {
        plans
            .iter()
            .flat_map(|(_, _, ops)| ops.iter())
            .filter(|&&(read, k, _)| !read && k == key)
            .map(|&(_, _, v)| v)
            .collect()
    };
    let mut history = Vec::new();
    let mut process = [0i64, 1, 2];
    for (slot, outcome, ops) in &plans {
        let p = Process::Client(process[*slot as usize]);
        let mut invoke = Vec::new();
        let mut complete = Vec::new();
        for &(read, key, value) in ops {
            let list = key >= 2;
            let name = match (read, list) {
                (true, _) => "r",
                (false, true) => "append",
                (false, false) => "w",
            };
            let seen = if !read {
                Value::Int(value)
            } else {
                let mut pool = written(key);
                if list {
                    let mut items = Vec::new();
                    while !pool.is_empty() && rng.below(3) > 0 {
                        items.push(Value::Int(pool.swap_remove(rng.below(pool.len()))));
                    }
                    if rng.below(8) == 0 {
                        items.push(Value::Int(999));
                    }
                    if items.is_empty() && rng.below(2) == 0 {
                        Value::Nil
                    } else {
                        Value::List(items)
                    }
                } else {
                    match rng.below(pool.len() + 2) {
                        0 => Value::Nil,
                        i if i <= pool.len() => Value::Int(pool[i - 1]),
                        _ => Value::Int(999),
                    }
                }
            };
            let micro = |v: Value| Value::List(vec![Value::from(name), Value::Int(key), v]);
            invoke.push(micro(if read { Value::Nil } else { seen.clone() }));
            complete.push(micro(seen));
        }
        let (invoke, complete) = (Value::List(invoke), Value::List(complete));
        history.push(Op::new(OpType::Invoke, p, "txn", invoke.clone()));
        let done = if *outcome == OpType::Ok {
            complete
        } else {
            invoke
        };
        history.push(Op::new(*outcome, p, "txn", done));
        if *outcome == OpType::Info {
            process[*slot as usize] += 3;
        }
    }
    History::new(history)
}

#[test]
fn agrees_with_a_naive_checker_on_random_histories() {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for seed in 0..2000 {
        let history = random_history(seed).pair().unwrap();
        let result = check(&history, &CausalOptions::default());
        let again = check(&history, &CausalOptions::default());
        assert_eq!(result, again, "seed {seed}: not deterministic");
        let expected = naive(&history);
        let context = || {
            format!(
                "seed {seed}: {:?}\n{}",
                history
                    .history()
                    .ops
                    .iter()
                    .map(|o| format!("{} {} {}", o.process, o.kind, o.value))
                    .collect::<Vec<_>>(),
                result.explain()
            )
        };
        if expected.contains_key("cyclic-co") {
            assert!(result.anomalies.contains_key("cyclic-co"), "{}", context());
        } else {
            assert_eq!(result.stats.anomaly_counts, expected, "{}", context());
        }
        for kind in result.stats.anomaly_counts.keys() {
            *seen.entry(kind.clone()).or_default() += 1;
        }
    }
    // Every kind must have turned up for the comparison to mean much.
    assert_eq!(seen.len(), 6, "{seen:?}");
}
