//! `revoker census` of one organization with 10,000 projects (one project API key each, AI model
//! keys and MCP secrets here and there), on Atlas: one request per list page, and peak RSS.

use std::process::{Command, Stdio};
use std::time::Duration;

use revoker::input::{Kind, ObjectId, Target};
use revoker_testkit::simulator::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, SimConfig, SimHandle};

use super::{BIN, Bench, Figures, run_measured};

const ORG: &str = "3a37dfe702393e0fa6c8bbc2";

pub fn census(b: &Bench) -> Figures {
    let projects = b.size(10_000, 200);
    let org = revoker_testkit::simulator::Oid::parse(ORG).expect("an id");
    let id = |prefix: u32, n: u64| {
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&prefix.to_be_bytes());
        bytes[4..].copy_from_slice(&n.to_be_bytes());
        ObjectId::from_bytes(bytes)
    };
    // One project API key in each project (so that the project exists).
    let mut rows: Vec<Target> = (0..projects)
        .map(|p| Target {
            kind: Kind::ProjectApiKey,
            scope: id(0x5e00_0000, p),
            key: id(0x6a00_0000, p),
            secret: None,
        })
        .collect();
    // Every hundredth project has an MCP configuration with a secret.
    for p in (0..projects).step_by(100) {
        let p: u64 = p;
        rows.push(Target {
            kind: Kind::ProjectMcpSecret,
            scope: id(0x5e00_0000, p),
            key: id(0x4d00_0000, p),
            secret: Some(ObjectId::from_bytes([0x5d; 12])),
        });
    }
    let seeds: Vec<_> = rows
        .iter()
        .map(|t| {
            let mut s = revoker_testkit::seed(t);
            s.meta.org = Some(org);
            s
        })
        .collect();
    let sim = SimHandle::spawn(SimConfig::default(), seeds).expect("sim");
    let out = b.file("census.csv");
    let _ = std::fs::remove_file(&out);
    let mut cmd = Command::new(BIN);
    cmd.args(["census", "--base-url", sim.atlas_url()])
        .args(["--org", ORG, "--every-project", "--write"])
        .arg(&out)
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env_remove("MCLI_OPS_MANAGER_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (elapsed, rss, code) = run_measured(cmd, Duration::from_secs(600));
    assert_eq!(code, 0, "the census could not list everything");
    let stats = sim.stats();
    assert_eq!(stats.deletes, 0, "a census sent a DELETE");
    let listed = std::fs::read_to_string(&out).map_or(0, |t| t.lines().count().saturating_sub(1));
    assert_eq!(listed, rows.len(), "every credential listed once");
    // Organization: keys, service accounts twice, MCP configurations, project pages; per
    // project: keys, assignments twice, AI model keys, MCP configurations, database users; per
    // configuration its secrets; one digest challenge.
    let pages = projects.div_ceil(500);
    let configs = projects.div_ceil(100);
    let expected = 4 + pages + 6 * projects + configs + 1;
    vec![
        ("census s", elapsed.as_secs_f64()),
        ("requests", stats.requests as f64),
        (
            "requests over one per page",
            stats.requests as f64 - expected as f64,
        ),
        ("projects", projects as f64),
        ("objects listed", listed as f64),
        ("census peak RSS MB", rss),
    ]
}
