//! The job ledger (issue 37): rows owed across nights are sent again though the export drops
//! them, escalated after `escalate_after` nights, visible with their ages in the ledger, the
//! metrics, the summary and the page, and leave only when finished or abandoned by name.

use std::path::Path;

use revoker::input::Target;
use revoker_testkit::simulator::{Hostile, ScopeRefusal, SimConfig};
use revoker_testkit::*;

/// 02:15 UTC on night `n` of November 2026.
fn night(n: u32) -> String {
    let t = jiff::Timestamp::from_second(1_793_499_300 + i64::from(n) * 86_400).expect("a time");
    t.to_string()
}

fn refusing(scope: &Target) -> SimConfig {
    SimConfig {
        hostile: Hostile {
            refuse_deletes: vec![ScopeRefusal {
                scope: oid(&scope.scope),
                status: 403,
            }],
            ..Hostile::default()
        },
        ..SimConfig::default()
    }
}

fn run_night(
    sim: &revoker_testkit::simulator::SimHandle,
    dir: &tempfile::TempDir,
    n: u32,
    rows: &[Target],
) -> std::process::Output {
    let input = path(dir, &format!("export-{n}.csv"));
    write_csv(&input, rows);
    let report = path(dir, &format!("night-{n}.csv"));
    let ledger = path(dir, "nightly.ledger.json");
    let metrics = path(dir, "revoker.prom");
    run(
        sim,
        &input,
        &report,
        &["--ledger", ledger.to_str().expect("utf-8")],
    )
    .args(["--max-attempts", "1", "--metrics-file"])
    .arg(&metrics)
    .env("REVOKER_NOW", night(n))
    .output()
    .expect("revoker runs")
}

