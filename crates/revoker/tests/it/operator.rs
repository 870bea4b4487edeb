//! Fit to the operator's hands: `--kinds +…` adds the destructive kinds to the default, an empty
//! export is said, Terraform's variable names are read, and one refusing project is not "every
//! project refused".

use revoker::input::Kind;
use revoker::report::Outcome;
use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

#[test]
fn a_plus_adds_the_destructive_kinds_to_the_default() {
    let rows = [
        target(Kind::ProjectApiKey, 1, 2, None),
        target(Kind::AgentApiKey, 1, 3, None),
        target(Kind::OrgApiKey, 4, 5, None),
    ];
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let out = run(&sim, &input, &report, &["--kinds", "+org-api-key"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count(&records(&report), Outcome::Done), 3);
    // Without the +, exactly the kinds named.
    let out = revoker()
        .args(["validate", "--kinds", "org-api-key"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("kind project-api-key is not allowed by this job"),
        "{said}"
    );
}

#[test]
fn an_export_with_a_header_and_no_rows_is_said_even_quietly() {
    let sim = sim(SimConfig::default(), &[]);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    std::fs::write(&input, "project,key,kind\n").unwrap();
    let out = run(&sim, &input, &report, &["--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has a header and no rows: nothing to revoke — is the export empty?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn terraforms_variable_names_sign_in() {
    let keys = keys(4, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let out = run(&sim, &input, &report, &[])
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .env(
            "MONGODB_ATLAS_PUBLIC_KEY",
            revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
        )
        .env(
            "MONGODB_ATLAS_PRIVATE_KEY",
            revoker_testkit::simulator::DEFAULT_PRIVATE_KEY,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 4);
}

#[test]
fn kinds_as_exports_spell_them_and_a_near_miss_is_named() {
    let d = dir();
    let input = path(&d, "in.csv");
    std::fs::write(
        &input,
        "project,key,kind\n5e0000000000000000000001,6a0000000000000000000001,Project API Key\n5e0000000000000000000001,6a0000000000000000000002,agent-key\n5e0000000000000000000001,6a0000000000000000000003,projct api key\n",
    )
    .unwrap();
    let out = revoker().arg("validate").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "{}:4: unknown kind \"projct api key\": did you mean project-api-key?",
            input.display()
        )),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("1 project-api-key · 1 agent-api-key"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_input_given_where_the_job_file_goes_says_input() {
    let d = dir();
    let input = path(&d, "keys.csv");
    std::fs::write(&input, "project,key,kind\n").unwrap();
    let out = revoker().arg("run").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: job file {}: this looks like an input file, not a job file (TOML): pass it as --input {}",
            input.display(),
            input.display()
        )
    );
}

#[test]
fn a_report_folder_that_does_not_exist_is_created_and_said() {
    let keys = keys(2, 1);
    let Job {
        sim,
        dir: d,
        input,
        report: _,
    } = job(SimConfig::default(), &keys);
    let report = d.path().join("reports/night/r.csv");
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "revoker: creating the report folder {}",
            std::fs::canonicalize(d.path())
                .unwrap()
                .join("reports/night")
                .display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(report.exists());
}

#[test]
fn excel_unicode_text_reads_and_a_foreign_byte_matters_only_in_a_column_revoker_reads() {
    let rows = keys(2, 1);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    // UTF-16 little-endian with its byte-order mark, as Excel saves "Unicode Text".
    let text = std::fs::read_to_string(&input).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    std::fs::write(&input, utf16).unwrap();
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 2);
    // A cp1252 "é" in a column revoker does not read is nobody's business; in the key, the row's.
    let cp = path(&d, "cp.csv");
    let (p, k) = (rows[0].scope.to_string(), rows[0].key.to_string());
    let mut bytes = format!("project,key,kind,owner\n{p},{k},project-api-key,Jos").into_bytes();
    bytes.push(0xE9);
    bytes.extend(format!("\n{p},{}", &k[..23]).into_bytes());
    bytes.push(0xE9);
    bytes.extend(b",project-api-key,x\n");
    std::fs::write(&cp, bytes).unwrap();
    let out = revoker().arg("validate").arg(&cp).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out).lines().next().unwrap_or(""),
        format!(
            "{}:3: column 2 (key) is not valid UTF-8 (save the export as UTF-8 text, e.g. \"CSV UTF-8\")",
            cp.display()
        )
    );
}

