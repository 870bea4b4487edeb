//! Starting at the right pace: the buckets Atlas publishes (`GET /rateLimits`), and what the last
//! run learned (`revoker-limits.json` beside the reports), with its expiry, `--forget-limits`, and a
//! corrupt file only a warning.

use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

fn project_keys() -> Vec<Target> {
    keys(30, 2)
        .into_iter()
        .map(|mut t| {
            t.kind = Kind::ProjectApiKey;
            t
        })
        .collect()
}

fn bucket() -> SimConfig {
    SimConfig {
        scope_bucket: Some("5:10/s".parse().unwrap()),
        ..SimConfig::default()
    }
}

/// A run of `rows` at `base`, its report `name` in `d`; answers the 429s it drew.
fn run_at(
    sim: &SimHandle,
    base: &str,
    d: &tempfile::TempDir,
    name: &str,
    extra: &[&str],
) -> (u64, std::process::Output) {
    let input = path(d, &format!("{name}.csv"));
    write_csv(&input, &project_keys());
    let before = sim.stats().status(429);
    let out = revoker()
        .args(["run", "-v", "--base-url", base, "--input"])
        .arg(&input)
        .arg("--report")
        .arg(path(d, &format!("{name}.report.csv")))
        .args(extra)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (sim.stats().status(429) - before, out)
}

#[test]
fn published_limits_pace_the_first_run_from_its_first_request() {
    let config = SimConfig {
        publish_limits: true,
        ..bucket()
    };
    let sim = sim(config, &project_keys());
    let d = dir();
    // Whether a 429 still comes depends on timing alone (the benchmark measures it); what the run
    // starts at does not.
    let (_, out) = run_at(&sim, sim.atlas_url(), &d, "a", &[]);
    assert_eq!(sim.stats().rate_limit_reads, 1);
    assert!(
        stderr(&out).contains(
            "starts at project: 10 per second, capacity 5 (published: credentials_group)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn without_published_limits_the_next_run_starts_where_the_last_one_learned() {
    let sim = sim(bucket(), &project_keys());
    let d = dir();
    let (first, _) = run_at(&sim, sim.base_url(), &d, "a", &[]);
    assert!(first > 0, "unknown limits are learned from 429s");
    let state = path(&d, "revoker-limits.json");
    let text = std::fs::read_to_string(&state).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let entry = &json["entries"][0];
    assert_eq!(
        (
            &entry["scope"],
            &entry["refill_per_second"],
            &entry["capacity"],
            &entry["source"]
        ),
        (
            &serde_json::json!("project"),
            &serde_json::json!(10.0),
            &serde_json::json!(5.0),
            &serde_json::json!("learned")
        )
    );
    assert_eq!(entry["credential"], "API key simpublic");
    // A night later (the buckets full again), the run starts at what the first learned; whether a
    // 429 still comes is timing alone, which the benchmark measures.
    std::thread::sleep(Duration::from_millis(1200));
    let (_, out) = run_at(&sim, sim.base_url(), &d, "b", &[]);
    assert!(
        stderr(&out).contains("starts at project: 10 per second, capacity 5 (learned "),
        "{}",
        stderr(&out)
    );
    // Forgotten, the limits are learned again, from 429s.
    std::thread::sleep(Duration::from_millis(1200));
    let (third, out) = run_at(&sim, sim.base_url(), &d, "c", &["--forget-limits"]);
    assert!(third > 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("forgot the limits of API key simpublic"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_expired_or_corrupt_state_file_is_not_trusted_and_never_an_error() {
    let sim = sim(bucket(), &project_keys());
    let d = dir();
    let state = path(&d, "revoker-limits.json");
    std::fs::write(&state, "{ not json").unwrap();
    let (first, out) = run_at(&sim, sim.base_url(), &d, "a", &[]);
    assert!(first > 0);
    assert!(
        stderr(&out).contains("not a limits file"),
        "{}",
        stderr(&out)
    );
    // An entry learned eight days ago is dropped, not used.
    let old = serde_json::json!({"version": 1, "entries": [{
        "base_url": sim.base_url(), "credential": "API key simpublic", "endpoint_set": "revoke",
        "scope": "project", "refill_per_second": 1000.0, "capacity": 1000.0,
        "learned_at": (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(8 * 24)).to_string(),
        "source": "learned"}]});
    std::fs::write(&state, old.to_string()).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let (second, out) = run_at(&sim, sim.base_url(), &d, "b", &[]);
    assert!(second > 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("starts at"), "{}", stderr(&out));
    let kept = std::fs::read_to_string(&state).unwrap();
    assert!(!kept.contains("1000.0"), "{kept}");
}

#[test]
fn a_remembered_bucket_the_run_never_observed_keeps_its_age_and_expires() {
    // No bucket, no headers: nothing this run sees says anything of the remembered bucket.
    let sim = sim(SimConfig::default(), &project_keys());
    let d = dir();
    let state = path(&d, "revoker-limits.json");
    let learned_at =
        (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(6 * 24)).to_string();
    let old = serde_json::json!({"version": 1, "entries": [{
        "base_url": sim.base_url(), "credential": "API key simpublic", "endpoint_set": "revoke",
        "scope": "project", "refill_per_second": 1000.0, "capacity": 1000.0,
        "learned_at": learned_at, "source": "learned"}]});
    std::fs::write(&state, old.to_string()).unwrap();
    let (throttled, out) = run_at(&sim, sim.base_url(), &d, "a", &[]);
    assert_eq!(throttled, 0);
    assert!(
        stderr(&out).contains("starts at project: 1000 per second"),
        "{}",
        stderr(&out)
    );
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(kept["entries"].as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(
        kept["entries"][0]["learned_at"],
        learned_at.as_str(),
        "{kept}"
    );
}

#[test]
fn with_envelope_the_published_limits_are_asked_and_read_as_an_envelope() {
    // Issue 32.7: `GET /rateLimits` was sent without `envelope=true` but read as an envelope, so
    // the published buckets were never used ("envelope answer is not JSON").
    let config = SimConfig {
        publish_limits: true,
        ..bucket()
    };
    let sim = sim(config, &project_keys());
    let d = dir();
    let (_, out) = run_at(&sim, sim.atlas_url(), &d, "a", &["--envelope"]);
    assert_eq!(sim.stats().rate_limit_reads, 1);
    assert!(
        stderr(&out).contains(
            "starts at project: 10 per second, capacity 5 (published: credentials_group)"
        ),
        "{}",
        stderr(&out)
    );
}

// Issue 34 (wave 7): the line that says what paces a run names the limits it read.
#[test]
fn the_pacing_line_names_the_published_limits_it_starts_at() {
    let config = SimConfig {
        publish_limits: true,
        ..bucket()
    };
    let sim = sim(config, &project_keys());
    let d = dir();
    let input = path(&d, "a.csv");
    write_csv(&input, &project_keys());
    let args = shell_words::join([
        "run",
        "--yes",
        "--base-url",
        sim.atlas_url(),
        "--input",
        &input.display().to_string(),
        "--report",
        &path(&d, "a.report.csv").display().to_string(),
    ]);
    let term = Terminal::start(&on_terminal(&args, "echo finished"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut pane = term.capture();
    while std::time::Instant::now() < deadline && !pane.contains("finished") {
        std::thread::sleep(Duration::from_millis(100));
        pane = term.capture();
    }
    assert!(
        pane.contains(
            "revoker: paced by the API's limits known before the first request (project: 10 per second, capacity 5, published: credentials_group); 429s slow it further"
        ),
        "{pane}"
    );
    assert!(!pane.contains("paced by the API alone"), "{pane}");
}
