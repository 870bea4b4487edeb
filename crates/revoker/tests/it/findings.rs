//! Findings in: scanner reports and alerts resolved to credentials with the operator's own
//! credentials (`resolve`), and revoked in one command (`run --findings`); values never written.

use std::collections::BTreeSet;
use std::time::Duration;

use revoker_testkit::findings::{Corpus, corpus, files_holding};
use revoker_testkit::simulator::{SimConfig, SimHandle};
use revoker_testkit::*;

fn start(c: &Corpus) -> SimHandle {
    SimHandle::spawn(SimConfig::default(), c.seeds.clone()).expect("start the simulator")
}

/// `revoker resolve FILES --org … -o json [extra]` against the Atlas URL: its JSON and output.
fn resolve(
    sim: &SimHandle,
    c: &Corpus,
    dir: &std::path::Path,
    extra: &[&str],
) -> (serde_json::Value, std::process::Output) {
    let files = c.write(dir);
    let out = revoker()
        .arg("resolve")
        .args(&files)
        .args(c.org_args("--org"))
        .args(["--base-url", sim.atlas_url(), "-o", "json"])
        .args(extra)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let json = serde_json::from_str(&stdout(&out)).unwrap_or(serde_json::Value::Null);
    (json, out)
}

fn resolved_targets(json: &serde_json::Value) -> BTreeSet<String> {
    json["resolution"]["resolved"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["target"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_corpus_in_every_format_resolves_every_live_visible_credential_and_nothing_else() {
    let c = corpus(200);
    let sim = start(&c);
    let d = dir();
    let written = path(&d, "incident.csv");
    let (json, out) = resolve(&sim, &c, d.path(), &["--write", written.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "some findings are named unresolved: {err}"
    );
    let got = resolved_targets(&json);
    let wrong: Vec<_> = got.difference(&c.expected).collect();
    assert!(wrong.is_empty(), "wrong credentials: {wrong:?}");
    let missed: Vec<_> = c.expected.difference(&got).collect();
    assert!(missed.len() * 100 <= c.expected.len(), "missed {missed:?}");
    let r = &json["resolution"];
    let unresolved = r["unresolved"].as_array().unwrap();
    assert_eq!(r["read"], c.findings as u64);
    assert_eq!(
        r["resolved"].as_array().unwrap().len() + unresolved.len(),
        c.unique,
        "every distinct finding is resolved or named"
    );
    assert!(
        unresolved
            .iter()
            .all(|u| !u["reason"].as_str().unwrap().is_empty())
    );
    let reasons = |needle: &str| {
        unresolved
            .iter()
            .filter(|u| u["reason"].as_str().unwrap().contains(needle))
            .count()
    };
    assert_eq!(
        reasons("2 listed credentials match"),
        1,
        "the ambiguous private key"
    );
    assert_eq!(reasons("has expired"), 4);
    assert_eq!(
        reasons("no listed credential"),
        10,
        "the hidden organization's keys"
    );
    assert_eq!(reasons("documents print as an example"), 2);
    assert_eq!(reasons("not a MongoDB management credential"), 20);
    // Lists: per organization one page of keys, of accounts and of projects, then one page per
    // project of AI model keys; no request per service account (the list shows the secrets).
    let lists = sim.stats().lists;
    assert!(
        lists <= (2 * 3 + c.projects) as u64,
        "{lists} list requests"
    );
    // Rows name each finding by fingerprint and place, and carry no value.
    let text = std::fs::read_to_string(&written).unwrap();
    assert_eq!(text.lines().count(), got.len() + 1, "{text}");
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains("finding ") && l.contains(" at ")),
        "{text}"
    );
    let files: Vec<String> = c.files.iter().map(|(n, _)| n.clone()).collect();
    let hits: Vec<_> = files_holding(d.path(), &c.secrets)
        .into_iter()
        .filter(|(p, _)| !files.iter().any(|f| p.ends_with(f)))
        .collect();
    assert!(hits.is_empty(), "values written: {hits:?}");
    for v in &c.secrets {
        assert!(
            !err.contains(v.as_str()) && !stdout(&out).contains(v.as_str()),
            "a value printed"
        );
    }
    let again = resolve(&sim, &c, d.path(), &["--write", written.to_str().unwrap()]).1;
    assert_eq!(
        again.status.code(),
        Some(2),
        "never replaces: {}",
        stderr(&again)
    );
}

#[test]
fn run_with_findings_revokes_exactly_the_resolved_credentials_and_writes_no_value() {
    let c = corpus(60);
    let sim = start(&c);
    let d = dir();
    let files = c.write(d.path());
    let report = path(&d, "incident.report.csv");
    let out = revoker()
        .arg("run")
        .arg("--findings")
        .args(&files)
        .args(c.org_args("--findings-org"))
        .args([
            "--base-url",
            sim.atlas_url(),
            "--report",
            report.to_str().unwrap(),
        ])
        .args([
            "--kinds",
            "+org-api-key,service-account,service-account-secret,ai-model-api-key",
            "-o",
            "json",
        ])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let truth = truth(&sim);
    let deleted: BTreeSet<String> = truth
        .deletions
        .iter()
        .map(|del| {
            let c = &del.target;
            let t = revoker::input::Target::parse(
                &c.kind,
                &c.scope,
                &c.key,
                c.secret.as_deref().unwrap_or(""),
            )
            .unwrap();
            t.to_string()
        })
        .collect();
    assert_eq!(deleted, c.expected, "exactly the resolved credentials");
    let audit = std::fs::read_to_string(report.with_extension("csv.audit.jsonl")).unwrap();
    assert!(audit.contains("\"fingerprint\""), "{audit}");
    let hits: Vec<_> = files_holding(d.path(), &c.secrets)
        .into_iter()
        .filter(|(p, _)| !files.contains(p))
        .collect();
    assert!(hits.is_empty(), "values written: {hits:?}");
    for v in &c.secrets {
        assert!(
            !err.contains(v.as_str()) && !stdout(&out).contains(v.as_str()),
            "a value printed"
        );
    }
}

#[test]
fn the_simulator_lists_private_keys_redacted_and_secrets_masked_never_whole() {
    use revoker::api::Api;
    use revoker::input::Kind;
    let c = corpus(60);
    let sim = start(&c);
    let a = c.visible[0];
    let project = c
        .seeds
        .iter()
        .find(|s| s.model_key.is_some())
        .unwrap()
        .scope;
    let mut bodies = String::new();
    for (path, kind) in [
        (format!("orgs/{a}/apiKeys"), Kind::OrgApiKey),
        (format!("orgs/{a}/serviceAccounts"), Kind::ServiceAccount),
        (
            format!("groups/{project}/aiModelApiKeys"),
            Kind::AiModelApiKey,
        ),
    ] {
        let (status, body) = digest_get(
            &format!("{}/{path}", sim.atlas_url()),
            Api::Atlas.accept(kind),
        );
        assert_eq!(status, 200, "{path}: {body}");
        bodies.push_str(&body);
    }
    assert!(
        bodies.contains("\"privateKey\":\"********-****-****-"),
        "{bodies}"
    );
    assert!(
        bodies.contains("\"maskedSecretValue\":\"mdb_sa_sk_..."),
        "{bodies}"
    );
    assert!(bodies.contains("\"maskedSecret\":\"al-****"), "{bodies}");
    // Public keys are listed whole, as documented: every other value never is.
    let public = |v: &str| v.len() == 8 && v.bytes().all(|b| b.is_ascii_lowercase());
    for v in c.secrets.iter().filter(|v| !public(v)) {
        assert!(!bodies.contains(v.as_str()), "a list served a whole value");
    }
    assert!(
        c.secrets
            .iter()
            .any(|v| public(v) && bodies.contains(v.as_str()))
    );
}

#[test]
fn validate_leaked_tries_each_private_key_with_its_listed_public_key_and_records_it() {
    let c = corpus(60);
    let config = SimConfig {
        accept_leaked: true,
        ..SimConfig::default()
    };
    let sim = SimHandle::spawn(config, c.seeds.clone()).expect("sim");
    let d = dir();
    let (json, out) = resolve(&sim, &c, d.path(), &["--validate-leaked"]);
    let resolved = json["resolution"]["resolved"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let live = |shape: &str| {
        resolved
            .iter()
            .filter(|r| r["target"].as_str().unwrap().starts_with(shape))
            .map(|r| r["live"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let keys = live("org-api-key");
    assert!(
        keys.iter().any(|l| l.starts_with("live: ")),
        "{keys:?}\n{}",
        stderr(&out)
    );
    assert!(
        keys.iter().all(|l| l.starts_with("live: ")
            || l.starts_with("not tried: the finding holds only the public half")),
        "{keys:?}"
    );
    assert!(
        live("ai-model-api-key")
            .iter()
            .all(|l| l.starts_with("not tried: an AI model key"))
    );
    // Without the opt-in nothing is tried and nothing recorded.
    let (plain, _) = resolve(&start(&c), &c, dir().path(), &[]);
    assert!(
        plain["resolution"]["resolved"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["live"].is_null())
    );
    for v in &c.secrets {
        assert!(!stderr(&out).contains(v.as_str()) && !stdout(&out).contains(v.as_str()));
    }
}

/// Hostile review D5: a secret or private key is matched by the few characters its list shows.
/// With `--validate-leaked`, a value the API refuses (401) is no live credential, so the listed
/// one that only shows the same ends is another: it is set aside, never revoked.
#[test]
fn validate_leaked_sets_aside_a_masked_match_whose_value_the_api_refuses() {
    let c = corpus(60);
    // The simulator does not know the leaked values: each is refused.
    let sim = start(&c);
    let d = dir();
    let (json, out) = resolve(&sim, &c, d.path(), &["--validate-leaked"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let resolved = json["resolution"]["resolved"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for r in &resolved {
        let live = r["live"].as_str().unwrap_or_default();
        assert!(live.starts_with("not tried: "), "{r}");
    }
    let refused: Vec<String> = json["resolution"]["unresolved"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|u| u["reason"].as_str().map(str::to_string))
        .filter(|r| r.contains(": the API refused the leaked value ("))
        .collect();
    for shape in ["private-key", "client-secret"] {
        assert!(
            refused.iter().any(|r| r.starts_with(&format!("{shape}: "))),
            "{shape}: {refused:?}"
        );
    }
    assert!(
        refused
            .iter()
            .all(|r| r.ends_with("which only shows the same ends, is another credential (or the leaked one is gone); not revoked")),
        "{refused:?}"
    );
    assert_eq!(
        resolved.len() + refused.len(),
        c.expected.len(),
        "every expected credential is either resolved without a trial or refused"
    );
}

#[test]
fn sarif_snippets_of_whole_lines_resolve_and_a_result_without_a_value_is_named_not_fatal() {
    let mut c = corpus(60);
    let mut results: Vec<serde_json::Value> = c
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| serde_json::json!({"ruleId": "secret", "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("app/{i}.yaml")}, "region": {"startLine": 3, "snippet": {"text": format!("  publicKey: \"{v}\"  # ci")}}}}]}))
        .collect();
    results.push(serde_json::json!({"ruleId": "secret", "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/x.yaml"}, "region": {"startLine": 9}}}]}));
    let sarif = serde_json::json!({"version": "2.1.0", "runs": [{"results": results}]});
    c.files = vec![("lines.sarif".into(), sarif.to_string())];
    let sim = start(&c);
    let d = dir();
    let (json, out) = resolve(&sim, &c, d.path(), &[]);
    assert_eq!(resolved_targets(&json), c.expected);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let problems = json["resolution"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let want = format!(
        "lines.sarif: runs[0].results[{}]: no text at \"region.snippet.text\" (the scanner wrote no value)",
        c.values.len()
    );
    assert!(
        problems[0].as_str().unwrap().ends_with(&want),
        "{problems:?}"
    );
}

