//! The formats findings come in, each read for a value and where it was found:
//!
//! | format | known by | value | source |
//! |---|---|---|---|
//! | gitleaks JSON report | an array of objects with `RuleID` | `Secret` | `File:StartLine` |
//! | TruffleHog v3 JSON lines | lines with `SourceMetadata` or `DetectorName` | `Raw` | `SourceMetadata.Data.*.file:line` (else `link`) |
//! | Kingfisher JSON (or JSON lines) | `{"findings": […]}` or objects with `rule` and `finding` | `finding.snippet` | `finding.path:finding.line` |
//! | SARIF 2.1.0 | an object with `runs` | `locations[0].physicalLocation.region.snippet.text` | `artifactLocation.uri:region.startLine` |
//! | GitHub secret-scanning alerts (REST list) | an array of objects with `html_url` and `secret_type` | `secret` | `html_url` |
//! | plain | anything else | the line | `file:line` |
//!
//! An error names the file, the line (or the finding's place in the document) and the field; it
//! never quotes a value. One finding that cannot be read is named and the others are kept; a file
//! none of whose findings can be read is refused.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Finding;

/// The largest findings file read (a scanner's report of a whole monorepo fits).
const MAX_BYTES: u64 = 256 * 1024 * 1024;

/// A findings file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {what}")]
pub struct FindingsError {
    pub path: PathBuf,
    pub what: String,
}

impl crate::vocab::ExitCode for FindingsError {
    fn exit_code(&self) -> i32 {
        crate::vocab::exit::USAGE
    }
}

/// Which format a file is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Gitleaks,
    TruffleHog,
    Kingfisher,
    Sarif,
    GitHubAlerts,
    Plain,
}

/// What a file gave: its findings, and each finding that could not be read (its place and why).
#[derive(Debug, Default)]
pub struct Read {
    pub findings: Vec<Finding>,
    pub malformed: Vec<String>,
}

impl Read {
    /// Keeps each item that reads; a file with items none of which reads is not a findings file.
    fn gather(items: impl IntoIterator<Item = Result<Finding, String>>) -> Result<Read, String> {
        let mut out = Read::default();
        for item in items {
            match item {
                Ok(f) => out.findings.push(f),
                Err(e) => out.malformed.push(e),
            }
        }
        match out.malformed.first() {
            Some(first) if out.findings.is_empty() => Err(first.clone()),
            _ => Ok(out),
        }
    }
}

/// Every finding of a file.
pub fn read(path: &Path) -> Result<Read, FindingsError> {
    let err = |what: String| FindingsError {
        path: path.to_path_buf(),
        what,
    };
    let bytes = crate::fsx::read_bounded(path, crate::fsx::Links::Follow, MAX_BYTES)
        .map_err(|e| err(format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| err("not UTF-8 text".into()))?;
    let text = text.trim_start_matches('\u{feff}');
    let name = path.display().to_string();
    let (format, doc) = detect(text);
    match format {
        Format::Plain => Ok(Read {
            findings: plain(&name, text),
            malformed: Vec::new(),
        }),
        Format::TruffleHog | Format::Kingfisher if doc.is_none() => {
            lines(&name, text, format).map_err(err)
        }
        _ => {
            let doc = doc.unwrap_or(Value::Null);
            document(&name, &doc, format).map_err(err)
        }
    }
}

/// The format of a file, and its JSON document when it is one.
pub fn detect(text: &str) -> (Format, Option<Value>) {
    let trimmed = text.trim_start();
    if !(trimmed.starts_with('[') || trimmed.starts_with('{')) {
        return (Format::Plain, None);
    }
    if let Ok(doc) = serde_json::from_str::<Value>(trimmed) {
        let first = doc.as_array().and_then(|a| a.first());
        let format = match (&doc, first) {
            (Value::Object(o), _) if o.contains_key("runs") => Format::Sarif,
            (Value::Object(o), _) if o.contains_key("findings") => Format::Kingfisher,
            (Value::Object(o), _) if is_trufflehog(o) => Format::TruffleHog,
            (Value::Object(_), _) => Format::Kingfisher,
            (_, Some(Value::Object(o))) if o.contains_key("RuleID") => Format::Gitleaks,
            (_, Some(Value::Object(o))) if o.contains_key("html_url") => Format::GitHubAlerts,
            (_, Some(Value::Object(o))) if o.contains_key("finding") => Format::Kingfisher,
            (_, Some(Value::Object(o))) if is_trufflehog(o) => Format::TruffleHog,
            _ => Format::Gitleaks,
        };
        return (format, Some(doc));
    }
    let first = trimmed.lines().next().unwrap_or_default();
    match serde_json::from_str::<serde_json::Map<String, Value>>(first) {
        Ok(o) if o.contains_key("finding") => (Format::Kingfisher, None),
        _ => (Format::TruffleHog, None),
    }
}

fn is_trufflehog(o: &serde_json::Map<String, Value>) -> bool {
    o.contains_key("SourceMetadata") || o.contains_key("DetectorName")
}

/// A plain list: one value a line; blank lines and `#` comments skipped.
fn plain(name: &str, text: &str) -> Vec<Finding> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| Finding::new(format!("{name}:{}", i + 1), l))
        .collect()
}

