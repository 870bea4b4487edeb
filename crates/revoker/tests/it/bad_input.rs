//! The corpus of bad inputs under tests/data/bad: each file's exact message and exit code, and not
//! one request sent for any of them.

use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bad");

/// The summary line of `revoker validate`: rows, project and agent keys, invalid rows, scopes.
fn summary(rows: u64, project: u64, agent: u64, invalid: u64, scopes: u64) -> String {
    let rows = if rows == 1 {
        "1 row".to_string()
    } else {
        format!("{rows} rows")
    };
    let scopes = if scopes == 1 {
        "1 project or organization".to_string()
    } else {
        format!("{scopes} projects and organizations")
    };
    format!(
        "F: {rows} · {project} project-api-key · {agent} agent-api-key · 0 org-api-key · 0 service-account · 0 service-account-secret · {invalid} invalid · 0 duplicates · {scopes}"
    )
}

/// One bad row on `line` with `reason`, in a file of that one row.
fn one_bad(line: u64, reason: &str) -> String {
    format!("F:{line}: {reason}\n{}", summary(1, 0, 0, 1, 0))
}

/// File, exit code of `revoker validate`, and its output (stdout, then stderr) with the file's path
/// written as `F`.
fn cases() -> Vec<(&'static str, i32, String)> {
    let no_scope = |found: &str| {
        format!(
            "revoker: F:1: no project or org column in the header (looked for project, projectId, project_id, groupId, group_id, group, org, orgId, org_id, organization, organizationId, organization_id; found {found}); map one with --columns project=NAME or --columns org=NAME"
        )
    };
    vec![
        ("empty.csv", 2, "revoker: F:1: the file is empty: expected a header line or rows".into()),
        ("header-only.csv", 0, summary(0, 0, 0, 0, 0)),
        ("binary-garbage.csv", 2, "revoker: F:1: not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")".into()),
        // A byte of another encoding in a column revoker reads makes that row bad, not the file.
        ("invalid-utf8.csv", 1, format!("F:3: column 2 (key) is not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")\n{}", summary(2, 0, 1, 1, 1))),
        ("nul-byte.csv", 2, "revoker: F:2: contains a NUL byte: this is not a text file".into()),
        ("not-an-array.json", 2, "revoker: F:1: malformed JSON: a JSON object without a `results` array: expected an array of rows, or an Atlas list object {links, results, totalCount} (column 91)".into()),
        ("nested-objects.json", 1, one_bad(2, "field \"project\" must be a string, found an object")),
        ("numbers.json", 1, one_bad(2, "field \"key\" must be a string, found a number")),
        ("unknown-columns.csv", 2, no_scope("alpha, beta, gamma")),
        ("dotdot.csv", 1, one_bad(2, "key id \"../../../etc/passwd\" is not a 24-hex-digit ObjectId")),
        ("percent-encoded.csv", 1, one_bad(2, "key id \"aaaaaaaaaaaaaaaaaaaa%2Faa\" is not a 24-hex-digit ObjectId")),
        ("question-mark.csv", 1, one_bad(2, "key id \"aaaaaaaaaaa?aaaaaaaaaaaa\" is not a 24-hex-digit ObjectId")),
        ("hash.csv", 1, one_bad(2, "key id \"aaaaaaaaaaaa#aaaaaaaaaaa\" is not a 24-hex-digit ObjectId")),
        ("inner-space.csv", 1, one_bad(2, "key id \"aaaaaaaaaaaa aaaaaaaaaaa\" is not a 24-hex-digit ObjectId")),
        ("lookalike.csv", 1, one_bad(2, "key id \"aaaaaaaaaaaaaaaaaaaaaaа\" is not a 24-hex-digit ObjectId")),
        ("fullwidth.csv", 1, one_bad(2, "project id \"５f1b2c3d4e5f6a7b8c9d0e1f\" is not a 24-hex-digit ObjectId")),
        ("short-id.csv", 1, one_bad(2, "project id \"5f1b2c3d4e5f6a7b8c9d0e1\" is not a 24-hex-digit ObjectId")),
        ("empty-kind.csv", 1, one_bad(2, "kind is empty")),
        ("unknown-kind.csv", 1, one_bad(2, "unknown kind \"user-key\" (expected project-api-key, agent-api-key, org-api-key, service-account, service-account-secret, project-service-account, project-service-account-secret, ai-model-api-key, global-api-key, org-mcp-secret, project-mcp-secret or database-user)")),
        ("org-wide-not-allowed.csv", 1, one_bad(2, "kind service-account deletes the service account and every secret it has: it is sent only when allowed by name (--kinds +service-account, or add \"service-account\" to kinds in the job file)")),
        ("mixed-newlines.csv", 1, format!("F:4: key id \"nope\" is not a 24-hex-digit ObjectId\n{}", summary(3, 0, 2, 1, 1))),
        ("quoted-newline.csv", 1, format!("F: 2 rows: key id \"…\" is not a 24-hex-digit ObjectId (lines 2 \"aaaaaaaaaaaa\\naaaaaaaaaaaa\", 4 \"bad\")\n{}", summary(2, 0, 0, 2, 0))),
        ("unterminated-quote.csv", 1, one_bad(2, "kind is missing (add a kind field or pass --kind)")),
        ("json-trailing.json", 2, "revoker: F:1: malformed JSON: trailing characters (column 95)".into()),
        ("jsonl-bad-line.jsonl", 2, "revoker: F:3: malformed JSON: EOF while parsing a value (column 46)".into()),
        ("jsonl-array-line.jsonl", 1, one_bad(1, "expected a JSON object, found an array")),
        ("missing-kind-column.csv", 2, "revoker: F:1: no kind column in the header (looked for kind, type, keyType); add one, map it with --columns kind=NAME, or pass --kind".into()),
        ("bom-only.csv", 2, no_scope("no column names")),
        ("whitespace-only.json", 2, "revoker: F:3: malformed JSON: EOF while parsing a value (column 0)".into()),
        ("null-fields.json", 1, one_bad(1, "key id is missing")),
        ("boolean-kind.jsonl", 1, one_bad(1, "field \"kind\" must be a string, found a boolean")),
        // A credentials file given as the input: refused whole, its secret quoted nowhere.
        ("credentials.toml", 2, "revoker: F:2: this looks like a credentials file (it sets private_key), not a list of keys to revoke; nothing from it is shown".into()),
        // Separators other than commas are found from the header, or from the extension.
        ("semicolons.csv", 0, summary(1, 0, 1, 0, 1)),
        ("tabs.tsv", 0, summary(1, 0, 1, 0, 1)),
        // A column named twice: which one is used is said.
        ("column-twice.csv", 0, format!("{}\nF:1: the key could come from key (column 2) or KEY (column 4); using column 2", summary(1, 0, 1, 0, 1))),
    ]
}

#[test]
fn every_bad_file_gets_its_exact_message_and_exit_code() {
    let listed: std::collections::BTreeSet<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let cases = cases();
    assert_eq!(
        listed,
        cases.iter().map(|c| c.0.to_string()).collect(),
        "every file in the corpus has a case"
    );
    assert!(cases.len() >= 30);
    for (file, code, expected) in &cases {
        let path = format!("{DIR}/{file}");
        let out = revoker().args(["validate", &path]).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(&text.trim_end().replace(&path, "F"), expected, "{file}");
        assert!(!text.contains("s3cr3t"), "{file}: a secret was quoted");
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
    for (file, _, _) in cases() {
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
    // mixed-newlines.csv has two good rows, and invalid-utf8.csv and the files with other
    // separators or a column named twice one each, all for keys the simulator lacks: the only
    // requests sent, after one challenge per run.
    let stats = sim.stats();
    assert_eq!(stats.requests, (1 + 2) + 4 * (1 + 1), "{stats:?}");
    assert_eq!(stats.not_found, 6);
}
