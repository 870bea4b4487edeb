//! The command line as people use it: job files, report names, validate, report, credentials,
//! secrets, progress lines, spreadsheet-safe cells, the demo.

use std::os::unix::fs::PermissionsExt;

use revoker::report::Outcome;
use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples");

#[test]
fn flags_override_the_job_file_and_print_config_shows_the_merge() {
    let d = dir();
    let job = path(&d, "nightly.toml");
    std::fs::write(&job, "input = \"in.csv\"\nreport = \"r-{job}.csv\"\nconcurrency = 4\nrate = \"10/s\"\n[columns]\nproject = \"GROUP_ID\"\n").unwrap();
    let out = revoker()
        .arg("run")
        .arg(&job)
        .args(["--concurrency", "8", "--print-config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("concurrency = 8"), "{text}");
    assert!(text.contains("rate = \"10/s\""), "{text}");
    assert!(
        text.contains(&format!(
            "input = \"{}\"",
            d.path().join("in.csv").display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "report = \"{}\"",
            d.path().join("r-nightly.csv").display()
        )),
        "{text}"
    );
    assert!(text.contains("project = \"GROUP_ID\""), "{text}");
    assert!(
        text.contains("base_url = \"https://cloud.mongodb.com/api/public/v1.0\""),
        "{text}"
    );
    assert!(text.contains("# credentials: API key simpublic (HTTP Digest) from environment (MCLI_PUBLIC_API_KEY, MCLI_PRIVATE_API_KEY); the secret is not shown"), "{text}");
    assert!(
        text.contains("concurrency = 8   # flag --concurrency"),
        "{text}"
    );
    assert!(
        text.contains(&format!("rate = \"10/s\"   # job file {}", job.display())),
        "{text}"
    );
    assert!(text.contains("max_attempts = 5   # default"), "{text}");

    let out = revoker()
        .arg("run")
        .arg(&job)
        .args(["--rate", "fast"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("\"fast\" is not a rate: write it as 100/s, 6000/m or 50000/h"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&job, "concurency = 4\n").unwrap();
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown field `concurency`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn report_paths_expand_date_and_job() {
    let keys = keys(4, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let job = path(&d, "nightly.toml");
    std::fs::write(&job, format!("input = \"in.csv\"\nreport = \"reports/{{job}}-{{date}}.csv\"\nresume = true\nbase_url = \"{}\"\n", sim.base_url())).unwrap();
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let today = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
    let report = d.path().join(format!("reports/nightly-{today}.csv"));
    assert_eq!(count(&records(&report), Outcome::Done), 4);
    // resume = true: the second start of the day picks the same report up and sends nothing.
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().requests, 5);
}

#[test]
fn validate_lists_every_bad_row_and_sets_the_exit_code() {
    let bad = format!("{SAMPLES}/bad-rows.csv");
    let out = revoker().args(["validate", &bad]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = [
        format!(
            "{bad}: 2 rows: key id \"…\" is not a 24-hex-digit ObjectId (lines 3 \"../../etc/passwd\", 5 \"d3ac94af0f21ddb66cad%2F00\")"
        ),
        format!("{bad}:4: project id \"269e0d37f2a74de452e6b43\" is not a 24-hex-digit ObjectId"),
        format!(
            "{bad}:6: unknown kind \"user-key\" (expected project-api-key, agent-api-key, org-api-key, service-account, service-account-secret, project-service-account, project-service-account-secret, ai-model-api-key, global-api-key, org-mcp-secret, project-mcp-secret or database-user)"
        ),
        format!("{bad}:7: kind is empty"),
        format!("{bad}:8: project id is missing"),
        format!(
            "{bad}: 8 rows · 2 project-api-key · 0 agent-api-key · 0 org-api-key · 0 service-account · 0 service-account-secret · 6 invalid · 1 duplicate · 1 project or organization"
        ),
    ];
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );

    for good in ["keys.csv", "keys.json", "keys.jsonl"] {
        let out = revoker()
            .args(["validate", &format!("{SAMPLES}/{good}")])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{good}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let export = format!("{SAMPLES}/compliance-export.csv");
    let out = revoker()
        .args([
            "validate",
            &export,
            "--columns",
            "project=GROUP_ID,key=KEY_ID,kind=TYPE",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let mapped = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(mapped.contains(
        "171 rows · 88 project-api-key · 80 agent-api-key · 0 org-api-key · 0 service-account · 0 service-account-secret · 3 invalid · 0 duplicates · 6 projects and organizations"
    ), "{mapped}");
    // Its column names are among the defaults (case-insensitively), so no mapping is needed: the
    // same rows, the same verdicts, without --columns.
    let out = revoker().args(["validate", &export]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), mapped);
    let d = dir();
    let odd = path(&d, "odd.csv");
    std::fs::write(&odd, "Org,Owner\nx,y\n").unwrap();
    let out = revoker().arg("validate").arg(&odd).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {}:1: no key column in the header (looked for key, keyId, key_id, apiKeyId, api_key_id, id, clientId, client_id; found Org, Owner); map one with --columns key=NAME",
            odd.display()
        )
    );
}

#[test]
fn report_summarises_hands_over_failures_and_sets_the_exit_code() {
    let keys = keys(20, 2);
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

    let failures = path(&d, "left.csv");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--failures")
        .arg(&failures)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // Writing the hand-over file says one line about it, on stderr; the summary is a plain report's.
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "{}: 10 rows not finished, ready for `revoker run --input {}`",
            failures.display(),
            failures.display()
        )
    );
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(": 1 run\n"), "{text}");
    // Per run, the outcomes it wrote; `skipped` only where an old report has it.
    assert!(
        text.contains("  done 10 · not_found 0 · rejected 10 · failed 0 · invalid 0\n"),
        "{text}"
    );
    // Over the report, in an auditor's words, every count present.
    assert!(
        text.contains(
            "what happened to the 20 rows:\n  revoked by revoker           10\n  already gone when asked      0\n  confirmed absent afterwards  0\n  still present                0\n  refused                      10\n  failed                       0\n  invalid                      0\n  never attempted              0\n"
        ),
        "{text}"
    );
    assert!(text.contains("NOT finished: 10 rows left;"), "{text}");
    // The hand-over file is an input revoker reads, with exactly the unfinished rows.
    let out = revoker().arg("validate").arg(&failures).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": 10 rows ·"));

    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--json")
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["latest"]["rejected"], 10);
    assert_eq!(json["unfinished"], 10);

    let out = revoker()
        .arg("report")
        .arg(path(&d, "nope.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = revoker().arg("report").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(":1: not a revoker report"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn credentials_come_from_either_variable_pair_or_an_owner_only_file() {
    let keys = keys(2, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys[..1]);
    let out = run(&sim, &input, &path(&d, "a.csv"), &[])
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "revoker: no credentials: set MCLI_PUBLIC_API_KEY and MCLI_PRIVATE_API_KEY (or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY) for an API key, or MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET for a service account; or use --profile NAME or --credentials-file"
    );
    let out = run(&sim, &input, &path(&d, "b.csv"), &[])
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .env(
            "MONGODB_ATLAS_PUBLIC_API_KEY",
            revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
        )
        .env(
            "MONGODB_ATLAS_PRIVATE_API_KEY",
            revoker_testkit::simulator::DEFAULT_PRIVATE_KEY,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let file = path(&d, "creds.toml");
    std::fs::write(
        &file,
        format!(
            "public_key = \"simpublic\"\nprivate_key = \"{}\"\n",
            revoker_testkit::simulator::DEFAULT_PRIVATE_KEY
        ),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_csv(&input, &keys[1..]);
    let creds = file.to_str().unwrap();
    let out = run(
        &sim,
        &input,
        &path(&d, "c.csv"),
        &["--credentials-file", creds],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: credentials file {creds}: readable by other users (mode 0644); run: chmod 600 {creds}"
        )
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(
        &sim,
        &input,
        &path(&d, "c.csv"),
        &["--credentials-file", creds],
    )
    .env("MCLI_PRIVATE_API_KEY", "the file wins")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 2);
}

#[test]
fn the_private_key_appears_nowhere() {
    const SECRET: &str = "S3cr3t-Pr1vate-K3y-do-not-leak";
    let keys = keys(30, 3);
    let sim = sim(
        SimConfig {
            private_key: SECRET.into(),
            forbid_projects: vec![oid(&keys[2].scope)],
            error_rate: 0.2,
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let seen = std::cell::RefCell::new(String::new());
    let capture = |out: std::process::Output| {
        seen.borrow_mut()
            .push_str(&String::from_utf8_lossy(&out.stdout));
        seen.borrow_mut()
            .push_str(&String::from_utf8_lossy(&out.stderr));
        out.status.code()
    };
    let args = ["-vv", "--max-attempts", "1"];
    assert_eq!(
        capture(
            run(&sim, &input, &report, &args)
                .env("MCLI_PRIVATE_API_KEY", SECRET)
                .output()
                .unwrap()
        ),
        Some(1)
    );
    assert_eq!(
        capture(
            run(
                &sim,
                &input,
                &report,
                &["--resume", "--log-format", "json", "-vv"]
            )
            .env("MCLI_PRIVATE_API_KEY", SECRET)
            .output()
            .unwrap()
        ),
        Some(1)
    );
    assert_eq!(
        capture(
            run(&sim, &input, &report, &["--print-config"])
                .env("MCLI_PRIVATE_API_KEY", SECRET)
                .output()
                .unwrap()
        ),
        Some(0)
    );
    assert_eq!(
        capture(
            run(&sim, &input, &report, &["--base-url", "http://example.com"])
                .env("MCLI_PRIVATE_API_KEY", SECRET)
                .output()
                .unwrap()
        ),
        Some(2)
    );
    // A wrong key that contains the right one as a prefix, and a credentials file that is not TOML.
    let wrong = format!("{SECRET}-wrong");
    assert_eq!(
        capture(
            run(&sim, &input, &path(&d, "w.csv"), &["-vv"])
                .env("MCLI_PRIVATE_API_KEY", &wrong)
                .output()
                .unwrap()
        ),
        Some(3)
    );
    let creds = path(&d, "creds.toml");
    std::fs::write(
        &creds,
        format!("public_key = simpublic\nprivate_key = {SECRET}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        capture(
            run(
                &sim,
                &input,
                &path(&d, "f.csv"),
                &["--credentials-file", creds.to_str().unwrap()]
            )
            .output()
            .unwrap()
        ),
        Some(2)
    );
    assert!(
        seen.borrow().contains("credentials file"),
        "{}",
        seen.borrow()
    );
    assert_eq!(
        capture(
            revoker()
                .arg("report")
                .arg(&report)
                .arg("--json")
                .output()
                .unwrap()
        ),
        Some(1)
    );
    let seen = seen.into_inner();
    assert!(seen.contains("requests"), "the runs did talk: {seen}");
    assert!(
        !seen.contains(SECRET),
        "the private key leaked into the output"
    );
    for file in std::fs::read_dir(d.path()).unwrap() {
        let file = file.unwrap().path();
        if file != creds {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SECRET),
                "{} holds the private key",
                file.display()
            );
        }
    }
}

#[test]
fn without_a_terminal_progress_is_a_plain_line_at_each_interval() {
    let keys = keys(40, 2);
    let sim = sim(
        SimConfig {
            latency: std::time::Duration::from_millis(40),
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
        &["--concurrency", "2", "--progress-every", "150ms"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(" progress: ")).collect();
    assert!(lines.len() >= 2, "{err}");
    assert!(
        lines.iter().all(|l| l.contains("/40 rows (")
            && l.contains("rows/s · ETA")
            && l.contains("· 429s 0")),
        "{err}"
    );

    // Quiet and successful: nothing at all.
    let _ = std::fs::remove_file(path(&d, "r.csv"));
    let sim = revoker_testkit::sim(SimConfig::default(), &keys);
    let out = run(&sim, &path(&d, "in.csv"), &path(&d, "r.csv"), &["--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
}

#[test]
fn formula_cells_are_escaped_in_the_report_and_restored_by_the_reader() {
    let keys = keys(1, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.jsonl");
    std::fs::write(
        &input,
        format!(
            "{{\"project\":\"{}\",\"key\":\"=HYPERLINK(\\\"http://x\\\")\",\"kind\":\"agent\"}}\n{{\"project\":\"@SUM(A1)\",\"key\":\"-1\",\"kind\":\"+agent\"}}\n",
            keys[0].scope
        ),
    )
    .unwrap();
    let report = path(&d, "r.csv");
    assert_eq!(
        run(&sim, &input, &report, &[])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    let raw = std::fs::read_to_string(&report).unwrap();
    assert!(raw.contains(",\"'=HYPERLINK("), "{raw}");
    assert!(
        raw.contains(",'@SUM(A1),'-1,") && raw.contains(",'+agent,"),
        "{raw}"
    );
    let mut rows = records(&report);
    rows.sort_by_key(|r| r.line);
    assert_eq!(rows[0].key, "=HYPERLINK(\"http://x\")");
    assert_eq!(
        (
            rows[1].project.as_str(),
            rows[1].key.as_str(),
            rows[1].kind.as_str()
        ),
        ("@SUM(A1)", "-1", "+agent")
    );
}

#[test]
fn the_demo_runs_to_completion() {
    let d = dir();
    let out = revoker()
        .args(["demo", "--quiet", "--dir"])
        .arg(d.path())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("done 133 · not_found 7 · rejected 28 · failed 0 · invalid 3\n"),
        "{err}"
    );
    // The explanation is on stdout, so `revoker demo | less` shows it; the run's own lines on stderr.
    let text = stdout(&out);
    assert!(
        text.starts_with("revoker demo: a simulated Cloud Manager is listening at"),
        "{text}"
    );
    assert!(text.contains("What happened:"), "{text}");
    assert!(!err.contains("What happened:"), "{err}");
}
