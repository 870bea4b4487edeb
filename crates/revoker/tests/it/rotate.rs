//! `revoker rotate` (issue 41): replacements with the old keys' reach, delivered to an age file
//! the stock `age` reads or to a helper's stdin, the old keys revoked at the cutover, verified by
//! listing, and no secret in any file revoker writes in the clear.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use revoker_testkit::rotation::{self, MadeKey, OldKey};
use revoker_testkit::simulator::{Oid, SimConfig, SimHandle};
use revoker_testkit::{dir, have_tool, path};
use serde_json::Value;

/// `n` old keys over 2 organizations of 4 projects: 1 to 4 projects each, 1 to 5 access-list
/// entries (127.0.0.1 among them, so that a use from here shows).
pub(crate) fn old_keys(sim: &SimHandle, n: u32) -> Vec<(OldKey, MadeKey)> {
    (0..n)
        .map(|i| {
            let o = i % 2;
            let key = OldKey {
                org: rotation::org_id(o),
                roles: vec![["ORG_MEMBER", "ORG_READ_ONLY"][i as usize % 2].into()],
                projects: (0..1 + i % 4)
                    .map(|p| {
                        let roles = match p % 3 {
                            0 => vec!["GROUP_OWNER".to_string()],
                            1 => vec![
                                "GROUP_READ_ONLY".into(),
                                "GROUP_DATA_ACCESS_READ_ONLY".into(),
                            ],
                            _ => vec!["GROUP_CLUSTER_MANAGER".into()],
                        };
                        (rotation::project_id(o, p), roles)
                    })
                    .collect(),
                access: std::iter::once("127.0.0.1".to_string())
                    .chain((0..i % 5).map(|a| format!("10.{i}.{a}.0/24")))
                    .collect(),
            };
            let made = rotation::make_key(sim, &key, &format!("service {i}"));
            (key, made)
        })
        .collect()
}

