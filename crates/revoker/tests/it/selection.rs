//! `select` under lists that do not say what a careless reader assumes: dates in a form the
//! documents do not give, ids that cannot be read, a server that ignores `pageNum`; and the forms
//! MongoDB documents that it must read: an agent key's `createdTime` as an ISO 8601 string, an AI
//! model key id that is not 24 letters and digits, a project's service-account secrets.

use std::path::Path;
use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker_testkit::simulator::{ListFault, Meta, Seed, SimConfig, SimHandle};
use revoker_testkit::*;

const DAY: i64 = 86_400;

fn days(n: i64) -> i64 {
    jiff::Timestamp::now().as_second() + n * DAY
}

fn with(t: &Target, meta: Meta) -> Seed {
    let mut s = seed(t);
    s.meta = meta;
    s
}

/// `revoker select --base-url base --write file args…`: the rows written (as targets) and the output.
fn select(base: &str, file: &Path, args: &[&str]) -> (Vec<String>, std::process::Output) {
    let out = revoker()
        .args(["select", "--base-url", base, "--write"])
        .arg(file)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let rows = std::fs::read_to_string(file)
        .map(|text| {
            let mut r = csv::Reader::from_reader(text.as_bytes());
            let mut rows: Vec<String> = r
                .records()
                .map(|rec| {
                    let rec = rec.unwrap();
                    let scope = if rec[0].is_empty() { &rec[1] } else { &rec[0] };
                    Target::parse(&rec[4], scope, &rec[2], &rec[3])
                        .unwrap()
                        .to_string()
                })
                .collect();
            rows.sort();
            rows
        })
        .unwrap_or_default();
    (rows, out)
}

fn secret(org: u8, account: u8, s: u8) -> Target {
    target(Kind::ServiceAccountSecret, org, account, Some(s))
}

#[test]
fn a_last_use_written_without_a_time_never_selects_and_is_named() {
    // Used yesterday, created 60 days ago: with lastUsedAt unread it would look never used.
    let used = secret(0x3a, 1, 11);
    let meta = Meta {
        created: Some(days(-60)),
        expires: Some(days(100)),
        last_used: Some(days(-1)),
        ..Meta::default()
    };
    let config = SimConfig {
        list_fault: Some(ListFault::DateOnly),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, vec![with(&used, meta)]).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let org = used.scope.to_string();
    for rule in [&["--never-used"][..], &["--unused-for", "30d"]] {
        let mut args = vec!["--org", &org, "--kinds", "service-account-secret"];
        args.extend(rule);
        let (rows, out) = select(sim.atlas_url(), &file, &args);
        let err = stderr(&out);
        assert_eq!(rows, Vec::<String>::new(), "{rule:?}: {err}");
        assert_eq!(out.status.code(), Some(1), "{rule:?}: {err}");
        assert!(
            err.contains(&format!("{used}: not selected: rule 1: lastUsedAt \"")),
            "{err}"
        );
        assert!(err.contains("is not a date"), "{err}");
    }
}

