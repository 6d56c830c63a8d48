//! The messages of malformed histories: each names the source, line and column and says what
//! was expected.

use schism_histories::{read_from, read_str, Format};

/// Reads `text` as `format` and checks the error message.
fn check(format: Format, text: &str, expected: &str) {
    let name = format!("t.{format}");
    match read_str(text, &name, format) {
        Ok(history) => panic!("{text:?} read as {} operations", history.ops.len()),
        Err(e) => assert_eq!(e.to_string(), expected, "{text:?}"),
    }
}

#[test]
fn edn_errors() {
    let cases = [
        (
            "{:type :invoke",
            "t.edn: line 1, column 15: unexpected end of input, expected a key or '}'",
        ),
        (
            "{:type :invoke, :f :read}\n3",
            "t.edn: line 2, column 1: expected a map for an operation, found an integer 3",
        ),
        (
            "[{:type :invoke}\n {:type :begin}]",
            "t.edn: line 2, column 2: unknown type a keyword :begin (expected invoke, ok, fail or info)",
        ),
        (
            "{:type :ok, :process true}",
            "t.edn: line 1, column 1: expected an integer or \"nemesis\" for process, found a boolean",
        ),
        (
            "{:type :ok, :process :n1}",
            "t.edn: line 1, column 1: expected an integer or \"nemesis\" for process, found a keyword :n1",
        ),
        (
            "{:type 3}",
            "t.edn: line 1, column 1: expected invoke, ok, fail or info for type, found an integer 3",
        ),
        (
            "{:f :read}",
            "t.edn: line 1, column 1: the operation has no type (expected invoke, ok, fail or info)",
        ),
        (
            "{:type :ok :f 3}",
            "t.edn: line 1, column 1: expected a string or keyword for f, found an integer 3",
        ),
        (
            "{:type :ok :index -1}",
            "t.edn: line 1, column 1: expected a non-negative integer for index, found an integer -1",
        ),
        (
            "{:type :ok :time 1.5}",
            "t.edn: line 1, column 1: expected an integer (nanoseconds) for time, found a float 1.5",
        ),
        (
            "{:type :ok :node [1]}",
            "t.edn: line 1, column 1: expected a string or keyword for node, found a list",
        ),
        (
            "[{:type :ok}",
            "t.edn: line 1, column 13: unexpected end of input, expected an operation or ']'",
        ),
        (
            "[{:type :ok}] {:type :ok}",
            "t.edn: line 1, column 15: expected the end of input after the top-level collection of operations",
        ),
        (
            "{:type :ok :value 99999999999999999999}",
            "t.edn: line 1, column 19: integer 99999999999999999999 does not fit in 64 bits (from -2^63 to 2^63-1)",
        ),
    ];
    for (text, expected) in cases {
        check(Format::Edn, text, expected);
    }
}

#[test]
fn jsonl_errors() {
    let cases = [
        (
            "{\"type\": \"invoke\"}\n{\"type\": 3}",
            "t.jsonl: line 2, column 1: expected invoke, ok, fail or info for type, found an integer 3",
        ),
        (
            "\n  {\"type\": \"ok\", \"process\": true}",
            "t.jsonl: line 2, column 3: expected an integer or \"nemesis\" for process, found a boolean",
        ),
        (
            "{\"type\": \"invoke\"}\n3\n",
            "t.jsonl: line 2, column 1: expected a map for an operation, found an integer 3",
        ),
        (
            "[1, 2]",
            "t.jsonl: line 1, column 1: expected a map for an operation, found a list (a file \
             holding one JSON array of operations is elle-cli's JSON: give it the .json extension)",
        ),
        (
            "[\n{\"type\": \"ok\"}]",
            "t.jsonl: line 1, column 2: invalid JSON: EOF while parsing a list (a file holding \
             one JSON array of operations is elle-cli's JSON: give it the .json extension)",
        ),
        (
            "{\"type\": \"crash\"}",
            "t.jsonl: line 1, column 1: unknown type a string \"crash\" (expected invoke, ok, fail or info)",
        ),
        (
            "{\"type\": \"ok\"\n",
            "t.jsonl: line 1, column 14: invalid JSON: EOF while parsing an object",
        ),
        (
            "{\"type\": \"ok\"} x",
            "t.jsonl: line 1, column 16: invalid JSON: trailing characters",
        ),
        (
            "{\"type\": \"ok\", \"value\": tru}",
            "t.jsonl: line 1, column 28: invalid JSON: expected ident",
        ),
        (
            "{:type :ok}",
            "t.jsonl: line 1, column 2: invalid JSON: key must be a string",
        ),
    ];
    for (text, expected) in cases {
        check(Format::Jsonl, text, expected);
    }
}

#[test]
fn json_array_errors() {
    let cases = [
        (
            "[{\"type\": \"invoke\"},\n {\"type\": 3}]",
            "t.json: line 2, column 2: expected invoke, ok, fail or info for type, found an integer 3",
        ),
        (
            "{\"type\": \"invoke\"}",
            "t.json: line 1, column 1: expected '[' to open a JSON array of operations, found '{'",
        ),
        (
            "[{\"type\": \"invoke\"} {\"type\": \"ok\"}]",
            "t.json: line 1, column 21: expected ',' or ']' after an operation, found '{'",
        ),
        (
            "[{\"type\": \"invoke\"},",
            "t.json: line 1, column 21: unexpected end of input, expected an operation or ']'",
        ),
        (
            "[{\"type\": \"invoke\"}, 7]",
            "t.json: line 1, column 22: expected a map for an operation, found an integer 7",
        ),
        (
            "[{\"type\": \"invoke\",\n \"value\": [1 2]}]",
            "t.json: line 2, column 14: invalid JSON: expected `,` or `]`",
        ),
        (
            "[] []",
            "t.json: line 1, column 4: expected the end of input after the array of operations",
        ),
    ];
    for (text, expected) in cases {
        check(Format::Json, text, expected);
    }
}

#[test]
fn random_bytes_are_errors_not_panics() {
    let bytes: &[u8] = b"\x00\xff\xfe{\x80:\"\\";
    for format in [Format::Jsonl, Format::Json, Format::Edn] {
        let err = read_from(bytes, "bytes", format).unwrap_err().to_string();
        assert!(err.starts_with("bytes: line 1, column "), "{format}: {err}");
    }
    let err = read_from(&b"{:type :ok :f \"\xff\"}"[..], "b.edn", Format::Edn).unwrap_err();
    assert_eq!(err.to_string(), "b.edn: line 1, column 16: invalid UTF-8");
}

#[test]
fn io_errors_name_the_file() {
    let err = schism_histories::read_path(std::path::Path::new("/nonexistent/h.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("failed to read /nonexistent/h.jsonl: "),
        "{err}"
    );
}
