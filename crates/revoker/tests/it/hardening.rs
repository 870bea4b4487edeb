//! Hardening: no output lands on the evidence, side files follow no planted link, every file is
//! owner-only whatever the umask, no core dumps, SIGHUP drains, OAuth numbers out of range, one lock
//! decided atomically, metrics on every exit, a secret where none belongs, the run's own
//! credential, and a CA file that is not one.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use revoker::input::Kind;
use revoker::report::Outcome;
use revoker_testkit::simulator::{DEFAULT_CLIENT_ID, SimConfig};
use revoker_testkit::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_metrics_file_may_not_replace_the_evidence_or_the_input() {
    let keys = keys(4, 1);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let link = path(&d, "link.prom");
    std::os::unix::fs::symlink(&report, &link).unwrap();
    let before = std::fs::read(&report).unwrap();
    let requests = sim.stats().requests;
    for (target, what) in [
        (report.clone(), "the report"),
        (path(&d, "r.csv.audit.jsonl"), "the report's audit record"),
        (path(&d, "r.csv.sent"), "the report's journal"),
        (input.clone(), "the input"),
        (link.clone(), "the report"),
    ] {
        let out = run(&sim, &input, &report, &["--resume", "--metrics-file"])
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("refusing to write over {what}")),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read(&report).unwrap(), before);
    assert_eq!(sim.stats().requests, requests, "nothing was sent");
}

#[test]
fn side_files_never_follow_a_planted_link() {
    let keys = keys(6, 1);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    for side in [".audit.jsonl", ".sent"] {
        let sim = sim(SimConfig::default(), &keys);
        let victim = path(&d, "victim");
        std::fs::write(&victim, "keep\n").unwrap();
        let planted = path(&d, &format!("r.csv{side}"));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let out = run(&sim, &input, &report, &[]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{side}: {}", stderr(&out));
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "keep\n",
            "{side}"
        );
        assert_eq!(sim.stats().deleted, 0, "{side}: nothing revoked");
        std::fs::remove_file(&planted).unwrap();
        let _ = std::fs::remove_file(&report);
        let _ = std::fs::remove_file(path(&d, "r.csv.audit.jsonl"));
    }
}

#[test]
fn reports_audit_files_journals_and_hand_overs_are_owner_only_metrics_are_not() {
    let keys = keys(10, 2);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let metrics = path(&d, "m.prom");
    // The usual umask: files would be 0644.
    let out = run(&sim, &input, &report, &["--metrics-file"])
        .arg(&metrics)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let failures = path(&d, "left.csv");
    let html = path(&d, "r.html");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--failures")
        .arg(&failures)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    revoker()
        .arg("report")
        .arg(&report)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    for file in [&report, &path(&d, "r.csv.audit.jsonl"), &failures, &html] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert_eq!(mode(&metrics), 0o644, "node_exporter reads the metrics");
}

#[test]
fn a_running_revoker_can_dump_no_core_and_the_unit_says_so() {
    let keys = keys(200, 4);
    let Job {
        sim: slow,
        dir: _d,
        input,
        report,
    } = job(
        SimConfig {
            latency: Duration::from_millis(100),
            ..SimConfig::default()
        },
        &keys,
    );
    let mut child = spawn_run(&slow, &input, &report, &[]);
    wait_for_rows(&report, 0, &mut child);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "{core}"
    );
    let _ = child.kill();
    let _ = child.wait();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/systemd/revoker-nightly.service"
    ))
    .unwrap();
    assert!(unit.lines().any(|l| l == "LimitCORE=0"));
}

