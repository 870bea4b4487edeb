//! Guard rails (issue 36): protected organizations and projects, a reviewed plan applied as
//! reviewed (`plan --write`, `run --plan-file`, the outcome `drifted`), the typed confirmation.

use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_testkit::simulator::{ListFault, SimConfig};
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

fn plan_write(
    sim: &revoker_testkit::simulator::SimHandle,
    input: &std::path::Path,
    report: &std::path::Path,
    plan: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    revoker()
        .args(["plan", "--base-url", sim.base_url(), "--input"])
        .arg(input)
        .arg("--report")
        .arg(report)
        .arg("--write")
        .arg(plan)
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

/// The project the simulator's generated keys use with `n`: another project of the same world.
fn moved(t: &Target, to: &Target) -> Target {
    Target {
        scope: to.scope,
        ..*t
    }
}

#[test]
fn a_plan_applied_after_a_tenth_of_its_rows_drifted_sends_exactly_the_rest_and_names_each() {
    let present = keys(20, 2);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let plan = input.with_file_name("change-1234.plan.json");
    let out = plan_write(&sim, &input, &report, &plan, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(written["will_revoke"], 20);
    assert_eq!(written["rows"].as_array().unwrap().len(), 20);
    assert_eq!(written["base_url"], sim.base_url());
    // A plan file is never replaced.
    let again = plan_write(&sim, &input, &report, &plan, &[]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("never replaced"));

    // 10% drift: one row deleted by someone else, one key moved to the other project.
    let (gone, mover) = (present[0], present[2]);
    assert!(sim.vanish(&seed(&gone)));
    assert!(sim.vanish(&seed(&mover)));
    let other = present.iter().find(|t| t.scope != mover.scope).unwrap();
    sim.appear(&seed(&moved(&mover, other)));

    let out = run(
        &sim,
        &input,
        &report,
        &["--plan-file", plan.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let rows = records(&report);
    assert_eq!(count(&rows, Outcome::Done), 18);
    assert_eq!(count(&rows, Outcome::Drifted), 2);
    let err = stderr(&out);
    assert!(err.contains("2 of the plan's rows drifted"), "{err}");
    let truth = truth(&sim);
    for t in [gone, mover] {
        let key = t.key.to_string();
        assert!(err.contains(&key), "{key} not named: {err}");
        assert!(
            !truth.deletes_sent.iter().any(|d| d.path.contains(&key)),
            "{key} was sent"
        );
    }
    assert_eq!(truth.deletes_sent.len(), 18);
    // The moved key is still where it went.
    assert!(truth.holds(&moved(&mover, other)));
    // The run's audit start adopts the plan as its evidence.
    let audit = std::fs::read_to_string(revoker::report::audit::path_for(&report)).unwrap();
    let start = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["event"] == "start")
        .unwrap();
    assert_eq!(start["plan_sha256"].as_str().unwrap().len(), 64, "{start}");
    assert!(
        start["plan_file"]
            .as_str()
            .unwrap()
            .ends_with("change-1234.plan.json")
    );
    // A resume without the plan would send the drifted rows: refused, nothing sent.
    let out = run(&sim, &input, &report, &["--resume"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("its runs applied the reviewed plan"),
        "{}",
        stderr(&out)
    );
    assert_eq!(revoker_testkit::truth(&sim).deletes_sent.len(), 18);
}

#[test]
fn a_plan_is_refused_before_anything_is_sent_when_old_elsewhere_another_input_or_unsigned() {
    let present = keys(4, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let plan = input.with_file_name("p.json");
    let out = plan_write(&sim, &input, &report, &plan, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan_arg = plan.to_str().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let other_sim = revoker_testkit::sim(SimConfig::default(), &present);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--plan-max-age", "10ms"], "more than plan_max_age"),
        (vec!["--plan-public-key", plan_arg], "not signed"),
    ];
    for (args, why) in cases {
        let mut all = vec!["--plan-file", plan_arg];
        all.extend(args);
        let out = run(&sim, &input, &report, &all).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{why}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{why}: {}", stderr(&out));
    }
    let out = revoker()
        .args(["run", "--base-url", other_sim.base_url(), "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .args(["--plan-file", plan_arg])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it was made against"),
        "{}",
        stderr(&out)
    );
    let out = run(&sim, &input, &report, &["--plan-file", plan_arg])
        .env("MCLI_PUBLIC_API_KEY", "someoneelse")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("it was made as"), "{}", stderr(&out));
    let mut text = std::fs::read_to_string(&input).unwrap();
    text.push('\n');
    std::fs::write(&input, text).unwrap();
    let out = run(&sim, &input, &report, &["--plan-file", plan_arg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("from an input with SHA-256"),
        "{}",
        stderr(&out)
    );
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
    assert_eq!(truth(&other_sim).deletes_sent.len(), 0);
}

fn terminal(
    sim: &revoker_testkit::simulator::SimHandle,
    args: &[&str],
    code: &std::path::Path,
) -> String {
    let mut words = vec![
        "run".to_string(),
        "--base-url".into(),
        sim.base_url().into(),
    ];
    words.extend(args.iter().map(|a| a.to_string()));
    on_terminal(
        &shell_words::join(words),
        &format!("echo $? > {}; echo finished", code.display()),
    )
}

#[test]
fn on_a_terminal_deleting_credentials_asks_for_the_organization_name_and_several_for_the_count() {
    if !have_tool("tmux", "-V") {
        return;
    }
    let org = revoker::input::ObjectId::parse(SIM_ORG).unwrap();
    let other = revoker::input::ObjectId::from_bytes([0x0e; 12]);
    let org_keys = [
        Target {
            kind: Kind::OrgApiKey,
            scope: org,
            key: revoker::input::ObjectId::from_bytes([0x11; 12]),
            secret: None,
        },
        Target {
            kind: Kind::OrgApiKey,
            scope: org,
            key: revoker::input::ObjectId::from_bytes([0x12; 12]),
            secret: None,
        },
    ];
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &org_keys);
    let code = path(&d, "code");
    let (i, r) = (input.display().to_string(), report.display().to_string());
    let args = [
        "--input",
        i.as_str(),
        "--report",
        r.as_str(),
        "--kinds",
        "org-api-key",
    ];
    let term = revoker_testkit::Terminal::start(&terminal(&sim, &args, &code));
    let name = format!("organization {SIM_ORG}");
    let pane = term.wait_for("to go on");
    assert!(
        pane.contains(&format!("Type the organization's name to go on ({name}")),
        "{pane}"
    );
    term.type_line("yes");
    let pane = term.wait_for("finished");
    assert!(
        pane.contains("cancelled: the answer was not the organization's name"),
        "{pane}"
    );
    assert_eq!(std::fs::read_to_string(&code).unwrap().trim(), "1");
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
    drop(term);
    let term = revoker_testkit::Terminal::start(&terminal(&sim, &args, &code));
    term.wait_for("to go on");
    term.type_line(&name);
    let pane = term.wait_for("finished");
    assert_eq!(
        std::fs::read_to_string(&code).unwrap().trim(),
        "0",
        "{pane}"
    );
    assert_eq!(sim.stats().deleted, 2);

    // Two organizations: the number of credentials.
    let two = [
        Target {
            kind: Kind::OrgApiKey,
            scope: org,
            key: revoker::input::ObjectId::from_bytes([0x13; 12]),
            secret: None,
        },
        Target {
            kind: Kind::OrgApiKey,
            scope: other,
            key: revoker::input::ObjectId::from_bytes([0x14; 12]),
            secret: None,
        },
    ];
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &two);
    let code = path(&d, "code");
    let (i, r) = (input.display().to_string(), report.display().to_string());
    let args = [
        "--input",
        i.as_str(),
        "--report",
        r.as_str(),
        "--kinds",
        "org-api-key",
    ];
    let term = revoker_testkit::Terminal::start(&terminal(&sim, &args, &code));
    let pane = term.wait_for("to go on");
    assert!(
        pane.contains("Type the number of credentials to revoke to go on (2;"),
        "{pane}"
    );
    term.type_line("2");
    let pane = term.wait_for("finished");
    assert_eq!(
        std::fs::read_to_string(&code).unwrap().trim(),
        "0",
        "{pane}"
    );
    assert_eq!(sim.stats().deleted, 2);
}

#[test]
fn on_a_terminal_a_guarded_name_must_be_typed_and_yes_still_skips_everything() {
    if !have_tool("tmux", "-V") {
        return;
    }
    let present = keys(2, 1);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let job_file = path(&d, "job.toml");
    std::fs::write(&job_file, "guard_names = [\"*0DEFA017*\"]\n").unwrap();
    let code = path(&d, "code");
    let (i, r, j) = (
        input.display().to_string(),
        report.display().to_string(),
        job_file.display().to_string(),
    );
    let args = [j.as_str(), "--input", i.as_str(), "--report", r.as_str()];
    let term = revoker_testkit::Terminal::start(&terminal(&sim, &args, &code));
    let pane = term.wait_for("to go on");
    let name = format!("organization {SIM_ORG}");
    assert!(
        pane.contains(&format!("Type the guarded name to go on ({name};")),
        "{pane}"
    );
    term.type_line(&name);
    let pane = term.wait_for("finished");
    assert_eq!(
        std::fs::read_to_string(&code).unwrap().trim(),
        "0",
        "{pane}"
    );
    assert_eq!(sim.stats().deleted, 2);
    // --yes and no terminal ask nothing, as before.
    let out = run(&sim, &input, &path(&d, "r2.csv"), &[&j, "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_selection_touching_a_protected_org_is_refused_and_writes_nothing() {
    let present = keys(4, 2);
    let Job {
        sim,
        dir: d,
        input: _i,
        report: _r,
    } = job(SimConfig::default(), &present);
    let file = path(&d, "selected.csv");
    let project = present[0].scope.to_string();
    let out = revoker()
        .args([
            "select",
            "--base-url",
            sim.base_url(),
            "--project",
            &project,
        ])
        .args([
            "--kinds",
            "project-api-key",
            "--name",
            "*",
            "--protect",
            SIM_ORG,
            "--write",
        ])
        .arg(&file)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("touch"), "{err}");
    assert!(
        err.contains(&format!("organization {SIM_ORG}, which is protected")),
        "{err}"
    );
    assert!(!file.exists());
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
}

#[test]
fn a_signed_plan_is_applied_only_when_its_signature_verifies() {
    let present = keys(2, 1);
    let Job {
        sim,
        dir: d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let (secret, public) = (path(&d, "sign.key"), path(&d, "revoker.pub"));
    let out = revoker()
        .arg("keygen")
        .arg("--secret-key")
        .arg(&secret)
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = path(&d, "p.json");
    let sign = secret.to_str().unwrap();
    let out = plan_write(&sim, &input, &report, &plan, &["--sign-key", sign]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(path(&d, "p.json.minisig").exists());
    let plan_arg = plan.to_str().unwrap();
    // Signed, and no key to check it with: refused.
    let out = run(&sim, &input, &report, &["--plan-file", plan_arg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pass --plan-public-key"),
        "{}",
        stderr(&out)
    );
    // Changed after signing: refused.
    let original = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(
        &plan,
        original.replace("\"will_revoke\": 2", "\"will_revoke\": 3"),
    )
    .unwrap();
    let key = public.to_str().unwrap();
    let args = ["--plan-file", plan_arg, "--plan-public-key", key];
    let out = run(&sim, &input, &report, &args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signature does not match"),
        "{}",
        stderr(&out)
    );
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
    // As signed: applied.
    std::fs::write(&plan, original).unwrap();
    let out = run(&sim, &input, &report, &args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(truth(&sim).deletes_sent.len(), 2);
}

#[test]
fn a_wrong_org_cell_does_not_carry_a_row_of_a_protected_organization_past_the_guard() {
    let present = keys(2, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    // The export names another organization for the project than the one it is in.
    let mut csv = String::from("project,org,key,kind\n");
    for t in &present {
        csv.push_str(&format!(
            "{},6a0000000000000000000002,{},project-api-key\n",
            t.scope, t.key
        ));
    }
    std::fs::write(&input, csv).unwrap();
    for extra in [vec![], vec!["--plan"]] {
        let mut args = vec!["--protect", SIM_ORG];
        args.extend(extra);
        let out = run(&sim, &input, &report, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("2 rows touch a protected organization or project"),
            "{err}"
        );
        assert!(
            err.contains(&format!("organization {SIM_ORG}, which is protected")),
            "{err}"
        );
    }
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
}

// Issue 34 (wave 7): the cap's first check counts a plan file's rows, never a total it states.
#[test]
fn a_plan_file_whose_total_understates_its_rows_is_refused_before_the_cap_is_checked() {
    let present = keys(4, 1);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(SimConfig::default(), &present);
    let plan = input.with_file_name("p.json");
    let out = plan_write(&sim, &input, &report, &plan, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    written["will_revoke"] = serde_json::json!(1);
    std::fs::write(&plan, serde_json::to_vec_pretty(&written).unwrap()).unwrap();
    let plan_arg = plan.to_str().unwrap();
    let out = run(
        &sim,
        &input,
        &report,
        &["--plan-file", plan_arg, "--max-revocations", "2"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "its will_revoke says 1 but 4 of its rows are to be revoked (fate \"revoke\"): the file contradicts itself"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
    // A plan as written: the cap's message says where its count comes from.
    written["will_revoke"] = serde_json::json!(4);
    std::fs::write(&plan, serde_json::to_vec_pretty(&written).unwrap()).unwrap();
    let out = run(
        &sim,
        &input,
        &report,
        &["--plan-file", plan_arg, "--max-revocations", "2"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "this run would revoke 4 credentials (counted from the rows of plan file {plan_arg} that it will revoke), more than max_revocations 2"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(truth(&sim).deletes_sent.len(), 0);
}

// Issue 34 (wave 7): a row the plan and the run both refuse as the run's own credential is not
// named among the drifted rows; it is refused as own.
#[test]
fn a_plan_files_own_credential_row_is_refused_as_own_and_not_called_drifted() {
    let mut own = revoker_testkit::target(Kind::GlobalApiKey, 0, 21, None);
    own.scope = revoker::input::NO_SCOPE;
    let other = Target {
        key: revoker_testkit::target(Kind::GlobalApiKey, 0, 22, None).key,
        ..own
    };
    let rows = vec![other, own];
    let mut seeds = seeds(&rows);
    seeds[1].meta.caller = true;
    let sim = revoker_testkit::simulator::SimHandle::spawn(SimConfig::default(), seeds).unwrap();
    let d = dir();
    let (input, report) = (path(&d, "in.csv"), path(&d, "r.csv"));
    write_csv(&input, &rows);
    let plan = path(&d, "p.json");
    let out = plan_write(
        &sim,
        &input,
        &report,
        &plan,
        &["--kinds", "+global-api-key"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = run(
        &sim,
        &input,
        &report,
        &[
            "--kinds",
            "+global-api-key",
            "--plan-file",
            plan.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("drifted"), "{}", stderr(&out));
    let got: Vec<(u64, Outcome)> = records(&report)
        .into_iter()
        .map(|r| (r.line, r.outcome))
        .collect();
    assert!(got.contains(&(2, Outcome::Done)), "{got:?}");
    assert!(got.contains(&(3, Outcome::Invalid)), "{got:?}");
    let refused = records(&report).into_iter().find(|r| r.line == 3).unwrap();
    assert!(
        refused
            .message
            .starts_with("this row is the credential this run signs in with"),
        "{}",
        refused.message
    );
}

/// An organization key `key` of the simulator's organization, and its assignment to `project`.
fn org_key_in(key: u8, project: Option<u8>) -> Vec<Target> {
    let id = |b: u8| revoker::input::ObjectId::from_bytes([b; 12]);
    let org = revoker::input::ObjectId::parse(SIM_ORG).unwrap();
    let mut out = vec![Target {
        kind: Kind::OrgApiKey,
        scope: org,
        key: id(key),
        secret: None,
    }];
    out.extend(project.map(|p| Target {
        kind: Kind::ProjectApiKey,
        scope: id(p),
        key: id(key),
        secret: None,
    }));
    out
}

// Deleting an organization key removes it from every project it is assigned to: protecting the
// project protects the key's organization row too, as its list's `roles[].groupId` shows it.
#[test]
fn an_org_key_with_a_role_in_a_protected_project_is_refused_and_an_unread_list_refuses_it_too() {
    let mut seeds = org_key_in(0x0a, Some(0x11));
    seeds.extend(org_key_in(0x0b, Some(0x22)));
    let rows: Vec<Target> = seeds
        .iter()
        .filter(|t| t.kind == Kind::OrgApiKey)
        .copied()
        .collect();
    let project = "111111111111111111111111";
    let key = "0a0a0a0a0a0a0a0a0a0a0a0a";
    for fault in [None, Some(ListFault::ServerError)] {
        let config = SimConfig {
            list_fault: fault,
            ..SimConfig::default()
        };
        let Job {
            sim,
            dir: _d,
            input,
            report,
        } = job(config, &seeds);
        write_csv(&input, &rows);
        let args = ["--kinds", "+org-api-key", "--protect", project];
        let out = run(&sim, &input, &report, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{fault:?}: {}", stderr(&out));
        let err = stderr(&out);
        if fault.is_none() {
            let want = format!(
                "revoker: 1 row touches a protected organization or project; nothing was sent (remove it from the input, or the protection):\n  \
                 {}:2: org-api-key {SIM_ORG} {key}: organization API key {key} has a role in project {project}, which is protected (--protect): deleting the key removes it from that project; never sent\n",
                input.display()
            );
            assert_eq!(err, want);
        } else {
            // The list could not be read: neither key's roles are known.
            assert!(err.contains("2 rows touch a protected"), "{err}");
            for k in [key, "0b0b0b0b0b0b0b0b0b0b0b0b"] {
                assert!(
                    err.contains(&format!(
                        "organization API key {k}: the key list of organization {SIM_ORG} could not be read whole, so whether the key has a role in a protected project is not known; never sent (run again when the list can be read)"
                    )),
                    "{err}"
                );
            }
        }
        assert_eq!(truth(&sim).deletes_sent.len(), 0);
        // The key of another project goes; the protected project keeps its key.
        if fault.is_none() {
            write_csv(&input, &rows[1..]);
            let out = run(&sim, &input, &report, &args).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            let truth = truth(&sim);
            assert_eq!(truth.deletes_sent.len(), 1);
            assert!(truth.exists("project-api-key", project, key, None));
        }
    }
}
