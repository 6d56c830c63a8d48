//! The run store: `store/<test-name>/<start time>/` holding `test.json`, `history.jsonl`
//! (streamed while the test runs), `results.json` (written atomically at the end) and
//! `nodes/<node>/` (node logs and data), with `store/latest` and `store/<test-name>/latest`
//! links to the newest run (Jepsen's `store/`).
//!
//! The history is written by `schism_histories::JsonlWriter`, the one writer of the stable
//! format. The [`Recorder`] gives each operation its index and time under one lock, so that indices
//! follow real time and times never go backwards, and streams it to `history.jsonl`. The file
//! is flushed by [`Recorder::flush`], which the harness calls every 100 ms: a harness that
//! crashes keeps every operation completed before the last flush.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use schism_histories::{JsonlWriter, Op, OpType, Process, Value};

/// A run directory.
#[derive(Clone, Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `store/<name>/<start time>/` and its `nodes/` folder, and points the `latest`
    /// links at it.
    pub fn create(store: &Path, name: &str, start: SystemTime) -> io::Result<RunDir> {
        // Nodes run in their own working directories, so every path handed to them must be
        // absolute.
        let store = std::path::absolute(store)?;
        let test_dir = store.join(name);
        let mut stamp = timestamp(start);
        let mut path = test_dir.join(&stamp);
        // Two runs started in the same millisecond get distinct folders.
        let mut n = 1;
        while path.exists() {
            stamp = format!("{}-{n}", timestamp(start));
            path = test_dir.join(&stamp);
            n += 1;
        }
        fs::create_dir_all(path.join("nodes"))?;
        relink(&store.join("latest"), &Path::new(name).join(&stamp))?;
        relink(&test_dir.join("latest"), Path::new(&stamp))?;
        Ok(RunDir { path })
    }

    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.path.join("nodes").join(node)
    }

    pub fn history_path(&self) -> PathBuf {
        self.path.join("history.jsonl")
    }

    /// Writes a file of the run directory atomically: a temporary file, then a rename.
    pub fn write_atomic(&self, file_name: &str, contents: &[u8]) -> io::Result<()> {
        write_atomic(&self.path.join(file_name), contents)
    }
}

/// Writes `path` atomically: readers see the old file or the whole new one, never a part.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Points the symlink `link` at `target` (relative to the link's folder), replacing it.
fn relink(link: &Path, target: &Path) -> io::Result<()> {
    let tmp = link.with_file_name(".latest.tmp");
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link)
}

