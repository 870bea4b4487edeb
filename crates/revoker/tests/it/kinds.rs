//! Every kind an incident needs, on Cloud Manager (v1.0) and on Atlas (v2), with both credentials:
//! the endpoints, their success codes, the versioned `Accept` of Atlas, what a re-run answers, and
//! the kinds that must never be sent.

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

const ALL_KINDS: &str = "project-api-key,agent-api-key,org-api-key,service-account,service-account-secret,project-service-account,project-service-account-secret,ai-model-api-key,global-api-key,org-mcp-secret,project-mcp-secret";

/// An AI model API key of project `project`, its id as Atlas writes them.
fn model_key(project: u8, id: &str) -> Target {
    Target::parse(
        "ai-model-api-key",
        &target(Kind::ProjectApiKey, project, 0, None)
            .scope
            .to_string(),
        id,
        "",
    )
    .expect("an AI model key id")
}

/// One or more rows of every kind the API has; the project-api-key rows are keys whose
/// organization key is not in the input, so that every row revokes something of its own.
fn every_kind(cloud_manager: bool) -> Vec<Target> {
    let mut rows = vec![
        target(Kind::ProjectApiKey, 1, 10, None),
        target(Kind::ProjectApiKey, 2, 11, None),
        target(Kind::OrgApiKey, 100, 12, None),
        target(Kind::OrgApiKey, 101, 13, None),
        target(Kind::ServiceAccount, 100, 14, None),
        target(Kind::ServiceAccountSecret, 100, 15, Some(16)),
        target(Kind::ServiceAccountSecret, 101, 17, Some(18)),
        // Both APIs document project service accounts (Cloud Manager's reference and the v2 spec).
        target(Kind::ProjectServiceAccount, 1, 22, None),
        target(Kind::ProjectServiceAccountSecret, 2, 23, Some(24)),
    ];
    if cloud_manager {
        rows.push(target(Kind::AgentApiKey, 1, 19, None));
        rows.push(target(Kind::AgentApiKey, 2, 20, None));
        let mut global = target(Kind::GlobalApiKey, 0, 21, None);
        global.scope = revoker::input::NO_SCOPE;
        rows.push(global);
    } else {
        rows.push(model_key(1, "a86r5kwrfsk5r5ku5tgvhmpj"));
        rows.push(model_key(1, "a86r5kwrfsk5r5ku5tgvhmpk"));
        // MCP configuration secrets (`deleteOrgMcpSecret`, `deleteGroupMcpSecret`): Atlas's alone.
        rows.push(target(Kind::OrgMcpSecret, 100, 25, Some(26)));
        rows.push(target(Kind::ProjectMcpSecret, 1, 27, Some(28)));
    }
    rows
}

fn run_kinds(
    sim: &SimHandle,
    base: &str,
    input: &std::path::Path,
    report: &std::path::Path,
    service: bool,
) -> std::process::Output {
    let mut cmd = revoker();
    cmd.arg("run")
        .arg("--input")
        .arg(input)
        .arg("--report")
        .arg(report)
        .args(["--base-url", base, "--kinds", ALL_KINDS]);
    let _ = sim;
    if service {
        cmd = with_service_account(cmd);
    }
    cmd.output().unwrap()
}

