//! Findings in (issue 39): a corpus of 1,000 findings in the five scanner formats and plain
//! values — duplicates, documented test keys, expired secrets, an organization the run does not
//! read, an ambiguous private key, values that are not MongoDB's — resolved with `revoker resolve`.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Instant;

use revoker_testkit::findings::corpus;
use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, SimConfig, SimHandle};

use super::{BIN, Bench, Figures};

pub fn findings(b: &Bench) -> Figures {
    let c = corpus(b.size(1000, 200) as usize);
    let sim = SimHandle::spawn(SimConfig::default(), c.seeds.clone()).expect("sim");
    let dir = tempfile::tempdir_in(b.dir.path()).expect("dir");
    let files = c.write(dir.path());
    let started = Instant::now();
    let out = Command::new(BIN)
        .arg("resolve")
        .args(&files)
        .args(c.org_args("--org"))
        .args(["--base-url", sim.atlas_url(), "-o", "json"])
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stderr(Stdio::null())
        .output()
        .expect("resolve");
    let elapsed = started.elapsed();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("resolve -o json");
    let r = &json["resolution"];
    let got: BTreeSet<String> = r["resolved"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["target"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let right = got.intersection(&c.expected).count();
    let named = r["unresolved"].as_array().map_or(0, Vec::len)
        + r["resolved"].as_array().map_or(0, Vec::len);
    // One page per organization and list (keys, accounts, projects), one per project for AI keys,
    // and (allowed, not needed here) one per service account.
    let allowed = (c.visible.len() * 3 + c.projects + c.accounts) as f64;
    vec![
        ("findings", c.findings as f64),
        (
            "resolved % of live visible",
            right as f64 * 100.0 / c.expected.len() as f64,
        ),
        ("wrong credentials", (got.len() - right) as f64),
        ("findings not named", c.unique.saturating_sub(named) as f64),
        (
            "list requests / allowed",
            sim.stats().lists as f64 / allowed,
        ),
        ("wall s", elapsed.as_secs_f64()),
    ]
}