#[test]
fn sighup_drains_like_sigterm_with_its_summary_audit_end_and_token_revoked() {
    let keys = keys(200, 4);
    let Job {
        sim: slow,
        dir: _d,
        input,
        report,
    } = job(
        SimConfig {
            latency: Duration::from_millis(200),
            ..SimConfig::default()
        },
        &keys,
    );
    let mut child = clean_command(assert_cmd::cargo::cargo_bin("revoker"))
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .env("MONGODB_ATLAS_CLIENT_ID", DEFAULT_CLIENT_ID)
        .env(
            "MONGODB_ATLAS_CLIENT_SECRET",
            revoker_testkit::simulator::DEFAULT_CLIENT_SECRET,
        )
        .args(["run", "--base-url", slow.base_url(), "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_rows(&report, 0, &mut child);
    let status = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(129), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("revoker: stopped: run stopped: the terminal hung up (SIGHUP)"),
        "{}",
        stderr(&out)
    );
    let log = revoker::report::audit::read(&report).unwrap();
    let end = log.records.last().unwrap();
    assert_eq!((end.event.as_str(), end.exit_code), ("end", Some(129)));
    assert_eq!(end.rows_written, Some(records(&report).len() as u64));
    let stats = slow.stats();
    assert_eq!((stats.tokens_issued, stats.token_revokes), (1, 1));
}

/// A run signed in with a service account whose token answer has `field` = `value`.
fn with_token_field(field: &str, value: serde_json::Value) -> (std::process::Output, u64, u64) {
    let keys = keys(6, 1);
    let mut token_answer = serde_json::Map::new();
    token_answer.insert(field.into(), value);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(
        SimConfig {
            token_answer,
            ..SimConfig::default()
        },
        &keys,
    );
    let out = with_service_account(run(&sim, &input, &report, &[]))
        .output()
        .unwrap();
    let stats = sim.stats();
    (out, stats.tokens_issued, stats.token_revokes)
}

#[test]
fn oauth_numbers_out_of_range_never_panic_and_no_token_stays_live() {
    // Too large to add to a clock: clamped, the run goes on, the token is revoked at the end.
    let (out, issued, revoked) = with_token_field(
        "expires_in",
        serde_json::json!(10_000_000_000_000_000_000u64),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!((issued, revoked), (1, 1));
    for (field, value, why) in [
        (
            "expires_in",
            serde_json::json!(-5),
            "expires_in -5 is not a whole number of seconds",
        ),
        (
            "expires_in",
            serde_json::json!(3.5),
            "expires_in 3.5 is not a whole number of seconds",
        ),
        (
            "expires_in",
            serde_json::json!("3600"),
            "expires_in \"3600\" is not a whole number of seconds",
        ),
        (
            "expires_in",
            serde_json::json!(1e30),
            "is not a whole number of seconds",
        ),
        (
            "token_type",
            serde_json::json!("mac"),
            "token type \"mac\" is not Bearer",
        ),
    ] {
        let (out, issued, revoked) = with_token_field(field, value);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("cannot sign in: the token endpoint answered unexpectedly: ")
                && err.contains(why)
                && err.contains("(the token it issued was revoked)"),
            "{err}"
        );
        assert!(!err.contains("credentials rejected"), "{err}");
        assert_eq!((issued, revoked), (1, 1), "{why}");
    }
}

#[test]
fn a_second_run_on_a_report_being_created_gets_the_lock_not_the_report() {
    let keys = keys(200, 4);
    let slow = sim(
        SimConfig {
            latency: Duration::from_millis(100),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "new.csv"));
    write_csv(&input, &keys);
    let mut first = spawn_run(&slow, &input, &report, &[]);
    let started = Instant::now();
    while !report.exists() {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = run(&slow, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    wait_for_rows(&report, 0, &mut first);
    let _ = first.kill();
    let _ = first.wait();
    let runs: std::collections::HashSet<String> =
        records(&report).into_iter().map(|r| r.run_id).collect();
    assert!(runs.len() <= 1, "one run wrote the report: {runs:?}");
}

#[test]
fn metrics_are_written_on_every_exit_and_success_starts_at_zero() {
    let d = dir();
    let metrics = path(&d, "m.prom");
    // Unreadable input: exit 2, and the metrics say so.
    let out = revoker()
        .args([
            "run",
            "--base-url",
            "http://127.0.0.1:9/api/public/v1.0",
            "--input",
        ])
        .arg(path(&d, "missing.csv"))
        .arg("--metrics-file")
        .arg(&metrics)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(text.contains("revoker_exit_code{job=\"run\"} 2"), "{text}");
    assert!(
        text.contains("revoker_last_success_timestamp_seconds{job=\"run\"} 0\n"),
        "{text}"
    );
}

#[test]
fn a_secret_on_a_kind_without_one_is_invalid() {
    let account = target(Kind::ServiceAccount, 1, 5, Some(6));
    let sim = sim(
        SimConfig::default(),
        &[target(Kind::ServiceAccount, 1, 5, None)],
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &[account]);
    let out = run(&sim, &input, &report, &["--kinds", "service-account"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = records(&report);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, Outcome::Invalid);
    assert_eq!(
        rows[0].message,
        format!(
            "secret \"{}\" on a service-account row: only service-account-secret rows name a secret (is this row a service-account-secret?)",
            account.secret_text()
        )
    );
    assert_eq!(sim.stats().deleted, 0, "the account is still there");
}

#[test]
fn the_runs_own_service_account_is_refused_unless_allowed_then_sent_last() {
    let own = revoker::input::Target {
        kind: Kind::ServiceAccount,
        scope: revoker::input::ObjectId::from_bytes([1; 12]),
        key: revoker::input::parse_client_id(DEFAULT_CLIENT_ID).unwrap(),
        secret: None,
    };
    let others: Vec<_> = (10..30)
        .map(|n| target(Kind::ServiceAccount, 1, n, None))
        .collect();
    let mut rows = vec![own];
    rows.extend(others.iter().copied());
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &rows);
    let sim1 = sim(SimConfig::default(), &rows);
    let out = with_service_account(run(&sim1, &input, &report, &["--kinds", "service-account"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let written = records(&report);
    assert_eq!(count(&written, Outcome::Done), 20);
    let refused: Vec<_> = written
        .iter()
        .filter(|r| r.outcome == Outcome::Invalid)
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        refused[0].message,
        format!(
            "this row is the credential this run signs in with (service account {DEFAULT_CLIENT_ID}): revoking it mid-run would stop the run; pass --allow-own-credential (allow_own_credential = true in a job) to revoke it last"
        )
    );
    // Allowed: sent after every other row, and the run ends cleanly.
    let sim2 = sim(SimConfig::default(), &rows);
    let report2 = path(&d, "r2.csv");
    let out = with_service_account(run(
        &sim2,
        &input,
        &report2,
        &["--kinds", "service-account", "--allow-own-credential"],
    ))
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = records(&report2);
    assert_eq!(count(&written, Outcome::Done), 21);
    assert_eq!(written.last().unwrap().key, DEFAULT_CLIENT_ID, "sent last");
    assert!(
        stderr(&out).contains(&format!("the credential this run signed in with (service account {DEFAULT_CLIENT_ID}) was revoked last, as allowed: it is gone")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_ca_file_that_is_not_one_is_refused_at_once_naming_it() {
    let keys = keys(2, 1);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let started = Instant::now();
    let out = run(&sim, &input, &report, &["--ca-cert", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "revoker: CA certificate /dev/zero: not a regular file"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let bad = path(&d, "bad.pem");
    std::fs::write(
        &bad,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = run(&sim, &input, &report, &["--ca-cert"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!("revoker: CA certificate {}: ", bad.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().requests, 0);
}

#[test]
fn validate_names_the_rows_of_the_service_account_it_would_sign_in_with() {
    let own = revoker::input::Target {
        kind: Kind::ServiceAccount,
        scope: revoker::input::ObjectId::from_bytes([1; 12]),
        key: revoker::input::parse_client_id(DEFAULT_CLIENT_ID).unwrap(),
        secret: None,
    };
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &[target(Kind::ServiceAccount, 1, 9, None), own]);
    let mut cmd = revoker();
    cmd.args(["validate", "--kinds", "service-account"])
        .arg(&input);
    let out = with_service_account(cmd).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "{}:3: this row is the credential this run signs in with (service account {DEFAULT_CLIENT_ID})",
            input.display()
        )),
        "{}",
        stdout(&out)
    );
}
