//! A reader for EDN (extensible data notation, <https://github.com/edn-format/edn>), as
//! Jepsen, Knossos and Elle write their histories.
//!
//! It reads what those tools print: `;` comments, commas as whitespace, `#_` discards,
//! keywords, symbols, `nil`, booleans, integers (with an `N` suffix too), floats (with an `M`
//! suffix, and `##Inf`, `##-Inf`, `##NaN`), strings with escapes, characters (read as
//! one-character strings), vectors and lists (both read as [`Value::List`], since Clojure
//! holds them equal), sets, maps, and tagged values. A tag is dropped and the value under it
//! kept: `#jepsen.history.Op{...}` reads as the map, `#inst "..."` and `#uuid "..."` as the
//! string, `#object[...]` as the vector.
//!
//! The parser works on bytes and allocates only for the values it returns. Integers that do
//! not fit in 64 bits are an error (schism's values are `i64`), and so is nesting deeper than
//! [`MAX_DEPTH`], so that hostile input cannot overflow the stack.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use smol_str::SmolStr;

use crate::convert::{not_a_map, Field, OpFields};
use crate::error::HistoryError;
use crate::op::{Op, Pos};
use crate::read::{advance, Chunks};
use crate::value::Value;

/// How deeply collections and tags may nest.
pub const MAX_DEPTH: u32 = 256;

/// Why parsing stopped.
#[derive(Debug)]
enum Stop {
    /// The buffer ended in the middle of something and more input may follow.
    Incomplete,
    /// Malformed text at this offset of the buffer.
    Syntax(usize, String),
    /// A well-formed operation with a field of the wrong type; reported at the operation.
    Field(String),
}

type Parse<T> = Result<T, Stop>;

/// Bytes that end a token: whitespace, commas and the characters that open or close something.
const fn delimiters() -> [bool; 256] {
    let mut table = [false; 256];
    let bytes = b" \t\n\r\x0b\x0c,()[]{}\";";
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

static DELIMITER: [bool; 256] = delimiters();

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' | b',')
}

fn closer_name(b: u8) -> &'static str {
    match b {
        b')' => "')'",
        b']' => "']'",
        _ => "'}'",
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    /// The buffer ends where the input ends.
    eof: bool,
    depth: u32,
}

