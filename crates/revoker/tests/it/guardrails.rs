//! Guard rails (issue 36): protected organizations and projects, a reviewed plan applied as
//! reviewed (`plan --write`, `run --plan-file`, the outcome `drifted`), the typed confirmation.

use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

/// The organization the simulator puts a project in when its seed names none.
const SIM_ORG: &str = "0defa0170000000000000000";

#[test]
fn a_protected_org_refuses_every_row_of_its_projects_before_anything_is_sent() {
    let present = keys(6, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let out = run(&sim, &input, &report, &["--protect", SIM_ORG])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("6 rows touch a protected organization or project"),
        "{err}"
    );
    for t in &present {
        assert!(err.contains(&t.key.to_string()), "{t} not named: {err}");
    }
    assert!(
        err.contains(&format!("organization {SIM_ORG}, which is protected")),
        "{err}"
    );
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
    assert_eq!(records_or_none(&report), 0);
}

#[test]
fn a_protected_project_is_refused_in_plan_run_and_dry_run_and_the_others_named_nowhere() {
    let present = keys(6, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let project = present[0].scope.to_string();
    let protected: Vec<&Target> = present
        .iter()
        .filter(|t| t.scope == present[0].scope)
        .collect();
    let file = input.with_file_name("protect.txt");
    std::fs::write(&file, format!("# production\n{project}\n")).unwrap();
    for args in [
        vec!["--protect", file.to_str().unwrap()],
        vec!["--protect", file.to_str().unwrap(), "--dry-run"],
    ] {
        let out = run(&sim, &input, &report, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("3 rows touch a protected"), "{err}");
        for t in &present {
            assert_eq!(
                err.contains(&t.key.to_string()),
                protected.contains(&t),
                "{t}: {err}"
            );
        }
    }
    let out = revoker()
        .args([
            "plan",
            "--base-url",
            sim.base_url(),
            "--protect",
            &project,
            "--input",
        ])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 rows touch a protected"));
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
    // Without the protection the same run goes.
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count(&records(&report), Outcome::Done), 6);
    let _ = Kind::ProjectApiKey;
}

#[test]
fn a_job_file_protects_and_a_flag_adds_to_it_never_lifts_it() {
    let present = keys(4, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let job_file = input.with_file_name("job.toml");
    std::fs::write(&job_file, format!("protect = [\"{SIM_ORG}\"]\n")).unwrap();
    let other = "5f0000000000000000000001";
    let out = run(
        &sim,
        &input,
        &report,
        &[job_file.to_str().unwrap(), "--protect", other],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("4 rows touch"), "{}", stderr(&out));
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
}
