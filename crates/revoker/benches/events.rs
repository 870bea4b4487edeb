//! Issue 40: `revoker sweep` over 100,000 events of 40 benign actors over 30 days, among which 4
//! compromised credentials created 19 artifacts (17 revocable, 2 for the hand-over list).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use revoker_testkit::events::{sim, trail};
use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY};

use super::{BIN, Bench, Figures};

/// The sweep's wall time, what it found, and its requests against the bound.
pub fn sweep(b: &Bench) -> Figures {
    let events = b.size(100_000, 5_000) as usize;
    let t = trail(events, 30, jiff::Timestamp::now().as_millisecond());
    let sim = sim(&t);
    let input = b.file("compromised.csv");
    let followup = b.file("followup.csv");
    for suffix in ["", ".handover.csv"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", followup.display()));
    }
    revoker_testkit::write_csv(&input, &t.compromised);
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["sweep", "--base-url", sim.atlas_url(), "-o", "json"])
        .arg("--input")
        .arg(&input)
        .arg("--write")
        .arg(&followup)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stderr(Stdio::inherit())
        .output()
        .expect("sweep");
    let wall = started.elapsed();
    assert!(out.status.success(), "sweep exited {:?}", out.status.code());
    assert!(wall < Duration::from_secs(300), "past its bound");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let listed = std::fs::read_to_string(&followup)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0);
    let expected: Vec<String> = t.artifacts.iter().map(|(t, _)| t.to_string()).collect();
    let found = json["sweep"]["artifacts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| {
                    let t = &x["target"];
                    expected.iter().any(|e| {
                        e.contains(t["key"].as_str().unwrap_or("?"))
                            && e.starts_with(t["kind"].as_str().unwrap_or("?"))
                    })
                })
                .count()
        })
        .unwrap_or(0);
    let handover = json["sweep"]["handover"].as_array().map_or(0, Vec::len);
    let mut per_scope: std::collections::HashMap<String, u64> = Default::default();
    for e in &t.events {
        let scope = e.group_id.clone().or(e.org_id.clone()).unwrap_or_default();
        *per_scope.entry(scope).or_default() += 1;
    }
    let bound: u64 = per_scope.values().map(|n| n.div_ceil(500) + 1).sum();
    let requests = json["sweep"]["requests"].as_f64().unwrap_or(f64::MAX);
    vec![
        ("wall s", wall.as_secs_f64()),
        ("artifacts found of 19", (found + handover) as f64),
        (
            "false positives",
            (listed.saturating_sub(found) + handover.saturating_sub(2)) as f64,
        ),
        ("requests / bound", requests / bound as f64),
    ]
}
