//! A careful operator and a hostile server: what a review found wrong once (issue 15), each tried the
//! way it was found. The input changing under a run, base URLs that do not reach the API, servers
//! that refuse, never answer or go away, secrets in parse errors, server text with control
//! characters, Ctrl-C on a big input, closed pipes and reports named twice.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use revoker::report::Outcome;
use revoker_testkit::simulator::{Fault, SimConfig};
use revoker_testkit::*;

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `script` run by bash in `d`, with `$REVOKER` the binary and `$URL` the simulator's base URL.
fn shell(
    d: &tempfile::TempDir,
    sim: &revoker_testkit::simulator::SimHandle,
    script: &str,
) -> std::process::Output {
    clean_command("bash")
        .current_dir(d.path())
        .env("REVOKER", assert_cmd::cargo::cargo_bin("revoker"))
        .env("URL", sim.base_url())
        .args(["-o", "pipefail", "-c", script])
        .output()
        .unwrap()
}

fn finish(child: std::process::Child) -> std::process::Output {
    child.wait_with_output().unwrap()
}

#[test]
fn what_is_sent_is_what_was_validated_whatever_happens_to_the_file_meanwhile() {
    let keys = keys(300, 3);
    let sim = sim(
        SimConfig {
            latency: Duration::from_millis(10),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let mut child = spawn_run(&sim, &input, &report, &["--concurrency", "2"]);
    wait_for_rows(&report, 10, &mut child);
    // Cut to ten rows, then replaced by a file of keys that were never validated.
    write_csv(&input, &keys[..10]);
    let other = path(&d, "other.csv");
    write_csv(&other, &missing_keys(50, 3));
    std::fs::rename(&other, &input).unwrap();
    let out = finish(child);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!(
        (stats.deleted, stats.remaining, stats.status(400)),
        (300, 0, 0),
        "every validated row, and nothing else: {stats:?}"
    );
    assert_eq!(count(&records(&report), Outcome::Done), 300);

    // A pipe that can be read only once: `-i <(cat file)`.
    let fresh = revoker_testkit::sim(SimConfig::default(), &keys[..40]);
    write_csv(&path(&d, "forty.csv"), &keys[..40]);
    let out = shell(
        &d,
        &fresh,
        "\"$REVOKER\" run -i <(cat forty.csv) -r piped.csv --base-url \"$URL\"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fresh.stats().deleted, 40);
    assert_eq!(count(&records(&path(&d, "piped.csv")), Outcome::Done), 40);
}

#[test]
fn a_base_url_that_does_not_reach_the_api_stops_before_any_row_is_finished() {
    let keys = keys(20, 2);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let origin = sim
        .base_url()
        .trim_end_matches("/api/public/v1.0")
        .to_string();

    // Paths that name no API are refused before any request.
    for (url, report) in [
        (origin.clone(), "bare.csv"),
        (format!("{origin}/api/public/v1"), "v1.csv"),
    ] {
        let out = revoker()
            .args(["run", "--base-url", &url, "--report"])
            .arg(path(&d, report))
            .arg("--input")
            .arg(&input)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("base URL {}", url.trim_end_matches('/')))
                && stderr(&out).contains("names no API revoker knows"),
            "{}",
            stderr(&out)
        );
        assert!(!path(&d, report).exists());
    }
    // MCLI_OPS_MANAGER_URL set to the API's URL rather than the root: the path twice.
    let mut cmd = revoker();
    cmd.env("MCLI_OPS_MANAGER_URL", sim.base_url())
        .args(["run", "--report"])
        .arg(path(&d, "doubled.csv"))
        .arg("--input")
        .arg(&input);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("names the API path twice"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().requests, 0);

    // A path that looks right and reaches some other web page: the HTML 404 is not "already gone".
    let elsewhere = format!("{origin}/other/api/public/v1.0");
    let report = path(&d, "r.csv");
    let out = revoker()
        .args(["run", "--base-url", &elsewhere, "--report"])
        .arg(&report)
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "the base URL does not reach the MongoDB API; check --base-url {elsewhere}"
        )),
        "{}",
        stderr(&out)
    );
    let rows = records(&report);
    assert_eq!(
        (rows.len(), count(&rows, Outcome::Failed)),
        (1, 1),
        "{rows:?}"
    );
    assert_eq!(sim.stats().deleted, 0);
    // The right URL then revokes every row, the one tried included.
    let out = run(&sim, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        (sim.stats().deleted, count(&records(&report), Outcome::Done)),
        (20, 20)
    );
}

