//! MCP configuration secrets (`deleteOrgMcpSecret`, `deleteGroupMcpSecret`): selected from their
//! lists by their dates, and verified only by a configuration's complete list of secrets — a 404
//! on a configuration (`RESOURCE_NOT_FOUND`, all the spec gives) proves nothing.

use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_sim::{Meta, Seed};
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

const DAY: i64 = 86_400;

fn dated(t: &Target, expires_in_days: i64, org: &Target) -> Seed {
    let now = jiff::Timestamp::now().as_second();
    let mut s = seed(t);
    s.meta = Meta {
        created: Some(now - 30 * DAY),
        expires: Some(now + expires_in_days * DAY),
        ..Meta::default()
    };
    if !t.kind.is_org_wide() {
        s.meta.org = Some(oid(&org.scope));
    }
    s
}

#[test]
fn expired_mcp_secrets_of_an_organization_and_its_projects_are_selected_and_no_other() {
    let org = target(Kind::OrgMcpSecret, 9, 20, Some(21));
    let fresh = target(Kind::OrgMcpSecret, 9, 20, Some(22));
    let project = target(Kind::ProjectMcpSecret, 3, 23, Some(24));
    let seeds = vec![
        dated(&org, -1, &org),
        dated(&fresh, 30, &org),
        dated(&project, -2, &org),
    ];
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "selected.csv");
    let out = revoker()
        .args(["select", "--base-url", sim.atlas_url(), "--write"])
        .arg(&file)
        .args([
            "--org",
            &org.scope.to_string(),
            "--every-project",
            "--expired",
        ])
        .args(["--kinds", "org-mcp-secret,project-mcp-secret"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = text.lines().skip(1).collect();
    lines.sort();
    let row = |t: &Target| {
        let (p, o) = if t.kind.is_org_wide() {
            (String::new(), t.scope.to_string())
        } else {
            // A project row carries the organization it was selected under.
            (t.scope.to_string(), org.scope.to_string())
        };
        format!("{p},{o},{},{},{},", t.key_text(), t.secret_text(), t.kind)
    };
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines.iter().any(|l| l.starts_with(&row(&org))), "{text}");
    assert!(
        lines.iter().any(|l| l.starts_with(&row(&project))),
        "{text}"
    );
    assert_eq!(sim.stats().deletes, 0);
}

#[test]
fn an_mcp_secret_is_verified_by_its_configurations_list_and_a_missing_configuration_proves_nothing()
{
    let secret = target(Kind::ProjectMcpSecret, 3, 23, Some(24));
    let first = sim(SimConfig::default(), &[secret]);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &[secret]);
    let out = revoker()
        .args(["run", "--base-url", first.atlas_url(), "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .args(["--kinds", "project-mcp-secret"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let verify = |sim: &SimHandle| {
        revoker()
            .args(["verify", "--api-moved", "--base-url", sim.atlas_url()])
            .arg(&report)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    // The project is there, the configuration is not: 404 RESOURCE_NOT_FOUND proves nothing.
    let other = target(Kind::ProjectApiKey, 3, 30, None);
    let without = sim(SimConfig::default(), &[other]);
    let out = verify(&without);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let last = records(&report);
    assert!(
        last.iter().all(|r| r.outcome != Outcome::Verified),
        "{last:?}"
    );
    // The configuration is there with another secret: its complete list proves this one gone.
    let sibling = target(Kind::ProjectMcpSecret, 3, 23, Some(25));
    let with = sim(SimConfig::default(), &[sibling]);
    let out = verify(&with);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = records(&report);
    assert_eq!(
        rows.last().map(|r| r.outcome),
        Some(Outcome::Verified),
        "{rows:?}"
    );
}