/// `20261127T120301.123Z`: the UTC time, to the millisecond, in a form that sorts and is a
/// valid file name everywhere.
pub fn timestamp(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Counts of completed client operations, for the progress line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

struct Inner {
    next_index: u64,
    last_time: i64,
    out: Option<JsonlWriter<BufWriter<Box<dyn Write + Send>>>>,
    /// The history so far, kept for the checkers when asked.
    ops: Option<Vec<Op>>,
    counts: Counts,
    /// The first write error; later writes are skipped and the run ends with it.
    error: Option<String>,
}

/// Gives operations their index and time and streams them to the history file.
pub struct Recorder {
    start: Instant,
    inner: Mutex<Inner>,
}

impl Recorder {
    /// A recorder writing to `out` (if any) and keeping the history in memory (if `keep`).
    pub fn new(out: Option<Box<dyn Write + Send>>, keep: bool) -> Recorder {
        Recorder {
            start: Instant::now(),
            inner: Mutex::new(Inner {
                next_index: 0,
                last_time: 0,
                out: out.map(|w| JsonlWriter::new(BufWriter::with_capacity(1 << 16, w))),
                ops: keep.then(Vec::new),
                counts: Counts::default(),
                error: None,
            }),
        }
    }

    /// A recorder streaming to a new file at `path`.
    pub fn create(path: &Path, keep: bool) -> io::Result<Recorder> {
        let file = File::create(path)?;
        Ok(Recorder::new(Some(Box::new(file)), keep))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one operation, stamping its index and its time (nanoseconds since the
    /// recorder was made), and returns them.
    pub fn record(&self, mut op: Op) -> (u64, i64) {
        let mut inner = self.lock();
        let now = i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX);
        // The monotonic clock never goes back, but the lock keeps the promise either way.
        let time = now.max(inner.last_time);
        inner.last_time = time;
        op.index = inner.next_index;
        op.time = time;
        inner.next_index += 1;
        if op.process.is_client() {
            match op.kind {
                OpType::Ok => inner.counts.ok += 1,
                OpType::Fail => inner.counts.fail += 1,
                OpType::Info => inner.counts.info += 1,
                OpType::Invoke => {}
            }
        }
        if inner.error.is_none() {
            if let Some(out) = inner.out.as_mut() {
                let written = out.write_op(&op);
                if let Err(e) = written {
                    inner.error = Some(format!("failed to write the history: {e}"));
                }
            }
        }
        let stamp = (op.index, op.time);
        if let Some(ops) = inner.ops.as_mut() {
            ops.push(op);
        }
        stamp
    }

    /// Records a nemesis operation (`info`, as Jepsen records them).
    pub fn nemesis(&self, f: &str, value: Value) {
        self.record(Op::new(OpType::Info, Process::Nemesis, f, value));
    }

    /// Writes buffered lines through to the file.
    pub fn flush(&self) {
        let mut inner = self.lock();
        if inner.error.is_none() {
            if let Some(Err(e)) = inner.out.as_mut().map(|o| o.flush()) {
                inner.error = Some(format!("failed to write the history: {e}"));
            }
        }
    }

    pub fn counts(&self) -> Counts {
        self.lock().counts
    }

    pub fn len(&self) -> u64 {
        self.lock().next_index
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nanoseconds since the recorder was made.
    pub fn now(&self) -> i64 {
        i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }

    /// Flushes and hands back the kept history, or the first write error.
    pub fn finish(&self) -> Result<Vec<Op>, String> {
        self.flush();
        let mut inner = self.lock();
        if let Some(e) = inner.error.take() {
            return Err(e);
        }
        Ok(inner.ops.take().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_utc_to_the_millisecond() {
        let cases = [
            (0, "19700101T000000.000Z"),
            (1_795_780_981_123, "20261127T120301.123Z"),
            (951_782_400_000, "20000229T000000.000Z"),
        ];
        for (ms, expected) in cases {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            assert_eq!(timestamp(t), expected);
        }
    }

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn records_stream_as_json_lines_with_rising_indices() {
        let sink = Shared::default();
        let rec = Recorder::new(Some(Box::new(sink.clone())), true);
        let mut inv = Op::new(OpType::Invoke, Process::Client(3), "write", Value::Int(4));
        inv.node = Some("n1".into());
        rec.record(inv);
        rec.nemesis("partition", Value::Nil);
        let mut done = Op::new(OpType::Info, Process::Client(3), "write", Value::Int(4));
        done.error = Some(Value::Str("timeout".into()));
        rec.record(done);
        let ops = rec.finish().unwrap();
        assert_eq!(ops.len(), 3);
        assert!(ops.windows(2).all(|w| w[0].time <= w[1].time));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["index"], 0);
        assert_eq!(lines[0]["node"], "n1");
        assert_eq!(lines[1]["process"], "nemesis");
        assert_eq!(lines[2]["error"], "timeout");
        assert_eq!(
            rec.counts(),
            Counts {
                ok: 0,
                fail: 0,
                info: 1
            }
        );
    }

    #[test]
    fn run_dirs_are_linked_as_latest() {
        let store = std::env::temp_dir().join(format!("schism-store-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&store);
        let t = UNIX_EPOCH + Duration::from_millis(1_795_780_981_123);
        let a = RunDir::create(&store, "mmkv-raft-register-none", t).unwrap();
        let b = RunDir::create(&store, "mmkv-raft-register-none", t).unwrap();
        assert_ne!(a.path, b.path);
        b.write_atomic("results.json", b"{}").unwrap();
        assert_eq!(fs::read(store.join("latest/results.json")).unwrap(), b"{}");
        assert_eq!(
            fs::read(store.join("mmkv-raft-register-none/latest/results.json")).unwrap(),
            b"{}"
        );
        fs::remove_dir_all(&store).unwrap();
    }

    /// Regression: a relative `--store` reached the nodes as relative data directories, which
    /// they resolved against their own working directories.
    #[test]
    fn regression_run_dirs_are_absolute_even_for_a_relative_store() {
        let relative = PathBuf::from(format!("schism-relative-store-{}", std::process::id()));
        let run = RunDir::create(&relative, "t", UNIX_EPOCH).unwrap();
        assert!(run.path.is_absolute(), "{}", run.path.display());
        assert!(run.node_dir("n1").is_absolute());
        fs::remove_dir_all(&relative).unwrap();
    }
}
