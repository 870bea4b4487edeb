//! How answers are read where MongoDB's documents say more than a status: a project or
//! organization of the other API, a project's secret after its account's unassignment, AI model
//! key ids compared as the API compares them.

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

fn run_at(
    base: &str,
    input: &std::path::Path,
    report: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    revoker()
        .args(["run", "--base-url", base, "--input"])
        .arg(input)
        .arg("--report")
        .arg(report)
        .args(extra)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

/// Two projects of Cloud Manager, two keys each.
fn cloud_manager_world(also: &[Target]) -> (SimHandle, Vec<Target>) {
    let rows: Vec<Target> = [(1, 10), (1, 11), (2, 12), (2, 13)]
        .into_iter()
        .map(|(p, k)| target(Kind::ProjectApiKey, p, k, None))
        .collect();
    let config = SimConfig {
        cloud_manager_only: vec![oid(&rows[0].scope), oid(&rows[2].scope)],
        ..SimConfig::default()
    };
    let all: Vec<Target> = rows.iter().chain(also).copied().collect();
    (sim(config, &all), rows)
}

#[test]
fn a_cloud_manager_project_on_atlas_is_not_gone_and_every_row_so_is_a_wrong_base_url() {
    // Issue 32.2: 404 NOT_ATLAS_GROUP ("Group … is not an Atlas group; use the Cloud Manager Public
    // API at /api/public/v1.0") says the project exists, under the other API.
    let (sim, rows) = cloud_manager_world(&[]);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    let report = path(&d, "r.csv");
    let out = run_at(sim.atlas_url(), &input, &report, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let recs = records(&report);
    assert!(!recs.is_empty());
    for r in &recs {
        assert_eq!(r.outcome, Outcome::Rejected, "{r:?}");
        assert_eq!(r.error_code, "NOT_ATLAS_GROUP", "{r:?}");
        assert!(r.message.contains(sim.base_url()), "{r:?}");
    }
    assert!(
        stderr(&out).contains(&format!("use --base-url {}", sim.base_url())),
        "{}",
        stderr(&out)
    );
    // The right API, on a resume of the same report, revokes them.
    let out = run_at(sim.base_url(), &input, &report, &["--resume"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 4);
}

#[test]
fn one_cloud_manager_project_among_atlas_rows_is_rejected_and_the_rest_go_on() {
    let atlas = [
        target(Kind::ProjectApiKey, 3, 14, None),
        target(Kind::ProjectApiKey, 4, 15, None),
    ];
    let (sim, rows) = cloud_manager_world(&atlas);
    let d = dir();
    let input = path(&d, "in.csv");
    let mixed = [atlas[0], rows[0], atlas[1]];
    write_csv(&input, &mixed);
    let report = path(&d, "r.csv");
    let out = run_at(sim.atlas_url(), &input, &report, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let recs = records(&report);
    assert_eq!(count(&recs, Outcome::Done), 2);
    let cm = recs.iter().find(|r| r.line == 3).unwrap();
    assert_eq!(
        (cm.outcome, cm.error_code.as_str()),
        (Outcome::Rejected, "NOT_ATLAS_GROUP")
    );
    assert!(cm.message.contains(sim.base_url()), "{cm:?}");
}

#[test]
fn an_atlas_organization_on_cloud_manager_is_not_gone() {
    // EXPECTED_NON_ATLAS_ORG: "The organization with id … is an Atlas organization."
    let rows = vec![target(Kind::OrgApiKey, 5, 16, None)];
    let config = SimConfig {
        atlas_only: vec![oid(&rows[0].scope)],
        ..SimConfig::default()
    };
    let sim = sim(config, &rows);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    let report = path(&d, "r.csv");
    let out = run_at(
        sim.base_url(),
        &input,
        &report,
        &["--kinds", "+org-api-key"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let recs = records(&report);
    assert_eq!(recs.len(), 1);
    assert_eq!(
        (recs[0].outcome, recs[0].error_code.as_str()),
        (Outcome::Rejected, "EXPECTED_NON_ATLAS_ORG")
    );
    assert!(recs[0].message.contains(sim.atlas_url()), "{:?}", recs[0]);
}

const ORG: u8 = 0x0a;

/// A project's service account (client 22, in project 1 of organization `ORG`) and its secret 24.
fn assigned_secret() -> (SimHandle, Target, Target) {
    let unassign = target(Kind::ProjectServiceAccount, 1, 22, None);
    let secret = target(Kind::ProjectServiceAccountSecret, 1, 22, Some(24));
    let mut seeds = seeds(&[secret]);
    seeds[0].meta.org = Some(oid(&target(Kind::OrgApiKey, ORG, 0, None).scope));
    let sim =
        revoker_testkit::simulator::SimHandle::spawn(SimConfig::default(), seeds).expect("sim");
    (sim, unassign, secret)
}

#[test]
fn a_projects_secret_is_sent_before_its_accounts_unassignment_in_that_project() {
    // Issue 32.1: in file order the unassignment went first and the secret's DELETE then answered
    // 404 through the project: `not_found`, exit 0, while the secret stayed active.
    for atlas in [true, false] {
        let (sim, unassign, secret) = assigned_secret();
        let base = if atlas {
            sim.atlas_url()
        } else {
            sim.base_url()
        }
        .to_string();
        let d = dir();
        let input = path(&d, "in.csv");
        write_csv(&input, &[unassign, secret]);
        let report = path(&d, "r.csv");
        let out = run_at(
            &base,
            &input,
            &report,
            &["--kinds", "+project-service-account-secret"],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let recs = records(&report);
        assert_eq!(count(&recs, Outcome::Done), 2, "{recs:#?}");
        assert_eq!(recs[0].line, 3, "the secret first: {recs:#?}");
        assert!(!still_in_org(&base, &secret), "the secret is gone");
    }
}

/// Whether the secret was still in its organization's account: a run that deletes it there says
/// (`done`), or finds it gone (`not_found`).
fn still_in_org(base: &str, secret: &Target) -> bool {
    let d = dir();
    let input = path(&d, "org.csv");
    let in_org = Target {
        kind: Kind::ServiceAccountSecret,
        scope: target(Kind::OrgApiKey, ORG, 0, None).scope,
        ..*secret
    };
    write_csv(&input, &[in_org]);
    let report = path(&d, "org.report.csv");
    let out = run_at(
        base,
        &input,
        &report,
        &["--kinds", "+service-account-secret"],
    );
    match records(&report).first().map(|r| r.outcome) {
        Some(Outcome::Done) => true,
        Some(Outcome::NotFound) => false,
        other => panic!("{other:?}: {}", stderr(&out)),
    }
}

#[test]
fn a_projects_secret_after_an_earlier_unassignment_is_deleted_through_its_organization_or_left() {
    let (sim, unassign, secret) = assigned_secret();
    let base = sim.atlas_url().to_string();
    let d = dir();
    let first = path(&d, "first.csv");
    write_csv(&first, &[unassign]);
    let out = run_at(&base, &first, &path(&d, "first.report.csv"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Not allowed to delete organization secrets: the project's 404 proves nothing; left unfinished.
    let input = path(&d, "in.csv");
    write_csv(&input, &[secret]);
    let report = path(&d, "r.csv");
    let out = run_at(
        &base,
        &input,
        &report,
        &["--kinds", "+project-service-account-secret"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let recs = records(&report);
    assert_eq!(recs[0].outcome, Outcome::Rejected, "{recs:#?}");
    assert!(
        recs[0].message.contains("+service-account-secret"),
        "{}",
        recs[0].message
    );

    // Allowed: the resume deletes it through its organization (asked with GET /groups/{id}); the
    // 204 there shows it was still active.
    let out = run_at(
        &base,
        &input,
        &report,
        &[
            "--resume",
            "--kinds",
            "+project-service-account-secret,service-account-secret",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = records(&report);
    let last = recs.last().unwrap();
    assert_eq!(
        (last.outcome, last.http_status),
        (Outcome::Done, Some(204)),
        "{last:?}"
    );
    assert!(
        last.message.contains("through its organization"),
        "{last:?}"
    );
    assert!(!still_in_org(&base, &secret));
}

#[test]
fn an_ai_model_key_spelled_in_another_case_is_neither_gone_nor_verified() {
    // Issue 31.10: AI model key ids are not hex (the spec's `apiKeyId`, a string such as
    // `a86r5kwrfsk5r5ku5tgvhmpj`): the API compares them exactly, so a row spelled in another case
    // names no key. Its not-found proves nothing of the key the project lists.
    let listed = Target::parse(
        "ai-model-api-key",
        &target(Kind::ProjectApiKey, 1, 0, None).scope.to_string(),
        "a86r5kwrfsk5r5ku5tgvhmpj",
        "",
    )
    .unwrap();
    let asked = Target::parse(
        "ai-model-api-key",
        &listed.scope.to_string(),
        "A86R5KWRFSK5R5KU5TGVHMPJ",
        "",
    )
    .unwrap();
    let sim = sim(SimConfig::default(), &[listed]);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &[asked]);
    let report = path(&d, "r.csv");
    let out = run_at(
        sim.atlas_url(),
        &input,
        &report,
        &["--kinds", "+ai-model-api-key"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let recs = records(&report);
    assert_eq!(recs[0].outcome, Outcome::Rejected, "{recs:#?}");
    assert!(
        recs[0].message.contains("a86r5kwrfsk5r5ku5tgvhmpj"),
        "{}",
        recs[0].message
    );
    assert_eq!(sim.stats().deleted, 0);

    // A row whose not-found was right when sent is not verified by a list that holds the key in
    // another case (here the same API at another address, `--api-moved`).
    let other = Target::parse(
        "ai-model-api-key",
        &listed.scope.to_string(),
        "otherkey0000000000000000",
        "",
    )
    .unwrap();
    let before = revoker_testkit::sim(SimConfig::default(), &[other]);
    let report = path(&d, "gone.csv");
    let out = run_at(
        before.atlas_url(),
        &input,
        &report,
        &["--kinds", "+ai-model-api-key"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(records(&report)[0].outcome, Outcome::NotFound);
    let out = revoker()
        .args(["verify", "--api-moved", "--base-url", sim.atlas_url()])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let last = records(&report).pop().unwrap();
    assert_eq!(last.outcome, Outcome::StillPresent, "{last:?}");
    assert!(
        last.message.contains("a86r5kwrfsk5r5ku5tgvhmpj"),
        "{last:?}"
    );
}
