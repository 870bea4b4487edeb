//! Evidence for compliance: verification that keys are gone (one list request per page), the audit
//! record of each run, the chain of digests that finds any edit, and the HTML page.

use std::collections::HashSet;

use revoker::input::Kind;
use revoker::report::{Outcome, audit};
use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, SimConfig};
use revoker_testkit::*;
use sha2::Digest as _;

fn verify(
    sim: &revoker_testkit::simulator::SimHandle,
    report: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    revoker()
        .args(["verify", "--base-url", sim.base_url()])
        .arg(report)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn verification_finds_keys_that_came_back_and_a_resume_sends_exactly_those() {
    // 300 rows in 5 projects, both kinds.
    let keys = keys(300, 5);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &["--verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("300 finished rows checked with 10 list requests")
            && stderr(&out).contains("300 confirmed gone, 0 still present"),
        "{}",
        stderr(&out)
    );
    // One list per project and kind (5 x 2); the run's digest session needs no new challenge.
    let stats = sim.stats();
    assert_eq!(
        stats.lists, 10,
        "one request per list page, never one per key"
    );

    // Some keys come back (restored from a backup, re-created by an automation).
    let back: Vec<_> = keys.iter().step_by(37).copied().collect();
    let sim2 = revoker_testkit::sim(SimConfig::default(), &back);
    let out = verify(&sim2, &report, &["--api-moved"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{} still present", back.len())),
        "{err}"
    );
    let overview = revoker::report::summarize_report(&report).unwrap();
    let present: HashSet<_> = overview
        .unfinished
        .iter()
        .map(|r| {
            assert_eq!(r.outcome, Outcome::StillPresent);
            r.target().unwrap()
        })
        .collect();
    assert_eq!(present, back.iter().copied().collect());

    // A resume sends exactly those again; a verification then finds them all gone.
    let out = run(&sim2, &input, &report, &["--resume", "--verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim2.stats();
    assert_eq!(stats.deleted, back.len() as u64);
    assert_eq!(stats.remaining, 0);
    let overview = revoker::report::summarize_report(&report).unwrap();
    assert_eq!(overview.unfinished.len(), 0);
    assert_eq!(overview.latest.get(&Outcome::Verified).copied(), Some(300));
}

#[test]
fn list_pages_are_followed_and_counted_per_page() {
    // 1,200 keys in one project: three pages of 500.
    let keys: Vec<_> = (0..1200u32)
        .map(|i| {
            let mut t = target(Kind::ProjectApiKey, 1, 0, None);
            let mut b = [0u8; 12];
            b[8..].copy_from_slice(&i.to_be_bytes());
            t.key = revoker::input::ObjectId::from_bytes(b);
            t
        })
        .collect();
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    assert_eq!(
        run(&sim, &input, &report, &["--concurrency", "32"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    // Put 600 back: the list now has two pages.
    let sim2 = revoker_testkit::sim(SimConfig::default(), &keys[..600]);
    let out = verify(&sim2, &report, &["-o", "json", "--api-moved"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verification"]["still_present"], 600);
    assert_eq!(json["verification"]["verified"], 600);
    assert_eq!(sim2.stats().lists, 2);
}

#[test]
fn every_kind_is_verified_on_atlas_with_a_service_account() {
    let rows = vec![
        target(Kind::OrgApiKey, 100, 12, None),
        target(Kind::ProjectApiKey, 1, 13, None),
        target(Kind::ServiceAccount, 100, 14, None),
        target(Kind::ServiceAccountSecret, 101, 15, Some(16)),
        target(Kind::ServiceAccountSecret, 101, 15, Some(17)),
    ];
    let sim = sim(SimConfig::default(), &rows);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &rows);
    let mut cmd = revoker();
    cmd.args([
        "run",
        "--base-url",
        sim.atlas_url(),
        "--verify",
        "--kinds",
        "org-api-key,project-api-key,service-account,service-account-secret",
        "--input",
    ])
    .arg(&input)
    .arg("--report")
    .arg(&report);
    let out = with_service_account(cmd).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let overview = revoker::report::summarize_report(&report).unwrap();
    assert_eq!(overview.latest.get(&Outcome::Verified).copied(), Some(5));
    // Org keys, project keys, service accounts, and one service account's secrets: 4 lists.
    assert_eq!(sim.stats().lists, 4);
    assert_eq!(sim.stats().status(406), 0);
}

#[test]
fn the_audit_record_says_who_ran_what_and_never_a_secret() {
    let keys = keys(20, 2);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let log = audit::read(&report).unwrap();
    assert!(log.broken.is_none());
    let runs = log.runs();
    assert_eq!(runs.len(), 1);
    let (start, end) = runs[0];
    let end = end.expect("an end record");
    let sha = format!("{:x}", sha2::Sha256::digest(std::fs::read(&input).unwrap()));
    assert_eq!(start.input_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(start.input_rows, Some(20));
    assert_eq!(start.credential.as_deref(), Some("API key simpublic"));
    assert_eq!(start.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(start.base_url.as_deref(), Some(sim.base_url()));
    assert!(start.host.as_deref().is_some_and(|h| !h.is_empty()));
    assert!(start.user.as_deref().is_some_and(|u| !u.is_empty()));
    assert_eq!(end.exit_code, Some(0));
    assert_eq!(end.outcomes.as_ref().unwrap()["done"], 20);
    assert_eq!(end.requests, Some(21));
    // The summary prints the final chain digest, and the audit record keeps it.
    let digest = end.chain.clone().unwrap();
    assert!(
        stderr(&out).contains(&format!("report chain digest: {digest}")),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(audit::path_for(&report)).unwrap();
    assert!(!text.contains(DEFAULT_PRIVATE_KEY));

    // report -o json: every run with its audit record and real duration; every row's latest outcome.
    let out = revoker()
        .arg("report")
        .arg(&report)
        .args(["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 20);
    assert_eq!(json["runs"][0]["audit"]["end"]["requests"], 21);
    assert_eq!(json["chain"]["intact"], true);
    assert_eq!(json["chain"]["last"], digest);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("null,"),
        "no null fields"
    );
}

#[test]
fn run_durations_are_whole_seconds_not_their_fraction() {
    let keys = keys(30, 3);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    assert_eq!(
        run(&sim, &input, &report, &["--rate", "20/s"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    let out = revoker().arg("report").arg(&report).output().unwrap();
    let text = stdout(&out);
    let secs: f64 = text
        .lines()
        .find_map(|l| l.split(" rows in ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    assert!(secs >= 1.0, "30 rows at 20/s take over a second: {text}");
}

fn sha_lines(report: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(report)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn any_edit_of_the_report_is_found_and_named_by_its_line() {
    let keys = keys(10, 2);
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    assert_eq!(
        run(&sim, &input, &report, &[])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    let original = sha_lines(&report);
    let check = |lines: &[String], expect_line: Option<usize>, what: &str| {
        std::fs::write(&report, lines.join("\n") + "\n").unwrap();
        let out = revoker().arg("report").arg(&report).output().unwrap();
        match expect_line {
            Some(line) => {
                assert_eq!(out.status.code(), Some(5), "{what}: {}", stdout(&out));
                assert!(
                    stderr(&out).contains(&format!("{}:{line}: ", report.display())),
                    "{what}: {}",
                    stderr(&out)
                );
                assert!(stdout(&out).contains("chain: BROKEN"), "{what}");
            }
            None => {
                assert_eq!(out.status.code(), Some(5), "{what}: {}", stdout(&out));
                assert!(
                    stderr(&out).contains("rows were deleted or the report was replaced"),
                    "{what}: {}",
                    stderr(&out)
                );
            }
        }
    };
    // A rejected row turned into done, as `sed` would.
    let mut edited = original.clone();
    let i = edited
        .iter()
        .position(|l| l.contains(",rejected,"))
        .unwrap();
    edited[i] = edited[i].replace(",rejected,", ",done,");
    check(&edited, Some(i + 1), "an edited row");
    // A row deleted: the next one no longer follows.
    let mut deleted = original.clone();
    deleted.remove(3);
    check(&deleted, Some(4), "a deleted row");
    // Two rows swapped.
    let mut swapped = original.clone();
    swapped.swap(2, 3);
    check(&swapped, Some(3), "two rows swapped");
    // A row inserted (a copy of another).
    let mut inserted = original.clone();
    inserted.insert(5, original[2].clone());
    check(&inserted, Some(6), "a row inserted");
    // The last rows cut off: the chain that is left holds, but the audit record knows its end.
    check(
        &original[..original.len() - 2],
        None,
        "rows cut off the end",
    );
    // A torn last line (a crash mid-write) is no tampering.
    let mut torn = original.join("\n") + "\n";
    torn.push_str("2026");
    std::fs::write(&report, torn).unwrap();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn a_report_written_before_the_chain_still_reads_and_resumes() {
    let keys = keys(6, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    // The old format: 12 columns, no chain, no audit record; two rows done, the rest failed.
    let mut text = revoker::report::HEADER[..revoker::report::OLD_COLUMNS].join(",") + "\n";
    for (i, t) in keys.iter().enumerate() {
        let outcome = if i < 2 { "done,200" } else { "failed,503" };
        text.push_str(&format!(
            "20261101T000000Z-0001,2026-11-01T00:00:00.000Z,{},{},{},{},{outcome},,1,5,\n",
            i + 2,
            t.kind,
            t.scope,
            t.key
        ));
    }
    std::fs::write(&report, text).unwrap();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("6 older rows without digests"),
        "{}",
        stdout(&out)
    );
    let sim2 = revoker_testkit::sim(SimConfig::default(), &keys[2..]);
    let out = run(&sim2, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim2.stats().deleted, 4);
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("chain: intact (4 rows checked, 6 older rows without digests)"),
        "{}",
        stdout(&out)
    );
    let _ = sim;
}

#[test]
fn the_html_page_is_self_contained_and_shows_the_counts() {
    let keys = keys(40, 4);
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    assert_eq!(
        run(&sim, &input, &report, &["--verify"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    let page = path(&d, "evidence.html");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.errors.is_empty(), "{:?}", doc.errors);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    // Nothing is fetched from anywhere.
    for css in ["script", "link", "img", "iframe", "[src]", "[href]"] {
        assert_eq!(doc.select(&select(css)).count(), 0, "{css}");
    }
    assert!(!html.contains("url(") && !html.contains("@import"));
    // The counts, per run as an SVG chart, the unfinished rows, the verification, the digest.
    let text: String = doc.root_element().text().collect();
    assert!(text.contains("done") && text.contains("30"), "{text}");
    assert!(doc.select(&select("svg rect")).count() >= 2);
    // A table per project: four projects and a header.
    assert_eq!(
        doc.select(&select("table"))
            .nth(1)
            .unwrap()
            .select(&select("tr"))
            .count(),
        5,
        "four projects and a header"
    );
    // What happened, in plain words, and every row left, collapsed rather than dropped.
    assert!(text.contains("refused by the API10"), "{text}");
    assert!(text.contains("10 rows are left"), "{text}");
    let left: Vec<String> = doc
        .select(&select("details pre.rows"))
        .map(|e| e.text().collect())
        .filter(|t: &String| t.starts_with("line  outcome"))
        .collect();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].lines().count(), 11, "10 rows left and a header");
    assert!(text.contains("30 confirmed absent"), "{text}");
    let overview = revoker::report::summarize_report(&report).unwrap();
    assert!(text.contains(&overview.chain.last));
    assert!(html.contains("prefers-color-scheme: dark") && html.contains("@media print"));
    // The page is never written over the report or its side files.
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--html")
        .arg(audit::path_for(&report))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing to write over the report's audit record"),
        "{}",
        stderr(&out)
    );
}
