//! A corpus of scanner findings over a seeded simulator, for the findings tests and benchmark:
//! the five scanner formats and plain values, with duplicates, documented test keys, expired
//! secrets, credentials of an organization the run does not read, an ambiguous private key, and
//! values that are not MongoDB's. It knows which credentials a correct resolution names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use revoker::input::Target;
use revoker_sim::model::{ItemId, ModelKey};
use revoker_sim::values;
use revoker_sim::{Kind, Meta, Oid, Seed};
use serde_json::json;

/// The corpus: seeds for the simulator, the files, and what a resolution must find.
pub struct Corpus {
    pub seeds: Vec<Seed>,
    /// The organizations the run reads.
    pub visible: Vec<Oid>,
    /// (file name, body)
    pub files: Vec<(String, String)>,
    /// The credentials the findings name that a resolution must find (`Target` as text).
    pub expected: BTreeSet<String>,
    /// Every value in the files.
    pub values: Vec<String>,
    /// The values that are secrets: every value but the client ids (a service account's id,
    /// which rows name to delete it).
    pub secrets: Vec<String>,
    /// Findings written (duplicates included), and distinct values.
    pub findings: usize,
    pub unique: usize,
    /// Service accounts in the visible organizations.
    pub accounts: usize,
    /// Projects of the visible organizations.
    pub projects: usize,
}

fn oid(prefix: u32, n: u64) -> Oid {
    revoker_sim::seed::id(prefix, n)
}

fn expect(kind: &str, scope: &Oid, key: &str, secret: &str) -> String {
    Target::parse(kind, &scope.to_string(), key, secret)
        .expect("a target")
        .to_string()
}

/// Builds a corpus of about `n` findings.
pub fn corpus(n: usize) -> Corpus {
    let n = n.max(60);
    let (a, b, hidden) = (
        oid(0x0a00_0000, 1),
        oid(0x0a00_0000, 2),
        oid(0x0a00_0000, 3),
    );
    let mut seeds = Vec::new();
    let mut values_found: Vec<String> = Vec::new();
    let mut expected = BTreeSet::new();
    let org_of = |i: u64| if i.is_multiple_of(2) { a } else { b };
    // Organization API keys: half found by public key, half by private key.
    for i in 0..(n / 10) as u64 {
        let (org, key) = (org_of(i), oid(0x6b00_0000, i));
        seeds.push(Seed::new(Kind::OrgApiKey, org, key, None));
        let item = ItemId::Oid(key);
        values_found.push(if i.is_multiple_of(2) {
            values::public_key(&Meta::default(), &item)
        } else {
            values::private_key(&Meta::default(), &item)
        });
        expected.insert(expect("org-api-key", &org, &key.to_string(), ""));
    }
    // Two keys whose redacted private keys show the same last group: one leaked is ambiguous.
    for (i, org) in [(0u64, a), (1, b)] {
        let mut s = Seed::new(Kind::OrgApiKey, org, oid(0x6c00_0000, i), None);
        s.meta.secret = values::Value::new(&format!("{i:08x}-0000-4000-8000-00000000abcd"));
        seeds.push(s);
    }
    values_found.push("00000000-0000-4000-8000-00000000abcd".into());
    // Service accounts found by client id.
    let accounts = (n / 20) as u64;
    for i in 0..accounts {
        let (org, client) = (org_of(i), oid(0x5a00_0000, i));
        seeds.push(Seed::new(Kind::ServiceAccount, org, client, None));
        let id = format!("mdb_sa_id_{client}");
        values_found.push(id.clone());
        expected.insert(expect("service-account", &org, &id, ""));
    }
    // Secrets (one account each), every fifth expired.
    let secrets = (n / 10) as u64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for i in 0..secrets {
        let (org, client, secret) = (org_of(i), oid(0x5b00_0000, i), oid(0x5c00_0000, i));
        let mut s = Seed::new(Kind::ServiceAccountSecret, org, client, Some(secret));
        if i % 5 == 4 {
            s.meta.expires = Some(now - 86_400);
        }
        values_found.push(values::secret_value(&s.meta, &ItemId::Oid(secret)));
        if i % 5 != 4 {
            expected.insert(expect(
                "service-account-secret",
                &org,
                &format!("mdb_sa_id_{client}"),
                &secret.to_string(),
            ));
        }
        seeds.push(s);
    }
    // AI model keys of the first organization's projects.
    let projects = 3u64;
    for i in 0..(n / 20) as u64 {
        let project = oid(0x7e00_0000, i % projects);
        let id = format!("aimodelkey{i:014}");
        let mut s = Seed::model(project, ModelKey::parse(&id).expect("a model key id"));
        s.meta.org = Some(a);
        values_found.push(values::model_secret(&s.meta, &s.item()));
        expected.insert(expect("ai-model-api-key", &project, &id, ""));
        seeds.push(s);
    }
    // An organization the run does not read: its keys and secrets are found, never resolved.
    for i in 0..(n / 20) as u64 {
        let key = oid(0x6d00_0000, i);
        seeds.push(Seed::new(Kind::OrgApiKey, hidden, key, None));
        values_found.push(values::public_key(&Meta::default(), &ItemId::Oid(key)));
    }
    // Documented examples and values that are not MongoDB's.
    values_found.push("zmmrboas".into());
    values_found.push("al-jZsluhPMzPM9CFXepRWwMwvpZDDra6tZMgoAZKdodu2".into());
    for i in 0..n / 10 {
        values_found.push(match i % 3 {
            0 => format!("ghp_{i:036}"),
            1 => format!("AKIA{i:016}"),
            _ => format!("xoxb-{i:012}-notmongodb"),
        });
    }
    let unique = values_found.len();
    let mut entries: Vec<String> = values_found.clone();
    let mut i = 0;
    while entries.len() < n {
        entries.push(values_found[(i * 7) % unique].clone());
        i += 1;
    }
    Corpus {
        seeds,
        visible: vec![a, b],
        files: files(&entries),
        expected,
        secrets: values_found
            .iter()
            .filter(|v| !v.starts_with("mdb_sa_id_"))
            .cloned()
            .collect(),
        values: values_found,
        findings: entries.len(),
        unique,
        accounts: (accounts + secrets) as usize,
        projects: projects as usize,
    }
}

