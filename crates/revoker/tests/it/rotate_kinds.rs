//! `revoker rotate` of the kinds beyond organization API keys (issue 41): service-account secrets
//! of organizations and projects, AI model keys; the secrets' limit; a hostile list; a crashed
//! run's unmarked secret found by listing; the journal's cutover when the deadline passed; a
//! key without an organization role under `--cutover now`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use revoker_testkit::rotation::{self, OldKey};
use revoker_testkit::simulator::model::ModelKey;
use revoker_testkit::simulator::{Kind, Oid, Seed, SimConfig, SimHandle};
use revoker_testkit::{dir, path};
use serde_json::Value;

fn oid(tag: u8, n: u8) -> Oid {
    let mut b = [tag; 12];
    b[11] = n;
    Oid::from_bytes(b)
}

fn client_text(client: &Oid) -> String {
    format!("mdb_sa_id_{client}")
}

/// A world of one organization (two projects) with: an organization service account holding one
/// secret, a project service account holding one, an account at the secrets' limit, a model key.
struct World {
    sim: SimHandle,
    org: Oid,
    project: Oid,
    org_client: Oid,
    org_secret: Oid,
    project_client: Oid,
    project_secret: Oid,
    full_client: Oid,
    full_secret: Oid,
    model: String,
}

fn world(config: SimConfig) -> World {
    let org = rotation::org_id(0);
    let project = rotation::project_id(0, 0);
    let (org_client, org_secret) = (oid(0xc1, 1), oid(0x51, 1));
    let (project_client, project_secret) = (oid(0xc2, 1), oid(0x52, 1));
    let (full_client, full_secret) = (oid(0xc3, 1), oid(0x53, 1));
    let model = "a86r5kwrfsk5r5ku5tgvhmpj".to_string();
    let mut seeds = rotation::world_seeds(1, 2);
    let dated = |mut s: Seed| {
        s.meta.created = Some(1_767_225_600);
        s.meta.expires = Some(1_767_225_600 + 30 * 24 * 3600);
        s
    };
    seeds.push(dated(Seed::new(
        Kind::ServiceAccountSecret,
        org,
        org_client,
        Some(org_secret),
    )));
    let mut p = dated(Seed::new(
        Kind::ProjectServiceAccountSecret,
        project,
        project_client,
        Some(project_secret),
    ));
    p.meta.org = Some(org);
    seeds.push(p);
    for n in [1, 2] {
        seeds.push(dated(Seed::new(
            Kind::ServiceAccountSecret,
            org,
            full_client,
            Some(oid(0x53, n)),
        )));
    }
    let mut m = Seed::model(project, ModelKey::parse(&model).expect("model key"));
    m.meta.org = Some(org);
    seeds.push(m);
    World {
        sim: SimHandle::spawn(config, seeds).expect("simulator"),
        org,
        project,
        org_client,
        org_secret,
        project_client,
        project_secret,
        full_client,
        full_secret,
        model,
    }
}

fn write(path: &Path, rows: &[String]) {
    let mut csv = String::from("kind,scope,key,secret\n");
    for r in rows {
        csv.push_str(r);
        csv.push('\n');
    }
    std::fs::write(path, csv).expect("input");
}

/// A rotation's files: its input of `rows` (after the header) and its report, in a directory of
/// their own.
struct Run {
    dir: tempfile::TempDir,
    input: PathBuf,
    report: PathBuf,
}

impl Run {
    fn new(rows: &[String]) -> Run {
        let dir = dir();
        let (input, report) = (path(&dir, "in.csv"), path(&dir, "rotation.csv"));
        write(&input, rows);
        Run { dir, input, report }
    }

    /// A delivery that writes each handed document to a file of `helper-out`: (that directory,
    /// the `--deliver` value).
    fn delivery(&self) -> (PathBuf, String) {
        let out = path(&self.dir, "helper-out");
        std::fs::create_dir(&out).expect("dir");
        let deliver = format!("exec:sh -c 'cat > \"$0\"/$$' {}", out.display());
        (out, deliver)
    }

