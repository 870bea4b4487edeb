//! `jobs/incident.toml` as shipped, on Atlas with the simulator's buckets published
//! (`GET /rateLimits`): the job sets no rate of its own, so the published buckets pace it from the
//! first request. Rows/s achieved against the rate those buckets allow, and the 429s drawn.

use std::process::{Command, Stdio};
use std::time::Duration;

use revoker::input::Kind;
use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, SimConfig};

use super::{BIN, Bench, Figures, fresh, keys_per_project, run_measured, spawn_sim, write_input};

/// Each project's published bucket: a burst of 10, then 10 a second.
const CAPACITY: f64 = 10.0;
const REFILL: f64 = 10.0;

pub fn incident(b: &Bench) -> Figures {
    let (projects, per) = if b.quick { (10, 20) } else { (50, 100) };
    let config = SimConfig {
        scope_bucket: Some("10:10/s".parse().expect("bucket")),
        publish_limits: true,
        ..SimConfig::default()
    };
    // Atlas has no agent keys: project API keys only.
    let keys: Vec<revoker::input::Target> = keys_per_project(projects, per)
        .into_iter()
        .map(|mut t| {
            t.kind = Kind::ProjectApiKey;
            t
        })
        .collect();
    let sim = spawn_sim(config, keys.clone()).expect("sim");
    let input = b.file("incident.csv");
    write_input(&input, &keys);
    let job = concat!(env!("CARGO_MANIFEST_DIR"), "/../../jobs/incident.toml");
    let report = b.file("incident.report.csv");
    fresh(&report);
    let _ = std::fs::remove_file(b.file("revoker-limits.json"));
    let mut cmd = Command::new(BIN);
    // The verification after the run lists rather than revokes: not part of the pace measured.
    cmd.args(["run", job, "--quiet", "--no-verify", "--base-url"])
        .arg(sim.atlas_url())
        .arg("--input")
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (elapsed, _, code) = run_measured(cmd, Duration::from_secs(300));
    let stats = sim.stats();
    assert!(
        code == 0 && stats.remaining == 0,
        "incident: exit {code}, {stats:?}"
    );
    assert_eq!(
        stats.rate_limit_reads, 1,
        "the published limits were read once"
    );
    // What the buckets allow: each project's burst at once, the rest at the refill rate.
    let ideal = (per as f64 - CAPACITY) / REFILL;
    let allowed = keys.len() as f64 / ideal;
    let achieved = keys.len() as f64 / elapsed.as_secs_f64();
    vec![
        ("rows/s achieved", achieved),
        ("rows/s the API allows", allowed),
        ("achieved / allowed", achieved / allowed),
        ("429s", stats.status(429) as f64),
    ]
}