fn ledger_json(dir: &tempfile::TempDir, n: u32) -> serde_json::Value {
    let out = revoker()
        .args(["ledger", "-o", "json"])
        .arg(path(dir, "nightly.ledger.json"))
        .env("REVOKER_NOW", night(n))
        .output()
        .expect("revoker ledger");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn owed_rows(v: &serde_json::Value) -> Vec<(String, i64, u64)> {
    v["owed"]
        .as_array()
        .expect("owed")
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap_or_default().to_string(),
                r["age_days"].as_i64().unwrap_or(-1),
                r["nights"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn thirty_nights_with_persistent_failures_and_exports_that_drop_them_lose_no_row() {
    let all = keys(40, 20);
    // Project 0 refuses every DELETE: its 2 rows of 40 (5%) fail every night.
    let failing: Vec<Target> = all
        .iter()
        .filter(|t| t.scope == all[0].scope)
        .copied()
        .collect();
    assert_eq!(failing.len(), 2);
    let sim = sim(refusing(&all[0]), &all);
    let dir = dir();
    for n in 0..30u32 {
        // The first export lists every row; later ones drop the failing rows and list two others.
        let rows: Vec<Target> = if n == 0 {
            all.clone()
        } else {
            let i = 2 + (n as usize * 2) % 36;
            all[i..i + 2]
                .iter()
                .filter(|t| !failing.contains(t))
                .copied()
                .collect()
        };
        let out = run_night(&sim, &dir, n, &rows);
        assert_eq!(out.status.code(), Some(1), "night {n}: {}", stderr(&out));
        let report = records(&path(&dir, &format!("night-{n}.csv")));
        for f in &failing {
            assert!(
                report
                    .iter()
                    .any(|r| r.target() == Some(*f)
                        && r.outcome == revoker::report::Outcome::Rejected),
                "night {n}: the owed row {f} was sent and refused"
            );
        }
        let err = stderr(&out);
        assert_eq!(
            err.contains("ESCALATED: 2 rows owed for more than 3 nights"),
            n >= 3,
            "night {n}: {err}"
        );
        let aged = [
            "for 0 days over 1 night",
            "for 1 day over 2 nights",
            "for 2 days over 3 nights",
        ];
        if let Some(aged) = aged.get(n as usize) {
            assert!(
                err.contains("2 rows still owed, the oldest") && err.contains(aged),
                "night {n}: {err}"
            );
        }
    }
    // 0 rows lost: every row is gone on the server or owed in the ledger.
    let truth = truth(&sim);
    let v = ledger_json(&dir, 29);
    let owed = owed_rows(&v);
    let mut keys_owed: Vec<String> = owed.iter().map(|o| o.0.clone()).collect();
    keys_owed.sort();
    let mut want: Vec<String> = failing.iter().map(|t| t.key_text()).collect();
    want.sort();
    assert_eq!(keys_owed, want);
    for t in &all {
        assert!(
            !truth.holds(t) || want.contains(&t.key_text()),
            "{t} is neither gone nor owed"
        );
    }
    assert!(owed.iter().all(|o| o.1 == 29 && o.2 == 30), "{owed:?}");
    // The metrics count them by age.
    let metrics = std::fs::read_to_string(path(&dir, "revoker.prom")).expect("metrics");
    assert!(
        metrics.contains("revoker_owed_rows{job=\"run\",age_days=\"29\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("revoker_owed_rows_escalated{job=\"run\"} 2"),
        "{metrics}"
    );
    // The page shows them first, with their ages.
    let page = path(&dir, "page.html");
    let out = revoker()
        .arg("report")
        .arg(path(&dir, "night-29.csv"))
        .arg("--html")
        .arg(&page)
        .arg("--ledger")
        .arg(path(&dir, "nightly.ledger.json"))
        .env("REVOKER_NOW", night(29))
        .output()
        .expect("report");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("page");
    let owed_at = html.find("id=\"owed\"").expect("the owed rows on the page");
    assert!(owed_at < html.find("What happened").expect("the rest"));
    for f in &failing {
        assert!(html.contains(&f.key_text()), "{f} on the page");
    }
    assert!(
        html.contains("<td class=\"n\">29</td><td class=\"n\">30</td>"),
        "age and nights"
    );
    // Abandoned by name: leaves the ledger, recorded with who and why.
    let name = v["owed"][0]["row"].as_str().expect("row").to_string();
    let out = revoker()
        .args(["ledger", "abandon"])
        .arg(path(&dir, "nightly.ledger.json"))
        .arg(&name)
        .args(["--reason", "project retired, SEC-1"])
        .output()
        .expect("abandon");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = ledger_json(&dir, 29);
    assert_eq!(owed_rows(&v).len(), 1);
    assert_eq!(v["abandoned"][0]["row"], name.as_str());
    assert_eq!(v["abandoned"][0]["reason"], "project retired, SEC-1");
    assert!(
        !v["abandoned"][0]["user"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
}

#[test]
fn a_job_with_ledger_true_keeps_it_beside_its_reports_and_a_finished_row_leaves() {
    let all = keys(4, 2);
    let sim = sim(refusing(&all[0]), &all);
    let dir = dir();
    std::fs::create_dir(path(&dir, "reports")).expect("mkdir");
    let job = path(&dir, "nightly.toml");
    std::fs::write(
        &job,
        "report = \"reports/nightly-{date}.csv\"\nresume = true\nledger = true\nescalate_after = 1\n",
    )
    .expect("job");
    let input = path(&dir, "in.csv");
    write_csv(&input, &all);
    let go = |n: u32| {
        revoker()
            .arg("run")
            .arg(&job)
            .arg("--input")
            .arg(&input)
            .args(["--base-url", sim.base_url(), "--max-attempts", "1"])
            .env("REVOKER_NOW", night(n))
            .output()
            .expect("run")
    };
    let out = go(0);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let ledger = path(&dir, "reports/nightly.ledger.json");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ledger).expect("the ledger beside the reports"))
            .expect("JSON");
    assert_eq!(v["owed"].as_array().map(Vec::len), Some(2));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&ledger)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let out = revoker()
        .arg("ledger")
        .arg(&job)
        .env("REVOKER_NOW", night(3))
        .output()
        .expect("ledger");
    let text = stdout(&out);
    assert!(text.contains("2 owed, 0 escalated"), "{text}");
    assert!(text.contains("age 3d  1 nights"), "{text}");
    let _ = Path::new("");
}

#[test]
fn an_exemption_past_until_is_warned_about_and_keeps_protecting_unless_the_job_says_revoke() {
    let all = keys(3, 1);
    let sim = sim(SimConfig::default(), &all);
    let dir = dir();
    let exempt = path(&dir, "break-glass.csv");
    std::fs::write(
        &exempt,
        format!(
            "key,until,owner,reason\n{},2026-10-31,alice,break-glass INC-1\n{},soon,bob,\n",
            all[0].key_text(),
            all[1].key_text()
        ),
    )
    .expect("exemptions");
    let input = path(&dir, "in.csv");
    write_csv(&input, &all);
    let metrics = path(&dir, "m.prom");
    let go = |report: &str, job: Option<&Path>| {
        let mut cmd = run(&sim, &input, &path(&dir, report), &["--exempt"]);
        cmd.arg(&exempt).arg("--metrics-file").arg(&metrics);
        if let Some(job) = job {
            cmd.arg(job);
        }
        cmd.env("REVOKER_NOW", night(0)).output().expect("run")
    };
    let out = go("a.csv", None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "break-glass.csv:2 key {} until 2026-10-31 (owner alice): break-glass INC-1 has expired; it keeps protecting",
            all[0].key_text()
        )),
        "{err}"
    );
    assert!(
        err.contains("until soon (owner bob): the until date cannot be read"),
        "{err}"
    );
    let rows = records(&path(&dir, "a.csv"));
    assert_eq!(count(&rows, revoker::report::Outcome::Exempt), 2);
    let m = std::fs::read_to_string(&metrics).expect("metrics");
    assert!(
        m.contains("revoker_exemptions_expired{job=\"run\",state=\"expired\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("revoker_exemptions_expired{job=\"run\",state=\"unreadable\"} 1"),
        "{m}"
    );
    // The page leads with them.
    let page = path(&dir, "a.html");
    let out = revoker()
        .arg("report")
        .arg(path(&dir, "a.csv"))
        .arg("--html")
        .arg(&page)
        .env("REVOKER_NOW", night(0))
        .output()
        .expect("report");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("page");
    let warned = html
        .find("Exemptions past their date")
        .expect("warned on the page");
    assert!(warned < html.find("What happened").expect("the rest"));
    assert!(html.contains("the until date cannot be read; it keeps protecting"));
    // expired_exemptions = "revoke": the expired one is sent, the unreadable one still protects.
    let job = path(&dir, "job.toml");
    std::fs::write(&job, "expired_exemptions = \"revoke\"\n").expect("job");
    let out = go("b.csv", Some(&job));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("has expired and no longer protects"));
    let truth = truth(&sim);
    assert!(
        !truth.holds(&all[0]),
        "the expired exemption no longer protects"
    );
    assert!(truth.holds(&all[1]), "an unreadable until keeps protecting");
}

#[test]
fn an_api_key_without_a_creation_date_is_selected_by_when_the_ledger_first_saw_it() {
    let org = target(revoker::input::Kind::OrgApiKey, 0x3a, 1, None);
    let later = target(revoker::input::Kind::OrgApiKey, 0x3a, 2, None);
    let dir = dir();
    let job = path(&dir, "policy.toml");
    std::fs::write(
        &job,
        format!(
            "kinds = [\"org-api-key\"]\nledger = \"policy.ledger.json\"\n[select]\norgs = [\"{}\"]\n\n[[select.rule]]\ncreated_before = \"90d\"\nkinds = [\"org-api-key\"]\n",
            org.scope
        ),
    )
    .expect("job");
    let go = |sim: &revoker_testkit::simulator::SimHandle, report: &str, now: &str| {
        revoker()
            .arg("run")
            .arg(&job)
            .args(["--base-url", sim.base_url(), "--report"])
            .arg(path(&dir, report))
            .env("REVOKER_NOW", now)
            .output()
            .expect("run")
    };
    // August: first seen; nothing is 90 days old yet.
    let first = sim(SimConfig::default(), &[org]);
    let out = go(&first, "aug.csv", "2026-08-01T02:15:00Z");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(truth(&first).holds(&org));
    // November: the key seen in August is over 90 days "old"; the one first seen now is not.
    let second = sim(SimConfig::default(), &[org, later]);
    let out = go(&second, "nov.csv", "2026-11-01T02:15:00Z");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let selected = std::fs::read_to_string(path(&dir, "nov.csv.selected.csv")).expect("selection");
    assert!(
        selected.contains("first seen at 2026-08-01T02:15:00Z by the job's ledger (over 90d ago; the API gives no creation date)"),
        "{selected}"
    );
    assert!(!selected.contains(&later.key_text()), "{selected}");
    let truth = truth(&second);
    assert!(!truth.holds(&org) && truth.holds(&later));
}

#[test]
fn a_second_run_on_a_ledger_in_use_is_refused_before_anything_is_sent() {
    let all = keys(3, 1);
    let sim = sim(refusing(&all[0]), &all);
    let dir = dir();
    let out = run_night(&sim, &dir, 0, &all);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let ledger = path(&dir, "nightly.ledger.json");
    let before = std::fs::read(&ledger).expect("the ledger");
    let sent = truth(&sim).deletes_sent.len();
    // Another run holds the lock: this process stands for it.
    let other = std::fs::OpenOptions::new()
        .append(true)
        .open(path(&dir, "nightly.ledger.json.lock"))
        .expect("the lock file a run leaves");
    other.lock().expect("lock");
    let out = run_night(&sim, &dir, 1, &all);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another revoker") && stderr(&out).contains("nightly.ledger.json"),
        "{}",
        stderr(&out)
    );
    assert_eq!(truth(&sim).deletes_sent.len(), sent, "nothing sent");
    assert_eq!(std::fs::read(&ledger).expect("the ledger"), before);
    assert!(!path(&dir, "night-1.csv").exists(), "no empty report left");
    // Reading the ledger needs no lock.
    assert_eq!(owed_rows(&ledger_json(&dir, 1)).len(), 3);
    drop(other);
    let out = run_night(&sim, &dir, 1, &all);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn plan_and_dry_run_show_the_rows_the_ledger_owes() {
    let all = keys(4, 2);
    let sim = sim(refusing(&all[0]), &all);
    let dir = dir();
    let out = run_night(&sim, &dir, 0, &all);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let (owed, paid): (Vec<Target>, Vec<Target>) =
        all.iter().cloned().partition(|k| k.scope == all[0].scope);
    assert_eq!((owed.len(), paid.len()), (2, 2));
    assert_eq!(owed_rows(&ledger_json(&dir, 0)).len(), 2);
    // The next export lists neither owed row, only the two others.
    let input = path(&dir, "export-1.csv");
    write_csv(&input, &paid);
    let ledger = path(&dir, "nightly.ledger.json");
    let with = |cmd: &[&str]| {
        revoker()
            .args(cmd)
            .arg("--input")
            .arg(&input)
            .arg("--report")
            .arg(path(&dir, "night-1.csv"))
            .arg("--ledger")
            .arg(&ledger)
            .args(["--base-url", sim.base_url()])
            .env("REVOKER_NOW", night(1))
            .output()
            .expect("revoker")
    };
    let out = with(&["run", "--dry-run"]);
    assert!(
        stderr(&out).contains("dry run: 4 rows · 4 to send"),
        "{}",
        stderr(&out)
    );
    let out = with(&["plan", "-o", "json"]);
    let plan: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)));
    assert_eq!(plan["plan"]["rows"], 4, "{plan}");
    assert_eq!(
        plan["plan"]["fates"],
        serde_json::json!({"gone": 2, "revoke": 2}),
        "{plan}"
    );
}

