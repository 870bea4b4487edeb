//! Issue 40: the Events API (the simulator's events, a sweep of what compromised credentials did,
//! `verify --events`) and the `database-user` kind.

use revoker::input::{Kind, ObjectId, Target};
use revoker::report::Outcome;
use revoker_testkit::events::{Trail, sim, trail};
use revoker_testkit::*;

const ACCEPT: &str = "application/vnd.atlas.2023-01-01+json";

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn events(url: &str) -> serde_json::Value {
    let (status, body) = digest_get(url, ACCEPT);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

fn db_users(t: &Trail) -> Vec<Target> {
    t.artifacts
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| t.kind == Kind::DatabaseUser)
        .collect()
}

/// `revoker run` against the simulator's Atlas API.
fn atlas_run(
    sim: &revoker_testkit::simulator::SimHandle,
    input: &std::path::Path,
    report: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = revoker();
    cmd.args(["run", "--base-url", sim.atlas_url()])
        .arg("--input")
        .arg(input)
        .arg("--report")
        .arg(report)
        .args(args);
    cmd.output().expect("run")
}

#[test]
fn the_simulator_pages_filters_and_records_its_own_deletions_as_events() {
    let t = trail(1_200, 30, now_ms());
    let sim = sim(&t);
    let org_url = format!("{}/orgs/{}/events", sim.atlas_url(), t.org);
    let all = events(&format!("{org_url}?itemsPerPage=500&pageNum=1"));
    let total = all["totalCount"].as_u64().expect("totalCount");
    assert_eq!(all["results"].as_array().map(Vec::len), Some(500));
    let org_level = t.events.iter().filter(|e| e.group_id.is_none()).count() as u64;
    assert_eq!(total, org_level);
    let created = events(&format!(
        "{org_url}?eventType=API_KEY_CREATED&itemsPerPage=500"
    ));
    let listed = created["results"].as_array().expect("results");
    assert!(
        listed
            .iter()
            .all(|e| e["eventTypeName"] == "API_KEY_CREATED")
    );
    assert!(
        listed.iter().all(|e| e.get("raw").is_none()),
        "raw only when asked"
    );
    let far = events(&format!("{org_url}?minDate=2099-01-01T00:00:00Z"));
    assert_eq!(far["totalCount"], 0);
    assert_eq!(
        digest_get(&format!("{org_url}?itemsPerPage=501"), ACCEPT).0,
        400
    );

    // revoker deletes a database user and an API key: each deletion is an event by its key.
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "out.csv"));
    let user = db_users(&t)[0];
    let key = t.artifacts[0].0;
    assert_eq!(
        (key.kind, user.key_text().as_str()),
        (Kind::OrgApiKey, "admin/intruder1")
    );
    write_csv(&input, &[user, key]);
    let out = atlas_run(
        &sim,
        &input,
        &report,
        &["--kinds", "+database-user,org-api-key"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = records(&report);
    assert_eq!(count(&rows, Outcome::Done), 2);
    let truth = truth(&sim);
    assert!(
        !truth
            .database_users
            .iter()
            .any(|(_, _, u)| u == "intruder1")
    );
    assert!(
        truth
            .database_users
            .iter()
            .any(|(_, _, u)| u == "intruder2")
    );
    let ours = revoker_testkit::simulator::events::api_key_id(
        revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
    )
    .to_string();
    let deleted = events(&format!("{org_url}?eventType=API_KEY_DELETED"));
    let e = &deleted["results"][0];
    assert_eq!(
        (e["apiKeyId"].as_str(), e["publicKey"].as_str()),
        (Some(ours.as_str()), Some("simpublic"))
    );
    assert_eq!(e["resourceId"].as_str(), Some(key.key_text().as_str()));
    let project = events(&format!(
        "{}/groups/{}/events?eventType=MONGODB_USER_DELETED",
        sim.atlas_url(),
        user.scope
    ));
    let e = &project["results"][0];
    assert_eq!(
        (e["dbUserUsername"].as_str(), e["database"].as_str()),
        (Some("intruder1"), Some("admin"))
    );
    assert_eq!(e["publicKey"].as_str(), Some("simpublic"));
}

#[test]
fn a_database_user_is_sent_only_when_named_verified_by_its_list_and_atlas_only() {
    let t = trail(0, 30, now_ms());
    let sim = sim(&t);
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "out.csv"));
    let users = db_users(&t);
    write_csv(&input, &users);
    let atlas = |report: &std::path::Path, kinds: &[&str]| atlas_run(&sim, &input, report, kinds);
    let out = atlas(&report, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(count(&records(&report), Outcome::Invalid), 5);
    let report2 = path(&dir, "named.csv");
    let out = atlas(&report2, &["--kinds", "+database-user"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count(&records(&report2), Outcome::Done), 5);
    assert!(
        truth(&sim)
            .database_users
            .iter()
            .all(|(_, _, u)| u == "app")
    );
    let out = revoker()
        .args(["verify", "--base-url", sim.atlas_url()])
        .arg(&report2)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let verified = records(&report2);
    assert_eq!(count(&verified, Outcome::Verified), 5, "{}", stdout(&out));
    // Cloud Manager documents no database-user endpoint: such a row is never sent there.
    let report3 = path(&dir, "cm.csv");
    let out = run(&sim, &input, &report3, &["--kinds", "+database-user"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(count(&records(&report3), Outcome::Invalid), 5);
}

/// `revoker sweep` of the trail's compromised credentials against the simulator's Atlas API.
fn sweep(
    sim: &revoker_testkit::simulator::SimHandle,
    t: &Trail,
    dir: &tempfile::TempDir,
) -> (std::process::Output, std::path::PathBuf) {
    let (input, followup) = (path(dir, "compromised.csv"), path(dir, "followup.csv"));
    write_csv(&input, &t.compromised);
    let out = revoker()
        .args([
            "sweep",
            "--base-url",
            sim.atlas_url(),
            "--since",
            "30d",
            "-o",
            "json",
        ])
        .arg("--input")
        .arg(&input)
        .arg("--write")
        .arg(&followup)
        .output()
        .expect("sweep");
    (out, followup)
}

/// The rows of a follow-up input: each target, and its `why`.
fn followup_rows(path: &std::path::Path) -> Vec<(Target, String)> {
    let mut reader = csv::Reader::from_path(path).expect("follow-up");
    reader
        .records()
        .map(|r| {
            let r = r.expect("a row");
            let scope = if r[0].is_empty() { &r[1] } else { &r[0] };
            let t = Target::parse(&r[4], scope, &r[2], &r[3]).expect("a valid row");
            (t, r[5].to_string())
        })
        .collect()
}

#[test]
fn a_sweep_finds_every_artifact_of_four_compromised_credentials_and_nothing_else() {
    let t = trail(5_000, 30, now_ms());
    let sim = sim(&t);
    let dir = dir();
    let (out, followup) = sweep(&sim, &t, &dir);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = followup_rows(&followup);
    let mut found: Vec<String> = rows.iter().map(|(t, _)| t.to_string()).collect();
    let mut expected: Vec<String> = t.artifacts.iter().map(|(t, _)| t.to_string()).collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected, "17 revocable artifacts, no false positive");
    assert_eq!(expected.len(), 17);
    for (target, event) in &t.artifacts {
        let (_, why) = rows.iter().find(|(r, _)| r == target).expect("listed");
        assert!(why.contains(event.as_str()), "{target}: {why}");
    }
    let handover =
        std::fs::read_to_string(path(&dir, "followup.csv.handover.csv")).expect("hand-over list");
    assert_eq!(handover.lines().count(), 3, "{handover}");
    for (key, entry, event) in &t.handover {
        assert!(
            handover.lines().any(|l| l.starts_with(event.as_str())
                && l.contains(entry.as_str())
                && l.contains(&key.to_string())),
            "{handover}"
        );
    }
    // Each scope's events once: at most ceil(events/500) + 1 requests per scope.
    let mut per_scope: std::collections::HashMap<String, u64> = Default::default();
    for e in &t.events {
        let scope = e.group_id.clone().or(e.org_id.clone()).unwrap_or_default();
        *per_scope.entry(scope).or_default() += 1;
    }
    let bound: u64 = per_scope.values().map(|n| n.div_ceil(500) + 1).sum();
    let requests = json["sweep"]["requests"].as_u64().expect("requests");
    assert!(requests <= bound, "{requests} requests, bound {bound}");
    assert_eq!(
        json["sweep"]["events_read"].as_u64(),
        Some(t.events.len() as u64)
    );
    let activity = &json["sweep"]["activity"];
    let c4 = &activity[format!("service account {}", t.compromised[3].key_text())];
    assert_eq!(c4["by_type"]["MONGODB_USER_ADDED"], 3, "{activity}");

    // The follow-up revokes what it lists.
    let report = path(&dir, "followup-report.csv");
    let out = atlas_run(
        &sim,
        &followup,
        &report,
        &[
            "--kinds",
            "+org-api-key,service-account,service-account-secret,database-user",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let truth = truth(&sim);
    for (target, _) in &t.artifacts {
        if target.kind == Kind::DatabaseUser {
            let name = target.key_text();
            assert!(
                !truth
                    .database_users
                    .iter()
                    .any(|(p, d, u)| *p == target.scope.to_string() && format!("{d}/{u}") == name)
            );
        } else {
            assert!(!truth.holds(target), "{target} still held");
        }
    }
}

#[test]
fn verify_events_corroborates_every_deletion_and_names_one_made_behind_revokers_back() {
    use revoker_testkit::events::signed_delete;
    use revoker_testkit::simulator::{OrgKey, SimHandle};
    let t = trail(300, 30, now_ms());
    let mut config = revoker_testkit::events::config(&t);
    config.more_keys = vec![OrgKey {
        public_key: "otherpub".into(),
        private_key: "other-private".into(),
        orgs: vec![revoker_testkit::oid(&t.org)],
    }];
    let sim = SimHandle::spawn(config, revoker_testkit::events::sim_seeds(&t)).expect("sim");
    let key = |n: usize| t.artifacts[n].0;
    let (k1, k2, k3, k4) = (key(0), key(1), key(2), key(3));
    let key_url = |k: &Target| {
        format!(
            "{}/orgs/{}/apiKeys/{}",
            sim.atlas_url(),
            t.org,
            k.key_text()
        )
    };
    // Someone else deleted K3 before the run.
    assert_eq!(
        signed_delete(&key_url(&k3), "otherpub", "other-private", ACCEPT),
        204
    );
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "out.csv"));
    let mut rows = vec![k1, k2, k3];
    rows.extend(
        t.artifacts
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| matches!(t.kind, Kind::ServiceAccount | Kind::DatabaseUser)),
    );
    write_csv(&input, &rows);
    let out = atlas_run(
        &sim,
        &input,
        &report,
        &["--kinds", "+org-api-key,service-account,database-user"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let done = count(&records(&report), Outcome::Done);
    assert_eq!(
        (done, count(&records(&report), Outcome::NotFound)),
        (rows.len() - 1, 1)
    );
    let reconcile = || {
        let out = revoker()
            .args([
                "verify",
                "--events",
                "-o",
                "json",
                "--base-url",
                sim.atlas_url(),
            ])
            .arg(&report)
            .output()
            .expect("verify --events");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (out, json)
    };
    let (out, json) = reconcile();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stderr(&out),
        stdout(&out)
    );
    let verdicts: Vec<&str> = json["reconciliation"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["verdict"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        verdicts.iter().filter(|v| **v == "corroborated").count(),
        done,
        "{json}"
    );
    assert_eq!(
        verdicts
            .iter()
            .filter(|v| **v == "deleted_by_another")
            .count(),
        1
    );
    let other = json["reconciliation"]["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["verdict"] == "deleted_by_another")
        .expect("K3");
    assert!(
        other["why"].as_str().unwrap_or("").contains("otherpub"),
        "{other}"
    );

    // Behind revoker's back, with the run's own key: named, exit 1.
    assert_eq!(
        signed_delete(
            &key_url(&k4),
            revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
            revoker_testkit::simulator::DEFAULT_PRIVATE_KEY,
            ACCEPT
        ),
        204
    );
    let out = revoker()
        .args(["verify", "--base-url", sim.atlas_url()])
        .arg(&report)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (out, json) = reconcile();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let unrecorded = json["reconciliation"]["unrecorded"]
        .as_array()
        .expect("unrecorded");
    assert_eq!(unrecorded.len(), 1, "{json}");
    assert!(
        unrecorded[0]["what"]
            .as_str()
            .unwrap_or("")
            .contains(&k4.key_text()),
        "{json}"
    );
}

/// A compromised key created the key the operator now sweeps with (`ours`); its creation event
/// names it by id, and by public key when `public` is set. The sweep must never list it, and
/// names it apart; `caller` seeds it in the organization's key list as the sweep's own key.
fn sweep_as_a_key_a_compromised_key_made(ours: ObjectId, public: bool, caller: bool) {
    let mut t = trail(50, 30, now_ms());
    let c1 = t.compromised[0].key.to_string();
    let made = |e: &mut revoker_testkit::simulator::events::Event| {
        e.target_public_key =
            public.then(|| revoker_testkit::simulator::DEFAULT_PUBLIC_KEY.to_string());
        e.resource_id = Some(ours.to_string());
    };
    let key = ours.to_string();
    let seeded = caller.then_some(key.as_str());
    let (out, rows, _) = sweep_trail_with(&mut t, (seeded, None), &[&made], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        rows.iter().all(|(r, _)| r.key != ours),
        "the sweep's own key listed: {rows:?}"
    );
    assert_eq!(rows.len(), t.artifacts.len());
    let own = Target::parse("org-api-key", &t.org.to_string(), &key, "").expect("row");
    let line = format!(
        "the credential this sweep runs as is {own} (event e7e7e7e7e7e7e7e7e7e7e700 API_KEY_CREATED by API key {c1} at {}): not listed for revocation; revoke it yourself once it is replaced",
        t.events
            .last()
            .map(|e| e.created.clone())
            .unwrap_or_default()
    );
    let text = stdout(&out);
    assert!(text.lines().any(|l| l == line), "{text}");
}

#[test]
fn a_sweep_never_lists_the_credential_it_runs_as_and_names_it_apart() {
    let ours = revoker_testkit::simulator::events::api_key_id(
        revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
    );
    let ours = ObjectId::parse(&ours.to_string()).expect("id");
    sweep_as_a_key_a_compromised_key_made(ours, true, false);
}

/// Hostile review D4: the key the sweep runs as was made by a compromised key, and no event names
/// its public key (it only read, and its creation event gives the id alone). Its id is learned
/// from the organization's key list, so it is never a follow-up row.
#[test]
fn a_sweep_learns_its_own_key_from_the_key_list_when_no_event_names_its_public_key() {
    let ours = ObjectId::parse("5f00000000000000000000c1").expect("id");
    sweep_as_a_key_a_compromised_key_made(ours, false, true);
}

#[test]
fn a_sweep_finds_what_a_leaked_key_made_through_the_simulators_own_create_endpoints() {
    use revoker_testkit::events::signed_post;
    use revoker_testkit::simulator::{OrgKey, SimHandle};
    use serde_json::json;
    const V2024: &str = "application/vnd.atlas.2024-08-05+json";
    let t = trail(200, 30, now_ms());
    let mut config = revoker_testkit::events::config(&t);
    config.more_keys = vec![OrgKey {
        public_key: "leakpub".into(),
        private_key: "leak-private".into(),
        orgs: vec![revoker_testkit::oid(&t.org)],
    }];
    let sim = SimHandle::spawn(config, revoker_testkit::events::sim_seeds(&t)).expect("sim");
    let (base, org, p, q) = (sim.atlas_url(), t.org, t.projects[0], t.projects[1]);
    let leak = ("leakpub", "leak-private");
    let post =
        |url: String, who: (&str, &str), accept: &str, body: serde_json::Value, want: u16| {
            let (status, answer) = signed_post(&url, who, accept, &body);
            assert_eq!(status, want, "POST {url}: {answer}");
            answer
        };
    // The leaked key makes a key of its own, which then does the rest with it.
    let k2 = post(
        format!("{base}/orgs/{org}/apiKeys"),
        leak,
        ACCEPT,
        json!({"desc": "backup", "roles": ["ORG_OWNER"]}),
        200,
    );
    let (k2_id, k2_public, k2_private) = (
        k2["id"].as_str().expect("id").to_string(),
        k2["publicKey"].as_str().expect("publicKey").to_string(),
        k2["privateKey"].as_str().expect("privateKey").to_string(),
    );
    let k2_key = (k2_public.as_str(), k2_private.as_str());
    post(
        format!("{base}/groups/{p}/apiKeys/{k2_id}"),
        k2_key,
        ACCEPT,
        json!([{"roles": ["GROUP_OWNER"]}]),
        204,
    );
    post(
        format!("{base}/orgs/{org}/apiKeys/{k2_id}/accessList"),
        k2_key,
        ACCEPT,
        json!([{"ipAddress": "203.0.113.9"}]),
        200,
    );
    let account = post(
        format!("{base}/orgs/{org}/serviceAccounts"),
        k2_key,
        V2024,
        json!({"name": "ci", "description": "ci", "roles": ["ORG_MEMBER"], "secretExpiresAfterHours": 24}),
        201,
    );
    let client = account["clientId"].as_str().expect("clientId").to_string();
    let first = account["secrets"][0]["id"]
        .as_str()
        .expect("secret")
        .to_string();
    post(
        format!("{base}/groups/{q}/serviceAccounts/{client}:invite"),
        leak,
        V2024,
        json!({"roles": ["GROUP_READ_ONLY"]}),
        200,
    );
    let second = post(
        format!("{base}/orgs/{org}/serviceAccounts/{client}/secrets"),
        leak,
        V2024,
        json!({"secretExpiresAfterHours": 24}),
        201,
    );
    let second = second["id"].as_str().expect("secret").to_string();
    post(
        format!("{base}/groups/{p}/databaseUsers"),
        k2_key,
        ACCEPT,
        json!({"databaseName": "admin", "username": "mallory", "groupId": p.to_string(),
               "roles": [{"databaseName": "admin", "roleName": "atlasAdmin"}]}),
        201,
    );

    let leaked_id = revoker_testkit::simulator::events::api_key_id("leakpub").to_string();
    let compromised = Target::parse("org-api-key", &org.to_string(), &leaked_id, "").expect("row");
    let dir = dir();
    let (input, followup) = (path(&dir, "compromised.csv"), path(&dir, "followup.csv"));
    write_csv(&input, &[compromised]);
    let out = revoker()
        .args(["sweep", "--base-url", base, "--since", "1d"])
        .arg("--input")
        .arg(&input)
        .arg("--write")
        .arg(&followup)
        .output()
        .expect("sweep");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let row = |kind: &str, scope: &revoker::input::ObjectId, key: &str, secret: &str| {
        Target::parse(kind, &scope.to_string(), key, secret)
            .expect("row")
            .to_string()
    };
    let mut expected = vec![
        row("org-api-key", &org, &k2_id, ""),
        row("project-api-key", &p, &k2_id, ""),
        row("service-account", &org, &client, ""),
        row("service-account-secret", &org, &client, &first),
        row("project-service-account", &q, &client, ""),
        row("service-account-secret", &org, &client, &second),
        row("database-user", &p, "admin/mallory", ""),
    ];
    let mut found: Vec<String> = followup_rows(&followup)
        .iter()
        .map(|(t, _)| t.to_string())
        .collect();
    expected.sort();
    found.sort();
    assert_eq!(found, expected, "{}", stdout(&out));
    let handover =
        std::fs::read_to_string(path(&dir, "followup.csv.handover.csv")).expect("hand-over list");
    assert_eq!(handover.lines().count(), 2, "{handover}");
    assert!(handover.contains("203.0.113.9"), "{handover}");
}

/// Two organization API keys of a trail revoked by `revoker run` with `args`: each row's
/// `public_key` must be exactly what the organization's list showed. Answers the report.
fn run_two_keys_and_check_public_keys(args: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let t = trail(0, 30, now_ms());
    let sim = sim(&t);
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "out.csv"));
    let keys: Vec<Target> = t.artifacts[..2].iter().map(|(t, _)| *t).collect();
    assert!(keys.iter().all(|k| k.kind == Kind::OrgApiKey));
    let listed = events(&format!(
        "{}/orgs/{}/apiKeys?itemsPerPage=500",
        sim.atlas_url(),
        t.org
    ));
    let public_of = |k: &Target| {
        listed["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["id"].as_str() == Some(k.key_text().as_str()))
            .and_then(|i| i["publicKey"].as_str())
            .expect("listed with its public key")
            .to_string()
    };
    write_csv(&input, &keys);
    let out = atlas_run(&sim, &input, &report, args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recorded: Vec<(String, Outcome, String)> = records(&report)
        .iter()
        .map(|r| (r.key.clone(), r.outcome, r.public_key.clone()))
        .collect();
    let expected: Vec<(String, Outcome, String)> = keys
        .iter()
        .map(|k| (k.key_text(), Outcome::Done, public_of(k)))
        .collect();
    assert_eq!(recorded, expected);
    (dir, report)
}

#[test]
fn a_planned_run_records_each_api_keys_public_key_as_its_list_showed_it() {
    let (_dir, report) = run_two_keys_and_check_public_keys(&["--kinds", "+org-api-key", "--plan"]);
    let text = std::fs::read_to_string(&report).expect("report");
    assert!(
        text.starts_with(&(revoker::report::HEADER.join(",") + "\n"))
            && revoker::report::HEADER[14] == "public_key",
        "{text}"
    );
    let out = revoker()
        .arg("report")
        .arg(&report)
        .output()
        .expect("report");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("chain: intact (2 rows checked"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_run_without_a_plan_records_each_org_keys_public_key_from_the_guards_list() {
    // No --plan: the only list read is the own-credential guard's.
    run_two_keys_and_check_public_keys(&["--kinds", "+org-api-key"]);
}

#[test]
fn a_report_of_fourteen_columns_still_reads_and_resumes_in_fourteen() {
    use revoker_testkit::simulator::SimConfig;
    let keys = keys(4, 1);
    let sim = revoker_testkit::sim(SimConfig::default(), &keys[2..]);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &keys);
    // Written before `public_key`: 14 columns, each row chained over its 13 cells.
    let mut text = revoker::report::HEADER[..revoker::report::CHAINED_COLUMNS].join(",") + "\n";
    let mut chain = revoker::report::chain::GENESIS.to_string();
    for (i, t) in keys.iter().enumerate() {
        let (outcome, status) = if i < 2 {
            ("done", "200")
        } else {
            ("failed", "503")
        };
        let line = (i + 2).to_string();
        let (kind, scope, key) = (t.kind.to_string(), t.scope.to_string(), t.key_text());
        let cells = [
            "20261101T000000Z-0001",
            "2026-11-01T00:00:00.000Z",
            &line,
            &kind,
            &scope,
            &key,
            outcome,
            status,
            "",
            "1",
            "5",
            "",
            "",
        ];
        chain = revoker::report::chain::next(&chain, cells.iter().map(|c| c.as_bytes()));
        text.push_str(&format!("{},{chain}\n", cells.join(",")));
    }
    std::fs::write(&report, text).expect("write");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .output()
        .expect("report");
    assert!(
        stdout(&out).contains("chain: intact (4 rows checked"),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let out = run(&sim, &input, &report, &["--resume"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 2);
    let text = std::fs::read_to_string(&report).expect("report");
    let widths: Vec<usize> = text.lines().map(|l| l.split(',').count()).collect();
    assert_eq!(widths, vec![14; 7], "{text}");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .output()
        .expect("report");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("chain: intact (6 rows checked"),
        "{}",
        stdout(&out)
    );
}

/// Edits the side file `side` as `edit` says, then runs `revoker report`.
fn forge_and_report(
    side: &std::path::Path,
    report: &std::path::Path,
    edit: impl FnOnce(&mut serde_json::Value),
) -> std::process::Output {
    let mut forged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(side).expect("side file")).expect("JSON");
    edit(&mut forged);
    std::fs::write(side, serde_json::to_vec(&forged).expect("JSON")).expect("forge");
    revoker()
        .arg("report")
        .arg(report)
        .output()
        .expect("report")
}

#[test]
fn report_and_its_page_show_the_last_reconciliation_with_events() {
    use revoker_testkit::events::signed_delete;
    let t = trail(20, 30, now_ms());
    let sim = sim(&t);
    let (k1, k2, k3) = (t.artifacts[0].0, t.artifacts[1].0, t.artifacts[2].0);
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "out.csv"));
    write_csv(&input, &[k1, k2]);
    let out = atlas_run(&sim, &input, &report, &["--kinds", "+org-api-key"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let show = || {
        let out = revoker()
            .arg("report")
            .arg(&report)
            .output()
            .expect("report");
        stdout(&out)
    };
    assert!(!show().contains("events ("), "{}", show());
    // Behind revoker's back, with the run's own key, inside the window.
    let url = format!(
        "{}/orgs/{}/apiKeys/{}",
        sim.atlas_url(),
        t.org,
        k3.key_text()
    );
    assert_eq!(
        signed_delete(
            &url,
            revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
            revoker_testkit::simulator::DEFAULT_PRIVATE_KEY,
            ACCEPT
        ),
        204
    );
    let out = revoker()
        .args(["verify", "--base-url", sim.atlas_url()])
        .arg(&report)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = revoker()
        .args(["verify", "--events", "--base-url", sim.atlas_url()])
        .arg(&report)
        .output()
        .expect("verify --events");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let kept: revoker::report::reconciled::Reconciled = serde_json::from_slice(
        &std::fs::read(path(&dir, "out.csv.reconciled.json")).expect("kept beside the report"),
    )
    .expect("JSON");
    assert_eq!(
        kept.rows
            .iter()
            .map(|r| r.verdict.as_str())
            .collect::<Vec<_>>(),
        vec!["corroborated", "corroborated"]
    );
    let deleted = &kept.unrecorded[0];
    let chain = revoker::report::chain_of(&report).expect("chain");
    let expected = [
        format!(
            "events (verify --events at {}, as API key simpublic, against the report as it is now): {} events read between {} and {}: 2 corroborated, 0 uncorroborated, 0 deleted by another, 1 unrecorded deletions",
            kept.at, kept.events_read, kept.window.0, kept.window.1
        ),
        format!(
            "  unrecorded: {} API_KEY_DELETED at {} by the run's credential: {} in organization {} (no report row)",
            deleted.event_id,
            deleted.created,
            k3.key_text(),
            t.org
        ),
    ];
    assert_eq!(kept.chain, chain);
    let text = show();
    let lines: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("events ("))
        .take(2)
        .collect();
    assert_eq!(lines, expected, "{text}");
    let out = revoker()
        .args(["report", "-o", "json"])
        .arg(&report)
        .output()
        .expect("report -o json");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["reconciliation"]["of_the_report_as_it_is_now"], true);
    assert_eq!(
        json["reconciliation"]["unrecorded"][0]["event_id"].as_str(),
        Some(deleted.event_id.as_str())
    );
    let html = path(&dir, "page.html");
    let out = revoker()
        .args(["report", "--html"])
        .arg(&html)
        .arg(&report)
        .output()
        .expect("report --html");
    assert_eq!(
        out.status.code().map(|c| c <= 1),
        Some(true),
        "{}",
        stderr(&out)
    );
    let page = std::fs::read_to_string(&html).expect("page");
    assert!(
        page.contains(
            "<h2>MongoDB's record</h2><p class=\"status bad\">events (verify --events at"
        ),
        "{page}"
    );
    assert!(page.contains(&format!("unrecorded: {} API_KEY_DELETED", deleted.event_id)));

    // A verification appended rows since: said so, and they are not claimed.
    let out = revoker()
        .args(["verify", "--base-url", sim.atlas_url()])
        .arg(&report)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = show();
    assert!(
        text.contains(&format!(
            "against an earlier state of the report (chain {chain}); rows written since are not reconciled"
        )),
        "{text}"
    );

    // Hostile review D6: the file is unsigned. `report` says so, and a file that contradicts the
    // audit record (another credential, a chain the report never had) is refused with exit 5.
    let side = path(&dir, "out.csv.reconciled.json");
    let note = format!(
        "{}: an unsigned side file (neither the chain nor the signature covers it); its credential, window and chain digest agree with the audit record",
        side.display()
    );
    assert!(text.lines().any(|l| l == note), "{text}");
    let out = forge_and_report(&side, &report, |forged| {
        forged["credential"] = "API key attacker".into();
        forged["chain"] = "ab".repeat(32).into();
        forged["rows"][0]["verdict"] = "corroborated".into();
    });
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let expected = [
        format!(
            "{}: DISAGREES with the audit record: it names the credential \"API key attacker\", but the runs signed in as API key simpublic",
            side.display()
        ),
        format!(
            "{}: DISAGREES with the audit record: it was made against the chain digest \"{}\", which the report never had",
            side.display(),
            "ab".repeat(32)
        ),
    ];
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("DISAGREES")).collect();
    assert_eq!(lines, expected, "{text}");
    assert!(stderr(&out).contains(&expected[0]), "{}", stderr(&out));

    // Rows are checked against the report: a line that is no such row, a verdict never given.
    let out = forge_and_report(&side, &report, |forged| {
        forged["rows"][0]["line"] = 999.into();
        forged["rows"][1]["verdict"] = "totally_fine".into();
    });
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        format!(
            "{}: DISAGREES with the audit record: line 999 is no done or not_found row of {}",
            side.display(),
            kept.rows[0].row
        ),
        format!(
            "{}: DISAGREES with the audit record: line {} has the verdict \"totally_fine\", which verify --events never gives",
            side.display(),
            kept.rows[1].line
        ),
    ] {
        assert!(text.lines().any(|l| l == want), "{want}\n{text}");
    }
}

#[test]
fn a_job_with_a_sweep_revokes_the_follow_up_in_the_same_run() {
    let t = trail(500, 30, now_ms());
    let sim = sim(&t);
    let dir = dir();
    let compromised = path(&dir, "compromised.csv");
    write_csv(&compromised, &t.compromised);
    let job = path(&dir, "job.toml");
    std::fs::write(
        &job,
        "report = \"followup-report.csv\"\nverify = true\nkinds = [\"org-api-key\", \"project-api-key\", \"service-account\", \"project-service-account\", \"service-account-secret\", \"database-user\"]\n\n[sweep]\ninput = \"compromised.csv\"\nsince = \"30d\"\n",
    )
    .expect("job");
    let out = revoker()
        .args(["run"])
        .arg(&job)
        .args(["--base-url", sim.atlas_url()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = path(&dir, "followup-report.csv");
    let followup = path(&dir, "followup-report.csv.sweep.csv");
    let mut listed: Vec<String> = followup_rows(&followup)
        .iter()
        .map(|(t, _)| t.to_string())
        .collect();
    let mut expected: Vec<String> = t.artifacts.iter().map(|(t, _)| t.to_string()).collect();
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);
    let rows = records(&report);
    assert_eq!(
        count(&rows, Outcome::Verified),
        t.artifacts.len(),
        "{rows:?}"
    );
    let truth = truth(&sim);
    for (target, _) in &t.artifacts {
        if target.kind == Kind::DatabaseUser {
            let name = target.key_text();
            assert!(
                !truth
                    .database_users
                    .iter()
                    .any(|(p, d, u)| *p == target.scope.to_string() && format!("{d}/{u}") == name)
            );
        } else {
            assert!(!truth.holds(target), "{target} still held");
        }
    }
    assert!(path(&dir, "followup-report.csv.sweep.handover.csv").exists());
    // The sweep is kept beside the report: `report` and its page show what the credentials did.
    let out = revoker()
        .arg("report")
        .arg(&report)
        .output()
        .expect("report");
    let text = stdout(&out);
    let summary = format!(
        "{} follow-up rows, {} to hand over",
        t.artifacts.len(),
        t.handover.len()
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("sweep at "))
        .unwrap_or_else(|| panic!("no sweep line: {text}"));
    assert!(line.ends_with(&summary), "{line}");
    for c in &t.compromised {
        assert!(
            text.lines()
                .any(|l| l.trim_start().contains(&c.key_text()) && l.contains(" events")),
            "{} has no activity line: {text}",
            c.key_text()
        );
    }
    let page = path(&dir, "page.html");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--html")
        .arg(&page)
        .output()
        .expect("page");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).expect("page");
    assert!(html.contains("What the compromised credentials did"));
    assert!(html.contains(&summary));

    // Hostile review D6: the sweep file is unsigned; the run's start line recorded it by SHA-256,
    // so an edited one is said not to be the run's sweep.
    let side = path(&dir, "followup-report.csv.swept.json");
    let bytes = std::fs::read(&side).expect("side file");
    let digest = revoker::report::swept::sha256(&bytes);
    let run_id = records(&report)[0].run_id.clone();
    let recorded = format!(
        "{}: an unsigned side file; it is the sweep run {run_id} recorded at its start (SHA-256 {digest})",
        side.display()
    );
    assert!(text.lines().any(|l| l == recorded), "{text}");
    let out = forge_and_report(&side, &report, |forged| {
        forged["follow_up"] = serde_json::json!([]);
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let edited = format!(
        "{}: an unsigned side file, NOT the sweep run {run_id} recorded at its start (made since by `revoker sweep --report`, or edited): what it says is not evidence",
        side.display()
    );
    let text = stdout(&out);
    assert!(text.lines().any(|l| l == edited), "{text}");
}

/// A trail with `extra` events (cloned from c1's first creation, then edited) and the sweep's own
/// key `own` seeded in the organization's key list; swept. Answers the output, the follow-up rows
/// and the hand-over list's text.
fn sweep_trail_with(
    t: &mut Trail,
    (own, listed): (Option<&str>, Option<(&str, &str)>),
    extra: &[&dyn Fn(&mut revoker_testkit::simulator::events::Event)],
    input_rows: Option<&str>,
) -> (std::process::Output, Vec<(Target, String)>, String) {
    let c1 = t.compromised[0].key.to_string();
    let base = t
        .events
        .iter()
        .find(|e| {
            e.event_type_name == "API_KEY_CREATED" && e.api_key_id.as_deref() == Some(c1.as_str())
        })
        .expect("c1 created a key")
        .clone();
    for (i, edit) in extra.iter().enumerate() {
        let mut e = base.clone();
        e.id = format!("e7e7e7e7e7e7e7e7e7e7e7{i:02}");
        edit(&mut e);
        t.events.push(e);
    }
    let mut seeds = revoker_testkit::events::sim_seeds(t);
    if let Some(own) = own {
        let row = Target::parse("org-api-key", &t.org.to_string(), own, "").expect("row");
        let mut seed = seed(&row);
        seed.meta.caller = true;
        seeds.push(seed);
    }
    if let Some((key, public)) = listed {
        let row = Target::parse("org-api-key", &t.org.to_string(), key, "").expect("row");
        let mut seed = seed(&row);
        seed.meta.public_key = revoker_testkit::simulator::values::PublicKey::new(public);
        seeds.push(seed);
    }
    let sim =
        revoker_testkit::simulator::SimHandle::spawn(revoker_testkit::events::config(t), seeds)
            .expect("sim");
    let dir = dir();
    let (input, followup) = (path(&dir, "compromised.csv"), path(&dir, "followup.csv"));
    match input_rows {
        Some(text) => std::fs::write(&input, text).expect("input"),
        None => write_csv(&input, &t.compromised),
    }
    let out = revoker()
        .args(["sweep", "--base-url", sim.atlas_url(), "--since", "30d"])
        .arg("--input")
        .arg(&input)
        .arg("--write")
        .arg(&followup)
        .output()
        .expect("sweep");
    let handover =
        std::fs::read_to_string(path(&dir, "followup.csv.handover.csv")).unwrap_or_default();
    let rows = if followup.exists() {
        followup_rows(&followup)
    } else {
        Vec::new()
    };
    (out, rows, handover)
}

/// Hostile review (wave 8), findings 2 and 3: an event pairing the sweep's public key with an
/// attacker's key id does not hide that key (the key list wins, the contradiction is named, exit
/// 1); the sweep's own key, made by a compromised key, goes to the hand-over list.
#[test]
fn a_forged_pairing_of_the_sweeps_public_key_hides_nothing_and_its_own_key_is_handed_over() {
    let mut t = trail(50, 30, now_ms());
    let (ours, forged) = ("5f00000000000000000000c1", "5f00000000000000000000c2");
    let made_ours = |e: &mut revoker_testkit::simulator::events::Event| {
        e.resource_id = Some(ours.into());
        e.target_public_key = None;
    };
    let made_forged = |e: &mut revoker_testkit::simulator::events::Event| {
        e.resource_id = Some(forged.into());
        e.target_public_key = None;
    };
    let pairing = |e: &mut revoker_testkit::simulator::events::Event| {
        e.event_type_name = "API_KEY_DESCRIPTION_CHANGED".into();
        e.api_key_id = Some(forged.into());
        e.public_key = Some(revoker_testkit::simulator::DEFAULT_PUBLIC_KEY.into());
        e.resource_id = None;
    };
    let (out, rows, handover) = sweep_trail_with(
        &mut t,
        (Some(ours), None),
        &[&made_ours, &made_forged, &pairing],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let keys: Vec<String> = rows.iter().map(|(r, _)| r.key_text()).collect();
    assert!(keys.contains(&forged.to_string()), "{keys:?}");
    assert!(!keys.contains(&ours.to_string()), "{keys:?}");
    let line = format!(
        "not read: the events (an actor's apiKeyId beside public key {}, or its creation) name key {forged} as the API key this sweep runs as, but the key list gives {ours}: the list is taken, and those events may be forged (the sweep is incomplete)",
        revoker_testkit::simulator::DEFAULT_PUBLIC_KEY
    );
    let text = stdout(&out);
    assert!(text.lines().any(|l| l == line), "{text}");
    let handed: Vec<&str> = handover.lines().filter(|l| l.contains(ours)).collect();
    assert_eq!(handed.len(), 1, "{handover}");
    assert!(
        handed[0].ends_with(&format!(
            ",\"org-api-key {} {ours}: the credential this sweep runs as, made by a compromised credential; revoke it yourself once it is replaced\"",
            t.org
        )),
        "{handover}"
    );
}

/// Hostile review (wave 8), findings 4, 5, 6 and 14: a creation named by `targetPublicKey` alone
/// and an actor named by `publicKey` alone are read through the key list; an actor id with a stray
/// space is read; a database name holding `/` is handed over, not a row; an input row naming no
/// credential is named and the sweep exits 1.
#[test]
fn a_sweep_reads_public_keys_through_the_key_list_and_names_what_it_cannot_read() {
    let mut t = trail(50, 30, now_ms());
    let (ours, listed) = ("5f00000000000000000000c1", "5f00000000000000000000c3");
    let by_public = |e: &mut revoker_testkit::simulator::events::Event| {
        e.resource_id = None;
        e.target_public_key = Some("listedpk".into());
    };
    let project = t.projects[0].to_string();
    let slashed = |e: &mut revoker_testkit::simulator::events::Event| {
        e.event_type_name = "MONGODB_USER_ADDED".into();
        e.api_key_id = e.api_key_id.as_ref().map(|k| format!(" {k}"));
        e.resource_id = None;
        e.target_public_key = None;
        e.group_id = Some(project.clone());
        e.database = Some("adm/in".into());
        e.db_user_username = Some("x".into());
    };
    let mut rows_text = String::from("kind,org,key\n");
    for c in &t.compromised {
        rows_text.push_str(&format!("{},{},{}\n", c.kind, c.scope, c.key_text()));
    }
    rows_text.push_str(&format!("frobnicate,{},{}\n", t.org, ours));
    let (out, rows, handover) = sweep_trail_with(
        &mut t,
        (Some(ours), Some((listed, "listedpk"))),
        &[&by_public, &slashed],
        Some(&rows_text),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        rows.iter()
            .any(|(r, _)| r.kind == Kind::OrgApiKey && r.key_text() == listed),
        "{rows:?}"
    );
    assert!(handover.contains("MONGODB_USER_ADDED: database \"\"adm/in\"\", dbUserUsername \"\"x\"\" (the event does not name it in a form revoker reads)"), "{handover}");
    let text = stdout(&out);
    let bad = t.compromised.len() + 2;
    assert!(
        text.lines().any(|l| l.starts_with("not read: ")
            && l.contains(&format!("compromised.csv line {bad}: "))
            && l.ends_with("(a compromised credential not swept) (the sweep is incomplete)")),
        "{text}"
    );
}

/// Hostile review (wave 8), finding 8: a report whose rows were deleted is not reconciled (exit 5),
/// since agreement about the rows left would claim more than the report can.
#[test]
fn verify_events_refuses_a_report_that_is_not_as_written() {
    let t = trail(20, 30, now_ms());
    let sim = sim(&t);
    let (k1, k2) = (t.artifacts[0].0, t.artifacts[1].0);
    let dir = dir();
    let (input, report) = (path(&dir, "in.csv"), path(&dir, "out.csv"));
    write_csv(&input, &[k1, k2]);
    let out = atlas_run(&sim, &input, &report, &["--kinds", "+org-api-key"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&report).expect("report");
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&report, format!("{}\n", kept.join("\n"))).expect("cut");
    let out = revoker()
        .args(["verify", "--events", "--base-url", sim.atlas_url()])
        .arg(&report)
        .output()
        .expect("verify --events");
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let canonical = std::fs::canonicalize(&report).expect("path");
    assert!(
        stderr(&out).contains(&format!(
            "{}: the report or its audit record is not as written (revoker report names where): not reconciled",
            canonical.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!path(&dir, "out.csv.reconciled.json").exists());
}
