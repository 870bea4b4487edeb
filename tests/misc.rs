//! The rest of the surface: the simulator as a command and its list endpoints, stdin, dry runs,
//! completions, and the dependency rules.

mod common;

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use revoker::sim::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, SimConfig};

#[test]
fn the_simulator_command_prints_its_url_first_and_stops_on_sigterm() {
    let out = revoker()
        .args(["sim", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "revoker: refusing to listen on 0.0.0.0:0: not a loopback address (pass --allow-remote if you really mean it)"
    );

    let d = dir();
    let mut sim = Command::new(assert_cmd::cargo::cargo_bin("revoker"))
        .args(["sim", "--generate", "30", "--projects", "3", "--write-keys"])
        .arg(path(&d, "keys.csv"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/api/public/v1.0"),
        "{url}"
    );

    // The list endpoints page through what is there, with digest like everything else.
    let keys = revoker::cli::load_keys(&path(&d, "keys.csv"), &Default::default()).unwrap();
    let project = keys[0].scope;
    let (status, body) = digest_get(
        &format!("{url}/groups/{project}/apiKeys?itemsPerPage=2&pageNum=2&pretty=true"),
        "application/json",
    );
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["totalCount"], 5, "{json}");
    assert_eq!(json["results"].as_array().unwrap().len(), 2);
    let rels: Vec<&str> = json["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["self", "next"], "page 2 of 3 has a next page");
    assert!(body.contains("\n  \"results\""), "pretty-printed: {body}");
    let out = run_against(&url, &path(&d, "keys.csv"), &path(&d, "r.csv"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        Command::new("kill")
            .args(["-TERM", &sim.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let started = std::time::Instant::now();
    while sim.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the simulator ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run_against(
    url: &str,
    input: &std::path::Path,
    report: &std::path::Path,
) -> std::process::Output {
    revoker()
        .args(["run", "--base-url", url])
        .arg("--input")
        .arg(input)
        .arg("--report")
        .arg(report)
        .output()
        .unwrap()
}

#[test]
fn stdin_is_read_once_to_validate_and_once_to_send() {
    let keys = keys(5, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("revoker"))
        .args([
            "run",
            "--input",
            "-",
            "--base-url",
            sim.base_url(),
            "--report",
        ])
        .arg(path(&d, "r.csv"))
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(path(&d, "in.csv")).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 5);

    let out = revoker()
        .args(["run", "--input", "-"])
        .write_stdin("project,key,kind\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "revoker: reading from stdin needs --report PATH"
    );
}

#[test]
fn a_dry_run_prints_the_requests_and_sends_none() {
    let keys = keys(3, 1);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &keys);
    let out = run(&sim, &input, &path(&d, "r.csv"), &["--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected: Vec<String> = keys
        .iter()
        .map(|t| {
            format!(
                "DELETE {}",
                revoker::api::Api::CloudManager.revoke_url(
                    &revoker::api::parse_base_url(sim.base_url()).unwrap(),
                    t,
                    false
                )
            )
        })
        .collect();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
    assert!(
        stderr(&out).contains("dry run: 3 rows · 3 to send · 0 invalid"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().requests, 0);
    assert!(!path(&d, "r.csv").exists());
}

#[test]
fn completions_and_version() {
    let out = revoker().args(["completions", "bash"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8_lossy(&out.stdout);
    assert!(script.contains("complete -F _revoker"), "{script}");
    for word in [
        "run",
        "verify",
        "report",
        "--resume",
        "--kinds",
        "--metrics-file",
        "--profile",
    ] {
        assert!(
            script.contains(word),
            "{word} missing from the bash completions"
        );
    }
    let out = revoker().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("revoker {}", env!("CARGO_PKG_VERSION"))
    );
}

/// `backoff` is unmaintained (RUSTSEC-2025-0012) and so is `instant`, which it pulls in; neither may
/// come back through some other dependency.
#[test]
fn no_unmaintained_retry_crates_in_the_lock_file() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    for name in ["backoff", "instant"] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"\n")),
            "{name} is in Cargo.lock"
        );
    }
    assert!(lock.contains("name = \"backon\"\n"));
}