// Issue 34 (wave 7): a ledger's owed row has no line in the night's export; messages say so
// rather than give a line number past the file's end.
#[test]
fn a_message_about_an_owed_row_names_the_ledger_not_a_line_of_the_export() {
    let all = keys(4, 2);
    let failing: Vec<Target> = all
        .iter()
        .filter(|t| t.scope == all[0].scope)
        .copied()
        .collect();
    let sim = sim(refusing(&all[0]), &all);
    let dir = dir();
    let out = run_night(&sim, &dir, 0, &all);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The next export lists only the other project's rows; the owed rows' project is protected.
    let rest: Vec<Target> = all
        .iter()
        .filter(|t| !failing.contains(t))
        .copied()
        .collect();
    let input = path(&dir, "export-1.csv");
    write_csv(&input, &rest);
    let ledger = path(&dir, "nightly.ledger.json");
    let protect = all[0].scope.to_string();
    let out = run(&sim, &input, &path(&dir, "night-1.csv"), &[])
        .args(["--ledger", ledger.to_str().expect("utf-8")])
        .args(["--protect", &protect])
        .env("REVOKER_NOW", night(1))
        .output()
        .expect("revoker runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let name = input.display().to_string();
    assert!(
        err.contains(&format!(
            "{name}: owed row 1 of the job's ledger (not in {name}): "
        )),
        "{err}"
    );
    assert!(!err.contains(&format!("{name}:4:")), "{err}");
}
