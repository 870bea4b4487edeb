//! Many organizations in one run: a credential per organization, rows routed by their
//! organization (the input's `org` column, or the project's organization asked once and kept), a
//! refused credential stopping only its own rows, and the report naming who acted on each row.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use revoker::input::{Kind, Target};
use revoker::report::Outcome;
use revoker_testkit::simulator::{OrgKey, SimConfig, SimHandle};
use revoker_testkit::*;

const A: u8 = 0xa1;
const B: u8 = 0xb2;
const C: u8 = 0xc3;
const PA: u8 = 0x1a;
const PB: u8 = 0x1b;

fn org(n: u8) -> revoker_sim::Oid {
    oid(&target(Kind::OrgApiKey, n, 0, None).scope)
}

fn key(public: &str, private: &str, orgs: &[u8]) -> OrgKey {
    OrgKey {
        public_key: public.into(),
        private_key: private.into(),
        orgs: orgs.iter().map(|o| org(*o)).collect(),
    }
}

fn credentials(dir: &Path, name: &str, public: &str, private: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("public_key = \"{public}\"\nprivate_key = \"{private}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    name.into()
}

/// Rows of three organizations: org keys of A, B and C; project keys of a project of A (with the
/// `org` column) and of a project of B (without: its organization is asked).
fn rows() -> Vec<Target> {
    vec![
        target(Kind::OrgApiKey, A, 1, None),
        target(Kind::OrgApiKey, A, 2, None),
        target(Kind::OrgApiKey, B, 3, None),
        target(Kind::OrgApiKey, C, 4, None),
        target(Kind::OrgApiKey, C, 5, None),
        target(Kind::ProjectApiKey, PA, 6, None),
        target(Kind::ProjectApiKey, PB, 7, None),
    ]
}

fn world() -> SimHandle {
    let rows = rows();
    let mut seeds = seeds(&rows);
    for (s, t) in seeds.iter_mut().zip(&rows) {
        if t.kind == Kind::ProjectApiKey {
            s.meta.org = Some(org(if t.scope == rows[5].scope { A } else { B }));
        }
    }
    let config = SimConfig {
        more_keys: vec![
            key("key-a", "secret-a", &[A]),
            key("key-b", "secret-b", &[B]),
            key("key-c", "secret-c", &[C]),
        ],
        ..SimConfig::default()
    };
    SimHandle::spawn(config, seeds).expect("sim")
}

/// The input: `rows()` with the `org` column filled for the project of A only.
fn input(path: &Path) {
    let rows = rows();
    write_csv(path, &rows);
    let a = target(Kind::OrgApiKey, A, 0, None).scope.to_string();
    let pa = rows[5].scope.to_string();
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace(&format!("{pa},,"), &format!("{pa},{a},"));
    std::fs::write(path, text).unwrap();
}

fn job(dir: &Path, c_secret: &str) -> std::path::PathBuf {
    let id = |n: u8| target(Kind::OrgApiKey, n, 0, None).scope.to_string();
    let (a, b, c) = (
        credentials(dir, "a.toml", "key-a", "secret-a"),
        credentials(dir, "b.toml", "key-b", "secret-b"),
        credentials(dir, "c.toml", "key-c", c_secret),
    );
    let text = format!(
        "input = \"in.csv\"\nreport = \"r.csv\"\nkinds = [\"org-api-key\", \"project-api-key\"]\n\n[orgs.{}]\ncredentials_file = \"{a}\"\n\n[orgs.{}]\ncredentials_file = \"{b}\"\n\n[orgs.{}]\ncredentials_file = \"{c}\"\n",
        id(A),
        id(B),
        id(C)
    );
    let path = dir.join("orgs.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_job(sim: &SimHandle, job: &Path, extra: &[&str]) -> std::process::Output {
    revoker()
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .args(["run", "--base-url", sim.base_url()])
        .arg(job)
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

#[test]
fn one_run_covers_three_organizations_each_with_its_credential_and_a_refused_one_stops_only_its_rows()
 {
    let sim = world();
    let d = dir();
    input(&path(&d, "in.csv"));
    let job = job(d.path(), "wrong-secret");
    let out = run_job(&sim, &job, &[]);
    // C's credential is refused: its rows are not finished, the others are.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("API key key-c stopped: credentials rejected"),
        "{}",
        stderr(&out)
    );
    let report = path(&d, "r.csv");
    let mut got: Vec<(u64, Outcome, String)> = records(&report)
        .into_iter()
        .map(|r| {
            let by = r
                .message
                .rsplit("by ")
                .next()
                .unwrap_or("")
                .trim_end_matches(')')
                .to_string();
            (r.line, r.outcome, by)
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (2, Outcome::Done, "API key key-a".into()),
            (3, Outcome::Done, "API key key-a".into()),
            (4, Outcome::Done, "API key key-b".into()),
            (5, Outcome::Failed, "API key key-c".into()),
            (7, Outcome::Done, "API key key-a".into()),
            (8, Outcome::Done, "API key key-b".into()),
        ],
        "line 6 (C's second key) is not attempted once C's credential is refused"
    );
    let stats = sim.stats();
    assert_eq!(stats.deleted, 5);
    // Only the project without an org cell was asked, once.
    assert_eq!(stats.project_reads, 1);
    let kept = std::fs::read_to_string(revoker::report::sidecar(&report, ".orgs.json")).unwrap();
    assert!(kept.contains(&rows()[6].scope.to_string()), "{kept}");
    // The audit record names every credential by its public identity, never a secret.
    let audit = std::fs::read_to_string(revoker::report::audit::path_for(&report)).unwrap();
    assert!(audit.contains("API key key-a (organizations"), "{audit}");
    assert!(!audit.contains("secret-a") && !audit.contains("wrong-secret"));

    // Fixed, the resume finishes C's rows and asks no project's organization again.
    let job = self::job(d.path(), "secret-c");
    let out = run_job(&sim, &job, &["--resume", "--verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stats = sim.stats();
    assert_eq!((stats.deleted, stats.project_reads), (7, 1));
    // Each organization's lists were read with its own credential: every row confirmed gone.
    assert_eq!(count(&records(&report), Outcome::Verified), 7);
    let out = revoker()
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .args(["verify", "--base-url", sim.base_url(), "--job"])
        .arg(&job)
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        sim.stats().project_reads,
        1,
        "verify read the kept organizations too"
    );
}

#[test]
fn every_credential_refused_is_exit_3_and_an_unmapped_organization_is_rejected() {
    let sim = world();
    let d = dir();
    let rows = rows();
    // Only C's rows and a row of an organization no credential is for.
    // The unmapped row first: it is decided without a request, before C's credential is refused.
    let only: Vec<Target> = vec![target(Kind::OrgApiKey, 0xdd, 9, None), rows[3], rows[4]];
    write_csv(&path(&d, "in.csv"), &only);
    let id = |n: u8| target(Kind::OrgApiKey, n, 0, None).scope.to_string();
    let c = credentials(d.path(), "c.toml", "key-c", "wrong");
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!("input = \"in.csv\"\nreport = \"r.csv\"\nkinds = [\"org-api-key\"]\n[orgs.{}]\ncredentials_file = \"{c}\"\n", id(C)),
    )
    .unwrap();
    let out = run_job(&sim, &job, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let recs = records(&path(&d, "r.csv"));
    let unmapped = recs.iter().find(|r| r.line == 2).expect("the unmapped row");
    assert_eq!(unmapped.outcome, Outcome::Rejected);
    assert!(
        unmapped.message.starts_with(&format!(
            "no credential of this run is for organization {}",
            id(0xdd)
        )),
        "{}",
        unmapped.message
    );
    assert_eq!(sim.stats().deleted, 0);
}

/// Projects of B and C without `org` cells first, then A's rows: the default credential, key-a,
/// sees only A, so routing asks it (first) of projects it cannot see.
fn routing_world() -> (SimHandle, Vec<Target>) {
    let mut rows: Vec<Target> = (0..3u8)
        .map(|n| target(Kind::ProjectApiKey, 0x20 + n, 0x30 + n, None))
        .collect();
    rows.extend([
        target(Kind::OrgApiKey, A, 1, None),
        target(Kind::OrgApiKey, A, 2, None),
        // Asked after the others: no answer of key-a's succeeds before three refusals.
        target(Kind::ProjectApiKey, 0x40, 6, None),
    ]);
    let mut seeds = seeds(&rows);
    for (s, t) in seeds.iter_mut().zip(&rows) {
        if t.kind == Kind::ProjectApiKey {
            let home = match t.scope {
                s if s == rows[0].scope => B,
                s if s == rows[5].scope => A,
                _ => C,
            };
            s.meta.org = Some(org(home));
        }
    }
    let config = SimConfig {
        more_keys: vec![
            key("key-a", "secret-a", &[A]),
            key("key-b", "secret-b", &[B]),
            key("key-c", "secret-c", &[C]),
        ],
        ..SimConfig::default()
    };
    (SimHandle::spawn(config, seeds).expect("sim"), rows)
}

fn routing_job(dir: &Path) -> std::path::PathBuf {
    let id = |n: u8| target(Kind::OrgApiKey, n, 0, None).scope.to_string();
    let (b, c) = (
        credentials(dir, "b.toml", "key-b", "secret-b"),
        credentials(dir, "c.toml", "key-c", "secret-c"),
    );
    let text = format!(
        "input = \"in.csv\"\nreport = \"r.csv\"\nkinds = [\"org-api-key\", \"project-api-key\"]\n\n[orgs.{}]\ncredentials_file = \"{b}\"\n\n[orgs.{}]\ncredentials_file = \"{c}\"\n",
        id(B),
        id(C)
    );
    let path = dir.join("routing.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn as_key_a(command: &str, sim: &SimHandle, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    revoker()
        .env("MCLI_PUBLIC_API_KEY", "key-a")
        .env("MCLI_PRIVATE_API_KEY", "secret-a")
        .args([command, "--base-url", sim.base_url()])
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

/// Refusals a credential drew that were not digest challenges.
fn refusals(sim: &SimHandle) -> u64 {
    let stats = sim.stats();
    stats.status(401) - stats.challenges
}

#[test]
fn routing_reads_refused_by_other_organizations_never_stop_a_working_credential() {
    let (sim, rows) = routing_world();
    let d = dir();
    write_csv(&path(&d, "in.csv"), &rows);
    let job = routing_job(d.path());
    // The plan asks the same projects' organizations: a refused read is where key-a cannot see.
    let out = as_key_a("plan", &sim, &[job.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("stopped"), "{}", stderr(&out));
    assert_eq!(sim.stats().project_reads, 4, "each project asked once");

    let out = as_key_a("run", &sim, &[job.as_os_str(), "--verify".as_ref()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = path(&d, "r.csv");
    let recs = records(&report);
    assert_eq!(count(&recs, Outcome::Done), 6, "{recs:?}");
    assert_eq!(count(&recs, Outcome::Verified), 6, "{recs:?}");
    assert_eq!(sim.stats().deleted, 6);

    let out = as_key_a(
        "verify",
        &sim,
        &["--job".as_ref(), job.as_os_str(), report.as_os_str()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn each_credential_learns_its_own_key_id_only_in_the_organizations_it_serves() {
    let sim = world();
    let d = dir();
    input(&path(&d, "in.csv"));
    let job = job(d.path(), "secret-c");
    let out = run_job(&sim, &job, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // No credential asked an organization it is not for (401 USER_CANNOT_ACCESS_ORG): the one
    // refusal is key-a's, asked first of B's project's organization when routing.
    assert_eq!(refusals(&sim), 1, "{:?}", sim.stats());
    assert_eq!(sim.stats().project_reads, 1);
}

#[test]
fn a_dead_credential_is_said_when_it_stops_and_the_audit_record_says_why_its_rows_were_not_attempted()
 {
    use std::io::BufRead;
    // C's credential is refused at its first row; A's twelve rows take a while.
    let mut rows: Vec<Target> = (1..=12)
        .map(|k| target(Kind::OrgApiKey, A, k, None))
        .collect();
    rows.extend([
        target(Kind::OrgApiKey, C, 0x41, None),
        target(Kind::OrgApiKey, C, 0x42, None),
    ]);
    let config = SimConfig {
        more_keys: vec![
            key("key-a", "secret-a", &[A]),
            key("key-c", "secret-c", &[C]),
        ],
        latency: Duration::from_millis(150),
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, seeds(&rows)).expect("sim");
    let d = dir();
    write_csv(&path(&d, "in.csv"), &rows);
    let id = |n: u8| target(Kind::OrgApiKey, n, 0, None).scope.to_string();
    let (a, c) = (
        credentials(d.path(), "a.toml", "key-a", "secret-a"),
        credentials(d.path(), "c.toml", "key-c", "wrong"),
    );
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!("input = \"in.csv\"\nreport = \"r.csv\"\nkinds = [\"org-api-key\"]\nconcurrency = 1\n[orgs.{}]\ncredentials_file = \"{a}\"\n[orgs.{}]\ncredentials_file = \"{c}\"\n", id(A), id(C)),
    )
    .unwrap();
    let report = path(&d, "r.csv");
    let mut child = clean_command(assert_cmd::cargo::cargo_bin("revoker"))
        .env_remove("MCLI_PUBLIC_API_KEY")
        .env_remove("MCLI_PRIVATE_API_KEY")
        .args(["run", "--base-url", sim.base_url()])
        .arg(&job)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut said_at = None;
    let mut text = String::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if said_at.is_none() && line.contains("API key key-c stopped") {
            said_at = Some(records_or_none(&report));
        }
        text.push_str(&line);
        text.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    let said_at = said_at.unwrap_or_else(|| panic!("never said: {text}"));
    assert!(
        said_at < 12,
        "said when C stopped, not after A's 12 rows ({said_at} written): {text}"
    );
    let audit = std::fs::read_to_string(revoker::report::audit::path_for(&report)).unwrap();
    let end: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(end["not_attempted"], 1, "{end}");
    let stopped = end["stopped"].as_str().unwrap_or_default();
    assert!(
        stopped.contains("API key key-c") && stopped.contains("credentials rejected"),
        "{end}"
    );
}

#[test]
fn a_routing_map_that_is_a_fifo_is_an_error_naming_it_never_a_hang() {
    let sim = world();
    let d = dir();
    input(&path(&d, "in.csv"));
    let job = job(d.path(), "secret-c");
    let map = path(&d, "r.csv.orgs.json");
    let status = std::process::Command::new("mkfifo")
        .arg(&map)
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_job(&sim, &job, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("r.csv.orgs.json: ") && stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().deleted, 0);
    // Not JSON: the same, naming it.
    std::fs::remove_file(&map).unwrap();
    std::fs::write(&map, "{ not json").unwrap();
    let out = run_job(&sim, &job, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("r.csv.orgs.json: not a project → organization map"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_row_no_credential_can_send_names_no_credential_and_says_why() {
    let sim = world();
    let d = dir();
    let rows = rows();
    let only: Vec<Target> = vec![target(Kind::OrgApiKey, 0xdd, 9, None), rows[3], rows[4]];
    write_csv(&path(&d, "in.csv"), &only);
    let id = |n: u8| target(Kind::OrgApiKey, n, 0, None).scope.to_string();
    let c = credentials(d.path(), "c.toml", "key-c", "secret-c");
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!("input = \"in.csv\"\nreport = \"r.csv\"\nkinds = [\"org-api-key\"]\n[orgs.{}]\ncredentials_file = \"{c}\"\n", id(C)),
    )
    .unwrap();
    let out = run_job(&sim, &job, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let recs = records(&path(&d, "r.csv"));
    let unmapped = recs.iter().find(|r| r.line == 2).expect("the unmapped row");
    assert_eq!(unmapped.outcome, Outcome::Rejected);
    assert_eq!(
        unmapped.message,
        format!(
            "no credential of this run is for organization {} (the job maps only {})",
            id(0xdd),
            id(C)
        )
    );
    // Sent rows still name the credential that acted on them.
    assert!(
        recs.iter()
            .filter(|r| r.line > 2)
            .all(|r| r.message.ends_with("by API key key-c")),
        "{recs:?}"
    );
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains(&format!("organization {}", id(0xdd))))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains(": not sent (no credential of this run"),
        "{line}"
    );
    assert!(
        !line.contains("API refused") && !line.contains("by API key"),
        "{line}"
    );
    let out = revoker()
        .arg("report")
        .arg(path(&d, "r.csv"))
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("API refused"), "{}", stdout(&out));
}

#[test]
fn a_project_every_credential_refuses_with_not_in_group_may_not_exist_and_says_so() {
    // Issue 32.9: `401 NOT_IN_GROUP` is also what a project that does not exist answers (the error
    // reference: "Current user is not in the group, or the group does not exist").
    let sim = world();
    let d = dir();
    let rows = rows();
    let nowhere = target(Kind::ProjectApiKey, 0x77, 9, None);
    write_csv(&path(&d, "in.csv"), &[rows[0], nowhere]);
    let id = |n: u8| target(Kind::OrgApiKey, n, 0, None).scope.to_string();
    let (a, b) = (
        credentials(d.path(), "a.toml", "key-a", "secret-a"),
        credentials(d.path(), "b.toml", "key-b", "secret-b"),
    );
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!("input = \"in.csv\"\nreport = \"r.csv\"\nkinds = [\"org-api-key\", \"project-api-key\"]\n[orgs.{}]\ncredentials_file = \"{a}\"\n[orgs.{}]\ncredentials_file = \"{b}\"\n", id(A), id(B)),
    )
    .unwrap();
    let out = run_job(&sim, &job, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let recs = records(&path(&d, "r.csv"));
    let row = recs.iter().find(|r| r.line == 3).expect("the project row");
    assert_eq!(row.outcome, Outcome::Rejected);
    assert!(
        row.message.starts_with(&format!(
            "project {}: no credential of this run can see it, or it does not exist (every credential answered 401 NOT_IN_GROUP",
            nowhere.scope
        )),
        "{}",
        row.message
    );
}