/// A web server that answers every request `200 OK` without asking who is asking.
fn yes_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        let started = Instant::now();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    let mut ended = false;
                    while reader.read_line(&mut line).unwrap_or(0) > 0 {
                        if line == "\r\n" {
                            ended = true;
                            break;
                        }
                        line.clear();
                    }
                    if !ended
                        || stream
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                            .is_err()
                    {
                        return;
                    }
                }
            });
            if started.elapsed() > Duration::from_secs(60) {
                break;
            }
        }
    });
    (port, thread)
}

#[test]
fn a_server_that_says_yes_without_asking_for_credentials_revokes_nothing() {
    let keys = keys(10, 2);
    let (port, _server) = yes_server();
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let url = format!("http://127.0.0.1:{port}/api/public/v1.0");
    let out = revoker()
        .args(["run", "--base-url", &url, "--report"])
        .arg(&report)
        .arg("--input")
        .arg(&input)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("HTTP 200 to a request without credentials, which the API always asks for first: the base URL does not reach the MongoDB API"),
        "{}",
        stderr(&out)
    );
    let rows = records(&report);
    assert_eq!(count(&rows, Outcome::Done), 0, "{rows:?}");
}

#[test]
fn a_refused_connection_never_counts_as_maybe_delivered() {
    let keys = keys(5, 1);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/api/public/v1.0");
    let out = revoker()
        .args(["run", "--base-url", &url, "--max-attempts", "2", "--report"])
        .arg(&report)
        .arg("--input")
        .arg(&input)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "no answer from 127.0.0.1:{port}: the first row's 2 attempts got none"
        )),
        "{}",
        stderr(&out)
    );
    // Nothing may have reached a server, so nothing is journaled as maybe sent.
    let journal = std::fs::read_to_string(path(&d, "r.csv.sent")).unwrap_or_default();
    assert_eq!(journal, "");
    // The keys never existed (their project does): the resume says not found, not "revoked".
    let others = missing_keys(5, 1);
    let sim = sim(SimConfig::default(), &others[..1]);
    let out = run(&sim, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = records(&report);
    assert_eq!(
        (count(&rows, Outcome::NotFound), count(&rows, Outcome::Done)),
        (5, 0),
        "{rows:?}"
    );
}

