//! Signed evidence an auditor can check with one line of stock tools: the signature covers the
//! report and its audit file, is good only for the report it was made for, and tells a run added
//! without the key from a change; read-only commands never make signed evidence fail its check.

use std::path::{Path, PathBuf};

use revoker::report::audit;
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

/// A key pair made by `revoker keygen` in `d`: (secret, public).
fn key_pair(d: &tempfile::TempDir) -> (PathBuf, PathBuf) {
    let (secret, public) = (path(d, "sign.key"), path(d, "revoker.pub"));
    let out = revoker()
        .arg("keygen")
        .arg("--secret-key")
        .arg(&secret)
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (secret, public)
}

/// A finished report signed with `secret`, of `n` keys, named `name` in `d`.
fn signed_report(
    d: &tempfile::TempDir,
    name: &str,
    secret: &Path,
) -> (PathBuf, PathBuf, SimHandle) {
    let keys = keys(6, 2);
    let sim = sim(SimConfig::default(), &keys);
    let (input, report) = (path(d, &format!("{name}.in.csv")), path(d, name));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &["--sign-key"])
        .arg(secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (input, report, sim)
}

fn check_with_revoker(report: &Path, public: &Path) -> std::process::Output {
    revoker()
        .arg("report")
        .arg(report)
        .arg("--public-key")
        .arg(public)
        .output()
        .unwrap()
}

/// The one line README gives an auditor, run in the report's folder.
fn stock_check(report: &Path, public: &Path) -> std::process::Output {
    let name = report.file_name().unwrap().to_string_lossy().into_owned();
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "minisign -Vm {name}.manifest -p {} && sha256sum -c {name}.manifest",
            public.display()
        ))
        .current_dir(report.parent().unwrap())
        .output()
        .unwrap()
}

fn sha256_of(file: &Path) -> String {
    use sha2::Digest as _;
    format!("{:x}", sha2::Sha256::digest(std::fs::read(file).unwrap()))
}

