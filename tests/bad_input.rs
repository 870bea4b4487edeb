//! The corpus of bad inputs under tests/data/bad: each file's exact message and exit code, and not
//! one request sent for any of them.

mod common;

use common::*;
use revoker::sim::SimConfig;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bad");

/// File, exit code of `revoker validate`, and its output (stdout, then stderr) with the file's path
/// written as `F`.
const CASES: &[(&str, i32, &str)] = &[
    (
        "empty.csv",
        2,
        "revoker: F:1: the file is empty: expected a header line or rows",
    ),
    (
        "header-only.csv",
        0,
        "F: 0 rows · 0 project-api-key · 0 agent-api-key · 0 invalid · 0 duplicates · 0 projects",
    ),
    (
        "binary-garbage.csv",
        2,
        "revoker: F:1: not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")",
    ),
    (
        "invalid-utf8.csv",
        2,
        "revoker: F:3: not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")",
    ),
    (
        "nul-byte.csv",
        2,
        "revoker: F:2: contains a NUL byte: this is not a text file",
    ),
    (
        "not-an-array.json",
        2,
        "revoker: F:1: malformed JSON: invalid type: map, expected a JSON array of objects (for one object per line use --format jsonl) (column 2)",
    ),
    (
        "nested-objects.json",
        1,
        "F:2: field \"project\" must be a string, found an object\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "numbers.json",
        1,
        "F:2: field \"key\" must be a string, found a number\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "unknown-columns.csv",
        2,
        "revoker: F:1: no project column in the header (looked for project, projectId, project_id, groupId, group_id, group; found alpha, beta, gamma); map one with --columns project=NAME",
    ),
    (
        "dotdot.csv",
        1,
        "F:2: key id \"../../../etc/passwd\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "percent-encoded.csv",
        1,
        "F:2: key id \"aaaaaaaaaaaaaaaaaaaa%2Faa\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "question-mark.csv",
        1,
        "F:2: key id \"aaaaaaaaaaa?aaaaaaaaaaaa\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "hash.csv",
        1,
        "F:2: key id \"aaaaaaaaaaaa#aaaaaaaaaaa\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "inner-space.csv",
        1,
        "F:2: key id \"aaaaaaaaaaaa aaaaaaaaaaa\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "lookalike.csv",
        1,
        "F:2: key id \"aaaaaaaaaaaaaaaaaaaaaaа\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "fullwidth.csv",
        1,
        "F:2: project id \"５f1b2c3d4e5f6a7b8c9d0e1f\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "short-id.csv",
        1,
        "F:2: project id \"5f1b2c3d4e5f6a7b8c9d0e1\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "empty-kind.csv",
        1,
        "F:2: kind is empty\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "unknown-kind.csv",
        1,
        "F:2: unknown kind \"service-account\" (expected project-api-key or agent-api-key)\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "mixed-newlines.csv",
        1,
        "F:4: key id \"nope\" is not a 24-hex-digit ObjectId\nF: 3 rows · 0 project-api-key · 2 agent-api-key · 1 invalid · 0 duplicates · 1 projects",
    ),
    (
        "quoted-newline.csv",
        1,
        "F:2: key id \"aaaaaaaaaaaa\\naaaaaaaaaaaa\" is not a 24-hex-digit ObjectId\nF:4: key id \"bad\" is not a 24-hex-digit ObjectId\nF: 2 rows · 0 project-api-key · 0 agent-api-key · 2 invalid · 0 duplicates · 0 projects",
    ),
    (
        "unterminated-quote.csv",
        1,
        "F:2: key id \"aaaaaaaaaaaaaaaaaaaaaaaa,agent\" is not a 24-hex-digit ObjectId\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "json-trailing.json",
        2,
        "revoker: F:1: malformed JSON: trailing characters (column 95)",
    ),
    (
        "jsonl-bad-line.jsonl",
        2,
        "revoker: F:3: malformed JSON: EOF while parsing a value (column 46)",
    ),
    (
        "jsonl-array-line.jsonl",
        1,
        "F:1: expected a JSON object, found an array\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "missing-kind-column.csv",
        2,
        "revoker: F:1: no kind column in the header (looked for kind, type); add one, map it with --columns kind=NAME, or pass --kind",
    ),
    (
        "bom-only.csv",
        2,
        "revoker: F:1: no project column in the header (looked for project, projectId, project_id, groupId, group_id, group; found no column names); map one with --columns project=NAME",
    ),
    (
        "whitespace-only.json",
        2,
        "revoker: F:3: malformed JSON: EOF while parsing a value (column 0)",
    ),
    (
        "null-fields.json",
        1,
        "F:1: key id is missing\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
    (
        "boolean-kind.jsonl",
        1,
        "F:1: field \"kind\" must be a string, found a boolean\nF: 1 rows · 0 project-api-key · 0 agent-api-key · 1 invalid · 0 duplicates · 0 projects",
    ),
];

#[test]
fn every_bad_file_gets_its_exact_message_and_exit_code() {
    let listed: std::collections::BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        listed,
        CASES.iter().map(|c| c.0.to_string()).collect(),
        "every file in the corpus has a case"
    );
    assert!(CASES.len() >= 25);
    for (file, code, expected) in CASES {
        let path = format!("{DIR}/{file}");
        let out = revoker().args(["validate", &path]).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text.trim_end().replace(&path, "F"), *expected, "{file}");
        assert_eq!(out.status.code(), Some(*code), "{file}");
    }
}

#[test]
fn a_10_mb_single_line_is_refused_without_reading_it_all() {
    let d = dir();
    for (name, head) in [
        ("long.jsonl", "{\"project\": \""),
        ("long.csv", "project,key,kind\n"),
    ] {
        let path = path(&d, name);
        let mut data = head.as_bytes().to_vec();
        data.resize(10 << 20, b'a');
        std::fs::write(&path, data).unwrap();
        let out = revoker().arg("validate").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let line = if name.ends_with(".csv") { 2 } else { 1 };
        assert_eq!(
            stderr(&out).trim(),
            format!(
                "revoker: {}:{line}: row is longer than 1 MiB; this is not an export of ids",
                path.display()
            )
        );
    }
}

#[test]
fn no_bad_file_sends_a_request() {
    let sim = sim(SimConfig::default(), &keys(1, 1));
    let d = dir();
    for (file, _, _) in CASES {
        let report = path(&d, &format!("{file}.report.csv"));
        let out = run(
            &sim,
            std::path::Path::new(&format!("{DIR}/{file}")),
            &report,
            &[],
        )
        .output()
        .unwrap();
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "{file}: {}",
            stderr(&out)
        );
    }
    // mixed-newlines.csv has two good rows (for keys the simulator lacks): the only requests sent.
    let stats = sim.stats();
    assert_eq!(stats.requests, 3, "{stats:?}");
    assert_eq!(stats.not_found, 2);
}
