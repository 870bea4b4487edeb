//! The settings of a run, merged once from their layers — flags, then the job file, then the
//! environment, then an Atlas CLI / mongocli profile, then the defaults — each value remembering where
//! it came from (what `--print-config` shows). Every command that talks to the API (`run`, `verify`,
//! `demo`) resolves its settings here.

pub mod credentials;
pub mod job;
pub mod profile;
mod resolved;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use url::Url;

pub use crate::report::default_report_path;
pub use credentials::{CredentialError, Found};
pub use job::{ExpiredExemptions, JobFile, JobFileError, LedgerSetting, expand_report_path};
pub use profile::Profile;
pub use resolved::Resolved;

use crate::api::{self, Api, ApiError};
use crate::engine::EngineConfig;
use crate::input::InputOptions;
use crate::vocab::defaults;

/// The Ops Manager root URL variable of MongoDB's CLI tools.
pub const OPS_MANAGER_URL_VAR: &str = "MCLI_OPS_MANAGER_URL";
/// The base URL as MongoDB's Terraform provider reads it.
pub const BASE_URL_VAR: &str = "MONGODB_ATLAS_BASE_URL";
/// The Ops Manager CA certificate variable of mongocli.
pub const CA_CERTIFICATE_VAR: &str = "MCLI_OPS_MANAGER_CA_CERTIFICATE";
/// The profile variable of the Atlas CLI.
pub const PROFILE_VAR: &str = "MONGODB_ATLAS_PROFILE";

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    Profile(String),
    Env(String),
    Job(PathBuf),
    Flag(String),
    /// The server the report's runs used, from its audit record.
    Report(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Profile(p) => f.write_str(p),
            Origin::Env(var) => write!(f, "environment ({var})"),
            Origin::Job(path) => write!(f, "job file {}", path.display()),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Report(path) => write!(f, "the audit record of {}", path.display()),
        }
    }
}

/// Errors in the settings; all are exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Job(#[from] JobFileError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{var} is not usable: {cause}")]
    OpsManagerUrl { var: String, cause: ApiError },
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error("{0}")]
    Invalid(String),
}

/// Every setting of a run, merged, with where each came from.
pub struct Settings {
    /// The merged values (the job file's shape).
    pub values: JobFile,
    /// The job's name: its file's stem, else `run`.
    pub job_name: String,
    pub job_path: Option<PathBuf>,
    pub base_url: Url,
    pub api: Api,
    /// The credential, or why there is none (kept so that `--print-config` can show it).
    pub credential: Result<Found, CredentialError>,
    /// Field name to origin, for the fields that are set.
    pub origins: BTreeMap<&'static str, Origin>,
    /// Whether the job file itself says `resume = true` (a nightly job: continue today's report, or
    /// start it), whatever the flags say.
    pub job_resumes: bool,
    /// The typed values, every default applied.
    pub run: Resolved,
    /// The credentials of `[orgs.<id>]`, in the order of their organizations' ids.
    pub org_credentials: Vec<OrgCredentialFound>,
    /// The `org_id` of the Atlas CLI profile in use and the profile's description: offered where
    /// a command needs an organization and none was named.
    pub profile_org: Option<(String, String)>,
}

impl Settings {
    /// `: the profile … names org_id X (--org X)`, when the profile in use names one.
    pub fn profile_org_hint(&self) -> String {
        self.profile_org
            .as_ref()
            .map(|(org, profile)| format!("; {profile} names org_id {org}: --org {org}"))
            .unwrap_or_default()
    }
}

/// One organization's credential, or why it cannot be used.
#[derive(Debug)]
pub struct OrgCredentialFound {
    pub org: crate::input::ObjectId,
    pub credential: Result<Found, CredentialError>,
}

/// The credentials `[orgs.<id>]` name; an id that is not one is an error naming it.
fn org_credentials(values: &JobFile) -> Result<Vec<OrgCredentialFound>, SettingsError> {
    values
        .orgs
        .iter()
        .map(|(id, place)| {
            let org = crate::input::ObjectId::parse(id).ok_or_else(|| {
                SettingsError::Invalid(format!(
                    "[orgs.{id}]: {id:?} is not an organization id (24 hex digits)"
                ))
            })?;
            let credential = match (&place.profile, &place.credentials_file) {
                (Some(_), Some(_)) => Err(CredentialError::Profile(format!(
                    "[orgs.{id}] names both a profile and a credentials file: name one"
                ))),
                (None, Some(path)) => credentials::from_file(path),
                (Some(name), None) => profile::load(name, true).and_then(|p| {
                    p.as_ref()
                        .map(Profile::credential)
                        .transpose()
                        .map(Option::flatten)
                        .and_then(|found| {
                            found.ok_or_else(|| {
                                CredentialError::Profile(format!(
                                    "[orgs.{id}]: profile {name} holds no credential"
                                ))
                            })
                        })
                }),
                (None, None) => Err(CredentialError::Profile(format!(
                    "[orgs.{id}] needs profile = \"…\" or credentials_file = \"…\""
                ))),
            };
            Ok(OrgCredentialFound { org, credential })
        })
        .collect()
}

