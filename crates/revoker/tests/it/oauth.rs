//! Service accounts: one OAuth 2.0 token per run (renewed before it expires, once more on a 401),
//! revoked when the run ends however it ends; a refused secret stops the run before any request,
//! and neither the secret nor a token appears anywhere.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use revoker::report::Outcome;
use revoker_testkit::simulator::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SimConfig};
use revoker_testkit::*;

#[test]
fn six_hundred_rows_with_two_second_tokens_fetch_one_token_per_lifetime() {
    let keys = keys(600, 20);
    let sim = sim(
        SimConfig {
            token_ttl: Duration::from_secs(2),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let started = Instant::now();
    let out = with_service_account(run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--rate", "100/s", "--concurrency", "16"],
    ))
    .output()
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(count(&rows, Outcome::Done), 600);
    assert!(
        rows.iter().all(|r| r.attempts == 1),
        "no attempt lost to a token"
    );
    let stats = sim.stats();
    // A token lives 2 s and is renewed at 90% of its life: one fetch per 1.8 s of run, not one per
    // worker (16) or per row (600).
    let lifetimes = (elapsed.as_secs_f64() / 1.8).ceil() as u64;
    assert!(
        stats.token_requests >= 3 && stats.token_requests <= lifetimes + 1,
        "{} token requests in {elapsed:?}",
        stats.token_requests
    );
    assert_eq!(
        stats.token_revokes, stats.tokens_issued,
        "each renewal revokes the token it replaces, and the last is revoked at the end"
    );
    assert_eq!(
        (stats.requests, stats.challenges),
        (600, 0),
        "one request a row"
    );
}

#[test]
fn a_token_revoked_mid_run_is_renewed_once_without_losing_an_attempt() {
    let keys = keys(200, 4);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let child = with_service_account(run(
        &sim,
        &path(&d, "in.csv"),
        &path(&d, "r.csv"),
        &["--rate", "100/s", "--max-attempts", "1"],
    ));
    let handle = std::thread::spawn(move || {
        let mut child = child;
        child.output().unwrap()
    });
    let started = Instant::now();
    while sim.stats().deleted < 50 {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sim.revoke_tokens(), 1);
    let out = handle.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = records(&path(&d, "r.csv"));
    assert_eq!(
        count(&rows, Outcome::Done),
        200,
        "with --max-attempts 1, the 401 cost no attempt"
    );
    let stats = sim.stats();
    assert_eq!(stats.token_requests, 2);
    assert_eq!(stats.status(401), 1);
}

#[test]
fn a_wrong_secret_stops_before_any_request_and_is_never_echoed() {
    const WRONG: &str = "mdb_sa_sk_WRONG-secret-value";
    let keys = keys(50, 5);
    let sim = sim(SimConfig::default(), &keys);
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let out = with_service_account(run(&sim, &path(&d, "in.csv"), &path(&d, "r.csv"), &["-vv"]))
        .env("MONGODB_ATLAS_CLIENT_SECRET", WRONG)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("credentials rejected: the token endpoint refused the service account (HTTP 401 invalid_client"),
        "{err}"
    );
    assert!(!err.contains(WRONG) && !stdout(&out).contains(WRONG));
    let stats = sim.stats();
    assert_eq!(
        (stats.requests, stats.token_requests),
        (0, 1),
        "no DELETE at all"
    );
    assert!(records(&path(&d, "r.csv")).is_empty());
    for file in std::fs::read_dir(d.path()).unwrap() {
        let text = std::fs::read_to_string(file.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(WRONG));
    }
}