fn evidence_bytes(report: &Path) -> Vec<Vec<u8>> {
    [".manifest", ".manifest.minisig"]
        .iter()
        .map(|s| revoker::report::sidecar(report, s))
        .chain([report.to_path_buf(), audit::path_for(report)])
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[test]
fn another_reports_signature_copied_beside_an_unsigned_report_is_not_good() {
    let d = dir();
    let (secret, public) = key_pair(&d);
    let (_, signed, _sim) = signed_report(&d, "a.csv", &secret);
    // An unsigned report in the same folder, and one of the same name in another folder.
    let keys = keys(4, 1);
    let sim = sim(SimConfig::default(), &keys);
    let other_dir = dir();
    for unsigned in [path(&d, "b.csv"), path(&other_dir, "a.csv")] {
        let input = revoker::report::sidecar(&unsigned, ".in.csv");
        write_csv(&input, &keys);
        let out = run(&sim, &input, &unsigned, &[]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        for suffix in [".manifest", ".manifest.minisig"] {
            std::fs::copy(
                revoker::report::sidecar(&signed, suffix),
                revoker::report::sidecar(&unsigned, suffix),
            )
            .unwrap();
        }
        let out = check_with_revoker(&unsigned, &public);
        assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
        assert!(
            !stderr(&out).contains("signature: good"),
            "{}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("were made for another report"),
            "{}",
            stderr(&out)
        );
    }
    // The report it was made for still checks.
    let out = check_with_revoker(&signed, &public);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn the_one_line_auditor_check_covers_the_report_and_names_its_sha256() {
    if !have_tool("minisign", "-v") {
        return;
    }
    let d = dir();
    let (secret, public) = key_pair(&d);
    let (_, report, _sim) = signed_report(&d, "out.csv", &secret);
    let out = stock_check(&report, &public);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{said}{}", stderr(&out));
    assert!(
        said.contains(&format!(
            "Trusted comment: revoker manifest of out.csv sha256 {}",
            sha256_of(&report)
        )),
        "{said}"
    );
    assert!(
        said.contains("out.csv: OK") && said.contains("out.csv.audit.jsonl: OK"),
        "{said}"
    );
    // A row edited after signing: minisign alone would pass; the line fails.
    let text = std::fs::read_to_string(&report).unwrap();
    std::fs::write(&report, text.replacen(",done,", ",rejected,", 1)).unwrap();
    let out = stock_check(&report, &public);
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("out.csv: FAILED"), "{}", stdout(&out));
}

#[test]
fn every_place_that_tells_an_auditor_how_to_check_gives_the_line_that_covers_the_files() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .unwrap()
        .replace('\n', " ");
    assert!(
        readme.contains(
            "minisign -Vm out.csv.manifest -p revoker.pub && sha256sum -c out.csv.manifest"
        ),
        "README's Running it"
    );
    assert!(
        !readme.contains("minisign -Vm out.csv.manifest -p revoker.pub`"),
        "no check of the manifest alone"
    );
    let help = revoker().args(["keygen", "--help"]).output().unwrap();
    assert!(
        stdout(&help).contains(
            "minisign -Vm out.csv.manifest -p revoker.pub && sha256sum -c out.csv.manifest"
        ),
        "{}",
        stdout(&help)
    );
    let d = dir();
    let (secret, public) = (path(&d, "k"), path(&d, "k.pub"));
    let out = revoker()
        .arg("keygen")
        .arg("--secret-key")
        .arg(&secret)
        .arg("--public-key")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        stdout(&out).contains(&format!(
            "minisign -Vm REPORT.manifest -p {} && sha256sum -c REPORT.manifest",
            public.display()
        )),
        "{}",
        stdout(&out)
    );
    // A second keygen onto the same paths says why, not a bare "File exists".
    let again = revoker()
        .arg("keygen")
        .arg("--secret-key")
        .arg(&secret)
        .arg("--public-key")
        .arg(path(&d, "other.pub"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists already: keygen never replaces a key"),
        "{}",
        stderr(&again)
    );
    // The signing run says which key signed and gives the line.
    let keys = keys(2, 1);
    let sim = sim(SimConfig::default(), &keys);
    let (input, report) = (path(&d, "in.csv"), path(&d, "out.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &["--sign-key"])
        .arg(&secret)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let key_id = std::fs::read_to_string(&public)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert!(
        stderr(&out).contains(&format!("out.csv.manifest.minisig by key {key_id}"))
            && stderr(&out).contains(&format!(
                "cd {} && minisign -Vm out.csv.manifest -p revoker.pub && sha256sum -c out.csv.manifest",
                d.path().display()
            )),
        "{}",
        stderr(&out)
    );
    // `report` names the key too, and the line.
    let out = revoker().arg("report").arg(&report).output().unwrap();
    assert!(
        stdout(&out).contains(&format!("signed by key {key_id}"))
            && stdout(&out).contains("sha256sum -c out.csv.manifest"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_unsigned_verification_after_a_signed_run_is_told_apart_from_a_forgery() {
    let d = dir();
    let (secret, public) = key_pair(&d);
    let (_, report, sim) = signed_report(&d, "out.csv", &secret);
    let out = revoker()
        .args(["verify", "--base-url", sim.base_url()])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is signed (key ")
            && stderr(&out).contains("what it adds will not be signed"),
        "{}",
        stderr(&out)
    );
    let out = check_with_revoker(&report, &public);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("signature: the signed part is intact")
            && said.contains("1 run appended after signing is not signed: verify "),
        "{said}"
    );
    assert!(!said.contains("changed after it was signed"), "{said}");
    // A row of the signed part edited: a change, exit 5.
    let text = std::fs::read_to_string(&report).unwrap();
    std::fs::write(&report, text.replacen(",done,", ",rejected,", 1)).unwrap();
    let out = check_with_revoker(&report, &public);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("out.csv changed after it was signed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_jobs_sign_key_signs_its_verification_too() {
    let d = dir();
    let (secret, public) = key_pair(&d);
    let (_, report, sim) = signed_report(&d, "out.csv", &secret);
    let job = path(&d, "job.toml");
    std::fs::write(
        &job,
        format!(
            "base_url = \"{}\"\nsign_key = \"{}\"\n",
            sim.base_url(),
            secret.display()
        ),
    )
    .unwrap();
    let out = revoker()
        .arg("verify")
        .arg("--job")
        .arg(&job)
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("will not be signed"),
        "{}",
        stderr(&out)
    );
    let out = check_with_revoker(&report, &public);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("signature: good"), "{}", stderr(&out));
}

#[test]
fn a_plan_on_a_signed_report_changes_no_byte_of_its_evidence() {
    let d = dir();
    let (secret, public) = key_pair(&d);
    let (input, report, sim) = signed_report(&d, "out.csv", &secret);
    let before = evidence_bytes(&report);
    let out = revoker()
        .args(["plan", "--base-url", sim.base_url(), "--resume", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    assert!(evidence_bytes(&report) == before, "the evidence changed");
    let plans = revoker::report::sidecar(&report, ".plans.jsonl");
    assert!(
        stderr(&out).contains(&format!("plan recorded in {}", plans.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&plans).unwrap().lines().count(),
        1,
        "one plan line"
    );
    let out = check_with_revoker(&report, &public);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("signature: good"), "{}", stderr(&out));
}

#[test]
fn a_kept_digest_says_it_matched_and_a_tampered_report_has_an_exit_code_of_its_own() {
    let d = dir();
    let keys = keys(4, 1);
    let sim = sim(SimConfig::default(), &keys);
    let (input, report) = (path(&d, "in.csv"), path(&d, "out.csv"));
    write_csv(&input, &keys);
    let out = run(&sim, &input, &report, &[]).output().unwrap();
    let kept = stderr(&out)
        .lines()
        .find_map(|l| l.split("--expect-digest checks it): ").nth(1))
        .unwrap()
        .trim()
        .to_string();
    let out = revoker()
        .args(["report", "--expect-digest", &kept])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("evidence digest matched: ")
            && stderr(&out).contains("holds it at its last line"),
        "{}",
        stderr(&out)
    );
    let help = revoker().args(["report", "--help"]).output().unwrap();
    assert!(
        stdout(&help).contains("5  the evidence is not as written"),
        "{}",
        stdout(&help)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    std::fs::write(&report, text.replacen(",done,", ",not_found,", 1)).unwrap();
    let out = revoker()
        .args(["report", "--expect-digest", &kept])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
}

#[test]
fn the_page_shows_the_exemptions_the_signature_and_the_job_in_plain_words() {
    let d = dir();
    let (secret, _public) = key_pair(&d);
    let keys = keys(6, 2);
    let sim = sim(SimConfig::default(), &keys);
    let (input, report) = (path(&d, "in.csv"), path(&d, "out.csv"));
    write_csv(&input, &keys);
    let exempt = path(&d, "break-glass.csv");
    std::fs::write(&exempt, format!("key\n{}\n", keys[1].key)).unwrap();
    let job = path(&d, "nightly.toml");
    std::fs::write(
        &job,
        format!(
            "base_url = \"{}\"\nsign_key = \"{}\"\nexempt = \"break-glass.csv\"\nverify = true\n",
            sim.base_url(),
            secret.display()
        ),
    )
    .unwrap();
    let out = revoker()
        .arg("run")
        .arg(&job)
        .arg("--input")
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = path(&d, "page.html");
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    let key_id = revoker::report::signature::signed_by(&report).unwrap();
    for want in [
        "Unchanged since revoker wrote it:".to_string(),
        format!(
            "Exemption file <span class=\"mono\">{}</span>, SHA-256 <span class=\"mono\">{}</span>",
            exempt.display(),
            sha256_of(&exempt)
        ),
        format!("  {}  ", keys[1].key),
        "1 credential was exempt".into(),
        "<th class=\"n\">exempt</th>".into(),
        format!("Signed with the minisign key <span class=\"mono\">{key_id}</span>"),
        "minisign -Vm out.csv.manifest -p revoker.pub &amp;&amp; sha256sum -c out.csv.manifest"
            .into(),
        format!("job file <span class=\"mono\">{}</span>", job.display()),
    ] {
        assert!(html.contains(&want), "{want}");
    }
    assert!(!html.contains("As written."), "plain words");
    // The chart is of the revocation run: no verified bars, no legend for outcomes it lacks.
    let chart = html
        .split("Over time")
        .nth(1)
        .unwrap()
        .split("Per run")
        .next()
        .unwrap();
    assert!(!chart.contains("fill:var(--o-verified)"), "{chart}");
    assert!(!chart.contains(">skipped<"), "{chart}");
}

/// Found by a hostile review: bytes appended to a signed audit file without a final newline were
/// skipped as a torn last line, and the evidence said "as signed".
#[test]
fn bytes_after_the_signed_part_of_the_audit_file_that_are_no_run_are_a_change() {
    let d = dir();
    let (secret, public) = key_pair(&d);
    let (_, report, _sim) = signed_report(&d, "out.csv", &secret);
    let audit = audit::path_for(&report);
    let mut bytes = std::fs::read(&audit).unwrap();
    bytes.extend_from_slice(b"{\"event\":\"end\",\"torn");
    std::fs::write(&audit, &bytes).unwrap();
    let out = check_with_revoker(&report, &public);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "out.csv.audit.jsonl has bytes after the part that was signed that are not whole audit records of later runs"
        ),
        "{}",
        stderr(&out)
    );
}

/// Found by a hostile review: `--public-key` naming a FIFO waited forever.
#[test]
fn a_public_key_that_is_a_fifo_is_an_error_not_a_wait() {
    let d = dir();
    let (secret, _) = key_pair(&d);
    let (_, report, _sim) = signed_report(&d, "out.csv", &secret);
    let fifo = path(&d, "pub.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = revoker()
        .arg("report")
        .arg(&report)
        .arg("--public-key")
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("pub.fifo"), "{}", stderr(&out));
}

/// Found by a hostile review: `report --html` and `--failures` aimed at the signing or public key
/// replaced it, exit 0.
#[test]
fn no_output_replaces_a_minisign_key() {
    let d = dir();
    let (secret, public) = key_pair(&d);
    let (_, report, _sim) = signed_report(&d, "out.csv", &secret);
    let before = (
        std::fs::read(&secret).unwrap(),
        std::fs::read(&public).unwrap(),
    );
    for (flag, target) in [("--html", &secret), ("--failures", &public)] {
        let out = revoker()
            .arg("report")
            .arg(&report)
            .arg(flag)
            .arg(target)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("a minisign key"), "{}", stderr(&out));
    }
    assert_eq!(
        (
            std::fs::read(&secret).unwrap(),
            std::fs::read(&public).unwrap()
        ),
        before
    );
}

// Issue 34 (wave 7): README's keygen line works on a machine without the key's folder yet; the
// folder is made owner-only.
#[test]
fn keygen_makes_a_missing_folder_for_the_secret_key_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let d = dir();
    let secret = path(&d, "etc/revoker/sign.key");
    let out = revoker()
        .arg("keygen")
        .arg("--secret-key")
        .arg(&secret)
        .arg("--public-key")
        .arg(path(&d, "revoker.pub"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(secret.is_file());
    let mode = std::fs::metadata(secret.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
}