#[test]
fn every_kind_is_revoked_on_both_apis_with_both_credentials_and_a_rerun_is_all_not_found() {
    for (atlas, service) in [(false, false), (false, true), (true, false), (true, true)] {
        let rows = every_kind(!atlas);
        let sim = sim(SimConfig::default(), &rows);
        let base = if atlas {
            sim.atlas_url()
        } else {
            sim.base_url()
        }
        .to_string();
        let d = dir();
        let input = path(&d, "in.csv");
        write_csv(&input, &rows);
        let out = run_kinds(&sim, &base, &input, &path(&d, "r.csv"), service);
        assert_eq!(
            out.status.code(),
            Some(0),
            "atlas {atlas} service {service}: {}",
            stderr(&out)
        );
        let report = records(&path(&d, "r.csv"));
        assert_eq!(count(&report, Outcome::Done), rows.len());
        for r in &report {
            let kind = Kind::parse(&r.kind).unwrap();
            let expected = if atlas || kind.key_is_client_id() || kind == Kind::GlobalApiKey {
                204
            } else {
                200
            };
            assert_eq!(r.http_status, Some(expected), "{r:?}");
        }
        // The secret id is part of the row, in its own column.
        assert!(
            report
                .iter()
                .any(|r| r.secret
                    == target(Kind::ServiceAccountSecret, 0, 0, Some(16)).secret_text())
        );
        let stats = sim.stats();
        assert_eq!(stats.deleted, rows.len() as u64);
        assert_eq!(
            stats.status(406),
            0,
            "every Atlas request carried its versioned Accept"
        );
        // With an API key, the run learns its own key's id from the key list of each organization
        // with org-api-key rows (one page each), so that it never revokes itself mid-run.
        let orgs: std::collections::HashSet<_> = rows
            .iter()
            .filter(|t| t.kind == Kind::OrgApiKey)
            .map(|t| t.scope)
            .collect();
        // On Atlas, one GET /rateLimits before the first DELETE (the published limits).
        let published = u64::from(atlas);
        // With global-api-key rows (Ops Manager), GET /admin/apiKeys first: its own key may be one.
        let global = u64::from(rows.iter().any(|t| t.kind == Kind::GlobalApiKey));
        let requests = if service {
            rows.len() as u64 + published
        } else {
            rows.len() as u64 + 1 + global + orgs.len() as u64 + published
        };
        assert_eq!(
            stats.requests, requests,
            "one request a row (and for digest one challenge and one list per organization and for global keys)"
        );

        let out = run_kinds(&sim, &base, &input, &path(&d, "again.csv"), service);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let again = records(&path(&d, "again.csv"));
        assert_eq!(count(&again, Outcome::NotFound), rows.len(), "{again:#?}");
        assert_eq!(sim.stats().repeat_deletes, rows.len() as u64);

        // And verify confirms each one gone, with the list of its kind.
        let mut verify = revoker();
        verify
            .args(["verify", "--base-url", &base])
            .arg(path(&d, "r.csv"));
        if service {
            verify = with_service_account(verify);
        }
        let out = verify.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "atlas {atlas}: {}",
            stderr(&out)
        );
        let verified = records(&path(&d, "r.csv"));
        assert_eq!(count(&verified, Outcome::Verified), rows.len());
    }
}

#[test]
fn the_new_kinds_go_to_their_documented_paths_with_their_versions() {
    let base = url::Url::parse("https://cloud.mongodb.com/api/atlas/v2").unwrap();
    let project = target(Kind::ProjectServiceAccountSecret, 1, 2, Some(3));
    let p = project.scope;
    let atlas = revoker::api::Api::Atlas;
    let cases = [
        (
            target(Kind::ProjectServiceAccount, 1, 2, None),
            format!("groups/{p}/serviceAccounts/mdb_sa_id_{}", project.key),
            "application/vnd.atlas.2024-08-05+json",
        ),
        (
            project,
            format!(
                "groups/{p}/serviceAccounts/mdb_sa_id_{}/secrets/{}",
                project.key,
                project.secret_text()
            ),
            "application/vnd.atlas.2024-08-05+json",
        ),
        (
            model_key(1, "a86r5kwrfsk5r5ku5tgvhmpj"),
            format!("groups/{p}/aiModelApiKeys/a86r5kwrfsk5r5ku5tgvhmpj"),
            "application/vnd.atlas.2025-03-12+json",
        ),
        (
            target(Kind::OrgMcpSecret, 1, 2, Some(3)),
            format!(
                "orgs/{p}/mcpConfigs/{}/secrets/{}",
                project.key,
                project.secret_text()
            ),
            "application/vnd.atlas.2025-03-12+json",
        ),
        (
            target(Kind::ProjectMcpSecret, 1, 2, Some(3)),
            format!(
                "groups/{p}/mcpConfigs/{}/secrets/{}",
                project.key,
                project.secret_text()
            ),
            "application/vnd.atlas.2025-03-12+json",
        ),
    ];
    for (t, path, accept) in cases {
        assert_eq!(
            atlas.revoke_url(&base, &t, false).as_str(),
            format!("{base}/{path}"),
            "{t}"
        );
        assert_eq!(atlas.accept(t.kind), accept);
    }
    let mut global = target(Kind::GlobalApiKey, 0, 5, None);
    global.scope = revoker::input::NO_SCOPE;
    let om = url::Url::parse("https://om.example.com:8080/api/public/v1.0").unwrap();
    assert_eq!(
        revoker::api::Api::CloudManager
            .revoke_url(&om, &global, false)
            .as_str(),
        format!("{om}/admin/apiKeys/{}", global.key)
    );
}

