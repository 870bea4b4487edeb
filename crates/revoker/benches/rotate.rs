//! The rotation scenario (issue 41): 200 organization API keys over 4 organizations, each
//! assigned to 1–20 projects and holding 1–50 access-list entries, rotated at the API's limit
//! (a 200/s user bucket, `--rate 200/s`) with delivery to an age file; then a second world killed
//! (SIGKILL) halfway and resumed. Mixed in: one service-account secret and one AI model key for
//! every 10 keys. Figures: time against the ideal for the requests the run sent, reach
//! differences by listing, duplicate and lost replacements.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use revoker_testkit::rotation::{self, OldKey};
use revoker_testkit::simulator::model::ModelKey;
use revoker_testkit::simulator::{
    Bucket, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY, Kind, Oid, Seed, SimConfig, SimHandle,
};
use serde_json::Value;

use super::{Bench, Figures, run_measured};

const RATE: f64 = 200.0;

/// The secrets and model keys mixed in: (kind, scope, key text, secret text, old id).
type Other = (&'static str, Oid, String, String, String);

fn others(n: u64) -> (Vec<Seed>, Vec<Other>) {
    let (mut seeds, mut out) = (Vec::new(), Vec::new());
    // Ids of their own in every world: the runs share their report's journal, which would take a
    // credential of the same id as verified by an earlier run.
    let tag = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        .to_be_bytes();
    for i in 0..(n / 10) as u8 {
        let org = rotation::org_id(u32::from(i % 4));
        let project = rotation::project_id(u32::from(i % 4), 0);
        let [a, b, c, d] = tag;
        let client = Oid::from_bytes([0xc0, i, a, b, c, d, 0, 0, 0, 0, 0, 1]);
        let secret = Oid::from_bytes([0x5e, i, a, b, c, d, 0, 0, 0, 0, 0, 1]);
        seeds.push(Seed::new(
            Kind::ServiceAccountSecret,
            org,
            client,
            Some(secret),
        ));
        let text = format!("mdb_sa_id_{client}");
        out.push((
            "service-account-secret",
            org,
            text,
            secret.to_string(),
            secret.to_string(),
        ));
        let id = format!(
            "bm{}{i:03}key0000000",
            u32::from_be_bytes(tag) % 100_000_000 + 100_000_000
        );
        let mut m = Seed::model(project, ModelKey::parse(&id).expect("model key"));
        m.meta.org = Some(org);
        seeds.push(m);
        out.push(("ai-model-api-key", project, id.clone(), String::new(), id));
    }
    (seeds, out)
}

fn write_mixed(path: &Path, keys: &[(Oid, String)], others: &[Other]) {
    let mut csv = String::from("kind,scope,key,secret\n");
    for (org, id) in keys {
        csv.push_str(&format!("org-api-key,{org},{id},\n"));
    }
    for o in others {
        csv.push_str(&format!("{},{},{},{}\n", o.0, o.1, o.2, o.3));
    }
    std::fs::write(path, csv).expect("input");
}

/// The mixed-in credentials: (duplicates, lost).
fn judge_others(sim: &SimHandle, others: &[Other]) -> (usize, usize) {
    let (mut dup, mut lost) = (0, 0);
    for o in others {
        let (live, old_live) = match o.0 {
            "ai-model-api-key" => {
                let listed = rotation::listed_model_keys(sim, &o.1);
                let marker = format!("revoker-rotation:{}:", o.4);
                let new = listed
                    .iter()
                    .filter(|k| k["name"].as_str().is_some_and(|n| n.starts_with(&marker)))
                    .count();
                (new, listed.iter().any(|k| k["apiKeyId"] == o.4.as_str()))
            }
            _ => {
                let listed = rotation::listed_secrets(sim, "orgs", &o.1, &o.2);
                let new = listed.iter().filter(|s| s["id"] != o.4.as_str()).count();
                (new, listed.len() > new)
            }
        };
        match live {
            0 => lost += 1,
            1 if old_live => lost += 1,
            1 => {}
            more => dup += more - 1,
        }
    }
    (dup, lost)
}

fn world(n: u64) -> (SimHandle, Vec<(OldKey, String)>, Vec<Other>) {
    let config = SimConfig {
        user_bucket: Some(Bucket::per_minute(RATE as u32 * 60)),
        retry_after: Some(1),
        ..SimConfig::default()
    };
    let (extra, others) = others(n);
    let mut seeds = rotation::world_seeds(4, 20);
    seeds.extend(extra);
    let sim = SimHandle::spawn(config, seeds).expect("start the simulator");
    let olds = (0..n as u32)
        .map(|i| {
            let o = i % 4;
            let key = OldKey {
                org: rotation::org_id(o),
                roles: vec!["ORG_MEMBER".into()],
                projects: (0..1 + (i * 7) % 20)
                    .map(|p| {
                        let role = ["GROUP_OWNER", "GROUP_READ_ONLY", "GROUP_CLUSTER_MANAGER"]
                            [(p % 3) as usize];
                        (rotation::project_id(o, p), vec![role.to_string()])
                    })
                    .collect(),
                access: std::iter::once("127.0.0.1".to_string())
                    .chain((0..(i * 13) % 50).map(|a| format!("10.{}.{a}.0/24", i % 250)))
                    .collect(),
            };
            let made = rotation::make_key(&sim, &key, &format!("service {i}"));
            (key, made.id)
        })
        .collect();
    // A full bucket for the run.
    std::thread::sleep(Duration::from_millis(1500));
    (sim, olds, others)
}

fn rotate_cmd(b: &Bench, sim: &SimHandle, tag: &str, input: &Path) -> Command {
    let identity = age::x25519::Identity::generate();
    let deliver = format!("age:{}", identity.to_public());
    let mut cmd = Command::new(super::BIN);
    cmd.args(["rotate", "--base-url", sim.atlas_url(), "--input"])
        .arg(input)
        .arg("--report")
        .arg(b.file(&format!("{tag}.rotation.csv")))
        .args([
            "--deliver",
            &deliver,
            "--cutover",
            "now",
            "--rate",
            "200/s",
            "--concurrency",
            "32",
        ])
        .env("MCLI_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MCLI_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env("HOME", "/nonexistent")
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The roles and access list a list shows of a key.
fn reach(
    sim: &SimHandle,
    org: &revoker_testkit::simulator::Oid,
    key: &Value,
) -> (Vec<String>, Vec<String>) {
    let mut roles: Vec<String> = key["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}{}:{}",
                r["groupId"].as_str().unwrap_or(""),
                r["orgId"].as_str().unwrap_or(""),
                r["roleName"].as_str().unwrap_or("")
            )
        })
        .collect();
    roles.sort();
    let mut access: Vec<String> = rotation::access_list(sim, org, key["id"].as_str().unwrap_or(""))
        .iter()
        .filter_map(|e| {
            e["cidrBlock"]
                .as_str()
                .or(e["ipAddress"].as_str())
                .map(str::to_string)
        })
        .collect();
    access.sort();
    (roles, access)
}

fn expected(key: &OldKey) -> (Vec<String>, Vec<String>) {
    let mut roles: Vec<String> = key
        .roles
        .iter()
        .map(|r| format!("{}:{r}", key.org))
        .collect();
    for (p, rs) in &key.projects {
        roles.extend(rs.iter().map(|r| format!("{p}:{r}")));
    }
    roles.sort();
    let mut access = key.access.clone();
    access.sort();
    (roles, access)
}

/// Replacements per old key: (differences in reach, duplicates, lost).
fn judge(sim: &SimHandle, olds: &[(OldKey, String)]) -> (usize, usize, usize) {
    let (mut differ, mut dup, mut lost) = (0, 0, 0);
    for org in 0..4 {
        let org = rotation::org_id(org);
        let listed = rotation::listed_keys(sim, &org);
        for (key, old) in olds.iter().filter(|(k, _)| k.org == org) {
            let prefix = format!("revoker-rotation:{old}:");
            let new: Vec<&Value> = listed
                .iter()
                .filter(|k| k["desc"].as_str().is_some_and(|d| d.starts_with(&prefix)))
                .collect();
            let old_live = listed.iter().any(|k| k["id"] == old.as_str());
            match new.len() {
                0 => lost += 1,
                1 if old_live => lost += 1,
                1 => differ += usize::from(reach(sim, &org, new[0]) != expected(key)),
                _ => dup += new.len() - 1,
            }
        }
    }
    (differ, dup, lost)
}

pub(super) fn rotate(b: &Bench) -> Figures {
    let n = b.size(200, 20);
    let (sim, olds, others) = world(n);
    let input = b.file("rot.csv");
    let rows: Vec<_> = olds.iter().map(|(k, id)| (k.org, id.clone())).collect();
    write_mixed(&input, &rows, &others);
    let before = sim.stats();
    let (elapsed, _, code) = run_measured(
        rotate_cmd(b, &sim, "timed", &input),
        Duration::from_secs(300),
    );
    assert_eq!(code, 0);
    let after = sim.stats();
    let sent = (after.requests - after.challenges) - (before.requests - before.challenges);
    let throttled = after.status(429) - before.status(429);
    let (differ, dup, lost) = judge(&sim, &olds);
    let (other_dup, other_lost) = judge_others(&sim, &others);
    let (dup, lost) = (dup + other_dup, lost + other_lost);
    drop(sim);
    let (killed_dup, killed_lost) = kill_and_resume(b, n);
    vec![
        (
            "wall / ideal (requests / 200/s)",
            elapsed.as_secs_f64() / (sent as f64 / RATE),
        ),
        (
            "credentials (keys + secrets + model keys)",
            (n as usize + others.len()) as f64,
        ),
        ("requests sent", sent as f64),
        ("429s", throttled as f64),
        ("reach differences", differ as f64),
        ("dup + lost (straight run)", (dup + lost) as f64),
        (
            "dup + lost after kill -9 + resume",
            (killed_dup + killed_lost) as f64,
        ),
    ]
}

fn kill_and_resume(b: &Bench, n: u64) -> (usize, usize) {
    let (sim, olds, others) = world(n);
    let input = b.file("rot-kill.csv");
    let rows: Vec<_> = olds.iter().map(|(k, id)| (k.org, id.clone())).collect();
    write_mixed(&input, &rows, &others);
    let report = b.file("killed.rotation.csv");
    let journal = revoker::rotate::journal::path_for(&report);
    let lines = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let mut child = rotate_cmd(b, &sim, "killed", &input)
        .spawn()
        .expect("start revoker");
    // Halfway through its journal (about 8 lines a key).
    while lines() < n as usize * 4 && child.try_wait().expect("wait").is_none() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (_, _, code) = run_measured(
        rotate_cmd(b, &sim, "killed", &input),
        Duration::from_secs(300),
    );
    assert_eq!(code, 0);
    let (_, dup, lost) = judge(&sim, &olds);
    let (other_dup, other_lost) = judge_others(&sim, &others);
    (dup + other_dup, lost + other_lost)
}
