//! Shared helpers of the integration tests: a simulator on an ephemeral loopback port, the real
//! binary with credentials in its environment, inputs and reports.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use revoker::input::{Kind, Target};
use revoker::report::{Outcome, Record, read_records};
use revoker::sim::{DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, SimConfig, SimHandle};

pub fn sim(config: SimConfig, keys: &[Target]) -> SimHandle {
    SimHandle::spawn(config, keys.to_vec()).expect("start the simulator")
}

/// `n` keys over `projects` projects, both kinds.
pub fn keys(n: u64, projects: u64) -> Vec<Target> {
    revoker::cli::generate_keys(n, projects)
}

/// Keys that exist nowhere (a prefix no generated key has).
pub fn missing_keys(n: u64, projects: u64) -> Vec<Target> {
    keys(n, projects)
        .into_iter()
        .map(|mut t| {
            let mut b = t.key.bytes();
            b[0] = 0x77;
            t.key = revoker::input::ObjectId::from_bytes(b);
            t
        })
        .collect()
}

pub fn write_csv(path: &Path, rows: &[Target]) {
    revoker::cli::write_keys(path, rows).expect("write input");
}

/// The binary, with the simulator's credentials and nothing else from the environment that could
/// change its behaviour.
pub fn revoker() -> Command {
    let mut cmd = Command::cargo_bin("revoker").expect("binary");
    for var in [
        "MCLI_PUBLIC_API_KEY",
        "MCLI_PRIVATE_API_KEY",
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
        "MCLI_OPS_MANAGER_URL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY);
    cmd
}

/// `revoker run` on `input` against `sim`, writing `report`, with extra `args`.
pub fn run(sim: &SimHandle, input: &Path, report: &Path, args: &[&str]) -> Command {
    let mut cmd = revoker();
    cmd.arg("run")
        .arg("--input")
        .arg(input)
        .arg("--report")
        .arg(report)
        .arg("--base-url")
        .arg(sim.base_url())
        .args(args)
        .timeout(std::time::Duration::from_secs(120));
    cmd
}

pub fn records(report: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    read_records(report, &mut |r| out.push(r)).expect("read report");
    out
}

pub fn count(records: &[Record], outcome: Outcome) -> usize {
    records.iter().filter(|r| r.outcome == outcome).count()
}

pub fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn path(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

pub fn kind_count(rows: &[Target], kind: Kind) -> usize {
    rows.iter().filter(|t| t.kind == kind).count()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