impl<'a> Parser<'a> {
    fn new(s: &'a [u8], eof: bool) -> Parser<'a> {
        Parser {
            s,
            i: 0,
            eof,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.s.get(self.i + ahead).copied()
    }

    fn syntax<T>(&self, at: usize, message: impl Into<String>) -> Parse<T> {
        Err(Stop::Syntax(at, message.into()))
    }

    /// The end of the buffer was reached while `expected` was expected.
    fn ran_out<T>(&self, expected: &str) -> Parse<T> {
        if self.eof {
            self.syntax(
                self.i,
                format!("unexpected end of input, expected {expected}"),
            )
        } else {
            Err(Stop::Incomplete)
        }
    }

    /// The next byte, which must exist.
    fn need(&self, expected: &str) -> Parse<u8> {
        match self.peek() {
            Some(b) => Ok(b),
            None => self.ran_out(expected),
        }
    }

    fn enter(&mut self) -> Parse<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.syntax(
                self.i,
                format!("values nest more than {MAX_DEPTH} levels deep"),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skips whitespace, commas, comments and `#_` discarded values. Stops at the end of the
    /// buffer without complaint; the caller knows whether something must follow.
    fn skip_ws(&mut self) -> Parse<()> {
        loop {
            match self.peek() {
                Some(b) if is_whitespace(b) => self.i += 1,
                Some(b';') => match memchr::memchr(b'\n', &self.s[self.i..]) {
                    Some(n) => self.i += n + 1,
                    None if self.eof => self.i = self.s.len(),
                    None => return Err(Stop::Incomplete),
                },
                Some(b'#') => match self.peek_at(1) {
                    Some(b'_') => {
                        self.enter()?;
                        self.i += 2;
                        self.value()?;
                        self.leave();
                    }
                    None if !self.eof => return Err(Stop::Incomplete),
                    _ => return Ok(()),
                },
                _ => return Ok(()),
            }
        }
    }

    /// The token starting here: the bytes up to the next delimiter.
    fn token(&mut self) -> Parse<&'a [u8]> {
        let from = self.i;
        let s: &'a [u8] = self.s;
        let len = s[from..]
            .iter()
            .position(|&b| DELIMITER[b as usize])
            .unwrap_or(s.len() - from);
        if from + len == s.len() && !self.eof {
            return Err(Stop::Incomplete);
        }
        self.i = from + len;
        Ok(&s[from..from + len])
    }

    fn text(&self, at: usize, bytes: &'a [u8]) -> Parse<&'a str> {
        std::str::from_utf8(bytes).or_else(|_| self.syntax(at, "invalid UTF-8"))
    }

    /// One value, after any whitespace.
    fn value(&mut self) -> Parse<Value> {
        self.skip_ws()?;
        let at = self.i;
        let b = self.need("a value")?;
        match b {
            b'{' => self.map(),
            b'[' => Ok(Value::List(self.seq(b']')?)),
            b'(' => Ok(Value::List(self.seq(b')')?)),
            b'"' => Ok(Value::Str(self.string()?)),
            b':' => {
                self.i += 1;
                let name = self.token()?;
                if name.is_empty() {
                    return self.syntax(at, "expected a keyword name after ':'");
                }
                let name = self.text(at, name)?;
                Ok(Value::Keyword(SmolStr::new(name)))
            }
            b'\\' => self.character(),
            b'#' => self.dispatch(),
            b')' | b']' | b'}' => {
                self.syntax(at, format!("expected a value, found {}", closer_name(b)))
            }
            b'0'..=b'9' => self.number(),
            b'+' | b'-' if matches!(self.peek_at(1), Some(b'0'..=b'9')) => self.number(),
            b'+' | b'-' if self.peek_at(1).is_none() && !self.eof => Err(Stop::Incomplete),
            _ => self.symbol(),
        }
    }

    fn symbol(&mut self) -> Parse<Value> {
        let at = self.i;
        let token = self.token()?;
        if let Some(&b) = token.iter().find(|&&b| b < 0x20 || b == 0x7f) {
            return self.syntax(at, format!("unexpected character {:?}", b as char));
        }
        let name = self.text(at, token)?;
        Ok(match name {
            "nil" => Value::Nil,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Symbol(SmolStr::new(name)),
        })
    }

    fn number(&mut self) -> Parse<Value> {
        let at = self.i;
        let token = self.token()?;
        let text = self.text(at, token)?;
        let invalid = || Stop::Syntax(at, format!("invalid number {text}"));
        if let Some(digits) = text.strip_suffix('N') {
            return parse_int(digits).map(Value::Int).map_err(|e| {
                Stop::Syntax(at, e.unwrap_or_else(|| format!("invalid number {text}")))
            });
        }
        if let Some(decimal) = text.strip_suffix('M') {
            return decimal
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| invalid());
        }
        let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
        let hex = unsigned.starts_with("0x") || unsigned.starts_with("0X");
        if !hex && text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            if text
                .bytes()
                .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
            {
                return Err(invalid());
            }
            return text.parse::<f64>().map(Value::Float).map_err(|_| invalid());
        }
        parse_int(text)
            .map(Value::Int)
            .map_err(|e| Stop::Syntax(at, e.unwrap_or_else(|| format!("invalid number {text}"))))
    }

    fn string(&mut self) -> Parse<String> {
        let open = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = &self.s[self.i..];
            let Some(n) = memchr::memchr2(b'"', b'\\', rest) else {
                return if self.eof {
                    self.syntax(open, "unterminated string")
                } else {
                    Err(Stop::Incomplete)
                };
            };
            out.push_str(self.text(self.i, &rest[..n])?);
            self.i += n;
            if rest[n] == b'"' {
                self.i += 1;
                return Ok(out);
            }
            // A backslash escape.
            let esc_at = self.i;
            let Some(e) = self.peek_at(1) else {
                return self.ran_out("an escape after '\\'");
            };
            self.i += 2;
            let c = match e {
                b'n' => '\n',
                b't' => '\t',
                b'r' => '\r',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'u' => {
                    let high = self.hex4(esc_at)?;
                    if (0xD800..0xDC00).contains(&high)
                        && self.peek() == Some(b'\\')
                        && self.peek_at(1) == Some(b'u')
                    {
                        // A UTF-16 surrogate pair, as Java strings print astral characters.
                        let save = self.i;
                        self.i += 2;
                        let low = self.hex4(esc_at)?;
                        if (0xDC00..0xE000).contains(&low) {
                            let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                            char::from_u32(c).unwrap_or('\u{FFFD}')
                        } else {
                            self.i = save;
                            '\u{FFFD}'
                        }
                    } else {
                        char::from_u32(high).unwrap_or('\u{FFFD}')
                    }
                }
                other => {
                    return self.syntax(
                        esc_at,
                        format!("invalid escape \\{} in string", other as char),
                    )
                }
            };
            out.push(c);
        }
    }