    /// `revoker rotate` of the input with `args`, left running.
    fn spawn(&self, sim: &SimHandle, args: &[&str]) -> std::process::Child {
        rotation::spawn_rotate(sim, &self.input, &self.report, args)
    }

    /// `revoker rotate` of the input with `args`, run to its end: exit code, stdout, stderr.
    fn finish(&self, sim: &SimHandle, args: &[&str]) -> (Option<i32>, String, String) {
        finish(self.spawn(sim, args))
    }
}

/// `--cutover now`, delivered nowhere.
const NOW: &[&str] = &["--deliver", "exec:true", "--cutover", "now"];

fn org_key_row(org: &Oid, id: &str) -> String {
    format!("org-api-key,{org},{id},")
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

fn finish(mut child: std::process::Child) -> (Option<i32>, String, String) {
    let status = child.wait().expect("wait");
    let stdout = std::io::read_to_string(child.stdout.take().expect("stdout")).unwrap_or_default();
    let stderr = std::io::read_to_string(child.stderr.take().expect("stderr")).unwrap_or_default();
    (status.code(), stdout, stderr)
}

fn handed(out: &Path) -> Vec<Value> {
    std::fs::read_dir(out)
        .map(|d| {
            d.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                .filter_map(|b| serde_json::from_slice(&b).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn journal_steps(report: &Path, old: &str) -> Vec<(String, String)> {
    let mut p = report.as_os_str().to_owned();
    p.push(".rotate.jsonl");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["old"] == old)
        .map(|l| {
            (
                l["step"].as_str().unwrap_or_default().to_string(),
                l["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn ids(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| i[field].as_str().map(str::to_string))
        .collect()
}

#[test]
fn secrets_of_organization_and_project_accounts_and_a_model_key_rotate_after_use() {
    let w = world(SimConfig::default());
    let run = Run::new(&[
        format!(
            "service-account-secret,{},{},{}",
            w.org,
            client_text(&w.org_client),
            w.org_secret
        ),
        format!(
            "project-service-account-secret,{},{},{}",
            w.project,
            client_text(&w.project_client),
            w.project_secret
        ),
        format!("ai-model-api-key,{},{},", w.project, w.model),
    ]);
    let (out, deliver) = run.delivery();
    let child = run.spawn(
        &w.sim,
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
    wait_until("three deliveries", || handed(&out).len() == 3);
    // Delivered, not yet used: every old credential lives.
    let org_secrets = ids(
        &rotation::listed_secrets(&w.sim, "orgs", &w.org, &client_text(&w.org_client)),
        "id",
    );
    assert!(
        org_secrets.contains(&w.org_secret.to_string()),
        "{org_secrets:?}"
    );
    assert!(ids(&rotation::listed_model_keys(&w.sim, &w.project), "apiKeyId").contains(&w.model));
    let mut secrets = Vec::new();
    for doc in handed(&out) {
        let secret = doc["secret"].as_str().expect("secret").to_string();
        let status = match doc["kind"].as_str() {
            Some("ai-model-api-key") => rotation::use_model_key(&w.sim, &secret),
            _ => rotation::use_secret(&w.sim, doc["public"].as_str().expect("client"), &secret),
        };
        assert_eq!(status, 200, "{doc}");
        secrets.push(secret);
    }
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches(" verified").count(), 3, "{stdout}");
    let org_now = rotation::listed_secrets(&w.sim, "orgs", &w.org, &client_text(&w.org_client));
    assert_eq!(org_now.len(), 1, "{org_now:?}");
    assert_ne!(org_now[0]["id"], w.org_secret.to_string().as_str());
    let project_now = rotation::listed_secrets(
        &w.sim,
        "groups",
        &w.project,
        &client_text(&w.project_client),
    );
    assert_eq!(project_now.len(), 1, "{project_now:?}");
    assert_ne!(project_now[0]["id"], w.project_secret.to_string().as_str());
    let models = rotation::listed_model_keys(&w.sim, &w.project);
    assert_eq!(models.len(), 1, "{models:?}");
    assert_ne!(models[0]["apiKeyId"], w.model.as_str());
    assert_eq!(
        (&models[0]["cloud"], &models[0]["geography"]),
        (&"ANY".into(), &"ANY".into())
    );
    for old in [
        w.org_secret.to_string(),
        w.project_secret.to_string(),
        w.model.clone(),
    ] {
        let steps = journal_steps(&run.report, &old);
        assert!(
            steps
                .iter()
                .any(|(s, m)| s == "in_use" && m == "the replacement is in use"),
            "{old}: {steps:?}"
        );
    }
    crate::rotate::assert_no_secret_in_clear(run.dir.path(), &secrets);
}

#[test]
fn an_account_at_its_secrets_limit_stops_naming_the_limit_and_creates_nothing() {
    let w = world(SimConfig::default());
    let client = client_text(&w.full_client);
    let run = Run::new(&[format!(
        "service-account-secret,{},{client},{}",
        w.org, w.full_secret
    )]);
    let (code, stdout, _) = run.finish(
        &w.sim,
        &["--deliver", "exec:true", "--cutover", "after-use"],
    );
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "service account {client} already holds 2 secrets and Atlas keeps at most 2"
        )),
        "{stdout}"
    );
    assert_eq!(
        rotation::listed_secrets(&w.sim, "orgs", &w.org, &client).len(),
        2
    );
    assert!(revoker_testkit::truth(&w.sim).deletions.is_empty());
}

/// A run journaled `creating` (with the lifetime it chose, `hours`), then a secret of
/// `lifetime` hours was made (by that run, or by someone else) and the run died; a resume with
/// `--cutover now`. Answers the exit code, the account's secrets after, the old and the made one.
fn resume_after_a_secret_appeared(
    hours: Option<i64>,
    lifetime: i64,
) -> (Option<i32>, Vec<String>, String, String, String) {
    let w = world(SimConfig::default());
    let client = client_text(&w.org_client);
    let old = w.org_secret.to_string();
    let run = Run::new(&[format!("service-account-secret,{},{client},{old}", w.org)]);
    let mut creating = serde_json::json!({
        "run": "crashed", "at": "2026-12-01T00:00:00Z", "kind": "service-account-secret",
        "scope": w.org.to_string(), "old": old, "step": "creating", "before": [old],
    });
    if let Some(h) = hours {
        creating["hours"] = h.into();
    }
    let mut journal = run.report.as_os_str().to_owned();
    journal.push(".rotate.jsonl");
    std::fs::write(&journal, format!("{creating}\n")).expect("journal");
    let url = format!(
        "{}/orgs/{}/serviceAccounts/{client}/secrets",
        w.sim.atlas_url(),
        w.org
    );
    let (status, body) = rotation::request_as(
        "POST",
        &url,
        rotation::SERVICE_ACCOUNTS,
        Some(serde_json::json!({"secretExpiresAfterHours": lifetime})),
    );
    assert_eq!(status, 201, "{body}");
    let made: Value = serde_json::from_str(&body).expect("json");
    let made = made["id"].as_str().expect("id").to_string();
    let (code, stdout, stderr) = run.finish(&w.sim, NOW);
    let now = ids(
        &rotation::listed_secrets(&w.sim, "orgs", &w.org, &client),
        "id",
    );
    (code, now, old, made, format!("{stdout}\n{stderr}"))
}

#[test]
fn a_secret_a_crashed_run_made_is_found_by_listing_and_withdrawn_before_another_is_made() {
    let (code, now, old, lost, out) = resume_after_a_secret_appeared(Some(24), 24);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(!now.contains(&lost) && !now.contains(&old), "{now:?}");
}

#[test]
fn a_secret_someone_else_made_after_a_crash_is_never_deleted() {
    // Made in the window, not listed at `creating`, but not with the lifetime the run chose.
    let (code, now, old, theirs, out) = resume_after_a_secret_appeared(Some(23), 24);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(now.len(), 2, "{now:?}");
    assert!(now.contains(&theirs) && !now.contains(&old), "{now:?}");
    // A journal of an earlier version (no lifetime): nothing is taken for the run's own.
    let (code, now, _, theirs, out) = resume_after_a_secret_appeared(None, 24);
    assert_eq!(code, Some(0), "{out}");
    assert!(now.contains(&theirs), "{now:?}");
}

#[test]
fn a_list_whose_total_count_never_comes_true_stops_a_rotation_with_a_named_error() {
    let config = SimConfig {
        list_fault: Some(revoker_testkit::simulator::ListFault::TotalCountHigh),
        ..SimConfig::default()
    };
    let sim = rotation::world(config, 1, 1);
    let key = OldKey {
        org: rotation::org_id(0),
        roles: vec!["ORG_MEMBER".into()],
        projects: vec![],
        access: vec!["127.0.0.1".into()],
    };
    let made = rotation::make_key(&sim, &key, "service");
    let run = Run::new(&[org_key_row(&key.org, &made.id)]);
    let (code, stdout, _) = run.finish(&sim, NOW);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("items totalCount counts were listed"),
        "{stdout}"
    );
    assert!(revoker_testkit::truth(&sim).deletions.is_empty());
}

#[test]
fn cutover_now_never_revokes_first_a_key_without_an_organization_role() {
    let org = rotation::org_id(0);
    let key = oid(0x4b, 7);
    let mut seeds = rotation::world_seeds(1, 1);
    seeds.push(Seed::new(Kind::OrgApiKey, org, key, None));
    let sim = SimHandle::spawn(SimConfig::default(), seeds).expect("simulator");
    let run = Run::new(&[org_key_row(&org, &key.to_string())]);
    let (code, stdout, _) = run.finish(&sim, NOW);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("has no organization role"), "{stdout}");
    assert!(stdout.contains("nothing was revoked"), "{stdout}");
    assert!(revoker_testkit::truth(&sim).deletions.is_empty());
    assert!(
        rotation::listed_keys(&sim, &org)
            .iter()
            .any(|i| i["id"] == key.to_string().as_str())
    );
}

#[test]
fn when_the_deadline_passes_the_journal_records_a_cutover_not_a_use() {
    let sim = rotation::world(SimConfig::default(), 1, 1);
    let key = OldKey {
        org: rotation::org_id(0),
        roles: vec!["ORG_MEMBER".into()],
        projects: vec![],
        access: vec!["127.0.0.1".into()],
    };
    let made = rotation::make_key(&sim, &key, "service");
    let run = Run::new(&[org_key_row(&key.org, &made.id)]);
    let (code, stdout, stderr) = run.finish(
        &sim,
        &[
            "--deliver",
            "exec:true",
            "--cutover",
            "after-use",
            "--poll",
            "100ms",
            "--deadline",
            "1s",
        ],
    );
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let steps = journal_steps(&run.report, &made.id);
    assert!(!steps.iter().any(|(s, _)| s == "in_use"), "{steps:?}");
    assert!(
        steps
            .iter()
            .any(|(s, m)| s == "cut_over"
                && m == "deadline reached before the replacement showed use"),
        "{steps:?}"
    );
}

fn agent_keys(sim: &SimHandle, project: &Oid) -> Vec<Value> {
    let url = format!("{}/groups/{project}/agentapikeys", sim.base_url());
    let credential = (
        revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
        revoker_testkit::simulator::DEFAULT_PRIVATE_KEY,
    );
    let (status, body) = rotation::request("GET", &url, credential, None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

#[test]
fn an_agent_key_rotates_through_cloud_manager_at_its_cutover_and_never_after_use() {
    let project = rotation::project_id(0, 0);
    let old = oid(0xa9, 1);
    let mut seeds = rotation::world_seeds(1, 1);
    let mut s = Seed::new(Kind::AgentApiKey, project, old, None);
    s.meta.org = Some(rotation::org_id(0));
    seeds.push(s);
    let sim = SimHandle::spawn(SimConfig::default(), seeds).expect("simulator");
    let run = Run::new(&[format!("agent-api-key,{project},{old},")]);
    let (out, deliver) = run.delivery();
    let rotate = |cutover: &str| {
        revoker_testkit::clean_command(assert_cmd::cargo::cargo_bin("revoker"))
            .args(["rotate", "--base-url", sim.base_url(), "--input"])
            .arg(&run.input)
            .arg("--report")
            .arg(&run.report)
            .args(["--deliver", &deliver, "--cutover", cutover])
            .output()
            .expect("rotate")
    };
    let refused = rotate("after-use");
    let said = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{said}");
    assert!(said.contains("shows no use of an agent key"), "{said}");
    assert_eq!(agent_keys(&sim, &project).len(), 1);
    let done = rotate("now");
    let said = String::from_utf8_lossy(&done.stdout);
    assert_eq!(
        done.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let keys = agent_keys(&sim, &project);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_ne!(keys[0]["_id"], old.to_string().as_str());
    let marker = format!("revoker-rotation:{old}:");
    assert!(
        keys[0]["desc"]
            .as_str()
            .is_some_and(|d| d.starts_with(&marker)),
        "{keys:?}"
    );
    let handed = handed(&out);
    assert_eq!(handed.len(), 1);
    assert_eq!(handed[0]["kind"], "agent-api-key");
    assert_eq!(handed[0]["id"], keys[0]["_id"]);
}

#[test]
fn a_job_files_rotate_section_rotates_without_flags() {
    let sim = rotation::world(SimConfig::default(), 1, 1);
    let key = OldKey {
        org: rotation::org_id(0),
        roles: vec!["ORG_MEMBER".into()],
        projects: vec![(rotation::project_id(0, 0), vec!["GROUP_READ_ONLY".into()])],
        access: vec!["127.0.0.1".into()],
    };
    let made = rotation::make_key(&sim, &key, "service");
    let dir = dir();
    let jobs = path(&dir, "jobs");
    std::fs::create_dir(&jobs).expect("jobs");
    rotation::write_input(&jobs.join("keys.csv"), &[(key.org, made.id.clone())]);
    let job = jobs.join("rotate.toml");
    std::fs::write(
        &job,
        "[rotate]\ninput = \"keys.csv\"\ndeliver = \"exec:true\"\ncutover = \"now\"\nreport = \"rotation.csv\"\n",
    )
    .expect("job");
    let out = revoker_testkit::clean_command(assert_cmd::cargo::cargo_bin("revoker"))
        .args(["rotate", "--base-url", sim.atlas_url(), "--job"])
        .arg(&job)
        .output()
        .expect("rotate");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(" verified"), "{said}");
    assert_eq!(rotation::replacements(&sim, &key.org, &made.id).len(), 1);
    assert!(jobs.join("rotation.csv").exists() && jobs.join("rotation.csv.rotate.jsonl").exists());
    assert!(
        !rotation::listed_keys(&sim, &key.org)
            .iter()
            .any(|i| i["id"] == made.id.as_str())
    );
}

/// Shrunk from `invariant_rotation_never_doubles_a_replacement_nor_revokes_before_delivery`
/// (n = 1, kill_after = 3, --cutover now, a model key): killed after the old model key's DELETE
/// but before the journal said so, the resume found it unlisted and stopped the row.
#[test]
fn a_resume_after_an_unjournaled_revocation_first_of_a_model_key_finishes() {
    let w = world(SimConfig::default());
    let run = Run::new(&[format!("ai-model-api-key,{},{},", w.project, w.model)]);
    let planned = serde_json::json!({
        "run": "crashed", "at": "2026-12-01T00:00:00Z", "kind": "ai-model-api-key",
        "scope": w.project.to_string(), "old": w.model, "step": "planned",
        "reach": {"org_roles": [], "projects": {}, "access": [], "attributes": ["cloud ANY", "geography ANY"]},
    });
    let mut journal = run.report.as_os_str().to_owned();
    journal.push(".rotate.jsonl");
    std::fs::write(&journal, format!("{planned}\n")).expect("journal");
    let url = format!(
        "{}/groups/{}/aiModelApiKeys/{}",
        w.sim.atlas_url(),
        w.project,
        w.model
    );
    let (status, body) = rotation::request_as("DELETE", &url, rotation::AI_MODELS, None);
    assert!(status / 100 == 2, "{status} {body}");
    let (code, stdout, stderr) = run.finish(&w.sim, NOW);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let models = rotation::listed_model_keys(&w.sim, &w.project);
    assert_eq!(models.len(), 1, "{models:?}");
    assert_ne!(models[0]["apiKeyId"], w.model.as_str());
}

#[test]
fn a_replacement_withdrawn_while_waiting_leaves_the_old_secret_live() {
    let w = world(SimConfig::default());
    let client = client_text(&w.org_client);
    let old = w.org_secret.to_string();
    let run = Run::new(&[format!("service-account-secret,{},{client},{old}", w.org)]);
    let (out, deliver) = run.delivery();
    let child = run.spawn(
        &w.sim,
        &[
            "--deliver",
            &deliver,
            "--cutover",
            "after-use",
            "--poll",
            "100ms",
            "--deadline",
            "3s",
        ],
    );
    wait_until("the delivery", || handed(&out).len() == 1);
    let new = rotation::listed_secrets(&w.sim, "orgs", &w.org, &client)
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .find(|id| *id != old)
        .expect("the replacement is listed");
    // Someone withdraws the replacement before the cutover.
    let url = format!(
        "{}/orgs/{}/serviceAccounts/{client}/secrets/{new}",
        w.sim.atlas_url(),
        w.org
    );
    let (status, body) = rotation::request_as("DELETE", &url, rotation::SERVICE_ACCOUNTS, None);
    assert_eq!(status, 204, "{body}");
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let now = ids(
        &rotation::listed_secrets(&w.sim, "orgs", &w.org, &client),
        "id",
    );
    assert_eq!(now, vec![old.clone()], "the old secret is kept");
    let steps = journal_steps(&run.report, &old);
    assert!(!steps.iter().any(|(s, _)| s == "old_revoked"), "{steps:?}");
    assert!(
        steps.iter().any(|(s, m)| s == "stopped"
            && m.starts_with(&format!("the replacement {new} is no longer listed"))),
        "{steps:?}"
    );
}

#[test]
fn a_replacement_another_rotation_made_stops_the_row_and_is_left_alone() {
    let w = world(SimConfig::default());
    let run = Run::new(&[format!("ai-model-api-key,{},{},", w.project, w.model)]);
    // Another rotation (another report, run "elsewhere") made and delivered a replacement.
    let url = format!("{}/groups/{}/aiModelApiKeys", w.sim.atlas_url(), w.project);
    let (status, body) = rotation::request_as(
        "POST",
        &url,
        rotation::AI_MODELS,
        Some(
            serde_json::json!({"name": format!("revoker-rotation:{}:elsewhere", w.model), "cloud": "ANY", "geography": "ANY"}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let theirs: Value = serde_json::from_str(&body).expect("json");
    let theirs = theirs["apiKeyId"].as_str().expect("id").to_string();
    let (code, stdout, stderr) = run.finish(&w.sim, NOW);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let steps = journal_steps(&run.report, &w.model);
    assert!(
        steps.iter().any(|(s, m)| s == "stopped"
            && m == &format!("{theirs} is a replacement of {} made by another rotation (run elsewhere): finish or withdraw that rotation first; nothing was created or revoked", w.model)),
        "{steps:?}"
    );
    let truth = revoker_testkit::truth(&w.sim);
    assert!(truth.deletions.is_empty(), "{:?}", truth.deletions);
}

#[test]
fn ids_listed_in_upper_case_are_the_rows_ids_and_the_secret_rotates() {
    let config = SimConfig {
        list_fault: Some(revoker_testkit::simulator::ListFault::UpperCaseIds),
        ..SimConfig::default()
    };
    let w = world(config);
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "rotation.csv"));
    let client = client_text(&w.org_client);
    let old = w.org_secret.to_string();
    write(
        &input,
        &[format!("service-account-secret,{},{client},{old}", w.org)],
    );
    let child = rotation::spawn_rotate(
        &w.sim,
        &input,
        &report,
        &["--deliver", "exec:true", "--cutover", "now"],
    );
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let now = ids(
        &rotation::listed_secrets(&w.sim, "orgs", &w.org, &client),
        "id",
    );
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(!now[0].eq_ignore_ascii_case(&old), "{now:?}");
}

#[test]
fn a_link_planted_at_the_rotation_journal_is_refused_naming_it() {
    let w = world(SimConfig::default());
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "rotation.csv"));
    write(
        &input,
        &[format!(
            "service-account-secret,{},{},{}",
            w.org,
            client_text(&w.org_client),
            w.org_secret
        )],
    );
    let victim = path(&dir, "victim");
    std::fs::write(&victim, "keep\n").expect("victim");
    let journal = path(&dir, "rotation.csv.rotate.jsonl");
    std::os::unix::fs::symlink(&victim, &journal).expect("link");
    let child = rotation::spawn_rotate(
        &w.sim,
        &input,
        &report,
        &["--deliver", "exec:true", "--cutover", "now"],
    );
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    let expected = format!(
        "rotation journal {}: is a symbolic link; revoker does not follow links here (a planted link could redirect what it reads or writes)",
        journal.display()
    );
    assert!(
        stderr.contains(&expected) || stdout.contains(&expected),
        "{stdout}\n{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "keep\n");
    assert!(revoker_testkit::truth(&w.sim).deletions.is_empty());
}

#[test]
fn a_link_planted_at_the_secrets_folder_is_refused_and_the_replacement_withdrawn() {
    let w = world(SimConfig::default());
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "rotation.csv"));
    let client = client_text(&w.org_client);
    let old = w.org_secret.to_string();
    write(
        &input,
        &[format!("service-account-secret,{},{client},{old}", w.org)],
    );
    let elsewhere = path(&dir, "elsewhere");
    std::fs::create_dir(&elsewhere).expect("dir");
    let folder = path(&dir, "rotation.csv.secrets");
    std::os::unix::fs::symlink(&elsewhere, &folder).expect("link");
    let recipient = age::x25519::Identity::generate().to_public().to_string();
    let deliver = format!("age:{recipient}");
    let child = rotation::spawn_rotate(
        &w.sim,
        &input,
        &report,
        // Without the refusal the secret lands in `elsewhere` and the run waits for its use: the
        // deadline ends that wait.
        &[
            "--deliver",
            &deliver,
            "--cutover",
            "after-use",
            "--poll",
            "100ms",
            "--deadline",
            "5s",
        ],
    );
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    let expected = format!(
        "{}: is a symbolic link; revoker does not follow links here (a planted link could send the new secrets elsewhere): remove it",
        folder.display()
    );
    assert!(stdout.contains(&expected), "{stdout}\n{stderr}");
    assert_eq!(std::fs::read_dir(&elsewhere).expect("dir").count(), 0);
    let now = ids(
        &rotation::listed_secrets(&w.sim, "orgs", &w.org, &client),
        "id",
    );
    assert_eq!(now, vec![old]);
}