/// JSON lines (TruffleHog, Kingfisher): one finding a line.
fn lines(name: &str, text: &str, format: Format) -> Result<Read, String> {
    let items = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let item: Value = serde_json::from_str(line)
                .map_err(|e| format!("line {}: not JSON ({})", i + 1, e.classify_name()))?;
            item_finding(name, &item, format).map_err(|e| format!("line {}: {e}", i + 1))
        });
    Read::gather(items)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    // serde_json's message may quote the text it met, which may be a secret.
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "a syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

/// The findings of a JSON document.
fn document(name: &str, doc: &Value, format: Format) -> Result<Read, String> {
    let items: Vec<(String, &Value)> = match format {
        Format::Sarif => return sarif(name, doc),
        Format::Kingfisher => match doc.get("findings").or(Some(doc)) {
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("findings[{i}]"), v))
                .collect(),
            Some(v @ Value::Object(_)) => vec![("the finding".into(), v)],
            _ => return Err("\"findings\" is not an array".into()),
        },
        _ => match doc {
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("item {}", i + 1), v))
                .collect(),
            Value::Object(_) => vec![("the finding".into(), doc)],
            _ => return Err("not an array of findings".into()),
        },
    };
    Read::gather(
        items
            .into_iter()
            .map(|(at, item)| item_finding(name, item, format).map_err(|e| format!("{at}: {e}"))),
    )
}

fn text<'a>(item: &'a Value, pointer: &str) -> Result<&'a str, String> {
    item.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            format!(
                "no text at {:?}",
                pointer.trim_start_matches('/').replace('/', ".")
            )
        })
}

fn line_of(item: &Value, pointer: &str) -> Option<u64> {
    item.pointer(pointer).and_then(Value::as_u64)
}

/// One finding of a gitleaks, TruffleHog, Kingfisher or GitHub item.
fn item_finding(name: &str, item: &Value, format: Format) -> Result<Finding, String> {
    let at = |file: &str, line: Option<u64>| match line {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    };
    match format {
        Format::Gitleaks => {
            let file = text(item, "/File").unwrap_or(name);
            Ok(Finding::new(
                at(file, line_of(item, "/StartLine")),
                text(item, "/Secret")?,
            ))
        }
        Format::GitHubAlerts => Ok(Finding::new(
            text(item, "/html_url")?.to_string(),
            text(item, "/secret")?,
        )),
        Format::Kingfisher => {
            let file = text(item, "/finding/path").unwrap_or(name);
            Ok(Finding::new(
                at(file, line_of(item, "/finding/line")),
                text(item, "/finding/snippet")?,
            ))
        }
        _ => {
            let value = text(item, "/Raw")?;
            let data = item
                .pointer("/SourceMetadata/Data")
                .and_then(Value::as_object);
            let place = data.and_then(|d| {
                d.values()
                    .find_map(|v| v.get("file").and_then(Value::as_str).map(|f| (f, v)))
            });
            let source = match place {
                Some((file, v)) => at(file, v.get("line").and_then(Value::as_u64)),
                None => data
                    .and_then(|d| {
                        d.values()
                            .find_map(|v| v.get("link").and_then(Value::as_str))
                    })
                    .map_or_else(|| name.to_string(), str::to_string),
            };
            Ok(Finding::new(source, value))
        }
    }
}

/// SARIF 2.1.0: every result of every run, its value in the first location's snippet.
fn sarif(name: &str, doc: &Value) -> Result<Read, String> {
    let runs = doc
        .get("runs")
        .and_then(Value::as_array)
        .ok_or("\"runs\" is not an array")?;
    let results = runs.iter().enumerate().flat_map(|(r, run)| {
        let results = run
            .get("results")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        results
            .iter()
            .enumerate()
            .map(move |(i, result)| sarif_result(name, result, &format!("runs[{r}].results[{i}]")))
    });
    Read::gather(results.collect::<Vec<_>>())
}