    /// Four hex digits after `\u`.
    fn hex4(&mut self, esc_at: usize) -> Parse<u32> {
        let Some(digits) = self.s.get(self.i..self.i + 4) else {
            return self.ran_out("four hex digits after \\u");
        };
        let text = std::str::from_utf8(digits).ok();
        match text.and_then(|t| u32::from_str_radix(t, 16).ok()) {
            Some(n) if digits.iter().all(u8::is_ascii_hexdigit) => {
                self.i += 4;
                Ok(n)
            }
            _ => self.syntax(esc_at, "expected four hex digits after \\u"),
        }
    }

    /// A character literal, read as a one-character string: `\a`, `\newline`, `\u0041`.
    fn character(&mut self) -> Parse<Value> {
        let at = self.i;
        self.i += 1;
        let first = self.need("a character after '\\'")?;
        // The first character is taken whatever it is (`\(` and `\,` are characters); a name
        // may follow it.
        let width = match first {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        if self.s.len() < self.i + width {
            return self.ran_out("a character");
        }
        self.i += width;
        let tail = self.token()?;
        let whole = self.text(at, &self.s[at + 1..self.i])?;
        if tail.is_empty() {
            return Ok(Value::Str(whole.to_string()));
        }
        let c = match whole {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "backspace" => '\u{8}',
            "formfeed" => '\u{c}',
            _ => {
                let code = if let Some(hex) = whole.strip_prefix('u').filter(|h| h.len() == 4) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(oct) = whole.strip_prefix('o') {
                    u32::from_str_radix(oct, 8).ok().filter(|&n| n <= 0o377)
                } else {
                    None
                };
                match code.and_then(char::from_u32) {
                    Some(c) => c,
                    None => return self.syntax(at, format!("unknown character \\{whole}")),
                }
            }
        };
        Ok(Value::Str(c.to_string()))
    }

    /// What follows `#`: a set, a symbolic value, or a tag.
    fn dispatch(&mut self) -> Parse<Value> {
        let at = self.i;
        let Some(next) = self.peek_at(1) else {
            return self.ran_out("a character after '#'");
        };
        match next {
            b'{' => {
                self.i += 1;
                Ok(Value::Set(
                    self.seq(b'}')?.into_iter().collect::<BTreeSet<_>>(),
                ))
            }
            b'#' => {
                self.i += 2;
                let name = self.token()?;
                match name {
                    b"Inf" => Ok(Value::Float(f64::INFINITY)),
                    b"-Inf" => Ok(Value::Float(f64::NEG_INFINITY)),
                    b"NaN" => Ok(Value::Float(f64::NAN)),
                    _ => self.syntax(at, "expected ##Inf, ##-Inf or ##NaN"),
                }
            }
            b'"' => {
                // A Clojure regular expression; read as its source text.
                self.i += 1;
                Ok(Value::Str(self.string()?))
            }
            b':' => {
                // A Clojure namespaced map, `#:ns{:a 1}`: read as the map.
                self.i += 1;
                self.token()?;
                self.skip_ws()?;
                if self.need("'{' after a map namespace")? != b'{' {
                    return self.syntax(self.i, "expected '{' after a map namespace");
                }
                self.map()
            }
            b if b.is_ascii_alphabetic() => {
                // A tag, such as `#inst` or `#jepsen.history.Op`: the value under it is kept.
                self.enter()?;
                self.i += 1;
                self.token()?;
                let value = self.value()?;
                self.leave();
                Ok(value)
            }
            b => self.syntax(at, format!("unexpected {:?} after '#'", b as char)),
        }
    }

    /// The items of a vector, list or set, from its opening byte to `close`.
    fn seq(&mut self, close: u8) -> Parse<Vec<Value>> {
        self.enter()?;
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            let at = self.i;
            let b = self.need(match close {
                b')' => "a value or ')'",
                b']' => "a value or ']'",
                _ => "a value or '}'",
            })?;
            if b == close {
                self.i += 1;
                break;
            }
            if matches!(b, b')' | b']' | b'}') {
                return self.syntax(
                    at,
                    format!(
                        "expected a value or {}, found {}",
                        closer_name(close),
                        closer_name(b)
                    ),
                );
            }
            items.push(self.value()?);
        }
        self.leave();
        Ok(items)
    }

