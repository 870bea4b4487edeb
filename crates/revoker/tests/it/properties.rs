//! Property tests: the readers take any bytes without panicking, and what is written reads back.

use std::ops::ControlFlow;

use proptest::prelude::*;
use revoker::input::{Format, InputOptions, Kind, ObjectId, Source, Target};
use revoker::report::{Outcome, Record, ReportWriter, read_records, summarize_report};

fn scan_all(bytes: &[u8], format: Option<Format>) -> Result<usize, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input");
    std::fs::write(&path, bytes).unwrap();
    let source = Source::open(&path).map_err(|e| e.to_string())?;
    let mut rows = 0;
    let opts = InputOptions {
        format,
        default_kind: Some(Kind::AgentApiKey),
        ..InputOptions::default()
    };
    source
        .scan(&opts, &mut |_| {
            rows += 1;
            ControlFlow::Continue(())
        })
        .map_err(|e| e.to_string())?;
    Ok(rows)
}

fn object_id() -> impl Strategy<Value = ObjectId> {
    any::<[u8; 12]>().prop_map(ObjectId::from_bytes)
}

fn target() -> impl Strategy<Value = Target> {
    (0..Kind::ALL.len(), object_id(), object_id(), object_id()).prop_map(
        |(kind, scope, key, secret)| {
            let kind = Kind::ALL[kind];
            let text = |id: revoker::input::ObjectId| id.to_string();
            match kind {
                // An AI model key's id is 24 letters and digits; a global key has no scope.
                Kind::AiModelApiKey => {
                    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
                    let id: String = key
                        .bytes()
                        .iter()
                        .chain(secret.bytes().iter())
                        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
                        .collect();
                    Target::parse(kind.as_str(), &text(scope), &id, "")
                        .expect("24 letters and digits")
                }
                // A database user's key is `databaseName/username`.
                Kind::DatabaseUser => Target::parse(
                    kind.as_str(),
                    &text(scope),
                    &format!("admin/u{}", text(key)),
                    "",
                )
                .expect("a database user"),
                Kind::GlobalApiKey => Target {
                    kind,
                    scope: revoker::input::NO_SCOPE,
                    key,
                    secret: None,
                },
                _ => Target {
                    kind,
                    scope,
                    key,
                    secret: kind.needs_secret().then_some(secret),
                },
            }
        },
    )
}

/// Report text: anything but control characters, which the writer escapes on purpose.
fn text() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{0,40}"
}

fn record() -> impl Strategy<Value = Record> {
    (
        (text(), text(), any::<u64>(), text(), text(), text()),
        (
            0..Outcome::ALL.len(),
            any::<Option<u16>>(),
            text(),
            any::<u32>(),
            any::<u64>(),
            text(),
            text(),
        ),
    )
        .prop_map(
            |(
                (run_id, finished_at, line, kind, project, key),
                (o, http_status, error_code, attempts, duration_ms, message, secret),
            )| {
                Record {
                    run_id,
                    finished_at,
                    line,
                    kind,
                    project,
                    key,
                    outcome: Outcome::ALL[o],
                    http_status,
                    error_code,
                    attempts,
                    duration_ms,
                    // Any text, as the other cells: reversed so it differs from `message`.
                    public_key: message.chars().rev().collect(),
                    message,
                    secret,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_yield_rows_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..600), format in 0..4usize) {
        let format = [None, Some(Format::Csv), Some(Format::Json), Some(Format::Jsonl)][format];
        let _ = scan_all(&bytes, format);
    }

    #[test]
    fn any_text_near_the_formats_yields_rows_or_an_error(text in "[\\[\\]{}\",:\\n\\r a-f0-9projectkindky\u{feff}]{0,300}", format in 0..4usize) {
        let format = [None, Some(Format::Csv), Some(Format::Json), Some(Format::Jsonl)][format];
        let _ = scan_all(text.as_bytes(), format);
    }

    #[test]
    fn csv_rows_read_back_with_their_lines(targets in prop::collection::vec(target(), 0..40), crlf in prop::bool::ANY, atlas in prop::bool::ANY) {
        // The kinds of one API: agent and global keys are v1.0's, AI model keys and project
        // service accounts v2's.
        let targets: Vec<Target> = targets
            .into_iter()
            .filter(|t| if atlas { t.kind.on_atlas() } else { t.kind.on_cloud_manager() })
            .collect();
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("project,org,key,secret,kind{end}");
        for t in &targets {
            let (project, org) = if t.kind.is_org_wide() { (String::new(), t.scope_text()) } else { (t.scope_text(), String::new()) };
            text.push_str(&format!("{project},{org},{},{},{}{end}", t.key_text(), t.secret_text(), t.kind));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, text).unwrap();
        let mut seen = Vec::new();
        let every_kind = InputOptions { allowed_kinds: Kind::ALL.to_vec(), agent_keys: !atlas, ..InputOptions::default() };
        Source::open(&path).unwrap().scan(&every_kind, &mut |e| {
            seen.push((e.line, e.target.unwrap()));
            ControlFlow::Continue(())
        }).unwrap();
        let expected: Vec<(u64, Target)> = targets.iter().enumerate().map(|(i, t)| (i as u64 + 2, *t)).collect();
        prop_assert_eq!(seen, expected);
    }

    #[test]
    fn any_report_row_reads_back_identical(records in prop::collection::vec(record(), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let (sink, writer) = ReportWriter::open(&path).unwrap().spawn().unwrap();
        for r in &records {
            prop_assert!(sink.send(r.clone()));
        }
        drop(sink);
        let written = writer.join().unwrap().unwrap();
        prop_assert_eq!(written.rows, records.len() as u64);
        let mut back = Vec::new();
        read_records(&path, &mut |r| back.push(r)).unwrap();
        prop_assert_eq!(back, records);
        // The chain holds, and ends where the writer said.
        let overview = summarize_report(&path).unwrap();
        prop_assert!(overview.chain.intact);
        prop_assert_eq!(overview.chain.last, written.chain);
    }

    #[test]
    fn a_torn_tail_is_ignored_and_cut_before_appending(records in prop::collection::vec(record(), 1..6), cut in 1usize..200) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let (sink, writer) = ReportWriter::open(&path).unwrap().spawn().unwrap();
        for r in &records {
            sink.send(r.clone());
        }
        drop(sink);
        writer.join().unwrap().unwrap();
        let whole = std::fs::read(&path).unwrap();
        let last_line_start = whole[..whole.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
        let torn = last_line_start + cut.min(whole.len() - 1 - last_line_start);
        std::fs::write(&path, &whole[..torn]).unwrap();
        let mut back = Vec::new();
        read_records(&path, &mut |r| back.push(r)).unwrap();
        prop_assert_eq!(&back[..], &records[..records.len() - 1]);
        let reopened = ReportWriter::open(&path).unwrap();
        prop_assert_eq!(reopened.repaired as usize, torn - last_line_start);
    }
}
