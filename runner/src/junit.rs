//! JUnit XML summaries (`--junit FILE` of `schism test` and `schism check`), in the shape CI
//! systems read (Jenkins, GitLab, GitHub Actions reporters): one `<testsuite>` with one
//! `<testcase>` per checker (per file for `check`).
//!
//! - `valid` → a passing `<testcase>`;
//! - `invalid` → `<failure message="..." type="invalid">` with the explanation;
//! - `unknown` → `<error message="..." type="unknown">` with the reason. An unknown verdict
//!   means the check could not reach a verdict (a time or memory limit was hit), which is
//!   what JUnit's `error` (the test could not run to completion) says; `<skipped>` would make
//!   CI report a green build for a history nobody managed to check.
//!
//! Every string is XML-escaped, and characters XML 1.0 cannot carry (control characters other
//! than tab, newline and carriage return) become U+FFFD.

use std::fmt::Write as _;

use schism_checkers::Validity;

/// One test case: a checker's (or a file's) verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitCase {
    pub name: String,
    pub validity: Validity,
    /// Why the verdict is what it is; shown in full as the failure or error text.
    pub explanation: String,
    pub time_s: f64,
}

/// Escapes text for XML content and double- or single-quoted attributes.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Newlines and tabs in attributes would be normalized to spaces by parsers;
            // keep them as character references so that messages survive.
            '\t' | '\n' | '\r' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn seconds(t: f64) -> String {
    if t.is_finite() && t >= 0.0 {
        format!("{t:.3}")
    } else {
        "0.000".to_string()
    }
}

/// The first line of an explanation, cut to 200 characters, for the `message` attribute.
fn message(explanation: &str, fallback: &str) -> String {
    let line = explanation.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return fallback.to_string();
    }
    let mut m: String = line.chars().take(200).collect();
    if line.chars().count() > 200 {
        m.push('…');
    }
    m
}

/// Renders a JUnit XML document with one suite named `suite`.
pub fn junit_xml(suite: &str, cases: &[JunitCase]) -> String {
    let failures = cases
        .iter()
        .filter(|c| c.validity == Validity::Invalid)
        .count();
    let errors = cases
        .iter()
        .filter(|c| c.validity == Validity::Unknown)
        .count();
    let time: f64 = cases
        .iter()
        .map(|c| c.time_s)
        .filter(|t| t.is_finite() && *t >= 0.0)
        .sum();
    let suite_name = escape_xml(suite);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"schism\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" \
         skipped=\"0\" time=\"{}\">",
        cases.len(),
        seconds(time)
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{suite_name}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" \
         skipped=\"0\" time=\"{}\">",
        cases.len(),
        seconds(time)
    );
    for case in cases {
        let _ = write!(
            xml,
            "    <testcase name=\"{}\" classname=\"{suite_name}\" time=\"{}\"",
            escape_xml(&case.name),
            seconds(case.time_s)
        );
        match case.validity {
            Validity::Valid => xml.push_str("/>\n"),
            Validity::Invalid => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\" type=\"invalid\">{}</failure>\n    </testcase>",
                    escape_xml(&message(&case.explanation, "invalid")),
                    escape_xml(&case.explanation)
                );
            }
            Validity::Unknown => {
                let _ = writeln!(
                    xml,
                    ">\n      <error message=\"{}\" type=\"unknown\">{}</error>\n    </testcase>",
                    escape_xml(&message(&case.explanation, "unknown")),
                    escape_xml(&case.explanation)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Writes [`junit_xml`] to `path` atomically (a temporary file, then a rename); a failure to
/// write is an internal failure (255).
pub fn write_junit(
    path: &std::path::Path,
    suite: &str,
    cases: &[JunitCase],
) -> Result<(), crate::exit::Failure> {
    crate::report_cmd::write_atomically(path, &junit_xml(suite, cases))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn case(name: &str, validity: Validity, explanation: &str) -> JunitCase {
        JunitCase {
            name: name.into(),
            validity,
            explanation: explanation.into(),
            time_s: 0.25,
        }
    }

    #[test]
    fn one_case_per_verdict() {
        let xml = junit_xml(
            "register <lww>",
            &[
                case("linearizable", Validity::Valid, ""),
                case(
                    "elle",
                    Validity::Invalid,
                    "G-single: T1 read x = [1], \"which\" <missed> T2's & append\nsecond line",
                ),
                case("causal", Validity::Unknown, "time limit of 60 s hit"),
            ],
        );
        expect![[r#"
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="schism" tests="3" failures="1" errors="1" skipped="0" time="0.750">
              <testsuite name="register &lt;lww&gt;" tests="3" failures="1" errors="1" skipped="0" time="0.750">
                <testcase name="linearizable" classname="register &lt;lww&gt;" time="0.250"/>
                <testcase name="elle" classname="register &lt;lww&gt;" time="0.250">
                  <failure message="G-single: T1 read x = [1], &quot;which&quot; &lt;missed&gt; T2&apos;s &amp; append" type="invalid">G-single: T1 read x = [1], &quot;which&quot; &lt;missed&gt; T2&apos;s &amp; append&#10;second line</failure>
                </testcase>
                <testcase name="causal" classname="register &lt;lww&gt;" time="0.250">
                  <error message="time limit of 60 s hit" type="unknown">time limit of 60 s hit</error>
                </testcase>
              </testsuite>
            </testsuites>
        "#]]
        .assert_eq(&xml);
    }

    #[test]
    fn writes_the_file() {
        let path = std::env::temp_dir().join(format!("schism-junit-{}.xml", std::process::id()));
        let cases = [case("elle", Validity::Valid, "")];
        assert!(write_junit(&path, "s", &cases).is_ok());
        assert_eq!(
            std::fs::read_to_string(&path).ok(),
            Some(junit_xml("s", &cases))
        );
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn escapes_what_xml_cannot_carry() {
        assert_eq!(
            escape_xml("a\u{0}b\u{1b}c]]>\u{FFFF}"),
            "a\u{FFFD}b\u{FFFD}c]]&gt;\u{FFFD}"
        );
        let xml = junit_xml(
            "s",
            &[JunitCase {
                name: "</testcase><x>".into(),
                validity: Validity::Invalid,
                explanation: String::new(),
                time_s: f64::NAN,
            }],
        );
        assert!(xml.contains("name=\"&lt;/testcase&gt;&lt;x&gt;\""));
        assert!(xml.contains("message=\"invalid\""));
        assert!(xml.contains("time=\"0.000\""));
        assert_eq!(xml.matches("<testcase").count(), 1);
    }
}