    /// Calls `entry` with each key and value of the map that starts here.
    fn map_entries(&mut self, mut entry: impl FnMut(Value, Value) -> Parse<()>) -> Parse<()> {
        self.enter()?;
        self.i += 1;
        loop {
            self.skip_ws()?;
            let at = self.i;
            let b = self.need("a key or '}'")?;
            if b == b'}' {
                self.i += 1;
                break;
            }
            if matches!(b, b')' | b']') {
                return self.syntax(
                    at,
                    format!("expected a key or '}}', found {}", closer_name(b)),
                );
            }
            let key = self.value()?;
            self.skip_ws()?;
            let at = self.i;
            // The message is built only when needed: this runs for every entry of every map.
            let Some(b) = self.peek() else {
                return self.ran_out(&format!("a value for the key {key}"));
            };
            if matches!(b, b')' | b']' | b'}') {
                return self.syntax(
                    at,
                    format!(
                        "expected a value for the key {key}, found {}",
                        closer_name(b)
                    ),
                );
            }
            let value = self.value()?;
            entry(key, value)?;
        }
        self.leave();
        Ok(())
    }

    fn map(&mut self) -> Parse<Value> {
        let mut map = BTreeMap::new();
        self.map_entries(|k, v| {
            map.insert(k, v);
            Ok(())
        })?;
        Ok(Value::Map(map))
    }