/// Takes the first value present among `layers`, recording its origin under `name`.
fn pick<T>(
    origins: &mut BTreeMap<&'static str, Origin>,
    name: &'static str,
    layers: Vec<(Option<T>, Origin)>,
) -> Option<T> {
    for (value, origin) in layers {
        if let Some(value) = value {
            origins.insert(name, origin);
            return Some(value);
        }
    }
    None
}

/// The profile named by a flag, the job or `MONGODB_ATLAS_PROFILE`, else Atlas CLI's default
/// profile when there is one.
fn profile_layer(
    flags: &JobFile,
    job: &JobFile,
    env_value: &dyn Fn(&str) -> Option<String>,
    origins: &mut BTreeMap<&'static str, Origin>,
    job_origin: &dyn Fn() -> Origin,
) -> Result<(Option<String>, Option<Profile>), SettingsError> {
    let profile_name = pick(
        origins,
        "profile",
        vec![
            (flags.profile.clone(), Origin::Flag("--profile".into())),
            (job.profile.clone(), job_origin()),
            (env_value(PROFILE_VAR), Origin::Env(PROFILE_VAR.into())),
        ],
    );
    let profile = match &profile_name {
        Some(name) => profile::load(name, true)?,
        None => profile::load(profile::DEFAULT_PROFILE, false).unwrap_or_else(|e| {
            tracing::warn!("{e}; the default profile is not used");
            None
        }),
    };
    Ok((profile_name, profile))
}

/// The CA file's layers: `--ca-cert`, the job's, `MCLI_OPS_MANAGER_CA_CERTIFICATE`, the profile's.
fn ca_cert_layers(
    flags: &JobFile,
    job: &JobFile,
    env: Option<String>,
    (job_origin, profile_origin): (&dyn Fn() -> Origin, &dyn Fn() -> Origin),
    profile: Option<&Profile>,
) -> Vec<(Option<PathBuf>, Origin)> {
    vec![
        (flags.ca_cert.clone(), Origin::Flag("--ca-cert".into())),
        (job.ca_cert.clone(), job_origin()),
        (
            env.map(PathBuf::from),
            Origin::Env(CA_CERTIFICATE_VAR.into()),
        ),
        (
            profile.and_then(|p| p.fields.ops_manager_ca_certificate.clone()),
            profile_origin(),
        ),
    ]
}

/// The flags over the job file, field by field, each value's origin recorded: the table of what
/// a job file and the flags both set. The base URL, CA file and profile are resolved apart.
fn merge(
    flags: &JobFile,
    job: &JobFile,
    origins: &mut BTreeMap<&'static str, Origin>,
    job_origin: &dyn Fn() -> Origin,
) -> JobFile {
    let flag = |name: &str| Origin::Flag(format!("--{}", name.replace('_', "-")));
    macro_rules! merged {
        ($field:ident) => {
            pick(
                origins,
                stringify!($field),
                vec![
                    (flags.$field.clone(), flag(stringify!($field))),
                    (job.$field.clone(), job_origin()),
                ],
            )
        };
    }
    JobFile {
        input: merged!(input),
        format: merged!(format),
        delimiter: merged!(delimiter),
        columns: job.columns.overridden_by(&flags.columns),
        kind: merged!(kind),
        kinds: merged!(kinds),
        report: merged!(report),
        resume: merged!(resume),
        base_url: None,
        api: merged!(api),
        profile: None,
        rate: merged!(rate),
        project_rate: merged!(project_rate),
        concurrency: merged!(concurrency),
        max_attempts: merged!(max_attempts),
        timeout: merged!(timeout),
        connect_timeout: merged!(connect_timeout),
        envelope: merged!(envelope),
        ca_cert: None,
        credentials_file: merged!(credentials_file),
        metrics_file: merged!(metrics_file),
        verify: merged!(verify),
        sign_key: merged!(sign_key),
        api_moved: merged!(api_moved),
        new_input: merged!(new_input),
        allow_own_credential: merged!(allow_own_credential),
        exempt: merged!(exempt),
        max_revocations: merged!(max_revocations),
        plan: merged!(plan),
        yes: merged!(yes),
        forget_limits: merged!(forget_limits),
        // Protections add up: a flag never lifts the job's.
        protect: match (&flags.protect, &job.protect) {
            (None, None) => None,
            (f, j) => Some(f.iter().chain(j.iter()).flatten().cloned().collect()),
        },
        guard_names: merged!(guard_names),
        plan_file: merged!(plan_file),
        plan_max_age: merged!(plan_max_age),
        plan_public_key: merged!(plan_public_key),
        select: job.select.clone(),
        sweep: job.sweep.clone(),
        rotate: job.rotate.clone(),
        orgs: job.orgs.clone(),
        ledger: merged!(ledger),
        escalate_after: merged!(escalate_after),
        expired_exemptions: merged!(expired_exemptions),
        findings: if flags.findings.is_empty() {
            job.findings.clone()
        } else {
            flags.findings.clone()
        },
        findings_orgs: if flags.findings_orgs.is_empty() {
            job.findings_orgs.clone()
        } else {
            flags.findings_orgs.clone()
        },
    }
}

