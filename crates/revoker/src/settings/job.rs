//! Job files (`jobs/*.toml`): a run's settings, every field optional, relative paths relative to the
//! job file's folder. A job file never holds credentials: one that does is refused, with a message
//! that says where they belong and quotes nothing from the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::Api;
use crate::engine::Rate;
use crate::input::{ColumnMap, Format, Kind};

/// A job file, or the same settings given as flags.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    pub input: Option<PathBuf>,
    pub format: Option<Format>,
    /// CSV field separator: one character (`,`, `;`, a tab written `"\t"`).
    pub delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "ColumnMap::is_empty")]
    pub columns: ColumnMap,
    /// Kind for rows without one.
    pub kind: Option<Kind>,
    /// Kinds this job may revoke; rows of other kinds are invalid. Organization-wide kinds must be
    /// named here to be sent.
    pub kinds: Option<Vec<Kind>>,
    /// Report path; may hold `{date}`, `{time}` and `{job}`.
    pub report: Option<String>,
    pub resume: Option<bool>,
    pub base_url: Option<String>,
    /// `atlas` or `cloud-manager`: the API's default base URL.
    pub api: Option<Api>,
    /// Atlas CLI / mongocli profile to read credentials and settings from.
    pub profile: Option<String>,
    pub rate: Option<Rate>,
    pub project_rate: Option<Rate>,
    pub concurrency: Option<usize>,
    pub max_attempts: Option<u32>,
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    pub connect_timeout: Option<Duration>,
    pub envelope: Option<bool>,
    pub ca_cert: Option<PathBuf>,
    pub credentials_file: Option<PathBuf>,
    /// Prometheus text-format metrics written at the end of each run.
    pub metrics_file: Option<PathBuf>,
    /// Verify after the run that the finished rows are gone.
    pub verify: Option<bool>,
    /// A minisign secret key (owner-only): every run and verification signs the report's manifest.
    pub sign_key: Option<PathBuf>,
    /// The report's server moved: accept a base URL other than the one its runs used.
    pub api_moved: Option<bool>,
    /// This input is a new list for the same report: accept another SHA-256 than its runs read.
    pub new_input: Option<bool>,
    /// Revoke the credential the run signs in with, last, when the input names it.
    pub allow_own_credential: Option<bool>,
    /// Credentials never revoked (same formats as the input; only the key is required).
    pub exempt: Option<PathBuf>,
    /// Refuse, before sending anything, a run that would revoke more than this many credentials.
    pub max_revocations: Option<u64>,
    /// List live state before the run: the cap and the confirmation count what exists.
    pub plan: Option<bool>,
    /// Do not ask for confirmation on a terminal.
    pub yes: Option<bool>,
    /// Drop what earlier runs learned of this server's limits (`revoker-limits.json`) first.
    pub forget_limits: Option<bool>,
    /// Organizations and projects never touched (ids; `--protect` also takes a file of ids): a
    /// run, plan or selection with a row in one is refused before anything is sent.
    pub protect: Option<Vec<String>>,
    /// Name patterns (`*prod*`) of organizations and projects whose name must be typed to confirm.
    pub guard_names: Option<Vec<String>>,
    /// `run`: apply this reviewed plan (`plan --write`): only its rows to revoke are sent.
    pub plan_file: Option<PathBuf>,
    /// `run --plan-file`: a plan older than this is refused [default: 24h].
    #[serde(default, with = "opt_duration")]
    pub plan_max_age: Option<Duration>,
    /// `run --plan-file`: the minisign public key a plan's signature must verify with.
    pub plan_public_key: Option<PathBuf>,
    /// A credential per organization (`[orgs.<orgId>]` with `profile` or `credentials_file`): rows of
    /// that organization (and of its projects) are sent with it. The run's own credential, when it
    /// has one, takes the rest.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub orgs: std::collections::BTreeMap<String, OrgCredential>,
    /// A policy that selects the input from live state (`[select]`, `[[select.rule]]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<crate::select::Policy>,
    /// A sweep whose follow-up is the run's input (`[sweep]`): what compromised credentials
    /// created, revoked in the same run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSection>,
    /// Scanner findings (gitleaks, TruffleHog, Kingfisher, SARIF, GitHub alerts, plain values)
    /// resolved into the run's input (`findings = ["gitleaks.json"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<PathBuf>,
    /// The organizations whose lists resolve the findings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings_orgs: Vec<crate::input::ObjectId>,
    /// The job's ledger of rows owed across nights: a path, or `true` for the default beside the
    /// reports (`<job>.ledger.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerSetting>,
    /// Nights after which an owed row is escalated (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<u32>,
    /// What an exemption past its `until` does: `protect` (the default; warned about) or `revoke`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_exemptions: Option<ExpiredExemptions>,
    /// `revoker rotate --job FILE`: the rotation's settings (`[rotate]`); its flags override them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<RotateSection>,
}