#[test]
fn an_agent_key_created_time_is_read_as_an_iso_8601_string_or_epoch_milliseconds() {
    let string = target(Kind::AgentApiKey, 0x26, 51, None);
    let millis = target(Kind::AgentApiKey, 0x26, 52, None);
    let fresh = target(Kind::AgentApiKey, 0x26, 53, None);
    let old = |iso_created| Meta {
        created: Some(days(-400)),
        iso_created,
        ..Meta::default()
    };
    let seeds = vec![
        with(&string, old(true)),
        with(&millis, old(false)),
        with(
            &fresh,
            Meta {
                created: Some(days(-2)),
                iso_created: true,
                ..Meta::default()
            },
        ),
    ];
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let project = string.scope.to_string();
    let (rows, out) = select(
        sim.base_url(),
        &file,
        &["--project", &project, "--created-before", "365d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut want = vec![string.to_string(), millis.to_string()];
    want.sort();
    assert_eq!(rows, want);
}

#[test]
fn listed_items_whose_ids_cannot_be_read_are_counted_and_named() {
    // Three accounts with an expired secret each; the list writes every other clientId as a number.
    let secrets: Vec<Target> = (1..=3).map(|a| secret(0x3a, a, 10 + a)).collect();
    let expired = Meta {
        created: Some(days(-10)),
        expires: Some(days(-1)),
        ..Meta::default()
    };
    let seeds = secrets.iter().map(|t| with(t, expired)).collect();
    let config = SimConfig {
        list_fault: Some(ListFault::UnreadableIds),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let org = secrets[0].scope.to_string();
    let (rows, out) = select(sim.atlas_url(), &file, &["--org", &org, "--expired"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        err.contains(&format!(
            "GET /api/atlas/v2/orgs/{org}/serviceAccounts: 1 item listed with an id that cannot be read (clientId 1); not judged"
        )),
        "{err}"
    );
}

#[test]
fn a_server_that_ignores_page_numbers_ends_the_list_as_incomplete_at_once() {
    let secrets: Vec<Target> = (1..=3).map(|a| secret(0x3a, a, 10 + a)).collect();
    let config = SimConfig {
        list_fault: Some(ListFault::IgnorePageNum),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, seeds(&secrets)).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let org = secrets[0].scope.to_string();
    let (rows, out) = select(sim.atlas_url(), &file, &["--org", &org, "--expired"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(rows.is_empty(), "{rows:?}");
    assert!(
        err.contains("page 2 repeats only ids of earlier pages"),
        "{err}"
    );
    // The challenge and two pages.
    assert!(sim.stats().requests <= 4, "{}", sim.stats().requests);
}

#[test]
fn an_ai_model_key_id_of_another_shape_is_selected_and_revoked() {
    let odd = Target::parse(
        "ai-model-api-key",
        "262626262626262626262626",
        "voyage-Key_01.prod",
        "",
    )
    .expect("an id the API lists is a row");
    let seeds = vec![with(
        &odd,
        Meta {
            created: Some(days(-200)),
            last_used: Some(days(-100)),
            ..Meta::default()
        },
    )];
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let project = odd.scope.to_string();
    let (rows, out) = select(
        sim.atlas_url(),
        &file,
        &["--project", &project, "--unused-for", "30d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows, vec![odd.to_string()]);
    let report = path(&d, "r.csv");
    let out = revoker()
        .args([
            "run",
            "--base-url",
            sim.atlas_url(),
            "--kinds",
            "ai-model-api-key",
            "--input",
        ])
        .arg(&file)
        .arg("--report")
        .arg(&report)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 1);
}

#[test]
fn a_projects_service_account_secrets_are_selected_with_project_access_alone() {
    let p = 0x26;
    let expired = target(Kind::ProjectServiceAccountSecret, p, 7, Some(71));
    let fresh = target(Kind::ProjectServiceAccountSecret, p, 7, Some(72));
    let unused = target(Kind::ProjectServiceAccountSecret, p, 8, Some(81));
    let dated = |expires: i64, last_used: Option<i64>| Meta {
        created: Some(days(-90)),
        expires: Some(days(expires)),
        last_used: last_used.map(days),
        ..Meta::default()
    };
    let seeds = vec![
        with(&expired, dated(-1, Some(-2))),
        with(&fresh, dated(30, Some(-1))),
        with(&unused, dated(30, None)),
    ];
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let project = expired.scope.to_string();
    let (rows, out) = select(
        sim.atlas_url(),
        &file,
        &["--project", &project, "--expired"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows, vec![expired.to_string()]);
    let (rows, out) = select(
        sim.atlas_url(),
        &file,
        &["--project", &project, "--unused-for", "30d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows, vec![unused.to_string()]);
}

/// An organization with three expired secrets, the first created 30 days ago, the others 3.
fn three_expired() -> (Vec<Target>, SimHandle) {
    let secrets: Vec<Target> = (1..=3).map(|a| secret(0x3a, a, 10 + a)).collect();
    let seeds = secrets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            with(
                t,
                Meta {
                    created: Some(days(if i == 0 { -30 } else { -3 })),
                    expires: Some(days(-1)),
                    ..Meta::default()
                },
            )
        })
        .collect();
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    (secrets, sim)
}

/// A policy job in `d` selecting the expired secrets of `org` (created over 20 days ago when
/// `narrow`).
fn policy_job(d: &tempfile::TempDir, org: &str, extra: &str, narrow: bool) -> std::path::PathBuf {
    let job = path(d, "job.toml");
    let name = if narrow {
        "created_before = \"20d\"\n"
    } else {
        ""
    };
    std::fs::write(
        &job,
        format!(
            "report = \"r.csv\"\nkinds = [\"service-account-secret\"]\nverify = false\n{extra}\n[select]\norgs = [\"{org}\"]\n\n[[select.rule]]\nexpired = true\n{name}"
        ),
    )
    .unwrap();
    job
}

fn run_job(job: &Path, base: &str, args: &[&str]) -> std::process::Output {
    revoker()
        .args(["run"])
        .arg(job)
        .args(["--base-url", base])
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn audit(report: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(revoker::report::audit::path_for(report))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_selection_left_by_a_run_its_cap_refused_is_made_again_and_the_audit_names_its_policy() {
    let (secrets, sim) = three_expired();
    let d = dir();
    let org = secrets[0].scope.to_string();
    let job = policy_job(&d, &org, "resume = true\nmax_revocations = 1", false);
    let out = run_job(&job, sim.atlas_url(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("more than max_revocations 1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().deleted, 0);
    // The operator narrows the policy: the next run selects again, and revokes what it chose.
    let job = policy_job(&d, &org, "resume = true\nmax_revocations = 1", true);
    let out = run_job(&job, sim.atlas_url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 1);
    let report = path(&d, "r.csv");
    let done: Vec<String> = records(&report)
        .iter()
        .filter_map(|r| r.target())
        .map(|t| t.to_string())
        .collect();
    assert_eq!(done, vec![secrets[0].to_string()]);
    let start = audit(&report)
        .into_iter()
        .find(|r| r["event"] == "start" && r["command"] == "run")
        .unwrap();
    assert_eq!(
        start["selection"]["policy"]["rule"][0]["created_before"],
        "480h"
    );
    // A resume reads the kept selection again, and its record names the policy that made it.
    let job = policy_job(&d, &org, "resume = true", false);
    let out = run_job(&job, sim.atlas_url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 1);
    let starts: Vec<serde_json::Value> = audit(&report)
        .into_iter()
        .filter(|r| r["event"] == "start" && r["command"] == "run")
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(
        starts[1]["selection"]["policy"]["rule"][0]["created_before"],
        "480h"
    );
    assert_eq!(starts[1]["selection"]["kept_from_run"], starts[0]["run_id"]);
}

#[test]
fn a_policy_rerun_without_resume_is_refused_before_it_writes_anything() {
    let (secrets, sim) = three_expired();
    let d = dir();
    let org = secrets[0].scope.to_string();
    let job = policy_job(&d, &org, "", true);
    let out = run_job(&job, sim.atlas_url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = path(&d, "r.csv");
    let kept = revoker::report::sidecar(&report, ".selected.csv");
    let before = std::fs::read(&kept).unwrap();
    let requests = sim.stats().requests;
    let job = policy_job(&d, &org, "", false);
    let out = run_job(&job, sim.atlas_url(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the report already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&kept).unwrap(), before);
    assert_eq!(sim.stats().requests, requests, "nothing was asked either");
    // The report still resumes, and hands nothing over.
    let failures = path(&d, "f.csv");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--failures")
        .arg(&failures)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_policy_run_whose_selection_could_not_read_a_list_ends_unfinished_in_its_evidence() {
    let (secrets, sim) = three_expired();
    let d = dir();
    let org = secrets[0].scope.to_string();
    // A second organization no credential can see.
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!(
            "report = \"r.csv\"\nkinds = [\"service-account-secret\"]\nverify = false\n[select]\norgs = [\"{org}\", \"{}\"]\n\n[[select.rule]]\nexpired = true\n",
            "4b".repeat(12)
        ),
    )
    .unwrap();
    let out = run_job(&job, sim.atlas_url(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 3);
    let report = path(&d, "r.csv");
    let end = audit(&report)
        .into_iter()
        .find(|r| r["event"] == "end" && r["command"] == "run")
        .unwrap();
    assert_eq!(end["exit_code"], 1);
    let unread = end["selection_problems"].as_array().expect("named");
    assert!(
        unread[0].as_str().unwrap().contains(&"4b".repeat(12)),
        "{unread:?}"
    );
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out)
            .contains("NOT finished: the selection could not read GET /api/atlas/v2/orgs/4b4b"),
        "{}",
        stdout(&out)
    );
    let html = path(&d, "r.html");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("Every row is finished"), "{page}");
    assert!(
        page.contains("The selection could not read everything"),
        "{page}"
    );
}

#[test]
fn select_write_never_replaces_a_report_its_side_files_or_an_input() {
    let (secrets, sim) = three_expired();
    let d = dir();
    let org = secrets[0].scope.to_string();
    let job = policy_job(&d, &org, "", true);
    let out = run_job(&job, sim.atlas_url(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = path(&d, "r.csv");
    let export = path(&d, "export.csv");
    std::fs::write(&export, "GROUP_ID,KEY_ID\n").unwrap();
    let audit_file = revoker::report::audit::path_for(&report);
    let kept = revoker::report::sidecar(&report, ".selected.csv");
    for target in [&report, &audit_file, &kept, &export] {
        let before = std::fs::read(target).unwrap();
        let out = revoker()
            .args([
                "select",
                "--base-url",
                sim.atlas_url(),
                "--org",
                &org,
                "--expired",
                "--write",
            ])
            .arg(target)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}: {}",
            target.display(),
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("refusing to write over"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read(target).unwrap(),
            before,
            "{}",
            target.display()
        );
    }
    // A selection a run read as its input is an input too.
    let sel = path(&d, "sel.csv");
    let (_, out) = select(sim.atlas_url(), &sel, &["--org", &org, "--expired"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, out) = select(sim.atlas_url(), &sel, &["--org", &org, "--expired"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "an earlier selection is replaced: {}",
        stderr(&out)
    );
    let out = revoker()
        .args([
            "run",
            "--base-url",
            sim.atlas_url(),
            "--kinds",
            "service-account-secret",
            "--input",
        ])
        .arg(&sel)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, out) = select(sim.atlas_url(), &sel, &["--org", &org, "--expired"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the input of the report"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_stopped_policy_job_with_time_in_its_report_path_continues_the_report_that_exists() {
    // 40 expired secrets, answered slowly, so that the run is stopped half-way.
    let secrets: Vec<Target> = (1..=40).map(|s| secret(0x3a, 1, s)).collect();
    let expired = Meta {
        created: Some(days(-10)),
        expires: Some(days(-1)),
        ..Meta::default()
    };
    let config = SimConfig {
        latency: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, secrets.iter().map(|t| with(t, expired)).collect()).unwrap();
    let d = dir();
    let org = secrets[0].scope.to_string();
    std::fs::write(
        path(&d, "job.toml"),
        format!(
            "report = \"reports/p-{{date}}-{{time}}.csv\"\nkinds = [\"service-account-secret\"]\nverify = false\nconcurrency = 1\nbase_url = \"{}\"\n[select]\norgs = [\"{org}\"]\n\n[[select.rule]]\nexpired = true\n",
            sim.atlas_url()
        ),
    )
    .unwrap();
    let command = |extra: &[String]| {
        let mut cmd = clean_command(assert_cmd::cargo::cargo_bin("revoker"));
        cmd.args(["run", "job.toml"])
            .args(extra)
            .current_dir(d.path())
            .stderr(std::process::Stdio::piped());
        cmd
    };
    let child = command(&[]).spawn().unwrap();
    let started = std::time::Instant::now();
    while sim.stats().deleted < 3 {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(5));
    }
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let reports: Vec<std::path::PathBuf> = std::fs::read_dir(path(&d, "reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && !p.to_string_lossy().ends_with(".selected.csv")
        })
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let hint = stderr(&out)
        .lines()
        .find_map(|l| l.trim().strip_prefix("to continue: ").map(str::to_string))
        .expect("a hint to continue");
    let words = shell_words::split(&hint).unwrap();
    let at = words
        .iter()
        .position(|w| w == "--report")
        .expect("--report");
    assert_eq!(
        std::fs::canonicalize(d.path().join(&words[at + 1]))
            .unwrap_or_else(|e| panic!("{hint}: {e}")),
        std::fs::canonicalize(&reports[0]).unwrap(),
        "{hint}"
    );
    // The same second-later command continues that report from its kept selection.
    std::thread::sleep(Duration::from_millis(1100));
    let out = command(&words[3..]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 40);
    assert_eq!(
        records(&reports[0])
            .iter()
            .filter(|r| r.outcome == revoker::report::Outcome::Done)
            .count(),
        40
    );
}