    /// The name of the keyword that starts here, without building a [`Value`].
    fn keyword(&mut self) -> Parse<&'a str> {
        let at = self.i;
        self.i += 1;
        let name = self.token()?;
        if name.is_empty() {
            return self.syntax(at, "expected a keyword name after ':'");
        }
        self.text(at, name)
    }

    /// An operation map, read straight into its fields. Keyword keys, and keyword values of
    /// the name-like fields (`:type :invoke`, `:f :read`), are matched without building a
    /// [`Value`]: most of an EDN history is these, and this is the reader's inner loop.
    fn op_map(&mut self) -> Parse<OpFields> {
        let mut fields = OpFields::default();
        self.enter()?;
        self.i += 1;
        loop {
            self.skip_ws()?;
            let at = self.i;
            let b = self.need("a key or '}'")?;
            if b == b'}' {
                self.i += 1;
                break;
            }
            if matches!(b, b')' | b']') {
                return self.syntax(
                    at,
                    format!("expected a key or '}}', found {}", closer_name(b)),
                );
            }
            let key_at = self.i;
            let field = if b == b':' {
                Field::from_name(self.keyword()?)
            } else {
                self.value()?.as_name().and_then(Field::from_name)
            };
            self.skip_ws()?;
            let at = self.i;
            let missing = |p: &Self| {
                // The key as written, for the message.
                let key = p.s.get(key_at..at).unwrap_or_default();
                let key = String::from_utf8_lossy(key);
                let key = key.trim_end_matches(|c: char| c == ',' || c.is_whitespace());
                format!("a value for the key {key}")
            };
            let Some(b) = self.peek() else {
                return self.ran_out(&missing(self));
            };
            if matches!(b, b')' | b']' | b'}') {
                let expected = missing(self);
                return self.syntax(at, format!("expected {expected}, found {}", closer_name(b)));
            }
            match field {
                Some(field @ (Field::Type | Field::F | Field::Process | Field::Node))
                    if b == b':' =>
                {
                    let name = self.keyword()?;
                    fields
                        .set_name(field, name, || Value::Keyword(SmolStr::new(name)))
                        .map_err(Stop::Field)?;
                }
                Some(field) => {
                    let value = self.value()?;
                    fields.set(field, value).map_err(Stop::Field)?;
                }
                None => {
                    self.value()?;
                }
            }
        }
        self.leave();
        Ok(fields)
    }

    /// One operation: a map, perhaps under a tag, read straight into its fields.
    fn op(&mut self) -> Parse<OpFields> {
        self.skip_ws()?;
        match self.need("an operation")? {
            b'{' => self.op_map(),
            b'#' if self.peek_at(1).is_some_and(|b| b.is_ascii_alphabetic()) => {
                self.enter()?;
                self.i += 1;
                self.token()?;
                let fields = self.op()?;
                self.leave();
                Ok(fields)
            }
            _ => {
                let value = self.value()?;
                Err(Stop::Field(not_a_map(&value)))
            }
        }
    }
}

/// Parses a decimal integer that must fit in an `i64`. The error is `Some` when the number is
/// well-formed but too large.
fn parse_int(text: &str) -> Result<i64, Option<String>> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        // Not EDN, but Clojure prints object addresses in hex (`#object[... 0x4bd07fe5 ...]`).
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(None);
        }
        let magnitude = i128::from_str_radix(hex, 16).ok();
        let value = magnitude.map(|m| if text.starts_with('-') { -m } else { m });
        return value
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| Some(format!("integer {text} does not fit in 64 bits")));
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(None);
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(Some(format!(
            "invalid number {text}: EDN integers have no leading zeros"
        )));
    }
    text.parse::<i64>().map_err(|_| {
        Some(format!(
            "integer {text} does not fit in 64 bits (from -2^63 to 2^63-1)"
        ))
    })
}

/// Parses every top-level value of an EDN text.
pub fn parse_edn(text: &str, source_name: &str) -> Result<Vec<Value>, HistoryError> {
    let mut parser = Parser::new(text.as_bytes(), true);
    let mut values = Vec::new();
    let stop = loop {
        if let Err(stop) = parser.skip_ws() {
            break stop;
        }
        if parser.peek().is_none() {
            return Ok(values);
        }
        match parser.value() {
            Ok(value) => values.push(value),
            Err(stop) => break stop,
        }
    };
    let (at, message) = match stop {
        Stop::Syntax(at, message) => (at, message),
        // Neither can happen with the whole text in hand, but both have a fair reading.
        Stop::Field(message) => (parser.i, message),
        Stop::Incomplete => (text.len(), "unexpected end of input".to_string()),
    };
    let head = text.as_bytes().get(..at).unwrap_or(text.as_bytes());
    let (line, column) = advance(1, 1, head);
    Err(HistoryError::Syntax {
        source_name: source_name.to_string(),
        pos: Pos { line, column },
        message,
    })
}

