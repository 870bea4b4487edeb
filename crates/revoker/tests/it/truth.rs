//! A report that tells the truth: never finished while rows are left, no input's rows lost to a
//! resume with another, no forged row taken for an old one, end records checked against their
//! rows, a digest to keep and a signature the stock minisign tool checks, plain words and groups.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use revoker::report::{Outcome, audit};
use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

/// A report of `n` rows whose run was stopped (SIGINT) early, most rows never attempted.
fn stopped_report(n: u64) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let keys = keys(n, 10);
    let Job {
        sim: slow,
        dir: d,
        input,
        report,
    } = job(
        SimConfig {
            latency: Duration::from_millis(300),
            ..SimConfig::default()
        },
        &keys,
    );
    let mut child = spawn_run(&slow, &input, &report, &["--concurrency", "4"]);
    wait_for_rows(&report, 0, &mut child);
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    (d, input, report)
}

#[test]
fn rows_never_attempted_are_left_in_the_text_json_and_page() {
    let (d, _input, report) = stopped_report(2000);
    let written = records(&report).len() as u64;
    let left = 2000 - written;
    assert!(left > 1000, "{written} rows written");
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("  never attempted              {left}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("NOT finished: {left} rows left;")),
        "{text}"
    );
    let out = revoker()
        .args(["report", "-o", "json"])
        .arg(&report)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["finished"], false);
    assert_eq!(json["plain"]["never_attempted"], left);
    assert_eq!(json["left"], left);
    for outcome in [
        "done",
        "not_found",
        "rejected",
        "failed",
        "invalid",
        "verified",
        "still_present",
    ] {
        assert!(
            json["latest"][outcome].is_u64(),
            "{outcome} present, zero included"
        );
    }
    // Rows never attempted are not report rows: `skipped` is only an old report's (issue 34).
    assert!(json["latest"].get("skipped").is_none(), "{json}");
    let page = path(&d, "p.html");
    revoker()
        .arg("report")
        .arg(&report)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("class=\"status bad\""));
    assert!(
        html.contains(&format!("{left} rows are left")),
        "status box"
    );
    // The hand-over has every row left, attempted or not.
    let failures = path(&d, "left.csv");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--failures")
        .arg(&failures)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let handed = std::fs::read_to_string(&failures).unwrap().lines().count() as u64 - 1;
    assert_eq!(handed, left);
}