/// The reach a list shows: roles as `(scope, role)` pairs, and the access list.
pub(crate) fn reach(
    sim: &SimHandle,
    org: &Oid,
    key: &Value,
) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let roles = key["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let scope = r["groupId"]
                .as_str()
                .or(r["orgId"].as_str())
                .unwrap_or_default();
            (
                scope.to_string(),
                r["roleName"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let id = key["id"].as_str().unwrap_or_default();
    let access = rotation::access_list(sim, org, id)
        .iter()
        .filter_map(|e| {
            e["cidrBlock"]
                .as_str()
                .or(e["ipAddress"].as_str())
                .map(str::to_string)
        })
        .collect();
    (roles, access)
}

/// Decrypts a delivery file with the stock `age` when it is installed (CI installs it), else with
/// the crate.
fn open_age(file: &Path, identity: &age::x25519::Identity, identity_file: &Path) -> Value {
    use secrecy::ExposeSecret;
    if have_tool("age", "--version") {
        let out = std::process::Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(identity_file)
            .arg(file)
            .output()
            .expect("age");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return serde_json::from_slice(&out.stdout).expect("json");
    }
    let _ = identity.to_string().expose_secret();
    let bytes = std::fs::read(file).expect("read");
    let plain = age::decrypt(identity, &bytes).expect("decrypt");
    serde_json::from_slice(&plain).expect("json")
}

fn identity(dir: &tempfile::TempDir) -> (age::x25519::Identity, std::path::PathBuf, String) {
    use secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let file = path(dir, "identity.txt");
    std::fs::write(&file, format!("{}\n", id.to_string().expose_secret())).expect("identity");
    let public = id.to_public().to_string();
    (id, file, public)
}

/// Every file under `dir` except the age files and the identity: none holds a secret.
pub(crate) fn assert_no_secret_in_clear(dir: &Path, secrets: &[String]) {
    for entry in walk(dir) {
        let name = entry.display().to_string();
        if name.ends_with(".age") || name.ends_with("identity.txt") || name.contains("helper-") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap_or_default()).to_string();
        for s in secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret is in the clear in {name}"
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn after_use_rotates_with_the_same_reach_and_revokes_only_once_the_replacement_is_used() {
    let sim = rotation::world(SimConfig::default(), 2, 4);
    let olds = old_keys(&sim, 20);
    let dir = dir();
    let (id, id_file, recipient) = identity(&dir);
    let input = path(&dir, "keys.csv");
    let report = path(&dir, "rotation.csv");
    rotation::write_input(
        &input,
        &olds
            .iter()
            .map(|(k, m)| (k.org, m.id.clone()))
            .collect::<Vec<_>>(),
    );
    let before: Vec<_> = olds
        .iter()
        .map(|(k, m)| {
            let item = rotation::listed_keys(&sim, &k.org)
                .into_iter()
                .find(|i| i["id"] == m.id.as_str())
                .expect("old listed");
            reach(&sim, &k.org, &item)
        })
        .collect();
    let deliver = format!("age:{recipient}");
    let mut child = rotation::spawn_rotate(
        &sim,
        &input,
        &report,
        &[
            "--deliver",
            &deliver,
            "--cutover",
            "after-use",
            "--poll",
            "100ms",
            "--deadline",
            "2m",
        ],
    );
    wait_until("every delivery", || {
        rotation::age_files(&report).len() == olds.len()
    });
    // Delivered, not yet used: every old key still lives.
    for (k, m) in &olds {
        assert!(
            rotation::listed_keys(&sim, &k.org)
                .iter()
                .any(|i| i["id"] == m.id.as_str()),
            "old key {} revoked before its replacement was used",
            m.id
        );
    }
    let mut secrets: Vec<String> = olds.iter().map(|(_, m)| m.private.clone()).collect();
    for file in rotation::age_files(&report) {
        let doc = open_age(&file, &id, &id_file);
        let org = Oid::parse(doc["scope"].as_str().expect("scope")).expect("org");
        let secret = doc["secret"].as_str().expect("secret").to_string();
        assert_eq!(
            rotation::use_key(&sim, &org, doc["public"].as_str().expect("public"), &secret),
            200
        );
        secrets.push(secret);
    }
    let status = child.wait().expect("wait");
    let stdout = std::io::read_to_string(child.stdout.take().expect("stdout")).unwrap_or_default();
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    for ((k, m), reach_before) in olds.iter().zip(&before) {
        let listed = rotation::listed_keys(&sim, &k.org);
        assert!(
            !listed.iter().any(|i| i["id"] == m.id.as_str()),
            "old key {} still listed",
            m.id
        );
        let new = rotation::replacements(&sim, &k.org, &m.id);
        assert_eq!(new.len(), 1, "one replacement of {}", m.id);
        let (roles, access) = reach(&sim, &k.org, &new[0]);
        assert_eq!(
            (&roles, &access),
            (&reach_before.0, &reach_before.1),
            "reach of {}'s replacement",
            m.id
        );
    }
    assert_eq!(stdout.matches(" verified").count(), olds.len(), "{stdout}");
    assert_no_secret_in_clear(dir.path(), &secrets);
}

#[test]
fn cutover_now_revokes_first_and_hands_the_secret_to_a_helper_that_exits_zero() {
    let sim = rotation::world(SimConfig::default(), 2, 4);
    let olds = old_keys(&sim, 4);
    let dir = dir();
    let input = path(&dir, "keys.csv");
    let report = path(&dir, "rotation.csv");
    rotation::write_input(
        &input,
        &olds
            .iter()
            .map(|(k, m)| (k.org, m.id.clone()))
            .collect::<Vec<_>>(),
    );
    let out = path(&dir, "helper-out");
    std::fs::create_dir(&out).expect("dir");
    let deliver = format!("exec:sh -c 'cat > \"$0\"/$$' {}", out.display());
    let mut child = rotation::spawn_rotate(
        &sim,
        &input,
        &report,
        &["--deliver", &deliver, "--cutover", "now"],
    );
    let status = child.wait().expect("wait");
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let handed: Vec<Value> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| {
            serde_json::from_slice(&std::fs::read(e.expect("entry").path()).expect("read"))
                .expect("json")
        })
        .collect();
    assert_eq!(handed.len(), olds.len());
    let truth = revoker_testkit::truth(&sim);
    for (k, m) in &olds {
        assert!(
            !rotation::listed_keys(&sim, &k.org)
                .iter()
                .any(|i| i["id"] == m.id.as_str())
        );
        let new = rotation::replacements(&sim, &k.org, &m.id);
        assert_eq!(new.len(), 1);
        assert!(
            handed
                .iter()
                .any(|h| h["id"] == new[0]["id"] && h["replaces"] == m.id.as_str())
        );
        // Revoked first: the old key's DELETE came before the replacement existed.
        assert!(
            truth.deletions.iter().any(|d| d.target.key == m.id),
            "{} deleted",
            m.id
        );
    }
    assert!(rotation::age_files(&report).is_empty());
}

#[test]
fn a_helper_that_fails_delivers_nothing_and_the_replacement_is_withdrawn() {
    let sim = rotation::world(SimConfig::default(), 1, 2);
    let olds = old_keys(&sim, 1);
    let dir = dir();
    let input = path(&dir, "keys.csv");
    let report = path(&dir, "rotation.csv");
    let (k, m) = &olds[0];
    rotation::write_input(&input, &[(k.org, m.id.clone())]);
    let mut child = rotation::spawn_rotate(
        &sim,
        &input,
        &report,
        &["--deliver", "exec:false", "--cutover", "after-use"],
    );
    let status = child.wait().expect("wait");
    let stdout = std::io::read_to_string(child.stdout.take().expect("stdout")).unwrap_or_default();
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("stopped: delivery helper false exited with exit status: 1: not delivered; the replacement was withdrawn"), "{stdout}");
    assert!(rotation::replacements(&sim, &k.org, &m.id).is_empty());
    assert!(
        rotation::listed_keys(&sim, &k.org)
            .iter()
            .any(|i| i["id"] == m.id.as_str()),
        "the old key stays"
    );
}

#[test]
fn a_protected_organization_is_refused_before_anything_is_created_or_sent() {
    let sim = rotation::world(SimConfig::default(), 2, 2);
    let olds = old_keys(&sim, 2);
    let dir = dir();
    let input = path(&dir, "keys.csv");
    let report = path(&dir, "rotation.csv");
    rotation::write_input(
        &input,
        &olds
            .iter()
            .map(|(k, m)| (k.org, m.id.clone()))
            .collect::<Vec<_>>(),
    );
    let protected = olds[1].0.org.to_string().to_uppercase();
    let before = revoker_testkit::truth(&sim);
    let mut child = rotation::spawn_rotate(
        &sim,
        &input,
        &report,
        &[
            "--deliver",
            "exec:false",
            "--cutover",
            "now",
            "--protect",
            &protected,
        ],
    );
    let status = child.wait().expect("wait");
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("1 row touches a protected organization or project; nothing was sent"),
        "{stderr}"
    );
    assert!(stderr.contains("row 2: "), "{stderr}");
    let after = revoker_testkit::truth(&sim);
    assert!(after.deletions.is_empty() && after.deletes_sent.is_empty());
    for (k, m) in &olds {
        assert!(rotation::replacements(&sim, &k.org, &m.id).is_empty());
    }
    assert_eq!(before.credentials.len(), after.credentials.len());
}