/// The entries dealt round-robin into the six formats: (file name, body).
pub fn files(entries: &[String]) -> Vec<(String, String)> {
    let mut by: [Vec<(usize, &str)>; 6] = Default::default();
    for (i, v) in entries.iter().enumerate() {
        by[i % 6].push((i + 1, v));
    }
    let file = |i: usize| format!("src/config{i}.env");
    let gitleaks: Vec<_> = by[0].iter().map(|(i, v)| json!({"RuleID": "mongodb", "File": file(*i), "StartLine": i, "Secret": v, "Match": v})).collect();
    let truffle: String = by[1].iter().map(|(i, v)| json!({"SourceMetadata": {"Data": {"Git": {"file": file(*i), "line": i, "commit": "abc"}}}, "DetectorName": "MongoDB", "Raw": v}).to_string() + "\n").collect();
    let king: Vec<_> = by[2].iter().map(|(i, v)| json!({"rule": {"id": "kingfisher.mongodb.1", "name": "MongoDB"}, "finding": {"snippet": v, "path": file(*i), "line": i}})).collect();
    let sarif: Vec<_> = by[3].iter().map(|(i, v)| json!({"ruleId": "secret", "message": {"text": "a secret"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": file(*i)}, "region": {"startLine": i, "snippet": {"text": v}}}}]})).collect();
    let github: Vec<_> = by[4].iter().map(|(i, v)| json!({"number": i, "html_url": format!("https://github.com/acme/app/security/secret-scanning/{i}"), "secret_type": "mongodb_atlas", "secret": v, "state": "open"})).collect();
    let plain: String = by[5].iter().map(|(_, v)| format!("{v}\n")).collect();
    vec![
        ("gitleaks.json".into(), serde_json::to_string_pretty(&gitleaks).unwrap_or_default()),
        ("trufflehog.jsonl".into(), truffle),
        ("kingfisher.json".into(), json!({"findings": king}).to_string()),
        ("scan.sarif".into(), json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scanner"}}, "results": sarif}]}).to_string()),
        ("alerts.json".into(), serde_json::Value::Array(github).to_string()),
        ("values.txt".into(), plain),
    ]
}

impl Corpus {
    /// Writes the files into `dir`; answers their paths.
    pub fn write(&self, dir: &Path) -> Vec<PathBuf> {
        self.files
            .iter()
            .map(|(name, body)| {
                let path = dir.join(name);
                std::fs::write(&path, body).expect("write a findings file");
                path
            })
            .collect()
    }

    /// The organizations as `--org`-style arguments after `flag`.
    pub fn org_args(&self, flag: &str) -> Vec<String> {
        self.visible
            .iter()
            .flat_map(|o| [flag.to_string(), o.to_string()])
            .collect()
    }
}

/// Every file under `dir` (recursively) that holds any of `values`: (file, value index).
pub fn files_holding(dir: &Path, values: &[String]) -> Vec<(PathBuf, usize)> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let text = String::from_utf8_lossy(&bytes);
                for (i, v) in values.iter().enumerate() {
                    if text.contains(v.as_str()) {
                        hits.push((path.clone(), i));
                    }
                }
            }
        }
    }
    hits
}
