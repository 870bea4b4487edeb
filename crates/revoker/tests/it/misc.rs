//! The rest of the surface: stdin, dry runs, completions, and the dependency rules.

use std::io::Write;
use std::process::{Command, Stdio};

use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, SimConfig};
use revoker_testkit::*;

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
    // A summary per kind on stdout; every request at -v, on stderr.
    let base = sim.base_url();
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        vec![
            format!(
                "        2 project-api-key          in     1 project        DELETE {base}/groups/{{groupId}}/apiKeys/{{id}}"
            ),
            format!(
                "        1 agent-api-key            in     1 project        DELETE {base}/groups/{{groupId}}/agentapikeys/{{id}}"
            ),
        ]
    );
    let verbose = run(&sim, &input, &path(&d, "r.csv"), &["--dry-run", "-v"])
        .output()
        .unwrap();
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
    let listed: Vec<String> = stderr(&verbose)
        .lines()
        .filter_map(|l| l.find("DELETE ").map(|i| l[i..].to_string()))
        .collect();
    assert_eq!(listed, expected);
    assert!(
        stderr(&out).contains("dry run: 3 rows · 3 to send · 0 exempt · 0 invalid"),
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
    let lock =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
    for name in ["backoff", "instant"] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"\n")),
            "{name} is in Cargo.lock"
        );
    }
    assert!(lock.contains("name = \"backon\"\n"));
}
