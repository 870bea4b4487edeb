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
