//! `revoker census`: every credential-bearing object an organization and its projects hold, as
//! rows a run takes, with one request per list page; what could not be listed named (exit 1); a
//! file never replaced.

use std::collections::BTreeSet;

use revoker::input::{Kind, Target};
use revoker_sim::{ListFault, Seed};
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

const ORG: u8 = 100;
const PROJECT: u8 = 1;

/// One of every Atlas kind in organization `ORG` and its project `PROJECT`, a system-managed
/// service account among them.
fn world() -> (Vec<Target>, Vec<Seed>) {
    let model = Target::parse(
        "ai-model-api-key",
        &target(Kind::ProjectApiKey, PROJECT, 0, None)
            .scope
            .to_string(),
        "a86r5kwrfsk5r5ku5tgvhmpj",
        "",
    )
    .unwrap();
    let rows = vec![
        target(Kind::OrgApiKey, ORG, 12, None),
        target(Kind::ProjectApiKey, PROJECT, 12, None),
        target(Kind::ServiceAccountSecret, ORG, 15, Some(16)),
        target(Kind::ServiceAccountSecret, ORG, 17, Some(18)),
        target(Kind::ProjectServiceAccount, PROJECT, 15, None),
        model,
        target(Kind::OrgMcpSecret, ORG, 25, Some(26)),
        target(Kind::ProjectMcpSecret, PROJECT, 27, Some(28)),
    ];
    let org = oid(&target(Kind::OrgApiKey, ORG, 0, None).scope);
    let mut seeds = seeds(&rows);
    for s in seeds.iter_mut() {
        if !s.kind.is_org_wide() {
            s.meta.org = Some(org);
        }
        if s.key_text().ends_with(&"11".repeat(12)) {
            s.system_managed = true;
        }
    }
    (rows, seeds)
}

fn census(sim: &SimHandle, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let org = target(Kind::OrgApiKey, ORG, 0, None).scope.to_string();
    revoker()
        .args([
            "census",
            "--base-url",
            sim.atlas_url(),
            "--org",
            &org,
            "--write",
        ])
        .arg(file)
        .args(extra)
        .output()
        .unwrap()
}

/// The file's rows: `(kind, scope, key, secret, system_managed, revocable)`.
fn rows(file: &std::path::Path) -> Vec<csv::StringRecord> {
    let text = std::fs::read_to_string(file).unwrap();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect()
}

fn targets(records: &[csv::StringRecord]) -> BTreeSet<String> {
    records
        .iter()
        .filter_map(|r| {
            let scope = if r[0].is_empty() { &r[1] } else { &r[0] };
            Target::parse(&r[4], scope, &r[2], &r[3]).map(|t| t.to_string())
        })
        .collect()
}

#[test]
fn a_census_lists_every_kind_once_with_one_request_per_page_and_marks_system_managed_accounts() {
    let (listed, seeds) = world();
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "census.csv");
    let out = census(&sim, &file, &["--every-project"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = rows(&file);
    let mut expected: BTreeSet<String> = listed.iter().map(ToString::to_string).collect();
    // The secrets' accounts are listed too, each once.
    expected.insert(target(Kind::ServiceAccount, ORG, 15, None).to_string());
    expected.insert(target(Kind::ServiceAccount, ORG, 17, None).to_string());
    assert_eq!(targets(&records), expected);
    assert_eq!(records.len(), expected.len(), "{records:?}");
    assert!(records.iter().all(|r| &r[10] == "yes"));
    let system: Vec<&str> = records
        .iter()
        .filter(|r| &r[9] == "yes")
        .map(|r| &r[4])
        .collect();
    assert_eq!(system, ["service-account", "service-account-secret"]);
    // Organization: keys, accounts twice (with and without system-managed), MCP configurations
    // and their one configuration's secrets, projects; project: keys, assignments twice, AI
    // model keys, MCP configurations and secrets, database users. And a digest challenge.
    assert_eq!(sim.stats().requests, 6 + 7 + 1);
    assert_eq!(sim.stats().deletes, 0);
    let err = stderr(&out);
    assert!(err.contains("org-mcp-secret"), "{err}");
    assert!(
        err.contains("10 objects in 1 organization and 1 project with 14 requests"),
        "{err}"
    );
}

#[test]
fn a_census_never_replaces_a_file_and_names_what_it_could_not_list() {
    let (_, seeds) = world();
    let sim = SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let file = path(&d, "census.csv");
    std::fs::write(&file, "keep me\n").unwrap();
    let out = census(&sim, &file, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a census never replaces a file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    assert_eq!(sim.stats().requests, 0);

    let (_, seeds) = world();
    let config = SimConfig {
        list_fault: Some(ListFault::NoServiceAccounts),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, seeds).unwrap();
    let file = path(&d, "partial.csv");
    let out = census(&sim, &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("not listed: GET "), "{err}");
    assert!(err.contains("/serviceAccounts"), "{err}");
    // What could be read is still written: the organization's key and MCP secret.
    assert_eq!(
        targets(&rows(&file)),
        [
            target(Kind::OrgApiKey, ORG, 12, None).to_string(),
            target(Kind::OrgMcpSecret, ORG, 25, Some(26)).to_string()
        ]
        .into_iter()
        .collect()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