#[test]
fn a_resume_with_another_input_is_refused_and_the_first_inputs_rows_are_never_lost() {
    let (d, input, report) = stopped_report(300);
    let left = 300 - records(&report).len() as u64;
    let other = path(&d, "other.csv");
    write_csv(&other, &keys(5, 1)[..3]);
    let sim = sim(SimConfig::default(), &keys(300, 10));
    let out = run(&sim, &other, &report, &["--resume", "--api-moved"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let first = revoker::input::Source::open(&input).unwrap();
    let second = revoker::input::Source::open(&other).unwrap();
    let err = stderr(&out);
    assert!(
        err.contains(first.sha256())
            && err.contains(second.sha256())
            && err.contains("--new-input"),
        "{err}"
    );
    assert_eq!(sim.stats().requests, 0);
    // Said explicitly: a new list for the same report. The first input's unsent rows still count.
    let out = run(
        &sim,
        &other,
        &report,
        &["--resume", "--api-moved", "--new-input"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = revoker()
        .args(["report", "-o", "json"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["plain"]["never_attempted"], left);
    // Edited since: the hand-over says exactly which input it cannot read.
    std::fs::write(&input, "project,key,kind\n").unwrap();
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--failures")
        .arg(path(&d, "left.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "the rows never attempted cannot be listed: {} has changed since run",
            std::fs::canonicalize(&input).unwrap().display()
        )),
        "{}",
        stderr(&out)
    );
}

/// A finished report of 20 rows: its input and report paths.
fn finished_report(
    extra: &[&str],
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    revoker_testkit::simulator::SimHandle,
) {
    let keys = keys(20, 2);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let out = run(&sim, &input, &report, extra).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (d, input, report, sim)
}

#[test]
fn a_row_without_a_digest_under_a_chained_header_is_a_forgery() {
    let (_d, input, report, sim) = finished_report(&[]);
    let text = std::fs::read_to_string(&report).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // The 12-column form of an old report, claiming a key verified.
    let forged = "20250101T000000Z-0000,2025-01-01T00:00:00.000Z,99,project-api-key,5e0000000000000000000009,6a0000000000000000000099,verified,200,,0,0,forged";
    lines.insert(1, forged);
    std::fs::write(&report, lines.join("\n") + "\n").unwrap();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            ":2: a row of 12 fields without a chain digest under a header with the chain column"
        ),
        "{}",
        stderr(&out)
    );
    let out = run(&sim, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_rewritten_end_record_is_caught_by_its_rows_and_by_a_kept_digest() {
    let keys = keys(20, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let kept = err
        .lines()
        .find_map(|l| l.split("checks it): ").nth(1))
        .expect("an evidence digest in the summary")
        .trim()
        .to_string();
    let out = revoker()
        .args(["report", "--expect-digest", &kept])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "as written, rows left: {}",
        stderr(&out)
    );
    // Rewrite the end record: exit 1 becomes 0.
    let audit_path = audit::path_for(&report);
    let text = std::fs::read_to_string(&audit_path).unwrap();
    std::fs::write(
        &audit_path,
        text.replace("\"exit_code\":1", "\"exit_code\":0"),
    )
    .unwrap();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("end record says exit code 0, yet 10 of its rows are not finished"),
        "{}",
        stderr(&out)
    );
    // Rewrite its count instead: its rows disagree.
    std::fs::write(
        &audit_path,
        text.replace("\"rejected\":10", "\"rejected\":0"),
    )
    .unwrap();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("end record counts 0 rejected rows; the report has 10"),
        "{}",
        stderr(&out)
    );
    // Any change to the last line loses the kept digest.
    std::fs::write(&audit_path, text.replace("\"requests\":", "\"requests\": ")).unwrap();
    let out = revoker()
        .args(["report", "--expect-digest", &kept])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("no line has the evidence digest {kept}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_signed_report_checks_with_minisign_and_with_revoker_and_fails_after_any_change() {
    if !have_tool("minisign", "-v") {
        return;
    }
    let d = dir();
    let (public, secret) = (path(&d, "k.pub"), path(&d, "k.key"));
    let out = revoker()
        .arg("keygen")
        .arg("--secret-key")
        .arg(&secret)
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let sign = secret.display().to_string();
    let (_d2, _input, report, _sim) = finished_report(&["--sign-key", &sign, "--verify"]);
    let manifest = revoker::report::sidecar(&report, ".manifest");
    let check = |file: &std::path::Path| {
        std::process::Command::new("minisign")
            .arg("-Vm")
            .arg(file)
            .arg("-p")
            .arg(&public)
            .output()
            .unwrap()
    };
    let out = check(&manifest);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&manifest).unwrap();
    for file in [&report, &audit::path_for(&report)] {
        use sha2::Digest as _;
        let sha = format!("{:x}", sha2::Sha256::digest(std::fs::read(file).unwrap()));
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(text.contains(&format!("{sha}  {name}\n")), "{text}");
    }
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("signature: good"), "{}", stderr(&out));
    // One byte of the report or of the audit file changed: revoker says which.
    for file in [report.clone(), audit::path_for(&report)] {
        let before = std::fs::read(&file).unwrap();
        let mut changed = before.clone();
        let at = changed.len() - 3;
        changed[at] ^= 1;
        std::fs::write(&file, &changed).unwrap();
        let out = revoker()
            .arg("report")
            .arg(&report)
            .arg("--public-key")
            .arg(&public)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "{} changed after it was signed",
                file.file_name().unwrap().to_string_lossy()
            )),
            "{}",
            stderr(&out)
        );
        std::fs::write(&file, &before).unwrap();
    }
    // One byte of the manifest changed: the stock tool refuses it.
    let mut forged = std::fs::read(&manifest).unwrap();
    forged[0] ^= 1;
    std::fs::write(&manifest, &forged).unwrap();
    assert!(!check(&manifest).status.success());
}

#[test]
fn report_groups_unfinished_rows_rather_than_one_line_each() {
    let keys = keys(60, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    run(&sim, &input, &report, &[]).output().unwrap();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let groups: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  rejected: "))
        .collect();
    assert_eq!(groups.len(), 1, "{text}");
    assert!(
        groups[0].starts_with(&format!(
            "  rejected: 30 rows of project {}: HTTP 403 USER_CANNOT_ACCESS_GROUP",
            keys[1].scope
        )) && groups[0].ends_with("— lines 3, 5, 7, 9, 11 and 25 more"),
        "{}",
        groups[0]
    );
    assert_eq!(
        records(&report)
            .iter()
            .filter(|r| r.outcome == Outcome::Rejected)
            .count(),
        30
    );
}

#[test]
fn a_key_pair_made_by_minisign_signs_with_its_password() {
    if !have_tool("minisign", "-v") {
        return;
    }
    let d = dir();
    let (public, secret) = (path(&d, "m.pub"), path(&d, "m.key"));
    let mut made = std::process::Command::new("minisign")
        .args(["-G", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(made.stdin.as_mut().unwrap(), b"s3cret\ns3cret\n").unwrap();
    assert!(made.wait().unwrap().success());
    let keys = keys(4, 1);
    let sim = sim(SimConfig::default(), &keys);
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &["--sign-key"])
        .arg(&secret)
        .env("REVOKER_SIGN_KEY_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("s3cret"));
    let checked = std::process::Command::new("minisign")
        .arg("-Vm")
        .arg(revoker::report::sidecar(&report, ".manifest"))
        .arg("-p")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // Without its password the run refuses to start signing what it cannot sign.
    let report2 = path(&d, "r2.csv");
    let out = run(&sim, &input, &report2, &["--sign-key"])
        .arg(&secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("REVOKER_SIGN_KEY_PASSWORD"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_chained_report_without_its_audit_record_is_not_as_written() {
    let (_d, _input, report) = stopped_report(300);
    std::fs::remove_file(audit::path_for(&report)).unwrap();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "the audit record is missing, so the rows its runs never attempted cannot be counted"
        ),
        "{}",
        stderr(&out)
    );
}