#[test]
fn sigint_still_revokes_the_token() {
    let keys = keys(400, 4);
    let sim = sim(
        SimConfig {
            latency: Duration::from_millis(20),
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("revoker"));
    cmd.args([
        "run",
        "--base-url",
        sim.base_url(),
        "--concurrency",
        "2",
        "--input",
    ])
    .arg(path(&d, "in.csv"))
    .arg("--report")
    .arg(path(&d, "r.csv"))
    .env_remove("MCLI_PUBLIC_API_KEY")
    .env_remove("MCLI_PRIVATE_API_KEY")
    .env("MONGODB_ATLAS_CLIENT_ID", DEFAULT_CLIENT_ID)
    .env("MONGODB_ATLAS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    .env("XDG_CONFIG_HOME", "/nonexistent/revoker-tests")
    .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while sim.stats().deleted < 20 {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!((stats.token_requests, stats.token_revokes), (1, 1));
}

#[test]
fn the_service_account_wins_and_print_config_says_so() {
    let d = dir();
    let mut cmd = revoker();
    cmd.args(["run", "--input", "x.csv", "--print-config"]);
    let out = with_service_account(cmd)
        .env("MCLI_PUBLIC_API_KEY", "pub")
        .env("MCLI_PRIVATE_API_KEY", "priv")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "# credentials: service account {DEFAULT_CLIENT_ID} (OAuth 2.0 bearer token) from environment (MONGODB_ATLAS_CLIENT_ID, MONGODB_ATLAS_CLIENT_SECRET); the secret is not shown"
        )),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains(DEFAULT_CLIENT_SECRET));
    // Half a pair names the missing variable, mongocli's names too.
    let out = revoker()
        .args(["run", "--input", "x.csv"])
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env("MCLI_CLIENT_ID", DEFAULT_CLIENT_ID)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("MCLI_CLIENT_ID is set but MCLI_CLIENT_SECRET is not"),
        "{}",
        stderr(&out)
    );
    // A credentials file may hold a service account too (and a job file names the file).
    let keys = keys(3, 1);
    let sim = sim(SimConfig::default(), &keys);
    write_csv(&path(&d, "in.csv"), &keys);
    let creds = path(&d, "sa.toml");
    std::fs::write(
        &creds,
        format!(
            "client_id = \"{DEFAULT_CLIENT_ID}\"\nclient_secret = \"{DEFAULT_CLIENT_SECRET}\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        "input = \"in.csv\"\nreport = \"r.csv\"\ncredentials_file = \"sa.toml\"\n",
    )
    .unwrap();
    let out = revoker()
        .arg("run")
        .arg(&job)
        .args(["--base-url", sim.base_url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().token_requests, 1);
}

#[test]
fn neither_the_secret_nor_any_token_appears_anywhere() {
    let keys = keys(40, 4);
    let sim = sim(
        SimConfig {
            token_ttl: Duration::from_secs(1),
            error_rate: 0.2,
            forbid_projects: vec![oid(&keys[1].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let d = dir();
    write_csv(&path(&d, "in.csv"), &keys);
    let mut seen = String::new();
    for extra in [
        &["-vv", "--rate", "30/s"][..],
        &["--log-format", "json", "-vv", "--resume", "--rate", "30/s"],
        &["--print-config"],
    ] {
        let out = with_service_account(run(&sim, &path(&d, "in.csv"), &path(&d, "r.csv"), extra))
            .output()
            .unwrap();
        seen.push_str(&stdout(&out));
        seen.push_str(&stderr(&out));
    }
    let out = revoker()
        .arg("report")
        .arg(path(&d, "r.csv"))
        .args(["-o", "json"])
        .output()
        .unwrap();
    seen.push_str(&stdout(&out));
    let tokens = sim.issued_tokens();
    assert!(tokens.len() >= 2, "{tokens:?}");
    assert!(seen.contains("requests"), "the runs did talk: {seen}");
    assert!(!seen.contains(DEFAULT_CLIENT_SECRET));
    for token in &tokens {
        assert!(
            !seen.contains(token.as_str()),
            "a token leaked into the output"
        );
    }
    for file in std::fs::read_dir(d.path()).unwrap() {
        let file = file.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !text.contains(DEFAULT_CLIENT_SECRET),
            "{} holds the secret",
            file.display()
        );
        for token in &tokens {
            assert!(
                !text.contains(token.as_str()),
                "{} holds a token",
                file.display()
            );
        }
    }
}
