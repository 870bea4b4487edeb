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
