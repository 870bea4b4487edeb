//! Plan before you revoke: `revoker plan` against live state (no DELETE), the cap, exemptions,
//! the confirmation on a terminal, and the dry run's summary.

use std::path::Path;
use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

fn plan(sim: &SimHandle, input: &Path, report: &Path, extra: &[&str]) -> std::process::Output {
    revoker()
        .args(["plan", "--base-url", sim.base_url(), "--input"])
        .arg(input)
        .arg("--report")
        .arg(report)
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// The audit records of `report` whose event is `event`.
fn audit_events(report: &Path, event: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(revoker::report::audit::path_for(report)).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["event"] == event)
        .collect()
}

#[test]
fn a_plan_lists_once_per_page_sends_no_delete_and_says_what_a_run_would_do() {
    let present = keys(10, 2);
    let gone = missing_keys(3, 2);
    let org_key = target(Kind::OrgApiKey, 9, 9, None);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let mut rows: Vec<Target> = present.clone();
    rows.extend(&gone);
    rows.push(present[0]);
    rows.push(org_key);
    write_csv(&input, &rows);
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("nothex,,abc,,project-api-key\n");
    std::fs::write(&input, text).unwrap();

    let out = plan(&sim, &input, &report, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let planned = json(&out);
    let fates = &planned["plan"]["fates"];
    assert_eq!(
        (
            &fates["revoke"],
            &fates["gone"],
            &fates["duplicate"],
            &fates["not_allowed"],
            &fates["invalid"]
        ),
        (
            &serde_json::json!(10),
            &serde_json::json!(3),
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(1)
        ),
        "{planned}"
    );
    assert_eq!(planned["revocations"], 10);
    let stats = sim.stats();
    // Two projects, one kind each: two lists of one page each, and no DELETE at all.
    assert_eq!((stats.deletes, stats.lists), (0, 2), "{stats:?}");
    assert_eq!(stats.remaining, 10);
    assert_eq!(planned["plan"]["list_requests"], stats.requests);
    // The evidence shows the state before the run; no report rows were written.
    let recorded = audit_events(&report, "plan");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["plan"]["counts"]["revoke"], 10);
    assert_eq!(
        recorded[0]["plan"]["lists"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(!report.exists());

    // The table names every project's list and what it found.
    let out = plan(&sim, &input, &report, &[]);
    let text = stdout(&out);
    assert!(
        text.contains("       10  will be revoked (they exist now)"),
        "{text}"
    );
    assert!(text.contains("kinds this job does not allow"), "{text}");
    assert!(text.contains("lists read: "), "{text}");
    assert_eq!(sim.stats().deletes, 0);
}

#[test]
fn a_plan_whose_every_row_can_be_done_exits_0_and_a_refused_project_is_named() {
    let rows = keys(8, 2);
    let forbidden = rows[0].scope;
    let config = SimConfig {
        forbid_projects: vec![oid(&forbidden)],
        ..SimConfig::default()
    };
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(config, &rows);
    let out = plan(&sim, &input, &report, &["-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let plan_json = json(&out);
    assert_eq!(plan_json["plan"]["fates"]["cannot"], 4);
    assert_eq!(plan_json["plan"]["fates"]["revoke"], 4);
    let refused: Vec<&serde_json::Value> = plan_json["plan"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["scope"] == forbidden.to_string())
        .collect();
    assert_eq!(refused.len(), 1);
    for s in refused {
        assert!(
            s["answer"]
                .as_str()
                .unwrap()
                .starts_with("cannot: HTTP 403"),
            "{s}"
        );
    }

    let good = sim_ok(&rows[4..]);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &rows[4..]);
    let out = plan(&good, &input, &report, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(good.stats().deletes, 0);
}

fn sim_ok(rows: &[Target]) -> SimHandle {
    sim(SimConfig::default(), rows)
}

#[test]
fn the_cap_refuses_at_n_plus_one_before_anything_is_sent_and_allows_n() {
    let rows = keys(5, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let out = run(&sim, &input, &report, &["--max-revocations", "4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "this run would revoke 5 credentials (counted from the valid rows to send), more than max_revocations 4 (from flag --max-revocations): nothing was sent"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().requests, 0);
    assert!(!report.exists());
    let out = run(&sim, &input, &report, &["--max-revocations", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 5);
}

#[test]
fn with_a_plan_the_cap_counts_what_exists_now() {
    let present = keys(5, 1);
    let mut rows = present.clone();
    rows.extend(missing_keys(5, 1));
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    write_csv(&input, &rows);
    let out = run(&sim, &input, &report, &["--max-revocations", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(sim.stats().requests, 0);
    let out = run(&sim, &input, &report, &["--max-revocations", "4", "--plan"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("would revoke 5 credentials (counted by the plan"));
    assert_eq!(sim.stats().deletes, 0);
    let job_file = path(&d, "job.toml");
    std::fs::write(&job_file, "max_revocations = 5\nplan = true\n").unwrap();
    let mut cmd = run(&sim, &input, &report, &[]);
    cmd.arg(&job_file);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The cap holds as rows are sent too: once 5 are revoked, the rows the plan showed gone are
    // recorded by that evidence rather than sent.
    assert_eq!(sim.stats().deleted, 5);
    let gone: Vec<_> = records(&report)
        .into_iter()
        .filter(|r| r.outcome == Outcome::NotFound)
        .collect();
    assert_eq!(gone.len(), 5, "{gone:?}");
    let unsent = gone
        .iter()
        .filter(|r| {
            r.message.contains(
                "max_revocations 5 is spent, and the plan's complete listing showed it gone",
            )
        })
        .count();
    assert_eq!(sim.stats().not_found + unsent as u64, 5);
    // The run's audit record holds the plan before its start.
    let events: Vec<String> = std::fs::read_to_string(revoker::report::audit::path_for(&report))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].to_string())
        .collect();
    assert_eq!(events.last().map(String::as_str), Some("\"end\""));
    assert!(events.iter().any(|e| e == "\"plan\""), "{events:?}");
}

#[test]
fn exempt_rows_never_reach_the_simulator_and_a_resume_keeps_them_exempt() {
    let rows = keys(6, 2);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    // One by key alone, one by key and project; the second's key in another project stays.
    let exempt = path(&d, "break-glass.csv");
    std::fs::write(
        &exempt,
        format!(
            "keyId,groupId\n{}\n{},{}\n",
            rows[0].key, rows[1].key, rows[1].scope
        ),
    )
    .unwrap();
    let out = run(&sim, &input, &report, &["--exempt"])
        .arg(&exempt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!((stats.deletes, stats.remaining), (4, 2));
    let recs = records(&report);
    let exempt_rows: Vec<(u64, String)> = recs
        .iter()
        .filter(|r| r.outcome == Outcome::Exempt)
        .map(|r| (r.line, r.message.clone()))
        .collect();
    let name = exempt.display();
    assert_eq!(
        exempt_rows,
        vec![
            (
                2,
                format!("exempt: {name}:2 lists this credential; never sent")
            ),
            (
                3,
                format!("exempt: {name}:3 lists this credential; never sent")
            )
        ]
    );
    assert!(stderr(&out).contains("exempt 2"), "{}", stderr(&out));
    // A resume without the list sends nothing of them.
    let out = run(&sim, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deletes, 4);
    // The report counts them apart, and they leave nothing unfinished.
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("exempt (never sent)          2"),
        "{}",
        stdout(&out)
    );
    // Finished, and said not to have revoked them.
    assert!(
        stdout(&out).contains("but 2 rows are exempt (never sent, by the exemption list)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_exemption_file_stops_the_run_before_anything_is_sent() {
    let rows = keys(2, 1);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let exempt = path(&d, "exempt.csv");
    std::fs::write(&exempt, "key\nnot-a-key\n").unwrap();
    let out = run(&sim, &input, &report, &["--exempt"])
        .arg(&exempt)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "exemption file {}:2: key \"not-a-key\" is not a 24-hex-digit ObjectId",
            exempt.display()
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().requests, 0);
}

#[test]
fn the_dry_run_sums_up_per_kind_and_lists_requests_only_with_v() {
    let rows = keys(6, 3);
    let Job {
        sim: _sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let out = revoker()
        .args(["run", "--dry-run", "--max-revocations", "5", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "        3 project-api-key          in     3 projects       DELETE https://cloud.mongodb.com/api/public/v1.0/groups/{groupId}/apiKeys/{id}".to_string(),
            "        3 agent-api-key            in     3 projects       DELETE https://cloud.mongodb.com/api/public/v1.0/groups/{groupId}/agentapikeys/{id}".to_string(),
        ]
    );
    assert!(
        stderr(&out).contains("6 to send · 0 exempt · 0 invalid · 0 duplicates · 3 projects and organizations · over max_revocations 5: a run would be refused"),
        "{}",
        stderr(&out)
    );
    let out = revoker()
        .args(["run", "--dry-run", "-v", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        stderr(&out).matches("DELETE https://").count(),
        6,
        "{}",
        stderr(&out)
    );
}

/// The shell command of a run on a terminal, whose exit code lands in `code`.
fn terminal_run(sim: &SimHandle, input: &Path, report: &Path, code: &Path) -> String {
    let args = shell_words::join([
        "run",
        "--input",
        &input.display().to_string(),
        "--report",
        &report.display().to_string(),
        "--base-url",
        sim.base_url(),
    ]);
    on_terminal(
        &args,
        &format!("echo $? > {}; echo finished", code.display()),
    )
}

#[test]
fn on_a_terminal_the_run_asks_before_the_first_delete() {
    if !have_tool("tmux", "-V") {
        return;
    }
    let rows = keys(4, 2);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let code = path(&d, "code");
    let term = Terminal::start(&terminal_run(&sim, &input, &report, &code));
    let pane = term.wait_for("Only 'yes' goes on");
    assert!(
        pane.contains("revoker is about to revoke 4 credentials in 2 projects (2 project-api-key, 2 agent-api-key)"),
        "{pane}"
    );
    assert_eq!(sim.stats().requests, 0, "asked after sending: {pane}");
    term.type_line("no");
    let pane = term.wait_for("finished");
    assert!(
        pane.contains("cancelled: the answer was not yes; nothing was sent"),
        "{pane}"
    );
    assert_eq!(std::fs::read_to_string(&code).unwrap().trim(), "1");
    assert_eq!(sim.stats().requests, 0);
    drop(term);

    let term = Terminal::start(&terminal_run(&sim, &input, &report, &code));
    term.wait_for("Only 'yes' goes on");
    term.type_line("yes");
    let pane = term.wait_for("finished");
    assert_eq!(
        std::fs::read_to_string(&code).unwrap().trim(),
        "0",
        "{pane}"
    );
    assert_eq!(sim.stats().deleted, 4);
}
