//! Verification never says "gone" when it does not know: system-managed accounts are listed,
//! envelope lists read as documented, a 404 proves a scope gone only when it names the scope on the
//! first page, a listing counts only when complete, the report's own server is asked, a server that
//! never answers stops it at once, its token is revoked and its signals are a run's.

use std::time::{Duration, Instant};

use revoker::input::{Kind, Target};
use revoker::report::{Outcome, Record};
use revoker_testkit::simulator::{ListFault, SimConfig, SimHandle};
use revoker_testkit::*;

const ORG_KINDS: &str =
    "project-api-key,agent-api-key,org-api-key,service-account,service-account-secret";

/// A report in which every row of `rows` was revoked by a run against a simulator of its own.
fn revoked(rows: &[Target]) -> (tempfile::TempDir, std::path::PathBuf) {
    let first = sim(SimConfig::default(), rows);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, rows);
    let out = run(&first, &input, &report, &["--kinds", ORG_KINDS])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (d, report)
}

/// `revoker verify` against `sim`, which holds the state to check (the report's server moved).
fn verify_at(sim: &SimHandle, report: &std::path::Path, extra: &[&str]) -> std::process::Output {
    revoker()
        .args(["verify", "--api-moved", "--base-url", sim.base_url()])
        .arg(report)
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

/// The rows the last verification wrote.
fn verified_rows(report: &std::path::Path) -> Vec<Record> {
    let rows = records(report);
    let last = rows.last().map(|r| r.run_id.clone()).unwrap_or_default();
    rows.into_iter().filter(|r| r.run_id == last).collect()
}

fn spawn(config: SimConfig, seeds: Vec<revoker_testkit::simulator::Seed>) -> SimHandle {
    SimHandle::spawn(config, seeds).expect("simulator")
}

#[test]
fn a_system_managed_account_that_still_exists_is_still_present() {
    let account = target(Kind::ServiceAccount, 1, 5, None);
    let other = target(Kind::ServiceAccount, 1, 6, None);
    let (_d, report) = revoked(&[account, other]);
    // The account is back, system-managed: hidden from a list that does not ask for it.
    let mut seeds = seeds(&[account]);
    seeds[0].system_managed = true;
    let second = spawn(SimConfig::default(), seeds);
    let out = verify_at(&second, &report, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = verified_rows(&report);
    let outcomes: Vec<(String, Outcome)> =
        rows.iter().map(|r| (r.key.clone(), r.outcome)).collect();
    assert_eq!(
        outcomes,
        vec![
            (account.key_text(), Outcome::StillPresent),
            (other.key_text(), Outcome::Verified)
        ]
    );
}

#[test]
fn envelope_lists_read_as_documented() {
    let keys = keys(40, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let out = run(&sim, &input, &report, &["--envelope", "--verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = verified_rows(&report);
    assert_eq!(rows.len(), 40);
    assert!(rows.iter().all(|r| r.outcome == Outcome::Verified));
    // The simulator answers a list as the list object with a `status` field, no `content`.
    let (status, body) = digest_get(
        &format!(
            "{}/groups/{}/apiKeys?envelope=true",
            sim.base_url(),
            keys[0].scope
        ),
        "application/json",
    );
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], 200);
    assert!(
        json.get("content").is_none() && json["results"].is_array(),
        "{json}"
    );
}

/// The outcome and message of every row the last verification wrote, and the exit code.
fn unverified_by(fault: ListFault, rows: &[Target], back: &[Target]) -> (i32, String, usize) {
    let (_d, report) = revoked(rows);
    let second = sim(
        SimConfig {
            list_fault: Some(fault),
            ..SimConfig::default()
        },
        back,
    );
    let out = verify_at(&second, &report, &[]);
    let written = verified_rows(&report)
        .iter()
        .filter(|r| r.outcome == Outcome::Verified || r.outcome == Outcome::StillPresent)
        .count();
    (out.status.code().unwrap_or(-1), stderr(&out), written)
}

#[test]
fn a_missing_endpoint_proves_nothing_about_service_accounts() {
    let rows = [
        target(Kind::ServiceAccount, 1, 5, None),
        target(Kind::ServiceAccountSecret, 1, 6, Some(7)),
    ];
    let (code, err, written) = unverified_by(ListFault::NoServiceAccounts, &rows, &rows);
    assert_eq!((code, written), (1, 0), "{err}");
    assert!(
        err.contains("not verified: 1 row of GET /api/public/v1.0/orgs/010101010101010101010101/serviceAccounts: the listing is not complete: HTTP 404 RESOURCE_NOT_FOUND"),
        "{err}"
    );
}

#[test]
fn a_404_after_the_first_page_or_a_400_on_a_list_proves_nothing() {
    // 600 keys in one project: two pages; the key that came back is on page 2.
    let rows: Vec<Target> = keys(1200, 1)
        .into_iter()
        .filter(|t| t.kind == Kind::ProjectApiKey)
        .collect();
    let (code, err, written) = unverified_by(ListFault::NotFoundAfterFirstPage, &rows, &rows);
    assert_eq!((code, written), (1, 0), "{err}");
    assert!(
        err.contains("page 2 answered HTTP 404 GROUP_NOT_FOUND"),
        "{err}"
    );
    let (code, err, written) = unverified_by(ListFault::ApiKeyNotFound, &rows[..3], &rows[..3]);
    assert_eq!((code, written), (1, 0), "{err}");
    assert!(err.contains("HTTP 400 API_KEY_NOT_FOUND"), "{err}");
}

#[test]
fn short_pages_and_endless_pages_are_incomplete() {
    let rows: Vec<Target> = keys(1200, 1)
        .into_iter()
        .filter(|t| t.kind == Kind::ProjectApiKey)
        .collect();
    let (code, err, written) = unverified_by(ListFault::ShortPages, &rows, &rows);
    assert_eq!((code, written), (1, 0), "{err}");
    assert!(
        err.contains(
            "250 of the 600 items totalCount counts were listed, and page 1 links no next page"
        ),
        "{err}"
    );
    let started = Instant::now();
    let (code, err, written) = unverified_by(ListFault::IgnorePageNum, &rows, &rows);
    assert_eq!((code, written), (1, 0), "{err}");
    assert!(
        err.contains("page 2 repeats only ids of earlier pages"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn an_account_without_secrets_and_unreadable_ids_are_incomplete() {
    let secret = target(Kind::ServiceAccountSecret, 1, 6, Some(7));
    let (code, err, written) = unverified_by(ListFault::NoSecretsField, &[secret], &[secret]);
    assert_eq!((code, written), (1, 0), "{err}");
    assert!(
        err.contains("the service account was answered without its secrets field"),
        "{err}"
    );
    let rows: Vec<Target> = keys(20, 1)
        .into_iter()
        .filter(|t| t.kind == Kind::ProjectApiKey)
        .collect();
    let (code, err, written) = unverified_by(ListFault::UnreadableIds, &rows, &rows[..4]);
    assert_eq!((code, written), (1, 0), "{err}");
    assert!(
        err.contains("page 1 listed 2 of its 4 items without a readable id"),
        "{err}"
    );
}

#[test]
fn a_gone_account_takes_its_secrets_when_the_organization_list_agrees() {
    let secret = target(Kind::ServiceAccountSecret, 1, 6, Some(7));
    let still = target(Kind::ServiceAccount, 1, 8, None);
    let (_d, report) = revoked(&[secret]);
    // The organization is there (another account), the secret's account is not.
    let second = sim(SimConfig::default(), &[still]);
    let out = verify_at(&second, &report, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = verified_rows(&report);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].outcome, Outcome::Verified);
    assert!(
        rows[0]
            .message
            .contains("the service account is absent from the organization's complete list"),
        "{}",
        rows[0].message
    );
}

#[test]
fn verify_asks_the_server_the_report_used_and_refuses_another() {
    let keys = keys(10, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // No base URL: the report's.
    let lists = sim.stats().lists;
    let out = revoker().arg("verify").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Project keys in one project, agent keys in the other: two lists.
    assert_eq!(sim.stats().lists - lists, 2);
    // Another server: refused before any request, both named.
    let other = revoker_testkit::sim(SimConfig::default(), &[]);
    let out = revoker()
        .args(["verify", "--base-url", other.base_url()])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {} was written against {}, not {} (from flag --base-url): another server knows none of its keys, so its answers prove nothing; if the same API now answers at {}, say so with --api-moved (api_moved = true in a job)",
            std::fs::canonicalize(&report).unwrap().display(),
            sim.base_url(),
            other.base_url(),
            other.base_url()
        )
    );
    assert_eq!(other.stats().requests, 0);
    // A resume against it is refused the same way.
    let out = run(&other, &input, &report, &["--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(other.stats().requests, 0);
}

#[test]
fn a_server_that_never_answers_stops_verify_at_once() {
    let keys = keys(40, 20);
    let (_d, report) = revoked(&keys);
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let out = revoker()
        .args(["verify", "--api-moved", "--max-attempts", "2", "--base-url"])
        .arg(format!("http://127.0.0.1:{port}/api/public/v1.0"))
        .arg(&report)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "no answer from 127.0.0.1:{port}: the first list got none"
        )),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn verify_revokes_its_token_and_run_verify_uses_the_runs() {
    let keys = keys(30, 3);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let out = with_service_account(run(&sim, &input, &report, &["--verify"]))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!((stats.tokens_issued, stats.token_revokes), (1, 1));
    let mut verify = revoker();
    verify.arg("verify").arg(&report);
    let out = with_service_account(verify).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!((stats.tokens_issued, stats.token_revokes), (2, 2));
}

#[test]
fn sigterm_stops_verify_with_its_summary_its_audit_end_and_its_token_revoked() {
    let keys = keys(40, 20);
    let (_d, report) = revoked(&keys);
    let slow = sim(
        SimConfig {
            latency: Duration::from_millis(300),
            ..SimConfig::default()
        },
        &keys,
    );
    let child = clean_command(assert_cmd::cargo::cargo_bin("revoker"))
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .env(
            "MONGODB_ATLAS_CLIENT_ID",
            revoker_testkit::simulator::DEFAULT_CLIENT_ID,
        )
        .env(
            "MONGODB_ATLAS_CLIENT_SECRET",
            revoker_testkit::simulator::DEFAULT_CLIENT_SECRET,
        )
        .args([
            "verify",
            "--api-moved",
            "--concurrency",
            "2",
            "--base-url",
            slow.base_url(),
        ])
        .arg(&report)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while slow.stats().lists < 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "no list read");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("revoker: stopped: run terminated (SIGTERM)"),
        "{}",
        stderr(&out)
    );
    let log = revoker::report::audit::read(&report).unwrap();
    let last = log.records.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.command.as_str()),
        ("end", "verify")
    );
    assert_eq!(last.exit_code, Some(143));
    let stats = slow.stats();
    assert_eq!((stats.tokens_issued, stats.token_revokes), (1, 1));
}

#[test]
fn a_project_secret_is_never_proven_gone_by_its_project_alone() {
    // Revoked through the project on Atlas.
    let secret = target(Kind::ProjectServiceAccountSecret, 1, 5, Some(6));
    let first = sim(SimConfig::default(), &[secret]);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &[secret]);
    let out = revoker()
        .args([
            "run",
            "--base-url",
            first.atlas_url(),
            "--kinds",
            "+project-service-account-secret",
            "--input",
        ])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Later the project answers without the account (unassigned from it: its secrets live on in
    // the organization), then the project is gone: neither proves the secret gone.
    let other = target(Kind::ProjectApiKey, 1, 9, None);
    for seeds in [vec![other], vec![]] {
        let now = sim(SimConfig::default(), &seeds);
        let out = revoker()
            .args(["verify", "--api-moved", "--base-url", now.atlas_url()])
            .arg(&report)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let rows = verified_rows(&report);
        assert!(
            rows.iter().all(|r| r.outcome != Outcome::Verified),
            "{rows:?}"
        );
        assert!(
            stderr(&out).contains("not verified: 1 row of GET /api/atlas/v2/groups/"),
            "{}",
            stderr(&out)
        );
    }
}
