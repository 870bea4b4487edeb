//! What a newcomer reads first: `--help` examples that work when pasted at 80 columns, a README
//! whose fresh-machine block leads to a binary and a simulator, a signing key the unit can read.

use revoker_testkit::*;

const COMMANDS: [&str; 8] = [
    "run",
    "plan",
    "select",
    "validate",
    "verify",
    "report",
    "keygen",
    "completions",
];

#[test]
fn help_examples_are_whole_commands_at_80_columns() {
    for command in COMMANDS {
        let out = revoker()
            .args([command, "--help"])
            .env("COLUMNS", "80")
            .output()
            .unwrap();
        let text = stdout(&out);
        let Some(examples) = text.split("Example").nth(1) else {
            continue;
        };
        let mut continued = false;
        for line in examples.lines().skip(1) {
            let whole = line.is_empty()
                || line.starts_with("  revoker ")
                || line.starts_with("  minisign ")
                || line.starts_with("  # ")
                || (continued && line.starts_with("      "));
            assert!(
                whole,
                "revoker {command} --help: a broken example line {line:?}\n{text}"
            );
            continued = line.ends_with('\\');
        }
    }
}

#[test]
fn the_demo_prints_commands_that_work_as_printed_within_80_columns() {
    let d = dir();
    let out = revoker()
        .args(["demo", "--quiet", "--dir"])
        .arg(d.path())
        .env("PATH", "/usr/bin:/bin")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let dir = d.path().display().to_string();
    for line in text
        .lines()
        .filter(|l| !l.contains(&dir) && !l.contains("127.0.0.1"))
    {
        assert!(
            line.chars().count() <= 80,
            "{line:?} is wider than 80 columns"
        );
    }
    let lines: Vec<&str> = text.lines().collect();
    let after = |label: &str| {
        let at = lines.iter().position(|l| l.trim() == label).unwrap();
        lines[at + 1].trim().to_string()
    };
    // No `revoker` on this PATH: the command names the binary itself, and works as printed.
    let inspect = after("inspect it:");
    assert!(!inspect.starts_with("revoker "), "{inspect}");
    let ran = std::process::Command::new("sh")
        .args(["-c", &inspect])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(1), "{inspect}: {}", stderr(&ran));
    assert!(stdout(&ran).contains("NOT finished"), "{}", stdout(&ran));
    let review = after("for review:");
    let ran = std::process::Command::new("sh")
        .args(["-c", &review])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(1), "{review}: {}", stderr(&ran));
    assert!(d.path().join("report.html").is_file());
    // The sample's projects are listed as projects: no id is both (issue 34, wave 7).
    let page = std::fs::read_to_string(d.path().join("report.html")).unwrap();
    for id in page.split("\">organization ").skip(1) {
        let id = &id[..24];
        assert!(
            !page.contains(&format!("project {id}")),
            "{id} is listed as both"
        );
    }
}

#[test]
fn the_signing_key_readme_makes_is_the_one_the_unit_hands_its_user_and_the_job_names() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).unwrap();
    let (readme, unit, job) = (
        read("README.md").replace('\n', " "),
        read("deploy/systemd/revoker-nightly.service"),
        read("jobs/nightly.toml"),
    );
    assert!(readme.contains("revoker keygen --secret-key /etc/revoker/sign.key"));
    assert!(unit.contains("#LoadCredential=sign.key:/etc/revoker/sign.key\n"));
    assert!(unit.contains("revoker keygen --secret-key /etc/revoker/sign.key"));
    assert!(job.contains("# sign_key = \"/run/credentials/revoker-nightly.service/sign.key\""));
    assert!(unit.contains("User=revoker\n"));
    let help = revoker().args(["keygen", "--help"]).output().unwrap();
    assert!(stdout(&help).contains("--secret-key /etc/revoker/sign.key"));
    assert!(stdout(&help).contains("LoadCredential="));
    if !have_tool("systemd-analyze", "--version") {
        return;
    }
    // Uncommented, systemd takes the line.
    let d = dir();
    std::fs::write(
        path(&d, "revoker-nightly.service"),
        unit.replace("#LoadCredential=", "LoadCredential="),
    )
    .unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "revoker-nightly.service"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("LoadCredential"), "{}", stderr(&out));
}