/// A job's `[rotate]`: what `revoker rotate` takes as flags, relative paths relative to the job
/// file's folder.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSection {
    /// The credentials to rotate (CSV: kind, scope, key, secret).
    pub input: Option<PathBuf>,
    /// `age:RECIPIENT[,…]` or `exec:COMMAND`.
    pub deliver: Option<String>,
    /// `now`, `after-use` or `at:TIME`.
    pub cutover: Option<String>,
    #[serde(default, with = "opt_duration")]
    pub deadline: Option<Duration>,
    #[serde(default, with = "opt_duration")]
    pub poll: Option<Duration>,
    /// The rotation report (CSV); its journal is beside it.
    pub report: Option<PathBuf>,
}

/// `ledger = true` (beside the reports, named after the job) or `ledger = "PATH"`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(untagged)]
pub enum LedgerSetting {
    On(bool),
    At(PathBuf),
}

/// What an exemption past its `until` date does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiredExemptions {
    /// It keeps protecting, and every run warns about it.
    #[default]
    Protect,
    /// It no longer protects: the row is sent.
    Revoke,
}

/// Where one organization's credential is: never the secret itself.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrgCredential {
    /// An Atlas CLI (or mongocli) profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// A TOML file with public_key and private_key, or client_id and client_secret; owner-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
}

/// Durations written as `30s`, `2m`, `500ms`.
/// A job's `[sweep]`: the compromised credentials (an input or a report of them) and how far back
/// their events are read.
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSection {
    pub input: Option<PathBuf>,
    pub report: Option<PathBuf>,
    /// How far back events are read [default: 30d].
    #[serde(default, with = "opt_duration")]
    pub since: Option<Duration>,
}

impl SweepSection {
    /// Its paths relative to the job file's folder `dir`.
    fn anchor(&mut self, dir: &Path) {
        for p in [&mut self.input, &mut self.report].into_iter().flatten() {
            if p.is_relative() && p.as_os_str() != "-" {
                *p = dir.join(&*p);
            }
        }
    }
}

mod opt_duration {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = serde::Deserialize::deserialize(d)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Keys that hold a secret or half of a credential: never in a job file.
const CREDENTIAL_KEYS: [&str; 10] = [
    "private_key",
    "public_key",
    "private_api_key",
    "public_api_key",
    "client_secret",
    "client_id",
    "password",
    "secret",
    "token",
    "access_token",
];

/// The first credential key set anywhere in the job file (at the top or in any section), and the
/// line it is set on: the first line that sets a key of that name, for the message only.
fn credential_in(text: &str, table: &toml::Table) -> Option<(String, usize)> {
    let key = credential_key(table)?;
    let line = text
        .lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches(['"', '\'']);
            l.strip_prefix(key.as_str()).is_some_and(|rest| {
                rest.trim_start_matches(['"', '\''])
                    .trim_start()
                    .starts_with('=')
            })
        })
        .map_or(1, |i| i + 1);
    Some((key, line))
}

/// A credential key in `table` or in any table or array of tables under it.
fn credential_key(table: &toml::Table) -> Option<String> {
    if let Some(key) = table.keys().find(|k| CREDENTIAL_KEYS.contains(&k.as_str())) {
        return Some(key.clone());
    }
    table.values().find_map(|v| match v {
        toml::Value::Table(t) => credential_key(t),
        toml::Value::Array(items) => items
            .iter()
            .find_map(|i| i.as_table().and_then(credential_key)),
        _ => None,
    })
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// A TOML parser's complaint without the snippet of the file it quotes (which could hold a secret):
/// only the line and the message, and the message only when it cannot quote a value.
pub(crate) fn toml_complaint(
    text: &str,
    e: &toml::de::Error,
    values_may_be_secret: bool,
) -> String {
    let line = e.span().map_or(1, |s| line_of(text, s.start));
    let message = e.message().trim().replace('\n', " ");
    if values_may_be_secret && message.contains('"') {
        format!("line {line}: not valid here (the value is not shown)")
    } else {
        let near = did_you_mean(&message);
        // With a suggestion, the list of every field is noise before it.
        let message = match message.split_once(", expected one of ") {
            Some((head, _)) if !near.is_empty() => head.to_string(),
            _ => message,
        };
        format!("line {line}: {message}{near}{}", list_hint(text, e))
    }
}

/// A list field given one string (`kinds = "x"`): how to write it as a list.
fn list_hint(text: &str, e: &toml::de::Error) -> String {
    if !e.message().contains("expected a sequence") {
        return String::new();
    }
    let Some(span) = e.span() else {
        return String::new();
    };
    let start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let key = text[start..].split('=').next().unwrap_or_default().trim();
    let value = text.get(span.clone()).unwrap_or_default().trim();
    if key.is_empty() || !value.starts_with('"') {
        return String::new();
    }
    format!("; {key} is a list: {key} = [{value}]")
}

/// For an unknown field, the known one nearest to it: ``; did you mean `concurrency`?``.
fn did_you_mean(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return String::new();
    };
    let typed = rest.split('`').next().unwrap_or_default();
    let known: Vec<&str> = rest
        .split_once("expected")
        .map(|(_, list)| list.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(typed, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 3))
        .min()
        .map_or_else(String::new, |(_, k)| format!("; did you mean `{k}`?"))
}