#[test]
fn validate_groups_a_mistake_made_on_every_row() {
    let rows: Vec<_> = (0..30)
        .map(|i| target(Kind::OrgApiKey, 1, i + 1, None))
        .collect();
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    let out = revoker().arg("validate").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{}: 30 rows: kind org-api-key deletes the API key from the organization and every project: it is sent only when allowed by name (--kinds +org-api-key, or add \"org-api-key\" to kinds in the job file) (lines 2, 3, 4, 5, 6 and 25 more)",
            input.display()
        )
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn a_refused_credential_is_named_with_its_source_and_nothing_is_handed_over() {
    let rows = keys(3, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let out = run(&sim, &input, &report, &[])
        .env("MCLI_PRIVATE_API_KEY", "not-the-key")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("\n  the credential: API key simpublic, from environment (MCLI_PUBLIC_API_KEY, MCLI_PRIVATE_API_KEY)\n"),
        "{err}"
    );
    assert!(
        err.contains("\n  to continue, once the credential works: "),
        "{err}"
    );
    assert!(!err.contains("to hand over"), "{err}");
    assert!(!err.contains("not-the-key"));
}

#[test]
fn a_wrong_base_url_is_said_once_and_never_offered_again() {
    let rows = keys(2, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let wrong = sim
        .base_url()
        .replace("/api/public/v1.0", "/wrong/api/public/v1.0");
    let out = revoker()
        .args(["run", "--base-url", &wrong, "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("HTTP 404 (not the API's error document but an HTML body of "),
        "{err}"
    );
    assert!(!err.contains("HTTP 404 (HTTP 404"), "{err}");
    let hint = err
        .lines()
        .find(|l| l.contains("to continue"))
        .unwrap_or_default();
    assert!(
        hint.starts_with("  to continue, with the right base URL: "),
        "{err}"
    );
    assert!(
        hint.contains("--base-url BASE_URL ") && !hint.contains(&wrong),
        "{hint}"
    );
}

#[test]
fn job_file_typos_and_atlas_cli_flags_say_what_to_write() {
    let d = dir();
    let job = path(&d, "job.toml");
    std::fs::write(&job, "input = \"in.csv\"\nconcurency = 4\n").unwrap();
    let out = revoker().args(["run"]).arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 2: unknown field `concurency`; did you mean `concurrency`?"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out)
            .trim_end()
            .ends_with("did you mean `concurrency`?"),
        "{}",
        stderr(&out)
    );
    let out = revoker()
        .args(["run", "--orgId", "5f1b2c3d4e5f6a7b8c9d0e1f"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "revoker: --orgId is Atlas CLI's: revoker takes each row's organization from the input's org column; to choose credentials from an organization's live state, use revoker select --org ID\n"
    );
}

#[test]
fn on_a_terminal_log_lines_read_as_the_summary_does() {
    if !have_tool("tmux", "-V") {
        return;
    }
    let mut rows = keys(2, 1);
    rows.push(target(Kind::OrgApiKey, 9, 9, None));
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let args = shell_words::join([
        "run",
        "--yes",
        "--input",
        &input.display().to_string(),
        "--report",
        &report.display().to_string(),
        "--base-url",
        sim.base_url(),
    ]);
    let term = Terminal::start(&on_terminal(&args, "echo finished"));
    let pane = term.wait_for("finished");
    let _ = d;
    assert!(
        pane.contains("revoker: warning: 1 invalid row in "),
        "{pane}"
    );
    assert!(!pane.contains(" WARN "), "{pane}");
}

#[test]
fn the_bar_says_what_paces_the_run_with_a_percentage_and_no_early_eta() {
    if !have_tool("tmux", "-V") {
        return;
    }
    let rows = keys(120, 1);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let args = shell_words::join([
        "run",
        "--yes",
        "--project-rate",
        "40/s",
        "--input",
        &input.display().to_string(),
        "--report",
        &report.display().to_string(),
        "--base-url",
        sim.base_url(),
    ]);
    let term = Terminal::sized(&on_terminal(&args, "echo finished"), 100);
    // Mid-run: some rows sent, the run not done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut pane = String::new();
    while std::time::Instant::now() < deadline && !pane.contains("finished") {
        let sent = records_or_none(&report);
        pane = term.capture();
        if sent > 5 && pane.contains("/120 rows") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(term);
    let _ = d;
    assert!(
        pane.contains("revoker: paced by project_rate 40/s (flag --project-rate) × 1 project or organization ≈ 40 rows/s; 429s slow it further"),
        "{pane}"
    );
    let bar = pane
        .lines()
        .find(|l| l.contains("rows ·"))
        .unwrap_or_default();
    assert!(bar.contains("% ") && bar.contains("/120 rows"), "{pane}");
    // The first seconds' rate says little: no ETA yet.
    assert!(bar.contains("ETA -"), "{pane}");
    assert!(
        bar.trim_end().chars().count() <= 100,
        "the bar fits the terminal: {bar:?}"
    );
}

#[test]
fn json_output_names_every_outcome_zero_included() {
    let rows = keys(2, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let out = run(&sim, &input, &report, &["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes = json["summary"]["outcomes"].as_object().unwrap();
    let names: Vec<&str> = outcomes.keys().map(String::as_str).collect();
    let mut all: Vec<&str> = Outcome::ALL
        .iter()
        .filter(|o| **o != Outcome::Skipped)
        .map(|o| o.as_str())
        .collect();
    all.sort();
    let mut names_sorted = names.clone();
    names_sorted.sort();
    assert_eq!(names_sorted, all);
    assert_eq!(outcomes["done"], 2);
    assert_eq!(outcomes["rejected"], 0);
}