fn sarif_result(name: &str, result: &Value, at: &str) -> Result<Finding, String> {
    let loc = result
        .pointer("/locations/0/physicalLocation")
        .ok_or_else(|| format!("{at}: no locations[0].physicalLocation"))?;
    let value = text(loc, "/region/snippet/text")
        .map_err(|e| format!("{at}: {e} (the scanner wrote no value)"))?;
    let file = text(loc, "/artifactLocation/uri").unwrap_or(name);
    let source = match line_of(loc, "/region/startLine") {
        Some(l) => format!("{file}:{l}"),
        None => file.to_string(),
    };
    Ok(Finding::new(source, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn read_file(name: &str, body: &str) -> Result<Read, FindingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        read(&path)
    }

    fn read_text(name: &str, body: &str) -> Result<Vec<(String, String)>, FindingsError> {
        read_file(name, body).map(|v| {
            v.findings
                .into_iter()
                .map(|f| {
                    (
                        f.source.rsplit('/').next().unwrap_or_default().to_string(),
                        f.value.expose_secret().to_string(),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn each_format_gives_its_value_and_place() {
        let cases = [
            (
                r#"[{"RuleID":"mongodb","File":"a.env","StartLine":3,"Secret":"abcdefgh"}]"#,
                "a.env:3",
            ),
            (
                "{\"SourceMetadata\":{\"Data\":{\"Filesystem\":{\"file\":\"b.py\",\"line\":7}}},\"DetectorName\":\"MongoDB\",\"Raw\":\"abcdefgh\"}\n",
                "b.py:7",
            ),
            (
                r#"{"findings":[{"rule":{"id":"kingfisher.mongodb.1"},"finding":{"snippet":"abcdefgh","path":"c.go","line":9}}]}"#,
                "c.go:9",
            ),
            (
                r#"{"version":"2.1.0","runs":[{"results":[{"locations":[{"physicalLocation":{"artifactLocation":{"uri":"d.ts"},"region":{"startLine":4,"snippet":{"text":"abcdefgh"}}}}]}]}]}"#,
                "d.ts:4",
            ),
            (
                r#"[{"number":2,"html_url":"https://github.com/o/r/security/secret-scanning/2","secret_type":"mongodb_atlas","secret":"abcdefgh"}]"#,
                "2",
            ),
            ("# leaked\n\nabcdefgh\n", "f.txt:3"),
        ];
        for (body, source) in cases {
            let got = read_text("f.txt", body).unwrap();
            assert_eq!(
                got,
                vec![(source.to_string(), "abcdefgh".to_string())],
                "{body}"
            );
        }
    }

    #[test]
    fn an_error_names_the_line_and_field_and_never_the_value() {
        let err = read_text(
            "t.jsonl",
            "{\"DetectorName\":\"x\",\"RawV2\":\"secretvalue\"}\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("t.jsonl: the finding: no text at \"Raw\""),
            "{err}"
        );
        let err = read_text(
            "g.json",
            r#"[{"RuleID":"x","Match":"mdb_sa_sk_zzzzzzzzzzzzzzzzzzzz"}]"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("g.json: item 1: no text at \"Secret\""),
            "{err}"
        );
        assert!(!err.to_string().contains("zzzz"));
    }

    #[test]
    fn one_finding_that_cannot_be_read_is_named_and_the_others_kept() {
        let got = read_file("t.jsonl", "{\"DetectorName\":\"x\",\"Raw\":\"abcdefgh\"}\nnot json\n{\"DetectorName\":\"x\",\"RawV2\":\"secretvalue\"}\n").unwrap();
        assert_eq!(got.findings.len(), 1);
        assert_eq!(
            got.malformed,
            vec![
                "line 2: not JSON (a syntax error)".to_string(),
                "line 3: no text at \"Raw\"".to_string()
            ]
        );
        let sarif = r#"{"version":"2.1.0","runs":[{"results":[
            {"locations":[{"physicalLocation":{"artifactLocation":{"uri":"d.ts"},"region":{"startLine":4}}}]},
            {"locations":[{"physicalLocation":{"artifactLocation":{"uri":"e.ts"},"region":{"startLine":5,"snippet":{"text":"abcdefgh"}}}}]}]}]}"#;
        let got = read_file("s.sarif", sarif).unwrap();
        assert_eq!(got.findings.len(), 1);
        assert_eq!(
            got.malformed,
            vec![
                "runs[0].results[0]: no text at \"region.snippet.text\" (the scanner wrote no value)"
                    .to_string()
            ]
        );
    }
}