#[test]
fn handing_over_failures_never_writes_over_the_report_its_journal_or_the_input() {
    let keys = keys(12, 3);
    let forbidden = keys[0].scope;
    let sim = sim(
        SimConfig {
            forbid_projects: vec![oid(&forbidden)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let before = std::fs::read(&report).unwrap();
    std::os::unix::fs::symlink(&report, path(&d, "link.csv")).unwrap();
    for (target, what) in [
        (report.clone(), "the report"),
        (path(&d, "link.csv"), "the report"),
        (path(&d, "r.csv.sent"), "the report's journal"),
        (input.clone(), "the input"),
    ] {
        let out = revoker()
            .arg("report")
            .arg(&report)
            .arg("--failures")
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert_eq!(
            stderr(&out).trim(),
            format!(
                "revoker: {}: refusing to write over {what}; choose another path",
                target.display()
            )
        );
    }
    assert_eq!(std::fs::read(&report).unwrap(), before);
    // And the report still resumes: the finished rows stay finished, the refusing project refuses.
    // One refusing project is not "every project refused": the same state, the same exit code 1.
    let out = run(&sim, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already finished by earlier runs (not sent again): 8"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_server_that_never_answers_ends_the_run_at_once_and_hands_over_every_row() {
    let keys = keys(200, 4);
    let sim = sim(
        SimConfig {
            faults: vec![(Fault::Silence, 1.0)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &["-c", "16", "--timeout", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let host = sim
        .base_url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        stderr(&out).contains(&format!(
            "no answer from {host}: the first row's 5 attempts got none"
        )),
        "{}",
        stderr(&out)
    );
    // One row's attempts, not one per row: the run did not queue 200 rows behind a silent server.
    assert_eq!(sim.stats().requests, 5);
    let rows = records(&report);
    assert_eq!((rows.len(), count(&rows, Outcome::Failed)), (1, 1));
    assert!(
        stderr(&out).contains("--resume sends them): 199"),
        "{}",
        stderr(&out)
    );
    let failures = path(&d, "left.csv");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--failures")
        .arg(&failures)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let handed = std::fs::read_to_string(&failures).unwrap();
    assert_eq!(handed.lines().count(), 201, "a header and every row");

    // Zero time limits would make every request fail: refused.
    for flag in ["--timeout", "--connect-timeout"] {
        let out = run(&sim, &input, &path(&d, "zero.csv"), &[flag, "0s"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("must be more than 0s (from flag"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn an_outage_mid_run_slows_everyone_and_every_row_ends_done() {
    let keys = keys(400, 8);
    let sim = sim(
        SimConfig {
            latency: Duration::from_millis(5),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let mut child = spawn_run(&sim, &input, &report, &["-c", "8", "--rate", "100/s"]);
    wait_for_rows(&report, 50, &mut child);
    sim.outage(Duration::from_secs(4));
    let out = finish(child);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert!(stats.status(503) > 0, "the outage was met: {stats:?}");
    assert_eq!((stats.deleted, stats.remaining), (400, 0));
    let rows = records(&report);
    assert_eq!((rows.len(), count(&rows, Outcome::Done)), (400, 400));
}

#[test]
fn no_parser_quotes_a_secret_and_a_job_file_with_credentials_is_refused() {
    let d = dir();
    let secret = "Pr1vate-9f2c-4b1e-secret";
    let creds = path(&d, "creds.toml");
    std::fs::write(
        &creds,
        format!("public_key = \"abcdefgh\"\nprivate_key = \"{secret}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&creds, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    // The credentials file given as the job, and as the input.
    let out = revoker().arg("run").arg(&creds).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: job file {}: line 2: private_key is a credential, and credentials do not belong in a job file (it is not shown); put them in the environment (MCLI_PUBLIC_API_KEY / MCLI_PRIVATE_API_KEY, MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET), an Atlas CLI profile (--profile), or a credentials file readable only by you (credentials_file = \"…\", chmod 600)",
            creds.display()
        )
    );
    let out = revoker().arg("validate").arg(&creds).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {}:2: this looks like a credentials file (it sets private_key), not a list of keys to revoke; nothing from it is shown",
            creds.display()
        )
    );
    // A job file with a credential among its settings, and one whose broken line holds a secret.
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!("input = \"in.csv\"\nconcurrency = 4\nclient_secret = \"{secret}\"\n"),
    )
    .unwrap();
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 3: client_secret is a credential"),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        &job,
        format!("input = \"in.csv\"\nprivate_key = \"{secret}\n"),
    )
    .unwrap();
    let out = revoker().arg("run").arg(&job).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: job file {}: line 2: not valid here (the value is not shown)",
            job.display()
        )
    );
    // A credentials file with a broken secret line, and one with an unknown field on line 3.
    let expected = "expected public_key = \"…\" and private_key = \"…\", or client_id = \"…\" and client_secret = \"…\"";
    for (text, complaint) in [
        (
            format!("public_key = \"abcdefgh\"\nprivate_key = \"{secret}\n"),
            "line 2: not valid TOML".to_string(),
        ),
        (
            format!(
                "public_key = \"abcdefgh\"\nprivate_key = \"{secret}\"\nprivate_kye = \"{secret}\"\n"
            ),
            "line 3: unknown field `private_kye`; did you mean `private_key`?".to_string(),
        ),
    ] {
        std::fs::write(&creds, text).unwrap();
        let out = revoker()
            .args(["run", "--input", "x.csv", "--credentials-file"])
            .arg(&creds)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            stderr(&out).trim(),
            format!(
                "revoker: credentials file {}: {complaint}; {expected}",
                creds.display()
            )
        );
    }
}

#[test]
fn server_text_reaches_the_terminal_and_the_report_escaped() {
    let keys = keys(3, 1);
    let sim = sim(
        SimConfig {
            faults: vec![(Fault::Forged, 1.0)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains('\u{1b}') && !err.contains('\r') && !err.contains('\u{202e}'),
        "{err:?}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("revoker: all keys")),
        "{err}"
    );
    assert!(err.contains("FORGED\\u{1b}[2J"), "{err}");
    let rows = records(&report);
    assert_eq!(count(&rows, Outcome::Rejected), 3);
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
}

#[test]
fn ctrl_c_on_a_big_input_writes_only_what_was_attempted_and_the_rest_is_handed_over() {
    let keys = keys(10_000, 10);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let mut child = spawn_run(&sim, &input, &report, &["--rate", "200/s"]);
    wait_for_rows(&report, 20, &mut child);
    interrupt(&child);
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let rows = records(&report);
    let written = rows.len();
    assert!(written < 1000, "only attempted rows: {written}");
    assert_eq!(count(&rows, Outcome::Skipped), 0);
    assert_eq!(count(&rows, Outcome::Done), written);
    assert!(
        stderr(&out).contains(&format!("--resume sends them): {}", 10_000 - written)),
        "{}",
        stderr(&out)
    );
    // The hand-over reads the input for the rows the report never saw.
    let failures = path(&d, "left.csv");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--failures")
        .arg(&failures)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let handed = std::fs::read_to_string(&failures).unwrap();
    assert_eq!(handed.lines().count(), 1 + 10_000 - written);
    // The resume sends exactly those.
    let out = run(&sim, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!(
        (stats.deleted, stats.remaining, stats.repeat_deletes),
        (10_000, 0, 0)
    );
}

#[test]
fn a_closed_stdout_is_the_end_of_the_output_not_a_crash() {
    let keys = keys(3_000, 3);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = shell(
        &d,
        &sim,
        "\"$REVOKER\" run -i in.csv --dry-run --base-url \"$URL\" | head -n1",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(sim.stats().requests, 0);
}

#[test]
fn a_report_named_through_a_symlink_is_locked_as_itself() {
    let keys = keys(200, 2);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    let mut child = spawn_run(&sim, &input, &report, &["--rate", "20/s"]);
    wait_for_rows(&report, 1, &mut child);
    let link = path(&d, "link.csv");
    std::os::unix::fs::symlink(&report, &link).unwrap();
    let pid = child.id();
    let out = run(&sim, &input, &link, &["--resume"]).output().unwrap();
    interrupt(&child);
    let first = finish(child);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: {}: another revoker run (pid {}) is using this report; wait for it or stop it",
            report.display(),
            pid
        )
    );
    assert_eq!(first.status.code(), Some(130));
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_fifo_or_a_link_to_one_at_a_side_file_never_holds_the_run() {
    let rows = keys(4, 2);
    let sim = sim(SimConfig::default(), &rows);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    // The limits file: a FIFO, then a link to one. A warning; the run goes on and finishes.
    let fifo = path(&d, "elsewhere.fifo");
    mkfifo(&fifo);
    for (name, make) in [
        (
            "a",
            Box::new(|p: &std::path::Path| mkfifo(p)) as Box<dyn Fn(&std::path::Path)>,
        ),
        (
            "b",
            Box::new(|p: &std::path::Path| std::os::unix::fs::symlink(&fifo, p).unwrap()),
        ),
    ] {
        let limits = path(&d, "revoker-limits.json");
        let _ = std::fs::remove_file(&limits);
        make(&limits);
        let report = path(&d, &format!("{name}.csv"));
        let out = run(&sim, &input, &report, &[])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("revoker-limits.json: cannot read"),
            "{name}: {}",
            stderr(&out)
        );
    }
    // The journal and the audit file of a report being resumed: an error naming the file.
    for suffix in [".sent", ".audit.jsonl"] {
        let report = path(&d, &format!("r{suffix}.csv"));
        std::fs::write(
            &report,
            "run_id,finished_at,line,kind,project,key,outcome,http_status,error_code,attempts,duration_ms,message,secret,chain\n",
        )
        .unwrap();
        let side = revoker::report::sidecar(&report, suffix);
        mkfifo(&side);
        let out = run(&sim, &input, &report, &["--resume"])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{suffix}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{suffix}: "))
                && stderr(&out).contains("not a regular file"),
            "{suffix}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn an_unreachable_host_is_decided_by_the_first_row_at_low_concurrency() {
    // The shipped nightly job runs at concurrency 4: the outage breaker's threshold (4) is below
    // the first row's attempts (6), and no server failure may open it before anything answered.
    let rows = keys(20, 2);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &rows);
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}/api/public/v1.0");
    let out = revoker()
        .args([
            "run",
            "--base-url",
            &url,
            "--concurrency",
            "4",
            "--max-attempts",
            "6",
        ])
        .arg("--report")
        .arg(&report)
        .arg("--input")
        .arg(&input)
        .timeout(Duration::from_secs(90))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "no answer from 127.0.0.1:{port}: the first row's 6 attempts got none"
        )),
        "{}",
        stderr(&out)
    );
    let written = records(&report);
    assert_eq!(written.len(), 1, "only the first row: {written:?}");
    assert_eq!(
        (written[0].outcome, written[0].attempts),
        (Outcome::Failed, 6)
    );
}