/// The base URL's layers, first found wins: `--base-url` or `--api`, the job's, Terraform's
/// `MONGODB_ATLAS_BASE_URL`, `MCLI_OPS_MANAGER_URL` (an Ops Manager root, to which the API path is
/// added), the profile's, Cloud Manager's.
fn base_url_layers(
    flags: &JobFile,
    job: &JobFile,
    ops_manager: Option<String>,
    terraform: Option<String>,
    (flag, job_origin, profile_origin): (
        impl Fn(&str) -> Origin,
        &dyn Fn() -> Origin,
        &dyn Fn() -> Origin,
    ),
    profile: Option<&Profile>,
) -> Result<Vec<(Option<String>, Origin)>, SettingsError> {
    let api_base = |api: Option<Api>| {
        api.map(|a| match a {
            Api::Atlas => api::ATLAS_BASE_URL.to_string(),
            Api::CloudManager => api::DEFAULT_BASE_URL.to_string(),
        })
    };
    // A layer above it (`--base-url`, the job's, Terraform's) wins: the variable is then not read,
    // and an invalid one stops nothing.
    let above = flags.base_url.is_some()
        || flags.api.is_some()
        || job.base_url.is_some()
        || job.api.is_some()
        || terraform.is_some();
    let ops_manager_base = match &ops_manager {
        Some(root) if !above => {
            let base = Api::CloudManager.base_at(root);
            api::parse_base_url(&base).map_err(|cause| SettingsError::OpsManagerUrl {
                var: OPS_MANAGER_URL_VAR.into(),
                cause,
            })?;
            Some(base)
        }
        _ => None,
    };
    Ok(vec![
        (flags.base_url.clone(), flag("base_url")),
        (api_base(flags.api), flag("api")),
        (job.base_url.clone(), job_origin()),
        (api_base(job.api), job_origin()),
        // Terraform's is the site's root (`https://cloud.mongodb.com/`): the Atlas API under it.
        (
            terraform.map(|root| match url::Url::parse(root.trim()) {
                Ok(u) if u.path().trim_matches('/').is_empty() => Api::Atlas.base_at(&root),
                _ => root,
            }),
            Origin::Env(BASE_URL_VAR.into()),
        ),
        (ops_manager_base, Origin::Env(OPS_MANAGER_URL_VAR.into())),
        (profile.and_then(Profile::base_url), profile_origin()),
        (Some(api::DEFAULT_BASE_URL.to_string()), Origin::Default),
    ])
}

/// The credential: a credentials file when one is named, else the environment, else the profile.
fn credential(
    values: &JobFile,
    env: &dyn Fn(&str) -> Option<String>,
    profile: Option<&Profile>,
) -> Result<Found, CredentialError> {
    match &values.credentials_file {
        Some(path) => credentials::from_file(path),
        None => match credentials::from_env(env) {
            Ok(Some(found)) => Ok(found),
            Err(e) => Err(e),
            Ok(None) => match profile.map(Profile::credential).transpose() {
                Ok(Some(Some(found))) => Ok(found),
                Err(e) => Err(e),
                Ok(_) => Err(credentials::none_found()),
            },
        },
    }
}

