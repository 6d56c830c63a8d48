//! A write-ahead log of JSON lines, fsynced before any append returns, and atomic file
//! replacement. A torn last line (a crash in the middle of a write) is dropped on open: it was
//! never acknowledged, because acknowledgement waits for the fsync.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// An append-only file of JSON records, one a line.
#[derive(Debug)]
pub struct Wal {
    path: PathBuf,
    file: File,
    /// Records in the file, so that callers can decide when to compact it.
    pub records: usize,
}

impl Wal {
    /// Opens (or creates) the log and reads every complete record in it.
    pub fn open<T: DeserializeOwned>(path: &Path) -> io::Result<(Wal, Vec<T>)> {
        let mut recs = Vec::new();
        let mut valid_len: u64 = 0;
        if path.exists() {
            let reader = BufReader::new(File::open(path)?);
            for line in reader.split(b'\n') {
                let line = line?;
                match serde_json::from_slice::<T>(&line) {
                    Ok(r) => {
                        recs.push(r);
                        valid_len += line.len() as u64 + 1;
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "dropping torn tail of the log");
                        break;
                    }
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)?;
        // Cut a torn tail so that the next append starts on a fresh line.
        if file.metadata()?.len() != valid_len {
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        let mut file = file;
        use std::io::Seek;
        file.seek(io::SeekFrom::End(0))?;
        let records = recs.len();
        Ok((
            Wal {
                path: path.to_path_buf(),
                file,
                records,
            },
            recs,
        ))
    }

    /// Appends records and fsyncs them.
    pub fn append<T: Serialize>(&mut self, recs: &[T]) -> io::Result<()> {
        if recs.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in recs {
            serde_json::to_writer(&mut buf, r).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.records += recs.len();
        Ok(())
    }

    /// Replaces the whole log by `recs`, atomically.
    pub fn rewrite<T: Serialize>(&mut self, recs: &[T]) -> io::Result<()> {
        let mut buf = Vec::new();
        for r in recs {
            serde_json::to_writer(&mut buf, r).map_err(io::Error::other)?;
            buf.push(b'\n');
        }
        write_atomic(&self.path, &buf)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.records = recs.len();
        Ok(())
    }
}

/// Writes a file through a temporary file, fsync and rename, then fsyncs the directory, so that
/// a crash leaves either the old or the new content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_dropped_and_appends_continue() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        {
            let (mut w, recs) = Wal::open::<u32>(&p).unwrap();
            assert!(recs.is_empty());
            w.append(&[1u32, 2, 3]).unwrap();
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"4")
            .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"x")
            .unwrap();
        {
            let (mut w, recs) = Wal::open::<u32>(&p).unwrap();
            assert_eq!(recs, vec![1, 2, 3]);
            w.append(&[5u32]).unwrap();
        }
        let (mut w, recs) = Wal::open::<u32>(&p).unwrap();
        assert_eq!(recs, vec![1, 2, 3, 5]);
        w.rewrite(&[9u32]).unwrap();
        w.append(&[10u32]).unwrap();
        let (_, recs) = Wal::open::<u32>(&p).unwrap();
        assert_eq!(recs, vec![9, 10]);
    }
}