#[test]
fn export_headers_with_spaces_and_plural_kinds_are_read_as_kinds_are() {
    let d = dir();
    let input = path(&d, "export.csv");
    std::fs::write(
        &input,
        "Project ID,API Key ID,Key Type\n\
         5e0000000000000000000001,6a0000000000000000000001,Agent API Keys\n\
         5e0000000000000000000001,6a0000000000000000000002,Project API Key\n\
         5e0000000000000000000002,6a0000000000000000000003,agent api key\n",
    )
    .unwrap();
    let out = revoker().arg("validate").arg(&input).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("3 rows · 1 project-api-key · 2 agent-api-key"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn atlas_clis_own_list_json_is_read_through_its_results_and_an_org_keys_roles() {
    let d = dir();
    let input = path(&d, "keys.json");
    // `atlas organizations apiKeys list -o json`, as Atlas answers listOrgApiKeys.
    std::fs::write(
        &input,
        r#"{"links":[{"href":"https://cloud.mongodb.com/api/atlas/v2/orgs/5f0000000000000000000001/apiKeys?pageNum=1","rel":"self"}],
"results":[
 {"desc":"ci","id":"6a0000000000000000000001","privateKey":"********-****-****-0000-000000000000","publicKey":"abcdefgh",
  "roles":[{"orgId":"5f0000000000000000000001","roleName":"ORG_MEMBER"},{"groupId":"5e0000000000000000000001","roleName":"GROUP_OWNER"}]},
 {"desc":"old","id":"6a0000000000000000000002","publicKey":"ijklmnop",
  "roles":[{"orgId":"5f0000000000000000000001","roleName":"ORG_OWNER"}]}
],
"totalCount":2}"#,
    )
    .unwrap();
    let out = revoker()
        .args([
            "validate",
            "--kind",
            "org-api-key",
            "--kinds",
            "org-api-key",
            "-o",
            "json",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    for want in [
        "\"rows\":2",
        "\"invalid\":0",
        "\"org-api-key\":2",
        "\"scopes\":1",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // An object without results says what shape it wants.
    std::fs::write(&input, r#"{"links":[],"totalCount":0}"#).unwrap();
    let out = revoker().arg("validate").arg(&input).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("an Atlas list object {links, results, totalCount}"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_plan_table_fits_80_columns_and_says_each_refusal_once() {
    use revoker_testkit::simulator::SimConfig;
    let keys = keys(40, 4);
    let Job {
        sim,
        dir: _d,
        input,
        report,
    } = job(
        SimConfig {
            forbid_projects: vec![oid(&keys[1].scope), oid(&keys[3].scope)],
            ..SimConfig::default()
        },
        &keys,
    );
    let out = revoker()
        .args(["plan", "--base-url", sim.base_url(), "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let table = text.split("project or organization / kind").nth(1).unwrap();
    for line in table.lines().filter(|l| !l.starts_with("    (")) {
        assert!(line.chars().count() <= 80, "{line:?}\n{text}");
    }
    // Two forbidden projects, one kind each: their refusal is said once, with the count.
    assert_eq!(
        text.matches("does not have access to group").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("lists read: 2 complete; these prove nothing:\n  2 lists: "),
        "{text}"
    );
}

// Issue 34 (wave 7): the release binary carries no debug information (104 MB with line tables,
// 23.6 MB without).
#[test]
fn the_release_profile_strips_debug_information() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml")).unwrap();
    let doc: toml::Table = manifest.parse().unwrap();
    let release = &doc["profile"]["release"];
    assert_eq!(
        release.get("strip").and_then(|v| v.as_str()),
        Some("debuginfo")
    );
    assert!(release.get("debug").is_none(), "{release}");
}