/// A run's name in metrics and logs: its job file's stem, or `run`.
fn job_name(job_path: Option<&Path>) -> String {
    job_path
        .and_then(Path::file_stem)
        .map_or_else(|| "run".to_string(), |s| s.to_string_lossy().into_owned())
}

/// The base URL its layers picked (the default when none did), and the API it names, which must
/// be the one `api =` asks for when it asks.
fn base_url_and_api(
    picked: Option<String>,
    wanted: Option<Api>,
) -> Result<(Url, Api), SettingsError> {
    let base_text = picked.unwrap_or_else(|| api::DEFAULT_BASE_URL.to_string());
    let base_url = api::parse_base_url(&base_text)?;
    let api = Api::of(&base_url)?;
    if let Some(wanted) = wanted
        && wanted != api
    {
        return Err(SettingsError::Invalid(format!(
            "the base URL {base_url} is the {api}, not the {wanted} that api = {wanted:?} asks for"
        )));
    }
    Ok((base_url, api))
}

impl Settings {
    /// Merges `flags` over the job file at `job_path`, the environment (`env` looks a variable up),
    /// a profile, and the defaults.
    pub fn resolve(
        job_path: Option<&Path>,
        flags: JobFile,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let job = match job_path {
            Some(path) => JobFile::load(path)?,
            None => JobFile::default(),
        };
        let job_origin = || Origin::Job(job_path.map(Path::to_path_buf).unwrap_or_default());
        let flag = |name: &str| Origin::Flag(format!("--{}", name.replace('_', "-")));
        let mut origins = BTreeMap::new();
        let env_value = |name: &str| env(name).filter(|v| !v.trim().is_empty());

        // The profile first: it is a layer under everything else.
        let (profile_name, profile) =
            profile_layer(&flags, &job, &env_value, &mut origins, &job_origin)?;
        let profile_origin =
            || Origin::Profile(profile.as_ref().map(Profile::describe).unwrap_or_default());

        let mut values = merge(&flags, &job, &mut origins, &job_origin);
        values.profile = profile_name;
        if !values.columns.is_empty() {
            let columns_by_flag = !flags.columns.is_empty();
            let origin = columns_by_flag.then(|| flag("columns"));
            origins.insert("columns", origin.unwrap_or_else(job_origin));
        }

        let layers = base_url_layers(
            &flags,
            &job,
            env_value(OPS_MANAGER_URL_VAR),
            env_value(BASE_URL_VAR),
            (flag, &job_origin, &profile_origin),
            profile.as_ref(),
        )?;
        let (base_url, api) = base_url_and_api(pick(&mut origins, "base_url", layers), values.api)?;
        values.api = Some(api);
        values.base_url = Some(base_url.to_string());

        values.ca_cert = pick(
            &mut origins,
            "ca_cert",
            ca_cert_layers(
                &flags,
                &job,
                env_value(CA_CERTIFICATE_VAR),
                (&job_origin, &profile_origin),
                profile.as_ref(),
            ),
        );

        let credential = credential(&values, env, profile.as_ref());
        let org_credentials = org_credentials(&values)?;
        let profile_org = profile.as_ref().and_then(|p| {
            let org = p.fields.org_id.as_deref()?.trim();
            crate::input::ObjectId::parse(org).map(|_| (org.to_string(), p.describe()))
        });

        let run = Resolved::of(&values, &|name| {
            origins.get(name).map_or("?".into(), ToString::to_string)
        })?;
        if let Some(d) = &values.delimiter {
            delimiter_byte(d)?;
        }
        Ok(Settings {
            run,
            job_resumes: job.resume.unwrap_or(false),
            values,
            job_name: job_name(job_path),
            job_path: job_path.map(Path::to_path_buf),
            base_url,
            api,
            credential,
            origins,
            org_credentials,
            profile_org,
        })
    }

    /// How to read the input, and which rows may be sent to this API.
    pub fn input_options(&self) -> InputOptions {
        InputOptions {
            format: self.values.format,
            delimiter: self
                .values
                .delimiter
                .as_deref()
                .and_then(|d| delimiter_byte(d).ok()),
            columns: self.values.columns.clone(),
            default_kind: self.values.kind,
            allowed_kinds: self.run.kinds.clone(),
            agent_keys: self.api.has_agent_keys(),
        }
    }