/// Where the reader stands in the layout of the file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Nothing read yet.
    Start,
    /// A stream of top-level operations.
    Stream,
    /// Inside one top-level vector or list, closed by this byte.
    Wrapped(u8),
    /// After the top-level vector or list closed.
    Closed,
}

/// Reads the operations of an EDN history, one at a time.
pub(crate) fn read_edn_ops(reader: impl Read, source_name: &str) -> Result<Vec<Op>, HistoryError> {
    let mut chunks = Chunks::new(reader, source_name);
    let mut ops: Vec<Op> = Vec::new();
    let mut layout = Layout::Start;
    loop {
        let mut parser = Parser::new(chunks.rest(), chunks.eof);
        match parser.skip_ws() {
            Ok(()) => {}
            Err(Stop::Incomplete) => {
                chunks.more()?;
                continue;
            }
            Err(Stop::Syntax(at, message)) => return Err(chunks.error_at(at, message)),
            Err(Stop::Field(message)) => return Err(chunks.error_at(0, message)),
        }
        let skipped = parser.i;
        let next = parser.peek();
        chunks.start += skipped;
        let Some(next) = next else {
            if !chunks.eof {
                chunks.more()?;
                continue;
            }
            if let Layout::Wrapped(close) = layout {
                return Err(chunks.error_at(
                    0,
                    format!(
                        "unexpected end of input, expected an operation or {}",
                        closer_name(close)
                    ),
                ));
            }
            break;
        };
        match layout {
            Layout::Start if next == b'[' || next == b'(' => {
                chunks.start += 1;
                layout = Layout::Wrapped(if next == b'[' { b']' } else { b')' });
                continue;
            }
            Layout::Start => layout = Layout::Stream,
            Layout::Wrapped(close) if next == close => {
                chunks.start += 1;
                layout = Layout::Closed;
                continue;
            }
            Layout::Closed => {
                return Err(chunks.error_at(
                    0,
                    "expected the end of input after the top-level collection of operations".into(),
                ))
            }
            Layout::Wrapped(_) | Layout::Stream => {}
        }
        let pos = chunks.pos(0);
        let mut parser = Parser::new(chunks.rest(), chunks.eof);
        match parser.op() {
            Ok(fields) => {
                let used = parser.i;
                let op = fields
                    .finish(ops.len() as u64, pos)
                    .map_err(|message| chunks.error_at_pos(pos, message))?;
                ops.push(op);
                chunks.start += used;
            }
            Err(Stop::Incomplete) => chunks.more()?,
            Err(Stop::Syntax(at, message)) => return Err(chunks.error_at(at, message)),
            Err(Stop::Field(message)) => return Err(chunks.error_at_pos(pos, message)),
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` and prints its values back as EDN, one per line.
    fn check(text: &str, expected: &str) {
        let values = parse_edn(text, "t.edn").unwrap_or_else(|e| panic!("{e}"));
        let printed: Vec<String> = values.iter().map(Value::to_string).collect();
        assert_eq!(printed.join("\n"), expected, "{text:?}");
    }

    fn short(text: &str) -> String {
        text.chars().take(60).collect()
    }

    fn check_error(text: &str, expected: &str) {
        match parse_edn(text, "t.edn") {
            Ok(values) => panic!("{:?} read as {values:?}", short(text)),
            Err(e) => assert_eq!(e.to_string(), expected, "{:?}", short(text)),
        }
    }

    #[test]
    fn reads_scalars() {
        check("nil true false", "nil\ntrue\nfalse");
        check("1 -2 +3 4N -5N 0", "1\n-2\n3\n4\n-5\n0");
        check(
            "1.5 -1e3 1E-2 2.5M 1. ##Inf ##-Inf ##NaN",
            "1.5\n-1000.0\n0.01\n2.5\n1.0\n##Inf\n##-Inf\n##NaN",
        );
        check(
            ":f :ns/name :a.b/c-d? ::auto",
            ":f\n:ns/name\n:a.b/c-d?\n::auto",
        );
        check("foo ns/bar + - -> .x", "foo\nns/bar\n+\n-\n->\n.x");
        check(
            r#""plain" "a\nb\tc\"d\\e\u00e9\/" "multi
line" "\ud83d\ude00""#,
            "\"plain\"\n\"a\\nb\\tc\\\"d\\\\eé/\"\n\"multi\\nline\"\n\"😀\"",
        );
        check(
            r"\a \newline \space \tab \u0041 \( \é",
            "\"a\"\n\"\\n\"\n\" \"\n\"\\t\"\n\"A\"\n\"(\"\n\"é\"",
        );
        check(
            &format!("{} {}", i64::MAX, i64::MIN),
            &format!("{}\n{}", i64::MAX, i64::MIN),
        );
    }

    #[test]
    fn reads_collections_comments_and_tags() {
        check("[1 [2 (3)] ()]", "[1 [2 [3]] []]");
        check("#{3 1 2 1}", "#{1 2 3}");
        check("{:b 1, :a [2 3]}", "{:a [2 3], :b 1}");
        check("[1, 2 ; a comment ]\n #_ 3 #_ #_ 4 5 6]", "[1 2 6]");
        check("; only a comment", "");
        check("#_ [1 2]", "");
        check(
            "#jepsen.history.Op{:type :ok, :f :read}",
            "{:f :read, :type :ok}",
        );
        check(
            "#inst \"2024-01-01T00:00:00.000-00:00\" #uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"",
            "\"2024-01-01T00:00:00.000-00:00\"\n\"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"",
        );
        check(
            "#object[clojure.core$future_call 0x4bd07fe5 {:status :pending}]",
            "[clojure.core$future_call 1271955429 {:status :pending}]",
        );
        check("#:user{:a 1}", "{:a 1}");
    }

    #[test]
    fn nests_up_to_the_limit() {
        let depth = MAX_DEPTH as usize;
        let ok = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(parse_edn(&ok, "t.edn").map(|v| v.len()).ok(), Some(1));
        let deep = "[".repeat(100_000);
        check_error(
            &deep,
            "t.edn: line 1, column 257: values nest more than 256 levels deep",
        );
        check_error(
            &"#_".repeat(100_000),
            "t.edn: line 1, column 513: values nest more than 256 levels deep",
        );
    }

    #[test]
    fn reports_malformed_text_with_its_position() {
        check_error(
            "{:type :invoke",
            "t.edn: line 1, column 15: unexpected end of input, expected a key or '}'",
        );
        check_error(
            "[1\n 99999999999999999999]",
            "t.edn: line 2, column 2: integer 99999999999999999999 does not fit in 64 bits (from -2^63 to 2^63-1)",
        );
        check_error(
            "123456789012345678901234567890N",
            "t.edn: line 1, column 1: integer 123456789012345678901234567890 does not fit in 64 bits (from -2^63 to 2^63-1)",
        );
        check_error(
            "[1 2)",
            "t.edn: line 1, column 5: expected a value or ']', found ')'",
        );
        check_error("  \"abc", "t.edn: line 1, column 3: unterminated string");
        check_error(
            r#""a\qb""#,
            "t.edn: line 1, column 3: invalid escape \\q in string",
        );
        check_error(
            "{:a}",
            "t.edn: line 1, column 4: expected a value for the key :a, found '}'",
        );
        check_error("1.2.3", "t.edn: line 1, column 1: invalid number 1.2.3");
        check_error(
            "012",
            "t.edn: line 1, column 1: invalid number 012: EDN integers have no leading zeros",
        );
        check_error(
            "##Foo",
            "t.edn: line 1, column 1: expected ##Inf, ##-Inf or ##NaN",
        );
        check_error(
            r"\nope",
            "t.edn: line 1, column 1: unknown character \\nope",
        );
        check_error(
            "é )",
            "t.edn: line 1, column 3: expected a value, found ')'",
        );
        check_error(
            "#_",
            "t.edn: line 1, column 3: unexpected end of input, expected a value",
        );
    }
}
