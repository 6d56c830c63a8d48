//! Property tests: histories of a simulated linearizable register must check valid; the same
//! history with one `ok` read changed to a value nobody wrote must check invalid; and
//! `minimize` must return an invalid history that turns valid when any one operation goes.

use proptest::prelude::*;
use schism_checkers::linearizable::sim::{simulate_register, SimOptions};
use schism_checkers::linearizable::{check, minimize, LinearOptions, Model};
use schism_checkers::Validity;
use schism_histories::{History, OpType, PairedHistory, Value};

fn options(cas: bool) -> LinearOptions {
    LinearOptions::new(if cas {
        Model::CasRegister
    } else {
        Model::Register
    })
    .with_init(Value::Int(0))
}

fn sim() -> impl Strategy<Value = SimOptions> {
    (
        any::<u64>(),
        1usize..=20,
        0usize..60,
        0u32..=10,
        any::<bool>(),
        prop::option::of(1u64..4),
    )
        .prop_map(
            |(seed, processes, operations, info_percent, cas, keys)| SimOptions {
                seed,
                processes,
                operations,
                info_percent,
                cas,
                values: 5,
                keys,
            },
        )
}

/// Changes the `ok` read chosen by `pick` to a value no operation writes.
fn make_stale(history: &History, pick: usize) -> Option<History> {
    let reads: Vec<usize> = history
        .ops
        .iter()
        .enumerate()
        .filter(|(_, op)| op.kind == OpType::Ok && op.f == "read")
        .map(|(i, _)| i)
        .collect();
    let &at = reads.get(pick % reads.len().max(1))?;
    let mut stale = history.clone();
    let op = &mut stale.ops[at];
    op.value = match &op.value {
        Value::List(kv) => Value::List(vec![kv[0].clone(), Value::Int(1_000_000)]),
        _ => Value::Int(1_000_000),
    };
    Some(stale)
}

/// The history without the client operation whose invocation has index `index`.
fn without(history: &PairedHistory, index: u64) -> PairedHistory {
    let pair = history
        .pairs()
        .iter()
        .find(|p| history.invocation(p).index == index)
        .copied()
        .unwrap();
    let ops = history
        .history()
        .ops
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != pair.invoke && Some(*i) != pair.complete)
        .map(|(_, op)| op.clone())
        .collect();
    History {
        source_name: history.source_name().to_string(),
        ops,
    }
    .pair()
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn simulated_registers_are_linearizable(sim in sim()) {
        let history = simulate_register(&sim).pair().unwrap();
        let result = check(&history, &options(sim.cas).with_keyed(Some(sim.keys.is_some())));
        prop_assert_eq!(result.validity, Validity::Valid, "{}", result.explain());
    }

    #[test]
    fn a_stale_read_is_found_and_minimized(sim in sim(), pick in any::<usize>()) {
        let history = simulate_register(&sim);
        let Some(stale) = make_stale(&history, pick) else {
            return Ok(());
        };
        let options = options(sim.cas).with_keyed(Some(sim.keys.is_some()));
        let stale = stale.pair().unwrap();
        let result = check(&stale, &options);
        prop_assert_eq!(result.validity, Validity::Invalid, "{}", result.explain());
        prop_assert!(result.witness.is_some());

        let minimized = minimize(&stale, &options);
        prop_assert!(minimized.complete, "{}", minimized.explain());
        let small = minimized.history.clone().pair().unwrap();
        prop_assert_eq!(check(&small, &options).validity, Validity::Invalid);
        for &index in &minimized.kept {
            let smaller = without(&small, index);
            prop_assert_eq!(
                check(&smaller, &options).validity,
                Validity::Valid,
                "removing {} from\n{}", index, minimized.explain()
            );
        }
    }
}
