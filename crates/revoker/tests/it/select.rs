//! Select from live state: each filter against the simulator with the exact rows it selects, the
//! rows never selected (system-managed accounts, the caller's own key), the cost in requests, and
//! a policy job that selects, revokes and verifies in one command.

use std::path::Path;
use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_testkit::simulator::{Label, Meta, Seed, SimConfig, SimHandle};
use revoker_testkit::*;

const DAY: i64 = 86_400;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The seed of `t` with what its lists show.
fn with(t: &Target, meta: Meta) -> Seed {
    let mut s = seed(t);
    s.meta = meta;
    s
}

fn dated(created: i64, expires: Option<i64>, last_used: Option<i64>) -> Meta {
    let n = now();
    Meta {
        created: Some(n + created * DAY),
        expires: expires.map(|d| n + d * DAY),
        last_used: last_used.map(|d| n + d * DAY),
        ..Meta::default()
    }
}

const ORG: u8 = 0x3a;
const PROJECT: u8 = 0x26;

/// The organization's credentials and what the filters must find among them.
struct World {
    expired: Target,
    soon: Target,
    used_long_ago: Target,
    never_used: Target,
    all_expired: [Target; 2],
    system_managed_expired: Target,
    stale_key: Target,
    busy_key: Target,
    no_list_key: Target,
    own_key: Target,
    old_agent: Target,
    stale_model: Target,
    busy_model: Target,
}

fn model_key(id: &str) -> Target {
    Target::parse(
        "ai-model-api-key",
        &target(Kind::ProjectApiKey, PROJECT, 0, None)
            .scope
            .to_string(),
        id,
        "",
    )
    .unwrap()
}

/// The organization `jobs/stale-secrets.toml` names.
fn org() -> revoker::input::ObjectId {
    revoker::input::ObjectId::parse("3a37dfe702393e0fa6c8bbc2").unwrap()
}

fn in_org(mut t: Target) -> Target {
    t.scope = org();
    t
}

fn world() -> (World, Vec<Seed>) {
    let secret =
        |account: u8, s: u8| in_org(target(Kind::ServiceAccountSecret, ORG, account, Some(s)));
    let key = |k: u8| in_org(target(Kind::OrgApiKey, ORG, k, None));
    let w = World {
        expired: secret(1, 11),
        soon: secret(1, 12),
        used_long_ago: secret(1, 13),
        never_used: secret(1, 14),
        all_expired: [secret(3, 31), secret(3, 32)],
        system_managed_expired: secret(2, 21),
        stale_key: key(41),
        busy_key: key(42),
        no_list_key: key(43),
        own_key: key(44),
        old_agent: target(Kind::AgentApiKey, PROJECT, 51, None),
        stale_model: model_key("stalemodelkey0000000000a"),
        busy_model: model_key("busymodelkey00000000000b"),
    };
    let named = |mut m: Meta, name: &str| {
        m.name = Some(Label::new(name));
        m
    };
    let mut seeds = vec![
        with(&w.expired, dated(-10, Some(-1), None)),
        with(&w.soon, dated(-10, Some(3), None)),
        with(&w.used_long_ago, dated(-60, Some(100), Some(-40))),
        with(&w.never_used, dated(-60, Some(100), None)),
        with(&w.all_expired[0], dated(-10, Some(-2), Some(-3))),
        with(&w.all_expired[1], dated(-10, Some(-5), Some(-6))),
        with(&w.system_managed_expired, dated(-10, Some(-1), None)),
        with(
            &w.stale_key,
            named(dated(-400, None, Some(-100)), "ci-runner"),
        ),
        with(&w.busy_key, named(dated(-400, None, Some(-1)), "prod")),
        with(
            &w.no_list_key,
            Meta {
                no_access_list: true,
                ..named(Meta::default(), "orphan")
            },
        ),
        with(
            &w.own_key,
            Meta {
                caller: true,
                ..named(dated(-400, None, Some(-100)), "automation")
            },
        ),
        with(&w.old_agent, named(dated(-400, None, None), "old agent")),
        with(&w.stale_model, dated(-200, None, Some(-100))),
        with(&w.busy_model, dated(-200, None, Some(-1))),
    ];
    // The project belongs to the organization (GET /groups/{id} and GET /orgs/{id}/groups say so).
    for s in seeds.iter_mut().filter(|s| !s.kind.is_org_wide()) {
        s.meta.org = Some(oid(&w.expired.scope));
    }
    if let Some(s) = seeds.iter_mut().find(|s| {
        s.key_text() == w.system_managed_expired.key_text()
            && s.kind == revoker_sim::Kind::ServiceAccountSecret
    }) {
        s.system_managed = true;
    }
    (w, seeds)
}