#[test]
fn kinds_an_api_does_not_have_are_invalid_and_never_sent() {
    let cm_only = every_kind(true);
    let atlas_only = every_kind(false);
    for (api_rows, other_rows, base_is_atlas) in [
        (&atlas_only, &cm_only, true),
        (&cm_only, &atlas_only, false),
    ] {
        let sim = sim(SimConfig::default(), other_rows);
        let base = if base_is_atlas {
            sim.atlas_url()
        } else {
            sim.base_url()
        }
        .to_string();
        // The rows of the other API's own kinds only.
        let foreign: Vec<Target> = other_rows
            .iter()
            .filter(|t| !api_rows.iter().any(|r| r.kind == t.kind))
            .copied()
            .collect();
        let d = dir();
        let input = path(&d, "in.csv");
        write_csv(&input, &foreign);
        let out = run_kinds(&sim, &base, &input, &path(&d, "r.csv"), false);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let report = records(&path(&d, "r.csv"));
        assert_eq!(
            count(&report, Outcome::Invalid),
            foreign.len(),
            "{report:#?}"
        );
        assert_eq!(sim.stats().requests, 0);
    }
}

#[test]
fn deleting_an_org_key_unassigns_it_everywhere() {
    // The key is in the organization and assigned to two projects; the export revokes the
    // organization key first (sent alone), then the two project assignments.
    let rows = vec![
        target(Kind::OrgApiKey, 100, 12, None),
        target(Kind::ProjectApiKey, 1, 12, None),
        target(Kind::ProjectApiKey, 2, 12, None),
    ];
    let sim = sim(SimConfig::default(), &rows);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    let out = run(
        &sim,
        &input,
        &path(&d, "r.csv"),
        &[
            "--kinds",
            "org-api-key,project-api-key",
            "--concurrency",
            "1",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut report = records(&path(&d, "r.csv"));
    report.sort_by_key(|r| r.line);
    let outcomes: Vec<(Outcome, Option<u16>, &str)> = report
        .iter()
        .map(|r| (r.outcome, r.http_status, r.error_code.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (Outcome::Done, Some(200), ""),
            (Outcome::NotFound, Some(400), "API_KEY_NOT_FOUND"),
            (Outcome::NotFound, Some(400), "API_KEY_NOT_FOUND"),
        ]
    );
    assert_eq!(sim.stats().remaining, 0);
}

#[test]
fn organization_wide_kinds_are_never_sent_unless_allowed_by_name() {
    let rows = every_kind(true);
    let sim = sim(SimConfig::default(), &rows);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    let out = run(&sim, &input, &path(&d, "r.csv"), &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = records(&path(&d, "r.csv"));
    let invalid: Vec<_> = report
        .iter()
        .filter(|r| r.outcome == Outcome::Invalid)
        .collect();
    assert_eq!(invalid.len(), 7);
    assert!(invalid.iter().all(|r| {
        r.message
            .contains("it is sent only when allowed by name (--kinds")
    }));
    assert_eq!(count(&report, Outcome::Done), 5);
    let stats = sim.stats();
    assert_eq!(
        (stats.deleted, stats.requests),
        (5, 6),
        "not one request for the others"
    );

    // validate says the same, and the job's kinds allow them.
    let out = revoker().arg("validate").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out)
            .matches("it is sent only when allowed by name")
            .count(),
        5,
        "the two org keys and the two secrets are one line each"
    );
    let out = revoker()
        .arg("validate")
        .arg(&input)
        .args(["--kinds", ALL_KINDS])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!(
            "input = \"in.csv\"\nreport = \"job.csv\"\nkinds = [{}]\n",
            ALL_KINDS
                .split(',')
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .unwrap();
    let out = revoker()
        .arg("run")
        .arg(&job)
        .args(["--base-url", sim.base_url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn agent_keys_on_atlas_are_invalid_and_never_sent() {
    let rows = vec![
        target(Kind::AgentApiKey, 1, 10, None),
        target(Kind::ProjectApiKey, 1, 11, None),
    ];
    let sim = sim(SimConfig::default(), &rows);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    let out = revoker()
        .args(["run", "--base-url", sim.atlas_url(), "--input"])
        .arg(&input)
        .arg("--report")
        .arg(path(&d, "r.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = records(&path(&d, "r.csv"));
    let agent = report.iter().find(|r| r.kind == "agent-api-key").unwrap();
    assert_eq!(agent.outcome, Outcome::Invalid);
    assert!(
        agent
            .message
            .contains("does not exist on the Atlas Administration API"),
        "{}",
        agent.message
    );
    assert_eq!(sim.stats().deleted, 1);
    assert_eq!(sim.stats().remaining, 1, "the agent key was not touched");
    // validate --api atlas says so too.
    let out = revoker()
        .arg("validate")
        .arg(&input)
        .args(["--api", "atlas"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_sample_incident_export_has_every_kind_and_validates() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/incident-export.csv"
    );
    // One file for both APIs: on each, only the kinds the other API alone has are invalid.
    let mut valid: std::collections::BTreeMap<String, u64> = Default::default();
    for (api, invalid) in [("cloud-manager", 3), ("atlas", 7)] {
        let out = revoker()
            .args([
                "validate", sample, "--kinds", ALL_KINDS, "--api", api, "-o", "json",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["invalid"], invalid, "{api}: {json}");
        for kind in Kind::ALL {
            *valid.entry(kind.to_string()).or_default() +=
                json["kinds"][kind.as_str()].as_u64().unwrap_or(0);
        }
    }
    // Database users (issue 40) are an opt-in kind a sweep's follow-up names, not an export's.
    for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::DatabaseUser) {
        assert!(valid[kind.as_str()] > 0, "{kind}: {valid:?}");
    }
}

#[test]
fn client_ids_and_secrets_are_checked_per_kind() {
    let d = dir();
    let input = path(&d, "in.csv");
    std::fs::write(
        &input,
        "org,client_id,secretId,kind\n\
         5f1b2c3d4e5f6a7b8c9d0e1f,mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbbbbbb,serviceAccountSecret\n\
         5f1b2c3d4e5f6a7b8c9d0e1f,aaaaaaaaaaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbbbbbb,service_account_secret\n\
         5f1b2c3d4e5f6a7b8c9d0e1f,mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa,,service-account-secret\n\
         ,mdb_sa_id_aaaaaaaaaaaaaaaaaaaaaaaa,,serviceAccount\n",
    )
    .unwrap();
    let out = revoker()
        .arg("validate")
        .arg(&input)
        .args(["--kinds", ALL_KINDS])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let f = input.display().to_string();
    let lines: Vec<String> = stdout(&out).lines().map(|l| l.replace(&f, "F")).collect();
    assert_eq!(
        &lines[..3],
        [
            "F:3: client id \"aaaaaaaaaaaaaaaaaaaaaaaa\" is not a service account's client id (mdb_sa_id_ and 24 hex digits)",
            "F:4: secret id is missing",
            "F:5: org id is missing (service-account rows need the organization's id)",
        ]
    );
}

#[test]
fn cloud_manager_project_service_accounts_and_their_secrets_are_revoked_on_v1() {
    // Issue 32.6: Cloud Manager's reference documents "Unassign One Service Account from One
    // Project" and "Delete a Project Service Account Secret" (204 each, Accept: application/json).
    let rows = vec![
        target(Kind::ProjectServiceAccount, 1, 22, None),
        target(Kind::ProjectServiceAccountSecret, 2, 23, Some(24)),
    ];
    let sim = sim(SimConfig::default(), &rows);
    let d = dir();
    let input = path(&d, "in.csv");
    write_csv(&input, &rows);
    let out = run_kinds(&sim, sim.base_url(), &input, &path(&d, "r.csv"), false);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = records(&path(&d, "r.csv"));
    assert_eq!(count(&report, Outcome::Done), 2, "{report:#?}");
    assert!(
        report.iter().all(|r| r.http_status == Some(204)),
        "{report:#?}"
    );
    assert_eq!(sim.stats().deleted, 2);
    let out = revoker()
        .args(["verify", "--base-url", sim.base_url()])
        .arg(path(&d, "r.csv"))
        .output()
        .unwrap();
    // Each is proven gone by the project's lists on v1.0 too (the secret by its account's
    // `secrets[]`, the account still assigned to the project).
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        count(&records(&path(&d, "r.csv")), Outcome::Verified),
        2,
        "{}",
        stderr(&out)
    );
}
