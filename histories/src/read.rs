//! Reading histories: choosing the format, and the buffered byte source the parsers share.
//!
//! Three formats read into the same [`History`]:
//!
//! - [`Format::Jsonl`]: schism's native JSON Lines, one operation object per line (blank lines
//!   allowed), read line by line.
//! - [`Format::Json`]: elle-cli's JSON, one top-level array of operation objects.
//! - [`Format::Edn`]: what Jepsen, Knossos and Elle write: a stream of maps, or one vector or
//!   list of maps.
//!
//! None of them reads the whole file into memory: JSON Lines goes a line at a time, and the
//! other two parse one operation at a time from a buffer of a few hundred kilobytes that is
//! refilled as they go. Peak memory is therefore the operations themselves plus one buffer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::error::HistoryError;
use crate::history::History;
use crate::op::Pos;

/// The serialized forms of a history that schism reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// JSON Lines: one operation object per line (`.jsonl`, `.ndjson`). The native format.
    Jsonl,
    /// One JSON array of operation objects, as elle-cli reads and writes (`.json`).
    Json,
    /// Jepsen's EDN: a stream of maps, or one vector or list of maps (`.edn`).
    Edn,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Json => "json",
            Format::Edn => "edn",
        }
    }

    /// The format a file name's extension names, if it names one.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "json" => Some(Format::Json),
            "edn" => Some(Format::Edn),
            _ => None,
        }
    }

    /// Guesses the format from the first bytes of the content; `None` when they hold nothing
    /// but whitespace. EDN is the only one of the three with comments (`;`) and dispatch (`#`),
    /// and its maps have keyword keys (`{:type`) where JSON's have strings (`{"type"`).
    pub fn sniff(prefix: &[u8]) -> Option<Format> {
        sniff(prefix, true).unwrap_or_default()
    }
}