    /// How the engine sends.
    pub fn engine_config(&self) -> EngineConfig {
        let r = &self.run;
        EngineConfig {
            concurrency: r.concurrency,
            rate: r.rate,
            scope_rate: r.project_rate,
            max_attempts: r.max_attempts,
            // An outage is waited out for as long as one row's attempts could take.
            patience: (r.timeout + defaults::BACKOFF_MAX) * r.max_attempts,
            ..EngineConfig::default()
        }
    }

    /// The API client's settings, with the credential found.
    pub fn api_config(&self, found: &Found) -> api::ApiConfig {
        api::ApiConfig {
            base_url: self.base_url.clone(),
            credential: found.credential.clone(),
            timeout: self.run.timeout,
            connect_timeout: self.run.connect_timeout,
            envelope: self.run.envelope,
            ca_cert: self.values.ca_cert.clone(),
            pool_size: self.run.concurrency,
        }
    }

    /// The merged settings as TOML, each line followed by where it came from; the credential by its
    /// public identity only.
    pub fn print(&self, report: Option<&Path>) -> String {
        let mut out = String::from(
            "# revoker settings as merged: flags, then the job file, then the environment, then a profile, then defaults\n",
        );
        let mut shown = self.values.clone();
        shown.columns = Default::default();
        shown.report = report.map(|p| p.display().to_string()).or(shown.report);
        let table = toml::Table::try_from(&shown).unwrap_or_default();
        let defaults: [(&str, String); 4] = [
            ("concurrency", defaults::CONCURRENCY.to_string()),
            ("max_attempts", defaults::MAX_ATTEMPTS.to_string()),
            (
                "timeout",
                format!("\"{}\"", humantime::format_duration(defaults::TIMEOUT)),
            ),
            (
                "connect_timeout",
                format!(
                    "\"{}\"",
                    humantime::format_duration(defaults::CONNECT_TIMEOUT)
                ),
            ),
        ];
        for (key, value) in &table {
            let line = toml::to_string(&toml::Table::from_iter([(key.clone(), value.clone())]))
                .unwrap_or_default();
            let origin = self
                .origins
                .get(key.as_str())
                .map_or_else(|| "default".to_string(), ToString::to_string);
            out.push_str(&format!("{}   # {origin}\n", line.trim_end()));
        }
        for (key, value) in defaults {
            if !table.contains_key(key) {
                out.push_str(&format!("{key} = {value}   # default\n"));
            }
        }
        if !self.values.columns.is_empty() {
            let columns = toml::to_string(&self.values.columns).unwrap_or_default();
            out.push_str(&format!(
                "[columns]   # {}\n{columns}",
                self.origins
                    .get("columns")
                    .map_or_else(|| "default".to_string(), ToString::to_string)
            ));
        }
        match &self.credential {
            Ok(found) => out.push_str(&format!(
                "# credentials: {} ({}) from {}; the secret is not shown\n",
                found.credential.public_identity(),
                found.credential.method(),
                found.source
            )),
            Err(e) => out.push_str(&format!("# credentials: {e}\n")),
        }
        out
    }
}

/// A delimiter setting as one byte: `,`, `;`, `|`, or a tab (`\t` or `tab`).
pub fn delimiter_byte(text: &str) -> Result<u8, SettingsError> {
    match text {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() && t != "\"" => Ok(t.as_bytes()[0]),
        t => Err(SettingsError::Invalid(format!(
            "delimiter {} must be one character (`,`, `;`, `|`, or \\t for a tab)",
            crate::text::shown(t)
        ))),
    }
}

