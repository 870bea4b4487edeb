//! `revoker run` against the simulator: outcomes as the API documents them, request counts, exit
//! codes, rate limits by scope.

use revoker::input::Kind;
use revoker::report::Outcome;
use revoker_testkit::simulator::{Bucket, SimConfig};
use revoker_testkit::*;

#[test]
fn a_thousand_revocations_over_both_kinds_cost_one_request_each() {
    let keys = keys(1000, 20);
    assert_eq!(kind_count(&keys, Kind::AgentApiKey), 500);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--concurrency", "32"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!(stats.deleted, 1000);
    assert_eq!(stats.remaining, 0);
    // One challenge for the first row, then one request per key.
    assert_eq!(stats.challenges, 1);
    assert_eq!(stats.requests, 1001);
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(rows.len(), 1000);
    assert_eq!(count(&rows, Outcome::Done), 1000);
    assert!(
        rows.iter()
            .all(|r| r.attempts == 1 && r.http_status == Some(200))
    );
    assert!(
        stderr(&out).contains("done 1000 · not_found 0"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_rerun_of_a_fully_revoked_export_is_all_not_found_and_exits_0() {
    let keys = keys(200, 10);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let out = run(&sim, &input, &path(&d, "first.csv"), &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The next night, the same export: every key already gone.
    let out = run(&sim, &input, &path(&d, "second.csv"), &["--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = records(&path(&d, "second.csv"));
    assert_eq!(count(&rows, Outcome::NotFound), 200);
    let codes: std::collections::BTreeMap<(Option<u16>, String), usize> =
        rows.iter().fold(Default::default(), |mut m, r| {
            *m.entry((r.http_status, r.error_code.clone())).or_default() += 1;
            m
        });
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        vec![
            ((Some(400), "API_KEY_NOT_FOUND".to_string()), 100),
            ((Some(404), "AGENT_API_KEY_NOT_FOUND".to_string()), 100)
        ]
    );
    // Even with --quiet, one line says that nothing was revoked.
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no key was revoked: every row was already gone — is the export stale?"),
        "{err}"
    );
}

#[test]
fn missing_keys_are_not_found_and_a_forbidden_project_is_rejected() {
    let present = keys(40, 4);
    let missing = missing_keys(10, 4);
    let forbidden = present[1].scope;
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&forbidden)],
            ..SimConfig::default()
        },
        &present,
    );
    let d = dir();
    let input = path(&d, "in.csv");
    let report = path(&d, "r.csv");

    let missing: Vec<_> = missing
        .into_iter()
        .filter(|t| t.scope != forbidden)
        .collect();
    assert_eq!(missing.len(), 7);
    write_csv(&input, &missing);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = records(&report);
    assert_eq!(count(&rows, Outcome::NotFound), 7);
    assert!(
        rows.iter()
            .filter(|r| r.outcome == Outcome::NotFound)
            .all(|r| r.error_code == "API_KEY_NOT_FOUND"
                || r.error_code == "AGENT_API_KEY_NOT_FOUND")
    );
    let _ = std::fs::remove_file(&report);

    write_csv(&input, &present);
    let out = run(&sim, &input, &report, &["--envelope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = records(&report);
    assert_eq!(count(&rows, Outcome::Done), 30);
    assert_eq!(count(&rows, Outcome::Rejected), 10);
    let rejected = rows
        .iter()
        .find(|r| r.outcome == Outcome::Rejected)
        .unwrap();
    assert_eq!(rejected.http_status, Some(403));
    assert_eq!(rejected.error_code, "USER_CANNOT_ACCESS_GROUP");
    assert_eq!(sim.stats().deleted, 30);
    // One log line for the project's ten refusals, not ten.
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("rejected:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(&format!(
            "rejected: 10 rows of project {forbidden}: HTTP 403 USER_CANNOT_ACCESS_GROUP"
        )) && lines[0].contains("and 5 more"),
        "{err}"
    );
}

