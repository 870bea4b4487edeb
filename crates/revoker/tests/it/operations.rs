//! Cron and incident operations: the runbook's resume, logs made for cron mail and pipelines, clean
//! side files, metrics, profiles, `-o json`, the man page and the systemd units.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use revoker::report::Outcome;
use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Fault, SimConfig};
use revoker_testkit::*;

/// The binary as a plain process (for signals) in `dir`, with the simulator's credentials.
fn spawn(args: &[String], dir: &std::path::Path) -> std::process::Child {
    clean_command(assert_cmd::cargo::cargo_bin("revoker"))
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_runbook_interrupt_then_the_same_command_with_resume_continues_the_same_report() {
    let keys = keys(300, 5);
    let sim = sim(
        SimConfig {
            latency: Duration::from_millis(25),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    std::fs::create_dir_all(path(&d, "jobs")).unwrap();
    write_csv(&path(&d, "compromised.csv"), &keys);
    std::fs::write(
        path(&d, "jobs/incident.toml"),
        format!(
            "report = \"../reports/incident-{{date}}-{{time}}.csv\"\nconcurrency = 4\nbase_url = \"{}\"\n",
            sim.base_url()
        ),
    )
    .unwrap();
    let command: Vec<String> = ["run", "jobs/incident.toml", "--input", "compromised.csv"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let child = spawn(&command, d.path());
    let started = Instant::now();
    while sim.stats().deleted < 40 {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(5));
    }
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    // The hint is the command as typed plus --resume, ready to paste.
    let hint = stderr(&out)
        .lines()
        .find_map(|l| l.trim().strip_prefix("to continue: ").map(str::to_string))
        .expect("a hint to continue");
    let words = shell_words::split(&hint).unwrap();
    assert_eq!(
        &words[1..],
        [
            "run",
            "jobs/incident.toml",
            "--input",
            "compromised.csv",
            "--resume"
        ]
    );

    // A new {time}, yet the same report continues: the newest unfinished one of this job and input.
    std::thread::sleep(Duration::from_millis(1100));
    let out = spawn(&words[1..], d.path()).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("resuming "), "{}", stderr(&out));
    let reports: Vec<_> = std::fs::read_dir(path(&d, "reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let stats = sim.stats();
    assert_eq!(
        (stats.deleted, stats.remaining, stats.repeat_deletes),
        (300, 0, 0),
        "{stats:?}"
    );
    let rows = records(&reports[0]);
    assert_eq!(
        count(&rows, Outcome::Done),
        300,
        "no row sent twice, none lost"
    );
    // Nothing is left to resume now, and --resume says so, naming what it looked for.
    let out = spawn(&words[1..], d.path()).wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--resume: nothing to resume: no unfinished report matching ")
            && stderr(&out).contains("reports/incident-*-*.csv for input compromised.csv"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn resume_of_a_report_that_does_not_exist_is_an_error_unless_the_job_resumes() {
    let keys = keys(4, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let out = run(&sim, &input, &path(&d, "missing.csv"), &["--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {}: no such report, so there is nothing to resume; drop --resume to start a new one",
            path(&d, "missing.csv").display()
        )
    );
    let job = path(&d, "nightly.toml");
    std::fs::write(
        &job,
        "input = \"in.csv\"\nreport = \"nightly-{date}.csv\"\nresume = true\n",
    )
    .unwrap();
    let out = revoker()
        .arg("run")
        .arg(&job)
        .args(["--base-url", sim.base_url(), "--resume"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "a nightly job's first run of the day: {}",
        stderr(&out)
    );
}

#[test]
fn json_logs_make_every_stderr_line_json() {
    let keys = keys(60, 3);
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope)],
            latency: Duration::from_millis(20),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push_str("not,a,row\n");
    std::fs::write(&input, text).unwrap();
    let out = run(
        &sim,
        &input,
        &path(&d, "r.csv"),
        &[
            "--log-format",
            "json",
            "--progress-every",
            "50ms",
            "--concurrency",
            "2",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let mut targets = std::collections::BTreeSet::new();
    for line in err.lines() {
        let json: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            json["level"].is_string() && json["message"].is_string(),
            "{line}"
        );
        if let Some(t) = json["target"].as_str() {
            targets.insert(t.to_string());
        }
    }
    assert!(
        targets.contains("revoker::progress") && targets.contains("revoker::summary"),
        "{targets:?}"
    );
    assert!(
        err.contains("\"not_attempted\":0") || err.contains("\"not_attempted\": 0"),
        "{err}"
    );
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    if !have_tool("script", "--version") {
        return;
    }
    let keys = keys(10, 2);
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let bin = assert_cmd::cargo::cargo_bin("revoker");
    let on_a_terminal = |report: &str, no_color: bool| {
        let line = format!(
            "{} run --yes --input {} --report {} --base-url {}",
            bin.display(),
            input.display(),
            path(&d, report).display(),
            sim.base_url()
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
            .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
            .env("XDG_CONFIG_HOME", "/nonexistent/revoker-tests")
            .env("TERM", "xterm");
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let coloured = on_a_terminal("a.csv", false);
    assert!(
        coloured.contains("\u{1b}[3"),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = on_a_terminal("b.csv", true);
    assert!(plain.contains("rejected"), "{plain:?}");
    assert!(
        !plain.contains("\u{1b}[3"),
        "NO_COLOR means none: {plain:?}"
    );
}

#[test]
fn each_error_says_its_cause_once() {
    let d = dir();
    let keys = keys(2, 1);
    let sim = sim(SimConfig::default(), &keys);
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    std::fs::create_dir(path(&d, "a-folder.csv")).unwrap();
    let out = run(&sim, &input, &path(&d, "a-folder.csv"), &["--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).matches("os error 21").count(),
        1,
        "{}",
        stderr(&out)
    );
    let out = run(&sim, &path(&d, "a-folder.csv"), &path(&d, "r.csv"), &[])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {}:0: is a directory, not a file",
            path(&d, "a-folder.csv").display()
        )
    );
}

#[test]
fn a_clean_finish_leaves_no_lock_and_no_journal_and_a_doubtful_one_keeps_the_journal() {
    let keys = keys(30, 3);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".lock") || n.ends_with(".sent")),
        "{names:?}"
    );
    assert!(names.contains(&"r.csv.audit.jsonl".to_string()));

    // An answer lost on the way back: the row may have been revoked, and only the journal says so.
    let lossy = revoker_testkit::sim(
        SimConfig {
            faults: vec![(Fault::LostAnswer, 1.0)],
            ..SimConfig::default()
        },
        &keys,
    );
    let (one, lossy_report) = (path(&d, "one.csv"), path(&d, "lossy.csv"));
    write_csv(&one, &keys[..1]);
    let out = run(&lossy, &one, &lossy_report, &["--max-attempts", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let journal = std::fs::read_to_string(path(&d, "lossy.csv.sent")).unwrap();
    assert_eq!(journal.lines().count(), 1, "{journal}");
    assert_eq!(count(&records(&lossy_report), Outcome::Failed), 1);
    // The resume settles it: the project is there and the key is not, so the lost attempt revoked
    // it; the journal goes.
    let steady = revoker_testkit::sim(SimConfig::default(), &keys[1..]);
    let out = run(&steady, &one, &lossy_report, &["--resume", "--api-moved"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = records(&lossy_report).pop().unwrap();
    assert_eq!(last.outcome, Outcome::Done);
    assert!(
        last.message.contains("that attempt revoked it"),
        "{}",
        last.message
    );
    assert!(!path(&d, "lossy.csv.sent").exists());
}

#[test]
fn the_metrics_file_is_for_node_exporter() {
    let keys = keys(20, 2);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let job = path(&d, "nightly.toml");
    std::fs::write(&job, format!("input = \"in.csv\"\nreport = \"r.csv\"\nresume = true\nbase_url = \"{}\"\nmetrics_file = \"revoker.prom\"\n", sim.base_url())).unwrap();
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let prom = std::fs::read_to_string(path(&d, "revoker.prom")).unwrap();
    for line in [
        "# TYPE revoker_rows gauge",
        "revoker_rows{job=\"nightly\",outcome=\"done\"} 20",
        "revoker_rows{job=\"nightly\",outcome=\"failed\"} 0",
        "revoker_requests{job=\"nightly\"} 21",
        "revoker_throttled_requests{job=\"nightly\"} 0",
        "revoker_exit_code{job=\"nightly\"} 0",
    ] {
        assert!(
            prom.lines().any(|l| l == line),
            "{line} missing from\n{prom}"
        );
    }
    let success = prom
        .lines()
        .find_map(|l| l.strip_prefix("revoker_last_success_timestamp_seconds{job=\"nightly\"} "))
        .unwrap()
        .to_string();
    assert!(prom.contains("revoker_duration_seconds{job=\"nightly\"} "));
    // A failed run later: its own figures, and the last success kept.
    let gone = revoker_testkit::sim(
        SimConfig {
            access_list_denied: true,
            ..SimConfig::default()
        },
        &keys,
    );
    std::fs::write(&job, format!("input = \"in.csv\"\nreport = \"r2.csv\"\nbase_url = \"{}\"\nmetrics_file = \"revoker.prom\"\n", gone.base_url())).unwrap();
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let prom = std::fs::read_to_string(path(&d, "revoker.prom")).unwrap();
    assert!(
        prom.contains("revoker_exit_code{job=\"nightly\"} 3"),
        "{prom}"
    );
    assert!(
        prom.contains(&format!(
            "revoker_last_success_timestamp_seconds{{job=\"nightly\"}} {success}"
        )),
        "{prom}"
    );
}

/// An Atlas CLI config in a folder of its own, with the given profiles (mode 0600).
fn atlascli_config(d: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let config = path(d, "xdg");
    std::fs::create_dir_all(config.join("atlascli")).unwrap();
    let file = config.join("atlascli/config.toml");
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    config
}

#[test]
fn profiles_work_as_atlas_cli_keeps_them() {
    let keys = keys(6, 2);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let root = sim
        .base_url()
        .trim_end_matches("/api/public/v1.0")
        .to_string();
    let config = atlascli_config(
        &d,
        &format!(
            "[ops]\npublic_api_key = \"{DEFAULT_PUBLIC_KEY}\"\nprivate_api_key = \"{DEFAULT_PRIVATE_KEY}\"\nops_manager_url = \"{root}/\"\n\n[keyring]\npublic_api_key = \"{DEFAULT_PUBLIC_KEY}\"\nops_manager_url = \"{root}/\"\n"
        ),
    );
    let without_env = |cmd: &mut assert_cmd::Command| {
        cmd.env_remove("MCLI_PUBLIC_API_KEY")
            .env_remove("MCLI_PRIVATE_API_KEY")
            .env("XDG_CONFIG_HOME", &config);
    };
    // --profile: credentials and the Ops Manager URL from the profile.
    let mut cmd = revoker();
    cmd.args(["run", "--profile", "ops", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(path(&d, "a.csv"));
    without_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // MONGODB_ATLAS_PROFILE does the same; print-config says where each setting came from.
    let mut cmd = revoker();
    cmd.args(["run", "--print-config", "--input"])
        .arg(&input)
        .env("MONGODB_ATLAS_PROFILE", "ops");
    without_env(&mut cmd);
    let out = cmd.output().unwrap();
    let printed = stdout(&out);
    let file = config.join("atlascli/config.toml");
    assert!(
        printed.contains(&format!(
            "base_url = \"{}\"   # profile ops ({})",
            sim.base_url(),
            file.display()
        )),
        "{printed}"
    );
    assert!(
        printed.contains("profile = \"ops\"   # environment (MONGODB_ATLAS_PROFILE)"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "# credentials: API key {DEFAULT_PUBLIC_KEY} (HTTP Digest) from profile ops"
        )),
        "{printed}"
    );
    assert!(!printed.contains(DEFAULT_PRIVATE_KEY));
    // The environment beats the profile; a flag beats both.
    let mut cmd = revoker();
    cmd.args([
        "run",
        "--print-config",
        "--profile",
        "ops",
        "--base-url",
        "https://om.example.com/api/public/v1.0",
        "--input",
    ])
    .arg(&input);
    cmd.env("XDG_CONFIG_HOME", &config);
    let printed = stdout(&cmd.output().unwrap());
    assert!(printed.contains("# credentials: API key simpublic (HTTP Digest) from environment (MCLI_PUBLIC_API_KEY, MCLI_PRIVATE_API_KEY)"), "{printed}");
    assert!(
        printed
            .contains("base_url = \"https://om.example.com/api/public/v1.0\"   # flag --base-url"),
        "{printed}"
    );
    // A profile whose secret is in the OS keyring says so, and how to pass it instead.
    let mut cmd = revoker();
    cmd.args(["run", "--profile", "keyring", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(path(&d, "k.csv"));
    without_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has public_api_key but no private_api_key: Atlas CLI 1.47 and later keep secrets in the OS keyring")
            && stderr(&out).contains("MONGODB_ATLAS_PRIVATE_API_KEY"),
        "{}",
        stderr(&out)
    );
    // A profile that is not there names the ones that are.
    let mut cmd = revoker();
    cmd.args(["run", "--profile", "nope", "--input"])
        .arg(&input);
    without_env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no profile nope (profiles there: keyring, ops)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn mongocli_s_older_config_is_read_when_atlas_cli_has_none() {
    let keys = keys(2, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let home = path(&d, "home");
    std::fs::create_dir_all(home.join(".config")).unwrap();
    let file = home.join(".config/mongocli.toml");
    let root = sim
        .base_url()
        .trim_end_matches("/api/public/v1.0")
        .to_string();
    std::fs::write(&file, format!("[default]\nservice = \"ops-manager\"\npublic_api_key = \"{DEFAULT_PUBLIC_KEY}\"\nprivate_api_key = \"{DEFAULT_PRIVATE_KEY}\"\nops_manager_url = \"{root}\"\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut cmd = revoker();
    cmd.args(["run", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(path(&d, "r.csv"))
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", &home);
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the default profile: {}",
        stderr(&out)
    );
    assert_eq!(sim.stats().deleted, 2);
}

#[test]
fn json_output_is_one_document_on_stdout_for_every_command() {
    let keys = keys(10, 2);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let parse = |out: &std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
    };
    let out = run(&sim, &input, &report, &["-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json = parse(&out);
    assert_eq!(json["exit_code"], 0);
    assert_eq!(json["summary"]["outcomes"]["done"], 10);
    assert!(!stderr(&out).is_empty(), "the summary stays on stderr");
    let out = revoker()
        .args(["validate", "-o", "json"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(parse(&out)["rows"], 10);
    let out = revoker()
        .args(["verify", "-o", "json", "--base-url", sim.base_url()])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(parse(&out)["verification"]["verified"], 10);
    let out = revoker()
        .args(["report", "-o", "json"])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(parse(&out)["latest"]["verified"], 10);
}

#[test]
fn the_man_page_and_the_systemd_units_check_out() {
    let d = dir();
    let out = revoker().arg("man").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH revoker 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(
        page.contains("revoker\\-run") || page.contains("run"),
        "the commands are listed"
    );
    let man_dir = path(&d, "man/man1");
    let out = revoker()
        .arg("man")
        .arg("--dir")
        .arg(&man_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    for name in [
        "revoker",
        "revoker-run",
        "revoker-verify",
        "revoker-report",
        "revoker-validate",
    ] {
        assert!(man_dir.join(format!("{name}.1")).exists(), "{name}");
    }
    if !have_tool("systemd-analyze", "--version") {
        return;
    }
    // The units as shipped, with ExecStart pointing at this build and the man pages it documents.
    let units = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/systemd");
    let bin = assert_cmd::cargo::cargo_bin("revoker");
    for unit in ["revoker-nightly.service", "revoker-nightly.timer"] {
        let text = std::fs::read_to_string(format!("{units}/{unit}")).unwrap();
        std::fs::write(
            path(&d, unit),
            text.replace("/usr/local/bin/revoker", &bin.display().to_string()),
        )
        .unwrap();
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "revoker-nightly.service", "revoker-nightly.timer"])
        .current_dir(d.path())
        .env("MANPATH", path(&d, "man"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}