fn spawn() -> (World, SimHandle) {
    let (w, seeds) = world();
    (
        w,
        SimHandle::spawn(SimConfig::default(), seeds).expect("sim"),
    )
}

/// `revoker select` against `base` with `args`; answers the rows written and the output.
fn select(base: &str, file: &Path, args: &[&str]) -> (Vec<(String, String)>, std::process::Output) {
    let out = revoker()
        .args(["select", "--base-url", base, "--write"])
        .arg(file)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let rows = std::fs::read_to_string(file)
        .map(|text| {
            let mut r = csv::Reader::from_reader(text.as_bytes());
            r.records()
                .map(|rec| {
                    let rec = rec.unwrap();
                    let target = Target::parse(
                        &rec[4],
                        if rec[0].is_empty() { &rec[1] } else { &rec[0] },
                        &rec[2],
                        &rec[3],
                    )
                    .unwrap();
                    (target.to_string(), rec[5].to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    (rows, out)
}

fn names(rows: &[(String, String)]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|(t, _)| t.clone()).collect();
    v.sort();
    v
}

fn expect(targets: &[&Target]) -> Vec<String> {
    let mut v: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}

#[test]
fn secrets_are_selected_by_expiry_use_and_age_and_system_managed_ones_never() {
    let (w, sim) = spawn();
    let d = dir();
    let org = w.expired.scope.to_string();
    let file = path(&d, "out.csv");
    let base = sim.atlas_url().to_string();
    let (rows, out) = select(&base, &file, &["--org", &org, "--expired"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        names(&rows),
        expect(&[&w.expired, &w.all_expired[0], &w.all_expired[1]])
    );
    assert!(
        rows.iter()
            .all(|(_, why)| why.starts_with("rule 1: expired at ")),
        "{rows:?}"
    );
    // One page of the organization's accounts and one of its MCP configurations (whose secrets
    // `--expired` applies to): two requests (and a digest challenge).
    assert!(
        stderr(&out).contains("with 3 requests (0 access lists)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().deletes, 0);

    let (rows, _) = select(&base, &file, &["--org", &org, "--expiring-within", "7d"]);
    assert_eq!(names(&rows), expect(&[&w.soon]));
    // Without kinds, every kind the condition applies to: the stale API key too.
    let (rows, _) = select(&base, &file, &["--org", &org, "--unused-for", "30d"]);
    assert_eq!(
        names(&rows),
        expect(&[&w.used_long_ago, &w.never_used, &w.stale_key])
    );
    let (rows, _) = select(
        &base,
        &file,
        &[
            "--org",
            &org,
            "--never-used",
            "--kinds",
            "service-account-secret",
        ],
    );
    assert_eq!(names(&rows), expect(&[&w.expired, &w.soon, &w.never_used]));
    let (rows, _) = select(
        &base,
        &file,
        &[
            "--org",
            &org,
            "--created-before",
            "30d",
            "--kinds",
            "service-account-secret",
        ],
    );
    assert_eq!(names(&rows), expect(&[&w.used_long_ago, &w.never_used]));
    let (rows, _) = select(&base, &file, &["--org", &org, "--all-secrets-expired"]);
    let account = in_org(target(Kind::ServiceAccount, ORG, 3, None));
    assert_eq!(names(&rows), expect(&[&account]));
    // Asked for, the system-managed account's expired secret is seen.
    let (rows, _) = select(
        &base,
        &file,
        &["--org", &org, "--expired", "--include-system-managed"],
    );
    assert!(names(&rows).contains(&w.system_managed_expired.to_string()));
}

#[test]
fn api_keys_are_judged_by_their_access_lists_read_only_when_needed_and_the_caller_never() {
    let (w, sim) = spawn();
    let d = dir();
    let org = w.expired.scope.to_string();
    let file = path(&d, "out.csv");
    let base = sim.atlas_url().to_string();
    let (rows, out) = select(
        &base,
        &file,
        &[
            "--org",
            &org,
            "--kinds",
            "org-api-key",
            "--unused-for",
            "30d",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&rows), expect(&[&w.stale_key]));
    assert!(rows[0].1.contains("access list last used"), "{rows:?}");
    // Three keys' access lists (the caller's own key is never judged): 1 challenge + 1 page + 3.
    let err = stderr(&out);
    assert!(err.contains("with 5 requests (3 access lists)"), "{err}");
    assert!(err.contains("never selected"), "{err}");
    let (rows, _) = select(&base, &file, &["--org", &org, "--no-access-list"]);
    assert_eq!(names(&rows), expect(&[&w.no_list_key]));
    // A name filter first: only the matching key's access list is read.
    let (rows, out) = select(
        &base,
        &file,
        &[
            "--org",
            &org,
            "--kinds",
            "org-api-key",
            "--name",
            "CI-*",
            "--never-used",
        ],
    );
    assert!(rows.is_empty(), "{rows:?}");
    assert!(
        stderr(&out).contains("(1 access lists)"),
        "{}",
        stderr(&out)
    );
    let (rows, _) = select(
        &base,
        &file,
        &["--org", &org, "--kinds", "org-api-key", "--name", "ci-*"],
    );
    assert_eq!(names(&rows), expect(&[&w.stale_key]));
    let _ = w.busy_key;
    let _ = w.own_key;
}

#[test]
fn project_keys_are_read_per_project_or_for_every_project_of_an_organization() {
    let (w, sim) = spawn();
    let d = dir();
    let file = path(&d, "out.csv");
    let project = w.old_agent.scope.to_string();
    // Agent keys are Cloud Manager's; AI model keys Atlas's.
    let (rows, out) = select(
        sim.base_url(),
        &file,
        &[
            "--project",
            &project,
            "--created-before",
            "365d",
            "--kinds",
            "agent-api-key",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&rows), expect(&[&w.old_agent]));
    let org = w.expired.scope.to_string();
    let (rows, out) = select(
        sim.atlas_url(),
        &file,
        &[
            "--org",
            &org,
            "--every-project",
            "--kinds",
            "ai-model-api-key",
            "--unused-for",
            "30d",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&rows), expect(&[&w.stale_model]));
    let _ = w.busy_model;
    // Issue 34 (wave 7): a project row carries the organization the selection read it under.
    let text = std::fs::read_to_string(&file).unwrap();
    let row = text.lines().nth(1).expect("a selected row");
    let cells: Vec<&str> = row.split(',').collect();
    assert_eq!(
        cells[..2],
        [w.stale_model.scope.to_string(), org.clone()],
        "{text}"
    );
}

#[test]
fn a_policy_without_a_rule_or_a_scope_is_refused_before_any_request() {
    let (w, sim) = spawn();
    let d = dir();
    let file = path(&d, "out.csv");
    let (_, out) = select(
        sim.base_url(),
        &file,
        &["--org", &w.expired.scope.to_string()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a selection needs at least one rule"),
        "{}",
        stderr(&out)
    );
    let (_, out) = select(sim.base_url(), &file, &["--expired"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a selection needs an organization"),
        "{}",
        stderr(&out)
    );
    let (_, out) = select(
        sim.base_url(),
        &file,
        &[
            "--org",
            &w.expired.scope.to_string(),
            "--expired",
            "--kinds",
            "org-api-key",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no kind has every condition it sets (expired)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().requests, 0);
}

#[test]
fn the_shipped_stale_secrets_job_selects_revokes_and_verifies_in_one_command() {
    let (w, sim) = spawn();
    let d = dir();
    let job = concat!(env!("CARGO_MANIFEST_DIR"), "/../../jobs/stale-secrets.toml");
    let report = path(&d, "stale.csv");
    let run = || {
        revoker()
            .args(["run", job, "--base-url", sim.atlas_url(), "--report"])
            .arg(&report)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Expired, or unused for 30 days; not the system-managed account's, not the fresh ones.
    let chosen = expect(&[
        &w.expired,
        &w.all_expired[0],
        &w.all_expired[1],
        &w.used_long_ago,
        &w.never_used,
    ]);
    let recs = records(&report);
    let mut done: Vec<String> = recs
        .iter()
        .filter(|r| r.outcome == Outcome::Done)
        .filter_map(|r| r.target())
        .map(|t| t.to_string())
        .collect();
    done.sort();
    assert_eq!(done, chosen);
    assert_eq!(count(&recs, Outcome::Verified), chosen.len());
    assert_eq!(sim.stats().deleted, chosen.len() as u64);
    // The selection is kept beside the report, and it is the input the audit record names.
    let selected = revoker::report::sidecar(&report, ".selected.csv");
    let bytes = std::fs::read(&selected).unwrap();
    let sha = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let audit = std::fs::read_to_string(revoker::report::audit::path_for(&report)).unwrap();
    let start: serde_json::Value = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["event"] == "start" && r["command"] == "run")
        .unwrap();
    assert_eq!(start["input_sha256"], sha);
    assert_eq!(start["selection"]["selected"], chosen.len());
    assert!(
        String::from_utf8_lossy(&bytes).contains("rule 2: last used never"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    // The job resumes: a second run the same day reads the kept selection and sends nothing.
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, chosen.len() as u64);
    assert_eq!(std::fs::read(&selected).unwrap(), bytes);
}