#[test]
fn the_key_a_rotation_runs_as_is_never_rotated_by_itself() {
    let sim = rotation::world(SimConfig::default(), 1, 2);
    let (k, me) = {
        let key = OldKey {
            org: rotation::org_id(0),
            roles: vec!["ORG_OWNER".into()],
            projects: vec![],
            access: vec!["127.0.0.1".into()],
        };
        let made = rotation::make_key(&sim, &key, "the operator's key");
        (key, made)
    };
    let dir = dir();
    let input = path(&dir, "keys.csv");
    let report = path(&dir, "rotation.csv");
    rotation::write_input(&input, &[(k.org, me.id.clone())]);
    for cutover in ["now", "after-use"] {
        let out = revoker_testkit::clean_command(assert_cmd::cargo::cargo_bin("revoker"))
            .env("MCLI_PUBLIC_API_KEY", &me.public)
            .env("MCLI_PRIVATE_API_KEY", &me.private)
            .args(["rotate", "--base-url", sim.atlas_url(), "--input"])
            .arg(&input)
            .arg("--report")
            .arg(&report)
            .args(["--deliver", "exec:true", "--cutover", cutover])
            .output()
            .expect("rotate");
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{cutover}: {said}");
        assert!(
            said.contains("is the credential this rotation runs as"),
            "{cutover}: {said}"
        );
        assert!(rotation::replacements(&sim, &k.org, &me.id).is_empty());
        assert!(
            rotation::listed_keys(&sim, &k.org)
                .iter()
                .any(|i| i["id"] == me.id.as_str()),
            "{cutover}: the key stays"
        );
    }
}

#[test]
fn a_key_listed_twice_is_rotated_once() {
    let sim = rotation::world(SimConfig::default(), 1, 2);
    let olds = old_keys(&sim, 1);
    let dir = dir();
    let input = path(&dir, "keys.csv");
    let report = path(&dir, "rotation.csv");
    let (k, m) = &olds[0];
    rotation::write_input(
        &input,
        &[(k.org, m.id.clone()), (k.org, m.id.to_uppercase())],
    );
    let mut child = rotation::spawn_rotate(
        &sim,
        &input,
        &report,
        &["--deliver", "exec:true", "--cutover", "now"],
    );
    let status = child.wait().expect("wait");
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("is listed again: rotated once"), "{stderr}");
    assert_eq!(rotation::replacements(&sim, &k.org, &m.id).len(), 1);
}

/// The organization's key list read to check for another rotation's replacement also gives the
/// replacement's reach: one list fewer per key. One key with one project and one access entry,
/// `--cutover now`, costs exactly these requests (401 digest challenges apart).
#[test]
fn rotating_one_key_sends_exactly_its_requests() {
    let sim = rotation::world(SimConfig::default(), 1, 1);
    let olds = old_keys(&sim, 1);
    let dir = dir();
    let input = path(&dir, "keys.csv");
    let report = path(&dir, "rotation.csv");
    let (k, m) = &olds[0];
    rotation::write_input(&input, &[(k.org, m.id.clone())]);
    let before = sim.stats();
    let mut child = rotation::spawn_rotate(
        &sim,
        &input,
        &report,
        &["--deliver", "exec:true", "--cutover", "now"],
    );
    let status = child.wait().expect("wait");
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).unwrap_or_default();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let after = sim.stats();
    let sent = (after.requests - after.challenges) - (before.requests - before.challenges);
    // 12 before the organization's list was shared with the replacement's reach.
    assert_eq!(sent, 11);
}