#[test]
fn a_project_not_in_group_is_rejected_and_the_run_goes_on() {
    let keys = keys(200, 10);
    let refusing = keys[3].scope;
    let sim = sim(
        SimConfig {
            not_in_group: vec![oid(&refusing)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(&sim, &path(&d, "in.csv"), &path(&d, "r.csv"), &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(rows.len(), 200, "nothing skipped");
    let refused: Vec<_> = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Rejected)
        .collect();
    assert_eq!(refused.len(), 20);
    assert!(refused.iter().all(|r| r.project == refusing.to_string()
        && r.http_status == Some(401)
        && r.error_code == "NOT_IN_GROUP"));
    assert_eq!(count(&rows, Outcome::Done), 180);
}

#[test]
fn an_ip_not_on_the_access_list_stops_at_once_with_exit_3() {
    let keys = keys(100, 5);
    let sim = sim(
        SimConfig {
            access_list_denied: true,
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--concurrency", "16"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stopped: this machine's IP address is not on the credential's IP access list (HTTP 403 IP_ADDRESS_NOT_ON_ACCESS_LIST"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().requests, 2, "the challenge and one DELETE");
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, Outcome::Failed);
    assert!(
        stderr(&out).contains(
            "not attempted (the run stopped; not in the report, --resume sends them): 99"
        )
    );
}

#[test]
fn thirty_percent_503s_all_end_done_after_retries() {
    let keys = keys(200, 5);
    let sim = sim(
        SimConfig {
            error_rate: 0.3,
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--max-attempts", "15", "--concurrency", "32"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!(stats.deleted, 200);
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(count(&rows, Outcome::Done), 200);
    let attempts: u64 = rows.iter().map(|r| u64::from(r.attempts)).sum();
    // Every attempt is one request (plus the one challenge); every extra attempt answered 503.
    assert_eq!(stats.requests, attempts + 1);
    assert_eq!(stats.status(503), attempts - 200);
}

#[test]
fn a_limit_for_everyone_pauses_everyone_until_retry_after() {
    let keys = keys(60, 3);
    let config = SimConfig {
        user_bucket: Some(Bucket::per_minute(1200)),
        retry_after: Some(1),
        ..SimConfig::default()
    };
    let sim = sim(config, &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--concurrency", "16", "--max-attempts", "20"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!(stats.deleted, 60);
    assert!(stats.status(429) > 0, "the limit was reached: {stats:?}");
    assert_eq!(
        stats.early_requests, 0,
        "no request arrived before Retry-After passed: {stats:?}"
    );
    assert_eq!(count(&records(&path(&d, "r.csv")), Outcome::Done), 60);
}

#[test]
fn a_limit_on_one_project_pauses_only_that_project() {
    let limited = target(Kind::ProjectApiKey, 1, 0, None).scope;
    let mut keys: Vec<_> = (0..6)
        .map(|k| target(Kind::ProjectApiKey, 1, 100 + k, None))
        .collect();
    keys.extend((0..30).map(|k| target(Kind::ProjectApiKey, 2 + k % 3, 10 + k, None)));
    let sim = sim(
        SimConfig {
            scope_bucket: Some("2:100/s".parse().unwrap()),
            limited_scopes: vec![oid(&limited)],
            retry_after: Some(2),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--concurrency", "8", "--max-attempts", "20"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!((stats.deleted, stats.early_requests), (36, 0), "{stats:?}");
    assert!(stats.status(429) >= 1, "{stats:?}");
    // The other projects did not wait for the limited one's Retry-After: every one of their rows
    // was written before the limited project's last.
    let rows = records(&path(&d, "r.csv"));
    let last_limited = rows
        .iter()
        .rposition(|r| r.project == limited.to_string())
        .unwrap();
    let last_other = rows
        .iter()
        .rposition(|r| r.project != limited.to_string())
        .unwrap();
    assert!(last_other < last_limited, "{rows:#?}");
    assert!(
        rows.iter()
            .filter(|r| r.project != limited.to_string())
            .all(|r| r.attempts == 1)
    );
}

#[test]
fn rate_limit_headers_keep_a_bucket_from_running_dry() {
    let keys: Vec<_> = (0..60u8)
        .map(|k| target(Kind::OrgApiKey, 1 + k % 4, 10 + k, None))
        .collect();
    let sim = sim(
        SimConfig {
            scope_bucket: Some("5:20/s".parse().unwrap()),
            ratelimit_headers: true,
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &[
            "--kinds",
            "org-api-key",
            "--concurrency",
            "4",
            "--max-attempts",
            "10",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!(stats.deleted, 60);
    assert!(stats.status(429) <= 1, "{stats:?}");
}

#[test]
fn a_wrong_password_stops_the_run_with_exit_3_after_two_requests() {
    let keys = keys(50, 5);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--concurrency", "16"],
    )
    .env("MCLI_PRIVATE_API_KEY", "not-the-password")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("credentials rejected: 401 Unauthorized after a fresh digest challenge"),
        "{}",
        stderr(&out)
    );
    let stats = sim.stats();
    assert_eq!(stats.requests, 2);
    assert_eq!(stats.deleted, 0);
    // The row that learned it; the others were never attempted, so they are not in the report.
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(count(&rows, Outcome::Failed), 1);
    assert!(
        stderr(&out).contains("--resume sends them): 49"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_rows_get_their_line_numbers_and_duplicates_are_sent_once() {
    let keys = keys(3, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    let (p, k0, k1, k2) = (keys[0].scope, keys[0].key, keys[1].key, keys[2].key);
    std::fs::write(
        &input,
        format!(
            "\u{feff}Project,Key,Type,Note\r\n{p},{k0},apiKey,first\r\n\r\n{p},../../etc/passwd,agent,x\r\n{p},{k1},agent,\"a, b\"\r\n{p},{k0},project-api-key,again\r\n{p},{k2},user,x\r\n"
        ),
    )
    .unwrap();
    let out = run(&sim, &input, &path(&d, "r.csv"), &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut rows = records(&path(&d, "r.csv"));
    rows.sort_by_key(|r| r.line);
    let lines: Vec<(u64, Outcome, &str)> = rows
        .iter()
        .map(|r| (r.line, r.outcome, r.message.as_str()))
        .collect();
    let unknown = format!("unknown kind \"user\" (expected {})", Kind::names());
    assert_eq!(
        lines,
        vec![
            (2, Outcome::Done, ""),
            (
                4,
                Outcome::Invalid,
                "key id \"../../etc/passwd\" is not a 24-hex-digit ObjectId"
            ),
            (5, Outcome::Done, ""),
            (6, Outcome::Done, "duplicate of line 2: sent once"),
            (7, Outcome::Invalid, unknown.as_str()),
        ]
    );
    assert_eq!(rows[1].key, "../../etc/passwd");
    assert_eq!(sim.stats().requests, 3, "one challenge and two deletions");
    // The invalid rows are named in the log with their lines.
    assert!(
        stderr(&out).contains("2 invalid rows in") && stderr(&out).contains("line 4: key id"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_malformed_json_file_is_exit_2_before_any_request() {
    let sim = sim(SimConfig::default(), &keys(2, 1));
    let d = dir();
    let input = path(&d, "in.json");
    let k = keys(2, 1);
    std::fs::write(
        &input,
        format!("[\n{{\"project\":\"{}\",\"key\":\"{}\",\"kind\":\"agent\"}},\n{{\"project\": oops}}\n]\n", k[0].scope, k[0].key),
    )
    .unwrap();
    let out = run(&sim, &input, &path(&d, "r.csv"), &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {}:3: malformed JSON: expected value (column 13)",
            input.display()
        )
    );
    assert_eq!(sim.stats().requests, 0);
    assert!(
        !path(&d, "r.csv").exists(),
        "no report for a run that never started"
    );
}

#[test]
fn an_existing_report_needs_resume_and_a_locked_one_is_exit_4() {
    let keys = keys(5, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    assert_eq!(
        run(&sim, &input, &report, &[])
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );

    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {}: the report already exists; pass --resume to continue that run, or choose another --report path",
            report.display()
        )
    );

    let _held = revoker::report::ReportLock::acquire(&report, false).unwrap();
    for extra in [&["--resume"][..], &[]] {
        let out = run(&sim, &input, &report, extra).output().unwrap();
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert_eq!(
            stderr(&out).trim(),
            format!(
                "revoker: {}: another revoker run (pid {}) is using this report; wait for it or stop it",
                std::fs::canonicalize(&report).unwrap().display(),
                std::process::id()
            )
        );
    }
}

#[test]
fn resume_skips_finished_rows_and_retries_the_rest() {
    let keys = keys(60, 3);
    let flaky = sim(
        SimConfig {
            error_rate: 0.5,
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&flaky, &input, &report, &["--max-attempts", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let first = records(&report);
    let failed: Vec<_> = first
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| r.target().unwrap())
        .collect();
    let done = count(&first, Outcome::Done);
    assert_eq!(done + failed.len(), 60);
    assert_eq!(flaky.stats().deleted as usize, done);
    assert!(
        !failed.is_empty() && done > 0,
        "a 50% error rate leaves both kinds of row"
    );

    // The same keys, as the first server left them, now answering every request.
    let steady = sim(SimConfig::default(), &failed);
    let out = run(&steady, &input, &report, &["--resume", "--api-moved"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "already finished by earlier runs (not sent again): {done}"
        )),
        "{}",
        stderr(&out)
    );
    let stats = steady.stats();
    assert_eq!(
        stats.requests as usize,
        failed.len() + 1,
        "only the failed rows are sent again"
    );
    assert_eq!(stats.deleted as usize, failed.len());
    let rows = records(&report);
    assert_eq!(rows.len(), 60 + failed.len());
    assert_eq!(
        rows.iter()
            .map(|r| &r.run_id)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        2
    );
}

#[test]
fn a_credential_with_no_access_anywhere_stops_the_run() {
    let keys = keys(60, 3);
    let projects: Vec<_> = keys.iter().take(3).map(|t| t.scope).collect();
    let sim = sim(
        SimConfig {
            forbid_projects: projects.iter().map(oid).collect(),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--concurrency", "1"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("every project or organization tried refused this credential (3, with 401 or 403) and none succeeded"),
        "{}",
        stderr(&out)
    );
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(rows.len(), 3);
    assert_eq!(count(&rows, Outcome::Rejected), 3);
    assert!(rows.iter().all(|r| r.http_status == Some(403)));
    assert_eq!(sim.stats().requests, 4);
}

#[test]
fn a_resume_whose_only_project_refuses_keeps_the_real_reason() {
    let keys = keys(20, 2);
    let refusing = keys[1].scope;
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&refusing)],
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
    // Only the refusing project is left: the same state as after the first run, so the same exit
    // code (1), never "every project refused" (3) on one project.
    let out = run(&sim, &input, &report, &["--resume", "--concurrency", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("every project or organization tried refused"));
    let overview = revoker::report::summarize_report(&report).unwrap();
    // Every unfinished row still says why: the project's 403, never "skipped".
    assert_eq!(overview.unfinished.len(), 10);
    assert!(
        overview
            .unfinished
            .iter()
            .all(|r| r.outcome == Outcome::Rejected
                && r.http_status == Some(403)
                && r.error_code == "USER_CANNOT_ACCESS_GROUP")
    );
}
