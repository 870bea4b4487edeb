//! Issue 34's leftovers: the plans a report was given reach `report` and the page; a resume's
//! question counts what is left; the rough edges an operator meets.

use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

#[test]
fn report_and_the_page_show_every_plan_recorded_with_its_digest_and_what_it_found() {
    let d = dir();
    let mut rows = keys(4, 2);
    let gone = missing_keys(2, 1);
    let sim = sim(SimConfig::default(), &rows);
    rows.extend(gone);
    let (input, report) = (path(&d, "in.csv"), path(&d, "out.csv"));
    write_csv(&input, &rows);
    let out = run(&sim, &input, &report, &["--plan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = revoker()
        .args(["plan", "--base-url", sim.base_url(), "--resume", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stderr(&out)
        .split("(line SHA-256 ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap()
        .to_string();
    let out = revoker().arg("report").arg(&report).output().unwrap();
    let text = stdout(&out);
    let plans: Vec<&str> = text.lines().filter(|l| l.starts_with("plan at ")).collect();
    assert_eq!(plans.len(), 2, "{text}");
    assert!(
        plans[0].contains(", before run ")
            && plans[0].ends_with(
                "6 rows: 4 existed (to revoke) · 2 already gone; 3 lists read: 3 complete"
            ),
        "{text}"
    );
    assert!(
        plans[1].contains(", no run since: 6 rows: ") && plans[1].contains("finished earlier"),
        "{text}"
    );
    let plans_file = revoker::report::sidecar(&report, ".plans.jsonl");
    assert!(
        text.contains(&format!(
            "  recorded in {} (line SHA-256 {printed})",
            plans_file.display()
        )),
        "{text}"
    );
    let out = revoker()
        .args(["report", "--json"])
        .arg(&report)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["plans"].as_array().map(Vec::len), Some(2), "{doc}");
    assert_eq!(doc["plans"][1]["digest"], printed.as_str());
    assert_eq!(doc["plans"][0]["fates"]["revoke"], 4);
    assert_eq!(doc["plans"][0]["fates"]["gone"], 2);
    let page = path(&d, "page.html");
    let out = revoker()
        .args(["report", "--html"])
        .arg(&page)
        .arg(&report)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0)), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("<h2>Before the run</h2>")
            && html.contains("4 existed (to revoke) · 2 already gone")
            && html.contains(&printed),
        "{html}"
    );
}

#[test]
fn a_resume_asks_about_the_rows_left_not_the_whole_input() {
    if !have_tool("tmux", "-V") {
        return;
    }
    let rows = keys(6, 3);
    let config = SimConfig {
        forbid_projects: vec![oid(&rows[0].scope)],
        ..SimConfig::default()
    };
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(config, &rows);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let args = shell_words::join([
        "run",
        "--resume",
        "--input",
        &input.display().to_string(),
        "--report",
        &report.display().to_string(),
        "--base-url",
        sim.base_url(),
    ]);
    let code = path(&d, "code");
    let term = Terminal::start(&on_terminal(
        &args,
        &format!("echo $? > {}; echo finished", code.display()),
    ));
    let pane = term.wait_for("Only 'yes' goes on");
    let requests = sim.stats().requests;
    assert!(
        pane.contains("revoker is about to revoke 2 credentials in 1 project (1 project-api-key, 1 agent-api-key)"),
        "{pane}"
    );
    term.type_line("no");
    term.wait_for("finished");
    assert_eq!(std::fs::read_to_string(&code).unwrap().trim(), "1");
    assert_eq!(sim.stats().requests, requests, "nothing sent after no");
}

/// The bar's line mid-run on a terminal `columns` wide, of a run whose second project refuses.
fn bar_at(columns: u16) -> String {
    let rows = keys(160, 2);
    let config = SimConfig {
        forbid_projects: vec![oid(&rows[1].scope)],
        ..SimConfig::default()
    };
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(config, &rows);
    let args = shell_words::join([
        "run",
        "--yes",
        "--project-rate",
        "25/s",
        "--input",
        &input.display().to_string(),
        "--report",
        &report.display().to_string(),
        "--base-url",
        sim.base_url(),
    ]);
    let term = Terminal::sized(&on_terminal(&args, "echo finished"), columns);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut bar = String::new();
    while std::time::Instant::now() < deadline {
        let pane = term.capture();
        if let Some(line) = pane.lines().find(|l| l.contains("/160 rows")) {
            bar = line.trim_end().to_string();
            if records_or_none(&report) > 10 && bar.contains("rejected ") {
                break;
            }
        }
        if pane.contains("finished") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = d;
    bar
}

#[test]
fn the_bar_fits_80_and_120_columns_and_keeps_every_problem_count() {
    if !have_tool("tmux", "-V") {
        return;
    }
    for columns in [80u16, 120] {
        let bar = bar_at(columns);
        assert!(
            bar.chars().count() < usize::from(columns),
            "{columns} columns: {bar:?}"
        );
        assert!(
            bar.contains("% ") && bar.contains("ETA ") && bar.contains("rejected "),
            "{columns} columns: {bar:?}"
        );
        if columns == 120 {
            assert!(
                bar.contains(" rows/s · ") && bar.contains(" · 429s 0"),
                "{bar:?}"
            );
        }
    }
}

/// An input of `good` keys and `names` rows whose project column holds a name.
fn with_names(
    d: &tempfile::TempDir,
    good: &[revoker::input::Target],
    names: u64,
) -> std::path::PathBuf {
    let input = path(d, "names.csv");
    write_csv(&input, good);
    let mut text = std::fs::read_to_string(&input).unwrap();
    for i in 0..names {
        text.push_str(&format!(
            "billing-{i},,6a00000000000000000000{:02},,project-api-key\n",
            i % 100
        ));
    }
    std::fs::write(&input, text).unwrap();
    input
}

#[test]
fn validate_and_run_group_bad_rows_by_the_shape_of_their_fault() {
    let d = dir();
    let good = keys(2, 1);
    let input = with_names(&d, &good, 40);
    let out = revoker().arg("validate").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let name = input.display().to_string();
    assert_eq!(
        stdout(&out).lines().next().unwrap_or_default(),
        format!(
            "{name}: 40 rows: project id \"…\" is not a 24-hex-digit ObjectId (lines 4 \"billing-0\", 5 \"billing-1\", 6 \"billing-2\", 7 \"billing-3\", 8 \"billing-4\" and 35 more)"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    let sim = sim(SimConfig::default(), &good);
    let report = path(&d, "out.csv");
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert!(
        stderr(&out).contains(&format!(
            "40 invalid rows in {name} (not sent; in the report as invalid; revoker validate names every one): 40 rows: project id \"…\" is not a 24-hex-digit ObjectId (lines 4 \"billing-0\", "
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_continue_line_when_only_invalid_rows_are_left_and_none_adds_resume_to_a_job_that_resumes() {
    let d = dir();
    let good = keys(2, 1);
    let input = with_names(&d, &good, 3);
    let sim = sim(SimConfig::default(), &good);
    let report = path(&d, "out.csv");
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("to continue")
            && stderr(&out).contains(
                "  invalid rows are never sent: correct them in the input (revoker validate names them) and run it again"
            ),
        "{}",
        stderr(&out)
    );

    let config = SimConfig {
        forbid_projects: vec![oid(&good[0].scope)],
        ..SimConfig::default()
    };
    let sim = revoker_testkit::sim(config, &good);
    let job = path(&d, "nightly.toml");
    std::fs::write(
        &job,
        format!(
            "base_url = \"{}\"\ninput = \"{}\"\nreport = \"{}\"\nresume = true\n",
            sim.base_url(),
            path(&d, "good.csv").display(),
            path(&d, "nightly.csv").display()
        ),
    )
    .unwrap();
    write_csv(&path(&d, "good.csv"), &good);
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("the rows left were refused by the API: a resume sends them again once the credential may act on them")
            && text.contains("  to hand over: revoker report ")
            && !text.contains("to continue"),
        "{text}"
    );
    let out = revoker()
        .env("MCLI_PRIVATE_API_KEY", "not-the-key")
        .arg("run")
        .arg(&job)
        .output()
        .unwrap();
    let text = stderr(&out);
    let line = text
        .lines()
        .find(|l| l.contains("to continue"))
        .unwrap_or_default();
    assert!(
        line.ends_with(&format!(" run {}", job.display())),
        "the job resumes already: {text}"
    );
}

#[test]
fn https_to_a_plain_http_port_says_so_in_plain_words() {
    let d = dir();
    let rows = keys(2, 1);
    let sim = sim(SimConfig::default(), &rows);
    let (input, report) = (path(&d, "in.csv"), path(&d, "out.csv"));
    write_csv(&input, &rows);
    let https = sim.base_url().replacen("http://", "https://", 1);
    let out = revoker()
        .args(["run", "--yes", "--base-url", &https, "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains(" (a…)") && stderr(&out).contains("cannot connect: the server answered in plain HTTP, not TLS: the base URL says https:// for a port that speaks http:// (use http://, or the server's TLS port)")
            && !stderr(&out).contains("InvalidContentType"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_base_url_without_an_api_path_gets_a_did_you_mean() {
    let d = dir();
    let rows = keys(1, 1);
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    for (given, root) in [
        ("http://127.0.0.1:9/", "http://127.0.0.1:9"),
        (
            "https://om.example.com:8080/prefix/api/public",
            "https://om.example.com:8080/prefix",
        ),
    ] {
        let out = revoker()
            .args(["run", "--dry-run", "--base-url", given, "--input"])
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "; did you mean {root}/api/public/v1.0 (Cloud Manager, Ops Manager) or {root}/api/atlas/v2 (Atlas)?"
            )),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn skipped_is_named_only_by_old_reports_that_have_it() {
    let d = dir();
    let rows = keys(2, 1);
    let sim = sim(SimConfig::default(), &rows);
    let (input, report, metrics) = (path(&d, "in.csv"), path(&d, "out.csv"), path(&d, "m.prom"));
    write_csv(&input, &rows);
    let out = run(&sim, &input, &report, &["-o", "json", "--metrics-file"])
        .arg(&metrics)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains("skipped"), "{}", stdout(&out));
    let prom = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        !prom.contains("skipped") && prom.contains("outcome=\"done\"} 2"),
        "{prom}"
    );
    let out = revoker()
        .args(["report", "--json"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("\"skipped\""), "{}", stdout(&out));
}

#[test]
fn a_command_s_man_page_shows_the_command_as_typed_with_its_values() {
    let d = dir();
    let man = path(&d, "man");
    let out = revoker()
        .arg("man")
        .arg("--dir")
        .arg(&man)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(man.join("revoker-run.1")).unwrap();
    let synopsis = page
        .split(".SH SYNOPSIS\n")
        .nth(1)
        .and_then(|s| s.lines().next())
        .unwrap_or_default();
    assert!(
        synopsis
            .starts_with("\\fBrevoker run\\fR [\\fB\\-i\\fR|\\fB\\-\\-input\\fR \\fIINPUT\\fR]")
            && synopsis.contains("[\\fB\\-\\-kind\\fR \\fIKIND\\fR]")
            && synopsis.ends_with("[\\fIJOB\\fR]"),
        "{synopsis}"
    );
}

#[test]
fn completions_offer_the_kinds_for_kind_and_an_alias_still_reads() {
    let out = revoker().args(["completions", "bash"]).output().unwrap();
    let script = stdout(&out);
    let after = script.split("--kind)").nth(1).unwrap_or_default();
    let reply = after.lines().nth(1).unwrap_or_default();
    assert!(
        reply.contains("compgen -W \"project-api-key agent-api-key org-api-key ")
            && !reply.contains("compgen -f"),
        "{reply}"
    );
    let d = dir();
    let input = path(&d, "in.csv");
    std::fs::write(
        &input,
        "project,key\n5e0000000000000000000000,6a0000000000000000000000\n",
    )
    .unwrap();
    let out = revoker()
        .args(["validate", "--kind", "agent"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 agent-api-key"), "{}", stdout(&out));
}

#[test]
fn a_run_that_verifies_says_once_which_evidence_digest_to_keep() {
    let d = dir();
    let rows = keys(3, 1);
    let sim = sim(SimConfig::default(), &rows);
    let (input, report) = (path(&d, "in.csv"), path(&d, "out.csv"));
    write_csv(&input, &rows);
    let out = run(&sim, &input, &report, &["--verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stderr(&out);
    let keep: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("evidence digest (keep it elsewhere"))
        .collect();
    assert_eq!(keep.len(), 1, "{text}");
    assert!(
        text.contains(
            "evidence digest after the run (the verification below adds to it: keep its digest): "
        ),
        "{text}"
    );
    let kept = keep[0].rsplit(' ').next().unwrap();
    let out = revoker()
        .args(["report", "--expect-digest", kept])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("holds it at its last line"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_key_made_by_stock_minisign_g_w_signs_and_stock_minisign_checks_it() {
    if !have_tool("minisign", "-v") {
        return;
    }
    let d = dir();
    let (secret, public) = (path(&d, "w.key"), path(&d, "w.pub"));
    let made = std::process::Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let rows = keys(2, 1);
    let sim = sim(SimConfig::default(), &rows);
    let (input, report) = (path(&d, "in.csv"), path(&d, "out.csv"));
    write_csv(&input, &rows);
    let out = run(&sim, &input, &report, &["--sign-key"])
        .arg(&secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let check = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "minisign -Vm out.csv.manifest -p {} && sha256sum -c out.csv.manifest",
            public.display()
        ))
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
}

// Issue 34 (wave 7): a resume with another input names the input the report's last run read.
#[test]
fn a_resume_with_another_input_names_the_file_the_last_run_read() {
    let rows = keys(6, 2);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let other = path(&d, "other.csv");
    write_csv(&other, &rows[..3]);
    let out = run(&sim, &other, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let first = revoker::report::canonical(&input).display().to_string();
    assert!(
        stderr(&out).contains(&format!("its last run read {first} (SHA-256 ")),
        "{}",
        stderr(&out)
    );
}

// Issue 34 (wave 7): a command that needs an organization offers the Atlas CLI profile's org_id.
#[test]
fn a_census_without_an_organization_offers_the_profiles_org_id() {
    let d = dir();
    let config = path(&d, "atlascli");
    std::fs::create_dir_all(&config).unwrap();
    let org = "5f1b2c3d4e5f6a7b8c9d0e1f";
    std::fs::write(
        config.join("config.toml"),
        format!("[default]\npublic_api_key = \"abc\"\nprivate_api_key = \"secret\"\norg_id = \"{org}\"\n"),
    )
    .unwrap();
    for args in [vec!["census"], vec!["select", "--expired"]] {
        let out = revoker()
            .args(&args)
            .env("XDG_CONFIG_HOME", d.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("names org_id {org}: --org {org}")),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

// Issue 34 (wave 7): a column that answers to two of a field's names is one column, not a choice.
#[test]
fn an_export_header_with_spaces_reads_without_a_column_compared_with_itself() {
    let d = dir();
    let file = path(&d, "ui-export.csv");
    std::fs::write(
        &file,
        "Project ID,API Key ID,Key Type\n5e0000000000000000000000,6a0000000000000000000000,Agent API Keys\n5e0000000000000000000000,6a0000000000000000000001,Programmatic API Key\n",
    )
    .unwrap();
    let out = revoker().arg("validate").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("could come from"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("2 rows · 1 project-api-key · 1 agent-api-key"),
        "{}",
        stdout(&out)
    );
}
