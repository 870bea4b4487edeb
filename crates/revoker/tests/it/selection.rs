//! `select` under lists that do not say what a careless reader assumes: dates in a form the
//! documents do not give, ids that cannot be read, a server that ignores `pageNum`; and the forms
//! MongoDB documents that it must read: an agent key's `createdTime` as an ISO 8601 string, an AI
//! model key id that is not 24 letters and digits, a project's service-account secrets.

use std::path::Path;
use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker_testkit::simulator::{ListFault, Meta, Seed, SimConfig, SimHandle};
use revoker_testkit::*;

const DAY: i64 = 86_400;

fn days(n: i64) -> i64 {
    jiff::Timestamp::now().as_second() + n * DAY
}

fn with(t: &Target, meta: Meta) -> Seed {
    let mut s = seed(t);
    s.meta = meta;
    s
}

/// `revoker select --base-url base --write file args…`: the rows written (as targets) and the output.
fn select(base: &str, file: &Path, args: &[&str]) -> (Vec<String>, std::process::Output) {
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
            let mut rows: Vec<String> = r
                .records()
                .map(|rec| {
                    let rec = rec.unwrap();
                    let scope = if rec[0].is_empty() { &rec[1] } else { &rec[0] };
                    Target::parse(&rec[4], scope, &rec[2], &rec[3])
                        .unwrap()
                        .to_string()
                })
                .collect();
            rows.sort();
            rows
        })
        .unwrap_or_default();
    (rows, out)
}

fn secret(org: u8, account: u8, s: u8) -> Target {
    target(Kind::ServiceAccountSecret, org, account, Some(s))
}

#[test]
fn a_last_use_written_without_a_time_never_selects_and_is_named() {
    // Used yesterday, created 60 days ago: with lastUsedAt unread it would look never used.
    let used = secret(0x3a, 1, 11);
    let meta = Meta {
        created: Some(days(-60)),
        expires: Some(days(100)),
        last_used: Some(days(-1)),
        ..Meta::default()
    };
    let config = SimConfig {
        list_fault: Some(ListFault::DateOnly),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, vec![with(&used, meta)]).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let org = used.scope.to_string();
    for rule in [&["--never-used"][..], &["--unused-for", "30d"]] {
        let mut args = vec!["--org", &org, "--kinds", "service-account-secret"];
        args.extend(rule);
        let (rows, out) = select(sim.atlas_url(), &file, &args);
        let err = stderr(&out);
        assert_eq!(rows, Vec::<String>::new(), "{rule:?}: {err}");
        assert_eq!(out.status.code(), Some(1), "{rule:?}: {err}");
        assert!(
            err.contains(&format!("{used}: not selected: rule 1: lastUsedAt \"")),
            "{err}"
        );
        assert!(err.contains("is not a date"), "{err}");
    }
}

#[test]
fn an_agent_key_created_time_is_read_as_an_iso_8601_string_or_epoch_milliseconds() {
    let string = target(Kind::AgentApiKey, 0x26, 51, None);
    let millis = target(Kind::AgentApiKey, 0x26, 52, None);
    let fresh = target(Kind::AgentApiKey, 0x26, 53, None);
    let old = |iso_created| Meta {
        created: Some(days(-400)),
        iso_created,
        ..Meta::default()
    };
    let seeds = vec![
        with(&string, old(true)),
        with(&millis, old(false)),
        with(
            &fresh,
            Meta {
                created: Some(days(-2)),
                iso_created: true,
                ..Meta::default()
            },
        ),
    ];
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let project = string.scope.to_string();
    let (rows, out) = select(
        sim.base_url(),
        &file,
        &["--project", &project, "--created-before", "365d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut want = vec![string.to_string(), millis.to_string()];
    want.sort();
    assert_eq!(rows, want);
}

#[test]
fn listed_items_whose_ids_cannot_be_read_are_counted_and_named() {
    // Three accounts with an expired secret each; the list writes every other clientId as a number.
    let secrets: Vec<Target> = (1..=3).map(|a| secret(0x3a, a, 10 + a)).collect();
    let expired = Meta {
        created: Some(days(-10)),
        expires: Some(days(-1)),
        ..Meta::default()
    };
    let seeds = secrets.iter().map(|t| with(t, expired)).collect();
    let config = SimConfig {
        list_fault: Some(ListFault::UnreadableIds),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let org = secrets[0].scope.to_string();
    let (rows, out) = select(sim.atlas_url(), &file, &["--org", &org, "--expired"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        err.contains(&format!(
            "GET /api/atlas/v2/orgs/{org}/serviceAccounts: 1 item listed with an id that cannot be read (clientId 1); not judged"
        )),
        "{err}"
    );
}

#[test]
fn a_server_that_ignores_page_numbers_ends_the_list_as_incomplete_at_once() {
    let secrets: Vec<Target> = (1..=3).map(|a| secret(0x3a, a, 10 + a)).collect();
    let config = SimConfig {
        list_fault: Some(ListFault::IgnorePageNum),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, seeds(&secrets)).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let org = secrets[0].scope.to_string();
    let (rows, out) = select(sim.atlas_url(), &file, &["--org", &org, "--expired"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(rows.is_empty(), "{rows:?}");
    assert!(
        err.contains("page 2 repeats only ids of earlier pages"),
        "{err}"
    );
    // The challenge and two pages.
    assert!(sim.stats().requests <= 4, "{}", sim.stats().requests);
}

#[test]
fn an_ai_model_key_id_of_another_shape_is_selected_and_revoked() {
    let odd = Target::parse(
        "ai-model-api-key",
        "262626262626262626262626",
        "voyage-Key_01.prod",
        "",
    )
    .expect("an id the API lists is a row");
    let seeds = vec![with(
        &odd,
        Meta {
            created: Some(days(-200)),
            last_used: Some(days(-100)),
            ..Meta::default()
        },
    )];
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let project = odd.scope.to_string();
    let (rows, out) = select(
        sim.atlas_url(),
        &file,
        &["--project", &project, "--unused-for", "30d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows, vec![odd.to_string()]);
    let report = path(&d, "r.csv");
    let out = revoker()
        .args([
            "run",
            "--base-url",
            sim.atlas_url(),
            "--kinds",
            "ai-model-api-key",
            "--input",
        ])
        .arg(&file)
        .arg("--report")
        .arg(&report)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 1);
}

#[test]
fn a_projects_service_account_secrets_are_selected_with_project_access_alone() {
    let p = 0x26;
    let expired = target(Kind::ProjectServiceAccountSecret, p, 7, Some(71));
    let fresh = target(Kind::ProjectServiceAccountSecret, p, 7, Some(72));
    let unused = target(Kind::ProjectServiceAccountSecret, p, 8, Some(81));
    let dated = |expires: i64, last_used: Option<i64>| Meta {
        created: Some(days(-90)),
        expires: Some(days(expires)),
        last_used: last_used.map(days),
        ..Meta::default()
    };
    let seeds = vec![
        with(&expired, dated(-1, Some(-2))),
        with(&fresh, dated(30, Some(-1))),
        with(&unused, dated(30, None)),
    ];
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "out.csv");
    let project = expired.scope.to_string();
    let (rows, out) = select(
        sim.atlas_url(),
        &file,
        &["--project", &project, "--expired"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows, vec![expired.to_string()]);
    let (rows, out) = select(
        sim.atlas_url(),
        &file,
        &["--project", &project, "--unused-for", "30d"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rows, vec![unused.to_string()]);
}