/// An environment of just `vars`, for tests of the lookups that take one.
#[cfg(test)]
pub(crate) fn fake_env(
    vars: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::fake_env as env;

    #[test]
    fn every_layer_in_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("nightly.toml");
        std::fs::write(
            &job,
            "input = \"in.csv\"\nconcurrency = 4\nrate = \"10/s\"\ntimeout = \"5s\"\nbase_url = \"https://om.example.com/api/public/v1.0\"\n[columns]\nproject = \"GROUP_ID\"\n",
        )
        .unwrap();
        let flags = JobFile {
            concurrency: Some(32),
            columns: "key=KEY_ID".parse().unwrap(),
            ..JobFile::default()
        };
        let s = Settings::resolve(
            Some(&job),
            flags,
            &env(&[
                ("MCLI_PUBLIC_API_KEY", "pub"),
                ("MCLI_PRIVATE_API_KEY", "priv"),
                ("MCLI_OPS_MANAGER_URL", "https://ignored.example.com/"),
                ("MCLI_OPS_MANAGER_CA_CERTIFICATE", "/etc/ca.pem"),
            ]),
        )
        .unwrap();
        assert_eq!(s.values.concurrency, Some(32));
        assert_eq!(
            s.origins["concurrency"],
            Origin::Flag("--concurrency".into())
        );
        assert_eq!(s.values.rate, Some("10/s".parse().unwrap()));
        assert_eq!(s.origins["rate"], Origin::Job(job.clone()));
        assert_eq!(s.values.input, Some(dir.path().join("in.csv")));
        assert_eq!(s.values.columns.project.as_deref(), Some("GROUP_ID"));
        assert_eq!(s.values.columns.key.as_deref(), Some("KEY_ID"));
        assert_eq!(
            s.base_url.as_str(),
            "https://om.example.com/api/public/v1.0"
        );
        assert_eq!(s.origins["base_url"], Origin::Job(job.clone()));
        assert_eq!(s.values.ca_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            s.origins["ca_cert"],
            Origin::Env("MCLI_OPS_MANAGER_CA_CERTIFICATE".into())
        );
        assert_eq!(s.run.timeout, std::time::Duration::from_secs(5));
        let printed = s.print(None);
        assert!(
            printed.contains("concurrency = 32   # flag --concurrency"),
            "{printed}"
        );
        assert!(
            printed.contains("max_attempts = 5   # default"),
            "{printed}"
        );
        assert!(
            printed.contains("# credentials: API key pub (HTTP Digest) from environment (MCLI_PUBLIC_API_KEY, MCLI_PRIVATE_API_KEY)"),
            "{printed}"
        );
        assert!(!printed.contains("priv\""), "{printed}");
    }

    #[test]
    fn terraforms_base_url_is_a_site_root_or_an_api_url() {
        let s = Settings::resolve(
            None,
            JobFile::default(),
            &env(&[("MONGODB_ATLAS_BASE_URL", "https://cloud.mongodbgov.com/")]),
        )
        .unwrap();
        assert_eq!(
            s.base_url.as_str(),
            "https://cloud.mongodbgov.com/api/atlas/v2"
        );
        assert_eq!(
            s.origins["base_url"],
            Origin::Env("MONGODB_ATLAS_BASE_URL".into())
        );
        let s = Settings::resolve(
            None,
            JobFile::default(),
            &env(&[(
                "MONGODB_ATLAS_BASE_URL",
                "https://om.example.com/api/public/v1.0",
            )]),
        )
        .unwrap();
        assert_eq!(
            s.base_url.as_str(),
            "https://om.example.com/api/public/v1.0"
        );
    }

    #[test]
    fn the_ops_manager_url_is_a_root_and_zero_timeouts_are_refused() {
        let s = Settings::resolve(
            None,
            JobFile::default(),
            &env(&[("MCLI_OPS_MANAGER_URL", "https://om.example.com:8080/")]),
        )
        .unwrap();
        assert_eq!(
            s.base_url.as_str(),
            "https://om.example.com:8080/api/public/v1.0"
        );
        let e = Settings::resolve(
            None,
            JobFile::default(),
            &env(&[(
                "MCLI_OPS_MANAGER_URL",
                "https://om.example.com:8080/api/public/v1.0",
            )]),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("names the API path twice"), "{e}");
        // --base-url wins: the invalid variable below it is not read.
        let s = Settings::resolve(
            None,
            JobFile {
                base_url: Some("https://cloud.mongodb.com/api/atlas/v2".into()),
                ..JobFile::default()
            },
            &env(&[("MCLI_OPS_MANAGER_URL", "not a url")]),
        )
        .unwrap();
        assert_eq!(
            s.base_url.as_str(),
            "https://cloud.mongodb.com/api/atlas/v2"
        );
        assert_eq!(s.origins["base_url"], Origin::Flag("--base-url".into()));
        let e = Settings::resolve(
            None,
            JobFile {
                timeout: Some(std::time::Duration::ZERO),
                ..JobFile::default()
            },
            &env(&[]),
        )
        .err()
        .unwrap()
        .to_string();
        assert_eq!(e, "timeout must be more than 0s (from flag --timeout)");
        let s = Settings::resolve(
            None,
            JobFile {
                api: Some(Api::Atlas),
                ..JobFile::default()
            },
            &env(&[]),
        )
        .unwrap();
        assert_eq!(
            s.base_url.as_str(),
            "https://cloud.mongodb.com/api/atlas/v2"
        );
        assert!(!s.input_options().agent_keys);
    }
}