/// Errors in a job file; all are exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("job file {path}: {reason}")]
pub struct JobFileError {
    pub path: PathBuf,
    pub reason: String,
}

impl JobFile {
    /// Reads a job file, making its relative paths relative to its folder.
    pub fn load(path: &Path) -> Result<JobFile, JobFileError> {
        let err = |reason: String| JobFileError {
            path: path.to_path_buf(),
            reason,
        };
        // `revoker run keys.csv`: the input given where the job file goes.
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if ["csv", "tsv", "txt", "json", "jsonl", "ndjson"].contains(&ext.as_str()) {
            return Err(err(format!(
                "this looks like an input file, not a job file (TOML): pass it as --input {}",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let table: toml::Table =
            toml::from_str(&text).map_err(|e| err(toml_complaint(&text, &e, true)))?;
        // A secret in any section ([orgs.<id>], [rotate], …) is as much a secret as one at the top.
        if let Some((key, line)) = credential_in(&text, &table) {
            return Err(err(format!(
                "line {line}: {key} is a credential, and credentials do not belong in a job file (it is not shown); put them in the environment (MCLI_PUBLIC_API_KEY / MCLI_PRIVATE_API_KEY, MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET), an Atlas CLI profile (--profile), or a credentials file readable only by you (credentials_file = \"…\", chmod 600)"
            )));
        }
        let mut job: JobFile =
            toml::from_str(&text).map_err(|e| err(toml_complaint(&text, &e, false)))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let anchor = |p: &mut Option<PathBuf>| {
            if let Some(p) = p
                && p.is_relative()
                && p.as_os_str() != "-"
            {
                *p = join_under(dir, p);
            }
        };
        anchor(&mut job.input);
        anchor(&mut job.ca_cert);
        anchor(&mut job.credentials_file);
        anchor(&mut job.metrics_file);
        anchor(&mut job.sign_key);
        anchor(&mut job.exempt);
        anchor(&mut job.plan_file);
        anchor(&mut job.plan_public_key);
        if let Some(LedgerSetting::At(p)) = &mut job.ledger
            && p.is_relative()
        {
            *p = join_under(dir, p);
        }
        for org in job.orgs.values_mut() {
            anchor(&mut org.credentials_file);
        }
        job.sweep.iter_mut().for_each(|s| s.anchor(dir));
        anchor_lists(&mut job, dir);
        Ok(job)
    }
}

/// Anchors the job's findings, its report and its `[rotate]` paths at the job file's folder.
fn anchor_lists(job: &mut JobFile, dir: &Path) {
    let anchor = |p: &mut Option<PathBuf>| {
        if let Some(p) = p
            && p.is_relative()
        {
            *p = join_under(dir, p);
        }
    };
    if let Some(rotate) = &mut job.rotate {
        anchor(&mut rotate.input);
        anchor(&mut rotate.report);
    }
    for f in &mut job.findings {
        if f.is_relative() {
            *f = join_under(dir, f);
        }
    }
    if let Some(report) = &job.report
        && Path::new(report).is_relative()
    {
        job.report = Some(join_under(dir, Path::new(report)).display().to_string());
    }
}

/// Fills `{date}` (YYYY-MM-DD), `{time}` (HHMMSS), both local, and `{job}` in a report path.
pub fn expand_report_path(template: &str, job: &str, now: &jiff::Zoned) -> PathBuf {
    PathBuf::from(
        template
            .replace("{date}", &now.strftime("%Y-%m-%d").to_string())
            .replace("{time}", &now.strftime("%H%M%S").to_string())
            .replace("{job}", job),
    )
}

/// `rel` (relative) under the job file's folder `dir`, each leading `..` taken off `dir` where
/// that means the same (`jobs/../reports` is `reports` when `jobs` is a folder, not a link): the
/// paths messages print are then the ones an operator would type.
fn join_under(dir: &Path, rel: &Path) -> PathBuf {
    use std::path::Component;
    let mut dir = dir.to_path_buf();
    let mut rest = rel.components().peekable();
    while rest.peek() == Some(&Component::ParentDir) {
        let is_plain_dir = std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_dir());
        if !matches!(dir.components().next_back(), Some(Component::Normal(_))) || !is_plain_dir {
            break;
        }
        dir.pop();
        rest.next();
    }
    dir.join(rest.collect::<PathBuf>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_above_the_job_folder_is_written_without_the_detour() {
        let d = tempfile::tempdir().unwrap();
        let jobs = d.path().join("jobs");
        std::fs::create_dir(&jobs).unwrap();
        assert_eq!(
            join_under(&jobs, Path::new("../reports/x.csv")),
            d.path().join("reports/x.csv")
        );
        assert_eq!(join_under(&jobs, Path::new("r.csv")), jobs.join("r.csv"));
        // Through a link, `..` is the link target's parent: kept as written.
        let link = d.path().join("linked");
        std::os::unix::fs::symlink(&jobs, &link).unwrap();
        assert_eq!(
            join_under(&link, Path::new("../reports/x.csv")),
            link.join("../reports/x.csv")
        );
        assert_eq!(
            join_under(Path::new(""), Path::new("../r.csv")),
            PathBuf::from("../r.csv")
        );
    }

    #[test]
    fn report_templates_expand() {
        let now: jiff::Zoned = "2026-11-24T02:30:05[UTC]".parse().unwrap();
        assert_eq!(
            expand_report_path("reports/{job}-{date}-{time}.csv", "nightly", &now),
            PathBuf::from("reports/nightly-2026-11-24-023005.csv")
        );
    }

    #[test]
    fn a_job_file_with_credentials_is_refused_without_quoting_them() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("job.toml");
        std::fs::write(
            &job,
            "rate = \"10/s\"\n\nprivate_key = \"hunter2-secret\"\n",
        )
        .unwrap();
        let e = JobFile::load(&job).unwrap_err().to_string();
        assert!(e.contains("line 3: private_key is a credential"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        // In a section that refuses unknown fields, the same message, never "unknown field".
        std::fs::write(
            &job,
            "input = \"in.csv\"\n\n[rotate]\ndeliver = \"exec:true\"\nclient_secret = \"hunter2-secret\"\n",
        )
        .unwrap();
        let e = JobFile::load(&job).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "job file {}: line 5: client_secret is a credential, and credentials do not belong in a job file (it is not shown); put them in the environment (MCLI_PUBLIC_API_KEY / MCLI_PRIVATE_API_KEY, MONGODB_ATLAS_CLIENT_ID / MONGODB_ATLAS_CLIENT_SECRET), an Atlas CLI profile (--profile), or a credentials file readable only by you (credentials_file = \"…\", chmod 600)",
                job.display()
            )
        );
        std::fs::write(&job, "rate = \"hunter2-secret\n").unwrap();
        let e = JobFile::load(&job).unwrap_err().to_string();
        assert!(e.contains("line 1") && !e.contains("hunter2"), "{e}");
        std::fs::write(&job, "input = \"in.csv\"\nconcurency = 4\n").unwrap();
        let e = JobFile::load(&job).unwrap_err().to_string();
        assert!(e.contains("line 2: unknown field `concurency`"), "{e}");
        assert!(e.ends_with("did you mean `concurrency`?"), "{e}");
    }

    #[test]
    fn an_unknown_field_is_named_with_its_suggestion_only_and_a_lone_kind_gets_list_syntax() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("job.toml");
        std::fs::write(&job, "input = \"in.csv\"\nconcurency = 4\n").unwrap();
        let e = JobFile::load(&job).unwrap_err().to_string();
        assert!(
            e.ends_with("line 2: unknown field `concurency`; did you mean `concurrency`?"),
            "{e}"
        );
        std::fs::write(&job, "input = \"in.csv\"\nkinds = \"org-api-key\"\n").unwrap();
        let e = JobFile::load(&job).unwrap_err().to_string();
        assert!(
            e.ends_with("; kinds is a list: kinds = [\"org-api-key\"]"),
            "{e}"
        );
    }
}