#[test]
fn control_characters_in_a_sarif_uri_are_written_escaped_never_raw() {
    let mut c = corpus(61);
    let uri = "app/\u{1b}[31mred\nforged,line.yaml";
    let results: Vec<serde_json::Value> = c
        .values
        .iter()
        .map(|v| serde_json::json!({"ruleId": "secret", "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": 3, "snippet": {"text": v}}}}]}))
        .collect();
    let sarif = serde_json::json!({"version": "2.1.0", "runs": [{"results": results}]});
    c.files = vec![("hostile.sarif".into(), sarif.to_string())];
    let sim = start(&c);
    let d = dir();
    let written = d.path().join("incident.findings.csv");
    let (json, out) = resolve(&sim, &c, d.path(), &["--write", written.to_str().unwrap()]);
    assert_eq!(resolved_targets(&json), c.expected, "{}", stderr(&out));
    let csv = std::fs::read_to_string(&written).unwrap();
    let shown = "app/\\u{1b}[31mred\\nforged,line.yaml:3";
    assert!(csv.contains(shown), "{csv}");
    // One header and one line per resolved credential: no newline from the URI split a row.
    assert_eq!(csv.lines().count(), 1 + c.expected.len(), "{csv}");
    for text in [csv.as_str(), &stdout(&out), &stderr(&out)] {
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