/// Sniffs the format from a prefix of the content. `Err(())` means the prefix is too short to
/// tell and `complete` is false: more of the content is needed.
fn sniff(prefix: &[u8], complete: bool) -> Result<Option<Format>, ()> {
    let prefix = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let mut rest = prefix.iter().copied().filter(|b| !b.is_ascii_whitespace());
    // The next significant byte, or what to decide when there is none.
    let mut next = |at_end: Option<Format>| match rest.next() {
        Some(b) => Ok(Some(b)),
        None if complete => Err(Ok(at_end)),
        None => Err(Err(())),
    };
    let mut decide = || -> Result<Option<Format>, Result<Option<Format>, ()>> {
        Ok(Some(match next(None)? {
            Some(b'[') => match next(Some(Format::Json))? {
                Some(b'{') => match next(Some(Format::Json))? {
                    Some(b'"') | Some(b'}') => Format::Json,
                    _ => Format::Edn,
                },
                // An empty array reads the same either way.
                Some(b']') => Format::Json,
                _ => Format::Edn,
            },
            Some(b'{') => match next(Some(Format::Jsonl))? {
                Some(b'"') | Some(b'}') => Format::Jsonl,
                _ => Format::Edn,
            },
            _ => Format::Edn,
        }))
    };
    match decide() {
        Ok(format) => Ok(format),
        Err(at_end) => at_end,
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// Parses a format's name (`jsonl`, `json`, `edn`), as a command line gives it.
    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "json" => Ok(Format::Json),
            "edn" => Ok(Format::Edn),
            _ => Err(format!(
                "unknown history format {s:?} (expected jsonl, json or edn)"
            )),
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many bytes the format sniffer may look at.
const SNIFF_BYTES: usize = 4096;

/// Reads a history from a file, `-` meaning standard input. The format comes from the file's
/// extension (`.jsonl`/`.ndjson`, `.json`, `.edn`), or, for standard input and other
/// extensions, from the content (see [`Format::sniff`]); content that says nothing reads as
/// JSON Lines.
pub fn read_path(path: &Path) -> Result<History, HistoryError> {
    if path.as_os_str() == "-" {
        let stdin = io::stdin();
        let reader = BufReader::with_capacity(64 * 1024, stdin.lock());
        return read_sniffed(reader, "-");
    }
    let source_name = path.display().to_string();
    let file = File::open(path).map_err(|error| HistoryError::Io {
        source_name: source_name.clone(),
        error,
    })?;
    let reader = BufReader::with_capacity(64 * 1024, file);
    match Format::from_extension(path) {
        Some(format) => read_from(reader, &source_name, format),
        None => read_sniffed(reader, &source_name),
    }
}

fn read_sniffed(mut reader: impl BufRead, source_name: &str) -> Result<History, HistoryError> {
    let io_error = |error| HistoryError::Io {
        source_name: source_name.to_string(),
        error,
    };
    // Look at the start of the content without consuming it. A reader may hand out fewer
    // bytes than asked for at a time, so gather a prefix and read on after it.
    let mut prefix = Vec::new();
    let format = loop {
        let chunk = reader.fill_buf().map_err(io_error)?;
        if chunk.is_empty() {
            break Format::sniff(&prefix).unwrap_or(Format::Jsonl);
        }
        let take = chunk
            .len()
            .min(SNIFF_BYTES.saturating_sub(prefix.len()).max(1));
        prefix.extend_from_slice(&chunk[..take]);
        reader.consume(take);
        if let Ok(format) = sniff(&prefix, false) {
            break format.unwrap_or(Format::Jsonl);
        }
        if prefix.len() >= SNIFF_BYTES {
            break Format::Jsonl;
        }
    };
    read_from(io::Cursor::new(prefix).chain(reader), source_name, format)
}

/// Reads a history in the given format from a reader. `source_name` names the source in
/// errors and becomes [`History::source_name`].
pub fn read_from(
    reader: impl BufRead,
    source_name: &str,
    format: Format,
) -> Result<History, HistoryError> {
    let ops = match format {
        Format::Jsonl => crate::json::read_jsonl(reader, source_name)?,
        Format::Json => crate::json::read_json_array(reader, source_name)?,
        Format::Edn => crate::edn::read_edn_ops(reader, source_name)?,
    };
    Ok(History {
        source_name: source_name.to_string(),
        ops,
    })
}

/// Reads a history in the given format from text in memory.
pub fn read_str(text: &str, source_name: &str, format: Format) -> Result<History, HistoryError> {
    read_from(text.as_bytes(), source_name, format)
}

/// A byte buffer over a reader, refilled a chunk at a time, that knows the line and column of
/// any offset at or after the last one asked about.
///
/// Parsers work on [`Chunks::rest`]; when they run out of bytes in the middle of an operation
/// they say so, and the caller calls [`Chunks::more`] and parses the operation again from its
/// start. Only the unconsumed tail is kept across refills, so the buffer stays about one
/// chunk long unless a single operation is longer.
pub(crate) struct Chunks<R> {
    reader: R,
    /// Allocated and zeroed once per growth; the bytes read are `buf[..end]`.
    buf: Vec<u8>,
    end: usize,
    /// Bytes of `buf` before this offset are consumed.
    pub(crate) start: usize,
    /// The reader has no more bytes: running out of `buf` is the end of the input.
    pub(crate) eof: bool,
    /// The offset in the whole input of `buf[0]`.
    base: u64,
    /// The offset in the whole input up to which lines and columns are counted, and the
    /// line and column there.
    counted: u64,
    line: u32,
    column: u32,
    pub(crate) source_name: String,
}

const CHUNK_BYTES: usize = 256 * 1024;

impl<R: Read> Chunks<R> {
    pub(crate) fn new(reader: R, source_name: &str) -> Chunks<R> {
        Chunks {
            reader,
            buf: Vec::new(),
            end: 0,
            start: 0,
            eof: false,
            base: 0,
            counted: 0,
            line: 1,
            column: 1,
            source_name: source_name.to_string(),
        }
    }

    /// The unconsumed bytes.
    pub(crate) fn rest(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Drops the consumed bytes and reads more, or sets `eof`.
    pub(crate) fn more(&mut self) -> Result<(), HistoryError> {
        let start = self.base + self.start as u64;
        self.count_to(start);
        let kept = self.start.min(self.end)..self.end;
        let kept_len = kept.len();
        self.buf.copy_within(kept, 0);
        self.end = kept_len;
        self.base = start;
        self.start = 0;
        if self.end == self.buf.len() {
            // Full: grow by at least as much as is kept, so that an operation longer than a
            // chunk costs a logarithmic number of re-parses, not a linear one. The buffer is
            // zeroed only when it grows, not at every read.
            let len = CHUNK_BYTES.max(2 * self.buf.len());
            self.buf.resize(len, 0);
        }
        let result = loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(n) => break Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        };
        match result {
            Ok(n) => {
                self.end += n;
                if n == 0 {
                    self.eof = true;
                }
                Ok(())
            }
            Err(error) => Err(HistoryError::Io {
                source_name: self.source_name.clone(),
                error,
            }),
        }
    }

    /// Counts lines and columns up to the offset `at` of the whole input.
    fn count_to(&mut self, at: u64) {
        if at <= self.counted {
            return;
        }
        let from = (self.counted.saturating_sub(self.base)) as usize;
        let to = (at.saturating_sub(self.base) as usize).min(self.end);
        let bytes = self.buf.get(from..to).unwrap_or_default();
        let (line, column) = advance(self.line, self.column, bytes);
        self.line = line;
        self.column = column;
        self.counted = self.base + to as u64;
    }

    /// The line and column of the byte at `offset` in [`Chunks::rest`]. Offsets asked about
    /// must not decrease (except to ask about the same one again).
    pub(crate) fn pos(&mut self, offset: usize) -> Pos {
        self.count_to(self.base + (self.start + offset) as u64);
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    /// A syntax error at `offset` in [`Chunks::rest`].
    pub(crate) fn error_at(&mut self, offset: usize, message: String) -> HistoryError {
        let pos = self.pos(offset);
        self.error_at_pos(pos, message)
    }

    pub(crate) fn error_at_pos(&self, pos: Pos, message: String) -> HistoryError {
        HistoryError::Syntax {
            source_name: self.source_name.clone(),
            pos,
            message,
        }
    }
}

/// Moves a line and column (1-based, columns counted in characters) over `bytes`.
pub(crate) fn advance(line: u32, column: u32, bytes: &[u8]) -> (u32, u32) {
    match memchr::memrchr(b'\n', bytes) {
        Some(last) => {
            let newlines = memchr::memchr_iter(b'\n', bytes).count() as u32;
            let after = bytes.get(last + 1..).unwrap_or_default();
            (line.saturating_add(newlines), 1 + chars(after))
        }
        None => (line, column.saturating_add(chars(bytes))),
    }
}

/// The number of UTF-8 characters in `bytes`: the bytes that are not continuation bytes.
pub(crate) fn chars(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_formats() {
        let cases: &[(&str, Option<Format>)] = &[
            ("", None),
            ("  \n", None),
            ("; comment\n{:type :invoke}", Some(Format::Edn)),
            ("#jepsen.history.Op{:type :ok}", Some(Format::Edn)),
            ("{:type :invoke}", Some(Format::Edn)),
            ("{\"type\": \"invoke\"}", Some(Format::Jsonl)),
            (" [ {\"type\": \"invoke\"}]", Some(Format::Json)),
            ("[{:type :invoke}]", Some(Format::Edn)),
            ("[[:append 1 2]]", Some(Format::Edn)),
            ("({:type :invoke})", Some(Format::Edn)),
            ("[]", Some(Format::Json)),
        ];
        for (text, expected) in cases {
            assert_eq!(Format::sniff(text.as_bytes()), *expected, "{text:?}");
        }
    }

    #[test]
    fn formats_from_extensions() {
        let cases = [
            ("a/history.jsonl", Some(Format::Jsonl)),
            ("h.NDJSON", Some(Format::Jsonl)),
            ("h.json", Some(Format::Json)),
            ("history.edn", Some(Format::Edn)),
            ("history.txt", None),
            ("history", None),
        ];
        for (path, expected) in cases {
            assert_eq!(Format::from_extension(Path::new(path)), expected, "{path}");
        }
    }

    #[test]
    fn reads_what_it_sniffs() {
        let texts = [
            "; Jepsen\n{:type :invoke, :process 0, :f :read}\n{:type :ok, :process 0, :f :read, :value 1}",
            "  [{\"type\": \"invoke\", \"process\": 0, \"f\": \"read\"},\n{\"type\": \"ok\", \"process\": 0, \"f\": \"read\", \"value\": 1}]",
            "\n{\"type\": \"invoke\", \"process\": 0, \"f\": \"read\"}\n{\"type\": \"ok\", \"process\": 0, \"f\": \"read\", \"value\": 1}\n",
        ];
        for text in texts {
            // A one-byte buffer makes the sniffer gather its prefix over many reads.
            let reader = BufReader::with_capacity(1, text.as_bytes());
            let history = read_sniffed(reader, "-").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(history.ops.len(), 2, "{text}");
            assert_eq!(history.ops[1].value, crate::Value::Int(1), "{text}");
            assert_eq!(history.source_name, "-");
        }
        assert!(read_sniffed(&b""[..], "-").unwrap().ops.is_empty());
    }

    #[test]
    fn counts_lines_and_characters() {
        assert_eq!(advance(1, 1, b"ab"), (1, 3));
        assert_eq!(advance(1, 5, b"ab\ncd\n\xc3\xa9x"), (3, 3));
    }
}
