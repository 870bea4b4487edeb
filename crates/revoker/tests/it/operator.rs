//! Fit to the operator's hands: `--kinds +…` adds the destructive kinds to the default, an empty
//! export is said, Terraform's variable names are read, and one refusing project is not "every
//! project refused".

use revoker::input::Kind;
use revoker::report::Outcome;
use revoker_testkit::simulator::SimConfig;
use revoker_testkit::*;

#[test]
fn a_plus_adds_the_destructive_kinds_to_the_default() {
    let rows = [
        target(Kind::ProjectApiKey, 1, 2, None),
        target(Kind::AgentApiKey, 1, 3, None),
        target(Kind::OrgApiKey, 4, 5, None),
    ];
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &rows);
    let out = run(&sim, &input, &report, &["--kinds", "+org-api-key"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(count(&records(&report), Outcome::Done), 3);
    // Without the +, exactly the kinds named.
    let out = revoker()
        .args(["validate", "--kinds", "org-api-key"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("kind project-api-key is not allowed by this job"),
        "{said}"
    );
}

#[test]
fn an_export_with_a_header_and_no_rows_is_said_even_quietly() {
    let sim = sim(SimConfig::default(), &[]);
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    std::fs::write(&input, "project,key,kind\n").unwrap();
    let out = run(&sim, &input, &report, &["--quiet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has a header and no rows: nothing to revoke — is the export empty?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn terraforms_variable_names_sign_in() {
    let keys = keys(4, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &keys);
    let out = run(&sim, &input, &report, &[])
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .env(
            "MONGODB_ATLAS_PUBLIC_KEY",
            revoker_testkit::simulator::DEFAULT_PUBLIC_KEY,
        )
        .env(
            "MONGODB_ATLAS_PRIVATE_KEY",
            revoker_testkit::simulator::DEFAULT_PRIVATE_KEY,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(sim.stats().deleted, 4);
}

#[test]
fn kinds_as_exports_spell_them_and_a_near_miss_is_named() {
    let d = dir();
    let input = path(&d, "in.csv");
    std::fs::write(
        &input,
        "project,key,kind\n5e0000000000000000000001,6a0000000000000000000001,Project API Key\n5e0000000000000000000001,6a0000000000000000000002,agent-key\n5e0000000000000000000001,6a0000000000000000000003,projct api key\n",
    )
    .unwrap();
    let out = revoker().arg("validate").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "{}:4: unknown kind \"projct api key\": did you mean project-api-key?",
            input.display()
        )),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("1 project-api-key · 1 agent-api-key"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_input_given_where_the_job_file_goes_says_input() {
    let d = dir();
    let input = path(&d, "keys.csv");
    std::fs::write(&input, "project,key,kind\n").unwrap();
    let out = revoker().arg("run").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        format!(
            "revoker: job file {}: this looks like an input file, not a job file (TOML): pass it as --input {}",
            input.display(),
            input.display()
        )
    );
}

#[test]
fn a_report_folder_that_does_not_exist_is_created_and_said() {
    let keys = keys(2, 1);
    let Job {
        sim,
        dir: d,
        input,
        report: _,
    } = job(SimConfig::default(), &keys);
    let report = d.path().join("reports/night/r.csv");
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "revoker: creating the report folder {}",
            std::fs::canonicalize(d.path())
                .unwrap()
                .join("reports/night")
                .display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(report.exists());
}
