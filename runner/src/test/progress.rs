//! The progress line on stderr, once a second: elapsed and limit, ok/fail/info counts and
//! the faults in force, so that a person watching a run sees it move and sees what it does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::test::store::{Counts, Recorder};

/// The faults in force, by name, with a short description; shared with the nemesis.
#[derive(Clone, Debug, Default)]
pub struct ActiveFaults(Arc<Mutex<BTreeMap<String, String>>>);

impl ActiveFaults {
    pub fn set(&self, name: &str, description: String) {
        self.lock().insert(name.to_string(), description);
    }

    pub fn clear(&self, name: &str) {
        self.lock().remove(name);
    }

    pub fn clear_all(&self) {
        self.lock().clear();
    }

    pub fn describe(&self) -> String {
        let faults = self.lock();
        if faults.is_empty() {
            "none".to_string()
        } else {
            faults
                .iter()
                .map(|(k, v)| {
                    if v.is_empty() {
                        k.clone()
                    } else {
                        format!("{k} {v}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One progress line.
pub fn line(phase: &str, elapsed_s: f64, limit_s: f64, counts: Counts, faults: &str) -> String {
    format!(
        "[{elapsed_s:6.1}/{limit_s:.0} s] {phase:<6} ok {:>7}  fail {:>5}  info {:>5}  faults: {faults}",
        counts.ok, counts.fail, counts.info
    )
}

/// Prints a progress line every second until `stop` turns true. `phase` names what the test
/// is doing (load, heal, final).
pub async fn report(
    recorder: Arc<Recorder>,
    faults: ActiveFaults,
    phase: watch::Receiver<&'static str>,
    limit_s: f64,
    mut stop: watch::Receiver<bool>,
) {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let p = *phase.borrow();
        eprintln!(
            "{}",
            line(
                p,
                start.elapsed().as_secs_f64(),
                limit_s,
                recorder.counts(),
                &faults.describe()
            )
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_time_counts_and_faults() {
        let faults = ActiveFaults::default();
        faults.set("partition", "n1 | n2 n3".to_string());
        faults.set("clock", String::new());
        let counts = Counts {
            ok: 12,
            fail: 1,
            info: 2,
        };
        expect_test::expect!["[  12.5/60 s] load   ok      12  fail     1  info     2  faults: clock; partition n1 | n2 n3"]
            .assert_eq(&line("load", 12.5, 60.0, counts, &faults.describe()));
        faults.clear_all();
        assert_eq!(faults.describe(), "none");
    }
}
